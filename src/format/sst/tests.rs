#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is the clearest test failure"
)]
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

type Model = BTreeMap<Vec<u8>, (u64, ValueKind, Vec<u8>)>;

fn write(path: &Path, model: &Model, opts: SstOptions) -> SstProperties {
    let mut w = SstWriter::create(path, 3, opts).unwrap();
    for (k, (seq, kind, v)) in model {
        w.add(k, *seq, *kind, v).unwrap();
    }
    assert_eq!(w.entries(), model.len() as u64);
    w.finish().unwrap()
}

fn expected(model: &Model, start: Option<&[u8]>) -> Vec<SstEntry> {
    model
        .iter()
        .filter(|(k, _)| start.is_none_or(|s| k.as_slice() >= s))
        .map(|(k, (seq, kind, v))| SstEntry {
            key: k.clone(),
            seq: *seq,
            kind: *kind,
            value: v.clone(),
        })
        .collect()
}

fn collect(sst: &Sst, start: Option<&[u8]>) -> Vec<SstEntry> {
    sst.iter_from(start).collect::<Result<Vec<_>>>().unwrap()
}

/// Recomputes the trailer of the block at `h` after its contents were edited.
fn reseal(bytes: &mut [u8], h: Handle) {
    let start = h.offset as usize;
    let end = start + h.len as usize;
    let crc = masked_crc(&[&bytes[start..end], &bytes[end..end + 1]]);
    bytes[end + 1..end + 5].copy_from_slice(&crc.to_le_bytes());
}

fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        6 => proptest::collection::vec(any::<u8>(), 0..48),
        // Large values are generated from a seed: drawing 5 KiB byte by byte is slow.
        1 => (4097usize..6000, any::<u8>())
            .prop_map(|(n, b)| (0..n).map(|i| b.wrapping_add(i as u8)).collect()),
    ]
}

fn model_strategy(max: usize) -> impl Strategy<Value = Model> {
    proptest::collection::btree_map(
        proptest::collection::vec(any::<u8>(), 0..20),
        (any::<u64>(), any::<bool>(), value_strategy()).prop_map(|(seq, tomb, v)| {
            if tomb {
                (seq, ValueKind::Tombstone, Vec::new())
            } else {
                (seq, ValueKind::Value, v)
            }
        }),
        0..max,
    )
}

fn opts_strategy() -> impl Strategy<Value = SstOptions> {
    let compression = prop_oneof![
        Just(Compression::None),
        Just(Compression::Zstd { level: 1 }),
        Just(Compression::default()),
    ];
    (
        prop_oneof![Just(64usize), Just(512), Just(4096)],
        0u32..16,
        compression,
    )
        .prop_map(|(block_size, bloom_bits_per_key, compression)| SstOptions {
            block_size,
            bloom_bits_per_key,
            compression,
        })
}

/// A table of about three data blocks, as bytes, with its data blocks compressed.
fn small_table() -> (Model, Vec<u8>) {
    small_table_with(Compression::default())
}

fn small_table_with(compression: Compression) -> (Model, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.sst");
    let mut model = Model::new();
    for i in 0..24u64 {
        let kind = if i % 7 == 3 {
            ValueKind::Tombstone
        } else {
            ValueKind::Value
        };
        let value = if kind == ValueKind::Tombstone || i == 5 {
            Vec::new()
        } else {
            format!("value-{i}-{}", "x".repeat(i as usize)).into_bytes()
        };
        model.insert(format!("key-{i:04}").into_bytes(), (100 + i, kind, value));
    }
    let opts = SstOptions {
        block_size: 300,
        bloom_bits_per_key: 10,
        compression,
    };
    let props = write(&path, &model, opts);
    assert!(props.data_blocks >= 3, "{props:?}");
    let bytes = fs::read(&path).unwrap();
    let sst = Sst::from_bytes(&path, bytes.clone()).unwrap();
    let zstd_blocks = sst
        .blocks()
        .iter()
        .filter(|b| b.compression == Some("zstd"))
        .count();
    assert_eq!(
        zstd_blocks == 0,
        compression == Compression::None,
        "{zstd_blocks} compressed blocks"
    );
    (model, bytes)
}

