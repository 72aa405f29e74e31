//! Ingresses for the AWS Load Balancer Controller (LBC), which builds a real ALB from them.
//!
//! Each listener rule becomes one Ingress in one IngressGroup (`group.name`, named after the
//! namespace and the load balancer: [`group_name`]), ordered by `group.order`; its conditions
//! and actions ride in the `conditions.<name>` and `actions.<name>` annotations of a backend
//! named after the rule with port `use-annotation`, and the Ingress itself has no host and no
//! path, so LBC adds nothing of its own. LBC numbers the rules of a group in that order, so
//! the ALB evaluates the same rules in the same relative order: every condition and action is
//! carried. `listen-ports` carries the protocol and port; an HTTPS listener's certificates
//! (the default one first), SSL policy and mutual TLS ride in `certificate-arn`, `ssl-policy`
//! and `mutual-authentication`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{
    Action, ActionType, ConditionField, Listener, ListenerRule, ListenerSpec, RuleCondition,
};
use crate::translate::names::{LABEL_MANAGED_BY, MANAGED_BY, dns_label};
use crate::translate::report::Report;

use super::alb::{self, Request, Target, Terminal};
use super::plan;
use super::tls;
use super::{BackendResolver, CompiledRoutes, Fate, RoutingOptions, RuleFate, ServiceBackend};

const PREFIX: &str = "alb.ingress.kubernetes.io/";

/// Compiles `listener` into one Ingress per rule plus one for the default actions.
pub fn compile(
    listener: &Listener,
    backends: &dyn BackendResolver,
    options: &RoutingOptions,
) -> CompiledRoutes {
    let (object, mut report, views) = plan::start(listener, backends);
    let base = dns_label(listener.metadata.name.as_deref().unwrap_or("listener"));
    let group = group_name(listener);
    let rules = alb::rules_in_order(listener);
    let use_priority = rules.iter().all(|r| (1..=1000).contains(&r.priority));
    let mut shared: BTreeMap<String, String> = BTreeMap::from([
        (format!("{PREFIX}group.name"), group.clone()),
        (format!("{PREFIX}target-type"), "ip".to_owned()),
    ]);
    let (scheme, port) = alb::listener_endpoint(listener);
    shared.insert(
        format!("{PREFIX}listen-ports"),
        json!([{ scheme.to_ascii_uppercase(): port }]).to_string(),
    );
    if tls::is_https(listener) {
        tls_annotations(listener, port, &mut shared);
    }
    tls::report_without_https(listener, &object, &mut report);
    if listener.metadata.namespace.is_none() {
        report.approximated(
            &object,
            "metadata.namespace",
            format!("the Listener names no namespace, so its IngressGroup is named as in namespace default ({group}); render with -n NAMESPACE, the namespace the Ingresses are applied in, so that the group is that namespace's"),
        );
    }

    let mut fates = Vec::new();
    let mut objects = Vec::new();
    for (k, v) in views.iter().enumerate() {
        let shadow = plan::shadowed_by_one(&views, k);
        let fate = match (&shadow, &v.target.terminal) {
            (Some(by), _) => Fate::Shadowed { by: vec![*by] },
            (None, Terminal::Missing) => Fate::NotRepresentable {
                reason: "the rule has no final action".into(),
                counterexample: None,
            },
            _ => Fate::Exact,
        };
        fates.push(RuleFate {
            rule: v.id,
            fate: fate.clone(),
        });
        if !fate.is_exact() {
            continue;
        }
        let actions = if k < rules.len() {
            &rules[k].actions
        } else {
            &listener.spec.default_actions
        };
        let action_name = match v.id {
            alb::RuleId::Priority(p) => format!("rule-{p}"),
            alb::RuleId::Default => "default-action".to_owned(),
        };
        let mut annotations = shared.clone();
        annotations.insert(
            format!("{PREFIX}actions.{action_name}"),
            action_json(&v.k8s, actions).to_string(),
        );
        auth_annotations(
            actions,
            &base,
            &mut annotations,
            &object,
            &v.field,
            &mut report,
        );
        let backend = json!({"service": {"name": action_name, "port": {"name": "use-annotation"}}});
        let (name, spec) = match v.id {
            alb::RuleId::Priority(p) => {
                let order = if use_priority { p } else { k as i32 + 1 };
                annotations.insert(format!("{PREFIX}group.order"), order.to_string());
                annotations.insert(
                    format!("{PREFIX}conditions.{action_name}"),
                    Value::Array(v.conditions.iter().map(condition_json).collect()).to_string(),
                );
                if let Some(t) = &rules[k].transforms {
                    annotations.insert(format!("{PREFIX}transforms.{action_name}"), t.to_string());
                    report.note(&object, v.field.clone(), "transforms are passed to the transforms annotation unchanged (check that your controller version supports it)");
                }
                (
                    format!("{base}-p{p}"),
                    json!({"rules": [{"http": {"paths": [{"pathType": "ImplementationSpecific", "backend": backend}]}}]}),
                )
            }
            alb::RuleId::Default => (
                format!("{base}-default"),
                json!({"defaultBackend": backend}),
            ),
        };
        let mut spec = spec;
        spec["ingressClassName"] = json!(
            options
                .ingress_class_name
                .clone()
                .unwrap_or_else(|| "alb".to_owned())
        );
        let mut metadata = json!({"name": dns_label(&name), "labels": {LABEL_MANAGED_BY: MANAGED_BY}, "annotations": annotations});
        if let Some(ns) = &listener.metadata.namespace {
            metadata["namespace"] = json!(ns);
        }
        objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}));
    }
    let model = LbcModel::from_objects(&objects);
    plan::check_fates(
        listener,
        &views,
        &mut fates,
        &|r| model.route(r),
        backends,
        plan::COMPILER_LIMITATION,
    );
    if !use_priority {
        report.note(
            &object,
            "spec.rules[*].priority",
            "priorities above 1000 were renumbered 1..n for group.order (same relative order)",
        );
    }
    CompiledRoutes {
        objects,
        fates,
        caveats: report,
        report: Report::default(),
    }
}

