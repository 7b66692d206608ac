//! The data dir's part of the verdict: the manifest, how the log ends, the tables' presence
//! and footers (every byte with `--deep`), and room on its disk for the next flush and
//! compaction. Reads only, without the dir's lock: the engine may be running.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Concern, Findings};
use crate::backup::archive;
use crate::engine::read_only::is_cluster_dir;
use crate::engine::recovery::list_segments;
use crate::error::{Error, Result};
use crate::format::envelope::{self, Kind};
use crate::format::manifest::{FileMeta, ManifestState};
use crate::format::raft_state::RaftState;
use crate::format::wal;

/// Every SST ends in this magic (format/sst/).
const SST_MAGIC: &[u8] = b"DRKT-SST";

#[derive(Debug, Clone, Serialize)]
pub struct DataSection {
    pub dir: PathBuf,
    /// A cluster node's dir: its WAL is the Raft log, archived under the cluster's id.
    pub cluster: bool,
    /// The history its WAL is archived under (hex): the dir's own, or the cluster's id.
    pub history_id: Option<String>,
    pub checkpoint_seq: Option<u64>,
    /// The newest entry in the log (for a cluster node, at most its committed index).
    pub last_seq: Option<u64>,
    pub last_entry_ns: Option<i64>,
    pub last_entry_time: Option<String>,
    /// How the log ends: `clean`, `sealed`, `torn tail at OFFSET of FILE` or `damaged ...`.
    pub log_end: String,
    pub wal_segments: usize,
    pub wal_bytes: u64,
    pub sst_files: usize,
    pub sst_bytes: u64,
    /// Free space for this user on the dir's filesystem.
    pub free_bytes: Option<u64>,
    /// What the next flush (the WAL's entries into a table) and the next compaction (L0 and
    /// L1 rewritten) would write, at most.
    pub next_flush_and_compaction_bytes: u64,
    /// Every byte read and checked (`--deep`): files and bytes read.
    pub deep_bytes_read: Option<u64>,
}

pub(super) fn check(dir: &Path, deep: bool, findings: &mut Findings) -> Result<DataSection> {
    if !dir.exists() {
        return Err(Error::NotFound {
            path: dir.to_path_buf(),
            hint: "check the --data path".into(),
        });
    }
    if !dir.join("CURRENT").is_file() {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "no CURRENT file".into(),
        });
    }
    let cluster = is_cluster_dir(dir);
    let state = load_state(dir, findings)?;
    let raft = if cluster {
        raft_state(dir, findings)
    } else {
        None
    };
    let history_id = match (&raft, &state) {
        (Some(r), _) if r.cluster_id != [0; 16] => Some(r.cluster_id),
        (None, Some(s)) if !cluster => Some(s.history_id),
        _ => None,
    };
    let log = check_log(dir, findings)?;
    let committed = raft.as_ref().and_then(|r| r.committed).map(|p| p.index);
    let (last_seq, last_ns) = match (log.last, committed) {
        // A node's entries past its committed index may still be replaced.
        (Some((seq, ns)), Some(c)) if seq > c => (Some(c), log.time_of(c).or(Some(ns))),
        (Some((seq, ns)), _) => (Some(seq), Some(ns)),
        (None, _) => (None, None),
    };
    let (sst_files, sst_bytes, compaction_bytes) = match &state {
        Some(s) => check_tables(dir, s, findings),
        None => (0, 0, 0),
    };
    let deep_bytes_read = if deep {
        Some(check_every_byte(dir, findings)?)
    } else {
        None
    };
    let free_bytes = free_bytes(dir);
    let next = log.bytes + compaction_bytes;
    if let Some(free) = free_bytes
        && free < next
    {
        findings.push(
            Concern::Late,
            dir.display().to_string(),
            format!(
                "{} free on its filesystem, but the next flush and compaction may write {}: \
                 a full disk stops the engine's writes",
                crate::output::human_bytes(free),
                crate::output::human_bytes(next)
            ),
            "free space on the volume (old backups, logs) or grow it",
        );
    }
    Ok(DataSection {
        dir: dir.to_path_buf(),
        cluster,
        history_id: history_id.map(|h| crate::backup::repo::hex(&h)),
        checkpoint_seq: state.as_ref().map(|s| s.flushed_seq),
        last_seq,
        last_entry_ns: last_ns,
        last_entry_time: last_ns.map(archive::rfc3339_ns),
        log_end: log.end,
        wal_segments: log.segments,
        wal_bytes: log.bytes,
        sst_files,
        sst_bytes,
        free_bytes,
        next_flush_and_compaction_bytes: next,
        deep_bytes_read,
    })
}

