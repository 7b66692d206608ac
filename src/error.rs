//! The library's one error type and the one table that maps errors to process exit codes.
//!
//! Every variant that concerns a file carries its path, and where bytes were being decoded,
//! the byte offset, so an operator can go straight to `drkit inspect` on the right spot.

use std::io;
use std::path::PathBuf;

/// Process exit codes. This enum is the single source of truth; docs/exit-codes.md mirrors it
/// and a test keeps the two in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    Failure = 1,
    Usage = 2,
    DataDropped = 3,
    Corruption = 4,
    Warnings = 5,
    NotFound = 10,
    LockHeld = 11,
    TargetNotCovered = 12,
    Interrupted = 130,
}

impl Exit {
    pub const ALL: [Exit; 10] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::DataDropped,
        Exit::Corruption,
        Exit::Warnings,
        Exit::NotFound,
        Exit::LockHeld,
        Exit::TargetNotCovered,
        Exit::Interrupted,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success",
            Exit::Failure => "failure (I/O error, bad argument value, internal error)",
            Exit::Usage => "usage error (unknown flag, missing argument)",
            Exit::DataDropped => "finished, but data was dropped or skipped (moved to DIR/lost/)",
            Exit::Corruption => "corruption found and refused; nothing was changed",
            Exit::Warnings => {
                "finished with warnings (`doctor`: a backup late, the archive behind `--max-rpo`)"
            }
            Exit::NotFound => "not found (data dir, file, key, backup)",
            Exit::LockHeld => "another process holds the lock",
            Exit::TargetNotCovered => "point-in-time target not covered by the repository",
            Exit::Interrupted => "interrupted (SIGINT)",
        }
    }
}

/// What to do when the manifest or CURRENT is damaged or lost.
pub const REPAIR_HINT: &str = "run `drkit repair DIR` to rebuild the manifest from the SSTs";

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: not found{}", path.display(), hint_suffix(hint))]
    NotFound { path: PathBuf, hint: String },

    #[error("{}: not a drkit data dir ({reason})", path.display())]
    NotDataDir { path: PathBuf, reason: String },

    #[error("{}: wrong kind of file: found {found}, expected {expected}", path.display())]
    WrongKind {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },

    #[error("{}: format version {found} is newer than this drkit understands (max {supported}); upgrade drkit", path.display())]
    NewerVersion {
        path: PathBuf,
        found: u16,
        supported: u16,
    },

    #[error("{}: uses features {flags:#06x} this drkit does not understand; upgrade drkit", path.display())]
    UnknownFeatures { path: PathBuf, flags: u16 },

    #[error("{} at offset {offset}: {what}{}", path.display(), hint_suffix(hint))]
    Corruption {
        path: PathBuf,
        offset: u64,
        what: String,
        hint: String,
    },

    #[error("{}: locked by another process{}; stop it first (the lock is released when it exits)", path.display(), holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, holder: Option<u32> },

    /// A repository lock (a local flock or an object store's lease) held by someone else.
    #[error("{}: locked by {held}; {hint}", path.display())]
    RepoLocked {
        path: PathBuf,
        held: String,
        hint: String,
    },

    #[error("{0}")]
    InvalidInput(String),

    #[error(
        "the engine stopped accepting writes after an earlier I/O failure: {0}; reopen the dir to recover"
    )]
    Poisoned(String),

    #[error("recovery dropped data: {0}")]
    DataDropped(String),

    /// The end-of-recovery flush failed after the log was replayed and the engine was ready.
    /// The replayed entries are still in the WAL (it is retired only after a flush), so the
    /// next recovery replays them.
    #[error(
        "flushing the recovered entries failed: {0}; nothing was lost (they are still in the WAL): fix the cause (disk space?) and recover again"
    )]
    RecoveryFlush(Box<Error>),

    /// An object store refused or could not be reached: the location (`s3://BUCKET/KEY`), what
    /// it answered (its error code), and what to check.
    #[error("{location}: {what}{}", hint_suffix(hint))]
    Remote {
        location: String,
        what: String,
        hint: String,
    },

    /// `doctor` found only warnings (a late backup, an archive behind): the first one.
    #[error("{0}")]
    Warning(String),

    /// `doctor` found damage: the first damage it found, with where it is.
    #[error("{0}")]
    Damaged(String),

    /// A point-in-time target the repository cannot reach (before the oldest backup, past
    /// the archive's end, or across a gap in it).
    #[error("{0}")]
    NotCovered(String),
}

fn hint_suffix(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    }
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn corruption(path: impl Into<PathBuf>, offset: u64, what: impl Into<String>) -> Self {
        Error::Corruption {
            path: path.into(),
            offset,
            what: what.into(),
            hint: String::new(),
        }
    }

    /// Adds the "what to do next" part to a corruption error.
    pub fn with_hint(mut self, new_hint: impl Into<String>) -> Self {
        if let Error::Corruption { hint, .. } | Error::NotFound { hint, .. } = &mut self {
            *hint = new_hint.into();
        }
        self
    }

    /// The exit code this error ends the process with. The only place that decides it.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => Exit::NotFound,
            Error::Io { .. }
            | Error::Poisoned(_)
            | Error::InvalidInput(_)
            | Error::Remote { .. } => Exit::Failure,
            Error::NotFound { .. } | Error::NotDataDir { .. } => Exit::NotFound,
            Error::WrongKind { .. }
            | Error::NewerVersion { .. }
            | Error::UnknownFeatures { .. }
            | Error::Corruption { .. } => Exit::Corruption,
            Error::Locked { .. } | Error::RepoLocked { .. } => Exit::LockHeld,
            Error::DataDropped(_) => Exit::DataDropped,
            Error::RecoveryFlush(cause) => cause.exit(),
            Error::NotCovered(_) => Exit::TargetNotCovered,
            Error::Warning(_) => Exit::Warnings,
            Error::Damaged(_) => Exit::Corruption,
        }
    }
}

/// Attaches a path to a bare `io::Error`.
pub trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct() {
        let mut codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Exit::ALL.len());
    }

    #[test]
    fn exit_code_doc_matches_the_table() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exit-codes.md"))
                .unwrap();
        for e in Exit::ALL {
            let row = format!("| {} | {} |", e.code(), e.meaning());
            assert!(
                doc.contains(&row),
                "docs/exit-codes.md lacks the row `{row}`"
            );
        }
    }

    #[test]
    fn corruption_message_names_file_and_offset() {
        let e =
            Error::corruption("/d/wal/1.wal", 4242, "checksum mismatch").with_hint("run recover");
        let text = e.to_string();
        assert!(text.contains("/d/wal/1.wal"), "{text}");
        assert!(text.contains("4242"), "{text}");
        assert!(text.contains("run recover"), "{text}");
        assert_eq!(e.exit(), Exit::Corruption);
    }
}
