use std::sync::Arc;
use std::time::Duration;

use openraft::storage::{
    RaftLogReader, RaftLogStorage, RaftLogStorageExt, RaftSnapshotBuilder, RaftStateMachine,
};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, EntryPayload, Membership, StorageError, Vote};
use tempfile::TempDir;

use super::*;
use crate::engine::{Engine, Options};

fn cluster_options() -> Options {
    Options {
        cluster: true,
        // Small, so the tests cross segments, memtable flushes and compactions.
        wal_segment_bytes: 64 << 10,
        memtable_bytes: 256 << 10,
        ..Options::default()
    }
}

fn open_node(dir: &std::path::Path) -> (LogStore, StateMachine) {
    let engine = Arc::new(Engine::open(dir, cluster_options()).unwrap());
    let floor_engine = Arc::clone(&engine);
    let store = LogStore::open(
        dir,
        64 << 10,
        Arc::new(move || floor_engine.checkpoint_seq()),
    )
    .unwrap();
    let sm = StateMachine::new(engine, &store).unwrap();
    (store, sm)
}

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().unwrap();
        let (store, sm) = open_node(dir.path());
        Ok((dir, store, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(Builder).unwrap();
}

/// 0.9.25's `test_all` returns before its snapshot test; run that one on its own.
#[test]
fn openraft_storage_suite_transfer_snapshot() {
    rt().block_on(
        Suite::<TypeConfig, LogStore, StateMachine, Builder, TempDir>::transfer_snapshot(&Builder),
    )
    .unwrap();
}

fn id(term: u64, index: u64) -> LogId {
    LogId {
        leader_id: CommittedLeaderId::new(term, 0),
        index,
    }
}

fn put(term: u64, index: u64, key: &str, value: &str) -> Entry {
    Entry {
        log_id: id(term, index),
        payload: EntryPayload::Normal(Request {
            timestamp_ns: index as i64,
            command: Command::Put {
                key: crate::format::record::plain_key(key.as_bytes()),
                value: value.as_bytes().to_vec(),
            },
        }),
    }
}

/// The entry a new leader writes first in its term.
fn blank(term: u64, index: u64) -> Entry {
    Entry {
        log_id: id(term, index),
        payload: EntryPayload::Blank,
    }
}

async fn append(store: &mut LogStore, entries: Vec<Entry>) {
    store.blocking_append(entries).await.unwrap();
}

/// Appends `entries` to the log, then applies them: the state machine applies nothing the
/// log does not hold on disk.
async fn apply_logged(store: &mut LogStore, sm: &mut StateMachine, entries: Vec<Entry>) {
    append(store, entries.clone()).await;
    sm.apply(entries).await.unwrap();
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn log_survives_reopen_across_segments_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let value = "v".repeat(900);
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        let entries: Vec<Entry> = (0..400)
            .map(|i| put(1, i, &format!("k{i}"), &value))
            .collect();
        for chunk in entries.chunks(37) {
            append(&mut store, chunk.to_vec()).await;
        }
        assert!(store.segment_paths().len() > 3, "segments rotate");
        // A new leader's entries replace an uncommitted suffix.
        store.truncate(id(1, 350)).await.unwrap();
        let mut new_term = vec![blank(2, 350)];
        new_term.extend((351..360).map(|i| put(2, i, "x", "y")));
        append(&mut store, new_term).await;
    });
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        let st = store.get_log_state().await.unwrap();
        assert_eq!(st.last_log_id, Some(id(2, 359)));
        let all = store.try_get_log_entries(0..).await.unwrap();
        assert_eq!(all.len(), 360);
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.log_id.index, i as u64);
            assert_eq!(e.log_id.leader_id.term, if i < 350 { 1 } else { 2 });
        }
        // A range read from disk (nothing cached after a reopen) in the middle.
        let mid = store.try_get_log_entries(120..130).await.unwrap();
        assert_eq!(mid.len(), 10);
        assert_eq!(mid[0].log_id.index, 120);
        if let EntryPayload::Normal(r) = &mid[0].payload {
            assert_eq!(
                r.command,
                Command::Put {
                    key: crate::format::record::plain_key(b"k120"),
                    value: value.as_bytes().to_vec()
                }
            );
        } else {
            panic!("not a put");
        }
    });
}

#[test]
fn truncating_a_committed_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        append(&mut store, (0..5).map(|i| put(1, i, "k", "v")).collect()).await;
        store.save_committed(Some(id(1, 3))).await.unwrap();
        assert!(store.truncate(id(1, 2)).await.is_err());
        store.truncate(id(1, 4)).await.unwrap();
        assert_eq!(
            store.get_log_state().await.unwrap().last_log_id,
            Some(id(1, 3))
        );
    });
}

