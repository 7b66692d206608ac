//! DIR/raft/leader-contact: when a running cluster node last knew itself current with its
//! leader, so that a backup of the node's dir can say how far behind the leader it was
//! (`backup info`). Plain text so an operator can `cat` it.
//!
//! ```text
//!  drkit-leader-contact 1\n        format line (kind and version)
//!  leader 2\n                      the leader's node id (this node's own when it leads)
//!  term 7\n                        the leader's term
//!  at-unix-ms 1733540000123\n      a follower: when the leader's last append or heartbeat was
//!                                  accepted; the leader: its last acknowledgement from a quorum
//!  leader-committed 12345\n        the leader's commit index as of then
//!  crc32c 1a2b3c4d\n               masked crc32c of the four lines above (with their
//!                                  newlines), 8 lowercase hex digits
//! ```
//!
//! Advisory: rewritten (tmp → rename, no fsync) at most every 100 ms while it changes. A
//! crash can leave an old copy, which only makes the lag it implies larger; a file that does
//! not decode means "lag unknown", never a guess.

use std::path::Path;

use super::masked_crc;
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "leader-contact";
const FORMAT_LINE: &str = "drkit-leader-contact 1";
const FIELDS: [&str; 4] = ["leader", "term", "at-unix-ms", "leader-committed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaderContact {
    pub leader: u64,
    pub term: u64,
    pub at_unix_ms: i64,
    pub leader_committed: u64,
}

fn body(c: &LeaderContact) -> String {
    format!(
        "leader {}\nterm {}\nat-unix-ms {}\nleader-committed {}\n",
        c.leader, c.term, c.at_unix_ms, c.leader_committed
    )
}

pub fn encode(c: &LeaderContact) -> String {
    let body = body(c);
    let crc = masked_crc(&[body.as_bytes()]);
    format!("{FORMAT_LINE}\n{body}crc32c {crc:08x}\n")
}

pub fn decode(path: &Path, bytes: &[u8]) -> Result<LeaderContact> {
    let bad = |offset: usize, what: &str| Error::corruption(path, offset as u64, what.to_string());
    let text = std::str::from_utf8(bytes).map_err(|e| bad(e.valid_up_to(), "not text"))?;
    let mut lines = text.split_inclusive('\n');
    let format = lines.next().unwrap_or_default();
    if format != format!("{FORMAT_LINE}\n") {
        return Err(bad(
            0,
            "does not start with the drkit-leader-contact 1 line",
        ));
    }
    let mut at = format.len();
    let mut values = [0u64; 4];
    for (name, value) in FIELDS.iter().zip(values.iter_mut()) {
        let line = lines.next().unwrap_or_default();
        *value = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(at, &format!("expected the `{name}` line here")))?;
        at += line.len();
    }
    let body_end = at;
    let crc = lines
        .next()
        .and_then(|l| l.strip_prefix("crc32c "))
        .and_then(|l| l.strip_suffix('\n'))
        .filter(|h| {
            h.len() == 8
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| bad(body_end, "expected the crc32c line here"))?;
    if lines.next().is_some() {
        return Err(bad(body_end, "unexpected bytes after the checksum line"));
    }
    let body_text = text.get(format.len()..body_end).unwrap_or_default();
    if masked_crc(&[body_text.as_bytes()]) != crc {
        return Err(bad(body_end, "checksum does not match the content"));
    }
    let [leader, term, at_unix_ms, leader_committed] = values;
    Ok(LeaderContact {
        leader,
        term,
        at_unix_ms: i64::try_from(at_unix_ms).map_err(|_| bad(0, "at-unix-ms out of range"))?,
        leader_committed,
    })
}

/// The node's last recorded contact: None when it never recorded one; an error text when
/// the file cannot be read or trusted.
pub fn read(raft_dir: &Path) -> std::result::Result<Option<LeaderContact>, String> {
    let path = raft_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&path, &bytes).map(Some).map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e).to_string()),
    }
}

/// Replaces the file without fsync (see the module doc).
pub fn write(raft_dir: &Path, c: &LeaderContact) -> std::io::Result<()> {
    let tmp = raft_dir.join(format!("{FILE_NAME}.tmp"));
    std::fs::write(&tmp, encode(c))?;
    std::fs::rename(&tmp, raft_dir.join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_flipped_byte_is_caught() {
        let c = LeaderContact {
            leader: 2,
            term: 7,
            at_unix_ms: 1_733_540_000_123,
            leader_committed: 12_345,
        };
        let p = Path::new("leader-contact");
        let bytes = encode(&c).into_bytes();
        assert_eq!(decode(p, &bytes).unwrap(), c);
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
    }
}
