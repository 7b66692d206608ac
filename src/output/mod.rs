//! The one place that writes to the terminal: human tables (comfy-table), `--json` lines, and
//! progress bars that draw only on a TTY and never with `--json` or `-q`.
//!
//! A closed pipe (`drkit ... | head`) is not an error: output stops and drkit exits 0.
#![allow(
    clippy::print_stderr,
    reason = "the Printer is the sanctioned writer to stderr"
)]

use std::io::{IsTerminal, Write};
use std::time::Duration;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
    stdout_tty: bool,
    stderr_tty: bool,
}

/// Set when stdout was closed under us; the process then exits 0 without more output.
static PIPE_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn pipe_closed() -> bool {
    PIPE_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Block-buffered stdout: `scan` and `inspect` print hundreds of thousands of lines, and a
/// write (let alone a flush) per line would dominate their run time. Flushed by [`flush`]
/// when the command ends, before the error line, and by the Printer before it prints to
/// stderr so the two streams keep their order on a terminal.
static STDOUT: std::sync::LazyLock<std::sync::Mutex<std::io::BufWriter<std::io::Stdout>>> =
    std::sync::LazyLock::new(|| {
        std::sync::Mutex::new(std::io::BufWriter::with_capacity(
            256 << 10,
            std::io::stdout(),
        ))
    });

fn note_write_error(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        PIPE_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Writes out what is buffered for stdout.
pub fn flush() {
    if pipe_closed() {
        return;
    }
    let mut out = STDOUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(e) = out.flush() {
        note_write_error(&e);
    }
}

impl Printer {
    pub fn new(json: bool, quiet: bool, verbose: u8) -> Printer {
        Printer {
            json,
            quiet,
            verbose,
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    fn out(&self, text: &str) {
        if pipe_closed() {
            return;
        }
        let mut out = STDOUT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A person watching a terminal sees each line as it happens; pipes get blocks.
        let result = out
            .write_all(text.as_bytes())
            .and_then(|()| if self.stdout_tty { out.flush() } else { Ok(()) });
        if let Err(e) = result {
            note_write_error(&e);
        }
    }

    /// Bytes as they are (completion scripts, man pages), regardless of -q.
    pub fn raw(&self, bytes: &[u8]) {
        self.out(&String::from_utf8_lossy(bytes));
    }

    /// A human line on stdout (suppressed by -q and --json).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.quiet && !self.json {
            self.out(&format!("{}\n", text.as_ref()));
        }
    }

    /// A table on stdout (suppressed by -q and --json).
    pub fn table(&self, table: &Table) {
        if !self.quiet && !self.json {
            self.out(&format!("{table}\n"));
        }
    }

    /// One JSON document per line, only with --json (never suppressed by -q: asked for).
    pub fn json<T: Serialize>(&self, value: &T) {
        if self.json {
            match serde_json::to_string(value) {
                Ok(s) => self.out(&format!("{s}\n")),
                Err(e) => self.warn(format!("cannot encode JSON output: {e}")),
            }
        }
    }

    /// Diagnostics on stderr, shown unless -q.
    pub fn warn(&self, text: impl AsRef<str>) {
        if !self.quiet {
            flush();
            eprintln!("{}", text.as_ref());
        }
    }

    /// Extra detail with -v.
    pub fn verbose(&self, text: impl AsRef<str>) {
        if self.verbose > 0 && !self.quiet {
            flush();
            eprintln!("{}", text.as_ref());
        }
    }

    /// A byte-progress bar on stderr, or a hidden one when it must not draw.
    pub fn progress(&self, total: u64, message: &str) -> ProgressBar {
        if self.quiet || self.json || !self.stderr_tty {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// A bar counting steps (not bytes) on stderr, or a hidden one when it must not draw.
    pub fn steps(&self, total: u64, message: &str) -> ProgressBar {
        if self.quiet || self.json || !self.stderr_tty {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    pub fn is_tty(&self) -> bool {
        self.stdout_tty
    }
}

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// Two-column "field | value" table for a single report.
pub fn kv_table(rows: &[(&str, String)]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    for (k, v) in rows {
        t.add_row(vec![(*k).to_string(), v.clone()]);
    }
    t
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
