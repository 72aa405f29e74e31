//! TargetGroup: applies the Service named after the target group, selecting the pods of every
//! EcsService that registers with it, and reports registered and healthy targets from the
//! Service's EndpointSlices.
//!
//! The reconcile is the pipeline `resolve` (the registering services) → `translate` →
//! `apply` → `observe` (the EndpointSlices) → `update_status`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use super::apply::{self, Owner};
use super::conditions::{self, Desired};
use super::ownership::Conflict;
use super::reader::LABEL_SERVICE_NAME;
use super::resolve::{self, Blocked};
use super::vocabulary::{ConditionType, Reason};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, errors, status};
use crate::api::{CommonStatus, EcsService, TargetGroup, TargetGroupStatus};
use crate::translate::binding;
use crate::translate::report::Report;
use crate::translate::target_group::{self, Registration};
use crate::translate::{Object, names};

/// Runs the TargetGroup controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctrl = wiring
        .controller::<TargetGroup>()
        .owns_stream(wiring.changes::<Service>());
    let store = ctrl.store();
    let tgs = store.clone();
    let slices = store.clone();
    let ctrl = ctrl
        .watches_stream(wiring.changes::<EcsService>(), move |svc| {
            let ns = svc.metadata.namespace.clone();
            let referenced: Vec<String> = svc
                .spec
                .load_balancers
                .iter()
                .flatten()
                .filter_map(|lb| lb.target_group_arn.as_deref())
                .map(|a| names::target_group_of_arn(a).to_owned())
                .collect();
            tgs.state()
                .into_iter()
                .filter(|tg| {
                    tg.metadata.namespace == ns
                        && referenced.iter().any(|r| r == tg.target_group_name())
                })
                .map(|tg| ObjectRef::from_obj(tg.as_ref()))
                .collect::<Vec<_>>()
        })
        .watches_stream(wiring.changes::<EndpointSlice>(), move |slice| {
            let ns = slice.metadata.namespace.clone();
            let service = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_SERVICE_NAME))
                .cloned()
                .unwrap_or_default();
            slices
                .state()
                .into_iter()
                .filter(|tg| {
                    tg.metadata.namespace == ns
                        && names::target_group_service_name(tg.target_group_name()) == service
                })
                .map(|tg| ObjectRef::from_obj(tg.as_ref()))
                .collect::<Vec<_>>()
        });
    wiring.run(ctrl, reconcile).await;
}

async fn reconcile(tg: Arc<TargetGroup>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let registrations = resolve(&ctx, &tg).await?;
    let bind = ctx.options.routing.target_group_binding;
    let mut translated = translate(&tg, &registrations, bind);
    let mut conflicted = None;
    if let Ok(service) = &translated {
        let (conflicts, unbound) = apply(&ctx, &tg, service.clone(), bind).await?;
        if !conflicts.is_empty() {
            let blocked = Blocked::conflicts(&conflicts);
            translated = Err(blocked.clone());
            conflicted = Some(blocked);
        } else if let Some(unbound) = unbound {
            translated = Err(unbound);
        }
    }
    let targets = observe(&ctx, &tg).await?;
    let previous = tg.status.clone().unwrap_or_default();
    let status = target_group_status(&tg, &previous, &registrations, translated.err(), targets);
    status::write(&ctx, tg.as_ref(), &previous, &status).await?;
    if let Some(blocked) = conflicted {
        // One Warning Event per distinct conflict however often it is looked at again, as
        // every controller's blocks are published.
        return Ok(errors::blocked(&ctx, tg.as_ref(), &blocked).await);
    }
    Ok(Action::requeue(RESYNC))
}

/// The registrations of the services in the target group's namespace that name it (the same
/// function the offline translation registers services with).
async fn resolve(ctx: &Context, tg: &TargetGroup) -> Result<Vec<Registration>, ReconcileError> {
    let ns = tg.metadata.namespace.as_deref().unwrap_or_default();
    let services = ctx.reader.services(ns).await?;
    Ok(target_group::registrations(
        tg.target_group_name(),
        tg.metadata.namespace.as_deref(),
        &services,
    ))
}

