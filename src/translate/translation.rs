//! The top-level translation: a [`Bundle`] of custom resources → Kubernetes objects plus the
//! fidelity report, or every error at once.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::DynamicObject;
use serde::Serialize;

use super::bundle::{Bundle, Error, ErrorKind, Errors, Origin, Sourced};
use super::names;
use super::pod::{self, Workload};
use super::report::{ObjectRef, Report};
use super::routing::RoutingOptions;
use super::{listener, service, target_group, task};
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
    /// A Listener's routes in the `ingress` and `alb` profiles.
    Ingress(Box<Ingress>),
    /// A Listener's routes in the `gateway` profile: a `gateway.networking.k8s.io/v1`
    /// HTTPRoute (no typed Rust binding matches our kube version, so it is dynamic).
    HttpRoute(Box<DynamicObject>),
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
            Object::Ingress(o) => &o.metadata,
            Object::HttpRoute(o) => &o.metadata,
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
            Object::Ingress(_) => 6,
            Object::HttpRoute(_) => 7,
        }
    }

    /// `Kind namespace/name`, for messages.
    pub fn id(&self) -> String {
        let kind = match self {
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Service(_) => "Service",
            Object::Deployment(_) => "Deployment",
            Object::DaemonSet(_) => "DaemonSet",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::Pod(_) => "Pod",
            Object::Ingress(_) => "Ingress",
            Object::HttpRoute(_) => "HTTPRoute",
        };
        let m = self.meta();
        format!(
            "{kind} {}/{}",
            m.namespace.as_deref().unwrap_or(""),
            m.name.as_deref().unwrap_or("")
        )
    }

    fn sort_key(&self) -> (u8, Option<&str>, Option<&str>) {
        let m = self.meta();
        (self.rank(), m.namespace.as_deref(), m.name.as_deref())
    }
}

/// What a translation produces: the objects in apply order and the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Translation {
    /// Kubernetes objects, sorted by kind (ServiceAccounts, Services, workloads, autoscalers,
    /// Pods, Ingresses, HTTPRoutes), then namespace and name.
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
                && target_group_name(&t.object) == name
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

/// The name a target group is referred to by: `spec.name`, else `metadata.name`.
pub fn target_group_name(tg: &TargetGroup) -> &str {
    tg.target_group_name()
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
    /// The task count the autoscaler has set for an autoscaled service (its live Deployment's
    /// replicas), keyed by the EcsService's namespace and name. ECS computes a rolling
    /// update's bounds from the service's current desired count, which the autoscaler
    /// changes, so the operator passes the live count and the Deployment's bounds follow it.
    /// Offline (`render`) there is none: the bounds are computed from desiredCount and the
    /// report says so.
    /// The keys are [`service_key`]s.
    pub autoscaled_counts: BTreeMap<(Option<String>, String), i32>,
}

impl Options {
    /// The count the autoscaler has set for `svc`, if it was given.
    fn autoscaled_count(&self, svc: &EcsService) -> Option<i32> {
        if self.autoscaled_counts.is_empty() {
            return None;
        }
        self.autoscaled_counts.get(&service_key(svc)).copied()
    }
}

/// A service's key in [`Options::autoscaled_counts`]: its namespace and name.
pub fn service_key(svc: &EcsService) -> (Option<String>, String) {
    (
        svc.metadata.namespace.clone(),
        svc.metadata.name.clone().unwrap_or_default(),
    )
}

/// Translates every object of the bundle with the default [`Options`] (portable Ingress for
/// listeners). See [`translate_with`].
pub fn translate(bundle: &Bundle) -> Result<Translation, Errors> {
    translate_with(bundle, &Options::default())
}

