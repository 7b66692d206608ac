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

/// How a writer stores data blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Zstd { level: i32 },
}

impl Compression {
    fn code(self) -> u8 {
        match self {
            Compression::None => COMPRESSION_NONE,
            Compression::Zstd { .. } => COMPRESSION_ZSTD,
        }
    }

    fn level(self) -> i32 {
        match self {
            Compression::None => 0,
            Compression::Zstd { level } => level,
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Compression::Zstd {
            level: DEFAULT_ZSTD_LEVEL,
        }
    }
}

impl FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let levels = zstd::compression_level_range();
        let bad = || {
            format!(
                "invalid compression {s:?}: use none, zstd or zstd:LEVEL ({}..={})",
                levels.start(),
                levels.end()
            )
        };
        match s.split_once(':') {
            None if s == "none" => Ok(Compression::None),
            None if s == "zstd" => Ok(Compression::default()),
            Some(("zstd", level)) => {
                let level: i32 = level.parse().map_err(|_| bad())?;
                if levels.contains(&level) {
                    Ok(Compression::Zstd { level })
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Zstd { level } => write!(f, "zstd:{level}"),
        }
    }
}

impl serde::Serialize for Compression {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
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

fn bloom_probes(bits_per_key: u32) -> u8 {
    // ln 2 ≈ 0.69 probes per bit-per-key minimises the false-positive rate.
    let k = (f64::from(bits_per_key) * 0.69).round();
    k.clamp(1.0, f64::from(MAX_BLOOM_PROBES)) as u8
}

fn bloom_bit_positions(hash: u64, k: u8, nbits: u64) -> impl Iterator<Item = u64> {
    let h1 = hash & 0xffff_ffff;
    let h2 = hash >> 32;
    (0..u64::from(k)).map(move |i| (h1 + i * h2) % nbits)
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

// ---------------------------------------------------------------------------------------------
// Writing

#[derive(Default)]
struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    count: usize,
}

impl BlockBuilder {
    fn add(&mut self, prev_key: &[u8], key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) {
        let shared = if self.count.is_multiple_of(RESTART_INTERVAL) {
            // Truncation here is harmless: a block past 4 GiB is refused when it is written.
            self.restarts.push(self.buf.len() as u32);
            0
        } else {
            prev_key.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(&seq.to_le_bytes());
        self.buf.push(kind as u8);
        self.buf.extend_from_slice(value);
        self.count += 1;
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn encoded_len(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends the restart array; the builder is empty again once `buf` is taken and cleared.
    fn seal(&mut self) {
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.buf
            .extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.restarts.clear();
        self.count = 0;
    }
}

/// Builds a table from entries added in strictly increasing key order.
pub struct SstWriter {
    path: PathBuf,
    out: BufWriter<File>,
    level: u8,
    opts: SstOptions,
    /// Bytes handed to `out` so far, i.e. the offset of the next block.
    offset: u64,
    block: BlockBuilder,
    index: Vec<u8>,
    last_key: Vec<u8>,
    smallest: Vec<u8>,
    // Hashes rather than keys: the bloom filter is sized only once the key count is known.
    key_hashes: Vec<u64>,
    entries: u64,
    tombstones: u64,
    min_seq: u64,
    max_seq: u64,
    data_blocks: u64,
    raw_key_bytes: u64,
    raw_value_bytes: u64,
    raw_data_bytes: u64,
    /// One context per table: zstd's is costly to set up and reusable across blocks.
    compressor: Option<zstd::bulk::Compressor<'static>>,
    /// A compressed block being assembled, reused across blocks.
    stored: Vec<u8>,
}

impl fmt::Debug for SstWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SstWriter")
            .field("path", &self.path)
            .field("level", &self.level)
            .field("entries", &self.entries)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// What a table writer buffers before each write call.
const WRITE_BUFFER: usize = 1 << 20;

impl SstWriter {
    pub fn create(path: &Path, level: u8, opts: SstOptions) -> Result<SstWriter> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .at(path)?;
        let compressor = match opts.compression {
            Compression::None => None,
            Compression::Zstd { level } => Some(zstd::bulk::Compressor::new(level).at(path)?),
        };
        // Large sequential writes: a table goes out in 1 MiB writes, not 8 KiB ones.
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        out.write_all(&envelope::encode(Kind::Sst)).at(path)?;
        Ok(SstWriter {
            path: path.to_path_buf(),
            out,
            level,
            opts,
            offset: envelope::LEN as u64,
            block: BlockBuilder::default(),
            index: Vec::new(),
            last_key: Vec::new(),
            smallest: Vec::new(),
            key_hashes: Vec::new(),
            entries: 0,
            tombstones: 0,
            min_seq: u64::MAX,
            max_seq: 0,
            data_blocks: 0,
            raw_key_bytes: 0,
            raw_value_bytes: 0,
            raw_data_bytes: 0,
            compressor,
            stored: Vec::new(),
        })
    }

    /// Keys must be strictly increasing; returns `Error::InvalidInput` otherwise.
    pub fn add(&mut self, key: &[u8], seq: u64, kind: ValueKind, value: &[u8]) -> Result<()> {
        if self.entries > 0 && key <= self.last_key.as_slice() {
            return Err(Error::InvalidInput(format!(
                "{}: key \"{}\" added after \"{}\"; SSTable keys must be strictly increasing",
                self.path.display(),
                key.escape_ascii(),
                self.last_key.escape_ascii()
            )));
        }
        self.block.add(&self.last_key, key, seq, kind, value);
        if self.entries == 0 {
            self.smallest = key.to_vec();
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.key_hashes.push(xxh3_64(key));
        self.entries += 1;
        if kind == ValueKind::Tombstone {
            self.tombstones += 1;
        }
        self.min_seq = self.min_seq.min(seq);
        self.max_seq = self.max_seq.max(seq);
        self.raw_key_bytes += key.len() as u64;
        self.raw_value_bytes += value.len() as u64;
        if self.block.encoded_len() >= self.opts.block_size {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Bytes written so far plus the pending data block.
    pub fn estimated_size(&self) -> u64 {
        let pending = if self.block.is_empty() {
            0
        } else {
            (self.block.encoded_len() + TRAILER_LEN) as u64
        };
        self.offset + pending
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Writes the remaining blocks and the footer and fsyncs the file (not its directory: the
    /// caller fsyncs that once, after installing the table). Refuses an empty table with
    /// `Error::InvalidInput`. On any error the partial file is removed, since the writer is
    /// consumed and the caller could not `abandon` it.
    pub fn finish(mut self) -> Result<SstProperties> {
        let result = if self.entries == 0 {
            Err(Error::InvalidInput(format!(
                "{}: refusing to write an SSTable with no entries",
                self.path.display()
            )))
        } else {
            self.write_tail()
        };
        if result.is_err() {
            self.abandon();
        }
        result
    }

    /// Removes the partial file.
    pub fn abandon(self) {
        let SstWriter { path, out, .. } = self;
        // Discard the buffer instead of flushing bytes that are about to be deleted.
        drop(out.into_parts());
        // Best effort: a leftover partial table is ignored by recovery (no footer).
        let _ = fs::remove_file(&path);
    }

    fn flush_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        self.block.seal();
        let contents = std::mem::take(&mut self.block.buf);
        self.raw_data_bytes += contents.len() as u64;
        let written = self.write_data_block(&contents);
        self.block.buf = contents;
        self.block.buf.clear();
        let handle = written?;
        put_bytes(&mut self.index, &self.last_key);
        self.index.extend_from_slice(&handle.offset.to_le_bytes());
        self.index.extend_from_slice(&handle.len.to_le_bytes());
        self.data_blocks += 1;
        Ok(())
    }

    /// Writes a data block compressed when the table asks for it and that pays.
    fn write_data_block(&mut self, raw: &[u8]) -> Result<Handle> {
        let mut stored = std::mem::take(&mut self.stored);
        let compressed = self.compress(raw, &mut stored);
        let written = match compressed {
            Ok(true) => self.write_block(&stored, COMPRESSION_ZSTD, "data"),
            Ok(false) => self.write_block(raw, COMPRESSION_NONE, "data"),
            Err(e) => Err(e),
        };
        self.stored = stored;
        written
    }

    /// Fills `stored` with the compressed form of `raw`; false if the block is better kept as
    /// it is (no compressor, too large, or saving less than 1/8).
    fn compress(&mut self, raw: &[u8], stored: &mut Vec<u8>) -> Result<bool> {
        let Some(compressor) = self.compressor.as_mut() else {
            return Ok(false);
        };
        if raw.len() > MAX_COMPRESSED_RAW_LEN {
            return Ok(false);
        }
        stored.clear();
        put_varint(stored, raw.len() as u64);
        let header = stored.len();
        stored.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        let mut frame = io::Cursor::new(&mut *stored);
        frame.set_position(header as u64);
        compressor
            .compress_to_buffer(raw, &mut frame)
            .at(&self.path)?;
        Ok(stored.len() <= raw.len() - raw.len() / MIN_SAVING_DIVISOR)
    }

    fn write_block(&mut self, contents: &[u8], compression: u8, what: &str) -> Result<Handle> {
        let len = u32::try_from(contents.len()).map_err(|_| {
            Error::InvalidInput(format!(
                "{}: {what} block of {} bytes exceeds the 4 GiB block limit",
                self.path.display(),
                contents.len()
            ))
        })?;
        let compression = [compression];
        let crc = masked_crc(&[contents, &compression]);
        self.out.write_all(contents).at(&self.path)?;
        self.out.write_all(&compression).at(&self.path)?;
        self.out.write_all(&crc.to_le_bytes()).at(&self.path)?;
        let handle = Handle {
            offset: self.offset,
            len,
        };
        self.offset += u64::from(len) + TRAILER_LEN as u64;
        Ok(handle)
    }

    fn write_tail(&mut self) -> Result<SstProperties> {
        self.flush_block()?;

        let index = std::mem::take(&mut self.index);
        let index_h = self.write_block(&index, COMPRESSION_NONE, "index")?;

        let bloom = build_bloom(&self.key_hashes, self.opts.bloom_bits_per_key);
        let bloom_h = self.write_block(&bloom, COMPRESSION_NONE, "bloom")?;

        let created_unix_ns = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(_) => 0,
        };
        let mut props = SstProperties {
            level: self.level,
            smallest: std::mem::take(&mut self.smallest),
            largest: self.last_key.clone(),
            min_seq: self.min_seq,
            max_seq: self.max_seq,
            entries: self.entries,
            tombstones: self.tombstones,
            data_blocks: self.data_blocks,
            bloom_bits_per_key: self.opts.bloom_bits_per_key,
            created_unix_ns,
            raw_key_bytes: self.raw_key_bytes,
            raw_value_bytes: self.raw_value_bytes,
            compression: self.opts.compression,
            raw_data_bytes: self.raw_data_bytes,
            format_version: Kind::Sst.version(),
            file_size: 0,
        };
        let props_h = self.write_block(&encode_props(&props), COMPRESSION_NONE, "properties")?;

        let mut footer = Vec::with_capacity(FOOTER_LEN);
        for h in [index_h, bloom_h, props_h] {
            footer.extend_from_slice(&h.offset.to_le_bytes());
            footer.extend_from_slice(&h.len.to_le_bytes());
        }
        let crc = masked_crc(&[&footer]);
        footer.extend_from_slice(&crc.to_le_bytes());
        footer.extend_from_slice(&Kind::Sst.magic());
        debug_assert_eq!(footer.len(), FOOTER_LEN);
        self.out.write_all(&footer).at(&self.path)?;
        self.offset += FOOTER_LEN as u64;

        self.out.flush().at(&self.path)?;
        self.out.get_ref().sync_all().at(&self.path)?;
        props.file_size = self.offset;
        Ok(props)
    }
}

fn build_bloom(hashes: &[u64], bits_per_key: u32) -> Vec<u8> {
    let k = bloom_probes(bits_per_key);
    let nbits = (hashes.len() as u64)
        .saturating_mul(u64::from(bits_per_key))
        .max(MIN_BLOOM_BITS)
        .next_multiple_of(8);
    let mut out = vec![0u8; 1 + (nbits / 8) as usize];
    out[0] = k;
    let bits = &mut out[1..];
    for &h in hashes {
        for bit in bloom_bit_positions(h, k, nbits) {
            bits[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }
    out
}

fn encode_props(p: &SstProperties) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + p.smallest.len() + p.largest.len());
    out.push(p.level);
    put_bytes(&mut out, &p.smallest);
    put_bytes(&mut out, &p.largest);
    for v in [p.min_seq, p.max_seq, p.entries, p.tombstones, p.data_blocks] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&p.bloom_bits_per_key.to_le_bytes());
    out.extend_from_slice(&p.created_unix_ns.to_le_bytes());
    out.extend_from_slice(&p.raw_key_bytes.to_le_bytes());
    out.extend_from_slice(&p.raw_value_bytes.to_le_bytes());
    out.push(p.compression.code());
    out.extend_from_slice(&p.compression.level().to_le_bytes());
    out.extend_from_slice(&p.raw_data_bytes.to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------------
// Reading

enum Backing {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Backing {
    fn bytes(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => m.bytes(),
            Backing::Owned(v) => v,
        }
    }
}

struct IndexEntry {
    last_key: Vec<u8>,
    handle: Handle,
}

/// An open, validated table.
pub struct Sst {
    path: PathBuf,
    backing: Backing,
    props: SstProperties,
    index: Vec<IndexEntry>,
    index_h: Handle,
    bloom_h: Handle,
    props_h: Handle,
    bloom_k: u8,
    bloom_bits: Range<usize>,
    version: u16,
    /// Unique among the tables this process opened: the block cache's key.
    id: u64,
    cache: Option<Arc<BlockCache>>,
}

/// Ids for open tables; a table opened twice gets two, so cached blocks never cross files.
static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(1);

impl fmt::Debug for Sst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backing = match self.backing {
            Backing::Mapped(_) => "mapped",
            Backing::Owned(_) => "owned",
        };
        f.debug_struct("Sst")
            .field("path", &self.path)
            .field("backing", &backing)
            .field("file_size", &self.props.file_size)
            .field("entries", &self.props.entries)
            .field("data_blocks", &self.index.len())
            .finish_non_exhaustive()
    }
}

impl Sst {
    /// Maps the file and validates its envelope, footer, index, bloom and properties blocks.
    /// Only for tables under the data dir's lock (see io/mmap.rs); use `from_bytes` for
    /// suspect files.
    pub fn open(path: &Path) -> Result<Sst> {
        let map = Mmap::open(path)?;
        Sst::parse(path, Backing::Mapped(map))
    }

    /// The same validation as `open` over bytes already in memory (verify, recover).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Sst> {
        Sst::parse(path, Backing::Owned(bytes))
    }

    /// Reads compressed data blocks through `cache` (shared with the engine's other tables).
    pub fn with_cache(mut self, cache: Option<Arc<BlockCache>>) -> Sst {
        self.cache = cache;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn properties(&self) -> &SstProperties {
        &self.props
    }

    /// False only if the key is certainly absent.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        let Some(bits) = self.bytes().get(self.bloom_bits.clone()) else {
            return true;
        };
        let nbits = bits.len() as u64 * 8;
        if nbits == 0 {
            return true;
        }
        bloom_bit_positions(xxh3_64(key), self.bloom_k, nbits).all(|bit| {
            bits.get((bit / 8) as usize)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<SstEntry>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        let i = self.index.partition_point(|e| e.last_key.as_slice() < key);
        let Some(entry) = self.index.get(i) else {
            return Ok(None);
        };
        let mut it = BlockIter::new(self.data_block(entry)?);
        it.seek(key)?;
        if it.next()? && it.key == key {
            return Ok(Some(it.entry()));
        }
        Ok(None)
    }

    /// All entries with key >= `start` (every entry if None), in key order. After an error the
    /// iterator ends.
    pub fn iter_from(&self, start: Option<&[u8]>) -> SstIter<'_> {
        let next_block = match start {
            Some(s) => self.index.partition_point(|e| e.last_key.as_slice() < s),
            None => 0,
        };
        SstIter {
            sst: self,
            next_block,
            block: None,
            seek: start.map(<[u8]>::to_vec),
            prev_block_last: None,
            done: false,
        }
    }

    /// Every block in file order: data blocks, then index, bloom and properties. Data blocks
    /// are read and checked here, so this touches the whole file.
    pub fn blocks(&self) -> Vec<BlockInfo> {
        let bytes = self.bytes();
        let mut out = Vec::with_capacity(self.index.len() + 3);
        for e in &self.index {
            let stored = stored_block(&self.path, bytes, e.handle, "data");
            let raw = data_block_bytes(&self.path, bytes, e.handle, self.version);
            let raw_size = raw.as_ref().ok().map(|r| r.len() as u64);
            let entries = raw.ok().and_then(|r| {
                let block = DataBlock::parse(&self.path, e.handle.offset, r).ok()?;
                BlockIter::new(block).count().ok()
            });
            out.push(BlockInfo {
                kind: "data",
                offset: e.handle.offset,
                size: u64::from(e.handle.len),
                compression: trailer_compression(bytes, e.handle).map(compression_name),
                raw_size,
                checksum_ok: stored.is_ok(),
                entries,
                last_key: Some(e.last_key.clone()),
            });
        }
        for (kind, h) in [
            ("index", self.index_h),
            ("bloom", self.bloom_h),
            ("properties", self.props_h),
        ] {
            let contents = block_contents(&self.path, bytes, h, kind);
            out.push(BlockInfo {
                kind,
                offset: h.offset,
                size: u64::from(h.len),
                compression: trailer_compression(bytes, h).map(compression_name),
                raw_size: contents.as_ref().ok().map(|c| c.len() as u64),
                checksum_ok: contents.is_ok(),
                entries: (kind == "index").then_some(self.index.len() as u64),
                last_key: None,
            });
        }
        out
    }

    /// The envelope's format version (1 or 2).
    pub fn format_version(&self) -> u16 {
        self.version
    }

    /// The data blocks as the index records them: (last key, contents size), in key order.
    /// The index is parsed on open, so this reads nothing: parallel compaction uses it to cut
    /// the key space into ranges of equal bytes, which file boundaries alone cannot do when
    /// every L0 file spans the whole key space.
    pub fn data_block_bounds(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.index
            .iter()
            .map(|e| (e.last_key.as_slice(), u64::from(e.handle.len)))
    }

    fn bytes(&self) -> &[u8] {
        self.backing.bytes()
    }

    fn data_block(&self, e: &IndexEntry) -> Result<DataBlock<'_>> {
        let bytes = self.bytes();
        let raw = match &self.cache {
            // Stored blocks are read in place; only a decompression is worth caching.
            Some(cache) if trailer_compression(bytes, e.handle) != Some(COMPRESSION_NONE) => {
                match cache.get(self.id, e.handle.offset) {
                    Some(block) => BlockBytes::Shared(block),
                    None => {
                        let raw = data_block_bytes(&self.path, bytes, e.handle, self.version)?;
                        if let BlockBytes::Shared(block) = &raw {
                            cache.insert(self.id, e.handle.offset, Arc::clone(block));
                        }
                        raw
                    }
                }
            }
            _ => data_block_bytes(&self.path, bytes, e.handle, self.version)?,
        };
        DataBlock::parse(&self.path, e.handle.offset, raw)
    }

    fn parse(path: &Path, backing: Backing) -> Result<Sst> {
        let bytes = backing.bytes();
        let file_size = bytes.len() as u64;
        let version = envelope::decode(path, bytes, Kind::Sst)?;
        let (footer_at, [index_h, bloom_h, props_h]) = decode_footer(path, bytes)?;

        let layout_ok = bloom_h.offset == index_h.end().unwrap_or(u64::MAX)
            && props_h.offset == bloom_h.end().unwrap_or(u64::MAX)
            && props_h.end() == Some(footer_at as u64)
            && index_h.offset >= envelope::LEN as u64;
        if !layout_ok {
            return Err(corrupt(
                path,
                footer_at as u64,
                format!(
                    "footer places index at {}+{}, bloom at {}+{}, properties at {}+{}, which do not \
                     tile the file up to the footer at {footer_at}",
                    index_h.offset,
                    index_h.len,
                    bloom_h.offset,
                    bloom_h.len,
                    props_h.offset,
                    props_h.len
                ),
            ));
        }

        let index_bytes = block_contents(path, bytes, index_h, "index")?;
        let index = decode_index(path, index_h, index_bytes)?;

        let bloom_bytes = block_contents(path, bytes, bloom_h, "bloom")?;
        let mut c = Cursor::new(bloom_bytes);
        let bloom_k = c.u8().unwrap_or(0);
        if !(1..=MAX_BLOOM_PROBES).contains(&bloom_k) || (c.remaining() as u64) * 8 < MIN_BLOOM_BITS
        {
            return Err(corrupt(
                path,
                bloom_h.offset,
                format!(
                    "bloom block has {bloom_k} probes over {} bytes (want 1..={MAX_BLOOM_PROBES} probes, at least {} bytes)",
                    c.remaining(),
                    MIN_BLOOM_BITS / 8
                ),
            ));
        }
        // Both ends lie inside the file: block_contents checked the whole block.
        let bloom_start = bloom_h.offset as usize + 1;
        let bloom_bits = bloom_start..bloom_start + c.remaining();

        let props_bytes = block_contents(path, bytes, props_h, "properties")?;
        let mut props = decode_props(path, props_h.offset, props_bytes, version)?;
        props.file_size = file_size;
        if version < VERSION_COMPRESSED {
            props.raw_data_bytes = index.iter().map(|e| u64::from(e.handle.len)).sum();
        }
        check_props(path, props_h.offset, &props, &index)?;

        Ok(Sst {
            path: path.to_path_buf(),
            backing,
            props,
            index,
            index_h,
            bloom_h,
            props_h,
            bloom_k,
            bloom_bits,
            version,
            id: NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed),
            cache: None,
        })
    }
}

/// Checks every checksum of the table at `path` without decompressing anything: envelope,
/// footer, index, bloom and properties (as on open), then each data block's trailer over its
/// stored bytes. The first damage is an error naming the file and offset. Costs a read of
/// the file and a crc32c pass, far less than decompressing it.
pub fn check_checksums(path: &Path) -> Result<()> {
    let sst = Sst::from_bytes(path, fs::read(path).at(path)?)?;
    let bytes = sst.bytes();
    for e in &sst.index {
        stored_block(path, bytes, e.handle, "data")?;
    }
    Ok(())
}

/// How a table's writer stored its data blocks, read from the envelope, footer and properties
/// alone (a few hundred bytes, whatever the table's size), every part checked. Backups use it
/// to store compressed tables as they are.
pub fn stored_compression(path: &Path) -> Result<Compression> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path).at(path)?;
    let len = file.metadata().at(path)?.len();
    let read_at = |at: u64, n: usize| -> Result<Vec<u8>> {
        let mut buf = vec![0; n];
        file.read_exact_at(&mut buf, at).at(path)?;
        Ok(buf)
    };
    let head = read_at(0, envelope::LEN.min(len as usize))?;
    let version = envelope::decode(path, &head, Kind::Sst)?;
    if version < VERSION_COMPRESSED {
        return Ok(Compression::None);
    }
    let footer_len = FOOTER_LEN.min(len as usize);
    let mut tail = vec![0; envelope::LEN];
    tail.extend_from_slice(&read_at(len - footer_len as u64, footer_len)?);
    // decode_footer wants the file's bytes; a stand-in envelope keeps its length checks, and
    // offsets in its errors are moved back to where the footer really lies.
    let shift = (len - footer_len as u64).saturating_sub(envelope::LEN as u64);
    let (_, [_, _, props_h]) = decode_footer(path, &tail).map_err(|e| match e {
        Error::Corruption {
            path,
            offset,
            what,
            hint,
        } => Error::Corruption {
            path,
            offset: offset + shift,
            what,
            hint,
        },
        other => other,
    })?;
    let end = props_h
        .end()
        .filter(|&end| end <= len - FOOTER_LEN as u64)
        .ok_or_else(|| {
            corrupt(
                path,
                len - FOOTER_LEN as u64,
                "footer places the properties past the footer",
            )
        })?;
    let block = read_at(props_h.offset, (end - props_h.offset) as usize)?;
    let local = Handle {
        offset: 0,
        len: props_h.len,
    };
    let contents = block_contents(path, &block, local, "properties")
        .map_err(|_| corrupt(path, props_h.offset, "properties block checksum mismatch"))?;
    Ok(decode_props(path, props_h.offset, contents, version)?.compression)
}

/// Returns the footer's offset and the index, bloom and properties handles.
fn decode_footer(path: &Path, bytes: &[u8]) -> Result<(usize, [Handle; 3])> {
    let file_size = bytes.len();
    let footer_at = file_size
        .checked_sub(FOOTER_LEN)
        .filter(|&at| at >= envelope::LEN)
        .ok_or_else(|| {
            corrupt(
                path,
                file_size as u64,
                format!("file of {file_size} bytes is too short to hold an SSTable footer"),
            )
        })?;
    let mut c = Cursor::new(bytes.get(footer_at..).unwrap_or_default());
    let (Some(fields), Some(stored), Some(magic)) = (c.take(FOOTER_CRC_AT), c.u32(), c.take(8))
    else {
        return Err(corrupt(path, footer_at as u64, "footer truncated"));
    };
    if magic != Kind::Sst.magic() {
        return Err(corrupt(
            path,
            (footer_at + FOOTER_CRC_AT + 4) as u64,
            "footer magic missing: the table is truncated or was never finished",
        ));
    }
    if stored != masked_crc(&[fields]) {
        return Err(corrupt(path, footer_at as u64, "footer checksum mismatch"));
    }
    let mut f = Cursor::new(fields);
    let mut handle = || {
        Some(Handle {
            offset: f.u64()?,
            len: f.u32()?,
        })
    };
    let (Some(index), Some(bloom), Some(props)) = (handle(), handle(), handle()) else {
        return Err(corrupt(path, footer_at as u64, "footer truncated"));
    };
    Ok((footer_at, [index, bloom, props]))
}

/// The bytes of an index, bloom or properties block once its trailer checks out (these are
/// never compressed).
fn block_contents<'a>(path: &Path, bytes: &'a [u8], h: Handle, what: &str) -> Result<&'a [u8]> {
    let (contents, compression) = stored_block(path, bytes, h, what)?;
    if compression != COMPRESSION_NONE {
        return Err(unknown_compression(path, h, what, compression));
    }
    Ok(contents)
}

