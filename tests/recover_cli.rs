//! `drkit recover DIR [--mode M] [--dry-run] [--json]`: outcomes, exit codes, what lands in
//! DIR/lost/, what reads back afterwards, and that refusals and dry runs change no byte.

use super::common::*;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use drkit::engine::{Engine, Options, SyncPolicy};
use drkit::format::record::plain_key;
use drkit::format::wal::{self, BLOCK_SIZE, Event};

const TIMEOUT: Duration = Duration::from_secs(30);

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:05}").into_bytes()
}

/// A deterministic value of `size` bytes for key `i`.
fn value(i: usize, size: usize) -> Vec<u8> {
    let seed = format!("value-{i:05}-");
    seed.bytes().cycle().take(size.max(seed.len())).collect()
}

fn build_opts() -> Options {
    Options {
        // The engine syncs the WAL when it is dropped; per-write fsyncs only slow the tests.
        sync: SyncPolicy::Never,
        background_work: false,
        ..Options::default()
    }
}

/// Writes `n` plain key/values of `size` bytes into a fresh data dir with `opts`.
fn build_with(dir: &Path, n: usize, size: usize, opts: Options) {
    let engine = Engine::open(dir, opts).unwrap();
    for i in 0..n {
        engine.put(&key(i), &value(i, size)).unwrap();
    }
    drop(engine);
}

fn build(dir: &Path, n: usize, size: usize) {
    build_with(dir, n, size, build_opts());
}

fn assert_unchanged(before: &BTreeMap<PathBuf, Option<Vec<u8>>>, dir: &Path, what: &str) {
    let after = dir_snapshot(dir);
    let names_before: Vec<&PathBuf> = before.keys().collect();
    let names_after: Vec<&PathBuf> = after.keys().collect();
    assert_eq!(
        names_before, names_after,
        "{what}: the set of files changed"
    );
    for (name, contents) in before {
        assert!(
            after[name] == *contents,
            "{what}: {} changed",
            name.display()
        );
    }
}

fn recover(dir: &Path, extra: &[&str]) -> Output {
    drkit()
        .arg("recover")
        .arg(dir)
        .args(extra)
        .timeout(TIMEOUT)
        .output()
        .unwrap()
}

/// The `report` object of a `--json` run: stdout must be exactly one JSON line.
fn json_report(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "--json prints one line:\n{}", text(out));
    let doc: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(doc["type"], "recovery", "{doc}");
    doc["report"].clone()
}

fn lost_files(dir: &Path) -> Vec<PathBuf> {
    match fs::read_dir(dir.join("lost")) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Opens the dir with the library (default mode) and reads `keys`.
fn read_back(dir: &Path, keys: &[usize], size: usize, present: bool) {
    let engine = Engine::open(
        dir,
        Options {
            create_if_missing: false,
            ..build_opts()
        },
    )
    .unwrap();
    for &i in keys {
        let got = engine.get(&key(i)).unwrap();
        if present {
            assert_eq!(
                got.as_deref(),
                Some(value(i, size).as_slice()),
                "key {i} must read back"
            );
        } else {
            assert_eq!(got, None, "key {i} must be gone");
        }
    }
}

fn only_segment(dir: &Path) -> PathBuf {
    let segs = segments(dir);
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs[0].clone()
}

/// The end-of-recovery flush failing (here: a dir stands where each table it could write must
/// go, as a full disk or a dying one would fail it) loses nothing: the error names the file,
/// the log still holds every replayed entry, and the next run replays and flushes them all.
#[test]
fn a_failed_end_of_recovery_flush_leaves_every_entry_in_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (n, size) = (300, 200);
    build(dir, n, size);
    let blockers: Vec<PathBuf> = (0..=64)
        .map(|no| {
            dir.join("sst")
                .join(drkit::format::manifest::sst_name(0, no))
        })
        .collect();
    for b in &blockers {
        fs::create_dir_all(b).unwrap();
    }

    let out = recover(dir, &[]);
    assert_exit(&out, 1, "recover with its flush failing");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sst_0_"),
        "the error names the table: {stderr}"
    );
    assert!(
        stderr.contains("nothing was lost") && stderr.contains("recover again"),
        "and says the entries are safe and what to do: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    for b in &blockers {
        fs::remove_dir(b).unwrap();
    }
    let out = recover(dir, &["--json"]);
    assert_exit(&out, 0, "recover once the flush can succeed");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "clean", "{r}");
    assert_eq!(r["replayed"], n, "every entry was still in the log: {r}");
    assert!(r["flushed"].as_f64().is_some(), "{r}");
    let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| (plain_key(&key(i)), value(i, size)))
        .collect();
    let mut got = full_scan(dir);
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got.len(), n);
    assert!(
        got == expected,
        "the recovered dir holds exactly what was written"
    );
}

