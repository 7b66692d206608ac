//! Leveled compaction: L0 by file count, L1+ by size (each level 10x the one above).
//!
//! A compaction merges its inputs newest-wins, drops overwritten versions, and drops
//! tombstones when no deeper level could still hold an older version of the key.

use std::fs;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::merge::{Item, MergeIter, Source};
use super::options::LEVELS;
use super::version::{self, Table, Version};
use super::{Inner, lock, write_table};
use crate::error::Result;
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
        let bytes_in: u64 = all.iter().map(|t| t.meta.size).sum();
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
        let bytes_out: u64 = outputs.iter().map(|m| m.size).sum();
        let edit = VersionEdit {
            deleted: all.iter().map(|t| (t.meta.level, t.meta.file_no)).collect(),
            added: outputs,
            ..Default::default()
        };
        let version = lock(&self.versions).log_and_apply(edit)?;
        if let Some((_, hi)) = key_range(&job.inputs) {
            lock(&self.bg).compact_pointer[job.level] = hi;
        }
        self.mem
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .version = version;
        // Readers still holding the old version keep their mapping; unlinking is safe.
        for t in &all {
            let _ = fs::remove_file(version::sst_path(&self.dir, &t.meta));
        }
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        self.stats
            .compaction_bytes_in
            .fetch_add(bytes_in, Ordering::Relaxed);
        self.stats
            .compaction_bytes_out
            .fetch_add(bytes_out, Ordering::Relaxed);
        Ok(())
    }
}
