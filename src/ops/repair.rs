//! `drkit repair`: rebuild a lost or damaged manifest from the SSTs themselves (RocksDB's
//! RepairDB; the seed's "scan sst_{level}_{seq}.sst sorted by sequence").
//!
//! [`plan`] reads everything and changes nothing; [`apply`] carries the plan out. The rules:
//!
//! - **Which manifest to trust.** If CURRENT names a manifest that decodes, that manifest
//!   decides which tables are live (it is the only record of what an interrupted flush or
//!   compaction had installed). Tables it lists that are missing or unreadable are dropped
//!   from it; tables on disk it does not list are leftovers of an interrupted flush or
//!   compaction (their data is still in the WAL or in the inputs) and move to `lost/`.
//!   A healthy dir therefore has an empty plan. Otherwise (CURRENT or its manifest missing or
//!   garbage) the tree is rebuilt from `sst/sst_{level}_{no}.sst` alone.
//! - **Unreadable tables** (bad envelope, footer or any block checksum, entries out of order,
//!   properties that disagree with the contents) are moved to `DIR/lost/`, never deleted.
//! - **Levels.** A table keeps the level in its name. L1 and deeper must not overlap within a
//!   level, so every table of such a level whose key range overlaps another table of the same
//!   level is moved to L0 (renamed `sst_0_{no}.sst`), where overlap is allowed. Point reads
//!   rely on level order and L0 order (newest `max_seq` first), which tables moved up from
//!   deeper levels may break, so after such a move `--apply` runs a full compaction: it merges
//!   by each entry's own sequence number and leaves one ordered level.
//! - **Checkpoint** (the manifest's flushed sequence): see [`choose_checkpoint`].
//! - **Manifest files.** The new manifest is numbered one above every `MANIFEST-*` present.
//!   The old manifests and CURRENT are first copied into `lost/`; the new manifest and CURRENT
//!   are written tmp → fsync → rename → fsync dir, and only then are the old manifests
//!   removed from the dir (the engine would delete them on its next open anyway).
//!
//! Limitation shared with RocksDB: from tables alone, repair cannot tell a leftover compaction
//! input from a live table. When the manifest is lost and such a leftover holds a version of a
//! key whose tombstone a bottom-level compaction already dropped, that key reappears.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use super::compact::{self, CompactOptions, CompactReport};
use crate::engine::{LEVELS, Outcome, RecoveryMode, load_state, recovery};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{self, FileMeta, ManifestState, parse_sst_name, sst_name};
use crate::format::sst::{Compression, Sst};
use crate::format::{current, envelope};
use crate::io::{DirLock, fsync_dir, write_atomic};

/// A table the rebuilt manifest lists.
#[derive(Debug, Clone, Serialize)]
pub struct KeptFile {
    /// The name it will have (after a level change, the new name).
    pub name: String,
    pub level: u8,
    #[serde(flatten)]
    pub meta: FileMeta,
}

/// A table moved (or to be moved) to `lost/`.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantinedFile {
    pub path: PathBuf,
    /// Byte offset of the first damage found (0 when the whole file is refused).
    pub offset: u64,
    pub why: String,
    /// Where it went (after `--apply`).
    pub moved_to: Option<PathBuf>,
}

/// A table that changes level (and so its name).
#[derive(Debug, Clone, Serialize)]
pub struct LevelChange {
    pub from_name: String,
    pub to_name: String,
    pub from_level: u8,
    pub to_level: u8,
    pub why: String,
}

/// What repair found of the old manifest.
#[derive(Debug, Clone, Serialize)]
pub struct OldManifest {
    /// "live" (CURRENT names a readable manifest), "missing" or "unreadable".
    pub status: &'static str,
    /// The manifest CURRENT names, when it could be read.
    pub name: Option<String>,
    /// Why CURRENT or its manifest could not be used.
    pub error: Option<String>,
    /// Every MANIFEST-* file in the dir.
    pub files: Vec<String>,
    pub flushed_seq: Option<u64>,
}

