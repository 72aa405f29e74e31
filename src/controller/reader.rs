//! Every read a reconcile makes, in one place: the reads of the resolve and observe steps and
//! of finding an owner's children. Each method names what it reads, not how: they answer from
//! the reflector stores of [`super::cache`], so a converged reconcile makes no request at
//! all.
//!
//! ## The stores lag this operator's own writes
//!
//! A store learns of a write only when the watch delivers it, a few milliseconds to a few
//! seconds later; a reconcile that started meanwhile would build on the copy from before the
//! write (status events lost, a stopped task started again, a child applied twice). So every
//! write is recorded as an **expectation** ([`Reader::wrote`], [`Reader::deleted`]): the
//! resourceVersion the API server answered the write with, or the UID of the deleted object.
//! A read of a kind in a namespace first waits until the store has caught up with every
//! expectation of that kind there that the read could see (resourceVersions compared as the
//! integers etcd makes them; a deleted object is caught up once it is gone or being deleted):
//! a read of one object waits only for that object, and a read by label only for objects
//! whose written or cached copy carries the label, so one owner's reads never wait for the
//! writes of every other owner in a busy namespace. The wait is bounded
//! ([`STALE_WAIT`]); a store still behind after it (a broken watch) is bypassed by reading
//! from the API server, as every read did before the caches. Expectations that were never met
//! expire after [`EXPECTATION_TTL`].
//!
//! Two reads stay requests: the name of a child that is not among its owner's cached
//! children is looked up with a GET before the first write ([`Reader::object`]: the caches
//! hold only objects labelled as somebody's child, and the name may be taken by an object
//! that is nobody's), and a kind without a store falls back to a LIST.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Node, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::apply::{LABEL_OWNER, Owner};
use super::cache::{Cache, Caches};
use super::{ReconcileError, api_err};
use crate::api::{
    EcsCluster, EcsScheduledTask, EcsService, EcsTask, Listener, TargetGroup, TaskDefinition,
};
use crate::translate::names;
use crate::translate::target_group::LABEL_TARGET_GROUP;

/// Label Kubernetes puts on a Service's EndpointSlices: the Service's name.
pub(crate) const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// How long a read waits for a store to catch up with this operator's own writes before it
/// reads from the API server instead.
pub const STALE_WAIT: Duration = Duration::from_secs(2);
/// How often a waiting read looks at the store again.
const STALE_POLL: Duration = Duration::from_millis(20);
/// How long an expectation the store never met is kept.
pub const EXPECTATION_TTL: Duration = Duration::from_secs(60);

/// The typed kinds the caches hold, each with its store.
pub trait Cached:
    Resource<DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The store of this kind, if the caches have one.
    fn cache(caches: &Caches) -> Option<&Cache<Self>>;
}

impl Cached for TaskDefinition {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.task_definitions)
    }
}
impl Cached for EcsService {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.services)
    }
}
impl Cached for TargetGroup {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.target_groups)
    }
}
impl Cached for Listener {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.listeners)
    }
}
impl Cached for EcsTask {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.tasks)
    }
}
impl Cached for EcsCluster {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.clusters)
    }
}
impl Cached for EcsScheduledTask {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.scheduled_tasks)
    }
}
impl Cached for CronJob {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.cron_jobs)
    }
}
impl Cached for ControllerRevision {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.revisions)
    }
}
impl Cached for Deployment {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.deployments)
    }
}
impl Cached for DaemonSet {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.daemon_sets)
    }
}
impl Cached for HorizontalPodAutoscaler {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.autoscalers)
    }
}
impl Cached for ServiceAccount {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.service_accounts)
    }
}
impl Cached for Service {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.k8s_services)
    }
}
impl Cached for Ingress {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        c.ingresses.as_ref()
    }
}
impl Cached for ReplicaSet {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.replica_sets)
    }
}
impl Cached for Pod {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.pods)
    }
}
impl Cached for EndpointSlice {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.endpoint_slices)
    }
}
impl Cached for Node {
    fn cache(c: &Caches) -> Option<&Cache<Self>> {
        Some(&c.nodes)
    }
}

/// What a store must show before a read of its kind may trust it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// The object at this resourceVersion or later.
    Version(u64),
    /// The object with this UID (any, when not known) gone or being deleted.
    Gone(Option<String>),
}

