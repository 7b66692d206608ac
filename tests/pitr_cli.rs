//! WAL archiving and point-in-time restore through the real binary: restores to many
//! sequence and time targets each give exactly the state computed from our own write log;
//! targets the repository cannot reach exit 12 and leave the target alone; a gap or a
//! flipped byte in the archive is named and refused; archiving is idempotent; the engine
//! keeps what is not archived yet.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use drkit::engine::{Engine, Options, SyncPolicy};

use super::common::*;
use super::s3_server::S3Server;
use super::test_repo::TestRepo;
use crate::on_both_kinds;

on_both_kinds!(
    one_archiver_per_history_and_disable_turns_the_hold_off,
    pitr_to_many_targets_matches_the_write_log_and_refuses_what_it_cannot_reach,
    a_one_shot_archive_of_a_running_engine_holds_the_write_made_a_moment_before,
    a_target_between_two_backups_restores_exactly_from_the_wal_the_later_one_holds,
    a_flipped_byte_in_the_archive_is_named_by_verify_and_refused_by_restore,
);

/// One acknowledged write: its sequence, key, value (None: delete).
type Write = (u64, Vec<u8>, Option<Vec<u8>>);

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn small_opts() -> Options {
    Options {
        sync: SyncPolicy::Never,
        memtable_bytes: 8 << 10,
        wal_segment_bytes: 4 << 10,
        sst_target_bytes: 32 << 10,
        l1_target_bytes: 64 << 10,
        ..Options::default()
    }
}

struct Log {
    writes: Vec<Write>,
    /// (instant, writes before it): every write in the first part committed at or before
    /// the instant, every later one after it.
    instants: Vec<(i64, usize)>,
}

impl Log {
    fn write(&mut self, e: &Engine, i: u32, round: u32) {
        let key = format!("k{:04}", (i * 7 + round * 13) % 257).into_bytes();
        let seq;
        let value;
        if i % 9 == 4 {
            seq = e.delete(&key).unwrap();
            value = None;
        } else {
            let v = format!("r{round}-i{i}-")
                .repeat(1 + (i % 5) as usize)
                .into_bytes();
            seq = e.put(&key, &v).unwrap();
            value = Some(v);
        }
        self.writes.push((seq, key, value));
        if i.is_multiple_of(17) {
            let t = now_ns();
            self.instants.push((t, self.writes.len()));
            // The next write's timestamp must be strictly after the instant.
            while now_ns() <= t {}
        }
    }

    fn expected(writes: &[Write]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut m = BTreeMap::new();
        for (_, k, v) in writes {
            let key = [b"K".as_slice(), k].concat();
            match v {
                Some(v) => m.insert(key, v.clone()),
                None => m.remove(&key),
            };
        }
        m.into_iter().collect()
    }

    fn upto_seq(&self, n: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let k = self.writes.iter().take_while(|w| w.0 <= n).count();
        Self::expected(&self.writes[..k])
    }
}

fn round(data: &Path, log: &mut Log, round: u32, n: u32) {
    let e = Engine::open(data, small_opts()).unwrap();
    for i in 0..n {
        log.write(&e, i, round);
    }
}

