//! A seeded, deterministic stream of exchange traffic: order inserts, trades against earlier
//! orders and account updates, or plain fixed-size key/values when a value size is asked for.
//!
//! Determinism is the point: the crash test's parent process regenerates exactly what its
//! child wrote from the seed alone, so every random choice comes from one ChaCha8 stream
//! (whose output is fixed by its spec) and nothing depends on hash order or the clock.

use std::collections::VecDeque;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Result;
use crate::engine::Engine;
use crate::format::record::{self, Account, Order, Side, Trade};

/// One write of the workload.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Order(Order),
    Trade(Trade),
    Account(Account),
    /// A plain key/value; `key` is without the engine's `K` prefix, as `Engine::put` takes it.
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
    },
}

impl Op {
    /// Writes the op and returns its sequence number.
    pub fn apply(&self, engine: &Engine) -> Result<u64> {
        match self {
            Op::Order(o) => engine.put_order(o),
            Op::Trade(t) => engine.put_trade(t),
            Op::Account(a) => engine.put_account(a),
            Op::Put { key, value } => engine.put(key, value),
        }
    }

    /// The key as the engine stores it (prefix included), for `Engine::get_raw`.
    pub fn key(&self) -> Vec<u8> {
        match self {
            Op::Order(o) => o.key(),
            Op::Trade(t) => t.key(),
            Op::Account(a) => a.key(),
            Op::Put { key, .. } => record::plain_key(key),
        }
    }

    /// The bytes the engine stores under `key()`.
    pub fn value(&self) -> Vec<u8> {
        match self {
            Op::Order(o) => o.encode(),
            Op::Trade(t) => t.encode(),
            Op::Account(a) => a.encode(),
            Op::Put { value, .. } => value.clone(),
        }
    }
}

/// (instrument, starting mid price, relative weight in the order flow).
const INSTRUMENTS: [(&str, f64, u32); 8] = [
    ("BTC-USD", 65_000.0, 30),
    ("ETH-USD", 3_200.0, 25),
    ("SOL-USD", 150.0, 15),
    ("XRP-USD", 0.55, 8),
    ("DOGE-USD", 0.12, 7),
    ("ADA-USD", 0.45, 5),
    ("AVAX-USD", 35.0, 5),
    ("LINK-USD", 15.0, 5),
];

const USERS: usize = 1000;

/// Orders that trades may still fill; the oldest fall out, like orders cancelled or expired.
const OPEN_ORDERS: usize = 4096;

#[derive(Debug, Clone)]
struct OpenOrder {
    order_id: String,
    instrument: usize,
    price: f64,
    remaining: f64,
}

/// Balances in integer cents so the account invariant holds exactly after any number of
/// updates; `f64` only appears when a record is built.
#[derive(Debug, Clone, Copy)]
struct Funds {
    available: i64,
    frozen: i64,
    /// Part of `frozen` held as position margin.
    margin: i64,
}

/// The traffic generator. An endless iterator: take as many ops as needed.
#[derive(Debug, Clone)]
pub struct Workload {
    rng: ChaCha8Rng,
    value_size: usize,
    keyspace: Option<u64>,
    id_base: u64,
    puts: u64,
    orders: u64,
    trades: u64,
    mids: [f64; INSTRUMENTS.len()],
    open: VecDeque<OpenOrder>,
    funds: Vec<Option<Funds>>,
}

impl Workload {
    /// Exchange records when `value_size == 0`; otherwise `Put`s of `key-{n:012}` with random
    /// values of exactly `value_size` bytes.
    pub fn new(seed: u64, value_size: usize) -> Self {
        Workload {
            rng: ChaCha8Rng::seed_from_u64(seed),
            value_size,
            keyspace: None,
            id_base: 0,
            puts: 0,
            orders: 0,
            trades: 0,
            mids: INSTRUMENTS.map(|(_, mid, _)| mid),
            open: VecDeque::with_capacity(OPEN_ORDERS),
            funds: vec![None; USERS],
        }
    }

    /// Cycles `Put` keys through `n` keys instead of always writing a new one, so later puts
    /// overwrite earlier ones (`n == 0` is treated as 1).
    pub fn with_keyspace(mut self, n: u64) -> Self {
        self.keyspace = Some(n.max(1));
        self
    }

