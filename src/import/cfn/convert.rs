//! One supported CloudFormation resource → our manifests: `AWS::ECS::Cluster`,
//! `TaskDefinition` and `Service`, `AWS::ElasticLoadBalancingV2::TargetGroup` and `Listener`
//! become drafts of objects; `ListenerRule`s become pending rules of their listener;
//! `AWS::ApplicationAutoScaling::ScalableTarget` and `ScalingPolicy` become pending scaling of
//! their service. Properties are renamed to the API's fields, then resolved.
//!
//! Secrets never become values: an environment variable whose whole value is a `NoEcho`
//! parameter or a dynamic reference to a secret (`{{resolve:secretsmanager:…}}`,
//! `{{resolve:ssm-secure:…}}`) moves to the container's `secrets` as a reference (named by
//! the rule of `src/translate/pod.rs` `secret_ref`), with a report line; a secret anywhere
//! else is unresolved, without a `--param` suggestion.
//!
//! Depends on `cfn::evaluate` (the template model) and `import`'s shared types; `evaluate`
//! never depends on this file.

use serde_json::{Map, Value};

use super::evaluate::{SECRET_MARKER, Template, Unresolved};
use crate::import::placeholder::{self, PlaceholderKind};
use crate::import::schema::{self, spec_schema};
use crate::import::{
    Collected, Draft, Kind, Location, NoteKind, PendingRule, PendingScaling, text as scalar_text,
};

/// Renames, resolves and records a supported resource that becomes an object of its own.
pub(super) fn convert_object(
    t: &Template,
    id: &str,
    kind: Kind,
    mut props: Value,
    source: Location,
    out: &mut Collected,
) {
    out.rename_keys(&mut props, spec_schema(kind), "", &source);
    let mut unresolved = Vec::new();
    t.take_assumed_at();
    let mut spec = t.eval(&props, "", &mut unresolved);
    let mut assumed = t.take_assumed_at();
    if !spec.is_object() {
        out.note_at(
            NoteKind::NotConverted,
            &source,
            Some("Properties"),
            "the properties do not evaluate to a mapping",
        );
        return;
    }
    let name = match kind {
        Kind::Listener => t.default_name(id),
        _ => t
            .own_ref(id)
            .map_or_else(|| t.default_name(id), str::to_owned),
    };
    let default_field = match kind {
        Kind::EcsCluster => Some("clusterName"),
        Kind::TaskDefinition => Some("family"),
        Kind::EcsService => Some("serviceName"),
        Kind::TargetGroup => Some("name"),
        Kind::Listener => None,
    };
    if let Some(field) = default_field
        && spec.get(field).is_none()
    {
        spec[field] = Value::from(name.as_str());
        let (stack, why) = t.stack_name();
        let stack = match why {
            Some(why) => format!("the stack name {stack}, {why}"),
            None => format!("the stack name {stack}"),
        };
        out.note(
            NoteKind::Assumed,
            t.file,
            source.resource.as_deref(),
            Some(field),
            format!(
                "CloudFormation would generate a name; using {name} ({stack}, and the logical ID; CloudFormation adds a random suffix)"
            ),
        );
        assumed.push((
            field.to_owned(),
            format!("the generated name {name} ({stack}, and the logical ID)"),
        ));
    }
    secrets(t, &mut spec, &source, &mut unresolved, out);
    let mut keys = Vec::new();
    if kind == Kind::Listener {
        if let Some(m) = t.own_ref(id) {
            keys.push(m.to_owned());
        }
        if let Some(lb) = spec.get("loadBalancerArn").and_then(Value::as_str) {
            out.note(
                NoteKind::Assumed,
                t.file,
                source.resource.as_deref(),
                Some("loadBalancerArn"),
                format!("the load balancer's ARN is only known after deployment; {lb:?} stands for it (listeners with the same value share a load balancer)"),
            );
        }
    }
    let assumed = assumed
        .into_iter()
        .map(|(path, what)| {
            (
                path,
                format!("{what}; pass {} to change it", t.stack_name_param()),
            )
        })
        .collect();
    out.push_draft(
        Draft {
            kind,
            aws_name: name,
            spec,
            source,
            unresolved,
            keys,
        },
        assumed,
    );
}

