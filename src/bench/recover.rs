//! Recovery speed: how fast a WAL is replayed on open, i.e. how long a crashed node takes to
//! come back.
//!
//! The WAL is built with a memtable too large to ever fill, so every record is still only in
//! the log when the engine is dropped (dropping does not flush). The log is then recovered
//! the way `drkit recover` does it, and the same report gives both figures: when the engine
//! would accept reads and writes (`ready`), and when everything replayed is in fsynced SSTs
//! (`flushed`). The log is read from the page cache (nothing is evicted), so `ready` measures
//! decoding, checksumming and installing the runs, not the disk; `flushed` adds compressing
//! and writing the tables, and their fsyncs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::write::write_parallel;
use crate::engine::{Engine, Options, Outcome, ProgressFn, SyncPolicy};
use crate::error::{Error, IoContext, Result};

/// Threads writing the WAL before the measurement; they only shape the log's batches.
const BUILD_WRITERS: usize = 4;

#[derive(Debug, Clone)]
pub struct RecoverBenchConfig {
    /// Where to build the WAL; the data stays. An existing data dir with `records == 0` is
    /// recovered as it is. None: a temporary dir, removed at the end.
    pub dir: Option<PathBuf>,
    pub records: u64,
    /// 0: exchange records; otherwise plain puts with values of this many bytes.
    pub value_size: usize,
    pub seed: u64,
    /// Take a snapshot after the records, then write a tail of records/10 more.
    pub snapshot: bool,
    /// Replayed data held in memory; None: the engine's default (a quarter of RAM).
    pub memory_budget: Option<u64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RecoverBenchReport {
    pub wal_bytes: u64,
    pub segments: usize,
    /// Entries replayed into the memtable.
    pub entries: u64,
    /// Reading, checking and deciding on the log: the report's `duration`.
    pub replay: Phase,
    /// Until the engine accepts reads and writes: the time a crashed node takes to serve.
    pub ready: Phase,
    /// Until everything replayed is in fsynced SSTs: the time until the log is not needed.
    pub flushed: Phase,
    /// The whole `Engine::recover` call as the caller sees it: the above, then the close.
    pub total_seconds: f64,
    /// The memory budget recovery ran with, and the L0 tables it wrote during replay
    /// because the replayed data outgrew it.
    pub memory_budget: u64,
    pub written_during_replay: usize,
    /// Peak resident memory of the recovery alone (VmHWM, reset before it); None where the
    /// kernel does not say.
    pub peak_rss_bytes: Option<u64>,
    /// Bytes of SSTs the recovery left, and the rate they were written at: over the flush
    /// (from `ready` to `flushed`), or over the whole recovery when tables were also written
    /// during replay.
    pub sst_bytes: u64,
    pub sst_write_mb_per_sec: f64,
    /// The disk's own sequential write speed in the same run, on the same filesystem, the
    /// way `dd bs=1M conv=fdatasync` measures it: the limit the flush is compared against.
    pub disk_write_mb_per_sec: f64,
    /// The snapshot recovery started from, if any: only the WAL after it was replayed.
    pub snapshot_seq: Option<u64>,
    pub dir: Option<PathBuf>,
}

/// One recovery milestone, counted from the start of the open.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Phase {
    pub seconds: f64,
    /// WAL bytes (in MB, 10^6 bytes) per second.
    pub mb_per_sec: f64,
    pub records_per_sec: f64,
}

impl Phase {
    fn new(d: Duration, wal_bytes: u64, entries: u64) -> Phase {
        let seconds = d.as_secs_f64();
        let per_sec = |x: f64| if seconds > 0.0 { x / seconds } else { 0.0 };
        Phase {
            seconds,
            mb_per_sec: per_sec(wal_bytes as f64 / 1e6),
            records_per_sec: per_sec(entries as f64),
        }
    }
}

