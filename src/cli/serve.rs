use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use std::sync::Arc;

use crate::cluster::{ClusterClient, Node, NodeConfig, Timing};
use crate::engine::{DEFAULT_BLOCK_CACHE_BYTES, Engine, Options, SyncPolicy};
use crate::error::{Error, Exit};
use crate::format::sst::{Compression, SstOptions};
use crate::output::Printer;
use crate::serve::access::Password;
use crate::serve::{ServeConfig, Stopped};

use super::backup::parse_duration;

/// Where the password comes from when --requirepass-file is not given.
pub const PASSWORD_ENV: &str = "DRKIT_REQUIREPASS";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir (created if missing); locked while the server runs.
    #[arg(long)]
    pub data: PathBuf,
    /// Log lines on stderr: `text` for people, `json` (one object per line) for log
    /// shippers. Filter with RUST_LOG (default: info, and openraft's errors).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: super::logging::LogFormat,
    /// Address for RESP clients (redis-cli -p, any Redis client). Port 0 picks a free port
    /// (printed at start).
    #[arg(long, default_value = "127.0.0.1:6380")]
    pub listen: SocketAddr,
    /// When a write is acknowledged: `always` (fsync first, shared by concurrent writers),
    /// `interval:MS` (fsync every MS ms; a crash loses at most that), `never`.
    #[arg(long, default_value = "always")]
    pub sync: SyncPolicy,
    /// Serve Prometheus text metrics over HTTP on this address (GET /metrics).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Write a memtable snapshot this often (30s, 5m, 1h) so restarts replay less WAL.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub snapshot_interval: Option<Duration>,
    /// Most clients connected at once; more are refused with an error.
    #[arg(long, default_value_t = 10_000)]
    pub max_clients: usize,
    /// Close a client that sent nothing for this long (30s, 5m); 0 never does.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "300s")]
    pub idle_timeout: Duration,
    /// Largest bulk string (key or value) accepted in a request, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_bulk_len: usize,
    /// How new SSTables store data blocks: zstd, zstd:LEVEL (1 fastest .. 22 smallest) or
    /// none. Tables already written keep theirs until compaction rewrites them.
    #[arg(long, value_name = "CODEC", default_value = "zstd")]
    pub sst_compression: Compression,
    /// Decompressed SST blocks kept in memory for reads, in MiB; 0 decompresses on every read.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_BLOCK_CACHE_BYTES >> 20)]
    pub block_cache_mb: u64,
    /// Replayed data recovery holds in memory when the node starts, like 4GiB; past it the
    /// oldest is written to L0 tables while replay goes on. Default: a quarter of RAM.
    #[arg(long, value_name = "SIZE", value_parser = crate::cli::repo::parse_size)]
    pub memory_budget: Option<usize>,
    /// Read the AUTH password from this file (first line). Without it, the DRKIT_REQUIREPASS
    /// environment variable is used if set. Never given on the command line, which `ps` shows.
    #[arg(long, value_name = "PATH")]
    pub requirepass_file: Option<PathBuf>,
    /// Serve clients from any address even without a password (default: only loopback
    /// clients are served when no password is set).
    #[arg(long)]
    pub no_protected_mode: bool,
    /// Print the start and stop lines as JSON.
    #[arg(long)]
    pub json: bool,
    /// Cluster mode: this node's id (1 or more, unique in the cluster). Writes then go
    /// through the Raft log and are acknowledged once a majority of voters holds them.
    #[arg(long, requires_all = ["raft_listen", "cluster_secret_file"])]
    pub node_id: Option<u64>,
    /// Cluster mode: where peers and `drkit cluster` reach this node.
    #[arg(long, value_name = "ADDR", requires = "node_id")]
    pub raft_listen: Option<String>,
    /// Cluster mode: the shared secret (first line of the file) every node and admin proves
    /// on connect. Never on the command line.
    #[arg(long, value_name = "PATH", requires = "node_id")]
    pub cluster_secret_file: Option<PathBuf>,
    /// Cluster mode: heartbeat and election timing. `default`: heartbeat 500 ms, election
    /// timeout 1.5-2 s. `fast`: 50 ms and 0.3-0.6 s, for tests on one machine.
    #[arg(long, value_enum, default_value = "default", requires = "node_id")]
    pub timing: TimingProfile,
    /// Cluster mode: dial ADDR to reach node ID instead of the raft address the membership
    /// names (a NAT, a port forward or a proxy in between). Repeatable.
    #[arg(long, value_name = "ID=ADDR", value_parser = parse_route, requires = "node_id")]
    pub raft_route: Vec<(u64, String)>,
}

