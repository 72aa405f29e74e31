//! The operator: controllers for every ecsplane kind. Each applies the objects the pure
//! translation ([`crate::translate`]) produces with server-side apply under one field manager,
//! owns them, removes what a spec no longer produces, and writes ECS-style status.
//!
//! The process around the controllers (flags, metrics and health endpoints, leader election,
//! logging, signals) lives in `ecsplane run`; it sees the controllers only through [`run`] and
//! the [`Telemetry`] they report to.
//!
//! | kind           | owns                                    | status from                     |
//! |----------------|-----------------------------------------|---------------------------------|
//! | TaskDefinition | ControllerRevisions (one per revision)  | its revisions                   |
//! | EcsService     | Deployment or DaemonSet, HPA, ServiceAccount | workload, ReplicaSets, pods |
//! | TargetGroup    | the Service named after it              | its EndpointSlices              |
//! | Listener       | Ingresses or HTTPRoutes                 | the routing compiler's fates    |
//! | EcsTask        | Pods (one per `count`)                  | the pods' container states      |
//! | EcsCluster     | nothing                                 | services, tasks and nodes       |

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use crate::translate::routing::RoutingOptions;
use crate::translate::security::SecurityPolicy;

pub mod apply;
pub mod cluster;
pub mod conditions;
pub mod listener;
pub mod ownership;
pub mod resolve;
pub mod service;
pub mod target_group;
pub mod task;
pub mod task_definition;

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

/// Why one reconcile failed. Invalid specs and dangling references are not errors: they are
/// written to the object's conditions and the reconcile succeeds.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Api {
        /// What was being done (`apply Deployment default/web`).
        action: String,
        /// The error.
        source: kube::Error,
    },
    /// A generated object could not be serialized (a bug).
    #[error("serializing {what}: {source}")]
    Serialize {
        /// What.
        what: String,
        /// The error.
        source: serde_json::Error,
    },
}

impl ReconcileError {
    /// The metrics category.
    pub fn category(&self) -> ErrorCategory {
        match self {
            ReconcileError::Api { .. } => ErrorCategory::Api,
            ReconcileError::Serialize { .. } => ErrorCategory::Invalid,
        }
    }
}

/// `map_err` helper: an API error while doing `action`.
pub(crate) fn api_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> ReconcileError {
    let action = action.into();
    move |source| ReconcileError::Api { action, source }
}

/// How the operator runs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// How listeners become Kubernetes routing (Ingress, ALB-controller Ingress, HTTPRoute).
    pub routing: RoutingOptions,
    /// Name of this instance in Events (the pod name in cluster).
    pub instance: Option<String>,
    /// Watch and act in this namespace only (`None`: every namespace).
    pub namespace: Option<String>,
    /// Watch and act in these namespaces only, with one set of controllers each; when not
    /// empty it replaces [`Options::namespace`] (`ecsplane run` sets both when it is given one
    /// namespace).
    pub namespaces: Vec<String>,
    /// Which host-level ECS fields the translation allows (`--security-policy`).
    pub security_policy: SecurityPolicy,
}

impl Options {
    /// One [`Options`] per set of controllers to run: one per namespace of
    /// [`Options::namespaces`], else this one.
    fn per_namespace(&self) -> Vec<Options> {
        if self.namespaces.is_empty() {
            return vec![self.clone()];
        }
        self.namespaces
            .iter()
            .map(|ns| Options {
                namespace: Some(ns.clone()),
                namespaces: vec![ns.clone()],
                ..self.clone()
            })
            .collect()
    }
}

/// What every reconcile gets.
pub struct Context {
    /// The client.
    pub client: Client,
    /// Where reconcile outcomes are reported.
    pub telemetry: Arc<dyn Telemetry>,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// Options.
    pub options: Options,
}

impl Context {
    /// The API of a namespaced kind, in the watched namespace or all of them.
    pub fn api<K>(&self) -> kube::Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match &self.options.namespace {
            Some(ns) => kube::Api::namespaced(self.client.clone(), ns),
            None => kube::Api::all(self.client.clone()),
        }
    }

    /// [`Context::api`] for a kind known at run time.
    pub fn api_with(
        &self,
        ar: &kube::discovery::ApiResource,
    ) -> kube::Api<kube::api::DynamicObject> {
        match &self.options.namespace {
            Some(ns) => kube::Api::namespaced_with(self.client.clone(), ns, ar),
            None => kube::Api::all_with(self.client.clone(), ar),
        }
    }

    /// `obj` as the API server holds it now, or `None` once it is gone.
    ///
    /// The controller's cache can lag behind this controller's own last status write: a
    /// reconcile woken by a child (a pod it just deleted, say) may start before the watch has
    /// delivered that write. Status that builds on what came before (a service's event list, a
    /// task that has stopped and must never start again) is therefore computed from this copy,
    /// never from the cached one.
    pub async fn latest<K>(&self, obj: &K) -> Result<Option<K>, ReconcileError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let ns = obj.meta().namespace.clone().unwrap_or_default();
        let name = obj.meta().name.clone().unwrap_or_default();
        kube::Api::<K>::namespaced(self.client.clone(), &ns)
            .get_opt(&name)
            .await
            .map_err(api_err(format!("get {} {name}", K::kind(&()))))
    }

    /// Publishes an Event about `obj` (errors only logged: Events are best effort).
    pub async fn event<K: kube::Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: kube::runtime::events::EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let ev = kube::runtime::events::Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not publish event");
        }
    }
}

/// How long to wait before retrying after a failed reconcile.
pub(crate) const RETRY: Duration = Duration::from_secs(5);
/// How often a converged object is looked at again anyway (reads only; nothing is written
/// unless something changed).
pub(crate) const RESYNC: Duration = Duration::from_secs(300);

