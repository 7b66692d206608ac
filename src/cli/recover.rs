use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::{Engine, FindingKind, Options, Outcome, RecoveryMode, RecoveryReport};
use crate::error::{Error, Exit};
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir.
    pub dir: PathBuf,
    /// What to do about damage in the WAL.
    #[arg(long, value_enum, default_value_t = RecoveryMode::TolerateTail)]
    pub mode: RecoveryMode,
    /// Analyse and report; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replayed data held in memory, like 4GiB; past it the oldest is written to L0 tables
    /// while replay goes on, so a WAL larger than RAM recovers. Default: a quarter of RAM.
    #[arg(long, value_name = "SIZE", value_parser = crate::cli::repo::parse_size)]
    pub memory_budget: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let opts = Options {
        recovery_mode: args.mode,
        dry_run: args.dry_run,
        create_if_missing: false,
        ..Options::default()
    };
    let opts = Options {
        recovery_memory_budget: args
            .memory_budget
            .map_or(opts.recovery_memory_budget, |b| b as u64),
        ..opts
    };
    let bar = printer.progress(0, "replaying WAL");
    let progress_bar = bar.clone();
    let progress = Arc::new(move |done: u64, total: u64| {
        progress_bar.set_length(total);
        progress_bar.set_position(done);
    });
    let report = Engine::recover(&args.dir, opts, Some(progress))?;
    bar.finish_and_clear();
    print_report(printer, &report);
    match report.outcome {
        Outcome::Clean | Outcome::TailTruncated => Ok(Exit::Ok),
        Outcome::Refused => Err(crate::engine::refusal(&report).into()),
        Outcome::DataDropped => Err(Error::DataDropped(format!(
            "{} entries and {} damaged bytes left out, first at {} offset {}; kept in {}",
            report.dropped_entries,
            report.dropped_bytes,
            report
                .findings
                .first()
                .map_or_else(String::new, |f| f.file.display().to_string()),
            report.findings.first().map_or(0, |f| f.offset),
            args.dir.join("lost").display()
        ))
        .into()),
    }
}

pub fn print_report(printer: &Printer, r: &RecoveryReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "recovery", "report": r }));
    let outcome = match (r.outcome, r.dry_run) {
        (Outcome::Clean, _) => "clean: the log ended where it should".to_string(),
        (Outcome::TailTruncated, false) => {
            "recovered: a torn, unacknowledged tail was cut off (moved to lost/)".to_string()
        }
        (Outcome::TailTruncated, true) => "would cut off a torn, unacknowledged tail".to_string(),
        (Outcome::DataDropped, false) => "recovered with data dropped (moved to lost/)".to_string(),
        (Outcome::DataDropped, true) => "would drop data (see findings)".to_string(),
        (Outcome::Refused, _) => format!("refused by mode {}: nothing was changed", r.mode),
    };
    let mut rows = vec![
        ("outcome", outcome),
        (
            "mode",
            format!("{}{}", r.mode, if r.dry_run { " (dry run)" } else { "" }),
        ),
        ("checkpoint seq", r.checkpoint_seq.to_string()),
        (
            "WAL",
            format!(
                "{} in {} segments",
                human_bytes(r.wal_bytes),
                r.segments.len()
            ),
        ),
        ("replayed", r.replayed.to_string()),
        ("skipped (<= checkpoint)", r.skipped.to_string()),
        ("dropped entries", r.dropped_entries.to_string()),
        ("dropped bytes", r.dropped_bytes.to_string()),
        ("last applied seq", r.last_applied_seq.to_string()),
        (
            "memory budget",
            if r.written_during_replay > 0 {
                format!(
                    "{}: exceeded, {} L0 tables written while replaying{}",
                    human_bytes(r.memory_budget),
                    r.written_during_replay,
                    if r.outcome == Outcome::Refused {
                        " (removed again)"
                    } else {
                        ""
                    }
                )
            } else {
                format!(
                    "{}: replayed data held in memory",
                    human_bytes(r.memory_budget)
                )
            },
        ),
        (
            "replay",
            format!(
                "{:.3} s ({:.0} MB/s): log read, checked and decided",
                r.duration.as_secs_f64(),
                r.mb_per_sec()
            ),
        ),
    ];
    if !r.dry_run && r.outcome != Outcome::Refused {
        rows.push((
            "ready",
            format!(
                "{:.3} s ({:.0} MB/s): the engine accepts reads and writes",
                r.ready.as_secs_f64(),
                r.ready_mb_per_sec()
            ),
        ));
    }
    if let (Some(d), Some(rate)) = (r.flushed, r.flushed_mb_per_sec()) {
        rows.push((
            "flushed",
            format!(
                "{:.3} s ({rate:.0} MB/s): everything replayed is in fsynced SSTs",
                d.as_secs_f64()
            ),
        ));
    }
    if let Some(s) = &r.snapshot {
        rows.push((
            "snapshot",
            format!(
                "seq {} ({} entries), WAL replayed after it: {}",
                s.seq,
                s.entries,
                s.path.display()
            ),
        ));
    }
    for s in &r.snapshots_skipped {
        rows.push((
            "snapshot SKIPPED",
            format!("{}: {}", s.path.display(), s.what),
        ));
    }
    for p in &r.moved_to_lost {
        rows.push(("moved to lost/", p.display().to_string()));
    }
    printer.table(&kv_table(&rows));
    if !r.findings.is_empty() {
        let mut t = table(&["finding", "file", "offset", "end", "what"]);
        for f in &r.findings {
            let kind = match f.kind {
                FindingKind::TornTail => "torn tail",
                FindingKind::Damage => "damage in synced data",
                FindingKind::MissingEntries => "missing entries",
            };
            t.add_row(vec![
                kind.to_string(),
                f.file.display().to_string(),
                f.offset.to_string(),
                f.end.to_string(),
                f.what.clone(),
            ]);
        }
        printer.table(&t);
    }
}
