//! A running cluster node: the engine in cluster mode, its Raft log and state machine,
//! openraft, and the peer listener (wire.rs) that serves Raft RPCs and admin requests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{ChangeMembershipError, ClientWriteError, InitializeError, RaftError};
use openraft::raft::AppendEntriesResponse;
use openraft::{ChangeMembers, Config, Raft, SnapshotPolicy};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::election::{self, Contact};
use super::leader_seen::{self, LeaderSeen};
use super::network::{Identity, Network};
use super::node_log::NodeLog;
use super::status::{NodeStats, NodeStatus};
pub use super::timing::Timing;
use super::wire::{
    self, Handshake, KIND_HANDSHAKE, KIND_REPLY, KIND_REQUEST, MAX_FRAME, MAX_HELLO, PeerReply,
    PeerRequest,
};
use super::{ClusterNode, LogStore, NodeId, Request, Response, StateMachine, TypeConfig};
use crate::engine::{Engine, Options};
use crate::error::{Error, Result};

/// Where the node reports what it refused or adopted (serve prints it on stderr).
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub node_id: NodeId,
    /// Where the peer listener binds.
    pub raft_listen: String,
    /// Where this node serves clients: `cluster init` names it in the membership, so
    /// followers can send clients to the leader.
    pub client_addr: String,
    pub secret: Vec<u8>,
    pub timing: Timing,
    pub engine: Options,
    /// Peers reached at another address than the membership names (a NAT or a proxy in
    /// between).
    pub routes: BTreeMap<NodeId, String>,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("data_dir", &self.data_dir)
            .field("node_id", &self.node_id)
            .field("raft_listen", &self.raft_listen)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

/// A started node. Dropping it does not stop it: call [`Node::shutdown`].
pub struct Node {
    pub raft: Raft<TypeConfig>,
    pub engine: Arc<Engine>,
    pub log: LogStore,
    pub identity: Arc<Identity>,
    pub raft_addr: std::net::SocketAddr,
    pub stats: Arc<NodeStats>,
    pub timing: Timing,
    /// When this node last heard from a leader it accepted.
    pub contact: Arc<Contact>,
    listener: JoinHandle<()>,
    elections: JoinHandle<()>,
    peer_watch: JoinHandle<()>,
    committed_writer: JoinHandle<()>,
    contact_writer: JoinHandle<()>,
    log_lines: NodeLog,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("node_id", &self.identity.node_id)
            .field("raft_addr", &self.raft_addr)
            .finish_non_exhaustive()
    }
}

fn raft_config(t: Timing) -> Result<Config> {
    let c = Config {
        cluster_name: "drkit".into(),
        heartbeat_interval: t.heartbeat.as_millis() as u64,
        election_timeout_min: t.election_min.as_millis() as u64,
        election_timeout_max: t.election_max.as_millis() as u64,
        // A snapshot carries every table: give each chunk time enough on a busy disk, so a
        // lagging node is not cut off mid-transfer.
        install_snapshot_timeout: 60_000,
        // election.rs decides when to stand, with a fresh random delay each time.
        enable_elect: false,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(100_000),
        max_in_snapshot_log_to_keep: 10_000,
        ..Config::default()
    };
    c.validate()
        .map_err(|e| Error::InvalidInput(format!("cluster timing: {e}")))
}

