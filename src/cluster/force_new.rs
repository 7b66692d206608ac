//! `drkit cluster force-new`: a stopped survivor of a cluster that lost its quorum for good
//! becomes a one-voter cluster under a new cluster id (etcd's `--force-new-cluster`, TiKV's
//! `unsafe-recover`). New nodes then join it with `replicate --join` and `cluster promote`.
//!
//! What it keeps is the committed state only: the tables, plus the log entries up to the
//! committed index the node recorded (or its applied index, when that is higher), written
//! into one more table. Entries past that point may never have committed (a deposed leader's
//! suffix, a follower's unconfirmed tail): the whole old log goes to
//! `DIR/lost/force-new-<time>/wal/` with the node's old snapshots, never deleted, and the
//! report says which indexes it held past the kept point.
//!
//! Order, so that a crash anywhere leaves a dir that `force-new` finishes when run again and
//! that `serve` refuses until then: DIR/raft/FORCE-NEW (the new cluster id) first, then the
//! table and the manifest (seed.rs), then the old log moved aside, and the marker removed last.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use openraft::{EntryPayload, Membership};
use serde::Serialize;

use super::entry::decode_entry;
use super::offline::committed_tail;
use super::seed::{self, NodeSeed};
use super::state_machine::AppliedState;
use super::{ClusterNode, NodeId};
use crate::engine::read_only::flushed_tables;
use crate::engine::recovery::list_segments;
use crate::engine::{load_state, write_applied_table};
use crate::error::{Error, IoContext, Result};
use crate::format::archive_status::{parse_hex16, to_hex};
use crate::format::entry::EntryType;
use crate::format::envelope::{self, Kind};
use crate::format::raft_state::{LogPos, RaftState};
use crate::format::wal::{self, Event};
use crate::io::{DirLock, fsync_dir, write_atomic};

/// DIR/raft/FORCE-NEW: a force-new in progress, holding the new cluster id (hex). A node
/// refuses to start while it exists.
pub const PENDING: &str = "FORCE-NEW";

#[derive(Debug, Clone, Serialize)]
pub struct ForceNewReport {
    pub dir: PathBuf,
    pub node_id: NodeId,
    pub old_cluster_id: String,
    pub new_cluster_id: String,
    /// The committed state kept: every entry up to this log id.
    pub kept_index: u64,
    pub kept_term: u64,
    /// Of those, the entries that were still in the log (above the tables' checkpoint).
    pub kept_log_entries: u64,
    /// Log entries past the kept index (never known committed), moved to `lost_dir`.
    pub dropped_entries: u64,
    pub dropped_from: Option<u64>,
    pub dropped_to: Option<u64>,
    /// Where the old log and snapshots went (None: there were none).
    pub lost_dir: Option<PathBuf>,
    pub raft_addr: String,
    pub client_addr: String,
    /// The term the one-voter cluster's first election will be above.
    pub vote_term: u64,
    /// True when an interrupted force-new was finished.
    pub resumed: bool,
}

/// Where the node can be reached, when its old membership does not say (or to change it).
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    pub raft_addr: Option<String>,
    pub client_addr: Option<String>,
}