fn archive_in(repo: &TestRepo, data: &Path) -> std::process::Output {
    repo.cmd(&["wal", "archive", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap()
}

fn backup_in(repo: &TestRepo, data: &Path) -> serde_json::Value {
    let out = repo
        .cmd(&["backup", "create", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup create");
    json_report(&out.stdout)["backup"].clone()
}

fn restore_in(repo: &TestRepo, target: &Path, extra: &[&str]) -> std::process::Output {
    repo.cmd(&["restore", "--json"])
        .args(extra)
        .arg("--target")
        .arg(target)
        .output()
        .unwrap()
}

/// The keys of the WAL archive (lock leases and files left out).
fn archive_keys(repo: &TestRepo) -> Vec<String> {
    repo.keys_under("wal")
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.ends_with("/LOCK") && !k.contains("/LOCK."))
        .collect()
}

fn sidecar_in(repo: &TestRepo, key: &str) -> serde_json::Value {
    serde_json::from_slice(&repo.store().get(key).unwrap().unwrap()).unwrap()
}

/// A sealed sidecar's key and segment range, by the segment's first sequence.
fn sealed_in(repo: &TestRepo) -> Vec<(String, u64, u64)> {
    archive_keys(repo)
        .into_iter()
        .filter(|k| k.ends_with(".wal.json"))
        .map(|k| {
            let s = sidecar_in(repo, &k);
            let (a, b) = (
                s["first_seq"].as_u64().unwrap(),
                s["last_seq"].as_u64().unwrap(),
            );
            (k, a, b)
        })
        .collect()
}

/// The compressed copy a sealed sidecar names, beside it.
fn copy_key(sidecar: &str) -> String {
    format!("{}.zst", sidecar.strip_suffix(".json").unwrap())
}

struct Scenario {
    root: PathBuf,
    data: PathBuf,
    log: Log,
    b1: serde_json::Value,
    b2: serde_json::Value,
    /// The last sequence the archive holds (the growing segment's copy included).
    end: u64,
}

fn scenario(repo: &TestRepo, root: &Path) -> Scenario {
    let root = root.to_path_buf();
    let data = root.join("data");
    let mut log = Log {
        writes: Vec::new(),
        instants: Vec::new(),
    };

    // Before archiving: flushed segments are retired as usual.
    round(&data, &mut log, 0, 400);
    let first = archive_in(repo, &data);
    assert_exit(&first, 0, "first wal archive (enables archiving)");
    assert!(data.join("ARCHIVE_STATUS").is_file());
    let b1 = backup_in(repo, &data);

    // The engine now keeps what is not archived: the next run finds no hole.
    round(&data, &mut log, 1, 400);
    let out = archive_in(repo, &data);
    assert_exit(&out, 0, "wal archive after round 1");
    let r = json_report(&out.stdout);
    assert!(r["report"]["gaps"].as_array().unwrap().is_empty(), "{r}");
    let archived = r["report"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "archived")
        .count();
    assert!(archived >= 3, "several segments archived: {r}");

    // Idempotent: a second run copies nothing and changes no object (the growing segment's
    // copy included: nothing was written since).
    let store = repo.store();
    let keys = archive_keys(repo);
    let contents: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| store.get(k).unwrap().unwrap())
        .collect();
    let out = archive_in(repo, &data);
    assert_exit(&out, 0, "wal archive again");
    let r = json_report(&out.stdout);
    assert!(
        r["report"]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["action"] == "present" || s["action"] == "partial-unchanged"),
        "{r}"
    );
    assert_eq!(archive_keys(repo), keys);
    let again: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| store.get(k).unwrap().unwrap())
        .collect();
    assert!(again == contents, "a repeated run rewrote archived objects");
    let b2 = backup_in(repo, &data);

    // A running engine and `wal archive --follow` beside it, stopped with SIGTERM.
    let e = Engine::open(&data, small_opts()).unwrap();
    for i in 0..150 {
        log.write(&e, i, 2);
    }
    let follow = repo.spawn(&[
        "wal",
        "archive",
        "--follow",
        "--poll",
        "100ms",
        "--data",
        data.to_str().unwrap(),
    ]);
    for i in 150..300 {
        log.write(&e, i, 2);
        if i.is_multiple_of(50) {
            std::thread::sleep(Duration::from_millis(120));
        }
    }
    e.sync().unwrap();
    let last = log.writes.last().unwrap().0;
    // Wait until the growing segment's copy holds the last write.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reached = archive_keys(repo)
            .iter()
            .filter(|k| k.ends_with(".partial.json"))
            .filter_map(|k| store.get(k).unwrap())
            .map(|b| {
                serde_json::from_slice::<serde_json::Value>(&b).unwrap()["last_seq"]
                    .as_u64()
                    .unwrap()
            })
            .max()
            .unwrap_or(0);
        if reached >= last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "--follow never archived seq {last} (reached {reached})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &follow.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = follow.wait_with_output().unwrap();
    assert_exit(&out, 0, "wal archive --follow after SIGTERM");
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        text(&out)
    );
    drop(e);
    // Background checkpoint entries may follow the last write.
    let end = archive_keys(repo)
        .iter()
        .filter(|k| k.ends_with(".json"))
        .map(|k| sidecar_in(repo, k)["last_seq"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(end >= last);
    Scenario {
        root,
        data,
        log,
        b1,
        b2,
        end,
    }
}

fn seq_of(b: &serde_json::Value) -> u64 {
    b["last_seq"].as_u64().unwrap()
}

fn pitr_to_many_targets_matches_the_write_log_and_refuses_what_it_cannot_reach(
    repo: &TestRepo,
    root: &Path,
) {
    let s = scenario(repo, root);
    let (b1, b2, end) = (seq_of(&s.b1), seq_of(&s.b2), s.end);
    assert!(b1 < b2 && b2 < end, "{b1} {b2} {end}");

    // The plan shows the window.
    let out = restore_in(
        repo,
        &s.root.join("plan"),
        &["--dry-run", "--to-seq", &b2.to_string()],
    );
    assert_exit(&out, 0, "dry run");
    let plan = json_report(&out.stdout);
    let reaches = &plan["plan"]["pitr"]["window"]["reaches"];
    assert_eq!(reaches[0]["from_seq"].as_u64(), Some(b1), "{plan}");
    assert_eq!(reaches[0]["to_seq"].as_u64(), Some(end), "{plan}");
    assert!(!s.root.join("plan").exists());

    // Sequence targets across the range: the backup points, around them, segment edges,
    // and a stride through the rest.
    let mut targets = vec![b1, b1 + 1, b2 - 1, b2, b2 + 1, end - 1, end];
    for (_, a, b) in sealed_in(repo) {
        targets.extend([a, b]);
    }
    targets.extend((b1..=end).step_by(97));
    targets.retain(|t| (b1..=end).contains(t));
    targets.sort_unstable();
    targets.dedup();
    for (i, n) in targets.iter().enumerate() {
        let target = s.root.join(format!("seq-{i}"));
        let out = restore_in(repo, &target, &["--to-seq", &n.to_string()]);
        assert_exit(&out, 0, &format!("restore --to-seq {n}"));
        let r = json_report(&out.stdout);
        assert_eq!(r["report"]["reached_seq"].as_u64(), Some(*n), "{r}");
        let want_backup = if *n >= b2 { &s.b2 } else { &s.b1 };
        assert_eq!(r["report"]["plan"]["backup_id"], want_backup["id"], "{r}");
        assert_eq!(full_scan(&target), s.log.upto_seq(*n), "state at seq {n}");
        fs::remove_dir_all(&target).unwrap();
    }

    // Time targets: instants between writes after the first backup.
    let b1_ns = s.b1["last_entry_ns"]
        .as_i64()
        .expect("the backup records its point in time");
    let times: Vec<&(i64, usize)> = s
        .log
        .instants
        .iter()
        .filter(|(t, n)| *t >= b1_ns && s.log.writes[*n - 1].0 < end)
        .collect();
    assert!(times.len() >= 8, "{}", times.len());
    for (i, (t, n)) in times.iter().step_by(times.len() / 8).enumerate() {
        let target = s.root.join(format!("time-{i}"));
        let out = restore_in(repo, &target, &["--to-time", &rfc3339(*t)]);
        assert_exit(&out, 0, &format!("restore --to-time {}", rfc3339(*t)));
        assert_eq!(
            full_scan(&target),
            Log::expected(&s.log.writes[..*n]),
            "state at {}",
            rfc3339(*t)
        );
        fs::remove_dir_all(&target).unwrap();
    }

    // Outside the window: exit 12, the target untouched (absent, or an existing dir as is).
    let before_b1 = s.log.instants.iter().find(|(t, _)| *t < b1_ns).unwrap().0;
    let kept = s.root.join("kept");
    fs::create_dir_all(&kept).unwrap();
    fs::write(kept.join("precious"), b"x").unwrap();
    for args in [
        vec!["--to-seq".to_string(), (b1 - 1).to_string()],
        vec!["--to-seq".to_string(), (end + 1).to_string()],
        vec!["--to-time".to_string(), rfc3339(before_b1)],
        vec![
            "--to-time".to_string(),
            rfc3339(now_ns() + 3_600_000_000_000),
        ],
        vec![
            "--to-seq".to_string(),
            (b1 + 1).to_string(),
            "--backup".into(),
            s.b2["id"].as_str().unwrap().into(),
        ],
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let absent = s.root.join("absent");
        let out = restore_in(repo, &absent, &a);
        assert_exit(&out, 12, &format!("restore {args:?}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("recoverable window"), "{err}");
        assert!(!absent.exists());
        assert!(!s.root.join("absent.drkit-restore-tmp").exists());
        let before = dir_snapshot(&kept);
        let mut forced = a.clone();
        forced.push("--force");
        let out = restore_in(repo, &kept, &forced);
        assert_exit(&out, 12, &format!("restore --force {args:?}"));
        assert_eq!(dir_snapshot(&kept), before);
    }

    // `backup list` shows the window; `backup verify` checks the archive too.
    let out = repo.cmd(&["backup", "list"]).output().unwrap();
    assert_exit(&out, 0, "backup list");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("seq {b1}..={end}")),
        "{}",
        text(&out)
    );
    let out = repo.cmd(&["backup", "verify"]).output().unwrap();
    assert_exit(&out, 0, "backup verify");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("wal/"),
        "{}",
        text(&out)
    );

    // A segment missing from the archive (deleted by hand after the engine retired it):
    // `wal archive` reports the gap (exit 3), restore across it exits 12 naming it, and a
    // target before it still restores.
    // Last in this test: the hole is made in the repository itself.
    let sealed = sealed_in(repo);
    let (side, a, b) = sealed
        .iter()
        .find(|(_, a, _)| *a > b2 + 1)
        .cloned()
        .expect("a sealed segment after the second backup");
    let gap_data = s.root.join("gap-data");
    copy_dir(&s.data, &gap_data);
    let store = repo.store();
    assert!(store.delete(&side).unwrap());
    assert!(store.delete(&copy_key(&side)).unwrap());
    // As if the engine had retired it before it was archived.
    let segment = side
        .rsplit('/')
        .next()
        .unwrap()
        .strip_suffix(".json")
        .unwrap();
    let _ = fs::remove_file(gap_data.join("wal").join(segment));
    let out = archive_in(repo, &gap_data);
    assert_exit(&out, 3, "wal archive with a hole in the archive");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("seq {a}..={b}")),
        "{}",
        text(&out)
    );
    let out = restore_in(repo, &s.root.join("gap"), &["--to-seq", &end.to_string()]);
    assert_exit(&out, 12, "restore across the gap");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gap") && err.contains(&format!("{a}..={b}")),
        "{err}"
    );
    let out = restore_in(
        repo,
        &s.root.join("before-gap"),
        &["--to-seq", &(a - 1).to_string()],
    );
    assert_exit(&out, 0, "restore up to the gap");
    assert_eq!(full_scan(&s.root.join("before-gap")), s.log.upto_seq(a - 1));
}