/// Translates every object of the bundle. Pure: the same bundle and options always give the
/// same objects and report. Returns every error at once when anything is refused.
///
/// Each Listener becomes the routing objects of `options.routing.profile`, with its backends
/// resolved to the Services of the target groups in the bundle
/// ([`listener::translate_listener`]); the fate of every rule is in the report.
pub fn translate_with(bundle: &Bundle, options: &Options) -> Result<Translation, Errors> {
    let index = Index { bundle };
    let mut objects = Vec::new();
    let mut report = Report::default();
    let mut errors = Vec::new();
    let mut used_task_definitions = BTreeSet::new();
    let mut registrations: Vec<target_group::Registration> = Vec::new();

    for s in &bundle.services {
        let autoscaled_count = options.autoscaled_count(&s.object);
        match service::translate_service(&index, s, autoscaled_count, &mut report) {
            Ok(out) => {
                used_task_definitions.insert(out.task_definition.clone());
                objects.extend(out.objects);
                registrations.extend(out.registrations);
            }
            Err((used, refusals)) => {
                used_task_definitions.extend(used);
                let obj = service::object_ref(&s.object);
                errors.extend(refusals.into_iter().map(|r| r.at(&s.origin, &obj)));
            }
        }
    }
    for t in &bundle.tasks {
        match task::translate_task(&index, t, &mut report) {
            Ok((td, out)) => {
                used_task_definitions.insert(td);
                objects.extend(out);
            }
            Err((used, refusals)) => {
                used_task_definitions.extend(used);
                let obj = task::object_ref(&t.object);
                errors.extend(refusals.into_iter().map(|r| r.at(&t.origin, &obj)));
            }
        }
    }
    // Task definitions no service or task uses are still translated, so their problems and
    // findings show; nothing is created for them.
    for td in &bundle.task_definitions {
        let key = (
            td.object.metadata.namespace.clone(),
            td.object.metadata.name.clone(),
        );
        if used_task_definitions.contains(&key) {
            continue;
        }
        let obj = pod::object_ref(&td.object);
        match pod::pod_template(&td.object, Workload::Service, &mut report) {
            Ok(_) => report.note(&obj, "metadata.name", "no EcsService or EcsTask of the input uses this task definition: nothing is created for it"),
            Err(refusals) => errors.extend(refusals.into_iter().map(|r| r.at(&td.origin, &obj))),
        }
    }
    for tg in &bundle.target_groups {
        let obj = target_group::object_ref(&tg.object);
        match target_group::translate_target_group(tg, &registrations, &mut report) {
            Ok(out) => objects.extend(out),
            Err(refusals) => errors.extend(refusals.into_iter().map(|r| r.at(&tg.origin, &obj))),
        }
    }
    let mut routes = Vec::new();
    for l in &bundle.listeners {
        let obj = ObjectRef::new(
            "Listener",
            l.object.metadata.namespace.as_deref(),
            l.object.metadata.name.as_deref().unwrap_or_default(),
        );
        let before = errors.len();
        for (field, arn) in listener_target_groups(&l.object) {
            let name = names::target_group_name(&arn);
            let ns = l.object.metadata.namespace.as_deref();
            if index.target_group(ns, name).is_none() && !index.was_invalid("TargetGroup", ns, name)
            {
                errors.push(Refusal::reference(field, format!("Listener {} forwards to target group {name:?}, which is not in the input; pass its TargetGroup too", obj.name())).at(&l.origin, &obj));
            }
        }
        if errors.len() == before {
            let services: Vec<&Service> = objects
                .iter()
                .filter_map(|o| match o {
                    Object::Service(s) => Some(&**s),
                    _ => None,
                })
                .collect();
            let out = listener::translate_listener(&l.object, &services, &options.routing);
            report.extend(out.report);
            routes.extend(out.objects);
        }
    }
    objects.extend(routes);
    if !errors.is_empty() {
        return Err(Errors(errors).finish());
    }
    objects.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // One ServiceAccount may be produced by several services of one role: keep one.
    objects.dedup_by(|a, b| a.sort_key() == b.sort_key() && a == b);
    let mut seen = BTreeSet::new();
    for o in &objects {
        if !seen.insert(o.sort_key()) {
            errors.push(Error::new(&Origin::Translation, o.id(), "metadata.name", ErrorKind::Reference, "two input objects produce this Kubernetes object with different contents; rename one of them"));
        }
    }
    if !errors.is_empty() {
        return Err(Errors(errors).finish());
    }
    Ok(Translation {
        objects,
        report: report.finish(),
    })
}

