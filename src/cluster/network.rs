//! The client side of the peer protocol (wire.rs): openraft's network to other nodes, and the
//! admin connection `drkit cluster` uses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::wire::{
    self, Handshake, KIND_HANDSHAKE, KIND_REPLY, KIND_REQUEST, MAX_FRAME, MAX_HELLO, PeerReply,
    PeerRequest, WireError,
};
use super::{ClusterNode, NodeId, TypeConfig, probe};

/// Who this node is on the wire: its id, the cluster it belongs to (zero until it joins)
/// and the secret it proves itself with.
#[derive(Debug)]
pub struct Identity {
    pub node_id: NodeId,
    pub cluster_id: Mutex<[u8; 16]>,
    pub secret: Vec<u8>,
}

impl Identity {
    pub fn cluster_id(&self) -> [u8; 16] {
        *self
            .cluster_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr} refused the handshake: {reason}")]
    Refused { addr: String, reason: String },
    #[error("{addr}: {source}")]
    Wire { addr: String, source: WireError },
    #[error("{addr} did not answer within {0:?}", .timeout)]
    Timeout { addr: String, timeout: Duration },
    #[error("{addr}: the connection was abandoned in the middle of a call; open a new one")]
    Abandoned { addr: String },
    /// Something other than a drkit node's Raft port answered (probe.rs says what).
    #[error("{addr}: {what}")]
    NotANode { addr: String, what: String },
}

/// One authenticated connection to a node.
///
/// Requests and replies are not numbered: a reply belongs to the request before it. So a call
/// whose future was dropped after its request went out (openraft wraps every RPC in its own
/// timeout) leaves its reply in the stream, and the next call on that connection would take
/// it for its own. For AppendEntries that is a stale `Success` credited to newer entries, and
/// a leader that commits what no majority holds. `in_flight` makes such a connection refuse
/// every later call.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    stream: TcpStream,
    /// Set while a call is between writing its request and reading its reply.
    in_flight: bool,
    /// What the other end said it is.
    pub peer_node_id: NodeId,
    pub peer_cluster_id: [u8; 16],
}

impl Connection {
    /// Connects to `addr` and proves `me`'s identity.
    pub async fn open(addr: &str, me: &Identity) -> Result<Connection, CallError> {
        let mut stream = connect(addr).await?;
        // Only an admin tool asks a silent server what it is: between nodes the silent one
        // is a peer that is paused or overloaded, and a probe left in its socket would greet
        // it as a malformed frame when it wakes.
        let head = first_bytes(addr, &mut stream, me.node_id == 0).await?;
        let wire_err = |source| CallError::Wire {
            addr: addr.to_string(),
            source,
        };
        let mut from_head = (&head[..]).chain(&mut stream);
        let challenge = wire::read_frame(&mut from_head, KIND_HANDSHAKE, MAX_HELLO);
        let Handshake::Challenge { nonce } =
            tokio::time::timeout(probe::CHALLENGE_TIMEOUT, challenge)
                .await
                .map_err(|_| CallError::Timeout {
                    addr: addr.to_string(),
                    timeout: probe::CHALLENGE_TIMEOUT,
                })?
                .map_err(wire_err)?
        else {
            return Err(CallError::Refused {
                addr: addr.to_string(),
                reason: "no challenge".into(),
            });
        };
        let cluster_id = me.cluster_id();
        let hello = Handshake::Hello {
            cluster_id,
            from: me.node_id,
            mac: wire::hello_mac(&me.secret, &nonce, &cluster_id, me.node_id),
        };
        wire::write_frame(&mut stream, KIND_HANDSHAKE, &hello)
            .await
            .map_err(wire_err)?;
        match wire::read_frame(&mut stream, KIND_HANDSHAKE, MAX_HELLO)
            .await
            .map_err(wire_err)?
        {
            Handshake::Welcome {
                cluster_id,
                node_id,
            } => Ok(Connection {
                addr: addr.to_string(),
                stream,
                in_flight: false,
                peer_node_id: node_id,
                peer_cluster_id: cluster_id,
            }),
            Handshake::Refused { reason } => Err(CallError::Refused {
                addr: addr.to_string(),
                reason,
            }),
            _ => Err(CallError::Refused {
                addr: addr.to_string(),
                reason: "unexpected handshake message".into(),
            }),
        }
    }

