//! CloudFormation templates: intrinsic functions resolved against parameters, pseudo
//! parameters, conditions, mappings, the template's own resources, the stacks nested in it
//! and the exports of the other templates; ECS, ELBv2 and Application Auto Scaling resources
//! turned into drafts.
//!
//! - this file: the entry points `import` calls — `convert_all` (which templates are stacks of
//!   their own and which are nested in another input, what every stack exports for
//!   `Fn::ImportValue` across files, which resources of each stack are converted, their
//!   `Condition`, the pseudo parameters assumed) and `parameter_file` (`--param-file` for
//!   CloudFormation parameter JSON);
//! - `evaluate.rs`: the template model and its intrinsic functions, template values → JSON
//!   values;
//! - `convert.rs`: one supported resource → a draft, a listener rule or scaling.
//! - `discovery.rs`: the Cloud Map resources, read by the ECS services and clusters that
//!   name them (registries, Service Connect namespaces).
//!
//! Dependencies point one way: this file → `convert` → `evaluate` → `import`'s shared types.

mod alarm;
mod convert;
mod discovery;
mod evaluate;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

pub(in crate::import) use self::evaluate::Source;
pub use self::evaluate::{
    EVAL_OUTPUT_BASE, EVAL_OUTPUT_RATIO, MAX_EVAL_DEPTH, MAX_NESTED_STACK_DEPTH, MAX_SPLIT_ITEMS,
};
use self::evaluate::{Export, Exports, STACK_TYPE, Template, file_name};
use super::{Collected, ImportError, Kind, Location, NoteKind, error, text};

/// Resource types this importer converts (besides `AWS::CloudFormation::Stack`, followed to
/// its template when that is among the inputs).
const SUPPORTED: &[&str] = &[
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
];

/// What one input file gave: its index among the sources, the format it was read as and how
/// many of its resources were skipped.
pub(super) type Summary = (usize, String, usize);

/// Converts every CloudFormation input into drafts, rules and scaling.
///
/// A template that another input nests (`AWS::CloudFormation::Stack` whose `TemplateURL` names
/// its file) is converted as that nested stack, with the `Parameters` its parent passes; every
/// other template is a stack of its own. Returns one summary per input, or every structural
/// error (no `Resources`, a resource without a `Type`).
pub(super) fn convert_all(
    sources: &[Source],
    out: &mut Collected,
) -> Result<Vec<Summary>, Vec<ImportError>> {
    let errors: Vec<ImportError> = sources.iter().filter_map(structure_error).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let none = Exports::new();
    let mut nested = BTreeSet::new();
    for i in 0..sources.len() {
        let t = Template::new(sources, i, &none, None);
        for (_, res) in stacks(&t) {
            let props = res.get("Properties").unwrap_or(&Value::Null);
            if let Ok(j) = t.nested_template(props)
                && j != i
            {
                nested.insert(j);
            }
        }
    }
    let order: Vec<usize> = (0..sources.len())
        .filter(|i| !nested.contains(i))
        .chain(nested.iter().copied())
        .collect();
    let mut exports = Exports::new();
    let mut visited = vec![false; sources.len()];
    for &i in &order {
        if !visited[i] {
            collect_exports(
                &Template::new(sources, i, &none, None),
                &mut exports,
                &mut visited,
            );
        }
    }
    let mut summaries: Vec<Summary> = Vec::new();
    let mut reached = vec![false; sources.len()];
    for &i in &order {
        if reached[i] {
            continue;
        }
        if nested.contains(&i) {
            out.note(
                NoteKind::Assumed,
                sources[i].file,
                None,
                None,
                "converted as a stack of its own: it is the template of a nested stack, but no stack among the inputs creates it",
            );
        }
        let t = Template::new(sources, i, &exports, None);
        convert_stack(
            &t,
            "CloudFormation".to_owned(),
            out,
            &mut reached,
            &mut summaries,
        );
    }
    Ok(summaries)
}

/// The structural error of a template, if it has one.
fn structure_error(s: &Source) -> Option<ImportError> {
    let Some(resources) = s.template.get("Resources").and_then(Value::as_object) else {
        return Some(error(
            s.file,
            None,
            "a CloudFormation template without Resources (a mapping of logical IDs to resources)",
        ));
    };
    resources.iter().find_map(|(id, res)| {
        res.get("Type")
            .and_then(Value::as_str)
            .is_none()
            .then(|| error(s.file, Some(id), "resource without a Type"))
    })
}

/// The `AWS::CloudFormation::Stack` resources of a template.
fn stacks<'t>(t: &'t Template) -> impl Iterator<Item = (&'t String, &'t Value)> {
    t.resources()
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(STACK_TYPE))
}

/// Whether the resource's `Condition` lets the stack create it: `Some(false)` when false,
/// `None` when unresolved.
fn created(t: &Template, res: &Value) -> Option<bool> {
    match res.get("Condition").and_then(Value::as_str) {
        None => Some(true),
        Some(cond) => t.condition(cond),
    }
}

