//! `drkit restore`: a backup into a new or empty dir, checked file by file and as a whole.

use std::path::PathBuf;

use crate::backup::Repo;
use crate::backup::pitr::Target;
use crate::backup::restore::{self, RestoreOptions, RestorePlan, TargetState};
use crate::error::Exit;
use crate::output::{Printer, human_bytes, kv_table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    /// Where to restore; must be new or empty unless --force.
    #[arg(long)]
    pub target: PathBuf,
    /// The backup to restore (default: the newest backup, full or incremental; with
    /// --to-seq/--to-time, the newest backup at or before the target).
    #[arg(long)]
    pub backup: Option<String>,
    /// Point in time by sequence: keep every entry with sequence ≤ N, replaying archived WAL
    /// after the backup. Exit 12 when the repository cannot reach it.
    #[arg(long, value_name = "N", conflicts_with = "to_time")]
    pub to_seq: Option<u64>,
    /// Point in time by commit time (RFC 3339, e.g. 2026-11-25T17:00:00Z): keep every entry
    /// before the first one committed after it. Exit 12 when the repository cannot reach it.
    #[arg(long, value_name = "RFC3339")]
    pub to_time: Option<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Restore over a non-empty target: its content is moved aside to TARGET.drkit-old-<time>,
    /// never deleted.
    #[arg(long)]
    pub force: bool,
    /// Restore as this node of a new cluster (with --members): `serve --node-id N` starts it,
    /// and the nodes restored alike elect a leader without `cluster init`.
    #[arg(long, value_name = "N", requires = "members")]
    pub node_id: Option<u64>,
    /// The new cluster's voters, the same list for every node: ID=RAFT_ADDR[/CLIENT_ADDR],...
    #[arg(long, value_delimiter = ',', requires = "node_id")]
    pub members: Vec<String>,
    /// Mixed into the new cluster's id, the same for every node: restoring one backup to one
    /// point with the same members twice (a rehearsal beside production) gives two clusters
    /// that never take each other's nodes or share an archive history.
    #[arg(long, value_name = "TOKEN", requires = "node_id", default_value = "")]
    pub cluster_token: String,
    /// Files decompressed in parallel (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

fn plan_table(p: &RestorePlan) -> comfy_table::Table {
    let mut rows = vec![
        ("backup", p.backup_id.clone()),
        ("type", p.backup_type.clone()),
        ("taken (end)", p.backup_end_time.clone()),
        ("seq range", format!("{}..{}", p.checkpoint_seq, p.last_seq)),
        (
            "records",
            p.records
                .map_or_else(|| "- (no --logical-digest)".into(), |n| n.to_string()),
        ),
        ("files", p.files.to_string()),
        (
            "bytes",
            format!(
                "{} ({} stored)",
                human_bytes(p.bytes),
                human_bytes(p.stored_bytes)
            ),
        ),
        ("target", p.target.display().to_string()),
        (
            "target now",
            match p.target_state {
                TargetState::Absent => "absent".into(),
                TargetState::Empty => "empty".into(),
                TargetState::NotEmpty => "NOT EMPTY".into(),
            },
        ),
        ("staging", p.staging.display().to_string()),
        (
            "old content moves to",
            p.move_aside_to
                .as_ref()
                .map_or_else(|| "-".into(), |x| x.display().to_string()),
        ),
    ];
    if let Some(x) = &p.pitr {
        rows.push(("point in time", x.target_text.clone()));
        rows.push(("restores through seq", x.target_seq.to_string()));
        rows.push((
            "WAL replayed",
            if x.segments.is_empty() {
                "none (the backup is the target)".into()
            } else {
                x.segments
                    .iter()
                    .map(|s| {
                        format!(
                            "seq {}..={} from {} ({})",
                            s.first_seq.max(x.backup_seq + 1),
                            s.last_seq.min(x.target_seq),
                            match &s.held_by {
                                Some(id) => format!("backup {id}"),
                                None => "the WAL archive".into(),
                            },
                            s.name
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        ));
        rows.push(("history", x.history_id.clone()));
        rows.push(("recoverable window", x.window.describe()));
    }
    if let Some(n) = &p.node {
        rows.push(("as cluster node", n.node_id.to_string()));
        rows.push(("members", n.members.clone()));
        rows.push(("new cluster id", n.cluster_id.clone()));
    }
    kv_table(&rows)
}

pub fn run(printer: &Printer, a: Args) -> anyhow::Result<Exit> {
    let repo = Repo::open(&a.repo.location()?)?;
    let to = match (a.to_seq, &a.to_time) {
        (Some(n), _) => Some(Target::Seq(n)),
        (None, Some(t)) => Some(Target::parse_time(t)?),
        (None, None) => None,
    };
    let mut plan = restore::plan(&repo, &a.target, a.backup.as_deref(), a.force, to)?;
    if let Some(id) = a.node_id {
        plan = plan.as_node(
            id,
            crate::cluster::seed::parse_members(&a.members)?,
            &a.cluster_token,
        )?;
    }
    printer.json(&serde_json::json!({ "schema": 1, "type": "restore-plan", "dry_run": a.dry_run, "plan": plan }));
    printer.table(&plan_table(&plan));
    if a.dry_run {
        if plan.target_state == TargetState::NotEmpty && !a.force {
            printer.line("dry run: the target is not empty; a real run needs --force (its content would be moved aside)");
        } else {
            printer.line("dry run: nothing changed");
        }
        return Ok(Exit::Ok);
    }
    let opts = RestoreOptions {
        threads: a.threads.unwrap_or_else(super::backup::default_threads),
        force: a.force,
    };
    let wal_bytes: u64 = plan.pitr.as_ref().map_or(0, |p| {
        p.segments.iter().chain(&p.replace).map(|s| s.size).sum()
    });
    let bar = printer.progress(plan.bytes + wal_bytes, "restore");
    let result = restore::restore(&repo, plan, &opts, &|n| bar.inc(n));
    bar.finish_and_clear();
    let r = result?;
    printer.json(&serde_json::json!({ "schema": 1, "type": "restored", "report": r }));
    let secs = r.duration.as_secs_f64().max(0.001);
    let mut rows = vec![
        ("restored", r.plan.backup_id.clone()),
        ("into", r.plan.target.display().to_string()),
    ];
    if let Some(n) = r.records {
        rows.push(("records", n.to_string()));
    }
    match (r.reached_seq, &r.logical_digest) {
        (None, Some(digest)) => {
            rows.push(("logical digest", format!("{digest} (matches the backup)")))
        }
        (None, None) => rows.push((
            "checked",
            "every file's blake3; the dir opens (the backup has no logical digest)".into(),
        )),
        (Some(seq), digest) => {
            rows.push((
                "backup digest",
                if digest.is_some() {
                    "matches the backup (checked before the WAL replay)"
                } else {
                    "not recorded (taken without --logical-digest); every file's blake3 matched"
                }
                .into(),
            ));
            rows.push(("WAL entries replayed", r.replayed.to_string()));
            rows.push(("reached seq", seq.to_string()));
            rows.push((
                "reached time",
                r.reached_time.clone().unwrap_or_else(|| "-".into()),
            ));
            if let Some(d) = digest {
                rows.push(("logical digest", d.clone()));
            }
        }
    }
    rows.extend([
        (
            if r.plan.node.is_some() {
                "new cluster id (history id)"
            } else {
                "new history id"
            },
            r.new_history_id.clone(),
        ),
        (
            "old content moved to",
            r.plan
                .move_aside_to
                .as_ref()
                .map_or_else(|| "-".into(), |x| x.display().to_string()),
        ),
        ("duration", format!("{secs:.1}s")),
        (
            "throughput",
            format!("{:.0} MB/s", r.plan.bytes as f64 / 1e6 / secs),
        ),
    ]);
    printer.table(&kv_table(&rows));
    Ok(Exit::Ok)
}
