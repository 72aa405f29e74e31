//! The Terraform importer end to end (`convert_files` on `.tf` files, `terraform show -json`
//! and the real modules of `shared/corpus/realworld/terraform`): modules, instances, hostile
//! input, secrets and plans.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::super::{Conversion, ConvertOptions, ImportErrors, Note, NoteKind, convert_files};

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory holding `files` (path → text).
fn dir_of(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ecsplane-tf-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::canonicalize(dir).unwrap()
}

fn options(params: &[(&str, &str)]) -> ConvertOptions {
    ConvertOptions {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        namespace: None,
    }
}

/// Converts the `.tf` files directly in `dir`.
fn convert_dir(dir: &Path, params: &[(&str, &str)]) -> Result<Conversion, ImportErrors> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    convert_files(&files, &options(params))
}

/// Converts one `main.tf` with the given `--param`s.
pub(super) fn module_of(text: &str, params: &[(&str, &str)]) -> Conversion {
    let dir = dir_of(&[("main.tf", text)]);
    convert_dir(&dir, params).unwrap()
}

/// A directory of `shared/corpus/realworld/terraform`, found above the checkout.
fn realworld(name: &str) -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("shared/corpus/realworld/terraform").join(name))
        .find(|d| d.is_dir());
    if found.is_none() {
        eprintln!("notice: shared/corpus/realworld/terraform/{name} not found; skipping");
    }
    found
}

/// `to` as a module source relative to `from` (both absolute).
fn relative(from: &Path, to: &Path) -> String {
    let ups = from.components().count() - 1;
    format!(
        "{}{}",
        "../".repeat(ups),
        to.to_string_lossy().trim_start_matches('/')
    )
}

fn names(c: &Conversion) -> Vec<String> {
    c.objects
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect()
}

fn spec<'c>(c: &'c Conversion, kind_name: &str) -> &'c Value {
    let o = c
        .objects
        .iter()
        .find(|o| format!("{}/{}", o.kind, o.name) == kind_name)
        .unwrap_or_else(|| panic!("no {kind_name} in {:?}", names(c)));
    &o.manifest["spec"]
}

fn notes(c: &Conversion, kind: NoteKind) -> Vec<&Note> {
    c.notes.iter().filter(|n| n.kind == kind).collect()
}

// ---------------------------------------------------------------------------------------
// Modules

/// Two calls of the real knappek module (at `source`), each with its inputs.
fn knappek_twice(source: &str) -> String {
    ["web", "api"]
        .iter()
        .map(|name| {
            format!(
                r#"
module "{name}" {{
  source              = "{source}"
  service_name        = "{name}"
  cluster_name        = "{name}-cluster"
  repository_name     = "{name}"
  vpc_id              = "vpc-0a1b"
  availability_zones  = ["us-east-1a", "us-east-1b"]
  security_groups_ids = ["sg-0base"]
  subnets_ids         = ["subnet-0priv1"]
  public_subnet_ids   = ["subnet-0pub1"]
}}
"#
            )
        })
        .collect()
}

fn knappek_params() -> Vec<(String, String)> {
    let mut params = Vec::new();
    for name in ["web", "api"] {
        for (k, v) in [
            (
                "aws_ecr_repository.docker.repository_url",
                format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"),
            ),
            (
                "aws_iam_role.ecs_execution_role.arn",
                "arn:aws:iam::123456789012:role/ecs_task_execution_role".to_owned(),
            ),
            ("aws_ecs_task_definition.task.revision", "3".to_owned()),
            ("data.aws_ecs_task_definition.task.revision", "2".to_owned()),
        ] {
            params.push((format!("module.{name}.{k}"), v));
        }
    }
    params
}

