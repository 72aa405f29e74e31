//! CloudFormation templates: intrinsic functions resolved against parameters, pseudo
//! parameters, conditions, mappings and the template's own resources; ECS, ELBv2 and
//! Application Auto Scaling resources turned into drafts.
//!
//! - this file: the entry points `import` calls — `exports` (what every template's `Outputs`
//!   export, for `Fn::ImportValue` across files) and `convert` (which resources of one
//!   template are converted, their `Condition`, the pseudo parameters assumed);
//! - `evaluate.rs`: the template model and its intrinsic functions, template values → JSON
//!   values;
//! - `convert.rs`: one supported resource → a draft, a listener rule or scaling.
//!
//! Dependencies point one way: this file → `convert` → `evaluate` → `import`'s shared types.

mod convert;
mod evaluate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use self::evaluate::Template;
use super::schema;
use super::{Collected, ConvertOptions, ImportError, Input, Kind, Location, NoteKind, error};

/// Export values of every template (resolved where possible), for `Fn::ImportValue` across
/// the input files.
pub(super) fn exports(
    inputs: &[(PathBuf, String, Input)],
    options: &ConvertOptions,
) -> BTreeMap<String, Value> {
    let none = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (path, _, input) in inputs {
        let Input::CloudFormation(template) = input else {
            continue;
        };
        let t = Template::new(path, template, options, &none);
        let Some(outputs) = template.get("Outputs").and_then(Value::as_object) else {
            continue;
        };
        for (id, output) in outputs {
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
                out.insert(name, value);
            }
        }
    }
    out
}

/// Resource types this importer converts.
const SUPPORTED: &[&str] = &[
    "AWS::ECS::Cluster",
    "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
];

/// Converts one template into drafts, rules and scaling.
pub(super) fn convert(
    file: &Path,
    template: &Value,
    options: &ConvertOptions,
    exports: &BTreeMap<String, Value>,
    out: &mut Collected,
) -> Result<(), ImportError> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Err(error(
            file,
            None,
            "a CloudFormation template without Resources",
        ));
    };
    let t = Template::new(file, template, options, exports);
    for (id, res) in resources {
        let Some(ty) = res.get("Type").and_then(Value::as_str) else {
            return Err(error(file, Some(id), "resource without a Type"));
        };
        if !SUPPORTED.contains(&ty) {
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
        if let Some(cond) = res.get("Condition").and_then(Value::as_str) {
            match t.condition(cond) {
                Some(true) => {}
                Some(false) => {
                    out.note(
                        NoteKind::Skipped,
                        file,
                        Some(id),
                        None,
                        format!("condition {cond} is false, so the stack would not create it"),
                    );
                    continue;
                }
                None => {
                    out.note(
                        NoteKind::Unresolved,
                        file,
                        Some(id),
                        None,
                        format!("condition {cond} depends on unresolved values; pass the parameters it uses with --param"),
                    );
                    continue;
                }
            }
        }
        let props = res
            .get("Properties")
            .cloned()
            .unwrap_or_else(schema::object);
        let resource = format!("{id} ({ty})");
        let loc = Location {
            file: file.to_owned(),
            resource: Some(resource.clone()),
            path: None,
        };
        match ty {
            "AWS::ElasticLoadBalancingV2::ListenerRule" => {
                convert::convert_rule(&t, &props, loc, out);
            }
            "AWS::ApplicationAutoScaling::ScalableTarget" => {
                convert::convert_target(&t, id, &props, loc, out);
            }
            "AWS::ApplicationAutoScaling::ScalingPolicy" => {
                convert::convert_policy(&t, &props, loc, out);
            }
            _ => {
                let kind = match ty {
                    "AWS::ECS::Cluster" => Kind::EcsCluster,
                    "AWS::ECS::TaskDefinition" => Kind::TaskDefinition,
                    "AWS::ECS::Service" => Kind::EcsService,
                    "AWS::ElasticLoadBalancingV2::TargetGroup" => Kind::TargetGroup,
                    _ => Kind::Listener,
                };
                convert::convert_object(&t, id, kind, props, loc, out);
            }
        }
    }
    for a in t.assumed().iter() {
        out.note(
            NoteKind::Assumed,
            file,
            None,
            None,
            format!("{a} (pass --param to change it)"),
        );
    }
    Ok(())
}
