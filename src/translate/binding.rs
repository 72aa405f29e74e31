//! The dual-run cutover (`--target-group-binding`): a TargetGroup that names a real ALB
//! target group (`spec.targetGroupArn`) becomes an AWS Load Balancer Controller
//! `TargetGroupBinding` (`elbv2.k8s.aws/v1beta1`) for the target group's Service, so the pods
//! register into the very target group the ECS tasks are in, behind the ALB's own listener
//! rules (no Ingress is made for a listener whose target groups are all bound).

use k8s_openapi::api::core::v1::Service;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

use super::bundle::Sourced;
use super::model::{Object, common_labels};
use super::report::Report;
use super::target_group::object_ref;
use crate::api::{TargetGroup, TargetType};

/// API group of the TargetGroupBinding.
pub const GROUP: &str = "elbv2.k8s.aws";
/// API version of the TargetGroupBinding.
pub const VERSION: &str = "v1beta1";
/// Kind of the TargetGroupBinding.
pub const KIND: &str = "TargetGroupBinding";

/// The API resource of the TargetGroupBinding (for the operator's applies).
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(GROUP, VERSION, KIND),
        "targetgroupbindings",
    )
}

/// The real ELB target group ARN a TargetGroup names, if any
/// (`arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`).
pub fn real_arn(tg: &TargetGroup) -> Option<&str> {
    tg.spec.target_group_arn.as_deref().filter(|a| {
        let mut parts = a.splitn(6, ':');
        parts.next() == Some("arn")
            && parts.next().is_some_and(|p| p.starts_with("aws"))
            && parts.next() == Some("elasticloadbalancing")
            && parts.next().is_some_and(|r| !r.is_empty())
            && parts.next().is_some_and(|acct| !acct.is_empty())
            && parts.next().is_some_and(|rest| {
                rest.strip_prefix("targetgroup/")
                    .is_some_and(|r| r.split('/').count() == 2 && !r.ends_with('/'))
            })
    })
}

/// Whether the target group becomes a TargetGroupBinding (a real ARN and a target type the
/// controller can register pod IPs into).
pub fn is_bound(tg: &TargetGroup) -> bool {
    real_arn(tg).is_some() && matches!(tg.spec.target_type, None | Some(TargetType::Ip))
}

/// The TargetGroupBinding of `tg` for its Service (among `objects`, the target group's
/// translation), or `None` with a finding when the target group cannot be bound.
pub fn target_group_binding(
    tg: &Sourced<TargetGroup>,
    objects: &[Object],
    report: &mut Report,
) -> Option<Object> {
    let obj = object_ref(&tg.object);
    let Some(arn) = real_arn(&tg.object) else {
        if tg.object.spec.target_group_arn.is_some() {
            report.note(&obj, "spec.targetGroupArn", "not an ELB target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID): no TargetGroupBinding, the listener's routes are made as usual");
        }
        return None;
    };
    if !is_bound(&tg.object) {
        report.not_carried(&obj, "spec.targetType", "a TargetGroupBinding registers pod IPs, which needs a target group of type ip; create an ip target group for the cutover (the Service stays)");
        return None;
    }
    let service: &Service = objects.iter().find_map(|o| match o {
        Object::Service(s) => Some(&**s),
        _ => None,
    })?;
    let name = service.metadata.name.clone()?;
    let port = service.spec.as_ref()?.ports.as_ref()?.first()?.port;
    let mut labels = common_labels();
    labels.insert(
        super::target_group::LABEL_TARGET_GROUP.into(),
        super::model::label_value(tg.object.target_group_name()),
    );
    let mut o = DynamicObject::new(&name, &api_resource())
        .within(tg.object.metadata.namespace.as_deref().unwrap_or_default());
    if tg.object.metadata.namespace.is_none() {
        o.metadata.namespace = None;
    }
    o.metadata.labels = Some(labels);
    o.data = json!({
        "spec": {
            "serviceRef": {"name": name, "port": port},
            "targetGroupARN": arn,
            "targetType": "ip",
        }
    });
    report.approximated(&obj, "spec.targetGroupArn", format!("the pods of Service {name:?} register into the existing ALB target group through a TargetGroupBinding (AWS Load Balancer Controller): ECS tasks and pods share its traffic by count, not by weight; health checks, draining and attributes stay the target group's own"));
    Some(Object::TargetGroupBinding(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tg(spec: serde_json::Value) -> TargetGroup {
        serde_json::from_value(json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TargetGroup", "metadata": {"name": "web-tg", "namespace": "shop"}, "spec": spec})).unwrap()
    }

    const ARN: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-tg/0123456789abcdef";

    #[test]
    fn only_an_elb_target_group_arn_is_real() {
        assert_eq!(real_arn(&tg(json!({"targetGroupArn": ARN}))), Some(ARN));
        for fake in [
            "web-tg",
            "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/1",
            "arn:aws:ecs:eu-west-1:1:targetgroup/web-tg/1",
            "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-tg",
        ] {
            assert_eq!(
                real_arn(&tg(json!({"targetGroupArn": fake}))),
                None,
                "{fake}"
            );
        }
    }

    fn dual_run(bind: bool) -> crate::translate::Translation {
        let text = include_str!("../../tests/render/dual-run.yaml");
        let (bundle, errors) = crate::load::load_str("dual-run.yaml", text);
        assert!(errors.is_empty(), "{errors}");
        let options = crate::translate::Options {
            routing: crate::translate::routing::RoutingOptions {
                target_group_binding: bind,
                ..Default::default()
            },
            ..Default::default()
        };
        crate::translate::translate_with(&bundle, &options).expect("translates")
    }

    /// The whole TargetGroupBinding, and no route for the listener whose target group it
    /// binds.
    #[test]
    fn a_real_target_group_arn_becomes_this_binding_and_the_listener_no_ingress() {
        let t = dual_run(true);
        let kinds: Vec<_> = t.objects.iter().map(Object::kind).collect();
        assert!(!kinds.contains(&"Ingress"), "{kinds:?}");
        let b: Vec<_> = t.objects.iter().filter(|o| o.kind() == KIND).collect();
        insta::assert_yaml_snapshot!(b);
        assert!(
            t.report
                .findings
                .iter()
                .any(|f| f.object.kind() == "Listener" && f.message.contains("stay on the ALB"))
        );
    }

    #[test]
    fn without_the_flag_the_listener_gets_its_ingress_and_no_binding() {
        let t = dual_run(false);
        let kinds: Vec<_> = t.objects.iter().map(Object::kind).collect();
        assert!(kinds.contains(&"Ingress"), "{kinds:?}");
        assert!(!kinds.contains(&KIND), "{kinds:?}");
    }

    #[test]
    fn an_instance_target_group_is_not_bound_and_says_why() {
        let t = Sourced {
            origin: crate::translate::bundle::Origin::Translation,
            object: tg(json!({"targetGroupArn": ARN, "targetType": "instance"})),
        };
        let mut report = Report::default();
        assert!(target_group_binding(&t, &[], &mut report).is_none());
        assert_eq!(report.findings[0].field, "spec.targetType");
    }
}
