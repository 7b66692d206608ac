//! Clients that keep writing and reading through every fault, as a Redis client would:
//! follow `MOVED` to the leader, move to another node when one stops answering, and record
//! every operation with the time it was invoked and (when known) returned.
//!
//! Two kinds of work: unique keys written once (each acknowledged one must survive), and a
//! few registers read and overwritten by every client (the history must be linearizable).
//! Registers are renamed every few seconds so each history stays small enough to check.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::linearizable::{Action, Op};

/// How long a client waits for an answer: longer than the server's own write timeout, so a
/// leader without a quorum answers CLUSTERDOWN first.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
const REGISTERS: u64 = 2;
const REGISTER_EPOCH: Duration = Duration::from_secs(3);

#[derive(Debug, Default)]
pub struct History {
    /// Unique keys whose SET was acknowledged, with the value.
    pub acked: Vec<(String, String)>,
    /// Register key → its operations.
    pub registers: BTreeMap<String, Vec<Op>>,
    pub ok: u64,
    pub failed: u64,
}

#[derive(Debug)]
pub struct Workload {
    stop: Arc<AtomicBool>,
    began: Instant,
    history: Arc<Mutex<History>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Workload {
    pub fn start(nodes: Vec<SocketAddr>, clients: usize) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let history = Arc::new(Mutex::new(History::default()));
        let began = Instant::now();
        let threads = (0..clients)
            .map(|c| {
                let mut client = Client {
                    id: c,
                    nodes: nodes.clone(),
                    at: c % nodes.len(),
                    target: None,
                    conn: None,
                    conn_addr: String::new(),
                    began,
                    history: Arc::clone(&history),
                };
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        client.step(n);
                        n += 1;
                    }
                })
            })
            .collect();
        Workload {
            stop,
            began,
            history,
            threads,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.began.elapsed()
    }

    pub fn finish(self) -> History {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.history.lock().unwrap())
    }
}

struct Client {
    id: usize,
    nodes: Vec<SocketAddr>,
    at: usize,
    /// Where a MOVED sent this client, before it falls back to the node list.
    target: Option<String>,
    conn: Option<redis::Connection>,
    /// Where `conn` leads.
    conn_addr: String,
    began: Instant,
    history: Arc<Mutex<History>>,
}

enum Outcome {
    Ok(Option<String>),
    /// The request may or may not have taken effect.
    Unknown,
}

impl Client {
    fn now(&self) -> u64 {
        self.began.elapsed().as_micros() as u64
    }

    fn connection(&mut self) -> Option<&mut redis::Connection> {
        if self.conn.is_none() {
            let addr = self
                .target
                .take()
                .unwrap_or_else(|| self.nodes[self.at].to_string());
            let conn = redis::Client::open(format!("redis://{addr}/"))
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
                .and_then(|c| {
                    c.set_read_timeout(Some(CLIENT_TIMEOUT))?;
                    c.set_write_timeout(Some(CLIENT_TIMEOUT))?;
                    Ok(c)
                });
            match conn {
                Ok(c) => {
                    self.conn = Some(c);
                    self.conn_addr = addr;
                }
                Err(_) => {
                    self.next_node();
                    std::thread::sleep(Duration::from_millis(50));
                    return None;
                }
            }
        }
        self.conn.as_mut()
    }

    fn next_node(&mut self) {
        self.conn = None;
        self.at = (self.at + 1) % self.nodes.len();
    }

    fn run(&mut self, cmd: &redis::Cmd) -> Outcome {
        let Some(conn) = self.connection() else {
            return Outcome::Unknown;
        };
        match cmd.query::<Option<String>>(conn) {
            Ok(v) => Outcome::Ok(v),
            Err(e) => {
                if let Some((addr, _slot)) = e.redirect_node() {
                    self.target = Some(addr.to_string());
                    self.conn = None;
                } else {
                    // CLUSTERDOWN, a timeout, a closed connection: try elsewhere after a
                    // moment, as a client library's retry would.
                    self.next_node();
                    std::thread::sleep(Duration::from_millis(30));
                }
                Outcome::Unknown
            }
        }
    }

    fn step(&mut self, n: u64) {
        if n.is_multiple_of(3) {
            let key = format!("u:{}:{n}", self.id);
            let value = format!("v{n}");
            if let Outcome::Ok(_) = self.run(redis::cmd("SET").arg(&key).arg(&value)) {
                let mut h = self.history.lock().unwrap();
                h.acked.push((key, value));
                h.ok += 1;
            } else {
                self.history.lock().unwrap().failed += 1;
            }
            return;
        }
        let epoch = self.began.elapsed().as_millis() / REGISTER_EPOCH.as_millis();
        let register = format!("r:{epoch}:{}", n % REGISTERS);
        let invoked = self.now();
        let (action, outcome) = if n % 3 == 1 {
            (None, self.run(redis::cmd("GET").arg(&register)))
        } else {
            let value = format!("{}-{n}", self.id);
            let outcome = self.run(redis::cmd("SET").arg(&register).arg(&value));
            (Some(value), outcome)
        };
        let returned = self.now();
        let node = self.conn_addr.clone();
        let op = match (action, outcome) {
            (Some(v), Outcome::Ok(_)) => Some((Action::Write(v), Some(returned))),
            (Some(v), Outcome::Unknown) => Some((Action::Write(v), None)),
            (None, Outcome::Ok(got)) => Some((Action::Read(got), Some(returned))),
            // A failed read changed nothing and observed nothing.
            (None, Outcome::Unknown) => None,
        };
        let mut h = self.history.lock().unwrap();
        match &op {
            Some((_, Some(_))) => h.ok += 1,
            _ => h.failed += 1,
        }
        if let Some((action, returned)) = op {
            h.registers.entry(register).or_default().push(Op {
                client: self.id,
                invoked,
                returned,
                action,
                node,
            });
        }
    }
}
