//! WAL recovery: replay every entry after the checkpoint, and tell apart a clean end, a torn
//! unsynced tail, damage inside synced data and missing entries, each with file and offset.
//!
//! Recovery walks the log once. Entries are handed to a sink (the engine's memtable) as they
//! are met; what happens at the first problem depends on the mode. Nothing on disk is changed
//! here: the returned plan says what to cut or move to `lost/`, and the engine carries it out
//! only when the mode accepts the outcome.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::options::RecoveryMode;
use crate::error::{IoContext, Result};
use crate::format::entry::{EntryRef, EntryType};
use crate::format::envelope::{self, Kind};
use crate::format::wal::{self, Event};

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
    pub entries: u64,
    pub sealed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecoveryReport {
    pub mode: RecoveryMode,
    pub dry_run: bool,
    pub checkpoint_seq: u64,
    pub segments: Vec<SegmentInfo>,
    pub wal_bytes: u64,
    /// Entries after the checkpoint applied to the memtable.
    pub replayed: u64,
    /// Entries at or below the checkpoint (already in SSTs).
    pub skipped: u64,
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
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub outcome: Outcome,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl RecoveryReport {
    pub fn mb_per_sec(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s == 0.0 {
            0.0
        } else {
            self.wal_bytes as f64 / 1e6 / s
        }
    }

    /// Whether the engine must flush and retire the log (entries were left out, so the WAL
    /// can no longer be replayed as is).
    pub fn needs_rewrite(&self) -> bool {
        self.outcome == Outcome::DataDropped
    }
}

/// What the engine must do to the files once it accepts the outcome.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Cut the last segment at `offset` after copying the tail into lost/.
    pub truncate: Option<(PathBuf, u64)>,
    /// Move these whole segments into lost/ (after the memtable is flushed).
    pub move_to_lost: Vec<PathBuf>,
}

/// Receives entries to apply, in log order.
pub trait Sink {
    fn apply(&mut self, entry: &EntryRef<'_>) -> Result<()>;
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

struct Walk<'s> {
    mode: RecoveryMode,
    checkpoint: u64,
    sink: &'s mut dyn Sink,
    report: RecoveryReport,
    /// Set once the mode says to stop applying (first problem, except in skip-corrupted).
    stopped: bool,
    last_seq: Option<u64>,
    error: Option<crate::Error>,
}

impl Walk<'_> {
    fn problem(&mut self, f: Finding) {
        if self.mode != RecoveryMode::SkipCorrupted {
            self.stopped = true;
        }
        self.report.findings.push(f);
    }

    fn entry(&mut self, path: &Path, offset: u64, e: &EntryRef<'_>) {
        self.report.max_seen_seq = self.report.max_seen_seq.max(e.seq);
        if e.kind == EntryType::Seal {
            return;
        }
        if e.seq <= self.checkpoint {
            self.report.skipped += 1;
            self.last_seq = Some(e.seq);
            return;
        }
        let expected = self.last_seq.map_or(self.checkpoint + 1, |l| l + 1);
        if e.seq != expected && !self.stopped {
            let what = if e.seq > expected {
                format!(
                    "sequences {expected}..={} are missing before this entry (a lost or deleted segment?)",
                    e.seq - 1
                )
            } else {
                format!("sequence goes backwards: {} after {}", e.seq, expected - 1)
            };
            self.problem(Finding {
                kind: FindingKind::MissingEntries,
                file: path.to_path_buf(),
                offset,
                end: offset,
                what,
            });
        }
        self.last_seq = Some(e.seq);
        if self.stopped && self.mode != RecoveryMode::SkipCorrupted {
            self.report.dropped_entries += 1;
            return;
        }
        if self.error.is_none() {
            if let Err(err) = self.sink.apply(e) {
                self.error = Some(err);
                return;
            }
            self.report.replayed += 1;
            self.report.last_applied_seq = e.seq;
        }
    }
}

