//! EcsTask: starts its Pods once (like `aws ecs run-task`), never restarts them, and reports
//! ECS task status. When an essential container exits the task stops, as on ECS: its status
//! records `stopCode: EssentialContainerExited` and `stoppedReason: Essential container in
//! task exited` with every container's exit code, then its Pod is deleted so the remaining
//! containers stop too.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::watcher;
use serde_json::json;

use super::apply::{LABEL_OWNER, Owner, stamp};
use super::conditions::{self, Desired};
use super::resolve;
use super::service::exited_essential_container;
use super::{
    Context, FIELD_MANAGER, RESYNC, ReadyCounter, ReconcileError, api_err, drive, error_policy,
    timed,
};
use crate::api::{CommonStatus, ContainerStatus, EcsTask, EcsTaskStatus, TaskInstanceStatus};
use crate::translate::bundle::Bundle;
use crate::translate::{self, Object};

const KIND: &str = "EcsTask";
const STOPPED: &str = "STOPPED";
const ESSENTIAL_EXITED: &str = "Essential container in task exited";

/// Runs the EcsTask controller until `shutdown`.
pub(crate) async fn controller(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ready: Arc<ReadyCounter>,
) {
    let ctrl = Controller::new(ctx.api::<EcsTask>(), watcher::Config::default())
        .owns(
            ctx.api::<Pod>(),
            watcher::Config::default().labels(LABEL_OWNER),
        )
        .graceful_shutdown_on(shutdown);
    tokio::spawn(ready.when_listed(KIND, ctx.api::<EcsTask>()));
    drive(KIND, ctrl.run(reconcile, error_policy, ctx)).await;
}

async fn reconcile(t: Arc<EcsTask>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    timed(&ctx, KIND, async {
        // A task that has stopped must never start again: decide from the stored status, not
        // from a cache that may not have seen this controller's last write yet.
        match ctx.latest(t.as_ref()).await? {
            Some(t) => reconcile_task(&t, &ctx).await,
            None => Ok(Action::await_change()),
        }
    })
    .await
}

async fn reconcile_task(task: &EcsTask, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = task.metadata.namespace.clone().unwrap_or_default();
    let name = task.metadata.name.clone().unwrap_or_default();
    let owner = Owner::of(task);
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let previous = task.status.clone().unwrap_or_default();
    let pods = pods_api
        .list(&ListParams::default().labels(&owner.selector()))
        .await
        .map_err(api_err(format!("list pods of EcsTask {ns}/{name}")))?
        .items;
    if previous.last_status.as_deref() == Some(STOPPED) {
        stop_pods(&pods_api, &pods).await?;
        return Ok(Action::await_change());
    }
    // A task runs the revision resolved when it started, for good.
    let resolved = match resolve::task_definition(
        ctx,
        &ns,
        &task.spec.task_definition,
        previous.task_definition.as_deref(),
    )
    .await?
    {
        Ok(r) => r,
        Err(message) => {
            let status = pending_status(task, &previous, "TaskDefinitionNotFound", message);
            write_status(ctx, task, &previous, status).await?;
            return Ok(Action::requeue(std::time::Duration::from_secs(30)));
        }
    };
    let started = !previous.tasks.is_empty();
    if !started {
        let mut clean = task.clone();
        clean.spec.task_definition = resolved.family_revision.clone();
        clean.status = None;
        clean.metadata.managed_fields = None;
        let bundle = Bundle {
            tasks: vec![resolve::sourced(clean)],
            task_definitions: vec![resolve::sourced(resolved.task_definition.clone())],
            clusters: resolve::cluster(ctx, &ns, task.spec.cluster.as_deref()).await?,
            ..Bundle::default()
        };
        let objects = match translate::translate(&bundle) {
            Ok(t) => t.objects,
            Err(errors) => {
                let status = pending_status(
                    task,
                    &previous,
                    resolve::reason(&errors.0),
                    resolve::summarize(&errors.0),
                );
                write_status(ctx, task, &previous, status).await?;
                return Ok(Action::requeue(std::time::Duration::from_secs(30)));
            }
        };
        for o in objects {
            let Object::Pod(p) = &o else { continue };
            let pod_name = p.metadata.name.clone().unwrap_or_default();
            if pods
                .iter()
                .any(|x| x.metadata.name.as_deref() == Some(&pod_name))
            {
                continue;
            }
            let mut v = serde_json::to_value(&o).map_err(|source| ReconcileError::Serialize {
                what: o.id(),
                source,
            })?;
            stamp(&mut v, &owner);
            pods_api
                .patch(
                    &pod_name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&v),
                )
                .await
                .map_err(api_err(format!("start task {ns}/{pod_name}")))?;
        }
        let pods = pods_api
            .list(&ListParams::default().labels(&owner.selector()))
            .await
            .map_err(api_err(format!("list pods of EcsTask {ns}/{name}")))?
            .items;
        let status = observed_status(task, &previous, &resolved.family_revision, &pods);
        write_status(ctx, task, &previous, status).await?;
        return Ok(Action::requeue(RESYNC));
    }
    let status = observed_status(task, &previous, &resolved.family_revision, &pods);
    let stopped_now = status.last_status.as_deref() == Some(STOPPED);
    if stopped_now {
        ctx.event(
            task,
            EventType::Normal,
            "TaskStopped",
            "StopTask",
            format!(
                "{}: {}",
                status.stop_code.clone().unwrap_or_default(),
                status.stopped_reason.clone().unwrap_or_default()
            ),
        )
        .await;
    }
    write_status(ctx, task, &previous, status).await?;
    if stopped_now {
        // Recorded first, so the exit codes survive the pods.
        stop_pods(&pods_api, &pods).await?;
    }
    Ok(Action::requeue(RESYNC))
}

