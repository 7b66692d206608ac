//! `drkit doctor` through the real binary, each situation built for real: a healthy setup,
//! a late full backup (a later clock), an archive gap (a segment removed from the
//! repository), archiving stopped while writes go on (the RPO grows past --max-rpo), a
//! damaged table found by --deep, a cluster node's dir; the Prometheus file parsed by the
//! `prometheus_client` package's parser; and doctor never changing a byte of what it reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use drkit::engine::{Engine, Options, SyncPolicy};

use super::common::*;
use super::s3_server::S3Server;
use super::test_repo::TestRepo;
use crate::on_both_kinds;

on_both_kinds!(a_healthy_setup_exits_0_with_its_window_and_changes_nothing);

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

/// Writes `n` puts to the dir (created if new) and closes it.
fn write(dir: &Path, from: u32, n: u32) {
    let e = Engine::open(dir, small_opts()).unwrap();
    for i in from..from + n {
        e.put(
            format!("key{i:05}").as_bytes(),
            format!("value {i} ").repeat(8).as_bytes(),
        )
        .unwrap();
    }
    drop(e);
}

/// A dir with a full backup and every segment archived.
fn setup(repo: &TestRepo, tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    write(&data, 0, 300);
    // Archiving on first: from then on the engine keeps every segment until it is archived.
    archive(repo, &data);
    let out = repo
        .cmd(&["backup", "create", "-q", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "backup create");
    write(&data, 300, 300);
    archive(repo, &data);
    data
}

fn archive(repo: &TestRepo, data: &Path) {
    let out = repo
        .cmd(&["wal", "archive", "-q", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "wal archive");
}

fn doctor(
    repo: &TestRepo,
    data: &Path,
    extra: &[&str],
) -> (std::process::Output, serde_json::Value) {
    let out = repo
        .cmd(&["doctor", "--json", "--data"])
        .arg(data)
        .args(extra)
        .output()
        .unwrap();
    let doc = json_lines(&out)
        .into_iter()
        .find(|v| v["type"] == "doctor")
        .unwrap_or_else(|| panic!("no doctor document\n{}", text(&out)));
    (out, doc)
}

fn findings(doc: &serde_json::Value) -> Vec<String> {
    doc["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}: {}", f["concern"], f["place"], f["what"]))
        .collect()
}

fn a_healthy_setup_exits_0_with_its_window_and_changes_nothing(repo: &TestRepo, tmp: &Path) {
    let data = setup(repo, tmp);
    let data_before = dir_snapshot(&data);
    let repo_before = repo.keys_under("");
    let local_repo_before = repo.location.local_path().map(dir_snapshot);

    let (out, doc) = doctor(repo, &data, &["--deep", "--max-rpo", "1h"]);
    assert_exit(&out, 0, "doctor of a healthy setup");
    assert!(findings(&doc).is_empty(), "{:?}", findings(&doc));
    let report = &doc["report"];
    assert_eq!(report["data"]["cluster"], false);
    assert_eq!(report["data"]["log_end"], "clean", "{report}");
    assert!(report["data"]["deep_bytes_read"].as_u64().unwrap() > 0);
    // 600 puts, and the checkpoints the flushes logged.
    let last = report["data"]["last_seq"].as_u64().unwrap();
    assert!((600..700).contains(&last), "{report}");
    // The archive and the backup reach the dir's newest entry: nothing to lose.
    let reach = &report["window"]["reaches"][0];
    assert_eq!(reach["to_seq"].as_u64(), Some(last), "{report}");
    assert_eq!(report["rpo"]["entries"], 0);
    assert!(report["repo"]["newest_full"]["id"].is_string());

    // The human report names the window and the verdict.
    let human = repo.cmd(&["doctor", "--data"]).arg(&data).output().unwrap();
    assert_exit(&human, 0, "doctor, human");
    let t = text(&human);
    assert!(
        t.contains("recoverable window") && t.contains("verdict: all well"),
        "{t}"
    );

    assert_eq!(
        dir_snapshot(&data),
        data_before,
        "doctor changed the data dir"
    );
    assert_eq!(
        repo.keys_under(""),
        repo_before,
        "doctor changed the repository"
    );
    if let Some(path) = repo.location.local_path() {
        assert_eq!(Some(dir_snapshot(path)), local_repo_before);
    }
}

#[test]
fn a_full_backup_older_than_its_week_is_a_warning_exit_5() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = TestRepo::local(&tmp.path().join("repo"));
    let data = setup(&repo, tmp.path());
    let later = (chrono::Utc::now() + chrono::Duration::days(8)).to_rfc3339();
    let (out, doc) = doctor(&repo, &data, &["--now", &later]);
    assert_exit(&out, 5, "a late full backup");
    let f = findings(&doc).join("\n");
    assert!(f.contains("newest full backup ended 8d"), "{f}");
    assert!(f.contains("newest backup ended 8d"), "{f}");
    // One line on stderr even with -q, naming the fix.
    let quiet = repo
        .cmd(&["doctor", "-q", "--now", &later, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&quiet, 5, "quiet");
    assert!(quiet.stdout.is_empty());
    let err = String::from_utf8_lossy(&quiet.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("backup create") && err.contains("--type full"),
        "{err}"
    );
    // A day later than the backup only the incremental schedule is late.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(30)).to_rfc3339();
    let (out, doc) = doctor(&repo, &data, &["--now", &tomorrow]);
    assert_exit(&out, 5, "a late incremental backup");
    assert_eq!(findings(&doc).len(), 1, "{:?}", findings(&doc));
}

#[test]
fn a_segment_removed_from_the_archive_is_a_gap_exit_12() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("repo");
    let repo = TestRepo::local(&repo_dir);
    let data = setup(&repo, tmp.path());
    let (out, _) = doctor(&repo, &data, &[]);
    assert_exit(&out, 0, "before the gap");
    // A segment in the middle of what was archived after the backup, and its sidecar.
    let archived: Vec<String> = repo
        .keys_under("wal")
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.ends_with(".json") && !k.ends_with("LOCK"))
        .collect();
    assert!(archived.len() > 4, "{archived:?}");
    let victim = &archived[archived.len() - 3];
    let name = Path::new(victim).file_name().unwrap().to_str().unwrap();
    let stem = name.split('.').next().unwrap();
    for (key, _) in repo.keys_under("wal") {
        if key.contains(stem) {
            std::fs::remove_file(repo_dir.join(&key)).unwrap();
        }
    }
    let (out, doc) = doctor(&repo, &data, &[]);
    assert_exit(&out, 12, "an archive gap");
    let f = findings(&doc).join("\n");
    assert!(
        f.contains("uncovered") && f.contains("is in no archived segment"),
        "{f}"
    );
    assert_eq!(
        doc["report"]["archive"]["gaps"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn archiving_stopped_while_writes_go_on_grows_the_rpo_past_max_rpo() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = TestRepo::local(&tmp.path().join("repo"));
    let data = setup(&repo, tmp.path());
    // The archiver stops; the engine goes on writing a while later.
    std::thread::sleep(Duration::from_millis(1500));
    write(&data, 600, 200);
    let (out, doc) = doctor(&repo, &data, &[]);
    assert_exit(&out, 0, "no --max-rpo: reported only");
    let rpo = &doc["report"]["rpo"];
    // 200 puts, and the checkpoints of the flushes among them.
    let behind = rpo["entries"].as_u64().unwrap();
    assert!((200..240).contains(&behind), "{rpo}");
    assert!(rpo["seconds"].as_f64().unwrap() >= 1.4, "{rpo}");

    let (out, doc) = doctor(&repo, &data, &["--max-rpo", "1s"]);
    assert_exit(&out, 5, "behind --max-rpo");
    let f = findings(&doc).join("\n");
    assert!(
        f.contains(&format!("{behind} entries")) && f.contains("over --max-rpo"),
        "{f}"
    );
    // Archiving again catches up.
    archive(&repo, &data);
    let (out, doc) = doctor(&repo, &data, &["--max-rpo", "1s"]);
    assert_exit(&out, 0, "caught up");
    assert_eq!(doc["report"]["rpo"]["entries"], 0);
}

#[test]
fn a_damaged_table_is_found_by_deep_and_exits_4() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write(&data, 0, 2000);
    let sst = std::fs::read_dir(data.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&sst).unwrap();
    bytes[100] ^= 0x5a;
    std::fs::write(&sst, &bytes).unwrap();
    let before = dir_snapshot(&data);

    // Headers and footers are intact: the quick look finds nothing.
    let out = drkit()
        .args(["doctor", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "shallow");
    let out = drkit()
        .args(["doctor", "--deep", "--json", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 4, "deep");
    let doc = json_lines(&out)
        .into_iter()
        .find(|v| v["type"] == "doctor")
        .unwrap();
    let f = findings(&doc).join("\n");
    assert!(
        f.contains("damage") && f.contains(sst.file_name().unwrap().to_str().unwrap()),
        "{f}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("to fix:"));
    assert_eq!(dir_snapshot(&data), before, "doctor changed the data dir");
}

/// A crash while the engine created its next segment leaves it without a header (empty, or
/// zeros to its preallocated length): recovery's torn tail with no entry in it, not damage.
/// The same zeros in the middle of the log are damage.
#[test]
fn a_last_segment_without_its_header_is_a_torn_tail_not_damage() {
    for (case, torn) in [("empty", Vec::new()), ("zeroed", vec![0u8; 64 << 10])] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        write(&data, 0, 200);
        let mut segments: Vec<_> = std::fs::read_dir(data.join("wal"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        segments.sort();
        let last_name = segments.last().unwrap().file_name().unwrap().to_owned();
        let first: u64 = last_name.to_str().unwrap()[..20].parse().unwrap();
        let newest =
            drkit::engine::ReadOnly::open(&data, drkit::engine::RecoveryMode::TolerateTail)
                .unwrap()
                .wal_report()
                .max_seen_seq;
        assert!(newest >= first, "{case}");
        let created = data
            .join("wal")
            .join(drkit::format::wal::segment_name(newest + 1));
        std::fs::write(&created, &torn).unwrap();

        let out = drkit()
            .args(["doctor", "--json", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        assert_exit(&out, 0, case);
        let doc = json_lines(&out)
            .into_iter()
            .find(|v| v["type"] == "doctor")
            .unwrap();
        let d = &doc["report"]["data"];
        assert!(findings(&doc).is_empty(), "{case}: {:?}", findings(&doc));
        assert!(
            d["log_end"].as_str().unwrap().contains("no header yet"),
            "{case}: {d}"
        );
        assert_eq!(d["last_seq"], newest, "{case}: {d}");

        // The same file in the middle of the log: damage.
        std::fs::rename(
            &created,
            data.join("wal")
                .join(drkit::format::wal::segment_name(first - 1)),
        )
        .unwrap();
        let out = drkit()
            .args(["doctor", "--data"])
            .arg(&data)
            .output()
            .unwrap();
        assert_exit(&out, 4, case);
    }
}

#[test]
fn a_cluster_nodes_dir_is_checked_under_its_clusters_history() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = TestRepo::local(&tmp.path().join("repo"));
    let data = setup(&repo, tmp.path());
    let node = tmp.path().join("node1");
    let out = repo
        .cmd(&["restore", "-q", "--target"])
        .arg(&node)
        .args(["--node-id", "1", "--members", "1=127.0.0.1:1"])
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore as a cluster node");
    let before = dir_snapshot(&node);
    let (out, doc) = doctor(&repo, &node, &[]);
    let report = &doc["report"];
    assert_eq!(report["data"]["cluster"], true, "{report}");
    // Its archive history is the new cluster's id, not the backed-up dir's history.
    let (_, of_data) = doctor(&repo, &data, &[]);
    let history = report["data"]["history_id"].as_str().unwrap();
    assert_ne!(
        Some(history),
        of_data["report"]["data"]["history_id"].as_str()
    );
    // A new cluster has no backup of its own yet: nothing of it can be restored.
    assert_exit(&out, 12, "a new cluster without a backup");
    assert!(
        findings(&doc).join("\n").contains("no full backup"),
        "{:?}",
        findings(&doc)
    );
    assert_eq!(dir_snapshot(&node), before, "doctor changed the node's dir");
}

#[test]
fn the_prometheus_file_parses_with_prometheus_client() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = TestRepo::local(&tmp.path().join("repo"));
    let data = setup(&repo, tmp.path());
    let prom = tmp.path().join("drkit.prom");
    let out = repo
        .cmd(&["doctor", "-q", "--prometheus"])
        .arg(&prom)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_exit(&out, 0, "doctor --prometheus");
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        text(&out)
    );
    let parse = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys\n\
             from prometheus_client.parser import text_string_to_metric_families\n\
             for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
             \x20   for s in f.samples:\n\
             \x20       print(s.name, ','.join(f'{k}={v}' for k, v in sorted(s.labels.items())), float(s.value))\n",
        )
        .arg(&prom)
        .output()
        .unwrap();
    assert!(
        parse.status.success(),
        "prometheus_client refused it: {}",
        String::from_utf8_lossy(&parse.stderr)
    );
    let samples = String::from_utf8_lossy(&parse.stdout).to_string();
    for want in [
        "drkit_doctor_exit_code  0.0",
        "drkit_doctor_findings severity=error 0.0",
        "drkit_doctor_archive_lag_entries  0.0",
        "drkit_doctor_window_end_seq  6",
        "drkit_doctor_last_backup_timestamp_seconds type=full ",
    ] {
        assert!(samples.contains(want), "{want:?} not in\n{samples}");
    }
    assert!(
        !tmp.path().join("drkit.tmp").exists(),
        "the tmp file is left"
    );
}

#[test]
fn a_running_engines_dir_is_checked_without_its_lock_while_it_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = TestRepo::local(&tmp.path().join("repo"));
    let data = setup(&repo, tmp.path());
    let engine = Engine::open(&data, small_opts()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Asserted once the writer stopped: a failure inside the scope would leave it writing.
    let runs = std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 10_000u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                engine
                    .put(format!("live{i}").as_bytes(), &[b'v'; 200])
                    .unwrap();
                i += 1;
            }
        });
        let runs: Vec<_> = (0..5)
            .map(|_| {
                repo.cmd(&["doctor", "--json", "--deep", "--data"])
                    .arg(&data)
                    .output()
            })
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        runs
    });
    for out in runs {
        let out = out.unwrap();
        let doc = json_lines(&out)
            .into_iter()
            .find(|v| v["type"] == "doctor")
            .unwrap_or_else(|| panic!("no doctor document\n{}", text(&out)));
        // Flushes, compactions and new segments come and go under it: never damage.
        let f = findings(&doc).join("\n");
        assert!(!f.contains("damage"), "{f}\n{}", text(&out));
        assert!(matches!(out.status.code(), Some(0 | 5)), "{}", text(&out));
        assert!(doc["report"]["data"]["last_seq"].as_u64().unwrap() >= 600);
    }
    drop(engine);
}
