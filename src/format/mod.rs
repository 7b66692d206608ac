//! On-disk codecs, one file per format, each with its byte layout drawn at the top.
//! This layer knows bytes only: no locks, no engine state.

pub mod archive_status;
pub mod block_cache;
pub mod checked_text;
pub mod current;
pub mod entry;
pub mod envelope;
pub mod leader_contact;
pub mod manifest;
pub mod raft_state;
pub mod record;
pub mod snapshot;
pub mod sst;
pub mod wal;

/// LevelDB's CRC mask: storing the CRC of data that itself embeds CRCs (a WAL entry holding an
/// SST block, a backup of a WAL) would otherwise make the checksum of a checksum degenerate.
const CRC_MASK_DELTA: u32 = 0xa282_ead8;

pub fn mask_crc(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(CRC_MASK_DELTA)
}

pub fn masked_crc(parts: &[&[u8]]) -> u32 {
    let mut crc = 0;
    for p in parts {
        crc = crc32c::crc32c_append(crc, p);
    }
    mask_crc(crc)
}

/// Little-endian readers over a byte slice that report truncation instead of panicking.
/// Decoders of untrusted bytes use these and never index directly.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.take(2)
            .map(|b| u16::from_le_bytes(b.try_into().expect("2 bytes")))
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn i64(&mut self) -> Option<i64> {
        self.u64().map(|v| v as i64)
    }

    pub fn i32(&mut self) -> Option<i32> {
        self.u32().map(|v| v as i32)
    }

    pub fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// A varint-length-prefixed byte string.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varint_round_trip(v: u64) {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut c = Cursor::new(&out);
            prop_assert_eq!(c.varint(), Some(v));
            prop_assert_eq!(c.remaining(), 0);
        }

        #[test]
        fn cursor_never_panics(bytes: Vec<u8>) {
            let mut c = Cursor::new(&bytes);
            let _ = c.varint();
            let _ = c.bytes();
            let _ = c.u64();
            let _ = c.u32();
        }
    }
}

#[cfg(test)]
mod doc_tests {
    /// docs/formats.md collects the layout drawn at the top of each format file; regenerate
    /// it with `python3 docs/gen-formats.py` after changing one.
    #[test]
    fn formats_doc_is_fresh() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(root.join("docs/formats.md")).unwrap();
        for name in [
            "format/envelope",
            "format/wal",
            "format/entry",
            "format/record",
            "format/sst",
            "format/manifest",
            "format/current",
            "format/snapshot",
            "format/archive_status",
            "format/raft_state",
            "format/leader_contact",
            "backup/repo",
            "backup/sealed",
            "backup/manifest",
            "backup/codec",
            "backup/copy",
            "backup/archive",
            "cluster/snapshot",
        ] {
            // A format grown into a folder keeps its drawing in the folder's mod.rs.
            let file = root.join(format!("src/{name}.rs"));
            let file = if file.exists() {
                file
            } else {
                root.join(format!("src/{name}/mod.rs"))
            };
            let src = std::fs::read_to_string(file).unwrap();
            let header: Vec<&str> = src
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .map(|l| {
                    l.strip_prefix("//! ")
                        .or_else(|| l.strip_prefix("//!"))
                        .unwrap_or(l)
                })
                .collect();
            assert!(
                doc.contains(&header.join("\n")),
                "docs/formats.md is stale for {name}.rs: run `python3 docs/gen-formats.py`"
            );
        }
    }
}
