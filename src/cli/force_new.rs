//! `drkit cluster force-new`: prints what a force-new kept and dropped.

use std::path::PathBuf;

use crate::cluster::NodeId;
use crate::cluster::force_new::{Addresses, ForceNewReport, force_new};
use crate::error::Exit;
use crate::output::{Printer, kv_table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The survivor's data dir (the node stopped).
    #[arg(long)]
    pub data: PathBuf,
    /// The survivor's node id (it keeps it).
    #[arg(long)]
    pub node_id: NodeId,
    /// Its --raft-listen address, when the membership it recorded does not name it (or it
    /// moves).
    #[arg(long, value_name = "ADDR")]
    pub raft_addr: Option<String>,
    /// Its client address, named in `-MOVED` replies.
    #[arg(long, value_name = "ADDR")]
    pub client_addr: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: &Args) -> anyhow::Result<Exit> {
    let addrs = Addresses {
        raft_addr: args.raft_addr.clone(),
        client_addr: args.client_addr.clone(),
    };
    let r = force_new(&args.data, args.node_id, &addrs)?;
    if args.json {
        printer.json(&serde_json::json!({ "schema": 1, "type": "force-new", "report": r }));
    } else {
        print_human(printer, &r);
    }
    Ok(if r.dropped_entries > 0 {
        Exit::DataDropped
    } else {
        Exit::Ok
    })
}

fn print_human(printer: &Printer, r: &ForceNewReport) {
    let dropped = match (r.dropped_from, r.dropped_to) {
        (Some(a), Some(b)) => format!("{} entries (indexes {a}..={b})", r.dropped_entries),
        _ => "none".into(),
    };
    let rows = [
        ("node", r.node_id.to_string()),
        ("old cluster", r.old_cluster_id.clone()),
        ("new cluster", r.new_cluster_id.clone()),
        (
            "kept",
            format!(
                "every entry up to index {} (term {}), {} of them from the log",
                r.kept_index, r.kept_term, r.kept_log_entries
            ),
        ),
        ("dropped (never known committed)", dropped),
        (
            "old log kept in",
            r.lost_dir
                .as_ref()
                .map_or("-".into(), |p| p.display().to_string()),
        ),
        ("raft address", r.raft_addr.clone()),
        ("client address", r.client_addr.clone()),
    ];
    printer.table(&kv_table(&rows));
    if r.resumed {
        printer.line("finished an interrupted force-new");
    }
    printer.line(format!(
        "node {} is now the only voter of cluster {}: start it with `drkit serve --node-id {}`, then add nodes with `drkit replicate --join {}` and `drkit cluster promote`",
        r.node_id, r.new_cluster_id, r.node_id, r.raft_addr
    ));
}
