//! `drkit inspect`: reports on the files of a data dir — WAL segments entry by entry,
//! SSTables (properties, entries, blocks), the manifest's version edits, and the dir as a
//! whole.
//!
//! Nothing here writes. Files are read with plain reads into memory, never mapped (a file under
//! inspection may be truncated underneath us, and a truncated mapping kills the process); the
//! dir-level reports take only the shared lock, and only when a LOCK file already exists, so a
//! dir left by a SIGKILLed engine is shown exactly as it is, down to its mtimes.
//!
//! Damage is reported, not fatal: each report carries what could be read plus the damage with
//! file and offset, and the CLI decides the exit code after printing, so the operator sees
//! everything readable before the one error line.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use super::render::{self, Rendered};
use crate::engine::recovery::{self, Finding, FindingKind};
use crate::engine::{LEVELS, RecoveryMode, load_state};
use crate::error::{Error, IoContext, Result};
use crate::format::entry::{EntryRef, EntryType, PutCondition};
use crate::format::envelope::{self, Kind};
use crate::format::manifest::{self, FileMeta, ManifestLog};
use crate::format::sst::{BlockInfo, Sst, SstIter, ValueKind};
use crate::format::{current, wal};
use crate::io::SharedLock;

/// What an operator can do about damage that inspect found.
const DAMAGE_HINT: &str =
    "`drkit recover DIR --dry-run` shows what recovery would keep; nothing was changed";

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// RFC 3339 in UTC with milliseconds, the one time format of inspect's output.
pub fn format_time(ns: i64) -> String {
    DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time (`2024-05-01T12:00:00Z`, any offset) into ns since the epoch.
pub fn parse_time(s: &str) -> std::result::Result<i64, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2024-05-01T12:00:00Z ({e})"))?;
    t.timestamp_nanos_opt()
        .ok_or_else(|| format!("{s:?} is outside the years 1677..2262 that WAL timestamps cover"))
}

/// A key written the way `ops::render::parse_key` reads it back (`order:ID`, `trade:ID`,
/// `account:ID`, a plain key as text or `0x` hex, `raw:` hex for anything else), so a key
/// seen in a report can be pasted into `--key-prefix` or `get`.
pub fn key_arg(key: &[u8]) -> String {
    let r = render::render(key, None);
    match r.kind {
        "order" | "trade" | "account" => format!("{}:{}", r.kind, r.key),
        "plain" => r.key,
        _ => format!("raw:{}", render::hex(key).trim_start_matches("0x")),
    }
}

fn history_hex(h: &[u8; 16]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn require_exists(path: &Path) -> Result<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(Error::NotFound {
            path: path.to_path_buf(),
            hint: "check the path".into(),
        })
    }
}

/// Damage found while reading a file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    pub file: PathBuf,
    pub offset: u64,
    pub what: String,
}

impl Damage {
    /// The error the CLI ends with (exit 4), naming file and offset.
    pub fn to_error(&self) -> Error {
        Error::corruption(&self.file, self.offset, &self.what)
    }

    /// Corruption becomes a report item; any other error (wrong kind of file, newer format,
    /// I/O) stays an error: there is nothing readable to show around it.
    fn from_error(e: Error) -> Result<Damage> {
        match e {
            Error::Corruption {
                path,
                offset,
                what,
                hint,
            } => Ok(Damage {
                file: path,
                offset,
                what: if hint.is_empty() {
                    what
                } else {
                    format!("{what}; {hint}")
                },
            }),
            other => Err(other),
        }
    }
}

fn finding_error(f: &Finding) -> Error {
    Error::corruption(&f.file, f.offset, &f.what).with_hint(DAMAGE_HINT)
}

// ---------------------------------------------------------------------------------------------
// WAL

/// Which entries `inspect wal` shows. Every bound is inclusive; an empty `types` means all.
#[derive(Debug, Clone, Default)]
pub struct WalFilter {
    pub from_seq: Option<u64>,
    pub to_seq: Option<u64>,
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub types: Vec<EntryType>,
    /// An internal key prefix (see `render::parse_key`).
    pub key_prefix: Option<Vec<u8>>,
    pub limit: Option<u64>,
    /// Include each entry's raw bytes in hex.
    pub hex: bool,
}

impl WalFilter {
    pub fn matches(&self, e: &EntryRef<'_>) -> bool {
        self.from_seq.is_none_or(|s| e.seq >= s)
            && self.to_seq.is_none_or(|s| e.seq <= s)
            && self.since_ns.is_none_or(|t| e.timestamp_ns >= t)
            && self.until_ns.is_none_or(|t| e.timestamp_ns <= t)
            && (self.types.is_empty() || self.types.contains(&e.kind))
            && self
                .key_prefix
                .as_ref()
                .is_none_or(|p| e.key.starts_with(p))
    }
}

/// One WAL entry as inspect shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WalEntry {
    pub segment: PathBuf,
    /// Offset of the entry's first fragment in its segment.
    pub offset: u64,
    pub seq: u64,
    pub term: u64,
    pub timestamp_ns: i64,
    pub time: String,
    /// order | trade | account | put | delete | checkpoint | seal | blank | membership |
    /// batch | put-if
    pub entry_type: &'static str,
    /// The key as `render` shows it (the id for domain records); empty for checkpoint/seal.
    pub key: String,
    pub summary: String,
    /// The decoded value (see `Rendered::value`); for checkpoint/seal their number.
    pub value: serde_json::Value,
    /// Size of the encoded entry (header + key + value), without fragment headers.
    pub entry_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// With `--hex`: the key and value exactly as the engine stores them (the key with its
    /// record-type prefix), so the log can be fed to another tool entry for entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_hex: Option<String>,
}