/// The same table as a version 1 writer would have written it (no compression allowed).
fn downgrade_to_v1(bytes: &[u8]) -> Vec<u8> {
    const V2_PROPS_EXTRA: usize = 1 + 4 + 8;
    let sst = Sst::from_bytes(Path::new("t.sst"), bytes.to_vec()).unwrap();
    assert!(sst.blocks().iter().all(|b| b.compression == Some("none")));
    let props_h = sst.props_h;
    let props_end = (props_h.offset + u64::from(props_h.len)) as usize;
    let mut out = envelope::encode(Kind::Sst).to_vec();
    out[8..10].copy_from_slice(&1u16.to_le_bytes());
    let crc = masked_crc(&[&out[..12]]);
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&bytes[envelope::LEN..props_end - V2_PROPS_EXTRA]);
    let v1_props = Handle {
        offset: props_h.offset,
        len: props_h.len - V2_PROPS_EXTRA as u32,
    };
    out.extend_from_slice(&[COMPRESSION_NONE, 0, 0, 0, 0]);
    reseal(&mut out, v1_props);
    let mut footer = Vec::new();
    for h in [sst.index_h, sst.bloom_h, v1_props] {
        footer.extend_from_slice(&h.offset.to_le_bytes());
        footer.extend_from_slice(&h.len.to_le_bytes());
    }
    let crc = masked_crc(&[&footer]);
    footer.extend_from_slice(&crc.to_le_bytes());
    footer.extend_from_slice(&Kind::Sst.magic());
    out.extend_from_slice(&footer);
    out
}

