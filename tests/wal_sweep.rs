//! Truncate-at-every-byte sweep over a small multi-segment WAL: recovery never panics, never
//! refuses a cut log in tolerate-tail mode, and yields exactly the complete entries before the
//! cut, with their exact values.
//!
//! Where each entry ends is learnt independently of the reader: entries are written one at a
//! time with sync=always, and the engine's count of WAL bytes written is read after each
//! acknowledgement (the file's length says nothing: segments are preallocated).
//!
//! Cuts are tried twice: the file cut short, and (every other cut) the file cut then
//! zero-filled beyond its length, which is what a crash leaves in a preallocated segment.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use drkit::engine::recovery;
use drkit::engine::{Engine, FindingKind, Options, Outcome, RecoveryMode};
use drkit::format::entry::EntryType;

use super::common::*;

struct Written {
    key: Vec<u8>,
    value: Vec<u8>,
    segment: usize,
    end: u64,
}

fn key(i: usize) -> Vec<u8> {
    format!("Kkey-{i:04}").into_bytes()
}

/// Writes `sizes.len()` entries into a fresh dir; returns where each one ended.
fn build(dir: &Path, sizes: &[usize], segment_bytes: u64) -> (Vec<PathBuf>, Vec<Written>) {
    let opts = Options {
        wal_segment_bytes: segment_bytes,
        memtable_bytes: 1 << 30,
        ..Options::default()
    };
    let engine = Engine::open(dir, opts).unwrap();
    let wal_bytes = || engine.stats().wal_bytes.load(Ordering::Relaxed);
    let mut written = Vec::new();
    // WAL bytes written when the newest segment began (the seal ending a segment is not
    // counted, and a segment's records start after its 16-byte envelope).
    let mut segment_base = 0;
    let mut segment_count = segments(dir).len();
    for (i, size) in sizes.iter().enumerate() {
        let value: Vec<u8> = (0..*size).map(|j| (i * 31 + j * 7) as u8).collect();
        let before = wal_bytes();
        engine.put(&key(i)[1..], &value).unwrap();
        let segs = segments(dir);
        if segs.len() != segment_count {
            segment_count = segs.len();
            segment_base = before;
        }
        written.push(Written {
            key: key(i),
            value,
            segment: segs.len() - 1,
            end: ENVELOPE + wal_bytes() - segment_base,
        });
    }
    drop(engine);
    (segments(dir), written)
}

const ENVELOPE: u64 = 16;

