//! Golden version-1 files: a data dir written by drkit 0.1 (an SST per level 0, a sealed and
//! an open WAL segment, a manifest, CURRENT) with every entry type. Future versions must keep
//! reading them exactly. Never regenerate them to make a test pass: that defeats their point.

use std::fs;
use std::path::{Path, PathBuf};

use drkit::engine::{Engine, Options, RecoveryMode};
use drkit::format::envelope::{self, Kind};
use drkit::format::record::{Account, Order, Trade};
use drkit::format::sst::Sst;
use drkit::format::wal::{self, Event};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Writes the fixtures once: `cargo test --test integration regenerate_v1_fixtures -- --ignored`.
/// Refuses to overwrite existing ones.
#[test]
#[ignore = "writes tests/fixtures/v1; run by hand only when adding a format version"]
fn regenerate_v1_fixtures() {
    let root = fixture_dir();
    assert!(
        !root.exists(),
        "{} exists: golden fixtures are never regenerated",
        root.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("datadir");
    let opts = Options {
        wal_segment_bytes: 16 << 10,
        memtable_bytes: 1 << 30,
        ..Options::default()
    };
    {
        let e = Engine::open(&dir, opts.clone()).unwrap();
        for op in drkit::bench::ops(7, 0, 120) {
            op.apply(&e).unwrap();
        }
        e.put(b"plain-1", b"hello").unwrap();
        e.put(b"plain-2", b"to be deleted").unwrap();
        e.flush().unwrap();
        for op in drkit::bench::ops(8, 0, 150) {
            op.apply(&e).unwrap();
        }
        e.delete(b"plain-2").unwrap();
        e.put(b"plain-3", &[0u8, 255, 1, 254]).unwrap();
    }
    fs::remove_file(dir.join("LOCK")).unwrap();
    let e = Engine::open(&dir, opts).unwrap();
    let rows: Vec<(String, String)> = e
        .scan(&[], std::ops::Bound::Unbounded)
        .unwrap()
        .map(|r| r.unwrap())
        .map(|(k, v)| (hex(&k), hex(&v)))
        .collect();
    drop(e);
    // Reopening wrote a new (empty) segment and manifest: rebuild from the first run's files
    // is not possible, so the fixture is this dir as it stands, lock removed.
    fs::remove_file(dir.join("LOCK")).unwrap();
    fs::create_dir_all(&root).unwrap();
    copy_dir(&dir, &root.join("datadir"));
    fs::write(
        root.join("expected.json"),
        serde_json::to_string_pretty(&rows).unwrap(),
    )
    .unwrap();
}

#[test]
fn v1_data_dir_still_opens_with_identical_content() {
    let root = fixture_dir();
    let rows: Vec<(String, String)> =
        serde_json::from_str(&fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    copy_dir(&root.join("datadir"), &dir);
    let e = Engine::open(
        &dir,
        Options {
            recovery_mode: RecoveryMode::Absolute,
            ..Options::default()
        },
    )
    .unwrap();
    let got: Vec<(String, String)> = e
        .scan(&[], std::ops::Bound::Unbounded)
        .unwrap()
        .map(|r| r.unwrap())
        .map(|(k, v)| (hex(&k), hex(&v)))
        .collect();
    assert_eq!(got, rows);
    let (mut orders, mut trades, mut accounts) = (0, 0, 0);
    for (k, v) in &rows {
        let (k, v) = (unhex(k), unhex(v));
        match k[0] {
            b'O' => orders += usize::from(Order::decode(&v).is_ok()),
            b'T' => trades += usize::from(Trade::decode(&v).is_ok()),
            b'A' => accounts += usize::from(Account::decode(&v).is_ok()),
            _ => {}
        }
    }
    assert!(
        orders > 0 && trades > 0 && accounts > 0,
        "every domain type is in the fixture"
    );
    assert_eq!(
        orders + trades + accounts,
        rows.iter().filter(|(k, _)| !k.starts_with("4b")).count(),
        "every domain value decodes"
    );
}

#[test]
fn v1_files_decode_one_by_one() {
    let root = fixture_dir().join("datadir");
    let mut ssts = 0;
    for e in fs::read_dir(root.join("sst")).unwrap() {
        let sst = Sst::open(&e.unwrap().path()).unwrap();
        assert!(sst.iter_from(None).all(|r| r.is_ok()));
        ssts += 1;
    }
    assert!(ssts >= 1);
    let mut sealed = 0;
    let mut segs = 0;
    for e in fs::read_dir(root.join("wal")).unwrap() {
        let path = e.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        envelope::decode(&path, &bytes, Kind::Wal).unwrap();
        let end = wal::scan(&bytes, |ev| {
            assert!(
                matches!(ev, Event::Entry { .. }),
                "{}: {ev:?}",
                path.display()
            );
            true
        });
        sealed += usize::from(end.sealed);
        segs += 1;
    }
    assert!(segs >= 2 && sealed >= 1, "a sealed and an open segment");
    let current = fs::read(root.join("CURRENT")).unwrap();
    let name = drkit::format::current::decode(&root.join("CURRENT"), &current).unwrap();
    let manifest = fs::read(root.join(&name)).unwrap();
    let log = drkit::format::manifest::decode(&root.join(&name), &manifest).unwrap();
    assert!(!log.edits.is_empty() && log.torn_tail_at.is_none());
}

/// Format versions of the tables in `dir/sst`, in file-name order.
fn table_versions(dir: &Path) -> Vec<u16> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| Sst::open(p).unwrap().format_version())
        .collect()
}

