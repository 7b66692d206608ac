//! The peer protocol on `--raft-listen`: Raft RPCs between nodes and admin requests from
//! `drkit cluster`, over TCP.
//!
//! ```text
//!  frame:  +-----------+--------+--------------------------------------+
//!          | length L  | kind   | body: postcard, L - 1 bytes           |
//!          | u32 LE    | u8     |                                      |
//!          +-----------+--------+--------------------------------------+
//!  L is checked against the limit before anything is allocated: 1 KiB until the peer is
//!  authenticated, then MAX_FRAME.
//!
//!  handshake:  server → client  Challenge { nonce: 16 random bytes }
//!              client → server  Hello { cluster id, from node, mac }
//!              server → client  Welcome { cluster id, node id } | Refused { reason }
//!  mac = blake3 keyed hash (key derived from the cluster secret) of
//!        "drkit raft hello v1" || nonce || cluster id || from node
//!  then:       client → server  Request, server → client  Reply, one at a time.
//! ```
//!
//! The secret never crosses the wire, and a fresh nonce per connection makes a recorded
//! Hello useless. A node that has not joined a cluster yet (cluster id all zero) adopts the
//! id of the first authenticated peer; after that a peer with another id is refused. Admin
//! tools say node 0 and may send the zero id, but only admin requests.

use std::collections::{BTreeMap, BTreeSet};

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{ClusterNode, NodeId, Request, Response, TypeConfig};

/// Largest frame after the handshake: a batch of entries or a snapshot chunk.
pub const MAX_FRAME: u32 = 256 << 20;
/// Largest frame before it.
pub const MAX_HELLO: u32 = 1024;

const HELLO_CONTEXT: &str = "drkit raft hello v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Handshake {
    Challenge {
        nonce: [u8; 16],
    },
    Hello {
        cluster_id: [u8; 16],
        from: NodeId,
        mac: [u8; 32],
    },
    Welcome {
        cluster_id: [u8; 16],
        node_id: NodeId,
    },
    Refused {
        reason: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// Admin: initialise a new cluster with these voters.
    Init(BTreeMap<NodeId, ClusterNode>),
    /// Admin: add a learner (asynchronous replica), waiting until it has caught up.
    AddLearner(NodeId, ClusterNode),
    /// Admin: make exactly these nodes the voters (joint consensus inside openraft).
    ChangeMembership(BTreeSet<NodeId>),
    /// Admin: this node's view (role, term, leader, log and replication progress).
    Status,
    /// Admin and tests: a client write through the Raft log, answered once committed.
    Write(Request),
    /// Would the receiver vote for a candidate whose log ends at `last_log`? Asked before
    /// standing (Raft thesis §9.6): a node that cannot win, because its log is behind or
    /// the others still hear from a leader, stays out and does not bump everyone's term.
    PreVote {
        last_log: Option<super::LogId>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum PeerReply {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    Status(Box<super::status::NodeStatus>),
    Written(Response),
    PreVote {
        granted: bool,
    },
    Done,
    /// The request was refused: why, and the leader's client and Raft address when another
    /// node should take it.
    Error {
        reason: String,
        leader: Option<ClusterNode>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {len} bytes is over the {limit}-byte limit")]
    TooLarge { len: u32, limit: u32 },
    #[error("empty frame")]
    Empty,
    #[error("frame kind {got}, expected {want}")]
    Kind { got: u8, want: u8 },
    #[error("message does not decode: {0}")]
    Decode(String),
}

/// The MAC a Hello carries.
pub fn hello_mac(secret: &[u8], nonce: &[u8; 16], cluster_id: &[u8; 16], from: NodeId) -> [u8; 32] {
    let key = blake3::derive_key("drkit cluster secret v1", secret);
    let mut h = blake3::Hasher::new_keyed(&key);
    h.update(HELLO_CONTEXT.as_bytes());
    h.update(nonce);
    h.update(cluster_id);
    h.update(&from.to_le_bytes());
    *h.finalize().as_bytes()
}

/// Constant-time comparison, so a forged MAC learns nothing from timing.
pub fn mac_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub const KIND_HANDSHAKE: u8 = 1;
pub const KIND_REQUEST: u8 = 2;
pub const KIND_REPLY: u8 = 3;

pub async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    kind: u8,
    msg: &T,
) -> Result<(), WireError> {
    let body = postcard::to_stdvec(msg).map_err(|e| WireError::Decode(e.to_string()))?;
    let len = u32::try_from(body.len() + 1).map_err(|_| WireError::TooLarge {
        len: u32::MAX,
        limit: MAX_FRAME,
    })?;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge {
            len,
            limit: MAX_FRAME,
        });
    }
    let mut out = Vec::with_capacity(body.len() + 5);
    out.extend_from_slice(&len.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(&body);
    w.write_all(&out).await?;
    w.flush().await?;
    Ok(())
}

pub async fn read_frame<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
    want: u8,
    limit: u32,
) -> Result<T, WireError> {
    let mut head = [0u8; 4];
    r.read_exact(&mut head).await?;
    let len = u32::from_le_bytes(head);
    if len == 0 {
        return Err(WireError::Empty);
    }
    if len > limit {
        return Err(WireError::TooLarge { len, limit });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).await?;
    decode_body(&body, want)
}

