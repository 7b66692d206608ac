//! `drkit backup init|create|list|info|verify`.

use std::path::PathBuf;
use std::time::Duration;

use crate::backup::{self, BackupManifest, CreateOptions, Repo};
use crate::error::{Error, Exit};
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a backup repository (also created by the first `backup create`).
    Init(InitArgs),
    /// Take a full or incremental backup of a data dir, stopped or held by a running engine.
    Create(CreateArgs),
    /// List the complete backups in a repository.
    List(RepoArgs),
    /// Show one backup: times, sequences, sizes, files.
    Info(InfoArgs),
    /// Re-read every file of one or all backups against its blake3; exit 4 on any damage.
    Verify(VerifyArgs),
    /// Remove backups the retention policy no longer keeps (never one a kept backup needs).
    Expire(ExpireArgs),
    /// Break the locks of a repository whose holder is gone (a machine that died during a
    /// backup to object storage). A local repository's locks go with their process and
    /// are never broken: this reports who holds them.
    Unlock(RepoArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExpireArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    /// Full backups to keep, newest first (at least 1).
    #[arg(long, default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub keep_full: usize,
    /// Keep incremental backups younger than this many days (while their full backup is kept).
    #[arg(long, default_value_t = 7)]
    pub keep_incr_days: u32,
    /// Keep archived WAL younger than this many days, and what replaying it needs.
    #[arg(long, default_value_t = 30)]
    pub keep_wal_days: u32,
    /// Show what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Judge ages as of this time (RFC 3339) instead of now: for retention drills.
    #[arg(long, hide = true)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Wait this long for a running backup, restore or verify instead of failing with exit 11.
    #[arg(long, value_parser = parse_duration)]
    pub lock_wait: Option<Duration>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BackupType {
    /// Every file of the dir.
    Full,
    /// Only what the newest backup of the same dir history does not hold (new tables, the
    /// WAL since); taken as full when there is no such backup.
    Incr,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    /// The data dir to back up. When a running engine holds it, the backup is taken from a
    /// consistent point (hard links inside DIR/backup-points/) without stopping the engine.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long = "type", value_enum, default_value = "full")]
    pub kind: BackupType,
    /// Files compressed in parallel (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// zstd level, 1 (fastest) to 22 (smallest).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub compress_level: i32,
    /// Wait this long for another run's repository lock (`30s`, `5m`, `1h`) instead of
    /// failing at once with exit 11.
    #[arg(long, value_parser = parse_duration)]
    pub lock_wait: Option<Duration>,
    /// Also record the count and a blake3 digest of every live record, which restore then
    /// checks the restored dir against. Reads and decompresses every table: on compressed
    /// exchange records it costs more than the copy itself. Without it, every table's block
    /// checksums are checked as it is copied and every file's blake3 on restore.
    #[arg(long)]
    pub logical_digest: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RepoArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    /// The backup id (see `backup list`).
    pub id: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub repo: super::repo::Repository,
    /// One backup and the archived WAL its point-in-time window needs; every backup and all
    /// of the archive when omitted.
    pub id: Option<String>,
    /// Also restore each backup into a temp dir and compare the logical digest.
    #[arg(long)]
    pub restore_test: bool,
    /// Files checked in parallel (default: the number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Init(a) => a.json,
            Command::Create(a) => a.json,
            Command::List(a) => a.json,
            Command::Info(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Expire(a) => a.json,
            Command::Unlock(a) => a.json,
        }
    }
}

/// `30s`, `5m`, `2h`, `7d`, `500ms`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => return Ok(Duration::from_millis(n)),
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use ms, s, m, h or d)"
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

