//! `drkit wal archive`: copies WAL segments of a data dir into the repository, for
//! point-in-time restore.
//!
//! ```text
//!  REPO/wal/<history id>/LOCK                              one archiver per history
//!  REPO/wal/<history id>/{first seq:020}.wal.zst            a closed segment, zstd (codec.rs)
//!  REPO/wal/<history id>/{first seq:020}.wal.json           its sidecar (sealed JSON), written last
//!  REPO/wal/<history id>/{first seq:020}.wal.partial-<h>.zst  the growing segment (--follow),
//!  REPO/wal/<history id>/{first seq:020}.wal.partial.json     up to its last complete entry
//! ```
//!
//! A segment is in the archive once its sidecar is: the compressed copy is written whole
//! first, the sidecar last, so a killed run leaves at most an unreferenced `.zst` (or an
//! unfinished upload) that the next run removes. The growing segment's copy carries part of
//! its blake3 in its name, so a new copy never overwrites the one the current sidecar names;
//! writing the sidecar switches from one to the other.
//!
//! The archiver takes no lock on the data dir: a closed segment never changes, and the growing
//! one is only appended to, so reading it up to its first damage yields a prefix of what it
//! will become (a fragment being written shows up as damage or as the zeros of its
//! preallocation, and is left for the next pass). Copies are laid out as backup files are
//! (codec.rs): 4 MiB blocks, each its own frame, so with `--follow` a pass compresses only the
//! blocks that changed since the last one. It does not take the
//! repository's LOCK either, which `backup create` holds for as long as a backup runs.
//!
//! Which segments are closed: every one but the newest in `DIR/wal/`. The engine creates the
//! next segment only after sealing the previous one, and on open only after recovery has cut
//! any torn tail, so a segment that is not the newest is final.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::decode_stored;
use super::manifest::{BackupFile, BackupManifest};
use super::repo::{Repo, RepoLocation, RepoLock, hex};
use super::sealed::{self, Sealed};
use super::store::LockMode;
use crate::engine::load_state;
use crate::engine::recovery::list_segments;
use crate::error::{Error, IoContext, Result};
use crate::format::archive_status::{self, ArchiveStatus, Hold};
use crate::format::entry::EntryType;
use crate::format::envelope::{self, Kind};
use crate::format::wal::{self, Event, parse_segment_name};
use crate::io::{fsync_dir, write_atomic};

/// `REPO/wal`: one dir per history id.
pub const ARCHIVE_DIR: &str = "wal";
pub const SIDECAR_FORMAT: &str = "drkit-archived-wal";
const PARTIAL: &str = ".partial";

/// The sidecar of one archived segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedSegment {
    pub format: String,
    pub version: u16,
    /// The segment's file name in the data dir (`{first seq:020}.wal`).
    pub name: String,
    pub history_id: String,
    /// The compressed copy's file name, beside the sidecar.
    pub stored: String,
    pub first_seq: u64,
    /// The last entry's sequence; `first_seq - 1` for a segment without entries.
    pub last_seq: u64,
    /// Entries other than the seal.
    pub entries: u64,
    /// Commit timestamps (ns since the Unix epoch, and RFC 3339 for people) of the first and
    /// last entry other than the seal.
    pub first_entry_ns: Option<i64>,
    pub last_entry_ns: Option<i64>,
    pub first_entry_time: Option<String>,
    pub last_entry_time: Option<String>,
    /// Original bytes archived and their blake3, hex; the compressed size.
    pub size: u64,
    pub blake3: String,
    pub stored_size: u64,
    /// True: the segment is closed and this is all of it. False: a growing segment,
    /// archived up to its last complete entry (replaced as it grows).
    pub sealed: bool,
    pub archived_at: String,
    pub checksum: String,
    /// Set for a segment copy held in a backup rather than in the archive: the backup whose
    /// dir stores it (`backups/<id>/files/wal/<name>.zst`). Never read from a sidecar, and
    /// absent from every sidecar written, so sidecars keep their format.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

impl Sealed for ArchivedSegment {
    const VERSION: u16 = 1;
    fn checksum_mut(&mut self) -> &mut String {
        &mut self.checksum
    }
}

impl ArchivedSegment {
    /// The sidecar's file name.
    pub fn sidecar_name(name: &str, sealed: bool) -> String {
        if sealed {
            format!("{name}.json")
        } else {
            format!("{name}{PARTIAL}.json")
        }
    }

    /// As a backup file entry, for the shared blake3-checked decoder.
    pub fn as_file(&self) -> BackupFile {
        BackupFile {
            path: format!("wal/{}", self.name),
            size: self.size,
            blake3: self.blake3.clone(),
            stored_size: self.stored_size,
            stored_in: None,
            stored_as: super::manifest::StoredAs::Zstd,
        }
    }

    /// The sidecar is read from disk and its names decide which file is opened: accept only
    /// the names this module writes.
    fn check_names(&self, sidecar: &Path, history: &str) -> Result<()> {
        let stored_ok = self.stored == format!("{}.zst", self.name)
            || self
                .stored
                .strip_prefix(&format!("{}{PARTIAL}-", self.name))
                .and_then(|r| r.strip_suffix(".zst"))
                .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let expected_sidecar = Self::sidecar_name(&self.name, self.sealed);
        let ok = self.format == SIDECAR_FORMAT
            && parse_segment_name(&self.name) == Some(self.first_seq)
            && stored_ok
            && self.history_id == history
            && sidecar.file_name().and_then(|n| n.to_str()) == Some(expected_sidecar.as_str());
        if ok {
            Ok(())
        } else {
            Err(Error::corruption(
                sidecar,
                0,
                format!(
                    "the sidecar does not describe this file (segment {:?}, stored as {:?}, history {})",
                    self.name, self.stored, self.history_id
                ),
            ))
        }
    }
}