#[test]
fn torn_tail_of_the_newest_segment_is_cut_and_other_damage_refused() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        append(
            &mut store,
            (0..20).map(|i| put(1, i, "k", &"v".repeat(100))).collect(),
        )
        .await;
    });
    let segs = crate::engine::recovery::list_segments(&dir.path().join("wal")).unwrap();
    let (_, newest) = segs.last().unwrap();
    let len = crate::format::wal::data_end(&std::fs::read(newest).unwrap());
    // Tear the last entry: as if the write never completed (it never called back).
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(newest)
        .unwrap();
    f.set_len(len - 30).unwrap();
    drop(f);
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        let last = store.get_log_state().await.unwrap().last_log_id.unwrap();
        assert_eq!(last.index, 18);
        append(&mut store, vec![put(1, 19, "k", "again")]).await;
    });
    // A flipped byte early in the data is damage, not a tail.
    let mut bytes = std::fs::read(newest).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(newest, &bytes).unwrap();
    let engine = Arc::new(Engine::open(dir.path(), cluster_options()).unwrap());
    let err = LogStore::open(dir.path(), 64 << 10, Arc::new(|| 0)).unwrap_err();
    drop(engine);
    let text = err.to_string();
    assert!(text.contains(".wal"), "{text}");
}

#[test]
fn applied_state_survives_a_restart_through_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let members = Membership::new(vec![std::collections::BTreeSet::from([1, 2, 3])], None);
    rt().block_on(async {
        let (mut store, mut sm) = open_node(dir.path());
        let mut entries = vec![Entry {
            log_id: id(1, 0),
            payload: EntryPayload::Membership(members.clone()),
        }];
        entries.extend((1..50).map(|i| put(1, i, &format!("k{i}"), "v")));
        apply_logged(&mut store, &mut sm, entries).await;
        // Applied but not flushed: after a crash it is re-applied from the log, so
        // the durable applied state is the last flush.
        sm.engine().flush().unwrap();
        let more = (50..60).map(|i| put(1, i, &format!("k{i}"), "w")).collect();
        apply_logged(&mut store, &mut sm, more).await;
    });
    rt().block_on(async {
        let (_store, mut sm) = open_node(dir.path());
        let (applied, membership) = sm.applied_state().await.unwrap();
        assert_eq!(applied, Some(id(1, 49)));
        assert_eq!(membership.membership(), &members);
        assert_eq!(sm.engine().get(b"k10").unwrap(), Some(b"v".to_vec()));
        assert_eq!(
            sm.engine().get(b"k55").unwrap(),
            None,
            "not flushed: re-applied later"
        );
    });
}

#[test]
fn a_snapshot_moves_the_whole_state_to_another_node() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut ls, mut leader) = open_node(leader_dir.path());
        let (mut fs, mut follower) = open_node(follower_dir.path());
        apply_logged(&mut fs, &mut follower, vec![put(1, 0, "stale", "gone")]).await;
        follower.engine().flush().unwrap();
        let value = "x".repeat(500);
        for chunk in (1..3000u64).collect::<Vec<_>>().chunks(500) {
            let batch: Vec<Entry> = chunk
                .iter()
                .map(|i| put(1, *i, &format!("k{:05}", i % 1000), &format!("{value}{i}")))
                .collect();
            apply_logged(&mut ls, &mut leader, batch).await;
        }
        let snap = leader
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        assert_eq!(snap.meta.last_log_id, Some(id(1, 2999)));
        let current = leader.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta, snap.meta);

        // The transfer: openraft writes the chunks into the receiving file.
        let mut rx = follower.begin_receiving_snapshot().await.unwrap();
        let mut src = current.snapshot;
        tokio::io::copy(&mut src, &mut *rx).await.unwrap();
        follower.install_snapshot(&snap.meta, rx).await.unwrap();

        assert_eq!(follower.applied_state().await.unwrap().0, Some(id(1, 2999)));
        assert_eq!(follower.engine().get(b"stale").unwrap(), None);
        assert_eq!(
            follower.engine().get(b"k00999").unwrap(),
            Some(format!("{value}2999").into_bytes())
        );
        let got = follower.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(got.meta, snap.meta);
    });
    // And it is durable.
    rt().block_on(async {
        let (_fs, mut follower) = open_node(follower_dir.path());
        assert_eq!(follower.applied_state().await.unwrap().0, Some(id(1, 2999)));
        assert_eq!(
            follower.engine().get(b"k00001").unwrap().map(|v| v.len()),
            Some(504)
        );
    });
}

