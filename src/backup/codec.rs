//! How the repository stores one file: a plain zstd stream made of independent frames, one
//! per block of the original, so that the blocks of a single file compress and decompress in
//! parallel and `zstd -d` / `zstd -t` still read every stored file.
//!
//! ```text
//!  stored file := frame+        one frame per BLOCK (4 MiB) of the original, in order; the
//!                               last may be shorter; an empty file is one empty frame
//!  frame       := either a zstd frame from libzstd at the backup's level, with its
//!                 Frame_Content_Size and content checksum,
//!              or, when a sample of the block does not shrink, a raw frame written here:
//!
//!   +----------+------+------------------+-----------------------------------+--------------+
//!   | magic    | FHD  | content size     | block*                            | checksum     |
//!   | FD2FB528 | 0xE4 | u64 LE (≤ BLOCK) | u24 LE (len << 3 | raw 0 | last), | low 32 bits  |
//!   | u32 LE   |      |                  |   then len ≤ 128 KiB bytes        | of xxh64, LE |
//!   +----------+------+------------------+-----------------------------------+--------------+
//!    FHD 0xE4: 8-byte content size, single segment (no window byte), checksum, no dictionary
//! ```
//!
//! Raw frames exist for speed, not format: zstd on data that does not compress (random
//! values, already compressed payloads) still spends its time searching for matches, while a
//! raw frame costs a copy. The file's blake3 in the manifest is over the original bytes either
//! way, and is checked on every restore and verify.
//!
//! Backups written before this codec hold a single streaming frame without a content size;
//! [`decode`] recognises them by that first frame and reads them as one stream.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use super::manifest::BackupFile;
use super::pipeline::ordered;
use super::store::RepoStore;
use super::{CHUNK, Progress};
use crate::error::{Error, IoContext, Result};
use crate::io::Writeback;

/// Original bytes per frame: big enough that per-frame overhead and the lost cross-block
/// matches do not matter (zstd level 3 looks back 2 MiB at most), small enough that a 64 MiB
/// SST splits into many blocks for the workers.
pub const BLOCK: usize = 4 << 20;

/// The largest frame content [`decode`] accepts. Frames come from this codec, so anything
/// bigger is damage; the bound keeps a damaged size field from allocating gigabytes.
const MAX_FRAME_CONTENT: u64 = 16 << 20;

const MAGIC: u32 = 0xFD2F_B528;
/// Frame header descriptor of a raw frame (see the layout above).
const RAW_FHD: u8 = 0xE4;
/// zstd's largest block (Block_Maximum_Size).
const RAW_BLOCK: usize = 128 << 10;
/// The slice of a block compressed first to tell whether the whole is worth compressing.
const SAMPLE: usize = 64 << 10;
/// A sample that does not lose at least this fraction (1/32 ≈ 3%) is stored raw: such blocks
/// are random data, and storing them costs a copy instead of a zstd pass.
const SAMPLE_GAIN_SHIFT: u32 = 5;

/// Compresses `src` into the object `key` of `store` (whole and durable before returning)
/// with `workers` compression threads, and returns its manifest entry: original size, blake3
/// of the original bytes, stored size.
pub fn encode(
    src: &Path,
    store: &dyn RepoStore,
    key: &str,
    rel: &str,
    level: i32,
    workers: usize,
    progress: Progress<'_>,
) -> Result<BackupFile> {
    let mut input = File::open(src).at(src)?;
    let dst = &store.locate(key);
    let mut out = store.writer(key)?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let mut first = true;
    // Written blocks come back for the next reads: fresh 4 MiB buffers would each cost a
    // thousand page faults and a zeroing pass.
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (input, hash, size_ref) = (&mut input, &mut hasher, &mut size);
    ordered(
        workers,
        workers * 2,
        // `move`: the producer thread owns the receiver (which cannot be shared).
        move || {
            let block = read_block(input, src, spare_rx.try_recv().ok())?;
            // An empty file still gets its one (empty) frame: zstd rejects an empty stream.
            if block.is_empty() && !first {
                return Ok(None);
            }
            first = false;
            hash.update(&block);
            *size_ref += block.len() as u64;
            Ok(Some(block))
        },
        || {
            let mut c = zstd::bulk::Compressor::new(level).at(dst)?;
            // zstd's own frame checksum: a damaged file fails while decoding, before the
            // blake3 at the end, and `zstd -t` can check a file by itself.
            c.include_checksum(true).at(dst)?;
            c.include_contentsize(true).at(dst)?;
            Ok(c)
        },
        |c, block| {
            let frame = encode_block(c, &block).at(dst)?;
            Ok((block, frame))
        },
        |(block, frame)| {
            match frame {
                Encoded::Zstd(frame) => out.write_all(&frame).at(dst)?,
                Encoded::Raw(checksum) => write_raw_frame(&mut out, &block, checksum).at(dst)?,
            }
            progress(block.len() as u64);
            // The producer may have finished already; the block is then simply dropped.
            let _ = spare_tx.send(block);
            Ok(())
        },
    )?;
    let stored_size = out.finish()?;
    Ok(BackupFile {
        path: rel.to_string(),
        size,
        blake3: hasher.finalize().to_hex().to_string(),
        stored_size,
        stored_in: None,
        stored_as: super::manifest::StoredAs::Zstd,
    })
}

