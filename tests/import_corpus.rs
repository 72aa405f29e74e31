//! Every file of the shared ECS corpus converts, or fails with a message that names the
//! problem; what each produces is pinned in a table. Converted objects round-trip through the
//! API types, pass the validation `ecsplane render` and the API server apply, and what
//! `ecsplane convert` writes renders with `ecsplane render`.
//!
//! `ECSPLANE_PRINT_CORPUS=1 cargo test --test import_corpus -- --nocapture` prints the actual
//! results as table rows (Rust and Markdown, for docs/import.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use ecsplane::api::{EcsCluster, EcsService, Listener, TargetGroup, TaskDefinition};
use ecsplane::import::{Conversion, ConvertOptions, convert_files};

/// Where the shared corpus is looked for: `../shared/corpus` of the checkout, or of any
/// directory above it (a worktree one level deeper finds the same corpus).
const CHECKOUT: &str = env!("CARGO_MANIFEST_DIR");

/// The shared corpus (`shared/corpus`, holding `ecs/` and `realworld/`), if present.
fn corpus_root() -> Option<PathBuf> {
    Path::new(CHECKOUT)
        .ancestors()
        .skip(1)
        .map(|d| d.join("shared/corpus"))
        .find(|d| d.join("ecs").is_dir())
}

/// What a corpus file is expected to give.
enum Expect {
    /// Converted objects (`Kind/name`), objects held back for unresolved values, and the count
    /// of skipped resources.
    Converts {
        objects: &'static [&'static str],
        held_back: usize,
        skipped: usize,
    },
    /// Invalid input: the error names this.
    Fails(&'static str),
}

use Expect::{Converts, Fails};

/// One corpus row: (path under the corpus, `--param` pairs, expectation).
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Expect,
);

const CASES: &[Case] = &include!("import_corpus_table.in");