/// The exports of `t` and of the stacks nested in it.
fn collect_exports(t: &Template, exports: &mut Exports, visited: &mut [bool]) {
    if let Some(v) = visited.get_mut(t.index) {
        *v = true;
    }
    let (stack, assumed) = t.stack_name();
    let outputs = outputs_of(t);
    for (id, output) in outputs.iter().flatten() {
        let Some(name) = output.pointer("/Export/Name") else {
            continue;
        };
        let mut unresolved = Vec::new();
        let name = t.eval(name, id, &mut unresolved);
        let value = t.eval(
            output.get("Value").unwrap_or(&Value::Null),
            id,
            &mut unresolved,
        );
        if unresolved.is_empty()
            && let Value::String(name) = name
        {
            exports.entry(name).or_insert(Export {
                value,
                file: t.file.to_owned(),
                assumed_stack: assumed.map(|_| stack.to_owned()),
            });
        }
    }
    let ids: Vec<String> = stacks(t)
        .filter(|(_, res)| created(t, res) == Some(true))
        .map(|(id, _)| id.clone())
        .collect();
    for id in ids {
        if let Ok(child) = t.child(&id) {
            collect_exports(&child, exports, visited);
        }
    }
}

/// The `Outputs` of the template `t` was built from.
fn outputs_of(t: &Template) -> Option<Vec<(String, Value)>> {
    let outputs = t.source().template.get("Outputs")?.as_object()?;
    Some(
        outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Converts the resources of one stack, then the stacks nested in it.
fn convert_stack(
    t: &Template,
    format: String,
    out: &mut Collected,
    reached: &mut [bool],
    summaries: &mut Vec<Summary>,
) {
    if let Some(r) = reached.get_mut(t.index) {
        *r = true;
    }
    let file = t.file;
    let mut skipped = 0;
    let mut children = Vec::new();
    for (id, res) in t.resources() {
        let ty = res.get("Type").and_then(Value::as_str).unwrap_or_default();
        if ty != STACK_TYPE
            && !SUPPORTED.contains(&ty)
            && !discovery::TYPES.contains(&ty)
            && !alarm::invokes_policy(t, res)
        {
            skipped += 1;
            *out.skipped.entry(ty.to_owned()).or_default() += 1;
            out.note(
                NoteKind::Skipped,
                file,
                Some(id),
                None,
                format!("{ty} is not converted"),
            );
            continue;
        }
        match created(t, res) {
            Some(true) => {}
            Some(false) => {
                out.note(
                    NoteKind::Skipped,
                    file,
                    Some(id),
                    None,
                    format!(
                        "condition {} is false, so the stack would not create it",
                        res.get("Condition").map(text).unwrap_or_default()
                    ),
                );
                continue;
            }
            None => {
                out.note(
                    NoteKind::Unresolved,
                    file,
                    Some(id),
                    None,
                    format!(
                        "condition {} depends on unresolved values; pass the parameters it uses with --param",
                        res.get("Condition").map(text).unwrap_or_default()
                    ),
                );
                continue;
            }
        }
        let resource = format!("{id} ({ty})");
        let loc = Location {
            file: file.to_owned(),
            resource: Some(resource.clone()),
            path: None,
        };
        let props = match res.get("Properties") {
            None => super::schema::object(),
            Some(p @ Value::Object(_)) => p.clone(),
            Some(other) => {
                out.note_at(
                    NoteKind::NotConverted,
                    &loc,
                    Some("Properties"),
                    format!("Properties is {}, not a mapping", describe(other)),
                );
                continue;
            }
        };
        match ty {
            STACK_TYPE => children.push((id.clone(), loc)),
            ty if discovery::TYPES.contains(&ty) => discovery::convert_resource(t, id, ty, out),
            "AWS::ElasticLoadBalancingV2::ListenerRule" => {
                convert::convert_rule(t, &props, loc, out);
            }
            "AWS::ApplicationAutoScaling::ScalableTarget" => {
                convert::convert_target(t, id, &props, loc, out);
            }
            "AWS::ApplicationAutoScaling::ScalingPolicy" => {
                convert::convert_policy(t, id, &props, loc, out);
            }
            "AWS::CloudWatch::Alarm" => alarm::convert_alarm(t, id, &props, loc, out),
            "AWS::Events::Rule" | "AWS::Scheduler::Schedule" => {
                convert::convert_schedule(t, id, ty, &props, loc, out);
            }
            _ => {
                let kind = match ty {
                    "AWS::ECS::Cluster" => Kind::EcsCluster,
                    "AWS::ECS::TaskDefinition" => Kind::TaskDefinition,
                    "AWS::ECS::Service" => Kind::EcsService,
                    "AWS::ElasticLoadBalancingV2::TargetGroup" => Kind::TargetGroup,
                    _ => Kind::Listener,
                };
                convert::convert_object(t, id, kind, props, loc, out);
            }
        }
    }
    let (stack, why) = t.stack_name();
    for a in t.assumed().iter() {
        out.note(
            NoteKind::Assumed,
            file,
            None,
            None,
            match a.strip_prefix("AWS::StackName=") {
                Some(_) => format!("{a}; pass {} to change it", t.stack_name_param()),
                None => format!("{a}; pass --param to change it"),
            },
        );
    }
    match summaries.iter_mut().find(|(i, ..)| *i == t.index) {
        Some((_, _, n)) => *n += skipped,
        None => summaries.push((t.index, format, skipped)),
    }
    for (id, loc) in children {
        match t.child(&id) {
            Ok(child) => {
                let (child_stack, _) = child.stack_name();
                out.note_at(
                    NoteKind::Assumed,
                    &loc,
                    None,
                    format!(
                        "nested stack followed to {} (matched by the file name of its TemplateURL), with the Parameters it passes; its stack name is {child_stack}",
                        child.file.display()
                    ),
                );
                let format = format!(
                    "CloudFormation, nested stack {id} of {} (stack {stack}{})",
                    file_name(file),
                    why.map(|w| format!(", {w}")).unwrap_or_default()
                );
                convert_stack(&child, format, out, reached, summaries);
            }
            Err(why) => out.note_at(
                NoteKind::NotConverted,
                &loc,
                None,
                format!("nested stack not followed: {why}"),
            ),
        }
    }
}

/// What a JSON value is, for messages.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Whether a JSON document is a CloudFormation parameter file rather than a template.
pub(super) fn is_parameter_file(v: &Value) -> bool {
    match v {
        Value::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("ParameterKey").is_some_and(Value::is_string))
        }
        Value::Object(m) => {
            m.get("Parameters").is_some_and(Value::is_object)
                && !m.contains_key("Resources")
                && !m.contains_key("AWSTemplateFormatVersion")
        }
        _ => false,
    }
}