#[test]
fn clean_dir_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 100, 64);

    let out = recover(dir, &[]);
    assert_exit(&out, 0, "recover clean");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("clean"), "{stdout}");
    assert!(lost_files(dir).is_empty());
    assert!(
        stdout.contains("ready") && stdout.contains("flushed"),
        "{stdout}"
    );
    // A second run: the first flushed what it replayed into SSTs, so only the checkpoint
    // entry that flush logged is left to replay, and the dir is still clean.
    let out = recover(dir, &["--json"]);
    assert_exit(&out, 0, "recover clean --json");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "clean", "{r}");
    assert_eq!(r["checkpoint_seq"], 100, "{r}");
    assert_eq!(r["replayed"], 1, "{r}");
    assert_eq!(r["dropped_entries"], 0, "{r}");
    assert!(r["findings"].as_array().unwrap().is_empty(), "{r}");
    let (ready, flushed) = (r["ready"].as_f64().unwrap(), r["flushed"].as_f64().unwrap());
    assert!(
        r["duration"].as_f64().unwrap() <= ready && ready <= flushed,
        "{r}"
    );
    let dry = json_report(&recover(dir, &["--dry-run", "--json"]));
    assert!(dry["flushed"].is_null(), "{dry}");
    read_back(dir, &(0..100).collect::<Vec<_>>(), 64, true);
}

#[test]
fn clean_dir_json_reports_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build(dir, 37, 10);
    let out = recover(dir, &["--json"]);
    assert_exit(&out, 0, "recover --json");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "clean", "{r}");
    assert_eq!(r["replayed"], 37, "{r}");
    assert_eq!(r["mode"], "tolerate-tail", "{r}");
    assert_eq!(r["dry_run"], false, "{r}");
}

/// A dir whose only segment lost its last 3 bytes (the last entry is torn).
fn torn_by_truncation(dir: &Path) {
    build(dir, 200, 100);
    let seg = only_segment(dir);
    let len = fs::metadata(&seg).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 3).unwrap();
}

/// A dir whose only segment has garbage appended after its last complete entry.
fn torn_by_garbage(dir: &Path) {
    build(dir, 200, 100);
    let seg = only_segment(dir);
    let mut f = fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0xab; 20]).unwrap();
}

fn check_tail_truncated(dir: &Path, complete: usize, torn: Option<usize>) {
    let out = recover(dir, &["--json"]);
    assert_exit(&out, 0, "recover torn tail");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "tail-truncated", "{r}");
    assert_eq!(r["replayed"], complete as u64, "{r}");
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{r}");
    assert_eq!(findings[0]["kind"], "torn-tail", "{r}");
    let lost = lost_files(dir);
    assert_eq!(lost.len(), 1, "one file in lost/: {lost:?}");
    assert_eq!(
        r["moved_to_lost"][0].as_str().map(PathBuf::from),
        Some(lost[0].clone()),
        "{r}"
    );
    read_back(dir, &(0..complete).collect::<Vec<_>>(), 100, true);
    if let Some(t) = torn {
        read_back(dir, &[t], 100, false);
    }
}

#[test]
fn truncated_tail_is_cut_and_complete_entries_survive() {
    let tmp = tempfile::tempdir().unwrap();
    torn_by_truncation(tmp.path());
    check_tail_truncated(tmp.path(), 199, Some(199));
}

#[test]
fn garbage_tail_is_cut_and_every_entry_survives() {
    let tmp = tempfile::tempdir().unwrap();
    torn_by_garbage(tmp.path());
    check_tail_truncated(tmp.path(), 200, None);
    let lost = lost_files(tmp.path());
    assert_eq!(fs::read(&lost[0]).unwrap(), vec![0xab; 20]);
}

#[test]
fn truncated_tail_human_output() {
    let tmp = tempfile::tempdir().unwrap();
    torn_by_truncation(tmp.path());
    let out = recover(tmp.path(), &[]);
    assert_exit(&out, 0, "recover torn tail");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("torn"), "{stdout}");
    assert!(stdout.contains("lost"), "{stdout}");
}