#[test]
fn a_damaged_snapshot_is_refused_and_changes_nothing() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut ls, mut leader) = open_node(leader_dir.path());
        let (mut fs, mut follower) = open_node(follower_dir.path());
        let entries = (0..100).map(|i| put(1, i, &format!("k{i}"), "v")).collect();
        apply_logged(&mut ls, &mut leader, entries).await;
        apply_logged(&mut fs, &mut follower, vec![put(1, 0, "mine", "kept")]).await;
        let snap = leader
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        let (path, _) = snapshot::current(leader_dir.path()).unwrap().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() - 100;
        bytes[at] ^= 1;
        let mut rx = follower.begin_receiving_snapshot().await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut *rx, &bytes)
            .await
            .unwrap();
        let err = follower.install_snapshot(&snap.meta, rx).await.unwrap_err();
        assert!(err.to_string().contains("blake3"), "{err}");
        assert_eq!(
            follower.engine().get(b"mine").unwrap(),
            Some(b"kept".to_vec())
        );
        assert_eq!(follower.engine().get(b"k5").unwrap(), None);
    });
}

#[test]
fn a_cluster_dir_is_refused_by_a_standalone_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_node(dir.path()));
    let err = Engine::open(dir.path(), Options::default()).unwrap_err();
    assert!(err.to_string().contains("cluster"), "{err}");
}

#[test]
fn a_purge_past_the_checkpoint_is_durable_only_up_to_it() {
    // openraft purges up to a received snapshot before installing it: a crash in between
    // must leave the entries above the old checkpoint readable for re-apply.
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, mut sm) = open_node(dir.path());
        let entries: Vec<Entry> = (0..20).map(|i| put(1, i, &format!("k{i}"), "v")).collect();
        append(&mut store, entries.clone()).await;
        sm.apply(entries[..10].to_vec()).await.unwrap();
        sm.engine().flush().unwrap();
        store.purge(id(1, 15)).await.unwrap();
        assert_eq!(
            store.get_log_state().await.unwrap().last_purged_log_id,
            Some(id(1, 15))
        );
        assert_eq!(store.try_get_log_entries(0..).await.unwrap().len(), 4);
    });
    rt().block_on(async {
        let (mut store, mut sm) = open_node(dir.path());
        assert_eq!(sm.applied_state().await.unwrap().0, Some(id(1, 9)));
        let st = store.get_log_state().await.unwrap();
        assert_eq!(st.last_purged_log_id, Some(id(1, 9)));
        let rest = store.try_get_log_entries(10..20).await.unwrap();
        assert_eq!(
            rest.len(),
            10,
            "entries above the checkpoint are still there"
        );
    });
}

#[test]
fn an_older_snapshot_build_never_removes_a_newer_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, mut sm) = open_node(dir.path());
        let entries = (0..10).map(|i| put(1, i, "k", "v")).collect();
        apply_logged(&mut store, &mut sm, entries).await;
        let newer = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        // A file of a lower index appearing later (a build that started earlier).
        let (path, _) = snapshot::current(dir.path()).unwrap().unwrap();
        let older = path.to_string_lossy().replace(
            "snapshot-00000000000000000009",
            "snapshot-00000000000000000003",
        );
        std::fs::copy(&path, &older).unwrap();
        let got = sm.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(got.meta, newer.meta);
    });
}

#[test]
fn a_batch_entry_applies_every_write_and_reads_back_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let batch = Entry {
        log_id: id(1, 0),
        payload: EntryPayload::Normal(Request {
            timestamp_ns: 5,
            command: Command::Batch(vec![
                Command::Put {
                    key: crate::format::record::plain_key(b"a"),
                    value: b"1".to_vec(),
                },
                Command::Put {
                    key: crate::format::record::plain_key(b"b"),
                    value: b"2".to_vec(),
                },
                Command::Delete {
                    key: crate::format::record::plain_key(b"a"),
                },
            ]),
        }),
    };
    rt().block_on(async {
        let (mut store, mut sm) = open_node(dir.path());
        append(&mut store, vec![batch.clone()]).await;
        sm.apply(vec![batch.clone()]).await.unwrap();
        assert_eq!(
            sm.engine().get(b"a").unwrap(),
            None,
            "the later delete wins"
        );
        assert_eq!(sm.engine().get(b"b").unwrap(), Some(b"2".to_vec()));
    });
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        let back = store.try_get_log_entries(0..1).await.unwrap();
        assert_eq!(
            format!("{:?}", back[0].payload),
            format!("{:?}", batch.payload)
        );
    });
}