/// What the WAL holds, from a dry-run replay.
#[derive(Debug, Clone, Serialize)]
pub struct WalSummary {
    pub segments: usize,
    pub first_seq: Option<u64>,
    pub max_seq: u64,
    /// Entries above the new checkpoint that the engine will replay on open.
    pub to_replay: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    pub schema: u32,
    pub dir: PathBuf,
    /// False: a plan only, nothing changed.
    pub applied: bool,
    /// The plan changes nothing (healthy dir).
    pub nothing_to_repair: bool,
    pub old_manifest: OldManifest,
    pub kept: Vec<KeptFile>,
    pub quarantined: Vec<QuarantinedFile>,
    /// Tables on disk that the live manifest does not list, moved to lost/.
    pub leftovers: Vec<QuarantinedFile>,
    /// Tables the live manifest lists that are not on disk.
    pub missing: Vec<String>,
    pub level_changes: Vec<LevelChange>,
    /// Files in sst/ that are not named like tables (left alone).
    pub ignored: Vec<PathBuf>,
    pub checkpoint_before: Option<u64>,
    pub checkpoint: u64,
    pub last_seq: u64,
    pub next_file_no: u64,
    #[serde(serialize_with = "manifest::hex")]
    pub history_id: Vec<u8>,
    /// Whether the history id was carried over from an old manifest (else a new one).
    pub history_kept: bool,
    pub wal: WalSummary,
    /// The manifest written (after `--apply` with changes).
    pub new_manifest: Option<String>,
    /// Old manifests and CURRENT, copied into lost/.
    pub saved_to_lost: Vec<PathBuf>,
    /// Whether a full compaction runs (ran) after the rebuild (after level changes).
    pub compaction_needed: bool,
    pub compaction: Option<CompactReport>,
    pub notes: Vec<String>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl RepairReport {
    /// Whether any table left the tree (exit 3 after `--apply`).
    pub fn dropped_data(&self) -> bool {
        !self.quarantined.is_empty() || !self.missing.is_empty()
    }
}

/// A table in sst/ after checking.
#[derive(Debug)]
struct Scanned {
    path: PathBuf,
    file_no: u64,
    check: std::result::Result<FileMeta, (u64, String)>,
}

/// Reads `path` with plain reads (a suspect file must not be mapped) and checks every byte:
/// envelope, footer, index, bloom and properties on open, every data block's checksum, then
/// every entry in order against the properties. Errors that mean "this drkit cannot judge
/// the file" (newer format, I/O) are returned; damage is the inner `Err((offset, why))`.
fn check_table(
    path: &Path,
    level: u8,
    file_no: u64,
) -> Result<std::result::Result<FileMeta, (u64, String)>> {
    let bytes = fs::read(path).at(path)?;
    let damaged = |e: Error| -> Result<std::result::Result<FileMeta, (u64, String)>> {
        match e {
            Error::Corruption { offset, what, .. } => Ok(Err((offset, what))),
            Error::WrongKind { found, .. } => Ok(Err((0, format!("not an SSTable ({found})")))),
            other => Err(other),
        }
    };
    let sst = match Sst::from_bytes(path, bytes) {
        Ok(s) => s,
        Err(e) => return damaged(e),
    };
    if let Some(b) = sst.blocks().into_iter().find(|b| !b.checksum_ok) {
        return Ok(Err((
            b.offset,
            format!("{} block checksum mismatch", b.kind),
        )));
    }
    let props = sst.properties().clone();
    let mut count = 0u64;
    let mut first: Option<Vec<u8>> = None;
    let mut last = Vec::new();
    let (mut min_seq, mut max_seq) = (u64::MAX, 0u64);
    for e in sst.iter_from(None) {
        let e = match e {
            Ok(e) => e,
            Err(err) => return damaged(err),
        };
        count += 1;
        min_seq = min_seq.min(e.seq);
        max_seq = max_seq.max(e.seq);
        if first.is_none() {
            first = Some(e.key.clone());
        }
        last = e.key;
    }
    let agrees = count == props.entries
        && count > 0
        && first.as_deref() == Some(props.smallest.as_slice())
        && last == props.largest
        && min_seq == props.min_seq
        && max_seq == props.max_seq;
    if !agrees {
        return Ok(Err((
            0,
            format!(
                "properties (entries {}, seq {}..={}) disagree with the contents (entries {count}, seq {min_seq}..={max_seq}) or the table is empty",
                props.entries, props.min_seq, props.max_seq
            ),
        )));
    }
    Ok(Ok(FileMeta::from_properties(level, file_no, props)))
}

fn scan_tables(sst_dir: &Path) -> Result<(Vec<Scanned>, Vec<PathBuf>)> {
    let mut named = Vec::new();
    let mut ignored = Vec::new();
    if sst_dir.exists() {
        for e in fs::read_dir(sst_dir).at(sst_dir)? {
            let e = e.at(sst_dir)?;
            let path = e.path();
            match e.file_name().to_str().and_then(parse_sst_name) {
                Some((level, no)) if path.is_file() => named.push((path, level, no)),
                _ => ignored.push(path),
            }
        }
    }
    named.sort_by_key(|(_, level, no)| (*no, *level));
    ignored.sort();
    // Each table is read whole and checked: in parallel, since that is all of the data.
    let scanned = named
        .into_par_iter()
        .map(|(path, level, no)| {
            let check = check_table(&path, level, no)?;
            Ok(Scanned {
                path,
                file_no: no,
                check,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((scanned, ignored))
}

/// Every `MANIFEST-NNNNNN` in `dir`, by number.
fn manifest_files(dir: &Path) -> Result<BTreeMap<u64, PathBuf>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        if let Some(no) = e
            .file_name()
            .to_str()
            .and_then(manifest::parse_manifest_name)
        {
            out.insert(no, e.path());
        }
    }
    Ok(out)
}

/// The newest manifest file that decodes, for its history id and flushed sequence when
/// CURRENT cannot be trusted.
fn newest_readable_manifest(files: &BTreeMap<u64, PathBuf>) -> Option<ManifestState> {
    files.values().rev().find_map(|p| {
        let bytes = fs::read(p).ok()?;
        let log = manifest::decode(p, &bytes).ok()?;
        manifest::replay(p, &log).ok()
    })
}

/// The checkpoint (flushed sequence) of the rebuilt manifest: the engine replays WAL entries
/// above it and skips those at or below it as already in the tables.
///
/// Any value `c` with `wal_first - 1 <= c <= true checkpoint` is correct:
/// - it is at or below the true checkpoint, so no entry that only the WAL holds is skipped;
/// - the WAL holds every entry from its first segment on (segments are removed only when
///   every entry in them is at or below the checkpoint, oldest first, and recovery reports a
///   gap in the middle), so every entry above `c` is replayed in sequence order and the
///   memtable ends up with each replayed key's newest version: re-applying an entry that is
///   also in a table is harmless.
///
/// The largest `max_seq` over the kept tables is at or below the true checkpoint because
/// flushes happen in sequence order (a frozen memtable holds exactly the sequences up to its
/// last one, flushed oldest first) and compaction only rewrites flushed entries: a table
/// holding sequence S means every sequence up to S was flushed. That is the default. It is
/// raised to `wal_first - 1` when the tables end lower (the last entries before the WAL's
/// start were checkpoint markers or tombstones a compaction dropped), since replay would
/// otherwise report the entries in between as missing. When tables were quarantined, their
/// entries may still be in the WAL, so the lowest correct value, `wal_first - 1`, is used
/// to replay all of it.
fn choose_checkpoint(max_table_seq: u64, wal_first: Option<u64>, quarantined: bool) -> u64 {
    match wal_first {
        Some(first) if quarantined => first.saturating_sub(1),
        Some(first) => max_table_seq.max(first.saturating_sub(1)),
        None => max_table_seq,
    }
}

/// Marks every table of level >= 1 that overlaps another table of its level.
fn overlapping_on_level(files: &[FileMeta]) -> BTreeSet<u64> {
    let mut by_level: BTreeMap<u8, Vec<&FileMeta>> = BTreeMap::new();
    for f in files.iter().filter(|f| f.level >= 1) {
        by_level.entry(f.level).or_default().push(f);
    }
    let mut out = BTreeSet::new();
    for level in by_level.values_mut() {
        level.sort_by(|a, b| a.smallest.cmp(&b.smallest));
        for (i, a) in level.iter().enumerate() {
            for b in level.iter().skip(i + 1) {
                if b.smallest > a.largest {
                    break;
                }
                out.insert(a.file_no);
                out.insert(b.file_no);
            }
        }
    }
    out
}

/// The full plan, with what `apply` needs to carry it out.
#[derive(Debug)]
struct Planned {
    report: RepairReport,
    state: ManifestState,
    manifest_no: u64,
    old_manifests: BTreeMap<u64, PathBuf>,
}

fn make_plan(dir: &Path) -> Result<Planned> {
    let started = Instant::now();
    let sst_dir = dir.join("sst");
    let old_manifests = manifest_files(dir)?;
    let (old_state, old_manifest) = read_old_manifest(dir, &old_manifests);
    let (scanned, ignored) = scan_tables(&sst_dir)?;
    let max_file_no = scanned.iter().map(|s| s.file_no).max().unwrap_or(0);
    let (good, quarantined) = sort_scanned(scanned);
    let (mut files, leftovers, missing) = match &old_state {
        Some(st) => against_live_manifest(st, good, &quarantined, &sst_dir),
        None => (
            good.into_iter().map(|(_, m)| m).collect(),
            Vec::new(),
            Vec::new(),
        ),
    };
    let level_changes = fix_levels(&mut files);

    let mut notes = Vec::new();
    let wal_segments = recovery::list_segments(&dir.join("wal"))?;
    let wal_first = wal_segments.first().map(|(first, _)| *first);
    let max_table_seq = files.iter().map(|f| f.max_seq).max().unwrap_or(0);
    let scanned_manifest = match &old_state {
        Some(_) => None,
        None => newest_readable_manifest(&old_manifests),
    };
    let checkpoint = match &old_state {
        // A readable manifest's own checkpoint was exact when it was written.
        Some(st) => st.flushed_seq,
        None => choose_checkpoint(max_table_seq, wal_first, !quarantined.is_empty()),
    };
    let wal = summarize_wal(dir, wal_segments.len(), wal_first, checkpoint, &mut notes)?;

    let prior = old_state.as_ref().or(scanned_manifest.as_ref());
    let (history_id, history_kept) = match prior {
        Some(st) => (st.history_id, true),
        None => (rand::random::<[u8; 16]>(), false),
    };
    let last_seq = [
        checkpoint,
        max_table_seq,
        wal.max_seq,
        prior.map_or(0, |s| s.last_seq),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let next_file_no = (max_file_no + 1).max(prior.map_or(1, |s| s.next_file_no));
    let state = ManifestState {
        history_id,
        flushed_seq: checkpoint,
        next_file_no,
        last_seq,
        files: files.iter().map(|f| (f.file_no, f.clone())).collect(),
        cluster_state: prior.and_then(|s| s.cluster_state.clone()),
    };
    if let Some(st) = &scanned_manifest
        && st.flushed_seq > checkpoint
    {
        notes.push(format!(
            "an unlisted manifest recorded checkpoint {}, above the rebuilt {checkpoint}: WAL entries in between replay again (harmless)",
            st.flushed_seq
        ));
    }
    let nothing_to_repair = old_state.is_some()
        && quarantined.is_empty()
        && leftovers.is_empty()
        && missing.is_empty()
        && level_changes.is_empty();
    let report = RepairReport {
        schema: 1,
        dir: dir.to_path_buf(),
        applied: false,
        nothing_to_repair,
        checkpoint_before: old_state.as_ref().map(|s| s.flushed_seq),
        old_manifest,
        kept: files
            .iter()
            .map(|f| KeptFile {
                name: f.file_name(),
                level: f.level,
                meta: f.clone(),
            })
            .collect(),
        quarantined,
        leftovers,
        missing,
        compaction_needed: !level_changes.is_empty(),
        level_changes,
        ignored,
        checkpoint,
        last_seq,
        next_file_no,
        history_id: history_id.to_vec(),
        history_kept,
        wal,
        new_manifest: None,
        saved_to_lost: Vec::new(),
        compaction: None,
        notes,
        duration: started.elapsed(),
    };
    Ok(Planned {
        report,
        state,
        manifest_no: old_manifests.keys().next_back().map_or(1, |n| n + 1),
        old_manifests,
    })
}

/// The state CURRENT's manifest holds, if it reads, and what to report of it.
fn read_old_manifest(
    dir: &Path,
    old_manifests: &BTreeMap<u64, PathBuf>,
) -> (Option<ManifestState>, OldManifest) {
    match load_state(dir) {
        Ok((state, no)) => {
            let m = OldManifest {
                status: "live",
                name: Some(manifest::manifest_name(no)),
                error: None,
                files: names(old_manifests),
                flushed_seq: Some(state.flushed_seq),
            };
            (Some(state), m)
        }
        Err(e) => {
            let missing = !dir.join("CURRENT").exists();
            let m = OldManifest {
                status: if missing { "missing" } else { "unreadable" },
                name: None,
                error: Some(e.to_string()),
                files: names(old_manifests),
                flushed_seq: None,
            };
            (None, m)
        }
    }
}

/// Splits the checked tables into readable ones and ones for lost/: damaged, or a second
/// table with a number already kept (numbers are unique across levels, so such a copy is
/// one nobody can reference).
fn sort_scanned(scanned: Vec<Scanned>) -> (Vec<(PathBuf, FileMeta)>, Vec<QuarantinedFile>) {
    let mut quarantined = Vec::new();
    let mut good = Vec::new();
    let mut seen_no = BTreeSet::new();
    for s in scanned {
        let (offset, why) = match s.check {
            Err(damage) => damage,
            Ok(_) if seen_no.contains(&s.file_no) => (
                0,
                format!(
                    "a table with file number {} is already kept on another level",
                    s.file_no
                ),
            ),
            Ok(meta) => {
                seen_no.insert(s.file_no);
                good.push((s.path, meta));
                continue;
            }
        };
        quarantined.push(QuarantinedFile {
            path: s.path,
            offset,
            why,
            moved_to: None,
        });
    }
    (good, quarantined)
}

/// With a readable live manifest, it decides what is live (see the module docs): returns
/// the tables it lists that are on disk at their level, the leftovers it does not list, and
/// the names of the tables it lists that are neither on disk nor quarantined.
fn against_live_manifest(
    st: &ManifestState,
    good: Vec<(PathBuf, FileMeta)>,
    quarantined: &[QuarantinedFile],
    sst_dir: &Path,
) -> (Vec<FileMeta>, Vec<QuarantinedFile>, Vec<String>) {
    let mut files = Vec::new();
    let mut leftovers = Vec::new();
    for (path, meta) in good {
        match st.files.get(&meta.file_no) {
            Some(listed) if listed.level == meta.level => files.push(listed.clone()),
            _ => leftovers.push(QuarantinedFile {
                path,
                offset: 0,
                why: "not in the live manifest: left over from an interrupted flush or compaction"
                    .into(),
                moved_to: None,
            }),
        }
    }
    let kept: BTreeSet<u64> = files.iter().map(|f| f.file_no).collect();
    let bad: BTreeSet<&Path> = quarantined.iter().map(|q| q.path.as_path()).collect();
    let missing = st
        .files
        .values()
        .filter(|f| {
            !kept.contains(&f.file_no) && !bad.contains(sst_dir.join(f.file_name()).as_path())
        })
        .map(|f| f.file_name())
        .collect();
    (files, leftovers, missing)
}

/// Moves to L0 every table on a level that does not exist or overlapping another table of
/// its level (L1 and deeper must not overlap); returns the changes, and leaves `files`
/// sorted by level and number.
fn fix_levels(files: &mut [FileMeta]) -> Vec<LevelChange> {
    let mut level_changes = Vec::new();
    let conflicts = overlapping_on_level(files);
    for f in files.iter_mut() {
        let why = if usize::from(f.level) >= LEVELS {
            format!("level {} is beyond the last level {}", f.level, LEVELS - 1)
        } else if conflicts.contains(&f.file_no) {
            format!(
                "its key range overlaps another table on L{}, which L1 and deeper do not allow",
                f.level
            )
        } else {
            continue;
        };
        level_changes.push(LevelChange {
            from_name: f.file_name(),
            to_name: sst_name(0, f.file_no),
            from_level: f.level,
            to_level: 0,
            why,
        });
        f.level = 0;
    }
    files.sort_by_key(|f| (f.level, f.file_no));
    level_changes
}

/// What a replay from `checkpoint` would find in the WAL (read only); a damaged WAL adds a
/// note, since repair does not touch it.
fn summarize_wal(
    dir: &Path,
    segments: usize,
    first_seq: Option<u64>,
    checkpoint: u64,
    notes: &mut Vec<String>,
) -> Result<WalSummary> {
    let noop = |_: u64, _: u64| {};
    let replay = recovery::replay(dir, checkpoint, RecoveryMode::TolerateTail, true, &noop)?;
    let wal = WalSummary {
        segments,
        first_seq,
        max_seq: replay.report.max_seen_seq,
        to_replay: replay.report.replayed,
        outcome: replay.report.outcome,
    };
    if matches!(wal.outcome, Outcome::Refused | Outcome::DataDropped) {
        notes.push(format!(
            "the WAL is damaged ({} finding(s)); repair does not touch it: run `drkit recover DIR --dry-run` next",
            replay.report.findings.len()
        ));
    }
    Ok(wal)
}

fn names(files: &BTreeMap<u64, PathBuf>) -> Vec<String> {
    files.keys().map(|n| manifest::manifest_name(*n)).collect()
}

/// Checks that `dir` can be repaired and takes its exclusive lock (exit 11 while the engine
/// or another tool has it).
fn lock_dir(dir: &Path) -> Result<DirLock> {
    if !dir.exists() {
        return Err(Error::NotFound {
            path: dir.to_path_buf(),
            hint: "check the path of the data dir".into(),
        });
    }
    if !dir.is_dir() {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "it is a file; give the data directory".into(),
        });
    }
    let looks_like_data = ["sst", "wal", "CURRENT"]
        .iter()
        .any(|n| dir.join(n).exists())
        || !manifest_files(dir)?.is_empty();
    if !looks_like_data {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "no sst/, wal/, CURRENT or MANIFEST-* in it".into(),
        });
    }
    DirLock::acquire(dir)
}

