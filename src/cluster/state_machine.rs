//! openraft's state machine over the engine. Committed entries go to the memtable through
//! `Engine::apply_committed`, and the applied state (last applied log id, membership) rides
//! with them into the manifest at each flush: after a crash the state machine is exactly
//! what the SSTs hold, and openraft re-applies the committed entries above it from the log.
//!
//! A snapshot is a flushed checkpoint: its tables hard-linked, then streamed into one file
//! (`snapshot.rs`). Installing one swaps the whole tree in one manifest edit.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, SnapshotMeta, StoredMembership};
use serde::{Deserialize, Serialize};

use super::entry::Decider;
use super::log_store::Durability;
use super::{
    ClusterNode, Entry, LogId, LogStore, NodeId, Response, StorageError, TypeConfig, snapshot,
    storage_error,
};
use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::format::entry::EntryRef;

/// What the manifest records with each flush in cluster mode (its ClusterState tag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedState {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership<NodeId, ClusterNode>,
}

impl AppliedState {
    fn decode(engine: &Engine) -> Result<AppliedState> {
        Self::from_manifest(engine.dir(), engine.flushed_cluster_state().as_deref())
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The applied state a manifest records (None: the dir never applied anything).
    pub(super) fn from_manifest(dir: &Path, bytes: Option<&[u8]>) -> Result<AppliedState> {
        match bytes {
            None => Ok(AppliedState::default()),
            Some(b) => serde_json::from_slice(b).map_err(|e| {
                Error::corruption(
                    dir.join("CURRENT"),
                    0,
                    format!("the manifest's cluster state does not decode: {e}"),
                )
            }),
        }
    }
}

#[derive(Debug)]
pub struct StateMachine {
    engine: Arc<Engine>,
    applied: AppliedState,
    /// Nothing is applied before this node's log has it on disk: a leader's own fsync may
    /// trail the commit (see `log_store::Flusher`), and what is applied is answered to
    /// clients, shown to reads and flushed to SSTs.
    durability: Durability,
}

fn sm_err(verb: ErrorVerb, e: Error) -> StorageError {
    storage_error(verb, ErrorSubject::StateMachine, e)
}

fn snap_err(verb: ErrorVerb, e: Error) -> StorageError {
    storage_error(verb, ErrorSubject::Snapshot(None), e)
}

impl StateMachine {
    /// The state machine of `engine`, opened in cluster mode.
    /// The state machine over `engine`, applying entries of `log` once they are on disk.
    pub fn new(engine: Arc<Engine>, log: &LogStore) -> Result<StateMachine> {
        if !engine.options().cluster {
            return Err(Error::InvalidInput(
                "the Raft state machine needs an engine opened in cluster mode".into(),
            ));
        }
        let applied = AppliedState::decode(&engine)?;
        Ok(StateMachine {
            engine,
            applied,
            durability: log.durability(),
        })
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn incoming_dir(&self) -> PathBuf {
        self.engine.dir().join("raft").join("incoming")
    }
}

/// Builds snapshots from the engine (a clone per build, so apply goes on meanwhile).
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    engine: Arc<Engine>,
}

fn build(engine: &Engine) -> Result<Snapshot<TypeConfig>> {
    let dir = engine.dir();
    let id = format!("{:016x}", rand::random::<u64>());
    let links = dir.join("raft").join(format!("building-{id}"));
    let checkpoint = engine.link_checkpoint(&links);
    let result = checkpoint.and_then(|checkpoint| {
        let applied: AppliedState = match &checkpoint.cluster_state {
            None => AppliedState::default(),
            Some(b) => serde_json::from_slice(b).map_err(|e| {
                Error::corruption(dir.join("CURRENT"), 0, format!("cluster state: {e}"))
            })?,
        };
        let meta = SnapshotMeta {
            last_log_id: applied.last_applied,
            last_membership: applied.membership,
            snapshot_id: id.clone(),
        };
        let path = snapshot::write(dir, &meta, &checkpoint)?;
        Ok((meta, path))
    });
    let _ = fs::remove_dir_all(&links);
    let (meta, path) = result?;
    let file = fs::File::open(&path).at(&path)?;
    Ok(Snapshot {
        meta,
        snapshot: Box::new(tokio::fs::File::from_std(file)),
    })
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> std::result::Result<Snapshot<TypeConfig>, StorageError> {
        let engine = Arc::clone(&self.engine);
        tokio::task::spawn_blocking(move || build(&engine))
            .await
            .map_err(|e| snap_err(ErrorVerb::Write, Error::InvalidInput(e.to_string())))?
            .map_err(|e| snap_err(ErrorVerb::Write, e))
    }
}

fn open_snapshot(
    path: &Path,
    meta: SnapshotMeta<NodeId, ClusterNode>,
) -> Result<Snapshot<TypeConfig>> {
    let file = fs::File::open(path).at(path)?;
    Ok(Snapshot {
        meta,
        snapshot: Box::new(tokio::fs::File::from_std(file)),
    })
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> std::result::Result<(Option<LogId>, StoredMembership<NodeId, ClusterNode>), StorageError>
    {
        Ok((self.applied.last_applied, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> std::result::Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let Some(last) = entries.last() else {
            return Ok(Vec::new());
        };
        self.durability
            .reached(last.log_id.index)
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, Error::Poisoned(e)))?;
        let mut next = self.applied.clone();
        next.last_applied = Some(last.log_id);
        for e in &entries {
            if let EntryPayload::Membership(m) = &e.payload {
                next.membership = StoredMembership::new(Some(e.log_id), m.clone());
            }
        }
        // Each PutIf is decided against the engine (every entry applied before this call)
        // under the writes of the entries before it in this call.
        let engine = Arc::clone(&self.engine);
        let mut decider = Decider::new(|key: &[u8]| engine.get_raw(key), true);
        let mut answers = Vec::with_capacity(entries.len());
        for e in &entries {
            answers.push(decider.entry(e).map_err(|e| sm_err(ErrorVerb::Read, e))?);
        }
        let refs: Vec<EntryRef<'_>> = decider.into_writes();
        self.engine
            .apply_committed(&refs, next.encode())
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        self.applied = next;
        Ok(answers)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            engine: Arc::clone(&self.engine),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> std::result::Result<Box<tokio::fs::File>, StorageError> {
        let dir = self.incoming_dir();
        let make = || -> Result<fs::File> {
            // One transfer at a time: an older partial one was abandoned.
            if dir.exists() {
                fs::remove_dir_all(&dir).at(&dir)?;
            }
            fs::create_dir_all(&dir).at(&dir)?;
            let path = dir.join("snapshot.part");
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .at(&path)
        };
        let file = make().map_err(|e| snap_err(ErrorVerb::Write, e))?;
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, ClusterNode>,
        snapshot: Box<tokio::fs::File>,
    ) -> std::result::Result<(), StorageError> {
        let mut file = snapshot.into_std().await;
        let engine = Arc::clone(&self.engine);
        let tables_dir = engine.dir().join("sst").join("incoming");
        let want = meta.clone();
        let installed = tokio::task::spawn_blocking(move || -> Result<AppliedState> {
            file.sync_all().at(Path::new("received snapshot"))?;
            let snapshot::Received {
                header,
                copy,
                tables,
            } = snapshot::receive(engine.dir(), &mut file, &tables_dir)?;
            if header.snapshot != want {
                return Err(Error::InvalidInput(format!(
                    "received snapshot {} is not the one announced ({})",
                    header.snapshot.snapshot_id, want.snapshot_id
                )));
            }
            let flushed = engine.checkpoint_seq();
            let index = want.last_log_id.map_or(0, |l| l.index);
            if index < flushed {
                return Err(Error::InvalidInput(format!(
                    "snapshot up to {index} is older than this node's checkpoint {flushed}"
                )));
            }
            let applied = AppliedState {
                last_applied: want.last_log_id,
                membership: want.last_membership.clone(),
            };
            engine.install_checkpoint(tables, index, applied.encode())?;
            snapshot::keep_received(engine.dir(), &copy, &header)?;
            let _ = fs::remove_dir_all(&tables_dir);
            let _ = fs::remove_dir_all(engine.dir().join("raft").join("incoming"));
            Ok(applied)
        })
        .await
        .map_err(|e| snap_err(ErrorVerb::Write, Error::InvalidInput(e.to_string())))?
        .map_err(|e| snap_err(ErrorVerb::Write, e))?;
        self.applied = installed;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> std::result::Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current =
            snapshot::current(self.engine.dir()).map_err(|e| snap_err(ErrorVerb::Read, e))?;
        match current {
            None => Ok(None),
            Some((path, header)) => open_snapshot(&path, header.snapshot)
                .map(Some)
                .map_err(|e| snap_err(ErrorVerb::Read, e)),
        }
    }
}
