//! EcsService: applies the Deployment or DaemonSet, HorizontalPodAutoscaler and ServiceAccount
//! the translation produces; replaces a task whose essential container exited, as ECS does;
//! reports ECS-style status (counts, deployments, rollout state, events, conditions).
//!
//! A service that names only its family runs the revision resolved when the service last
//! changed (`status.taskDefinition`), as ECS stores the resolved ARN: a new TaskDefinition
//! revision reaches the service when its spec changes (for example `spec.taskDefinition` set to
//! `family:N`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::json;

use super::apply::{self, LABEL_OWNER, Owner};
use super::conditions::{self, Desired};
use super::resolve;
use super::{
    Context, FIELD_MANAGER, RESYNC, ReadyCounter, ReconcileError, api_err, drive, error_policy,
    timed,
};
use crate::api::{
    CommonStatus, EcsCluster, EcsService, EcsServiceStatus, ServiceDeployment, ServiceEvent,
    TargetGroup, TaskDefinition,
};
use crate::translate::bundle::Bundle;
use crate::translate::{self, Object, names};

const KIND: &str = "EcsService";
/// Rollout states of a deployment, as ECS names them.
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";
const FAILED: &str = "FAILED";

/// How many ECS-style events `status.events` keeps.
const EVENTS_KEPT: usize = 10;
/// How often a service whose references are missing looks again (a watch usually wakes it
/// sooner).
const MISSING_RETRY: Duration = Duration::from_secs(30);

