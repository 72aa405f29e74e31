//! Listener → the routing objects of the chosen profile: one portable Ingress (`ingress`),
//! one Ingress per rule for the AWS Load Balancer Controller (`alb`), or HTTPRoutes (`gateway`),
//! with every backend resolved to the Service that stands for its target group.
//!
//! [`translate_listener`] is what the operator calls per Listener: it needs only the listener,
//! the target groups' Services (the objects [`super::target_group`] produces, or the ones read
//! back from the cluster) and the options. It never fails; every rule's fate (exact, shadowed
//! or not representable with a counterexample) is in the returned routes and report.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::DynamicObject;

use super::Object;
use super::names::target_group_service_name;
use super::report::Report;
use super::routing::{self, RoutingOptions, RuleFate};
use crate::api::Listener;

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
