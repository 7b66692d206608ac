//! Decompressed SST data blocks kept in memory and shared by every table an engine has open,
//! as RocksDB's block cache. Not an on-disk format: it sits beside the SST reader that fills it.
//!
//! A compressed block costs a zstd decompression on every read (about as long as the rest of
//! a point get), so reads look blocks up here first. Blocks stored without compression are
//! never cached: they are read in place from the mapped file, and the OS page cache already
//! keeps them. Keys are an open table's instance id and the block's offset, so a table
//! reopened or replaced never sees another's blocks; a deleted table's blocks age out.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// Bookkeeping per cached block beside its bytes (key, Arc, the cache's own slot).
const ENTRY_OVERHEAD: u64 = 64;

#[derive(Debug, Clone, Copy)]
struct BlockWeight;

impl Weighter<(u64, u64), Arc<Vec<u8>>> for BlockWeight {
    fn weight(&self, _key: &(u64, u64), block: &Arc<Vec<u8>>) -> u64 {
        block.len() as u64 + ENTRY_OVERHEAD
    }
}

pub struct BlockCache {
    blocks: Cache<(u64, u64), Arc<Vec<u8>>, BlockWeight>,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("stats", &self.stats())
            .finish()
    }
}

/// What the cache holds and how often it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlockCacheStats {
    pub capacity_bytes: u64,
    pub bytes: u64,
    pub blocks: u64,
    pub hits: u64,
    pub misses: u64,
}

impl BlockCache {
    /// A cache of about `capacity_bytes` of decompressed blocks (at least one block fits).
    pub fn new(capacity_bytes: u64) -> BlockCache {
        let capacity = capacity_bytes.max(64 << 10);
        let items = usize::try_from(capacity / 4096)
            .unwrap_or(usize::MAX)
            .max(16);
        BlockCache {
            blocks: Cache::with_weighter(items, capacity, BlockWeight),
        }
    }

    pub fn get(&self, table: u64, offset: u64) -> Option<Arc<Vec<u8>>> {
        self.blocks.get(&(table, offset))
    }

    pub fn insert(&self, table: u64, offset: u64, block: Arc<Vec<u8>>) {
        self.blocks.insert((table, offset), block);
    }

    pub fn stats(&self) -> BlockCacheStats {
        BlockCacheStats {
            capacity_bytes: self.blocks.capacity(),
            bytes: self.blocks.weight(),
            blocks: self.blocks.len() as u64,
            hits: self.blocks.hits(),
            misses: self.blocks.misses(),
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is the clearest test failure"
)]
mod tests {
    use super::*;

    #[test]
    fn holds_blocks_up_to_its_capacity_and_counts_hits() {
        let cache = BlockCache::new(1 << 20);
        cache.insert(1, 16, Arc::new(vec![7; 4096]));
        assert_eq!(cache.get(1, 16).unwrap()[0], 7);
        assert!(cache.get(2, 16).is_none());
        assert!(cache.get(1, 17).is_none());
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.blocks), (1, 2, 1));

        for i in 0..1024 {
            cache.insert(3, i * 4096, Arc::new(vec![0; 4096]));
        }
        let s = cache.stats();
        assert!(s.bytes <= s.capacity_bytes, "{s:?}");
        assert!(s.blocks < 1024, "{s:?}");
    }
}
