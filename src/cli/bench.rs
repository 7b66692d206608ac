use std::path::PathBuf;
use std::sync::Arc;

use crate::bench::backup::{build_data, ensure_backup};
use crate::bench::{
    BackupBenchConfig, BackupBenchReport, ClusterBenchConfig, ClusterBenchReport, NemesisConfig,
    NemesisReport, ReadBenchConfig, RecoverBenchConfig, RecoverPhase, WriteBenchConfig, build_wal,
    run_backup, run_cluster, run_nemesis, run_read, run_recover, run_restore, run_write,
};
use crate::engine::SyncPolicy;
use crate::error::Exit;
use crate::format::sst::Compression;
use crate::output::{Printer, human_bytes, kv_table, table};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write throughput and latency (group commit across --writers threads).
    Write(WriteArgs),
    /// Recovery speed: build a WAL, then time its replay.
    Recover(RecoverArgs),
    /// Read cost over compacted tables: random gets, one full scan, and the bytes on disk.
    /// Run once per --sst-compression on the same seed to compare.
    Read(ReadArgs),
    /// Backup throughput (MB/s, compression ratio) over a data dir of SSTs it builds or reuses.
    Backup(BackupArgs),
    /// Restore throughput from a repository it fills or reuses.
    Restore(BackupArgs),
    /// Three in-process nodes on loopback: write throughput and latency against one node
    /// with --sync always, replication lag at target rates, and failover times.
    Cluster(ClusterArgs),
}

