//! Plain string keys: the writes a batch can collect (SET, MSET, DEL), and SET with NX, XX
//! or GET, which reads before it writes.

use super::*;
use crate::cluster::{Command, Response};
use crate::format::entry::PutCondition;

/// Writes that can join a pipelined group commit: Some(Ok(ops)), Some(Err(reply)) for bad
/// arguments, None for anything else (including SET with NX/XX/GET, which must read first).
pub(super) fn plain_write(name: &str, args: &Args) -> Option<Result<Vec<BatchOp>, Reply>> {
    let r = match name {
        "set" => {
            if args.len() < 3 {
                return Some(Err(wrong_arity(name)));
            }
            match set_options(&args[3..]) {
                Err(reply) => Err(reply),
                Ok(o) if o.nx || o.xx || o.get => return None,
                Ok(_) => Ok(vec![BatchOp::Put {
                    key: args[1].clone(),
                    value: args[2].clone(),
                }]),
            }
        }
        "mset" => {
            if args.len() < 3 || args.len().is_multiple_of(2) {
                return Some(Err(wrong_arity(name)));
            }
            Ok(args[1..]
                .chunks(2)
                .map(|kv| BatchOp::Put {
                    key: kv[0].clone(),
                    value: kv[1].clone(),
                })
                .collect())
        }
        "order.insert" => parse_order(args).map(|o| vec![BatchOp::Order(o)]),
        "trade.exec" => parse_trade(args).map(|t| vec![BatchOp::Trade(t)]),
        "account.update" => parse_account(args).map(|a| vec![BatchOp::Account(a)]),
        _ => return None,
    };
    Some(r)
}

#[derive(Debug, Default)]
pub(super) struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
}

pub(super) fn set_options(opts: &[Vec<u8>]) -> Result<SetOptions, Reply> {
    let mut o = SetOptions::default();
    for opt in opts {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => o.nx = true,
            b"xx" => o.xx = true,
            b"get" => o.get = true,
            // No key ever has a time to live, so keeping it changes nothing.
            b"keepttl" => {}
            b"ex" | b"px" | b"exat" | b"pxat" => {
                return Err(Reply::err(
                    "ERR drkit keys do not expire: SET EX/PX/EXAT/PXAT are not supported; set the key without them (docs/runbooks/serve.md)",
                ));
            }
            _ => return Err(syntax_error()),
        }
    }
    if o.nx && o.xx {
        return Err(syntax_error());
    }
    Ok(o)
}

/// SET with NX, XX or GET. Standalone: read and write under the exclusive gate, so the
/// condition still holds when the write lands. Cluster: decided by the state machine where
/// the entry lands in the log (see [`decided_set`]).
pub(super) fn conditional_set(shared: &Shared, args: &Args) -> Reply {
    let o = match set_options(&args[3..]) {
        Ok(o) => o,
        Err(r) => return r,
    };
    if let Some(c) = &shared.cluster
        && (o.nx || o.xx || o.get)
    {
        return decided_set(c, args, &o);
    }
    let _exclusive = shared
        .write_gate
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let old = if shared.cluster.is_some() {
        None
    } else {
        match shared.engine.get(&args[1]) {
            Ok(v) => v,
            Err(e) => return engine_error(&e),
        }
    };
    let blocked = (o.nx && old.is_some()) || (o.xx && old.is_none());
    let put = BatchOp::Put {
        key: args[1].clone(),
        value: args[2].clone(),
    };
    if !blocked && let Err(e) = shared.write_batch(vec![put]) {
        return e;
    }
    set_reply(&o, !blocked, old)
}

/// What SET answers: the old value with GET, else OK when it wrote and nil when its
/// condition failed.
fn set_reply(o: &SetOptions, written: bool, old: Option<Vec<u8>>) -> Reply {
    match (o.get, written) {
        (true, _) => old.map_or(Reply::Nil, Reply::Bulk),
        (false, false) => Reply::Nil,
        (false, true) => Reply::ok(),
    }
}

/// A cluster's SET NX / XX / GET: one PutIf entry, decided when applied. Every node decides
/// it alike at that point of the log, so a client that asks again after a leader change,
/// or races another client on the new leader, never sees two winners.
fn decided_set(c: &crate::cluster::ClusterClient, args: &Args, o: &SetOptions) -> Reply {
    let when = if o.nx {
        PutCondition::Absent
    } else if o.xx {
        PutCondition::Present
    } else {
        PutCondition::Always
    };
    let command = Command::PutIf {
        key: record::plain_key(&args[1]),
        value: args[2].clone(),
        when,
    };
    match c.decide_blocking(command) {
        Ok(Response {
            put_if: Some(outcome),
            ..
        }) => set_reply(o, outcome.written, outcome.old),
        Ok(_) => Reply::err("ERR cluster: the entry was applied without the SET's outcome"),
        Err(e) => cluster_error(&e),
    }
}

/// DEL in a cluster: its deletes as an entry of their own, counted by the state machine as
/// it applies them (a key deleted by two racing DELs is counted once, by the first).
pub(super) fn decided_del(c: &crate::cluster::ClusterClient, keys: &[Vec<u8>]) -> Reply {
    let mut deletes: Vec<Command> = keys
        .iter()
        .map(|k| Command::Delete {
            key: record::plain_key(k),
        })
        .collect();
    let command = if deletes.len() == 1 {
        deletes.remove(0)
    } else {
        Command::Batch(deletes)
    };
    match c.decide_blocking(command) {
        Ok(r) => Reply::Int(r.deleted as i64),
        Err(e) => cluster_error(&e),
    }
}

/// DEL on a standalone server: the reads and the delete under the exclusive gate, so two
/// DELs of one key do not both count it. A key named twice counts once, as in Redis.
pub(super) fn counted_del(shared: &Shared, keys: &[Vec<u8>]) -> Reply {
    let _exclusive = shared
        .write_gate
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut existed = 0;
    let mut seen = std::collections::HashSet::new();
    for k in keys {
        if !seen.insert(k) {
            continue;
        }
        match shared.engine.get(k) {
            Ok(Some(_)) => existed += 1,
            Ok(None) => {}
            Err(e) => return engine_error(&e),
        }
    }
    let ops = keys
        .iter()
        .map(|k| BatchOp::Delete { key: k.clone() })
        .collect();
    match shared.write_batch(ops) {
        Ok(_) => Reply::Int(existed),
        Err(e) => e,
    }
}

pub(super) fn count_plain_keys(engine: &Engine) -> crate::Result<u64> {
    let mut n = 0;
    for r in engine.scan_prefix(&[record::PLAIN_PREFIX])? {
        r?;
        n += 1;
    }
    Ok(n)
}
