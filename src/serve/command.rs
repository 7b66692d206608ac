//! Command dispatch: a batch of parsed requests in, one reply per request out.
//!
//! Pipelining: consecutive plain writes of one batch (SET, MSET, the typed inserts) are
//! collected and committed by one [`Engine::write_batch`], i.e. one WAL write and one fsync,
//! and are acknowledged only once it returns. Any other command first commits what is
//! collected, so every command sees the writes sent before it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::access::Password;
use super::committer::Committer;
use super::metrics::{Metrics, command_index};
use super::pattern::glob_match;
use super::resp::{Args, Reply};
use super::{ServeConfig, info};
use crate::engine::{BatchOp, Engine, prefix_upper_bound};
use crate::format::record::{self, Account, Order, Side, Trade};

/// Most SCAN cursors remembered; the oldest is forgotten first (its next call gets an error).
const MAX_CURSORS: usize = 4096;
/// SCAN COUNT above this is taken as this: one reply must not walk the whole key space.
pub const MAX_SCAN_COUNT: usize = 100_000;
/// Longest id accepted by the typed commands.
const MAX_ID_LEN: usize = 128;

/// What every connection shares.
#[derive(Debug)]
pub struct Shared {
    pub engine: Arc<Engine>,
    pub cfg: ServeConfig,
    pub password: Option<Password>,
    pub metrics: Metrics,
    /// Cluster mode: writes go through the Raft log, reads through the leader's barrier.
    pub cluster: Option<crate::cluster::ClusterClient>,
    pub started: Instant,
    pub clients: AtomicUsize,
    /// Requests per second over the last second, sampled by the server.
    pub ops_per_sec: AtomicU64,
    pub port: u16,
    cursors: Mutex<Cursors>,
    /// Plain writes hold it shared across their commit; a conditional SET (NX, XX, GET)
    /// holds it exclusively across its read and write, so nothing slips in between.
    write_gate: Arc<RwLock<()>>,
    /// Plain writes of all connections, committed together (see [`Committer`]).
    committer: Committer,
    shutdown: tokio::sync::watch::Sender<bool>,
    next_client_id: AtomicU64,
}

#[derive(Debug, Default)]
struct Cursors {
    next: u64,
    /// Cursor id -> the last key it returned.
    last_key: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

impl Shared {
    pub fn new(
        engine: Arc<Engine>,
        cfg: ServeConfig,
        password: Option<Password>,
        port: u16,
        shutdown: tokio::sync::watch::Sender<bool>,
    ) -> Shared {
        let write_gate = Arc::new(RwLock::new(()));
        Shared {
            committer: Committer::new(Arc::clone(&engine), Arc::clone(&write_gate), engine_error),
            engine,
            cfg,
            password,
            metrics: Metrics::default(),
            cluster: None,
            started: Instant::now(),
            clients: AtomicUsize::new(0),
            ops_per_sec: AtomicU64::new(0),
            port,
            cursors: Mutex::new(Cursors::default()),
            write_gate,
            shutdown,
            next_client_id: AtomicU64::new(1),
        }
    }

    pub fn new_session(&self) -> Session {
        Session {
            id: self.next_client_id.fetch_add(1, Ordering::Relaxed),
            authed: self.password.is_none(),
            readonly: false,
            close: false,
        }
    }

    /// Writes `ops` where this server writes: the engine, or the Raft log in cluster mode
    /// (acknowledged once a majority of voters holds them and they are applied).
    pub fn write_batch(&self, ops: Vec<BatchOp>) -> Result<u64, Reply> {
        match &self.cluster {
            None => self.engine.write_batch(ops).map_err(|e| engine_error(&e)),
            Some(c) => c.write_blocking(ops).map_err(|e| cluster_error(&e)),
        }
    }

