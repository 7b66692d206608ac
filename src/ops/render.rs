//! How keys and values look to a person: typed summaries of orders, trades and accounts,
//! plain keys as text when they are printable and as hex otherwise. Shared by `inspect`,
//! `get` and `scan`, so a record reads the same everywhere.

use serde::Serialize;

use crate::format::record::{
    ACCOUNT_PREFIX, Account, ORDER_PREFIX, Order, PLAIN_PREFIX, Side, TRADE_PREFIX, Trade,
};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rendered {
    /// order | trade | account | plain | other
    pub kind: &'static str,
    /// The id (domain records) or the plain key, as text or `0x` hex.
    pub key: String,
    /// One line for tables; empty for a tombstone.
    pub summary: String,
    /// The decoded value for `--json`: the record's fields, `{"text": ..}` / `{"hex": ..}` for
    /// plain values, null for a tombstone, `{"error": .., "hex": ..}` if it does not decode.
    pub value: serde_json::Value,
}

/// Text when printable UTF-8 (no control characters), else `0x` + hex.
pub fn display_bytes(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(char::is_control) && !s.starts_with("0x") => s.to_string(),
        _ => hex(b),
    }
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 0x0f)]));
    }
    s
}

fn plain_value(v: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(v) {
        Ok(s) if !s.chars().any(char::is_control) => serde_json::json!({ "text": s }),
        _ => serde_json::json!({ "hex": hex(v) }),
    }
}

/// Prices and amounts as a person writes them: at most 8 decimals, no float noise
/// (27666.870000000003 → 27666.87).
pub fn num(v: f64) -> String {
    let s = format!("{v:.8}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// Renders an internal key (prefix included) and its value (None = tombstone).
pub fn render(key: &[u8], value: Option<&[u8]>) -> Rendered {
    let (prefix, id) = key
        .split_first()
        .map_or((0, &[][..]), |(p, rest)| (*p, rest));
    let kind = match prefix {
        ORDER_PREFIX => "order",
        TRADE_PREFIX => "trade",
        ACCOUNT_PREFIX => "account",
        PLAIN_PREFIX => "plain",
        _ => "other",
    };
    let key_text = if kind == "other" {
        display_bytes(key)
    } else {
        display_bytes(id)
    };
    let Some(v) = value else {
        return Rendered {
            kind,
            key: key_text,
            summary: "(deleted)".into(),
            value: serde_json::Value::Null,
        };
    };
    let undecodable = |e: String| {
        (
            format!("undecodable value ({e}), {} bytes", v.len()),
            serde_json::json!({ "error": e, "hex": hex(v) }),
        )
    };
    let (summary, value) = match prefix {
        ORDER_PREFIX => match Order::decode(v) {
            Ok(o) => (
                format!(
                    "{} {} {} @ {} user {}",
                    side(o.side),
                    num(o.volume),
                    o.instrument_id,
                    num(o.price),
                    o.user_id
                ),
                serde_json::to_value(&o).unwrap_or_default(),
            ),
            Err(e) => undecodable(e.to_string()),
        },
        TRADE_PREFIX => match Trade::decode(v) {
            Ok(t) => (
                format!(
                    "{} {} @ {} order {}",
                    num(t.volume),
                    t.instrument_id,
                    num(t.price),
                    t.order_id
                ),
                serde_json::to_value(&t).unwrap_or_default(),
            ),
            Err(e) => undecodable(e.to_string()),
        },
        ACCOUNT_PREFIX => match Account::decode(v) {
            Ok(a) => (
                format!(
                    "balance {} available {} frozen {} margin {}",
                    num(a.balance),
                    num(a.available),
                    num(a.frozen),
                    num(a.margin)
                ),
                serde_json::to_value(&a).unwrap_or_default(),
            ),
            Err(e) => undecodable(e.to_string()),
        },
        _ => {
            let shown = display_bytes(v);
            let summary = if shown.len() > 80 {
                format!(
                    "{}… ({} bytes)",
                    shown.chars().take(80).collect::<String>(),
                    v.len()
                )
            } else {
                shown
            };
            (summary, plain_value(v))
        }
    };
    Rendered {
        kind,
        key: key_text,
        summary,
        value,
    }
}

/// The internal key a person means: `order:ID`, `trade:ID`, `account:ID`, `raw:0x…` (any
/// internal key in hex), `0x…` (a plain key in hex), anything else a plain key as text.
pub fn parse_key(arg: &str) -> Result<Vec<u8>, String> {
    let with = |p: u8, rest: &[u8]| [&[p][..], rest].concat();
    if let Some(id) = arg.strip_prefix("order:") {
        return Ok(with(ORDER_PREFIX, id.as_bytes()));
    }
    if let Some(id) = arg.strip_prefix("trade:") {
        return Ok(with(TRADE_PREFIX, id.as_bytes()));
    }
    if let Some(id) = arg.strip_prefix("account:") {
        return Ok(with(ACCOUNT_PREFIX, id.as_bytes()));
    }
    if let Some(h) = arg.strip_prefix("raw:") {
        return unhex(h);
    }
    if arg.starts_with("0x") {
        return Ok(with(PLAIN_PREFIX, &unhex(arg)?));
    }
    Ok(with(PLAIN_PREFIX, arg.as_bytes()))
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if !digits.len().is_multiple_of(2) {
        return Err(format!("{s:?}: odd number of hex digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(digits.get(i..i + 2).unwrap_or("zz"), 16)
                .map_err(|_| format!("{s:?}: not hex"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_plain_rendering() {
        let o = Order {
            order_id: "o1".into(),
            user_id: "u1".into(),
            instrument_id: "BTC-USD".into(),
            side: Side::Sell,
            price: 10.5,
            volume: 2.0,
        };
        let r = render(&o.key(), Some(&o.encode()));
        assert_eq!((r.kind, r.key.as_str()), ("order", "o1"));
        assert_eq!(r.summary, "SELL 2 BTC-USD @ 10.5 user u1");
        assert_eq!(r.value["price"], 10.5);
        let r = render(b"Kname", Some(b"\x00\x01"));
        assert_eq!(
            (r.kind, r.key.as_str(), r.summary.as_str()),
            ("plain", "name", "0x0001")
        );
        let r = render(b"Ogarbage", Some(b"\x01\x02"));
        assert!(r.summary.starts_with("undecodable"), "{}", r.summary);
        assert_eq!(render(b"Kx", None).value, serde_json::Value::Null);
    }

    #[test]
    fn key_arguments() {
        assert_eq!(parse_key("order:o1").unwrap(), b"Oo1");
        assert_eq!(parse_key("account:u").unwrap(), b"Au");
        assert_eq!(parse_key("hello").unwrap(), b"Khello");
        assert_eq!(parse_key("0x00ff").unwrap(), b"K\x00\xff");
        assert_eq!(parse_key("raw:4b61").unwrap(), b"Ka");
        assert!(parse_key("0x0").is_err());
        assert_eq!(display_bytes(b"abc"), "abc");
        assert_eq!(num(27666.870000000003), "27666.87");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(-0.0), "0");
        assert_eq!(display_bytes(b"\x00"), "0x00");
    }
}
