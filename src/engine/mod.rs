//! The LSM engine: WAL with group commit, memtable, flush to L0, leveled compaction over 7
//! levels, and crash recovery on open.
//!
//! Concurrency in one paragraph: writers queue entries under the `commit` mutex, where each
//! takes the next sequence number. The first writer that finds no leader becomes the leader:
//! it takes the whole queue, writes it to the WAL with one `write` and (sync=always) one
//! fsync, inserts it into the memtable in sequence order, and wakes the others. Because only
//! the leader inserts, and only between batches, a memtable that is frozen for flushing holds
//! exactly the sequences up to its last one, which makes "flushed sequence" a sound
//! checkpoint. A background thread flushes frozen memtables and compacts.

mod cluster;
mod compaction;
mod held_runs;
mod memtable;
mod merge;
mod open;
use open::{Opened, open_inner};
mod options;
pub mod read_only;
pub mod recovery;
pub mod snapshot;
mod version;

use std::fs::{self, File};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

pub use cluster::{LinkedCheckpoint, applied_memtable, write_applied_table};
pub use compaction::{CompactScope, CompactionSummary};
pub use memtable::{Memtable, Versioned};
pub use merge::{Item, MergeIter, Source};
pub use options::{DEFAULT_BLOCK_CACHE_BYTES, LEVELS, Options, RecoveryMode, SyncPolicy};
pub use read_only::ReadOnly;
pub use recovery::{Finding, FindingKind, Outcome, RecoveryReport};
pub use version::{Table, Version, VersionSet, load_state};

use crate::error::{Error, IoContext, Result};
use crate::format::archive_status;
use crate::format::block_cache::BlockCacheStats;
use crate::format::entry::{EntryRef, EntryType};
use crate::format::manifest::{FileMeta, VersionEdit};
use crate::format::record::{self, Account, Order, Trade};
use crate::format::sst::{SstWriter, ValueKind};
use crate::format::wal::SegmentWriter;
use crate::io::DirLock;

const CLUSTER_WRITE: &str =
    "this engine is a cluster node's state machine: writes go through the Raft log";

/// Progress of a long recovery: (bytes done, bytes total).
pub type ProgressFn = Arc<dyn Fn(u64, u64) + Send + Sync>;

#[derive(Debug, Default)]
struct CommitState {
    next_seq: u64,
    last_ts: i64,
    pending: Vec<Pending>,
    leader: bool,
    /// Calls whose entries wait in `pending`.
    pending_writers: usize,
    /// Calls served by the last group commit: more than one means writers are concurrent.
    /// (A single caller with a large batch, such as the server's committer, has no one to
    /// wait for.)
    last_batch_writers: usize,
    /// Every sequence up to here is written (and synced, per policy) and in the memtable.
    done_seq: u64,
    failed: Option<String>,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    ts: i64,
    kind: EntryType,
    key: Vec<u8>,
    value: Vec<u8>,
}

#[derive(Debug)]
struct WalState {
    writer: SegmentWriter,
    /// Segments no longer written to, oldest first: (first sequence, path).
    closed: Vec<(u64, PathBuf)>,
    entries_in_segment: u64,
    /// A second handle on the active segment, so the interval syncer can fsync without
    /// holding the WAL lock across the fsync.
    sync_handle: Arc<File>,
    scratch: Vec<u8>,
}

#[derive(Debug)]
struct MemState {
    active: Arc<Memtable>,
    /// Frozen memtables waiting for flush, oldest first.
    immutable: Vec<Arc<Memtable>>,
    version: Arc<Version>,
}

thread_local! {
    static IS_BACKGROUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[derive(Debug, Default)]
struct BgState {
    shutdown: bool,
    failed: Option<String>,
    /// The checkpoint last written to the WAL as a Checkpoint entry.
    logged_checkpoint: u64,
    /// When the last periodic snapshot was taken, and at which sequence.
    last_snapshot: Option<(std::time::Instant, u64)>,
    /// Per level: the largest key of the last file compacted out of it (round robin).
    compact_pointer: [Vec<u8>; LEVELS],
}

/// Counters for `bench`, `status` and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub wal_bytes: AtomicU64,
    pub fsyncs: AtomicU64,
    pub batches: AtomicU64,
    pub batched_entries: AtomicU64,
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub compaction_bytes_in: AtomicU64,
    pub compaction_bytes_out: AtomicU64,
    /// Unix time in ms of the last memtable flush / compaction (0: none since open).
    pub last_flush_unix_ms: AtomicU64,
    pub last_compaction_unix_ms: AtomicU64,
    /// Group commits by entries in the batch: bucket i counts batches of at most
    /// `BATCH_SIZE_BUCKETS[i]` entries (and more than the previous bound); the last one the rest.
    pub batch_size_buckets: [AtomicU64; BATCH_SIZE_BUCKETS.len() + 1],
}

