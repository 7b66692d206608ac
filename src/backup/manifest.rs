//! `backups/<id>/manifest.json`: what one backup holds. Written last, so its presence is what
//! makes a backup exist (see [`super::repo`]). Sealed JSON (see [`super::sealed`]):
//!
//! ```text
//!  {
//!    "format": "drkit-backup-manifest", "version": 1, "id": "<id>",
//!    "type": "full" | "incr",        "parent": "<id>" | null,
//!    "start_time", "end_time": RFC 3339 UTC,  "duration_ms": u64,
//!    "source_dir": path,  "online": bool,     "history_id": hex,
//!    "checkpoint_seq": u64,  "last_seq": u64, "last_entry_ns": i64 (absent if unknown),
//!    "compress_level": i32,
//!    "records": u64,  "logical_digest": blake3 hex over every live record in key order,
//!                     each framed as key len u64 LE | key | value len u64 LE | value
//!                     (both absent unless taken with --logical-digest),
//!    "bytes": u64 (original, all files),  "stored_bytes": u64 (in this backup's dir),
//!    "files": [ { "path": "sst/sst_1_….sst" ('/'-separated, relative to the data dir),
//!                 "size": u64, "blake3": hex of the original bytes,
//!                 "stored_size": u64, "stored_in": "<id>" (absent: this backup's dir),
//!                 "stored_as": "copy" (absent: "zstd") } ],
//!    "wal_segments": [ { "path": "wal/….wal", "first_seq", "last_seq", "entries": u64,
//!                        "first_entry_ns", "last_entry_ns": i64 | null } ]
//!                    (absent when empty, and in manifests of older versions),
//!    "cluster": { "cluster_id": hex (the history id), "node_id": u64,
//!                 "committed_term": u64 | null, "committed_ns": i64 (absent if unknown),
//!                 "checkpoint_index", "committed_index", "tail_entries", "tail_writes": u64,
//!                 "lag": { "leader", "term", "ms", "entries": u64, "contact_time": RFC 3339 }
//!                        (the node's lag behind its leader when the backup began; absent
//!                        when it recorded no contact) }
//!               (a backup of a cluster node's committed state; absent otherwise),
//!    "checksum": blake3 hex of this text written with an empty checksum
//!  }
//!  stored copy of a file: backups/<stored_in or id>/files/<path>.zst (zstd, see codec.rs)
//!                      or backups/<stored_in or id>/files/<path>     (copy, see copy.rs)
//! ```

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::sealed::Sealed;
use crate::error::{Error, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
/// Where a backup's compressed files live inside its dir: `files/<relative path>.zst`.
pub const FILES_DIR: &str = "files";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: String,
    pub version: u16,
    pub id: String,
    /// "full" or "incr".
    #[serde(rename = "type")]
    pub kind: String,
    /// The backup an incremental one was taken against; null for a full backup. Which files
    /// it actually needs from earlier backups is said per file (`stored_in`).
    pub parent: Option<String>,
    /// RFC 3339, UTC.
    pub start_time: String,
    pub end_time: String,
    pub duration_ms: u64,
    pub source_dir: String,
    /// Taken from a point of a dir a running engine held (see `backup::point`).
    #[serde(default)]
    pub online: bool,
    /// The source dir's history id, hex.
    pub history_id: String,
    /// Every entry at or below it was in the SSTs at the backup point.
    pub checkpoint_seq: u64,
    /// The highest sequence the backed-up files hold.
    pub last_seq: u64,
    /// Commit time (ns since the Unix epoch) of the entry at `last_seq`: the backup's point
    /// for `restore --to-time`. Absent when the dir's WAL no longer held that entry, and in
    /// manifests of older drkit versions (left out when absent, so those still read back
    /// byte for byte).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_entry_ns: Option<i64>,
    pub compress_level: i32,
    /// Live records at the backup point and the blake3 over them in key order, each framed
    /// as (key length u64 LE, key, value length u64 LE, value): what a restore must give back.
    /// Absent unless the backup was taken with `--logical-digest` (always present in manifests
    /// of drkit versions before it became optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_digest: Option<String>,
    /// Original bytes over all files, and compressed bytes of the files stored in this
    /// backup's own dir (not those it references in earlier backups).
    pub bytes: u64,
    pub stored_bytes: u64,
    pub files: Vec<BackupFile>,
    /// The entries each WAL file in `files` holds: restore reads these copies for a
    /// point-in-time target past the backup as it reads archived segments, so the window
    /// covers every entry the repository holds. Absent in manifests of older drkit versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wal_segments: Vec<WalCopy>,
    /// For a backup of a cluster node: its cluster (the history id), node id, and the
    /// committed log id the backup holds. Absent for standalone dirs, and in older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::export::Export>,
    pub checksum: String,
}

