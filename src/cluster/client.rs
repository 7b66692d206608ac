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

use super::election::Contact;
use super::{
    ClusterNode, Command, LogStore, Node, NodeId, NodeStats, NodeStatus, Request, Response,
    TypeConfig,
};
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
    /// Proposed but not committed in time: the leader may have lost its quorum. The write
    /// may still commit later, so its outcome is unknown.
    #[error("not committed within {0:?}")]
    Timeout(std::time::Duration),
    #[error("{0}")]
    Other(String),
}

type WriteResult = Result<Response, ClusterError>;

/// What a client asks to propose.
enum Proposal {
    /// Plain writes: folded with other clients' into one entry.
    Writes(Vec<BatchOp>),
    /// A command whose answer the state machine decides (SET NX, DEL's count): an entry of
    /// its own, so the answer is its alone.
    Alone(Command),
}

impl Proposal {
    fn writes(&self) -> usize {
        match self {
            Proposal::Writes(ops) => ops.len(),
            Proposal::Alone(_) => 1,
        }
    }
}

/// A proposal waiting for the next round; `done` hands the outcome to the async or the
/// blocking caller.
struct Pending {
    proposal: Proposal,
    done: Box<dyn FnOnce(WriteResult) + Send>,
}

#[derive(Default)]
struct Batcher {
    queue: std::sync::Mutex<Vec<Pending>>,
    arrived: tokio::sync::Notify,
    /// The proposer task starts with the first proposal.
    proposer: std::sync::OnceLock<()>,
}

