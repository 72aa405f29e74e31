//! `terraform show -json` output: a plan (`planned_values.root_module`) or a state
//! (`values.root_module`), recognised by `format_version` with one of them. Terraform has
//! evaluated everything — modules of every source, `count`, `for_each`, `dynamic`, data
//! sources, `templatefile` — so the resources of the supported types are converted from their
//! values, whose attribute names are the HCL ones: they take the same reshape as `.tf`
//! resources (`convert`).
//!
//! What a plan does not know yet (an ARN of a resource it creates) is read from the plan's
//! `configuration`: a reference to a converted resource (`aws_ecs_task_definition.web.arn`)
//! is that resource's name, as for `.tf` files; any other unknown value is unresolved with
//! its address. Attributes Terraform marks sensitive are never written: sensitive container
//! definitions have their environment values turned into secret references, any other
//! sensitive attribute is unresolved.
//!
//! Depends on `convert` (the reshape and the drafts), `evaluate` (resource kinds) and
//! `import`'s shared types.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

use super::convert::{self, Naming};
use super::evaluate::{LISTENER_MARKER, resource_kind, supported};
use super::schedule;
use crate::import::{Collected, ImportError, Kind, Location, NoteKind, error};

/// Attributes Terraform computes or keeps for itself, left out of the objects: identities
/// known only to AWS, and Terraform's own behaviour flags (`wait_for_steady_state`, ...).
const NOT_CONFIGURATION: &[&str] = &[
    "id",
    "arn",
    "arn_suffix",
    "arn_without_revision",
    "revision",
    "tags_all",
    "load_balancer_arns",
    "wait_for_steady_state",
    "force_new_deployment",
    "force_delete",
    "triggers",
    "skip_destroy",
    "track_latest",
    "timeouts",
];

/// Whether a JSON document is `terraform show -json` output.
pub(in crate::import) fn is_show_json(v: &Value) -> bool {
    v.get("format_version").is_some_and(Value::is_string)
        && (v.get("planned_values").is_some_and(Value::is_object)
            || v.get("values").is_some_and(Value::is_object))
}

/// One resource of the document, with what the plan says about it.
struct Planned<'v> {
    address: String,
    /// The module's address (`module.ecs`), empty for the root module.
    module: String,
    ty: String,
    name: String,
    index: Option<&'v Value>,
    values: Map<String, Value>,
    sensitive: Option<&'v Value>,
}

/// Converts the resources of a `terraform show -json` document; returns its format.
pub(in crate::import) fn convert(
    file: &Path,
    doc: &Value,
    out: &mut Collected,
) -> Result<String, ImportError> {
    let (root, format) = match doc.get("planned_values") {
        Some(p) => (p.get("root_module"), "terraform show -json (plan)"),
        None => (
            doc.get("values").and_then(|v| v.get("root_module")),
            "terraform show -json (state)",
        ),
    };
    let mut resources = Vec::new();
    if let Some(root) = root {
        if !root.is_object() {
            return Err(error(file, None, "root_module is not an object"));
        }
        collect(root, "", &mut resources);
    }
    let unknown: BTreeMap<&str, &Value> = doc
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("address")?.as_str()?,
                c.get("change")?.get("after_unknown")?,
            ))
        })
        .collect();
    let names = names(&resources);
    for r in resources {
        if !supported(&r.ty) {
            *out.skipped.entry(r.ty.clone()).or_default() += 1;
            out.note(
                NoteKind::Skipped,
                file,
                Some(&r.address),
                None,
                format!("{} is not converted from Terraform", r.ty),
            );
            continue;
        }
        convert_resource(file, doc, r, &unknown, &names, out);
    }
    Ok(format.to_owned())
}

