use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::engine::{Engine, Options, SyncPolicy};
use crate::error::{Error, Exit};
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
}

/// The password from `file` or else from the environment; None when neither is set.
pub fn load_password(file: Option<&PathBuf>) -> anyhow::Result<Option<Vec<u8>>> {
    let secret = match file {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
            let first = first.strip_suffix(b"\r").unwrap_or(first).to_vec();
            if first.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "{}: the password file is empty; put the password on its first line",
                    path.display()
                ))
                .into());
            }
            first
        }
        None => match std::env::var_os(PASSWORD_ENV) {
            Some(v) if !v.is_empty() => v.into_encoded_bytes(),
            _ => return Ok(None),
        },
    };
    Ok(Some(secret))
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let password = load_password(args.requirepass_file.as_ref())?;
    let opts = Options {
        sync: args.sync,
        snapshot_interval: args.snapshot_interval,
        ..Options::default()
    };
    let engine = Engine::open(&args.data, opts)
        .with_context(|| format!("cannot open {} for serving", args.data.display()))?;
    let report = engine.recovery_report();
    printer.verbose(format!(
        "recovered {}: {} entries replayed",
        args.data.display(),
        report.replayed
    ));
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
    )?;
    match stopped {
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
