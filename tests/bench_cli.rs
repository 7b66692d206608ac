//! `bench backup`, `bench restore` and `bench cluster` through the real binary on a tiny
//! dataset: the JSON reports hold sane, consistent fields, kept dirs are reused, scratch dirs
//! are removed.

use std::fs;

use super::common::*;

fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = drkit().args(args).output().unwrap();
    assert_exit(&out, 0, &args.join(" "));
    json_report(&out.stdout)
}

fn number(v: &serde_json::Value, field: &str) -> f64 {
    v["report"][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} missing: {v}"))
}

#[test]
fn bench_backup_and_restore_json_report_sane_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let repo = tmp.path().join("repo");
    let (data_s, repo_s) = (data.to_str().unwrap(), repo.to_str().unwrap());

    let b = bench_json(&[
        "bench",
        "backup",
        "--json",
        "--size-mb",
        "1",
        "--threads",
        "1",
        "--data",
        data_s,
        "--repo",
        repo_s,
    ]);
    assert_eq!(b["type"], "bench-backup");
    assert_eq!(b["schema"], 1);
    let bytes = number(&b, "bytes");
    let stored = number(&b, "stored_bytes");
    assert!(bytes >= 1e6, "{b}");
    assert!(
        stored > 0.0 && stored < bytes,
        "exchange records compress: {b}"
    );
    assert!((number(&b, "compression_ratio") - bytes / stored).abs() < 1e-6);
    let seconds = number(&b, "seconds");
    assert!(seconds > 0.0);
    assert!((number(&b, "mb_per_sec") - bytes / 1e6 / seconds).abs() < 1e-3);
    assert_eq!(number(&b, "threads"), 1.0);
    assert!(
        number(&b, "copy_ms") >= 0.0 && b["report"]["digest_ms"].is_null(),
        "{b}"
    );
    assert!(number(&b, "build_seconds") > 0.0, "the data dir was built");
    assert!(data.join("CURRENT").is_file(), "a given --data is kept");

    let r = bench_json(&["bench", "restore", "--json", "--repo", repo_s]);
    assert_eq!(r["type"], "bench-restore");
    assert_eq!(r["report"]["backup_id"], b["report"]["backup_id"]);
    assert_eq!(number(&r, "bytes"), bytes);
    assert_eq!(number(&r, "stored_bytes"), stored);
    assert_eq!(
        number(&r, "build_seconds"),
        0.0,
        "the backup in --repo is reused"
    );
    assert!(number(&r, "seconds") > 0.0 && number(&r, "mb_per_sec") > 0.0);
    assert!(r["report"]["copy_ms"].is_null());
    let mut left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["data", "repo"], "the restored copy is removed");

    // Reusing the data dir: nothing is built, another backup is added.
    let again = bench_json(&[
        "bench", "backup", "--json", "--data", data_s, "--repo", repo_s,
    ]);
    assert_eq!(number(&again, "build_seconds"), 0.0);
    assert_eq!(number(&again, "bytes"), bytes);
    assert_ne!(again["report"]["backup_id"], b["report"]["backup_id"]);
}

#[test]
fn bench_restore_of_random_values_and_build_only() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let repo_s = repo.to_str().unwrap();
    let out = drkit()
        .args([
            "bench",
            "restore",
            "--build-only",
            "--size-mb",
            "1",
            "--value-size",
            "3000",
        ])
        .args(["--repo", repo_s])
        .output()
        .unwrap();
    assert_exit(&out, 0, "restore --build-only");
    assert!(repo.join("repo.json").is_file());
    let r = bench_json(&[
        "bench",
        "restore",
        "--json",
        "--threads",
        "2",
        "--repo",
        repo_s,
    ]);
    assert!(number(&r, "bytes") >= 1e6);
    let ratio = number(&r, "compression_ratio");
    assert!(
        ratio > 0.9 && ratio < 1.1,
        "random values do not compress: {r}"
    );

    let out = drkit()
        .args(["bench", "backup", "--build-only"])
        .output()
        .unwrap();
    assert_exit(&out, 1, "--build-only without --data");
    assert!(text(&out).contains("--data"), "{}", text(&out));
}