/// The repair plan for `dir`: reads every table and the WAL, changes nothing (the LOCK file
/// aside: the exclusive lock is taken so the plan is not made under a running engine).
pub fn plan(dir: &Path) -> Result<RepairReport> {
    let _lock = lock_dir(dir)?;
    Ok(make_plan(dir)?.report)
}

/// A free name in `lost/` for `name`.
fn lost_target(lost: &Path, name: &str) -> PathBuf {
    let mut target = lost.join(name);
    let mut n = 1;
    while target.exists() {
        target = lost.join(format!("{name}.{n}"));
        n += 1;
    }
    target
}

fn move_to_lost(lost: &Path, path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("unnamed");
    let target = lost_target(lost, name);
    fs::rename(path, &target).at(path)?;
    Ok(target)
}

/// Makes the plan and carries it out. Re-running after a crash at any step is safe: every
/// step is a rename or an atomic write, and the plan is made again from what is on disk.
pub fn apply(dir: &Path) -> Result<RepairReport> {
    let started = Instant::now();
    let lock = lock_dir(dir)?;
    let Planned {
        mut report,
        state,
        manifest_no,
        old_manifests,
    } = make_plan(dir)?;
    report.applied = true;
    if report.nothing_to_repair {
        return Ok(report);
    }
    let lost = dir.join("lost");
    let sst_dir = dir.join("sst");
    fs::create_dir_all(&lost).at(&lost)?;
    fs::create_dir_all(&sst_dir).at(&sst_dir)?;
    fs::create_dir_all(dir.join("wal")).at(dir)?;

    // 1. Tables out of the tree go to lost/ (renames: the bytes are kept).
    for q in report
        .quarantined
        .iter_mut()
        .chain(report.leftovers.iter_mut())
    {
        q.moved_to = Some(move_to_lost(&lost, &q.path)?);
    }
    // 2. Level changes are renames within sst/, since a table's name carries its level.
    for c in &report.level_changes {
        let from = sst_dir.join(&c.from_name);
        let to = sst_dir.join(&c.to_name);
        if to.exists() {
            return Err(Error::InvalidInput(format!(
                "{}: cannot move {} to L0, the name is taken; move one of them aside and re-run `drkit repair`",
                to.display(),
                from.display()
            )));
        }
        fs::rename(&from, &to).at(&from)?;
    }
    fsync_dir(&sst_dir)?;

    // 3. Keep the old manifests and CURRENT (copies in lost/), before anything replaces them.
    let current_path = dir.join("CURRENT");
    let mut to_save: Vec<PathBuf> = old_manifests.values().cloned().collect();
    if current_path.exists() {
        to_save.push(current_path.clone());
    }
    for p in &to_save {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("unnamed");
        let target = lost_target(&lost, name);
        let bytes = fs::read(p).at(p)?;
        write_atomic(&target, &bytes)?;
        report.saved_to_lost.push(target);
    }
    fsync_dir(&lost)?;

    // 4. The new manifest, then CURRENT naming it: each tmp → fsync → rename → fsync dir, so
    // a crash leaves either the old CURRENT or the new one, each naming a complete manifest.
    let name = manifest::manifest_name(manifest_no);
    let mut bytes = envelope::encode(envelope::Kind::Manifest).to_vec();
    manifest::encode_record(&state.snapshot_edit(), &mut bytes);
    write_atomic(&dir.join(&name), &bytes)?;
    write_atomic(&current_path, current::encode(&name).as_bytes())?;
    report.new_manifest = Some(name);

    // 5. The old manifests are in lost/; remove them from the dir as the engine would.
    for p in old_manifests.values() {
        fs::remove_file(p).at(p)?;
    }
    fsync_dir(dir)?;

    // 6. After level changes, merge by sequence number so level order holds again.
    if report.compaction_needed {
        // The engine takes the lock itself; between the two another opener could slip in,
        // which is harmless: the manifest is complete and consistent at this point.
        drop(lock);
        let noop = |_: u64, _: u64| {};
        let compacted = compact::run(
            dir,
            CompactOptions {
                level: None,
                threads: compact::default_threads(),
                compression: Compression::default(),
            },
            &noop,
        )
        .map_err(|e| {
            Error::InvalidInput(format!(
                "the manifest was rebuilt ({}), but the compaction after moving tables to L0 failed: {e}; fix that, then run `drkit compact {}`",
                report.new_manifest.as_deref().unwrap_or_default(),
                dir.display()
            ))
        })?;
        report.compaction = Some(compacted);
    }
    report.duration = started.elapsed();
    Ok(report)
}
