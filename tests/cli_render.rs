//! `ecsplane render` as a user runs it: exit codes, stdout only on success, every error on
//! stderr naming file, object and field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn render(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecsplane"))
        .arg("render")
        .args(args)
        .output()
        .expect("ecsplane runs")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/render")
        .join(name)
        .display()
        .to_string()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecsplane-cli-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_typical_service_renders_to_yaml_on_stdout_and_the_report_on_stderr() {
    let out = render(&["-f", &fixture("typical-service.yaml")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Service",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler"
        ]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("TaskDefinition web-7: spec.executionRoleArn: not carried"),
        "{stderr}"
    );
    assert!(stderr.contains("rendered 5 object(s)"), "{stderr}");
}

#[test]
fn json_output_is_a_v1_list_and_the_report_can_be_json() {
    let out = render(&[
        "-f",
        &fixture("typical-service.yaml"),
        "-o",
        "json",
        "--report",
        "json",
        "-n",
        "shop",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["metadata"]["namespace"] == "shop")
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(!report["findings"].as_array().unwrap().is_empty());
}

#[test]
fn invalid_input_exits_1_prints_nothing_on_stdout_and_names_file_object_and_field_of_every_error() {
    let bad = temp_file(
        "bad.yaml",
        "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: tg}\nspec: {port: 70000}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {name: web}\nspec: {taskDefinition: web:3, desiredCount: -1}\n",
    );
    let out = render(&["-f", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let file = bad.display().to_string();
    assert!(
        stderr.contains(&format!("{file} (document 1): TargetGroup tg: spec.port:")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file} (document 2): EcsService web: spec.desiredCount:"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

#[test]
fn a_service_naming_a_revision_the_task_definition_does_not_state_is_refused_naming_both() {
    let f = temp_file(
        "revision.yaml",
        "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: web-2}\n\
         spec: {family: web, revision: 2, containerDefinitions: [{name: app, image: nginx}]}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {name: web}\nspec: {taskDefinition: 'web:3'}\n",
    );
    let out = render(&["-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("EcsService web: spec.taskDefinition: unresolved reference"),
        "{stderr}"
    );
    assert!(
        stderr.contains("web:3")
            && stderr.contains("TaskDefinition web-2")
            && stderr.contains("revision 2"),
        "{stderr}"
    );
}

#[test]
fn missing_files_are_input_errors_and_missing_arguments_usage_errors() {
    let out = render(&["-f", "/nonexistent/ecsplane.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/ecsplane.yaml"));
    let out = render(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let out = render(&["-f", &fixture("typical-service.yaml"), "-o", "xml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn routing_gateway_attaches_httproutes_to_the_named_gateway() {
    let out = render(&[
        "-f",
        &fixture("many-rules.yaml"),
        "--routing",
        "gateway",
        "--gateway",
        "infra/public",
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let routes: Vec<&serde_json::Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "HTTPRoute")
        .collect();
    assert!(!routes.is_empty());
    for r in routes {
        assert_eq!(r["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(
            r["spec"]["parentRefs"],
            serde_json::json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra", "name": "public", "sectionName": "http-80"}])
        );
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "Listener many-rules: spec.rules[priority=7]: not carried: not representable: source-ip"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("the HTTPRoutes attach to listener http-80 of Gateway infra/public (parentRefs sectionName): the Gateway needs a listener named http-80 with protocol HTTP and port 80"),
        "{stderr}"
    );
}

#[test]
fn routing_alb_sets_the_ingress_class_given() {
    let out = render(&[
        "-f",
        &fixture("many-rules.yaml"),
        "--routing",
        "alb",
        "--ingress-class",
        "internal-alb",
        "-o",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let classes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "Ingress")
        .map(|o| o["spec"]["ingressClassName"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes.len(),
        15,
        "one Ingress per rule not shadowed (14 of 15), plus the default"
    );
    assert!(classes.iter().all(|c| *c == "internal-alb"));
}

#[test]
fn an_unknown_routing_profile_or_a_malformed_gateway_is_a_usage_error() {
    for args in [
        ["--routing", "nginx"],
        ["--gateway", "a/b/c"],
        ["--gateway", "Infra/Public"],
    ] {
        let out = render(&["-f", &fixture("many-rules.yaml"), args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn task_cpu_and_memory_render_whether_written_as_numbers_or_with_units() {
    let input = temp_file(
        "task-sizes.yaml",
        "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: web}\n\
         spec: {family: web, cpu: 256, memory: 512, containerDefinitions: [{name: app, image: nginx}]}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: big}\n\
         spec: {family: big, cpu: \"1 vCPU\", memory: \"2 GB\", containerDefinitions: [{name: app, image: nginx}]}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: EcsTask\nmetadata: {name: small}\nspec: {taskDefinition: web}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: EcsTask\nmetadata: {name: large}\nspec: {taskDefinition: big}\n",
    );
    let out = render(&["-f", input.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("cpu: 250m\n      memory: 512Mi"),
        "256 CPU units and 512 MiB become the pod's resources:\n{stdout}"
    );
    assert!(
        stdout.contains("cpu: \"1\"\n      memory: 2Gi"),
        "1 vCPU and 2 GB become the pod's resources:\n{stdout}"
    );
}

#[test]
fn a_task_cpu_that_is_no_ecs_size_is_refused_by_its_rule_not_by_a_gap_in_client_side_cel() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input/12-bad-task-cpu-string.yaml");
    let out = render(&["-f", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expect = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# expect: ").map(str::to_owned))
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "TaskDefinition bad-12: spec.cpu: rule violation: {expect}"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error: ").count(), 1, "{stderr}");
}

#[test]
fn every_bad_input_manifest_is_refused_and_no_rule_is_beyond_client_side_cel() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input");
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().path();
        let out = render(&["-f", file.to_str().unwrap()]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", file.display());
        assert!(
            !stderr.contains("does not support") && !stderr.contains("rule evaluation error"),
            "{}: {stderr}",
            file.display()
        );
    }
}

/// The security policy the cluster admin chooses decides which host-level ECS fields render:
/// under the default (restricted) each is refused naming the field and the policy, with
/// nothing on stdout; baseline lets root through; privileged renders them all.
#[test]
fn host_level_fields_are_refused_under_restricted_and_rendered_under_privileged() {
    let file = fixture("host-level-agent.yaml");
    let out = render(&["-f", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing is written on a refusal");
    let stderr = String::from_utf8(out.stderr).unwrap();
    for field in [
        "spec.networkMode",
        "spec.pidMode",
        "spec.volumes[root].host.sourcePath",
        "spec.containerDefinitions[agent].privileged",
        "spec.containerDefinitions[agent].user",
        "spec.containerDefinitions[agent].linuxParameters.capabilities.add",
        "spec.containerDefinitions[agent].systemControls",
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("TaskDefinition node-agent: {field}: ")))
            .unwrap_or_else(|| panic!("no refusal of {field} in:\n{stderr}"));
        assert!(line.starts_with(&format!("error: {file}")), "{line}");
        assert!(line.contains("security policy restricted"), "{line}");
    }

    let out = render(&["--security-policy", "baseline", "-f", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stderr.contains("[agent].user:"),
        "baseline allows root: {stderr}"
    );
    assert!(stderr.contains("security policy baseline"), "{stderr}");

    let out = render(&["--security-policy", "privileged", "-f", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("hostNetwork: true") && stdout.contains("privileged: true"));
}
