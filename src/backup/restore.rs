//! `restore`: a backup into a new or empty dir (or, with `--force`, in place of an existing
//! one, which is moved aside, never deleted).
//!
//! The files go into a staging dir next to the target (`DIR.drkit-restore-tmp`), each
//! checked against its blake3 as it is written; the staging dir gets a new history id, is
//! opened as the engine would open it (and, for a backup taken with `--logical-digest`, its
//! records' digest is compared with the backup's), and only then is it renamed into place.
//! So a failed or killed restore never leaves a dir at the target that looks complete.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use super::archive;
use super::manifest::BackupManifest;
use super::pitr::{self, PitrPlan, Target};
use super::repo::{Repo, hex};
use super::{Progress, logical_digest, run_queue};
use crate::cluster::seed::{self, NodeSeed};
use crate::cluster::{ClusterNode, NodeId};
use crate::engine::{Engine, Options, Outcome, ReadOnly, RecoveryMode, VersionSet};
use crate::error::{Error, IoContext, Result};
use crate::format::archive_status::to_hex;
use crate::format::raft_state::{LogPos, RaftState};
use crate::io::{DirLock, fsync_dir};

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub threads: usize,
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetState {
    Absent,
    Empty,
    NotEmpty,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestorePlan {
    pub backup_id: String,
    pub backup_type: String,
    pub backup_end_time: String,
    pub checkpoint_seq: u64,
    pub last_seq: u64,
    /// Live records at the backup point, when the backup recorded them.
    pub records: Option<u64>,
    pub files: usize,
    pub bytes: u64,
    pub stored_bytes: u64,
    pub target: PathBuf,
    pub target_state: TargetState,
    pub staging: PathBuf,
    /// Where the target's current content goes (only with --force on a non-empty target).
    pub move_aside_to: Option<PathBuf>,
    /// With --to-seq/--to-time: the archived WAL replayed after the backup, and the window.
    pub pitr: Option<PitrPlan>,
    /// With --node-id/--members: the dir becomes that node of a new cluster.
    pub node: Option<NodePlan>,
    #[serde(skip)]
    manifest: BackupManifest,
    /// READERS, held from planning to the end of the restore: `backup expire` must not
    /// remove the chosen backup or archived WAL in between.
    #[serde(skip)]
    _readers: std::sync::Arc<super::repo::RepoLock>,
}

/// A restore as one node of a new cluster (`etcdutl snapshot restore`): every node restored
/// from the same backup and point with the same members gets the same cluster id.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodePlan {
    pub node_id: NodeId,
    pub members: String,
    pub cluster_id: String,
    #[serde(skip)]
    members_map: BTreeMap<NodeId, ClusterNode>,
    #[serde(skip)]
    cluster_id_bytes: [u8; 16],
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    pub plan: RestorePlan,
    pub new_history_id: String,
    /// The restored dir's records and their digest, checked against the backup's; None when
    /// the backup recorded none (taken without `--logical-digest`).
    pub logical_digest: Option<String>,
    pub records: Option<u64>,
    /// With a point-in-time target: the last sequence the restored dir holds, that entry's
    /// commit time if the WAL held it, and the WAL entries recovery replayed above the
    /// backup's checkpoint (the backup's own WAL tail included).
    pub reached_seq: Option<u64>,
    pub reached_time: Option<String>,
    pub replayed: u64,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// `DIR` + suffix, as a sibling of `DIR`.
fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    target.with_file_name(name)
}