    /// Starts order, trade and put-key numbering at `base`. Parallel writers give each stream
    /// a disjoint base so they do not overwrite each other's records (accounts are shared on
    /// purpose: many sessions update the same users).
    pub fn with_id_base(mut self, base: u64) -> Self {
        self.id_base = base;
        self
    }

    fn next_put(&mut self) -> Op {
        let n = self.id_base + self.puts;
        let n = self.keyspace.map_or(n, |ks| n % ks);
        self.puts += 1;
        let mut value = vec![0u8; self.value_size];
        self.rng.fill_bytes(&mut value);
        Op::Put {
            key: format!("key-{n:012}").into_bytes(),
            value,
        }
    }

    /// Skewed towards low user numbers (u³), so a few users are hot as on a real venue.
    fn pick_user(&mut self) -> usize {
        let u: f64 = self.rng.random();
        ((u * u * u) * USERS as f64) as usize % USERS
    }

    fn pick_instrument(&mut self) -> usize {
        let total: u32 = INSTRUMENTS.iter().map(|i| i.2).sum();
        let mut r = self.rng.random_range(0..total);
        for (i, inst) in INSTRUMENTS.iter().enumerate() {
            if r < inst.2 {
                return i;
            }
            r -= inst.2;
        }
        0
    }

    fn next_order(&mut self) -> Op {
        let inst = self.pick_instrument();
        let user = self.pick_user();
        // Random walk of ±10 bps per order keeps prices near their start over a run.
        let step: f64 = self.rng.random_range(-0.001..0.001);
        self.mids[inst] *= 1.0 + step;
        let mid = self.mids[inst];
        let side = if self.rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let offset: f64 = self.rng.random_range(0.0..0.002);
        let raw = match side {
            Side::Buy => mid * (1.0 - offset),
            Side::Sell => mid * (1.0 + offset),
        };
        let tick = if mid >= 1.0 { 0.01 } else { 0.0001 };
        let price = round_to(raw, tick).max(tick);
        // Notional log-uniform between $10 and $50k: many small orders, a few large ones.
        let notional =
            (10f64.ln() + self.rng.random::<f64>() * (50_000f64.ln() - 10f64.ln())).exp();
        let volume = round_to(notional / price, 0.0001).max(0.0001);
        let order_id = format!("ord-{:08}", self.id_base + self.orders + 1);
        self.orders += 1;
        if self.open.len() == OPEN_ORDERS {
            self.open.pop_front();
        }
        self.open.push_back(OpenOrder {
            order_id: order_id.clone(),
            instrument: inst,
            price,
            remaining: volume,
        });
        Op::Order(Order {
            order_id,
            user_id: user_name(user),
            instrument_id: INSTRUMENTS[inst].0.to_string(),
            side,
            price,
            volume,
        })
    }

    fn next_trade(&mut self) -> Op {
        if self.open.is_empty() {
            return self.next_order();
        }
        let i = self.rng.random_range(0..self.open.len());
        let fill: f64 = self.rng.random_range(0.1..1.0);
        let o = &mut self.open[i];
        let volume = round_to(o.remaining * fill, 0.0001).clamp(0.0001, o.remaining);
        o.remaining = round_to(o.remaining - volume, 0.0001);
        let trade = Trade {
            trade_id: format!("trd-{:08}", self.id_base + self.trades + 1),
            order_id: o.order_id.clone(),
            instrument_id: INSTRUMENTS[o.instrument].0.to_string(),
            price: o.price,
            volume,
        };
        if o.remaining <= 0.0 {
            self.open.swap_remove_back(i);
        }
        self.trades += 1;
        Op::Trade(trade)
    }