/// The frames of the complete blocks of a file that only grows, from the last time it was
/// encoded: a growing WAL segment archived pass after pass (`wal archive --follow`) then costs
/// the compression of what is new, not of the whole segment again.
#[derive(Debug, Default)]
pub struct FrameCache {
    /// Per complete block, in order: the blake3 of its bytes and its frame as written.
    blocks: Vec<(blake3::Hash, Vec<u8>)>,
    /// Blocks compressed (not reused) by the last [`encode_bytes`].
    pub last_compressed: usize,
}

/// Writes `bytes` as the object `key` of `store` (whole and durable) laid out as [`encode`]
/// lays out a file, compressing one block at a time on this thread, and taking the frame of
/// every complete block whose bytes `cache` saw before instead of compressing it again.
/// Returns the stored size.
///
/// A block's bytes are compared by blake3, not assumed: a segment's copy can shrink and be
/// rewritten (entries archived from the page cache, then lost in a power cut).
pub fn encode_bytes(
    bytes: &[u8],
    store: &dyn RepoStore,
    key: &str,
    level: i32,
    cache: &mut FrameCache,
) -> Result<u64> {
    let dst = &store.locate(key);
    let mut out = store.writer(key)?;
    let mut compressor = None;
    cache.last_compressed = 0;
    let blocks: Vec<&[u8]> = if bytes.is_empty() {
        // An empty file is one empty frame, as in `encode`.
        vec![&[]]
    } else {
        bytes.chunks(BLOCK).collect()
    };
    for (i, block) in blocks.into_iter().enumerate() {
        let complete = block.len() == BLOCK;
        let hash = complete.then(|| blake3::hash(block));
        if let (Some(h), Some((seen, frame))) = (hash, cache.blocks.get(i))
            && *seen == h
        {
            out.write_all(frame).at(dst)?;
            continue;
        }
        cache.blocks.truncate(i);
        let c = match &mut compressor {
            Some(c) => c,
            None => {
                let mut c = zstd::bulk::Compressor::new(level).at(dst)?;
                c.include_checksum(true).at(dst)?;
                c.include_contentsize(true).at(dst)?;
                compressor.insert(c)
            }
        };
        let frame = match encode_block(c, block).at(dst)? {
            Encoded::Zstd(frame) => frame,
            Encoded::Raw(checksum) => raw_frame_bytes(block, checksum),
        };
        cache.last_compressed += 1;
        out.write_all(&frame).at(dst)?;
        if let Some(h) = hash {
            cache.blocks.push((h, frame));
        }
    }
    out.finish()
}

/// A raw frame in memory (layout at the top of this file), for [`FrameCache`].
fn raw_frame_bytes(data: &[u8], checksum: u32) -> Vec<u8> {
    let (head, headers) = raw_headers(data);
    let mut frame = Vec::with_capacity(head.len() + 3 * headers.len() + data.len() + 4);
    frame.extend_from_slice(&head);
    let mut chunks = data.chunks(RAW_BLOCK);
    for h in &headers {
        frame.extend_from_slice(h);
        if let Some(chunk) = chunks.next() {
            frame.extend_from_slice(chunk);
        }
    }
    frame.extend_from_slice(&checksum.to_le_bytes());
    frame
}

