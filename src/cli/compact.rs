use std::path::PathBuf;

use crate::error::Exit;
use crate::format::sst::Compression;
use crate::ops::compact::{self, CompactOptions, CompactReport, LevelShape};
use crate::output::{Printer, human_bytes, kv_table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir (stopped: compact takes its exclusive lock).
    pub dir: PathBuf,
    /// Compact only this level into the next one; default: every level into the deepest.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub level: Option<u8>,
    /// How the rewritten tables store data blocks: zstd, zstd:LEVEL or none. Every table
    /// compacted is rewritten in the current format (version 2).
    #[arg(long, value_name = "CODEC", default_value = "zstd")]
    pub sst_compression: Compression,
    /// Key ranges merged at once; default: the number of cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let opts = CompactOptions {
        level: args.level.map(usize::from),
        compression: args.sst_compression,
        threads: args
            .threads
            .map_or_else(compact::default_threads, usize::from),
    };
    let bar = printer.progress(0, "compacting");
    let progress_bar = bar.clone();
    let progress = move |done: u64, total: u64| {
        progress_bar.set_length(total);
        progress_bar.set_position(done);
    };
    let report = compact::run(&args.dir, opts, &progress);
    bar.finish_and_clear();
    print_report(printer, &report?);
    Ok(Exit::Ok)
}

fn shape(levels: &[LevelShape]) -> String {
    if levels.is_empty() {
        return "empty".into();
    }
    levels
        .iter()
        .map(|l| format!("L{}: {} ({})", l.level, l.files, human_bytes(l.bytes)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn print_report(printer: &Printer, r: &CompactReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "compact", "report": r }));
    let s = &r.summary;
    let rows = vec![
        ("data dir", r.dir.display().to_string()),
        (
            "scope",
            match s.output_level {
                Some(l) => format!("{} -> L{l}", r.scope),
                None => format!("{}: nothing to compact", r.scope),
            },
        ),
        (
            "threads",
            format!("{} ({} key ranges)", r.threads, s.ranges),
        ),
        (
            "WAL entries flushed first",
            r.wal_entries_flushed.to_string(),
        ),
        ("files", format!("{} in -> {} out", s.files_in, s.files_out)),
        (
            "bytes",
            format!(
                "{} in -> {} out",
                human_bytes(s.bytes_in),
                human_bytes(s.bytes_out)
            ),
        ),
        (
            "entries",
            format!("{} in -> {} out", s.entries_in, s.entries_out),
        ),
        (
            "overwritten versions dropped",
            s.overwritten_dropped.to_string(),
        ),
        ("tombstones dropped", s.tombstones_dropped.to_string()),
        ("levels before", shape(&r.levels_before)),
        ("levels after", shape(&r.levels_after)),
        (
            "duration",
            format!(
                "{:.3} s ({:.0} MB/s in); {:.3} s with open and flush",
                r.duration.as_secs_f64(),
                r.mb_per_sec,
                r.total_duration.as_secs_f64()
            ),
        ),
    ];
    printer.table(&kv_table(&rows));
}
