//! `ecsplane convert` as a user runs it: output the API server would reject is an error naming
//! the input file, the resource and the field, with a non-zero exit and nothing written.

use std::path::PathBuf;
use std::process::{Command, Output};

fn convert(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecsplane"))
        .arg("convert")
        .args(args)
        .output()
        .expect("ecsplane runs")
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ecsplane-cli-convert-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const VALID_TASK: &str = r#"{"family": "web", "networkMode": "awsvpc",
  "containerDefinitions": [{"name": "app", "image": "nginx",
    "portMappings": [{"containerPort": 80}]}]}"#;

/// hostPort 8080 with containerPort 80 under awsvpc: ECS refuses it, and so does the CRD rule.
const INVALID_TASK: &str = r#"{"family": "kibana", "networkMode": "awsvpc",
  "containerDefinitions": [{"name": "kibana", "image": "kibana",
    "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}"#;

#[test]
fn output_the_api_server_would_reject_fails_naming_file_resource_and_field_and_writes_nothing() {
    let dir = temp_dir("invalid");
    let valid = dir.join("web.json");
    let invalid = dir.join("kibana.json");
    std::fs::write(&valid, VALID_TASK).unwrap();
    std::fs::write(&invalid, INVALID_TASK).unwrap();
    let out_dir = dir.join("out");
    let out = convert(&[
        "-f",
        &valid.display().to_string(),
        "-f",
        &invalid.display().to_string(),
        "-o",
        &out_dir.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: TaskDefinition kibana: spec.containerDefinitions: ",
            invalid.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hostPort must be omitted or equal its containerPort"),
        "{stderr}"
    );
    assert!(
        !out_dir.exists(),
        "nothing is written, not even the valid object"
    );
    // On stdout too: nothing.
    let out = convert(&[
        "-f",
        &valid.display().to_string(),
        "-f",
        &invalid.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn valid_output_is_written_one_file_per_object_and_exits_zero() {
    let dir = temp_dir("valid");
    let valid = dir.join("web.json");
    std::fs::write(&valid, VALID_TASK).unwrap();
    let out_dir = dir.join("out");
    let out = convert(&[
        "-f",
        &valid.display().to_string(),
        "-o",
        &out_dir.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(out_dir.join("taskdefinition-web.yaml")).unwrap();
    assert!(written.contains("kind: TaskDefinition"), "{written}");
    assert!(written.contains("containerPort: 80"), "{written}");
}

#[test]
fn objects_kept_with_placeholders_are_written_and_what_the_server_would_reject_is_warned() {
    let dir = temp_dir("keep");
    let input = dir.join("templated.json");
    std::fs::write(
        &input,
        r#"{"family": "web", "containerDefinitions": [{"name": "$$$NAME$$$", "image": "nginx"}]}"#,
    )
    .unwrap();
    let out = convert(&["-f", &input.display().to_string(), "--keep-unresolved"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("name: $$$NAME$$$"),
        "the held-back object is written with its placeholder"
    );
    assert!(
        stderr.contains("containerDefinitions[0].name: unresolved: unrendered placeholder $$$NAME$$$; pass --param NAME=VALUE"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.containerDefinitions[0].name: until its placeholders are filled in, the API server would reject TaskDefinition/web"),
        "{stderr}"
    );
    // Without --keep-unresolved nothing is written: the gap is reported, and the exit code
    // says that nothing was converted.
    let out = convert(&["-f", &input.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("error: nothing converted from 1 input file(s)")
    );
}