impl Command {
    pub fn json(&self) -> bool {
        match self {
            Command::Write(a) => a.json,
            Command::Recover(a) => a.json,
            Command::Read(a) => a.json,
            Command::Backup(a) | Command::Restore(a) => a.json,
            Command::Cluster(a) => a.json,
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
    /// Replayed data held in memory during recovery, like 2GiB (as `recover
    /// --memory-budget`). Default: a quarter of RAM.
    #[arg(long, value_name = "SIZE", value_parser = crate::cli::repo::parse_size)]
    pub memory_budget: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// Build the data dir here and keep it; default: a temporary dir, removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Plain key/values of this many bytes; 0 writes exchange records (orders, trades, accounts).
    #[arg(long, default_value_t = 0)]
    pub value_size: usize,
    /// How the tables store data blocks: none, zstd or zstd:LEVEL.
    #[arg(long, default_value = "zstd")]
    pub sst_compression: Compression,
    /// Decompressed blocks kept in memory, in MiB (0: none), as `serve --block-cache-mb`.
    #[arg(long, default_value_t = crate::engine::DEFAULT_BLOCK_CACHE_BYTES >> 20)]
    pub block_cache_mb: u64,
    /// Point gets of present keys, timed one by one.
    #[arg(long, default_value_t = 200_000)]
    pub gets: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Writes per throughput run (each setup).
    #[arg(long, default_value_t = 20_000)]
    pub writes: u64,
    /// Concurrent writers in the throughput runs.
    #[arg(long, default_value_t = 16)]
    pub writers: usize,
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Target rates of the replication-lag runs, writes per second.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub lag_rates: Vec<u64>,
    /// Seconds per lag run.
    #[arg(long, default_value_t = 5.0)]
    pub lag_seconds: f64,
    /// Write rate of the archive-lag run (`wal archive` polling a follower's dir); 0: none.
    #[arg(long, default_value_t = 1000)]
    pub archive_rate: u64,
    /// The archiver's poll interval in the archive-lag run (as `wal archive --poll`).
    #[arg(long, value_parser = super::backup::parse_duration, default_value = "100ms")]
    pub archive_poll: std::time::Duration,
    /// Failover rounds, each on a fresh cluster.
    #[arg(long, default_value_t = 5)]
    pub failovers: usize,
    /// Heartbeat and election timing, as `serve --timing`.
    #[arg(long, value_enum, default_value = "default")]
    pub timing: super::serve::TimingProfile,
    /// MB each node's tables are filled with before the leader's heartbeats are timed at the
    /// followers while every node compacts them; 0: no such run.
    #[arg(long, default_value_t = 64)]
    pub compaction_mb: u64,
    /// Instead of the runs above: write outages of 3 `serve` processes under a steady load
    /// while, each round, the leader is paused and resumed, the leader killed and restarted,
    /// a follower paused, and the leader partitioned from its peers.
    #[arg(long)]
    pub nemesis: bool,
    /// Rounds of the nemesis sequence (4 faults each).
    #[arg(long, default_value_t = 20, requires = "nemesis",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Where the nemesis run's node dirs and logs go (kept). Default: a temporary dir,
    /// removed afterwards unless the run fails.
    #[arg(long, requires = "nemesis")]
    pub dir: Option<PathBuf>,
    /// The nemesis load: writes per second, all clients together.
    #[arg(long, default_value_t = 1000, requires = "nemesis",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The data dir: reused when it holds one, else built there and kept. Default: a
    /// temporary dir, removed afterwards.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The repository, a dir or s3://BUCKET/PREFIX: `restore` restores its newest backup
    /// (taking one first if it has none); `backup` adds one. Default: a temporary dir,
    /// removed afterwards.
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX")]
    pub repo: Option<String>,
    #[command(flatten)]
    pub s3: super::repo::S3Flags,
    /// SST megabytes (10^6 bytes) to build when the data dir is built.
    #[arg(long, default_value_t = 256)]
    pub size_mb: u64,
    /// Plain key/values with random (incompressible) values of this many bytes; 0 builds
    /// exchange records (orders, trades, accounts).
    #[arg(long, default_value_t = 0)]
    pub value_size: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Files in parallel (default: the number of CPUs); each file's blocks use every CPU.
    #[arg(long)]
    pub threads: Option<usize>,
    /// zstd level, 1 (fastest) to 22 (smallest).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=22))]
    pub compress_level: i32,
    /// Only prepare and stop: build the data dir (`backup`: needs --data), or also take a
    /// backup into --repo (`restore`: needs --repo). Drop the page cache, then measure.
    #[arg(long)]
    pub build_only: bool,
    /// `restore` only: also restore the backup as each of N nodes of a new cluster
    /// (`restore --node-id --members`), one at a time as on N machines, beside a standalone
    /// restore of it; pairs alternate their order and medians are reported.
    #[arg(long, value_name = "N")]
    pub cluster_nodes: Option<usize>,
    /// With --cluster-nodes: pairs of (standalone, N nodes) measured.
    #[arg(long, default_value_t = 3)]
    pub pairs: usize,
    #[arg(long)]
    pub json: bool,
}

fn backup_config(a: &BackupArgs) -> anyhow::Result<BackupBenchConfig> {
    let threads = a.threads.unwrap_or_else(super::backup::default_threads);
    if threads == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    if a.size_mb == 0 {
        anyhow::bail!("--size-mb must be at least 1");
    }
    Ok(BackupBenchConfig {
        data: a.data.clone(),
        repo: a.repo.as_deref().map(|r| a.s3.locate(r)).transpose()?,
        size_mb: a.size_mb,
        value_size: a.value_size,
        seed: a.seed,
        threads,
        compress_level: a.compress_level,
    })
}

fn recover_phase(p: &RecoverPhase) -> String {
    format!(
        "{:.3} s ({:.0} MB/s, {:.0} records/s)",
        p.seconds, p.mb_per_sec, p.records_per_sec
    )
}

fn print_backup_report(printer: &Printer, r: &BackupBenchReport) {
    printer.json(
        &serde_json::json!({ "schema": 1, "type": format!("bench-{}", r.operation), "report": r }),
    );
    let mut rows = vec![
        ("operation", r.operation.to_string()),
        ("backup", r.backup_id.clone()),
        ("files", r.files.to_string()),
        ("bytes", human_bytes(r.bytes)),
        (
            "stored",
            format!(
                "{} (ratio {:.2})",
                human_bytes(r.stored_bytes),
                r.compression_ratio
            ),
        ),
        (
            "threads / zstd level",
            format!("{} / {}", r.threads, r.compress_level),
        ),
        ("duration", format!("{:.3} s", r.seconds)),
        ("throughput", format!("{:.0} MB/s", r.mb_per_sec)),
    ];
    if let Some(rss) = r.peak_rss_bytes {
        rows.push(("peak memory (RSS)", human_bytes(rss)));
    }
    match (r.copy_ms, r.digest_ms) {
        (Some(copy), Some(digest)) => rows.push((
            "copy / digest scan",
            format!(
                "{:.2} s / {:.2} s (side by side)",
                copy as f64 / 1e3,
                digest as f64 / 1e3
            ),
        )),
        (Some(copy), None) => rows.push(("copy", format!("{:.2} s", copy as f64 / 1e3))),
        _ => {}
    }
    if r.build_seconds > 0.0 {
        rows.push(("built first (untimed)", format!("{:.1} s", r.build_seconds)));
    }
    printer.table(&kv_table(&rows));
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
                memory_budget: a.memory_budget.map(|b| b as u64),
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
                ("replay (log read and checked)", recover_phase(&r.replay)),
                ("ready (reads and writes accepted)", recover_phase(&r.ready)),
                (
                    "flushed (all of it in fsynced SSTs)",
                    recover_phase(&r.flushed),
                ),
                ("closed", format!("{:.3} s", r.total_seconds)),
                (
                    "memory budget",
                    format!(
                        "{}, {} L0 tables written during replay",
                        human_bytes(r.memory_budget),
                        r.written_during_replay
                    ),
                ),
                (
                    "peak memory (RSS)",
                    r.peak_rss_bytes.map_or("unknown".into(), human_bytes),
                ),
                (
                    "tables written by the flush",
                    format!(
                        "{} at {:.0} MB/s; the disk writes {:.0} MB/s (1 MiB writes, fdatasync)",
                        human_bytes(r.sst_bytes),
                        r.sst_write_mb_per_sec,
                        r.disk_write_mb_per_sec
                    ),
                ),
                (
                    "started from snapshot",
                    r.snapshot_seq.map_or("no".into(), |s| format!("seq {s}")),
                ),
            ]));
        }
        Command::Backup(a) => {
            let cfg = backup_config(&a)?;
            if a.build_only {
                let Some(dir) = &cfg.data else {
                    anyhow::bail!("--build-only needs --data DIR to keep the data dir in");
                };
                let b = build_data(dir, cfg.size_mb, cfg.value_size, cfg.seed)?;
                printer
                    .json(&serde_json::json!({ "schema": 1, "type": "bench-build", "report": b }));
                printer.line(format!(
                    "built {} records in {} SSTs ({}) in {} ({:.1} s)",
                    b.records,
                    b.sst_files,
                    human_bytes(b.sst_bytes),
                    dir.display(),
                    b.seconds
                ));
                return Ok(Exit::Ok);
            }
            print_backup_report(printer, &run_backup(&cfg)?);
        }
        Command::Restore(a) => {
            let cfg = backup_config(&a)?;
            if a.build_only {
                let Some(repo) = &cfg.repo else {
                    anyhow::bail!("--build-only needs --repo DIR to keep the backup in");
                };
                let seconds = ensure_backup(&cfg, repo)?;
                printer.json(&serde_json::json!({ "schema": 1, "type": "bench-build", "report": { "repo": repo.to_string(), "seconds": seconds } }));
                printer.line(format!(
                    "{} holds a backup to restore ({:.1} s)",
                    repo, seconds
                ));
                return Ok(Exit::Ok);
            }
            if let Some(n) = a.cluster_nodes {
                if n == 0 || a.pairs == 0 {
                    anyhow::bail!("--cluster-nodes and --pairs must be at least 1");
                }
                let r = crate::bench::restore_cluster::run_restore_cluster(&cfg, n, a.pairs)?;
                printer.json(&serde_json::json!({ "schema": 1, "type": "bench-restore-cluster", "report": r }));
                printer.table(&kv_table(&[
                    (
                        "backup",
                        format!(
                            "{} ({}) of a node of cluster {}",
                            r.backup_id,
                            human_bytes(r.bytes),
                            r.cluster_id.as_deref().unwrap_or("?")
                        ),
                    ),
                    (
                        "standalone restore",
                        format!(
                            "median {:.2} s ({:.0} MB/s) of {}",
                            r.standalone_median,
                            r.bytes as f64 / 1e6 / r.standalone_median.max(1e-9),
                            r.standalone_seconds.len()
                        ),
                    ),
                    (
                        "restore as a cluster node",
                        format!(
                            "median {:.2} s per node ({:.0} MB/s) of {} ({} nodes x {} pairs)",
                            r.node_median,
                            r.bytes as f64 / 1e6 / r.node_median.max(1e-9),
                            r.node_seconds.len(),
                            r.nodes,
                            r.pairs
                        ),
                    ),
                    ("node / standalone", format!("{:.2}x", r.ratio)),
                ]));
                return Ok(Exit::Ok);
            }
            print_backup_report(printer, &run_restore(&cfg)?);
        }
        Command::Read(a) => {
            let r = run_read(&ReadBenchConfig {
                dir: a.dir,
                records: a.records,
                value_size: a.value_size,
                compression: a.sst_compression,
                block_cache_bytes: a.block_cache_mb << 20,
                gets: a.gets,
                seed: a.seed,
            })?;
            printer.json(&serde_json::json!({ "schema": 1, "type": "bench-read", "report": r }));
            printer.table(&kv_table(&[
                ("records", format!("{} ({} keys)", r.records, r.keys)),
                ("compression", r.compression.to_string()),
                (
                    "tables",
                    format!(
                        "{} files, {} on disk; data blocks {} before compression, keys and values {}",
                        r.sst_files,
                        human_bytes(r.sst_bytes),
                        human_bytes(r.raw_data_bytes),
                        human_bytes(r.raw_kv_bytes)
                    ),
                ),
                (
                    "gets",
                    format!(
                        "{:.0}/s, p50 {:.2} µs, p99 {:.2} µs ({} gets)",
                        r.get_ops_per_sec, r.get_p50_us, r.get_p99_us, r.gets
                    ),
                ),
                (
                    "full scan",
                    format!(
                        "{} entries in {:.3} s: {:.0} entries/s, {:.1} MB/s",
                        r.scan_entries, r.scan_seconds, r.scan_entries_per_sec, r.scan_mb_per_sec
                    ),
                ),
                (
                    "block cache",
                    r.block_cache.map_or_else(
                        || "not used (no compressed blocks)".to_string(),
                        |c| {
                            format!(
                                "{} of {}, {} hits, {} misses",
                                human_bytes(c.bytes),
                                human_bytes(c.capacity_bytes),
                                c.hits,
                                c.misses
                            )
                        },
                    ),
                ),
                ("build", format!("{:.2} s", r.build_seconds)),
            ]));
        }
        Command::Cluster(a) if a.nemesis => {
            let r = nemesis(printer, &a)?;
            print_nemesis_report(printer, &r);
            if r.lost > 0 || !r.two_leaders.is_empty() {
                anyhow::bail!(
                    "nemesis: {} acknowledged writes lost, {} terms with two leaders",
                    r.lost,
                    r.two_leaders.len()
                );
            }
        }
        Command::Cluster(a) => {
            if a.lag_seconds.is_nan() || a.lag_seconds <= 0.0 {
                anyhow::bail!("--lag-seconds must be above 0");
            }
            let r = run_cluster(&ClusterBenchConfig {
                writes: a.writes,
                writers: a.writers,
                value_size: a.value_size,
                lag_rates: a.lag_rates,
                lag_seconds: a.lag_seconds,
                archive: (a.archive_rate > 0).then_some((a.archive_rate, a.archive_poll)),
                failovers: a.failovers,
                timing: super::serve::timing(a.timing),
                compaction_mb: a.compaction_mb,
            })?;
            print_cluster_report(printer, &r);
        }
    }
    Ok(Exit::Ok)
}