/// Every managed resource of a module and its child modules.
fn collect<'v>(module: &'v Value, address: &str, out: &mut Vec<Planned<'v>>) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("mode").and_then(Value::as_str) != Some("managed") {
            continue;
        }
        let (Some(ty), Some(name)) = (
            r.get("type").and_then(Value::as_str),
            r.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let values = r
            .get("values")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let index = r.get("index");
        let resource_address = r.get("address").and_then(Value::as_str).map_or_else(
            || {
                let prefix = if address.is_empty() {
                    String::new()
                } else {
                    format!("{address}.")
                };
                format!("{prefix}{ty}.{name}{}", index_text(index))
            },
            str::to_owned,
        );
        out.push(Planned {
            address: resource_address,
            module: address_of_module(module, address),
            ty: ty.to_owned(),
            name: name.to_owned(),
            index,
            values,
            sensitive: r.get("sensitive_values"),
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let child_address = child
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or(address);
        collect(child, child_address, out);
    }
}

fn address_of_module(module: &Value, fallback: &str) -> String {
    module
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or(fallback)
        .to_owned()
}

/// `[0]`, `["key"]` or nothing.
fn index_text(index: Option<&Value>) -> String {
    match index {
        Some(Value::Number(n)) => format!("[{n}]"),
        Some(Value::String(s)) => format!("[{}]", Value::String(s.clone())),
        _ => String::new(),
    }
}

/// The argument a resource type is named by.
fn name_argument(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::TaskDefinition => Some("family"),
        Kind::Listener => None,
        _ => Some("name"),
    }
}

/// `NAME` qualified by the module path (`ecs-web` for `module.ecs`), with the instance key.
fn default_name(r: &Planned) -> String {
    let module = r
        .module
        .replace("module.", "")
        .replace(['[', ']', '"'], "")
        .replace('.', "-");
    let index = index_text(r.index).replace(['[', ']', '"'], "");
    [module.as_str(), r.name.as_str(), index.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("-")
}

/// Address (without module prefix resolution) → what references to it stand for: the name
/// ecsplane gives the object (listeners: their marker).
fn names(resources: &[Planned]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in resources {
        if r.ty == "aws_cloudwatch_event_rule" {
            // What its targets name it by (`schedule::event_rule`'s key).
            let name = r.values.get("name").and_then(Value::as_str);
            let name = name
                .filter(|n| !n.is_empty())
                .map_or_else(|| default_name(r), str::to_owned);
            out.insert(r.address.clone(), name);
            continue;
        }
        let Some(kind) = resource_kind(&r.ty).or(is_load_balancer(&r.ty).then_some(Kind::Listener))
        else {
            continue;
        };
        let value = if kind == Kind::Listener && !is_load_balancer(&r.ty) {
            format!("{LISTENER_MARKER}{}", r.address)
        } else {
            let arg = if is_load_balancer(&r.ty) {
                Some("name")
            } else {
                name_argument(kind)
            };
            arg.and_then(|a| r.values.get(a))
                .and_then(Value::as_str)
                .map_or_else(|| default_name(r), str::to_owned)
        };
        out.insert(r.address.clone(), value);
    }
    out
}

fn is_load_balancer(ty: &str) -> bool {
    matches!(ty, "aws_lb" | "aws_alb")
}

/// The configuration of a resource: `configuration.root_module`, then `module_calls.NAME.module`
/// for each module of the address.
fn configuration<'v>(doc: &'v Value, r: &Planned) -> Option<&'v Value> {
    let mut module = doc.get("configuration")?.get("root_module")?;
    let mut rest = r.module.as_str();
    while let Some(tail) = rest.strip_prefix("module.") {
        let end = tail.find(['.', '[']).unwrap_or(tail.len());
        let name = &tail[..end];
        module = module.get("module_calls")?.get(name)?.get("module")?;
        let after = &tail[end..];
        let after = match after.strip_prefix('[') {
            Some(a) => a.split_once(']').map_or("", |(_, t)| t),
            None => after,
        };
        rest = after.trim_start_matches('.');
    }
    let local = format!("{}.{}", r.ty, r.name);
    module
        .get("resources")?
        .as_array()?
        .iter()
        .find(|c| c.get("address").and_then(Value::as_str) == Some(local.as_str()))?
        .get("expressions")
}

/// What filling the unknown values of one resource found.
#[derive(Default)]
struct Filled {
    /// Placeholder → why it is unresolved.
    reasons: BTreeMap<String, String>,
    /// (field path, message): references taken as the object they name.
    assumed: Vec<(String, String)>,
}

