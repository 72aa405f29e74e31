//! EcsService: applies the Deployment or DaemonSet, HorizontalPodAutoscaler, ServiceAccount and
//! discovery Services (Cloud Map registries, Service Connect aliases) the translation produces; replaces a task whose essential container exited, as ECS does;
//! reports ECS-style status (counts, deployments, rollout state, events, conditions).
//!
//! A service that names only its family runs the revision resolved when the service last
//! changed (`status.taskDefinition`), as ECS stores the resolved ARN: a new TaskDefinition
//! revision reaches the service when its spec changes (for example `spec.taskDefinition` set to
//! `family:N`).
//!
//! The reconcile is the pipeline `resolve` → `translate` → `apply` → `observe` →
//! `update_status`; every decision the steps take is in [`deployments`], pure.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service, ServiceAccount};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;

use super::apply::{self, Owner};
use super::conditions::{self, Desired};
use super::resolve::{self, Blocked};
use super::vocabulary::{ConditionType, EventAction, EventReason};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, cache, errors, status};
use crate::api::{EcsCluster, EcsService, EcsServiceStatus, TargetGroup, TaskDefinition};
use crate::translate::bundle::Bundle;
use crate::translate::{self, Object, names};
use deployments::{Observed, StoppedTask};

pub mod deployments;

pub use deployments::{circuit_breaker_threshold, exited_essential_container};

/// How often a service that is not steady yet is looked at again.
const ROLLING_RETRY: Duration = Duration::from_secs(10);

/// Runs the EcsService controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctrl = wiring
        .controller::<EcsService>()
        .owns_stream(wiring.changes::<Deployment>())
        .owns_stream(wiring.changes::<DaemonSet>())
        .owns_stream(wiring.changes::<HorizontalPodAutoscaler>())
        .owns_stream(wiring.changes::<ServiceAccount>())
        .owns_stream(wiring.changes::<Service>());
    // The services a TaskDefinition, TargetGroup or EcsCluster concerns, from the services
    // store's indexes (a scan of every service per event made these O(N) each).
    let caches = wiring.ctx.reader.caches().clone();
    let (by_family, by_target_group, by_cluster) = (caches.clone(), caches.clone(), caches);
    let ctrl = ctrl
        .watches_stream(wiring.changes::<TaskDefinition>(), move |td| {
            let ns = td.metadata.namespace.clone().unwrap_or_default();
            services_by(
                &by_family.services,
                cache::BY_FAMILY,
                &ns,
                &td.spec.family,
                |s| names::task_definition_ref(&s.spec.task_definition).0 == td.spec.family,
            )
        })
        .watches_stream(wiring.changes::<TargetGroup>(), move |tg| {
            let ns = tg.metadata.namespace.clone().unwrap_or_default();
            let tg_name = tg.target_group_name().to_owned();
            services_by(
                &by_target_group.services,
                cache::BY_TARGET_GROUP,
                &ns,
                &tg_name,
                |s| {
                    s.spec.load_balancers.iter().flatten().any(|lb| {
                        lb.target_group_arn
                            .as_deref()
                            .map(names::target_group_of_arn)
                            == Some(tg_name.as_str())
                    })
                },
            )
        })
        .watches_stream(wiring.changes::<EcsCluster>(), move |c| {
            let ns = c.metadata.namespace.clone().unwrap_or_default();
            let name = c.metadata.name.clone().unwrap_or_default();
            services_by(&by_cluster.services, cache::BY_CLUSTER, &ns, &name, |s| {
                names::cluster_name(s.spec.cluster.as_deref()) == name
            })
        })
        .watches_stream(wiring.changes::<Pod>(), by_service_label)
        .watches_stream(wiring.changes::<ReplicaSet>(), by_service_label);
    wiring.run(ctrl, reconcile).await;
}

