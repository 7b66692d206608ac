//! `drkit verify`: reads every byte of a data dir and checks it, changing nothing.
//!
//! What is checked, per file kind:
//! - CURRENT decodes and names a manifest that exists.
//! - The manifest: envelope, every record checksum, every edit decodes and replays; a torn
//!   final record is told apart from damage (see [`classify_manifest_tail`]).
//! - Every SSTable, listed or not: envelope, footer, index/bloom/properties blocks and every
//!   data block checksum, every entry decoded, and the properties against what the data blocks
//!   hold and against the manifest's `FileMeta`. Files are read with plain reads
//!   (`fs::read`), never mapped: a suspect file may be truncated under us.
//! - The manifest against the files: listed but missing, present but not listed (orphans),
//!   overlapping key ranges within a level >= 1, sequence ranges (L0 disjoint, every table at
//!   or below the checkpoint).
//! - The WAL: envelope and every fragment checksum of every segment and the continuity of
//!   sequences across segments, through recovery's own dry-run walk (`recovery::replay`), so
//!   verify and recover can never disagree about what is damage.
//! - Snapshots: checksum and framing of each (see [`check_snapshots`]).
//!
//! Like ripgrep, a problem in one file does not stop the others: each becomes a [`Finding`],
//! and the caller decides the exit status from the whole report. Only problems with the dir
//! itself (missing, locked) are errors of the call.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::recovery::{self, FindingKind};
use crate::engine::{LEVELS, RecoveryMode};
use crate::error::{Error, Result};
use crate::format::envelope::{self, Kind};
use crate::format::manifest::{self, FileMeta, ManifestState};
use crate::format::sst::{Sst, ValueKind};
use crate::format::wal::{self, BLOCK_SIZE};
use crate::format::{Cursor, current, masked_crc};
use crate::io::SharedLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Damage or an inconsistency: verify exits 4.
    Error,
    /// The normal leftovers of a crash or an interrupted job (a torn WAL tail, an orphan
    /// table); the dir is usable as it is.
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub file: PathBuf,
    /// Byte offset of the damaged unit: the SST block, the WAL fragment, the manifest record,
    /// the CURRENT line; 0 for a problem with the file as a whole.
    pub offset: u64,
    pub what: String,
    /// The command (or action) that addresses it.
    pub fix: String,
}

/// What was read and checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub files: u64,
    pub sst_files: u64,
    pub wal_segments: u64,
    pub manifest_records: u64,
    pub snapshots: u64,
    /// SST blocks (data, index, bloom, properties) and WAL 32 KiB blocks.
    pub blocks: u64,
    /// Entries decoded: SST entries and WAL entries.
    pub entries: u64,
    pub bytes_read: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.files += o.files;
        self.sst_files += o.sst_files;
        self.wal_segments += o.wal_segments;
        self.manifest_records += o.manifest_records;
        self.snapshots += o.snapshots;
        self.blocks += o.blocks;
        self.entries += o.entries;
        self.bytes_read += o.bytes_read;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub dir: PathBuf,
    pub counts: Counts,
    /// Sorted by file, then offset.
    pub findings: Vec<Finding>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl VerifyReport {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    pub fn first_error(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.severity == Severity::Error)
    }

    pub fn mb_per_sec(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s == 0.0 {
            0.0
        } else {
            self.counts.bytes_read as f64 / 1e6 / s
        }
    }
}

/// Fix commands, with the dir filled in so they can be pasted.
struct Fixes {
    recover: String,
    skip_corrupted: String,
    point_in_time: String,
    repair: String,
    restore: &'static str,
    prune_snapshots: String,
}

impl Fixes {
    fn new(dir: &Path) -> Fixes {
        let d = dir.display();
        Fixes {
            recover: format!("drkit recover {d}"),
            prune_snapshots: format!(
                "drkit snapshot prune {d} (recovery already skips a damaged snapshot and replays the WAL)"
            ),
            skip_corrupted: format!(
                "drkit recover {d} --mode skip-corrupted (damaged bytes go to lost/), or restore from backup"
            ),
            point_in_time: format!(
                "restore from backup, or `drkit recover {d} --mode point-in-time` to keep what precedes the gap"
            ),
            repair: format!("drkit repair {d}"),
            restore: "restore from backup",
        }
    }

    fn sst(&self) -> String {
        format!(
            "restore from backup (or `{}` to rebuild the tree without this table)",
            self.repair
        )
    }
}

/// Collects findings; one per problem.
struct Out<'a> {
    fixes: &'a Fixes,
    findings: Vec<Finding>,
    counts: Counts,
}

impl<'a> Out<'a> {
    fn new(fixes: &'a Fixes) -> Out<'a> {
        Out {
            fixes,
            findings: Vec::new(),
            counts: Counts::default(),
        }
    }

    fn push(
        &mut self,
        severity: Severity,
        file: &Path,
        offset: u64,
        what: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            file: file.to_path_buf(),
            offset,
            what: what.into(),
            fix: fix.into(),
        });
    }

    fn merge(&mut self, other: Out<'_>) {
        self.findings.extend(other.findings);
        self.counts.add(&other.counts);
    }
}

