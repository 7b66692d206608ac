//! The exchange records (orders, trades, accounts): argument parsing and the replies that
//! show them as field lists.

use super::*;
use crate::format::record::{Account, Order, Side, Trade};

/// Longest id accepted by the typed commands.
pub(super) const MAX_ID_LEN: usize = 128;

pub(super) fn text_arg<'a>(args: &'a Args, i: usize, field: &str) -> Result<&'a str, Reply> {
    let raw = &args[i];
    let s = std::str::from_utf8(raw)
        .map_err(|_| Reply::err(format!("ERR invalid {field}: not UTF-8")))?;
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(Reply::err(format!(
            "ERR invalid {field}: must be 1 to {MAX_ID_LEN} bytes"
        )));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Reply::err(format!(
            "ERR invalid {field}: no spaces or control characters"
        )));
    }
    Ok(s)
}

pub(super) fn num_arg(args: &Args, i: usize, field: &str) -> Result<f64, Reply> {
    std::str::from_utf8(&args[i])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| Reply::err(format!("ERR invalid {field}: not a finite number")))
}

pub(super) fn positive(v: f64, field: &str) -> Result<f64, Reply> {
    if v > 0.0 {
        Ok(v)
    } else {
        Err(Reply::err(format!("ERR invalid {field}: must be > 0")))
    }
}

pub(super) fn non_negative(v: f64, field: &str) -> Result<f64, Reply> {
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(Reply::err(format!("ERR invalid {field}: must be >= 0")))
    }
}

/// ORDER.INSERT order_id user_id instrument_id BUY|SELL price volume
pub(super) fn parse_order(args: &Args) -> Result<Order, Reply> {
    if args.len() != 7 {
        return Err(wrong_arity("order.insert"));
    }
    let side = match args[4].to_ascii_lowercase().as_slice() {
        b"buy" => Side::Buy,
        b"sell" => Side::Sell,
        _ => return Err(Reply::err("ERR invalid side: use BUY or SELL")),
    };
    Ok(Order {
        order_id: text_arg(args, 1, "order_id")?.to_string(),
        user_id: text_arg(args, 2, "user_id")?.to_string(),
        instrument_id: text_arg(args, 3, "instrument_id")?.to_string(),
        side,
        price: positive(num_arg(args, 5, "price")?, "price")?,
        volume: positive(num_arg(args, 6, "volume")?, "volume")?,
    })
}

/// TRADE.EXEC trade_id order_id instrument_id price volume
pub(super) fn parse_trade(args: &Args) -> Result<Trade, Reply> {
    if args.len() != 6 {
        return Err(wrong_arity("trade.exec"));
    }
    Ok(Trade {
        trade_id: text_arg(args, 1, "trade_id")?.to_string(),
        order_id: text_arg(args, 2, "order_id")?.to_string(),
        instrument_id: text_arg(args, 3, "instrument_id")?.to_string(),
        price: positive(num_arg(args, 4, "price")?, "price")?,
        volume: positive(num_arg(args, 5, "volume")?, "volume")?,
    })
}

/// ACCOUNT.UPDATE user_id balance available frozen margin
pub(super) fn parse_account(args: &Args) -> Result<Account, Reply> {
    if args.len() != 6 {
        return Err(wrong_arity("account.update"));
    }
    let user_id = text_arg(args, 1, "user_id")?.to_string();
    let balance = non_negative(num_arg(args, 2, "balance")?, "balance")?;
    let available = non_negative(num_arg(args, 3, "available")?, "available")?;
    let frozen = non_negative(num_arg(args, 4, "frozen")?, "frozen")?;
    let margin = non_negative(num_arg(args, 5, "margin")?, "margin")?;
    // The seed's invariant: the balance is what is available plus what is frozen (up to
    // rounding of the decimal text), and margin is held out of the frozen part.
    if (available + frozen - balance).abs() > 1e-9 * balance.max(1.0) {
        return Err(Reply::err(
            "ERR invalid account: balance must equal available + frozen",
        ));
    }
    if margin > frozen {
        return Err(Reply::err("ERR invalid account: margin must be <= frozen"));
    }
    Ok(Account {
        user_id,
        balance,
        available,
        frozen,
        margin,
    })
}

pub(super) fn fields(pairs: Vec<(&str, String)>) -> Reply {
    Reply::Array(
        pairs
            .into_iter()
            .flat_map(|(k, v)| [Reply::bulk(k), Reply::bulk(v)])
            .collect(),
    )
}

pub(super) fn order_reply(o: Order) -> Reply {
    let side = match o.side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    };
    fields(vec![
        ("order_id", o.order_id),
        ("user_id", o.user_id),
        ("instrument_id", o.instrument_id),
        ("side", side.into()),
        ("price", o.price.to_string()),
        ("volume", o.volume.to_string()),
    ])
}

pub(super) fn trade_reply(t: Trade) -> Reply {
    fields(vec![
        ("trade_id", t.trade_id),
        ("order_id", t.order_id),
        ("instrument_id", t.instrument_id),
        ("price", t.price.to_string()),
        ("volume", t.volume.to_string()),
    ])
}

pub(super) fn account_reply(a: Account) -> Reply {
    fields(vec![
        ("user_id", a.user_id),
        ("balance", a.balance.to_string()),
        ("available", a.available.to_string()),
        ("frozen", a.frozen.to_string()),
        ("margin", a.margin.to_string()),
    ])
}

pub(super) fn opt_reply<T>(r: crate::Result<Option<T>>, f: fn(T) -> Reply) -> Reply {
    match r {
        Ok(Some(v)) => f(v),
        Ok(None) => Reply::NilArray,
        Err(e) => engine_error(&e),
    }
}
