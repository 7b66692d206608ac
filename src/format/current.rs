//! CURRENT: names the live manifest. Plain text so an operator can `cat` it.
//!
//! ```text
//!  drkit-current 1\n          format line (kind and version)
//!  MANIFEST-000003\n          live manifest file name
//!  crc32c 1a2b3c4d\n          masked crc32c of the name line's text, in hex
//! ```
//!
//! Written tmp → fsync → rename → fsync dir, so it always names a complete manifest.

use std::path::Path;

use super::manifest::parse_manifest_name;
use super::masked_crc;
use crate::error::{Error, Result};

const FORMAT_LINE: &str = "drkit-current 1";

pub fn encode(manifest_name: &str) -> String {
    let crc = masked_crc(&[manifest_name.as_bytes()]);
    format!("{FORMAT_LINE}\n{manifest_name}\ncrc32c {crc:08x}\n")
}

/// Returns the manifest name CURRENT points at, or says precisely what is wrong with it.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<String> {
    // A line that is missing starts at the end of the file, not past it.
    let garbage = |offset: u64, what: &str| {
        let offset = offset.min(bytes.len() as u64);
        Error::corruption(path, offset, what.to_string()).with_hint(crate::error::REPAIR_HINT)
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| garbage(e.valid_up_to() as u64, "CURRENT is not text"))?;
    let mut lines = text.split('\n');
    let format = lines.next().unwrap_or_default();
    if format != FORMAT_LINE {
        if let Some(v) = format
            .strip_prefix("drkit-current ")
            .and_then(|v| v.parse::<u16>().ok())
        {
            return Err(Error::NewerVersion {
                path: path.to_path_buf(),
                found: v,
                supported: 1,
            });
        }
        return Err(garbage(
            0,
            "CURRENT does not start with the drkit-current format line",
        ));
    }
    let name_at = (format.len() + 1) as u64;
    let name = lines.next().unwrap_or_default();
    if parse_manifest_name(name).is_none() {
        return Err(garbage(
            name_at,
            "CURRENT does not name a MANIFEST-NNNNNN file",
        ));
    }
    let crc_at = name_at + name.len() as u64 + 1;
    let crc = lines
        .next()
        .and_then(|l| l.strip_prefix("crc32c ")) // Exactly 8 lowercase hex digits, as written: from_str_radix alone would accept a flipped
        // case bit ('a' → 'A') and so miss a corrupted byte.
        .filter(|h| {
            h.len() == 8
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| garbage(crc_at, "CURRENT has no crc32c line"))?;
    if crc != masked_crc(&[name.as_bytes()]) {
        return Err(garbage(
            crc_at,
            "CURRENT checksum does not match the manifest name",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_garbage() {
        let p = Path::new("CURRENT");
        let text = encode("MANIFEST-000042");
        assert_eq!(decode(p, text.as_bytes()).unwrap(), "MANIFEST-000042");
        let upper = text.replace(
            &text[text.len() - 9..text.len() - 1],
            &text[text.len() - 9..text.len() - 1].to_uppercase(),
        );
        if upper != text {
            assert!(
                decode(p, upper.as_bytes()).is_err(),
                "case flip in the crc must be caught"
            );
        }
        let flipped = text.replace("000042", "000043");
        assert!(decode(p, flipped.as_bytes()).is_err());
        assert!(decode(p, b"hello world").is_err());
        // Found by the fuzzer: a missing name line was reported past the end of the file.
        match decode(p, b"drkit-current 1") {
            Err(Error::Corruption { offset, .. }) => assert_eq!(offset, 15),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode(p, b"drkit-current 9\nx\n"),
            Err(Error::NewerVersion { found: 9, .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(n in 0u64..10_000_000) {
            let name = crate::format::manifest::manifest_name(n);
            prop_assert_eq!(decode(Path::new("CURRENT"), encode(&name).as_bytes()).unwrap(), name);
        }

        #[test]
        fn never_panics(bytes: Vec<u8>) {
            let _ = decode(Path::new("CURRENT"), &bytes);
        }
    }
}
