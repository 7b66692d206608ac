//! The runs recovery replays, held in memory up to a budget (`Options::recovery_memory_budget`).
//!
//! Past the budget the oldest runs are written to L0 tables while replay goes on, as
//! RocksDB flushes memtables that fill during its recovery, so a WAL larger than memory (a
//! dir whose flushes failed for hours) still recovers. Runs leave oldest first, so the
//! tables always hold a prefix of the applied log and their highest sequence is a sound
//! checkpoint. The tables stay out of the manifest until replay's outcome is known: a refused
//! recovery removes them and leaves the dir as it found it.

use std::path::Path;
use std::sync::Arc;

use super::memtable::{Memtable, SortedRun};
use super::version::{self, VersionSet};
use super::{Options, write_l0_tables};
use crate::error::Result;
use crate::format::manifest::{FileMeta, VersionEdit};

pub(super) struct HeldRuns<'a> {
    dir: &'a Path,
    opts: &'a Options,
    vs: &'a mut VersionSet,
    /// Oldest first.
    held: Vec<Arc<Memtable>>,
    held_bytes: u64,
    /// Written to L0 during replay, not yet in the manifest.
    written: Vec<FileMeta>,
    /// The highest sequence of the runs written out.
    written_through: u64,
}

impl<'a> HeldRuns<'a> {
    pub(super) fn new(dir: &'a Path, opts: &'a Options, vs: &'a mut VersionSet) -> HeldRuns<'a> {
        HeldRuns {
            dir,
            opts,
            vs,
            held: Vec::new(),
            held_bytes: 0,
            written: Vec::new(),
            written_through: 0,
        }
    }

    /// Takes the next runs (oldest first) and writes the oldest out while over the budget.
    pub(super) fn take(&mut self, runs: Vec<SortedRun>) -> Result<()> {
        for run in runs {
            let mem = Memtable::from_run(run);
            self.held_bytes += mem.approx_bytes() as u64;
            self.held.push(Arc::new(mem));
        }
        while self.held_bytes > self.opts.recovery_memory_budget && !self.held.is_empty() {
            self.write_oldest()?;
        }
        Ok(())
    }

    /// Writes the oldest runs, a core's worth, to one L0 table each, in parallel.
    fn write_oldest(&mut self) -> Result<()> {
        let n = self.held.len().min(rayon::current_num_threads().max(1));
        let oldest: Vec<Arc<Memtable>> = self.held.drain(..n).collect();
        let numbers: Vec<u64> = oldest.iter().map(|_| self.vs.allocate_file_no()).collect();
        let written = write_l0_tables(self.dir, self.opts, &oldest, numbers)?;
        self.written.extend(written);
        for mem in &oldest {
            self.held_bytes -= mem.approx_bytes() as u64;
            self.written_through = self.written_through.max(mem.max_seq());
        }
        Ok(())
    }

    /// Replay ended in an accepted outcome: the tables written during it, the highest
    /// sequence they hold, and the runs still in memory (oldest first).
    pub(super) fn finish(self) -> (Vec<FileMeta>, u64, Vec<Arc<Memtable>>) {
        (self.written, self.written_through, self.held)
    }

    /// Replay was refused, or failed: the tables written during it go, so the dir is left
    /// as it was found. Returns how many there were.
    pub(super) fn discard(self) -> usize {
        for meta in &self.written {
            // Best effort: a leftover table outside the manifest is ignored by every open
            // and reported by verify as an interrupted flush's.
            let _ = std::fs::remove_file(version::sst_path(self.dir, meta));
        }
        self.written.len()
    }

    /// The edit that records the written tables with their checkpoint; None when no run
    /// was written (a run of checkpoint entries alone writes no table, but still moves it).
    pub(super) fn edit(written: Vec<FileMeta>, through: u64) -> Option<VersionEdit> {
        (through > 0).then(|| VersionEdit {
            added: written,
            flushed_seq: Some(through),
            last_seq: Some(through),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::ops::Bound;
    use std::path::{Path, PathBuf};

    use crate::engine::{Engine, Options, Outcome, RecoveryMode, SyncPolicy, recovery};
    use crate::format::record;

    const BUDGET: u64 = 64 << 10;
    const WRITES: u32 = 15_000;

    fn writing_opts() -> Options {
        Options {
            wal_segment_bytes: 16 << 10,
            // Never reached: everything stays in the WAL for recovery to replay.
            memtable_bytes: 1 << 30,
            sync: SyncPolicy::Never,
            ..Options::default()
        }
    }

    fn small_budget() -> Options {
        Options {
            recovery_memory_budget: BUDGET,
            ..writing_opts()
        }
    }

    /// What the log holds: each write's internal key and value (None: a delete), in order.
    type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

    /// Writes `n` puts over a tenth as many keys, deleting every 13th.
    fn write_log(dir: &Path, n: u32) -> Writes {
        let e = Engine::open(dir, writing_opts()).unwrap();
        let mut writes = Vec::new();
        for i in 0..n {
            let k = format!("key-{:05}", (i * 7919) % (n / 10));
            if i % 13 == 0 {
                e.delete(k.as_bytes()).unwrap();
                writes.push((record::plain_key(k.as_bytes()), None));
            } else {
                let v = format!("value {i} ").repeat(1 + (i % 5) as usize);
                e.put(k.as_bytes(), v.as_bytes()).unwrap();
                writes.push((record::plain_key(k.as_bytes()), Some(v.into_bytes())));
            }
        }
        writes
    }

    /// What the dir holds after the first `n` writes.
    fn state_after(writes: &Writes, n: usize) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut model = BTreeMap::new();
        for (k, v) in &writes[..n] {
            match v {
                Some(v) => model.insert(k.clone(), v.clone()),
                None => model.remove(k),
            };
        }
        model
    }

    fn contents(e: &Engine) -> BTreeMap<Vec<u8>, Vec<u8>> {
        e.scan(&[], Bound::Unbounded)
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    fn wal_bytes(dir: &Path) -> u64 {
        recovery::list_segments(&dir.join("wal"))
            .unwrap()
            .iter()
            .map(|(_, p)| fs::metadata(p).unwrap().len())
            .sum()
    }

    /// Every file under `dir` with its bytes.
    fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n != "LOCK") {
                    out.insert(p.clone(), fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn a_wal_many_times_the_budget_recovers_exactly() {
        let tmp = tempfile::tempdir().unwrap();
        let writes = write_log(tmp.path(), WRITES);
        let all = state_after(&writes, writes.len());
        assert!(
            wal_bytes(tmp.path()) > 8 * BUDGET,
            "{}",
            wal_bytes(tmp.path())
        );

        // An open that serves: the oldest runs are already in L0 when it is ready, the
        // newest still in memory, and together they hold exactly what was written.
        let e = Engine::open(
            tmp.path(),
            Options {
                background_work: false,
                ..small_budget()
            },
        )
        .unwrap();
        let r = e.recovery_report().clone();
        assert_eq!(r.outcome, Outcome::Clean);
        assert_eq!(r.replayed, u64::from(WRITES));
        assert!(r.written_during_replay > 2, "{r:?}");
        let checkpoint = e.checkpoint_seq();
        assert!(checkpoint > 0 && checkpoint < e.last_seq(), "{checkpoint}");
        assert!(e.memtable_bytes() <= BUDGET, "{}", e.memtable_bytes());
        assert_eq!(contents(&e), all);
        drop(e);

        // `drkit recover`: the rest is flushed, and the next open replays nothing of it.
        let r = Engine::recover(tmp.path(), small_budget(), None).unwrap();
        assert_eq!(r.outcome, Outcome::Clean);
        let e = Engine::open(tmp.path(), small_budget()).unwrap();
        assert_eq!(e.checkpoint_seq(), u64::from(WRITES));
        assert_eq!(e.recovery_report().replayed, 1, "only the checkpoint entry");
        assert_eq!(contents(&e), all);
    }

    #[test]
    fn a_torn_tail_is_still_cut_when_runs_were_written_during_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let writes = write_log(tmp.path(), WRITES);
        let (_, last) = recovery::list_segments(&tmp.path().join("wal"))
            .unwrap()
            .pop()
            .unwrap();
        let mut bytes = fs::read(&last).unwrap();
        let end = bytes.iter().rposition(|b| *b != 0).unwrap() + 1;
        // The last write's final bytes never reached the disk.
        bytes[end - 20..end].fill(0);
        fs::write(&last, &bytes).unwrap();

        let r = Engine::recover(tmp.path(), small_budget(), None).unwrap();
        assert_eq!(r.outcome, Outcome::TailTruncated, "{:?}", r.findings);
        assert!(r.written_during_replay > 2, "{r:?}");
        assert_eq!(r.replayed, u64::from(WRITES) - 1);
        let e = Engine::open(tmp.path(), small_budget()).unwrap();
        assert_eq!(contents(&e), state_after(&writes, writes.len() - 1));
    }

    /// Flips a byte in the middle of a segment well after the first budget's worth.
    fn damage_a_middle_segment(dir: &Path) -> PathBuf {
        let segs = recovery::list_segments(&dir.join("wal")).unwrap();
        assert!(segs.len() > 10, "{} segments", segs.len());
        let (_, seg) = &segs[segs.len() * 2 / 3];
        let mut bytes = fs::read(seg).unwrap();
        bytes[8000] ^= 0x55;
        fs::write(seg, &bytes).unwrap();
        seg.clone()
    }

    #[test]
    fn a_refused_recovery_leaves_the_dir_as_it_was_though_it_wrote_tables() {
        let tmp = tempfile::tempdir().unwrap();
        write_log(tmp.path(), WRITES);
        damage_a_middle_segment(tmp.path());
        let before = files(tmp.path());
        let r = Engine::recover(tmp.path(), small_budget(), None).unwrap();
        assert_eq!(r.outcome, Outcome::Refused);
        assert!(
            r.written_during_replay > 2,
            "tables were written, then removed: {r:?}"
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.kind == recovery::FindingKind::Damage),
            "{r:?}"
        );
        assert_eq!(files(tmp.path()), before, "a refusal changes nothing");
    }

    #[test]
    fn point_in_time_and_skip_corrupted_recover_around_damage_within_the_budget() {
        for mode in [RecoveryMode::PointInTime, RecoveryMode::SkipCorrupted] {
            let tmp = tempfile::tempdir().unwrap();
            let writes = write_log(tmp.path(), WRITES);
            damage_a_middle_segment(tmp.path());
            let opts = Options {
                recovery_mode: mode,
                ..small_budget()
            };
            let r = Engine::recover(tmp.path(), opts.clone(), None).unwrap();
            assert_eq!(r.outcome, Outcome::DataDropped, "{mode}");
            assert!(r.written_during_replay > 0, "{mode}: {r:?}");
            let e = Engine::open(tmp.path(), small_budget()).unwrap();
            let got = contents(&e);
            match mode {
                // Everything before the damage, nothing after it.
                RecoveryMode::PointInTime => {
                    assert_eq!(got, state_after(&writes, r.last_applied_seq as usize));
                    assert!(r.last_applied_seq > u64::from(WRITES) / 2);
                }
                // The damaged entries alone are missing: every key written after the damage
                // holds its last value.
                _ => {
                    let n = u64::from(WRITES);
                    assert!(r.replayed > n - 100 && r.replayed < n, "{}", r.replayed);
                    let last = &state_after(&writes, writes.len());
                    let differ = last.iter().filter(|(k, v)| got.get(*k) != Some(*v)).count();
                    assert!(differ < 60, "{mode}: {differ} keys differ");
                }
            }
        }
    }
}