pub fn run_recover(
    cfg: &RecoverBenchConfig,
    progress: Option<ProgressFn>,
) -> Result<RecoverBenchReport> {
    let tmp;
    let dir = match &cfg.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
            tmp.path().to_path_buf()
        }
    };
    let existing = dir.join("CURRENT").exists();
    match (existing, cfg.records) {
        (true, 0) => {}
        (false, 0) => {
            return Err(Error::InvalidInput(format!(
                "nothing to recover: {} holds no data dir; give a record count to build a WAL",
                dir.display()
            )));
        }
        // Replaying someone's data plus ours would measure neither.
        (true, _) => {
            return Err(Error::InvalidInput(format!(
                "{} already holds a data dir; use a fresh dir, or 0 records to recover it as it is",
                dir.display()
            )));
        }
        (false, _) => build_wal(&dir, cfg)?,
    }

    let defaults = Options::default();
    let memory_budget = cfg.memory_budget.unwrap_or(defaults.recovery_memory_budget);
    let sst_before = sst_bytes(&dir)?;
    let measured_rss = super::rss::reset_peak();
    let start = Instant::now();
    let report = Engine::recover(
        &dir,
        // The options `drkit recover` uses, so the two report the same on the same log.
        Options {
            create_if_missing: false,
            recovery_memory_budget: memory_budget,
            ..defaults
        },
        progress,
    )?;
    let total_seconds = start.elapsed().as_secs_f64();
    let peak_rss_bytes = super::rss::peak_bytes().filter(|_| measured_rss);
    if report.outcome == Outcome::Refused {
        let what = report.findings.first().map_or_else(String::new, |f| {
            format!(": {} at {}", f.what, f.file.display())
        });
        return Err(Error::InvalidInput(format!(
            "recovery of {} was refused{what}; run `drkit recover {} --dry-run` for details",
            dir.display(),
            dir.display()
        )));
    }
    let phase = |d| Phase::new(d, report.wal_bytes, report.replayed);
    let sst_written = sst_bytes(&dir)?.saturating_sub(sst_before);
    let flushed = report.flushed.unwrap_or(report.ready);
    // Tables written during replay count in, and then so does the whole recovery's time.
    let flush_seconds = if report.written_during_replay > 0 {
        flushed.as_secs_f64()
    } else {
        flushed.saturating_sub(report.ready).as_secs_f64()
    };
    Ok(RecoverBenchReport {
        memory_budget,
        written_during_replay: report.written_during_replay,
        peak_rss_bytes,
        sst_bytes: sst_written,
        sst_write_mb_per_sec: if flush_seconds > 0.0 {
            sst_written as f64 / 1e6 / flush_seconds
        } else {
            0.0
        },
        disk_write_mb_per_sec: disk_write_mb_per_sec(&dir, sst_written.clamp(64 << 20, 1 << 30))?,
        wal_bytes: report.wal_bytes,
        segments: report.segments.len(),
        entries: report.replayed,
        replay: phase(report.duration),
        ready: phase(report.ready),
        // `Engine::recover` always flushes what it accepted.
        flushed: phase(report.flushed.unwrap_or(report.ready)),
        total_seconds,
        snapshot_seq: report.snapshot.as_ref().map(|s| s.seq),
        dir: cfg.dir.clone(),
    })
}

/// Bytes of every table in the dir's sst/.
fn sst_bytes(dir: &Path) -> Result<u64> {
    let sst = dir.join("sst");
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(&sst) {
        for e in entries {
            total += e.at(&sst)?.metadata().at(&sst)?.len();
        }
    }
    Ok(total)
}

/// Writes `bytes` to a scratch file in `dir` in 1 MiB writes and fdatasyncs it, as
/// `dd if=/dev/zero bs=1M conv=fdatasync` does; returns MB/s. The data is incompressible
/// noise, so a compressing filesystem cannot flatter it.
fn disk_write_mb_per_sec(dir: &Path, bytes: u64) -> Result<f64> {
    use std::io::Write;
    let path = dir.join("bench-disk-speed.tmp");
    let mut block = vec![0u8; 1 << 20];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for chunk in block.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let started = Instant::now();
    let mut f = std::fs::File::create(&path).at(&path)?;
    let mut written = 0;
    while written < bytes {
        f.write_all(&block).at(&path)?;
        written += block.len() as u64;
    }
    f.sync_data().at(&path)?;
    let seconds = started.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path).at(&path)?;
    Ok(written as f64 / 1e6 / seconds.max(1e-9))
}

