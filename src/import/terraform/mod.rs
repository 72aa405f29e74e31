//! Terraform: the ECS, ELBv2 and Application Auto Scaling resources of the `.tf` files given
//! (parsed with hcl-rs and evaluated as far as their values are plain), and of
//! `terraform show -json` output (plans and states, evaluated by Terraform).
//!
//! The `.tf` files of one conversion form the root module, as the files of a Terraform
//! directory do; the local modules they call (`source = "./…"`) are followed, each instance
//! with its inputs, and their outputs are usable by the caller (`module.x.out`). Resources
//! with `count` or `for_each` become one object per instance; `dynamic` blocks are expanded.
//! Expressions resolve against `--param` and `.tfvars` values, variable defaults, locals, the
//! modules' resources (`aws_lb_target_group.web.arn` is the target group's name, which
//! ecsplane accepts wherever an ARN is expected), pure functions and operators. Everything
//! else — data sources, modules that are not local, attributes only known after
//! `terraform apply`, undeclared variables — is reported with its file, resource and field,
//! never guessed; a `sensitive` variable is never written as a value.
//!
//! - this file: the entry points `import` calls — `convert` (the resources of one input file
//!   and of the modules it calls, instance by instance), `plan::convert`, `tfvars::read`;
//! - `parse.rs`: one `.tf` file → its top-level blocks with their lines;
//! - `modules.rs`: module calls followed to the `.tf` files of their source directory;
//! - `tree.rs`: the module instances of a conversion and their blocks;
//! - `evaluate/`: HCL expression evaluation against the tree (memoised, cycle-safe, bounded):
//!   the expressions (`mod.rs`), what references name (`references.rs`), the tree's
//!   construction from module calls (`build.rs`);
//! - `functions.rs`: the built-in functions and operators on plain values;
//! - `files.rs`: reading the files a configuration names, inside its directory tree only;
//! - `convert.rs`: one resource's evaluated body → a draft, a listener rule or scaling, in the
//!   API's shape; sensitive environment values → secret references;
//! - `discovery.rs`: the Cloud Map resources, read by the ECS services and clusters that
//!   name them (registries, Service Connect namespaces);
//! - `plan.rs`: `terraform show -json` → the same drafts;
//! - `schedule.rs`: EventBridge rules with ECS targets and Scheduler schedules → scheduled
//!   tasks;
//! - `tfvars.rs`: `.tfvars` and `.tfvars.json` files → `--param` values;
//! - `limits.rs`: every limit against hostile input.
//!
//! Dependencies point one way: this file → `plan` → `convert` → `evaluate` → `tree`,
//! `functions`, `files`, `modules` → `parse` → `import`'s shared types.

mod alarm;
mod convert;
mod discovery;
mod evaluate;
mod files;
mod functions;
mod limits;
mod modules;
mod parse;
mod plan;
mod schedule;
mod tfvars;
mod tree;

use std::path::Path;

use self::convert::Naming;
use self::evaluate::{Ctx, LISTENER_MARKER, Scope, has_placeholder, resource_kind, supported};
pub(super) use self::modules::Sources;
pub(super) use self::parse::{TfFile, parse};
pub(super) use self::plan::{convert as convert_show_json, is_show_json};
pub(super) use self::schedule::{Pending as PendingSchedules, attach as attach_schedules};
pub(super) use self::tfvars::{is_tfvars, read as read_tfvars};
pub(super) use self::tree::Tree;
use self::tree::{Followed, InstanceKey, Resource};
use super::{Collected, ImportError, Kind, Location, NoteKind, error, text};

/// Converts the resources of one `.tf` input file and of the modules it calls, resolving
/// references against the whole tree. A reference cycle met while converting it is an error
/// naming the cycle.
pub(super) fn convert(file: &Path, tree: &Tree, out: &mut Collected) -> Result<(), ImportError> {
    let known_cycles = tree.cycles().len();
    let root = tree.root();
    for r in root.resources.iter().filter(|r| r.file == file) {
        resource(tree, 0, r, file, out);
    }
    for (ci, _) in root
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.file == file)
    {
        module_call(tree, 0, ci, file, out);
    }
    let cycles = tree.cycles();
    if cycles.len() > known_cycles {
        return Err(error(
            file,
            None,
            format!(
                "a reference cycle, which Terraform refuses too: {}",
                cycles[known_cycles..].join("; ")
            ),
        ));
    }
    Ok(())
}

/// `TYPE.NAME[KEY] (line N)` in the root module, `module.M.TYPE.NAME[KEY] (FILE line N)` in a
/// followed one, as notes name a resource.
fn location(tree: &Tree, node: usize, r: &Resource, key: &InstanceKey) -> String {
    let address = tree.address(node, r, key);
    if node == 0 {
        format!("{address} (line {})", r.line)
    } else {
        format!("{address} ({} line {})", r.file.display(), r.line)
    }
}

/// The resources of every instance of module call `ci` of node `node`, and of the modules
/// those call; a call that is not followed is a note naming the module and why.
fn module_call(tree: &Tree, node: usize, ci: usize, input: &Path, out: &mut Collected) {
    let n = &tree.nodes[node];
    let call = &n.calls[ci];
    let shown = if node == 0 {
        format!("module.{} (line {})", call.name, call.line)
    } else {
        format!(
            "{}module.{} ({} line {})",
            n.prefix,
            call.name,
            call.file.display(),
            call.line
        )
    };
    match n.followed.get(ci) {
        Some(Followed::Not(why)) => {
            out.note(NoteKind::NotConverted, input, Some(&shown), None, why.clone());
        }
        Some(Followed::Instances(list)) if list.is_empty() => out.note(
            NoteKind::NotConverted,
            input,
            Some(&shown),
            None,
            format!(
                "module \"{}\": count is 0 or for_each is empty, so Terraform creates no instance of it",
                call.name
            ),
        ),
        Some(Followed::Instances(list)) => {
            for (_, child) in list {
                for r in &tree.nodes[*child].resources {
                    resource(tree, *child, r, input, out);
                }
                for ci in 0..tree.nodes[*child].calls.len() {
                    module_call(tree, *child, ci, input, out);
                }
            }
        }
        None => {}
    }
}