/// Runs force-new on the stopped node dir `dir` as node `node_id`.
pub fn force_new(dir: &Path, node_id: NodeId, addrs: &Addresses) -> Result<ForceNewReport> {
    if !dir.exists() {
        return Err(Error::NotFound {
            path: dir.to_path_buf(),
            hint: "give the stopped survivor's data dir with --data".into(),
        });
    }
    if !crate::engine::read_only::is_cluster_dir(dir) {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "it is not a cluster node's dir (no DIR/raft/): force-new makes a new cluster out of a node that lost its quorum".into(),
        });
    }
    let _lock = DirLock::acquire(dir)?;
    let raft_dir = dir.join("raft");
    let old = RaftState::load(&raft_dir)?.unwrap_or_default();
    if old.node_id != 0 && old.node_id != node_id {
        return Err(Error::InvalidInput(format!(
            "{} belongs to node {}, not node {node_id}: give its own --node-id",
            dir.display(),
            old.node_id
        )));
    }
    let (cluster_id, resumed) = pending_cluster_id(&raft_dir)?;

    let (state, _) = load_state(dir)?;
    let applied = AppliedState::from_manifest(dir, state.cluster_state.as_deref())?;
    let keep = kept_point(dir, &old, &applied)?;
    let tail = committed_tail(dir, state.flushed_seq, Some(keep.index))?;
    let past = past_kept(dir, keep.index)?;
    // The newest membership at or below the kept point: the applied one, or a later entry in
    // the log (`cluster init` writes the first at index 0, which no table records).
    let applied_at = applied.membership.log_id().map(|l| l.index);
    let membership = match &past.membership {
        Some((at, m)) if applied_at.is_none_or(|a| *at > a) => m.clone(),
        _ => applied.membership.membership().clone(),
    };
    let member = membership
        .get_node(&node_id)
        .filter(|n| !n.raft_addr.is_empty());
    let node = address(node_id, member, addrs)?;

    let added = write_applied_table(
        dir,
        state.next_file_no,
        &tail.writes(flushed_tables(dir, &state))?,
    )?;
    let seed = NodeSeed {
        node_id,
        cluster_id,
        members: BTreeMap::from([(node_id, node.clone())]),
        applied: keep,
        seen_term: past
            .max_term
            .max(old.vote.map_or(0, |v| v.term))
            .max(keep.term),
    };
    seed::write_seed(dir, &seed, added)?;
    let lost_dir = move_old_log(dir)?;
    fs::remove_file(raft_dir.join(PENDING)).at(&raft_dir)?;
    fsync_dir(&raft_dir)?;
    Ok(ForceNewReport {
        dir: dir.to_path_buf(),
        node_id,
        old_cluster_id: to_hex(&old.cluster_id),
        new_cluster_id: to_hex(&cluster_id),
        kept_index: keep.index,
        kept_term: keep.term,
        kept_log_entries: tail.entries.len() as u64,
        dropped_entries: past.entries,
        dropped_from: past.first,
        dropped_to: past.last,
        lost_dir,
        raft_addr: node.raft_addr,
        client_addr: node.client_addr,
        vote_term: seed.seen_term + 1,
        resumed,
    })
}

/// Whether DIR/raft/state says a node must not start: a force-new did not finish.
pub fn refuse_if_pending(dir: &Path) -> Result<()> {
    let marker = dir.join("raft").join(PENDING);
    if marker.exists() {
        return Err(Error::InvalidInput(format!(
            "{}: `drkit cluster force-new` was interrupted on this dir; run it again to finish before starting the node",
            marker.display()
        )));
    }
    Ok(())
}

/// The new cluster id: the one an interrupted run chose (the dir may already carry it), or a
/// fresh one, recorded before anything changes.
fn pending_cluster_id(raft_dir: &Path) -> Result<([u8; 16], bool)> {
    let marker = raft_dir.join(PENDING);
    match fs::read_to_string(&marker) {
        Ok(text) => parse_hex16(text.trim())
            .map(|id| (id, true))
            .ok_or_else(|| {
                Error::corruption(&marker, 0, "not a cluster id (32 hex digits)").with_hint(
                    "remove this file only if no force-new ran on the dir, then run force-new again",
                )
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id: [u8; 16] = rand::random();
            write_atomic(&marker, format!("{}\n", to_hex(&id)).as_bytes())?;
            Ok((id, false))
        }
        Err(e) => Err(Error::io(&marker, e)),
    }
}

/// The point kept: the committed log id the node recorded, or the applied one in its
/// manifest when that is higher (the committed index is recorded lazily).
fn kept_point(dir: &Path, old: &RaftState, applied: &AppliedState) -> Result<LogPos> {
    let applied = applied.last_applied.map(|l| LogPos {
        term: l.leader_id.term,
        index: l.index,
    });
    match (old.committed, applied) {
        (Some(c), Some(a)) => Ok(if a.index > c.index { a } else { c }),
        (c, a) => c.or(a).ok_or_else(|| {
            Error::InvalidInput(format!(
                "{}: this node never recorded a committed or applied entry, so it holds no committed state to keep; start a new cluster with `drkit cluster init`",
                dir.display()
            ))
        }),
    }
}

fn address(
    node_id: NodeId,
    member: Option<&ClusterNode>,
    addrs: &Addresses,
) -> Result<ClusterNode> {
    let raft_addr = addrs
        .raft_addr
        .clone()
        .or_else(|| member.map(|m| m.raft_addr.clone()))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "node {node_id} is not in the membership this dir recorded: give its addresses with --raft-addr ADDR --client-addr ADDR"
            ))
        })?;
    let client_addr = addrs
        .client_addr
        .clone()
        .or_else(|| member.map(|m| m.client_addr.clone()))
        .unwrap_or_default();
    Ok(ClusterNode {
        raft_addr,
        client_addr,
    })
}

