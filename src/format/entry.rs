//! A WAL entry: the logical unit that WAL fragments carry.
//!
//! ```text
//!  0          8          16          24     25          29        29+K
//!  +----------+----------+-----------+------+-----------+---------+----------+
//!  | sequence | term     | timestamp | type | key len K | key     | value    |
//!  | u64 LE   | u64 LE   | i64 LE ns | u8   | u32 LE    | K bytes | the rest |
//!  +----------+----------+-----------+------+-----------+---------+----------+
//! ```
//!
//! `term` is 0 for a standalone engine. `timestamp` is nanoseconds since the Unix epoch at
//! commit, which point-in-time restore selects on. Types:
//!
//! | type | name          | key              | value                                   |
//! |------|---------------|------------------|-----------------------------------------|
//! | 1    | Put           | `K` + user key   | raw bytes                               |
//! | 2    | Delete        | any key          | empty                                   |
//! | 3    | OrderInsert   | `O` + order id   | versioned rkyv `Order` (record.rs)      |
//! | 4    | TradeExecuted | `T` + trade id   | versioned rkyv `Trade`                  |
//! | 5    | AccountUpdate | `A` + user id    | versioned rkyv `Account`                |
//! | 6    | Checkpoint    | empty            | u64 LE: sequence flushed to SSTs        |
//! | 7    | Seal          | empty            | u64 LE: data entries in the segment     |
//! | 8    | Blank         | empty            | empty: a Raft leader's first entry      |
//! | 9    | Membership    | empty            | JSON of the Raft membership config      |
//!
//! In a cluster data dir (DIR/raft/ exists) the WAL is the Raft log: the sequence is the log
//! index, `term` the term of the leader that created the entry, and entries 1-5 are the
//! client commands. There is no Checkpoint there (the manifest holds the applied state), and
//! Seal works as in a standalone dir.
//! Keys travel explicitly, even for domain records, so replay never has to parse an archive.
//! Every entry but Seal takes a fresh sequence; a Seal repeats the last sequence of its
//! segment, so sequences of data entries are contiguous across segments.

use super::Cursor;

pub const HEADER_LEN: usize = 29;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[repr(u8)]
pub enum EntryType {
    Put = 1,
    Delete = 2,
    OrderInsert = 3,
    TradeExecuted = 4,
    AccountUpdate = 5,
    Checkpoint = 6,
    Seal = 7,
    Blank = 8,
    Membership = 9,
}

impl EntryType {
    pub const ALL: [EntryType; 9] = [
        EntryType::Put,
        EntryType::Delete,
        EntryType::OrderInsert,
        EntryType::TradeExecuted,
        EntryType::AccountUpdate,
        EntryType::Checkpoint,
        EntryType::Seal,
        EntryType::Blank,
        EntryType::Membership,
    ];

    pub fn from_u8(v: u8) -> Option<EntryType> {
        EntryType::ALL.into_iter().find(|t| *t as u8 == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            EntryType::Put => "put",
            EntryType::Delete => "delete",
            EntryType::OrderInsert => "order",
            EntryType::TradeExecuted => "trade",
            EntryType::AccountUpdate => "account",
            EntryType::Checkpoint => "checkpoint",
            EntryType::Seal => "seal",
            EntryType::Blank => "blank",
            EntryType::Membership => "membership",
        }
    }

    /// Whether replay applies this entry to the key space.
    pub fn is_data(self) -> bool {
        !matches!(
            self,
            EntryType::Checkpoint | EntryType::Seal | EntryType::Blank | EntryType::Membership
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub seq: u64,
    pub term: u64,
    pub timestamp_ns: i64,
    pub kind: EntryType,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry shorter than its {HEADER_LEN}-byte header ({0} bytes)")]
    Short(usize),
    #[error("unknown entry type {0}")]
    UnknownType(u8),
    #[error("key length {0} runs past the end of the entry")]
    KeyOverrun(u32),
}

impl EntryRef<'_> {
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.key.len() + self.value.len()
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.term.to_le_bytes());
        out.extend_from_slice(&self.timestamp_ns.to_le_bytes());
        out.push(self.kind as u8);
        out.extend_from_slice(&(self.key.len() as u32).to_le_bytes());
        out.extend_from_slice(self.key);
        out.extend_from_slice(self.value);
    }

    pub fn decode(bytes: &[u8]) -> Result<EntryRef<'_>, EntryError> {
        let mut c = Cursor::new(bytes);
        let short = EntryError::Short(bytes.len());
        let seq = c.u64().ok_or_else(|| short.clone())?;
        let term = c.u64().ok_or_else(|| short.clone())?;
        let timestamp_ns = c.i64().ok_or_else(|| short.clone())?;
        let t = c.u8().ok_or_else(|| short.clone())?;
        let kind = EntryType::from_u8(t).ok_or(EntryError::UnknownType(t))?;
        let key_len = c.u32().ok_or(short)?;
        let key = c
            .take(key_len as usize)
            .ok_or(EntryError::KeyOverrun(key_len))?;
        let value = c.rest();
        Ok(EntryRef {
            seq,
            term,
            timestamp_ns,
            kind,
            key,
            value,
        })
    }

    /// The u64 carried by Checkpoint and Seal entries.
    pub fn value_u64(&self) -> Option<u64> {
        Cursor::new(self.value).u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(seq: u64, term: u64, ts: i64, t in 1u8..=9, key: Vec<u8>, value: Vec<u8>) {
            let e = EntryRef { seq, term, timestamp_ns: ts, kind: EntryType::from_u8(t).unwrap(), key: &key, value: &value };
            let mut out = Vec::new();
            e.encode_into(&mut out);
            prop_assert_eq!(out.len(), e.encoded_len());
            prop_assert_eq!(EntryRef::decode(&out).unwrap(), e);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = EntryRef::decode(&bytes);
        }
    }
}