/// What one segment holds, from a walk over its bytes.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// (sequence, timestamp ns, type, offset of its first fragment) per entry, in log order.
    pub entries: Vec<(u64, i64, EntryType, u64)>,
    /// Where the first damage starts (for a growing segment: the fragment being written).
    pub damage: Option<(u64, String)>,
    /// Just past the last complete entry before any damage.
    pub valid_end: u64,
}

impl Facts {
    fn data(&self) -> impl Iterator<Item = &(u64, i64, EntryType, u64)> {
        self.entries.iter().filter(|e| e.2 != EntryType::Seal)
    }

    /// Entries other than the seal.
    pub fn data_entries(&self) -> u64 {
        self.data().count() as u64
    }

    pub fn first_ns(&self) -> Option<i64> {
        self.data().next().map(|e| e.1)
    }

    pub fn last_ns(&self) -> Option<i64> {
        self.data().last().map(|e| e.1)
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.entries.last().map(|e| e.0)
    }

    /// The offset just past the entry `seq` (a cut there keeps it and drops what follows).
    pub fn end_of(&self, seq: u64) -> Option<u64> {
        let i = self
            .entries
            .iter()
            .position(|e| e.0 == seq && e.2 != EntryType::Seal)?;
        Some(self.entries.get(i + 1).map_or(self.valid_end, |e| e.3))
    }
}

/// The growing segment up to the first 32 KiB block that starts with a zeroed fragment header:
/// every block of written data starts with a header (type 1..=4), so that is where its
/// preallocated zeros begin (or a hole, where the archived prefix stops anyway). Spares
/// reading the rest of a 64 MiB segment at every `--follow` pass.
fn read_growing(path: &Path) -> std::io::Result<Vec<u8>> {
    const CHUNK: usize = 1 << 20;
    let block = wal::BLOCK_SIZE as usize;
    let header = wal::FRAGMENT_HEADER as usize;
    let mut file = File::open(path)?;
    let mut bytes = Vec::new();
    loop {
        let start = bytes.len();
        let n = (&mut file).take(CHUNK as u64).read_to_end(&mut bytes)?;
        // Block starts in what was just read; block 0 starts with the envelope.
        let first = start.div_ceil(block).max(1) * block;
        let zeroed = (first..bytes.len()).step_by(block).find(|&b| {
            bytes[b..(b + header).min(bytes.len())]
                .iter()
                .all(|x| *x == 0)
        });
        if let Some(b) = zeroed {
            bytes.truncate(b);
            return Ok(bytes);
        }
        if n < CHUNK {
            return Ok(bytes);
        }
    }
}

/// Walks a whole segment (`bytes` includes the envelope), stopping at the first damage.
pub fn facts(path: &Path, bytes: &[u8]) -> Result<Facts> {
    envelope::decode(path, bytes, Kind::Wal)?;
    let mut f = Facts {
        valid_end: envelope::LEN as u64,
        ..Facts::default()
    };
    let end = wal::scan(bytes, |ev| match ev {
        Event::Entry { offset, entry } => {
            f.entries
                .push((entry.seq, entry.timestamp_ns, entry.kind, offset));
            true
        }
        Event::Damage { start, what, .. } => {
            f.damage = Some((start, what));
            false
        }
    });
    f.valid_end = match &f.damage {
        Some((start, _)) => *start,
        None => end.valid_end,
    };
    Ok(f)
}

pub fn rfc3339_ns(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// The archive of one history, as its sidecars describe it.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Closed segments by first sequence.
    pub sealed: BTreeMap<u64, ArchivedSegment>,
    /// Growing segments by first sequence (only where no closed copy exists yet).
    pub partial: BTreeMap<u64, ArchivedSegment>,
    /// Copies held in backups of the history, the longest of each segment (see
    /// [`Index::add_backups`]).
    pub in_backups: BTreeMap<u64, ArchivedSegment>,
}

impl Index {
    /// The copy to use for each segment, oldest first: the one holding the most entries;
    /// of equal ones the archive's closed copy, then its growing copy, then a backup's. (The
    /// copies of one segment in one history are prefixes of each other.)
    pub fn segments(&self) -> Vec<&ArchivedSegment> {
        let mut best: BTreeMap<u64, &ArchivedSegment> = BTreeMap::new();
        for s in self
            .sealed
            .values()
            .chain(self.partial.values())
            .chain(self.in_backups.values())
        {
            match best.get(&s.first_seq) {
                Some(have) if have.last_seq >= s.last_seq => {}
                _ => {
                    best.insert(s.first_seq, s);
                }
            }
        }
        best.into_values().collect()
    }

