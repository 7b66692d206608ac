//! `drkit serve`: the engine in-process behind a RESP (Redis protocol) server on tokio, with
//! Prometheus metrics, INFO for `drkit status`, and graceful shutdown.
//!
//! Threads: one event-loop thread (tokio's current-thread runtime), as Redis has one. It
//! parses requests, answers reads (GET, MGET, EXISTS, the typed GETs) in place, and commits
//! the plain writes (SET, MSET, typed inserts) of every connection once per turn in one
//! `write_batch` (see `committer`). Writes that must read first (SET NX/XX/GET, DEL) and
//! key-space walks run on tokio's blocking pool and meet the rest in the engine's group
//! commit. On two cores, a thread per role measured slower than one loop: the scheduler's
//! wake-up latency between threads cost more than the work.
//!
//! Shutdown (SIGTERM, SIGINT or SHUTDOWN): stop accepting, let each connection finish the
//! batch it is running and write its replies, then close; sync the WAL and release the dir
//! lock. A second signal returns [`Stopped::Forced`] at once.

pub mod access;
pub mod command;
mod committer;
pub mod info;
pub mod metrics;
pub mod pattern;
pub mod resp;

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::engine::Engine;
use crate::error::{Error, Result};
use access::{PROTECTED_MODE_ERROR, Password, refused_by_protected_mode};
use command::{Shared, execute, is_blocking};
use resp::{Limits, Parser, Reply};

/// Most requests run as one batch; more stay buffered for the next round.
const MAX_BATCH: usize = 1024;

/// A batch stops taking commands once this many reply bytes are encoded; the rest run after
/// they are written, so a pipeline of large GETs does not hold all its replies at once.
const MAX_REPLY_BYTES: usize = 64 << 20;

/// Connection buffers grown past this by one large request or reply are given back.
const SHRINK_ABOVE: usize = 1 << 20;

/// Encodes a reply; true once the batch's reply budget is spent.
fn encode_reply(r: Reply, out: &mut Vec<u8>) -> bool {
    r.encode(out);
    out.len() >= MAX_REPLY_BYTES
}

/// Limits while a password is set and the client has not authenticated: room for AUTH and
/// HELLO, too little for an unknown client to make the server buffer much (Redis allows 10
/// arguments and 16 KiB bulks before AUTH).
const PRE_AUTH_LIMITS: Limits = Limits {
    max_bulk_len: 16 << 10,
    max_args: 16,
    source: "before AUTH",
};

/// The parser limits and the most unparsed input a connection may hold.
fn connection_limits(cfg: &ServeConfig, authed: bool) -> (Limits, usize) {
    if !authed {
        let most = PRE_AUTH_LIMITS.max_args * (PRE_AUTH_LIMITS.max_bulk_len + 32);
        return (PRE_AUTH_LIMITS, most + resp::MAX_LINE);
    }
    let limits = Limits {
        max_bulk_len: cfg.max_bulk_len,
        ..Limits::default()
    };
    // One request may hold many bulk strings; beyond this much unparsed input the client is
    // either hostile or broken.
    let max_buffered = cfg.max_bulk_len.saturating_mul(2).saturating_add(1 << 20);
    (limits, max_buffered)
}

/// AUTH and HELLO may authenticate: what follows them is parsed with the new limits.
fn may_authenticate(args: &resp::Args) -> bool {
    args.first()
        .is_some_and(|n| n.eq_ignore_ascii_case(b"auth") || n.eq_ignore_ascii_case(b"hello"))
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub metrics: Option<SocketAddr>,
    pub max_clients: usize,
    /// Close a client idle this long; None: never.
    pub idle_timeout: Option<Duration>,
    pub max_bulk_len: usize,
    pub protected_mode: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 6380)),
            metrics: None,
            max_clients: 10_000,
            idle_timeout: Some(Duration::from_secs(300)),
            max_bulk_len: Limits::default().max_bulk_len,
            protected_mode: true,
        }
    }
}

/// Where the server listens, once it does.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub addr: SocketAddr,
    pub metrics: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Connections finished, WAL synced, lock released.
    Graceful,
    /// A second signal arrived during the graceful stop: nothing more was waited for.
    Forced,
}

