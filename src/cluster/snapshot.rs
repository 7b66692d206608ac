//! A Raft snapshot file: a flushed checkpoint's tables in one stream, as openraft sends it
//! to a node that lags behind the leader's purged log.
//!
//! ```text
//!  DIR/raft/snapshots/snapshot-{last index:020}-{id}.snap
//!  0          16          20                20+M
//!  +----------+-----------+-----------------+--------------------------------+---------+
//!  | envelope | meta len M| meta, JSON      | tables, in meta order:         | blake3  |
//!  | 16 B     | u32 LE    | M bytes         | each its SST file's bytes      | 32 B    |
//!  +----------+-----------+-----------------+--------------------------------+---------+
//!  meta: {"snapshot": openraft SnapshotMeta, "tables": [{"level": L, "size": N}, ...]}
//! ```
//!
//! The blake3 covers every byte before it. A receiver checks it, the meta length (at most
//! 16 MiB) and that the sizes add up to the file's length before it installs anything.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use openraft::SnapshotMeta;
use serde::{Deserialize, Serialize};

use super::{ClusterNode, NodeId};
use crate::engine::LinkedCheckpoint;
use crate::error::{Error, IoContext, Result};
use crate::format::envelope::{self, Kind};

const MAX_META: u32 = 16 << 20;
const HASH_LEN: u64 = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableRef {
    pub level: u8,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub snapshot: SnapshotMeta<NodeId, ClusterNode>,
    pub tables: Vec<TableRef>,
}

pub fn snapshots_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("raft").join("snapshots")
}

fn file_name(meta: &SnapshotMeta<NodeId, ClusterNode>) -> String {
    let index = meta.last_log_id.map_or(0, |l| l.index);
    format!("snapshot-{index:020}-{}.snap", meta.snapshot_id)
}

/// Writes the snapshot of `checkpoint` into the snapshots dir (tmp → fsync → rename) and
/// returns its path. Older snapshot files are removed once it is in place.
pub fn write(
    data_dir: &Path,
    meta: &SnapshotMeta<NodeId, ClusterNode>,
    checkpoint: &LinkedCheckpoint,
) -> Result<PathBuf> {
    let dir = snapshots_dir(data_dir);
    fs::create_dir_all(&dir).at(&dir)?;
    let header = SnapshotHeader {
        snapshot: meta.clone(),
        tables: checkpoint
            .tables
            .iter()
            .map(|(m, _)| TableRef {
                level: m.level,
                size: m.size,
            })
            .collect(),
    };
    let final_path = dir.join(file_name(meta));
    let tmp = final_path.with_extension("tmp");
    let mut hasher = blake3::Hasher::new();
    {
        let file = File::create(&tmp).at(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut put = |bytes: &[u8]| -> Result<()> {
            hasher.update(bytes);
            out.write_all(bytes).at(&tmp)
        };
        put(&envelope::encode(Kind::RaftSnapshot))?;
        let meta_json = serde_json::to_vec(&header)
            .map_err(|e| Error::InvalidInput(format!("snapshot meta: {e}")))?;
        put(&(meta_json.len() as u32).to_le_bytes())?;
        put(&meta_json)?;
        let mut buf = vec![0u8; 1 << 20];
        for (m, link) in &checkpoint.tables {
            let mut f = File::open(link).at(link)?;
            let mut left = m.size;
            while left > 0 {
                let n = f.read(&mut buf).at(link)?;
                if n == 0 {
                    return Err(Error::corruption(
                        link,
                        m.size - left,
                        "table shorter than the manifest says",
                    ));
                }
                let n = n.min(left as usize);
                put(&buf[..n])?;
                left -= n as u64;
            }
        }
        let hash = hasher.finalize();
        out.write_all(hash.as_bytes()).at(&tmp)?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().at(&tmp)?;
    }
    fs::rename(&tmp, &final_path).at(&final_path)?;
    crate::io::fsync_dir(&dir)?;
    remove_older(&dir, &final_path)?;
    Ok(final_path)
}

fn index_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("snapshot-")?.get(..20)?.parse().ok()
}

/// Removes the snapshot files older than `keep`. A build and a receive may run at once:
/// neither removes a newer snapshot, nor the other's file in progress (`.tmp`).
fn remove_older(dir: &Path, keep: &Path) -> Result<()> {
    let Some(kept) = index_of(keep) else {
        return Ok(());
    };
    for e in fs::read_dir(dir).at(dir)? {
        let p = e.at(dir)?.path();
        let older =
            p.extension().is_some_and(|x| x == "snap") && index_of(&p).is_some_and(|i| i < kept);
        if p != keep && older {
            fs::remove_file(&p).at(&p)?;
        }
    }
    Ok(())
}