impl WalEntry {
    fn new(segment: &Path, offset: u64, e: &EntryRef<'_>, hex: bool) -> WalEntry {
        let (key, summary, value) = match e.kind {
            EntryType::Checkpoint => match e.value_u64() {
                Some(s) => (
                    String::new(),
                    format!("checkpoint {s}"),
                    serde_json::json!({ "checkpoint_seq": s }),
                ),
                None => (
                    String::new(),
                    "checkpoint (value unreadable)".to_string(),
                    serde_json::json!({ "error": "short value", "hex": render::hex(e.value) }),
                ),
            },
            EntryType::Seal => match e.value_u64() {
                Some(n) => (
                    String::new(),
                    format!("seal ({n} entries)"),
                    serde_json::json!({ "entries": n }),
                ),
                None => (
                    String::new(),
                    "seal (value unreadable)".to_string(),
                    serde_json::json!({ "error": "short value", "hex": render::hex(e.value) }),
                ),
            },
            EntryType::Batch => match crate::format::entry::decode_batch(e.value) {
                Ok(writes) => (
                    String::new(),
                    format!("batch of {} writes", writes.len()),
                    serde_json::json!({ "writes": writes.len() }),
                ),
                Err(err) => (
                    String::new(),
                    format!("batch (unreadable: {err})"),
                    serde_json::json!({ "error": err.to_string(), "hex": render::hex(e.value) }),
                ),
            },
            EntryType::Blank => (
                String::new(),
                format!("blank (first entry of the term-{} leader)", e.term),
                serde_json::Value::Null,
            ),
            EntryType::Membership => match serde_json::from_slice::<serde_json::Value>(e.value) {
                Ok(v) => (
                    String::new(),
                    format!("membership voters {}", v["configs"]),
                    v,
                ),
                Err(_) => (
                    String::new(),
                    "membership (value unreadable)".to_string(),
                    serde_json::json!({ "error": "not JSON", "hex": render::hex(e.value) }),
                ),
            },
            EntryType::PutIf => match PutCondition::decode_value(e.value) {
                Ok((when, v)) => {
                    let Rendered {
                        key,
                        summary,
                        value,
                        ..
                    } = render::render(e.key, Some(v));
                    let when = match when {
                        PutCondition::Always => "always",
                        PutCondition::Absent => "if absent",
                        PutCondition::Present => "if present",
                    };
                    (
                        key,
                        format!("{summary} ({when}, decided when applied)"),
                        serde_json::json!({ "condition": when, "value": value }),
                    )
                }
                Err(err) => (
                    render::render(e.key, None).key,
                    format!("put-if (unreadable: {err})"),
                    serde_json::json!({ "error": err.to_string(), "hex": render::hex(e.value) }),
                ),
            },
            kind => {
                let value = (kind != EntryType::Delete).then_some(e.value);
                let Rendered {
                    key,
                    summary,
                    value,
                    ..
                } = render::render(e.key, value);
                (key, summary, value)
            }
        };
        WalEntry {
            segment: segment.to_path_buf(),
            offset,
            seq: e.seq,
            term: e.term,
            timestamp_ns: e.timestamp_ns,
            time: format_time(e.timestamp_ns),
            entry_type: e.kind.name(),
            key,
            summary,
            value,
            entry_bytes: e.encoded_len() as u64,
            hex: hex.then(|| {
                // The payload is exactly this encoding; re-encoding avoids reassembling
                // fragments just to print them.
                let mut raw = Vec::with_capacity(e.encoded_len());
                e.encode_into(&mut raw);
                render::hex(&raw)
            }),
            key_hex: hex.then(|| render::hex(e.key)),
            value_hex: hex.then(|| render::hex(e.value)),
        }
    }
}

/// A row of `inspect wal`, in log order: an entry, or a problem (damage, torn tail, missing
/// entries) at the place it was met.
#[derive(Debug, Clone)]
pub enum WalRow {
    Entry(Box<WalEntry>),
    Problem(Finding),
}

#[derive(Debug, Clone, Serialize)]
pub struct WalSegment {
    pub path: PathBuf,
    /// The first sequence the file name promises (None for a file not named like a segment).
    pub first_seq: Option<u64>,
    pub bytes: u64,
    /// Up to the end of the last complete entry: less than `bytes` for a segment still at
    /// its preallocated length (see format/wal.rs) or with a damaged tail.
    pub records_bytes: u64,
    /// Complete entries, seals and checkpoints included.
    pub entries: u64,
    /// Whether the last complete entry is a seal.
    pub sealed: bool,
    /// How the segment ends: clean, torn tail at offset N, damage at offset N, ...
    pub end: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WalSummary {
    /// The segment file or data dir inspected.
    pub source: PathBuf,
    /// The manifest's checkpoint, when a data dir was given and its manifest is readable.
    pub checkpoint_seq: Option<u64>,
    pub segments: Vec<WalSegment>,
    /// Complete entries read (all of them, whatever the filter).
    pub entries: u64,
    /// Entries that matched the filter and were shown.
    pub shown: u64,
    pub bytes: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// How the log ends overall: "clean" or the findings, in order.
    pub end: String,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    /// False when the caller stopped the walk early (a closed pipe): the counts are partial.
    pub complete: bool,
}

impl WalSummary {
    /// The first finding that is more than a torn tail, as the error to exit with.
    pub fn damage_error(&self) -> Option<Error> {
        self.findings
            .iter()
            .find(|f| f.kind != FindingKind::TornTail)
            .map(finding_error)
    }
}

fn describe(f: &Finding) -> String {
    match f.kind {
        FindingKind::TornTail => format!("torn tail at offset {}", f.offset),
        FindingKind::Damage => format!("damage at offset {} ({})", f.offset, f.what),
        // A gap at a segment's first entry is a whole segment gone; one further in follows
        // damage that swallowed entries.
        FindingKind::MissingEntries if f.offset == envelope::LEN as u64 => {
            format!("missing segment before this one ({})", f.what)
        }
        FindingKind::MissingEntries => {
            format!("missing entries at offset {} ({})", f.offset, f.what)
        }
    }
}

/// The findings worth a place in a one-line verdict: all but the sequence gaps that directly
/// follow damage. Those sequences were in the damaged bytes (in the same segment, or at the
/// end of the previous one); the damage already says so, and recovery's "a lost or deleted
/// segment?" would send the operator looking for a file that never went missing.
fn headlines(findings: &[Finding]) -> Vec<&Finding> {
    let mut out = Vec::with_capacity(findings.len());
    let mut prev: Option<&Finding> = None;
    for f in findings {
        let implied = f.kind == FindingKind::MissingEntries
            && prev.is_some_and(|p| p.kind == FindingKind::Damage);
        if !implied {
            out.push(f);
        }
        prev = Some(f);
    }
    out
}

/// How a log (or one segment) ends, in one line: "clean", or its findings in order, each
/// file named once when `with_file`.
fn end_text<'a>(findings: impl IntoIterator<Item = &'a Finding>, with_file: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut prev_file: Option<&Path> = None;
    for f in findings {
        parts.push(if with_file && prev_file != Some(f.file.as_path()) {
            format!("{}: {}", file_name(&f.file), describe(f))
        } else {
            describe(f)
        });
        prev_file = Some(&f.file);
    }
    if parts.is_empty() {
        "clean".to_string()
    } else {
        parts.join("; ")
    }
}

