//! The operator's caches: one reflector store per kind a reconcile reads, filled by one watch
//! per kind and shared by every controller of a namespace set. The watch of a kind both fills
//! its store (which [`super::reader::Reader`] answers from) and wakes the controllers that
//! subscribed to it ([`Cache::subscribe`]), so a kind is watched once however many controllers
//! own or watch it, and a converged reconcile reads only memory.
//!
//! What the stores keep is what the reconciles read, no more: `managedFields` and the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation are dropped from every object
//! ([`strip`]); Pods keep their metadata, their containers' names and their status
//! ([`trim_pod`]); Nodes keep their name, labels and `spec.unschedulable` ([`trim_node`]).
//!
//! The custom resources are watched as untyped objects and parsed one by one
//! ([`parse_events`]): an object that no longer parses as its kind (an unknown enum value, a
//! wrong type, after a schema change) is left out of its store, reported on that object only
//! (a Warning Event, [`Malformed`]), and every other object of the kind keeps reconciling.
//!
//! A reconcile finds an owner's children, a service's pods and ReplicaSets, a family's
//! revisions and the services of a task definition family, cluster or target group through
//! **indexes** ([`Keys`]) kept beside each store, not by scanning it: a read costs what it
//! returns, not the number of objects the operator watches (N services made every reconcile
//! O(N), so convergence O(N²)). The index of an event is updated before the store is, so
//! when a store shows an object its index does too.
//!
//! The watches start only once every controller of the set has subscribed (a subscriber
//! registered later would miss the first list), and each store reports ready to the
//! [`ReadyCounter`] after its first complete list.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, Pod, PodSpec, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::runtime::reflector::{self, Lookup, ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use super::apply::{self, LABEL_OWNER};
use super::reader::LABEL_SERVICE_NAME;
use super::resolve::LABEL_TASK_DEFINITION;
use super::vocabulary::{EventAction, EventReason};
use super::wiring::ReadyCounter;
use crate::api::{
    EcsCluster, EcsScheduledTask, EcsService, EcsTask, Listener, TargetGroup, TaskDefinition,
};
use crate::translate::names;

/// The annotation `kubectl apply` (client-side) keeps a copy of the whole object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How many changes of one kind may wait for a slow subscriber before the watch of that kind
/// waits too (backpressure rather than unbounded memory).
const SUBSCRIBER_BUFFER: usize = 1024;