/// The newest complete snapshot file and its header, if any.
pub fn current(data_dir: &Path) -> Result<Option<(PathBuf, SnapshotHeader)>> {
    let dir = snapshots_dir(data_dir);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .at(&dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    names.sort();
    let Some(path) = names.pop() else {
        return Ok(None);
    };
    let mut f = File::open(&path).at(&path)?;
    let header = read_header(&path, &mut f)?;
    Ok(Some((path, header)))
}

fn read_header(path: &Path, f: &mut File) -> Result<SnapshotHeader> {
    let mut head = [0u8; envelope::LEN + 4];
    f.read_exact(&mut head)
        .map_err(|_| Error::corruption(path, 0, "snapshot shorter than its header"))?;
    envelope::decode(path, &head, Kind::RaftSnapshot)?;
    let meta_len = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
    if meta_len > MAX_META {
        return Err(Error::corruption(
            path,
            16,
            format!("snapshot meta of {meta_len} bytes is over the {MAX_META}-byte limit"),
        ));
    }
    let mut meta = vec![0u8; meta_len as usize];
    f.read_exact(&mut meta)
        .map_err(|_| Error::corruption(path, 20, "snapshot meta cut short"))?;
    serde_json::from_slice(&meta)
        .map_err(|e| Error::corruption(path, 20, format!("snapshot meta does not decode: {e}")))
}

/// A received snapshot, checked: its header, its copy (not yet the current snapshot), and
/// its tables as files of their own with their levels.
#[derive(Debug)]
pub struct Received {
    pub header: SnapshotHeader,
    pub copy: PathBuf,
    pub tables: Vec<(u8, PathBuf)>,
}

/// Checks a received snapshot (`f`, read from its start) and stores it as this node's
/// current snapshot file, with each table also written to a file of its own under
/// `tables_dir` (on the data dir's file system, for the engine to rename into place).
/// Nothing is returned unless every byte checked out.
pub fn receive(data_dir: &Path, f: &mut File, tables_dir: &Path) -> Result<Received> {
    let label = Path::new("received snapshot");
    let len = f.seek(SeekFrom::End(0)).at(label)?;
    f.seek(SeekFrom::Start(0)).at(label)?;
    let header = read_header(label, f)?;
    let body_start = f.stream_position().at(label)?;
    let mut tables_bytes = 0u64;
    for t in &header.tables {
        if usize::from(t.level) >= crate::engine::LEVELS {
            return Err(Error::corruption(
                label,
                body_start,
                format!("snapshot names level {}, past the last one", t.level),
            ));
        }
        tables_bytes = tables_bytes.saturating_add(t.size);
    }
    if body_start
        .saturating_add(tables_bytes)
        .saturating_add(HASH_LEN)
        != len
    {
        return Err(Error::corruption(
            label,
            body_start,
            format!(
                "snapshot is {len} bytes; its header and {} tables of {tables_bytes} bytes need {}",
                header.tables.len(),
                body_start
                    .saturating_add(tables_bytes)
                    .saturating_add(HASH_LEN)
            ),
        ));
    }
    let dir = snapshots_dir(data_dir);
    fs::create_dir_all(&dir).at(&dir)?;
    fs::create_dir_all(tables_dir).at(tables_dir)?;
    let incoming = data_dir.join("raft").join("incoming");
    fs::create_dir_all(&incoming).at(&incoming)?;
    let tmp = incoming.join(file_name(&header.snapshot));
    let mut copy = BufWriter::with_capacity(1 << 20, File::create(&tmp).at(&tmp)?);
    let mut hasher = blake3::Hasher::new();
    f.seek(SeekFrom::Start(0)).at(label)?;
    let mut head = vec![0u8; body_start as usize];
    f.read_exact(&mut head).at(label)?;
    hasher.update(&head);
    copy.write_all(&head).at(&tmp)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    for (i, t) in header.tables.iter().enumerate() {
        let path = tables_dir.join(format!("incoming-{i:06}.sst"));
        let mut table = BufWriter::with_capacity(1 << 20, File::create(&path).at(&path)?);
        let mut left = t.size;
        while left > 0 {
            let want = (left as usize).min(buf.len());
            f.read_exact(&mut buf[..want]).at(label)?;
            hasher.update(&buf[..want]);
            copy.write_all(&buf[..want]).at(&tmp)?;
            table.write_all(&buf[..want]).at(&path)?;
            left -= want as u64;
        }
        let table = table
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        table.sync_all().at(&path)?;
        out.push((t.level, path));
    }
    let mut stored = [0u8; HASH_LEN as usize];
    f.read_exact(&mut stored).at(label)?;
    if hasher.finalize().as_bytes() != &stored {
        return Err(Error::corruption(
            label,
            len - HASH_LEN,
            "snapshot blake3 mismatch: the transfer was damaged; the leader sends it again",
        ));
    }
    copy.write_all(&stored).at(&tmp)?;
    let copy = copy
        .into_inner()
        .map_err(|e| Error::io(&tmp, e.into_error()))?;
    copy.sync_all().at(&tmp)?;
    Ok(Received {
        header,
        copy: tmp,
        tables: out,
    })
}

/// Makes a received snapshot file (from [`receive`]) the current one.
pub fn keep_received(data_dir: &Path, tmp: &Path, header: &SnapshotHeader) -> Result<PathBuf> {
    let dir = snapshots_dir(data_dir);
    let final_path = dir.join(file_name(&header.snapshot));
    fs::rename(tmp, &final_path).at(&final_path)?;
    crate::io::fsync_dir(&dir)?;
    remove_older(&dir, &final_path)?;
    Ok(final_path)
}
