use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::format::block_cache::BlockCache;

use crate::format::sst::SstOptions;

/// When an acknowledged write is on stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fsync before every acknowledgement (shared by a whole group commit). Acknowledged =
    /// never lost.
    Always,
    /// fsync from a background thread at this period: a crash loses at most one period.
    Interval(Duration),
    /// Leave it to the OS: a crash of the machine (not of the process) may lose writes.
    Never,
}

impl FromStr for SyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(SyncPolicy::Always),
            "never" => Ok(SyncPolicy::Never),
            _ => {
                let ms = s
                    .strip_prefix("interval:")
                    .and_then(|ms| ms.parse::<u64>().ok())
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| {
                        format!(
                            "invalid sync policy {s:?}: use always, never or interval:MS (MS > 0)"
                        )
                    })?;
                Ok(SyncPolicy::Interval(Duration::from_millis(ms)))
            }
        }
    }
}

impl std::fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncPolicy::Always => f.write_str("always"),
            SyncPolicy::Never => f.write_str("never"),
            SyncPolicy::Interval(d) => write!(f, "interval:{}", d.as_millis()),
        }
    }
}

/// RocksDB's WAL recovery modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryMode {
    /// A torn, unsynced tail of the last segment is cut off (it was never acknowledged under
    /// sync=always); any other damage refuses to open.
    TolerateTail,
    /// Any damage at all, a torn tail included, refuses to open.
    Absolute,
    /// Stop at the first damage: keep everything before it, move the rest to lost/.
    PointInTime,
    /// Skip damaged spans, move them to lost/, keep every readable entry after them.
    SkipCorrupted,
}

impl std::fmt::Display for RecoveryMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecoveryMode::TolerateTail => "tolerate-tail",
            RecoveryMode::Absolute => "absolute",
            RecoveryMode::PointInTime => "point-in-time",
            RecoveryMode::SkipCorrupted => "skip-corrupted",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub sync: SyncPolicy,
    pub create_if_missing: bool,
    pub recovery_mode: RecoveryMode,
    /// Analyse and report recovery, change nothing, open nothing for writing.
    pub dry_run: bool,
    /// Memtable size that triggers a flush to L0.
    pub memtable_bytes: usize,
    /// Immutable memtables waiting for flush before writers stall.
    pub max_immutable_memtables: usize,
    pub wal_segment_bytes: u64,
    pub l0_compaction_trigger: usize,
    /// Target size of L1; each deeper level is 10x larger.
    pub l1_target_bytes: u64,
    pub sst_target_bytes: u64,
    pub sst: SstOptions,
    /// Decompressed data blocks kept in memory for reads; 0: none (every read of a compressed
    /// block decompresses it).
    pub block_cache_bytes: u64,
    /// Run flushes and compactions on a background thread. Off, flushes happen inline and
    /// compaction only when asked (offline tools).
    pub background_work: bool,
    /// Keep WAL segments below the checkpoint (for archiving / point-in-time restore).
    pub keep_wal: bool,
    /// Write a snapshot of the memtables this often (when there were writes), so recovery
    /// replays only the WAL after it.
    pub snapshot_interval: Option<Duration>,
    /// Snapshots kept after each new one.
    pub snapshots_to_keep: usize,
    /// Cluster mode: DIR/wal is the Raft log, owned by `cluster::LogStore`. The engine neither
    /// writes nor replays it; its writes are committed entries given to
    /// [`crate::engine::Engine::apply_committed`], and the manifest records the state
    /// machine's applied state with each flush.
    pub cluster: bool,
    /// Replayed data recovery holds in memory: past it, the oldest recovered runs are
    /// written to L0 while replay goes on, so a WAL larger than RAM (flushes that failed for
    /// hours) still recovers. Default: a quarter of the machine's RAM.
    pub recovery_memory_budget: u64,
}

pub const LEVELS: usize = 7;
/// Twice RocksDB's default: room for the hot blocks of a node serving exchange records.
pub const DEFAULT_BLOCK_CACHE_BYTES: u64 = 64 << 20;
pub const LEVEL_SIZE_RATIO: u64 = 10;

impl Default for Options {
    fn default() -> Self {
        Options {
            sync: SyncPolicy::Always,
            create_if_missing: true,
            recovery_mode: RecoveryMode::TolerateTail,
            dry_run: false,
            memtable_bytes: 64 << 20,
            max_immutable_memtables: 2,
            wal_segment_bytes: 64 << 20,
            l0_compaction_trigger: 4,
            l1_target_bytes: 256 << 20,
            sst_target_bytes: 64 << 20,
            sst: SstOptions::default(),
            block_cache_bytes: DEFAULT_BLOCK_CACHE_BYTES,
            background_work: true,
            keep_wal: false,
            snapshot_interval: None,
            snapshots_to_keep: 2,
            cluster: false,
            recovery_memory_budget: default_recovery_memory_budget(),
        }
    }
}

/// A quarter of physical memory (from /proc/meminfo), leaving the rest to the page cache
/// that holds the log being read and to the running engine; 1 GiB where it cannot be read.
pub fn default_recovery_memory_budget() -> u64 {
    static BUDGET: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| mem_total_bytes(&m))
            .map_or(1 << 30, |total| total / 4)
    })
}

fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Options {
    /// A new cache of `block_cache_bytes`, for one engine's tables; None when 0.
    pub fn block_cache(&self) -> Option<Arc<BlockCache>> {
        (self.block_cache_bytes > 0).then(|| Arc::new(BlockCache::new(self.block_cache_bytes)))
    }

    pub fn level_target_bytes(&self, level: usize) -> u64 {
        let mut t = self.l1_target_bytes;
        for _ in 1..level {
            t = t.saturating_mul(LEVEL_SIZE_RATIO);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_budget_is_a_quarter_of_mem_total() {
        let m = "MemTotal:       24576000 kB\nMemFree:  1 kB\n";
        assert_eq!(mem_total_bytes(m), Some(24_576_000 * 1024));
        assert_eq!(mem_total_bytes("nothing useful"), None);
        assert!(default_recovery_memory_budget() >= 1 << 20);
    }

    #[test]
    fn sync_policy_parses() {
        assert_eq!("always".parse(), Ok(SyncPolicy::Always));
        assert_eq!("never".parse(), Ok(SyncPolicy::Never));
        assert_eq!(
            "interval:250".parse(),
            Ok(SyncPolicy::Interval(Duration::from_millis(250)))
        );
        assert!("interval:0".parse::<SyncPolicy>().is_err());
        assert!("sometimes".parse::<SyncPolicy>().is_err());
        assert_eq!(
            SyncPolicy::Interval(Duration::from_millis(5)).to_string(),
            "interval:5"
        );
    }
}
