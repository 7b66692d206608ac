//! The repository's JSON documents (repo.json, each backup's manifest.json), sealed so that
//! any changed byte is caught, not just the ones that break the JSON.
//!
//! The file is the document in its canonical form (`serde_json` pretty text of the struct,
//! then a newline) whose `checksum` field holds the blake3 of that same text written with an
//! empty checksum. Reading re-encodes the parsed value and demands the exact bytes back: a
//! flipped byte either breaks the parse, changes a value (the checksum no longer matches) or
//! changes only the layout (the text is no longer canonical). Without this, a flipped digit
//! in a sequence number or a path would be believed. Floats are never stored: their text
//! form is not guaranteed to round-trip byte for byte.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A document with a `checksum` field and a format `version`.
pub trait Sealed: Serialize + DeserializeOwned + Clone {
    /// The newest format version this drkit reads.
    const VERSION: u16;
    fn checksum_mut(&mut self) -> &mut String;
}

fn body<T: Sealed>(doc: &T) -> Result<(Vec<u8>, String)> {
    let mut unsealed = doc.clone();
    unsealed.checksum_mut().clear();
    let text = serde_json::to_vec_pretty(&unsealed)
        .map_err(|e| Error::InvalidInput(format!("cannot encode JSON: {e}")))?;
    let sum = blake3::hash(&text).to_hex().to_string();
    Ok((text, sum))
}

/// The sealed bytes of `doc` (its checksum is filled in).
pub fn encode<T: Sealed>(doc: &T) -> Result<Vec<u8>> {
    let (_, sum) = body(doc)?;
    let mut sealed = doc.clone();
    *sealed.checksum_mut() = sum;
    let mut out = serde_json::to_vec_pretty(&sealed)
        .map_err(|e| Error::InvalidInput(format!("cannot encode JSON: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// Parses and checks a sealed document read from `path`; every failure names the file and
/// the byte offset where it goes wrong.
pub fn decode<T: Sealed>(path: &Path, bytes: &[u8]) -> Result<T> {
    let damaged = |offset: u64, what: String| {
        Error::corruption(path, offset, what).with_hint(
            "the repository file was changed or damaged after it was written; \
             do not trust this backup, take a new one (`drkit backup create`)",
        )
    };
    // The version first, so a newer drkit's file gets "upgrade", not "corrupt".
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        damaged(
            line_col_offset(bytes, e.line(), e.column()),
            format!("not valid JSON: {e}"),
        )
    })?;
    if let Some(v) = value.get("version").and_then(serde_json::Value::as_u64)
        && v > u64::from(T::VERSION)
    {
        return Err(Error::NewerVersion {
            path: path.to_path_buf(),
            found: u16::try_from(v).unwrap_or(u16::MAX),
            supported: T::VERSION,
        });
    }
    let doc: T = serde_json::from_value(value)
        .map_err(|e| damaged(0, format!("unexpected content: {e}")))?;
    let mut recorded = doc.clone();
    let recorded_sum = std::mem::take(recorded.checksum_mut());
    let (_, computed_sum) = body(&recorded)?;
    let canonical = encode(&recorded)?;
    if canonical != bytes {
        let at = canonical
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(bytes.len()));
        let what = if recorded_sum == computed_sum {
            "the text differs from its canonical form (a changed byte)".to_string()
        } else {
            format!("checksum mismatch: recorded {recorded_sum}, content hashes to {computed_sum}")
        };
        return Err(damaged(at as u64, what));
    }
    Ok(doc)
}

fn line_col_offset(bytes: &[u8], line: usize, column: usize) -> u64 {
    let mut offset = 0usize;
    for (i, l) in bytes.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)) as u64;
        }
        offset += l.len() + 1;
    }
    offset.min(bytes.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        version: u16,
        name: String,
        seq: u64,
        checksum: String,
    }

    impl Sealed for Doc {
        const VERSION: u16 = 1;
        fn checksum_mut(&mut self) -> &mut String {
            &mut self.checksum
        }
    }

    #[test]
    fn round_trips_and_every_flipped_byte_is_caught() {
        let doc = Doc {
            version: 1,
            name: "sst/sst_1_00000000000000000007.sst".into(),
            seq: 123_456,
            checksum: String::new(),
        };
        let bytes = encode(&doc).unwrap();
        let back: Doc = decode(Path::new("m.json"), &bytes).unwrap();
        assert_eq!(back.name, doc.name);
        assert_eq!(back.seq, doc.seq);
        for i in 0..bytes.len() {
            for bit in [0x01, 0x20] {
                let mut bad = bytes.clone();
                bad[i] ^= bit;
                let err = decode::<Doc>(Path::new("m.json"), &bad)
                    .expect_err(&format!("flip {bit:#x} at {i} not caught"));
                assert!(err.to_string().contains("m.json"), "{err}");
            }
        }
        assert!(decode::<Doc>(Path::new("m.json"), &bytes[..bytes.len() - 2]).is_err());
    }

    #[test]
    fn newer_version_says_upgrade() {
        let bytes = br#"{"version": 9, "name": "x", "seq": 1, "checksum": ""}"#;
        assert!(matches!(
            decode::<Doc>(Path::new("m.json"), bytes),
            Err(Error::NewerVersion { found: 9, .. })
        ));
    }
}
