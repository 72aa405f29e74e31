//! Behaviour of the compilers: realistic listeners, each profile's precedence, and a property
//! test that the compiled routing agrees with the ALB model for every rule called exact.

mod tls;

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use serde_json::json;

use super::alb::{self, Request, RuleId};
use super::gateway::GatewayModel;
use super::ingress::IngressModel;
use super::lbc::LbcModel;
use super::plan::k8s_target;
use super::*;
use crate::api::{
    Action, ActionType, ConditionField, FixedResponseConfig, ForwardConfig, HttpHeaderConfig,
    ListenerRule, ListenerSpec, QueryStringConfig, QueryStringKeyValue, RedirectConfig,
    RuleCondition, TargetGroupTuple, ValuesConfig,
};

pub(crate) fn values(field: ConditionField, vals: &[&str]) -> RuleCondition {
    let cfg = Some(ValuesConfig {
        values: vals.iter().map(|s| s.to_string()).collect(),
        regex_values: None,
    });
    let mut c = RuleCondition {
        field,
        ..Default::default()
    };
    match field {
        ConditionField::HostHeader => c.host_header_config = cfg,
        ConditionField::PathPattern => c.path_pattern_config = cfg,
        ConditionField::HttpRequestMethod => c.http_request_method_config = cfg,
        ConditionField::SourceIp => c.source_ip_config = cfg,
        _ => unreachable!("use header() or query()"),
    }
    c
}

pub(crate) fn host(vals: &[&str]) -> RuleCondition {
    values(ConditionField::HostHeader, vals)
}

pub(crate) fn path(vals: &[&str]) -> RuleCondition {
    values(ConditionField::PathPattern, vals)
}

pub(crate) fn method(vals: &[&str]) -> RuleCondition {
    values(ConditionField::HttpRequestMethod, vals)
}

pub(crate) fn header(name: &str, vals: &[&str]) -> RuleCondition {
    RuleCondition {
        field: ConditionField::HttpHeader,
        http_header_config: Some(HttpHeaderConfig {
            http_header_name: name.into(),
            values: vals.iter().map(|s| s.to_string()).collect(),
            regex_values: None,
        }),
        ..Default::default()
    }
}

pub(crate) fn query(pairs: &[(Option<&str>, &str)]) -> RuleCondition {
    RuleCondition {
        field: ConditionField::QueryString,
        query_string_config: Some(QueryStringConfig {
            values: pairs
                .iter()
                .map(|(k, v)| QueryStringKeyValue {
                    key: k.map(str::to_owned),
                    value: (*v).to_owned(),
                })
                .collect(),
        }),
        ..Default::default()
    }
}

pub(crate) fn forward(tg: &str) -> Action {
    Action {
        type_: ActionType::Forward,
        target_group_arn: Some(tg.into()),
        ..Default::default()
    }
}

pub(crate) fn weighted(groups: &[(&str, i32)]) -> Action {
    Action {
        type_: ActionType::Forward,
        forward_config: Some(ForwardConfig {
            target_groups: groups
                .iter()
                .map(|(tg, w)| TargetGroupTuple {
                    target_group_arn: (*tg).into(),
                    weight: Some(*w),
                })
                .collect(),
            target_group_stickiness_config: None,
        }),
        ..Default::default()
    }
}

pub(crate) fn fixed(code: &str) -> Action {
    Action {
        type_: ActionType::FixedResponse,
        fixed_response_config: Some(FixedResponseConfig {
            status_code: code.into(),
            content_type: Some("text/plain".into()),
            message_body: None,
        }),
        ..Default::default()
    }
}

