//! The operator against the real control plane: controller-manager, scheduler and kwok make
//! Deployments, ReplicaSets and Pods real, so what is asserted here is what a user sees.
//!
//! Each test runs its own operator (the library's `controller::run_with`, in this process)
//! limited to the test's namespace, so tests never see each other's objects.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ecsplane::api::{EcsCluster, EcsService, EcsTask, Listener, TargetGroup, TaskDefinition};
use ecsplane::controller::{self, NoTelemetry, Options};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::harness;

/// An operator running in this process for one namespace.
pub(crate) struct Operator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
}

impl Operator {
    pub(crate) fn start(client: &Client, namespace: &str) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let options = Options {
            namespace: Some(namespace.to_owned()),
            ..Options::default()
        };
        let client = client.clone();
        let handle = tokio::spawn(async move {
            controller::run_with(client, Arc::new(NoTelemetry), options, async {
                let _ = rx.await;
            })
            .await
            .expect("the operator runs");
        });
        Self {
            stop: Some(tx),
            handle,
        }
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        tokio::time::timeout(Duration::from_secs(60), &mut self.handle)
            .await
            .expect("the operator stops within 60 s of its shutdown signal")
            .expect("the operator task ends cleanly");
    }
}

/// Deletes the test namespace when dropped, also when the test fails, so a failed test does
/// not leave pods holding host ports for the next one.
pub(crate) struct Cleanup {
    client: Client,
    namespace: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (client, ns) = (self.client.clone(), self.namespace.clone());
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(harness::delete_namespace(&client, &ns))
        });
    }
}

/// A fresh namespace for one test, deleted when the returned guard drops.
pub(crate) async fn test_namespace(client: &Client, prefix: &str) -> (String, Cleanup) {
    let ns = harness::namespace(client, prefix).await;
    let cleanup = Cleanup {
        client: client.clone(),
        namespace: ns.clone(),
    };
    (ns, cleanup)
}

/// Polls `check` every second until it returns `Ok`, or panics with its last message after
/// `limit` (a generous bound: these tests assert outcomes, not speed).
pub(crate) async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    let mut last;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not reached within {limit:?}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

pub(crate) const CONVERGE: Duration = Duration::from_secs(240);

/// The full examples hold host port 2020 on every node (the log-agent daemon uses host
/// networking), so, as on ECS, two copies cannot run at once: tests that run them take turns.
static FULL_EXAMPLES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn example_docs() -> Vec<serde_json::Value> {
    let mut files = Vec::new();
    for dir in ["", "web", "worker", "daemon", "task"] {
        let d = harness::repo_root().join("examples").join(dir);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files.iter().flat_map(|f| harness::documents(f)).collect()
}

pub(crate) async fn apply_all(client: &Client, ns: &str, docs: &[serde_json::Value]) {
    for doc in docs {
        harness::apply(client, ns, doc, false)
            .await
            .unwrap_or_else(|e| panic!("apply {} {}: {e}", doc["kind"], doc["metadata"]["name"]));
    }
}

pub(crate) fn condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    t: &str,
) -> String {
    conditions
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| format!("{}/{}: {}", c.status, c.reason, c.message))
        .unwrap_or_else(|| "absent".into())
}

/// Waits until every EcsService of `ns` is Ready with runningCount = desiredCount.
async fn all_services_ready(client: &Client, ns: &str) -> Vec<EcsService> {
    let api: Api<EcsService> = Api::namespaced(client.clone(), ns);
    eventually("every EcsService Ready", CONVERGE, || {
        let api = api.clone();
        async move {
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let mut waiting = Vec::new();
            for s in &list.items {
                let st = s.status.clone().unwrap_or_default();
                let ready = condition(&st.common.conditions, "Ready");
                if !ready.starts_with("True")
                    || st.running_count != st.desired_count
                    || st.desired_count.unwrap_or(0) == 0
                {
                    waiting.push(format!(
                        "{}: Ready {ready}, running {:?} of {:?}",
                        s.name_any(),
                        st.running_count,
                        st.desired_count
                    ));
                }
            }
            if waiting.is_empty() {
                Ok(list.items)
            } else {
                Err(waiting.join("; "))
            }
        }
    })
    .await
}

/// A client that acts as the ServiceAccount `sa` of namespace `ns` (impersonation), so the
/// operator runs with exactly the permissions the Helm chart grants it.
async fn client_as_service_account(ns: &str, sa: &str) -> Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(harness::kubeconfig_path()).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{ns}:{sa}"));
    config.auth_info.impersonate_groups = Some(vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{ns}"),
        "system:authenticated".into(),
    ]);
    Client::try_from(config).unwrap()
}

