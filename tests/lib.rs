//! CLI and end-to-end tests: the real `drkit` binary, real processes, real files.

mod common;

mod bad_input;
mod crash;
mod recover_cli;
mod wal_sweep;
