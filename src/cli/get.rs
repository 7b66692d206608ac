use std::path::PathBuf;

use crate::engine::RecoveryMode;
use crate::error::{Error, Exit};
use crate::ops::render::{self, display_bytes, parse_key};
use crate::output::{Printer, kv_table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data dir (stopped or crashed; nothing in it is changed).
    pub dir: PathBuf,
    /// `order:ID`, `trade:ID`, `account:USER`, a plain key as text, `0x…` for a plain key in
    /// hex, or `raw:…` for any internal key in hex.
    pub key: String,
    /// Print the record as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(printer: &Printer, args: Args) -> anyhow::Result<Exit> {
    let key = parse_key(&args.key).map_err(Error::InvalidInput)?;
    let db = crate::cluster::offline::read_only(&args.dir, RecoveryMode::TolerateTail)?;
    super::scan::note_cluster_view(printer, &db);
    let Some(value) = db.get_raw(&key)? else {
        return Err(Error::NotFound {
            path: args.dir.clone(),
            hint: format!("no key {} in this data dir", args.key),
        }
        .into());
    };
    let r = render::render(&key, Some(&value));
    printer.json(&serde_json::json!({ "schema": 1, "type": "record", "kind": r.kind, "key": r.key, "value": r.value }));
    let mut rows = vec![("type", r.kind.to_string()), ("key", r.key.clone())];
    if r.kind == "plain" || r.kind == "other" {
        rows.push(("value", display_bytes(&value)));
        rows.push(("bytes", value.len().to_string()));
    } else {
        rows.push(("record", r.summary.clone()));
        if let Some(fields) = r.value.as_object() {
            for (k, v) in fields {
                rows.push((k.as_str(), v.to_string().trim_matches('"').to_string()));
            }
        }
    }
    printer.table(&kv_table(&rows));
    Ok(Exit::Ok)
}
