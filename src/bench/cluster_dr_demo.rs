//! `drkit demo --cluster-dr`: disaster recovery of a cluster told end to end, with real
//! processes (each step is the command an operator would run).
//!
//! 1. Three `serve --node-id` nodes, `cluster init`, and `wal archive --follow` on a follower.
//! 2. Writes; a full backup on one node; writes; SIGKILL of the leader, a new one elected, the
//!    old one back; writes; an incremental backup on another node; writes.
//! 3. The time T, then a "fat-finger" `DEL` of many keys, replicated everywhere, and more
//!    writes after it.
//! 4. Every node's dir deleted.
//! 5. A new three-node cluster restored to T (`restore --to-time T --node-id --members`, once
//!    per node), started without `cluster init`.
//! 6. Every node read: each write acknowledged before T present with its value, none of the
//!    deletes, nothing written after T.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::cluster_demo::{
    Answer, Client, NodeProc, SECRET, free_addrs, init, key_value, node_state, send_all,
    wait_caught_up, wait_leader,
};
use crate::cluster::NodeId;
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone)]
pub struct ClusterDrDemoConfig {
    /// Where the nodes' dirs, the repository and the logs go (kept). None: a temporary dir.
    pub dir: Option<PathBuf>,
    /// The drkit binary, run for every node and every tool.
    pub exe: PathBuf,
    /// Writes in each of the five batches.
    pub writes: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoredNodeCheck {
    pub node_id: NodeId,
    pub role: String,
    /// Writes acknowledged before the target, found with their value.
    pub present: u64,
    pub missing: u64,
    pub wrong: u64,
    /// Writes made after the target (the delete, the last batch) found on the node.
    pub after_target: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterDrDemoReport {
    pub dir: PathBuf,
    pub kept: bool,
    pub archiving_node: NodeId,
    pub full_backup_node: NodeId,
    pub incremental_backup_node: NodeId,
    pub killed_leader: NodeId,
    pub new_leader: NodeId,
    pub acknowledged_before_target: u64,
    pub deleted_after_target: u64,
    pub written_after_target: u64,
    pub target_time: String,
    /// The archive's range and gaps after the last pass.
    pub archive_range: Option<(u64, u64)>,
    pub archive_gaps: u64,
    pub restored_cluster_id: String,
    pub restored_leader: NodeId,
    pub nodes: Vec<RestoredNodeCheck>,
}

impl ClusterDrDemoReport {
    pub fn passed(&self) -> bool {
        self.archive_gaps == 0
            && self.nodes.len() == 3
            && self.nodes.iter().all(|n| {
                n.present == self.acknowledged_before_target
                    && n.missing == 0
                    && n.wrong == 0
                    && n.after_target == 0
            })
    }
}

/// Runs `drkit ARGS` to completion; an exit other than 0 is an error with its stderr.
fn tool(exe: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .at(exe)?;
    if !out.status.success() {
        return Err(Error::InvalidInput(format!(
            "`drkit {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn node(nodes: &[NodeProc], id: NodeId) -> Result<&NodeProc> {
    nodes
        .iter()
        .find(|n| n.id == id)
        .ok_or_else(|| Error::InvalidInput(format!("node {id} is not among the nodes")))
}

fn other(nodes: &[NodeProc], not: &[NodeId]) -> Result<NodeId> {
    nodes
        .iter()
        .map(|n| n.id)
        .find(|id| !not.contains(id))
        .ok_or_else(|| Error::InvalidInput("no other node".into()))
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::InvalidInput(format!("{}: not UTF-8", p.display())))
}

fn three_nodes(root: &Path, prefix: &str) -> Result<Vec<NodeProc>> {
    let addrs = free_addrs(6)?;
    Ok((0..3)
        .map(|i| NodeProc {
            id: i as NodeId + 1,
            dir: root.join(format!("{prefix}{}", i + 1)),
            client: addrs[2 * i],
            raft: addrs[2 * i + 1],
            child: None,
            extra_args: Vec::new(),
        })
        .collect())
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The archive's (range, gap count) from a one-shot `wal archive --json`.
fn last_archive_pass(exe: &Path, repo: &str, data: &str) -> Result<(Option<(u64, u64)>, u64)> {
    let out = tool(
        exe,
        &["wal", "archive", "--json", "--repo", repo, "--data", data],
    )?;
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap_or_default())
        .map_err(|e| Error::InvalidInput(format!("wal archive --json: {e}")))?;
    let r = &v["report"];
    let range = r["range"][0].as_u64().zip(r["range"][1].as_u64());
    let gaps = r["gaps"].as_array().map_or(0, |g| g.len() as u64);
    Ok((range, gaps))
}

/// Reads keys `0..end` on `n`: those below `before` must hold their value, none above.
fn check_restored(n: &NodeProc, before: u64, end: u64) -> Result<RestoredNodeCheck> {
    let mut c = Client::connect(n.client)?;
    c.call(&[b"READONLY"])?;
    let mut check = RestoredNodeCheck {
        node_id: n.id,
        role: node_state(n).map_or("down".into(), |s| s.0),
        present: 0,
        missing: 0,
        wrong: 0,
        after_target: 0,
    };
    for i in 0..end {
        let (key, value) = key_value(i);
        let got = match c.call(&[b"GET", key.as_bytes()])? {
            Answer::Value(v) => v,
            Answer::Refused(e) => {
                return Err(Error::InvalidInput(format!(
                    "node {} refused a READONLY read: {e}",
                    n.id
                )));
            }
        };
        match (i < before, got) {
            (true, Some(v)) if v == value => check.present += 1,
            (true, Some(_)) => check.wrong += 1,
            (true, None) => check.missing += 1,
            (false, Some(_)) => check.after_target += 1,
            (false, None) => {}
        }
    }
    Ok(check)
}

pub fn run_cluster_dr_demo(
    cfg: &ClusterDrDemoConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ClusterDrDemoReport> {
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
    let exe = cfg.exe.as_path();
    let w = cfg.writes;
    let secret = root.join("cluster-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).at(&secret)?;
    let repo_path = root.join("repo");
    let repo = path_str(&repo_path)?;

    let mut nodes = three_nodes(&root, "node")?;
    for n in &mut nodes {
        n.start_first(exe, &secret)?;
    }
    init(&nodes)?;
    let (leader, term) = wait_leader(&nodes, None)?;
    step(&format!(
        "3 nodes started and initialised: node {leader} leads term {term}"
    ));

    let archiving = other(&nodes, &[leader])?;
    let archive_log = root.join("wal-archive.log");
    let log = std::fs::File::create(&archive_log).at(&archive_log)?;
    let mut archiver = Some(
        Command::new(exe)
            .args([
                "wal", "archive", "--follow", "--poll", "200ms", "--repo", repo,
            ])
            .arg("--data")
            .arg(&node(&nodes, archiving)?.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .at(exe)?,
    );
    step(&format!(
        "`drkit wal archive --follow` on node {archiving}, a follower"
    ));

    let write = |nodes: &[NodeProc], keys: std::ops::Range<u64>| {
        send_all(nodes, keys, &|i| {
            let (k, v) = key_value(i);
            vec![b"SET".to_vec(), k.into_bytes(), v.into_bytes()]
        })
    };
    write(&nodes, 0..w)?;
    let full_node = archiving;
    tool(
        exe,
        &[
            "backup",
            "create",
            "-q",
            "--repo",
            repo,
            "--data",
            path_str(&node(&nodes, full_node)?.dir)?,
        ],
    )?;
    step(&format!(
        "{w} writes; full backup of node {full_node} while they run"
    ));

    write(&nodes, w..2 * w)?;
    let li = nodes.iter().position(|n| n.id == leader).unwrap_or(0);
    stop(&mut nodes[li].child);
    let (new_leader, new_term) = wait_leader(&nodes, Some(leader))?;
    step(&format!(
        "{w} writes; SIGKILL node {leader}, the leader: node {new_leader} leads term {new_term}"
    ));
    nodes[li].start(exe, &secret)?;
    write(&nodes, 2 * w..3 * w)?;
    let incr_node = other(&nodes, &[full_node])?;
    wait_caught_up(&nodes, new_leader)?;
    tool(
        exe,
        &[
            "backup",
            "create",
            "-q",
            "--type",
            "incr",
            "--repo",
            repo,
            "--data",
            path_str(&node(&nodes, incr_node)?.dir)?,
        ],
    )?;
    step(&format!(
        "node {leader} back as a follower; {w} writes; incremental backup of node {incr_node}"
    ));
    write(&nodes, 3 * w..4 * w)?;
    let before = 4 * w;
    // The target lies strictly between the last write before it and the first after.
    std::thread::sleep(Duration::from_millis(300));
    let target = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    std::thread::sleep(Duration::from_millis(300));
    step(&format!("{w} writes; target time {target}"));

    let deleted = 2 * w;
    send_all(&nodes, 0..deleted, &|i| {
        vec![b"DEL".to_vec(), key_value(i).0.into_bytes()]
    })?;
    write(&nodes, before..5 * w)?;
    step(&format!(
        "fat finger: DEL of {deleted} keys, acknowledged by a majority; {w} more writes"
    ));

    // The followers record the commit index within 100 ms; the archiver takes it.
    std::thread::sleep(Duration::from_millis(1500));
    stop(&mut archiver);
    let (archive_range, archive_gaps) =
        last_archive_pass(exe, repo, path_str(&node(&nodes, archiving)?.dir)?)?;
    for n in &mut nodes {
        stop(&mut n.child);
        std::fs::remove_dir_all(&n.dir).at(&n.dir)?;
    }
    step(&format!(
        "archive holds {} with {archive_gaps} gap(s); every node stopped and its dir deleted",
        archive_range.map_or("nothing".into(), |(a, b)| format!("log index {a}..={b}"))
    ));

    let mut restored = three_nodes(&root, "restored")?;
    let members = restored
        .iter()
        .map(|n| format!("{}={}/{}", n.id, n.raft, n.client))
        .collect::<Vec<_>>()
        .join(",");
    let mut cluster_id = String::new();
    for n in &restored {
        let out = tool(
            exe,
            &[
                "restore",
                "--json",
                "--repo",
                repo,
                "--target",
                path_str(&n.dir)?,
                "--to-time",
                &target,
                "--node-id",
                &n.id.to_string(),
                "--members",
                &members,
            ],
        )?;
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            if let Some(id) = v["report"]["new_history_id"].as_str() {
                cluster_id = id.to_string();
            }
        }
    }
    for n in &mut restored {
        n.start(exe, &secret)?;
    }
    let (restored_leader, _) = wait_leader(&restored, None)?;
    wait_caught_up(&restored, restored_leader)?;
    step(&format!(
        "a new cluster {cluster_id} restored to {target} on 3 new dirs (`restore --to-time --node-id --members`), started without `cluster init`: node {restored_leader} leads"
    ));
    let nodes_checked = restored
        .iter()
        .map(|n| check_restored(n, before, 5 * w))
        .collect::<Result<Vec<_>>>()?;
    step("read every key on every restored node");
    Ok(ClusterDrDemoReport {
        dir: root.clone(),
        kept,
        archiving_node: archiving,
        full_backup_node: full_node,
        incremental_backup_node: incr_node,
        killed_leader: leader,
        new_leader,
        acknowledged_before_target: before,
        deleted_after_target: deleted,
        written_after_target: w,
        target_time: target,
        archive_range,
        archive_gaps,
        restored_cluster_id: cluster_id,
        restored_leader,
        nodes: nodes_checked,
    })
}
