use std::path::PathBuf;

use crate::bench::cluster_demo::{ClusterDemoConfig, ClusterDemoReport, run_cluster_demo};
use crate::bench::cluster_dr_demo::{
    ClusterDrDemoConfig, ClusterDrDemoReport, run_cluster_dr_demo,
};
use crate::bench::demo::{DemoConfig, DemoReport, run_demo};
use crate::error::Exit;
use crate::output::{Printer, human_bytes, kv_table, table};

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
    /// Replication and failover instead: three `serve --node-id` processes on loopback,
    /// SIGKILL of the leader, the election, the old leader back as a follower, and every
    /// acknowledged write checked on every node.
    #[arg(long, conflicts_with = "cluster_dr")]
    pub cluster: bool,
    /// Disaster recovery of a cluster instead: three nodes, `wal archive --follow` on a
    /// follower, a full and an incremental backup on different nodes, the leader killed, a
    /// fat-finger DEL replicated everywhere, every dir deleted, and a new three-node cluster
    /// restored to just before the DEL, checked key by key on every node.
    #[arg(long)]
    pub cluster_dr: bool,
    /// With --cluster: writes before the kill, and again after it. With --cluster-dr: writes
    /// in each of its five batches.
    #[arg(long, default_value_t = 500)]
    pub writes: u64,
    /// The repository the backup step uses: a new dir or an empty s3://BUCKET/PREFIX.
    /// Default: a dir beside the data dir.
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX", conflicts_with_all = ["cluster", "cluster_dr"])]
    pub repo: Option<String>,
    #[command(flatten)]
    pub s3: super::repo::S3Flags,
    /// Print the report as one JSON line (the step lines are left out).
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let exe = std::env::current_exe()?;
    if args.cluster {
        return run_cluster(printer, args, exe);
    }
    if args.cluster_dr {
        return run_cluster_dr(printer, args, exe);
    }
    let cfg = DemoConfig {
        dir: args.dir,
        records: args.records,
        seed: args.seed,
        exe,
        repo: args
            .repo
            .as_deref()
            .map(|r| args.s3.locate(r))
            .transpose()?,
    };
    let report = run_demo(&cfg, &mut |step: &str| printer.line(format!("==> {step}")))?;
    print(printer, &report);
    if report.missing_acknowledged != 0 || report.wrong_values != 0 {
        anyhow::bail!(
            "demo failed: {} acknowledged writes missing and {} wrong values after recovery",
            report.missing_acknowledged,
            report.wrong_values
        )
    }
    let b = &report.backup;
    if !b.matches() {
        anyhow::bail!(
            "demo failed: the point-in-time restore in {} has {} records ({} keys differ), the state at {} had {}",
            b.restored_dir.display(),
            b.restored_records,
            b.mismatched_keys,
            b.target_time,
            b.expected_records
        )
    }
    Ok(Exit::Ok)
}

fn print(printer: &Printer, r: &DemoReport) {
    if printer.json {
        printer.json(&serde_json::json!({ "schema": 1, "type": "demo", "report": r }));
        return;
    }
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
    let b = &r.backup;
    printer.line("==> backups and the point-in-time restore:");
    printer.table(&kv_table(&[
        ("repository", b.repo.clone()),
        (
            "full backup",
            format!(
                "{} ({}), {} stored as {}",
                b.full_id,
                if b.full_online {
                    "taken while an engine ran"
                } else {
                    "stopped dir"
                },
                human_bytes(b.full_bytes),
                human_bytes(b.full_stored_bytes)
            ),
        ),
        ("writes after it", b.writes_after_full.to_string()),
        (
            "incremental backup",
            format!(
                "{}: {} stored, {} files reused from the full backup",
                b.incr_id,
                human_bytes(b.incr_stored_bytes),
                b.incr_reused_files
            ),
        ),
        (
            "writes after it",
            format!(
                "{} (the target lies after the first {})",
                b.writes_after_incr, b.writes_before_target
            ),
        ),
        ("restore target", format!("--to-time {}", b.target_time)),
        (
            "restored from",
            format!(
                "{} + {} archived WAL entries, up to seq {}",
                b.restored_from,
                b.replayed_from_archive,
                b.reached_seq.map_or_else(|| "-".into(), |s| s.to_string())
            ),
        ),
        (
            "records: expected / restored",
            format!("{} / {}", b.expected_records, b.restored_records),
        ),
        (
            "digest: expected / restored",
            format!(
                "{}… / {}…",
                b.expected_digest.get(..16).unwrap_or_default(),
                b.restored_digest.get(..16).unwrap_or_default()
            ),
        ),
        ("keys that differ", b.mismatched_keys.to_string()),
        (
            "verdict",
            if b.matches() {
                "PASS: the restored dir is exactly the state at the target time".into()
            } else {
                "FAIL".into()
            },
        ),
    ]));
    printer.line("==> doctor: what could be recovered now, and to which point");
    super::doctor::print_report(printer, &r.doctor);
    if r.kept {
        printer.line(format!(
            "data dir kept at {} (try `drkit recover {} --dry-run`); backups in {}, the restore in {}",
            r.dir.display(),
            r.dir.display(),
            b.repo,
            b.restored_dir.display()
        ));
    }
}