/// Moves secrets that are whole environment values to the container's `secrets` (a report line
/// each) and reports every other secret as unresolved.
fn secrets(
    t: &Template,
    spec: &mut Value,
    source: &Location,
    unresolved: &mut Unresolved,
    out: &mut Collected,
) {
    if let Some(Value::Array(containers)) = spec.get_mut("containerDefinitions") {
        for (i, c) in containers.iter_mut().enumerate() {
            let Some(c) = c.as_object_mut() else { continue };
            let Some(Value::Array(env)) = c.get_mut("environment") else {
                continue;
            };
            let mut moved = Vec::new();
            env.retain(|e| {
                let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
                match e
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(|v| whole_secret(t, v))
                {
                    Some((value_from, what)) if !name.is_empty() => {
                        moved.push((name.to_owned(), value_from, what));
                        false
                    }
                    _ => true,
                }
            });
            if moved.is_empty() {
                continue;
            }
            if !matches!(c.get("secrets"), None | Some(Value::Array(_))) {
                c.remove("secrets");
            }
            let list = c
                .entry("secrets")
                .or_insert_with(|| Value::Array(Vec::new()));
            for (name, value_from, what) in moved {
                let secret = crate::translate::pod::secret_ref(&value_from);
                out.note_at(
                    NoteKind::Secret,
                    source,
                    Some(&format!("containerDefinitions[{i}].environment.{name}")),
                    format!(
                        "{what} is a secret: it becomes secrets[].valueFrom {value_from:?}, which render reads from Secret {} key {} (create it with the value); the value is never written",
                        secret.name, secret.key
                    ),
                );
                if let Value::Array(list) = list {
                    list.push(serde_json::json!({"name": name, "valueFrom": value_from}));
                }
            }
        }
    }
    embedded_secrets(spec, "", unresolved);
}