/// Applying the examples gives Deployments, a DaemonSet, Services, an HPA, an Ingress and a
/// Pod; every service reaches a steady state with ECS-style status; target groups count their
/// healthy targets; the listener reports each rule's fate; the cluster counts its services,
/// tasks and container instances. The operator runs with only the permissions the Helm
/// chart gives its ServiceAccount, so they are proven sufficient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_converge_to_steady_services_with_ecs_status() {
    let _turn = FULL_EXAMPLES.lock().await;
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "op-examples").await;
    crate::chart::install(&ns);
    let operator_client = client_as_service_account(&ns, &format!("{ns}-ecsplane")).await;
    apply_all(&client, &ns, &example_docs()).await;
    let op = Operator::start(&operator_client, &ns);

    let services = all_services_ready(&client, &ns).await;
    let by_name = |n: &str| {
        services
            .iter()
            .find(|s| s.name_any() == n)
            .unwrap()
            .status
            .clone()
            .unwrap()
    };

    // storefront: 4 tasks, minimumHealthyPercent 50 / maximumPercent 200 → ECS keeps ≥ 2 and
    // starts ≤ 4 extra: maxUnavailable 2, maxSurge 4, as absolute numbers.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let storefront = deployments.get("storefront").await.unwrap();
    let strategy = serde_json::to_value(&storefront.spec.as_ref().unwrap().strategy).unwrap();
    assert_eq!(
        strategy,
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "maxSurge": 4}})
    );
    let st = by_name("storefront");
    assert_eq!(
        (st.desired_count, st.running_count, st.pending_count),
        (Some(4), Some(4), Some(0))
    );
    assert_eq!(st.task_definition.as_deref(), Some("storefront:1"));
    assert_eq!(st.rollout_state.as_deref(), Some("COMPLETED"));
    assert_eq!(
        st.deployments.len(),
        1,
        "one PRIMARY deployment: {:?}",
        st.deployments
    );
    assert_eq!(st.deployments[0].status, "PRIMARY");
    assert_eq!(
        st.deployments[0].task_definition.as_deref(),
        Some("storefront:1")
    );
    assert!(
        st.events
            .iter()
            .any(|e| e.message == "(service storefront) has reached a steady state."),
        "{:?}",
        st.events
    );
    assert!(st.selector.as_deref() == Some("ecsplane.io/service=storefront"));
    // The children are owned by the service, under one field manager.
    let owner = storefront.metadata.owner_references.clone().unwrap();
    assert_eq!(
        (
            owner[0].kind.as_str(),
            owner[0].name.as_str(),
            owner[0].controller
        ),
        ("EcsService", "storefront", Some(true))
    );
    assert!(
        storefront
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|m| m.manager.as_deref() == Some("ecsplane"))
    );

    // api names api:1 explicitly.
    assert_eq!(by_name("api").task_definition.as_deref(), Some("api:1"));

    // The DAEMON service runs one task per eligible node.
    let ds: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    let agent = ds.get("log-agent").await.unwrap().status.unwrap();
    assert_eq!(
        by_name("log-agent").desired_count,
        Some(agent.desired_number_scheduled)
    );
    assert!(agent.desired_number_scheduled >= 1);

    // worker has autoScaling: the HPA scales the EcsService (its scale subresource is
    // spec.desiredCount), and the operator writes the Deployment's replicas from that count.
    let hpa: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
    let worker_hpa = hpa.get("worker").await.unwrap();
    assert_eq!(
        (
            worker_hpa.spec.scale_target_ref.kind.as_str(),
            worker_hpa.spec.scale_target_ref.name.as_str()
        ),
        ("EcsService", "worker")
    );
    let worker = deployments.get("worker").await.unwrap();
    assert_eq!(
        worker.spec.as_ref().unwrap().replicas,
        by_name("worker").desired_count
    );

    // api runs on FARGATE (base 1, weight 1) and FARGATE_SPOT (weight 3): 2 tasks are 1 + 1,
    // one Deployment per provider.
    for provider in ["api-fargate", "api-fargate-spot"] {
        let d = deployments.get(provider).await.unwrap();
        assert_eq!(d.spec.as_ref().unwrap().replicas, Some(1), "{provider}");
    }

    // Target groups: a Service per group, with every registered pod healthy.
    let svcs: Api<Service> = Api::namespaced(client.clone(), &ns);
    let tg_service = svcs.get("storefront-tg").await.unwrap();
    assert_eq!(
        tg_service.metadata.owner_references.unwrap()[0].kind,
        "TargetGroup"
    );
    let tgs: Api<TargetGroup> = Api::namespaced(client.clone(), &ns);
    let tg = eventually("storefront-tg counts 4 healthy targets", CONVERGE, || {
        let tgs = tgs.clone();
        async move {
            let tg = tgs.get("storefront-tg").await.map_err(|e| e.to_string())?;
            let st = tg.status.clone().unwrap_or_default();
            if st.healthy_targets == Some(4) {
                Ok(st)
            } else {
                Err(format!("{st:?}"))
            }
        }
    })
    .await;
    assert_eq!(tg.registered_targets, Some(4));
    assert_eq!(tg.services, vec![format!("{ns}/storefront")]);

    // The listener: an Ingress owned by it, and each rule's fate in status.
    let listeners: Api<Listener> = Api::namespaced(client.clone(), &ns);
    let l = listeners.list(&ListParams::default()).await.unwrap().items;
    assert!(!l.is_empty());
    for l in &l {
        let st = l.status.clone().unwrap_or_default();
        assert_eq!(
            st.rule_count,
            Some(l.spec.rules.as_ref().map_or(0, |r| r.len()) as i32)
        );
        assert_eq!(
            st.rules.len() as i32,
            st.rule_count.unwrap(),
            "every rule has a fate: {st:?}"
        );
        assert!(
            condition(&st.common.conditions, "Ready").starts_with("True"),
            "{st:?}"
        );
    }
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &ns);
    let ing = ingresses.list(&ListParams::default()).await.unwrap().items;
    assert!(!ing.is_empty(), "the listener produced an Ingress");
    assert!(
        ing.iter()
            .all(|i| i.owner_references()[0].kind == "Listener")
    );

    // The standalone task runs.
    let tasks: Api<EcsTask> = Api::namespaced(client.clone(), &ns);
    let task = eventually("the migrate task runs", CONVERGE, || {
        let tasks = tasks.clone();
        async move {
            let t = tasks
                .get("migrate-2026-11-22")
                .await
                .map_err(|e| e.to_string())?;
            let st = t.status.clone().unwrap_or_default();
            if st.last_status.as_deref() == Some("RUNNING") {
                Ok(st)
            } else {
                Err(format!("{st:?}"))
            }
        }
    })
    .await;
    assert_eq!(task.task_definition.as_deref(), Some("migrate:1"));
    assert_eq!(task.desired_status.as_deref(), Some("RUNNING"));

    // Task definitions are registered as revision 1.
    let tds: Api<TaskDefinition> = Api::namespaced(client.clone(), &ns);
    for td in tds.list(&ListParams::default()).await.unwrap() {
        let st = td.status.clone().unwrap();
        assert_eq!(st.revision, Some(1), "{}", td.name_any());
        assert_eq!(st.task_definition, Some(format!("{}:1", td.spec.family)));
    }

    // The cluster counts what runs in it.
    let clusters: Api<EcsCluster> = Api::namespaced(client.clone(), &ns);
    let expected_services = services
        .iter()
        .filter(|s| {
            ecsplane::translate::names::cluster_name(s.spec.cluster.as_deref()) == "default"
        })
        .count() as i32;
    let c = eventually("the cluster counts its services", CONVERGE, || {
        let clusters = clusters.clone();
        async move {
            let c = clusters.get("default").await.map_err(|e| e.to_string())?;
            let st = c.status.clone().unwrap_or_default();
            if st.active_services_count == Some(expected_services)
                && st.pending_tasks_count == Some(0)
            {
                Ok(st)
            } else {
                Err(format!("{st:?}"))
            }
        }
    })
    .await;
    assert_eq!(
        c.registered_container_instances_count,
        Some(4),
        "every kwok node carries a mapped capacity provider label"
    );
    let service_tasks: i32 = services
        .iter()
        .filter(|s| {
            ecsplane::translate::names::cluster_name(s.spec.cluster.as_deref()) == "default"
        })
        .map(|s| s.status.as_ref().unwrap().running_count.unwrap())
        .sum();
    assert_eq!(
        c.running_tasks_count,
        Some(service_tasks + 1),
        "the services' tasks and the migrate task"
    );

    op.stop().await;
    crate::chart::uninstall(&ns);
}

