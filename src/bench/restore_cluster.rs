//! `bench restore --cluster-nodes N`: what restoring one backup as each node of a new
//! cluster costs beside a standalone restore of the same backup, in the same run.
//!
//! Each node's restore runs alone, as it would on its own machine: the figure is the time
//! per node (a cluster's nodes restore in parallel on their machines), beside the
//! standalone restore's. Pairs alternate their order (standalone first, then the nodes
//! first), and the medians are reported: this machine's speed drifts, a ratio within one
//! run does not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::backup::{BackupBenchConfig, Place, ensure_backup};
use crate::backup::Repo;
use crate::backup::restore::{self, RestoreOptions};
use crate::cluster::{ClusterNode, NodeId};
use crate::error::{IoContext, Result};

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterRestoreReport {
    pub backup_id: String,
    pub bytes: u64,
    pub nodes: usize,
    pub pairs: usize,
    /// Every standalone restore and every node restore, in seconds, in the order run.
    pub standalone_seconds: Vec<f64>,
    pub node_seconds: Vec<f64>,
    pub standalone_median: f64,
    pub node_median: f64,
    /// Node restore over standalone restore (medians).
    pub ratio: f64,
    pub build_seconds: f64,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn members(n: usize) -> BTreeMap<NodeId, ClusterNode> {
    (1..=n as NodeId)
        .map(|id| {
            (
                id,
                ClusterNode {
                    raft_addr: format!("127.0.0.1:{}", 17000 + id),
                    client_addr: format!("127.0.0.1:{}", 16000 + id),
                },
            )
        })
        .collect()
}

/// One timed restore of the newest backup into `target` (removed afterwards), as node
/// `node` of `members` when given.
fn timed(
    repo: &Repo,
    target: &Path,
    threads: usize,
    node: Option<(NodeId, &BTreeMap<NodeId, ClusterNode>)>,
) -> Result<(f64, String, u64)> {
    let mut plan = restore::plan(repo, target, None, false, None)?;
    if let Some((id, m)) = node {
        plan = plan.as_node(id, m.clone(), "")?;
    }
    let opts = RestoreOptions {
        threads,
        force: false,
    };
    let start = Instant::now();
    let r = restore::restore(repo, plan, &opts, &|_| {})?;
    let seconds = start.elapsed().as_secs_f64();
    std::fs::remove_dir_all(target).at(target)?;
    Ok((seconds, r.plan.backup_id, r.plan.bytes))
}

pub fn run_restore_cluster(
    cfg: &BackupBenchConfig,
    nodes: usize,
    pairs: usize,
) -> Result<ClusterRestoreReport> {
    let repo_place = Place::new(cfg.repo.as_deref(), "repo")?;
    let build_seconds = ensure_backup(cfg, &repo_place.path)?;
    let repo = Repo::open(&repo_place.path)?;
    let parent = match repo_place.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".drkit-bench-restore-")
        .tempdir_in(&parent)
        .at(&parent)?;
    let target = scratch.path().join("restored");
    let m = members(nodes);
    let threads = cfg.threads.max(1);
    let (mut standalone, mut node) = (Vec::new(), Vec::new());
    let (mut backup_id, mut bytes) = (String::new(), 0);
    for pair in 0..pairs {
        let standalone_first = pair % 2 == 0;
        for part in 0..2 {
            if (part == 0) == standalone_first {
                let (s, id, b) = timed(&repo, &target, threads, None)?;
                standalone.push(s);
                (backup_id, bytes) = (id, b);
            } else {
                for id in 1..=nodes as NodeId {
                    node.push(timed(&repo, &target, threads, Some((id, &m)))?.0);
                }
            }
        }
    }
    let (sm, nm) = (median(&standalone), median(&node));
    Ok(ClusterRestoreReport {
        backup_id,
        bytes,
        nodes,
        pairs,
        standalone_seconds: standalone,
        node_seconds: node,
        standalone_median: sm,
        node_median: nm,
        ratio: if sm > 0.0 { nm / sm } else { 0.0 },
        build_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