/// Where in its file an error from a decoder points, and what it says without the path
/// (the finding carries the path).
fn locate(e: &Error) -> (u64, String) {
    match e {
        Error::Corruption { offset, what, .. } => (*offset, what.clone()),
        Error::WrongKind {
            expected, found, ..
        } => (0, format!("is a {found} file, expected a {expected} file")),
        Error::NewerVersion {
            found, supported, ..
        } => (
            8,
            format!(
                "format version {found} is newer than this drkit understands (max {supported})"
            ),
        ),
        Error::UnknownFeatures { flags, .. } => (
            10,
            format!("uses must-understand features {flags:#06x} this drkit does not know"),
        ),
        Error::Io { source, .. } => (0, format!("cannot read: {source}")),
        other => (0, other.to_string()),
    }
}

/// Checks every file of `dir` and returns what it found. Fails only when the dir itself
/// cannot be checked: missing (exit 10), not a data dir (10), or an engine holds it (11).
/// Writes nothing, creates nothing; the shared lock keeps an engine from starting meanwhile.
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    let started = Instant::now();
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
    let looks_like_data_dir = ["CURRENT", "wal", "sst"]
        .iter()
        .any(|n| dir.join(n).exists())
        || manifests_in(dir).next().is_some();
    if !looks_like_data_dir {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "no CURRENT, MANIFEST, wal/ or sst/".into(),
        });
    }
    let _lock = SharedLock::acquire(dir)?;
    let mut report = verify_unlocked(dir)?;
    report.duration = started.elapsed();
    Ok(report)
}

/// [`verify`] without the dir's shared lock, for `doctor`, which must look at a running
/// engine's dir too: a file the engine retires during the walk may show up as missing.
pub fn verify_unlocked(dir: &Path) -> Result<VerifyReport> {
    let started = Instant::now();
    let fixes = Fixes::new(dir);
    let mut out = Out::new(&fixes);
    let manifest = check_manifest(dir, &mut out);
    // Damage here loses nothing (the engine then keeps every segment), but the WAL grows
    // until the archiver rewrites it: worth a warning, not an error.
    if let crate::format::archive_status::Hold::Unreadable(what) =
        crate::format::archive_status::read(dir)
    {
        out.push(
            Severity::Warning,
            &dir.join(crate::format::archive_status::FILE_NAME),
            0,
            format!("WAL archive status unreadable, so the engine keeps every WAL segment: {what}"),
            "run `drkit wal archive --repo R --data DIR` (it rewrites the file), or `--disable` to turn archiving off",
        );
    }

    let (sst_out, ((wal_out, wal_gap), snap_out)) = rayon::join(
        || check_ssts(dir, manifest.as_ref(), &fixes),
        || {
            rayon::join(
                || check_wal(dir, manifest.as_ref(), &fixes),
                || check_snapshots(dir, &fixes),
            )
        },
    );
    // A torn manifest tail is benign only if the edit in it was never acted on. Flushes
    // retire WAL segments only after their edit is durable, so a gap in the WAL right after
    // the manifest's checkpoint means records were lost (a truncated or damaged manifest),
    // not an append cut by a crash.
    if wal_gap
        && let Some(torn) = out.findings.iter_mut().find(|f| {
            f.severity == Severity::Warning
                && f.file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(manifest::parse_manifest_name)
                    .is_some()
        })
    {
        torn.severity = Severity::Error;
        torn.what = "manifest ends in an incomplete record, and the WAL no longer holds the \
                     entries after the checkpoint it records: edits were lost with it (truncated \
                     or damaged), not cut by a crash"
            .to_string();
        torn.fix = fixes.repair.clone();
    }
    out.merge(sst_out);
    out.merge(wal_out);
    out.merge(snap_out);

    let mut findings = out.findings;
    findings.sort_by(|a, b| (&a.file, a.offset, a.severity).cmp(&(&b.file, b.offset, b.severity)));
    Ok(VerifyReport {
        dir: dir.to_path_buf(),
        counts: out.counts,
        findings,
        duration: started.elapsed(),
    })
}

fn manifests_in(dir: &Path) -> impl Iterator<Item = (u64, PathBuf)> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let no = e
                .file_name()
                .to_str()
                .and_then(manifest::parse_manifest_name)?;
            Some((no, e.path()))
        })
}

// ---------------------------------------------------------------------------------------------
// CURRENT and the manifest

/// The manifest as far as it could be trusted for the cross-checks.
struct ManifestInfo {
    path: PathBuf,
    state: ManifestState,
    /// Offset of the record that (last) added each file number, for findings about it.
    added_at: BTreeMap<u64, u64>,
}