/// Chooses the backup (`id`, or the newest complete backup; with a point-in-time
/// target `to`, the newest backup at or before it and the archived WAL up to it) and looks
/// at the target. Changes nothing.
pub fn plan(
    repo: &Repo,
    target: &Path,
    id: Option<&str>,
    force: bool,
    to: Option<Target>,
) -> Result<RestorePlan> {
    if target.file_name().is_none() {
        return Err(Error::InvalidInput(format!(
            "{}: give the target dir by name (not `/`, `.` or `..`)",
            target.display()
        )));
    }
    let readers = std::sync::Arc::new(repo.read_guard("restore")?);
    let mut pitr = None;
    let manifest = match (to, id) {
        (Some(to), id) => {
            let (m, p) = pitr::plan(repo, to, id)?;
            pitr = Some(p);
            m
        }
        (None, Some(id)) => repo.load(id)?,
        (None, None) => {
            // The newest backup, full or incremental (an incremental restores as completely
            // as a full one). A damaged newest manifest is an error, not a reason to restore
            // something older without saying so.
            match repo.list()?.pop() {
                Some(l) => l.manifest?,
                None => {
                    return Err(Error::NotFound {
                        path: repo.locate(super::repo::BACKUPS_DIR),
                        hint: "the repository holds no complete backup; take one with `drkit backup create`".into(),
                    });
                }
            }
        }
    };
    let target_state = if !target.exists() {
        TargetState::Absent
    } else if !target.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{}: is a file; the restore target must be a dir",
            target.display()
        )));
    } else if fs::read_dir(target).at(target)?.next().is_none() {
        TargetState::Empty
    } else {
        TargetState::NotEmpty
    };
    let move_aside_to = (target_state == TargetState::NotEmpty && force).then(|| {
        sibling(
            target,
            &format!(".drkit-old-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")),
        )
    });
    Ok(RestorePlan {
        backup_id: manifest.id.clone(),
        backup_type: manifest.kind.clone(),
        backup_end_time: manifest.end_time.clone(),
        checkpoint_seq: manifest.checkpoint_seq,
        last_seq: manifest.last_seq,
        records: manifest.records,
        files: manifest.files.len(),
        bytes: manifest.bytes,
        stored_bytes: manifest.stored_bytes,
        target: target.to_path_buf(),
        target_state,
        staging: sibling(target, ".drkit-restore-tmp"),
        move_aside_to,
        pitr,
        node: None,
        manifest,
        _readers: readers,
    })
}

