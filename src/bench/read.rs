//! Read cost over flushed and compacted tables: random point gets of present keys and one
//! full scan, plus what the tables take on disk. Run it once per `--compression` on the same
//! seed to see what block compression costs on reads and saves on disk.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::percentile;
use super::workload::Workload;
use crate::engine::{CompactScope, Engine, Options, SyncPolicy, Version};
use crate::error::{Error, IoContext, Result};
use crate::format::block_cache::BlockCacheStats;
use crate::format::sst::{Compression, SstOptions};

#[derive(Debug, Clone)]
pub struct ReadBenchConfig {
    /// Where to build the data dir (kept); None: a temporary dir, removed at the end.
    pub dir: Option<PathBuf>,
    pub records: u64,
    /// 0: exchange records; otherwise plain puts with values of this many bytes.
    pub value_size: usize,
    pub compression: Compression,
    pub block_cache_bytes: u64,
    pub gets: u64,
    pub seed: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReadBenchReport {
    pub records: u64,
    pub value_size: usize,
    pub compression: Compression,
    /// Distinct live keys after compaction.
    pub keys: u64,
    pub sst_files: usize,
    /// The tables on disk, and their data blocks before compression.
    pub sst_bytes: u64,
    pub raw_data_bytes: u64,
    /// Keys and values as written, without any framing.
    pub raw_kv_bytes: u64,
    pub build_seconds: f64,
    /// Point gets of keys known to be present, one thread, after a reopen (empty memtable).
    pub gets: u64,
    /// The block cache over the gets and the scan (None when tables are not compressed:
    /// stored blocks are read in place and never cached).
    pub block_cache: Option<BlockCacheStats>,
    pub get_ops_per_sec: f64,
    pub get_p50_us: f64,
    pub get_p99_us: f64,
    /// One full scan in key order, newest versions only.
    pub scan_entries: u64,
    pub scan_seconds: f64,
    pub scan_entries_per_sec: f64,
    /// Key and value bytes returned by the scan per second, in MB (10^6 bytes).
    pub scan_mb_per_sec: f64,
    pub dir: Option<PathBuf>,
}

pub fn run_read(cfg: &ReadBenchConfig) -> Result<ReadBenchReport> {
    if cfg.records == 0 || cfg.gets == 0 {
        return Err(Error::InvalidInput(
            "--records and --gets must be at least 1".into(),
        ));
    }
    let tmp;
    let dir = match &cfg.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
            tmp.path().join("data")
        }
    };
    if dir.join("CURRENT").exists() {
        return Err(Error::InvalidInput(format!(
            "{} already holds a data dir; give a fresh path (the bench must know every key it wrote)",
            dir.display()
        )));
    }
    let opts = Options {
        sync: SyncPolicy::Never,
        sst: SstOptions {
            compression: cfg.compression,
            ..SstOptions::default()
        },
        block_cache_bytes: cfg.block_cache_bytes,
        ..Options::default()
    };

    let started = Instant::now();
    let keys = build(&dir, cfg, opts.clone())?;
    let build_seconds = started.elapsed().as_secs_f64();

    let engine = Engine::open(
        &dir,
        Options {
            background_work: false,
            create_if_missing: false,
            ..opts
        },
    )?;
    let version = engine.version();
    let (sst_files, sst_bytes, raw_data_bytes, raw_kv_bytes) = table_sizes(&version);
    let (get_ops_per_sec, get_p50_us, get_p99_us) = time_gets(&engine, &keys, cfg)?;
    let (scan_entries, scan_bytes, scan_seconds) = time_scan(&engine)?;
    let block_cache = engine
        .block_cache_stats()
        .filter(|_| cfg.compression != Compression::None);
    drop(engine);

    let per_sec = |n: f64| {
        if scan_seconds > 0.0 {
            n / scan_seconds
        } else {
            0.0
        }
    };
    Ok(ReadBenchReport {
        records: cfg.records,
        value_size: cfg.value_size,
        compression: cfg.compression,
        keys: keys.len() as u64,
        sst_files,
        sst_bytes,
        raw_data_bytes,
        raw_kv_bytes,
        build_seconds,
        gets: cfg.gets,
        block_cache,
        get_ops_per_sec,
        get_p50_us,
        get_p99_us,
        scan_entries,
        scan_seconds,
        scan_entries_per_sec: per_sec(scan_entries as f64),
        scan_mb_per_sec: per_sec(scan_bytes as f64 / 1e6),
        dir: cfg.dir.clone(),
    })
}

