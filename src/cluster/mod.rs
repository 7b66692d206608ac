//! Replication and failover on openraft: the Raft log is the engine's WAL (log index = engine
//! sequence, the term in every entry), the state machine is the engine, and only committed
//! entries reach the memtable.
//!
//! - `log_store`: [`LogStore`], openraft's `RaftLogStorage` over DIR/wal and DIR/raft/state.
//! - `state_machine`: [`StateMachine`], openraft's `RaftStateMachine` over [`Engine`], with
//!   snapshots that carry the SSTs of a flushed checkpoint (`snapshot`).
//! - `entry`: how a Raft entry is laid out as a WAL entry, both ways.
//! - `offline`, `export`: a stopped node's committed state, read in place (get, scan) or
//!   written out as a standalone dir (backups).
//! - `seed`, `force_new`: a node dir made from committed state alone, for a new cluster
//!   restored from a backup, or a survivor of a lost quorum as a one-voter cluster.
//! - `wire`, `network`, `node`: the peer protocol, its client (openraft's network, admin
//!   calls) and a running node with its listener.
//!
//! Safety never depends on clocks: votes, the committed index and the log are durable before
//! openraft is told so, and a node refuses to start on a damaged vote or log rather than
//! guess.
//!
//! [`Engine`]: crate::engine::Engine

pub mod client;
mod election;
mod entry;
pub mod export;
pub mod force_new;
mod leader_seen;
mod log_store;
pub mod network;
pub mod node;
pub mod node_log;
pub mod offline;
mod peer_watch;
mod probe;
pub mod seed;
pub mod snapshot;
mod state_machine;
pub mod status;
mod timing;
pub mod wire;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::format::entry::PutCondition;

pub use client::{ClusterClient, ClusterError, UNSAFE_ACK_BEFORE_COMMIT_ENV};
pub use entry::{decode_entry, encode_entry};
pub use log_store::LogStore;
pub use node::{Node, NodeConfig, Timing};
pub use node_log::NodeLog;
pub use state_machine::{AppliedState, StateMachine};
pub use status::{NodeStats, NodeStatus};

/// A cluster member: where its peers reach it, and where its clients do (named in `-MOVED`
/// replies, so a client can follow the leader).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    pub raft_addr: String,
    pub client_addr: String,
}

impl fmt::Display for ClusterNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "raft {} client {}", self.raft_addr, self.client_addr)
    }
}

/// A client command as the Raft log carries it. Keys are engine keys (prefix included), so
/// applying one is a plain memtable insert on every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        key: Vec<u8>,
    },
    Order {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Trade {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Account {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// SET NX / XX / GET: a put that the state machine decides when it applies the entry,
    /// so every node, and a client asking again after a leader change, gets one answer.
    PutIf {
        key: Vec<u8>,
        value: Vec<u8>,
        when: PutCondition,
    },
    /// Several writes in one entry: a leader folds its clients' concurrent writes together,
    /// so one round of fsyncs and replication carries them all. Never nested.
    Batch(Vec<Command>),
}

/// The application data of a Raft entry. The leader stamps the time (never earlier than its
/// log's last entry), so every node stores the same bytes and point-in-time restore selects
/// on a time that never goes backwards along the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub timestamp_ns: i64,
    pub command: Command,
}

/// What applying an entry answers: its log index, and what its writes found, decided at
/// that point of the log (the same on every node).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub index: u64,
    /// Deletes in the entry whose key was live just before them (DEL's answer).
    pub deleted: u64,
    /// The entry's last PutIf, if it held one: whether it wrote, and the value it found.
    pub put_if: Option<PutIfOutcome>,
}

/// How a PutIf went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutIfOutcome {
    pub written: bool,
    /// The key's value before the entry (None: absent).
    pub old: Option<Vec<u8>>,
}

openraft::declare_raft_types!(
    /// drkit's Raft types: u64 node ids, snapshots as files.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = ClusterNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type NodeId = u64;
pub type LogId = openraft::LogId<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;

/// openraft's storage errors carry any error; ours keep their file and offset in the text.
fn storage_error(
    verb: openraft::ErrorVerb,
    subject: openraft::ErrorSubject<NodeId>,
    e: impl std::error::Error + 'static,
) -> StorageError {
    openraft::StorageIOError::new(subject, verb, openraft::AnyError::new(&e)).into()
}

#[cfg(test)]
mod node_tests;
#[cfg(test)]
mod tests;
