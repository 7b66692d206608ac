//! `drkit inspect wal|sst|manifest|dir`: arguments and printing; the reports come from
//! `ops::inspect`, which reads and never writes.
//!
//! Entry dumps (WAL entries, SST keys) are printed row by row as they are read, in fixed-width
//! columns rather than a table: a log can hold millions of entries, and a table would hold them
//! all in memory before showing the first, so `drkit inspect wal DIR | head` would wait for the
//! whole log. Reports of bounded size (properties, summaries, levels, edits) are tables.

use std::path::PathBuf;

use serde::Serialize;

use crate::engine::{Finding, FindingKind};
use crate::error::Exit;
use crate::format::entry::EntryType;
use crate::ops::inspect::{self, DirReport, ManifestReport, SstRow, WalFilter, WalRow, WalSummary};
use crate::ops::render;
use crate::output::{Printer, human_bytes, kv_table, pipe_closed, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Dump WAL entries (one row per entry, damage inline, in log order) and say how the log
    /// ends: clean, torn tail, damage or a missing segment, with file and offset.
    ///
    /// Exit 0 for a clean log or a torn tail (the expected end after a crash), 4 for damage
    /// inside the log or a missing segment, after printing everything readable.
    Wal(WalArgs),
    /// Show an SSTable's properties, and with --keys / --blocks its entries and blocks.
    ///
    /// Every block's checksum is checked; a damaged table prints what can be read, then exits 4.
    Sst(SstArgs),
    /// List every version edit of the manifest (files added and deleted, checkpoint) and
    /// where CURRENT points. A torn final record (a crash during an append) is noted, not an
    /// error.
    Manifest(ManifestArgs),
    /// Summarise a data dir: files and bytes per level, WAL segments and how the log ends,
    /// snapshots, checkpoint, history id and an estimate of space amplification.
    ///
    /// Space amplification is estimated as total SST bytes / bytes of the last non-empty level:
    /// in a leveled tree that level holds about one live version of every key, and the levels
    /// above it hold older versions and recent writes. It ignores overwrites and tombstones
    /// inside the last level, so it errs low; 1.0 means no overhead.
    Dir(DirArgs),
}

/// `--type` values: the names inspect prints in its TYPE column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TypeArg {
    Order,
    Trade,
    Account,
    Put,
    Delete,
    Checkpoint,
    Seal,
}

impl From<TypeArg> for EntryType {
    fn from(t: TypeArg) -> EntryType {
        match t {
            TypeArg::Order => EntryType::OrderInsert,
            TypeArg::Trade => EntryType::TradeExecuted,
            TypeArg::Account => EntryType::AccountUpdate,
            TypeArg::Put => EntryType::Put,
            TypeArg::Delete => EntryType::Delete,
            TypeArg::Checkpoint => EntryType::Checkpoint,
            TypeArg::Seal => EntryType::Seal,
        }
    }
}

/// An internal key prefix parsed from the `get`/`scan` key syntax. A newtype because clap
/// reads a bare `Vec<u8>` field as a list of numbers.
#[derive(Debug, Clone)]
pub struct KeyPrefix(Vec<u8>);

fn parse_key_prefix(s: &str) -> Result<KeyPrefix, String> {
    render::parse_key(s).map(KeyPrefix)
}