/// Writes `cfg.records` entries into a fresh data dir at `dir` and leaves them in the WAL,
/// unrecovered, so recovery can be measured (and re-measured on copies) later.
pub fn build_wal(dir: &Path, cfg: &RecoverBenchConfig) -> Result<()> {
    if dir.join("CURRENT").exists() {
        return Err(Error::InvalidInput(format!(
            "{} already holds a data dir; give a fresh path",
            dir.display()
        )));
    }
    let engine = Engine::open(
        dir,
        Options {
            sync: SyncPolicy::Never,
            // Never reached, so nothing is flushed and the checkpoint stays at 0.
            memtable_bytes: usize::MAX / 2,
            ..Options::default()
        },
    )?;
    write_parallel(
        &engine,
        cfg.records,
        cfg.value_size,
        BUILD_WRITERS,
        cfg.seed,
        false,
        None,
    )?;
    if cfg.snapshot {
        // A snapshot of everything so far, then a tail of a tenth as many writes after it:
        // recovery should load the snapshot and replay only the tail.
        engine.create_snapshot()?;
        write_parallel(
            &engine,
            (cfg.records / 10).max(1),
            cfg.value_size,
            BUILD_WRITERS,
            cfg.seed.wrapping_add(1000),
            false,
            None,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_exactly_the_records_written() {
        let r = run_recover(
            &RecoverBenchConfig {
                dir: None,
                records: 3000,
                value_size: 0,
                seed: 9,
                snapshot: false,
                memory_budget: None,
            },
            None,
        )
        .unwrap();
        assert_eq!(r.entries, 3000);
        assert!(r.segments >= 1 && r.wal_bytes > 3000 * 20, "{r:?}");
        assert!(r.replay.seconds > 0.0 && r.ready.records_per_sec > 0.0);
        assert!(r.replay.seconds <= r.ready.seconds, "{r:?}");
        assert!(r.ready.seconds <= r.flushed.seconds, "{r:?}");
        assert!(r.flushed.seconds <= r.total_seconds, "{r:?}");
    }

    #[test]
    fn existing_dir_is_recovered_as_is_and_progress_is_reported() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};

        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let cfg = RecoverBenchConfig {
            dir: Some(dir.clone()),
            records: 500,
            value_size: 64,
            seed: 1,
            snapshot: false,
            memory_budget: None,
        };
        build_wal(&dir, &cfg).unwrap();
        assert!(matches!(
            run_recover(&cfg, None),
            Err(Error::InvalidInput(_))
        ));
        let seen = Arc::new(AtomicU64::new(0));
        let s = Arc::clone(&seen);
        let progress: ProgressFn = Arc::new(move |done, _total| {
            s.fetch_max(done, Ordering::Relaxed);
        });
        let again = run_recover(
            &RecoverBenchConfig {
                records: 0,
                ..cfg.clone()
            },
            Some(progress),
        )
        .unwrap();
        assert_eq!(again.entries, 500);
        assert!(seen.load(Ordering::Relaxed) > 0);
        // The recovery flushed what it replayed: a second one replays only the checkpoint
        // entry the flush logged.
        let third = run_recover(&RecoverBenchConfig { records: 0, ..cfg }, None).unwrap();
        assert_eq!(third.entries, 1, "{third:?}");
        assert_eq!(again.dir.as_deref(), Some(dir.as_path()));
        assert!(seen.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn zero_records_without_data_is_an_error() {
        let cfg = RecoverBenchConfig {
            dir: None,
            records: 0,
            value_size: 0,
            seed: 0,
            snapshot: false,
            memory_budget: None,
        };
        assert!(matches!(
            run_recover(&cfg, None),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn with_a_snapshot_only_the_tail_replays() {
        let cfg = RecoverBenchConfig {
            dir: None,
            records: 2000,
            value_size: 32,
            seed: 3,
            snapshot: true,
            memory_budget: None,
        };
        let r = run_recover(&cfg, None).unwrap();
        assert_eq!(r.snapshot_seq, Some(2000));
        assert_eq!(r.entries, 200);
    }
}
