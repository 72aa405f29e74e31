//! ALB listener rules compiled into Kubernetes routing that sends every request where the ALB
//! would, or says precisely where it cannot.
//!
//! - [`alb`]: a model of ALB rule evaluation (the reference semantics).
//! - [`ingress`]: portable `networking.k8s.io/v1` Ingress (Exact and Prefix paths only).
//! - [`gateway`]: Gateway API `HTTPRoute`s attached to a configurable Gateway.
//! - [`lbc`]: Ingresses for the AWS Load Balancer Controller, which rebuilds the same ALB rules
//!   in the same order from its annotations.
//! - [`tls`]: an HTTPS listener's certificates (as Secrets named by [`tls_secret_name`]), SSL
//!   policy, mutual TLS and port in each profile, carried or reported field by field.
//!
//! Each profile also has a model of how its controllers route a request through the compiled
//! objects; [`compile`] uses it to check every rule it calls exact on sample requests and to
//! find the counterexample it reports for every rule it cannot carry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::Listener;
use crate::translate::names::target_group_service_name;
use crate::translate::report::Report;

pub mod alb;
pub mod gateway;
pub mod ingress;
pub mod lbc;
mod plan;
pub mod tls;
mod witness;

pub use alb::{Request, RuleId, Target};
pub use tls::tls_secret_name;

/// Which kind of Kubernetes routing to produce.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Profile {
    /// Portable `networking.k8s.io/v1` Ingress with Exact and Prefix paths.
    #[default]
    Ingress,
    /// Ingress for the AWS Load Balancer Controller (an ALB in front of the cluster).
    Alb,
    /// Gateway API `gateway.networking.k8s.io/v1` HTTPRoutes.
    Gateway,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Ingress => "ingress",
            Profile::Alb => "alb",
            Profile::Gateway => "gateway",
        })
    }
}

/// Which Kubernetes routing implementation the output is compiled and checked for.
///
/// The precedence an ingress controller or Gateway implementation gives overlapping routes
/// decides where a request goes, and not every implementation follows the API's own order.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Implementation {
    /// An implementation that follows the Ingress and Gateway API precedence (Contour/Envoy,
    /// for instance): exact host, then Exact path, then the longest Prefix; for HTTPRoutes
    /// hostname, then path, method, headers and query parameters in that order.
    #[default]
    Conformant,
    /// Traefik v3 (Ingress with `strictPrefixMatching=true`, and Gateway API): one priority
    /// per router, the length of its rule string for an Ingress path (Exact and Prefix
    /// alike), and for an HTTPRoute match the sum of its hostname, path, method, header and
    /// query scores ([`ingress::TraefikIngressModel`], [`gateway::GatewayModel::traefik`]).
    Traefik,
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Implementation::Conformant => "conformant",
            Implementation::Traefik => "traefik",
        })
    }
}

/// Settings of a compilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingOptions {
    /// The output to produce.
    pub profile: Profile,
    /// `spec.ingressClassName` of the portable and ALB Ingresses (`None` leaves it unset for
    /// the portable profile and uses `alb` for the ALB profile).
    pub ingress_class_name: Option<String>,
    /// Gateway the HTTPRoutes attach to: name.
    pub gateway_name: String,
    /// Gateway namespace (`None`: the listener's namespace).
    pub gateway_namespace: Option<String>,
    /// Gateway listener (`sectionName`) every HTTPRoute attaches to. `None` (the default):
    /// each Listener's own, named after its protocol and port (`http-80`, `https-443`; see
    /// [`gateway::gateway_listener`]).
    pub gateway_section_name: Option<String>,
    /// Whether HTTPRoutes may use `RegularExpression` header matches (Implementation-specific
    /// support in Gateway API) to keep ALB's case-insensitive and wildcard header values
    /// exact. Without it, such rules are reported as not representable.
    pub gateway_regex_headers: bool,
    /// Whether HTTPRoute rules of a weighted forward with target group stickiness get a
    /// `sessionPersistence` (Gateway API experimental channel, Extended support). Off by
    /// default: the standard-channel CRDs have no such field. Either way the rule is
    /// reported approximated, with what differs.
    pub gateway_session_persistence: bool,
    /// Dual-run cutover (`--target-group-binding`): a TargetGroup naming a real ALB target
    /// group ARN gets an AWS Load Balancer Controller TargetGroupBinding for its Service, and a
    /// Listener whose target groups are all bound gets no routes (its rules stay on the ALB).
    pub target_group_binding: bool,
    /// The implementation whose precedence the output must route by (portable Ingress and
    /// Gateway API profiles; the ALB profile is routed by an ALB either way).
    pub implementation: Implementation,
}