#[test]
fn absolute_mode_refuses_a_torn_tail() {
    for make in [torn_by_truncation, torn_by_garbage] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        make(dir);
        let before = dir_snapshot(dir);
        let out = recover(dir, &["--mode", "absolute"]);
        assert_exit(&out, 4, "absolute on a torn tail");
        assert_unchanged(&before, dir, "absolute on a torn tail");
        assert!(lost_files(dir).is_empty());
    }
}

/// Values of the flipped-byte dir.
const FLIP_N: usize = 300;
const FLIP_SIZE: usize = 500;
/// The flipped byte: inside block 0, a few entries in.
const FLIP_AT: u64 = 1000;

struct Flipped {
    seg: PathBuf,
    /// Where the damaged entry starts: what the report must name.
    damage_offset: u64,
    /// Keys whose entries end before the damage.
    before: Vec<usize>,
    /// Keys whose entries start after the damaged block (readable again).
    after: Vec<usize>,
}

/// A dir with one segment of 300 × 500-byte values (several 32 KiB blocks) and one byte
/// flipped in block 0.
fn flipped(dir: &Path) -> Flipped {
    build(dir, FLIP_N, FLIP_SIZE);
    let seg = only_segment(dir);
    let mut bytes = fs::read(&seg).unwrap();
    assert!(bytes.len() as u64 > 4 * BLOCK_SIZE, "needs several blocks");

    // Where each entry starts, from the intact segment.
    let index: BTreeMap<Vec<u8>, usize> = (0..FLIP_N).map(|i| (plain_key(&key(i)), i)).collect();
    let mut starts: Vec<(u64, usize)> = Vec::new();
    wal::scan(&bytes, |ev| {
        match ev {
            Event::Entry { offset, entry } => starts.push((offset, index[entry.key])),
            Event::Damage { .. } => panic!("the intact segment has damage"),
        }
        true
    });
    assert_eq!(starts.len(), FLIP_N);
    let damage_offset = starts
        .iter()
        .map(|(o, _)| *o)
        .filter(|o| *o <= FLIP_AT)
        .max()
        .unwrap();
    assert!(damage_offset > 16, "some entries come before the damage");
    let before = starts
        .iter()
        .filter(|(o, _)| *o < damage_offset)
        .map(|(_, i)| *i)
        .collect();
    let after: Vec<usize> = starts
        .iter()
        .filter(|(o, _)| *o >= BLOCK_SIZE)
        .map(|(_, i)| *i)
        .collect();
    assert!(after.len() > FLIP_N / 2);

    bytes[FLIP_AT as usize] ^= 0x20;
    fs::write(&seg, &bytes).unwrap();
    Flipped {
        seg,
        damage_offset,
        before,
        after,
    }
}

#[test]
fn flipped_byte_is_refused_by_default_naming_file_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = flipped(dir);
    let before = dir_snapshot(dir);

    let out = recover(dir, &[]);
    assert_exit(&out, 4, "default mode on mid-log damage");
    let all = text(&out);
    assert!(
        all.contains(&f.seg.display().to_string()),
        "names the segment:\n{all}"
    );
    assert!(
        all.contains(&f.damage_offset.to_string()),
        "names the offset {}:\n{all}",
        f.damage_offset
    );
    assert_unchanged(&before, dir, "refused default recover");

    let out = recover(dir, &["--json"]);
    assert_exit(&out, 4, "default mode --json on mid-log damage");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "refused", "{r}");
    assert_eq!(r["findings"][0]["kind"], "damage", "{r}");
    assert_eq!(r["findings"][0]["file"], f.seg.display().to_string(), "{r}");
    assert_eq!(r["findings"][0]["offset"], f.damage_offset, "{r}");
    assert_unchanged(&before, dir, "refused default recover --json");

    let out = recover(dir, &["--mode", "absolute"]);
    assert_exit(&out, 4, "absolute on mid-log damage");
    assert_unchanged(&before, dir, "refused absolute recover");
    assert!(lost_files(dir).is_empty());
}

