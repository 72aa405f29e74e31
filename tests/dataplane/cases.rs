//! The examples' listener, rendered by `ecsplane render` and run on kwok pods whose addresses
//! the real EndpointSlice controller publishes, and the listener cases of the routing unit
//! tests (src/translate/routing/tests.rs) that a proxy can answer: every request whose rule is
//! reported exact must reach what the ALB model picks.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ecsplane::api::Listener;
use ecsplane::translate::Object;
use ecsplane::translate::listener::translate_listener;
use ecsplane::translate::names::{target_group_of_arn, target_group_service_name};
use ecsplane::translate::routing::alb::Request;
use ecsplane::translate::routing::{self, Profile};
use ecsplane::translate::{Options, translate_with};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

use crate::world::{self, Tally, World};

/// Every request of the pool for hosts × paths, plus header, query and method variants.
pub fn request_pool(hosts: &[&str], paths: &[&str]) -> Vec<Request> {
    let mut out = Vec::new();
    for h in hosts {
        for p in paths {
            out.push(world::local(Request::get(h, p)));
        }
        out.push(world::local(
            Request::get(h, "/api/x").with_header("X-Canary", "on"),
        ));
        out.push(world::local(
            Request::get(h, "/api/v2/x").with_header("x-canary", "ON"),
        ));
        out.push(world::local(Request::get(h, "/old/x").with_query("x", "1")));
        out.push(world::local(Request::get(h, "/").with_query("debug", "1")));
        out.push(world::local(Request::get(h, "/api/x").with_method("POST")));
    }
    out
}

const HOSTS: &[&str] = &[
    "shop.example.com",
    "admin.example.com",
    "api.example.com",
    "legacy.example.com",
    "a.b.example.com",
    "unlisted.example",
];

const PATHS: &[&str] = &[
    "/",
    "/api",
    "/api/",
    "/api/x",
    "/api/v2/x",
    "/apix",
    "/static",
    "/static/a.css",
    "/favicon.ico",
    "/img/x.png",
    "/img/x.jpg",
    "/old/x",
    "/old-shop",
    "/shop",
    "/health",
    "/x",
];

/// The routing unit tests' port resolver: `api` on 8080, every other group on 80.
fn ports(tg: &str) -> Option<i32> {
    Some(if tg == "api" { 8080 } else { 80 })
}

