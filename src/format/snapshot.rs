//! A snapshot: the memtable image of a data dir at a sequence, for fast recovery.
//!
//! ```text
//!  snapshots/snapshot_{seq:020}.snap
//!  +-----------+------------------------------------------------------------+
//!  | envelope  | header | body: entries, sorted by key, unique            | footer |
//!  | 16 B      | 25 B   |                                                  | 20 B   |
//!  +-----------+------------------------------------------------------------+
//!
//!  header:  u64 LE snapshot seq S (every entry <= S is covered)
//!           u64 LE base checkpoint C (the SSTs held everything <= C)
//!           u64 LE entry count
//!           u8     body encoding (0 = plain; the only one in version 1)
//!  entry:   varint key len | key | u64 LE seq | u8 kind (1 value, 2 tombstone)
//!           | varint value len | value            (no value for a tombstone)
//!  footer:  u64 LE body length | u32 LE masked crc32c of header + body | "DRKT-SNP"
//! ```
//!
//! A snapshot holds the newest version of every key written after C, as of some moment at or
//! after S (entries newer than S may be in it too: replaying the WAL after S re-applies them
//! idempotently). Recovery with checkpoint C' uses the newest valid snapshot with C <= C' < S,
//! keeps only its entries above C', and replays the WAL after S. A snapshot that fails any
//! check is reported and skipped, never trusted.

use std::path::Path;

use super::envelope::{self, Kind};
use super::{Cursor, masked_crc, put_varint};
use crate::error::{Error, Result};

const HEADER_LEN: usize = 25;
const FOOTER_LEN: usize = 20;
const MAGIC: [u8; 8] = *b"DRKT-SNP";

pub fn snapshot_name(seq: u64) -> String {
    format!("snapshot_{seq:020}.snap")
}

pub fn parse_snapshot_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snapshot_")?.strip_suffix(".snap")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotHeader {
    pub seq: u64,
    pub base_checkpoint: u64,
    pub entries: u64,
}

/// One entry, borrowed from the snapshot's bytes. `value` None = tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotEntry<'a> {
    pub key: &'a [u8],
    pub seq: u64,
    pub value: Option<&'a [u8]>,
}

/// Builds a snapshot in memory; entries must come sorted by key, each key once.
#[derive(Debug)]
pub struct SnapshotBuilder {
    out: Vec<u8>,
    entries: u64,
    last_key: Option<Vec<u8>>,
}

impl SnapshotBuilder {
    pub fn new(seq: u64, base_checkpoint: u64) -> SnapshotBuilder {
        let mut out = envelope::encode(Kind::Snapshot).to_vec();
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&base_checkpoint.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.push(0);
        SnapshotBuilder {
            out,
            entries: 0,
            last_key: None,
        }
    }

    pub fn add(&mut self, key: &[u8], seq: u64, value: Option<&[u8]>) -> Result<()> {
        if self.last_key.as_deref().is_some_and(|l| l >= key) {
            return Err(Error::InvalidInput(
                "snapshot entries must be added in strictly increasing key order".into(),
            ));
        }
        put_varint(&mut self.out, key.len() as u64);
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(&seq.to_le_bytes());
        match value {
            Some(v) => {
                self.out.push(1);
                put_varint(&mut self.out, v.len() as u64);
                self.out.extend_from_slice(v);
            }
            None => self.out.push(2),
        }
        self.entries += 1;
        self.last_key = Some(key.to_vec());
        Ok(())
    }

    pub fn finish(mut self) -> Vec<u8> {
        let count_at = envelope::LEN + 16;
        self.out[count_at..count_at + 8].copy_from_slice(&self.entries.to_le_bytes());
        let body_len = (self.out.len() - envelope::LEN - HEADER_LEN) as u64;
        let crc = masked_crc(&[&self.out[envelope::LEN..]]);
        self.out.extend_from_slice(&body_len.to_le_bytes());
        self.out.extend_from_slice(&crc.to_le_bytes());
        self.out.extend_from_slice(&MAGIC);
        self.out
    }
}

