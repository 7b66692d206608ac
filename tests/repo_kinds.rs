//! The repository scenarios, each run on both kinds of repository through the real binary:
//! a local dir, and a bucket prefix on a real S3 server (moto's) started by the test. Backup
//! and restore round trips, point-in-time restore from archived WAL, damaged objects named
//! and refused, a killed run cleaned up by the next, and locks held across processes. Then
//! what only object storage has: a missing bucket, a wrong endpoint, missing credentials, a
//! profile of the shared credentials file, and the server dying mid-upload.

use std::path::Path;
use std::time::{Duration, Instant};

use drkit::engine::{Engine, Options, SyncPolicy};

use super::cluster_procs::free_port;
use super::common::*;
use super::s3_server::S3Server;
use super::test_repo::TestRepo;
use crate::on_both_kinds;

on_both_kinds!(
    full_and_incremental_backups_restore_exactly_and_expire,
    point_in_time_restore_replays_the_archived_wal,
    a_damaged_object_is_named_by_verify_and_restore,
    a_killed_create_is_cleaned_up_by_the_next_run,
    a_lock_held_by_another_process_is_reported_with_its_holder,
);

fn opts() -> Options {
    Options {
        sync: SyncPolicy::Never,
        memtable_bytes: 256 << 10,
        ..Options::default()
    }
}

/// Values that compress about 2:1, so a stored file is about half its size.
fn value(i: u32, len: usize) -> Vec<u8> {
    let mut x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|j| {
            if j % 2 == 0 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            } else {
                b'.'
            }
        })
        .collect()
}

/// A stopped dir: `records` puts, flushed into several tables, with a WAL tail.
fn build(dir: &Path, records: u32, value_len: usize) {
    let e = Engine::open(dir, opts()).unwrap();
    for i in 0..records {
        e.put(format!("k{i:07}").as_bytes(), &value(i, value_len))
            .unwrap();
    }
    e.flush().unwrap();
    for i in 0..50 {
        e.put(format!("k{i:07}").as_bytes(), format!("tail{i}").as_bytes())
            .unwrap();
    }
}

