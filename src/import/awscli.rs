//! AWS CLI JSON, converted by shape: `describe-task-definition` (and the plain
//! `register-task-definition` input), `describe-services` (and the `create-service` input),
//! `elbv2 describe-target-groups` / `describe-listeners` / `describe-rules`, and
//! `application-autoscaling describe-scalable-targets` / `describe-scaling-policies`.
//!
//! Which shape a document has is told by the loader's recogniser ([`AwsShape`]), the one
//! `render` uses; this module converts each shape. Whatever the JSON holds, nothing here
//! panics: an item that is not an object where one is expected is *not converted*, with its
//! place named.

use std::path::Path;

use serde_json::Value;

use super::placeholder::Syntax;
use super::schema::{self, spec_schema};
use super::{
    Collected, ConvertOptions, Draft, ImportError, Kind, Location, NoteKind, PendingRule,
    PendingScaling, error, placeholder,
};
use crate::load::recognise::{self, AwsShape};

/// Converts one JSON document; returns the shape it was recognised as.
pub(super) fn convert(
    file: &Path,
    value: &Value,
    options: &ConvertOptions,
    out: &mut Collected,
) -> Result<String, ImportError> {
    let Value::Object(top) = value else {
        return Err(error(
            file,
            None,
            "expected a JSON object (AWS CLI output, a task definition or a service definition)",
        ));
    };
    let Some(shape) = AwsShape::of(top) else {
        if top.contains_key("image") && top.contains_key("name") {
            return Err(error(
                file,
                None,
                "a single container definition (name, image), not a task definition: put it in the containerDefinitions of a task definition (with its family) to convert it",
            ));
        }
        let keys: Vec<&str> = top.keys().map(String::as_str).collect();
        return Err(error(
            file,
            None,
            format!(
                "not a shape convert knows (top-level keys: {}); expected a CloudFormation template, describe-task-definition, describe-services, elbv2 describe-target-groups/-listeners/-rules, application-autoscaling describe-scalable-targets/-scaling-policies, a task definition or a service definition",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.join(", ")
                }
            ),
        ));
    };
    let entries = shape.entries(top);
    let key = shape.list_key().unwrap_or_default();
    // Items that are not objects are not converted, with their place named; the rest are.
    let entries: Vec<&Value> = entries
        .iter()
        .enumerate()
        .filter(|(i, item)| objects_only(file, key, *i, item, out))
        .map(|(_, item)| item)
        .collect();
    match shape {
        AwsShape::DescribeTaskDefinition => {
            let td = recognise::into_task_definition(top.clone());
            task_definition(file, Value::Object(td), options, out);
        }
        AwsShape::TaskDefinition => task_definition(file, value.clone(), options, out),
        AwsShape::DescribeServices => {
            for s in entries {
                service(file, s.clone(), options, out);
            }
        }
        AwsShape::DescribeTargetGroups => {
            for tg in entries {
                let name = tg
                    .get("TargetGroupName")
                    .and_then(Value::as_str)
                    .unwrap_or("target-group")
                    .to_owned();
                // describe-target-groups names the target group `TargetGroupName`; the
                // API's field is `name`.
                let mut tg = tg.clone();
                if let Some(m) = tg.as_object_mut()
                    && let Some(n) = m.remove("TargetGroupName")
                {
                    m.entry("Name").or_insert(n);
                }
                object(file, Kind::TargetGroup, &name, tg, Vec::new(), options, out);
            }
        }
        AwsShape::DescribeListeners => {
            for l in entries {
                let arn = l.get("ListenerArn").and_then(Value::as_str).unwrap_or("");
                let (lb, _) = listener_parts(arn);
                let port = l.get("Port").map(|p| p.to_string()).unwrap_or_default();
                let name = if lb.is_empty() {
                    format!("listener-{port}")
                } else {
                    format!("{lb}-{port}")
                };
                let keys = vec![arn.to_owned(), listener_key(arn)];
                object(file, Kind::Listener, &name, l.clone(), keys, options, out);
            }
        }
        AwsShape::DescribeRules => {
            for r in entries {
                rule(file, r, options, out);
            }
        }
        AwsShape::DescribeScalableTargets => {
            for t in entries {
                scaling(file, t, true, options, out);
            }
        }
        AwsShape::DescribeScalingPolicies => {
            for p in entries {
                scaling(file, p, false, options, out);
            }
        }
        AwsShape::ServiceDefinition => service(file, value.clone(), options, out),
    }
    Ok(shape.name().into())
}

/// Whether item `i` of the list `key` is an object, as every item must be; a note when not.
fn objects_only(file: &Path, key: &str, i: usize, item: &Value, out: &mut Collected) -> bool {
    if item.is_object() {
        return true;
    }
    out.note(
        NoteKind::NotConverted,
        file,
        None,
        Some(&format!("{key}[{i}]")),
        "not an object",
    );
    false
}

