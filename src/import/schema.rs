//! Input shaped by the CRD schema: AWS field names (PascalCase in CloudFormation and ELB/Auto
//! Scaling output, camelCase in ECS output) matched to our lowerCamelCase fields, and scalars
//! coerced to the types the API takes.
//!
//! Matching against the schema instead of a hand-written case converter gets the acronyms
//! right for free (`EnableECSManagedTags` → `enableECSManagedTags`, `SizeInGiB` →
//! `sizeInGiB`, `EFSVolumeConfiguration` → `efsVolumeConfiguration`) and keeps the keys of
//! map-valued fields (docker labels, log options, driver options) verbatim.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kube::CustomResourceExt;
use serde_json::{Map, Value};

use super::Kind;

/// A change made while shaping, reported to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Path of the field in the output spec.
    pub path: String,
    /// What happened.
    pub message: String,
}

/// CloudFormation property names that differ from the API field beyond case.
const RENAMES: &[(&str, &str)] = &[
    ("placementstrategies", "placementStrategy"),
    ("clustersettings", "settings"),
    ("proxyconfigurationproperties", "properties"),
];

/// The `spec` schema of a kind, from the generated CRD (fully inlined and structural).
pub fn spec_schema(kind: Kind) -> &'static Value {
    static SCHEMAS: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        let crds = [
            (Kind::EcsCluster, crate::api::EcsCluster::crd()),
            (Kind::TaskDefinition, crate::api::TaskDefinition::crd()),
            (Kind::TargetGroup, crate::api::TargetGroup::crd()),
            (Kind::Listener, crate::api::Listener::crd()),
            (Kind::EcsService, crate::api::EcsService::crd()),
            (Kind::EcsScheduledTask, crate::api::EcsScheduledTask::crd()),
        ];
        crds.into_iter()
            .map(|(kind, crd)| {
                let crd = serde_json::to_value(crd).expect("a CRD serializes");
                let spec = crd
                    .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
                    .cloned()
                    .unwrap_or(Value::Null);
                (kind.as_str(), spec)
            })
            .collect()
    });
    &all[kind.as_str()]
}

/// The schema of one listener rule (an item of a Listener's `rules`).
pub fn listener_rule() -> &'static Value {
    property(spec_schema(Kind::Listener), "rules")
        .and_then(|r| r.get("items"))
        .unwrap_or(&Value::Null)
}

/// The schema of an EcsService's `autoScaling`.
pub fn auto_scaling() -> &'static Value {
    property(spec_schema(Kind::EcsService), "autoScaling").unwrap_or(&Value::Null)
}

/// The schema of one scaling policy (an item of `autoScaling.scalingPolicies`).
pub fn scaling_policy() -> &'static Value {
    property(auto_scaling(), "scalingPolicies")
        .and_then(|p| p.get("items"))
        .unwrap_or(&Value::Null)
}

/// The schema of the field `name` under an object schema.
pub fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}

fn normalize(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether `value` is a CloudFormation intrinsic (`{"Ref": ..}`, `{"Fn::X": ..}`,
/// `{"Condition": ..}`), whose keys must not be renamed.
pub fn is_intrinsic(value: &Value) -> bool {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let key = map.keys().next().expect("one key");
            key == "Ref" || key == "Condition" || key.starts_with("Fn::")
        }
        _ => false,
    }
}

fn is_free_form(schema: &Value) -> bool {
    schema.get("properties").is_none()
        && schema
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

fn is_string_map(schema: &Value) -> bool {
    schema.get("properties").is_none() && schema.get("additionalProperties").is_some()
}

/// A best-effort lowerCamelCase for fields of free-form (`any_json`) values: the leading
/// upper-case run is lowered (`DNSName` → `dnsName`, `Enabled` → `enabled`); keys that are not
/// identifiers (`awslogs-group`) are kept.
pub fn lower_camel(key: &str) -> String {
    if !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return key.to_owned();
    }
    let chars: Vec<char> = key.chars().collect();
    let upper = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let lower_to = if upper == chars.len() || upper <= 1 {
        upper
    } else if chars[upper].is_ascii_lowercase() {
        upper - 1
    } else {
        upper
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < lower_to {
                c.to_ascii_lowercase()
            } else {
                *c
            }
        })
        .collect()
}