async fn stop_pods(api: &Api<Pod>, pods: &[Pod]) -> Result<(), ReconcileError> {
    for p in pods {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = p.metadata.name.clone().unwrap_or_default();
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(api_err(format!("stop task pod {name}"))(e)),
        }
    }
    Ok(())
}

/// One task instance's status from its pod (`None`: the pod is gone).
fn instance(
    pod_name: &str,
    pod: Option<&Pod>,
    previous: Option<&TaskInstanceStatus>,
) -> (TaskInstanceStatus, Option<(&'static str, String)>) {
    let Some(pod) = pod else {
        // Gone: keep what was last seen, stopped.
        let mut last = previous.cloned().unwrap_or(TaskInstanceStatus {
            pod_name: pod_name.to_owned(),
            ..TaskInstanceStatus::default()
        });
        let was_stopped = last.last_status == STOPPED;
        last.last_status = STOPPED.into();
        for c in &mut last.containers {
            c.last_status = STOPPED.into();
        }
        let why = (!was_stopped).then(|| {
            (
                "UserInitiated",
                "Task stopped: its pod was deleted".to_owned(),
            )
        });
        return (last, why);
    };
    let statuses = pod.status.as_ref();
    let containers: Vec<ContainerStatus> = statuses
        .map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
                .map(|c| {
                    let state = c.state.as_ref();
                    let terminated = state.and_then(|s| s.terminated.as_ref());
                    ContainerStatus {
                        name: c.name.clone(),
                        last_status: if terminated.is_some() {
                            STOPPED
                        } else if state.and_then(|s| s.running.as_ref()).is_some() {
                            "RUNNING"
                        } else {
                            "PENDING"
                        }
                        .into(),
                        exit_code: terminated.map(|t| t.exit_code),
                        reason: terminated.and_then(|t| t.reason.clone()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let phase = statuses
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    let essential_exit = exited_essential_container(pod);
    let last_status = if essential_exit.is_some() || matches!(phase, "Succeeded" | "Failed") {
        STOPPED
    } else if phase == "Running" {
        "RUNNING"
    } else {
        "PENDING"
    };
    let why = (last_status == STOPPED).then(|| {
        (
            "EssentialContainerExited",
            match essential_exit {
                Some(c) => format!("{ESSENTIAL_EXITED} ({c})"),
                None => ESSENTIAL_EXITED.to_owned(),
            },
        )
    });
    (
        TaskInstanceStatus {
            pod_name: pod_name.to_owned(),
            last_status: last_status.into(),
            containers,
        },
        why,
    )
}

fn observed_status(
    task: &EcsTask,
    previous: &EcsTaskStatus,
    task_definition: &str,
    pods: &[Pod],
) -> EcsTaskStatus {
    let count = task.spec.count.unwrap_or(1).max(1) as usize;
    let name = task.metadata.name.clone().unwrap_or_default();
    let mut instances = Vec::new();
    let mut stop: Option<(&'static str, String)> = None;
    for i in 0..count {
        let pod_name = format!("{name}-{i}");
        let pod = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(&pod_name));
        let prev = previous.tasks.iter().find(|t| t.pod_name == pod_name);
        if pod.is_none() && prev.is_none() {
            // Not started yet.
            instances.push(TaskInstanceStatus {
                pod_name,
                last_status: "PROVISIONING".into(),
                containers: Vec::new(),
            });
            continue;
        }
        let (inst, why) = instance(&pod_name, pod, prev);
        if stop.is_none() {
            stop = why;
        }
        instances.push(inst);
    }
    let all_stopped = instances.iter().all(|t| t.last_status == STOPPED);
    let any_stopped = instances.iter().any(|t| t.last_status == STOPPED);
    let all_running = instances.iter().all(|t| t.last_status == "RUNNING");
    // ECS stops the task (all of `count` are separate tasks; ecsplane reports them together):
    // once any instance stops, the EcsTask reports STOPPED with the first reason.
    let last_status = if any_stopped {
        STOPPED
    } else if all_running {
        "RUNNING"
    } else {
        "PENDING"
    };
    let (stop_code, stopped_reason) = match (&previous.stop_code, stop) {
        (Some(code), _) => (Some(code.clone()), previous.stopped_reason.clone()),
        (None, Some((code, reason))) if any_stopped => (Some(code.to_owned()), Some(reason)),
        _ => (None, None),
    };
    let _ = all_stopped;
    let ready = match last_status {
        "RUNNING" => Desired::new(
            "Ready",
            true,
            "Running",
            format!("{} task(s) running", instances.len()),
        ),
        STOPPED => Desired::new(
            "Ready",
            false,
            "Stopped",
            stopped_reason.clone().unwrap_or_default(),
        ),
        _ => Desired::new(
            "Ready",
            false,
            "Pending",
            "waiting for the task's containers to start",
        ),
    };
    EcsTaskStatus {
        task_definition: Some(task_definition.to_owned()),
        last_status: Some(last_status.into()),
        desired_status: Some(
            if last_status == STOPPED {
                STOPPED
            } else {
                "RUNNING"
            }
            .into(),
        ),
        stop_code,
        stopped_reason,
        tasks: instances,
        common: CommonStatus {
            observed_generation: task.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![ready],
                task.metadata.generation,
                &conditions::now(),
            ),
        },
    }
}

fn pending_status(
    task: &EcsTask,
    previous: &EcsTaskStatus,
    reason: &str,
    message: String,
) -> EcsTaskStatus {
    EcsTaskStatus {
        last_status: Some("PROVISIONING".into()),
        desired_status: Some("RUNNING".into()),
        common: CommonStatus {
            observed_generation: task.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![Desired::new("Ready", false, reason, message)],
                task.metadata.generation,
                &conditions::now(),
            ),
        },
        ..previous.clone()
    }
}

async fn write_status(
    ctx: &Context,
    task: &EcsTask,
    previous: &EcsTaskStatus,
    status: EcsTaskStatus,
) -> Result<(), ReconcileError> {
    if &status == previous {
        return Ok(());
    }
    let ns = task.metadata.namespace.clone().unwrap_or_default();
    let name = task.metadata.name.clone().unwrap_or_default();
    Api::<EcsTask>::namespaced(ctx.client.clone(), &ns)
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
        .map_err(api_err(format!("write status of EcsTask {ns}/{name}")))?;
    Ok(())
}
