//! The shared model of the translation: the objects it produces ([`Object`], [`Translation`]),
//! what it refuses ([`Refusal`]), its settings ([`Options`]), the lookups over the input
//! ([`Index`]) and the labels every generated object carries.
//!
//! Every translator (service, task, target group, listener) builds on these; none of them
//! imports another translator for them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Pod, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::DynamicObject;
use serde::Serialize;

use super::bundle::{Bundle, Error, ErrorKind, Origin, Sourced};
use super::names;
use super::report::{ObjectRef, Report};
use super::routing::RoutingOptions;
use super::security::SecurityPolicy;
use crate::api::{EcsService, TargetGroup, TaskDefinition};

/// A Kubernetes object ecsplane generates. Serializes as the object itself (with its
/// `apiVersion` and `kind`). Boxed, so that sorting and moving a list of them is cheap (a
/// Deployment alone is over 2 KB).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    /// The IRSA ServiceAccount of a task role.
    ServiceAccount(Box<ServiceAccount>),
    /// A target group's Service.
    Service(Box<Service>),
    /// A REPLICA EcsService.
    Deployment(Box<Deployment>),
    /// A DAEMON EcsService.
    DaemonSet(Box<DaemonSet>),
    /// An EcsService's autoScaling.
    HorizontalPodAutoscaler(Box<HorizontalPodAutoscaler>),
    /// One task of an EcsTask.
    Pod(Box<Pod>),
    /// An EcsScheduledTask.
    CronJob(Box<CronJob>),
    /// A Listener's routes in the `ingress` and `alb` profiles.
    Ingress(Box<Ingress>),
    /// A Listener's routes in the `gateway` profile: a `gateway.networking.k8s.io/v1`
    /// HTTPRoute (no typed Rust binding matches our kube version, so it is dynamic).
    HttpRoute(Box<DynamicObject>),
    /// A bound TargetGroup's AWS Load Balancer Controller `elbv2.k8s.aws/v1beta1`
    /// TargetGroupBinding (`--target-group-binding`; dynamic, as HTTPRoute).
    TargetGroupBinding(Box<DynamicObject>),
}

impl Object {
    fn meta(&self) -> &ObjectMeta {
        match self {
            Object::ServiceAccount(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::HttpRoute(o) => &o.metadata,
            Object::TargetGroupBinding(o) => &o.metadata,
        }
    }

    /// Apply order: what others refer to comes first (routes after the Services they send
    /// to).
    fn rank(&self) -> u8 {
        match self {
            Object::ServiceAccount(_) => 0,
            Object::Service(_) => 1,
            Object::Deployment(_) => 2,
            Object::DaemonSet(_) => 3,
            Object::HorizontalPodAutoscaler(_) => 4,
            Object::Pod(_) => 5,
            Object::CronJob(_) => 6,
            Object::Ingress(_) => 7,
            Object::HttpRoute(_) => 8,
            Object::TargetGroupBinding(_) => 9,
        }
    }

    /// The object's kind and name.
    pub fn kind_and_name(&self) -> (&'static str, &str) {
        (self.kind(), self.meta().name.as_deref().unwrap_or_default())
    }

    /// The object's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Service(_) => "Service",
            Object::Deployment(_) => "Deployment",
            Object::DaemonSet(_) => "DaemonSet",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::Pod(_) => "Pod",
            Object::CronJob(_) => "CronJob",
            Object::Ingress(_) => "Ingress",
            Object::HttpRoute(_) => "HTTPRoute",
            Object::TargetGroupBinding(_) => "TargetGroupBinding",
        }
    }

    /// `Kind namespace/name`, for messages.
    pub fn id(&self) -> String {
        let kind = self.kind();
        let m = self.meta();
        format!(
            "{kind} {}/{}",
            m.namespace.as_deref().unwrap_or(""),
            m.name.as_deref().unwrap_or("")
        )
    }

    /// Apply order, then namespace and name: how [`Translation::objects`] is sorted.
    pub(super) fn sort_key(&self) -> (u8, Option<&str>, Option<&str>) {
        let m = self.meta();
        (self.rank(), m.namespace.as_deref(), m.name.as_deref())
    }
}

