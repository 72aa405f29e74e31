//! EcsTask: starts its Pods once (like `aws ecs run-task`), never restarts them, and reports
//! ECS task status. When an essential container exits the task stops, as on ECS: its status
//! records `stopCode: EssentialContainerExited` and `stoppedReason: Essential container in
//! task exited` with every container's exit code, then its Pod is deleted so the remaining
//! containers stop too.
//!
//! The reconcile is the pipeline `resolve` → `translate` → `apply` (a task not started
//! yet only) → observe (its pods) → `update_status`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;

use super::apply::{self, Owner, stamp};
use super::conditions::{self, Desired};
use super::ownership::Conflict;
use super::resolve::{self, Blocked};
use super::service::exited_essential_container;
use super::vocabulary::{
    ConditionType, ESSENTIAL_CONTAINER_EXITED, EventAction, EventReason, Reason, StopCode,
    TaskStatus,
};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, errors, status};
use crate::api::{
    CommonStatus, ContainerStatus, EcsTask, EcsTaskStatus, TaskDefinition, TaskInstanceStatus,
};
use crate::translate::bundle::Bundle;
use crate::translate::{self, Object, names};

/// Runs the EcsTask controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctrl = wiring
        .controller::<EcsTask>()
        .owns_stream(wiring.changes::<Pod>());
    // A task waiting for its task definition starts when the family registers (no timer).
    let by_family = ctrl.store();
    let ctrl = ctrl.watches_stream(wiring.changes::<TaskDefinition>(), move |td| {
        let ns = td.metadata.namespace.clone();
        by_family
            .state()
            .into_iter()
            .filter(|t| {
                t.metadata.namespace == ns
                    && names::task_definition_ref(&t.spec.task_definition).0 == td.spec.family
            })
            .map(|t| ObjectRef::from_obj(t.as_ref()))
            .collect::<Vec<_>>()
    });
    wiring.run(ctrl, reconcile).await;
}

async fn reconcile(task: Arc<EcsTask>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    // A task that has stopped must never start again: decide from the stored status, not
    // from a cache that may not have seen this controller's last write yet.
    let Some(task) = ctx.reader.latest(task.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    let previous = task.status.clone().unwrap_or_default();
    let owner = Owner::of(&task);
    let pods = ctx.reader.pods_of(&owner).await?;
    if previous.last_status.as_deref() == Some(TaskStatus::Stopped.as_str()) {
        stop(&ctx, &task, &pods).await?;
        return Ok(Action::await_change());
    }
    let started = !previous.tasks.is_empty();
    let resolved = match resolve(&ctx, &task, &previous, started).await? {
        Ok(resolved) => resolved,
        Err(blocked) => return block(&ctx, &task, &previous, blocked).await,
    };
    let pods = match &resolved.to_start {
        Some(bundle) => {
            let to_start = match translate(&ctx, bundle) {
                Ok(to_start) => to_start,
                Err(blocked) => return block(&ctx, &task, &previous, blocked).await,
            };
            let conflicts = apply(&ctx, &owner, to_start, &pods).await?;
            if !conflicts.is_empty() {
                apply::report_conflicts(&ctx, &task, &conflicts).await;
                return block(&ctx, &task, &previous, Blocked::conflicts(&conflicts)).await;
            }
            ctx.reader.pods_of(&owner).await?
        }
        None => pods,
    };
    let status = observed_status(
        &task,
        &previous,
        &resolved.family_revision,
        &pods,
        &conditions::now(),
    );
    update_status(&ctx, &task, &previous, status, started.then_some(&pods)).await
}

/// What a task runs, read from the cluster.
struct Resolved {
    /// The revision, `family:revision`: resolved when the task started, for good.
    family_revision: String,
    /// For a task not started yet: the task (its task definition resolved), that revision
    /// and its cluster, to translate.
    to_start: Option<Bundle>,
}

async fn resolve(
    ctx: &Context,
    task: &EcsTask,
    previous: &EcsTaskStatus,
    started: bool,
) -> Result<Result<Resolved, Blocked>, ReconcileError> {
    let ns = task.metadata.namespace.clone().unwrap_or_default();
    let revision = match resolve::task_definition(
        ctx,
        &ns,
        &task.spec.task_definition,
        previous.task_definition.as_deref(),
    )
    .await?
    {
        Ok(r) => r,
        Err(message) => return Ok(Err(Blocked::task_definition_not_found(message))),
    };
    let to_start = if started {
        None
    } else {
        let mut clean = task.clone();
        clean.spec.task_definition = revision.family_revision.clone();
        clean.status = None;
        clean.metadata.managed_fields = None;
        Some(Bundle {
            tasks: vec![resolve::sourced(clean)],
            task_definitions: vec![resolve::sourced(revision.task_definition)],
            clusters: resolve::cluster(ctx, &ns, task.spec.cluster.as_deref()).await?,
            ..Bundle::default()
        })
    };
    Ok(Ok(Resolved {
        family_revision: revision.family_revision,
        to_start,
    }))
}

/// What a task starts: its Pods and, with a task role, the ServiceAccount they run as.
struct ToStart {
    pods: Vec<Pod>,
    service_accounts: Vec<Object>,
}

/// The task's Pods and ServiceAccount, from the one translation `ecsplane render` runs.
fn translate(ctx: &Context, bundle: &Bundle) -> Result<ToStart, Blocked> {
    let options = translate::Options {
        security_policy: ctx.options.security_policy,
        ..translate::Options::default()
    };
    let translation = translate::translate_with(bundle, &options)
        .map_err(|errors| Blocked::translation(&errors.0))?;
    let mut out = ToStart {
        pods: Vec::new(),
        service_accounts: Vec::new(),
    };
    for o in translation.objects {
        match o {
            Object::Pod(p) => out.pods.push(*p),
            o @ Object::ServiceAccount(_) => out.service_accounts.push(o),
            _ => {}
        }
    }
    Ok(out)
}

/// Applies the task's ServiceAccount, then starts the Pods that do not exist yet
/// (`existing`). Nothing is written when a name is taken by somebody else's object: the
/// conflicts are returned.
async fn apply(
    ctx: &Context,
    owner: &Owner,
    to_start: ToStart,
    existing: &[Pod],
) -> Result<Vec<Conflict>, ReconcileError> {
    let pod_kind = apply::resource::<Pod>();
    let mut conflicts = Vec::new();
    for pod in &to_start.pods {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        if !existing
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(name))
            && let Some(c) = apply::conflict(ctx, owner, &pod_kind, name).await?
        {
            conflicts.push(c);
        }
    }
    if !conflicts.is_empty() {
        return Ok(conflicts);
    }
    let applied = apply::reconcile_children(
        ctx,
        owner,
        &[apply::resource::<ServiceAccount>()],
        to_start.service_accounts,
    )
    .await?;
    if !applied.conflicts.is_empty() {
        return Ok(applied.conflicts);
    }
    for pod in to_start.pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if existing
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(&name))
        {
            continue;
        }
        let action = || format!("start task {}/{name}", owner.namespace);
        let mut obj = apply::to_json(&pod, action)?;
        stamp(&mut obj, owner);
        apply::apply_one::<Pod>(ctx, &owner.namespace, &name, &obj, action).await?;
    }
    Ok(Vec::new())
}

