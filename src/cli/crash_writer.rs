use std::io::Write;
use std::path::PathBuf;

use crate::engine::{Options, SyncPolicy};
use crate::error::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    #[arg(long, default_value_t = 0)]
    pub value_size: usize,
    #[arg(long, default_value = "always")]
    pub sync: SyncPolicy,
    /// Small values exercise flushes, compactions and WAL retirement under crashes.
    #[arg(long)]
    pub memtable_bytes: Option<usize>,
    #[arg(long)]
    pub wal_segment_bytes: Option<u64>,
}

/// Prints `INDEX SEQ` after each acknowledged write; the parent kills us at some point.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let defaults = Options::default();
    let opts = Options {
        sync: args.sync,
        memtable_bytes: args.memtable_bytes.unwrap_or(defaults.memtable_bytes),
        wal_segment_bytes: args.wal_segment_bytes.unwrap_or(defaults.wal_segment_bytes),
        sst_target_bytes: args
            .memtable_bytes
            .map_or(defaults.sst_target_bytes, |m| m as u64),
        l1_target_bytes: args
            .memtable_bytes
            .map_or(defaults.l1_target_bytes, |m| 4 * m as u64),
        ..defaults
    };
    crate::bench::crash_writer(
        &args.dir,
        opts,
        args.seed,
        args.records,
        args.value_size,
        |index, seq, _op| {
            writeln!(out, "{index} {seq}")?;
            out.flush()
        },
    )?;
    Ok(Exit::Ok)
}
