//! `drkit demo`, the README's first command: the whole story runs and proves itself.

use super::common::*;

#[test]
fn demo_recovers_every_acknowledged_write_and_restores_to_the_target_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = drkit()
        .args(["demo", "--records", "20000", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASS: nothing acknowledged was lost"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("PASS: the restored dir is exactly the state at the target time"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("taken while an engine ran"),
        "{}",
        text(&out)
    );
    // Kept with --dir: the data dir, the repository and the restored dir, all usable.
    for d in ["demo", "demo-backups", "demo-restored"] {
        assert!(tmp.path().join(d).is_dir(), "{d}");
    }
    let out = drkit()
        .args(["backup", "verify", "--repo"])
        .arg(tmp.path().join("demo-backups"))
        .output()
        .unwrap();
    assert_exit(&out, 0, "the demo's backups verify");
}

#[test]
fn demo_cluster_fails_over_and_finds_every_write_on_every_node() {
    let tmp = tempfile::tempdir().unwrap();
    let out = drkit()
        .args(["demo", "--cluster", "--writes", "100", "--json", "--dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_exit(&out, 0, "demo --cluster");
    let v = json_report(&out.stdout);
    let r = &v["report"];
    assert_eq!(v["type"], "demo-cluster", "{v}");
    assert_ne!(r["new_leader"], r["first_leader"], "{v}");
    assert!(r["new_term"].as_u64() > r["first_term"].as_u64(), "{v}");
    assert_eq!(r["old_leader_role_after"], "follower", "{v}");
    assert_eq!(r["acknowledged"], 200, "{v}");
    let nodes = r["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{v}");
    for n in nodes {
        assert_eq!(n["present"], 200, "{v}");
        assert_eq!(n["missing"], 0, "{v}");
    }
    // The nodes' dirs and logs stay, and the killed leader logged the term it led.
    let first = r["first_leader"].as_u64().unwrap();
    let log = std::fs::read_to_string(tmp.path().join(format!("node{first}.log"))).unwrap();
    assert!(log.contains("is the leader of term 1"), "{log}");
}

#[test]
fn demo_cluster_dr_restores_a_new_cluster_to_just_before_the_fat_finger_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let out = drkit()
        .args(["demo", "--cluster-dr", "--writes", "100", "--json", "--dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_exit(&out, 0, "demo --cluster-dr");
    let v = json_report(&out.stdout);
    let r = &v["report"];
    assert_eq!(v["type"], "demo-cluster-dr", "{v}");
    assert_ne!(r["full_backup_node"], r["incremental_backup_node"], "{v}");
    assert_ne!(r["new_leader"], r["killed_leader"], "{v}");
    assert_eq!(r["archive_gaps"], 0, "{v}");
    assert_eq!(r["acknowledged_before_target"], 400, "{v}");
    assert_eq!(r["deleted_after_target"], 200, "{v}");
    let nodes = r["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{v}");
    for n in nodes {
        assert_eq!(n["present"], 400, "{v}");
        assert_eq!(n["missing"], 0, "{v}");
        assert_eq!(n["wrong"], 0, "{v}");
        assert_eq!(n["after_target"], 0, "{v}");
    }
    // The old nodes' dirs are gone; the restored ones are there.
    for i in 1..=3 {
        assert!(!tmp.path().join(format!("node{i}")).exists());
        assert!(
            tmp.path()
                .join(format!("restored{i}"))
                .join("raft")
                .is_dir()
        );
    }
}
