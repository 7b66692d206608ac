//! Read-only memory maps of immutable files (closed SSTs).
//!
//! Mapping is only sound while nobody truncates the file underneath us: a truncated mapped
//! file kills the process with SIGBUS. drkit maps SSTs only while it holds the data dir's
//! LOCK, and SSTs are never modified after they are written (only unlinked, which keeps the
//! mapping valid). Suspect files (verify, recover) are read with positioned reads instead.
#![allow(
    unsafe_code,
    reason = "memmap2::Mmap::map is unsafe by nature; see module docs"
)]

use std::fs::File;
use std::path::Path;

use crate::error::{IoContext, Result};

#[derive(Debug)]
pub struct Mmap {
    map: Option<memmap2::Mmap>,
}

impl Mmap {
    pub fn open(path: &Path) -> Result<Mmap> {
        let file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len();
        if len == 0 {
            // mmap of an empty file fails on Linux; an empty slice says the same thing.
            return Ok(Mmap { map: None });
        }
        // SAFETY: see module docs: the file is immutable and protected by the dir lock.
        let map = unsafe { memmap2::Mmap::map(&file) }.at(path)?;
        Ok(Mmap { map: Some(map) })
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