/// Substitutes placeholders from `--param` and lists the ones left, with their paths.
fn placeholders(
    value: &mut Value,
    path: &str,
    options: &ConvertOptions,
    u: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(s) => {
            let syntax = Syntax {
                dollar_braces: true,
                secrets_as_references: false,
            };
            *s = placeholder::substitute_reporting(s, &options.params, syntax, path, u);
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                placeholders(v, &p, options, u);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                placeholders(v, &format!("{path}[{i}]"), options, u);
            }
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn object(
    file: &Path,
    kind: Kind,
    name: &str,
    mut spec: Value,
    keys: Vec<String>,
    options: &ConvertOptions,
    out: &mut Collected,
) {
    let source = Location {
        file: file.to_owned(),
        resource: Some(format!("{kind} {name}")),
        path: None,
    };
    if !spec.is_object() {
        out.note_at(NoteKind::NotConverted, &source, None, "not an object");
        return;
    }
    let mut unresolved = Vec::new();
    placeholders(&mut spec, "", options, &mut unresolved);
    out.rename_keys(&mut spec, spec_schema(kind), "", &source);
    out.drafts.push(Draft {
        kind,
        aws_name: name.to_owned(),
        spec,
        source,
        unresolved,
        keys,
    });
}

fn task_definition(file: &Path, td: Value, options: &ConvertOptions, out: &mut Collected) {
    let family = td.get("family").and_then(Value::as_str).map(str::to_owned);
    let name = match family {
        Some(f) => f,
        None => {
            out.note(
                NoteKind::NotConverted,
                file,
                None,
                Some("family"),
                "a task definition needs a family",
            );
            return;
        }
    };
    object(
        file,
        Kind::TaskDefinition,
        &name,
        td,
        Vec::new(),
        options,
        out,
    );
}

fn service(file: &Path, mut svc: Value, options: &ConvertOptions, out: &mut Collected) {
    let name = match svc.get("serviceName").and_then(Value::as_str) {
        Some(n) => n.to_owned(),
        None => {
            let n = stem(file);
            out.note(
                NoteKind::Assumed,
                file,
                None,
                Some("serviceName"),
                format!("the definition has no serviceName; using the file name: {n}"),
            );
            if let Some(m) = svc.as_object_mut() {
                m.insert("serviceName".into(), Value::from(n.as_str()));
            }
            n
        }
    };
    object(file, Kind::EcsService, &name, svc, Vec::new(), options, out);
}

/// `arn:...:listener/app/LB/LBID/LID` → (`LB`, `LID`).
fn listener_parts(arn: &str) -> (String, String) {
    let tail = arn
        .split_once(":listener/")
        .or_else(|| arn.split_once(":listener-rule/"))
        .map_or("", |(_, t)| t);
    let parts: Vec<&str> = tail.split('/').collect();
    (
        parts.get(1).copied().unwrap_or_default().to_owned(),
        parts.get(3).copied().unwrap_or_default().to_owned(),
    )
}

/// The part of a listener or rule ARN that names the listener: `app/LB/LBID/LID`.
fn listener_key(arn: &str) -> String {
    let tail = arn
        .split_once(":listener/")
        .or_else(|| arn.split_once(":listener-rule/"))
        .map_or("", |(_, t)| t);
    tail.split('/').take(4).collect::<Vec<_>>().join("/")
}

fn rule(file: &Path, r: &Value, options: &ConvertOptions, out: &mut Collected) {
    let arn = r.get("RuleArn").and_then(Value::as_str).unwrap_or("");
    let priority = r.get("Priority").map(|p| match p {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let is_default = r.get("IsDefault").and_then(Value::as_bool).unwrap_or(false)
        || priority.as_deref() == Some("default");
    let source = Location {
        file: file.to_owned(),
        resource: Some(format!("rule {}", priority.as_deref().unwrap_or("?"))),
        path: None,
    };
    let mut rule = r.clone();
    if let Some(m) = rule.as_object_mut() {
        m.remove("IsDefault");
        if is_default {
            m.remove("Priority");
        }
    }
    let mut unresolved = Vec::new();
    placeholders(&mut rule, "", options, &mut unresolved);
    out.rename_keys(&mut rule, schema::listener_rule(), "", &source);
    out.rules.push(PendingRule {
        listener_key: listener_key(arn),
        rule,
        is_default,
        source,
        unresolved,
    });
}

fn scaling(file: &Path, v: &Value, is_target: bool, options: &ConvertOptions, out: &mut Collected) {
    let resource_id = v
        .get("ResourceId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let ns = v
        .get("ServiceNamespace")
        .and_then(Value::as_str)
        .unwrap_or("ecs");
    if ns != "ecs" {
        *out.skipped
            .entry(format!("Application Auto Scaling namespace {ns}"))
            .or_default() += 1;
        return;
    }
    let resource = format!(
        "{resource_id} ({})",
        if is_target {
            "scalable target"
        } else {
            "scaling policy"
        }
    );
    let mut copy = v.clone();
    let read_only = [
        "ServiceNamespace",
        "ResourceId",
        "ScalableDimension",
        "RoleARN",
        "CreationTime",
        "ScalableTargetARN",
        "PolicyARN",
        "Alarms",
        "PredictedCapacity",
    ];
    if let Some(m) = copy.as_object_mut() {
        for k in read_only {
            m.remove(k);
        }
    }
    let mut unresolved = Vec::new();
    placeholders(&mut copy, "", options, &mut unresolved);
    let source = Location {
        file: file.to_owned(),
        resource: Some(resource),
        path: None,
    };
    let (target, policies) = if is_target {
        out.rename_keys(&mut copy, schema::auto_scaling(), "", &source);
        (Some(copy), Vec::new())
    } else {
        out.rename_keys(
            &mut copy,
            schema::scaling_policy(),
            "scalingPolicies[0]",
            &source,
        );
        (None, vec![copy])
    };
    out.scaling.push(PendingScaling {
        resource_id,
        key: None,
        target,
        policies,
        source,
        unresolved,
        unidentified: None,
    });
}

fn stem(file: &Path) -> String {
    file.file_stem()
        .map_or_else(|| "input".to_owned(), |s| s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_and_rule_arns_share_the_listener_key() {
        let l = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2";
        let r = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
        assert_eq!(listener_key(l), listener_key(r));
        assert_eq!(listener_parts(l).0, "my-alb");
    }
}