pub fn run(printer: &Printer, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Init(a) => {
            let (repo, created) = Repo::init(&a.repo.location()?)?;
            printer.json(&serde_json::json!({ "schema": 1, "type": "repo", "created": created, "repo": repo.meta }));
            printer.line(format!(
                "{} backup repository {} (id {})",
                if created { "created" } else { "already a" },
                a.repo.repo,
                repo.meta.id
            ));
            Ok(Exit::Ok)
        }
        Command::Create(a) => create(printer, a),
        Command::Unlock(a) => {
            let repo = Repo::open(&a.repo.location()?)?;
            let broken = backup::unlock::break_locks(&repo)?;
            for (name, h) in &broken {
                printer.json(&serde_json::json!({ "schema": 1, "type": "lock-broken", "lock": repo.locate(name), "holder": h }));
                printer.line(format!(
                    "broke {}: held by {}",
                    repo.locate(name).display(),
                    h.describe()
                ));
            }
            if broken.is_empty() {
                printer.line(format!("{}: no lock held", a.repo.repo));
            }
            Ok(Exit::Ok)
        }
        Command::Expire(a) => expire(printer, a),
        Command::List(a) => {
            let repo = Repo::open(&a.repo.location()?)?;
            let listed = repo.list()?;
            let ok: Vec<&BackupManifest> = listed
                .iter()
                .filter_map(|l| l.manifest.as_ref().ok())
                .collect();
            // JSON lines of the windows come first, so the last line stays a backup's.
            let windows = backup::pitr::windows(&repo, &ok);
            for (history, w) in &windows {
                match w {
                    Ok(w) => printer.json(&serde_json::json!({ "schema": 1, "type": "recoverable-window", "window": w })),
                    Err(e) => printer.json(&serde_json::json!({ "schema": 1, "type": "recoverable-window-damaged", "history_id": history, "error": e.to_string() })),
                }
            }
            let mut t = table(&[
                "id",
                "type",
                "parent",
                "start",
                "end",
                "seq range",
                "bytes",
                "stored",
                "files",
                "duration",
            ]);
            let mut damaged = 0;
            for l in &listed {
                match &l.manifest {
                    Ok(m) => {
                        printer.json(&serde_json::json!({ "schema": 1, "type": "backup", "backup": summary(m) }));
                        t.add_row(row(m));
                    }
                    Err(e) => {
                        damaged += 1;
                        printer.json(&serde_json::json!({ "schema": 1, "type": "backup-damaged", "id": l.id, "error": e.to_string() }));
                        t.add_row(vec![l.id.clone(), "DAMAGED".into(), e.to_string()]);
                    }
                }
            }
            printer.table(&t);
            printer.line(format!("{} backups in {}", listed.len(), a.repo.repo));
            for (history, w) in &windows {
                match w {
                    Ok(w) => {
                        printer.line(format!(
                            "recoverable window of history {history}: {}",
                            w.describe()
                        ));
                        for g in &w.archive_gaps {
                            printer.warn(format!(
                                "drkit: warning: the WAL archive of history {history} has a gap: seq {}..={} (before {})",
                                g.from_seq, g.to_seq, g.before
                            ));
                        }
                    }
                    Err(e) => {
                        printer.warn(format!(
                            "drkit: warning: WAL archive of history {history}: {e}"
                        ));
                    }
                }
            }
            if damaged > 0 {
                printer.warn(format!(
                    "{damaged} backup manifest(s) damaged; `drkit backup verify --repo {}` for details",
                    a.repo.repo
                ));
            }
            Ok(Exit::Ok)
        }
        Command::Info(a) => {
            let repo = Repo::open(&a.repo.location()?)?;
            let m = repo.load(&a.id)?;
            let all: Vec<BackupManifest> = repo
                .list()?
                .into_iter()
                .filter_map(|l| l.manifest.ok())
                .collect();
            let mine: Vec<&BackupManifest> = all
                .iter()
                .filter(|x| x.history_id == m.history_id)
                .collect();
            let (window, window_json) = match backup::pitr::windows(&repo, &mine).pop() {
                Some((_, Ok(w))) => (w.describe(), serde_json::to_value(&w).unwrap_or_default()),
                Some((_, Err(e))) => (format!("unknown: {e}"), serde_json::Value::Null),
                None => ("-".into(), serde_json::Value::Null),
            };
            printer.json(&serde_json::json!({ "schema": 1, "type": "backup", "backup": m, "recoverable_window": window_json }));
            printer.table(&kv_table(&[
                ("id", m.id.clone()),
                ("type", m.kind.clone()),
                ("parent", m.parent.clone().unwrap_or_else(|| "-".into())),
                ("start", m.start_time.clone()),
                ("end", m.end_time.clone()),
                ("duration", secs(m.duration_ms)),
                (
                    "source",
                    format!(
                        "{}{}",
                        m.source_dir,
                        if m.online { " (running engine)" } else { "" }
                    ),
                ),
                ("history id", m.history_id.clone()),
                (
                    "cluster node",
                    m.cluster.as_ref().map_or_else(
                        || "- (a standalone dir)".into(),
                        |c| {
                            format!(
                                "node {} of cluster {}: committed index {}{}",
                                c.node_id,
                                c.cluster_id,
                                c.committed_index,
                                c.committed_term
                                    .map_or_else(String::new, |t| format!(" (term {t})"))
                            )
                        },
                    ),
                ),
                (
                    "lag behind leader",
                    m.cluster
                        .as_ref()
                        .map_or_else(|| "-".into(), |c| lag_text(c.lag.as_ref())),
                ),
                ("seq range", format!("{}..{}", m.checkpoint_seq, m.last_seq)),
                (
                    "point in time",
                    m.last_entry_ns
                        .map_or_else(|| "-".into(), backup::archive::rfc3339_ns),
                ),
                ("recoverable window", window),
                ("records", records_text(m.records)),
                (
                    "logical digest",
                    m.logical_digest
                        .clone()
                        .unwrap_or_else(|| "not recorded (taken without --logical-digest)".into()),
                ),
                ("bytes", human_bytes(m.bytes)),
                (
                    "stored",
                    format!("{} ({})", human_bytes(m.stored_bytes), ratio(&m)),
                ),
                ("zstd level", m.compress_level.to_string()),
                ("files", m.files.len().to_string()),
            ]));
            let mut t = table(&["file", "size", "stored", "stored in", "blake3"]);
            for f in &m.files {
                t.add_row(vec![
                    f.path.clone(),
                    human_bytes(f.size),
                    human_bytes(f.stored_size),
                    f.stored_in.clone().unwrap_or_else(|| "this backup".into()),
                    f.blake3.clone(),
                ]);
            }
            printer.table(&t);
            Ok(Exit::Ok)
        }
        Command::Verify(a) => {
            let repo = Repo::open(&a.repo.location()?)?;
            let threads = a.threads.unwrap_or_else(default_threads);
            let report =
                backup::verify::verify(&repo, a.id.as_deref(), a.restore_test, threads, &|_| {})?;
            let mut t = table(&["backup", "files", "bytes", "restore test", "result"]);
            for b in &report.backups {
                printer
                    .json(&serde_json::json!({ "schema": 1, "type": "backup-check", "check": b }));
                t.add_row(vec![
                    b.id.clone(),
                    b.files.to_string(),
                    human_bytes(b.bytes),
                    match b.restore_test {
                        None => "-".into(),
                        Some(true) => "digest matches".into(),
                        Some(false) => "FAILED".into(),
                    },
                    if b.problems.is_empty() {
                        "ok".into()
                    } else {
                        format!("{} DAMAGED", b.problems.len())
                    },
                ]);
            }
            for c in &report.archive {
                printer
                    .json(&serde_json::json!({ "schema": 1, "type": "archive-check", "check": c }));
                t.add_row(vec![
                    format!("wal/{} ({} segments)", c.history_id, c.segments),
                    c.segments.to_string(),
                    human_bytes(c.bytes),
                    "-".into(),
                    if c.problems.is_empty() {
                        "ok".into()
                    } else {
                        format!("{} DAMAGED", c.problems.len())
                    },
                ]);
            }
            printer.table(&t);
            for p in report.problems() {
                printer.line(format!(
                    "DAMAGED {} at offset {}: {}",
                    p.file.display(),
                    p.offset,
                    p.what
                ));
            }
            let count = report.problems().count();
            match report.problems().next() {
                None => {
                    printer.line(format!("{} backups verified, no damage", report.backups.len()));
                    Ok(Exit::Ok)
                }
                Some(p) => Err(Error::corruption(
                    &p.file,
                    p.offset,
                    format!("{} ({count} damaged file(s) in total)", p.what),
                )
                .with_hint("do not restore from a damaged backup; take a new backup and restore from an intact one")
                .into()),
            }
        }
    }
}