    pub async fn call(
        &mut self,
        req: &PeerRequest,
        timeout: Duration,
    ) -> Result<PeerReply, CallError> {
        let addr = self.addr.clone();
        if self.in_flight {
            return Err(CallError::Abandoned { addr });
        }
        self.in_flight = true;
        let exchange = async {
            wire::write_frame(&mut self.stream, KIND_REQUEST, req).await?;
            wire::read_frame(&mut self.stream, KIND_REPLY, MAX_FRAME).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(reply)) => {
                self.in_flight = false;
                Ok(reply)
            }
            Ok(Err(source)) => Err(CallError::Wire { addr, source }),
            Err(_) => Err(CallError::Timeout { addr, timeout }),
        }
    }
}

/// A TCP connection to `addr`, or why not within [`probe::CONNECT_TIMEOUT`].
async fn connect(addr: &str) -> Result<TcpStream, CallError> {
    let err = |source| CallError::Connect {
        addr: addr.to_string(),
        source,
    };
    let stream = match tokio::time::timeout(probe::CONNECT_TIMEOUT, TcpStream::connect(addr)).await
    {
        Ok(r) => r.map_err(err)?,
        Err(_) => {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within {:?} (a wrong host, or a firewall dropping packets)",
                    probe::CONNECT_TIMEOUT
                ),
            )));
        }
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The first four bytes a node sends (its challenge frame's length), or what answered
/// instead when that is not a drkit node (asking a silent server only when `probe_silence`).
async fn first_bytes(
    addr: &str,
    stream: &mut TcpStream,
    probe_silence: bool,
) -> Result<[u8; 4], CallError> {
    let not_a_node = |what: String| CallError::NotANode {
        addr: addr.to_string(),
        what,
    };
    let mut head = [0u8; 4];
    match tokio::time::timeout(probe::CHALLENGE_TIMEOUT, stream.read_exact(&mut head)).await {
        Err(_) if probe_silence => Err(not_a_node(probe::silent_server(stream).await)),
        Err(_) => Err(CallError::Timeout {
            addr: addr.to_string(),
            timeout: probe::CHALLENGE_TIMEOUT,
        }),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(not_a_node(
            "closed the connection before saying anything: not a drkit Raft port".into(),
        )),
        Ok(Err(e)) => Err(CallError::Wire {
            addr: addr.to_string(),
            source: WireError::Io(e),
        }),
        Ok(Ok(_)) if probe::looks_like_text(&head) => {
            let mut more = [0u8; 60];
            let n = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut more))
                .await
                .map_or(0, |r| r.unwrap_or(0));
            let mut seen = head.to_vec();
            seen.extend_from_slice(&more[..n]);
            Err(not_a_node(format!(
                "not a drkit node: it sent `{}`",
                probe::first_line(&seen)
            )))
        }
        Ok(Ok(_)) => Ok(head),
    }
}

/// openraft's network: one [`PeerClient`] per target node.
#[derive(Debug, Clone)]
pub struct Network {
    pub me: Arc<Identity>,
    /// Addresses that override the membership's, by node id.
    pub routes: Arc<std::collections::BTreeMap<NodeId, String>>,
    pub stats: Arc<super::NodeStats>,
    /// This node's log: a leader tells followers a commit index no further than its own
    /// log is on disk (see `log_store::Flusher`).
    pub log: super::LogStore,
}

