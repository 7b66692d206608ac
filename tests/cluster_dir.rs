//! A cluster node's data dir as the offline tools see it: `inspect wal` shows each Raft
//! entry's term and kind, and tools that would replay the log as if every entry were
//! committed (recover, compact, backup, WAL archiving) refuse the dir with a clear error.

use super::common::*;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use drkit::cluster::{Command as Cmd, Entry, LogStore, Request, StateMachine};
use drkit::engine::{Engine, Options};
use openraft::storage::{RaftLogStorageExt, RaftStateMachine};
use openraft::{CommittedLeaderId, EntryPayload, LogId, Membership};

fn id(term: u64, index: u64) -> LogId<u64> {
    LogId {
        leader_id: CommittedLeaderId::new(term, 0),
        index,
    }
}

/// A node's dir after: membership at 0 (term 1), three puts, a new leader's blank entry at
/// term 2 and one more put; everything up to 3 applied.
fn build_node(dir: &Path) {
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
        let mut store = LogStore::open(dir, 1 << 20, Arc::new(|| 0)).unwrap();
        let mut sm = StateMachine::new(Arc::clone(&engine)).unwrap();
        let put = |term, index: u64, key: &str| Entry {
            log_id: id(term, index),
            payload: EntryPayload::Normal(Request {
                timestamp_ns: 1_700_000_000_000_000_000 + index as i64,
                command: Cmd::Put {
                    key: drkit::format::record::plain_key(key.as_bytes()),
                    value: b"v".to_vec(),
                },
            }),
        };
        let entries = vec![
            Entry {
                log_id: id(1, 0),
                payload: EntryPayload::Membership(Membership::new(
                    vec![BTreeSet::from([1, 2, 3])],
                    None,
                )),
            },
            put(1, 1, "a"),
            put(1, 2, "b"),
            put(1, 3, "c"),
            Entry {
                log_id: id(2, 4),
                payload: EntryPayload::Blank,
            },
            put(2, 5, "d"),
        ];
        store.blocking_append(entries.clone()).await.unwrap();
        sm.apply(entries[..4].to_vec()).await.unwrap();
        engine.flush().unwrap();
    });
}

#[test]
fn inspect_wal_shows_terms_and_raft_entry_kinds() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let out = drkit()
        .args(["inspect", "wal", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit(&out, 0, "inspect wal on a cluster dir");
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v.get("seq").is_some())
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
}

#[test]
fn recover_compact_and_backups_refuse_a_cluster_dir_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    build_node(dir.path());
    let before = dir_snapshot(dir.path());
    for args in [vec!["recover"], vec!["compact"], vec!["scan"]] {
        let out = drkit().args(&args).arg(dir.path()).output().unwrap();
        assert!(!out.status.success(), "{args:?} accepted a cluster dir");
        let t = text(&out);
        assert!(t.contains("cluster node's data dir"), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{t}");
    }
    let out = drkit()
        .arg("get")
        .arg(dir.path())
        .arg("a")
        .output()
        .unwrap();
    assert!(
        text(&out).contains("cluster node's data dir"),
        "get: {}",
        text(&out)
    );
    let repo = tempfile::tempdir().unwrap();
    for args in [
        vec!["backup", "create", "--repo"],
        vec!["wal", "archive", "--repo"],
    ] {
        let out = drkit()
            .args(&args)
            .arg(repo.path().join("r"))
            .arg("--data")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted a cluster dir");
        assert!(
            text(&out).contains("cluster node's data dir"),
            "{args:?}: {}",
            text(&out)
        );
    }
    assert_eq!(before, dir_snapshot(dir.path()), "nothing changed");
}
