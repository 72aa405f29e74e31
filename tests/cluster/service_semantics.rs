//! ECS service semantics on the real control plane, asserted as behaviour: the bounds of a
//! rolling update sampled from a watch while it runs, target tracking on real CPU metrics
//! (metrics-server reading kwok's emulated usage), and the garbage collection of a deleted
//! service's children.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsplane::api::EcsService;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::operator::{
    CONVERGE, Cleanup, Operator, apply_all, condition, container_exited_and_restarted, eventually,
    test_namespace,
};

/// A one-container TaskDefinition: `cpu` units (1024 = one core requested) and the pod
/// annotations its docker labels become.
fn task_definition(family: &str, cpu: i32, labels: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {"family": family, "containerDefinitions": [{
            "name": "app", "image": "public.ecr.aws/docker/library/busybox:1.36",
            "command": ["sleep", "infinity"], "cpu": cpu, "memory": 256,
            "dockerLabels": labels,
        }]}
    })
}

fn service(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
        "metadata": {"name": name}, "spec": spec,
    })
}

/// A reflector of the pods of service `name`, kept current in the background until the
/// returned task is aborted; `on_change` sees the store after every event.
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

/// (maxUnavailable, maxSurge) of a Deployment, which ecsplane writes as integers.
fn rolling_bounds(d: &Deployment) -> (i32, i32) {
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.clone())
        .expect("a rolling update strategy");
    let int = |v: Option<IntOrString>| match v {
        Some(IntOrString::Int(i)) => i,
        other => panic!("an absolute bound, not {other:?}"),
    };
    (int(ru.max_unavailable), int(ru.max_surge))
}

/// What `aws ecs update-service --task-definition roll:2` does, with 4 desired tasks,
/// minimumHealthyPercent 50 and maximumPercent 150: ECS keeps at least ceil(4·50/100) = 2
/// tasks healthy and runs at most floor(4·150/100) = 6. Every pod event of the rollout is
/// sampled from a watch; the service's deployments show the new revision as PRIMARY beside
/// the old one as ACTIVE, and a single COMPLETED deployment at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_revision_rolls_out_within_the_ecs_bounds_at_every_moment() {
    let World {
        client,
        ns,
        services,
        op,
        _cleanup,
    } = world(
        "sem-roll",
        &[
            task_definition("roll", 256, json!({})),
            service(
                "roll",
                json!({"taskDefinition": "roll:1", "desiredCount": 4,
                    "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 150}}),
            ),
        ],
    )
    .await;
    ready_with(&services, "roll", 4).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    assert_eq!(
        rolling_bounds(&deployments.get("roll").await.unwrap()),
        (2, 2),
        "maxUnavailable 4 − ceil(2) = 2, maxSurge floor(6) − 4 = 2"
    );

    // (fewest ready, most running, events seen) over the rollout, counted from the moment
    // the watch's initial list shows the 4 ready tasks (the store is empty until then).
    let extremes = Arc::new(Mutex::new(None::<(i32, i32, usize)>));
    let watch = watch_pods(&client, &ns, "roll", {
        let extremes = extremes.clone();
        move |store| {
            // A pod being deleted is a stopping task: ECS counts neither bound with it.
            let live: Vec<_> = store
                .state()
                .into_iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            let ready = live.iter().filter(|p| is_ready(p)).count() as i32;
            let mut e = extremes.lock().unwrap();
            match e.as_mut() {
                None if ready == 4 => *e = Some((ready, live.len() as i32, 1)),
                None => {}
                Some((fewest, most, events)) => {
                    *fewest = (*fewest).min(ready);
                    *most = (*most).max(live.len() as i32);
                    *events += 1;
                }
            }
        }
    });
    eventually("the watch sees the 4 ready tasks", CONVERGE, || {
        let armed = extremes.lock().unwrap().is_some();
        async move { armed.then_some(()).ok_or("not yet".to_owned()) }
    })
    .await;
    update_service(&client, &ns, &services, "roll").await;
    let both = eventually(
        "the service shows revision 2 PRIMARY beside revision 1 ACTIVE",
        CONVERGE,
        || deployments_of(&services, "roll", 2),
    )
    .await;
    assert!(
        both.iter().any(|d| d.starts_with("PRIMARY roll:2"))
            && both.iter().any(|d| d.starts_with("ACTIVE roll:1")),
        "{both:?}"
    );
    settles_on(&services, "roll", "PRIMARY roll:2 COMPLETED 4/4").await;
    watch.abort();
    let (fewest_ready, most_running, samples) = extremes.lock().unwrap().expect("armed");
    eprintln!(
        "during the rollout: fewest ready {fewest_ready}, most running {most_running}, {samples} pod events"
    );
    assert!(samples > 4, "the watch saw the rollout ({samples} events)");
    assert!(
        fewest_ready >= 2,
        "ready tasks dropped to {fewest_ready}, below ceil(4·50/100) = 2"
    );
    assert!(
        most_running <= 6,
        "{most_running} tasks ran at once, above floor(4·150/100) = 6"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let envs: Vec<_> = pods
        .list(&ListParams::default().labels("ecsplane.io/service=roll"))
        .await
        .unwrap()
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            p.spec.as_ref().unwrap().containers[0]
                .env
                .clone()
                .unwrap_or_default()
                .len()
        })
        .collect();
    assert_eq!(envs, [1, 1, 1, 1], "every task runs revision 2");
    op.stop().await;
}