/// Longest `group.name` the Load Balancer Controller accepts.
const MAX_GROUP_NAME: usize = 63;

/// Characters of `NAMESPACE.LOAD_BALANCER` kept before the hash when it is too long.
const GROUP_STEM: usize = MAX_GROUP_NAME - 1 - 16;

/// The IngressGroup (`group.name`) of `listener`'s Ingresses: `NAMESPACE.LOAD_BALANCER`, so
/// Listeners of one load balancer in one namespace share one ALB and Listeners of different
/// namespaces never do.
///
/// `LOAD_BALANCER` is the load balancer's name (`loadbalancer/app/NAME/ID` of
/// `spec.loadBalancerArn`), else the Listener's name; `NAMESPACE` is the Listener's namespace
/// (`default` when it names none); both as DNS labels, which never contain `.`, so the first
/// `.` always follows the whole namespace. A name longer than the controller's 63 characters
/// keeps its first 46 and ends in `-` and 16 hex digits of the SHA-256 of the whole name: it
/// still begins with the whole namespace and its `.` when the namespace is shorter than 45
/// characters, and otherwise contains no `.`, which a name spelt out always does. Two
/// namespaces can share a group name only through a SHA-256 collision.
pub fn group_name(listener: &Listener) -> String {
    let from_arn = listener
        .spec
        .load_balancer_arn
        .as_deref()
        .and_then(|a| a.split_once(":loadbalancer/"))
        .and_then(|(_, rest)| rest.split('/').nth(1));
    let load_balancer = dns_label(
        from_arn
            .or(listener.metadata.name.as_deref())
            .unwrap_or("ecsplane"),
    );
    let namespace = dns_label(listener.metadata.namespace.as_deref().unwrap_or("default"));
    let full = format!("{namespace}.{load_balancer}");
    if full.len() <= MAX_GROUP_NAME {
        return full;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, full.as_bytes());
    let mut out = full[..GROUP_STEM].trim_end_matches(['-', '.']).to_owned();
    out.push('-');
    for b in &digest.as_ref()[..8] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

// The certificate, SSL policy and mutual TLS annotations of an HTTPS listener on `port`.
fn tls_annotations(listener: &Listener, port: i32, annotations: &mut BTreeMap<String, String>) {
    let certs = tls::certificates(listener);
    if !certs.is_empty() {
        // The controller makes the first one the listener's default certificate.
        let arns: Vec<&str> = certs.iter().map(|c| c.arn).collect();
        annotations.insert(format!("{PREFIX}certificate-arn"), arns.join(","));
    }
    if let Some(p) = &listener.spec.ssl_policy {
        annotations.insert(format!("{PREFIX}ssl-policy"), p.clone());
    }
    if let Some(m) = tls::MutualTls::of(listener) {
        let mut entry = json!({"port": port, "mode": m.mode});
        // The controller refuses the other keys for the modes off and passthrough.
        if m.mode == "verify" {
            if let Some(t) = &m.trust_store_arn {
                entry["trustStore"] = json!(t);
            }
            if let Some(i) = m.ignore_client_certificate_expiry {
                entry["ignoreClientCertificateExpiry"] = json!(i);
            }
            if let Some(a) = &m.advertise_trust_store_ca_names {
                entry["advertiseTrustStoreCaNames"] = json!(a);
            }
        }
        annotations.insert(
            format!("{PREFIX}mutual-authentication"),
            json!([entry]).to_string(),
        );
    }
}

fn condition_json(c: &RuleCondition) -> Value {
    let vals = |v: (Vec<String>, Vec<String>)| {
        let mut o = json!({"values": v.0});
        if !v.1.is_empty() {
            o["regexValues"] = json!(v.1);
        }
        o
    };
    match c.field {
        ConditionField::HostHeader => {
            json!({"field": "host-header", "hostHeaderConfig": vals(alb::host_values(c))})
        }
        ConditionField::PathPattern => {
            json!({"field": "path-pattern", "pathPatternConfig": vals(alb::path_values(c))})
        }
        ConditionField::HttpHeader => {
            json!({"field": "http-header", "httpHeaderConfig": c.http_header_config})
        }
        ConditionField::HttpRequestMethod => {
            json!({"field": "http-request-method", "httpRequestMethodConfig": {"values": c.http_request_method_config.as_ref().map(|c| c.values.clone()).unwrap_or_default()}})
        }
        ConditionField::QueryString => {
            json!({"field": "query-string", "queryStringConfig": c.query_string_config})
        }
        ConditionField::SourceIp => {
            json!({"field": "source-ip", "sourceIPConfig": {"values": c.source_ip_config.as_ref().map(|c| c.values.clone()).unwrap_or_default()}})
        }
    }
}

// The action annotation of a rule whose outcome over Kubernetes backends is `target`.
fn action_json(target: &Target, actions: &[Action]) -> Value {
    match &target.terminal {
        Terminal::Forward(groups) => {
            let tgs: Vec<Value> = groups
                .iter()
                .map(|g| {
                    let b = ServiceBackend::from_key(&g.target_group);
                    json!({"serviceName": b.name, "servicePort": b.port.to_string(), "weight": g.weight})
                })
                .collect();
            let mut fc = json!({"targetGroups": tgs});
            let sticky = actions
                .iter()
                .filter_map(|a| a.forward_config.as_ref())
                .find_map(|f| f.target_group_stickiness_config.clone());
            if let Some(s) = sticky {
                fc["targetGroupStickinessConfig"] = serde_json::to_value(s).unwrap_or_default();
            }
            json!({"type": "forward", "forwardConfig": fc})
        }
        Terminal::Redirect { .. } => {
            let a = actions.iter().find(|a| a.type_ == ActionType::Redirect);
            json!({"type": "redirect", "redirectConfig": a.and_then(|a| a.redirect_config.clone())})
        }
        Terminal::FixedResponse { .. } => {
            let a = actions
                .iter()
                .find(|a| a.type_ == ActionType::FixedResponse);
            json!({"type": "fixed-response", "fixedResponseConfig": a.and_then(|a| a.fixed_response_config.clone())})
        }
        Terminal::Missing => Value::Null,
    }
}

fn auth_annotations(
    actions: &[Action],
    base: &str,
    annotations: &mut BTreeMap<String, String>,
    object: &crate::translate::report::ObjectRef,
    field: &str,
    report: &mut Report,
) {
    for a in actions {
        let cfg = |v: &Option<Value>, k: &str| {
            v.as_ref()
                .and_then(|c| c.get(k).or_else(|| c.get(capitalize(k))))
                .cloned()
                .unwrap_or(Value::Null)
        };
        match a.type_ {
            ActionType::AuthenticateOidc => {
                let c = &a.authenticate_oidc_config;
                let secret = dns_label(&format!("{base}-oidc"));
                annotations.insert(format!("{PREFIX}auth-type"), "oidc".into());
                annotations.insert(
                    format!("{PREFIX}auth-idp-oidc"),
                    json!({
                        "issuer": cfg(c, "issuer"),
                        "authorizationEndpoint": cfg(c, "authorizationEndpoint"),
                        "tokenEndpoint": cfg(c, "tokenEndpoint"),
                        "userInfoEndpoint": cfg(c, "userInfoEndpoint"),
                        "secretName": secret,
                    })
                    .to_string(),
                );
                report.approximated(object, field.to_owned(), format!("authenticate-oidc: LBC reads the client ID and secret from Secret {secret} (keys clientID, clientSecret), which must be created"));
            }
            ActionType::AuthenticateCognito => {
                let c = &a.authenticate_cognito_config;
                annotations.insert(format!("{PREFIX}auth-type"), "cognito".into());
                annotations.insert(
                    format!("{PREFIX}auth-idp-cognito"),
                    json!({
                        "userPoolARN": cfg(c, "userPoolArn"),
                        "userPoolClientID": cfg(c, "userPoolClientId"),
                        "userPoolDomain": cfg(c, "userPoolDomain"),
                    })
                    .to_string(),
                );
            }
            _ => {}
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A model of how LBC turns an IngressGroup into ALB rules (order by `group.order`, then
/// `namespace/name`; within an Ingress, Exact paths, then Prefix paths longest first, then the
/// rest in order), evaluated with the ALB model.
#[derive(Clone, Debug, Default)]
pub struct LbcModel {
    listener: Listener,
    has_default: bool,
}

impl LbcModel {
    /// Reads the Ingresses of one group.
    pub fn from_objects(objects: &[Value]) -> Self {
        let mut ings: Vec<(i64, String, &Value)> = objects
            .iter()
            .filter(|o| o["kind"] == "Ingress")
            .map(|o| {
                let order = o["metadata"]["annotations"][format!("{PREFIX}group.order")]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let name = format!(
                    "{}/{}",
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                );
                (order, name, o)
            })
            .collect();
        ings.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut rules = Vec::new();
        let mut default_actions = Vec::new();
        let mut has_default = false;
        for (_, _, ing) in ings {
            let ann = &ing["metadata"]["annotations"];
            let actions_for = |backend: &Value| -> Vec<Action> {
                let svc = backend["service"]["name"].as_str().unwrap_or("");
                let mut out = Vec::new();
                match ann[format!("{PREFIX}auth-type")].as_str() {
                    Some("oidc") => out.push(Action {
                        type_: ActionType::AuthenticateOidc,
                        ..Default::default()
                    }),
                    Some("cognito") => out.push(Action {
                        type_: ActionType::AuthenticateCognito,
                        ..Default::default()
                    }),
                    _ => {}
                }
                if backend["service"]["port"]["name"] == "use-annotation" {
                    let raw = ann[format!("{PREFIX}actions.{svc}")]
                        .as_str()
                        .unwrap_or("null");
                    out.push(parse_action(raw));
                } else {
                    let port = backend["service"]["port"]["number"].as_i64().unwrap_or(0);
                    out.push(Action {
                        type_: ActionType::Forward,
                        target_group_arn: Some(format!("{svc}:{port}")),
                        ..Default::default()
                    });
                }
                out
            };
            if let Some(b) = ing["spec"].get("defaultBackend") {
                default_actions = actions_for(b);
                has_default = true;
            }
            for rule in ing["spec"]["rules"].as_array().into_iter().flatten() {
                let mut paths: Vec<&Value> = rule["http"]["paths"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect();
                paths.sort_by_key(|p| match p["pathType"].as_str() {
                    Some("Exact") => (0, 0),
                    Some("Prefix") => (1, usize::MAX - p["path"].as_str().unwrap_or("").len()),
                    _ => (2, 0),
                });
                for p in paths {
                    let svc = p["backend"]["service"]["name"].as_str().unwrap_or("");
                    let mut hosts: Vec<String> = rule["host"]
                        .as_str()
                        .map(str::to_owned)
                        .into_iter()
                        .collect();
                    let mut pats: Vec<String> = Vec::new();
                    if let Some(path) = p["path"].as_str().filter(|s| !s.is_empty()) {
                        pats.extend(match p["pathType"].as_str() {
                            Some("Prefix") if path == "/" => vec!["/*".to_owned()],
                            Some("Prefix") => {
                                let t = path.trim_end_matches('/');
                                vec![t.to_owned(), format!("{t}/*")]
                            }
                            _ => vec![path.to_owned()],
                        });
                    }
                    let mut conds: Vec<RuleCondition> = Vec::new();
                    let raw = ann[format!("{PREFIX}conditions.{svc}")]
                        .as_str()
                        .unwrap_or("[]");
                    let parsed: Vec<Value> = serde_json::from_str(raw).unwrap_or_default();
                    for mut c in parsed {
                        if let Some(v) = c.as_object_mut().and_then(|o| o.remove("sourceIPConfig"))
                        {
                            c["sourceIpConfig"] = v;
                        }
                        let Ok(c) = serde_json::from_value::<RuleCondition>(c) else {
                            continue;
                        };
                        match c.field {
                            ConditionField::HostHeader => hosts.extend(alb::host_values(&c).0),
                            ConditionField::PathPattern => pats.extend(alb::path_values(&c).0),
                            _ => conds.push(c),
                        }
                    }
                    let values = |field: ConditionField, v: Vec<String>| {
                        let cfg = Some(crate::api::ValuesConfig {
                            values: v,
                            regex_values: None,
                        });
                        let mut c = RuleCondition {
                            field,
                            ..Default::default()
                        };
                        if field == ConditionField::HostHeader {
                            c.host_header_config = cfg
                        } else {
                            c.path_pattern_config = cfg
                        }
                        c
                    };
                    if !hosts.is_empty() {
                        conds.push(values(ConditionField::HostHeader, hosts));
                    }
                    if !pats.is_empty() {
                        conds.push(values(ConditionField::PathPattern, pats));
                    }
                    if conds.is_empty() {
                        conds.push(values(ConditionField::PathPattern, vec!["/*".to_owned()]));
                    }
                    rules.push(ListenerRule {
                        priority: rules.len() as i32 + 1,
                        conditions: conds,
                        actions: actions_for(&p["backend"]),
                        ..Default::default()
                    });
                }
            }
        }
        Self {
            listener: Listener::new(
                "lbc",
                ListenerSpec {
                    default_actions,
                    rules: Some(rules),
                    ..Default::default()
                },
            ),
            has_default,
        }
    }

    /// Where the rebuilt ALB sends the request (forwards over `service:port` keys); `None` when
    /// no rule matches and the group has no default backend.
    pub fn route(&self, r: &Request) -> Option<Target> {
        let routed = alb::route(&self.listener, r);
        if routed.rule == alb::RuleId::Default && !self.has_default {
            return None;
        }
        Some(routed.target)
    }
}

fn parse_action(raw: &str) -> Action {
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    match v["type"].as_str() {
        Some("forward") => {
            let tgs = v["forwardConfig"]["targetGroups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Action {
                type_: ActionType::Forward,
                forward_config: Some(crate::api::ForwardConfig {
                    target_groups: tgs
                        .iter()
                        .map(|t| crate::api::TargetGroupTuple {
                            target_group_arn: format!(
                                "{}:{}",
                                t["serviceName"].as_str().unwrap_or(""),
                                t["servicePort"].as_str().unwrap_or("")
                            ),
                            weight: t["weight"].as_i64().map(|w| w as i32),
                        })
                        .collect(),
                    target_group_stickiness_config: None,
                }),
                ..Default::default()
            }
        }
        Some(_) => serde_json::from_value(v).unwrap_or_default(),
        None => Action {
            type_: ActionType::Forward,
            ..Default::default()
        },
    }
}
