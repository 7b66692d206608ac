//! drkit: an embedded LSM storage engine for exchange records and the operations and
//! disaster-recovery tools around it (recover, inspect, verify, repair, compact, backup,
//! point-in-time restore, serve, replicate).
//!
//! Layers, with dependencies pointing down only:
//! `cli` (binary edge) → `ops` / `backup` / `serve` → `engine` → `format` / `io`.
//! Library code never prints; it returns reports that `cli` renders.

pub mod backup;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod io;
pub mod ops;
pub mod output;
pub mod serve;

pub use error::{Error, Exit, Result};