/// What the log holds around the kept index: the entries past it (how many, their range),
/// the highest term seen, and the newest membership at or below it.
#[derive(Debug, Default)]
struct Past {
    entries: u64,
    first: Option<u64>,
    last: Option<u64>,
    max_term: u64,
    membership: Option<(u64, Membership<NodeId, ClusterNode>)>,
}

/// Reads every segment up to its first damage (past the kept index damage is no loss: those
/// entries are dropped anyway, and the files are kept under lost/).
fn past_kept(dir: &Path, kept: u64) -> Result<Past> {
    let mut past = Past::default();
    for (_, path) in list_segments(&dir.join("wal"))? {
        let bytes = fs::read(&path).at(&path)?;
        if envelope::decode(&path, &bytes, Kind::Wal).is_err() {
            continue;
        }
        wal::scan(&bytes, |ev| match ev {
            Event::Entry { entry, .. } => {
                if entry.kind == EntryType::Membership
                    && entry.seq <= kept
                    && let Ok(e) = decode_entry(&entry)
                    && let EntryPayload::Membership(m) = e.payload
                    && past
                        .membership
                        .as_ref()
                        .is_none_or(|(at, _)| entry.seq >= *at)
                {
                    past.membership = Some((entry.seq, m));
                }
                if entry.kind != EntryType::Seal {
                    past.max_term = past.max_term.max(entry.term);
                    if entry.seq > kept {
                        past.entries += 1;
                        past.first = Some(past.first.map_or(entry.seq, |f| f.min(entry.seq)));
                        past.last = Some(past.last.map_or(entry.seq, |l| l.max(entry.seq)));
                    }
                }
                true
            }
            Event::Damage { .. } => false,
        });
    }
    Ok(past)
}

/// Moves the old log and the node's snapshots (they carry the old membership) under
/// DIR/lost/force-new-<time>/.
fn move_old_log(dir: &Path) -> Result<Option<PathBuf>> {
    let segments = list_segments(&dir.join("wal"))?;
    let raft_dir = dir.join("raft");
    let extra: Vec<(PathBuf, &str)> = [
        (super::snapshot::snapshots_dir(dir), "snapshots"),
        (raft_dir.join("incoming"), "incoming"),
    ]
    .into_iter()
    .filter(|(p, _)| p.exists())
    .collect();
    if segments.is_empty() && extra.is_empty() {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let lost = dir.join("lost").join(format!("force-new-{stamp}"));
    let lost_wal = lost.join("wal");
    fs::create_dir_all(&lost_wal).at(&lost_wal)?;
    for (_, path) in &segments {
        let to = lost_wal.join(path.file_name().unwrap_or_default());
        fs::rename(path, &to).at(path)?;
    }
    for (from, name) in extra {
        let to = lost.join(name);
        fs::rename(&from, &to).at(&from)?;
    }
    for d in [&lost_wal, &lost, &dir.join("wal"), &raft_dir] {
        fsync_dir(d)?;
    }
    fsync_dir(&dir.join("lost"))?;
    Ok(Some(lost))
}
