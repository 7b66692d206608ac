//! One node's view of the cluster, from openraft's metrics: what `cluster status`, INFO
//! replication and the Prometheus metrics show.

use std::collections::BTreeMap;

use std::sync::atomic::{AtomicU64, Ordering};

use openraft::{RaftMetrics, ServerState};
use serde::{Deserialize, Serialize};

use super::{ClusterNode, NodeId};

/// How far one replica has got, as its leader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaProgress {
    pub node_id: NodeId,
    /// The highest log index known to be on that node (None: nothing yet).
    pub matched: Option<u64>,
    /// Entries the leader has that the replica is not known to have.
    pub lag_entries: u64,
    /// How old the oldest of those entries is (0 when caught up; None when unknown).
    #[serde(default)]
    pub lag_ms: Option<u64>,
    /// Milliseconds since the replica last answered the leader (None: never, or unknown).
    #[serde(default)]
    pub last_reply_ms: Option<u64>,
    /// Round trip of the last call to the replica that was answered, in microseconds
    /// (includes the replica's work: an append's fsync).
    #[serde(default)]
    pub rtt_us: Option<u64>,
}

/// Counters a node keeps beside openraft's metrics.
#[derive(Debug, Default)]
pub struct NodeStats {
    /// Per peer: when it last answered, and that call's round trip.
    last_reply: std::sync::Mutex<BTreeMap<NodeId, (std::time::Instant, std::time::Duration)>>,
    /// When this node last saw the leader change (None: not since it started).
    leader_changed: std::sync::Mutex<Option<std::time::SystemTime>>,
    pub snapshots_sent: AtomicU64,
    pub elections_started: AtomicU64,
    pub terms_led: AtomicU64,
}

impl NodeStats {
    pub fn replied(&self, node: NodeId, rtt: std::time::Duration) {
        self.lock().insert(node, (std::time::Instant::now(), rtt));
    }

    /// How long since `node` last answered this node, if it ever did.
    pub fn since_reply(&self, node: NodeId) -> Option<std::time::Duration> {
        self.last_reply(node).map(|(t, _)| t.elapsed())
    }

    fn last_reply(&self, node: NodeId) -> Option<(std::time::Instant, std::time::Duration)> {
        self.lock().get(&node).copied()
    }

    pub fn leader_changed(&self) {
        *self
            .leader_changed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(std::time::SystemTime::now());
    }

    fn leader_changed_at(&self) -> Option<std::time::SystemTime> {
        *self
            .leader_changed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, (std::time::Instant, std::time::Duration)>>
    {
        self.last_reply
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node_id: NodeId,
    /// leader | follower | candidate | learner
    pub role: String,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub last_log_index: Option<u64>,
    pub last_applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    /// Leader only: milliseconds since a quorum last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
    pub nodes: BTreeMap<NodeId, ClusterNode>,
    /// Leader only: every other member's progress.
    pub replication: Vec<ReplicaProgress>,
    /// Where this node serves clients (its `serve --listen`), when it said.
    pub client_addr: Option<String>,
    /// Snapshots this node sent to lagging replicas, since it started.
    #[serde(default)]
    pub snapshots_sent: u64,
    /// Elections this node stood in, since it started.
    #[serde(default)]
    pub elections_started: u64,
    /// Terms this node won, since it started.
    #[serde(default)]
    pub terms_led: u64,
    /// The committed index as this node knows it.
    #[serde(default)]
    pub committed_index: Option<u64>,
    /// Committed entries not applied yet.
    #[serde(default)]
    pub apply_lag_entries: u64,
    /// When this node last saw the leader change (RFC 3339), and how long ago in ms.
    #[serde(default)]
    pub leader_changed_at: Option<String>,
    #[serde(default)]
    pub leader_changed_ms_ago: Option<u64>,
}

impl NodeStatus {
    pub fn from_metrics(m: &RaftMetrics<NodeId, ClusterNode>) -> NodeStatus {
        let membership = m.membership_config.membership();
        let voters: Vec<NodeId> = membership.voter_ids().collect();
        let learners: Vec<NodeId> = membership.learner_ids().collect();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Follower if learners.contains(&m.id) => "learner",
            ServerState::Learner => "learner",
            ServerState::Follower => "follower",
            ServerState::Shutdown => "shutdown",
        };
        let last = m.last_log_index.unwrap_or(0);
        let replication = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .filter(|(id, _)| **id != m.id)
                    .map(|(id, matched)| {
                        let matched = matched.map(|l| l.index);
                        ReplicaProgress {
                            node_id: *id,
                            matched,
                            lag_entries: match matched {
                                Some(i) => last.saturating_sub(i),
                                None => m.last_log_index.map_or(0, |l| l + 1),
                            },
                            lag_ms: None,
                            last_reply_ms: None,
                            rtt_us: None,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        NodeStatus {
            node_id: m.id,
            role: role.to_string(),
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index,
            last_applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            millis_since_quorum_ack: m.millis_since_quorum_ack,
            voters,
            learners,
            nodes: membership.nodes().map(|(id, n)| (*id, n.clone())).collect(),
            replication,
            client_addr: None,
            snapshots_sent: 0,
            elections_started: 0,
            terms_led: 0,
            committed_index: None,
            apply_lag_entries: 0,
            leader_changed_at: None,
            leader_changed_ms_ago: None,
        }
    }

    /// [`NodeStatus::from_metrics`] with this node's counters, and each replica's lag in
    /// time: the age of the oldest entry in `log` it is not known to hold.
    pub fn observe(
        m: &RaftMetrics<NodeId, ClusterNode>,
        stats: &NodeStats,
        log: &super::LogStore,
    ) -> NodeStatus {
        let mut st = NodeStatus::from_metrics(m);
        st.snapshots_sent = stats.snapshots_sent.load(Ordering::Relaxed);
        st.elections_started = stats.elections_started.load(Ordering::Relaxed);
        st.terms_led = stats.terms_led.load(Ordering::Relaxed);
        st.committed_index = log.committed_index();
        st.apply_lag_entries = st
            .committed_index
            .unwrap_or(0)
            .saturating_sub(st.last_applied_index.unwrap_or(0));
        if let Some(at) = stats.leader_changed_at() {
            st.leader_changed_at = Some(
                chrono::DateTime::<chrono::Utc>::from(at)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
            st.leader_changed_ms_ago = at.elapsed().ok().map(|d| d.as_millis() as u64);
        }
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        for r in &mut st.replication {
            let reply = stats.last_reply(r.node_id);
            r.last_reply_ms = reply.map(|(t, _)| t.elapsed().as_millis() as u64);
            r.rtt_us = reply.map(|(_, rtt)| rtt.as_micros() as u64);
            r.lag_ms = if r.lag_entries == 0 {
                Some(0)
            } else {
                let first_missing = r.matched.map_or(0, |i| i + 1);
                log.timestamp_at(first_missing)
                    .map(|ts| (now_ns.saturating_sub(ts).max(0) / 1_000_000) as u64)
            };
        }
        st
    }
}
