//! The cluster under test: `drkit serve --node-id` processes whose every peer link runs
//! through a [`Link`] proxy, and what the nemesis does to them.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::proxy::{Link, Mode};
use crate::common::{assert_exit, drkit, drkit_path};

pub const VOTERS: [u64; 3] = [1, 2, 3];
pub const LEARNER: u64 = 4;

/// A free port, held until the caller drops the listener: the proxies bind theirs while the
/// nodes' are still held, so none takes a node's port.
fn free_addr(held: &mut Vec<std::net::TcpListener>) -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    held.push(l);
    addr
}

#[derive(Debug)]
pub struct NodeProc {
    pub id: u64,
    pub dir: PathBuf,
    pub client: SocketAddr,
    pub raft: SocketAddr,
    /// stdout and stderr of every run, appended: the leadership lines are checked at the end.
    pub log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

#[derive(Debug)]
pub struct Cluster {
    /// Holds every node's dir until the test ends.
    _root: tempfile::TempDir,
    pub secret: PathBuf,
    pub nodes: Vec<NodeProc>,
    /// (from, to) → the proxy `from` dials to reach `to`.
    pub links: BTreeMap<(u64, u64), Link>,
    /// Set in every node's environment (the deliberately broken mode).
    env: Vec<(String, String)>,
}

impl Cluster {
    /// Starts 3 voters and a learner, every peer link proxied, and waits for a leader.
    pub fn start(env: &[(&str, &str)]) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let secret = root.path().join("secret");
        std::fs::write(&secret, "fault injection\n").unwrap();
        let ids: Vec<u64> = VOTERS.iter().copied().chain([LEARNER]).collect();
        let mut held = Vec::new();
        let nodes: Vec<NodeProc> = ids
            .iter()
            .map(|&id| NodeProc {
                id,
                dir: root.path().join(format!("n{id}")),
                client: free_addr(&mut held),
                raft: free_addr(&mut held),
                log: root.path().join(format!("n{id}.log")),
                child: None,
                paused: false,
            })
            .collect();
        let mut links = BTreeMap::new();
        for from in &nodes {
            for to in &nodes {
                if from.id != to.id {
                    links.insert((from.id, to.id), Link::start(to.raft));
                }
            }
        }
        drop(held);
        let mut c = Cluster {
            _root: root,
            secret,
            nodes,
            links,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        for id in ids {
            c.start_node(id);
        }
        let members: Vec<String> = VOTERS
            .iter()
            .map(|&id| format!("{id}={}", c.node(id).raft))
            .collect();
        let out = drkit()
            .args(["cluster", "init", "--addr", &c.node(1).raft.to_string()])
            .args(["--members", &members.join(",")])
            .arg("--cluster-secret-file")
            .arg(&c.secret)
            .output()
            .unwrap();
        assert_exit(&out, 0, "cluster init");
        let leader = c.wait_leader(Duration::from_secs(30));
        let out = drkit()
            .args(["cluster", "add-learner", "--timeout", "30s"])
            .args(["--addr", &c.node(leader).raft.to_string()])
            .args(["--id", &LEARNER.to_string()])
            .args(["--node-addr", &c.node(LEARNER).raft.to_string()])
            .arg("--cluster-secret-file")
            .arg(&c.secret)
            .output()
            .unwrap();
        assert_exit(&out, 0, "cluster add-learner");
        c
    }

    pub fn node(&self, id: u64) -> &NodeProc {
        self.nodes.iter().find(|n| n.id == id).unwrap()
    }

    fn node_mut(&mut self, id: u64) -> &mut NodeProc {
        self.nodes.iter_mut().find(|n| n.id == id).unwrap()
    }

