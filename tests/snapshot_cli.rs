//! Snapshots for fast recovery: recovery loads the newest valid one and replays only the WAL
//! after it; a damaged one is reported and skipped, never trusted.

use std::fs;
use std::path::Path;

use drkit::engine::{Engine, Options, SyncPolicy};

use super::common::*;

fn opts() -> Options {
    Options {
        sync: SyncPolicy::Never,
        memtable_bytes: 64 << 20,
        ..Options::default()
    }
}

/// 1000 writes, a snapshot, then 50 more writes: the tail recovery should replay.
fn build(dir: &Path) {
    let e = Engine::open(dir, opts()).unwrap();
    for i in 0..1000 {
        e.put(
            format!("k{:04}", i % 600).as_bytes(),
            format!("v{i}").as_bytes(),
        )
        .unwrap();
    }
    e.delete(b"k0001").unwrap();
    let info = e
        .create_snapshot()
        .unwrap()
        .expect("data above the checkpoint");
    assert_eq!(info.seq, 1001);
    for i in 0..50 {
        e.put(
            format!("k{:04}", i).as_bytes(),
            format!("tail{i}").as_bytes(),
        )
        .unwrap();
    }
}

fn recover_json(dir: &Path) -> serde_json::Value {
    let out = drkit()
        .args(["recover", "--json"])
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()["report"].clone()
}

fn check_content(dir: &Path) {
    let e = Engine::open(dir, Options::default()).unwrap();
    assert_eq!(e.get(b"k0001").unwrap().as_deref(), Some(&b"tail1"[..]));
    assert_eq!(e.get(b"k0002").unwrap().as_deref(), Some(&b"tail2"[..]));
    assert_eq!(e.get(b"k0100").unwrap().as_deref(), Some(&b"v700"[..]));
    assert_eq!(e.get(b"k0599").unwrap().as_deref(), Some(&b"v599"[..]));
    assert_eq!(
        e.scan(&[], std::ops::Bound::Unbounded).unwrap().count(),
        600
    );
}

#[test]
fn recovery_with_a_snapshot_replays_only_the_tail() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let r = recover_json(tmp.path());
    assert_eq!(r["snapshot"]["seq"], 1001);
    assert_eq!(r["replayed"], 50, "only the WAL after the snapshot: {r}");
    assert_eq!(r["skipped"], 1001);
    check_content(tmp.path());
}

#[test]
fn a_damaged_snapshot_is_reported_and_skipped_for_a_full_replay() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let snap = fs::read_dir(tmp.path().join("snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&snap, &bytes).unwrap();
    let r = recover_json(tmp.path());
    assert!(r["snapshot"].is_null(), "{r}");
    assert_eq!(r["snapshots_skipped"].as_array().unwrap().len(), 1);
    assert!(
        r["snapshots_skipped"][0]["what"]
            .as_str()
            .unwrap()
            .contains("checksum"),
        "{r}"
    );
    assert_eq!(r["replayed"], 1051, "a full replay");
    check_content(tmp.path());
    // list shows it as damaged; prune removes it.
    let out = drkit()
        .args(["snapshot", "list"])
        .arg(tmp.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("DAMAGED"));
    drkit()
        .args(["snapshot", "prune"])
        .arg(tmp.path())
        .assert()
        .success();
    assert_eq!(
        fs::read_dir(tmp.path().join("snapshots")).unwrap().count(),
        0
    );
}

#[test]
fn snapshot_create_list_prune_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let e = Engine::open(tmp.path(), opts()).unwrap();
        for i in 0..100 {
            e.put(format!("a{i}").as_bytes(), b"x").unwrap();
        }
    }
    for _ in 0..3 {
        let out = drkit()
            .args(["snapshot", "create", "--json"])
            .arg(tmp.path())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["snapshot"]["entries"], 100);
    }
    // Opening to snapshot recovers from the previous snapshot each time, and keeps 2.
    let out = drkit()
        .args(["snapshot", "list", "--json"])
        .arg(tmp.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty() && lines.len() <= 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["status"] == "ok"));
    drkit()
        .args(["snapshot", "prune", "--keep", "1", "--dry-run"])
        .arg(tmp.path())
        .assert()
        .success();
    assert_eq!(
        fs::read_dir(tmp.path().join("snapshots")).unwrap().count(),
        lines.len()
    );
    drkit()
        .args(["snapshot", "prune", "--keep", "1"])
        .arg(tmp.path())
        .assert()
        .success();
    assert_eq!(
        fs::read_dir(tmp.path().join("snapshots")).unwrap().count(),
        1
    );
    // After a flush the checkpoint passes the snapshot: obsolete, unused, pruned.
    {
        let e = Engine::open(tmp.path(), opts()).unwrap();
        e.flush().unwrap();
    }
    let r = recover_json(tmp.path());
    assert!(r["snapshot"].is_null());
    drkit()
        .args(["snapshot", "prune"])
        .arg(tmp.path())
        .assert()
        .success();
    assert_eq!(
        fs::read_dir(tmp.path().join("snapshots")).unwrap().count(),
        0
    );
}

#[test]
fn periodic_snapshots_from_the_engine_option() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Engine::open(
        tmp.path(),
        Options {
            snapshot_interval: Some(std::time::Duration::from_millis(50)),
            ..opts()
        },
    )
    .unwrap();
    for i in 0..200 {
        e.put(format!("p{i}").as_bytes(), b"y").unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !tmp.path().join("snapshots").exists()
        || fs::read_dir(tmp.path().join("snapshots")).unwrap().count() == 0
    {
        assert!(std::time::Instant::now() < deadline, "no periodic snapshot");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(e);
    let r = recover_json(tmp.path());
    assert!(!r["snapshot"].is_null(), "{r}");
    assert!(r["replayed"].as_u64().unwrap() < 200, "{r}");
}
