//! Backup and restore throughput: a data dir of SSTs built from the workload is backed up
//! into a repository (`bench backup`), or restored from one (`bench restore`), and timed.
//!
//! Building gigabytes of SSTs takes far longer than backing them up, so the data dir and the
//! repository can be kept (`--data`, `--repo`) and measured again; between runs the caller
//! may drop the page cache, which this code cannot (and should not) do itself. Throughput is
//! over original bytes, in MB (10^6 bytes) per second, and includes every fsync: a backup or
//! restore is done only when it is durable.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::workload::Workload;
use crate::backup::repo::RepoLocation;
use crate::backup::{self, CreateOptions, Repo, RestoreOptions};
use crate::engine::{Engine, Options, SyncPolicy};
use crate::error::{Error, IoContext, Result};

/// Writer threads building the data; they only shape the SSTs, not the measurement.
const BUILD_WRITERS: u64 = 2;

#[derive(Debug, Clone)]
pub struct BackupBenchConfig {
    /// The data dir: used as it is when it holds one, else built there (and kept). None: a
    /// temporary dir, removed at the end.
    pub data: Option<PathBuf>,
    /// The repository (a dir or a bucket prefix): `bench restore` restores its newest backup
    /// when it has one, else takes one first; `bench backup` adds a backup to it. None: a
    /// temporary dir.
    pub repo: Option<RepoLocation>,
    /// SST bytes to build, in MB (10^6 bytes); the build stops at the first flush past it.
    pub size_mb: u64,
    /// 0: exchange records; otherwise plain puts with random values of this many bytes
    /// (incompressible).
    pub value_size: usize,
    pub seed: u64,
    /// Files in parallel (see `backup create --threads`).
    pub threads: usize,
    pub compress_level: i32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupBenchReport {
    /// "backup" or "restore".
    pub operation: &'static str,
    pub backup_id: String,
    pub files: usize,
    /// Original bytes, and as stored in the repository.
    pub bytes: u64,
    pub stored_bytes: u64,
    /// bytes / stored_bytes.
    pub compression_ratio: f64,
    pub threads: usize,
    pub compress_level: i32,
    /// The timed call (`backup::create` or `backup::restore`), fsyncs included.
    pub seconds: f64,
    /// Original MB (10^6 bytes) per second.
    pub mb_per_sec: f64,
    /// Backup only: the file copy and the logical-digest scan beside it (they overlap).
    pub copy_ms: Option<u64>,
    pub digest_ms: Option<u64>,
    /// Seconds spent building data (and, for restore, the backup) before the measurement;
    /// 0 when both were reused.
    pub build_seconds: f64,
    /// The process's peak resident memory during the timed call (VmHWM, reset before it).
    pub peak_rss_bytes: Option<u64>,
    pub data: Option<PathBuf>,
    pub repo: Option<String>,
}

/// What a build produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuiltData {
    pub records: u64,
    pub sst_bytes: u64,
    pub sst_files: usize,
    pub seconds: f64,
}