/// Upper bounds of the group-commit batch size histogram in [`Stats`].
pub const BATCH_SIZE_BUCKETS: [u64; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/// Unix time in milliseconds, for "last flush" style counters.
pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One write of [`Engine::write_batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOp {
    Put { key: Vec<u8>, value: Vec<u8> },
    Delete { key: Vec<u8> },
    Order(Order),
    Trade(Trade),
    Account(Account),
}

impl BatchOp {
    pub fn into_entry(self) -> (EntryType, Vec<u8>, Vec<u8>) {
        match self {
            BatchOp::Put { key, value } => (EntryType::Put, record::plain_key(&key), value),
            BatchOp::Delete { key } => (EntryType::Delete, record::plain_key(&key), Vec::new()),
            BatchOp::Order(o) => (EntryType::OrderInsert, o.key(), o.encode()),
            BatchOp::Trade(t) => (EntryType::TradeExecuted, t.key(), t.encode()),
            BatchOp::Account(a) => (EntryType::AccountUpdate, a.key(), a.encode()),
        }
    }
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    opts: Options,
    commit: Mutex<CommitState>,
    commit_cv: Condvar,
    /// None in cluster mode, where the log store owns the WAL.
    wal: Mutex<Option<WalState>>,
    mem: RwLock<MemState>,
    versions: Mutex<VersionSet>,
    bg: Mutex<BgState>,
    bg_cv: Condvar,
    /// One compaction at a time: a job is picked and run under it.
    compacting: Mutex<()>,
    /// One memtable flush at a time.
    flushing: Mutex<()>,
    stats: Stats,
    _lock: DirLock,
}

/// An open data dir. Dropping it stops background work, syncs the WAL and releases the lock.
#[derive(Debug)]
pub struct Engine {
    inner: Arc<Inner>,
    threads: Vec<JoinHandle<()>>,
    recovery: RecoveryReport,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding an engine lock is a bug; the state it guards is still
    // consistent at every await point, so keep going rather than cascade panics.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The highest sequence whose closed segments may be deleted as far as WAL archiving is
/// concerned: unlimited when archiving is off for `dir`, 0 (keep everything) when its status
/// file is damaged or follows another history, since deleting a segment the archive lacks
/// would open a gap that no later run can close.
pub fn archived_through(dir: &Path, history: [u8; 16]) -> u64 {
    match archive_status::read(dir) {
        archive_status::Hold::Off => u64::MAX,
        archive_status::Hold::Through(s) if s.history_id == history => s.archived_through,
        archive_status::Hold::Through(_) | archive_status::Hold::Unreadable(_) => 0,
    }
}

/// Live entries of a merged iteration: tombstones dropped.
fn live(it: MergeIter) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> {
    it.filter_map(|r| match r {
        Ok(Item { value: None, .. }) => None,
        Ok(Item {
            key,
            value: Some(v),
            ..
        }) => Some(Ok((key, v))),
        Err(e) => Some(Err(e)),
    })
}

pub fn prefix_upper_bound(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xff {
            p.push(last + 1);
            return Bound::Excluded(p);
        }
    }
    Bound::Unbounded
}

fn apply_to_memtable(mem: &Memtable, e: &EntryRef<'_>) {
    match e.kind {
        EntryType::Delete => mem.insert(e.key.to_vec(), e.seq, None),
        k if k.is_data() => mem.insert(e.key.to_vec(), e.seq, Some(e.value.to_vec())),
        _ => mem.note_seq(e.seq),
    }
}

/// Writes `items` (sorted, unique keys) as one SST and fsyncs the dir; None when there is
/// nothing to write.
fn write_table(
    dir: &Path,
    level: u8,
    file_no: u64,
    opts: &Options,
    items: impl Iterator<Item = Item>,
) -> Result<Option<FileMeta>> {
    let meta = write_rows(dir, level, file_no, opts, |add| {
        items
            .into_iter()
            .try_for_each(|it| add(&it.key, it.seq, it.value.as_deref()))
    })?;
    crate::io::fsync_dir(&version::sst_dir(dir))?;
    Ok(meta)
}

/// Writes one SST from the rows `fill` hands to `add` (key, sequence, value or None for a
/// tombstone; sorted, unique keys). The table is fsynced, its dir is not: a caller writing
/// several tables fsyncs the dir once. None when there was nothing to write.
fn write_rows(
    dir: &Path,
    level: u8,
    file_no: u64,
    opts: &Options,
    fill: impl FnOnce(&mut memtable::RowFn<'_, Error>) -> Result<()>,
) -> Result<Option<FileMeta>> {
    let meta = FileMeta {
        level,
        file_no,
        size: 0,
        smallest: Vec::new(),
        largest: Vec::new(),
        min_seq: 0,
        max_seq: 0,
        entries: 0,
    };
    let path = version::sst_path(dir, &meta);
    let mut w = SstWriter::create(&path, level, opts.sst)?;
    let filled = fill(&mut |key, seq, value| {
        let (kind, value) = match value {
            Some(v) => (ValueKind::Value, v),
            None => (ValueKind::Tombstone, &[][..]),
        };
        w.add(key, seq, kind, value)
    });
    if let Err(e) = filled {
        w.abandon();
        return Err(e);
    }
    if w.entries() == 0 {
        w.abandon();
        return Ok(None);
    }
    let props = w.finish()?;
    Ok(Some(FileMeta::from_properties(level, file_no, props)))
}

/// Writes each memtable to its own L0 table (`numbers` in the same order), in parallel across
/// cores, then fsyncs the tables' dir once for them all. An empty memtable writes nothing.
fn write_l0_tables(
    dir: &Path,
    opts: &Options,
    mems: &[Arc<Memtable>],
    numbers: Vec<u64>,
) -> Result<Vec<FileMeta>> {
    let written: Vec<Option<FileMeta>> = mems
        .par_iter()
        .zip(numbers)
        .map(|(mem, no)| write_rows(dir, 0, no, opts, |add| mem.try_for_each(add)))
        .collect::<Result<_>>()?;
    crate::io::fsync_dir(&version::sst_dir(dir))?;
    Ok(written.into_iter().flatten().collect())
}

impl Engine {
    /// Opens (recovering as `opts.recovery_mode` says) or creates a data dir.
    pub fn open(dir: &Path, opts: Options) -> Result<Engine> {
        Engine::open_with_progress(dir, opts, None)
    }

    pub fn open_with_progress(
        dir: &Path,
        opts: Options,
        progress: Option<ProgressFn>,
    ) -> Result<Engine> {
        match open_inner(
            dir,
            Options {
                dry_run: false,
                ..opts
            },
            progress,
        )? {
            Opened::Engine(e) => Ok(e),
            Opened::Report(r) => Err(refusal(&r)),
        }
    }

    /// `drkit recover`: runs recovery, flushes what it replayed into SSTs and returns its
    /// report with both times (`ready`, `flushed`), also when the mode refuses (outcome
    /// `Refused`, nothing changed) or with `opts.dry_run` (nothing changed either).
    pub fn recover(
        dir: &Path,
        opts: Options,
        progress: Option<ProgressFn>,
    ) -> Result<RecoveryReport> {
        // No background thread: the flush below is the only one, timed as one step.
        let opts = Options {
            background_work: false,
            ..opts
        };
        match open_inner(dir, opts, progress)? {
            Opened::Engine(e) => {
                // An end-of-recovery checkpoint, as RocksDB's recovery flush and PostgreSQL's
                // end-of-recovery checkpoint: what was replayed goes into fsynced SSTs, so the
                // dir no longer depends on the log and the next open replays nothing.
                let flushing = Instant::now();
                e.flush()
                    .map_err(|cause| crate::Error::RecoveryFlush(Box::new(cause)))?;
                let mut report = e.recovery.clone();
                report.flushed = Some(report.ready + flushing.elapsed());
                Ok(report)
            }
            Opened::Report(r) => Ok(r),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// Sequence of the last acknowledged write.
    pub fn last_seq(&self) -> u64 {
        lock(&self.inner.commit).done_seq
    }

    pub fn checkpoint_seq(&self) -> u64 {
        lock(&self.inner.versions).state().flushed_seq
    }

    pub fn history_id(&self) -> [u8; 16] {
        lock(&self.inner.versions).state().history_id
    }

    /// Writes a plain key/value (stored under `K` + key).
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<u64> {
        self.inner
            .write(EntryType::Put, record::plain_key(key), value.to_vec())
    }

    /// Writes several entries in one group commit (one WAL write, one fsync under
    /// sync=always) and returns once all of them are acknowledged, with the last sequence.
    /// Concurrent readers may see a prefix of the batch, and after a crash only a prefix of
    /// an unacknowledged batch may survive: it is a throughput tool, not a transaction.
    pub fn write_batch(&self, ops: Vec<BatchOp>) -> Result<u64> {
        self.inner
            .write_entries(ops.into_iter().map(BatchOp::into_entry).collect(), true)
    }

    /// Cluster mode: applies committed Raft entries (already durable in the Raft log) to the
    /// memtable, in log order, and records `cluster_state` (the state machine's applied state
    /// after them) for the manifest of the flush that makes them durable in SSTs. An entry at
    /// or below the checkpoint is skipped: it is in the SSTs already (a re-apply after a
    /// restart, which openraft does from the last applied state it was told).
    pub fn apply_committed(&self, entries: &[EntryRef<'_>], cluster_state: Vec<u8>) -> Result<()> {
        if !self.inner.opts.cluster {
            return Err(Error::InvalidInput(
                "apply_committed is for cluster mode only".into(),
            ));
        }
        self.inner.apply_committed(entries, cluster_state)
    }

    /// Cluster mode: the applied state recorded with the last flush (see
    /// [`Engine::apply_committed`]).
    pub fn flushed_cluster_state(&self) -> Option<Vec<u8>> {
        lock(&self.inner.versions).state().cluster_state.clone()
    }

    /// Bytes held by the active and frozen memtables.
    pub fn memtable_bytes(&self) -> u64 {
        let (mems, _) = self.inner.read_view();
        mems.iter().map(|m| m.approx_bytes() as u64).sum()
    }

    /// Deletes a plain key.
    pub fn delete(&self, key: &[u8]) -> Result<u64> {
        self.inner
            .write(EntryType::Delete, record::plain_key(key), Vec::new())
    }

    /// Deletes any key of the key space (prefix included).
    pub fn delete_raw(&self, key: &[u8]) -> Result<u64> {
        self.inner
            .write(EntryType::Delete, key.to_vec(), Vec::new())
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_raw(&record::plain_key(key))
    }

    pub fn put_order(&self, o: &Order) -> Result<u64> {
        self.inner
            .write(EntryType::OrderInsert, o.key(), o.encode())
    }

    pub fn put_trade(&self, t: &Trade) -> Result<u64> {
        self.inner
            .write(EntryType::TradeExecuted, t.key(), t.encode())
    }

    pub fn put_account(&self, a: &Account) -> Result<u64> {
        self.inner
            .write(EntryType::AccountUpdate, a.key(), a.encode())
    }

    pub fn get_order(&self, order_id: &str) -> Result<Option<Order>> {
        let key = [&[record::ORDER_PREFIX][..], order_id.as_bytes()].concat();
        self.get_typed(&key, Order::decode)
    }

    pub fn get_trade(&self, trade_id: &str) -> Result<Option<Trade>> {
        let key = [&[record::TRADE_PREFIX][..], trade_id.as_bytes()].concat();
        self.get_typed(&key, Trade::decode)
    }

    pub fn get_account(&self, user_id: &str) -> Result<Option<Account>> {
        let key = [&[record::ACCOUNT_PREFIX][..], user_id.as_bytes()].concat();
        self.get_typed(&key, Account::decode)
    }

    fn get_typed<T>(
        &self,
        key: &[u8],
        decode: fn(&[u8]) -> std::result::Result<T, record::ValueError>,
    ) -> Result<Option<T>> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(v) => decode(&v).map(Some).map_err(|e| {
                Error::corruption(
                    &self.inner.dir,
                    0,
                    format!(
                        "value of key {} does not decode: {e}",
                        String::from_utf8_lossy(key)
                    ),
                )
                .with_hint("run `drkit verify DIR`")
            }),
        }
    }

    /// Reads any key of the key space (prefix included). Tombstones read as absent.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (mems, version) = self.inner.read_view();
        for m in &mems {
            if let Some(v) = m.get(key) {
                return Ok(v.value);
            }
        }
        Ok(version
            .get(key)?
            .and_then(|e| (e.kind == ValueKind::Value).then_some(e.value)))
    }

    /// Live entries with `start <= key` and below `upper`, newest versions only.
    pub fn scan(
        &self,
        start: &[u8],
        upper: Bound<Vec<u8>>,
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + use<>> {
        Ok(live(self.inner.merge_iter(start.to_vec(), upper)?))
    }

    pub fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + use<>> {
        self.scan(prefix, prefix_upper_bound(prefix))
    }

    /// The tree as it is now: files per level.
    pub fn version(&self) -> Arc<Version> {
        self.inner.read_view().1
    }

    /// The block cache's size and hit counts; None when it is off.
    pub fn block_cache_stats(&self) -> Option<BlockCacheStats> {
        lock(&self.inner.versions).block_cache().map(|c| c.stats())
    }

    /// Freezes the memtable and flushes every frozen memtable now.
    pub fn flush(&self) -> Result<()> {
        self.inner.flush_all()?;
        self.inner.log_checkpoint()
    }

    /// Compacts until no level is over its target (used by offline tools and tests).
    pub fn compact_until_idle(&self) -> Result<()> {
        self.inner.flush_all()?;
        while self.inner.compact_once()? {}
        Ok(())
    }

    /// Forces a full compaction: every level is merged down, level by level, into the last one.
    pub fn compact_all(&self) -> Result<()> {
        self.inner.flush_all()?;
        for level in 0..LEVELS - 1 {
            self.inner.compact_level_fully(level)?;
        }
        Ok(())
    }

    /// Writes a snapshot of the memtables (see engine/snapshot.rs) and prunes old ones down
    /// to `Options::snapshots_to_keep`. None when nothing lies above the checkpoint.
    pub fn create_snapshot(&self) -> Result<Option<snapshot::SnapshotInfo>> {
        let info = self.inner.create_snapshot()?;
        let checkpoint = self.checkpoint_seq();
        snapshot::prune(
            &self.inner.dir,
            self.inner.opts.snapshots_to_keep,
            checkpoint,
            false,
        )?;
        Ok(info)
    }

    /// Offline compaction over `threads` disjoint key ranges at once, installed by one
    /// manifest edit (`drkit compact`). Flush first so the result does not depend on the WAL.
    pub fn compact_parallel(
        &self,
        scope: CompactScope,
        threads: usize,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<CompactionSummary> {
        self.inner.compact_parallel(scope, threads, progress)
    }

    /// Syncs the WAL regardless of policy.
    pub fn sync(&self) -> Result<()> {
        let wal = lock(&self.inner.wal);
        let Some(wal) = wal.as_ref() else {
            return Ok(());
        };
        wal.writer.sync()?;
        self.inner.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The error a refused recovery ends with: the first real finding, with file and offset.
pub fn refusal(r: &RecoveryReport) -> Error {
    let f = r
        .findings
        .iter()
        .find(|f| f.kind != FindingKind::TornTail)
        .or(r.findings.first());
    match f {
        Some(f) => Error::corruption(&f.file, f.offset, format!("{} ({:?}), refused by recovery mode {}", f.what, f.kind, r.mode))
            .with_hint("inspect with `drkit recover DIR --dry-run`; `--mode point-in-time` or `--mode skip-corrupted` recover around it, moving damaged data to DIR/lost/"),
        None => Error::InvalidInput("recovery refused without a finding".into()),
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        lock(&self.inner.bg).shutdown = true;
        self.inner.bg_cv.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(wal) = lock(&self.inner.wal).as_ref() {
            let _ = wal.writer.sync();
            wal.writer.release_reserve();
        }
    }
}

impl Inner {
    fn read_view(&self) -> (Vec<Arc<Memtable>>, Arc<Version>) {
        let m = self
            .mem
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut mems = Vec::with_capacity(1 + m.immutable.len());
        mems.push(Arc::clone(&m.active));
        mems.extend(m.immutable.iter().rev().cloned());
        (mems, Arc::clone(&m.version))
    }

    fn merge_iter(&self, start: Vec<u8>, upper: Bound<Vec<u8>>) -> Result<MergeIter> {
        let (mems, version) = self.read_view();
        let mut sources: Vec<Source> = mems.into_iter().map(Source::Mem).collect();
        sources.extend(version.all_tables().cloned().map(Source::Sst));
        MergeIter::new(sources, start, upper)
    }

    fn check_failed(&self, st: &CommitState) -> Result<()> {
        if let Some(f) = &st.failed {
            return Err(Error::Poisoned(f.clone()));
        }
        if let Some(f) = &lock(&self.bg).failed {
            return Err(Error::Poisoned(f.clone()));
        }
        Ok(())
    }

    fn apply_committed(&self, entries: &[EntryRef<'_>], cluster_state: Vec<u8>) -> Result<()> {
        // Lead, so no flush freezes the memtable halfway through the batch.
        let st = self.take_lead();
        let failed = self.check_failed(&st);
        drop(st);
        if let Err(e) = failed {
            drop(self.end_lead());
            return Err(e);
        }
        let checkpoint = lock(&self.versions).state().flushed_seq;
        let active = Arc::clone(
            &self
                .mem
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .active,
        );
        let mut last = None;
        for e in entries {
            if e.seq > checkpoint || checkpoint == 0 {
                apply_to_memtable(&active, e);
            }
            last = Some(e.seq);
        }
        active.set_cluster_state(cluster_state);
        let result = if active.approx_bytes() >= self.opts.memtable_bytes {
            self.freeze_memtable(last.unwrap_or(0))
        } else {
            Ok(())
        };
        let mut st = self.end_lead();
        if let Some(last) = last {
            st.done_seq = st.done_seq.max(last);
        }
        if let Err(e) = &result {
            st.failed = Some(e.to_string());
        }
        result
    }

    fn write(&self, kind: EntryType, key: Vec<u8>, value: Vec<u8>) -> Result<u64> {
        self.write_entries(vec![(kind, key, value)], true)
    }

    /// With `wait` false the entry is queued and, if another writer leads a group commit right
    /// now, left for the next one instead of waiting: the background thread logs checkpoints
    /// this way, since waiting on a leader that is itself stalled waiting for a flush would
    /// deadlock. Such an entry is never acknowledged, so nothing is lost if it never lands.
    ///
    /// All `entries` are queued under one lock, so they get consecutive sequences and land in
    /// the same group commit (one write, one fsync); the returned sequence is the last one.
    fn write_entries(
        &self,
        entries: Vec<(EntryType, Vec<u8>, Vec<u8>)>,
        wait: bool,
    ) -> Result<u64> {
        if self.opts.cluster {
            return Err(Error::InvalidInput(CLUSTER_WRITE.into()));
        }
        if entries.iter().any(|(_, k, _)| k.len() > u32::MAX as usize) {
            return Err(Error::InvalidInput("key longer than 4 GiB".into()));
        }
        let mut st = lock(&self.commit);
        self.check_failed(&st)?;
        if entries.is_empty() {
            return Ok(st.done_seq);
        }
        // Timestamps never go backwards, so "entries up to time T" is a prefix of the log.
        let ts = now_ns().max(st.last_ts);
        st.last_ts = ts;
        let mut seq = st.next_seq;
        st.pending_writers += 1;
        for (kind, key, value) in entries {
            seq = st.next_seq;
            st.next_seq += 1;
            st.pending.push(Pending {
                seq,
                ts,
                kind,
                key,
                value,
            });
        }
        loop {
            if st.done_seq >= seq {
                return Ok(seq);
            }
            self.check_failed(&st)?;
            if st.leader {
                if !wait {
                    return Ok(seq);
                }
                st = self
                    .commit_cv
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            st.leader = true;
            if st.last_batch_writers > 1 {
                // Other writers are active: the ones just woken by the previous batch are about
                // to enqueue again. Give them a moment, so this fsync covers them too instead
                // of leaving them for the next one.
                drop(st);
                std::thread::yield_now();
                st = lock(&self.commit);
            }
            let batch = std::mem::take(&mut st.pending);
            st.last_batch_writers = std::mem::take(&mut st.pending_writers);
            drop(st);
            let result = self.commit_batch(&batch);
            st = lock(&self.commit);
            st.leader = false;
            match result {
                Ok(()) => st.done_seq = batch.last().map_or(st.done_seq, |p| p.seq),
                // fsyncgate: after a failed write or fsync the page cache state is unknown;
                // never retry, refuse all further writes until the dir is reopened.
                Err(e) => st.failed = Some(e.to_string()),
            }
            self.commit_cv.notify_all();
        }
    }

    fn commit_batch(&self, batch: &[Pending]) -> Result<()> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        {
            let mut wal = lock(&self.wal);
            let Some(wal) = wal.as_mut() else {
                return Err(Error::InvalidInput(CLUSTER_WRITE.into()));
            };
            if wal.writer.len() >= self.opts.wal_segment_bytes {
                self.rotate_segment(wal, batch[0].seq)?;
            }
            let WalState {
                writer, scratch, ..
            } = &mut *wal;
            scratch.clear();
            let mut bounds = Vec::with_capacity(batch.len());
            for p in batch {
                let start = scratch.len();
                EntryRef {
                    seq: p.seq,
                    term: 0,
                    timestamp_ns: p.ts,
                    kind: p.kind,
                    key: &p.key,
                    value: &p.value,
                }
                .encode_into(scratch);
                bounds.push(start..scratch.len());
            }
            let before = writer.len();
            writer.append(bounds.iter().map(|r| &scratch[r.clone()]))?;
            self.stats
                .wal_bytes
                .fetch_add(writer.len() - before, Ordering::Relaxed);
            if self.opts.sync == SyncPolicy::Always {
                writer.sync()?;
                self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
            }
            wal.entries_in_segment += batch.len() as u64;
        }
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .batched_entries
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let bucket = BATCH_SIZE_BUCKETS.partition_point(|&b| b < batch.len() as u64);
        self.stats.batch_size_buckets[bucket].fetch_add(1, Ordering::Relaxed);

        let active = Arc::clone(
            &self
                .mem
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .active,
        );
        for p in batch {
            let e = EntryRef {
                seq: p.seq,
                term: 0,
                timestamp_ns: p.ts,
                kind: p.kind,
                key: &p.key,
                value: &p.value,
            };
            apply_to_memtable(&active, &e);
        }
        if active.approx_bytes() >= self.opts.memtable_bytes {
            self.freeze_memtable(last.seq)?;
        }
        Ok(())
    }

    /// Seals the active segment and starts the next one at `next_seq`.
    fn rotate_segment(&self, wal: &mut WalState, next_seq: u64) -> Result<()> {
        let last = next_seq - 1;
        let mut seal = Vec::new();
        EntryRef {
            seq: last,
            term: 0,
            timestamp_ns: now_ns(),
            kind: EntryType::Seal,
            key: &[],
            value: &wal.entries_in_segment.to_le_bytes(),
        }
        .encode_into(&mut seal);
        wal.writer.append([seal.as_slice()])?;
        wal.writer.sync()?;
        wal.writer.release_reserve();
        let new =
            SegmentWriter::create(&self.dir.join("wal"), next_seq, self.opts.wal_segment_bytes)?;
        let old = std::mem::replace(&mut wal.writer, new);
        wal.closed.push((old.first_seq(), old.path().to_path_buf()));
        wal.sync_handle = Arc::new(File::open(wal.writer.path()).at(wal.writer.path())?);
        wal.entries_in_segment = 0;
        Ok(())
    }

    /// Moves the active memtable to the frozen list; waits if flushing is behind.
    fn freeze_memtable(&self, _last_seq: u64) -> Result<()> {
        {
            let mut m = self
                .mem
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let full = std::mem::replace(&mut m.active, Arc::new(Memtable::new()));
            m.immutable.push(full);
        }
        if !self.opts.background_work {
            return self.flush_immutables(false);
        }
        self.bg_cv.notify_all();
        if IS_BACKGROUND.get() {
            // The background thread itself (logging a checkpoint) must not wait for itself.
            return Ok(());
        }
        let mut bg = lock(&self.bg);
        loop {
            if let Some(f) = &bg.failed {
                return Err(Error::Poisoned(f.clone()));
            }
            let waiting = self
                .mem
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .immutable
                .len();
            if waiting <= self.opts.max_immutable_memtables || bg.shutdown {
                return Ok(());
            }
            bg = self
                .bg_cv
                .wait_timeout(bg, Duration::from_millis(50))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Waits until no group commit is being led and takes the lead: until `end_lead`, no
    /// batch is half inserted into the memtable and no other leader starts one.
    fn take_lead(&self) -> MutexGuard<'_, CommitState> {
        let mut st = lock(&self.commit);
        while st.leader {
            st = self
                .commit_cv
                .wait(st)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        st.leader = true;
        st
    }

    /// Gives up the lead taken by `take_lead` and wakes the waiting writers (once the
    /// returned guard is dropped).
    fn end_lead(&self) -> MutexGuard<'_, CommitState> {
        let mut st = lock(&self.commit);
        st.leader = false;
        self.commit_cv.notify_all();
        st
    }

    fn flush_all(&self) -> Result<()> {
        // Lead, so no batch is half inserted while the memtable is frozen.
        drop(self.take_lead());
        let result = {
            {
                let mut m = self
                    .mem
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                // A cluster memtable holding only blank or membership entries still carries
                // an applied state worth recording.
                if !m.active.is_empty() || m.active.cluster_state().is_some() {
                    let full = std::mem::replace(&mut m.active, Arc::new(Memtable::new()));
                    m.immutable.push(full);
                }
            }
            self.flush_immutables(false)
        };
        drop(self.end_lead());
        result
    }

    /// Flushes frozen memtables to L0 until none is left.
    /// With `yield_to_shutdown`, stops between flushes once the engine is closing: what is
    /// left is still in the WAL, and closing should not wait for gigabytes of flushing.
    fn flush_immutables(&self, yield_to_shutdown: bool) -> Result<()> {
        loop {
            if yield_to_shutdown && lock(&self.bg).shutdown {
                return Ok(());
            }
            // One flush at a time: the background thread and an explicit flush() may both
            // look at the frozen memtables, and only one of them may write them out.
            let _one_flush = lock(&self.flushing);
            let mut frozen: Vec<Arc<Memtable>> = self
                .mem
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .immutable
                .clone();
            if yield_to_shutdown {
                // Oldest first, a core's worth at a time, so a close waits for one round.
                frozen.truncate(rayon::current_num_threads().max(1));
            }
            if frozen.is_empty() {
                return Ok(());
            }
            self.flush_frozen(&frozen)?;
            self.stats
                .flushes
                .fetch_add(frozen.len() as u64, Ordering::Relaxed);
            self.stats
                .last_flush_unix_ms
                .store(now_unix_ms(), Ordering::Relaxed);
            self.bg_cv.notify_all();
            self.retire_wal()?;
        }
    }

    /// Writes `frozen` (the oldest frozen memtables, in order: the checkpoint may only cover
    /// a prefix) to one L0 table each, in parallel, and records them in
    /// one manifest edit. After a recovery there is one frozen memtable per replayed segment,
    /// and a gigabyte of log would otherwise be compressed on one core. Their sequence ranges
    /// do not overlap, so the tables need no order beyond the one reads give L0 (newest
    /// `max_seq` first).
    fn flush_frozen(&self, frozen: &[Arc<Memtable>]) -> Result<()> {
        let numbers: Vec<u64> = {
            let mut vs = lock(&self.versions);
            frozen.iter().map(|_| vs.allocate_file_no()).collect()
        };
        let written = write_l0_tables(&self.dir, &self.opts, frozen, numbers)?;
        let mut vs = lock(&self.versions);
        let flushed = frozen
            .iter()
            .map(|m| m.max_seq())
            .fold(vs.state().flushed_seq, u64::max);
        let version = vs.log_and_apply(VersionEdit {
            added: written,
            flushed_seq: Some(flushed),
            last_seq: Some(flushed),
            // The newest applied state wins, as it would flushing one memtable at a time.
            cluster_state: frozen.iter().rev().find_map(|m| m.cluster_state()),
            ..Default::default()
        })?;
        drop(vs);
        let mut m = self
            .mem
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.immutable
            .retain(|x| !frozen.iter().any(|f| Arc::ptr_eq(x, f)));
        m.version = version;
        Ok(())
    }

    /// Removes closed segments whose every entry is at or below the checkpoint and, when WAL
    /// archiving is on for the dir (DIR/ARCHIVE_STATUS), already in the archive.
    fn retire_wal(&self) -> Result<()> {
        if self.opts.keep_wal {
            return Ok(());
        }
        let (flushed, history) = {
            let vs = lock(&self.versions);
            (vs.state().flushed_seq, vs.state().history_id)
        };
        let archived = archived_through(&self.dir, history);
        let mut wal = lock(&self.wal);
        let Some(wal) = wal.as_mut() else {
            return Ok(());
        };
        let active_first = wal.writer.first_seq();
        let firsts: Vec<u64> = wal
            .closed
            .iter()
            .map(|(f, _)| *f)
            .chain([active_first])
            .collect();
        let mut keep = Vec::new();
        for (i, (first, path)) in std::mem::take(&mut wal.closed).into_iter().enumerate() {
            // Entries of segment i are below the next segment's first sequence.
            let last = firsts[i + 1] - 1;
            if last <= flushed && last <= archived {
                fs::remove_file(&path).at(&path)?;
            } else {
                keep.push((first, path));
            }
        }
        wal.closed = keep;
        Ok(())
    }

    /// Records the checkpoint in the WAL when it moved since the last one, so that readers
    /// of the log alone (inspect, archives) see where the SSTs take over.
    fn log_checkpoint(&self) -> Result<()> {
        if self.opts.cluster {
            // The manifest's cluster state marks the checkpoint; the log is Raft's.
            return Ok(());
        }
        let flushed = lock(&self.versions).state().flushed_seq;
        {
            let mut bg = lock(&self.bg);
            if flushed <= bg.logged_checkpoint {
                return Ok(());
            }
            bg.logged_checkpoint = flushed;
        }
        self.write_entries(
            vec![(
                EntryType::Checkpoint,
                Vec::new(),
                flushed.to_le_bytes().to_vec(),
            )],
            false,
        )
        .map(|_| ())
    }

    /// The periodic snapshot of `Options::snapshot_interval`, when new writes arrived since
    /// the last one.
    fn snapshot_if_due(&self) -> Result<()> {
        let Some(interval) = self.opts.snapshot_interval.filter(|_| !self.opts.cluster) else {
            return Ok(());
        };
        let done = lock(&self.commit).done_seq;
        {
            let mut bg = lock(&self.bg);
            if let Some((at, seq)) = bg.last_snapshot {
                if at.elapsed() < interval {
                    return Ok(());
                }
                if done <= seq {
                    // Nothing new: look again one interval from now instead of spinning.
                    bg.last_snapshot = Some((std::time::Instant::now(), seq));
                    return Ok(());
                }
            }
        }
        let info = self.create_snapshot()?;
        let checkpoint = lock(&self.versions).state().flushed_seq;
        snapshot::prune(&self.dir, self.opts.snapshots_to_keep, checkpoint, false)?;
        lock(&self.bg).last_snapshot =
            Some((std::time::Instant::now(), info.map_or(done, |i| i.seq)));
        Ok(())
    }

    fn background_loop(&self) {
        IS_BACKGROUND.set(true);
        loop {
            {
                let mut bg = lock(&self.bg);
                loop {
                    if bg.shutdown {
                        return;
                    }
                    let flush_due = !self
                        .mem
                        .read()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .immutable
                        .is_empty();
                    let snapshot_due = self
                        .opts
                        .snapshot_interval
                        .is_some_and(|i| bg.last_snapshot.is_none_or(|(at, _)| at.elapsed() >= i));
                    if flush_due || snapshot_due || self.compaction_due() {
                        break;
                    }
                    bg = self
                        .bg_cv
                        .wait_timeout(bg, Duration::from_millis(200))
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
            let r = self
                .flush_immutables(true)
                .and_then(|()| self.log_checkpoint())
                .and_then(|()| self.snapshot_if_due())
                .and_then(|()| self.compact_once().map(|_| ()));
            if let Err(e) = r {
                lock(&self.bg).failed = Some(format!("background flush/compaction failed: {e}"));
                self.bg_cv.notify_all();
                self.commit_cv.notify_all();
                return;
            }
        }
    }

    fn sync_loop(&self, period: Duration) {
        loop {
            {
                let bg = lock(&self.bg);
                let (bg, _) = self
                    .bg_cv
                    .wait_timeout(bg, period)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if bg.shutdown {
                    return;
                }
            }
            let Some(handle) = lock(&self.wal).as_ref().map(|w| Arc::clone(&w.sync_handle)) else {
                return;
            };
            if let Err(e) = handle.sync_data() {
                lock(&self.commit).failed = Some(format!("WAL fsync failed: {e}"));
                self.commit_cv.notify_all();
                return;
            }
            self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests;
