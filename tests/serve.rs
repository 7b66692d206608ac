//! `drkit serve` end to end: the real binary driven by the real redis-cli and by the `redis`
//! client crate; SIGKILL under concurrent load; AUTH and protected mode; bad input; graceful
//! and forced shutdown; metrics and `drkit status`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::common::*;

/// A running `drkit serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    metrics: Option<u16>,
}

impl Server {
    fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(drkit_path());
        cmd.args(["serve", "--json", "--data"]).arg(dir).args(extra);
        if !extra.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.env_remove("DRKIT_REQUIREPASS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("no listening line from drkit serve ({e}): {line:?}"));
        assert_eq!(ready["type"], "listening", "{line}");
        let port_of =
            |v: &serde_json::Value| -> Option<u16> { v.as_str()?.rsplit(':').next()?.parse().ok() };
        Server {
            port: port_of(&ready["addr"]).unwrap(),
            metrics: port_of(&ready["metrics"]),
            child,
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits for the process to exit (at most `limit`) and returns its exit code.
    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < limit,
                "drkit serve did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(
    clippy::print_stderr,
    reason = "the skip must be visible in the test output"
)]
/// The redis-cli binary. CI installs it (.ci/run) and must fail without it; a developer
/// without it gets a clear skip.
fn redis_cli() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("redis-cli"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-cli is missing in CI: .ci/run must install Debian's redis-tools"
        );
        eprintln!("SKIP: redis-cli not installed (apt-get install redis-tools); CI runs this test");
    }
    found
}

fn cli(bin: &Path, port: u16, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "redis-cli {args:?}\n{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Sends raw bytes on a fresh connection and returns everything the server sent back before
/// closing or going quiet for `quiet`.
fn raw_exchange(port: u16, bytes: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(quiet)).unwrap();
    // The server may close before taking it all in; that is one of the accepted outcomes.
    let _ = s.write_all(bytes);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (got, closed)
}