    /// Cluster mode: what a read must pass first. On the leader, the ReadIndex barrier
    /// (linearizable); after READONLY, nothing (stale reads from any node).
    fn read_barrier(&self, session: &Session) -> Option<Reply> {
        let c = self.cluster.as_ref()?;
        if session.readonly {
            return None;
        }
        c.read_barrier_blocking().err().map(|e| cluster_error(&e))
    }

    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn subscribe_shutdown(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn shutdown_requested(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn remember_cursor(&self, key: Vec<u8>) -> u64 {
        let mut c = self
            .cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.next += 1;
        let id = c.next;
        c.last_key.insert(id, key);
        c.order.push_back(id);
        while c.order.len() > MAX_CURSORS {
            if let Some(old) = c.order.pop_front() {
                c.last_key.remove(&old);
            }
        }
        id
    }

    fn cursor_key(&self, id: u64) -> Option<Vec<u8>> {
        self.cursors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .last_key
            .get(&id)
            .cloned()
    }
}

/// Per-connection state.
#[derive(Debug)]
pub struct Session {
    pub id: u64,
    pub authed: bool,
    /// Cluster mode, after READONLY: reads are served from this node's state as it is, even
    /// on a follower (stale by its replication lag); otherwise a read needs the leader.
    pub readonly: bool,
    /// Close the connection once the replies so far are written.
    pub close: bool,
}

/// True when a batch holding this request should run off the async threads: every write
/// (whatever `--sync` says, a write can wait on the group commit's leader, a memtable stall
/// or the exclusive gate of a conditional SET, and a tokio worker must not), and SCAN,
/// DBSIZE and INFO, which walk the key space. Only pure reads run in place.
pub fn is_blocking(args: &Args) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    !matches!(
        name.as_slice(),
        b"ping"
            | b"echo"
            | b"get"
            | b"mget"
            | b"exists"
            | b"order.get"
            | b"trade.get"
            | b"account.get"
            | b"auth"
            | b"hello"
            | b"quit"
            | b"select"
            | b"client"
            | b"config"
            | b"command"
            | b"role"
            | b"time"
            | b"type"
    )
}

struct Collected {
    ops: Vec<BatchOp>,
    /// (reply index, command index for metrics, when it started)
    slots: Vec<(usize, usize, Instant)>,
}

/// Runs `cmds` in order and returns their replies (fewer than `cmds` only when the session
/// closes: nothing after QUIT or SHUTDOWN runs).
pub fn execute_batch(shared: &Shared, session: &mut Session, cmds: Vec<Args>) -> Vec<Reply> {
    let mut cmds = VecDeque::from(cmds);
    let mut replies = Vec::with_capacity(cmds.len());
    execute(shared, session, &mut cmds, &mut |r| {
        replies.push(r);
        false
    });
    replies
}

/// Runs commands from the front of `cmds`, handing each reply to `emit` in order; stops
/// when `emit` says it holds enough (true), leaving the rest in `cmds`, or when the session
/// closes. Replies of pipelined plain writes wait for their shared commit; every other
/// reply is emitted as soon as it exists, so a batch never holds its replies twice.
pub fn execute(
    shared: &Shared,
    session: &mut Session,
    cmds: &mut VecDeque<Args>,
    emit: &mut dyn FnMut(Reply) -> bool,
) {
    let mut replies = Vec::new();
    let mut pending = Collected {
        ops: Vec::new(),
        slots: Vec::new(),
    };
    let mut full = false;
    while !full && !session.close {
        let Some(args) = cmds.pop_front() else {
            break;
        };
        let Some(first) = args.first() else {
            continue;
        };
        let name = String::from_utf8_lossy(first).to_ascii_lowercase();
        let metric = command_index(&name);
        let started = Instant::now();
        if let Some(reply) = gate(session, &name) {
            shared.metrics.record(metric, started.elapsed(), true);
            replies.push(reply);
            continue;
        }
        match plain_write(&name, &args) {
            Some(Ok(ops)) => {
                pending.ops.extend(ops);
                pending.slots.push((replies.len(), metric, started));
                replies.push(Reply::ok());
                continue;
            }
            Some(Err(reply)) => {
                shared.metrics.record(metric, started.elapsed(), true);
                replies.push(reply);
                continue;
            }
            None => {}
        }
        commit(shared, &mut pending, &mut replies);
        for r in replies.drain(..) {
            full |= emit(r);
        }
        let reply = run(shared, session, &name, &args);
        if name == "shutdown" && !reply.is_error() {
            // Redis answers a successful SHUTDOWN by closing the connection.
            shared.metrics.record(metric, started.elapsed(), false);
            break;
        }
        shared
            .metrics
            .record(metric, started.elapsed(), reply.is_error());
        full |= emit(reply);
    }
    commit(shared, &mut pending, &mut replies);
    for r in replies {
        emit(r);
    }
}

/// The plain writes of `cmds`, when every command is one (and the session may write):
/// the ops and each command's metric index. None sends the batch the general way.
pub fn plain_writes_only(
    session: &Session,
    cmds: &VecDeque<Args>,
) -> Option<Vec<(Vec<BatchOp>, usize)>> {
    if !session.authed || session.close {
        return None;
    }
    cmds.iter()
        .map(|args| {
            // Every command name that is a plain write is short: lowercase it on the stack,
            // since this runs for every write request.
            let raw = args.first()?;
            let mut lower = [0u8; 16];
            let name = lower.get_mut(..raw.len())?;
            name.copy_from_slice(raw);
            name.make_ascii_lowercase();
            let name = std::str::from_utf8(name).ok()?;
            match plain_write(name, args) {
                Some(Ok(ops)) => Some((ops, command_index(name))),
                _ => None,
            }
        })
        .collect()
}

/// Commits `writes` through the shared committer: one reply per command, OK, or the
/// engine's error for all of them when the commit failed.
pub async fn commit_plain_writes(
    shared: &Shared,
    writes: Vec<(Vec<BatchOp>, usize)>,
) -> Vec<Reply> {
    let started = Instant::now();
    let mut ops = Vec::new();
    let mut metrics = Vec::with_capacity(writes.len());
    for (o, m) in writes {
        ops.extend(o);
        metrics.push(m);
    }
    let answer = match &shared.cluster {
        // openraft batches the proposals of all connections into its own appends.
        Some(c) => c
            .write(ops)
            .await
            .map(|_| ())
            .map_err(|e| cluster_error(&e)),
        None => shared.committer.commit(ops).await,
    };
    metrics
        .into_iter()
        .map(|m| {
            shared.metrics.record(m, started.elapsed(), answer.is_err());
            match &answer {
                Ok(()) => Reply::ok(),
                Err(e) => e.clone(),
            }
        })
        .collect()
}

/// Commits the collected writes; their replies become errors if that fails.
fn commit(shared: &Shared, pending: &mut Collected, replies: &mut [Reply]) {
    if pending.slots.is_empty() {
        return;
    }
    let ops = std::mem::take(&mut pending.ops);
    let result = {
        let _shared_gate = shared
            .write_gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.write_batch(ops)
    };
    let failure = result.err();
    for (at, metric, started) in pending.slots.drain(..) {
        if let Some(f) = &failure {
            replies[at] = f.clone();
        }
        shared
            .metrics
            .record(metric, started.elapsed(), failure.is_some());
    }
}

fn engine_error(e: &crate::Error) -> Reply {
    Reply::err(format!("ERR {e}"))
}

/// A cluster refusal as Redis Cluster words it: `MOVED <slot> <addr>` names the leader's
/// client address (one shard, so slot 0), which Redis Cluster clients follow and plain
/// clients show; `CLUSTERDOWN` while there is no leader. Both are immediate, never a hang;
/// a leader that cannot reach its quorum answers `CLUSTERDOWN` after the write timeout.
pub fn cluster_error(e: &crate::cluster::ClusterError) -> Reply {
    use crate::cluster::ClusterError;
    match e {
        ClusterError::NotLeader { leader: Some(n) } if !n.client_addr.is_empty() => {
            Reply::err(format!("MOVED 0 {}", n.client_addr))
        }
        ClusterError::NotLeader { .. } | ClusterError::NoLeader => {
            Reply::err("CLUSTERDOWN no leader")
        }
        ClusterError::Timeout(t) => Reply::err(format!(
            "CLUSTERDOWN no quorum: not committed within {} ms, it may still commit",
            t.as_millis()
        )),
        ClusterError::Other(t) => Reply::err(format!("ERR cluster: {t}")),
    }
}

/// ROLE: `master` with its replicas' (host, port, matched index), or in cluster mode on a
/// follower `slave` with the leader's client address and this node's applied index.
fn role(shared: &Shared) -> Reply {
    let Some(c) = &shared.cluster else {
        return Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Int(shared.engine.last_seq() as i64),
            Reply::Array(Vec::new()),
        ]);
    };
    let st = c.status();
    if st.role == "leader" {
        let replicas = st
            .replication
            .iter()
            .map(|r| {
                let addr = st
                    .nodes
                    .get(&r.node_id)
                    .map(|n| n.client_addr.clone())
                    .unwrap_or_default();
                let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), ""));
                Reply::Array(vec![
                    Reply::bulk(host.to_string()),
                    Reply::bulk(port.to_string()),
                    Reply::bulk(r.matched.unwrap_or(0).to_string()),
                ])
            })
            .collect();
        return Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Int(st.last_log_index.unwrap_or(0) as i64),
            Reply::Array(replicas),
        ]);
    }
    let leader = st
        .leader
        .and_then(|l| st.nodes.get(&l))
        .map(|n| n.client_addr.clone())
        .unwrap_or_default();
    let (host, port) = leader.rsplit_once(':').unwrap_or(("", "0"));
    Reply::Array(vec![
        Reply::bulk("slave"),
        Reply::bulk(host.to_string()),
        Reply::Int(port.parse().unwrap_or(0)),
        Reply::bulk(if st.leader.is_some() {
            "connected"
        } else {
            "connect"
        }),
        Reply::Int(st.last_applied_index.unwrap_or(0) as i64),
    ])
}

