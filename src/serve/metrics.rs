//! Server counters and the Prometheus text exposition (format 0.0.4) of them and of the
//! engine's own counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::engine::{BATCH_SIZE_BUCKETS, Engine, LEVELS};

/// Commands with their own series; everything else is counted as `other`.
pub const COMMANDS: [&str; 29] = [
    "ping",
    "echo",
    "get",
    "set",
    "del",
    "exists",
    "mget",
    "mset",
    "scan",
    "dbsize",
    "info",
    "role",
    "shutdown",
    "auth",
    "hello",
    "quit",
    "select",
    "client",
    "config",
    "command",
    "order.insert",
    "order.get",
    "trade.exec",
    "trade.get",
    "account.update",
    "account.get",
    "time",
    "type",
    "other",
];

/// Index of `name` (lower case) in [`COMMANDS`].
pub fn command_index(name: &str) -> usize {
    COMMANDS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(COMMANDS.len() - 1)
}

/// Latency bucket upper bounds, in microseconds.
pub const LATENCY_BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative counts; the last one is above every bound.
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, us: u64) {
        let i = LATENCY_BUCKETS_US.partition_point(|&b| b < us);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

#[derive(Debug)]
pub struct Metrics {
    requests: Vec<AtomicU64>,
    errors: Vec<AtomicU64>,
    latency: Vec<Histogram>,
    pub connections_total: AtomicU64,
    pub rejected_max_clients: AtomicU64,
    pub rejected_protected_mode: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub idle_timeouts: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: COMMANDS.iter().map(|_| AtomicU64::new(0)).collect(),
            errors: COMMANDS.iter().map(|_| AtomicU64::new(0)).collect(),
            latency: COMMANDS.iter().map(|_| Histogram::default()).collect(),
            connections_total: AtomicU64::new(0),
            rejected_max_clients: AtomicU64::new(0),
            rejected_protected_mode: AtomicU64::new(0),
            protocol_errors: AtomicU64::new(0),
            idle_timeouts: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    pub fn record(&self, command: usize, took: Duration, error: bool) {
        self.requests[command].fetch_add(1, Ordering::Relaxed);
        if error {
            self.errors[command].fetch_add(1, Ordering::Relaxed);
        }
        self.latency[command].observe(took.as_micros().min(u64::MAX as u128) as u64);
    }

    pub fn total_requests(&self) -> u64 {
        self.requests
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The whole exposition: server series, then the engine's.
    pub fn render(&self, engine: &Engine, clients: usize, uptime: Duration) -> String {
        let mut out = String::with_capacity(16 << 10);
        header(
            &mut out,
            "drkit_uptime_seconds",
            "gauge",
            "Seconds since the server started.",
        );
        let _ = writeln!(out, "drkit_uptime_seconds {}", uptime.as_secs());
        header(
            &mut out,
            "drkit_connected_clients",
            "gauge",
            "Open client connections.",
        );
        let _ = writeln!(out, "drkit_connected_clients {clients}");
        header(
            &mut out,
            "drkit_connections_total",
            "counter",
            "Client connections accepted.",
        );
        let _ = writeln!(
            out,
            "drkit_connections_total {}",
            self.connections_total.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "drkit_rejected_connections_total",
            "counter",
            "Connections refused, by reason.",
        );
        for (reason, c) in [
            ("max_clients", &self.rejected_max_clients),
            ("protected_mode", &self.rejected_protected_mode),
        ] {
            let _ = writeln!(
                out,
                "drkit_rejected_connections_total{{reason=\"{reason}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "drkit_closed_connections_total",
            "counter",
            "Connections closed by the server, by reason.",
        );
        for (reason, c) in [
            ("protocol_error", &self.protocol_errors),
            ("idle_timeout", &self.idle_timeouts),
        ] {
            let _ = writeln!(
                out,
                "drkit_closed_connections_total{{reason=\"{reason}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "drkit_requests_total",
            "counter",
            "Requests by command.",
        );
        for (i, name) in COMMANDS.iter().enumerate() {
            let _ = writeln!(
                out,
                "drkit_requests_total{{command=\"{name}\"}} {}",
                self.requests[i].load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "drkit_request_errors_total",
            "counter",
            "Requests answered with an error, by command.",
        );
        for (i, name) in COMMANDS.iter().enumerate() {
            let _ = writeln!(
                out,
                "drkit_request_errors_total{{command=\"{name}\"}} {}",
                self.errors[i].load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "drkit_request_duration_seconds",
            "histogram",
            "Time from a request's parse to its reply (writes: until the sync policy is met).",
        );
        for (i, name) in COMMANDS.iter().enumerate() {
            let h = &self.latency[i];
            let mut cumulative = 0;
            for (b, bound) in LATENCY_BUCKETS_US.iter().enumerate() {
                cumulative += h.buckets[b].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "drkit_request_duration_seconds_bucket{{command=\"{name}\",le=\"{}\"}} {cumulative}",
                    *bound as f64 / 1e6
                );
            }
            cumulative += h.buckets[LATENCY_BUCKETS_US.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "drkit_request_duration_seconds_bucket{{command=\"{name}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "drkit_request_duration_seconds_sum{{command=\"{name}\"}} {}",
                h.sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "drkit_request_duration_seconds_count{{command=\"{name}\"}} {cumulative}"
            );
        }
        render_engine(&mut out, engine);
        out
    }
}

/// Cluster mode: the node's Raft state as gauges.
pub fn render_cluster(out: &mut String, st: &crate::cluster::NodeStatus) {
    let gauges: [(&str, &str, u64); 7] = [
        (
            "drkit_cluster_term",
            "The node's current Raft term.",
            st.term,
        ),
        (
            "drkit_cluster_is_leader",
            "1 on the leader, 0 elsewhere.",
            u64::from(st.role == "leader"),
        ),
        (
            "drkit_cluster_last_log_index",
            "Newest index in this node's Raft log.",
            st.last_log_index.unwrap_or(0),
        ),
        (
            "drkit_cluster_applied_index",
            "Newest index this node's engine has applied.",
            st.last_applied_index.unwrap_or(0),
        ),
        (
            "drkit_cluster_leader_id",
            "The node id this node follows (0: none).",
            st.leader.unwrap_or(0),
        ),
        (
            "drkit_cluster_commit_index",
            "The committed index as this node knows it.",
            st.committed_index.unwrap_or(0),
        ),
        (
            "drkit_cluster_apply_lag_entries",
            "Committed entries this node has not applied yet.",
            st.apply_lag_entries,
        ),
    ];
    for (name, help, v) in gauges {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {v}");
    }
    let counters: [(&str, &str, u64); 3] = [
        (
            "drkit_cluster_elections_started_total",
            "Elections this node stood in since it started.",
            st.elections_started,
        ),
        (
            "drkit_cluster_terms_led_total",
            "Terms this node won since it started.",
            st.terms_led,
        ),
        (
            "drkit_cluster_snapshots_sent_total",
            "Snapshots this node sent to lagging replicas since it started.",
            st.snapshots_sent,
        ),
    ];
    for (name, help, v) in counters {
        header(out, name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }
    if let Some(ms) = st.leader_changed_ms_ago {
        header(
            out,
            "drkit_cluster_leader_changed_seconds_ago",
            "gauge",
            "Seconds since this node last saw the leader change.",
        );
        let _ = writeln!(
            out,
            "drkit_cluster_leader_changed_seconds_ago {:.3}",
            ms as f64 / 1000.0
        );
    }
    if let Some(ms) = st.millis_since_quorum_ack {
        header(
            out,
            "drkit_cluster_millis_since_quorum_ack",
            "gauge",
            "Leader only: ms since a quorum last acknowledged it.",
        );
        let _ = writeln!(out, "drkit_cluster_millis_since_quorum_ack {ms}");
    }
    if !st.replication.is_empty() {
        header(
            out,
            "drkit_cluster_replica_lag_entries",
            "gauge",
            "Leader only: entries a replica is not yet known to hold.",
        );
        for r in &st.replication {
            let _ = writeln!(
                out,
                "drkit_cluster_replica_lag_entries{{node=\"{}\"}} {}",
                r.node_id, r.lag_entries
            );
        }
        header(
            out,
            "drkit_cluster_replica_lag_ms",
            "gauge",
            "Leader only: age of the oldest entry a replica is not yet known to hold.",
        );
        for r in st.replication.iter().filter(|r| r.lag_ms.is_some()) {
            let _ = writeln!(
                out,
                "drkit_cluster_replica_lag_ms{{node=\"{}\"}} {}",
                r.node_id,
                r.lag_ms.unwrap_or(0)
            );
        }
        header(
            out,
            "drkit_cluster_replica_last_reply_ms",
            "gauge",
            "Leader only: ms since a replica last answered.",
        );
        for r in st.replication.iter().filter(|r| r.last_reply_ms.is_some()) {
            let _ = writeln!(
                out,
                "drkit_cluster_replica_last_reply_ms{{node=\"{}\"}} {}",
                r.node_id,
                r.last_reply_ms.unwrap_or(0)
            );
        }
        header(
            out,
            "drkit_cluster_peer_rtt_seconds",
            "gauge",
            "Leader only: round trip of the last answered call to a replica (with its fsync).",
        );
        for r in &st.replication {
            if let Some(us) = r.rtt_us {
                let _ = writeln!(
                    out,
                    "drkit_cluster_peer_rtt_seconds{{node=\"{}\"}} {:.6}",
                    r.node_id,
                    us as f64 / 1e6
                );
            }
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn render_engine(out: &mut String, engine: &Engine) {
    let s = engine.stats();
    let counters: [(&str, &str, &AtomicU64); 7] = [
        (
            "drkit_wal_bytes_total",
            "Bytes appended to the WAL.",
            &s.wal_bytes,
        ),
        ("drkit_wal_fsyncs_total", "fsyncs of the WAL.", &s.fsyncs),
        (
            "drkit_flushes_total",
            "Memtables flushed to L0.",
            &s.flushes,
        ),
        (
            "drkit_compactions_total",
            "Compactions run.",
            &s.compactions,
        ),
        (
            "drkit_compaction_read_bytes_total",
            "Bytes read by compactions.",
            &s.compaction_bytes_in,
        ),
        (
            "drkit_compaction_written_bytes_total",
            "Bytes written by compactions.",
            &s.compaction_bytes_out,
        ),
        (
            "drkit_group_commit_entries_total",
            "Entries written by group commits.",
            &s.batched_entries,
        ),
    ];
    for (name, help, c) in counters {
        header(out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", c.load(Ordering::Relaxed));
    }
    header(
        out,
        "drkit_group_commit_batch_size",
        "histogram",
        "Entries per group commit (one WAL write, one fsync under sync=always).",
    );
    let mut cumulative = 0;
    for (i, bound) in BATCH_SIZE_BUCKETS.iter().enumerate() {
        cumulative += s.batch_size_buckets[i].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "drkit_group_commit_batch_size_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += s.batch_size_buckets[BATCH_SIZE_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "drkit_group_commit_batch_size_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        out,
        "drkit_group_commit_batch_size_sum {}",
        s.batched_entries.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "drkit_group_commit_batch_size_count {cumulative}");
    header(
        out,
        "drkit_memtable_bytes",
        "gauge",
        "Bytes in active and frozen memtables.",
    );
    let _ = writeln!(out, "drkit_memtable_bytes {}", engine.memtable_bytes());
    header(
        out,
        "drkit_last_seq",
        "gauge",
        "Sequence of the last acknowledged write.",
    );
    let _ = writeln!(out, "drkit_last_seq {}", engine.last_seq());
    header(
        out,
        "drkit_checkpoint_seq",
        "gauge",
        "Every sequence up to this one is in SSTs (recovery replays the WAL after it).",
    );
    let _ = writeln!(out, "drkit_checkpoint_seq {}", engine.checkpoint_seq());
    let version = engine.version();
    header(out, "drkit_level_files", "gauge", "SST files per level.");
    for level in 0..LEVELS {
        let _ = writeln!(
            out,
            "drkit_level_files{{level=\"{level}\"}} {}",
            version.levels[level].len()
        );
    }
    header(out, "drkit_level_bytes", "gauge", "SST bytes per level.");
    for level in 0..LEVELS {
        let _ = writeln!(
            out,
            "drkit_level_bytes{{level=\"{level}\"}} {}",
            version.level_bytes(level)
        );
    }
    if let Some(c) = engine.block_cache_stats() {
        header(
            out,
            "drkit_block_cache_bytes",
            "gauge",
            "Decompressed SST blocks held in the block cache, bytes.",
        );
        let _ = writeln!(out, "drkit_block_cache_bytes {}", c.bytes);
        header(
            out,
            "drkit_block_cache_capacity_bytes",
            "gauge",
            "The block cache's capacity (serve --block-cache-mb).",
        );
        let _ = writeln!(out, "drkit_block_cache_capacity_bytes {}", c.capacity_bytes);
        header(
            out,
            "drkit_block_cache_hits_total",
            "counter",
            "Reads of a compressed SST block served from the block cache.",
        );
        let _ = writeln!(out, "drkit_block_cache_hits_total {}", c.hits);
        header(
            out,
            "drkit_block_cache_misses_total",
            "counter",
            "Reads of a compressed SST block that decompressed it.",
        );
        let _ = writeln!(out, "drkit_block_cache_misses_total {}", c.misses);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_series_include_commit_apply_lag_leader_change_and_rtt() {
        let st: crate::cluster::NodeStatus = serde_json::from_value(serde_json::json!({
            "node_id": 1, "role": "leader", "term": 4, "leader": 1,
            "last_log_index": 120, "last_applied_index": 118, "snapshot_index": null,
            "purged_index": null, "millis_since_quorum_ack": 3, "voters": [1, 2],
            "learners": [], "nodes": {}, "client_addr": null,
            "replication": [{ "node_id": 2, "matched": 120, "lag_entries": 0, "rtt_us": 450 }],
            "committed_index": 120, "apply_lag_entries": 2, "leader_changed_ms_ago": 1500
        }))
        .unwrap();
        let mut out = String::new();
        render_cluster(&mut out, &st);
        for line in [
            "drkit_cluster_commit_index 120",
            "drkit_cluster_apply_lag_entries 2",
            "drkit_cluster_leader_changed_seconds_ago 1.500",
            "drkit_cluster_peer_rtt_seconds{node=\"2\"} 0.000450",
            "drkit_cluster_elections_started_total 0",
        ] {
            assert!(out.contains(line), "{line} missing from:\n{out}");
        }
    }

    #[test]
    fn exposition_has_cumulative_histograms_and_engine_series() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), crate::engine::Options::default()).unwrap();
        engine.put(b"k", b"v").unwrap();
        let m = Metrics::default();
        let get = command_index("get");
        m.record(get, Duration::from_micros(70), false);
        m.record(get, Duration::from_micros(3_000), true);
        m.record(get, Duration::from_secs(3), false);
        assert_eq!(command_index("nosuch"), COMMANDS.len() - 1);
        let text = m.render(&engine, 2, Duration::from_secs(5));
        for want in [
            "drkit_requests_total{command=\"get\"} 3",
            "drkit_request_errors_total{command=\"get\"} 1",
            "drkit_request_duration_seconds_bucket{command=\"get\",le=\"0.00005\"} 0",
            "drkit_request_duration_seconds_bucket{command=\"get\",le=\"0.0001\"} 1",
            "drkit_request_duration_seconds_bucket{command=\"get\",le=\"0.005\"} 2",
            "drkit_request_duration_seconds_bucket{command=\"get\",le=\"1\"} 2",
            "drkit_request_duration_seconds_bucket{command=\"get\",le=\"+Inf\"} 3",
            "drkit_request_duration_seconds_count{command=\"get\"} 3",
            "drkit_connected_clients 2",
            "drkit_wal_fsyncs_total 1",
            "drkit_group_commit_batch_size_bucket{le=\"1\"} 1",
            "drkit_group_commit_batch_size_count 1",
            "drkit_last_seq 1",
            "drkit_level_files{level=\"0\"} 0",
            "drkit_block_cache_capacity_bytes 67108864",
            "drkit_block_cache_hits_total 0",
            "# TYPE drkit_block_cache_misses_total counter",
            "# TYPE drkit_request_duration_seconds histogram",
        ] {
            assert!(text.contains(want), "missing `{want}` in\n{text}");
        }
        // Every sample line is `name{labels} number`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line {line}");
        }
    }
}