fn corpus() -> Option<PathBuf> {
    match corpus_root() {
        Some(root) => Some(root.join("ecs")),
        None => {
            eprintln!("notice: no shared/corpus above {CHECKOUT}; skipping");
            None
        }
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in [
        "cloudformation",
        "services",
        "task-definitions",
        "terraform",
    ] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            out.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

/// The inputs of a table row: one corpus file, or several joined by ` + ` (the `.tf` files of
/// one Terraform directory, converted together as one module).
fn paths(dir: &Path, row: &str) -> Vec<PathBuf> {
    row.split(" + ").map(|f| corpus_file(dir, f)).collect()
}

/// A corpus file of a row: under `ecs/`, or under the corpus root for `realworld/...`.
fn corpus_file(dir: &Path, file: &str) -> PathBuf {
    match dir.parent() {
        Some(root) if file.starts_with("realworld/") => root.join(file),
        _ => dir.join(file),
    }
}

fn run(dir: &Path, file: &str, params: &[(&str, &str)]) -> Result<Conversion, String> {
    let options = ConvertOptions {
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        namespace: Some("imported".into()),
    };
    convert_files(&paths(dir, file), &options).map_err(|e| e.to_string())
}

#[test]
fn every_corpus_file_converts_or_fails_with_a_message_naming_the_problem() {
    let Some(dir) = corpus() else { return };
    let print = std::env::var_os("ECSPLANE_PRINT_CORPUS").is_some();
    let mut failures = Vec::new();
    for file in files(&dir) {
        let cases: Vec<_> = CASES.iter().filter(|(f, ..)| *f == file).collect();
        let params: &[(&str, &str)] = cases.first().map_or(&[], |c| c.1);
        let got = run(&dir, &file, params);
        if print {
            print_row(&file, params, &got);
        }
        if cases.is_empty() {
            failures.push(format!("{file}: not in the table"));
        }
    }
    for (file, params, expect) in CASES {
        let got = run(&dir, file, params);
        match (expect, &got) {
            (
                Converts {
                    objects,
                    held_back,
                    skipped,
                },
                Ok(c),
            ) => {
                let names: Vec<String> = c
                    .objects
                    .iter()
                    .map(|o| format!("{}/{}", o.kind, o.name))
                    .collect();
                if names != *objects
                    || c.incomplete.len() != *held_back
                    || skipped_of(c) != *skipped
                {
                    failures.push(format!(
                        "{file}: expected {objects:?} + {held_back} held back + {skipped} skipped, got {names:?} + {} + {}",
                        c.incomplete.len(),
                        skipped_of(c)
                    ));
                }
            }
            (Fails(what), Err(message)) => {
                if !message.contains(what) || !file.split(" + ").any(|f| message.contains(f)) {
                    failures.push(format!(
                        "{file}: expected an error naming {what:?} and the file, got {message}"
                    ));
                }
            }
            (_, got) => failures.push(format!("{file}: unexpected result {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One row per directory of `realworld/terraform`: its `.tf` files together, one module, as
/// Terraform reads a directory.
fn realworld_terraform_rows(dir: &Path) -> Vec<String> {
    let Some(base) = dir.parent().map(|r| r.join("realworld/terraform")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter()
        .filter_map(|d| {
            let mut tf: Vec<String> = std::fs::read_dir(d)
                .ok()?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tf"))
                .collect();
            tf.sort();
            let name = d.file_name()?.to_string_lossy().into_owned();
            Some(
                tf.iter()
                    .map(|f| format!("realworld/terraform/{name}/{f}"))
                    .collect::<Vec<_>>()
                    .join(" + "),
            )
        })
        .collect()
}

#[test]
fn every_realworld_terraform_directory_is_pinned_as_one_module() {
    let Some(dir) = corpus() else { return };
    let print = std::env::var_os("ECSPLANE_PRINT_CORPUS").is_some();
    let rows = realworld_terraform_rows(&dir);
    assert!(rows.len() >= 7, "{rows:?}");
    let mut missing = Vec::new();
    for row in rows {
        if print {
            print_row(&row, &[], &run(&dir, &row, &[]));
        }
        if !CASES.iter().any(|(f, ..)| *f == row) {
            missing.push(row);
        }
    }
    assert!(missing.is_empty(), "not in the table: {missing:#?}");
}

#[test]
fn converted_corpus_objects_deserialize_into_the_api_types() {
    let Some(dir) = corpus() else { return };
    for (file, params, _) in CASES {
        let Ok(c) = run(&dir, file, params) else {
            continue;
        };
        for o in &c.objects {
            let m = o.manifest.clone();
            let ok = match o.kind.as_str() {
                "EcsCluster" => serde_json::from_value::<EcsCluster>(m).map(|_| ()),
                "TaskDefinition" => serde_json::from_value::<TaskDefinition>(m).map(|_| ()),
                "TargetGroup" => serde_json::from_value::<TargetGroup>(m).map(|_| ()),
                "Listener" => serde_json::from_value::<Listener>(m).map(|_| ()),
                "EcsService" => serde_json::from_value::<EcsService>(m).map(|_| ()),
                other => panic!("unexpected kind {other}"),
            };
            assert!(ok.is_ok(), "{file}: {}/{}: {ok:?}", o.kind, o.name);
            assert_eq!(o.manifest["metadata"]["namespace"], "imported");
            let problems = ecsplane::validate::validate(&o.manifest);
            assert!(
                problems.is_empty(),
                "{file}: {}/{} is invalid: {problems:?}",
                o.kind,
                o.name
            );
        }
    }
}

/// Corpus files whose objects refer to objects of another corpus file (an EcsService to the
/// task definition registered from a file of its own): converted and rendered together.
const TOGETHER: &[(&str, &[&str])] = &[
    (
        "services/native-bluegreen-lifecycle-hooks.json",
        &["task-definitions/native-bluegreen-retail-ui-fargate.json"],
    ),
    (
        "services/native-bluegreen-service-connect-backend.json",
        &["task-definitions/native-bluegreen-service-connect-backend.json"],
    ),
];

/// Converted corpus output that `ecsplane render` refuses, and the reason it must give: valid
/// ECS that has no Kubernetes equivalent, or a reference to an object no corpus file defines.
const RENDER_REFUSES: &[(&str, &str)] = &[
    (
        "task-definitions/firelens-appmesh-envoy-colorteller.json",
        "spec.proxyConfiguration: cannot be translated: App Mesh proxy configuration",
    ),
    (
        "services/native-bluegreen-lifecycle-hooks.json",
        "spec.loadBalancers[0].targetGroupArn: unresolved reference: target group \"BLUE_TARGET_GROUP_ARN\" is not in the input",
    ),
];

fn ecsplane(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecsplane"))
        .args(args)
        .output()
        .expect("ecsplane runs")
}

/// `ecsplane convert -o DIR` on every corpus file that converts (with the table's `--param`s),
/// then `ecsplane render -f DIR`: what convert writes renders, except where the table of
/// refusals names the ECS feature Kubernetes cannot carry.
#[test]
fn what_convert_writes_for_the_corpus_renders() {
    let Some(dir) = corpus() else { return };
    let out_root =
        std::env::temp_dir().join(format!("ecsplane-import-render-{}", std::process::id()));
    let mut failures = Vec::new();
    let mut rendered = 0;
    for (i, (file, params, expect)) in CASES.iter().enumerate() {
        let Converts { objects, .. } = expect else {
            continue;
        };
        if objects.is_empty() {
            continue;
        }
        let out = out_root.join(i.to_string());
        let mut args: Vec<String> = vec!["convert".into(), "-n".into(), "imported".into()];
        args.extend(["-o".into(), out.display().to_string()]);
        let companions = TOGETHER
            .iter()
            .find(|(f, _)| f == file)
            .map_or(&[][..], |(_, c)| *c);
        let inputs = paths(&dir, file)
            .into_iter()
            .chain(companions.iter().map(|c| dir.join(c)));
        for f in inputs {
            args.extend(["-f".into(), f.display().to_string()]);
        }
        for (k, v) in *params {
            args.extend(["--param".into(), format!("{k}={v}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let converted = ecsplane(&args);
        if !converted.status.success() {
            failures.push(format!(
                "{file}: convert failed: {}",
                String::from_utf8_lossy(&converted.stderr)
            ));
            continue;
        }
        let render = ecsplane(&["render", "-f", &out.display().to_string()]);
        let stderr = String::from_utf8_lossy(&render.stderr);
        match RENDER_REFUSES.iter().find(|(f, _)| f == file) {
            Some((_, why)) => {
                if render.status.success() || !stderr.contains(why) {
                    failures.push(format!(
                        "{file}: expected render to refuse with {why:?}, got {:?}: {stderr}",
                        render.status.code()
                    ));
                }
            }
            None => {
                if render.status.success() {
                    rendered += 1;
                } else {
                    failures.push(format!("{file}: render failed: {stderr}"));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out_root);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        rendered >= 40,
        "rendered the output of {rendered} corpus conversions"
    );
}

fn skipped_of(c: &Conversion) -> usize {
    c.files.iter().map(|f| f.skipped).sum()
}

fn print_row(file: &str, params: &[(&str, &str)], got: &Result<Conversion, String>) {
    match got {
        Ok(c) => {
            // Several files of one row (a Terraform directory) summed up as one.
            let mut f = c.files[0].clone();
            for other in &c.files[1..] {
                f.objects.extend(other.objects.iter().cloned());
                f.incomplete.extend(other.incomplete.iter().cloned());
                f.skipped += other.skipped;
                f.not_converted += other.not_converted;
            }
            println!(
                "RUST (\"{file}\", &{params:?}, Converts {{ objects: &{:?}, held_back: {}, skipped: {} }}),",
                f.objects,
                f.incomplete.len(),
                f.skipped
            );
            let unresolved = c
                .notes
                .iter()
                .filter(|n| n.kind == ecsplane::import::NoteKind::Unresolved)
                .count();
            let not_converted = f.not_converted;
            println!(
                "MD | `{file}` | {} | {} | {} | {} | {unresolved} | {not_converted} | |",
                f.format,
                if f.objects.is_empty() {
                    "–".to_owned()
                } else {
                    f.objects.join(", ")
                },
                if f.incomplete.is_empty() {
                    "–".to_owned()
                } else {
                    f.incomplete.join(", ")
                },
                f.skipped,
            );
        }
        Err(e) => {
            println!("RUST (\"{file}\", &{params:?}, Fails(\"...\")),");
            println!(
                "MD | `{file}` | error | {} | | | | | |",
                e.replace('|', "\\|")
            );
        }
    }
}

/// A directory of `realworld/terraform` and its `.tf` files.
fn realworld_terraform(name: &str) -> Option<(PathBuf, Vec<String>)> {
    let dir = corpus_root()?.join("realworld/terraform").join(name);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    Some((dir, files))
}

fn fixture(name: &str) -> String {
    format!("{CHECKOUT}/tests/fixtures/terraform/{name}")
}

fn temp_out(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecsplane-tf-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `ecsplane convert ARGS -o OUT`, then `ecsplane render -f OUT`: both succeed.
fn converts_and_renders(test: &str, args: &[&str]) -> (String, String) {
    let out = temp_out(test);
    let out_s = out.display().to_string();
    let mut all = vec!["convert", "-o", out_s.as_str()];
    all.extend_from_slice(args);
    let converted = ecsplane(&all);
    let stderr = String::from_utf8_lossy(&converted.stderr).into_owned();
    assert!(converted.status.success(), "{stderr}");
    let rendered = ecsplane(&["render", "-f", &out_s]);
    let report = String::from_utf8_lossy(&rendered.stderr).into_owned();
    assert!(rendered.status.success(), "{report}");
    (
        stderr,
        String::from_utf8_lossy(&rendered.stdout).into_owned(),
    )
}

#[test]
fn convert_fails_when_nothing_is_converted_and_names_the_modules_it_did_not_follow() {
    let Some((_, files)) = realworld_terraform("ecs-blueprints-lb-service") else {
        return;
    };
    let out = temp_out("nothing");
    let out_s = out.display().to_string();
    let run = ecsplane(&["convert", "-f", &files[0], "-o", &out_s]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("module.ecs_service (line 22): not converted: module \"ecs_service\": source \"terraform-aws-modules/ecs/aws//modules/service\" is a Terraform Registry module, downloaded by `terraform init`; not followed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: nothing converted from 1 input file(s): 0 object(s) held back for unresolved values, 1 resource(s) skipped, 2 not converted"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
    let run = ecsplane(&["convert", "-f", &files[0]]);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stdout.is_empty());
}

#[test]
fn a_tfvars_file_supplies_the_variables_of_a_real_module_and_the_output_renders() {
    let Some((_, files)) = realworld_terraform("knappek-ecs-module") else {
        return;
    };
    let resources = [
        "aws_ecr_repository.docker.repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
        "aws_iam_role.ecs_execution_role.arn=arn:aws:iam::123456789012:role/ecs_task_execution_role",
        "aws_ecs_task_definition.task.revision=3",
        "data.aws_ecs_task_definition.task.revision=2",
    ];
    for (vars, service) in [
        ("knappek-ecs-module.tfvars", "web"),
        ("knappek-ecs-module.tfvars.json", "api"),
    ] {
        let vars = fixture(vars);
        let mut args: Vec<&str> = Vec::new();
        for f in &files {
            args.extend(["-f", f.as_str()]);
        }
        args.extend(["--param-file", vars.as_str()]);
        // --param wins over the file.
        args.extend(["--param", "var.cluster_name=staging"]);
        for r in &resources {
            args.extend(["--param", r]);
        }
        let (stderr, rendered) = converts_and_renders(service, &args);
        assert!(
            stderr.contains("main.tf (Terraform): 5 converted, 0 held back"),
            "{stderr}"
        );
        assert!(
            rendered.contains(&format!("name: {service}\n")),
            "{rendered}"
        );
        let out =
            std::env::temp_dir().join(format!("ecsplane-tf-cli-{}-{service}", std::process::id()));
        let cluster = std::fs::read_to_string(out.join("ecscluster-staging.yaml")).unwrap();
        assert!(cluster.contains("clusterName: staging"), "{cluster}");
    }
    let refused = ecsplane(&["convert", "-f", &files[0], "--param-file", "values.txt"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(
        "values.txt: --param-file takes a Terraform variable file (.tfvars or .tfvars.json)"
    ));
}

#[test]
fn a_terraform_plan_in_json_converts_and_renders() {
    let plan = fixture("plan-knappek-module.json");
    let (stderr, rendered) = converts_and_renders("plan", &["-f", &plan]);
    assert!(
        stderr.contains(
            "plan-knappek-module.json (terraform show -json (plan)): 5 converted, 0 held back"
        ),
        "{stderr}"
    );
    assert!(rendered.contains("kind: Deployment"), "{rendered}");
}

#[test]
fn a_real_module_called_twice_from_a_local_source_converts_and_renders() {
    let Some((module, _)) = realworld_terraform("knappek-ecs-module") else {
        return;
    };
    let caller = temp_out("caller-src");
    std::fs::create_dir_all(&caller).unwrap();
    let mut text = String::new();
    let mut params = Vec::new();
    let source = format!(
        "{}{}",
        "../".repeat(caller.components().count() - 1),
        module.display().to_string().trim_start_matches('/')
    );
    for name in ["web", "api"] {
        text.push_str(&format!(
            "module \"{name}\" {{\n  source = \"{source}\"\n  service_name = \"{name}\"\n  cluster_name = \"{name}\"\n  repository_name = \"{name}\"\n  vpc_id = \"vpc-0a1b\"\n  availability_zones = [\"us-east-1a\"]\n  security_groups_ids = [\"sg-0base\"]\n  subnets_ids = [\"subnet-0priv1\"]\n  public_subnet_ids = [\"subnet-0pub1\"]\n}}\n"
        ));
        for p in [
            format!(
                "module.{name}.aws_ecr_repository.docker.repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"
            ),
            format!(
                "module.{name}.aws_iam_role.ecs_execution_role.arn=arn:aws:iam::123456789012:role/exec"
            ),
            format!("module.{name}.aws_ecs_task_definition.task.revision=1"),
            format!("module.{name}.data.aws_ecs_task_definition.task.revision=1"),
        ] {
            params.push(p);
        }
    }
    let main = caller.join("main.tf");
    std::fs::write(&main, text).unwrap();
    let main = main.display().to_string();
    let mut args = vec!["-f", main.as_str()];
    for p in &params {
        args.extend(["--param", p.as_str()]);
    }
    let (stderr, rendered) = converts_and_renders("caller", &args);
    assert!(
        stderr.contains("main.tf (Terraform): 10 converted, 0 held back"),
        "{stderr}"
    );
    for name in ["web-alb-target-group", "api-alb-target-group"] {
        assert!(
            rendered.contains(&format!("name: {name}\n")),
            "{name}: {rendered}"
        );
    }
}
