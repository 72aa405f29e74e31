//! One Terraform resource → our manifests: its evaluated body reshaped into the request shape
//! of the AWS API (blocks into the API's objects and lists, tags into key/value lists,
//! Terraform's argument names into the API's), then renamed by the schema. `aws_ecs_*`,
//! `aws_lb_target_group` and `aws_lb_listener` become drafts of objects (`reshape`, `object`,
//! `container_definitions`), their environment values that hold a sensitive value turned into
//! secret references (`secret_environment`, by `secret_parameter`'s rule);
//! `aws_lb_listener_rule` a pending rule of its listener (`listener_rule`);
//! `aws_appautoscaling_target` and `_policy` pending scaling of their service
//! (`scalable_target`, `scaling_policy`). `.tf` resources and the resources of
//! `terraform show -json` (`plan`) take the same path.
//!
//! Depends on `evaluate` (the evaluation context and placeholders), `tree` (resources) and
//! `import`'s shared types; `evaluate` never depends on this file.

use std::collections::{BTreeMap, BTreeSet};

use hcl::Expression;
use serde_json::{Map, Value};

use super::evaluate::{Ctx, placeholder_end, placeholders};
use super::tree::Resource;
use crate::import::schema::{self, spec_schema};
use crate::import::{
    Collected, Draft, Kind, Location, NoteKind, PendingRule, PendingScaling, text,
};

/// Renames the key `from` to `to`, if present.
fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = m.remove(from) {
        m.insert(to.to_owned(), v);
    }
}

/// `{k = v}` → `[{key: k, value: v}]`, as the AWS APIs write tags.
fn key_value_list(v: Value, key: &str, value: &str) -> Value {
    match v {
        Value::Object(m) => Value::Array(
            m.into_iter()
                .map(|(k, v)| serde_json::json!({ key: k, value: text(&v) }))
                .collect(),
        ),
        other => other,
    }
}

/// The first of the blocks `key` (removed), as a single object.
fn first_block(m: &mut Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    match m.remove(key)? {
        Value::Array(mut items) if !items.is_empty() => match items.remove(0) {
            Value::Object(o) => Some(o),
            _ => None,
        },
        Value::Object(o) => Some(o),
        _ => None,
    }
}

