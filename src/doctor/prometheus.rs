//! `doctor --prometheus FILE`: the verdict in node_exporter's textfile-collector format
//! (Prometheus text exposition 0.0.4), replaced atomically so the collector never reads
//! half a file. A cron line `drkit doctor -q --prometheus /var/lib/node_exporter/drkit.prom`
//! feeds alerts (docs/runbooks/doctor.md has rules).

use std::fmt::Write;
use std::path::Path;

use super::{DoctorReport, Severity};
use crate::error::Result;

/// The report as metric families, each with its HELP and TYPE lines.
pub fn render(r: &DoctorReport, now_unix: f64) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP drkit_doctor_{name} {help}");
        let _ = writeln!(out, "# TYPE drkit_doctor_{name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "drkit_doctor_{name}{labels} {value}");
        }
    };
    family(
        "last_run_timestamp_seconds",
        "When doctor ran (a stale value means its cron job stopped).",
        &[("", now_unix)],
    );
    family(
        "exit_code",
        "doctor's exit code: 0 well, 5 warnings, 4 damage, 12 an uncovered window.",
        &[("", f64::from(r.exit().code()))],
    );
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count() as f64;
    family(
        "findings",
        "Findings by severity.",
        &[
            ("{severity=\"error\"}", count(Severity::Error)),
            ("{severity=\"warning\"}", count(Severity::Warning)),
        ],
    );
    if let Some(repo) = &r.repo {
        let backups: Vec<(&str, f64)> = [
            ("{type=\"full\"}", &repo.newest_full),
            ("{type=\"incr\"}", &repo.newest_incr),
        ]
        .into_iter()
        .filter_map(|(l, b)| b.as_ref().map(|b| (l, b.end_unix)))
        .collect();
        family(
            "last_backup_timestamp_seconds",
            "End time of the newest backup of each type.",
            &backups,
        );
    }
    if let Some(rpo) = &r.rpo {
        family(
            "archive_lag_seconds",
            "How far the data dir's newest entry is past the newest one the repository can restore (commit times).",
            &[("", rpo.seconds)],
        );
        family(
            "archive_lag_entries",
            "Entries of the data dir the repository cannot restore yet.",
            &[("", rpo.entries as f64)],
        );
    }
    if let Some(a) = &r.archive {
        family(
            "archive_gaps",
            "Holes in the WAL archive since the oldest backup: point-in-time restore cannot cross them.",
            &[("", a.gaps.len() as f64)],
        );
    }
    if let Some(reach) = r.window.as_ref().and_then(|w| w.reaches.last()) {
        let unix = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis() as f64 / 1000.0)
        };
        family(
            "window_start_seq",
            "First sequence of the newest recoverable stretch.",
            &[("", reach.from_seq as f64)],
        );
        family(
            "window_end_seq",
            "Last sequence a restore can reach.",
            &[("", reach.to_seq as f64)],
        );
        if let Some(t) = unix(&reach.from_time) {
            family(
                "window_start_timestamp_seconds",
                "Commit time of the window's first entry.",
                &[("", t)],
            );
        }
        if let Some(t) = unix(&reach.to_time) {
            family(
                "window_end_timestamp_seconds",
                "Commit time of the last entry a restore can reach.",
                &[("", t)],
            );
        }
    }
    out
}

/// Writes `text` to `path` through a sibling tmp file and a rename.
pub fn write(path: &Path, text: &str) -> Result<()> {
    crate::io::write_atomic(path, text.as_bytes())
}
