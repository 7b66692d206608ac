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
