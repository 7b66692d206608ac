//! Three nodes on loopback in one process: election, replication, failover and the admin
//! refusals, through the real peer protocol.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::network::{Connection, Identity};
use super::wire::{PeerReply, PeerRequest};
use super::*;
use crate::engine::{Options, SyncPolicy};

const SECRET: &[u8] = b"test secret";

fn admin(secret: &[u8]) -> Identity {
    Identity {
        node_id: 0,
        cluster_id: std::sync::Mutex::new([0; 16]),
        secret: secret.to_vec(),
    }
}

async fn call(addr: &str, req: PeerRequest) -> PeerReply {
    let mut c = Connection::open(addr, &admin(SECRET)).await.unwrap();
    c.call(&req, Duration::from_secs(30)).await.unwrap()
}

async fn start(dir: &std::path::Path, id: NodeId, listen: &str) -> Node {
    Node::start(NodeConfig {
        data_dir: dir.to_path_buf(),
        node_id: id,
        raft_listen: listen.to_string(),
        client_addr: format!("client-{id}"),
        secret: SECRET.to_vec(),
        timing: Timing::FAST,
        engine: Options {
            sync: SyncPolicy::Always,
            ..Options::default()
        },
        routes: Default::default(),
    })
    .await
    .unwrap()
}

async fn wait_for_leader(nodes: &[&Node], not: Option<NodeId>) -> NodeId {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for n in nodes {
            let s = n.status();
            if s.role == "leader" && Some(s.node_id) != not {
                return s.node_id;
            }
        }
        assert!(Instant::now() < deadline, "no leader elected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn put(key: &str, value: &str) -> PeerRequest {
    PeerRequest::Write(Request {
        timestamp_ns: 1,
        command: Command::Put {
            key: crate::format::record::plain_key(key.as_bytes()),
            value: value.as_bytes().to_vec(),
        },
    })
}

async fn wait_applied(node: &Node, index: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while node.status().last_applied_index.unwrap_or(0) < index {
        assert!(
            Instant::now() < deadline,
            "node {} never applied {index}",
            node.identity.node_id
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_replicate_and_fail_over() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        nodes.push(Some(start(d.path(), i as u64 + 1, "127.0.0.1:0").await));
    }
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().raft_addr.to_string())
        .collect();
    let members: BTreeMap<NodeId, ClusterNode> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                i as u64 + 1,
                ClusterNode {
                    raft_addr: a.clone(),
                    client_addr: format!("client-{}", i + 1),
                },
            )
        })
        .collect();
    assert!(matches!(
        call(&addrs[0], PeerRequest::Init(members.clone())).await,
        PeerReply::Done
    ));
    // A second init is refused, on any member.
    tokio::time::sleep(Duration::from_millis(200)).await;
    match call(&addrs[0], PeerRequest::Init(members.clone())).await {
        PeerReply::Error { reason, .. } => {
            assert!(reason.contains("already initialised"), "{reason}")
        }
        other => panic!("second init accepted: {other:?}"),
    }

    let all: Vec<&Node> = nodes.iter().map(|n| n.as_ref().unwrap()).collect();
    let leader = wait_for_leader(&all, None).await;
    let leader_addr = &addrs[leader as usize - 1];
    let mut last = 0;
    for i in 0..50 {
        match call(leader_addr, put(&format!("k{i}"), &format!("v{i}"))).await {
            PeerReply::Written(r) => last = r.index,
            other => panic!("write refused: {other:?}"),
        }
    }
    // A follower names the leader instead of taking a write.
    let follower = (1..=3).find(|i| *i != leader).unwrap();
    match call(&addrs[follower as usize - 1], put("x", "y")).await {
        PeerReply::Error {
            leader: Some(l), ..
        } => assert_eq!(l.raft_addr, *leader_addr),
        other => panic!("follower took a write: {other:?}"),
    }
    for n in &all {
        wait_applied(n, last).await;
        assert_eq!(n.engine.get(b"k49").unwrap(), Some(b"v49".to_vec()));
    }

    // The leader goes away: the other two elect a new one and go on.
    let old = nodes[leader as usize - 1].take().unwrap();
    old.shutdown().await;
    let rest: Vec<&Node> = nodes.iter().flatten().collect();
    let new_leader = wait_for_leader(&rest, Some(leader)).await;
    assert_ne!(new_leader, leader);
    let new_addr = &addrs[new_leader as usize - 1];
    let after = match call(new_addr, put("after", "failover")).await {
        PeerReply::Written(r) => r.index,
        other => panic!("write after failover refused: {other:?}"),
    };
    for n in &rest {
        wait_applied(n, after).await;
        assert_eq!(n.engine.get(b"k0").unwrap(), Some(b"v0".to_vec()));
    }
    // Removing every voter is refused; the cluster keeps serving.
    match call(new_addr, PeerRequest::ChangeMembership(BTreeSet::new())).await {
        PeerReply::Error { .. } => {}
        other => panic!("empty membership accepted: {other:?}"),
    }
    assert!(matches!(
        call(new_addr, put("still", "up")).await,
        PeerReply::Written(_)
    ));
    for n in nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), 1, "127.0.0.1:0").await;
    let addr = node.raft_addr.to_string();
    let err = Connection::open(&addr, &admin(b"not the secret"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("does not know the cluster secret"),
        "{err}"
    );
    // A peer claiming this node's own id is refused too.
    let me_again = Identity {
        node_id: 1,
        cluster_id: std::sync::Mutex::new([5; 16]),
        secret: SECRET.to_vec(),
    };
    let err = Connection::open(&addr, &me_again).await.unwrap_err();
    assert!(err.to_string().contains("share an id"), "{err}");
    // A garbage frame after a good handshake closes that connection only.
    {
        use tokio::io::AsyncWriteExt;
        let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
        raw.write_all(&[0xff; 64]).await.unwrap();
    }
    let members = BTreeMap::from([(
        1,
        ClusterNode {
            raft_addr: addr.clone(),
            client_addr: String::new(),
        },
    )]);
    assert!(matches!(
        call(&addr, PeerRequest::Init(members)).await,
        PeerReply::Done
    ));
    wait_for_leader(&[&node], None).await;
    assert!(matches!(
        call(&addr, put("a", "b")).await,
        PeerReply::Written(_)
    ));
    node.shutdown().await;
}
