//! `drkit demo`: the whole crash-recovery story on built-in defaults.
//!
//! 1. Build a realistic exchange data dir in-process (orders, trades, account updates),
//!    small memtables so it has SSTs on several levels.
//! 2. Start a writer child process (`drkit crash-writer`, sync=always) that prints every
//!    acknowledged write, and SIGKILL it mid-stream.
//! 3. Recover the dir and check every acknowledged write reads back with its exact value.
//! 4. Backups and point-in-time restore: turn on WAL archiving, take a full backup while an
//!    engine runs on the dir, write more, take an incremental backup, write more (noting a
//!    moment in the middle), archive the WAL, restore to that moment, and compare the
//!    restored records with the state the demo itself tracked up to it.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;

use super::{Op, ops};
use crate::backup::archive::{ArchiveOptions, Archiver};
use crate::backup::pitr::Target;
use crate::backup::repo::RepoLocation;
use crate::backup::{self, BackupKind, CreateOptions, Repo, RestoreOptions, restore};
use crate::engine::{Engine, Options, ReadOnly, RecoveryMode, RecoveryReport, SyncPolicy};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub dir: Option<PathBuf>,
    pub records: u64,
    pub seed: u64,
    /// The drkit binary, started again as the crash writer child.
    pub exe: PathBuf,
    /// The repository for the backup step (a new dir or an empty bucket prefix). Default:
    /// a dir beside the data dir.
    pub repo: Option<RepoLocation>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    pub dir: PathBuf,
    pub kept: bool,
    pub initial_records: u64,
    pub sst_files: usize,
    pub sst_bytes: u64,
    pub writer_pid: u32,
    pub acknowledged: u64,
    pub recovery: RecoveryReport,
    pub keys_checked: u64,
    pub missing_acknowledged: u64,
    pub wrong_values: u64,
    pub unacknowledged_present: u64,
    pub backup: BackupDemo,
    /// `drkit doctor` of the dir and the repository at the end.
    pub doctor: crate::doctor::DoctorReport,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupDemo {
    pub repo: String,
    pub full_id: String,
    pub full_online: bool,
    pub full_bytes: u64,
    pub full_stored_bytes: u64,
    pub writes_after_full: u64,
    pub incr_id: String,
    pub incr_stored_bytes: u64,
    pub incr_reused_files: usize,
    pub writes_after_incr: u64,
    /// The restore target: a moment after `writes_before_target` of the writes after the
    /// incremental backup.
    pub writes_before_target: u64,
    pub target_time: String,
    pub restored_from: String,
    pub reached_seq: Option<u64>,
    pub replayed_from_archive: u64,
    pub restored_dir: PathBuf,
    pub expected_records: u64,
    pub restored_records: u64,
    pub expected_digest: String,
    pub restored_digest: String,
    /// Keys whose restored value differs from the tracked state (missing, extra or wrong).
    pub mismatched_keys: u64,
}

impl BackupDemo {
    pub fn matches(&self) -> bool {
        self.mismatched_keys == 0
            && self.expected_records == self.restored_records
            && self.expected_digest == self.restored_digest
    }
}

/// Writes planned for the crash phase; the child is killed long before it finishes.
const CRASH_PHASE_OPS: u64 = 1_000_000;