/// Renames the keys of `value` to the API's field names, following `schema`. Fields the API
/// does not have are removed and reported. Intrinsics are kept as they are (the branches of
/// `Fn::If` are renamed in place).
pub fn rename_keys(value: &mut Value, schema: &Value, path: &str, changes: &mut Vec<Change>) {
    if is_intrinsic(value) {
        if let Some(Value::Array(args)) = value.get_mut("Fn::If") {
            for branch in args.iter_mut().skip(1) {
                rename_keys(branch, schema, path, changes);
            }
        }
        return;
    }
    match value {
        Value::Object(map) => {
            if is_string_map(schema) {
                if let Some(item) = schema.get("additionalProperties") {
                    for (k, v) in map.iter_mut() {
                        rename_keys(v, item, &format!("{path}.{k}"), changes);
                    }
                }
                return;
            }
            if is_free_form(schema) || schema.is_null() {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    let k = lower_camel(&k);
                    rename_keys(&mut v, &Value::Null, &format!("{path}.{k}"), changes);
                    map.insert(k, v);
                }
                return;
            }
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            let by_norm: BTreeMap<String, &String> =
                props.keys().map(|k| (normalize(k), k)).collect();
            let old = std::mem::take(map);
            for (k, mut v) in old {
                let norm = normalize(&k);
                let target = RENAMES
                    .iter()
                    .find(|(from, to)| *from == norm && props.contains_key(*to))
                    .map(|(_, to)| (*to).to_owned())
                    .or_else(|| by_norm.get(&norm).map(|s| (*s).clone()));
                match target {
                    Some(name) => {
                        let child = &props[&name];
                        rename_keys(&mut v, child, &join(path, &name), changes);
                        map.insert(name, v);
                    }
                    None => changes.push(Change {
                        path: join(path, &k),
                        message: "not a field of the ecsplane API; dropped".into(),
                    }),
                }
            }
        }
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            for (i, item) in items.iter_mut().enumerate() {
                rename_keys(item, item_schema, &format!("{path}[{i}]"), changes);
            }
        }
        _ => {}
    }
}

/// `path.key`, or `key` at the top.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Where the schema has one object and the value is a list of exactly one (how Terraform
/// writes a nested block such as `health_check { ... }`), the list is replaced by its item;
/// keys are matched as [`rename_keys`] matches them, before renaming.
pub fn unwrap_single_blocks(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            let by_norm: BTreeMap<String, &Value> =
                props.iter().map(|(k, v)| (normalize(k), v)).collect();
            for (k, v) in map.iter_mut() {
                let norm = normalize(k);
                let child = RENAMES
                    .iter()
                    .find(|(from, _)| *from == norm)
                    .and_then(|(_, to)| props.get(*to))
                    .or_else(|| by_norm.get(&norm).copied());
                let Some(child) = child else { continue };
                if child.get("type").and_then(Value::as_str) == Some("object")
                    && let Value::Array(items) = v
                    && items.len() == 1
                    && items[0].is_object()
                {
                    *v = items.remove(0);
                }
                unwrap_single_blocks(v, child);
            }
        }
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            for item in items {
                unwrap_single_blocks(item, item_schema);
            }
        }
        _ => {}
    }
}

/// Converts resolved scalars to the types `schema` asks for (CloudFormation gives `"true"` and
/// `"10"`; ELB output gives rule priorities as strings), removes nulls, and drops values that
/// cannot be converted, reporting each.
pub fn coerce(value: &mut Value, schema: &Value, path: &str, changes: &mut Vec<Change>) {
    if schema.is_null() || is_free_form(schema) {
        strip_nulls(value);
        return;
    }
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        // The int-or-string fields (task cpu and memory) are strings in the ECS API; written
        // as strings they also pass the CEL rules of every validator.
        if let Value::Number(n) = value {
            *value = Value::String(n.to_string());
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    match (ty, &mut *value) {
        (_, Value::Null) => return,
        ("object", Value::Object(map)) => {
            let string_map = is_string_map(schema);
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let child = if string_map {
                    schema.get("additionalProperties")
                } else {
                    property(schema, &k)
                };
                let v = map.get_mut(&k).expect("key exists");
                match child {
                    Some(child) => coerce(v, child, &join(path, &k), changes),
                    None => strip_nulls(v),
                }
                if v.is_null() {
                    map.remove(&k);
                }
            }
            return;
        }
        ("array", Value::Array(items)) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            for (i, item) in items.iter_mut().enumerate() {
                coerce(item, item_schema, &format!("{path}[{i}]"), changes);
            }
            items.retain(|v| !v.is_null());
            return;
        }
        _ => {}
    }
    match scalar(ty, value, schema) {
        Ok(Some(v)) => *value = v,
        Ok(None) => {}
        Err(why) => {
            changes.push(Change {
                path: path.to_owned(),
                message: why,
            });
            *value = Value::Null;
        }
    }
}