#[test]
fn a_local_module_is_followed_with_its_inputs_and_two_instances_of_it_do_not_collide() {
    let Some(knappek) = realworld("knappek-ecs-module") else {
        return;
    };
    let caller = dir_of(&[("main.tf", "")]);
    let source = relative(&caller, &knappek);
    std::fs::write(caller.join("main.tf"), knappek_twice(&source)).unwrap();
    let params = knappek_params();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let c = convert_dir(&caller, &params).unwrap();
    assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
    let mut got = names(&c);
    got.sort();
    assert_eq!(
        got,
        [
            "EcsCluster/api-cluster",
            "EcsCluster/web-cluster",
            "EcsService/api",
            "EcsService/web",
            "Listener/api-listener",
            "Listener/web-listener",
            "TargetGroup/api-alb-target-group",
            "TargetGroup/web-alb-target-group",
            "TaskDefinition/api",
            "TaskDefinition/web",
        ]
    );
    // References inside each instance name that instance's objects.
    let web = spec(&c, "EcsService/web");
    assert_eq!(web["cluster"], "web-cluster");
    assert_eq!(web["taskDefinition"], "web:3");
    assert_eq!(
        web["loadBalancers"][0]["targetGroupArn"],
        "web-alb-target-group"
    );
    assert_eq!(web["loadBalancers"][0]["containerName"], "web");
    let listener = spec(&c, "Listener/api-listener");
    assert_eq!(
        listener["defaultActions"][0]["targetGroupArn"],
        "api-alb-target-group"
    );
    // The task definition comes from the module's template file, rendered with its vars.
    let td = spec(&c, "TaskDefinition/api");
    assert_eq!(
        td["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api"
    );
    assert_eq!(td["containerDefinitions"][0]["name"], "api");
    // Every object of a module instance is attributed to the input that calls it.
    assert!(
        c.objects
            .iter()
            .all(|o| o.source.file == caller.join("main.tf"))
    );
    assert_eq!(
        c.objects
            .iter()
            .find(|o| o.name == "web-alb-target-group")
            .unwrap()
            .source
            .resource
            .as_deref(),
        Some(
            format!(
                "module.web.aws_alb_target_group.alb_target_group ({}/main.tf line 59)",
                std::fs::canonicalize(&knappek).unwrap().display()
            )
            .as_str()
        )
    );
}

#[test]
fn module_outputs_are_usable_by_the_caller_and_for_each_instances_take_their_keys() {
    let dir = dir_of(&[
        (
            "modules/cluster/main.tf",
            r#"
variable "name" {}
resource "aws_ecs_cluster" "this" { name = var.name }
output "arn" { value = aws_ecs_cluster.this.arn }
"#,
        ),
        (
            "modules/svc/main.tf",
            r#"
variable "cluster" {}
variable "port" { type = number }
variable "settings" {
  type = object({
    desired = optional(number, 2)
    image   = optional(string)
  })
  default = {}
}
resource "aws_ecs_task_definition" "this" {
  family = "app"
  container_definitions = jsonencode([{
    name  = "app"
    image = coalesce(var.settings.image, "nginx:1.27")
    portMappings = [{ containerPort = var.port }]
  }])
}
resource "aws_ecs_service" "this" {
  name            = "app"
  cluster         = var.cluster
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = var.settings.desired
}
"#,
        ),
        (
            "main.tf",
            r#"
module "cluster" {
  source = "./modules/cluster"
  name   = "prod"
}
module "svc" {
  source   = "./modules/svc"
  for_each = { web = 8080, api = 9090 }
  cluster  = module.cluster.arn
  port     = each.value
  settings = each.key == "api" ? { desired = 5 } : {}
}
"#,
        ),
    ]);
    let c = convert_dir(&dir, &[]).unwrap();
    assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
    assert_eq!(
        names(&c),
        [
            "EcsCluster/prod",
            "TaskDefinition/svc-api-app",
            "EcsService/svc-api-app",
            "TaskDefinition/svc-web-app",
            "EcsService/svc-web-app",
        ]
    );
    let api = spec(&c, "EcsService/svc-api-app");
    assert_eq!(api["cluster"], "prod");
    assert_eq!(api["taskDefinition"], "svc-api-app");
    assert_eq!(api["desiredCount"], 5);
    assert_eq!(spec(&c, "EcsService/svc-web-app")["desiredCount"], 2);
    let td = spec(&c, "TaskDefinition/svc-web-app");
    assert_eq!(
        td["containerDefinitions"][0]["portMappings"][0]["containerPort"],
        8080
    );
    assert_eq!(td["containerDefinitions"][0]["image"], "nginx:1.27");
    assert_eq!(
        c.objects[2].source.resource.as_deref(),
        Some(
            format!(
                "module.svc[\"api\"].aws_ecs_service.this ({}/modules/svc/main.tf line 19)",
                dir.display()
            )
            .as_str()
        )
    );
}

#[test]
fn modules_from_the_registry_are_notes_naming_the_module_and_its_source() {
    let Some(dir) = realworld("ecs-blueprints-lb-service") else {
        return;
    };
    let c = convert_dir(&dir, &[]).unwrap();
    assert!(c.objects.is_empty() && c.incomplete.is_empty());
    let not_converted: Vec<String> = notes(&c, NoteKind::NotConverted)
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n.location.resource.as_deref().unwrap_or(""),
                n.message
            )
        })
        .collect();
    assert_eq!(not_converted.len(), 2, "{not_converted:#?}");
    assert!(not_converted[0].starts_with(
        "module.alb (line 106): module \"alb\": source \"terraform-aws-modules/alb/aws\" is a Terraform Registry module, downloaded by `terraform init`; not followed"
    ), "{not_converted:#?}");
    assert!(not_converted[1].starts_with(
        "module.ecs_service (line 22): module \"ecs_service\": source \"terraform-aws-modules/ecs/aws//modules/service\" is a Terraform Registry module"
    ), "{not_converted:#?}");
}

