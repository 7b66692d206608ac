//! Merged, newest-wins iteration over memtables and SSTs, used by scans and compaction.
//!
//! Sources are read in chunks through owned handles (`Arc`), so an iterator never borrows the
//! engine and a long scan does not pin a lock.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::memtable::Memtable;
use super::memtable::Versioned;
use super::version::Table;
use crate::error::Result;
use crate::format::sst::{SstIter, ValueKind};

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

/// One source of [`for_each_newest`], positioned on its current entry.
enum Lending<'a> {
    Sst(SstIter<'a>),
    Mem {
        mem: &'a Memtable,
        buffered: VecDeque<(Vec<u8>, Versioned)>,
        last: Option<Vec<u8>>,
        done: bool,
    },
}

impl Lending<'_> {
    /// Moves to the next entry; false when the source has none left below `upper`.
    fn advance(&mut self, start: &[u8], upper: Bound<&[u8]>) -> Result<bool> {
        let within = |k: &[u8]| match upper {
            Bound::Included(u) => k <= u,
            Bound::Excluded(u) => k < u,
            Bound::Unbounded => true,
        };
        match self {
            Lending::Sst(it) => Ok(it.advance()? && within(it.key())),
            Lending::Mem {
                mem,
                buffered,
                last,
                done,
            } => {
                if let Some((k, _)) = buffered.pop_front()
                    && buffered.is_empty()
                {
                    *last = Some(k);
                }
                if buffered.is_empty() && !*done {
                    let lower = match last {
                        Some(l) => Bound::Excluded(l.as_slice()),
                        None => Bound::Included(start),
                    };
                    buffered.extend(mem.chunk(lower, upper, CHUNK));
                    *done = buffered.len() < CHUNK;
                }
                Ok(!buffered.is_empty())
            }
        }
    }

    fn key(&self) -> &[u8] {
        match self {
            Lending::Sst(it) => it.key(),
            Lending::Mem { buffered, .. } => buffered.front().map_or(&[], |(k, _)| k.as_slice()),
        }
    }

    fn seq(&self) -> u64 {
        match self {
            Lending::Sst(it) => it.seq(),
            Lending::Mem { buffered, .. } => buffered.front().map_or(0, |(_, v)| v.seq),
        }
    }

    /// The current value; None for a tombstone.
    fn value(&self) -> Option<&[u8]> {
        match self {
            Lending::Sst(it) => match it.kind() {
                ValueKind::Value => Some(it.value()),
                ValueKind::Tombstone => None,
            },
            Lending::Mem { buffered, .. } => buffered.front().and_then(|(_, v)| v.value.as_deref()),
        }
    }
}

/// Calls `f` with each live key in `[start, upper)` and its newest value, in key order,
/// over `mems` and `tables` (any order: sequence numbers decide), without copying a record:
/// what [`MergeIter`] yields, filtered of tombstones, for scans that only look (digests).
/// Tables that cannot hold a key of the range are not opened.
pub fn for_each_newest(
    mems: &[Arc<Memtable>],
    tables: &[Arc<Table>],
    start: &[u8],
    upper: Bound<&[u8]>,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    let below_upper = |k: &[u8]| match upper {
        Bound::Included(u) => k <= u,
        Bound::Excluded(u) => k < u,
        Bound::Unbounded => true,
    };
    let mut sources: Vec<Lending<'_>> = Vec::new();
    for m in mems {
        sources.push(Lending::Mem {
            mem: m,
            buffered: VecDeque::new(),
            last: None,
            done: false,
        });
    }
    for t in tables {
        if t.meta.largest.as_slice() >= start && below_upper(&t.meta.smallest) {
            sources.push(Lending::Sst(t.sst.iter_from(Some(start))));
        }
    }
    // Sources with a current entry; the rest are spent.
    let mut live = Vec::with_capacity(sources.len());
    for mut s in sources {
        if s.advance(start, upper)? {
            live.push(s);
        }
    }
    let mut key = Vec::new();
    while !live.is_empty() {
        // The smallest current key, and of its versions the newest. Few sources overlap any
        // one range (one table per level, plus L0 and memtables), so a linear pass beats a heap.
        let mut newest = 0;
        for i in 1..live.len() {
            match live[i].key().cmp(live[newest].key()) {
                Ordering::Less => newest = i,
                Ordering::Equal if live[i].seq() > live[newest].seq() => newest = i,
                _ => {}
            }
        }
        if let Some(v) = live[newest].value() {
            f(live[newest].key(), v)?;
        }
        // Step every source holding this key (the older versions too), dropping spent ones.
        key.clear();
        key.extend_from_slice(live[newest].key());
        let mut i = 0;
        while i < live.len() {
            if live[i].key() == key.as_slice() {
                if live[i].advance(start, upper)? {
                    i += 1;
                } else {
                    live.swap_remove(i);
                }
            } else {
                i += 1;
            }
        }
    }
    Ok(())
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