/// docs/exit-codes.md: "On failure drkit prints exactly one line on stderr, `drkit: <what>`,
/// naming the file and the byte offset where that applies"; `-q`: "failures still print one
/// line on stderr".
#[test]
fn refused_recovery_prints_one_stderr_line_naming_file_and_offset_even_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = flipped(dir);
    for quiet in [false, true] {
        let mut cmd = drkit();
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd
            .arg("recover")
            .arg(dir)
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        assert_exit(&out, 4, "refused recover");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "quiet={quiet}: one stderr line:\n{stderr}");
        assert!(lines[0].starts_with("drkit: "), "{stderr}");
        assert!(
            lines[0].contains(&f.seg.display().to_string()),
            "quiet={quiet}: names the segment:\n{stderr}"
        );
        assert!(
            lines[0].contains(&f.damage_offset.to_string()),
            "quiet={quiet}: names the offset:\n{stderr}"
        );
    }
}

#[test]
fn flipped_byte_skip_corrupted_keeps_every_readable_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = flipped(dir);

    let out = recover(dir, &["--mode", "skip-corrupted", "--json"]);
    assert_exit(&out, 3, "skip-corrupted on mid-log damage");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "data-dropped", "{r}");
    // The damage first; the sequence gap it leaves may follow as a second finding.
    let findings = r["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{r}");
    assert_eq!(findings[0]["kind"], "damage", "{r}");
    assert_eq!(findings[0]["file"], f.seg.display().to_string(), "{r}");
    assert_eq!(findings[0]["offset"], f.damage_offset, "{r}");
    assert_eq!(findings[0]["end"], BLOCK_SIZE, "{r}");
    assert_eq!(
        r["replayed"],
        (f.before.len() + f.after.len()) as u64,
        "{r}"
    );
    assert!(
        !lost_files(dir).is_empty(),
        "the damaged span is kept in lost/"
    );
    assert!(!r["moved_to_lost"].as_array().unwrap().is_empty(), "{r}");

    let out = recover(dir, &[]);
    assert_exit(&out, 0, "plain recover after skip-corrupted");
    read_back(dir, &f.before, FLIP_SIZE, true);
    read_back(dir, &f.after, FLIP_SIZE, true);
}

#[test]
fn flipped_byte_skip_corrupted_human_output_names_file_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = flipped(dir);
    let out = recover(dir, &["--mode", "skip-corrupted"]);
    assert_exit(&out, 3, "skip-corrupted on mid-log damage");
    let all = text(&out);
    assert!(all.contains(&f.seg.display().to_string()), "{all}");
    assert!(all.contains(&f.damage_offset.to_string()), "{all}");
    assert!(all.contains("lost"), "{all}");
}

#[test]
fn flipped_byte_point_in_time_keeps_exactly_the_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = flipped(dir);

    let out = recover(dir, &["--mode", "point-in-time", "--json"]);
    assert_exit(&out, 3, "point-in-time on mid-log damage");
    let r = json_report(&out);
    assert_eq!(r["outcome"], "data-dropped", "{r}");
    assert_eq!(r["replayed"], f.before.len() as u64, "{r}");
    assert_eq!(r["last_applied_seq"], f.before.len() as u64, "{r}");
    assert_eq!(r["findings"][0]["offset"], f.damage_offset, "{r}");
    assert!(!lost_files(dir).is_empty());

    let out = recover(dir, &[]);
    assert_exit(&out, 0, "plain recover after point-in-time");
    read_back(dir, &f.before, FLIP_SIZE, true);
    read_back(dir, &f.after, FLIP_SIZE, false);
}

const ALL_MODES: [&str; 4] = [
    "tolerate-tail",
    "absolute",
    "point-in-time",
    "skip-corrupted",
];

fn dry_runs_change_nothing(dir: &Path) {
    let before = dir_snapshot(dir);
    for mode in ALL_MODES {
        for json in [false, true] {
            let mut args = vec!["--mode", mode, "--dry-run"];
            if json {
                args.push("--json");
            }
            let out = recover(dir, &args);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 3 | 4)),
                "dry run {mode}: exit {code:?}\n{}",
                text(&out)
            );
            assert!(!text(&out).contains("panicked"), "{}", text(&out));
            if json {
                assert_eq!(json_report(&out)["dry_run"], true);
            }
            assert_unchanged(&before, dir, &format!("dry run --mode {mode}"));
        }
    }
}

#[test]
fn dry_run_changes_nothing_on_a_truncated_tail() {
    let tmp = tempfile::tempdir().unwrap();
    torn_by_truncation(tmp.path());
    dry_runs_change_nothing(tmp.path());
}