/// Whether reading all of `bytes` as a table reports an error anywhere.
fn any_error(bytes: Vec<u8>, model: &Model) -> bool {
    let Ok(sst) = Sst::from_bytes(Path::new("damaged.sst"), bytes) else {
        return true;
    };
    let iter_err = sst.iter_from(None).any(|r| r.is_err());
    let get_err = model.keys().any(|k| sst.get(k).is_err());
    iter_err || get_err
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn round_trip(
        model in model_strategy(500),
        opts in opts_strategy(),
        absent in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..20),
        starts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 1..10),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        if model.is_empty() {
            let w = SstWriter::create(&path, 0, opts).unwrap();
            prop_assert!(matches!(w.finish(), Err(Error::InvalidInput(_))));
            prop_assert!(!path.exists());
            return Ok(());
        }
        let written = write(&path, &model, opts);
        let file_size = fs::metadata(&path).unwrap().len();
        prop_assert_eq!(written.file_size, file_size);

        let mapped = Sst::open(&path).unwrap();
        let owned = Sst::from_bytes(&path, fs::read(&path).unwrap()).unwrap();
        for sst in [&mapped, &owned] {
            let p = sst.properties();
            prop_assert_eq!(p, &written);
            prop_assert_eq!(p.level, 3);
            prop_assert_eq!(&p.smallest, model.keys().next().unwrap());
            prop_assert_eq!(&p.largest, model.keys().next_back().unwrap());
            prop_assert_eq!(p.entries, model.len() as u64);
            let tombs = model.values().filter(|v| v.1 == ValueKind::Tombstone).count();
            prop_assert_eq!(p.tombstones, tombs as u64);
            prop_assert_eq!(p.min_seq, model.values().map(|v| v.0).min().unwrap());
            prop_assert_eq!(p.max_seq, model.values().map(|v| v.0).max().unwrap());
            prop_assert_eq!(p.raw_key_bytes, model.keys().map(|k| k.len() as u64).sum::<u64>());
            prop_assert_eq!(p.raw_value_bytes, model.values().map(|v| v.2.len() as u64).sum::<u64>());
            prop_assert_eq!(p.bloom_bits_per_key, opts.bloom_bits_per_key);
            prop_assert_eq!(p.compression, opts.compression);
            prop_assert_eq!(p.format_version, 2);
            prop_assert_eq!(p.file_size, file_size);
            prop_assert_eq!(sst.path(), path.as_path());

            prop_assert_eq!(collect(sst, None), expected(&model, None));
            for e in expected(&model, None) {
                prop_assert!(sst.may_contain(&e.key));
                prop_assert_eq!(sst.get(&e.key).unwrap(), Some(e));
            }
            for k in &absent {
                if !model.contains_key(k) {
                    prop_assert_eq!(sst.get(k).unwrap(), None);
                }
            }
            for k in model.keys() {
                let mut after = k.clone();
                after.push(0);
                if !model.contains_key(&after) {
                    prop_assert_eq!(sst.get(&after).unwrap(), None);
                }
            }

            let blocks = sst.blocks();
            let data: Vec<_> = blocks.iter().filter(|b| b.kind == "data").collect();
            prop_assert_eq!(data.len() as u64, p.data_blocks);
            prop_assert!(blocks.iter().all(|b| b.checksum_ok));
            prop_assert_eq!(data.iter().map(|b| b.entries.unwrap()).sum::<u64>(), p.entries);
            prop_assert_eq!(data.iter().map(|b| b.raw_size.unwrap()).sum::<u64>(), p.raw_data_bytes);
            for b in &data {
                let compressed = b.compression == Some("zstd");
                prop_assert!(!compressed || opts.compression != Compression::None);
                // Stored compressed only when that saves at least an eighth.
                let raw = b.raw_size.unwrap();
                prop_assert!(!compressed || b.size <= raw - raw / 8, "{:?}", b);
                prop_assert!(compressed || b.size == raw);
            }
            prop_assert_eq!(data.last().unwrap().last_key.as_deref(), Some(p.largest.as_slice()));
            let kinds: Vec<_> = blocks.iter().skip(data.len()).map(|b| b.kind).collect();
            prop_assert_eq!(kinds, ["index", "bloom", "properties"]);
            let mut at = envelope::LEN as u64;
            for b in &blocks {
                prop_assert_eq!(b.offset, at);
                at += b.size + TRAILER_LEN as u64;
            }
            prop_assert_eq!(at + FOOTER_LEN as u64, file_size);

            for s in starts.iter().chain(model.keys()) {
                prop_assert_eq!(collect(sst, Some(s)), expected(&model, Some(s)));
            }
        }
    }

    #[test]
    fn iter_from_random_starts(
        model in model_strategy(200),
        opts in opts_strategy(),
        starts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..30),
    ) {
        prop_assume!(!model.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        write(&path, &model, opts);
        let sst = Sst::from_bytes(&path, fs::read(&path).unwrap()).unwrap();
        for s in &starts {
            prop_assert_eq!(collect(&sst, Some(s)), expected(&model, Some(s)));
            // A partially consumed iterator continues where it stopped.
            let mut it = sst.iter_from(Some(s));
            let first = it.next().transpose().unwrap();
            let want = expected(&model, Some(s));
            prop_assert_eq!(first.as_ref(), want.first());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let p = Path::new("junk.sst");
        let _ = Sst::from_bytes(p, bytes.clone());
        // Past the envelope, so the footer and block decoders see the junk too.
        let mut framed = envelope::encode(Kind::Sst).to_vec();
        framed.extend_from_slice(&bytes);
        if let Ok(sst) = Sst::from_bytes(p, framed) {
            let _ = sst.iter_from(None).count();
            let _ = sst.get(&bytes);
            let _ = sst.blocks();
        }
    }

    /// Damage that a checksum cannot see (the trailer is recomputed) must still never
    /// panic, whichever block it hits.
    #[test]
    fn resealed_garbage_never_panics(
        block in 0usize..16,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..12),
    ) {
        let (model, mut bytes) = small_table();
        let sst = Sst::from_bytes(Path::new("t.sst"), bytes.clone()).unwrap();
        let handles: Vec<Handle> = sst
            .blocks()
            .iter()
            .map(|b| Handle { offset: b.offset, len: b.size as u32 })
            .collect();
        let h = handles[block % handles.len()];
        for (at, v) in edits {
            if h.len > 0 {
                bytes[h.offset as usize + at as usize % h.len as usize] = v;
            }
        }
        reseal(&mut bytes, h);
        if let Ok(sst) = Sst::from_bytes(Path::new("t.sst"), bytes) {
            let _ = sst.iter_from(None).count();
            for k in model.keys() {
                let _ = sst.get(k);
                let _ = sst.iter_from(Some(k)).count();
            }
            let _ = sst.blocks();
        }
    }

    #[test]
    fn resealed_footer_garbage_never_panics(fields in proptest::collection::vec(any::<u8>(), 36)) {
        let (_, mut bytes) = small_table();
        let at = bytes.len() - FOOTER_LEN;
        bytes[at..at + 36].copy_from_slice(&fields);
        let crc = masked_crc(&[&fields]);
        bytes[at + 36..at + 40].copy_from_slice(&crc.to_le_bytes());
        prop_assert!(Sst::from_bytes(Path::new("t.sst"), bytes).is_err());
    }
}

