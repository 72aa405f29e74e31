//! The decisions of the EcsService controller, as pure functions of what was read: which task
//! definition revision a service runs, which of its tasks ECS would stop, what its workload
//! and ReplicaSets say about its deployments, ECS's deployment tracking and circuit breaker,
//! and the status all of that gives. No client: everything here is tested on plain objects.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;

use crate::api::{
    CommonStatus, EcsService, EcsServiceStatus, SchedulingStrategy, ServiceDeployment, ServiceEvent,
};
use crate::controller::conditions::{self, Desired};
use crate::controller::resolve::Blocked;
use crate::controller::vocabulary::{
    ConditionType, DeploymentStatus, ESSENTIAL_CONTAINER_EXITED, Reason, RolloutState,
};
use crate::translate::report::{ObjectRef as ReportRef, Report};
use crate::translate::{Object, names, pod, rollout};

/// How many ECS-style events `status.events` keeps.
pub const EVENTS_KEPT: usize = 10;

/// The annotation in which the Deployment controller numbers a Deployment's revisions (on the
/// Deployment: the current one; on each ReplicaSet: its own).
const ANNOTATION_REVISION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller gives a ReplicaSet and its pods: the template's hash.
const LABEL_POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The Deployment controller's condition on a Deployment's progress.
const DEPLOYMENT_PROGRESSING: &str = "Progressing";
/// The reason of a Deployment's `Progressing=False` condition once its rollout is stuck.
const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// `rolloutStateReason` of a completed deployment, as ECS writes it.
pub const COMPLETED_REASON: &str = "ECS deployment completed.";
/// `rolloutStateReason` of a deployment in progress, as ECS writes it.
pub const IN_PROGRESS_REASON: &str = "ECS deployment in progress.";
/// `rolloutStateReason` of a deployment the circuit breaker failed, as ECS writes it.
pub const CIRCUIT_BREAKER_REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// The task definition reference a service resolves, and the revision it is pinned to.
///
/// Until its spec changes, a service runs the revision it resolved then (`pinned`, its
/// `status.taskDefinition`), as ECS stores the resolved ARN. When the circuit breaker rolled
/// the service back, that status names an older revision of the same family than the spec,
/// and the rolled-back revision is what it runs.
pub fn task_definition_to_run<'a>(
    svc: &'a EcsService,
    previous: &'a EcsServiceStatus,
) -> (&'a str, Option<&'a str>) {
    let unchanged = previous.common.observed_generation == svc.metadata.generation;
    let pinned = unchanged
        .then_some(previous.task_definition.as_deref())
        .flatten();
    let rolled_back = pinned.filter(|p| {
        let (family, revision) = names::task_definition_ref(&svc.spec.task_definition);
        revision.is_some() && names::task_definition_ref(p).0 == family
    });
    (rolled_back.unwrap_or(&svc.spec.task_definition), pinned)
}

/// A task the apply step stopped because an essential container exited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoppedTask {
    /// The pod's name.
    pub pod: String,
    /// The deployment it belonged to (`ecs-svc/HASH`), for the circuit breaker.
    pub deployment: String,
    /// Which container exited, and how ([`exited_essential_container`]).
    pub exited: String,
}

impl StoppedTask {
    /// The note of the Warning Event published when the task is stopped.
    pub fn event_note(&self) -> String {
        format!(
            "stopped task {}: {ESSENTIAL_CONTAINER_EXITED} ({})",
            self.pod, self.exited
        )
    }

    /// The ECS service event of service `service` stopping this task.
    pub fn service_event(&self, service: &str) -> String {
        format!(
            "(service {service}) has stopped 1 running tasks: (task {}). {ESSENTIAL_CONTAINER_EXITED} ({}).",
            self.pod, self.exited
        )
    }
}

/// The tasks of a service that ECS would stop now: pods not already being deleted in which an
/// essential container has exited, with that container.
///
/// ECS stops a task when one of its essential containers exits, and the service starts a new
/// one. Essential containers are the pod's regular containers (non-essential ones run as
/// sidecars), so a pod in which one of them has exited or restarted is deleted; its
/// ReplicaSet or DaemonSet replaces it.
pub fn tasks_to_stop(pods: &[Pod]) -> Vec<StoppedTask> {
    pods.iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .filter_map(|pod| {
            Some(StoppedTask {
                exited: exited_essential_container(pod)?,
                pod: pod.metadata.name.clone().unwrap_or_default(),
                deployment: replica_set_deployment_id(&pod.metadata),
            })
        })
        .collect()
}

