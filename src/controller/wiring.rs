//! What every controller shares around its reconcile: the kube-runtime [`Controller`] of the
//! primary kind, graceful shutdown, readiness once the kind has been listed, one span per
//! reconcile (kind, namespace, name, so every log line of one object can be followed), the
//! timing reported to [`Telemetry`], the error policy and the loop that
//! drives the controller's output.
//!
//! A controller adds only what is its own (the kinds it owns and watches) and its reconcile
//! function:
//!
//! ```ignore
//! let ctrl = wiring.controller::<EcsTask>().owns(...);
//! wiring.run(ctrl, reconcile).await;
//! ```

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use futures::future::{BoxFuture, Shared};
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use kube::runtime::controller::{self, Action, Controller, Error as ControllerError};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::reader::Cached;
use super::{Context, ReconcileError, Telemetry, errors};

/// The kinds a controller can have as its primary kind: namespaced, statically typed.
pub(crate) trait Primary:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + serde::Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Primary for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

/// The kind of `K` as a `'static` name, for metrics and spans.
pub(crate) fn kind_of<K: Resource<DynamicType = ()>>() -> &'static str {
    match K::kind(&()) {
        Cow::Borrowed(kind) => kind,
        // Statically typed kinds name themselves with a literal; were one ever computed, it
        // is computed once per controller.
        Cow::Owned(kind) => Box::leak(kind.into_boxed_str()),
    }
}

/// What each controller is started with.
#[derive(Clone)]
pub(crate) struct Wiring {
    /// The context every reconcile gets.
    pub ctx: Arc<Context>,
    /// Completes when the operator is to stop.
    pub shutdown: Shared<BoxFuture<'static, ()>>,
}

impl Wiring {
    /// A kube-runtime controller of `K` in the watched namespace(s), woken by the shared
    /// watch of `K` and reading its store, to which the caller adds the kinds it owns and
    /// watches ([`Wiring::changes`]). Debounced and bounded in concurrency as the options say.
    pub fn controller<K: Primary + Cached>(&self) -> Controller<K> {
        let options = &self.ctx.options;
        let config = controller::Config::default()
            .debounce(options.debounce)
            .concurrency(options.concurrency);
        let caches = self.ctx.reader.caches();
        let ctrl = match K::cache(caches) {
            Some(cache) => Controller::for_stream(cache.subscribe(), cache.store().clone()),
            None => Controller::new(self.ctx.api::<K>(), watcher::Config::default()),
        };
        ctrl.with_config(config)
    }

    /// Every change of kind `K` from its shared watch, for `owns_stream` and `watches_stream`
    /// (nothing, for a kind the caches do not hold in this set-up).
    pub fn changes<K: Cached>(
        &self,
    ) -> futures::stream::BoxStream<'static, Result<K, watcher::Error>> {
        match K::cache(self.ctx.reader.caches()) {
            Some(cache) => cache.subscribe().boxed(),
            None => futures::stream::empty().boxed(),
        }
    }

    /// Runs `controller` with `reconcile` until shutdown: each reconcile in its own span,
    /// timed and reported, under the error policy of [`errors`]. Calling it tells the caches
    /// that this controller has subscribed to every kind it needs (the watches start once every
    /// controller of the set has).
    pub async fn run<K, R, F>(self, controller: Controller<K>, mut reconcile: R)
    where
        K: Primary,
        R: FnMut(Arc<K>, Arc<Context>) -> F,
        F: Future<Output = Result<Action, ReconcileError>> + Send + 'static,
    {
        let kind = kind_of::<K>();
        let Wiring { ctx, shutdown } = self;
        ctx.reader.caches().subscribed();
        let reconcile = move |obj: Arc<K>, ctx: Arc<Context>| {
            let span = tracing::info_span!(
                "reconcile",
                kind,
                namespace = obj.meta().namespace.as_deref().unwrap_or_default(),
                name = obj.meta().name.as_deref().unwrap_or_default(),
            );
            let work = reconcile(obj.clone(), ctx.clone());
            async move { errors::guarded(&ctx, kind, obj.as_ref(), timed(&ctx, kind, work)).await }
                .instrument(span)
        };
        let telemetry = ctx.telemetry.clone();
        let stream = controller
            .graceful_shutdown_on(shutdown)
            .run(reconcile, error_policy, ctx);
        drive(kind, telemetry.as_ref(), stream).await;
    }
}

/// Calls [`Telemetry::ready`] once every cache's store has listed.
pub(crate) struct ReadyCounter {
    left: AtomicUsize,
    telemetry: Arc<dyn Telemetry>,
}

