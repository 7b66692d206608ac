//! `drkit demo --cluster`: failover told end to end, with real processes.
//!
//! 1. Start three `drkit serve --node-id` children on loopback and `cluster init` them.
//! 2. Write through the leader, following `MOVED` as a client would.
//! 3. SIGKILL the leader; time until another node leads.
//! 4. Write more through the new leader.
//! 5. Restart the old leader: it comes back as a follower and catches up.
//! 6. Read every acknowledged key on every node (READONLY: each answers from its own state)
//!    and count what is missing or wrong.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::network::init_cluster;
use crate::cluster::{ClusterNode, NodeId};
use crate::error::{Error, IoContext, Result};
use crate::serve::resp::encode_request;

#[derive(Debug, Clone)]
pub struct ClusterDemoConfig {
    /// Where the nodes' dirs and logs go (kept). None: a temporary dir, removed at the end.
    pub dir: Option<PathBuf>,
    /// The drkit binary, started as each node.
    pub exe: PathBuf,
    /// Writes before the kill, and again after it.
    pub writes: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeCheck {
    pub node_id: NodeId,
    pub role: String,
    pub applied_index: u64,
    pub present: u64,
    pub missing: u64,
    pub wrong: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterDemoReport {
    pub dir: PathBuf,
    pub kept: bool,
    pub first_leader: NodeId,
    pub first_term: u64,
    pub killed_pid: u32,
    pub new_leader: NodeId,
    pub new_term: u64,
    pub election_ms: f64,
    /// Writes refused while there was no leader (retried until acknowledged).
    pub retried_writes: u64,
    pub acknowledged: u64,
    pub old_leader_role_after: String,
    pub nodes: Vec<NodeCheck>,
}

impl ClusterDemoReport {
    pub fn every_write_everywhere(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.missing == 0 && n.wrong == 0 && n.present == self.acknowledged)
    }
}

pub(super) const SECRET: &str = "drkit demo cluster secret";

pub(super) struct NodeProc {
    pub(super) id: NodeId,
    pub(super) dir: PathBuf,
    pub(super) client: SocketAddr,
    pub(super) raft: SocketAddr,
    pub(super) child: Option<Child>,
    /// More `serve` arguments (routes, timing, log format).
    pub(super) extra_args: Vec<String>,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Free loopback ports, all held until every one is chosen so none repeats.
pub(super) fn free_addrs(n: usize) -> Result<Vec<SocketAddr>> {
    let here = Path::new("127.0.0.1:0");
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").at(here))
        .collect::<Result<Vec<_>>>()?;
    held.iter().map(|l| l.local_addr().at(here)).collect()
}

impl NodeProc {
    /// A node's first start, before any membership names its ports: ports found free a
    /// moment ago may have been taken since (by another program's connection), so a node
    /// that cannot bind them is started again on new ones.
    pub(super) fn start_first(&mut self, exe: &Path, secret: &Path) -> Result<()> {
        let log_path = self.dir.with_extension("log");
        for _ in 0..4 {
            let logged = std::fs::metadata(&log_path).map_or(0, |m| m.len());
            match self.start(exe, secret) {
                Err(_) if bind_failed(&log_path, logged) => {
                    let fresh = free_addrs(2)?;
                    (self.client, self.raft) = (fresh[0], fresh[1]);
                }
                other => return other,
            }
        }
        self.start(exe, secret)
    }