fn run_cluster(printer: &Printer, args: Args, exe: PathBuf) -> anyhow::Result<Exit> {
    let cfg = ClusterDemoConfig {
        dir: args.dir,
        exe,
        writes: args.writes,
    };
    let report = run_cluster_demo(&cfg, &mut |step: &str| printer.line(format!("==> {step}")))?;
    print_cluster(printer, &report);
    if !report.every_write_everywhere() {
        anyhow::bail!(
            "demo failed: an acknowledged write is missing or wrong on some node (see the table)"
        );
    }
    Ok(Exit::Ok)
}

fn print_cluster(printer: &Printer, r: &ClusterDemoReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "demo-cluster", "report": r }));
    printer.table(&kv_table(&[
        (
            "first leader",
            format!("node {} (term {})", r.first_leader, r.first_term),
        ),
        (
            "killed",
            format!(
                "node {} with SIGKILL (pid {})",
                r.first_leader, r.killed_pid
            ),
        ),
        (
            "new leader",
            format!(
                "node {} (term {}), {:.0} ms after the kill",
                r.new_leader, r.new_term, r.election_ms
            ),
        ),
        (
            "writes acknowledged",
            format!(
                "{} ({} attempts refused during the election and retried)",
                r.acknowledged, r.retried_writes
            ),
        ),
        (
            "old leader after restart",
            format!("node {}: {}", r.first_leader, r.old_leader_role_after),
        ),
    ]));
    printer.line("==> every acknowledged write, read on every node (READONLY):");
    let mut t = table(&[
        "node",
        "role",
        "applied index",
        "present",
        "missing",
        "wrong",
    ]);
    for n in &r.nodes {
        t.add_row(vec![
            n.node_id.to_string(),
            n.role.clone(),
            n.applied_index.to_string(),
            format!("{} / {}", n.present, r.acknowledged),
            n.missing.to_string(),
            n.wrong.to_string(),
        ]);
    }
    printer.table(&t);
    printer.line(if r.every_write_everywhere() {
        "PASS: every acknowledged write is on every node, the killed leader's included"
    } else {
        "FAIL: see the table"
    });
    if r.kept {
        printer.line(format!(
            "the nodes' dirs and logs are kept in {} (try `drkit inspect wal {}/node1/wal`)",
            r.dir.display(),
            r.dir.display()
        ));
    }
}

fn run_cluster_dr(printer: &Printer, args: Args, exe: PathBuf) -> anyhow::Result<Exit> {
    let cfg = ClusterDrDemoConfig {
        dir: args.dir,
        exe,
        writes: args.writes,
    };
    let report = run_cluster_dr_demo(&cfg, &mut |step: &str| printer.line(format!("==> {step}")))?;
    print_cluster_dr(printer, &report);
    if !report.passed() {
        anyhow::bail!(
            "demo failed: the restored cluster does not hold exactly the writes acknowledged before {} (see the table)",
            report.target_time
        );
    }
    Ok(Exit::Ok)
}

fn print_cluster_dr(printer: &Printer, r: &ClusterDrDemoReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "demo-cluster-dr", "report": r }));
    let mut t = table(&[
        "restored node",
        "role",
        "writes before the target",
        "missing",
        "wrong",
        "after the target (DEL, writes)",
    ]);
    for n in &r.nodes {
        t.add_row(vec![
            n.node_id.to_string(),
            n.role.clone(),
            format!("{}/{}", n.present, r.acknowledged_before_target),
            n.missing.to_string(),
            n.wrong.to_string(),
            n.after_target.to_string(),
        ]);
    }
    printer.table(&t);
    printer.line(format!(
        "{}: {} writes acknowledged before {} are on every restored node; the DEL of {} keys and the {} writes after it are on none{}",
        if r.passed() { "PASS" } else { "FAIL" },
        r.acknowledged_before_target,
        r.target_time,
        r.deleted_after_target,
        r.written_after_target,
        if r.kept {
            format!(" (files kept in {})", r.dir.display())
        } else {
            String::new()
        }
    ));
}
