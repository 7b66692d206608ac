//! Command dispatch tests, against a real engine in a temp dir.

use super::*;

fn args(words: &[&str]) -> Args {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn shared(password: Option<&str>) -> (tempfile::TempDir, Shared) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), crate::engine::Options::default()).unwrap();
    let (tx, _rx) = tokio::sync::watch::channel(false);
    let s = Shared::new(
        Arc::new(engine),
        ServeConfig::default(),
        password.map(|p| Password::new(p.as_bytes())),
        6380,
        tx,
    );
    (dir, s)
}

#[test]
fn plain_writes_of_many_connections_share_commits() {
    let (_dir, s) = shared(None);
    let s = Arc::new(s);
    let session = s.new_session();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let before = s
        .engine
        .stats()
        .fsyncs
        .load(std::sync::atomic::Ordering::Relaxed);
    let clients = 32;
    let replies = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for c in 0..clients {
            let s = Arc::clone(&s);
            let cmds: VecDeque<Args> = [args(&["SET", &format!("k{c}"), &format!("v{c}")])].into();
            let writes = plain_writes_only(&session, &cmds).unwrap();
            set.spawn(async move { commit_plain_writes(&s, writes).await });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r.unwrap());
        }
        all
    });
    assert_eq!(replies.len(), clients);
    assert!(replies.iter().all(|r| !r.is_error()), "{replies:?}");
    let fsyncs = s
        .engine
        .stats()
        .fsyncs
        .load(std::sync::atomic::Ordering::Relaxed)
        - before;
    // Every client sends before any commit ends, so the committer folds them into a few.
    assert!(fsyncs <= 4, "{clients} clients took {fsyncs} fsyncs");
    for c in 0..clients {
        assert_eq!(
            s.engine.get(format!("k{c}").as_bytes()).unwrap(),
            Some(format!("v{c}").into_bytes())
        );
    }
    // Anything but plain writes goes the general way.
    let mixed: VecDeque<Args> = [args(&["SET", "a", "1"]), args(&["GET", "a"])].into();
    assert!(plain_writes_only(&session, &mixed).is_none());
}

fn run1(s: &Shared, session: &mut Session, words: &[&str]) -> Reply {
    let mut r = execute_batch(s, session, vec![args(words)]);
    assert_eq!(r.len(), 1, "{words:?}");
    r.remove(0)
}

#[test]
fn pipelined_writes_share_one_commit_and_reads_see_earlier_writes() {
    let (_d, s) = shared(None);
    let mut session = s.new_session();
    let fsyncs = s.engine.stats().fsyncs.load(Ordering::Relaxed);
    let mut cmds: Vec<Args> = (0..16)
        .map(|i| args(&["SET", &format!("k{i}"), &format!("v{i}")]))
        .collect();
    cmds.push(args(&["GET", "k15"]));
    cmds.push(args(&["MSET", "a", "1", "b", "2"]));
    let replies = execute_batch(&s, &mut session, cmds);
    assert_eq!(replies.len(), 18);
    assert!(replies[..16].iter().all(|r| *r == Reply::ok()));
    assert_eq!(replies[16], Reply::bulk("v15"));
    assert_eq!(replies[17], Reply::ok());
    assert_eq!(
        s.engine.stats().fsyncs.load(Ordering::Relaxed) - fsyncs,
        2,
        "16 SETs in one commit, the MSET in another"
    );
    assert_eq!(
        run1(&s, &mut session, &["MGET", "a", "b", "zz"]),
        Reply::Array(vec![Reply::bulk("1"), Reply::bulk("2"), Reply::Nil])
    );
    assert_eq!(
        run1(&s, &mut session, &["EXISTS", "a", "a", "zz"]),
        Reply::Int(2)
    );
    assert_eq!(run1(&s, &mut session, &["DEL", "a", "zz"]), Reply::Int(1));
    assert_eq!(run1(&s, &mut session, &["DBSIZE"]), Reply::Int(17));
}