#[test]
fn bench_cluster_reports_throughput_lag_and_failover() {
    let v = bench_json(&[
        "bench",
        "cluster",
        "--json",
        "--timing",
        "fast",
        "--writes",
        "300",
        "--writers",
        "4",
        "--lag-rates",
        "200",
        "--lag-seconds",
        "0.5",
        "--archive-rate",
        "200",
        "--failovers",
        "1",
        "--compaction-mb",
        "4",
    ]);
    assert_eq!(v["type"], "bench-cluster", "{v}");
    // Every acknowledged write of the archive run reached the archive.
    let a = &v["report"]["archive_lag"];
    assert!(a["samples"].as_u64().unwrap() >= 90, "{v}");
    assert!(a["p50_ms"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(v["report"]["archive_poll_ms"], 100, "{v}");
    let setups: Vec<&str> = v["report"]["throughput"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["setup"].as_str().unwrap())
        .collect();
    assert_eq!(setups.len(), 4, "{v}");
    assert!(setups[2].contains("1 x16 pipelined"), "{v}");
    assert!(number(&v, "throughput_ratio") > 0.0, "{v}");
    assert!(number(&v, "pipelined_ratio") > 0.0, "{v}");
    // The heartbeat gaps at the followers, idle and while every node compacts.
    let beats = v["report"]["heartbeats"].as_array().unwrap();
    assert_eq!(beats.len(), 2, "{v}");
    assert_eq!(beats[1]["phase"], "compacting", "{v}");
    for b in beats {
        assert!(b["samples"].as_u64().unwrap() >= 2, "{v}");
        assert!(
            b["p50_ms"].as_f64().unwrap() <= b["max_ms"].as_f64().unwrap(),
            "{v}"
        );
    }
    // The cost beside the ratio: fsyncs per write on the one node and on each of three (a
    // write is fsynced at least on a majority; group commit keeps it at most one each).
    let rows = v["report"]["throughput"].as_array().unwrap();
    let fsyncs: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            r["fsyncs_per_write"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_f64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(fsyncs[0].len(), 1, "{v}");
    assert_eq!(fsyncs[1].len(), 3, "{v}");
    assert_eq!(fsyncs[3].len(), 3, "{v}");
    assert!(fsyncs[1].iter().filter(|f| **f > 0.0).count() >= 2, "{v}");
    assert!(fsyncs.iter().flatten().all(|f| *f <= 1.5), "{v}");
    assert!(rows[1]["cpu_us_per_write"].as_f64().unwrap() > 0.0, "{v}");
    let lag = &v["report"]["lag"][0];
    assert_eq!(lag["target_per_sec"], 200, "{v}");
    // Each of the two followers applied every acknowledged write.
    assert!(lag["samples"].as_u64().unwrap() >= 180, "{v}");
    assert!(lag["p50_ms"].as_f64().unwrap() <= lag["p99_ms"].as_f64().unwrap());
    let f = &v["report"]["failover"][0];
    assert!(f["to_new_leader_ms"].as_f64().unwrap() > 0.0, "{v}");
    assert!(
        f["to_first_write_ms"].as_f64().unwrap() >= f["to_new_leader_ms"].as_f64().unwrap(),
        "{v}"
    );
    // The lag run's bad input is refused with one line.
    let out = drkit()
        .args(["bench", "cluster", "--lag-rates", "0"])
        .output()
        .unwrap();
    assert_exit(&out, 2, "bench cluster --lag-rates 0");
}

#[test]
fn bench_restore_as_cluster_nodes_reports_both_medians_and_their_ratio() {
    let v = bench_json(&[
        "bench",
        "restore",
        "--json",
        "--size-mb",
        "2",
        "--cluster-nodes",
        "3",
        "--pairs",
        "2",
    ]);
    assert_eq!(v["type"], "bench-restore-cluster", "{v}");
    let r = &v["report"];
    assert_eq!(r["standalone_seconds"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(r["node_seconds"].as_array().unwrap().len(), 6, "{v}");
    // The backup restored is a cluster node's (its committed state exported).
    assert_eq!(r["cluster_id"].as_str().map(str::len), Some(32), "{v}");
    assert!(number(&v, "ratio") > 0.0, "{v}");
}
