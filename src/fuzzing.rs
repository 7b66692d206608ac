//! The bodies of the coverage-guided fuzz targets (`fuzz/`), one function per decoder.
//!
//! They live in the library so that the fuzz crate's targets are one line each and the
//! stable test `tests/fuzz_regressions.rs` replays every committed crash input through the
//! very same code. Each function takes the raw fuzz input and panics only when a property
//! fails; an error returned by the decoder is the expected answer to bad bytes.
//!
//! Properties checked beyond "no panic":
//! - what decodes re-encodes to the same logical content (entries, records, RESP requests
//!   split anywhere parse like the whole);
//! - a damaged input yields an error naming the file (and an offset inside it), never a
//!   wrong value returned as good: the `*_damage` targets flip bytes of a known-good file
//!   and check every value that still reads against the original;
//! - allocation stays bounded by the input's declared limits: the fuzzer runs with
//!   `-malloc_limit_mb`, so a length field that makes a decoder allocate gigabytes fails.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::Error;
use crate::format::entry::{EntryRef, EntryType};
use crate::format::envelope;
use crate::format::sst::{BlockInfo, Compression, Sst, SstEntry, SstOptions, SstWriter, ValueKind};
use crate::format::{masked_crc, wal};

/// A target's body: the raw fuzz input in, a panic when a property fails.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/` and `tests/fixtures/fuzz/` name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("wal_segment", wal_segment),
    ("wal_damage", wal_damage),
    ("entry", entry),
    ("sst_bytes", sst_bytes),
    ("sst_damage", sst_damage),
    ("sst_fixed_checksums", sst_fixed_checksums),
    ("manifest", manifest),
    ("current", current),
    ("snapshot", snapshot),
    ("record", record),
    ("raft_state", raft_state),
    ("archive_status", archive_status),
    ("backup_manifest", backup_manifest),
    ("backup_frames", backup_frames),
    ("resp", resp),
    ("raft_wire", raft_wire),
];

/// Runs the target called `name` on `data`; false if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(n, _)| *n == name) {
        Some((_, f)) => {
            f(data);
            true
        }
        None => false,
    }
}

/// The name every fuzzed "file" goes by, so errors can be checked for naming it.
const INPUT: &str = "fuzz-input";

fn input_path() -> &'static Path {
    Path::new(INPUT)
}

/// A decoder's error for bad bytes must say which file, and a corruption's offset must lie
/// inside it (or at its end, for a file cut short).
fn assert_names_file(e: &Error, len: usize) {
    let text = e.to_string();
    assert!(
        text.contains(INPUT),
        "an error about damaged input does not name the file: {text}"
    );
    if let Error::Corruption { offset, .. } = e {
        assert!(
            *offset <= len as u64,
            "offset {offset} past the end ({len}): {text}"
        );
    }
}

/// Flips bytes of `bytes` as `data` says: pairs of (position u32 LE, xor u8), at most 8.
/// Positions wrap around the length; a zero xor is made 0xff so every pair changes a byte.
/// Returns the changed positions.
fn flip(bytes: &mut [u8], data: &[u8]) -> Vec<usize> {
    let mut changed = Vec::new();
    if bytes.is_empty() {
        return changed;
    }
    for pair in data.chunks_exact(5).take(8) {
        let at = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]) as usize % bytes.len();
        let x = if pair[4] == 0 { 0xff } else { pair[4] };
        bytes[at] ^= x;
        changed.push(at);
    }
    changed
}

// ---------------------------------------------------------------------------------------------
// WAL

/// What a scan met: entries (offset, encoded), damaged spans, and how it ended.
struct Scanned {
    entries: Vec<(u64, Vec<u8>)>,
    damage: Vec<(u64, u64)>,
    end: wal::ScanEnd,
}

