//! `bench cluster`: three in-process nodes on loopback, each with its own data dir, against
//! one standalone engine with `--sync always`.
//!
//! - Throughput and latency: the same concurrent writers, through the Raft log (acknowledged
//!   at majority commit plus apply) and through the engine's group commit.
//! - Replication lag: an open-loop writer at a target rate; for each write, the time from
//!   the leader's acknowledgement to each follower having applied it.
//! - Archive lag: `wal archive --follow` (in-process, polling) on a follower's dir while an
//!   open-loop writer runs; for each write, the time from the leader's acknowledgement to the
//!   archive holding it.
//! - Failover: the leader stops (its peers see what a SIGKILL shows them: silence); the time
//!   until another node leads, and until a write through it is acknowledged.
//!
//! Every node shares this process's CPUs and one disk, so the figures are a floor for
//! separate machines, and the ratio against the single node is the comparable number.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::percentile;
use crate::cluster::network::init_cluster;
use crate::cluster::{ClusterClient, ClusterNode, Node, NodeConfig, NodeId, Timing};
use crate::engine::{BatchOp, Engine, Options, SyncPolicy};
use crate::error::{Error, IoContext, Result};

const SECRET: &[u8] = b"bench cluster";

#[derive(Debug, Clone)]
pub struct ClusterBenchConfig {
    /// Writes per throughput run.
    pub writes: u64,
    pub writers: usize,
    pub value_size: usize,
    /// Target write rates for the lag runs (writes per second).
    pub lag_rates: Vec<u64>,
    pub lag_seconds: f64,
    /// The archive-lag run: writes per second, and the archiver's poll interval (None: no run).
    pub archive: Option<(u64, Duration)>,
    pub failovers: usize,
    pub timing: Timing,
    /// MB to fill each node's tables with before the heartbeat-during-compaction run (0:
    /// none).
    pub compaction_mb: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ThroughputRow {
    pub setup: String,
    pub ops_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// CPU time of this whole process (every node of the setup, the writers too) per
    /// acknowledged write, in microseconds: beside the single node's, the protocol's cost
    /// on this machine.
    pub cpu_us_per_write: f64,
    /// fsyncs per acknowledged write on each node (its log and its engine), node 1 first.
    pub fsyncs_per_write: Vec<f64>,
}

/// CPU time (user + system) this process has used: every thread, from /proc/self/stat, in
/// clock ticks of 10 ms (the kernel's USER_HZ on Linux). None elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at its closing paren.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are the 14th and 15th fields; `rest` starts at the 3rd.
    let total = ticks(11)? + ticks(12)?;
    Some(Duration::from_millis(total * 10))
}

/// What a throughput run cost: CPU and fsyncs, measured from before it to after it.
struct Cost {
    cpu: Option<Duration>,
    fsyncs: Vec<u64>,
}

impl Cost {
    fn now(fsyncs: Vec<u64>) -> Cost {
        Cost {
            cpu: process_cpu(),
            fsyncs,
        }
    }

