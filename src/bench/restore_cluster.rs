//! `bench restore --cluster-nodes N`: what restoring one backup of a cluster node as each
//! node of a new cluster costs beside a standalone restore of the same backup, in the same
//! run. The backup is a node's: the bench's data dir, adopted as a one-voter cluster and
//! backed up as any node is (its committed state exported).
//!
//! Each node's restore runs alone, as it would on its own machine: the figure is the time
//! per node (a cluster's nodes restore in parallel on their machines), beside the
//! standalone restore's. Pairs alternate their order (standalone first, then the nodes
//! first), and the medians are reported: this machine's speed drifts, a ratio within one
//! run does not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::backup::{BackupBenchConfig, Place, RepoPlace, create_options, ensure_data};
use crate::backup::repo::RepoLocation;
use crate::backup::restore::{self, RestoreOptions};
use crate::backup::{self, Repo};
use crate::cluster::{ClusterNode, NodeId};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterRestoreReport {
    pub backup_id: String,
    /// The cluster the backed-up node belonged to (its history id).
    pub cluster_id: Option<String>,
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

/// Makes sure the repository at `repo` holds a backup of a cluster node (its newest). If
/// not: the data dir of `cfg` (built if needed) is linked into a scratch dir, adopted there
/// as node 1 of a one-voter cluster, and backed up. Returns the seconds spent.
fn ensure_node_backup(cfg: &BackupBenchConfig, repo: &RepoLocation, scratch: &Path) -> Result<f64> {
    let has_node_backup = match Repo::open(repo) {
        Ok(r) => r
            .list()?
            .last()
            .is_some_and(|l| l.manifest.as_ref().is_ok_and(|m| m.cluster.is_some())),
        Err(Error::NotFound { .. }) => false,
        Err(e) => return Err(e),
    };
    if has_node_backup {
        return Ok(0.0);
    }
    let start = Instant::now();
    let data = Place::new(cfg.data.as_deref(), "data")?;
    ensure_data(cfg, &data.path)?;
    let node = scratch.join("node");
    link_copy(&data.path, &node)?;
    let me = members(1).remove(&1).unwrap_or_default();
    crate::cluster::seed::adopt_standalone(&node, 1, me)?;
    backup::create(repo, &node, &create_options(cfg), &|_| {})?;
    std::fs::remove_dir_all(&node).at(&node)?;
    Ok(start.elapsed().as_secs_f64())
}

/// Copies the stopped data dir `from` to `to`, its tables as hard links (they are never
/// written again, and adopting the copy only adds tables).
fn link_copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).at(to)?;
    for e in std::fs::read_dir(from).at(from)? {
        let e = e.at(from)?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            link_copy(&src, &dst)?;
        } else if e.file_name() == "LOCK" {
            continue;
        } else if src.extension().is_some_and(|x| x == "sst") {
            std::fs::hard_link(&src, &dst).at(&src)?;
        } else {
            std::fs::copy(&src, &dst).at(&src)?;
        }
    }
    Ok(())
}

pub fn run_restore_cluster(
    cfg: &BackupBenchConfig,
    nodes: usize,
    pairs: usize,
) -> Result<ClusterRestoreReport> {
    let repo_place = RepoPlace::new(cfg.repo.as_ref())?;
    let parent = match Some(repo_place.scratch_parent.as_path()) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).at(&parent)?;
    let scratch = tempfile::Builder::new()
        .prefix(".drkit-bench-restore-")
        .tempdir_in(&parent)
        .at(&parent)?;
    let build_seconds = ensure_node_backup(cfg, &repo_place.location, scratch.path())?;
    let repo = Repo::open(&repo_place.location)?;
    let cluster_id = repo
        .list()?
        .pop()
        .and_then(|l| l.manifest.ok())
        .and_then(|m| m.cluster.map(|c| c.cluster_id));
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
        cluster_id,
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
