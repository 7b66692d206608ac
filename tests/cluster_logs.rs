//! A node's log as an operator reads it after an incident: one line per event with an RFC
//! 3339 time stamp, the level, the node id and the term; JSON with `--log-format json`; and
//! no line for a connection that closes during the handshake (port probes).

use super::cluster_procs::*;
use super::common::*;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start_node(dir: &Path, secret: &Path, format: &str) -> (Child, String, std::path::PathBuf) {
    let raft = format!("127.0.0.1:{}", free_port());
    let log = dir.with_extension("stderr.log");
    let mut child = Command::new(drkit_path())
        .args([
            "serve",
            "--json",
            "--timing",
            "fast",
            "--log-format",
            format,
        ])
        .arg("--data")
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--node-id", "1", "--raft-listen", &raft])
        .arg("--cluster-secret-file")
        .arg(secret)
        .env_remove("DRKIT_REQUIREPASS")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line:?}");
    let out = drkit()
        .args(["cluster", "init", "--addr", &raft, "--members"])
        .arg(format!("1={raft}"))
        .arg("--cluster-secret-file")
        .arg(secret)
        .output()
        .unwrap();
    assert_exit(&out, 0, "cluster init");
    (child, raft, log)
}

/// The log once it holds `want`, within a few seconds.
fn log_with(log: &Path, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(want) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {want:?} in the log: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn node_log_lines_carry_time_level_node_and_term_as_text_or_json() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::write(&secret, "log lines\n").unwrap();

    let (mut text_node, raft, log) = start_node(&root.path().join("text"), &secret, "text");
    // A port probe: connect, close. Debug-level noise, not a line at the default level.
    drop(std::net::TcpStream::connect(&raft).unwrap());
    let text = log_with(&log, "is the leader of term");
    std::thread::sleep(Duration::from_millis(300));
    let text = std::fs::read_to_string(&log).unwrap_or(text);
    let leader = text
        .lines()
        .find(|l| l.contains("node 1 is the leader of term"))
        .unwrap();
    let mut words = leader.split_whitespace();
    let stamp = words.next().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok() && stamp.ends_with('Z'),
        "{leader}"
    );
    assert_eq!(words.next(), Some("INFO"), "{leader}");
    assert!(
        leader.contains("node=1") && leader.contains("term="),
        "{leader}"
    );
    assert!(
        !text.contains("handshake") && !text.contains("early eof"),
        "a probe left a line: {text}"
    );
    let _ = text_node.kill();
    let _ = text_node.wait();

    let (mut json_node, _, log) = start_node(&root.path().join("json"), &secret, "json");
    let text = log_with(&log, "is the leader of term");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        if v["message"]
            .as_str()
            .is_some_and(|m| m.contains("is the leader of term"))
        {
            assert_eq!(v["node"], 1, "{line}");
            assert!(v["term"].as_u64().unwrap() >= 1, "{line}");
        }
    }
    let _ = json_node.kill();
    let _ = json_node.wait();
}