/// A data block's raw bytes once its trailer checks out, decompressed if it was stored so.
fn data_block_bytes<'a>(
    path: &Path,
    bytes: &'a [u8],
    h: Handle,
    version: u16,
) -> Result<BlockBytes<'a>> {
    let (stored, compression) = stored_block(path, bytes, h, "data")?;
    match compression {
        COMPRESSION_NONE => Ok(BlockBytes::Stored(stored)),
        COMPRESSION_ZSTD if version >= VERSION_COMPRESSED => {
            decompress_block(path, h, stored).map(|raw| BlockBytes::Shared(Arc::new(raw)))
        }
        other => Err(unknown_compression(path, h, "data", other)),
    }
}

fn unknown_compression(path: &Path, h: Handle, what: &str, compression: u8) -> Error {
    corrupt(
        path,
        h.offset + u64::from(h.len),
        format!(
            "{what} block at offset {} uses unknown compression type {compression}",
            h.offset
        ),
    )
}

/// The compression byte of the trailer at `h`, unchecked (for reports of damaged blocks).
fn trailer_compression(bytes: &[u8], h: Handle) -> Option<u8> {
    let at = usize::try_from(h.offset.checked_add(u64::from(h.len))?).ok()?;
    bytes.get(at).copied()
}

fn compression_name(code: u8) -> &'static str {
    match code {
        COMPRESSION_NONE => "none",
        COMPRESSION_ZSTD => "zstd",
        _ => "unknown",
    }
}