fn listen_error(addr: SocketAddr, e: &std::io::Error, flag: &str) -> Error {
    Error::InvalidInput(format!(
        "cannot listen on {addr}: {e}; choose another address with {flag}"
    ))
}

/// Runs the server until shutdown. `on_ready` is called once both listeners are bound.
/// In cluster mode `cluster` carries the node's writes and read barrier, and `engine` is the
/// node's state machine (shared with it).
pub fn serve(
    engine: Arc<Engine>,
    cluster: Option<crate::cluster::ClusterClient>,
    cfg: ServeConfig,
    password: Option<Password>,
    on_ready: impl FnOnce(Ready),
) -> Result<Stopped> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .thread_name("drkit-serve")
        .enable_all()
        .build()
        .map_err(|e| Error::io(engine.dir(), e))?;
    let result = rt.block_on(run(Arc::clone(&engine), cluster, cfg, password, on_ready));
    match result {
        Ok(Stopped::Graceful) => {
            rt.shutdown_timeout(Duration::from_secs(5));
            engine.sync()?;
            // Dropping the last handle stops the engine's threads and releases the lock.
            drop(engine);
            Ok(Stopped::Graceful)
        }
        other => {
            rt.shutdown_background();
            other
        }
    }
}

async fn run(
    engine: Arc<Engine>,
    cluster: Option<crate::cluster::ClusterClient>,
    cfg: ServeConfig,
    password: Option<Password>,
    on_ready: impl FnOnce(Ready),
) -> Result<Stopped> {
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| listen_error(cfg.listen, &e, "--listen"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| listen_error(cfg.listen, &e, "--listen"))?;
    let metrics_listener = match cfg.metrics {
        Some(m) => Some(
            TcpListener::bind(m)
                .await
                .map_err(|e| listen_error(m, &e, "--metrics"))?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|e| Error::InvalidInput(e.to_string()))?,
        ),
        None => None,
    };
    use tokio::signal::unix::{SignalKind, signal};
    let signal_error =
        |e: std::io::Error| Error::InvalidInput(format!("cannot handle signals: {e}"));
    let mut term = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_error)?;

    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
    let mut shared = Shared::new(engine, cfg.clone(), password, addr.port(), shutdown_tx);
    shared.cluster = cluster;
    let shared = Arc::new(shared);
    let force = Arc::new(Notify::new());
    {
        let shared = Arc::clone(&shared);
        let force = Arc::clone(&force);
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            shared.request_shutdown();
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            force.notify_one();
        });
    }
    {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut before = shared.metrics.total_requests();
            loop {
                tick.tick().await;
                let now = shared.metrics.total_requests();
                shared.ops_per_sec.store(now - before, Ordering::Relaxed);
                before = now;
            }
        });
    }
    if let Some(l) = metrics_listener {
        tokio::spawn(metrics_server(l, Arc::clone(&shared)));
    }
    if let Some(c) = shared.cluster.clone() {
        // A node whose Raft stopped on its own no longer holds the cluster's state for sure:
        // stop serving it (the caller says why and what to do).
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                if c.fatal().is_some() {
                    shared.request_shutdown();
                    return;
                }
            }
        });
    }
    on_ready(Ready {
        addr,
        metrics: metrics_addr,
    });

    let mut conns = JoinSet::new();
    loop {
        if *shutdown_rx.borrow() {
            break;
        }
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => accept(&shared, &mut conns, stream, peer),
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = shutdown_rx.changed() => {}
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    tokio::select! {
        _ = drain => Ok(Stopped::Graceful),
        _ = force.notified() => Ok(Stopped::Forced),
    }
}