fn create(printer: &Printer, a: CreateArgs) -> anyhow::Result<Exit> {
    let opts = CreateOptions {
        kind: match a.kind {
            BackupType::Full => backup::BackupKind::Full,
            BackupType::Incr => backup::BackupKind::Incr,
        },
        threads: a.threads.unwrap_or_else(default_threads),
        compress_level: a.compress_level,
        lock_wait: a.lock_wait.unwrap_or_default(),
        logical_digest: a.logical_digest,
    };
    let bar = printer.progress(backup::create::estimate_bytes(&a.data), "backup");
    let result = backup::create(&a.repo.location()?, &a.data, &opts, &|n| bar.inc(n));
    bar.finish_and_clear();
    let report = result?;
    if let Some(why) = &report.promoted {
        printer.warn(format!("note: {why}"));
    }
    printer.json(&serde_json::json!({ "schema": 1, "type": "backup-created", "backup": summary(&report.backup), "cleaned": report.cleaned, "repo_created": report.repo_created, "copy_ms": report.copy_ms, "digest_ms": report.digest_ms, "online": report.online, "point_retries": report.point_retries, "promoted": report.promoted, "reused_files": report.reused_files, "reused_bytes": report.reused_bytes, "cluster": report.cluster }));
    match report.digest_ms {
        Some(digest_ms) => printer.verbose(format!(
            "copy {:.2}s, digest scan {:.2}s (run side by side)",
            report.copy_ms as f64 / 1000.0,
            digest_ms as f64 / 1000.0
        )),
        None => printer.verbose(format!("copy {:.2}s", report.copy_ms as f64 / 1000.0)),
    }
    for p in &report.cleaned {
        printer.verbose(format!(
            "removed leftover of an interrupted run: {}",
            p.display()
        ));
    }
    let m = &report.backup;
    let secs_f = (m.duration_ms as f64 / 1000.0).max(0.001);
    printer.table(&kv_table(&[
        ("backup", m.id.clone()),
        ("type", m.kind.clone()),
        ("parent", m.parent.clone().unwrap_or_else(|| "-".into())),
        (
            "source",
            format!(
                "{}{}",
                if report.online {
                    "running engine (point in time)"
                } else {
                    "stopped dir"
                },
                match &report.cluster {
                    Some(c) =>
                        format!(
                            "; cluster node: its committed state up to log index {} (tables to {}, \
                         then {} committed entries), as a standalone dir",
                            c.committed_index, c.checkpoint_index, c.tail_entries
                        ) + &format!("; lag behind leader: {}", lag_text(c.lag.as_ref())),
                    None => String::new(),
                }
            ),
        ),
        ("seq range", format!("{}..{}", m.checkpoint_seq, m.last_seq)),
        ("records", records_text(m.records)),
        ("files", m.files.len().to_string()),
        (
            "reused",
            format!(
                "{} files, {} (held by earlier backups)",
                report.reused_files,
                human_bytes(report.reused_bytes)
            ),
        ),
        ("bytes", human_bytes(m.bytes)),
        (
            "stored",
            format!("{} ({})", human_bytes(m.stored_bytes), ratio(m)),
        ),
        ("duration", secs(m.duration_ms)),
        (
            "throughput",
            format!("{:.0} MB/s", m.bytes as f64 / 1e6 / secs_f),
        ),
        ("leftovers removed", report.cleaned.len().to_string()),
    ]));
    Ok(Exit::Ok)
}