/// The scalar `value` as the schema type `ty`: `Ok(None)` when it already is, `Err` when it
/// cannot be.
fn scalar(ty: &str, value: &Value, schema: &Value) -> Result<Option<Value>, String> {
    Ok(match (ty, value) {
        ("integer", Value::Number(n)) => {
            if n.as_i64().is_some() {
                None
            } else {
                match n.as_f64().filter(|f| f.fract() == 0.0) {
                    Some(f) => Some(Value::from(f as i64)),
                    None => return Err(format!("{n} is not a whole number; dropped")),
                }
            }
        }
        ("integer", Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(n) => Some(Value::from(n)),
            Err(_) => return Err(format!("{s:?} is not a whole number; dropped")),
        },
        ("number", Value::Number(_)) | ("boolean", Value::Bool(_)) => None,
        ("number", Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) => serde_json::Number::from_f64(f).map(Value::Number),
            Err(_) => return Err(format!("{s:?} is not a number; dropped")),
        },
        ("boolean", Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => return Err(format!("{s:?} is not true or false; dropped")),
        },
        ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
        ("string", Value::Bool(b)) => Some(Value::String(b.to_string())),
        ("string", Value::String(s)) => match schema.get("enum").and_then(Value::as_array) {
            Some(allowed) if !allowed.iter().any(|a| a.as_str() == Some(s)) => {
                match allowed
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|a| a.eq_ignore_ascii_case(s))
                {
                    Some(a) => Some(Value::String(a.to_owned())),
                    None => {
                        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                        return Err(format!("{s:?} is not one of {}; dropped", names.join(", ")));
                    }
                }
            }
            _ => None,
        },
        ("", _) => None,
        (ty, v) => {
            let got = match v {
                Value::Object(_) => "an object",
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                Value::Null => "null",
            };
            return Err(format!("expected {ty}, found {got}; dropped"));
        }
    })
}

/// Removes null members of objects and null items of lists, recursively.
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(strip_nulls);
        }
        _ => {}
    }
}

/// Renames and coerces a value that has no intrinsics (AWS CLI output, plain JSON).
pub fn shape(value: &mut Value, kind: Kind, changes: &mut Vec<Change>) {
    let schema = spec_schema(kind);
    rename_keys(value, schema, "", changes);
    coerce(value, schema, "", changes);
}

/// An empty JSON object.
pub fn object() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pascal_case_properties_take_the_api_spelling_including_acronyms() {
        let mut v = json!({
            "Family": "web",
            "Cpu": "256",
            "EphemeralStorage": {"SizeInGiB": "30"},
            "ContainerDefinitions": [{
                "Name": "app", "Image": "nginx", "Essential": "true", "Memory": "512",
                "DockerLabels": {"com.example.Team": "a", "Owner": "b"},
                "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "g", "Mode": "x"}},
                "PortMappings": [{"ContainerPort": 80, "Protocol": "TCP"}],
            }],
            "Volumes": [{"Name": "v", "EFSVolumeConfiguration": {"FilesystemId": "fs-1", "TransitEncryption": "ENABLED"}}],
        });
        let mut changes = vec![];
        shape(&mut v, Kind::TaskDefinition, &mut changes);
        assert_eq!(
            v,
            json!({
                "family": "web",
                "cpu": "256",
                "ephemeralStorage": {"sizeInGiB": 30},
                "containerDefinitions": [{
                    "name": "app", "image": "nginx", "essential": true, "memory": 512,
                    "dockerLabels": {"com.example.Team": "a", "Owner": "b"},
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g", "Mode": "x"}},
                    "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                }],
                "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED"}}],
            })
        );
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn acronym_fields_and_cloudformation_renames_reach_the_service_spec() {
        let mut v = json!({
            "EnableECSManagedTags": "true",
            "PlacementStrategies": [{"Type": "spread", "Field": "attribute:ecs.availability-zone"}],
            "TaskDefinition": "web",
            "DesiredCount": "2",
            "Bogus": 1,
        });
        let mut changes = vec![];
        shape(&mut v, Kind::EcsService, &mut changes);
        assert_eq!(
            v,
            json!({
                "enableECSManagedTags": true,
                "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
                "taskDefinition": "web",
                "desiredCount": 2,
            })
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "Bogus");
    }

    #[test]
    fn values_that_cannot_take_the_api_type_are_dropped_and_reported() {
        let mut v = json!({"family": "x", "containerDefinitions": [{"name": "a", "image": "i",
            "portMappings": [{"containerPort": 80, "protocol": "http"}], "ulimits": null}]});
        let mut changes = vec![];
        shape(&mut v, Kind::TaskDefinition, &mut changes);
        assert_eq!(
            v["containerDefinitions"][0],
            json!({"name": "a", "image": "i", "portMappings": [{"containerPort": 80}]})
        );
        assert_eq!(
            changes[0].path,
            "containerDefinitions[0].portMappings[0].protocol"
        );
    }

    #[test]
    fn free_form_fields_get_lower_camel_case_keys() {
        assert_eq!(lower_camel("DNSName"), "dnsName");
        assert_eq!(lower_camel("Enabled"), "enabled");
        assert_eq!(lower_camel("IAM"), "iam");
        assert_eq!(lower_camel("awslogs-group"), "awslogs-group");
        assert_eq!(lower_camel("portName"), "portName");
    }
}
