//! Write throughput and latency: `writers` threads each apply their share of the workload to
//! one engine, so group commit gets to batch concurrent writes as it would in production.

use std::path::PathBuf;
use std::sync::Barrier;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::percentile;
use super::workload::Workload;
use crate::engine::{Engine, Options, SyncPolicy};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone)]
pub struct WriteBenchConfig {
    /// Where to write; the data stays. None: a temporary dir, removed at the end.
    pub dir: Option<PathBuf>,
    pub records: u64,
    /// 0: exchange records; otherwise plain puts with values of this many bytes.
    pub value_size: usize,
    pub writers: usize,
    pub sync: SyncPolicy,
    pub seed: u64,
    /// Plain puts cycle over this many keys (overwrites), to exercise compaction.
    pub keyspace: Option<u64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteBenchReport {
    pub records: u64,
    pub writers: usize,
    pub sync: String,
    pub value_size: usize,
    /// Wall clock from the start of the first write to the acknowledgement of the last,
    /// workload generation included (it is cheap next to a write, and pre-generating a large
    /// run would not fit in memory).
    pub seconds: f64,
    pub ops_per_sec: f64,
    /// WAL bytes (framing included) per second, in MB (10^6 bytes).
    pub mb_per_sec: f64,
    pub wal_bytes: u64,
    /// Latencies of single writes, from call to acknowledgement.
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub fsyncs: u64,
    /// Entries per group commit: how much batching concurrent writers got.
    pub avg_batch: f64,
    pub dir: Option<PathBuf>,
}

pub fn run_write(cfg: &WriteBenchConfig) -> Result<WriteBenchReport> {
    check_writers(cfg.writers)?;
    let tmp;
    let dir = match &cfg.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
            tmp.path().to_path_buf()
        }
    };
    let engine = Engine::open(
        &dir,
        Options {
            sync: cfg.sync,
            ..Options::default()
        },
    )?;
    let (elapsed, mut latencies) = write_parallel(
        &engine,
        cfg.records,
        cfg.value_size,
        cfg.writers,
        cfg.seed,
        true,
        cfg.keyspace,
    )?;
    let stats = engine.stats();
    let wal_bytes = stats.wal_bytes.load(Ordering::Relaxed);
    let fsyncs = stats.fsyncs.load(Ordering::Relaxed);
    let batches = stats.batches.load(Ordering::Relaxed);
    let batched = stats.batched_entries.load(Ordering::Relaxed);
    drop(engine);

    latencies.sort_unstable();
    let seconds = elapsed.as_secs_f64();
    let per_sec = |x: f64| if seconds > 0.0 { x / seconds } else { 0.0 };
    Ok(WriteBenchReport {
        records: cfg.records,
        writers: cfg.writers,
        sync: cfg.sync.to_string(),
        value_size: cfg.value_size,
        seconds,
        ops_per_sec: per_sec(cfg.records as f64),
        mb_per_sec: per_sec(wal_bytes as f64 / 1e6),
        wal_bytes,
        p50_us: percentile(&latencies, 50.0),
        p99_us: percentile(&latencies, 99.0),
        p999_us: percentile(&latencies, 99.9),
        max_us: latencies.last().map_or(0.0, |&ns| ns as f64 / 1e3),
        fsyncs,
        avg_batch: if batches == 0 {
            0.0
        } else {
            batched as f64 / batches as f64
        },
        dir: cfg.dir.clone(),
    })
}

/// Applies `records` ops split over `writers` threads (thread i: seed + i, ids starting where
/// thread i-1's end so threads never overwrite each other's orders). Returns the wall time of
/// the writes and, if `time_each`, every write's latency in ns (unsorted).
pub(super) fn write_parallel(
    engine: &Engine,
    records: u64,
    value_size: usize,
    writers: usize,
    seed: u64,
    time_each: bool,
    keyspace: Option<u64>,
) -> Result<(Duration, Vec<u64>)> {
    check_writers(writers)?;
    let n = writers as u64;
    let shares: Vec<(u64, u64)> = (0..n)
        .map(|i| {
            let base = i * (records / n) + i.min(records % n);
            (base, records / n + u64::from(i < records % n))
        })
        .collect();
    // Everyone, the timer included, starts at once: thread spawn cost stays out of the time.
    let start_line = Barrier::new(writers + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .iter()
            .enumerate()
            .map(|(i, &(base, count))| {
                let start_line = &start_line;
                s.spawn(move || -> Result<Vec<u64>> {
                    let mut w =
                        Workload::new(seed.wrapping_add(i as u64), value_size).with_id_base(base);
                    if let Some(ks) = keyspace {
                        w = w.with_keyspace(ks);
                    }
                    let ops = w.take(count as usize);
                    let mut lat = Vec::with_capacity(if time_each { count as usize } else { 0 });
                    start_line.wait();
                    for op in ops {
                        if time_each {
                            let t = Instant::now();
                            op.apply(engine)?;
                            lat.push(t.elapsed().as_nanos() as u64);
                        } else {
                            op.apply(engine)?;
                        }
                    }
                    Ok(lat)
                })
            })
            .collect();
        start_line.wait();
        let start = Instant::now();
        let mut all = Vec::new();
        let mut first_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(lat)) => all.extend(lat),
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let elapsed = start.elapsed();
        match first_err {
            Some(e) => Err(e),
            None => Ok((elapsed, all)),
        }
    })
}

fn check_writers(writers: usize) -> Result<()> {
    if writers == 0 {
        return Err(Error::InvalidInput("writers must be at least 1".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_run_reports_sane_numbers() {
        let r = run_write(&WriteBenchConfig {
            dir: None,
            records: 2000,
            value_size: 0,
            writers: 4,
            sync: SyncPolicy::Never,
            seed: 42,
            keyspace: None,
        })
        .unwrap();
        assert_eq!(r.records, 2000);
        assert!(
            r.seconds > 0.0 && r.ops_per_sec > 0.0 && r.mb_per_sec > 0.0,
            "{r:?}"
        );
        assert!(r.wal_bytes > 2000 * 20, "{r:?}");
        assert!(r.p50_us > 0.0, "{r:?}");
        assert!(r.p50_us <= r.p99_us && r.p99_us <= r.p999_us && r.p999_us <= r.max_us);
        assert!(r.avg_batch >= 1.0, "{r:?}");
        assert_eq!(r.fsyncs, 0, "sync=never does not fsync per write");
        assert_eq!(r.sync, "never");
    }

    #[test]
    fn data_stays_in_a_given_dir_and_threads_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let r = run_write(&WriteBenchConfig {
            dir: Some(data.clone()),
            records: 103,
            value_size: 16,
            writers: 3,
            sync: SyncPolicy::Always,
            seed: 1,
            keyspace: None,
        })
        .unwrap();
        assert_eq!(r.dir.as_deref(), Some(data.as_path()));
        assert!(r.fsyncs >= 1);
        let e = Engine::open(&data, Options::default()).unwrap();
        assert_eq!(e.scan_prefix(b"K").unwrap().count(), 103);
    }

    #[test]
    fn zero_writers_is_an_error() {
        let cfg = WriteBenchConfig {
            dir: None,
            records: 10,
            value_size: 0,
            writers: 0,
            sync: SyncPolicy::Never,
            seed: 0,
            keyspace: None,
        };
        assert!(matches!(run_write(&cfg), Err(Error::InvalidInput(_))));
    }
}