/// The resourceVersions of everything the operator writes in `ns` (ecsplane objects and their
/// children); HPAs, whose status the controller-manager keeps updating, count by the time of
/// ecsplane's own managed-fields entry.
async fn written_versions(client: &Client, ns: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (group, version, kind, plural) in [
        (
            "ecsplane.io",
            "v1alpha1",
            "TaskDefinition",
            "taskdefinitions",
        ),
        ("ecsplane.io", "v1alpha1", "EcsService", "ecsservices"),
        ("ecsplane.io", "v1alpha1", "TargetGroup", "targetgroups"),
        ("ecsplane.io", "v1alpha1", "Listener", "listeners"),
        ("ecsplane.io", "v1alpha1", "EcsTask", "ecstasks"),
        ("ecsplane.io", "v1alpha1", "EcsCluster", "ecsclusters"),
        ("apps", "v1", "Deployment", "deployments"),
        ("apps", "v1", "ControllerRevision", "controllerrevisions"),
        ("", "v1", "Service", "services"),
        ("", "v1", "ServiceAccount", "serviceaccounts"),
        ("networking.k8s.io", "v1", "Ingress", "ingresses"),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        ),
    ] {
        let ar = kube::discovery::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk(group, version, kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        for o in api.list(&ListParams::default()).await.unwrap() {
            let ours = o
                .managed_fields()
                .iter()
                .filter(|m| m.manager.as_deref() == Some("ecsplane"))
                .map(|m| format!("{:?}@{:?}", m.subresource, m.time))
                .collect::<Vec<_>>()
                .join(",");
            let version = if kind == "HorizontalPodAutoscaler" || kind == "Deployment" {
                // The controller-manager writes their status; what ecsplane wrote shows in
                // its managed-fields entries.
                ours
            } else {
                format!("{}|{ours}", o.resource_version().unwrap_or_default())
            };
            out.push((format!("{kind} {}", o.name_any()), version));
        }
    }
    out.sort();
    out
}

