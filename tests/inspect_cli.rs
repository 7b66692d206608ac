//! `drkit inspect wal|sst|manifest|dir`: rows and JSON lines, filters, how a log ends (clean,
//! torn tail, damage, missing segment) at the right offsets, damaged SSTs and manifests, a
//! dir left by a SIGKILLed engine, and that no inspect command changes a byte or an mtime.

use super::common::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use drkit::bench::Op;
use drkit::engine::{Engine, Options, SyncPolicy};
use drkit::format::manifest;
use drkit::format::wal::{self, Event};

const TIMEOUT: Duration = Duration::from_secs(20);
const SEED: u64 = 7;

fn opts() -> Options {
    Options {
        // The engine syncs the WAL when dropped; per-write fsyncs only slow the tests.
        sync: SyncPolicy::Never,
        background_work: false,
        // Small segments: several per dir, each spanning more than one 32 KiB block.
        wal_segment_bytes: 40 << 10,
        // Keep flushed segments so the WAL holds the whole history.
        keep_wal: true,
        ..Options::default()
    }
}

/// Writes `n` exchange records (orders, trades, accounts), flushing after each count in
/// `flush_at`. Returns the ops written.
fn build(dir: &Path, n: u64, flush_at: &[u64]) -> Vec<Op> {
    let ops = drkit::bench::ops(SEED, 0, n);
    let engine = Engine::open(dir, opts()).unwrap();
    for (i, op) in ops.iter().enumerate() {
        op.apply(&engine).unwrap();
        if flush_at.contains(&(i as u64 + 1)) {
            engine.flush().unwrap();
        }
    }
    drop(engine);
    ops
}

fn inspect(args: &[&str], path: &Path, extra: &[&str]) -> Output {
    drkit()
        .arg("inspect")
        .args(args)
        .arg(path)
        .args(extra)
        .timeout(TIMEOUT)
        .output()
        .unwrap()
}

/// Every JSON line of stdout; each must carry schema 1 and a type.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", text(out)));
            assert_eq!(v["schema"], 1, "{v}");
            assert!(v["type"].is_string(), "{v}");
            v
        })
        .collect()
}

fn of_type<'a>(lines: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

/// The last line, which must be the summary.
fn summary(lines: &[serde_json::Value]) -> &serde_json::Value {
    let last = lines.last().expect("some output");
    assert_eq!(last["type"], "summary", "{last}");
    last
}

/// (offset, seq, entry type) of every complete entry of a segment, read with the library.
fn entry_offsets(seg: &Path) -> Vec<(u64, u64, &'static str)> {
    let bytes = fs::read(seg).unwrap();
    let mut v = Vec::new();
    wal::scan(&bytes, |ev| {
        if let Event::Entry { offset, entry } = ev {
            v.push((offset, entry.seq, entry.kind.name()));
        }
        true
    });
    v
}

fn ssts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn current_manifest(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(dir.join("CURRENT")).unwrap();
    let name = text.lines().find(|l| l.starts_with("MANIFEST-")).unwrap();
    dir.join(name)
}

fn flip(path: &Path, at: u64) {
    let mut b = fs::read(path).unwrap();
    b[at as usize] ^= 0x20;
    fs::write(path, b).unwrap();
}

fn truncate(path: &Path, len: u64) {
    let f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len).unwrap();
}

/// Cuts the last WAL segment in the middle of its last entry, as a SIGKILL during a write
/// leaves it. Returns the segment and the offset of the cut entry.
fn tear_last_segment(dir: &Path) -> (PathBuf, u64) {
    let seg = segments(dir).pop().unwrap();
    let (last, _, _) = *entry_offsets(&seg).last().unwrap();
    truncate(&seg, last + 12);
    (seg, last)
}

fn type_name(op: &Op) -> &'static str {
    match op {
        Op::Order(_) => "order",
        Op::Trade(_) => "trade",
        Op::Account(_) => "account",
        Op::Put { .. } => "put",
    }
}

