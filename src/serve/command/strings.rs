//! Plain string keys: the writes a batch can collect (SET, MSET, DEL), and SET with NX, XX
//! or GET, which reads before it writes.

use super::*;

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

/// SET with NX, XX or GET: read and write under the exclusive gate, so the condition still
/// holds when the write lands.
pub(super) fn conditional_set(shared: &Shared, args: &Args) -> Reply {
    let o = match set_options(&args[3..]) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let _exclusive = shared
        .write_gate
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Cluster mode: only the leader writes, and the barrier makes its state current first.
    if let Some(c) = &shared.cluster
        && let Err(e) = c.read_barrier_blocking()
    {
        return cluster_error(&e);
    }
    let old = match shared.engine.get(&args[1]) {
        Ok(v) => v,
        Err(e) => return engine_error(&e),
    };
    let blocked = (o.nx && old.is_some()) || (o.xx && old.is_none());
    let put = BatchOp::Put {
        key: args[1].clone(),
        value: args[2].clone(),
    };
    if !blocked && let Err(e) = shared.write_batch(vec![put]) {
        return e;
    }
    match (o.get, blocked) {
        (true, _) => old.map_or(Reply::Nil, Reply::Bulk),
        (false, true) => Reply::Nil,
        (false, false) => Reply::ok(),
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