/// Writes the status; a task that was running and has stopped just now gets an Event, then
/// (once its exit codes are recorded) its `pods` are deleted.
async fn update_status(
    ctx: &Context,
    task: &EcsTask,
    previous: &EcsTaskStatus,
    status: EcsTaskStatus,
    pods: Option<&Vec<Pod>>,
) -> Result<Action, ReconcileError> {
    let stopped_now =
        pods.filter(|_| status.last_status.as_deref() == Some(TaskStatus::Stopped.as_str()));
    if stopped_now.is_some() {
        ctx.event(
            task,
            EventType::Normal,
            EventReason::TaskStopped,
            EventAction::StopTask,
            format!(
                "{}: {}",
                status.stop_code.clone().unwrap_or_default(),
                status.stopped_reason.clone().unwrap_or_default()
            ),
        )
        .await;
    }
    status::write(ctx, task, previous, &status).await?;
    if let Some(pods) = stopped_now {
        // Recorded first, so the exit codes survive the pods.
        stop(ctx, task, pods).await?;
    }
    Ok(Action::requeue(RESYNC))
}

/// Deletes the task's pods that are not being deleted already.
async fn stop(ctx: &Context, task: &EcsTask, pods: &[Pod]) -> Result<(), ReconcileError> {
    let ns = task.metadata.namespace.as_deref().unwrap_or_default();
    for p in pods {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        apply::stop_pod(ctx, ns, p.metadata.name.as_deref().unwrap_or_default()).await?;
    }
    Ok(())
}

/// Writes the status of a task that cannot start as specified; it looks again when it or its
/// task definition changes ([`errors::blocked`]).
async fn block(
    ctx: &Context,
    task: &EcsTask,
    previous: &EcsTaskStatus,
    blocked: Blocked,
) -> Result<Action, ReconcileError> {
    let status = pending_status(task, previous, blocked.clone(), &conditions::now());
    status::write(ctx, task, previous, &status).await?;
    Ok(errors::blocked(ctx, task, &blocked).await)
}

