//! One node's view of the cluster, from openraft's metrics: what `cluster status`, INFO
//! replication and the Prometheus metrics show.

use std::collections::BTreeMap;

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
        }
    }
}