/// The deployments of the service's status as `STATUS family:rev ROLLOUT running/desired`
/// (ROLLOUT is `-` where ECS gives none, as for ACTIVE deployments), when there are `count`.
async fn deployments_of(
    services: &Api<EcsService>,
    name: &str,
    count: usize,
) -> Result<Vec<String>, String> {
    let st = services
        .get(name)
        .await
        .map_err(|e| e.to_string())?
        .status
        .unwrap_or_default();
    let ds: Vec<String> = st
        .deployments
        .iter()
        .map(|d| {
            format!(
                "{} {} {} {}/{}",
                d.status,
                d.task_definition.as_deref().unwrap_or("?"),
                d.rollout_state.as_deref().unwrap_or("-"),
                d.running_count,
                d.desired_count
            )
        })
        .collect();
    if ds.len() == count {
        Ok(ds)
    } else {
        Err(format!("{ds:?}"))
    }
}

/// What `aws ecs register-task-definition` then `aws ecs update-service --task-definition
/// FAMILY:2` do: registers revision 2 of `family` (a new environment variable, `V=2`) and
/// points the service of the same name at it.
async fn update_service(client: &Client, ns: &str, services: &Api<EcsService>, family: &str) {
    let mut td = task_definition(family, 256, json!({}));
    td["spec"]["containerDefinitions"][0]["environment"] = json!([{"name": "V", "value": "2"}]);
    crate::harness::apply(client, ns, &td, false).await.unwrap();
    let tds: Api<ecsplane::api::TaskDefinition> = Api::namespaced(client.clone(), ns);
    eventually("revision 2 is registered", CONVERGE, || {
        let tds = tds.clone();
        let family = family.to_owned();
        async move {
            let r = tds
                .get(&family)
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
            family,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taskDefinition": format!("{family}:2")}})),
        )
        .await
        .unwrap();
}

/// Waits until the service is Ready with one deployment, `deployment` as
/// [`deployments_of`] writes it, and returns its status.
async fn settles_on(
    services: &Api<EcsService>,
    name: &str,
    deployment: &str,
) -> ecsplane::api::EcsServiceStatus {
    eventually(&format!("{name} settles on {deployment}"), CONVERGE, || {
        let services = services.clone();
        let name = name.to_owned();
        async move {
            let ds = deployments_of(&services, &name, 1).await?;
            let st = services
                .get(&name)
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            let ready = condition(&st.common.conditions, "Ready");
            if ds == [deployment] && ready.starts_with("True") {
                Ok(st)
            } else {
                Err(format!("{ds:?}, Ready {ready}"))
            }
        }
    })
    .await
}

/// One test's world: a fresh namespace (deleted when `_cleanup` drops) holding the given
/// manifests, and an operator running for it.
struct World {
    client: Client,
    ns: String,
    services: Api<EcsService>,
    op: Operator,
    _cleanup: Cleanup,
}

async fn world(prefix: &str, docs: &[serde_json::Value]) -> World {
    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, cleanup) = test_namespace(&client, prefix).await;
    apply_all(&client, &ns, docs).await;
    World {
        op: Operator::start(&client, &ns),
        services: Api::namespaced(client.clone(), &ns),
        client,
        ns,
        _cleanup: cleanup,
    }
}

async fn ready_with(services: &Api<EcsService>, name: &str, running: i32) -> EcsService {
    eventually(
        &format!("{name} is Ready with {running} tasks running"),
        CONVERGE,
        || {
            let services = services.clone();
            let name = name.to_owned();
            async move {
                let s = services.get(&name).await.map_err(|e| e.to_string())?;
                let st = s.status.clone().unwrap_or_default();
                let ready = condition(&st.common.conditions, "Ready");
                if ready.starts_with("True") && st.running_count == Some(running) {
                    Ok(s)
                } else {
                    Err(format!("Ready {ready}, running {:?}", st.running_count))
                }
            }
        },
    )
    .await
}

/// Target tracking at 50 % CPU between 1 and 3 tasks, with a 30 s scale-in cooldown. Each
/// task requests one core (cpu 1024) and kwok reports it using 900m (the docker label
/// becomes the pod annotation kwok's emulated usage reads): the service scales out to its
/// maxCapacity and no further, and its rolling bounds follow the new count as on ECS. Then
/// usage drops to 50m: it scales in to minCapacity, not before the cooldown. The replica
/// count, sampled from a watch throughout, never leaves [1, 3]; the HPA writes it into the
/// EcsService's desiredCount (its scale subresource) and the operator into the Deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_tracking_scales_on_real_cpu_usage_within_capacity_and_after_the_cooldown() {
    let World {
        client,
        ns,
        services,
        op,
        _cleanup,
    } = world(
        "sem-scale",
        &[
            task_definition("busy", 1024, json!({"kwok.x-k8s.io/usage-cpu": "900m"})),
            service(
                "busy",
                json!({"taskDefinition": "busy", "desiredCount": 1,
                    "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
                    "autoScaling": {"minCapacity": 1, "maxCapacity": 3, "scalingPolicies": [{
                        "policyName": "cpu50", "policyType": "TargetTrackingScaling",
                        "targetTrackingScalingPolicyConfiguration": {
                            "targetValue": 50, "scaleInCooldown": 30,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}]}}),
            ),
        ],
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let replicas_seen = Arc::new(Mutex::new(Vec::<i32>::new()));
    let watch = {
        let api = deployments.clone();
        let seen = replicas_seen.clone();
        tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default().fields("metadata.name=busy"))
                .default_backoff()
                .applied_objects();
            let mut stream = std::pin::pin!(stream);
            while let Some(Ok(d)) = stream.next().await {
                if let Some(r) = d.spec.and_then(|s| s.replicas) {
                    seen.lock().unwrap().push(r);
                }
            }
        })
    };

    let hpa: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
    // 900m of 1 core is 90 % against a 50 % target: 1 → 2 → 3 (4 wanted, capped).
    eventually(
        "the service scales out to maxCapacity 3",
        CONVERGE + CONVERGE,
        || {
            let (services, hpa) = (services.clone(), hpa.clone());
            async move {
                let st = services
                    .get("busy")
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                let h = hpa
                    .get("busy")
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                if st.desired_count == Some(3) && st.running_count == Some(3) {
                    Ok(())
                } else {
                    Err(format!(
                        "desired {:?}, running {:?}; HPA current {:?} desired {}, metrics {:?}",
                        st.desired_count,
                        st.running_count,
                        h.current_replicas,
                        h.desired_replicas,
                        h.current_metrics
                    ))
                }
            }
        },
    )
    .await;
    // ECS computes the bounds from the current desired count: at 3 tasks and 100/200 %,
    // none may stop and floor(6) − 3 = 3 may start (at desiredCount 1 it was 1).
    eventually("the rolling bounds follow the count", CONVERGE, || {
        let deployments = deployments.clone();
        async move {
            let d = deployments.get("busy").await.map_err(|e| e.to_string())?;
            let b = rolling_bounds(&d);
            (b == (0, 3)).then_some(()).ok_or(format!("bounds {b:?}"))
        }
    })
    .await;
    // The HPA scales the EcsService: it wrote desiredCount 3, which the operator made the
    // Deployment's replicas.
    let svc = services.get("busy").await.unwrap();
    assert_eq!(
        svc.spec.desired_count,
        Some(3),
        "the HPA wrote the service's count"
    );
    let d = deployments.get("busy").await.unwrap();
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(3));

    // Usage drops to 5 %: the autoscaler wants 1 task, but only after 30 s of that.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let dropped = tokio::time::Instant::now();
    for p in pods
        .list(&ListParams::default().labels("ecsplane.io/service=busy"))
        .await
        .unwrap()
        .items
    {
        pods.patch(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"kwok.x-k8s.io/usage-cpu": "50m"}}})),
        )
        .await
        .unwrap();
    }
    eventually(
        "the service scales in to minCapacity 1",
        CONVERGE + CONVERGE,
        || {
            let services = services.clone();
            async move {
                let st = services
                    .get("busy")
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                let ready = condition(&st.common.conditions, "Ready");
                if st.desired_count == Some(1)
                    && st.running_count == Some(1)
                    && ready.starts_with("True")
                {
                    Ok(())
                } else {
                    Err(format!(
                        "desired {:?}, running {:?}, Ready {ready}",
                        st.desired_count, st.running_count
                    ))
                }
            }
        },
    )
    .await;
    assert!(
        dropped.elapsed() >= Duration::from_secs(30),
        "scaled in {:?} after usage dropped, within the 30 s scale-in cooldown",
        dropped.elapsed()
    );
    watch.abort();
    let seen = replicas_seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|r| (1..=3).contains(r)),
        "the replica count left [minCapacity 1, maxCapacity 3]: {seen:?}"
    );
    assert!(seen.contains(&3) && seen.last() == Some(&1), "{seen:?}");
    op.stop().await;
}