    /// Adds the WAL copies the `backups` (of this index's history) hold, as recorded in
    /// their manifests, so a restore reaches every entry the repository holds.
    pub fn add_backups(&mut self, backups: &[&BackupManifest]) {
        for m in backups {
            for c in &m.wal_segments {
                let Some(file) = m.files.iter().find(|f| f.path == c.path) else {
                    continue;
                };
                let Some(name) = c.path.strip_prefix("wal/") else {
                    continue;
                };
                if self
                    .in_backups
                    .get(&c.first_seq)
                    .is_some_and(|have| have.last_seq >= c.last_seq)
                {
                    continue;
                }
                let seg = ArchivedSegment {
                    format: SIDECAR_FORMAT.into(),
                    version: ArchivedSegment::VERSION,
                    name: name.to_string(),
                    history_id: m.history_id.clone(),
                    stored: format!("{name}.zst"),
                    first_seq: c.first_seq,
                    last_seq: c.last_seq,
                    entries: c.entries,
                    first_entry_ns: c.first_entry_ns,
                    last_entry_ns: c.last_entry_ns,
                    first_entry_time: c.first_entry_ns.map(rfc3339_ns),
                    last_entry_time: c.last_entry_ns.map(rfc3339_ns),
                    size: file.size,
                    blake3: file.blake3.clone(),
                    stored_size: file.stored_size,
                    sealed: false,
                    archived_at: m.end_time.clone(),
                    checksum: String::new(),
                    held_by: Some(file.stored_in.clone().unwrap_or_else(|| m.id.clone())),
                };
                self.in_backups.insert(c.first_seq, seg);
            }
        }
    }

    /// The key of a copy's compressed bytes: in the archive, or in the backup that holds it.
    pub fn stored_key(seg: &ArchivedSegment) -> String {
        match &seg.held_by {
            Some(backup) => super::manifest::stored_key(backup, &seg.as_file()),
            None => format!("{}/{}", history_prefix(&seg.history_id), seg.stored),
        }
    }

    /// Missing sequence ranges between archived segments (inclusive bounds), with the
    /// segment after each.
    pub fn gaps(&self) -> Vec<Gap> {
        let segs = self.segments();
        let mut gaps = Vec::new();
        // Copies archived from different nodes of a cluster overlap: the reach so far, not
        // the previous segment's end, says where a gap starts.
        let mut reach = None;
        for s in segs {
            if let Some(r) = reach
                && s.first_seq > r + 1
            {
                gaps.push(Gap {
                    from_seq: r + 1,
                    to_seq: s.first_seq - 1,
                    before: s.name.clone(),
                });
            }
            reach = Some(reach.map_or(s.last_seq, |r: u64| r.max(s.last_seq)));
        }
        gaps
    }

    /// The segments that carry `from..=to` without a hole, or where the chain breaks.
    pub fn chain(&self, from: u64, to: u64) -> std::result::Result<Vec<&ArchivedSegment>, u64> {
        let segs = self.segments();
        let mut out = Vec::new();
        let mut next = from;
        while next <= to {
            let Some(s) = segs
                .iter()
                .find(|s| s.first_seq <= next && next <= s.last_seq)
            else {
                return Err(next);
            };
            out.push(*s);
            next = s.last_seq + 1;
        }
        Ok(out)
    }