thread_local! {
    // A zstd context costs about 100 KiB to set up, far more than one 4 KiB block takes to
    // decompress, so each reading thread keeps one.
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

fn decompress_block(path: &Path, h: Handle, stored: &[u8]) -> Result<Vec<u8>> {
    let mut c = Cursor::new(stored);
    let raw_len = varint_usize(&mut c)
        .filter(|&n| n <= MAX_COMPRESSED_RAW_LEN)
        .ok_or_else(|| {
            corrupt(
                path,
                h.offset,
                format!(
                    "compressed data block at offset {} declares no raw length, or one above \
                     the {MAX_COMPRESSED_RAW_LEN}-byte limit",
                    h.offset
                ),
            )
        })?;
    let frame = c.rest();
    let mut raw = Vec::with_capacity(raw_len);
    let result = DECOMPRESSOR.with(|cell| -> io::Result<usize> {
        let mut slot = cell.borrow_mut();
        let d = match &mut *slot {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        d.decompress_to_buffer(frame, &mut raw)
    });
    match result {
        Ok(n) if n == raw_len => Ok(raw),
        Ok(n) => Err(corrupt(
            path,
            h.offset,
            format!(
                "data block at offset {} decompresses to {n} bytes, its header says {raw_len}",
                h.offset
            ),
        )),
        Err(e) => Err(corrupt(
            path,
            h.offset,
            format!("data block at offset {} does not decompress: {e}", h.offset),
        )),
    }
}

/// The stored bytes of the block at `h` and its compression type, once its trailer checks out.
fn stored_block<'a>(path: &Path, bytes: &'a [u8], h: Handle, what: &str) -> Result<(&'a [u8], u8)> {
    let tail = usize::try_from(h.offset)
        .ok()
        .and_then(|at| bytes.get(at..))
        .unwrap_or_default();
    let mut c = Cursor::new(tail);
    let (Some(contents), Some(compression), Some(stored)) =
        (c.take(h.len as usize), c.u8(), c.u32())
    else {
        return Err(corrupt(
            path,
            h.offset,
            format!(
                "{what} block at offset {} ({} bytes + trailer) runs past the end of the file ({} bytes)",
                h.offset,
                h.len,
                bytes.len()
            ),
        ));
    };
    if stored != masked_crc(&[contents, &[compression]]) {
        return Err(corrupt(
            path,
            h.offset,
            format!(
                "{what} block at offset {} ({} bytes) checksum mismatch",
                h.offset, h.len
            ),
        ));
    }
    Ok((contents, compression))
}

fn decode_index(path: &Path, h: Handle, contents: &[u8]) -> Result<Vec<IndexEntry>> {
    let mut c = Cursor::new(contents);
    let mut entries: Vec<IndexEntry> = Vec::new();
    // Data blocks must tile the file from the envelope to the index block, so that no byte
    // escapes a checksum and the index cannot point two entries at overlapping bytes.
    let mut expected = envelope::LEN as u64;
    while c.remaining() > 0 {
        let at = h.offset + c.pos() as u64;
        let (Some(key), Some(offset), Some(len)) = (c.bytes(), c.u64(), c.u32()) else {
            return Err(corrupt(path, at, "index entry truncated"));
        };
        if offset != expected {
            return Err(corrupt(
                path,
                at,
                format!("index entry points at offset {offset}, expected {expected}"),
            ));
        }
        if let Some(prev) = entries.last()
            && key <= prev.last_key.as_slice()
        {
            return Err(corrupt(path, at, "index keys out of order"));
        }
        let handle = Handle { offset, len };
        expected = handle
            .end()
            .ok_or_else(|| corrupt(path, at, "index entry overflows the file"))?;
        entries.push(IndexEntry {
            last_key: key.to_vec(),
            handle,
        });
    }
    if entries.is_empty() {
        return Err(corrupt(path, h.offset, "index lists no data blocks"));
    }
    if expected != h.offset {
        return Err(corrupt(
            path,
            h.offset,
            format!(
                "data blocks end at offset {expected} but the index block starts at {}",
                h.offset
            ),
        ));
    }
    Ok(entries)
}

/// The properties as stored; `file_size` is left for the caller and, in version 1,
/// `raw_data_bytes` too.
fn decode_props(path: &Path, base: u64, contents: &[u8], version: u16) -> Result<SstProperties> {
    let mut c = Cursor::new(contents);
    // Struct fields are evaluated in the order written, which is the order on disk.
    let props = (|| {
        Some(SstProperties {
            level: c.u8()?,
            smallest: c.bytes()?.to_vec(),
            largest: c.bytes()?.to_vec(),
            min_seq: c.u64()?,
            max_seq: c.u64()?,
            entries: c.u64()?,
            tombstones: c.u64()?,
            data_blocks: c.u64()?,
            bloom_bits_per_key: c.u32()?,
            created_unix_ns: c.i64()?,
            raw_key_bytes: c.u64()?,
            raw_value_bytes: c.u64()?,
            compression: Compression::None,
            raw_data_bytes: 0,
            format_version: version,
            file_size: 0,
        })
    })();
    let Some(mut props) = props else {
        return Err(corrupt(
            path,
            base + c.pos() as u64,
            "properties block truncated",
        ));
    };
    if version >= VERSION_COMPRESSED {
        let at = base + c.pos() as u64;
        let (Some(code), Some(level), Some(raw_data_bytes)) = (c.u8(), c.i32(), c.u64()) else {
            return Err(corrupt(path, at, "properties block truncated"));
        };
        props.compression = match code {
            COMPRESSION_NONE => Compression::None,
            COMPRESSION_ZSTD => Compression::Zstd { level },
            other => {
                return Err(corrupt(
                    path,
                    at,
                    format!("properties name unknown compression type {other}"),
                ));
            }
        };
        props.raw_data_bytes = raw_data_bytes;
    }
    if c.remaining() != 0 {
        return Err(corrupt(
            path,
            base + c.pos() as u64,
            format!("{} unexpected bytes after the properties", c.remaining()),
        ));
    }
    Ok(props)
}

/// Cross-checks that cost nothing on open and catch a writer bug before it misleads a reader.
fn check_props(path: &Path, at: u64, p: &SstProperties, index: &[IndexEntry]) -> Result<()> {
    let problem = if p.data_blocks != index.len() as u64 {
        Some(format!(
            "properties count {} data blocks, the index {}",
            p.data_blocks,
            index.len()
        ))
    } else if index.last().map(|e| e.last_key.as_slice()) != Some(p.largest.as_slice()) {
        Some("properties' largest key differs from the index's last key".to_string())
    } else if p.smallest > p.largest || p.min_seq > p.max_seq {
        Some("properties' smallest/largest key or min/max sequence are inverted".to_string())
    } else if p.entries < p.data_blocks || p.tombstones > p.entries {
        Some(format!(
            "properties count {} entries, {} tombstones in {} blocks",
            p.entries, p.tombstones, p.data_blocks
        ))
    } else {
        None
    };
    match problem {
        Some(what) => Err(corrupt(path, at, what)),
        None => Ok(()),
    }
}

/// A data block's raw bytes: borrowed from the table when stored as they are, shared with the
/// block cache when decompressed.
enum BlockBytes<'a> {
    Stored(&'a [u8]),
    Shared(Arc<Vec<u8>>),
}

impl Deref for BlockBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            BlockBytes::Stored(b) => b,
            BlockBytes::Shared(v) => v,
        }
    }
}

