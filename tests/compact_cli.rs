//! `drkit compact DIR [--level N] [--threads N] [--json]`: same logical content before and
//! after, space reclaimed after overwrites, level moves, and thread-count independence.

use super::common::*;

use std::path::Path;

use drkit::engine::{Engine, LEVELS, Options, SyncPolicy};

const KEYS: usize = 2000;
const ROUNDS: usize = 10;

/// The same 2000 keys written 10 times with a flush after each round (10 overlapping L0
/// tables), the last round deleting every tenth key, plus a few entries only in the WAL.
fn build_overwrites(dir: &Path) {
    let engine = Engine::open(
        dir,
        Options {
            sync: SyncPolicy::Never,
            background_work: false,
            ..Options::default()
        },
    )
    .unwrap();
    for round in 0..ROUNDS {
        for i in 0..KEYS {
            let key = format!("key-{i:05}");
            if round == ROUNDS - 1 && i % 10 == 0 {
                engine.delete(key.as_bytes()).unwrap();
            } else {
                let v: Vec<u8> = format!("{key}-round-{round}-")
                    .bytes()
                    .cycle()
                    .take(200)
                    .collect();
                engine.put(key.as_bytes(), &v).unwrap();
            }
        }
        engine.flush().unwrap();
    }
    for i in 0..50 {
        engine
            .put(format!("wal-only-{i}").as_bytes(), b"unflushed")
            .unwrap();
    }
    drop(engine);
}

fn levels(dir: &Path) -> Vec<usize> {
    let e = Engine::open(
        dir,
        Options {
            background_work: false,
            create_if_missing: false,
            ..Options::default()
        },
    )
    .unwrap();
    let v = e.version();
    (0..LEVELS).map(|l| v.levels[l].len()).collect()
}

fn compact(dir: &Path, args: &[&str]) -> std::process::Output {
    drkit().arg("compact").arg(dir).args(args).output().unwrap()
}

#[test]
fn compact_keeps_content_and_reclaims_overwritten_space() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_overwrites(&dir);
    let digest = content_digest(&dir);
    let bytes_before = sst_bytes(&dir);
    assert_eq!(levels(&dir)[0], ROUNDS, "one L0 table per round");

    let out = compact(&dir, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r = json_report(&out.stdout)["report"].clone();
    assert!(r["wal_entries_flushed"].as_u64().unwrap() >= 50, "{r}");
    assert!(
        r["overwritten_dropped"].as_u64().unwrap() >= (KEYS * (ROUNDS - 1)) as u64,
        "{r}"
    );
    assert_eq!(
        r["tombstones_dropped"].as_u64(),
        Some((KEYS / 10) as u64),
        "{r}"
    );
    assert_eq!(
        r["entries_out"].as_u64(),
        Some((KEYS - KEYS / 10 + 50) as u64),
        "{r}"
    );

    assert_eq!(content_digest(&dir), digest, "same logical content");
    let bytes_after = sst_bytes(&dir);
    assert!(
        bytes_after < bytes_before / 3,
        "{bytes_after} bytes after, {bytes_before} before"
    );
    let shape = levels(&dir);
    assert_eq!(
        shape.iter().filter(|&&n| n > 0).count(),
        1,
        "one level holds everything: {shape:?}"
    );
}

#[test]
fn compact_level_0_moves_l0_into_l1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_overwrites(&dir);
    let digest = content_digest(&dir);
    let out = compact(&dir, &["--level", "0"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let shape = levels(&dir);
    assert_eq!(shape[0], 0, "{shape:?}");
    assert!(shape[1] > 0, "{shape:?}");
    assert_eq!(content_digest(&dir), digest);
}

#[test]
fn compact_gives_the_same_content_with_one_or_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    build_overwrites(&src);
    let digest = content_digest(&src);
    for threads in ["1", "2"] {
        let dir = tmp.path().join(format!("t{threads}"));
        copy_dir(&src, &dir);
        let out = compact(&dir, &["--threads", threads, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let r = json_report(&out.stdout)["report"].clone();
        assert_eq!(r["threads"].as_u64(), Some(threads.parse().unwrap()));
        assert_eq!(content_digest(&dir), digest, "--threads {threads}");
    }
}

#[test]
fn compact_refuses_bad_arguments_and_missing_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compact(&tmp.path().join("nope"), &[]);
    assert_eq!(out.status.code(), Some(10), "{out:?}");
    let out = compact(tmp.path(), &["--threads", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = compact(tmp.path(), &["--level", "6"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn compact_refuses_a_locked_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_overwrites(&dir);
    let engine = Engine::open(&dir, Options::default()).unwrap();
    let out = compact(&dir, &[]);
    assert_eq!(out.status.code(), Some(11), "{out:?}");
    drop(engine);
}
