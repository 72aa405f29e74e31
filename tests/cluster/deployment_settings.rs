//! Deployment settings ECS registers but cannot deploy, and non-essential containers, on the
//! real control plane: what a user sees is what ECS would show.

use std::time::Duration;

use ecsplane::api::{EcsService, EcsTask, TaskDefinition};
use ecsplane::translate::rollout::STUCK_MESSAGE;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::harness;
use crate::operator::{CONVERGE, Operator, apply_all, condition, eventually, test_namespace};

fn task_definition(family: &str, containers: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {"family": family, "containerDefinitions": containers}
    })
}

fn app(environment: serde_json::Value) -> serde_json::Value {
    json!({"name": "app", "image": "public.ecr.aws/docker/library/busybox:1.36",
        "command": ["sleep", "infinity"], "cpu": 128, "memory": 128, "environment": environment})
}

/// The live pods of service `name` (not being deleted), with the revision each runs.
async fn pods_of(pods: &Api<Pod>, name: &str) -> Result<Vec<(String, String)>, String> {
    Ok(pods
        .list(&ListParams::default().labels(&format!("ecsplane.io/service={name}")))
        .await
        .map_err(|e| e.to_string())?
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let td = p
                .annotations()
                .get("ecsplane.io/task-definition")
                .cloned()
                .unwrap_or_default();
            (p.name_any(), td)
        })
        .collect())
}

async fn ready_with(services: &Api<EcsService>, name: &str, running: i32) {
    eventually(&format!("{name} Ready with {running}"), CONVERGE, || {
        let services = services.clone();
        let name = name.to_owned();
        async move {
            let st = services
                .get(&name)
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            let ready = condition(&st.common.conditions, "Ready");
            if ready.starts_with("True") && st.running_count == Some(running) {
                Ok(())
            } else {
                Err(format!("Ready {ready}, running {:?}", st.running_count))
            }
        }
    })
    .await;
}

/// 100/100 with 2 tasks: ECS registers the service and starts its 2 tasks; a new revision
/// then can neither stop an old task nor start a new one, so the deployment stays
/// IN_PROGRESS, the 2 old tasks keep running, and the service says why with ECS's message
/// (`(service NAME) was unable to stop or start tasks during a deployment because of the
/// service deployment configuration…`) as a condition, a service event and a Warning Event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_ecs_cannot_deploy_runs_its_tasks_then_holds_the_new_revision_with_the_ecs_message()
 {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "sem-stuck").await;
    apply_all(
        &client,
        &ns,
        &[
            task_definition("still", json!([app(json!([]))])),
            json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
                "metadata": {"name": "still"},
                "spec": {"taskDefinition": "still:1", "desiredCount": 2,
                    "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 100}}}),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    ready_with(&services, "still", 2).await;
    let d = deployments.get("still").await.unwrap();
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.clone())
        .unwrap();
    assert_eq!(
        (ru.max_unavailable, ru.max_surge),
        (Some(IntOrString::Int(0)), Some(IntOrString::Int(1)))
    );
    let before = pods_of(&pods, "still").await.unwrap();
    assert_eq!(before.len(), 2, "{before:?}");

    // aws ecs register-task-definition; aws ecs update-service --task-definition still:2
    harness::apply(
        &client,
        &ns,
        &task_definition("still", json!([app(json!([{"name": "V", "value": "2"}]))])),
        false,
    )
    .await
    .unwrap();
    let tds: Api<TaskDefinition> = Api::namespaced(client.clone(), &ns);
    eventually("revision 2 is registered", CONVERGE, || {
        let tds = tds.clone();
        async move {
            let r = tds
                .get("still")
                .await
                .map_err(|e| e.to_string())?
                .status
                .and_then(|s| s.revision);
            (r == Some(2)).then_some(()).ok_or(format!("{r:?}"))
        }
    })
    .await;
    services
        .patch(
            "still",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"taskDefinition": "still:2"}})),
        )
        .await
        .unwrap();

    let message = format!("(service still) {STUCK_MESSAGE}");
    eventually(
        "the service says its deployment cannot progress",
        CONVERGE,
        || {
            let services = services.clone();
            let message = message.clone();
            async move {
                let st = services
                    .get("still")
                    .await
                    .map_err(|e| e.to_string())?
                    .status
                    .unwrap_or_default();
                let progressing = condition(&st.common.conditions, "Progressing");
                let event = st.events.iter().any(|e| e.message == message);
                if progressing == format!("False/DeploymentConfigurationStuck: {message}")
                    && event
                    && st.rollout_state.as_deref() == Some("IN_PROGRESS")
                {
                    Ok(())
                } else {
                    Err(format!(
                        "Progressing {progressing}, rollout {:?}, events {:?}",
                        st.rollout_state, st.events
                    ))
                }
            }
        },
    )
    .await;
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    eventually("a Warning Event carries ECS's message", CONVERGE, || {
        let events = events.clone();
        let message = message.clone();
        async move {
            let list = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?
                .items;
            list.iter()
                .any(|e| {
                    e.type_.as_deref() == Some("Warning")
                        && e.reason.as_deref() == Some("DeploymentConfigurationStuck")
                        && e.note.as_deref() == Some(message.as_str())
                })
                .then_some(())
                .ok_or(format!("{} events", list.len()))
        }
    })
    .await;
    let d = deployments.get("still").await.unwrap();
    assert_eq!(d.spec.as_ref().and_then(|s| s.paused), Some(true));
    // As on ECS, nothing is stopped or started: the same 2 tasks of revision 1, for a while.
    for _ in 0..10 {
        let now = pods_of(&pods, "still").await.unwrap();
        assert_eq!(now, before, "the old tasks keep running untouched");
        assert!(now.iter().all(|(_, td)| td == "still:1"), "{now:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    op.stop().await;
}

/// Writes into `pod`'s status what the kubelet reports when container `name` exited with
/// code 1 (`restarted`: and was restarted in place, as in a service's pod).
async fn container_exited(pods: &Api<Pod>, pod: &Pod, name: &str, restarted: bool) {
    let image = pod
        .spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .find(|c| c.name == name)
        .unwrap()
        .image
        .clone();
    let terminated = json!({"exitCode": 1, "reason": "Error",
        "startedAt": "2026-12-01T00:00:00Z", "finishedAt": "2026-12-01T00:00:01Z"});
    let status = if restarted {
        json!({"name": name, "image": image, "imageID": "", "ready": true, "restartCount": 1,
            "started": true, "state": {"running": {"startedAt": "2026-12-01T00:00:02Z"}},
            "lastState": {"terminated": terminated}})
    } else {
        json!({"name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0,
            "started": false, "state": {"terminated": terminated}})
    };
    pods.patch_status(
        &pod.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"containerStatuses": [status]}})),
    )
    .await
    .unwrap();
}