/// Damage at byte `at` of a block's raw bytes. In a stored block that is a file offset; in a
/// decompressed one it is not, so the error names the block's offset and the byte within.
fn block_damage(path: &Path, base: u64, compressed: bool, at: usize, what: String) -> Error {
    if compressed {
        corrupt(
            path,
            base,
            format!("{what} (byte {at} of the data block at offset {base}, once decompressed)"),
        )
    } else {
        corrupt(path, base + at as u64, what)
    }
}

/// A checksummed data block split into its entries and restart points.
struct DataBlock<'a> {
    path: &'a Path,
    /// File offset of the block, for error offsets.
    base: u64,
    bytes: BlockBytes<'a>,
    /// The entries are `bytes[..entries_len]`; the restart array follows.
    entries_len: usize,
    restarts: Vec<usize>,
}

impl<'a> DataBlock<'a> {
    fn parse(path: &'a Path, base: u64, bytes: BlockBytes<'a>) -> Result<DataBlock<'a>> {
        let compressed = matches!(bytes, BlockBytes::Shared(_));
        let contents: &[u8] = &bytes;
        let len = contents.len();
        let fail = |at: usize, what: String| block_damage(path, base, compressed, at, what);
        let count_at = len
            .checked_sub(4)
            .ok_or_else(|| fail(0, format!("data block of {len} bytes has no restart count")))?;
        let count = Cursor::new(contents.get(count_at..).unwrap_or_default())
            .u32()
            .unwrap_or(0) as usize;
        let array_at = count
            .checked_mul(4)
            .and_then(|n| count_at.checked_sub(n))
            .filter(|_| count > 0)
            .ok_or_else(|| {
                fail(
                    count_at,
                    format!("restart count {count} does not fit the {len}-byte block"),
                )
            })?;
        let mut c = Cursor::new(contents.get(array_at..count_at).unwrap_or_default());
        let mut restarts: Vec<usize> = Vec::with_capacity(count);
        while let Some(r) = c.u32() {
            let r = r as usize;
            let in_order = match restarts.last() {
                None => r == 0,
                Some(&prev) => r > prev,
            };
            if !in_order || r >= array_at {
                return Err(fail(
                    array_at + 4 * restarts.len(),
                    format!("restart point {r} is out of order or outside the entries"),
                ));
            }
            restarts.push(r);
        }
        Ok(DataBlock {
            path,
            base,
            bytes,
            entries_len: array_at,
            restarts,
        })
    }

    fn entries(&self) -> &[u8] {
        self.bytes.get(..self.entries_len).unwrap_or_default()
    }

    /// The full key stored at restart point `i` (where no prefix is shared).
    fn restart_key(&self, i: usize) -> Result<&[u8]> {
        let at = self.restarts.get(i).copied().unwrap_or(usize::MAX);
        let mut c = Cursor::new(self.entries().get(at..).unwrap_or_default());
        let (Some(shared), Some(unshared), Some(_)) =
            (c.varint(), varint_usize(&mut c), c.varint())
        else {
            return Err(self.fail(at, "restart entry header truncated"));
        };
        if shared != 0 {
            return Err(self.fail(at, format!("restart entry shares {shared} key bytes")));
        }
        c.take(unshared)
            .ok_or_else(|| self.fail(at, "restart entry key runs past the block"))
    }

    fn fail(&self, at: usize, what: impl Into<String>) -> Error {
        let compressed = matches!(self.bytes, BlockBytes::Shared(_));
        block_damage(self.path, self.base, compressed, at, what.into())
    }
}