/// The essential container of `pod` that exited (terminated now, or restarted in place), with
/// its exit code.
///
/// Essential containers are the pod's regular containers except those the translation names
/// in the pod annotation [`pod::ANNOTATION_NON_ESSENTIAL`] (non-essential containers kept as
/// regular containers, e.g. because another depends on their START): ECS ignores their exit.
pub fn exited_essential_container(pod: &Pod) -> Option<String> {
    let non_essential = non_essential_containers(&pod.metadata);
    let essential: Vec<&str> = pod
        .spec
        .as_ref()?
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .filter(|name| !non_essential.contains(name))
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

/// The regular containers the pod annotation [`pod::ANNOTATION_NON_ESSENTIAL`] names
/// (comma-separated).
pub fn non_essential_containers(meta: &ObjectMeta) -> Vec<&str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(pod::ANNOTATION_NON_ESSENTIAL))
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What the workload, its ReplicaSets and the autoscaler show.
#[derive(Debug)]
pub struct Observed {
    /// Tasks the service wants.
    pub desired: i32,
    /// Tasks running and ready.
    pub running: i32,
    /// Tasks started but not ready.
    pub pending: i32,
    /// The PRIMARY deployment, then ACTIVE ones newest first.
    pub deployments: Vec<ServiceDeployment>,
    /// The primary deployment's rollout state, and why.
    pub rollout: (RolloutState, String),
    /// Tasks of an older template still run beside (or instead of) the current one's.
    pub outdated: bool,
}

impl Default for Observed {
    /// Nothing observed (no workload yet): no tasks, the rollout in progress.
    fn default() -> Self {
        Self {
            desired: 0,
            running: 0,
            pending: 0,
            deployments: Vec::new(),
            rollout: (RolloutState::InProgress, String::new()),
            outdated: false,
        }
    }
}

/// The ECS-style deployment id of a ReplicaSet, or of a pod it made: `ecs-svc/` and the
/// pod template hash both carry as a label.
pub fn replica_set_deployment_id(meta: &ObjectMeta) -> String {
    let hash = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_POD_TEMPLATE_HASH))
        .map(String::as_str)
        .unwrap_or_default();
    format!("ecs-svc/{hash}")
}

fn annotation(meta: Option<&ObjectMeta>, key: &str) -> Option<String> {
    meta?.annotations.as_ref()?.get(key).cloned()
}