/// A header finding for a segment whose envelope does not read. As recovery does for the
/// last segment, a short or all-zero file is a segment created just before a crash.
fn header_finding(path: &Path, bytes: &[u8], e: &Error) -> Finding {
    let torn = bytes.len() < envelope::LEN || bytes.iter().all(|b| *b == 0);
    Finding {
        kind: if torn {
            FindingKind::TornTail
        } else {
            FindingKind::Damage
        },
        file: path.to_path_buf(),
        offset: 0,
        end: bytes.len() as u64,
        what: format!("segment header unreadable: {e}"),
    }
}

/// Walks segments in order, delivering rows and building the summary.
struct WalWalk<'a> {
    filter: &'a WalFilter,
    on_row: &'a mut dyn FnMut(WalRow) -> bool,
    summary: WalSummary,
    last_ns: Option<i64>,
    stopped: bool,
}

impl WalWalk<'_> {
    fn finish(mut self) -> WalSummary {
        self.summary.last_time = self.last_ns.map(format_time);
        self.summary.complete = !self.stopped;
        self.summary
    }

    fn emit(&mut self, row: WalRow) {
        if !self.stopped && !(self.on_row)(row) {
            self.stopped = true;
        }
    }

    fn entry(&mut self, path: &Path, offset: u64, e: &EntryRef<'_>) {
        let s = &mut self.summary;
        s.entries += 1;
        if s.first_seq.is_none() {
            s.first_seq = Some(e.seq);
            s.first_time = Some(format_time(e.timestamp_ns));
        }
        s.last_seq = Some(e.seq);
        // Formatting every entry's time would double the cost of a plain walk: keep the ns.
        self.last_ns = Some(e.timestamp_ns);
        let under_limit = self.filter.limit.is_none_or(|l| s.shown < l);
        if under_limit && self.filter.matches(e) {
            s.shown += 1;
            let row = WalEntry::new(path, offset, e, self.filter.hex);
            self.emit(WalRow::Entry(Box::new(row)));
        }
    }

    /// Reads one segment. `known`: the findings recovery made for it (a data dir); None for a
    /// lone segment file, whose findings are classified here.
    fn segment(&mut self, path: &Path, known: Option<&[Finding]>) -> Result<()> {
        let bytes = fs::read(path).at(path)?;
        let len = bytes.len() as u64;
        self.summary.bytes += len;
        let mut seg = WalSegment {
            path: path.to_path_buf(),
            first_seq: path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(wal::parse_segment_name),
            bytes: len,
            records_bytes: 0,
            entries: 0,
            sealed: false,
            end: String::new(),
        };
        let mut found: Vec<Finding> = Vec::new();
        match envelope::decode(path, &bytes, Kind::Wal) {
            Ok(_) => {
                let entries_before = self.summary.entries;
                // The latest damage not yet followed by an entry: a lone segment's torn tail
                // is damage that reaches EOF with nothing readable after it.
                let mut pending: Option<Finding> = None;
                let end = wal::scan(&bytes, |ev| {
                    match ev {
                        wal::Event::Entry { offset, entry } => {
                            if let Some(f) = pending.take() {
                                self.emit(WalRow::Problem(f.clone()));
                                found.push(f);
                            }
                            if let Some(gap) = known.and_then(|k| {
                                k.iter().find(|f| {
                                    f.kind == FindingKind::MissingEntries && f.offset == offset
                                })
                            }) {
                                self.emit(WalRow::Problem(gap.clone()));
                            }
                            self.entry(path, offset, &entry);
                        }
                        wal::Event::Damage { start, end, what } => {
                            let kind = match known {
                                Some(k) => k
                                    .iter()
                                    .find(|f| {
                                        f.offset == start && f.kind != FindingKind::MissingEntries
                                    })
                                    .map_or(FindingKind::Damage, |f| f.kind),
                                None => FindingKind::Damage,
                            };
                            let f = Finding {
                                kind,
                                file: path.to_path_buf(),
                                offset: start,
                                end,
                                what,
                            };
                            if known.is_some() {
                                self.emit(WalRow::Problem(f));
                            } else if let Some(prev) = pending.replace(f) {
                                self.emit(WalRow::Problem(prev.clone()));
                                found.push(prev);
                            }
                        }
                    }
                    !self.stopped
                });
                if let Some(mut f) = pending.take() {
                    if f.end == len {
                        f.kind = FindingKind::TornTail;
                    }
                    self.emit(WalRow::Problem(f.clone()));
                    found.push(f);
                }
                seg.entries = self.summary.entries - entries_before;
                seg.sealed = end.sealed;
                seg.records_bytes = end.valid_end;
            }
            Err(
                e @ (Error::WrongKind { .. }
                | Error::NewerVersion { .. }
                | Error::UnknownFeatures { .. }),
            ) => return Err(e),
            Err(e) => {
                let f = known
                    .and_then(|k| {
                        k.iter()
                            .find(|f| f.offset == 0 && f.kind != FindingKind::MissingEntries)
                            .cloned()
                    })
                    .unwrap_or_else(|| header_finding(path, &bytes, &e));
                self.emit(WalRow::Problem(f.clone()));
                found.push(f);
            }
        }
        // A data dir's segments get their verdict from the caller, which sees the whole log.
        seg.end = end_text(&found, false);
        if known.is_none() {
            self.summary.findings.extend(found);
        }
        self.summary.segments.push(seg);
        Ok(())
    }
}

/// The data dir and its wal/ dir for a path given as either.
fn wal_dirs(path: &Path) -> Result<(PathBuf, PathBuf)> {
    if path.join("wal").is_dir() {
        return Ok((path.to_path_buf(), path.join("wal")));
    }
    if path.file_name().is_some_and(|n| n == "wal")
        && let Some(parent) = path.parent()
    {
        return Ok((parent.to_path_buf(), path.to_path_buf()));
    }
    Err(Error::NotDataDir {
        path: path.to_path_buf(),
        reason: "no wal/ directory in it; give a data dir or one WAL segment file".into(),
    })
}