    /// Fills `row` with the cost per write since `self`, `after` taken at its end.
    fn per_write(&self, after: &Cost, writes: u64, row: &mut ThroughputRow) {
        let w = writes.max(1) as f64;
        row.cpu_us_per_write = match (self.cpu, after.cpu) {
            (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64() * 1e6 / w,
            _ => 0.0,
        };
        row.fsyncs_per_write = self
            .fsyncs
            .iter()
            .zip(&after.fsyncs)
            .map(|(a, b)| b.saturating_sub(*a) as f64 / w)
            .collect();
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LagRow {
    pub target_per_sec: u64,
    pub achieved_per_sec: f64,
    /// One per write and follower.
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FailoverRow {
    pub round: usize,
    pub to_new_leader_ms: f64,
    pub to_first_write_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterBenchReport {
    pub writers: usize,
    pub value_size: usize,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: (u64, u64),
    pub throughput: Vec<ThroughputRow>,
    /// 3-node ops/s over single-node ops/s, with `writers` writers.
    pub throughput_ratio: f64,
    /// The same with one client pipelining `pipeline_depth` writes.
    pub pipelined_ratio: f64,
    pub pipeline_depth: usize,
    pub lag: Vec<LagRow>,
    /// From a write's acknowledgement to the archive holding it (`target_per_sec` is the
    /// write rate), with the archiver's poll interval.
    pub archive_lag: Option<LagRow>,
    pub archive_poll_ms: Option<u64>,
    pub failover: Vec<FailoverRow>,
    pub failover_median_leader_ms: f64,
    pub failover_median_write_ms: f64,
    /// Gaps between the leader's messages at the followers, idle and while every node
    /// compacts (empty: not run).
    pub heartbeats: Vec<super::heartbeat::HeartbeatRow>,
}

pub fn run_cluster(cfg: &ClusterBenchConfig) -> Result<ClusterBenchReport> {
    if cfg.writers == 0 || cfg.writes == 0 {
        return Err(Error::InvalidInput(
            "--writers and --writes must be at least 1".into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::InvalidInput(format!("cannot start a runtime: {e}")))?;
    let concurrent = Load {
        writers: cfg.writers,
        per_call: 1,
    };
    let pipelined = Load {
        writers: 1,
        per_call: PIPELINE_DEPTH,
    };
    let single = single_node(cfg, concurrent)?;
    let single_pipelined = single_node(cfg, pipelined)?;
    let (three, three_pipelined, lag, archive_lag, heartbeats) = rt.block_on(async {
        let cluster = TestCluster::start(cfg.timing).await?;
        let three = cluster.throughput(cfg, concurrent).await?;
        let three_pipelined = cluster.throughput(cfg, pipelined).await?;
        let mut lag = Vec::new();
        for &rate in &cfg.lag_rates {
            lag.push(cluster.lag(rate, cfg.lag_seconds, cfg.value_size).await?);
        }
        let archive_lag = match cfg.archive {
            Some((rate, poll)) => Some(
                cluster
                    .archive_lag(rate, cfg.lag_seconds, poll, cfg.value_size)
                    .await?,
            ),
            None => None,
        };
        let heartbeats = match cfg.compaction_mb {
            0 => Vec::new(),
            mb => cluster.heartbeat_gaps(mb).await?,
        };
        cluster.shutdown().await;
        Ok::<_, Error>((three, three_pipelined, lag, archive_lag, heartbeats))
    })?;
    let mut failover = Vec::new();
    for round in 0..cfg.failovers {
        failover.push(rt.block_on(failover_round(cfg.timing, round))?);
    }
    let median = |f: fn(&FailoverRow) -> f64| {
        let mut v: Vec<f64> = failover.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    Ok(ClusterBenchReport {
        writers: cfg.writers,
        value_size: cfg.value_size,
        heartbeat_ms: cfg.timing.heartbeat.as_millis() as u64,
        election_timeout_ms: (
            cfg.timing.election_min.as_millis() as u64,
            cfg.timing.election_max.as_millis() as u64,
        ),
        throughput_ratio: ratio(&three, &single),
        pipelined_ratio: ratio(&three_pipelined, &single_pipelined),
        pipeline_depth: PIPELINE_DEPTH,
        throughput: vec![single, three, single_pipelined, three_pipelined],
        lag,
        archive_lag,
        archive_poll_ms: cfg.archive.map(|(_, p)| p.as_millis() as u64),
        failover_median_leader_ms: median(|r| r.to_new_leader_ms),
        failover_median_write_ms: median(|r| r.to_first_write_ms),
        failover,
        heartbeats,
    })
}

/// The pipelined run's writes per call, as redis-benchmark `-P 16`.
const PIPELINE_DEPTH: usize = 16;

fn ratio(three: &ThroughputRow, single: &ThroughputRow) -> f64 {
    if single.ops_per_sec > 0.0 {
        three.ops_per_sec / single.ops_per_sec
    } else {
        0.0
    }
}

fn put(i: u64, value_size: usize) -> BatchOp {
    BatchOp::Put {
        key: format!("bench:{i:012}").into_bytes(),
        value: vec![b'v'; value_size],
    }
}

fn row(setup: &str, writes: u64, elapsed: Duration, mut latencies_ns: Vec<u64>) -> ThroughputRow {
    latencies_ns.sort_unstable();
    ThroughputRow {
        setup: setup.into(),
        ops_per_sec: writes as f64 / elapsed.as_secs_f64().max(1e-9),
        p50_us: percentile(&latencies_ns, 50.0),
        p99_us: percentile(&latencies_ns, 99.0),
        max_us: latencies_ns.last().copied().unwrap_or(0) as f64 / 1e3,
        cpu_us_per_write: 0.0,
        fsyncs_per_write: Vec::new(),
    }
}

/// The baseline: one engine, `--sync always`, the same writers.
/// How the throughput runs write: `writers` concurrent writers, each sending `per_call`
/// writes at once and waiting for them (16 is redis-benchmark's `-P 16`: a pipelined
/// client's writes are one group commit, in serve as here).
#[derive(Debug, Clone, Copy)]
struct Load {
    writers: usize,
    per_call: usize,
}

impl Load {
    fn name(self, setup: &str) -> String {
        if self.per_call > 1 {
            format!("{setup}, {} x{} pipelined", self.writers, self.per_call)
        } else {
            format!("{setup}, {} writers", self.writers)
        }
    }
}

/// The next call's writes: up to `per_call` numbers below `total`, none when they are used up.
fn take(next: &std::sync::atomic::AtomicU64, per_call: usize, total: u64) -> std::ops::Range<u64> {
    let first = next.fetch_add(per_call as u64, std::sync::atomic::Ordering::Relaxed);
    first.min(total)..(first + per_call as u64).min(total)
}

fn single_node(cfg: &ClusterBenchConfig, load: Load) -> Result<ThroughputRow> {
    let tmp = tempfile::tempdir().at(&std::env::temp_dir())?;
    let engine = Engine::open(
        tmp.path(),
        Options {
            sync: SyncPolicy::Always,
            ..Options::default()
        },
    )?;
    let next = std::sync::atomic::AtomicU64::new(0);
    let engine_fsyncs = || {
        vec![
            engine
                .stats()
                .fsyncs
                .load(std::sync::atomic::Ordering::Relaxed),
        ]
    };
    let before = Cost::now(engine_fsyncs());
    let started = Instant::now();
    let latencies = std::thread::scope(|s| {
        let handles: Vec<_> = (0..load.writers)
            .map(|_| {
                s.spawn(|| -> Result<Vec<u64>> {
                    let mut lat = Vec::new();
                    loop {
                        let ids = take(&next, load.per_call, cfg.writes);
                        if ids.is_empty() {
                            return Ok(lat);
                        }
                        let t = Instant::now();
                        engine.write_batch(ids.map(|i| put(i, cfg.value_size)).collect())?;
                        lat.push(t.elapsed().as_nanos() as u64);
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| Error::InvalidInput("a writer thread panicked".into()))??,
            );
        }
        Ok::<_, Error>(all)
    })?;
    let mut r = row(
        &load.name("single node (sync always)"),
        cfg.writes,
        started.elapsed(),
        latencies,
    );
    before.per_write(&Cost::now(engine_fsyncs()), cfg.writes, &mut r);
    Ok(r)
}

/// (log index, when it was acknowledged or first seen applied), in time order.
type Timeline = Arc<Mutex<Vec<(u64, Instant)>>>;

struct TestCluster {
    _dirs: Vec<tempfile::TempDir>,
    nodes: Vec<Option<Node>>,
    clients: Vec<Option<ClusterClient>>,
    timing: Timing,
}

impl TestCluster {
    async fn start(timing: Timing) -> Result<TestCluster> {
        let mut dirs = Vec::new();
        let mut nodes = Vec::new();
        for id in 1..=3u64 {
            let dir = tempfile::tempdir().at(&std::env::temp_dir())?;
            nodes.push(Some(
                Node::start(NodeConfig {
                    data_dir: dir.path().to_path_buf(),
                    node_id: id,
                    raft_listen: "127.0.0.1:0".into(),
                    client_addr: String::new(),
                    secret: SECRET.to_vec(),
                    timing,
                    engine: Options {
                        sync: SyncPolicy::Always,
                        ..Options::default()
                    },
                    routes: BTreeMap::new(),
                })
                .await?,
            ));
            dirs.push(dir);
        }
        let members: BTreeMap<NodeId, ClusterNode> = nodes
            .iter()
            .flatten()
            .map(|n| {
                (
                    n.identity.node_id,
                    ClusterNode {
                        raft_addr: n.raft_addr.to_string(),
                        client_addr: String::new(),
                    },
                )
            })
            .collect();
        // As `drkit cluster init` does it, so the nodes adopt a cluster id.
        let first = nodes[0]
            .as_ref()
            .map(|n| n.raft_addr.to_string())
            .unwrap_or_default();
        init_cluster(&first, SECRET, members)
            .await
            .map_err(Error::InvalidInput)?;
        let handle = tokio::runtime::Handle::current();
        let clients = nodes
            .iter()
            .flatten()
            .map(|n| Some(ClusterClient::new(n, handle.clone())))
            .collect();
        let c = TestCluster {
            _dirs: dirs,
            nodes,
            clients,
            timing,
        };
        c.wait_leader(None).await?;
        Ok(c)
    }

    /// The index (into `nodes`) of the node that leads, other than `not`.
    async fn wait_leader(&self, not: Option<usize>) -> Result<usize> {
        let deadline = Instant::now() + self.timing.election_max * 20 + Duration::from_secs(10);
        loop {
            for (i, n) in self.nodes.iter().enumerate() {
                if let Some(n) = n
                    && Some(i) != not
                    && n.status().role == "leader"
                {
                    return Ok(i);
                }
            }
            if Instant::now() > deadline {
                return Err(Error::InvalidInput("no leader was elected".into()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn client(&self, i: usize) -> Result<ClusterClient> {
        self.clients[i]
            .clone()
            .ok_or_else(|| Error::InvalidInput("that node is stopped".into()))
    }

    async fn throughput(&self, cfg: &ClusterBenchConfig, load: Load) -> Result<ThroughputRow> {
        let leader = self.client(self.wait_leader(None).await?)?;
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let before = Cost::now(self.fsyncs());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..load.writers {
            let (leader, next) = (leader.clone(), Arc::clone(&next));
            let (writes, value_size) = (cfg.writes, cfg.value_size);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let ids = take(&next, load.per_call, writes);
                    if ids.is_empty() {
                        return Ok::<_, Error>(lat);
                    }
                    let t = Instant::now();
                    leader
                        .write(ids.map(|i| put(i, value_size)).collect())
                        .await
                        .map_err(|e| Error::InvalidInput(format!("write refused: {e}")))?;
                    lat.push(t.elapsed().as_nanos() as u64);
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(
                t.await
                    .map_err(|e| Error::InvalidInput(format!("writer: {e}")))??,
            );
        }
        let mut r = row(
            &load.name("3 nodes (majority commit)"),
            cfg.writes,
            started.elapsed(),
            all,
        );
        before.per_write(&Cost::now(self.fsyncs()), cfg.writes, &mut r);
        Ok(r)
    }

    /// See [`super::heartbeat`].
    async fn heartbeat_gaps(&self, fill_mb: u64) -> Result<Vec<super::heartbeat::HeartbeatRow>> {
        let li = self.wait_leader(None).await?;
        let leader = self.client(li)?;
        let running: Vec<(usize, &Node)> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n)))
            .collect();
        let at = running
            .iter()
            .position(|(i, _)| *i == li)
            .ok_or_else(|| Error::InvalidInput("the leader is not running".into()))?;
        let nodes: Vec<&Node> = running.iter().map(|(_, n)| *n).collect();
        super::heartbeat::gaps(&nodes, at, &leader, self.timing, fill_mb).await
    }

    /// Each running node's fsyncs so far: its Raft log's and its engine's (flushes).
    fn fsyncs(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .flatten()
            .map(|n| {
                n.log.fsyncs()
                    + n.engine
                        .stats()
                        .fsyncs
                        .load(std::sync::atomic::Ordering::Relaxed)
            })
            .collect()
    }

    /// Writes at `rate` per second for `seconds`, each as its own task (open loop, so a slow
    /// acknowledgement does not lower the rate), and measures how long after each leader
    /// acknowledgement every follower had applied that write.
    async fn lag(&self, rate: u64, seconds: f64, value_size: usize) -> Result<LagRow> {
        let li = self.wait_leader(None).await?;
        let leader = self.client(li)?;
        // Follower applied-index watchers: (index, when first seen applied).
        let mut seen: Vec<Timeline> = Vec::new();
        let mut watchers = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let Some(n) = n else { continue };
            if i == li {
                continue;
            }
            let log = Arc::new(Mutex::new(Vec::new()));
            seen.push(Arc::clone(&log));
            let mut metrics = n.raft.metrics();
            watchers.push(tokio::spawn(async move {
                loop {
                    let applied = metrics
                        .borrow_and_update()
                        .last_applied
                        .map_or(0, |l| l.index);
                    lock(&log).push((applied, Instant::now()));
                    if metrics.changed().await.is_err() {
                        return;
                    }
                }
            }));
        }
        let total = ((rate as f64) * seconds).max(1.0) as u64;
        let acks: Timeline = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..total {
            let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let (leader, acks) = (leader.clone(), Arc::clone(&acks));
            tasks.push(tokio::spawn(async move {
                if let Ok(index) = leader.write(vec![put(1 << 40 | i, value_size)]).await {
                    lock(&acks).push((index, Instant::now()));
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = started.elapsed();
        // Let the followers catch up before reading their logs.
        tokio::time::sleep(self.timing.heartbeat * 4 + Duration::from_millis(200)).await;
        for w in watchers {
            w.abort();
        }
        let acks = lock(&acks).clone();
        let mut lags_ns = Vec::new();
        for log in &seen {
            let log = lock(log).clone();
            for (index, acked) in &acks {
                let applied_at = log.iter().find(|(a, _)| a >= index).map(|(_, t)| *t);
                if let Some(t) = applied_at {
                    lags_ns.push(t.saturating_duration_since(*acked).as_nanos() as u64);
                }
            }
        }
        lags_ns.sort_unstable();
        let ms = |p: f64| percentile(&lags_ns, p) / 1e3;
        Ok(LagRow {
            target_per_sec: rate,
            achieved_per_sec: acks.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            samples: lags_ns.len(),
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            max_ms: lags_ns.last().copied().unwrap_or(0) as f64 / 1e6,
        })
    }

    /// Writes at `rate` per second for `seconds` while an archiver polls a follower's dir
    /// every `poll` into a scratch repository; for each write, the time from its
    /// acknowledgement to the end of the first archiver pass that holds it.
    async fn archive_lag(
        &self,
        rate: u64,
        seconds: f64,
        poll: Duration,
        value_size: usize,
    ) -> Result<LagRow> {
        let li = self.wait_leader(None).await?;
        let fi = (0..self.nodes.len())
            .find(|i| *i != li && self.nodes[*i].is_some())
            .ok_or_else(|| Error::InvalidInput("no follower to archive from".into()))?;
        let data = self._dirs[fi].path().to_path_buf();
        let repo = tempfile::tempdir().at(&std::env::temp_dir())?;
        let mut archiver = crate::backup::archive::Archiver::open(
            &repo.path().join("repo").into(),
            &data,
            crate::backup::archive::ArchiveOptions {
                compress_level: 3,
                lock_wait: Duration::ZERO,
            },
        )?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let passes: Timeline = Arc::new(Mutex::new(Vec::new()));
        let pass_thread = {
            let (stop, passes) = (Arc::clone(&stop), Arc::clone(&passes));
            std::thread::spawn(move || -> Result<()> {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = archiver.run(true)?;
                    if let Some((_, end)) = r.range {
                        lock(&passes).push((end, Instant::now()));
                    }
                    std::thread::sleep(poll);
                }
                Ok(())
            })
        };
        let leader = self.client(li)?;
        let total = ((rate as f64) * seconds).max(1.0) as u64;
        let acks: Timeline = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..total {
            let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let (leader, acks) = (leader.clone(), Arc::clone(&acks));
            tasks.push(tokio::spawn(async move {
                if let Ok(index) = leader.write(vec![put(2 << 40 | i, value_size)]).await {
                    lock(&acks).push((index, Instant::now()));
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = started.elapsed();
        // Long enough for the commit index to be recorded and a few passes to run.
        tokio::time::sleep(poll * 4 + Duration::from_millis(500)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        pass_thread
            .join()
            .map_err(|_| Error::InvalidInput("the archiver thread panicked".into()))??;
        let passes = lock(&passes).clone();
        let acks = lock(&acks).clone();
        let mut lags_ns: Vec<u64> = acks
            .iter()
            .filter_map(|(index, acked)| {
                let t = passes.iter().find(|(end, t)| end >= index && t >= acked)?.1;
                Some(t.saturating_duration_since(*acked).as_nanos() as u64)
            })
            .collect();
        lags_ns.sort_unstable();
        let ms = |p: f64| percentile(&lags_ns, p) / 1e3;
        Ok(LagRow {
            target_per_sec: rate,
            achieved_per_sec: acks.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            samples: lags_ns.len(),
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            max_ms: lags_ns.last().copied().unwrap_or(0) as f64 / 1e6,
        })
    }

    async fn shutdown(mut self) {
        self.clients.clear();
        for n in self.nodes.iter_mut().filter_map(Option::take) {
            n.shutdown().await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fresh cluster, some writes, then the leader stops at once; times the takeover.
async fn failover_round(timing: Timing, round: usize) -> Result<FailoverRow> {
    let mut c = TestCluster::start(timing).await?;
    let li = c.wait_leader(None).await?;
    let leader = c.client(li)?;
    for i in 0..100 {
        leader
            .write(vec![put(i, 100)])
            .await
            .map_err(|e| Error::InvalidInput(format!("write refused: {e}")))?;
    }
    drop(leader);
    c.clients[li] = None;
    let old = c.nodes[li]
        .take()
        .ok_or_else(|| Error::InvalidInput("no leader node".into()))?;
    let stopped = Instant::now();
    old.shutdown().await;
    let new = c.wait_leader(Some(li)).await?;
    let to_leader = stopped.elapsed();
    let client = c.client(new)?;
    let deadline = Instant::now() + timing.election_max * 20;
    loop {
        match client.write(vec![put(1 << 41, 100)]).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => {
                return Err(Error::InvalidInput(format!(
                    "no write acknowledged after failover: {e}"
                )));
            }
        }
    }
    let to_write = stopped.elapsed();
    c.shutdown().await;
    Ok(FailoverRow {
        round,
        to_new_leader_ms: to_leader.as_secs_f64() * 1e3,
        to_first_write_ms: to_write.as_secs_f64() * 1e3,
    })
}