/// Checks a whole snapshot (envelope, footer, checksum, every entry's framing and order) and
/// returns its header and the byte range of its body within `bytes`.
pub fn validate(path: &Path, bytes: &[u8]) -> Result<(SnapshotHeader, std::ops::Range<usize>)> {
    envelope::decode(path, bytes, Kind::Snapshot)?;
    let len = bytes.len();
    let corrupt = |offset: usize, what: &str| {
        Error::corruption(path, offset as u64, what.to_string())
            .with_hint("the snapshot is skipped and the WAL replayed in full; `drkit snapshot prune DIR` removes it")
    };
    if len < envelope::LEN + HEADER_LEN + FOOTER_LEN {
        return Err(corrupt(len, "snapshot shorter than its header and footer"));
    }
    let footer_at = len - FOOTER_LEN;
    let mut f = Cursor::new(bytes.get(footer_at..).unwrap_or_default());
    let body_len = f.u64().unwrap_or(u64::MAX);
    let crc = f.u32().unwrap_or_default();
    if f.take(8) != Some(&MAGIC[..]) {
        return Err(corrupt(
            footer_at + 12,
            "snapshot footer magic missing (cut short?)",
        ));
    }
    if body_len != (footer_at - envelope::LEN - HEADER_LEN) as u64 {
        return Err(corrupt(
            footer_at,
            "snapshot body length does not match the file size",
        ));
    }
    let covered = bytes.get(envelope::LEN..footer_at).unwrap_or_default();
    if masked_crc(&[covered]) != crc {
        return Err(corrupt(footer_at + 8, "snapshot checksum mismatch"));
    }
    let mut h = Cursor::new(covered);
    let header = SnapshotHeader {
        seq: h.u64().unwrap_or_default(),
        base_checkpoint: h.u64().unwrap_or_default(),
        entries: h.u64().unwrap_or_default(),
    };
    if h.u8() != Some(0) {
        return Err(corrupt(
            envelope::LEN + 24,
            "unknown snapshot body encoding",
        ));
    }
    let body = envelope::LEN + HEADER_LEN..footer_at;
    // Walk the entries once so that a reader can trust the framing afterwards.
    let mut n = 0u64;
    let mut last: Option<&[u8]> = None;
    let mut err = None;
    for_each_entry(bytes, body.clone(), |at, e| {
        if last.is_some_and(|l| l >= e.key) {
            err = Some(corrupt(at, "snapshot keys out of order"));
            return false;
        }
        last = Some(e.key);
        n += 1;
        true
    })
    .map_err(|at| corrupt(at, "snapshot entry cut short"))?;
    if let Some(e) = err {
        return Err(e);
    }
    if n != header.entries {
        return Err(corrupt(
            envelope::LEN + 16,
            "snapshot entry count does not match its entries",
        ));
    }
    Ok((header, body))
}

/// Calls `f(offset, entry)` for every entry in `bytes[body]`; Err(offset) where framing breaks.
pub fn for_each_entry<'a>(
    bytes: &'a [u8],
    body: std::ops::Range<usize>,
    mut f: impl FnMut(usize, SnapshotEntry<'a>) -> bool,
) -> std::result::Result<(), usize> {
    let slice = bytes.get(body.clone()).ok_or(body.start)?;
    let mut c = Cursor::new(slice);
    while c.remaining() > 0 {
        let at = body.start + c.pos();
        let key = c.bytes().ok_or(at)?;
        let seq = c.u64().ok_or(at)?;
        let value = match c.u8().ok_or(at)? {
            1 => Some(c.bytes().ok_or(at)?),
            2 => None,
            _ => return Err(at),
        };
        if !f(at, SnapshotEntry { key, seq, value }) {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #[test]
        fn round_trip(seq: u64, base: u64, entries: BTreeMap<Vec<u8>, (u64, Option<Vec<u8>>)>) {
            let mut b = SnapshotBuilder::new(seq, base);
            for (k, (s, v)) in &entries {
                b.add(k, *s, v.as_deref()).unwrap();
            }
            let bytes = b.finish();
            let (h, body) = validate(Path::new("s"), &bytes).unwrap();
            prop_assert_eq!(h, SnapshotHeader { seq, base_checkpoint: base, entries: entries.len() as u64 });
            let mut got = BTreeMap::new();
            for_each_entry(&bytes, body, |_, e| { got.insert(e.key.to_vec(), (e.seq, e.value.map(<[u8]>::to_vec))); true }).unwrap();
            prop_assert_eq!(got, entries);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = validate(Path::new("s"), &bytes);
            let mut with_env = envelope::encode(Kind::Snapshot).to_vec();
            with_env.extend_from_slice(&bytes);
            let _ = validate(Path::new("s"), &with_env);
        }
    }

    #[test]
    fn every_flipped_byte_and_every_cut_is_caught() {
        let mut b = SnapshotBuilder::new(50, 10);
        for i in 0..20u8 {
            let value = [i; 7];
            b.add(
                &[b'K', i],
                11 + u64::from(i),
                if i % 4 == 0 { None } else { Some(&value) },
            )
            .unwrap();
        }
        let bytes = b.finish();
        validate(Path::new("s"), &bytes).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                validate(Path::new("s"), &bad).is_err(),
                "flip at {i} not caught"
            );
            assert!(
                validate(Path::new("s"), &bytes[..i]).is_err(),
                "cut at {i} not caught"
            );
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!(parse_snapshot_name(&snapshot_name(77)), Some(77));
        assert_eq!(parse_snapshot_name("snapshot_77.snap"), None);
    }
}
