//! Opening a data dir: checking what it is, taking its lock, loading the manifest and
//! recovering the WAL after the checkpoint into frozen memtables, then starting the log new
//! writes go to and the background threads.

use std::fs::{self, File};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

use super::held_runs::HeldRuns;
use super::memtable::Memtable;
use super::merge::{MergeIter, Source};
use super::version::{VersionSet, load_state};
use super::{
    BgState, CommitState, Engine, Inner, MemState, Options, Outcome, ProgressFn, RecoveryReport,
    Stats, SyncPolicy, WalState, recovery, snapshot, write_table,
};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{FileMeta, ManifestState, VersionEdit};
use crate::format::wal::SegmentWriter;
use crate::io::DirLock;
pub(super) enum Opened {
    Engine(Engine),
    Report(RecoveryReport),
}

/// Checks `dir` is a data dir (or creates one) and takes its lock.
fn prepare_dir(dir: &Path, opts: &Options) -> Result<(DirLock, bool)> {
    if !dir.exists() {
        if !opts.create_if_missing || opts.dry_run {
            return Err(Error::NotFound {
                path: dir.to_path_buf(),
                hint: "check the path, or create the dir first".into(),
            });
        }
        fs::create_dir_all(dir).at(dir)?;
    }
    if !dir.is_dir() {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "it is a file; give the data directory".into(),
        });
    }
    let has_current = dir.join("CURRENT").exists();
    if !has_current && (!opts.create_if_missing || opts.dry_run || !holds_nothing(dir)?) {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "no CURRENT file; point at a dir created by drkit, or if its MANIFEST/CURRENT were lost, run `drkit repair DIR`".into(),
        });
    }
    if !opts.cluster && dir.join("raft").is_dir() {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "it is a cluster node's data dir (DIR/raft/): its WAL is the Raft log and may hold entries that were never committed; run it with `drkit serve --node-id N`; `get`, `scan` and `backup create` read its committed state, `inspect` and `verify` its bytes".into(),
        });
    }
    let lock = DirLock::acquire(dir)?;
    Ok((lock, !has_current))
}

