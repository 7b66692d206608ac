//! The memtable: newest version of each key since the last flush, in a lock-free skip list so
//! readers never wait for the group-commit leader, the only writer.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_skiplist::SkipMap;

/// A value or a tombstone, with the sequence that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Memtable {
    map: SkipMap<Vec<u8>, Versioned>,
    approx_bytes: AtomicUsize,
    max_seq: AtomicU64,
}

/// Per-entry bookkeeping of the skip list, so the size estimate tracks real memory use.
const ENTRY_OVERHEAD: usize = 64;

impl Memtable {
    pub fn new() -> Memtable {
        Memtable::default()
    }

    /// Only one thread inserts at a time (the commit leader or recovery), in sequence order,
    /// so a later insert is always the newer version.
    pub fn insert(&self, key: Vec<u8>, seq: u64, value: Option<Vec<u8>>) {
        let bytes = key.len() + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD;
        self.map.insert(key, Versioned { seq, value });
        self.approx_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.note_seq(seq);
    }

    /// Records that entries up to `seq` are covered, also for entries that insert nothing
    /// (checkpoints), so the flush checkpoint moves past them.
    pub fn note_seq(&self, seq: u64) {
        self.max_seq.fetch_max(seq, Ordering::Relaxed);
    }

    pub fn get(&self, key: &[u8]) -> Option<Versioned> {
        self.map.get(key).map(|e| e.value().clone())
    }

    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes.load(Ordering::Relaxed)
    }

    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Up to `limit` entries within `(lower, upper)`, in key order.
    pub fn chunk(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Vec<(Vec<u8>, Versioned)> {
        self.map
            .range::<[u8], _>((lower, upper))
            .take(limit)
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Vec<u8>, Versioned)> + '_ {
        self.map
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_insert_wins_and_chunks_are_ordered() {
        let m = Memtable::new();
        m.insert(b"b".to_vec(), 1, Some(b"1".to_vec()));
        m.insert(b"a".to_vec(), 2, Some(b"2".to_vec()));
        m.insert(b"b".to_vec(), 3, None);
        assert_eq!(
            m.get(b"b"),
            Some(Versioned {
                seq: 3,
                value: None
            })
        );
        assert_eq!(m.max_seq(), 3);
        let c = m.chunk(Bound::Unbounded, Bound::Unbounded, 10);
        assert_eq!(
            c.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        let c = m.chunk(Bound::Excluded(b"a"), Bound::Unbounded, 10);
        assert_eq!(c.len(), 1);
    }
}
