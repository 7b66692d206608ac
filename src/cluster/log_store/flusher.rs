//! Group commit for the Raft log and what it vouches for: the thread that fsyncs appends in
//! batches, and [`Durable`], how far the log is on disk, which the state machine, the commit
//! index told to followers and the one written to disk wait for.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::storage::LogFlushed;

use super::super::TypeConfig;

/// An fsync of the log this slow is logged at warn.
const SLOW_FSYNC: Duration = Duration::from_millis(500);

/// Group commit for the Raft log: each append is written at once, and this thread fsyncs
/// everything written since its last fsync in one go, then moves [`Durable`] on and tells
/// openraft those appends are persisted.
///
/// A leader's own appends are the exception (the Raft thesis, §10.2.1): openraft 0.9 sends
/// entries to followers only after the leader's append calls back, which would put the
/// leader's fsync and a follower's in series. So a leader's append calls back once written,
/// and the leader's fsync runs while the entries travel. openraft may then count an entry
/// committed that only one follower holds on disk; nothing acts on that before the leader's
/// fsync covers it too: the state machine applies an entry (answers its client, shows it to
/// reads, flushes it to SSTs) only once [`Durable`] has passed it, followers are told a
/// commit index no further than it (see `network`), and the committed index on disk never
/// passes it. So everything anyone sees is on the disks of a majority.
pub(super) struct Flusher {
    pub(super) pending: Mutex<FlushQueue>,
    pub(super) wake: std::sync::Condvar,
    /// fsyncs of the log since the store opened (`bench cluster` reports them per write).
    pub(super) fsyncs: AtomicU64,
    pub(super) durable: Arc<tokio::sync::watch::Sender<Durable>>,
    /// Tests hold fsyncs back to see what waits for them.
    #[cfg(test)]
    pub(super) held: std::sync::atomic::AtomicBool,
}

/// How far this node's log is on disk. `generation` changes with every truncate, so an fsync
/// that completes after one never vouches for entries written in place of the cut ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durable {
    pub index: u64,
    /// The last index written (fsynced or not).
    pub(super) written: u64,
    pub(super) generation: u64,
    /// An fsync failed: nothing written since can be vouched for.
    pub failed: bool,
}

/// Waits for this node's log to be on disk up to an index.
#[derive(Debug, Clone)]
pub struct Durability {
    pub(super) rx: tokio::sync::watch::Receiver<Durable>,
}

impl Durability {
    /// Returns once the log is fsynced through `index`, or through all it holds when that is
    /// less (an entry that was never appended, as openraft's storage tests apply, has
    /// nothing to wait for); Err after a failed fsync.
    pub async fn reached(&self, index: u64) -> std::result::Result<(), String> {
        let mut rx = self.rx.clone();
        let on_disk = |d: &Durable| d.index >= index.min(d.written);
        let d = rx
            .wait_for(|d| on_disk(d) || d.failed)
            .await
            .map_err(|_| "the Raft log closed".to_string())?;
        if on_disk(&d) {
            Ok(())
        } else {
            Err(format!(
                "Raft log fsync failed before index {index} was on disk"
            ))
        }
    }

    pub fn index(&self) -> u64 {
        self.rx.borrow().index
    }
}

/// An append waiting for the fsync that covers it; `done` is None when it called back early.
pub(super) struct Waiting {
    pub(super) done: Option<LogFlushed<TypeConfig>>,
    pub(super) file: Option<Arc<File>>,
    pub(super) last: u64,
    pub(super) generation: u64,
}

#[derive(Default)]
pub(super) struct FlushQueue {
    pub(super) waiting: Vec<Waiting>,
    /// After a failed fsync the page cache's state is unknown (fsyncgate): every later
    /// append fails too, until the node is restarted and reindexes what is on disk.
    pub(super) failed: Option<String>,
    pub(super) stop: bool,
}

impl Flusher {
    pub(super) fn new(durable: Durable) -> Flusher {
        Flusher {
            pending: Mutex::default(),
            wake: std::sync::Condvar::new(),
            fsyncs: AtomicU64::new(0),
            durable: Arc::new(tokio::sync::watch::Sender::new(durable)),
            #[cfg(test)]
            held: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Moves [`Durable`] past the appends of `batch`, now fsynced, that no truncate has
    /// touched since they were written.
    fn vouch_for(&self, batch: &[Waiting]) {
        self.durable.send_if_modified(|d| {
            let newest = batch
                .iter()
                .filter(|w| w.generation == d.generation)
                .map(|w| w.last)
                .max();
            match newest {
                Some(n) if n > d.index => {
                    d.index = n;
                    true
                }
                _ => false,
            }
        });
    }

    pub(super) fn run(self: Arc<Self>) {
        loop {
            let batch = {
                let mut q = self
                    .pending
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                while q.waiting.is_empty() && !q.stop {
                    q = self
                        .wake
                        .wait_timeout(q, Duration::from_millis(200))
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                    if Arc::strong_count(&self) == 1 {
                        q.stop = true;
                    }
                }
                if q.waiting.is_empty() && q.stop {
                    return;
                }
                std::mem::take(&mut q.waiting)
            };
            #[cfg(test)]
            while self.held.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut synced: Vec<*const File> = Vec::new();
            let mut result = Ok(());
            for Waiting { file, .. } in &batch {
                if let Some(f) = file
                    && !synced.contains(&Arc::as_ptr(f))
                {
                    synced.push(Arc::as_ptr(f));
                    let started = std::time::Instant::now();
                    if let Err(e) = f.sync_data() {
                        result = Err(e);
                        break;
                    }
                    let took = started.elapsed();
                    self.fsyncs.fetch_add(1, Ordering::Relaxed);
                    // Every write waits on it, and a follower's slow disk slows commits.
                    if took >= SLOW_FSYNC {
                        tracing::warn!(
                            fsync_ms = took.as_millis() as u64,
                            "slow fsync of the Raft log: {} ms (writes wait for it)",
                            took.as_millis()
                        );
                    }
                }
            }
            match &result {
                Ok(()) => self.vouch_for(&batch),
                Err(e) => {
                    self.pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .failed = Some(format!("Raft log fsync failed: {e}"));
                    self.durable.send_modify(|d| d.failed = true);
                }
            }
            for w in batch {
                if let Some(cb) = w.done {
                    cb.log_io_completed(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                    });
                }
            }
        }
    }
}
