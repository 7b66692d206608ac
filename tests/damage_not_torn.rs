//! Damage that used to be taken for the torn tail of a crash, and silently cut: a flipped byte
//! in the final 32 KiB block of the last WAL segment, and a flipped length field in a middle
//! manifest record. Also: a segment of the wrong kind is damage (not a fatal error that hides
//! every other finding), and a sequence gap after damage is worded as the damaged entries,
//! not a lost segment.
//!
//! `wal::scan` resynchronises at block boundaries; the final block has none, so damage there
//! used to run to EOF and look exactly like the incomplete last write of a crash: recover in
//! its default mode then cut every acknowledged entry after the flipped byte and exited 0.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use drkit::engine::{Engine, FindingKind, Options, Outcome, RecoveryMode, SyncPolicy};
use drkit::error::Exit;
use drkit::format::record::plain_key;
use drkit::format::wal::{self, BLOCK_SIZE, Event};

use super::common::*;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:05}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i:05}-").bytes().cycle().take(400).collect()
}

fn opts(mode: RecoveryMode) -> Options {
    Options {
        sync: SyncPolicy::Never,
        background_work: false,
        recovery_mode: mode,
        ..Options::default()
    }
}

/// One segment of `n` 400-byte values; returns the segment and (offset, key index) of each
/// entry in log order.
fn build(dir: &Path, n: usize) -> (PathBuf, Vec<(u64, usize)>) {
    let engine = Engine::open(dir, opts(RecoveryMode::TolerateTail)).unwrap();
    for i in 0..n {
        engine.put(&key(i), &value(i)).unwrap();
    }
    drop(engine);
    let segs = segments(dir);
    assert_eq!(segs.len(), 1, "{segs:?}");
    let bytes = fs::read(&segs[0]).unwrap();
    let index: std::collections::BTreeMap<Vec<u8>, usize> =
        (0..n).map(|i| (plain_key(&key(i)), i)).collect();
    let mut starts = Vec::new();
    wal::scan(&bytes, |ev| {
        match ev {
            Event::Entry { offset, entry } => starts.push((offset, index[entry.key])),
            Event::Damage { .. } => panic!("the intact segment has damage"),
        }
        true
    });
    assert_eq!(starts.len(), n);
    (segs[0].clone(), starts)
}

struct LastBlockFlip {
    seg: PathBuf,
    /// The damaged entry's offset.
    at: u64,
    before: Vec<usize>,
    damaged: usize,
    after: Vec<usize>,
}

/// A segment of several blocks with one byte flipped inside the second entry that starts in
/// its final block; several complete entries follow the damaged one.
fn last_block_flip(dir: &Path) -> LastBlockFlip {
    let (seg, starts) = build(dir, 200);
    let mut bytes = fs::read(&seg).unwrap();
    let len = bytes.len() as u64;
    assert!(len > 2 * BLOCK_SIZE, "several blocks");
    let last_block = (len - 1) / BLOCK_SIZE * BLOCK_SIZE;
    let in_last: Vec<usize> = (0..starts.len())
        .filter(|&j| starts[j].0 >= last_block)
        .collect();
    assert!(
        in_last.len() > 8,
        "entries in the final block: {}",
        in_last.len()
    );
    let j = in_last[1];
    let (at, damaged) = starts[j];
    bytes[(at + 100) as usize] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();
    LastBlockFlip {
        seg,
        at,
        before: starts[..j].iter().map(|s| s.1).collect(),
        damaged,
        after: starts[j + 1..].iter().map(|s| s.1).collect(),
    }
}

fn read_keys(dir: &Path, keys: &[usize], present: bool) {
    let engine = Engine::open(dir, opts(RecoveryMode::TolerateTail)).unwrap();
    for &i in keys {
        let got = engine.get(&key(i)).unwrap();
        if present {
            assert_eq!(got, Some(value(i)), "key {i} must read back");
        } else {
            assert_eq!(got, None, "key {i} must be gone");
        }
    }
}

#[test]
fn flip_in_the_final_block_is_refused_by_default_not_cut_as_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = last_block_flip(dir);
    let before = dir_snapshot(dir);

    let Err(err) = Engine::open(dir, opts(RecoveryMode::TolerateTail)) else {
        panic!("tolerate-tail must refuse damage followed by intact entries");
    };
    assert_eq!(err.exit(), Exit::Corruption, "{err}");
    assert_eq!(err.exit().code(), 4);
    let msg = err.to_string();
    assert!(msg.contains(&f.seg.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("offset {}", f.at)), "{msg}");
    assert_eq!(dir_snapshot(dir), before, "a refusal changes nothing");

    // The report says where the damage ends: at the next entry, not at EOF.
    let r = Engine::recover(
        dir,
        Options {
            dry_run: true,
            ..opts(RecoveryMode::TolerateTail)
        },
        None,
    )
    .unwrap();
    assert_eq!(r.outcome, Outcome::Refused, "{:?}", r.findings);
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert_eq!(r.findings[0].kind, FindingKind::Damage);
    assert_eq!(r.findings[0].offset, f.at);
    assert!(r.findings[0].end < fs::metadata(&f.seg).unwrap().len());
    assert_eq!(dir_snapshot(dir), before);

    // The CLI agrees: exit 4, nothing changed.
    let out = drkit().arg("recover").arg(dir).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(dir_snapshot(dir), before);
}