/// Every target group a listener forwards to, with the field path.
fn listener_target_groups(l: &crate::api::Listener) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut actions = |prefix: String, actions: &[crate::api::Action]| {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn typical() -> Translation {
        let text = include_str!("../../tests/render/typical-service.yaml");
        let (bundle, errors) = crate::load::load_str("typical-service.yaml", text);
        assert!(errors.is_empty(), "{errors}");
        translate(&bundle).expect("the typical service translates")
    }

    /// The whole output for a typical service (three containers, two target groups,
    /// autoscaling), so any change to any generated field shows in review.
    #[test]
    fn a_typical_service_renders_to_these_exact_objects() {
        insta::assert_yaml_snapshot!(typical().objects);
    }

    #[test]
    fn a_typical_service_reports_every_difference() {
        insta::assert_yaml_snapshot!(typical().report);
    }

    #[test]
    fn translation_is_deterministic() {
        assert_eq!(typical(), typical());
    }

    #[test]
    fn a_family_without_revision_uses_the_latest_revision_in_the_input_and_says_so() {
        let td = |rev: i64| {
            format!(
                "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {{name: web-{rev}}}\nspec: {{family: web, revision: {rev}, containerDefinitions: [{{name: app, image: 'nginx@sha256:1'}}]}}\n"
            )
        };
        let text = format!(
            "{}---\n{}---\napiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {{name: web}}\nspec: {{taskDefinition: web, desiredCount: 2}}\n",
            td(2),
            td(5)
        );
        let (bundle, errors) = crate::load::load_str("x.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        let t = translate(&bundle).unwrap();
        let Object::Deployment(d) = &t.objects[0] else {
            panic!("a Deployment")
        };
        let annotations = d
            .spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap();
        assert_eq!(annotations[names::ANNOTATION_TASK_DEFINITION], "web:5");
        assert!(
            t.report
                .findings
                .iter()
                .any(|f| f.field == "spec.taskDefinition"
                    && f.message.contains("the latest in the input"))
        );
    }

    fn many_rules(profile: crate::translate::routing::Profile) -> Translation {
        let text = include_str!("../../tests/render/many-rules.yaml");
        let (bundle, errors) = crate::load::load_str("many-rules.yaml", text);
        assert!(errors.is_empty(), "{errors}");
        let options = Options {
            routing: RoutingOptions {
                profile,
                ..RoutingOptions::default()
            },
            ..Options::default()
        };
        translate_with(&bundle, &options).expect("the listener translates")
    }

    /// Routes come after the Services they send to, and their backends use the port of the
    /// target group's Service (8080 for api-tg), not a guess.
    #[test]
    fn listeners_render_as_routes_whose_backends_are_the_target_groups_services() {
        use crate::translate::routing::Profile;
        let t = many_rules(Profile::Ingress);
        let ids: Vec<String> = t.objects.iter().map(Object::id).collect();
        assert_eq!(
            ids,
            [
                "Service /admin-tg",
                "Service /api-canary-tg",
                "Service /api-tg",
                "Service /web-tg",
                "Ingress /many-rules"
            ]
        );
        let Object::Ingress(ing) = &t.objects[4] else {
            panic!("an Ingress")
        };
        let json = serde_json::to_value(ing).unwrap();
        let backends: BTreeSet<String> = json["spec"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["http"]["paths"].as_array().unwrap().iter())
            .map(|p| {
                let s = &p["backend"]["service"];
                format!("{}:{}", s["name"].as_str().unwrap(), s["port"]["number"])
            })
            .collect();
        assert_eq!(
            backends,
            BTreeSet::from(["api-tg:8080".to_owned(), "web-tg:80".to_owned()])
        );
        assert!(
            !t.report
                .findings
                .iter()
                .any(|f| f.message.contains("has no Service")),
            "every target group has its Service"
        );
    }

    /// The fate of every rule that is not exact reaches the render report.
    #[test]
    fn the_report_names_each_rule_the_routing_profile_cannot_carry() {
        use crate::translate::routing::Profile;
        let t = many_rules(Profile::Gateway);
        let not_carried: Vec<&str> = t
            .report
            .findings
            .iter()
            .filter(|f| {
                f.object.kind() == "Listener"
                    && f.fidelity == crate::translate::report::Fidelity::NotCarried
            })
            .map(|f| f.field.as_ref())
            .collect();
        assert!(
            not_carried.contains(&"spec.rules[priority=3]"),
            "fixed response: {not_carried:?}"
        );
        assert!(
            not_carried.contains(&"spec.rules[priority=7]"),
            "source-ip: {not_carried:?}"
        );
        assert!(
            t.objects.iter().all(|o| !matches!(o, Object::Ingress(_))),
            "the gateway profile emits no Ingress"
        );
        assert!(t.objects.iter().any(|o| matches!(o, Object::HttpRoute(_))));
    }

    #[test]
    fn a_load_balancer_naming_a_missing_container_port_or_target_group_is_refused() {
        let text = "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: web}\nspec: {family: web, containerDefinitions: [{name: app, image: x, portMappings: [{containerPort: 80}]}]}\n---\n\
            apiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {name: web}\nspec: {taskDefinition: web, loadBalancers: [\
            {targetGroupArn: tg-a, containerName: nope, containerPort: 80}, {targetGroupArn: tg-b, containerName: app, containerPort: 81}, {targetGroupArn: tg-c, containerName: app, containerPort: 80}]}\n";
        let (bundle, errors) = crate::load::load_str("x.yaml", text);
        assert!(errors.is_empty(), "{errors}");
        let errors = translate(&bundle).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.loadBalancers[0].containerName",
                "spec.loadBalancers[1].containerPort",
                "spec.loadBalancers[2].targetGroupArn"
            ]
        );
    }
}