impl Default for RoutingOptions {
    fn default() -> Self {
        Self {
            profile: Profile::Ingress,
            ingress_class_name: None,
            gateway_name: "ecsplane".to_owned(),
            gateway_namespace: None,
            gateway_section_name: None,
            gateway_regex_headers: true,
            gateway_session_persistence: false,
            target_group_binding: false,
            implementation: Implementation::Conformant,
        }
    }
}

/// Resolves the Service port that stands for a target group. The Service itself is named
/// [`target_group_service_name`]; its port is the TargetGroup's `spec.port` if set, else the
/// container port of the ECS service's load balancer entry. The caller knows those objects.
pub trait BackendResolver {
    /// The Service port for target group `target_group_name`, if known.
    fn service_port(&self, target_group_name: &str) -> Option<i32>;
}

impl<F: Fn(&str) -> Option<i32>> BackendResolver for F {
    fn service_port(&self, target_group_name: &str) -> Option<i32> {
        self(target_group_name)
    }
}

/// Port used for a target group the resolver does not know (reported).
pub const FALLBACK_PORT: i32 = 80;

/// A Kubernetes backend: Service name and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceBackend {
    /// Service name.
    pub name: String,
    /// Service port number.
    pub port: i32,
}

impl ServiceBackend {
    /// The backend that stands for target group `tg`.
    pub fn for_target_group(tg: &str, backends: &dyn BackendResolver) -> Self {
        Self {
            name: target_group_service_name(tg),
            port: backends.service_port(tg).unwrap_or(FALLBACK_PORT),
        }
    }

    /// The backend a `name:port` key of a Kubernetes-side [`Target`] stands for (the inverse
    /// of [`ServiceBackend::key`]).
    pub fn from_key(key: &str) -> Self {
        let (name, port) = key.rsplit_once(':').unwrap_or((key, ""));
        Self {
            name: name.to_owned(),
            port: port.parse().unwrap_or(FALLBACK_PORT),
        }
    }

    /// The key used in Kubernetes-side [`Target`]s: `name:port`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.name, self.port)
    }
}

/// What happened to one rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "fate")]
pub enum Fate {
    /// Every request the ALB sends to this rule is routed the same way by the output.
    Exact,
    /// Higher-priority rules take every request this rule could match; it was dropped.
    Shadowed {
        /// The rules that take its requests.
        by: Vec<RuleId>,
    },
    /// The rule is carried and every request goes where the ALB sends it, but the ALB does
    /// something more that the output does not (such as keeping a client on one target group
    /// of a weighted forward); the difference is stated.
    Approximated {
        /// What differs.
        difference: String,
    },
    /// The rule cannot be expressed exactly in this profile; it was left out (never
    /// approximated), and the counterexample shows a request that now goes elsewhere.
    NotRepresentable {
        /// Why.
        reason: String,
        /// A request the ALB sends to this rule that the output routes differently.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counterexample: Option<Counterexample>,
    },
}

impl Fate {
    /// Whether the rule was carried exactly.
    pub fn is_exact(&self) -> bool {
        matches!(self, Fate::Exact)
    }

    /// Whether the rule is in the output: exact or approximated.
    pub fn is_carried(&self) -> bool {
        matches!(self, Fate::Exact | Fate::Approximated { .. })
    }
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fate::Exact => f.write_str("exact"),
            Fate::Approximated { difference } => write!(f, "approximated: {difference}"),
            Fate::Shadowed { by } => {
                f.write_str("shadowed by ")?;
                for (i, r) in by.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
            Fate::NotRepresentable {
                reason,
                counterexample,
            } => {
                write!(f, "not representable: {reason}")?;
                if let Some(c) = counterexample {
                    write!(f, "; counterexample: {c}")?;
                }
                Ok(())
            }
        }
    }
}

