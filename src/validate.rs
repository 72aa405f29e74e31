//! Client-side validation equal to what the API server does on create: the CRD's structural
//! schema (types, required fields, enums, bounds, lengths, patterns, list-map keys, unknown
//! fields as under kubectl's default strict field validation) and its CEL rules.
//!
//! Both come from one source, the CRDs generated from the Rust types ([`crate::api::crds`]):
//! the structural checks walk the CRD's `openAPIV3Schema`, and the CEL rules
//! (`x-kubernetes-validations`) are evaluated by kube's `cel` feature (kube-cel), which does
//! not check structure itself. CEL runs only on objects that are structurally valid, as on
//! the API server, where a structurally invalid object never reaches the rules.
//!
//! The lowest layer above [`crate::api`]: it knows nothing of files or of the translation.
//! A [`Problem`] is a schema or a rule violation ([`ProblemKind`]); the file loader turns
//! each into an error naming the file and object.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

/// Which check a [`Problem`] fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemKind {
    /// The CRD's structural schema (types, required fields, enums, bounds, unknown fields) or
    /// the metadata rules of every object.
    Schema,
    /// One of the CRD's CEL rules (`x-kubernetes-validations`).
    Rule,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProblemKind::Schema => "schema violation",
            ProblemKind::Rule => "rule violation",
        })
    }
}

/// One validation failure: the field path (`spec.port`) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Path of the offending field, such as `spec.containerDefinitions[0].cpu`.
    pub path: String,
    /// The schema or a CEL rule.
    pub kind: ProblemKind,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A schema problem at `path`.
    fn schema(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            kind: ProblemKind::Schema,
            message: message.into(),
        }
    }
}

/// The `openAPIV3Schema` of every kind, keyed by kind.
fn schemas() -> &'static BTreeMap<String, Value> {
    static SCHEMAS: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        crate::api::crds()
            .into_iter()
            .map(|crd| {
                let schema = crd.spec.versions[0]
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .map(|s| serde_json::to_value(s).expect("a schema serializes"))
                    .expect("every generated CRD has a schema");
                (crd.spec.names.kind, schema)
            })
            .collect()
    })
}

thread_local! {
    // The CEL environment and every kind's rules, compiled once per thread (compiling them
    // for each object cost about 5 ms per document).
    static CEL: (kube::core::cel::Validator, BTreeMap<String, kube::core::cel::CompiledSchema>) = (
        kube::core::cel::Validator::new(),
        schemas()
            .iter()
            .map(|(kind, schema)| (kind.clone(), kube::core::cel::compile_schema(schema)))
            .collect(),
    );
}