#[test]
fn a_local_module_whose_directory_is_missing_is_a_note_naming_the_directory() {
    let Some(dir) = realworld("tfam-example-fargate") else {
        return;
    };
    let c = convert_dir(&dir, &[]).unwrap();
    let missing: Vec<&Note> = notes(&c, NoteKind::NotConverted)
        .into_iter()
        .filter(|n| n.message.contains("no directory"))
        .collect();
    assert_eq!(missing.len(), 3, "{:#?}", c.notes);
    assert!(
        missing[0]
            .message
            .starts_with("module \"ecs_cluster\": source \"../../modules/cluster\": no directory "),
        "{}",
        missing[0]
    );
}

#[test]
fn a_module_that_calls_itself_is_not_followed_forever() {
    let dir = dir_of(&[(
        "main.tf",
        r#"
module "again" { source = "./" }
resource "aws_ecs_cluster" "c" { name = "c" }
"#,
    )]);
    let c = convert_dir(&dir, &[]).unwrap();
    assert_eq!(names(&c), ["EcsCluster/c"]);
    let n = notes(&c, NoteKind::NotConverted);
    assert_eq!(n.len(), 1, "{n:#?}");
    assert!(n[0].message.contains("calls itself"), "{}", n[0]);
}

// ---------------------------------------------------------------------------------------
// count and for_each

#[test]
fn count_as_a_switch_gives_one_object_or_none_in_the_real_service_module() {
    let Some(dir) = realworld("tfam-module-service") else {
        return;
    };
    let c = convert_dir(&dir, &[("var.name", "web"), ("var.cluster_arn", "prod")]).unwrap();
    // `count = local.create_service && !var.ignore_task_definition_changes ? 1 : 0`: one.
    let service = c
        .incomplete
        .iter()
        .chain(std::iter::empty())
        .map(|i| &i.object)
        .chain(c.objects.iter())
        .find(|o| o.kind == super::super::Kind::EcsService)
        .expect("the service of the module");
    assert_eq!(service.name, "web");
    assert_eq!(
        service.source.resource.as_deref(),
        Some("aws_ecs_service.this[0] (line 39)")
    );
    assert_eq!(service.manifest["spec"]["cluster"], "prod");
    // Its twin for `ignore_task_definition_changes` is switched off.
    let off: Vec<String> = notes(&c, NoteKind::NotConverted)
        .iter()
        .filter(|n| n.location.path.as_deref() == Some("count"))
        .map(|n| {
            format!(
                "{}: {}",
                n.location.resource.as_deref().unwrap_or(""),
                n.message
            )
        })
        .collect();
    assert_eq!(
        off,
        [
            "aws_ecs_service.ignore_task_definition (line 392): count = local.create_service && var.ignore_task_definition_changes ? 1 : 0 is 0, so Terraform creates no instance of it"
        ]
    );
    // Switched off altogether.
    let c = convert_dir(
        &dir,
        &[("var.name", "web"), ("var.create_service", "false")],
    )
    .unwrap();
    assert!(
        !c.objects
            .iter()
            .chain(c.incomplete.iter().map(|i| &i.object))
            .any(|o| o.kind == super::super::Kind::EcsService)
    );
}

#[test]
fn count_n_gives_objects_named_name_0_on_and_for_each_one_object_per_key() {
    let c = module_of(
        r#"
variable "queues" { default = { orders = 2, emails = 1 } }
resource "aws_ecs_cluster" "c" { name = "prod" }
resource "aws_ecs_task_definition" "worker" {
  for_each = var.queues
  family   = "worker-${each.key}"
  container_definitions = jsonencode([{ name = "w", image = "worker", environment = [{ name = "QUEUE", value = each.key }] }])
}
resource "aws_ecs_service" "worker" {
  for_each        = var.queues
  name            = "worker"
  cluster         = aws_ecs_cluster.c.name
  task_definition = aws_ecs_task_definition.worker[each.key].family
  desired_count   = each.value
}
resource "aws_lb_target_group" "shard" {
  count = 2
  name  = "shard"
  port  = 8080 + count.index
}
"#,
        &[],
    );
    assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
    assert_eq!(
        names(&c),
        [
            "EcsCluster/prod",
            "TaskDefinition/worker-emails",
            "TaskDefinition/worker-orders",
            "EcsService/worker-emails",
            "EcsService/worker-orders",
            "TargetGroup/shard-0",
            "TargetGroup/shard-1",
        ]
    );
    let orders = spec(&c, "EcsService/worker-orders");
    assert_eq!(orders["desiredCount"], 2);
    assert_eq!(orders["taskDefinition"], "worker-orders");
    assert_eq!(spec(&c, "TargetGroup/shard-1")["port"], 8081);
    assert_eq!(
        spec(&c, "TaskDefinition/worker-emails")["containerDefinitions"][0]["environment"][0]["value"],
        "emails"
    );
}

