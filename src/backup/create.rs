//! `backup create`: a full backup of a stopped or crashed data dir.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::manifest::{self, BackupFile, BackupManifest, FILES_DIR, MANIFEST_FILE};
use super::repo::{Repo, hex};
use super::sealed::{self, Sealed};
use super::{Progress, logical_digest, run_queue};
use crate::engine::{ReadOnly, RecoveryMode};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::manifest_name;
use crate::io::{DirLock, fsync_dir, write_atomic};

#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub threads: usize,
    pub compress_level: i32,
    /// How long to wait for another run's repository lock; zero fails at once.
    pub lock_wait: Duration,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CreateReport {
    pub backup: BackupManifest,
    /// Leftovers of killed runs that were removed first.
    pub cleaned: Vec<PathBuf>,
    pub repo_created: bool,
    /// Wall time of the file copy and of the digest scan beside it (they overlap), for
    /// telling which one bounds the run.
    pub copy_ms: u64,
    pub digest_ms: u64,
}

/// One file to copy: where it is and its name in the backup.
struct Job {
    src: PathBuf,
    rel: String,
    size: u64,
}

/// The total original bytes `create` will read, for sizing a progress bar before it starts.
/// (`create` computes its own list; this is only an estimate for display.)
pub fn estimate_bytes(data: &Path) -> u64 {
    let mut total = 0;
    for sub in ["", "sst", "wal", "snapshots"] {
        if let Ok(rd) = fs::read_dir(data.join(sub)) {
            for e in rd.flatten() {
                if let Ok(m) = e.metadata()
                    && m.is_file()
                {
                    total += m.len();
                }
            }
        }
    }
    total
}