    /// The highest sequence reachable from `from` without a hole (`from - 1` when none).
    pub fn reach(&self, from: u64) -> (u64, Option<&ArchivedSegment>) {
        let segs = self.segments();
        let mut next = from;
        let mut last = None;
        while let Some(s) = segs
            .iter()
            .find(|s| s.first_seq <= next && next <= s.last_seq)
        {
            next = s.last_seq + 1;
            last = Some(*s);
        }
        (next - 1, last)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub from_seq: u64,
    pub to_seq: u64,
    /// The archived segment right after the gap.
    pub before: String,
}

/// `wal/<history>`: where the history's segments are archived.
pub fn history_prefix(history: &str) -> String {
    format!("{ARCHIVE_DIR}/{history}")
}

/// The lock one archiver of `history` holds.
pub fn lock_key(history: &str) -> String {
    format!("{}/LOCK", history_prefix(history))
}

/// Histories with archived segments.
pub fn histories(repo: &Repo) -> Result<Vec<String>> {
    let mut out: Vec<String> = repo
        .store()
        .list(ARCHIVE_DIR)?
        .prefixes
        .into_iter()
        .filter(|name| archive_status::parse_hex16(name).is_some())
        .collect();
    out.sort();
    Ok(out)
}

/// The keys of the sidecars of `history`, sorted.
fn sidecars(repo: &Repo, history: &str) -> Result<Vec<String>> {
    let prefix = history_prefix(history);
    let mut out: Vec<String> = repo
        .store()
        .list(&prefix)?
        .objects
        .into_iter()
        .filter(|(name, _)| name.ends_with(".json"))
        .map(|(name, _)| format!("{prefix}/{name}"))
        .collect();
    out.sort();
    Ok(out)
}

/// The sidecar `key` of `history`, checked; None when it is gone (a running archiver
/// replaced a growing segment's sidecar since the listing).
pub fn read_sidecar(repo: &Repo, key: &str, history: &str) -> Result<Option<ArchivedSegment>> {
    let Some(bytes) = repo.store().get(key)? else {
        return Ok(None);
    };
    let path = repo.locate(key);
    let s: ArchivedSegment = sealed::decode(&path, &bytes)?;
    s.check_names(&path, history)?;
    Ok(Some(s))
}

/// Every sidecar of `history`, checked; the first damaged one is an error (exit 4).
pub fn load_index(repo: &Repo, history: &str) -> Result<Index> {
    if archive_status::parse_hex16(history).is_none() {
        return Err(Error::InvalidInput(format!(
            "{history:?} is not a history id (32 hex digits)"
        )));
    }
    let mut index = Index::default();
    for key in sidecars(repo, history)? {
        let Some(s) = read_sidecar(repo, &key, history)? else {
            continue;
        };
        if s.sealed {
            index.sealed.insert(s.first_seq, s);
        } else {
            index.partial.insert(s.first_seq, s);
        }
    }
    Ok(index)
}

/// Decompresses an archived segment into memory, checking sizes and blake3.
pub fn read_archived(repo: &Repo, seg: &ArchivedSegment) -> Result<Vec<u8>> {
    let key = Index::stored_key(seg);
    let stored = repo.locate(&key);
    // The decoder writes frames at their offsets, so it needs a file: an unnamed temp file
    // that goes away with the handle.
    let mut tmp = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    decode_stored(
        repo.store().as_ref(),
        &key,
        &seg.as_file(),
        Some((&mut tmp, &stored)),
        &|_| {},
    )?;
    let mut out = Vec::with_capacity(usize::try_from(seg.size).unwrap_or(0));
    tmp.seek(std::io::SeekFrom::Start(0)).at(&stored)?;
    tmp.read_to_end(&mut out).at(&stored)?;
    Ok(out)
}

/// Decompresses an archived segment into `dest`, checking sizes and blake3.
pub fn restore_archived(repo: &Repo, seg: &ArchivedSegment, dest: &Path) -> Result<()> {
    let mut out = File::create(dest).at(dest)?;
    decode_stored(
        repo.store().as_ref(),
        &Index::stored_key(seg),
        &seg.as_file(),
        Some((&mut out, dest)),
        &|_| {},
    )?;
    out.sync_all().at(dest)
}

/// Checks every archived segment of `history` against its sidecar (the sidecar's seal, the
/// copy's blake3); with `after_seq`, only those holding an entry past it (what a backup
/// ending there needs for its window). Problems are collected, not fatal.
pub fn verify_history(
    repo: &Repo,
    history: &str,
    after_seq: Option<u64>,
) -> Result<(usize, u64, Vec<super::Problem>)> {
    let mut problems = Vec::new();
    let (mut count, mut bytes) = (0usize, 0u64);
    for key in sidecars(repo, history)? {
        let s = match read_sidecar(repo, &key, history) {
            Ok(Some(s)) => s,
            // A running archiver replaced a growing segment's sidecar under us: not damage.
            Ok(None) => continue,
            Err(e) => {
                problems.push(super::Problem::from_error(repo.locate(&key), &e));
                continue;
            }
        };
        if after_seq.is_some_and(|after| s.last_seq <= after) {
            continue;
        }
        count += 1;
        bytes += s.size;
        let stored = Index::stored_key(&s);
        if let Err(e) = decode_stored(repo.store().as_ref(), &stored, &s.as_file(), None, &|_| {}) {
            if !s.sealed && read_sidecar(repo, &key, history).ok().flatten().as_ref() != Some(&s) {
                continue;
            }
            problems.push(super::Problem::from_error(repo.locate(&stored), &e));
        }
    }
    Ok((count, bytes, problems))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Copied now.
    Archived,
    /// Already in the archive with the same blake3.
    Present,
    /// The growing segment, copied up to its last complete entry.
    Partial,
    /// The growing segment, unchanged since the last copy.
    PartialUnchanged,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentOutcome {
    pub name: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub entries: u64,
    pub size: u64,
    pub stored_size: u64,
    pub action: Action,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// The repository, a path or an `s3://` URL.
    pub repo: String,
    pub repo_id: String,
    pub data: PathBuf,
    pub history_id: String,
    pub segments: Vec<SegmentOutcome>,
    /// Holes in the archived sequence range (e.g. segments retired before archiving began).
    pub gaps: Vec<Gap>,
    /// Sequences the archive holds without a hole at its end: (first, last).
    pub range: Option<(u64, u64)>,
    /// What the data dir's ARCHIVE_STATUS now says.
    pub archived_through: u64,
    /// Set when the status file was unreadable before this run rewrote it.
    pub status_was_unreadable: Option<String>,
    pub cleaned: Vec<PathBuf>,
    pub repo_created: bool,
}

impl ArchiveReport {
    pub fn changed(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s.action, Action::Archived | Action::Partial))
    }
}

#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    pub compress_level: i32,
    /// How long to wait for another archiver's lock on this history; zero fails at once.
    pub lock_wait: Duration,
}

/// An archiver holding the lock of one history; `run` may be called again and again
/// (`--follow`).
#[derive(Debug)]
pub struct Archiver {
    repo: Repo,
    repo_created: bool,
    data: PathBuf,
    /// The history the archive is kept under: the dir's history id, or a cluster node's
    /// cluster id (so that every node archives into one history).
    history: [u8; 16],
    /// The dir's own history id, which DIR/ARCHIVE_STATUS names for the engine or node.
    data_history: [u8; 16],
    /// A cluster node's dir: only entries up to its recorded committed index are archived.
    cluster: bool,
    /// `wal/<history>`.
    prefix: String,
    opts: ArchiveOptions,
    /// Closed segments already compared with the archive by this process: they never change.
    checked: HashSet<String>,
    /// The compressed blocks of each growing segment's last copy, by first sequence.
    frames: HashMap<u64, super::codec::FrameCache>,
    cleaned: Vec<PathBuf>,
    _lock: RepoLock,
}