#[derive(Debug, clap::Args)]
pub struct WalArgs {
    /// A WAL segment file, or a data dir (every segment of DIR/wal/, in order).
    pub path: PathBuf,
    /// Only entries with sequence >= SEQ.
    #[arg(long, value_name = "SEQ")]
    pub from_seq: Option<u64>,
    /// Only entries with sequence <= SEQ.
    #[arg(long, value_name = "SEQ")]
    pub to_seq: Option<u64>,
    /// Only entries written at or after TIME (RFC 3339, e.g. 2024-05-01T12:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = inspect::parse_time)]
    pub since: Option<i64>,
    /// Only entries written at or before TIME (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = inspect::parse_time)]
    pub until: Option<i64>,
    /// Only entries of these types (repeat the flag or give a comma list).
    #[arg(long = "type", value_name = "TYPE", value_enum, value_delimiter = ',')]
    pub types: Vec<TypeArg>,
    /// Only entries whose key starts with P: `order:ID`, `trade:ID`, `account:ID`, `raw:HEX`
    /// (any internal key), `0xHEX` or text (a plain key). `order:` alone matches every order.
    #[arg(long, value_name = "P", value_parser = parse_key_prefix)]
    pub key_prefix: Option<KeyPrefix>,
    /// Show at most N entries (the whole log is still read for the summary).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Add each entry's raw bytes in hex, and with --json its stored key and value
    /// (`key_hex`, `value_hex`), e.g. to load the same entries into another store.
    #[arg(long)]
    pub hex: bool,
    /// JSON Lines: one object per entry ("entry") or problem ("damage"), then a "summary".
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SstArgs {
    /// The .sst file (read into memory, never mapped).
    pub file: PathBuf,
    /// Dump every entry, typed (key, sequence, value or tombstone, summary).
    #[arg(long)]
    pub keys: bool,
    /// List every block: kind, offset, size, checksum, entries.
    #[arg(long)]
    pub blocks: bool,
    /// JSON Lines: properties, blocks, entries, then a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// A data dir (the manifest CURRENT names) or a MANIFEST-NNNNNN file.
    pub path: PathBuf,
    /// JSON Lines: one object per edit, then a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DirArgs {
    /// The data dir.
    pub dir: PathBuf,
    /// One JSON object (type "summary") with the whole report.
    #[arg(long)]
    pub json: bool,
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Wal(a) => a.json,
            Command::Sst(a) => a.json,
            Command::Manifest(a) => a.json,
            Command::Dir(a) => a.json,
        }
    }
}

pub fn run(printer: &Printer, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Wal(a) => wal(printer, a),
        Command::Sst(a) => sst(printer, &a),
        Command::Manifest(a) => manifest(printer, &a),
        Command::Dir(a) => dir(printer, &a),
    }
}

/// One JSON Lines object: `{"schema": 1, "type": ..., <body's fields>}`.
#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    schema: u32,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

fn json_line<T: Serialize>(printer: &Printer, kind: &str, body: &T) {
    printer.json(&Line {
        schema: 1,
        kind,
        body,
    });
}

/// Fixed-width columns for rows printed as they are read; the last column is not padded.
struct Columns(&'static [(&'static str, usize, bool)]);

impl Columns {
    fn header(&self) -> String {
        let cells: Vec<String> = self.0.iter().map(|(h, _, _)| (*h).to_string()).collect();
        self.row(&cells)
    }

    fn row(&self, cells: &[String]) -> String {
        let mut out = String::new();
        let last = self.0.len().saturating_sub(1);
        for (i, ((_, width, right), cell)) in self.0.iter().zip(cells).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if i == last {
                out.push_str(cell);
            } else if *right {
                out.push_str(&format!("{cell:>width$}"));
            } else {
                out.push_str(&format!("{cell:<width$}"));
            }
        }
        out.trim_end().to_string()
    }
}

const WAL_COLUMNS: Columns = Columns(&[
    ("OFFSET", 8, true),
    ("SEQ", 10, true),
    ("TERM", 4, true),
    ("TIME", 24, false),
    ("TYPE", 10, false),
    ("KEY", 20, false),
    ("SUMMARY", 0, false),
]);

const WAL_HEX_COLUMNS: Columns = Columns(&[
    ("OFFSET", 8, true),
    ("SEQ", 10, true),
    ("TERM", 4, true),
    ("TIME", 24, false),
    ("TYPE", 10, false),
    ("KEY", 20, false),
    ("SUMMARY", 56, false),
    ("HEX", 0, false),
]);

/// A problem met in the middle of a dump, as a row of its own.
fn problem_line(f: &Finding) -> String {
    let (label, kind) = match f.kind {
        FindingKind::TornTail => ("DAMAGE", "torn tail (a write cut by a crash)"),
        FindingKind::Damage => ("DAMAGE", "damage in synced data"),
        FindingKind::MissingEntries => ("MISSING", "missing entries"),
    };
    format!(
        "{:>8}  {label:<10}  {kind}, bytes {}..{}: {}",
        f.offset, f.offset, f.end, f.what
    )
}

