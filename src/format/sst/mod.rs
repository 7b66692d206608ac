//! An SSTable: an immutable, sorted run of entries with a bloom filter and a sparse index.
//!
//! ```text
//!  file
//!  +---------------------+  0
//!  | envelope (16 B)     |  Kind::Sst, see envelope.rs
//!  +---------------------+  16
//!  | data block 0        |  \
//!  | trailer (5 B)       |   |  contiguous, in key order, each closed once it reaches
//!  | data block 1        |   |  `block_size` bytes
//!  | trailer             |   |
//!  | ...                 |  /
//!  +---------------------+  index_off
//!  | index block         |
//!  | trailer             |
//!  +---------------------+  bloom_off
//!  | bloom block         |
//!  | trailer             |
//!  +---------------------+  props_off
//!  | properties block    |
//!  | trailer             |
//!  +---------------------+  file_len - 48
//!  | footer (48 B)       |
//!  +---------------------+  file_len
//!
//!  trailer          | compression u8 | crc u32 LE: masked crc32c(stored bytes ++ compression) |
//!                   compression 0 = none: the stored bytes are the block itself
//!                   compression 1 = zstd (version 2, data blocks only):
//!                   | raw_len varint (<= 64 MiB) | one zstd frame of the raw_len-byte block |
//!                   (a block is stored compressed only if that saves >= 1/8 of it)
//!
//!  data block       | entry | entry | ... | restart offset u32 LE ... | restart count u32 LE |
//!  entry            | shared varint | unshared varint | value_len varint |
//!                   | unshared key bytes | seq u64 LE | kind u8 (1 value, 2 tombstone) | value |
//!                   (every 16th entry is a restart point: shared = 0, offset listed at the end)
//!
//!  index block      per data block: | key_len varint | last key | offset u64 LE | size u32 LE |
//!
//!  bloom block      | k u8 (probes, 1..=30) | bit array (>= 8 bytes) |
//!                   bit i of the array is byte i/8, mask 1 << (i % 8)
//!                   h = xxh3_64(key), h1 = h & 0xffff_ffff, h2 = h >> 32,
//!                   probe j (0..k) = (h1 + j * h2) mod nbits, computed in u64 (cannot overflow)
//!
//!  properties block | level u8 | smallest (varint len + bytes) | largest (varint len + bytes) |
//!                   | min_seq u64 | max_seq u64 | entries u64 | tombstones u64 |
//!                   | data_blocks u64 | bloom_bits_per_key u32 | created_unix_ns i64 |
//!                   | raw_key_bytes u64 | raw_value_bytes u64 |
//!                   version 2 adds:
//!                   | compression u8 (0 none, 1 zstd) | zstd level i32 | raw_data_bytes u64 |
//!                   (all LE, no trailing bytes; raw_data_bytes = data blocks before compression)
//!
//!  footer   0            8            12           20           24           32           36
//!           | index_off  | index_len  | bloom_off  | bloom_len  | props_off  | props_len  |
//!           | u64 LE     | u32 LE     | u64 LE     | u32 LE     | u64 LE     | u32 LE     |
//!          36           40           48
//!           | crc u32 LE | "DRKT-SST" |
//!           (masked crc32c of bytes 0..36; lengths and sizes exclude the trailer)
//! ```
//!
//! Version 1 tables (no compression, shorter properties) are still read; writers always write
//! version 2. The index, bloom and properties blocks are never compressed: the bloom filter is
//! probed in place and the index is parsed once on open.
//!
//! Every byte of a table is covered by a checksum (envelope, block trailers, footer), and the
//! reader insists that the blocks tile the file exactly, so a damaged table fails loudly
//! instead of returning wrong data. The index, bloom and properties blocks are checked on open;
//! data blocks are checked each time they are read, because a mapped file is paged in lazily
//! and checking it all on open would read the whole table.

mod block;
mod bloom;
mod compression;
mod reader;
#[cfg(test)]
mod tests;
mod writer;

use std::cell::RefCell;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use xxhash_rust::xxh3::xxh3_64;

use super::block_cache::BlockCache;
use super::envelope::{self, Kind};
use super::{Cursor, masked_crc, put_bytes, put_varint};
use crate::error::{Error, IoContext, Result};
use crate::io::Mmap;