/// The same small table compressed, uncompressed, and as version 1 wrote it.
fn small_tables() -> Vec<(Model, Vec<u8>)> {
    let (model, plain) = small_table_with(Compression::None);
    let v1 = downgrade_to_v1(&plain);
    vec![small_table(), (model.clone(), plain), (model, v1)]
}

#[test]
fn every_single_byte_flip_is_detected() {
    for (model, bytes) in small_tables() {
        assert!(!any_error(bytes.clone(), &model));
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] ^= mask;
                assert!(
                    any_error(damaged, &model),
                    "flipping byte {i} with {mask:#04x} went unnoticed"
                );
            }
        }
    }
}

#[test]
fn every_truncation_is_detected() {
    for (_, bytes) in small_tables() {
        for n in 0..bytes.len() {
            let err = Sst::from_bytes(Path::new("t.sst"), bytes[..n].to_vec());
            assert!(err.is_err(), "truncation to {n} bytes went unnoticed");
        }
    }
}

#[test]
fn version_1_tables_read_as_before() {
    let (model, plain) = small_table_with(Compression::None);
    let v1 = downgrade_to_v1(&plain);
    let sst = Sst::from_bytes(Path::new("v1.sst"), v1.clone()).unwrap();
    assert_eq!(sst.format_version(), 1);
    let p = sst.properties();
    assert_eq!(p.format_version, 1);
    assert_eq!(p.compression, Compression::None);
    assert_eq!(p.file_size, v1.len() as u64);
    let data = sst.blocks();
    let stored: u64 = data
        .iter()
        .filter(|b| b.kind == "data")
        .map(|b| b.size)
        .sum();
    assert_eq!(p.raw_data_bytes, stored);
    assert_eq!(collect(&sst, None), expected(&model, None));

    // A version 1 table cannot hold a compressed block, even with a valid checksum.
    let mut bad = v1;
    let first = data[0].clone();
    let h = Handle {
        offset: first.offset,
        len: first.size as u32,
    };
    bad[(first.offset + first.size) as usize] = COMPRESSION_ZSTD;
    reseal(&mut bad, h);
    let sst = Sst::from_bytes(Path::new("v1.sst"), bad).unwrap();
    let err = sst.iter_from(None).find_map(|r| r.err()).unwrap();
    assert!(
        err.to_string().contains("unknown compression type 1"),
        "{err}"
    );
}

#[test]
fn a_compressed_block_with_a_wrong_or_huge_raw_length_is_refused() {
    let (model, bytes) = small_table();
    let sst = Sst::from_bytes(Path::new("t.sst"), bytes.clone()).unwrap();
    let first = sst.blocks()[0].clone();
    assert_eq!(first.compression, Some("zstd"));
    let h = Handle {
        offset: first.offset,
        len: first.size as u32,
    };
    let at = first.offset as usize;
    let mut c = Cursor::new(&bytes[at..]);
    let raw_len = c.varint().unwrap();
    let varint_len = c.pos();
    for declared in [
        raw_len - 1,
        raw_len + 1,
        (MAX_COMPRESSED_RAW_LEN as u64) + 1,
    ] {
        let mut header = Vec::new();
        put_varint(&mut header, declared);
        let mut stored = header;
        stored.extend_from_slice(&bytes[at + varint_len..at + first.size as usize]);
        let mut damaged = bytes[..at].to_vec();
        damaged.extend_from_slice(&stored);
        damaged.extend_from_slice(&bytes[at + first.size as usize..]);
        if stored.len() != first.size as usize {
            // A longer varint shifts the block: the index no longer tiles the file.
            assert!(Sst::from_bytes(Path::new("t.sst"), damaged).is_err());
            continue;
        }
        reseal(&mut damaged, h);
        let sst = Sst::from_bytes(Path::new("t.sst"), damaged).unwrap();
        let err = sst.get(model.keys().next().unwrap()).unwrap_err();
        match &err {
            Error::Corruption { offset, .. } => assert_eq!(*offset, first.offset),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn incompressible_blocks_are_stored_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut model = Model::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..64u64 {
        let value: Vec<u8> = (0..200)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        model.insert(
            format!("k{i:03}").into_bytes(),
            (i, ValueKind::Value, value),
        );
    }
    write(&path, &model, SstOptions::default());
    let sst = Sst::open(&path).unwrap();
    let data: Vec<_> = sst
        .blocks()
        .into_iter()
        .filter(|b| b.kind == "data")
        .collect();
    assert!(data.len() > 2);
    assert!(
        data.iter().all(|b| b.compression == Some("none")),
        "{data:?}"
    );
    assert_eq!(collect(&sst, None), expected(&model, None));
}

#[test]
fn check_checksums_finds_every_flip_without_decompressing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    for (_, bytes) in small_tables() {
        fs::write(&path, &bytes).unwrap();
        check_checksums(&path).unwrap();
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x04;
            fs::write(&path, &bad).unwrap();
            assert!(check_checksums(&path).is_err(), "flip at {i}");
        }
    }
}