/// Copies the dir with segment `seg` cut at `cut` (then zero-filled to beyond its length
/// with `zero_fill`) and every later segment gone.
fn cut_copy(src: &Path, dst: &Path, segs: &[PathBuf], seg: usize, cut: u64, zero_fill: bool) {
    let _ = fs::remove_dir_all(dst);
    fs::create_dir_all(dst.join("wal")).unwrap();
    fs::create_dir_all(dst.join("sst")).unwrap();
    fs::copy(src.join("CURRENT"), dst.join("CURRENT")).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("MANIFEST-") {
            fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
    for (i, s) in segs.iter().enumerate().take(seg + 1) {
        let target = dst.join("wal").join(s.file_name().unwrap());
        let bytes = fs::read(s).unwrap();
        let mut keep = bytes.clone();
        if i == seg {
            keep.truncate(cut as usize);
            if zero_fill {
                // Past the original end too, as far as a preallocated segment would reach.
                keep.resize(bytes.len() + 70_000, 0);
            }
        }
        fs::write(target, keep).unwrap();
    }
}

/// The entries complete in segment `seg` cut at `cut`. With `zero_fill` an entry whose last
/// bytes are zeros is complete once the cut passes its last non-zero byte: the fill puts back
/// exactly the bytes the cut took.
fn expected_before(
    written: &[Written],
    seg: usize,
    cut: u64,
    zero_fill: Option<&[u8]>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let needed = |w: &Written| match zero_fill {
        Some(bytes) => bytes[..w.end as usize]
            .iter()
            .rposition(|b| *b != 0)
            .map_or(0, |i| i as u64 + 1),
        None => w.end,
    };
    written
        .iter()
        .filter(|w| w.segment < seg || (w.segment == seg && needed(w) <= cut))
        .map(|w| (w.key.clone(), w.value.clone()))
        .collect()
}

fn sweep(
    sizes: &[usize],
    segment_bytes: u64,
    cuts_of: impl Fn(u64) -> Vec<u64>,
    full_open_every: usize,
) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let work = tmp.path().join("work");
    let (segs, written) = build(&src, sizes, segment_bytes);
    assert!(
        segs.len() >= 3,
        "the sweep needs a multi-segment WAL, got {}",
        segs.len()
    );
    let mut n = 0usize;
    for (s, path) in segs.iter().enumerate() {
        let pristine = fs::read(path).unwrap();
        let len = pristine.len() as u64;
        for (cut, zero_fill) in cuts_of(len)
            .into_iter()
            // Every cut short; every other one zero-filled too (twice the work otherwise).
            .flat_map(|c| std::iter::once((c, false)).chain((c % 2 == 1).then_some((c, true))))
        {
            cut_copy(&src, &work, &segs, s, cut, zero_fill);
            let want = expected_before(&written, s, cut, zero_fill.then_some(&pristine[..]));
            let replay = recovery::replay(&work, 0, RecoveryMode::TolerateTail, false, &|_, _| {})
                .unwrap_or_else(|e| {
                    panic!(
                        "segment {s} cut at {cut} (zero-filled: {zero_fill}): recovery failed: {e}"
                    )
                });
            let report = &replay.report;
            // Every key is written once: the runs' rows in sequence order are the log's puts.
            let mut rows: Vec<(u64, Vec<u8>, Vec<u8>)> = replay
                .runs
                .iter()
                .flat_map(|run| run.rows())
                .map(|(key, seq, value)| {
                    let value = value.expect("only puts were written");
                    (seq, key.to_vec(), value.to_vec())
                })
                .collect();
            rows.sort();
            let got: Vec<(Vec<u8>, Vec<u8>)> = rows.into_iter().map(|(_, k, v)| (k, v)).collect();
            assert_ne!(
                report.outcome,
                Outcome::Refused,
                "segment {s} cut at {cut} (zero-filled: {zero_fill}): a cut log must not be refused: {:?}",
                report.findings
            );
            assert!(
                got == want,
                "segment {s} cut at {cut} (zero-filled: {zero_fill}): got {} entries, want the {} complete before the cut",
                got.len(),
                want.len()
            );

            // Now and then the whole path: the engine cuts the tail, reopens, serves reads.
            if n.is_multiple_of(full_open_every) {
                let engine = Engine::open(&work, Options::default()).unwrap_or_else(|e| {
                    panic!("segment {s} cut at {cut} (zero-filled: {zero_fill}): open failed: {e}")
                });
                let all: Vec<(Vec<u8>, Vec<u8>)> = engine
                    .scan(&[], std::ops::Bound::Unbounded)
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                assert!(
                    all == want,
                    "segment {s} cut at {cut} (zero-filled: {zero_fill}): engine holds {} entries, want {}",
                    all.len(),
                    want.len()
                );
                engine.put(b"after-recovery", b"1").unwrap();
                drop(engine);
                let engine = Engine::open(
                    &work,
                    Options {
                        recovery_mode: RecoveryMode::Absolute,
                        ..Options::default()
                    },
                )
                .unwrap_or_else(|e| {
                    panic!("segment {s} cut at {cut} (zero-filled: {zero_fill}): second open after recovery is not clean: {e}")
                });
                assert_eq!(
                    engine.get(b"after-recovery").unwrap().as_deref(),
                    Some(&b"1"[..])
                );
            }
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn every_byte_of_a_small_multi_segment_wal() {
    let sizes: Vec<usize> = (0..60).map(|i| (i * 37) % 500 + 1).collect();
    sweep(&sizes, 6 << 10, |len| (0..len).collect(), 53);
}

#[test]
fn entries_spanning_blocks_cut_around_every_boundary() {
    // Values over 32 KiB span blocks (FIRST/MIDDLE/LAST fragments).
    let sizes: Vec<usize> = (0..14)
        .map(|i| {
            if i % 3 == 0 {
                70_000
            } else {
                (i * 1231) % 9000 + 1
            }
        })
        .collect();
    const BLOCK: u64 = 32 * 1024;
    sweep(
        &sizes,
        96 << 10,
        |len| {
            let mut cuts: Vec<u64> = (0..len).step_by(211).collect();
            for b in (0..=len).step_by(BLOCK as usize) {
                cuts.extend(b.saturating_sub(12)..(b + 12).min(len));
            }
            cuts.sort_unstable();
            cuts.dedup();
            cuts
        },
        29,
    );
}

/// Flip-every-byte sweep over the final (here: only) block of a small single-segment WAL.
/// A flipped byte inside a complete entry that is followed by another intact entry is damage
/// inside written data: tolerate-tail must refuse it, never report it as a clean log or a torn
/// tail and silently drop the complete entries after it.
///
/// Exception: a flip inside the very last entry of the segment cannot be told from a torn
/// write (nothing intact follows it either way), so it is cut as a torn tail. The sweep only
/// checks that this never loses an entry before it.
#[test]
fn every_byte_flip_in_the_final_block_is_damage_not_a_torn_tail() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let work = tmp.path().join("work");
    let sizes: Vec<usize> = (0..25).map(|i| (i * 53) % 200 + 1).collect();
    let (segs, _) = build(&src, &sizes, 1 << 20);
    assert_eq!(segs.len(), 1);
    let pristine = fs::read(&segs[0]).unwrap();
    assert!((pristine.len() as u64) < 32 * 1024, "a single block");

    // Every entry (the puts, and whatever the engine wrote after them) with its extent.
    let mut starts = Vec::new();
    let end = drkit::format::wal::scan(&pristine, |ev| {
        if let drkit::format::wal::Event::Entry { offset, entry } = ev {
            starts.push((offset, entry.kind == EntryType::Put));
        }
        true
    });
    assert_eq!(end.valid_end, pristine.len() as u64);
    let extent = |j: usize| {
        let stop = starts.get(j + 1).map_or(end.valid_end, |s| s.0);
        starts[j].0..stop
    };
    let puts_before = |j: usize| starts[..j].iter().filter(|s| s.1).count() as u64;

    cut_copy(&src, &work, &segs, 0, pristine.len() as u64, false);
    let seg = work.join("wal").join(segs[0].file_name().unwrap());
    let mut n = 0;
    for j in 0..starts.len() {
        for i in extent(j) {
            for mask in [0x01u8, 0x80] {
                let mut bytes = pristine.clone();
                bytes[i as usize] ^= mask;
                fs::write(&seg, &bytes).unwrap();
                let replay =
                    recovery::replay(&work, 0, RecoveryMode::TolerateTail, true, &|_, _| {})
                        .unwrap_or_else(|e| panic!("flip {mask:#04x} at {i}: {e}"));
                let r = &replay.report;
                let at = format!("flip {mask:#04x} at {i} (entry {j} at {:?})", extent(j));
                if j + 1 < starts.len() {
                    // Never a silent loss of a complete entry followed by an intact one.
                    assert!(
                        !matches!(r.outcome, Outcome::Clean | Outcome::TailTruncated)
                            || r.replayed >= puts_before(starts.len()),
                        "{at}: {:?} with {} entries: {:?}",
                        r.outcome,
                        r.replayed,
                        r.findings
                    );
                    // And exactly: refused, naming the damaged entry.
                    assert_eq!(r.outcome, Outcome::Refused, "{at}: {:?}", r.findings);
                    assert_eq!(r.findings[0].kind, FindingKind::Damage, "{at}");
                    assert_eq!(r.findings[0].offset, starts[j].0, "{at}");
                } else {
                    // The documented exception: the last entry's damage is a torn tail.
                    assert_ne!(r.outcome, Outcome::Clean, "{at}");
                    if r.outcome == Outcome::TailTruncated {
                        assert_eq!(r.replayed, puts_before(j), "{at}");
                    }
                }
                n += 1;
            }
        }
    }
    assert!(n > 5000, "{n} flips");
}