impl ReadyCounter {
    /// A counter of `n` stores.
    pub(crate) fn new(n: usize, telemetry: Arc<dyn Telemetry>) -> Self {
        Self {
            left: AtomicUsize::new(n),
            telemetry,
        }
    }

    /// A cache's watch failed (`expected`: the routine 410 Gone of a compacted watch), for
    /// `/readyz` and the watch metrics, as a controller's own watch failures are reported.
    pub(crate) fn watch_failed(&self, kind: &'static str, error: &watcher::Error) {
        let expected = watch_expired(error);
        if expected {
            tracing::info!(kind, %error, "cache watch expired: relisting");
        } else {
            tracing::warn!(kind, %error, "cache watch failed: restarting it with backoff");
        }
        self.telemetry
            .watch_failed(kind, &error.to_string(), expected);
    }

    /// A cache's store of `kind` completed a list (the first or a relist): its watch works.
    pub(crate) fn watch_listed(&self, kind: &'static str) {
        self.telemetry.watch_listed(kind);
    }

    /// One more store is ready.
    pub(crate) fn one_ready(&self) {
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.telemetry.ready();
        }
    }
}

/// Drives a kube-runtime controller's output stream: logs each outcome, and reports every
/// failed watch (of the primary kind, an owned or a watched one) to telemetry, which keeps
/// `/readyz` false while watches fail. `kind` names the primary kind.
async fn drive<K, S>(kind: &'static str, telemetry: &dyn Telemetry, stream: S)
where
    K: Resource,
    S: futures::Stream<
            Item = Result<(ObjectRef<K>, Action), ControllerError<ReconcileError, watcher::Error>>,
        >,
{
    stream
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(kind, object = %obj, "reconciled"),
                // Logged by the error policy with its decision.
                Err(ControllerError::ReconcilerFailed(e, obj)) => {
                    tracing::debug!(kind, object = %obj, error = %e, "reconcile failed")
                }
                Err(ControllerError::QueueError(e)) => {
                    let expected = watch_expired(&e);
                    if expected {
                        tracing::info!(kind, error = %e, "watch expired: relisting");
                    } else {
                        tracing::warn!(kind, error = %e, "watch failed: restarting it with backoff");
                    }
                    telemetry.watch_failed(kind, &e.to_string(), expected);
                }
                Err(e) => tracing::debug!(kind, error = %e, "controller"),
            }
        })
        .await;
}

/// Whether a watch error is the routine end of a watch whose resourceVersion was compacted
/// away (410 Gone): the watcher relists and nothing is wrong.
fn watch_expired(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::WatchError(status) => status.code == 410 || status.reason == "Expired",
        _ => false,
    }
}

/// Runs one reconcile, timing it and reporting to telemetry.
async fn timed<F>(ctx: &Context, kind: &'static str, f: F) -> Result<Action, ReconcileError>
where
    F: Future<Output = Result<Action, ReconcileError>>,
{
    let start = std::time::Instant::now();
    let res = f.await;
    ctx.telemetry.reconciled(
        kind,
        start.elapsed(),
        res.as_ref().err().map(ReconcileError::category),
    );
    res
}

/// Error policy shared by every controller: what [`errors::decide`] decided for the failure
/// (backoff, `Retry-After`, or waiting for a change).
fn error_policy<K: Primary>(obj: Arc<K>, _err: &ReconcileError, ctx: Arc<Context>) -> Action {
    errors::action(&ctx, kind_of::<K>(), obj.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        EcsCluster, EcsScheduledTask, EcsService, EcsTask, Listener, TargetGroup, TaskDefinition,
    };

    #[test]
    fn a_watch_expired_by_compaction_is_routine_and_a_forbidden_one_is_not() {
        let gone =
            kube::core::Status::failure("too old resource version", "Expired").with_code(410);
        assert!(watch_expired(&watcher::Error::WatchError(Box::new(gone))));
        let forbidden =
            kube::core::Status::failure("httproutes is forbidden", "Forbidden").with_code(403);
        assert!(!watch_expired(&watcher::Error::InitialListFailed(
            kube::Error::Api(Box::new(forbidden))
        )));
    }

    #[test]
    fn every_primary_kind_is_named_as_the_api_names_it() {
        assert_eq!(
            [
                kind_of::<TaskDefinition>(),
                kind_of::<EcsService>(),
                kind_of::<TargetGroup>(),
                kind_of::<Listener>(),
                kind_of::<EcsTask>(),
                kind_of::<EcsScheduledTask>(),
                kind_of::<EcsCluster>(),
            ],
            [
                "TaskDefinition",
                "EcsService",
                "TargetGroup",
                "Listener",
                "EcsTask",
                "EcsScheduledTask",
                "EcsCluster"
            ]
        );
    }
}
