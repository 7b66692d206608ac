//! `drkit serve --node-id` as real processes: `cluster init`, writes on the leader, `MOVED`
//! from followers, stale reads after READONLY, SIGKILL of the leader and a new one elected,
//! the old leader back as a follower with every acknowledged write, and the admin refusals.

use super::cluster_procs::*;
use super::common::*;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn three_serve_processes_fail_over_and_keep_every_acknowledged_write() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "correct horse\n").unwrap();
    let mut nodes: Vec<ClusterNodeProc> = (1..=3)
        .map(|id| ClusterNodeProc {
            id,
            dir: root.path().join(format!("n{id}")),
            client_port: free_port(),
            raft_port: free_port(),
            child: None,
        })
        .collect();
    for n in &mut nodes {
        n.start(&secret);
    }
    let members = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.raft_addr()))
        .collect::<Vec<_>>()
        .join(",");
    let init = |addr: &str| {
        drkit()
            .args(["cluster", "init", "--addr", addr, "--members", &members])
            .arg("--cluster-secret-file")
            .arg(&secret)
            .output()
            .unwrap()
    };
    let out = init(&nodes[0].raft_addr());
    assert_exit(&out, 0, "cluster init");

    // The wrong secret is refused, naming the reason.
    let wrong = root.path().join("wrong");
    std::fs::write(&wrong, "tr0ub4dor\n").unwrap();
    let out = drkit()
        .args(["cluster", "status", "--addr", &nodes[1].raft_addr()])
        .arg("--cluster-secret-file")
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("does not know the cluster secret"),
        "{}",
        text(&out)
    );

    let leader = wait_leader(&nodes[0].raft_addr(), &secret, None);
    // A second init is refused.
    let out = init(&nodes[2].raft_addr());
    assert!(!out.status.success());
    assert!(text(&out).contains("already initialised"), "{}", text(&out));

    let li = (leader - 1) as usize;
    let mut acked = Vec::new();
    {
        let mut c = nodes[li].redis();
        for i in 0..100 {
            set(&mut c, &format!("k{i}"), &format!("v{i}")).unwrap();
            acked.push(i);
        }
    }
    {
        // WAIT counts the other voters holding everything written so far.
        let mut c = nodes[li].redis();
        let held: i64 = redis::cmd("WAIT").arg(2).arg(5000).query(&mut c).unwrap();
        assert_eq!(held, 2);
        let info: String = redis::cmd("INFO").arg("replication").query(&mut c).unwrap();
        assert!(info.contains("cluster_role:leader"), "{info}");
        assert!(info.contains("connected_slaves:2"), "{info}");
        // Both replicas hold everything: no lag in entries or in time, and they answered
        // a moment ago; this node stood in (and won) at least one election.
        assert_eq!(info.matches("lag_entries=0,lag_ms=0,").count(), 2, "{info}");
        assert_eq!(info.matches("last_reply_ms=").count(), 2, "{info}");
        assert!(!info.contains("last_reply_ms=never"), "{info}");
        assert!(info.contains("cluster_terms_led:1\r"), "{info}");
        assert!(info.contains("cluster_snapshots_sent:0\r"), "{info}");
        // Commit index, apply lag and the last leader change, as the leader sees them.
        assert!(info.contains("raft_commit_index:"), "{info}");
        assert!(!info.contains("raft_commit_index:0\r"), "{info}");
        assert!(info.contains("cluster_leader_changed_at:20"), "{info}");
        let out = drkit()
            .args(["cluster", "status", "--addr", &nodes[li].raft_addr()])
            .arg("--cluster-secret-file")
            .arg(&secret)
            .output()
            .unwrap();
        assert_exit(&out, 0, "cluster status");
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(table.contains("last reply"), "{table}");
        assert!(table.contains("0 entries, 0 ms"), "{table}");
        let out = drkit()
            .args([
                "cluster",
                "status",
                "--json",
                "--addr",
                &nodes[li].raft_addr(),
            ])
            .arg("--cluster-secret-file")
            .arg(&secret)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for n in v["nodes"].as_array().unwrap() {
            let st = &n["status"];
            // Every node knows the commit index, has applied it, and saw a leader elected.
            assert!(st["committed_index"].as_u64().unwrap() >= 100, "{st}");
            assert!(st["apply_lag_entries"].is_u64(), "{st}");
            assert!(st["leader_changed_ms_ago"].is_u64(), "{st}");
            if st["role"] == "leader" {
                assert_eq!(st["apply_lag_entries"], 0, "{st}");
                for r in st["replication"].as_array().unwrap() {
                    assert!(r["rtt_us"].as_u64().unwrap() > 0, "{r}");
                }
            }
        }
    }
    // A follower sends writes and (linearizable) reads to the leader.
    let fi = (0..3).find(|i| *i != li).unwrap();
    {
        let mut c = nodes[fi].redis();
        let err = set(&mut c, "x", "y").unwrap_err();
        assert!(err.to_string().to_lowercase().contains("moved"), "{err}");
        assert!(
            err.to_string().contains(&nodes[li].client_port.to_string()),
            "MOVED names the leader's client port: {err}"
        );
        let err = redis::cmd("GET")
            .arg("k1")
            .query::<Option<String>>(&mut c)
            .unwrap_err();
        assert!(err.to_string().to_lowercase().contains("moved"), "{err}");
        let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut c).unwrap();
        assert_eq!(
            role[0],
            redis::Value::BulkString(b"slave".to_vec()),
            "{role:?}"
        );
        let _: () = redis::cmd("READONLY").query(&mut c).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v: Option<String> = redis::cmd("GET").arg("k99").query(&mut c).unwrap();
            if v.as_deref() == Some("v99") {
                break;
            }
            assert!(Instant::now() < deadline, "follower never saw k99");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // SIGKILL the leader: the other two elect a new one and take writes.
    nodes[li].kill9();
    let survivor = nodes[fi].raft_addr();
    let new_leader = wait_leader(&survivor, &secret, Some(leader));
    let ni = (new_leader - 1) as usize;
    {
        let mut c = nodes[ni].redis();
        for i in 100..150 {
            set(&mut c, &format!("k{i}"), &format!("v{i}")).unwrap();
            acked.push(i);
        }
    }
    // The old leader comes back as a follower and catches up.
    nodes[li].start(&secret);
    for n in &nodes {
        let mut c = n.redis();
        let _: () = redis::cmd("READONLY").query(&mut c).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v: Option<String> = redis::cmd("GET").arg("k149").query(&mut c).unwrap();
            if v.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "node {} never caught up", n.id);
            std::thread::sleep(Duration::from_millis(50));
        }
        for i in &acked {
            let v: Option<String> = redis::cmd("GET")
                .arg(format!("k{i}"))
                .query(&mut c)
                .unwrap();
            assert_eq!(
                v,
                Some(format!("v{i}")),
                "node {} lost acknowledged k{i}",
                n.id
            );
        }
    }

    // An online backup of a running node holds every acknowledged write once the node has
    // recorded the commit (within ~100 ms of it), and restores as a standalone dir. Wait for
    // the record to reach what the node has applied (a slow disk can take longer).
    let applied = status_json(&nodes[li].raft_addr(), &secret).unwrap()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == leader)
        .unwrap()["status"]["last_applied_index"]
        .as_u64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let recorded = drkit::format::raft_state::RaftState::load(&nodes[li].dir.join("raft"))
            .ok()
            .flatten()
            .and_then(|s| s.committed)
            .map_or(0, |c| c.index);
        if recorded >= applied {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node never recorded commit {applied} (has {recorded})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let repo = nodes[li].dir.with_file_name("repo");
    let out = drkit()
        .args(["backup", "create", "--json", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&nodes[li].dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "online backup of a running cluster node");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["online"], true, "{v}");
    let restored = nodes[li].dir.with_file_name("restored");
    let out = drkit()
        .args(["restore", "--repo"])
        .arg(&repo)
        .arg("--target")
        .arg(&restored)
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore of a cluster node's backup");
    let out = drkit()
        .args(["scan", "--json", "--prefix", "k"])
        .arg(&restored)
        .output()
        .unwrap();
    assert_exit(&out, 0, "scan of the restored dir");
    let restored_keys: std::collections::BTreeSet<String> = json_lines(&out)
        .iter()
        .filter_map(|v| v["key"].as_str().map(str::to_string))
        .collect();
    for i in &acked {
        assert!(
            restored_keys.contains(&format!("k{i}")),
            "the backup lost acknowledged k{i}"
        );
    }

    let v = status_json(&nodes[li].raft_addr(), &secret).unwrap();
    let me = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == leader)
        .unwrap();
    assert_eq!(me["status"]["role"], "follower", "{v}");

    // Voters can be removed down to one; the last one cannot be, and the cluster serves on.
    let remove = |id: u64| {
        drkit()
            .args([
                "cluster",
                "remove",
                "--addr",
                &nodes[ni].raft_addr(),
                "--id",
                &id.to_string(),
            ])
            .arg("--cluster-secret-file")
            .arg(&secret)
            .output()
            .unwrap()
    };
    for n in &nodes {
        if n.id != new_leader {
            let out = remove(n.id);
            assert_exit(&out, 0, "cluster remove of a follower");
        }
    }
    let out = remove(new_leader);
    assert!(!out.status.success());
    assert!(text(&out).contains("last voter"), "{}", text(&out));
    let mut c = nodes[ni].redis();
    set(&mut c, "alone", "still serving").unwrap();
}

