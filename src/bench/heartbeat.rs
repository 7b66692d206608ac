//! `bench cluster`: whether disk work stalls the consensus path. The gaps between the
//! leader's messages (heartbeats, with no writes going on) as each follower receives them,
//! first idle, then while every node runs a full compaction of the same tables. Disk work
//! runs on the engine's own threads and the blocking pool, so the gaps should stay at the
//! heartbeat interval; a stall shows as a gap beyond it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::percentile;
use crate::cluster::{ClusterClient, Node, Timing};
use crate::engine::{BatchOp, Engine};
use crate::error::{Error, Result};

#[derive(Debug, Clone, serde::Serialize)]
pub struct HeartbeatRow {
    /// "idle" or "compacting".
    pub phase: String,
    /// How long the gaps were sampled, and how long the compaction ran within that.
    pub seconds: f64,
    pub busy_seconds: f64,
    /// Gaps measured, over every follower.
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The tables are filled in this many rounds, each flushed to its own table, with values of
/// [`FILL_VALUE`] bytes, [`FILL_BATCH`] to a Raft entry.
const FILL_ROUNDS: u64 = 4;
const FILL_VALUE: usize = 1000;
const FILL_BATCH: u64 = 500;

/// Fills each node's tables with about `fill_mb` MB through `leader`, then measures the gaps
/// idle and during a full compaction on every node. `nodes`: every running node; `leader_at`:
/// the leader's index there.
pub async fn gaps(
    nodes: &[&Node],
    leader_at: usize,
    leader: &ClusterClient,
    timing: Timing,
    fill_mb: u64,
) -> Result<Vec<HeartbeatRow>> {
    fill(nodes, leader, fill_mb).await?;
    // The followers apply the last fill entries with the next heartbeat; let that pass.
    tokio::time::sleep(timing.heartbeat * 2).await;
    let followers: Vec<&Node> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leader_at)
        .map(|(_, n)| *n)
        .collect();
    // Long enough for several heartbeats even when the compaction is quick.
    let at_least = timing.heartbeat * 8;
    let idle = sample(&followers, at_least, || Ok(())).await?;
    let engines: Vec<Arc<Engine>> = nodes.iter().map(|n| Arc::clone(&n.engine)).collect();
    let compact = move || {
        std::thread::scope(|s| {
            let runs: Vec<_> = engines
                .iter()
                .map(|e| s.spawn(|| e.compact_all()))
                .collect();
            for r in runs {
                r.join()
                    .map_err(|_| Error::InvalidInput("a compaction panicked".into()))??;
            }
            Ok(())
        })
    };
    let compacting = sample(&followers, at_least, compact).await?;
    Ok(vec![row("idle", idle), row("compacting", compacting)])
}

/// `len` bytes that do not compress, different for every `seed`: the compaction has real
/// work to do.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn fill(nodes: &[&Node], leader: &ClusterClient, fill_mb: u64) -> Result<()> {
    let per_round = (fill_mb * 1_000_000 / FILL_VALUE as u64 / FILL_ROUNDS).max(FILL_BATCH);
    for round in 0..FILL_ROUNDS {
        for batch in 0..per_round / FILL_BATCH {
            let ops = (0..FILL_BATCH)
                .map(|i| {
                    let n = batch * FILL_BATCH + i;
                    BatchOp::Put {
                        // The same keys each round: the compaction has versions to merge away.
                        key: format!("heartbeat:{n:09}").into_bytes(),
                        value: noise(round << 32 | n, FILL_VALUE),
                    }
                })
                .collect();
            leader
                .write(ops)
                .await
                .map_err(|e| Error::InvalidInput(format!("write refused while filling: {e}")))?;
        }
        for n in nodes {
            let engine = Arc::clone(&n.engine);
            tokio::task::spawn_blocking(move || engine.flush())
                .await
                .map_err(|e| Error::InvalidInput(format!("flush: {e}")))??;
        }
    }
    Ok(())
}

/// The gaps between the leader's messages at every follower while `work` runs on its own
/// thread, and for `at_least` in all.
async fn sample(
    followers: &[&Node],
    at_least: Duration,
    work: impl FnOnce() -> Result<()> + Send + 'static,
) -> Result<Sampled> {
    let done = Arc::new(AtomicBool::new(false));
    let watchers: Vec<_> = followers
        .iter()
        .map(|n| {
            let (contact, done) = (Arc::clone(&n.contact), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut gaps = Vec::new();
                let mut last = contact.last();
                while !done.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(1));
                    let now = contact.last();
                    if let (Some(a), Some(b)) = (last, now)
                        && b > a
                    {
                        gaps.push(b - a);
                    }
                    last = now;
                }
                gaps
            })
        })
        .collect();
    let started = Instant::now();
    let worked = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::InvalidInput(format!("bench work: {e}")));
    let took = started.elapsed();
    tokio::time::sleep(at_least.saturating_sub(took)).await;
    done.store(true, Ordering::SeqCst);
    let mut gaps = Vec::new();
    for w in watchers {
        gaps.extend(
            w.join()
                .map_err(|_| Error::InvalidInput("a watcher panicked".into()))?,
        );
    }
    worked??;
    Ok(Sampled {
        gaps,
        busy: took,
        window: started.elapsed(),
    })
}

struct Sampled {
    gaps: Vec<Duration>,
    busy: Duration,
    window: Duration,
}

fn row(phase: &str, s: Sampled) -> HeartbeatRow {
    let mut ns: Vec<u64> = s.gaps.iter().map(|g| g.as_nanos() as u64).collect();
    ns.sort_unstable();
    HeartbeatRow {
        phase: phase.into(),
        seconds: s.window.as_secs_f64(),
        busy_seconds: s.busy.as_secs_f64(),
        samples: ns.len(),
        p50_ms: percentile(&ns, 50.0) / 1e3,
        p99_ms: percentile(&ns, 99.0) / 1e3,
        max_ms: ns.last().copied().unwrap_or(0) as f64 / 1e6,
    }
}