/// A dir without CURRENT that is empty, or holds only what creating a data dir writes before
/// CURRENT (the lock, empty wal/ and sst/, the first manifest, CURRENT's temporary file): a
/// creation that was killed before it finished. No write was ever acknowledged in it, so it is
/// created again. Anything else (a table, a segment, a file drkit does not write there) may be
/// a data dir that lost its CURRENT, which `drkit repair` rebuilds: that is refused.
fn holds_nothing(dir: &Path) -> Result<bool> {
    for e in fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        let name = e.file_name();
        let Some(name) = name.to_str() else {
            return Ok(false);
        };
        let path = e.path();
        let leftover = match name {
            "LOCK" | "CURRENT.tmp" => true,
            "wal" | "sst" => path.is_dir() && fs::read_dir(&path).at(&path)?.next().is_none(),
            _ => crate::format::manifest::parse_manifest_name(name).is_some(),
        };
        if !leftover {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A standalone dir with data cannot become a cluster node: its WAL would be taken for a
/// Raft log, and the state machine would skip the cluster's first entries as already
/// applied. (A dir a node created but crashed in before its Raft state was written holds
/// nothing, and is let through.)
fn refuse_standalone_data(dir: &Path, state: &ManifestState) -> Result<()> {
    let has_segments = recovery::list_segments(&dir.join("wal"))?
        .iter()
        .any(|(_, p)| fs::metadata(p).is_ok_and(|m| m.len() > 0));
    if state.files.is_empty() && state.flushed_seq == 0 && !has_segments {
        return Ok(());
    }
    Err(Error::NotDataDir {
        path: dir.to_path_buf(),
        reason: "it is a standalone data dir with data (a restored backup, say), and a cluster node starts from an empty dir and receives its data from the cluster; serve this dir without --node-id, or start the node on an empty dir".into(),
    })
}

pub(super) fn open_inner(
    dir: &Path,
    opts: Options,
    progress: Option<ProgressFn>,
) -> Result<Opened> {
    let started = Instant::now();
    let (dir_lock, fresh) = prepare_dir(dir, &opts)?;
    let mut vs = open_versions(dir, &opts, fresh)?;
    if opts.cluster && !fresh && !dir.join("raft").is_dir() {
        refuse_standalone_data(dir, vs.state())?;
    }
    let (mut report, immutable, max_seq) = if opts.cluster {
        if !fresh {
            vs.start_new_manifest()?;
        }
        // The applied state is what the SSTs hold; the Raft log re-applies the rest.
        let flushed = vs.state().flushed_seq;
        (
            RecoveryReport::nothing_replayed(&opts, flushed),
            Vec::new(),
            flushed,
        )
    } else {
        match recover_wal(dir, &opts, progress, fresh, &mut vs)? {
            Recovered::Refused(r) => return Ok(Opened::Report(r)),
            Recovered::Runs {
                report,
                immutable,
                max_seq,
            } => (report, immutable, max_seq),
        }
    };
    let wal = if opts.cluster {
        None
    } else {
        Some(start_wal(dir, &opts, max_seq + 1)?)
    };
    let version = vs.current();
    let inner = Arc::new(Inner {
        dir: dir.to_path_buf(),
        commit: Mutex::new(CommitState {
            next_seq: max_seq + 1,
            done_seq: max_seq,
            last_ts: 0,
            ..Default::default()
        }),
        commit_cv: Condvar::new(),
        wal: Mutex::new(wal),
        mem: RwLock::new(MemState {
            active: Arc::new(Memtable::new()),
            immutable,
            version,
        }),
        versions: Mutex::new(vs),
        bg: Mutex::new(BgState::default()),
        bg_cv: Condvar::new(),
        compacting: Mutex::new(()),
        flushing: Mutex::new(()),
        stats: Stats::default(),
        opts,
        _lock: dir_lock,
    });
    inner.retire_wal()?;
    let threads = spawn_threads(&inner)?;
    report.ready = started.elapsed();
    Ok(Opened::Engine(Engine {
        inner,
        threads,
        recovery: report,
    }))
}

/// Loads the manifest, or writes a new dir's first one.
fn open_versions(dir: &Path, opts: &Options, fresh: bool) -> Result<VersionSet> {
    if fresh {
        fs::create_dir_all(dir.join("wal")).at(dir)?;
        fs::create_dir_all(dir.join("sst")).at(dir)?;
        let history: [u8; 16] = rand::random();
        return VersionSet::create(dir, history, opts.block_cache());
    }
    let (state, no) = load_state(dir)?;
    if !opts.dry_run {
        for sub in ["wal", "sst"] {
            fs::create_dir_all(dir.join(sub)).at(dir)?;
        }
    }
    VersionSet::open_read_only(dir, state, no, opts.block_cache())
}

enum Recovered {
    Refused(RecoveryReport),
    Runs {
        report: RecoveryReport,
        /// Recovered memtables, oldest first, waiting for flush.
        immutable: Vec<Arc<Memtable>>,
        /// Every sequence ever used is at or below it.
        max_seq: u64,
    },
}

/// Replays the snapshot and the WAL after the checkpoint into frozen memtables, cutting or
/// moving aside what the recovery mode drops.
fn recover_wal(
    dir: &Path,
    opts: &Options,
    progress: Option<ProgressFn>,
    fresh: bool,
    vs: &mut VersionSet,
) -> Result<Recovered> {
    let checkpoint = vs.state().flushed_seq;
    let noop = |_: u64, _: u64| {};
    let progress_fn: &(dyn Fn(u64, u64) + Sync) = match &progress {
        Some(p) => p.as_ref(),
        None => &noop,
    };
    let mut held = HeldRuns::new(dir, opts, vs);
    let replayed = snapshot::replay_with_snapshot_into(
        dir,
        checkpoint,
        opts.recovery_mode,
        opts.dry_run,
        progress_fn,
        &mut |runs| held.take(runs),
    );
    let replayed = replayed.map(|(mut report, plan)| {
        report.memory_budget = opts.recovery_memory_budget;
        (report, plan)
    });
    let (mut report, plan) = match replayed {
        Ok(r) if !opts.dry_run && r.0.outcome != Outcome::Refused => r,
        Ok((mut report, _)) => {
            report.written_during_replay = held.discard();
            return Ok(Recovered::Refused(report));
        }
        Err(e) => {
            let _ = held.discard();
            return Err(e);
        }
    };
    let (written, written_through, runs) = held.finish();
    report.written_during_replay = written.len();

    if !fresh {
        vs.start_new_manifest()?;
    }
    if let Some(edit) = HeldRuns::edit(written, written_through) {
        vs.log_and_apply(edit)?;
    }
    if let Some((seg, offset)) = &plan.truncate {
        report
            .moved_to_lost
            .push(recovery::truncate_tail(dir, seg, *offset)?);
    }
    if let Some((seg, offset)) = &plan.trim_zeros {
        recovery::trim_zeros(seg, *offset)?;
    }
    let max_seq = report
        .max_seen_seq
        .max(vs.state().last_seq)
        .max(vs.state().flushed_seq);
    let immutable = if report.needs_rewrite() {
        rewrite_around_hole(dir, opts, vs, runs, max_seq)?;
        for seg in &plan.move_to_lost {
            report.moved_to_lost.push(recovery::move_to_lost(dir, seg)?);
        }
        Vec::new()
    } else {
        runs
    };
    Ok(Recovered::Runs {
        report,
        immutable,
        max_seq,
    })
}

/// Entries were left out: makes what was recovered durable in an SST, so the log around the
/// hole can move to lost/ and writing starts clean above every sequence ever seen.
fn rewrite_around_hole(
    dir: &Path,
    opts: &Options,
    vs: &mut VersionSet,
    runs: Vec<Arc<Memtable>>,
    max_seq: u64,
) -> Result<()> {
    let no = vs.allocate_file_no();
    let sources = runs.into_iter().rev().map(Source::Mem).collect();
    let merged = MergeIter::new(sources, Vec::new(), Bound::Unbounded)?;
    let mut error = None;
    let items = merged.map_while(|r| r.map_err(|e| error = Some(e)).ok());
    let added: Vec<FileMeta> = write_table(dir, 0, no, opts, items)?.into_iter().collect();
    if let Some(e) = error {
        return Err(e);
    }
    vs.log_and_apply(VersionEdit {
        added,
        flushed_seq: Some(max_seq),
        last_seq: Some(max_seq),
        ..Default::default()
    })?;
    Ok(())
}

/// Opens the segment new writes go to, at `next_seq`.
fn start_wal(dir: &Path, opts: &Options, next_seq: u64) -> Result<WalState> {
    let wal_dir = dir.join("wal");
    let mut closed = recovery::list_segments(&wal_dir)?;
    if let Some((first, path)) = closed.last()
        && *first == next_seq
    {
        // Created just before a crash, before any entry: nothing in it.
        fs::remove_file(path).at(path)?;
        closed.pop();
    }
    let writer = SegmentWriter::create(&wal_dir, next_seq, opts.wal_segment_bytes)?;
    let sync_handle = Arc::new(File::open(writer.path()).at(writer.path())?);
    Ok(WalState {
        writer,
        closed,
        entries_in_segment: 0,
        sync_handle,
        scratch: Vec::new(),
    })
}

fn spawn_threads(inner: &Arc<Inner>) -> Result<Vec<JoinHandle<()>>> {
    let mut threads = Vec::new();
    if inner.opts.background_work {
        let i = Arc::clone(inner);
        threads.push(
            std::thread::Builder::new()
                .name("drkit-bg".into())
                .spawn(move || i.background_loop())
                .at(&inner.dir)?,
        );
    }
    if let SyncPolicy::Interval(period) = inner.opts.sync
        && !inner.opts.cluster
    {
        let i = Arc::clone(inner);
        threads.push(
            std::thread::Builder::new()
                .name("drkit-sync".into())
                .spawn(move || i.sync_loop(period))
                .at(&inner.dir)?,
        );
    }
    Ok(threads)
}