/// One task instance's status from its pod (`None`: the pod is gone).
fn instance(
    pod_name: &str,
    pod: Option<&Pod>,
    previous: Option<&TaskInstanceStatus>,
) -> (TaskInstanceStatus, Option<(StopCode, String)>) {
    let Some(pod) = pod else {
        // Gone: keep what was last seen, stopped.
        let mut last = previous.cloned().unwrap_or(TaskInstanceStatus {
            pod_name: pod_name.to_owned(),
            ..TaskInstanceStatus::default()
        });
        let was_stopped = last.last_status == TaskStatus::Stopped;
        last.last_status = TaskStatus::Stopped.as_str().into();
        for c in &mut last.containers {
            c.last_status = TaskStatus::Stopped.as_str().into();
        }
        let why = (!was_stopped).then(|| {
            (
                StopCode::UserInitiated,
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
                            TaskStatus::Stopped
                        } else if state.and_then(|s| s.running.as_ref()).is_some() {
                            TaskStatus::Running
                        } else {
                            TaskStatus::Pending
                        }
                        .as_str()
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
        TaskStatus::Stopped
    } else if phase == "Running" {
        TaskStatus::Running
    } else {
        TaskStatus::Pending
    };
    let why = (last_status == TaskStatus::Stopped).then(|| {
        (
            StopCode::EssentialContainerExited,
            match essential_exit {
                Some(c) => format!("{ESSENTIAL_CONTAINER_EXITED} ({c})"),
                None => ESSENTIAL_CONTAINER_EXITED.to_owned(),
            },
        )
    });
    (
        TaskInstanceStatus {
            pod_name: pod_name.to_owned(),
            last_status: last_status.as_str().into(),
            containers,
        },
        why,
    )
}

/// The status of a started task from its pods: each instance's, and the task's (STOPPED for
/// good once any instance stops, with the first reason).
fn observed_status(
    task: &EcsTask,
    previous: &EcsTaskStatus,
    task_definition: &str,
    pods: &[Pod],
    now: &Time,
) -> EcsTaskStatus {
    let count = task.spec.count.unwrap_or(1).max(1) as usize;
    let name = task.metadata.name.clone().unwrap_or_default();
    let mut instances = Vec::new();
    let mut stop: Option<(StopCode, String)> = None;
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
                last_status: TaskStatus::Provisioning.as_str().into(),
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
    let any_stopped = instances
        .iter()
        .any(|t| t.last_status == TaskStatus::Stopped);
    let all_running = instances
        .iter()
        .all(|t| t.last_status == TaskStatus::Running);
    // ECS stops the task (all of `count` are separate tasks; ecsplane reports them together):
    // once any instance stops, the EcsTask reports STOPPED with the first reason.
    let last_status = if any_stopped {
        TaskStatus::Stopped
    } else if all_running {
        TaskStatus::Running
    } else {
        TaskStatus::Pending
    };
    let (stop_code, stopped_reason) = match (&previous.stop_code, stop) {
        (Some(code), _) => (Some(code.clone()), previous.stopped_reason.clone()),
        (None, Some((code, reason))) if any_stopped => {
            (Some(code.as_str().to_owned()), Some(reason))
        }
        _ => (None, None),
    };
    let ready = match last_status {
        TaskStatus::Running => Desired::new(
            ConditionType::Ready,
            true,
            Reason::Running,
            format!("{} task(s) running", instances.len()),
        ),
        TaskStatus::Stopped => Desired::new(
            ConditionType::Ready,
            false,
            Reason::Stopped,
            stopped_reason.clone().unwrap_or_default(),
        ),
        TaskStatus::Pending | TaskStatus::Provisioning => Desired::new(
            ConditionType::Ready,
            false,
            Reason::Pending,
            "waiting for the task's containers to start",
        ),
    };
    let desired_status = if last_status == TaskStatus::Stopped {
        TaskStatus::Stopped
    } else {
        TaskStatus::Running
    };
    EcsTaskStatus {
        task_definition: Some(task_definition.to_owned()),
        last_status: Some(last_status.as_str().into()),
        desired_status: Some(desired_status.as_str().into()),
        stop_code,
        stopped_reason,
        tasks: instances,
        common: CommonStatus {
            observed_generation: task.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![ready],
                task.metadata.generation,
                now,
            ),
        },
    }
}

/// The status of a task that cannot start (yet): PROVISIONING, Ready False with the reason.
fn pending_status(
    task: &EcsTask,
    previous: &EcsTaskStatus,
    blocked: Blocked,
    now: &Time,
) -> EcsTaskStatus {
    EcsTaskStatus {
        last_status: Some(TaskStatus::Provisioning.as_str().into()),
        desired_status: Some(TaskStatus::Running.as_str().into()),
        common: CommonStatus {
            observed_generation: task.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![Desired::new(
                    ConditionType::Ready,
                    false,
                    blocked.reason,
                    blocked.message,
                )],
                task.metadata.generation,
                now,
            ),
        },
        ..previous.clone()
    }
}
