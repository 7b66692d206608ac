//! ARCHIVE_STATUS: written into a data dir by `drkit wal archive`; while it exists the engine
//! keeps every WAL segment the archive does not hold yet. Plain text so an operator can `cat` it.
//!
//! ```text
//!  drkit-archive-status 1\n               format line (kind and version)
//!  repo 0123…cdef\n                      repository id, 32 hex digits
//!  history 0123…cdef\n                   history id of the dir the archive follows, 32 hex
//!  archived-through 12345\n              every closed segment whose entries are all at or
//!                                        below this sequence is in the repository (decimal)
//!  crc32c 1a2b3c4d\n                     masked crc32c of the three lines above (with their
//!                                        newlines), 8 lowercase hex digits
//! ```
//!
//! Written tmp → fsync → rename → fsync dir. A file that does not decode means "hold every
//! segment": deleting WAL that may not be archived is the one mistake this file exists to
//! prevent, so damage errs towards keeping.

use std::path::Path;

use super::checked_text;
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "ARCHIVE_STATUS";
const KIND: &str = "drkit-archive-status";
const VERSION: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveStatus {
    #[serde(serialize_with = "hex16")]
    pub repo_id: [u8; 16],
    #[serde(serialize_with = "hex16")]
    pub history_id: [u8; 16],
    pub archived_through: u64,
}

fn hex16<S: serde::Serializer>(v: &[u8; 16], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(v))
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 lowercase hex digits (the form `encode` writes; anything else is damage).
pub fn parse_hex16(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

pub fn encode(s: &ArchiveStatus) -> String {
    checked_text::encode(
        KIND,
        VERSION,
        &[
            ("repo", to_hex(&s.repo_id)),
            ("history", to_hex(&s.history_id)),
            ("archived-through", s.archived_through.to_string()),
        ],
    )
}

pub fn decode(path: &Path, bytes: &[u8]) -> Result<ArchiveStatus> {
    let bad = |offset: usize, what: &str| {
        Error::corruption(path, offset as u64, format!("ARCHIVE_STATUS: {what}")).with_hint(
            "the engine keeps every WAL segment while this file is unreadable; the next \
             `drkit wal archive` run rewrites it",
        )
    };
    let fields = checked_text::decode(
        bytes,
        KIND,
        VERSION,
        &["repo", "history", "archived-through"],
    )
    .map_err(|b| b.into_error(path, VERSION, bad))?;
    let [
        (repo, repo_at),
        (history, history_at),
        (through, through_at),
    ] = fields[..]
    else {
        return Err(bad(0, "wrong number of fields"));
    };
    let repo_id = parse_hex16(repo).ok_or_else(|| bad(repo_at, "repo id is not 32 hex digits"))?;
    let history_id =
        parse_hex16(history).ok_or_else(|| bad(history_at, "history id is not 32 hex digits"))?;
    let archived_through = checked_text::decimal(through)
        .ok_or_else(|| bad(through_at, "archived-through is not a decimal number"))?;
    Ok(ArchiveStatus {
        repo_id,
        history_id,
        archived_through,
    })
}

/// What the engine (or a tool) finds in a data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// No status file: archiving is off, segments go as soon as the checkpoint passes them.
    Off,
    /// Keep segments with entries above `archived_through` (of this history).
    Through(ArchiveStatus),
    /// The file exists but cannot be trusted: keep everything.
    Unreadable(String),
}

pub fn read(dir: &Path) -> Hold {
    let path = dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => match decode(&path, &bytes) {
            Ok(s) => Hold::Through(s),
            Err(e) => Hold::Unreadable(e.to_string()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Hold::Off,
        Err(e) => Hold::Unreadable(Error::io(&path, e).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ArchiveStatus {
        ArchiveStatus {
            repo_id: [0xab; 16],
            history_id: [0x01; 16],
            archived_through: 12_345,
        }
    }

    #[test]
    fn round_trip_and_every_flipped_byte_is_caught() {
        let p = Path::new("ARCHIVE_STATUS");
        let bytes = encode(&sample()).into_bytes();
        assert_eq!(decode(p, &bytes).unwrap(), sample());
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x20] {
                let mut bad = bytes.clone();
                bad[i] ^= bit;
                assert!(
                    decode(p, &bad).is_err(),
                    "flip {bit:#x} at {i} not caught: {:?}",
                    String::from_utf8_lossy(&bad)
                );
            }
        }
        assert!(decode(p, &bytes[..bytes.len() - 1]).is_err());
        assert!(matches!(
            decode(p, b"drkit-archive-status 7\n"),
            Err(Error::NewerVersion { found: 7, .. })
        ));
    }

    #[test]
    fn missing_file_is_off_and_garbage_holds_everything() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Hold::Off);
        std::fs::write(dir.path().join(FILE_NAME), b"garbage").unwrap();
        assert!(matches!(read(dir.path()), Hold::Unreadable(_)));
        std::fs::write(dir.path().join(FILE_NAME), encode(&sample())).unwrap();
        assert_eq!(read(dir.path()), Hold::Through(sample()));
    }

    proptest! {
        #[test]
        fn never_panics(bytes: Vec<u8>) {
            let _ = decode(Path::new("ARCHIVE_STATUS"), &bytes);
        }

        #[test]
        fn round_trips(repo: [u8; 16], history: [u8; 16], through: u64) {
            let s = ArchiveStatus { repo_id: repo, history_id: history, archived_through: through };
            prop_assert_eq!(decode(Path::new("S"), encode(&s).as_bytes()).unwrap(), s);
        }
    }
}