#[test]
fn wal_dump_rows_filters_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ops = build(dir, 900, &[400]);
    let segs = segments(dir);
    assert!(segs.len() >= 3, "want several segments: {segs:?}");
    let all: Vec<(u64, u64, &str)> = segs.iter().flat_map(|s| entry_offsets(s)).collect();

    // Everything: one entry line per entry, in log order, then a clean summary.
    let out = inspect(&["wal"], dir, &["--json"]);
    assert_exit(&out, 0, "inspect wal --json");
    let lines = json_lines(&out);
    let entries = of_type(&lines, "entry");
    assert_eq!(entries.len(), all.len());
    for (e, (offset, seq, kind)) in entries.iter().zip(&all) {
        assert_eq!(
            (e["offset"].as_u64(), e["seq"].as_u64()),
            (Some(*offset), Some(*seq))
        );
        assert_eq!(e["entry_type"], *kind);
        assert!(e["time"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    let s = summary(&lines);
    assert_eq!(s["end"], "clean", "{s}");
    assert_eq!(s["entries"].as_u64(), Some(all.len() as u64));
    assert_eq!(s["segments"].as_array().unwrap().len(), segs.len());
    assert_eq!(s["checkpoint_seq"], 400);
    assert_eq!(s["first_seq"], 1);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["entry_type"] == "checkpoint")
            .map(|e| e["summary"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["checkpoint 400"]
    );
    assert_eq!(
        entries.iter().filter(|e| e["entry_type"] == "seal").count(),
        segs.len() - 1,
        "every segment but the last is sealed"
    );

    // --type trade: only trades, all of them, with price and volume in the summary.
    let trades = ops.iter().filter(|o| type_name(o) == "trade").count();
    let out = inspect(&["wal"], dir, &["--json", "--type", "trade"]);
    assert_exit(&out, 0, "--type trade");
    let lines = json_lines(&out);
    let rows = of_type(&lines, "entry");
    assert_eq!(rows.len(), trades);
    assert!(rows.iter().all(|e| e["entry_type"] == "trade"));
    assert!(rows[0]["value"]["price"].is_number(), "{}", rows[0]);
    assert_eq!(summary(&lines)["shown"].as_u64(), Some(trades as u64));

    // Repeated and comma-separated types.
    let want = ops
        .iter()
        .filter(|o| matches!(type_name(o), "order" | "account"))
        .count()
        + 1;
    let out = inspect(
        &["wal"],
        dir,
        &["--json", "--type", "order,account", "--type", "checkpoint"],
    );
    assert_eq!(of_type(&json_lines(&out), "entry").len(), want);

    // Sequence bounds are inclusive (a seal repeats its segment's last sequence).
    let out = inspect(
        &["wal"],
        dir,
        &["--json", "--from-seq", "100", "--to-seq", "199"],
    );
    let lines = json_lines(&out);
    let seqs: Vec<u64> = of_type(&lines, "entry")
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.iter().all(|s| (100..=199).contains(s)), "{seqs:?}");
    let mut distinct = seqs.clone();
    distinct.dedup();
    assert_eq!(distinct, (100..=199).collect::<Vec<_>>());

    // --limit: rows stop, the summary still covers the whole log.
    let out = inspect(&["wal"], dir, &["--json", "--limit", "7", "--hex"]);
    let lines = json_lines(&out);
    let rows = of_type(&lines, "entry");
    assert_eq!(rows.len(), 7);
    assert!(
        rows[0]["hex"]
            .as_str()
            .unwrap()
            .starts_with("0x0100000000000000")
    );
    // The stored key and value are the encoded entry's last bytes, key first.
    for row in &rows {
        let (k, v) = (
            row["key_hex"].as_str().unwrap(),
            row["value_hex"].as_str().unwrap(),
        );
        assert!(k.len() > 2 && v.len() > 2, "{row}");
        let tail = format!("{}{}", &k[2..], &v[2..]);
        assert!(row["hex"].as_str().unwrap().ends_with(&tail), "{row}");
    }
    assert_eq!(summary(&lines)["entries"].as_u64(), Some(all.len() as u64));

    // --key-prefix in the get/scan key syntax: `order:` is every order.
    let orders = ops.iter().filter(|o| type_name(o) == "order").count();
    let out = inspect(&["wal"], dir, &["--json", "--key-prefix", "order:"]);
    let rows_json = json_lines(&out);
    let rows = of_type(&rows_json, "entry");
    assert_eq!(rows.len(), orders);
    assert!(rows.iter().all(|e| e["entry_type"] == "order"));

    // --since/--until select on the entry time, inclusive (given to the nanosecond here:
    // the entries are written faster than the printed milliseconds tell apart).
    let ns = |e: &serde_json::Value| e["timestamp_ns"].as_i64().unwrap();
    let rfc = |ns: i64| {
        chrono::DateTime::from_timestamp_nanos(ns)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    };
    let (t0, t1) = (ns(entries[100]), ns(entries[200]));
    let out = inspect(
        &["wal"],
        dir,
        &["--json", "--since", &rfc(t0), "--until", &rfc(t1)],
    );
    let lines = json_lines(&out);
    let rows = of_type(&lines, "entry");
    let want = entries
        .iter()
        .filter(|e| (t0..=t1).contains(&ns(e)))
        .count();
    assert!(want >= 101, "{want}");
    assert_eq!(rows.len(), want);
    assert!(rows.iter().all(|e| (t0..=t1).contains(&ns(e))));

    // Human mode: a header, one row per entry, the summary table.
    let out = inspect(&["wal"], dir, &["--type", "account", "--limit", "3"]);
    assert_exit(&out, 0, "human");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("SUMMARY"), "{stdout}");
    assert_eq!(stdout.matches(" account ").count(), 3, "{stdout}");
    assert!(stdout.contains("balance "), "{stdout}");
    assert!(stdout.contains("clean"), "{stdout}");

    // A bad time is a usage error.
    let out = inspect(&["wal"], dir, &["--since", "yesterday"]);
    assert_exit(&out, 2, "bad --since");
}