#[test]
fn count_over_a_value_only_terraform_knows_is_reported_never_guessed() {
    let c = module_of(
        r#"
variable "replicas" {}
resource "aws_ecs_cluster" "c" {
  count = var.replicas
  name  = "c-${count.index}"
}
"#,
        &[],
    );
    assert!(c.objects.is_empty() && c.incomplete.is_empty());
    let n = notes(&c, NoteKind::NotConverted);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].location.path.as_deref(), Some("count"));
    assert!(
        n[0].message.starts_with(
            "count = var.replicas cannot be evaluated: variable replicas has no default; pass --param var.replicas=VALUE"
        ),
        "{}",
        n[0]
    );
    let c = module_of(
        "variable \"replicas\" {}\nresource \"aws_ecs_cluster\" \"c\" {\n  count = var.replicas\n  name  = \"c-${count.index}\"\n}\n",
        &[("var.replicas", "2")],
    );
    assert_eq!(names(&c), ["EcsCluster/c-0", "EcsCluster/c-1"]);
}

#[test]
fn dynamic_blocks_over_known_values_are_expanded() {
    let c = module_of(
        r#"
variable "target_groups" { default = { web = 80, admin = 8080 } }
resource "aws_ecs_task_definition" "t" {
  family = "t"
  container_definitions = jsonencode([{ name = "app", image = "nginx" }])
}
resource "aws_ecs_service" "s" {
  name            = "s"
  task_definition = aws_ecs_task_definition.t.family
  dynamic "load_balancer" {
    for_each = var.target_groups
    iterator = tg
    content {
      target_group_arn = tg.key
      container_name   = "app"
      container_port   = tg.value
    }
  }
}
"#,
        &[],
    );
    assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
    assert_eq!(
        spec(&c, "EcsService/s")["loadBalancers"],
        serde_json::json!([
            {"targetGroupArn": "admin", "containerName": "app", "containerPort": 8080},
            {"targetGroupArn": "web", "containerName": "app", "containerPort": 80},
        ])
    );
}

// ---------------------------------------------------------------------------------------
// Hostile input

#[test]
fn a_variable_default_cycle_is_an_error_naming_the_cycle() {
    let dir = dir_of(&[(
        "main.tf",
        r#"
variable "a" { default = var.b }
variable "b" { default = var.a }
resource "aws_ecs_cluster" "c" { name = var.a }
"#,
    )]);
    let err = convert_dir(&dir, &[]).unwrap_err().to_string();
    assert!(
        err.contains("a reference cycle, which Terraform refuses too: var.a → var.b → var.a"),
        "{err}"
    );
}

#[test]
fn a_locals_cycle_is_an_error_naming_the_cycle() {
    let dir = dir_of(&[(
        "main.tf",
        r#"
locals {
  a = "${local.c}-a"
  b = local.a
  c = upper(local.b)
}
resource "aws_ecs_cluster" "c" { name = local.b }
"#,
    )]);
    let err = convert_dir(&dir, &[]).unwrap_err().to_string();
    assert!(
        err.contains("local.b → local.a → local.c → local.b"),
        "{err}"
    );
}

