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
//! | EcsScheduledTask | CronJob, ServiceAccount               | the CronJob's runs              |
//! | EcsCluster     | nothing                                 | services, tasks and nodes       |
//!
//! Every reconcile reads top to bottom as the same pipeline, each step a function with a typed
//! output handed to the next: **resolve** (read what the object refers to, [`reader`]) →
//! **translate** (the pure translation of [`crate::translate`], the same code `ecsplane
//! render` runs) → **apply** (server-side apply of the children, [`apply`]) → **observe**
//! (read what the children show) → **status** (a pure function of all that, written once by
//! [`status::write`]). A kind without children skips the steps it has no use for. The
//! decisions of the status step that need thought (ECS deployment tracking, the circuit
//! breaker) are pure functions tested without a client (`service::deployments`), and the
//! words status is written in live in [`vocabulary`]. What every controller shares around
//! its reconcile (shutdown, readiness, the span per reconcile, timing, retries) is
//! `wiring`'s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use kube::Client;
use kube::runtime::events::{EventType, Recorder, Reporter};

use crate::translate::routing::RoutingOptions;
use crate::translate::security::SecurityPolicy;
use cache::Caches;
use reader::Reader;
use vocabulary::{EventAction, EventReason};
use wiring::{ReadyCounter, Wiring};

pub mod apply;
pub mod cache;
pub mod cluster;
pub mod conditions;
pub mod errors;
pub mod listener;
pub mod ownership;
pub mod reader;
pub mod resolve;
pub mod scaling;
pub mod scheduled;
pub mod service;
pub mod status;
pub mod target_group;
pub mod task;
pub mod task_definition;
pub mod vocabulary;
mod wiring;

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "ecsplane";

/// Why a reconcile failed, in the small set of categories the metrics use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCategory {
    /// The object's spec cannot be translated (a refusal); fixed by editing the object.
    Invalid,
    /// The object refers to another that does not exist (yet).
    Reference,
    /// The API server refused or failed a request, or could not be reached.
    Api,
    /// The API server throttled a request (429).
    Throttled,
    /// The operator lacks a permission (403).
    Forbidden,
    /// The API server refused a child as invalid (422).
    Rejected,
    /// A child the object would write belongs to somebody else.
    Conflict,
}

impl ErrorCategory {
    /// The label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Invalid => "invalid",
            ErrorCategory::Reference => "reference",
            ErrorCategory::Api => "api",
            ErrorCategory::Throttled => "throttled",
            ErrorCategory::Forbidden => "forbidden",
            ErrorCategory::Rejected => "rejected",
            ErrorCategory::Conflict => "conflict",
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
    /// A reconcile of `kind` started; the ticket is handed back to
    /// [`Telemetry::reconcile_finished`] (liveness: a reconcile that never finishes).
    fn reconcile_started(&self, _kind: &'static str) -> u64 {
        0
    }
    /// The reconcile of `ticket` finished.
    fn reconcile_finished(&self, _ticket: u64) {}
    /// A reconcile of `kind` ended blocked in `category` (an invalid spec, a dangling
    /// reference, a child conflict: written to the object, not a reconcile error).
    fn failed(&self, _kind: &'static str, _category: ErrorCategory) {}
    /// A watch of the controller of `kind` failed with `reason` and is being restarted;
    /// `expected` when it is routine (410 Gone after a compaction: the watch relists).
    fn watch_failed(&self, _kind: &'static str, _reason: &str, _expected: bool) {}
    /// The cache of `kind` has completed a list (its first, or a relist after its watch
    /// failed): that watch is healthy again.
    fn watch_listed(&self, _kind: &'static str) {}
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
        errors::category(self)
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
    /// How many objects of one kind are reconciled at once (`--concurrency`; 0: no bound).
    pub concurrency: u16,
    /// How long a wakeup waits for more of its kind before the reconcile runs, so that a
    /// burst of changes (a rollout's pod events) is one reconcile (`--debounce`; zero: none).
    pub debounce: Duration,
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
    /// The client (for writes; reads go through [`Context::reader`]).
    pub client: Client,
    /// Every read of the resolve and observe steps.
    pub reader: Reader,
    /// Where reconcile outcomes are reported.
    pub telemetry: Arc<dyn Telemetry>,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// Options.
    pub options: Options,
    /// The error policy's memory of failing objects ([`errors`]).
    pub failures: errors::Memory,
}

impl Context {
    /// The API of a namespaced kind, in the watched namespace or all of them (for watches).
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

    /// Publishes an Event about `obj` (errors only logged: Events are best effort).
    pub async fn event<K: kube::Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: EventReason,
        action: EventAction,
        note: String,
    ) {
        let ev = kube::runtime::events::Event {
            type_,
            reason: reason.as_str().to_owned(),
            note: Some(note),
            action: action.as_str().to_owned(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, %reason, "could not publish event");
        }
    }
}

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
    // One set of the seven controllers per watched namespace (or one for every namespace), each
    // with its caches; ready once every cache of every set has listed.
    let sets = options.per_namespace();
    let shutdown = shutdown.boxed().shared();
    let gateway = options.routing.profile == crate::translate::routing::Profile::Gateway;
    let caches: Vec<Arc<Caches>> = sets
        .iter()
        .map(|_| Arc::new(Caches::new(gateway)))
        .collect();
    let stores = caches.iter().map(|c| c.count()).sum();
    let ready = Arc::new(ReadyCounter::new(stores, telemetry.clone()));
    let mut controllers = Vec::with_capacity(cache::CONTROLLERS * sets.len());
    for (options, caches) in sets.into_iter().zip(caches) {
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
        let recorder = Recorder::new(client.clone(), reporter);
        caches.start(
            &client,
            options.namespace.as_deref(),
            recorder.clone(),
            &ready,
        );
        let ctx = Arc::new(Context {
            recorder,
            reader: Reader::new(client.clone(), caches),
            client: client.clone(),
            telemetry: telemetry.clone(),
            options,
            failures: errors::Memory::default(),
        });
        let wiring = Wiring {
            ctx,
            shutdown: shutdown.clone(),
        };
        controllers.extend([
            task_definition::controller(wiring.clone()).boxed(),
            service::controller(wiring.clone()).boxed(),
            target_group::controller(wiring.clone()).boxed(),
            listener::controller(wiring.clone()).boxed(),
            task::controller(wiring.clone()).boxed(),
            scheduled::controller(wiring.clone()).boxed(),
            // Step and scheduled scaling: not a watch, so not counted by `ready`.
            scaling::run(wiring.clone()).boxed(),
            cluster::controller(wiring).boxed(),
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

/// A telemetry sink that ignores everything (for tools and tests that run the controllers
/// without the process around them).
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {
    fn reconciled(&self, _: &'static str, _: Duration, _: Option<ErrorCategory>) {}
    fn queue_depth(&self, _: &'static str, _: i64) {}
    fn ready(&self) {}
}