fn scan_entries(bytes: &[u8]) -> Scanned {
    let mut entries = Vec::new();
    let mut damage = Vec::new();
    let end = wal::scan(bytes, |ev| {
        match ev {
            wal::Event::Entry { offset, entry } => {
                let mut enc = Vec::new();
                entry.encode_into(&mut enc);
                entries.push((offset, enc));
            }
            wal::Event::Damage { start, end, .. } => damage.push((start, end)),
        }
        true
    });
    Scanned {
        entries,
        damage,
        end,
    }
}

/// A segment of arbitrary bytes: events in file order, inside the file, and every entry
/// re-encodes to bytes that decode to itself.
pub fn wal_segment(data: &[u8]) {
    // Readers stop at a bad envelope, but the scan itself must cope with any bytes.
    let len = data.len() as u64;
    let Scanned {
        entries,
        damage,
        end,
    } = scan_entries(data);
    let mut last = 0;
    for (offset, enc) in &entries {
        assert!(
            *offset >= last && *offset < len,
            "entry at {offset} out of order"
        );
        last = *offset;
        let e = EntryRef::decode(enc).expect("an entry the scan returned decodes again");
        let mut again = Vec::new();
        e.encode_into(&mut again);
        assert_eq!(&again, enc);
    }
    for (start, stop) in &damage {
        assert!(
            start <= stop && *stop <= len,
            "damage {start}..{stop} of {len}"
        );
    }
    assert!(end.valid_end <= len.max(envelope::LEN as u64) && end.data_end <= len);
}

struct GoodWal {
    bytes: Vec<u8>,
    entries: Vec<(u64, Vec<u8>)>,
}

/// A valid segment with small, empty, and block-spanning entries of every data kind.
fn good_wal() -> &'static GoodWal {
    static WAL: OnceLock<GoodWal> = OnceLock::new();
    WAL.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir for the fuzz seed");
        let mut w = wal::SegmentWriter::create(dir.path(), 1, 0).expect("seed segment");
        let mut payloads = Vec::new();
        for i in 0..60u64 {
            // Two entries span blocks (32 KiB): few, so a fuzz run stays fast.
            let value = match i % 4 {
                _ if i == 2 || i == 41 => vec![(i % 251) as u8; 40_000],
                0 => Vec::new(),
                1 => vec![b'v'; 10 + i as usize],
                2 => vec![(i % 251) as u8; 300],
                _ => format!("value {i}").into_bytes(),
            };
            let key = format!("Kkey-{i:03}").into_bytes();
            let kind = if i % 7 == 3 {
                EntryType::Delete
            } else {
                EntryType::Put
            };
            let e = EntryRef {
                seq: i + 1,
                term: 0,
                timestamp_ns: 1_700_000_000_000_000_000 + i as i64,
                kind,
                key: &key,
                value: &value,
            };
            let mut enc = Vec::new();
            e.encode_into(&mut enc);
            payloads.push(enc);
        }
        w.append(payloads.iter().map(Vec::as_slice))
            .expect("seed append");
        w.sync().expect("seed sync");
        let bytes = std::fs::read(w.path()).expect("seed read");
        let bytes = wal::without_zero_tail(&bytes).to_vec();
        let Scanned {
            entries, damage, ..
        } = scan_entries(&bytes);
        assert!(damage.is_empty() && entries.len() == payloads.len());
        GoodWal { bytes, entries }
    })
}

/// A good segment with bytes flipped: whatever still reads as an entry is one of the
/// original entries, at its original offset.
pub fn wal_damage(data: &[u8]) {
    let good = good_wal();
    let mut bytes = good.bytes.clone();
    flip(&mut bytes, data);
    for (offset, enc) in scan_entries(&bytes).entries {
        let original = good.entries.iter().find(|(o, _)| *o == offset);
        assert!(
            original.is_some_and(|(_, e)| *e == enc),
            "a damaged segment returned an entry at {offset} that was not written there"
        );
    }
}

