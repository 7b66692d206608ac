//! Disaster recovery of a cluster with real processes: a survivor of a lost quorum made a
//! one-voter cluster with `cluster force-new`, which then grows back to three voters.

use super::cluster_procs::*;
use super::common::*;
use super::s3_server::S3Server;
use super::test_repo::TestRepo;
use crate::on_both_kinds;

on_both_kinds!(
    a_backup_of_a_running_node_restores_into_a_new_three_node_cluster_without_init,
    a_backup_of_a_standalone_dir_with_a_wal_tail_restores_as_a_one_voter_cluster,
    entries_appended_on_a_leader_without_its_quorum_never_reach_the_archive,
    a_node_restored_with_other_members_is_refused_by_the_others_naming_why,
    archiving_on_a_follower_across_two_leader_kills_restores_a_new_cluster_to_a_time_between_them,
);

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn node(root: &Path, id: u64) -> ClusterNodeProc {
    ClusterNodeProc {
        id,
        dir: root.join(format!("n{id}")),
        client_port: free_port(),
        raft_port: free_port(),
        child: None,
    }
}

/// `drkit replicate --join`: a new node asking `join` to add it as a learner.
fn replicate(join: &str, n: &ClusterNodeProc, secret: &Path) -> Child {
    let mut child = Command::new(drkit_path())
        .args(["replicate", "--json", "--timing", "fast", "--join", join])
        .arg("--data")
        .arg(&n.dir)
        .args(["--listen", &format!("127.0.0.1:{}", n.client_port)])
        .args([
            "--node-id",
            &n.id.to_string(),
            "--raft-listen",
            &n.raft_addr(),
        ])
        .arg("--cluster-secret-file")
        .arg(secret)
        .env_remove("DRKIT_REQUIREPASS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains("listening"),
        "node {} did not start: {line:?}",
        n.id
    );
    child
}

fn cluster(secret: &Path, args: &[&str]) -> std::process::Output {
    drkit()
        .arg("cluster")
        .args(args)
        .arg("--cluster-secret-file")
        .arg(secret)
        .output()
        .unwrap()
}

fn get(c: &mut redis::Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(c).unwrap()
}

