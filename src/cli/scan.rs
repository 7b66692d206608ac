use std::ops::Bound;
use std::path::PathBuf;

use crate::engine::{ReadOnly, RecoveryMode, prefix_upper_bound};
use crate::error::{Error, Exit};
use crate::ops::render::{self, parse_key};
use crate::output::{Printer, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir (stopped or crashed; nothing in it is changed).
    pub dir: PathBuf,
    /// Only keys starting with this (same syntax as keys: `order:`, `account:user-1`, `foo`, `0x…`).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub prefix: Option<String>,
    /// First key (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last key (exclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// At most this many records; 0 for all.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// JSON Lines: one record per line, then a summary line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let parse = |s: &str| parse_key(s).map_err(Error::InvalidInput);
    let (start, upper) = match (&args.prefix, &args.from, &args.to) {
        (Some(p), _, _) => {
            let p = parse(p)?;
            let upper = prefix_upper_bound(&p);
            (p, upper)
        }
        (None, from, to) => (
            from.as_deref().map(parse).transpose()?.unwrap_or_default(),
            to.as_deref()
                .map(parse)
                .transpose()?
                .map_or(Bound::Unbounded, Bound::Excluded),
        ),
    };
    let db = crate::cluster::offline::read_only(&args.dir, RecoveryMode::TolerateTail)?;
    note_cluster_view(printer, &db);
    let limit = if args.limit == 0 {
        usize::MAX
    } else {
        args.limit
    };
    let mut t = table(&["type", "key", "record"]);
    let mut count = 0usize;
    let mut truncated = false;
    for item in db.scan(&start, upper)? {
        if count == limit {
            truncated = true;
            break;
        }
        let (key, value) = item?;
        let r = render::render(&key, Some(&value));
        printer.json(&serde_json::json!({ "schema": 1, "type": "record", "kind": r.kind, "key": r.key, "value": r.value }));
        if !printer.json {
            t.add_row(vec![r.kind.to_string(), r.key, r.summary]);
        }
        count += 1;
    }
    printer.json(&serde_json::json!({ "schema": 1, "type": "summary", "records": count, "limit_reached": truncated }));
    printer.table(&t);
    printer.line(format!(
        "{count} records{}",
        if truncated {
            " (limit reached; --limit 0 for all)"
        } else {
            ""
        }
    ));
    Ok(Exit::Ok)
}

/// On a cluster node's dir, says which state is shown: what the node recorded as committed.
pub(crate) fn note_cluster_view(printer: &Printer, db: &ReadOnly) {
    match db.cluster_committed() {
        Some(Some(index)) => printer.warn(format!(
            "note: a cluster node's dir: its committed state up to log index {} (recorded in \
             DIR/raft/state); entries after it may never have committed and are not shown",
            index.max(db.state().flushed_seq)
        )),
        Some(None) => printer.warn(
            "note: a cluster node's dir that never recorded a committed index: only its \
             flushed tables are shown",
        ),
        None => {}
    }
}
