//! How data blocks are stored: the writer's choice and the reader's decompression.

use super::*;

/// How a writer stores data blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Zstd { level: i32 },
}

/// Blocks in a row that did not compress before the writer stops trying every block.
const MISSES_BEFORE_BACKING_OFF: u32 = 8;
/// While backed off, one block in this many is still tried, so data that turns compressible
/// further into the table (keys are sorted, not values) is noticed.
const TRY_ONE_IN: u32 = 16;

/// Whether a table's next data block is worth handing to zstd.
///
/// zstd spends about as long on a block it cannot shrink as on one it can, and a block that
/// saves less than an eighth is stored as it is anyway: a table of already-compressed or
/// encrypted payloads paid for a full compression pass and kept none of it (recovery spilling
/// 1 GB of such values took 2.7 s instead of 1.5 s). Like the early abort of ZFS and btrfs,
/// after `MISSES_BEFORE_BACKING_OFF` misses in a row only one block in `TRY_ONE_IN` is tried,
/// and the first one that pays turns trying every block back on. Compressible data never
/// backs off, so its ratio is unchanged.
#[derive(Debug, Default)]
pub(super) struct Attempts {
    misses_in_a_row: u32,
    skipped: u32,
}

impl Attempts {
    pub(super) fn worth_trying(&mut self) -> bool {
        if self.misses_in_a_row < MISSES_BEFORE_BACKING_OFF || self.skipped + 1 >= TRY_ONE_IN {
            self.skipped = 0;
            return true;
        }
        self.skipped += 1;
        false
    }

    pub(super) fn record(&mut self, paid: bool) {
        self.misses_in_a_row = if paid {
            0
        } else {
            self.misses_in_a_row.saturating_add(1)
        };
    }
}

impl Compression {
    pub(super) fn code(self) -> u8 {
        match self {
            Compression::None => COMPRESSION_NONE,
            Compression::Zstd { .. } => COMPRESSION_ZSTD,
        }
    }

    pub(super) fn level(self) -> i32 {
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

/// The compression byte of the trailer at `h`, unchecked (for reports of damaged blocks).
pub(super) fn trailer_compression(bytes: &[u8], h: Handle) -> Option<u8> {
    let at = usize::try_from(h.offset.checked_add(u64::from(h.len))?).ok()?;
    bytes.get(at).copied()
}

pub(super) fn compression_name(code: u8) -> &'static str {
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

pub(super) fn decompress_block(path: &Path, h: Handle, stored: &[u8]) -> Result<Vec<u8>> {
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