/// Backs up `data` into the repository at `repo_root` (created if missing).
///
/// Fails with exit 11 at once when an engine (or another tool) holds the data dir: this
/// version copies only stopped dirs.
pub fn create(
    repo_root: &Path,
    data: &Path,
    opts: &CreateOptions,
    progress: Progress<'_>,
) -> Result<CreateReport> {
    if !(1..=22).contains(&opts.compress_level) {
        return Err(Error::InvalidInput(format!(
            "compression level {} is out of range 1..=22",
            opts.compress_level
        )));
    }
    // Checked before locking: DirLock creates DIR/LOCK, and a typo must not litter.
    if !data.join("CURRENT").is_file() {
        return Err(if data.exists() {
            Error::NotDataDir {
                path: data.to_path_buf(),
                reason: "no CURRENT file".into(),
            }
        } else {
            Error::NotFound {
                path: data.to_path_buf(),
                hint: "check the --data path".into(),
            }
        });
    }
    let (repo, repo_created) = Repo::init(repo_root)?;
    let repo_lock = repo.lock(opts.lock_wait)?;
    let cleaned = repo.clean_leftovers(&repo_lock)?;

    let start = Instant::now();
    let start_time = chrono::Utc::now();
    let data_lock = DirLock::acquire(data)?;
    // The recovered view of the same files we copy: its scan is the logical digest, and it
    // refuses (exit 4) a WAL damaged beyond a torn tail, which a backup must not hide.
    let ro = ReadOnly::open_locked(data, RecoveryMode::TolerateTail, &data_lock)?;
    let state = ro.state().clone();
    let last_seq = state.last_seq.max(ro.wal_report().last_applied_seq);

    let mut jobs = vec![
        job(data, "CURRENT")?,
        job(data, &manifest_name(ro.manifest_no()))?,
    ];
    for meta in state.files.values() {
        jobs.push(job(data, &format!("sst/{}", meta.file_name()))?);
    }
    for sub in ["wal", "snapshots"] {
        let dir = data.join(sub);
        if !dir.exists() {
            continue;
        }
        let mut names = Vec::new();
        for e in fs::read_dir(&dir).at(&dir)? {
            let e = e.at(&dir)?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            // A tmp file is a write the engine never finished; recovery ignores it too.
            if e.file_type().at(&e.path())?.is_file() && !name.ends_with(".tmp") {
                names.push(name.to_string());
            }
        }
        names.sort();
        for n in names {
            jobs.push(job(data, &format!("{sub}/{n}"))?);
        }
    }
    jobs.sort_by(|a, b| b.size.cmp(&a.size).then(a.rel.cmp(&b.rel)));

    let suffix: [u8; 4] = rand::random();
    let id = format!(
        "{}-full-{}",
        start_time.format("%Y%m%dT%H%M%SZ"),
        hex(&suffix)
    );
    let backup_dir = repo.backup_dir(&id);
    let files_dir = backup_dir.join(FILES_DIR);
    let mut subdirs = vec![files_dir.clone()];
    for j in &jobs {
        if let Some(parent) = Path::new(&j.rel)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            let d = files_dir.join(parent);
            if !subdirs.contains(&d) {
                subdirs.push(d);
            }
        }
    }
    // On any error below, the partial dir goes at once rather than waiting for the next run
    // (which would remove it too: it has no manifest, so it was never a backup).
    let mut partial = Partial {
        dir: &backup_dir,
        armed: true,
    };
    for d in &subdirs {
        fs::create_dir_all(d).at(d)?;
    }
    fsync_dir(&repo.backups_dir())?;

    // The digest scan reads the same files as the copy; it runs beside it on its own thread
    // so that it costs no wall time when there are more cores than copy threads.
    let (copied, digest) = std::thread::scope(|s| {
        let digest = s.spawn(|| {
            let t = Instant::now();
            logical_digest(&ro).map(|d| (d, t.elapsed()))
        });
        let t = Instant::now();
        let copied = run_queue(opts.threads, &jobs, |j| {
            compress(
                &j.src,
                &files_dir.join(format!("{}.zst", j.rel)),
                &j.rel,
                opts.compress_level,
                progress,
            )
        })
        .map(|c| (c, t.elapsed()));
        let digest = digest
            .join()
            .unwrap_or_else(|_| Err(Error::InvalidInput("the digest thread panicked".into())));
        (copied, digest)
    });
    let (mut files, copy_time) = copied?;
    let ((logical_digest, records), digest_time) = digest?;
    drop(ro);
    drop(data_lock);
    for d in subdirs.iter().rev() {
        fsync_dir(d)?;
    }
    fsync_dir(&backup_dir)?;

    files.sort_by(|a, b| a.path.cmp(&b.path));
    let end_time = chrono::Utc::now();
    let m = BackupManifest {
        format: manifest::FORMAT.into(),
        version: BackupManifest::VERSION,
        id,
        kind: "full".into(),
        parent: None,
        start_time: start_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        end_time: end_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        source_dir: fs::canonicalize(data)
            .unwrap_or_else(|_| data.to_path_buf())
            .display()
            .to_string(),
        history_id: hex(&state.history_id),
        checkpoint_seq: state.flushed_seq,
        last_seq,
        compress_level: opts.compress_level,
        records,
        logical_digest,
        bytes: files.iter().map(|f| f.size).sum(),
        stored_bytes: files.iter().map(|f| f.stored_size).sum(),
        files,
        checksum: String::new(),
    };
    // Last, and atomically: from this rename on the backup exists.
    write_atomic(&backup_dir.join(MANIFEST_FILE), &sealed::encode(&m)?)?;
    // Read back through the checking path: what list and restore will see.
    partial.armed = false;
    let backup = repo.load(&m.id)?;
    drop(repo_lock);
    Ok(CreateReport {
        backup,
        cleaned,
        repo_created,
        copy_ms: u64::try_from(copy_time.as_millis()).unwrap_or(u64::MAX),
        digest_ms: u64::try_from(digest_time.as_millis()).unwrap_or(u64::MAX),
    })
}

/// Removes a backup dir that never got its manifest.
struct Partial<'a> {
    dir: &'a Path,
    armed: bool,
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        if self.armed && !self.dir.join(MANIFEST_FILE).exists() {
            let _ = fs::remove_dir_all(self.dir);
        }
    }
}

fn job(data: &Path, rel: &str) -> Result<Job> {
    let src = data.join(rel);
    let size = fs::metadata(&src).at(&src)?.len();
    Ok(Job {
        src,
        rel: rel.to_string(),
        size,
    })
}

/// Compresses `src` into `dst`, fsynced; see [`super::codec`].
fn compress(
    src: &Path,
    dst: &Path,
    rel: &str,
    level: i32,
    progress: Progress<'_>,
) -> Result<BackupFile> {
    super::codec::encode(src, dst, rel, level, super::file_workers(), progress)
}
