//! The repository's storage trait, one set of checks run on both kinds: a local dir, and a
//! bucket prefix on a real S3 server started by the test.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use drkit::backup::store::{Listing, LocalStore, RepoStore, S3Config, S3Store, StaticKey};

use super::s3_server::S3Server;

const PART: usize = 5 << 20;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

fn read_all(store: &dyn RepoStore, key: &str) -> Vec<u8> {
    let (mut r, size) = store.reader(key).unwrap().unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out.len() as u64, size, "{key}: reader's size");
    out
}

fn names(l: &Listing) -> Vec<&str> {
    l.objects.iter().map(|(n, _)| n.as_str()).collect()
}

/// What every kind must do, as the repository relies on it.
fn behaves_as_a_repository_store(store: &dyn RepoStore) {
    assert_eq!(store.get("repo.json").unwrap(), None);
    assert_eq!(store.size("repo.json").unwrap(), None);
    assert!(store.reader("repo.json").unwrap().is_none());
    assert_eq!(store.list("").unwrap(), Listing::default());

    // Whole objects, replaced whole.
    store.put("repo.json", b"first").unwrap();
    store.put("repo.json", b"second").unwrap();
    assert_eq!(
        store.get("repo.json").unwrap().as_deref(),
        Some(&b"second"[..])
    );
    assert_eq!(store.size("repo.json").unwrap(), Some(6));

    // Created only where nothing is: a second taker of a lock is refused.
    assert!(store.create("LOCK", b"pid 1").unwrap());
    assert!(!store.create("LOCK", b"pid 2").unwrap());
    assert_eq!(store.get("LOCK").unwrap().as_deref(), Some(&b"pid 1"[..]));

    // Streams: one within a part, one of several parts, written in odd-sized pieces.
    for (key, len) in [
        ("backups/b1/files/small.zst", 1000),
        ("backups/b1/files/large.zst", 2 * PART + 12_345),
        ("backups/b2/manifest.json", 10),
    ] {
        let want = pattern(len, len as u8);
        let mut w = store.writer(key).unwrap();
        for piece in want.chunks(777_777) {
            w.write_all(piece).unwrap();
        }
        assert_eq!(store.get(key).unwrap(), None, "{key} visible before finish");
        assert_eq!(w.finish().unwrap(), len as u64);
        assert_eq!(read_all(store, key), want, "{key} read back");
    }
    // An unfinished stream leaves nothing under its key.
    let mut w = store.writer("backups/b3/files/torn.zst").unwrap();
    w.write_all(&pattern(PART + 1, 9)).unwrap();
    drop(w);
    assert_eq!(store.get("backups/b3/files/torn.zst").unwrap(), None);

    // One level at a time, sorted.
    let top = store.list("").unwrap();
    assert_eq!(names(&top), ["LOCK", "repo.json"]);
    assert_eq!(top.prefixes, ["backups"]);
    assert_eq!(store.list("backups").unwrap().prefixes, ["b1", "b2"]);
    let files = store.list("backups/b1/files").unwrap();
    assert_eq!(names(&files), ["large.zst", "small.zst"]);
    assert_eq!(files.objects[0].1, (2 * PART + 12_345) as u64);
    assert_eq!(store.list("backups/none").unwrap(), Listing::default());

    // Deletes.
    assert!(store.delete("LOCK").unwrap());
    assert!(!store.delete("LOCK").unwrap());
    store.delete_prefix("backups/b1").unwrap();
    assert_eq!(store.list("backups").unwrap().prefixes, ["b2"]);
    assert_eq!(store.get("backups/b1/files/small.zst").unwrap(), None);
    store.delete_prefix("backups/none").unwrap();

    // Keys that could leave the repository are refused.
    for bad in ["../x", "/abs", "a//b"] {
        assert!(store.put(bad, b"x").is_err(), "{bad} accepted");
    }
}

#[test]
fn a_local_dir_behaves_as_a_repository_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    behaves_as_a_repository_store(&LocalStore::new(&root));
    // No temporary file is left behind by finished, dropped or conditional writes.
    let mut leftovers = Vec::new();
    for e in walk(&root) {
        if e.contains(".tmp-") {
            leftovers.push(e);
        }
    }
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[test]
fn an_s3_bucket_prefix_behaves_as_a_repository_store() {
    let server = S3Server::start();
    server.create_bucket("drkit-repo");
    behaves_as_a_repository_store(&server.store("drkit-repo", "nightly/db1", PART));
    // Another prefix of the same bucket is another repository.
    let other = server.store("drkit-repo", "nightly/db2", PART);
    assert_eq!(other.list("").unwrap(), Listing::default());
}

#[test]
fn s3_refusals_name_the_bucket_the_key_and_what_to_check() {
    let server = S3Server::start();
    let missing = server.store("no-such-bucket", "r", PART);
    let err = missing.put("repo.json", b"x").unwrap_err().to_string();
    assert!(
        err.contains("s3://no-such-bucket/r/repo.json")
            && err.contains("NoSuchBucket")
            && err.contains("create it"),
        "{err}"
    );

    // Nothing listens there: a clear error within seconds, naming the endpoint to check.
    let closed = super::cluster_procs::free_port();
    let mut cfg = S3Config::from_url("s3://drkit-repo/r").unwrap();
    cfg.endpoint = Some(format!("http://127.0.0.1:{closed}"));
    cfg.path_style = true;
    cfg.region = Some("us-east-1".into());
    cfg.key = Some(StaticKey {
        token: None,
        id: "testing".into(),
        secret: "testing".into(),
    });
    let started = Instant::now();
    let err = S3Store::new(cfg)
        .unwrap()
        .get("repo.json")
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("s3://drkit-repo/r/repo.json") && err.contains("--s3-endpoint"),
        "{err}"
    );

    for bad in ["s3://", "s3://ab", "file:///x", "s3://bucket/a/../b"] {
        assert!(S3Config::from_url(bad).is_err(), "{bad} accepted");
    }
}
