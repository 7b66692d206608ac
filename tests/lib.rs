#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns unwrap too: a failure is a test failure"
)]

//! CLI and end-to-end tests: the real `drkit` binary, real processes, real files.

mod common;

mod backup_cli;
mod backup_online;
mod bad_input;
mod bench_cli;
mod cluster_addr;
mod cluster_cli;
mod cluster_decided;
mod cluster_dir;
mod cluster_dr;
mod cluster_logs;
mod cluster_procs;
mod compact_cli;
mod crash;
mod damage_not_torn;
mod damaged_reads;
mod demo_cli;
mod doctor_cli;
mod faults;
mod fixtures;
mod fuzz_regressions;
mod get_scan;
mod inspect_cli;
mod pitr_cli;
mod recover_cli;
mod repair_cli;
mod repo_kinds;
mod repo_store;
mod s3_server;
mod serve;
mod snapshot_cli;
mod test_repo;
mod verify_cli;
mod wal_sweep;