/// Decrements the client count however the connection task ends.
struct ClientSlot(Arc<Shared>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

fn accept(shared: &Arc<Shared>, conns: &mut JoinSet<()>, stream: TcpStream, peer: SocketAddr) {
    let m = &shared.metrics;
    m.connections_total.fetch_add(1, Ordering::Relaxed);
    let refusal = if refused_by_protected_mode(
        peer.ip(),
        shared.password.is_some(),
        shared.cfg.protected_mode,
    ) {
        m.rejected_protected_mode.fetch_add(1, Ordering::Relaxed);
        Some(PROTECTED_MODE_ERROR.to_string())
    } else if shared.clients.load(Ordering::Relaxed) >= shared.cfg.max_clients {
        m.rejected_max_clients.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "ERR max number of clients reached ({}, --max-clients)",
            shared.cfg.max_clients
        ))
    } else {
        None
    };
    if let Some(text) = refusal {
        tokio::spawn(async move {
            let mut stream = stream;
            let mut out = Vec::new();
            Reply::err(text).encode(&mut out);
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&out)).await;
        });
        return;
    }
    shared.clients.fetch_add(1, Ordering::Relaxed);
    let slot = ClientSlot(Arc::clone(shared));
    let shared = Arc::clone(shared);
    conns.spawn(async move {
        let _slot = slot;
        connection(shared, stream).await;
    });
}

/// How long a client still gets to take its replies once a graceful stop has begun.
const SHUTDOWN_WRITE_GRACE: Duration = Duration::from_secs(2);