#[test]
fn locals_doubled_forty_times_finish_at_once_and_report_the_size_limit() {
    let mut text = String::from("locals {\n  l0 = \"xxxxxxxxxxxxxxxx\"\n");
    for i in 1..=40 {
        text.push_str(&format!(
            "  l{i} = \"${{local.l{}}}${{local.l{}}}\"\n",
            i - 1,
            i - 1
        ));
    }
    text.push_str("}\nresource \"aws_ecs_cluster\" \"c\" { name = local.l40 }\n");
    let started = Instant::now();
    let c = module_of(&text, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(c.incomplete.len(), 1);
    let n = notes(&c, NoteKind::Unresolved);
    assert!(
        n.iter()
            .any(|n| n.message.contains("the limit MAX_VALUE_BYTES")),
        "{n:#?}"
    );
}

#[test]
fn a_chain_of_references_deeper_than_the_limit_stops_there_without_overflowing_the_stack() {
    let mut text = String::from("locals {\n  l0 = \"end\"\n");
    for i in 1..=5000 {
        text.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    text.push_str("}\nresource \"aws_ecs_cluster\" \"c\" { name = local.l5000 }\n");
    // The default stack of a test thread, as small as any caller's.
    let c = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || module_of(&text, &[]))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(c.incomplete.len(), 1);
    assert!(
        notes(&c, NoteKind::Unresolved)
            .iter()
            .any(|n| n.message.contains("the limit MAX_REFERENCE_DEPTH")),
        "{:#?}",
        c.notes
    );
}

#[test]
fn file_and_templatefile_read_nothing_outside_the_inputs_directory_tree() {
    let outside = dir_of(&[("secret.json", r#"[{"name": "leak", "image": "s3cr3t"}]"#)]);
    let dir = dir_of(&[("main.tf", "")]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.join("secret.json"), dir.join("link.json")).unwrap();
    let escape = relative(&dir, &outside.join("secret.json"));
    let text = format!(
        r#"
resource "aws_ecs_task_definition" "environ" {{
  family                = "environ"
  container_definitions = file("/proc/self/environ")
}}
resource "aws_ecs_task_definition" "dotdot" {{
  family                = "dotdot"
  container_definitions = file("${{path.module}}/{escape}")
}}
resource "aws_ecs_task_definition" "symlink" {{
  family                = "symlink"
  container_definitions = templatefile("${{path.module}}/link.json", {{}})
}}
resource "aws_ecs_task_definition" "zero" {{
  family                = "zero"
  container_definitions = file("/dev/zero")
}}
"#
    );
    std::fs::write(dir.join("main.tf"), text).unwrap();
    let c = convert_dir(&dir, &[]).unwrap();
    assert!(
        c.objects.is_empty() && c.incomplete.is_empty(),
        "{:?}",
        names(&c)
    );
    let why: Vec<String> = notes(&c, NoteKind::NotConverted)
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n.location.resource.as_deref().unwrap_or(""),
                n.message
            )
        })
        .collect();
    let find = |r: &str| {
        why.iter()
            .find(|w| w.starts_with(r))
            .unwrap_or_else(|| panic!("{r}: {why:#?}"))
            .clone()
    };
    assert!(find("aws_ecs_task_definition.environ").contains("is under /proc: never read"));
    assert!(find("aws_ecs_task_definition.zero").contains("is under /dev: never read"));
    assert!(
        find("aws_ecs_task_definition.dotdot")
            .contains("is outside the directory of the Terraform files")
    );
    #[cfg(unix)]
    assert!(
        find("aws_ecs_task_definition.symlink")
            .contains("is outside the directory of the Terraform files")
    );
    let all = format!("{c:?}");
    assert!(!all.contains("s3cr3t") && !all.contains("PATH="), "{all}");
}

#[test]
fn loops_in_loops_stop_at_the_evaluation_limit_instead_of_running_for_hours() {
    let c = module_of(
        r#"
locals {
  xs      = range(100000)
  product = [for a in local.xs : [for b in local.xs : b if false]]
  text    = "%{ for a in local.xs }%{ for b in local.xs }%{ endfor }%{ endfor }"
}
resource "aws_ecs_cluster" "a" { name = length(local.product) }
resource "aws_ecs_cluster" "b" { name = local.text }
"#,
        &[],
    );
    assert_eq!(c.incomplete.len(), 2, "{:#?}", c.notes);
    assert!(
        notes(&c, NoteKind::Unresolved)
            .iter()
            .all(|n| n.message.contains("the limit MAX_EVALUATION_STEPS")),
        "{:#?}",
        c.notes
    );
}

#[test]
fn a_template_file_that_renders_itself_is_a_cycle_not_a_stack_overflow() {
    let dir = dir_of(&[
        (
            "self.tpl",
            "[${templatefile(\"${dir}/self.tpl\", { dir = dir })}]",
        ),
        (
            "main.tf",
            r#"
resource "aws_ecs_task_definition" "t" {
  family                = "t"
  container_definitions = templatefile("${path.module}/self.tpl", { dir = path.module })
}
"#,
        ),
    ]);
    let err = convert_dir(&dir, &[]).unwrap_err().to_string();
    assert!(err.contains("a reference cycle"), "{err}");
    assert!(err.contains("self.tpl"), "{err}");
}

#[test]
fn a_count_of_a_billion_is_refused_as_a_limit() {
    let c = module_of(
        "resource \"aws_ecs_cluster\" \"c\" {\n  count = 1000000000\n  name  = \"c-${count.index}\"\n}\n",
        &[],
    );
    assert!(c.objects.is_empty());
    let n = notes(&c, NoteKind::NotConverted);
    assert!(n[0].message.contains("the limit MAX_INSTANCES"), "{}", n[0]);
}

// ---------------------------------------------------------------------------------------
// Secrets

const SECRET_SERVICE: &str = r#"
variable "db_password" {
  type      = string
  sensitive = true
  default   = "hunter2-default"
}
variable "db_user" { default = "app" }
resource "aws_ecs_task_definition" "app" {
  family = "app"
  container_definitions = jsonencode([{
    name  = "app"
    image = "app:1"
    environment = [
      { name = "DB_PASSWORD", value = var.db_password },
      { name = "DATABASE_URL", value = "postgres://${var.db_user}:${var.db_password}@db:5432/app" },
      { name = "LOG_LEVEL", value = "info" },
    ]
  }])
}
"#;

#[test]
fn a_sensitive_variable_in_an_environment_value_becomes_a_secret_reference_never_a_value() {
    // Whatever value it is given: its default, --param or a .tfvars file.
    let c = module_of(SECRET_SERVICE, &[("var.db_password", "s3cr3t-param")]);
    assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
    let container = &spec(&c, "TaskDefinition/app")["containerDefinitions"][0];
    assert_eq!(
        container["environment"],
        serde_json::json!([{"name": "LOG_LEVEL", "value": "info"}])
    );
    assert_eq!(
        container["secrets"],
        serde_json::json!([
            {"name": "DB_PASSWORD", "valueFrom": "terraform/var/db_password"},
            {"name": "DATABASE_URL", "valueFrom": "terraform/app/app/DATABASE_URL"},
        ])
    );
    let all = format!("{c:?}");
    assert!(
        !all.contains("hunter2") && !all.contains("s3cr3t"),
        "a secret value is written: {all}"
    );
    let assumed: Vec<String> = notes(&c, NoteKind::Assumed)
        .iter()
        .map(|n| n.message.clone())
        .collect();
    let selector = crate::translate::pod::secret_ref("terraform/var/db_password");
    assert_eq!(
        assumed[1],
        format!(
            "environment DB_PASSWORD of container app: it is the sensitive var.db_password, so it is written as a secret reference, never as a value: valueFrom terraform/var/db_password (Secret {} key value when rendered); store the value there",
            selector.name
        )
    );
    assert!(assumed[0].contains("it combines a sensitive value with other text (postgres://app:${var.db_password}@db:5432/app)"), "{assumed:#?}");
    assert!(
        !c.notes
            .iter()
            .any(|n| n.message.contains("--param var.db_password"))
    );
}

#[test]
fn a_sensitive_variable_anywhere_else_holds_its_object_back_without_a_param_suggestion() {
    let c = module_of(
        &format!(
            "{SECRET_SERVICE}\nresource \"aws_ecs_cluster\" \"c\" {{ name = var.db_password }}\n"
        ),
        &[],
    );
    assert_eq!(c.incomplete.len(), 1);
    assert_eq!(
        c.incomplete[0].object.manifest["spec"]["clusterName"],
        "${var.db_password}"
    );
    let n = notes(&c, NoteKind::Unresolved);
    assert_eq!(n.len(), 1);
    assert_eq!(
        n[0].message,
        "var.db_password is sensitive: its value is never written into a manifest (in a container's environment it becomes a Secret reference)"
    );
    assert!(!format!("{c:?}").contains("hunter2"));
}

// ---------------------------------------------------------------------------------------
// terraform show -json

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/terraform")
        .join(name)
}

