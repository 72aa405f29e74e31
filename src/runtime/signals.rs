//! SIGTERM and SIGINT: the first starts a graceful shutdown, a second one ends the process at
//! once (as controller-runtime does).

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Listens for SIGTERM and SIGINT. On the first, calls `on_shutdown` and sets `shutdown` to
/// true; on a second, exits the process with status 1 without waiting for anything.
pub fn install(
    shutdown: watch::Sender<bool>,
    on_shutdown: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: stopping the controllers");
        on_shutdown();
        let _ = shutdown.send(true);
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::error!(signal = name, "second signal: exiting at once");
        std::process::exit(1);
    });
    Ok(())
}