#[test]
fn every_write_runs_off_the_async_threads_and_reads_in_place() {
    for w in [
        &["SET", "k", "v"][..],
        &["set", "k", "v", "NX"],
        &["SET", "k", "v", "GET"],
        &["MSET", "k", "v"],
        &["DEL", "k"],
        &["ORDER.INSERT", "o", "u", "i", "BUY", "1", "1"],
        &["TRADE.EXEC", "t", "o", "i", "1", "1"],
        &["ACCOUNT.UPDATE", "u", "1", "1", "0", "0"],
        &["SCAN", "0"],
        &["DBSIZE"],
        &["INFO"],
        &["SHUTDOWN"],
    ] {
        assert!(is_blocking(&args(w)), "{w:?}");
    }
    for r in [
        &["GET", "k"][..],
        &["MGET", "k"],
        &["EXISTS", "k"],
        &["PING"],
        &["ORDER.GET", "o"],
        &["AUTH", "pw"],
    ] {
        assert!(!is_blocking(&args(r)), "{r:?}");
    }
}

#[test]
fn execution_stops_when_the_reply_budget_is_spent_and_resumes() {
    let (_d, s) = shared(None);
    let mut c = s.new_session();
    let big = "x".repeat(1000);
    assert_eq!(run1(&s, &mut c, &["SET", "big", &big]), Reply::ok());
    let mut cmds: VecDeque<Args> = (0..10).map(|_| args(&["GET", "big"])).collect();
    cmds.push_back(args(&["SET", "after", "1"]));
    let mut out = Vec::new();
    let mut emit = |r: Reply| {
        r.encode(&mut out);
        out.len() >= 2500
    };
    execute(&s, &mut c, &mut cmds, &mut emit);
    assert_eq!(cmds.len(), 8, "3 GETs of ~1 KB fill a 2500-byte budget");
    assert_eq!(s.engine.get(b"after").unwrap(), None);
    let mut rest = Vec::new();
    execute(&s, &mut c, &mut cmds, &mut |r| {
        rest.push(r);
        false
    });
    assert!(cmds.is_empty());
    assert_eq!(rest.len(), 8);
    assert_eq!(rest[7], Reply::ok());
    assert_eq!(run1(&s, &mut c, &["GET", "after"]), Reply::bulk("1"));
}

#[test]
fn scan_count_is_clamped() {
    let (_d, s) = shared(None);
    let mut c = s.new_session();
    let n = MAX_SCAN_COUNT + 5;
    let ops = (0..n)
        .map(|i| BatchOp::Put {
            key: format!("k{i:07}").into_bytes(),
            value: b"v".to_vec(),
        })
        .collect();
    s.engine.write_batch(ops).unwrap();
    let Reply::Array(parts) = run1(&s, &mut c, &["SCAN", "0", "COUNT", "1000000000"]) else {
        panic!("SCAN reply is not an array");
    };
    let Reply::Array(keys) = &parts[1] else {
        panic!("SCAN keys are not an array");
    };
    assert_eq!(keys.len(), MAX_SCAN_COUNT);
    assert_ne!(parts[0], Reply::bulk("0"), "a cursor to go on with");
}

#[test]
fn concurrent_dels_of_one_key_count_it_once() {
    let (_d, s) = shared(None);
    let s = Arc::new(s);
    for round in 0..100 {
        let mut c = s.new_session();
        assert_eq!(run1(&s, &mut c, &["SET", "k", "v"]), Reply::ok());
        let start = Arc::new(std::sync::Barrier::new(2));
        let dels: Vec<_> = (0..2)
            .map(|_| {
                let (s, start) = (Arc::clone(&s), Arc::clone(&start));
                std::thread::spawn(move || {
                    let mut c = s.new_session();
                    start.wait();
                    run1(&s, &mut c, &["DEL", "k"])
                })
            })
            .collect();
        let counted: Vec<Reply> = dels.into_iter().map(|t| t.join().unwrap()).collect();
        let total: i64 = counted
            .iter()
            .map(|r| match r {
                Reply::Int(n) => *n,
                other => panic!("DEL answered {other:?}"),
            })
            .sum();
        assert_eq!(total, 1, "round {round}: {counted:?}");
    }
}

