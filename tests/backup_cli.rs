//! Backups and restore through the real binary: a restore gives back exactly the records the
//! backup saw, any damaged repository file is named and refused, a killed run leaves nothing
//! listed, and locks behave as cron needs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drkit::engine::{Engine, Options, SyncPolicy, load_state};

use super::common::*;
use super::s3_server::S3Server;
use super::test_repo::TestRepo;
use crate::on_both_kinds;

on_both_kinds!(
    any_damaged_repository_file_is_named_and_refused,
    full_backup_restores_every_record_under_a_new_history,
    restore_refuses_a_non_empty_target_unless_forced_and_keeps_the_old_content,
    quiet_prints_nothing_on_success,
    a_backup_without_a_logical_digest_restores_exactly,
    a_damaged_table_is_refused_by_backup_create,
);

fn create_in(repo: &TestRepo, data: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["backup", "create", "--json"];
    args.extend_from_slice(extra);
    args.push("--data");
    let out = repo
        .cmd(&args)
        .arg(data)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_report(&out)
}

/// A stopped dir with several SSTs, a delete, a snapshot and a WAL tail above the checkpoint.
fn build(dir: &Path, records: u32, value_len: usize) {
    let e = Engine::open(
        dir,
        Options {
            sync: SyncPolicy::Never,
            memtable_bytes: 256 << 10,
            ..Options::default()
        },
    )
    .unwrap();
    for i in 0..records {
        let v: Vec<u8> = (0..value_len)
            .map(|j| (i as usize * 31 + j * 7 + (j / 13) * 5) as u8)
            .collect();
        e.put(format!("k{i:07}").as_bytes(), &v).unwrap();
    }
    e.delete(b"k0000003").unwrap();
    e.flush().unwrap();
    for i in 0..50 {
        e.put(format!("k{i:07}").as_bytes(), format!("tail{i}").as_bytes())
            .unwrap();
    }
    e.create_snapshot().unwrap();
    e.put(b"zz-after-snapshot", b"last").unwrap();
}

/// A crash while the engine created its next segment leaves it without a header: empty, or
/// zeros to its preallocated length. Recovery calls that a torn tail with no entry lost, so a
/// backup of the crashed dir must be taken and restore every record, and its WAL archived.
#[test]
fn a_crash_while_creating_the_last_segment_still_backs_up_and_restores() {
    for (case, torn) in [("empty", Vec::new()), ("zeroed", vec![0u8; 1 << 20])] {
        let (tmp, data, repo) = setup();
        let next = drkit::engine::ReadOnly::open(&data, drkit::engine::RecoveryMode::TolerateTail)
            .unwrap()
            .wal_report()
            .max_seen_seq
            + 1;
        let name = drkit::format::wal::segment_name(next);
        fs::write(data.join("wal").join(&name), &torn).unwrap();

        create_json_with(&repo, &data, &["--logical-digest"]);
        let out = drkit()
            .args(["wal", "archive", "-q", "--repo"])
            .arg(&repo)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        assert_exit(&out, 0, case);
        let target = tmp.path().join("restored");
        let out = drkit()
            .args(["restore", "--repo"])
            .arg(&repo)
            .arg("--target")
            .arg(&target)
            .output()
            .unwrap();
        assert_exit(&out, 0, case);
        assert_eq!(full_scan(&target), full_scan(&data), "{case}");
    }
}

fn create_json_with(repo: &Path, data: &Path, extra: &[&str]) -> serde_json::Value {
    let out = drkit()
        .args(["backup", "create", "--json"])
        .args(extra)
        .arg("--repo")
        .arg(repo)
        .arg("--data")
        .arg(data)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json_report(&out)
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let repo = tmp.path().join("repo");
    build(&data, 3000, 300);
    (tmp, data, repo)
}