#[test]
fn wal_torn_tail_damage_and_missing_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 1300, &[]);
    let segs = segments(dir);
    assert!(segs.len() >= 4, "{segs:?}");

    // A torn tail: exit 0, classified at the offset of the cut entry, for the dir and the file.
    let (last, cut_at) = tear_last_segment(dir);
    let out = inspect(&["wal"], dir, &["--json"]);
    assert_exit(&out, 0, "torn tail (dir)");
    let lines = json_lines(&out);
    let want = format!("torn tail at offset {cut_at}");
    assert!(
        summary(&lines)["end"].as_str().unwrap().ends_with(&want),
        "{}",
        summary(&lines)
    );
    let damage = of_type(&lines, "damage");
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0]["kind"], "torn-tail");
    assert_eq!(damage[0]["offset"].as_u64(), Some(cut_at));
    let out = inspect(&["wal"], &last, &["--json"]);
    assert_exit(&out, 0, "torn tail (segment)");
    assert_eq!(summary(&json_lines(&out))["end"], want.as_str());
    let out = inspect(&["wal"], &last, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("DAMAGE") && stdout.contains("torn tail"),
        "{stdout}"
    );

    // A flipped byte inside synced data: exit 4 after every readable entry, at the offset of
    // the damaged entry; reading resumes at the next block.
    let victim = &segs[1];
    let offsets = entry_offsets(victim);
    let (at, _, _) = offsets[3];
    flip(victim, at + 20);
    let out = inspect(&["wal"], victim, &["--json"]);
    assert_exit(&out, 4, "damage (segment)");
    let lines = json_lines(&out);
    let s = summary(&lines);
    assert_eq!(
        s["end"].as_str().unwrap(),
        format!(
            "damage at offset {at} ({})",
            of_type(&lines, "damage")[0]["what"].as_str().unwrap()
        )
    );
    let after = offsets
        .iter()
        .filter(|(o, _, _)| *o >= wal::BLOCK_SIZE)
        .count();
    assert!(after > 0, "the segment spans more than one block");
    assert_eq!(of_type(&lines, "entry").len(), 3 + after);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("drkit: ")
            && stderr.contains(&victim.display().to_string())
            && stderr.contains(&format!("offset {at}")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = inspect(&["wal"], dir, &[]);
    assert_exit(&out, 4, "damage (dir)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("DAMAGE"), "{stdout}");
    assert!(
        stdout.contains(&format!("damage at offset {at}")),
        "{stdout}"
    );
    assert!(stdout.contains("torn tail at offset"), "{stdout}");

    // A missing segment: the gap is reported where the log resumes.
    fs::remove_file(&segs[2]).unwrap();
    let out = inspect(&["wal"], dir, &["--json"]);
    assert_exit(&out, 4, "missing segment");
    let lines = json_lines(&out);
    let gap = of_type(&lines, "damage")
        .into_iter()
        .find(|d| d["kind"] == "missing-entries" && d["file"] == segs[3].display().to_string())
        .cloned()
        .expect("a missing-entries row");
    assert_eq!(
        gap["offset"], 16,
        "the gap shows at the next segment's first entry"
    );
    assert!(
        summary(&lines)["end"]
            .as_str()
            .unwrap()
            .contains("missing segment"),
        "{}",
        summary(&lines)
    );
}

#[test]
fn sst_properties_blocks_keys_and_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 600, &[600]);
    let sst = ssts(dir).pop().unwrap();

    let out = inspect(&["sst"], &sst, &["--json", "--keys", "--blocks"]);
    assert_exit(&out, 0, "healthy sst");
    let lines = json_lines(&out);
    let props = of_type(&lines, "properties")[0].clone();
    assert_eq!(props["level"], 0);
    assert_eq!(props["min_seq"], 1);
    let entries = props["entries"].as_u64().unwrap();
    assert_eq!(of_type(&lines, "entry").len() as u64, entries);
    assert!(props["smallest"].as_str().unwrap().starts_with("account:"));
    let blocks = of_type(&lines, "block");
    assert!(blocks.iter().all(|b| b["checksum_ok"] == true));
    let data: Vec<&serde_json::Value> = blocks
        .iter()
        .copied()
        .filter(|b| b["kind"] == "data")
        .collect();
    assert!(data.len() >= 3, "want several data blocks");
    assert_eq!(data.len() as u64, props["data_blocks"].as_u64().unwrap());
    assert_eq!(summary(&lines)["damage"], serde_json::Value::Null);
    let out = inspect(&["sst"], &sst, &["--keys"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("order:") && stdout.contains(" value "),
        "{stdout}"
    );

    // A flipped byte in the second data block: its checksum fails at its offset, the other
    // blocks' entries are still dumped, exit 4 naming file and offset.
    let victim_at = data[1]["offset"].as_u64().unwrap();
    let victim_entries = data[1]["entries"].as_u64().unwrap();
    let damaged = tmp.path().join("damaged.sst");
    fs::copy(&sst, &damaged).unwrap();
    flip(&damaged, victim_at + 30);
    let out = inspect(&["sst"], &damaged, &["--json", "--blocks", "--keys"]);
    assert_exit(&out, 4, "flipped sst");
    let lines = json_lines(&out);
    let failed: Vec<u64> = of_type(&lines, "block")
        .iter()
        .filter(|b| b["checksum_ok"] == false)
        .map(|b| b["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(failed, vec![victim_at]);
    assert_eq!(
        of_type(&lines, "entry").len() as u64,
        entries - victim_entries
    );
    assert_eq!(
        of_type(&lines, "damage")[0]["offset"].as_u64(),
        Some(victim_at)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("damaged.sst") && stderr.contains(&format!("offset {victim_at}")),
        "{stderr}"
    );
    let out = inspect(&["sst"], &damaged, &["--blocks"]);
    assert_exit(&out, 4, "flipped sst, human");
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));

    // Truncated: the footer is gone; the size and the damage are all there is.
    let cut = tmp.path().join("cut.sst");
    fs::copy(&sst, &cut).unwrap();
    truncate(&cut, fs::metadata(&sst).unwrap().len() - 10);
    let out = inspect(&["sst"], &cut, &["--keys"]);
    assert_exit(&out, 4, "truncated sst");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut.sst at offset"), "{stderr}");

    // The wrong kind of file, and a missing one.
    let seg = segments(dir).remove(0);
    let out = inspect(&["sst"], &seg, &[]);
    assert_exit(&out, 4, "wal given to inspect sst");
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected SSTable"));
    let out = inspect(&["sst"], &sst, &[]);
    assert_exit(&out, 0, "sst given to inspect sst");
    let out = inspect(&["wal"], &sst, &[]);
    assert_exit(&out, 4, "sst given to inspect wal");
    let out = inspect(&["sst"], &dir.join("nope.sst"), &[]);
    assert_exit(&out, 10, "missing sst");
}