/// Runs the EcsService controller until `shutdown`.
pub(crate) async fn controller(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ready: Arc<ReadyCounter>,
) {
    let owned = || watcher::Config::default().labels(LABEL_OWNER);
    let ctrl = Controller::new(ctx.api::<EcsService>(), watcher::Config::default())
        .owns(ctx.api::<Deployment>(), owned())
        .owns(ctx.api::<DaemonSet>(), owned())
        .owns(ctx.api::<HorizontalPodAutoscaler>(), owned())
        .owns(ctx.api::<ServiceAccount>(), owned());
    let store = ctrl.store();
    let by_family = store.clone();
    let by_target_group = store.clone();
    let by_cluster = store.clone();
    let ctrl = ctrl
        .watches(
            ctx.api::<TaskDefinition>(),
            watcher::Config::default(),
            move |td| {
                let ns = td.metadata.namespace.clone();
                by_family
                    .state()
                    .into_iter()
                    .filter(|s| {
                        s.metadata.namespace == ns
                            && names::task_definition_ref(&s.spec.task_definition).0
                                == td.spec.family
                    })
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .watches(
            ctx.api::<TargetGroup>(),
            watcher::Config::default(),
            move |tg| {
                let ns = tg.metadata.namespace.clone();
                let tg_name = tg.target_group_name().to_owned();
                by_target_group
                    .state()
                    .into_iter()
                    .filter(|s| {
                        s.metadata.namespace == ns
                            && s.spec.load_balancers.iter().flatten().any(|lb| {
                                lb.target_group_arn
                                    .as_deref()
                                    .map(names::target_group_of_arn)
                                    == Some(tg_name.as_str())
                            })
                    })
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .watches(
            ctx.api::<EcsCluster>(),
            watcher::Config::default(),
            move |c| {
                let ns = c.metadata.namespace.clone();
                let name = c.metadata.name.clone().unwrap_or_default();
                by_cluster
                    .state()
                    .into_iter()
                    .filter(|s| {
                        s.metadata.namespace == ns
                            && names::cluster_name(s.spec.cluster.as_deref()) == name
                    })
                    .map(|s| ObjectRef::from_obj(s.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .watches(
            ctx.api::<Pod>(),
            watcher::Config::default().labels(names::LABEL_SERVICE),
            by_service_label,
        )
        .watches(
            ctx.api::<ReplicaSet>(),
            watcher::Config::default().labels(names::LABEL_SERVICE),
            by_service_label,
        )
        .graceful_shutdown_on(shutdown);
    tokio::spawn(ready.when_listed(KIND, ctx.api::<EcsService>()));
    drive(KIND, ctrl.run(reconcile, error_policy, ctx)).await;
}

fn by_service_label<K: kube::Resource>(obj: K) -> Option<ObjectRef<EcsService>> {
    let name = obj.meta().labels.as_ref()?.get(names::LABEL_SERVICE)?;
    Some(ObjectRef::new(name).within(obj.meta().namespace.as_deref()?))
}

/// The kinds an EcsService owns.
fn owned_kinds() -> [kube::discovery::ApiResource; 4] {
    [
        apply::resource::<ServiceAccount>(),
        apply::resource::<Deployment>(),
        apply::resource::<DaemonSet>(),
        apply::resource::<HorizontalPodAutoscaler>(),
    ]
}

async fn reconcile(svc: Arc<EcsService>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    timed(&ctx, KIND, async {
        // Status events accumulate: build on the stored copy, not on a cache that may not
        // have seen this controller's last write yet.
        match ctx.latest(svc.as_ref()).await? {
            Some(svc) => reconcile_service(&svc, &ctx).await,
            None => Ok(Action::await_change()),
        }
    })
    .await
}

async fn reconcile_service(svc: &EcsService, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let previous = svc.status.clone().unwrap_or_default();
    let unchanged = previous.common.observed_generation == svc.metadata.generation;
    let pinned = unchanged
        .then_some(previous.task_definition.as_deref())
        .flatten();
    // Until its spec changes, a service runs the revision it resolved then, or the one the
    // deployment circuit breaker rolled it back to, as ECS does.
    let rolled_back = pinned.filter(|p| {
        let (family, revision) = names::task_definition_ref(&svc.spec.task_definition);
        revision.is_some() && names::task_definition_ref(p).0 == family
    });
    let reference = rolled_back.unwrap_or(&svc.spec.task_definition);
    let resolved = match resolve::task_definition(ctx, &ns, reference, pinned).await? {
        Ok(r) => r,
        Err(message) => {
            let status = blocked(svc, &previous, "TaskDefinitionNotFound", message);
            write_status(ctx, svc, &previous, status).await?;
            return Ok(Action::requeue(MISSING_RETRY));
        }
    };
    let mut resolved_svc = svc.clone();
    resolved_svc.spec.task_definition = resolved.family_revision.clone();
    resolved_svc.status = None;
    resolved_svc.metadata.managed_fields = None;
    let bundle = Bundle {
        services: vec![resolve::sourced(resolved_svc)],
        task_definitions: vec![resolve::sourced(resolved.task_definition.clone())],
        target_groups: resolve::target_groups(ctx, &ns).await?,
        clusters: resolve::cluster(ctx, &ns, svc.spec.cluster.as_deref()).await?,
        ..Bundle::default()
    };
    let mut options = translate::Options::default();
    if let Some(count) = autoscaled_count(ctx, svc).await? {
        options
            .autoscaled_counts
            .insert(translate::service_key(svc), count);
    }
    let translation = match translate::translate_with(&bundle, &options) {
        Ok(t) => t,
        Err(errors) => {
            let status = blocked(
                svc,
                &previous,
                resolve::reason(&errors.0),
                resolve::summarize(&errors.0),
            );
            write_status(ctx, svc, &previous, status).await?;
            return Ok(Action::requeue(MISSING_RETRY));
        }
    };
    let mut desired = Vec::new();
    for o in translation.objects {
        if matches!(
            o,
            Object::ServiceAccount(_)
                | Object::Deployment(_)
                | Object::DaemonSet(_)
                | Object::HorizontalPodAutoscaler(_)
        ) {
            desired.push(
                serde_json::to_value(&o).map_err(|source| ReconcileError::Serialize {
                    what: o.id(),
                    source,
                })?,
            );
        }
    }
    let owner = Owner::of(svc);
    let applied = apply::reconcile_children(ctx, &owner, &owned_kinds(), desired).await?;
    let mut events = Vec::new();
    let failed = stop_tasks_with_exited_essential_containers(ctx, svc, &mut events).await?;
    let (approximated, not_carried, _) = translation.report.counts();
    let mut observed = observe(ctx, svc, &applied).await?;
    let rollback = track_deployments(svc, &previous, &mut observed, &failed, &mut events);
    let mut status = observed_status(
        svc,
        &previous,
        rollback.as_deref().unwrap_or(&resolved.family_revision),
        observed,
        &mut events,
    );
    status.common.conditions.push(
        conditions::merge(
            &previous.common.conditions,
            vec![Desired::new(
                "Translated",
                true,
                if approximated + not_carried == 0 { "Exact" } else { "WithDifferences" },
                format!("{approximated} field(s) approximated, {not_carried} not carried; `ecsplane render` lists them"),
            )],
            svc.metadata.generation,
            &conditions::now(),
        )
        .remove(0),
    );
    for message in &events {
        ctx.event(
            svc,
            EventType::Normal,
            "ServiceEvent",
            "Reconcile",
            message.clone(),
        )
        .await;
    }
    status.events = merge_events(&previous.events, events);
    let steady = conditions::is_true(&status.common.conditions, "Ready");
    write_status(ctx, svc, &previous, status).await?;
    Ok(if steady {
        Action::requeue(RESYNC)
    } else {
        Action::requeue(Duration::from_secs(10))
    })
}

/// The task count the autoscaler has set for an autoscaled service: its Deployment's replicas,
/// from which ECS-style rolling bounds are computed. `None` for a service without autoScaling
/// or before its Deployment exists.
async fn autoscaled_count(ctx: &Context, svc: &EcsService) -> Result<Option<i32>, ReconcileError> {
    if svc.spec.auto_scaling.is_none() {
        return Ok(None);
    }
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    let live = Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
        .get_opt(&name)
        .await
        .map_err(api_err("get Deployment"))?;
    Ok(live.and_then(|d| d.spec?.replicas))
}

/// What the workload, its ReplicaSets and the autoscaler show.
#[derive(Debug, Default)]
struct Observed {
    desired: i32,
    running: i32,
    pending: i32,
    deployments: Vec<ServiceDeployment>,
    /// The primary deployment's rollout: `IN_PROGRESS`, `COMPLETED` or `FAILED`, and why.
    rollout: (String, String),
}

async fn observe(
    ctx: &Context,
    svc: &EcsService,
    applied: &apply::Applied,
) -> Result<Observed, ReconcileError> {
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let mut out = Observed::default();
    let live = |kind: &str| {
        applied
            .live
            .iter()
            .find(|((k, _), _)| k == kind)
            .map(|(_, v)| v.clone())
    };
    if let Some(d) = live("Deployment").and_then(|v| serde_json::from_value::<Deployment>(v).ok()) {
        // The applied copy may be older than the controller's last status update.
        let d = Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
            .get_opt(d.metadata.name.as_deref().unwrap_or_default())
            .await
            .map_err(api_err("get Deployment"))?
            .unwrap_or(d);
        let spec_replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = d.status.clone().unwrap_or_default();
        out.desired = spec_replicas;
        out.running = st.ready_replicas.unwrap_or(0);
        out.pending = (st.replicas.unwrap_or(0) - out.running).max(0);
        let complete = st.observed_generation >= d.metadata.generation
            && st.updated_replicas.unwrap_or(0) == spec_replicas
            && st.replicas.unwrap_or(0) == spec_replicas
            && st.available_replicas.unwrap_or(0) == spec_replicas;
        let failed = st.conditions.iter().flatten().find(|c| {
            c.type_ == "Progressing"
                && c.status == "False"
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        });
        out.rollout = if complete {
            ("COMPLETED".into(), "ECS deployment completed.".into())
        } else if let Some(c) = failed {
            (
                "FAILED".into(),
                c.message
                    .clone()
                    .unwrap_or_else(|| "the rollout made no progress".into()),
            )
        } else {
            ("IN_PROGRESS".into(), "ECS deployment in progress.".into())
        };
        let revision = annotation(&d.metadata, "deployment.kubernetes.io/revision");
        let rss = Api::<ReplicaSet>::namespaced(ctx.client.clone(), &ns)
            .list(&ListParams::default().labels(&format!(
                "{}={}",
                names::LABEL_SERVICE,
                svc.metadata.name.as_deref().unwrap_or_default()
            )))
            .await
            .map_err(api_err("list ReplicaSets"))?;
        let mut rss: Vec<ReplicaSet> = rss
            .items
            .into_iter()
            .filter(|rs| {
                rs.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| Some(&o.uid) == d.metadata.uid.as_ref())
            })
            .collect();
        rss.sort_by_key(|rs| std::cmp::Reverse(revision_number(&rs.metadata)));
        for rs in rss {
            let primary = revision.is_some()
                && annotation(&rs.metadata, "deployment.kubernetes.io/revision") == revision;
            let st = rs.status.clone().unwrap_or_default();
            if !primary && st.replicas == 0 {
                continue;
            }
            let ready = st.ready_replicas.unwrap_or(0);
            out.deployments.push(ServiceDeployment {
                id: replica_set_deployment_id(&rs.metadata),
                status: if primary { "PRIMARY" } else { "ACTIVE" }.into(),
                task_definition: rs
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .and_then(|t| {
                        annotation_owned(t.metadata.as_ref(), names::ANNOTATION_TASK_DEFINITION)
                    }),
                desired_count: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                running_count: ready,
                pending_count: (st.replicas - ready).max(0),
                failed_tasks: 0,
                rollout_state: primary.then(|| out.rollout.0.clone()),
                rollout_state_reason: primary.then(|| out.rollout.1.clone()),
                created_at: rs.metadata.creation_timestamp.clone(),
            });
        }
    } else if let Some(ds) =
        live("DaemonSet").and_then(|v| serde_json::from_value::<DaemonSet>(v).ok())
    {
        let ds = Api::<DaemonSet>::namespaced(ctx.client.clone(), &ns)
            .get_opt(ds.metadata.name.as_deref().unwrap_or_default())
            .await
            .map_err(api_err("get DaemonSet"))?
            .unwrap_or(ds);
        let st = ds.status.clone().unwrap_or_default();
        out.desired = st.desired_number_scheduled;
        out.running = st.number_ready;
        out.pending = (st.current_number_scheduled - st.number_ready).max(0);
        let complete = st.observed_generation >= ds.metadata.generation
            && st.updated_number_scheduled.unwrap_or(0) == st.desired_number_scheduled
            && st.number_available.unwrap_or(0) == st.desired_number_scheduled;
        out.rollout = if complete {
            ("COMPLETED".into(), "ECS deployment completed.".into())
        } else {
            ("IN_PROGRESS".into(), "ECS deployment in progress.".into())
        };
        out.deployments.push(ServiceDeployment {
            id: format!("ecs-svc/{}", ds.metadata.generation.unwrap_or_default()),
            status: "PRIMARY".into(),
            task_definition: ds.spec.as_ref().and_then(|s| {
                annotation_owned(
                    s.template.metadata.as_ref(),
                    names::ANNOTATION_TASK_DEFINITION,
                )
            }),
            desired_count: out.desired,
            running_count: out.running,
            pending_count: out.pending,
            failed_tasks: 0,
            rollout_state: Some(out.rollout.0.clone()),
            rollout_state_reason: Some(out.rollout.1.clone()),
            created_at: ds.metadata.creation_timestamp.clone(),
        });
    }
    Ok(out)
}

/// The ECS-style deployment id of a ReplicaSet, or of a pod it made: `ecs-svc/` and the
/// pod template hash both carry as a label.
fn replica_set_deployment_id(meta: &kube::api::ObjectMeta) -> String {
    let hash = meta
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .map(String::as_str)
        .unwrap_or_default();
    format!("ecs-svc/{hash}")
}

fn annotation(meta: &kube::api::ObjectMeta, key: &str) -> Option<String> {
    annotation_owned(Some(meta), key)
}

fn annotation_owned(meta: Option<&kube::api::ObjectMeta>, key: &str) -> Option<String> {
    meta?.annotations.as_ref()?.get(key).cloned()
}

fn revision_number(meta: &kube::api::ObjectMeta) -> i64 {
    annotation(meta, "deployment.kubernetes.io/revision")
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The status of a service that runs as translated: counts, deployments and conditions. New
/// ECS-style messages are pushed to `events`.
fn observed_status(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    task_definition: &str,
    observed: Observed,
    events: &mut Vec<String>,
) -> EcsServiceStatus {
    let name = svc.metadata.name.clone().unwrap_or_default();
    let (state, reason) = observed.rollout.clone();
    let steady = state == "COMPLETED" && observed.running == observed.desired;
    let mut desired = vec![
        if steady {
            Desired::new(
                "Ready",
                true,
                "SteadyState",
                format!(
                    "(service {name}) has reached a steady state: {} of {} tasks running",
                    observed.running, observed.desired
                ),
            )
        } else {
            Desired::new(
                "Ready",
                false,
                "Deploying",
                format!(
                    "{} of {} tasks running; {reason}",
                    observed.running, observed.desired
                ),
            )
        },
        Desired::new(
            "Progressing",
            state == "IN_PROGRESS",
            if state == "IN_PROGRESS" {
                "RolloutInProgress"
            } else {
                "RolloutFinished"
            },
            reason.clone(),
        ),
        Desired::new(
            "Degraded",
            state == "FAILED",
            if state == "FAILED" {
                "RolloutFailed"
            } else {
                "AsExpected"
            },
            if state == "FAILED" {
                reason.clone()
            } else {
                String::new()
            },
        ),
    ];
    if steady && !conditions::is_true(&previous.common.conditions, "Ready") {
        events.push(format!("(service {name}) has reached a steady state."));
    }
    if previous
        .task_definition
        .as_deref()
        .is_some_and(|p| p != task_definition)
    {
        events.push(format!(
            "(service {name}) updated its task definition to {task_definition}."
        ));
    }
    let conditions = conditions::merge(
        &previous.common.conditions,
        std::mem::take(&mut desired),
        svc.metadata.generation,
        &conditions::now(),
    );
    EcsServiceStatus {
        desired_count: Some(observed.desired),
        running_count: Some(observed.running),
        pending_count: Some(observed.pending),
        task_definition: Some(task_definition.to_owned()),
        rollout_state: Some(state),
        selector: Some(format!("{}={name}", names::LABEL_SERVICE)),
        deployments: observed.deployments,
        events: previous.events.clone(),
        common: CommonStatus {
            observed_generation: svc.metadata.generation,
            conditions,
        },
    }
}

/// The status of a service that cannot run as specified (a missing reference, an invalid
/// spec): the children stay as they were, Ready is False with the reason.
fn blocked(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    reason: &str,
    message: String,
) -> EcsServiceStatus {
    let conditions = conditions::merge(
        &previous.common.conditions,
        vec![
            Desired::new("Ready", false, reason, message.clone()),
            Desired::new("Progressing", false, reason, message.clone()),
            Desired::new("Degraded", true, reason, message),
        ],
        svc.metadata.generation,
        &conditions::now(),
    );
    EcsServiceStatus {
        common: CommonStatus {
            // Not observed: the next change of the spec still re-resolves the task definition.
            observed_generation: previous.common.observed_generation,
            conditions,
        },
        ..previous.clone()
    }
}

/// Newest first, at most [`EVENTS_KEPT`].
fn merge_events(previous: &[ServiceEvent], new: Vec<String>) -> Vec<ServiceEvent> {
    let now = conditions::now();
    let mut out: Vec<ServiceEvent> = new
        .into_iter()
        .rev()
        .map(|message| ServiceEvent {
            created_at: Some(now.clone()),
            message,
        })
        .collect();
    out.extend(previous.iter().cloned());
    out.truncate(EVENTS_KEPT);
    out
}

/// ECS stops a task when one of its essential containers exits, and the service starts a new
/// one. Essential containers are the pod's regular containers (non-essential ones run as
/// sidecars), so a pod in which one of them has exited or restarted is deleted; its
/// ReplicaSet or DaemonSet replaces it.
///
/// Returns the deployment id (`ecs-svc/HASH`) of each task stopped, for the circuit breaker.
async fn stop_tasks_with_exited_essential_containers(
    ctx: &Context,
    svc: &EcsService,
    events: &mut Vec<String>,
) -> Result<Vec<String>, ReconcileError> {
    let mut stopped = Vec::new();
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let pods = api
        .list(&ListParams::default().labels(&format!("{}={name}", names::LABEL_SERVICE)))
        .await
        .map_err(api_err("list pods"))?;
    for pod in pods.items {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(exited) = exited_essential_container(&pod) else {
            continue;
        };
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        match api.delete(&pod_name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => return Err(api_err(format!("stop task {pod_name}"))(e)),
        }
        tracing::info!(service = %name, task = %pod_name, container = %exited, "stopped task: essential container in task exited");
        ctx.event(
            svc,
            EventType::Warning,
            "TaskStopped",
            "StopTask",
            format!("stopped task {pod_name}: Essential container in task exited ({exited})"),
        )
        .await;
        events.push(format!(
            "(service {name}) has stopped 1 running tasks: (task {pod_name}). Essential container in task exited ({exited})."
        ));
        stopped.push(replica_set_deployment_id(&pod.metadata));
    }
    Ok(stopped)
}

/// The number of failed tasks at which ECS's deployment circuit breaker fails a deployment:
/// half the desired count, rounded up, at least 3 and at most 200.
pub fn circuit_breaker_threshold(desired: i32) -> i32 {
    ((desired.max(0) + 1) / 2).clamp(3, 200)
}

/// ECS's deployment history and circuit breaker over what was observed.
///
/// Each deployment's failed tasks accumulate across reconciles (`failed` holds the
/// deployments of the tasks stopped just now), and a deployment keeps a COMPLETED or FAILED
/// rollout state once it has reached it, as on ECS (a task replaced later, or a scaling step,
/// starts no new deployment). With the breaker enabled, the primary deployment fails once its
/// failed tasks reach [`circuit_breaker_threshold`] before it completes; with rollback, the
/// service goes back to the newest older deployment that did not fail, whose task definition
/// is returned.
fn track_deployments(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    observed: &mut Observed,
    failed: &[String],
    events: &mut Vec<String>,
) -> Option<String> {
    for d in &mut observed.deployments {
        let Some(before) = previous.deployments.iter().find(|p| p.id == d.id) else {
            d.failed_tasks = failed.iter().filter(|id| **id == d.id).count() as i32;
            continue;
        };
        d.failed_tasks =
            before.failed_tasks + failed.iter().filter(|id| **id == d.id).count() as i32;
        let finished = match before.rollout_state.as_deref() {
            Some(FAILED) => true,
            Some(COMPLETED) => d.rollout_state.as_deref() == Some(IN_PROGRESS),
            _ => false,
        };
        if finished {
            d.rollout_state = before.rollout_state.clone();
            d.rollout_state_reason = before.rollout_state_reason.clone();
        }
    }
    let primary = observed
        .deployments
        .iter_mut()
        .find(|d| d.status == "PRIMARY")?;
    if let Some(state) = primary.rollout_state.clone() {
        let reason = primary.rollout_state_reason.clone().unwrap_or_default();
        observed.rollout = (state, reason);
    }
    if observed.rollout.0 != IN_PROGRESS {
        return None;
    }
    let breaker = svc
        .spec
        .deployment_configuration
        .as_ref()?
        .deployment_circuit_breaker
        .as_ref()
        .filter(|b| b.enable)?;
    if primary.failed_tasks < circuit_breaker_threshold(observed.desired) {
        return None;
    }
    let name = svc.metadata.name.clone().unwrap_or_default();
    let reason = "ECS deployment circuit breaker: tasks failed to start.".to_owned();
    primary.rollout_state = Some(FAILED.into());
    primary.rollout_state_reason = Some(reason.clone());
    events.push(format!(
        "(service {name}) (deployment {}) deployment failed: tasks failed to start.",
        primary.id
    ));
    observed.rollout = (FAILED.into(), reason);
    if !breaker.rollback {
        return None;
    }
    let target = observed
        .deployments
        .iter()
        .find(|d| d.status == "ACTIVE" && d.rollout_state.as_deref() != Some(FAILED))?;
    events.push(format!(
        "(service {name}) rolling back to deployment {} ({}).",
        target.id,
        target.task_definition.as_deref().unwrap_or_default()
    ));
    target.task_definition.clone()
}

/// The essential container of `pod` that exited (terminated now, or restarted in place), with
/// its exit code.
pub fn exited_essential_container(pod: &Pod) -> Option<String> {
    let essential: Vec<&str> = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .filter(|c| essential.contains(&c.name.as_str()))
        .find_map(|c| {
            let terminated = c
                .state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .or_else(|| {
                    (c.restart_count > 0)
                        .then(|| c.last_state.as_ref().and_then(|s| s.terminated.as_ref()))
                        .flatten()
                });
            match terminated {
                Some(t) => Some(format!("{} exited with code {}", c.name, t.exit_code)),
                None if c.restart_count > 0 => Some(format!("{} restarted", c.name)),
                None => None,
            }
        })
}

async fn write_status(
    ctx: &Context,
    svc: &EcsService,
    previous: &EcsServiceStatus,
    status: EcsServiceStatus,
) -> Result<(), ReconcileError> {
    if &status == previous {
        return Ok(());
    }
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    Api::<EcsService>::namespaced(ctx.client.clone(), &ns)
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
        .map_err(api_err(format!("write status of EcsService {ns}/{name}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1"},
            "spec": {
                "containers": [{"name": "web"}],
                "initContainers": [{"name": "log-router", "restartPolicy": "Always"}]
            },
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn an_essential_container_that_exited_stops_the_task() {
        let p = pod(
            json!({"containerStatuses": [{"name": "web", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]}),
        );
        assert_eq!(
            exited_essential_container(&p).as_deref(),
            Some("web exited with code 137")
        );
    }

    #[test]
    fn an_essential_container_that_kubernetes_restarted_in_place_stops_the_task() {
        let p = pod(
            json!({"containerStatuses": [{"name": "web", "image": "x", "imageID": "", "ready": true, "restartCount": 1, "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1}}}]}),
        );
        assert_eq!(
            exited_essential_container(&p).as_deref(),
            Some("web exited with code 1")
        );
    }

    #[test]
    fn a_sidecar_that_exits_does_not_stop_the_task() {
        let p = pod(json!({
            "containerStatuses": [{"name": "web", "image": "x", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}],
            "initContainerStatuses": [{"name": "log-router", "image": "x", "imageID": "", "ready": false, "restartCount": 3, "state": {"terminated": {"exitCode": 1}}}]
        }));
        assert_eq!(exited_essential_container(&p), None);
    }

    fn deployment(
        id: &str,
        status: &str,
        td: &str,
        rollout: Option<&str>,
        failed: i32,
    ) -> ServiceDeployment {
        ServiceDeployment {
            id: id.into(),
            status: status.into(),
            task_definition: Some(td.into()),
            desired_count: 4,
            failed_tasks: failed,
            rollout_state: rollout.map(Into::into),
            ..ServiceDeployment::default()
        }
    }

    fn service(breaker: Option<(bool, bool)>) -> EcsService {
        let mut spec = json!({"taskDefinition": "web:2", "desiredCount": 4});
        if let Some((enable, rollback)) = breaker {
            spec["deploymentConfiguration"] =
                json!({"deploymentCircuitBreaker": {"enable": enable, "rollback": rollback}});
        }
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": spec})).unwrap()
    }

    /// A rollout from web:1 (ACTIVE) to web:2 (PRIMARY, in progress) of 4 desired tasks,
    /// whose new deployment had `failed_before` failed tasks at the last reconcile.
    fn rolling_out(failed_before: i32) -> EcsServiceStatus {
        EcsServiceStatus {
            deployments: vec![
                deployment(
                    "ecs-svc/new",
                    "PRIMARY",
                    "web:2",
                    Some("IN_PROGRESS"),
                    failed_before,
                ),
                deployment("ecs-svc/old", "ACTIVE", "web:1", None, 0),
            ],
            ..EcsServiceStatus::default()
        }
    }

    /// The circuit breaker over a reconcile that observes the rollout in progress and
    /// `failed_now` tasks of the new deployment stopped: (rollback target, what is
    /// observed after it, events).
    fn breaker(
        setting: Option<(bool, bool)>,
        previous: &EcsServiceStatus,
        failed_now: usize,
    ) -> (Option<String>, Observed, Vec<String>) {
        let mut observed = Observed {
            desired: 4,
            deployments: vec![
                deployment("ecs-svc/new", "PRIMARY", "web:2", Some("IN_PROGRESS"), 0),
                deployment("ecs-svc/old", "ACTIVE", "web:1", None, 0),
            ],
            rollout: ("IN_PROGRESS".into(), "ECS deployment in progress.".into()),
            ..Observed::default()
        };
        let failed = vec!["ecs-svc/new".to_owned(); failed_now];
        let mut events = Vec::new();
        let rollback = track_deployments(
            &service(setting),
            previous,
            &mut observed,
            &failed,
            &mut events,
        );
        (rollback, observed, events)
    }

    #[test]
    fn the_circuit_breaker_threshold_is_half_the_desired_count_between_3_and_200() {
        let t: Vec<i32> = [0, 1, 4, 7, 8, 100, 399, 400, 1000]
            .into_iter()
            .map(circuit_breaker_threshold)
            .collect();
        assert_eq!(t, [3, 3, 3, 4, 4, 50, 200, 200, 200]);
    }

    /// Failed tasks accumulate per deployment; below the threshold nothing fails.
    #[test]
    fn failed_tasks_accumulate_per_deployment_below_the_threshold() {
        let (rollback, observed, events) = breaker(Some((true, true)), &rolling_out(1), 1);
        assert_eq!(rollback, None);
        assert_eq!(observed.deployments[0].failed_tasks, 2);
        assert_eq!(observed.rollout.0, "IN_PROGRESS");
        assert!(events.is_empty());
    }

    /// The third failed task of a 4-task deployment trips the breaker: the deployment is
    /// FAILED and, with rollback, the service returns to web:1.
    #[test]
    fn the_breaker_fails_the_deployment_at_the_threshold_and_rolls_back_to_the_previous_one() {
        let (rollback, observed, events) = breaker(Some((true, true)), &rolling_out(2), 1);
        assert_eq!(rollback.as_deref(), Some("web:1"));
        assert_eq!(observed.rollout.0, "FAILED");
        assert_eq!(
            observed.deployments[0].rollout_state.as_deref(),
            Some("FAILED")
        );
        assert_eq!(
            events,
            [
                "(service web) (deployment ecs-svc/new) deployment failed: tasks failed to start.",
                "(service web) rolling back to deployment ecs-svc/old (web:1).",
            ]
        );
    }

    #[test]
    fn without_rollback_the_failed_deployment_stays_and_is_reported_failed() {
        let (rollback, observed, events) = breaker(Some((true, false)), &rolling_out(2), 1);
        assert_eq!(rollback, None);
        assert_eq!(observed.rollout.0, "FAILED");
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn without_the_breaker_failed_tasks_are_counted_but_never_fail_a_deployment() {
        let (rollback, observed, _) = breaker(None, &rolling_out(10), 0);
        assert_eq!(
            (rollback, observed.rollout.0.as_str()),
            (None, "IN_PROGRESS")
        );
        assert_eq!(observed.deployments[0].failed_tasks, 10);
    }

    /// A deployment that failed stays FAILED in later reconciles, without new events.
    #[test]
    fn a_failed_deployment_stays_failed() {
        let mut previous = rolling_out(3);
        previous.deployments[0].rollout_state = Some("FAILED".into());
        let (rollback, observed, events) = breaker(Some((true, true)), &previous, 0);
        assert_eq!((rollback, observed.rollout.0.as_str()), (None, "FAILED"));
        assert!(events.is_empty());
    }

    /// A task replaced after the deployment completed (or a scaling step) starts no new
    /// deployment on ECS: the deployment stays COMPLETED, and its failures trip nothing.
    #[test]
    fn a_completed_deployment_stays_completed_and_its_failed_tasks_trip_nothing() {
        let mut previous = rolling_out(5);
        previous.deployments[0].rollout_state = Some("COMPLETED".into());
        previous.deployments[0].rollout_state_reason = Some("ECS deployment completed.".into());
        let (rollback, observed, events) = breaker(Some((true, true)), &previous, 1);
        assert_eq!((rollback, observed.rollout.0.as_str()), (None, "COMPLETED"));
        assert_eq!(observed.deployments[0].failed_tasks, 6);
        assert!(events.is_empty());
    }
}