/// What a translation produces: the objects in apply order and the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Translation {
    /// Kubernetes objects, sorted by kind (ServiceAccounts, Services, workloads, autoscalers,
    /// Pods, CronJobs, Ingresses, HTTPRoutes), then namespace and name.
    pub objects: Vec<Object>,
    /// Where every input field ended up.
    pub report: Report,
}

/// A field the translation refuses, and why. The caller adds the file and object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Path of the field (`spec.loadBalancers[0].containerName`).
    pub field: String,
    /// Why.
    pub message: String,
    /// [`ErrorKind::Untranslatable`] or [`ErrorKind::Reference`].
    pub kind: ErrorKind,
}

impl Refusal {
    /// A field that cannot be expressed on Kubernetes.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            kind: ErrorKind::Untranslatable,
        }
    }

    /// A field the security policy refuses.
    pub fn policy(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Policy,
            ..Self::new(field, message)
        }
    }

    /// A reference that does not resolve.
    pub fn reference(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Reference,
            ..Self::new(field, message)
        }
    }

    /// The error naming `origin` and `object`.
    pub fn at(self, origin: &Origin, object: &ObjectRef) -> Error {
        Error::new(
            origin,
            format!("{} {}", object.kind(), object.name()),
            self.field,
            self.kind,
            self.message,
        )
    }
}

/// Read-only view over the bundle with the lookups translation needs.
pub struct Index<'a> {
    /// The input.
    pub bundle: &'a Bundle,
}

impl<'a> Index<'a> {
    /// The target group named `name` (its `spec.name` or `metadata.name`) in `namespace`.
    pub fn target_group(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&'a Sourced<TargetGroup>> {
        self.bundle.target_groups.iter().find(|t| {
            t.object.metadata.namespace.as_deref() == namespace
                && t.object.target_group_name() == name
        })
    }

    /// Whether an object of `kind` named `name` was in the input but invalid.
    pub fn was_invalid(&self, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        self.bundle
            .invalid
            .iter()
            .any(|(k, ns, n)| k == kind && ns.as_deref() == namespace && n == name)
    }

