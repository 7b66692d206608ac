//! Data blocks: prefix-compressed entries with restart points (layout in mod.rs).

use super::*;

#[derive(Default)]
pub(super) struct BlockBuilder {
    pub(super) buf: Vec<u8>,
    pub(super) restarts: Vec<u32>,
    pub(super) count: usize,
}

impl BlockBuilder {
    pub(super) fn add(
        &mut self,
        prev_key: &[u8],
        key: &[u8],
        seq: u64,
        kind: ValueKind,
        value: &[u8],
    ) {
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

    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub(super) fn encoded_len(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends the restart array; the builder is empty again once `buf` is taken and cleared.
    pub(super) fn seal(&mut self) {
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.buf
            .extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        self.restarts.clear();
        self.count = 0;
    }
}

/// A data block's raw bytes: borrowed from the table when stored as they are, shared with the
/// block cache when decompressed.
pub(super) enum BlockBytes<'a> {
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
pub(super) fn block_damage(
    path: &Path,
    base: u64,
    compressed: bool,
    at: usize,
    what: String,
) -> Error {
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
pub(super) struct DataBlock<'a> {
    pub(super) path: &'a Path,
    /// File offset of the block, for error offsets.
    pub(super) base: u64,
    pub(super) bytes: BlockBytes<'a>,
    /// The entries are `bytes[..entries_len]`; the restart array follows.
    pub(super) entries_len: usize,
    pub(super) restarts: Vec<usize>,
}

impl<'a> DataBlock<'a> {
    pub(super) fn parse(path: &'a Path, base: u64, bytes: BlockBytes<'a>) -> Result<DataBlock<'a>> {
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

    pub(super) fn entries(&self) -> &[u8] {
        self.bytes.get(..self.entries_len).unwrap_or_default()
    }

    /// The full key stored at restart point `i` (where no prefix is shared).
    pub(super) fn restart_key(&self, i: usize) -> Result<&[u8]> {
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

    pub(super) fn fail(&self, at: usize, what: impl Into<String>) -> Error {
        let compressed = matches!(self.bytes, BlockBytes::Shared(_));
        block_damage(self.path, self.base, compressed, at, what.into())
    }
}

/// Walks one data block. `next` decodes the following entry into `key`/`seq`/`kind`/`value`.
pub(super) struct BlockIter<'a> {
    pub(super) block: DataBlock<'a>,
    pub(super) next_pos: usize,
    /// Offset of the current entry in `block.entries`.
    pub(super) pos: usize,
    /// Whether `key` holds an entry decoded since the last reposition, for the order check.
    pub(super) has_key: bool,
    /// Set by `seek`: the current entry has not been returned by `next` yet.
    pub(super) primed: bool,
    pub(super) key: Vec<u8>,
    pub(super) seq: u64,
    pub(super) kind: ValueKind,
    /// Where the current value lies in `block.entries()`.
    pub(super) value: Range<usize>,
}

impl<'a> BlockIter<'a> {
    pub(super) fn new(block: DataBlock<'a>) -> BlockIter<'a> {
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

    pub(super) fn value(&self) -> &[u8] {
        self.block
            .entries()
            .get(self.value.clone())
            .unwrap_or_default()
    }

    pub(super) fn entry(&self) -> SstEntry {
        SstEntry {
            key: self.key.clone(),
            seq: self.seq,
            kind: self.kind,
            value: self.value().to_vec(),
        }
    }

    /// Positions on the first entry with key >= `target` (or at the end), which the next call
    /// to `next` returns.
    pub(super) fn seek(&mut self, target: &[u8]) -> Result<()> {
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

    pub(super) fn next(&mut self) -> Result<bool> {
        if self.primed {
            self.primed = false;
            return Ok(true);
        }
        self.advance()
    }

    pub(super) fn count(mut self) -> Result<u64> {
        let mut n = 0;
        while self.next()? {
            n += 1;
        }
        Ok(n)
    }

    pub(super) fn advance(&mut self) -> Result<bool> {
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
