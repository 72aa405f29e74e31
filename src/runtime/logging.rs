//! Logs as plain text or JSON lines on standard error, filtered by `RUST_LOG`.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The format of log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, its fields at the top level and the spans it happened in
    /// (for example the reconciled object) under `span` and `spans` (for log collectors).
    Json,
}

/// The filter used when `RUST_LOG` is unset or empty.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the global subscriber. `RUST_LOG` (for example `info,ecsplane=debug`) chooses what
/// is logged; an invalid `RUST_LOG` is reported and the default filter used instead.
pub fn init(format: LogFormat) {
    let (filter, invalid) = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => match EnvFilter::try_new(&value) {
            Ok(filter) => (filter, None),
            Err(error) => (EnvFilter::new(DEFAULT_FILTER), Some((value, error))),
        },
        _ => (EnvFilter::new(DEFAULT_FILTER), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, never in a collected log.
        .with_ansi(std::io::stderr().is_terminal());
    // A subscriber may already be installed (tests); the first one stays.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Some((value, error)) = invalid {
        tracing::warn!(rust_log = %value, %error, "RUST_LOG is not a valid filter; using {DEFAULT_FILTER:?}");
    }
}