/// A v1 dir that a new drkit has written to holds v1 and v2 tables side by side: every tool
/// reads both, a backup restores both as they are, and compaction leaves only v2 tables.
#[test]
fn v1_and_v2_tables_in_one_dir_read_verify_back_up_and_compact() {
    use crate::common::{assert_exit, drkit, full_scan};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    copy_dir(&fixture_dir().join("datadir"), &dir);
    {
        let e = Engine::open(
            &dir,
            Options {
                background_work: false,
                ..Options::default()
            },
        )
        .unwrap();
        // Overwrite a key the v1 table holds, delete one, add new ones.
        e.put(b"plain-1", b"rewritten by a v2 drkit").unwrap();
        e.delete(b"plain-3").unwrap();
        for op in drkit::bench::ops(9, 0, 300) {
            op.apply(&e).unwrap();
        }
        e.flush().unwrap();
    }
    let mut versions = table_versions(&dir);
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions, [1, 2], "one dir, both formats");
    let expected = full_scan(&dir);
    let get = |d: &Path, key: &str| {
        let out = drkit().arg("get").arg(d).arg(key).output().unwrap();
        assert_exit(&out, 0, "get");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(get(&dir, "plain-1").contains("rewritten by a v2 drkit"));
    assert!(expected.iter().any(|(k, _)| k.starts_with(b"O")));

    let out = drkit().arg("verify").arg(&dir).output().unwrap();
    assert_exit(&out, 0, "verify of a mixed dir");

    let repo = tmp.path().join("repo");
    let out = drkit()
        .args(["backup", "create", "--type", "full", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup create");
    let restored = tmp.path().join("restored");
    let out = drkit()
        .args(["restore", "--repo"])
        .arg(&repo)
        .arg("--target")
        .arg(&restored)
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore");
    assert_eq!(table_versions(&restored), table_versions(&dir));
    assert_eq!(full_scan(&restored), expected);

    let out = drkit().arg("compact").arg(&dir).output().unwrap();
    assert_exit(&out, 0, "compact");
    let versions = table_versions(&dir);
    assert!(
        !versions.is_empty() && versions.iter().all(|&v| v == 2),
        "compaction rewrites every table in the current format: {versions:?}"
    );
    assert_eq!(full_scan(&dir), expected);
    let out = drkit().arg("verify").arg(&dir).output().unwrap();
    assert_exit(&out, 0, "verify after compaction");
}
