//! Bad input of every kind: each gets one clear `drkit: ...` line on stderr and a non-zero
//! exit code from docs/exit-codes.md, never a panic.

use super::common::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use drkit::engine::{Engine, Options, SyncPolicy};

const TIMEOUT: Duration = Duration::from_secs(10);

fn opts() -> Options {
    Options {
        sync: SyncPolicy::Never,
        background_work: false,
        ..Options::default()
    }
}

/// A valid data dir holding `n` small writes (all still in the WAL).
fn build(dir: &Path, n: usize) {
    let engine = Engine::open(dir, opts()).unwrap();
    for i in 0..n {
        engine
            .put(format!("k{i:04}").as_bytes(), format!("v{i}").as_bytes())
            .unwrap();
    }
}

fn recover(dir: &Path) -> Output {
    drkit()
        .arg("recover")
        .arg(dir)
        .timeout(TIMEOUT)
        .output()
        .unwrap()
}

fn all_output(out: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts a failure without a panic; returns stderr.
fn failed(out: &Output, code: Option<i32>) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic:\n{}", all_output(out));
    assert!(!out.status.success(), "must fail:\n{}", all_output(out));
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {:?}",
        out.status
    );
    if let Some(code) = code {
        assert_eq!(
            out.status.code(),
            Some(code),
            "exit code:\n{}",
            all_output(out)
        );
    }
    stderr
}

/// Asserts the documented failure shape: exactly one non-empty stderr line, `drkit: <what>`.
/// Returns that line.
fn one_line(out: &Output, code: Option<i32>) -> String {
    let stderr = failed(out, code);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line on stderr:\n{}",
        all_output(out)
    );
    assert!(
        lines[0].starts_with("drkit: "),
        "the line starts with `drkit: `:\n{}",
        all_output(out)
    );
    lines[0].to_string()
}

fn newest_segment(dir: &Path) -> PathBuf {
    segments(dir).pop().unwrap()
}

#[test]
fn missing_dir_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("no-such-dir");
    let line = one_line(&recover(&dir), Some(10));
    assert!(line.contains(&dir.display().to_string()), "{line}");
    assert!(!dir.exists(), "recover must not create the dir");
}

#[test]
fn unrelated_dir_is_not_a_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fs::write(dir.join("notes.txt"), "hello").unwrap();
    let line = one_line(&recover(dir), Some(10));
    assert!(line.contains("not a drkit data dir"), "{line}");
    assert!(line.contains(&dir.display().to_string()), "{line}");
    // Nothing was created in someone else's dir.
    let names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("notes.txt")]);
}

#[test]
fn empty_dir_is_not_a_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let line = one_line(&recover(tmp.path()), Some(10));
    assert!(line.contains("not a drkit data dir"), "{line}");
}

#[test]
fn regular_file_as_dir_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("data.bin");
    fs::write(&file, b"not a dir").unwrap();
    let line = one_line(&recover(&file), None);
    assert!(line.contains(&file.display().to_string()), "{line}");
    assert_eq!(fs::read(&file).unwrap(), b"not a dir");
}

#[test]
fn sst_in_place_of_a_wal_segment_is_wrong_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    let engine = Engine::open(&other, opts()).unwrap();
    engine.put(b"a", b"1").unwrap();
    engine.flush().unwrap();
    drop(engine);
    let sst = fs::read_dir(other.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .expect("flush wrote an SST");

    let dir = tmp.path().join("data");
    build(&dir, 10);
    let seg = newest_segment(&dir);
    fs::copy(&sst, &seg).unwrap();
    let line = one_line(&recover(&dir), Some(4));
    assert!(line.contains("SSTable"), "{line}");
    assert!(line.contains("WAL segment"), "{line}");
    assert!(line.contains(&seg.display().to_string()), "{line}");
}

#[test]
fn newer_wal_version_asks_for_an_upgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 10);
    let seg = newest_segment(dir);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    let crc = drkit::format::masked_crc(&[&bytes[..12]]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    fs::write(&seg, &bytes).unwrap();

    let line = one_line(&recover(dir), Some(4));
    assert!(line.contains("newer"), "{line}");
    assert!(line.contains("upgrade"), "{line}");
    assert!(line.contains(&seg.display().to_string()), "{line}");
    assert_eq!(fs::read(&seg).unwrap(), bytes, "the segment is left alone");
}

#[test]
fn garbage_current_suggests_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 3);
    fs::write(dir.join("CURRENT"), "hello\n").unwrap();
    let line = one_line(&recover(dir), None);
    assert!(line.contains("CURRENT"), "{line}");
    assert!(
        line.contains(&dir.join("CURRENT").display().to_string()),
        "{line}"
    );
    assert!(line.contains("drkit repair"), "{line}");
    assert_eq!(fs::read(dir.join("CURRENT")).unwrap(), b"hello\n");
}

#[test]
fn current_naming_a_missing_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 3);
    let name = "MANIFEST-000999";
    assert!(!dir.join(name).exists());
    fs::write(dir.join("CURRENT"), drkit::format::current::encode(name)).unwrap();
    let line = one_line(&recover(dir), None);
    assert!(line.contains(name), "{line}");
    assert!(line.contains("does not exist"), "{line}");
    assert!(line.contains("CURRENT"), "{line}");
}

#[test]
fn locked_dir_fails_at_once_naming_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 3);
    let engine = Engine::open(dir, opts()).unwrap();
    let started = std::time::Instant::now();
    let out = recover(dir);
    let took = started.elapsed();
    let line = one_line(&out, Some(11));
    assert!(
        line.contains(&dir.join("LOCK").display().to_string()),
        "{line}"
    );
    assert!(
        line.contains(&format!("pid {}", std::process::id())),
        "{line}"
    );
    assert!(
        took < Duration::from_secs(5),
        "waited {took:?} for the lock"
    );
    // The holder is undisturbed.
    assert_eq!(engine.get(b"k0000").unwrap().as_deref(), Some(&b"v0"[..]));
}

// Usage errors come from clap. The exit code is the documented one; the message shape is
// clap's own (see usage_errors_are_one_drkit_line below).

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = drkit()
        .args(["recover", "--no-such-flag"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stderr = failed(&out, Some(2));
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

#[test]
fn bogus_mode_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = drkit()
        .arg("recover")
        .arg(tmp.path())
        .args(["--mode", "bogus"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stderr = failed(&out, Some(2));
    assert!(stderr.contains("bogus"), "{stderr}");
}

#[test]
fn bogus_sync_policy_is_a_usage_error() {
    let out = drkit()
        .args(["bench", "write", "--sync", "sometimes"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stderr = failed(&out, Some(2));
    assert!(stderr.contains("sometimes"), "{stderr}");
}

#[test]
fn usage_errors_are_one_drkit_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().display().to_string();
    for args in [
        vec!["recover", "--no-such-flag"],
        vec!["recover", dir.as_str(), "--mode", "bogus"],
        vec!["bench", "write", "--sync", "sometimes"],
    ] {
        let out = drkit().args(&args).timeout(TIMEOUT).output().unwrap();
        one_line(&out, Some(2));
    }
}