#[test]
fn manifest_edits_torn_tail_and_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 600, &[200, 400, 600]);
    let path = current_manifest(dir);
    let bytes = fs::read(&path).unwrap();
    let log = manifest::decode(&path, &bytes).unwrap();
    assert!(log.edits.len() >= 3, "{:?}", log.edits.len());

    let out = inspect(&["manifest"], dir, &["--json"]);
    assert_exit(&out, 0, "healthy manifest");
    let lines = json_lines(&out);
    let edits = of_type(&lines, "edit");
    assert_eq!(edits.len(), log.edits.len());
    for (e, (at, _)) in edits.iter().zip(&log.edits) {
        assert_eq!(e["offset"].as_u64(), Some(*at));
    }
    let added: Vec<String> = edits
        .iter()
        .flat_map(|e| e["added"].as_array().unwrap().clone())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let on_disk: Vec<String> = ssts(dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(added, on_disk);
    let s = summary(&lines);
    assert_eq!(s["current"].as_str(), path.file_name().unwrap().to_str());
    assert_eq!(
        s["state"]["flushed_seq"], 602,
        "three checkpoints take sequences too: {s}"
    );
    assert_eq!(s["torn_tail_at"], serde_json::Value::Null);
    let out = inspect(&["manifest"], dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("+ L0 sst_0_"), "{stdout}");

    // Cut inside the last record: a torn tail, noted, exit 0.
    let (last_at, _) = *log.edits.last().unwrap();
    let copy = tmp.path().join("MANIFEST-000099");
    fs::write(&copy, &bytes[..last_at as usize + 5]).unwrap();
    let out = inspect(&["manifest"], &copy, &["--json"]);
    assert_exit(&out, 0, "torn manifest");
    let lines = json_lines(&out);
    assert_eq!(summary(&lines)["torn_tail_at"].as_u64(), Some(last_at));
    assert_eq!(of_type(&lines, "edit").len(), log.edits.len() - 1);

    // A flipped byte in the second record with records after it: the first edit, then the
    // damage at the second record's offset, exit 4.
    let (second_at, _) = log.edits[1];
    let mut flipped = bytes.clone();
    flipped[second_at as usize + 9] ^= 0x01;
    fs::write(&copy, &flipped).unwrap();
    let out = inspect(&["manifest"], &copy, &["--json"]);
    assert_exit(&out, 4, "flipped manifest");
    let lines = json_lines(&out);
    assert_eq!(of_type(&lines, "edit").len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MANIFEST-000099") && stderr.contains(&format!("offset {second_at}")),
        "{stderr}"
    );

    // The same damage in the live manifest, through the dir.
    fs::write(&path, &flipped).unwrap();
    let out = inspect(&["manifest"], dir, &[]);
    assert_exit(&out, 4, "flipped manifest (dir)");
    let out = inspect(&["dir"], dir, &[]);
    assert_exit(&out, 4, "inspect dir with a damaged manifest");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("WAL segment"),
        "the WAL is still shown"
    );
}

