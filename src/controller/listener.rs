//! Listener: compiles the listener's rules with the routing compiler (the same one
//! `ecsplane routes` and `ecsplane render` use), applies the Ingresses or HTTPRoutes, and
//! reports each rule's fate in status.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::json;

use super::apply::{self, LABEL_OWNER, Owner};
use super::conditions::{self, Desired};
use super::{
    Context, FIELD_MANAGER, RESYNC, ReadyCounter, ReconcileError, api_err, drive, error_policy,
    timed,
};
use crate::api::{CommonStatus, Listener, ListenerStatus, RuleFate, TargetGroup};
use crate::translate::names;
use crate::translate::routing::{self, Fate, Profile, RuleId};

const KIND: &str = "Listener";

/// Runs the Listener controller until `shutdown`.
pub(crate) async fn controller(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ready: Arc<ReadyCounter>,
) {
    let owned = || watcher::Config::default().labels(LABEL_OWNER);
    let ctrl = Controller::new(ctx.api::<Listener>(), watcher::Config::default());
    let ctrl = if ctx.options.routing.profile == Profile::Gateway {
        let ar = apply::http_route();
        ctrl.owns_with(ctx.api_with(&ar), ar, owned())
    } else {
        ctrl.owns(ctx.api::<Ingress>(), owned())
    };
    let store = ctrl.store();
    let listeners = store.clone();
    let ctrl = ctrl
        .watches(
            ctx.api::<TargetGroup>(),
            watcher::Config::default(),
            move |tg| {
                let ns = tg.metadata.namespace.clone();
                let name = tg
                    .spec
                    .name
                    .clone()
                    .or_else(|| tg.metadata.name.clone())
                    .unwrap_or_default();
                listeners
                    .state()
                    .into_iter()
                    .filter(|l| {
                        l.metadata.namespace == ns && forwarded_target_groups(l).contains(&name)
                    })
                    .map(|l| ObjectRef::from_obj(l.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(shutdown);
    tokio::spawn(ready.when_listed(KIND, ctx.api::<Listener>()));
    drive(KIND, ctrl.run(reconcile, error_policy, ctx)).await;
}

/// Names of the target groups a listener forwards to.
fn forwarded_target_groups(l: &Listener) -> Vec<String> {
    serde_json::to_string(&l.spec)
        .ok()
        .map(|s| {
            // Every target group ARN or name appears as a `targetGroupArn` value.
            let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
            let mut out = Vec::new();
            collect_target_groups(&v, &mut out);
            out
        })
        .unwrap_or_default()
}

fn collect_target_groups(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if k == "targetGroupArn" {
                    if let Some(s) = v.as_str() {
                        out.push(names::target_group_of_arn(s).to_owned());
                    }
                } else {
                    collect_target_groups(v, out);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_target_groups(v, out)),
        _ => {}
    }
}

async fn reconcile(l: Arc<Listener>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    timed(&ctx, KIND, reconcile_listener(&l, &ctx)).await
}

async fn reconcile_listener(l: &Listener, ctx: &Context) -> Result<Action, ReconcileError> {
    let ns = l.metadata.namespace.clone().unwrap_or_default();
    let name = l.metadata.name.clone().unwrap_or_default();
    let tgs = Api::<TargetGroup>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .map_err(api_err("list TargetGroups"))?;
    let ports: std::collections::BTreeMap<String, i32> = tgs
        .items
        .iter()
        .filter_map(|tg| {
            let n = tg.target_group_name().to_owned();
            Some((n, tg.spec.port?))
        })
        .collect();
    let missing: Vec<String> = forwarded_target_groups(l)
        .into_iter()
        .filter(|t| !ports.contains_key(t))
        .collect();
    let resolver = |tg: &str| ports.get(tg).copied();
    let compiled = routing::compile(l, &resolver, &ctx.options.routing);
    let kinds = if ctx.options.routing.profile == Profile::Gateway {
        vec![apply::http_route()]
    } else {
        vec![apply::resource::<Ingress>()]
    };
    apply::reconcile_children(ctx, &Owner::of(l), &kinds, compiled.objects.clone()).await?;
    let rules: Vec<RuleFate> = compiled
        .fates
        .iter()
        .filter_map(|f| match f.rule {
            RuleId::Priority(p) => Some(RuleFate {
                priority: p,
                fate: match &f.fate {
                    Fate::Exact => "Exact",
                    Fate::Shadowed { .. } => "Shadowed",
                    Fate::NotRepresentable { .. } => "NotRepresentable",
                }
                .into(),
                detail: match &f.fate {
                    Fate::Exact => None,
                    other => Some(other.to_string()),
                },
            }),
            RuleId::Default => None,
        })
        .collect();
    let exact = rules.iter().filter(|r| r.fate == "Exact").count() as i32;
    let default_exact = compiled
        .fates
        .iter()
        .find(|f| f.rule == RuleId::Default)
        .is_none_or(|f| f.fate.is_exact());
    let not_representable = rules
        .iter()
        .filter(|r| r.fate == "NotRepresentable")
        .count();
    let ready = if !missing.is_empty() {
        Desired::new(
            "Ready",
            false,
            "TargetGroupNotFound",
            format!(
                "forwards to target group(s) not found in namespace {ns}: {}",
                missing.join(", ")
            ),
        )
    } else if not_representable > 0 || !default_exact {
        Desired::new(
            "Ready",
            true,
            "RoutedWithDifferences",
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
            "Ready",
            true,
            "RoutedExactly",
            "every rule routes as on the ALB",
        )
    };
    let previous = l.status.clone().unwrap_or_default();
    let status = ListenerStatus {
        rule_count: Some(l.spec.rules.as_ref().map_or(0, |r| r.len()) as i32),
        exact_rules: Some(exact),
        rules,
        common: CommonStatus {
            observed_generation: l.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![ready],
                l.metadata.generation,
                &conditions::now(),
            ),
        },
    };
    if status != previous {
        Api::<Listener>::namespaced(ctx.client.clone(), &ns)
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
            .map_err(api_err(format!("write status of Listener {ns}/{name}")))?;
    }
    Ok(Action::requeue(RESYNC))
}