impl Node {
    /// Opens the data dir in cluster mode and starts Raft and the peer listener.
    pub async fn start(cfg: NodeConfig) -> Result<Node> {
        if cfg.node_id == 0 {
            return Err(Error::InvalidInput(
                "node id 0 is reserved for admin tools: use 1 or more".into(),
            ));
        }
        super::force_new::refuse_if_pending(&cfg.data_dir)?;
        if super::seed::holds_standalone_data(&cfg.data_dir)? {
            let me = ClusterNode {
                raft_addr: cfg.raft_listen.clone(),
                client_addr: cfg.client_addr.clone(),
            };
            let (index, id) = super::seed::adopt_standalone(&cfg.data_dir, cfg.node_id, me)?;
            NodeLog::new(cfg.node_id).info(&format!(
                "the standalone data in {} (up to sequence {index}) is now the state of a one-voter cluster {}; `drkit cluster init` with the other members' addresses adds them",
                cfg.data_dir.display(),
                hex(&id)
            ));
        }
        let engine = Arc::new(Engine::open(
            &cfg.data_dir,
            Options {
                cluster: true,
                ..cfg.engine.clone()
            },
        )?);
        let floor_engine = Arc::clone(&engine);
        let data_dir = cfg.data_dir.clone();
        let log = LogStore::open(
            &cfg.data_dir,
            cfg.engine.wal_segment_bytes,
            Arc::new(move || {
                floor_engine
                    .checkpoint_seq()
                    .min(crate::engine::archived_through(
                        &data_dir,
                        floor_engine.history_id(),
                    ))
            }),
        )?;
        log.restart_as_follower();
        let (stored_id, cluster_id) = log.identity();
        if stored_id != 0 && stored_id != cfg.node_id {
            return Err(Error::InvalidInput(format!(
                "{} belongs to node {stored_id}, not node {}: give the right --node-id or another dir",
                cfg.data_dir.display(),
                cfg.node_id
            )));
        }
        if stored_id == 0 {
            log.set_identity(cfg.node_id, cluster_id)?;
        }
        let identity = Arc::new(Identity {
            node_id: cfg.node_id,
            cluster_id: Mutex::new(cluster_id),
            secret: cfg.secret.clone(),
        });
        let sm = StateMachine::new(Arc::clone(&engine), &log)?;
        let config = Arc::new(raft_config(cfg.timing)?);
        let stats = Arc::new(NodeStats::default());
        let network = Network {
            me: Arc::clone(&identity),
            routes: Arc::new(cfg.routes.clone()),
            stats: Arc::clone(&stats),
            log: log.clone(),
        };
        let raft = Raft::new(cfg.node_id, config, network.clone(), log.clone(), sm)
            .await
            .map_err(|e| Error::InvalidInput(format!("Raft did not start: {e}")))?;
        let listener = TcpListener::bind(&cfg.raft_listen)
            .await
            .map_err(|e| Error::io(PathBuf::from(&cfg.raft_listen), e))?;
        let raft_addr = listener
            .local_addr()
            .map_err(|e| Error::io(PathBuf::from(&cfg.raft_listen), e))?;
        let log_lines = NodeLog::new(cfg.node_id);
        let contact = Arc::new(Contact::default());
        let seen = Arc::new(LeaderSeen::default());
        let server = Server {
            timing: cfg.timing,
            stats: Arc::clone(&stats),
            contact: Arc::clone(&contact),
            seen: Arc::clone(&seen),
            raft: raft.clone(),
            identity: Arc::clone(&identity),
            log: log.clone(),
            log_lines: log_lines.clone(),
            client_addr: cfg.client_addr.clone(),
        };
        let listener = tokio::spawn(server.accept_loop(listener));
        tokio::spawn(report_leadership(
            raft.clone(),
            log_lines.clone(),
            Arc::clone(&stats),
        ));
        let peer_watch = tokio::spawn(super::peer_watch::watch(
            raft.clone(),
            Arc::clone(&stats),
            cfg.timing,
            log_lines.clone(),
        ));
        let committed_writer = tokio::spawn(persist_committed(log.clone(), log_lines.clone()));
        let contact_writer = tokio::spawn(leader_seen::keep_file(
            raft.clone(),
            seen,
            cfg.data_dir.join("raft"),
        ));
        let elections = tokio::spawn(election::drive(
            raft.clone(),
            Arc::clone(&contact),
            Arc::clone(&stats),
            cfg.timing,
            network.clone(),
            log.clone(),
        ));
        Ok(Node {
            raft,
            engine,
            log,
            identity,
            raft_addr,
            stats,
            timing: cfg.timing,
            contact,
            listener,
            elections,
            peer_watch,
            committed_writer,
            contact_writer,
            log_lines: log_lines.clone(),
        })
    }