#[test]
fn redis_cli_drives_every_command_and_shutdown_releases_the_lock() {
    let Some(rc) = redis_cli() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start(&dir, &[], &[]);
    let p = server.port;
    assert_eq!(cli(&rc, p, &["PING"]), "PONG\n");
    assert_eq!(cli(&rc, p, &["ECHO", "hello world"]), "hello world\n");
    assert_eq!(cli(&rc, p, &["SET", "k1", "v1"]), "OK\n");
    assert_eq!(cli(&rc, p, &["GET", "k1"]), "v1\n");
    assert_eq!(cli(&rc, p, &["SET", "k1", "v2", "NX"]), "\n");
    assert_eq!(cli(&rc, p, &["SET", "k1", "v2", "XX"]), "OK\n");
    assert_eq!(cli(&rc, p, &["MSET", "k2", "v2", "k3", "v3"]), "OK\n");
    assert_eq!(
        cli(&rc, p, &["MGET", "k1", "k2", "nope", "k3"]),
        "v2\nv2\n\nv3\n"
    );
    assert_eq!(cli(&rc, p, &["EXISTS", "k1", "nope", "k2"]), "2\n");
    assert_eq!(cli(&rc, p, &["DEL", "k3", "nope"]), "1\n");
    assert_eq!(cli(&rc, p, &["DBSIZE"]), "2\n");
    let mut scanned: Vec<String> = cli(&rc, p, &["--scan", "--pattern", "k*"])
        .lines()
        .map(str::to_string)
        .collect();
    scanned.sort();
    assert_eq!(scanned, ["k1", "k2"]);
    // The cursor protocol by hand, one key per call.
    let mut cursor = "0".to_string();
    let mut by_hand = Vec::new();
    loop {
        let out = cli(&rc, p, &["SCAN", &cursor, "MATCH", "k*", "COUNT", "1"]);
        let mut lines = out.lines();
        cursor = lines.next().unwrap().to_string();
        by_hand.extend(lines.map(str::to_string));
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(by_hand, ["k1", "k2"]);
    assert_eq!(cli(&rc, p, &["ROLE"]).lines().next(), Some("master"));
    let info = cli(&rc, p, &["INFO"]);
    for want in [
        "# Persistence",
        "checkpoint_seq:",
        "wal_bytes_written:",
        "last_flush_time:",
        "last_compaction_time:",
        "db0:keys=2",
        "connected_clients:1",
        "level0:files=",
    ] {
        assert!(info.contains(want), "INFO lacks {want}:\n{info}");
    }
    assert_eq!(
        cli(
            &rc,
            p,
            &[
                "ORDER.INSERT",
                "o-1",
                "u-1",
                "BTC-USD",
                "SELL",
                "64000.5",
                "0.01"
            ]
        ),
        "OK\n"
    );
    assert_eq!(
        cli(&rc, p, &["ORDER.GET", "o-1"]),
        "order_id\no-1\nuser_id\nu-1\ninstrument_id\nBTC-USD\nside\nSELL\nprice\n64000.5\nvolume\n0.01\n"
    );
    assert_eq!(
        cli(
            &rc,
            p,
            &["TRADE.EXEC", "t-1", "o-1", "BTC-USD", "64000.5", "0.01"]
        ),
        "OK\n"
    );
    assert!(cli(&rc, p, &["TRADE.GET", "t-1"]).contains("trade_id\nt-1\n"));
    assert_eq!(
        cli(&rc, p, &["ACCOUNT.UPDATE", "u-1", "100", "60", "40", "10"]),
        "OK\n"
    );
    assert!(cli(&rc, p, &["ACCOUNT.GET", "u-1"]).contains("frozen\n40\nmargin\n10\n"));
    assert!(cli(&rc, p, &["ACCOUNT.UPDATE", "u-1", "100", "60", "30", "10"]).contains("ERR"));
    assert!(cli(&rc, p, &["SET", "x", "1", "EX", "5"]).contains("do not expire"));

    // Pipelining through redis-cli --pipe: 1000 SETs in one stream.
    let mut stream = Vec::new();
    for i in 0..1000 {
        stream.extend(drkit::serve::resp::encode_request(&[
            b"SET",
            format!("pipe:{i}").as_bytes(),
            format!("val{i}").as_bytes(),
        ]));
    }
    let mut child = Command::new(&rc)
        .args(["-p", &p.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("errors: 0, replies: 1000"), "{report}");
    assert_eq!(cli(&rc, p, &["GET", "pipe:999"]), "val999\n");
    assert_eq!(cli(&rc, p, &["DBSIZE"]), "1002\n");

    assert_eq!(cli(&rc, p, &["SHUTDOWN"]), "");
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
    // The lock is released and everything acknowledged is there.
    let engine = drkit::engine::Engine::open(&dir, drkit::engine::Options::default()).unwrap();
    assert_eq!(engine.get(b"k1").unwrap(), Some(b"v2".to_vec()));
    assert_eq!(engine.get(b"pipe:500").unwrap(), Some(b"val500".to_vec()));
    assert_eq!(engine.get_order("o-1").unwrap().unwrap().price, 64000.5);
}

#[test]
fn redis_crate_pipelined_and_concurrent_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[], &[]);
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("p{i}")).arg(i).ignore();
    }
    pipe.cmd("GET").arg("p199");
    pipe.cmd("MGET").arg("p0").arg("p1").arg("missing");
    pipe.cmd("EXISTS").arg("p5").arg("missing");
    let (last, mget, exists): (String, Vec<Option<String>>, i64) = pipe.query(&mut con).unwrap();
    assert_eq!(last, "199");
    assert_eq!(mget, vec![Some("0".into()), Some("1".into()), None]);
    assert_eq!(exists, 1);
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 200);
    let mut keys: Vec<String> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg("p1*")
        .arg("COUNT")
        .arg(7)
        .clone()
        .iter(&mut con)
        .unwrap()
        .collect();
    keys.sort();
    assert_eq!(keys.len(), 111, "p1, p10..p19, p100..p199");
    let del: i64 = redis::cmd("DEL")
        .arg("p0")
        .arg("p1")
        .arg("nope")
        .query(&mut con)
        .unwrap();
    assert_eq!(del, 2);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let echo: String = redis::cmd("ECHO").arg("e").query(&mut con).unwrap();
    assert_eq!(echo, "e");
    let role: (String, i64, Vec<String>) = redis::cmd("ROLE").query(&mut con).unwrap();
    assert_eq!(role.0, "master");
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut con).unwrap();
    assert!(info.contains("db0:keys=198"), "{info}");
    let hello: Vec<redis::Value> = redis::cmd("HELLO").arg(2).query(&mut con).unwrap();
    assert!(!hello.is_empty());
    assert!(redis::cmd("HELLO").arg(3).query::<()>(&mut con).is_err());

    // Typed records round-trip through the client.
    let () = redis::cmd("ORDER.INSERT")
        .arg(&["ord-7", "user-3", "ETH-USD", "buy", "3000.25", "1.5"])
        .query(&mut con)
        .unwrap();
    let fields: Vec<(String, String)> = redis::cmd("ORDER.GET")
        .arg("ord-7")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        fields,
        [
            ("order_id", "ord-7"),
            ("user_id", "user-3"),
            ("instrument_id", "ETH-USD"),
            ("side", "BUY"),
            ("price", "3000.25"),
            ("volume", "1.5"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let () = redis::cmd("TRADE.EXEC")
        .arg(&["trd-1", "ord-7", "ETH-USD", "3000.25", "0.5"])
        .query(&mut con)
        .unwrap();
    let trade: Vec<String> = redis::cmd("TRADE.GET")
        .arg("trd-1")
        .query(&mut con)
        .unwrap();
    assert_eq!(trade[9], "0.5");
    let () = redis::cmd("ACCOUNT.UPDATE")
        .arg(&["user-3", "10.5", "10", "0.5", "0.25"])
        .query(&mut con)
        .unwrap();
    let acct: Vec<String> = redis::cmd("ACCOUNT.GET")
        .arg("user-3")
        .query(&mut con)
        .unwrap();
    assert_eq!(acct[3], "10.5");
    let missing: Option<Vec<String>> = redis::cmd("TRADE.GET").arg("nope").query(&mut con).unwrap();
    assert_eq!(missing, None);

    // Concurrent clients, each pipelining, each reading its own writes back.
    let url = server.url();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                for round in 0..20 {
                    let mut pipe = redis::pipe();
                    for i in 0..16 {
                        pipe.cmd("SET")
                            .arg(format!("c{t}:{round}:{i}"))
                            .arg(format!("{t}-{round}-{i}"))
                            .ignore();
                    }
                    pipe.cmd("GET").arg(format!("c{t}:{round}:15"));
                    let (v,): (String,) = pipe.query(&mut con).unwrap();
                    assert_eq!(v, format!("{t}-{round}-15"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 198 + 8 * 20 * 16);
}

#[test]
fn sigkill_under_concurrent_writes_loses_no_acknowledged_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start(&dir, &["--sync", "always"], &[]);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let url = server.url();
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let (acked, stop, url) = (Arc::clone(&acked), Arc::clone(&stop), url.clone());
            std::thread::spawn(move || {
                let Ok(mut con) = redis::Client::open(url).unwrap().get_connection() else {
                    return;
                };
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if t % 2 == 0 {
                        let k = format!("w{t}:{i}");
                        let v = format!("value-{t}-{i}-{}", "x".repeat((i % 64) as usize));
                        match redis::cmd("SET").arg(&k).arg(&v).query::<String>(&mut con) {
                            Ok(ok) if ok == "OK" => acked.lock().unwrap().push((k, v)),
                            Ok(other) => panic!("SET answered {other}"),
                            Err(_) => return,
                        }
                        i += 1;
                    } else {
                        // Pipelined writers: a batch of 16 is acknowledged together.
                        let mut pipe = redis::pipe();
                        let batch: Vec<(String, String)> = (0..16)
                            .map(|j| (format!("w{t}:{}", i + j), format!("pv-{t}-{}", i + j)))
                            .collect();
                        for (k, v) in &batch {
                            pipe.cmd("SET").arg(k).arg(v);
                        }
                        match pipe.query::<Vec<String>>(&mut con) {
                            Ok(oks) => {
                                assert!(oks.iter().all(|o| o == "OK"), "{oks:?}");
                                acked.lock().unwrap().extend(batch);
                            }
                            Err(_) => return,
                        }
                        i += 16;
                    }
                }
            })
        })
        .collect();
    // Kill only once the load is well under way.
    let start = Instant::now();
    while acked.lock().unwrap().len() < 2000 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.signal("KILL");
    assert_eq!(
        server.wait_exit(Duration::from_secs(10)),
        None,
        "killed by a signal"
    );
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.len() >= 2000,
        "only {} writes acknowledged",
        acked.len()
    );

    let server = Server::start(&dir, &["--sync", "always"], &[]);
    let mut con = server.client();
    let mut missing = Vec::new();
    for chunk in acked.chunks(500) {
        let keys: Vec<&String> = chunk.iter().map(|(k, _)| k).collect();
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(keys).query(&mut con).unwrap();
        for ((k, v), got) in chunk.iter().zip(values) {
            if got.as_deref() != Some(v.as_str()) {
                missing.push((k.clone(), v.clone(), got));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged SETs lost or wrong after SIGKILL, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn without_the_password_every_data_command_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pwfile = tmp.path().join("pw");
    std::fs::write(&pwfile, "file-secret\n").unwrap();
    for (extra, env, secret) in [
        (
            vec![],
            vec![("DRKIT_REQUIREPASS", "env-secret")],
            "env-secret",
        ),
        (
            vec!["--requirepass-file", pwfile.to_str().unwrap()],
            vec![],
            "file-secret",
        ),
    ] {
        let server = Server::start(&tmp.path().join(secret), &extra, &env);
        let mut con = server.client();
        for (i, cmd) in [
            redis::cmd("PING"),
            redis::cmd("GET").arg("k").clone(),
            redis::cmd("SET").arg("k").arg("v").clone(),
            redis::cmd("DEL").arg("k").clone(),
            redis::cmd("EXISTS").arg("k").clone(),
            redis::cmd("MGET").arg("k").clone(),
            redis::cmd("MSET").arg("k").arg("v").clone(),
            redis::cmd("SCAN").arg(0).clone(),
            redis::cmd("DBSIZE"),
            redis::cmd("INFO"),
            redis::cmd("ROLE"),
            redis::cmd("ECHO").arg("x").clone(),
            redis::cmd("ORDER.GET").arg("o").clone(),
            redis::cmd("ORDER.INSERT")
                .arg(&["o", "u", "i", "BUY", "1", "1"])
                .clone(),
            redis::cmd("TRADE.GET").arg("t").clone(),
            redis::cmd("ACCOUNT.GET").arg("u").clone(),
            redis::cmd("SHUTDOWN"),
        ]
        .into_iter()
        .enumerate()
        {
            let err = cmd.query::<redis::Value>(&mut con).unwrap_err();
            assert!(
                err.to_string().contains("NOAUTH") || err.code() == Some("NOAUTH"),
                "command #{i}: {err}"
            );
        }
        let wrong = redis::cmd("AUTH")
            .arg("guess")
            .query::<()>(&mut con)
            .unwrap_err();
        assert!(wrong.to_string().contains("WRONGPASS"), "{wrong}");
        let () = redis::cmd("AUTH").arg(secret).query(&mut con).unwrap();
        let () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
        let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
        assert_eq!(v, "v");
        // A client library given the password in the URL authenticates itself.
        let mut with_url =
            redis::Client::open(format!("redis://:{secret}@127.0.0.1:{}/", server.port))
                .unwrap()
                .get_connection()
                .unwrap();
        let v: String = redis::cmd("GET").arg("k").query(&mut with_url).unwrap();
        assert_eq!(v, "v");
        // drkit status authenticates the same way.
        let out = drkit()
            .args([
                "status",
                "--json",
                "--addr",
                &format!("127.0.0.1:{}", server.port),
            ])
            .env("DRKIT_REQUIREPASS", secret)
            .output()
            .unwrap();
        assert_exit(&out, 0, "status with the password");
        let out = drkit()
            .args(["status", "--addr", &format!("127.0.0.1:{}", server.port)])
            .env_remove("DRKIT_REQUIREPASS")
            .output()
            .unwrap();
        assert_exit(&out, 1, "status without the password");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("NOAUTH"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn before_auth_limits_are_small_and_grow_after_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &[],
        &[("DRKIT_REQUIREPASS", "s3cret")],
    );
    let quiet = Duration::from_secs(5);
    // A 100 KB bulk header before AUTH: refused at the header, not buffered.
    let (reply, closed) = raw_exchange(server.port, b"*2\r\n$4\r\nAUTH\r\n$100000\r\n", quiet);
    let reply = String::from_utf8_lossy(&reply).into_owned();
    assert!(
        reply.starts_with("-ERR Protocol error: invalid bulk length 100000")
            && reply.contains("before AUTH"),
        "{reply:?}"
    );
    assert!(closed);
    let (reply, closed) = raw_exchange(server.port, b"*17\r\n", quiet);
    assert!(
        reply.starts_with(b"-ERR Protocol error: invalid multibulk length"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    assert!(closed);
    // AUTH pipelined with a large SET in one write: the SET is parsed with the full limits.
    let big = vec![b'v'; 100_000];
    let mut req = drkit::serve::resp::encode_request(&[b"AUTH", b"s3cret"]);
    req.extend(drkit::serve::resp::encode_request(&[b"SET", b"big", &big]));
    req.extend(drkit::serve::resp::encode_request(&[b"QUIT"]));
    let (reply, closed) = raw_exchange(server.port, &req, quiet);
    assert_eq!(reply, b"+OK\r\n+OK\r\n+OK\r\n");
    assert!(closed);
    let mut con = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", server.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg("big").query(&mut con).unwrap();
    assert_eq!(got, big);
}

#[test]
fn an_empty_password_file_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let pwfile = tmp.path().join("pw");
    std::fs::write(&pwfile, "\n").unwrap();
    let out = drkit()
        .args(["serve", "--listen", "127.0.0.1:0", "--requirepass-file"])
        .arg(&pwfile)
        .arg("--data")
        .arg(tmp.path().join("d"))
        .output()
        .unwrap();
    assert_exit(&out, 1, "empty password file");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("empty"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_input_gets_an_error_or_a_closed_connection_while_others_keep_working() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        &tmp.path().join("data"),
        &["--idle-timeout", "2s", "--max-bulk-len", "1048576"],
        &[],
    );
    let mut good = server.client();
    let () = redis::cmd("SET")
        .arg("steady")
        .arg("1")
        .query(&mut good)
        .unwrap();
    let check = |good: &mut redis::Connection| {
        let v: String = redis::cmd("GET").arg("steady").query(good).unwrap();
        assert_eq!(v, "1");
    };
    let quiet = Duration::from_millis(1500);

    // A bulk length of 2^40: refused before any allocation, connection closed.
    let (reply, closed) = raw_exchange(
        server.port,
        format!("*2\r\n$3\r\nGET\r\n${}\r\n", 1u64 << 40).as_bytes(),
        quiet,
    );
    assert!(
        String::from_utf8_lossy(&reply).starts_with("-ERR Protocol error"),
        "{reply:?}"
    );
    assert!(closed);
    check(&mut good);

    // A bulk string over the configured limit.
    let (reply, closed) = raw_exchange(server.port, b"*2\r\n$3\r\nGET\r\n$2000000\r\n", quiet);
    assert!(
        String::from_utf8_lossy(&reply).contains("--max-bulk-len"),
        "{reply:?}"
    );
    assert!(closed);
    check(&mut good);

    // Random bytes, many seeds: an error or a close each time, never a dead server.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..20 {
        let mut junk = Vec::with_capacity(4096);
        for _ in 0..4096 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push(seed as u8);
        }
        if round % 2 == 0 {
            junk[0] = b'*';
        }
        let (reply, closed) = raw_exchange(server.port, &junk, Duration::from_millis(300));
        assert!(
            closed || reply.starts_with(b"-"),
            "round {round}: neither an error nor a close: {:?}",
            String::from_utf8_lossy(&reply)
        );
        check(&mut good);
    }

    // An unterminated frame: nothing is answered, and the idle timeout closes it. The good
    // client keeps talking meanwhile (which also keeps it from idling out itself).
    let port = server.port;
    let stalled = std::thread::spawn(move || {
        raw_exchange(
            port,
            b"*2\r\n$3\r\nGET\r\n$5\r\nab",
            Duration::from_secs(10),
        )
    });
    while !stalled.is_finished() {
        check(&mut good);
        std::thread::sleep(Duration::from_millis(100));
    }
    let (reply, closed) = stalled.join().unwrap();
    assert!(reply.is_empty(), "{reply:?}");
    assert!(closed, "closed by the idle timeout, not left hanging");
    check(&mut good);

    // Wrong arity and unknown commands: errors, and the connection stays usable.
    let mut con = server.client();
    let e = redis::cmd("GET").query::<()>(&mut con).unwrap_err();
    assert!(e.to_string().contains("wrong number of arguments"), "{e}");
    let e = redis::cmd("MSET")
        .arg("a")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(e.to_string().contains("wrong number of arguments"), "{e}");
    let e = redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap_err();
    assert!(e.to_string().contains("unknown command"), "{e}");
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    // Inline commands, as telnet sends them.
    let (reply, _) = raw_exchange(server.port, b"PING\r\nGET steady\r\nQUIT\r\n", quiet);
    assert_eq!(reply, b"+PONG\r\n$1\r\n1\r\n+OK\r\n");
    check(&mut good);
    assert_eq!(
        server.child.try_wait().unwrap(),
        None,
        "server still running"
    );
}

#[test]
fn max_clients_is_enforced_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &["--max-clients", "2"], &[]);
    let mut a = server.client();
    let mut b = server.client();
    for c in [&mut a, &mut b] {
        let pong: String = redis::cmd("PING").query(c).unwrap();
        assert_eq!(pong, "PONG");
    }
    let (reply, closed) = raw_exchange(server.port, b"PING\r\n", Duration::from_secs(2));
    assert!(
        String::from_utf8_lossy(&reply).contains("max number of clients reached"),
        "{reply:?}"
    );
    assert!(closed);
    drop(a);
    // The freed slot is usable again.
    let start = Instant::now();
    loop {
        let (reply, _) = raw_exchange(server.port, b"PING\r\n", Duration::from_millis(500));
        if reply == b"+PONG\r\n" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "slot never freed: {reply:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_stops_gracefully_and_a_second_signal_exits_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // Graceful: idle clients are closed, acknowledged writes are kept, the lock is released.
    let mut server = Server::start(&dir, &[], &[]);
    let mut con = server.client();
    let () = redis::cmd("SET")
        .arg("kept")
        .arg("yes")
        .query(&mut con)
        .unwrap();
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
    let engine = drkit::engine::Engine::open(&dir, drkit::engine::Options::default()).unwrap();
    assert_eq!(engine.get(b"kept").unwrap(), Some(b"yes".to_vec()));
    drop(engine);

    // A client that never reads its replies keeps its connection in flight (the server is
    // blocked writing to it), so the graceful stop waits; a second signal ends it at once.
    let mut server = Server::start(&dir, &[], &[]);
    let mut con = server.client();
    let big = vec![b'x'; 1 << 20];
    let () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut con)
        .unwrap();
    let stuck = never_reading_client(server.port, 64);
    std::thread::sleep(Duration::from_millis(500));
    server.signal("INT");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        server.child.try_wait().unwrap(),
        None,
        "still finishing the in-flight connection"
    );
    server.signal("INT");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(130));
    drop(stuck);
    // Recovery after the forced exit is the engine's normal path.
    let engine = drkit::engine::Engine::open(&dir, drkit::engine::Options::default()).unwrap();
    assert_eq!(engine.get(b"big").unwrap(), Some(big));
    drop(engine);

    // One signal is enough even with such a client: its write gets a short grace, then the
    // stop completes (exit 0, WAL synced) while it still reads nothing.
    let mut server = Server::start(&dir, &[], &[]);
    let stuck = never_reading_client(server.port, 64);
    std::thread::sleep(Duration::from_millis(500));
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
    drop(stuck);
}

