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
//! | 10   | Batch         | empty            | several writes (types 1-5, 11), see below |
//! | 11   | PutIf         | `K` + user key   | condition u8, then the value's raw bytes |
//!
//! A Batch value is its writes one after another, all at the entry's sequence:
//! `type u8 | key len u32 LE | key | value len u32 LE | value`. A cluster leader folds the
//! concurrent writes of its clients into one Raft entry this way (one fsync per round).
//!
//! A PutIf is a SET NX / XX / GET in a cluster's log: a put decided when the entry is applied,
//! against the state every node has at that point of the log, so all nodes agree on it.
//! Condition 0: always (SET GET); 1: only if the key is absent (NX); 2: only if present (XX).
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
    Batch = 10,
    PutIf = 11,
}

impl EntryType {
    pub const ALL: [EntryType; 11] = [
        EntryType::Put,
        EntryType::Delete,
        EntryType::OrderInsert,
        EntryType::TradeExecuted,
        EntryType::AccountUpdate,
        EntryType::Checkpoint,
        EntryType::Seal,
        EntryType::Blank,
        EntryType::Membership,
        EntryType::Batch,
        EntryType::PutIf,
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
            EntryType::Batch => "batch",
            EntryType::PutIf => "put-if",
        }
    }

    /// A write a Batch may hold.
    pub fn is_single_write(self) -> bool {
        matches!(
            self,
            EntryType::Put
                | EntryType::Delete
                | EntryType::OrderInsert
                | EntryType::TradeExecuted
                | EntryType::AccountUpdate
                | EntryType::PutIf
        )
    }

    /// Whether replay applies this entry to the key space.
    pub fn is_data(self) -> bool {
        !matches!(
            self,
            EntryType::Checkpoint
                | EntryType::Seal
                | EntryType::Blank
                | EntryType::Membership
                // Applied by the cluster's state machine: a batch's writes one by one,
                // a PutIf as its condition decides.
                | EntryType::Batch
                | EntryType::PutIf
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
    #[error("batch write {at}: {what}")]
    BadBatch { at: usize, what: &'static str },
    #[error("put-if condition {}: expected 0 (always), 1 (absent) or 2 (present)", .0.map_or("missing".to_string(), |c| c.to_string()))]
    BadCondition(Option<u8>),
}

/// When a PutIf writes, against the key's state where the entry stands in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum PutCondition {
    /// Always (SET GET: only the old value is wanted).
    Always = 0,
    /// Only if the key is absent (SET NX).
    Absent = 1,
    /// Only if the key is present (SET XX).
    Present = 2,
}

impl PutCondition {
    pub fn holds(self, present: bool) -> bool {
        match self {
            PutCondition::Always => true,
            PutCondition::Absent => !present,
            PutCondition::Present => present,
        }
    }

    /// A PutIf value: the condition byte, then the value.
    pub fn encode_value(self, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + value.len());
        out.push(self as u8);
        out.extend_from_slice(value);
        out
    }

    /// The condition and value a PutIf value holds.
    pub fn decode_value(bytes: &[u8]) -> Result<(PutCondition, &[u8]), EntryError> {
        let (&c, value) = bytes.split_first().ok_or(EntryError::BadCondition(None))?;
        let cond = match c {
            0 => PutCondition::Always,
            1 => PutCondition::Absent,
            2 => PutCondition::Present,
            other => return Err(EntryError::BadCondition(Some(other))),
        };
        Ok((cond, value))
    }
}

/// One write inside a Batch entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchWrite<'a> {
    pub kind: EntryType,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

pub fn encode_batch(writes: &[BatchWrite<'_>], out: &mut Vec<u8>) {
    for w in writes {
        out.push(w.kind as u8);
        out.extend_from_slice(&(w.key.len() as u32).to_le_bytes());
        out.extend_from_slice(w.key);
        out.extend_from_slice(&(w.value.len() as u32).to_le_bytes());
        out.extend_from_slice(w.value);
    }
}

/// The writes of a Batch value; any malformed byte is an error, never a guess.
pub fn decode_batch(value: &[u8]) -> Result<Vec<BatchWrite<'_>>, EntryError> {
    let mut c = Cursor::new(value);
    let mut out = Vec::new();
    while c.remaining() > 0 {
        let at = out.len();
        let bad = |what| EntryError::BadBatch { at, what };
        let t = c.u8().ok_or(bad("cut short"))?;
        let kind = EntryType::from_u8(t)
            .filter(|k| k.is_single_write())
            .ok_or(bad("not a put, delete, put-if or typed record"))?;
        let klen = c.u32().ok_or(bad("cut short"))?;
        let key = c.take(klen as usize).ok_or(bad("key runs past the end"))?;
        let vlen = c.u32().ok_or(bad("cut short"))?;
        let value = c
            .take(vlen as usize)
            .ok_or(bad("value runs past the end"))?;
        out.push(BatchWrite { kind, key, value });
    }
    Ok(out)
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
        fn round_trip(seq: u64, term: u64, ts: i64, t in 1u8..=10, key: Vec<u8>, value: Vec<u8>) {
            let e = EntryRef { seq, term, timestamp_ns: ts, kind: EntryType::from_u8(t).unwrap(), key: &key, value: &value };
            let mut out = Vec::new();
            e.encode_into(&mut out);
            prop_assert_eq!(out.len(), e.encoded_len());
            prop_assert_eq!(EntryRef::decode(&out).unwrap(), e);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = EntryRef::decode(&bytes);
            let _ = decode_batch(&bytes);
        }

        #[test]
        fn batch_round_trip(writes in proptest::collection::vec((1u8..=5, any::<Vec<u8>>(), any::<Vec<u8>>()), 0..8)) {
            let ws: Vec<BatchWrite<'_>> = writes
                .iter()
                .map(|(t, k, v)| BatchWrite { kind: EntryType::from_u8(*t).unwrap(), key: k, value: v })
                .collect();
            let mut out = Vec::new();
            encode_batch(&ws, &mut out);
            prop_assert_eq!(decode_batch(&out).unwrap(), ws);
        }
    }
}