/// Fields whose value is an ARN or a name of another resource (`cluster`, `task_definition`,
/// `*_arn`, an EventBridge target's `arn` and `rule`): only these are filled from a reference, since a reference there is the object
/// itself (`family:revision` names the task definition's latest revision, as its family does
/// in ecsplane); any other unknown field may be a template around a reference.
fn refers_to_object(field: &str) -> bool {
    // `arn` and `rule`: an EventBridge target's cluster and rule.
    matches!(field, "cluster" | "task_definition" | "arn" | "rule") || field.ends_with("_arn")
}

/// Fills the values a plan does not know yet (`after_unknown`) from the references of the
/// configuration: in a field that refers to an object, a reference to exactly one converted
/// resource is that resource (noted); anything else the configuration sets is a placeholder
/// with its reason, and what it does not set is computed by AWS and left out.
fn fill_unknown(
    values: &mut Value,
    unknown: &Value,
    expressions: Option<&Value>,
    module: &str,
    path: &str,
    names: &BTreeMap<String, String>,
    filled: &mut Filled,
) {
    match (unknown, &mut *values) {
        (Value::Bool(true), _) => {
            *values = resolved(expressions, module, path, names, filled);
        }
        (Value::Object(u), Value::Object(v)) => {
            for (k, u) in u {
                let e = expressions.and_then(|e| e.get(k));
                if e.is_none() && !v.contains_key(k) {
                    continue;
                }
                let child_path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let slot = v.entry(k.clone()).or_insert(Value::Null);
                if slot.is_null() && !u.is_boolean() {
                    *slot = if u.is_array() {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                }
                fill_unknown(slot, u, e, module, &child_path, names, filled);
            }
        }
        (Value::Array(u), Value::Array(v)) => {
            for (i, u) in u.iter().enumerate() {
                let e = expressions.and_then(|e| e.get(i));
                if let Some(slot) = v.get_mut(i) {
                    fill_unknown(slot, u, e, module, &format!("{path}[{i}]"), names, filled);
                }
            }
        }
        _ => {}
    }
}

fn resolved(
    expression: Option<&Value>,
    module: &str,
    path: &str,
    names: &BTreeMap<String, String>,
    filled: &mut Filled,
) -> Value {
    let refs: Vec<&str> = expression
        .and_then(|e| e.get("references"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let prefix = if module.is_empty() {
        String::new()
    } else {
        format!("{module}.")
    };
    let field = path.rsplit(['.', ']']).next().unwrap_or(path);
    // The converted resources referred to: TYPE.NAME[KEY], with or without an attribute.
    let mut targets = BTreeSet::new();
    for r in &refs {
        for candidate in [Some(*r), r.rsplit_once('.').map(|(res, _)| res)]
            .into_iter()
            .flatten()
        {
            let address = format!("{prefix}{candidate}");
            if let Some(name) = names.get(&address) {
                targets.insert((address, name.clone()));
            }
        }
    }
    if refers_to_object(field)
        && let [(address, name)] = targets.iter().collect::<Vec<_>>().as_slice()
    {
        let shown = if name.starts_with(LISTENER_MARKER) {
            "that listener".to_owned()
        } else {
            name.clone()
        };
        filled.assumed.push((
            path.to_owned(),
            format!(
                "known only after apply in this plan; it refers to {address}, so it is {shown}, as ecsplane names it"
            ),
        ));
        return Value::String(name.clone());
    }
    let placeholder = format!("${{{prefix}{path}}}");
    let from = refs
        .first()
        .map(|r| format!(" (it comes from {r})"))
        .unwrap_or_default();
    filled.reasons.insert(
        placeholder.clone(),
        format!(
            "{prefix}{path} is only known after terraform apply{from}; convert `terraform show -json` of the state after apply, or pass --param {prefix}{path}=VALUE"
        ),
    );
    Value::String(placeholder)
}

/// Replaces every value the plan marks sensitive with a placeholder; returns whether the
/// container definitions are sensitive (they are handled apart).
fn hide_sensitive(
    values: &mut Value,
    sensitive: &Value,
    path: &str,
    address: &str,
    reasons: &mut BTreeMap<String, String>,
) -> bool {
    let mut containers = false;
    match (sensitive, &mut *values) {
        (Value::Bool(true), v) if !v.is_null() => {
            if path == "container_definitions" {
                return true;
            }
            let placeholder = format!("${{{address}.{path}}}");
            reasons.insert(
                placeholder.clone(),
                format!("{address}.{path} is sensitive in the plan: its value is never written into a manifest"),
            );
            *v = Value::String(placeholder);
        }
        (Value::Object(s), Value::Object(v)) => {
            for (k, s) in s {
                if let Some(slot) = v.get_mut(k) {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    containers |= hide_sensitive(slot, s, &p, address, reasons);
                }
            }
        }
        (Value::Array(s), Value::Array(v)) => {
            for (i, s) in s.iter().enumerate() {
                if let Some(slot) = v.get_mut(i) {
                    containers |=
                        hide_sensitive(slot, s, &format!("{path}[{i}]"), address, reasons);
                }
            }
        }
        _ => {}
    }
    containers
}

fn convert_resource(
    file: &Path,
    doc: &Value,
    mut r: Planned,
    unknown: &BTreeMap<&str, &Value>,
    names: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    let mut filled = Filled::default();
    let mut values = Value::Object(std::mem::take(&mut r.values));
    let own_arn = values.get("arn").and_then(Value::as_str).map(str::to_owned);
    let sensitive_containers = match r.sensitive {
        Some(s) => hide_sensitive(&mut values, s, "", &r.address, &mut filled.reasons),
        None => false,
    };
    if let Some(u) = unknown.get(r.address.as_str()) {
        let expressions = configuration(doc, &r);
        fill_unknown(
            &mut values,
            u,
            expressions,
            &r.module,
            "",
            names,
            &mut filled,
        );
    }
    for (path, message) in &filled.assumed {
        out.note(
            NoteKind::Assumed,
            file,
            Some(&r.address),
            Some(path),
            message.clone(),
        );
    }
    let reasons = filled.reasons;
    let Value::Object(mut body) = values else {
        return;
    };
    for key in NOT_CONFIGURATION {
        // An EventBridge target's `arn` is what it runs (the cluster), not its own.
        if *key == "arn" && r.ty == "aws_cloudwatch_event_target" {
            continue;
        }
        body.remove(*key);
    }
    body.retain(|_, v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
    let source = Location {
        file: file.to_owned(),
        resource: Some(r.address.clone()),
        path: None,
    };
    match r.ty.as_str() {
        "aws_lb_listener_rule" | "aws_alb_listener_rule" => {
            convert::listener_rule(body, source, &reasons, out);
        }
        "aws_appautoscaling_target" => convert::scalable_target(body, source, &reasons, out),
        "aws_appautoscaling_policy" => convert::scaling_policy(body, source, &reasons, out),
        "aws_cloudwatch_event_rule" | "aws_scheduler_schedule" => {
            let name = body
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && !n.contains("${"))
                .map_or_else(|| default_name(&r), str::to_owned);
            if r.ty == "aws_cloudwatch_event_rule" {
                schedule::event_rule(body, name, source, &reasons, out);
            } else {
                schedule::scheduler_schedule(body, name, source, &reasons, out);
            }
        }
        "aws_cloudwatch_event_target" => schedule::event_target(body, source, &reasons, out),
        _ => {
            let Some(kind) = resource_kind(&r.ty) else {
                return;
            };
            let containers = (kind == Kind::TaskDefinition).then(|| {
                let value = body
                    .get("container_definitions")
                    .cloned()
                    .unwrap_or(Value::Null);
                if value.is_null() {
                    return Err("no container_definitions".to_owned());
                }
                convert::parse_container_definitions(value, &reasons)
            });
            let sensitive: BTreeSet<String> = if sensitive_containers {
                BTreeSet::from(["*".to_owned()])
            } else {
                BTreeSet::new()
            };
            let mut keys = vec![format!("{LISTENER_MARKER}{}", r.address)];
            keys.extend(own_arn);
            let naming = Naming {
                default_name: names
                    .get(&r.address)
                    .filter(|n| !n.starts_with(LISTENER_MARKER))
                    .cloned()
                    .unwrap_or_else(|| default_name(&r)),
                listener_key: None,
            };
            convert::object(
                kind, body, containers, naming, source, &reasons, &sensitive, out,
            );
            if kind == Kind::Listener
                && let Some(d) = out.drafts.last_mut()
            {
                d.keys = keys;
            }
        }
    }
}