impl RestorePlan {
    /// Makes the plan restore the dir as node `node_id` of a new cluster of `members` (all
    /// voters). Refuses a node id the members lack, and a target that is an initialised
    /// node (with or without --force: a node is replaced by restoring into a new dir).
    pub fn as_node(
        mut self,
        node_id: NodeId,
        members: BTreeMap<NodeId, ClusterNode>,
        token: &str,
    ) -> Result<RestorePlan> {
        if !members.contains_key(&node_id) {
            return Err(Error::InvalidInput(format!(
                "node {node_id} is not among --members (ids {}): give every node of the new cluster, this one included",
                members
                    .keys()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let raft_dir = self.target.join("raft");
        if raft_dir.is_dir() {
            let who = match RaftState::load(&raft_dir) {
                Ok(Some(st)) if st.cluster_id != [0; 16] => {
                    format!("node {} of cluster {}", st.node_id, to_hex(&st.cluster_id))
                }
                _ => "a cluster node".into(),
            };
            return Err(Error::InvalidInput(format!(
                "{}: the target is an initialised cluster node ({who}); restore each node of the new cluster into a new or empty dir, never over a node",
                self.target.display()
            )));
        }
        let point = self.pitr.as_ref().map_or(self.last_seq, |p| p.target_seq);
        let id = seed::restored_cluster_id(&self.backup_id, point, &members, token);
        self.node = Some(NodePlan {
            node_id,
            members: seed::members_line(&members),
            cluster_id: to_hex(&id),
            members_map: members,
            cluster_id_bytes: id,
        });
        Ok(self)
    }
}

/// Makes the checked staging dir node `n`: everything flushed into tables, the WAL emptied,
/// the membership and a purged log at the last sequence (seed.rs). Returns its lock again.
fn seed_node(staging: &Path, lock: DirLock, n: &NodePlan) -> Result<DirLock> {
    // The engine takes the dir's lock itself.
    drop(lock);
    let applied = seed::flush_standalone(staging)?;
    let lock = DirLock::acquire(staging)?;
    // A backup records no Raft term: the new cluster's log starts at term 0 below its
    // first election, the same on every node restored from it.
    let seed = NodeSeed {
        node_id: n.node_id,
        cluster_id: n.cluster_id_bytes,
        members: n.members_map.clone(),
        applied: LogPos {
            term: 0,
            index: applied,
        },
        seen_term: 0,
    };
    seed::write_seed(staging, &seed, None)?;
    Ok(lock)
}

/// Removes the staging dir unless disarmed: every failure path leaves no half-restored dir.
struct Staging<'a> {
    path: &'a Path,
    armed: bool,
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_dir_all(self.path);
        }
    }
}

/// Carries out `plan`. On any error the staging dir is removed and the target is untouched.
pub fn restore(
    repo: &Repo,
    plan: RestorePlan,
    opts: &RestoreOptions,
    progress: Progress<'_>,
) -> Result<RestoreReport> {
    let start = Instant::now();
    if plan.target_state == TargetState::NotEmpty && !opts.force {
        return Err(Error::InvalidInput(format!(
            "{}: target is not empty; restore into a new or empty dir, or add --force to move its content aside to {}",
            plan.target.display(),
            sibling(&plan.target, ".drkit-old-<time>").display()
        )));
    }
    // An engine running on the target must not have its dir renamed away under it. Only
    // locked when the target has a LOCK file: DirLock would create one otherwise.
    let _target_lock = if plan.target.join("LOCK").exists() {
        Some(DirLock::acquire(&plan.target)?)
    } else {
        None
    };
    let staging_path = plan.staging.clone();
    fresh_staging(&staging_path)?;
    let mut staging = Staging {
        path: &staging_path,
        armed: true,
    };
    let staging_lock = DirLock::acquire(&staging_path)?;

    let m = &plan.manifest;
    let dirs = make_dirs(&staging_path, m)?;
    copy_files(repo, m, &staging_path, opts.threads, progress)?;
    let history: [u8; 16] = rand::random();
    VersionSet::reset_history_id(&staging_path, history)?;
    let checked = check_digest(repo, m, &staging_path, &staging_lock)?;
    let (staging_lock, reached, checked) = match &plan.pitr {
        None => (staging_lock, Reached::default(), checked),
        Some(p) => {
            // Recovery takes the dir's lock itself.
            drop(staging_lock);
            let reached = if m.cluster.is_some() {
                replay_cluster_log(repo, p, &staging_path, progress)?
            } else {
                replay_archive(repo, p, &staging_path, progress)?
            };
            let lock = DirLock::acquire(&staging_path)?;
            // Past the backup point there is nothing to compare with: the digest is only
            // reported, and only when the backup recorded one.
            let checked = match checked {
                Some(_) => {
                    let ro =
                        ReadOnly::open_locked(&staging_path, RecoveryMode::TolerateTail, &lock)?;
                    Some(logical_digest(&ro)?)
                }
                None => None,
            };
            (lock, reached, checked)
        }
    };
    let staging_lock = match &plan.node {
        Some(n) => seed_node(&staging_path, staging_lock, n)?,
        None => staging_lock,
    };
    drop(staging_lock);
    for d in dirs.iter().rev() {
        fsync_dir(d)?;
    }
    swap_into_place(&plan, &staging_path)?;
    staging.armed = false;
    let (logical_digest, records) = checked.unzip();
    let new_history_id = plan
        .node
        .as_ref()
        .map_or_else(|| hex(&history), |n| n.cluster_id.clone());
    Ok(RestoreReport {
        plan,
        new_history_id,
        logical_digest,
        records,
        reached_seq: reached.seq,
        reached_time: reached.time,
        replayed: reached.replayed,
        duration: start.elapsed(),
    })
}

/// Creates an empty staging dir, removing a killed restore's leftover (unless another
/// restore is using it right now: its lock says so).
fn fresh_staging(staging: &Path) -> Result<()> {
    if staging.exists() {
        drop(DirLock::acquire(staging)?);
        fs::remove_dir_all(staging).at(staging)?;
    }
    fs::create_dir_all(staging).at(staging)
}

/// Creates every dir the backup's files go into, and the ones the engine expects even when
/// the backup held no file in them. Returns them, the staging dir first, to be synced.
fn make_dirs(staging: &Path, m: &BackupManifest) -> Result<Vec<PathBuf>> {
    let parents = m
        .files
        .iter()
        .filter_map(|f| Path::new(&f.path).parent())
        .filter(|p| !p.as_os_str().is_empty());
    let mut dirs: Vec<PathBuf> = vec![staging.to_path_buf()];
    for sub in parents.chain([Path::new("wal"), Path::new("sst")]) {
        let d = staging.join(sub);
        if !dirs.contains(&d) {
            fs::create_dir_all(&d).at(&d)?;
            dirs.push(d);
        }
    }
    Ok(dirs)
}

/// Writes every file of the backup into `staging`, each checked against its blake3 as it is
/// written and fsynced; the largest first, so the last to finish is a small one.
fn copy_files(
    repo: &Repo,
    m: &BackupManifest,
    staging: &Path,
    threads: usize,
    progress: Progress<'_>,
) -> Result<()> {
    let mut order: Vec<&super::BackupFile> = m.files.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then(a.path.cmp(&b.path)));
    // As in `backup create`: files in parallel times blocks in parallel stays at the cores.
    let block_workers = (super::file_workers() / threads.max(1)).max(1);
    run_queue(threads, &order, |f| {
        let dest = staging.join(&f.path);
        let mut out = File::create(&dest).at(&dest)?;
        super::load_stored(
            repo.store().as_ref(),
            &m.stored_key(f),
            f,
            Some((&mut out, &dest)),
            block_workers,
            progress,
        )?;
        out.sync_all().at(&dest)
    })?;
    Ok(())
}

