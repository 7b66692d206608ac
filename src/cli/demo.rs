use std::path::PathBuf;

use crate::bench::demo::{DemoConfig, DemoReport, run_demo};
use crate::error::Exit;
use crate::output::{Printer, human_bytes, kv_table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to build the data dir (kept afterwards). Default: a temporary dir, removed at the end.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Exchange records written before the crash phase.
    #[arg(long, default_value_t = 200_000)]
    pub records: u64,
    /// Seed of the workload generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let exe = std::env::current_exe()?;
    let cfg = DemoConfig {
        dir: args.dir,
        records: args.records,
        seed: args.seed,
        exe,
    };
    let report = run_demo(&cfg, &mut |step: &str| printer.line(format!("==> {step}")))?;
    print(printer, &report);
    if report.missing_acknowledged == 0 && report.wrong_values == 0 {
        Ok(Exit::Ok)
    } else {
        anyhow::bail!(
            "demo failed: {} acknowledged writes missing and {} wrong values after recovery",
            report.missing_acknowledged,
            report.wrong_values
        )
    }
}

fn print(printer: &Printer, r: &DemoReport) {
    super::recover::print_report(printer, &r.recovery);
    printer.line("==> every acknowledged write, checked after recovery:");
    printer.table(&kv_table(&[
        ("data dir", r.dir.display().to_string()),
        (
            "records before the crash phase",
            r.initial_records.to_string(),
        ),
        (
            "SSTs / bytes on disk",
            format!("{} / {}", r.sst_files, human_bytes(r.sst_bytes)),
        ),
        (
            "crash writer",
            format!(
                "pid {}, sync=always, SIGKILL after {} acknowledged writes",
                r.writer_pid, r.acknowledged
            ),
        ),
        ("keys checked", r.keys_checked.to_string()),
        (
            "acknowledged writes missing",
            r.missing_acknowledged.to_string(),
        ),
        ("wrong values", r.wrong_values.to_string()),
        (
            "unacknowledged writes that landed anyway",
            r.unacknowledged_present.to_string(),
        ),
        (
            "verdict",
            if r.missing_acknowledged == 0 && r.wrong_values == 0 {
                "PASS: nothing acknowledged was lost".into()
            } else {
                "FAIL".into()
            },
        ),
    ]));
    if r.kept {
        printer.line(format!(
            "data dir kept at {} (try `drkit recover {} --dry-run`)",
            r.dir.display(),
            r.dir.display()
        ));
    }
}