pub fn run_demo(cfg: &DemoConfig, step: &mut dyn FnMut(&str)) -> Result<DemoReport> {
    let temp;
    let (dir, kept) = match &cfg.dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d).at(d)?.next().is_some() {
                return Err(Error::InvalidInput(format!(
                    "{}: not empty; the demo builds a fresh data dir, give it a new path",
                    d.display()
                )));
            }
            (d.clone(), true)
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("drkit-demo-")
                .tempdir()
                .map_err(|e| Error::io(std::env::temp_dir(), e))?;
            (temp.path().join("data"), false)
        }
    };

    step(&format!(
        "building an exchange data dir at {} ({} orders, trades and account updates)",
        dir.display(),
        cfg.records
    ));
    let initial = ops(cfg.seed, 0, cfg.records);
    {
        let opts = Options {
            sync: SyncPolicy::Never,
            memtable_bytes: 4 << 20,
            l1_target_bytes: 16 << 20,
            sst_target_bytes: 4 << 20,
            ..Options::default()
        };
        let engine = Engine::open(&dir, opts)?;
        for op in &initial {
            op.apply(&engine)?;
        }
        engine.flush()?;
        engine.sync()?;
    }
    let (sst_files, sst_bytes) = sst_usage(&dir)?;

    let crash_seed = cfg.seed.wrapping_add(1);
    let target_acks = rand::rng().random_range(2_000..8_000u64);
    step(&format!(
        "starting a writer child (sync=always) and killing it with SIGKILL after ~{target_acks} acknowledged writes"
    ));
    let mut child = Command::new(&cfg.exe)
        .args([
            "crash-writer",
            "--sync",
            "always",
            "--seed",
            &crash_seed.to_string(),
            "--records",
            &CRASH_PHASE_OPS.to_string(),
            "--dir",
        ])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .at(&cfg.exe)?;
    let writer_pid = child.id();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::InvalidInput("writer child has no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut acked: Vec<u64> = Vec::new();
    let started = Instant::now();
    let mut killed = false;
    while let Some(Ok(line)) = lines.next() {
        if let Some(index) = line.split_whitespace().next().and_then(|i| i.parse().ok()) {
            acked.push(index);
        }
        if !killed
            && (acked.len() as u64 >= target_acks || started.elapsed() > Duration::from_secs(20))
        {
            child.kill().at(&cfg.exe)?;
            killed = true;
        }
    }
    // Acknowledgements already in the pipe when the kill landed still count: drained above.
    let _ = child.wait();
    step(&format!(
        "writer pid {writer_pid} killed after {} acknowledged writes; recovering",
        acked.len()
    ));

    let recovery = Engine::recover(&dir, Options::default(), None)?;
    let engine = Engine::open(&dir, Options::default())?;
    let crash_ops = ops(crash_seed, 0, acked.last().map_or(0, |l| l + 1) + 64);
    let check = check_acknowledged(&engine, &initial, &crash_ops, &acked)?;
    drop(engine);

    let backup = backup_phase(&dir, kept, cfg.seed, cfg.repo.as_ref(), step)?;
    step("what could be recovered now, and to which point: doctor of the dir and the repository");
    let doctor = crate::doctor::doctor(&crate::doctor::DoctorOptions::new(
        Some(dir.clone()),
        Some(repo_of(&dir, cfg.repo.as_ref())),
    ))?;

    Ok(DemoReport {
        dir,
        kept,
        initial_records: cfg.records,
        sst_files,
        sst_bytes,
        writer_pid,
        acknowledged: acked.len() as u64,
        recovery,
        keys_checked: check.keys_checked,
        missing_acknowledged: check.missing,
        wrong_values: check.wrong,
        unacknowledged_present: check.unacked_present,
        backup,
        doctor,
    })
}

/// `DIR` + suffix, beside `DIR`.
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn digest_of(model: &Model) -> String {
    let mut h = blake3::Hasher::new();
    for (k, v) in model {
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(k);
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(v);
    }
    h.finalize().to_hex().to_string()
}

fn all_records(dir: &Path) -> Result<Model> {
    let ro = ReadOnly::open(dir, RecoveryMode::TolerateTail)?;
    ro.scan(&[], std::ops::Bound::Unbounded)?.collect()
}

fn apply_all(engine: &Engine, model: &mut Model, batch: &[Op]) -> Result<()> {
    for op in batch {
        op.apply(engine)?;
        model.insert(op.key(), op.value());
    }
    Ok(())
}

/// The repository given, or a dir beside the data dir.
fn repo_of(dir: &Path, given: Option<&RepoLocation>) -> RepoLocation {
    given
        .cloned()
        .unwrap_or_else(|| RepoLocation::Local(beside(dir, "-backups")))
}

