//! A read-only view of a data dir for offline tools (get, scan, inspect, verify): the tree as
//! recovery would rebuild it, without recovering. It writes nothing, creates nothing and
//! takes only a shared lock, so a dir left by a SIGKILLed engine is looked at exactly as it
//! is, and an engine cannot start underneath the reader.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::memtable::Memtable;
use super::merge::{MergeIter, Source};
use super::options::RecoveryMode;
use super::recovery::{Outcome, RecoveryReport};
use super::version::{Version, load_state};
use super::{live, refusal};
use crate::error::{Error, Result};
use crate::format::manifest::ManifestState;
use crate::format::sst::ValueKind;
use crate::io::{DirLock, SharedLock};

/// What a log the engine does not replay itself adds on top of the flushed tables: a cluster
/// node's committed Raft entries, which `cluster::offline` reads (the engine knows neither
/// the committed index nor how a Raft entry carries its writes).
#[derive(Debug, Default)]
pub struct LogTail {
    /// The index the tail ends at (None: the log recorded none).
    pub committed: Option<u64>,
    /// Log entries read.
    pub entries: u64,
    /// Their writes, as applying them gives.
    pub mem: Memtable,
}

/// A point read of a dir's flushed tables: a key's live value, None when absent or deleted.
pub type TableGet<'a> = &'a dyn Fn(&[u8]) -> Result<Option<Vec<u8>>>;

/// Reads a [`LogTail`] of the dir above its checkpoint; the tables are there to read for
/// log entries whose writes depend on the state they meet (a cluster's SET NX).
pub type TailReader<'a> = &'a dyn Fn(&Path, u64, TableGet) -> Result<LogTail>;

/// A key's live value in `version`'s tables.
fn table_value(version: &Version, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(version
        .get(key)?
        .and_then(|e| (e.kind == ValueKind::Value).then_some(e.value)))
}

/// Point reads of the flushed tables `state` (the manifest of `dir`) lists, for offline
/// tools that apply log entries over them; the tables are opened at the first read.
pub fn flushed_tables(
    dir: &Path,
    state: &ManifestState,
) -> impl FnMut(&[u8]) -> Result<Option<Vec<u8>>> + use<> {
    let (dir, state) = (dir.to_path_buf(), state.clone());
    let mut opened: Option<Version> = None;
    move |key| {
        let version = match &mut opened {
            Some(v) => v,
            None => opened.insert(Version::build(
                &dir,
                &state,
                &Version::default(),
                false,
                None,
            )?),
        };
        table_value(version, key)
    }
}

/// Whether `dir` is a cluster node's dir (DIR/raft/): its WAL is a Raft log.
pub fn is_cluster_dir(dir: &Path) -> bool {
    dir.join("raft").is_dir()
}

#[derive(Debug)]
pub struct ReadOnly {
    dir: PathBuf,
    state: ManifestState,
    manifest_no: u64,
    version: Arc<Version>,
    /// What the WAL adds on top of the SSTs, newest first.
    mems: Vec<Arc<Memtable>>,
    report: RecoveryReport,
    cluster_committed: Option<Option<u64>>,
    _lock: Option<SharedLock>,
}

impl ReadOnly {
    /// Fails with exit 11 while an engine holds the dir, and with the recovery refusal (exit
    /// 4) when the WAL is damaged beyond what `mode` tolerates. A cluster node's dir is
    /// refused: its log needs a [`TailReader`] (`open_with_tail`).
    pub fn open(dir: &Path, mode: RecoveryMode) -> Result<ReadOnly> {
        Self::check_dir(dir)?;
        let lock = SharedLock::acquire(dir)?;
        let mapped = lock.is_some();
        Self::open_inner(dir, mode, lock, mapped, None)
    }

    /// The view of a dir whose WAL `tail` reads (a cluster node's), the tables read as
    /// `open` reads them.
    pub fn open_with_tail(dir: &Path, mode: RecoveryMode, tail: TailReader) -> Result<ReadOnly> {
        Self::check_dir(dir)?;
        let lock = SharedLock::acquire(dir)?;
        let mapped = lock.is_some();
        Self::open_inner(dir, mode, lock, mapped, Some(tail))
    }

