//! ECS's capacity provider strategy on the real control plane: the base/weight split read from
//! the nodes the pods run on (the harness's kwok nodes carry `ecsplane.io/capacity-provider`
//! FARGATE on nodes 0 and 1, FARGATE_SPOT on nodes 2 and 3), kept when the count changes and
//! through a revision rollout whose service-wide bounds are sampled from a watch, and an HPA
//! on the EcsService itself whose count the operator splits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsplane::api::EcsService;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::operator::{CONVERGE, Operator, apply_all, condition, eventually, test_namespace};

/// The cluster: each provider is the harness nodes of the same label.
fn cluster() -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsCluster",
        "metadata": {"name": "default"},
        "spec": {"clusterName": "default", "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "capacityProviderMappings": [
                {"capacityProvider": "FARGATE", "nodeSelector": {"ecsplane.io/capacity-provider": "FARGATE"}},
                {"capacityProvider": "FARGATE_SPOT", "nodeSelector": {"ecsplane.io/capacity-provider": "FARGATE_SPOT"}}]}
    })
}

fn task_definition(
    family: &str,
    cpu: i32,
    env: &str,
    labels: serde_json::Value,
) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {"family": family, "containerDefinitions": [{
            "name": "app", "image": "public.ecr.aws/docker/library/busybox:1.36",
            "command": ["sleep", "infinity"], "cpu": cpu, "memory": 128,
            "environment": [{"name": "V", "value": env}],
            "dockerLabels": labels,
        }]}
    })
}

/// Base 2 on FARGATE, then FARGATE : FARGATE_SPOT = 1 : 3.
fn strategy() -> serde_json::Value {
    json!([
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3}
    ])
}

/// The capacity provider of every harness node, from its label.
async fn providers_of_nodes(client: &Client) -> BTreeMap<String, String> {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| {
            let cp = n.labels().get("ecsplane.io/capacity-provider")?.clone();
            Some((n.name_any(), cp))
        })
        .collect()
}

/// How many of the service's running (not stopping) pods are on each provider's nodes, by the
/// node each was scheduled to, with the revision (environment `V`) each runs.
fn split_of(pods: &[Pod], nodes: &BTreeMap<String, String>) -> BTreeMap<String, i32> {
    let mut out = BTreeMap::new();
    for p in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
        let provider = node
            .and_then(|n| nodes.get(&n).cloned())
            .unwrap_or_else(|| "unscheduled".into());
        *out.entry(provider).or_insert(0) += 1;
    }
    out
}