#[test]
fn set_options_nx_xx_get_and_refused_expiry() {
    let (_d, s) = shared(None);
    let mut c = s.new_session();
    assert_eq!(run1(&s, &mut c, &["SET", "k", "1", "XX"]), Reply::Nil);
    assert_eq!(run1(&s, &mut c, &["SET", "k", "1", "NX"]), Reply::ok());
    assert_eq!(run1(&s, &mut c, &["SET", "k", "2", "NX"]), Reply::Nil);
    assert_eq!(
        run1(&s, &mut c, &["SET", "k", "3", "XX", "GET"]),
        Reply::bulk("1")
    );
    assert_eq!(run1(&s, &mut c, &["GET", "k"]), Reply::bulk("3"));
    assert_eq!(run1(&s, &mut c, &["SET", "k", "4", "KEEPTTL"]), Reply::ok());
    for bad in [
        &["SET", "k", "1", "EX", "10"][..],
        &["SET", "k", "1", "PX", "10"],
        &["SET", "k", "1", "NX", "XX"],
        &["SET", "k", "1", "BOGUS"],
        &["SET", "k"],
    ] {
        assert!(run1(&s, &mut c, bad).is_error(), "{bad:?}");
    }
    assert_eq!(run1(&s, &mut c, &["GET", "k"]), Reply::bulk("4"));
}

#[test]
fn typed_commands_round_trip_and_validate_every_field() {
    let (_d, s) = shared(None);
    let mut c = s.new_session();
    let ok = [
        &[
            "ORDER.INSERT",
            "o1",
            "u1",
            "BTC-USD",
            "buy",
            "101.5",
            "0.25",
        ][..],
        &["TRADE.EXEC", "t1", "o1", "BTC-USD", "101.5", "0.125"],
        &["ACCOUNT.UPDATE", "u1", "100.5", "90.25", "10.25", "5"],
    ];
    for cmd in ok {
        assert_eq!(run1(&s, &mut c, cmd), Reply::ok(), "{cmd:?}");
    }
    assert_eq!(
        run1(&s, &mut c, &["ORDER.GET", "o1"]),
        fields(vec![
            ("order_id", "o1".into()),
            ("user_id", "u1".into()),
            ("instrument_id", "BTC-USD".into()),
            ("side", "BUY".into()),
            ("price", "101.5".into()),
            ("volume", "0.25".into()),
        ])
    );
    assert_eq!(s.engine.get_trade("t1").unwrap().unwrap().volume, 0.125);
    assert_eq!(s.engine.get_account("u1").unwrap().unwrap().margin, 5.0);
    assert_eq!(run1(&s, &mut c, &["ORDER.GET", "nope"]), Reply::NilArray);
    let bad = [
        &["ORDER.INSERT", "o2", "u1", "BTC-USD", "hold", "1", "1"][..],
        &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "-1", "1"],
        &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "1", "0"],
        &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "nan", "1"],
        &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "inf", "1"],
        &["ORDER.INSERT", "", "u1", "BTC-USD", "BUY", "1", "1"],
        &["ORDER.INSERT", "o 2", "u1", "BTC-USD", "BUY", "1", "1"],
        &["ORDER.INSERT", "o2", "u1", "BTC-USD", "BUY", "1"],
        &["TRADE.EXEC", "t2", "o1", "BTC-USD", "1", "x"],
        &["TRADE.EXEC", "t2", "o1", "", "1", "1"],
        &["ACCOUNT.UPDATE", "u2", "10", "5", "4", "0"],
        &["ACCOUNT.UPDATE", "u2", "10", "6", "4", "5"],
        &["ACCOUNT.UPDATE", "u2", "10", "11", "-1", "0"],
        &["ACCOUNT.GET"],
    ];
    for cmd in bad {
        assert!(run1(&s, &mut c, cmd).is_error(), "{cmd:?}");
    }
    let long = "x".repeat(MAX_ID_LEN + 1);
    assert!(run1(&s, &mut c, &["TRADE.EXEC", &long, "o", "i", "1", "1"]).is_error());
    assert_eq!(s.engine.get_order("o2").unwrap(), None);
}