/// Validates one custom resource (`apiVersion`, `kind`, `metadata`, `spec`) as the API server
/// would on create. Returns every problem found; empty when the object is valid.
pub fn validate(object: &Value) -> Vec<Problem> {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(schema) = schemas().get(kind) else {
        return vec![Problem::schema(
            "kind",
            format!(
                "unknown kind {kind:?}; expected one of {}",
                schemas().keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )];
    };
    let mut problems = Vec::new();
    validate_metadata(object, &mut problems);
    // The API server ignores status on create; so do we.
    let mut object = object.clone();
    if let Some(m) = object.as_object_mut() {
        m.remove("status");
    }
    structural(schema, &object, "", &mut problems);
    // The rules run on a structurally invalid object too, so one run shows every problem
    // (the API server stops at the schema); a rule over a field the schema refused says
    // nothing more about it and is left out.
    if let Err(errors) = CEL.with(|(validator, compiled)| {
        let compiled = compiled
            .get(kind)
            .expect("every kind with a schema has compiled rules");
        validator.validate_compiled(compiled, &object, None)
    }) {
        let refused: Vec<String> = problems.iter().map(|p| p.path.clone()).collect();
        let schema_clean = refused.is_empty();
        problems.extend(
            errors
                .into_iter()
                .filter(|e| {
                    schema_clean
                        || !refused.iter().any(|r| inside(r, &e.field_path))
                            && !e.message.contains("no such overload")
                            && !e.message.contains("failed to evaluate")
                })
                .map(|e| Problem {
                    path: e.field_path.clone(),
                    kind: ProblemKind::Rule,
                    message: e.message.clone(),
                }),
        );
    }
    name_unknown_dependencies(&object, &mut problems);
    problems.sort();
    problems.dedup();
    problems
}

/// Adds to the rule problem of a `dependsOn` on an unknown container which container depends
/// on which (the CRD's message cannot say, see
/// [`crate::api::task_definition::DEPENDS_ON_UNKNOWN_MESSAGE`]).
fn name_unknown_dependencies(object: &Value, problems: &mut [Problem]) {
    use crate::api::task_definition::DEPENDS_ON_UNKNOWN_MESSAGE;
    let Some(p) = problems
        .iter_mut()
        .find(|p| p.kind == ProblemKind::Rule && p.message == DEPENDS_ON_UNKNOWN_MESSAGE)
    else {
        return;
    };
    let containers = object
        .pointer("/spec/containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let name = |c: &Value| {
        c.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let known: Vec<String> = containers.iter().map(name).collect();
    let unknown: Vec<String> = containers
        .iter()
        .flat_map(|c| {
            let from = name(c);
            c.get("dependsOn")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| d.get("containerName").and_then(Value::as_str))
                .filter(|d| !known.iter().any(|k| k == d))
                .map(move |d| format!("container {from:?} depends on {d:?}, which is not one"))
                .collect::<Vec<_>>()
        })
        .collect();
    if !unknown.is_empty() {
        p.message = format!("{}: {}", p.message, unknown.join("; "));
    }
}

fn validate_metadata(object: &Value, problems: &mut Vec<Problem>) {
    match object.pointer("/metadata/name").and_then(Value::as_str) {
        None => problems.push(Problem::schema(
            "metadata.name",
            "Required value: name is required",
        )),
        Some(name) if !is_dns_subdomain(name) => problems.push(Problem::schema(
            "metadata.name",
            format!(
                "Invalid value {name:?}: a lowercase RFC 1123 subdomain must consist of lower \
                 case alphanumeric characters, '-' or '.', and must start and end with an \
                 alphanumeric character (at most 253 characters)"
            ),
        )),
        Some(_) => {}
    }
    if let Some(ns) = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        && !is_dns_label(ns)
    {
        problems.push(Problem::schema(
            "metadata.namespace",
            format!("Invalid value {ns:?}: a namespace must be an RFC 1123 label"),
        ));
    }
}

/// Whether `s` is a DNS-1123 label (what Kubernetes requires of namespaces and most names).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a DNS-1123 subdomain (what Kubernetes requires of custom resource names).
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Whether field path `inner` is `outer` or lies inside it: `spec.a[0].b` in `spec.a`, not
/// `spec.ab`.
fn inside(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner.starts_with(outer)
            && matches!(inner.as_bytes().get(outer.len()), Some(b'.' | b'['))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn schema_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(57).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

/// Walks `value` against a structural schema node.
fn structural(schema: &Value, value: &Value, path: &str, problems: &mut Vec<Problem>) {
    if value.is_null() {
        // Nullable fields accept null; on the others the API server prunes the null.
        return;
    }
    let mut fail = |message: String| {
        let at = if path.is_empty() { "(object)" } else { path };
        problems.push(Problem::schema(at, message))
    };
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            fail(format!(
                "Invalid value {}: must be an integer or a string",
                describe(value)
            ));
        }
        return;
    }
    let expected = |ty: &str| format!("Invalid value {}: must be of type {ty}", describe(value));
    match schema_type(schema) {
        None => {}
        Some("object") => match value.as_object() {
            Some(map) => object(schema, map, path, problems),
            None => fail(expected("object")),
        },
        Some("array") => match value.as_array() {
            Some(items) => array(schema, items, path, problems),
            None => fail(expected("array")),
        },
        Some("string") => match value.as_str() {
            Some(s) => string(schema, s, value, &mut fail),
            None => fail(expected("string")),
        },
        Some("integer") if !(value.is_i64() || value.is_u64()) => fail(expected("integer")),
        Some("integer") => integer(schema, value, &mut fail),
        Some("number") => match value.as_f64() {
            Some(n) => check_bounds(schema, n, value, &mut fail),
            None => fail(expected("number")),
        },
        Some("boolean") if !value.is_boolean() => fail(expected("boolean")),
        Some("boolean") => {}
        Some(other) => fail(format!("schema type {other:?} is not supported")),
    }
}

/// An object: required properties, then each property against its schema (unknown ones are
/// refused unless the schema preserves them).
fn object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if map.get(r).is_none_or(Value::is_null) {
                problems.push(Problem::schema(join(path, r), "Required value"));
            }
        }
    }
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, child) in map {
        let child_path = join(path, key);
        if path.is_empty() && key == "metadata" {
            continue;
        }
        match properties.and_then(|p| p.get(key)) {
            Some(child_schema) => structural(child_schema, child, &child_path, problems),
            None => match additional {
                Some(a) => structural(a, child, &child_path, problems),
                None if preserve => {}
                // apiVersion and kind select the schema; metadata is checked by validate_metadata.
                None if path.is_empty()
                    && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
                None => problems.push(Problem::schema(
                    child_path,
                    format!(
                        "unknown field {key:?} (the API server refuses unknown fields under \
                         strict field validation){}",
                        suggestion(key, properties)
                    ),
                )),
            },
        }
    }
}

