//! The envelope of the small text files drkit keeps beside a data dir's binary formats
//! (ARCHIVE_STATUS, DIR/raft/leader-contact): plain text so an operator can `cat` them, with a
//! checksum so a damaged one is never taken for true. Each file's own layout is drawn in its
//! module; they share this shape:
//!
//! ```text
//!  <kind> <version>\n                    format line
//!  <name> <value>\n                      one line per field, in the kind's order
//!  crc32c <8 lowercase hex digits>\n     masked crc32c of the field lines (with newlines)
//! ```

use super::masked_crc;

/// Why a file does not decode, and where: its callers turn this into their error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bad {
    At {
        offset: usize,
        what: String,
    },
    /// The format line names a version newer than this build reads.
    Newer(u16),
}

impl Bad {
    /// The library error for file `path` of a kind this build reads up to `supported`;
    /// `damaged` makes the error for damage at an offset (a kind adds its own hint).
    pub fn into_error(
        self,
        path: &std::path::Path,
        supported: u16,
        damaged: impl Fn(usize, &str) -> crate::error::Error,
    ) -> crate::error::Error {
        match self {
            Bad::At { offset, what } => damaged(offset, &what),
            Bad::Newer(found) => crate::error::Error::NewerVersion {
                path: path.to_path_buf(),
                found,
                supported,
            },
        }
    }
}

fn at(offset: usize, what: impl Into<String>) -> Bad {
    Bad::At {
        offset,
        what: what.into(),
    }
}

/// The file: `kind version`, then `fields` as `name value` lines, then the checksum line.
pub fn encode(kind: &str, version: u16, fields: &[(&str, String)]) -> String {
    let body: String = fields
        .iter()
        .map(|(name, value)| format!("{name} {value}\n"))
        .collect();
    let crc = masked_crc(&[body.as_bytes()]);
    format!("{kind} {version}\n{body}crc32c {crc:08x}\n")
}

/// The values of the fields `names`, in order, each with the offset of its line. Everything
/// is checked: the format line, each name in its place, the checksum, nothing after it.
/// Values are not parsed: that is the kind's business.
pub fn decode<'a>(
    bytes: &'a [u8],
    kind: &str,
    version: u16,
    names: &[&str],
) -> Result<Vec<(&'a str, usize)>, Bad> {
    let text = std::str::from_utf8(bytes).map_err(|e| at(e.valid_up_to(), "not text"))?;
    let mut lines = text.split_inclusive('\n');
    let format = lines.next().unwrap_or_default();
    if format != format!("{kind} {version}\n") {
        let newer = format
            .trim_end_matches('\n')
            .strip_prefix(kind)
            .and_then(|v| v.strip_prefix(' '))
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|v| *v > version);
        return Err(match newer {
            Some(v) => Bad::Newer(v),
            None => at(
                0,
                format!("does not start with the `{kind} {version}` line"),
            ),
        });
    }
    let mut offset = format.len();
    let mut line_of = |name: &str| -> Result<(&'a str, usize), Bad> {
        let line = lines.next().unwrap_or_default();
        let start = offset;
        offset += line.len();
        let value = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| at(start, format!("expected the `{name}` line here")))?;
        Ok((value, start))
    };
    let values = names
        .iter()
        .map(|name| line_of(name))
        .collect::<Result<Vec<_>, Bad>>()?;
    let (crc, crc_at) = line_of("crc32c")?;
    let crc = Some(crc)
        .filter(|h| {
            h.len() == 8
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| at(crc_at, "crc32c is not 8 lowercase hex digits"))?;
    let body = text.get(format.len()..crc_at).unwrap_or_default();
    if masked_crc(&[body.as_bytes()]) != crc {
        return Err(at(crc_at, "checksum does not match the content"));
    }
    if offset != bytes.len() {
        return Err(at(offset, "unexpected bytes after the checksum line"));
    }
    Ok(values)
}

/// A field's value as a decimal u64 (digits only: no sign, no spaces).
pub fn decimal(value: &str) -> Option<u64> {
    value
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| value.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_what_is_refused() {
        let text = encode("drkit-test", 1, &[("a", "1".into()), ("b", "x y".into())]);
        assert_eq!(
            decode(text.as_bytes(), "drkit-test", 1, &["a", "b"]).unwrap(),
            vec![("1", 13), ("x y", 17)]
        );
        assert_eq!(
            decode(
                b"drkit-test 2\na 1\ncrc32c 00000000\n",
                "drkit-test",
                1,
                &["a"]
            ),
            Err(Bad::Newer(2))
        );
        // Fields out of order, or one missing, name the line where the wanted one belongs.
        let swapped = encode("drkit-test", 1, &[("b", "2".into()), ("a", "1".into())]);
        assert!(matches!(
            decode(swapped.as_bytes(), "drkit-test", 1, &["a", "b"]),
            Err(Bad::At { offset: 13, .. })
        ));
        let mut trailing = text.clone().into_bytes();
        trailing.push(b'\n');
        assert!(decode(&trailing, "drkit-test", 1, &["a", "b"]).is_err());
        assert_eq!(decimal("12"), Some(12));
        assert_eq!(decimal("+12"), None);
        assert_eq!(decimal(""), None);
    }
}