impl Batcher {
    fn len(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Most writes folded into one Raft entry.
const MAX_BATCH_WRITES: usize = 4096;

/// Set (to anything) in the environment of a test only: the leader acknowledges writes
/// before they commit. The fault-injection harness must catch the writes this loses.
pub const UNSAFE_ACK_BEFORE_COMMIT_ENV: &str = "DRKIT_UNSAFE_ACK_BEFORE_COMMIT";

#[derive(Clone)]
pub struct ClusterClient {
    raft: Raft<TypeConfig>,
    rt: Handle,
    batcher: std::sync::Arc<Batcher>,
    write_timeout: std::time::Duration,
    log: LogStore,
    stats: std::sync::Arc<NodeStats>,
    contact: std::sync::Arc<Contact>,
    /// A follower that has not heard from its leader for this long stops sending clients
    /// there (see [`ClusterClient::unless_leader_silent`]).
    leader_silent_after: std::time::Duration,
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

/// openraft's fatal stop other than one asked for (shutdown).
pub fn fatal_of(raft: &Raft<TypeConfig>) -> Option<String> {
    raft.metrics()
        .borrow()
        .running_state
        .as_ref()
        .err()
        .filter(|e| !matches!(e, openraft::error::Fatal::Stopped))
        .map(ToString::to_string)
}

fn stopped() -> ClusterError {
    ClusterError::Other("Raft stopped".into())
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

/// Proposes what the clients queued, one Raft entry at a time: while one is being
/// replicated and fsynced, the next round's writes gather, so a busy leader spends one
/// round, and one fsync on each node, on many writes.
async fn propose_loop(
    raft: Raft<TypeConfig>,
    log: LogStore,
    batcher: std::sync::Arc<Batcher>,
    unsafe_ack_early: bool,
) {
    loop {
        batcher.arrived.notified().await;
        loop {
            // To the end of the turn, and on while each turn brings more: every client whose
            // write has arrived joins this round (the clients the last round answered send
            // their next writes now) instead of waiting a whole round behind it.
            loop {
                let queued = batcher.len();
                tokio::task::yield_now().await;
                if batcher.len() == queued {
                    break;
                }
            }
            let batch: Vec<Pending> = {
                let mut q = batcher
                    .queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let mut writes = 0;
                let take = q
                    .iter()
                    .take_while(|p| {
                        writes += p.proposal.writes();
                        writes <= MAX_BATCH_WRITES && matches!(p.proposal, Proposal::Writes(_))
                    })
                    .count()
                    .max(1)
                    .min(q.len());
                q.drain(..take).collect()
            };
            if batch.is_empty() {
                break;
            }
            // Never earlier than the log's newest entry, so time never goes backwards along
            // the log, whichever node led before.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            let ts = now.max(log.last_timestamp());
            let mut commands: Vec<Command> = Vec::new();
            let mut waiting = Vec::with_capacity(batch.len());
            for p in batch {
                match p.proposal {
                    Proposal::Writes(ops) => commands.extend(ops.into_iter().map(command)),
                    Proposal::Alone(c) => commands.push(c),
                }
                if unsafe_ack_early {
                    (p.done)(Ok(Response::default()));
                } else {
                    waiting.push(p.done);
                }
            }
            let command = if commands.len() == 1 {
                commands.remove(0)
            } else {
                Command::Batch(commands)
            };
            let result = raft
                .client_write(Request {
                    timestamp_ns: ts,
                    command,
                })
                .await
                .map(|r| r.data)
                .map_err(write_error);
            for w in waiting {
                w(result.clone());
            }
        }
    }
}

impl ClusterClient {
    /// `rt` is the runtime openraft runs on; the proposer task starts there. A write not
    /// committed within `write_timeout` is answered [`ClusterError::Timeout`], so a client of
    /// a leader cut off from its quorum gets an error instead of a hang.
    pub fn new(node: &Node, rt: Handle) -> ClusterClient {
        let (raft, log, stats) = (
            node.raft.clone(),
            node.log.clone(),
            std::sync::Arc::clone(&node.stats),
        );
        let batcher = std::sync::Arc::new(Batcher::default());
        ClusterClient {
            raft,
            rt,
            batcher,
            write_timeout: node.timing.client_timeout(),
            log,
            stats,
            contact: std::sync::Arc::clone(&node.contact),
            leader_silent_after: node.timing.election_min,
        }
    }

    /// `NotLeader` turned into `NoLeader` when this node has not heard from that leader for
    /// an election timeout: it is probably dead or cut off, and sending the client there
    /// would only cost it a timeout; asked again, this node names the next leader as soon
    /// as there is one.
    fn unless_leader_silent<T>(&self, r: Result<T, ClusterError>) -> Result<T, ClusterError> {
        match r {
            Err(ClusterError::NotLeader { .. })
                if self
                    .contact
                    .last()
                    .is_none_or(|t| t.elapsed() >= self.leader_silent_after) =>
            {
                Err(ClusterError::NoLeader)
            }
            other => other,
        }
    }

    pub fn status(&self) -> NodeStatus {
        NodeStatus::observe(&self.raft.metrics().borrow(), &self.stats, &self.log)
    }

    /// Why Raft stopped on its own (a storage error, such as a log that conflicts with the
    /// cluster's committed log), if it did: the node must then stop serving, since what it
    /// holds may not be the cluster's.
    pub fn fatal(&self) -> Option<String> {
        fatal_of(&self.raft)
    }

    /// The answer on `rx`, or Timeout once the client timeout has passed.
    fn answer_within<T>(
        &self,
        rx: &std::sync::mpsc::Receiver<Result<T, ClusterError>>,
    ) -> Result<T, ClusterError> {
        match rx.recv_timeout(self.write_timeout) {
            Ok(r) => r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                Err(ClusterError::Timeout(self.write_timeout))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(stopped()),
        }
    }

    fn enqueue(&self, proposal: Proposal, done: Box<dyn FnOnce(WriteResult) + Send>) {
        self.batcher.proposer.get_or_init(|| {
            // On the runtime of the first writer (serve's event loop), so that its yields
            // let every connection whose request has arrived queue it first, as serve's
            // standalone committer does. From outside any runtime: openraft's.
            let rt = Handle::try_current().unwrap_or_else(|_| self.rt.clone());
            let unsafe_ack_early = std::env::var_os(UNSAFE_ACK_BEFORE_COMMIT_ENV).is_some();
            rt.spawn(propose_loop(
                self.raft.clone(),
                self.log.clone(),
                std::sync::Arc::clone(&self.batcher),
                unsafe_ack_early,
            ));
        });
        self.batcher
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Pending { proposal, done });
        self.batcher.arrived.notify_one();
    }

    /// Proposes `ops` (atomically: one Raft entry, shared with other clients' concurrent
    /// writes) and waits until it is committed and applied; returns its log index.
    pub async fn write(&self, ops: Vec<BatchOp>) -> Result<u64, ClusterError> {
        if ops.is_empty() {
            return Ok(0);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(
            Proposal::Writes(ops),
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        let r = match tokio::time::timeout(self.write_timeout, rx).await {
            Ok(r) => r.unwrap_or_else(|_| Err(stopped())),
            Err(_) => Err(ClusterError::Timeout(self.write_timeout)),
        };
        self.unless_leader_silent(r.map(|r| r.index))
    }

    /// [`ClusterClient::write`] from a thread outside any runtime's event loop (serve's
    /// blocking pool).
    pub fn write_blocking(&self, ops: Vec<BatchOp>) -> Result<u64, ClusterError> {
        if ops.is_empty() {
            return Ok(0);
        }
        self.propose_blocking(Proposal::Writes(ops))
            .map(|r| r.index)
    }

    /// Proposes `command` as an entry of its own and returns what the state machine
    /// answered when it applied it (a PutIf's outcome, how many deletes found their key):
    /// the answer every node computes at that point of the log, whichever node leads.
    pub fn decide_blocking(&self, command: Command) -> Result<Response, ClusterError> {
        self.propose_blocking(Proposal::Alone(command))
    }

    fn propose_blocking(&self, proposal: Proposal) -> Result<Response, ClusterError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.enqueue(
            proposal,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        self.unless_leader_silent(self.answer_within(&rx))
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
        self.unless_leader_silent(self.answer_within(&rx))
    }
}