/// Checks CURRENT and the manifest; returns the replayed state when every record decoded
/// (a damaged manifest cannot say which files should exist, so no cross-check uses it).
fn check_manifest(dir: &Path, out: &mut Out<'_>) -> Option<ManifestInfo> {
    let current_path = dir.join("CURRENT");
    let repair = out.fixes.repair.clone();
    let named = match fs::read(&current_path) {
        Ok(bytes) => {
            out.counts.files += 1;
            out.counts.bytes_read += bytes.len() as u64;
            match current::decode(&current_path, &bytes) {
                Ok(name) => {
                    let path = dir.join(&name);
                    if path.is_file() {
                        Some(path)
                    } else {
                        // The name starts on the second line.
                        let at = bytes.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
                        out.push(
                            Severity::Error,
                            &current_path,
                            at as u64,
                            format!("CURRENT names {name}, which does not exist"),
                            repair.clone(),
                        );
                        None
                    }
                }
                Err(e) => {
                    let (offset, what) = locate(&e);
                    out.push(Severity::Error, &current_path, offset, what, repair.clone());
                    None
                }
            }
        }
        Err(e) => {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                "CURRENT is missing".to_string()
            } else {
                format!("cannot read: {e}")
            };
            out.push(Severity::Error, &current_path, 0, what, repair.clone());
            None
        }
    };
    // Without a usable CURRENT, the newest manifest is still checked record by record (it
    // is what `repair` would start from), but its state is not trusted for cross-checks.
    let (path, mut trusted) = match named {
        Some(p) => (p, true),
        None => match manifests_in(dir).max() {
            Some((_, p)) => (p, false),
            None => return None,
        },
    };
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            out.push(
                Severity::Error,
                &path,
                0,
                format!("cannot read: {e}"),
                repair,
            );
            return None;
        }
    };
    out.counts.files += 1;
    out.counts.bytes_read += bytes.len() as u64;
    let log = match manifest::decode(&path, &bytes) {
        Ok(log) => log,
        Err(e) => {
            let (offset, what) = locate(&e);
            out.push(Severity::Error, &path, offset, what, repair);
            return None;
        }
    };
    out.counts.manifest_records += log.edits.len() as u64;
    if let Some(at) = log.torn_tail_at {
        match classify_manifest_tail(&bytes, at) {
            TailKind::Torn => out.push(
                Severity::Warning,
                &path,
                at,
                "final record cut short by a crash during its append (never acted on; ignored)",
                format!(
                    "{} (opening the dir rewrites the manifest without it)",
                    out.fixes.recover
                ),
            ),
            TailKind::Damaged(what) => {
                // Records after the damage were skipped: the state is incomplete.
                trusted = false;
                out.push(Severity::Error, &path, at, what, repair.clone());
            }
        }
    }
    let state = match manifest::replay(&path, &log) {
        Ok(s) => s,
        Err(e) => {
            let (offset, what) = locate(&e);
            out.push(Severity::Error, &path, offset, what, repair);
            return None;
        }
    };
    let mut added_at = BTreeMap::new();
    for (at, edit) in &log.edits {
        for f in &edit.added {
            added_at.insert(f.file_no, *at);
        }
    }
    let info = ManifestInfo {
        path,
        state,
        added_at,
    };
    if trusted {
        check_tree_shape(&info, out);
        Some(info)
    } else {
        None
    }
}

#[derive(Debug, PartialEq, Eq)]
enum TailKind {
    Torn,
    Damaged(String),
}

/// `manifest::decode` ignores a final record that runs past the end of the file or fails
/// its checksum, as an append cut by a crash. A crash cuts an append short; it does not
/// leave a complete record with the wrong bytes, and it leaves nothing valid after the cut.
/// So the tail at `at` is damage, not a torn append, when:
/// - the record is complete (its length fits the file) but fails its checksum;
/// - the payload that is there checksums (only the length field is wrong);
/// - a complete, checksum-valid record starts anywhere after `at` (a damaged length field
///   made the reader skip records that were there).
fn classify_manifest_tail(bytes: &[u8], at: u64) -> TailKind {
    let tail = usize::try_from(at)
        .ok()
        .and_then(|at| bytes.get(at..))
        .unwrap_or_default();
    let mut c = Cursor::new(tail);
    let (Some(len), Some(crc)) = (c.u32(), c.u32()) else {
        return TailKind::Torn;
    };
    let available = c.rest();
    if available.len() as u64 >= u64::from(len) {
        return TailKind::Damaged(
            "final record is complete but fails its checksum (damage, not a torn append)".into(),
        );
    }
    if masked_crc(&[available]) == crc {
        return TailKind::Damaged(format!(
            "record length {len} runs past the end of the file, but the {} bytes after the \
             header checksum: the length field is damaged",
            available.len()
        ));
    }
    for p in 1..tail.len() {
        if let Some(rest) = tail.get(p..)
            && let Some(next) = valid_record_at(rest)
        {
            return TailKind::Damaged(format!(
                "record at offset {at} claims {len} bytes past the end of the file, but a valid \
                 record follows at offset {}: a damaged length field hides the records after it \
                 ({next} bytes)",
                at + p as u64
            ));
        }
    }
    TailKind::Torn
}