/// Writes `out`; false when the client is gone, did not take it all within the idle
/// timeout, or not within [`SHUTDOWN_WRITE_GRACE`] of a graceful stop beginning: a client
/// that never reads must neither hold a connection forever nor keep the server from
/// stopping.
async fn write_replies(shared: &Shared, stream: &mut TcpStream, mut out: &[u8]) -> bool {
    // Most replies fit the socket buffer at once: then no timer or shutdown watch is armed.
    while !out.is_empty() {
        match stream.try_write(out) {
            Ok(0) => return false,
            Ok(n) => out = &out[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
    }
    if out.is_empty() {
        return true;
    }
    let write = async {
        match shared.cfg.idle_timeout {
            Some(d) => matches!(
                tokio::time::timeout(d, stream.write_all(out)).await,
                Ok(Ok(()))
            ),
            None => stream.write_all(out).await.is_ok(),
        }
    };
    let mut shutdown = shared.subscribe_shutdown();
    let stopping = async {
        if shutdown.wait_for(|stop| *stop).await.is_err() {
            // The sender lives as long as the server: no stop can begin.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(SHUTDOWN_WRITE_GRACE).await;
    };
    tokio::select! {
        ok = write => ok,
        () = stopping => false,
    }
}

enum ReadOutcome {
    Data(usize),
    Closed,
    IdleTimeout,
    Shutdown,
}

async fn connection(shared: Arc<Shared>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    // One shutdown wait for the connection's life: arming a fresh one per read costs a
    // lock round trip per request. Completes when a stop begins (or the sender is gone).
    let mut shutdown = shared.subscribe_shutdown();
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    let mut session = shared.new_session();
    let mut buf: Vec<u8> = Vec::with_capacity(16 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    let mut out = Vec::with_capacity(16 << 10);
    let mut parser = Parser::default();
    let mut cmds: VecDeque<resp::Args> = VecDeque::new();
    let mut protocol_error = None;
    let idle_after = shared.cfg.idle_timeout;
    let mut last_active = tokio::time::Instant::now();
    let idle = tokio::time::sleep(idle_after.unwrap_or(Duration::MAX / 4));
    tokio::pin!(idle);
    loop {
        let mut used = 0;
        // An AUTH still queued must run before more is parsed under the pre-AUTH limits.
        let auth_queued = !session.authed && cmds.iter().any(may_authenticate);
        if protocol_error.is_none() && !auth_queued {
            let (limits, _) = connection_limits(&shared.cfg, session.authed);
            while cmds.len() < MAX_BATCH {
                match parser.parse(&buf[used..], &limits) {
                    Ok(Some((args, n))) => {
                        used += n;
                        if !args.is_empty() {
                            let auth = !session.authed && may_authenticate(&args);
                            cmds.push_back(args);
                            if auth {
                                break;
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        protocol_error = Some(e);
                        break;
                    }
                }
            }
            buf.drain(..used);
        }
        out.clear();
        if !cmds.is_empty() {
            if let Some(writes) = command::plain_writes_only(&session, &cmds) {
                cmds.clear();
                for r in command::commit_plain_writes(&shared, writes).await {
                    encode_reply(r, &mut out);
                }
            } else if shared.cluster.is_some() || cmds.iter().any(is_blocking) {
                let s = Arc::clone(&shared);
                let mut moved = (session, cmds, out);
                let Ok(back) = tokio::task::spawn_blocking(move || {
                    let (session, cmds, out) = &mut moved;
                    execute(&s, session, cmds, &mut |r| encode_reply(r, out));
                    moved
                })
                .await
                else {
                    return;
                };
                (session, cmds, out) = back;
            } else {
                execute(&shared, &mut session, &mut cmds, &mut |r| {
                    encode_reply(r, &mut out)
                });
            }
        }
        // Commands left over when the reply budget filled run after these replies are out.
        let queued = !cmds.is_empty() && !session.close;
        if queued {
            // Their replies come first; the error or the close waits for them.
        } else if let Some(e) = &protocol_error {
            shared
                .metrics
                .protocol_errors
                .fetch_add(1, Ordering::Relaxed);
            Reply::err(format!("ERR {e}")).encode(&mut out);
            session.close = true;
        } else if buf.len() > connection_limits(&shared.cfg, session.authed).1 {
            shared
                .metrics
                .protocol_errors
                .fetch_add(1, Ordering::Relaxed);
            let text = if session.authed {
                "ERR Protocol error: request too large (see --max-bulk-len)"
            } else {
                "ERR Protocol error: request too large before AUTH"
            };
            Reply::err(text).encode(&mut out);
            session.close = true;
        }
        if !out.is_empty() && !write_replies(&shared, &mut stream, &out).await {
            return;
        }
        if out.capacity() > SHRINK_ABOVE {
            out = Vec::with_capacity(16 << 10);
        }
        if session.close || shared.shutdown_requested() {
            let _ = stream.shutdown().await;
            return;
        }
        if queued || used > 0 {
            // Requests may be left over from a full batch: run or parse them before reading.
            continue;
        }
        if buf.capacity() > SHRINK_ABOVE && buf.len() < buf.capacity() / 4 {
            // A large request has gone: give its memory back rather than keep it per client.
            buf.shrink_to(buf.len().max(16 << 10));
        }
        let read = async {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => ReadOutcome::Closed,
                Ok(n) => ReadOutcome::Data(n),
            }
        };
        let outcome = tokio::select! {
            biased;
            r = read => r,
            () = &mut stop => ReadOutcome::Shutdown,
            () = &mut idle, if idle_after.is_some() => {
                // One timer per connection, pushed back only when it fires early: arming a
                // fresh one per request costs more than the request.
                let idle_for = idle_after.unwrap_or_default();
                if last_active.elapsed() >= idle_for {
                    ReadOutcome::IdleTimeout
                } else {
                    idle.as_mut().reset(last_active + idle_for);
                    continue;
                }
            }
        };
        match outcome {
            ReadOutcome::Data(n) => {
                if idle_after.is_some() {
                    last_active = tokio::time::Instant::now();
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            ReadOutcome::IdleTimeout => {
                shared.metrics.idle_timeouts.fetch_add(1, Ordering::Relaxed);
                return;
            }
            ReadOutcome::Closed | ReadOutcome::Shutdown => return,
        }
    }
}

/// A minimal HTTP/1.x responder: GET /metrics (or /) answers the exposition, anything
/// else 404. One request per connection.
async fn metrics_server(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut req = Vec::new();
            let mut chunk = [0u8; 1024];
            let read_head = async {
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return false,
                        Ok(n) => req.extend_from_slice(&chunk[..n]),
                    }
                }
                true
            };
            if !matches!(
                tokio::time::timeout(Duration::from_secs(5), read_head).await,
                Ok(true)
            ) {
                return;
            }
            let first = req.split(|&b| b == b'\n').next().unwrap_or_default();
            let mut parts = first.split(|&b| b == b' ');
            let (method, path) = (parts.next(), parts.next());
            let response = if method == Some(b"GET") && matches!(path, Some(b"/metrics" | b"/")) {
                let mut body = shared.metrics.render(
                    &shared.engine,
                    shared.clients.load(Ordering::Relaxed),
                    shared.started.elapsed(),
                );
                if let Some(c) = &shared.cluster {
                    metrics::render_cluster(&mut body, &c.status());
                }
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 23\r\nConnection: close\r\n\r\ntry GET /metrics here\r\n".to_string()
            };
            let send = async {
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), send).await;
        });
    }
}

/// `drkit status`: sends AUTH (when given a password) and INFO (all but the keyspace) to
/// `addr` and returns the INFO text.
pub fn fetch_info(addr: &str, password: Option<&[u8]>, timeout: Duration) -> Result<String> {
    let unreachable = |e: std::io::Error| {
        Error::InvalidInput(format!(
            "cannot reach {addr}: {e}; is `drkit serve` running there (see --addr)?"
        ))
    };
    let targets: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(addr)
        .map_err(unreachable)?
        .collect();
    if targets.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{addr}: no address to connect to"
        )));
    }
    let mut stream = connect_any(&targets, timeout).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    let mut req = Vec::new();
    if let Some(p) = password {
        req.extend(resp::encode_request(&[b"AUTH", p]));
    }
    // Not the keyspace section: counting keys walks the whole key space.
    req.extend(resp::encode_request(&[
        b"INFO",
        b"server",
        b"clients",
        b"persistence",
        b"stats",
        b"replication",
        b"levels",
    ]));
    stream.write_all(&req).map_err(unreachable)?;
    let mut reader = std::io::BufReader::new(stream);
    if password.is_some() {
        read_reply(&mut reader, addr)?;
    }
    read_reply(&mut reader, addr)
}