    fn next_account(&mut self) -> Op {
        let user = self.pick_user();
        let rng = &mut self.rng;
        let f = self.funds[user].get_or_insert_with(|| Funds {
            available: rng.random_range(1_000..10_000_000),
            frozen: 0,
            margin: 0,
        });
        let amount = rng.random_range(1..=500_000i64);
        match rng.random_range(0..5u8) {
            0 => f.available += amount,
            1 => f.available -= amount.min(f.available),
            2 => {
                let x = amount.min(f.available);
                f.available -= x;
                f.frozen += x;
            }
            3 => {
                let x = amount.min(f.frozen);
                f.frozen -= x;
                f.available += x;
            }
            _ => {}
        }
        f.margin = (f.frozen as f64 * rng.random_range(0.0..=1.0)) as i64;
        let available = f.available as f64 / 100.0;
        let frozen = f.frozen as f64 / 100.0;
        Op::Account(Account {
            user_id: user_name(user),
            // Derived from the two parts, so available + frozen == balance bit for bit.
            balance: available + frozen,
            available,
            frozen,
            margin: f.margin as f64 / 100.0,
        })
    }
}

impl Iterator for Workload {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        if self.value_size > 0 {
            return Some(self.next_put());
        }
        let r = self.rng.random_range(0..100u32);
        Some(match r {
            0..50 => self.next_order(),
            50..80 => self.next_trade(),
            _ => self.next_account(),
        })
    }
}

fn user_name(index: usize) -> String {
    format!("user-{:04}", index + 1)
}

fn round_to(x: f64, tick: f64) -> f64 {
    (x / tick).round() * tick
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ops() {
        let a: Vec<Op> = Workload::new(7, 0).take(5000).collect();
        let b: Vec<Op> = Workload::new(7, 0).take(5000).collect();
        assert_eq!(a, b);
        let c: Vec<Op> = Workload::new(8, 0).take(5000).collect();
        assert_ne!(a, c);
        let p: Vec<Op> = Workload::new(7, 32).take(100).collect();
        assert_eq!(p, Workload::new(7, 32).take(100).collect::<Vec<_>>());
    }

    #[test]
    fn mix_looks_like_an_exchange() {
        let (mut orders, mut trades, mut accounts) = (0, 0, 0);
        let mut order_ids = std::collections::HashSet::new();
        for op in Workload::new(1, 0).take(20_000) {
            match op {
                Op::Order(o) => {
                    assert!(o.price > 0.0 && o.volume > 0.0, "{o:?}");
                    assert!(INSTRUMENTS.iter().any(|i| i.0 == o.instrument_id));
                    assert!(o.user_id.starts_with("user-") && o.user_id.len() == 9);
                    order_ids.insert(o.order_id);
                    orders += 1;
                }
                Op::Trade(t) => {
                    assert!(order_ids.contains(&t.order_id), "trade of unknown order");
                    assert!(t.volume > 0.0);
                    trades += 1;
                }
                Op::Account(_) => accounts += 1,
                Op::Put { .. } => panic!("no puts without a value size"),
            }
        }
        assert_eq!(order_ids.len(), orders, "order ids are unique");
        for (n, pct) in [(orders, 50), (trades, 30), (accounts, 20)] {
            let share = n * 100 / 20_000;
            assert!(share.abs_diff(pct) <= 3, "{orders} {trades} {accounts}");
        }
    }

    #[test]
    fn account_invariant_holds() {
        let mut seen = 0;
        for op in Workload::new(3, 0).take(20_000) {
            if let Op::Account(a) = op {
                assert_eq!(a.available + a.frozen, a.balance, "{a:?}");
                assert!(a.available >= 0.0 && a.frozen >= 0.0, "{a:?}");
                assert!(a.margin >= 0.0 && a.margin <= a.frozen, "{a:?}");
                seen += 1;
            }
        }
        assert!(seen > 1000);
    }

    #[test]
    fn puts_have_exact_size_and_respect_keyspace() {
        let ops: Vec<Op> = Workload::new(5, 100).with_keyspace(10).take(25).collect();
        for (i, op) in ops.iter().enumerate() {
            let Op::Put { key, value } = op else {
                panic!("expected a put")
            };
            assert_eq!(value.len(), 100);
            assert_eq!(key, format!("key-{:012}", i % 10).as_bytes());
            assert_eq!(op.key(), record::plain_key(key));
        }
        let based: Vec<Op> = Workload::new(5, 8).with_id_base(1000).take(2).collect();
        assert_eq!(based[1].key(), b"Kkey-000000001001");
    }
}
