use std::path::PathBuf;
use std::time::Duration;

use super::backup::parse_duration;
use super::repo::S3Flags;
use crate::doctor::{self, Concern, DoctorOptions, DoctorReport, human_duration, prometheus};
use crate::error::{Error, Exit};
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir: a running engine's, a stopped or crashed one, or a cluster node's.
    /// Nothing in it is written and its lock is not taken.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The backup repository holding the dir's backups and WAL archive: a local dir, or
    /// s3://BUCKET[/PREFIX]. Nothing in it is written and its locks are not taken.
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX")]
    pub repo: Option<String>,
    #[command(flatten)]
    pub s3: S3Flags,
    /// Read every byte of the data dir and check every checksum (as `verify`); by default
    /// only headers, table footers and the log's end are read.
    #[arg(long)]
    pub deep: bool,
    /// Warn when the data dir's newest entry is more than this past the newest one the
    /// repository can restore (the loss if the machine died now), like 5m.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub max_rpo: Option<Duration>,
    /// Warn when the newest full backup is older than this.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "7d")]
    pub full_every: Duration,
    /// Warn when no backup (incremental or full) is newer than this.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "1d")]
    pub incr_every: Duration,
    /// Also write the verdict as metrics for node_exporter's textfile collector, replacing
    /// FILE atomically.
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// Measure ages as of this RFC 3339 time instead of now (tests, post-mortems).
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
    /// Print one JSON document: the sections, the window, the RPO and the findings.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let repo = match &args.repo {
        Some(r) => Some(args.s3.locate(r)?),
        None => None,
    };
    let mut opts = DoctorOptions::new(args.data.clone(), repo);
    opts.deep = args.deep;
    opts.max_rpo = args.max_rpo;
    opts.full_every = args.full_every;
    opts.incr_every = args.incr_every;
    if let Some(now) = &args.now {
        opts.now = chrono::DateTime::parse_from_rfc3339(now)
            .map_err(|e| Error::InvalidInput(format!("--now {now:?}: {e}")))?
            .to_utc();
    }
    let report = doctor::doctor(&opts)?;
    if let Some(path) = &args.prometheus {
        let now = opts.now.timestamp_millis() as f64 / 1000.0;
        prometheus::write(path, &prometheus::render(&report, now))?;
    }
    print_report(printer, &report);
    let Some(first) = report.first() else {
        return Ok(Exit::Ok);
    };
    let total = report.findings.len();
    let line = format!(
        "{}: {}; to fix: {} ({total} finding{} in total; `drkit doctor` lists them)",
        first.place,
        first.what,
        first.fix,
        if total == 1 { "" } else { "s" }
    );
    Err(match first.concern {
        Concern::Damage => Error::Damaged(line),
        Concern::Uncovered => Error::NotCovered(line),
        Concern::Late => Error::Warning(line),
    }
    .into())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// The report: JSON with --json, else a table per part, the findings and the verdict.
pub(super) fn print_report(printer: &Printer, r: &DoctorReport) {
    printer.json(&serde_json::json!({
        "schema": 1,
        "type": "doctor",
        "exit": r.exit().code(),
        "report": r,
    }));
    if let Some(d) = &r.data {
        let mut rows = vec![
            ("data dir", d.dir.display().to_string()),
            (
                "kind",
                if d.cluster {
                    "cluster node (WAL = Raft log)".into()
                } else {
                    "standalone".to_string()
                },
            ),
            ("checkpoint", opt(d.checkpoint_seq)),
            (
                "newest entry",
                match (d.last_seq, &d.last_entry_time) {
                    (Some(s), Some(t)) => format!("seq {s} ({t})"),
                    (Some(s), None) => format!("seq {s}"),
                    _ => "none".into(),
                },
            ),
            ("log end", d.log_end.clone()),
            (
                "WAL",
                format!(
                    "{} segment(s), {}",
                    d.wal_segments,
                    human_bytes(d.wal_bytes)
                ),
            ),
            (
                "tables",
                format!("{} ({})", d.sst_files, human_bytes(d.sst_bytes)),
            ),
            (
                "disk free",
                format!(
                    "{} (next flush + compaction: up to {})",
                    d.free_bytes.map_or_else(|| "unknown".into(), human_bytes),
                    human_bytes(d.next_flush_and_compaction_bytes)
                ),
            ),
        ];
        if let Some(read) = d.deep_bytes_read {
            rows.push(("deep check", format!("{} read", human_bytes(read))));
        }
        printer.table(&kv_table(&rows));
    }
    if let Some(repo) = &r.repo {
        let age = |b: &Option<doctor::BackupAge>| {
            b.as_ref().map_or_else(
                || "none".to_string(),
                |b| {
                    format!(
                        "{} ({} ago, through seq {})",
                        b.id,
                        human_duration(b.age_seconds),
                        b.last_seq
                    )
                },
            )
        };
        let mut rows = vec![
            ("repository", repo.location.clone()),
            (
                "backups",
                format!(
                    "{} ({} stored){}",
                    repo.backups,
                    human_bytes(repo.stored_bytes),
                    if repo.unreadable > 0 {
                        format!(", {} unreadable", repo.unreadable)
                    } else {
                        String::new()
                    }
                ),
            ),
            ("newest full", age(&repo.newest_full)),
            ("newest incremental", age(&repo.newest_incr)),
        ];
        if let Some(a) = &r.archive {
            rows.push((
                "WAL archive",
                format!(
                    "{} segment(s){}{}",
                    a.archived_segments,
                    a.archived_range
                        .map(|(f, l)| format!(", seq {f}..={l}"))
                        .unwrap_or_default(),
                    a.newest_archived_time
                        .as_ref()
                        .map(|t| format!(", newest entry {t}"))
                        .unwrap_or_default()
                ),
            ));
            rows.push(("archive gaps", a.gaps.len().to_string()));
        }
        if let Some(w) = &r.window {
            rows.push(("recoverable window", w.describe()));
        }
        if let Some(rpo) = &r.rpo {
            rows.push((
                "RPO now",
                format!(
                    "{} entries, {} of writes",
                    rpo.entries,
                    human_duration(rpo.seconds)
                ),
            ));
        }
        printer.table(&kv_table(&rows));
    }
    if !r.findings.is_empty() {
        let mut t = table(&["severity", "where", "what", "fix"]);
        for f in &r.findings {
            t.add_row(vec![
                f.severity.name().to_string(),
                f.place.clone(),
                f.what.clone(),
                f.fix.clone(),
            ]);
        }
        printer.table(&t);
    }
    printer.line(match (r.errors(), r.warnings()) {
        (0, 0) => "verdict: all well".to_string(),
        (0, w) => format!("verdict: {w} warning(s)"),
        (e, w) => format!("verdict: {e} error(s), {w} warning(s)"),
    });
}