impl Expect {
    /// Whether `cached` (the store's copy, if any) meets the expectation.
    fn met_by(&self, cached: Option<&ObjectMeta>) -> bool {
        match self {
            Expect::Version(v) => cached
                .and_then(|m| m.resource_version.as_deref())
                .and_then(|rv| rv.parse::<u64>().ok())
                .is_some_and(|rv| rv >= *v),
            Expect::Gone(uid) => match cached {
                None => true,
                Some(m) => {
                    m.deletion_timestamp.is_some()
                        || uid.as_ref().is_some_and(|u| m.uid.as_ref() != Some(u))
                }
            },
        }
    }
}

/// `(kind, namespace, name)`.
type Key = (String, String, String);

/// One write the store has not shown yet.
struct Pending {
    expect: Expect,
    /// The labels the write left on the object (`None`: not known, as for a deletion).
    labels: Option<BTreeMap<String, String>>,
    at: Instant,
}

/// Which objects of a kind in a namespace a read sees.
#[derive(Clone, Copy, Debug)]
enum Scope<'a> {
    /// Every object.
    All,
    /// The object of this name.
    Named(&'a str),
    /// The objects with this label (`key`, or `key` = `value`).
    Labelled(&'a str, Option<&'a str>),
}

impl Scope<'_> {
    /// Whether `labels` carry the label of a [`Scope::Labelled`] read.
    fn labels_match(
        key: &str,
        value: Option<&str>,
        labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        labels
            .and_then(|l| l.get(key))
            .is_some_and(|v| value.is_none_or(|want| v == want))
    }
}

/// The writes the stores have not shown yet.
#[derive(Default)]
struct Expectations {
    pending: Mutex<HashMap<Key, Pending>>,
}

impl Expectations {
    fn expect(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        expect: Expect,
        labels: Option<BTreeMap<String, String>>,
    ) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(
                (kind.to_owned(), namespace.to_owned(), name.to_owned()),
                Pending {
                    expect,
                    labels,
                    at: Instant::now(),
                },
            );
        }
    }

    /// Drops the expectations of `kind` in `namespace` that `lookup` meets (or that expired);
    /// whether none is left that a read of `scope` could see: of the object it names, or of
    /// an object whose written or cached copy carries its label.
    fn settled(
        &self,
        kind: &str,
        namespace: &str,
        scope: Scope<'_>,
        lookup: impl Fn(&str) -> Option<ObjectMeta>,
    ) -> bool {
        let Ok(mut p) = self.pending.lock() else {
            return true;
        };
        let mut left = false;
        p.retain(|(k, ns, name), pending| {
            if pending.at.elapsed() > EXPECTATION_TTL {
                return false;
            }
            if k != kind || ns != namespace {
                return true;
            }
            let cached = match scope {
                Scope::Named(only) if only != name => return true,
                _ => lookup(name),
            };
            if pending.expect.met_by(cached.as_ref()) {
                return false;
            }
            // Not met: it holds this read unless neither what was written nor what the store
            // holds is in the read (it stays for the reads it concerns).
            left |= match scope {
                Scope::Labelled(key, value) => {
                    Scope::labels_match(key, value, pending.labels.as_ref())
                        || Scope::labels_match(
                            key,
                            value,
                            cached.as_ref().and_then(|m| m.labels.as_ref()),
                        )
                }
                Scope::All | Scope::Named(_) => true,
            };
            true
        });
        !left
    }
}

/// Reads objects for the controllers: from the caches, through the API server only when a
/// store cannot be trusted (see the module documentation).
#[derive(Clone)]
pub struct Reader {
    client: Client,
    caches: Arc<Caches>,
    expectations: Arc<Expectations>,
}

impl Reader {
    /// A reader answering from `caches`, falling back to `client`.
    pub(crate) fn new(client: Client, caches: Arc<Caches>) -> Self {
        Self {
            client,
            caches,
            expectations: Arc::default(),
        }
    }

    /// The caches this reader answers from.
    pub(crate) fn caches(&self) -> &Arc<Caches> {
        &self.caches
    }

    /// Records a write of `obj` (as the API server answered it): reads of its kind in its
    /// namespace wait until the store shows it.
    pub fn wrote<K: Resource<DynamicType = ()>>(&self, obj: &K) {
        self.wrote_meta(&K::kind(&()), obj.meta());
    }