/// Runs every controller until `shutdown` completes, then finishes in-flight reconciles and
/// returns. Uses the default [`Options`].
pub async fn run(
    client: Client,
    telemetry: Arc<dyn Telemetry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    run_with(client, telemetry, Options::default(), shutdown).await
}

/// [`run`] with options.
pub async fn run_with(
    client: Client,
    telemetry: Arc<dyn Telemetry>,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // One set of the six controllers per watched namespace (or one for every namespace);
    // ready once every set is.
    let sets = options.per_namespace();
    let shutdown = shutdown.shared();
    let ready = Arc::new(ReadyCounter::new(6 * sets.len(), telemetry.clone()));
    let mut controllers = Vec::with_capacity(6 * sets.len());
    for options in sets {
        // Fail early and clearly when the CRDs are missing or the API is unreachable.
        match &options.namespace {
            Some(ns) => kube::Api::<crate::api::EcsService>::namespaced(client.clone(), ns),
            None => kube::Api::<crate::api::EcsService>::all(client.clone()),
        }
        .list(&kube::api::ListParams::default().limit(1))
        .await?;
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: options.instance.clone(),
        };
        let ctx = Arc::new(Context {
            recorder: Recorder::new(client.clone(), reporter),
            client: client.clone(),
            telemetry: telemetry.clone(),
            options,
        });
        controllers.extend([
            task_definition::controller(ctx.clone(), shutdown.clone(), ready.clone()).boxed(),
            service::controller(ctx.clone(), shutdown.clone(), ready.clone()).boxed(),
            target_group::controller(ctx.clone(), shutdown.clone(), ready.clone()).boxed(),
            listener::controller(ctx.clone(), shutdown.clone(), ready.clone()).boxed(),
            task::controller(ctx.clone(), shutdown.clone(), ready.clone()).boxed(),
            cluster::controller(ctx.clone(), shutdown.clone(), ready.clone()).boxed(),
        ]);
    }
    let stopped = futures::future::join_all(controllers);
    // kube-runtime finishes in-flight reconciles after the shutdown signal, but a controller
    // told to stop before its first list completed waits for that list forever: give the
    // controllers SHUTDOWN_GRACE, then drop them (reconciles are idempotent).
    let grace = async move {
        shutdown.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = stopped => {}
        () = grace => tracing::warn!(grace = ?SHUTDOWN_GRACE, "controllers still busy after the shutdown grace period: stopping them"),
    }
    Ok(())
}

/// How long the controllers may take to finish in-flight reconciles after the shutdown
/// signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Calls [`Telemetry::ready`] once every controller's store has synced.
pub(crate) struct ReadyCounter {
    left: std::sync::atomic::AtomicUsize,
    telemetry: Arc<dyn Telemetry>,
}

impl ReadyCounter {
    fn new(n: usize, telemetry: Arc<dyn Telemetry>) -> Self {
        Self {
            left: std::sync::atomic::AtomicUsize::new(n),
            telemetry,
        }
    }

    /// Marks one controller ready once a list of its kind has completed. (The controller's own
    /// store signals readiness through a one-shot channel that wakes a single waiter, the
    /// controller itself, so it is not waited on here.)
    pub(crate) async fn when_listed<K>(self: Arc<Self>, kind: &'static str, api: kube::Api<K>)
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    {
        use kube::runtime::WatchStreamExt;
        let events = kube::runtime::watcher(api, kube::runtime::watcher::Config::default())
            .default_backoff();
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            if let Ok(kube::runtime::watcher::Event::InitDone) = event {
                tracing::debug!(kind, "watch listed");
                self.one_ready();
                return;
            }
        }
    }

    /// One more controller is ready.
    fn one_ready(&self) {
        if self.left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.telemetry.ready();
        }
    }
}

/// Drives a kube-runtime controller's output stream: logs, reports telemetry, counts the
/// queue. `kind` names the primary kind.
pub(crate) async fn drive<K, S>(kind: &'static str, stream: S)
where
    K: kube::Resource,
    S: futures::Stream<
            Item = Result<
                (
                    kube::runtime::reflector::ObjectRef<K>,
                    kube::runtime::controller::Action,
                ),
                kube::runtime::controller::Error<ReconcileError, kube::runtime::watcher::Error>,
            >,
        >,
{
    stream
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(kind, object = %obj, "reconciled"),
                Err(kube::runtime::controller::Error::ReconcilerFailed(e, obj)) => {
                    tracing::warn!(kind, object = %obj, error = %e, "reconcile failed")
                }
                Err(e) => tracing::debug!(kind, error = %e, "controller"),
            }
        })
        .await;
}

/// Wraps a reconcile to time it and report to telemetry.
pub(crate) async fn timed<F>(
    ctx: &Context,
    kind: &'static str,
    f: F,
) -> Result<kube::runtime::controller::Action, ReconcileError>
where
    F: Future<Output = Result<kube::runtime::controller::Action, ReconcileError>>,
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

/// Error policy shared by every controller: retry soon.
pub(crate) fn error_policy<K>(
    _obj: Arc<K>,
    _err: &ReconcileError,
    _ctx: Arc<Context>,
) -> kube::runtime::controller::Action {
    kube::runtime::controller::Action::requeue(RETRY)
}

/// A telemetry sink that ignores everything (for tools and tests that run the controllers
/// without the process around them).
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {
    fn reconciled(&self, _: &'static str, _: Duration, _: Option<ErrorCategory>) {}
    fn queue_depth(&self, _: &'static str, _: i64) {}
    fn ready(&self) {}
}
