//! `drkit wal archive`: continuous WAL archiving into a backup repository.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::backup::archive::{Action, ArchiveOptions, ArchiveReport, Archiver, disable};
use crate::error::{Error, Exit};
use crate::output::{Printer, human_bytes, table};

use super::backup::parse_duration;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Copy the WAL into a backup repository for point-in-time restore: every closed segment,
    /// and the growing one up to its last complete entry, so a run from cron every N minutes
    /// loses at most N minutes of writes. The first run turns on the engine's hold: from then
    /// on it keeps every segment until it is archived (DIR/ARCHIVE_STATUS; --disable turns it
    /// off).
    Archive(ArchiveArgs),
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Archive(a) => a.json,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    /// The data dir; may be in use by a running engine (no lock is taken on it).
    #[arg(long)]
    pub data: PathBuf,
    /// Keep running: look again every --poll until SIGTERM or SIGINT (then exit 0). Silent
    /// but for errors and gap warnings unless -v.
    #[arg(long, conflicts_with = "disable")]
    pub follow: bool,
    /// How often --follow looks for new WAL (`500ms`, `1s`, `5s`).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub poll: Duration,
    /// zstd level, 1 (fastest) to 22 (smallest).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub compress_level: i32,
    /// Wait this long for another archiver of the same history instead of failing at once
    /// with exit 11.
    #[arg(long, value_parser = parse_duration)]
    pub lock_wait: Option<Duration>,
    /// Turn archiving off for the data dir: remove DIR/ARCHIVE_STATUS, so the engine deletes
    /// flushed segments again without waiting for the archive.
    #[arg(long)]
    pub disable: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Archive(a) => archive(printer, a),
    }
}

fn archive(printer: &Printer, a: ArchiveArgs) -> anyhow::Result<Exit> {
    if a.disable {
        let removed = disable(&a.data)?;
        printer.json(&serde_json::json!({ "schema": 1, "type": "wal-archive-disabled", "data": a.data, "was_enabled": removed }));
        printer.line(if removed {
            format!(
                "archiving turned off for {}: the engine no longer waits for the archive before deleting flushed WAL",
                a.data.display()
            )
        } else {
            format!("archiving was not on for {}", a.data.display())
        });
        return Ok(Exit::Ok);
    }
    let opts = ArchiveOptions {
        compress_level: a.compress_level,
        lock_wait: a.lock_wait.unwrap_or_default(),
    };
    let mut archiver = Archiver::open(&a.repo.location()?, &a.data, opts)?;
    if !a.follow {
        let report = archiver.run(true)?;
        print_report(printer, &report);
        return Ok(warn_gaps(printer, &report));
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .map_err(|e| Error::InvalidInput(format!("cannot install a signal handler: {e}")))?;
    }
    let mut exit = Exit::Ok;
    let mut warned = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let report = archiver.run(true)?;
        if report.changed() {
            printer
                .json(&serde_json::json!({ "schema": 1, "type": "wal-archive", "report": report }));
            for s in &report.segments {
                if matches!(s.action, Action::Archived | Action::Partial) {
                    printer.verbose(format!(
                        "{} {} seq {}..={} ({} entries, {})",
                        action_name(s.action),
                        s.name,
                        s.first_seq,
                        s.last_seq,
                        s.entries,
                        human_bytes(s.size)
                    ));
                }
            }
        }
        if !report.gaps.is_empty() && report.gaps != warned {
            exit = warn_gaps(printer, &report);
            warned = report.gaps.clone();
        }
        let until = Instant::now() + a.poll;
        while !stop.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50).min(a.poll));
        }
    }
    printer.verbose("stopped by signal");
    Ok(exit)
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Archived => "archived",
        Action::Present => "already archived",
        Action::Partial => "archived (growing)",
        Action::PartialUnchanged => "unchanged (growing)",
    }
}

fn print_report(printer: &Printer, r: &ArchiveReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "wal-archive", "report": r }));
    let mut t = table(&[
        "segment",
        "seq range",
        "entries",
        "bytes",
        "stored",
        "action",
    ]);
    for s in &r.segments {
        t.add_row(vec![
            s.name.clone(),
            format!("{}..={}", s.first_seq, s.last_seq),
            s.entries.to_string(),
            human_bytes(s.size),
            human_bytes(s.stored_size),
            action_name(s.action).to_string(),
        ]);
    }
    if r.segments.is_empty() {
        printer.line("no WAL segment to archive yet");
    } else {
        printer.table(&t);
    }
    for p in &r.cleaned {
        printer.verbose(format!(
            "removed leftover of an interrupted run: {}",
            p.display()
        ));
    }
    let archived = r
        .segments
        .iter()
        .filter(|s| s.action == Action::Archived)
        .count();
    printer.line(format!(
        "{archived} segment(s) archived, history {}; the archive holds {}; the engine may delete WAL through seq {}",
        r.history_id,
        r.range
            .map_or_else(|| "nothing yet".into(), |(a, b)| format!("seq {a}..={b}")),
        r.archived_through
    ));
}

/// Gaps are a warning and exit 3: the archive is done but cannot restore across them.
fn warn_gaps(printer: &Printer, r: &ArchiveReport) -> Exit {
    if let Some(why) = &r.status_was_unreadable {
        printer.warn(format!(
            "drkit: warning: {} was unreadable ({why}); rewritten",
            r.data
                .join(crate::format::archive_status::FILE_NAME)
                .display()
        ));
    }
    if r.gaps.is_empty() {
        return Exit::Ok;
    }
    for g in &r.gaps {
        printer.warn(format!(
            "drkit: warning: the archive of history {} has a gap: seq {}..={} is in no archived segment (before {}); point-in-time restore cannot cross it: take a new backup",
            r.history_id, g.from_seq, g.to_seq, g.before
        ));
    }
    Exit::DataDropped
}