fn revision_number(meta: &ObjectMeta) -> i64 {
    annotation(Some(meta), ANNOTATION_REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// What a REPLICA service's Deployment and its ReplicaSets (`replica_sets`: those with the
/// service's label; only the Deployment's own count) show: counts, the rollout, and one
/// deployment per ReplicaSet that is the current one or still has tasks, newest first.
pub fn observe_deployment(d: &Deployment, replica_sets: Vec<ReplicaSet>) -> Observed {
    let spec_replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let st = d.status.clone().unwrap_or_default();
    let running = st.ready_replicas.unwrap_or(0);
    let complete = st.observed_generation >= d.metadata.generation
        && st.updated_replicas.unwrap_or(0) == spec_replicas
        && st.replicas.unwrap_or(0) == spec_replicas
        && st.available_replicas.unwrap_or(0) == spec_replicas;
    let stuck = st.conditions.iter().flatten().find(|c| {
        c.type_ == DEPLOYMENT_PROGRESSING
            && c.status == "False"
            && c.reason.as_deref() == Some(PROGRESS_DEADLINE_EXCEEDED)
    });
    let rollout = if complete {
        (RolloutState::Completed, COMPLETED_REASON.to_owned())
    } else if let Some(c) = stuck {
        (
            RolloutState::Failed,
            c.message
                .clone()
                .unwrap_or_else(|| "the rollout made no progress".into()),
        )
    } else {
        (RolloutState::InProgress, IN_PROGRESS_REASON.to_owned())
    };
    let revision = annotation(Some(&d.metadata), ANNOTATION_REVISION);
    let mut rss: Vec<ReplicaSet> = replica_sets
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
    let mut deployments = Vec::new();
    for rs in rss {
        let primary =
            revision.is_some() && annotation(Some(&rs.metadata), ANNOTATION_REVISION) == revision;
        let st = rs.status.clone().unwrap_or_default();
        if !primary && st.replicas == 0 {
            continue;
        }
        let ready = st.ready_replicas.unwrap_or(0);
        deployments.push(ServiceDeployment {
            id: replica_set_deployment_id(&rs.metadata),
            status: if primary {
                DeploymentStatus::Primary
            } else {
                DeploymentStatus::Active
            }
            .as_str()
            .into(),
            task_definition: rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| annotation(t.metadata.as_ref(), names::ANNOTATION_TASK_DEFINITION)),
            desired_count: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
            running_count: ready,
            pending_count: (st.replicas - ready).max(0),
            failed_tasks: 0,
            rollout_state: primary.then(|| rollout.0.as_str().to_owned()),
            rollout_state_reason: primary.then(|| rollout.1.clone()),
            created_at: rs.metadata.creation_timestamp.clone(),
        });
    }
    Observed {
        desired: spec_replicas,
        running,
        pending: (st.replicas.unwrap_or(0) - running).max(0),
        deployments,
        rollout,
        outdated: st.replicas.unwrap_or(0) > st.updated_replicas.unwrap_or(0),
    }
}

/// What a REPLICA service's Deployments show: one Deployment as [`observe_deployment`]; one
/// per capacity provider as one service. The counts add up; the rollout has failed if one
/// has, is in progress if one is, else completed; the ReplicaSets of the same task
/// definition and status make one ECS deployment, whose id joins their template hashes
/// (`ecs-svc/HASH+HASH`, see [`deployment_includes`]).
pub fn observe_deployments(ds: &[Deployment], replica_sets: Vec<ReplicaSet>) -> Observed {
    match ds {
        [] => Observed::default(),
        [d] => observe_deployment(d, replica_sets),
        several => merge_observed(
            several
                .iter()
                .map(|d| observe_deployment(d, replica_sets.clone()))
                .collect(),
        ),
    }
}

fn merge_observed(parts: Vec<Observed>) -> Observed {
    let rollout = parts
        .iter()
        .find(|o| o.rollout.0 == RolloutState::Failed)
        .or_else(|| {
            parts
                .iter()
                .find(|o| o.rollout.0 == RolloutState::InProgress)
        })
        .map(|o| o.rollout.clone())
        .unwrap_or_else(|| (RolloutState::Completed, COMPLETED_REASON.to_owned()));
    let mut deployments: Vec<ServiceDeployment> = Vec::new();
    for d in parts.iter().flat_map(|o| &o.deployments) {
        match deployments
            .iter_mut()
            .find(|m| m.status == d.status && m.task_definition == d.task_definition)
        {
            Some(m) => {
                let hash = d.id.strip_prefix("ecs-svc/").unwrap_or(&d.id);
                m.id = format!("{}+{hash}", m.id);
                m.desired_count += d.desired_count;
                m.running_count += d.running_count;
                m.pending_count += d.pending_count;
                m.created_at = match (m.created_at.take(), d.created_at.clone()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => deployments.push(d.clone()),
        }
    }
    let primary = DeploymentStatus::Primary.as_str();
    deployments.sort_by_key(|d| d.status != primary);
    for d in deployments.iter_mut().filter(|d| d.status == primary) {
        d.rollout_state = Some(rollout.0.as_str().to_owned());
        d.rollout_state_reason = Some(rollout.1.clone());
    }
    Observed {
        desired: parts.iter().map(|o| o.desired).sum(),
        running: parts.iter().map(|o| o.running).sum(),
        pending: parts.iter().map(|o| o.pending).sum(),
        deployments,
        rollout,
        outdated: parts.iter().any(|o| o.outdated),
    }
}

/// Whether a task of ReplicaSet deployment id `task` (`ecs-svc/HASH`) belongs to the
/// service deployment `id`, which may span one ReplicaSet per capacity provider.
pub fn deployment_includes(id: &str, task: &str) -> bool {
    id == task
        || match (id.strip_prefix("ecs-svc/"), task.strip_prefix("ecs-svc/")) {
            (Some(hashes), Some(hash)) => hashes.split('+').any(|h| h == hash),
            _ => false,
        }
}

/// What a DAEMON service's DaemonSet shows: counts, the rollout, and its one deployment.
pub fn observe_daemon_set(ds: &DaemonSet) -> Observed {
    let st = ds.status.clone().unwrap_or_default();
    let desired = st.desired_number_scheduled;
    let running = st.number_ready;
    let pending = (st.current_number_scheduled - st.number_ready).max(0);
    let complete = st.observed_generation >= ds.metadata.generation
        && st.updated_number_scheduled.unwrap_or(0) == desired
        && st.number_available.unwrap_or(0) == desired;
    let rollout = if complete {
        (RolloutState::Completed, COMPLETED_REASON.to_owned())
    } else {
        (RolloutState::InProgress, IN_PROGRESS_REASON.to_owned())
    };
    let deployment = ServiceDeployment {
        id: format!("ecs-svc/{}", ds.metadata.generation.unwrap_or_default()),
        status: DeploymentStatus::Primary.as_str().into(),
        task_definition: ds.spec.as_ref().and_then(|s| {
            annotation(
                s.template.metadata.as_ref(),
                names::ANNOTATION_TASK_DEFINITION,
            )
        }),
        desired_count: desired,
        running_count: running,
        pending_count: pending,
        failed_tasks: 0,
        rollout_state: Some(rollout.0.as_str().to_owned()),
        rollout_state_reason: Some(rollout.1.clone()),
        created_at: ds.metadata.creation_timestamp.clone(),
    };
    Observed {
        desired,
        running,
        pending,
        deployments: vec![deployment],
        rollout,
        outdated: st.current_number_scheduled > st.updated_number_scheduled.unwrap_or(0),
    }
}

/// Whether the service's deploymentConfiguration lets no deployment of `desired` tasks (or,
/// for a daemon, any deployment) stop or start a task ([`rollout::is_stuck`]). ECS registers
/// such a service and says so only when a deployment has tasks to replace.
pub fn stuck_configuration(svc: &EcsService, desired: i32) -> bool {
    let daemon = svc.spec.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    // The findings are the translation's to report; only the percents matter here.
    let mut scratch = Report::default();
    let obj = ReportRef::new("EcsService", None, "");
    let p = rollout::percents(
        svc.spec.deployment_configuration.as_ref(),
        daemon,
        &obj,
        &mut scratch,
    );
    rollout::is_stuck(p, daemon, desired)
}

/// Holds the rollout of a service whose configuration lets no task stop or start, as ECS
/// does: once a Deployment exists and its controller has seen it (so its first ReplicaSet
/// runs, as ECS starts a new service's tasks), the translated Deployment in `children` is
/// applied paused, so a changed template is not rolled out while scaling still applies. With
/// one Deployment per capacity provider, each one `live` shows running is held, and the
/// configuration is judged for the service's whole count. Returns whether any was held. A
/// DaemonSet needs nothing: the translation updates it on delete.
pub fn hold_rollout(svc: &EcsService, children: &mut [Object], live: &[Deployment]) -> bool {
    let running = |name: Option<&str>| {
        live.iter().find(|d| {
            d.metadata.name.as_deref() == name
                && d.status
                    .as_ref()
                    .is_some_and(|s| s.observed_generation.is_some())
        })
    };
    let mut desired = 0;
    let mut any = false;
    for o in children.iter() {
        if let Object::Deployment(d) = o {
            let live = running(d.metadata.name.as_deref());
            any |= live.is_some();
            desired += d
                .spec
                .as_ref()
                .and_then(|s| s.replicas)
                .or_else(|| live.and_then(|l| l.spec.as_ref()).and_then(|s| s.replicas))
                .unwrap_or(1);
        }
    }
    if !any || !stuck_configuration(svc, desired) {
        return false;
    }
    for o in children.iter_mut() {
        if let Object::Deployment(d) = o
            && running(d.metadata.name.as_deref()).is_some()
            && let Some(spec) = d.spec.as_mut()
        {
            spec.paused = Some(true);
        }
    }
    true
}

/// The ECS service event of a deployment that cannot progress: the configuration lets no
/// task stop or start ([`stuck_configuration`]) and tasks of an older template still run.
/// `None` while the deployment can progress (a new service's first tasks always can).
pub fn stuck_rollout(svc: &EcsService, observed: &Observed) -> Option<String> {
    if !observed.outdated || !stuck_configuration(svc, observed.desired) {
        return None;
    }
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    Some(format!("(service {name}) {}", rollout::STUCK_MESSAGE))
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
pub fn track_deployments(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    observed: &mut Observed,
    failed: &[String],
    events: &mut Vec<String>,
) -> Option<String> {
    let failed_state = Some(RolloutState::Failed.as_str());
    for d in &mut observed.deployments {
        let failed_now = failed
            .iter()
            .filter(|id| deployment_includes(&d.id, id))
            .count() as i32;
        let Some(before) = previous.deployments.iter().find(|p| p.id == d.id) else {
            d.failed_tasks = failed_now;
            continue;
        };
        d.failed_tasks = before.failed_tasks + failed_now;
        let finished = match before
            .rollout_state
            .as_deref()
            .and_then(RolloutState::parse)
        {
            Some(RolloutState::Failed) => true,
            Some(RolloutState::Completed) => {
                d.rollout_state.as_deref() == Some(RolloutState::InProgress.as_str())
            }
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
        .find(|d| d.status == DeploymentStatus::Primary.as_str())?;
    if let Some(state) = primary
        .rollout_state
        .as_deref()
        .and_then(RolloutState::parse)
    {
        let reason = primary.rollout_state_reason.clone().unwrap_or_default();
        observed.rollout = (state, reason);
    }
    if observed.rollout.0 != RolloutState::InProgress {
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
    primary.rollout_state = Some(RolloutState::Failed.as_str().into());
    primary.rollout_state_reason = Some(CIRCUIT_BREAKER_REASON.into());
    events.push(format!(
        "(service {name}) (deployment {}) deployment failed: tasks failed to start.",
        primary.id
    ));
    observed.rollout = (RolloutState::Failed, CIRCUIT_BREAKER_REASON.into());
    if !breaker.rollback {
        return None;
    }
    let target = observed.deployments.iter().find(|d| {
        d.status == DeploymentStatus::Active.as_str() && d.rollout_state.as_deref() != failed_state
    })?;
    events.push(format!(
        "(service {name}) rolling back to deployment {} ({}).",
        target.id,
        target.task_definition.as_deref().unwrap_or_default()
    ));
    target.task_definition.clone()
}

/// The conditions of a service whose deployment cannot progress: not Ready, not Progressing,
/// Degraded, each with ECS's message; the old tasks keep running.
fn stuck_conditions(message: &str, running: i32, desired: i32) -> Vec<Desired> {
    let reason = Reason::DeploymentConfigurationStuck;
    vec![
        Desired::new(
            ConditionType::Ready,
            false,
            reason,
            format!("{running} of {desired} tasks running an older task definition; {message}"),
        ),
        Desired::new(
            ConditionType::Progressing,
            false,
            reason,
            message.to_owned(),
        ),
        Desired::new(ConditionType::Degraded, true, reason, message.to_owned()),
    ]
}

/// The status of a service that runs as translated: counts, deployments and conditions. New
/// ECS-style messages are pushed to `events`.
pub fn observed_status(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    task_definition: &str,
    observed: Observed,
    events: &mut Vec<String>,
    now: &Time,
) -> EcsServiceStatus {
    let name = svc.metadata.name.clone().unwrap_or_default();
    let stuck = stuck_rollout(svc, &observed);
    // The deployment that cannot progress is the primary one on ECS, IN_PROGRESS; the
    // paused Deployment still counts the old ReplicaSet as its current one.
    let (state, reason) = match stuck {
        Some(_) => (RolloutState::InProgress, IN_PROGRESS_REASON.to_owned()),
        None => observed.rollout,
    };
    let steady = state == RolloutState::Completed && observed.running == observed.desired;
    let in_progress = state == RolloutState::InProgress;
    let failed = state == RolloutState::Failed;
    let desired = vec![
        if steady {
            Desired::new(
                ConditionType::Ready,
                true,
                Reason::SteadyState,
                format!(
                    "(service {name}) has reached a steady state: {} of {} tasks running",
                    observed.running, observed.desired
                ),
            )
        } else {
            Desired::new(
                ConditionType::Ready,
                false,
                Reason::Deploying,
                format!(
                    "{} of {} tasks running; {reason}",
                    observed.running, observed.desired
                ),
            )
        },
        Desired::new(
            ConditionType::Progressing,
            in_progress,
            if in_progress {
                Reason::RolloutInProgress
            } else {
                Reason::RolloutFinished
            },
            reason.clone(),
        ),
        Desired::new(
            ConditionType::Degraded,
            failed,
            if failed {
                Reason::RolloutFailed
            } else {
                Reason::AsExpected
            },
            if failed {
                reason.clone()
            } else {
                String::new()
            },
        ),
    ];
    let desired = match &stuck {
        None => desired,
        Some(message) => {
            let newly = !previous.common.conditions.iter().any(|c| {
                c.type_ == ConditionType::Progressing.as_str()
                    && c.reason == Reason::DeploymentConfigurationStuck.as_str()
            });
            if newly {
                events.push(message.clone());
            }
            stuck_conditions(message, observed.running, observed.desired)
        }
    };
    if steady && !conditions::is_true(&previous.common.conditions, ConditionType::Ready) {
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
        desired,
        svc.metadata.generation,
        now,
    );
    EcsServiceStatus {
        desired_count: Some(observed.desired),
        running_count: Some(observed.running),
        pending_count: Some(observed.pending),
        task_definition: Some(task_definition.to_owned()),
        rollout_state: Some(state.as_str().to_owned()),
        selector: Some(format!("{}={name}", names::LABEL_SERVICE)),
        deployments: observed.deployments,
        events: previous.events.clone(),
        // The scaler's alone (field manager ecsplane-autoscaler): never applied here, so a
        // reconcile that read an older copy cannot put an older one back.
        auto_scaling: None,
        common: CommonStatus {
            observed_generation: svc.metadata.generation,
            conditions,
        },
    }
}

/// The status of a service that cannot run as specified (a missing reference, an invalid
/// spec): the children stay as they were, Ready is False with the reason.
pub fn blocked(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    blocked: Blocked,
    now: &Time,
) -> EcsServiceStatus {
    let Blocked { reason, message } = blocked;
    let conditions = conditions::merge(
        &previous.common.conditions,
        vec![
            Desired::new(ConditionType::Ready, false, reason, message.clone()),
            Desired::new(ConditionType::Progressing, false, reason, message.clone()),
            Desired::new(ConditionType::Degraded, true, reason, message),
        ],
        svc.metadata.generation,
        now,
    );
    EcsServiceStatus {
        common: CommonStatus {
            // Not observed: the next change of the spec still re-resolves the task definition.
            observed_generation: previous.common.observed_generation,
            conditions,
        },
        auto_scaling: None,
        ..previous.clone()
    }
}

/// `new` events (oldest first) before the `previous` ones: newest first, at most
/// [`EVENTS_KEPT`].
pub fn merge_events(previous: &[ServiceEvent], new: Vec<String>, now: &Time) -> Vec<ServiceEvent> {
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

/// What the status step decided: the status to write and the service events it adds (to be
/// published as Kubernetes Events too).
#[derive(Debug)]
pub struct ServiceStatus {
    /// The status, its events merged.
    pub status: EcsServiceStatus,
    /// The events added this reconcile, oldest first.
    pub events: Vec<String>,
    /// Those of them that warn (a deployment that cannot progress), to be published as
    /// Warning Events.
    pub warnings: Vec<String>,
}

/// The status of a service that runs as translated, from everything the earlier steps
/// handed on: the revision it runs, how faithfully it translated (`translated`, the
/// `Translated` condition), the tasks stopped just now, and what was observed. Tracks the
/// deployments and runs the circuit breaker ([`track_deployments`]), whose rollback target,
/// if any, becomes the task definition the status names.
pub fn service_status(
    svc: &EcsService,
    previous: &EcsServiceStatus,
    task_definition: &str,
    translated: Desired,
    stopped: &[StoppedTask],
    mut observed: Observed,
    now: &Time,
) -> ServiceStatus {
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    let mut events: Vec<String> = stopped.iter().map(|t| t.service_event(name)).collect();
    let failed: Vec<String> = stopped.iter().map(|t| t.deployment.clone()).collect();
    let rollback = track_deployments(svc, previous, &mut observed, &failed, &mut events);
    let mut status = observed_status(
        svc,
        previous,
        rollback.as_deref().unwrap_or(task_definition),
        observed,
        &mut events,
        now,
    );
    status.common.conditions.extend(conditions::merge(
        &previous.common.conditions,
        vec![translated],
        svc.metadata.generation,
        now,
    ));
    status.events = merge_events(&previous.events, events.clone(), now);
    let warnings = events
        .iter()
        .filter(|e| e.ends_with(rollout::STUCK_MESSAGE))
        .cloned()
        .collect();
    ServiceStatus {
        status,
        events,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn provider_deployment(
        uid: &str,
        replicas: i32,
        ready: i32,
        hash: &str,
    ) -> (Deployment, ReplicaSet) {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": format!("web-{uid}"), "uid": uid, "generation": 1,
                "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": ready, "availableReplicas": ready}
        }))
        .unwrap();
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": format!("web-{uid}-{hash}"),
                "labels": {"pod-template-hash": hash},
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": uid}]},
            "spec": {"replicas": replicas, "selector": {}, "template": {"metadata": {"annotations": {"ecsplane.io/task-definition": "web:1"}}}},
            "status": {"replicas": replicas, "readyReplicas": ready}
        }))
        .unwrap();
        (d, rs)
    }

    /// One Deployment per capacity provider is still one ECS service: 4 on FARGATE and 6 on
    /// FARGATE_SPOT are 10 tasks in one PRIMARY deployment, in progress until both are done.
    #[test]
    fn per_provider_deployments_are_observed_as_one_service() {
        let (a, rs_a) = provider_deployment("a", 4, 4, "aaa");
        let (b, rs_b) = provider_deployment("b", 6, 5, "bbb");
        let o = observe_deployments(&[a, b], vec![rs_a, rs_b]);
        assert_eq!((o.desired, o.running, o.pending), (10, 9, 1));
        assert_eq!(o.rollout.0, RolloutState::InProgress);
        assert_eq!(o.deployments.len(), 1);
        let d = &o.deployments[0];
        assert_eq!(
            (
                d.id.as_str(),
                d.status.as_str(),
                d.desired_count,
                d.running_count
            ),
            ("ecs-svc/aaa+bbb", "PRIMARY", 10, 9)
        );
        assert!(deployment_includes(&d.id, "ecs-svc/bbb"));
        assert!(!deployment_includes(&d.id, "ecs-svc/ccc"));
    }

    /// A non-essential container kept as a regular container exits: ECS ignores it, so the
    /// task is not stopped; an essential one beside it still stops the task.
    #[test]
    fn a_non_essential_regular_container_that_exits_stops_nothing() {
        let status = |name: &str| {
            json!({"name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 1,
            "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1}}})
        };
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "annotations": {"ecsplane.io/non-essential-containers": "warmer"}},
            "spec": {"containers": [{"name": "web"}, {"name": "warmer"}]},
            "status": {"containerStatuses": [status("warmer")]}
        }))
        .unwrap();
        assert_eq!(exited_essential_container(&p), None);
        assert!(tasks_to_stop(std::slice::from_ref(&p)).is_empty());
        p.status.as_mut().unwrap().container_statuses = Some(vec![
            serde_json::from_value(status("warmer")).unwrap(),
            serde_json::from_value(status("web")).unwrap(),
        ]);
        assert_eq!(
            exited_essential_container(&p).as_deref(),
            Some("web exited with code 1")
        );
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

    /// A pod already being deleted is not stopped again; the one that is names its
    /// deployment and the ECS messages say why.
    #[test]
    fn only_tasks_not_already_stopping_are_stopped_with_ecs_messages() {
        let exited = json!({"containerStatuses": [{"name": "web", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]});
        let mut stopping = pod(exited.clone());
        stopping.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        let mut failed = pod(exited);
        failed.metadata.labels = Some([("pod-template-hash".to_owned(), "abc".to_owned())].into());
        let stopped = tasks_to_stop(&[stopping, failed]);
        assert_eq!(
            stopped,
            [StoppedTask {
                pod: "web-1".into(),
                deployment: "ecs-svc/abc".into(),
                exited: "web exited with code 137".into(),
            }]
        );
        assert_eq!(
            stopped[0].service_event("web"),
            "(service web) has stopped 1 running tasks: (task web-1). Essential container in task exited (web exited with code 137)."
        );
        assert_eq!(
            stopped[0].event_note(),
            "stopped task web-1: Essential container in task exited (web exited with code 137)"
        );
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
            rollout: (RolloutState::InProgress, IN_PROGRESS_REASON.into()),
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

    fn at(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    /// A service whose spec did not change keeps running the revision it resolved; a changed
    /// spec resolves again; a rollback to an older revision of the family sticks.
    #[test]
    fn a_service_runs_the_revision_it_resolved_until_its_spec_changes() {
        let mut svc = service(None);
        svc.spec.task_definition = "web".into();
        svc.metadata.generation = Some(2);
        let mut previous = EcsServiceStatus {
            task_definition: Some("web:3".into()),
            ..EcsServiceStatus::default()
        };
        previous.common.observed_generation = Some(2);
        assert_eq!(
            task_definition_to_run(&svc, &previous),
            ("web", Some("web:3"))
        );
        svc.metadata.generation = Some(3);
        assert_eq!(task_definition_to_run(&svc, &previous), ("web", None));
        let mut svc = service(None);
        svc.metadata.generation = Some(2);
        previous.task_definition = Some("web:1".into());
        assert_eq!(
            task_definition_to_run(&svc, &previous),
            ("web:1", Some("web:1")),
            "rolled back from web:2"
        );
    }

    /// A Deployment that finished rolling out with every replica ready: COMPLETED, one
    /// PRIMARY deployment from its current ReplicaSet, the scaled-down old one left out and a
    /// ReplicaSet of another owner ignored.
    #[test]
    fn a_finished_deployment_shows_one_primary_deployment() {
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "uid": "d-1", "generation": 2,
                "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
                "readyReplicas": 2, "availableReplicas": 2}
        }))
        .unwrap();
        let rs = |hash: &str, revision: &str, owner: &str, replicas: i32| -> ReplicaSet {
            serde_json::from_value(json!({
                "metadata": {"name": format!("web-{hash}"), "labels": {"pod-template-hash": hash},
                    "annotations": {"deployment.kubernetes.io/revision": revision},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner}]},
                "spec": {"replicas": replicas, "selector": {}, "template": {"metadata": {"annotations": {"ecsplane.io/task-definition": format!("web:{revision}")}}}},
                "status": {"replicas": replicas, "readyReplicas": replicas}
            }))
            .unwrap()
        };
        let observed = observe_deployment(
            &d,
            vec![
                rs("old", "1", "d-1", 0),
                rs("new", "2", "d-1", 2),
                rs("x", "9", "other", 3),
            ],
        );
        assert_eq!(
            (observed.desired, observed.running, observed.pending),
            (2, 2, 0)
        );
        assert_eq!(
            observed.rollout,
            (RolloutState::Completed, COMPLETED_REASON.to_owned())
        );
        assert_eq!(observed.deployments.len(), 1, "{:?}", observed.deployments);
        let primary = &observed.deployments[0];
        assert_eq!(
            (
                primary.id.as_str(),
                primary.status.as_str(),
                primary.task_definition.as_deref()
            ),
            ("ecs-svc/new", "PRIMARY", Some("web:2"))
        );
        assert_eq!(primary.rollout_state.as_deref(), Some("COMPLETED"));
    }

    /// The first steady state is an event; status names the revision, and the events are
    /// kept newest first.
    #[test]
    fn reaching_a_steady_state_is_reported_once_as_ecs_does() {
        let svc = service(None);
        let observed = Observed {
            desired: 4,
            running: 4,
            rollout: (RolloutState::Completed, COMPLETED_REASON.into()),
            ..Observed::default()
        };
        let translated = Desired::new(ConditionType::Translated, true, Reason::Exact, "");
        let now = at("2026-01-01T00:00:00Z");
        let first = service_status(
            &svc,
            &EcsServiceStatus::default(),
            "web:2",
            translated.clone(),
            &[],
            observed,
            &now,
        );
        assert_eq!(first.events, ["(service web) has reached a steady state."]);
        assert_eq!(first.status.task_definition.as_deref(), Some("web:2"));
        assert_eq!(first.status.rollout_state.as_deref(), Some("COMPLETED"));
        assert!(conditions::is_true(
            &first.status.common.conditions,
            ConditionType::Ready
        ));
        let again = service_status(
            &svc,
            &first.status,
            "web:2",
            translated,
            &[],
            Observed {
                desired: 4,
                running: 4,
                rollout: (RolloutState::Completed, COMPLETED_REASON.into()),
                ..Observed::default()
            },
            &at("2026-01-02T00:00:00Z"),
        );
        assert!(again.events.is_empty());
        assert_eq!(
            again.status, first.status,
            "a converged service writes nothing"
        );
    }

    fn stuck_service() -> EcsService {
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {
            "taskDefinition": "web:2", "desiredCount": 2,
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 100}
        }}))
        .unwrap()
    }

    fn translated_deployment(replicas: i32) -> Object {
        Object::Deployment(Box::new(
            serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {
                "replicas": replicas, "selector": {}, "template": {}
            }}))
            .unwrap(),
        ))
    }

    fn paused(children: &[Object]) -> Option<bool> {
        match &children[0] {
            Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.paused),
            _ => None,
        }
    }

    #[test]
    fn settings_that_let_no_task_stop_or_start_are_stuck_as_on_ecs() {
        assert!(stuck_configuration(&stuck_service(), 2));
        assert!(!stuck_configuration(&service(None), 4));
        let daemon: EcsService =
            serde_json::from_value(json!({"metadata": {"name": "agent"}, "spec": {
                "taskDefinition": "agent", "schedulingStrategy": "DAEMON",
                "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200}
            }}))
            .unwrap();
        assert!(stuck_configuration(&daemon, 3));
    }

    /// A new service's first tasks start (ECS starts them too); once the Deployment runs, a
    /// stuck configuration holds every later rollout by pausing it.
    #[test]
    fn a_stuck_configuration_pauses_the_deployment_only_once_it_runs() {
        let svc = stuck_service();
        let mut children = vec![translated_deployment(2)];
        assert!(!hold_rollout(&svc, &mut children, &[]));
        assert_eq!(paused(&children), None);
        let created: Deployment = serde_json::from_value(
            json!({"metadata": {"name": "web"}, "spec": {"selector": {}, "template": {}}}),
        )
        .unwrap();
        assert!(
            !hold_rollout(&svc, &mut children, std::slice::from_ref(&created)),
            "not seen by its controller yet"
        );
        let running: Deployment = serde_json::from_value(json!({"metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2}}))
        .unwrap();
        assert!(hold_rollout(
            &svc,
            &mut children,
            std::slice::from_ref(&running)
        ));
        assert_eq!(paused(&children), Some(true));
        let mut unstuck = vec![translated_deployment(2)];
        assert!(!hold_rollout(
            &service(None),
            &mut unstuck,
            std::slice::from_ref(&running)
        ));
        assert_eq!(
            paused(&unstuck),
            None,
            "a fixed configuration rolls out again"
        );
    }

    /// Old tasks still running under a stuck configuration: not Ready, not Progressing,
    /// Degraded with ECS's message, published once as a service event and a warning.
    #[test]
    fn a_deployment_that_cannot_progress_says_so_with_the_ecs_message_once() {
        let svc = stuck_service();
        let observed = || Observed {
            desired: 2,
            running: 2,
            rollout: (RolloutState::InProgress, IN_PROGRESS_REASON.into()),
            outdated: true,
            ..Observed::default()
        };
        let translated = Desired::new(ConditionType::Translated, true, Reason::Exact, "");
        let message = format!("(service web) {}", rollout::STUCK_MESSAGE);
        let first = service_status(
            &svc,
            &EcsServiceStatus::default(),
            "web:2",
            translated.clone(),
            &[],
            observed(),
            &at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(first.warnings, std::slice::from_ref(&message));
        assert!(first.events.contains(&message));
        assert_eq!(first.status.rollout_state.as_deref(), Some("IN_PROGRESS"));
        let progressing = first
            .status
            .common
            .conditions
            .iter()
            .find(|c| c.type_ == "Progressing")
            .unwrap();
        assert_eq!(progressing.status, "False");
        assert_eq!(progressing.reason, "DeploymentConfigurationStuck");
        assert_eq!(progressing.message, message);
        let again = service_status(
            &svc,
            &first.status,
            "web:2",
            translated,
            &[],
            observed(),
            &at("2026-01-01T00:01:00Z"),
        );
        assert!(again.warnings.is_empty() && again.events.is_empty());
        let completed_before = Observed {
            rollout: (RolloutState::Completed, COMPLETED_REASON.into()),
            ..observed()
        };
        let held = service_status(
            &svc,
            &again.status,
            "web:2",
            Desired::new(ConditionType::Translated, true, Reason::Exact, ""),
            &[],
            completed_before,
            &at("2026-01-01T00:02:00Z"),
        );
        assert!(
            held.events.is_empty(),
            "no steady state while held: {:?}",
            held.events
        );
        assert_eq!(held.status.rollout_state.as_deref(), Some("IN_PROGRESS"));
    }

    /// The first rollout of a new service has no older tasks: nothing is stuck.
    #[test]
    fn the_first_rollout_of_a_stuck_configuration_is_not_stuck() {
        let observed = Observed {
            desired: 2,
            rollout: (RolloutState::InProgress, IN_PROGRESS_REASON.into()),
            ..Observed::default()
        };
        assert_eq!(stuck_rollout(&stuck_service(), &observed), None);
    }
}