fn wal(printer: &Printer, a: WalArgs) -> anyhow::Result<Exit> {
    let filter = WalFilter {
        from_seq: a.from_seq,
        to_seq: a.to_seq,
        since_ns: a.since,
        until_ns: a.until,
        types: a.types.iter().map(|t| EntryType::from(*t)).collect(),
        key_prefix: a.key_prefix.map(|k| k.0),
        limit: a.limit,
        hex: a.hex,
    };
    let columns = if a.hex {
        &WAL_HEX_COLUMNS
    } else {
        &WAL_COLUMNS
    };
    let mut printed_header = false;
    let mut segment: Option<PathBuf> = None;
    let mut on_row = |row: WalRow| {
        if printer.json {
            match &row {
                WalRow::Entry(e) => json_line(printer, "entry", e),
                WalRow::Problem(f) => json_line(printer, "damage", f),
            }
            return !pipe_closed();
        }
        let seg = match &row {
            WalRow::Entry(e) => &e.segment,
            WalRow::Problem(f) => &f.file,
        };
        if segment.as_ref() != Some(seg) {
            printer.line(format!("── {}", seg.display()));
            segment = Some(seg.clone());
        }
        if !printed_header {
            printer.line(columns.header());
            printed_header = true;
        }
        match &row {
            WalRow::Entry(e) => {
                let mut cells = vec![
                    e.offset.to_string(),
                    e.seq.to_string(),
                    e.term.to_string(),
                    e.time.clone(),
                    e.entry_type.to_string(),
                    e.key.clone(),
                    e.summary.clone(),
                ];
                if let Some(h) = &e.hex {
                    cells.push(h.clone());
                }
                printer.line(columns.row(&cells));
            }
            WalRow::Problem(f) => printer.line(problem_line(f)),
        }
        !pipe_closed()
    };
    let summary = inspect::inspect_wal(&a.path, &filter, &mut on_row)?;
    print_wal_summary(printer, &summary);
    match summary.damage_error() {
        Some(e) => Err(e.into()),
        None => Ok(Exit::Ok),
    }
}

/// ", of which N of records" when segments are longer than their records: the active segment
/// is preallocated (format/wal.rs), and an operator should not read 64 MiB as 64 MiB of log.
fn preallocated_note(segments: impl Iterator<Item = (u64, u64)>) -> String {
    let (file, records) = segments.fold((0, 0), |(f, r), (b, rb)| (f + b, r + rb));
    if records < file {
        format!(", of which {} of records", human_bytes(records))
    } else {
        String::new()
    }
}

/// One row per WAL segment, for `inspect wal` and `inspect dir`.
fn segment_table(first_header: &str, segments: &[inspect::WalSegment]) -> comfy_table::Table {
    let mut t = table(&[
        first_header,
        "first seq",
        "record bytes",
        "file bytes",
        "entries",
        "sealed",
        "end",
    ]);
    for seg in segments {
        t.add_row(vec![
            seg.path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            seg.first_seq.map_or_else(|| "-".into(), |v| v.to_string()),
            seg.records_bytes.to_string(),
            seg.bytes.to_string(),
            seg.entries.to_string(),
            if seg.sealed { "yes" } else { "no" }.to_string(),
            seg.end.clone(),
        ]);
    }
    t
}

fn print_wal_summary(printer: &Printer, s: &WalSummary) {
    json_line(printer, "summary", s);
    if s.segments.len() > 1 || s.segments.iter().any(|seg| seg.end != "clean") {
        let t = segment_table("segment", &s.segments);
        printer.table(&t);
    }
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let seq = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| v.to_string());
    let mut rows = vec![
        ("entries", s.entries.to_string()),
        ("shown", s.shown.to_string()),
        (
            "bytes",
            format!(
                "{} in {} segment{}{}",
                human_bytes(s.bytes),
                s.segments.len(),
                if s.segments.len() == 1 { "" } else { "s" },
                preallocated_note(s.segments.iter().map(|g| (g.bytes, g.records_bytes)))
            ),
        ),
        ("first seq", seq(s.first_seq)),
        ("last seq", seq(s.last_seq)),
        ("first time", or_dash(&s.first_time)),
        ("last time", or_dash(&s.last_time)),
    ];
    if let Some(c) = s.checkpoint_seq {
        rows.push(("checkpoint seq", c.to_string()));
    }
    rows.push(("end", s.end.clone()));
    for n in &s.notes {
        rows.push(("note", n.clone()));
    }
    if !s.complete {
        rows.push(("note", "stopped early: output was closed".into()));
    }
    printer.table(&kv_table(&rows));
}