/// One encoded entry: decodes, re-encodes to the same bytes; a batch value splits into
/// writes that lie inside it.
pub fn entry(data: &[u8]) {
    let Ok(e) = EntryRef::decode(data) else {
        return;
    };
    let mut enc = Vec::new();
    e.encode_into(&mut enc);
    assert_eq!(enc, data, "an entry re-encodes to its own bytes");
    if let Ok(writes) = crate::format::entry::decode_batch(e.value) {
        let inner: usize = writes.iter().map(|w| w.key.len() + w.value.len()).sum();
        assert!(inner <= e.value.len());
    }
}

// ---------------------------------------------------------------------------------------------
// SSTables

/// Reads every entry and gets each key back: keys strictly increasing, `get` agreeing with
/// the iteration. Stops at the first error (which must name the file).
fn read_table(sst: &Sst, len: usize) -> Vec<SstEntry> {
    let mut out: Vec<SstEntry> = Vec::new();
    for item in sst.iter_from(None).take(100_000) {
        match item {
            Ok(e) => {
                if let Some(prev) = out.last() {
                    assert!(prev.key < e.key, "table keys out of order");
                }
                out.push(e);
            }
            Err(e) => {
                assert_names_file(&e, len);
                return out;
            }
        }
    }
    // A table whose checksums hold may still disagree with itself (a bloom filter or an
    // index key that does not match the blocks: what a writer bug would leave), so `get`
    // may miss a key; it must never return another value for it.
    for e in &out {
        match sst.get(&e.key) {
            Ok(Some(got)) => assert_eq!(got, *e, "get disagrees with the iteration"),
            Ok(None) => {}
            Err(err) => assert_names_file(&err, len),
        }
    }
    let _ = sst.blocks();
    out
}

/// Arbitrary bytes as a table.
pub fn sst_bytes(data: &[u8]) {
    match Sst::from_bytes(input_path(), data.to_vec()) {
        Ok(sst) => {
            read_table(&sst, data.len());
        }
        Err(e) => assert_names_file(&e, data.len()),
    }
}

struct GoodSst {
    bytes: Vec<u8>,
    blocks: Vec<BlockInfo>,
    entries: Vec<SstEntry>,
}

/// Two valid tables with small blocks, one compressed with zstd, one plain.
fn good_ssts() -> &'static [GoodSst; 2] {
    static SSTS: OnceLock<[GoodSst; 2]> = OnceLock::new();
    SSTS.get_or_init(|| {
        let build = |compression| {
            let dir = tempfile::tempdir().expect("a temp dir for the fuzz seed");
            let path = dir.path().join("seed.sst");
            let opts = SstOptions {
                block_size: 512,
                bloom_bits_per_key: 10,
                compression,
            };
            let mut w = SstWriter::create(&path, 0, opts).expect("seed table");
            for i in 0..200u64 {
                let key = format!("Kkey-{i:04}");
                if i % 9 == 4 {
                    w.add(key.as_bytes(), i + 1, ValueKind::Tombstone, &[])
                        .expect("seed add");
                } else {
                    let value = format!("value {i} {}", "abc".repeat((i % 13) as usize));
                    w.add(key.as_bytes(), i + 1, ValueKind::Value, value.as_bytes())
                        .expect("seed add");
                }
            }
            w.finish().expect("seed finish");
            let bytes = std::fs::read(&path).expect("seed read");
            let sst = Sst::from_bytes(&PathBuf::from(INPUT), bytes.clone()).expect("seed opens");
            let entries = read_table(&sst, bytes.len());
            GoodSst {
                blocks: sst.blocks(),
                bytes,
                entries,
            }
        };
        [
            build(Compression::Zstd { level: 1 }),
            build(Compression::None),
        ]
    })
}

