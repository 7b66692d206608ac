//! `drkit doctor`: whether the data can be recovered right now, and to what point.
//!
//! One read-only pass over up to three places, joined into one verdict: the data dir (how
//! its log ends, damage, room for the next flush), the backup repository (newest full and
//! incremental backup against their schedule) and its WAL archive (continuity, how far it
//! trails the data dir). The result is the recoverable window as restore computes it and
//! one finding per problem, each with the command that addresses it.
//!
//! Doctor never writes to the data dir or the repository and takes none of their locks:
//! it runs beside a serving engine, a cron `backup create` and `wal archive --follow`.

mod data;
pub mod prometheus;
mod repository;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::backup::pitr::Window;
use crate::backup::repo::RepoLocation;
use crate::error::{Exit, Result};

pub use crate::ops::verify::Severity;
pub use data::DataSection;
pub use repository::{ArchiveSection, BackupAge, RepoSection};

/// What to look at, and the thresholds that make a warning.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub data: Option<PathBuf>,
    pub repo: Option<RepoLocation>,
    /// Read every byte of the data dir (as `verify`), not only headers, footers and the
    /// log's end.
    pub deep: bool,
    /// The data dir's newest entries may trail what the repository can restore by this much.
    pub max_rpo: Option<Duration>,
    /// A full backup is due this long after the last one (the default retention policy's
    /// weekly full), an incremental (or any) backup this long after the last one (daily).
    pub full_every: Duration,
    pub incr_every: Duration,
    /// The moment ages are measured at: now, or a test's clock.
    pub now: DateTime<Utc>,
}

impl DoctorOptions {
    pub fn new(data: Option<PathBuf>, repo: Option<RepoLocation>) -> DoctorOptions {
        DoctorOptions {
            data,
            repo,
            deep: false,
            max_rpo: None,
            full_every: Duration::from_secs(7 * 86_400),
            incr_every: Duration::from_secs(86_400),
            now: Utc::now(),
        }
    }
}

/// What a finding is about; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// Damaged bytes in the data dir or an unreadable repository file: exit 4.
    Damage,
    /// A stretch of history no restore can reach (no backup, an archive gap): exit 12.
    Uncovered,
    /// A late backup, an archive behind `--max-rpo`, too little disk: exit 5.
    Late,
}

impl Concern {
    fn severity(self) -> Severity {
        match self {
            Concern::Damage | Concern::Uncovered => Severity::Error,
            Concern::Late => Severity::Warning,
        }
    }

    fn exit(self) -> Exit {
        match self {
            Concern::Damage => Exit::Corruption,
            Concern::Uncovered => Exit::TargetNotCovered,
            Concern::Late => Exit::Warnings,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub concern: Concern,
    /// Where: a file, a repository or a history.
    pub place: String,
    pub what: String,
    /// The command (or step) that addresses it.
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub checked_at: String,
    pub data: Option<DataSection>,
    pub repo: Option<RepoSection>,
    pub archive: Option<ArchiveSection>,
    /// The recoverable window of the history checked, as restore computes it.
    pub window: Option<Window>,
    /// How far the data dir's newest entry is past the newest one the repository can
    /// restore: what a loss of this machine now would lose.
    pub rpo: Option<Rpo>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rpo {
    pub entries: u64,
    /// Between the commit times of the two entries; 0 when nothing is missing.
    pub seconds: f64,
}

impl DoctorReport {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// The most urgent finding's exit code: damage, then an uncovered window, then
    /// warnings; 0 when there is nothing to report.
    pub fn exit(&self) -> Exit {
        [Concern::Damage, Concern::Uncovered, Concern::Late]
            .into_iter()
            .find(|c| self.findings.iter().any(|f| f.concern == *c))
            .map_or(Exit::Ok, Concern::exit)
    }

    /// The finding that decides the exit code.
    pub fn first(&self) -> Option<&Finding> {
        let exit = self.exit();
        self.findings.iter().find(|f| f.concern.exit() == exit)
    }
}

/// Collects findings.
#[derive(Debug, Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(
        &mut self,
        concern: Concern,
        place: impl Into<String>,
        what: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Finding {
            severity: concern.severity(),
            concern,
            place: place.into(),
            what: what.into(),
            fix: fix.into(),
        });
    }
}

/// Looks at the data dir, the repository and its archive, and decides. An error is
/// returned only when a place given cannot be looked at at all (no such dir, no
/// repository there); everything found inside them is a finding.
pub fn doctor(opts: &DoctorOptions) -> Result<DoctorReport> {
    if opts.data.is_none() && opts.repo.is_none() {
        return Err(crate::Error::InvalidInput(
            "give --data DIR, --repo R, or both".into(),
        ));
    }
    let mut findings = Findings::default();
    let data = match &opts.data {
        Some(dir) => Some(data::check(dir, opts.deep, &mut findings)?),
        None => None,
    };
    let (repo, archive, window, rpo) = match &opts.repo {
        Some(location) => {
            let r = repository::check(location, data.as_ref(), opts, &mut findings)?;
            (Some(r.repo), r.archive, r.window, r.rpo)
        }
        None => (None, None, None, None),
    };
    Ok(DoctorReport {
        checked_at: opts.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        data,
        repo,
        archive,
        window,
        rpo,
        findings: findings.0,
    })
}

/// A duration for people: `3d 4h`, `5m 2s`, `0.4s`.
pub fn human_duration(secs: f64) -> String {
    if secs < 10.0 {
        return format!("{secs:.1}s");
    }
    let s = secs as u64;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}