/// What one WAL file of a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WalCopy {
    /// As in `files` (`wal/{first seq:020}.wal`).
    pub path: String,
    pub first_seq: u64,
    /// The last entry's sequence; `first_seq - 1` for a segment without entries.
    pub last_seq: u64,
    pub entries: u64,
    pub first_entry_ns: Option<i64>,
    pub last_entry_ns: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupFile {
    /// Relative to the data dir, `/`-separated (`CURRENT`, `sst/sst_1_….sst`, `wal/…`).
    pub path: String,
    pub size: u64,
    /// blake3 of the original bytes, hex.
    pub blake3: String,
    /// Size of the zstd file in the repository.
    pub stored_size: u64,
    /// The earlier backup whose dir holds the stored copy; absent when this backup's own
    /// dir does. Always the backup that stored it, never a chain to walk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_in: Option<String>,
    /// How the repository holds the bytes. Left out for zstd, so manifests from before copies
    /// existed read back byte for byte.
    #[serde(default, skip_serializing_if = "StoredAs::is_zstd")]
    pub stored_as: StoredAs,
}

/// The two ways a file is stored in a backup's dir.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredAs {
    /// Compressed with the backup codec (codec.rs): WAL, manifests, uncompressed tables.
    #[default]
    Zstd,
    /// The original bytes as they are (copy.rs): tables whose blocks the engine compressed
    /// already, where compressing again would cost CPU and gain nothing.
    Copy,
}

impl StoredAs {
    fn is_zstd(&self) -> bool {
        *self == StoredAs::Zstd
    }
}

pub const FORMAT: &str = "drkit-backup-manifest";

/// Where the backups are in a repository: `backups/<id>/`.
pub const BACKUPS_DIR: &str = "backups";

/// The key of `file` as backup `owner` stores it.
pub fn stored_key(owner: &str, file: &BackupFile) -> String {
    let files = format!("{BACKUPS_DIR}/{owner}/{FILES_DIR}");
    match file.stored_as {
        StoredAs::Zstd => format!("{files}/{}.zst", file.path),
        StoredAs::Copy => format!("{files}/{}", file.path),
    }
}

impl Sealed for BackupManifest {
    const VERSION: u16 = 1;
    fn checksum_mut(&mut self) -> &mut String {
        &mut self.checksum
    }
}

impl BackupManifest {
    /// The key `backups/<owner>/files/<path>.zst` (or without `.zst` for a copy), where the
    /// owner is this backup or the earlier one that stored the file.
    pub fn stored_key(&self, file: &BackupFile) -> String {
        stored_key(file.stored_in.as_deref().unwrap_or(&self.id), file)
    }

    /// The earlier backups whose dirs this one reads files from.
    pub fn references(&self) -> std::collections::BTreeSet<&str> {
        self.files
            .iter()
            .filter_map(|f| f.stored_in.as_deref())
            .collect()
    }

    /// The manifest is read from disk and its paths decide where a restore writes: refuse
    /// anything that could leave the target dir (absolute paths, `..`), which a sealed
    /// manifest from drkit never holds.
    pub fn check_paths(&self, manifest_path: &Path) -> Result<()> {
        for f in &self.files {
            let p = Path::new(&f.path);
            let safe =
                !f.path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
            if !safe {
                return Err(Error::corruption(
                    manifest_path,
                    0,
                    format!(
                        "lists the file path {:?}, which is not a plain relative path",
                        f.path
                    ),
                ));
            }
            if let Some(owner) = &f.stored_in
                && check_id(owner).is_err()
            {
                return Err(Error::corruption(
                    manifest_path,
                    0,
                    format!(
                        "says {} is stored in {owner:?}, which is not a backup id",
                        f.path
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A backup id or other name given on the command line must be one plain file name.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{id:?} is not a backup id (see `drkit backup list`)"
        )))
    }
}
