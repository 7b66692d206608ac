//! The envelope every drkit file starts with.
//!
//! ```text
//!  0        8         10        12             16
//!  +--------+---------+---------+--------------+
//!  | magic  | version | flags   | crc32c (mask)|
//!  | 8 B    | u16 LE  | u16 LE  | of bytes 0..12|
//!  +--------+---------+---------+--------------+
//! ```
//!
//! `magic` names the file kind. `flags`: the low byte holds "must understand" features (a
//! reader that sees an unknown one refuses the file); the high byte holds optional features a
//! reader may ignore. No feature bits are defined yet; a kind's layout changes with its version
//! (SSTables are at version 2, every other kind at 1).

use std::path::Path;

use super::{Cursor, masked_crc};
use crate::error::{Error, Result};

pub const LEN: usize = 16;

/// Flags in the low byte must be understood by every reader.
const MUST_UNDERSTAND_MASK: u16 = 0x00ff;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Wal,
    Sst,
    Manifest,
    Snapshot,
    RaftState,
    RaftSnapshot,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Wal,
        Kind::Sst,
        Kind::Manifest,
        Kind::Snapshot,
        Kind::RaftState,
        Kind::RaftSnapshot,
    ];

    pub fn magic(self) -> [u8; 8] {
        match self {
            Kind::Wal => *b"DRKT-WAL",
            Kind::Sst => *b"DRKT-SST",
            Kind::Manifest => *b"DRKT-MAN",
            Kind::Snapshot => *b"DRKT-SNP",
            Kind::RaftState => *b"DRKT-RFS",
            Kind::RaftSnapshot => *b"DRKT-RSN",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Wal => "WAL segment",
            Kind::Sst => "SSTable",
            Kind::Manifest => "manifest",
            Kind::Snapshot => "snapshot",
            Kind::RaftState => "Raft state file",
            Kind::RaftSnapshot => "Raft snapshot",
        }
    }

    /// The newest version of this kind the code reads and writes (older ones are still read).
    pub fn version(self) -> u16 {
        match self {
            // 2: compressed data blocks (see sst/).
            Kind::Sst => 2,
            _ => 1,
        }
    }

    fn from_magic(m: &[u8]) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.magic() == m)
    }
}

pub fn encode(kind: Kind) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out[..8].copy_from_slice(&kind.magic());
    out[8..10].copy_from_slice(&kind.version().to_le_bytes());
    out[10..12].copy_from_slice(&0u16.to_le_bytes());
    let crc = masked_crc(&[&out[..12]]);
    out[12..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Checks that `bytes` (the start of `path`) is a readable envelope of `kind`; returns the
/// version found. Errors name the file and say what to do.
pub fn decode(path: &Path, bytes: &[u8], kind: Kind) -> Result<u16> {
    let mut c = Cursor::new(bytes);
    let header = c.take(LEN).ok_or_else(|| {
        Error::corruption(
            path,
            bytes.len() as u64,
            format!(
                "file too short for a {} header ({} of {LEN} bytes)",
                kind.name(),
                bytes.len()
            ),
        )
    })?;
    let mut h = Cursor::new(header);
    let magic = h.take(8).unwrap_or_default();
    if magic != kind.magic() {
        let found = match Kind::from_magic(magic) {
            Some(other) => other.name().to_string(),
            None => "non-drkit".to_string(),
        };
        return Err(Error::WrongKind {
            path: path.to_path_buf(),
            expected: kind.name(),
            found,
        });
    }
    let version = h.u16().unwrap_or_default();
    let flags = h.u16().unwrap_or_default();
    let stored = h.u32().unwrap_or_default();
    if stored != masked_crc(&[&header[..12]]) {
        return Err(Error::corruption(
            path,
            12,
            format!("{} header checksum mismatch", kind.name()),
        ));
    }
    if version > kind.version() || version == 0 {
        return Err(Error::NewerVersion {
            path: path.to_path_buf(),
            found: version,
            supported: kind.version(),
        });
    }
    if flags & MUST_UNDERSTAND_MASK != 0 {
        return Err(Error::UnknownFeatures {
            path: path.to_path_buf(),
            flags: flags & MUST_UNDERSTAND_MASK,
        });
    }
    Ok(version)
}

/// Which kind of drkit file `bytes` starts with, if any (for tools given an arbitrary path).
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    bytes.get(..8).and_then(Kind::from_magic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_never_panics_and_accepts_only_its_own_kind(bytes: Vec<u8>, k in 0usize..Kind::ALL.len()) {
            let kind = Kind::ALL[k];
            if decode(Path::new("f"), &bytes, kind).is_ok() {
                prop_assert_eq!(&bytes[..8], &kind.magic());
            }
            let _ = sniff(&bytes);
        }
    }

    #[test]
    fn round_trip_each_kind() {
        for k in Kind::ALL {
            let e = encode(k);
            assert_eq!(decode(Path::new("f"), &e, k).unwrap(), k.version());
            assert_eq!(sniff(&e), Some(k));
        }
    }

    #[test]
    fn wrong_kind_newer_version_and_unknown_flags_are_refused() {
        let p = Path::new("x");
        let wal = encode(Kind::Wal);
        assert!(matches!(
            decode(p, &wal, Kind::Sst),
            Err(Error::WrongKind { .. })
        ));

        let mut newer = wal;
        newer[8..10].copy_from_slice(&2u16.to_le_bytes());
        let crc = masked_crc(&[&newer[..12]]);
        newer[12..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            decode(p, &newer, Kind::Wal),
            Err(Error::NewerVersion { found: 2, .. })
        ));

        let mut flagged = wal;
        flagged[10..12].copy_from_slice(&1u16.to_le_bytes());
        let crc = masked_crc(&[&flagged[..12]]);
        flagged[12..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            decode(p, &flagged, Kind::Wal),
            Err(Error::UnknownFeatures { .. })
        ));

        // Optional (high byte) flags are fine.
        let mut optional = wal;
        optional[10..12].copy_from_slice(&0x0100u16.to_le_bytes());
        let crc = masked_crc(&[&optional[..12]]);
        optional[12..].copy_from_slice(&crc.to_le_bytes());
        decode(p, &optional, Kind::Wal).unwrap();

        assert!(matches!(
            decode(p, b"short", Kind::Wal),
            Err(Error::Corruption { .. })
        ));
        let mut flipped = wal;
        flipped[9] ^= 0x40;
        assert!(decode(p, &flipped, Kind::Wal).is_err());
    }
}
