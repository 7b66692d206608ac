//! `drkit get` and `drkit scan`: offline reads with typed rendering, on healthy and crashed
//! dirs, changing nothing.

use std::fs;
use std::path::Path;

use drkit::engine::{Engine, Options, SyncPolicy};
use drkit::format::record::{Account, Order, Side};

use super::common::*;

fn build(dir: &Path) {
    let e = Engine::open(
        dir,
        Options {
            sync: SyncPolicy::Never,
            ..Options::default()
        },
    )
    .unwrap();
    for i in 0..50 {
        e.put_order(&Order {
            order_id: format!("o{i:03}"),
            user_id: "u1".into(),
            instrument_id: "BTC-USD".into(),
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            price: 100.0 + f64::from(i),
            volume: 1.5,
        })
        .unwrap();
    }
    e.flush().unwrap();
    e.put_account(&Account {
        user_id: "u1".into(),
        balance: 100.25,
        available: 90.0,
        frozen: 10.25,
        margin: 0.0,
    })
    .unwrap();
    e.put(b"greeting", b"hello").unwrap();
    e.put(b"bin", &[0, 159, 146, 150]).unwrap();
    e.delete_raw(b"Oo049").unwrap();
}

#[test]
fn get_renders_typed_and_plain_records() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let out = drkit()
        .args(["get"])
        .arg(tmp.path())
        .arg("order:o007")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("SELL 1.5 BTC-USD @ 107 user u1"), "{text}");
    let out = drkit()
        .args(["get", "--json"])
        .arg(tmp.path())
        .arg("account:u1")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["kind"], "account");
    assert_eq!(v["value"]["balance"], 100.25);
    let out = drkit()
        .args(["get", "--json"])
        .arg(tmp.path())
        .arg("greeting")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["value"]["text"], "hello");
    let out = drkit()
        .args(["get"])
        .arg(tmp.path())
        .arg("bin")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(out).unwrap().contains("0x009f9296"));
    // Deleted and absent keys: exit 10 and one line.
    for key in ["order:o049", "order:nope"] {
        let a = drkit()
            .args(["get"])
            .arg(tmp.path())
            .arg(key)
            .assert()
            .code(10);
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("drkit: ") && err.contains(key), "{err}");
    }
    drkit()
        .args(["get"])
        .arg(tmp.path())
        .arg("0xzz")
        .assert()
        .code(1);
}

#[test]
fn scan_by_prefix_range_and_limit() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = drkit()
            .arg("scan")
            .arg(tmp.path())
            .args(args)
            .arg("--json")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let orders = lines(&["--prefix", "order:", "--limit", "0"]);
    assert_eq!(orders.len(), 49 + 1, "49 live orders and a summary");
    assert!(orders[..49].iter().all(|v| v["kind"] == "order"));
    assert_eq!(orders[49]["records"], 49);
    let range = lines(&["--from", "order:o010", "--to", "order:o020"]);
    assert_eq!(range.len(), 11);
    assert_eq!(range[0]["key"], "o010");
    let limited = lines(&["--limit", "5"]);
    assert_eq!(limited.len(), 6);
    assert_eq!(limited[5]["limit_reached"], true);
    let all = lines(&["--limit", "0"]);
    assert_eq!(
        all.len(),
        49 + 1 + 2 + 1,
        "orders, the account, two plain keys, summary"
    );
    let human = drkit()
        .arg("scan")
        .arg(tmp.path())
        .args(["--prefix", "account:"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let human = String::from_utf8(human).unwrap();
    assert!(
        human.contains("balance 100.25 available 90 frozen 10.25 margin 0"),
        "{human}"
    );
    assert!(human.contains("1 records"), "{human}");
}

#[test]
fn reads_change_nothing_and_work_after_sigkill_like_damage() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    // A torn tail, as a SIGKILL mid-write leaves it.
    let seg = segments(tmp.path()).pop().unwrap();
    let mut f = fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, &[0x42; 11]).unwrap();
    drop(f);
    let before = dir_state(tmp.path());
    drkit()
        .args(["get"])
        .arg(tmp.path())
        .arg("greeting")
        .assert()
        .success();
    drkit()
        .args(["scan", "--limit", "0"])
        .arg(tmp.path())
        .assert()
        .success();
    drkit()
        .args(["scan", "--json", "--prefix", "order:"])
        .arg(tmp.path())
        .assert()
        .success();
    assert_eq!(dir_state(tmp.path()), before, "a read changed the dir");
}

#[test]
fn reads_refuse_a_running_engine_and_bad_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let engine = Engine::open(tmp.path(), Options::default()).unwrap();
    let a = drkit().args(["scan"]).arg(tmp.path()).assert().code(11);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("LOCK"));
    drop(engine);
    drkit()
        .args(["scan"])
        .arg(tmp.path().join("nope"))
        .assert()
        .code(10);
    drkit()
        .args(["get"])
        .arg(tmp.path().join("wal"))
        .arg("k")
        .assert()
        .code(10);
}
