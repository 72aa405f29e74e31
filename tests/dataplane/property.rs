//! Random ALB rule sets (priorities; host, path, header, query, method and source-ip
//! conditions; plain and weighted forwards, redirects, fixed responses) compiled by
//! `routing::compile`, applied, and random requests sent through the proxy: for every request
//! whose rule is reported exact, the answer is what the ALB model picks.

use ecsplane::api::{
    Action, ActionType, ConditionField, FixedResponseConfig, ForwardConfig, HttpHeaderConfig,
    Listener, ListenerRule, ListenerSpec, QueryStringConfig, QueryStringKeyValue, RedirectConfig,
    RuleCondition, TargetGroupTuple, ValuesConfig,
};
use ecsplane::translate::routing::alb::Request;
use ecsplane::translate::routing::{self, Profile};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::cases::target_groups;
use crate::world::{self, Tally, World};

fn values(field: ConditionField, vals: &[&str]) -> RuleCondition {
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
        _ => c.source_ip_config = cfg,
    }
    c
}

fn header(name: &str, vals: &[&str]) -> RuleCondition {
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

fn query(key: Option<&str>, value: &str) -> RuleCondition {
    RuleCondition {
        field: ConditionField::QueryString,
        query_string_config: Some(QueryStringConfig {
            values: vec![QueryStringKeyValue {
                key: key.map(str::to_owned),
                value: value.to_owned(),
            }],
        }),
        ..Default::default()
    }
}

fn forward(tg: &str) -> Action {
    Action {
        type_: ActionType::Forward,
        target_group_arn: Some(tg.into()),
        ..Default::default()
    }
}

fn weighted(groups: &[(&str, i32)]) -> Action {
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

fn fixed(code: &str) -> Action {
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

fn redirect(cfg: RedirectConfig) -> Action {
    Action {
        type_: ActionType::Redirect,
        redirect_config: Some(cfg),
        ..Default::default()
    }
}

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

fn arb_conditions() -> impl Strategy<Value = Vec<RuleCondition>> {
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
            0.15,
            prop::sample::select(vec![(Some("v"), "1"), (None, "x*"), (Some("q"), "xyz")]),
        ),
        prop::option::weighted(0.05, Just("10.0.0.0/8")),
    )
        .prop_map(|(h, p, hd, m, q, ip)| {
            let mut c = Vec::new();
            if let Some(h) = h {
                c.push(values(ConditionField::HostHeader, &h));
            }
            if let Some(p) = p {
                c.push(values(ConditionField::PathPattern, &p));
            }
            if let Some(v) = hd {
                c.push(header("X-Env", &v));
            }
            if let Some(m) = m {
                c.push(values(ConditionField::HttpRequestMethod, &m));
            }
            if let Some((k, v)) = q {
                c.push(query(k, v));
            }
            if let Some(ip) = ip {
                c.push(values(ConditionField::SourceIp, &[ip]));
            }
            if c.is_empty() {
                c.push(values(ConditionField::PathPattern, &["/*"]));
            }
            c
        })
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => prop::sample::select(TGS.to_vec()).prop_map(forward),
        3 => prop::sample::select(vec![vec![("a", 1), ("b", 3)], vec![("b", 1), ("c", 1)], vec![("a", 2), ("c", 0)]])
            .prop_map(|g| weighted(&g)),
        1 => Just(fixed("503")),
        1 => Just(redirect(RedirectConfig {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            ..Default::default()
        })),
        1 => Just(redirect(RedirectConfig {
            path: Some("/moved".into()),
            ..Default::default()
        })),
    ]
}

fn arb_listener() -> impl Strategy<Value = Listener> {
    (
        prop::collection::vec((arb_conditions(), arb_action()), 0..7),
        prop::sample::subsequence((1..40).collect::<Vec<i32>>(), 7),
        prop_oneof![6 => Just(forward("web")), 1 => Just(fixed("404"))],
    )
        .prop_map(|(rules, priorities, default)| {
            Listener::new(
                "web",
                ListenerSpec {
                    port: Some(80),
                    default_actions: vec![default],
                    rules: Some(
                        rules
                            .into_iter()
                            .zip(priorities)
                            .map(|((conditions, action), priority)| ListenerRule {
                                priority,
                                conditions,
                                actions: vec![action],
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                },
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
        prop::sample::select(vec!["GET", "POST", "HEAD"]),
        prop::option::of(prop::sample::select(vec![
            "canary", "CANARY", "betaX", "on", "1",
        ])),
        prop::option::of(prop::sample::select(vec![
            ("v", "1"),
            ("V", "1"),
            ("q", "xyz"),
            ("k", "xa"),
        ])),
    )
        .prop_map(|(h, p, m, hd, q)| {
            let mut r = Request::get(h, p).with_method(m);
            if let Some(v) = hd {
                r = r.with_header("x-env", v);
            }
            if let Some((k, v)) = q {
                r = r.with_query(k, v);
            }
            world::local(r)
        })
}

fn resolver(_: &str) -> Option<i32> {
    Some(80)
}

/// `cases` random listeners with `requests` random requests each, through the proxy for
/// `profile`; weighted forwards are checked over `repeat` requests. The seed comes from
/// `seed` so that a failure can be replayed.
pub async fn random_listeners_route_like_the_alb(
    world: &World,
    profile: Profile,
    seed: u64,
    cases: usize,
    requests: usize,
    repeat: usize,
) -> Tally {
    let ns = format!("dp-property-{profile}");
    world.namespace(&ns).await;
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = (
        arb_listener(),
        prop::collection::vec(arb_request(), requests),
    );
    let mut tally = Tally::default();
    for case in 0..cases {
        let (mut listener, requests) = strategy
            .new_tree(&mut runner)
            .expect("generate a listener")
            .current();
        listener.metadata.namespace = Some(ns.clone());
        let compiled = routing::compile(&listener, &resolver, &world.routing_options(profile));
        let name = format!("case-{case}");
        world
            .stand_in_services(&ns, &target_groups(&listener, &resolver))
            .await;
        let mut t = match world
            .apply_routes(&ns, profile, &name, &compiled.objects)
            .await
        {
            Ok(()) => {
                world::check_requests(world, profile, &listener, &compiled, &requests, repeat).await
            }
            Err(e) => Tally {
                failures: vec![e],
                ..Tally::default()
            },
        };
        if !t.failures.is_empty() {
            let spec = serde_json::to_string(&listener.spec).unwrap_or_default();
            let objects = serde_json::to_string(&compiled.objects).unwrap_or_default();
            for f in &mut t.failures {
                *f = format!("seed {seed} {name}: {f}\n  listener: {spec}\n  routes: {objects}");
            }
        }
        world.remove_routes(&ns, profile, &name).await;
        tally.add(t);
    }
    tally
}