fn nemesis(printer: &Printer, a: &ClusterArgs) -> anyhow::Result<NemesisReport> {
    let bar = printer.steps(a.rounds * 4, "nemesis");
    let cfg = NemesisConfig {
        dir: a.dir.clone(),
        exe: std::env::current_exe()?,
        rounds: a.rounds as usize,
        timing_profile: match a.timing {
            super::serve::TimingProfile::Default => "default",
            super::serve::TimingProfile::Fast => "fast",
        }
        .into(),
        timing: super::serve::timing(a.timing),
        rate: a.rate,
        clients: 4,
    };
    let r = run_nemesis(&cfg, &mut |step| {
        bar.inc(1);
        bar.set_message(step.to_string());
        printer.verbose(step);
    });
    bar.finish_and_clear();
    Ok(r?)
}

fn print_nemesis_report(printer: &Printer, r: &NemesisReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "bench-cluster-nemesis", "report": r }));
    printer.line(format!(
        "nemesis: {} rounds in {:.0} s (heartbeat {} ms, election timeout {}-{} ms), {} writes acknowledged, {} lost",
        r.rounds,
        r.seconds,
        r.heartbeat_ms,
        r.election_timeout_ms.0,
        r.election_timeout_ms.1,
        r.acknowledged,
        r.lost
    ));
    printer.line(format!(
        "write outages (>= {} ms without an acknowledged write): {}, longest {:.0} ms, p50 {:.0} ms, p99 {:.0} ms",
        crate::bench::nemesis::OUTAGE_MIN.as_millis(),
        r.outages.len(),
        r.longest_outage_ms,
        r.p50_outage_ms,
        r.p99_outage_ms
    ));
    printer.line(format!(
        "terms: {} with a leader, last {}; {}",
        r.terms_with_leader,
        r.final_term,
        if r.two_leaders.is_empty() {
            "one leader per term".to_string()
        } else {
            format!("two leaders in {}", r.two_leaders.join(", "))
        }
    ));
    let mut t = table(&["round", "fault", "node", "held", "outage"]);
    for f in &r.faults {
        t.add_row(vec![
            (f.round + 1).to_string(),
            f.fault.name().to_string(),
            f.node.to_string(),
            format!("{:.1} s", f.held_ms / 1e3),
            if f.outage_ms > 0.0 {
                format!("{:.0} ms", f.outage_ms)
            } else {
                "none".into()
            },
        ]);
    }
    printer.table(&t);
}