/// The shape the fault harness found: a stale leader's last entry kept where the new leader
/// wrote its blank, and the new term's entries appended right after it. It is reported, with
/// the storage calls that led there.
#[test]
fn an_append_that_would_diverge_from_the_leader_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        append(&mut store, vec![blank(1, 0), put(1, 1, "a", "1")]).await;
        append(&mut store, vec![blank(3, 2)]).await;
        // Stale: a term-3 entry at 2, then a term-4 write directly after it, where term 4's
        // leader must have written its blank first.
        let d = store.divergence(&[put(4, 3, "b", "2")]).unwrap();
        assert!(d.contains("divergence"), "{d}");
        assert!(
            d.contains("append(3-2 blank)"),
            "the last calls are named: {d}"
        );
        // Terms never go down along a log either.
        assert!(store.divergence(&[put(2, 3, "b", "2")]).is_some());
        // The legitimate continuations are not.
        assert_eq!(store.divergence(&[put(3, 3, "c", "3"), blank(5, 4)]), None);
        assert_eq!(store.divergence(&[blank(4, 3), put(4, 4, "c", "3")]), None);
    });
}

/// A leader's own append counts as persisted once written, so its fsync runs while the
/// entries travel to followers (Raft thesis §10.2.1); nothing acts on an entry before that
/// fsync covers it: the state machine does not apply it, followers are not told it is
/// committed, and the committed index on disk does not reach it.
#[test]
fn a_leaders_append_calls_back_before_its_fsync_and_nothing_acts_on_it_until_then() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, mut sm) = open_node(dir.path());
        store.set_identity(1, [7; 16]).unwrap();
        store.save_vote(&Vote::new_committed(1, 1)).await.unwrap();
        append(&mut store, vec![blank(1, 0)]).await;
        store.durability().reached(0).await.unwrap();

        store.hold_fsyncs(true);
        tokio::time::timeout(
            Duration::from_secs(5),
            store.blocking_append(vec![put(1, 1, "a", "1")]),
        )
        .await
        .expect("a leader's append calls back once written")
        .unwrap();
        assert_eq!(store.durability().index(), 0);
        assert_eq!(
            store.commit_within_durable(Some(id(1, 1))),
            Some(id(1, 0)),
            "followers hear of no commit past the leader's disk"
        );
        store.save_committed(Some(id(1, 1))).await.unwrap();
        let on_disk = crate::format::raft_state::RaftState::load(&dir.path().join("raft"))
            .unwrap()
            .unwrap();
        assert_eq!(on_disk.committed.map(|c| c.index), Some(0));

        {
            let apply = sm.apply(vec![put(1, 1, "a", "1")]);
            tokio::pin!(apply);
            assert!(
                tokio::time::timeout(Duration::from_millis(300), &mut apply)
                    .await
                    .is_err(),
                "applied before it was on the leader's disk"
            );
            store.hold_fsyncs(false);
            tokio::time::timeout(Duration::from_secs(5), apply)
                .await
                .unwrap()
                .unwrap();
        }
        assert_eq!(sm.engine().get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.commit_within_durable(Some(id(1, 1))), Some(id(1, 1)));
    });
}

/// A follower acknowledges only what its fsync covers; a truncate takes back what the disk
/// vouched for above the cut.
#[test]
fn a_followers_append_calls_back_only_after_its_fsync() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, _sm) = open_node(dir.path());
        store.set_identity(1, [7; 16]).unwrap();
        store.save_vote(&Vote::new_committed(1, 2)).await.unwrap();
        append(&mut store, vec![blank(1, 0)]).await;

        store.hold_fsyncs(true);
        let entries = vec![put(1, 1, "a", "1"), put(1, 2, "b", "2")];
        assert!(
            tokio::time::timeout(Duration::from_millis(300), store.blocking_append(entries))
                .await
                .is_err(),
            "a follower's append called back before its fsync"
        );
        store.hold_fsyncs(false);
        tokio::time::timeout(Duration::from_secs(5), store.durability().reached(2))
            .await
            .unwrap()
            .unwrap();

        store.truncate(id(1, 2)).await.unwrap();
        assert_eq!(store.durability().index(), 1);
    });
}

fn normal(term: u64, index: u64, command: Command) -> Entry {
    Entry {
        log_id: id(term, index),
        payload: EntryPayload::Normal(Request {
            timestamp_ns: index as i64,
            command,
        }),
    }
}

fn put_if(index: u64, key: &str, value: &str, when: PutCondition) -> Entry {
    normal(
        1,
        index,
        Command::PutIf {
            key: crate::format::record::plain_key(key.as_bytes()),
            value: value.as_bytes().to_vec(),
            when,
        },
    )
}