/// The manifest, retried a few times: a running engine replaces CURRENT and its manifest
/// now and then, and a read between the two finds the old one gone. None (with a finding)
/// when it stays unreadable.
fn load_state(dir: &Path, findings: &mut Findings) -> Result<Option<ManifestState>> {
    let mut tries = 0;
    loop {
        match crate::engine::load_state(dir) {
            Ok((state, _)) => return Ok(Some(state)),
            Err(e @ (Error::NewerVersion { .. } | Error::UnknownFeatures { .. })) => return Err(e),
            Err(_) if tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => {
                findings.push(
                    Concern::Damage,
                    dir.join("CURRENT").display().to_string(),
                    format!("the manifest cannot be read: {e}"),
                    format!("drkit repair {}", dir.display()),
                );
                return Ok(None);
            }
        }
    }
}

fn raft_state(dir: &Path, findings: &mut Findings) -> Option<RaftState> {
    match RaftState::load(&dir.join("raft")) {
        Ok(state) => state,
        Err(e) => {
            findings.push(
                Concern::Damage,
                dir.join("raft").display().to_string(),
                format!("the node's Raft state cannot be read: {e}"),
                "restore the node from a backup, or remove it and add it back as a learner",
            );
            None
        }
    }
}

/// What the log's headers and its end say.
struct LogEnd {
    segments: usize,
    bytes: u64,
    /// The newest entry: sequence and commit time.
    last: Option<(u64, i64)>,
    /// (sequence, time) of the entries of the segment the last one is in.
    entries: Vec<(u64, i64)>,
    end: String,
}

impl LogEnd {
    fn time_of(&self, seq: u64) -> Option<i64> {
        self.entries.iter().find(|e| e.0 == seq).map(|e| e.1)
    }
}

/// Every segment's header, and the last segments' entries: the newest entry and how the
/// log ends (a torn tail is a crash's unsynced end; damage before intact data is not).
fn check_log(dir: &Path, findings: &mut Findings) -> Result<LogEnd> {
    let segments = list_segments(&dir.join("wal"))?;
    let mut log = LogEnd {
        segments: segments.len(),
        bytes: 0,
        last: None,
        entries: Vec::new(),
        end: "empty (no WAL segment)".into(),
    };
    for (i, (_, path)) in segments.iter().enumerate() {
        // A segment retired by a running engine since the listing is not a problem.
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        log.bytes += meta.len();
        check_header(path, i + 1 == segments.len(), findings);
    }
    // The newest entry may sit in an earlier segment when the last one is new and empty.
    for (i, (_, path)) in segments.iter().enumerate().rev() {
        let Ok(bytes) = fs::read(path) else { continue };
        let is_last = i + 1 == segments.len();
        let Ok(facts) = archive::facts(path, &bytes) else {
            if is_last {
                log.end = if is_being_created(&bytes) {
                    format!(
                        "{} has no header yet (being created, or a crash's torn tail: no entry \
                         in it; recovery cuts it)",
                        path.display()
                    )
                } else {
                    format!("unreadable header of {}", path.display())
                };
            }
            continue;
        };
        if is_last {
            log.end = describe_end(path, &bytes, &facts, findings);
        }
        if let Some(&(seq, ns, _, _)) = facts
            .entries
            .iter()
            .rev()
            .find(|e| e.2 != crate::format::entry::EntryType::Seal)
        {
            log.last = Some((seq, ns));
            log.entries = facts.entries.iter().map(|e| (e.0, e.1)).collect();
            break;
        }
    }
    Ok(log)
}

/// A segment's file made but its header not (yet) written: short, or zeros throughout, as
/// `SegmentWriter::create` leaves it an instant after creating it or when a crash hit then.
/// Recovery reads that as a torn tail when it is the last segment.
fn is_being_created(bytes: &[u8]) -> bool {
    wal::data_end(bytes) <= envelope::LEN as u64
}

fn check_header(path: &Path, is_last: bool, findings: &mut Findings) {
    let mut head = [0u8; envelope::LEN];
    let read = fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    let problem = match read {
        Ok(()) => envelope::decode(path, &head, Kind::Wal)
            .err()
            .map(|e| e.to_string()),
        // Retired by a running engine since the listing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Some(format!("shorter than its {}-byte header", envelope::LEN))
        }
        Err(e) => Some(e.to_string()),
    };
    if let Some(e) = problem {
        // Made an instant ago (or a crash then): the log's end says so.
        if is_last && fs::read(path).is_ok_and(|b| is_being_created(&b)) {
            return;
        }
        findings.push(
            Concern::Damage,
            format!("{} at offset 0", path.display()),
            format!("WAL segment header: {e}"),
            "stop the engine, then `drkit verify DIR` and `drkit recover DIR` (or restore from backup)",
        );
    }
}