fn a_flipped_byte_in_the_archive_is_named_by_verify_and_refused_by_restore(
    repo: &TestRepo,
    root: &Path,
) {
    let s = scenario(repo, root);
    let end = s.end;
    let store = repo.store();
    // Each case damages one object in place and puts the original back after it.
    let flipped = |key: &str, check: &dyn Fn(&str)| {
        let original = store.get(key).unwrap().unwrap();
        let mut bytes = original.clone();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x10;
        store.put(key, &bytes).unwrap();
        check(key.rsplit('/').next().unwrap());
        store.put(key, &original).unwrap();
    };
    let sealed = sealed_in(repo);
    let (side, _, _) = sealed
        .iter()
        .rfind(|(_, a, _)| *a > seq_of(&s.b2))
        .cloned()
        .unwrap();
    for (what, victim) in [("segment", copy_key(&side)), ("sidecar", side.clone())] {
        flipped(&victim, &|name| {
            let out = repo.cmd(&["backup", "verify"]).output().unwrap();
            assert_exit(
                &out,
                4,
                &format!("verify with a flipped byte in the {what}"),
            );
            assert!(
                text(&out).contains(name),
                "verify names the {what}: {}",
                text(&out)
            );
            // Naming one backup checks the archived WAL its window needs: this segment is
            // after the second backup, so both backups need it.
            for b in [&s.b1, &s.b2] {
                let id = b["id"].as_str().unwrap();
                let out = repo.cmd(&["backup", "verify", id]).output().unwrap();
                assert_exit(
                    &out,
                    4,
                    &format!("verify {id} with a flipped byte in the {what}"),
                );
                assert!(
                    text(&out).contains(name),
                    "verify {id} names the {what}: {}",
                    text(&out)
                );
            }
            let target = s.root.join(format!("restore-{what}"));
            let out = restore_in(repo, &target, &["--to-seq", &end.to_string()]);
            assert_exit(&out, 4, &format!("restore through a flipped {what}"));
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(name),
                "{}",
                text(&out)
            );
            assert!(!target.exists());
        });
    }

    // A damaged segment wholly between the two backups: the first one's window needs it, the
    // second one's does not.
    let (side, _, _) = sealed
        .iter()
        .find(|(_, a, b)| *a > seq_of(&s.b1) && *b <= seq_of(&s.b2))
        .cloned()
        .expect("a sealed segment between the backups");
    flipped(&copy_key(&side), &|name| {
        let verify = |b: &serde_json::Value| {
            repo.cmd(&["backup", "verify", b["id"].as_str().unwrap()])
                .output()
                .unwrap()
        };
        let out = verify(&s.b1);
        assert_exit(&out, 4, "verify the first backup");
        assert!(text(&out).contains(name), "{}", text(&out));
        assert_exit(&verify(&s.b2), 0, "verify the second backup");
    });
}