#[test]
fn force_new_on_the_survivor_of_a_lost_quorum_keeps_every_acknowledged_write_and_grows_to_three() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "lost quorum\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root.path(), id)).collect();
    for n in &mut nodes {
        n.start_new(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = cluster(
        &secret,
        &[
            "init",
            "--addr",
            &nodes[0].raft_addr(),
            "--members",
            &members,
        ],
    );
    assert_exit(&out, 0, "cluster init");
    let leader = wait_leader(&nodes[0].raft_addr(), &secret, None);
    {
        let mut c = nodes[(leader - 1) as usize].redis();
        for i in 0..300 {
            set(&mut c, &format!("k{i}"), &format!("v{i}")).unwrap();
        }
    }
    // Followers learn the commit index with the next heartbeat and record it within 100 ms.
    std::thread::sleep(Duration::from_millis(1500));
    // A running node is not forced: the tool needs the dir to itself.
    let out = drkit()
        .args(["cluster", "force-new", "--data"])
        .arg(&nodes[0].dir)
        .args(["--node-id", "1"])
        .output()
        .unwrap();
    assert_exit(&out, 11, "force-new on a running node");
    for n in &mut nodes {
        n.kill9();
    }
    // The survivor is a follower; the other two dirs are gone for good.
    let survivor = nodes.iter().position(|n| n.id != leader).unwrap();
    for (i, n) in nodes.iter().enumerate() {
        if i != survivor {
            std::fs::remove_dir_all(&n.dir).unwrap();
        }
    }
    let s = &mut nodes[survivor];
    let out = drkit()
        .args(["cluster", "force-new", "--json", "--data"])
        .arg(&s.dir)
        .args(["--node-id", &s.id.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(3),
        "{}",
        text(&out)
    );
    let r = &json_report(&out.stdout)["report"];
    assert!(r["kept_index"].as_u64().unwrap() >= 300, "{r}");
    assert_eq!(r["raft_addr"], s.raft_addr(), "{r}");

    s.start(&secret);
    let deadline = Instant::now() + Duration::from_secs(30);
    assert_eq!(wait_leader(&s.raft_addr(), &secret, None), s.id);
    let mut c = s.redis();
    for i in 0..300 {
        assert_eq!(get(&mut c, &format!("k{i}")), Some(format!("v{i}")), "k{i}");
    }
    set(&mut c, "after", "force-new").unwrap();

    // Two new nodes join as learners and are promoted: three voters again.
    let mut joined = Vec::new();
    for id in [4, 5] {
        let n = node(root.path(), id);
        joined.push((replicate(&s.raft_addr(), &n, &secret), n));
        // The join is asked for once the node listens: wait until it is a learner.
        loop {
            let v = status_json(&s.raft_addr(), &secret).unwrap();
            let learners = &v["nodes"][0]["status"]["learners"];
            if learners.as_array().is_some_and(|l| l.contains(&id.into())) {
                break;
            }
            assert!(Instant::now() < deadline, "node {id} never a learner: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = cluster(
            &secret,
            &["promote", "--addr", &s.raft_addr(), "--id", &id.to_string()],
        );
        assert_exit(&out, 0, &format!("promote {id}"));
    }
    let v = loop {
        let v = status_json(&s.raft_addr(), &secret).unwrap();
        if v["nodes"][0]["status"]["voters"] == serde_json::json!([s.id, 4, 5]) {
            break v;
        }
        assert!(Instant::now() < deadline, "not three voters: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(v["nodes"].as_array().unwrap().len(), 3, "{v}");
    set(&mut c, "grown", "3").unwrap();
    for (_, n) in &joined {
        let mut r = n.redis();
        let _: () = redis::cmd("READONLY").query(&mut r).unwrap();
        loop {
            if get(&mut r, "grown").is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "node {} never caught up", n.id);
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(get(&mut r, "k299"), Some("v299".into()));
        assert_eq!(get(&mut r, "after"), Some("force-new".into()));
    }
    for (mut child, _) in joined {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn restore_node(
    repo: &TestRepo,
    target: &Path,
    id: u64,
    members: &str,
    extra: &[&str],
) -> std::process::Output {
    repo.cmd(&["restore", "--json", "--target"])
        .arg(target)
        .args(["--node-id", &id.to_string(), "--members", members])
        .args(extra)
        .output()
        .unwrap()
}

fn a_backup_of_a_running_node_restores_into_a_new_three_node_cluster_without_init(
    repo: &TestRepo,
    tmp: &Path,
) {
    let root = tmp;
    let secret = root.join("secret");
    std::fs::write(&secret, "restore as cluster\n").unwrap();
    let mut old: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root, id)).collect();
    for n in &mut old {
        n.start_new(&secret);
    }
    let members = old
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = cluster(
        &secret,
        &["init", "--addr", &old[0].raft_addr(), "--members", &members],
    );
    assert_exit(&out, 0, "cluster init");
    let leader = wait_leader(&old[0].raft_addr(), &secret, None);
    {
        let mut c = old[(leader - 1) as usize].redis();
        for i in 0..200 {
            set(&mut c, &format!("k{i}"), &format!("v{i}")).unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let follower_dir = old.iter().find(|n| n.id != leader).unwrap().dir.clone();
    let backup_follower = || {
        repo.cmd(&["backup", "create", "--json"])
            .arg("--data")
            .arg(&follower_dir)
            .output()
            .unwrap()
    };
    let out = backup_follower();
    assert_exit(&out, 0, "backup of a running follower");
    // Current with the leader: heard from it moments ago, every committed entry held.
    let lag = &json_lines(&out)[0]["cluster"]["lag"];
    assert_eq!(lag["leader"], leader, "{lag}");
    assert!(lag["ms"].as_u64().unwrap() < 2000, "{lag}");
    assert_eq!(lag["entries"], 0, "{lag}");

    let new: Vec<ClusterNodeProc> = (1..=3)
        .map(|id| {
            let mut n = node(root, id);
            n.dir = root.join(format!("r{id}"));
            n
        })
        .collect();
    let new_members = new
        .iter()
        .map(|n| format!("{}={}/127.0.0.1:{}", n.id, n.raft_addr(), n.client_port))
        .collect::<Vec<_>>()
        .join(",");

    // Refused: a node id the members lack, and a target that is a node.
    let out = restore_node(repo, &new[0].dir, 4, &new_members, &[]);
    assert_exit(&out, 1, "a node id missing from --members");
    assert!(
        text(&out).contains("not among --members (ids 1, 2, 3)"),
        "{}",
        text(&out)
    );
    assert!(!new[0].dir.exists());
    for extra in [&[][..], &["--force"][..]] {
        let out = restore_node(repo, &old[0].dir, 1, &new_members, extra);
        assert_exit(&out, 1, "restore over a node");
        assert!(
            text(&out).contains("initialised cluster node (node 1 of cluster"),
            "{}",
            text(&out)
        );
    }
    for n in &mut old {
        n.kill9();
    }
    // Stopped: it trails the leader by at least the time since it last heard from it.
    std::thread::sleep(Duration::from_millis(2500));
    let out = backup_follower();
    assert_exit(&out, 0, "backup of the stopped follower");
    let lag = &json_lines(&out)[0]["cluster"]["lag"];
    assert!(lag["ms"].as_u64().unwrap() >= 2500, "{lag}");
    let out = repo
        .cmd(&["backup", "info"])
        .arg(json_lines(&out)[0]["backup"]["id"].as_str().unwrap())
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup info");
    assert!(
        text(&out).contains(&format!("committed entries (leader node {leader}")),
        "{}",
        text(&out)
    );

    // The plan for a node, then each node restored alike: one new cluster id.
    let out = restore_node(repo, &new[0].dir, 1, &new_members, &["--dry-run"]);
    assert_exit(&out, 0, "dry run");
    let plan = &json_lines(&out)[0]["plan"];
    assert_eq!(plan["node"]["node_id"], 1, "{plan}");
    assert_eq!(plan["node"]["members"], new_members.as_str(), "{plan}");
    let cluster_id = plan["node"]["cluster_id"].as_str().unwrap().to_string();
    assert!(!new[0].dir.exists(), "a dry run changed nothing");
    // A rehearsal restored beside it with a token is another cluster.
    let out = restore_node(
        repo,
        &new[0].dir,
        1,
        &new_members,
        &["--dry-run", "--cluster-token", "rehearsal"],
    );
    assert_exit(&out, 0, "dry run with a token");
    let other = &json_lines(&out)[0]["plan"]["node"]["cluster_id"];
    assert_ne!(other.as_str(), Some(cluster_id.as_str()), "{other}");
    for n in &new {
        let out = restore_node(repo, &n.dir, n.id, &new_members, &[]);
        assert_exit(&out, 0, &format!("restore node {}", n.id));
        let r = json_lines(&out)
            .into_iter()
            .find(|v| v["type"] == "restored")
            .unwrap();
        assert_eq!(r["report"]["new_history_id"], cluster_id.as_str(), "{r}");
    }
    // Started without `cluster init`, they elect a leader and hold every write.
    let mut new = new;
    for n in &mut new {
        n.start(&secret);
    }
    let leader = wait_leader(&new[0].raft_addr(), &secret, None);
    let v = status_json(&new[0].raft_addr(), &secret).unwrap();
    assert_eq!(
        v["nodes"][0]["status"]["voters"],
        serde_json::json!([1, 2, 3]),
        "{v}"
    );
    let mut c = new[(leader - 1) as usize].redis();
    for i in 0..200 {
        assert_eq!(get(&mut c, &format!("k{i}")), Some(format!("v{i}")), "k{i}");
    }
    set(&mut c, "after-restore", "1").unwrap();
    // A follower names the leader's client address, as --members gave it.
    let f = new.iter().find(|n| n.id != leader).unwrap();
    let mut fc = f.redis();
    let err = set(&mut fc, "x", "y").unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "127.0.0.1:{}",
            new[(leader - 1) as usize].client_port
        )),
        "{err}"
    );
    let _: () = redis::cmd("READONLY").query(&mut fc).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&mut fc, "after-restore").is_none() {
        assert!(
            Instant::now() < deadline,
            "the follower never got the new write"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn a_backup_of_a_standalone_dir_with_a_wal_tail_restores_as_a_one_voter_cluster(
    repo: &TestRepo,
    tmp: &Path,
) {
    let root = tmp;
    let secret = root.join("secret");
    std::fs::write(&secret, "standalone to cluster\n").unwrap();
    let data = root.join("standalone");
    {
        let engine = drkit::engine::Engine::open(&data, drkit::engine::Options::default()).unwrap();
        for i in 0..50 {
            engine
                .put(format!("s{i}").as_bytes(), format!("v{i}").as_bytes())
                .unwrap();
        }
    }
    let out = repo
        .cmd(&["backup", "create"])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup of a standalone dir");
    let mut n = node(root, 1);
    let members = format!("1={}/127.0.0.1:{}", n.raft_addr(), n.client_port);
    let out = restore_node(repo, &n.dir, 1, &members, &[]);
    assert_exit(&out, 0, "restore as a one-voter cluster");
    assert!(
        std::fs::read_dir(n.dir.join("wal"))
            .unwrap()
            .next()
            .is_none(),
        "the WAL tail was flushed into tables"
    );
    n.start(&secret);
    assert_eq!(wait_leader(&n.raft_addr(), &secret, None), 1);
    let mut c = n.redis();
    for i in 0..50 {
        assert_eq!(get(&mut c, &format!("s{i}")), Some(format!("v{i}")), "s{i}");
    }
    set(&mut c, "as-cluster", "1").unwrap();
    assert_eq!(get(&mut c, "as-cluster"), Some("1".into()));
}

/// SETs `keys` on `n`, retrying a refused write for a few seconds (a new leader's first
/// moments); a SET of the same value again is harmless.
fn set_all(n: &ClusterNodeProc, keys: std::ops::Range<u32>) {
    let mut c = n.redis();
    for i in keys {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = set(&mut c, &format!("k{i}"), &format!("v{i}")) {
            assert!(Instant::now() < deadline, "k{i} never acknowledged: {e}");
            std::thread::sleep(Duration::from_millis(50));
            c = n.redis();
        }
    }
}

fn archiving_on_a_follower_across_two_leader_kills_restores_a_new_cluster_to_a_time_between_them(
    repo: &TestRepo,
    tmp: &Path,
) {
    let root = tmp;
    let secret = root.join("secret");
    std::fs::write(&secret, "archive a cluster\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root, id)).collect();
    for n in &mut nodes {
        n.start_new(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = cluster(
        &secret,
        &[
            "init",
            "--addr",
            &nodes[0].raft_addr(),
            "--members",
            &members,
        ],
    );
    assert_exit(&out, 0, "cluster init");
    let idx = |id: u64| (id - 1) as usize;
    let l1 = wait_leader(&nodes[0].raft_addr(), &secret, None);
    set_all(&nodes[idx(l1)], 0..50);
    std::thread::sleep(Duration::from_millis(500));
    let follower = nodes.iter().find(|n| n.id != l1).unwrap();
    let out = repo
        .cmd(&["backup", "create", "--data"])
        .arg(&follower.dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "full backup of a follower");
    let mut archiver = repo.spawn(&[
        "wal",
        "archive",
        "--follow",
        "--poll",
        "100ms",
        "--data",
        follower.dir.to_str().unwrap(),
    ]);

    set_all(&nodes[idx(l1)], 50..100);
    nodes[idx(l1)].kill9();
    let alive = nodes.iter().find(|n| n.id != l1).unwrap().raft_addr();
    let l2 = wait_leader(&alive, &secret, Some(l1));
    nodes[idx(l1)].start(&secret);
    set_all(&nodes[idx(l2)], 100..150);
    std::thread::sleep(Duration::from_millis(300));
    let target = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    std::thread::sleep(Duration::from_millis(300));
    set_all(&nodes[idx(l2)], 150..200);
    nodes[idx(l2)].kill9();
    let alive = nodes.iter().find(|n| n.id != l2).unwrap().raft_addr();
    let l3 = wait_leader(&alive, &secret, Some(l2));
    nodes[idx(l2)].start(&secret);
    set_all(&nodes[idx(l3)], 200..250);
    // The followers record the commit index, the archiver takes it.
    std::thread::sleep(Duration::from_millis(1500));
    let _ = archiver.kill();
    let _ = archiver.wait();
    for n in &mut nodes {
        n.kill9();
    }
    let archiving = nodes.iter().find(|n| n.id != l1).unwrap();
    let out = repo
        .cmd(&["wal", "archive", "--json", "--data"])
        .arg(&archiving.dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "a last pass of the archiver");
    let r = &json_report(&out.stdout)["report"];
    assert_eq!(r["gaps"], serde_json::json!([]), "{r}");
    assert!(r["range"][1].as_u64().unwrap() >= 250, "{r}");

    let mut new: Vec<ClusterNodeProc> = (1..=3)
        .map(|id| {
            let mut n = node(root, id);
            n.dir = root.join(format!("r{id}"));
            n
        })
        .collect();
    let new_members = new
        .iter()
        .map(|n| format!("{}={}/127.0.0.1:{}", n.id, n.raft_addr(), n.client_port))
        .collect::<Vec<_>>()
        .join(",");
    for n in &new {
        let out = repo
            .cmd(&["restore", "--json", "--to-time", &target, "--target"])
            .arg(&n.dir)
            .args(["--node-id", &n.id.to_string(), "--members", &new_members])
            .output()
            .unwrap();
        assert_exit(&out, 0, &format!("point-in-time restore of node {}", n.id));
    }
    for n in &mut new {
        n.start(&secret);
    }
    let leader = wait_leader(&new[0].raft_addr(), &secret, None);
    let mut c = new[idx(leader)].redis();
    for i in 0..250 {
        let want = (i < 150).then(|| format!("v{i}"));
        assert_eq!(
            get(&mut c, &format!("k{i}")),
            want,
            "k{i} (target {target})"
        );
    }
    // Every node holds the same: read each one's own state.
    for n in &new {
        let mut r = n.redis();
        let _: () = redis::cmd("READONLY").query(&mut r).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(&mut r, "k149").is_none() {
            assert!(Instant::now() < deadline, "node {} lacks k149", n.id);
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(get(&mut r, "k150"), None, "node {}", n.id);
        assert_eq!(get(&mut r, "k0"), Some("v0".into()), "node {}", n.id);
    }
}

fn signal(n: &ClusterNodeProc, sig: &str) {
    let pid = n.child.as_ref().unwrap().id().to_string();
    let ok = Command::new("kill").args([sig, &pid]).status().unwrap();
    assert!(ok.success(), "kill {sig} {pid}");
}

fn entries_appended_on_a_leader_without_its_quorum_never_reach_the_archive(
    repo: &TestRepo,
    tmp: &Path,
) {
    let root = tmp;
    let secret = root.join("secret");
    std::fs::write(&secret, "never uncommitted\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root, id)).collect();
    for n in &mut nodes {
        n.start_new(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = cluster(
        &secret,
        &[
            "init",
            "--addr",
            &nodes[0].raft_addr(),
            "--members",
            &members,
        ],
    );
    assert_exit(&out, 0, "cluster init");
    let leader = wait_leader(&nodes[0].raft_addr(), &secret, None);
    let li = (leader - 1) as usize;
    set_all(&nodes[li], 0..20);
    std::thread::sleep(Duration::from_millis(500));
    let out = repo
        .cmd(&["backup", "create"])
        .arg("--data")
        .arg(&nodes[li].dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup of the leader");
    // The followers stop: the leader appends what it is sent, and cannot commit it.
    for (i, n) in nodes.iter().enumerate() {
        if i != li {
            signal(n, "-STOP");
        }
    }
    let mut c = nodes[li].redis();
    for i in 0..2 {
        assert!(
            set(&mut c, &format!("u{i}"), "never").is_err(),
            "u{i} acknowledged without a quorum"
        );
    }
    let archive = |dir: &Path| {
        repo.cmd(&["wal", "archive", "--json"])
            .arg("--data")
            .arg(dir)
            .output()
            .unwrap()
    };
    let out = archive(&nodes[li].dir);
    assert_exit(&out, 0, "archive of the leader's dir");
    let archived_to = json_report(&out.stdout)["report"]["range"][1]
        .as_u64()
        .unwrap();
    // SIGKILLed with the entries appended: a pass over the dead node's dir takes no more.
    nodes[li].kill9();
    let out = archive(&nodes[li].dir);
    assert_exit(&out, 0, "archive of the killed leader's dir");
    assert_eq!(
        json_report(&out.stdout)["report"]["range"][1].as_u64(),
        Some(archived_to)
    );
    // The leader's log holds what it appended past what was archived.
    let out = drkit()
        .args(["inspect", "wal", "--json"])
        .arg(nodes[li].dir.join("wal"))
        .output()
        .unwrap();
    let last_in_log = json_lines(&out)
        .iter()
        .filter_map(|v| v["seq"].as_u64())
        .max()
        .unwrap();
    assert!(
        last_in_log > archived_to,
        "log ends at {last_in_log}, archive at {archived_to}"
    );
    let target = root.join("restored");
    let out = repo
        .cmd(&["restore", "--to-seq", &(archived_to + 1).to_string()])
        .arg("--target")
        .arg(&target)
        .output()
        .unwrap();
    assert_exit(&out, 12, "restore past the archived committed log");
    let out = repo
        .cmd(&["restore", "--to-seq", &archived_to.to_string()])
        .arg("--target")
        .arg(&target)
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore to the end of the archive");
    let out = drkit().arg("get").arg(&target).arg("k19").output().unwrap();
    assert_exit(&out, 0, "get k19");
    for i in 0..2 {
        let out = drkit()
            .arg("get")
            .arg(&target)
            .arg(format!("u{i}"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "u{i}, never committed, was archived");
    }
    for (i, n) in nodes.iter().enumerate() {
        if i != li {
            signal(n, "-CONT");
        }
    }
}

/// A standalone `drkit serve` on `dir` takes `keys` SETs, then is SIGKILLed.
fn standalone_serve_writes(dir: &Path, keys: std::ops::Range<u32>) {
    let port = free_port();
    let mut child = Command::new(drkit_path())
        .args(["serve", "--json", "--data"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_remove("DRKIT_REQUIREPASS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "standalone serve: {line:?}");
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    for i in keys {
        set(&mut c, &format!("s{i}"), &format!("v{i}")).unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn cluster_init_makes_one_nodes_standalone_data_the_state_of_three_voters() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "standalone to cluster\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root.path(), id)).collect();
    standalone_serve_writes(&nodes[0].dir, 0..300);
    for n in &mut nodes {
        n.start_new(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = cluster(
        &secret,
        &[
            "init",
            "--addr",
            &nodes[1].raft_addr(),
            "--members",
            &members,
        ],
    );
    assert_exit(&out, 0, "cluster init with one node's data");
    assert!(text(&out).contains("from node 1's data"), "{}", text(&out));
    let leader = wait_leader(&nodes[0].raft_addr(), &secret, None);
    let v = status_json(&nodes[0].raft_addr(), &secret).unwrap();
    assert_eq!(
        v["nodes"][0]["status"]["voters"],
        serde_json::json!([1, 2, 3]),
        "{v}"
    );
    let mut c = nodes[(leader - 1) as usize].redis();
    set(&mut c, "after-init", "1").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in &nodes {
        let mut r = n.redis();
        let _: () = redis::cmd("READONLY").query(&mut r).unwrap();
        while get(&mut r, "after-init").is_none() {
            assert!(Instant::now() < deadline, "node {} never caught up", n.id);
            std::thread::sleep(Duration::from_millis(50));
        }
        for i in 0..300 {
            assert_eq!(
                get(&mut r, &format!("s{i}")),
                Some(format!("v{i}")),
                "node {} s{i}",
                n.id
            );
        }
    }
}

#[test]
fn cluster_init_refuses_when_more_than_one_node_holds_data() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "two with data\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root.path(), id)).collect();
    standalone_serve_writes(&nodes[0].dir, 0..10);
    standalone_serve_writes(&nodes[2].dir, 10..20);
    for n in &mut nodes {
        n.start_new(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let out = cluster(
        &secret,
        &[
            "init",
            "--addr",
            &nodes[1].raft_addr(),
            "--members",
            &members,
        ],
    );
    assert_exit(&out, 1, "cluster init with two nodes' data");
    assert!(
        text(&out).contains("nodes 1, 3 are already initialised (each holds data"),
        "{}",
        text(&out)
    );
    // Nothing changed: node 2 is still empty and in no cluster.
    let v = status_json(&nodes[1].raft_addr(), &secret).unwrap();
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(0), "{v}");
}

fn a_node_restored_with_other_members_is_refused_by_the_others_naming_why(
    repo: &TestRepo,
    tmp: &Path,
) {
    let root = tmp;
    let secret = root.join("secret");
    std::fs::write(&secret, "members differ\n").unwrap();
    let data = root.join("standalone");
    {
        let engine = drkit::engine::Engine::open(&data, drkit::engine::Options::default()).unwrap();
        engine.put(b"k", b"v").unwrap();
    }
    let out = repo
        .cmd(&["backup", "create"])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup");
    let mut nodes: Vec<ClusterNodeProc> = (1..=3).map(|id| node(root, id)).collect();
    let line = |client_of_3: u16| {
        nodes
            .iter()
            .map(|n| {
                let client = if n.id == 3 {
                    client_of_3
                } else {
                    n.client_port
                };
                format!("{}={}/127.0.0.1:{client}", n.id, n.raft_addr())
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let (members, other) = (line(nodes[2].client_port), line(free_port()));
    for n in &nodes {
        let m = if n.id == 3 { &other } else { &members };
        assert_exit(&restore_node(repo, &n.dir, n.id, m, &[]), 0, "restore");
    }
    for n in &mut nodes {
        n.start(&secret);
    }
    // Nodes 1 and 2 are a quorum of their membership; node 3 is refused by both.
    let leader = wait_leader(&nodes[0].raft_addr(), &secret, None);
    assert_ne!(leader, 3);
    let log = root.join(format!("n{leader}.stderr.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("node 3 belongs to cluster")
            && text.contains("restore node 3 again with the arguments the others had")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no refusal of node 3 logged: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