/// A client that asks for `gets` copies of the 1 MiB value `big` and reads none of them.
fn never_reading_client(port: u16, gets: usize) -> TcpStream {
    let mut stuck = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let get = drkit::serve::resp::encode_request(&[b"GET", b"big"]);
    for _ in 0..gets {
        stuck.write_all(&get).unwrap();
    }
    stuck
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_idle_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &["--idle-timeout", "1s"], &[]);
    let mut con = server.client();
    let big = vec![b'x'; 1 << 20];
    let () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut con)
        .unwrap();
    let mut stuck = never_reading_client(server.port, 64);
    std::thread::sleep(Duration::from_millis(2500));
    // Others are served meanwhile (a new client: the first one idled out too).
    let mut con = server.client();
    let v: Vec<u8> = redis::cmd("GET").arg("big").query(&mut con).unwrap();
    assert_eq!(v.len(), big.len());
    // What the kernel buffered arrives, then the close: far from the 64 MiB asked for.
    stuck
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let closed = loop {
        match stuck.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    assert!(closed, "closed by the write timeout, not left open");
    assert!(
        got < 64 << 20,
        "all {got} bytes arrived: the write never timed out"
    );
}

#[test]
fn metrics_and_status_report_the_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &["--metrics", "127.0.0.1:0", "--sync", "interval:50"],
        &[],
    );
    let mut con = server.client();
    for i in 0..50 {
        let () = redis::cmd("SET")
            .arg(format!("m{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let _: Option<String> = redis::cmd("GET").arg("m1").query(&mut con).unwrap();
    let _ = redis::cmd("NOPE").query::<()>(&mut con);

    let port = server
        .metrics
        .expect("metrics address in the listening line");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    for want in [
        "drkit_requests_total{command=\"set\"} 50",
        "drkit_requests_total{command=\"get\"} 1",
        "drkit_request_errors_total{command=\"other\"} 1",
        "drkit_request_duration_seconds_bucket{command=\"set\",le=\"+Inf\"} 50",
        "drkit_group_commit_batch_size_bucket{le=\"+Inf\"}",
        "drkit_wal_bytes_total",
        "drkit_wal_fsyncs_total",
        "drkit_flushes_total 0",
        "drkit_compactions_total 0",
        "drkit_memtable_bytes",
        "drkit_level_files{level=\"6\"} 0",
        "drkit_connected_clients 1",
    ] {
        assert!(body.contains(want), "metrics lack `{want}`:\n{body}");
    }
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /other HTTP/1.1\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 404"), "{body}");

    let addr = format!("127.0.0.1:{}", server.port);
    let out = drkit()
        .args(["status", "--json", "--addr", &addr])
        .output()
        .unwrap();
    assert_exit(&out, 0, "status --json");
    let j = json_report(&out.stdout);
    assert_eq!(j["type"], "status");
    assert_eq!(j["role"], "master");
    assert_eq!(j["last_seq"], 50);
    assert_eq!(j["checkpoint_seq"], 0);
    assert_eq!(j["clients"], 2, "the redis client and status itself");
    assert_eq!(j["sync"], "interval:50");
    assert_eq!(j["levels"].as_array().unwrap().len(), 7);
    assert!(j["uptime_seconds"].is_u64() && j["ops_per_sec"].is_u64());
    let out = drkit().args(["status", "--addr", &addr]).output().unwrap();
    assert_exit(&out, 0, "status");
    let human = String::from_utf8_lossy(&out.stdout);
    for want in [
        "role",
        "master",
        "checkpoint seq",
        "last seq",
        "ops/s",
        "level",
    ] {
        assert!(human.contains(want), "{human}");
    }
    let out = drkit()
        .args(["status", "--addr", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_exit(&out, 1, "status against nothing");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("drkit serve"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_second_server_on_a_served_dir_is_refused_with_lock_held() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let _server = Server::start(&dir, &[], &[]);
    let out = drkit()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 11, "second server on the same dir");
}

/// A network namespace joined to this one by a veth pair on a private /30 that nothing on
/// this machine uses (checked first), removed again on drop. None when namespaces cannot be
/// made here (not root, no `ip`, no CAP_NET_ADMIN) or no candidate subnet is free.
struct NetNs {
    name: String,
    host_if: String,
    host_ip: String,
}

impl NetNs {
    fn create() -> Option<NetNs> {
        let (host_ip, ns_ip) = ["10.231.77", "172.31.231", "192.168.231"]
            .iter()
            .map(|net| (format!("{net}.1"), format!("{net}.2")))
            .find(|(a, b)| unused_address(a) && unused_address(b))?;
        let id = std::process::id() % 100_000;
        let name = format!("drkit-pm-{id}");
        let (host_if, ns_if) = (format!("dkpm{id}a"), format!("dkpm{id}b"));
        if !ip(&["netns", "add", &name]) {
            return None;
        }
        let ns = NetNs {
            name,
            host_if: host_if.clone(),
            host_ip,
        };
        let ok = ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]) && ip(&["link", "set", &ns_if, "netns", &ns.name])
            && ip(&[
                "addr",
                "add",
                &format!("{}/30", ns.host_ip),
                "dev",
                &host_if,
            ])
            && ip(&["link", "set", &host_if, "up"])
            && ip(&[
                "-n",
                &ns.name,
                "addr",
                "add",
                &format!("{ns_ip}/30"),
                "dev",
                &ns_if,
            ])
            && ip(&["-n", &ns.name, "link", "set", &ns_if, "up"])
            && ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        if !ok {
            return None;
        }
        Some(ns)
    }

    fn exec(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

/// True when `addr` is neither local nor on a directly connected network here: the kernel
/// would send it to a gateway (or has no route at all).
fn unused_address(addr: &str) -> bool {
    let Ok(out) = Command::new("ip")
        .args(["-4", "route", "get", addr])
        .output()
    else {
        return false;
    };
    let route = String::from_utf8_lossy(&out.stdout);
    !out.status.success() || (route.contains(" via ") && !route.starts_with("local"))
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // The kernel removes the pair with the namespace, but only once that is freed:
        // delete our end at once so nothing is left behind even briefly.
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[allow(
    clippy::print_stderr,
    reason = "the skip must be visible in the test output"
)]
#[test]
fn protected_mode_refuses_a_client_from_another_network_namespace() {
    let Some(ns) = NetNs::create() else {
        eprintln!(
            "SKIP: cannot create a network namespace with a veth pair here (needs root and `ip netns`)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let status_from_ns = |port: u16, password: Option<&str>| {
        let mut c = ns.exec(&drkit_path());
        c.args([
            "status",
            "--json",
            "--addr",
            &format!("{}:{port}", ns.host_ip),
        ]);
        match password {
            Some(p) => c.env("DRKIT_REQUIREPASS", p),
            None => c.env_remove("DRKIT_REQUIREPASS"),
        };
        c.output().unwrap()
    };

    // No password: the client in the namespace is refused with the how-to; loopback is served.
    let listen = format!("{}:0", ns.host_ip);
    let open = Server::start(&tmp.path().join("open"), &["--listen", &listen], &[]);
    let out = status_from_ns(open.port, None);
    assert_exit(&out, 1, "status from another namespace, no password");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DENIED") && err.contains("protected mode"),
        "{err}"
    );
    assert!(
        err.contains("--requirepass-file"),
        "the error says how to set a password: {err}"
    );

    // With a password, the same client is served once it authenticates.
    let guarded = Server::start(
        &tmp.path().join("guarded"),
        &["--listen", &listen],
        &[("DRKIT_REQUIREPASS", "pm-secret")],
    );
    let out = status_from_ns(guarded.port, Some("pm-secret"));
    assert_exit(&out, 0, "status from another namespace with the password");
    assert_eq!(json_report(&out.stdout)["role"], "master");
    let out = status_from_ns(guarded.port, None);
    assert_exit(
        &out,
        1,
        "status from another namespace without the password",
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NOAUTH"),
        "{}",
        text(&out)
    );

    // --no-protected-mode serves it without a password.
    let trusting = Server::start(
        &tmp.path().join("trusting"),
        &["--listen", &listen, "--no-protected-mode"],
        &[],
    );
    let out = status_from_ns(trusting.port, None);
    assert_exit(&out, 0, "status with protected mode off");
}