/// Step 4: full backup of a running engine, incremental, point-in-time restore.
fn backup_phase(
    dir: &Path,
    kept: bool,
    seed: u64,
    given_repo: Option<&RepoLocation>,
    step: &mut dyn FnMut(&str),
) -> Result<BackupDemo> {
    let repo = repo_of(dir, given_repo);
    let restored = beside(dir, "-restored");
    let repo_dir = repo.local_path().filter(|_| given_repo.is_none());
    for p in repo_dir.into_iter().chain([restored.as_path()]) {
        if kept && p.exists() {
            return Err(Error::InvalidInput(format!(
                "{}: exists; the demo creates it next to the data dir, give a new --dir",
                p.display()
            )));
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let create_opts = |kind| CreateOptions {
        kind,
        threads,
        compress_level: 3,
        lock_wait: Duration::ZERO,
        logical_digest: false,
    };
    let archive_opts = ArchiveOptions {
        compress_level: 3,
        lock_wait: Duration::ZERO,
    };
    let engine_opts = Options {
        sync: SyncPolicy::Never,
        memtable_bytes: 2 << 20,
        sst_target_bytes: 2 << 20,
        ..Options::default()
    };
    let mut model = all_records(dir)?;

    step(&format!(
        "turning on WAL archiving into {repo} and taking a full backup while an engine runs on the dir"
    ));
    let mut archiver = Archiver::open(&repo, dir, archive_opts)?;
    archiver.run(false)?;
    let engine = Engine::open(dir, engine_opts.clone())?;
    let full = backup::create(&repo, dir, &create_opts(BackupKind::Full), &|_| {})?;

    let writes_after_full = 30_000;
    step(&format!(
        "writing {writes_after_full} more records, then an incremental backup"
    ));
    apply_all(
        &engine,
        &mut model,
        &ops(seed.wrapping_add(2), 0, writes_after_full),
    )?;
    engine.flush()?;
    let incr = backup::create(&repo, dir, &create_opts(BackupKind::Incr), &|_| {})?;

    let writes_after_incr = 30_000;
    let writes_before_target = writes_after_incr / 2;
    let later = ops(seed.wrapping_add(3), 0, writes_after_incr);
    let (before, after) = later.split_at(usize::try_from(writes_before_target).unwrap_or(0));
    apply_all(&engine, &mut model, before)?;
    engine.sync()?;
    // Every entry written so far has a commit time at or before the target; the pause makes
    // every later one strictly after it.
    std::thread::sleep(Duration::from_millis(5));
    let target = chrono::Utc::now();
    let expected = model.clone();
    std::thread::sleep(Duration::from_millis(5));
    let mut after_model = model;
    apply_all(&engine, &mut after_model, after)?;
    drop(engine);
    let target_time = target.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    step(&format!(
        "writing {writes_after_incr} more records; archiving the WAL; restoring to {target_time}, after the first {writes_before_target} of them"
    ));
    archiver.run(true)?;
    drop(archiver);

    let r = Repo::open(&repo)?;
    let to = Target::parse_time(&target_time)?;
    let plan = restore::plan(&r, &restored, None, false, Some(to))?;
    let report = restore::restore(
        &r,
        plan,
        &RestoreOptions {
            threads,
            force: false,
        },
        &|_| {},
    )?;
    let got = all_records(&restored)?;
    let mismatched_keys = expected
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .count()
        + got.keys().filter(|k| !expected.contains_key(*k)).count();
    Ok(BackupDemo {
        repo: repo.to_string(),
        full_id: full.backup.id.clone(),
        full_online: full.online,
        full_bytes: full.backup.bytes,
        full_stored_bytes: full.backup.stored_bytes,
        writes_after_full,
        incr_id: incr.backup.id.clone(),
        incr_stored_bytes: incr.backup.stored_bytes,
        incr_reused_files: incr.reused_files,
        writes_after_incr,
        writes_before_target,
        target_time,
        restored_from: report.plan.backup_id.clone(),
        reached_seq: report.reached_seq,
        replayed_from_archive: report.replayed,
        restored_dir: restored,
        expected_records: expected.len() as u64,
        restored_records: got.len() as u64,
        expected_digest: digest_of(&expected),
        restored_digest: digest_of(&got),
        mismatched_keys: mismatched_keys as u64,
    })
}

fn sst_usage(dir: &Path) -> Result<(usize, u64)> {
    let sst = dir.join("sst");
    let mut n = 0;
    let mut bytes = 0;
    for e in std::fs::read_dir(&sst).at(&sst)?.flatten() {
        n += 1;
        bytes += e.metadata().map_or(0, |m| m.len());
    }
    Ok((n, bytes))
}

#[derive(Debug, Default)]
pub struct CheckResult {
    pub keys_checked: u64,
    pub missing: u64,
    pub wrong: u64,
    pub unacked_present: u64,
}

/// Checks every key touched so far. A key's value must be the one its last acknowledged
/// write set, or that of a later write the child had issued but not yet acknowledged (it may
/// have reached the disk before the kill). A key never written in the crash phase must keep
/// its initial value.
pub fn check_acknowledged(
    engine: &Engine,
    initial: &[Op],
    crash_ops: &[Op],
    acked: &[u64],
) -> Result<CheckResult> {
    let mut expected: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for op in initial {
        expected.insert(op.key(), op.value());
    }
    let last_acked = acked.iter().max().map(|m| m + 1).unwrap_or(0) as usize;
    for op in crash_ops.iter().take(last_acked) {
        expected.insert(op.key(), op.value());
    }
    let mut later: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
    for op in crash_ops.iter().skip(last_acked) {
        later.entry(op.key()).or_default().push(op.value());
    }
    let mut r = CheckResult::default();
    for (key, want) in &expected {
        r.keys_checked += 1;
        match engine.get_raw(key)? {
            None => r.missing += 1,
            Some(got) if &got == want => {}
            Some(got) if later.get(key).is_some_and(|vs| vs.contains(&got)) => {
                r.unacked_present += 1
            }
            Some(_) => r.wrong += 1,
        }
    }
    for (key, values) in &later {
        if !expected.contains_key(key)
            && let Some(got) = engine.get_raw(key)?
        {
            if values.contains(&got) {
                r.unacked_present += 1;
            } else {
                r.wrong += 1;
            }
        }
    }
    Ok(r)
}