#[test]
fn dir_levels_wal_and_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 600, &[200, 400]);
    {
        // Push the two L0 tables down, then flush once more: files on two levels.
        let engine = Engine::open(dir, opts()).unwrap();
        engine.compact_all().unwrap();
        for op in drkit::bench::ops(SEED + 1, 0, 100) {
            op.apply(&engine).unwrap();
        }
        engine.flush().unwrap();
    }
    fs::create_dir(dir.join("snapshots")).unwrap();
    fs::write(
        dir.join("snapshots/snapshot_00000000000000000042.snap"),
        b"not yet a format",
    )
    .unwrap();

    let out = inspect(&["dir"], dir, &["--json"]);
    assert_exit(&out, 0, "inspect dir");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let r = summary(&lines);
    let levels = r["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 7);
    let files: Vec<u64> = levels
        .iter()
        .map(|l| l["files"].as_u64().unwrap())
        .collect();
    assert_eq!(
        files.iter().sum::<u64>() as usize,
        ssts(dir).len(),
        "{files:?}"
    );
    assert_eq!(files[0], 1, "{files:?}");
    let deepest = files.iter().rposition(|f| *f > 0).unwrap();
    assert!(deepest > 0, "{files:?}");
    let bytes: Vec<u64> = levels
        .iter()
        .map(|l| l["bytes"].as_u64().unwrap())
        .collect();
    let amp = r["space_amplification"].as_f64().unwrap();
    let want = bytes.iter().sum::<u64>() as f64 / bytes[deepest] as f64;
    assert!((amp - want).abs() < 1e-9, "{amp} vs {want}");
    assert_eq!(
        r["wal_segments"].as_array().unwrap().len(),
        segments(dir).len()
    );
    assert_eq!(r["wal_end"], "clean");
    assert_eq!(r["history_id"].as_str().unwrap().len(), 32);
    assert_eq!(
        r["snapshots"][0]["name"],
        "snapshot_00000000000000000042.snap"
    );
    assert!(r["checkpoint_seq"].as_u64().unwrap() > 0);

    let out = inspect(&["dir"], dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "L0",
        "L6",
        "space amplification",
        "WAL segment",
        "snapshot_",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }

    // A table the manifest lists but that is gone: exit 4 naming it.
    let gone = ssts(dir).remove(0);
    fs::remove_file(&gone).unwrap();
    let out = inspect(&["dir"], dir, &[]);
    assert_exit(&out, 4, "missing sst");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&gone.display().to_string()));

    let out = inspect(&["dir"], &dir.join("nope"), &[]);
    assert_exit(&out, 10, "missing dir");
    let out = inspect(&["manifest"], &dir.join("nope"), &[]);
    assert_exit(&out, 10, "missing dir (manifest)");
    let out = inspect(&["wal"], &dir.join("nope"), &[]);
    assert_exit(&out, 10, "missing dir (wal)");
}