    /// [`Reader::wrote`] for an object of a kind known at run time.
    pub fn wrote_meta(&self, kind: &str, meta: &ObjectMeta) {
        let Some(rv) = meta
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse::<u64>().ok())
        else {
            return;
        };
        self.expectations.expect(
            kind,
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
            Expect::Version(rv),
            Some(meta.labels.clone().unwrap_or_default()),
        );
    }

    /// Records the deletion of object `name` of `kind` in `namespace` (with `uid`, if known):
    /// reads of its kind there wait until the store no longer shows it alive.
    pub fn deleted(&self, kind: &str, namespace: &str, name: &str, uid: Option<String>) {
        self.expectations
            .expect(kind, namespace, name, Expect::Gone(uid), None);
    }

    /// Waits (at most [`STALE_WAIT`]) until `cache` has shown every write of this operator to
    /// `kind` in `namespace`; `false` when it has not, and the caller reads from the API
    /// server instead.
    async fn caught_up<K: Resource>(
        &self,
        kind: &str,
        namespace: &str,
        scope: Scope<'_>,
        get: impl Fn(&str) -> Option<Arc<K>>,
    ) -> bool {
        let start = Instant::now();
        loop {
            if self.expectations.settled(kind, namespace, scope, |name| {
                get(name).map(|o| o.meta().clone())
            }) {
                return true;
            }
            if start.elapsed() >= STALE_WAIT {
                tracing::debug!(
                    kind,
                    namespace,
                    "cache behind this operator's writes: reading from the API server"
                );
                return false;
            }
            tokio::time::sleep(STALE_POLL).await;
        }
    }

    /// The store of `K` in `namespace`, once it has listed and caught up with this operator's
    /// writes that a read of `scope` could see; `None` when it cannot be trusted (the caller
    /// reads from the API server).
    async fn store<K: Cached>(&self, namespace: &str, scope: Scope<'_>) -> Option<&Cache<K>> {
        let cache = K::cache(&self.caches)?;
        cache.listed().await;
        let ns = (!namespace.is_empty()).then_some(namespace);
        self.caught_up(&K::kind(&()), namespace, scope, |name| cache.get(ns, name))
            .await
            .then_some(cache)
    }

    /// The cached objects of `K` in `namespace` in `scope` (a label read answered from the
    /// store's index when it has one for the label), or `None` (read live).
    async fn cached<K: Cached>(&self, namespace: &str, scope: Scope<'_>) -> Option<Vec<K>> {
        let cache = self.store::<K>(namespace, scope).await?;
        let in_scope = |o: &K| match scope {
            Scope::All => true,
            Scope::Named(name) => o.meta().name.as_deref() == Some(name),
            Scope::Labelled(key, value) => {
                Scope::labels_match(key, value, o.meta().labels.as_ref())
            }
        };
        if let Scope::Labelled(key, Some(value)) = scope
            && let Some(found) = cache.lookup(key, namespace, value)
        {
            return Some(
                found
                    .into_iter()
                    .filter(|o| in_scope(o))
                    .map(|o| o.as_ref().clone())
                    .collect(),
            );
        }
        Some(
            cache
                .store()
                .state_filter(|o| {
                    o.meta().namespace.as_deref().unwrap_or_default() == namespace && in_scope(o)
                })
                .into_iter()
                .map(|o| o.as_ref().clone())
                .collect(),
        )
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn list<K>(
        &self,
        api: Api<K>,
        params: &ListParams,
        action: impl FnOnce() -> String,
    ) -> Result<Vec<K>, ReconcileError>
    where
        K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    {
        match api.list(params).await {
            Ok(list) => Ok(list.items),
            Err(e) => Err(api_err(action())(e)),
        }
    }

    /// The objects of `K` in `namespace` with `label` (`key` or `key=value`): from the store,
    /// else a LIST.
    async fn labelled<K>(
        &self,
        namespace: &str,
        label: &str,
        action: impl FnOnce() -> String,
    ) -> Result<Vec<K>, ReconcileError>
    where
        K: Cached + Resource<Scope = NamespaceResourceScope>,
    {
        let (key, value) = match label.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (label, None),
        };
        match self
            .cached::<K>(namespace, Scope::Labelled(key, value))
            .await
        {
            Some(objects) => Ok(objects),
            None => {
                self.list(
                    self.api(namespace),
                    &ListParams::default().labels(label),
                    action,
                )
                .await
            }
        }
    }

    /// Every object of `K` in `namespace`: from the store, else a LIST.
    async fn all<K>(
        &self,
        namespace: &str,
        action: impl FnOnce() -> String,
    ) -> Result<Vec<K>, ReconcileError>
    where
        K: Cached + Resource<Scope = NamespaceResourceScope>,
    {
        match self.cached::<K>(namespace, Scope::All).await {
            Some(objects) => Ok(objects),
            None => {
                self.list(self.api(namespace), &ListParams::default(), action)
                    .await
            }
        }
    }

    /// The object of `K` named `name` in `namespace`: from the store, else a GET.
    async fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>, ReconcileError>
    where
        K: Cached + Resource<Scope = NamespaceResourceScope>,
    {
        if let Some(cache) = self.store::<K>(namespace, Scope::Named(name)).await {
            return Ok(cache.get(Some(namespace), name).map(|o| o.as_ref().clone()));
        }
        self.api::<K>(namespace)
            .get_opt(name)
            .await
            .map_err(api_err(format!("get {} {namespace}/{name}", K::kind(&()))))
    }

    /// `obj` as it is now (including every write this operator made to it), or `None` once it
    /// is gone.
    ///
    /// The object a reconcile is handed may predate this controller's own last status write:
    /// a reconcile woken by a child (a pod it just deleted, say) may start before the watch
    /// has delivered that write. Status that builds on what came before (a service's event
    /// list, a task that has stopped and must never start again) is therefore computed from
    /// this copy: the store's, once it shows every write recorded with [`Reader::wrote`].
    pub async fn latest<K>(&self, obj: &K) -> Result<Option<K>, ReconcileError>
    where
        K: Cached + Resource<Scope = NamespaceResourceScope>,
    {
        let m = obj.meta();
        self.get(
            m.namespace.as_deref().unwrap_or_default(),
            m.name.as_deref().unwrap_or_default(),
        )
        .await
    }

    /// The children of `owner` of kind `ar` (those labelled with its UID).
    pub async fn children(
        &self,
        owner: &Owner,
        ar: &ApiResource,
    ) -> Result<Vec<DynamicObject>, ReconcileError> {
        let ns = owner.namespace.as_str();
        let label = owner.selector();
        let action = || format!("list {} of {} {}", ar.plural, owner.kind, owner.name);
        match ar.kind.as_str() {
            "Deployment" => self.dynamic::<Deployment>(ns, &label, action).await,
            "DaemonSet" => self.dynamic::<DaemonSet>(ns, &label, action).await,
            "HorizontalPodAutoscaler" => {
                self.dynamic::<HorizontalPodAutoscaler>(ns, &label, action)
                    .await
            }
            "ServiceAccount" => self.dynamic::<ServiceAccount>(ns, &label, action).await,
            "Service" => self.dynamic::<Service>(ns, &label, action).await,
            "Ingress" => self.dynamic::<Ingress>(ns, &label, action).await,
            "Pod" => self.dynamic::<Pod>(ns, &label, action).await,
            "CronJob" => self.dynamic::<CronJob>(ns, &label, action).await,
            _ => {
                if let Some(routes) = self
                    .caches
                    .http_routes
                    .as_ref()
                    .filter(|_| ar.kind == "HTTPRoute")
                    && routes.listed().then(|()| async { true }).await
                    && self
                        .caught_up(
                            &ar.kind,
                            ns,
                            Scope::Labelled(LABEL_OWNER, Some(&owner.uid)),
                            |name| routes.get(Some(ns), name),
                        )
                        .await
                {
                    let ours = |o: &DynamicObject| {
                        o.metadata.namespace.as_deref() == Some(ns)
                            && o.metadata.labels.as_ref().and_then(|l| l.get(LABEL_OWNER))
                                == Some(&owner.uid)
                    };
                    let found = match routes.lookup(LABEL_OWNER, ns, &owner.uid) {
                        Some(found) => found.into_iter().filter(|o| ours(o)).collect(),
                        None => routes.store().state_filter(ours),
                    };
                    return Ok(found.into_iter().map(|o| o.as_ref().clone()).collect());
                }
                let api = Api::namespaced_with(self.client.clone(), ns, ar);
                self.list(api, &ListParams::default().labels(&label), action)
                    .await
            }
        }
    }

    /// [`Reader::labelled`] as untyped objects, for the apply step.
    async fn dynamic<K>(
        &self,
        namespace: &str,
        label: &str,
        action: impl FnOnce() -> String,
    ) -> Result<Vec<DynamicObject>, ReconcileError>
    where
        K: Cached + Resource<Scope = NamespaceResourceScope>,
    {
        self.labelled::<K>(namespace, label, action)
            .await?
            .iter()
            .map(to_dynamic)
            .collect()
    }

    /// The object of kind `ar` named `name` in `namespace`, whoever it belongs to (to decide,
    /// before a first write, whether the name is free). The caches hold only labelled
    /// children, so a name they do not hold is looked up on the API server.
    pub async fn object(
        &self,
        namespace: &str,
        ar: &ApiResource,
        name: &str,
    ) -> Result<Option<DynamicObject>, ReconcileError> {
        let cached = match ar.kind.as_str() {
            "Deployment" => self.cached_one::<Deployment>(namespace, name),
            "DaemonSet" => self.cached_one::<DaemonSet>(namespace, name),
            "HorizontalPodAutoscaler" => {
                self.cached_one::<HorizontalPodAutoscaler>(namespace, name)
            }
            "ServiceAccount" => self.cached_one::<ServiceAccount>(namespace, name),
            "Service" => self.cached_one::<Service>(namespace, name),
            "Ingress" => self.cached_one::<Ingress>(namespace, name),
            "Pod" => self.cached_one::<Pod>(namespace, name),
            "CronJob" => self.cached_one::<CronJob>(namespace, name),
            _ => None,
        };
        if let Some(obj) = cached {
            return obj.map(Some);
        }
        Api::<DynamicObject>::namespaced_with(self.client.clone(), namespace, ar)
            .get_opt(name)
            .await
            .map_err(api_err(format!("get {} {namespace}/{name}", ar.kind)))
    }

    /// The cached `name` as an untyped object, if the store holds it (and may be trusted:
    /// listed, with no write of this operator to that kind pending there).
    fn cached_one<K: Cached>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<Result<DynamicObject, ReconcileError>> {
        let cache = K::cache(&self.caches)?;
        let kind = K::kind(&());
        let settled = self
            .expectations
            .settled(&kind, namespace, Scope::Named(name), |n| {
                cache.get(Some(namespace), n).map(|o| o.meta().clone())
            });
        if !settled {
            return None;
        }
        cache
            .get(Some(namespace), name)
            .map(|o| to_dynamic(o.as_ref()))
    }

    /// The Pods `owner` started (an EcsTask's).
    pub async fn pods_of(&self, owner: &Owner) -> Result<Vec<Pod>, ReconcileError> {
        self.labelled(&owner.namespace, &owner.selector(), || {
            format!(
                "list pods of {} {}/{}",
                owner.kind, owner.namespace, owner.name
            )
        })
        .await
    }

    /// The ControllerRevisions `owner` registered (a TaskDefinition's).
    pub async fn revisions_of(
        &self,
        owner: &Owner,
    ) -> Result<Vec<ControllerRevision>, ReconcileError> {
        self.labelled(&owner.namespace, &owner.selector(), || {
            format!(
                "list revisions of {} {}/{}",
                owner.kind, owner.namespace, owner.name
            )
        })
        .await
    }

    /// The ControllerRevisions of every TaskDefinition of `family` in `namespace` (the label
    /// holds the family as a DNS label; callers check the family itself).
    pub async fn family_revisions(
        &self,
        namespace: &str,
        family: &str,
    ) -> Result<Vec<ControllerRevision>, ReconcileError> {
        let selector = format!("{}={}", names::LABEL_FAMILY, names::dns_label(family));
        self.labelled(namespace, &selector, || {
            format!("list revisions of task definition family {family}")
        })
        .await
    }

    /// Every TargetGroup in `namespace`.
    pub async fn target_groups(&self, namespace: &str) -> Result<Vec<TargetGroup>, ReconcileError> {
        self.all(namespace, || "list TargetGroups".to_owned()).await
    }

    /// The Services of the target groups in `namespace`, as the TargetGroup controller
    /// applied them.
    pub async fn target_group_services(
        &self,
        namespace: &str,
    ) -> Result<Vec<Service>, ReconcileError> {
        self.labelled(namespace, LABEL_TARGET_GROUP, || {
            "list the Services of TargetGroups".to_owned()
        })
        .await
    }

    /// The EcsCluster `name` in `namespace`, if it exists.
    pub async fn cluster(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<EcsCluster>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// Every EcsService in `namespace`.
    pub async fn services(&self, namespace: &str) -> Result<Vec<EcsService>, ReconcileError> {
        self.all(namespace, || "list EcsServices".to_owned()).await
    }

    /// Every EcsService of every watched namespace, from the store (a LIST only without one),
    /// for the scaler's periodic look.
    pub async fn every_service(
        &self,
        api: Api<EcsService>,
    ) -> Result<Vec<EcsService>, ReconcileError> {
        match EcsService::cache(&self.caches) {
            Some(cache) => {
                cache.listed().await;
                Ok(cache
                    .store()
                    .state()
                    .into_iter()
                    .map(|o| o.as_ref().clone())
                    .collect())
            }
            None => {
                self.list(api, &ListParams::default(), || {
                    "list EcsServices for the scaler".to_owned()
                })
                .await
            }
        }
    }

    /// Every EcsTask in `namespace`.
    pub async fn tasks(&self, namespace: &str) -> Result<Vec<EcsTask>, ReconcileError> {
        self.all(namespace, || "list EcsTasks".to_owned()).await
    }

    /// Every Node.
    pub async fn nodes(&self) -> Result<Vec<Node>, ReconcileError> {
        let cache = &self.caches.nodes;
        cache.listed().await;
        Ok(cache
            .store()
            .state()
            .into_iter()
            .map(|n| n.as_ref().clone())
            .collect())
    }

    /// The Deployment `name` in `namespace`, if it exists.
    pub async fn deployment(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Deployment>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// The CronJob `name` in `namespace`, if it exists (an EcsScheduledTask's).
    pub async fn cron_job(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<CronJob>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// The DaemonSet `name` in `namespace`, if it exists.
    pub async fn daemon_set(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<DaemonSet>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// The ReplicaSets of EcsService `service` (by its label).
    pub async fn replica_sets_of_service(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<ReplicaSet>, ReconcileError> {
        let selector = format!("{}={service}", names::LABEL_SERVICE);
        self.labelled(namespace, &selector, || "list ReplicaSets".to_owned())
            .await
    }

    /// The Pods (tasks) of EcsService `service` (by its label).
    pub async fn pods_of_service(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<Pod>, ReconcileError> {
        let selector = format!("{}={service}", names::LABEL_SERVICE);
        self.labelled(namespace, &selector, || "list pods".to_owned())
            .await
    }

    /// The EndpointSlices of Service `service`.
    pub async fn endpoint_slices(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<EndpointSlice>, ReconcileError> {
        let selector = format!("{LABEL_SERVICE_NAME}={service}");
        self.labelled(namespace, &selector, || "list EndpointSlices".to_owned())
            .await
    }
}

/// A typed object as the untyped one the apply step compares with what it wants.
fn to_dynamic<K: Resource<DynamicType = ()> + Serialize>(
    obj: &K,
) -> Result<DynamicObject, ReconcileError> {
    let what = || {
        format!(
            "cached {} {}",
            K::kind(&()),
            obj.meta().name.as_deref().unwrap_or_default()
        )
    };
    let mut value = serde_json::to_value(obj).map_err(|source| ReconcileError::Serialize {
        what: what(),
        source,
    })?;
    // k8s-openapi writes apiVersion and kind; make sure of them for any kind.
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), K::api_version(&()).into_owned().into());
        map.insert("kind".into(), K::kind(&()).into_owned().into());
    }
    serde_json::from_value(value).map_err(|source| ReconcileError::Serialize {
        what: what(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn meta(rv: &str, uid: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some("web".into()),
            namespace: Some("shop".into()),
            resource_version: Some(rv.into()),
            uid: Some(uid.into()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn a_write_is_seen_once_the_store_holds_its_version_or_a_later_one() {
        let e = Expect::Version(120);
        assert!(!e.met_by(None));
        assert!(!e.met_by(Some(&meta("119", "u"))));
        assert!(e.met_by(Some(&meta("120", "u"))));
        assert!(e.met_by(Some(&meta("1000", "u"))));
        assert!(!e.met_by(Some(&meta("not-a-number", "u"))));
    }

    #[test]
    fn a_deletion_is_seen_once_the_object_is_gone_being_deleted_or_replaced() {
        let e = Expect::Gone(Some("u-1".into()));
        assert!(e.met_by(None));
        assert!(!e.met_by(Some(&meta("5", "u-1"))));
        assert!(e.met_by(Some(&meta("5", "u-2"))));
        let mut deleting = meta("6", "u-1");
        deleting.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert!(e.met_by(Some(&deleting)));
    }

    #[test]
    fn expectations_hold_a_kind_and_namespace_until_the_store_meets_them() {
        let x = Expectations::default();
        x.expect("EcsService", "shop", "web", Expect::Version(10), None);
        let older = |_: &str| Some(meta("9", "u"));
        let newer = |_: &str| Some(meta("10", "u"));
        assert!(!x.settled("EcsService", "shop", Scope::All, older));
        assert!(!x.settled("EcsService", "shop", Scope::Named("web"), older));
        assert!(
            x.settled("EcsService", "shop", Scope::Named("api"), older),
            "a read of another object is not held"
        );
        assert!(
            x.settled("EcsService", "other", Scope::All, older),
            "another namespace is not held"
        );
        assert!(
            x.settled("Deployment", "shop", Scope::All, older),
            "another kind is not held"
        );
        assert!(x.settled("EcsService", "shop", Scope::All, newer));
        assert!(
            x.settled("EcsService", "shop", Scope::All, older),
            "a met expectation is dropped"
        );
    }

    fn labelled(owner: &str) -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([(LABEL_OWNER.to_owned(), owner.to_owned())]))
    }

    #[test]
    fn a_label_read_waits_only_for_writes_that_carry_its_label() {
        let x = Expectations::default();
        x.expect(
            "Deployment",
            "shop",
            "web",
            Expect::Version(10),
            labelled("u-web"),
        );
        let absent = |_: &str| None;
        assert!(
            x.settled(
                "Deployment",
                "shop",
                Scope::Labelled(LABEL_OWNER, Some("u-api")),
                absent
            ),
            "another owner's children are read at once"
        );
        assert!(!x.settled(
            "Deployment",
            "shop",
            Scope::Labelled(LABEL_OWNER, Some("u-web")),
            absent
        ));
        assert!(
            !x.settled(
                "Deployment",
                "shop",
                Scope::Labelled(LABEL_OWNER, None),
                absent
            ),
            "a read of every labelled object is held"
        );
        assert!(
            !x.settled("Deployment", "shop", Scope::All, absent),
            "the expectation stayed for the reads it concerns"
        );
    }

    #[test]
    fn a_label_read_waits_for_a_write_that_takes_the_label_away() {
        let x = Expectations::default();
        x.expect(
            "Deployment",
            "shop",
            "web",
            Expect::Version(10),
            labelled("u-other"),
        );
        let mut stale = meta("9", "u");
        stale.labels = labelled("u-web");
        let cached = move |_: &str| Some(stale.clone());
        assert!(
            !x.settled(
                "Deployment",
                "shop",
                Scope::Labelled(LABEL_OWNER, Some("u-web")),
                cached
            ),
            "the store still shows the object with the label"
        );
    }

    #[test]
    fn a_label_read_waits_for_a_deletion_of_an_object_the_store_shows_with_the_label() {
        let x = Expectations::default();
        x.expect(
            "Pod",
            "shop",
            "web-1",
            Expect::Gone(Some("u-1".into())),
            None,
        );
        let mut pod = meta("9", "u-1");
        pod.labels = Some(BTreeMap::from([(
            names::LABEL_SERVICE.to_owned(),
            "web".to_owned(),
        )]));
        let cached = move |_: &str| Some(pod.clone());
        let read = Scope::Labelled(names::LABEL_SERVICE, Some("web"));
        assert!(!x.settled("Pod", "shop", read, &cached));
        assert!(x.settled("Pod", "shop", read, |_: &str| None));
    }
}
