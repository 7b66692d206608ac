//! get, scan and compact on damaged files: a flipped byte or a cut in an SST, damage inside
//! the WAL. Each ends with one `drkit:` line naming the file (and offset), exit 4, no panic,
//! and nothing changed.

use std::fs;
use std::path::{Path, PathBuf};

use drkit::engine::{Engine, Options, SyncPolicy};

use super::common::*;

fn build(dir: &Path) -> PathBuf {
    let e = Engine::open(
        dir,
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
    for i in 0..200 {
        e.put(format!("w{i:04}").as_bytes(), &[8u8; 300]).unwrap();
    }
    drop(e);
    fs::read_dir(dir.join("sst"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// `get` asks for `k0000`, which lives in the first data block: a read touches only the
/// blocks it needs, so a key elsewhere in a damaged table still reads back.
fn assert_refused(dir: &Path, args: &[&str], file: &Path) {
    let before = dir_snapshot(dir);
    let a = drkit()
        .args(args)
        .arg(dir)
        .args(if args[0] == "get" {
            &["k0000"][..]
        } else {
            &[][..]
        })
        .assert()
        .code(4);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with("drkit: ") && !err.contains("panicked"),
        "{args:?}: {err}"
    );
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        err.contains(name.as_ref()) && err.contains("offset"),
        "{args:?} should name {name} and an offset: {err}"
    );
    if args[0] == "compact" {
        // compact opens the dir for writing, so recovery may start a new WAL segment and
        // manifest; what matters is that the damaged file is left exactly as it was.
        let rel = file.strip_prefix(dir).unwrap();
        assert!(
            before.contains_key(rel) && before.get(rel) == dir_snapshot(dir).get(rel),
            "{args:?} changed {}",
            file.display()
        );
    } else {
        assert!(dir_snapshot(dir) == before, "{args:?} changed the dir");
    }
}

#[test]
fn a_flipped_byte_in_an_sst() {
    let tmp = tempfile::tempdir().unwrap();
    let sst = build(tmp.path());
    let mut bytes = fs::read(&sst).unwrap();
    bytes[100] ^= 0x10;
    fs::write(&sst, &bytes).unwrap();
    for args in [&["get"][..], &["scan", "--limit", "0"], &["compact"]] {
        assert_refused(tmp.path(), args, &sst);
    }
}

#[test]
fn a_cut_sst() {
    let tmp = tempfile::tempdir().unwrap();
    let sst = build(tmp.path());
    let len = fs::metadata(&sst).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&sst)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    for args in [&["get"][..], &["scan"], &["compact"]] {
        assert_refused(tmp.path(), args, &sst);
    }
}

#[test]
fn damage_inside_the_wal() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let seg = segments(tmp.path()).pop().unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    bytes[200] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();
    for args in [&["get"][..], &["scan"], &["compact"]] {
        assert_refused(tmp.path(), args, &seg);
    }
}