/// The `valueFrom` of a value that is one secret and nothing else, and what the secret is.
fn whole_secret(t: &Template, value: &str) -> Option<(String, String)> {
    if let Some(rest) = value.strip_prefix(SECRET_MARKER)
        && let Some(inner) = rest.strip_suffix('\u{0}')
        && !inner.contains('\u{0}')
    {
        let (value_from, param) = inner.split_once('\u{1}')?;
        return Some((value_from.to_owned(), format!("NoEcho parameter {param}")));
    }
    let found = placeholder::find(value, false);
    match found.as_slice() {
        [p] if p.text == value.trim() => match &p.kind {
            PlaceholderKind::Secret(secret) => {
                let partition = match t.given_pseudo("AWS::Partition") {
                    p if p.is_empty() => "aws".to_owned(),
                    p => p,
                };
                let value_from = secret.value_from(
                    &partition,
                    &t.given_pseudo("AWS::Region"),
                    &t.given_pseudo("AWS::AccountId"),
                );
                let what = match secret.dropped() {
                    Some(d) => format!("the dynamic reference {} ({d} not carried)", p.text),
                    None => format!("the dynamic reference {}", p.text),
                };
                Some((value_from, what))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Reports each secret left in `value` (a NoEcho parameter, now written as `${NAME}`, or a
/// dynamic reference to a secret) as unresolved at its path, never with a `--param`.
fn embedded_secrets(value: &mut Value, path: &str, unresolved: &mut Unresolved) {
    match value {
        Value::String(s) => {
            if s.contains(SECRET_MARKER) {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(start) = rest.find(SECRET_MARKER) {
                    out.push_str(&rest[..start]);
                    let after = &rest[start + SECRET_MARKER.len()..];
                    let (inner, tail) = after.split_once('\u{0}').unwrap_or((after, ""));
                    let param = inner.split_once('\u{1}').map_or(inner, |(_, p)| p);
                    out.push_str(&format!("${{{param}}}"));
                    unresolved.push((
                        path.to_owned(),
                        format!(
                            "NoEcho parameter {param} is a secret: its value is never written, and only a whole environment variable value becomes a Secret reference; edit the output (it stands as ${{{param}}})"
                        ),
                    ));
                    rest = tail;
                }
                out.push_str(rest);
                *s = out;
            }
            for p in placeholder::find(s, false) {
                if matches!(p.kind, PlaceholderKind::Secret(_)) {
                    unresolved.push((path.to_owned(), p.message()));
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                embedded_secrets(v, &schema::join(path, k), unresolved);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                embedded_secrets(v, &format!("{path}[{i}]"), unresolved);
            }
        }
        _ => {}
    }
}

/// A listener rule: its listener identified, its properties renamed and resolved.
pub(super) fn convert_rule(t: &Template, props: &Value, source: Location, out: &mut Collected) {
    let mut u = Vec::new();
    let listener = t.eval(
        props.get("ListenerArn").unwrap_or(&Value::Null),
        "listenerArn",
        &mut u,
    );
    if !u.is_empty() {
        let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
        out.note(
            NoteKind::Unresolved,
            t.file,
            source.resource.as_deref(),
            Some("ListenerArn"),
            format!("its listener cannot be identified: {}", why.join("; ")),
        );
        return;
    }
    let mut rule = props.clone();
    if let Some(m) = rule.as_object_mut() {
        m.remove("ListenerArn");
    }
    out.rename_keys(&mut rule, schema::listener_rule(), "", &source);
    let mut unresolved = Vec::new();
    let mut rule = t.eval(&rule, "", &mut unresolved);
    if !rule.is_object() {
        out.note_at(
            NoteKind::NotConverted,
            &source,
            Some("Properties"),
            "the properties do not evaluate to a mapping",
        );
        return;
    }
    embedded_secrets(&mut rule, "", &mut unresolved);
    out.rules.push(PendingRule {
        listener_key: scalar_text(&listener),
        rule,
        is_default: false,
        source,
        unresolved,
    });
}

/// An ECS service's scalable target: the service it scales, its capacity and scheduled actions.
pub(super) fn convert_target(
    t: &Template,
    id: &str,
    props: &Value,
    source: Location,
    out: &mut Collected,
) {
    let mut unresolved = Vec::new();
    let resource_id = scalar_text(&t.eval(
        props.get("ResourceId").unwrap_or(&Value::Null),
        "resourceId",
        &mut unresolved,
    ));
    let namespace = props
        .get("ServiceNamespace")
        .map(|v| scalar_text(&t.eval(v, "", &mut Vec::new())));
    if namespace.as_deref().is_some_and(|n| n != "ecs") {
        *out.skipped
            .entry(format!(
                "AWS::ApplicationAutoScaling::ScalableTarget (namespace {})",
                namespace.unwrap_or_default()
            ))
            .or_default() += 1;
        out.note(
            NoteKind::Skipped,
            t.file,
            source.resource.as_deref(),
            None,
            "not an ECS service scalable target",
        );
        return;
    }
    let unidentified = (!unresolved.is_empty()).then(|| {
        let why: Vec<String> = std::mem::take(&mut unresolved)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        format!("its service cannot be identified: {}", why.join("; "))
    });
    let mut target = Map::new();
    for key in [
        "MinCapacity",
        "MaxCapacity",
        "SuspendedState",
        "ScheduledActions",
    ] {
        if let Some(v) = props.get(key) {
            target.insert(key.to_owned(), v.clone());
        }
    }
    let mut target = Value::Object(target);
    out.rename_keys(&mut target, schema::auto_scaling(), "", &source);
    let mut target = t.eval(&target, "", &mut unresolved);
    if !target.is_object() {
        target = schema::object();
    }
    embedded_secrets(&mut target, "", &mut unresolved);
    let key = t.own_ref(id).map(str::to_owned);
    out.scaling.push(PendingScaling {
        resource_id,
        key,
        target: Some(target),
        policies: Vec::new(),
        source,
        unresolved,
        unidentified,
    });
}

/// A scaling policy: the scalable target it belongs to, its configuration renamed and
/// resolved.
pub(super) fn convert_policy(t: &Template, props: &Value, source: Location, out: &mut Collected) {
    let mut u = Vec::new();
    let target = match props.get("ScalingTargetId") {
        Some(v) => t.eval(v, "ScalingTargetId", &mut u),
        None => t.eval(
            props.get("ResourceId").unwrap_or(&Value::Null),
            "ResourceId",
            &mut u,
        ),
    };
    if !u.is_empty() {
        let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
        out.note(
            NoteKind::Unresolved,
            t.file,
            source.resource.as_deref(),
            Some("ScalingTargetId"),
            format!(
                "its scalable target cannot be identified: {}",
                why.join("; ")
            ),
        );
        return;
    }
    let mut policy = props.clone();
    if let Some(m) = policy.as_object_mut() {
        for k in [
            "ScalingTargetId",
            "ResourceId",
            "ScalableDimension",
            "ServiceNamespace",
        ] {
            m.remove(k);
        }
    }
    out.rename_keys(
        &mut policy,
        schema::scaling_policy(),
        "scalingPolicies[0]",
        &source,
    );
    let mut unresolved = Vec::new();
    let mut policy = t.eval(&policy, "scalingPolicies[0]", &mut unresolved);
    if !policy.is_object() {
        out.note_at(
            NoteKind::NotConverted,
            &source,
            Some("Properties"),
            "the properties do not evaluate to a mapping",
        );
        return;
    }
    embedded_secrets(&mut policy, "scalingPolicies[0]", &mut unresolved);
    out.scaling.push(PendingScaling::policy(
        scalar_text(&target),
        policy,
        source,
        unresolved,
    ));
}