/// Restarting the operator on a converged namespace writes nothing; a hand edit of a child is
/// reverted; a change of a TaskDefinition registers revision 2, which a service naming only
/// the family picks up when its own spec changes; dropping autoscaling removes the HPA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_system_stays_idle_and_changes_flow_through_like_ecs() {
    let _turn = FULL_EXAMPLES.lock().await;
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "op-idle").await;
    apply_all(&client, &ns, &example_docs()).await;
    let op = Operator::start(&client, &ns);
    all_services_ready(&client, &ns).await;
    // Let the cluster, target group and task statuses settle too.
    tokio::time::sleep(Duration::from_secs(10)).await;
    op.stop().await;

    let before = written_versions(&client, &ns).await;
    let op = Operator::start(&client, &ns);
    // Every object is reconciled at start; give it time to do all it would do.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let after = written_versions(&client, &ns).await;
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, a)| format!("{} {} -> {}", b.0, b.1, a.1))
        .collect();
    assert_eq!(before.len(), after.len());
    assert!(
        changed.is_empty(),
        "a restart on a converged system wrote: {changed:#?}"
    );

    // A hand edit of a child is reverted.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    deployments
        .patch(
            "api-fargate",
            &PatchParams::apply("someone").force(),
            &Patch::Apply(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 5}}),
            ),
        )
        .await
        .unwrap();
    eventually("the hand edit is reverted", CONVERGE, || {
        let deployments = deployments.clone();
        async move {
            let d = deployments
                .get("api-fargate")
                .await
                .map_err(|e| e.to_string())?;
            let v = d.spec.unwrap().replicas;
            if v == Some(1) {
                Ok(())
            } else {
                Err(format!("replicas {v:?}"))
            }
        }
    })
    .await;

    // A new TaskDefinition spec registers revision 2; the service, naming only its family,
    // keeps running revision 1 (ECS stores the resolved ARN) until its own spec changes.
    let tds: Api<TaskDefinition> = Api::namespaced(client.clone(), &ns);
    let mut worker_td = tds.get("worker").await.unwrap();
    worker_td.spec.container_definitions[0]
        .environment
        .get_or_insert_default()
        .push(serde_json::from_value(json!({"name": "FEATURE", "value": "on"})).unwrap());
    tds.patch(
        "worker",
        &PatchParams::apply("user").force(),
        &Patch::Apply(json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition", "spec": worker_td.spec})),
    )
    .await
    .unwrap();
    eventually("revision 2 is registered", CONVERGE, || {
        let tds = tds.clone();
        async move {
            let td = tds.get("worker").await.map_err(|e| e.to_string())?;
            let r = td.status.and_then(|s| s.revision);
            if r == Some(2) {
                Ok(())
            } else {
                Err(format!("revision {r:?}"))
            }
        }
    })
    .await;
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
    let names: Vec<String> = revisions
        .list(&ListParams::default().labels("ecsplane.io/task-definition=worker"))
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| format!("{}={}", r.name_any(), r.revision))
        .collect();
    assert_eq!(names.len(), 2, "both revisions are kept: {names:?}");
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        services
            .get("worker")
            .await
            .unwrap()
            .status
            .unwrap()
            .task_definition
            .as_deref(),
        Some("worker:1"),
        "a service that names only the family keeps the revision it resolved"
    );
    // Changing the service (here: dropping autoscaling) resolves the family again and
    // removes the HPA, which the spec no longer produces.
    services
        .patch(
            "worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"autoScaling": null}})),
        )
        .await
        .unwrap();
    let hpa: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
    eventually(
        "the HPA is removed and worker:2 rolls out",
        CONVERGE,
        || {
            let (hpa, services) = (hpa.clone(), services.clone());
            async move {
                let h = hpa.get_opt("worker").await.map_err(|e| e.to_string())?;
                let st = services
                    .get("worker")
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                if h.is_none()
                    && st.task_definition.as_deref() == Some("worker:2")
                    && st.rollout_state.as_deref() == Some("COMPLETED")
                {
                    Ok(())
                } else {
                    Err(format!(
                        "hpa present: {}, status {:?} {:?}",
                        h.is_some(),
                        st.task_definition,
                        st.rollout_state
                    ))
                }
            }
        },
    )
    .await;
    // Dropping a service's load balancer removes its target group's Service.
    services
        .patch(
            "api",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"loadBalancers": null}})),
        )
        .await
        .unwrap();
    let k8s_services: Api<Service> = Api::namespaced(client.clone(), &ns);
    eventually("the api-tg Service is removed", CONVERGE, || {
        let k8s_services = k8s_services.clone();
        async move {
            match k8s_services
                .get_opt("api-tg")
                .await
                .map_err(|e| e.to_string())?
            {
                None => Ok(()),
                Some(_) => Err("api-tg still exists".to_owned()),
            }
        }
    })
    .await;
    let d = deployments.get("worker").await.unwrap();
    assert_eq!(
        d.spec.as_ref().unwrap().replicas,
        Some(1),
        "without autoscaling, desiredCount sets the replicas"
    );

    op.stop().await;
}

