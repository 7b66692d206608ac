//! WAL recovery: replay every entry after the checkpoint, and tell apart a clean end, a torn
//! unsynced tail, damage inside synced data and missing entries, each with file and offset.
//!
//! Recovery reads and checks every segment in parallel, then walks the entries in log order
//! deciding, per the mode, which to apply; the applied entries of each segment become a
//! sorted run over the segment's own bytes, so replay copies no key or value and builds no
//! skip list. Nothing on disk is changed here: the returned plan says what to cut or move to
//! `lost/`, and the engine carries it out only when the mode accepts the outcome.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::memtable::{RunEntry, SortedRun};
use super::options::RecoveryMode;
use crate::error::{IoContext, Result};
use crate::format::entry::{EntryRef, EntryType};
use crate::format::envelope::{self, Kind};
use crate::format::wal::{self, Event, ScanEnd};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The end of the last segment holds an incomplete write: never acknowledged under
    /// sync=always, the expected result of a crash.
    TornTail,
    /// Unreadable bytes with readable data after them: damage inside synced data.
    Damage,
    /// Sequences are missing between two entries (a deleted or lost segment).
    MissingEntries,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub file: PathBuf,
    pub offset: u64,
    pub end: u64,
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The log ended cleanly.
    Clean,
    /// Only a torn, unacknowledged tail was cut off (moved to lost/).
    TailTruncated,
    /// Complete entries or damaged spans were left out (moved to lost/).
    DataDropped,
    /// The mode does not accept what was found; nothing was changed.
    Refused,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentInfo {
    pub path: PathBuf,
    pub first_seq: u64,
    pub bytes: u64,
    /// Up to the end of the last complete entry: less than `bytes` for a segment still at
    /// its preallocated length (see format/wal.rs) or with a damaged tail.
    pub records_bytes: u64,
    pub entries: u64,
    pub sealed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecoveryReport {
    pub mode: RecoveryMode,
    pub dry_run: bool,
    pub checkpoint_seq: u64,
    /// The snapshot recovery started from, if a usable one existed: only the WAL after its
    /// sequence was replayed.
    pub snapshot: Option<super::snapshot::SnapshotUse>,
    /// Snapshots that failed their checks: reported, never trusted.
    pub snapshots_skipped: Vec<super::snapshot::SkippedSnapshot>,
    /// Segments wholly at or below the starting point, not read (see `replay`).
    pub covered_segments: usize,
    pub segments: Vec<SegmentInfo>,
    /// Bytes of log in the segments read: each up to its last non-zero byte, without the
    /// zeros of a preallocated one.
    pub wal_bytes: u64,
    /// Entries after the checkpoint applied to the memtable.
    pub replayed: u64,
    /// Entries at or below the checkpoint (already in SSTs).
    pub skipped: u64,
    /// Replayed data recovery may hold in memory (`--memory-budget`).
    pub memory_budget: u64,
    /// L0 tables written while replay went on, because the replayed data outgrew the memory
    /// budget (`--memory-budget`).
    pub written_during_replay: usize,
    /// Complete, readable entries left out because of where they sit (after damage in
    /// point-in-time mode).
    pub dropped_entries: u64,
    pub dropped_bytes: u64,
    /// Highest sequence applied.
    pub last_applied_seq: u64,
    /// Highest sequence seen anywhere in the log, applied or not: new writes start above it
    /// so a sequence is never reused.
    pub max_seen_seq: u64,
    pub findings: Vec<Finding>,
    pub moved_to_lost: Vec<PathBuf>,
    /// Reading, checking and deciding on the log (and loading a snapshot): the replay alone.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// From the start of the open until the engine accepts reads and writes: the replay, the
    /// recovered entries installed as memtables, a new manifest and a new WAL segment. The
    /// time a crashed node takes to serve again.
    #[serde(serialize_with = "secs")]
    pub ready: Duration,
    /// From the start of the open until everything replayed is in fsynced SSTs recorded in
    /// the manifest, so the log is no longer needed to rebuild it. None when the open left
    /// the flush to the background (serve) or changed nothing (dry run, refusal).
    #[serde(serialize_with = "opt_secs")]
    pub flushed: Option<Duration>,
    pub outcome: Outcome,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_secs<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

impl RecoveryReport {
    /// The report of an open that replays nothing (cluster mode: the Raft log re-applies
    /// what lies above the checkpoint).
    pub fn nothing_replayed(opts: &super::Options, checkpoint_seq: u64) -> RecoveryReport {
        RecoveryReport::starting(opts.recovery_mode, opts.dry_run, checkpoint_seq)
    }

    /// Before anything was read: nothing replayed, nothing found, the outcome clean.
    fn starting(mode: RecoveryMode, dry_run: bool, checkpoint_seq: u64) -> RecoveryReport {
        RecoveryReport {
            mode,
            dry_run,
            checkpoint_seq,
            snapshot: None,
            snapshots_skipped: Vec::new(),
            covered_segments: 0,
            segments: Vec::new(),
            wal_bytes: 0,
            replayed: 0,
            skipped: 0,
            memory_budget: 0,
            written_during_replay: 0,
            dropped_entries: 0,
            dropped_bytes: 0,
            last_applied_seq: checkpoint_seq,
            max_seen_seq: checkpoint_seq,
            findings: Vec::new(),
            moved_to_lost: Vec::new(),
            duration: Duration::ZERO,
            ready: Duration::ZERO,
            flushed: None,
            outcome: Outcome::Clean,
        }
    }

    /// WAL replayed per second of the replay alone.
    pub fn mb_per_sec(&self) -> f64 {
        per_sec(self.wal_bytes as f64 / 1e6, self.duration)
    }

    /// WAL recovered per second until the engine was ready.
    pub fn ready_mb_per_sec(&self) -> f64 {
        per_sec(self.wal_bytes as f64 / 1e6, self.ready)
    }

    /// WAL made durable in SSTs per second, when it was flushed.
    pub fn flushed_mb_per_sec(&self) -> Option<f64> {
        self.flushed
            .map(|d| per_sec(self.wal_bytes as f64 / 1e6, d))
    }

    /// Whether the engine must flush and retire the log (entries were left out, so the WAL
    /// can no longer be replayed as is).
    pub fn needs_rewrite(&self) -> bool {
        self.outcome == Outcome::DataDropped
    }
}

fn per_sec(amount: f64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s == 0.0 { 0.0 } else { amount / s }
}

/// What the engine must do to the files once it accepts the outcome.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Cut the last segment at `offset` after copying the tail into lost/.
    pub truncate: Option<(PathBuf, u64)>,
    /// Move these whole segments into lost/ (after the memtable is flushed).
    pub move_to_lost: Vec<PathBuf>,
    /// Cut the last segment's preallocated zeros off at `offset`, its records' end. Nothing
    /// is lost: every byte past it is zero.
    pub trim_zeros: Option<(PathBuf, u64)>,
}

pub fn list_segments(wal_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut segs = Vec::new();
    if !wal_dir.exists() {
        return Ok(segs);
    }
    for e in fs::read_dir(wal_dir).at(wal_dir)? {
        let e = e.at(wal_dir)?;
        if let Some(seq) = e.file_name().to_str().and_then(wal::parse_segment_name) {
            segs.push((seq, e.path()));
        }
    }
    segs.sort();
    Ok(segs)
}

/// What the walk needs of the entries; keys and values stay in the segment's bytes.
#[derive(Debug)]
enum Ev {
    /// `count` entries at consecutive sequences from `first_seq`, the first at `offset`:
    /// within such a range only the first entry can break continuity, so a clean segment
    /// is one event instead of one per entry (millions of them to fault in and walk).
    /// A Seal (which repeats its segment's last sequence) is a range of its own.
    Entries {
        offset: u64,
        first_seq: u64,
        count: u32,
        seal: bool,
    },
    Damage(Box<DamagedSpan>),
}

impl Ev {
    /// Adds an entry to the events, extending the last range when it continues it.
    fn push_entry(events: &mut Vec<Ev>, offset: u64, seq: u64, kind: EntryType) {
        let seal = kind == EntryType::Seal;
        if let Some(Ev::Entries {
            first_seq,
            count,
            seal: false,
            ..
        }) = events.last_mut()
            && !seal
            && *count < u32::MAX
            && first_seq.checked_add(u64::from(*count)) == Some(seq)
        {
            *count += 1;
            return;
        }
        events.push(Ev::Entries {
            offset,
            first_seq: seq,
            count: 1,
            seal,
        });
    }
}

#[derive(Debug)]
struct DamagedSpan {
    start: u64,
    end: u64,
    what: String,
}

/// One segment read and checked, with the decisions recovery made about its entries.
#[derive(Debug)]
pub struct ScannedSegment {
    path: PathBuf,
    first_seq: u64,
    len: u64,
    /// Kept (shared with `run`) when a run was built, to rebuild it should the walk apply less.
    bytes: Arc<Vec<u8>>,
    header_error: Option<String>,
    /// Every byte is zero: a segment created just before a crash, nothing written yet.
    all_zero: bool,
    /// No byte past the header's 16 is non-zero: a header cut short in a preallocated file.
    nothing_past_header: bool,
    /// Just past the last non-zero byte (`wal::data_end`): where the bytes stop counting, in
    /// a segment still at its preallocated length.
    data_end: u64,
    events: Vec<Ev>,
    end: Option<ScanEnd>,
    /// The entries recovery applies, as ranges `[from, to)` of their positions among the
    /// segment's entries (damage not counted), in log order.
    applied: Vec<(u32, u32)>,
    /// How many entries `applied` holds.
    applied_count: usize,
    /// Built while the segment is read, on its core, before the walk in log order has
    /// decided anything: every entry after the starting point, which is what the walk
    /// applies unless it meets a problem and the mode stops applying. None in a dry run.
    run: Option<SortedRun>,
    /// How many entries `run` covers: the walk agrees with it when it applied as many.
    run_covers: usize,
}

/// Offset of `part` inside `base`, if it lies there (a pointer comparison, no dereference).
fn offset_in(base: &[u8], part: &[u8]) -> Option<usize> {
    let b = base.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    (p >= b && p + part.len() <= b + base.len()).then(|| p - b)
}

/// The run entry for a data entry (a tombstone for a delete): over `bytes` when the scan
/// handed out slices of the segment itself, else (an entry reassembled from fragments) over
/// a copy of key and value appended to `overflow`. None for a value of 4 GiB or more,
/// which no run (nor SST block) holds.
fn run_entry(bytes: &[u8], overflow: &mut Vec<u8>, entry: &EntryRef) -> Option<RunEntry> {
    let tombstone = entry.kind == EntryType::Delete;
    let in_bytes = (offset_in(bytes, entry.key), offset_in(bytes, entry.value));
    if let (Some(k), Some(v)) = in_bytes {
        let value = (!tombstone).then_some((false, v, entry.value.len()));
        if let Some(e) = RunEntry::new((false, k, entry.key.len()), value, entry.seq) {
            return Some(e);
        }
    }
    let start = overflow.len();
    overflow.extend_from_slice(entry.key);
    overflow.extend_from_slice(entry.value);
    let value = (!tombstone).then_some((true, start + entry.key.len(), entry.value.len()));
    RunEntry::new((true, start, entry.key.len()), value, entry.seq)
}

/// The error for an entry `run_entry` cannot hold.
fn too_large(path: &Path, offset: u64, entry: &EntryRef) -> crate::Error {
    crate::Error::corruption(
        path,
        offset,
        format!(
            "entry {} holds a value of {} bytes, more than drkit keeps under one key (4 GiB)",
            entry.seq,
            entry.value.len()
        ),
    )
    .with_hint("this log was not written by drkit's engine; move the segment out of wal/")
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<RunEntry>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl ScannedSegment {
    /// Reads and checks one segment. With `build_after`, also builds the run of every entry
    /// above that sequence (see `run`); without it (a dry run) the bytes are not kept.
    fn read(path: &Path, first_seq: u64, build_after: Option<u64>) -> Result<ScannedSegment> {
        let bytes = fs::read(path).at(path)?;
        let mut seg = ScannedSegment {
            path: path.to_path_buf(),
            first_seq,
            len: bytes.len() as u64,
            bytes: Arc::new(Vec::new()),
            header_error: None,
            all_zero: false,
            nothing_past_header: false,
            data_end: 0,
            events: Vec::new(),
            end: None,
            applied: Vec::new(),
            applied_count: 0,
            run: None,
            run_covers: 0,
        };
        match envelope::decode(path, &bytes, Kind::Wal) {
            Ok(_) => {}
            // A drkit newer than this one wrote it: its bytes may be fine. Refuse outright
            // (upgrade drkit) rather than call them damage and let a mode drop them.
            Err(e @ (crate::Error::NewerVersion { .. } | crate::Error::UnknownFeatures { .. })) => {
                return Err(e);
            }
            // Another kind of file (or no drkit file) where a segment should be: this
            // segment is unreadable, like any other broken header, and the rest of the log
            // is still walked and reported.
            Err(crate::Error::WrongKind {
                expected, found, ..
            }) => {
                let what =
                    format!("not a {expected}: the header says it is a {found} file (wrong magic)");
                seg.unreadable_header(&bytes, what);
                if seg.all_zero {
                    seg.header_error = Some("segment header unreadable: every byte is zero".into());
                }
                return Ok(seg);
            }
            Err(e) => {
                seg.unreadable_header(&bytes, format!("segment header unreadable: {e}"));
                return Ok(seg);
            }
        }
        let mut overflow = Vec::new();
        // Room for entries of 64 bytes or more: pages of it never touched are never mapped.
        // The entries in log order go to this thread's scratch vector, faulted in once and
        // reused for every segment it reads: the run keeps its own sorted copy.
        let mut items = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        items.clear();
        let mut max_seq = None;
        let mut unheld = None;
        let mut events = Vec::new();
        let end = wal::scan(&bytes, |ev| {
            match ev {
                Event::Entry { offset, entry } => {
                    Ev::push_entry(&mut events, offset, entry.seq, entry.kind);
                    if let Some(after) = build_after
                        && entry.kind != EntryType::Seal
                        && entry.seq > after
                    {
                        seg.run_covers += 1;
                        max_seq = max_seq.max(Some(entry.seq));
                        if entry.kind.is_data() {
                            match run_entry(&bytes, &mut overflow, &entry) {
                                Some(e) => items.push(e),
                                None => {
                                    unheld = Some(too_large(path, offset, &entry));
                                    return false;
                                }
                            }
                        }
                    }
                }
                Event::Damage { start, end, what } => {
                    events.push(Ev::Damage(Box::new(DamagedSpan { start, end, what })));
                }
            }
            true
        });
        if let Some(e) = unheld {
            return Err(e);
        }
        seg.events = events;
        seg.data_end = end.data_end;
        seg.end = Some(end);
        if build_after.is_some() {
            seg.bytes = Arc::new(bytes);
            seg.run = max_seq.map(|m| {
                SortedRun::build(Arc::clone(&seg.bytes), Arc::new(overflow), &mut items, m)
            });
        }
        SCRATCH.with(|s| *s.borrow_mut() = items);
        Ok(seg)
    }

    /// Records that the walk applies entries `[from, to)` of this segment (positions among
    /// its entries), merging with the range before when they touch.
    fn note_applied(&mut self, from: u32, to: u32) {
        self.applied_count += (to - from) as usize;
        match self.applied.last_mut() {
            Some((_, end)) if *end == from => *end = to,
            _ => self.applied.push((from, to)),
        }
    }

    /// Records why the header cannot be read, and how much of the file is more than zeros.
    fn unreadable_header(&mut self, bytes: &[u8], what: String) {
        self.data_end = wal::data_end(bytes);
        self.all_zero = self.data_end == 0;
        self.nothing_past_header = self.data_end <= envelope::LEN as u64;
        self.header_error = Some(what);
    }

    /// The entries the walk applied, as a sorted, newest-per-key run over the segment's own
    /// bytes (no copy of keys or values). None when nothing in the segment was applied.
    pub fn into_run(self) -> Option<SortedRun> {
        if self.applied.is_empty() {
            return None;
        }
        if self.applied_count == self.run_covers {
            return self.run;
        }
        self.rebuild_run()
    }

    /// The walk applied fewer entries than the run built while reading (the mode stopped
    /// applying inside this segment): a second scan keeps only the applied ones.
    fn rebuild_run(self) -> Option<SortedRun> {
        let mut applied = self.applied.iter().copied().peekable();
        let mut overflow = Vec::new();
        let mut items = Vec::new();
        let mut max_seq = None;
        let mut idx = 0u32;
        wal::scan(&self.bytes, |ev| {
            let Event::Entry { entry, .. } = ev else {
                return true;
            };
            let here = idx;
            idx += 1;
            while applied.next_if(|&(_, to)| to <= here).is_some() {}
            let Some(&(from, _)) = applied.peek() else {
                return false;
            };
            if here >= from {
                max_seq = max_seq.max(Some(entry.seq));
                // The first scan packed this same entry of these same bytes, or failed.
                if entry.kind.is_data() {
                    items.extend(run_entry(&self.bytes, &mut overflow, &entry));
                }
            }
            true
        });
        Some(SortedRun::build(
            self.bytes,
            Arc::new(overflow),
            &mut items,
            max_seq?,
        ))
    }
}

/// What replay found and decided: the report, what to do to the files, and the applied
/// entries as runs, oldest first (none when the mode refused, or in a dry run).
#[derive(Debug)]
pub struct Replay {
    pub report: RecoveryReport,
    pub plan: Plan,
    pub runs: Vec<SortedRun>,
}

/// Takes the runs of applied entries as replay produces them, oldest first, a few segments
/// at a time; an error stops the replay.
pub type RunSink<'a> = dyn FnMut(Vec<SortedRun>) -> Result<()> + 'a;

struct Walk {
    mode: RecoveryMode,
    checkpoint: u64,
    report: RecoveryReport,
    plan: Plan,
    /// Set once the mode says to stop applying (first problem, except in skip-corrupted).
    stopped: bool,
    last_seq: Option<u64>,
    /// The first damage (file, offset) met since the last entry: a sequence gap right after
    /// it is the entries the damaged bytes held, not a lost segment.
    damage_since_entry: Option<(PathBuf, u64)>,
    /// The latest damage finding not yet followed by a readable entry.
    open_damage: Option<usize>,
}

impl Walk {
    fn new(report: RecoveryReport) -> Walk {
        Walk {
            mode: report.mode,
            checkpoint: report.checkpoint_seq,
            report,
            plan: Plan::default(),
            stopped: false,
            last_seq: None,
            damage_since_entry: None,
            open_damage: None,
        }
    }

    fn problem(&mut self, f: Finding) {
        if self.mode != RecoveryMode::SkipCorrupted {
            self.stopped = true;
        }
        self.report.findings.push(f);
    }

    fn damage_seen(&mut self, path: &Path, offset: u64) {
        if self.damage_since_entry.is_none() {
            self.damage_since_entry = Some((path.to_path_buf(), offset));
        }
    }

    /// Decides about every entry of one segment, in log order, and classifies what it found.
    fn segment(&mut self, seg: &mut ScannedSegment, is_last: bool) {
        if let Some(what) = &seg.header_error {
            self.header_problem(seg, what.clone(), is_last);
        }
        let entries = self.events(seg);
        if is_last {
            self.torn_tail(seg);
        }
        // Classified: now say where the damaged bytes end, not where a preallocated file's
        // zeros do (a torn tail of 100 bytes is not one of 64 MiB).
        for f in self
            .report
            .findings
            .iter_mut()
            .filter(|f| f.file == seg.path)
        {
            f.end = f.end.min(seg.data_end.max(f.offset));
        }
        if is_last {
            self.trim_zeros(seg);
        }
        self.report.segments.push(SegmentInfo {
            path: seg.path.clone(),
            first_seq: seg.first_seq,
            bytes: seg.len,
            records_bytes: seg.end.as_ref().map_or(0, |e| e.valid_end),
            entries,
            sealed: seg.end.as_ref().is_some_and(|e| e.sealed),
        });
    }

    /// A segment whose header cannot be read. A crash while creating the last segment
    /// leaves a short or zeroed header, followed by nothing or by the preallocated zeros: a
    /// torn tail with no record to lose. Anywhere else it is damage.
    fn header_problem(&mut self, seg: &ScannedSegment, what: String, is_last: bool) {
        let torn =
            is_last && (seg.len < envelope::LEN as u64 || seg.all_zero || seg.nothing_past_header);
        self.problem(Finding {
            kind: if torn {
                FindingKind::TornTail
            } else {
                FindingKind::Damage
            },
            file: seg.path.clone(),
            offset: 0,
            end: seg.len,
            what,
        });
        if torn {
            self.plan.truncate = Some((seg.path.clone(), 0));
        } else {
            self.open_damage = Some(self.report.findings.len() - 1);
            self.report.dropped_bytes += seg.data_end;
            self.damage_seen(&seg.path, 0);
        }
    }

    /// Walks the segment's entries and damaged spans; returns how many entries it holds.
    fn events(&mut self, seg: &mut ScannedSegment) -> u64 {
        let mut entries = 0u32;
        for ev in std::mem::take(&mut seg.events) {
            match ev {
                Ev::Entries {
                    offset,
                    first_seq,
                    count,
                    seal,
                } => {
                    self.open_damage = None;
                    let kind_of_first = if seal {
                        EntryType::Seal
                    } else {
                        EntryType::Put
                    };
                    let first_applied = self.entry(&seg.path, offset, first_seq, kind_of_first);
                    let rest = self.continuing(first_seq, count - 1);
                    let applied = if first_applied { count } else { rest };
                    if applied > 0 {
                        seg.note_applied(entries + count - applied, entries + count);
                    }
                    entries += count;
                }
                Ev::Damage(d) => {
                    self.problem(Finding {
                        kind: FindingKind::Damage,
                        file: seg.path.clone(),
                        offset: d.start,
                        end: d.end,
                        what: d.what,
                    });
                    self.open_damage = Some(self.report.findings.len() - 1);
                    self.report.dropped_bytes += d.end.min(seg.data_end).saturating_sub(d.start);
                    self.damage_seen(&seg.path, d.start);
                }
            }
        }
        u64::from(entries)
    }

    /// Decides about the `n` entries that follow `after` at consecutive sequences, as
    /// [`Walk::entry`] would one by one (they cannot break continuity, nor be seals);
    /// returns how many are applied, which are always the last ones.
    fn continuing(&mut self, after: u64, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let last = after + u64::from(n);
        self.report.max_seen_seq = self.report.max_seen_seq.max(last);
        self.last_seq = Some(last);
        let skipped = self.checkpoint.clamp(after, last) - after;
        self.report.skipped += skipped;
        let later = u64::from(n) - skipped;
        if later == 0 {
            return 0;
        }
        if self.stopped && self.mode != RecoveryMode::SkipCorrupted {
            self.report.dropped_entries += later;
            return 0;
        }
        self.report.replayed += later;
        self.report.last_applied_seq = last;
        later as u32
    }

    /// Damage that runs to the end of the last segment with nothing readable after it is a
    /// torn tail, not corruption. `wal::scan` ends a damage span in a file's final block at
    /// the next intact fragment, so a span that reaches EOF has no intact fragment anywhere
    /// after the fragment that failed: a crash only cuts the log short, it leaves nothing
    /// intact after the cut. (Intact fragments between the damaged entry's start and the
    /// failed fragment are that entry's own earlier pieces, written first.) An entry that
    /// checksums but does not decode is not a tear either: it advances `valid_end` past the
    /// damage start.
    ///
    /// Residual ambiguity: after a power loss, out-of-order page writeback can persist an
    /// unsynced fragment after a torn one. That is then called damage and tolerate-tail
    /// refuses (safe) rather than cutting (which would be unsafe for the flipped-byte case it
    /// cannot be told from); the operator recovers with `--mode point-in-time`.
    fn torn_tail(&mut self, seg: &ScannedSegment) {
        let (None, Some(idx), Some(end)) = (&seg.header_error, self.open_damage, &seg.end) else {
            return;
        };
        let f = &mut self.report.findings[idx];
        if f.end == seg.len && f.file == seg.path && f.offset >= end.valid_end {
            f.kind = FindingKind::TornTail;
            self.open_damage = None;
            self.plan.truncate = Some((seg.path.clone(), end.valid_end));
        }
    }

    /// A crash leaves the last segment at its preallocated length (format/wal.rs): a scan
    /// that ended without damage past the last entry means only zeros follow it.
    fn trim_zeros(&mut self, seg: &ScannedSegment) {
        if self.plan.truncate.is_none()
            && self.open_damage.is_none()
            && seg.header_error.is_none()
            && let Some(end) = &seg.end
            && end.valid_end < seg.len
        {
            self.plan.trim_zeros = Some((seg.path.clone(), end.valid_end));
        }
    }

    /// Decides about one entry; true when it is applied.
    fn entry(&mut self, path: &Path, offset: u64, seq: u64, kind: EntryType) -> bool {
        let damage_before = self.damage_since_entry.take();
        self.report.max_seen_seq = self.report.max_seen_seq.max(seq);
        if kind == EntryType::Seal {
            return false;
        }
        if seq <= self.checkpoint {
            self.report.skipped += 1;
            self.last_seq = Some(seq);
            return false;
        }
        let expected = self.last_seq.map_or(self.checkpoint + 1, |l| l + 1);
        if seq != expected && !self.stopped {
            let what = if seq > expected {
                let range = format!("sequences {expected}..={}", seq - 1);
                match damage_before {
                    Some((file, at)) if file == path => format!(
                        "{range} were in the damaged bytes before this entry (from offset {at})"
                    ),
                    Some((file, at)) => format!(
                        "{range} are missing before this entry: in the damaged bytes of {} \
                         (from offset {at}), or in a lost segment",
                        file.display()
                    ),
                    None => format!(
                        "{range} are missing before this entry (a lost or deleted segment?)"
                    ),
                }
            } else {
                format!("sequence goes backwards: {} after {}", seq, expected - 1)
            };
            self.problem(Finding {
                kind: FindingKind::MissingEntries,
                file: path.to_path_buf(),
                offset,
                end: offset,
                what,
            });
        }
        self.last_seq = Some(seq);
        if self.stopped && self.mode != RecoveryMode::SkipCorrupted {
            self.report.dropped_entries += 1;
            return false;
        }
        self.report.replayed += 1;
        self.report.last_applied_seq = seq;
        true
    }

    /// Decides the outcome from the findings and, when entries were left out, which
    /// segments leave the WAL for lost/.
    fn finish(mut self) -> (RecoveryReport, Plan) {
        let r = &mut self.report;
        let tail_only = r.findings.iter().all(|f| f.kind == FindingKind::TornTail);
        r.outcome = if r.findings.is_empty() {
            Outcome::Clean
        } else if self.mode == RecoveryMode::Absolute
            || (self.mode == RecoveryMode::TolerateTail && !tail_only)
        {
            Outcome::Refused
        } else if tail_only {
            Outcome::TailTruncated
        } else {
            Outcome::DataDropped
        };
        match r.outcome {
            Outcome::Refused => self.plan = Plan::default(),
            Outcome::DataDropped => {
                self.plan = Plan {
                    move_to_lost: segments_to_lose(r, self.mode),
                    ..Plan::default()
                }
            }
            Outcome::Clean | Outcome::TailTruncated => {}
        }
        (self.report, self.plan)
    }
}

/// When entries were left out, every segment holding a finding or a dropped entry leaves
/// the WAL for lost/; the engine flushes first so nothing readable depends on them.
fn segments_to_lose(r: &RecoveryReport, mode: RecoveryMode) -> Vec<PathBuf> {
    let first_problem = r.findings.first().map(|f| &f.file);
    let mut from_first = false;
    let mut lose = Vec::new();
    for s in &r.segments {
        let has_finding = r.findings.iter().any(|f| f.file == s.path);
        if Some(&s.path) == first_problem {
            from_first = true;
        }
        let dropped_here = mode == RecoveryMode::PointInTime && from_first;
        if has_finding || dropped_here {
            lose.push(s.path.clone());
        }
    }
    lose
}

/// The segments to read, and how many were left out as covered. Segments wholly at or below
/// the starting point (kept for archiving, or covered by a snapshot) hold nothing to apply:
/// a real recovery does not read them. A dry run still reads and checks every one, since
/// `verify` and `inspect` rely on it.
fn segments_to_read(
    dir: &Path,
    checkpoint: u64,
    dry_run: bool,
) -> Result<(Vec<(u64, PathBuf)>, usize)> {
    let mut listed = list_segments(&dir.join("wal"))?;
    if dry_run {
        return Ok((listed, 0));
    }
    let firsts: Vec<u64> = listed.iter().map(|(f, _)| *f).collect();
    let covered = firsts
        .windows(2)
        .take_while(|w| w[1] <= checkpoint + 1)
        .count();
    listed.drain(..covered);
    Ok((listed, covered))
}

/// Segments read ahead of the walk: two per core keeps every core busy while the walk
/// catches up, and bounds what reading holds beyond the runs handed on.
fn window() -> usize {
    readers() * 2
}

fn readers() -> usize {
    rayon::current_num_threads().max(1)
}

/// Walks the whole log of `dir` and decides, per the mode, which entries after `checkpoint`
/// to apply. Segments are read and checked in parallel, up to a window ahead of the walk,
/// which makes its decisions in log order as each next segment arrives. Changes nothing on
/// disk.
///
/// Outside a dry run, the applied entries go to `sink` as runs, a segment at a time, so the
/// caller can hold, flush or drop them as they come: replay itself keeps no more than a
/// window of segments. A run handed on is never taken back by a later segment (the walk's
/// decisions about an entry depend only on what came before it), but the outcome is known
/// only at the end: a caller must not make runs durable before it has seen the report.
pub fn replay_into(
    dir: &Path,
    checkpoint: u64,
    mode: RecoveryMode,
    dry_run: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
    sink: &mut RunSink<'_>,
) -> Result<(RecoveryReport, Plan)> {
    let started = Instant::now();
    let (listed, covered_segments) = segments_to_read(dir, checkpoint, dry_run)?;
    let mut total = 0;
    for (_, p) in &listed {
        total += fs::metadata(p).at(p)?.len();
    }
    let done = AtomicU64::new(0);
    let build_after = (!dry_run).then_some(checkpoint);
    let read = |(first, path): &(u64, PathBuf)| {
        let seg = ScannedSegment::read(path, *first, build_after)?;
        progress(done.fetch_add(seg.len, Ordering::Relaxed) + seg.len, total);
        Ok(seg)
    };

    let mut report = RecoveryReport::starting(mode, dry_run, checkpoint);
    report.covered_segments = covered_segments;
    let mut walk = Walk::new(report);
    let last_index = listed.len().saturating_sub(1);
    in_order_read_ahead(&listed, read, |i, mut seg| {
        // What the segments hold, not their preallocated zeros: the figure an operator
        // compares with the log they wrote, and the one recovery speed is measured on.
        walk.report.wal_bytes += seg.data_end;
        walk.segment(&mut seg, i == last_index);
        match seg.into_run() {
            Some(run) if !dry_run => sink(vec![run]),
            _ => Ok(()),
        }
    })?;
    let (mut report, plan) = walk.finish();
    report.duration = started.elapsed();
    Ok((report, plan))
}

/// Calls `read` on every item on [`readers`] threads, at most [`window`] items ahead of
/// `consume`, which takes the results one by one in the items' order, on this thread.
/// The first error (of either) stops the readers and is returned.
fn in_order_read_ahead<T: Sync, R: Send>(
    items: &[T],
    read: impl Fn(&T) -> Result<R> + Sync,
    mut consume: impl FnMut(usize, R) -> Result<()>,
) -> Result<()> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::mpsc;

    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // A reader takes a ticket before claiming an item; the consumer gives one back per item
    // taken: no more than `window` items are ever read and not yet consumed.
    let (ticket_tx, ticket_rx) = mpsc::sync_channel::<()>(window());
    let ticket_rx = std::sync::Mutex::new(ticket_rx);
    for _ in 0..window() {
        let _ = ticket_tx.send(());
    }
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<R>)>();
    std::thread::scope(|scope| {
        for _ in 0..readers().min(items.len()) {
            let (done_tx, next, stop, ticket_rx, read) =
                (done_tx.clone(), &next, &stop, &ticket_rx, &read);
            scope.spawn(move || {
                loop {
                    let ticket = ticket_rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    if ticket.is_err() || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    if done_tx.send((i, read(item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut arrived = BTreeMap::new();
        let mut result = Ok(());
        for i in 0..items.len() {
            let r = loop {
                if let Some(r) = arrived.remove(&i) {
                    break r;
                }
                match done_rx.recv() {
                    Ok((j, r)) => {
                        arrived.insert(j, r);
                    }
                    // A reader that claimed item `i` panicked (the scope re-raises it).
                    Err(_) => {
                        break Err(crate::Error::InvalidInput(
                            "a segment reader stopped".into(),
                        ));
                    }
                }
            };
            result = r.and_then(|r| consume(i, r));
            if result.is_err() {
                break;
            }
            let _ = ticket_tx.send(());
        }
        stop.store(true, Ordering::Relaxed);
        drop(ticket_tx);
        result
    })
}

/// [`replay_into`], holding every run in memory: for dry runs and read-only opens.
pub fn replay(
    dir: &Path,
    checkpoint: u64,
    mode: RecoveryMode,
    dry_run: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Replay> {
    let mut runs = Vec::new();
    let (report, plan) = replay_into(dir, checkpoint, mode, dry_run, progress, &mut |r| {
        runs.extend(r);
        Ok(())
    })?;
    if report.outcome == Outcome::Refused {
        runs.clear();
    }
    Ok(Replay { report, plan, runs })
}

/// Copies `[offset, EOF)` of `segment` into `lost/`, then truncates the segment there.
pub fn truncate_tail(dir: &Path, segment: &Path, offset: u64) -> Result<PathBuf> {
    let lost = dir.join("lost");
    fs::create_dir_all(&lost).at(&lost)?;
    let bytes = fs::read(segment).at(segment)?;
    let name = segment
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("segment");
    let target = lost.join(format!("{name}.tail-at-{offset}"));
    // Up to the last non-zero byte: past it lies only the segment's preallocated zeros,
    // which say nothing and would make every crash cost a segment's size in lost/.
    let tail = bytes.get(offset as usize..).unwrap_or(&[]);
    let tail = &tail[..crate::format::wal::data_end(tail) as usize];
    crate::io::write_atomic(&target, tail)?;
    if offset < envelope::LEN as u64 {
        // Nothing usable is left: the whole segment goes.
        fs::remove_file(segment).at(segment)?;
    } else {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(segment)
            .at(segment)?;
        f.set_len(offset).at(segment)?;
        f.sync_all().at(segment)?;
    }
    crate::io::fsync_dir(&dir.join("wal"))?;
    Ok(target)
}

/// Cuts `segment` at `offset`, durably; see [`Plan::trim_zeros`].
pub fn trim_zeros(segment: &Path, offset: u64) -> Result<()> {
    let f = fs::OpenOptions::new()
        .write(true)
        .open(segment)
        .at(segment)?;
    f.set_len(offset).at(segment)?;
    f.sync_all().at(segment)
}

/// Moves a whole segment into `lost/` (a rename: the bytes are kept, never deleted).
pub fn move_to_lost(dir: &Path, segment: &Path) -> Result<PathBuf> {
    let lost = dir.join("lost");
    fs::create_dir_all(&lost).at(&lost)?;
    let name = segment
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("segment");
    let mut target = lost.join(name);
    let mut n = 1;
    while target.exists() {
        target = lost.join(format!("{name}.{n}"));
        n += 1;
    }
    fs::rename(segment, &target).at(segment)?;
    crate::io::fsync_dir(&lost)?;
    crate::io::fsync_dir(&dir.join("wal"))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One item of a generated log: an entry (its sequence's step from the one before, and
    /// whether it is a Seal) or a damaged span.
    #[derive(Debug, Clone)]
    enum Item {
        Entry { step: i8, seal: bool },
        Damage,
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            8 => (prop_oneof![6 => Just(1i8), 1 => Just(0), 1 => Just(2), 1 => Just(-3)], any::<bool>())
                .prop_map(|(step, seal)| Item::Entry { step, seal: seal && step == 0 }),
            1 => Just(Item::Damage),
        ]
    }

    fn events(items: &[Item], merge: bool) -> Vec<Ev> {
        let mut seq = 10u64;
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            match *it {
                Item::Entry { step, seal } => {
                    seq = seq.saturating_add_signed(i64::from(step)).max(1);
                    let kind = if seal {
                        EntryType::Seal
                    } else {
                        EntryType::Put
                    };
                    if merge {
                        Ev::push_entry(&mut out, i as u64 * 100, seq, kind);
                    } else {
                        out.push(Ev::Entries {
                            offset: i as u64 * 100,
                            first_seq: seq,
                            count: 1,
                            seal,
                        });
                    }
                }
                Item::Damage => out.push(Ev::Damage(Box::new(DamagedSpan {
                    start: i as u64 * 100,
                    end: i as u64 * 100 + 50,
                    what: "flipped".into(),
                }))),
            }
        }
        out
    }

    /// Walks one segment of `events`: the report as JSON, and the applied positions.
    fn walk(events: Vec<Ev>, mode: RecoveryMode, checkpoint: u64) -> (String, Vec<u32>) {
        let mut seg = ScannedSegment {
            path: PathBuf::from("wal/00000000000000000001.wal"),
            first_seq: 1,
            len: 0,
            bytes: Arc::new(Vec::new()),
            header_error: None,
            all_zero: false,
            nothing_past_header: false,
            data_end: u64::MAX,
            events,
            end: None,
            applied: Vec::new(),
            applied_count: 0,
            run: None,
            run_covers: 0,
        };
        let mut w = Walk::new(RecoveryReport::starting(mode, false, checkpoint));
        w.segment(&mut seg, false);
        let positions: Vec<u32> = seg.applied.iter().flat_map(|&(f, t)| f..t).collect();
        assert_eq!(positions.len(), seg.applied_count);
        let (report, _) = w.finish();
        (serde_json::to_string(&report).unwrap(), positions)
    }

    proptest! {
        /// Ranges of consecutive entries are walked as if entry by entry: same findings,
        /// counts and applied entries, whatever the mode, checkpoint, gaps and damage.
        #[test]
        fn walking_ranges_decides_like_walking_entries(
            items in proptest::collection::vec(item(), 0..60),
            checkpoint in 0u64..40,
            mode in prop_oneof![
                Just(RecoveryMode::Absolute),
                Just(RecoveryMode::TolerateTail),
                Just(RecoveryMode::PointInTime),
                Just(RecoveryMode::SkipCorrupted),
            ],
        ) {
            let one_by_one = walk(events(&items, false), mode, checkpoint);
            let merged = walk(events(&items, true), mode, checkpoint);
            prop_assert_eq!(merged, one_by_one);
        }
    }

    #[test]
    fn read_ahead_hands_results_on_in_order_and_never_runs_more_than_a_window_ahead() {
        use std::sync::atomic::AtomicUsize;
        let items: Vec<usize> = (0..64).collect();
        let (read_count, consumed) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let mut seen = Vec::new();
        in_order_read_ahead(
            &items,
            |&i| {
                let ahead =
                    read_count.fetch_add(1, Ordering::SeqCst) + 1 - consumed.load(Ordering::SeqCst);
                assert!(ahead <= window(), "{ahead} items read ahead of the walk");
                // Later items finish first now and then.
                std::thread::sleep(Duration::from_micros(((i * 7919) % 5) as u64 * 200));
                Ok(i * 10)
            },
            |i, r| {
                assert_eq!(r, i * 10);
                seen.push(i);
                consumed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items);
    }

    #[test]
    fn read_ahead_stops_at_the_first_error_of_a_read_or_of_the_consumer() {
        let items: Vec<usize> = (0..64).collect();
        let mut seen = Vec::new();
        let r = in_order_read_ahead(
            &items,
            |&i| {
                if i == 7 {
                    return Err(crate::Error::InvalidInput("seven".into()));
                }
                Ok(i)
            },
            |i, _| {
                seen.push(i);
                Ok(())
            },
        );
        assert!(matches!(r, Err(crate::Error::InvalidInput(m)) if m == "seven"));
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        let r = in_order_read_ahead(
            &items,
            |&i| Ok(i),
            |i, _| {
                if i == 3 {
                    return Err(crate::Error::InvalidInput("consumer".into()));
                }
                Ok(())
            },
        );
        assert!(matches!(r, Err(crate::Error::InvalidInput(m)) if m == "consumer"));
    }
}
