//! Listener → the routing objects of the chosen profile: one portable Ingress (`ingress`),
//! one Ingress per rule for the AWS Load Balancer Controller (`alb`), or HTTPRoutes (`gateway`),
//! with every backend resolved to the Service that stands for its target group.
//!
//! [`translate_listener`] is what both the offline translation and the operator call per
//! Listener: it needs only the listener, the target groups' Services (the objects
//! [`super::target_group`] produces offline, or the ones the TargetGroup controller applied,
//! read back from the cluster) and the options. It never fails; every rule's fate (exact,
//! shadowed or not representable with a counterexample) is in the returned routes and report.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::DynamicObject;

use super::Object;
use super::names::{self, target_group_service_name};
use super::report::Report;
use super::routing::{self, RoutingOptions, RuleFate};
use crate::api::{Action, Listener};

/// The routing objects of one listener, the fate of each of its rules and the findings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListenerRoutes {
    /// Ingresses or HTTPRoutes, in a stable order.
    pub objects: Vec<Object>,
    /// One entry per rule in evaluation order, then the default actions.
    pub fates: Vec<RuleFate>,
    /// Findings about the listener (everything not carried exactly).
    pub report: Report,
}

/// Every target group reference of a listener's actions (default actions, then rules), with
/// the path of its field: `(field, targetGroupArn)`.
pub fn target_group_references(l: &Listener) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut actions = |prefix: String, actions: &[Action]| {
        for (i, a) in actions.iter().enumerate() {
            if let Some(arn) = &a.target_group_arn {
                out.push((format!("{prefix}[{i}].targetGroupArn"), arn.clone()));
            }
            for (j, t) in a
                .forward_config
                .iter()
                .flat_map(|f| f.target_groups.iter())
                .enumerate()
            {
                out.push((
                    format!("{prefix}[{i}].forwardConfig.targetGroups[{j}].targetGroupArn"),
                    t.target_group_arn.clone(),
                ));
            }
        }
    };
    actions("spec.defaultActions".into(), &l.spec.default_actions);
    for (r, rule) in l.spec.rules.iter().flatten().enumerate() {
        actions(format!("spec.rules[{r}].actions"), &rule.actions);
    }
    out
}

/// The names of the target groups a listener forwards to, in the order of
/// [`target_group_references`] (a name appears once per reference).
pub fn forwarded_target_groups(l: &Listener) -> Vec<String> {
    target_group_references(l)
        .into_iter()
        .map(|(_, arn)| names::target_group_of_arn(&arn).to_owned())
        .collect()
}

/// The Service port that stands for target group `target_group` among `services`: the first
/// port of the Service named [`target_group_service_name`] in `namespace`.
pub fn target_group_port(
    services: &[&Service],
    namespace: Option<&str>,
    target_group: &str,
) -> Option<i32> {
    let name = target_group_service_name(target_group);
    services
        .iter()
        .find(|s| {
            s.metadata.namespace.as_deref() == namespace
                && s.metadata.name.as_deref() == Some(name.as_str())
        })
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.ports.as_ref())
        .and_then(|p| p.first())
        .map(|p| p.port)
}

/// Compiles one listener against the Services of its target groups (`services` may hold
/// others; only those in the listener's namespace are used).
///
/// A target group without a Service (not in the input, or one that produces none, such as a
/// Lambda target group) still gets a backend named after it on port
/// [`routing::FALLBACK_PORT`], and the report says so.
pub fn translate_listener(
    listener: &Listener,
    services: &[&Service],
    options: &RoutingOptions,
) -> ListenerRoutes {
    let ns = listener.metadata.namespace.as_deref();
    let resolver = |tg: &str| target_group_port(services, ns, tg);
    let compiled = routing::compile(listener, &resolver, options);
    let objects = compiled
        .objects
        .into_iter()
        .map(|o| match o["kind"].as_str() {
            Some("Ingress") => Object::Ingress(Box::new(
                serde_json::from_value::<Ingress>(o)
                    .expect("the routing compiler emits valid Ingress objects"),
            )),
            _ => Object::HttpRoute(Box::new(
                serde_json::from_value::<DynamicObject>(o)
                    .expect("the routing compiler emits objects with metadata"),
            )),
        })
        .collect();
    ListenerRoutes {
        objects,
        fates: compiled.fates,
        report: compiled.report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::routing::Profile;
    use serde_json::json;

    fn listener() -> Listener {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "defaultActions": [{"type": "forward", "targetGroupArn": "web-tg"}],
                "rules": [
                    {"priority": 1, "conditions": [{"field": "path-pattern", "values": ["/api/*"]}],
                     "actions": [{"type": "forward", "forwardConfig": {"targetGroups": [
                        {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/api-tg/abc", "weight": 9},
                        {"targetGroupArn": "canary-tg", "weight": 1}]}}]},
                    {"priority": 2, "conditions": [{"field": "host-header", "values": ["admin.example.com"]}],
                     "actions": [{"type": "fixed-response", "fixedResponseConfig": {"statusCode": "404"}}]}
                ]
            }
        }))
        .unwrap()
    }

    #[test]
    fn every_forward_names_its_target_group_with_the_field_it_is_in() {
        let l = listener();
        assert_eq!(
            target_group_references(&l)
                .into_iter()
                .map(|(field, _)| field)
                .collect::<Vec<_>>(),
            [
                "spec.defaultActions[0].targetGroupArn",
                "spec.rules[0].actions[0].forwardConfig.targetGroups[0].targetGroupArn",
                "spec.rules[0].actions[0].forwardConfig.targetGroups[1].targetGroupArn",
            ]
        );
        assert_eq!(
            forwarded_target_groups(&l),
            ["web-tg", "api-tg", "canary-tg"]
        );
    }

    /// The typed routes serialize to exactly what the routing compiler emitted, so what the
    /// operator applies (and the hash it stamps on it) is the compiler's output.
    #[test]
    fn typed_routes_serialize_to_exactly_the_compiled_objects() {
        let l = listener();
        let service = |tg: &str, port: i32| -> Service {
            serde_json::from_value(json!({
                "metadata": {"name": target_group_service_name(tg), "namespace": "shop"},
                "spec": {"ports": [{"port": port}]}
            }))
            .unwrap()
        };
        let services = [service("web-tg", 80), service("api-tg", 8080)];
        let services: Vec<&Service> = services.iter().collect();
        for profile in [Profile::Ingress, Profile::Alb, Profile::Gateway] {
            let options = RoutingOptions {
                profile,
                ..RoutingOptions::default()
            };
            let resolver = |tg: &str| target_group_port(&services, Some("shop"), tg);
            let compiled = routing::compile(&l, &resolver, &options);
            let typed = translate_listener(&l, &services, &options);
            let typed: Vec<serde_json::Value> = typed
                .objects
                .iter()
                .map(|o| serde_json::to_value(o).unwrap())
                .collect();
            assert_eq!(typed, compiled.objects, "{profile:?}");
        }
    }
}
