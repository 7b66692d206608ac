//! SCAN: cursors over the plain key space.

use super::*;
use crate::engine::prefix_upper_bound;
use crate::serve::pattern::glob_match;

/// SCAN COUNT above this is taken as this: one reply must not walk the whole key space.
pub const MAX_SCAN_COUNT: usize = 100_000;

/// SCAN cursor [MATCH pattern] [COUNT n] [TYPE string]. Keys come in key order; a cursor
/// stands for "after this key", so a full iteration returns every key that existed for all
/// of it exactly once. Cursors live in server memory (the last [`MAX_CURSORS`]).
pub(super) fn scan(shared: &Shared, args: &Args) -> Reply {
    let Some(cursor) = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return Reply::err("ERR invalid cursor");
    };
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut i = 2;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return syntax_error();
        };
        match args[i].to_ascii_lowercase().as_slice() {
            b"match" => pattern = Some(value),
            b"count" => match std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
            {
                Some(n) if n >= 1 => count = n.min(MAX_SCAN_COUNT),
                _ => return syntax_error(),
            },
            // Every drkit key is a string.
            b"type" if value.eq_ignore_ascii_case(b"string") => {}
            b"type" => {
                return Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
            }
            _ => return syntax_error(),
        }
        i += 2;
    }
    let start = if cursor == 0 {
        vec![record::PLAIN_PREFIX]
    } else {
        match shared.cursor_key(cursor) {
            // The smallest key after the last one returned.
            Some(mut last) => {
                last.push(0);
                last
            }
            None => {
                return Reply::err("ERR invalid cursor (unknown or expired: start again from 0)");
            }
        }
    };
    let iter = match shared
        .engine
        .scan(&start, prefix_upper_bound(&[record::PLAIN_PREFIX]))
    {
        Ok(it) => it,
        Err(e) => return engine_error(&e),
    };
    let mut keys = Vec::new();
    let mut last = None;
    let mut more = false;
    for (examined, r) in iter.enumerate() {
        if examined == count {
            more = true;
            break;
        }
        let (key, _) = match r {
            Ok(kv) => kv,
            Err(e) => return engine_error(&e),
        };
        let user_key = &key[1..];
        if pattern.is_none_or(|p| glob_match(p, user_key)) {
            keys.push(Reply::bulk(user_key.to_vec()));
        }
        last = Some(key);
    }
    let next = match (more, last) {
        (true, Some(last)) => shared.remember_cursor(last),
        _ => 0,
    };
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(keys)])
}