    pub fn status(&self) -> NodeStatus {
        NodeStatus::observe(&self.raft.metrics().borrow(), &self.stats, &self.log)
    }

    /// Stops Raft and the listener; the engine closes when the last handle drops.
    pub async fn shutdown(self) {
        self.listener.abort();
        self.elections.abort();
        self.committed_writer.abort();
        self.contact_writer.abort();
        self.peer_watch.abort();
        let _ = self.raft.shutdown().await;
        if let Err(e) = self.log.persist_committed() {
            self.log_lines.warn(&format!(
                "cannot record the committed index at shutdown: {e}"
            ));
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.engine.dir()
    }
}

/// Logs each term this node leads, when it starts and ends: an operator sees failovers in
/// the log, and a test checks no two nodes ever led the same term. Also logs, once, a fatal
/// stop of Raft (a storage error): the node then no longer takes part in the cluster.
async fn report_leadership(raft: Raft<TypeConfig>, lines: NodeLog, stats: Arc<NodeStats>) {
    let mut metrics = raft.metrics();
    let mut leading: Option<u64> = None;
    let mut stopped = false;
    let mut members = String::new();
    let mut leader_seen: Option<Option<NodeId>> = None;
    loop {
        let (id, term, leader, fatal, now_members, current_leader) = {
            let m = metrics.borrow_and_update();
            let ms = m.membership_config.membership();
            let ids = |v: Vec<NodeId>| {
                v.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let now_members = format!(
                "voters [{}], learners [{}]",
                ids(ms.voter_ids().collect()),
                ids(ms.learner_ids().collect())
            );
            (
                m.id,
                m.current_term,
                m.state == openraft::ServerState::Leader,
                // Stopped is a shutdown asked for; anything else is a failure.
                m.running_state
                    .as_ref()
                    .err()
                    .filter(|e| !matches!(e, openraft::error::Fatal::Stopped))
                    .map(ToString::to_string),
                now_members,
                m.current_leader,
            )
        };
        if leader_seen.is_some_and(|l| l != current_leader) {
            stats.leader_changed();
        }
        leader_seen = Some(current_leader);
        lines.set_term(term);
        if now_members != members {
            lines.info(&format!("membership: {now_members}"));
            members = now_members;
        }
        if let Some(e) = fatal
            && !stopped
        {
            stopped = true;
            lines.error(&format!(
                "node {id}: Raft stopped: {e}; this node no longer replicates or serves: restart it once the cause is fixed"
            ));
        }
        let now = leader.then_some(term);
        if now != leading {
            if let Some(t) = leading {
                lines.info(&format!("node {id} no longer leads (term {t})"));
            }
            if let Some(t) = now {
                stats
                    .terms_led
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                lines.info(&format!("node {id} is the leader of term {t}"));
            }
            leading = now;
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

#[derive(Clone)]
struct Server {
    timing: Timing,
    stats: Arc<NodeStats>,
    contact: Arc<Contact>,
    seen: Arc<LeaderSeen>,
    raft: Raft<TypeConfig>,
    identity: Arc<Identity>,
    log: LogStore,
    log_lines: NodeLog,
    client_addr: String,
}

/// Why a peer connection ended early, and whether an operator needs to see it.
enum PeerTrouble {
    /// Closed during the handshake or mid-write: probes and peers that went away.
    Quiet(String),
    /// Refused (wrong secret or cluster) or a malformed frame: a misconfiguration.
    Loud(String),
}

impl Server {
    async fn accept_loop(self, listener: TcpListener) {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let s = self.clone();
            tokio::spawn(async move {
                match s.serve_connection(stream).await {
                    Ok(()) => {}
                    Err(PeerTrouble::Quiet(reason)) => {
                        s.log_lines.debug(&format!("peer {peer}: {reason}"));
                    }
                    Err(PeerTrouble::Loud(reason)) => {
                        s.log_lines.warn(&format!("peer {peer}: {reason}"));
                    }
                }
            });
        }
    }

    /// Authenticates the peer, then answers its requests until it hangs up. An error is
    /// returned only for what an operator should see (a refused peer, a bad frame).
    async fn serve_connection(
        &self,
        mut stream: TcpStream,
    ) -> std::result::Result<(), PeerTrouble> {
        let nonce: [u8; 16] = rand::random();
        wire::write_frame(&mut stream, KIND_HANDSHAKE, &Handshake::Challenge { nonce })
            .await
            .map_err(|e| PeerTrouble::Quiet(e.to_string()))?;
        let hello: Handshake = wire::read_frame(&mut stream, KIND_HANDSHAKE, MAX_HELLO)
            .await
            .map_err(|e| match &e {
                // Gone before saying anything: a port probe, a health check, a tool finding
                // out what listens here.
                wire::WireError::Io(_) => {
                    PeerTrouble::Quiet(format!("closed during the handshake: {e}"))
                }
                _ => PeerTrouble::Loud(format!("bad handshake: {e}")),
            })?;
        let admin = match self.admit(&hello, &nonce) {
            Ok(admin) => admin,
            Err(reason) => {
                let _ = wire::write_frame(
                    &mut stream,
                    KIND_HANDSHAKE,
                    &Handshake::Refused {
                        reason: reason.clone(),
                    },
                )
                .await;
                return Err(PeerTrouble::Loud(format!("refused: {reason}")));
            }
        };
        let welcome = Handshake::Welcome {
            cluster_id: self.identity.cluster_id(),
            node_id: self.identity.node_id,
        };
        wire::write_frame(&mut stream, KIND_HANDSHAKE, &welcome)
            .await
            .map_err(|e| PeerTrouble::Quiet(e.to_string()))?;
        loop {
            let req: PeerRequest = match wire::read_frame(&mut stream, KIND_REQUEST, MAX_FRAME)
                .await
            {
                Ok(r) => r,
                Err(wire::WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(());
                }
                Err(e) => {
                    return Err(PeerTrouble::Loud(format!(
                        "bad request, connection closed: {e}"
                    )));
                }
            };
            let reply = self.handle(req, admin).await;
            wire::write_frame(&mut stream, KIND_REPLY, &reply)
                .await
                .map_err(|e| PeerTrouble::Quiet(e.to_string()))?;
        }
    }

    /// Checks a Hello: the MAC, then the cluster id. Returns whether it is an admin tool.
    fn admit(&self, hello: &Handshake, nonce: &[u8; 16]) -> std::result::Result<bool, String> {
        let Handshake::Hello {
            cluster_id,
            from,
            mac,
        } = hello
        else {
            return Err("expected a Hello".into());
        };
        let want = wire::hello_mac(&self.identity.secret, nonce, cluster_id, *from);
        if !wire::mac_eq(&want, mac) {
            return Err(format!("node {from} does not know the cluster secret"));
        }
        if *from == 0 {
            return Ok(true);
        }
        if *from == self.identity.node_id {
            return Err(format!(
                "node {from} is this node's own id: two nodes share an id"
            ));
        }
        let mut ours = self
            .identity
            .cluster_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *cluster_id == [0; 16] {
            return Err(format!("node {from} belongs to no cluster yet"));
        }
        if *ours == [0; 16] {
            self.log
                .set_identity(self.identity.node_id, *cluster_id)
                .map_err(|e| format!("cannot record the cluster id: {e}"))?;
            *ours = *cluster_id;
            self.log_lines.info(&format!(
                "joined cluster {} (first contact from node {from})",
                hex(cluster_id)
            ));
            return Ok(false);
        }
        if *ours != *cluster_id {
            return Err(format!(
                "node {from} belongs to cluster {}, this node to {}: they never form one cluster (nodes restored from a backup share a cluster only when each was restored with the same backup, point and --members: restore node {from} again with the arguments the others had)",
                hex(cluster_id),
                hex(&ours)
            ));
        }
        Ok(false)
    }

    async fn handle(&self, req: PeerRequest, admin: bool) -> PeerReply {
        let raft = &self.raft;
        match req {
            PeerRequest::AppendEntries(_)
            | PeerRequest::Vote(_)
            | PeerRequest::InstallSnapshot(_)
            | PeerRequest::PreVote { .. }
                if admin =>
            {
                error("admin connections cannot send Raft messages")
            }
            PeerRequest::AppendEntries(r) => {
                let leader = r.vote.leader_id().voted_for();
                let term = r.vote.leader_id().get_term();
                let leader_committed = r.leader_commit.map_or(0, |c| c.index);
                let reply = raft.append_entries(r).await;
                // A leader this node accepts (a stale one is answered HigherVote).
                if matches!(&reply, Ok(a) if !matches!(a, AppendEntriesResponse::HigherVote(_))) {
                    self.contact.touch();
                }
                // This node's log now matches the leader's up to what it sent.
                if let (Ok(AppendEntriesResponse::Success), Some(leader)) = (&reply, leader) {
                    self.seen.accepted(leader, term, leader_committed);
                }
                PeerReply::AppendEntries(reply)
            }
            PeerRequest::Vote(r) => {
                let reply = raft.vote(r).await;
                // Having voted, give the candidate its chance before standing too.
                if matches!(&reply, Ok(v) if v.vote_granted) {
                    self.contact.touch();
                }
                PeerReply::Vote(reply)
            }
            PeerRequest::InstallSnapshot(r) => {
                let (done, upto, from) = (
                    r.done,
                    r.meta.last_log_id.map_or(0, |l| l.index),
                    r.vote.leader_id().voted_for(),
                );
                let reply = raft.install_snapshot(r).await;
                if reply.is_ok() {
                    self.contact.touch();
                    if done {
                        self.log_lines.info(&format!(
                            "installed a snapshot up to log index {upto} from node {}",
                            from.map_or_else(|| "?".into(), |n| n.to_string())
                        ));
                    }
                }
                PeerReply::InstallSnapshot(reply)
            }
            PeerRequest::PreVote { last_log } => PeerReply::PreVote {
                granted: self.would_vote(last_log),
            },
            PeerRequest::Status => {
                let mut st = NodeStatus::observe(&raft.metrics().borrow(), &self.stats, &self.log);
                st.client_addr = Some(self.client_addr.clone());
                PeerReply::Status(Box::new(st))
            }
            PeerRequest::Init(members) => self.init(members).await,
            PeerRequest::AddLearner(id, node) => {
                let r =
                    when_no_change_in_progress(|| raft.add_learner(id, node.clone(), true)).await;
                self.write_reply(r.map(|_| ()))
            }
            PeerRequest::ChangeMembership(voters) => {
                let r = when_no_change_in_progress(|| {
                    raft.change_membership(ChangeMembers::ReplaceAllVoters(voters.clone()), false)
                })
                .await;
                self.write_reply(r.map(|_| ()))
            }
            PeerRequest::Write(request) => match write(raft, request).await {
                Ok(resp) => PeerReply::Written(resp),
                Err(e) => e,
            },
        }
    }

    /// A pre-vote: yes when no leader is heard from (this node does not lead, and its last
    /// contact with one is older than the lease openraft's voters keep, so a real vote would
    /// not be refused for it) and the candidate's log is at least as up to date as this one.
    fn would_vote(&self, last_log: Option<super::LogId>) -> bool {
        if self.raft.metrics().borrow().state == openraft::ServerState::Leader {
            return false;
        }
        let leader_heard = self
            .contact
            .last()
            .is_some_and(|t| t.elapsed() < self.timing.election_max);
        !leader_heard && last_log >= self.log.last_log_id()
    }

    async fn init(&self, members: BTreeMap<NodeId, ClusterNode>) -> PeerReply {
        if !members.contains_key(&self.identity.node_id) {
            return error(&format!(
                "this node (id {}) is not among the members given",
                self.identity.node_id
            ));
        }
        if self.raft.is_initialized().await.unwrap_or(true) {
            return error("this node is already initialised: it is part of a cluster");
        }
        {
            let mut ours = self
                .identity
                .cluster_id
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if *ours == [0; 16] {
                let id: [u8; 16] = rand::random();
                if let Err(e) = self.log.set_identity(self.identity.node_id, id) {
                    return error(&format!("cannot record the cluster id: {e}"));
                }
                *ours = id;
                self.log_lines
                    .info(&format!("initialised cluster {}", hex(&id)));
            }
        }
        match self.raft.initialize(members).await {
            Ok(()) => PeerReply::Done,
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {
                error("this node is already initialised: it is part of a cluster")
            }
            Err(e) => error(&e.to_string()),
        }
    }

    fn write_reply(
        &self,
        r: std::result::Result<(), RaftError<NodeId, ClientWriteError<NodeId, ClusterNode>>>,
    ) -> PeerReply {
        match r {
            Ok(()) => PeerReply::Done,
            Err(e) => write_error(e),
        }
    }
}

/// Keeps DIR/raft/state's committed index at most one interval behind openraft's, also when
/// the cluster goes quiet after a burst (see [`LogStore::persist_committed`]).
async fn persist_committed(log: LogStore, lines: NodeLog) {
    let mut tick = tokio::time::interval(super::log_store::COMMITTED_WRITE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let log = log.clone();
        match tokio::task::spawn_blocking(move || log.persist_committed()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => lines.warn(&format!("cannot record the committed index: {e}")),
            Err(_) => return,
        }
    }
}

/// How long an admin membership change waits for the one before it (`cluster init`'s, say)
/// to commit, rather than fail at once with openraft's "already undergoing a configuration
/// change". A change commits in one replication round when a quorum is up.
const MEMBERSHIP_BUSY_WAIT: Duration = Duration::from_secs(10);

type ChangeResult<T> =
    std::result::Result<T, RaftError<NodeId, ClientWriteError<NodeId, ClusterNode>>>;

async fn when_no_change_in_progress<T, F, Fut>(mut change: F) -> ChangeResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ChangeResult<T>>,
{
    let deadline = tokio::time::Instant::now() + MEMBERSHIP_BUSY_WAIT;
    loop {
        match change().await {
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(
                ChangeMembershipError::InProgress(_),
            ))) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            r => return r,
        }
    }
}

fn error(reason: &str) -> PeerReply {
    PeerReply::Error {
        reason: reason.to_string(),
        leader: None,
    }
}

/// A client-write error as a reply: "not the leader" names the leader when one is known.
pub fn write_error(e: RaftError<NodeId, ClientWriteError<NodeId, ClusterNode>>) -> PeerReply {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => PeerReply::Error {
            reason: match f.leader_id {
                Some(id) => format!("not the leader: node {id} is"),
                None => "no leader".into(),
            },
            leader: f.leader_node,
        },
        other => error(&other.to_string()),
    }
}

/// Proposes `request` and waits until it is committed and applied.
pub async fn write(
    raft: &Raft<TypeConfig>,
    request: Request,
) -> std::result::Result<Response, PeerReply> {
    match raft.client_write(request).await {
        Ok(r) => Ok(r.data),
        Err(e) => Err(write_error(e)),
    }
}

fn hex(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
