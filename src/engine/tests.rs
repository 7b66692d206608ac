use std::collections::BTreeMap;
use std::ops::Bound;

use super::*;
use crate::format::record::Side;

fn small_opts() -> Options {
    Options {
        memtable_bytes: 16 << 10,
        wal_segment_bytes: 64 << 10,
        sst_target_bytes: 32 << 10,
        l1_target_bytes: 64 << 10,
        ..Options::default()
    }
}

fn scan_all(e: &Engine) -> Vec<(Vec<u8>, Vec<u8>)> {
    e.scan(&[], Bound::Unbounded)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn model_test_against_btreemap_across_flush_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    for round in 0..3u32 {
        let e = Engine::open(
            dir.path(),
            Options {
                sync: SyncPolicy::Never,
                ..small_opts()
            },
        )
        .unwrap();
        for i in 0..3000u32 {
            let k = format!("key{:05}", (i * 7919 + round) % 1500).into_bytes();
            if i % 5 == 0 {
                e.delete(&k).unwrap();
                model.remove(&record::plain_key(&k));
            } else {
                let v = format!("v{round}-{i}")
                    .repeat(1 + (i % 7) as usize)
                    .into_bytes();
                e.put(&k, &v).unwrap();
                model.insert(record::plain_key(&k), v);
            }
        }
        for (k, v) in model.iter().take(200) {
            assert_eq!(e.get_raw(k).unwrap().as_ref(), Some(v));
        }
        assert_eq!(scan_all(&e), model.clone().into_iter().collect::<Vec<_>>());
        if round == 1 {
            e.compact_all().unwrap();
            assert_eq!(scan_all(&e), model.clone().into_iter().collect::<Vec<_>>());
        }
    }
    let e = Engine::open(dir.path(), small_opts()).unwrap();
    assert_eq!(scan_all(&e), model.into_iter().collect::<Vec<_>>());
    assert!(e.version().all_tables().count() > 0, "flushes happened");
}

#[test]
fn typed_records_round_trip_and_prefix_scan() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let o = Order {
        order_id: "o1".into(),
        user_id: "u1".into(),
        instrument_id: "BTC-USD".into(),
        side: Side::Buy,
        price: 10.5,
        volume: 2.0,
    };
    let t = Trade {
        trade_id: "t1".into(),
        order_id: "o1".into(),
        instrument_id: "BTC-USD".into(),
        price: 10.5,
        volume: 1.0,
    };
    let a = Account {
        user_id: "u1".into(),
        balance: 100.0,
        available: 90.0,
        frozen: 10.0,
        margin: 0.0,
    };
    e.put_order(&o).unwrap();
    e.put_trade(&t).unwrap();
    e.put_account(&a).unwrap();
    e.put(b"plain", b"x").unwrap();
    assert_eq!(e.get_order("o1").unwrap(), Some(o));
    assert_eq!(e.get_trade("t1").unwrap(), Some(t));
    assert_eq!(e.get_account("u1").unwrap(), Some(a));
    assert_eq!(e.get_order("nope").unwrap(), None);
    let orders: Vec<_> = e.scan_prefix(b"O").unwrap().collect();
    assert_eq!(orders.len(), 1);
    drop(e);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(e.recovery_report().replayed, 4);
    assert_eq!(e.get(b"plain").unwrap().as_deref(), Some(&b"x"[..]));
}

#[test]
fn group_commit_shares_fsyncs_between_writers() {
    let dir = tempfile::tempdir().unwrap();
    let e = Arc::new(Engine::open(dir.path(), Options::default()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                for i in 0..200 {
                    e.put(format!("{t}-{i}").as_bytes(), b"v").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(e.last_seq(), 1600);
    let fsyncs = e.stats().fsyncs.load(Ordering::Relaxed);
    assert!(
        fsyncs < 1600,
        "{fsyncs} fsyncs for 1600 writes: no batching happened"
    );
}

#[test]
fn torn_tail_is_cut_and_moved_to_lost() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = Engine::open(dir.path(), Options::default()).unwrap();
        for i in 0..10 {
            e.put(format!("k{i}").as_bytes(), &[7u8; 100]).unwrap();
        }
    }
    let (_, seg) = recovery::list_segments(&dir.path().join("wal"))
        .unwrap()
        .pop()
        .unwrap();
    let len = fs::metadata(&seg).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 20).unwrap();
    drop(f);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let r = e.recovery_report();
    assert_eq!(r.outcome, Outcome::TailTruncated);
    assert_eq!(r.replayed, 9);
    assert_eq!(r.findings[0].kind, FindingKind::TornTail);
    assert_eq!(r.moved_to_lost.len(), 1);
    assert!(e.get(b"k8").unwrap().is_some());
    assert!(e.get(b"k9").unwrap().is_none());
    // New writes continue, and a second recovery is clean.
    e.put(b"after", b"1").unwrap();
    drop(e);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(e.recovery_report().outcome, Outcome::Clean);
    assert!(e.get(b"after").unwrap().is_some());
}

