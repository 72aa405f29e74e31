//! EcsCluster: owns nothing; reports, like `aws ecs describe-clusters`, its active services,
//! running and pending tasks and registered container instances (the nodes its capacity
//! provider mappings select).

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::json;

use super::conditions::{self, Desired};
use super::{
    Context, FIELD_MANAGER, RESYNC, ReadyCounter, ReconcileError, api_err, drive, error_policy,
    timed,
};
use crate::api::{CommonStatus, EcsCluster, EcsClusterStatus, EcsService, EcsTask};
use crate::translate::names;

const KIND: &str = "EcsCluster";

/// Runs the EcsCluster controller until `shutdown`.
pub(crate) async fn controller(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ready: Arc<ReadyCounter>,
) {
    let client = ctx.client.clone();
    let ctrl = Controller::new(ctx.api::<EcsCluster>(), watcher::Config::default());
    let store = ctrl.store();
    let all = store.clone();
    let ctrl = ctrl
        .watches(ctx.api::<EcsService>(), watcher::Config::default(), |s| {
            Some(
                ObjectRef::new(names::cluster_name(s.spec.cluster.as_deref()))
                    .within(s.metadata.namespace.as_deref()?),
            )
        })
        .watches(ctx.api::<EcsTask>(), watcher::Config::default(), |t| {
            Some(
                ObjectRef::new(names::cluster_name(t.spec.cluster.as_deref()))
                    .within(t.metadata.namespace.as_deref()?),
            )
        })
        .watches(
            Api::<Node>::all(client),
            watcher::Config::default(),
            move |_node: Node| {
                all.state()
                    .into_iter()
                    .map(|c| ObjectRef::from_obj(c.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(shutdown);
    tokio::spawn(ready.when_listed(KIND, ctx.api::<EcsCluster>()));
    drive(KIND, ctrl.run(reconcile, error_policy, ctx)).await;
}

async fn reconcile(c: Arc<EcsCluster>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    timed(&ctx, KIND, reconcile_cluster(&c, &ctx)).await
}

async fn reconcile_cluster(c: &EcsCluster, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = c.metadata.namespace.clone().unwrap_or_default();
    let name = c.metadata.name.clone().unwrap_or_default();
    let services = Api::<EcsService>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .map_err(api_err("list EcsServices"))?
        .items;
    let tasks = Api::<EcsTask>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .map_err(api_err("list EcsTasks"))?
        .items;
    let nodes = Api::<Node>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await
        .map_err(api_err("list Nodes"))?
        .items;
    let in_cluster = |cluster: Option<&str>| names::cluster_name(cluster) == name;
    let mut active = 0;
    let mut running = 0;
    let mut pending = 0;
    for s in services
        .iter()
        .filter(|s| in_cluster(s.spec.cluster.as_deref()))
    {
        active += 1;
        let st = s.status.clone().unwrap_or_default();
        running += st.running_count.unwrap_or(0);
        pending += st.pending_count.unwrap_or(0);
    }
    for t in tasks
        .iter()
        .filter(|t| in_cluster(t.spec.cluster.as_deref()))
    {
        for i in t.status.iter().flat_map(|s| &s.tasks) {
            match i.last_status.as_str() {
                "RUNNING" => running += 1,
                "PENDING" | "PROVISIONING" => pending += 1,
                _ => {}
            }
        }
    }
    let registered = nodes.iter().filter(|n| registered_node(c, n)).count() as i32;
    let previous = c.status.clone().unwrap_or_default();
    let status = EcsClusterStatus {
        status: Some("ACTIVE".into()),
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
                        "Ready",
                        true,
                        "CapacityAvailable",
                        format!("{registered} node(s) match the cluster's capacity providers"),
                    )
                } else {
                    Desired::new(
                        "Ready",
                        false,
                        "NoCapacity",
                        "no schedulable node matches the cluster's capacity provider mappings",
                    )
                }],
                c.metadata.generation,
                &conditions::now(),
            ),
        },
    };
    if status != previous {
        Api::<EcsCluster>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(json!({
                    "apiVersion": "ecsplane.io/v1alpha1",
                    "kind": KIND,
                    "status": status,
                })),
            )
            .await
            .map_err(api_err(format!("write status of EcsCluster {ns}/{name}")))?;
    }
    Ok(Action::requeue(RESYNC))
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
