//! A cluster node's data dir as the offline tools see it: `inspect wal` shows each Raft
//! entry's term and kind; get, scan and backups see the committed state (flushed tables plus
//! the log up to the committed index the node recorded, never an entry past it); tools that
//! would replay or rewrite the log (recover, compact, WAL archiving) refuse the dir.

use super::common::*;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use drkit::cluster::{Command as Cmd, Entry, LogStore, Request, StateMachine};
use drkit::engine::{Engine, Options};
use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::{CommittedLeaderId, EntryPayload, LogId, Membership};

fn id(term: u64, index: u64) -> LogId<u64> {
    LogId {
        leader_id: CommittedLeaderId::new(term, 0),
        index,
    }
}

/// A node's dir after: membership at 0 (term 1), three puts, a new leader's blank entry at
/// term 2 and two more puts; everything up to 3 applied and flushed, 5 committed (so "d" is
/// committed but only in the log), 6 ("e") not committed.
fn build_node(dir: &Path) {
    build_node_with(dir, &[put_cmd("d"), put_cmd("e")], 5);
}

fn put_cmd(key: &str) -> Cmd {
    Cmd::Put {
        key: drkit::format::record::plain_key(key.as_bytes()),
        value: b"v".to_vec(),
    }
}

/// As [`build_node`], with `tail` at term 2 from index 5 on and `committed` recorded.
fn build_node_with(dir: &Path, tail: &[Cmd], committed: u64) {
    build_node_shaped(dir, tail, committed, LogShape::default());
}

/// What may differ between two nodes' logs: the leader's clock (two clusters that share an
/// id stamp their entries differently) and where segments end (`split_at`: a second segment
/// starts at that index).
struct LogShape {
    base_ns: i64,
    split_at: Option<u64>,
    node_id: u64,
    /// Entries 4 on are term-1 writes (no term-2 leader ever took over): a history that
    /// conflicts with the usual one below its committed index.
    diverged: bool,
}

impl Default for LogShape {
    fn default() -> LogShape {
        LogShape {
            base_ns: 1_700_000_000_000_000_000,
            split_at: None,
            node_id: 1,
            diverged: false,
        }
    }
}

fn build_node_shaped(dir: &Path, tail: &[Cmd], committed: u64, shape: LogShape) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = Arc::new(
            Engine::open(
                dir,
                Options {
                    cluster: true,
                    ..Options::default()
                },
            )
            .unwrap(),
        );
        // A segment fills at its first append past this size: one byte makes every append
        // start a segment.
        let segment_bytes = if shape.split_at.is_some() { 1 } else { 1 << 20 };
        let mut store = LogStore::open(dir, segment_bytes, Arc::new(|| 0)).unwrap();
        store.set_identity(shape.node_id, [7; 16]).unwrap();
        let last_term = if shape.diverged { 1 } else { 2 };
        store
            .save_vote(&openraft::Vote::new_committed(last_term, 1))
            .await
            .unwrap();
        let mut sm = StateMachine::new(Arc::clone(&engine), &store).unwrap();
        let normal = |term, index: u64, command: Cmd| Entry {
            log_id: id(term, index),
            payload: EntryPayload::Normal(Request {
                timestamp_ns: shape.base_ns + index as i64,
                command,
            }),
        };
        let mut entries = vec![
            Entry {
                log_id: id(1, 0),
                payload: EntryPayload::Membership(Membership::new(
                    vec![BTreeSet::from([1, 2, 3])],
                    None,
                )),
            },
            normal(1, 1, put_cmd("a")),
            normal(1, 2, put_cmd("b")),
            normal(1, 3, put_cmd("c")),
        ];
        if shape.diverged {
            entries.push(normal(1, 4, put_cmd("x")));
        } else {
            entries.push(Entry {
                log_id: id(2, 4),
                payload: EntryPayload::Blank,
            });
        }
        for (i, c) in tail.iter().enumerate() {
            entries.push(normal(last_term, 5 + i as u64, c.clone()));
        }
        let split = shape.split_at.map_or(entries.len(), |i| i as usize);
        let (head, tail) = entries.split_at(split);
        for part in [head, tail].into_iter().filter(|p| !p.is_empty()) {
            store.blocking_append(part.to_vec()).await.unwrap();
        }
        sm.apply(entries[..4].to_vec()).await.unwrap();
        engine.flush().unwrap();
        store
            .save_committed(Some(id(last_term, committed)))
            .await
            .unwrap();
    });
}

