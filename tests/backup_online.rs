//! Online and incremental backups: a backup of an engine under write load restores to exactly
//! the state at its recorded sequence, and a full → incr → incr chain restores each point;
//! both into a local repository and into a bucket of a real S3 server.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use drkit::engine::{Engine, Options, SyncPolicy};

use super::common::*;
use super::s3_server::S3Server;
use super::test_repo::TestRepo;
use crate::on_both_kinds;

on_both_kinds!(
    an_incremental_without_a_parent_of_the_same_history_is_taken_as_full,
    expire_keeps_what_the_policy_and_the_kept_backups_need,
    expire_applies_the_policy_per_dir_history,
    a_backup_of_a_running_engine_restores_exactly_the_state_at_its_sequence,
    a_full_incr_incr_chain_restores_each_point_and_stores_only_what_is_new,
);

type State = BTreeMap<Vec<u8>, Vec<u8>>;
/// One acknowledged write: its sequence, the key, and the value (None for a delete).
type Write = (u64, Vec<u8>, Option<Vec<u8>>);

fn small_engine(dir: &Path) -> Engine {
    Engine::open(
        dir,
        Options {
            sync: SyncPolicy::Never,
            // Small enough that flushes, compactions and segment retirement all happen while
            // the backups run.
            memtable_bytes: 64 << 10,
            wal_segment_bytes: 96 << 10,
            sst_target_bytes: 64 << 10,
            ..Options::default()
        },
    )
    .unwrap()
}

fn value(i: u64) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat((i % 97) as usize)).into_bytes()
}

fn create_in(repo: &TestRepo, data: &Path, kind: &str) -> serde_json::Value {
    let out = repo
        .cmd(&[
            "backup",
            "create",
            "--json",
            "--threads",
            "2",
            "--type",
            kind,
            "--data",
        ])
        .arg(data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup create");
    json_report(&out.stdout)
}

fn restore_from(repo: &TestRepo, id: &str, target: &Path) {
    let out = repo
        .cmd(&["restore", "-q", "--backup", id, "--target"])
        .arg(target)
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore");
}

/// A full scan as plain keys: the engine stores `put`'s keys under the `K` prefix.
fn as_state(rows: Vec<(Vec<u8>, Vec<u8>)>) -> State {
    rows.into_iter()
        .map(|(k, v)| (k.strip_prefix(b"K").unwrap().to_vec(), v))
        .collect()
}

fn a_backup_of_a_running_engine_restores_exactly_the_state_at_its_sequence(
    repo: &TestRepo,
    tmp: &Path,
) {
    let data = tmp.join("data");
    let engine = Arc::new(small_engine(&data));
    // Every acknowledged write with its sequence, in sequence order (one writer thread).
    let log: Arc<std::sync::Mutex<Vec<Write>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (engine, log, stop) = (engine.clone(), log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) || i < 3000 {
                // Overwrites and deletes, so a restored state that mixes two points in time
                // differs from both.
                let key = format!("key{:05}", i % 700).into_bytes();
                if i % 11 == 5 {
                    let seq = engine.delete(&key).unwrap();
                    log.lock().unwrap().push((seq, key, None));
                } else {
                    let seq = engine.put(&key, &value(i)).unwrap();
                    log.lock().unwrap().push((seq, key, Some(value(i))));
                }
                i += 1;
            }
        })
    };
    let mut backups = Vec::new();
    while backups.len() < 3 {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let b = create_in(repo, &data, "full");
        assert_eq!(b["online"], true, "{b}");
        backups.push(b);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    drop(engine);
    let log = log.lock().unwrap().clone();
    assert!(
        fs::read_dir(data.join("backup-points"))
            .unwrap()
            .next()
            .is_none(),
        "a finished backup leaves no point behind"
    );

    let mut last_seen = 0;
    for (n, b) in backups.iter().enumerate() {
        let last_seq = b["backup"]["last_seq"].as_u64().unwrap();
        assert!(last_seq >= last_seen, "backups are taken in order");
        last_seen = last_seq;
        let mut expected = State::new();
        for (seq, k, v) in &log {
            if *seq > last_seq {
                break;
            }
            match v {
                Some(v) => expected.insert(k.clone(), v.clone()),
                None => expected.remove(k),
            };
        }
        let target = tmp.join(format!("restored{n}"));
        restore_from(repo, b["backup"]["id"].as_str().unwrap(), &target);
        let got = as_state(full_scan(&target));
        assert_eq!(
            got.len(),
            expected.len(),
            "backup {n} at seq {last_seq}: record count"
        );
        assert!(
            got == expected,
            "backup {n} at seq {last_seq}: restored state differs from the writes up to it"
        );
    }
}