fn json_out(a: &assert_cmd::assert::Assert) -> serde_json::Value {
    json_report(&a.get_output().stdout)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn full_and_incremental_backups_restore_exactly_and_expire(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 3000, 1000);
    let init = json_out(&repo.cmd(&["backup", "init", "--json"]).assert().success());
    assert_eq!(init["created"], true, "{init}");

    let full = json_out(
        &repo
            .cmd(&["backup", "create", "--json", "--logical-digest", "--data"])
            .arg(&data)
            .assert()
            .success(),
    );
    let full_id = full["backup"]["id"].as_str().unwrap().to_string();
    {
        let e = Engine::open(&data, opts()).unwrap();
        for i in 0..200u32 {
            e.put(format!("new{i:04}").as_bytes(), &value(i + 7, 300))
                .unwrap();
        }
        e.delete(b"k0000010").unwrap();
    }
    let incr = json_out(
        &repo
            .cmd(&["backup", "create", "--json", "--type", "incr", "--data"])
            .arg(&data)
            .assert()
            .success(),
    );
    assert_eq!(incr["backup"]["parent"], full_id.as_str(), "{incr}");
    assert!(incr["reused_files"].as_u64().unwrap() > 0, "{incr}");
    let incr_id = incr["backup"]["id"].as_str().unwrap().to_string();

    let listed = repo
        .cmd(&["backup", "list", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let backups: Vec<_> = json_lines(&listed)
        .into_iter()
        .filter(|l| l["type"] == "backup")
        .collect();
    assert_eq!(backups.len(), 2, "{}", text(&listed));
    let info = json_out(
        &repo
            .cmd(&["backup", "info", &incr_id, "--json"])
            .assert()
            .success(),
    );
    assert_eq!(info["backup"]["id"], incr_id.as_str(), "{info}");
    repo.cmd(&["backup", "verify"]).assert().success();

    // The incremental backup reads the full one's files: restored, it is the dir as it is.
    let target = tmp.join("restored");
    repo.cmd(&["restore", "--target"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(content_digest(&target), content_digest(&data));

    // A second full backup: the first and its incremental go, and with them their objects.
    repo.cmd(&["backup", "create", "--data"])
        .arg(&data)
        .assert()
        .success();
    repo.cmd(&[
        "backup",
        "expire",
        "--keep-full",
        "1",
        "--keep-incr-days",
        "0",
    ])
    .assert()
    .success();
    let left: Vec<String> = repo
        .repo()
        .list()
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(!left.contains(&full_id) && !left.contains(&incr_id));
    for gone in [&full_id, &incr_id] {
        assert!(
            repo.keys_under(&format!("backups/{gone}")).is_empty(),
            "objects of expired backup {gone} are left"
        );
    }
}

fn point_in_time_restore_replays_the_archived_wal(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 500, 200);
    repo.cmd(&["backup", "create", "--data"])
        .arg(&data)
        .assert()
        .success();
    let mut seqs = Vec::new();
    {
        let e = Engine::open(&data, opts()).unwrap();
        for i in 0..300u32 {
            seqs.push(e.put(format!("p{i:04}").as_bytes(), b"after").unwrap());
        }
    }
    repo.cmd(&["wal", "archive", "--data"])
        .arg(&data)
        .assert()
        .success();

    let target = tmp.join("to-seq");
    repo.cmd(&["restore", "--target"])
        .arg(&target)
        .args(["--to-seq", &seqs[149].to_string()])
        .assert()
        .success();
    let keys: Vec<Vec<u8>> = full_scan(&target)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(b"Kp"))
        .collect();
    assert_eq!(keys.len(), 150, "entries up to the target, none after");
    assert_eq!(keys.last().unwrap(), b"Kp0149");

    let whole = tmp.join("to-end");
    repo.cmd(&["restore", "--target"])
        .arg(&whole)
        .args(["--to-seq", &seqs[299].to_string()])
        .assert()
        .success();
    assert_eq!(content_digest(&whole), content_digest(&data));

    let beyond = tmp.join("beyond");
    repo.cmd(&["restore", "--target"])
        .arg(&beyond)
        .args(["--to-seq", &(seqs[299] + 1000).to_string()])
        .assert()
        .code(12);
    assert!(
        !beyond.exists(),
        "an unreachable target leaves nothing behind"
    );
}

fn a_damaged_object_is_named_by_verify_and_restore(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 2000, 1000);
    repo.cmd(&["backup", "create", "--data"])
        .arg(&data)
        .assert()
        .success();
    let (key, _) = repo
        .keys_under("backups")
        .into_iter()
        .filter(|(k, _)| k.contains("/files/"))
        .max_by_key(|(_, size)| *size)
        .unwrap();
    let store = repo.store();
    let mut bytes = store.get(&key).unwrap().unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    store.put(&key, &bytes).unwrap();
    let name = key.rsplit('/').next().unwrap().to_string();

    let out = repo.cmd(&["backup", "verify"]).output().unwrap();
    assert_exit(&out, 4, "backup verify of a flipped object");
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));

    let target = tmp.join("target");
    let out = repo
        .cmd(&["restore", "--target"])
        .arg(&target)
        .output()
        .unwrap();
    assert_exit(&out, 4, "restore of a flipped object");
    assert!(stderr(&out).contains(&name), "{}", stderr(&out));
    assert!(!target.exists(), "a failed restore must leave no target");
}