/// `inspect wal`: walks a segment file, or every segment of a data dir in order, delivering
/// each entry that matches `filter` and each problem as a row, in log order. `on_row` returns
/// false to stop (a closed pipe); the summary then says it is incomplete.
///
/// The whole log is read even past `--limit`, because the summary says how the log ends. For
/// a data dir the end is classified by recovery itself (a dry run that changes nothing), so
/// inspect and `recover` never disagree; a lone segment is classified from its own bytes.
pub fn inspect_wal(
    path: &Path,
    filter: &WalFilter,
    on_row: &mut dyn FnMut(WalRow) -> bool,
) -> Result<WalSummary> {
    require_exists(path)?;
    let mut walk = WalWalk {
        filter,
        on_row,
        summary: WalSummary {
            source: path.to_path_buf(),
            checkpoint_seq: None,
            segments: Vec::new(),
            entries: 0,
            shown: 0,
            bytes: 0,
            first_seq: None,
            last_seq: None,
            first_time: None,
            last_time: None,
            end: String::new(),
            findings: Vec::new(),
            notes: Vec::new(),
            complete: true,
        },
        last_ns: None,
        stopped: false,
    };
    if !path.is_dir() {
        walk.segment(path, None)?;
        walk.summary.end = end_text(&walk.summary.findings, false);
        return Ok(walk.finish());
    }

    let (data_dir, wal_dir) = wal_dirs(path)?;
    let _lock = SharedLock::acquire(&data_dir)?;
    let listed = recovery::list_segments(&wal_dir)?;
    let first_named = listed
        .first()
        .map_or(0, |(first, _)| first.saturating_sub(1));
    let checkpoint = if data_dir.join("CURRENT").exists() {
        match load_state(&data_dir) {
            Ok((state, _)) => Some(state.flushed_seq),
            Err(e) => {
                walk.summary.notes.push(format!(
                    "manifest unreadable ({e}): gaps are judged from the first segment on"
                ));
                None
            }
        }
    } else {
        walk.summary
            .notes
            .push("no CURRENT file: gaps are judged from the first segment on".into());
        None
    };
    walk.summary.checkpoint_seq = checkpoint;
    // Entries at or below the checkpoint are in SSTs; without one, the first segment's name
    // says where the log starts, so a retired prefix is not mistaken for a gap.
    // `.report` alone: the scanned segments (every entry's location) are dropped here, not
    // held while the log is read a second time for the rows.
    let findings = recovery::replay(
        &data_dir,
        checkpoint.unwrap_or(first_named),
        // Skip-corrupted reports every finding instead of stopping at the first.
        RecoveryMode::SkipCorrupted,
        true,
        &|_, _| {},
    )?
    .report
    .findings;
    let headline = headlines(&findings);
    for (_, seg) in &listed {
        if walk.stopped {
            break;
        }
        let known: Vec<Finding> = findings
            .iter()
            .filter(|f| &f.file == seg)
            .cloned()
            .collect();
        walk.segment(seg, Some(&known))?;
        if let Some(s) = walk.summary.segments.last_mut() {
            s.end = end_text(headline.iter().copied().filter(|f| &f.file == seg), false);
        }
    }
    walk.summary.end = end_text(headline, true);
    walk.summary.findings = findings;
    Ok(walk.finish())
}

// ---------------------------------------------------------------------------------------------
// SST

/// An SSTable's properties as inspect shows them.
#[derive(Debug, Clone, Serialize)]
pub struct SstSummary {
    pub path: PathBuf,
    pub file_size: u64,
    pub level: u8,
    /// The level in the file name (`sst_{level}_{no}.sst`), when it is named that way.
    pub name_level: Option<u8>,
    pub file_no: Option<u64>,
    /// Keys in `--key-prefix` syntax (see `key_arg`).
    pub smallest: String,
    pub largest: String,
    pub min_seq: u64,
    pub max_seq: u64,
    pub entries: u64,
    pub tombstones: u64,
    pub data_blocks: u64,
    pub bloom_bits_per_key: u32,
    pub created_unix_ns: i64,
    pub created: String,
    pub raw_key_bytes: u64,
    pub raw_value_bytes: u64,
    /// The table's format version (1 or 2).
    pub format_version: u16,
    /// How the writer stored data blocks: none or zstd:LEVEL.
    pub compression: String,
    /// Data blocks before and after compression.
    pub raw_data_bytes: u64,
    pub stored_data_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SstBlock {
    /// data | index | bloom | properties
    pub kind: &'static str,
    pub offset: u64,
    /// Stored bytes without the 5-byte trailer.
    pub size: u64,
    /// none | zstd (null when the trailer is unreadable).
    pub compression: Option<&'static str>,
    /// Bytes once decompressed (null when that fails).
    pub raw_size: Option<u64>,
    pub checksum_ok: bool,
    /// Entries of a data block (None when it does not decode), blocks listed by the index.
    pub entries: Option<u64>,
    pub last_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SstEntryRow {
    /// The key in `--key-prefix` syntax.
    pub key: String,
    pub key_kind: &'static str,
    pub seq: u64,
    /// value | tombstone
    pub kind: &'static str,
    pub summary: String,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone)]
pub enum SstRow {
    Entry(Box<SstEntryRow>),
    Damage(Damage),
}

/// Reads and validates a table without mapping it.
pub fn open_sst(path: &Path) -> Result<Sst> {
    require_exists(path)?;
    if path.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{}: is a directory; give an .sst file",
            path.display()
        )));
    }
    Sst::from_bytes(path, fs::read(path).at(path)?)
}

/// Why an SST did not open, as a report item (corruption) or an error (anything else).
pub fn sst_open_damage(e: Error) -> Result<Damage> {
    Damage::from_error(e)
}

pub fn sst_summary(sst: &Sst) -> SstSummary {
    let p = sst.properties();
    let named = sst
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(manifest::parse_sst_name);
    SstSummary {
        path: sst.path().to_path_buf(),
        file_size: p.file_size,
        level: p.level,
        name_level: named.map(|(l, _)| l),
        file_no: named.map(|(_, n)| n),
        smallest: key_arg(&p.smallest),
        largest: key_arg(&p.largest),
        min_seq: p.min_seq,
        max_seq: p.max_seq,
        entries: p.entries,
        tombstones: p.tombstones,
        data_blocks: p.data_blocks,
        bloom_bits_per_key: p.bloom_bits_per_key,
        created_unix_ns: p.created_unix_ns,
        created: format_time(p.created_unix_ns),
        raw_key_bytes: p.raw_key_bytes,
        raw_value_bytes: p.raw_value_bytes,
        format_version: p.format_version,
        compression: p.compression.to_string(),
        raw_data_bytes: p.raw_data_bytes,
        stored_data_bytes: sst.data_block_bounds().map(|(_, size)| size).sum(),
    }
}

