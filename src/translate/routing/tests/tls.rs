//! IngressGroup names of the `alb` profile.

use pretty_assertions::assert_eq;

use super::super::lbc::group_name;
use super::super::*;
use super::{forward, listener, ports};
use crate::api::Listener;
use crate::translate::report::{Fidelity, Finding};

const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188";

fn options(profile: Profile) -> RoutingOptions {
    RoutingOptions {
        profile,
        ..Default::default()
    }
}

fn one<'a>(out: &'a CompiledRoutes, field: &str) -> &'a Finding {
    let found: Vec<&Finding> = out
        .report
        .findings
        .iter()
        .filter(|f| f.field == field)
        .collect();
    assert_eq!(found.len(), 1, "{field}: {:#?}", out.report);
    found[0]
}

#[test]
fn listeners_of_one_load_balancer_in_two_namespaces_never_share_an_ingress_group() {
    let in_namespace = |ns: &str, name: &str, lb: &str| {
        let mut l = listener(vec![], forward("web"));
        l.metadata.namespace = Some(ns.into());
        l.metadata.name = Some(name.into());
        l.spec.load_balancer_arn = Some(lb.into());
        l
    };
    let groups = |l: &Listener| -> Vec<String> {
        compile(l, &ports, &options(Profile::Alb))
            .objects
            .iter()
            .map(|o| {
                o["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let a = in_namespace("a", "public", LB);
    let b = in_namespace("b", "public", LB);
    assert_eq!(groups(&a), ["a.shop"]);
    assert_eq!(groups(&b), ["b.shop"]);
    // Two listeners of one load balancer in one namespace share its ALB.
    assert_eq!(
        group_name(&in_namespace("a", "public-https", LB)),
        group_name(&a)
    );

    // Dashes cannot move the boundary between namespace and load balancer.
    let lb_named = |name: &str| {
        format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/{name}/50dc6c495c0c9188")
    };
    assert_ne!(
        group_name(&in_namespace("team-a", "l", &lb_named("shop"))),
        group_name(&in_namespace("team", "l", &lb_named("a-shop"))),
    );

    // Too long to spell out: 46 characters, `-` and a hash; still the controller's charset
    // and length, and still different across namespaces sharing their first 46 characters.
    let long_ns = |suffix: &str| format!("payments-production-eu-west-1-workloads-tenant-{suffix}");
    let long_lb = lb_named("storefront-public-internet-lb");
    let names: Vec<String> = [long_ns("a"), long_ns("b"), "short".to_owned()]
        .iter()
        .map(|ns| group_name(&in_namespace(ns, "l", &long_lb)))
        .collect();
    let pattern = regex::Regex::new("^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$").unwrap();
    for n in &names {
        assert!(n.len() <= 63, "{n}");
        assert!(pattern.is_match(n), "{n}");
    }
    assert_ne!(names[0], names[1]);
    assert!(!names[0].contains('.'), "{}", names[0]);
    assert_eq!(names[2], "short.storefront-public-internet-lb");
    // A namespace shorter than 45 characters is kept whole, with its `.`.
    let medium = group_name(&in_namespace(
        "payments-production-eu-west-1-workloads",
        "l",
        &long_lb,
    ));
    assert!(
        medium.starts_with("payments-production-eu-west-1-workloads.storef-"),
        "{medium}"
    );
    assert_eq!(medium.len(), 63, "{medium}");
}

#[test]
fn an_alb_listener_without_a_namespace_is_grouped_as_in_default_and_says_so() {
    let mut l = listener(vec![], forward("web"));
    l.metadata.namespace = None;
    l.spec.load_balancer_arn = Some(LB.into());
    let out = compile(&l, &ports, &options(Profile::Alb));
    assert_eq!(
        out.objects[0]["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"],
        "default.shop"
    );
    assert_eq!(
        one(&out, "metadata.namespace").fidelity,
        Fidelity::Approximated
    );
}