#[test]
fn damage_in_synced_data_is_refused_then_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = Engine::open(dir.path(), Options::default()).unwrap();
        for i in 0..200 {
            e.put(format!("k{i:03}").as_bytes(), &[7u8; 500]).unwrap();
        }
    }
    let (_, seg) = recovery::list_segments(&dir.path().join("wal"))
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    bytes[1000] ^= 0x55;
    fs::write(&seg, &bytes).unwrap();
    let err = Engine::open(dir.path(), Options::default()).unwrap_err();
    assert_eq!(err.exit(), crate::Exit::Corruption);
    assert!(
        err.to_string().contains(&seg.display().to_string()),
        "{err}"
    );
    // Refused means untouched.
    assert_eq!(fs::read(&seg).unwrap(), bytes);

    let r = Engine::recover(
        dir.path(),
        Options {
            recovery_mode: RecoveryMode::SkipCorrupted,
            ..Options::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(r.outcome, Outcome::DataDropped);
    assert!(r.replayed > 100 && r.replayed < 200, "{}", r.replayed);
    assert!(dir.path().join("lost").read_dir().unwrap().count() >= 1);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(e.recovery_report().outcome, Outcome::Clean);
    assert!(e.get(b"k199").unwrap().is_some());
    assert!(e.get(b"k000").unwrap().is_some());
}

#[test]
fn locked_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _e = Engine::open(dir.path(), Options::default()).unwrap();
    let err = Engine::open(dir.path(), Options::default()).unwrap_err();
    assert_eq!(err.exit(), crate::Exit::LockHeld);
}