fn full_backup_restores_every_record_under_a_new_history(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 3000, 300);
    let created = create_in(repo, &data, &["--logical-digest"]);
    let b = &created["backup"];
    let id = b["id"].as_str().unwrap().to_string();
    assert!(id.contains("-full-"), "{id}");
    assert_eq!(b["type"], "full");
    assert!(b["parent"].is_null());
    assert_eq!(b["logical_digest"].as_str().unwrap(), content_digest(&data));
    assert!(b["files"].as_u64().unwrap() >= 5, "{b}");

    let target = tmp.join("restored");
    repo.cmd(&["restore"])
        .arg("--target")
        .arg(&target)
        .assert()
        .success();
    assert!(!tmp.join("restored.drkit-restore-tmp").exists());
    assert_eq!(full_scan(&target), full_scan(&data));
    assert_eq!(
        content_digest(&target),
        b["logical_digest"].as_str().unwrap()
    );
    let (old, _) = load_state(&data).unwrap();
    let (new, _) = load_state(&target).unwrap();
    assert_ne!(
        old.history_id, new.history_id,
        "a restore starts a new history"
    );
    assert_eq!(old.files, new.files);

    // list and info agree with create.
    let out = repo
        .cmd(&["backup", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = json_report(&out);
    assert_eq!(listed["backup"]["id"], id.as_str());
    let out = repo
        .cmd(&["backup", "info", "--json"])
        .arg(&id)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let info = json_report(&out);
    assert_eq!(info["backup"]["logical_digest"], b["logical_digest"]);
    repo.cmd(&["backup", "info"])
        .arg("20000101T000000Z-full-00000000")
        .assert()
        .code(10);
    repo.cmd(&["backup", "verify", "--restore-test"])
        .assert()
        .success();
}

fn any_damaged_repository_file_is_named_and_refused(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 3000, 300);
    create_in(repo, &data, &[]);
    // Every object but the locks (their content is who holds them, never data).
    let objects: Vec<(String, u64)> = repo
        .keys_under("")
        .into_iter()
        .filter(|(k, _)| k != "LOCK" && k != "READERS")
        .collect();
    assert!(objects.iter().any(|(k, _)| k.ends_with("manifest.json")));
    assert!(objects.iter().any(|(k, _)| k == "repo.json"));
    let mut cases: Vec<(String, &str)> = objects.iter().map(|(k, _)| (k.clone(), "flip")).collect();
    let largest = objects
        .iter()
        .filter(|(k, _)| k.ends_with(".zst"))
        .max_by_key(|(_, size)| *size)
        .unwrap()
        .0
        .clone();
    cases.push((largest, "truncate"));
    let store = repo.store();
    for (i, (key, how)) in cases.iter().enumerate() {
        // Damaged in place, and put back after the case.
        let original = store.get(key).unwrap().unwrap();
        let mut bytes = original.clone();
        match *how {
            "flip" => {
                let at = bytes.len() / 2;
                bytes[at] ^= 0x40;
            }
            _ => bytes.truncate(bytes.len() / 2),
        }
        store.put(key, &bytes).unwrap();
        let name = key.rsplit('/').next().unwrap().to_string();

        let out = repo.cmd(&["backup", "verify"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(4),
            "{how} {key} (byte {} of {}) went unnoticed by backup verify: {}",
            bytes.len() / 2,
            bytes.len(),
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&name),
            "{how} {name}: {}",
            text(&out)
        );

        let target = tmp.join(format!("target{i}"));
        let a = repo
            .cmd(&["restore", "--target"])
            .arg(&target)
            .assert()
            .code(4);
        assert!(
            stderr_of(&a).contains(&name),
            "{how} {name}: {}",
            stderr_of(&a)
        );
        assert!(!target.exists(), "{how} {name}: target must stay absent");
        assert!(
            !tmp.join(format!("target{i}.drkit-restore-tmp")).exists(),
            "{how} {name}: staging must be removed"
        );
        store.put(key, &original).unwrap();
    }
    repo.cmd(&["backup", "verify"]).assert().success();
}

#[test]
fn a_killed_create_leaves_no_listed_backup_and_the_next_run_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let repo = tmp.path().join("repo");
    build(&data, 40_000, 1000);
    // Level 19 on one thread: slow enough to be killed in the middle.
    let mut child = std::process::Command::new(drkit_path())
        .args([
            "backup",
            "create",
            "--threads",
            "1",
            "--compress-level",
            "19",
            "--repo",
        ])
        .arg(&repo)
        .arg("--data")
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let backup_dir = loop {
        let found = fs::read_dir(repo.join("backups"))
            .ok()
            .and_then(|mut rd| rd.next())
            .map(|e| e.unwrap().path());
        if let Some(d) = found {
            break d;
        }
        assert!(Instant::now() < deadline, "backup dir never appeared");
        std::thread::sleep(Duration::from_millis(5));
    };
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !backup_dir.join("manifest.json").exists(),
        "the run finished before it was killed; make the dir bigger"
    );

    let out = drkit()
        .args(["backup", "list", "--json", "--repo"])
        .arg(&repo)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(
        !String::from_utf8_lossy(&out).contains("\"type\":\"backup\""),
        "a partial backup was listed"
    );
    drkit()
        .args(["restore", "--repo"])
        .arg(&repo)
        .arg("--target")
        .arg(tmp.path().join("t"))
        .assert()
        .code(10);

    let next = create_json_with(&repo, &data, &["--logical-digest"]);
    assert!(!backup_dir.exists(), "the leftover was not removed");
    assert_eq!(next["cleaned"].as_array().unwrap().len(), 1);
    assert_eq!(
        next["backup"]["logical_digest"].as_str().unwrap(),
        content_digest(&data)
    );
}

