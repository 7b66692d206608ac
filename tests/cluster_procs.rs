//! Cluster nodes as real `drkit serve --node-id` processes, for the cluster tests.

use super::common::*;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct ClusterNodeProc {
    pub id: u64,
    pub dir: PathBuf,
    pub client_port: u16,
    pub raft_port: u16,
    pub child: Option<Child>,
}

impl ClusterNodeProc {
    pub fn start(&mut self, secret: &Path) {
        if let Err(why) = self.try_start(secret) {
            panic!("node {} did not start: {why}", self.id);
        }
    }

    /// A first start: ports found free a moment ago may have been taken since (another
    /// test's node, or a connection's source port), so a bind failure picks new ones.
    pub fn start_new(&mut self, secret: &Path) {
        for _ in 0..5 {
            match self.try_start(secret) {
                Ok(()) => return,
                Err(why) if why.contains("in use") => {
                    self.client_port = free_port();
                    self.raft_port = free_port();
                }
                Err(why) => panic!("node {} did not start: {why}", self.id),
            }
        }
        panic!("node {} found no free ports", self.id);
    }

    fn try_start(&mut self, secret: &Path) -> Result<(), String> {
        let log = self.dir.with_extension("stderr.log");
        let mut child = Command::new(drkit_path())
            .args(["serve", "--json", "--timing", "fast", "--data"])
            .arg(&self.dir)
            .args(["--listen", &format!("127.0.0.1:{}", self.client_port)])
            .args(["--node-id", &self.id.to_string()])
            .args(["--raft-listen", &self.raft_addr()])
            .arg("--cluster-secret-file")
            .arg(secret)
            .env_remove("DRKIT_REQUIREPASS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if !line.contains("listening") {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{line:?} {err}"));
        }
        self.child = Some(child);
        Ok(())
    }

    pub fn raft_addr(&self) -> String {
        format!("127.0.0.1:{}", self.raft_port)
    }

    pub fn redis(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.client_port))
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ClusterNodeProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn status_json(addr: &str, secret: &Path) -> Option<serde_json::Value> {
    let out = drkit()
        .args([
            "cluster",
            "status",
            "--json",
            "--timeout",
            "2s",
            "--addr",
            addr,
        ])
        .arg("--cluster-secret-file")
        .arg(secret)
        .output()
        .unwrap();
    out.status.success().then(|| json_report(&out.stdout))
}

/// The leader's id as `addr` reports it, once every reachable node agrees on one.
pub fn wait_leader(addr: &str, secret: &Path, not: Option<u64>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = status_json(addr, secret) {
            let leader = v["nodes"].as_array().unwrap().iter().find_map(|n| {
                (n["status"]["role"] == "leader").then(|| n["node_id"].as_u64().unwrap())
            });
            if let Some(l) = leader
                && Some(l) != not
            {
                return l;
            }
        }
        assert!(Instant::now() < deadline, "no leader within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn set(c: &mut redis::Connection, k: &str, v: &str) -> redis::RedisResult<()> {
    redis::cmd("SET").arg(k).arg(v).query(c)
}
