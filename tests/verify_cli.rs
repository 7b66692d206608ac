//! `drkit verify DIR [--json]`: a healthy dir passes, damage in each file kind is an error
//! naming the file and offset (exit 4), crash leftovers are warnings (exit 0), an engine
//! holding the dir is exit 11, and verify changes no byte and no mtime.

use super::common::*;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;

use drkit::engine::{Engine, Options, SyncPolicy};
use drkit::format::sst::SstOptions;
use serde_json::Value;

fn opts() -> Options {
    Options {
        sync: SyncPolicy::Never,
        background_work: false,
        wal_segment_bytes: 4096,
        sst: SstOptions {
            block_size: 512,
            ..SstOptions::default()
        },
        ..Options::default()
    }
}

fn put_range(e: &Engine, range: std::ops::Range<usize>) {
    for i in range {
        e.put(
            format!("key-{i:05}").as_bytes(),
            format!("value-{i:05}-").repeat(8).as_bytes(),
        )
        .unwrap();
    }
}

/// Built once: tables on L0 and deeper levels, and WAL data after the checkpoint.
fn healthy() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(dir.path(), opts()).unwrap();
        put_range(&e, 0..100);
        e.flush().unwrap();
        put_range(&e, 100..200);
        e.flush().unwrap();
        e.compact_all().unwrap();
        put_range(&e, 200..300);
        e.flush().unwrap();
        put_range(&e, 300..400);
        drop(e);
        dir
    })
    .path()
}

/// A private copy of the healthy dir to damage.
fn copy() -> tempfile::TempDir {
    fn walk(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &target);
            } else {
                fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    walk(healthy(), dir.path());
    dir
}

fn ssts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn manifest(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(dir.join("CURRENT")).unwrap();
    dir.join(text.lines().nth(1).unwrap())
}

fn verify_json(dir: &Path) -> (Output, Vec<Value>) {
    let out = drkit()
        .args(["verify", "--json"])
        .arg(dir)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, lines)
}

fn findings(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["type"] == "finding").collect()
}

fn summary(lines: &[Value]) -> &Value {
    let s = lines.last().unwrap();
    assert_eq!(s["type"], "summary");
    assert_eq!(s["schema"], 1);
    s
}

fn flip(path: &Path, at: usize) {
    let mut b = fs::read(path).unwrap();
    b[at] ^= 0x01;
    fs::write(path, b).unwrap();
}

fn truncate(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Exit 4, stderr names `file` and `offset`, and a JSON error finding says the same.
fn assert_error_at(dir: &Path, file: &Path, offset: u64) {
    let (out, lines) = verify_json(dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&format!("{} at offset {offset}:", file.display())),
        "stderr should name {} at offset {offset}: {stderr}",
        file.display()
    );
    let f = findings(&lines);
    assert!(
        f.iter().any(|f| f["severity"] == "error"
            && f["file"] == file.to_str().unwrap()
            && f["offset"] == offset),
        "{f:#?}"
    );
    assert_eq!(summary(&lines)["ok"], false);
}

#[test]
fn healthy_dir_passes_with_counts() {
    let dir = healthy();
    let (out, lines) = verify_json(dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(findings(&lines).is_empty(), "{lines:#?}");
    let s = summary(&lines);
    assert_eq!(s["errors"], 0);
    assert_eq!(s["warnings"], 0);
    let levels: Vec<u8> = ssts(dir)
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            drkit::format::manifest::parse_sst_name(name).unwrap().0
        })
        .collect();
    assert!(
        levels.contains(&0) && levels.iter().any(|l| *l >= 1),
        "{levels:?}"
    );
    assert_eq!(s["sst_files"], ssts(dir).len());
    assert_eq!(s["wal_segments"], segments(dir).len());
    assert!(s["manifest_records"].as_u64().unwrap() >= 3, "{s}");
    // 300 entries in tables (nothing overwritten), 100 in the WAL after the checkpoint.
    assert!(s["entries"].as_u64().unwrap() >= 400, "{s}");
    assert!(s["blocks"].as_u64().unwrap() > s["sst_files"].as_u64().unwrap() * 4);
    let on_disk: u64 = ssts(dir)
        .iter()
        .chain(&segments(dir))
        .chain([&manifest(dir), &dir.join("CURRENT")])
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(s["bytes_read"], on_disk);

    // The human form: a summary table, no findings table.
    let out = drkit().arg("verify").arg(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("every checksum"), "{text}");
    assert!(text.contains("MB/s"), "{text}");
    assert!(!text.contains("severity"), "{text}");
}

#[test]
fn the_v1_fixture_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/datadir");
    drkit().arg("verify").arg(&dir).assert().code(0);
}

#[test]
fn sst_flip_and_truncation() {
    let d = copy();
    let sst = ssts(d.path()).pop().unwrap();
    // The first data block starts right after the 16-byte envelope.
    flip(&sst, 16 + 3);
    assert_error_at(d.path(), &sst, 16);

    let d = copy();
    let sst = ssts(d.path()).pop().unwrap();
    let len = fs::metadata(&sst).unwrap().len() - 10;
    truncate(&sst, len);
    // The footer is read from the (new) last 48 bytes; its magic is their last 8.
    assert_error_at(d.path(), &sst, len - 8);
}

#[test]
fn wal_flip_and_truncation() {
    let d = copy();
    let seg = segments(d.path())[0].clone();
    assert!(segments(d.path()).len() >= 2);
    // Inside the payload of the first fragment, which starts after the envelope.
    flip(&seg, 16 + 12);
    assert_error_at(d.path(), &seg, 16);

    let d = copy();
    let seg = segments(d.path())[0].clone();
    truncate(&seg, 16 + 12);
    assert_error_at(d.path(), &seg, 16);
}

