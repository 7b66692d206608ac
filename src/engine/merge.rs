//! Merged, newest-wins iteration over memtables and SSTs, used by scans and compaction.
//!
//! Sources are read in chunks through owned handles (`Arc`), so an iterator never borrows the
//! engine and a long scan does not pin a lock.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::memtable::Memtable;
use super::version::Table;
use crate::error::Result;
use crate::format::sst::ValueKind;

const CHUNK: usize = 256;

/// One key's newest version from one source: `None` value = tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Vec<u8>,
    pub seq: u64,
    pub value: Option<Vec<u8>>,
}

#[derive(Debug)]
pub enum Source {
    Mem(Arc<Memtable>),
    Sst(Arc<Table>),
}

#[derive(Debug)]
struct Cursor {
    source: Source,
    buffered: VecDeque<Item>,
    last: Option<Vec<u8>>,
    done: bool,
}

impl Cursor {
    fn refill(&mut self, start: &[u8], upper: &Bound<Vec<u8>>) -> Result<()> {
        if self.done || !self.buffered.is_empty() {
            return Ok(());
        }
        let upper_ref = match upper {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let within = |k: &[u8]| match upper_ref {
            Bound::Included(u) => k <= u,
            Bound::Excluded(u) => k < u,
            Bound::Unbounded => true,
        };
        match &self.source {
            Source::Mem(m) => {
                let lower = match &self.last {
                    Some(l) => Bound::Excluded(l.as_slice()),
                    None => Bound::Included(start),
                };
                let chunk = m.chunk(lower, upper_ref, CHUNK);
                if chunk.is_empty() {
                    self.done = true;
                }
                for (key, v) in chunk {
                    self.buffered.push_back(Item {
                        key,
                        seq: v.seq,
                        value: v.value,
                    });
                }
            }
            Source::Sst(t) => {
                let from = self.last.as_deref().unwrap_or(start);
                let mut n = 0;
                for e in t.sst.iter_from(Some(from)) {
                    let e = e?;
                    if self.last.as_deref() == Some(e.key.as_slice()) {
                        continue;
                    }
                    if !within(&e.key) {
                        self.done = true;
                        break;
                    }
                    let value = match e.kind {
                        ValueKind::Value => Some(e.value),
                        ValueKind::Tombstone => None,
                    };
                    self.buffered.push_back(Item {
                        key: e.key,
                        seq: e.seq,
                        value,
                    });
                    n += 1;
                    if n == CHUNK {
                        break;
                    }
                }
                if n < CHUNK {
                    self.done = true;
                }
            }
        }
        if let Some(i) = self.buffered.back() {
            self.last = Some(i.key.clone());
        }
        Ok(())
    }
}

struct HeapEntry {
    item: Item,
    source: usize,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    // BinaryHeap is a max-heap: smallest key first, then highest sequence.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .item
            .key
            .cmp(&self.item.key)
            .then(self.item.seq.cmp(&other.item.seq))
    }
}

/// Yields each key once, its newest version (tombstones included: callers decide).
pub struct MergeIter {
    cursors: Vec<Cursor>,
    heap: BinaryHeap<HeapEntry>,
    start: Vec<u8>,
    upper: Bound<Vec<u8>>,
    failed: bool,
}

impl std::fmt::Debug for MergeIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeIter")
            .field("sources", &self.cursors.len())
            .finish()
    }
}

impl MergeIter {
    pub fn new(sources: Vec<Source>, start: Vec<u8>, upper: Bound<Vec<u8>>) -> Result<MergeIter> {
        let mut it = MergeIter {
            cursors: sources
                .into_iter()
                .map(|source| Cursor {
                    source,
                    buffered: VecDeque::new(),
                    last: None,
                    done: false,
                })
                .collect(),
            heap: BinaryHeap::new(),
            start,
            upper,
            failed: false,
        };
        for i in 0..it.cursors.len() {
            it.pull(i)?;
        }
        Ok(it)
    }

    fn pull(&mut self, i: usize) -> Result<()> {
        let c = &mut self.cursors[i];
        c.refill(&self.start, &self.upper)?;
        if let Some(item) = c.buffered.pop_front() {
            self.heap.push(HeapEntry { item, source: i });
        }
        Ok(())
    }

    fn next_item(&mut self) -> Result<Option<Item>> {
        let Some(top) = self.heap.pop() else {
            return Ok(None);
        };
        self.pull(top.source)?;
        // Drop older versions of the same key from other sources.
        while let Some(peek) = self.heap.peek() {
            if peek.item.key != top.item.key {
                break;
            }
            let older = self.heap.pop().map(|e| e.source);
            if let Some(s) = older {
                self.pull(s)?;
            }
        }
        Ok(Some(top.item))
    }
}

impl Iterator for MergeIter {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_item() {
            Ok(Some(i)) => Some(Ok(i)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_wins_across_sources() {
        let a = Arc::new(Memtable::new());
        let b = Arc::new(Memtable::new());
        for i in 0..600u32 {
            a.insert(
                format!("k{i:04}").into_bytes(),
                u64::from(i),
                Some(b"old".to_vec()),
            );
        }
        for i in (0..600u32).step_by(3) {
            b.insert(
                format!("k{i:04}").into_bytes(),
                1000 + u64::from(i),
                if i % 2 == 0 {
                    None
                } else {
                    Some(b"new".to_vec())
                },
            );
        }
        let it = MergeIter::new(
            vec![Source::Mem(a), Source::Mem(b)],
            b"k0100".to_vec(),
            Bound::Excluded(b"k0500".to_vec()),
        )
        .unwrap();
        let items: Vec<Item> = it.map(|r| r.unwrap()).collect();
        assert_eq!(items.len(), 400);
        assert_eq!(items[0].key, b"k0100");
        for w in items.windows(2) {
            assert!(w[0].key < w[1].key);
        }
        let k102 = items.iter().find(|i| i.key == b"k0102").unwrap();
        assert_eq!(k102.value, None);
        let k105 = items.iter().find(|i| i.key == b"k0105").unwrap();
        assert_eq!(k105.value.as_deref(), Some(&b"new"[..]));
    }
}