/// Walks one data block. `next` decodes the following entry into `key`/`seq`/`kind`/`value`.
struct BlockIter<'a> {
    block: DataBlock<'a>,
    next_pos: usize,
    /// Offset of the current entry in `block.entries`.
    pos: usize,
    /// Whether `key` holds an entry decoded since the last reposition, for the order check.
    has_key: bool,
    /// Set by `seek`: the current entry has not been returned by `next` yet.
    primed: bool,
    key: Vec<u8>,
    seq: u64,
    kind: ValueKind,
    /// Where the current value lies in `block.entries()`.
    value: Range<usize>,
}

impl<'a> BlockIter<'a> {
    fn new(block: DataBlock<'a>) -> BlockIter<'a> {
        BlockIter {
            block,
            next_pos: 0,
            pos: 0,
            has_key: false,
            primed: false,
            key: Vec::new(),
            seq: 0,
            kind: ValueKind::Value,
            value: 0..0,
        }
    }

    fn value(&self) -> &[u8] {
        self.block
            .entries()
            .get(self.value.clone())
            .unwrap_or_default()
    }

    fn entry(&self) -> SstEntry {
        SstEntry {
            key: self.key.clone(),
            seq: self.seq,
            kind: self.kind,
            value: self.value().to_vec(),
        }
    }

    /// Positions on the first entry with key >= `target` (or at the end), which the next call
    /// to `next` returns.
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        // Last restart point whose key is <= target; the entries before it are all smaller.
        let (mut lo, mut hi) = (0, self.block.restarts.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.block.restart_key(mid)? <= target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.next_pos = self
            .block
            .restarts
            .get(lo.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        self.key.clear();
        self.has_key = false;
        self.primed = false;
        while self.advance()? {
            if self.key.as_slice() >= target {
                self.primed = true;
                break;
            }
        }
        Ok(())
    }

    fn next(&mut self) -> Result<bool> {
        if self.primed {
            self.primed = false;
            return Ok(true);
        }
        self.advance()
    }

    fn count(mut self) -> Result<u64> {
        let mut n = 0;
        while self.next()? {
            n += 1;
        }
        Ok(n)
    }

    fn advance(&mut self) -> Result<bool> {
        let entries = self.block.entries();
        let start = self.next_pos;
        let rest = entries.get(start..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(false);
        }
        let mut c = Cursor::new(rest);
        let fail = |c: &Cursor<'_>, what: String| self.block.fail(start + c.pos(), what);
        let (Some(shared), Some(unshared), Some(value_len)) = (
            varint_usize(&mut c),
            varint_usize(&mut c),
            varint_usize(&mut c),
        ) else {
            return Err(fail(&c, "entry header truncated".into()));
        };
        let Some(prev_rest) = self.key.get(shared..) else {
            return Err(fail(
                &c,
                format!(
                    "entry shares {shared} bytes with a previous key of {}",
                    self.key.len()
                ),
            ));
        };
        let Some(suffix) = c.take(unshared) else {
            return Err(fail(&c, "entry key runs past the block".into()));
        };
        // new key > previous key exactly when the unshared parts compare that way.
        if self.has_key && suffix <= prev_rest {
            return Err(fail(&c, "keys out of order within the block".into()));
        }
        let Some(seq) = c.u64() else {
            return Err(fail(&c, "entry sequence truncated".into()));
        };
        let Some(kind_byte) = c.u8() else {
            return Err(fail(&c, "entry kind truncated".into()));
        };
        let Some(kind) = ValueKind::from_u8(kind_byte) else {
            return Err(self.block.fail(
                start + c.pos() - 1,
                format!("unknown value kind {kind_byte}"),
            ));
        };
        if c.take(value_len).is_none() {
            return Err(fail(&c, "entry value runs past the block".into()));
        }
        let value_end = start + c.pos();
        self.key.truncate(shared);
        self.key.extend_from_slice(suffix);
        self.seq = seq;
        self.kind = kind;
        self.value = value_end - value_len..value_end;
        self.pos = start;
        self.has_key = true;
        self.next_pos = start + c.pos();
        Ok(true)
    }
}

/// Entries of a table in key order; see `Sst::iter_from`.
pub struct SstIter<'a> {
    sst: &'a Sst,
    next_block: usize,
    block: Option<BlockIter<'a>>,
    /// The start key, applied to the first block read.
    seek: Option<Vec<u8>>,
    /// The last key of the block before the current one, until the first entry is checked
    /// against it.
    prev_block_last: Option<&'a [u8]>,
    done: bool,
}

impl fmt::Debug for SstIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SstIter")
            .field("path", &self.sst.path)
            .field("next_block", &self.next_block)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a> SstIter<'a> {
    /// Moves to the next entry without copying it out: read it with `key`, `seq`, `kind` and
    /// `value`. False at the end. For scans that look at every entry and keep few of them.
    pub fn advance(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        match self.position_next() {
            Ok(true) => Ok(true),
            Ok(false) => {
                self.done = true;
                Ok(false)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// The current entry's key (after `advance` returned true).
    pub fn key(&self) -> &[u8] {
        self.block.as_ref().map_or(&[], |b| b.key.as_slice())
    }

    pub fn seq(&self) -> u64 {
        self.block.as_ref().map_or(0, |b| b.seq)
    }

    pub fn kind(&self) -> ValueKind {
        self.block.as_ref().map_or(ValueKind::Tombstone, |b| b.kind)
    }

    /// The current entry's value, borrowed from the current block.
    pub fn value(&self) -> &[u8] {
        self.block.as_ref().map_or(&[], BlockIter::value)
    }

    fn step(&mut self) -> Result<Option<SstEntry>> {
        if self.position_next()? {
            Ok(self.block.as_ref().map(BlockIter::entry))
        } else {
            Ok(None)
        }
    }

    /// Positions `block` on the next entry; false at the end.
    fn position_next(&mut self) -> Result<bool> {
        let sst = self.sst;
        loop {
            let it = match &mut self.block {
                Some(it) => it,
                None => {
                    let Some(e) = sst.index.get(self.next_block) else {
                        return Ok(false);
                    };
                    let mut it = BlockIter::new(sst.data_block(e)?);
                    if let Some(target) = self.seek.take() {
                        it.seek(&target)?;
                    }
                    self.next_block += 1;
                    self.block.insert(it)
                }
            };
            if it.next()? {
                if let Some(prev) = self.prev_block_last.take()
                    && it.key.as_slice() <= prev
                {
                    return Err(it.block.fail(
                        it.pos,
                        "block starts at or before the previous block's last key",
                    ));
                }
                return Ok(true);
            }
            // Index lookups rely on each block ending exactly at its indexed key.
            let indexed = sst
                .index
                .get(self.next_block - 1)
                .map(|e| e.last_key.as_slice());
            if indexed != Some(it.key.as_slice()) {
                return Err(it.block.fail(
                    it.pos,
                    "block's last key differs from the key the index records for it",
                ));
            }
            self.prev_block_last = indexed;
            self.block = None;
        }
    }
}

impl Iterator for SstIter<'_> {
    type Item = Result<SstEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a failed unwrap is the clearest test failure"
)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    type Model = BTreeMap<Vec<u8>, (u64, ValueKind, Vec<u8>)>;

    fn write(path: &Path, model: &Model, opts: SstOptions) -> SstProperties {
        let mut w = SstWriter::create(path, 3, opts).unwrap();
        for (k, (seq, kind, v)) in model {
            w.add(k, *seq, *kind, v).unwrap();
        }
        assert_eq!(w.entries(), model.len() as u64);
        w.finish().unwrap()
    }

    fn expected(model: &Model, start: Option<&[u8]>) -> Vec<SstEntry> {
        model
            .iter()
            .filter(|(k, _)| start.is_none_or(|s| k.as_slice() >= s))
            .map(|(k, (seq, kind, v))| SstEntry {
                key: k.clone(),
                seq: *seq,
                kind: *kind,
                value: v.clone(),
            })
            .collect()
    }

    fn collect(sst: &Sst, start: Option<&[u8]>) -> Vec<SstEntry> {
        sst.iter_from(start).collect::<Result<Vec<_>>>().unwrap()
    }

    /// Recomputes the trailer of the block at `h` after its contents were edited.
    fn reseal(bytes: &mut [u8], h: Handle) {
        let start = h.offset as usize;
        let end = start + h.len as usize;
        let crc = masked_crc(&[&bytes[start..end], &bytes[end..end + 1]]);
        bytes[end + 1..end + 5].copy_from_slice(&crc.to_le_bytes());
    }

    fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            2 => Just(Vec::new()),
            6 => proptest::collection::vec(any::<u8>(), 0..48),
            // Large values are generated from a seed: drawing 5 KiB byte by byte is slow.
            1 => (4097usize..6000, any::<u8>())
                .prop_map(|(n, b)| (0..n).map(|i| b.wrapping_add(i as u8)).collect()),
        ]
    }

    fn model_strategy(max: usize) -> impl Strategy<Value = Model> {
        proptest::collection::btree_map(
            proptest::collection::vec(any::<u8>(), 0..20),
            (any::<u64>(), any::<bool>(), value_strategy()).prop_map(|(seq, tomb, v)| {
                if tomb {
                    (seq, ValueKind::Tombstone, Vec::new())
                } else {
                    (seq, ValueKind::Value, v)
                }
            }),
            0..max,
        )
    }

    fn opts_strategy() -> impl Strategy<Value = SstOptions> {
        let compression = prop_oneof![
            Just(Compression::None),
            Just(Compression::Zstd { level: 1 }),
            Just(Compression::default()),
        ];
        (
            prop_oneof![Just(64usize), Just(512), Just(4096)],
            0u32..16,
            compression,
        )
            .prop_map(|(block_size, bloom_bits_per_key, compression)| SstOptions {
                block_size,
                bloom_bits_per_key,
                compression,
            })
    }

    /// A table of about three data blocks, as bytes, with its data blocks compressed.
    fn small_table() -> (Model, Vec<u8>) {
        small_table_with(Compression::default())
    }

    fn small_table_with(compression: Compression) -> (Model, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.sst");
        let mut model = Model::new();
        for i in 0..24u64 {
            let kind = if i % 7 == 3 {
                ValueKind::Tombstone
            } else {
                ValueKind::Value
            };
            let value = if kind == ValueKind::Tombstone || i == 5 {
                Vec::new()
            } else {
                format!("value-{i}-{}", "x".repeat(i as usize)).into_bytes()
            };
            model.insert(format!("key-{i:04}").into_bytes(), (100 + i, kind, value));
        }
        let opts = SstOptions {
            block_size: 300,
            bloom_bits_per_key: 10,
            compression,
        };
        let props = write(&path, &model, opts);
        assert!(props.data_blocks >= 3, "{props:?}");
        let bytes = fs::read(&path).unwrap();
        let sst = Sst::from_bytes(&path, bytes.clone()).unwrap();
        let zstd_blocks = sst
            .blocks()
            .iter()
            .filter(|b| b.compression == Some("zstd"))
            .count();
        assert_eq!(
            zstd_blocks == 0,
            compression == Compression::None,
            "{zstd_blocks} compressed blocks"
        );
        (model, bytes)
    }

    /// The same table as a version 1 writer would have written it (no compression allowed).
    fn downgrade_to_v1(bytes: &[u8]) -> Vec<u8> {
        const V2_PROPS_EXTRA: usize = 1 + 4 + 8;
        let sst = Sst::from_bytes(Path::new("t.sst"), bytes.to_vec()).unwrap();
        assert!(sst.blocks().iter().all(|b| b.compression == Some("none")));
        let props_h = sst.props_h;
        let props_end = (props_h.offset + u64::from(props_h.len)) as usize;
        let mut out = envelope::encode(Kind::Sst).to_vec();
        out[8..10].copy_from_slice(&1u16.to_le_bytes());
        let crc = masked_crc(&[&out[..12]]);
        out[12..16].copy_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&bytes[envelope::LEN..props_end - V2_PROPS_EXTRA]);
        let v1_props = Handle {
            offset: props_h.offset,
            len: props_h.len - V2_PROPS_EXTRA as u32,
        };
        out.extend_from_slice(&[COMPRESSION_NONE, 0, 0, 0, 0]);
        reseal(&mut out, v1_props);
        let mut footer = Vec::new();
        for h in [sst.index_h, sst.bloom_h, v1_props] {
            footer.extend_from_slice(&h.offset.to_le_bytes());
            footer.extend_from_slice(&h.len.to_le_bytes());
        }
        let crc = masked_crc(&[&footer]);
        footer.extend_from_slice(&crc.to_le_bytes());
        footer.extend_from_slice(&Kind::Sst.magic());
        out.extend_from_slice(&footer);
        out
    }

    /// Whether reading all of `bytes` as a table reports an error anywhere.
    fn any_error(bytes: Vec<u8>, model: &Model) -> bool {
        let Ok(sst) = Sst::from_bytes(Path::new("damaged.sst"), bytes) else {
            return true;
        };
        let iter_err = sst.iter_from(None).any(|r| r.is_err());
        let get_err = model.keys().any(|k| sst.get(k).is_err());
        iter_err || get_err
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn round_trip(
            model in model_strategy(500),
            opts in opts_strategy(),
            absent in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..20),
            starts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 1..10),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.sst");
            if model.is_empty() {
                let w = SstWriter::create(&path, 0, opts).unwrap();
                prop_assert!(matches!(w.finish(), Err(Error::InvalidInput(_))));
                prop_assert!(!path.exists());
                return Ok(());
            }
            let written = write(&path, &model, opts);
            let file_size = fs::metadata(&path).unwrap().len();
            prop_assert_eq!(written.file_size, file_size);

            let mapped = Sst::open(&path).unwrap();
            let owned = Sst::from_bytes(&path, fs::read(&path).unwrap()).unwrap();
            for sst in [&mapped, &owned] {
                let p = sst.properties();
                prop_assert_eq!(p, &written);
                prop_assert_eq!(p.level, 3);
                prop_assert_eq!(&p.smallest, model.keys().next().unwrap());
                prop_assert_eq!(&p.largest, model.keys().next_back().unwrap());
                prop_assert_eq!(p.entries, model.len() as u64);
                let tombs = model.values().filter(|v| v.1 == ValueKind::Tombstone).count();
                prop_assert_eq!(p.tombstones, tombs as u64);
                prop_assert_eq!(p.min_seq, model.values().map(|v| v.0).min().unwrap());
                prop_assert_eq!(p.max_seq, model.values().map(|v| v.0).max().unwrap());
                prop_assert_eq!(p.raw_key_bytes, model.keys().map(|k| k.len() as u64).sum::<u64>());
                prop_assert_eq!(p.raw_value_bytes, model.values().map(|v| v.2.len() as u64).sum::<u64>());
                prop_assert_eq!(p.bloom_bits_per_key, opts.bloom_bits_per_key);
                prop_assert_eq!(p.compression, opts.compression);
                prop_assert_eq!(p.format_version, 2);
                prop_assert_eq!(p.file_size, file_size);
                prop_assert_eq!(sst.path(), path.as_path());

                prop_assert_eq!(collect(sst, None), expected(&model, None));
                for e in expected(&model, None) {
                    prop_assert!(sst.may_contain(&e.key));
                    prop_assert_eq!(sst.get(&e.key).unwrap(), Some(e));
                }
                for k in &absent {
                    if !model.contains_key(k) {
                        prop_assert_eq!(sst.get(k).unwrap(), None);
                    }
                }
                for k in model.keys() {
                    let mut after = k.clone();
                    after.push(0);
                    if !model.contains_key(&after) {
                        prop_assert_eq!(sst.get(&after).unwrap(), None);
                    }
                }

                let blocks = sst.blocks();
                let data: Vec<_> = blocks.iter().filter(|b| b.kind == "data").collect();
                prop_assert_eq!(data.len() as u64, p.data_blocks);
                prop_assert!(blocks.iter().all(|b| b.checksum_ok));
                prop_assert_eq!(data.iter().map(|b| b.entries.unwrap()).sum::<u64>(), p.entries);
                prop_assert_eq!(data.iter().map(|b| b.raw_size.unwrap()).sum::<u64>(), p.raw_data_bytes);
                for b in &data {
                    let compressed = b.compression == Some("zstd");
                    prop_assert!(!compressed || opts.compression != Compression::None);
                    // Stored compressed only when that saves at least an eighth.
                    let raw = b.raw_size.unwrap();
                    prop_assert!(!compressed || b.size <= raw - raw / 8, "{:?}", b);
                    prop_assert!(compressed || b.size == raw);
                }
                prop_assert_eq!(data.last().unwrap().last_key.as_deref(), Some(p.largest.as_slice()));
                let kinds: Vec<_> = blocks.iter().skip(data.len()).map(|b| b.kind).collect();
                prop_assert_eq!(kinds, ["index", "bloom", "properties"]);
                let mut at = envelope::LEN as u64;
                for b in &blocks {
                    prop_assert_eq!(b.offset, at);
                    at += b.size + TRAILER_LEN as u64;
                }
                prop_assert_eq!(at + FOOTER_LEN as u64, file_size);

                for s in starts.iter().chain(model.keys()) {
                    prop_assert_eq!(collect(sst, Some(s)), expected(&model, Some(s)));
                }
            }
        }

        #[test]
        fn iter_from_random_starts(
            model in model_strategy(200),
            opts in opts_strategy(),
            starts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..30),
        ) {
            prop_assume!(!model.is_empty());
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.sst");
            write(&path, &model, opts);
            let sst = Sst::from_bytes(&path, fs::read(&path).unwrap()).unwrap();
            for s in &starts {
                prop_assert_eq!(collect(&sst, Some(s)), expected(&model, Some(s)));
                // A partially consumed iterator continues where it stopped.
                let mut it = sst.iter_from(Some(s));
                let first = it.next().transpose().unwrap();
                let want = expected(&model, Some(s));
                prop_assert_eq!(first.as_ref(), want.first());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let p = Path::new("junk.sst");
            let _ = Sst::from_bytes(p, bytes.clone());
            // Past the envelope, so the footer and block decoders see the junk too.
            let mut framed = envelope::encode(Kind::Sst).to_vec();
            framed.extend_from_slice(&bytes);
            if let Ok(sst) = Sst::from_bytes(p, framed) {
                let _ = sst.iter_from(None).count();
                let _ = sst.get(&bytes);
                let _ = sst.blocks();
            }
        }

        /// Damage that a checksum cannot see (the trailer is recomputed) must still never
        /// panic, whichever block it hits.
        #[test]
        fn resealed_garbage_never_panics(
            block in 0usize..16,
            edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..12),
        ) {
            let (model, mut bytes) = small_table();
            let sst = Sst::from_bytes(Path::new("t.sst"), bytes.clone()).unwrap();
            let handles: Vec<Handle> = sst
                .blocks()
                .iter()
                .map(|b| Handle { offset: b.offset, len: b.size as u32 })
                .collect();
            let h = handles[block % handles.len()];
            for (at, v) in edits {
                if h.len > 0 {
                    bytes[h.offset as usize + at as usize % h.len as usize] = v;
                }
            }
            reseal(&mut bytes, h);
            if let Ok(sst) = Sst::from_bytes(Path::new("t.sst"), bytes) {
                let _ = sst.iter_from(None).count();
                for k in model.keys() {
                    let _ = sst.get(k);
                    let _ = sst.iter_from(Some(k)).count();
                }
                let _ = sst.blocks();
            }
        }

        #[test]
        fn resealed_footer_garbage_never_panics(fields in proptest::collection::vec(any::<u8>(), 36)) {
            let (_, mut bytes) = small_table();
            let at = bytes.len() - FOOTER_LEN;
            bytes[at..at + 36].copy_from_slice(&fields);
            let crc = masked_crc(&[&fields]);
            bytes[at + 36..at + 40].copy_from_slice(&crc.to_le_bytes());
            prop_assert!(Sst::from_bytes(Path::new("t.sst"), bytes).is_err());
        }
    }

    /// The same small table compressed, uncompressed, and as version 1 wrote it.
    fn small_tables() -> Vec<(Model, Vec<u8>)> {
        let (model, plain) = small_table_with(Compression::None);
        let v1 = downgrade_to_v1(&plain);
        vec![small_table(), (model.clone(), plain), (model, v1)]
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        for (model, bytes) in small_tables() {
            assert!(!any_error(bytes.clone(), &model));
            for i in 0..bytes.len() {
                for mask in [0x01u8, 0x80, 0xff] {
                    let mut damaged = bytes.clone();
                    damaged[i] ^= mask;
                    assert!(
                        any_error(damaged, &model),
                        "flipping byte {i} with {mask:#04x} went unnoticed"
                    );
                }
            }
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        for (_, bytes) in small_tables() {
            for n in 0..bytes.len() {
                let err = Sst::from_bytes(Path::new("t.sst"), bytes[..n].to_vec());
                assert!(err.is_err(), "truncation to {n} bytes went unnoticed");
            }
        }
    }

    #[test]
    fn version_1_tables_read_as_before() {
        let (model, plain) = small_table_with(Compression::None);
        let v1 = downgrade_to_v1(&plain);
        let sst = Sst::from_bytes(Path::new("v1.sst"), v1.clone()).unwrap();
        assert_eq!(sst.format_version(), 1);
        let p = sst.properties();
        assert_eq!(p.format_version, 1);
        assert_eq!(p.compression, Compression::None);
        assert_eq!(p.file_size, v1.len() as u64);
        let data = sst.blocks();
        let stored: u64 = data
            .iter()
            .filter(|b| b.kind == "data")
            .map(|b| b.size)
            .sum();
        assert_eq!(p.raw_data_bytes, stored);
        assert_eq!(collect(&sst, None), expected(&model, None));

        // A version 1 table cannot hold a compressed block, even with a valid checksum.
        let mut bad = v1;
        let first = data[0].clone();
        let h = Handle {
            offset: first.offset,
            len: first.size as u32,
        };
        bad[(first.offset + first.size) as usize] = COMPRESSION_ZSTD;
        reseal(&mut bad, h);
        let sst = Sst::from_bytes(Path::new("v1.sst"), bad).unwrap();
        let err = sst.iter_from(None).find_map(|r| r.err()).unwrap();
        assert!(
            err.to_string().contains("unknown compression type 1"),
            "{err}"
        );
    }

    #[test]
    fn a_compressed_block_with_a_wrong_or_huge_raw_length_is_refused() {
        let (model, bytes) = small_table();
        let sst = Sst::from_bytes(Path::new("t.sst"), bytes.clone()).unwrap();
        let first = sst.blocks()[0].clone();
        assert_eq!(first.compression, Some("zstd"));
        let h = Handle {
            offset: first.offset,
            len: first.size as u32,
        };
        let at = first.offset as usize;
        let mut c = Cursor::new(&bytes[at..]);
        let raw_len = c.varint().unwrap();
        let varint_len = c.pos();
        for declared in [
            raw_len - 1,
            raw_len + 1,
            (MAX_COMPRESSED_RAW_LEN as u64) + 1,
        ] {
            let mut header = Vec::new();
            put_varint(&mut header, declared);
            let mut stored = header;
            stored.extend_from_slice(&bytes[at + varint_len..at + first.size as usize]);
            let mut damaged = bytes[..at].to_vec();
            damaged.extend_from_slice(&stored);
            damaged.extend_from_slice(&bytes[at + first.size as usize..]);
            if stored.len() != first.size as usize {
                // A longer varint shifts the block: the index no longer tiles the file.
                assert!(Sst::from_bytes(Path::new("t.sst"), damaged).is_err());
                continue;
            }
            reseal(&mut damaged, h);
            let sst = Sst::from_bytes(Path::new("t.sst"), damaged).unwrap();
            let err = sst.get(model.keys().next().unwrap()).unwrap_err();
            match &err {
                Error::Corruption { offset, .. } => assert_eq!(*offset, first.offset),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn incompressible_blocks_are_stored_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        let mut model = Model::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..64u64 {
            let value: Vec<u8> = (0..200)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            model.insert(
                format!("k{i:03}").into_bytes(),
                (i, ValueKind::Value, value),
            );
        }
        write(&path, &model, SstOptions::default());
        let sst = Sst::open(&path).unwrap();
        let data: Vec<_> = sst
            .blocks()
            .into_iter()
            .filter(|b| b.kind == "data")
            .collect();
        assert!(data.len() > 2);
        assert!(
            data.iter().all(|b| b.compression == Some("none")),
            "{data:?}"
        );
        assert_eq!(collect(&sst, None), expected(&model, None));
    }

    #[test]
    fn check_checksums_finds_every_flip_without_decompressing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        for (_, bytes) in small_tables() {
            fs::write(&path, &bytes).unwrap();
            check_checksums(&path).unwrap();
            for i in (0..bytes.len()).step_by(7) {
                let mut bad = bytes.clone();
                bad[i] ^= 0x04;
                fs::write(&path, &bad).unwrap();
                assert!(check_checksums(&path).is_err(), "flip at {i}");
            }
        }
    }

    #[test]
    fn stored_compression_reads_only_the_properties() {
        let dir = tempfile::tempdir().unwrap();
        for (name, (_, bytes)) in [
            ("zstd", small_table()),
            ("none", small_table_with(Compression::None)),
            ("v1", {
                let (m, b) = small_table_with(Compression::None);
                (m, downgrade_to_v1(&b))
            }),
        ] {
            let path = dir.path().join(format!("{name}.sst"));
            fs::write(&path, &bytes).unwrap();
            let want = if name == "zstd" {
                Compression::default()
            } else {
                Compression::None
            };
            assert_eq!(stored_compression(&path).unwrap(), want, "{name}");
            if name == "v1" {
                // Known uncompressed from the envelope alone.
                continue;
            }
            // Damage in the properties or footer is refused, not guessed around.
            let props_at = Sst::from_bytes(&path, bytes.clone())
                .unwrap()
                .props_h
                .offset;
            for at in [props_at as usize + 3, bytes.len() - 20] {
                let mut bad = bytes.clone();
                bad[at] ^= 0x20;
                fs::write(&path, &bad).unwrap();
                assert!(stored_compression(&path).is_err(), "{name} flip at {at}");
            }
            fs::write(&path, &bytes[..30]).unwrap();
            assert!(stored_compression(&path).is_err(), "{name} truncated");
        }
    }

    #[test]
    fn compression_parses_and_prints() {
        assert_eq!("none".parse(), Ok(Compression::None));
        assert_eq!("zstd".parse(), Ok(Compression::default()));
        assert_eq!("zstd:9".parse(), Ok(Compression::Zstd { level: 9 }));
        for bad in ["zstd:", "zstd:99", "lz4", "zstd:x", "none:1"] {
            assert!(bad.parse::<Compression>().is_err(), "{bad}");
        }
        assert_eq!(Compression::Zstd { level: 3 }.to_string(), "zstd:3");
        assert_eq!(Compression::None.to_string(), "none");
    }

    #[test]
    fn damage_report_names_file_and_offset() {
        let (model, mut bytes) = small_table();
        let sst = Sst::from_bytes(Path::new("t.sst"), bytes.clone()).unwrap();
        let second = sst.blocks()[1].clone();
        assert_eq!(second.kind, "data");
        bytes[second.offset as usize + 2] ^= 0x10;
        let sst = Sst::from_bytes(Path::new("/d/sst/7.sst"), bytes).unwrap();
        let err = sst.iter_from(None).find_map(|r| r.err()).unwrap();
        match &err {
            Error::Corruption { path, offset, .. } => {
                assert_eq!(path, Path::new("/d/sst/7.sst"));
                assert_eq!(*offset, second.offset);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("drkit verify"), "{err}");
        // The iterator ends after an error.
        let mut it = sst.iter_from(None);
        assert!(it.by_ref().any(|r| r.is_err()));
        assert!(it.next().is_none());
        let bad_key = model.keys().find(|k| sst.get(k).is_err());
        assert!(bad_key.is_some());
        let blocks = sst.blocks();
        assert!(!blocks[1].checksum_ok);
        assert!(
            blocks
                .iter()
                .enumerate()
                .all(|(i, b)| i == 1 || b.checksum_ok)
        );
    }

    #[test]
    fn wal_file_is_wrong_kind() {
        let (_, bytes) = small_table();
        let mut wal = bytes;
        wal[..envelope::LEN].copy_from_slice(&envelope::encode(Kind::Wal));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.wal");
        fs::write(&path, &wal).unwrap();
        assert!(matches!(Sst::open(&path), Err(Error::WrongKind { .. })));
        assert!(matches!(
            Sst::from_bytes(&path, wal),
            Err(Error::WrongKind { .. })
        ));
    }

    #[test]
    fn writer_refuses_unordered_keys_and_abandon_removes_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        let mut w = SstWriter::create(&path, 0, SstOptions::default()).unwrap();
        w.add(b"b", 1, ValueKind::Value, b"v").unwrap();
        for k in [&b"b"[..], b"a", b""] {
            assert!(matches!(
                w.add(k, 2, ValueKind::Value, b""),
                Err(Error::InvalidInput(_))
            ));
        }
        w.add(b"c", 2, ValueKind::Tombstone, b"").unwrap();
        assert_eq!(w.entries(), 2);
        assert!(w.estimated_size() > envelope::LEN as u64);
        assert!(path.exists());
        w.abandon();
        assert!(!path.exists());
    }

    #[test]
    fn tables_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Sst>();
        assert_send_sync::<SstWriter>();
    }

    #[test]
    fn bloom_parameters() {
        assert_eq!(bloom_probes(0), 1);
        assert_eq!(bloom_probes(10), 7);
        assert_eq!(bloom_probes(100), 30);
        let bloom = build_bloom(&[1, 2, 3], 10);
        assert_eq!(bloom[0], 7);
        assert_eq!((bloom.len() - 1) * 8, 64);
    }

    #[test]
    fn bloom_rejects_most_absent_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sst");
        let mut w = SstWriter::create(&path, 0, SstOptions::default()).unwrap();
        for i in 0..2000u32 {
            w.add(
                format!("k{i:06}").as_bytes(),
                u64::from(i),
                ValueKind::Value,
                b"",
            )
            .unwrap();
        }
        w.finish().unwrap();
        let sst = Sst::open(&path).unwrap();
        let false_positives = (0..2000u32)
            .filter(|i| sst.may_contain(format!("absent{i}").as_bytes()))
            .count();
        // ~1% expected at 10 bits per key.
        assert!(false_positives < 60, "{false_positives} false positives");
    }
}
