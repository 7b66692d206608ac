//! INFO: the server's state as Redis-style `# Section` blocks of `field:value` lines, and the
//! parser `drkit status` reads them back with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::command::Shared;
use crate::engine::LEVELS;
use crate::format::record;

/// Sections in INFO's default output, in order.
pub const SECTIONS: [&str; 7] = [
    "server",
    "clients",
    "persistence",
    "stats",
    "replication",
    "levels",
    "keyspace",
];

/// INFO replication of a cluster node: Redis's role fields, then Raft's.
fn cluster_replication(out: &mut String, st: &crate::cluster::NodeStatus) {
    let leader = st.role == "leader";
    let _ = writeln!(out, "role:{}\r", if leader { "master" } else { "slave" });
    let _ = writeln!(out, "cluster_role:{}\r", st.role);
    let _ = writeln!(out, "cluster_node_id:{}\r", st.node_id);
    // Named so that a tool given this client port by mistake can point to the Raft port.
    if let Some(me) = st.nodes.get(&st.node_id) {
        let _ = writeln!(out, "cluster_raft_addr:{}\r", me.raft_addr);
    }
    let _ = writeln!(out, "cluster_term:{}\r", st.term);
    let _ = writeln!(
        out,
        "cluster_leader:{}\r",
        st.leader.map_or("none".to_string(), |l| l.to_string())
    );
    let _ = writeln!(
        out,
        "raft_last_log_index:{}\r",
        st.last_log_index.unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "raft_applied_index:{}\r",
        st.last_applied_index.unwrap_or(0)
    );
    let _ = writeln!(
        out,
        "raft_snapshot_index:{}\r",
        st.snapshot_index.unwrap_or(0)
    );
    if let Some(ms) = st.millis_since_quorum_ack {
        let _ = writeln!(out, "millis_since_quorum_ack:{ms}\r");
    }
    let _ = writeln!(
        out,
        "master_repl_offset:{}\r",
        st.last_log_index.unwrap_or(0)
    );
    let _ = writeln!(out, "connected_slaves:{}\r", st.replication.len());
    for (i, r) in st.replication.iter().enumerate() {
        let learner = st.learners.contains(&r.node_id);
        let _ = writeln!(
            out,
            "slave{i}:node_id={},matched={},lag_entries={},lag_ms={},last_reply_ms={},kind={}\r",
            r.node_id,
            r.matched.map_or("none".to_string(), |m| m.to_string()),
            r.lag_entries,
            r.lag_ms.map_or("unknown".to_string(), |m| m.to_string()),
            r.last_reply_ms
                .map_or("never".to_string(), |m| m.to_string()),
            if learner { "learner" } else { "voter" }
        );
    }
    let _ = writeln!(out, "cluster_elections_started:{}\r", st.elections_started);
    let _ = writeln!(out, "cluster_terms_led:{}\r", st.terms_led);
    let _ = writeln!(
        out,
        "raft_commit_index:{}\r",
        st.committed_index.unwrap_or(0)
    );
    let _ = writeln!(out, "raft_apply_lag_entries:{}\r", st.apply_lag_entries);
    if let Some(at) = &st.leader_changed_at {
        let _ = writeln!(out, "cluster_leader_changed_at:{at}\r");
    }
    let _ = writeln!(out, "cluster_snapshots_sent:{}\r", st.snapshots_sent);
}