#[test]
fn flip_in_the_final_block_point_in_time_keeps_exactly_the_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = last_block_flip(dir);
    let r = Engine::recover(dir, opts(RecoveryMode::PointInTime), None).unwrap();
    assert_eq!(r.outcome, Outcome::DataDropped, "{:?}", r.findings);
    assert_eq!(r.replayed, f.before.len() as u64);
    assert_eq!(r.last_applied_seq, f.before.len() as u64);
    assert_eq!(r.dropped_entries, f.after.len() as u64);
    assert_eq!(r.findings[0].offset, f.at);
    read_keys(dir, &f.before, true);
    read_keys(dir, &[f.damaged], false);
    read_keys(dir, &f.after, false);
}

#[test]
fn flip_in_the_final_block_skip_corrupted_keeps_every_entry_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = last_block_flip(dir);
    let r = Engine::recover(dir, opts(RecoveryMode::SkipCorrupted), None).unwrap();
    assert_eq!(r.outcome, Outcome::DataDropped, "{:?}", r.findings);
    // Only the damaged entry is lost: reading resumes at the next intact fragment.
    assert_eq!(r.replayed, (f.before.len() + f.after.len()) as u64);
    assert_eq!(r.findings[0].kind, FindingKind::Damage);
    assert_eq!(r.findings[0].offset, f.at);
    // The gap the damage leaves is worded as the damaged entry, not a lost segment.
    let gap = &r.findings[1];
    assert_eq!(gap.kind, FindingKind::MissingEntries, "{:?}", r.findings);
    let seq = f.before.len() + 1;
    assert!(
        gap.what.contains(&format!(
            "sequences {seq}..={seq} were in the damaged bytes"
        )),
        "{}",
        gap.what
    );
    assert!(!gap.what.contains("lost or deleted"), "{}", gap.what);
    read_keys(dir, &f.before, true);
    read_keys(dir, &[f.damaged], false);
    read_keys(dir, &f.after, true);
}

/// Real torn tails in the final block: still a torn tail, cut, exit 0.
#[test]
fn real_torn_tails_in_the_final_block_are_still_cut() {
    type Tear = fn(&Path, &[(u64, usize)]) -> usize;
    let tears: [(&str, Tear); 4] = [
        ("cut mid-entry", |seg, starts| {
            let last = starts.last().unwrap().0;
            let f = fs::OpenOptions::new().write(true).open(seg).unwrap();
            f.set_len(last + 50).unwrap();
            starts.len() - 1
        }),
        ("cut in a fragment header", |seg, starts| {
            let last = starts.last().unwrap().0;
            let f = fs::OpenOptions::new().write(true).open(seg).unwrap();
            f.set_len(last + 3).unwrap();
            starts.len() - 1
        }),
        (
            "cut mid-entry, then the preallocated zeros",
            |seg, starts| {
                let last = starts.last().unwrap().0;
                let f = fs::OpenOptions::new().write(true).open(seg).unwrap();
                f.set_len(last + 50).unwrap();
                f.set_len(last + 200_000).unwrap();
                starts.len() - 1
            },
        ),
        ("garbage appended", |seg, starts| {
            let mut f = fs::OpenOptions::new().append(true).open(seg).unwrap();
            let junk: Vec<u8> = (0..3000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            f.write_all(&junk).unwrap();
            starts.len()
        }),
    ];
    for (what, tear) in tears {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (seg, starts) = build(dir, 200);
        let complete = tear(&seg, &starts);
        let r = Engine::recover(dir, opts(RecoveryMode::TolerateTail), None).unwrap();
        assert_eq!(
            r.outcome,
            Outcome::TailTruncated,
            "{what}: {:?}",
            r.findings
        );
        assert_eq!(r.findings.len(), 1, "{what}: {:?}", r.findings);
        assert_eq!(r.findings[0].kind, FindingKind::TornTail, "{what}");
        // The torn bytes, not the preallocated zeros after them (200 KB in one case).
        let torn = r.findings[0].end - r.findings[0].offset;
        assert!(
            torn < 5_000 && r.dropped_bytes < 5_000,
            "{what}: {:?}",
            r.findings
        );
        assert_eq!(r.replayed, complete as u64, "{what}");
        let kept: Vec<usize> = starts[..complete].iter().map(|s| s.1).collect();
        read_keys(dir, &kept, true);
        // Recovered: a plain recover is clean now.
        let out = drkit().arg("recover").arg(dir).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{what}: {out:?}");
    }
}

/// A crash leaves the active segment at its preallocated length, zeros after the records:
/// that is the log's end, not a tear. Recovery is clean, moves nothing to lost/, and cuts the
/// zeros off so the segment is exactly its records.
#[test]
fn zeros_after_the_records_are_a_clean_end() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (seg, starts) = build(dir, 200);
    let records = fs::metadata(&seg).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(records + 300_000)
        .unwrap();
    // Keep the log: recovery flushes it and would otherwise remove the trimmed segment.
    let keep_log = Options {
        keep_wal: true,
        ..opts(RecoveryMode::Absolute)
    };
    let r = Engine::recover(dir, keep_log, None).unwrap();
    assert_eq!(r.outcome, Outcome::Clean, "{:?}", r.findings);
    assert_eq!(r.replayed, starts.len() as u64);
    assert!(r.moved_to_lost.is_empty(), "{:?}", r.moved_to_lost);
    // The log's size as reported (and recovery speed measured on) leaves the zeros out.
    assert!(
        r.wal_bytes <= records && r.wal_bytes + 100 > records,
        "{}",
        r.wal_bytes
    );
    assert_eq!(fs::metadata(&seg).unwrap().len(), records);
    let kept: Vec<usize> = starts.iter().map(|s| s.1).collect();
    read_keys(dir, &kept, true);
}