/// SET NX / XX / GET and DEL's count as entries 1-6, after `a` = 1 at entry 0.
fn decided_entries() -> Vec<Entry> {
    let del = |k: &str| Command::Delete {
        key: crate::format::record::plain_key(k.as_bytes()),
    };
    vec![
        put_if(1, "a", "2", PutCondition::Absent),
        put_if(2, "b", "1", PutCondition::Absent),
        put_if(3, "b", "2", PutCondition::Absent),
        put_if(4, "c", "9", PutCondition::Present),
        normal(1, 5, Command::Batch(vec![del("a"), del("a"), del("c")])),
        put_if(6, "b", "3", PutCondition::Always),
    ]
}

fn outcome(written: bool, old: Option<&str>) -> Option<PutIfOutcome> {
    Some(PutIfOutcome {
        written,
        old: old.map(|o| o.as_bytes().to_vec()),
    })
}

/// What every node must answer for `decided_entries`, whatever it applied them with.
fn decided_answers() -> Vec<(Option<PutIfOutcome>, u64)> {
    vec![
        (outcome(false, Some("1")), 0),
        (outcome(true, None), 0),
        (outcome(false, Some("1")), 0),
        (outcome(false, None), 0),
        (None, 1),
        (outcome(true, Some("1")), 0),
    ]
}

/// Conditional writes are decided where they stand in the log, against the tables, the
/// memtable and the entries before them in the same apply: two nodes that apply the same
/// log in different groupings (one flushed in between) give the same answers and state,
/// and so does the offline view of a stopped node's dir.
#[test]
fn conditional_writes_are_decided_alike_wherever_the_log_is_applied() {
    let entries = decided_entries();
    let check = |sm: &StateMachine| {
        assert_eq!(sm.engine().get(b"a").unwrap(), None);
        assert_eq!(sm.engine().get(b"b").unwrap(), Some(b"3".to_vec()));
        assert_eq!(sm.engine().get(b"c").unwrap(), None);
    };
    let answers = |r: Vec<Response>| -> Vec<(Option<PutIfOutcome>, u64)> {
        r.into_iter().map(|r| (r.put_if, r.deleted)).collect()
    };
    let whole = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, mut sm) = open_node(whole.path());
        apply_logged(&mut store, &mut sm, vec![put(1, 0, "a", "1")]).await;
        append(&mut store, entries.clone()).await;
        let got = sm.apply(entries.clone()).await.unwrap();
        assert_eq!(answers(got), decided_answers());
        check(&sm);
    });
    let one_by_one = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let (mut store, mut sm) = open_node(one_by_one.path());
        apply_logged(&mut store, &mut sm, vec![put(1, 0, "a", "1")]).await;
        sm.engine().flush().unwrap();
        let mut got = Vec::new();
        for e in &entries {
            append(&mut store, vec![e.clone()]).await;
            got.extend(sm.apply(vec![e.clone()]).await.unwrap());
        }
        assert_eq!(answers(got), decided_answers());
        check(&sm);
        store.save_committed(Some(id(1, 6))).await.unwrap();
    });
    // Stopped, flushed only through entry 0: the offline view decides entries 1-6 again,
    // against the tables.
    let view = crate::cluster::offline::read_only(
        one_by_one.path(),
        crate::engine::RecoveryMode::TolerateTail,
    )
    .unwrap();
    let get = |k: &str| {
        view.get_raw(&crate::format::record::plain_key(k.as_bytes()))
            .unwrap()
    };
    assert_eq!(get("a"), None);
    assert_eq!(get("b"), Some(b"3".to_vec()));
    assert_eq!(get("c"), None);
    drop(view);
    // So does the standalone dir a backup of the node holds.
    let raft = crate::format::raft_state::RaftState::load(&one_by_one.path().join("raft"))
        .unwrap()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("export");
    std::fs::create_dir(&dest).unwrap();
    let export =
        crate::cluster::export::export_standalone(one_by_one.path(), &raft, &dest).unwrap();
    assert_eq!((export.checkpoint_index, export.committed_index), (0, 6));
    let standalone =
        crate::engine::ReadOnly::open(&dest, crate::engine::RecoveryMode::TolerateTail).unwrap();
    let get = |k: &str| {
        standalone
            .get_raw(&crate::format::record::plain_key(k.as_bytes()))
            .unwrap()
    };
    assert_eq!(get("a"), None);
    assert_eq!(get("b"), Some(b"3".to_vec()));
    assert_eq!(get("c"), None);
}
