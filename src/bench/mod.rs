//! Benchmarks and crash-test drivers over a realistic, reproducible exchange workload.
//!
//! - [`workload`]: the seeded traffic generator everything here draws from.
//! - [`write`]: write throughput and latency percentiles under a sync policy.
//! - [`recover`]: WAL replay speed, i.e. time to come back after a crash.
//! - [`read`]: get and scan cost over compacted tables, and their size on disk.
//! - [`backup`]: backup and restore throughput over a data dir of SSTs.
//! - [`restore_cluster`]: one backup restored as each node of a new cluster, beside a
//!   standalone restore of it.
//! - [`cluster_demo`]: `demo --cluster`, failover with real processes and SIGKILL.
//! - [`cluster_dr_demo`]: `demo --cluster-dr`, archive, backups and a new cluster restored
//!   to just before a mistake, with real processes.
//! - [`cluster`]: 3-node write throughput, replication lag and failover times, and
//!   [`heartbeat`]: the leader's message gaps at followers while every node compacts.
//! - [`nemesis`]: write outages of a 3-process cluster under a sequence of faults, with
//!   [`link`] to partition it.
//! - [`crash`]: the child side of crash tests and the model the parent checks against.
//!
//! Like the rest of the library this returns reports and never prints; `cli` renders them.

pub mod backup;
pub mod cluster;
pub mod cluster_demo;
pub mod cluster_dr_demo;
pub mod crash;
pub mod demo;
pub mod heartbeat;
pub mod link;
pub mod nemesis;
pub mod read;
pub mod recover;
pub mod restore_cluster;
pub mod rss;
pub mod workload;
pub mod write;

pub use backup::{BackupBenchConfig, BackupBenchReport, run_backup, run_restore};
pub use cluster::{ClusterBenchConfig, ClusterBenchReport, run_cluster};
pub use crash::{crash_writer, expected_state, ops};
pub use nemesis::{NemesisConfig, NemesisReport, run_nemesis};
pub use read::{ReadBenchConfig, ReadBenchReport, run_read};
pub use recover::{
    Phase as RecoverPhase, RecoverBenchConfig, RecoverBenchReport, build_wal, run_recover,
};
pub use workload::{Op, Workload};
pub use write::{WriteBenchConfig, WriteBenchReport, run_write};

/// The `p`th percentile (0..=100, nearest rank) of ascending nanosecond samples, in
/// microseconds. 0 for no samples.
pub fn percentile(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let n = sorted_ns.len();
    // The epsilon keeps 99.9% of 1000 at rank 999 despite 99.9/100 not being exact.
    let rank = (p.clamp(0.0, 100.0) / 100.0 * n as f64 - 1e-9).ceil() as usize;
    sorted_ns[rank.clamp(1, n) - 1] as f64 / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank_in_micros() {
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(percentile(&[7_000], 99.9), 7.0);
        let ns: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile(&ns, 50.0), 500.0);
        assert_eq!(percentile(&ns, 99.0), 990.0);
        assert_eq!(percentile(&ns, 99.9), 999.0);
        assert_eq!(percentile(&ns, 100.0), 1000.0);
        assert_eq!(percentile(&ns, 0.0), 1.0);
        assert_eq!(percentile(&[1_000, 2_000, 3_000, 4_000], 50.0), 2.0);
    }
}
