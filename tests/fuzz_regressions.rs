//! The fuzz targets' inputs replayed on the stable toolchain: every crash or failure input a
//! campaign found (minimized, under `tests/fixtures/fuzz/TARGET/`) and every committed seed
//! (`fuzz/seeds/TARGET/`), through the same code the targets run (`drkit::fuzzing`). A bug
//! the fuzzer found once stays fixed.
//!
//! `cargo test --test integration fuzz_regressions::write_seeds -- --ignored` rewrites the
//! seeds from the golden fixtures and small generated files.

use std::fs;
use std::path::{Path, PathBuf};

use drkit::fuzzing::{TARGETS, run};

use super::common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir/TARGET/`, with its target's name.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = fs::read_dir(dir) else {
        return out;
    };
    for t in targets.flatten() {
        let name = t.file_name().to_string_lossy().into_owned();
        for f in fs::read_dir(t.path()).unwrap().flatten() {
            out.push((name.clone(), f.path()));
        }
    }
    out.sort();
    out
}

#[test]
fn every_committed_crash_input_and_seed_runs_clean() {
    let mut ran = 0;
    for dir in ["tests/fixtures/fuzz", "fuzz/seeds"] {
        for (target, path) in inputs(&root().join(dir)) {
            let bytes = fs::read(&path).unwrap();
            assert!(
                run(&target, &bytes),
                "{}: no fuzz target named {target}",
                path.display()
            );
            ran += 1;
        }
    }
    assert!(ran >= TARGETS.len(), "only {ran} inputs replayed");
}

#[test]
fn every_target_is_built_by_the_fuzz_crate_and_has_seeds() {
    let cargo = fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        let src = root().join(format!("fuzz/fuzz_targets/{name}.rs"));
        let text = fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(
            text.contains(&format!("drkit::fuzzing::{name}(")),
            "{}",
            src.display()
        );
        assert!(cargo.contains(&format!("name = \"{name}\"")), "{name}");
        let seeds = root().join(format!("fuzz/seeds/{name}"));
        assert!(
            fs::read_dir(&seeds).is_ok_and(|mut d| d.next().is_some()),
            "{} holds no seed",
            seeds.display()
        );
    }
}

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("fuzz/seeds").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn fixture(rel: &str) -> Vec<u8> {
    fs::read(root().join("tests/fixtures/v1/datadir").join(rel)).unwrap()
}

/// Rewrites `fuzz/seeds/`: small valid inputs of every kind, so a campaign starts inside the
/// formats instead of at their first checksum.
#[test]
#[ignore = "writes fuzz/seeds; run by hand"]
fn write_seeds() {
    use drkit::format::entry::{BatchWrite, EntryRef, EntryType, encode_batch};
    use drkit::format::record::{Account, Order, Side, Trade};

    let _ = fs::remove_dir_all(root().join("fuzz/seeds"));
    for seg in [
        "00000000000000000001.wal",
        "00000000000000000145.wal",
        "00000000000000000275.wal",
    ] {
        put("wal_segment", seg, &fixture(&format!("wal/{seg}")));
    }
    put("wal_damage", "one-flip", &[20, 0, 0, 0, 1]);
    put(
        "wal_damage",
        "two-flips",
        &[0, 1, 0, 0, 0x80, 7, 0x40, 0, 0, 3],
    );

    let mut batch = Vec::new();
    encode_batch(
        &[
            BatchWrite {
                kind: EntryType::Put,
                key: b"Ka",
                value: b"1",
            },
            BatchWrite {
                kind: EntryType::Delete,
                key: b"Kb",
                value: b"",
            },
        ],
        &mut batch,
    );
    for (name, kind, key, value) in [
        ("put", EntryType::Put, &b"Kkey"[..], &b"value"[..]),
        ("delete", EntryType::Delete, b"Kkey", b""),
        ("batch", EntryType::Batch, b"", &batch[..]),
        (
            "checkpoint",
            EntryType::Checkpoint,
            b"",
            &42u64.to_le_bytes()[..],
        ),
    ] {
        let mut enc = Vec::new();
        EntryRef {
            seq: 7,
            term: 1,
            timestamp_ns: 1_700_000_000_000_000_000,
            kind,
            key,
            value,
        }
        .encode_into(&mut enc);
        put("entry", name, &enc);
    }

    put(
        "sst_bytes",
        "v1-fixture",
        &fixture("sst/sst_0_00000000000000000001.sst"),
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        let e = drkit::engine::Engine::open(&dir, drkit::engine::Options::default()).unwrap();
        for i in 0..40 {
            e.put(
                format!("k{i:02}").as_bytes(),
                format!("value {i} {}", "x".repeat(i)).as_bytes(),
            )
            .unwrap();
        }
        e.delete(b"k03").unwrap();
        e.flush().unwrap();
        e.create_snapshot().unwrap();
        e.put(b"after", b"snapshot").unwrap();
        e.create_snapshot().unwrap();
    }
    let one = |sub: &str| {
        let d = dir.join(sub);
        let f = fs::read_dir(&d).unwrap().flatten().next().unwrap().path();
        fs::read(f).unwrap()
    };
    put("sst_bytes", "v2-zstd", &one("sst"));
    for pick in 0..2u8 {
        put(
            "sst_damage",
            &format!("table-{pick}"),
            &[pick, 100, 0, 0, 0, 1],
        );
        put(
            "sst_fixed_checksums",
            &format!("table-{pick}"),
            &[pick, 0, 9, 0, 0, 0, 0x10],
        );
        put(
            "sst_fixed_checksums",
            &format!("table-{pick}-index"),
            &[pick, 255, 3, 0, 0, 0, 0x01],
        );
    }
    put("manifest", "v1-fixture", &fixture("MANIFEST-000002"));
    for f in fs::read_dir(&dir).unwrap().flatten() {
        let n = f.file_name().to_string_lossy().into_owned();
        if n.starts_with("MANIFEST-") {
            put("manifest", "engine", &fs::read(f.path()).unwrap());
        }
    }
    put("current", "v1-fixture", &fixture("CURRENT"));
    put("snapshot", "engine", &one("snapshots"));

    let order = Order {
        order_id: "ord-1".into(),
        user_id: "user-1".into(),
        instrument_id: "BTC-USD".into(),
        side: Side::Buy,
        price: 101.5,
        volume: 2.0,
    };
    put("record", "order", &order.encode());
    let trade = Trade {
        trade_id: "t-1".into(),
        order_id: "ord-1".into(),
        instrument_id: "BTC-USD".into(),
        price: 101.5,
        volume: 1.0,
    };
    put("record", "trade", &trade.encode());
    let account = Account {
        user_id: "user-1".into(),
        balance: 10.0,
        available: 8.0,
        frozen: 2.0,
        margin: 0.0,
    };
    put("record", "account", &account.encode());

    let state = drkit::format::raft_state::RaftState {
        node_id: 2,
        cluster_id: [7; 16],
        vote: None,
        committed: None,
        purged: None,
    };
    put("raft_state", "node", &state.encode());
    let status = drkit::format::archive_status::ArchiveStatus {
        repo_id: [1; 16],
        history_id: [2; 16],
        archived_through: 99,
    };
    put(
        "archive_status",
        "status",
        drkit::format::archive_status::encode(&status).as_bytes(),
    );

    // A backup of the dir: its manifest and a stored (zstd) file.
    let repo = tmp.path().join("repo");
    let out = drkit()
        .args(["backup", "create", "--quiet", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup create");
    let backups = repo.join("backups");
    let backup = fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    put(
        "backup_manifest",
        "full",
        &fs::read(backup.join("manifest.json")).unwrap(),
    );
    let current = fs::read(backup.join("files/CURRENT.zst")).unwrap();
    let mut framed = 48u64.to_le_bytes().to_vec();
    framed.extend(current);
    put("backup_frames", "current", &framed);

    put("resp", "array", b"\x05*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    put("resp", "inline", b"\x02PING\r\n");
    put(
        "resp",
        "set",
        b"\x01*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    );

    use drkit::cluster::wire::{Handshake, KIND_HANDSHAKE};
    let mut hello = vec![KIND_HANDSHAKE];
    hello.extend(postcard::to_stdvec(&Handshake::Challenge { nonce: [3; 16] }).unwrap());
    put("raft_wire", "challenge", &hello);

    // Every seed must at least run clean.
    for (target, path) in inputs(&root().join("fuzz/seeds")) {
        assert!(
            run(&target, &fs::read(&path).unwrap()),
            "{}",
            path.display()
        );
    }
}
