//! Writeback started as a file grows, so that its final fsync finds little left to do and
//! the disk works while the CPU prepares the next bytes.

use std::fs::File;

/// Start writeback of what has been written every this many bytes.
const WRITEBACK_EVERY: u64 = 16 << 20;

/// Starts writeback of a file being written every [`WRITEBACK_EVERY`] bytes.
#[derive(Debug, Default)]
pub struct Writeback {
    written: u64,
    started: u64,
}

impl Writeback {
    pub fn wrote(&mut self, file: &File, n: u64) {
        self.written += n;
        if self.written - self.started < WRITEBACK_EVERY {
            return;
        }
        // On Linux, DONTNEED on dirty pages starts their writeback without waiting for it
        // (and drops nothing that is still dirty). It is only a hint: the fsync at the end is
        // what makes the file durable, so a failure here changes nothing and is ignored.
        #[cfg(target_os = "linux")]
        {
            let len = std::num::NonZeroU64::new(self.written - self.started);
            let _ = rustix::fs::fadvise(file, self.started, len, rustix::fs::Advice::DontNeed);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        self.started = self.written;
    }
}