/// Every file matched its blake3; the dir must also open as the engine opens it. With a
/// recorded digest, the whole is checked too: the records the restored dir yields must be
/// the ones the backup saw. Returns that digest and record count, when recorded.
fn check_digest(
    repo: &Repo,
    m: &BackupManifest,
    staging: &Path,
    lock: &DirLock,
) -> Result<Option<(String, u64)>> {
    let ro = ReadOnly::open_locked(staging, RecoveryMode::TolerateTail, lock)?;
    let (Some(want_digest), Some(want_records)) = (&m.logical_digest, m.records) else {
        return Ok(None);
    };
    let (digest, records) = logical_digest(&ro)?;
    if &digest != want_digest || records != want_records {
        return Err(Error::corruption(
            repo.locate(&super::repo::manifest_key(&m.id)),
            0,
            format!(
                "the restored data has {records} records with digest {digest}, the backup recorded {want_records} with {want_digest}"
            ),
        )
        .with_hint("the backup is not usable; restore another one and report this"));
    }
    Ok(Some((digest, records)))
}

/// Where a point-in-time restore got to.
#[derive(Debug, Default)]
struct Reached {
    seq: Option<u64>,
    time: Option<String>,
    replayed: u64,
}

/// Puts the archived WAL the plan chose into the staging dir, cuts it after the target
/// sequence and recovers to it. Anything but exactly the target is an error.
fn replay_archive(
    repo: &Repo,
    p: &PitrPlan,
    staging: &Path,
    progress: Progress<'_>,
) -> Result<Reached> {
    let wal_dir = staging.join("wal");
    for seg in p.replace.iter().chain(&p.segments) {
        archive::restore_archived(repo, seg, &wal_dir.join(&seg.name))?;
        progress(seg.size);
    }
    let time = pitr::cut_after(&wal_dir, p.target_seq)?;
    let report = Engine::recover(
        staging,
        Options {
            create_if_missing: false,
            recovery_mode: RecoveryMode::TolerateTail,
            ..Options::default()
        },
        None,
    )?;
    if report.outcome == Outcome::Refused {
        return Err(crate::engine::refusal(&report));
    }
    let reached = report.last_applied_seq.max(report.checkpoint_seq);
    if reached != p.target_seq || report.max_seen_seq > p.target_seq {
        return Err(Error::InvalidInput(format!(
            "replaying the archived WAL reached seq {reached} (highest seen {}), not the target seq {}; nothing was restored",
            report.max_seen_seq, p.target_seq
        )));
    }
    Ok(Reached {
        seq: Some(reached),
        time: time.map(archive::rfc3339_ns),
        replayed: report.replayed,
    })
}

/// The archived Raft log of a cluster after a backup of one of its nodes: its committed
/// entries up to the target applied to the staging dir as one more table (a cluster's log
/// holds batches, blank and membership entries, which a standalone replay does not read).
fn replay_cluster_log(
    repo: &Repo,
    p: &PitrPlan,
    staging: &Path,
    progress: Progress<'_>,
) -> Result<Reached> {
    let log_dir = staging.join("archived-raft-log");
    fs::create_dir_all(&log_dir).at(&log_dir)?;
    for seg in p.replace.iter().chain(&p.segments) {
        archive::restore_archived(repo, seg, &log_dir.join(&seg.name))?;
        progress(seg.size);
    }
    let time = pitr::cut_after(&log_dir, p.target_seq)?;
    let replayed =
        crate::cluster::export::apply_log(staging, &log_dir, p.backup_seq, p.target_seq)?;
    fs::remove_dir_all(&log_dir).at(&log_dir)?;
    Ok(Reached {
        seq: Some(p.target_seq),
        time: time.map(archive::rfc3339_ns),
        replayed,
    })
}

/// Moves the target's content aside (or removes the empty target) and renames the staging
/// dir into its place, durably.
fn swap_into_place(plan: &RestorePlan, staging: &Path) -> Result<()> {
    match (plan.target_state, &plan.move_aside_to) {
        (TargetState::NotEmpty, Some(aside)) => {
            fs::rename(&plan.target, aside).at(&plan.target)?;
        }
        (TargetState::Empty, _) => fs::remove_dir(&plan.target).at(&plan.target)?,
        _ => {}
    }
    fs::rename(staging, &plan.target).at(&plan.target)?;
    // Both renames live in the parent's entries: durable only once it is synced.
    match plan.target.parent() {
        Some(p) if !p.as_os_str().is_empty() => fsync_dir(p),
        _ => fsync_dir(Path::new(".")),
    }
}
