use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Exit};
use crate::output::{Printer, kv_table, table};
use crate::serve::info;

use super::backup::parse_duration;
use super::serve::load_password;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address of a running `drkit serve`.
    #[arg(long, default_value = "127.0.0.1:6380")]
    pub addr: String,
    /// Password file for a server that requires AUTH (else DRKIT_REQUIREPASS is used).
    #[arg(long, value_name = "PATH")]
    pub requirepass_file: Option<PathBuf>,
    /// Give up connecting or reading after this long.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "5s")]
    pub timeout: Duration,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let password = load_password(args.requirepass_file.as_ref())?;
    let text = crate::serve::fetch_info(&args.addr, password.as_deref(), args.timeout)?;
    let sections = info::parse(&text);
    let field = |section: &str, name: &str| -> Option<&String> {
        sections.get(section).and_then(|s| s.get(name))
    };
    let num = |section: &str, name: &str| -> Result<u64, Error> {
        field(section, name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{}: INFO has no numeric {section}.{name}; is this a drkit server?",
                    args.addr
                ))
            })
    };
    let role = field("replication", "role").cloned().unwrap_or_default();
    let uptime = num("server", "uptime_in_seconds")?;
    let checkpoint = num("persistence", "checkpoint_seq")?;
    let last_seq = num("persistence", "last_seq")?;
    let clients = num("clients", "connected_clients")?;
    let ops = num("stats", "instantaneous_ops_per_sec")?;
    let mut levels = Vec::new();
    if let Some(l) = sections.get("levels") {
        for (name, value) in l {
            let Some(level) = name
                .strip_prefix("level")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let mut files = 0u64;
            let mut bytes = 0u64;
            for part in value.split(',') {
                match part.split_once('=') {
                    Some(("files", v)) => files = v.parse().unwrap_or(0),
                    Some(("bytes", v)) => bytes = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            levels.push((level, files, bytes));
        }
    }
    levels.sort_unstable();
    printer.json(&serde_json::json!({
        "schema": 1,
        "type": "status",
        "addr": args.addr,
        "role": role,
        "uptime_seconds": uptime,
        "checkpoint_seq": checkpoint,
        "last_seq": last_seq,
        "clients": clients,
        "ops_per_sec": ops,
        "sync": field("persistence", "sync_policy"),
        "levels": levels.iter().map(|(l, f, b)| serde_json::json!({"level": l, "files": f, "bytes": b})).collect::<Vec<_>>(),
    }));
    printer.table(&kv_table(&[
        ("addr", args.addr.clone()),
        ("role", role),
        ("uptime", format!("{uptime}s")),
        ("checkpoint seq", checkpoint.to_string()),
        ("last seq", last_seq.to_string()),
        ("clients", clients.to_string()),
        ("ops/s", ops.to_string()),
        (
            "sync",
            field("persistence", "sync_policy")
                .cloned()
                .unwrap_or_default(),
        ),
    ]));
    let mut t = table(&["level", "files", "bytes"]);
    for (l, f, b) in &levels {
        t.add_row(vec![
            l.to_string(),
            f.to_string(),
            crate::output::human_bytes(*b),
        ]);
    }
    printer.table(&t);
    Ok(Exit::Ok)
}