/// A good table (the first byte picks which) with bytes flipped: every entry that still
/// reads is the original one, and a failure names the file.
pub fn sst_damage(data: &[u8]) {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let good = &good_ssts()[usize::from(pick & 1)];
    let mut bytes = good.bytes.clone();
    flip(&mut bytes, data);
    let len = bytes.len();
    let sst = match Sst::from_bytes(input_path(), bytes) {
        Ok(sst) => sst,
        Err(e) => return assert_names_file(&e, len),
    };
    for item in sst.iter_from(None) {
        match item {
            Ok(e) => assert!(
                good.entries.contains(&e),
                "a damaged table returned an entry it never held: {e:?}"
            ),
            Err(e) => return assert_names_file(&e, len),
        }
    }
}

/// A good table with bytes changed inside one block (the first byte picks the table, the
/// second the block) and that block's checksum (and the footer's) recomputed, so the
/// mutation reaches the block, index, bloom and properties parsers instead of stopping at a
/// checksum. Nothing can be said of the values then; the table must still read without a
/// panic, keep its keys ordered and agree between `get` and iteration.
pub fn sst_fixed_checksums(data: &[u8]) {
    let [pick, which, data @ ..] = data else {
        return;
    };
    let good = &good_ssts()[usize::from(pick & 1)];
    let block = &good.blocks[usize::from(*which) % good.blocks.len()];
    let mut bytes = good.bytes.clone();
    let start = block.offset as usize;
    // The stored bytes and the trailer's compression byte.
    let span = block.size as usize + 1;
    let mut region = bytes[start..start + span].to_vec();
    flip(&mut region, data);
    bytes[start..start + span].copy_from_slice(&region);
    let crc = masked_crc(&[&region[..span - 1], &region[span - 1..]]);
    bytes[start + span..start + span + 4].copy_from_slice(&crc.to_le_bytes());
    match Sst::from_bytes(input_path(), bytes.clone()) {
        Ok(sst) => {
            read_table(&sst, bytes.len());
        }
        Err(e) => assert_names_file(&e, bytes.len()),
    }
}

// ---------------------------------------------------------------------------------------------
// Small files of the data dir

/// A manifest log, replayed as the engine opens it.
pub fn manifest(data: &[u8]) {
    use crate::format::manifest;
    match manifest::decode(input_path(), data) {
        Ok(log) => {
            assert!(log.valid_len <= data.len() as u64);
            if let Err(e) = manifest::replay(input_path(), &log) {
                assert_names_file(&e, data.len());
            }
        }
        Err(e) => assert_names_file(&e, data.len()),
    }
}

pub fn current(data: &[u8]) {
    if let Err(e) = crate::format::current::decode(input_path(), data) {
        assert_names_file(&e, data.len());
    }
}

/// A memtable snapshot: validated, then every entry walked inside its body.
pub fn snapshot(data: &[u8]) {
    use crate::format::snapshot;
    match snapshot::validate(input_path(), data) {
        Ok((_, body)) => {
            assert!(body.end <= data.len() && body.start <= body.end);
            let _ = snapshot::for_each_entry(data, body.clone(), |at, e| {
                assert!(at >= body.start && at + e.key.len() <= body.end);
                true
            });
        }
        Err(e) => assert_names_file(&e, data.len()),
    }
}

/// Domain values (rkyv, validated): what decodes re-encodes to bytes that decode to the
/// same value (compared encoded, since a float may be NaN).
pub fn record(data: &[u8]) {
    use crate::format::record::{Account, Order, Trade};
    macro_rules! round_trip {
        ($ty:ty) => {
            if let Ok(v) = <$ty>::decode(data) {
                let enc = v.encode();
                let again = <$ty>::decode(&enc).map(|x| x.encode());
                assert_eq!(again.ok(), Some(enc), "{} re-encodes", stringify!($ty));
            }
        };
    }
    round_trip!(Order);
    round_trip!(Trade);
    round_trip!(Account);
}

pub fn raft_state(data: &[u8]) {
    use crate::format::raft_state::RaftState;
    match RaftState::decode(input_path(), data) {
        Ok(s) => assert!(RaftState::decode(input_path(), &s.encode()).is_ok()),
        Err(e) => assert_names_file(&e, data.len()),
    }
}