/// Reads that need the leader's barrier in cluster mode.
fn is_read(name: &str) -> bool {
    matches!(
        name,
        "get"
            | "mget"
            | "exists"
            | "type"
            | "scan"
            | "dbsize"
            | "order.get"
            | "trade.get"
            | "account.get"
    )
}

/// Some(error) when the session has not authenticated and `name` needs it.
fn gate(session: &Session, name: &str) -> Option<Reply> {
    if session.authed || matches!(name, "auth" | "hello" | "quit") {
        return None;
    }
    Some(Reply::err("NOAUTH Authentication required."))
}

fn wrong_arity(name: &str) -> Reply {
    Reply::err(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

fn syntax_error() -> Reply {
    Reply::err("ERR syntax error")
}

/// Writes that can join a pipelined group commit: Some(Ok(ops)), Some(Err(reply)) for bad
/// arguments, None for anything else (including SET with NX/XX/GET, which must read first).
fn plain_write(name: &str, args: &Args) -> Option<Result<Vec<BatchOp>, Reply>> {
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
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
}

fn set_options(opts: &[Vec<u8>]) -> Result<SetOptions, Reply> {
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

fn text_arg<'a>(args: &'a Args, i: usize, field: &str) -> Result<&'a str, Reply> {
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

fn num_arg(args: &Args, i: usize, field: &str) -> Result<f64, Reply> {
    std::str::from_utf8(&args[i])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| Reply::err(format!("ERR invalid {field}: not a finite number")))
}

fn positive(v: f64, field: &str) -> Result<f64, Reply> {
    if v > 0.0 {
        Ok(v)
    } else {
        Err(Reply::err(format!("ERR invalid {field}: must be > 0")))
    }
}

fn non_negative(v: f64, field: &str) -> Result<f64, Reply> {
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(Reply::err(format!("ERR invalid {field}: must be >= 0")))
    }
}

