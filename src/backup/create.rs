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

use rayon::prelude::*;

use super::manifest::{self, BackupFile, BackupManifest, FILES_DIR, WalCopy};
use super::point::{self, Point};
use super::repo::{BACKUPS_DIR, Repo, RepoLocation, hex, manifest_key};
use super::sealed::{self, Sealed};
use super::store::RepoStore;
use super::{CHUNK, Progress, logical_digest, run_queue};
use crate::cluster::export::{self, Export, LeaderLag};
use crate::engine::{ReadOnly, RecoveryMode};
use crate::error::{Error, IoContext, Result};
use crate::format::envelope;
use crate::format::leader_contact::{self, LeaderContact};
use crate::format::manifest::{ManifestState, manifest_name};
use crate::format::raft_state::RaftState;
use crate::io::DirLock;

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

/// What a backup copies: the data dir itself, locked, or a point of it taken beside a
/// running engine; for a cluster node, its committed state written out from either as a
/// standalone dir.
struct Capture {
    data: PathBuf,
    source: Source,
    exported: Option<(Point, Export)>,
}

/// Where the files are read from: the data dir itself, locked, or a point of it.
enum Source {
    Stopped(DirLock),
    Online(Point),
}

impl Capture {
    /// Locks `data`, or takes a point of it when a running engine holds it. Also returns the
    /// leftovers of killed runs it removed from the data dir.
    fn take(data: &Path) -> Result<(Capture, Vec<PathBuf>)> {
        let source = match DirLock::acquire(data) {
            Ok(lock) => Source::Stopped(lock),
            Err(Error::Locked { .. }) => Source::Online(point::take(data)?),
            Err(e) => return Err(e),
        };
        let cleaned = point::clean_leftovers(data)?;
        let capture = Capture {
            data: data.to_path_buf(),
            source,
            exported: None,
        };
        Ok((capture, cleaned))
    }

    /// For a cluster node: writes its committed state (up to the committed index `raft`
    /// records, if any) out as a standalone dir, which is then what the backup copies.
    fn export_committed(
        &mut self,
        raft: &RaftState,
        contact: Option<LeaderContact>,
        now_unix_ms: i64,
    ) -> Result<()> {
        let scratch = point::scratch(&self.data)?;
        let mut export = export::export_standalone(self.dir(), raft, scratch.dir())?;
        export.lag = contact.map(|c| LeaderLag::at(&c, export.committed_index, now_unix_ms));
        self.exported = Some((scratch, export));
        Ok(())
    }

    /// The dir the files are copied from.
    fn dir(&self) -> &Path {
        match (&self.exported, &self.source) {
            (Some((scratch, _)), _) => scratch.dir(),
            (None, Source::Stopped(_)) => &self.data,
            (None, Source::Online(p)) => p.dir(),
        }
    }

    /// The lock on that dir, held while it is read.
    fn lock(&self) -> &DirLock {
        match (&self.exported, &self.source) {
            (Some((scratch, _)), _) => scratch.lock(),
            (None, Source::Stopped(l)) => l,
            (None, Source::Online(p)) => p.lock(),
        }
    }

    /// Whether a running engine held the dir, and how often taking the point restarted.
    fn online(&self) -> (bool, usize) {
        match &self.source {
            Source::Stopped(_) => (false, 0),
            Source::Online(p) => (true, p.retries),
        }
    }

    /// What was exported, for a cluster node.
    fn exported(&self) -> Option<&Export> {
        self.exported.as_ref().map(|(_, e)| e)
    }