/// The target group's Service: none when no service registers with it (dropping a service's
/// load balancer removes it; a listener forwarding there gets no backend, as an ALB target
/// group without targets answers 503). Refused when the registrations cannot share one
/// Service. With `bind` (`--target-group-binding`) a TargetGroup naming a real ALB target
/// group also gets its TargetGroupBinding ([`binding::target_group_binding`]).
fn translate(
    tg: &TargetGroup,
    registrations: &[Registration],
    bind: bool,
) -> Result<Vec<Object>, Blocked> {
    let mut clean = tg.clone();
    clean.status = None;
    clean.metadata.managed_fields = None;
    let sourced = resolve::sourced(clean);
    let mut objects =
        target_group::translate_target_group(&sourced, registrations, &mut Report::default())
            .map_err(|refusals| Blocked {
                reason: Reason::Invalid,
                message: refusals
                    .iter()
                    .map(|r| format!("{}: {}", r.field, r.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
    if registrations.is_empty() {
        return Ok(Vec::new());
    }
    objects.retain(|o| matches!(o, Object::Service(_)));
    if bind
        && let Some(b) = binding::target_group_binding(&sourced, &objects, &mut Report::default())
    {
        objects.push(b);
    }
    Ok(objects)
}

/// Applies the Service (and, with `bind`, the TargetGroupBinding, owned like the Service so
/// that deleting the TargetGroup removes it); returns the conflicts when a name is somebody
/// else's (nothing is written then). When the API server has no TargetGroupBinding resource
/// (the AWS Load Balancer Controller's CRD is not installed), the Service alone is applied and
/// the second value says why the target group is not bound: a condition, retried at the
/// resync, not an error backing off.
async fn apply(
    ctx: &Context,
    tg: &TargetGroup,
    children: Vec<Object>,
    bind: bool,
) -> Result<(Vec<Conflict>, Option<Blocked>), ReconcileError> {
    let owner = Owner::of(tg);
    let service = apply::resource::<Service>();
    if !bind {
        let applied = apply::reconcile_children(ctx, &owner, &[service], children).await?;
        return Ok((applied.conflicts, None));
    }
    let kinds = [service.clone(), binding::api_resource()];
    match apply::reconcile_children(ctx, &owner, &kinds, children.clone()).await {
        Ok(applied) => Ok((applied.conflicts, None)),
        Err(e) if binding_resource_missing(&e) => {
            let applied = apply::reconcile_children(ctx, &owner, &[service], children).await?;
            Ok((applied.conflicts, Some(binding_unavailable(tg))))
        }
        Err(e) => Err(e),
    }
}

/// Whether `e` is the API server's 404 for the TargetGroupBinding resource itself.
fn binding_resource_missing(e: &ReconcileError) -> bool {
    match e {
        ReconcileError::Api {
            action,
            source: kube::Error::Api(status),
        } => {
            status.code == 404
                && (action.contains(&binding::api_resource().plural)
                    || action.contains(binding::KIND))
        }
        _ => false,
    }
}

/// Why a target group that `--target-group-binding` would bind is not.
fn binding_unavailable(tg: &TargetGroup) -> Blocked {
    let arn = binding::real_arn(tg).unwrap_or_default();
    Blocked {
        reason: Reason::BindingUnavailable,
        message: format!(
            "the TargetGroupBinding CRD (targetgroupbindings.{}/{}) is not installed: install the AWS Load Balancer Controller so that the pods join the target group {arn}; the Service is made, and the binding is written at the next resync once the CRD exists",
            binding::GROUP,
            binding::VERSION
        ),
    }
}

/// Targets of the target group: registered (endpoints of its Service) and healthy (ready).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Targets {
    registered: i32,
    healthy: i32,
}

async fn observe(ctx: &Context, tg: &TargetGroup) -> Result<Targets, ReconcileError> {
    let ns = tg.metadata.namespace.as_deref().unwrap_or_default();
    let service = names::target_group_service_name(tg.target_group_name());
    let mut targets = Targets::default();
    for slice in ctx.reader.endpoint_slices(ns, &service).await? {
        for e in slice.endpoints.iter().flatten() {
            targets.registered += 1;
            if e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false) {
                targets.healthy += 1;
            }
        }
    }
    Ok(targets)
}

/// The status: targets, the registering services, and Ready (healthy targets, or why not).
fn target_group_status(
    tg: &TargetGroup,
    previous: &TargetGroupStatus,
    registrations: &[Registration],
    refused: Option<Blocked>,
    targets: Targets,
) -> TargetGroupStatus {
    let mut registered_by: Vec<String> = registrations
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r.namespace.as_deref().unwrap_or_default(),
                r.service
            )
        })
        .collect();
    registered_by.sort();
    registered_by.dedup();
    let Targets {
        registered,
        healthy,
    } = targets;
    let ready = match refused {
        Some(Blocked { reason, message }) => {
            Desired::new(ConditionType::Ready, false, reason, message)
        }
        None if registered_by.is_empty() => Desired::new(
            ConditionType::Ready,
            true,
            Reason::NoServices,
            "no EcsService registers with this target group",
        ),
        None if healthy > 0 => Desired::new(
            ConditionType::Ready,
            true,
            Reason::HealthyTargets,
            format!("{healthy} of {registered} registered targets healthy"),
        ),
        None => Desired::new(
            ConditionType::Ready,
            false,
            Reason::NoHealthyTargets,
            format!("0 of {registered} registered targets healthy"),
        ),
    };
    TargetGroupStatus {
        registered_targets: Some(registered),
        healthy_targets: Some(healthy),
        services: registered_by,
        common: CommonStatus {
            observed_generation: tg.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![ready],
                tg.metadata.generation,
                &conditions::now(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(action: &str, code: u16) -> ReconcileError {
        ReconcileError::Api {
            action: action.into(),
            source: kube::Error::Api(Box::new(
                kube::core::Status::failure(
                    "the server could not find the requested resource",
                    "NotFound",
                )
                .with_code(code),
            )),
        }
    }

    #[test]
    fn only_a_404_for_the_binding_resource_means_its_crd_is_missing() {
        assert!(binding_resource_missing(&api_error(
            "list targetgroupbindings of TargetGroup web-tg",
            404
        )));
        assert!(binding_resource_missing(&api_error(
            "apply TargetGroupBinding shop/web-tg",
            404
        )));
        assert!(!binding_resource_missing(&api_error(
            "list targetgroupbindings of TargetGroup web-tg",
            500
        )));
        assert!(!binding_resource_missing(&api_error(
            "apply Service shop/web-tg",
            404
        )));
    }
}