/// Drops what no reconcile reads from every cached object: the managed fields and the
/// last-applied annotation (each as large as the object itself).
pub fn strip(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// A Pod as the caches keep it: its metadata, the names of its containers (which ones are
/// essential) and its status; the rest of its spec is the ReplicaSet's or the task's.
pub fn trim_pod(pod: &mut Pod) {
    strip(&mut pod.metadata);
    if let Some(spec) = pod.spec.take() {
        pod.spec = Some(PodSpec {
            containers: spec
                .containers
                .into_iter()
                .map(|c| Container {
                    name: c.name,
                    ..Container::default()
                })
                .collect(),
            node_name: spec.node_name,
            ..PodSpec::default()
        });
    }
}

/// A Node as the caches keep it: what decides whether it is a container instance of a cluster
/// (its labels and whether it is schedulable).
pub fn trim_node(node: &mut Node) {
    let meta = std::mem::take(&mut node.metadata);
    node.metadata = ObjectMeta {
        name: meta.name,
        uid: meta.uid,
        resource_version: meta.resource_version,
        labels: meta.labels,
        ..ObjectMeta::default()
    };
    node.spec = Some(NodeSpec {
        unschedulable: node.spec.as_ref().and_then(|s| s.unschedulable),
        ..NodeSpec::default()
    });
    node.status = None;
}

/// The index keys of one object: `(index, value)` pairs, e.g. `("ecsplane.io/owner-uid",
/// "<uid>")` for a child, or `(FAMILY, "web")` for an EcsService running family `web`.
pub type Keys<K> = Arc<dyn Fn(&K) -> Vec<(&'static str, String)> + Send + Sync>;

/// Index of an EcsService by the task definition family it names.
pub const BY_FAMILY: &str = "family";
/// Index of an EcsService by the EcsCluster it runs in.
pub const BY_CLUSTER: &str = "cluster";
/// Index of an EcsService by the target groups of its load balancers.
pub const BY_TARGET_GROUP: &str = "target-group";

/// Keys that are the values of the labels `labels` (those the object has).
fn by_labels<K: Resource>(labels: &'static [&'static str]) -> Keys<K> {
    Arc::new(move |o: &K| {
        let Some(have) = o.meta().labels.as_ref() else {
            return Vec::new();
        };
        labels
            .iter()
            .filter_map(|l| Some((*l, have.get(*l)?.clone())))
            .collect()
    })
}

/// The keys of an EcsService: its family, cluster and target groups.
fn service_keys() -> Keys<EcsService> {
    Arc::new(|s: &EcsService| {
        let mut keys = vec![
            (
                BY_FAMILY,
                names::task_definition_ref(&s.spec.task_definition)
                    .0
                    .to_owned(),
            ),
            (
                BY_CLUSTER,
                names::cluster_name(s.spec.cluster.as_deref()).to_owned(),
            ),
        ];
        for lb in s.spec.load_balancers.iter().flatten() {
            if let Some(arn) = lb.target_group_arn.as_deref() {
                keys.push((BY_TARGET_GROUP, names::target_group_of_arn(arn).to_owned()));
            }
        }
        keys
    })
}

/// `(index, namespace, value)`.
type IndexKey = (&'static str, String, String);

/// An object's namespace, name and index keys.
type Entry = (String, String, Vec<(&'static str, String)>);

/// The names of the objects under each key, and the keys of each object (to drop them when it
/// changes or goes).
#[derive(Default)]
struct IndexMap {
    names: HashMap<IndexKey, BTreeSet<String>>,
    keys: HashMap<(String, String), Vec<(&'static str, String)>>,
}

impl IndexMap {
    fn remove(&mut self, namespace: &str, name: &str) {
        let Some(old) = self.keys.remove(&(namespace.to_owned(), name.to_owned())) else {
            return;
        };
        for (index, value) in old {
            let key = (index, namespace.to_owned(), value);
            if let Some(set) = self.names.get_mut(&key) {
                set.remove(name);
                if set.is_empty() {
                    self.names.remove(&key);
                }
            }
        }
    }

    fn insert(&mut self, namespace: &str, name: &str, keys: Vec<(&'static str, String)>) {
        self.remove(namespace, name);
        if keys.is_empty() {
            return;
        }
        for (index, value) in &keys {
            self.names
                .entry((index, namespace.to_owned(), value.clone()))
                .or_default()
                .insert(name.to_owned());
        }
        self.keys
            .insert((namespace.to_owned(), name.to_owned()), keys);
    }
}

/// A store's index: the live map, and the one being filled while the watch relists (swapped
/// in when the relist completes, as the store's own buffer is).
struct Index<K> {
    keys: Keys<K>,
    /// The indexes `keys` produces.
    indexes: &'static [&'static str],
    live: RwLock<IndexMap>,
    relist: Mutex<Option<IndexMap>>,
}

impl<K: Resource> Index<K> {
    fn entry(&self, obj: &K) -> Option<Entry> {
        let meta = obj.meta();
        Some((
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone()?,
            (self.keys)(obj),
        ))
    }

    /// Updates the index for one watch event (before the store applies it).
    fn apply(&self, event: &watcher::Event<K>) {
        match event {
            watcher::Event::Init => {
                if let Ok(mut r) = self.relist.lock() {
                    *r = Some(IndexMap::default());
                }
            }
            watcher::Event::InitApply(o) => {
                if let (Ok(mut r), Some((ns, name, keys))) = (self.relist.lock(), self.entry(o))
                    && let Some(map) = r.as_mut()
                {
                    map.insert(&ns, &name, keys);
                }
            }
            watcher::Event::InitDone => {
                let fresh = self.relist.lock().ok().and_then(|mut r| r.take());
                if let (Some(fresh), Ok(mut live)) = (fresh, self.live.write()) {
                    *live = fresh;
                }
            }
            watcher::Event::Apply(o) => {
                if let (Ok(mut live), Some((ns, name, keys))) = (self.live.write(), self.entry(o)) {
                    live.insert(&ns, &name, keys);
                }
            }
            watcher::Event::Delete(o) => {
                let meta = o.meta();
                if let (Ok(mut live), Some(name)) = (self.live.write(), meta.name.as_deref()) {
                    live.remove(meta.namespace.as_deref().unwrap_or_default(), name);
                }
            }
        }
    }
}

impl<K> Index<K> {
    /// The names under `index` = `value` in `namespace`.
    fn names(&self, index: &str, namespace: &str, value: &str) -> Vec<String> {
        let Ok(live) = self.live.read() else {
            return Vec::new();
        };
        let Some(index) = self.indexes.iter().find(|i| **i == index) else {
            return Vec::new();
        };
        live.names
            .get(&(*index, namespace.to_owned(), value.to_owned()))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Senders to the controllers subscribed to one kind, and the writer of its store, until the
/// watch starts.
struct Pending<K: Lookup + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    writer: Writer<K>,
    subscribers: Vec<mpsc::Sender<K>>,
}

/// One kind's store and the controllers woken by its changes.
pub struct Cache<K: Lookup + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    dyntype: K::DynamicType,
    pending: Arc<Mutex<Option<Pending<K>>>>,
    /// Turns true once the first list is complete. (The store's own readiness wakes only
    /// one waiter, which is the controller of the kind.)
    listed: watch::Sender<bool>,
    /// The store's index, if the kind is read by index.
    index: Option<Arc<Index<K>>>,
}

impl<K> Cache<K>
where
    K: Lookup + Clone + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    fn new(dyntype: K::DynamicType) -> Self {
        let writer = Writer::new(dyntype.clone());
        Self {
            store: writer.as_reader(),
            dyntype,
            pending: Arc::new(Mutex::new(Some(Pending {
                writer,
                subscribers: Vec::new(),
            }))),
            listed: watch::Sender::new(false),
            index: None,
        }
    }

    /// An empty store indexed by `indexes`, whose values for an object `keys` gives.
    fn indexed(
        dyntype: <K as Lookup>::DynamicType,
        indexes: &'static [&'static str],
        keys: Keys<K>,
    ) -> Self
    where
        K: Resource,
    {
        Self {
            index: Some(Arc::new(Index {
                keys,
                indexes,
                live: RwLock::default(),
                relist: Mutex::default(),
            })),
            ..Self::new(dyntype)
        }
    }

    /// An empty store indexed by the values of `labels`.
    fn by_labels(dyntype: <K as Lookup>::DynamicType, labels: &'static [&'static str]) -> Self
    where
        K: Resource,
    {
        Self::indexed(dyntype, labels, by_labels(labels))
    }

    /// Whether the store is indexed by `index`.
    pub fn has_index(&self, index: &str) -> bool {
        self.index
            .as_ref()
            .is_some_and(|i| i.indexes.contains(&index))
    }

    /// The cached objects under `index` = `value` in `namespace` (`None` when the store has no
    /// such index). An object whose keys changed a moment ago may still be listed under its
    /// old ones: callers check what they need on the objects themselves.
    pub fn lookup(&self, index: &str, namespace: &str, value: &str) -> Option<Vec<Arc<K>>> {
        let idx = self.index.as_ref().filter(|_| self.has_index(index))?;
        let ns = (!namespace.is_empty()).then_some(namespace);
        Some(
            idx.names(index, namespace, value)
                .iter()
                .filter_map(|name| self.get(ns, name))
                .collect(),
        )
    }

    /// Waits until the first list of the kind is complete (at once afterwards).
    pub async fn listed(&self) {
        let mut rx = self.listed.subscribe();
        let _ = rx.wait_for(|listed| *listed).await;
    }

    /// The store (a read-only view; empty until the first list completes).
    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    /// The cached object `name` in `namespace`.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let key = ObjectRef::new_with(name, self.dyntype.clone());
        let key = match namespace {
            Some(ns) => key.within(ns),
            None => key,
        };
        self.store.get(&key)
    }

    /// Every change of this kind (applied, deleted, relisted), for a controller's trigger.
    /// Must be called before the watches start ([`Caches::subscribed`]); a later subscriber
    /// would miss the first list, so it gets nothing and the mistake shows in the logs.
    pub fn subscribe(&self) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        match self.pending.lock() {
            Ok(mut pending) => match pending.as_mut() {
                Some(p) => p.subscribers.push(tx),
                None => tracing::error!("a controller subscribed after the watches started"),
            },
            Err(_) => tracing::error!("cache lock poisoned"),
        }
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|obj| (Ok(obj), rx))
        })
    }

    /// Starts filling the store from `events` once `gate` opens: each event is applied to the
    /// store, then handed to every subscriber. Reports the first complete list to `ready`.
    fn start<S>(&self, kind: &'static str, events: S, gate: Gate, ready: Arc<ReadyCounter>)
    where
        K: Resource,
        S: Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    {
        let pending = self.pending.clone();
        let store = self.store.clone();
        let listed = self.listed.clone();
        let index = self.index.clone();
        // The index learns of an event before the store does.
        let events = events.inspect(move |event| {
            if let (Some(index), Ok(event)) = (&index, event) {
                index.apply(event);
            }
        });
        tokio::spawn(async move {
            gate.opened().await;
            // Every subscriber has registered by now; later ones are refused.
            let Some(Pending {
                writer,
                subscribers,
            }) = pending.lock().ok().and_then(|mut p| p.take())
            else {
                return;
            };
            let events = reflector::reflector(writer, events);
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::InitDone) => {
                        // A relist after a failed watch means it works again: /readyz need
                        // not wait out the failure window.
                        ready.watch_listed(kind);
                        if !listed.send_replace(true) {
                            tracing::debug!(kind, objects = store.len(), "cache listed");
                            ready.one_ready();
                        }
                    }
                    Ok(event) => {
                        if let Some(obj) = touched(event) {
                            for s in &subscribers {
                                // A subscriber gone (its controller stopped) only stops
                                // receiving.
                                let _ = s.send(obj.clone()).await;
                            }
                        }
                    }
                    Err(error) => ready.watch_failed(kind, &error),
                }
            }
        });
    }
}

