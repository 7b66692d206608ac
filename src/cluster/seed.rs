//! A node dir made from committed state, without the cluster that wrote it: what
//! `restore --node-id --members` (each node of a new cluster from one backup) and
//! `cluster force-new` (a survivor as a one-voter cluster) leave behind, in the way
//! `etcdutl snapshot restore` and etcd's `--force-new-cluster` do.
//!
//! ```text
//!  DIR/sst/…            every write up to the applied index A (nothing in memtables)
//!  DIR/MANIFEST-…       checkpoint A, history id = the new cluster id, and the applied state:
//!                       last applied (term T, A), membership = the members at (T, A)
//!  DIR/wal/             empty: the log is purged up to (T, A)
//!  DIR/raft/state       node id, the new cluster id, committed = purged = (T, A), and a vote
//!                       for itself in a term above every term the state has seen
//! ```
//!
//! To openraft such a node looks like one that installed a snapshot at (T, A) and purged its
//! log: it starts as a follower of the membership at A, the voters elect a leader among
//! themselves (all hold the same last log id) and new nodes receive the state by snapshot.
//! The vote is uncommitted and above every old term, so the first election is in a term no
//! node of the old cluster could have led from this log.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use openraft::{CommittedLeaderId, Membership, StoredMembership};

use super::state_machine::AppliedState;
use super::{ClusterNode, LogId, NodeId};
use crate::engine::recovery::list_segments;
use crate::engine::{Engine, Options, Outcome, VersionSet};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::FileMeta;
use crate::format::raft_state::{LogPos, RaftState, Vote};
use crate::io::fsync_dir;

/// What a seeded node is.
#[derive(Debug, Clone)]
pub struct NodeSeed {
    pub node_id: NodeId,
    pub cluster_id: [u8; 16],
    /// The voters of the new cluster and their addresses.
    pub members: BTreeMap<NodeId, ClusterNode>,
    /// The log id the state ends at: the tables hold every write up to its index.
    pub applied: LogPos,
    /// The highest term the state has seen (its entries', its vote's).
    pub seen_term: u64,
}

/// Parses `ID=RAFT_ADDR[/CLIENT_ADDR],...` (the client address is what followers name in
/// `-MOVED`; without it they answer `-CLUSTERDOWN` to writes until the leader is found).
pub fn parse_members(specs: &[String]) -> Result<BTreeMap<NodeId, ClusterNode>> {
    let mut out = BTreeMap::new();
    for m in specs {
        let bad = |why: &str| Error::InvalidInput(format!("member {m:?}: {why}"));
        let (id, addrs) = m
            .split_once('=')
            .ok_or_else(|| bad("write ID=RAFT_ADDR or ID=RAFT_ADDR/CLIENT_ADDR"))?;
        let id: NodeId = id
            .trim()
            .parse()
            .ok()
            .filter(|i| *i > 0)
            .ok_or_else(|| bad("the id must be a number of 1 or more"))?;
        let (raft, client) = addrs.split_once('/').unwrap_or((addrs, ""));
        if raft.is_empty() {
            return Err(bad("the Raft address is empty"));
        }
        let node = ClusterNode {
            raft_addr: raft.to_string(),
            client_addr: client.to_string(),
        };
        if out.insert(id, node).is_some() {
            return Err(Error::InvalidInput(format!("node id {id} is given twice")));
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidInput("--members names no node".into()));
    }
    Ok(out)
}

