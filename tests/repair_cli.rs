//! `drkit repair DIR [--apply] [--json]`: rebuilding a lost or garbage manifest from the SSTs,
//! quarantining unreadable tables into lost/, an empty plan for a healthy dir, the lock.

use super::common::*;

use std::fs;
use std::path::{Path, PathBuf};

use drkit::engine::{Engine, Options, SyncPolicy};
use drkit::format::manifest::{parse_sst_name, sst_name};
use drkit::format::sst::Sst;

fn opts() -> Options {
    Options {
        sync: SyncPolicy::Never,
        background_work: false,
        // Small memtables: many flushes from a few thousand entries.
        memtable_bytes: 32 << 10,
        ..Options::default()
    }
}

fn value(i: usize, round: usize) -> Vec<u8> {
    format!("value-{i:05}-round-{round}-")
        .bytes()
        .cycle()
        .take(100)
        .collect()
}

/// A dir with tables on L1 (flushed, then compacted) and on L0 (flushed after), plus
/// overwrites, deletes and new keys only in the WAL.
fn build_tree(dir: &Path) {
    let engine = Engine::open(dir, opts()).unwrap();
    for i in 0..3000 {
        engine
            .put(format!("k{i:05}").as_bytes(), &value(i, 0))
            .unwrap();
    }
    engine.compact_until_idle().unwrap();
    for i in 0..1000 {
        engine
            .put(format!("k{i:05}").as_bytes(), &value(i, 1))
            .unwrap();
    }
    for i in 1000..1100 {
        engine.delete(format!("k{i:05}").as_bytes()).unwrap();
    }
    engine.flush().unwrap();
    // Only in the WAL: small enough not to fill the memtable.
    for i in 2000..2060 {
        engine
            .put(format!("k{i:05}").as_bytes(), &value(i, 2))
            .unwrap();
    }
    for i in 2100..2120 {
        engine.delete(format!("k{i:05}").as_bytes()).unwrap();
    }
    for i in 9000..9020 {
        engine
            .put(format!("k{i:05}").as_bytes(), &value(i, 2))
            .unwrap();
    }
    let v = engine.version();
    assert!(!v.levels[0].is_empty(), "the tree has L0 tables");
    assert!(!v.levels[1].is_empty(), "the tree has L1 tables");
    drop(engine);
}

fn tables(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn remove_manifest(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name == "CURRENT" || name.starts_with("MANIFEST-") {
            fs::remove_file(p).unwrap();
        }
    }
}

