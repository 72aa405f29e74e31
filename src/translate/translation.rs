//! The top-level translation: a [`Bundle`] of custom resources → Kubernetes objects plus the
//! fidelity report, or every error at once. Orchestration only: each kind has its
//! translator, the shared types are in [`super::model`].

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;

use super::bundle::{Bundle, Error, ErrorKind, Errors, Origin};
use super::model::{Index, Object, Options, Refusal, Translation};
use super::names;
use super::pod::{self, Workload};
use super::report::{ObjectRef, Report};
use super::{binding, discovery, listener, scheduled, security, service, target_group, task};

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
        let scaled = (autoscaled_count, options.effective_bounds(&s.object));
        match service::translate_service(&index, s, scaled, &mut report) {
            Ok(out) => {
                used_task_definitions.insert(out.task_definition.clone());
                let obj = service::object_ref(&s.object);
                errors
                    .extend(reserved(&out.objects, "metadata.name").map(|r| r.at(&s.origin, &obj)));
                objects.extend(out.objects);
                registrations.extend(out.registrations);
                match discovery::translate_discovery(&index, s, &mut report) {
                    Ok(found) => objects.extend(found),
                    Err(r) => errors.extend(r.into_iter().map(|r| r.at(&s.origin, &obj))),
                }
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
                let obj = task::object_ref(&t.object);
                errors.extend(reserved(&out, "metadata.name").map(|r| r.at(&t.origin, &obj)));
                objects.extend(out);
            }
            Err((used, refusals)) => {
                used_task_definitions.extend(used);
                let obj = task::object_ref(&t.object);
                errors.extend(refusals.into_iter().map(|r| r.at(&t.origin, &obj)));
            }
        }
    }
    for t in &bundle.scheduled_tasks {
        let obj = scheduled::object_ref(&t.object);
        match scheduled::translate_scheduled_task(&index, t, &mut report) {
            Ok((td, out)) => {
                used_task_definitions.insert(td);
                errors.extend(reserved(&out, "metadata.name").map(|r| r.at(&t.origin, &obj)));
                objects.extend(out);
            }
            Err((used, refusals)) => {
                used_task_definitions.extend(used);
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
            Ok(mut out) => {
                errors.extend(reserved(&out, "spec.name").map(|r| r.at(&tg.origin, &obj)));
                if options.routing.target_group_binding
                    && let Some(b) = binding::target_group_binding(tg, &out, &mut report)
                {
                    out.push(b);
                }
                objects.extend(out);
            }
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
        let references = listener::target_group_references(&l.object);
        if options.routing.target_group_binding
            && !references.is_empty()
            && references.iter().all(|(_, arn)| {
                index
                    .target_group(
                        l.object.metadata.namespace.as_deref(),
                        names::target_group_of_arn(arn),
                    )
                    .is_some_and(|tg| binding::is_bound(&tg.object))
            })
        {
            report.note(&obj, "spec", "every target group of this listener is bound (--target-group-binding): no routes are made, the listener and its rules stay on the ALB, which now also forwards to the pods");
            continue;
        }
        for (field, arn) in references {
            let name = names::target_group_of_arn(&arn);
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
    // The security policy: host-level fields the cluster admin does not allow, named on the
    // task definition or cluster that asks for them.
    for td in &bundle.task_definitions {
        let obj = pod::object_ref(&td.object);
        for v in security::check_task_definition(&td.object, options.security_policy) {
            errors.push(Refusal::policy(v.field, v.message).at(&td.origin, &obj));
        }
    }
    for c in &bundle.clusters {
        let obj = ObjectRef::new(
            "EcsCluster",
            c.object.metadata.namespace.as_deref(),
            c.object.metadata.name.as_deref().unwrap_or_default(),
        );
        for v in security::check_cluster(&c.object, options.security_policy) {
            errors.push(Refusal::policy(v.field, v.message).at(&c.origin, &obj));
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

/// Refusals for the objects among `objects` whose names are reserved
/// ([`security::reserved_child`]): the input object's `field` picks the name.
fn reserved<'a>(objects: &'a [Object], field: &'a str) -> impl Iterator<Item = Refusal> + 'a {
    objects.iter().filter_map(move |o| {
        let (kind, name) = o.kind_and_name();
        security::reserved_child(kind, name).map(|why| {
            Refusal::new(
                field,
                format!("it would produce the {kind} {name:?}, which ecsplane never writes: {why}; rename it"),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::routing::RoutingOptions;

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