/// A frame's body after its length: the kind byte, then the postcard message.
pub fn decode_body<T: for<'de> Deserialize<'de>>(body: &[u8], want: u8) -> Result<T, WireError> {
    let Some((&kind, msg)) = body.split_first() else {
        return Err(WireError::Empty);
    };
    if kind != want {
        return Err(WireError::Kind { got: kind, want });
    }
    postcard::from_bytes(msg).map_err(|e| WireError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_limits_hold_before_allocation() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let msg = Handshake::Challenge { nonce: [7; 16] };
        write_frame(&mut a, KIND_HANDSHAKE, &msg).await.unwrap();
        let got: Handshake = read_frame(&mut b, KIND_HANDSHAKE, MAX_HELLO).await.unwrap();
        assert!(matches!(got, Handshake::Challenge { nonce } if nonce == [7; 16]));

        // A length field claiming 4 GiB is refused from its 4 bytes alone.
        a.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
        let err = read_frame::<_, Handshake>(&mut b, KIND_HANDSHAKE, MAX_HELLO)
            .await
            .unwrap_err();
        assert!(matches!(err, WireError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn garbage_bodies_are_decode_errors_not_panics() {
        for body in [
            vec![KIND_REQUEST],
            vec![KIND_REQUEST, 0xff, 0xff, 0xff],
            vec![9, 1, 2],
        ] {
            let (mut a, mut b) = tokio::io::duplex(1 << 16);
            a.write_all(&(body.len() as u32).to_le_bytes())
                .await
                .unwrap();
            a.write_all(&body).await.unwrap();
            let r = read_frame::<_, PeerRequest>(&mut b, KIND_REQUEST, MAX_FRAME).await;
            assert!(r.is_err());
        }
    }

    #[test]
    fn the_mac_binds_secret_nonce_cluster_and_node() {
        let m = hello_mac(b"s3cret", &[1; 16], &[2; 16], 3);
        assert!(mac_eq(&m, &hello_mac(b"s3cret", &[1; 16], &[2; 16], 3)));
        assert!(!mac_eq(&m, &hello_mac(b"other", &[1; 16], &[2; 16], 3)));
        assert!(!mac_eq(&m, &hello_mac(b"s3cret", &[9; 16], &[2; 16], 3)));
        assert!(!mac_eq(&m, &hello_mac(b"s3cret", &[1; 16], &[9; 16], 3)));
        assert!(!mac_eq(&m, &hello_mac(b"s3cret", &[1; 16], &[2; 16], 4)));
    }
}
