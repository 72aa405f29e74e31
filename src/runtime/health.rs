//! Liveness and readiness of the operator process, as `/healthz` and `/readyz` report them.

use std::sync::atomic::{AtomicBool, Ordering};

/// What `/readyz` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The controllers run and every watch has listed once.
    Ready,
    /// Leader election is on and another replica holds the lease; this one has reached the API
    /// server and waits to take over. Ready, so that a Deployment's rolling update (which waits
    /// for its new pods to be ready before it stops the old leader) can make progress.
    Standby,
    /// Starting: neither leading with synced caches nor a standby yet.
    Starting,
    /// A shutdown signal arrived; the process is finishing.
    ShuttingDown,
}

impl Readiness {
    /// Whether `/readyz` answers 200.
    pub fn is_ready(self) -> bool {
        matches!(self, Readiness::Ready | Readiness::Standby)
    }

    /// The one-word body of the `/readyz` answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::Standby => "standby",
            Readiness::Starting => "starting",
            Readiness::ShuttingDown => "shutting down",
        }
    }
}

/// The process state behind `/readyz`. Transitions are one-way except standby, which ends when
/// this replica starts leading.
#[derive(Debug, Default)]
pub struct Health {
    synced: AtomicBool,
    standby: AtomicBool,
    shutting_down: AtomicBool,
}

impl Health {
    /// A process that has just started.
    pub fn new() -> Self {
        Self::default()
    }

    /// The controllers' watches have all listed once ([`crate::controller::Telemetry::ready`]).
    pub fn set_synced(&self) {
        self.synced.store(true, Ordering::SeqCst);
    }

    /// Whether this replica waits for another's lease.
    pub fn set_standby(&self, standby: bool) {
        self.standby.store(standby, Ordering::SeqCst);
    }

    /// A shutdown signal arrived: never ready again.
    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// What `/readyz` answers now.
    pub fn readiness(&self) -> Readiness {
        if self.shutting_down.load(Ordering::SeqCst) {
            Readiness::ShuttingDown
        } else if self.synced.load(Ordering::SeqCst) {
            Readiness::Ready
        } else if self.standby.load(Ordering::SeqCst) {
            Readiness::Standby
        } else {
            Readiness::Starting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starting_process_is_not_ready() {
        let health = Health::new();
        assert_eq!(health.readiness(), Readiness::Starting);
        assert!(!health.readiness().is_ready());
    }

    #[test]
    fn synced_controllers_make_the_process_ready() {
        let health = Health::new();
        health.set_synced();
        assert_eq!(health.readiness(), Readiness::Ready);
        assert!(health.readiness().is_ready());
    }

    #[test]
    fn a_standby_replica_is_ready_until_it_leads_and_then_ready_once_synced() {
        let health = Health::new();
        health.set_standby(true);
        assert_eq!(health.readiness(), Readiness::Standby);
        assert!(health.readiness().is_ready());
        health.set_standby(false);
        assert_eq!(
            health.readiness(),
            Readiness::Starting,
            "leading, caches not synced yet"
        );
        health.set_synced();
        assert_eq!(health.readiness(), Readiness::Ready);
    }

    #[test]
    fn shutting_down_is_never_ready_whatever_else_happened() {
        let health = Health::new();
        health.set_synced();
        health.set_shutting_down();
        assert_eq!(health.readiness(), Readiness::ShuttingDown);
        assert!(!health.readiness().is_ready());
        health.set_synced();
        health.set_standby(true);
        assert!(!health.readiness().is_ready(), "shutting down is final");
    }
}