fn print_cluster_report(printer: &Printer, r: &ClusterBenchReport) {
    printer.json(&serde_json::json!({ "schema": 1, "type": "bench-cluster", "report": r }));
    let mut t = table(&[
        "setup",
        "ops/s",
        "p50",
        "p99",
        "max",
        "CPU/write",
        "fsyncs/write per node",
    ]);
    for row in &r.throughput {
        t.add_row(vec![
            row.setup.clone(),
            format!("{:.0}", row.ops_per_sec),
            format!("{:.2} ms", row.p50_us / 1e3),
            format!("{:.2} ms", row.p99_us / 1e3),
            format!("{:.2} ms", row.max_us / 1e3),
            format!("{:.1} µs", row.cpu_us_per_write),
            row.fsyncs_per_write
                .iter()
                .map(|f| format!("{f:.3}"))
                .collect::<Vec<_>>()
                .join(" / "),
        ]);
    }
    printer.line(format!(
        "write throughput, {} writers, {}-byte values: 3 nodes = {:.2}x one node",
        r.writers, r.value_size, r.throughput_ratio
    ));
    printer.line(format!(
        "one client pipelining {} writes: 3 nodes = {:.2}x one node",
        r.pipeline_depth, r.pipelined_ratio
    ));
    printer.table(&t);
    let mut t = table(&[
        "target/s",
        "achieved/s",
        "samples",
        "lag p50",
        "lag p99",
        "lag max",
    ]);
    for l in &r.lag {
        t.add_row(vec![
            l.target_per_sec.to_string(),
            format!("{:.0}", l.achieved_per_sec),
            l.samples.to_string(),
            format!("{:.2} ms", l.p50_ms),
            format!("{:.2} ms", l.p99_ms),
            format!("{:.2} ms", l.max_ms),
        ]);
    }
    printer.line("replication lag (leader acknowledgement to a follower applying it):");
    printer.table(&t);
    if let Some(l) = &r.archive_lag {
        printer.line(format!(
            "archive lag (leader acknowledgement to `wal archive` on a follower holding it, poll {} ms): {:.0} writes/s, {} samples, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            r.archive_poll_ms.unwrap_or(0),
            l.achieved_per_sec,
            l.samples,
            l.p50_ms,
            l.p99_ms,
            l.max_ms
        ));
    }
    if !r.heartbeats.is_empty() {
        let mut t = table(&[
            "phase",
            "sampled",
            "compaction",
            "gaps",
            "p50",
            "p99",
            "max",
        ]);
        for h in &r.heartbeats {
            t.add_row(vec![
                h.phase.clone(),
                format!("{:.1} s", h.seconds),
                if h.busy_seconds > 0.01 {
                    format!("{:.1} s", h.busy_seconds)
                } else {
                    "-".into()
                },
                h.samples.to_string(),
                format!("{:.0} ms", h.p50_ms),
                format!("{:.0} ms", h.p99_ms),
                format!("{:.0} ms", h.max_ms),
            ]);
        }
        printer.line(format!(
            "gaps between the leader's messages at the followers, idle and while every node compacts (no writes; heartbeat {} ms, which openraft sends on its next tick: every {} ms):",
            r.heartbeat_ms,
            r.heartbeat_ms * 3 / 2
        ));
        printer.table(&t);
    }
    if !r.failover.is_empty() {
        let mut t = table(&["round", "to new leader", "to first write"]);
        for f in &r.failover {
            t.add_row(vec![
                f.round.to_string(),
                format!("{:.0} ms", f.to_new_leader_ms),
                format!("{:.0} ms", f.to_first_write_ms),
            ]);
        }
        printer.line(format!(
            "failover (heartbeat {} ms, election timeout {}-{} ms): median {:.0} ms to a new leader, {:.0} ms to the first write",
            r.heartbeat_ms,
            r.election_timeout_ms.0,
            r.election_timeout_ms.1,
            r.failover_median_leader_ms,
            r.failover_median_write_ms
        ));
        printer.table(&t);
    }
}