/// The members as one line, in id order (what the cluster id of a restore is derived from).
pub fn members_line(members: &BTreeMap<NodeId, ClusterNode>) -> String {
    members
        .iter()
        .map(|(id, n)| {
            if n.client_addr.is_empty() {
                format!("{id}={}", n.raft_addr)
            } else {
                format!("{id}={}/{}", n.raft_addr, n.client_addr)
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The cluster id of a cluster restored from `source` (a backup id) up to `index`, with
/// `members`: the same for every node restored with the same point and members, so they
/// recognise each other, and different for any other restore, so nodes restored with
/// different members (or points) refuse each other at the handshake instead of mixing.
pub fn restored_cluster_id(
    source: &str,
    index: u64,
    members: &BTreeMap<NodeId, ClusterNode>,
    token: &str,
) -> [u8; 16] {
    let mut h = blake3::Hasher::new();
    h.update(b"drkit restore as cluster\0");
    h.update(source.as_bytes());
    h.update(b"\0");
    h.update(&index.to_le_bytes());
    h.update(members_line(members).as_bytes());
    // Without a token, two restores of one backup to one point with the same members are
    // one cluster (which is what restoring each node separately needs); a token tells
    // apart clusters that must not be, as etcd's --initial-cluster-token does.
    if !token.is_empty() {
        h.update(b"\0token\0");
        h.update(token.as_bytes());
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize().as_bytes()[..16]);
    id
}

/// The applied state a seeded node starts from: `applied`, with the membership `members`
/// (all voters) taking effect there.
pub fn applied_state(applied: LogPos, members: &BTreeMap<NodeId, ClusterNode>) -> AppliedState {
    let log_id = LogId {
        leader_id: CommittedLeaderId::new(applied.term, 0),
        index: applied.index,
    };
    let voters: BTreeSet<NodeId> = members.keys().copied().collect();
    AppliedState {
        last_applied: Some(log_id),
        membership: StoredMembership::new(
            Some(log_id),
            Membership::new(vec![voters], members.clone()),
        ),
    }
}

/// Records `seed` in the stopped dir `dir`, whose tables already hold every write up to
/// `seed.applied.index` (with `added`, a table already written, joining them) and whose WAL
/// holds nothing the node needs: the manifest (applied state, checkpoint, the cluster id as
/// history id), then DIR/raft/state. The caller holds the dir's lock.
pub fn write_seed(dir: &Path, seed: &NodeSeed, added: Option<FileMeta>) -> Result<()> {
    if !seed.members.contains_key(&seed.node_id) {
        return Err(Error::InvalidInput(format!(
            "node {} is not among the members ({})",
            seed.node_id,
            members_line(&seed.members)
        )));
    }
    let applied = applied_state(seed.applied, &seed.members).encode();
    VersionSet::rewrite_stopped(dir, |state| {
        if let Some(table) = added {
            state.next_file_no = state.next_file_no.max(table.file_no + 1);
            state.files.insert(table.file_no, table);
        }
        state.history_id = seed.cluster_id;
        state.flushed_seq = seed.applied.index;
        state.last_seq = seed.applied.index;
        state.cluster_state = Some(applied);
    })?;
    let state = RaftState {
        node_id: seed.node_id,
        cluster_id: seed.cluster_id,
        vote: Some(Vote {
            term: seed.seen_term.max(seed.applied.term) + 1,
            node_id: seed.node_id,
            committed: false,
        }),
        committed: Some(seed.applied),
        purged: Some(seed.applied),
    };
    // A dir is a node's once DIR/raft/ exists (engine/read_only.rs), so a new raft/ is made
    // whole beside it and renamed into place: a crash leaves no node dir without a state.
    let raft_dir = dir.join("raft");
    if raft_dir.is_dir() {
        state.store(&raft_dir)?;
    } else {
        let making = dir.join("raft.seeding");
        if making.exists() {
            fs::remove_dir_all(&making).at(&making)?;
        }
        fs::create_dir_all(&making).at(&making)?;
        state.store(&making)?;
        fs::rename(&making, &raft_dir).at(&raft_dir)?;
    }
    fsync_dir(dir)
}

/// Whether `dir` is a standalone data dir holding data: tables, a checkpoint, or WAL bytes.
pub fn holds_standalone_data(dir: &Path) -> Result<bool> {
    if crate::engine::read_only::is_cluster_dir(dir) || !dir.join("CURRENT").is_file() {
        return Ok(false);
    }
    let (state, _) = crate::engine::load_state(dir)?;
    let wal_bytes = list_segments(&dir.join("wal"))?
        .iter()
        .any(|(_, p)| fs::metadata(p).is_ok_and(|m| m.len() > 0));
    Ok(!state.files.is_empty() || state.flushed_seq > 0 || wal_bytes)
}

/// Makes the standalone data in `dir` (stopped) a one-voter cluster of node `node_id` at
/// `node`, under a new cluster id: its data is the cluster's state up to its last sequence
/// A (log purged up to (0, A)). `cluster init` then grows it: the other members join as
/// learners, receive the state by snapshot and become voters. Returns (A, cluster id).
pub fn adopt_standalone(dir: &Path, node_id: NodeId, node: ClusterNode) -> Result<(u64, [u8; 16])> {
    let applied = flush_standalone(dir)?;
    let _lock = crate::io::DirLock::acquire(dir)?;
    let cluster_id: [u8; 16] = rand::random();
    let seed = NodeSeed {
        node_id,
        cluster_id,
        members: BTreeMap::from([(node_id, node)]),
        applied: LogPos {
            term: 0,
            index: applied,
        },
        seen_term: 0,
    };
    write_seed(dir, &seed, None)?;
    Ok((applied, cluster_id))
}

/// Flushes the standalone dir `dir` (stopped; a restore's staging dir) so its tables hold
/// every entry, and empties its WAL. Returns the last sequence: the applied index of a node
/// seeded from it.
pub fn flush_standalone(dir: &Path) -> Result<u64> {
    let wal_dir = dir.join("wal");
    let (state, _) = crate::engine::load_state(dir)?;
    // Already all in tables (an export of a node, or one the archived log was applied to):
    // nothing to replay, and opening the engine would only cost the tables' opening.
    if list_segments(&wal_dir)?.is_empty() && state.last_seq <= state.flushed_seq {
        return Ok(state.flushed_seq);
    }
    // Recovery's own path: replay, one end-of-recovery flush, and no background compaction
    // (a restored tree over its level targets would be compacted before the engine closed).
    let report = Engine::recover(
        dir,
        Options {
            create_if_missing: false,
            ..Options::default()
        },
        None,
    )?;
    if report.outcome == Outcome::Refused {
        return Err(crate::engine::refusal(&report));
    }
    let (state, _) = crate::engine::load_state(dir)?;
    let flushed = state.flushed_seq;
    if state.last_seq > flushed || report.last_applied_seq > flushed {
        return Err(Error::InvalidInput(format!(
            "{}: after recovery the checkpoint is {flushed} but the log reaches {}: not everything is in tables",
            dir.display(),
            state.last_seq.max(report.last_applied_seq)
        )));
    }
    for (_, path) in list_segments(&wal_dir)? {
        fs::remove_file(&path).at(&path)?;
    }
    if wal_dir.is_dir() {
        fsync_dir(&wal_dir)?;
    }
    Ok(flushed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_with_and_without_client_addresses() {
        let m = parse_members(&["2=127.0.0.1:2/127.0.0.1:12".into(), "1=h:1".into()]).unwrap();
        assert_eq!(m[&1].raft_addr, "h:1");
        assert_eq!(m[&1].client_addr, "");
        assert_eq!(m[&2].client_addr, "127.0.0.1:12");
        assert_eq!(members_line(&m), "1=h:1,2=127.0.0.1:2/127.0.0.1:12");
        for bad in ["x=h:1", "0=h:1", "1", "1=", "1=/c:1"] {
            assert!(parse_members(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(parse_members(&["1=a:1".into(), "1=b:1".into()]).is_err());
    }

    #[test]
    fn restored_ids_agree_only_for_the_same_point_and_members() {
        let m = parse_members(&["1=a:1".into(), "2=b:1".into(), "3=c:1".into()]).unwrap();
        let other = parse_members(&["1=a:1".into(), "2=b:1".into()]).unwrap();
        let id = restored_cluster_id("b1", 10, &m, "");
        assert_eq!(id, restored_cluster_id("b1", 10, &m, ""));
        assert_ne!(id, restored_cluster_id("b1", 11, &m, ""));
        assert_ne!(id, restored_cluster_id("b2", 10, &m, ""));
        assert_ne!(id, restored_cluster_id("b1", 10, &other, ""));
        assert_ne!(id, restored_cluster_id("b1", 10, &m, "rehearsal"));
    }
}
