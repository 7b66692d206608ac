//! The Raft log over the engine's WAL segments (DIR/wal) and the node's durable Raft state
//! (DIR/raft/state).
//!
//! Segments are named by their first log index and hold consecutive indexes; a sealed one
//! ends with a seal entry, as in a standalone dir. An index in memory (offset, term, time per
//! entry) serves reads with one positioned read, and a bounded cache of the newest entries
//! serves replication and apply without any.
//!
//! - `append` writes a batch with one `write`; a [`Flusher`] thread fdatasyncs what was
//!   written in one go and only then calls back: a follower acknowledges, and a node counts
//!   an entry in a vote, only once it is on disk. A leader's own appends call back once
//!   written, so its fsync runs while they travel; see [`Flusher`] for what waits for it.
//! - `truncate` cuts a conflicting suffix. Only uncommitted entries can be there; cutting a
//!   committed one is refused as a bug.
//! - `purge` records the purged log id durably at once, and deletes whole segments only when
//!   every entry in them is purged, flushed to SSTs and (with WAL archiving on) archived:
//!   `keep_floor` says up to where. Reads never return a purged entry, deleted or not.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File};
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{CommittedLeaderId, EntryPayload, ErrorSubject, ErrorVerb, Vote};

mod flusher;
mod segments;

use super::entry::encode_entry;
use super::{Entry, LogId, NodeId, StorageError, TypeConfig, storage_error};
use crate::error::{Error, IoContext, Result};
use crate::format::entry::{EntryRef, EntryType};
use crate::format::raft_state::{self, LogPos, RaftState};
use crate::format::wal::SegmentWriter;
pub use flusher::{Durability, Durable};
use flusher::{Flusher, Waiting};
use segments::{Segment, Slot, index_segments, read_segment_range};

/// Entries kept decoded in memory, newest first out of it (replication of fresh entries and
/// their apply read from here).
const CACHE_BYTES: usize = 32 << 20;
/// The committed log id is written at most this often: a stale one on disk is safe (fewer
/// entries re-applied at start, the rest once the leader commits again), one ahead of the
/// log's truth could never be.
pub(super) const COMMITTED_WRITE_INTERVAL: Duration = Duration::from_millis(100);

/// Up to which index segments may be deleted, from the engine's checkpoint and WAL
/// archiving.
pub type KeepFloor = Arc<dyn Fn() -> u64 + Send + Sync>;

struct Log {
    /// Shared with the [`Flusher`]: truncate moves it back, a leader's append reads its
    /// generation, the committed id on disk stays within it.
    durable: Arc<tokio::sync::watch::Sender<Durable>>,
    wal_dir: PathBuf,
    raft_dir: PathBuf,
    state: RaftState,
    /// Committed log id as last told by openraft (on disk it may be older).
    committed: Option<LogId>,
    /// Purged log id as last told by openraft. On disk (`state.purged`) it never passes
    /// what the engine has flushed: openraft purges up to a received snapshot before the
    /// snapshot is installed, and after a crash in between the entries above the old
    /// checkpoint must still be there to re-apply.
    purge_wanted: Option<LogId>,
    committed_written: Option<Instant>,
    segments: Vec<Segment>,
    /// Appends go to the last segment while this is open.
    writer: Option<SegmentWriter>,
    cache: BTreeMap<u64, (Entry, usize)>,
    cache_bytes: usize,
    segment_bytes: u64,
    keep_floor: KeepFloor,
    scratch: Vec<u8>,
    /// See [`LogStore::restart_as_follower`].
    restart_as_follower: bool,
    /// The last storage calls, printed with a divergence report: the order of calls that
    /// led to a diverging log is what explains it.
    trace: Trace,
}

/// A ring of the most recent storage calls, one short line each.
#[derive(Debug, Default)]
struct Trace {
    lines: std::collections::VecDeque<String>,
}

impl Trace {
    const KEEP: usize = 48;

    fn note(&mut self, line: impl FnOnce() -> String) {
        if self.lines.len() == Self::KEEP {
            self.lines.pop_front();
        }
        self.lines.push_back(line());
    }

    fn dump(&self) -> String {
        self.lines.iter().cloned().collect::<Vec<_>>().join("; ")
    }
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("wal_dir", &self.wal_dir)
            .field("state", &self.state)
            .field("segments", &self.segments.len())
            .finish_non_exhaustive()
    }
}