#[test]
fn a_plan_of_the_knappek_module_converts_with_references_to_its_own_resources_resolved() {
    let c = convert_files(&[fixture("plan-knappek-module.json")], &options(&[])).unwrap();
    assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
    assert_eq!(c.files[0].format, "terraform show -json (plan)");
    assert_eq!(
        names(&c),
        [
            "Listener/ecs-listener",
            "TargetGroup/alb-target-group",
            "EcsCluster/prod",
            "EcsService/web",
            "TaskDefinition/web",
        ]
    );
    let svc = spec(&c, "EcsService/web");
    assert_eq!(svc["cluster"], "prod");
    assert_eq!(svc["taskDefinition"], "web");
    assert_eq!(
        svc["loadBalancers"][0]["targetGroupArn"],
        "alb-target-group"
    );
    assert_eq!(
        spec(&c, "Listener/ecs-listener")["defaultActions"][0]["targetGroupArn"],
        "alb-target-group"
    );
    let td = spec(&c, "TaskDefinition/web");
    assert_eq!(td["cpu"], "512");
    assert_eq!(
        td["containerDefinitions"][0]["portMappings"][0]["containerPort"],
        8080
    );
    assert_eq!(
        c.objects[3].source.resource.as_deref(),
        Some("module.ecs.aws_ecs_service.service")
    );
    let assumed = notes(&c, NoteKind::Assumed);
    assert!(
        assumed.iter().any(|n| n.location.path.as_deref() == Some("task_definition")
            && n.message
                == "known only after apply in this plan; it refers to module.ecs.aws_ecs_task_definition.task, so it is web, as ecsplane names it"),
        "{assumed:#?}"
    );
}