impl Network {
    /// Asks `target` whether it would vote for this node with its log ending at `last_log`;
    /// false when it says no or does not answer within `timeout`.
    pub async fn pre_vote(
        &self,
        target: NodeId,
        node: &ClusterNode,
        last_log: Option<super::LogId>,
        timeout: Duration,
    ) -> bool {
        let addr = self.routes.get(&target).unwrap_or(&node.raft_addr).clone();
        let ask = async {
            let mut conn = Connection::open(&addr, &self.me).await.ok()?;
            if conn.peer_node_id != target {
                return None;
            }
            match conn.call(&PeerRequest::PreVote { last_log }, timeout).await {
                Ok(PeerReply::PreVote { granted }) => Some(granted),
                _ => None,
            }
        };
        tokio::time::timeout(timeout, ask)
            .await
            .ok()
            .flatten()
            .unwrap_or(false)
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &ClusterNode) -> PeerClient {
        PeerClient {
            me: Arc::clone(&self.me),
            target,
            addr: self.routes.get(&target).unwrap_or(&node.raft_addr).clone(),
            conn: None,
            stats: Arc::clone(&self.stats),
            log: self.log.clone(),
        }
    }
}

/// The connection to one peer, opened on first use and again after any error.
#[derive(Debug)]
pub struct PeerClient {
    me: Arc<Identity>,
    target: NodeId,
    addr: String,
    conn: Option<Connection>,
    stats: Arc<super::NodeStats>,
    log: super::LogStore,
}

type RpcErr<E = openraft::error::Infallible> = RPCError<NodeId, ClusterNode, RaftError<NodeId, E>>;