/// Every inspect command on `dir`, with each output flag. Returns their exit codes.
fn every_command(dir: &Path) -> Vec<(String, Option<i32>)> {
    let mut runs: Vec<(Vec<&str>, PathBuf, Vec<&str>)> = vec![
        (vec!["wal"], dir.to_path_buf(), vec![]),
        (vec!["wal"], dir.to_path_buf(), vec!["--json", "--hex"]),
        (vec!["manifest"], dir.to_path_buf(), vec![]),
        (vec!["manifest"], dir.to_path_buf(), vec!["--json"]),
        (vec!["dir"], dir.to_path_buf(), vec![]),
        (vec!["dir"], dir.to_path_buf(), vec!["--json"]),
    ];
    for seg in segments(dir) {
        runs.push((vec!["wal"], seg, vec![]));
    }
    for sst in ssts(dir) {
        runs.push((vec!["sst"], sst.clone(), vec!["--keys", "--blocks"]));
        runs.push((vec!["sst"], sst, vec!["--json", "--keys", "--blocks"]));
    }
    runs.into_iter()
        .map(|(cmd, path, extra)| {
            let out = inspect(&cmd, &path, &extra);
            assert!(
                !String::from_utf8_lossy(&out.stderr).contains("panicked"),
                "{}",
                text(&out)
            );
            (
                format!("{cmd:?} {} {extra:?}", path.display()),
                out.status.code(),
            )
        })
        .collect()
}

#[test]
fn sigkill_like_dir_every_command_works() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 500, &[250]);
    assert!(dir.join("LOCK").exists(), "a killed engine leaves its LOCK");
    let (_, cut_at) = tear_last_segment(dir);
    for (what, code) in every_command(dir) {
        assert_eq!(code, Some(0), "{what}");
    }
    let out = inspect(&["dir"], dir, &["--json"]);
    let r = &json_lines(&out)[0];
    assert!(
        r["wal_end"]
            .as_str()
            .unwrap()
            .ends_with(&format!("torn tail at offset {cut_at}")),
        "{r}"
    );
}

/// (content, mtime) of every file and dir under `dir`, LOCK included.

#[test]
fn inspect_changes_no_byte_and_no_mtime() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 500, &[250]);
    let check = |what: &str| {
        let before = dir_state(dir);
        assert!(before.contains_key(&dir.join("LOCK")));
        // Coarse mtime clocks would hide a write made within the same tick: wait one out.
        std::thread::sleep(Duration::from_millis(20));
        let codes = every_command(dir);
        assert!(codes.len() > 8, "{codes:?}");
        let after = dir_state(dir);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{what}: files appeared or vanished"
        );
        for (path, was) in &before {
            assert!(after[path] == *was, "{what}: {} changed", path.display());
        }
    };
    check("healthy dir");
    tear_last_segment(dir);
    check("torn dir");
    flip(&segments(dir)[0], 100);
    check("damaged dir");
}

/// After a crash the active segment is still at its preallocated length: inspect says how
/// much of it is records, in the tables and the JSON, and calls the zeros a clean end.
#[test]
fn a_preallocated_segment_shows_its_records_apart_from_its_length() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 300, &[]);
    let last = segments(dir).pop().unwrap();
    let records = fs::metadata(&last).unwrap().len();
    // As a SIGKILL leaves it: the records, then zeros to the preallocated size.
    fs::OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(records + (1 << 20))
        .unwrap();

    let out = inspect(&["dir"], dir, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let s = summary(&json_lines(&out)).clone();
    let seg = s["wal_segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["path"].as_str() == last.to_str())
        .unwrap()
        .clone();
    assert_eq!(seg["records_bytes"].as_u64(), Some(records), "{seg}");
    assert_eq!(seg["bytes"].as_u64(), Some(records + (1 << 20)), "{seg}");
    assert_eq!(seg["end"].as_str(), Some("clean"), "{seg}");

    let out = inspect(&["dir"], dir, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("of records; clean"), "{text}");
    let out = inspect(&["wal"], &last, &["--json"]);
    let s = summary(&json_lines(&out)).clone();
    assert_eq!(
        s["segments"][0]["records_bytes"].as_u64(),
        Some(records),
        "{s}"
    );
}
