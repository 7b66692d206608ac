//! Building a table from entries in key order.

use super::*;

/// Builds a table from entries added in strictly increasing key order.
pub struct SstWriter {
    pub(super) path: PathBuf,
    pub(super) out: BufWriter<File>,
    pub(super) level: u8,
    pub(super) opts: SstOptions,
    /// Bytes handed to `out` so far, i.e. the offset of the next block.
    pub(super) offset: u64,
    pub(super) block: BlockBuilder,
    pub(super) index: Vec<u8>,
    pub(super) last_key: Vec<u8>,
    pub(super) smallest: Vec<u8>,
    // Hashes rather than keys: the bloom filter is sized only once the key count is known.
    pub(super) key_hashes: Vec<u64>,
    pub(super) entries: u64,
    pub(super) tombstones: u64,
    pub(super) min_seq: u64,
    pub(super) max_seq: u64,
    pub(super) data_blocks: u64,
    pub(super) raw_key_bytes: u64,
    pub(super) raw_value_bytes: u64,
    pub(super) raw_data_bytes: u64,
    /// One context per table: zstd's is costly to set up and reusable across blocks.
    pub(super) compressor: Option<zstd::bulk::Compressor<'static>>,
    pub(super) attempts: Attempts,
    /// A compressed block being assembled, reused across blocks.
    pub(super) stored: Vec<u8>,
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
pub(super) const WRITE_BUFFER: usize = 1 << 20;

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
            attempts: Attempts::default(),
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

    pub(super) fn flush_block(&mut self) -> Result<()> {
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
    pub(super) fn write_data_block(&mut self, raw: &[u8]) -> Result<Handle> {
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
    /// it is (no compressor, too large, saving less than 1/8, or the table's recent blocks
    /// did not compress: see `Attempts`).
    pub(super) fn compress(&mut self, raw: &[u8], stored: &mut Vec<u8>) -> Result<bool> {
        let Some(compressor) = self.compressor.as_mut() else {
            return Ok(false);
        };
        if raw.len() > MAX_COMPRESSED_RAW_LEN || !self.attempts.worth_trying() {
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
        let paid = stored.len() <= raw.len() - raw.len() / MIN_SAVING_DIVISOR;
        self.attempts.record(paid);
        Ok(paid)
    }

    pub(super) fn write_block(
        &mut self,
        contents: &[u8],
        compression: u8,
        what: &str,
    ) -> Result<Handle> {
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

    pub(super) fn write_tail(&mut self) -> Result<SstProperties> {
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

pub(super) fn encode_props(p: &SstProperties) -> Vec<u8> {
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