/// Writes the workload, flushes and compacts everything into one level, as a node that has
/// been running a while holds it. Returns every key written, sorted and deduplicated.
fn build(dir: &Path, cfg: &ReadBenchConfig, opts: Options) -> Result<Vec<Vec<u8>>> {
    let engine = Engine::open(dir, opts)?;
    let mut keys = Vec::new();
    let n = usize::try_from(cfg.records).unwrap_or(usize::MAX);
    for op in Workload::new(cfg.seed, cfg.value_size).take(n) {
        op.apply(&engine)?;
        keys.push(op.key());
    }
    engine.flush()?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    engine.compact_parallel(CompactScope::All, threads, &|_, _| {})?;
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

/// (files, bytes on disk, data blocks before compression, raw key and value bytes).
fn table_sizes(v: &Version) -> (usize, u64, u64, u64) {
    let tables: Vec<_> = v.all_tables().collect();
    let props = tables.iter().map(|t| t.sst.properties());
    let (mut disk, mut raw_data, mut raw_kv) = (0, 0, 0);
    for p in props {
        disk += p.file_size;
        raw_data += p.raw_data_bytes;
        raw_kv += p.raw_key_bytes + p.raw_value_bytes;
    }
    (tables.len(), disk, raw_data, raw_kv)
}

/// (gets per second, p50 µs, p99 µs) over keys drawn at random from those written.
fn time_gets(engine: &Engine, keys: &[Vec<u8>], cfg: &ReadBenchConfig) -> Result<(f64, f64, f64)> {
    let mut x = cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut samples = Vec::with_capacity(usize::try_from(cfg.gets).unwrap_or(0));
    let started = Instant::now();
    for _ in 0..cfg.gets {
        // xorshift64: cheap next to a get, and the same draws on every run.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = &keys[(x % keys.len() as u64) as usize];
        let t = Instant::now();
        let found = engine.get_raw(key)?;
        samples.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
        if found.is_none() {
            return Err(Error::InvalidInput(format!(
                "key {} was written but reads as absent: the tables lost it",
                key.escape_ascii()
            )));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    samples.sort_unstable();
    let ops = if seconds > 0.0 {
        cfg.gets as f64 / seconds
    } else {
        0.0
    };
    Ok((ops, percentile(&samples, 50.0), percentile(&samples, 99.0)))
}

/// (entries, key and value bytes, seconds) of one full scan.
fn time_scan(engine: &Engine) -> Result<(u64, u64, f64)> {
    let started = Instant::now();
    let (mut entries, mut bytes) = (0u64, 0u64);
    for item in engine.scan(&[], Bound::Unbounded)? {
        let (k, v) = item?;
        entries += 1;
        bytes += (k.len() + v.len()) as u64;
    }
    Ok((entries, bytes, started.elapsed().as_secs_f64()))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is the clearest test failure"
)]
mod tests {
    use super::*;

    #[test]
    fn compressed_tables_are_smaller_and_read_the_same() {
        let run = |compression| {
            run_read(&ReadBenchConfig {
                dir: None,
                records: 5_000,
                value_size: 0,
                compression,
                block_cache_bytes: 1 << 20,
                gets: 500,
                seed: 7,
            })
            .unwrap()
        };
        let plain = run(Compression::None);
        let zstd = run(Compression::default());
        assert_eq!(plain.keys, zstd.keys);
        assert_eq!(plain.scan_entries, zstd.scan_entries);
        assert_eq!(plain.raw_kv_bytes, zstd.raw_kv_bytes);
        // Tables are cut by their size on disk, so the two runs split files (and prefix
        // compression) at slightly different keys.
        let diff = plain.raw_data_bytes.abs_diff(zstd.raw_data_bytes);
        assert!(diff * 100 < plain.raw_data_bytes, "{plain:?} {zstd:?}");
        assert!(
            zstd.sst_bytes * 3 / 2 < plain.sst_bytes,
            "zstd {} vs none {} bytes",
            zstd.sst_bytes,
            plain.sst_bytes
        );
        assert!(plain.sst_bytes >= plain.raw_data_bytes);
    }
}
