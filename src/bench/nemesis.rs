//! `drkit bench cluster --nemesis`: write outages under a sequence of faults.
//!
//! Three `drkit serve --node-id` processes on loopback, each peer link through a [`Link`]
//! that can be cut, and a steady paced write load from a few clients that follow `MOVED`
//! and move on from a node that does not answer, as a real client would. Each round injects,
//! one after the other: pause the leader (SIGSTOP) and resume it, kill the leader (SIGKILL)
//! and restart it, pause a follower, partition the leader from both peers and heal.
//!
//! Measured from the clients' side: an outage is a gap of at least [`OUTAGE_MIN`] between two
//! acknowledged writes. At the end every acknowledged write is read back through the leader
//! (0 may be lost), and the nodes' logs say which node led each term (one per term).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::cluster_demo::{Answer, Client, NodeProc, SECRET, free_addrs, init};
use super::link::Link;
use crate::cluster::{NodeId, Timing};
use crate::error::{Error, IoContext, Result};

/// A gap between acknowledged writes this long is an outage; shorter ones are the load's
/// own pauses (a slow fsync, a busy machine).
pub const OUTAGE_MIN: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct NemesisConfig {
    /// Where the nodes' dirs and logs go (kept). None: a temporary dir, removed at the end
    /// unless the run fails.
    pub dir: Option<PathBuf>,
    /// The drkit binary, started as each node.
    pub exe: PathBuf,
    pub rounds: usize,
    /// `serve --timing`: "default" or "fast".
    pub timing_profile: String,
    pub timing: Timing,
    /// Acknowledged writes per second the clients aim at, all together.
    pub rate: u64,
    pub clients: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    PauseLeader,
    KillLeader,
    PauseFollower,
    PartitionLeader,
}