#[test]
fn stored_compression_reads_only_the_properties() {
    let dir = tempfile::tempdir().unwrap();
    for (name, (_, bytes)) in [
        ("zstd", small_table()),
        ("none", small_table_with(Compression::None)),
        ("v1", {
            let (m, b) = small_table_with(Compression::None);
            (m, downgrade_to_v1(&b))
        }),
    ] {
        let path = dir.path().join(format!("{name}.sst"));
        fs::write(&path, &bytes).unwrap();
        let want = if name == "zstd" {
            Compression::default()
        } else {
            Compression::None
        };
        assert_eq!(stored_compression(&path).unwrap(), want, "{name}");
        if name == "v1" {
            // Known uncompressed from the envelope alone.
            continue;
        }
        // Damage in the properties or footer is refused, not guessed around.
        let props_at = Sst::from_bytes(&path, bytes.clone())
            .unwrap()
            .props_h
            .offset;
        for at in [props_at as usize + 3, bytes.len() - 20] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            fs::write(&path, &bad).unwrap();
            assert!(stored_compression(&path).is_err(), "{name} flip at {at}");
        }
        fs::write(&path, &bytes[..30]).unwrap();
        assert!(stored_compression(&path).is_err(), "{name} truncated");
    }
}

#[test]
fn compression_parses_and_prints() {
    assert_eq!("none".parse(), Ok(Compression::None));
    assert_eq!("zstd".parse(), Ok(Compression::default()));
    assert_eq!("zstd:9".parse(), Ok(Compression::Zstd { level: 9 }));
    for bad in ["zstd:", "zstd:99", "lz4", "zstd:x", "none:1"] {
        assert!(bad.parse::<Compression>().is_err(), "{bad}");
    }
    assert_eq!(Compression::Zstd { level: 3 }.to_string(), "zstd:3");
    assert_eq!(Compression::None.to_string(), "none");
}

#[test]
fn damage_report_names_file_and_offset() {
    let (model, mut bytes) = small_table();
    let sst = Sst::from_bytes(Path::new("t.sst"), bytes.clone()).unwrap();
    let second = sst.blocks()[1].clone();
    assert_eq!(second.kind, "data");
    bytes[second.offset as usize + 2] ^= 0x10;
    let sst = Sst::from_bytes(Path::new("/d/sst/7.sst"), bytes).unwrap();
    let err = sst.iter_from(None).find_map(|r| r.err()).unwrap();
    match &err {
        Error::Corruption { path, offset, .. } => {
            assert_eq!(path, Path::new("/d/sst/7.sst"));
            assert_eq!(*offset, second.offset);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("drkit verify"), "{err}");
    // The iterator ends after an error.
    let mut it = sst.iter_from(None);
    assert!(it.by_ref().any(|r| r.is_err()));
    assert!(it.next().is_none());
    let bad_key = model.keys().find(|k| sst.get(k).is_err());
    assert!(bad_key.is_some());
    let blocks = sst.blocks();
    assert!(!blocks[1].checksum_ok);
    assert!(
        blocks
            .iter()
            .enumerate()
            .all(|(i, b)| i == 1 || b.checksum_ok)
    );
}

#[test]
fn wal_file_is_wrong_kind() {
    let (_, bytes) = small_table();
    let mut wal = bytes;
    wal[..envelope::LEN].copy_from_slice(&envelope::encode(Kind::Wal));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("1.wal");
    fs::write(&path, &wal).unwrap();
    assert!(matches!(Sst::open(&path), Err(Error::WrongKind { .. })));
    assert!(matches!(
        Sst::from_bytes(&path, wal),
        Err(Error::WrongKind { .. })
    ));
}

#[test]
fn writer_refuses_unordered_keys_and_abandon_removes_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut w = SstWriter::create(&path, 0, SstOptions::default()).unwrap();
    w.add(b"b", 1, ValueKind::Value, b"v").unwrap();
    for k in [&b"b"[..], b"a", b""] {
        assert!(matches!(
            w.add(k, 2, ValueKind::Value, b""),
            Err(Error::InvalidInput(_))
        ));
    }
    w.add(b"c", 2, ValueKind::Tombstone, b"").unwrap();
    assert_eq!(w.entries(), 2);
    assert!(w.estimated_size() > envelope::LEN as u64);
    assert!(path.exists());
    w.abandon();
    assert!(!path.exists());
}