/// Walks the whole log of `dir`, feeding entries after `checkpoint` to `sink`.
pub fn replay(
    dir: &Path,
    checkpoint: u64,
    mode: RecoveryMode,
    dry_run: bool,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64, u64),
) -> Result<(RecoveryReport, Plan)> {
    let started = Instant::now();
    let segments = list_segments(&dir.join("wal"))?;
    let mut total = 0;
    for (_, p) in &segments {
        total += fs::metadata(p).at(p)?.len();
    }
    let mut walk = Walk {
        mode,
        checkpoint,
        sink,
        report: RecoveryReport {
            mode,
            dry_run,
            checkpoint_seq: checkpoint,
            segments: Vec::new(),
            wal_bytes: total,
            replayed: 0,
            skipped: 0,
            dropped_entries: 0,
            dropped_bytes: 0,
            last_applied_seq: checkpoint,
            max_seen_seq: checkpoint,
            findings: Vec::new(),
            moved_to_lost: Vec::new(),
            duration: Duration::ZERO,
            outcome: Outcome::Clean,
        },
        stopped: false,
        last_seq: None,
        error: None,
    };
    let mut plan = Plan::default();
    let mut done_bytes = 0;
    // The latest damage finding not yet followed by a readable entry.
    let mut open_damage: Option<usize> = None;
    let last_index = segments.len().saturating_sub(1);

    for (i, (first_seq, path)) in segments.iter().enumerate() {
        let bytes = fs::read(path).at(path)?;
        let len = bytes.len() as u64;
        let is_last = i == last_index;
        let mut entries = 0u64;
        let mut sealed = false;
        let envelope_ok = match envelope::decode(path, &bytes, Kind::Wal) {
            Ok(_) => true,
            Err(
                e @ (crate::Error::NewerVersion { .. }
                | crate::Error::UnknownFeatures { .. }
                | crate::Error::WrongKind { .. }),
            ) => {
                return Err(e);
            }
            Err(e) => {
                // A crash while creating the segment leaves a short or zeroed header.
                let torn = is_last && (len < envelope::LEN as u64 || bytes.iter().all(|b| *b == 0));
                let kind = if torn {
                    FindingKind::TornTail
                } else {
                    FindingKind::Damage
                };
                walk.problem(Finding {
                    kind,
                    file: path.clone(),
                    offset: 0,
                    end: len,
                    what: format!("segment header unreadable: {e}"),
                });
                if !torn {
                    open_damage = Some(walk.report.findings.len() - 1);
                }
                false
            }
        };
        if envelope_ok {
            let end = wal::scan(&bytes, |ev| {
                match ev {
                    Event::Entry { offset, entry } => {
                        open_damage = None;
                        entries += 1;
                        walk.entry(path, offset, &entry);
                    }
                    Event::Damage { start, end, what } => {
                        walk.problem(Finding {
                            kind: FindingKind::Damage,
                            file: path.clone(),
                            offset: start,
                            end,
                            what,
                        });
                        open_damage = Some(walk.report.findings.len() - 1);
                        walk.report.dropped_bytes += end - start;
                    }
                }
                walk.error.is_none()
            });
            sealed = end.sealed;
            if let Some(e) = walk.error.take() {
                return Err(e);
            }
            // Damage that runs to the end of the last segment with nothing readable after it
            // is a torn tail, not corruption.
            if is_last && let Some(idx) = open_damage {
                let f = &mut walk.report.findings[idx];
                if f.end == len && f.file == *path {
                    f.kind = FindingKind::TornTail;
                    open_damage = None;
                    plan.truncate = Some((path.clone(), end.valid_end));
                }
            }
        }
        walk.report.segments.push(SegmentInfo {
            path: path.clone(),
            first_seq: *first_seq,
            bytes: len,
            entries,
            sealed,
        });
        done_bytes += len;
        progress(done_bytes, total);
    }

    let r = &mut walk.report;
    let tail_only = r.findings.iter().all(|f| f.kind == FindingKind::TornTail);
    r.outcome = if r.findings.is_empty() {
        Outcome::Clean
    } else if mode == RecoveryMode::Absolute || (mode == RecoveryMode::TolerateTail && !tail_only) {
        Outcome::Refused
    } else if tail_only {
        Outcome::TailTruncated
    } else {
        Outcome::DataDropped
    };
    if r.outcome == Outcome::DataDropped {
        // Every segment holding a finding or a dropped entry leaves the WAL for lost/; the
        // engine flushes first so nothing readable depends on them.
        plan.truncate = None;
        let first_problem = r.findings.iter().map(|f| f.file.clone()).next();
        let mut from_first = false;
        for s in &r.segments {
            let has_finding = r.findings.iter().any(|f| f.file == s.path);
            if Some(&s.path) == first_problem.as_ref() {
                from_first = true;
            }
            let dropped_here = mode == RecoveryMode::PointInTime && from_first;
            if has_finding || dropped_here {
                plan.move_to_lost.push(s.path.clone());
            }
        }
    }
    if r.outcome == Outcome::Refused {
        plan = Plan::default();
    }
    r.duration = started.elapsed();
    Ok((walk.report, plan))
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
    let tail = bytes.get(offset as usize..).unwrap_or(&[]);
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