    pub(super) fn start(&mut self, exe: &Path, secret: &Path) -> Result<()> {
        let log_path = self.dir.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .at(&log_path)?;
        let log2 = log.try_clone().at(&log_path)?;
        let child = Command::new(exe)
            .args(["serve", "--data"])
            .arg(&self.dir)
            .args(["--listen", &self.client.to_string()])
            .args(["--node-id", &self.id.to_string()])
            .args(["--raft-listen", &self.raft.to_string()])
            .arg("--cluster-secret-file")
            .arg(secret)
            .args(&self.extra_args)
            // The demo's own client sends no AUTH; the nodes serve loopback only.
            .env_remove("DRKIT_REQUIREPASS")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .at(exe)?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&self.client, Duration::from_millis(200)).is_err() {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(Error::InvalidInput(format!(
                    "node {} exited at start ({status}); see {}",
                    self.id,
                    log_path.display()
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::InvalidInput(format!(
                    "node {} did not start within 30 s; see {}",
                    self.id,
                    log_path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// Whether the node's log past `from` says a port was in use.
fn bind_failed(log_path: &Path, from: u64) -> bool {
    std::fs::read(log_path).is_ok_and(|b| {
        let start = usize::try_from(from).unwrap_or(usize::MAX).min(b.len());
        String::from_utf8_lossy(&b[start..]).contains("in use")
    })
}

fn broken(what: &str) -> Error {
    Error::InvalidInput(format!("demo client: {what}"))
}

/// One RESP reply as the demo needs it: a value (None for nil), or the server's error.
pub(super) enum Answer {
    Value(Option<String>),
    Refused(String),
}

pub(super) struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    pub(super) fn connect(addr: SocketAddr) -> Result<Client> {
        Client::connect_within(addr, Duration::from_secs(10))
    }

    /// A client whose calls give up after `timeout` (a paused node never answers).
    pub(super) fn connect_within(addr: SocketAddr, timeout: Duration) -> Result<Client> {
        let at = PathBuf::from(addr.to_string());
        let s = TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(2))).at(&at)?;
        s.set_read_timeout(Some(timeout)).at(&at)?;
        s.set_write_timeout(Some(timeout)).at(&at)?;
        let _ = s.set_nodelay(true);
        Ok(Client {
            reader: BufReader::new(s),
        })
    }

    pub(super) fn call(&mut self, args: &[&[u8]]) -> Result<Answer> {
        self.reader
            .get_mut()
            .write_all(&encode_request(args))
            .map_err(|e| broken(&e.to_string()))?;
        self.answer()
    }

    /// Sends every command, then reads every reply: one round trip for all of them.
    pub(super) fn call_pipelined(&mut self, cmds: &[Vec<Vec<u8>>]) -> Result<Vec<Answer>> {
        let mut out = Vec::new();
        for c in cmds {
            let args: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
            out.extend_from_slice(&encode_request(&args));
        }
        self.reader
            .get_mut()
            .write_all(&out)
            .map_err(|e| broken(&e.to_string()))?;
        cmds.iter().map(|_| self.answer()).collect()
    }

    fn answer(&mut self) -> Result<Answer> {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| broken(&e.to_string()))?;
        let line = line.trim_end();
        match line.as_bytes().first() {
            Some(b'+' | b':') => Ok(Answer::Value(Some(line[1..].to_string()))),
            Some(b'-') => Ok(Answer::Refused(line[1..].to_string())),
            Some(b'$') if line == "$-1" => Ok(Answer::Value(None)),
            Some(b'$') => {
                let len: usize = line[1..]
                    .parse()
                    .ok()
                    .filter(|l| *l < 64 << 20)
                    .ok_or_else(|| broken("bad bulk length"))?;
                let mut body = vec![0u8; len + 2];
                self.reader
                    .read_exact(&mut body)
                    .map_err(|e| broken(&e.to_string()))?;
                body.truncate(len);
                Ok(Answer::Value(Some(String::from_utf8_lossy(&body).into())))
            }
            _ => Err(broken(&format!("unexpected reply {line:?}"))),
        }
    }

    fn info(&mut self) -> Result<BTreeMap<String, String>> {
        match self.call(&[b"INFO", b"replication"])? {
            Answer::Value(Some(text)) => Ok(text
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_string(), v.trim().to_string()))
                .collect()),
            Answer::Value(None) => Err(Error::InvalidInput("INFO answered nil".into())),
            Answer::Refused(e) => Err(Error::InvalidInput(format!("INFO refused: {e}"))),
        }
    }
}

/// (role, term, applied index) as the node reports them; None when it does not answer.
pub(super) fn node_state(n: &NodeProc) -> Option<(String, u64, u64)> {
    let info = Client::connect(n.client).ok()?.info().ok()?;
    let num = |k: &str| info.get(k).and_then(|v| v.parse().ok()).unwrap_or(0);
    Some((
        info.get("cluster_role")?.clone(),
        num("cluster_term"),
        num("raft_applied_index"),
    ))
}

pub(super) fn wait_leader(nodes: &[NodeProc], not: Option<NodeId>) -> Result<(NodeId, u64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for n in nodes.iter().filter(|n| n.child.is_some()) {
            if let Some((role, term, _)) = node_state(n)
                && role == "leader"
                && Some(n.id) != not
            {
                return Ok((n.id, term));
            }
        }
        if Instant::now() > deadline {
            return Err(Error::InvalidInput("no leader within 60 s".into()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(super) fn init(nodes: &[NodeProc]) -> Result<()> {
    let members: BTreeMap<NodeId, ClusterNode> = nodes
        .iter()
        .map(|n| {
            (
                n.id,
                ClusterNode {
                    raft_addr: n.raft.to_string(),
                    client_addr: n.client.to_string(),
                },
            )
        })
        .collect();
    let first = nodes[0].raft.to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::InvalidInput(format!("cannot start a runtime: {e}")))?;
    rt.block_on(init_cluster(&first, SECRET.as_bytes(), members))
        .map_err(Error::InvalidInput)
}

/// The demo's key and value number `i`.
pub(super) fn key_value(i: u64) -> (String, String) {
    (format!("demo:{i:06}"), format!("value-{i}"))
}

/// Writes `keys` through whichever node leads, following MOVED and retrying through an
/// election; returns how many attempts were refused on the way.
fn write_all(nodes: &[NodeProc], keys: std::ops::Range<u64>) -> Result<u64> {
    send_all(nodes, keys, &|i| {
        let (k, v) = key_value(i);
        vec![b"SET".to_vec(), k.into_bytes(), v.into_bytes()]
    })
}

/// Sends the command `cmd(i)` for each of `keys` as [`write_all`] sends its writes.
pub(super) fn send_all(
    nodes: &[NodeProc],
    keys: std::ops::Range<u64>,
    cmd: &dyn Fn(u64) -> Vec<Vec<u8>>,
) -> Result<u64> {
    let mut refused = 0;
    let mut at = nodes
        .iter()
        .find(|n| n.child.is_some())
        .map(|n| n.client)
        .ok_or_else(|| Error::InvalidInput("no node is running".into()))?;
    let mut client = Client::connect(at)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    for i in keys {
        let args = cmd(i);
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        loop {
            if Instant::now() > deadline {
                return Err(Error::InvalidInput(format!(
                    "{} {} not acknowledged within 120 s",
                    String::from_utf8_lossy(args[0]),
                    String::from_utf8_lossy(args.get(1).copied().unwrap_or_default())
                )));
            }
            match client.call(&args) {
                Ok(Answer::Value(_)) => break,
                Ok(Answer::Refused(e)) => {
                    refused += 1;
                    // "MOVED 0 host:port": the leader's client address.
                    if let Some(addr) = e
                        .strip_prefix("MOVED ")
                        .and_then(|r| r.split_whitespace().nth(1))
                        .and_then(|a| a.parse().ok())
                    {
                        at = addr;
                    } else {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                Err(_) => {
                    refused += 1;
                    std::thread::sleep(Duration::from_millis(50));
                    // The node went away: try the next running one.
                    let running: Vec<SocketAddr> = nodes
                        .iter()
                        .filter(|n| n.child.is_some())
                        .map(|n| n.client)
                        .collect();
                    if running.is_empty() {
                        return Err(Error::InvalidInput("no node is running".into()));
                    }
                    let pos = running.iter().position(|a| *a == at).map_or(0, |p| p + 1);
                    at = running[pos % running.len()];
                }
            }
            if let Ok(c) = Client::connect(at) {
                client = c;
            }
        }
    }
    Ok(refused)
}

fn check_node(n: &NodeProc, acknowledged: u64) -> Result<NodeCheck> {
    let mut c = Client::connect(n.client)?;
    c.call(&[b"READONLY"])?;
    let (mut present, mut missing, mut wrong) = (0, 0, 0);
    for i in 0..acknowledged {
        let (key, value) = key_value(i);
        match c.call(&[b"GET", key.as_bytes()])? {
            Answer::Value(Some(v)) if v == value => present += 1,
            Answer::Value(Some(_)) => wrong += 1,
            Answer::Value(None) => missing += 1,
            Answer::Refused(e) => {
                return Err(Error::InvalidInput(format!(
                    "node {} refused a READONLY read: {e}",
                    n.id
                )));
            }
        }
    }
    let (role, _, applied) = node_state(n).unwrap_or_default();
    Ok(NodeCheck {
        node_id: n.id,
        role,
        applied_index: applied,
        present,
        missing,
        wrong,
    })
}

/// Waits until every node has applied what the leader has, so the check reads settled state.
pub(super) fn wait_caught_up(nodes: &[NodeProc], leader: NodeId) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let target = nodes
        .iter()
        .find(|n| n.id == leader)
        .and_then(node_state)
        .map_or(0, |s| s.2);
    while !nodes
        .iter()
        .all(|n| node_state(n).is_some_and(|s| s.2 >= target))
    {
        if Instant::now() > deadline {
            return Err(Error::InvalidInput(
                "the followers did not catch up within 60 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

pub fn run_cluster_demo(
    cfg: &ClusterDemoConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ClusterDemoReport> {
    let tmp;
    let (root, kept) = match &cfg.dir {
        Some(d) => {
            std::fs::create_dir_all(d).at(d)?;
            (d.clone(), true)
        }
        None => {
            tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
            (tmp.path().to_path_buf(), false)
        }
    };
    let secret = root.join("cluster-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).at(&secret)?;
    let addrs = free_addrs(6)?;
    let mut nodes: Vec<NodeProc> = (0..3)
        .map(|i| NodeProc {
            id: i as NodeId + 1,
            dir: root.join(format!("node{}", i + 1)),
            client: addrs[2 * i],
            raft: addrs[2 * i + 1],
            child: None,
            extra_args: Vec::new(),
        })
        .collect();
    step(&format!(
        "starting 3 nodes (`drkit serve --node-id`, default timing) in {}",
        root.display()
    ));
    for n in &mut nodes {
        n.start_first(&cfg.exe, &secret)?;
    }
    init(&nodes)?;
    let (first_leader, first_term) = wait_leader(&nodes, None)?;
    step(&format!(
        "cluster initialised: node {first_leader} leads term {first_term}"
    ));

    let mut retried = write_all(&nodes, 0..cfg.writes)?;
    step(&format!(
        "{} writes acknowledged (each on a majority's disk)",
        cfg.writes
    ));

    let li = nodes
        .iter()
        .position(|n| n.id == first_leader)
        .ok_or_else(|| Error::InvalidInput("leader not among the nodes".into()))?;
    let mut old = nodes[li]
        .child
        .take()
        .ok_or_else(|| Error::InvalidInput("the leader is not running".into()))?;
    let killed_pid = old.id();
    let killed = Instant::now();
    old.kill().at(&cfg.exe)?;
    let _ = old.wait();
    step(&format!(
        "SIGKILL node {first_leader} (pid {killed_pid}), the leader"
    ));
    let (new_leader, new_term) = wait_leader(&nodes, Some(first_leader))?;
    let election = killed.elapsed();
    step(&format!(
        "node {new_leader} elected leader of term {new_term}, {:.1} s after the kill",
        election.as_secs_f64()
    ));

    retried += write_all(&nodes, cfg.writes..2 * cfg.writes)?;
    let acknowledged = 2 * cfg.writes;
    step(&format!(
        "{} more writes acknowledged by node {new_leader}",
        cfg.writes
    ));

    nodes[li].start(&cfg.exe, &secret)?;
    wait_caught_up(&nodes, new_leader)?;
    let old_role = node_state(&nodes[li]).map_or("down".into(), |s| s.0);
    step(&format!(
        "node {first_leader} restarted: it is a {old_role} of node {new_leader} and caught up"
    ));

    let checks = nodes
        .iter()
        .map(|n| check_node(n, acknowledged))
        .collect::<Result<Vec<_>>>()?;
    step("read every acknowledged key on every node");
    Ok(ClusterDemoReport {
        dir: root.clone(),
        kept,
        first_leader,
        first_term,
        killed_pid,
        new_leader,
        new_term,
        election_ms: election.as_secs_f64() * 1e3,
        retried_writes: retried,
        acknowledged,
        old_leader_role_after: old_role,
        nodes: checks,
    })
}