    pub fn start_node(&mut self, id: u64) {
        let routes: Vec<String> = self
            .links
            .iter()
            .filter(|((from, _), _)| *from == id)
            .map(|((_, to), link)| format!("{to}={}", link.addr))
            .collect();
        let env = self.env.clone();
        let secret = self.secret.clone();
        let n = self.node_mut(id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&n.log)
            .unwrap();
        let mut cmd = Command::new(drkit_path());
        cmd.args(["serve", "--timing", "fast", "--data"])
            .arg(&n.dir)
            .args(["--listen", &n.client.to_string()])
            .args(["--node-id", &id.to_string()])
            .args(["--raft-listen", &n.raft.to_string()])
            .arg("--cluster-secret-file")
            .arg(&secret)
            .env_remove("DRKIT_REQUIREPASS")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for r in routes {
            cmd.args(["--raft-route", &r]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        n.child = Some(cmd.spawn().unwrap());
        n.paused = false;
        // Up once the client port answers.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(n.client).is_err() {
            if let Some(c) = n.child.as_mut()
                && let Some(status) = c.try_wait().unwrap()
            {
                panic!(
                    "node {id} exited ({status}) at start:\n{}",
                    std::fs::read_to_string(&n.log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "node {id} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self, id: u64) {
        let n = self.node_mut(id);
        if let Some(mut c) = n.child.take() {
            if n.paused {
                signal(&c, "CONT");
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        n.paused = false;
    }

    /// SIGTERM and wait for a clean exit (the node flushes and closes).
    pub fn stop(&mut self, id: u64) {
        let n = self.node_mut(id);
        if let Some(mut c) = n.child.take() {
            if n.paused {
                signal(&c, "CONT");
            }
            signal(&c, "TERM");
            let deadline = Instant::now() + Duration::from_secs(20);
            while c.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "node {id} ignored SIGTERM");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        n.paused = false;
    }

    pub fn pause(&mut self, id: u64) {
        let n = self.node_mut(id);
        signal(n.child.as_ref().unwrap(), "STOP");
        n.paused = true;
    }

    pub fn resume(&mut self, id: u64) {
        let n = self.node_mut(id);
        signal(n.child.as_ref().unwrap(), "CONT");
        n.paused = false;
    }

    /// Sets every link into or out of `id` (either direction or both).
    pub fn set_links(&self, id: u64, inbound: bool, outbound: bool, mode: Mode) {
        for ((from, to), link) in &self.links {
            if (outbound && *from == id) || (inbound && *to == id) {
                link.set(mode);
            }
        }
    }

    pub fn heal(&self) {
        for link in self.links.values() {
            link.set(Mode::Pass);
        }
    }

    /// The node that leads the highest term any running node reports, if it says so too.
    pub fn leader(&self) -> Option<u64> {
        let mut best: Option<(u64, u64)> = None;
        for n in self.nodes.iter().filter(|n| n.child.is_some() && !n.paused) {
            if let Some(info) = info_replication(n.client) {
                let term: u64 = field(&info, "cluster_term").and_then(|t| t.parse().ok())?;
                if field(&info, "cluster_role").as_deref() == Some("leader")
                    && best.is_none_or(|(t, _)| term > t)
                {
                    best = Some((term, n.id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    pub fn wait_leader(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.leader() {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn applied(&self, id: u64) -> Option<u64> {
        field(
            &info_replication(self.node(id).client)?,
            "raft_applied_index",
        )?
        .parse()
        .ok()
    }

    pub fn logs(&self) -> Vec<(u64, String)> {
        self.nodes
            .iter()
            .map(|n| (n.id, std::fs::read_to_string(&n.log).unwrap_or_default()))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.nodes.iter().map(|n| n.id).collect();
        for id in ids {
            self.kill9(id);
        }
        if std::env::var_os("DRKIT_FAULTS_KEEP").is_some() {
            let kept = self._root.path().to_path_buf();
            std::mem::forget(std::mem::replace(
                &mut self._root,
                tempfile::tempdir().unwrap(),
            ));
            eprintln!("kept the nodes' dirs and logs in {}", kept.display());
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {}", child.id());
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// INFO replication over a raw socket with a short timeout (a paused node must not stall
/// the nemesis).
fn info_replication(addr: SocketAddr) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n")
        .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // A bulk string: "$len\r\n" then the text; read until all of it is here.
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n") {
            let len: usize = head.strip_prefix('$')?.parse().ok()?;
            if body.len() >= len {
                return Some(body[..len].to_string());
            }
        }
    }
}

pub fn wal_entries(dir: &Path) -> Vec<serde_json::Value> {
    let out = drkit()
        .args(["inspect", "wal", "--json", "--hex"])
        .arg(dir.join("wal"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inspect wal {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .collect()
}
