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

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/ecs");

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
    let dir = PathBuf::from(CORPUS);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("notice: corpus not found at {CORPUS}; skipping");
        None
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
    row.split(" + ").map(|f| dir.join(f)).collect()
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
                if !message.contains(what) || !message.contains(file) {
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
            let f = &c.files[0];
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
