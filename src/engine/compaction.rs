//! Leveled compaction: L0 by file count, L1+ by size (each level 10x the one above).
//!
//! A compaction merges its inputs newest-wins, drops overwritten versions, and drops
//! tombstones when no deeper level could still hold an older version of the key.

use std::fs;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::merge::{Item, MergeIter, Source};
use super::options::LEVELS;
use super::version::{self, Table, Version};
use super::{Inner, lock, write_table};
use crate::error::{Error, Result};
use crate::format::manifest::{FileMeta, VersionEdit};

#[derive(Debug)]
struct Job {
    level: usize,
    inputs: Vec<Arc<Table>>,
    next_inputs: Vec<Arc<Table>>,
}

fn key_range(tables: &[Arc<Table>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let lo = tables.iter().map(|t| &t.meta.smallest).min()?.clone();
    let hi = tables.iter().map(|t| &t.meta.largest).max()?.clone();
    Some((lo, hi))
}

fn overlapping(level: &[Arc<Table>], lo: &[u8], hi: &[u8]) -> Vec<Arc<Table>> {
    level
        .iter()
        .filter(|t| t.overlaps(lo, hi))
        .cloned()
        .collect()
}

impl Inner {
    fn level_score(&self, v: &Version, level: usize) -> f64 {
        if level == 0 {
            v.levels[0].len() as f64 / self.opts.l0_compaction_trigger as f64
        } else {
            v.level_bytes(level) as f64 / self.opts.level_target_bytes(level) as f64
        }
    }

    /// Swaps `inputs` for `outputs` with one manifest edit, publishes the new version, and
    /// unlinks the inputs (readers still holding the old version keep their mapping).
    fn install(&self, inputs: &[Arc<Table>], outputs: Vec<FileMeta>) -> Result<()> {
        let bytes_in: u64 = inputs.iter().map(|t| t.meta.size).sum();
        let bytes_out: u64 = outputs.iter().map(|m| m.size).sum();
        let edit = VersionEdit {
            deleted: inputs
                .iter()
                .map(|t| (t.meta.level, t.meta.file_no))
                .collect(),
            added: outputs,
            ..Default::default()
        };
        let version = lock(&self.versions).log_and_apply(edit)?;
        self.mem
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .version = version;
        for t in inputs {
            let _ = fs::remove_file(version::sst_path(&self.dir, &t.meta));
        }
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        self.stats
            .last_compaction_unix_ms
            .store(super::now_unix_ms(), Ordering::Relaxed);
        self.stats
            .compaction_bytes_in
            .fetch_add(bytes_in, Ordering::Relaxed);
        self.stats
            .compaction_bytes_out
            .fetch_add(bytes_out, Ordering::Relaxed);
        Ok(())
    }

    pub(super) fn compaction_due(&self) -> bool {
        let v = self.read_view().1;
        (0..LEVELS - 1).any(|l| self.level_score(&v, l) >= 1.0)
    }

    fn pick(&self, v: &Version) -> Option<Job> {
        let (level, score) = (0..LEVELS - 1)
            .map(|l| (l, self.level_score(v, l)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if score < 1.0 {
            return None;
        }
        let inputs = if level == 0 {
            v.levels[0].clone()
        } else {
            // Round robin through the level so every key range gets its turn.
            let pointer = lock(&self.bg).compact_pointer[level].clone();
            let files = &v.levels[level];
            let pick = files
                .iter()
                .find(|t| t.meta.smallest > pointer)
                .or(files.first())?;
            vec![Arc::clone(pick)]
        };
        let (lo, hi) = key_range(&inputs)?;
        let next_inputs = overlapping(&v.levels[level + 1], &lo, &hi);
        Some(Job {
            level,
            inputs,
            next_inputs,
        })
    }

    /// Runs one compaction if any level is over its target. Returns whether it did.
    pub(super) fn compact_once(&self) -> Result<bool> {
        let _one_at_a_time = lock(&self.compacting);
        let v = self.read_view().1;
        let Some(job) = self.pick(&v) else {
            return Ok(false);
        };
        self.run(&v, job)?;
        Ok(true)
    }

    /// Merges every file of `level` into `level + 1`.
    pub(super) fn compact_level_fully(&self, level: usize) -> Result<()> {
        let _one_at_a_time = lock(&self.compacting);
        let v = self.read_view().1;
        let inputs = v.levels[level].clone();
        let Some((lo, hi)) = key_range(&inputs) else {
            return Ok(());
        };
        let next_inputs = overlapping(&v.levels[level + 1], &lo, &hi);
        self.run(
            &v,
            Job {
                level,
                inputs,
                next_inputs,
            },
        )
    }

    fn run(&self, v: &Version, job: Job) -> Result<()> {
        let out_level = job.level + 1;
        let all: Vec<Arc<Table>> = job.inputs.iter().chain(&job.next_inputs).cloned().collect();
        let deeper: Vec<Arc<Table>> = v.levels[out_level + 1..]
            .iter()
            .flatten()
            .cloned()
            .collect();
        // A tombstone may go only if no deeper file could hold an older version of its key.
        let may_drop_tombstone = |key: &[u8]| !deeper.iter().any(|t| t.overlaps(key, key));

        let sources = all.iter().cloned().map(Source::Sst).collect();
        let mut merged = MergeIter::new(sources, Vec::new(), Bound::Unbounded)?.peekable();
        let mut outputs: Vec<FileMeta> = Vec::new();
        let result: Result<()> = (|| {
            while merged.peek().is_some() {
                let no = lock(&self.versions).allocate_file_no();
                let target = self.opts.sst_target_bytes;
                let mut written = 0u64;
                let mut error = None;
                let chunk = std::iter::from_fn(|| {
                    loop {
                        if written >= target {
                            return None;
                        }
                        match merged.next()? {
                            Ok(Item {
                                value: None,
                                ref key,
                                ..
                            }) if may_drop_tombstone(key) => continue,
                            Ok(item) => {
                                written += (item.key.len()
                                    + item.value.as_ref().map_or(0, Vec::len)
                                    + 16) as u64;
                                return Some(item);
                            }
                            Err(e) => {
                                error = Some(e);
                                return None;
                            }
                        }
                    }
                });
                let meta = write_table(&self.dir, out_level as u8, no, &self.opts, chunk)?;
                if let Some(e) = error {
                    if let Some(m) = meta {
                        let _ = fs::remove_file(version::sst_path(&self.dir, &m));
                    }
                    return Err(e);
                }
                outputs.extend(meta);
            }
            Ok(())
        })();
        if let Err(e) = result {
            for m in &outputs {
                let _ = fs::remove_file(version::sst_path(&self.dir, m));
            }
            return Err(e);
        }
        self.install(&all, outputs)?;
        if let Some((_, hi)) = key_range(&job.inputs) {
            lock(&self.bg).compact_pointer[job.level] = hi;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Offline, parallel compaction (`drkit compact`)
//
// The background compaction above runs one job at a time through one merge, which is right for
// a live engine (it must not steal every core from writers) but slow for an operator who has
// stopped the engine to reclaim space. Here the merged key space is cut into disjoint ranges of
// about equal input bytes; each range is merged and written by its own thread, and ONE manifest
// edit installs every output and deletes every input, so a crash at any point leaves either
// the old tree or the new one (outputs not yet in the manifest are ignored by recovery and
// removed on error here).

/// What `Engine::compact_parallel` merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactScope {
    /// Every level into the deepest non-empty one (at least L1): overwritten versions and,
    /// since nothing lies deeper, every tombstone are dropped.
    All,
    /// Every file of this level and the files of the next level they overlap, into the next
    /// level; tombstones only go where no deeper file may hold an older version.
    Level(usize),
}

/// What a parallel compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CompactionSummary {
    /// The level everything was written to; None when there was nothing to compact.
    pub output_level: Option<u8>,
    /// Key ranges merged independently (at most one per thread).
    pub ranges: usize,
    pub files_in: u64,
    pub bytes_in: u64,
    pub entries_in: u64,
    pub files_out: u64,
    pub bytes_out: u64,
    pub entries_out: u64,
    pub tombstones_dropped: u64,
    /// Older versions of keys that a newer entry (value or tombstone) shadows.
    pub overwritten_dropped: u64,
}

/// One range's result.
#[derive(Debug, Default)]
struct RangeOut {
    outputs: Vec<FileMeta>,
    /// Keys the merge yielded (one per key: its newest version).
    merged: u64,
    tombstones_dropped: u64,
}

/// Split keys that cut `inputs` into at most `ranges` pieces of about equal bytes. A split key
/// starts the next range. Block boundaries (from the in-memory indexes) are used rather than
/// file boundaries because flushed L0 files usually each span the whole key space.
fn split_keys(inputs: &[Arc<Table>], ranges: usize) -> Vec<Vec<u8>> {
    if ranges <= 1 {
        return Vec::new();
    }
    let mut blocks: Vec<(&[u8], u64)> = inputs
        .iter()
        .flat_map(|t| t.sst.data_block_bounds())
        .collect();
    blocks.sort_unstable();
    let total: u64 = blocks.iter().map(|(_, size)| size).sum();
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(ranges - 1);
    let mut acc = 0u64;
    for (last_key, size) in blocks {
        acc += size;
        let wanted = (keys.len() + 1) as u128 * u128::from(total) / ranges as u128;
        // The split key is this block's last key: it starts the next range, so this block's
        // last entry goes to the next range, which is harmless (ranges need not be exact).
        if keys.len() + 1 < ranges
            && u128::from(acc) >= wanted
            && !last_key.is_empty()
            && keys.last().is_none_or(|k| k.as_slice() < last_key)
        {
            keys.push(last_key.to_vec());
        }
    }
    keys
}

impl Inner {
    /// See [`CompactScope`]. `threads` merges run at once; `progress(done, total)` counts input
    /// bytes by how far each range's merge has advanced through the key space.
    pub(super) fn compact_parallel(
        &self,
        scope: CompactScope,
        threads: usize,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<CompactionSummary> {
        let _one_at_a_time = lock(&self.compacting);
        let v = self.read_view().1;
        let (inputs, out_level): (Vec<Arc<Table>>, usize) = match scope {
            CompactScope::All => {
                let Some(deepest) = (0..LEVELS).rev().find(|&l| !v.levels[l].is_empty()) else {
                    return Ok(CompactionSummary::default());
                };
                (v.all_tables().cloned().collect(), deepest.max(1))
            }
            CompactScope::Level(level) => {
                if level >= LEVELS - 1 {
                    return Err(Error::InvalidInput(format!(
                        "cannot compact level {level}: it is the last level (0..={}); use a level below it",
                        LEVELS - 2
                    )));
                }
                let upper = v.levels[level].clone();
                let Some((lo, hi)) = key_range(&upper) else {
                    return Ok(CompactionSummary::default());
                };
                let mut all = upper;
                all.extend(overlapping(&v.levels[level + 1], &lo, &hi));
                (all, level + 1)
            }
        };
        let deeper: Vec<Arc<Table>> = v.levels[out_level + 1..]
            .iter()
            .flatten()
            .cloned()
            .collect();
        let bytes_in: u64 = inputs.iter().map(|t| t.meta.size).sum();
        let entries_in: u64 = inputs.iter().map(|t| t.meta.entries).sum();

        let threads = threads.max(1);
        let splits = split_keys(&inputs, threads);
        let mut bounds: Vec<(Vec<u8>, Bound<Vec<u8>>)> = Vec::with_capacity(splits.len() + 1);
        let mut start = Vec::new();
        for k in splits {
            bounds.push((std::mem::replace(&mut start, k.clone()), Bound::Excluded(k)));
        }
        bounds.push((start, Bound::Unbounded));

        let done = AtomicU64::new(0);
        progress(0, bytes_in);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("drkit-compact-{i}"))
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot start {threads} threads: {e}")))?;
        let ctx = RangeCtx {
            inputs: &inputs,
            deeper: &deeper,
            out_level: out_level as u8,
            done: &done,
            total: bytes_in,
            progress,
        };
        let results: Vec<Result<RangeOut>> = pool.install(|| {
            bounds
                .par_iter()
                .map(|(lo, hi)| self.merge_range(&ctx, lo, hi))
                .collect()
        });
        let mut outs = Vec::with_capacity(results.len());
        let mut first_err = None;
        for r in results {
            match r {
                Ok(o) => outs.push(o),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            // Outputs are not in the manifest yet: removing them leaves the old tree intact.
            for m in outs.iter().flat_map(|o| &o.outputs) {
                let _ = fs::remove_file(version::sst_path(&self.dir, m));
            }
            return Err(e);
        }

        let mut summary = CompactionSummary {
            output_level: Some(out_level as u8),
            ranges: outs.len(),
            files_in: inputs.len() as u64,
            bytes_in,
            entries_in,
            ..Default::default()
        };
        let mut added = Vec::new();
        let mut merged = 0;
        for o in outs {
            merged += o.merged;
            summary.tombstones_dropped += o.tombstones_dropped;
            added.extend(o.outputs);
        }
        summary.files_out = added.len() as u64;
        summary.bytes_out = added.iter().map(|m| m.size).sum();
        summary.entries_out = added.iter().map(|m| m.entries).sum();
        // Every input entry is either the newest version of its key (yielded by the merge) or
        // shadowed by a newer one.
        summary.overwritten_dropped = entries_in.saturating_sub(merged);

        self.install(&inputs, added)?;
        progress(bytes_in, bytes_in);
        Ok(summary)
    }

    /// Merges the inputs' keys in `[lo, hi)` into output tables of about `sst_target_bytes`.
    /// On error the tables it wrote are removed.
    fn merge_range(&self, ctx: &RangeCtx<'_>, lo: &[u8], hi: &Bound<Vec<u8>>) -> Result<RangeOut> {
        let below_hi = |k: &[u8]| match hi {
            Bound::Excluded(h) => k < h.as_slice(),
            Bound::Included(h) => k <= h.as_slice(),
            Bound::Unbounded => true,
        };
        let sources: Vec<Source> = ctx
            .inputs
            .iter()
            .filter(|t| t.meta.largest.as_slice() >= lo && below_hi(&t.meta.smallest))
            .cloned()
            .map(Source::Sst)
            .collect();
        // Progress: a data block is consumed once the merge has passed its last key.
        let mut blocks: Vec<(Vec<u8>, u64)> = ctx
            .inputs
            .iter()
            .flat_map(|t| t.sst.data_block_bounds())
            .filter(|(k, _)| *k >= lo && below_hi(k))
            .map(|(k, size)| (k.to_vec(), size))
            .collect();
        blocks.sort_unstable();
        let mut next_block = 0;

        let mut out = RangeOut::default();
        let mut merged = MergeIter::new(sources, lo.to_vec(), hi.clone())?.peekable();
        let may_drop_tombstone = |key: &[u8]| !ctx.deeper.iter().any(|t| t.overlaps(key, key));
        let result: Result<()> = (|| {
            while merged.peek().is_some() {
                let no = lock(&self.versions).allocate_file_no();
                let target = self.opts.sst_target_bytes;
                let mut written = 0u64;
                let mut error = None;
                let chunk = std::iter::from_fn(|| {
                    loop {
                        if written >= target {
                            return None;
                        }
                        let item = match merged.next()? {
                            Ok(item) => item,
                            Err(e) => {
                                error = Some(e);
                                return None;
                            }
                        };
                        out.merged += 1;
                        let mut advanced = 0;
                        while let Some((k, size)) = blocks.get(next_block)
                            && k.as_slice() < item.key.as_slice()
                        {
                            advanced += size;
                            next_block += 1;
                        }
                        if advanced > 0 {
                            let now = ctx.done.fetch_add(advanced, Ordering::Relaxed) + advanced;
                            (ctx.progress)(now.min(ctx.total), ctx.total);
                        }
                        if item.value.is_none() && may_drop_tombstone(&item.key) {
                            out.tombstones_dropped += 1;
                            continue;
                        }
                        written +=
                            (item.key.len() + item.value.as_ref().map_or(0, Vec::len) + 16) as u64;
                        return Some(item);
                    }
                });
                let meta = write_table(&self.dir, ctx.out_level, no, &self.opts, chunk)?;
                if let Some(e) = error {
                    if let Some(m) = meta {
                        let _ = fs::remove_file(version::sst_path(&self.dir, &m));
                    }
                    return Err(e);
                }
                out.outputs.extend(meta);
            }
            Ok(())
        })();
        if let Err(e) = result {
            for m in &out.outputs {
                let _ = fs::remove_file(version::sst_path(&self.dir, m));
            }
            return Err(e);
        }
        // Blocks after the last key yielded (e.g. holding only shadowed versions) count too.
        let rest: u64 = blocks
            .get(next_block..)
            .unwrap_or(&[])
            .iter()
            .map(|(_, s)| s)
            .sum();
        let now = ctx.done.fetch_add(rest, Ordering::Relaxed) + rest;
        (ctx.progress)(now.min(ctx.total), ctx.total);
        Ok(out)
    }
}

/// What every range of one parallel compaction shares.
struct RangeCtx<'a> {
    inputs: &'a [Arc<Table>],
    deeper: &'a [Arc<Table>],
    out_level: u8,
    done: &'a AtomicU64,
    total: u64,
    progress: &'a (dyn Fn(u64, u64) + Sync),
}
