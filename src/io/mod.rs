//! File-system primitives every writer of durable state goes through: atomic replace,
//! directory fsync, the data-dir lock and read-only memory maps (the crate's only `unsafe`).

mod durable;
mod lock;
mod mmap;
mod writeback;

pub use durable::{fsync_dir, read_at, write_atomic};
pub use lock::{DirLock, SharedLock};
pub use mmap::Mmap;
pub use writeback::Writeback;