/// Writes workload records into a fresh data dir at `dir` until its SSTs hold at least
/// `size_mb` MB, and flushes, so the data sits in SSTs as on a long-running node.
pub fn build_data(dir: &Path, size_mb: u64, value_size: usize, seed: u64) -> Result<BuiltData> {
    if dir.join("CURRENT").exists() {
        return Err(Error::InvalidInput(format!(
            "{} already holds a data dir; give a fresh path to build one",
            dir.display()
        )));
    }
    let start = Instant::now();
    let target = size_mb.saturating_mul(1_000_000).max(1);
    let engine = Engine::open(
        dir,
        Options {
            sync: SyncPolicy::Never,
            ..Options::default()
        },
    )?;
    // A first guess of SST bytes per record, corrected from what the SSTs hold after each
    // round; rounds go on until the target is reached.
    let mut per_record = if value_size == 0 {
        60
    } else {
        value_size as u64 + 24
    };
    let mut records = 0u64;
    let mut round = 0u64;
    let (mut bytes, mut files) = sst_bytes(dir)?;
    while bytes < target {
        let missing = target - bytes;
        let n = (missing / per_record).clamp(1000, 50_000_000);
        fill(
            &engine,
            records,
            n,
            value_size,
            seed.wrapping_add(round * 64),
        )?;
        records += n;
        round += 1;
        engine.flush()?;
        (bytes, files) = sst_bytes(dir)?;
        if bytes > 0 {
            per_record = (bytes / records).max(1);
        }
        if round >= 64 {
            return Err(Error::InvalidInput(format!(
                "{} holds {bytes} SST bytes after {records} records, short of {target}; \
                 the workload does not grow the data",
                dir.display()
            )));
        }
    }
    drop(engine);
    Ok(BuiltData {
        records,
        sst_bytes: bytes,
        sst_files: files,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// `count` records numbered from `first`, split over [`BUILD_WRITERS`] threads with disjoint
/// numbers, so no round overwrites an earlier one.
fn fill(engine: &Engine, first: u64, count: u64, value_size: usize, seed: u64) -> Result<()> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..BUILD_WRITERS)
            .map(|i| {
                let share = count / BUILD_WRITERS + u64::from(i < count % BUILD_WRITERS);
                let base = first + i * (count / BUILD_WRITERS) + i.min(count % BUILD_WRITERS);
                s.spawn(move || -> Result<()> {
                    let w = Workload::new(seed.wrapping_add(i), value_size).with_id_base(base);
                    for op in w.take(usize::try_from(share).unwrap_or(usize::MAX)) {
                        op.apply(engine)?;
                    }
                    Ok(())
                })
            })
            .collect();
        let mut result = Ok(());
        for h in handles {
            let r = match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

/// Total size and count of `dir/sst/*.sst`.
fn sst_bytes(dir: &Path) -> Result<(u64, usize)> {
    let sst = dir.join("sst");
    if !sst.exists() {
        return Ok((0, 0));
    }
    let (mut bytes, mut files) = (0, 0);
    for e in std::fs::read_dir(&sst).at(&sst)? {
        let e = e.at(&sst)?;
        if e.file_name().to_string_lossy().ends_with(".sst") {
            bytes += e.metadata().at(&e.path())?.len();
            files += 1;
        }
    }
    Ok((bytes, files))
}

/// The repository: the one given (kept), or a temporary dir (removed on drop).
pub(super) struct RepoPlace {
    pub(super) location: RepoLocation,
    /// Where restores write: beside a local repository (the disk a real restore would write
    /// to), in the temp dir for a remote one.
    pub(super) scratch_parent: PathBuf,
    _tmp: Option<Place>,
}

impl RepoPlace {
    pub(super) fn new(given: Option<&RepoLocation>) -> Result<RepoPlace> {
        let (location, tmp) = match given {
            Some(l) => (l.clone(), None),
            None => {
                let place = Place::new(None, "repo")?;
                (RepoLocation::Local(place.path.clone()), Some(place))
            }
        };
        let scratch_parent = match location.local_path().and_then(Path::parent) {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            Some(_) => PathBuf::from("."),
            None => std::env::temp_dir(),
        };
        Ok(RepoPlace {
            location,
            scratch_parent,
            _tmp: tmp,
        })
    }
}

/// A path that is either given (kept) or a temporary one (removed on drop).
pub(super) struct Place {
    pub(super) path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Place {
    pub(super) fn new(given: Option<&Path>, name: &str) -> Result<Place> {
        Ok(match given {
            Some(p) => Place {
                path: p.to_path_buf(),
                _tmp: None,
            },
            None => {
                let tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
                Place {
                    path: tmp.path().join(name),
                    _tmp: Some(tmp),
                }
            }
        })
    }
}

/// The data dir of `cfg`, built if it holds none. Returns the seconds spent building.
pub(super) fn ensure_data(cfg: &BackupBenchConfig, data: &Path) -> Result<f64> {
    if data.join("CURRENT").exists() {
        return Ok(0.0);
    }
    Ok(build_data(data, cfg.size_mb, cfg.value_size, cfg.seed)?.seconds)
}

pub(super) fn create_options(cfg: &BackupBenchConfig) -> CreateOptions {
    CreateOptions {
        kind: crate::backup::BackupKind::Full,
        threads: cfg.threads.max(1),
        compress_level: cfg.compress_level,
        lock_wait: std::time::Duration::ZERO,
        logical_digest: false,
    }
}

/// Backs up the data dir of `cfg` (built first if needed) into its repository, timed.
pub fn run_backup(cfg: &BackupBenchConfig) -> Result<BackupBenchReport> {
    let data = Place::new(cfg.data.as_deref(), "data")?;
    let repo = RepoPlace::new(cfg.repo.as_ref())?;
    let build_seconds = ensure_data(cfg, &data.path)?;
    let opts = create_options(cfg);
    super::rss::reset_peak();
    let start = Instant::now();
    let r = backup::create(&repo.location, &data.path, &opts, &|_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    let b = &r.backup;
    Ok(report(
        "backup",
        cfg,
        (&b.id, b.files.len(), b.bytes, b.stored_bytes),
        seconds,
        Some((r.copy_ms, r.digest_ms)),
        build_seconds,
    ))
}

/// Restores the newest backup of the repository of `cfg` (taking one of its data dir first
/// if the repository has none) into a new dir beside the repository, timed, then removes it.
pub fn run_restore(cfg: &BackupBenchConfig) -> Result<BackupBenchReport> {
    let repo_place = RepoPlace::new(cfg.repo.as_ref())?;
    let build_seconds = ensure_backup(cfg, &repo_place.location)?;
    let repo = Repo::open(&repo_place.location)?;
    let parent = repo_place.scratch_parent.clone();
    let scratch = tempfile::Builder::new()
        .prefix(".drkit-bench-restore-")
        .tempdir_in(&parent)
        .at(&parent)?;
    let target = scratch.path().join("restored");
    let plan = backup::restore::plan(&repo, &target, None, false, None)?;
    let opts = RestoreOptions {
        threads: cfg.threads.max(1),
        force: false,
    };
    super::rss::reset_peak();
    let start = Instant::now();
    let r = backup::restore::restore(&repo, plan, &opts, &|_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    let p = &r.plan;
    Ok(report(
        "restore",
        cfg,
        (&p.backup_id, p.files, p.bytes, p.stored_bytes),
        seconds,
        None,
        build_seconds,
    ))
}

/// Makes sure the repository at `repo` holds a backup: if not, backs up the data dir of `cfg`
/// (built first if needed). Returns the seconds spent. This is all `--build-only` does for
/// `bench restore`.
pub fn ensure_backup(cfg: &BackupBenchConfig, repo: &RepoLocation) -> Result<f64> {
    match Repo::open(repo) {
        Ok(r) if !r.list()?.is_empty() => return Ok(0.0),
        Ok(_) | Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    let start = Instant::now();
    let data = Place::new(cfg.data.as_deref(), "data")?;
    ensure_data(cfg, &data.path)?;
    backup::create(repo, &data.path, &create_options(cfg), &|_| {})?;
    Ok(start.elapsed().as_secs_f64())
}

fn report(
    operation: &'static str,
    cfg: &BackupBenchConfig,
    (id, files, bytes, stored_bytes): (&str, usize, u64, u64),
    seconds: f64,
    times: Option<(u64, Option<u64>)>,
    build_seconds: f64,
) -> BackupBenchReport {
    BackupBenchReport {
        operation,
        backup_id: id.to_string(),
        files,
        bytes,
        stored_bytes,
        compression_ratio: if stored_bytes == 0 {
            0.0
        } else {
            bytes as f64 / stored_bytes as f64
        },
        threads: cfg.threads.max(1),
        compress_level: cfg.compress_level,
        seconds,
        mb_per_sec: if seconds > 0.0 {
            bytes as f64 / 1e6 / seconds
        } else {
            0.0
        },
        copy_ms: times.map(|t| t.0),
        digest_ms: times.and_then(|t| t.1),
        build_seconds,
        peak_rss_bytes: super::rss::peak_bytes(),
        data: cfg.data.clone(),
        repo: cfg.repo.as_ref().map(ToString::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(data: Option<PathBuf>, repo: Option<PathBuf>, value_size: usize) -> BackupBenchConfig {
        BackupBenchConfig {
            data,
            repo: repo.map(RepoLocation::Local),
            size_mb: 1,
            value_size,
            seed: 5,
            threads: 2,
            compress_level: 3,
        }
    }

    #[test]
    fn builds_at_least_the_asked_sst_bytes_without_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let b = build_data(&dir, 2, 500, 1).unwrap();
        assert!(b.sst_bytes >= 2_000_000, "{b:?}");
        assert!(b.sst_files >= 1);
        let e = Engine::open(&dir, Options::default()).unwrap();
        let keys = e.scan_prefix(b"K").unwrap().count() as u64;
        assert_eq!(keys, b.records, "every record has its own key");
        drop(e);
        assert!(matches!(
            build_data(&dir, 1, 0, 1),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn backup_then_restore_reuses_what_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let repo = tmp.path().join("repo");
        let c = cfg(Some(data.clone()), Some(repo.clone()), 0);
        let b = run_backup(&c).unwrap();
        assert_eq!(b.operation, "backup");
        assert!(b.build_seconds > 0.0);
        assert!(
            b.bytes >= 1_000_000 && b.stored_bytes > 0 && b.files >= 3,
            "{b:?}"
        );
        assert!(
            b.compression_ratio > 1.5,
            "exchange records compress: {b:?}"
        );
        assert!(b.seconds > 0.0 && b.mb_per_sec > 0.0);
        // The bench backs up as `backup create` does by default: no logical digest.
        assert!(b.copy_ms.is_some() && b.digest_ms.is_none());

        let r = run_restore(&c).unwrap();
        assert_eq!(r.operation, "restore");
        assert_eq!(r.build_seconds, 0.0, "the backup just taken is reused");
        assert_eq!(
            (r.backup_id.as_str(), r.bytes),
            (b.backup_id.as_str(), b.bytes)
        );
        assert!(r.copy_ms.is_none());
        // The restore target was scratch: only data and repo remain.
        let mut left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["data", "repo"]);
    }

    #[test]
    fn temporary_runs_leave_nothing_and_random_values_barely_compress() {
        let r = run_restore(&cfg(None, None, 2000)).unwrap();
        assert!(r.build_seconds > 0.0);
        assert!(r.bytes >= 1_000_000);
        assert!(r.compression_ratio < 1.1, "{r:?}");
        assert!(r.data.is_none() && r.repo.is_none());
    }
}