/// `sections` empty, `default`, `all` or `everything` means every section.
pub fn render(shared: &Shared, sections: &[String]) -> crate::Result<String> {
    let all = sections.is_empty()
        || sections
            .iter()
            .any(|s| matches!(s.as_str(), "all" | "default" | "everything"));
    let want = |name: &str| all || sections.iter().any(|s| s == name);
    let engine = &shared.engine;
    let stats = engine.stats();
    let mut out = String::new();
    if want("server") {
        let _ = writeln!(out, "# Server\r");
        // Clients such as redis-py read redis_version to pick features; drkit answers like
        // the Redis 7.0 subset it implements.
        let _ = writeln!(out, "redis_version:7.0.0\r");
        let _ = writeln!(out, "drkit_version:{}\r", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "redis_mode:standalone\r");
        let _ = writeln!(out, "os:{}\r", std::env::consts::OS);
        let _ = writeln!(out, "process_id:{}\r", std::process::id());
        let _ = writeln!(out, "tcp_port:{}\r", shared.port);
        let _ = writeln!(
            out,
            "uptime_in_seconds:{}\r",
            shared.started.elapsed().as_secs()
        );
        let _ = writeln!(out, "data_dir:{}\r", engine.dir().display());
        let _ = writeln!(out, "\r");
    }
    if want("clients") {
        let _ = writeln!(out, "# Clients\r");
        let _ = writeln!(
            out,
            "connected_clients:{}\r",
            shared.clients.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "maxclients:{}\r", shared.cfg.max_clients);
        let _ = writeln!(out, "blocked_clients:0\r");
        let _ = writeln!(out, "\r");
    }
    if want("persistence") {
        let secs = |ms: u64| if ms == 0 { -1 } else { (ms / 1000) as i64 };
        let _ = writeln!(out, "# Persistence\r");
        let _ = writeln!(out, "sync_policy:{}\r", engine.options().sync);
        let _ = writeln!(out, "checkpoint_seq:{}\r", engine.checkpoint_seq());
        let _ = writeln!(out, "last_seq:{}\r", engine.last_seq());
        let _ = writeln!(
            out,
            "wal_bytes_written:{}\r",
            stats.wal_bytes.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "wal_fsyncs:{}\r", stats.fsyncs.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "group_commits:{}\r",
            stats.batches.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "memtable_bytes:{}\r", engine.memtable_bytes());
        let _ = writeln!(
            out,
            "sst_compression:{}\r",
            engine.options().sst.compression
        );
        if let Some(c) = engine.block_cache_stats() {
            let _ = writeln!(out, "block_cache_bytes:{}\r", c.bytes);
            let _ = writeln!(out, "block_cache_capacity_bytes:{}\r", c.capacity_bytes);
            let _ = writeln!(out, "block_cache_hits:{}\r", c.hits);
            let _ = writeln!(out, "block_cache_misses:{}\r", c.misses);
        }
        let _ = writeln!(out, "flushes:{}\r", stats.flushes.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "last_flush_time:{}\r",
            secs(stats.last_flush_unix_ms.load(Ordering::Relaxed))
        );
        let _ = writeln!(
            out,
            "compactions:{}\r",
            stats.compactions.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "last_compaction_time:{}\r",
            secs(stats.last_compaction_unix_ms.load(Ordering::Relaxed))
        );
        let _ = writeln!(out, "\r");
    }
    if want("stats") {
        let _ = writeln!(out, "# Stats\r");
        let m = &shared.metrics;
        let _ = writeln!(
            out,
            "total_connections_received:{}\r",
            m.connections_total.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "total_commands_processed:{}\r", m.total_requests());
        let _ = writeln!(
            out,
            "instantaneous_ops_per_sec:{}\r",
            shared.ops_per_sec.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "rejected_connections:{}\r",
            m.rejected_max_clients.load(Ordering::Relaxed)
                + m.rejected_protected_mode.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "\r");
    }
    if want("replication") {
        let _ = writeln!(out, "# Replication\r");
        match &shared.cluster {
            None => {
                let _ = writeln!(out, "role:master\r");
                let _ = writeln!(out, "connected_slaves:0\r");
                let _ = writeln!(out, "master_repl_offset:{}\r", engine.last_seq());
            }
            Some(c) => cluster_replication(&mut out, &c.status()),
        }
        let _ = writeln!(out, "\r");
    }
    if want("levels") {
        let version = engine.version();
        let _ = writeln!(out, "# Levels\r");
        for level in 0..LEVELS {
            let _ = writeln!(
                out,
                "level{level}:files={},bytes={}\r",
                version.levels[level].len(),
                version.level_bytes(level)
            );
        }
        let _ = writeln!(out, "\r");
    }
    if want("keyspace") {
        // A full count: the LSM keeps no live-key counter (an overwrite and a new key look
        // the same to a write), so this walks the key space once.
        let mut counts = [0u64; 4];
        for r in engine.scan(&[], std::ops::Bound::Unbounded)? {
            let (k, _) = r?;
            match k.first() {
                Some(&record::PLAIN_PREFIX) => counts[0] += 1,
                Some(&record::ORDER_PREFIX) => counts[1] += 1,
                Some(&record::TRADE_PREFIX) => counts[2] += 1,
                Some(&record::ACCOUNT_PREFIX) => counts[3] += 1,
                _ => {}
            }
        }
        let _ = writeln!(out, "# Keyspace\r");
        if counts[0] > 0 {
            let _ = writeln!(out, "db0:keys={},expires=0,avg_ttl=0\r", counts[0]);
        }
        let _ = writeln!(
            out,
            "records:orders={},trades={},accounts={}\r",
            counts[1], counts[2], counts[3]
        );
        let _ = writeln!(out, "\r");
    }
    Ok(out)
}

/// INFO text as section (lower case) -> field -> value.
pub fn parse(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim_end) {
        if let Some(name) = line.strip_prefix("# ") {
            section = name.to_ascii_lowercase();
        } else if let Some((k, v)) = line.split_once(':') {
            out.entry(section.clone())
                .or_default()
                .insert(k.to_string(), v.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_sections_and_fields() {
        let text = "# Server\r\nredis_version:7.0.0\r\nuptime_in_seconds:5\r\n\r\n# Levels\r\nlevel0:files=1,bytes=10\r\n";
        let p = parse(text);
        assert_eq!(p["server"]["uptime_in_seconds"], "5");
        assert_eq!(p["levels"]["level0"], "files=1,bytes=10");
    }
}