#[test]
fn one_voter_and_a_learner_joined_with_replicate() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "two machines\n").unwrap();
    let mut primary = ClusterNodeProc {
        id: 1,
        dir: root.path().join("n1"),
        client_port: free_port(),
        raft_port: free_port(),
        child: None,
    };
    primary.start(&secret);
    let out = drkit()
        .args([
            "cluster",
            "init",
            "--addr",
            &primary.raft_addr(),
            "--members",
        ])
        .arg(format!("1={}", primary.raft_addr()))
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&out, 0, "cluster init of one voter");
    wait_leader(&primary.raft_addr(), &secret, None);
    {
        let mut c = primary.redis();
        for i in 0..20 {
            set(&mut c, &format!("k{i}"), "v").unwrap();
        }
    }
    let replica_port = free_port();
    let replica_raft = free_port();
    let mut replica = Command::new(drkit_path())
        .args([
            "replicate",
            "--json",
            "--timing",
            "fast",
            "--join",
            &primary.raft_addr(),
        ])
        .arg("--data")
        .arg(root.path().join("n2"))
        .args(["--listen", &format!("127.0.0.1:{replica_port}")])
        .args([
            "--node-id",
            "2",
            "--raft-listen",
            &format!("127.0.0.1:{replica_raft}"),
        ])
        .arg("--cluster-secret-file")
        .arg(&secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(replica.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{replica_port}/"))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    let _: () = redis::cmd("READONLY").query(&mut c).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v: Option<String> = redis::cmd("GET").arg("k19").query(&mut c).unwrap();
        if v.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the learner never caught up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A learner takes no writes, and is not a voter.
    let err = set(&mut c, "x", "y").unwrap_err();
    assert!(err.to_string().to_lowercase().contains("moved"), "{err}");
    let v = status_json(&primary.raft_addr(), &secret).unwrap();
    let learner = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == 2)
        .unwrap_or_else(|| panic!("node 2 not a member: {v}"));
    assert_eq!(learner["status"]["role"], "learner", "{v}");
    assert_eq!(
        v["nodes"][0]["status"]["voters"],
        serde_json::json!([1]),
        "{v}"
    );
    let _ = replica.kill();
    let _ = replica.wait();
}
