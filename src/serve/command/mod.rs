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
use super::resp::{Args, Reply};
use super::{ServeConfig, info};
use crate::engine::{BatchOp, Engine};
use crate::format::record;

mod keyspace;
mod records;
mod server;
mod strings;
#[cfg(test)]
mod tests;

use keyspace::*;
use records::*;
use server::*;
use strings::*;

/// Most SCAN cursors remembered; the oldest is forgotten first (its next call gets an error).
const MAX_CURSORS: usize = 4096;

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
        "del" if argc >= 2 => match &shared.cluster {
            Some(c) => decided_del(c, &args[1..]),
            None => counted_del(shared, &args[1..]),
        },
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
