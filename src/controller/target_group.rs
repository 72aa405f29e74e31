//! TargetGroup: applies the Service named after the target group, selecting the pods of every
//! EcsService that registers with it, and reports registered and healthy targets from the
//! Service's EndpointSlices.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
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
use crate::api::{CommonStatus, EcsService, TargetGroup, TargetGroupStatus};
use crate::translate::report::Report;
use crate::translate::target_group::{Registration, translate_target_group};
use crate::translate::{Object, names};

const KIND: &str = "TargetGroup";

/// Runs the TargetGroup controller until `shutdown`.
pub(crate) async fn controller(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ready: Arc<ReadyCounter>,
) {
    let ctrl = Controller::new(ctx.api::<TargetGroup>(), watcher::Config::default()).owns(
        ctx.api::<Service>(),
        watcher::Config::default().labels(LABEL_OWNER),
    );
    let store = ctrl.store();
    let tgs = store.clone();
    let slices = store.clone();
    let ctrl = ctrl
        .watches(
            ctx.api::<EcsService>(),
            watcher::Config::default(),
            move |svc| {
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
            },
        )
        .watches(
            ctx.api::<EndpointSlice>(),
            watcher::Config::default().labels(names::LABEL_MANAGED_BY),
            move |slice| {
                let ns = slice.metadata.namespace.clone();
                let service = slice
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
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
            },
        )
        .graceful_shutdown_on(shutdown);
    tokio::spawn(ready.when_listed(KIND, ctx.api::<TargetGroup>()));
    drive(KIND, ctrl.run(reconcile, error_policy, ctx)).await;
}

async fn reconcile(tg: Arc<TargetGroup>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    timed(&ctx, KIND, reconcile_target_group(&tg, &ctx)).await
}

async fn reconcile_target_group(tg: &TargetGroup, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = tg.metadata.namespace.clone().unwrap_or_default();
    let name = tg.metadata.name.clone().unwrap_or_default();
    let tg_name = tg.target_group_name().to_owned();
    let services = Api::<EcsService>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .map_err(api_err("list EcsServices"))?;
    let mut registrations = Vec::new();
    let mut registered_by = Vec::new();
    for s in &services.items {
        for lb in s.spec.load_balancers.iter().flatten() {
            if lb
                .target_group_arn
                .as_deref()
                .map(names::target_group_of_arn)
                == Some(&tg_name)
            {
                registrations.push(Registration {
                    namespace: Some(ns.clone()),
                    target_group: tg_name.clone(),
                    service: s.metadata.name.clone().unwrap_or_default(),
                    container_port: lb.container_port,
                });
                registered_by.push(format!(
                    "{ns}/{}",
                    s.metadata.name.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    registered_by.sort();
    registered_by.dedup();
    let mut report = Report::default();
    let mut clean = tg.clone();
    clean.status = None;
    clean.metadata.managed_fields = None;
    let previous = tg.status.clone().unwrap_or_default();
    let (desired, ready_condition) =
        match translate_target_group(&resolve::sourced(clean), &registrations, &mut report) {
            Ok(objects) => {
                let mut desired = Vec::new();
                for o in objects {
                    if let Object::Service(_) = o {
                        desired.push(serde_json::to_value(&o).map_err(|source| {
                            ReconcileError::Serialize {
                                what: o.id(),
                                source,
                            }
                        })?);
                    }
                }
                (Some(desired), None)
            }
            Err(refusals) => (
                None,
                Some(Desired::new(
                    "Ready",
                    false,
                    "Invalid",
                    refusals
                        .iter()
                        .map(|r| format!("{}: {}", r.field, r.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
            ),
        };
    // A target group no service registers with has no Service on the cluster (dropping a
    // service's load balancer removes it); a listener forwarding there gets no backend, as an
    // ALB target group without targets answers 503.
    let desired = desired.map(|d| {
        if registrations.is_empty() {
            Vec::new()
        } else {
            d
        }
    });
    if let Some(desired) = desired {
        apply::reconcile_children(
            ctx,
            &Owner::of(tg),
            &[apply::resource::<Service>()],
            desired,
        )
        .await?;
    }
    let service_name = names::target_group_service_name(&tg_name);
    let slices = Api::<EndpointSlice>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={service_name}")))
        .await
        .map_err(api_err("list EndpointSlices"))?;
    let mut registered = 0;
    let mut healthy = 0;
    for slice in &slices.items {
        for e in slice.endpoints.iter().flatten() {
            registered += 1;
            if e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false) {
                healthy += 1;
            }
        }
    }
    let ready = ready_condition.unwrap_or_else(|| {
        if registered_by.is_empty() {
            Desired::new(
                "Ready",
                true,
                "NoServices",
                "no EcsService registers with this target group",
            )
        } else if healthy > 0 {
            Desired::new(
                "Ready",
                true,
                "HealthyTargets",
                format!("{healthy} of {registered} registered targets healthy"),
            )
        } else {
            Desired::new(
                "Ready",
                false,
                "NoHealthyTargets",
                format!("0 of {registered} registered targets healthy"),
            )
        }
    });
    let status = TargetGroupStatus {
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
    };
    if status != previous {
        Api::<TargetGroup>::namespaced(ctx.client.clone(), &ns)
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
            .map_err(api_err(format!("write status of TargetGroup {ns}/{name}")))?;
    }
    Ok(Action::requeue(RESYNC))
}