impl PeerClient {
    async fn send<E: std::error::Error>(
        &mut self,
        req: PeerRequest,
        option: &RPCOption,
    ) -> Result<PeerReply, RpcErr<E>> {
        // The connection is taken out for the call and put back only after its reply is read:
        // if openraft drops this future mid-call, the connection goes with it.
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        let sent = std::time::Instant::now();
        match conn.call(&req, option.hard_ttl()).await {
            Ok(r) => {
                self.conn = Some(conn);
                self.stats.replied(self.target, sent.elapsed());
                Ok(r)
            }
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }

    async fn connect<E: std::error::Error>(&self) -> Result<Connection, RpcErr<E>> {
        let conn = Connection::open(&self.addr, &self.me)
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        if conn.peer_node_id != self.target {
            let e = CallError::Refused {
                addr: self.addr.clone(),
                reason: format!(
                    "it is node {}, not node {} (two nodes share an id or an address)",
                    conn.peer_node_id, self.target
                ),
            };
            return Err(RPCError::Unreachable(Unreachable::new(&e)));
        }
        Ok(conn)
    }

    fn unexpected<E: std::error::Error>(&mut self, reply: PeerReply) -> RpcErr<E> {
        self.conn = None;
        let text = match reply {
            PeerReply::Error { reason, .. } => reason,
            other => format!("unexpected reply {other:?}"),
        };
        RPCError::Network(NetworkError::new(&std::io::Error::other(text)))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        mut rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr> {
        // openraft counts the leader's own entries before its fsync covers them; a follower
        // applies what it is told is committed, so it hears only of what is on the leader's
        // disk as well as a majority's.
        rpc.leader_commit = self.log.commit_within_durable(rpc.leader_commit);
        match self.send(PeerRequest::AppendEntries(rpc), &option).await? {
            PeerReply::AppendEntries(Ok(r)) => Ok(r),
            PeerReply::AppendEntries(Err(e)) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(self.unexpected(other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RpcErr<InstallSnapshotError>> {
        let last_chunk = rpc.done;
        match self
            .send(PeerRequest::InstallSnapshot(rpc), &option)
            .await?
        {
            PeerReply::InstallSnapshot(Ok(r)) => {
                if last_chunk {
                    self.stats
                        .snapshots_sent
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(r)
            }
            PeerReply::InstallSnapshot(Err(e)) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            other => Err(self.unexpected(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcErr> {
        match self.send(PeerRequest::Vote(rpc), &option).await? {
            PeerReply::Vote(Ok(r)) => Ok(r),
            PeerReply::Vote(Err(e)) => Err(RPCError::RemoteError(RemoteError::new(self.target, e))),
            other => Err(self.unexpected(other)),
        }
    }
}

/// `cluster init` from inside the library (the benches and the demo): asks the node at
/// `addr` to make `members` the voters of a new cluster, as an admin proving `secret`.
pub async fn init_cluster(
    addr: &str,
    secret: &[u8],
    members: std::collections::BTreeMap<NodeId, ClusterNode>,
) -> Result<(), String> {
    let admin = Identity {
        node_id: 0,
        cluster_id: Mutex::new([0; 16]),
        secret: secret.to_vec(),
    };
    let mut conn = Connection::open(addr, &admin)
        .await
        .map_err(|e| format!("cluster init: {e}"))?;
    match conn
        .call(&PeerRequest::Init(members), Duration::from_secs(30))
        .await
    {
        Ok(PeerReply::Done) => Ok(()),
        Ok(other) => Err(format!("cluster init: {other:?}")),
        Err(e) => Err(format!("cluster init: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use openraft::Vote;
    use tokio::net::TcpListener;

    use super::*;

    /// A peer that answers its first request late with `Success` and every later one at once
    /// with `Conflict`, so a reply read by the wrong call shows.
    async fn slow_first_peer(listener: TcpListener, node_id: NodeId) {
        let served = Arc::new(AtomicUsize::new(0));
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let served = Arc::clone(&served);
            tokio::spawn(async move {
                let challenge = Handshake::Challenge { nonce: [0; 16] };
                wire::write_frame(&mut s, KIND_HANDSHAKE, &challenge).await?;
                let _: Handshake = wire::read_frame(&mut s, KIND_HANDSHAKE, MAX_HELLO).await?;
                let welcome = Handshake::Welcome {
                    cluster_id: [0; 16],
                    node_id,
                };
                wire::write_frame(&mut s, KIND_HANDSHAKE, &welcome).await?;
                loop {
                    let _: PeerRequest = wire::read_frame(&mut s, KIND_REQUEST, MAX_FRAME).await?;
                    let reply = if served.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        AppendEntriesResponse::Success
                    } else {
                        AppendEntriesResponse::Conflict
                    };
                    wire::write_frame(&mut s, KIND_REPLY, &PeerReply::AppendEntries(Ok(reply)))
                        .await?;
                }
                #[allow(unreachable_code)]
                Ok::<(), WireError>(())
            });
        }
    }

    fn heartbeat() -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            leader_commit: None,
            entries: vec![],
        }
    }

    #[tokio::test]
    async fn a_reply_abandoned_by_a_timed_out_call_is_never_read_by_the_next() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(slow_first_peer(listener, 2));
        let dir = tempfile::tempdir().unwrap();
        let mut network = Network {
            me: Arc::new(Identity {
                node_id: 1,
                cluster_id: Mutex::new([0; 16]),
                secret: b"s".to_vec(),
            }),
            routes: Default::default(),
            stats: Arc::new(super::super::NodeStats::default()),
            log: super::super::LogStore::open(dir.path(), 1 << 20, Arc::new(|| 0)).unwrap(),
        };
        let node = ClusterNode {
            raft_addr: addr,
            client_addr: String::new(),
        };
        let mut peer = network.new_client(2, &node).await;
        let option = RPCOption::new(Duration::from_secs(10));

        // openraft's own timeout drops the call after its request went out.
        let dropped = tokio::time::timeout(
            Duration::from_millis(50),
            peer.append_entries(heartbeat(), option.clone()),
        )
        .await;
        assert!(dropped.is_err(), "the first call should have been dropped");

        let second = peer.append_entries(heartbeat(), option).await.unwrap();
        assert_eq!(
            second,
            AppendEntriesResponse::Conflict,
            "the second call took the first call's late reply for its own"
        );
    }

    #[tokio::test]
    async fn a_connection_abandoned_mid_call_refuses_the_next_call() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(slow_first_peer(listener, 2));
        let me = Identity {
            node_id: 1,
            cluster_id: Mutex::new([0; 16]),
            secret: b"s".to_vec(),
        };
        let mut conn = Connection::open(&addr, &me).await.unwrap();
        let req = PeerRequest::AppendEntries(heartbeat());
        let dropped = tokio::time::timeout(
            Duration::from_millis(50),
            conn.call(&req, Duration::from_secs(10)),
        )
        .await;
        assert!(dropped.is_err());
        tokio::time::sleep(Duration::from_millis(400)).await;
        let err = conn.call(&req, Duration::from_secs(10)).await.unwrap_err();
        assert!(matches!(err, CallError::Abandoned { .. }), "{err}");
    }
}