/// The services of `namespace` under `index` = `value` in the services store that `keep`
/// (an index entry may lag a change of the service by a moment: checked on the object).
fn services_by(
    services: &cache::Cache<EcsService>,
    index: &str,
    namespace: &str,
    value: &str,
    keep: impl Fn(&EcsService) -> bool,
) -> Vec<ObjectRef<EcsService>> {
    let found = services.lookup(index, namespace, value).unwrap_or_else(|| {
        services
            .store()
            .state_filter(|s| s.metadata.namespace.as_deref() == Some(namespace))
    });
    found
        .into_iter()
        .filter(|s| keep(s))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

fn by_service_label<K: kube::Resource>(obj: K) -> Option<ObjectRef<EcsService>> {
    let name = obj.meta().labels.as_ref()?.get(names::LABEL_SERVICE)?;
    Some(ObjectRef::new(name).within(obj.meta().namespace.as_deref()?))
}

/// The kinds an EcsService owns.
fn owned_kinds() -> [kube::discovery::ApiResource; 5] {
    [
        apply::resource::<ServiceAccount>(),
        apply::resource::<Service>(),
        apply::resource::<Deployment>(),
        apply::resource::<DaemonSet>(),
        apply::resource::<HorizontalPodAutoscaler>(),
    ]
}

async fn reconcile(svc: Arc<EcsService>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    // Status events accumulate: build on the stored copy, not on a cache that may not have
    // seen this controller's last write yet.
    let Some(svc) = ctx.reader.latest(svc.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    let previous = svc.status.clone().unwrap_or_default();
    let resolved = match resolve(&ctx, &svc, &previous).await? {
        Ok(resolved) => resolved,
        Err(blocked) => return block(&ctx, &svc, &previous, blocked).await,
    };
    let translated = match translate(&resolved) {
        Ok(translated) => translated,
        Err(blocked) => return block(&ctx, &svc, &previous, blocked).await,
    };
    let applied = apply(&ctx, &svc, translated.children).await?;
    if !applied.children.conflicts.is_empty() {
        apply::report_conflicts(&ctx, &svc, &applied.children.conflicts).await;
        let blocked = Blocked::conflicts(&applied.children.conflicts);
        return block(&ctx, &svc, &previous, blocked).await;
    }
    let observed = observe(&ctx, &svc, &applied).await?;
    let decided = deployments::service_status(
        &svc,
        &previous,
        &resolved.family_revision,
        translated.fidelity,
        &applied.stopped,
        observed,
        &conditions::now(),
    );
    update_status(&ctx, &svc, &previous, decided).await
}

/// What the translation of a service needs, read from the cluster.
struct Resolved {
    /// The revision it runs, `family:revision`.
    family_revision: String,
    /// The service (its task definition resolved), that revision, the namespace's target
    /// groups and the service's cluster.
    bundle: Bundle,
    /// The current count of an autoscaled service (its desiredCount, as the autoscaler
    /// writes it), which tells the translation the operator acts on the HPA's count.
    options: translate::Options,
}

/// Resolves the task definition revision the service runs
/// ([`deployments::task_definition_to_run`]) and reads what its translation refers to.
async fn resolve(
    ctx: &Context,
    svc: &EcsService,
    previous: &EcsServiceStatus,
) -> Result<Result<Resolved, Blocked>, ReconcileError> {
    let ns = svc.metadata.namespace.clone().unwrap_or_default();
    let (reference, pinned) = deployments::task_definition_to_run(svc, previous);
    let revision = match resolve::task_definition(ctx, &ns, reference, pinned).await? {
        Ok(r) => r,
        Err(message) => return Ok(Err(Blocked::task_definition_not_found(message))),
    };
    let mut resolved_svc = svc.clone();
    resolved_svc.spec.task_definition = revision.family_revision.clone();
    resolved_svc.status = None;
    resolved_svc.metadata.managed_fields = None;
    let bundle = Bundle {
        services: vec![resolve::sourced(resolved_svc)],
        task_definitions: vec![resolve::sourced(revision.task_definition)],
        target_groups: resolve::target_groups(ctx, &ns).await?,
        clusters: resolve::cluster(ctx, &ns, svc.spec.cluster.as_deref()).await?,
        ..Bundle::default()
    };
    let mut options = translate::Options {
        security_policy: ctx.options.security_policy,
        ..translate::Options::default()
    };
    if let Some(a) = &svc.spec.auto_scaling {
        // The service's count is its desiredCount, which the autoscaler writes through the
        // scale subresource; the translation clamps and splits it.
        options.autoscaled_counts.insert(
            translate::service_key(svc),
            svc.spec.desired_count.unwrap_or(1),
        );
        if let Some(bounds) = super::scaling::effective_bounds(a, previous) {
            options
                .effective_bounds
                .insert(translate::service_key(svc), bounds);
        }
    }
    Ok(Ok(Resolved {
        family_revision: revision.family_revision,
        bundle,
        options,
    }))
}

/// The service's children and how faithfully it translated.
struct Translated {
    /// ServiceAccount, Deployment or DaemonSet, HorizontalPodAutoscaler, discovery Services.
    children: Vec<Object>,
    /// The `Translated` condition.
    fidelity: Desired,
}

/// Translates the service with the one translation `ecsplane render` runs.
fn translate(resolved: &Resolved) -> Result<Translated, Blocked> {
    let translation = translate::translate_with(&resolved.bundle, &resolved.options)
        .map_err(|errors| Blocked::translation(&errors.0))?;
    let children = translation
        .objects
        .into_iter()
        .filter(|o| {
            matches!(
                o,
                Object::ServiceAccount(_)
                    | Object::Deployment(_)
                    | Object::DaemonSet(_)
                    | Object::HorizontalPodAutoscaler(_)
            ) || matches!(o, Object::Service(s) if is_discovery(s))
        })
        .collect();
    Ok(Translated {
        children,
        fidelity: conditions::translated(&translation.report),
    })
}

/// Whether `service` is one of the service's discovery Services (a Cloud Map registry or a
/// Service Connect alias), which the EcsService owns; a target group's Service is the
/// TargetGroup's.
fn is_discovery(service: &Service) -> bool {
    service
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(translate::discovery::LABEL_DISCOVERY))
}

/// What the apply step did.
struct Applied {
    /// The children as they are now.
    children: apply::Applied,
    /// The tasks stopped because an essential container exited.
    stopped: Vec<StoppedTask>,
}

/// Applies the children, then stops the tasks ECS would stop
/// ([`deployments::tasks_to_stop`]); their ReplicaSet or DaemonSet replaces them.
async fn apply(
    ctx: &Context,
    svc: &EcsService,
    mut children: Vec<Object>,
) -> Result<Applied, ReconcileError> {
    hold_stuck_rollout(ctx, svc, &mut children).await?;
    let children =
        apply::reconcile_children(ctx, &Owner::of(svc), &owned_kinds(), children).await?;
    if !children.conflicts.is_empty() {
        return Ok(Applied {
            children,
            stopped: Vec::new(),
        });
    }
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    let pods = ctx.reader.pods_of_service(ns, name).await?;
    let mut stopped = Vec::new();
    for task in deployments::tasks_to_stop(&pods) {
        if !apply::stop_pod(ctx, ns, &task.pod).await? {
            continue;
        }
        tracing::info!(service = %name, task = %task.pod, container = %task.exited, "stopped task: essential container in task exited");
        ctx.event(
            svc,
            EventType::Warning,
            EventReason::TaskStopped,
            EventAction::StopTask,
            task.event_note(),
        )
        .await;
        stopped.push(task);
    }
    Ok(Applied { children, stopped })
}

/// Pauses the Deployments of a service whose configuration lets no task stop or start, once
/// it runs ([`deployments::hold_rollout`]); reads the live Deployment only for such a service.
async fn hold_stuck_rollout(
    ctx: &Context,
    svc: &EcsService,
    children: &mut [Object],
) -> Result<(), ReconcileError> {
    let desired = svc.spec.desired_count.unwrap_or(1);
    let names: Vec<String> = children
        .iter()
        .filter_map(|o| match o {
            Object::Deployment(d) => d.metadata.name.clone(),
            _ => None,
        })
        .collect();
    if names.is_empty()
        || (!deployments::stuck_configuration(svc, desired) && svc.spec.auto_scaling.is_none())
    {
        return Ok(());
    }
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let mut live = Vec::new();
    for name in &names {
        live.extend(ctx.reader.deployment(ns, name).await?);
    }
    deployments::hold_rollout(svc, children, &live);
    Ok(())
}

/// Reads what the workload and its ReplicaSets show now.
async fn observe(
    ctx: &Context,
    svc: &EcsService,
    applied: &Applied,
) -> Result<Observed, ReconcileError> {
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    // The applied copies may be older than the workload controller's last status update:
    // read them again (an applied copy stands in if it is gone meanwhile). A service with
    // several capacity providers has one Deployment each.
    let mut ds = Vec::new();
    for ((kind, child), applied) in &applied.children.live {
        if kind != "Deployment" {
            continue;
        }
        match ctx.reader.deployment(ns, child).await? {
            Some(d) => ds.push(d),
            None => {
                if let Ok(d) = applied.clone().try_parse::<Deployment>() {
                    ds.push(d);
                }
            }
        }
    }
    if !ds.is_empty() {
        let replica_sets: Vec<ReplicaSet> = ctx.reader.replica_sets_of_service(ns, name).await?;
        return Ok(deployments::observe_deployments(&ds, replica_sets));
    }
    if let Some(applied) = applied.children.child("DaemonSet") {
        let child = applied.metadata.name.as_deref().unwrap_or_default();
        let ds = match ctx.reader.daemon_set(ns, child).await? {
            Some(ds) => ds,
            None => match applied.clone().try_parse::<DaemonSet>() {
                Ok(ds) => ds,
                Err(_) => return Ok(Observed::default()),
            },
        };
        return Ok(deployments::observe_daemon_set(&ds));
    }
    Ok(Observed::default())
}

/// Publishes the new service events and writes the status; a service that is not steady is
/// looked at again soon.
async fn update_status(
    ctx: &Context,
    svc: &EcsService,
    previous: &EcsServiceStatus,
    decided: deployments::ServiceStatus,
) -> Result<Action, ReconcileError> {
    for message in decided.warnings {
        ctx.event(
            svc,
            EventType::Warning,
            EventReason::DeploymentConfigurationStuck,
            EventAction::Reconcile,
            message,
        )
        .await;
    }
    for message in decided.events {
        ctx.event(
            svc,
            EventType::Normal,
            EventReason::ServiceEvent,
            EventAction::Reconcile,
            message,
        )
        .await;
    }
    let steady = conditions::is_true(&decided.status.common.conditions, ConditionType::Ready);
    status::write(ctx, svc, &ours(previous), &decided.status).await?;
    Ok(Action::requeue(if steady { RESYNC } else { ROLLING_RETRY }))
}

/// Writes the status of a service that cannot run as specified; it looks again when it or
/// what it refers to changes ([`errors::blocked`]).
async fn block(
    ctx: &Context,
    svc: &EcsService,
    previous: &EcsServiceStatus,
    blocked: Blocked,
) -> Result<Action, ReconcileError> {
    let status = deployments::blocked(svc, previous, blocked.clone(), &conditions::now());
    status::write(ctx, svc, &ours(previous), &status).await?;
    Ok(errors::blocked(ctx, svc, &blocked).await)
}

/// The part of a service's status this controller writes: all but `autoScaling`, which is
/// the scaler's (`controller::scaling`).
fn ours(previous: &EcsServiceStatus) -> EcsServiceStatus {
    EcsServiceStatus {
        auto_scaling: None,
        ..previous.clone()
    }
}