/// ORDER.INSERT order_id user_id instrument_id BUY|SELL price volume
fn parse_order(args: &Args) -> Result<Order, Reply> {
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
fn parse_trade(args: &Args) -> Result<Trade, Reply> {
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
fn parse_account(args: &Args) -> Result<Account, Reply> {
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

fn fields(pairs: Vec<(&str, String)>) -> Reply {
    Reply::Array(
        pairs
            .into_iter()
            .flat_map(|(k, v)| [Reply::bulk(k), Reply::bulk(v)])
            .collect(),
    )
}

fn order_reply(o: Order) -> Reply {
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

fn trade_reply(t: Trade) -> Reply {
    fields(vec![
        ("trade_id", t.trade_id),
        ("order_id", t.order_id),
        ("instrument_id", t.instrument_id),
        ("price", t.price.to_string()),
        ("volume", t.volume.to_string()),
    ])
}

fn account_reply(a: Account) -> Reply {
    fields(vec![
        ("user_id", a.user_id),
        ("balance", a.balance.to_string()),
        ("available", a.available.to_string()),
        ("frozen", a.frozen.to_string()),
        ("margin", a.margin.to_string()),
    ])
}

fn opt_reply<T>(r: crate::Result<Option<T>>, f: fn(T) -> Reply) -> Reply {
    match r {
        Ok(Some(v)) => f(v),
        Ok(None) => Reply::NilArray,
        Err(e) => engine_error(&e),
    }
}

fn run(shared: &Shared, session: &mut Session, name: &str, args: &Args) -> Reply {
    let engine = &shared.engine;
    let argc = args.len();
    if is_read(name)
        && let Some(refused) = shared.read_barrier(session)
    {
        return refused;
    }
    match name {
        "readonly" | "readwrite" if argc == 1 => {
            session.readonly = name == "readonly";
            Reply::ok()
        }
        "ping" => match argc {
            1 => Reply::Simple("PONG"),
            2 => Reply::bulk(args[1].clone()),
            _ => wrong_arity(name),
        },
        "echo" if argc == 2 => Reply::bulk(args[1].clone()),
        "get" if argc == 2 => match engine.get(&args[1]) {
            Ok(Some(v)) => Reply::Bulk(v),
            Ok(None) => Reply::Nil,
            Err(e) => engine_error(&e),
        },
        "set" => conditional_set(shared, args),
        "del" if argc >= 2 => {
            // Exclusive across the reads and the delete: two DELs of one key must not both
            // count it.
            let _exclusive = shared
                .write_gate
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut existed = 0;
            for k in &args[1..] {
                match engine.get(k) {
                    Ok(Some(_)) => existed += 1,
                    Ok(None) => {}
                    Err(e) => return engine_error(&e),
                }
            }
            let ops = args[1..]
                .iter()
                .map(|k| BatchOp::Delete { key: k.clone() })
                .collect();
            match shared.write_batch(ops) {
                Ok(_) => Reply::Int(existed),
                Err(e) => e,
            }
        }
        "exists" if argc >= 2 => {
            let mut n = 0;
            for k in &args[1..] {
                match engine.get(k) {
                    Ok(Some(_)) => n += 1,
                    Ok(None) => {}
                    Err(e) => return engine_error(&e),
                }
            }
            Reply::Int(n)
        }
        "type" if argc == 2 => match engine.get(&args[1]) {
            Ok(Some(_)) => Reply::Simple("string"),
            Ok(None) => Reply::Simple("none"),
            Err(e) => engine_error(&e),
        },
        "mget" if argc >= 2 => {
            let mut out = Vec::with_capacity(argc - 1);
            for k in &args[1..] {
                match engine.get(k) {
                    Ok(Some(v)) => out.push(Reply::Bulk(v)),
                    Ok(None) => out.push(Reply::Nil),
                    Err(e) => return engine_error(&e),
                }
            }
            Reply::Array(out)
        }
        "scan" if argc >= 2 => scan(shared, args),
        "dbsize" if argc == 1 => match count_plain_keys(engine) {
            Ok(n) => Reply::Int(n as i64),
            Err(e) => engine_error(&e),
        },
        "info" => {
            let sections: Vec<String> = args[1..]
                .iter()
                .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
                .collect();
            match info::render(shared, &sections) {
                Ok(text) => Reply::Bulk(text.into_bytes()),
                Err(e) => engine_error(&e),
            }
        }
        "role" if argc == 1 => role(shared),
        "wait" if argc == 3 => {
            let (Some(want), Some(ms)) = (
                std::str::from_utf8(&args[1])
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok()),
                std::str::from_utf8(&args[2])
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok()),
            ) else {
                return Reply::err("ERR value is not an integer or out of range");
            };
            match &shared.cluster {
                // Standalone: no replicas, as Redis answers without any.
                None => Reply::Int(0),
                // 0 ms waits for as long as it takes, as in Redis.
                Some(c) => Reply::Int(c.wait_replicas_blocking(
                    want,
                    (ms > 0).then(|| std::time::Duration::from_millis(ms)),
                ) as i64),
            }
        }
        "shutdown" => {
            if args[1..].iter().any(|a| a.eq_ignore_ascii_case(b"abort")) {
                return Reply::err(
                    "ERR SHUTDOWN ABORT is not supported: a started shutdown always completes",
                );
            }
            shared.request_shutdown();
            session.close = true;
            Reply::ok()
        }
        "auth" => match argc {
            2 => auth(shared, session, &args[1]),
            // AUTH username password: drkit has only the default user.
            3 if args[1] == b"default" => auth(shared, session, &args[2]),
            3 => Reply::err("WRONGPASS invalid username-password pair or user is disabled."),
            _ => wrong_arity(name),
        },
        "hello" => hello(shared, session, args),
        "quit" => {
            session.close = true;
            Reply::ok()
        }
        "select" if argc == 2 => {
            if args[1] == b"0" {
                Reply::ok()
            } else {
                Reply::err("ERR DB index is out of range (drkit has only db 0)")
            }
        }
        "client" if argc >= 2 => match args[1].to_ascii_lowercase().as_slice() {
            b"setname" | b"setinfo" => Reply::ok(),
            b"getname" => Reply::Nil,
            b"id" => Reply::Int(session.id as i64),
            _ => Reply::err(
                "ERR unknown CLIENT subcommand (drkit supports SETNAME, SETINFO, GETNAME, ID)",
            ),
        },
        "config" if argc == 3 && args[1].eq_ignore_ascii_case(b"get") => {
            config_get(shared, &args[2])
        }
        // redis-cli asks for command docs in interactive mode; an empty answer is valid.
        "command" => Reply::Array(Vec::new()),
        "time" if argc == 1 => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Reply::Array(vec![
                Reply::bulk(now.as_secs().to_string()),
                Reply::bulk(now.subsec_micros().to_string()),
            ])
        }
        "order.get" if argc == 2 => match std::str::from_utf8(&args[1]) {
            Ok(id) => opt_reply(engine.get_order(id), order_reply),
            Err(_) => Reply::NilArray,
        },
        "trade.get" if argc == 2 => match std::str::from_utf8(&args[1]) {
            Ok(id) => opt_reply(engine.get_trade(id), trade_reply),
            Err(_) => Reply::NilArray,
        },
        "account.get" if argc == 2 => match std::str::from_utf8(&args[1]) {
            Ok(id) => opt_reply(engine.get_account(id), account_reply),
            Err(_) => Reply::NilArray,
        },
        _ if super::metrics::COMMANDS[..super::metrics::COMMANDS.len() - 1].contains(&name) => {
            wrong_arity(name)
        }
        _ => {
            let shown: Vec<String> = args[1..]
                .iter()
                .take(3)
                .map(|a| format!("'{}'", String::from_utf8_lossy(a)))
                .collect();
            Reply::err(format!(
                "ERR unknown command '{}', with args beginning with: {}",
                String::from_utf8_lossy(&args[0]),
                shown.join(" ")
            ))
        }
    }
}

fn auth(shared: &Shared, session: &mut Session, attempt: &[u8]) -> Reply {
    match &shared.password {
        None => Reply::err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ),
        Some(p) if p.matches(attempt) => {
            session.authed = true;
            Reply::ok()
        }
        Some(_) => Reply::err("WRONGPASS invalid username-password pair or user is disabled."),
    }
}