fn repair(dir: &Path, args: &[&str]) -> std::process::Output {
    drkit().arg("repair").arg(dir).args(args).output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn repair_rebuilds_a_lost_manifest_and_every_record_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_tree(&dir);
    let before = full_scan(&dir);
    assert_eq!(before.len(), 2900);
    remove_manifest(&dir);

    // The plan changes nothing.
    let files = dir_snapshot(&dir);
    let plan = repair(&dir, &[]);
    assert_eq!(plan.status.code(), Some(0), "{plan:?}");
    assert!(stdout(&plan).contains("dry run: nothing changed, re-run with --apply"));
    assert_eq!(files, dir_snapshot(&dir), "a plan must not change any file");

    let applied = repair(&dir, &["--apply"]);
    assert_eq!(applied.status.code(), Some(0), "{applied:?}");
    assert!(
        stdout(&applied).contains("repaired"),
        "{}",
        stdout(&applied)
    );
    assert!(dir.join("CURRENT").exists());
    assert_eq!(full_scan(&dir), before);
    // And a second repair finds nothing to do.
    let again = repair(&dir, &[]);
    assert!(
        stdout(&again).contains("nothing to repair"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn repair_rebuilds_behind_a_garbage_current_and_keeps_the_old_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_tree(&dir);
    let before = full_scan(&dir);
    let history = {
        let e = Engine::open(&dir, opts()).unwrap();
        e.history_id()
    };
    fs::write(dir.join("CURRENT"), b"hello, I am not a CURRENT file\n").unwrap();
    let err = Engine::open(&dir, opts()).unwrap_err();
    assert!(err.to_string().contains("drkit repair"), "{err}");

    let plan = repair(&dir, &["--json"]);
    assert_eq!(plan.status.code(), Some(0), "{plan:?}");
    let r = json_report(&plan.stdout);
    assert_eq!(r["report"]["old_manifest"]["status"], "unreadable");
    assert_eq!(r["report"]["history_kept"], true);

    let applied = repair(&dir, &["--apply"]);
    assert_eq!(applied.status.code(), Some(0), "{applied:?}");
    assert_eq!(
        fs::read(dir.join("lost/CURRENT")).unwrap(),
        b"hello, I am not a CURRENT file\n"
    );
    assert!(
        fs::read_dir(dir.join("lost")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_str()
            .unwrap()
            .starts_with("MANIFEST-")),
        "the old manifest is kept in lost/"
    );
    assert_eq!(full_scan(&dir), before);
    let e = Engine::open(&dir, opts()).unwrap();
    assert_eq!(e.history_id(), history, "the history id is carried over");
}

#[test]
fn repair_quarantines_a_corrupt_table_and_names_the_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_tree(&dir);
    remove_manifest(&dir);
    // Flip a byte inside the second data block of an L1 table.
    let victim = tables(&dir)
        .into_iter()
        .find(|p| {
            parse_sst_name(p.file_name().unwrap().to_str().unwrap())
                .unwrap()
                .0
                == 1
        })
        .unwrap();
    let block = Sst::from_bytes(&victim, fs::read(&victim).unwrap())
        .unwrap()
        .blocks()
        .into_iter()
        .filter(|b| b.kind == "data")
        .nth(1)
        .unwrap();
    let pristine = fs::read(&victim).unwrap();
    let mut bytes = pristine.clone();
    bytes[(block.offset + 20) as usize] ^= 0x40;
    fs::write(&victim, &bytes).unwrap();

    let plan = repair(&dir, &["--json"]);
    assert_eq!(plan.status.code(), Some(0), "{plan:?}");
    let r = json_report(&plan.stdout);
    let q = &r["report"]["quarantined"];
    assert_eq!(q.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(q[0]["path"], victim.display().to_string());
    assert_eq!(q[0]["offset"], block.offset);
    // The human plan names it too, with the offset.
    let human = stdout(&repair(&dir, &[]));
    assert!(
        human.contains(victim.file_name().unwrap().to_str().unwrap()),
        "{human}"
    );
    assert!(human.contains(&block.offset.to_string()), "{human}");
    assert!(victim.exists(), "the plan moves nothing");

    let applied = repair(&dir, &["--apply"]);
    assert_eq!(applied.status.code(), Some(3), "data dropped: {applied:?}");
    assert!(!victim.exists());
    let kept = dir.join("lost").join(victim.file_name().unwrap());
    assert_eq!(fs::read(&kept).unwrap(), bytes, "moved, never deleted");
    // The rest opens and reads.
    let after = full_scan(&dir);
    assert!(!after.is_empty());
}

#[test]
fn repair_of_a_healthy_dir_is_empty_and_apply_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_tree(&dir);
    let files = dir_snapshot(&dir);
    let plan = repair(&dir, &["--json"]);
    assert_eq!(plan.status.code(), Some(0), "{plan:?}");
    let r = json_report(&plan.stdout)["report"].clone();
    assert_eq!(r["nothing_to_repair"], true, "{r}");
    for list in ["quarantined", "leftovers", "missing", "level_changes"] {
        assert_eq!(r[list].as_array().unwrap().len(), 0, "{list}: {r}");
    }
    let applied = repair(&dir, &["--apply"]);
    assert_eq!(applied.status.code(), Some(0), "{applied:?}");
    assert!(stdout(&applied).contains("nothing to repair"));
    assert_eq!(
        files,
        dir_snapshot(&dir),
        "--apply on a healthy dir changes nothing"
    );
}

#[test]
fn repair_moves_overlapping_tables_to_l0_and_compacts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_tree(&dir);
    let before = full_scan(&dir);
    remove_manifest(&dir);
    // An L0 table (newer versions) masquerading as L1 overlaps the real L1 tables.
    let l0 = tables(&dir)
        .into_iter()
        .find(|p| {
            parse_sst_name(p.file_name().unwrap().to_str().unwrap())
                .unwrap()
                .0
                == 0
        })
        .unwrap();
    let no = parse_sst_name(l0.file_name().unwrap().to_str().unwrap())
        .unwrap()
        .1;
    fs::rename(&l0, dir.join("sst").join(sst_name(1, no))).unwrap();

    let plan = repair(&dir, &["--json"]);
    let r = json_report(&plan.stdout)["report"].clone();
    let changes = r["level_changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["from_name"] == sst_name(1, no)),
        "{r}"
    );
    assert!(changes.iter().all(|c| c["to_level"] == 0));
    assert_eq!(r["compaction_needed"], true);

    let applied = repair(&dir, &["--apply"]);
    assert_eq!(applied.status.code(), Some(0), "{applied:?}");
    assert_eq!(full_scan(&dir), before);
}

#[test]
fn repair_refuses_a_locked_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    build_tree(&dir);
    let engine = Engine::open(&dir, opts()).unwrap();
    for args in [&[][..], &["--apply"][..]] {
        let out = repair(&dir, args);
        assert_eq!(out.status.code(), Some(11), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("drkit: "), "{err}");
        assert!(err.contains("locked"), "{err}");
    }
    drop(engine);
}

#[test]
fn repair_of_a_missing_dir_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let out = repair(&tmp.path().join("nope"), &[]);
    assert_eq!(out.status.code(), Some(10), "{out:?}");
}