/// Payload length of a complete record with a matching checksum at the start of `bytes`.
fn valid_record_at(bytes: &[u8]) -> Option<usize> {
    let mut c = Cursor::new(bytes);
    let len = c.u32()? as usize;
    let crc = c.u32()?;
    // An empty payload is an empty version edit, which the engine never writes; accepting it
    // would let 8 stray bytes pose as a record.
    if len == 0 {
        return None;
    }
    let payload = c.take(len)?;
    (masked_crc(&[payload]) == crc).then_some(len)
}

/// Cross-checks of the manifest's state alone: levels, key ranges, sequence ranges.
fn check_tree_shape(m: &ManifestInfo, out: &mut Out<'_>) {
    let at = |f: &FileMeta| m.added_at.get(&f.file_no).copied().unwrap_or(0);
    let repair = out.fixes.repair.clone();
    let mut levels: Vec<Vec<&FileMeta>> = vec![Vec::new(); LEVELS];
    for f in m.state.files.values() {
        match levels.get_mut(usize::from(f.level)) {
            Some(l) => l.push(f),
            None => out.push(
                Severity::Error,
                &m.path,
                at(f),
                format!(
                    "{} is placed at level {}, beyond the last level {}",
                    f.file_name(),
                    f.level,
                    LEVELS - 1
                ),
                repair.clone(),
            ),
        }
        if f.min_seq > f.max_seq {
            out.push(
                Severity::Error,
                &m.path,
                at(f),
                format!(
                    "{}: min seq {} is above max seq {}",
                    f.file_name(),
                    f.min_seq,
                    f.max_seq
                ),
                repair.clone(),
            );
        }
        // Tables hold flushed data only; a sequence above the checkpoint means new writes
        // could be given sequences the table already uses, and lose to it.
        if f.max_seq > m.state.flushed_seq {
            out.push(
                Severity::Error,
                &m.path,
                at(f),
                format!(
                    "{} holds sequences up to {}, above the flushed sequence {}",
                    f.file_name(),
                    f.max_seq,
                    m.state.flushed_seq
                ),
                repair.clone(),
            );
        }
    }
    // L0 files are flushes of successive memtables: their sequence ranges never overlap,
    // and reads rely on that to order them newest first.
    let mut l0 = levels.first().cloned().unwrap_or_default();
    l0.sort_by_key(|f| (f.min_seq, f.max_seq));
    for w in l0.windows(2) {
        if let [a, b] = w
            && b.min_seq <= a.max_seq
        {
            out.push(
                Severity::Error,
                &m.path,
                at(b).max(at(a)),
                format!(
                    "L0 tables {} (seq {}..={}) and {} (seq {}..={}) overlap in sequence",
                    a.file_name(),
                    a.min_seq,
                    a.max_seq,
                    b.file_name(),
                    b.min_seq,
                    b.max_seq
                ),
                repair.clone(),
            );
        }
    }
    // Below L0 a key lives in at most one table per level; lookups binary-search on it.
    for (level, files) in levels.iter_mut().enumerate().skip(1) {
        files.sort_by(|a, b| a.smallest.cmp(&b.smallest));
        for w in files.windows(2) {
            if let [a, b] = w
                && b.smallest <= a.largest
            {
                out.push(
                    Severity::Error,
                    &m.path,
                    at(b).max(at(a)),
                    format!(
                        "L{level} tables {} and {} overlap in key range",
                        a.file_name(),
                        b.file_name()
                    ),
                    repair.clone(),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SSTables

fn check_ssts<'a>(dir: &Path, m: Option<&ManifestInfo>, fixes: &'a Fixes) -> Out<'a> {
    let sst_dir = dir.join("sst");
    let mut on_disk: BTreeSet<PathBuf> = BTreeSet::new();
    let mut out = Out::new(fixes);
    match fs::read_dir(&sst_dir) {
        Ok(rd) => {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "sst") {
                    on_disk.insert(e.path());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => out.push(
            Severity::Error,
            &sst_dir,
            0,
            format!("cannot list: {e}"),
            fixes.restore,
        ),
    }
    // Listed files first (with their metadata), then the ones only on disk.
    let mut jobs: Vec<(PathBuf, Option<&FileMeta>)> = Vec::new();
    if let Some(m) = m {
        for f in m.state.files.values() {
            let p = sst_dir.join(f.file_name());
            on_disk.remove(&p);
            jobs.push((p, Some(f)));
        }
    }
    jobs.extend(on_disk.into_iter().map(|p| (p, None)));
    // Largest first would balance better, but sizes cost a stat each; tables are similar.
    let results: Vec<Out<'a>> = jobs
        .par_iter()
        .map(|(path, meta)| {
            let mut o = Out::new(fixes);
            check_sst(path, *meta, m, &mut o);
            o
        })
        .collect();
    for r in results {
        out.merge(r);
    }
    out
}

fn check_sst(path: &Path, meta: Option<&FileMeta>, m: Option<&ManifestInfo>, out: &mut Out<'_>) {
    let fixes = out.fixes;
    // A table the manifest does not list is not part of the tree: its damage loses nothing.
    let orphan = m.is_some() && meta.is_none();
    let severity = if orphan {
        Severity::Warning
    } else {
        Severity::Error
    };
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let (what, fix) = match (e.kind(), m) {
                (std::io::ErrorKind::NotFound, Some(m)) => (
                    format!(
                        "listed in {} (record at offset {}) but the file is missing",
                        m.path.display(),
                        meta.and_then(|f| m.added_at.get(&f.file_no)).unwrap_or(&0)
                    ),
                    format!(
                        "restore from backup, or `{}` to drop it from the tree",
                        fixes.repair
                    ),
                ),
                _ => (format!("cannot read: {e}"), fixes.sst()),
            };
            out.push(Severity::Error, path, 0, what, fix);
            return;
        }
    };
    let len = bytes.len() as u64;
    out.counts.files += 1;
    out.counts.sst_files += 1;
    out.counts.bytes_read += len;
    if orphan {
        out.push(
            Severity::Warning,
            path,
            0,
            "not listed in the manifest (a leftover of an interrupted flush, compaction or repair)",
            format!("{} (or remove it once no backup needs it)", fixes.repair),
        );
    }
    let sst = match Sst::from_bytes(path, bytes) {
        Ok(s) => s,
        Err(e) => {
            let (offset, what) = locate(&e);
            out.push(severity, path, offset, what, fixes.sst());
            return;
        }
    };
    let blocks = sst.blocks();
    out.counts.blocks += blocks.len() as u64;
    let props_at = blocks
        .iter()
        .find(|b| b.kind == "properties")
        .map_or(0, |b| b.offset);

    // Every data block: its checksum, then every entry in it (`blocks` decodes them).
    let mut damaged = false;
    let mut prev_last: Option<&[u8]> = None;
    for b in blocks.iter().filter(|b| b.kind == "data") {
        if !b.checksum_ok {
            damaged = true;
            out.push(
                severity,
                path,
                b.offset,
                format!("data block ({} bytes) checksum mismatch", b.size),
                fixes.sst(),
            );
        } else if let Some(n) = b.entries {
            out.counts.entries += n;
        } else {
            // Checksums but does not decode (a writer bug or a collision): find where.
            damaged = true;
            let start = prev_last.map(|k| {
                let mut s = k.to_vec();
                s.push(0);
                s
            });
            let (offset, what) = sst
                .iter_from(start.as_deref())
                .find_map(|r| r.err())
                .map_or_else(
                    || {
                        (
                            b.offset,
                            "data block checksums but does not decode".to_string(),
                        )
                    },
                    |e| locate(&e),
                );
            out.push(severity, path, offset, what, fixes.sst());
        }
        prev_last = b.last_key.as_deref();
    }
    if !damaged {
        check_sst_contents(&sst, props_at, severity, out);
    }
    if let Some(f) = meta {
        check_sst_against_meta(&sst, f, len, props_at, out);
    }
}

/// Walks the whole table once more, across blocks, and checks the properties against what
/// the blocks hold. Only for tables whose blocks all decoded.
fn check_sst_contents(sst: &Sst, props_at: u64, severity: Severity, out: &mut Out<'_>) {
    let path = sst.path();
    let p = sst.properties();
    let (mut entries, mut tombstones) = (0u64, 0u64);
    let (mut min_seq, mut max_seq) = (u64::MAX, 0u64);
    let mut first: Option<Vec<u8>> = None;
    for r in sst.iter_from(None) {
        match r {
            Ok(e) => {
                entries += 1;
                if e.kind == ValueKind::Tombstone {
                    tombstones += 1;
                }
                min_seq = min_seq.min(e.seq);
                max_seq = max_seq.max(e.seq);
                if first.is_none() {
                    first = Some(e.key);
                }
            }
            Err(e) => {
                let (offset, what) = locate(&e);
                out.push(severity, path, offset, what, out.fixes.sst());
                return;
            }
        }
    }
    let mut differs = Vec::new();
    if entries != p.entries {
        differs.push(format!("{} entries (blocks hold {entries})", p.entries));
    }
    if tombstones != p.tombstones {
        differs.push(format!(
            "{} tombstones (blocks hold {tombstones})",
            p.tombstones
        ));
    }
    if (min_seq, max_seq) != (p.min_seq, p.max_seq) {
        differs.push(format!(
            "seq {}..={} (blocks hold {min_seq}..={max_seq})",
            p.min_seq, p.max_seq
        ));
    }
    if first.as_deref() != Some(p.smallest.as_slice()) {
        differs.push("a smallest key that is not the first key".to_string());
    }
    if !differs.is_empty() {
        out.push(
            severity,
            path,
            props_at,
            format!("properties block says {}", differs.join(", ")),
            out.fixes.sst(),
        );
    }
}

fn check_sst_against_meta(sst: &Sst, f: &FileMeta, len: u64, props_at: u64, out: &mut Out<'_>) {
    let p = sst.properties();
    let mut differs = Vec::new();
    if u64::from(p.level) != u64::from(f.level) {
        differs.push(format!("level {} (table says {})", f.level, p.level));
    }
    if f.size != len {
        differs.push(format!("size {} (file has {len} bytes)", f.size));
    }
    if f.smallest != p.smallest || f.largest != p.largest {
        differs.push("a different key range".to_string());
    }
    if (f.min_seq, f.max_seq) != (p.min_seq, p.max_seq) {
        differs.push(format!(
            "seq {}..={} (table says {}..={})",
            f.min_seq, f.max_seq, p.min_seq, p.max_seq
        ));
    }
    if f.entries != p.entries {
        differs.push(format!("{} entries (table says {})", f.entries, p.entries));
    }
    if !differs.is_empty() {
        out.push(
            Severity::Error,
            sst.path(),
            props_at,
            format!("the manifest records {}", differs.join(", ")),
            out.fixes.repair.clone(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// WAL

/// Also returns whether the log has a sequence gap (entries missing after the checkpoint).
fn check_wal<'a>(dir: &Path, m: Option<&ManifestInfo>, fixes: &'a Fixes) -> (Out<'a>, bool) {
    let mut out = Out::new(fixes);
    let mut gap = false;
    let segments = match recovery::list_segments(&dir.join("wal")) {
        Ok(s) => s,
        Err(e) => {
            let (offset, what) = locate(&e);
            out.push(
                Severity::Error,
                &dir.join("wal"),
                offset,
                what,
                fixes.restore,
            );
            return (out, gap);
        }
    };
    // Without a trusted manifest the checkpoint is unknown: check the log's own continuity
    // from its first segment rather than report the retired segments as missing.
    let checkpoint = match (m, segments.first()) {
        (Some(m), _) => m.state.flushed_seq,
        (None, Some((first, _))) => first.saturating_sub(1),
        (None, None) => 0,
    };
    // Recovery's own walk, in its strictest mode and as a dry run: verify reports exactly
    // what recover would meet. Absolute stops checking continuity after the first problem
    // (later gaps are usually consequences of it), but still reports every damaged span.
    match recovery::replay(dir, checkpoint, RecoveryMode::Absolute, true, &|_, _| {}) {
        Ok(replay) => {
            let r = &replay.report;
            for s in &r.segments {
                out.counts.files += 1;
                out.counts.wal_segments += 1;
                out.counts.entries += s.entries;
                // Blocks holding records: a preallocated segment's zeros are no blocks.
                out.counts.blocks += s.records_bytes.div_ceil(BLOCK_SIZE);
            }
            // Read means read: whole files, zeros of a preallocated segment included.
            out.counts.bytes_read += r.segments.iter().map(|s| s.bytes).sum::<u64>();
            for f in &r.findings {
                let (severity, what, fix) = match f.kind {
                    // Recovery calls damage a torn tail only when nothing intact follows
                    // the fragment that failed (`wal::scan` resumes at the next intact
                    // fragment in a file's final block), so a torn tail here is the
                    // incomplete last write of a crash.
                    FindingKind::TornTail => (
                        Severity::Warning,
                        format!(
                            "torn tail: {} (the incomplete last write of a crash, {} bytes)",
                            f.what,
                            f.end.saturating_sub(f.offset)
                        ),
                        fixes.recover.clone(),
                    ),
                    FindingKind::Damage => (
                        Severity::Error,
                        f.what.clone(),
                        fixes.skip_corrupted.clone(),
                    ),
                    FindingKind::MissingEntries => {
                        gap = true;
                        (Severity::Error, f.what.clone(), fixes.point_in_time.clone())
                    }
                };
                out.push(severity, &f.file, f.offset, what, fix);
            }
        }
        Err(e) => {
            // Recovery gives up on a segment written by a newer drkit (version or features);
            // report that, and still check the other segments one by one.
            let (offset, what) = locate(&e);
            let bad = match &e {
                Error::WrongKind { path, .. }
                | Error::NewerVersion { path, .. }
                | Error::UnknownFeatures { path, .. }
                | Error::Corruption { path, .. }
                | Error::Io { path, .. } => Some(path.clone()),
                _ => None,
            };
            let file = bad.clone().unwrap_or_else(|| dir.join("wal"));
            out.push(
                Severity::Error,
                &file,
                offset,
                what,
                fixes.skip_corrupted.clone(),
            );
            let last = segments.len().saturating_sub(1);
            for (i, (_, path)) in segments.iter().enumerate() {
                if Some(path) != bad.as_ref() {
                    check_segment_alone(path, i == last, &mut out);
                }
            }
        }
    }
    (out, gap)
}

/// A segment checked without the log around it (only when recovery's walk cannot run):
/// envelope and fragments, no continuity.
fn check_segment_alone(path: &Path, is_last: bool, out: &mut Out<'_>) {
    let fixes = out.fixes;
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            out.push(
                Severity::Error,
                path,
                0,
                format!("cannot read: {e}"),
                fixes.restore,
            );
            return;
        }
    };
    out.counts.files += 1;
    out.counts.wal_segments += 1;
    out.counts.bytes_read += bytes.len() as u64;
    out.counts.blocks += wal::data_end(&bytes).div_ceil(BLOCK_SIZE);
    if let Err(e) = envelope::decode(path, &bytes, Kind::Wal) {
        let (offset, what) = locate(&e);
        out.push(
            Severity::Error,
            path,
            offset,
            what,
            fixes.skip_corrupted.clone(),
        );
        return;
    }
    let len = bytes.len() as u64;
    let mut damage = Vec::new();
    let mut entries = 0;
    let scanned = wal::scan(&bytes, |ev| {
        match ev {
            wal::Event::Entry { .. } => entries += 1,
            wal::Event::Damage { start, end, what } => damage.push((start, end, what)),
        }
        true
    });
    out.counts.entries += entries;
    let n = damage.len();
    for (i, (start, end, what)) in damage.into_iter().enumerate() {
        // As in recovery: damage that reaches EOF has nothing intact after it (see
        // `wal::scan`); an entry that checksums but does not decode is no tear.
        let torn = is_last && i + 1 == n && end == len && start >= scanned.valid_end;
        if torn {
            out.push(
                Severity::Warning,
                path,
                start,
                format!("torn tail: {what}"),
                fixes.recover.clone(),
            );
        } else {
            out.push(
                Severity::Error,
                path,
                start,
                what,
                fixes.skip_corrupted.clone(),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

/// Checks every `snapshots/*.snap` in full (envelope, checksum, entry framing and order). A
/// damaged snapshot is an error, though a harmless one to data: recovery skips it and
/// replays the WAL, and `drkit snapshot prune` removes it.
fn check_snapshots<'a>(dir: &Path, fixes: &'a Fixes) -> Out<'a> {
    let mut out = Out::new(fixes);
    let snap_dir = dir.join("snapshots");
    let Ok(rd) = fs::read_dir(&snap_dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    paths.sort();
    for path in paths {
        match fs::read(&path) {
            Ok(bytes) => {
                out.counts.files += 1;
                out.counts.snapshots += 1;
                out.counts.bytes_read += bytes.len() as u64;
                if let Err(e) = crate::format::snapshot::validate(&path, &bytes) {
                    let (offset, what) = locate(&e);
                    out.push(Severity::Error, &path, offset, what, &fixes.prune_snapshots);
                }
            }
            Err(e) => out.push(
                Severity::Error,
                &path,
                0,
                format!("cannot read: {e}"),
                fixes.restore,
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, Options, SyncPolicy};
    use crate::format::sst::SstOptions;
    use crate::format::wal::FRAGMENT_HEADER;

    /// A small dir: one L0 table of a few 256-byte blocks, a manifest of a few records, and
    /// WAL segments of about 2 KiB after the checkpoint.
    fn small_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            sync: SyncPolicy::Never,
            background_work: false,
            wal_segment_bytes: 2048,
            sst: SstOptions {
                block_size: 256,
                ..SstOptions::default()
            },
            ..Options::default()
        };
        let e = Engine::open(dir.path(), opts).unwrap();
        let value = |i: usize| format!("value-{i:04}-").repeat(6);
        for i in 0..20 {
            e.put(format!("key-{i:04}").as_bytes(), value(i).as_bytes())
                .unwrap();
        }
        e.flush().unwrap();
        for i in 20..60 {
            e.put(format!("key-{i:04}").as_bytes(), value(i).as_bytes())
                .unwrap();
        }
        drop(e);
        dir
    }

    fn files(dir: &Path, sub: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    /// Byte ranges of the checked units of each file, and the offset a finding must name
    /// for a flip inside each: `(range, Some(exact offset))`, or `None` when any offset
    /// inside the range is right (the envelope and the SST footer report the field).
    type Units = Vec<(std::ops::Range<u64>, Option<u64>)>;

    fn sst_units(path: &Path) -> Units {
        let bytes = fs::read(path).unwrap();
        let len = bytes.len() as u64;
        let sst = Sst::from_bytes(path, bytes).unwrap();
        let mut u: Units = vec![(0..16, None)];
        for b in sst.blocks() {
            u.push((b.offset..b.offset + b.size + 5, Some(b.offset)));
        }
        u.push((len - 48..len, None));
        u
    }

    fn wal_units(path: &Path) -> Units {
        let bytes = fs::read(path).unwrap();
        let mut u: Units = vec![(0..16, None)];
        let mut pos = 16u64;
        while pos < bytes.len() as u64 {
            let left = BLOCK_SIZE - pos % BLOCK_SIZE;
            if left < FRAGMENT_HEADER {
                pos += left;
                continue;
            }
            let p = pos as usize;
            let n = u64::from(u16::from_le_bytes([bytes[p + 4], bytes[p + 5]]));
            u.push((pos..pos + FRAGMENT_HEADER + n, Some(pos)));
            pos += FRAGMENT_HEADER + n;
        }
        u
    }

    fn manifest_units(path: &Path) -> Units {
        let bytes = fs::read(path).unwrap();
        let log = manifest::decode(path, &bytes).unwrap();
        assert!(log.torn_tail_at.is_none());
        let mut u: Units = vec![(0..16, None)];
        let starts: Vec<u64> = log.edits.iter().map(|(at, _)| *at).collect();
        for (i, at) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(bytes.len() as u64);
            u.push((*at..end, Some(*at)));
        }
        u
    }

    /// Flips every byte of `path` with each mask, verifies the dir, and checks that an
    /// error finding names the file at the right offset. Returns the number of flips.
    fn sweep(dir: &Path, path: &Path, units: &Units, masks: &[u8], stride: usize) -> usize {
        let pristine = fs::read(path).unwrap();
        let covered: u64 = units.iter().map(|(r, _)| r.end - r.start).sum();
        assert_eq!(
            covered,
            pristine.len() as u64,
            "units tile {}",
            path.display()
        );
        let mut n = 0;
        for (i, mask) in (0..pristine.len())
            .flat_map(|i| masks.iter().map(move |m| (i, *m)))
            .filter(|(i, m)| *m == masks[0] || i % stride == 0)
        {
            let mut bytes = pristine.clone();
            bytes[i] ^= mask;
            fs::write(path, &bytes).unwrap();
            let report = verify(dir).unwrap();
            let at = i as u64;
            let (range, exact) = units.iter().find(|(r, _)| r.contains(&at)).unwrap();
            let hit = report
                .findings
                .iter()
                .find(|f| f.severity == Severity::Error && f.file == path);
            let Some(hit) = hit else {
                panic!(
                    "flip {mask:#04x} at {} offset {i} went unnoticed: {:#?}",
                    path.display(),
                    report.findings
                );
            };
            let right = match exact {
                Some(o) => hit.offset == *o,
                None => range.contains(&hit.offset),
            };
            assert!(
                right,
                "flip {mask:#04x} at {} offset {i} (unit {range:?}) reported at {}: {}",
                path.display(),
                hit.offset,
                hit.what
            );
            n += 1;
        }
        fs::write(path, &pristine).unwrap();
        n
    }

    #[test]
    fn healthy_dir_has_no_findings() {
        let dir = small_dir();
        let r = verify(dir.path()).unwrap();
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
        assert_eq!(r.counts.sst_files, 1);
        assert!(r.counts.wal_segments >= 3, "{:?}", r.counts);
        // 20 in the table; 40 puts, a checkpoint and seals in the WAL (some below the checkpoint).
        assert!(r.counts.entries > 20 + 41, "{:?}", r.counts);
    }

    /// The acceptance sweep: every single-byte flip of a small SST, a WAL segment that is
    /// not the last one, and the manifest is reported as an error naming the file and the
    /// unit (block, fragment, record, envelope) that holds the byte.
    #[test]
    fn every_byte_flip_is_reported_with_file_and_offset() {
        let dir = small_dir();
        let d = dir.path();
        let sst = files(d, "sst").remove(0);
        let table = Sst::from_bytes(&sst, fs::read(&sst).unwrap()).unwrap();
        assert!(
            table.blocks().iter().any(|b| b.compression == Some("zstd")),
            "the sweep covers compressed blocks"
        );
        let segs = files(d, "wal");
        // The last segment's final fragment cannot be told from a torn write (nothing intact
        // follows it either way); every earlier segment must be exact.
        let wal = segs[segs.len() - 2].clone();
        let manifest = manifests_in(d).max().unwrap().1;
        let sizes = [&sst, &wal, &manifest].map(|p| fs::metadata(p).unwrap().len());
        assert!(
            (500..=4096).contains(&sizes[0]),
            "SST of {} bytes",
            sizes[0]
        );
        assert!(
            (1500..=4096).contains(&sizes[1]),
            "WAL of {} bytes",
            sizes[1]
        );
        assert!(sst_units(&sst).len() >= 6, "a few data blocks");
        assert!(manifest_units(&manifest).len() >= 3, "two records at least");

        let started = Instant::now();
        let mut flips = 0;
        flips += sweep(d, &sst, &sst_units(&sst), &[0x01, 0xff], 3);
        flips += sweep(d, &wal, &wal_units(&wal), &[0x01, 0xff], 3);
        flips += sweep(d, &manifest, &manifest_units(&manifest), &[0x01, 0xff], 1);
        assert!(verify(d).unwrap().findings.is_empty());
        eprintln!("{flips} flips verified in {:?}", started.elapsed());
    }
}