/// HELLO [protover [AUTH username password] [SETNAME name]]: RESP2 only.
fn hello(shared: &Shared, session: &mut Session, args: &Args) -> Reply {
    if let Some(v) = args.get(1)
        && v.as_slice() != b"2"
    {
        return Reply::err(
            "NOPROTO sorry, this protocol version is not supported (drkit speaks RESP2)",
        );
    }
    let mut i = 2;
    while i < args.len() {
        match args[i].to_ascii_lowercase().as_slice() {
            b"auth" if i + 2 < args.len() => {
                if args[i + 1] != b"default" {
                    return Reply::err(
                        "WRONGPASS invalid username-password pair or user is disabled.",
                    );
                }
                let r = auth(shared, session, &args[i + 2]);
                if r.is_error() {
                    return r;
                }
                i += 3;
            }
            b"setname" if i + 1 < args.len() => i += 2,
            _ => return syntax_error(),
        }
    }
    if !session.authed {
        return Reply::err(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    Reply::Array(vec![
        Reply::bulk("server"),
        Reply::bulk("drkit"),
        Reply::bulk("version"),
        Reply::bulk(env!("CARGO_PKG_VERSION")),
        Reply::bulk("proto"),
        Reply::Int(2),
        Reply::bulk("id"),
        Reply::Int(session.id as i64),
        Reply::bulk("mode"),
        Reply::bulk("standalone"),
        Reply::bulk("role"),
        Reply::bulk("master"),
        Reply::bulk("modules"),
        Reply::Array(Vec::new()),
    ])
}

/// SET with NX, XX or GET: read and write under the exclusive gate, so the condition still
/// holds when the write lands.
fn conditional_set(shared: &Shared, args: &Args) -> Reply {
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

fn count_plain_keys(engine: &Engine) -> crate::Result<u64> {
    let mut n = 0;
    for r in engine.scan_prefix(&[record::PLAIN_PREFIX])? {
        r?;
        n += 1;
    }
    Ok(n)
}

/// SCAN cursor [MATCH pattern] [COUNT n] [TYPE string]. Keys come in key order; a cursor
/// stands for "after this key", so a full iteration returns every key that existed for all
/// of it exactly once. Cursors live in server memory (the last [`MAX_CURSORS`]).
fn scan(shared: &Shared, args: &Args) -> Reply {
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

/// CONFIG GET pattern: the few settings clients and redis-benchmark ask about.
fn config_get(shared: &Shared, pattern: &[u8]) -> Reply {
    let cfg = &shared.cfg;
    let appendfsync = match shared.engine.options().sync {
        crate::engine::SyncPolicy::Always => "always",
        crate::engine::SyncPolicy::Interval(_) => "everysec",
        crate::engine::SyncPolicy::Never => "no",
    };
    let settings = [
        ("maxclients", cfg.max_clients.to_string()),
        (
            "timeout",
            cfg.idle_timeout.map_or(0, |d| d.as_secs()).to_string(),
        ),
        ("proto-max-bulk-len", cfg.max_bulk_len.to_string()),
        // The WAL is the append-only file: every write is logged before it is acknowledged.
        ("appendonly", "yes".into()),
        ("appendfsync", appendfsync.into()),
        ("save", String::new()),
        ("databases", "1".into()),
        (
            "protected-mode",
            if cfg.protected_mode { "yes" } else { "no" }.into(),
        ),
    ];
    let lower = pattern.to_ascii_lowercase();
    Reply::Array(
        settings
            .into_iter()
            .filter(|(k, _)| glob_match(&lower, k.as_bytes()))
            .flat_map(|(k, v)| [Reply::bulk(k), Reply::bulk(v)])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn shared(password: Option<&str>) -> (tempfile::TempDir, Shared) {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), crate::engine::Options::default()).unwrap();
        let (tx, _rx) = tokio::sync::watch::channel(false);
        let s = Shared::new(
            Arc::new(engine),
            ServeConfig::default(),
            password.map(|p| Password::new(p.as_bytes())),
            6380,
            tx,
        );
        (dir, s)
    }

    #[test]
    fn plain_writes_of_many_connections_share_commits() {
        let (_dir, s) = shared(None);
        let s = Arc::new(s);
        let session = s.new_session();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let before = s
            .engine
            .stats()
            .fsyncs
            .load(std::sync::atomic::Ordering::Relaxed);
        let clients = 32;
        let replies = rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for c in 0..clients {
                let s = Arc::clone(&s);
                let cmds: VecDeque<Args> =
                    [args(&["SET", &format!("k{c}"), &format!("v{c}")])].into();
                let writes = plain_writes_only(&session, &cmds).unwrap();
                set.spawn(async move { commit_plain_writes(&s, writes).await });
            }
            let mut all = Vec::new();
            while let Some(r) = set.join_next().await {
                all.extend(r.unwrap());
            }
            all
        });
        assert_eq!(replies.len(), clients);
        assert!(replies.iter().all(|r| !r.is_error()), "{replies:?}");
        let fsyncs = s
            .engine
            .stats()
            .fsyncs
            .load(std::sync::atomic::Ordering::Relaxed)
            - before;
        // Every client sends before any commit ends, so the committer folds them into a few.
        assert!(fsyncs <= 4, "{clients} clients took {fsyncs} fsyncs");
        for c in 0..clients {
            assert_eq!(
                s.engine.get(format!("k{c}").as_bytes()).unwrap(),
                Some(format!("v{c}").into_bytes())
            );
        }
        // Anything but plain writes goes the general way.
        let mixed: VecDeque<Args> = [args(&["SET", "a", "1"]), args(&["GET", "a"])].into();
        assert!(plain_writes_only(&session, &mixed).is_none());
    }

    fn run1(s: &Shared, session: &mut Session, words: &[&str]) -> Reply {
        let mut r = execute_batch(s, session, vec![args(words)]);
        assert_eq!(r.len(), 1, "{words:?}");
        r.remove(0)
    }

    #[test]
    fn pipelined_writes_share_one_commit_and_reads_see_earlier_writes() {
        let (_d, s) = shared(None);
        let mut session = s.new_session();
        let fsyncs = s.engine.stats().fsyncs.load(Ordering::Relaxed);
        let mut cmds: Vec<Args> = (0..16)
            .map(|i| args(&["SET", &format!("k{i}"), &format!("v{i}")]))
            .collect();
        cmds.push(args(&["GET", "k15"]));
        cmds.push(args(&["MSET", "a", "1", "b", "2"]));
        let replies = execute_batch(&s, &mut session, cmds);
        assert_eq!(replies.len(), 18);
        assert!(replies[..16].iter().all(|r| *r == Reply::ok()));
        assert_eq!(replies[16], Reply::bulk("v15"));
        assert_eq!(replies[17], Reply::ok());
        assert_eq!(
            s.engine.stats().fsyncs.load(Ordering::Relaxed) - fsyncs,
            2,
            "16 SETs in one commit, the MSET in another"
        );
        assert_eq!(
            run1(&s, &mut session, &["MGET", "a", "b", "zz"]),
            Reply::Array(vec![Reply::bulk("1"), Reply::bulk("2"), Reply::Nil])
        );
        assert_eq!(
            run1(&s, &mut session, &["EXISTS", "a", "a", "zz"]),
            Reply::Int(2)
        );
        assert_eq!(run1(&s, &mut session, &["DEL", "a", "zz"]), Reply::Int(1));
        assert_eq!(run1(&s, &mut session, &["DBSIZE"]), Reply::Int(17));
    }

    #[test]
    fn every_write_runs_off_the_async_threads_and_reads_in_place() {
        for w in [
            &["SET", "k", "v"][..],
            &["set", "k", "v", "NX"],
            &["SET", "k", "v", "GET"],
            &["MSET", "k", "v"],
            &["DEL", "k"],
            &["ORDER.INSERT", "o", "u", "i", "BUY", "1", "1"],
            &["TRADE.EXEC", "t", "o", "i", "1", "1"],
            &["ACCOUNT.UPDATE", "u", "1", "1", "0", "0"],
            &["SCAN", "0"],
            &["DBSIZE"],
            &["INFO"],
            &["SHUTDOWN"],
        ] {
            assert!(is_blocking(&args(w)), "{w:?}");
        }
        for r in [
            &["GET", "k"][..],
            &["MGET", "k"],
            &["EXISTS", "k"],
            &["PING"],
            &["ORDER.GET", "o"],
            &["AUTH", "pw"],
        ] {
            assert!(!is_blocking(&args(r)), "{r:?}");
        }
    }

    #[test]
    fn execution_stops_when_the_reply_budget_is_spent_and_resumes() {
        let (_d, s) = shared(None);
        let mut c = s.new_session();
        let big = "x".repeat(1000);
        assert_eq!(run1(&s, &mut c, &["SET", "big", &big]), Reply::ok());
        let mut cmds: VecDeque<Args> = (0..10).map(|_| args(&["GET", "big"])).collect();
        cmds.push_back(args(&["SET", "after", "1"]));
        let mut out = Vec::new();
        let mut emit = |r: Reply| {
            r.encode(&mut out);
            out.len() >= 2500
        };
        execute(&s, &mut c, &mut cmds, &mut emit);
        assert_eq!(cmds.len(), 8, "3 GETs of ~1 KB fill a 2500-byte budget");
        assert_eq!(s.engine.get(b"after").unwrap(), None);
        let mut rest = Vec::new();
        execute(&s, &mut c, &mut cmds, &mut |r| {
            rest.push(r);
            false
        });
        assert!(cmds.is_empty());
        assert_eq!(rest.len(), 8);
        assert_eq!(rest[7], Reply::ok());
        assert_eq!(run1(&s, &mut c, &["GET", "after"]), Reply::bulk("1"));
    }

    #[test]
    fn scan_count_is_clamped() {
        let (_d, s) = shared(None);
        let mut c = s.new_session();
        let n = MAX_SCAN_COUNT + 5;
        let ops = (0..n)
            .map(|i| BatchOp::Put {
                key: format!("k{i:07}").into_bytes(),
                value: b"v".to_vec(),
            })
            .collect();
        s.engine.write_batch(ops).unwrap();
        let Reply::Array(parts) = run1(&s, &mut c, &["SCAN", "0", "COUNT", "1000000000"]) else {
            panic!("SCAN reply is not an array");
        };
        let Reply::Array(keys) = &parts[1] else {
            panic!("SCAN keys are not an array");
        };
        assert_eq!(keys.len(), MAX_SCAN_COUNT);
        assert_ne!(parts[0], Reply::bulk("0"), "a cursor to go on with");
    }

    #[test]
    fn concurrent_dels_of_one_key_count_it_once() {
        let (_d, s) = shared(None);
        let s = Arc::new(s);
        for round in 0..100 {
            let mut c = s.new_session();
            assert_eq!(run1(&s, &mut c, &["SET", "k", "v"]), Reply::ok());
            let start = Arc::new(std::sync::Barrier::new(2));
            let dels: Vec<_> = (0..2)
                .map(|_| {
                    let (s, start) = (Arc::clone(&s), Arc::clone(&start));
                    std::thread::spawn(move || {
                        let mut c = s.new_session();
                        start.wait();
                        run1(&s, &mut c, &["DEL", "k"])
                    })
                })
                .collect();
            let counted: Vec<Reply> = dels.into_iter().map(|t| t.join().unwrap()).collect();
            let total: i64 = counted
                .iter()
                .map(|r| match r {
                    Reply::Int(n) => *n,
                    other => panic!("DEL answered {other:?}"),
                })
                .sum();
            assert_eq!(total, 1, "round {round}: {counted:?}");
        }
    }

    #[test]
    fn set_options_nx_xx_get_and_refused_expiry() {
        let (_d, s) = shared(None);
        let mut c = s.new_session();
        assert_eq!(run1(&s, &mut c, &["SET", "k", "1", "XX"]), Reply::Nil);
        assert_eq!(run1(&s, &mut c, &["SET", "k", "1", "NX"]), Reply::ok());
        assert_eq!(run1(&s, &mut c, &["SET", "k", "2", "NX"]), Reply::Nil);
        assert_eq!(
            run1(&s, &mut c, &["SET", "k", "3", "XX", "GET"]),
            Reply::bulk("1")
        );
        assert_eq!(run1(&s, &mut c, &["GET", "k"]), Reply::bulk("3"));
        assert_eq!(run1(&s, &mut c, &["SET", "k", "4", "KEEPTTL"]), Reply::ok());
        for bad in [
            &["SET", "k", "1", "EX", "10"][..],
            &["SET", "k", "1", "PX", "10"],
            &["SET", "k", "1", "NX", "XX"],
            &["SET", "k", "1", "BOGUS"],
            &["SET", "k"],
        ] {
            assert!(run1(&s, &mut c, bad).is_error(), "{bad:?}");
        }
        assert_eq!(run1(&s, &mut c, &["GET", "k"]), Reply::bulk("4"));
    }

    #[test]
    fn typed_commands_round_trip_and_validate_every_field() {
        let (_d, s) = shared(None);
        let mut c = s.new_session();
        let ok = [
            &[
                "ORDER.INSERT",
                "o1",
                "u1",
                "BTC-USD",
                "buy",
                "101.5",
                "0.25",
            ][..],
            &["TRADE.EXEC", "t1", "o1", "BTC-USD", "101.5", "0.125"],
            &["ACCOUNT.UPDATE", "u1", "100.5", "90.25", "10.25", "5"],
        ];
        for cmd in ok {
            assert_eq!(run1(&s, &mut c, cmd), Reply::ok(), "{cmd:?}");
        }
        assert_eq!(
            run1(&s, &mut c, &["ORDER.GET", "o1"]),
            fields(vec![
                ("order_id", "o1".into()),
                ("user_id", "u1".into()),
                ("instrument_id", "BTC-USD".into()),
                ("side", "BUY".into()),
                ("price", "101.5".into()),
                ("volume", "0.25".into()),
            ])
        );
        assert_eq!(s.engine.get_trade("t1").unwrap().unwrap().volume, 0.125);
        assert_eq!(s.engine.get_account("u1").unwrap().unwrap().margin, 5.0);
        assert_eq!(run1(&s, &mut c, &["ORDER.GET", "nope"]), Reply::NilArray);
        let bad = [
            &["ORDER.INSERT", "o2", "u1", "BTC-USD", "hold", "1", "1"][..],
            &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "-1", "1"],
            &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "1", "0"],
            &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "nan", "1"],
            &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "inf", "1"],
            &["ORDER.INSERT", "", "u1", "BTC-USD", "BUY", "1", "1"],
            &["ORDER.INSERT", "o 2", "u1", "BTC-USD", "BUY", "1", "1"],
            &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "1"],
            &["TRADE.EXEC", "t2", "o1", "BTC-USD", "1", "x"],
            &["TRADE.EXEC", "t2", "o1", "", "1", "1"],
            &["ACCOUNT.UPDATE", "u2", "10", "5", "4", "0"],
            &["ACCOUNT.UPDATE", "u2", "10", "6", "4", "5"],
            &["ACCOUNT.UPDATE", "u2", "10", "11", "-1", "0"],
            &["ACCOUNT.GET"],
        ];
        for cmd in bad {
            assert!(run1(&s, &mut c, cmd).is_error(), "{cmd:?}");
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(run1(&s, &mut c, &["TRADE.EXEC", &long, "o", "i", "1", "1"]).is_error());
        assert_eq!(s.engine.get_order("o2").unwrap(), None);
    }

    #[test]
    fn auth_gates_every_data_command() {
        let (_d, s) = shared(Some("pw"));
        let mut c = s.new_session();
        for cmd in [
            &["GET", "k"][..],
            &["SET", "k", "v"],
            &["PING"],
            &["DBSIZE"],
            &["SCAN", "0"],
            &["ORDER.GET", "o"],
            &["SHUTDOWN"],
        ] {
            let r = run1(&s, &mut c, cmd);
            assert_eq!(r, Reply::err("NOAUTH Authentication required."), "{cmd:?}");
        }
        assert!(!s.shutdown_requested());
        assert!(run1(&s, &mut c, &["AUTH", "wrong"]).is_error());
        assert!(run1(&s, &mut c, &["HELLO", "2"]).is_error());
        assert_eq!(run1(&s, &mut c, &["AUTH", "default", "pw"]), Reply::ok());
        assert_eq!(run1(&s, &mut c, &["SET", "k", "v"]), Reply::ok());
        let mut c2 = s.new_session();
        assert!(!run1(&s, &mut c2, &["HELLO", "2", "AUTH", "default", "pw"]).is_error());
        assert_eq!(run1(&s, &mut c2, &["GET", "k"]), Reply::bulk("v"));
    }

    #[test]
    fn scan_walks_every_key_once_with_match_and_count() {
        let (_d, s) = shared(None);
        let mut c = s.new_session();
        let mut cmds = Vec::new();
        for i in 0..95 {
            cmds.push(args(&["SET", &format!("user:{i:03}"), "x"]));
        }
        cmds.push(args(&["SET", "other", "x"]));
        cmds.push(args(&["ORDER.INSERT", "o1", "u", "i", "SELL", "1", "1"]));
        execute_batch(&s, &mut c, cmds);
        let mut seen = Vec::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let Reply::Array(parts) = run1(
                &s,
                &mut c,
                &["SCAN", &cursor, "MATCH", "user:*", "COUNT", "7"],
            ) else {
                panic!("not an array")
            };
            let (Reply::Bulk(next), Reply::Array(keys)) = (&parts[0], &parts[1]) else {
                panic!("bad shape {parts:?}")
            };
            for k in keys {
                let Reply::Bulk(k) = k else { panic!() };
                seen.push(String::from_utf8(k.clone()).unwrap());
            }
            calls += 1;
            cursor = String::from_utf8(next.clone()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        let want: Vec<String> = (0..95).map(|i| format!("user:{i:03}")).collect();
        assert_eq!(seen, want);
        assert!(calls >= 14, "COUNT 7 over 96 keys: {calls} calls");
        assert!(run1(&s, &mut c, &["SCAN", "424242"]).is_error());
        assert!(run1(&s, &mut c, &["SCAN", "0", "COUNT", "0"]).is_error());
        assert!(run1(&s, &mut c, &["SCAN", "x"]).is_error());
    }

    #[test]
    fn arity_unknown_commands_and_shutdown() {
        let (_d, s) = shared(None);
        let mut c = s.new_session();
        assert!(
            matches!(run1(&s, &mut c, &["GET"]), Reply::Error(e) if e.contains("wrong number of arguments for 'get'"))
        );
        assert!(
            matches!(run1(&s, &mut c, &["MSET", "a"]), Reply::Error(e) if e.contains("wrong number"))
        );
        assert!(
            matches!(run1(&s, &mut c, &["NOPE", "a"]), Reply::Error(e) if e.contains("unknown command 'NOPE'"))
        );
        assert_eq!(run1(&s, &mut c, &["PING"]), Reply::Simple("PONG"));
        assert_eq!(run1(&s, &mut c, &["ECHO", "hi"]), Reply::bulk("hi"));
        assert!(
            matches!(run1(&s, &mut c, &["ROLE"]), Reply::Array(v) if v[0] == Reply::bulk("master"))
        );
        assert_eq!(
            run1(&s, &mut c, &["CONFIG", "GET", "appendf*"]),
            Reply::Array(vec![Reply::bulk("appendfsync"), Reply::bulk("always")])
        );
        let replies = execute_batch(
            &s,
            &mut c,
            vec![
                args(&["SET", "a", "1"]),
                args(&["SHUTDOWN"]),
                args(&["SET", "b", "1"]),
            ],
        );
        assert_eq!(
            replies,
            vec![Reply::ok()],
            "nothing after SHUTDOWN runs, and it has no reply"
        );
        assert!(s.shutdown_requested());
        assert!(c.close);
        assert_eq!(s.engine.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.engine.get(b"b").unwrap(), None);
    }
}