/// Reads up to [`BLOCK`] bytes into `spare` (or a new buffer); fewer only at the end of the
/// file.
fn read_block(input: &mut File, path: &Path, spare: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let mut block = spare.unwrap_or_default();
    // Only a new or shortened buffer gets zeroed, and only its new part.
    block.resize(BLOCK, 0);
    let mut filled = 0;
    while let Some(rest) = block.get_mut(filled..).filter(|r| !r.is_empty()) {
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    block.truncate(filled);
    Ok(block)
}

/// A block ready to write: a zstd frame, or a raw frame of the block itself with this
/// checksum (written straight from the block, see [`write_raw_frame`]).
enum Encoded {
    Zstd(Vec<u8>),
    Raw(u32),
}

/// One block as one frame: raw when a sample from its middle does not compress, else zstd.
fn encode_block(c: &mut zstd::bulk::Compressor<'_>, block: &[u8]) -> std::io::Result<Encoded> {
    if block.len() >= 4 * SAMPLE {
        let at = block.len() / 2 - SAMPLE / 2;
        let sample = block.get(at..at + SAMPLE).unwrap_or_default();
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(SAMPLE));
        c.compress_to_buffer(sample, &mut out)?;
        if out.len() > SAMPLE - (SAMPLE >> SAMPLE_GAIN_SHIFT) {
            return Ok(Encoded::Raw(raw_checksum(block)));
        }
    }
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(block.len()));
    c.compress_to_buffer(block, &mut out)?;
    Ok(Encoded::Zstd(out))
}

/// A raw frame's Content_Checksum: the low 32 bits of xxh64, as zstd checks it.
fn raw_checksum(data: &[u8]) -> u32 {
    xxhash_rust::xxh64::xxh64(data, 0) as u32
}

/// The headers of a raw frame for `data` (layout at the top of this file): the frame header,
/// and one block header per [`RAW_BLOCK`] of data (one for empty data: a frame holds a block).
fn raw_headers(data: &[u8]) -> ([u8; 13], Vec<[u8; 3]>) {
    let mut head = [0u8; 13];
    head[..4].copy_from_slice(&MAGIC.to_le_bytes());
    head[4] = RAW_FHD;
    head[5..].copy_from_slice(&(data.len() as u64).to_le_bytes());
    let blocks = data.len().div_ceil(RAW_BLOCK).max(1);
    let headers = (0..blocks)
        .map(|i| {
            let len = data.len().saturating_sub(i * RAW_BLOCK).min(RAW_BLOCK);
            let last = u32::from(i + 1 == blocks);
            // Block_Type 0 (raw) in bits 1-2; len ≤ 128 KiB fits the 21 size bits.
            let h = ((len as u32) << 3) | last;
            let [a, b, c, _] = h.to_le_bytes();
            [a, b, c]
        })
        .collect();
    (head, headers)
}

