use std::path::PathBuf;

use crate::error::{Error, Exit};
use crate::ops::repair::{self, RepairReport};
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir (stopped: repair takes its exclusive lock).
    pub dir: PathBuf,
    /// Carry the plan out. Without it, print the plan and change nothing.
    #[arg(long)]
    pub apply: bool,
    /// Print the plan or report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let report = if args.apply {
        repair::apply(&args.dir)?
    } else {
        repair::plan(&args.dir)?
    };
    print_report(printer, &report);
    if report.applied && report.dropped_data() {
        return Err(Error::DataDropped(format!(
            "the manifest was rebuilt without {} unreadable or missing table(s); unreadable ones are in {}",
            report.quarantined.len() + report.missing.len(),
            args.dir.join("lost").display()
        ))
        .into());
    }
    Ok(Exit::Ok)
}

fn seqs(min: u64, max: u64) -> String {
    format!("{min}..={max}")
}

pub fn print_report(printer: &Printer, r: &RepairReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "repair", "report": r }));
    let old = match (&r.old_manifest.name, &r.old_manifest.error) {
        (Some(name), _) => format!("{name} (live)"),
        (None, Some(e)) => format!("{}: {e}", r.old_manifest.status),
        (None, None) => r.old_manifest.status.to_string(),
    };
    let mut rows = vec![
        ("data dir", r.dir.display().to_string()),
        ("old manifest", old),
        (
            "tables",
            format!(
                "{} kept, {} quarantined, {} leftovers, {} missing, {} level changes",
                r.kept.len(),
                r.quarantined.len(),
                r.leftovers.len(),
                r.missing.len(),
                r.level_changes.len()
            ),
        ),
        (
            "checkpoint",
            match r.checkpoint_before {
                Some(b) if b != r.checkpoint => format!("{b} -> {}", r.checkpoint),
                _ => r.checkpoint.to_string(),
            },
        ),
        ("last seq", r.last_seq.to_string()),
        ("next file no", r.next_file_no.to_string()),
        (
            "history id",
            format!(
                "{} ({})",
                r.history_id
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                if r.history_kept { "kept" } else { "new" }
            ),
        ),
        (
            "WAL",
            format!(
                "{} segment(s) from seq {}, max seq {}, {} entries to replay above the checkpoint",
                r.wal.segments,
                r.wal.first_seq.map_or("-".into(), |s| s.to_string()),
                r.wal.max_seq,
                r.wal.to_replay
            ),
        ),
    ];
    if let Some(m) = &r.new_manifest {
        rows.push(("new manifest", m.clone()));
    }
    for p in &r.saved_to_lost {
        rows.push(("kept in lost/", p.display().to_string()));
    }
    for p in &r.ignored {
        rows.push(("ignored (not a table name)", p.display().to_string()));
    }
    for n in &r.notes {
        rows.push(("note", n.clone()));
    }
    printer.table(&kv_table(&rows));

    // The kept tables are the whole tree: shown when something changes, or with -v.
    if !r.kept.is_empty() && (!r.nothing_to_repair || printer.verbose > 0) {
        let mut t = table(&["level", "table", "entries", "seq range", "size"]);
        for k in &r.kept {
            t.add_row(vec![
                format!("L{}", k.level),
                k.name.clone(),
                k.meta.entries.to_string(),
                seqs(k.meta.min_seq, k.meta.max_seq),
                human_bytes(k.meta.size),
            ]);
        }
        printer.table(&t);
    }
    let moved: Vec<_> = r
        .quarantined
        .iter()
        .map(|q| ("unreadable", q))
        .chain(r.leftovers.iter().map(|q| ("leftover", q)))
        .collect();
    if !moved.is_empty() {
        let mut t = table(&["to lost/", "table", "offset", "why"]);
        for (kind, q) in moved {
            t.add_row(vec![
                kind.to_string(),
                q.moved_to.as_ref().map_or_else(
                    || q.path.display().to_string(),
                    |m| format!("{} -> {}", q.path.display(), m.display()),
                ),
                q.offset.to_string(),
                q.why.clone(),
            ]);
        }
        printer.table(&t);
    }
    for m in &r.missing {
        printer.line(format!(
            "missing: the manifest lists {m}, which is not in sst/; dropped from the tree"
        ));
    }
    if !r.level_changes.is_empty() {
        let mut t = table(&["table", "level", "new name", "why"]);
        for c in &r.level_changes {
            t.add_row(vec![
                c.from_name.clone(),
                format!("L{} -> L{}", c.from_level, c.to_level),
                c.to_name.clone(),
                c.why.clone(),
            ]);
        }
        printer.table(&t);
        printer.line(
            "tables moved to L0 can break level order for point reads: a full compaction (merging by sequence number) follows the rebuild",
        );
    }
    if let Some(c) = &r.compaction {
        printer.line(format!(
            "compacted: {} tables ({}) -> {} tables ({}) on L{}",
            c.summary.files_in,
            human_bytes(c.summary.bytes_in),
            c.summary.files_out,
            human_bytes(c.summary.bytes_out),
            c.summary.output_level.unwrap_or(0)
        ));
    }
    let verdict = match (r.nothing_to_repair, r.applied) {
        (true, _) => "nothing to repair: the live manifest matches the tables on disk".to_string(),
        (false, false) => "dry run: nothing changed, re-run with --apply".to_string(),
        (false, true) => format!(
            "repaired: {} written; the old manifest and CURRENT are kept in lost/",
            r.new_manifest.as_deref().unwrap_or("a new manifest")
        ),
    };
    printer.line(verdict);
}
