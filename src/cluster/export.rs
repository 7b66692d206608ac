//! A cluster node's committed state as a standalone data dir: what a backup of a node stores,
//! so that a restore gives a dir any drkit tool and a standalone `serve` read as they read
//! any other.
//!
//! ```text
//!  DEST/CURRENT            names the manifest below
//!  DEST/MANIFEST-000001    one snapshot record: the source's tables plus the one below,
//!                          checkpoint C, the cluster id as history id, no cluster state
//!  DEST/sst/…              hard links to the source's tables (immutable), flushed up to F
//!  DEST/sst/sst_0_N.sst    the committed entries in (F, C], each key at its newest write
//!  DEST/wal/               empty
//! ```
//!
//! Sequences stay Raft log indexes, so backups of one node number alike. The Raft log itself
//! is not carried over: its entries past the committed index may never have committed, a
//! batch holds several writes at one index (a standalone log has one sequence per write),
//! and its blank and membership entries mean nothing outside the cluster. Nor is DIR/raft/:
//! a node restored with an old vote could vote twice in a term.

use std::fs;
use std::path::Path;

use super::offline::{committed_tail, read_log};
use crate::engine::read_only::flushed_tables;
use crate::engine::{VersionSet, load_state, write_applied_table};
use crate::error::{IoContext, Result};
use crate::format::archive_status::to_hex;
use crate::format::current;
use crate::format::entry::EntryType;
use crate::format::envelope::{self, Kind};
use crate::format::leader_contact::LeaderContact;
use crate::format::manifest::{self, ManifestState};
use crate::format::raft_state::RaftState;
use crate::io::{fsync_dir, write_atomic};

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Export {
    /// The node's cluster (hex; zeros before it joined one): the export's history id, so
    /// backups of any node of one cluster form one history.
    pub cluster_id: String,
    pub node_id: u64,
    /// The term of the entry at the committed index, when the node recorded one.
    pub committed_term: Option<u64>,
    /// The leader's time stamp of the entry at the committed index, when the log held it
    /// (a point-in-time restore by time starts from a backup by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_ns: Option<i64>,
    /// The node's flushed checkpoint (a Raft log index): the tables hold everything up to it.
    pub checkpoint_index: u64,
    /// The committed index the export ends at: the checkpoint when the node recorded none
    /// above it.
    pub committed_index: u64,
    /// Raft entries above the checkpoint, and the writes they made.
    pub tail_entries: u64,
    pub tail_writes: u64,
    /// How far the node trailed its leader when the backup began; None when the node never
    /// recorded a contact with one (DIR/raft/leader-contact), or it was unreadable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<LeaderLag>,
}

/// A node's lag behind its leader at a moment: it held the leader's log up to the leader's
/// commit index as of its last contact, and the leader may have committed more since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaderLag {
    /// The leader then (the node itself when it led).
    pub leader: u64,
    pub term: u64,
    /// Milliseconds from the last contact to the moment (a stopped node: since it stopped).
    pub ms: u64,
    /// Entries the leader had committed at that contact past the exported index.
    pub entries: u64,
    /// The last contact, RFC 3339.
    pub contact_time: String,
}

impl LeaderLag {
    pub fn at(contact: &LeaderContact, exported_index: u64, now_unix_ms: i64) -> LeaderLag {
        LeaderLag {
            leader: contact.leader,
            term: contact.term,
            ms: u64::try_from(now_unix_ms.saturating_sub(contact.at_unix_ms)).unwrap_or(0),
            entries: contact.leader_committed.saturating_sub(exported_index),
            contact_time: chrono::DateTime::from_timestamp_millis(contact.at_unix_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
        }
    }
}

/// Writes the committed state of the node dir `src` into `dest` (new, empty, on the same
/// file system), up to the committed index of `raft` (read before `src` was captured:
/// every entry up to it is in `src`'s log).
/// `raft` is the node's DIR/raft/state, read from the node's own dir before `src` was
/// captured: its committed index, node id and cluster id.
pub fn export_standalone(src: &Path, raft: &RaftState, dest: &Path) -> Result<Export> {
    let (state, _) = load_state(src)?;
    let committed_term = raft.committed.map(|c| c.term);
    let committed = raft.committed.map(|c| c.index);
    let checkpoint = state.flushed_seq;
    let tail = committed_tail(src, checkpoint, committed)?;

    let sst_dir = dest.join("sst");
    fs::create_dir_all(&sst_dir).at(&sst_dir)?;
    for meta in state.files.values() {
        let name = meta.file_name();
        let from = src.join("sst").join(&name);
        fs::hard_link(&from, sst_dir.join(&name)).at(&from)?;
    }

    let writes = tail.writes(flushed_tables(src, &state))?;
    let mut files = state.files.clone();
    let mut next_file_no = state.next_file_no;
    if let Some(table) = write_applied_table(dest, next_file_no, &writes)? {
        files.insert(table.file_no, table);
        next_file_no += 1;
    }
    let wal_dir = dest.join("wal");
    fs::create_dir_all(&wal_dir).at(&wal_dir)?;

    let committed_index = tail.committed.unwrap_or(checkpoint).max(checkpoint);
    let history_id = if raft.cluster_id == [0; 16] {
        state.history_id
    } else {
        raft.cluster_id
    };
    let exported = ManifestState {
        history_id,
        flushed_seq: committed_index,
        next_file_no,
        last_seq: committed_index,
        files,
        cluster_state: None,
    };
    let name = manifest::manifest_name(1);
    let mut bytes = envelope::encode(Kind::Manifest).to_vec();
    manifest::encode_record(&exported.snapshot_edit(), &mut bytes);
    write_atomic(&dest.join(&name), &bytes)?;
    write_atomic(&dest.join("CURRENT"), current::encode(&name).as_bytes())?;
    fsync_dir(dest)?;
    Ok(Export {
        cluster_id: to_hex(&raft.cluster_id),
        node_id: raft.node_id,
        committed_term,
        committed_ns: tail.last_ns,
        checkpoint_index: checkpoint,
        committed_index,
        tail_entries: tail.entries.len() as u64,
        tail_writes: writes
            .iter()
            .filter(|w| w.kind == EntryType::Delete || w.kind.is_data())
            .count() as u64,
        lag: None,
    })
}

/// Applies the Raft log entries `(after, to]` of the segments in `log_dir` (archived copies
/// of a cluster's committed log) to the standalone dir `dir` (a restored export, stopped,
/// checkpoint `after`): their writes become one more table and the checkpoint moves to `to`.
/// Returns how many log entries were applied.
pub fn apply_log(dir: &Path, log_dir: &Path, after: u64, to: u64) -> Result<u64> {
    let tail = read_log(log_dir, after, Some(to))?;
    let (state, _) = load_state(dir)?;
    let writes = tail.writes(flushed_tables(dir, &state))?;
    let added = write_applied_table(dir, state.next_file_no, &writes)?;
    VersionSet::rewrite_stopped(dir, |st| {
        if let Some(table) = added {
            st.next_file_no = st.next_file_no.max(table.file_no + 1);
            st.files.insert(table.file_no, table);
        }
        st.flushed_seq = st.flushed_seq.max(to);
        st.last_seq = st.last_seq.max(to);
    })?;
    Ok(tail.entries.len() as u64)
}
