use std::path::PathBuf;

use crate::engine::snapshot::{self, SnapshotFile};
use crate::engine::{Engine, Options, load_state};
use crate::error::Exit;
use crate::format::snapshot::parse_snapshot_name;
use crate::io::DirLock;
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recover the dir if needed, then write a snapshot of everything above the checkpoint,
    /// so the next recovery replays only the WAL after it.
    Create(DirArgs),
    /// List snapshots with their sequence, checkpoint and health (changes nothing).
    List(DirArgs),
    /// Remove snapshots beyond the newest --keep and those the checkpoint has overtaken.
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct DirArgs {
    /// The data dir.
    pub dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// The data dir.
    pub dir: PathBuf,
    /// Usable snapshots to keep, newest first.
    #[arg(long, default_value_t = 2)]
    pub keep: usize,
    /// Show what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Create(a) | Command::List(a) => a.json,
            Command::Prune(a) => a.json,
        }
    }
}

pub fn run(printer: &Printer, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Create(a) => {
            let engine = Engine::open(
                &a.dir,
                Options {
                    create_if_missing: false,
                    background_work: false,
                    ..Options::default()
                },
            )?;
            let info = engine.create_snapshot()?;
            printer.json(
                &serde_json::json!({ "schema": 1, "type": "snapshot-created", "snapshot": info }),
            );
            match info {
                Some(i) => printer.table(&kv_table(&[
                    ("snapshot", i.path.display().to_string()),
                    ("sequence", i.seq.to_string()),
                    ("on checkpoint", i.base_checkpoint.to_string()),
                    ("entries", i.entries.to_string()),
                    ("size", human_bytes(i.bytes)),
                ])),
                None => printer.line("nothing above the checkpoint: recovery has nothing to replay, no snapshot written"),
            }
        }
        Command::List(a) => {
            let (state, _) = load_state(&a.dir)?;
            let files = snapshot::list(&a.dir)?;
            let mut t = table(&[
                "snapshot",
                "sequence",
                "on checkpoint",
                "entries",
                "size",
                "status",
            ]);
            for f in &files {
                let status = status(f, state.flushed_seq);
                printer.json(&serde_json::json!({ "schema": 1, "type": "snapshot", "file": f, "status": status }));
                let name = f
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let (seq, base, entries) = match &f.header {
                    Some(h) => (
                        h.seq.to_string(),
                        h.base_checkpoint.to_string(),
                        h.entries.to_string(),
                    ),
                    None => (
                        parse_snapshot_name(&name).map_or("?".into(), |s| s.to_string()),
                        "?".into(),
                        "?".into(),
                    ),
                };
                t.add_row(vec![name, seq, base, entries, human_bytes(f.bytes), status]);
            }
            printer.table(&t);
            printer.line(format!(
                "{} snapshots; checkpoint {}",
                files.len(),
                state.flushed_seq
            ));
        }
        Command::Prune(a) => {
            let _lock = DirLock::acquire(&a.dir)?;
            let (state, _) = load_state(&a.dir)?;
            let removed = snapshot::prune(&a.dir, a.keep, state.flushed_seq, a.dry_run)?;
            printer.json(&serde_json::json!({ "schema": 1, "type": "snapshot-prune", "dry_run": a.dry_run, "removed": removed }));
            for p in &removed {
                printer.line(format!(
                    "{} {}",
                    if a.dry_run { "would remove" } else { "removed" },
                    p.display()
                ));
            }
            if removed.is_empty() {
                printer.line("nothing to prune");
            }
        }
    }
    Ok(Exit::Ok)
}

fn status(f: &SnapshotFile, checkpoint: u64) -> String {
    match (&f.header, &f.problem) {
        (Some(h), _) if h.seq <= checkpoint => "obsolete (the checkpoint is past it)".into(),
        (Some(h), _) if h.base_checkpoint > checkpoint => {
            "unusable (taken on a checkpoint this dir lacks)".into()
        }
        (Some(_), _) => "ok".into(),
        (None, Some(p)) => format!("DAMAGED, skipped by recovery: {p}"),
        (None, None) => "DAMAGED".into(),
    }
}