#[test]
fn auth_gates_every_data_command() {
    let (_d, s) = shared(Some("pw"));
    let mut c = s.new_session();
    for cmd in [
        &["GET", "k"][..],
        &["SET", "k", "v"],
        &["PING"],
        &["DBSIZE"],
        &["SCAN", "0"],
        &["ORDER.GET", "o"],
        &["SHUTDOWN"],
    ] {
        let r = run1(&s, &mut c, cmd);
        assert_eq!(r, Reply::err("NOAUTH Authentication required."), "{cmd:?}");
    }
    assert!(!s.shutdown_requested());
    assert!(run1(&s, &mut c, &["AUTH", "wrong"]).is_error());
    assert!(run1(&s, &mut c, &["HELLO", "2"]).is_error());
    assert_eq!(run1(&s, &mut c, &["AUTH", "default", "pw"]), Reply::ok());
    assert_eq!(run1(&s, &mut c, &["SET", "k", "v"]), Reply::ok());
    let mut c2 = s.new_session();
    assert!(!run1(&s, &mut c2, &["HELLO", "2", "AUTH", "default", "pw"]).is_error());
    assert_eq!(run1(&s, &mut c2, &["GET", "k"]), Reply::bulk("v"));
}

#[test]
fn scan_walks_every_key_once_with_match_and_count() {
    let (_d, s) = shared(None);
    let mut c = s.new_session();
    let mut cmds = Vec::new();
    for i in 0..95 {
        cmds.push(args(&["SET", &format!("user:{i:03}"), "x"]));
    }
    cmds.push(args(&["SET", "other", "x"]));
    cmds.push(args(&["ORDER.INSERT", "o1", "u", "i", "SELL", "1", "1"]));
    execute_batch(&s, &mut c, cmds);
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let Reply::Array(parts) = run1(
            &s,
            &mut c,
            &["SCAN", &cursor, "MATCH", "user:*", "COUNT", "7"],
        ) else {
            panic!("not an array")
        };
        let (Reply::Bulk(next), Reply::Array(keys)) = (&parts[0], &parts[1]) else {
            panic!("bad shape {parts:?}")
        };
        for k in keys {
            let Reply::Bulk(k) = k else { panic!() };
            seen.push(String::from_utf8(k.clone()).unwrap());
        }
        calls += 1;
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    let want: Vec<String> = (0..95).map(|i| format!("user:{i:03}")).collect();
    assert_eq!(seen, want);
    assert!(calls >= 14, "COUNT 7 over 96 keys: {calls} calls");
    assert!(run1(&s, &mut c, &["SCAN", "424242"]).is_error());
    assert!(run1(&s, &mut c, &["SCAN", "0", "COUNT", "0"]).is_error());
    assert!(run1(&s, &mut c, &["SCAN", "x"]).is_error());
}

#[test]
fn arity_unknown_commands_and_shutdown() {
    let (_d, s) = shared(None);
    let mut c = s.new_session();
    assert!(
        matches!(run1(&s, &mut c, &["GET"]), Reply::Error(e) if e.contains("wrong number of arguments for 'get'"))
    );
    assert!(
        matches!(run1(&s, &mut c, &["MSET", "a"]), Reply::Error(e) if e.contains("wrong number"))
    );
    assert!(
        matches!(run1(&s, &mut c, &["NOPE", "a"]), Reply::Error(e) if e.contains("unknown command 'NOPE'"))
    );
    assert_eq!(run1(&s, &mut c, &["PING"]), Reply::Simple("PONG"));
    assert_eq!(run1(&s, &mut c, &["ECHO", "hi"]), Reply::bulk("hi"));
    assert!(
        matches!(run1(&s, &mut c, &["ROLE"]), Reply::Array(v) if v[0] == Reply::bulk("master"))
    );
    assert_eq!(
        run1(&s, &mut c, &["CONFIG", "GET", "appendf*"]),
        Reply::Array(vec![Reply::bulk("appendfsync"), Reply::bulk("always")])
    );
    let replies = execute_batch(
        &s,
        &mut c,
        vec![
            args(&["SET", "a", "1"]),
            args(&["SHUTDOWN"]),
            args(&["SET", "b", "1"]),
        ],
    );
    assert_eq!(
        replies,
        vec![Reply::ok()],
        "nothing after SHUTDOWN runs, and it has no reply"
    );
    assert!(s.shutdown_requested());
    assert!(c.close);
    assert_eq!(s.engine.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.engine.get(b"b").unwrap(), None);
}