    /// The same view for a caller that already holds the dir's exclusive lock (a backup
    /// copying the files): a shared lock taken from a second open file would conflict with
    /// our own exclusive one, and the exclusive lock already keeps every writer out, so the
    /// tables may be memory-mapped.
    pub fn open_locked(dir: &Path, mode: RecoveryMode, _held: &DirLock) -> Result<ReadOnly> {
        Self::check_dir(dir)?;
        Self::open_inner(dir, mode, None, true, None)
    }

    fn check_dir(dir: &Path) -> Result<()> {
        if !dir.exists() {
            return Err(Error::NotFound {
                path: dir.to_path_buf(),
                hint: "check the path".into(),
            });
        }
        if !dir.is_dir() {
            return Err(Error::NotDataDir {
                path: dir.to_path_buf(),
                reason: "it is a file; give the data directory".into(),
            });
        }
        if !dir.join("CURRENT").exists() {
            return Err(Error::NotDataDir {
                path: dir.to_path_buf(),
                reason: "no CURRENT file; point at a dir created by drkit, or if its MANIFEST/CURRENT were lost, run `drkit repair DIR`".into(),
            });
        }
        Ok(())
    }

    fn open_inner(
        dir: &Path,
        mode: RecoveryMode,
        lock: Option<SharedLock>,
        mapped: bool,
        tail: Option<TailReader>,
    ) -> Result<ReadOnly> {
        let (state, manifest_no) = load_state(dir)?;
        let cache = super::Options::default().block_cache();
        let version = Arc::new(Version::build(
            dir,
            &state,
            &Version::default(),
            mapped,
            cache.as_ref(),
        )?);
        match tail {
            Some(read) => {
                return Self::open_with_log_tail(
                    dir,
                    mode,
                    state,
                    manifest_no,
                    version,
                    lock,
                    read,
                );
            }
            None if is_cluster_dir(dir) => {
                return Err(Error::NotDataDir {
                    path: dir.to_path_buf(),
                    reason: "it is a cluster node's dir (DIR/raft/): its WAL is a Raft log, \
                             read through the cluster's committed index"
                        .into(),
                });
            }
            None => {}
        }
        let replay =
            super::snapshot::replay_with_snapshot(dir, state.flushed_seq, mode, &|_, _| {})?;
        if replay.report.outcome == Outcome::Refused {
            return Err(refusal(&replay.report));
        }
        let mut mems: Vec<Arc<Memtable>> = replay
            .runs
            .into_iter()
            .map(|r| Arc::new(Memtable::from_run(r)))
            .collect();
        mems.reverse();
        Ok(ReadOnly {
            dir: dir.to_path_buf(),
            state,
            manifest_no,
            version,
            mems,
            report: replay.report,
            cluster_committed: None,
            _lock: lock,
        })
    }