pub fn archive_status(data: &[u8]) {
    use crate::format::archive_status;
    match archive_status::decode(input_path(), data) {
        Ok(s) => {
            let again = archive_status::decode(input_path(), archive_status::encode(&s).as_bytes());
            assert!(
                again.is_ok(),
                "an archive status re-encodes to a readable one"
            );
        }
        Err(e) => assert_names_file(&e, data.len()),
    }
}

// ---------------------------------------------------------------------------------------------
// Backups

/// A backup manifest (sealed JSON): decoded, then its paths checked as restore does.
pub fn backup_manifest(data: &[u8]) {
    use crate::backup::manifest::BackupManifest;
    match crate::backup::sealed::decode::<BackupManifest>(input_path(), data) {
        Ok(m) => {
            if let Err(e) = m.check_paths(input_path()) {
                assert_names_file(&e, data.len());
            }
        }
        Err(e) => assert_names_file(&e, data.len()),
    }
}

/// A stored backup file (zstd frames, one per 4 MiB block): decoded as restore would, for
/// a manifest entry whose size and blake3 come from the input's first 8 bytes and a fixed
/// value. Nothing can match the blake3, so success is itself a failure of the check.
pub fn backup_frames(data: &[u8]) {
    use crate::backup::manifest::{BackupFile, StoredAs};
    let Some((size, stored)) = data.split_first_chunk::<8>() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join(INPUT);
    std::fs::write(&path, stored).expect("write the input");
    let expect = BackupFile {
        path: "wal/00000000000000000001.wal".into(),
        // Bounded, so a claimed size cannot make the check itself allocate.
        size: u64::from_le_bytes(*size) % (64 << 20),
        blake3: "0".repeat(64),
        stored_size: stored.len() as u64,
        stored_in: None,
        stored_as: StoredAs::Zstd,
    };
    let store = crate::backup::store::LocalStore::new(dir.path());
    let result = crate::backup::codec::decode(&store, INPUT, &expect, None, 1, &|_| {});
    let e = result.expect_err("no input can match an all-zero blake3");
    assert!(e.to_string().contains(INPUT), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Network

/// RESP requests: parsed whole, and parsed again as they would arrive in pieces (split
/// where the first byte says) with one incremental parser. The two must agree.
pub fn resp(data: &[u8]) {
    use crate::serve::resp::{Limits, Parser, parse_request};
    let Some((&split, buf)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_bulk_len: 4096,
        max_args: 64,
        source: "fuzz",
    };
    let whole = parse_request(buf, &limits);
    if let Ok(Some((args, used))) = &whole {
        assert!(*used <= buf.len() && *used > 0);
        let bytes: usize = args.iter().map(Vec::len).sum();
        assert!(
            bytes <= *used,
            "{bytes} bytes of arguments from {used} bytes: {args:?}"
        );
        assert!(args.len() <= limits.max_args, "{} arguments", args.len());
        assert!(args.iter().all(|a| a.len() <= limits.max_bulk_len));
    }
    let mut parser = Parser::default();
    let step = usize::from(split).max(1);
    let mut end = step.min(buf.len());
    let pieces = loop {
        match parser.parse(&buf[..end], &limits) {
            Ok(None) if end < buf.len() => end = (end + step).min(buf.len()),
            other => break other,
        }
    };
    assert_eq!(pieces, whole, "a request parsed in pieces of {step} bytes");
}

/// A Raft frame body after its length: the kind byte, then postcard. Every message type
/// decodes or fails cleanly.
pub fn raft_wire(data: &[u8]) {
    use crate::cluster::wire::{
        Handshake, KIND_HANDSHAKE, KIND_REPLY, KIND_REQUEST, PeerReply, PeerRequest, decode_body,
    };
    let _ = decode_body::<Handshake>(data, KIND_HANDSHAKE);
    let _ = decode_body::<PeerRequest>(data, KIND_REQUEST);
    let _ = decode_body::<PeerReply>(data, KIND_REPLY);
}