/// The listeners of the routing unit tests, as Listener manifests (name, YAML).
fn unit_test_listeners() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "realistic",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  port: 80
  protocol: HTTP
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 5
      conditions:
        - {field: http-header, httpHeaderConfig: {httpHeaderName: X-Canary, values: ["on"]}}
        - {field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}
      actions: [{type: forward, targetGroupArn: api-canary}]
    - priority: 10
      conditions: [{field: host-header, hostHeaderConfig: {values: [admin.example.com]}}]
      actions: [{type: forward, targetGroupArn: admin}]
    - priority: 20
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}]
      actions: [{type: forward, targetGroupArn: api}]
    - priority: 30
      conditions:
        - {field: host-header, hostHeaderConfig: {values: [shop.example.com]}}
        - {field: path-pattern, pathPatternConfig: {values: ["/api/v2/*"]}}
      actions: [{type: forward, targetGroupArn: api-v2}]
    - priority: 40
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/static/*", /favicon.ico]}}]
      actions: [{type: forward, targetGroupArn: static}]
    - priority: 50
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/img/*.png"]}}]
      actions: [{type: forward, targetGroupArn: images}]
    - priority: 60
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/old/*"]}}]
      actions: [{type: redirect, redirectConfig: {protocol: HTTPS, port: "443", statusCode: HTTP_301}}]
"#,
        ),
        (
            "host-less-rule-copied-into-hosts",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}]
      actions: [{type: forward, targetGroupArn: api}]
    - priority: 2
      conditions:
        - {field: host-header, hostHeaderConfig: {values: [shop.example.com]}}
        - {field: path-pattern, pathPatternConfig: {values: ["/api/v2/*"]}}
      actions: [{type: forward, targetGroupArn: v2}]
    - priority: 3
      conditions: [{field: host-header, hostHeaderConfig: {values: [shop.example.com]}}]
      actions: [{type: forward, targetGroupArn: shop}]
"#,
        ),
        (
            "slash-star-is-not-the-bare-prefix",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}]
      actions: [{type: forward, targetGroupArn: api}]
"#,
        ),
        (
            "wildcard-host-spans-labels",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: host-header, hostHeaderConfig: {values: ["*.example.com"]}}]
      actions: [{type: forward, targetGroupArn: api}]
"#,
        ),
        (
            "default-fixed-response",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: fixed-response, fixedResponseConfig: {statusCode: "404", contentType: text/plain}}]
  rules:
    - priority: 1
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}]
      actions: [{type: forward, targetGroupArn: api}]
"#,
        ),
        (
            "covered-rule-is-shadowed",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}]
      actions: [{type: forward, targetGroupArn: api}]
    - priority: 2
      conditions:
        - {field: path-pattern, pathPatternConfig: {values: ["/api/*.json"]}}
        - {field: http-header, httpHeaderConfig: {httpHeaderName: Accept, values: [json]}}
      actions: [{type: forward, targetGroupArn: json}]
"#,
        ),
        (
            "redirects",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  port: 80
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: path-pattern, pathPatternConfig: {values: [/old-shop]}}]
      actions: [{type: redirect, redirectConfig: {path: /shop, statusCode: HTTP_301}}]
    - priority: 2
      conditions: [{field: host-header, hostHeaderConfig: {values: [legacy.example.com]}}]
      actions: [{type: redirect, redirectConfig: {protocol: HTTPS, host: WWW.example.com, port: "8443", statusCode: HTTP_302}}]
    - priority: 3
      conditions: [{field: path-pattern, pathPatternConfig: {values: [/x]}}]
      actions: [{type: redirect, redirectConfig: {protocol: HTTPS, statusCode: HTTP_301}}]
"#,
        ),
        (
            "value-only-query-and-source-ip",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: query-string, queryStringConfig: {values: [{value: debug}]}}]
      actions: [{type: forward, targetGroupArn: api}]
    - priority: 2
      conditions: [{field: source-ip, sourceIpConfig: {values: [10.0.0.0/8]}}]
      actions: [{type: forward, targetGroupArn: a}]
    - priority: 3
      conditions: [{field: query-string, queryStringConfig: {values: [{key: v, value: "1"}]}}]
      actions: [{type: forward, targetGroupArn: query}]
    - priority: 4
      conditions: [{field: http-request-method, httpRequestMethodConfig: {values: [POST]}}]
      actions: [{type: forward, targetGroupArn: post}]
"#,
        ),
        (
            "weighted-forward",
            r#"
apiVersion: ecsplane.io/v1alpha1
kind: Listener
metadata: {name: web}
spec:
  defaultActions: [{type: forward, targetGroupArn: web}]
  rules:
    - priority: 1
      conditions: [{field: path-pattern, pathPatternConfig: {values: ["/api/*"]}}]
      actions:
        - type: forward
          forwardConfig:
            targetGroups: [{targetGroupArn: a, weight: 1}, {targetGroupArn: b, weight: 3}]
"#,
        ),
    ]
}

/// The target groups a listener forwards to, with the Service ports of `ports`.
pub fn target_groups(
    listener: &Listener,
    ports: &dyn Fn(&str) -> Option<i32>,
) -> Vec<(String, i32)> {
    let mut names = BTreeSet::new();
    let actions = listener.spec.default_actions.iter().chain(
        listener
            .spec
            .rules
            .iter()
            .flatten()
            .flat_map(|r| r.actions.iter()),
    );
    for a in actions {
        if let Some(tg) = &a.target_group_arn {
            names.insert(target_group_of_arn(tg).to_owned());
        }
        for t in a.forward_config.iter().flat_map(|f| f.target_groups.iter()) {
            names.insert(target_group_of_arn(&t.target_group_arn).to_owned());
        }
    }
    names
        .into_iter()
        .map(|n| {
            let p = ports(&n).unwrap_or(routing::FALLBACK_PORT);
            (n, p)
        })
        .collect()
}

/// The unit tests' listeners in `profile`: every exact rule answered as the ALB would.
pub async fn unit_test_listeners_route_like_the_alb(
    world: &World,
    profile: Profile,
    repeat: usize,
) -> Tally {
    let ns = format!("dp-listeners-{profile}");
    world.namespace(&ns).await;
    let mut tally = Tally::default();
    for (name, yaml) in unit_test_listeners() {
        let mut listener: Listener =
            serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
        listener.metadata.namespace = Some(ns.clone());
        let compiled = routing::compile(&listener, &ports, &world.routing_options(profile));
        world
            .stand_in_services(&ns, &target_groups(&listener, &ports))
            .await;
        if let Err(e) = world
            .apply_routes(&ns, profile, name, &compiled.objects)
            .await
        {
            panic!("{name}: {e}");
        }
        let requests = request_pool(HOSTS, PATHS);
        let mut t =
            world::check_requests(world, profile, &listener, &compiled, &requests, repeat).await;
        for f in &mut t.failures {
            *f = format!("{name}: {f}");
        }
        world.remove_routes(&ns, profile, name).await;
        tally.add(t);
    }
    tally
}

/// The render test's listener with every condition kind (tests/render/many-rules.yaml), its
/// target groups' ports from their TargetGroups.
pub async fn the_many_rules_listener_routes_like_the_alb(
    world: &World,
    profile: Profile,
    repeat: usize,
) -> Tally {
    let ns = format!("dp-many-rules-{profile}");
    world.namespace(&ns).await;
    let file = [PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/render/many-rules.yaml")];
    let (bundle, errors) = ecsplane::load::load(&file);
    assert!(errors.is_empty(), "many-rules.yaml loads: {errors}");
    let ports = |tg: &str| {
        bundle
            .target_groups
            .iter()
            .find(|t| t.object.target_group_name() == tg)
            .and_then(|t| t.object.spec.port)
    };
    let mut listener = bundle.listeners[0].object.clone();
    listener.metadata.namespace = Some(ns.clone());
    let compiled = routing::compile(&listener, &ports, &world.routing_options(profile));
    world
        .stand_in_services(&ns, &target_groups(&listener, &ports))
        .await;
    if let Err(e) = world
        .apply_routes(&ns, profile, "many-rules", &compiled.objects)
        .await
    {
        panic!("many-rules: {e}");
    }
    let mut requests = request_pool(HOSTS, PATHS);
    for h in ["shop.example.com", "api.example.com", "x.example.com"] {
        for r in [
            Request::get(h, "/api/x").with_header("X-Canary", "true"),
            Request::get(h, "/api/orders/1").with_method("POST"),
            Request::get(h, "/api/orders/1").with_method("PUT"),
            Request::get(h, "/api/orders/1"),
            Request::get(h, "/api/x").with_query("version", "2"),
            Request::get(h, "/api/v1/x"),
            Request::get(h, "/admin/x"),
            Request::get(h, "/x").with_header("User-Agent", "Mozilla Mobile"),
            Request::get(h, "/static/a.css"),
        ] {
            requests.push(world::local(r));
        }
    }
    let mut tally =
        world::check_requests(world, profile, &listener, &compiled, &requests, repeat).await;
    world.remove_routes(&ns, profile, "many-rules").await;
    for f in &mut tally.failures {
        *f = format!("many-rules: {f}");
    }
    tally
}

/// `ecsplane render` of examples/ applied as is: Deployments become kwok pods, the
/// EndpointSlice controller publishes their addresses, a stand-in backend answers on each pod
/// address and port with its target group's name, and requests through the proxy for the
/// examples' listener reach what the ALB picks.
pub async fn the_examples_route_like_the_alb(world: &World, profile: Profile) -> Tally {
    let ns = format!("dp-examples-{profile}");
    world.namespace(&ns).await;
    let examples = [PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")];
    let (bundle, errors) = ecsplane::load::load(&examples);
    assert!(errors.is_empty(), "examples/ load: {errors}");
    let options = Options {
        routing: world.routing_options(profile),
        ..Options::default()
    };
    let t = translate_with(&bundle, &options).unwrap_or_else(|e| panic!("render: {e}"));
    let services: Vec<&Service> = t
        .objects
        .iter()
        .filter_map(|o| match o {
            Object::Service(s) => Some(&**s),
            _ => None,
        })
        .collect();
    let mut workloads = Vec::new();
    let mut routes = Vec::new();
    for o in &t.objects {
        let doc = serde_json::to_value(o).expect("objects serialize");
        match o {
            Object::Ingress(_) | Object::HttpRoute(_) => routes.push(doc),
            _ => workloads.push(doc),
        }
    }
    for doc in &workloads {
        world.apply(&ns, doc).await;
    }
    let listener = &bundle
        .listeners
        .first()
        .expect("examples/ has a listener")
        .object;
    // Where the examples' pods are: one stand-in backend per published endpoint, each
    // answering with its target group's name.
    let mut storefront = Vec::new();
    for (tg, _) in target_groups(listener, &|_| None) {
        let want: usize = bundle
            .services
            .iter()
            .filter(|s| {
                s.object.spec.load_balancers.iter().flatten().any(|lb| {
                    lb.target_group_arn.as_deref().map(target_group_of_arn) == Some(tg.as_str())
                })
            })
            .map(|s| s.object.spec.desired_count.unwrap_or(1).max(0) as usize)
            .sum();
        let addrs = ready_endpoints(world, &ns, &target_group_service_name(&tg), want).await;
        for addr in &addrs {
            world.backends.serve(*addr, &tg).await;
        }
        if tg == "storefront-tg" {
            storefront = addrs;
        }
    }
    let mut listener = listener.clone();
    listener.metadata.namespace = Some(ns.clone());
    let service_refs: Vec<&Service> = services.to_vec();
    let fates = translate_listener(&listener, &service_refs, &options.routing);
    let compiled = routing::CompiledRoutes {
        objects: Vec::new(),
        fates: fates.fates,
        report: fates.report,
        caveats: Default::default(),
    };
    if let Err(e) = world.apply_routes(&ns, profile, "examples", &routes).await {
        panic!("examples: {e}");
    }
    let requests = request_pool(HOSTS, PATHS);
    let mut tally = world::check_requests(world, profile, &listener, &compiled, &requests, 1).await;
    // Per-pod load balancing is real: the storefront's requests reach each of its pods.
    let proxy = world.proxy(profile);
    let mut seen = BTreeSet::new();
    for _ in 0..10 * storefront.len() {
        tally.sent += 1;
        if let Ok(a) =
            world::send(proxy, &world::local(Request::get("shop.example.com", "/"))).await
            && let Some(addr) = a.backend()
        {
            seen.insert(addr.to_owned());
        }
    }
    let want: BTreeSet<String> = storefront.iter().map(|a| a.to_string()).collect();
    if seen != want {
        tally.failures.push(format!(
            "{} ({profile}): 10 requests per storefront pod reached {seen:?}, its pods are {want:?}",
            world.data_plane
        ));
    }
    world.remove_routes(&ns, profile, "examples").await;
    for f in &mut tally.failures {
        *f = format!("examples: {f}");
    }
    tally
}

/// The ready addresses and ports the EndpointSlice controller published for `service`.
async fn ready_endpoints(world: &World, ns: &str, service: &str, want: usize) -> Vec<SocketAddr> {
    let slices: Api<EndpointSlice> = Api::namespaced(world.client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let list = slices
            .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={service}")))
            .await
            .expect("list EndpointSlices");
        let mut out = Vec::new();
        for s in &list.items {
            let ports: Vec<u16> = s
                .ports
                .iter()
                .flatten()
                .filter_map(|p| p.port.and_then(|p| u16::try_from(p).ok()))
                .collect();
            for e in s.endpoints.iter().flatten() {
                let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false);
                if !ready {
                    continue;
                }
                for a in &e.addresses {
                    for p in &ports {
                        if let Ok(ip) = a.parse() {
                            out.push(SocketAddr::new(ip, *p));
                        }
                    }
                }
            }
        }
        if out.len() >= want {
            out.sort();
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {want} ready endpoints for Service {ns}/{service} after 120 s",
            out.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