#[test]
fn sensitive_container_definitions_of_a_plan_become_secret_references_never_values() {
    let text = std::fs::read_to_string(fixture("plan-knappek-module.json")).unwrap();
    let mut plan: Value = serde_json::from_str(&text).unwrap();
    let resources = plan["planned_values"]["root_module"]["child_modules"][0]["resources"]
        .as_array_mut()
        .unwrap();
    let td = resources
        .iter_mut()
        .find(|r| r["type"] == "aws_ecs_task_definition")
        .unwrap();
    let mut containers: Value =
        serde_json::from_str(td["values"]["container_definitions"].as_str().unwrap()).unwrap();
    containers[0]["environment"] = serde_json::json!([{"name": "API_KEY", "value": "k3y-value"}]);
    td["values"]["container_definitions"] = Value::String(containers.to_string());
    td["sensitive_values"] = serde_json::json!({"container_definitions": true});
    let dir = dir_of(&[("plan.json", &plan.to_string())]);
    let c = convert_files(&[dir.join("plan.json")], &options(&[])).unwrap();
    let container = &spec(&c, "TaskDefinition/web")["containerDefinitions"][0];
    assert_eq!(
        container["secrets"],
        serde_json::json!([{"name": "API_KEY", "valueFrom": "terraform/web/web/API_KEY"}])
    );
    assert!(!format!("{c:?}").contains("k3y-value"));
}

#[test]
fn a_state_is_converted_from_its_values_with_the_arns_it_holds() {
    let state = r#"{
  "format_version": "1.0",
  "terraform_version": "1.9.8",
  "values": {
    "root_module": {
      "resources": [
        {"address": "aws_ecs_service.main", "mode": "managed", "type": "aws_ecs_service", "name": "main",
         "values": {"id": "arn:aws:ecs:us-east-1:123456789012:service/tf-ecs-cluster/tf-ecs-service",
                    "name": "tf-ecs-service", "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/tf-ecs-cluster",
                    "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:4",
                    "desired_count": 2, "launch_type": "FARGATE", "tags_all": {}, "wait_for_steady_state": false,
                    "load_balancer": [{"container_name": "app", "container_port": 3000, "elb_name": "",
                      "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tf-ecs-chat/0a1b2c3d"}]},
         "sensitive_values": {}},
        {"address": "data.aws_availability_zones.available", "mode": "data", "type": "aws_availability_zones", "name": "available", "values": {}}
      ]
    }
  }
}"#;
    let dir = dir_of(&[("terraform.tfstate.json", state)]);
    let c = convert_files(&[dir.join("terraform.tfstate.json")], &options(&[])).unwrap();
    assert_eq!(c.files[0].format, "terraform show -json (state)");
    let svc = spec(&c, "EcsService/tf-ecs-service");
    assert_eq!(
        svc["taskDefinition"],
        "arn:aws:ecs:us-east-1:123456789012:task-definition/app:4"
    );
    assert_eq!(svc["desiredCount"], 2);
    assert!(svc.get("wait_for_steady_state").is_none());
}

// ---------------------------------------------------------------------------------------
// Limits