#[test]
fn flush_records_a_checkpoint_entry_in_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(
        dir.path(),
        Options {
            keep_wal: true,
            ..Options::default()
        },
    )
    .unwrap();
    for i in 0..10 {
        e.put(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    e.flush().unwrap();
    assert_eq!(e.checkpoint_seq(), 10);
    drop(e);
    let mut checkpoints = Vec::new();
    for (_, seg) in recovery::list_segments(&dir.path().join("wal")).unwrap() {
        let bytes = fs::read(&seg).unwrap();
        crate::format::wal::scan(&bytes, |ev| {
            if let crate::format::wal::Event::Entry { entry, .. } = ev
                && entry.kind == EntryType::Checkpoint
            {
                checkpoints.push((entry.seq, entry.value_u64()));
            }
            true
        });
    }
    assert_eq!(checkpoints, vec![(11, Some(10))]);
    // Reopening replays nothing but the checkpoint entry itself.
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(e.recovery_report().replayed, 1);
    assert_eq!(e.get(b"k3").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn interval_sync_acknowledges_without_fsync_and_syncs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(
        dir.path(),
        Options {
            sync: "interval:20".parse().unwrap(),
            ..Options::default()
        },
    )
    .unwrap();
    for i in 0..100 {
        e.put(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    assert_eq!(
        e.stats().fsyncs.load(Ordering::Relaxed),
        0,
        "no fsync on the write path"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while e.stats().fsyncs.load(Ordering::Relaxed) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the background syncer never ran"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn recovered_runs_serve_reads_and_flush_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        wal_segment_bytes: 32 << 10,
        memtable_bytes: 1 << 30,
        ..Options::default()
    };
    {
        let e = Engine::open(
            dir.path(),
            Options {
                sync: SyncPolicy::Never,
                ..opts.clone()
            },
        )
        .unwrap();
        for i in 0..6000u32 {
            e.put(
                format!("k{:05}", i % 700).as_bytes(),
                format!("v{i}").as_bytes(),
            )
            .unwrap();
        }
        e.delete(b"k00003").unwrap();
    }
    let e = Engine::open(
        dir.path(),
        Options {
            memtable_bytes: 4 << 10,
            ..opts
        },
    )
    .unwrap();
    assert!(e.recovery_report().segments.len() > 3);
    assert_eq!(e.get(b"k00003").unwrap(), None);
    assert_eq!(e.get(b"k00004").unwrap().as_deref(), Some(&b"v5604"[..]));
    assert_eq!(scan_all(&e).len(), 699);
    // Writing enough to freeze the new memtable waits for the runs to be flushed.
    for i in 0..200u32 {
        e.put(format!("n{i}").as_bytes(), &[1u8; 100]).unwrap();
    }
    e.flush().unwrap();
    assert!(e.checkpoint_seq() >= 6001);
    assert_eq!(scan_all(&e).len(), 899);
}

#[test]
fn recover_flushes_every_replayed_segment_and_the_newest_version_wins() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        wal_segment_bytes: 16 << 10,
        memtable_bytes: 1 << 30,
        sync: SyncPolicy::Never,
        ..Options::default()
    };
    {
        let e = Engine::open(dir.path(), opts.clone()).unwrap();
        // Every key is overwritten in later segments, and one is deleted in the last.
        for i in 0..3000u32 {
            e.put(
                format!("k{:03}", i % 300).as_bytes(),
                format!("v{i}").as_bytes(),
            )
            .unwrap();
        }
        e.delete(b"k007").unwrap();
    }
    let r = Engine::recover(dir.path(), opts.clone(), None).unwrap();
    assert!(r.segments.len() > 3, "{} segments", r.segments.len());
    assert_eq!(r.replayed, 3001);
    let flushed = r.flushed.expect("recover flushes");
    assert!(r.duration <= r.ready && r.ready <= flushed, "{r:?}");

    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(e.checkpoint_seq(), 3001, "everything replayed is in SSTs");
    assert_eq!(e.recovery_report().replayed, 1, "only the checkpoint entry");
    assert!(
        e.version().levels[0].len() > 3,
        "one table per replayed segment"
    );
    assert_eq!(e.get(b"k007").unwrap(), None);
    for k in [0u32, 8, 299] {
        let want = format!("v{}", 2700 + k);
        assert_eq!(
            e.get(format!("k{k:03}").as_bytes()).unwrap().as_deref(),
            Some(want.as_bytes())
        );
    }
    assert_eq!(scan_all(&e).len(), 299);
}

#[test]
fn concurrent_writers_with_tiny_memtables_flushes_snapshots_and_compactions_never_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        memtable_bytes: 8 << 10,
        wal_segment_bytes: 16 << 10,
        sst_target_bytes: 16 << 10,
        l1_target_bytes: 32 << 10,
        l0_compaction_trigger: 2,
        max_immutable_memtables: 1,
        snapshot_interval: Some(Duration::from_millis(5)),
        sync: SyncPolicy::Never,
        ..Options::default()
    };
    let e = Arc::new(Engine::open(dir.path(), opts.clone()).unwrap());
    let writers: Vec<_> = (0..6)
        .map(|t| {
            let e = Arc::clone(&e);
            std::thread::spawn(move || {
                for i in 0..1500 {
                    e.put(format!("{t}-{:04}", i % 300).as_bytes(), &[t as u8; 40])
                        .unwrap();
                    if i % 500 == 0 {
                        e.flush().unwrap();
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(scan_all(&e).len(), 6 * 300);
    drop(e);
    let e = Engine::open(dir.path(), opts).unwrap();
    assert_eq!(scan_all(&e).len(), 6 * 300);
}

#[test]
fn recovery_does_not_read_segments_below_the_checkpoint_but_a_dry_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        keep_wal: true,
        wal_segment_bytes: 4 << 10,
        ..Options::default()
    };
    {
        let e = Engine::open(dir.path(), opts.clone()).unwrap();
        for i in 0..300 {
            e.put(format!("k{i:03}").as_bytes(), &[9u8; 64]).unwrap();
        }
        e.flush().unwrap();
        e.put(b"after", b"1").unwrap();
    }
    let segs = recovery::list_segments(&dir.path().join("wal"))
        .unwrap()
        .len();
    let dry = Engine::recover(
        dir.path(),
        Options {
            dry_run: true,
            ..opts.clone()
        },
        None,
    )
    .unwrap();
    assert_eq!((dry.covered_segments, dry.segments.len()), (0, segs));
    let e = Engine::open(dir.path(), opts).unwrap();
    let r = e.recovery_report();
    assert!(r.covered_segments >= 3, "{}", r.covered_segments);
    assert_eq!(r.covered_segments + r.segments.len(), segs);
    assert_eq!(r.replayed, 2, "the checkpoint entry and one put");
    assert_eq!(e.get(b"k007").unwrap().as_deref(), Some(&[9u8; 64][..]));
}

#[test]
fn an_explicit_flush_racing_the_background_thread_writes_each_memtable_once() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(
            dir.path(),
            Options {
                sync: SyncPolicy::Never,
                ..Options::default()
            },
        )
        .unwrap();
        for i in 0..400 {
            e.put(format!("k{i:04}").as_bytes(), &[7u8; 200]).unwrap();
        }
        e.flush().unwrap();
        drop(e);
        let tables = fs::read_dir(dir.path().join("sst")).unwrap().count();
        assert_eq!(tables, 1, "one memtable, one table");
    }
}

fn wal_segments(dir: &Path) -> Vec<u64> {
    recovery::list_segments(&dir.join("wal"))
        .unwrap()
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

fn write_status(dir: &Path, history: [u8; 16], through: u64) {
    let s = archive_status::ArchiveStatus {
        repo_id: [7; 16],
        history_id: history,
        archived_through: through,
    };
    crate::io::write_atomic(
        &dir.join(archive_status::FILE_NAME),
        archive_status::encode(&s).as_bytes(),
    )
    .unwrap();
}

fn fill(e: &Engine, from: u32, n: u32) {
    for i in from..from + n {
        e.put(format!("k{i:06}").as_bytes(), &[b'v'; 200]).unwrap();
    }
}

#[test]
fn archive_status_holds_unarchived_segments_until_archived() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || Options {
        sync: SyncPolicy::Never,
        ..small_opts()
    };
    // Without a status file, flushed segments go.
    {
        let e = Engine::open(dir.path(), opts()).unwrap();
        fill(&e, 0, 2000);
        e.flush().unwrap();
        fill(&e, 2000, 10);
        e.flush().unwrap();
    }
    let before = wal_segments(dir.path());
    assert!(before.len() <= 3, "flushed segments retired: {before:?}");

    // Archiving on, nothing archived yet (through 0): every segment stays.
    let history = load_state(dir.path()).unwrap().0.history_id;
    write_status(dir.path(), history, 0);
    let all = {
        let e = Engine::open(dir.path(), opts()).unwrap();
        fill(&e, 10_000, 2000);
        e.flush().unwrap();
        fill(&e, 12_000, 10);
        e.flush().unwrap();
        wal_segments(dir.path())
    };
    assert!(all.len() >= 6, "segments kept while unarchived: {all:?}");
    for s in &before {
        assert!(
            all.contains(s),
            "segment {s} deleted before it was archived"
        );
    }

    // Archived through the end of the third segment: exactly the first three may go.
    let through = all[3] - 1;
    write_status(dir.path(), history, through);
    {
        let e = Engine::open(dir.path(), opts()).unwrap();
        e.put(b"x", b"y").unwrap();
        e.flush().unwrap();
    }
    let now = wal_segments(dir.path());
    assert_eq!(now.first(), Some(&all[3]), "{all:?} -> {now:?}");

    // A damaged status file, or one for another history, holds everything.
    for bad in [Some(b"drkit-archive-status 1\nrepo zz\n".to_vec()), None] {
        match bad {
            Some(bytes) => {
                std::fs::write(dir.path().join(archive_status::FILE_NAME), bytes).unwrap()
            }
            None => write_status(dir.path(), [9; 16], u64::MAX),
        }
        let kept = wal_segments(dir.path());
        {
            let e = Engine::open(dir.path(), opts()).unwrap();
            fill(&e, 20_000, 500);
            e.flush().unwrap();
        }
        let after = wal_segments(dir.path());
        for s in &kept {
            assert!(
                after.contains(s),
                "segment {s} deleted under an untrusted status"
            );
        }
    }

    // Archiving off again: the checkpoint alone decides.
    std::fs::remove_file(dir.path().join(archive_status::FILE_NAME)).unwrap();
    {
        let e = Engine::open(dir.path(), opts()).unwrap();
        e.put(b"x", b"z").unwrap();
        e.flush().unwrap();
    }
    assert!(wal_segments(dir.path()).len() <= 3);
}

#[test]
fn write_batch_commits_all_entries_with_one_fsync_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    e.put(b"gone", b"x").unwrap();
    let fsyncs = e.stats().fsyncs.load(Ordering::Relaxed);
    let order = Order {
        order_id: "o9".into(),
        user_id: "u9".into(),
        instrument_id: "ETH-USD".into(),
        side: Side::Sell,
        price: 3.25,
        volume: 4.0,
    };
    let mut ops: Vec<BatchOp> = (0..16)
        .map(|i| BatchOp::Put {
            key: format!("k{i:02}").into_bytes(),
            value: format!("v{i}").into_bytes(),
        })
        .collect();
    ops.push(BatchOp::Delete {
        key: b"gone".to_vec(),
    });
    ops.push(BatchOp::Order(order.clone()));
    let last = e.write_batch(ops).unwrap();
    assert_eq!(last, 1 + 18, "consecutive sequences after the first put");
    assert_eq!(e.last_seq(), last);
    assert_eq!(
        e.stats().fsyncs.load(Ordering::Relaxed) - fsyncs,
        1,
        "one fsync for the whole batch"
    );
    // The batch of 18 lands in the (16, 32] bucket.
    let bucket = BATCH_SIZE_BUCKETS.partition_point(|&b| b < 18);
    assert_eq!(BATCH_SIZE_BUCKETS[bucket], 32);
    assert_eq!(
        e.stats().batch_size_buckets[bucket].load(Ordering::Relaxed),
        1
    );
    assert_eq!(e.write_batch(Vec::new()).unwrap(), last, "empty batch");
    drop(e);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    for i in 0..16 {
        assert_eq!(
            e.get(format!("k{i:02}").as_bytes()).unwrap(),
            Some(format!("v{i}").into_bytes())
        );
    }
    assert_eq!(e.get(b"gone").unwrap(), None);
    assert_eq!(e.get_order("o9").unwrap(), Some(order));
    assert!(e.memtable_bytes() > 0, "recovered entries sit in memtables");
}

/// A creation killed before CURRENT was written leaves the lock, empty wal/ and sst/, maybe
/// the first manifest and CURRENT's temporary file: the next open creates the dir again. A
/// dir without CURRENT that holds a table, a segment or anything else is refused (it may be
/// a data dir that lost its CURRENT: `drkit repair`).
#[test]
fn an_interrupted_creation_is_created_again_but_a_dir_with_data_is_refused() {
    let leftovers: [&[&str]; 4] = [
        &[],
        &["LOCK", "wal/", "sst/"],
        &["LOCK", "wal/", "sst/", "MANIFEST-000001"],
        &["LOCK", "wal/", "sst/", "MANIFEST-000001", "CURRENT.tmp"],
    ];
    for shape in leftovers {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        for name in shape {
            match name.strip_suffix('/') {
                Some(sub) => std::fs::create_dir(dir.join(sub)).unwrap(),
                None => std::fs::write(dir.join(name), b"partial").unwrap(),
            }
        }
        let e = Engine::open(&dir, Options::default()).unwrap_or_else(|e| panic!("{shape:?}: {e}"));
        e.put(b"k", b"v").unwrap();
        drop(e);
        let e = Engine::open(&dir, Options::default()).unwrap();
        assert_eq!(
            e.get(b"k").unwrap().as_deref(),
            Some(&b"v"[..]),
            "{shape:?}"
        );
    }
    let with_data: [&str; 3] = [
        "sst/sst_0_00000000000000000001.sst",
        "wal/00000000000000000001.wal",
        "notes.txt",
    ];
    for file in with_data {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        for sub in ["wal", "sst"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("MANIFEST-000001"), b"partial").unwrap();
        std::fs::write(dir.join(file), b"data").unwrap();
        let err = Engine::open(&dir, Options::default()).unwrap_err();
        assert!(matches!(err, Error::NotDataDir { .. }), "{file}: {err}");
        assert!(!dir.join("CURRENT").exists(), "{file}");
    }
}
