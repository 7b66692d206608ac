//! Snapshots for fast recovery: the memtables written to `DIR/snapshots/` so that recovery
//! loads them and replays only the WAL after them (the seed's "snapshot" strategy).
//!
//! A snapshot is redundant by construction (the WAL after the checkpoint is never removed
//! while it is not in an SST), so a damaged or stale one costs only speed: it is reported
//! and skipped, and recovery falls back to the full replay.

use std::fs;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::memtable::{RunEntry, SortedRun};
use super::merge::{MergeIter, Source};
use super::recovery::{Plan, RecoveryReport, Replay, RunSink};
use super::{Inner, lock};
use crate::error::{IoContext, Result};
use crate::format::snapshot::{self, SnapshotBuilder, SnapshotHeader};
use crate::io::write_atomic;

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotUse {
    pub path: PathBuf,
    pub seq: u64,
    pub base_checkpoint: u64,
    /// Entries loaded (those above the current checkpoint).
    pub entries: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedSnapshot {
    pub path: PathBuf,
    pub what: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotFile {
    pub path: PathBuf,
    pub bytes: u64,
    /// None when the file fails its checks (see `problem`).
    pub header: Option<SnapshotHeader>,
    pub problem: Option<String>,
}

pub fn snapshot_dir(dir: &Path) -> PathBuf {
    dir.join("snapshots")
}

/// Every snapshot file in the dir, newest first, each checked in full.
pub fn list(dir: &Path) -> Result<Vec<SnapshotFile>> {
    let sdir = snapshot_dir(dir);
    let mut out = Vec::new();
    if !sdir.exists() {
        return Ok(out);
    }
    for e in fs::read_dir(&sdir).at(&sdir)? {
        let e = e.at(&sdir)?;
        let name = e.file_name();
        if name
            .to_str()
            .and_then(snapshot::parse_snapshot_name)
            .is_none()
        {
            continue;
        }
        let path = e.path();
        let bytes = fs::read(&path).at(&path)?;
        let (header, problem) = match snapshot::validate(&path, &bytes) {
            Ok((h, _)) => (Some(h), None),
            Err(err) => (None, Some(err.to_string())),
        };
        out.push(SnapshotFile {
            path,
            bytes: bytes.len() as u64,
            header,
            problem,
        });
    }
    out.sort_by(|a, b| b.path.cmp(&a.path));
    Ok(out)
}

/// The newest valid snapshot usable on top of `checkpoint`, as a sorted run holding its
/// entries above the checkpoint. Damaged candidates come back in the skipped list.
/// A loaded snapshot: its entries as a run, what was used, its highest sequence.
pub type Loaded = (SortedRun, SnapshotUse, u64);

pub fn load_newest(dir: &Path, checkpoint: u64) -> Result<(Option<Loaded>, Vec<SkippedSnapshot>)> {
    let sdir = snapshot_dir(dir);
    let mut skipped = Vec::new();
    if !sdir.exists() {
        return Ok((None, skipped));
    }
    let mut candidates: Vec<(u64, PathBuf)> = Vec::new();
    for e in fs::read_dir(&sdir).at(&sdir)? {
        let e = e.at(&sdir)?;
        if let Some(seq) = e
            .file_name()
            .to_str()
            .and_then(snapshot::parse_snapshot_name)
            && seq > checkpoint
        {
            candidates.push((seq, e.path()));
        }
    }
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    for (_, path) in candidates {
        let bytes = fs::read(&path).at(&path)?;
        let (header, body) = match snapshot::validate(&path, &bytes) {
            Ok(v) => v,
            Err(e) => {
                skipped.push(SkippedSnapshot {
                    path,
                    what: e.to_string(),
                });
                continue;
            }
        };
        if header.base_checkpoint > checkpoint {
            // Taken on top of SSTs this dir no longer has (a repaired or restored manifest).
            skipped.push(SkippedSnapshot {
                path,
                what: format!(
                    "taken on checkpoint {} but the dir is at checkpoint {checkpoint}",
                    header.base_checkpoint
                ),
            });
            continue;
        }
        let bytes = Arc::new(bytes);
        let mut items = Vec::with_capacity(header.entries as usize);
        let mut max_seq = header.seq;
        let base = bytes.as_ptr() as usize;
        let at = |s: &[u8]| (false, s.as_ptr() as usize - base, s.len());
        // Framing was checked by validate(); a failure here cannot happen, but is an error
        // rather than a panic all the same.
        let mut unheld = None;
        let walked = snapshot::for_each_entry(&bytes, body, |offset, e| {
            max_seq = max_seq.max(e.seq);
            // Entries at or below the checkpoint are in the SSTs, possibly in a newer version.
            if e.seq > checkpoint {
                match RunEntry::new(at(e.key), e.value.map(at), e.seq) {
                    Some(entry) => items.push(entry),
                    None => {
                        unheld = Some(offset);
                        return false;
                    }
                }
            }
            true
        });
        if let Some(offset) = unheld {
            skipped.push(SkippedSnapshot {
                path,
                what: format!("the entry at offset {offset} holds a value of 4 GiB or more"),
            });
            continue;
        }
        if let Err(offset) = walked {
            skipped.push(SkippedSnapshot {
                path,
                what: format!("entry framing breaks at offset {offset}"),
            });
            continue;
        }
        let used = SnapshotUse {
            path,
            seq: header.seq,
            base_checkpoint: header.base_checkpoint,
            entries: items.len() as u64,
        };
        // validate() checked that keys are strictly increasing.
        let run = SortedRun::from_sorted(Arc::clone(&bytes), items, max_seq);
        return Ok((Some((run, used, max_seq)), skipped));
    }
    Ok((None, skipped))
}

/// Removes snapshots beyond the newest `keep` and every one no newer than the checkpoint
/// (recovery would never use it). Returns what was (or, with `dry_run`, would be) removed.
pub fn prune(dir: &Path, keep: usize, checkpoint: u64, dry_run: bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut kept = 0;
    for f in list(dir)? {
        let useful = f.header.is_some_and(|h| h.seq > checkpoint) && kept < keep;
        if useful {
            kept += 1;
            continue;
        }
        if !dry_run {
            fs::remove_file(&f.path).at(&f.path)?;
        }
        removed.push(f.path);
    }
    if !dry_run && !removed.is_empty() {
        crate::io::fsync_dir(&snapshot_dir(dir))?;
    }
    Ok(removed)
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    pub path: PathBuf,
    pub seq: u64,
    pub base_checkpoint: u64,
    pub entries: u64,
    pub bytes: u64,
}

impl Inner {
    /// Writes a snapshot of everything above the checkpoint. None when there is nothing
    /// above it. Writers are not blocked: see format/snapshot.rs for why a fuzzy image of
    /// the memtables at or after `S` is sound.
    pub(super) fn create_snapshot(&self) -> Result<Option<SnapshotInfo>> {
        // Order matters: S first (all of it is in the memtables or the SSTs), then the
        // memtables, then the checkpoint (it only grows, so the view covers everything above it).
        let seq = lock(&self.commit).done_seq;
        let (mems, _) = self.read_view();
        let checkpoint = lock(&self.versions).state().flushed_seq;
        if seq <= checkpoint {
            return Ok(None);
        }
        let sources = mems.into_iter().map(Source::Mem).collect();
        let mut builder = SnapshotBuilder::new(seq, checkpoint);
        let mut entries = 0;
        for item in MergeIter::new(sources, Vec::new(), Bound::Unbounded)? {
            let item = item?;
            if item.seq > checkpoint {
                builder.add(&item.key, item.seq, item.value.as_deref())?;
                entries += 1;
            }
        }
        let bytes = builder.finish();
        let sdir = snapshot_dir(&self.dir);
        fs::create_dir_all(&sdir).at(&sdir)?;
        let path = sdir.join(snapshot::snapshot_name(seq));
        write_atomic(&path, &bytes)?;
        Ok(Some(SnapshotInfo {
            path,
            seq,
            base_checkpoint: checkpoint,
            entries,
            bytes: bytes.len() as u64,
        }))
    }
}

/// Recovery's read side: the newest usable snapshot, then the WAL after it (or after the
/// checkpoint when there is none), handed to `sink` as runs oldest first, the snapshot's
/// first (see `recovery::replay_into`). Changes nothing on disk.
pub(super) fn replay_with_snapshot_into(
    dir: &Path,
    checkpoint: u64,
    mode: super::RecoveryMode,
    dry_run: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
    sink: &mut RunSink<'_>,
) -> Result<(RecoveryReport, Plan)> {
    let (snap, skipped) = load_newest(dir, checkpoint)?;
    let replay_after = snap.as_ref().map_or(checkpoint, |(_, used, _)| used.seq);
    let mut used = None;
    if let Some((run, snapshot_use, max_seq)) = snap {
        used = Some((snapshot_use, max_seq));
        if !dry_run {
            sink(vec![run])?;
        }
    }
    let (mut report, plan) =
        super::recovery::replay_into(dir, replay_after, mode, dry_run, progress, sink)?;
    report.checkpoint_seq = checkpoint;
    report.snapshots_skipped = skipped;
    if let Some((snapshot_use, max_seq)) = used {
        report.max_seen_seq = report.max_seen_seq.max(max_seq);
        report.snapshot = Some(snapshot_use);
    }
    Ok((report, plan))
}

/// [`replay_with_snapshot_into`], holding every run in memory (a read-only open).
pub(super) fn replay_with_snapshot(
    dir: &Path,
    checkpoint: u64,
    mode: super::RecoveryMode,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Replay> {
    let mut runs = Vec::new();
    let (report, plan) =
        replay_with_snapshot_into(dir, checkpoint, mode, false, progress, &mut |r| {
            runs.extend(r);
            Ok(())
        })?;
    if report.outcome == super::Outcome::Refused {
        runs.clear();
    }
    Ok(Replay { report, plan, runs })
}