/// Writes `data` as a raw frame with one vectored write, without copying it into a frame
/// buffer first.
fn write_raw_frame<W: Write + ?Sized>(
    out: &mut W,
    data: &[u8],
    checksum: u32,
) -> std::io::Result<()> {
    use std::io::IoSlice;
    let (head, headers) = raw_headers(data);
    let sum = checksum.to_le_bytes();
    let mut slices = Vec::with_capacity(2 * headers.len() + 2);
    slices.push(IoSlice::new(&head));
    let mut chunks = data.chunks(RAW_BLOCK);
    for h in &headers {
        slices.push(IoSlice::new(h));
        if let Some(chunk) = chunks.next() {
            slices.push(IoSlice::new(chunk));
        }
    }
    slices.push(IoSlice::new(&sum));
    let mut rest = slices.as_mut_slice();
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Where decoded bytes go: a file being restored (written and kept; its writeback is started
/// as it grows), or nowhere (verify).
pub type Sink<'a> = Option<(&'a mut File, &'a Path)>;

/// Decompresses the object `key` of `store` for `expect`, checking its stored size, its
/// original size and blake3, writing the bytes to `sink` if given (not fsynced: the caller
/// does). Every failure of the stored data is a corruption error naming the object, with
/// the compressed offset where it was found.
pub fn decode(
    store: &dyn RepoStore,
    key: &str,
    expect: &BackupFile,
    sink: Sink<'_>,
    workers: usize,
    progress: Progress<'_>,
) -> Result<()> {
    let stored = &store.locate(key);
    let bad = |offset: u64, what: String| corrupt(stored, offset, what);
    let Some((file, stored_len)) = store.reader(key)? else {
        return Err(bad(0, "the file is missing from the repository".into()));
    };
    if stored_len != expect.stored_size {
        return Err(bad(
            stored_len.min(expect.stored_size),
            format!(
                "stored size is {stored_len} bytes, the manifest says {}",
                expect.stored_size
            ),
        ));
    }
    let mut reader = Frames {
        input: BufReader::with_capacity(CHUNK, file),
        path: stored,
        pos: 0,
    };
    let Some(first) = reader.next_frame(Vec::new())? else {
        return Err(bad(0, "the file is empty; it holds no zstd frame".into()));
    };
    // Shared: in framed files the workers write their frames themselves (see below).
    let sink: Option<(&File, &Path)> = sink.map(|(f, p)| (&*f, p));
    let mut check = Check {
        stored,
        expect,
        hasher: blake3::Hasher::new(),
        total: 0,
        sink,
        writeback: Writeback::default(),
        progress,
    };
    if first.content_size.is_none() {
        // Written before frames had a content size: one stream, decoded as one, from the
        // bytes the frame walk read already on.
        let whole = std::io::Cursor::new(first.bytes).chain(reader.input);
        return decode_stream(whole, check);
    }
    let mut pending = Some(first);
    // Where the next frame's bytes go in the original file.
    let mut out_at = 0u64;
    // Decoded buffers go back to the workers: see the same in `encode`. At most as many as
    // are in flight at once.
    let spare: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
    let spare_frames: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
    ordered(
        workers,
        workers * 2,
        || {
            let frame = match pending.take() {
                Some(f) => f,
                None => {
                    let buf = super::lock(&spare_frames).pop().unwrap_or_default();
                    let Some(f) = reader.next_frame(buf)? else {
                        return Ok(None);
                    };
                    f
                }
            };
            let Some(size) = frame.content_size else {
                return Err(bad(
                    frame.offset,
                    "a zstd frame without a content size follows framed data".into(),
                ));
            };
            let at = out_at;
            out_at += size;
            if out_at > expect.size {
                return Err(bad(
                    frame.offset,
                    format!(
                        "frames hold more than the {} bytes the manifest says",
                        expect.size
                    ),
                ));
            }
            Ok(Some((frame, size, at)))
        },
        || zstd::bulk::Decompressor::new().at(stored),
        |d, (frame, size, at)| {
            // `size` ≤ MAX_FRAME_CONTENT, checked while reading the frame.
            let mut out = super::lock(&spare).pop().unwrap_or_default();
            out.clear();
            out.reserve(usize::try_from(size).unwrap_or(0));
            let decoded = d.decompress_to_buffer(&frame.bytes, &mut out);
            super::lock(&spare_frames).push(frame.bytes);
            match decoded {
                Ok(n) if n as u64 == size => {
                    // Written here, at its place, while the bytes are still in this core's
                    // cache: copied into the page cache by the consumer thread instead, they
                    // would come from memory, and that copy was the largest cost of a
                    // restore. Nothing is trusted until the consumer's checks pass, and a
                    // failed restore removes the whole staging dir.
                    if let Some((f, path)) = sink {
                        std::os::unix::fs::FileExt::write_all_at(f, &out, at).at(path)?;
                    }
                    Ok((frame.offset, out))
                }
                Ok(n) => Err(bad(
                    frame.offset,
                    format!("zstd frame decodes to {n} bytes, its header says {size}"),
                )),
                Err(e) => Err(bad(
                    frame.offset,
                    format!("zstd frame is damaged ({e}) at this compressed offset"),
                )),
            }
        },
        |(offset, data)| {
            check.take(offset, &data, true)?;
            super::lock(&spare).push(data);
            Ok(())
        },
    )?;
    check.finish(reader.pos)
}

pub(super) fn corrupt(stored: &Path, offset: u64, what: String) -> Error {
    Error::corruption(stored, offset, what).with_hint(
        "the repository copy is damaged; this backup cannot be trusted: restore from \
         another backup (`drkit backup list`) and take a new one",
    )
}

/// The checks every decoded byte goes through, in order, whichever way it was decoded.
struct Check<'a> {
    stored: &'a Path,
    expect: &'a BackupFile,
    hasher: blake3::Hasher,
    total: u64,
    sink: Option<(&'a File, &'a Path)>,
    writeback: Writeback,
    progress: Progress<'a>,
}

impl Check<'_> {
    /// Takes the next decoded bytes, which came from compressed offset `at`, and writes them
    /// to the sink unless that was `written` already (at their place).
    fn take(&mut self, at: u64, data: &[u8], written: bool) -> Result<()> {
        self.total += data.len() as u64;
        if self.total > self.expect.size {
            return Err(corrupt(
                self.stored,
                at,
                format!(
                    "decompresses to more than the {} bytes the manifest says",
                    self.expect.size
                ),
            ));
        }
        self.hasher.update(data);
        if let Some((mut f, path)) = self.sink {
            if !written {
                f.write_all(data).at(path)?;
            }
            self.writeback.wrote(f, data.len() as u64);
        }
        (self.progress)(data.len() as u64);
        Ok(())
    }

    /// After the last byte, read up to compressed offset `end`.
    fn finish(self, end: u64) -> Result<()> {
        if self.total != self.expect.size {
            return Err(corrupt(
                self.stored,
                end,
                format!(
                    "decompresses to {} bytes, the manifest says {} (cut short?)",
                    self.total, self.expect.size
                ),
            ));
        }
        let sum = self.hasher.finalize().to_hex().to_string();
        if sum != self.expect.blake3 {
            return Err(corrupt(
                self.stored,
                0,
                format!(
                    "blake3 of the content is {sum}, the manifest says {} for {}",
                    self.expect.blake3, self.expect.path
                ),
            ));
        }
        Ok(())
    }
}

