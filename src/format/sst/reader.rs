//! Opening a table, checking it, and reading its blocks and entries.

use super::*;

pub(super) enum Backing {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Backing {
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => m.bytes(),
            Backing::Owned(v) => v,
        }
    }
}

pub(super) struct IndexEntry {
    pub(super) last_key: Vec<u8>,
    pub(super) handle: Handle,
}

/// An open, validated table.
pub struct Sst {
    pub(super) path: PathBuf,
    pub(super) backing: Backing,
    pub(super) props: SstProperties,
    pub(super) index: Vec<IndexEntry>,
    pub(super) index_h: Handle,
    pub(super) bloom_h: Handle,
    pub(super) props_h: Handle,
    pub(super) bloom_k: u8,
    pub(super) bloom_bits: Range<usize>,
    pub(super) version: u16,
    /// Unique among the tables this process opened: the block cache's key.
    pub(super) id: u64,
    pub(super) cache: Option<Arc<BlockCache>>,
}

/// Ids for open tables; a table opened twice gets two, so cached blocks never cross files.
pub(super) static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(1);

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

    pub(super) fn bytes(&self) -> &[u8] {
        self.backing.bytes()
    }

    pub(super) fn data_block(&self, e: &IndexEntry) -> Result<DataBlock<'_>> {
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

    pub(super) fn parse(path: &Path, backing: Backing) -> Result<Sst> {
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
pub(super) fn decode_footer(path: &Path, bytes: &[u8]) -> Result<(usize, [Handle; 3])> {
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
pub(super) fn block_contents<'a>(
    path: &Path,
    bytes: &'a [u8],
    h: Handle,
    what: &str,
) -> Result<&'a [u8]> {
    let (contents, compression) = stored_block(path, bytes, h, what)?;
    if compression != COMPRESSION_NONE {
        return Err(unknown_compression(path, h, what, compression));
    }
    Ok(contents)
}

/// A data block's raw bytes once its trailer checks out, decompressed if it was stored so.
pub(super) fn data_block_bytes<'a>(
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

pub(super) fn unknown_compression(path: &Path, h: Handle, what: &str, compression: u8) -> Error {
    corrupt(
        path,
        h.offset + u64::from(h.len),
        format!(
            "{what} block at offset {} uses unknown compression type {compression}",
            h.offset
        ),
    )
}

/// The stored bytes of the block at `h` and its compression type, once its trailer checks out.
pub(super) fn stored_block<'a>(
    path: &Path,
    bytes: &'a [u8],
    h: Handle,
    what: &str,
) -> Result<(&'a [u8], u8)> {
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

pub(super) fn decode_index(path: &Path, h: Handle, contents: &[u8]) -> Result<Vec<IndexEntry>> {
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
pub(super) fn decode_props(
    path: &Path,
    base: u64,
    contents: &[u8],
    version: u16,
) -> Result<SstProperties> {
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
pub(super) fn check_props(
    path: &Path,
    at: u64,
    p: &SstProperties,
    index: &[IndexEntry],
) -> Result<()> {
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

/// Entries of a table in key order; see `Sst::iter_from`.
pub struct SstIter<'a> {
    pub(super) sst: &'a Sst,
    pub(super) next_block: usize,
    pub(super) block: Option<BlockIter<'a>>,
    /// The start key, applied to the first block read.
    pub(super) seek: Option<Vec<u8>>,
    /// The last key of the block before the current one, until the first entry is checked
    /// against it.
    pub(super) prev_block_last: Option<&'a [u8]>,
    pub(super) done: bool,
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

    pub(super) fn step(&mut self) -> Result<Option<SstEntry>> {
        if self.position_next()? {
            Ok(self.block.as_ref().map(BlockIter::entry))
        } else {
            Ok(None)
        }
    }

    /// Positions `block` on the next entry; false at the end.
    pub(super) fn position_next(&mut self) -> Result<bool> {
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