    /// A dir whose WAL a standalone replay would read wrong (a cluster node's: uncommitted
    /// entries shown as data, batched writes missed): the flushed tables plus what `read`
    /// gives above their checkpoint.
    fn open_with_log_tail(
        dir: &Path,
        mode: RecoveryMode,
        state: ManifestState,
        manifest_no: u64,
        version: Arc<Version>,
        lock: Option<SharedLock>,
        read: TailReader,
    ) -> Result<ReadOnly> {
        let started = std::time::Instant::now();
        let tail = read(dir, state.flushed_seq, &|key| table_value(&version, key))?;
        let opts = super::Options {
            recovery_mode: mode,
            ..super::Options::default()
        };
        let mut report = RecoveryReport::nothing_replayed(&opts, state.flushed_seq);
        report.replayed = tail.entries;
        report.last_applied_seq = tail.committed.unwrap_or(0).max(state.flushed_seq);
        report.max_seen_seq = report.last_applied_seq;
        report.duration = started.elapsed();
        Ok(ReadOnly {
            dir: dir.to_path_buf(),
            state,
            manifest_no,
            version,
            mems: vec![Arc::new(tail.mem)],
            report,
            cluster_committed: Some(tail.committed),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// For a cluster node's dir: the committed index its view ends at (None inside when the
    /// node never recorded one: only its flushed tables are shown). None for other dirs.
    pub fn cluster_committed(&self) -> Option<Option<u64>> {
        self.cluster_committed
    }

    pub fn state(&self) -> &ManifestState {
        &self.state
    }

    pub fn manifest_no(&self) -> u64 {
        self.manifest_no
    }

    pub fn version(&self) -> &Arc<Version> {
        &self.version
    }

    /// What reading the WAL found (nothing was changed).
    pub fn wal_report(&self) -> &RecoveryReport {
        &self.report
    }

    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        for m in &self.mems {
            if let Some(v) = m.get(key) {
                return Ok(v.value);
            }
        }
        table_value(&self.version, key)
    }

    pub fn scan(
        &self,
        start: &[u8],
        upper: Bound<Vec<u8>>,
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + use<>> {
        let mut sources: Vec<Source> = self.mems.iter().cloned().map(Source::Mem).collect();
        sources.extend(self.version.all_tables().cloned().map(Source::Sst));
        Ok(live(MergeIter::new(sources, start.to_vec(), upper)?))
    }

    /// Calls `f` with each live key in `[start, upper)` and its value, in key order, as
    /// [`ReadOnly::scan`] yields them but without copying a record.
    pub fn for_each_live(
        &self,
        start: &[u8],
        upper: Bound<&[u8]>,
        f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        let tables: Vec<_> = self.version.all_tables().cloned().collect();
        super::merge::for_each_newest(&self.mems, &tables, start, upper, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Options};

    #[test]
    fn sees_sst_and_wal_data_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        {
            let e = Engine::open(dir.path(), Options::default()).unwrap();
            e.put(b"a", b"1").unwrap();
            e.flush().unwrap();
            e.put(b"b", b"2").unwrap();
            e.delete(b"a").unwrap();
        }
        let snapshot = |p: &Path| -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
            let mut v = Vec::new();
            for sub in ["", "wal", "sst"] {
                for e in std::fs::read_dir(p.join(sub)).unwrap() {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_file() {
                        v.push((
                            e.path(),
                            std::fs::read(e.path()).unwrap(),
                            e.metadata().unwrap().modified().unwrap(),
                        ));
                    }
                }
            }
            v.sort();
            v
        };
        let before = snapshot(dir.path());
        let ro = ReadOnly::open(dir.path(), RecoveryMode::TolerateTail).unwrap();
        assert_eq!(ro.get_raw(b"Ka").unwrap(), None);
        assert_eq!(ro.get_raw(b"Kb").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(ro.scan(b"", Bound::Unbounded).unwrap().count(), 1);
        // An engine cannot open underneath a reader.
        assert!(matches!(
            Engine::open(dir.path(), Options::default()),
            Err(Error::Locked { .. })
        ));
        drop(ro);
        assert_eq!(snapshot(dir.path()), before);
    }

    #[test]
    fn for_each_live_matches_scan_over_layered_tables_memtables_and_ranges() {
        let dir = tempfile::tempdir().unwrap();
        {
            let e = Engine::open(
                dir.path(),
                Options {
                    background_work: false,
                    ..Options::default()
                },
            )
            .unwrap();
            // Several flushed layers that overwrite and delete each other's keys, then more
            // of the same left in the WAL (a memtable when read).
            let mut x = 7u64;
            for round in 0..6u64 {
                for i in 0..700u64 {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let k = format!("k{:04}", (x >> 33) % 900);
                    if (x >> 20).is_multiple_of(5) {
                        e.delete(k.as_bytes()).unwrap();
                    } else {
                        e.put(k.as_bytes(), format!("v{round}-{i}").as_bytes())
                            .unwrap();
                    }
                }
                if round < 5 {
                    e.flush().unwrap();
                }
                if round == 2 {
                    e.compact_all().unwrap();
                }
            }
        }
        let ro = ReadOnly::open(dir.path(), RecoveryMode::TolerateTail).unwrap();
        let ranges: [(&[u8], Bound<&[u8]>); 5] = [
            (b"", Bound::Unbounded),
            (b"Kk0100", Bound::Excluded(b"Kk0450")),
            (b"Kk0100", Bound::Included(b"Kk0450")),
            (b"Kk0899", Bound::Unbounded),
            (b"Kz", Bound::Unbounded),
        ];
        for (start, upper) in ranges {
            let want: Vec<(Vec<u8>, Vec<u8>)> = ro
                .scan(start, upper.map(<[u8]>::to_vec))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let mut got = Vec::new();
            ro.for_each_live(start, upper, |k, v| {
                got.push((k.to_vec(), v.to_vec()));
                Ok(())
            })
            .unwrap();
            assert_eq!(got, want, "range {start:?} {upper:?}");
        }
        assert!(ro.scan(b"", Bound::Unbounded).unwrap().count() > 300);
    }
}