pub(crate) fn redirect_https() -> Action {
    Action {
        type_: ActionType::Redirect,
        redirect_config: Some(RedirectConfig {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn listener(rules: Vec<(i32, Vec<RuleCondition>, Action)>, default: Action) -> Listener {
    let mut l = Listener::new(
        "web",
        ListenerSpec {
            default_actions: vec![default],
            rules: Some(
                rules
                    .into_iter()
                    .map(|(priority, conditions, action)| ListenerRule {
                        priority,
                        conditions,
                        actions: vec![action],
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        },
    );
    l.metadata.namespace = Some("shop".into());
    l
}

pub(crate) fn ports(tg: &str) -> Option<i32> {
    Some(if tg == "api" { 8080 } else { 80 })
}

fn opts(profile: Profile) -> RoutingOptions {
    RoutingOptions {
        profile,
        ..Default::default()
    }
}

/// The ALB's answer in Kubernetes terms.
/// The rule the ALB picks and what it does, with redirects as the Location they give.
fn expected(l: &Listener, r: &Request) -> (RuleId, Target) {
    let routed = alb::route(l, r);
    let (scheme, port) = alb::listener_endpoint(l);
    (
        routed.rule,
        alb::concrete(k8s_target(&routed.target, &ports), r, scheme, port),
    )
}

/// A listener like the ones teams run: a host-specific API, a catch-all API path, static
/// files, a header canary and a redirect.
fn realistic() -> Listener {
    listener(
        vec![
            (
                5,
                vec![header("X-Canary", &["on"]), path(&["/api/*"])],
                forward("api-canary"),
            ),
            (10, vec![host(&["admin.example.com"])], forward("admin")),
            (20, vec![path(&["/api/*"])], forward("api")),
            (
                30,
                vec![host(&["shop.example.com"]), path(&["/api/v2/*"])],
                forward("api-v2"),
            ),
            (
                40,
                vec![path(&["/static/*", "/favicon.ico"])],
                forward("static"),
            ),
            (50, vec![path(&["/img/*.png"])], forward("images")),
            (60, vec![path(&["/old/*"])], redirect_https()),
        ],
        forward("web"),
    )
}

#[test]
fn a_realistic_listener_compiles_to_one_ingress_with_complete_hosts() {
    let l = realistic();
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    // Every host lists every host-less path, so a controller that merges host-less paths into
    // hosts cannot send admin.example.com/api/x to the api Service. Priority 30 is shadowed
    // by priority 20, so its host shop.example.com needs no rule of its own.
    assert_eq!(
        out.objects,
        vec![json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app.kubernetes.io/managed-by": "ecsplane"}},
            "spec": {
                "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                "rules": [
                    {"host": "admin.example.com", "http": {"paths": [
                        {"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "admin", "port": {"number": 80}}}},
                        {"path": "/favicon.ico", "pathType": "Exact", "backend": {"service": {"name": "admin", "port": {"number": 80}}}},
                        {"path": "/static", "pathType": "Exact", "backend": {"service": {"name": "admin", "port": {"number": 80}}}},
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "admin", "port": {"number": 80}}}},
                        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "admin", "port": {"number": 80}}}},
                        {"path": "/static", "pathType": "Prefix", "backend": {"service": {"name": "admin", "port": {"number": 80}}}}
                    ]}},
                    {"http": {"paths": [
                        {"path": "/api", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                        {"path": "/favicon.ico", "pathType": "Exact", "backend": {"service": {"name": "static", "port": {"number": 80}}}},
                        {"path": "/static", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 8080}}}},
                        {"path": "/static", "pathType": "Prefix", "backend": {"service": {"name": "static", "port": {"number": 80}}}}
                    ]}},
                ]
            }
        })]
    );
    let fates: Vec<String> = out
        .fates
        .iter()
        .map(|f| format!("{}: {}", f.rule, f.fate))
        .collect();
    insta_like(
        &fates,
        &[
            "priority 5: not representable: http-header conditions cannot be expressed in Ingress; counterexample: GET http://unlisted.example/api/x [X-Canary: on] from 198.51.100.7: ALB forward to api-canary (priority 5), compiled forward to api:8080",
            "priority 10: exact",
            "priority 20: exact",
            "priority 30: shadowed by priority 20",
            "priority 40: exact",
            "priority 50: not representable: path pattern \"/img/*.png\" has a wildcard that Exact and Prefix paths cannot express (only a trailing /* maps to a Prefix); counterexample: GET http://unlisted.example/img/x.png from 198.51.100.7: ALB forward to images (priority 50), compiled forward to web:80",
            "priority 60: not representable: redirects cannot be expressed in portable Ingress; counterexample: GET http://unlisted.example/old/x from 198.51.100.7: ALB redirect HTTP_301 to HTTPS://#{host}:443/#{path}?#{query} (priority 60), compiled forward to web:80",
            "default: exact",
        ],
    );
}

// Compares line lists with a readable diff.
fn insta_like(got: &[String], want: &[&str]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, &want[..]);
}

