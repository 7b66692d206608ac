//! What `serve` needs from the node in cluster mode: writes through the Raft log, answered
//! once a majority of voters holds them and they are applied, and the read barrier that makes
//! a leader's reads linearizable.
//!
//! openraft runs on its own multi-threaded runtime; serve's event loop reaches it through a
//! runtime handle, so a write waits without blocking the loop, and the blocking pool waits
//! on a channel.

use openraft::Raft;
use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use tokio::runtime::Handle;

use super::{ClusterNode, Command, LogStore, NodeId, NodeStatus, Request, TypeConfig};
use crate::engine::BatchOp;
use crate::format::entry::EntryType;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// Another node leads: its client address when known.
    #[error("not the leader")]
    NotLeader { leader: Option<ClusterNode> },
    /// No leader right now (an election is under way, or no quorum).
    #[error("no leader")]
    NoLeader,
    #[error("{0}")]
    Other(String),
}

#[derive(Clone)]
pub struct ClusterClient {
    raft: Raft<TypeConfig>,
    log: LogStore,
    rt: Handle,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient").finish_non_exhaustive()
    }
}

fn command(op: BatchOp) -> Command {
    let (kind, key, value) = op.into_entry();
    match kind {
        EntryType::Delete => Command::Delete { key },
        EntryType::OrderInsert => Command::Order { key, value },
        EntryType::TradeExecuted => Command::Trade { key, value },
        EntryType::AccountUpdate => Command::Account { key, value },
        _ => Command::Put { key, value },
    }
}

fn forward_error(leader_id: Option<NodeId>, leader_node: Option<ClusterNode>) -> ClusterError {
    match (leader_id, leader_node) {
        (Some(_), Some(n)) => ClusterError::NotLeader { leader: Some(n) },
        (Some(_), None) => ClusterError::NotLeader { leader: None },
        (None, _) => ClusterError::NoLeader,
    }
}

fn write_error(e: RaftError<NodeId, ClientWriteError<NodeId, ClusterNode>>) -> ClusterError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            forward_error(f.leader_id, f.leader_node)
        }
        other => ClusterError::Other(other.to_string()),
    }
}

impl ClusterClient {
    pub fn new(raft: Raft<TypeConfig>, log: LogStore, rt: Handle) -> ClusterClient {
        ClusterClient { raft, log, rt }
    }

    pub fn status(&self) -> NodeStatus {
        NodeStatus::from_metrics(&self.raft.metrics().borrow())
    }

    /// Proposes every op (in order) and waits until all are committed and applied;
    /// returns the last one's log index.
    pub async fn write(&self, ops: Vec<BatchOp>) -> Result<u64, ClusterError> {
        let raft = self.raft.clone();
        let log = self.log.clone();
        let task = self.rt.spawn(async move {
            // Never earlier than the log's newest entry, so time never goes backwards along
            // the log, whichever node led before.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            let ts = now.max(log.last_timestamp());
            let mut waits = Vec::with_capacity(ops.len());
            for op in ops {
                let request = Request {
                    timestamp_ns: ts,
                    command: command(op),
                };
                let rx = raft
                    .client_write_ff(request)
                    .await
                    .map_err(|e| ClusterError::Other(e.to_string()))?;
                waits.push(rx);
            }
            let mut last = 0;
            for rx in waits {
                match rx.await {
                    Ok(Ok(r)) => last = r.log_id.index,
                    Ok(Err(e)) => return Err(write_error(RaftError::APIError(e))),
                    Err(_) => return Err(ClusterError::Other("Raft stopped".into())),
                }
            }
            Ok(last)
        });
        task.await
            .unwrap_or_else(|e| Err(ClusterError::Other(e.to_string())))
    }

    /// [`ClusterClient::write`] from a thread outside any runtime's event loop (serve's
    /// blocking pool).
    pub fn write_blocking(&self, ops: Vec<BatchOp>) -> Result<u64, ClusterError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let me = self.clone();
        self.rt.spawn(async move {
            let _ = tx.send(me.write(ops).await);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(ClusterError::Other("Raft stopped".into())))
    }

    /// WAIT: how many other nodes hold every entry this node's log had when it was called,
    /// waiting up to `timeout` (None: until `want` do) for `want` of them. 0 on a non-leader,
    /// which does not track its peers.
    pub fn wait_replicas_blocking(
        &self,
        want: usize,
        timeout: Option<std::time::Duration>,
    ) -> usize {
        let mut metrics = self.raft.metrics();
        let target = metrics.borrow().last_log_index;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let held = {
                let m = metrics.borrow_and_update();
                m.replication.as_ref().map_or(0, |r| {
                    r.iter()
                        .filter(|(id, matched)| {
                            **id != m.id
                                && matched
                                    .map(|l| Some(l.index) >= target)
                                    .unwrap_or(target.is_none())
                        })
                        .count()
                })
            };
            if held >= want || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return held;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Waits until this node is known to be the leader of a quorum and has applied every
    /// entry committed before the call (openraft's ReadIndex): a read after it sees every
    /// write acknowledged before it began.
    pub fn read_barrier_blocking(&self) -> Result<(), ClusterError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let raft = self.raft.clone();
        self.rt.spawn(async move {
            let r = match raft.ensure_linearizable().await {
                Ok(_) => Ok(()),
                Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => {
                    Err(forward_error(f.leader_id, f.leader_node))
                }
                Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_))) => {
                    Err(ClusterError::NoLeader)
                }
                Err(e) => Err(ClusterError::Other(e.to_string())),
            };
            let _ = tx.send(r);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(ClusterError::Other("Raft stopped".into())))
    }
}