fn a_killed_create_is_cleaned_up_by_the_next_run(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    // Tables larger than a part: the kill lands in a multipart upload on S3.
    build(&data, 40_000, 1000);
    repo.cmd(&["backup", "init"]).assert().success();
    let mut child = repo.spawn(&[
        "backup",
        "create",
        "--threads",
        "1",
        "--data",
        data.to_str().unwrap(),
    ]);
    // Anything a run leaves: a local dir shows its backup dir as soon as the first file is
    // begun; a bucket shows a finished object or an upload's record.
    let left_behind = || match repo.location.local_path() {
        Some(root) => std::fs::read_dir(root.join("backups")).is_ok_and(|mut d| d.next().is_some()),
        None => !repo.keys_under("backups").is_empty() || !repo.keys_under("uploads").is_empty(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !left_behind() {
        assert!(
            Instant::now() < deadline,
            "the backup never started writing"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    if repo.is_s3() {
        // Into the upload of the first (largest) file.
        std::thread::sleep(Duration::from_millis(150));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        repo.repo().list().unwrap().is_empty(),
        "the run finished before it was killed; make the dir bigger"
    );
    assert!(left_behind(), "the killed run left nothing to clean up");

    let next = json_out(
        &repo
            .cmd(&["backup", "create", "--json", "--data"])
            .arg(&data)
            .assert()
            .success(),
    );
    assert!(!next["cleaned"].as_array().unwrap().is_empty(), "{next}");
    let id = next["backup"]["id"].as_str().unwrap();
    let stray: Vec<_> = repo
        .keys_under("backups")
        .into_iter()
        .filter(|(k, _)| !k.starts_with(&format!("backups/{id}/")))
        .collect();
    assert!(stray.is_empty(), "left by the killed run: {stray:?}");
    assert!(
        repo.keys_under("uploads").is_empty(),
        "unfinished uploads left"
    );
}

fn a_lock_held_by_another_process_is_reported_with_its_holder(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    build(&data, 200, 100);
    repo.cmd(&["backup", "init"]).assert().success();
    let held = repo
        .repo()
        .lock("nightly test holder", Duration::ZERO)
        .unwrap();
    let out = repo
        .cmd(&["backup", "create", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 11, "backup create under another's lock");
    let err = stderr(&out);
    assert!(
        err.contains("nightly test holder") && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    repo.cmd(&["backup", "expire"]).assert().code(11);
    if !repo.is_s3() {
        // A local lock belongs to a live process: it is not broken, its holder is named.
        let out = repo.cmd(&["backup", "unlock"]).output().unwrap();
        assert_exit(&out, 11, "unlock of a live local lock");
        assert!(
            stderr(&out).contains("nightly test holder"),
            "{}",
            stderr(&out)
        );
    }
    drop(held);
    repo.cmd(&["backup", "create", "--data"])
        .arg(&data)
        .assert()
        .success();
}

/// A lease an S3 repository's LOCK holds, as another holder wrote it.
fn lease(host: &str, pid: u32, refreshed: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let at = refreshed.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::to_vec(&serde_json::json!({
        "operation": "backup create",
        "host": host,
        "pid": pid,
        "started": at,
        "refreshed": at,
        "token": "0011223344556677",
    }))
    .unwrap()
}

fn this_host() -> String {
    drkit::backup::store::lock::host_name()
}

/// A pid no process has now.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn s3_a_stale_lease_is_reported_and_broken_by_unlock_and_a_dead_local_holder_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let server = S3Server::start();
    let repo = TestRepo::s3(&server, "drkit-locks");
    let data = tmp.path().join("data");
    build(&data, 200, 100);
    repo.cmd(&["backup", "init"]).assert().success();
    let store = repo.store();

    // Another machine's run, silent for ten minutes: only the operator can know it is gone.
    let old = chrono::Utc::now() - chrono::Duration::minutes(10);
    store.put("LOCK", &lease("db-other", 4242, old)).unwrap();
    let out = repo
        .cmd(&["backup", "create", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 11, "backup create under a stale lease");
    let err = stderr(&out);
    assert!(
        err.contains("db-other")
            && err.contains("not been renewed")
            && err.contains("backup unlock"),
        "{err}"
    );
    let unlocked = repo.cmd(&["backup", "unlock"]).assert().success();
    assert!(
        String::from_utf8_lossy(&unlocked.get_output().stdout).contains("db-other"),
        "unlock names what it broke"
    );
    assert_eq!(store.get("LOCK").unwrap(), None);
    repo.cmd(&["backup", "create", "--data"])
        .arg(&data)
        .assert()
        .success();

    // A run on this machine whose process is gone: taken over without asking.
    store
        .put("LOCK", &lease(&this_host(), dead_pid(), chrono::Utc::now()))
        .unwrap();
    repo.cmd(&["backup", "create", "--data"])
        .arg(&data)
        .assert()
        .success();
    assert_eq!(
        store.get("LOCK").unwrap(),
        None,
        "the lock is released after the run"
    );

    // A live holder's lease is renewed while it holds it.
    let held = repo.repo().lock("renewed holder", Duration::ZERO).unwrap();
    let first: serde_json::Value =
        serde_json::from_slice(&store.get("LOCK").unwrap().unwrap()).unwrap();
    assert_eq!(first["operation"], "renewed holder");
    drop(held);
    assert_eq!(store.get("LOCK").unwrap(), None);
}

#[test]
fn s3_a_missing_bucket_a_wrong_endpoint_and_missing_credentials_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let server = S3Server::start();
    let data = tmp.path().join("data");
    build(&data, 100, 100);
    let missing = TestRepo {
        url: "s3://no-such-bucket/repo".into(),
        ..TestRepo::s3(&server, "drkit-present")
    };
    let t = Instant::now();
    let out = missing
        .cmd(&["backup", "create", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 1, "a missing bucket");
    let err = stderr(&out);
    assert!(
        err.contains("s3://no-such-bucket/repo") && err.contains("does not exist"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    let closed = free_port();
    let wrong = TestRepo {
        endpoint: Some(format!("http://127.0.0.1:{closed}")),
        ..TestRepo::s3(&server, "drkit-wrong-endpoint")
    };
    let out = wrong.cmd(&["backup", "list"]).output().unwrap();
    assert_exit(&out, 1, "a wrong endpoint");
    assert!(stderr(&out).contains("--s3-endpoint"), "{}", stderr(&out));
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "errors come within seconds"
    );

    // No key anywhere: said at once, not after a metadata-service timeout.
    let out = drkit()
        .args(["backup", "list", "--repo", "s3://drkit-present/r"])
        .args(["--s3-endpoint", &server.endpoint(), "--s3-path-style"])
        .env_clear()
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert_exit(&out, 1, "no credentials");
    assert!(stderr(&out).contains("no credentials"), "{}", stderr(&out));
}

#[test]
fn s3_credentials_come_from_a_profile_of_the_shared_credentials_file() {
    let tmp = tempfile::tempdir().unwrap();
    let server = S3Server::start();
    server.create_bucket("drkit-profile");
    let creds = tmp.path().join("credentials");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = wrong\n\n[backup]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let run = |profile: &str| {
        drkit()
            .args(["backup", "init", "--repo", "s3://drkit-profile/p"])
            .args(["--s3-endpoint", &server.endpoint(), "--s3-path-style"])
            .args(["--s3-profile", profile])
            .env_clear()
            .env("HOME", tmp.path())
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .output()
            .unwrap()
    };
    assert_exit(&run("backup"), 0, "init with the backup profile");
    let out = run("nobody");
    assert_exit(&out, 1, "a profile that is not in the file");
    assert!(stderr(&out).contains("[nobody]"), "{}", stderr(&out));
}

#[test]
fn s3_the_server_dying_mid_upload_fails_the_backup_cleanly_and_the_next_one_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = S3Server::start();
    let repo = TestRepo::s3(&server, "drkit-dying");
    let data = tmp.path().join("data");
    build(&data, 40_000, 1000);
    repo.cmd(&["backup", "init"]).assert().success();
    let child = repo.spawn(&["backup", "create", "--data", data.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while repo.keys_under("uploads").is_empty() && repo.keys_under("backups").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the backup never started uploading"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let port = server.port;
    server.kill();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "a backup whose server died cannot succeed"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("s3://drkit-dying/team/repo"), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "failed within bounded retries"
    );

    // moto keeps its buckets in memory: the restarted server is an empty one.
    let server = S3Server::start_on(port);
    let repo = TestRepo::s3(&server, "drkit-dying");
    let created = json_out(
        &repo
            .cmd(&["backup", "create", "--json", "--data"])
            .arg(&data)
            .assert()
            .success(),
    );
    let target = tmp.path().join("target");
    repo.cmd(&["restore", "--target"])
        .arg(&target)
        .assert()
        .success();
    assert_eq!(content_digest(&target), content_digest(&data), "{created}");
}

#[test]
fn s3_demo_runs_its_backup_step_against_a_bucket() {
    let server = S3Server::start();
    let repo = TestRepo::s3(&server, "drkit-demo");
    let out = repo
        .cmd(&["demo", "--records", "20000", "--json"])
        .output()
        .unwrap();
    assert_exit(&out, 0, "demo with an S3 repository");
    let report = json_report(&out.stdout);
    let backup = &report["report"]["backup"];
    assert_eq!(backup["repo"], repo.url.as_str(), "{report}");
    assert_eq!(backup["mismatched_keys"], 0, "{report}");
    assert_eq!(
        repo.repo().list().unwrap().len(),
        2,
        "the full and the incremental backup"
    );
}

#[test]
fn s3_wrong_credentials_are_one_clear_line_naming_the_key_and_the_server_code() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    build(&data, 100, 100);
    // The bucket is made by the one request let through; every later one needs a known key.
    let server = S3Server::start_checking_keys_after(1);
    let repo = TestRepo::s3(&server, "drkit-guarded");
    for args in [&["backup", "list"][..], &["backup", "create", "--data"][..]] {
        let mut c = repo.cmd(args);
        if args.len() == 3 {
            c.arg(&data);
        }
        let out = c.output().unwrap();
        assert_exit(&out, 1, "a key the server does not know");
        let err = stderr(&out);
        assert!(
            err.contains("s3://drkit-guarded/team/repo/")
                && err.contains("403 Forbidden")
                && err.contains("AWS_ACCESS_KEY_ID"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}