async fn pods_of(pods: &Api<Pod>, service: &str) -> Vec<Pod> {
    pods.list(&ListParams::default().labels(&format!("ecsplane.io/service={service}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// Waits until the service is Ready with `running` tasks and its pods run `expected` per
/// provider.
async fn settles_with_split(
    client: &Client,
    ns: &str,
    name: &str,
    running: i32,
    expected: &[(&str, i32)],
) {
    let nodes = providers_of_nodes(client).await;
    let services: Api<EcsService> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let expected: BTreeMap<String, i32> = expected
        .iter()
        .map(|(p, n)| ((*p).to_owned(), *n))
        .collect();
    eventually(
        &format!("{name} is Ready with {running} tasks split {expected:?}"),
        CONVERGE,
        || {
            let (services, pods, nodes, expected) = (
                services.clone(),
                pods.clone(),
                nodes.clone(),
                expected.clone(),
            );
            let name = name.to_owned();
            async move {
                let st = services
                    .get(&name)
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                let ready = condition(&st.common.conditions, "Ready");
                let split = split_of(&pods_of(&pods, &name).await, &nodes);
                if ready.starts_with("True")
                    && st.running_count == Some(running)
                    && split == expected
                {
                    Ok(())
                } else {
                    Err(format!(
                        "Ready {ready}, running {:?}, split {split:?}",
                        st.running_count
                    ))
                }
            }
        },
    )
    .await;
}

/// A reflector of the service's pods; `on_change` sees the store after every event.
fn watch_pods(
    client: &Client,
    ns: &str,
    name: &str,
    mut on_change: impl FnMut(&Store<Pod>) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(
            api,
            watcher::Config::default().labels(&format!("ecsplane.io/service={name}")),
        ),
    )
    .default_backoff();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {
            on_change(&reader);
        }
    })
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Issue 17: base 2 + weights 1:3 at desiredCount 10 gives FARGATE 2 + 2 and FARGATE_SPOT 6,
/// read from the nodes the pods run on. desiredCount 14 keeps the split (2 + 3 and 9). A new
/// revision then rolls both providers' Deployments at once, and at every pod event ECS's
/// service-wide bounds hold: at least ceil(14·50/100) = 7 tasks ready, at most
/// floor(14·150/100) = 21 running; it ends with the same split on the new revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_2_and_weights_1_to_3_split_10_tasks_4_to_6_and_keep_the_split_through_a_rollout() {
    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "cap-split").await;
    let service = |desired: i32, revision: &str| {
        json!({
            "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
            "metadata": {"name": "split"},
            "spec": {"taskDefinition": format!("split:{revision}"), "desiredCount": desired,
                "capacityProviderStrategy": strategy(),
                "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 150}}
        })
    };
    apply_all(
        &client,
        &ns,
        &[
            cluster(),
            task_definition("split", 256, "1", json!({})),
            service(10, "1"),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    settles_with_split(
        &client,
        &ns,
        "split",
        10,
        &[("FARGATE", 4), ("FARGATE_SPOT", 6)],
    )
    .await;

    // desiredCount 14: 2 + 12 · 1/4 = 5 on FARGATE, 12 · 3/4 = 9 on FARGATE_SPOT.
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    services
        .patch(
            "split",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 14}})),
        )
        .await
        .unwrap();
    settles_with_split(
        &client,
        &ns,
        "split",
        14,
        &[("FARGATE", 5), ("FARGATE_SPOT", 9)],
    )
    .await;

    // (fewest ready, most running, events) over the rollout, from the moment the watch shows
    // the 14 ready tasks. A pod being deleted is a stopping task: neither bound counts it.
    let extremes = Arc::new(Mutex::new(None::<(i32, i32, usize)>));
    let watch = watch_pods(&client, &ns, "split", {
        let extremes = extremes.clone();
        move |store| {
            let live: Vec<_> = store
                .state()
                .into_iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            let ready = live.iter().filter(|p| is_ready(p)).count() as i32;
            let mut e = extremes.lock().unwrap();
            match e.as_mut() {
                None if ready == 14 => *e = Some((ready, live.len() as i32, 1)),
                None => {}
                Some((fewest, most, events)) => {
                    *fewest = (*fewest).min(ready);
                    *most = (*most).max(live.len() as i32);
                    *events += 1;
                }
            }
        }
    });
    eventually("the watch sees the 14 ready tasks", CONVERGE, || {
        let armed = extremes.lock().unwrap().is_some();
        async move { armed.then_some(()).ok_or("not yet".to_owned()) }
    })
    .await;
    crate::harness::apply(
        &client,
        &ns,
        &task_definition("split", 256, "2", json!({})),
        false,
    )
    .await
    .unwrap();
    let tds: Api<ecsplane::api::TaskDefinition> = Api::namespaced(client.clone(), &ns);
    eventually("revision 2 is registered", CONVERGE, || {
        let tds = tds.clone();
        async move {
            let r = tds
                .get("split")
                .await
                .map_err(|e| e.to_string())?
                .status
                .and_then(|s| s.revision);
            (r == Some(2))
                .then_some(())
                .ok_or(format!("revision {r:?}"))
        }
    })
    .await;
    services
        .patch(
            "split",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taskDefinition": "split:2"}})),
        )
        .await
        .unwrap();
    eventually("the service runs split:2 to completion", CONVERGE, || {
        let services = services.clone();
        async move {
            let st = services
                .get("split")
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            let primary: Vec<String> = st
                .deployments
                .iter()
                .map(|d| {
                    format!(
                        "{} {} {}/{}",
                        d.status,
                        d.task_definition.as_deref().unwrap_or("?"),
                        d.running_count,
                        d.desired_count
                    )
                })
                .collect();
            if primary == ["PRIMARY split:2 14/14"]
                && st.rollout_state.as_deref() == Some("COMPLETED")
            {
                Ok(())
            } else {
                Err(format!("{primary:?} {:?}", st.rollout_state))
            }
        }
    })
    .await;
    settles_with_split(
        &client,
        &ns,
        "split",
        14,
        &[("FARGATE", 5), ("FARGATE_SPOT", 9)],
    )
    .await;
    watch.abort();
    let (fewest_ready, most_running, samples) = extremes.lock().unwrap().expect("armed");
    eprintln!(
        "during the rollout: fewest ready {fewest_ready}, most running {most_running}, {samples} pod events"
    );
    assert!(samples > 14, "the watch saw the rollout ({samples} events)");
    assert!(
        fewest_ready >= 7,
        "ready tasks dropped to {fewest_ready}, below ceil(14·50/100) = 7"
    );
    assert!(
        most_running <= 21,
        "{most_running} tasks ran at once, above floor(14·150/100) = 21"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let revisions: Vec<String> = pods_of(&pods, "split")
        .await
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            p.spec.as_ref()?.containers[0]
                .env
                .as_ref()?
                .iter()
                .find(|e| e.name == "V")?
                .value
                .clone()
        })
        .collect();
    assert_eq!(
        revisions,
        vec!["2".to_owned(); 14],
        "every task runs revision 2"
    );
    op.stop().await;
}