/// The objects an event touches (changed, deleted, or listed again), for the triggers.
fn touched<K>(event: watcher::Event<K>) -> Option<K> {
    match event {
        watcher::Event::Apply(o) | watcher::Event::Delete(o) | watcher::Event::InitApply(o) => {
            Some(o)
        }
        watcher::Event::Init | watcher::Event::InitDone => None,
    }
}

/// Opens once every controller of a namespace set has subscribed to the kinds it needs.
#[derive(Clone)]
pub(crate) struct Gate {
    left: Arc<AtomicUsize>,
    open: watch::Sender<bool>,
}

impl Gate {
    fn new(controllers: usize) -> Self {
        Self {
            left: Arc::new(AtomicUsize::new(controllers)),
            open: watch::Sender::new(controllers == 0),
        }
    }

    /// One more controller has subscribed.
    fn arrive(&self) {
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.open.send_replace(true);
        }
    }

    async fn opened(&self) {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

/// An object of a custom resource kind that no longer parses as its kind: it is left out of
/// the store and reported on itself.
#[derive(Clone, Debug)]
pub struct Malformed {
    /// `Kind namespace/name`.
    pub object: String,
    /// Why it does not parse (serde's message, naming the field).
    pub error: String,
}

/// Parses a watch of untyped objects into events of `K`. An object that does not parse is
/// handed to `report` and leaves the store (a `Delete` of the copy the store had, if any),
/// so one malformed object never stops the watch of its kind.
pub fn parse_events<K, S>(
    events: S,
    store: Store<K>,
    report: impl Fn(&DynamicObject, String) + Send + 'static,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Send + Sync + 'static,
    S: Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Send,
{
    events.filter_map(move |event| {
        let out = match event {
            Err(e) => Some(Err(e)),
            Ok(event) => parse_event(event, &store, &report).map(Ok),
        };
        std::future::ready(out)
    })
}

fn parse_event<K>(
    event: watcher::Event<DynamicObject>,
    store: &Store<K>,
    report: &impl Fn(&DynamicObject, String),
) -> Option<watcher::Event<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + 'static,
{
    let cached = |o: &DynamicObject| {
        let name = o.metadata.name.as_deref()?;
        let key = ObjectRef::<K>::new(name);
        let key = match o.metadata.namespace.as_deref() {
            Some(ns) => key.within(ns),
            None => key,
        };
        store.get(&key).map(|k| k.as_ref().clone())
    };
    let parse = |o: DynamicObject| -> Result<K, Box<(DynamicObject, String)>> {
        match serde_json::to_value(&o).and_then(serde_json::from_value::<K>) {
            Ok(k) => Ok(k),
            Err(e) => Err(Box::new((o, e.to_string()))),
        }
    };
    match event {
        watcher::Event::Init => Some(watcher::Event::Init),
        watcher::Event::InitDone => Some(watcher::Event::InitDone),
        watcher::Event::InitApply(o) => match parse(o) {
            Ok(k) => Some(watcher::Event::InitApply(k)),
            Err(bad) => {
                let (o, e) = *bad;
                report(&o, e);
                None
            }
        },
        watcher::Event::Apply(o) => match parse(o) {
            Ok(k) => Some(watcher::Event::Apply(k)),
            Err(bad) => {
                let (o, e) = *bad;
                report(&o, e);
                cached(&o).map(watcher::Event::Delete)
            }
        },
        watcher::Event::Delete(o) => match cached(&o) {
            Some(k) => Some(watcher::Event::Delete(k)),
            None => parse(o).ok().map(watcher::Event::Delete),
        },
    }
}

/// Every store of one namespace set (or of every namespace).
pub struct Caches {
    /// TaskDefinitions.
    pub task_definitions: Cache<TaskDefinition>,
    /// EcsServices.
    pub services: Cache<EcsService>,
    /// TargetGroups.
    pub target_groups: Cache<TargetGroup>,
    /// Listeners.
    pub listeners: Cache<Listener>,
    /// EcsTasks.
    pub tasks: Cache<EcsTask>,
    /// EcsClusters.
    pub clusters: Cache<EcsCluster>,
    /// EcsScheduledTasks.
    pub scheduled_tasks: Cache<EcsScheduledTask>,
    /// TaskDefinition revisions (labelled with their TaskDefinition).
    pub revisions: Cache<ControllerRevision>,
    /// Deployments of EcsServices (labelled with their owner).
    pub deployments: Cache<Deployment>,
    /// DaemonSets of EcsServices.
    pub daemon_sets: Cache<DaemonSet>,
    /// HorizontalPodAutoscalers of EcsServices.
    pub autoscalers: Cache<HorizontalPodAutoscaler>,
    /// ServiceAccounts of EcsServices and EcsTasks.
    pub service_accounts: Cache<ServiceAccount>,
    /// Services of TargetGroups.
    pub k8s_services: Cache<Service>,
    /// Ingresses of Listeners (not with the gateway profile).
    pub ingresses: Option<Cache<Ingress>>,
    /// HTTPRoutes of Listeners (with the gateway profile only; the Listener controller keeps
    /// its own watch of them, as a trigger of a kind known at run time).
    pub http_routes: Option<Cache<DynamicObject>>,
    /// ReplicaSets of EcsServices' Deployments (labelled with the service).
    pub replica_sets: Cache<ReplicaSet>,
    /// Pods the operator's workloads and tasks run (labelled managed-by ecsplane), trimmed.
    pub pods: Cache<Pod>,
    /// EndpointSlices of TargetGroups' Services.
    pub endpoint_slices: Cache<EndpointSlice>,
    /// CronJobs of EcsScheduledTasks.
    pub cron_jobs: Cache<CronJob>,
    /// Nodes, trimmed.
    pub nodes: Cache<Node>,
    gate: Gate,
}

/// The seven controllers of a namespace set, which the gate waits for.
pub(crate) const CONTROLLERS: usize = 7;

impl Caches {
    /// Empty stores; `gateway` says whether Listeners make HTTPRoutes (else Ingresses).
    pub(crate) fn new(gateway: bool) -> Self {
        Self {
            task_definitions: Cache::new(()),
            services: Cache::indexed(
                (),
                &[BY_FAMILY, BY_CLUSTER, BY_TARGET_GROUP],
                service_keys(),
            ),
            target_groups: Cache::new(()),
            listeners: Cache::new(()),
            tasks: Cache::new(()),
            clusters: Cache::new(()),
            scheduled_tasks: Cache::new(()),
            revisions: Cache::by_labels((), &[LABEL_OWNER, names::LABEL_FAMILY]),
            deployments: Cache::by_labels((), &[LABEL_OWNER]),
            daemon_sets: Cache::by_labels((), &[LABEL_OWNER]),
            autoscalers: Cache::by_labels((), &[LABEL_OWNER]),
            service_accounts: Cache::by_labels((), &[LABEL_OWNER]),
            k8s_services: Cache::by_labels((), &[LABEL_OWNER]),
            ingresses: (!gateway).then(|| Cache::by_labels((), &[LABEL_OWNER])),
            http_routes: gateway.then(|| Cache::by_labels(apply::http_route(), &[LABEL_OWNER])),
            replica_sets: Cache::by_labels((), &[names::LABEL_SERVICE]),
            pods: Cache::by_labels((), &[LABEL_OWNER, names::LABEL_SERVICE]),
            endpoint_slices: Cache::by_labels((), &[LABEL_SERVICE_NAME]),
            cron_jobs: Cache::by_labels((), &[LABEL_OWNER]),
            nodes: Cache::new(()),
            gate: Gate::new(CONTROLLERS),
        }
    }

    /// How many stores report ready (one each).
    pub(crate) fn count(&self) -> usize {
        18 + usize::from(self.ingresses.is_some()) + usize::from(self.http_routes.is_some())
    }

    /// A controller of this set has subscribed to every kind it needs; the watches start once
    /// all have.
    pub(crate) fn subscribed(&self) {
        self.gate.arrive();
    }

    /// Starts every watch of the set: in `namespace` (or every namespace), reporting
    /// malformed custom resources with `recorder`.
    pub(crate) fn start(
        &self,
        client: &Client,
        namespace: Option<&str>,
        recorder: Recorder,
        ready: &Arc<ReadyCounter>,
    ) {
        let typed = |cfg: watcher::Config| cfg.any_semantic();
        let owned = || typed(watcher::Config::default().labels(LABEL_OWNER));
        let reporter = MalformedReporter::spawn(recorder);
        macro_rules! custom {
            ($field:ident, $kind:ty) => {{
                let ar = apply::resource::<$kind>();
                let api = api_with(client, namespace, &ar);
                let events = watcher(api, typed(watcher::Config::default())).default_backoff();
                let report = reporter.clone();
                let events =
                    parse_events::<$kind, _>(events, self.$field.store.clone(), move |o, e| {
                        report.report(&ar, o, e)
                    })
                    .modify(strip_object::<$kind>);
                self.$field
                    .start(stringify!($kind), events, self.gate.clone(), ready.clone());
            }};
        }
        custom!(task_definitions, TaskDefinition);
        custom!(services, EcsService);
        custom!(target_groups, TargetGroup);
        custom!(listeners, Listener);
        custom!(tasks, EcsTask);
        custom!(clusters, EcsCluster);
        custom!(scheduled_tasks, EcsScheduledTask);
        macro_rules! native {
            ($cache:expr, $kind:ty, $cfg:expr, $trim:expr) => {{
                let events = watcher(api::<$kind>(client, namespace), $cfg)
                    .default_backoff()
                    .modify($trim);
                $cache.start(stringify!($kind), events, self.gate.clone(), ready.clone());
            }};
        }
        native!(
            self.revisions,
            ControllerRevision,
            typed(watcher::Config::default().labels(LABEL_TASK_DEFINITION)),
            strip_object::<ControllerRevision>
        );
        native!(
            self.deployments,
            Deployment,
            owned(),
            strip_object::<Deployment>
        );
        native!(
            self.daemon_sets,
            DaemonSet,
            owned(),
            strip_object::<DaemonSet>
        );
        native!(
            self.autoscalers,
            HorizontalPodAutoscaler,
            owned(),
            strip_object::<HorizontalPodAutoscaler>
        );
        native!(
            self.service_accounts,
            ServiceAccount,
            owned(),
            strip_object::<ServiceAccount>
        );
        native!(self.k8s_services, Service, owned(), strip_object::<Service>);
        if let Some(ingresses) = &self.ingresses {
            native!(ingresses, Ingress, owned(), strip_object::<Ingress>);
        }
        if let Some(routes) = &self.http_routes {
            let ar = apply::http_route();
            let events = watcher(api_with(client, namespace, &ar), owned())
                .default_backoff()
                .modify(|o: &mut DynamicObject| strip(&mut o.metadata));
            routes.start("HTTPRoute", events, self.gate.clone(), ready.clone());
        }
        native!(
            self.replica_sets,
            ReplicaSet,
            typed(watcher::Config::default().labels(names::LABEL_SERVICE)),
            strip_object::<ReplicaSet>
        );
        native!(
            self.pods,
            Pod,
            typed(watcher::Config::default().labels(&format!(
                "{}={}",
                names::LABEL_MANAGED_BY,
                names::MANAGED_BY
            ))),
            trim_pod
        );
        native!(
            self.endpoint_slices,
            EndpointSlice,
            typed(watcher::Config::default().labels(names::LABEL_MANAGED_BY)),
            strip_object::<EndpointSlice>
        );
        native!(self.cron_jobs, CronJob, owned(), strip_object::<CronJob>);
        let events = watcher(
            Api::<Node>::all(client.clone()),
            typed(watcher::Config::default()),
        )
        .default_backoff()
        .modify(trim_node);
        self.nodes
            .start("Node", events, self.gate.clone(), ready.clone());
    }
}

/// [`strip`] of any typed object.
fn strip_object<K: Resource>(obj: &mut K) {
    strip(obj.meta_mut());
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn api_with(client: &Client, namespace: Option<&str>, ar: &ApiResource) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

/// Publishes one Warning Event per malformed object version, off the watch's path.
#[derive(Clone)]
struct MalformedReporter {
    tx: mpsc::UnboundedSender<(ApiResource, DynamicObject, String)>,
}

impl MalformedReporter {
    fn spawn(recorder: Recorder) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(ApiResource, DynamicObject, String)>();
        tokio::spawn(async move {
            let mut seen: HashSet<(String, String)> = HashSet::new();
            while let Some((ar, obj, error)) = rx.recv().await {
                let key = (
                    obj.metadata.uid.clone().unwrap_or_default(),
                    obj.metadata.resource_version.clone().unwrap_or_default(),
                );
                if !seen.insert(key) {
                    continue;
                }
                let malformed = Malformed {
                    object: format!(
                        "{} {}/{}",
                        ar.kind,
                        obj.metadata.namespace.as_deref().unwrap_or_default(),
                        obj.metadata.name.as_deref().unwrap_or_default()
                    ),
                    error,
                };
                tracing::warn!(object = %malformed.object, error = %malformed.error, "malformed object: not reconciled until it parses again");
                let event = KubeEvent {
                    type_: EventType::Warning,
                    reason: EventReason::Malformed.as_str().to_owned(),
                    note: Some(malformed_note(&malformed.error)),
                    action: EventAction::Reconcile.as_str().to_owned(),
                    secondary: None,
                };
                if let Err(e) = recorder.publish(&event, &obj.object_ref(&ar)).await {
                    tracing::warn!(error = %e, "could not publish the malformed-object event");
                }
            }
        });
        Self { tx }
    }

    fn report(&self, ar: &ApiResource, obj: &DynamicObject, error: String) {
        let _ = self.tx.send((ar.clone(), obj.clone(), error));
    }
}

/// The note of a malformed object's Warning Event (Events notes are at most 1 KiB).
pub fn malformed_note(error: &str) -> String {
    let mut note = format!("the object does not parse as its kind and is not reconciled: {error}");
    if note.len() > 1000 {
        let mut end = 1000;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex as StdMutex;

    use serde_json::json;

    fn service(name: &str, scheduling: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "EcsService",
            "metadata": {"name": name, "namespace": "shop", "uid": format!("u-{name}"), "resourceVersion": "7"},
            "spec": {"taskDefinition": "web", "desiredCount": 2, "schedulingStrategy": scheduling},
        }))
        .expect("a dynamic object")
    }

    /// Parses the events through a store, as the watch of a custom resource does.
    fn run(
        events: Vec<watcher::Event<DynamicObject>>,
    ) -> (
        Vec<watcher::Event<EcsService>>,
        Vec<String>,
        Store<EcsService>,
    ) {
        let mut writer: Writer<EcsService> = Writer::new(());
        let store = writer.as_reader();
        let reported = StdMutex::new(Vec::new());
        let mut out = Vec::new();
        for event in events {
            let parsed = parse_event(event, &store, &|o: &DynamicObject, e: String| {
                if let Ok(mut r) = reported.lock() {
                    r.push(format!(
                        "{}: {e}",
                        o.metadata.name.as_deref().unwrap_or_default()
                    ));
                }
            });
            if let Some(p) = parsed {
                writer.apply_watcher_event(&p);
                out.push(p);
            }
        }
        let reported = reported.into_inner().unwrap_or_default();
        (out, reported, store)
    }

    #[test]
    fn a_malformed_custom_resource_is_reported_and_the_others_still_list() {
        let (_, reported, store) = run(vec![
            watcher::Event::Init,
            watcher::Event::InitApply(service("good", "REPLICA")),
            watcher::Event::InitApply(service("bad", "SOMETIMES")),
            watcher::Event::InitDone,
        ]);
        assert_eq!(store.len(), 1);
        assert!(store.get(&ObjectRef::new("good").within("shop")).is_some());
        assert_eq!(reported.len(), 1);
        assert!(reported[0].starts_with("bad: "), "{reported:?}");
        assert!(
            reported[0].contains("SOMETIMES"),
            "serde names the value: {reported:?}"
        );
    }

    #[test]
    fn an_object_that_stops_parsing_leaves_the_store_and_comes_back_when_fixed() {
        let (out, reported, store) = run(vec![
            watcher::Event::Init,
            watcher::Event::InitApply(service("web", "REPLICA")),
            watcher::Event::InitDone,
            watcher::Event::Apply(service("web", "SOMETIMES")),
        ]);
        assert!(matches!(out.last(), Some(watcher::Event::Delete(_))));
        assert_eq!(store.len(), 0);
        assert_eq!(reported.len(), 1);
        let (_, reported, store) = run(vec![
            watcher::Event::Init,
            watcher::Event::InitDone,
            watcher::Event::Apply(service("web", "SOMETIMES")),
            watcher::Event::Apply(service("web", "DAEMON")),
        ]);
        assert_eq!(store.len(), 1);
        assert_eq!(
            reported.len(),
            1,
            "a malformed object never in the store is only reported"
        );
    }

    #[test]
    fn caches_keep_neither_managed_fields_nor_the_last_applied_copy() {
        let mut meta = ObjectMeta {
            managed_fields: Some(vec![Default::default()]),
            annotations: Some(BTreeMap::from([(LAST_APPLIED.to_owned(), "{}".to_owned())])),
            ..ObjectMeta::default()
        };
        strip(&mut meta);
        assert_eq!(meta, ObjectMeta::default());
        let mut meta = ObjectMeta {
            annotations: Some(BTreeMap::from([
                (LAST_APPLIED.to_owned(), "{}".to_owned()),
                ("keep".to_owned(), "me".to_owned()),
            ])),
            ..ObjectMeta::default()
        };
        strip(&mut meta);
        assert_eq!(
            meta.annotations,
            Some(BTreeMap::from([("keep".to_owned(), "me".to_owned())]))
        );
    }

    #[test]
    fn a_cached_pod_keeps_its_container_names_and_status_only() {
        let mut pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "labels": {"ecsplane.io/service": "web"}, "managedFields": [{}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx", "env": [{"name": "A", "value": "1"}]}],
                     "volumes": [{"name": "v", "emptyDir": {}}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "restartCount": 1, "image": "nginx", "imageID": ""}]},
        }))
        .expect("a pod");
        let status = pod.status.clone();
        trim_pod(&mut pod);
        let spec = pod.spec.clone().unwrap_or_default();
        assert_eq!(
            spec.containers,
            vec![Container {
                name: "app".into(),
                ..Container::default()
            }]
        );
        assert_eq!(spec.volumes, None);
        assert_eq!(spec.node_name.as_deref(), Some("n1"));
        assert_eq!(pod.status, status);
        assert_eq!(pod.metadata.managed_fields, None);
        assert_eq!(pod.metadata.labels.map(|l| l.len()), Some(1));
    }

    #[test]
    fn a_cached_node_keeps_what_decides_container_instances() {
        let mut node: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "uid": "u", "resourceVersion": "3", "labels": {"zone": "a"}, "annotations": {"x": "y"}},
            "spec": {"unschedulable": true, "podCIDR": "10.0.0.0/24"},
            "status": {"capacity": {"cpu": "8"}},
        }))
        .expect("a node");
        trim_node(&mut node);
        assert_eq!(
            serde_json::to_value(&node).expect("serializes"),
            json!({"apiVersion": "v1", "kind": "Node",
                   "metadata": {"name": "n1", "uid": "u", "resourceVersion": "3", "labels": {"zone": "a"}},
                   "spec": {"unschedulable": true}})
        );
    }

    fn child(name: &str, owner: &str) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                labels: Some(BTreeMap::from([(LABEL_OWNER.to_owned(), owner.to_owned())])),
                ..ObjectMeta::default()
            },
            ..Deployment::default()
        }
    }

    /// Applies `events` to the cache's index and its store, in the order the watch does.
    fn feed(cache: &Cache<Deployment>, events: Vec<watcher::Event<Deployment>>) {
        let mut pending = cache.pending.lock().expect("lock");
        let writer = &mut pending.as_mut().expect("not started").writer;
        for event in events {
            if let Some(index) = &cache.index {
                index.apply(&event);
            }
            writer.apply_watcher_event(&event);
        }
    }

    fn names_of(found: Option<Vec<Arc<Deployment>>>) -> Vec<String> {
        let mut names: Vec<String> = found
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d.metadata.name.clone())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_owners_children_are_found_by_index_through_changes_deletions_and_relists() {
        let cache: Cache<Deployment> = Cache::by_labels((), &[LABEL_OWNER]);
        feed(
            &cache,
            vec![
                watcher::Event::Init,
                watcher::Event::InitApply(child("web", "u-web")),
                watcher::Event::InitApply(child("web-spot", "u-web")),
                watcher::Event::InitApply(child("api", "u-api")),
                watcher::Event::InitDone,
            ],
        );
        assert_eq!(
            names_of(cache.lookup(LABEL_OWNER, "shop", "u-web")),
            ["web", "web-spot"]
        );
        assert_eq!(
            names_of(cache.lookup(LABEL_OWNER, "other", "u-web")),
            Vec::<String>::new()
        );
        feed(
            &cache,
            vec![
                watcher::Event::Apply(child("web-spot", "u-api")),
                watcher::Event::Delete(child("api", "u-api")),
            ],
        );
        assert_eq!(
            names_of(cache.lookup(LABEL_OWNER, "shop", "u-web")),
            ["web"]
        );
        assert_eq!(
            names_of(cache.lookup(LABEL_OWNER, "shop", "u-api")),
            ["web-spot"]
        );
        // A relist replaces the index as a whole once it completes.
        feed(
            &cache,
            vec![
                watcher::Event::Init,
                watcher::Event::InitApply(child("db", "u-db")),
            ],
        );
        assert_eq!(
            names_of(cache.lookup(LABEL_OWNER, "shop", "u-web")),
            ["web"]
        );
        feed(&cache, vec![watcher::Event::InitDone]);
        assert_eq!(
            names_of(cache.lookup(LABEL_OWNER, "shop", "u-web")),
            Vec::<String>::new()
        );
        assert_eq!(names_of(cache.lookup(LABEL_OWNER, "shop", "u-db")), ["db"]);
        assert!(
            cache.lookup(names::LABEL_SERVICE, "shop", "web").is_none(),
            "a label the store is not indexed by is not answered"
        );
    }

    #[test]
    fn services_are_indexed_by_family_cluster_and_target_group() {
        let svc: EcsService = serde_json::from_value(json!({
            "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"taskDefinition": "web-family:3", "cluster": "prod",
                     "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/0123456789abcdef", "containerName": "app", "containerPort": 80}]},
        }))
        .expect("a service");
        let keys = service_keys()(&svc);
        assert!(
            keys.contains(&(BY_FAMILY, "web-family".to_owned())),
            "{keys:?}"
        );
        assert!(keys.contains(&(BY_CLUSTER, "prod".to_owned())), "{keys:?}");
        assert!(
            keys.contains(&(BY_TARGET_GROUP, "web-tg".to_owned())),
            "{keys:?}"
        );
    }

    #[test]
    fn a_malformed_objects_event_note_fits_an_event() {
        let note = malformed_note(&"é".repeat(2000));
        assert!(note.len() <= 1000);
        assert!(note.starts_with("the object does not parse as its kind"));
    }
}