/// The blocks `key` (removed), as objects.
fn blocks(m: &mut Map<String, Value>, key: &str) -> Vec<Map<String, Value>> {
    match m.remove(key) {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| match i {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// An ELB action block (`default_action`, `action`) in the API's shape.
fn action(mut a: Map<String, Value>) -> Value {
    if let Some(mut fwd) = first_block(&mut a, "forward") {
        let tgs: Vec<Value> = blocks(&mut fwd, "target_group")
            .into_iter()
            .map(|mut tg| {
                rename(&mut tg, "arn", "target_group_arn");
                Value::Object(tg)
            })
            .collect();
        let mut config = Map::new();
        config.insert("targetGroups".into(), Value::Array(tgs));
        if let Some(mut st) = first_block(&mut fwd, "stickiness") {
            rename(&mut st, "duration", "duration_seconds");
            config.insert("targetGroupStickinessConfig".into(), Value::Object(st));
        }
        a.insert("forwardConfig".into(), Value::Object(config));
    }
    if let Some(r) = first_block(&mut a, "redirect") {
        a.insert("redirectConfig".into(), Value::Object(r));
    }
    if let Some(f) = first_block(&mut a, "fixed_response") {
        a.insert("fixedResponseConfig".into(), Value::Object(f));
    }
    for (tf, api) in [
        ("authenticate_oidc", "authenticateOidcConfig"),
        ("authenticate_cognito", "authenticateCognitoConfig"),
    ] {
        if let Some(c) = first_block(&mut a, tf) {
            a.insert(api.into(), Value::Object(c));
        }
    }
    Value::Object(a)
}

/// An ELB listener rule `condition` block in the API's shape.
fn condition(mut c: Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (tf, field, config) in [
        ("host_header", "host-header", "hostHeaderConfig"),
        ("path_pattern", "path-pattern", "pathPatternConfig"),
        ("http_header", "http-header", "httpHeaderConfig"),
        (
            "http_request_method",
            "http-request-method",
            "httpRequestMethodConfig",
        ),
        ("source_ip", "source-ip", "sourceIpConfig"),
    ] {
        if let Some(block) = first_block(&mut c, tf) {
            out.insert("field".into(), Value::from(field));
            out.insert(config.into(), Value::Object(block));
        }
    }
    let qs = blocks(&mut c, "query_string");
    if !qs.is_empty() {
        out.insert("field".into(), Value::from("query-string"));
        out.insert(
            "queryStringConfig".into(),
            serde_json::json!({ "values": qs }),
        );
    }
    out.extend(c);
    Value::Object(out)
}

/// Reshapes a converted resource's arguments into the API's request shape (the names that are
/// the same but for case are left to the schema).
fn reshape(kind: Kind, m: &mut Map<String, Value>) {
    if let Some(tags) = m.remove("tags") {
        m.insert("tags".into(), key_value_list(tags, "key", "value"));
    }
    m.remove("tags_all");
    match kind {
        Kind::EcsCluster => {
            rename(m, "name", "cluster_name");
            rename(m, "setting", "settings");
        }
        Kind::TaskDefinition => reshape_task_definition(m),
        Kind::EcsService => reshape_service(m),
        Kind::TargetGroup => reshape_target_group(m),
        Kind::Listener => reshape_listener(m),
        // Built in the API's shape by `schedule` (EventBridge rules, targets, schedules).
        Kind::EcsScheduledTask => {}
    }
}

/// `aws_ecs_task_definition`: volumes (`host_path` as `host.sourcePath`) and the proxy
/// configuration's properties as a name/value list.
fn reshape_task_definition(m: &mut Map<String, Value>) {
    let volumes: Vec<Value> = blocks(m, "volume")
        .into_iter()
        .map(|mut v| {
            if let Some(p) = v.remove("host_path") {
                v.insert("host".into(), serde_json::json!({ "sourcePath": p }));
            }
            Value::Object(v)
        })
        .collect();
    if !volumes.is_empty() {
        m.insert("volumes".into(), Value::Array(volumes));
    }
    if let Some(mut proxy) = first_block(m, "proxy_configuration") {
        if let Some(p) = proxy.remove("properties") {
            proxy.insert("properties".into(), key_value_list(p, "name", "value"));
        }
        m.insert("proxyConfiguration".into(), Value::Object(proxy));
    }
    rename(m, "placement_constraints", "placementConstraints");
}

/// `aws_ecs_service`: the arguments Terraform names differently, load balancers, the
/// deployment configuration gathered from its arguments and blocks, and the awsvpc network
/// configuration.
fn reshape_service(m: &mut Map<String, Value>) {
    rename(m, "name", "service_name");
    rename(m, "iam_role", "role");
    rename(m, "ordered_placement_strategy", "placementStrategy");
    let lbs: Vec<Value> = blocks(m, "load_balancer")
        .into_iter()
        .map(|mut lb| {
            rename(&mut lb, "elb_name", "load_balancer_name");
            Value::Object(lb)
        })
        .collect();
    if !lbs.is_empty() {
        m.insert("loadBalancers".into(), Value::Array(lbs));
    }
    let mut deployment = Map::new();
    for (tf, api) in [
        ("deployment_maximum_percent", "maximumPercent"),
        (
            "deployment_minimum_healthy_percent",
            "minimumHealthyPercent",
        ),
    ] {
        if let Some(v) = m.remove(tf) {
            deployment.insert(api.into(), v);
        }
    }
    if let Some(cb) = first_block(m, "deployment_circuit_breaker") {
        deployment.insert("deploymentCircuitBreaker".into(), Value::Object(cb));
    }
    if let Some(alarms) = first_block(m, "alarms") {
        deployment.insert("alarms".into(), Value::Object(alarms));
    }
    if !deployment.is_empty() {
        m.insert("deploymentConfiguration".into(), Value::Object(deployment));
    }
    if let Some(mut net) = first_block(m, "network_configuration") {
        if let Some(Value::Bool(b)) = net.remove("assign_public_ip") {
            net.insert(
                "assignPublicIp".into(),
                Value::from(if b { "ENABLED" } else { "DISABLED" }),
            );
        }
        m.insert(
            "networkConfiguration".into(),
            serde_json::json!({ "awsvpcConfiguration": net }),
        );
    }
}

/// `aws_lb_target_group`: its attributes (deregistration delay, slow start, algorithm,
/// stickiness) as a key/value list, and its health check as the API's top-level fields.
fn reshape_target_group(m: &mut Map<String, Value>) {
    let mut attributes = Vec::new();
    let mut attribute = |key: &str, v: Value| {
        attributes.push(serde_json::json!({ "key": key, "value": text(&v) }));
    };
    for (tf, key) in [
        (
            "deregistration_delay",
            "deregistration_delay.timeout_seconds",
        ),
        ("slow_start", "slow_start.duration_seconds"),
        (
            "load_balancing_algorithm_type",
            "load_balancing.algorithm.type",
        ),
    ] {
        if let Some(v) = m.remove(tf) {
            attribute(key, v);
        }
    }
    if let Some(mut st) = first_block(m, "stickiness") {
        for (tf, key) in [
            ("enabled", "stickiness.enabled"),
            ("type", "stickiness.type"),
            ("cookie_duration", "stickiness.lb_cookie.duration_seconds"),
            ("cookie_name", "stickiness.app_cookie.cookie_name"),
        ] {
            if let Some(v) = st.remove(tf) {
                attribute(key, v);
            }
        }
    }
    if !attributes.is_empty() {
        m.insert("targetGroupAttributes".into(), Value::Array(attributes));
    }
    if let Some(mut hc) = first_block(m, "health_check") {
        let grpc = m.get("protocol_version").and_then(Value::as_str) == Some("GRPC");
        for (tf, api) in [
            ("enabled", "healthCheckEnabled"),
            ("path", "healthCheckPath"),
            ("port", "healthCheckPort"),
            ("protocol", "healthCheckProtocol"),
            ("interval", "healthCheckIntervalSeconds"),
            ("timeout", "healthCheckTimeoutSeconds"),
            ("healthy_threshold", "healthyThresholdCount"),
            ("unhealthy_threshold", "unhealthyThresholdCount"),
        ] {
            if let Some(v) = hc.remove(tf) {
                m.insert(api.into(), v);
            }
        }
        if let Some(code) = hc.remove("matcher") {
            let field = if grpc { "grpcCode" } else { "httpCode" };
            m.insert("matcher".into(), serde_json::json!({ field: code }));
        }
        for (k, v) in hc {
            m.insert(format!("health_check.{k}"), v);
        }
    }
}

/// `aws_lb_listener`: its certificate, ALPN policy and default actions in the API's shape.
fn reshape_listener(m: &mut Map<String, Value>) {
    if let Some(cert) = m.remove("certificate_arn") {
        m.insert(
            "certificates".into(),
            serde_json::json!([{ "certificateArn": cert }]),
        );
    }
    if let Some(Value::String(alpn)) = m.remove("alpn_policy") {
        m.insert("alpnPolicy".into(), serde_json::json!([alpn]));
    }
    let actions: Vec<Value> = blocks(m, "default_action")
        .into_iter()
        .map(action)
        .collect();
    if !actions.is_empty() {
        m.insert("defaultActions".into(), Value::Array(actions));
    }
}

/// Renames to the API's fields (reporting what has no place), unwraps single blocks where the
/// API has one object, and lists the unresolved values by field path.
fn shape(
    mut spec: Value,
    schema: &Value,
    base: &str,
    reasons: &BTreeMap<String, String>,
    resource: &Location,
    out: &mut Collected,
) -> (Value, Vec<(String, String)>) {
    schema::unwrap_single_blocks(&mut spec, schema);
    out.rename_keys(&mut spec, schema, base, resource);
    let mut unresolved = Vec::new();
    unresolved_paths(&spec, base, reasons, &mut unresolved);
    (spec, unresolved)
}

/// How a resource that becomes an object is named and found.
pub(super) struct Naming {
    /// The name it takes when it has no name argument (its label, module-qualified).
    pub(super) default_name: String,
    /// For a listener: the key its rules find it by.
    pub(super) listener_key: Option<String>,
}

/// A resource that becomes an object of its own: its container definitions (for a task
/// definition, already read: `containers`) with sensitive environment values turned into
/// secret references, reshaped, renamed, named, and recorded as a draft.
#[allow(clippy::too_many_arguments)]
pub(super) fn object(
    kind: Kind,
    mut body: Map<String, Value>,
    containers: Option<Result<Value, String>>,
    naming: Naming,
    source: Location,
    reasons: &BTreeMap<String, String>,
    sensitive: &BTreeSet<String>,
    out: &mut Collected,
) {
    body.remove("container_definitions");
    match containers {
        Some(Ok(mut defs)) => {
            let family = body.get("family").map(text).unwrap_or_default();
            secret_environment(&mut defs, sensitive, &family, &source, out);
            body.insert("containerDefinitions".into(), defs);
        }
        Some(Err(why)) => {
            out.note(
                NoteKind::NotConverted,
                &source.file,
                source.resource.as_deref(),
                Some("container_definitions"),
                why,
            );
            return;
        }
        None => {}
    }
    super::discovery::reshape(kind, &mut body, &source, out);
    reshape(kind, &mut body);
    let (mut spec, mut unresolved) = shape(
        Value::Object(body),
        spec_schema(kind),
        "",
        reasons,
        &source,
        out,
    );
    let name_field = match kind {
        Kind::EcsCluster => Some("clusterName"),
        Kind::TaskDefinition => Some("family"),
        Kind::EcsService => Some("serviceName"),
        Kind::TargetGroup => Some("name"),
        Kind::Listener | Kind::EcsScheduledTask => None,
    };
    let mut aws_name = naming.default_name.clone();
    if let Some(field) = name_field {
        match spec.get(field).and_then(Value::as_str) {
            Some("") => unresolved.push((
                field.to_owned(),
                "the name is empty (Terraform would fail to create it); pass the value it comes from with --param".to_owned(),
            )),
            Some(n) if !n.contains("${") => aws_name = n.to_owned(),
            Some(_) => {}
            None => {
                spec[field] = Value::from(naming.default_name.as_str());
                out.note(
                    NoteKind::Assumed,
                    &source.file,
                    source.resource.as_deref(),
                    Some(field),
                    format!(
                        "Terraform would generate a name; using the resource's label: {}",
                        naming.default_name
                    ),
                );
            }
        }
    }
    out.drafts.push(Draft {
        kind,
        aws_name,
        spec,
        source,
        unresolved,
        keys: naming.listener_key.into_iter().collect(),
    });
}

/// The SSM parameter name a sensitive value is referred to by (`valueFrom`): for an
/// environment value that is exactly a sensitive variable, `terraform/var/NAME` (in a
/// followed module `terraform/module/M/var/NAME`), shared by every container that uses it;
/// for a value that combines one with other text, `terraform/FAMILY/CONTAINER/ENV`. The
/// Secret that `ecsplane render` refers to follows from it by `secret_ref`'s rule
/// (`aws-ssm-` + the parameter name as a DNS label, key `value`).
pub(super) fn secret_parameter(
    value: &str,
    sensitive: &BTreeSet<String>,
    family: &str,
    container: &str,
    env: &str,
) -> String {
    match value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .filter(|_| sensitive.contains(value))
    {
        Some(address) => format!("terraform/{}", address.replace('.', "/")),
        None => format!("terraform/{family}/{container}/{env}"),
    }
}

/// Moves every environment value that holds a sensitive value (a `sensitive` variable, or a
/// plan's sensitive container definitions: `sensitive` holds `*`) into the container's
/// `secrets`, as a reference by [`secret_parameter`]'s rule, with a note saying where the
/// value must be stored. The value itself is never written.
pub(super) fn secret_environment(
    containers: &mut Value,
    sensitive: &BTreeSet<String>,
    family: &str,
    source: &Location,
    out: &mut Collected,
) {
    let all = sensitive.contains("*");
    if sensitive.is_empty() {
        return;
    }
    let Value::Array(list) = containers else {
        return;
    };
    for (i, c) in list.iter_mut().enumerate() {
        let Value::Object(c) = c else { continue };
        let name = c.get("name").map(text).unwrap_or_else(|| i.to_string());
        let Some(Value::Array(env)) = c.get_mut("environment") else {
            continue;
        };
        let mut secrets = Vec::new();
        env.retain(|e| {
            let value = e.get("value").map(text).unwrap_or_default();
            let holds_secret = all || sensitive.iter().any(|p| value.contains(p.as_str()));
            if !holds_secret {
                return true;
            }
            let var = e.get("name").map(text).unwrap_or_default();
            secrets.push((var, value));
            false
        });
        if secrets.is_empty() {
            continue;
        }
        let list = c
            .entry("secrets")
            .or_insert_with(|| Value::Array(Vec::new()));
        for (var, value) in secrets {
            let parameter = if all {
                format!("terraform/{family}/{name}/{var}")
            } else {
                secret_parameter(&value, sensitive, family, &name, &var)
            };
            let selector = crate::translate::pod::secret_ref(&parameter);
            let what = if all {
                "the plan marks the container definitions sensitive (Terraform does not say which value), so".to_owned()
            } else if value.starts_with("${") && sensitive.contains(&value) {
                format!("it is the sensitive {}, so", &value[2..value.len() - 1])
            } else {
                format!(
                    "it combines a sensitive value with other text ({value}), so the Secret holds the whole value and"
                )
            };
            out.note(
                NoteKind::Assumed,
                &source.file,
                source.resource.as_deref(),
                Some(&format!("containerDefinitions[{i}].environment.{var}")),
                format!(
                    "environment {var} of container {name}: {what} it is written as a secret reference, never as a value: valueFrom {parameter} (Secret {} key {} when rendered); store the value there",
                    selector.name, selector.key
                ),
            );
            if let Value::Array(list) = list {
                list.push(serde_json::json!({ "name": var, "valueFrom": parameter }));
            }
        }
    }
}

/// `container_definitions` of a task definition resource: a JSON string (heredoc, quoted,
/// `file(...)`, `templatefile(...)`, a rendered `template_file`), or `jsonencode(...)` of HCL
/// values.
pub(super) fn container_definitions(ctx: &Ctx, r: &Resource) -> Result<Value, String> {
    let Some(expr) = r.attr("container_definitions") else {
        return Err("no container_definitions".into());
    };
    let value = match expr {
        Expression::FuncCall(call) if call.name.to_string() == "jsonencode" => {
            match call.args.as_slice() {
                [arg] => ctx.eval(arg),
                _ => return Err("jsonencode takes one argument".into()),
            }
        }
        Expression::TemplateExpr(t) => ctx.template(t, true),
        other => ctx.eval(other),
    };
    parse_container_definitions(value, &ctx.reasons())
}

/// Container definitions from their evaluated value: a JSON text, or already a list.
pub(super) fn parse_container_definitions(
    value: Value,
    reasons: &BTreeMap<String, String>,
) -> Result<Value, String> {
    match value {
        Value::String(s) if s.starts_with("${") && placeholder_end(&s, 0) == Some(s.len()) => {
            Err(reasons
                .get(&s)
                .cloned()
                .unwrap_or_else(|| format!("{s} is only known to Terraform")))
        }
        Value::String(s) => match serde_json::from_str(&s) {
            Ok(Value::Array(a)) => Ok(Value::Array(a)),
            Ok(other) => Err(format!("expected a JSON list of containers, found {other}")),
            Err(e) => Err(format!(
                "not valid JSON after Terraform interpolation, at line {} column {}: {e}",
                e.line(),
                e.column()
            )),
        },
        Value::Array(a) => Ok(Value::Array(a)),
        other => Err(format!("expected a JSON list of containers, found {other}")),
    }
}

/// A listener rule: its listener identified, its actions and conditions in the API's shape.
pub(super) fn listener_rule(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    let listener = body.remove("listener_arn").unwrap_or(Value::Null);
    let listener_key = match &listener {
        Value::String(s) if !s.contains("${") => s.clone(),
        other => {
            let mut why = Vec::new();
            unresolved_paths(other, "listener_arn", reasons, &mut why);
            out.note(
                NoteKind::Unresolved,
                &source.file,
                source.resource.as_deref(),
                Some("listener_arn"),
                format!(
                    "its listener cannot be identified: {}",
                    why.into_iter()
                        .map(|(_, m)| m)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            );
            return;
        }
    };
    let actions: Vec<Value> = blocks(&mut body, "action")
        .into_iter()
        .map(action)
        .collect();
    body.insert("actions".into(), Value::Array(actions));
    let conditions: Vec<Value> = blocks(&mut body, "condition")
        .into_iter()
        .map(condition)
        .collect();
    body.insert("conditions".into(), Value::Array(conditions));
    if let Some(tags) = body.remove("tags") {
        body.insert("tags".into(), key_value_list(tags, "key", "value"));
    }
    let (rule, unresolved) = shape(
        Value::Object(body),
        schema::listener_rule(),
        "",
        reasons,
        &source,
        out,
    );
    out.rules.push(PendingRule {
        listener_key,
        rule,
        is_default: false,
        source,
        unresolved,
    });
}

/// The `resource_id` of a scalable target or policy, or why it is not known.
fn resource_id(
    body: &mut Map<String, Value>,
    reasons: &BTreeMap<String, String>,
) -> Result<String, String> {
    match body.remove("resource_id") {
        Some(Value::String(s)) if !s.contains("${") => Ok(s),
        Some(other) => {
            let mut why = Vec::new();
            unresolved_paths(&other, "resource_id", reasons, &mut why);
            let mut reasons: Vec<String> = why.into_iter().map(|(_, m)| m).collect();
            reasons.dedup();
            Err(reasons.join("; "))
        }
        None => Err("no resource_id".into()),
    }
}

/// Whether the scaling is of something other than an ECS service (skipped and counted).
fn not_ecs(body: &Map<String, Value>, ty: &str, source: &Location, out: &mut Collected) -> bool {
    let ns = body.get("service_namespace").map(text);
    match ns.as_deref() {
        Some(ns) if ns != "ecs" && !ns.contains("${") => {
            *out.skipped
                .entry(format!("{ty} (namespace {ns})"))
                .or_default() += 1;
            out.note(
                NoteKind::Skipped,
                &source.file,
                source.resource.as_deref(),
                None,
                "not an ECS service's scaling",
            );
            true
        }
        _ => false,
    }
}

/// An ECS service's scalable target: the service it scales and its capacity.
pub(super) fn scalable_target(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    if not_ecs(&body, "aws_appautoscaling_target", &source, out) {
        return;
    }
    let (resource_id, unidentified) = match resource_id(&mut body, reasons) {
        Ok(id) => (id, None),
        Err(why) => (
            String::new(),
            Some(format!("its service cannot be identified: {why}")),
        ),
    };
    let mut target = Map::new();
    for key in ["min_capacity", "max_capacity", "suspended_state"] {
        if let Some(v) = body.remove(key) {
            target.insert(key.to_owned(), v);
        }
    }
    let (target, unresolved) = shape(
        Value::Object(target),
        schema::auto_scaling(),
        "",
        reasons,
        &source,
        out,
    );
    out.scaling.push(PendingScaling {
        resource_id,
        key: None,
        target: Some(target),
        policies: Vec::new(),
        source,
        unresolved,
        unidentified,
    });
}

/// A scaling policy: the scalable target it belongs to and its configuration in the API's
/// shape (Terraform's default policy type, `StepScaling`, when it names none).
pub(super) fn scaling_policy(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    if not_ecs(&body, "aws_appautoscaling_policy", &source, out) {
        return;
    }
    let resource_id = match resource_id(&mut body, reasons) {
        Ok(id) => id,
        Err(why) => {
            out.note(
                NoteKind::Unresolved,
                &source.file,
                source.resource.as_deref(),
                Some("resource_id"),
                format!("its scalable target cannot be identified: {why}"),
            );
            return;
        }
    };
    for key in ["service_namespace", "scalable_dimension"] {
        body.remove(key);
    }
    rename(&mut body, "name", "policy_name");
    // Terraform's default policy type.
    body.entry("policy_type")
        .or_insert_with(|| Value::from("StepScaling"));
    if let Some(mut step) = first_block(&mut body, "step_scaling_policy_configuration") {
        rename(&mut step, "step_adjustment", "step_adjustments");
        body.insert(
            "step_scaling_policy_configuration".into(),
            Value::Object(step),
        );
    }
    if let Some(mut tt) = first_block(&mut body, "target_tracking_scaling_policy_configuration") {
        if let Some(mut custom) = first_block(&mut tt, "customized_metric_specification") {
            rename(&mut custom, "metric_dimension", "dimensions");
            tt.insert(
                "customized_metric_specification".into(),
                Value::Object(custom),
            );
        }
        body.insert(
            "target_tracking_scaling_policy_configuration".into(),
            Value::Object(tt),
        );
    }
    let (policy, unresolved) = shape(
        Value::Object(body),
        schema::scaling_policy(),
        "scalingPolicies[0]",
        reasons,
        &source,
        out,
    );
    out.scaling.push(PendingScaling::policy(
        resource_id,
        policy,
        source,
        unresolved,
    ));
}

/// Reports the unresolved placeholders left in `v`, each with its field path and reason.
fn unresolved_paths(
    v: &Value,
    path: &str,
    reasons: &BTreeMap<String, String>,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::String(_) => {
            let mut found = Vec::new();
            placeholders(v, &mut found);
            for placeholder in found {
                let why = reasons.get(&placeholder).cloned().unwrap_or_else(|| {
                    let key = &placeholder[2..placeholder.len().saturating_sub(1).max(2)];
                    if key.contains("${") || key.contains('(') {
                        format!(
                            "Terraform interpolation {placeholder} is only known to Terraform"
                        )
                    } else {
                        format!(
                            "Terraform interpolation {placeholder} is only known to Terraform; pass --param {key}=VALUE"
                        )
                    }
                });
                out.push((path.to_owned(), why));
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                unresolved_paths(v, &p, reasons, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                unresolved_paths(v, &format!("{path}[{i}]"), reasons, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::import::terraform::tests::module_of;
    use crate::import::{Kind, NoteKind};

    #[test]
    fn heredoc_container_definitions_fill_variables_and_keep_json_valid_when_unknown() {
        let c = module_of(
            r#"
variable "name" { default = "app" }
resource "aws_ecs_task_definition" "t" {
  family = "web"
  container_definitions = <<EOF
[{"name": "${var.name}", "image": "nginx",
  "portMappings": [{"containerPort": ${var.port}}]}]
EOF
}
"#,
            &[],
        );
        let held = &c.incomplete[0];
        assert_eq!(
            held.object.manifest["spec"]["containerDefinitions"][0]["name"],
            "app"
        );
        assert_eq!(
            held.unresolved,
            ["containerDefinitions[0].portMappings[0].containerPort"]
        );
        let note = c
            .notes
            .iter()
            .find(|n| n.kind == NoteKind::Unresolved)
            .unwrap();
        assert!(
            note.message
                .contains("variable port is not declared in the Terraform files given; pass --param var.port=VALUE"),
            "{note}"
        );
    }

    #[test]
    fn jsonencode_services_target_groups_and_references_become_one_consistent_set() {
        let c = module_of(
            r#"
variable "port" { default = 8080 }
locals { env = "prod" }
resource "aws_ecs_cluster" "main" { name = "main-${local.env}" }
resource "aws_lb_target_group" "web" {
  name        = "web-${local.env}"
  port        = var.port
  protocol    = "HTTP"
  target_type = "ip"
  deregistration_delay = 30
  health_check {
    path    = "/health"
    matcher = "200-299"
  }
}
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port     = 80
  protocol = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}
resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
  condition {
    path_pattern { values = ["/api/*"] }
  }
}
resource "aws_ecs_task_definition" "web" {
  family = "web"
  network_mode = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu = 256
  memory = 512
  container_definitions = jsonencode([{
    name  = "web"
    image = "nginx:1.27"
    essential = true
    portMappings = [{ containerPort = var.port }]
  }])
}
resource "aws_ecs_service" "web" {
  name            = "web"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = 2
  launch_type     = "FARGATE"
  deployment_minimum_healthy_percent = 50
  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = var.port
  }
  network_configuration {
    subnets          = ["subnet-1"]
    assign_public_ip = false
  }
}
resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = 6
}
resource "aws_appautoscaling_policy" "cpu" {
  name               = "cpu"
  policy_type        = "TargetTrackingScaling"
  resource_id        = aws_appautoscaling_target.web.resource_id
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
"#,
            &[],
        );
        let names: Vec<String> = c
            .objects
            .iter()
            .map(|o| format!("{}/{}", o.kind, o.name))
            .collect();
        assert_eq!(
            names,
            [
                "EcsCluster/main-prod",
                "TargetGroup/web-prod",
                "Listener/http",
                "TaskDefinition/web",
                "EcsService/web"
            ],
            "{:#?}",
            c.notes
        );
        assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
        let spec =
            |kind: Kind| &c.objects.iter().find(|o| o.kind == kind).unwrap().manifest["spec"];
        let tg = spec(Kind::TargetGroup);
        assert_eq!(tg["port"], 8080);
        assert_eq!(tg["healthCheckPath"], "/health");
        assert_eq!(tg["matcher"]["httpCode"], "200-299");
        assert_eq!(
            tg["targetGroupAttributes"][0],
            serde_json::json!({"key": "deregistration_delay.timeout_seconds", "value": "30"})
        );
        let lsn = spec(Kind::Listener);
        assert_eq!(lsn["defaultActions"][0]["targetGroupArn"], "web-prod");
        assert_eq!(lsn["rules"][0]["priority"], 10);
        assert_eq!(
            lsn["rules"][0]["conditions"][0],
            serde_json::json!({"field": "path-pattern", "pathPatternConfig": {"values": ["/api/*"]}})
        );
        let td = spec(Kind::TaskDefinition);
        assert_eq!(td["cpu"], "256");
        assert_eq!(
            td["containerDefinitions"][0]["portMappings"][0]["containerPort"],
            8080
        );
        let svc = spec(Kind::EcsService);
        assert_eq!(svc["cluster"], "main-prod");
        assert_eq!(svc["taskDefinition"], "web");
        assert_eq!(svc["loadBalancers"][0]["targetGroupArn"], "web-prod");
        assert_eq!(svc["deploymentConfiguration"]["minimumHealthyPercent"], 50);
        assert_eq!(
            svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"],
            "DISABLED"
        );
        assert_eq!(svc["autoScaling"]["maxCapacity"], 6);
        assert_eq!(
            svc["autoScaling"]["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]
                ["predefinedMetricType"],
            "ECSServiceAverageCPUUtilization"
        );
    }

    #[test]
    fn listener_rule_conditions_and_forward_blocks_take_the_api_shape() {
        let c = module_of(
            r#"
resource "aws_alb_listener" "web" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"
  port     = 80
  protocol = "HTTP"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}
resource "aws_alb_target_group" "blue" { name = "blue" }
resource "aws_alb_target_group" "green" { name = "green" }
resource "aws_alb_listener_rule" "split" {
  listener_arn = aws_alb_listener.web.arn
  priority     = 5
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_alb_target_group.blue.arn
        weight = 90
      }
      target_group {
        arn    = aws_alb_target_group.green.arn
        weight = 10
      }
    }
  }
  condition {
    host_header { values = ["shop.example.com"] }
  }
  condition {
    query_string {
      key   = "beta"
      value = "1"
    }
  }
}
"#,
            &[],
        );
        let lsn = &c
            .objects
            .iter()
            .find(|o| o.kind == Kind::Listener)
            .unwrap()
            .manifest["spec"];
        assert_eq!(
            lsn["defaultActions"][0]["fixedResponseConfig"],
            serde_json::json!({"contentType": "text/plain", "statusCode": "404"})
        );
        let rule = &lsn["rules"][0];
        assert_eq!(
            rule["actions"][0]["forwardConfig"]["targetGroups"],
            serde_json::json!([{"targetGroupArn": "blue", "weight": 90}, {"targetGroupArn": "green", "weight": 10}])
        );
        assert_eq!(
            rule["conditions"],
            serde_json::json!([
                {"field": "host-header", "hostHeaderConfig": {"values": ["shop.example.com"]}},
                {"field": "query-string", "queryStringConfig": {"values": [{"key": "beta", "value": "1"}]}},
            ])
        );
    }
}