/// Issue 19 point 1 and issue 17: an autoscaled service of desiredCount 8 (min 2, max 10)
/// comes up with 8 tasks, split 4/4 (base 2, then 6 · 1/4 and 6 · 3/4, the half to the
/// first), never 1 first. Then CPU usage of 90 % against a 50 % target makes the HPA, which
/// scales the EcsService itself, raise desiredCount to maxCapacity 10, and the split follows:
/// 4 on FARGATE, 6 on FARGATE_SPOT. Re-applying the user's manifest (desiredCount 8) does not
/// reset the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hpa_on_the_ecs_service_scales_it_from_its_desired_count_and_the_split_follows() {
    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "cap-scale").await;
    let manifest = json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
        "metadata": {"name": "busy"},
        "spec": {"taskDefinition": "busy", "desiredCount": 8,
            "capacityProviderStrategy": strategy(),
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
            "autoScaling": {"minCapacity": 2, "maxCapacity": 10, "scalingPolicies": [{
                "policyName": "cpu50", "policyType": "TargetTrackingScaling",
                "targetTrackingScalingPolicyConfiguration": {
                    "targetValue": 50,
                    "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}]}}
    });
    // Half a core of one requested: 50 %, on target, so the HPA leaves the count alone.
    apply_all(
        &client,
        &ns,
        &[
            cluster(),
            task_definition(
                "busy",
                1024,
                "1",
                json!({"kwok.x-k8s.io/usage-cpu": "500m"}),
            ),
            manifest.clone(),
        ],
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    // Every replica count the Deployments ever show, per Deployment.
    let seen = Arc::new(Mutex::new(Vec::<(String, i32)>::new()));
    let watch = {
        let (api, seen) = (deployments.clone(), seen.clone());
        tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects();
            let mut stream = std::pin::pin!(stream);
            while let Some(Ok(d)) = stream.next().await {
                if let Some(r) = d.spec.as_ref().and_then(|s| s.replicas) {
                    seen.lock().unwrap().push((d.name_any(), r));
                }
            }
        })
    };
    let op = Operator::start(&client, &ns);
    settles_with_split(
        &client,
        &ns,
        "busy",
        8,
        &[("FARGATE", 4), ("FARGATE_SPOT", 4)],
    )
    .await;
    {
        let seen = seen.lock().unwrap();
        let first = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, r)| *r);
        assert_eq!(
            (first("busy-fargate"), first("busy-fargate-spot")),
            (Some(4), Some(4)),
            "the service came up with its 8 tasks, not 1: {seen:?}"
        );
    }

    // 900m of one core: 90 % against 50 %, so ceil(8 · 1.8) = 15, capped at maxCapacity 10.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    for p in pods_of(&pods, "busy").await {
        pods.patch(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"kwok.x-k8s.io/usage-cpu": "900m"}}}),
            ),
        )
        .await
        .unwrap();
    }
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    eventually(
        "the HPA raises the service's desiredCount to 10",
        CONVERGE + CONVERGE,
        || {
            let services = services.clone();
            async move {
                let s = services.get("busy").await.map_err(|e| e.to_string())?;
                let d = s.spec.desired_count;
                (d == Some(10))
                    .then_some(())
                    .ok_or(format!("desiredCount {d:?}"))
            }
        },
    )
    .await;
    settles_with_split(
        &client,
        &ns,
        "busy",
        10,
        &[("FARGATE", 4), ("FARGATE_SPOT", 6)],
    )
    .await;

    // The user's manifest again, unchanged (desiredCount 8), as `kubectl apply
    // --server-side` sends it: the HPA now owns desiredCount (its write through the scale
    // subresource took the field over), so the API server refuses to let the user's manager
    // set it back (a conflict on .spec.desiredCount), and the count stays 10.
    seen.lock().unwrap().clear();
    match crate::harness::apply(&client, &ns, &manifest, false).await {
        Err(kube::Error::Api(e)) if e.code == 409 => {
            assert!(e.message.contains(".spec.desiredCount"), "{}", e.message)
        }
        other => panic!(
            "re-applying a different desiredCount than the HPA's must conflict: {:?}",
            other.map(|_| "applied")
        ),
    }
    tokio::time::sleep(Duration::from_secs(15)).await;
    let s = services.get("busy").await.unwrap();
    assert_eq!(
        s.spec.desired_count,
        Some(10),
        "re-applying reset the count"
    );
    let total: BTreeMap<String, i32> = seen.lock().unwrap().iter().cloned().collect();
    assert!(
        seen.lock().unwrap().iter().all(|(n, r)| match n.as_str() {
            "busy-fargate" => *r == 4,
            "busy-fargate-spot" => *r == 6,
            _ => true,
        }),
        "the Deployments left the split of 10 after the re-apply: {total:?}"
    );
    watch.abort();
    op.stop().await;
}
