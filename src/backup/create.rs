//! `backup create`: a full or incremental backup of a data dir, stopped or running.
//!
//! A stopped (or crashed) dir is locked and copied as it is. A dir a running engine holds is
//! copied from a [`point`](super::point): hard links and prefix copies taken without
//! stopping the engine. Either way the recovered view of exactly the files copied gives the
//! logical digest, so the digest always describes what a restore will yield.
//!
//! An incremental backup stores only what its parent (the newest backup of the same history)
//! does not already hold: tables are immutable and uniquely named within a history, so a
//! table of the same name and size is the same table; other files are compared by blake3.
//! Each file it does not store names the backup whose dir holds the stored copy.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::manifest::{self, BackupFile, BackupManifest, FILES_DIR, MANIFEST_FILE, WalCopy};
use super::point::{self, Point};
use super::repo::{Repo, hex};
use super::sealed::{self, Sealed};
use super::{CHUNK, Progress, logical_digest, run_queue};
use crate::cluster::export::{self, Export};
use crate::cluster::offline;
use crate::engine::{ReadOnly, RecoveryMode};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::manifest_name;
use crate::io::{DirLock, fsync_dir, write_atomic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupKind {
    Full,
    Incr,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Full => "full",
            BackupKind::Incr => "incr",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub kind: BackupKind,
    pub threads: usize,
    pub compress_level: i32,
    /// How long to wait for another run's repository lock; zero fails at once.
    pub lock_wait: Duration,
    /// Also record the live records' count and digest (reads and decompresses every table),
    /// which restore then checks the restored dir against.
    pub logical_digest: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CreateReport {
    pub backup: BackupManifest,
    /// Leftovers of killed runs that were removed first (in the repository and the data dir).
    pub cleaned: Vec<PathBuf>,
    pub repo_created: bool,
    /// Whether a running engine held the dir, so the backup was taken from a point.
    pub online: bool,
    /// How often taking the point had to start again because the engine changed its files.
    pub point_retries: usize,
    /// For a cluster node: the committed state the backup holds (a standalone dir).
    pub cluster: Option<Export>,
    /// Why an incremental backup was taken as a full one instead.
    pub promoted: Option<String>,
    /// Files (and their bytes) the backup references in earlier backups instead of storing.
    pub reused_files: usize,
    pub reused_bytes: u64,
    /// Wall time of the file copy and of the digest scan beside it (they overlap), for
    /// telling which one bounds the run.
    pub copy_ms: u64,
    /// None without `--logical-digest`.
    pub digest_ms: Option<u64>,
}

/// One file to copy: where it is and its name in the backup.
struct Job {
    src: PathBuf,
    rel: String,
    size: u64,
}

/// Where the files are read from: the data dir itself, locked, or a point of it.
enum Source {
    Stopped(DirLock),
    Online(Point),
}

impl Source {
    fn lock(&self) -> &DirLock {
        match self {
            Source::Stopped(l) => l,
            Source::Online(p) => p.lock(),
        }
    }
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
    super::archive::check_any_data_dir(data)?;
    let cluster_node = data.join("raft").is_dir();
    // Read before the files are captured: every entry up to it is in the captured log.
    let committed = if cluster_node {
        offline::recorded_committed(data)?
    } else {
        None
    };
    let (repo, repo_created) = Repo::init(repo_root)?;
    let repo_lock = repo.lock(opts.lock_wait)?;
    let mut cleaned = repo.clean_leftovers(&repo_lock)?;

    let start = Instant::now();
    let start_time = chrono::Utc::now();
    let source = match DirLock::acquire(data) {
        Ok(lock) => Source::Stopped(lock),
        Err(Error::Locked { .. }) => Source::Online(point::take(data)?),
        Err(e) => return Err(e),
    };
    cleaned.extend(point::clean_leftovers(data)?);
    let (src_dir, online, point_retries) = match &source {
        Source::Stopped(_) => (data, false, 0),
        Source::Online(p) => (p.dir(), true, p.retries),
    };
    // A cluster node is backed up as its committed state, written out as a standalone dir.
    let exported = if cluster_node {
        let scratch = point::scratch(data)?;
        let export = export::export_standalone(src_dir, committed, scratch.dir())?;
        Some((scratch, export))
    } else {
        None
    };
    let (src_dir, src_lock) = match &exported {
        Some((scratch, _)) => (scratch.dir(), scratch.lock()),
        None => (src_dir, source.lock()),
    };
    // The recovered view of the same files we copy: its scan is the logical digest, and it
    // refuses (exit 4) a WAL damaged beyond a torn tail, which a backup must not hide.
    let ro = ReadOnly::open_locked(src_dir, RecoveryMode::TolerateTail, src_lock)?;
    let state = ro.state().clone();
    let last_seq = state.last_seq.max(ro.wal_report().last_applied_seq);
    let history_id = hex(&state.history_id);
    let last_entry_ns = super::pitr::entry_time_in_dir(src_dir, last_seq)?;

    let mut jobs = vec![
        job(src_dir, "CURRENT")?,
        job(src_dir, &manifest_name(ro.manifest_no()))?,
    ];
    for meta in state.files.values() {
        jobs.push(job(src_dir, &format!("sst/{}", meta.file_name()))?);
    }
    for sub in ["wal", "snapshots"] {
        let dir = src_dir.join(sub);
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
            jobs.push(job(src_dir, &format!("{sub}/{n}"))?);
        }
    }
    jobs.sort_by(|a, b| b.size.cmp(&a.size).then(a.rel.cmp(&b.rel)));
    let wal_segments = wal_copies(&jobs)?;

    let (kind, parent, promoted) = match opts.kind {
        BackupKind::Full => (BackupKind::Full, None, None),
        BackupKind::Incr => match newest_of_history(&repo, &history_id)? {
            Some(p) => (BackupKind::Incr, Some(p), None),
            None => (
                BackupKind::Full,
                None,
                Some(format!(
                    "the repository holds no backup of this dir's history {history_id}, so this \
                     incremental backup was taken as a full one"
                )),
            ),
        },
    };
    let parent_files: HashMap<&str, &BackupFile> = parent
        .iter()
        .flat_map(|p| p.files.iter().map(|f| (f.path.as_str(), f)))
        .collect();

    let suffix: [u8; 4] = rand::random();
    let id = format!(
        "{}-{}-{}",
        start_time.format("%Y%m%dT%H%M%SZ"),
        kind.as_str(),
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

    // Files in parallel times blocks in parallel within each stays at the core count: more
    // compressors than cores only thrash the caches (measured: 2 files on 2 cores, each
    // with 2 block workers, took a quarter more CPU time than 1 file with 2).
    let block_workers = (super::file_workers() / opts.threads.max(1)).max(1);
    let copy_one = |j: &Job| -> Result<BackupFile> {
        if j.rel.starts_with("sst/") {
            // Every block's checksum, without decompressing: a table damaged on disk is
            // refused here rather than backed up as if it were good.
            crate::format::sst::check_checksums(&j.src)?;
        }
        let owner = parent.as_ref().map(|p| p.id.as_str()).unwrap_or_default();
        if let Some(pf) = parent_files
            .get(j.rel.as_str())
            .filter(|f| f.size == j.size)
        {
            let same = j.rel.starts_with("sst/") || hash_file(&j.src)? == pf.blake3;
            if same {
                progress(j.size);
                return Ok(BackupFile {
                    stored_in: Some(pf.stored_in.clone().unwrap_or_else(|| owner.to_string())),
                    ..(*pf).clone()
                });
            }
        }
        if is_compressed_table(&j.rel, &j.src)? {
            return super::copy::store(&j.src, &files_dir.join(&j.rel), &j.rel, progress);
        }
        compress(
            &j.src,
            &files_dir.join(format!("{}.zst", j.rel)),
            &j.rel,
            opts.compress_level,
            block_workers,
            progress,
        )
    };
    // The digest scan reads the same files as the copy; it runs beside it on its own thread
    // so that it costs no wall time when there are more cores than copy threads.
    let (copied, digest) = std::thread::scope(|s| {
        let digest = opts.logical_digest.then(|| {
            s.spawn(|| {
                let t = Instant::now();
                logical_digest(&ro).map(|d| (d, t.elapsed()))
            })
        });
        let t = Instant::now();
        let copied = run_queue(opts.threads, &jobs, copy_one).map(|c| (c, t.elapsed()));
        let digest = digest.map(|d| {
            d.join()
                .unwrap_or_else(|_| Err(Error::InvalidInput("the digest thread panicked".into())))
        });
        (copied, digest)
    });
    let (mut files, copy_time) = copied?;
    let (logical_digest, records, digest_time) = match digest.transpose()? {
        Some(((digest, records), time)) => (Some(digest), Some(records), Some(time)),
        None => (None, None, None),
    };
    drop(ro);
    let cluster = exported.map(|(_, e)| e);
    drop(source);
    for d in subdirs.iter().rev() {
        fsync_dir(d)?;
    }
    fsync_dir(&backup_dir)?;

    files.sort_by(|a, b| a.path.cmp(&b.path));
    let reused: Vec<&BackupFile> = files.iter().filter(|f| f.stored_in.is_some()).collect();
    let (reused_files, reused_bytes) = (reused.len(), reused.iter().map(|f| f.size).sum());
    let end_time = chrono::Utc::now();
    let m = BackupManifest {
        format: manifest::FORMAT.into(),
        version: BackupManifest::VERSION,
        id,
        kind: kind.as_str().into(),
        parent: parent.as_ref().map(|p| p.id.clone()),
        start_time: start_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        end_time: end_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        source_dir: fs::canonicalize(data)
            .unwrap_or_else(|_| data.to_path_buf())
            .display()
            .to_string(),
        online,
        history_id,
        checkpoint_seq: state.flushed_seq,
        last_seq,
        last_entry_ns,
        compress_level: opts.compress_level,
        records,
        logical_digest,
        bytes: files.iter().map(|f| f.size).sum(),
        stored_bytes: files
            .iter()
            .filter(|f| f.stored_in.is_none())
            .map(|f| f.stored_size)
            .sum(),
        files,
        wal_segments,
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
        online,
        point_retries,
        cluster,
        promoted,
        reused_files,
        reused_bytes,
        copy_ms: u64::try_from(copy_time.as_millis()).unwrap_or(u64::MAX),
        digest_ms: digest_time.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
    })
}

/// The newest intact backup of `history_id`: the parent of an incremental backup. A damaged
/// manifest cannot be a parent (its file list is not trusted); `backup verify` reports it.
fn newest_of_history(repo: &Repo, history_id: &str) -> Result<Option<BackupManifest>> {
    Ok(repo
        .list()?
        .into_iter()
        .rev()
        .filter_map(|l| l.manifest.ok())
        .find(|m| m.history_id == history_id))
}

/// blake3 of a file's bytes, hex.
/// What each WAL file among `jobs` holds, for point-in-time restores past this backup.
fn wal_copies(jobs: &[Job]) -> Result<Vec<WalCopy>> {
    let mut out = Vec::new();
    for j in jobs {
        let Some(first_seq) = j
            .rel
            .strip_prefix("wal/")
            .and_then(crate::format::wal::parse_segment_name)
        else {
            continue;
        };
        let bytes = fs::read(&j.src).at(&j.src)?;
        let f = super::archive::facts(&j.src, &bytes)?;
        out.push(WalCopy {
            path: j.rel.clone(),
            first_seq,
            last_seq: f.last_seq().unwrap_or(first_seq.saturating_sub(1)),
            entries: f.data_entries(),
            first_entry_ns: f.first_ns(),
            last_entry_ns: f.last_ns(),
        });
    }
    out.sort_by_key(|c| c.first_seq);
    Ok(out)
}

fn hash_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).at(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(buf.get(..n).unwrap_or_default());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
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

/// Whether `src` is a table whose data blocks the engine compressed, which the backup stores
/// as it is (see [`super::copy`]).
fn is_compressed_table(rel: &str, src: &Path) -> Result<bool> {
    if !rel.starts_with("sst/") {
        return Ok(false);
    }
    Ok(crate::format::sst::stored_compression(src)? != crate::format::sst::Compression::None)
}

/// Compresses `src` into `dst`, fsynced; see [`super::codec`].
fn compress(
    src: &Path,
    dst: &Path,
    rel: &str,
    level: i32,
    block_workers: usize,
    progress: Progress<'_>,
) -> Result<BackupFile> {
    super::codec::encode(src, dst, rel, level, block_workers, progress)
}