#[derive(Serialize)]
struct SstSummaryLine<'a> {
    file: &'a PathBuf,
    bytes: u64,
    blocks: usize,
    damaged_blocks: usize,
    entries_read: Option<u64>,
    damage: Option<&'a inspect::Damage>,
}

fn sst(printer: &Printer, a: &SstArgs) -> anyhow::Result<Exit> {
    let sst = match inspect::open_sst(&a.file) {
        Ok(s) => s,
        Err(e) => {
            // Footer, index, bloom or properties unreadable: nothing past the size can be
            // trusted, so say that much and the damage.
            let damage = inspect::sst_open_damage(e)?;
            let bytes = std::fs::metadata(&a.file).map_or(0, |m| m.len());
            json_line(
                printer,
                "summary",
                &SstSummaryLine {
                    file: &a.file,
                    bytes,
                    blocks: 0,
                    damaged_blocks: 0,
                    entries_read: None,
                    damage: Some(&damage),
                },
            );
            printer.table(&kv_table(&[
                ("file", a.file.display().to_string()),
                ("size", format!("{bytes} bytes")),
                (
                    "damage",
                    format!("at offset {}: {}", damage.offset, damage.what),
                ),
            ]));
            return Err(damage.to_error().into());
        }
    };
    let p = inspect::sst_summary(&sst);
    json_line(printer, "properties", &p);
    let blocks = inspect::sst_blocks(&sst);
    let damaged = blocks.iter().filter(|b| !b.checksum_ok).count();
    let mut damage = inspect::sst_block_damage(&sst, &blocks);
    let mut rows = vec![
        ("file", p.path.display().to_string()),
        (
            "level",
            match p.name_level {
                Some(n) if n != p.level => {
                    format!("{} (the file name says {n})", p.level)
                }
                _ => p.level.to_string(),
            },
        ),
        ("key range", format!("{} .. {}", p.smallest, p.largest)),
        ("seq range", format!("{} .. {}", p.min_seq, p.max_seq)),
        ("entries", p.entries.to_string()),
        ("tombstones", p.tombstones.to_string()),
        (
            "blocks",
            format!(
                "{} data + index, bloom, properties; {}",
                p.data_blocks,
                if damaged == 0 {
                    "all checksums ok".to_string()
                } else {
                    format!("{damaged} FAIL their checksum")
                }
            ),
        ),
        ("bloom bits/key", p.bloom_bits_per_key.to_string()),
        (
            "format",
            format!(
                "version {}, data blocks {}: {} stored for {} ({})",
                p.format_version,
                p.compression,
                human_bytes(p.stored_data_bytes),
                human_bytes(p.raw_data_bytes),
                ratio(p.raw_data_bytes, p.stored_data_bytes)
            ),
        ),
        (
            "size",
            format!(
                "{} ({} bytes; keys {}, values {})",
                human_bytes(p.file_size),
                p.file_size,
                human_bytes(p.raw_key_bytes),
                human_bytes(p.raw_value_bytes)
            ),
        ),
        ("created", p.created.clone()),
    ];
    if let Some(d) = &damage {
        rows.push(("damage", format!("at offset {}: {}", d.offset, d.what)));
    }
    printer.table(&kv_table(&rows));

    if a.blocks {
        let mut t = table(&[
            "kind",
            "offset",
            "size",
            "compression",
            "ratio",
            "checksum",
            "entries",
            "last key",
        ]);
        for b in &blocks {
            json_line(printer, "block", b);
            t.add_row(vec![
                b.kind.to_string(),
                b.offset.to_string(),
                b.size.to_string(),
                b.compression.unwrap_or("?").to_string(),
                b.raw_size
                    .map_or_else(|| "-".into(), |raw| ratio(raw, b.size)),
                if b.checksum_ok { "ok" } else { "FAILED" }.to_string(),
                b.entries.map_or_else(|| "-".into(), |n| n.to_string()),
                b.last_key.clone().unwrap_or_default(),
            ]);
        }
        printer.table(&t);
    }

    let mut entries_read = None;
    if a.keys {
        const COLUMNS: Columns = Columns(&[
            ("KEY", 28, false),
            ("SEQ", 10, true),
            ("KIND", 9, false),
            ("SUMMARY", 0, false),
        ]);
        printer.line(COLUMNS.header());
        let mut n = 0u64;
        for row in inspect::sst_entries(&sst) {
            match row {
                SstRow::Entry(e) => {
                    n += 1;
                    json_line(printer, "entry", &e);
                    printer.line(COLUMNS.row(&[
                        e.key.clone(),
                        e.seq.to_string(),
                        e.kind.to_string(),
                        e.summary.clone(),
                    ]));
                }
                SstRow::Damage(d) => {
                    json_line(printer, "damage", &d);
                    printer.line(format!("DAMAGE at offset {}: {}", d.offset, d.what));
                    damage.get_or_insert(d);
                }
            }
            if pipe_closed() {
                break;
            }
        }
        entries_read = Some(n);
    }
    json_line(
        printer,
        "summary",
        &SstSummaryLine {
            file: &p.path,
            bytes: p.file_size,
            blocks: blocks.len(),
            damaged_blocks: damaged,
            entries_read,
            damage: damage.as_ref(),
        },
    );
    match damage {
        Some(d) => Err(d.to_error().into()),
        None => Ok(Exit::Ok),
    }
}