/// Writes into `pod`'s status what the kubelet reports after its first container exited
/// with `exit_code` and was restarted in place (kwok runs no containers, so the status is
/// written as a kubelet would).
pub(crate) async fn container_exited_and_restarted(
    pods: &Api<Pod>,
    pod: &Pod,
    exit_code: i32,
) -> Result<Pod, kube::Error> {
    let container = &pod.spec.as_ref().expect("a pod spec").containers[0];
    pods.patch_status(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"containerStatuses": [{
            "name": container.name, "image": container.image, "imageID": "", "ready": true,
            "restartCount": 1, "started": true,
            "state": {"running": {"startedAt": "2026-11-22T00:00:00Z"}},
            "lastState": {"terminated": {"exitCode": exit_code, "reason": "Error",
                "startedAt": "2026-11-22T00:00:00Z", "finishedAt": "2026-11-22T00:00:01Z"}}
        }]}})),
    )
    .await
}

/// ECS stops a task whose essential container exits and the service starts another; a
/// standalone task stops with "Essential container in task exited" and its exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_essential_container_exit_stops_the_task_as_on_ecs() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "op-essential").await;
    let docs: Vec<_> = example_docs()
        .into_iter()
        .filter(|d| {
            let n = d["metadata"]["name"].as_str().unwrap_or_default();
            matches!(n, "default" | "worker" | "migrate" | "migrate-2026-11-22")
        })
        .collect();
    apply_all(&client, &ns, &docs).await;
    let op = Operator::start(&client, &ns);
    all_services_ready(&client, &ns).await;

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let worker_pods = pods
        .list(&ListParams::default().labels("ecsplane.io/service=worker"))
        .await
        .unwrap()
        .items;
    let victim = worker_pods[0].name_any();
    container_exited_and_restarted(&pods, &worker_pods[0], 137)
        .await
        .unwrap();
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    eventually("the task is replaced", CONVERGE, || {
        let (pods, services, victim) = (pods.clone(), services.clone(), victim.clone());
        async move {
            let live = pods
                .list(&ListParams::default().labels("ecsplane.io/service=worker"))
                .await
                .map_err(|e| e.to_string())?
                .items;
            let names: Vec<String> = live
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .map(|p| p.name_any())
                .collect();
            let st = services
                .get("worker")
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            let event = st.events.iter().any(|e| {
                e.message
                    .contains(&format!("has stopped 1 running tasks: (task {victim})"))
            });
            if !names.contains(&victim) && !names.is_empty() && event {
                Ok(())
            } else {
                Err(format!("pods {names:?}, events {:?}", st.events))
            }
        }
    })
    .await;

    // The standalone task: its essential container exits with code 3.
    let tasks: Api<EcsTask> = Api::namespaced(client.clone(), &ns);
    eventually("the migrate task runs", CONVERGE, || {
        let tasks = tasks.clone();
        async move {
            let st = tasks
                .get("migrate-2026-11-22")
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            if st.last_status.as_deref() == Some("RUNNING") {
                Ok(())
            } else {
                Err(format!("{st:?}"))
            }
        }
    })
    .await;
    let task_pod = "migrate-2026-11-22-0";
    let pod = pods.get(task_pod).await.unwrap();
    let image = pod.spec.as_ref().unwrap().containers[0].image.clone();
    pods.patch_status(
        task_pod,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"containerStatuses": [{
            "name": "migrate", "image": image, "imageID": "", "ready": false, "restartCount": 0, "started": false,
            "state": {"terminated": {"exitCode": 3, "reason": "Error", "startedAt": "2026-11-22T00:00:00Z", "finishedAt": "2026-11-22T00:00:01Z"}}
        }]}})),
    )
    .await
    .unwrap();
    let st = eventually("the task stops", CONVERGE, || {
        let tasks = tasks.clone();
        async move {
            let st = tasks
                .get("migrate-2026-11-22")
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            if st.last_status.as_deref() == Some("STOPPED") {
                Ok(st)
            } else {
                Err(format!("{st:?}"))
            }
        }
    })
    .await;
    assert_eq!(st.desired_status.as_deref(), Some("STOPPED"));
    assert_eq!(st.stop_code.as_deref(), Some("EssentialContainerExited"));
    assert!(
        st.stopped_reason
            .as_deref()
            .unwrap()
            .starts_with("Essential container in task exited"),
        "{st:?}"
    );
    let c = &st.tasks[0]
        .containers
        .iter()
        .find(|c| c.name == "migrate")
        .unwrap();
    assert_eq!((c.last_status.as_str(), c.exit_code), ("STOPPED", Some(3)));
    eventually(
        "the stopped task's pod is gone and not restarted",
        CONVERGE,
        || {
            let pods = pods.clone();
            async move {
                match pods.get_opt(task_pod).await.map_err(|e| e.to_string())? {
                    None => Ok(()),
                    Some(p) => Err(format!(
                        "pod still there (deleting: {})",
                        p.metadata.deletion_timestamp.is_some()
                    )),
                }
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        pods.get_opt(task_pod).await.unwrap().is_none(),
        "a stopped task is never started again"
    );

    op.stop().await;
}

/// A service applied before its task definition and target group waits with a clear reason
/// and starts once they exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dangling_reference_is_reported_and_recovers_when_the_object_appears() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "op-dangling").await;
    let docs = example_docs();
    let (td, rest): (Vec<_>, Vec<_>) = docs
        .into_iter()
        .filter(|d| {
            let n = d["metadata"]["name"].as_str().unwrap_or_default();
            matches!(n, "default" | "worker")
        })
        .partition(|d| d["kind"] == "TaskDefinition");
    apply_all(&client, &ns, &rest).await;
    let op = Operator::start(&client, &ns);
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    eventually(
        "the service reports its missing task definition",
        CONVERGE,
        || {
            let services = services.clone();
            async move {
                let st = services
                    .get("worker")
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                let ready = condition(&st.common.conditions, "Ready");
                if ready.starts_with("False/TaskDefinitionNotFound") && ready.contains("\"worker\"")
                {
                    Ok(())
                } else {
                    Err(ready)
                }
            }
        },
    )
    .await;
    apply_all(&client, &ns, &td).await;
    all_services_ready(&client, &ns).await;
    op.stop().await;
}