/// A request on which the ALB and the compiled output disagree.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Counterexample {
    /// The request.
    pub request: Request,
    /// What the ALB does with it.
    pub alb: String,
    /// What the compiled routing does with it.
    pub compiled: String,
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: ALB {}, compiled {}",
            self.request, self.alb, self.compiled
        )
    }
}

/// The fate of one rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RuleFate {
    /// The rule (or the default actions).
    pub rule: RuleId,
    /// What happened to it.
    #[serde(flatten)]
    pub fate: Fate,
}

/// The result of compiling one listener.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompiledRoutes {
    /// The Kubernetes objects (Ingress or HTTPRoute), in a stable order.
    pub objects: Vec<serde_json::Value>,
    /// One entry per rule in evaluation order, then the default actions.
    pub fates: Vec<RuleFate>,
    /// Findings for everything not carried exactly: the [`caveats`](Self::caveats), then
    /// one finding per rule whose fate is not exact.
    pub report: Report,
    /// The findings that are not a rule's fate: what the output assumes of the cluster (the
    /// Gateway listener it attaches to, RegularExpression header matches, a target group
    /// without a Service) and notes on how rules were carried.
    pub caveats: Report,
}

impl CompiledRoutes {
    /// The fate of `rule`.
    pub fn fate(&self, rule: RuleId) -> Option<&Fate> {
        self.fates.iter().find(|f| f.rule == rule).map(|f| &f.fate)
    }
}

/// Compiles `listener` into the routing objects of `options.profile`.
///
/// Deterministic and pure: the same listener, resolver and options always give the same
/// objects, fates and report. Rules that the profile cannot express exactly are left out and
/// reported with a counterexample request; nothing is approximated silently.
pub fn compile(
    listener: &Listener,
    backends: &dyn BackendResolver,
    options: &RoutingOptions,
) -> CompiledRoutes {
    let mut out = match options.profile {
        Profile::Ingress => ingress::compile(listener, backends, options),
        Profile::Alb => lbc::compile(listener, backends, options),
        Profile::Gateway => gateway::compile(listener, backends, options),
    };
    out.caveats = std::mem::take(&mut out.caveats).finish();
    let mut report = out.caveats.clone();
    plan::report_fates(&out.fates, &plan::listener_ref(listener), &mut report);
    out.report = report.finish();
    out
}

/// A reference to a target group in a listener's actions: the field that names it and the
/// target group's name (the name part of an ARN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupReference {
    /// Path of the field (`spec.rules[0].actions[0].forwardConfig.targetGroups[1].targetGroupArn`).
    pub field: String,
    /// The target group's name.
    pub name: String,
}

/// Every target group the actions of `listener` forward to, in field order.
pub fn target_group_references(listener: &Listener) -> Vec<TargetGroupReference> {
    let mut out = Vec::new();
    let mut actions = |prefix: String, actions: &[crate::api::Action]| {
        for (i, a) in actions.iter().enumerate() {
            let mut push = |field: String, arn: &str| {
                out.push(TargetGroupReference {
                    field,
                    name: crate::translate::names::target_group_of_arn(arn).to_owned(),
                })
            };
            if let Some(arn) = &a.target_group_arn {
                push(format!("{prefix}[{i}].targetGroupArn"), arn);
            }
            for (j, t) in a
                .forward_config
                .iter()
                .flat_map(|f| &f.target_groups)
                .enumerate()
            {
                push(
                    format!("{prefix}[{i}].forwardConfig.targetGroups[{j}].targetGroupArn"),
                    &t.target_group_arn,
                );
            }
        }
    };
    actions("spec.defaultActions".into(), &listener.spec.default_actions);
    for (r, rule) in listener.spec.rules.iter().flatten().enumerate() {
        actions(format!("spec.rules[{r}].actions"), &rule.actions);
    }
    out
}

#[cfg(test)]
mod tests;