fn expire(printer: &Printer, a: ExpireArgs) -> anyhow::Result<Exit> {
    let repo = Repo::open(&a.repo.location()?)?;
    let policy = backup::expire::Policy {
        keep_full: a.keep_full,
        keep_incr_days: a.keep_incr_days,
        keep_wal_days: a.keep_wal_days,
    };
    let report = backup::expire::expire(
        &repo,
        policy,
        a.now.unwrap_or_else(chrono::Utc::now),
        a.dry_run,
        a.lock_wait.unwrap_or_default(),
    )?;
    let plan = &report.plan;
    let mut t = table(&["backup", "type", "end", "decision", "why", "stored"]);
    for d in &plan.backups {
        printer.json(&serde_json::json!({ "schema": 1, "type": "expire-decision", "dry_run": a.dry_run, "decision": d }));
        t.add_row(vec![
            d.id.clone(),
            d.kind.clone(),
            d.end_time.clone(),
            match (d.keep, a.dry_run) {
                (true, _) => "keep".into(),
                (false, true) => "would remove".into(),
                (false, false) => "removed".into(),
            },
            d.reason.clone(),
            human_bytes(d.stored_bytes),
        ]);
    }
    let removed = plan.removed().count();
    printer.table(&t);
    let mut wt = table(&["WAL history", "segments kept", "removed", "freed", "why"]);
    for w in &plan.wal {
        printer.json(&serde_json::json!({ "schema": 1, "type": "expire-wal", "dry_run": a.dry_run, "wal": w }));
        wt.add_row(vec![
            w.history_id.clone(),
            w.kept.to_string(),
            w.removed.len().to_string(),
            human_bytes(w.freed_bytes),
            w.reason.clone(),
        ]);
    }
    if !plan.wal.is_empty() {
        printer.table(&wt);
    }
    printer.json(&serde_json::json!({ "schema": 1, "type": "expire-summary", "dry_run": a.dry_run, "policy": plan.policy, "removed": removed, "kept": plan.backups.len() - removed, "removed_wal_segments": plan.removed_segments(), "freed_bytes": plan.freed_bytes(), "cleaned": report.cleaned }));
    printer.line(format!(
        "{} {removed} of {} backups and {} archived WAL segments, {} {}",
        if a.dry_run { "would remove" } else { "removed" },
        plan.backups.len(),
        plan.removed_segments(),
        human_bytes(plan.freed_bytes()),
        if a.dry_run { "would be freed" } else { "freed" },
    ));
    Ok(Exit::Ok)
}