#[test]
fn inspect_wal_shows_terms_and_raft_entry_kinds() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let out = inspect_wal_json(dir.path());
    assert_exit(&out, 0, "inspect wal on a cluster dir");
    let rows: Vec<serde_json::Value> = json_lines(&out)
        .into_iter()
        .filter(|v| v.get("seq").is_some())
        .collect();
    let kinds: Vec<(u64, u64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["term"].as_u64().unwrap(),
                r["entry_type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (0, 1, "membership".to_string()),
            (1, 1, "put".to_string()),
            (2, 1, "put".to_string()),
            (3, 1, "put".to_string()),
            (4, 2, "blank".to_string()),
            (5, 2, "put".to_string()),
            (6, 2, "put".to_string()),
        ],
        "{}",
        text(&out)
    );
    let human = drkit()
        .args(["inspect", "wal"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        text(&human).contains("membership voters [[1,2,3]]"),
        "{}",
        text(&human)
    );
    let out = drkit()
        .args(["inspect", "dir", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit(&out, 0, "inspect dir on a cluster dir");
    let summary = json_lines(&out)
        .into_iter()
        .find(|v| v.get("raft").is_some())
        .expect("a summary line");
    assert_eq!(summary["raft"]["committed_index"], 5, "{summary}");
}

#[test]
fn recover_and_compact_refuse_a_cluster_dir_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let before = dir_snapshot(dir.path());
    for args in [vec!["recover"], vec!["compact"]] {
        let out = drkit().args(&args).arg(dir.path()).output().unwrap();
        assert!(!out.status.success(), "{args:?} accepted a cluster dir");
        let t = text(&out);
        assert!(t.contains("cluster node's data dir"), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{t}");
    }
    assert_eq!(before, dir_snapshot(dir.path()), "nothing changed");
}

#[test]
fn wal_archive_of_a_node_takes_only_its_committed_log_and_restores_past_a_backup() {
    let root = tempfile::tempdir().unwrap();
    // Node 2 of the same cluster, backed up when only 3 was committed.
    let early = root.path().join("early");
    build_node_with(&early, &[], 3);
    let repo = root.path().join("repo");
    let out = backup_create(&repo, &early, &[]);
    assert_exit(&out, 0, "backup of a node at committed index 3");
    // Node 1 holds 6 entries past the membership, 5 committed: 6 ("e") never is archived.
    let dir = root.path().join("n1");
    build_node(&dir);
    let out = drkit()
        .args(["wal", "archive", "--json", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "wal archive of a cluster node");
    let r = &json_report(&out.stdout)["report"];
    assert_eq!(r["history_id"], "07".repeat(16), "{r}");
    assert_eq!(r["range"], serde_json::json!([0, 5]), "{r}");
    assert_eq!(r["gaps"], serde_json::json!([]), "{r}");
    // Past the committed index the repository cannot reach.
    let target = root.path().join("restored");
    let out = drkit()
        .args(["restore", "--to-seq", "6", "--repo"])
        .arg(&repo)
        .arg("--target")
        .arg(&target)
        .output()
        .unwrap();
    assert_exit(&out, 12, "restore past the committed index");
    // Up to it: the backup of the other node, then the archived entries 4 and 5.
    let out = drkit()
        .args(["restore", "--json", "--to-seq", "5", "--repo"])
        .arg(&repo)
        .arg("--target")
        .arg(&target)
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore to the committed index");
    let done = json_lines(&out)
        .into_iter()
        .find(|v| v["type"] == "restored")
        .unwrap();
    assert_eq!(done["report"]["reached_seq"], 5, "{done}");
    assert_eq!(done["report"]["replayed"], 2, "{done}");
    for key in ["a", "b", "c", "d"] {
        assert_exit(&get(&target, key), 0, &format!("get {key}"));
    }
    assert!(
        !get(&target, "e").status.success(),
        "an uncommitted entry restored"
    );
}

fn inspect_wal_json(dir: &Path) -> std::process::Output {
    drkit()
        .args(["inspect", "wal", "--json"])
        .arg(dir)
        .output()
        .unwrap()
}

fn backup_create(repo: &Path, data: &Path, extra: &[&str]) -> std::process::Output {
    drkit()
        .args(["backup", "create"])
        .args(extra)
        .arg("--repo")
        .arg(repo)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

fn restore_into(repo: &Path, target: &Path) -> std::process::Output {
    drkit()
        .args(["restore", "--repo"])
        .arg(repo)
        .arg("--target")
        .arg(target)
        .output()
        .unwrap()
}

fn get(dir: &Path, key: &str) -> std::process::Output {
    drkit().arg("get").arg(dir).arg(key).output().unwrap()
}

#[test]
fn get_and_scan_show_the_committed_state_and_nothing_past_it() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let before = dir_snapshot(dir.path());
    for key in ["a", "b", "c", "d"] {
        let out = get(dir.path(), key);
        assert_exit(&out, 0, &format!("get {key}"));
    }
    let out = get(dir.path(), "e");
    assert!(!out.status.success(), "an uncommitted entry was shown");
    assert!(text(&out).contains("no key e"), "{}", text(&out));
    let out = drkit()
        .args(["scan", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit(&out, 0, "scan");
    let keys: Vec<String> = json_lines(&out)
        .iter()
        .filter_map(|v| v["key"].as_str().map(str::to_string))
        .collect();
    assert_eq!(keys, ["a", "b", "c", "d"], "{}", text(&out));
    assert!(
        text(&out).contains("committed state up to log index 5"),
        "{}",
        text(&out)
    );
    assert_eq!(before, dir_snapshot(dir.path()), "nothing changed");
}

#[test]
fn a_damaged_committed_entry_is_an_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    // Flip a byte inside entry 5 ("d"), committed but not flushed: found through inspect.
    let out = inspect_wal_json(dir.path());
    let row = json_lines(&out)
        .into_iter()
        .find(|v| v["seq"].as_u64() == Some(5))
        .expect("entry 5 listed");
    let file = dir
        .path()
        .join("wal")
        .join(row["segment"].as_str().unwrap());
    let offset = row["offset"].as_u64().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[offset as usize + 12] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();

    let out = get(dir.path(), "a");
    assert!(
        !out.status.success(),
        "a damaged committed entry went unnoticed"
    );
    let t = text(&out);
    assert!(t.contains(file.to_str().unwrap()), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    let repo = tempfile::tempdir().unwrap();
    let out = backup_create(&repo.path().join("r"), dir.path(), &[]);
    assert!(!out.status.success(), "backup of a damaged log succeeded");
    assert!(
        text(&out).contains(file.to_str().unwrap()),
        "{}",
        text(&out)
    );
}

#[test]
fn a_backup_of_a_node_restores_its_committed_state_as_a_standalone_dir() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let before = dir_snapshot(dir.path());
    let repo = tempfile::tempdir().unwrap();
    let repo = repo.path().join("r");
    let out = backup_create(&repo, dir.path(), &[]);
    assert_exit(&out, 0, "backup create of a cluster dir");
    assert!(
        text(&out).contains("committed state up to log index 5"),
        "{}",
        text(&out)
    );
    // The backup adds only its lock and the (emptied) dir its exports live in.
    let after = dir_snapshot(dir.path());
    let changed: Vec<_> = after
        .keys()
        .chain(before.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(
        changed.iter().all(|p| {
            let p = p.to_string_lossy();
            p == "LOCK" || p == "backup-points"
        }),
        "the node's dir changed: {changed:?}"
    );

    let target = tempfile::tempdir().unwrap();
    let target = target.path().join("restored");
    let out = restore_into(&repo, &target);
    assert_exit(&out, 0, "restore");
    assert!(!target.join("raft").exists(), "the Raft state was restored");
    for key in ["a", "b", "c", "d"] {
        assert_exit(&get(&target, key), 0, &format!("get {key} after restore"));
    }
    assert!(
        !get(&target, "e").status.success(),
        "uncommitted e restored"
    );

    // A standalone engine opens it; a cluster node refuses it (its data would be skipped).
    {
        let e = Engine::open(&target, Options::default()).unwrap();
        assert_eq!(e.get(b"d").unwrap().as_deref(), Some(&b"v"[..]));
    }
    let err = Engine::open(
        &target,
        Options {
            cluster: true,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("standalone data dir"), "{err}");

    // An incremental backup reuses the node's tables.
    let out = backup_create(&repo, dir.path(), &["--type", "incr", "--json"]);
    assert_exit(&out, 0, "incremental backup of a cluster dir");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["reused_files"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["cluster"]["committed_index"], 5, "{v}");
}

/// Deletes and batches in the committed tail reach a backup as they reach the node: a
/// deleted key is gone, a batch's writes all apply, and nothing past the commit shows.
#[test]
fn a_backup_applies_deletes_and_batches_of_the_committed_tail() {
    let dir = tempfile::tempdir().unwrap();
    let del = |k: &str| Cmd::Delete {
        key: drkit::format::record::plain_key(k.as_bytes()),
    };
    let b_w = Cmd::Put {
        key: drkit::format::record::plain_key(b"b"),
        value: b"w".to_vec(),
    };
    build_node_with(
        dir.path(),
        &[del("a"), Cmd::Batch(vec![b_w, del("c")]), put_cmd("z")],
        6,
    );
    let repo = tempfile::tempdir().unwrap();
    let repo = repo.path().join("r");
    let out = backup_create(&repo, dir.path(), &[]);
    assert_exit(&out, 0, "backup create");
    let target = tempfile::tempdir().unwrap();
    let target = target.path().join("restored");
    let out = restore_into(&repo, &target);
    assert_exit(&out, 0, "restore");
    let b = drkit::format::record::plain_key(b"b");
    assert_eq!(full_scan(&target), vec![(b, b"w".to_vec())]);
}

fn force_new(dir: &Path, node_id: &str, extra: &[&str]) -> std::process::Output {
    drkit()
        .args(["cluster", "force-new", "--json", "--data"])
        .arg(dir)
        .args(["--node-id", node_id])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn force_new_keeps_the_committed_state_and_moves_the_uncommitted_tail_to_lost() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    // The membership this node recorded names no addresses: they must be given.
    let out = force_new(dir.path(), "1", &[]);
    assert_exit(&out, 1, "force-new without an address");
    assert!(text(&out).contains("--raft-addr"), "{}", text(&out));

    let out = force_new(dir.path(), "1", &["--raft-addr", "127.0.0.1:1"]);
    assert_exit(&out, 3, "force-new dropping the uncommitted entry");
    let r = &json_report(&out.stdout)["report"];
    assert_eq!(r["kept_index"], 5, "{r}");
    assert_eq!(r["kept_term"], 2, "{r}");
    assert_eq!(r["kept_log_entries"], 2, "{r}");
    assert_eq!(r["dropped_entries"], 1, "{r}");
    assert_eq!(r["dropped_from"], 6, "{r}");
    assert_eq!(r["dropped_to"], 6, "{r}");
    assert_ne!(r["new_cluster_id"], r["old_cluster_id"], "{r}");
    let lost = Path::new(r["lost_dir"].as_str().unwrap());
    assert!(lost.starts_with(dir.path().join("lost")), "{r}");
    assert_eq!(std::fs::read_dir(lost.join("wal")).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_dir(dir.path().join("wal")).unwrap().count(),
        0
    );
    assert!(!dir.path().join("raft").join("FORCE-NEW").exists());

    for key in ["a", "b", "c", "d"] {
        assert_exit(&get(dir.path(), key), 0, &format!("get {key}"));
    }
    let out = get(dir.path(), "e");
    assert!(!out.status.success(), "the uncommitted entry was kept");

    // Run again: nothing more to drop, the same state.
    let out = force_new(dir.path(), "1", &[]);
    assert_exit(&out, 0, "a second force-new");
    let r = &json_report(&out.stdout)["report"];
    assert_eq!(r["kept_index"], 5, "{r}");
    assert_eq!(r["dropped_entries"], 0, "{r}");
    assert_eq!(r["raft_addr"], "127.0.0.1:1", "{r}");
    assert_exit(&get(dir.path(), "d"), 0, "get d after the second run");
}

#[test]
fn a_node_refuses_to_start_while_a_force_new_is_unfinished_and_force_new_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let marker = dir.path().join("raft").join("FORCE-NEW");
    std::fs::write(&marker, "00112233445566778899aabbccddeeff\n").unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s\n").unwrap();
    let out = drkit()
        .args(["serve", "--node-id", "1", "--listen", "127.0.0.1:1"])
        .args(["--raft-listen", "127.0.0.1:2", "--data"])
        .arg(dir.path())
        .arg("--cluster-secret-file")
        .arg(&secret)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("force-new` was interrupted"),
        "{}",
        text(&out)
    );
    let out = force_new(dir.path(), "1", &["--raft-addr", "127.0.0.1:1"]);
    assert_exit(&out, 3, "force-new finishing");
    let r = &json_report(&out.stdout)["report"];
    assert_eq!(r["resumed"], true, "{r}");
    assert_eq!(
        r["new_cluster_id"], "00112233445566778899aabbccddeeff",
        "{r}"
    );
    assert!(!marker.exists());
}

#[test]
fn force_new_refuses_a_standalone_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("plain");
    drop(Engine::open(&data, Options::default()).unwrap());
    let out = force_new(&data, "1", &[]);
    assert_exit(&out, 10, "force-new on a standalone dir");
    assert!(
        text(&out).contains("not a cluster node's dir"),
        "{}",
        text(&out)
    );
    let out = force_new(&dir.path().join("nowhere"), "1", &[]);
    assert_exit(&out, 10, "force-new on a missing dir");
    assert!(text(&out).contains("nowhere: not found"), "{}", text(&out));
}

#[test]
fn an_incremental_backup_of_another_node_never_reuses_a_table_that_only_shares_its_name() {
    let root = tempfile::tempdir().unwrap();
    // Two nodes of one cluster whose exports write their tail table under the same name and
    // size, holding different keys ("d" and "x").
    let a = root.path().join("a");
    build_node_with(&a, &[put_cmd("d")], 5);
    let b = root.path().join("b");
    build_node_with(&b, &[put_cmd("x")], 5);
    let repo = root.path().join("repo");
    assert_exit(&backup_create(&repo, &a, &[]), 0, "full backup of node a");
    let out = backup_create(&repo, &b, &["--type", "incr", "--json"]);
    assert_exit(&out, 0, "incremental backup of node b");
    let target = root.path().join("restored");
    assert_exit(
        &restore_into(&repo, &target),
        0,
        "restore of the incremental",
    );
    assert_exit(&get(&target, "x"), 0, "node b's key");
    assert!(
        !get(&target, "d").status.success(),
        "node a's table was taken for node b's"
    );
}

/// `wal archive` of a node into a repository whose history (the cluster id) already holds
/// another cluster's log of that id: refused, naming the entry, nothing added.
#[test]
fn wal_archive_refuses_the_log_of_another_cluster_with_the_same_id() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    let ours = root.path().join("ours");
    build_node(&ours);
    let out = drkit()
        .args(["wal", "archive", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&ours)
        .output()
        .unwrap();
    assert_exit(&out, 0, "wal archive of the first cluster");
    // The same cluster id, the same indexes, another leader's clock: another cluster.
    let theirs = root.path().join("theirs");
    build_node_shaped(
        &theirs,
        &[put_cmd("d"), put_cmd("e")],
        5,
        LogShape {
            base_ns: 1_800_000_000_000_000_000,
            ..LogShape::default()
        },
    );
    let before = tree_bytes(&repo);
    let out = drkit()
        .args(["wal", "archive", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&theirs)
        .output()
        .unwrap();
    assert_exit(&out, 4, "wal archive of another cluster with the same id");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Raft log entry 5")
            && err.contains("another cluster with the same id")
            && err.contains("--cluster-token"),
        "{err}"
    );
    assert_eq!(
        tree_bytes(&repo),
        before,
        "the refused archive changed the repository"
    );
    // Another node of the first cluster, whose segments end elsewhere, is accepted.
    let peer = root.path().join("peer");
    build_node_shaped(
        &peer,
        &[put_cmd("d"), put_cmd("e")],
        5,
        LogShape {
            split_at: Some(3),
            ..LogShape::default()
        },
    );
    let out = drkit()
        .args(["wal", "archive", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&peer)
        .output()
        .unwrap();
    assert_exit(&out, 0, "wal archive of another node of the same cluster");
}

/// Every file's bytes under `dir`, by path, except the lock files a run takes and drops.
fn tree_bytes(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().to_lowercase().contains("lock") {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Restore reads each index once from overlapping archived copies (segments of different
/// nodes start at different indexes); copies that disagree are two clusters' logs mixed
/// into one history, and are refused rather than stitched together.
#[test]
fn reading_overlapping_copies_of_two_clusters_logs_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let small = LogShape {
        split_at: Some(3),
        ..LogShape::default()
    };
    let other_clock = LogShape {
        base_ns: 1_800_000_000_000_000_000,
        split_at: Some(3),
        ..LogShape::default()
    };
    for (name, shape, mixed) in [("same", small, false), ("other", other_clock, true)] {
        // Index 0 to 4 from one copy, 3 to 5 from another: 5 is read from the second, after
        // 3 and 4 were compared.
        let long = root.path().join(format!("{name}-long"));
        build_node_with(&long, &[], 4);
        let split = root.path().join(format!("{name}-split"));
        build_node_shaped(&split, &[put_cmd("d"), put_cmd("e")], 5, shape);
        let split_segments: Vec<_> = std::fs::read_dir(split.join("wal"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(split_segments.len(), 2, "{split_segments:?}");
        let log = root.path().join(format!("{name}-log"));
        std::fs::create_dir(&log).unwrap();
        for seg in std::fs::read_dir(long.join("wal")).unwrap() {
            let seg = seg.unwrap().path();
            std::fs::copy(&seg, log.join(seg.file_name().unwrap())).unwrap();
        }
        for seg in &split_segments {
            let first: u64 = seg.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            if first >= 3 {
                std::fs::copy(seg, log.join(seg.file_name().unwrap())).unwrap();
            }
        }
        let read = drkit::cluster::offline::read_log(&log, 0, Some(5));
        if mixed {
            let err = read.unwrap_err().to_string();
            assert!(err.contains("two clusters with the same id"), "{err}");
        } else {
            assert_eq!(read.unwrap().entries.len(), 5);
        }
    }
}

/// A node whose committed log conflicts with the cluster's (a dir from another history of
/// the cluster, same id): when the leader's entries would truncate its committed entries, it
/// stops serving and exits non-zero saying what to do, rather than serve writes the cluster
/// never made.
#[test]
fn a_node_whose_committed_log_conflicts_with_the_leaders_stops_and_says_what_to_do() {
    use super::cluster_procs::free_port;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "two histories\n").unwrap();
    let raft: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let routes: Vec<String> = raft
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}=127.0.0.1:{p}", i + 1))
        .collect();
    let dirs: Vec<_> = (1..=3u64)
        .map(|id| {
            let dir = root.path().join(format!("n{id}"));
            build_node_shaped(
                &dir,
                &[put_cmd("d"), put_cmd("e")],
                5,
                LogShape {
                    node_id: id,
                    diverged: id == 3,
                    ..LogShape::default()
                },
            );
            dir
        })
        .collect();
    let start = |id: usize| {
        let mut cmd = Command::new(drkit_path());
        cmd.args(["serve", "--json", "--timing", "fast", "--data"])
            .arg(&dirs[id - 1])
            .args(["--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--node-id", &id.to_string()])
            .args(["--raft-listen", &format!("127.0.0.1:{}", raft[id - 1])])
            .arg("--cluster-secret-file")
            .arg(&secret);
        for r in &routes {
            cmd.args(["--raft-route", r]);
        }
        let mut child = cmd
            .env_remove("DRKIT_REQUIREPASS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        assert!(line.contains("listening"), "node {id}: {line:?}");
        (child, out)
    };
    let (mut n1, _o1) = start(1);
    let (mut n2, _o2) = start(2);
    // Nodes 1 and 2 elect a leader; then node 3, with the other history, meets it.
    let status = |port: u16| {
        drkit()
            .args(["cluster", "status", "--json", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--cluster-secret-file")
            .arg(&secret)
            .output()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = status(raft[0]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v["nodes"][0]["status"]["leader"].is_u64() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no leader: {}",
            text(&out)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (mut n3, _o3) = start(3);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let code = loop {
        if let Some(s) = n3.try_wait().unwrap() {
            break s.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = n3.kill();
            let _ = n3.wait();
            let mut err = String::new();
            std::io::Read::read_to_string(&mut n3.stderr.take().unwrap(), &mut err).unwrap();
            panic!("node 3 kept serving another history: {err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut n3.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("drkit: cluster node stopped serving")
            && err.contains("Raft log divergence: entry 2-6")
            && err.contains("wipe it and rejoin"),
        "{err}"
    );
    // Its dir is left as it was: the committed entries are still there to inspect.
    assert_exit(&get(&dirs[2], "x"), 0, "the diverged node's own write");
    for c in [&mut n1, &mut n2] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