fn a_full_incr_incr_chain_restores_each_point_and_stores_only_what_is_new(
    repo: &TestRepo,
    tmp: &Path,
) {
    let data = tmp.join("data");
    let mut states = Vec::new();
    let mut backups = Vec::new();
    let mut i = 0u64;
    for (round, kind) in ["full", "incr", "incr"].iter().enumerate() {
        // After the first round no background compaction runs, so the tables each backup
        // saw stay and what the incrementals reuse is fixed; an explicit flush gives each
        // round one new table.
        let engine = if round == 0 {
            small_engine(&data)
        } else {
            Engine::open(
                &data,
                Options {
                    sync: SyncPolicy::Never,
                    background_work: false,
                    memtable_bytes: 8 << 20,
                    ..Options::default()
                },
            )
            .unwrap()
        };
        let n = if round == 0 { 4000 } else { 600 };
        for _ in 0..n {
            let key = format!("key{:05}", (i * 7) % 3000).into_bytes();
            engine.put(&key, &value(i)).unwrap();
            i += 1;
        }
        engine
            .delete(format!("key{:05}", round * 10).as_bytes())
            .unwrap();
        engine.flush().unwrap();
        drop(engine);
        states.push(as_state(full_scan(&data)));
        backups.push(create_in(repo, &data, kind));
    }
    let full = &backups[0]["backup"];
    let incr1 = &backups[1]["backup"];
    let incr2 = &backups[2]["backup"];
    assert_eq!(incr1["type"], "incr");
    assert_eq!(incr1["parent"], full["id"]);
    assert_eq!(incr2["parent"], incr1["id"]);
    for b in &backups[1..] {
        assert!(b["reused_files"].as_u64().unwrap() > 0, "{b}");
        assert!(
            b["backup"]["stored_bytes"].as_u64().unwrap() < full["stored_bytes"].as_u64().unwrap(),
            "an incremental backup stores less than the full one: {b}"
        );
    }
    // The second incremental reads the first round's tables from the full backup and the
    // second round's table from the first incremental: each reference names the backup
    // holding the bytes, never a chain.
    let refs: Vec<&str> = incr2["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(refs.contains(&full["id"].as_str().unwrap()), "{refs:?}");
    assert!(refs.contains(&incr1["id"].as_str().unwrap()), "{refs:?}");

    let out = repo
        .cmd(&["backup", "verify", "--restore-test"])
        .output()
        .unwrap();
    assert_exit(&out, 0, "verify");
    for (n, b) in backups.iter().enumerate() {
        let target = tmp.join(format!("restored{n}"));
        restore_from(repo, b["backup"]["id"].as_str().unwrap(), &target);
        assert!(
            as_state(full_scan(&target)) == states[n],
            "backup {n} ({}) does not restore the state it was taken at",
            b["backup"]["type"]
        );
    }

    // A file the incremental reads from an earlier backup is damaged: restoring the
    // incremental names it and refuses.
    let info = repo
        .cmd(&["backup", "info", "--json", incr2["id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert_exit(&info, 0, "backup info");
    let info = json_report(&info.stdout);
    let referenced = info["backup"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["stored_in"].is_string() && f["size"].as_u64().unwrap() > 0)
        .expect("the incremental references a stored file")
        .clone();
    // Tables whose blocks the engine compressed are stored as they are: a flip in the middle
    // lands in a compressed data block of the copy.
    let path = referenced["path"].as_str().unwrap();
    assert!(path.starts_with("sst/"), "{referenced}");
    assert_eq!(referenced["stored_as"], "copy", "{referenced}");
    let needed = format!(
        "backups/{}/files/{path}",
        referenced["stored_in"].as_str().unwrap()
    );
    let store = repo.store();
    let mut bytes = store.get(&needed).unwrap().unwrap();
    let mid = bytes.len() / 2;
    let block = drkit::format::sst::Sst::from_bytes(Path::new(&needed), bytes.clone())
        .unwrap()
        .blocks()
        .into_iter()
        .find(|b| (b.offset..b.offset + b.size).contains(&(mid as u64)))
        .expect("the middle of the table lies in a block");
    assert_eq!(
        (block.kind, block.compression),
        ("data", Some("zstd")),
        "{block:?}"
    );
    bytes[mid] ^= 0x10;
    store.put(&needed, &bytes).unwrap();
    let target = tmp.join("from-damaged");
    let out = repo
        .cmd(&[
            "restore",
            "--backup",
            incr2["id"].as_str().unwrap(),
            "--target",
        ])
        .arg(&target)
        .output()
        .unwrap();
    assert_exit(&out, 4, "restore of an incr whose parent file is damaged");
    let name = needed.rsplit('/').next().unwrap().to_string();
    assert!(text(&out).contains(&name), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("offset {}", block.offset)),
        "names the damaged block: {}",
        text(&out)
    );
    assert!(!target.exists());
}

fn an_incremental_without_a_parent_of_the_same_history_is_taken_as_full(
    repo: &TestRepo,
    tmp: &Path,
) {
    let data = tmp.join("data");
    let engine = small_engine(&data);
    for i in 0..500 {
        engine.put(format!("k{i}").as_bytes(), &value(i)).unwrap();
    }
    drop(engine);
    let out = repo
        .cmd(&["backup", "create", "--type", "incr"])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "incr on an empty repository");
    assert!(text(&out).contains("taken as a full one"), "{}", text(&out));
    let list = repo.cmd(&["backup", "list", "--json"]).output().unwrap();
    let line: serde_json::Value = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "backup")
        .unwrap();
    assert_eq!(line["backup"]["type"], "full");
    assert!(line["backup"]["parent"].is_null());
}

fn archive(repo: &TestRepo, data: &Path) {
    let out = repo
        .cmd(&["wal", "archive", "-q", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "wal archive");
}

fn ids(repo: &TestRepo) -> Vec<String> {
    let out = repo.cmd(&["backup", "list", "--json"]).output().unwrap();
    assert_exit(&out, 0, "list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "backup")
        .map(|v| v["backup"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every object of the repository but the locks, with its bytes.
fn objects(repo: &TestRepo) -> BTreeMap<String, Vec<u8>> {
    let store = repo.store();
    repo.keys_under("")
        .into_iter()
        .filter(|(k, _)| k != "LOCK" && k != "READERS" && !k.ends_with("/LOCK"))
        .map(|(k, _)| {
            let bytes = store.get(&k).unwrap().unwrap();
            (k, bytes)
        })
        .collect()
}

fn expire_keeps_what_the_policy_and_the_kept_backups_need(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    let mut i = 0u64;
    let mut write = |n: u64| {
        let engine = small_engine(&data);
        for _ in 0..n {
            engine
                .put(format!("key{:05}", i % 5000).as_bytes(), &value(i))
                .unwrap();
            i += 1;
        }
    };
    // full1 ← incr1; full2; full3 ← incr3a ← incr3b, where incr3b reads tables incr3a stored.
    let mut made = Vec::new();
    for (kind, writes) in [
        ("full", 3000),
        ("incr", 1500),
        ("full", 1500),
        ("full", 1500),
        ("incr", 3000),
        ("incr", 5),
    ] {
        write(writes);
        made.push(create_in(repo, &data, kind)["backup"].clone());
        archive(repo, &data);
    }
    write(3000);
    archive(repo, &data);

    let id = |n: usize| made[n]["id"].as_str().unwrap().to_string();
    let (full1, incr1, full2, full3, incr3a, incr3b) = (id(0), id(1), id(2), id(3), id(4), id(5));
    assert!(
        made[5]["references"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &made[4]["id"]),
        "the last incremental reads tables the one before stored: {}",
        made[5]
    );
    // Judged at a moment when incr3b is just under 7 days old and incr3a just over.
    let end3b =
        chrono::DateTime::parse_from_rfc3339(made[5]["end_time"].as_str().unwrap()).unwrap();
    let now = (end3b + chrono::Duration::days(7)).to_rfc3339();
    let expire = |extra: &[&str]| {
        let out = repo
            .cmd(&[
                "backup",
                "expire",
                "--json",
                "--keep-full",
                "2",
                "--now",
                &now,
            ])
            .args(extra)
            .output()
            .unwrap();
        assert_exit(&out, 0, "expire");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "expire-decision")
            .map(|v| {
                let d = &v["decision"];
                (
                    d["id"].as_str().unwrap().to_string(),
                    (
                        d["keep"].as_bool().unwrap(),
                        d["reason"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect::<BTreeMap<String, (bool, String)>>()
    };

    // (seq range of every closed archived segment, by name)
    let archived = |repo: &TestRepo| -> BTreeMap<String, (u64, u64)> {
        objects(repo)
            .into_iter()
            .filter(|(k, _)| k.starts_with("wal/") && k.ends_with(".wal.json"))
            .map(|(k, bytes)| {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                let range = (
                    v["first_seq"].as_u64().unwrap(),
                    v["last_seq"].as_u64().unwrap(),
                );
                (k.rsplit('/').next().unwrap().to_string(), range)
            })
            .collect()
    };
    let archived_before = archived(repo);
    let archive_end = archived_before.values().map(|(_, l)| *l).max().unwrap();
    assert!(
        archive_end > made[5]["last_seq"].as_u64().unwrap(),
        "the archive reaches past the newest backup"
    );
    let restored_to_end = |name: &str| {
        let target = tmp.join(name);
        let out = repo
            .cmd(&[
                "restore",
                "-q",
                "--to-seq",
                &archive_end.to_string(),
                "--target",
            ])
            .arg(&target)
            .output()
            .unwrap();
        assert_exit(&out, 0, "restore to the end of the archive");
        as_state(full_scan(&target))
    };
    let end_state = restored_to_end("end-before-expire");
    let before = objects(repo);
    let planned = expire(&["--dry-run"]);
    assert!(objects(repo) == before, "a dry run changes nothing");
    assert!(!planned[&full1].0 && !planned[&incr1].0, "{planned:#?}");
    assert!(
        planned[&full2].0 && planned[&full3].0 && planned[&incr3b].0,
        "{planned:#?}"
    );
    assert!(
        planned[&incr3a].0,
        "incr3a is old but incr3b needs it: {planned:#?}"
    );
    assert!(planned[&incr3a].1.contains(&incr3b), "{planned:#?}");

    let applied = expire(&[]);
    assert_eq!(applied, planned, "apply does what the dry run showed");
    assert_eq!(
        ids(repo),
        vec![full2.clone(), full3, incr3a, incr3b.clone()]
    );
    let out = repo
        .cmd(&["backup", "verify", "--restore-test"])
        .output()
        .unwrap();
    assert_exit(&out, 0, "every kept backup still restores");
    // WAL: the window (30 days) starts before every backup, so a restore to its start
    // begins at the oldest kept backup, full2: only segments wholly at or below its point go,
    // and the archive still carries every later point.
    let full2_seq = made[2]["last_seq"].as_u64().unwrap();
    let archived_after = archived(repo);
    assert!(
        archived_after.len() < archived_before.len(),
        "old WAL is removed"
    );
    for (name, (_, last)) in &archived_before {
        let gone = !archived_after.contains_key(name);
        assert_eq!(
            gone,
            *last < full2_seq,
            "{name} (last seq {last}) vs full2 at {full2_seq}"
        );
    }
    assert!(
        restored_to_end("end-after-expire") == end_state,
        "after expire the archive still reaches its end, with the same state"
    );

    // The newest backup is never expired, whatever the policy says.
    let again = expire(&["--keep-incr-days", "0"]);
    assert!(again[&incr3b].0, "{again:#?}");
    let out = repo
        .cmd(&["backup", "expire", "--keep-full", "0"])
        .output()
        .unwrap();
    assert_exit(&out, 2, "keep-full 0 is refused");
}

fn expire_applies_the_policy_per_dir_history(repo: &TestRepo, tmp: &Path) {
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let mut made = BTreeMap::new();
    for (dir, n) in [(&a, 2), (&b, 1), (&a, 1)] {
        for _ in 0..n {
            let engine = small_engine(dir);
            for i in 0..300u64 {
                engine.put(format!("k{i}").as_bytes(), &value(i)).unwrap();
            }
            drop(engine);
            let id = create_in(repo, dir, "full")["backup"]["id"]
                .as_str()
                .unwrap()
                .to_string();
            made.entry(dir.clone()).or_insert_with(Vec::new).push(id);
        }
    }
    let out = repo
        .cmd(&["backup", "expire", "-q", "--keep-full", "1"])
        .output()
        .unwrap();
    assert_exit(&out, 0, "expire");
    // Dir b's only full backup is older than dir a's newest two, yet it is b's newest.
    let left = ids(repo);
    assert_eq!(
        left,
        vec![made[&b][0].clone(), made[&a][2].clone()],
        "each history keeps its newest full backup"
    );
}
