//! `drkit compact`: offline compaction of a stopped data dir.
//!
//! Opens the dir with the engine (exclusive lock, WAL replayed, no background thread), flushes
//! what the WAL held so the result is self-contained and the old segments are retired, then
//! runs one parallel compaction (see `engine::CompactScope`) and reports what it did.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{CompactScope, CompactionSummary, Engine, LEVELS, Options, Version};
use crate::error::Result;
use crate::format::sst::{Compression, SstOptions};

#[derive(Debug, Clone, Copy)]
pub struct CompactOptions {
    /// None: every level into the deepest; Some(n): level n into n + 1.
    pub level: Option<usize>,
    pub threads: usize,
    /// How the tables written store data blocks.
    pub compression: Compression,
}

/// Files and bytes on one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LevelShape {
    pub level: u8,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompactReport {
    pub dir: PathBuf,
    /// "all" or "level N".
    pub scope: String,
    pub threads: usize,
    /// Entries replayed from the WAL on open and flushed before compacting.
    pub wal_entries_flushed: u64,
    #[serde(flatten)]
    pub summary: CompactionSummary,
    /// Non-empty levels before and after.
    pub levels_before: Vec<LevelShape>,
    pub levels_after: Vec<LevelShape>,
    /// The compaction itself (not the open and flush before it).
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// Open, WAL replay, flush and compaction.
    #[serde(serialize_with = "secs")]
    pub total_duration: Duration,
    pub mb_per_sec: f64,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

pub fn shape(v: &Version) -> Vec<LevelShape> {
    (0..LEVELS)
        .filter(|&l| !v.levels[l].is_empty())
        .map(|l| LevelShape {
            level: l as u8,
            files: v.levels[l].len() as u64,
            bytes: v.level_bytes(l),
        })
        .collect()
}

/// The default for `--threads`: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Compacts `dir`; `progress(done, total)` is called with input bytes as the merges advance.
pub fn run(
    dir: &Path,
    opts: CompactOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<CompactReport> {
    let started = Instant::now();
    let engine = Engine::open(
        dir,
        Options {
            background_work: false,
            create_if_missing: false,
            sst: SstOptions {
                compression: opts.compression,
                ..SstOptions::default()
            },
            ..Options::default()
        },
    )?;
    let wal_entries_flushed = engine.recovery_report().replayed;
    // Flush first: the compaction then covers everything, and the flush retires the WAL
    // segments, so the compacted dir does not depend on replaying them.
    engine.flush()?;
    let levels_before = shape(&engine.version());
    let scope = match opts.level {
        None => CompactScope::All,
        Some(l) => CompactScope::Level(l),
    };
    let compact_started = Instant::now();
    let summary = engine.compact_parallel(scope, opts.threads, progress)?;
    let duration = compact_started.elapsed();
    let levels_after = shape(&engine.version());
    drop(engine);
    let s = duration.as_secs_f64();
    Ok(CompactReport {
        dir: dir.to_path_buf(),
        scope: opts
            .level
            .map_or_else(|| "all".to_string(), |l| format!("level {l}")),
        threads: opts.threads.max(1),
        wal_entries_flushed,
        mb_per_sec: if s > 0.0 {
            summary.bytes_in as f64 / 1e6 / s
        } else {
            0.0
        },
        summary,
        levels_before,
        levels_after,
        duration,
        total_duration: started.elapsed(),
    })
}