/// Converts every instance of one resource block.
fn resource(tree: &Tree, node: usize, r: &Resource, input: &Path, out: &mut Collected) {
    let single = location(tree, node, r, &InstanceKey::Single);
    let scaling_alarm =
        r.ty == "aws_cloudwatch_metric_alarm" && alarm::invokes_policy(r.attr("alarm_actions"));
    if !supported(&r.ty) && !discovery::is_cloud_map(&r.ty) && !scaling_alarm {
        *out.skipped.entry(r.ty.clone()).or_default() += 1;
        out.note(
            NoteKind::Skipped,
            input,
            Some(&single),
            None,
            format!("{} is not converted from Terraform", r.ty),
        );
        return;
    }
    let meta = ["count", "for_each"]
        .into_iter()
        .find(|m| r.attr(m).is_some());
    let instances = match tree.resource_instances(node, r) {
        Ok(i) => i,
        Err(why) => {
            out.note(
                NoteKind::NotConverted,
                input,
                Some(&single),
                meta,
                format!(
                    "{why}; not converted, never guessed (pass the values it depends on with --param, or convert `terraform show -json` of a plan)"
                ),
            );
            return;
        }
    };
    if instances.is_empty() {
        let (meta, expr) = match meta.and_then(|m| Some((m, r.attr(m)?))) {
            Some((m, e)) => (m, e.to_string()),
            None => ("count", "0".to_owned()),
        };
        out.note(
            NoteKind::NotConverted,
            input,
            Some(&single),
            Some(meta),
            format!(
                "{meta} = {expr} is {}, so Terraform creates no instance of it",
                if meta == "count" { "0" } else { "empty" }
            ),
        );
        return;
    }
    for inst in instances {
        let ctx = Ctx::new(tree, Scope::new(node, Some(inst.clone())));
        let mut body = ctx.body(r.body);
        let shown = location(tree, node, r, &inst.key);
        let dynamic = ctx.take_dynamic();
        if !dynamic.is_empty() {
            for name in dynamic {
                out.note(
                    NoteKind::NotConverted,
                    input,
                    Some(&shown),
                    Some(&name),
                    format!(
                        "the for_each of dynamic \"{name}\" cannot be evaluated, so the blocks Terraform would generate are not known; not converted (pass the values it depends on with --param, or convert `terraform show -json` of a plan)"
                    ),
                );
            }
            continue;
        }
        let source = Location {
            file: input.to_owned(),
            resource: Some(shown),
            path: None,
        };
        match r.ty.as_str() {
            "aws_lb_listener_rule" | "aws_alb_listener_rule" => {
                convert::listener_rule(body, source, &ctx.reasons(), out);
            }
            "aws_appautoscaling_target" => {
                convert::scalable_target(body, source, &ctx.reasons(), out);
            }
            "aws_appautoscaling_policy" => {
                let before = out.scaling.len();
                convert::scaling_policy(body, source, &ctx.reasons(), out);
                let address = tree.address(node, r, &inst.key);
                alarm::key_policies(&mut out.scaling[before..], &address);
            }
            "aws_cloudwatch_metric_alarm" => {
                let name = crate::import::text(&ctx.instance_name(r, &inst));
                alarm::convert_alarm(body, source, &ctx.reasons(), &name, out);
            }
            "aws_cloudwatch_event_rule" => {
                let key = text(&ctx.instance_name(r, &inst));
                schedule::event_rule(body, key, source, &ctx.reasons(), out);
            }
            "aws_cloudwatch_event_target" => {
                schedule::event_target(body, source, &ctx.reasons(), out);
            }
            "aws_scheduler_schedule" => {
                let name = ctx.instance_name(r, &inst);
                let name = if has_placeholder(&name) || text(&name).is_empty() {
                    ctx.label_name(r)
                } else {
                    text(&name)
                };
                schedule::scheduler_schedule(body, name, source, &ctx.reasons(), out);
            }
            _ => {
                let Some(kind) = resource_kind(&r.ty) else {
                    continue;
                };
                let name = ctx.instance_name(r, &inst);
                let arg = match kind {
                    Kind::TaskDefinition => Some("family"),
                    Kind::Listener => None,
                    _ => Some("name"),
                };
                if let Some(arg) = arg
                    && body.contains_key(arg)
                    && name.is_string()
                {
                    body.insert(arg.to_owned(), name.clone());
                }
                let containers =
                    (kind == Kind::TaskDefinition).then(|| convert::container_definitions(&ctx, r));
                let naming = Naming {
                    default_name: if has_placeholder(&name) || text(&name).is_empty() {
                        ctx.label_name(r)
                    } else {
                        text(&name)
                    },
                    listener_key: (kind == Kind::Listener)
                        .then(|| format!("{LISTENER_MARKER}{}", tree.address(node, r, &inst.key))),
                };
                convert::object(
                    kind,
                    body,
                    containers,
                    naming,
                    source,
                    &ctx.reasons(),
                    &ctx.sensitive(),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