impl Fault {
    const ROUND: [Fault; 4] = [
        Fault::PauseLeader,
        Fault::KillLeader,
        Fault::PauseFollower,
        Fault::PartitionLeader,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::PauseLeader => "pause leader",
            Fault::KillLeader => "kill leader",
            Fault::PauseFollower => "pause follower",
            Fault::PartitionLeader => "partition leader",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FaultRow {
    pub round: usize,
    pub fault: Fault,
    pub node: NodeId,
    /// Seconds since the load started.
    pub at_s: f64,
    pub held_ms: f64,
    /// The longest outage that ended between this fault and the next (0: none).
    pub outage_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Outage {
    pub at_s: f64,
    pub ms: f64,
    /// The fault injected last before it ended: the one that caused it.
    pub after: Option<Fault>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct NemesisReport {
    pub rounds: usize,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: (u64, u64),
    pub seconds: f64,
    pub acknowledged: u64,
    pub lost: u64,
    /// e.g. "term 7: nodes 1 and 3"; empty when every term had at most one leader.
    pub two_leaders: Vec<String>,
    pub final_term: u64,
    pub terms_with_leader: usize,
    pub longest_outage_ms: f64,
    pub p50_outage_ms: f64,
    pub p99_outage_ms: f64,
    pub faults: Vec<FaultRow>,
    pub outages: Vec<Outage>,
}

/// What the clients share: when each write was acknowledged, and which.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    acks: Mutex<Vec<Instant>>,
    /// (client, write number) of every acknowledged write.
    acked: Mutex<Vec<(usize, u64)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key(client: usize, i: u64) -> String {
    format!("nemesis:{client}:{i:09}")
}

/// The nodes, their links and where their logs go. Node `i` reaches node `j` through
/// `links[i][j]`.
struct Nodes {
    procs: Vec<NodeProc>,
    links: Vec<BTreeMap<usize, Link>>,
    paused: BTreeSet<usize>,
    exe: PathBuf,
    secret: PathBuf,
}

pub fn run_nemesis(cfg: &NemesisConfig, step: &mut dyn FnMut(&str)) -> Result<NemesisReport> {
    let tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
    let root = match &cfg.dir {
        Some(d) => {
            std::fs::create_dir_all(d).at(d)?;
            d.clone()
        }
        None => tmp.path().to_path_buf(),
    };
    let mut nodes = Nodes::start(&root, cfg)?;
    let result = run_rounds(cfg, &mut nodes, step);
    nodes.stop_all();
    if result.is_err() && cfg.dir.is_none() {
        // The nodes' logs are what explains a failure: keep them.
        let kept = tmp.keep();
        return result.map_err(|e| {
            Error::InvalidInput(format!(
                "{e} (node dirs and logs kept in {})",
                kept.display()
            ))
        });
    }
    result
}

fn run_rounds(
    cfg: &NemesisConfig,
    nodes: &mut Nodes,
    step: &mut dyn FnMut(&str),
) -> Result<NemesisReport> {
    let load = Arc::new(Load::default());
    let addrs: Vec<SocketAddr> = nodes.procs.iter().map(|n| n.client).collect();
    let started = Instant::now();
    let clients: Vec<_> = (0..cfg.clients.max(1))
        .map(|c| {
            let (load, addrs) = (Arc::clone(&load), addrs.clone());
            let interval =
                Duration::from_secs_f64(cfg.clients.max(1) as f64 / cfg.rate.max(1) as f64);
            let timeout = cfg.timing.election_min;
            std::thread::spawn(move || write_steadily(c, &addrs, interval, timeout, &load))
        })
        .collect();
    let hold = cfg.timing.election_max * 5 / 2;
    let mut faults = Vec::new();
    let outcome = (|| -> Result<()> {
        wait_for_writes(&load, Instant::now(), Duration::from_secs(60), "at start")?;
        for round in 0..cfg.rounds {
            for fault in Fault::ROUND {
                let leader = nodes.leader(cfg.timing)?;
                let at = Instant::now();
                let node = nodes.inject(fault, leader)?;
                step(&format!(
                    "round {}/{}: {} (node {})",
                    round + 1,
                    cfg.rounds,
                    fault.name(),
                    nodes.procs[node].id
                ));
                std::thread::sleep(hold);
                let healed = Instant::now();
                nodes.heal(fault, node)?;
                faults.push((round, fault, nodes.procs[node].id, at, healed - at));
                wait_for_writes(&load, healed, Duration::from_secs(60), fault.name())?;
                // Let the cluster settle (a restarted node catches up) before the next one.
                std::thread::sleep(cfg.timing.election_max);
            }
        }
        Ok(())
    })();
    load.stop.store(true, Ordering::SeqCst);
    for c in clients {
        let _ = c.join();
    }
    outcome?;
    let seconds = started.elapsed().as_secs_f64();
    let leader = nodes.leader(cfg.timing)?;
    let lost = count_lost(&nodes.procs[leader], &lock(&load.acked))?;
    let leaders = leaders_by_term(&nodes.procs)?;
    let outages = outages(&lock(&load.acks), started, &faults);
    Ok(report(
        cfg, seconds, &load, lost, &leaders, outages, &faults, started,
    ))
}

#[allow(clippy::too_many_arguments)]
fn report(
    cfg: &NemesisConfig,
    seconds: f64,
    load: &Load,
    lost: u64,
    leaders: &BTreeMap<u64, BTreeSet<NodeId>>,
    outages: Vec<Outage>,
    faults: &[(usize, Fault, NodeId, Instant, Duration)],
    started: Instant,
) -> NemesisReport {
    let mut ms: Vec<f64> = outages.iter().map(|o| o.ms).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if ms.is_empty() {
            0.0
        } else {
            ms[((p / 100.0 * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1]
        }
    };
    let rows = faults
        .iter()
        .enumerate()
        .map(|(i, &(round, fault, node, at, held))| {
            let from = at.duration_since(started).as_secs_f64();
            let to = faults
                .get(i + 1)
                .map_or(f64::MAX, |f| f.3.duration_since(started).as_secs_f64());
            FaultRow {
                round,
                fault,
                node,
                at_s: from,
                held_ms: held.as_secs_f64() * 1e3,
                outage_ms: outages
                    .iter()
                    .filter(|o| (from..to).contains(&(o.at_s + o.ms / 1e3)))
                    .map(|o| o.ms)
                    .fold(0.0, f64::max),
            }
        })
        .collect();
    NemesisReport {
        rounds: cfg.rounds,
        heartbeat_ms: cfg.timing.heartbeat.as_millis() as u64,
        election_timeout_ms: (
            cfg.timing.election_min.as_millis() as u64,
            cfg.timing.election_max.as_millis() as u64,
        ),
        seconds,
        acknowledged: lock(&load.acked).len() as u64,
        lost,
        two_leaders: leaders
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(t, ids)| {
                let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                format!("term {t}: nodes {}", ids.join(" and "))
            })
            .collect(),
        final_term: leaders.keys().next_back().copied().unwrap_or(0),
        terms_with_leader: leaders.len(),
        longest_outage_ms: ms.last().copied().unwrap_or(0.0),
        p50_outage_ms: pct(50.0),
        p99_outage_ms: pct(99.0),
        faults: rows,
        outages,
    }
}

/// One client: a write every `interval`, each retried until acknowledged (on whichever node
/// leads), giving up on a node that does not answer within `timeout`.
fn write_steadily(
    client: usize,
    addrs: &[SocketAddr],
    interval: Duration,
    timeout: Duration,
    load: &Load,
) {
    let mut at = client % addrs.len();
    let mut conn: Option<Client> = None;
    let mut next = Instant::now();
    for i in 0.. {
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        next = next.max(Instant::now() - interval) + interval;
        let k = key(client, i);
        let v = i.to_string();
        loop {
            if load.stop.load(Ordering::SeqCst) {
                return;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match Client::connect_within(addrs[at], timeout) {
                    Ok(c) => conn.insert(c),
                    Err(_) => {
                        at = (at + 1) % addrs.len();
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                },
            };
            match c.call(&[b"SET", k.as_bytes(), v.as_bytes()]) {
                Ok(Answer::Value(_)) => {
                    lock(&load.acks).push(Instant::now());
                    lock(&load.acked).push((client, i));
                    break;
                }
                Ok(Answer::Refused(e)) => {
                    // "MOVED 0 host:port": the leader's client address.
                    let moved = e
                        .strip_prefix("MOVED ")
                        .and_then(|r| r.split_whitespace().nth(1))
                        .and_then(|a| a.parse::<SocketAddr>().ok())
                        .and_then(|a| addrs.iter().position(|x| *x == a));
                    match moved {
                        Some(p) => at = p,
                        None => std::thread::sleep(Duration::from_millis(20)),
                    }
                    conn = None;
                }
                Err(_) => {
                    at = (at + 1) % addrs.len();
                    conn = None;
                }
            }
        }
    }
}

/// Waits for a write acknowledged after `since`.
fn wait_for_writes(load: &Load, since: Instant, within: Duration, after: &str) -> Result<()> {
    let deadline = Instant::now() + within;
    while lock(&load.acks).last().is_none_or(|t| *t < since) {
        if Instant::now() > deadline {
            return Err(Error::InvalidInput(format!(
                "no write was acknowledged within {} s ({after})",
                within.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// Gaps of at least [`OUTAGE_MIN`] between acknowledged writes, each with the fault injected
/// last before it ended (a gap begins at the last write before the fault).
fn outages(
    acks: &[Instant],
    started: Instant,
    faults: &[(usize, Fault, NodeId, Instant, Duration)],
) -> Vec<Outage> {
    let mut times = acks.to_vec();
    times.sort();
    times
        .windows(2)
        .filter(|w| w[1] - w[0] >= OUTAGE_MIN)
        .map(|w| Outage {
            at_s: w[0].duration_since(started).as_secs_f64(),
            ms: (w[1] - w[0]).as_secs_f64() * 1e3,
            after: faults.iter().rev().find(|f| f.3 <= w[1]).map(|f| f.1),
        })
        .collect()
}

/// Acknowledged writes the leader does not return. One linearizable read first: once it is
/// answered the leader has applied every write acknowledged before, so the rest are read
/// from its state as it is (READONLY), in pipelined chunks, without a quorum round each.
fn count_lost(leader: &NodeProc, acked: &[(usize, u64)]) -> Result<u64> {
    let mut c = Client::connect(leader.client)?;
    let refused = |e: String| {
        Error::InvalidInput(format!(
            "node {} refused a read while checking: {e}",
            leader.id
        ))
    };
    if let Answer::Refused(e) = c.call(&[b"GET", b"nemesis:barrier"])? {
        return Err(refused(e));
    }
    if let Answer::Refused(e) = c.call(&[b"READONLY"])? {
        return Err(refused(e));
    }
    let mut lost = 0;
    for chunk in acked.chunks(1000) {
        let cmds: Vec<Vec<Vec<u8>>> = chunk
            .iter()
            .map(|&(client, i)| vec![b"GET".to_vec(), key(client, i).into_bytes()])
            .collect();
        for (&(_, i), answer) in chunk.iter().zip(c.call_pipelined(&cmds)?) {
            match answer {
                Answer::Value(Some(v)) if v == i.to_string() => {}
                Answer::Value(_) => lost += 1,
                Answer::Refused(e) => return Err(refused(e)),
            }
        }
    }
    Ok(lost)
}

/// Which nodes said they led each term, from their logs ("node N is the leader of term T").
fn leaders_by_term(procs: &[NodeProc]) -> Result<BTreeMap<u64, BTreeSet<NodeId>>> {
    let mut by_term: BTreeMap<u64, BTreeSet<NodeId>> = BTreeMap::new();
    for n in procs {
        let path = n.dir.with_extension("log");
        let text = std::fs::read_to_string(&path).at(&path)?;
        for line in text.lines() {
            let Some(rest) = line.split("is the leader of term ").nth(1) else {
                continue;
            };
            let term: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(t) = term.parse() {
                by_term.entry(t).or_default().insert(n.id);
            }
        }
    }
    Ok(by_term)
}

impl Nodes {
    fn start(root: &Path, cfg: &NemesisConfig) -> Result<Nodes> {
        let secret = root.join("cluster-secret");
        std::fs::write(&secret, format!("{SECRET}\n")).at(&secret)?;
        let addrs = free_addrs(6)?;
        let raft: Vec<SocketAddr> = (0..3).map(|i| addrs[2 * i + 1]).collect();
        let mut links = Vec::new();
        for i in 0..3 {
            let mut mine = BTreeMap::new();
            for (j, to) in raft.iter().enumerate().filter(|(j, _)| *j != i) {
                mine.insert(j, Link::start(*to)?);
            }
            links.push(mine);
        }
        let procs = (0..3)
            .map(|i| {
                let mut extra_args = vec!["--timing".to_string(), cfg.timing_profile.clone()];
                for (j, link) in &links[i] {
                    extra_args.push("--raft-route".into());
                    extra_args.push(format!("{}={}", j + 1, link.addr()));
                }
                NodeProc {
                    id: i as NodeId + 1,
                    dir: root.join(format!("node{}", i + 1)),
                    client: addrs[2 * i],
                    raft: raft[i],
                    child: None,
                    extra_args,
                }
            })
            .collect();
        let mut nodes = Nodes {
            procs,
            links,
            paused: BTreeSet::new(),
            exe: cfg.exe.clone(),
            secret,
        };
        for n in &mut nodes.procs {
            n.start(&nodes.exe, &nodes.secret)?;
        }
        init(&nodes.procs)?;
        Ok(nodes)
    }

    /// The index of the node that leads now, among those running and not paused.
    fn leader(&self, timing: Timing) -> Result<usize> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for (i, n) in self.procs.iter().enumerate() {
                if n.child.is_none() || self.paused.contains(&i) {
                    continue;
                }
                if role(n, timing.election_min).as_deref() == Some("leader") {
                    return Ok(i);
                }
            }
            if Instant::now() > deadline {
                return Err(Error::InvalidInput("no leader within 60 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Injects `fault`; returns the node it hit.
    fn inject(&mut self, fault: Fault, leader: usize) -> Result<usize> {
        match fault {
            Fault::PauseLeader => {
                self.signal(leader, rustix::process::Signal::STOP)?;
                Ok(leader)
            }
            Fault::PauseFollower => {
                let follower = (leader + 1) % self.procs.len();
                self.signal(follower, rustix::process::Signal::STOP)?;
                Ok(follower)
            }
            Fault::KillLeader => {
                if let Some(mut c) = self.procs[leader].child.take() {
                    c.kill().at(&self.exe)?;
                    let _ = c.wait();
                }
                Ok(leader)
            }
            Fault::PartitionLeader => {
                for (i, links) in self.links.iter().enumerate() {
                    for (j, link) in links {
                        if i == leader || *j == leader {
                            link.cut();
                        }
                    }
                }
                Ok(leader)
            }
        }
    }

    fn heal(&mut self, fault: Fault, node: usize) -> Result<()> {
        match fault {
            Fault::PauseLeader | Fault::PauseFollower => {
                self.signal(node, rustix::process::Signal::CONT)
            }
            Fault::KillLeader => {
                let (exe, secret) = (self.exe.clone(), self.secret.clone());
                self.procs[node].start(&exe, &secret)
            }
            Fault::PartitionLeader => {
                for link in self.links.iter().flat_map(BTreeMap::values) {
                    link.heal();
                }
                Ok(())
            }
        }
    }

    fn signal(&mut self, node: usize, sig: rustix::process::Signal) -> Result<()> {
        let Some(child) = self.procs[node].child.as_ref() else {
            return Err(Error::InvalidInput(format!(
                "node {} is not running",
                self.procs[node].id
            )));
        };
        let pid = rustix::process::Pid::from_child(child);
        rustix::process::kill_process(pid, sig)
            .map_err(|e| Error::InvalidInput(format!("cannot signal pid {pid:?}: {e}")))?;
        if sig == rustix::process::Signal::STOP {
            self.paused.insert(node);
        } else {
            self.paused.remove(&node);
        }
        Ok(())
    }

    fn stop_all(&mut self) {
        for i in self.paused.clone() {
            let _ = self.signal(i, rustix::process::Signal::CONT);
        }
        for n in &mut self.procs {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The node's role from INFO, or None when it does not answer within `timeout`.
fn role(n: &NodeProc, timeout: Duration) -> Option<String> {
    let mut c = Client::connect_within(n.client, timeout).ok()?;
    match c.call(&[b"INFO", b"replication"]).ok()? {
        Answer::Value(Some(text)) => text
            .lines()
            .find_map(|l| l.strip_prefix("cluster_role:"))
            .map(|r| r.trim().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_the_long_gaps_named_by_the_fault_before_them() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let acks = vec![ms(0), ms(10), ms(20), ms(900), ms(910), ms(1000), ms(1250)];
        let faults = vec![
            (0, Fault::PauseLeader, 1, ms(15), Duration::from_millis(500)),
            (0, Fault::KillLeader, 2, ms(950), Duration::from_millis(500)),
        ];
        let found = outages(&acks, t0, &faults);
        assert_eq!(found.len(), 2);
        assert!((found[0].ms - 880.0).abs() < 1e-6);
        assert_eq!(found[0].after, Some(Fault::PauseLeader));
        assert!((found[1].ms - 250.0).abs() < 1e-6);
        assert_eq!(found[1].after, Some(Fault::KillLeader));
    }
}