    /// Releases the dir (and removes the point and the export); returns what was exported.
    fn release(self) -> Option<Export> {
        self.exported.map(|(_, e)| e)
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

/// Backs up `data` into the repository at `repo` (created if missing).
pub fn create(
    repo: &RepoLocation,
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
    // A cluster node is backed up as its committed state. Its committed index is read
    // before the files are captured: every entry up to it is in the captured log.
    let node_state = if data.join("raft").is_dir() {
        Some(RaftState::load(&data.join("raft"))?.unwrap_or_default())
    } else {
        None
    };
    // Advisory: an unreadable file leaves the lag unknown rather than failing the backup.
    let contact = leader_contact::read(&data.join("raft")).ok().flatten();
    let (repo, repo_created) = Repo::init(repo)?;
    let repo_lock = repo.lock("backup create", opts.lock_wait)?;
    let mut cleaned = repo.clean_leftovers(&repo_lock)?;

    let start = Instant::now();
    let start_time = chrono::Utc::now();
    let (mut capture, leftovers) = Capture::take(data)?;
    cleaned.extend(leftovers);
    if let Some(raft) = &node_state {
        capture.export_committed(raft, contact, start_time.timestamp_millis())?;
    }
    let (src_dir, src_lock) = (capture.dir(), capture.lock());
    // The recovered view of the same files we copy: its scan is the logical digest, and it
    // refuses (exit 4) a WAL damaged beyond a torn tail, which a backup must not hide.
    let ro = ReadOnly::open_locked(src_dir, RecoveryMode::TolerateTail, src_lock)?;
    let (online, point_retries) = capture.online();
    let d = describe(src_dir, &ro)?;
    let (kind, parent, promoted) = choose_parent(&repo, opts.kind, &d.history_id)?;

    let id = backup_id(start_time, kind);
    let backup_prefix = format!("{BACKUPS_DIR}/{id}");
    let files_prefix = format!("{backup_prefix}/{FILES_DIR}");
    // On any error below, the partial backup goes at once rather than waiting for the next
    // run (which would remove it too: it has no manifest, so it was never a backup).
    let mut partial = Partial {
        repo: &repo,
        prefix: backup_prefix,
        manifest: manifest_key(&id),
        armed: true,
    };
    let copier = Copier::new(
        parent.as_ref(),
        repo.store().as_ref(),
        &files_prefix,
        opts,
        node_state.is_none(),
        progress,
    );
    let Copied {
        mut files,
        digest,
        copy_time,
        digest_time,
    } = copy_beside_digest(&copier, &d.jobs, opts, &ro)?;
    drop(ro);

    files.sort_by(|a, b| a.path.cmp(&b.path));
    let reused = files.iter().filter(|f| f.stored_in.is_some());
    let (reused_files, reused_bytes) = (reused.clone().count(), reused.map(|f| f.size).sum());
    let (logical_digest, records) = digest.unzip();
    let m = BackupManifest {
        format: manifest::FORMAT.into(),
        version: BackupManifest::VERSION,
        id,
        kind: kind.as_str().into(),
        parent: parent.as_ref().map(|p| p.id.clone()),
        start_time: start_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        end_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: millis(start.elapsed()),
        source_dir: fs::canonicalize(data)
            .unwrap_or_else(|_| data.to_path_buf())
            .display()
            .to_string(),
        online,
        history_id: d.history_id,
        checkpoint_seq: d.checkpoint_seq,
        last_seq: d.last_seq,
        last_entry_ns: d
            .last_entry_ns
            .or_else(|| capture.exported().and_then(|e| e.committed_ns)),
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
        wal_segments: d.wal_segments,
        cluster: capture.exported().cloned(),
        checksum: String::new(),
    };
    let cluster = capture.release();
    // Last, and atomically: from this write on the backup exists.
    repo.store()
        .put(&manifest_key(&m.id), &sealed::encode(&m)?)?;
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
        copy_ms: millis(copy_time),
        digest_ms: digest_time.map(millis),
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The captured dir as its recovered view sees it, and the files to copy.
struct Described {
    history_id: String,
    checkpoint_seq: u64,
    last_seq: u64,
    /// The commit time of the entry at `last_seq`, if the WAL still holds it.
    last_entry_ns: Option<i64>,
    jobs: Vec<Job>,
    wal_segments: Vec<WalCopy>,
}

fn describe(src_dir: &Path, ro: &ReadOnly) -> Result<Described> {
    let state = ro.state();
    let last_seq = state.last_seq.max(ro.wal_report().last_applied_seq);
    let jobs = list_jobs(src_dir, ro.manifest_no(), state)?;
    Ok(Described {
        history_id: hex(&state.history_id),
        checkpoint_seq: state.flushed_seq,
        last_seq,
        last_entry_ns: super::pitr::entry_time_in_dir(src_dir, last_seq)?,
        wal_segments: wal_copies(&jobs)?,
        jobs,
    })
}

/// Every file a backup of `src_dir` holds: CURRENT, the manifest, the live tables, the WAL
/// and the snapshots; the largest first, so the last to finish is a small one.
fn list_jobs(src_dir: &Path, manifest_no: u64, state: &ManifestState) -> Result<Vec<Job>> {
    let mut jobs = vec![
        job(src_dir, "CURRENT")?,
        job(src_dir, &manifest_name(manifest_no))?,
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
    Ok(jobs)
}

/// The kind the backup is taken as, its parent and, when an incremental backup had to be
/// taken as a full one, why.
fn choose_parent(
    repo: &Repo,
    asked: BackupKind,
    history_id: &str,
) -> Result<(BackupKind, Option<BackupManifest>, Option<String>)> {
    if asked == BackupKind::Full {
        return Ok((BackupKind::Full, None, None));
    }
    Ok(match newest_of_history(repo, history_id)? {
        Some(p) => (BackupKind::Incr, Some(p), None),
        None => (
            BackupKind::Full,
            None,
            Some(format!(
                "the repository holds no backup of this dir's history {history_id}, so this \
                 incremental backup was taken as a full one"
            )),
        ),
    })
}

/// `TIME-KIND-RANDOM`: sorts by time, and two runs in the same second still differ.
fn backup_id(start_time: chrono::DateTime<chrono::Utc>, kind: BackupKind) -> String {
    let suffix: [u8; 4] = rand::random();
    format!(
        "{}-{}-{}",
        start_time.format("%Y%m%dT%H%M%SZ"),
        kind.as_str(),
        hex(&suffix)
    )
}

/// Stores one file of the backup, or refers to the parent's copy of it.
struct Copier<'a> {
    parent: Option<&'a BackupManifest>,
    parent_files: HashMap<&'a str, &'a BackupFile>,
    /// A table's name and size identify its bytes within one dir's history (file numbers
    /// are never reused there). Not for a cluster node's exports: one history spans every
    /// node, whose tables share names, and each export writes its own tail table under the
    /// node's next file number. Then a table is reused only when its blake3 matches.
    names_identify_tables: bool,
    store: &'a dyn RepoStore,
    /// `backups/<id>/files`.
    files_prefix: &'a str,
    compress_level: i32,
    block_workers: usize,
    progress: Progress<'a>,
}

impl<'a> Copier<'a> {
    fn new(
        parent: Option<&'a BackupManifest>,
        store: &'a dyn RepoStore,
        files_prefix: &'a str,
        opts: &CreateOptions,
        names_identify_tables: bool,
        progress: Progress<'a>,
    ) -> Copier<'a> {
        Copier {
            parent,
            names_identify_tables,
            parent_files: parent
                .iter()
                .flat_map(|p| p.files.iter().map(|f| (f.path.as_str(), f)))
                .collect(),
            store,
            files_prefix,
            compress_level: opts.compress_level,
            // Files in parallel times blocks in parallel within each stays at the core
            // count: more compressors than cores only thrash the caches (measured: 2 files
            // on 2 cores, each with 2 block workers, took a quarter more CPU time than 1
            // file with 2).
            block_workers: (super::file_workers() / opts.threads.max(1)).max(1),
            progress,
        }
    }

    fn copy(&self, j: &Job) -> Result<BackupFile> {
        if j.rel.starts_with("sst/") {
            // Every block's checksum, without decompressing: a table damaged on disk is
            // refused here rather than backed up as if it were good.
            crate::format::sst::check_checksums(&j.src)?;
        }
        if let Some(reused) = self.reuse(j)? {
            return Ok(reused);
        }
        if is_compressed_table(&j.rel, &j.src)? {
            let key = format!("{}/{}", self.files_prefix, j.rel);
            return super::copy::store(&j.src, self.store, &key, &j.rel, self.progress);
        }
        super::codec::encode(
            &j.src,
            self.store,
            &format!("{}/{}.zst", self.files_prefix, j.rel),
            &j.rel,
            self.compress_level,
            self.block_workers,
            self.progress,
        )
    }

    /// The parent's entry for `j`, pointing at the backup that stores it, when the parent
    /// holds the same file: a table of the same name and size (see `names_identify_tables`),
    /// or any other file of the same blake3.
    fn reuse(&self, j: &Job) -> Result<Option<BackupFile>> {
        let Some(pf) = self
            .parent_files
            .get(j.rel.as_str())
            .filter(|f| f.size == j.size)
        else {
            return Ok(None);
        };
        let by_name = j.rel.starts_with("sst/") && self.names_identify_tables;
        if !by_name && hash_file(&j.src)? != pf.blake3 {
            return Ok(None);
        }
        (self.progress)(j.size);
        let owner = self.parent.map(|p| p.id.as_str()).unwrap_or_default();
        Ok(Some(BackupFile {
            stored_in: Some(pf.stored_in.clone().unwrap_or_else(|| owner.to_string())),
            ..(*pf).clone()
        }))
    }
}

/// The stored files and, with `--logical-digest`, the digest and record count, with the
/// wall times of the copy and of the digest scan beside it.
struct Copied {
    files: Vec<BackupFile>,
    digest: Option<(String, u64)>,
    copy_time: Duration,
    digest_time: Option<Duration>,
}

/// Copies every job, and with `--logical-digest` scans the recovered view for the digest
/// at the same time: it reads the same files, on its own thread, so it costs no wall time
/// when there are more cores than copy threads.
fn copy_beside_digest(
    copier: &Copier<'_>,
    jobs: &[Job],
    opts: &CreateOptions,
    ro: &ReadOnly,
) -> Result<Copied> {
    let (copied, digest) = std::thread::scope(|s| {
        let digest = opts.logical_digest.then(|| {
            s.spawn(|| {
                let t = Instant::now();
                logical_digest(ro).map(|d| (d, t.elapsed()))
            })
        });
        let t = Instant::now();
        let copied = run_queue(opts.threads, jobs, |j| copier.copy(j)).map(|c| (c, t.elapsed()));
        let digest = digest.map(|d| {
            d.join()
                .unwrap_or_else(|_| Err(Error::InvalidInput("the digest thread panicked".into())))
        });
        (copied, digest)
    });
    let (files, copy_time) = copied?;
    let (digest, digest_time) = digest.transpose()?.unzip();
    Ok(Copied {
        files,
        digest,
        copy_time,
        digest_time,
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

/// What each WAL file among `jobs` holds, for point-in-time restores past this backup. The
/// segments are read in parallel: a crashed dir may hold gigabytes of log not yet flushed.
fn wal_copies(jobs: &[Job]) -> Result<Vec<WalCopy>> {
    let mut out = jobs
        .par_iter()
        .filter_map(|j| {
            let first_seq = j
                .rel
                .strip_prefix("wal/")
                .and_then(crate::format::wal::parse_segment_name)?;
            Some(wal_copy(j, first_seq))
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|c| c.first_seq);
    Ok(out)
}

fn wal_copy(j: &Job, first_seq: u64) -> Result<WalCopy> {
    let bytes = fs::read(&j.src).at(&j.src)?;
    let f = match super::archive::facts(&j.src, &bytes) {
        Ok(f) => f,
        // A crash while the engine created its last segment leaves a short or zeroed header
        // and nothing after it: a torn tail with no entry, which the recovered view already
        // accepted (a header broken anywhere else, or with data after it, it refuses).
        Err(_) if crate::format::wal::data_end(&bytes) <= envelope::LEN as u64 => {
            super::archive::Facts::default()
        }
        Err(e) => return Err(e),
    };
    Ok(WalCopy {
        path: j.rel.clone(),
        first_seq,
        last_seq: f.last_seq().unwrap_or(first_seq.saturating_sub(1)),
        entries: f.data_entries(),
        first_entry_ns: f.first_ns(),
        last_entry_ns: f.last_ns(),
    })
}

/// blake3 of a file's bytes, hex.
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

/// Removes a backup that never got its manifest.
struct Partial<'a> {
    repo: &'a Repo,
    prefix: String,
    manifest: String,
    armed: bool,
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        let store = self.repo.store();
        if self.armed && matches!(store.size(&self.manifest), Ok(None)) {
            let _ = store.clean_unfinished(&self.prefix);
            let _ = store.delete_prefix(&self.prefix);
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