/// Deleting an EcsService removes what it made (Deployment, HPA, ServiceAccount): the
/// owner references let Kubernetes' garbage collector do it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_service_garbage_collects_its_children() {
    let mut td = task_definition("gone", 256, json!({}));
    td["spec"]["taskRoleArn"] = json!("arn:aws:iam::123456789012:role/gone");
    let World {
        client,
        ns,
        services,
        op,
        _cleanup,
    } = world(
        "sem-delete",
        &[
            td,
            service(
                "gone",
                json!({"taskDefinition": "gone", "desiredCount": 1,
                    "autoScaling": {"minCapacity": 1, "maxCapacity": 2, "scalingPolicies": [{
                        "policyName": "cpu", "policyType": "TargetTrackingScaling",
                        "targetTrackingScalingPolicyConfiguration": {"targetValue": 70,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}]}}),
            ),
        ],
    )
    .await;
    ready_with(&services, "gone", 1).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let sa_name = deployments
        .get("gone")
        .await
        .unwrap()
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .service_account_name
        .expect("the task role's ServiceAccount");
    assert!(hpas.get_opt("gone").await.unwrap().is_some());
    assert!(accounts.get_opt(&sa_name).await.unwrap().is_some());

    services
        .delete("gone", &DeleteParams::default())
        .await
        .unwrap();
    eventually(
        "the service's children are garbage collected",
        CONVERGE,
        || {
            let (deployments, hpas, accounts, pods) = (
                deployments.clone(),
                hpas.clone(),
                accounts.clone(),
                Api::<Pod>::namespaced(client.clone(), &ns),
            );
            let sa_name = sa_name.clone();
            async move {
                let left = [
                    (
                        "Deployment",
                        deployments
                            .get_opt("gone")
                            .await
                            .map_err(|e| e.to_string())?
                            .is_some(),
                    ),
                    (
                        "HorizontalPodAutoscaler",
                        hpas.get_opt("gone")
                            .await
                            .map_err(|e| e.to_string())?
                            .is_some(),
                    ),
                    (
                        "ServiceAccount",
                        accounts
                            .get_opt(&sa_name)
                            .await
                            .map_err(|e| e.to_string())?
                            .is_some(),
                    ),
                    (
                        "Pod",
                        !pods
                            .list(&ListParams::default().labels("ecsplane.io/service=gone"))
                            .await
                            .map_err(|e| e.to_string())?
                            .items
                            .is_empty(),
                    ),
                ];
                let left: Vec<_> = left
                    .iter()
                    .filter(|(_, there)| *there)
                    .map(|(k, _)| *k)
                    .collect();
                left.is_empty()
                    .then_some(())
                    .ok_or(format!("still there: {left:?}"))
            }
        },
    )
    .await;
    op.stop().await;
}