/// An entry larger than a block, cut in its last fragment: its earlier fragments are intact
/// and follow the entry's start, yet this is a torn tail (nothing intact after the cut).
#[test]
fn a_torn_multi_block_entry_is_still_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let engine = Engine::open(dir, opts(RecoveryMode::TolerateTail)).unwrap();
    engine.put(b"small", b"1").unwrap();
    engine.put(b"big", &vec![7u8; 80_000]).unwrap();
    drop(engine);
    let seg = segments(dir).remove(0);
    let len = fs::metadata(&seg).unwrap().len();
    assert!(len > 2 * BLOCK_SIZE);
    let f = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 10).unwrap();
    drop(f);
    let r = Engine::recover(dir, opts(RecoveryMode::TolerateTail), None).unwrap();
    assert_eq!(r.outcome, Outcome::TailTruncated, "{:?}", r.findings);
    assert_eq!(r.findings[0].kind, FindingKind::TornTail);
    assert_eq!(r.replayed, 1);
}

/// Several segments, one of the middle ones replaced by an SSTable: damage for that whole
/// file, which skip-corrupted gets past, rather than an error that hides everything else.
#[test]
fn wrong_kind_segment_is_damage_that_skip_corrupted_gets_past() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    let engine = Engine::open(&other, opts(RecoveryMode::TolerateTail)).unwrap();
    engine.put(b"a", b"1").unwrap();
    engine.flush().unwrap();
    drop(engine);
    let sst = fs::read_dir(other.join("sst"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();

    let dir = tmp.path().join("data");
    let engine = Engine::open(
        &dir,
        Options {
            wal_segment_bytes: 16 << 10,
            ..opts(RecoveryMode::TolerateTail)
        },
    )
    .unwrap();
    for i in 0..200 {
        engine.put(&key(i), &value(i)).unwrap();
    }
    drop(engine);
    let segs = segments(&dir);
    assert!(segs.len() >= 3, "{segs:?}");
    fs::copy(&sst, &segs[1]).unwrap();

    let before = dir_snapshot(&dir);
    let r = Engine::recover(
        &dir,
        Options {
            dry_run: true,
            ..opts(RecoveryMode::Absolute)
        },
        None,
    )
    .unwrap();
    assert_eq!(r.outcome, Outcome::Refused);
    assert_eq!(r.findings[0].kind, FindingKind::Damage);
    assert_eq!(r.findings[0].file, segs[1]);
    assert_eq!(r.findings[0].offset, 0);
    assert!(
        r.findings[0].what.contains("SSTable"),
        "{}",
        r.findings[0].what
    );
    assert!(
        r.findings[0].what.contains("WAL segment"),
        "{}",
        r.findings[0].what
    );
    assert_eq!(
        r.segments.len(),
        segs.len(),
        "every segment is still walked"
    );
    assert_eq!(dir_snapshot(&dir), before);

    let r = Engine::recover(&dir, opts(RecoveryMode::SkipCorrupted), None).unwrap();
    assert_eq!(r.outcome, Outcome::DataDropped, "{:?}", r.findings);
    assert!(r.replayed > 0);
    assert!(
        r.moved_to_lost
            .iter()
            .any(|p| p.file_name() == segs[1].file_name())
    );
    // The first and the last write are in segments that are still readable.
    read_keys(&dir, &[0, 199], true);
}

/// A flipped bit in the length field of a middle manifest record made it look like a record
/// cut short at the end of the file: decode dropped it and every later record, and the open
/// rewrote the manifest without them (orphaned tables, WAL gaps). Now it is corruption.
#[test]
fn flipped_length_of_a_middle_manifest_record_is_refused_not_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let engine = Engine::open(dir, opts(RecoveryMode::TolerateTail)).unwrap();
    for round in 0..4 {
        for i in 0..20 {
            engine.put(&key(round * 100 + i), &value(i)).unwrap();
        }
        engine.flush().unwrap();
    }
    drop(engine);
    let current = fs::read(dir.join("CURRENT")).unwrap();
    let name = drkit::format::current::decode(&dir.join("CURRENT"), &current).unwrap();
    let manifest = dir.join(name);
    let pristine = fs::read(&manifest).unwrap();
    let log = drkit::format::manifest::decode(&manifest, &pristine).unwrap();
    assert!(log.edits.len() >= 4, "{} records", log.edits.len());
    let at = log.edits[1].0;

    for (byte, mask) in [(3, 0x80u8), (2, 0x01), (0, 0x40)] {
        let mut bytes = pristine.clone();
        bytes[at as usize + byte] ^= mask;
        fs::write(&manifest, &bytes).unwrap();
        let before = dir_snapshot(dir);
        let err = Engine::open(dir, opts(RecoveryMode::TolerateTail))
            .err()
            .unwrap_or_else(|| panic!("length byte {byte} ^ {mask:#x}: the open must fail"));
        assert_eq!(err.exit(), Exit::Corruption, "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&manifest.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("offset {at}")), "{msg}");
        assert!(msg.contains("drkit repair"), "{msg}");
        assert_eq!(dir_snapshot(dir), before, "nothing is rewritten");
    }
    fs::write(&manifest, &pristine).unwrap();
    assert_eq!(full_scan(dir).len(), 80);
}

/// Damage in an earlier block, skip-corrupted: the sequences the damaged bytes held are
/// reported as such, not as "a lost or deleted segment?".
#[test]
fn gap_after_damage_in_the_same_segment_names_the_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (seg, starts) = build(dir, 200);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[1000] ^= 0x20;
    fs::write(&seg, &bytes).unwrap();
    let damaged_at = starts
        .iter()
        .map(|s| s.0)
        .filter(|o| *o <= 1000)
        .max()
        .unwrap();
    let r = Engine::recover(
        dir,
        Options {
            dry_run: true,
            ..opts(RecoveryMode::SkipCorrupted)
        },
        None,
    )
    .unwrap();
    assert_eq!(r.findings[0].kind, FindingKind::Damage);
    assert_eq!(
        r.findings[0].end, BLOCK_SIZE,
        "an earlier block still resyncs at its end"
    );
    let gap = &r.findings[1];
    assert_eq!(gap.kind, FindingKind::MissingEntries, "{:?}", r.findings);
    assert!(
        gap.what
            .contains("were in the damaged bytes before this entry"),
        "{}",
        gap.what
    );
    assert!(
        gap.what.contains(&format!("from offset {damaged_at}")),
        "{}",
        gap.what
    );
    assert!(!gap.what.contains("lost or deleted"), "{}", gap.what);
}

/// verify used to re-check recovery's torn tails itself, searching for an intact fragment from
/// the start of the damaged entry: a torn entry larger than a block has intact fragments of
/// its own there, so verify called a plain crash tail damage (exit 4).
#[test]
fn verify_calls_a_torn_multi_block_entry_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let engine = Engine::open(dir, opts(RecoveryMode::TolerateTail)).unwrap();
    engine.put(b"small", b"1").unwrap();
    engine.put(b"big", &vec![7u8; 80_000]).unwrap();
    drop(engine);
    let seg = segments(dir).remove(0);
    let len = fs::metadata(&seg).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 10).unwrap();
    drop(f);
    let out = drkit()
        .arg("verify")
        .arg(dir)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("torn tail"), "{stdout}");

    // And a flip in the final block is an error.
    let tmp = tempfile::tempdir().unwrap();
    let f = last_block_flip(tmp.path());
    let out = drkit().arg("verify").arg(tmp.path()).output().unwrap();
    let all = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{all}");
    assert!(all.contains(&f.at.to_string()), "{all}");
}