fn parse_route(s: &str) -> Result<(u64, String), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ID=ADDR, e.g. 2=10.0.0.2:7001"))?;
    let id = id
        .parse::<u64>()
        .map_err(|_| format!("{id:?} is not a node id"))?;
    if addr.is_empty() {
        return Err(format!("{s:?}: the address is empty"));
    }
    Ok((id, addr.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimingProfile {
    Default,
    Fast,
}

pub fn timing(profile: TimingProfile) -> Timing {
    match profile {
        TimingProfile::Default => Timing::DEFAULT,
        TimingProfile::Fast => Timing::FAST,
    }
}

/// The first line of a secret file; an empty one is an error naming the file.
pub fn read_secret_file(path: &std::path::Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first).to_vec();
    if first.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: the {what} file is empty; put the {what} on its first line",
            path.display()
        ))
        .into());
    }
    Ok(first)
}

/// The password from `file` or else from the environment; None when neither is set.
pub fn load_password(file: Option<&PathBuf>) -> anyhow::Result<Option<Vec<u8>>> {
    let secret = match file {
        Some(path) => read_secret_file(path, "password")?,
        None => match std::env::var_os(PASSWORD_ENV) {
            Some(v) if !v.is_empty() => v.into_encoded_bytes(),
            _ => return Ok(None),
        },
    };
    Ok(Some(secret))
}

/// Starts this process's cluster node on a runtime of its own.
fn start_node(
    printer: &Printer,
    args: &Args,
    node_id: u64,
    opts: Options,
) -> anyhow::Result<(tokio::runtime::Runtime, Node)> {
    let (Some(raft_listen), Some(secret_file)) = (&args.raft_listen, &args.cluster_secret_file)
    else {
        anyhow::bail!("--node-id needs --raft-listen and --cluster-secret-file");
    };
    if args.listen.port() == 0 || raft_listen.ends_with(":0") {
        anyhow::bail!(
            "cluster mode needs fixed ports for --listen and --raft-listen: the membership names them, and followers send clients to the leader's"
        );
    }
    let secret = read_secret_file(secret_file, "cluster secret")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("drkit-raft")
        .enable_all()
        .build()?;
    let node = rt
        .block_on(Node::start(NodeConfig {
            data_dir: args.data.clone(),
            node_id,
            raft_listen: raft_listen.clone(),
            client_addr: args.listen.to_string(),
            secret,
            timing: timing(args.timing),
            engine: opts,
            routes: args.raft_route.iter().cloned().collect(),
        }))
        .with_context(|| {
            format!(
                "cannot start cluster node {node_id} on {}",
                args.data.display()
            )
        })?;
    printer.line(format!(
        "drkit serve: cluster node {node_id}, peers on {}",
        node.raft_addr
    ));
    Ok((rt, node))
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    run_with(printer, args, None)
}

/// Called once a cluster node is up, before clients are served (`replicate` joins there).
pub type OnNode = Box<dyn FnOnce(&Node)>;