/// The manifest without its file list, for list lines.
fn summary(m: &BackupManifest) -> serde_json::Value {
    serde_json::json!({
        "id": m.id, "type": m.kind, "parent": m.parent, "start_time": m.start_time,
        "end_time": m.end_time, "duration_ms": m.duration_ms, "checkpoint_seq": m.checkpoint_seq,
        "last_seq": m.last_seq, "last_entry_ns": m.last_entry_ns, "records": m.records, "bytes": m.bytes,
        "stored_bytes": m.stored_bytes, "files": m.files.len(), "logical_digest": m.logical_digest,
        "history_id": m.history_id, "source_dir": m.source_dir, "online": m.online,
        "references": m.references(),
    })
}

fn row(m: &BackupManifest) -> Vec<String> {
    vec![
        m.id.clone(),
        m.kind.clone(),
        m.parent.clone().unwrap_or_else(|| "-".into()),
        m.start_time.clone(),
        m.end_time.clone(),
        format!("{}..{}", m.checkpoint_seq, m.last_seq),
        human_bytes(m.bytes),
        human_bytes(m.stored_bytes),
        m.files.len().to_string(),
        secs(m.duration_ms),
    ]
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

fn ratio(m: &BackupManifest) -> String {
    if m.stored_bytes == 0 {
        "-".into()
    } else {
        format!("ratio {:.2}", m.bytes as f64 / m.stored_bytes as f64)
    }
}

/// A backup's record count, or why it has none.
fn records_text(records: Option<u64>) -> String {
    records.map_or_else(|| "- (no --logical-digest)".into(), |n| n.to_string())
}

/// A node backup's lag behind its leader, for people.
fn lag_text(lag: Option<&crate::cluster::export::LeaderLag>) -> String {
    match lag {
        None => "unknown (the node recorded no contact with a leader)".into(),
        Some(l) => format!(
            "{} ms, {} committed entries (leader node {}, term {}, last contact {})",
            l.ms, l.entries, l.leader, l.term, l.contact_time
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("m").is_err());
    }
}