#[test]
fn dry_run_changes_nothing_on_a_garbage_tail() {
    let tmp = tempfile::tempdir().unwrap();
    torn_by_garbage(tmp.path());
    dry_runs_change_nothing(tmp.path());
}

#[test]
fn dry_run_changes_nothing_on_a_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    flipped(tmp.path());
    dry_runs_change_nothing(tmp.path());
}

#[test]
fn dry_run_changes_nothing_with_a_missing_segment() {
    let tmp = tempfile::tempdir().unwrap();
    missing_middle_segment(tmp.path());
    dry_runs_change_nothing(tmp.path());
}

#[test]
fn dry_run_reports_what_the_real_run_would_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = flipped(dir);
    for (mode, code, outcome) in [
        ("tolerate-tail", 4, "refused"),
        ("absolute", 4, "refused"),
        ("point-in-time", 3, "data-dropped"),
        ("skip-corrupted", 3, "data-dropped"),
    ] {
        let out = recover(dir, &["--mode", mode, "--dry-run", "--json"]);
        assert_exit(&out, code, &format!("dry run {mode}"));
        let r = json_report(&out);
        assert_eq!(r["outcome"], outcome, "{mode}: {r}");
        assert_eq!(r["findings"][0]["offset"], f.damage_offset, "{mode}: {r}");
    }
    assert!(lost_files(dir).is_empty());
}

/// Several 64 KiB segments of 1 KiB values, the second one deleted.
fn missing_middle_segment(dir: &Path) -> PathBuf {
    build_with(
        dir,
        300,
        1024,
        Options {
            wal_segment_bytes: 64 << 10,
            memtable_bytes: 64 << 20,
            ..build_opts()
        },
    );
    let segs = segments(dir);
    assert!(segs.len() >= 3, "{segs:?}");
    fs::remove_file(&segs[1]).unwrap();
    segs[1].clone()
}

#[test]
fn missing_middle_segment_is_refused_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    missing_middle_segment(dir);
    let before = dir_snapshot(dir);
    let out = recover(dir, &[]);
    assert_exit(&out, 4, "default mode with a missing segment");
    let all = text(&out);
    assert!(all.contains("missing"), "{all}");
    assert_unchanged(&before, dir, "refused recover with a missing segment");

    let out = recover(dir, &["--json"]);
    assert_exit(&out, 4, "default mode --json with a missing segment");
    let r = json_report(&out);
    assert_eq!(r["findings"][0]["kind"], "missing-entries", "{r}");
    // The finding is in the segment after the hole.
    assert_eq!(
        r["findings"][0]["file"],
        segments(dir)[1].display().to_string(),
        "{r}"
    );
}

#[test]
fn missing_middle_segment_skip_corrupted_drops_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    missing_middle_segment(dir);
    let out = recover(dir, &["--mode", "skip-corrupted"]);
    assert_exit(&out, 3, "skip-corrupted with a missing segment");
    assert!(!lost_files(dir).is_empty());
    let out = recover(dir, &[]);
    assert_exit(&out, 0, "plain recover after skip-corrupted");
    // The first and the last write are in segments that still exist.
    read_back(dir, &[0, 299], 1024, true);
}

#[test]
fn a_wal_larger_than_the_memory_budget_recovers_every_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    build_with(
        dir,
        3000,
        300,
        Options {
            wal_segment_bytes: 64 << 10,
            // Never reached: every entry stays in the WAL only.
            memtable_bytes: 1 << 30,
            ..build_opts()
        },
    );

    let out = recover(dir, &["--memory-budget", "128KiB"]);
    assert_exit(&out, 0, "recover --memory-budget 128KiB");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("128.0 KiB: exceeded") && stdout.contains("L0 tables written"),
        "{stdout}"
    );
    let again = json_report(&recover(dir, &["--json"]));
    assert_eq!(again["replayed"], 1, "only the checkpoint entry: {again}");
    read_back(dir, &(0..3000).collect::<Vec<_>>(), 300, true);
}

#[test]
fn a_memory_budget_that_is_not_a_size_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path(), 10, 10);
    let out = recover(tmp.path(), &["--memory-budget", "lots"]);
    assert_exit(&out, 2, "a bad --memory-budget");
    assert!(text(&out).contains("not a size"), "{}", text(&out));
}
