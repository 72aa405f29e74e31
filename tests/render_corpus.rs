//! Every task definition and service of the shared ECS corpus renders, or fails with a message
//! naming the file, the object and the field. The corpus lives beside the repository
//! (`../shared/corpus/ecs`); without it the test prints a notice and passes.

use std::path::Path;
use std::process::Command;

/// Files SOURCES.md marks as broken on purpose or incomplete, and the message each must give
/// (`tests/render/corpus-expected-failures.tsv`, shared with the cluster tests).
fn expected_failures() -> Vec<(String, String)> {
    include_str!("render/corpus-expected-failures.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, message) = l.split_once('\t').expect("FILE<TAB>MESSAGE");
            (name.to_owned(), message.to_owned())
        })
        .collect()
}

#[test]
fn every_corpus_task_definition_and_service_renders_or_fails_with_a_clear_message() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ecs");
    if !corpus.is_dir() {
        eprintln!(
            "notice: {} is absent; corpus test skipped",
            corpus.display()
        );
        return;
    }
    let expected_failures = expected_failures();
    let mut checked = 0;
    for dir in ["task-definitions", "services"] {
        let mut files: Vec<_> = std::fs::read_dir(corpus.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecsplane"));
            // The corpus checks translation fidelity; what the security policy refuses is
            // tested in cli_render, so every ECS field is let through here.
            cmd.args(["render", "--security-policy", "privileged", "-f"])
                .arg(&file);
            // A service sample comes with its task definition when the corpus has one of the
            // same name, as a user would pass both.
            let companion = corpus.join("task-definitions").join(&name);
            if dir == "services" && companion.is_file() {
                cmd.arg("-f").arg(&companion);
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let key_in_dir = format!("{name}@{dir}");
            let expected = expected_failures
                .iter()
                .find(|(n, _)| *n == name || *n == key_in_dir);
            match expected {
                Some((_, message)) => {
                    assert_eq!(out.status.code(), Some(1), "{name} should fail: {stderr}");
                    assert!(out.stdout.is_empty(), "{name}: nothing on stdout on error");
                    assert!(
                        stderr.contains(&file.display().to_string()),
                        "{name}: the error names the file: {stderr}"
                    );
                    assert!(
                        stderr.contains(message),
                        "{name}: expected {message:?} in {stderr}"
                    );
                }
                None => assert_eq!(out.status.code(), Some(0), "{name} should render: {stderr}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 49, "checked {checked} files");
}