/// A non-essential container kept as a regular container (it waits for the essential one to
/// START) exits: ECS ignores a non-essential container's exit, so the service's task is not
/// stopped (the service stays Ready, no "has stopped" event) and the standalone task keeps
/// RUNNING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_essential_regular_container_that_exits_stops_neither_task_nor_service() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "sem-nonessential").await;
    let warmer = json!({"name": "warmer", "image": "public.ecr.aws/docker/library/busybox:1.36",
        "command": ["true"], "essential": false, "memory": 64,
        "dependsOn": [{"containerName": "app", "condition": "START"}]});
    apply_all(
        &client,
        &ns,
        &[
            task_definition("warm", json!([app(json!([])), warmer])),
            json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
                "metadata": {"name": "warm"}, "spec": {"taskDefinition": "warm", "desiredCount": 1}}),
            json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsTask",
                "metadata": {"name": "warm-once"}, "spec": {"taskDefinition": "warm", "count": 1}}),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let tasks: Api<EcsTask> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    ready_with(&services, "warm", 1).await;
    let task_status = || {
        let tasks = tasks.clone();
        async move {
            let st = tasks
                .get("warm-once")
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
    };
    eventually("the task runs", CONVERGE, task_status).await;

    let service_pod = pods
        .list(&ListParams::default().labels("ecsplane.io/service=warm"))
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        service_pod
            .annotations()
            .get("ecsplane.io/non-essential-containers")
            .map(String::as_str),
        Some("warmer"),
        "the translation names the non-essential regular container"
    );
    container_exited(&pods, &service_pod, "warmer", true).await;
    let task_pod = pods.get("warm-once-0").await.unwrap();
    container_exited(&pods, &task_pod, "warmer", false).await;

    // Every reconcile the pod events trigger has run well within this.
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let live = pods_of(&pods, "warm").await.unwrap();
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(
            live[0].0,
            service_pod.name_any(),
            "the task was not replaced"
        );
        let st = services
            .get("warm")
            .await
            .unwrap()
            .status
            .unwrap_or_default();
        assert!(
            condition(&st.common.conditions, "Ready").starts_with("True"),
            "{:?}",
            st.common.conditions
        );
        assert!(
            !st.events.iter().any(|e| e.message.contains("has stopped")),
            "{:?}",
            st.events
        );
        task_status().await.unwrap();
    }
    op.stop().await;
}
