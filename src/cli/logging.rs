//! Where a server's log lines go: stderr, one line per event with an RFC 3339 time stamp
//! (UTC, milliseconds), the level and the event's fields (node id and term in cluster mode),
//! as text for people or JSON for log shippers. `RUST_LOG` filters as usual; the default
//! shows drkit's info lines and openraft's errors (its warnings and info lines are its
//! internals: messages dropped after a vote changed, and the like).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// openraft's own lines are off: it logs every failed call to a peer at ERROR (20 a second
/// for a dead peer on the fast timing); drkit says once when a peer stops and starts
/// answering, and why Raft stopped when it does.
const DEFAULT_FILTER: &str = "info,openraft=off";

struct Rfc3339Utc;

impl FormatTime for Rfc3339Utc {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let now = chrono::Utc::now();
        write!(
            w,
            "{}",
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    }
}

/// Installs the subscriber for this process (once; a second call keeps the first).
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(Rfc3339Utc)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