    /// Resolves a task definition reference (`family`, `family:N`, an ARN) within `namespace`.
    /// Returns the task definition and, when an assumption was made, a note saying which.
    pub fn task_definition(
        &self,
        namespace: Option<&str>,
        reference: &str,
        referrer: &str,
    ) -> Result<(&'a Sourced<TaskDefinition>, Option<String>), Refusal> {
        let (family, revision) = names::task_definition_ref(reference);
        let candidates: Vec<&Sourced<TaskDefinition>> = self
            .bundle
            .task_definitions
            .iter()
            .filter(|t| {
                t.object.metadata.namespace.as_deref() == namespace
                    && t.object.spec.family == family
            })
            .collect();
        let describe = |t: &Sourced<TaskDefinition>| {
            format!(
                "TaskDefinition {} ({})",
                t.object.metadata.name.as_deref().unwrap_or_default(),
                t.origin
            )
        };
        if candidates.is_empty() {
            if self.was_invalid("TaskDefinition", namespace, family) {
                return Err(Refusal::reference(
                    "spec.taskDefinition",
                    format!(
                        "{referrer} refers to task definition {reference:?}, whose TaskDefinition is invalid (see its errors)"
                    ),
                ));
            }
            return Err(Refusal::reference(
                "spec.taskDefinition",
                format!(
                    "{referrer} refers to task definition {reference:?}, but no TaskDefinition of family {family:?} is in the input{}; pass its file too (for example the output of `aws ecs describe-task-definition --task-definition {reference}`)",
                    namespace
                        .map(|n| format!(" in namespace {n}"))
                        .unwrap_or_default()
                ),
            ));
        }
        let unstated: Vec<_> = candidates
            .iter()
            .filter(|t| t.object.spec.revision.is_none())
            .collect();
        match revision {
            Some(n) => {
                if let Some(t) = candidates
                    .iter()
                    .find(|t| t.object.spec.revision == Some(n))
                {
                    return Ok((t, None));
                }
                match unstated.as_slice() {
                    [t] => Ok((
                        t,
                        Some(format!(
                            "{referrer} refers to {family}:{n}; {} states no revision and is assumed to be revision {n}",
                            describe(t)
                        )),
                    )),
                    [] => Err(Refusal::reference(
                        "spec.taskDefinition",
                        format!(
                            "{referrer} refers to {family}:{n}, but the input has {} instead; pass revision {n} or change the reference",
                            candidates
                                .iter()
                                .map(|t| format!(
                                    "{} stating revision {}",
                                    describe(t),
                                    t.object.spec.revision.unwrap_or_default()
                                ))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                    _ => Err(Refusal::reference(
                        "spec.taskDefinition",
                        format!(
                            "{referrer} refers to {family}:{n}, and several TaskDefinitions of family {family:?} state no revision: {}",
                            unstated
                                .iter()
                                .map(|t| describe(t))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                }
            }
            None => {
                if candidates.len() == 1 {
                    return Ok((candidates[0], None));
                }
                if unstated.len() > 1 {
                    return Err(Refusal::reference(
                        "spec.taskDefinition",
                        format!(
                            "{referrer} refers to family {family:?}, and several of its TaskDefinitions state no revision: {}",
                            unstated
                                .iter()
                                .map(|t| describe(t))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                let latest = candidates
                    .iter()
                    .max_by_key(|t| t.object.spec.revision.unwrap_or(i64::MAX))
                    .expect("non-empty");
                Ok((
                    latest,
                    Some(format!(
                        "{referrer} refers to family {family:?} without a revision; the latest in the input, {}, is used (ECS uses the latest ACTIVE revision)",
                        describe(latest)
                    )),
                ))
            }
        }
    }
}

/// Labels every generated object carries.
pub fn common_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        names::LABEL_MANAGED_BY.to_owned(),
        names::MANAGED_BY.to_owned(),
    )])
}

/// A valid label value from an AWS name (kept when valid, else [`names::dns_label`]).
pub fn label_value(s: &str) -> String {
    let valid = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric();
    if valid {
        s.to_owned()
    } else {
        names::dns_label(s)
    }
}

/// Settings of a translation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// How Listeners become Kubernetes routing (profile, ingress class, Gateway).
    pub routing: RoutingOptions,
    /// The current count of an autoscaled service under the operator (its desiredCount, which
    /// the HPA writes through the EcsService's scale subresource), keyed by the EcsService's
    /// namespace and name. Its presence says the operator turns the HPA's count into the
    /// workload's replicas (clamped to [min, max] and split across capacity providers, the
    /// rolling bounds computed from it as ECS computes them from the current desired count).
    /// Offline (`render`) there is none: the count is desiredCount and the report says that
    /// the HPA needs the operator.
    /// The keys are [`service_key`]s.
    pub autoscaled_counts: BTreeMap<(Option<String>, String), i32>,
    /// The scalable target's effective [min, max] of an autoscaled service under the operator
    /// when scheduled actions have changed them (its `status.autoScaling`), keyed as
    /// `autoscaled_counts`: the HPA's minReplicas/maxReplicas and the count's clamp follow
    /// them. Offline there are none: spec.autoScaling's bounds apply.
    pub effective_bounds: BTreeMap<(Option<String>, String), (i32, i32)>,
    /// Which host-level fields the cluster admin allows (`--security-policy`): a task
    /// definition or capacity provider mapping that asks for more is refused, field by field.
    pub security_policy: SecurityPolicy,
}

impl Options {
    /// The count the autoscaler has set for `svc`, if it was given.
    pub(super) fn autoscaled_count(&self, svc: &EcsService) -> Option<i32> {
        if self.autoscaled_counts.is_empty() {
            return None;
        }
        self.autoscaled_counts.get(&service_key(svc)).copied()
    }

    /// The effective bounds the scaler has set for `svc`, if they were given.
    pub(super) fn effective_bounds(&self, svc: &EcsService) -> Option<(i32, i32)> {
        if self.effective_bounds.is_empty() {
            return None;
        }
        self.effective_bounds.get(&service_key(svc)).copied()
    }
}

/// A service's key in [`Options::autoscaled_counts`]: its namespace and name.
pub fn service_key(svc: &EcsService) -> (Option<String>, String) {
    (
        svc.metadata.namespace.clone(),
        svc.metadata.name.clone().unwrap_or_default(),
    )
}