#[test]
fn a_higher_priority_host_less_rule_is_copied_into_more_specific_hosts() {
    // Ingress alone would send shop.example.com/api/v2/x to the host rule; the ALB sends it to
    // priority 1.
    let l = listener(
        vec![
            (1, vec![path(&["/api/*"])], forward("api")),
            (
                2,
                vec![host(&["shop.example.com"]), path(&["/api/v2/*"])],
                forward("v2"),
            ),
            (3, vec![host(&["shop.example.com"])], forward("shop")),
        ],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    assert_eq!(
        out.fate(RuleId::Priority(2)),
        Some(&Fate::Shadowed {
            by: vec![RuleId::Priority(1)]
        })
    );
    let model = IngressModel::from_objects(&out.objects);
    for p in ["/api/v2/x", "/api/x", "/api", "/", "/other"] {
        let r = Request::get("shop.example.com", p);
        assert_eq!(model.route(&r), Some(expected(&l, &r).1), "{p}");
    }
}

#[test]
fn alb_slash_star_paths_do_not_match_the_bare_prefix() {
    // `/api/*` does not match `/api`, but Prefix `/api` does: an Exact `/api` entry keeps it.
    let l = listener(
        vec![(1, vec![path(&["/api/*"])], forward("api"))],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    let model = IngressModel::from_objects(&out.objects);
    assert_eq!(
        model.route(&Request::get("h.example", "/api")),
        Some(expected(&l, &Request::get("h", "/api")).1)
    );
    assert_eq!(expected(&l, &Request::get("h", "/api")).0, RuleId::Default);
    assert_eq!(
        expected(&l, &Request::get("h", "/api/")).0,
        RuleId::Priority(1)
    );
    assert_eq!(
        model.route(&Request::get("h.example", "/api/")),
        Some(expected(&l, &Request::get("h", "/api/")).1)
    );
}

#[test]
fn wildcard_hosts_are_not_representable_in_ingress_because_alb_spans_labels() {
    let l = listener(
        vec![(1, vec![host(&["*.example.com"])], forward("api"))],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    match out.fate(RuleId::Priority(1)) {
        Some(Fate::NotRepresentable {
            counterexample: Some(c),
            ..
        }) => {
            assert!(c.request.host.ends_with(".example.com"), "{c}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_default_fixed_response_is_reported_and_gets_no_backend() {
    let l = listener(
        vec![(1, vec![path(&["/api/*"])], forward("api"))],
        fixed("404"),
    );
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    assert!(matches!(
        out.fate(RuleId::Default),
        Some(Fate::NotRepresentable { .. })
    ));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    assert!(out.objects[0]["spec"].get("defaultBackend").is_none());
}

#[test]
fn a_listener_with_nothing_an_ingress_can_carry_gets_no_ingress_the_api_server_would_refuse() {
    // Only a fixed-response rule and a fixed-response default: an Ingress would have neither
    // rules nor a default backend, which the API server refuses. Found through Contour.
    let l = listener(
        vec![(1, vec![path(&["/api/*"])], fixed("503"))],
        fixed("404"),
    );
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    assert!(out.objects.is_empty(), "{:?}", out.objects);
    assert!(matches!(
        out.fate(RuleId::Default),
        Some(Fate::NotRepresentable { .. })
    ));
    assert!(
        format!("{:?}", out.report).contains("none is written"),
        "{:?}",
        out.report
    );
}

#[test]
fn a_rule_covered_by_a_single_higher_rule_is_shadowed_even_when_not_representable() {
    let l = listener(
        vec![
            (1, vec![path(&["/api/*"])], forward("api")),
            (
                2,
                vec![path(&["/api/*.json"]), header("Accept", &["json"])],
                forward("json"),
            ),
        ],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    assert_eq!(
        out.fate(RuleId::Priority(2)),
        Some(&Fate::Shadowed {
            by: vec![RuleId::Priority(1)]
        })
    );
}

#[test]
fn every_not_carried_rule_appears_in_the_report() {
    let out = compile(&realistic(), &ports, &opts(Profile::Ingress));
    let (_, _, not_carried) = out.report.counts();
    assert_eq!(not_carried, 3);
}

// ---- property test ----

const HOSTS: &[&str] = &[
    "a.example.com",
    "b.example.com",
    "*.example.com",
    "API.example.com",
    "c?.example.com",
];
const PATHS: &[&str] = &[
    "/api",
    "/api/*",
    "/api/v2/*",
    "/api/v2",
    "/*",
    "/img/*.png",
    "/api*",
    "/",
    "/static/*",
    "/x/y",
];
const TGS: &[&str] = &["a", "b", "c", "api"];

fn arb_condition() -> impl Strategy<Value = Vec<RuleCondition>> {
    (
        prop::option::weighted(0.4, prop::sample::subsequence(HOSTS.to_vec(), 1..=2)),
        prop::option::weighted(0.7, prop::sample::subsequence(PATHS.to_vec(), 1..=2)),
        prop::option::weighted(
            0.2,
            prop::sample::select(vec![vec!["canary"], vec!["beta*"], vec!["on", "1"]]),
        ),
        prop::option::weighted(
            0.15,
            prop::sample::select(vec![vec!["GET"], vec!["POST"], vec!["GET", "HEAD"]]),
        ),
        prop::option::weighted(
            0.1,
            prop::sample::select(vec![(Some("v"), "1"), (None, "x*")]),
        ),
        prop::option::weighted(0.05, Just("10.0.0.0/8")),
    )
        .prop_map(|(h, p, hd, m, q, ip)| {
            let mut c = Vec::new();
            if let Some(h) = h {
                c.push(host(&h));
            }
            if let Some(p) = p {
                c.push(path(&p));
            }
            if let Some(v) = hd {
                c.push(header("X-Env", &v));
            }
            if let Some(m) = m {
                c.push(method(&m));
            }
            if let Some(q) = q {
                c.push(query(&[q]));
            }
            if let Some(ip) = ip {
                c.push(values(ConditionField::SourceIp, &[ip]));
            }
            if c.is_empty() {
                c.push(path(&["/*"]));
            }
            c
        })
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => prop::sample::select(TGS.to_vec()).prop_map(forward),
        1 => Just(weighted(&[("a", 1), ("b", 3)])),
        1 => Just(sticky(&[("a", 1), ("b", 3)], Some(60))),
        1 => Just(fixed("503")),
        1 => Just(redirect_https()),
    ]
}

fn arb_listener() -> impl Strategy<Value = Listener> {
    (
        prop::collection::vec((arb_condition(), arb_action()), 0..7),
        prop::sample::subsequence((1..40).collect::<Vec<i32>>(), 7),
        prop_oneof![6 => Just(forward("web")), 1 => Just(fixed("404"))],
    )
        .prop_map(|(rules, prios, default)| {
            listener(
                rules
                    .into_iter()
                    .zip(prios)
                    .map(|((c, a), p)| (p, c, a))
                    .collect(),
                default,
            )
        })
}

fn arb_request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(vec![
            "a.example.com",
            "b.example.com",
            "x.example.com",
            "a.b.example.com",
            "API.EXAMPLE.COM",
            "c1.example.com",
            "other.org",
        ]),
        prop::sample::select(vec![
            "/",
            "/api",
            "/api/",
            "/api/x",
            "/api/v2",
            "/api/v2/",
            "/api/v2/x",
            "/apix",
            "/img/a.png",
            "/img/a.jpg",
            "/static",
            "/static/a",
            "/x/y",
            "/x",
            "/zz",
        ]),
        prop::sample::select(vec!["GET", "POST", "HEAD", "get"]),
        prop::option::of(prop::sample::select(vec![
            "canary", "CANARY", "betaX", "on", "1",
        ])),
        prop::option::of(prop::sample::select(vec![
            ("v", "1"),
            ("V", "1"),
            ("q", "xyz"),
        ])),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(h, p, m, hd, q, internal)| {
            let mut r = Request::get(h, p).with_method(m);
            if let Some(v) = hd {
                r = r.with_header("x-env", v);
            }
            if let Some((k, v)) = q {
                r = r.with_query(k, v);
            }
            if internal {
                r = r.with_source("10.1.2.3".parse().unwrap());
            }
            r
        })
}

fn agrees(
    l: &Listener,
    out: &CompiledRoutes,
    requests: &[Request],
    model: &dyn Fn(&Request) -> Option<Target>,
) -> Result<(), TestCaseError> {
    for r in requests {
        let (rule, want) = expected(l, r);
        let fate = out.fate(rule).expect("every rule has a fate");
        prop_assert!(
            !matches!(fate, Fate::Shadowed { .. }),
            "{rule} is reported shadowed but the ALB routes {r} to it"
        );
        if fate.is_carried() {
            let (scheme, port) = alb::listener_endpoint(l);
            prop_assert_eq!(
                model(r).map(|t| alb::concrete(t, r, scheme, port)),
                Some(want),
                "{} is carried but {} differs\n{:#?}",
                rule,
                r,
                out.objects
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn portable_ingress_routes_every_exact_rule_like_the_alb(
        l in arb_listener(),
        requests in prop::collection::vec(arb_request(), 40),
    ) {
        let out = compile(&l, &ports, &opts(Profile::Ingress));
        for (merge, fall) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut model = IngressModel::from_objects(&out.objects);
            model.merge_hostless = merge;
            model.fallthrough = fall;
            agrees(&l, &out, &requests, &|r| model.route(r))?;
        }
    }

    #[test]
    fn gateway_routes_every_exact_rule_like_the_alb(
        l in arb_listener(),
        requests in prop::collection::vec(arb_request(), 40),
    ) {
        let out = compile(&l, &ports, &opts(Profile::Gateway));
        for per_host in [false, true] {
            let mut model = GatewayModel::from_objects(&out.objects);
            model.no_fallthrough_between_hostnames = per_host;
            agrees(&l, &out, &requests, &|r| model.route(r))?;
        }
    }

    #[test]
    fn the_load_balancer_controller_rebuilds_every_rule_in_order(
        l in arb_listener(),
        requests in prop::collection::vec(arb_request(), 40),
    ) {
        let out = compile(&l, &ports, &opts(Profile::Alb));
        let model = LbcModel::from_objects(&out.objects);
        for f in &out.fates {
            prop_assert!(!matches!(f.fate, Fate::NotRepresentable { .. }), "{:?}", f);
        }
        agrees(&l, &out, &requests, &|r| model.route(r))?;
    }
}

#[test]
fn gateway_keeps_header_canaries_and_orders_them_before_the_plain_path() {
    let l = realistic();
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    assert_eq!(out.fate(RuleId::Priority(5)), Some(&Fate::Exact));
    assert_eq!(out.fate(RuleId::Priority(10)), Some(&Fate::Exact));
    assert!(matches!(
        out.fate(RuleId::Priority(50)),
        Some(Fate::NotRepresentable { .. })
    ));
    let model = GatewayModel::from_objects(&out.objects);
    for r in [
        Request::get("shop.example.com", "/api/v2/x").with_header("x-canary", "ON"),
        Request::get("shop.example.com", "/api/v2/x"),
        Request::get("admin.example.com", "/api/x").with_header("X-Canary", "on"),
    ] {
        assert_eq!(model.route(&r), Some(expected(&l, &r).1), "{r}");
    }
}

#[test]
fn gateway_wildcard_hosts_span_labels_like_the_alb() {
    let l = listener(
        vec![(1, vec![host(&["*.example.com"])], forward("api"))],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    let model = GatewayModel::from_objects(&out.objects);
    let r = Request::get("a.b.example.com", "/");
    assert_eq!(model.route(&r), Some(expected(&l, &r).1));
}

#[test]
fn gateway_reports_value_only_query_and_source_ip_with_counterexamples() {
    let l = listener(
        vec![
            (1, vec![query(&[(None, "debug")])], forward("api")),
            (
                2,
                vec![values(ConditionField::SourceIp, &["10.0.0.0/8"])],
                forward("a"),
            ),
        ],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    for p in [1, 2] {
        assert!(
            matches!(
                out.fate(RuleId::Priority(p)),
                Some(Fate::NotRepresentable {
                    counterexample: Some(_),
                    ..
                })
            ),
            "{p}"
        );
    }
}

#[test]
fn a_source_ip_counterexample_comes_from_a_host_address_inside_the_block() {
    for (block, client) in [
        ("10.0.0.0/8", "10.0.0.1"),
        ("192.0.2.64/30", "192.0.2.65"),
        ("192.0.2.7/32", "192.0.2.7"),
        ("2001:db8::/32", "2001:db8::1"),
    ] {
        let l = listener(
            vec![(
                1,
                vec![values(ConditionField::SourceIp, &[block])],
                forward("a"),
            )],
            forward("web"),
        );
        for profile in [Profile::Ingress, Profile::Gateway] {
            let out = compile(&l, &ports, &opts(profile));
            let Some(Fate::NotRepresentable {
                counterexample: Some(c),
                ..
            }) = out.fate(RuleId::Priority(1))
            else {
                panic!("{profile} {block}: {:?}", out.fate(RuleId::Priority(1)))
            };
            assert_eq!(c.request.source_ip.to_string(), client, "{profile} {block}");
            assert!(c.to_string().contains(&format!("from {client}:")), "{c}");
        }
    }
}

fn redirect(cfg: RedirectConfig) -> Action {
    Action {
        type_: ActionType::Redirect,
        redirect_config: Some(cfg),
        ..Default::default()
    }
}

#[test]
fn gateway_redirects_become_request_redirect_filters_that_give_the_albs_location() {
    let l = listener(
        vec![
            (
                1,
                vec![path(&["/old-shop"])],
                redirect(RedirectConfig {
                    path: Some("/shop".into()),
                    ..Default::default()
                }),
            ),
            (
                2,
                vec![host(&["legacy.example.com"])],
                redirect(RedirectConfig {
                    protocol: Some("HTTPS".into()),
                    host: Some("WWW.example.com".into()),
                    port: Some("8443".into()),
                    status_code: crate::api::RedirectStatusCode::Http302,
                    ..Default::default()
                }),
            ),
        ],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    assert_eq!(out.fate(RuleId::Priority(2)), Some(&Fate::Exact));
    let filters: Vec<&serde_json::Value> = out
        .objects
        .iter()
        .flat_map(|o| o["spec"]["rules"].as_array().unwrap())
        .filter(|r| r.get("filters").is_some())
        .map(|r| {
            assert!(r.get("backendRefs").is_none(), "a redirect has no backends");
            &r["filters"][0]
        })
        .collect();
    assert!(
        filters.contains(&&json!({"type": "RequestRedirect", "requestRedirect": {
        "statusCode": 301, "path": {"type": "ReplaceFullPath", "replaceFullPath": "/shop"}}}))
    );
    assert!(
        filters.contains(&&json!({"type": "RequestRedirect", "requestRedirect": {
        "statusCode": 302, "scheme": "https", "hostname": "www.example.com", "port": 8443}}))
    );
    let model = GatewayModel::from_objects(&out.objects);
    let r = Request::get("legacy.example.com", "/a/b").with_query("x", "1");
    assert_eq!(
        model.route(&r),
        Some(Target {
            authenticate: vec![],
            terminal: alb::Terminal::Redirect {
                location: "https://www.example.com:8443/a/b?x=1".into(),
                status_code: "HTTP_302".into()
            }
        })
    );
    assert_eq!(model.route(&r), Some(expected(&l, &r).1));
}

#[test]
fn a_gateway_redirect_to_another_scheme_keeps_the_listener_port_as_the_alb_does() {
    let l = listener(
        vec![(
            1,
            vec![path(&["/x"])],
            redirect(RedirectConfig {
                protocol: Some("HTTPS".into()),
                ..Default::default()
            }),
        )],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    let text = serde_json::to_string(&out.objects).unwrap();
    assert!(
        text.contains(r#""requestRedirect":{"port":80,"scheme":"https","statusCode":301}"#),
        "{text}"
    );
    assert!(
        out.report
            .findings
            .iter()
            .any(|f| f.message.contains("assumes the Gateway listener")),
        "the port assumption is reported"
    );
}

#[test]
fn gateway_reports_redirect_templates_the_filter_cannot_express_with_a_counterexample() {
    for cfg in [
        RedirectConfig {
            path: Some("/assets/#{path}".into()),
            ..Default::default()
        },
        RedirectConfig {
            host: Some("#{host}.cdn.example.com".into()),
            ..Default::default()
        },
        RedirectConfig {
            query: Some("from=old".into()),
            ..Default::default()
        },
    ] {
        let l = listener(
            vec![(1, vec![path(&["/static/*"])], redirect(cfg.clone()))],
            forward("web"),
        );
        let out = compile(&l, &ports, &opts(Profile::Gateway));
        assert!(
            matches!(
                out.fate(RuleId::Priority(1)),
                Some(Fate::NotRepresentable {
                    counterexample: Some(_),
                    ..
                })
            ),
            "{cfg:?}: {:?}",
            out.fate(RuleId::Priority(1))
        );
    }
}

#[test]
fn gateway_reports_fixed_responses_with_a_counterexample() {
    let l = listener(
        vec![(1, vec![path(&["/health"])], fixed("200"))],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    let Some(Fate::NotRepresentable {
        reason,
        counterexample: Some(c),
    }) = out.fate(RuleId::Priority(1))
    else {
        panic!("{:?}", out.fate(RuleId::Priority(1)))
    };
    assert!(reason.contains("fixed responses"), "{reason}");
    assert_eq!(c.request.path, "/health");
    assert_eq!(c.compiled, "forward to web:80");
}

const PROFILES: [Profile; 3] = [Profile::Ingress, Profile::Alb, Profile::Gateway];

#[test]
fn a_path_pattern_of_a_single_star_is_exact_in_every_profile() {
    // `*` matches every path; sample requests keep their leading `/` (no `http://hostx`).
    let l = listener(
        vec![(1, vec![path(&["*"])], forward("api"))],
        forward("web"),
    );
    for profile in PROFILES {
        let out = compile(&l, &ports, &opts(profile));
        assert_eq!(
            out.fate(RuleId::Priority(1)),
            Some(&Fate::Exact),
            "{profile}"
        );
    }
    let samples = super::witness::witnesses(&[path(&["*", "*.png"])], &Default::default());
    assert!(!samples.is_empty());
    assert!(
        samples.iter().all(|r| r.path.starts_with('/')),
        "{samples:?}"
    );
}

#[test]
fn default_actions_behind_a_rule_that_matches_every_request_are_shadowed_in_every_profile() {
    for (all, default) in [
        (path(&["/*"]), forward("web")),
        (path(&["*"]), forward("web")),
        (path(&["/api/*", "/*"]), fixed("404")),
        (host(&["*"]), forward("web")),
    ] {
        let l = listener(
            vec![
                (1, vec![host(&["a.example.com"])], forward("a")),
                (2, vec![all.clone()], forward("api")),
            ],
            default,
        );
        for profile in PROFILES {
            let out = compile(&l, &ports, &opts(profile));
            assert_eq!(
                out.fate(RuleId::Default),
                Some(&Fate::Shadowed {
                    by: vec![RuleId::Priority(2)]
                }),
                "{profile}: {all:?}"
            );
        }
    }
    // Without such a rule the default actions are reachable, and carried, everywhere.
    let l = listener(
        vec![(1, vec![path(&["/api/*"])], forward("api"))],
        forward("web"),
    );
    for profile in PROFILES {
        let out = compile(&l, &ports, &opts(profile));
        assert_eq!(out.fate(RuleId::Default), Some(&Fate::Exact), "{profile}");
    }
}

#[test]
fn a_rule_whose_conditions_imply_a_higher_rules_is_shadowed_in_every_profile() {
    // Every request with X-Beta and X-Tier also has X-Beta: the ALB sends it to priority 1.
    let l = listener(
        vec![
            (1, vec![header("X-Beta", &["on"])], forward("a")),
            (
                2,
                vec![header("X-Beta", &["on"]), header("X-Tier", &["gold"])],
                forward("b"),
            ),
            (
                3,
                vec![
                    method(&["GET"]),
                    path(&["/api/*"]),
                    header("x-beta", &["ON"]),
                ],
                forward("c"),
            ),
        ],
        forward("web"),
    );
    for profile in PROFILES {
        let out = compile(&l, &ports, &opts(profile));
        for p in [2, 3] {
            assert_eq!(
                out.fate(RuleId::Priority(p)),
                Some(&Fate::Shadowed {
                    by: vec![RuleId::Priority(1)]
                }),
                "{profile} priority {p}"
            );
        }
    }
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    let text = serde_json::to_string(&out.objects).unwrap();
    assert!(
        !text.contains("x-tier"),
        "a shadowed rule is dropped: {text}"
    );
    let model = GatewayModel::from_objects(&out.objects);
    let r = Request::get("h.example", "/api/x")
        .with_header("X-Beta", "on")
        .with_header("X-Tier", "gold");
    assert_eq!(expected(&l, &r).0, RuleId::Priority(1));
    assert_eq!(model.route(&r), Some(expected(&l, &r).1));
}

fn sticky(groups: &[(&str, i32)], duration_seconds: Option<i32>) -> Action {
    let mut a = weighted(groups);
    if let Some(f) = a.forward_config.as_mut() {
        f.target_group_stickiness_config = Some(crate::api::TargetGroupStickinessConfig {
            enabled: Some(true),
            duration_seconds,
        });
    }
    a
}

#[test]
fn a_sticky_weighted_forward_is_approximated_in_gateway_and_says_that_clients_move() {
    let l = listener(
        vec![
            (
                1,
                vec![path(&["/api/*"])],
                sticky(&[("a", 1), ("b", 3)], Some(3600)),
            ),
            (2, vec![path(&["/b/*"])], weighted(&[("a", 1), ("b", 3)])),
            // Stickiness over one target group changes nothing.
            (
                3,
                vec![path(&["/c/*"])],
                sticky(&[("a", 1), ("b", 0)], Some(60)),
            ),
        ],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Gateway));
    let Some(Fate::Approximated { difference }) = out.fate(RuleId::Priority(1)) else {
        panic!("{:?}", out.fate(RuleId::Priority(1)))
    };
    assert!(
        difference
            .contains("the ALB keeps a client on the target group it first reached for 3600 s"),
        "{difference}"
    );
    assert!(difference.contains("not emitted"), "{difference}");
    assert_eq!(out.fate(RuleId::Priority(2)), Some(&Fate::Exact));
    assert_eq!(out.fate(RuleId::Priority(3)), Some(&Fate::Exact));
    assert!(
        out.report
            .findings
            .iter()
            .any(|f| f.field == "spec.rules[priority=1]"
                && f.fidelity == crate::translate::report::Fidelity::Approximated
                && f.message
                    .starts_with("approximated: target group stickiness")),
        "{:#?}",
        out.report
    );
    let text = serde_json::to_string(&out.objects).unwrap();
    assert!(
        !text.contains("sessionPersistence"),
        "standard channel only: {text}"
    );
    // Every request still goes to the weighted backends the ALB picks from.
    let model = GatewayModel::from_objects(&out.objects);
    let r = Request::get("h.example", "/api/x");
    assert_eq!(model.route(&r), Some(expected(&l, &r).1));

    // Portable Ingress has no weights at all.
    let out = compile(&l, &ports, &opts(Profile::Ingress));
    assert!(matches!(
        out.fate(RuleId::Priority(1)),
        Some(Fate::NotRepresentable { .. })
    ));
}

#[test]
fn gateway_session_persistence_is_emitted_only_when_asked_for_and_still_reported() {
    let l = listener(
        vec![(
            1,
            vec![path(&["/api/*"])],
            sticky(&[("a", 1), ("b", 3)], Some(604800)),
        )],
        sticky(&[("a", 1), ("b", 1)], None),
    );
    let options = RoutingOptions {
        gateway_session_persistence: true,
        ..opts(Profile::Gateway)
    };
    let out = compile(&l, &ports, &options);
    let rules: Vec<&serde_json::Value> = out
        .objects
        .iter()
        .flat_map(|o| o["spec"]["rules"].as_array().unwrap())
        .collect();
    assert!(!rules.is_empty());
    for r in rules {
        // Priority 1 weighs b 3 to 1, the default actions 1 to 1.
        let want = if r["backendRefs"][1]["weight"] == 3 {
            json!({"type": "Cookie", "absoluteTimeout": "168h", "cookieConfig": {"lifetimeType": "Permanent"}})
        } else {
            json!({"type": "Cookie"})
        };
        assert_eq!(r["sessionPersistence"], want, "{r}");
    }
    for rule in [RuleId::Priority(1), RuleId::Default] {
        let Some(Fate::Approximated { difference }) = out.fate(rule) else {
            panic!("{rule}: {:?}", out.fate(rule))
        };
        assert!(difference.contains("became the HTTPRoute rule's sessionPersistence"));
        assert!(difference.contains("one backend pod"), "{difference}");
    }
}

#[test]
fn a_sticky_weighted_forward_keeps_its_stickiness_in_the_alb_profile() {
    // LBC's actions annotation takes targetGroupStickinessConfig in its advanced schema
    // (forwardConfig), and target-type ip, which sticky sessions need.
    let l = listener(
        vec![(
            1,
            vec![path(&["/api/*"])],
            sticky(&[("a", 1), ("b", 3)], Some(3600)),
        )],
        forward("web"),
    );
    let out = compile(&l, &ports, &opts(Profile::Alb));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    let ann = &out.objects[0]["metadata"]["annotations"];
    assert_eq!(ann["alb.ingress.kubernetes.io/target-type"], "ip");
    let action: serde_json::Value = serde_json::from_str(
        ann["alb.ingress.kubernetes.io/actions.rule-1"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        action["forwardConfig"]["targetGroupStickinessConfig"],
        json!({"enabled": true, "durationSeconds": 3600})
    );
    assert_eq!(
        action["forwardConfig"]["targetGroups"],
        json!([
            {"serviceName": "a", "servicePort": "80", "weight": 1},
            {"serviceName": "b", "servicePort": "80", "weight": 3}
        ])
    );
}

#[test]
fn listeners_on_different_ports_attach_to_their_own_gateway_listeners() {
    use super::gateway::gateway_listener;
    use crate::api::ListenerProtocol;
    // HTTP :80 redirects everything to HTTPS; HTTPS :443 forwards /api/* to api, the rest to
    // web.
    let mut http = listener(vec![], redirect_https());
    http.metadata.name = Some("public-http".into());
    http.spec.port = Some(80);
    http.spec.protocol = Some(ListenerProtocol::Http);
    let mut https = listener(
        vec![(1, vec![path(&["/api/*"])], forward("api"))],
        forward("web"),
    );
    https.metadata.name = Some("public-https".into());
    https.spec.port = Some(443);
    https.spec.protocol = Some(ListenerProtocol::Https);

    let options = opts(Profile::Gateway);
    let (on_http, on_https) = (
        gateway_listener(&http, &options),
        gateway_listener(&https, &options),
    );
    assert_eq!(on_http.to_string(), "http-80 (HTTP port 80)");
    assert_eq!(on_https.to_string(), "https-443 (HTTPS port 443)");
    let mut objects = Vec::new();
    for (l, section) in [(&http, "http-80"), (&https, "https-443")] {
        let out = compile(l, &ports, &options);
        assert!(
            out.fates.iter().all(|f| f.fate.is_exact()),
            "{:?}",
            out.fates
        );
        for o in &out.objects {
            assert_eq!(
                o["spec"]["parentRefs"],
                json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "ecsplane", "sectionName": section}])
            );
        }
        assert!(
            out.caveats.findings.iter().any(|f| f.field == "spec.port"
                && f.message.contains(&format!(
                    "listener {section} of Gateway shop/ecsplane (parentRefs sectionName)"
                ))),
            "{:#?}",
            out.caveats
        );
        objects.extend(out.objects);
    }

    // One Gateway with both listeners: each request meets only its own listener's routes.
    let model = GatewayModel::from_objects(&objects);
    let http_model = model.clone().on_listener(&on_http);
    let https_model = model.on_listener(&on_https);
    let redirect = |path: &str| {
        Some(Target {
            authenticate: vec![],
            terminal: alb::Terminal::Redirect {
                location: format!("https://shop.example.com:443{path}?"),
                status_code: "HTTP_301".into(),
            },
        })
    };
    for p in ["/api/x", "/x", "/"] {
        let r = Request::get("shop.example.com", p);
        assert_eq!(http_model.route(&r), redirect(p), "HTTP {p}");
        assert_eq!(
            http_model.route(&r),
            Some(expected(&http, &r).1),
            "HTTP {p}"
        );
    }
    for (p, backend) in [("/x", "web:80"), ("/", "web:80"), ("/api/x", "api:8080")] {
        let r = Request::get("shop.example.com", p);
        let got = https_model.route(&r);
        assert_eq!(
            got.as_ref()
                .and_then(|t| t.forward())
                .map(|g| g[0].target_group.as_str()),
            Some(backend),
            "HTTPS {p}"
        );
        assert_eq!(got, Some(expected(&https, &r).1), "HTTPS {p}");
    }
}

#[test]
fn a_source_ip_value_that_is_no_cidr_block_is_reported_in_every_profile() {
    let l = listener(
        vec![(
            1,
            vec![values(
                ConditionField::SourceIp,
                &["192.0.2.1", "10.0.0.0/8"],
            )],
            forward("a"),
        )],
        forward("web"),
    );
    for profile in PROFILES {
        let out = compile(&l, &ports, &opts(profile));
        let found: Vec<&str> = out
            .caveats
            .findings
            .iter()
            .filter(|f| f.field == "spec.rules[priority=1]")
            .map(|f| f.message.as_ref())
            .collect();
        assert_eq!(
            found,
            [
                "source-ip value \"192.0.2.1\" is not a CIDR block (such as 192.0.2.1/32), which ELB refuses; no request matches it here"
            ],
            "{profile}"
        );
    }
}

// --- Traefik (the `traefik` implementation) ---------------------------------------------

use super::ingress::{TRAEFIK_PRIORITY, TraefikIngressModel};

fn traefik(profile: Profile) -> RoutingOptions {
    RoutingOptions {
        profile,
        implementation: Implementation::Traefik,
        ..Default::default()
    }
}

fn forwarded_to(t: Option<Target>) -> Option<String> {
    match t?.terminal {
        alb::Terminal::Forward(groups) if groups.len() == 1 => Some(groups[0].target_group.clone()),
        _ => None,
    }
}

// Seed 16 case 13 of the data-plane property test: `Exact /api -> a` next to `Prefix / -> web`.
fn exact_api_next_to_root() -> Listener {
    listener(
        vec![(1, vec![path(&["/api"])], forward("a"))],
        forward("web"),
    )
}

#[test]
fn traefik_ranks_a_root_prefix_above_a_shorter_exact_path_of_one_ingress() {
    let l = exact_api_next_to_root();
    let conformant = compile(&l, &ports, &opts(Profile::Ingress));
    assert_eq!(conformant.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    let post = Request {
        method: "POST".into(),
        ..Request::get("shop.example.com", "/api")
    };
    // `PathPrefix("/")` (17 characters) outranks `Path("/api")` (12).
    let on_traefik = TraefikIngressModel::from_objects(&conformant.objects);
    assert_eq!(
        forwarded_to(on_traefik.route(&post)).as_deref(),
        Some("web:80")
    );
    let model = IngressModel::from_objects(&conformant.objects);
    assert_eq!(forwarded_to(model.route(&post)).as_deref(), Some("a:80"));
}

#[test]
fn on_traefik_every_ingress_path_is_its_own_ingress_with_a_router_priority() {
    let l = exact_api_next_to_root();
    let out = compile(&l, &ports, &traefik(Profile::Ingress));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    assert_eq!(out.fate(RuleId::Default), Some(&Fate::Exact));
    assert_eq!(out.objects.len(), 2, "{:#?}", out.objects);
    let priority = |path: &str| {
        out.objects
            .iter()
            .find(|o| o["spec"]["rules"][0]["http"]["paths"][0]["path"] == path)
            .and_then(|o| o["metadata"]["annotations"][TRAEFIK_PRIORITY].as_str())
            .and_then(|p| p.parse::<u32>().ok())
    };
    assert!(priority("/api") > priority("/"), "{:#?}", out.objects);
    for o in &out.objects {
        assert!(o["spec"].get("defaultBackend").is_none(), "{o:#}");
    }
    let model = TraefikIngressModel::from_objects(&out.objects);
    let post = Request {
        method: "POST".into(),
        ..Request::get("shop.example.com", "/api")
    };
    assert_eq!(forwarded_to(model.route(&post)).as_deref(), Some("a:80"));
    assert_eq!(
        forwarded_to(model.route(&Request::get("x.example", "/apix"))).as_deref(),
        Some("web:80")
    );
}

#[test]
fn the_guard_for_a_slash_star_path_loses_to_its_prefix_on_traefik_unless_prioritised() {
    // ALB's `/api/*` does not match `/api`: the compiler guards it with `Exact /api`.
    let l = listener(
        vec![(1, vec![path(&["/api/*"])], forward("api"))],
        forward("web"),
    );
    let conformant = compile(&l, &ports, &opts(Profile::Ingress));
    let r = Request::get("shop.example.com", "/api");
    let on_traefik = TraefikIngressModel::from_objects(&conformant.objects);
    assert_eq!(
        forwarded_to(on_traefik.route(&r)).as_deref(),
        Some("api:8080")
    );
    let out = compile(&l, &ports, &traefik(Profile::Ingress));
    assert_eq!(out.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    let model = TraefikIngressModel::from_objects(&out.objects);
    assert_eq!(forwarded_to(model.route(&r)).as_deref(), Some("web:80"));
}

#[test]
fn on_traefik_a_hostless_header_rule_beats_a_hostnames_rule() {
    // many-rules.yaml: priority 10 `api.example.com -> api`, priority 14 host-less
    // `User-Agent *Mobile* -> web`.
    let l = listener(
        vec![
            (10, vec![host(&["api.example.com"])], forward("api")),
            (
                14,
                vec![header("User-Agent", &["*Mobile*"])],
                forward("web"),
            ),
        ],
        fixed("404"),
    );
    let conformant = compile(&l, &ports, &opts(Profile::Gateway));
    assert_eq!(conformant.fate(RuleId::Priority(10)), Some(&Fate::Exact));
    assert_eq!(conformant.fate(RuleId::Priority(14)), Some(&Fate::Exact));
    let out = compile(&l, &ports, &traefik(Profile::Gateway));
    match out.fate(RuleId::Priority(10)) {
        Some(Fate::NotRepresentable {
            reason,
            counterexample: Some(c),
        }) => {
            assert!(reason.contains("Traefik"), "{reason}");
            assert_eq!(c.request.host, "api.example.com");
            assert!(c.compiled.contains("web"), "{c}");
        }
        other => panic!("priority 10 is {other:?}"),
    }
    assert_eq!(out.fate(RuleId::Priority(14)), Some(&Fate::Exact));
    assert!(out.report.to_string().contains("Traefik"), "{}", out.report);
}

#[test]
fn on_traefik_a_method_beats_a_longer_path() {
    let l = listener(
        vec![
            (1, vec![path(&["/static/assets/*"])], forward("c")),
            (
                2,
                vec![method(&["GET"]), path(&["/static/*"])],
                forward("a"),
            ),
        ],
        fixed("404"),
    );
    let conformant = compile(&l, &ports, &opts(Profile::Gateway));
    assert_eq!(conformant.fate(RuleId::Priority(1)), Some(&Fate::Exact));
    let on_traefik = GatewayModel::from_objects(&conformant.objects).traefik();
    let r = Request::get("a.example.com", "/static/assets/x");
    assert_eq!(forwarded_to(on_traefik.route(&r)).as_deref(), Some("a:80"));
    let out = compile(&l, &ports, &traefik(Profile::Gateway));
    assert!(
        matches!(
            out.fate(RuleId::Priority(1)),
            Some(Fate::NotRepresentable {
                counterexample: Some(_),
                ..
            })
        ),
        "{:?}",
        out.fates
    );
    assert_eq!(out.fate(RuleId::Priority(2)), Some(&Fate::Exact));
}

#[test]
fn the_implementation_is_conformant_unless_chosen() {
    assert_eq!(
        RoutingOptions::default().implementation,
        Implementation::Conformant
    );
    assert_eq!(Implementation::Traefik.to_string(), "traefik");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn on_traefik_ingress_routes_every_exact_rule_like_the_alb(
        l in arb_listener(),
        requests in prop::collection::vec(arb_request(), 40),
    ) {
        let out = compile(&l, &ports, &traefik(Profile::Ingress));
        let model = TraefikIngressModel::from_objects(&out.objects);
        agrees(&l, &out, &requests, &|r| model.route(r))?;
    }

    #[test]
    fn on_traefik_gateway_routes_every_exact_rule_like_the_alb(
        l in arb_listener(),
        requests in prop::collection::vec(arb_request(), 40),
    ) {
        let out = compile(&l, &ports, &traefik(Profile::Gateway));
        let model = GatewayModel::from_objects(&out.objects).traefik();
        agrees(&l, &out, &requests, &|r| model.route(r))?;
    }
}