/// A list: its length bounds, the uniqueness of list-map keys and set items, then each item.
fn array(schema: &Value, items: &[Value], path: &str, problems: &mut Vec<Problem>) {
    let at = if path.is_empty() { "(object)" } else { path };
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        problems.push(Problem::schema(
            at,
            format!("must have at least {min} items, has {}", items.len()),
        ));
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && (items.len() as u64) > max
    {
        problems.push(Problem::schema(
            at,
            format!("must have at most {max} items, has {}", items.len()),
        ));
    }
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let key: Vec<String> = keys
                    .iter()
                    .map(|k| item.get(*k).map(|v| v.to_string()).unwrap_or_default())
                    .collect();
                if !seen.insert(key.clone()) {
                    problems.push(Problem::schema(
                        format!("{path}[{i}]"),
                        format!("Duplicate value: {} {}", keys.join(","), key.join(",")),
                    ));
                }
            }
        }
        Some("set") => {
            let mut seen = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                if !seen.insert(item.to_string()) {
                    problems.push(Problem::schema(
                        format!("{path}[{i}]"),
                        format!("Duplicate value: {}", describe(item)),
                    ));
                }
            }
        }
        _ => {}
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            structural(item_schema, item, &format!("{path}[{i}]"), problems);
        }
    }
}

/// A string: length bounds, pattern and enum.
fn string(schema: &Value, s: &str, value: &Value, fail: &mut impl FnMut(String)) {
    let len = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        fail(format!(
            "Invalid value {s:?}: must be at least {min} characters long"
        ));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        fail(format!(
            "Too long: may not be more than {max} characters (has {len})"
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && !pattern_matches(pattern, s)
    {
        fail(format!("Invalid value {s:?}: should match '{pattern}'"));
    }
    check_enum(schema, value, fail);
}

/// An integer: bounds, the range of its format and enum.
fn integer(schema: &Value, value: &Value, fail: &mut impl FnMut(String)) {
    let n = value.as_f64().unwrap_or_default();
    check_bounds(schema, n, value, fail);
    let (lo, hi) = match schema.get("format").and_then(Value::as_str) {
        Some("int32") => (i32::MIN as f64, i32::MAX as f64),
        _ => (i64::MIN as f64, i64::MAX as f64),
    };
    if n < lo || n > hi {
        fail(format!(
            "Invalid value {value}: out of range for the field's format"
        ));
    }
    check_enum(schema, value, fail);
}

fn check_bounds(schema: &Value, n: f64, value: &Value, fail: &mut impl FnMut(String)) {
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        let exclusive = flag(schema, "exclusiveMinimum");
        if n < min || (exclusive && n == min) {
            fail(format!(
                "Invalid value {value}: should be greater than {}{min}",
                if exclusive { "" } else { "or equal to " }
            ));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        let exclusive = flag(schema, "exclusiveMaximum");
        if n > max || (exclusive && n == max) {
            fail(format!(
                "Invalid value {value}: should be less than {}{max}",
                if exclusive { "" } else { "or equal to " }
            ));
        }
    }
}

fn check_enum(schema: &Value, value: &Value, fail: &mut impl FnMut(String)) {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        fail(format!(
            "Unsupported value: {}: supported values: {}",
            describe(value),
            list.join(", ")
        ));
    }
}

/// Matches an OpenAPI (ECMA 262) pattern. The CRD's patterns use the subset the `regex` crate
/// shares with ECMA; compiled patterns are cached.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let re = cache
        .entry(pattern.to_owned())
        .or_insert_with(|| regex::Regex::new(pattern).ok());
    re.as_ref().is_none_or(|re| re.is_match(s))
}