/// ECS's deployment circuit breaker with rollback. Revision 2's essential container keeps
/// exiting (written into each of its pods' status as the kubelet would: kwok runs no
/// containers); each exit stops the task and counts as a failed task of the deployment. At
/// half the desired count, but at least 3, failed tasks the deployment is FAILED and the
/// service rolls back to revision 1, which it keeps running although its spec still names
/// revision 2, as ECS does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_whose_tasks_keep_failing_trips_the_circuit_breaker_and_rolls_back() {
    let World {
        client,
        ns,
        services,
        op,
        _cleanup,
    } = world(
        "sem-breaker",
        &[
            task_definition("flaky", 256, json!({})),
            service(
                "flaky",
                json!({"taskDefinition": "flaky:1", "desiredCount": 2,
                    "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200,
                        "deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
            ),
        ],
    )
    .await;
    ready_with(&services, "flaky", 2).await;

    // The kubelet of revision 2's tasks: the essential container exits with code 1.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let crashes = Arc::new(Mutex::new(0usize));
    let crasher = {
        let (pods, crashes) = (pods.clone(), crashes.clone());
        tokio::spawn(async move {
            loop {
                let list = pods
                    .list(&ListParams::default().labels("ecsplane.io/service=flaky"))
                    .await
                    .map(|l| l.items)
                    .unwrap_or_default();
                for p in list {
                    let revision_2 = p
                        .annotations()
                        .get("ecsplane.io/task-definition")
                        .is_some_and(|t| t == "flaky:2");
                    let status = p.status.clone().unwrap_or_default();
                    let running = status.phase.as_deref() == Some("Running");
                    let exited = status
                        .container_statuses
                        .iter()
                        .flatten()
                        .any(|c| c.restart_count > 0);
                    if !revision_2 || !running || exited || p.metadata.deletion_timestamp.is_some()
                    {
                        continue;
                    }
                    let patched = container_exited_and_restarted(&pods, &p, 1).await;
                    if patched.is_ok() {
                        *crashes.lock().unwrap() += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    update_service(&client, &ns, &services, "flaky").await;

    let events = eventually("the circuit breaker trips", CONVERGE, || {
        let services = services.clone();
        async move {
            let st = services
                .get("flaky")
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            let events: Vec<String> = st.events.iter().map(|e| e.message.clone()).collect();
            if events
                .iter()
                .any(|e| e.contains("rolling back to deployment"))
            {
                Ok(events)
            } else {
                Err(format!("{:?}; events {events:?}", st.deployments))
            }
        }
    })
    .await;
    let stopped = events
        .iter()
        .filter(|e| e.starts_with("(service flaky) has stopped 1 running tasks"))
        .count();
    assert!(
        stopped >= 3,
        "the breaker trips at 3 failed tasks, not before: {events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.ends_with("deployment failed: tasks failed to start.")),
        "{events:#?}"
    );
    assert!(
        events.iter().any(
            |e| e.starts_with("(service flaky) rolling back to deployment")
                && e.ends_with("(flaky:1).")
        ),
        "{events:#?}"
    );

    let st = settles_on(&services, "flaky", "PRIMARY flaky:1 COMPLETED 2/2").await;
    assert_eq!(st.task_definition.as_deref(), Some("flaky:1"));
    crasher.abort();
    let svc = services.get("flaky").await.unwrap();
    assert_eq!(
        svc.spec.task_definition, "flaky:2",
        "the user's spec is left as it was"
    );
    let live: Vec<_> = pods
        .list(&ListParams::default().labels("ecsplane.io/service=flaky"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| p.annotations().get("ecsplane.io/task-definition").cloned())
        .collect();
    assert_eq!(
        live,
        [Some("flaky:1".to_owned()), Some("flaky:1".to_owned())]
    );
    // Rolled back, it stays rolled back: no further deployment of revision 2.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let st = services.get("flaky").await.unwrap().status.unwrap();
    assert_eq!(st.task_definition.as_deref(), Some("flaky:1"));
    eprintln!(
        "{} crashes written; events: {:#?}",
        crashes.lock().unwrap(),
        st.events
    );
    op.stop().await;
}