/// The values of a CloudFormation parameter file: the `aws cloudformation` shape
/// `[{"ParameterKey": K, "ParameterValue": V}]` or Copilot's and CodePipeline's
/// `{"Parameters": {K: V}}` (its `Tags` are not parameters). Lists become comma-separated, as
/// CloudFormation takes them.
pub(super) fn parameter_file(
    path: &Path,
    contents: &str,
) -> Result<Vec<(String, String)>, ImportError> {
    let v: Value = serde_json::from_str(contents).map_err(|e| {
        error(
            path,
            None,
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let value = |v: &Value| match v {
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => text(other),
    };
    match &v {
        Value::Array(items) if is_parameter_file(&v) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let key = item
                    .get("ParameterKey")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if item.get("UsePreviousValue").and_then(Value::as_bool) == Some(true) {
                    return Err(error(
                        path,
                        Some(&format!("entry {i} ({key})")),
                        "UsePreviousValue reads the value of the deployed stack; give its ParameterValue instead",
                    ));
                }
                match item.get("ParameterValue") {
                    Some(v) => Ok((key.to_owned(), value(v))),
                    None => Err(error(
                        path,
                        Some(&format!("entry {i} ({key})")),
                        "no ParameterValue",
                    )),
                }
            })
            .collect(),
        Value::Object(m) if is_parameter_file(&v) => Ok(m
            .get("Parameters")
            .and_then(Value::as_object)
            .map(|ps| ps.iter().map(|(k, v)| (k.clone(), value(v))).collect())
            .unwrap_or_default()),
        _ => Err(error(
            path,
            None,
            "not a CloudFormation parameter file: expected [{\"ParameterKey\": …, \"ParameterValue\": …}] (aws cloudformation) or {\"Parameters\": {…}} (Copilot, CodePipeline)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parameter_file_shapes_give_key_value_pairs() {
        let p = Path::new("p.json");
        let cli = r#"[{"ParameterKey": "Env", "ParameterValue": "prod"}, {"ParameterKey": "Subnets", "ParameterValue": "a,b"}]"#;
        assert_eq!(
            parameter_file(p, cli).unwrap(),
            [
                ("Env".to_owned(), "prod".to_owned()),
                ("Subnets".to_owned(), "a,b".to_owned())
            ]
        );
        let copilot = r#"{"Parameters": {"AppName": "my-app", "Count": 5}, "Tags": {"x": "y"}}"#;
        assert_eq!(
            parameter_file(p, copilot).unwrap(),
            [
                ("AppName".to_owned(), "my-app".to_owned()),
                ("Count".to_owned(), "5".to_owned())
            ]
        );
        let previous = r#"[{"ParameterKey": "Env", "UsePreviousValue": true}]"#;
        assert!(
            parameter_file(p, previous)
                .unwrap_err()
                .message
                .contains("UsePreviousValue")
        );
        assert!(parameter_file(p, r#"{"Resources": {}}"#).is_err());
    }
}
