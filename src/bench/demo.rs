//! `drkit demo`: the whole crash-recovery story on built-in defaults.
//!
//! 1. Build a realistic exchange data dir in-process (orders, trades, account updates),
//!    small memtables so it has SSTs on several levels.
//! 2. Start a writer child process (`drkit crash-writer`, sync=always) that prints every
//!    acknowledged write, and SIGKILL it mid-stream.
//! 3. Recover the dir and check every acknowledged write reads back with its exact value.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;

use super::{Op, ops};
use crate::engine::{Engine, Options, RecoveryReport, SyncPolicy};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub dir: Option<PathBuf>,
    pub records: u64,
    pub seed: u64,
    /// The drkit binary, started again as the crash writer child.
    pub exe: PathBuf,
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
