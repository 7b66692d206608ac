use std::path::PathBuf;
use std::sync::Arc;

use crate::bench::{RecoverBenchConfig, WriteBenchConfig, build_wal, run_recover, run_write};
use crate::engine::SyncPolicy;
use crate::error::Exit;
use crate::output::{Printer, human_bytes, kv_table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write throughput and latency (group commit across --writers threads).
    Write(WriteArgs),
    /// Recovery speed: build a WAL, then time its replay.
    Recover(RecoverArgs),
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Write(a) => a.json,
            Command::Recover(a) => a.json,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// Keep the data here for inspection; default: a temporary dir, removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts).
    #[arg(long, default_value_t = 0)]
    pub value_size: usize,
    #[arg(long, default_value_t = 1)]
    pub writers: usize,
    /// always | interval:MS | never
    #[arg(long, default_value = "always")]
    pub sync: SyncPolicy,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// With --value-size: cycle over this many keys, so later writes overwrite earlier ones.
    #[arg(long, requires = "value_size")]
    pub keyspace: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Keep the data here; with an existing data dir and --records 0, recover that one.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    #[arg(long, default_value_t = 0)]
    pub value_size: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only build the WAL in --dir and stop, to recover it later (`drkit recover DIR`, or
    /// `bench recover --dir DIR --records 0` on a copy).
    #[arg(long, requires = "dir")]
    pub build_only: bool,
    /// Snapshot after the records, then write a tail of a tenth as many: measures recovery
    /// from a snapshot (compare with the same run without it).
    #[arg(long)]
    pub snapshot: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Write(a) => {
            if a.writers == 0 {
                anyhow::bail!("--writers must be at least 1");
            }
            let cfg = WriteBenchConfig {
                dir: a.dir,
                records: a.records,
                value_size: a.value_size,
                writers: a.writers,
                sync: a.sync,
                seed: a.seed,
                keyspace: a.keyspace,
            };
            let r = run_write(&cfg)?;
            printer.json(&serde_json::json!({ "schema": 1, "type": "bench-write", "report": r }));
            printer.table(&kv_table(&[
                ("records", r.records.to_string()),
                ("writers", r.writers.to_string()),
                ("sync", r.sync.clone()),
                ("ops/s", format!("{:.0}", r.ops_per_sec)),
                ("WAL MB/s", format!("{:.1}", r.mb_per_sec)),
                ("WAL bytes", human_bytes(r.wal_bytes)),
                (
                    "latency p50 / p99 / p999 / max",
                    format!(
                        "{:.1} / {:.1} / {:.1} / {:.1} µs",
                        r.p50_us, r.p99_us, r.p999_us, r.max_us
                    ),
                ),
                ("fsyncs", r.fsyncs.to_string()),
                ("avg group-commit batch", format!("{:.2}", r.avg_batch)),
                ("duration", format!("{:.2} s", r.seconds)),
            ]));
        }
        Command::Recover(a) => {
            let cfg = RecoverBenchConfig {
                dir: a.dir,
                records: a.records,
                value_size: a.value_size,
                seed: a.seed,
                snapshot: a.snapshot,
            };
            if a.build_only {
                let dir = cfg.dir.clone().unwrap_or_default();
                build_wal(&dir, &cfg)?;
                printer.line(format!(
                    "built a WAL of {} records in {}",
                    cfg.records,
                    dir.display()
                ));
                return Ok(Exit::Ok);
            }
            let bar = printer.progress(0, "replaying WAL");
            let b = bar.clone();
            let r = run_recover(
                &cfg,
                Some(Arc::new(move |done, total| {
                    b.set_length(total);
                    b.set_position(done);
                })),
            )?;
            bar.finish_and_clear();
            printer.json(&serde_json::json!({ "schema": 1, "type": "bench-recover", "report": r }));
            printer.table(&kv_table(&[
                (
                    "WAL",
                    format!("{} in {} segments", human_bytes(r.wal_bytes), r.segments),
                ),
                ("entries replayed", r.entries.to_string()),
                ("duration", format!("{:.3} s", r.seconds)),
                ("WAL replay MB/s", format!("{:.0}", r.wal_mb_per_sec)),
                ("records/s", format!("{:.0}", r.records_per_sec)),
                (
                    "started from snapshot",
                    r.snapshot_seq.map_or("no".into(), |s| format!("seq {s}")),
                ),
            ]));
        }
    }
    Ok(Exit::Ok)
}
