//! A stopped or crashed cluster node's data dir, read without running the node.
//!
//! What the node had committed is its flushed tables plus the log entries above their
//! checkpoint, up to the committed index DIR/raft/state records. Entries past that index may
//! never have committed (a deposed leader's suffix, a follower's unconfirmed tail), so no
//! offline reader shows them. The committed index is saved lazily (within about 100 ms of a
//! commit): this view can miss the node's last few committed writes, never show a write that
//! did not commit.

use std::fs;
use std::path::Path;

use super::Entry;
use super::entry::{Decider, decode_entry};
use crate::engine::read_only::{LogTail, TableGet, is_cluster_dir};
use crate::engine::recovery::list_segments;
use crate::engine::{ReadOnly, RecoveryMode, applied_memtable};
use crate::error::{Error, IoContext, Result};
use crate::format::entry::{EntryRef, EntryType};
use crate::format::envelope::{self, Kind};
use crate::format::raft_state::{LogPos, RaftState};
use crate::format::wal::{self, Event};

/// What to do when a node's committed log cannot be read: the cluster still holds it.
const REBUILD_HINT: &str = "the node's committed log is damaged: `drkit inspect wal DIR` shows where; rebuild the node from the cluster (`drkit cluster remove`, wipe the dir, add it back as a new node)";

/// What to do when archived copies of one index differ: two clusters share a history.
const MIXED_HINT: &str = "the repository mixes two clusters' archives under one history; restore from a repository only one of them archived into";

/// The committed index DIR/raft/state records, if the node ever recorded one.
pub fn recorded_committed(dir: &Path) -> Result<Option<u64>> {
    Ok(recorded_committed_pos(dir)?.map(|p| p.index))
}

/// The committed log id (term, index) DIR/raft/state records.
pub fn recorded_committed_pos(dir: &Path) -> Result<Option<LogPos>> {
    Ok(RaftState::load(&dir.join("raft"))?.and_then(|s| s.committed))
}

/// The read-only view of any data dir: a cluster node's shows its committed state (the
/// tables plus the committed entries above their checkpoint), a standalone dir's what
/// recovery would rebuild.
pub fn read_only(dir: &Path, mode: RecoveryMode) -> Result<ReadOnly> {
    if is_cluster_dir(dir) {
        ReadOnly::open_with_tail(dir, mode, &committed_log_tail)
    } else {
        ReadOnly::open(dir, mode)
    }
}

/// The committed entries of a node's dir above `checkpoint`, up to the committed index it
/// recorded, as the engine's read-only view takes them.
fn committed_log_tail(dir: &Path, checkpoint: u64, tables: TableGet) -> Result<LogTail> {
    let tail = committed_tail(dir, checkpoint, recorded_committed(dir)?)?;
    Ok(LogTail {
        committed: tail.committed,
        entries: tail.entries.len() as u64,
        mem: applied_memtable(&tail.writes(tables)?),
    })
}

/// The committed entries above a checkpoint, in index order.
#[derive(Debug, Default)]
pub struct CommittedTail {
    /// The committed index the entries end at (None: the node never recorded one).
    pub committed: Option<u64>,
    pub entries: Vec<Entry>,
    /// The log time of the last entry read (the leader's stamp; a blank or membership
    /// entry carries its predecessor's).
    pub last_ns: Option<i64>,
}

impl CommittedTail {
    /// The writes the entries make to the key space, as the state machine applies them:
    /// each at its entry's index, a batch's writes all at the batch's, each PutIf decided
    /// against `tables` (the flushed tables the entries follow) under the entries before it.
    pub fn writes(
        &self,
        tables: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
    ) -> Result<Vec<EntryRef<'_>>> {
        let mut decider = Decider::new(tables, false);
        for e in &self.entries {
            decider.entry(e)?;
        }
        Ok(decider.into_writes())
    }
}

/// Reads the log entries of `dir/wal` with an index in `(after, committed]`. Damage or a gap
/// inside that range is an error naming the file and offset: those entries were committed
/// and may exist nowhere else once the cluster is gone.
pub fn committed_tail(dir: &Path, after: u64, committed: Option<u64>) -> Result<CommittedTail> {
    read_log(&dir.join("wal"), after, committed)
}

/// Reads the Raft log entries of the segments in `wal_dir` with an index in
/// `(after, committed]`, which must all be there. Segments may overlap (copies archived
/// from different nodes start at different indexes): each index is read once.
pub fn read_log(wal_dir: &Path, after: u64, committed: Option<u64>) -> Result<CommittedTail> {
    let Some(committed) = committed.filter(|c| *c > after) else {
        return Ok(CommittedTail {
            committed,
            entries: Vec::new(),
            last_ns: None,
        });
    };
    let wal_dir = wal_dir.to_path_buf();
    let segments = list_segments(&wal_dir)?;
    let mut entries = Vec::new();
    // (term, leader time) of each entry read, to compare the copies of overlapping segments.
    let mut stamps: Vec<(u64, i64)> = Vec::new();
    let mut last_ns = None;
    let mut next = after + 1;
    for (i, (first, path)) in segments.iter().enumerate() {
        if segments.get(i + 1).is_some_and(|(n, _)| *n <= next) {
            continue;
        }
        if *first > next {
            break;
        }
        let bytes = fs::read(path).at(path)?;
        envelope::decode(path, &bytes, Kind::Wal)?;
        let mut problem = None;
        wal::scan(&bytes, |ev| match ev {
            Event::Entry { offset, entry } => {
                if entry.kind == EntryType::Seal || entry.seq <= after {
                    return true;
                }
                if entry.seq < next {
                    let read = usize::try_from(entry.seq - after - 1)
                        .ok()
                        .and_then(|i| stamps.get(i));
                    if read.is_some_and(|s| *s != (entry.term, entry.timestamp_ns)) {
                        problem = Some(Error::corruption(
                            path,
                            offset,
                            format!(
                                "Raft log entry {} (term {}) differs from the copy of it in an earlier segment: these segments hold the logs of two clusters with the same id",
                                entry.seq, entry.term
                            ),
                        ).with_hint(MIXED_HINT));
                        return false;
                    }
                    return true;
                }
                if entry.seq != next {
                    problem = Some(
                        Error::corruption(
                            path,
                            offset,
                            format!(
                                "Raft log entry {} where committed index {next} belongs",
                                entry.seq
                            ),
                        )
                        .with_hint(REBUILD_HINT),
                    );
                    return false;
                }
                match decode_entry(&entry) {
                    Ok(e) => {
                        entries.push(e);
                        stamps.push((entry.term, entry.timestamp_ns));
                        last_ns = Some(entry.timestamp_ns);
                        next += 1;
                        next <= committed
                    }
                    Err(what) => {
                        problem =
                            Some(Error::corruption(path, offset, what).with_hint(REBUILD_HINT));
                        false
                    }
                }
            }
            Event::Damage { start, what, .. } => {
                problem = Some(
                    Error::corruption(
                        path,
                        start,
                        format!("{what}, before committed index {committed} was read"),
                    )
                    .with_hint(REBUILD_HINT),
                );
                false
            }
        });
        if let Some(p) = problem {
            return Err(p);
        }
        if next > committed {
            break;
        }
    }
    if next <= committed {
        return Err(Error::corruption(
            &wal_dir,
            0,
            format!(
                "the Raft log ends at index {}, but DIR/raft/state records index {committed} as committed",
                next - 1
            ),
        )
        .with_hint(REBUILD_HINT));
    }
    Ok(CommittedTail {
        committed: Some(committed),
        entries,
        last_ns,
    })
}
