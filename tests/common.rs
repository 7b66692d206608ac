//! Small helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The drkit binary under test.
pub fn drkit() -> Command {
    Command::cargo_bin("drkit").expect("drkit binary is built for integration tests")
}

pub fn drkit_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("drkit")
}

/// WAL segments of a data dir, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Every file and dir under `dir` (relative path → contents, None for a dir), LOCK excluded:
/// its PID content changes with every open, by design.
pub fn dir_snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(
        root: &Path,
        at: &Path,
        out: &mut std::collections::BTreeMap<PathBuf, Option<Vec<u8>>>,
    ) {
        for e in std::fs::read_dir(at).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new("LOCK") {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Copies a data dir (LOCK excluded) to `to`, which must not exist.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (rel, content) in dir_snapshot(from) {
        match content {
            None => std::fs::create_dir_all(to.join(rel)).unwrap(),
            Some(bytes) => std::fs::write(to.join(rel), bytes).unwrap(),
        }
    }
}

/// Every live key/value of a data dir in key order, read through the library engine.
pub fn full_scan(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let engine = drkit::engine::Engine::open(
        dir,
        drkit::engine::Options {
            background_work: false,
            create_if_missing: false,
            ..drkit::engine::Options::default()
        },
    )
    .unwrap();
    engine
        .scan(&[], std::ops::Bound::Unbounded)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// blake3 over the full scan (key and value lengths framed), in key order.
pub fn content_digest(dir: &Path) -> String {
    let mut h = blake3::Hasher::new();
    for (k, v) in full_scan(dir) {
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(&k);
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(&v);
    }
    h.finalize().to_hex().to_string()
}

/// Total bytes of the SSTs in `dir/sst`.
pub fn sst_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// The JSON document a `--json` command printed on stdout.
pub fn json_report(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().expect("a JSON line on stdout");
    serde_json::from_str(line).unwrap()
}

/// Every file and dir under `dir` with its content and mtime (LOCK included): equal before
/// and after means a command changed nothing at all.
pub type DirState = std::collections::BTreeMap<PathBuf, (Option<Vec<u8>>, std::time::SystemTime)>;

pub fn dir_state(dir: &Path) -> DirState {
    fn walk(at: &Path, out: &mut DirState) {
        for e in std::fs::read_dir(at).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let mtime = meta.modified().unwrap();
            if meta.is_dir() {
                out.insert(e.path(), (None, mtime));
                walk(&e.path(), out);
            } else {
                out.insert(e.path(), (Some(std::fs::read(e.path()).unwrap()), mtime));
            }
        }
    }
    let mut out = DirState::new();
    out.insert(
        dir.to_path_buf(),
        (None, std::fs::metadata(dir).unwrap().modified().unwrap()),
    );
    walk(dir, &mut out);
    out
}

/// stdout and stderr of a finished command, labelled, for assertion messages and searches.
/// Every JSON line of a command's stdout (the `--json` streams of inspect and scan).
pub fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn text(out: &std::process::Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The command exited with `code` and did not panic.
pub fn assert_exit(out: &std::process::Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\n{}",
        text(out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{what}: panic\n{}",
        text(out)
    );
}