use block::*;
use bloom::*;
pub use compression::*;
pub use reader::*;
pub use writer::*;

const TRAILER_LEN: usize = 5;
const FOOTER_LEN: usize = 48;
const FOOTER_CRC_AT: usize = 36;
const RESTART_INTERVAL: usize = 16;
const COMPRESSION_NONE: u8 = 0;
const COMPRESSION_ZSTD: u8 = 1;
/// The first version whose data blocks may be compressed and whose properties say how.
const VERSION_COMPRESSED: u16 = 2;
/// A block is stored compressed only if that saves at least 1/8 of it (RocksDB's rule): an
/// incompressible block then costs no decompression on every read.
const MIN_SAVING_DIVISOR: usize = 8;
/// Largest block stored compressed. A reader allocates the declared raw length before
/// decompressing, so this bounds what a damaged or hostile length field can make it allocate;
/// a larger block (one huge value) is stored as it is.
const MAX_COMPRESSED_RAW_LEN: usize = 64 << 20;
/// zstd's own default: about 3x on exchange records at 4 KiB blocks for little CPU.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
const MIN_BLOOM_BITS: u64 = 64;
const MAX_BLOOM_PROBES: u8 = 30;

const HINT: &str = "run `drkit verify` to see the extent of the damage, then `drkit repair` to rebuild without this table";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Value = 1,
    Tombstone = 2,
}

impl ValueKind {
    fn from_u8(v: u8) -> Option<ValueKind> {
        match v {
            1 => Some(ValueKind::Value),
            2 => Some(ValueKind::Tombstone),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstEntry {
    pub key: Vec<u8>,
    pub seq: u64,
    pub kind: ValueKind,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SstProperties {
    pub level: u8,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    pub min_seq: u64,
    pub max_seq: u64,
    pub entries: u64,
    pub tombstones: u64,
    pub data_blocks: u64,
    pub bloom_bits_per_key: u32,
    pub created_unix_ns: i64,
    pub raw_key_bytes: u64,
    pub raw_value_bytes: u64,
    /// How the writer was told to store data blocks (version 1: always none).
    pub compression: Compression,
    /// Bytes of all data blocks before compression (version 1: as stored).
    pub raw_data_bytes: u64,
    /// Not stored: the envelope's format version.
    pub format_version: u16,
    /// Not stored: the length of the file, filled in on open and by `finish`.
    pub file_size: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct SstOptions {
    pub block_size: usize,
    pub bloom_bits_per_key: u32,
    pub compression: Compression,
}

impl Default for SstOptions {
    fn default() -> Self {
        SstOptions {
            block_size: 4096,
            bloom_bits_per_key: 10,
            compression: Compression::default(),
        }
    }
}

/// One block of a table as `drkit inspect` / `verify` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlockInfo {
    /// "data", "index", "bloom" or "properties".
    pub kind: &'static str,
    pub offset: u64,
    /// Stored bytes only, without the 5-byte trailer (as the index and footer record it).
    pub size: u64,
    /// "none" or "zstd" (None when the trailer is unreadable).
    pub compression: Option<&'static str>,
    /// The block's bytes once decompressed (None if that fails or the checksum does).
    pub raw_size: Option<u64>,
    pub checksum_ok: bool,
    /// Entries of a data block (None if it cannot be decoded) or data blocks listed by the
    /// index block; None for the other blocks.
    pub entries: Option<u64>,
    /// The last key of a data block, as the index records it.
    pub last_key: Option<Vec<u8>>,
}

fn corrupt(path: &Path, offset: u64, what: impl Into<String>) -> Error {
    Error::corruption(path, offset, what).with_hint(HINT)
}

fn varint_usize(c: &mut Cursor<'_>) -> Option<usize> {
    usize::try_from(c.varint()?).ok()
}

/// Where a block's contents sit in the file; `len` excludes the trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handle {
    offset: u64,
    len: u32,
}

impl Handle {
    /// First byte after the block's trailer.
    fn end(self) -> Option<u64> {
        self.offset
            .checked_add(u64::from(self.len))?
            .checked_add(TRAILER_LEN as u64)
    }
}