#[test]
fn every_limit_is_listed_in_the_docs_with_its_value() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/import.md"))
            .unwrap();
    let limits = docs
        .split("\n## Limits")
        .nth(1)
        .expect("docs/import.md has a Limits section");
    let limits = limits.split("\n## ").next().unwrap_or(limits);
    for (name, _) in super::limits::ALL {
        assert!(
            limits.contains(&format!("`{name}`")),
            "{name} is not in docs/import.md's Limits"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Generated input

/// Expressions a generated module is made of: references that may form cycles, templates,
/// loops, functions, files no conversion may read, and references nobody defines. `{k}` and
/// `{j}` are other locals, `{v}` a variable.
const FRAGMENTS: &[&str] = &[
    "\"web\"",
    "8080",
    "local.l{k}",
    "\"${local.l{k}}${local.l{j}}\"",
    "[local.l{k}, local.l{j}, 1]",
    "{ a = local.l{k}, b = [local.l{j}] }",
    "length(local.l{k})",
    "var.v{v}",
    "try(local.l{k}.a, local.l{j}[0], \"d\")",
    "[for x in local.l{k} : x if x != null]",
    "{ for k, x in local.l{k} : k => [x, x] }",
    "file(\"/proc/self/environ\")",
    "file(\"${path.module}/../x.json\")",
    "templatefile(\"${path.module}/t.tpl\", { a = local.l{k} })",
    "range(local.l{k})",
    "join(\",\", local.l{k})",
    "split(\"\", local.l{k})",
    "replace(local.l{k}, \"\", local.l{j})",
    "local.l{k} ? local.l{j} : \"x\"",
    "module.m.out",
    "data.aws_x.y.z",
    "jsonencode(local.l{k})",
    "\"%{ for x in local.l{k} }${x}%{ endfor }\"",
    "merge(local.l{k}, local.l{j})",
    "coalesce(local.l{k}, var.v{v})",
    "sensitive(local.l{k})",
    "local.l{k}[*].a",
];

fn generated(picks: &[(usize, usize, usize, usize)], garbage: &str) -> String {
    let n = picks.len().max(1);
    let fill = |(f, k, j, v): (usize, usize, usize, usize)| {
        FRAGMENTS[f % FRAGMENTS.len()]
            .replace("{k}", &(k % n).to_string())
            .replace("{j}", &(j % n).to_string())
            .replace("{v}", &(v % 3).to_string())
    };
    let mut text = String::from("locals {\n");
    for (i, p) in picks.iter().enumerate() {
        text.push_str(&format!("  l{i} = {}\n", fill(*p)));
    }
    text.push_str("}\n");
    for v in 0..3 {
        let p = picks.get(v).copied().unwrap_or((0, 0, 0, 0));
        text.push_str(&format!(
            "variable \"v{v}\" {{\n  default = {}\n}}\n",
            fill((p.1, p.2, p.3, p.0)).replace("var.", "local.")
        ));
    }
    text.push_str(&format!(
        r#"
module "m" {{ source = "{}" }}
resource "aws_ecs_cluster" "c" {{
  count = length(local.l0) > 3 ? 2 : 1
  name  = "c-${{count.index}}-${{local.l0}}"
}}
resource "aws_ecs_task_definition" "t" {{
  for_each = toset([for x in [local.l1, "a"] : tostring(x)])
  family   = each.key
  container_definitions = jsonencode([{{ name = local.l2, image = local.l3 }}])
}}
resource "aws_ecs_service" "s" {{
  name            = local.l0
  task_definition = aws_ecs_task_definition.t["a"].family
  dynamic "load_balancer" {{
    for_each = local.l1
    content {{ target_group_arn = load_balancer.value }}
  }}
}}
{garbage}
"#,
        if picks.len().is_multiple_of(2) {
            "./"
        } else {
            "./missing"
        }
    ));
    text
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..proptest::prelude::ProptestConfig::default() })]

    /// Whatever a module holds — cycles, doubling, loops, forbidden files, references to
    /// nothing, garbage after the blocks — conversion returns (objects or an error naming the
    /// problem) within seconds, without a panic.
    #[test]
    fn generated_modules_convert_or_fail_quickly_and_never_panic(
        picks in proptest::collection::vec((0..64usize, 0..16usize, 0..16usize, 0..4usize), 1..10),
        garbage in proptest::prop_oneof![
            4 => proptest::strategy::Just(""),
            1 => proptest::sample::select(vec!["}", "resource \"aws_ecs_cluster\" {", "x = ${", "\u{0}\u{ff}"]),
        ],
    ) {
        let text = generated(&picks, garbage);
        let dir = dir_of(&[("main.tf", text.as_str()), ("t.tpl", "${a}%{ if a != null }x%{ endif }")]);
        let started = Instant::now();
        let result = convert_dir(&dir, &[]);
        proptest::prop_assert!(started.elapsed() < Duration::from_secs(10), "took {:?} on\n{text}", started.elapsed());
        if let Ok(c) = result {
            let written = serde_json::to_string(&c.objects.iter().map(|o| &o.manifest).collect::<Vec<_>>()).unwrap();
            proptest::prop_assert!(written.len() < 16 * 1024 * 1024);
            proptest::prop_assert!(!written.contains("PATH="));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