/// The first of `targets` that accepts a connection: a name such as `localhost` may resolve
/// to an IPv6 address the server does not listen on before the IPv4 one it does.
fn connect_any(targets: &[SocketAddr], timeout: Duration) -> std::io::Result<std::net::TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for t in targets {
        match std::net::TcpStream::connect_timeout(t, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Largest reply `drkit status` accepts: INFO is a few KiB; a bigger length is not a drkit
/// server (or a hostile one) and must not size an allocation.
const MAX_STATUS_REPLY: usize = 16 << 20;

/// Reads one simple, error or bulk reply; an error reply becomes an Err.
fn read_reply(r: &mut impl std::io::BufRead, addr: &str) -> Result<String> {
    let broken = |what: String| Error::InvalidInput(format!("{addr}: {what}"));
    let mut line = String::new();
    r.read_line(&mut line)
        .map_err(|e| broken(format!("reading the reply: {e}")))?;
    let line = line.trim_end();
    match line.as_bytes().first() {
        Some(b'+') => Ok(line[1..].to_string()),
        Some(b'-') => Err(broken(format!("server refused: {}", &line[1..]))),
        Some(b'$') => {
            let len: usize = line[1..]
                .parse()
                .map_err(|_| broken(format!("bad bulk length in {line:?}")))?;
            let total = len
                .checked_add(2)
                .filter(|_| len <= MAX_STATUS_REPLY)
                .ok_or_else(|| {
                    broken(format!(
                        "a reply of {len} bytes is over the {MAX_STATUS_REPLY}-byte limit \
                         (is this a drkit or Redis server?)"
                    ))
                })?;
            let mut body = vec![0u8; total];
            r.read_exact(&mut body)
                .map_err(|e| broken(format!("reading the reply: {e}")))?;
            body.truncate(len);
            Ok(String::from_utf8_lossy(&body).into_owned())
        }
        _ => Err(broken(format!(
            "not a RESP reply: {line:?} (is this a drkit or Redis server?)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_refuses_a_huge_bulk_length_before_allocating() {
        for header in [
            format!("${}\r\n", 1u64 << 40),
            format!("${}\r\n", usize::MAX),
        ] {
            let mut r = std::io::Cursor::new(header.into_bytes());
            let e = read_reply(&mut r, "x:1").unwrap_err().to_string();
            assert!(e.contains("byte limit"), "{e}");
        }
        let mut r = std::io::Cursor::new(b"$2\r\nhi\r\n".to_vec());
        assert_eq!(read_reply(&mut r, "x:1").unwrap(), "hi");
    }

    #[test]
    fn status_tries_every_resolved_address() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        let s = connect_any(&[dead_addr, live_addr], Duration::from_secs(5)).unwrap();
        assert_eq!(s.peer_addr().unwrap(), live_addr);
        assert!(connect_any(&[dead_addr], Duration::from_secs(5)).is_err());
    }
}
