//! Listener: translates the listener's rules with [`translate_listener`] (the routing compiler
//! `ecsplane routes` and `ecsplane render` use), applies the Ingresses or HTTPRoutes, and
//! reports each rule's fate in status.
//!
//! Backends are the Services of the listener's target groups as the TargetGroup controller
//! applied them, so a backend's port is the one its Service has, exactly as in `ecsplane
//! render`. The reconcile is the pipeline `resolve` → `translate` → `apply` →
//! `listener_status` (the fates are what is observed).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use super::apply::{self, LABEL_OWNER, Owner};
use super::conditions::{self, Desired};
use super::ownership::Conflict;
use super::resolve::Blocked;
use super::vocabulary::{ConditionType, FateName, Reason};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, errors, status};
use crate::api::{CommonStatus, Listener, ListenerStatus, RuleFate, TargetGroup};
use crate::translate::Object;
use crate::translate::listener::{ListenerRoutes, forwarded_target_groups, translate_listener};
use crate::translate::names;
use crate::translate::routing::{self, Profile, RuleId};

/// Runs the Listener controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctx = &wiring.ctx;
    let owned = || watcher::Config::default().labels(LABEL_OWNER);
    let ctrl = wiring.controller::<Listener>();
    let ctrl = if ctx.options.routing.profile == Profile::Gateway {
        let ar = apply::http_route();
        ctrl.owns_with(ctx.api_with(&ar), ar, owned())
    } else {
        ctrl.owns_stream(wiring.changes::<Ingress>())
    };
    let store = ctrl.store();
    let by_target_group = store.clone();
    let by_service = store.clone();
    let ctrl = ctrl
        .watches_stream(wiring.changes::<TargetGroup>(), move |tg| {
            let ns = tg.metadata.namespace.clone();
            let name = tg.target_group_name().to_owned();
            by_target_group
                .state()
                .into_iter()
                .filter(|l| {
                    l.metadata.namespace == ns && forwarded_target_groups(l).contains(&name)
                })
                .map(|l| ObjectRef::from_obj(l.as_ref()))
                .collect::<Vec<_>>()
        })
        // A target group's Service carries the port its backends use.
        .watches_stream(wiring.changes::<Service>(), move |service| {
            let ns = service.metadata.namespace.clone();
            let name = service.metadata.name.clone().unwrap_or_default();
            by_service
                .state()
                .into_iter()
                .filter(|l| {
                    l.metadata.namespace == ns
                        && forwarded_target_groups(l)
                            .iter()
                            .any(|tg| names::target_group_service_name(tg) == name)
                })
                .map(|l| ObjectRef::from_obj(l.as_ref()))
                .collect::<Vec<_>>()
        });
    wiring.run(ctrl, reconcile).await;
}

async fn reconcile(l: Arc<Listener>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let resolved = resolve(&ctx, &l).await?;
    let routes = translate(&ctx, &l, &resolved);
    let conflicts = apply(&ctx, &l, routes.objects).await?;
    let previous = l.status.clone().unwrap_or_default();
    let status = listener_status(
        &l,
        &previous,
        &resolved.missing,
        &conflicts,
        &routes.fates,
        &conditions::now(),
    );
    status::write(&ctx, l.as_ref(), &previous, &status).await?;
    if !conflicts.is_empty() {
        // One Warning Event per distinct conflict however often it is looked at again, as
        // every controller's blocks are published.
        return Ok(errors::blocked(&ctx, l.as_ref(), &Blocked::conflicts(&conflicts)).await);
    }
    Ok(Action::requeue(RESYNC))
}

/// What the listener's translation needs, read from the cluster.
struct Resolved {
    /// The target groups it forwards to that do not exist, once per reference.
    missing: Vec<String>,
    /// The Services of the namespace's target groups.
    services: Vec<Service>,
}

async fn resolve(ctx: &Context, l: &Listener) -> Result<Resolved, ReconcileError> {
    let ns = l.metadata.namespace.as_deref().unwrap_or_default();
    let existing: BTreeSet<String> = ctx
        .reader
        .target_groups(ns)
        .await?
        .iter()
        .map(|tg| tg.target_group_name().to_owned())
        .collect();
    let missing = forwarded_target_groups(l)
        .into_iter()
        .filter(|tg| !existing.contains(tg))
        .collect();
    let services = ctx.reader.target_group_services(ns).await?;
    Ok(Resolved { missing, services })
}

/// The routes of the operator's routing profile.
fn translate(ctx: &Context, l: &Listener, resolved: &Resolved) -> ListenerRoutes {
    let services: Vec<&Service> = resolved.services.iter().collect();
    translate_listener(l, &services, &ctx.options.routing)
}

/// Applies the routes; returns the conflicts when a route's name is somebody else's (nothing
/// is written then).
async fn apply(
    ctx: &Context,
    l: &Listener,
    routes: Vec<Object>,
) -> Result<Vec<Conflict>, ReconcileError> {
    let kinds = if ctx.options.routing.profile == Profile::Gateway {
        vec![apply::http_route()]
    } else {
        vec![apply::resource::<Ingress>()]
    };
    let applied = apply::reconcile_children(ctx, &Owner::of(l), &kinds, routes).await?;
    Ok(applied.conflicts)
}

/// The status: each prioritized rule's fate, and Ready (routed exactly, with differences, or
/// not at all for want of a target group).
fn listener_status(
    l: &Listener,
    previous: &ListenerStatus,
    missing: &[String],
    conflicts: &[Conflict],
    fates: &[routing::RuleFate],
    now: &Time,
) -> ListenerStatus {
    let ns = l.metadata.namespace.as_deref().unwrap_or_default();
    let rules: Vec<RuleFate> = fates
        .iter()
        .filter_map(|f| match f.rule {
            RuleId::Priority(p) => Some(RuleFate {
                priority: p,
                fate: FateName::of(&f.fate).as_str().into(),
                detail: (!f.fate.is_exact()).then(|| f.fate.to_string()),
            }),
            RuleId::Default => None,
        })
        .collect();
    let count = |name: FateName| rules.iter().filter(|r| r.fate == name.as_str()).count();
    let exact = count(FateName::Exact) as i32;
    let not_representable = count(FateName::NotRepresentable) + count(FateName::Approximated);
    let default_exact = fates
        .iter()
        .find(|f| f.rule == RuleId::Default)
        .is_none_or(|f| f.fate.is_exact());
    let ready = if !conflicts.is_empty() {
        let blocked = Blocked::conflicts(conflicts);
        Desired::new(ConditionType::Ready, false, blocked.reason, blocked.message)
    } else if !missing.is_empty() {
        Desired::new(
            ConditionType::Ready,
            false,
            Reason::TargetGroupNotFound,
            format!(
                "forwards to target group(s) not found in namespace {ns}: {}",
                missing.join(", ")
            ),
        )
    } else if not_representable > 0 || !default_exact {
        Desired::new(
            ConditionType::Ready,
            true,
            Reason::RoutedWithDifferences,
            format!(
                "{not_representable} rule(s){} cannot be routed exactly; see status.rules",
                if default_exact {
                    ""
                } else {
                    " and the default actions"
                }
            ),
        )
    } else {
        Desired::new(
            ConditionType::Ready,
            true,
            Reason::RoutedExactly,
            "every rule routes as on the ALB",
        )
    };
    ListenerStatus {
        rule_count: Some(l.spec.rules.as_ref().map_or(0, |r| r.len()) as i32),
        exact_rules: Some(exact),
        rules,
        common: CommonStatus {
            observed_generation: l.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![ready],
                l.metadata.generation,
                now,
            ),
        },
    }
}
