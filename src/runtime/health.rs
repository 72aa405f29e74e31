//! Liveness and readiness of the operator process, as `/healthz` and `/readyz` report them.
//!
//! - `/readyz` is 200 once every controller has listed its kind (or while this replica is a
//!   standby), and 503 while any watch of the controllers is failing: a watch that failed
//!   within the last [`WATCH_WINDOW`] and has not listed since (a failing watch is retried with
//!   backoff of at most 30 s, so it fails again well within the window; a watch that works
//!   again makes the process ready as soon as its store has relisted, or, resumed without a
//!   relist, once the window has passed). A 410 Gone after an etcd compaction is routine
//!   (the watch relists) and does not count.
//! - `/healthz` is 200 unless a reconcile has been running for longer than [`STUCK_AFTER`]:
//!   the controllers have stopped making progress and a restart is the cure.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a failed watch keeps the process unready after its last failure.
pub const WATCH_WINDOW: Duration = Duration::from_secs(90);

/// How long one reconcile may run before the process counts as stuck. A reconcile makes a few
/// requests, each bounded by the client's timeouts and its retries of 429/503 answers; ten
/// minutes is far beyond any reconcile that still makes progress.
pub const STUCK_AFTER: Duration = Duration::from_secs(600);

/// What `/readyz` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The controllers run, every watch has listed once and none is failing.
    Ready,
    /// Leader election is on and another replica holds the lease; this one has reached the API
    /// server and waits to take over. Ready, so that a Deployment's rolling update (which waits
    /// for its new pods to be ready before it stops the old leader) can make progress.
    Standby,
    /// Starting: neither leading with synced caches nor a standby yet.
    Starting,
    /// The controllers run but at least one of their watches is failing
    /// ([`Health::failing_watches`] says which and why).
    WatchFailing,
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
            Readiness::WatchFailing => "watch failing",
            Readiness::ShuttingDown => "shutting down",
        }
    }
}

/// The process state behind `/readyz` and `/healthz`. Transitions are one-way except standby,
/// which ends when this replica starts leading, and failing watches, which heal.
#[derive(Debug, Default)]
pub struct Health {
    synced: AtomicBool,
    standby: AtomicBool,
    shutting_down: AtomicBool,
    /// The last failure of a watch, by the kind of the controller it belongs to.
    watches: Mutex<BTreeMap<&'static str, (Instant, String)>>,
    /// Reconciles running now: ticket → kind and start.
    in_flight: Mutex<BTreeMap<u64, (&'static str, Instant)>>,
    next_ticket: AtomicU64,
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

    /// A watch of the controller of `kind` failed at `now` with `reason`.
    pub fn watch_failed(&self, kind: &'static str, reason: &str, now: Instant) {
        self.watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kind, (now, reason.to_owned()));
    }

    /// The watch of `kind` has listed again after failing: it no longer keeps the process
    /// unready (a watch resumed without a relist gives no such sign, and waits out the window).
    pub fn watch_recovered(&self, kind: &str) {
        self.watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(kind);
    }

    /// The controllers whose watches failed within [`WATCH_WINDOW`] before `now`, with the
    /// last reason, by kind.
    pub fn failing_watches(&self, now: Instant) -> Vec<(&'static str, String)> {
        self.watches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, (at, _))| now.saturating_duration_since(*at) < WATCH_WINDOW)
            .map(|(kind, (_, reason))| (*kind, reason.clone()))
            .collect()
    }

    /// A reconcile of `kind` started at `now`; the ticket ends it ([`Health::finished`]).
    pub fn started(&self, kind: &'static str, now: Instant) -> u64 {
        let ticket = self.next_ticket.fetch_add(1, Ordering::SeqCst);
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ticket, (kind, now));
        ticket
    }

    /// The reconcile of `ticket` finished.
    pub fn finished(&self, ticket: u64) {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ticket);
    }

    /// What `/healthz` answers at `now`: `Err` naming the oldest reconcile when it has run for
    /// longer than [`STUCK_AFTER`].
    pub fn liveness(&self, now: Instant) -> Result<(), String> {
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let oldest = in_flight.values().min_by_key(|(_, started)| *started);
        match oldest {
            Some((kind, started)) if now.saturating_duration_since(*started) > STUCK_AFTER => {
                Err(format!(
                    "stuck: a {kind} reconcile has run for {}s (the bound is {}s)",
                    now.saturating_duration_since(*started).as_secs(),
                    STUCK_AFTER.as_secs()
                ))
            }
            _ => Ok(()),
        }
    }

    /// What `/readyz` answers now.
    pub fn readiness(&self) -> Readiness {
        self.readiness_at(Instant::now())
    }

    /// What `/readyz` answers at `now`.
    pub fn readiness_at(&self, now: Instant) -> Readiness {
        if self.shutting_down.load(Ordering::SeqCst) {
            Readiness::ShuttingDown
        } else if self.synced.load(Ordering::SeqCst) {
            if self.failing_watches(now).is_empty() {
                Readiness::Ready
            } else {
                Readiness::WatchFailing
            }
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

    #[test]
    fn a_failing_watch_makes_a_synced_process_unready_until_the_window_has_passed() {
        let health = Health::new();
        let t0 = Instant::now();
        health.set_synced();
        health.watch_failed("Listener", "httproutes: 404 Not Found", t0);
        assert_eq!(health.readiness_at(t0), Readiness::WatchFailing);
        assert!(!health.readiness_at(t0).is_ready());
        assert_eq!(
            health.failing_watches(t0 + Duration::from_secs(10)),
            vec![("Listener", "httproutes: 404 Not Found".to_owned())]
        );
        let later = t0 + WATCH_WINDOW + Duration::from_secs(1);
        assert_eq!(health.readiness_at(later), Readiness::Ready);
        assert!(health.failing_watches(later).is_empty());
    }

    #[test]
    fn a_failed_watch_that_has_listed_again_no_longer_makes_the_process_unready() {
        let health = Health::new();
        let t0 = Instant::now();
        health.set_synced();
        health.watch_failed("EcsService", "connection refused", t0);
        health.watch_failed("HTTPRoute", "httproutes: 403 Forbidden", t0);
        health.watch_recovered("EcsService");
        let soon = t0 + Duration::from_secs(1);
        assert_eq!(
            health.failing_watches(soon),
            vec![("HTTPRoute", "httproutes: 403 Forbidden".to_owned())]
        );
        health.watch_recovered("HTTPRoute");
        assert_eq!(health.readiness_at(soon), Readiness::Ready);
    }

    #[test]
    fn a_reconcile_running_longer_than_the_bound_makes_the_process_not_alive() {
        let health = Health::new();
        let t0 = Instant::now();
        let quick = health.started("EcsService", t0);
        let _stuck = health.started("Listener", t0 + Duration::from_secs(1));
        health.finished(quick);
        assert_eq!(health.liveness(t0 + STUCK_AFTER), Ok(()));
        let error = health
            .liveness(t0 + STUCK_AFTER + Duration::from_secs(5))
            .expect_err("stuck");
        assert!(error.contains("Listener"), "{error}");
    }

    #[test]
    fn a_process_with_no_reconcile_running_is_alive() {
        let health = Health::new();
        let t = health.started("EcsTask", Instant::now());
        health.finished(t);
        assert_eq!(health.liveness(Instant::now() + STUCK_AFTER * 2), Ok(()));
    }
}