/// Every block with its checksum checked (reads the whole table).
pub fn sst_blocks(sst: &Sst) -> Vec<SstBlock> {
    sst.blocks().into_iter().map(block_row).collect()
}

fn block_row(b: BlockInfo) -> SstBlock {
    SstBlock {
        kind: b.kind,
        offset: b.offset,
        size: b.size,
        compression: b.compression,
        raw_size: b.raw_size,
        checksum_ok: b.checksum_ok,
        entries: b.entries,
        last_key: b.last_key.as_deref().map(key_arg),
    }
}

/// The first block that fails its checksum or does not decode.
pub fn sst_block_damage(sst: &Sst, blocks: &[SstBlock]) -> Option<Damage> {
    blocks.iter().find_map(|b| {
        let what = if !b.checksum_ok {
            format!(
                "{} block at offset {} ({} bytes) fails its checksum",
                b.kind, b.offset, b.size
            )
        } else if b.kind == "data" && b.entries.is_none() {
            format!(
                "data block at offset {} ({} bytes) does not decode",
                b.offset, b.size
            )
        } else {
            return None;
        };
        Some(Damage {
            file: sst.path().to_path_buf(),
            offset: b.offset,
            what,
        })
    })
}

/// The entries of a table in key order, with a damage row for each data block that cannot be
/// read, after which the dump resumes at the next block.
pub struct SstEntries<'a> {
    sst: &'a Sst,
    it: SstIter<'a>,
    /// (start, end, last key) of each data block, to place an error and resume after it.
    blocks: Vec<(u64, u64, Vec<u8>)>,
    /// Index of the last block reported damaged, so resuming always moves forward.
    failed: Option<usize>,
}

impl std::fmt::Debug for SstEntries<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SstEntries")
            .field("sst", &self.sst.path())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

pub fn sst_entries(sst: &Sst) -> SstEntries<'_> {
    let blocks = sst
        .blocks()
        .into_iter()
        .filter(|b| b.kind == "data")
        .map(|b| {
            // The trailer belongs to the block: an error there is the block's.
            (
                b.offset,
                b.offset + b.size + 5,
                b.last_key.unwrap_or_default(),
            )
        })
        .collect();
    SstEntries {
        sst,
        it: sst.iter_from(None),
        blocks,
        failed: None,
    }
}