fn one_archiver_per_history_and_disable_turns_the_hold_off(repo: &TestRepo, tmp: &Path) {
    let data = tmp.join("data");
    let mut log = Log {
        writes: Vec::new(),
        instants: Vec::new(),
    };
    round(&data, &mut log, 0, 50);
    let mut follow = repo.spawn(&[
        "wal",
        "archive",
        "--follow",
        "--data",
        data.to_str().unwrap(),
    ]);
    // Wait for it to hold the lock (it has written the status file by then).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !data.join("ARCHIVE_STATUS").exists() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = archive_in(repo, &data);
    assert_exit(&out, 11, "second archiver of the same history");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wal archive (pid"),
        "names the running archiver: {}",
        text(&out)
    );
    std::process::Command::new("kill")
        .args(["-INT", &follow.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(follow.wait().unwrap().code(), Some(0));
    // A damaged status file: `verify` warns (the engine keeps everything meanwhile), and
    // the next run rewrites it, saying so.
    fs::write(
        data.join("ARCHIVE_STATUS"),
        b"drkit-archive-status 1\nrepo xx\n",
    )
    .unwrap();
    let verify = || drkit().arg("verify").arg(&data).output().unwrap();
    let out = verify();
    assert_exit(&out, 0, "verify with a damaged ARCHIVE_STATUS");
    assert!(text(&out).contains("ARCHIVE_STATUS"), "{}", text(&out));
    let out = archive_in(repo, &data);
    assert_exit(&out, 0, "wal archive over a damaged status");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unreadable"),
        "{}",
        text(&out)
    );
    assert!(!text(&verify()).contains("ARCHIVE_STATUS"));
    let out = repo
        .cmd(&["wal", "archive", "--disable", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "disable");
    assert!(!data.join("ARCHIVE_STATUS").exists());
}

/// A one-shot `wal archive` (from cron) copies the growing segment up to its last complete
/// entry, so the write a client got an answer for a moment ago is restorable without
/// `--follow`.
fn a_one_shot_archive_of_a_running_engine_holds_the_write_made_a_moment_before(
    repo: &TestRepo,
    tmp: &Path,
) {
    let data = tmp.join("data");
    let e = always_synced(&data);
    assert_exit(
        &archive_in(repo, &data),
        0,
        "wal archive (turns archiving on)",
    );
    backup_in(repo, &data);
    let mut last = 0;
    for i in 0..50 {
        last = e
            .put(format!("k{i}").as_bytes(), format!("v{i}").as_bytes())
            .unwrap();
    }
    // The segment is far from full: it is still the growing one.
    let out = archive_in(repo, &data);
    assert_exit(&out, 0, "one-shot wal archive of a running engine");
    let r = json_report(&out.stdout);
    let growing = r["report"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "partial")
        .unwrap_or_else(|| panic!("the growing segment was not archived: {r}"))
        .clone();
    assert_eq!(growing["last_seq"], last, "{r}");

    let target = tmp.join("restored");
    let out = restore_in(repo, &target, &["--to-seq", &last.to_string()]);
    assert_exit(&out, 0, "restore to the last write");
    drop(e);
    let restored = Engine::open(&target, Options::default()).unwrap();
    assert_eq!(restored.get(b"k49").unwrap().as_deref(), Some(&b"v49"[..]));
}

/// With no WAL archive at all, a target between two backups is reached through the WAL the
/// later backup holds: the recoverable window covers every entry the repository holds.
fn a_target_between_two_backups_restores_exactly_from_the_wal_the_later_one_holds(
    repo: &TestRepo,
    tmp: &Path,
) {
    let data = tmp.join("data");
    let e = always_synced(&data);
    let mut expected = BTreeMap::new();
    let put = |i: u32, round: u32| {
        let (k, v) = (format!("k{i:04}"), format!("v{i}-{round}"));
        e.put(k.as_bytes(), v.as_bytes()).unwrap();
        (
            drkit::format::record::plain_key(k.as_bytes()),
            v.into_bytes(),
        )
    };
    for i in 0..100 {
        let (k, v) = put(i, 0);
        expected.insert(k, v);
    }
    let b1 = backup_in(repo, &data);
    // Overwrites and new keys, then the target, then more that must not be restored.
    for i in 50..150 {
        let (k, v) = put(i, 1);
        expected.insert(k, v);
    }
    std::thread::sleep(Duration::from_millis(5));
    let target = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    std::thread::sleep(Duration::from_millis(5));
    for i in 100..200 {
        put(i, 2);
    }
    let out = repo
        .cmd(&["backup", "create", "--type", "incr", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "incremental backup");
    let b2 = json_report(&out.stdout)["backup"].clone();
    assert!(archive_keys(repo).is_empty(), "no WAL was archived");

    let restored = tmp.join("restored");
    let out = restore_in(repo, &restored, &["--to-time", &target, "--dry-run"]);
    assert_exit(&out, 0, "dry run to a time between the backups");
    let plan = json_report(&out.stdout);
    assert_eq!(plan["plan"]["backup_id"], b1["id"], "{plan}");
    let held: Vec<&str> = plan["plan"]["pitr"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["held_by"].as_str())
        .collect();
    assert_eq!(held, [b2["id"].as_str().unwrap()], "{plan}");
    let human = repo
        .cmd(&["restore", "--dry-run", "--to-time", &target, "--target"])
        .arg(&restored)
        .output()
        .unwrap();
    assert!(
        text(&human).contains(&format!("from backup {}", b2["id"].as_str().unwrap())),
        "{}",
        text(&human)
    );

    let out = restore_in(repo, &restored, &["--to-time", &target]);
    assert_exit(&out, 0, "restore to a time between the backups");
    drop(e);
    let want: Vec<(Vec<u8>, Vec<u8>)> = expected.into_iter().collect();
    assert!(full_scan(&restored) == want, "the restored state differs");
}

/// An engine on `data` that fsyncs every write before answering it, as `serve --sync always`.
fn always_synced(data: &Path) -> Engine {
    Engine::open(
        data,
        Options {
            sync: SyncPolicy::Always,
            ..Options::default()
        },
    )
    .unwrap()
}
