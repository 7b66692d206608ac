use std::path::PathBuf;

use crate::error::{Error, Exit};
use crate::ops::verify::{self, VerifyReport};
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir (a stopped or crashed one; nothing in it is written).
    pub dir: PathBuf,
    /// Print JSON lines: one `finding` per problem, then a `summary`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let report = verify::verify(&args.dir)?;
    print_report(printer, &report);
    let Some(first) = report.first_error() else {
        return Ok(Exit::Ok);
    };
    // One line for cron mail: the first error with its place, and how many there are.
    let (errors, warnings) = (report.errors(), report.warnings());
    Err(Error::corruption(
        &first.file,
        first.offset,
        format!(
            "{} ({errors} error{} and {warnings} warning{} in total; `drkit verify {}` lists them)",
            first.what,
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
            args.dir.display()
        ),
    )
    .with_hint(format!("to fix: {}", first.fix))
    .into())
}

/// One JSON line: the schema and type tags, then the fields of `body` at the top level, so
/// `jq 'select(.type == "finding") | .file'` works.
#[derive(serde::Serialize)]
struct Line<'a, T: serde::Serialize> {
    schema: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    dir: &'a std::path::Path,
    ok: bool,
    errors: usize,
    warnings: usize,
    #[serde(flatten)]
    counts: &'a verify::Counts,
    duration_s: f64,
    mb_per_sec: f64,
}

fn print_report(printer: &Printer, r: &VerifyReport) {
    for f in &r.findings {
        printer.json(&Line {
            schema: 1,
            kind: "finding",
            body: f,
        });
    }
    printer.json(&Line {
        schema: 1,
        kind: "summary",
        body: &Summary {
            dir: &r.dir,
            ok: r.errors() == 0,
            errors: r.errors(),
            warnings: r.warnings(),
            counts: &r.counts,
            duration_s: r.duration.as_secs_f64(),
            mb_per_sec: r.mb_per_sec(),
        },
    });

    let c = &r.counts;
    let verdict = match (r.errors(), r.warnings()) {
        (0, 0) => "ok: every checksum and cross-check passed".to_string(),
        (0, w) => format!("ok, with {w} warning(s)"),
        (e, w) => format!("DAMAGED: {e} error(s), {w} warning(s)"),
    };
    printer.table(&kv_table(&[
        ("result", verdict),
        (
            "files",
            format!(
                "{} ({} SSTables, {} WAL segments, {} snapshots)",
                c.files, c.sst_files, c.wal_segments, c.snapshots
            ),
        ),
        ("manifest records", c.manifest_records.to_string()),
        ("blocks", c.blocks.to_string()),
        ("entries", c.entries.to_string()),
        ("read", human_bytes(c.bytes_read)),
        (
            "duration",
            format!(
                "{:.3} s ({:.0} MB/s)",
                r.duration.as_secs_f64(),
                r.mb_per_sec()
            ),
        ),
    ]));
    if !r.findings.is_empty() {
        let mut t = table(&["severity", "file", "offset", "what", "fix"]);
        for f in &r.findings {
            t.add_row(vec![
                f.severity.name().to_string(),
                f.file.display().to_string(),
                f.offset.to_string(),
                f.what.clone(),
                f.fix.clone(),
            ]);
        }
        printer.table(&t);
    }
}
