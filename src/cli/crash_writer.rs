use std::io::Write;
use std::path::PathBuf;

use crate::engine::SyncPolicy;
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
}

/// Prints `INDEX SEQ` after each acknowledged write; the parent kills us at some point.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    crate::bench::crash_writer(
        &args.dir,
        args.sync,
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