pub fn run_with(printer: &Printer, args: Args, on_node: Option<OnNode>) -> anyhow::Result<Exit> {
    super::logging::init(args.log_format);
    let password = load_password(args.requirepass_file.as_ref())?;
    let opts = Options {
        sync: args.sync,
        snapshot_interval: args.snapshot_interval,
        sst: SstOptions {
            compression: args.sst_compression,
            ..SstOptions::default()
        },
        block_cache_bytes: args.block_cache_mb.saturating_mul(1 << 20),
        ..Options::default()
    };
    let opts = Options {
        recovery_memory_budget: args
            .memory_budget
            .map_or(opts.recovery_memory_budget, |b| b as u64),
        ..opts
    };
    let mut node = None;
    let (engine, cluster) = match args.node_id {
        Some(id) => {
            if args.sync != SyncPolicy::Always {
                anyhow::bail!(
                    "cluster mode acknowledges a write once a majority holds it on disk: --sync must be always"
                );
            }
            let (rt, n) = start_node(printer, &args, id, opts)?;
            if let Some(f) = on_node {
                f(&n);
            }
            if std::env::var_os(crate::cluster::UNSAFE_ACK_BEFORE_COMMIT_ENV).is_some() {
                #[allow(clippy::print_stderr, reason = "a warning no log filter may hide")]
                {
                    eprintln!(
                        "drkit serve: {} is set: writes are acknowledged BEFORE they commit and acknowledged writes WILL be lost; this is for testing the fault harness only",
                        crate::cluster::UNSAFE_ACK_BEFORE_COMMIT_ENV
                    );
                }
            }
            let client = ClusterClient::new(&n, rt.handle().clone());
            let engine = Arc::clone(&n.engine);
            node = Some((rt, n));
            (engine, Some(client))
        }
        None => {
            let engine = Engine::open(&args.data, opts)
                .with_context(|| format!("cannot open {} for serving", args.data.display()))?;
            let report = engine.recovery_report();
            printer.verbose(format!(
                "recovered {}: {} entries replayed, ready after {:.3} s (flushed in the background)",
                args.data.display(),
                report.replayed,
                report.ready.as_secs_f64()
            ));
            (Arc::new(engine), None)
        }
    };
    let cfg = ServeConfig {
        listen: args.listen,
        metrics: args.metrics,
        max_clients: args.max_clients,
        idle_timeout: (!args.idle_timeout.is_zero()).then_some(args.idle_timeout),
        max_bulk_len: args.max_bulk_len,
        protected_mode: !args.no_protected_mode,
    };
    let has_password = password.is_some();
    let stopped = crate::serve::serve(
        engine,
        cluster,
        cfg,
        password.as_deref().map(Password::new),
        |ready| {
            printer.json(&serde_json::json!({
                "schema": 1,
                "type": "listening",
                "addr": ready.addr.to_string(),
                "metrics": ready.metrics.map(|m| m.to_string()),
                "sync": args.sync.to_string(),
                "auth": has_password,
            }));
            printer.line(format!(
                "drkit serve: listening on {} (sync {}{}{})",
                ready.addr,
                args.sync,
                ready
                    .metrics
                    .map(|m| format!(", metrics on http://{m}/metrics"))
                    .unwrap_or_default(),
                if has_password { ", AUTH required" } else { "" }
            ));
            // Scripts and tests wait for this line to learn the port.
            crate::output::flush();
        },
    );
    let mut fatal = None;
    if let Some((rt, n)) = node {
        fatal = crate::cluster::client::fatal_of(&n.raft);
        rt.block_on(n.shutdown());
        rt.shutdown_timeout(Duration::from_secs(5));
    }
    if let Some(why) = fatal {
        stopped?;
        anyhow::bail!(
            "cluster node stopped serving: Raft stopped: {why}; the data dir is left as it was"
        );
    }
    match stopped? {
        Stopped::Graceful => {
            printer.json(&serde_json::json!({ "schema": 1, "type": "stopped", "graceful": true }));
            printer.line("drkit serve: stopped (WAL synced, lock released)");
            Ok(Exit::Ok)
        }
        Stopped::Forced => {
            printer.warn("drkit serve: second signal, exiting at once (recovery on next open replays the WAL)");
            Ok(Exit::Interrupted)
        }
    }
}
