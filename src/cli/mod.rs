//! The command line: clap definitions and dispatch. Parses, calls the library, prints through
//! the Printer. No engine logic lives here.
//!
//! This is the binary edge: `anyhow` is used here and nowhere else.

mod backup;
mod bench;
mod cluster;
mod compact;
mod completions;
mod crash_writer;
mod demo;
mod doctor;
mod force_new;
mod get;
mod inspect;
mod logging;
mod recover;
mod repair;
mod replicate;
mod repo;
mod restore;
mod scan;
mod serve;
mod snapshot;
mod status;
mod verify;
mod wal;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{Error, Exit};
use crate::output::Printer;

#[derive(Debug, Parser)]
#[command(
    name = "drkit",
    version,
    about = "Operations and disaster-recovery toolkit for the drkit LSM storage engine",
    long_about = "Recover a crashed data dir, inspect and verify its files, back it up and restore it \
                  to a point in time, or run the engine as a server.\n\n\
                  Exit codes: 0 ok, 1 failure, 2 usage, 3 done with data dropped, 4 corruption, \
                  10 not found, 11 lock held, 12 PITR target not covered, 130 interrupted \
                  (docs/exit-codes.md).",
    propagate_version = true
)]
pub struct Cli {
    /// More detail on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing on success (for cron); failures still print one line on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Recover a data dir after a crash: replay the WAL after the checkpoint, report damage.
    Recover(recover::Args),
    /// Read one record from a stopped or crashed data dir (changes nothing).
    Get(get::Args),
    /// List records of a stopped or crashed data dir by prefix or range (changes nothing).
    Scan(scan::Args),
    /// Snapshots of the memtables for fast recovery: create, list, prune.
    #[command(subcommand)]
    Snapshot(snapshot::Command),
    /// Rebuild a lost or damaged manifest from the SSTs (prints the plan; --apply carries it out).
    Repair(repair::Args),
    /// Offline compaction: every level into the deepest, or --level N into N+1, in parallel.
    Compact(compact::Args),
    /// Look inside a data dir's files without changing them: WAL entries, SSTables, the
    /// manifest, or the dir as a whole.
    #[command(subcommand)]
    Inspect(inspect::Command),
    /// Check every checksum and cross-reference of a data dir (SSTs, WAL, manifest); writes nothing.
    Verify(verify::Args),
    /// Whether the data can be recovered right now, and to what point: the data dir, its
    /// backups and WAL archive in one verdict, for people and monitoring; writes nothing.
    Doctor(doctor::Args),
    /// Build an exchange data dir, crash its writer with SIGKILL, recover, prove nothing acknowledged was lost.
    Demo(demo::Args),
    /// Backups of a stopped data dir into a repository: init, create, list, info, verify.
    #[command(subcommand)]
    Backup(backup::Command),
    /// Restore a backup into a new or empty dir (checked file by file and as a whole), or to
    /// a point in time with --to-seq/--to-time (archived WAL replayed after the backup).
    Restore(restore::Args),
    /// WAL archiving for point-in-time restore.
    #[command(subcommand)]
    Wal(wal::Command),
    /// Run the engine behind a Redis-protocol (RESP) server: redis-cli and Redis clients work.
    Serve(serve::Args),
    /// Role, uptime, sequences, clients, ops/s and levels of a running server (from INFO).
    Status(status::Args),
    /// Cluster membership and health over a node's --raft-listen address: init, status,
    /// add-learner, promote, remove.
    #[command(subcommand)]
    Cluster(cluster::Command),
    /// Run a cluster node that joins through --join as a learner: an asynchronous,
    /// read-only replica (the two-machine setup is one voter plus learners).
    Replicate(replicate::JoinArgs),
    /// Measure write and recovery throughput (db_bench-like).
    #[command(subcommand)]
    Bench(bench::Command),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff).
    Man,
    /// Child process of `demo` and the crash tests: writes a seeded workload, printing each
    /// acknowledged sequence.
    #[command(hide = true, name = "crash-writer")]
    CrashWriter(crash_writer::Args),
}

/// Parses `args`, runs the command, and returns the process exit code. Errors print one line
/// on stderr: `drkit: <what>, <where>; <what to do>`.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version: clap's own output on stdout.
                let _ = e.print();
                return ExitCode::from(Exit::Ok.code());
            }
            let rendered = e.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let what = first.strip_prefix("error: ").unwrap_or(first);
            #[allow(clippy::print_stderr, reason = "the single failure line")]
            {
                eprintln!("drkit: {what}; see `drkit --help`");
            }
            return ExitCode::from(Exit::Usage.code());
        }
    };
    let json = match &cli.command {
        Command::Recover(a) => a.json,
        Command::Get(a) => a.json,
        Command::Scan(a) => a.json,
        Command::Snapshot(c) => c.json(),
        Command::Repair(a) => a.json,
        Command::Compact(a) => a.json,
        Command::Verify(a) => a.json,
        Command::Doctor(a) => a.json,
        Command::Bench(b) => b.json(),
        Command::Backup(c) => c.json(),
        Command::Restore(a) => a.json,
        Command::Wal(c) => c.json(),
        Command::Inspect(c) => c.json(),
        Command::Serve(a) => a.json,
        Command::Status(a) => a.json,
        Command::Cluster(c) => c.json(),
        Command::Replicate(a) => a.serve.json,
        Command::Demo(a) => a.json,
        _ => false,
    };
    let printer = Printer::new(json, cli.quiet, cli.verbose);
    let result = match cli.command {
        Command::Recover(a) => recover::run(&printer, a),
        Command::Get(a) => get::run(&printer, a),
        Command::Scan(a) => scan::run(&printer, a),
        Command::Snapshot(c) => snapshot::run(&printer, c),
        Command::Repair(a) => repair::run(&printer, a),
        Command::Compact(a) => compact::run(&printer, a),
        Command::Verify(a) => verify::run(&printer, a),
        Command::Doctor(a) => doctor::run(&printer, a),
        Command::Demo(a) => demo::run(&printer, a),
        Command::Inspect(c) => inspect::run(&printer, c),
        Command::Bench(c) => bench::run(&printer, c),
        Command::Backup(c) => backup::run(&printer, c),
        Command::Restore(a) => restore::run(&printer, a),
        Command::Wal(c) => wal::run(&printer, c),
        Command::Serve(a) => serve::run(&printer, a),
        Command::Status(a) => status::run(&printer, a),
        Command::Cluster(c) => cluster::run(&printer, c),
        Command::Replicate(a) => replicate::run(&printer, a),
        Command::Completions(a) => completions::completions(&printer, &a),
        Command::Man => completions::man(&printer),
        Command::CrashWriter(a) => crash_writer::run(a),
    };
    crate::output::flush();
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            let exit = exit_for(&err);
            #[allow(
                clippy::print_stderr,
                reason = "the single failure line, even under -q"
            )]
            {
                eprintln!("drkit: {}", one_line(&err));
            }
            ExitCode::from(exit.code())
        }
    }
}

fn exit_for(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| e.downcast_ref::<Error>())
        .map_or(Exit::Failure, Error::exit)
}

/// The error and its causes on one line, so cron mail and log greps get the whole story.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