fn describe_end(
    path: &Path,
    bytes: &[u8],
    facts: &archive::Facts,
    findings: &mut Findings,
) -> String {
    let Some((start, what)) = &facts.damage else {
        let sealed = facts
            .entries
            .last()
            .is_some_and(|e| e.2 == crate::format::entry::EntryType::Seal);
        return if sealed {
            "sealed".into()
        } else {
            "clean".into()
        };
    };
    if wal::intact_fragment_after(bytes, *start).is_none() {
        return format!(
            "torn tail at offset {start} of {} (a crash's unsynced end: recovery cuts it)",
            path.display()
        );
    }
    findings.push(
        Concern::Damage,
        format!("{} at offset {start}", path.display()),
        format!("WAL damaged inside written data: {what}"),
        "stop the engine, then `drkit recover DIR --mode point-in-time` to keep what precedes it, or restore from backup",
    );
    format!("damaged at offset {start} of {}", path.display())
}

/// Every table the manifest lists is there and ends in its footer's magic. Returns the
/// tables' count and bytes, and the bytes of L0 and L1 (what the next compaction rewrites).
fn check_tables(dir: &Path, state: &ManifestState, findings: &mut Findings) -> (usize, u64, u64) {
    let (mut count, mut bytes, mut low) = (0, 0, 0);
    for f in state.files.values() {
        count += 1;
        bytes += f.size;
        if f.level <= 1 {
            low += f.size;
        }
        let path = dir.join("sst").join(f.file_name());
        if let Some(what) = footer_problem(&path, f) {
            // A running engine's compaction may have retired it since the manifest was read.
            if let Ok((now, _)) = crate::engine::load_state(dir)
                && !now.files.contains_key(&f.file_no)
            {
                continue;
            }
            findings.push(
                Concern::Damage,
                path.display().to_string(),
                what,
                format!(
                    "restore from backup, or `drkit repair {}` to rebuild the tree without it",
                    dir.display()
                ),
            );
        }
    }
    (count, bytes, low)
}

fn footer_problem(path: &Path, f: &FileMeta) -> Option<String> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some("listed in the manifest but missing".into());
        }
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len != f.size {
        return Some(format!(
            "{len} bytes, but the manifest records {} (cut short or overwritten)",
            f.size
        ));
    }
    let mut tail = [0u8; 8];
    let read = file
        .seek(SeekFrom::End(-(SST_MAGIC.len() as i64)))
        .and_then(|_| file.read_exact(&mut tail));
    match read {
        Ok(()) if tail == SST_MAGIC => None,
        Ok(()) => Some(format!(
            "no SST footer magic at offset {} (the end of the file is damaged)",
            len.saturating_sub(8)
        )),
        Err(e) => Some(format!("cannot read its footer: {e}")),
    }
}

/// `--deep`: every checksum and cross-check `verify` makes, without its lock. A running
/// engine retires segments and tables during the walk, which reads as missing files or
/// entries: damage counts only when a second walk finds it again at the same place.
fn check_every_byte(dir: &Path, findings: &mut Findings) -> Result<u64> {
    let first = walk_errors(dir)?;
    let (bytes_read, mut errors) = first;
    if !errors.is_empty() {
        let (_, again) = walk_errors(dir)?;
        let key = |f: &crate::ops::verify::Finding| (f.file.clone(), f.offset, f.what.clone());
        let seen: std::collections::HashSet<_> = again.iter().map(key).collect();
        errors.retain(|f| seen.contains(&key(f)));
    }
    for f in errors {
        findings.push(
            Concern::Damage,
            format!("{} at offset {}", f.file.display(), f.offset),
            f.what,
            f.fix,
        );
    }
    Ok(bytes_read)
}

/// One `verify` walk: bytes read, and its errors on files still part of the dir.
fn walk_errors(dir: &Path) -> Result<(u64, Vec<crate::ops::verify::Finding>)> {
    let report = crate::ops::verify::verify_unlocked(dir)?;
    let now = crate::engine::load_state(dir).ok().map(|(s, _)| s);
    let errors = report
        .findings
        .into_iter()
        .filter(|f| f.severity == crate::ops::verify::Severity::Error)
        .filter(|f| !retired(&f.file, now.as_ref()))
        .collect();
    Ok((report.counts.bytes_read, errors))
}

/// Whether a running engine retired `file` while it was being read: gone now, and neither
/// a table the manifest still lists nor a WAL segment past the checkpoint. Its entries are
/// in the tables that replaced it, so what was read of it is no finding.
fn retired(file: &Path, now: Option<&ManifestState>) -> bool {
    let (Some(state), false) = (now, file.exists()) else {
        return false;
    };
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if let Some((_, no)) = crate::format::manifest::parse_sst_name(name) {
        return !state.files.contains_key(&no);
    }
    wal::parse_segment_name(name).is_some_and(|first| first <= state.flushed_seq)
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}