#[test]
fn tables_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sst>();
    assert_send_sync::<SstWriter>();
}

#[test]
fn bloom_parameters() {
    assert_eq!(bloom_probes(0), 1);
    assert_eq!(bloom_probes(10), 7);
    assert_eq!(bloom_probes(100), 30);
    let bloom = build_bloom(&[1, 2, 3], 10);
    assert_eq!(bloom[0], 7);
    assert_eq!((bloom.len() - 1) * 8, 64);
}

#[test]
fn bloom_rejects_most_absent_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    let mut w = SstWriter::create(&path, 0, SstOptions::default()).unwrap();
    for i in 0..2000u32 {
        w.add(
            format!("k{i:06}").as_bytes(),
            u64::from(i),
            ValueKind::Value,
            b"",
        )
        .unwrap();
    }
    w.finish().unwrap();
    let sst = Sst::open(&path).unwrap();
    let false_positives = (0..2000u32)
        .filter(|i| sst.may_contain(format!("absent{i}").as_bytes()))
        .count();
    // ~1% expected at 10 bits per key.
    assert!(false_positives < 60, "{false_positives} false positives");
}

#[test]
fn after_blocks_that_do_not_compress_only_one_in_sixteen_is_tried() {
    let mut a = Attempts::default();
    let mut tried = Vec::new();
    for _ in 0..8 + 48 {
        let t = a.worth_trying();
        tried.push(t);
        if t {
            a.record(false);
        }
    }
    assert!(tried[..8].iter().all(|&t| t), "every block until 8 misses");
    assert_eq!(tried[8..].iter().filter(|&&t| t).count(), 3, "{tried:?}");
    // One that pays: every block is tried again.
    while !a.worth_trying() {}
    a.record(true);
    assert!((0..20).all(|_| a.worth_trying()));
}

/// Values of random bytes, then values of text, in one table: the random blocks are stored
/// as they are and cost few attempts, and once the text starts the writer notices within a
/// back-off period and compresses it again. Every entry reads back.
#[test]
fn a_table_turning_compressible_compresses_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.sst");
    let mut model = Model::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    for i in 0..400u64 {
        let value = if i < 200 {
            random(1000)
        } else {
            format!("order {i} side=buy qty=100 price=42.00 ")
                .repeat(25)
                .into_bytes()
        };
        model.insert(
            format!("k{i:05}").into_bytes(),
            (i + 1, ValueKind::Value, value),
        );
    }
    let opts = SstOptions {
        block_size: 512,
        bloom_bits_per_key: 10,
        compression: Compression::default(),
    };
    write(&path, &model, opts);
    let sst = Sst::open(&path).unwrap();
    let blocks: Vec<bool> = sst
        .blocks()
        .iter()
        .filter(|b| b.kind == "data")
        .map(|b| b.compression == Some("zstd"))
        .collect();
    assert_eq!(blocks.len(), 400, "a block per entry");
    assert!(
        blocks[..200].iter().all(|&z| !z),
        "random bytes do not compress"
    );
    let late = blocks[200..].iter().take_while(|&&z| !z).count();
    assert!(late < 16, "text compressed again only after {late} blocks");
    assert!(blocks[200 + late..].iter().all(|&z| z));
    assert_eq!(collect(&sst, None), expected(&model, None));
}