/// How many times smaller the stored bytes are, as "2.93x".
fn ratio(raw: u64, stored: u64) -> String {
    if stored == 0 {
        return "-".into();
    }
    format!("{:.2}x", raw as f64 / stored as f64)
}

fn manifest(printer: &Printer, a: &ManifestArgs) -> anyhow::Result<Exit> {
    let r = inspect::inspect_manifest(&a.path)?;
    print_manifest(printer, &r)?;
    match r.damage_error() {
        Some(e) => Err(e.into()),
        None => Ok(Exit::Ok),
    }
}

fn print_manifest(printer: &Printer, r: &ManifestReport) -> anyhow::Result<()> {
    for e in &r.edits {
        json_line(printer, "edit", e);
    }
    if printer.json {
        // Edits went out as their own lines; the summary carries everything else.
        let mut v = serde_json::to_value(r)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("edits");
            o.insert("edits".into(), r.edits.len().into());
        }
        json_line(printer, "summary", &v);
    }
    let mut rows = vec![];
    if r.dir.is_some() {
        rows.push((
            "CURRENT",
            r.current
                .as_ref()
                .map_or_else(|| "(unreadable)".into(), |c| format!("→ {c}")),
        ));
    }
    rows.push((
        "manifest",
        r.manifest
            .as_ref()
            .map_or_else(|| "(none)".into(), |m| m.display().to_string()),
    ));
    rows.push((
        "bytes",
        format!("{} (valid up to {})", r.bytes, r.valid_len),
    ));
    rows.push(("edits", r.edits.len().to_string()));
    rows.push((
        "torn tail",
        r.torn_tail_at.map_or_else(
            || "none".into(),
            |at| format!("at offset {at}: a final record cut by a crash, never acted on (ignored)"),
        ),
    ));
    if let Some(s) = &r.state {
        rows.push(("history id", s.history_id.clone()));
        rows.push(("flushed seq", s.flushed_seq.to_string()));
        rows.push(("last seq", s.last_seq.to_string()));
        rows.push(("next file", s.next_file_no.to_string()));
        rows.push(("live files", s.live_files.to_string()));
    }
    for d in &r.damage {
        rows.push((
            "damage",
            format!("{} at offset {}: {}", d.file.display(), d.offset, d.what),
        ));
    }
    for n in &r.notes {
        rows.push(("note", n.clone()));
    }
    printer.table(&kv_table(&rows));

    if !r.edits.is_empty() {
        let mut t = table(&[
            "offset",
            "history id",
            "flushed seq",
            "next file",
            "last seq",
            "files added (+) and deleted (-)",
        ]);
        let opt = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
        for e in &r.edits {
            let mut changes: Vec<String> = e
                .added
                .iter()
                .map(|f| {
                    format!(
                        "+ L{} {} {} keys {} .. {} seqs {}..{} ({} entries)",
                        f.level,
                        f.name,
                        human_bytes(f.size),
                        f.smallest,
                        f.largest,
                        f.min_seq,
                        f.max_seq,
                        f.entries
                    )
                })
                .collect();
            changes.extend(
                e.deleted
                    .iter()
                    .map(|d| format!("- L{} {}", d.level, d.name)),
            );
            t.add_row(vec![
                e.offset.to_string(),
                e.history_id.clone().unwrap_or_default(),
                opt(e.flushed_seq),
                opt(e.next_file_no),
                opt(e.last_seq),
                changes.join("\n"),
            ]);
        }
        printer.table(&t);
    }
    Ok(())
}