/// The data dir's history id. The manifest may be replaced (engine open) or appended to
/// (flush) while we read it: a failed read is retried briefly before it counts.
fn data_history(data: &Path) -> Result<[u8; 16]> {
    let mut tries = 0;
    loop {
        match load_state(data) {
            Ok((state, _)) => return Ok(state.history_id),
            Err(e) if tries < 20 && !matches!(e, Error::NewerVersion { .. }) => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
                let _ = e;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A `--data` that is a data dir (has CURRENT): exit 10 for a typo, a clear refusal for
/// another kind of dir. Checked before anything is locked or created in it. A cluster node's
/// dir is refused: its WAL is the Raft log (entries may be uncommitted, a batch holds several
/// writes at one index), so archived segments of it would replay wrong, silently.
/// A cluster node's cluster id: the history its log is archived under.
fn cluster_id(data: &Path) -> Result<[u8; 16]> {
    let state = crate::format::raft_state::RaftState::load(&data.join("raft"))?.unwrap_or_default();
    if state.cluster_id == [0; 16] {
        return Err(Error::InvalidInput(format!(
            "{}: this node has not joined a cluster yet, so it has no committed log to archive; run `drkit cluster init` (or start it with `replicate --join`) first",
            data.display()
        )));
    }
    Ok(state.cluster_id)
}

/// How much of a segment lies at or below a committed index.
enum Prefix {
    /// Nothing: its first entry is past it.
    Nothing,
    Whole,
    /// Up to this byte offset (just past the entry at the index).
    Cut(usize),
}

fn committed_prefix(path: &Path, bytes: &[u8], limit: u64) -> Result<Prefix> {
    let f = facts(path, bytes)?;
    let mut data = f.data();
    match (data.next(), f.data().last()) {
        (None, _) => Ok(Prefix::Whole),
        (Some(first), _) if first.0 > limit => Ok(Prefix::Nothing),
        (_, Some(last)) if last.0 <= limit => Ok(Prefix::Whole),
        _ => {
            let end = f.end_of(limit).ok_or_else(|| {
                Error::corruption(
                    path,
                    0,
                    format!(
                        "the Raft log has no entry {limit}, its committed index, where it belongs"
                    ),
                )
            })?;
            Ok(Prefix::Cut(usize::try_from(end).unwrap_or(usize::MAX)))
        }
    }
}

/// Refuses a cluster node's segment whose entries differ from a copy already archived
/// under the history: every node of one cluster writes each committed entry byte for byte
/// as its leader stamped it (Raft's log matching), so where two copies overlap, the entry at
/// the highest index both hold carries the same leader time. It does not when another
/// cluster archives under the same id: one restored twice from one backup, to one point,
/// with the same members, and then written to. Costs nothing in the usual case: one
/// archiver's copies overlap only its own earlier prefix of a growing segment, checked from
/// its sidecar; another copy is read only when it reaches past this one.
fn check_same_log(
    repo: &Repo,
    index: &Index,
    path: &Path,
    ours: &Facts,
    our_blake3: &str,
) -> Result<()> {
    let (Some(first), Some(last)) = (ours.data().next(), ours.data().last()) else {
        return Ok(());
    };
    let (first, last) = (first.0, last.0);
    let copies = index.sealed.values().chain(index.partial.values());
    for seg in copies.filter(|s| s.entries > 0 && s.blake3 != our_blake3) {
        if seg.last_seq < first || seg.first_seq > last {
            continue;
        }
        let at = seg.last_seq.min(last);
        let theirs = if seg.last_seq <= last {
            seg.last_entry_ns
        } else {
            let bytes = read_archived(repo, seg)?;
            let stored = repo.locate(&Index::stored_key(seg));
            facts(&stored, &bytes)?
                .data()
                .find(|e| e.0 == at)
                .map(|e| e.1)
        };
        let Some(mine) = ours.data().find(|e| e.0 == at) else {
            continue;
        };
        if theirs != Some(mine.1) {
            return Err(Error::corruption(
                path,
                mine.3,
                format!(
                    "Raft log entry {at} here was stamped {} by its leader, but the copy archived as {} holds an entry {at} stamped {}: the repository's history {} holds the log of another cluster with the same id",
                    rfc3339_ns(mine.1),
                    seg.name,
                    theirs.map_or_else(|| "with no time".into(), rfc3339_ns),
                    seg.history_id,
                ),
            )
            .with_hint("two clusters restored from one backup to one point with the same --members share an id; archive this one into another repository, or restore it again with its own `--cluster-token`"));
        }
    }
    Ok(())
}

/// A data dir (standalone or a cluster node's: backups export its committed
/// state).
pub(super) fn check_any_data_dir(data: &Path) -> Result<()> {
    if data.join("CURRENT").is_file() {
        return Ok(());
    }
    Err(if data.exists() {
        Error::NotDataDir {
            path: data.to_path_buf(),
            reason: "no CURRENT file".into(),
        }
    } else {
        Error::NotFound {
            path: data.to_path_buf(),
            hint: "check the --data path".into(),
        }
    })
}

impl Archiver {
    /// Opens (creating if missing) the repository, takes the archive lock of `data`'s
    /// history, and removes what a killed run left.
    pub fn open(repo: &RepoLocation, data: &Path, opts: ArchiveOptions) -> Result<Archiver> {
        if !(1..=22).contains(&opts.compress_level) {
            return Err(Error::InvalidInput(format!(
                "compression level {} is out of range 1..=22",
                opts.compress_level
            )));
        }
        check_any_data_dir(data)?;
        let dir_history = data_history(data)?;
        let cluster = crate::engine::read_only::is_cluster_dir(data);
        let history = if cluster {
            cluster_id(data)?
        } else {
            dir_history
        };
        let (repo, repo_created) = Repo::init(repo)?;
        let prefix = history_prefix(&hex(&history));
        let lock = repo.take_lock(
            &lock_key(&hex(&history)),
            LockMode::Exclusive,
            "wal archive",
            opts.lock_wait,
        )?;
        let mut a = Archiver {
            repo,
            repo_created,
            data: data.to_path_buf(),
            history,
            data_history: dir_history,
            cluster,
            prefix,
            opts,
            checked: HashSet::new(),
            frames: HashMap::new(),
            cleaned: Vec::new(),
            _lock: lock,
        };
        a.cleaned = a.clean_leftovers()?;
        Ok(a)
    }

    /// Removes unfinished writes, `*.tmp` files of older versions and compressed copies no
    /// sidecar names.
    fn clean_leftovers(&self) -> Result<Vec<PathBuf>> {
        let store = self.repo.store();
        let mut removed = store.clean_unfinished(&self.prefix)?;
        let index = load_index(&self.repo, &hex(&self.history))?;
        let named: HashSet<&str> = index
            .sealed
            .values()
            .chain(index.partial.values())
            .map(|s| s.stored.as_str())
            .collect();
        for (name, _) in store.list(&self.prefix)?.objects {
            let stray = name.ends_with(".tmp")
                || (name.ends_with(".zst") && !named.contains(name.as_str()));
            if stray {
                let key = format!("{}/{name}", self.prefix);
                store.delete(&key)?;
                removed.push(self.repo.locate(&key));
            }
        }
        Ok(removed)
    }

    fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    /// The status the data dir should carry, written only when it changes.
    fn write_status(&self, through: u64) -> Result<Option<String>> {
        let path = self.data.join(archive_status::FILE_NAME);
        let want = ArchiveStatus {
            repo_id: archive_status::parse_hex16(&self.repo.meta.id).unwrap_or_default(),
            history_id: self.data_history,
            archived_through: through,
        };
        let was = match archive_status::read(&self.data) {
            Hold::Through(s) if s == want => return Ok(None),
            Hold::Unreadable(why) => Some(why),
            _ => None,
        };
        write_atomic(&path, archive_status::encode(&want).as_bytes())?;
        Ok(was)
    }

    /// What the status file says for this repository and history (0 when nothing yet).
    fn status_through(&self) -> u64 {
        match archive_status::read(&self.data) {
            Hold::Through(s)
                if s.history_id == self.data_history && hex(&s.repo_id) == self.repo.meta.id =>
            {
                s.archived_through
            }
            _ => 0,
        }
    }

    /// One pass: every closed segment not yet archived, and with `include_growing` the
    /// newest segment up to its last complete entry. Then the status file.
    pub fn run(&mut self, include_growing: bool) -> Result<ArchiveReport> {
        check_any_data_dir(&self.data)?;
        let now = data_history(&self.data)?;
        if now != self.data_history {
            return Err(Error::InvalidInput(format!(
                "{}: the data dir's history changed from {} to {} while archiving (restored over?); start `drkit wal archive` again",
                self.data.display(),
                hex(&self.data_history),
                hex(&now)
            )));
        }
        let history = hex(&self.history);
        // On before the first copy: from here on the engine keeps what is not archived yet.
        let before = self.status_through();
        let mut status_was_unreadable = self.write_status(before)?;

        // Read before the listing: every entry up to it is in the segments listed.
        let limit = if self.cluster {
            Some(crate::cluster::offline::recorded_committed(&self.data)?.unwrap_or(0))
        } else {
            None
        };
        let segments = list_segments(&self.data.join("wal"))?;
        let mut index = load_index(&self.repo, &history)?;
        let mut outcomes = Vec::new();
        let mut through = before;
        let closed = segments.len().saturating_sub(1);
        for (i, (first, path)) in segments.iter().enumerate() {
            let name = wal::segment_name(*first);
            let is_closed = i < closed;
            if !is_closed && !include_growing {
                break;
            }
            if is_closed
                && let Some(have) = index.sealed.get(first)
                && self.checked.contains(&name)
            {
                through = through.max(have.last_seq);
                continue;
            }
            let read = if is_closed {
                fs::read(path)
            } else {
                read_growing(path)
            };
            let raw = match read {
                Ok(b) => b,
                // Retired by the engine between the listing and now: it was archived.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(path, e)),
            };
            // A segment closed by a crash can still carry its preallocated zeros until the
            // engine's next open cuts them (format/wal.rs): archive its records only, so the
            // copy and its checksum do not depend on when that happens.
            let bytes = if is_closed {
                wal::without_zero_tail(&raw)
            } else {
                &raw
            };
            // A cluster node's log is archived up to its committed index only: a closed
            // segment holding entries past it is archived as a prefix until they commit.
            let (is_final, bytes) = match limit {
                None => (is_closed, bytes),
                Some(limit) => match committed_prefix(path, bytes, limit)? {
                    Prefix::Nothing => break,
                    Prefix::Whole => (is_closed, bytes),
                    Prefix::Cut(end) => (false, bytes.get(..end).unwrap_or(bytes)),
                },
            };
            if is_final {
                let sum = blake3::hash(bytes).to_hex().to_string();
                if let Some(have) = index.sealed.get(first) {
                    if have.blake3 != sum && self.cluster {
                        check_same_log(&self.repo, &index, path, &facts(path, bytes)?, &sum)?;
                        // Another node's segment from the same index: committed entries are
                        // the same on every node, where a segment ends is not. What it lacks
                        // past its end shows as a gap until a later segment covers it.
                        self.checked.insert(name.clone());
                        through = through.max(have.last_seq);
                        outcomes.push(outcome(have, Action::Present));
                        continue;
                    }
                    if have.blake3 != sum {
                        return Err(Error::corruption(
                            path,
                            0,
                            format!(
                                "this closed segment hashes to {sum}, but the archive holds it with blake3 {} ({})",
                                have.blake3,
                                self.repo.locate(&self.key(&ArchivedSegment::sidecar_name(&name, true))).display()
                            ),
                        )
                        .with_hint("one of the two copies was changed after archiving: `drkit verify DIR` and `drkit backup verify --repo R` tell which"));
                    }
                    self.checked.insert(name.clone());
                    through = through.max(have.last_seq);
                    outcomes.push(outcome(have, Action::Present));
                    // A run killed between the closed copy's sidecar and the removal of
                    // the growing copy left both: finish the removal.
                    if let Some(old) = index.partial.remove(first) {
                        self.remove_partial(&old)?;
                    }
                    continue;
                }
                let f = facts(path, bytes)?;
                if let Some((at, what)) = &f.damage {
                    return Err(Error::corruption(path, *at, format!("closed segment is damaged: {what}"))
                        .with_hint("it cannot be archived as it is: run `drkit verify DIR`, then `drkit recover DIR`"));
                }
                if self.cluster {
                    check_same_log(&self.repo, &index, path, &f, &sum)?;
                }
                let seg = self.store(&name, *first, bytes, &f, true, &sum)?;
                if let Some(old) = index.partial.remove(first) {
                    self.remove_partial(&old)?;
                }
                self.checked.insert(name.clone());
                through = through.max(seg.last_seq);
                outcomes.push(outcome(&seg, Action::Archived));
                index.sealed.insert(*first, seg);
            } else {
                // No header yet (the engine is creating it) or, after a crash then, zeros
                // where it should be: nothing to archive, as recovery sees a torn tail.
                if wal::data_end(bytes) <= envelope::LEN as u64 {
                    continue;
                }
                let f = facts(path, bytes)?;
                if f.entries.is_empty() {
                    continue;
                }
                let keep = bytes
                    .get(..usize::try_from(f.valid_end).unwrap_or(usize::MAX))
                    .unwrap_or(bytes);
                let sum = blake3::hash(keep).to_hex().to_string();
                if let Some(have) = index.partial.get(first)
                    && have.blake3 == sum
                {
                    if self.cluster {
                        through = through.max(have.last_seq);
                    }
                    outcomes.push(outcome(have, Action::PartialUnchanged));
                    continue;
                }
                if self.cluster {
                    check_same_log(&self.repo, &index, path, &f, &sum)?;
                }
                let seg = self.store(&name, *first, keep, &f, false, &sum)?;
                // A prefix of a node's committed log never changes: it counts as archived.
                if self.cluster {
                    through = through.max(seg.last_seq);
                }
                if let Some(old) = index.partial.get(first)
                    && old.stored != seg.stored
                {
                    self.repo.store().delete(&self.key(&old.stored))?;
                }
                outcomes.push(outcome(&seg, Action::Partial));
                index.partial.insert(*first, seg);
            }
        }
        if through != before
            && let Some(why) = self.write_status(through)?
        {
            status_was_unreadable.get_or_insert(why);
        }
        let gaps = index.gaps();
        let segs = index.segments();
        let range = segs.last().map(|last| {
            let start = gaps.last().map_or(segs[0].first_seq, |g| g.to_seq + 1);
            (start, last.last_seq)
        });
        Ok(ArchiveReport {
            repo: self.repo.location().to_string(),
            repo_id: self.repo.meta.id.clone(),
            data: self.data.clone(),
            history_id: history,
            segments: outcomes,
            gaps,
            range,
            archived_through: through,
            status_was_unreadable,
            cleaned: std::mem::take(&mut self.cleaned),
            repo_created: std::mem::take(&mut self.repo_created),
        })
    }

    fn remove_partial(&self, old: &ArchivedSegment) -> Result<()> {
        let store = self.repo.store();
        store.delete(&self.key(&ArchivedSegment::sidecar_name(&old.name, false)))?;
        store.delete(&self.key(&old.stored))?;
        Ok(())
    }

    /// Compressed copy first (whole and durable), then the sidecar: the segment is in the
    /// archive once the sidecar is.
    fn store(
        &mut self,
        name: &str,
        first: u64,
        bytes: &[u8],
        f: &Facts,
        sealed: bool,
        sum: &str,
    ) -> Result<ArchivedSegment> {
        let stored = if sealed {
            format!("{name}.zst")
        } else {
            format!("{name}{PARTIAL}-{}.zst", sum.get(..16).unwrap_or(sum))
        };
        // Laid out as backup files are (codec.rs), so that each pass over a growing segment
        // compresses only the blocks that changed since the last one; sealing it reuses them
        // all but the last.
        let frames = self.frames.entry(first).or_default();
        let stored_size = super::codec::encode_bytes(
            bytes,
            self.repo.store().as_ref(),
            &format!("{}/{stored}", self.prefix),
            self.opts.compress_level,
            frames,
        )?;
        if sealed {
            self.frames.remove(&first);
        }
        let last_seq = f.last_seq().unwrap_or(first.saturating_sub(1));
        let seg = ArchivedSegment {
            format: SIDECAR_FORMAT.into(),
            version: ArchivedSegment::VERSION,
            name: name.to_string(),
            history_id: hex(&self.history),
            stored,
            first_seq: first,
            last_seq,
            entries: f.data_entries(),
            first_entry_ns: f.first_ns(),
            last_entry_ns: f.last_ns(),
            first_entry_time: f.first_ns().map(rfc3339_ns),
            last_entry_time: f.last_ns().map(rfc3339_ns),
            size: bytes.len() as u64,
            blake3: sum.to_string(),
            stored_size,
            sealed,
            archived_at: super::repo::now_rfc3339(),
            checksum: String::new(),
            held_by: None,
        };
        self.repo.store().put(
            &self.key(&ArchivedSegment::sidecar_name(name, sealed)),
            &sealed::encode(&seg)?,
        )?;
        Ok(seg)
    }
}

fn outcome(s: &ArchivedSegment, action: Action) -> SegmentOutcome {
    SegmentOutcome {
        name: s.name.clone(),
        first_seq: s.first_seq,
        last_seq: s.last_seq,
        entries: s.entries,
        size: s.size,
        stored_size: s.stored_size,
        action,
    }
}

/// `wal archive --disable`: removes DIR/ARCHIVE_STATUS, so the engine deletes flushed
/// segments again. Returns whether there was one.
pub fn disable(data: &Path) -> Result<bool> {
    check_any_data_dir(data)?;
    let path = data.join(archive_status::FILE_NAME);
    match fs::remove_file(&path) {
        Ok(()) => {
            fsync_dir(data)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_growing_segment_is_read_up_to_its_preallocated_zeros() {
        let tmp = tempfile::tempdir().unwrap();
        // 1.8 MB of records in a 4 MiB segment: more than one read chunk, then zeros.
        let w = wal::test_segment(tmp.path(), 700, 2500, 4 << 20);
        let whole = fs::read(w.path()).unwrap();
        let read = read_growing(w.path()).unwrap();
        assert!(
            read.len() < 2 << 20 && read.len() as u64 >= w.len(),
            "{}",
            read.len()
        );
        assert_eq!(read[..], whole[..read.len()]);
        let f = facts(w.path(), &read).unwrap();
        assert!(f.damage.is_none());
        assert_eq!(f.entries.len(), 700);
        assert_eq!(f.valid_end, w.len());
        // Without zeros (cut to its records at seal): all of it.
        w.release_reserve();
        assert_eq!(read_growing(w.path()).unwrap(), fs::read(w.path()).unwrap());
    }

    fn seg(first: u64, last: u64, sealed: bool) -> ArchivedSegment {
        let name = wal::segment_name(first);
        ArchivedSegment {
            format: SIDECAR_FORMAT.into(),
            version: 1,
            stored: format!("{name}.zst"),
            name,
            history_id: "00".repeat(16),
            first_seq: first,
            last_seq: last,
            entries: last + 1 - first,
            first_entry_ns: Some(first as i64),
            last_entry_ns: Some(last as i64),
            first_entry_time: None,
            last_entry_time: None,
            size: 0,
            blake3: String::new(),
            stored_size: 0,
            sealed,
            archived_at: String::new(),
            checksum: String::new(),
            held_by: None,
        }
    }

    fn index(segs: &[ArchivedSegment]) -> Index {
        let mut i = Index::default();
        for s in segs {
            let map = if s.sealed {
                &mut i.sealed
            } else {
                &mut i.partial
            };
            map.insert(s.first_seq, s.clone());
        }
        i
    }

    #[test]
    fn chain_reach_and_gaps() {
        let i = index(&[
            seg(1, 10, true),
            seg(11, 20, true),
            // 21..=30 missing
            seg(31, 40, true),
            seg(41, 45, false),
            // A stale growing copy of a segment that is closed now: never used.
            seg(11, 15, false),
        ]);
        assert_eq!(
            i.gaps(),
            vec![Gap {
                from_seq: 21,
                to_seq: 30,
                before: wal::segment_name(31)
            }]
        );
        assert_eq!(i.segments().len(), 4);
        let c = i.chain(5, 20).unwrap();
        assert_eq!(c.iter().map(|s| s.first_seq).collect::<Vec<_>>(), [1, 11]);
        assert_eq!(i.chain(5, 25).unwrap_err(), 21);
        assert_eq!(i.chain(32, 46).unwrap_err(), 46);
        assert_eq!(i.chain(32, 45).unwrap().len(), 2);
        assert!(i.chain(8, 7).unwrap().is_empty());
        assert_eq!(i.reach(3).0, 20);
        assert_eq!(i.reach(21).0, 20);
        assert_eq!(i.reach(35).0, 45);
        // Overlapping copies (two nodes of a cluster): a short one inside a longer one is
        // no gap.
        let i = index(&[seg(1, 100, true), seg(50, 60, true), seg(101, 120, false)]);
        assert!(i.gaps().is_empty(), "{:?}", i.gaps());
        assert_eq!(i.reach(1).0, 120);
    }

    #[test]
    fn sidecar_names_are_checked() {
        let mut s = seg(7, 9, true);
        let dir = Path::new("/r/wal/x");
        let h = "00".repeat(16);
        assert!(
            s.check_names(&dir.join(ArchivedSegment::sidecar_name(&s.name, true)), &h)
                .is_ok()
        );
        s.stored = "../../etc/passwd".into();
        assert!(
            s.check_names(&dir.join(ArchivedSegment::sidecar_name(&s.name, true)), &h)
                .is_err()
        );
        let mut p = seg(7, 9, false);
        p.stored = format!("{}.partial-0123456789abcdef.zst", p.name);
        assert!(
            p.check_names(&dir.join(ArchivedSegment::sidecar_name(&p.name, false)), &h)
                .is_ok()
        );
        assert!(
            p.check_names(&dir.join(ArchivedSegment::sidecar_name(&p.name, true)), &h)
                .is_err()
        );
    }
}
