//! `drkit cluster` and `replicate --join` pointed at the wrong address fail within seconds,
//! naming the address and what answered there: a node's client port (with its Raft port), a
//! closed port, a server of another protocol, a silent server, a standalone `serve`.

use super::cluster_procs::*;
use super::common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `cluster status --addr ADDR`: must fail, well before the 60 s default timeout, with a
/// message naming ADDR. Returns the message.
fn status_fails(addr: &str, secret: &Path) -> String {
    let start = Instant::now();
    let out = drkit()
        .args(["cluster", "status", "--addr", addr])
        .arg("--cluster-secret-file")
        .arg(secret)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_exit(&out, 1, &format!("cluster status at {addr}"));
    let err = text(&out);
    assert!(err.contains(addr), "the message names {addr}: {err}");
    // The bound is 5 s (connect 2 s, challenge 2 s, probe 1 s); the margin is the machine's.
    assert!(took < Duration::from_secs(8), "{addr}: took {took:?}");
    err
}

/// A server that accepts and sends `greeting` (nothing when empty), then keeps the
/// connection open, reading, until the test ends.
fn fake_server(greeting: &'static [u8]) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let _ = s.write_all(greeting);
                let mut buf = [0u8; 1024];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

fn standalone_serve(dir: &Path) -> (std::process::Child, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(drkit_path())
        .args(["serve", "--json", "--data"])
        .arg(dir)
        .args(["--listen", &addr])
        .env_remove("DRKIT_REQUIREPASS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "standalone serve: {line:?}");
    (child, addr)
}

#[test]
fn cluster_commands_at_a_wrong_address_say_what_answered_there() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "wrong numbers\n").unwrap();
    let mut node = ClusterNodeProc {
        id: 1,
        dir: root.path().join("n1"),
        client_port: free_port(),
        raft_port: free_port(),
        child: None,
    };
    node.start_new(&secret);
    // cluster init at the client port (it used to wait for a minute, silent).
    let client = format!("127.0.0.1:{}", node.client_port);
    let start = Instant::now();
    let out = drkit()
        .args(["cluster", "init", "--addr", &client, "--members"])
        .arg(format!("1={client}"))
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&out, 1, "cluster init at a client port");
    assert!(
        text(&out).contains("client port of drkit node 1"),
        "{}",
        text(&out)
    );
    assert!(start.elapsed() < Duration::from_secs(8));
    let out = drkit()
        .args(["cluster", "init", "--addr", &node.raft_addr(), "--members"])
        .arg(format!("1={}", node.raft_addr()))
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&out, 0, "cluster init");
    wait_leader(&node.raft_addr(), &secret, None);

    // The node's client port, the easy mistake: named, with the Raft port to use.
    let err = status_fails(&client, &secret);
    assert!(
        err.contains("client port of drkit node 1") && err.contains(&node.raft_addr()),
        "{err}"
    );

    // A closed port.
    let closed = format!("127.0.0.1:{}", free_port());
    let err = status_fails(&closed, &secret);
    assert!(err.contains("cannot connect"), "{err}");

    // Another protocol that speaks first, and a server that never speaks.
    let http = fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let err = status_fails(&http, &secret);
    assert!(
        err.contains("not a drkit node: it sent `HTTP/1.1 400 Bad Request`"),
        "{err}"
    );
    let silent = fake_server(b"");
    let err = status_fails(&silent, &secret);
    assert!(err.contains("sent nothing"), "{err}");

    // A standalone serve: a Redis-protocol server, no cluster at all.
    let (mut serve, serve_addr) = standalone_serve(&root.path().join("standalone"));
    let err = status_fails(&serve_addr, &secret);
    assert!(err.contains("Redis-protocol server"), "{err}");
    let _ = serve.kill();
    let _ = serve.wait();

    // A node of another cluster is not added as a learner: it would refuse this one.
    let mut other = ClusterNodeProc {
        id: 2,
        dir: root.path().join("other"),
        client_port: free_port(),
        raft_port: free_port(),
        child: None,
    };
    other.start_new(&secret);
    let out = drkit()
        .args(["cluster", "init", "--addr", &other.raft_addr(), "--members"])
        .arg(format!("2={}", other.raft_addr()))
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&out, 0, "cluster init of the other cluster");
    let start = Instant::now();
    let out = drkit()
        .args(["cluster", "add-learner", "--addr", &node.raft_addr()])
        .args(["--id", "2", "--node-addr", &other.raft_addr()])
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&out, 1, "add-learner of a node of another cluster");
    assert!(
        text(&out).contains(&format!(
            "{} (node 2) belongs to another cluster (voters 2)",
            other.raft_addr()
        )),
        "{}",
        text(&out)
    );
    assert!(start.elapsed() < Duration::from_secs(8));

    // replicate --join at the client port: refused the same way, and the new node does not
    // start.
    let start = Instant::now();
    let out = drkit()
        .args(["replicate", "--json", "--timing", "fast", "--join", &client])
        .arg("--data")
        .arg(root.path().join("n2"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args([
            "--node-id",
            "2",
            "--raft-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .arg("--cluster-secret-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("client port of drkit node 1"),
        "{}",
        text(&out)
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}