impl Iterator for SstEntries<'_> {
    type Item = SstRow;

    fn next(&mut self) -> Option<SstRow> {
        match self.it.next()? {
            Ok(e) => {
                let value = (e.kind == ValueKind::Value).then_some(e.value.as_slice());
                let r = render::render(&e.key, value);
                Some(SstRow::Entry(Box::new(SstEntryRow {
                    key: key_arg(&e.key),
                    key_kind: r.kind,
                    seq: e.seq,
                    kind: match e.kind {
                        ValueKind::Value => "value",
                        ValueKind::Tombstone => "tombstone",
                    },
                    summary: r.summary,
                    value: r.value,
                })))
            }
            Err(err) => {
                let damage = Damage::from_error(err).unwrap_or_else(|other| Damage {
                    file: self.sst.path().to_path_buf(),
                    offset: 0,
                    what: other.to_string(),
                });
                let at = self
                    .blocks
                    .iter()
                    .position(|(s, e, _)| (*s..*e).contains(&damage.offset));
                // SstIter ends after an error; restart just past the damaged block's last
                // key, which seeks into the next block. Only ever forwards.
                if let Some(i) = at
                    && self.failed.is_none_or(|f| i > f)
                    && i + 1 < self.blocks.len()
                    && let Some((_, _, last)) = self.blocks.get(i)
                {
                    self.failed = Some(i);
                    let mut after = last.clone();
                    after.push(0);
                    self.it = self.sst.iter_from(Some(&after));
                }
                Some(SstRow::Damage(damage))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Manifest

#[derive(Debug, Clone, Serialize)]
pub struct ManifestFile {
    pub level: u8,
    pub file_no: u64,
    pub name: String,
    pub size: u64,
    pub smallest: String,
    pub largest: String,
    pub min_seq: u64,
    pub max_seq: u64,
    pub entries: u64,
}

impl From<&FileMeta> for ManifestFile {
    fn from(f: &FileMeta) -> Self {
        ManifestFile {
            level: f.level,
            file_no: f.file_no,
            name: f.file_name(),
            size: f.size,
            smallest: key_arg(&f.smallest),
            largest: key_arg(&f.largest),
            min_seq: f.min_seq,
            max_seq: f.max_seq,
            entries: f.entries,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeletedFile {
    pub level: u8,
    pub file_no: u64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestEdit {
    pub offset: u64,
    pub history_id: Option<String>,
    pub flushed_seq: Option<u64>,
    pub next_file_no: Option<u64>,
    pub last_seq: Option<u64>,
    pub added: Vec<ManifestFile>,
    pub deleted: Vec<DeletedFile>,
}

/// The tree after every readable edit.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestTotals {
    pub history_id: String,
    pub flushed_seq: u64,
    pub next_file_no: u64,
    pub last_seq: u64,
    pub live_files: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestReport {
    /// The data dir, when one was given.
    pub dir: Option<PathBuf>,
    /// The manifest CURRENT names (None without a readable CURRENT).
    pub current: Option<String>,
    pub manifest: Option<PathBuf>,
    pub bytes: u64,
    pub edits: Vec<ManifestEdit>,
    /// Length of the valid prefix of the manifest.
    pub valid_len: u64,
    /// A final record cut by a crash during its append: never acted on, ignored.
    pub torn_tail_at: Option<u64>,
    pub state: Option<ManifestTotals>,
    pub damage: Vec<Damage>,
    pub notes: Vec<String>,
}

/// The highest-numbered MANIFEST-NNNNNN in `dir`, for when CURRENT cannot say.
fn newest_manifest(dir: &Path) -> Result<Option<PathBuf>> {
    let mut best: Option<(u64, PathBuf)> = None;
    for e in fs::read_dir(dir).at(dir)? {
        let e = e.at(dir)?;
        if let Some(n) = e
            .file_name()
            .to_str()
            .and_then(manifest::parse_manifest_name)
            && best.as_ref().is_none_or(|(b, _)| n > *b)
        {
            best = Some((n, e.path()));
        }
    }
    Ok(best.map(|(_, p)| p))
}

/// Decodes as much of a manifest as reads: on damage, the edits before the damaged record.
fn decode_manifest(path: &Path, bytes: &[u8]) -> Result<(ManifestLog, Option<Damage>)> {
    match manifest::decode(path, bytes) {
        Ok(log) => Ok((log, None)),
        Err(e) => {
            let damage = Damage::from_error(e)?;
            // Records before the damaged one form a valid manifest of their own.
            let prefix = usize::try_from(damage.offset)
                .ok()
                .filter(|&at| at >= envelope::LEN)
                .and_then(|at| bytes.get(..at));
            let log = prefix
                .and_then(|p| manifest::decode(path, p).ok())
                .unwrap_or_default();
            Ok((log, Some(damage)))
        }
    }
}

/// `inspect manifest`: every version edit of the manifest CURRENT names in `path` (a data
/// dir), or of `path` itself (a MANIFEST file).
pub fn inspect_manifest(path: &Path) -> Result<ManifestReport> {
    require_exists(path)?;
    let mut report = ManifestReport {
        dir: None,
        current: None,
        manifest: None,
        bytes: 0,
        edits: Vec::new(),
        valid_len: 0,
        torn_tail_at: None,
        state: None,
        damage: Vec::new(),
        notes: Vec::new(),
    };
    let _lock;
    let target = if path.is_dir() {
        _lock = SharedLock::acquire(path)?;
        report.dir = Some(path.to_path_buf());
        let current_path = path.join("CURRENT");
        let named = if current_path.exists() {
            let bytes = fs::read(&current_path).at(&current_path)?;
            match current::decode(&current_path, &bytes) {
                Ok(name) => Some(name),
                Err(e) => {
                    report.damage.push(Damage::from_error(e)?);
                    None
                }
            }
        } else {
            None
        };
        report.current.clone_from(&named);
        match named.map(|n| path.join(n)) {
            Some(p) if p.exists() => Some(p),
            other => {
                if let Some(missing) = other {
                    report.damage.push(Damage {
                        file: current_path.clone(),
                        offset: 0,
                        what: format!(
                            "CURRENT names {}, which does not exist; {}",
                            file_name(&missing),
                            crate::error::REPAIR_HINT
                        ),
                    });
                }
                let newest = newest_manifest(path)?;
                if newest.is_none() && !current_path.exists() {
                    return Err(Error::NotDataDir {
                        path: path.to_path_buf(),
                        reason: "no CURRENT and no MANIFEST file".into(),
                    });
                }
                if !current_path.exists() {
                    report.damage.push(Damage {
                        file: current_path.clone(),
                        offset: 0,
                        what: format!("CURRENT is missing; {}", crate::error::REPAIR_HINT),
                    });
                }
                if let Some(p) = &newest {
                    report.notes.push(format!(
                        "CURRENT does not lead to a manifest: showing the newest one, {}",
                        file_name(p)
                    ));
                }
                newest
            }
        }
    } else {
        Some(path.to_path_buf())
    };
    let Some(target) = target else {
        return Ok(report);
    };
    let bytes = fs::read(&target).at(&target)?;
    report.bytes = bytes.len() as u64;
    let (log, damage) = decode_manifest(&target, &bytes)?;
    report.damage.extend(damage);
    report.valid_len = log.valid_len;
    report.torn_tail_at = log.torn_tail_at;
    match manifest::replay(&target, &log) {
        Ok(state) => {
            report.state = Some(ManifestTotals {
                history_id: history_hex(&state.history_id),
                flushed_seq: state.flushed_seq,
                next_file_no: state.next_file_no,
                last_seq: state.last_seq,
                live_files: state.files.len() as u64,
            });
        }
        Err(e) => report.damage.push(Damage::from_error(e)?),
    }
    report.edits = log
        .edits
        .iter()
        .map(|(at, e)| ManifestEdit {
            offset: *at,
            history_id: e.history_id.as_ref().map(history_hex),
            flushed_seq: e.flushed_seq,
            next_file_no: e.next_file_no,
            last_seq: e.last_seq,
            added: e.added.iter().map(ManifestFile::from).collect(),
            deleted: e
                .deleted
                .iter()
                .map(|(level, no)| DeletedFile {
                    level: *level,
                    file_no: *no,
                    name: manifest::sst_name(*level, *no),
                })
                .collect(),
        })
        .collect();
    report.manifest = Some(target);
    Ok(report)
}

impl ManifestReport {
    pub fn damage_error(&self) -> Option<Error> {
        self.damage.first().map(Damage::to_error)
    }
}

// ---------------------------------------------------------------------------------------------
// Dir

#[derive(Debug, Clone, Serialize)]
pub struct DirLevel {
    pub level: u8,
    pub files: u64,
    pub bytes: u64,
    /// The smallest of the files' smallest keys and the largest of their largest keys.
    pub smallest: Option<String>,
    pub largest: Option<String>,
    pub min_seq: Option<u64>,
    pub max_seq: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DirSnapshot {
    pub name: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DirReport {
    pub dir: PathBuf,
    pub manifest: Option<String>,
    pub history_id: Option<String>,
    /// The manifest's flushed sequence: every entry at or below it is in the SSTs.
    pub checkpoint_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub next_file_no: Option<u64>,
    /// All levels, empty ones included.
    pub levels: Vec<DirLevel>,
    pub sst_files: u64,
    pub sst_bytes: u64,
    /// Total SST bytes / bytes of the last non-empty level (see `space_amplification`).
    pub space_amplification: Option<f64>,
    pub wal_segments: Vec<WalSegment>,
    pub wal_bytes: u64,
    pub wal_end: String,
    pub wal_findings: Vec<Finding>,
    /// Files in DIR/snapshots/ (None when the dir does not exist).
    pub snapshots: Option<Vec<DirSnapshot>>,
    pub damage: Vec<Damage>,
    pub notes: Vec<String>,
    /// A cluster node's DIR/raft/state (None for a standalone dir).
    pub raft: Option<RaftSummary>,
}

/// What a cluster node remembers besides its log (DIR/raft/state).
#[derive(Debug, Clone, Serialize)]
pub struct RaftSummary {
    pub node_id: u64,
    /// Hex; None until the node is initialised or joins a cluster.
    pub cluster_id: Option<String>,
    /// "term T for node N", "(committed)" once that node won.
    pub vote: Option<String>,
    /// The committed index the node last recorded (it re-applies up to it at start; offline
    /// reads and backups stop there).
    pub committed_index: Option<u64>,
    pub purged_index: Option<u64>,
}

fn raft_summary(dir: &Path) -> Result<Option<RaftSummary>> {
    let raft_dir = dir.join("raft");
    if !raft_dir.is_dir() {
        return Ok(None);
    }
    let Some(st) = crate::format::raft_state::RaftState::load(&raft_dir)? else {
        return Ok(None);
    };
    Ok(Some(RaftSummary {
        node_id: st.node_id,
        cluster_id: (st.cluster_id != [0; 16]).then(|| history_hex(&st.cluster_id)),
        vote: st.vote.map(|v| {
            format!(
                "term {} for node {}{}",
                v.term,
                v.node_id,
                if v.committed { " (committed)" } else { "" }
            )
        }),
        committed_index: st.committed.map(|p| p.index),
        purged_index: st.purged.map(|p| p.index),
    }))
}

impl DirReport {
    /// The first damage (manifest, SST files, WAL beyond a torn tail) as the error to exit with.
    pub fn damage_error(&self) -> Option<Error> {
        self.damage.first().map(Damage::to_error).or_else(|| {
            self.wal_findings
                .iter()
                .find(|f| f.kind != FindingKind::TornTail)
                .map(finding_error)
        })
    }
}

/// The estimate: in a leveled tree the last non-empty level holds (nearly) one live version
/// of every key, and the levels above it hold older versions and recent writes on top, so
/// total / last level approximates bytes stored per live byte. It ignores tombstones and
/// overwrites inside the last level, so it errs low; 1.0 means no overhead.
pub fn space_amplification(level_bytes: &[u64]) -> Option<f64> {
    let total: u64 = level_bytes.iter().sum();
    let last = level_bytes.iter().rev().find(|b| **b > 0)?;
    Some(total as f64 / *last as f64)
}

fn levels_of(files: &[&FileMeta]) -> Vec<DirLevel> {
    (0..LEVELS)
        .map(|level| {
            let at: Vec<&&FileMeta> = files
                .iter()
                .filter(|f| usize::from(f.level) == level)
                .collect();
            DirLevel {
                level: level as u8,
                files: at.len() as u64,
                bytes: at.iter().map(|f| f.size).sum(),
                smallest: at.iter().map(|f| &f.smallest).min().map(|k| key_arg(k)),
                largest: at.iter().map(|f| &f.largest).max().map(|k| key_arg(k)),
                min_seq: at.iter().map(|f| f.min_seq).min(),
                max_seq: at.iter().map(|f| f.max_seq).max(),
            }
        })
        .collect()
}

/// `inspect dir`: levels, WAL segments, snapshots and the figures an operator asks first.
pub fn inspect_dir(dir: &Path) -> Result<DirReport> {
    require_exists(dir)?;
    if !dir.is_dir() {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "it is a file; give the data directory".into(),
        });
    }
    let has = |name: &str| dir.join(name).exists();
    if !has("CURRENT") && !has("wal") && !has("sst") {
        return Err(Error::NotDataDir {
            path: dir.to_path_buf(),
            reason: "no CURRENT, wal/ or sst/; point at a dir created by drkit".into(),
        });
    }
    let _lock = SharedLock::acquire(dir)?;
    let mut report = DirReport {
        dir: dir.to_path_buf(),
        manifest: None,
        history_id: None,
        checkpoint_seq: None,
        last_seq: None,
        next_file_no: None,
        levels: levels_of(&[]),
        sst_files: 0,
        sst_bytes: 0,
        space_amplification: None,
        wal_segments: Vec::new(),
        wal_bytes: 0,
        wal_end: String::new(),
        wal_findings: Vec::new(),
        snapshots: None,
        damage: Vec::new(),
        notes: Vec::new(),
        raft: None,
    };
    match raft_summary(dir) {
        Ok(r) => report.raft = r,
        Err(e) => report.damage.push(Damage::from_error(e)?),
    }

    let state = match load_state(dir) {
        Ok((state, no)) => {
            report.manifest = Some(manifest::manifest_name(no));
            Some(state)
        }
        Err(Error::Io { path, source }) if source.kind() == std::io::ErrorKind::NotFound => {
            report.damage.push(Damage {
                file: path,
                offset: 0,
                what: format!("missing; {}", crate::error::REPAIR_HINT),
            });
            None
        }
        Err(e) => {
            report.damage.push(Damage::from_error(e)?);
            None
        }
    };
    if let Some(state) = &state {
        report.history_id = Some(history_hex(&state.history_id));
        report.checkpoint_seq = Some(state.flushed_seq);
        report.last_seq = Some(state.last_seq);
        report.next_file_no = Some(state.next_file_no);
        let files: Vec<&FileMeta> = state.files.values().collect();
        report.levels = levels_of(&files);
        report.sst_files = files.len() as u64;
        report.sst_bytes = files.iter().map(|f| f.size).sum();
        let per_level: Vec<u64> = report.levels.iter().map(|l| l.bytes).collect();
        report.space_amplification = space_amplification(&per_level);
        // Metadata only: a missing or resized table is what `verify` would open first.
        for f in &files {
            let p = dir.join("sst").join(f.file_name());
            match fs::metadata(&p) {
                Ok(m) if m.len() == f.size => {}
                Ok(m) => report.damage.push(Damage {
                    file: p,
                    offset: m.len().min(f.size),
                    what: format!(
                        "file is {} bytes, the manifest records {}; run `drkit inspect sst` on it",
                        m.len(),
                        f.size
                    ),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    report.damage.push(Damage {
                        file: p,
                        offset: 0,
                        what: format!(
                            "the manifest lists this SSTable but the file is missing; {}",
                            crate::error::REPAIR_HINT
                        ),
                    });
                }
                Err(e) => return Err(Error::io(p, e)),
            }
        }
        let sst_dir = dir.join("sst");
        if sst_dir.is_dir() {
            let mut orphans = Vec::new();
            for e in fs::read_dir(&sst_dir).at(&sst_dir)? {
                let name = e.at(&sst_dir)?.file_name().to_string_lossy().into_owned();
                let listed = manifest::parse_sst_name(&name)
                    .is_some_and(|(_, no)| state.files.contains_key(&no));
                if !listed {
                    orphans.push(name);
                }
            }
            orphans.sort();
            if !orphans.is_empty() {
                report.notes.push(format!(
                    "sst/ holds files the manifest does not list (left by an interrupted flush or compaction): {}",
                    orphans.join(", ")
                ));
            }
        }
    }

    let listed = recovery::list_segments(&dir.join("wal"))?;
    let checkpoint = state.as_ref().map_or_else(
        || {
            listed
                .first()
                .map_or(0, |(first, _)| first.saturating_sub(1))
        },
        |s| s.flushed_seq,
    );
    let r = recovery::replay(
        dir,
        checkpoint,
        RecoveryMode::SkipCorrupted,
        true,
        &|_, _| {},
    )?
    .report;
    report.wal_bytes = r.wal_bytes;
    report.wal_segments = r
        .segments
        .iter()
        .map(|s| WalSegment {
            path: s.path.clone(),
            first_seq: Some(s.first_seq),
            bytes: s.bytes,
            records_bytes: s.records_bytes,
            entries: s.entries,
            sealed: s.sealed,
            end: end_text(
                headlines(&r.findings)
                    .into_iter()
                    .filter(|f| f.file == s.path),
                false,
            ),
        })
        .collect();
    report.wal_end = end_text(headlines(&r.findings), true);
    report.wal_findings = r.findings;

    let snap_dir = dir.join("snapshots");
    if snap_dir.is_dir() {
        let mut snaps = Vec::new();
        for e in fs::read_dir(&snap_dir).at(&snap_dir)? {
            let e = e.at(&snap_dir)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".snap") {
                let bytes = e.metadata().at(&e.path())?.len();
                snaps.push(DirSnapshot { name, bytes });
            }
        }
        snaps.sort_by(|a, b| a.name.cmp(&b.name));
        report.snapshots = Some(snaps);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_with_milliseconds() {
        let ns = parse_time("2024-05-01T12:00:00.123456Z").unwrap();
        assert_eq!(format_time(ns), "2024-05-01T12:00:00.123Z");
        assert_eq!(
            parse_time("2024-05-01T14:00:00+02:00").unwrap(),
            parse_time("2024-05-01T12:00:00Z").unwrap()
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("9999-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn key_args_read_back() {
        for k in [
            &b"Oo-1"[..],
            b"Tt9",
            b"Au1",
            b"Kplain",
            b"K\x00\x01",
            b"Z\xff",
        ] {
            assert_eq!(render::parse_key(&key_arg(k)).unwrap(), k, "{k:?}");
        }
    }

    #[test]
    fn space_amplification_is_total_over_last_level() {
        assert_eq!(space_amplification(&[0, 0, 0]), None);
        assert_eq!(space_amplification(&[50, 0, 100, 0]), Some(1.5));
        assert_eq!(space_amplification(&[10]), Some(1.0));
    }

    /// A segment file of `n` plain puts; returns its bytes and each entry's offset.
    fn segment(n: u64) -> (Vec<u8>, Vec<u64>) {
        let mut out = envelope::encode(Kind::Wal).to_vec();
        let mut framer = wal::Framer::new(out.len() as u64);
        let mut offsets = Vec::new();
        for seq in 1..=n {
            offsets.push(framer.offset());
            let mut p = Vec::new();
            EntryRef {
                seq,
                term: 0,
                timestamp_ns: 1_700_000_000_000_000_000,
                kind: EntryType::Put,
                key: format!("Kkey-{seq}").as_bytes(),
                value: &[b'v'; 900],
            }
            .encode_into(&mut p);
            framer.frame(&p, &mut out);
        }
        (out, offsets)
    }

    fn walk(bytes: &[u8]) -> (Vec<WalRow>, WalSummary) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(wal::segment_name(1));
        fs::write(&path, bytes).unwrap();
        let mut rows = Vec::new();
        let summary = inspect_wal(&path, &WalFilter::default(), &mut |r| {
            rows.push(r);
            true
        })
        .unwrap();
        (rows, summary)
    }

    #[test]
    fn lone_segment_tells_torn_tail_from_damage() {
        let (bytes, offsets) = segment(80);
        let (rows, s) = walk(&bytes);
        assert_eq!((rows.len(), s.entries, s.end.as_str()), (80, 80, "clean"));
        assert_eq!(s.last_time.as_deref(), Some("2023-11-14T22:13:20.000Z"));

        // Cut inside the last entry: a torn tail at its offset, reported last.
        let last = offsets[79];
        let (rows, s) = walk(&bytes[..last as usize + 100]);
        assert_eq!(s.end, format!("torn tail at offset {last}"));
        assert!(s.damage_error().is_none());
        assert!(matches!(rows.last(), Some(WalRow::Problem(f)) if f.offset == last));

        // A flipped byte in the first block: damage, reading resumes at the next block, and
        // the problem row sits between the entries around it.
        let mut bad = bytes.clone();
        let at = offsets[2];
        bad[at as usize + 40] ^= 1;
        let (rows, s) = walk(&bad);
        assert!(
            s.end.starts_with(&format!("damage at offset {at} (")),
            "{}",
            s.end
        );
        assert!(s.damage_error().is_some());
        let problem = rows
            .iter()
            .position(|r| matches!(r, WalRow::Problem(_)))
            .unwrap();
        assert_eq!(problem, 2);
        assert!(rows.len() > 3 && s.entries < 80);
    }

    #[test]
    fn gaps_right_after_damage_are_not_headlines() {
        let f = |kind, offset| Finding {
            kind,
            file: PathBuf::from("wal/1.wal"),
            offset,
            end: offset,
            what: String::new(),
        };
        let all = [
            f(FindingKind::Damage, 100),
            f(FindingKind::MissingEntries, 32768),
            f(FindingKind::MissingEntries, 40000),
        ];
        let h = headlines(&all);
        assert_eq!(h.iter().map(|f| f.offset).collect::<Vec<_>>(), [100, 40000]);
    }

    #[test]
    fn filter_bounds_are_inclusive() {
        let e = EntryRef {
            seq: 5,
            term: 0,
            timestamp_ns: 100,
            kind: EntryType::TradeExecuted,
            key: b"Tabc",
            value: b"",
        };
        let f = WalFilter {
            from_seq: Some(5),
            to_seq: Some(5),
            since_ns: Some(100),
            until_ns: Some(100),
            types: vec![EntryType::TradeExecuted],
            key_prefix: Some(b"Ta".to_vec()),
            ..WalFilter::default()
        };
        assert!(f.matches(&e));
        assert!(
            !WalFilter {
                types: vec![EntryType::OrderInsert],
                ..WalFilter::default()
            }
            .matches(&e)
        );
        assert!(
            !WalFilter {
                key_prefix: Some(b"O".to_vec()),
                ..WalFilter::default()
            }
            .matches(&e)
        );
    }
}