#[test]
fn a_held_repository_lock_fails_at_once_or_is_waited_for() {
    let (_tmp, data, repo) = setup();
    drkit()
        .args(["backup", "init", "--repo"])
        .arg(&repo)
        .assert()
        .success();
    let held = drkit::io::DirLock::acquire(&repo).unwrap();
    let started = Instant::now();
    let a = drkit()
        .args(["backup", "create", "--repo"])
        .arg(&repo)
        .arg("--data")
        .arg(&data)
        .assert()
        .code(11);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stderr_of(&a).contains("LOCK"), "{}", stderr_of(&a));

    // Released within the wait: the second run queues instead of failing.
    let repo2 = repo.clone();
    let data2 = data.clone();
    let waiter = std::thread::spawn(move || {
        std::process::Command::new(drkit_path())
            .args(["backup", "create", "--lock-wait", "2s", "--repo"])
            .arg(&repo2)
            .arg("--data")
            .arg(&data2)
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));
    drop(held);
    let out = waiter.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn restore_refuses_a_non_empty_target_unless_forced_and_keeps_the_old_content(
    repo: &TestRepo,
    tmp: &Path,
) {
    let data = tmp.join("data");
    build(&data, 3000, 300);
    create_in(repo, &data, &[]);
    let target = tmp.join("t");
    fs::create_dir_all(&target).unwrap();
    fs::write(target.join("precious"), b"keep me").unwrap();
    let a = repo
        .cmd(&["restore"])
        .arg("--target")
        .arg(&target)
        .assert()
        .code(1);
    let err = stderr_of(&a);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(fs::read(target.join("precious")).unwrap(), b"keep me");

    // A dry run changes nothing either.
    repo.cmd(&["restore", "--dry-run", "--force"])
        .arg("--target")
        .arg(&target)
        .assert()
        .success();
    assert_eq!(fs::read(target.join("precious")).unwrap(), b"keep me");

    repo.cmd(&["restore", "--force"])
        .arg("--target")
        .arg(&target)
        .assert()
        .success();
    assert_eq!(content_digest(&target), content_digest(&data));
    let aside: Vec<PathBuf> = fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("t.drkit-old-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(aside[0].join("precious")).unwrap(), b"keep me");

    // An empty dir is a fine target without --force.
    let empty = tmp.join("empty");
    fs::create_dir_all(&empty).unwrap();
    repo.cmd(&["restore"])
        .arg("--target")
        .arg(&empty)
        .assert()
        .success();
    assert_eq!(content_digest(&empty), content_digest(&data));
}

fn quiet_prints_nothing_on_success(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 3000, 300);
    for args in [
        vec!["backup", "create", "--data", data.to_str().unwrap()],
        vec!["backup", "verify"],
        vec!["backup", "list"],
        vec!["restore", "--target", tmp.join("q").to_str().unwrap()],
    ] {
        let mut args = args;
        args.push("-q");
        let a = repo.cmd(&args).assert().success();
        assert!(a.get_output().stdout.is_empty(), "{args:?}");
        assert!(a.get_output().stderr.is_empty(), "{args:?}");
    }
}

/// Without --logical-digest a backup records no digest, yet restores exactly: every table's
/// block checksums are checked as it is copied and every file's blake3 on restore.
fn a_backup_without_a_logical_digest_restores_exactly(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 3000, 300);
    let created = create_in(repo, &data, &[]);
    let b = &created["backup"];
    assert!(b["logical_digest"].is_null(), "{b}");
    assert!(created["digest_ms"].is_null(), "{created}");
    let target = tmp.join("restored");
    let out = repo
        .cmd(&["restore", "--json"])
        .arg("--target")
        .arg(&target)
        .output()
        .unwrap();
    crate::common::assert_exit(&out, 0, "restore");
    let restored = json_report(&out.stdout);
    assert!(restored["report"]["logical_digest"].is_null(), "{restored}");
    assert_eq!(full_scan(&target), full_scan(&data));
}

/// A table damaged in the data dir (a flipped byte inside a compressed block) is refused by
/// `backup create` with the file and the block's offset, and no backup is left behind.
fn a_damaged_table_is_refused_by_backup_create(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 3000, 300);
    let sst = fs::read_dir(data.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sst"))
        .unwrap();
    let mut bytes = fs::read(&sst).unwrap();
    let block = drkit::format::sst::Sst::from_bytes(&sst, bytes.clone())
        .unwrap()
        .blocks()
        .into_iter()
        .find(|b| b.kind == "data" && b.compression == Some("zstd"))
        .expect("a compressed data block");
    bytes[(block.offset + block.size / 2) as usize] ^= 0x08;
    fs::write(&sst, bytes).unwrap();
    let out = repo
        .cmd(&["backup", "create"])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    crate::common::assert_exit(&out, 4, "backup of a damaged table");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&sst.file_name().unwrap().to_string_lossy().into_owned())
            && err.contains(&format!("offset {}", block.offset)),
        "{err}"
    );
    let list = repo.cmd(&["backup", "list", "--json"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains("\"type\":\"backup\""),
        "no backup was left"
    );
}