#[test]
fn manifest_flip_and_truncation() {
    let d = copy();
    let m = manifest(d.path());
    // A byte of the first record's payload (after its 8-byte header).
    flip(&m, 16 + 8 + 2);
    assert_error_at(d.path(), &m, 16);

    // Cutting the last record looks like a torn append, but the flush it recorded had
    // retired WAL segments: the WAL gap gives the truncation away.
    let d = copy();
    let m = manifest(d.path());
    let bytes = fs::read(&m).unwrap();
    let log = drkit::format::manifest::decode(&m, &bytes).unwrap();
    let last = log.edits.last().unwrap().0;
    truncate(&m, last + 12);
    assert_error_at(d.path(), &m, last);
}

#[test]
fn current_flip_and_truncation() {
    let d = copy();
    let current = d.path().join("CURRENT");
    flip(&current, 3);
    assert_error_at(d.path(), &current, 0);

    let d = copy();
    let current = d.path().join("CURRENT");
    // Into the middle of the manifest name, which starts after "drkit-current 1\n".
    truncate(&current, 20);
    assert_error_at(d.path(), &current, 16);
}

#[test]
fn missing_table_is_an_error() {
    let d = copy();
    let sst = ssts(d.path())[0].clone();
    fs::remove_file(&sst).unwrap();
    assert_error_at(d.path(), &sst, 0);
    let out = drkit().arg("verify").arg(d.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing"), "{stderr}");
}

#[test]
fn orphan_table_is_a_warning() {
    let d = copy();
    let orphan = d
        .path()
        .join("sst")
        .join(drkit::format::manifest::sst_name(0, 9999));
    fs::copy(&ssts(d.path())[0], &orphan).unwrap();
    let (out, lines) = verify_json(d.path());
    assert_eq!(out.status.code(), Some(0));
    let f = findings(&lines);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["severity"], "warning");
    assert_eq!(f[0]["file"], orphan.to_str().unwrap());
    assert!(f[0]["fix"].as_str().unwrap().contains("drkit repair"));
    assert_eq!(summary(&lines)["warnings"], 1);
    assert_eq!(summary(&lines)["ok"], true);
}

#[test]
fn torn_wal_tail_is_a_warning() {
    let d = copy();
    let last = segments(d.path()).pop().unwrap();
    let len = fs::metadata(&last).unwrap().len();
    // A fragment header announcing 100 bytes of which only 10 reached the file.
    let mut torn = vec![0x12, 0x34, 0x56, 0x78, 100, 0, 1];
    torn.extend_from_slice(&[7u8; 10]);
    let mut bytes = fs::read(&last).unwrap();
    bytes.extend_from_slice(&torn);
    fs::write(&last, bytes).unwrap();
    let (out, lines) = verify_json(d.path());
    assert_eq!(out.status.code(), Some(0));
    let f = findings(&lines);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["severity"], "warning");
    assert_eq!(f[0]["file"], last.to_str().unwrap());
    assert_eq!(f[0]["offset"], len);
    assert!(f[0]["fix"].as_str().unwrap().starts_with("drkit recover"));
}

/// (path, content, mtime) of every file, LOCK included.

#[test]
fn verify_changes_nothing() {
    let d = copy();
    assert!(d.path().join("LOCK").exists());
    let before = dir_state(d.path());
    drkit().arg("verify").arg(d.path()).assert().code(0);
    assert_eq!(dir_state(d.path()), before);
    // Nor when it finds damage.
    flip(&segments(d.path())[0], 30);
    let before = dir_state(d.path());
    drkit().arg("verify").arg(d.path()).assert().code(4);
    assert_eq!(dir_state(d.path()), before);
}

#[test]
fn a_running_engine_makes_it_exit_11() {
    let d = copy();
    let e = Engine::open(d.path(), opts()).unwrap();
    let out = drkit().arg("verify").arg(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(11));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("locked"), "{stderr}");
    drop(e);
    drkit().arg("verify").arg(d.path()).assert().code(0);
}

#[test]
fn missing_dir_is_exit_10() {
    let d = tempfile::tempdir().unwrap();
    drkit()
        .arg("verify")
        .arg(d.path().join("nope"))
        .assert()
        .code(10);
    drkit().arg("verify").arg(d.path()).assert().code(10);
}

/// A dir whose writer was SIGKILLed mid-stream (with flushes, compactions and WAL
/// retirement going on) verifies with no error: crash leftovers are warnings at most.
#[test]
fn a_sigkilled_dir_has_no_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut child = std::process::Command::new(drkit_path())
        .args(["crash-writer", "--sync", "always", "--records", "1000000"])
        .args(["--value-size", "200", "--memtable-bytes", "65536"])
        .args(["--wal-segment-bytes", "32768", "--dir"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let acked = BufReader::new(stdout)
        .lines()
        .take(3000)
        .map_while(Result::ok)
        .count();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(acked > 100, "the writer acknowledged {acked} writes");
    let (out, lines) = verify_json(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{lines:#?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn snapshot_checksum_is_verified() {
    let dir = copy();
    {
        let e = Engine::open(dir.path(), opts()).unwrap();
        e.put(b"snap-key", b"v").unwrap();
        e.create_snapshot()
            .unwrap()
            .expect("data above the checkpoint");
    }
    let (out, _) = verify_json(dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap = fs::read_dir(dir.path().join("snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let len = fs::metadata(&snap).unwrap().len() as usize;
    flip(&snap, len / 2);
    // The checksum sits in the footer: the finding points there.
    assert_error_at(dir.path(), &snap, len as u64 - 12);
}