/// openraft's log storage; clones share one log (the reader openraft asks for is a clone).
#[derive(Clone)]
pub struct LogStore {
    log: Arc<Mutex<Log>>,
    flusher: Arc<Flusher>,
    /// The newest entry's time, readable without waiting for an append's fsync.
    last_ts: Arc<AtomicI64>,
}

fn log_id(term: u64, index: u64) -> LogId {
    LogId {
        leader_id: CommittedLeaderId::new(term, NodeId::default()),
        index,
    }
}

fn to_pos(id: &LogId) -> LogPos {
    LogPos {
        term: id.leader_id.term,
        index: id.index,
    }
}

fn from_pos(p: LogPos) -> LogId {
    log_id(p.term, p.index)
}

fn read_err(e: Error) -> StorageError {
    storage_error(ErrorVerb::Read, ErrorSubject::Logs, e)
}

fn write_err(e: Error) -> StorageError {
    storage_error(ErrorVerb::Write, ErrorSubject::Logs, e)
}

impl LogStore {
    /// Opens the log of data dir `dir`: reads DIR/raft/state and indexes every segment. A torn
    /// tail of the newest segment (an append that never called back) is cut; any other damage
    /// refuses to open, naming the file and offset.
    pub fn open(dir: &Path, segment_bytes: u64, keep_floor: KeepFloor) -> Result<LogStore> {
        let wal_dir = dir.join("wal");
        let raft_dir = dir.join("raft");
        for d in [&wal_dir, &raft_dir] {
            if !d.is_dir() {
                fs::create_dir_all(d).at(d)?;
                crate::io::fsync_dir(dir)?;
            }
        }
        let state = RaftState::load(&raft_dir)?.unwrap_or_default();
        // Below the engine's checkpoint the entries are in SSTs, so a gap there is no loss.
        let covered = state.purged.map_or(0, |p| p.index).max(keep_floor());
        let (segments, sealed) = index_segments(&wal_dir, Some(covered))?;
        let writer = match segments.last() {
            Some(seg) if !sealed => {
                let w = SegmentWriter::reopen_at(&seg.path, seg.first, seg.end, segment_bytes)?;
                // A previous run may have stopped between a write and its fsync: what it
                // left is vouched for from here on.
                w.sync()?;
                Some(w)
            }
            _ => None,
        };
        let last_ts = segments
            .last()
            .and_then(|s| s.slots.last())
            .map_or(0, |s| s.ts);
        let on_disk = segments.last().and_then(Segment::last_index).unwrap_or(0);
        let flusher = Arc::new(Flusher::new(Durable {
            index: on_disk,
            written: on_disk,
            ..Durable::default()
        }));
        {
            let f = Arc::clone(&flusher);
            std::thread::Builder::new()
                .name("drkit-raft-fsync".into())
                .spawn(move || f.run())
                .at(dir)?;
        }
        let durable = Arc::clone(&flusher.durable);
        Ok(LogStore {
            flusher,
            last_ts: Arc::new(AtomicI64::new(last_ts)),
            log: Arc::new(Mutex::new(Log {
                durable,
                wal_dir,
                raft_dir,
                committed: state.committed.map(from_pos),
                committed_written: None,
                purge_wanted: state.purged.map(from_pos),
                state,
                segments,
                writer,
                cache: BTreeMap::new(),
                cache_bytes: 0,
                segment_bytes,
                keep_floor,
                scratch: Vec::new(),
                restart_as_follower: false,
                trace: Trace::default(),
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes the committed id if the last one openraft reported is not on disk yet.
    /// `save_committed` writes at most once per interval, so without this a burst's last
    /// commits would stay unrecorded while the cluster is quiet: the node keeps running, and
    /// an offline read or a backup of its dir would stop short of them. The node calls this
    /// once per interval and at shutdown.
    pub fn persist_committed(&self) -> Result<()> {
        let mut log = self.lock();
        let committed = log.within_durable(log.committed).as_ref().map(to_pos);
        if log.state.committed == committed {
            return Ok(());
        }
        log.state.committed = committed;
        log.committed_written = Some(Instant::now());
        log.store_state()
    }

    /// Makes the stored vote read back as not granted, so a leader that restarts comes back
    /// as a follower and has to win a new term. openraft would otherwise restore it as the
    /// leader of its old term, whose first entry (the ReadIndex floor) was committed long
    /// ago: with the committed index persisted lazily, its reads would wait only for what
    /// the disk says was committed and could miss writes acknowledged just before the crash.
    /// A new term's blank entry commits everything before it first. (Found by the fault
    /// harness: stale reads after restarting every node.)
    pub fn restart_as_follower(&self) {
        self.lock().restart_as_follower = true;
    }

    /// See [`Log::divergence`].
    #[cfg(test)]
    pub(super) fn divergence(&self, entries: &[Entry]) -> Option<String> {
        self.lock().divergence(entries)
    }

    /// Waits for this log's fsyncs (the state machine applies nothing before them).
    pub fn durability(&self) -> Durability {
        Durability {
            rx: self.flusher.durable.subscribe(),
        }
    }

    /// Holds this log's fsyncs back (true) or lets them run (false).
    #[cfg(test)]
    pub(super) fn hold_fsyncs(&self, held: bool) {
        self.flusher.held.store(held, Ordering::SeqCst);
    }

    /// `committed` as far as this node's log is on disk: a leader tells followers no more.
    pub fn commit_within_durable(&self, committed: Option<LogId>) -> Option<LogId> {
        self.lock().within_durable(committed)
    }

    /// The log's last id, as a vote compares logs.
    pub fn last_log_id(&self) -> Option<LogId> {
        self.lock().last_log_id()
    }

    /// fsyncs of the Raft log since this store opened.
    pub fn fsyncs(&self) -> u64 {
        self.flusher.fsyncs.load(Ordering::Relaxed)
    }

    /// The committed index openraft last reported (on disk it may be older).
    pub fn committed_index(&self) -> Option<u64> {
        self.lock().committed.map(|c| c.index)
    }

    /// When the entry at `index` was proposed (ns since the epoch), if this log holds it.
    pub fn timestamp_at(&self, index: u64) -> Option<i64> {
        let log = self.lock();
        let seg = log.segments.iter().find(|s| s.contains(index))?;
        seg.slots.get((index - seg.first) as usize).map(|s| s.ts)
    }

    /// This node's id and cluster id as recorded in DIR/raft/state (0 and zeros when new).
    pub fn identity(&self) -> (NodeId, [u8; 16]) {
        let log = self.lock();
        (log.state.node_id, log.state.cluster_id)
    }

    /// Records this node's id and cluster id, durably.
    pub fn set_identity(&self, node_id: NodeId, cluster_id: [u8; 16]) -> Result<()> {
        let mut log = self.lock();
        log.state.node_id = node_id;
        log.state.cluster_id = cluster_id;
        log.store_state()
    }

    /// The time of the newest entry (0 for an empty log): a leader stamps new entries no
    /// earlier than this.
    pub fn last_timestamp(&self) -> i64 {
        self.last_ts.load(Ordering::Relaxed)
    }

    /// Deletes the segments `purge` left behind because they were not yet flushed or
    /// archived (call after a flush).
    pub fn remove_purged_segments(&self) -> Result<()> {
        self.lock().remove_purged_segments()
    }

    /// Segments on disk: (first index, path).
    pub fn segment_paths(&self) -> Vec<(u64, PathBuf)> {
        self.lock()
            .segments
            .iter()
            .map(|s| (s.first, s.path.clone()))
            .collect()
    }
}

impl Log {
    fn store_state(&self) -> Result<()> {
        self.state.store(&self.raft_dir)
    }

    /// True while this node leads the term of its vote: appends then come from its own
    /// proposals (a follower's vote names its leader, and openraft saves a newer leader's
    /// vote before appending what that leader sends).
    fn leading(&self) -> bool {
        self.state.node_id != 0
            && self
                .state
                .vote
                .is_some_and(|v| v.committed && v.node_id == self.state.node_id)
    }

    /// `committed` as far as this node's log is on disk: what may be written as committed
    /// or told to followers (a leader's own fsync may trail the commit, see [`Flusher`]).
    fn within_durable(&self, committed: Option<LogId>) -> Option<LogId> {
        let c = committed?;
        let durable = self.durable.borrow().index;
        if c.index <= durable {
            return Some(c);
        }
        self.slot_id(durable)
            .or_else(|| self.purged().filter(|p| p.index <= durable))
    }

    fn last_slot(&self) -> Option<Slot> {
        self.segments.last().and_then(|s| s.slots.last().copied())
    }

    fn last_entry_id(&self) -> Option<LogId> {
        let seg = self.segments.last()?;
        let index = seg.last_index()?;
        let slot = seg.slots.last()?;
        Some(log_id(slot.term, index))
    }

    fn purged(&self) -> Option<LogId> {
        self.purge_wanted
    }

    fn slot_id(&self, index: u64) -> Option<LogId> {
        let seg = self.segments.iter().find(|s| s.contains(index))?;
        let slot = seg.slots.get((index - seg.first) as usize)?;
        Some(log_id(slot.term, index))
    }

    /// Writes the purged id to disk as far as the engine's checkpoint allows.
    fn persist_purged(&mut self) -> Result<()> {
        let Some(wanted) = self.purge_wanted else {
            return Ok(());
        };
        let floor = (self.keep_floor)();
        let durable = if wanted.index <= floor {
            Some(wanted)
        } else {
            self.slot_id(floor)
        };
        let on_disk = self.state.purged.map(|p| p.index);
        if let Some(d) = durable
            && on_disk.is_none_or(|i| d.index > i)
        {
            self.state.purged = Some(to_pos(&d));
            self.store_state()?;
        }
        Ok(())
    }

    /// The log's last id: its last entry, or the purged id when purge ran past it.
    fn last_log_id(&self) -> Option<LogId> {
        match (self.last_entry_id(), self.purged()) {
            (Some(a), Some(b)) => Some(if a.index >= b.index { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    fn cache_insert(&mut self, e: Entry, bytes: usize) {
        self.cache_bytes += bytes;
        self.cache.insert(e.log_id.index, (e, bytes));
        while self.cache_bytes > CACHE_BYTES {
            let Some((_, (_, b))) = self.cache.pop_first() else {
                break;
            };
            self.cache_bytes -= b;
        }
    }

    fn cache_remove_from(&mut self, index: u64) {
        for (_, (_, b)) in self.cache.split_off(&index) {
            self.cache_bytes -= b;
        }
    }

    fn cache_remove_through(&mut self, index: u64) {
        let keep = self.cache.split_off(&(index + 1));
        for (_, (_, b)) in std::mem::replace(&mut self.cache, keep) {
            self.cache_bytes -= b;
        }
    }

    /// Seals the open segment (a seal entry, fsync, zeros cut off).
    fn seal_active(&mut self) -> Result<()> {
        let Some(mut w) = self.writer.take() else {
            return Ok(());
        };
        let Some(seg) = self.segments.last() else {
            return Ok(());
        };
        let (Some(last), Some(slot)) = (seg.last_index(), seg.slots.last()) else {
            return Ok(());
        };
        let mut seal = Vec::new();
        EntryRef {
            seq: last,
            term: slot.term,
            timestamp_ns: slot.ts,
            kind: EntryType::Seal,
            key: &[],
            value: &(seg.slots.len() as u64).to_le_bytes(),
        }
        .encode_into(&mut seal);
        w.append([seal.as_slice()])?;
        w.sync()?;
        w.release_reserve();
        Ok(())
    }

    /// Writes `entries` (no fsync: see [`Flusher`]) and returns the file to fsync before
    /// they count as persisted.
    fn append(&mut self, mut entries: Vec<Entry>) -> Result<Option<File>> {
        // At or below the purged id is covered by the state machine already (openraft's
        // start-up purges the log up to what the state machine applied): nothing to keep.
        if let Some(p) = self.purged() {
            entries.retain(|e| e.log_id.index > p.index);
        }
        if self.purge_wanted.map(|p| p.index) != self.state.purged.map(|p| p.index) {
            self.persist_purged()?;
        }
        let Some(first) = entries.first() else {
            return Ok(None);
        };
        let first_index = first.log_id.index;
        if let Some(last) = self.last_log_id()
            && first_index != last.index + 1
        {
            return Err(Error::InvalidInput(format!(
                "Raft append at index {first_index} does not follow the log's last index {}",
                last.index
            )));
        }
        for pair in entries.windows(2) {
            if pair[1].log_id.index != pair[0].log_id.index + 1 {
                return Err(Error::InvalidInput(
                    "Raft append with a gap inside the batch".into(),
                ));
            }
        }
        self.trace.note(|| describe_append(&entries));
        // Refused, which stops Raft and the node: openraft takes an index at or below its
        // committed one as matching without looking, so a node whose committed entries
        // differ from the cluster's (another history under the same id) would otherwise
        // take the leader's entries on top of its own and serve a state no node has.
        if let Some(d) = self.divergence(&entries) {
            return Err(Error::InvalidInput(format!(
                "{d}; this node's committed log is not the cluster's (its dir holds another \
                 history of the cluster: restored from an old or foreign copy?), and serving \
                 it could show writes the cluster never made; wipe it and rejoin (`drkit \
                 cluster remove`, start it empty, `drkit replicate --join`), or restore it as \
                 a new node"
            )));
        }
        let follows_active = self.writer.is_some()
            && self
                .segments
                .last()
                .and_then(Segment::last_index)
                .is_some_and(|l| l + 1 == first_index);
        let full = self
            .writer
            .as_ref()
            .is_some_and(|w| w.len() >= self.segment_bytes);
        if !follows_active || full {
            self.seal_active()?;
            let w = SegmentWriter::create(&self.wal_dir, first_index, self.segment_bytes)?;
            self.segments.push(Segment {
                first: first_index,
                path: w.path().to_path_buf(),
                slots: Vec::new(),
                end: w.len(),
            });
            self.writer = Some(w);
        }
        let mut prev_ts = self.last_slot().map_or(0, |s| s.ts);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut bounds = Vec::with_capacity(entries.len());
        let mut slots = Vec::with_capacity(entries.len());
        for e in &entries {
            let start = scratch.len();
            prev_ts = encode_entry(e, prev_ts, &mut scratch);
            bounds.push(start..scratch.len());
            slots.push((e.log_id.leader_id.term, prev_ts));
        }
        let mut starts = Vec::with_capacity(entries.len());
        let result = match self.writer.as_mut() {
            Some(w) => w
                .append_noting_starts(bounds.iter().map(|r| &scratch[r.clone()]), &mut starts)
                .map(|()| w.len()),
            None => Err(Error::InvalidInput("no open Raft log segment".into())),
        };
        let end = match result {
            Ok(end) => end,
            Err(e) => {
                // fsyncgate: what reached the disk is unknown. Drop the writer; the next
                // open reindexes from what is really there.
                self.writer = None;
                self.scratch = scratch;
                return Err(e);
            }
        };
        if let Some(seg) = self.segments.last_mut() {
            for ((term, ts), offset) in slots.into_iter().zip(starts) {
                seg.slots.push(Slot { offset, term, ts });
            }
            seg.end = end;
        }
        for (e, r) in entries.into_iter().zip(bounds) {
            self.cache_insert(e, r.len());
        }
        self.scratch = scratch;
        self.writer
            .as_ref()
            .map(SegmentWriter::try_clone_file)
            .transpose()
    }

    /// Describes how `entries` would make this log diverge from every leader's, if they
    /// would: terms never go down along a log, and a term's first entry is the blank its
    /// leader writes on election (openraft always does), so an entry of a newer term right
    /// after an older term's entry that is not a blank means openraft believes an index
    /// matches that does not: openraft takes any index at or below its committed index as
    /// matching, so a node whose committed entries differ from the leader's (a dir of another
    /// history under the same cluster id) lands here. Refused with the calls that led there.
    fn divergence(&self, entries: &[Entry]) -> Option<String> {
        let mut prev = self.last_log_id();
        for e in entries {
            if let Some(p) = prev {
                let (term, prev_term) = (e.log_id.leader_id.term, p.leader_id.term);
                let diverges = term < prev_term
                    || (term > prev_term && !matches!(e.payload, EntryPayload::Blank));
                if diverges {
                    return Some(format!(
                        "Raft log divergence: entry {}-{} ({}) appended after {}-{}, which the \
                         leader's log does not hold there; last calls: {}",
                        term,
                        e.log_id.index,
                        payload_kind(e),
                        prev_term,
                        p.index,
                        self.trace.dump()
                    ));
                }
            }
            prev = Some(e.log_id);
        }
        None
    }

    fn truncate(&mut self, index: u64) -> Result<()> {
        self.trace.note(|| format!("truncate({index})"));
        if let Some(c) = self.committed
            && index <= c.index
        {
            return Err(Error::InvalidInput(format!(
                "the leader's log conflicts with this node's committed log at index {index} \
                 (entries up to {} are committed here): this dir holds another history of the \
                 cluster (restored from an old or foreign copy?), and serving it could show \
                 writes the cluster never made; wipe it and rejoin (`drkit cluster remove`, \
                 start it empty, `drkit replicate --join`), or restore it as a new node",
                c.index
            )));
        }
        self.cache_remove_from(index);
        self.durable.send_modify(|d| {
            d.generation += 1;
            d.index = d.index.min(index.saturating_sub(1));
            d.written = d.written.min(index.saturating_sub(1));
        });
        while let Some(seg) = self.segments.last() {
            if seg.first >= index {
                let path = seg.path.clone();
                self.segments.pop();
                self.writer = None;
                fs::remove_file(&path).at(&path)?;
                continue;
            }
            if seg.contains(index) {
                // The unlinks above are durable before the cut, so a crash never brings a
                // removed segment back beyond a gap.
                crate::io::fsync_dir(&self.wal_dir)?;
                let keep = (index - seg.first) as usize;
                let cut = seg.slots[keep].offset;
                let (first, path) = (seg.first, seg.path.clone());
                self.writer = None;
                let w = SegmentWriter::reopen_at(&path, first, cut, self.segment_bytes)?;
                if let Some(seg) = self.segments.last_mut() {
                    seg.slots.truncate(keep);
                    seg.end = cut;
                }
                self.writer = Some(w);
            }
            break;
        }
        crate::io::fsync_dir(&self.wal_dir)
    }

    fn purge(&mut self, id: LogId) -> Result<()> {
        self.trace
            .note(|| format!("purge({}-{})", id.leader_id.term, id.index));
        if self.purged().is_some_and(|p| p.index >= id.index) {
            return Ok(());
        }
        self.purge_wanted = Some(id);
        self.cache_remove_through(id.index);
        self.remove_purged_segments()
    }

    fn remove_purged_segments(&mut self) -> Result<()> {
        self.persist_purged()?;
        let Some(purged) = self.state.purged else {
            return Ok(());
        };
        let floor = (self.keep_floor)().min(purged.index);
        let mut removed = false;
        // Never the segment being written to.
        let closed = self.segments.len() - usize::from(self.writer.is_some());
        let mut drop_count = 0;
        for seg in &self.segments[..closed] {
            match seg.last_index() {
                Some(last) if last <= floor => {
                    fs::remove_file(&seg.path).at(&seg.path)?;
                    drop_count += 1;
                    removed = true;
                }
                _ => break,
            }
        }
        self.segments.drain(..drop_count);
        if removed {
            crate::io::fsync_dir(&self.wal_dir)?;
        }
        Ok(())
    }

    /// Entries with index in `[start, end)`, skipping purged ones.
    fn entries(&mut self, start: u64, end: u64) -> Result<Vec<Entry>> {
        let start = match self.purged() {
            Some(p) => start.max(p.index + 1),
            None => start,
        };
        let mut out = Vec::new();
        if start >= end {
            return Ok(out);
        }
        let mut next = start;
        while next < end {
            if let Some((e, _)) = self.cache.get(&next) {
                out.push(e.clone());
                next += 1;
                continue;
            }
            let Some(seg) = self.segments.iter().find(|s| s.contains(next)) else {
                if self.segments.iter().any(|s| s.first > next) {
                    // A purged gap (see index_segments): skip to the next segment.
                    next = self
                        .segments
                        .iter()
                        .map(|s| s.first)
                        .filter(|f| *f > next)
                        .min()
                        .unwrap_or(end);
                    continue;
                }
                break;
            };
            // Read from disk up to the cache's first entry or the segment's end.
            let seg_last = seg.first + seg.slots.len() as u64 - 1;
            let upto = self
                .cache
                .range(next..)
                .next()
                .map_or(u64::MAX, |(i, _)| *i - 1)
                .min(seg_last)
                .min(end - 1);
            out.extend(read_segment_range(seg, next, upto)?);
            next = upto + 1;
        }
        Ok(out)
    }
}

fn payload_kind(e: &Entry) -> &'static str {
    match e.payload {
        EntryPayload::Blank => "blank",
        EntryPayload::Normal(_) => "write",
        EntryPayload::Membership(_) => "membership",
    }
}

/// `append(75-9611 blank .. 75-9612 write)`
fn describe_append(entries: &[Entry]) -> String {
    let one = |e: &Entry| {
        format!(
            "{}-{} {}",
            e.log_id.leader_id.term,
            e.log_id.index,
            payload_kind(e)
        )
    };
    match entries {
        [] => "append()".into(),
        [e] => format!("append({})", one(e)),
        [first, .., last] => format!("append({} .. {})", one(first), one(last)),
    }
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(e) => e.saturating_add(1),
        Bound::Excluded(e) => *e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, StorageError> {
        let (start, end) = bounds(&range);
        let mut log = self.lock();
        let end = end.min(log.last_entry_id().map_or(0, |l| l.index + 1));
        log.entries(start, end).map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> std::result::Result<LogState<TypeConfig>, StorageError> {
        let log = self.lock();
        Ok(LogState {
            last_purged_log_id: log.purged(),
            last_log_id: log.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> std::result::Result<(), StorageError> {
        let mut log = self.lock();
        log.trace.note(|| format!("save_vote({vote})"));
        log.state.vote = Some(raft_state::Vote {
            term: vote.leader_id.term,
            node_id: vote.leader_id.voted_for().unwrap_or_default(),
            committed: vote.committed,
        });
        log.store_state()
            .map_err(|e| storage_error(ErrorVerb::Write, ErrorSubject::Vote, e))
    }

    async fn read_vote(&mut self) -> std::result::Result<Option<Vote<NodeId>>, StorageError> {
        let log = self.lock();
        let restart_as_follower = log.restart_as_follower;
        Ok(log.state.vote.map(|v| {
            let mut vote = Vote::new(v.term, v.node_id);
            if v.committed && !restart_as_follower {
                vote.commit();
            }
            vote
        }))
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId>,
    ) -> std::result::Result<(), StorageError> {
        let mut log = self.lock();
        log.trace.note(|| match committed {
            Some(c) => format!("commit({}-{})", c.leader_id.term, c.index),
            None => "commit(none)".into(),
        });
        log.committed = committed;
        let due = log
            .committed_written
            .is_none_or(|at| at.elapsed() >= COMMITTED_WRITE_INTERVAL);
        if due {
            log.state.committed = log.within_durable(committed).as_ref().map(to_pos);
            log.committed_written = Some(Instant::now());
            log.store_state().map_err(write_err)?;
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> std::result::Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> std::result::Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        if let Some(failed) = self
            .flusher
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .failed
            .clone()
        {
            callback.log_io_completed(Err(std::io::Error::other(failed.clone())));
            return Err(write_err(Error::Poisoned(failed)));
        }
        let (result, leading, last, generation) = {
            let mut log = self.lock();
            let r = log.append(entries);
            if let Some(slot) = log.last_slot() {
                self.last_ts.store(slot.ts, Ordering::Relaxed);
            }
            let last = log.last_entry_id().map_or(0, |id| id.index);
            let mut generation = 0;
            log.durable.send_modify(|d| {
                d.written = last;
                generation = d.generation;
            });
            (r, log.leading(), last, generation)
        };
        match result {
            Ok(file) => {
                let done = if leading {
                    callback.log_io_completed(Ok(()));
                    None
                } else {
                    Some(callback)
                };
                let mut q = self
                    .flusher
                    .pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                q.waiting.push(Waiting {
                    done,
                    file: file.map(Arc::new),
                    last,
                    generation,
                });
                drop(q);
                self.flusher.wake.notify_one();
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(write_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> std::result::Result<(), StorageError> {
        self.lock().truncate(log_id.index).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> std::result::Result<(), StorageError> {
        self.lock().purge(log_id).map_err(write_err)
    }
}
