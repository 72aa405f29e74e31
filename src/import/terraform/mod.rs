//! Terraform: the ECS, ELBv2 and Application Auto Scaling resources of the `.tf` files given,
//! parsed with hcl-rs and evaluated as far as their values are plain.
//!
//! The `.tf` files of one conversion form one module, as the files of a Terraform directory
//! do: their variables, locals and resources are visible to each other. Expressions resolve
//! against variable defaults (or `--param`), locals that themselves resolve, the module's own
//! resources (`aws_lb_target_group.web.arn` is the target group's name, which ecsplane accepts
//! wherever an ARN is expected; `aws_ecs_task_definition.web.arn` its family), a few pure
//! functions (`jsonencode`, `file`, `split`, `join`, `lower`, `upper`, `tostring`,
//! `tonumber`, `tolist`, `toset`, `concat`, `merge`) and simple operators. Everything else —
//! data sources, module outputs, attributes only known after `terraform apply`, undeclared
//! variables — is reported with its file, resource and field, never guessed.
//!
//! - this file: the entry points `import` calls — `parse`, `Module::new` and `convert` (which
//!   resources of one file are converted; `count`, `for_each` and `dynamic` blocks refused);
//! - `parse.rs`: one `.tf` file → its top-level blocks with their lines;
//! - `evaluate.rs`: the module (variables, locals, resources) and HCL expression evaluation;
//! - `functions.rs`: the built-in functions and operators on plain values;
//! - `convert.rs`: one resource's evaluated body → a draft, a listener rule or scaling, in the
//!   API's shape.
//!
//! Dependencies point one way: this file → `convert` → `evaluate` → `functions`, `parse` →
//! `import`'s shared types.

mod convert;
mod evaluate;
mod functions;
mod parse;

use std::path::{Path, PathBuf};

pub(super) use self::evaluate::Module;
use self::evaluate::resource_kind;
pub(super) use self::parse::{TfFile, parse};
use super::{Collected, Location, NoteKind};

/// Converts the resources of one `.tf` file, resolving references against the whole module.
pub(super) fn convert(file: &Path, module: &Module, out: &mut Collected) {
    let dir = file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    for r in module.resources_in(file) {
        let resource = r.location();
        let supported = resource_kind(&r.ty).is_some()
            || matches!(
                r.ty.as_str(),
                "aws_lb_listener_rule"
                    | "aws_alb_listener_rule"
                    | "aws_appautoscaling_target"
                    | "aws_appautoscaling_policy"
            );
        if !supported {
            *out.skipped.entry(r.ty.clone()).or_default() += 1;
            out.note(
                NoteKind::Skipped,
                file,
                Some(&resource),
                None,
                format!("{} is not converted from Terraform", r.ty),
            );
            continue;
        }
        if let Some(meta) = ["count", "for_each"].iter().find(|m| r.attr(m).is_some()) {
            out.note(
                NoteKind::NotConverted,
                file,
                Some(&resource),
                Some(meta),
                format!(
                    "{meta} makes Terraform create several instances from one block; not converted (run `terraform show -json` or the AWS CLI on what it created and convert that)"
                ),
            );
            continue;
        }
        module.clear_reasons();
        let body = module.body(r.body, &dir);
        let dynamic = module.take_dynamic();
        if !dynamic.is_empty() {
            for name in dynamic {
                out.note(
                    NoteKind::NotConverted,
                    file,
                    Some(&resource),
                    Some(&name),
                    format!(
                        "dynamic \"{name}\" blocks are expanded by Terraform; not converted (write the blocks out, or convert what `terraform show -json` or the AWS CLI shows of the resource)"
                    ),
                );
            }
            continue;
        }
        let source = Location {
            file: file.to_owned(),
            resource: Some(resource.clone()),
            path: None,
        };
        let reasons = module.reasons();
        match r.ty.as_str() {
            "aws_lb_listener_rule" | "aws_alb_listener_rule" => {
                convert::listener_rule(body, source, &reasons, out);
            }
            "aws_appautoscaling_target" => convert::scalable_target(body, source, &reasons, out),
            "aws_appautoscaling_policy" => convert::scaling_policy(body, source, &reasons, out),
            _ => {
                let kind = resource_kind(&r.ty).expect("supported");
                convert::object(module, r, kind, body, source, &reasons, &dir, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Conversion, ConvertOptions, Note};
    use super::*;

    /// Converts one `main.tf` with the given `--param`s.
    pub(super) fn module_of(text: &str, params: &[(&str, &str)]) -> Conversion {
        let dir =
            std::env::temp_dir().join(format!("ecsplane-tf-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("main.tf");
        std::fs::write(&path, text).unwrap();
        let options = ConvertOptions {
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            namespace: None,
        };
        super::super::convert_files(&[path], &options).unwrap()
    }

    #[test]
    fn heredocs_and_files_convert_while_count_and_dynamic_blocks_are_refused() {
        let dir = std::env::temp_dir().join(format!("ecsplane-tf-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("containers.json"),
            r#"[{"name": "worker", "image": "busybox", "essential": true}]"#,
        )
        .unwrap();
        let path = dir.join("main.tf");
        std::fs::write(
            &path,
            r#"
resource "aws_ecs_task_definition" "indented" {
  family = "indented"
  container_definitions = <<-EOT
    [
      {"name": "app", "image": "nginx", "cpu": 128}
    ]
    EOT
}
resource "aws_ecs_task_definition" "from_file" {
  family                = "from-file"
  container_definitions = file("${path.module}/containers.json")
}
resource "aws_ecs_service" "many" {
  count           = 3
  name            = "many-${count.index}"
  task_definition = aws_ecs_task_definition.indented.arn
}
resource "aws_ecs_service" "dyn" {
  name            = "dyn"
  task_definition = aws_ecs_task_definition.indented.arn
  dynamic "load_balancer" {
    for_each = var.lbs
    content {
      target_group_arn = load_balancer.value
    }
  }
}
"#,
        )
        .unwrap();
        let c = super::super::convert_files(&[path], &ConvertOptions::default()).unwrap();
        let names: Vec<String> = c.objects.iter().map(|o| o.name.clone()).collect();
        assert_eq!(names, ["indented", "from-file"]);
        assert_eq!(
            c.objects[0].manifest["spec"]["containerDefinitions"][0]["cpu"],
            128
        );
        assert_eq!(
            c.objects[1].manifest["spec"]["containerDefinitions"][0]["image"],
            "busybox"
        );
        let not_converted: Vec<&Note> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::NotConverted)
            .collect();
        let [dynamic, count] = not_converted[..] else {
            panic!("{not_converted:#?}")
        };
        assert_eq!(dynamic.location.path.as_deref(), Some("load_balancer"));
        assert!(
            dynamic.message.starts_with(
                "dynamic \"load_balancer\" blocks are expanded by Terraform; not converted"
            ),
            "{dynamic}"
        );
        assert_eq!(count.location.path.as_deref(), Some("count"));
        assert_eq!(
            count.location.resource.as_deref(),
            Some("aws_ecs_service.many (line 14)")
        );
    }
}
