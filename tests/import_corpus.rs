//! Every file of the shared ECS corpus (`../shared/corpus/ecs`) and of the real-world inputs
//! (`../shared/corpus/realworld`) converts, or fails with a message that names the problem;
//! what each produces is pinned in a table. Converted objects round-trip through the API
//! types, pass the validation `ecsplane render` and the API server apply, and what `ecsplane
//! convert` writes renders with `ecsplane render` (or render refuses it naming file, object and
//! field). The issue-14 behaviours are shown on the real files that exposed them.
//!
//! `ECSPLANE_PRINT_CORPUS=1 cargo test --test import_corpus -- --nocapture` prints the actual
//! results as table rows (Rust and Markdown, for docs/import.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use ecsplane::api::{EcsCluster, EcsService, Listener, TargetGroup, TaskDefinition};
use ecsplane::import::{
    Conversion, ConvertOptions, NoteKind, convert_files, convert_sources, read_param_file,
};

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

/// Table rows under this prefix are files of `../shared/corpus/realworld`.
const REALWORLD: &str = "realworld/";

/// A table row's `--param` pair with this key reads a parameter file (a path as rows are) the
/// way `--param-file` does.
const PARAM_FILE: &str = "--param-file";

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
    let subs = [
        "cloudformation",
        "services",
        "task-definitions",
        "terraform",
        "realworld/cloudformation",
        "realworld/json",
        "realworld/derived",
    ];
    for sub in subs {
        let Ok(entries) = std::fs::read_dir(path_of(dir, sub)) else {
            continue;
        };
        for e in entries.flatten() {
            out.push(format!("{sub}/{}", e.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

/// A row's file: under the ECS corpus, or under `realworld/` beside it.
fn path_of(dir: &Path, f: &str) -> PathBuf {
    match f.strip_prefix(REALWORLD) {
        Some(rest) => dir.join("../realworld").join(rest),
        None => dir.join(f),
    }
}

/// The inputs of a table row: one corpus file, or several joined by ` + ` (the `.tf` files of
/// one Terraform directory, converted together as one module; stacks that import from each
/// other).
fn paths(dir: &Path, row: &str) -> Vec<PathBuf> {
    row.split(" + ").map(|f| path_of(dir, f)).collect()
}

/// The options of a row: its `--param`s, with `--param-file` pairs read as the CLI reads them.
fn options_of(dir: &Path, params: &[(&str, &str)]) -> ConvertOptions {
    let mut all = std::collections::BTreeMap::new();
    for (_, v) in params.iter().filter(|(k, _)| *k == PARAM_FILE) {
        all.extend(read_param_file(&path_of(dir, v)).expect("the row's parameter file reads"));
    }
    for (k, v) in params.iter().filter(|(k, _)| *k != PARAM_FILE) {
        all.insert((*k).to_owned(), (*v).to_owned());
    }
    ConvertOptions {
        params: all,
        namespace: Some("imported".into()),
    }
}

fn run(dir: &Path, file: &str, params: &[(&str, &str)]) -> Result<Conversion, String> {
    convert_files(&paths(dir, file), &options_of(dir, params)).map_err(|e| e.to_string())
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
                let named = file
                    .split(" + ")
                    .any(|f| message.contains(f.trim_start_matches(REALWORLD)));
                if !message.contains(what) || !named {
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
                "EcsScheduledTask" => {
                    serde_json::from_value::<ecsplane::api::EcsScheduledTask>(m).map(|_| ())
                }
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
    (
        "realworld/derived/aws-cli-describe-listeners.output.json",
        &["realworld/derived/aws-cli-describe-target-groups.output.json"],
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
    (
        "realworld/derived/aws-cli-describe-services.output.json",
        "spec.taskDefinition: unresolved reference: EcsService my-http-service refers to task definition \"arn:aws:ecs:us-west-2:123456789012:task-definition/amazon-ecs-sample:1\", but no TaskDefinition of family \"amazon-ecs-sample\" is in the input",
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
            .chain(companions.iter().map(|c| path_of(&dir, c)));
        for f in inputs {
            args.extend(["-f".into(), f.display().to_string()]);
        }
        for (k, v) in *params {
            if *k == PARAM_FILE {
                args.extend([
                    "--param-file".into(),
                    path_of(&dir, v).display().to_string(),
                ]);
            } else {
                args.extend(["--param".into(), format!("{k}={v}")]);
            }
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
        let render = ecsplane(&[
            "render",
            "--security-policy",
            "privileged",
            "-f",
            &out.display().to_string(),
        ]);
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
            let objects: Vec<String> = c
                .objects
                .iter()
                .map(|o| format!("{}/{}", o.kind, o.name))
                .collect();
            let held: Vec<String> = c
                .incomplete
                .iter()
                .map(|i| format!("{}/{}", i.object.kind, i.object.name))
                .collect();
            println!(
                "RUST (\"{file}\", &{params:?}, Converts {{ objects: &{objects:?}, held_back: {}, skipped: {} }}),",
                held.len(),
                skipped_of(c)
            );
            let unresolved = c
                .notes
                .iter()
                .filter(|n| n.kind == NoteKind::Unresolved)
                .count();
            let not_converted: usize = c.files.iter().map(|f| f.not_converted).sum();
            let formats: Vec<&str> = c.files.iter().map(|f| f.format.as_str()).collect();
            let list = |l: &[String]| {
                if l.is_empty() {
                    "–".to_owned()
                } else {
                    l.join(", ")
                }
            };
            println!(
                "MD | `{file}` | {} | {} | {} | {} | {unresolved} | {not_converted} |",
                formats.join("; "),
                list(&objects),
                list(&held),
                skipped_of(c),
            );
        }
        Err(e) => {
            println!("RUST (\"{file}\", &{params:?}, Fails(\"...\")),");
            println!(
                "MD | `{file}` | error | {} | | | | |",
                e.replace('|', "\\|")
            );
        }
    }
}

// ---- Issue 14, shown on the real files that exposed each problem. ----

fn realworld(f: &str) -> Option<PathBuf> {
    corpus().map(|dir| dir.join("../realworld").join(f))
}

fn convert_with(paths: &[PathBuf], params: &[(&str, &str)]) -> Conversion {
    let dir = corpus().expect("the corpus is present");
    convert_files(paths, &options_of(&dir, params)).unwrap_or_else(|e| panic!("{e}"))
}

fn names(c: &Conversion) -> Vec<String> {
    c.objects
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect()
}

fn held_names(c: &Conversion) -> Vec<String> {
    c.incomplete
        .iter()
        .map(|i| format!("{}/{}", i.object.kind, i.object.name))
        .collect()
}

fn temp(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecsplane-import-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_service_whose_task_definition_is_held_back_is_held_back_with_it_and_the_output_renders() {
    let Some(f) = realworld("cloudformation/cdk-ext-all-service-addons.template.json") else {
        return;
    };
    let c = convert_with(std::slice::from_ref(&f), &[]);
    let families: Vec<&str> = c
        .objects
        .iter()
        .filter(|o| o.kind.as_str() == "TaskDefinition")
        .filter_map(|o| o.manifest["spec"]["family"].as_str())
        .collect();
    for o in c.objects.iter().filter(|o| o.kind.as_str() == "EcsService") {
        let td = o.manifest["spec"]["taskDefinition"]
            .as_str()
            .unwrap_or_default();
        assert!(
            families.contains(&td),
            "{} refers to {td}, which is not written",
            o.name
        );
    }
    let held: Vec<_> = c
        .notes
        .iter()
        .filter(|n| n.location.path.as_deref() == Some("taskDefinition"))
        .filter(|n| {
            n.message.contains("refers to TaskDefinition") && n.message.contains("held back")
        })
        .collect();
    assert_eq!(
        held.len(),
        3,
        "one line per service saying why: {:?}",
        c.notes
    );
    assert_eq!(
        held_names(&c)
            .iter()
            .filter(|n| n.starts_with("EcsService/"))
            .count(),
        3
    );
    let out = temp("cascade");
    let run = ecsplane(&[
        "convert",
        "-f",
        &f.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let render = ecsplane(&["render", "-f", &out.display().to_string()]);
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
}

#[test]
fn an_assumed_stack_name_too_long_for_a_target_group_name_holds_back_that_target_group_only() {
    let Some(f) = realworld("cloudformation/cfnt-fargate-cluster-public-vpc.yaml") else {
        return;
    };
    let c = convert_with(std::slice::from_ref(&f), &[]);
    assert_eq!(
        names(&c),
        ["EcsCluster/cfnt-fargate-cluster-public-vpc-ecscluster-0be55164"]
    );
    let why = c
        .notes
        .iter()
        .find(|n| n.location.path.as_deref() == Some("name") && n.kind == NoteKind::Unresolved)
        .expect("the target group's name is unresolved");
    assert!(
        why.message
            .contains("AWS::StackName=cfnt-fargate-cluster-public-vpc (from the file name)"),
        "{}",
        why.message
    );
    assert!(
        why.message
            .contains("--param cfnt-fargate-cluster-public-vpc.yaml:AWS::StackName=NAME"),
        "{}",
        why.message
    );
    assert!(why.message.contains("Too long"), "{}", why.message);
    // The listener forwarding to it is held back with it, saying why.
    assert!(held_names(&c).iter().any(|n| n.starts_with("Listener/")));
    assert!(c.notes.iter().any(|n| {
        n.message
            .contains("refers to TargetGroup cfnt-fargate-cluster-public-vpc-drop-1")
    }));
    // Named as the stack is, everything converts.
    let c = convert_with(
        &[f],
        &[(
            "cfnt-fargate-cluster-public-vpc.yaml:AWS::StackName",
            "prod",
        )],
    );
    assert!(
        names(&c).contains(&"TargetGroup/prod-drop-1".to_owned()),
        "{:?}",
        names(&c)
    );
    assert!(c.incomplete.is_empty(), "{:?}", held_names(&c));
}

#[test]
fn names_from_logical_ids_are_stack_qualified_so_two_copilot_stacks_never_merge() {
    let (Some(a), Some(b)) = (
        realworld("cloudformation/copilot-svc-staging.stack.yml"),
        realworld("cloudformation/copilot-backend-https-path-alias.yml"),
    ) else {
        return;
    };
    let c = convert_with(&[a, b], &[]);
    let all: Vec<String> = names(&c).into_iter().chain(held_names(&c)).collect();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "{all:?}");
    for stack in ["copilot-svc-staging", "copilot-backend-https-path-alias"] {
        // Target group names are shortened to ELB's 32 characters, with a hash.
        for kind in ["EcsService", "TargetGroup", "TaskDefinition"] {
            assert!(
                all.iter()
                    .any(|n| n.starts_with(&format!("{kind}/{}", &stack[..stack.len().min(19)]))),
                "{kind} of {stack} in {all:?}"
            );
        }
    }
    assert!(
        c.notes
            .iter()
            .all(|n| !n.message.contains("only the first is kept"))
    );
}

#[test]
fn two_different_objects_of_one_name_are_an_error_naming_both_files() {
    let Some(dir) = corpus() else { return };
    let product = dir.join("cloudformation/refarch-product-service.yaml");
    let copy = temp("collision").join("product-copy.yaml");
    let text = std::fs::read_to_string(&product)
        .unwrap()
        .replace("Memory: 128", "Memory: 256");
    std::fs::write(&copy, text).unwrap();
    let e = convert_files(&[product.clone(), copy.clone()], &ConvertOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TaskDefinition product-service is also converted from"),
        "{e}"
    );
    assert!(
        e.contains("product-copy.yaml") && e.contains("refarch-product-service.yaml"),
        "{e}"
    );
    // The same object twice is written once.
    let c = convert_with(&[product.clone(), product], &[]);
    assert_eq!(
        names(&c)
            .iter()
            .filter(|n| *n == "TaskDefinition/product-service")
            .count(),
        1
    );
}

/// The refarch stacks as upstream lays them out (master.yaml nests the others by URL).
fn refarch_tree() -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = corpus()?;
    let root = temp("refarch");
    let files = [
        (
            "../realworld/cloudformation/refarch-master-nested-stacks.yaml",
            "master.yaml",
        ),
        (
            "../realworld/cloudformation/refarch-ecs-cluster.yaml",
            "infrastructure/ecs-cluster.yaml",
        ),
        (
            "cloudformation/refarch-load-balancers.yaml",
            "infrastructure/load-balancers.yaml",
        ),
        (
            "cloudformation/refarch-product-service.yaml",
            "services/product-service/service.yaml",
        ),
        (
            "cloudformation/refarch-website-service-stepscaling.yaml",
            "services/website-service/service.yaml",
        ),
    ];
    let mut paths = Vec::new();
    for (from, to) in files {
        let to = root.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(dir.join(from), &to).unwrap();
        paths.push(to);
    }
    Some((root, paths))
}

#[test]
fn nested_stacks_are_followed_with_their_parameters_and_outputs_and_routes_stay_with_their_stack() {
    let Some((root, paths)) = refarch_tree() else {
        return;
    };
    let c = convert_with(&paths, &[("LoadBalancer.DNSName", "alb.example.com")]);
    assert!(c.incomplete.is_empty(), "{:?}", c.notes);
    let get = |kind: &str, name: &str| {
        c.objects
            .iter()
            .find(|o| o.kind.as_str() == kind && o.name == name)
            .unwrap_or_else(|| panic!("{kind}/{name} in {:?}", names(&c)))
    };
    // EnvironmentName is the master's stack name, passed down.
    get("EcsCluster", "master");
    let listener = c
        .objects
        .iter()
        .find(|o| o.kind.as_str() == "Listener")
        .unwrap();
    let rules = listener.manifest["spec"]["rules"].as_array().unwrap();
    let forward = |r: &serde_json::Value| {
        r["actions"][0]["targetGroupArn"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0]["conditions"][0]["values"][0], "/");
    assert!(
        forward(&rules[0]).starts_with("master-WebsiteService-"),
        "{rules:?}"
    );
    assert_eq!(rules[1]["conditions"][0]["values"][0], "/products");
    assert!(
        forward(&rules[1]).starts_with("master-ProductService-"),
        "{rules:?}"
    );
    let website = c
        .objects
        .iter()
        .find(|o| o.kind.as_str() == "EcsService" && o.name.starts_with("master-websiteservice"))
        .expect("the website service");
    assert_eq!(website.manifest["spec"]["cluster"], "master");
    assert!(
        website.manifest["spec"]["autoScaling"]["scalingPolicies"].is_array(),
        "its step scaling lands on it"
    );
    let product = c
        .objects
        .iter()
        .find(|o| o.kind.as_str() == "EcsService" && o.name.starts_with("master-productservice"))
        .expect("the product service");
    assert!(product.manifest["spec"].get("autoScaling").is_none());
    // What is not among the inputs is said, not dropped.
    assert!(c.notes.iter().any(|n| {
        n.message
            .contains("its template (vpc.yaml) is not among the inputs")
    }));
    let out = root.join("out");
    let mut args: Vec<String> = vec!["convert".into(), "-o".into(), out.display().to_string()];
    for p in &paths {
        args.extend(["-f".into(), p.display().to_string()]);
    }
    args.extend([
        "--param".into(),
        "LoadBalancer.DNSName=alb.example.com".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(ecsplane(&args).status.success());
    let render = ecsplane(&["render", "-f", &out.display().to_string()]);
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
}

#[test]
fn a_copilot_params_file_and_a_scoped_stack_name_supply_what_each_stack_needs() {
    let (Some(stack), Some(params)) = (
        realworld("cloudformation/copilot-svc-staging.stack.yml"),
        realworld("cloudformation/copilot-svc-staging.params.json"),
    ) else {
        return;
    };
    let values = read_param_file(&params).unwrap();
    assert!(values.contains(&("TaskCPU".to_owned(), "256".to_owned())));
    let c = convert_with(
        std::slice::from_ref(&stack),
        &[(
            PARAM_FILE,
            "realworld/cloudformation/copilot-svc-staging.params.json",
        )],
    );
    assert!(
        c.notes
            .iter()
            .all(|n| !n.message.contains("has no Default")),
        "{:?}",
        c.notes
    );
    let td = c
        .incomplete
        .iter()
        .map(|i| &i.object)
        .chain(&c.objects)
        .find(|o| o.kind.as_str() == "TaskDefinition")
        .unwrap();
    assert_eq!(td.manifest["spec"]["family"], "my-app-staging-fe");
    assert_eq!(td.manifest["spec"]["cpu"], "256");
    // npeck's service imports `production:…` from the VPC stack, named production on the
    // command line for that file only.
    let (Some(vpc), Some(svc)) = (
        realworld("cloudformation/npeck-fargate-public-vpc.yml"),
        realworld("cloudformation/npeck-fargate-public-subnet-public-lb-service.yml"),
    ) else {
        return;
    };
    let alone = convert_with(&[vpc.clone(), svc.clone()], &[]);
    assert!(
        alone.notes.iter().any(|n| n
            .message
            .contains("pass --param npeck-fargate-public-vpc.yml:AWS::StackName=production")),
        "the hint names the stack name to pass: {:?}",
        alone.notes
    );
    let c = convert_with(
        &[vpc, svc],
        &[("npeck-fargate-public-vpc.yml:AWS::StackName", "production")],
    );
    assert!(c.incomplete.is_empty(), "{:?}", held_names(&c));
    let service = c
        .objects
        .iter()
        .find(|o| o.kind.as_str() == "EcsService")
        .unwrap();
    assert_eq!(service.manifest["spec"]["cluster"], "production-ECSCluster");
    let listener = c
        .objects
        .iter()
        .find(|o| o.kind.as_str() == "Listener")
        .unwrap();
    assert!(
        listener.manifest["spec"]["rules"].is_array(),
        "the service's rule joins the imported listener"
    );
}

#[test]
fn describe_target_groups_output_keeps_the_target_group_name() {
    let Some(f) = realworld("derived/aws-cli-describe-target-groups.output.json") else {
        return;
    };
    let c = convert_with(&[f], &[]);
    assert_eq!(c.objects[0].manifest["spec"]["name"], "my-targets");
    assert!(
        c.notes
            .iter()
            .all(|n| n.location.path.as_deref() != Some("TargetGroupName"))
    );
}

#[test]
fn angle_bracket_placeholders_of_the_blueprints_are_reported_as_placeholders() {
    let Some(f) = realworld("json/ecs-blueprints-cicd-task-definition-placeholders.json") else {
        return;
    };
    let c = convert_with(&[f], &[]);
    assert_eq!(c.incomplete.len(), 1);
    let placeholders = c
        .notes
        .iter()
        .filter(|n| {
            n.kind == NoteKind::Unresolved
                && n.message.contains("unrendered placeholder <PLACEHOLDER>")
        })
        .count();
    assert!(placeholders >= 4, "{:?}", c.notes);
}

// ---- Fuzzing: generated documents seeded with the corpus. ----

mod fuzz {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// Parsed corpus documents of one family.
    fn seeds(family: &str) -> &'static [Value] {
        static CFN: OnceLock<Vec<Value>> = OnceLock::new();
        static CLI: OnceLock<Vec<Value>> = OnceLock::new();
        static PLAN: OnceLock<Vec<Value>> = OnceLock::new();
        let load = |cfn: bool| {
            let Some(dir) = corpus() else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for f in files(&dir) {
                let path = path_of(&dir, &f);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let doc: Option<Value> = if f.ends_with(".json") {
                    serde_json::from_str(&text).ok()
                } else if f.ends_with(".yaml") || f.ends_with(".yml") {
                    ecsplane::import::yaml::parse(&text).ok()
                } else {
                    None
                };
                let Some(doc) = doc else { continue };
                if doc.get("Resources").is_some() == cfn {
                    out.push(doc);
                }
            }
            out
        };
        match family {
            "cfn" => CFN.get_or_init(|| load(true)),
            "plan" => PLAN.get_or_init(|| {
                let mut out: Vec<Value> =
                    std::fs::read_to_string(fixture("plan-knappek-module.json"))
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok())
                        .into_iter()
                        .collect();
                out.push(schedule_plan());
                out
            }),
            _ => CLI.get_or_init(|| load(false)),
        }
    }

    /// A `terraform show -json` state of a scheduled task: an EventBridge rule, its ECS
    /// target and a Scheduler schedule (the nested blocks as Terraform lists them).
    fn schedule_plan() -> Value {
        json!({
            "format_version": "1.2",
            "values": {"root_module": {"resources": [
                {"address": "aws_ecs_task_definition.report", "mode": "managed", "type": "aws_ecs_task_definition", "name": "report",
                 "values": {"family": "report", "container_definitions": "[{\"name\":\"app\",\"image\":\"example/report:2.0\",\"memory\":128}]"}},
                {"address": "aws_cloudwatch_event_rule.nightly", "mode": "managed", "type": "aws_cloudwatch_event_rule", "name": "nightly",
                 "values": {"name": "nightly", "schedule_expression": "cron(0 3 * * ? *)", "state": "ENABLED"}},
                {"address": "aws_cloudwatch_event_target.report", "mode": "managed", "type": "aws_cloudwatch_event_target", "name": "report",
                 "values": {"rule": "nightly", "arn": "jobs", "input": "{\"containerOverrides\":[]}",
                            "ecs_target": [{"task_definition_arn": "report", "task_count": 2,
                                            "network_configuration": [{"subnets": ["s-1"], "assign_public_ip": false}],
                                            "placement_constraint": [{"type": "memberOf", "expression": "attribute:x == y"}]}],
                            "retry_policy": [{"maximum_retry_attempts": 1}]}},
                {"address": "aws_scheduler_schedule.hourly", "mode": "managed", "type": "aws_scheduler_schedule", "name": "hourly",
                 "values": {"name": "hourly", "schedule_expression": "rate(1 hour)", "schedule_expression_timezone": "Europe/Paris",
                            "flexible_time_window": [{"mode": "OFF"}],
                            "target": [{"arn": "jobs", "ecs_parameters": [{"task_definition_arn": "report"}]}]}},
            ]}},
        })
    }

    /// Values that break assumptions: non-objects, intrinsics with odd arguments,
    /// self-references, placeholders and secrets.
    fn hostile() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!(1e308)),
            "[a-zA-Z0-9:/${}<>_.-]{0,12}".prop_map(Value::from),
            Just(json!("{{resolve:secretsmanager:s:SecretString:k}}")),
            Just(json!("<IMAGE1_NAME>")),
            Just(json!("${a}:${max(\"${b}\",\"${c}\")}")),
            Just(json!({"Ref": "AWS::StackName"})),
            Just(json!({"Ref": "Nope"})),
            Just(json!({"Fn::FindInMap": ["M", "a", "b"]})),
            Just(json!({"Fn::Split": ["", "abcdef"]})),
            Just(json!({"Fn::GetAtt": ["Stack", "Outputs.X"]})),
            Just(json!({"Fn::If": ["C", {"Ref": "AWS::NoValue"}, 1]})),
            Just(json!({"Fn::Join": [5, 6]})),
            Just(json!({"Fn::Sub": [1, 2]})),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[A-Za-z]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every node of `v`, by pre-order index: replaces the `k`-th (mod the count) with `with`.
    fn replace_nth(v: &mut Value, k: usize, with: Value) {
        fn count(v: &Value) -> usize {
            1 + match v {
                Value::Array(a) => a.iter().map(count).sum(),
                Value::Object(m) => m.values().map(count).sum(),
                _ => 0,
            }
        }
        fn walk(v: &mut Value, k: &mut usize, with: &mut Option<Value>) {
            if *k == 0 {
                if let Some(w) = with.take() {
                    *v = w;
                }
                return;
            }
            *k -= 1;
            match v {
                Value::Array(a) => a.iter_mut().for_each(|c| walk(c, k, with)),
                Value::Object(m) => m.values_mut().for_each(|c| walk(c, k, with)),
                _ => {}
            }
        }
        let mut k = k % count(v);
        walk(v, &mut k, &mut Some(with));
    }

    /// A mutated seed: a few of its nodes replaced by hostile values.
    fn mutated(family: &'static str) -> impl Strategy<Value = Value> {
        let n = seeds(family).len().max(1);
        (
            0..n,
            prop::collection::vec((any::<usize>(), hostile()), 1..5),
        )
            .prop_map(move |(i, edits)| {
                let mut doc = seeds(family).get(i).cloned().unwrap_or_else(|| json!({}));
                for (k, v) in edits {
                    replace_nth(&mut doc, k, v);
                }
                doc
            })
    }

    /// Converts `text` and checks that the output is bounded by the input.
    fn converts_bounded(file: &str, text: &str) {
        let options = ConvertOptions::default();
        if let Ok(c) = convert_sources(&[(PathBuf::from(file), text.to_owned())], &options) {
            let written: usize = c
                .objects
                .iter()
                .chain(c.incomplete.iter().map(|i| &i.object))
                .map(|o| o.manifest.to_string().len())
                .sum();
            assert!(
                written <= 64 * text.len() + (1 << 20),
                "{written} bytes written from {} bytes",
                text.len()
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn generated_cloudformation_json_never_panics_and_stays_bounded(doc in mutated("cfn")) {
            converts_bounded("stack.json", &doc.to_string());
        }

        #[test]
        fn generated_cloudformation_yaml_never_panics_and_stays_bounded(
            doc in mutated("cfn"),
            anchors in prop::collection::vec(("[a-z]{1,3}", 0usize..4), 0..6),
        ) {
            // Block YAML of the document, plus anchors and aliases (some to unknown anchors)
            // and short-form tags in a tail of extra resources.
            let mut text = serde_saphyr::to_string(&doc).unwrap_or_default();
            text.push_str("Extra:\n");
            for (i, (name, use_)) in anchors.iter().enumerate() {
                text.push_str(&format!("  a{i}: &{name} [!Ref {name}, !Sub '${{{name}}}', !GetAtt {name}.Arn]\n"));
                text.push_str(&format!("  b{i}: [{}]\n", vec![format!("*{name}"); *use_].join(", ")));
            }
            converts_bounded("stack.yaml", &text);
        }

        #[test]
        fn generated_aws_cli_json_never_panics_and_stays_bounded(doc in mutated("cli")) {
            converts_bounded("output.json", &doc.to_string());
        }

        #[test]
        fn generated_terraform_show_json_never_panics_and_stays_bounded(doc in mutated("plan")) {
            converts_bounded("plan.json", &doc.to_string());
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
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("module.ecs_service (line 22): not converted: module \"ecs_service\": source \"terraform-aws-modules/ecs/aws//modules/service\" is a Terraform Registry module, downloaded by `terraform init`; not followed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing converted: no object could be written (exit code 3)"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
    let run = ecsplane(&["convert", "-f", &files[0]]);
    assert_eq!(run.status.code(), Some(3));
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
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("values.txt: cannot read"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
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

/// The rows of a Markdown table cell list (`A, B`; `–` for none).
fn cell_list(cell: &str) -> Vec<String> {
    match cell.trim() {
        "–" | "" => Vec::new(),
        list => list.split(", ").map(str::to_owned).collect(),
    }
}

/// The corpus tables of docs/import.md say what the pinned rows say: for every row converted
/// without `--param`, the objects written, how many are held back and how many resources are
/// skipped (a text comparison, no conversion: regenerate the rows with
/// `ECSPLANE_PRINT_CORPUS=1` when it fails).
#[test]
fn the_corpus_tables_of_docs_import_md_agree_with_the_pinned_rows() {
    let doc = std::fs::read_to_string(Path::new(CHECKOUT).join("docs/import.md"))
        .expect("docs/import.md reads");
    let mut checked = 0;
    let mut stale = Vec::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split(" | ").collect();
        let Some(first) = cells.first().and_then(|c| c.strip_prefix("| `")) else {
            continue;
        };
        let Some((name, rest)) = first.split_once('`') else {
            continue;
        };
        // `DIR` (`a.tf`, `b.tf`): a directory of realworld/terraform.
        let row = match rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
        {
            Some(files) => files
                .split(", ")
                .map(|f| format!("realworld/terraform/{name}/{}", f.trim_matches('`')))
                .collect::<Vec<_>>()
                .join(" + "),
            None => name.to_owned(),
        };
        let Some((_, _, expect)) = CASES.iter().find(|(f, p, _)| *f == row && p.is_empty()) else {
            continue;
        };
        let (
            Converts {
                objects,
                held_back,
                skipped,
            },
            true,
        ) = (expect, cells.len() >= 7 && cells[1] != "error")
        else {
            continue;
        };
        checked += 1;
        let written = cell_list(cells[2]);
        let held = cell_list(cells[3]).len();
        let doc_skipped = cells[4].trim().parse::<usize>().ok();
        if written != *objects || held != *held_back || doc_skipped != Some(*skipped) {
            stale.push(format!(
                "{row}: docs say {written:?} + {held} held back + {doc_skipped:?} skipped, the table pins {objects:?} + {held_back} + {skipped}"
            ));
        }
    }
    assert!(
        checked >= 50,
        "only {checked} rows of docs/import.md were compared"
    );
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

// ---- Issue 17: CloudWatch alarms of step scaling policies. ----

/// Every `(policy, alarm)` pair of the converted and held-back EcsServices.
fn policy_alarms(c: &Conversion) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let manifests = c
        .objects
        .iter()
        .chain(c.incomplete.iter().map(|i| &i.object))
        .filter(|o| o.kind.as_str() == "EcsService")
        .map(|o| &o.manifest);
    for m in manifests {
        for p in m["spec"]["autoScaling"]["scalingPolicies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for a in p["alarms"].as_array().into_iter().flatten() {
                out.push((
                    p["policyName"].as_str().unwrap_or_default().to_owned(),
                    a["alarmName"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A corpus input with alarms: (row, `--param` pairs, `(policy, alarm)` pairs, alarms skipped).
type AlarmCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
    usize,
);

/// The corpus files with CloudWatch alarms: those whose actions name a step scaling policy
/// become its `alarms` (counted here, by policy and alarm), the others (deployment rollback
/// alarms, SNS notifications) stay skipped resources (counted too). Cost: six small
/// conversions, under a second.
#[test]
fn corpus_alarms_that_invoke_step_policies_become_their_alarms_and_the_others_stay_skipped() {
    let Some(dir) = corpus() else {
        return;
    };
    let turnerlabs = "terraform/turnerlabs-fargate-ecs.tf + terraform/turnerlabs-fargate-lb.tf + terraform/turnerlabs-fargate-lb-https.tf + terraform/turnerlabs-fargate-autoscale-step.tf";
    let turnerlabs_params: &[(&str, &str)] = &[
        ("var.app", "web"),
        ("var.environment", "dev"),
        ("var.container_port", "8080"),
        ("var.health_check", "/health"),
        ("var.region", "us-east-1"),
        ("var.lb_port", "80"),
        ("var.lb_protocol", "HTTP"),
        (
            "aws_iam_role.app_role.arn",
            "arn:aws:iam::123456789012:role/app",
        ),
    ];
    let cases: &[AlarmCase] = &[
        (
            "cloudformation/refarch-website-service-stepscaling.yaml",
            &[("Cluster", "prod")],
            &[
                ("ServiceScaleInPolicy", "CPU utilization less than 70%"),
                ("ServiceScaleOutPolicy", "CPU utilization greater than 90%"),
            ],
            0,
        ),
        (
            "cloudformation/cfn-templates-ecs-schedule-stepscaling.yaml",
            &[],
            &[(
                "AStepPolicy",
                "cfn-templates-ecs-schedule-stepscaling-ALB500sAlarmScaleUp",
            )],
            0,
        ),
        (
            "cloudformation/copilot-worker-service-efs-queue-scaling.yaml",
            &[],
            &[],
            3,
        ),
        (
            "cloudformation/copilot-lb-web-service-prod.yaml",
            &[],
            &[],
            1,
        ),
        (
            "cloudformation/codedeploy-bg-load-balancer.yaml",
            &[],
            &[],
            2,
        ),
        (
            turnerlabs,
            turnerlabs_params,
            &[
                ("app-scale-down", "web-dev-CPU-Utilization-Low-20"),
                ("app-scale-up", "web-dev-CPU-Utilization-High-80"),
            ],
            0,
        ),
    ];
    for (file, params, alarms, skipped) in cases {
        let c = run(&dir, file, params).unwrap_or_else(|e| panic!("{file}: {e}"));
        let want: Vec<(String, String)> = alarms
            .iter()
            .map(|(p, a)| ((*p).to_owned(), (*a).to_owned()))
            .collect();
        assert_eq!(policy_alarms(&c), want, "{file}");
        let skipped_alarms = c
            .skipped
            .get("AWS::CloudWatch::Alarm")
            .copied()
            .unwrap_or(0)
            + c.skipped
                .get("aws_cloudwatch_metric_alarm")
                .copied()
                .unwrap_or(0);
        assert_eq!(skipped_alarms, *skipped, "{file}: {:?}", c.skipped);
    }
    // The ALB 5XX alarm is an AWS/ApplicationELB metric: an external metric under the
    // operator, converted with its dimension.
    let c = run(
        &dir,
        "cloudformation/cfn-templates-ecs-schedule-stepscaling.yaml",
        &[],
    )
    .unwrap();
    let svc = c
        .objects
        .iter()
        .find(|o| o.kind.as_str() == "EcsService")
        .unwrap();
    let alarm = &svc.manifest["spec"]["autoScaling"]["scalingPolicies"][0]["alarms"][0];
    assert_eq!(alarm["namespace"], "AWS/ApplicationELB");
    assert_eq!(alarm["period"], 60);
    assert_eq!(alarm["threshold"], 10.0);
    assert_eq!(alarm["dimensions"][0]["name"], "ECSService");
}