/// ` (did you mean "x"?)` when a known field differs only by case or `_`/`-`.
fn suggestion(key: &str, properties: Option<&serde_json::Map<String, Value>>) -> String {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], "");
    properties
        .and_then(|p| p.keys().find(|k| norm(k) == norm(key)))
        .map(|k| format!("; did you mean {k:?}?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(spec: Value) -> Value {
        json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
               "metadata": {"name": "web"}, "spec": spec})
    }

    fn paths(problems: &[Problem]) -> Vec<(&str, ProblemKind)> {
        problems.iter().map(|p| (p.path.as_str(), p.kind)).collect()
    }

    /// One run shows both: the schema problem of one field and a rule broken elsewhere.
    #[test]
    fn schema_and_rule_problems_of_one_object_are_reported_together() {
        let problems = validate(&td(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "nginx", "essential": false,
             "portMappings": [{"containerPort": "x"}]}]})));
        let kinds: Vec<ProblemKind> = problems.iter().map(|p| p.kind).collect();
        assert!(kinds.contains(&ProblemKind::Schema), "{problems:?}");
        assert!(kinds.contains(&ProblemKind::Rule), "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("essential container")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_dependency_on_an_unknown_container_names_it() {
        let problems = validate(&td(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "nginx",
             "dependsOn": [{"containerName": "envoy", "condition": "START"}]}]})));
        assert!(
            problems.iter().any(|p| p
                .message
                .ends_with("container \"app\" depends on \"envoy\", which is not one")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_valid_task_definition_has_no_problems() {
        let problems = validate(&td(json!({"family": "web", "cpu": "1 vCPU",
            "containerDefinitions": [{"name": "app", "image": "nginx", "cpu": 256}]})));
        assert_eq!(problems, []);
    }

    #[test]
    fn task_cpu_and_memory_are_accepted_as_numbers_and_as_strings_with_units() {
        for (cpu, memory) in [
            (json!(256), json!(512)),
            (json!("256"), json!("512")),
            (json!("1 vCPU"), json!("2 GB")),
            (json!("0.5 vcpu"), json!("512 MiB")),
        ] {
            let problems = validate(&td(json!({"family": "web", "cpu": cpu, "memory": memory,
                "containerDefinitions": [{"name": "app", "image": "nginx"}]})));
            assert_eq!(problems, [], "cpu {cpu}, memory {memory}");
        }
    }

    #[test]
    fn task_cpu_and_memory_that_are_no_ecs_size_break_their_rules_by_message() {
        let problems = validate(&td(json!({"family": "web", "cpu": "two cores",
            "memory": "lots", "containerDefinitions": [{"name": "app", "image": "nginx"}]})));
        assert_eq!(
            paths(&problems),
            [
                ("spec.cpu", ProblemKind::Rule),
                ("spec.memory", ProblemKind::Rule)
            ]
        );
        assert_eq!(
            problems[0].message,
            "task cpu must be CPU units such as \"256\" or vCPUs such as \"1 vCPU\""
        );
        assert_eq!(
            problems[1].message,
            "task memory must be MiB such as \"512\" or a size such as \"2 GB\""
        );
    }

    #[test]
    fn wrong_types_missing_fields_and_unknown_fields_are_all_reported() {
        let problems = validate(&td(json!({"family": "web",
            "containerDefinitions": [{"name": "app", "cpu": "lots", "portBindings": []}]})));
        assert_eq!(
            paths(&problems),
            [
                ("spec.containerDefinitions[0].cpu", ProblemKind::Schema),
                ("spec.containerDefinitions[0].image", ProblemKind::Schema),
                (
                    "spec.containerDefinitions[0].portBindings",
                    ProblemKind::Schema
                ),
            ]
        );
    }

    #[test]
    fn bounds_patterns_and_enums_are_checked() {
        let problems = validate(&td(json!({"family": "web!", "networkMode": "nat",
            "containerDefinitions": [{"name": "app", "image": "x", "stopTimeout": 500}]})));
        assert_eq!(
            paths(&problems),
            [
                (
                    "spec.containerDefinitions[0].stopTimeout",
                    ProblemKind::Schema
                ),
                ("spec.family", ProblemKind::Schema),
                ("spec.networkMode", ProblemKind::Schema),
            ]
        );
    }

    #[test]
    fn cel_rules_of_the_crd_are_evaluated() {
        let problems = validate(&td(json!({"family": "web",
            "containerDefinitions": [{"name": "app", "image": "x", "essential": false}]})));
        assert_eq!(
            paths(&problems),
            [("spec.containerDefinitions", ProblemKind::Rule)]
        );
        assert_eq!(
            problems[0].message,
            "a task definition needs at least one essential container"
        );
    }

    #[test]
    fn list_map_keys_must_be_unique() {
        let problems = validate(&td(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x"}, {"name": "app", "image": "y"}]})));
        assert_eq!(
            paths(&problems),
            [("spec.containerDefinitions[1]", ProblemKind::Schema)]
        );
    }

    #[test]
    fn names_must_be_dns_subdomains() {
        let mut object = td(json!({"family": "web",
            "containerDefinitions": [{"name": "app", "image": "x"}]}));
        object["metadata"]["name"] = json!("Web_1");
        assert_eq!(
            paths(&validate(&object)),
            [("metadata.name", ProblemKind::Schema)]
        );
    }

    #[test]
    fn unknown_kinds_are_refused() {
        let problems = validate(
            &json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "Nope",
            "metadata": {"name": "x"}}),
        );
        assert_eq!(paths(&problems), [("kind", ProblemKind::Schema)]);
    }
}