fn dir(printer: &Printer, a: &DirArgs) -> anyhow::Result<Exit> {
    let r = inspect::inspect_dir(&a.dir)?;
    print_dir(printer, &r);
    match r.damage_error() {
        Some(e) => Err(e.into()),
        None => Ok(Exit::Ok),
    }
}

fn print_dir(printer: &Printer, r: &DirReport) {
    json_line(printer, "summary", r);
    let opt = |v: Option<u64>| v.map_or_else(|| "-".into(), |v| v.to_string());
    let mut rows = vec![
        ("dir", r.dir.display().to_string()),
        ("manifest", r.manifest.clone().unwrap_or_else(|| "-".into())),
        (
            "history id",
            r.history_id.clone().unwrap_or_else(|| "-".into()),
        ),
        ("checkpoint seq", opt(r.checkpoint_seq)),
        ("last seq (manifest)", opt(r.last_seq)),
        ("next file", opt(r.next_file_no)),
        (
            "SSTs",
            format!("{} files, {}", r.sst_files, human_bytes(r.sst_bytes)),
        ),
        (
            "space amplification",
            r.space_amplification.map_or_else(
                || "- (no SSTs)".into(),
                |x| {
                    format!(
                        "{x:.2}x (estimate: total SST bytes / bytes of the last non-empty level)"
                    )
                },
            ),
        ),
        (
            "WAL",
            format!(
                "{} segments, {}{}; {}",
                r.wal_segments.len(),
                human_bytes(r.wal_segments.iter().map(|s| s.bytes).sum()),
                preallocated_note(r.wal_segments.iter().map(|g| (g.bytes, g.records_bytes))),
                r.wal_end
            ),
        ),
    ];
    if let Some(raft) = &r.raft {
        rows.push((
            "cluster node",
            format!(
                "node {} of cluster {}; vote {}; committed index {}; purged through {} \
                 (the WAL is its Raft log: seqs are log indexes)",
                raft.node_id,
                raft.cluster_id.as_deref().unwrap_or("- (not initialised)"),
                raft.vote.as_deref().unwrap_or("none"),
                opt(raft.committed_index),
                opt(raft.purged_index),
            ),
        ));
    }
    for n in &r.notes {
        rows.push(("note", n.clone()));
    }
    printer.table(&kv_table(&rows));

    let mut t = table(&["level", "files", "bytes", "smallest", "largest", "seqs"]);
    for l in &r.levels {
        t.add_row(vec![
            format!("L{}", l.level),
            l.files.to_string(),
            if l.files == 0 {
                "0".into()
            } else {
                human_bytes(l.bytes)
            },
            l.smallest.clone().unwrap_or_default(),
            l.largest.clone().unwrap_or_default(),
            match (l.min_seq, l.max_seq) {
                (Some(lo), Some(hi)) => format!("{lo}..{hi}"),
                _ => String::new(),
            },
        ]);
    }
    printer.table(&t);

    if !r.wal_segments.is_empty() {
        let t = segment_table("WAL segment", &r.wal_segments);
        printer.table(&t);
    }

    match &r.snapshots {
        None => printer.line("snapshots: none (no snapshots/ dir)"),
        Some(snaps) if snaps.is_empty() => printer.line("snapshots: none"),
        Some(snaps) => {
            let mut t = table(&["snapshot", "bytes"]);
            for s in snaps {
                t.add_row(vec![s.name.clone(), s.bytes.to_string()]);
            }
            printer.table(&t);
        }
    }

    if !r.damage.is_empty() {
        let mut t = table(&["damage", "offset", "what"]);
        for d in &r.damage {
            t.add_row(vec![
                d.file.display().to_string(),
                d.offset.to_string(),
                d.what.clone(),
            ]);
        }
        printer.table(&t);
    }
}
