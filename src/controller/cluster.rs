//! EcsCluster: owns nothing; reports, like `aws ecs describe-clusters`, its active services,
//! running and pending tasks and registered container instances (the nodes its capacity
//! provider mappings select).
//!
//! The reconcile is the pipeline `observe` (its services, tasks and nodes) →
//! `cluster_status`: a cluster translates to nothing and applies nothing. Nodes do not wake a
//! cluster one event at a time: their changes are coalesced into at most one wakeup of every
//! cluster per [`NODE_INTERVAL`], and only when what decides the count changed.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::reflector::Store;

use super::conditions::{self, Desired};
use super::vocabulary::{ACTIVE, ConditionType, Reason, TaskStatus};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, status};
use crate::api::{CommonStatus, EcsCluster, EcsClusterStatus, EcsService, EcsTask};
use crate::translate::names;

/// Runs the EcsCluster controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctx = &wiring.ctx;
    let ctrl = wiring.controller::<EcsCluster>();
    let nodes = ctx.reader.caches().nodes.store().clone();
    let ctrl = ctrl
        .watches_stream(wiring.changes::<EcsService>(), |s| {
            Some(
                ObjectRef::new(names::cluster_name(s.spec.cluster.as_deref()))
                    .within(s.metadata.namespace.as_deref()?),
            )
        })
        .watches_stream(wiring.changes::<EcsTask>(), |t| {
            Some(
                ObjectRef::new(names::cluster_name(t.spec.cluster.as_deref()))
                    .within(t.metadata.namespace.as_deref()?),
            )
        })
        .reconcile_all_on(node_changes(nodes, NODE_INTERVAL));
    wiring.run(ctrl, reconcile).await;
}

/// How often the Nodes are looked at for a change that matters to a cluster's count of
/// container instances: all of a period's Node changes are one status update of each cluster.
pub const NODE_INTERVAL: Duration = Duration::from_secs(10);

/// Once per `interval`, one wakeup of every cluster if the container-instance view of the
/// Nodes (their names, labels and whether they are schedulable) changed since the last look.
/// Node heartbeats change none of that, so a steady fleet wakes nothing.
fn node_changes(
    nodes: Store<Node>,
    interval: Duration,
) -> impl futures::Stream<Item = ()> + Send + 'static {
    let ticks = tokio::time::interval(interval);
    futures::stream::unfold((ticks, None::<u64>), move |(mut ticks, mut last)| {
        let nodes = nodes.clone();
        async move {
            loop {
                ticks.tick().await;
                let now = Some(fleet_fingerprint(&nodes.state()));
                let changed = last.is_some() && now != last;
                last = now;
                if changed {
                    return Some(((), (ticks, last)));
                }
            }
        }
    })
}

/// A hash of what of the Nodes decides container-instance counts (order-independent).
pub fn fleet_fingerprint(nodes: &[Arc<Node>]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut seen: Vec<u64> = nodes
        .iter()
        .map(|n| {
            let mut h = fnv::FnvHasher::default();
            n.metadata.name.hash(&mut h);
            n.metadata.labels.hash(&mut h);
            n.spec.as_ref().and_then(|s| s.unschedulable).hash(&mut h);
            h.finish()
        })
        .collect();
    seen.sort_unstable();
    let mut h = fnv::FnvHasher::default();
    seen.hash(&mut h);
    h.finish()
}

async fn reconcile(c: Arc<EcsCluster>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let observed = observe(&ctx, &c).await?;
    let previous = c.status.clone().unwrap_or_default();
    let status = cluster_status(&c, &previous, &observed);
    status::write(&ctx, c.as_ref(), &previous, &status).await?;
    Ok(Action::requeue(RESYNC))
}

/// What runs in the cluster's namespace, and the nodes.
struct Observed {
    services: Vec<EcsService>,
    tasks: Vec<EcsTask>,
    nodes: Vec<Node>,
}

async fn observe(ctx: &Context, c: &EcsCluster) -> Result<Observed, ReconcileError> {
    let ns = c.metadata.namespace.as_deref().unwrap_or_default();
    Ok(Observed {
        services: ctx.reader.services(ns).await?,
        tasks: ctx.reader.tasks(ns).await?,
        nodes: ctx.reader.nodes().await?,
    })
}

/// The counts of the services and tasks in the cluster and of its container instances.
fn cluster_status(
    c: &EcsCluster,
    previous: &EcsClusterStatus,
    observed: &Observed,
) -> EcsClusterStatus {
    let name = c.metadata.name.as_deref().unwrap_or_default();
    let in_cluster = |cluster: Option<&str>| names::cluster_name(cluster) == name;
    let mut active = 0;
    let mut running = 0;
    let mut pending = 0;
    for s in observed
        .services
        .iter()
        .filter(|s| in_cluster(s.spec.cluster.as_deref()))
    {
        active += 1;
        let st = s.status.clone().unwrap_or_default();
        running += st.running_count.unwrap_or(0);
        pending += st.pending_count.unwrap_or(0);
    }
    for t in observed
        .tasks
        .iter()
        .filter(|t| in_cluster(t.spec.cluster.as_deref()))
    {
        for i in t.status.iter().flat_map(|s| &s.tasks) {
            if i.last_status == TaskStatus::Running {
                running += 1;
            } else if i.last_status == TaskStatus::Pending
                || i.last_status == TaskStatus::Provisioning
            {
                pending += 1;
            }
        }
    }
    let registered = observed
        .nodes
        .iter()
        .filter(|n| registered_node(c, n))
        .count() as i32;
    EcsClusterStatus {
        status: Some(ACTIVE.into()),
        active_services_count: Some(active),
        running_tasks_count: Some(running),
        pending_tasks_count: Some(pending),
        registered_container_instances_count: Some(registered),
        common: CommonStatus {
            observed_generation: c.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![if registered > 0 {
                    Desired::new(
                        ConditionType::Ready,
                        true,
                        Reason::CapacityAvailable,
                        format!("{registered} node(s) match the cluster's capacity providers"),
                    )
                } else {
                    Desired::new(
                        ConditionType::Ready,
                        false,
                        Reason::NoCapacity,
                        "no schedulable node matches the cluster's capacity provider mappings",
                    )
                }],
                c.metadata.generation,
                &conditions::now(),
            ),
        },
    }
}

/// Whether `node` is a container instance of `cluster`: schedulable and selected by one of the
/// capacity provider mappings (any schedulable node when there is no mapping).
pub fn registered_node(cluster: &EcsCluster, node: &Node) -> bool {
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        return false;
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    match cluster.spec.capacity_provider_mappings.as_deref() {
        None | Some([]) => true,
        Some(mappings) => mappings.iter().any(|m| {
            m.node_selector
                .iter()
                .flatten()
                .all(|(k, v)| labels.get(k) == Some(v))
        }),
    }
}