/// Counts the bytes read through it, so a stream decode error can say how far into the
/// compressed file it happened.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The whole file as one zstd stream, on the calling thread.
fn decode_stream(file: impl Read, mut check: Check<'_>) -> Result<()> {
    let stored = check.stored;
    let mut reader = Counting {
        inner: file,
        read: 0,
    };
    let mut decoder = zstd::stream::read::Decoder::new(&mut reader).at(stored)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(corrupt(
                    stored,
                    decoder.get_ref().get_ref().read,
                    format!("zstd data is damaged or cut short ({e}) near this compressed offset"),
                ));
            }
        };
        let at = decoder.get_ref().get_ref().read;
        check.take(at, buf.get(..n).unwrap_or_default(), false)?;
    }
    let end = decoder.get_ref().get_ref().read;
    check.finish(end)
}

/// One whole zstd frame as stored, and where it starts.
struct Frame {
    offset: u64,
    content_size: Option<u64>,
    bytes: Vec<u8>,
}

/// Splits a stored file into its frames by walking frame and block headers (no decoding).
struct Frames<'a> {
    input: BufReader<Box<dyn Read + Send>>,
    path: &'a Path,
    pos: u64,
}

impl Frames<'_> {
    /// The next frame, or None at the end of the file. A frame cut short, a bad magic or
    /// header, or one larger than this codec writes is corruption at its offset.
    /// The frame's bytes go into `bytes` (cleared first), so buffers can be reused.
    fn next_frame(&mut self, mut bytes: Vec<u8>) -> Result<Option<Frame>> {
        let offset = self.pos;
        bytes.clear();
        let got = self.read_up_to(&mut bytes, 5)?;
        if got == 0 {
            return Ok(None);
        }
        let path = self.path;
        let bad = |at: u64, what: String| corrupt(path, at, what);
        if got < 5 {
            return Err(bad(
                offset,
                "the file ends inside a zstd frame header".into(),
            ));
        }
        let (Some(magic), Some(&fhd)) = (bytes.first_chunk::<4>(), bytes.get(4)) else {
            return Err(bad(
                offset,
                "the file ends inside a zstd frame header".into(),
            ));
        };
        if u32::from_le_bytes(*magic) != MAGIC {
            return Err(bad(offset, "no zstd frame starts here (bad magic)".into()));
        }
        let fcs_flag = fhd >> 6;
        let single_segment = fhd & 0x20 != 0;
        let checksum = fhd & 0x04 != 0;
        if fhd & 0x08 != 0 {
            return Err(bad(
                offset + 4,
                "zstd frame header has its reserved bit set".into(),
            ));
        }
        let window = usize::from(!single_segment);
        let dict = [0, 1, 2, 4][usize::from(fhd & 3)];
        let fcs_len = match fcs_flag {
            0 => usize::from(single_segment),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        self.read_exact_into(&mut bytes, window + dict + fcs_len, offset)?;
        let content_size = if fcs_len == 0 {
            None
        } else {
            let field = bytes.get(5 + window + dict..).unwrap_or_default();
            let mut le = [0u8; 8];
            le.get_mut(..field.len())
                .unwrap_or_default()
                .copy_from_slice(field);
            let v = u64::from_le_bytes(le);
            Some(if fcs_len == 2 { v + 256 } else { v })
        };
        if let Some(size) = content_size
            && size > MAX_FRAME_CONTENT
        {
            return Err(bad(
                offset,
                format!(
                    "zstd frame header claims {size} bytes of content, more than this codec writes"
                ),
            ));
        }
        // Only the frames of old single-stream backups lack a content size; those are read
        // by the stream decoder and this walk stops at their first block.
        if content_size.is_none() {
            return Ok(Some(Frame {
                offset,
                content_size,
                bytes,
            }));
        }
        let limit = zstd::zstd_safe::compress_bound(MAX_FRAME_CONTENT as usize) as u64;
        // Room for a raw frame of that size (the most a frame takes, bar a few bytes), so
        // the buffer is not regrown block by block.
        if let Some(size) = content_size.and_then(|n| usize::try_from(n).ok()) {
            bytes.reserve(size + 3 * size.div_ceil(RAW_BLOCK) + 8);
        }
        loop {
            let at = self.pos;
            let start = bytes.len();
            self.read_exact_into(&mut bytes, 3, offset)?;
            let h = bytes.get(start..start + 3).map_or(0, |b| {
                u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
            });
            let last = h & 1 != 0;
            let len = match (h >> 1) & 3 {
                0 | 2 => (h >> 3) as usize,
                1 => 1,
                _ => return Err(bad(at, "zstd block of the reserved type 3".into())),
            };
            if self.pos - offset + len as u64 > limit {
                return Err(bad(
                    offset,
                    "zstd frame is longer than any this codec writes".into(),
                ));
            }
            self.read_exact_into(&mut bytes, len, offset)?;
            if last {
                break;
            }
        }
        if checksum {
            self.read_exact_into(&mut bytes, 4, offset)?;
        }
        Ok(Some(Frame {
            offset,
            content_size,
            bytes,
        }))
    }

    /// Appends up to `n` bytes to `buf`; fewer only at the end of the file.
    fn read_up_to(&mut self, buf: &mut Vec<u8>, n: usize) -> Result<usize> {
        let got = (&mut self.input)
            .take(n as u64)
            .read_to_end(buf)
            .at(self.path)?;
        self.pos += got as u64;
        Ok(got)
    }

    fn read_exact_into(&mut self, buf: &mut Vec<u8>, n: usize, frame_at: u64) -> Result<()> {
        if self.read_up_to(buf, n)? < n {
            return Err(corrupt(
                self.path,
                self.pos,
                format!("the file ends inside the zstd frame that starts at offset {frame_at}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};

    fn noop(_: u64) {}

    /// A raw frame in memory, the way `write_raw_frame` writes it.
    fn raw_frame(data: &[u8]) -> Vec<u8> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let mut f = File::create(&path).unwrap();
        write_raw_frame(&mut f, data, raw_checksum(data)).unwrap();
        drop(f);
        std::fs::read(&path).unwrap()
    }

    /// Compressible text, then random bytes, then text: blocks of both kinds in one file.
    fn mixed(len: usize) -> Vec<u8> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut v = Vec::with_capacity(len);
        let mut i = 0u64;
        while v.len() < len / 3 {
            v.extend_from_slice(format!("order {i} BTC-USD buy 0.5 @ 65000\n").as_bytes());
            i += 1;
        }
        let mut random = vec![0u8; len / 3];
        rng.fill_bytes(&mut random);
        v.extend_from_slice(&random);
        while v.len() < len {
            v.extend_from_slice(format!("trade {i} ETH-USD 3200.5\n").as_bytes());
            i += 1;
        }
        v.truncate(len);
        v
    }

    fn round_trip(data: &[u8], workers: usize) -> (BackupFile, Vec<u8>, Vec<u8>) {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let dst = tmp.path().join("src.zst");
        let store = crate::backup::store::LocalStore::new(tmp.path());
        let key = "src.zst";
        std::fs::write(&src, data).unwrap();
        let f = encode(&src, &store, key, "src", 3, workers, &noop).unwrap();
        let stored = std::fs::read(&dst).unwrap();
        let out_path = tmp.path().join("out");
        let mut out = File::create(&out_path).unwrap();
        decode(&store, key, &f, Some((&mut out, &out_path)), workers, &noop).unwrap();
        drop(out);
        (f, stored, std::fs::read(&out_path).unwrap())
    }

    #[test]
    fn encode_bytes_compresses_only_changed_blocks_and_decodes_exactly() {
        let tmp = tempfile::tempdir().unwrap();
        let dst = tmp.path().join("seg.zst");
        let store = crate::backup::store::LocalStore::new(tmp.path());
        let key = "seg.zst";
        let data = mixed(3 * BLOCK + 1000);
        let mut changed = data.clone();
        changed[10] ^= 1;
        let mut cache = FrameCache::default();
        // A segment growing pass after pass, then rewritten from its first block.
        let passes: [(&[u8], usize); 5] = [
            (&data[..2 * BLOCK + 500], 3),
            (&data[..3 * BLOCK + 1000], 2),
            (&data[..3 * BLOCK + 1000], 1),
            (&changed[..], 4),
            (&[], 1),
        ];
        for (i, (bytes, compressed)) in passes.into_iter().enumerate() {
            let stored_size = encode_bytes(bytes, &store, key, 3, &mut cache).unwrap();
            assert_eq!(cache.last_compressed, compressed, "pass {i}");
            assert_eq!(std::fs::metadata(&dst).unwrap().len(), stored_size);
            let f = BackupFile {
                path: "seg".into(),
                size: bytes.len() as u64,
                blake3: blake3::hash(bytes).to_hex().to_string(),
                stored_size,
                stored_in: None,
                stored_as: crate::backup::manifest::StoredAs::Zstd,
            };
            let out_path = tmp.path().join("out");
            let mut out = File::create(&out_path).unwrap();
            decode(&store, key, &f, Some((&mut out, &out_path)), 2, &noop).unwrap();
            drop(out);
            assert!(std::fs::read(&out_path).unwrap() == bytes, "pass {i}");
        }
    }

    #[test]
    fn round_trips_any_size_with_any_worker_count() {
        for len in [0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12345] {
            let data = mixed(len);
            for workers in [1, 3] {
                let (f, stored, back) = round_trip(&data, workers);
                assert!(back == data, "len {len} workers {workers}");
                assert_eq!(f.size, len as u64);
                assert_eq!(f.stored_size, stored.len() as u64);
                assert_eq!(f.blake3, blake3::hash(&data).to_hex().to_string());
            }
        }
    }

    #[test]
    fn stored_files_are_plain_zstd_with_random_blocks_raw() {
        let data = mixed(3 * BLOCK);
        let (_, stored, _) = round_trip(&data, 2);
        assert_eq!(zstd::decode_all(stored.as_slice()).unwrap(), data);
        // The random third is stored raw (about its own size), the text is compressed.
        assert!(
            stored.len() > BLOCK && stored.len() < 2 * BLOCK,
            "{}",
            stored.len()
        );
        let random = &data[BLOCK..2 * BLOCK];
        let raw = raw_frame(random);
        assert_eq!(raw[4], RAW_FHD);
        assert_eq!(zstd::decode_all(raw.as_slice()).unwrap(), random);
        assert_eq!(zstd::decode_all(raw_frame(&[]).as_slice()).unwrap(), b"");
        let (_, empty, _) = round_trip(&[], 1);
        assert_eq!(zstd::decode_all(empty.as_slice()).unwrap(), b"");
    }

    #[test]
    fn raw_frames_hold_the_checksum_zstd_verifies() {
        let mut raw = raw_frame(&mixed(300_000));
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(zstd::decode_all(raw.as_slice()).is_err());
    }

    #[test]
    fn single_stream_files_of_older_backups_still_decode() {
        let tmp = tempfile::tempdir().unwrap();
        let data = mixed(BLOCK + 999);
        let dst = tmp.path().join("old.zst");
        let store = crate::backup::store::LocalStore::new(tmp.path());
        let key = "old.zst";
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.include_checksum(true).unwrap();
        enc.write_all(&data).unwrap();
        std::fs::write(&dst, enc.finish().unwrap()).unwrap();
        let f = BackupFile {
            path: "old".into(),
            size: data.len() as u64,
            blake3: blake3::hash(&data).to_hex().to_string(),
            stored_size: std::fs::metadata(&dst).unwrap().len(),
            stored_in: None,
            stored_as: crate::backup::manifest::StoredAs::Zstd,
        };
        decode(&store, key, &f, None, 2, &noop).unwrap();
        let wrong = BackupFile {
            blake3: blake3::hash(b"x").to_hex().to_string(),
            ..f
        };
        assert!(matches!(
            decode(&store, key, &wrong, None, 2, &noop),
            Err(Error::Corruption { .. })
        ));
    }

    #[test]
    fn every_damage_is_corruption_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data = mixed(2 * BLOCK + 5000);
        let src = tmp.path().join("src");
        let dst = tmp.path().join("src.zst");
        let store = crate::backup::store::LocalStore::new(tmp.path());
        let key = "src.zst";
        std::fs::write(&src, &data).unwrap();
        let f = encode(&src, &store, key, "src", 3, 2, &noop).unwrap();
        let good = std::fs::read(&dst).unwrap();
        let step = (good.len() / 97).max(1);
        let mut at = 0;
        while at < good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            std::fs::write(&dst, &bad).unwrap();
            match decode(&store, key, &f, None, 2, &noop) {
                Err(Error::Corruption { path, offset, .. }) => {
                    assert_eq!(path, dst);
                    assert!(offset <= good.len() as u64);
                }
                other => panic!("flip at {at}: {other:?}"),
            }
            at += step;
        }
        // Cut short, with the manifest's size matching the cut file: still refused.
        let cut = &good[..good.len() / 2];
        std::fs::write(&dst, cut).unwrap();
        let f_cut = BackupFile {
            stored_size: cut.len() as u64,
            ..f.clone()
        };
        assert!(matches!(
            decode(&store, key, &f_cut, None, 2, &noop),
            Err(Error::Corruption { .. })
        ));
        std::fs::remove_file(&dst).unwrap();
        assert!(matches!(
            decode(&store, key, &f, None, 1, &noop),
            Err(Error::Corruption { offset: 0, .. })
        ));
    }

    #[test]
    fn a_huge_claimed_frame_size_is_refused_without_allocating_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dst = tmp.path().join("x.zst");
        let store = crate::backup::store::LocalStore::new(tmp.path());
        let key = "x.zst";
        let mut frame = raw_frame(b"hello");
        frame[5..13].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&dst, &frame).unwrap();
        let f = BackupFile {
            path: "x".into(),
            size: 5,
            blake3: blake3::hash(b"hello").to_hex().to_string(),
            stored_size: frame.len() as u64,
            stored_in: None,
            stored_as: crate::backup::manifest::StoredAs::Zstd,
        };
        assert!(matches!(
            decode(&store, key, &f, None, 1, &noop),
            Err(Error::Corruption { offset: 0, .. })
        ));
    }
}
