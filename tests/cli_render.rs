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
            // One per capacity provider: FARGATE and FARGATE_SPOT.
            "Deployment",
            "Deployment",
            "HorizontalPodAutoscaler"
        ]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("TaskDefinition web-7: spec.executionRoleArn: not carried"),
        "{stderr}"
    );
    assert!(stderr.contains("rendered 6 object(s)"), "{stderr}");
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

/// Two target groups and an HTTPS :8443 listener with an SSL policy, mutual TLS and two
/// certificates (the second one the default), for the TLS tests below.
const HTTPS_LISTENER: &str = "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: web}\nspec: {port: 80}\n---\n\
apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: api}\nspec: {port: 8080}\n---\n\
apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {name: public-https}\nspec:\n  \
loadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188\n  \
protocol: HTTPS\n  port: 8443\n  sslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06\n  \
mutualAuthentication: {mode: verify, trustStoreArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/clients/1a2b'}\n  \
certificates:\n  - {certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff'}\n  \
- {certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666', isDefault: true}\n  \
defaultActions: [{type: forward, targetGroupArn: web}]\n  \
rules:\n  - priority: 1\n    conditions:\n    - {field: host-header, hostHeaderConfig: {values: [shop.example.com]}}\n    \
- {field: path-pattern, pathPatternConfig: {values: ['/api/*']}}\n    actions: [{type: forward, targetGroupArn: api}]\n";

fn rendered(args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let out = render(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (list["items"].as_array().unwrap().clone(), stderr)
}

#[test]
fn an_https_listener_renders_an_ingress_with_tls_and_reports_every_tls_field_it_cannot_carry() {
    let f = temp_file("https-ingress.yaml", HTTPS_LISTENER);
    let (items, stderr) = rendered(&["-f", f.to_str().unwrap(), "-n", "shop", "-o", "json"]);
    let ingress = items
        .iter()
        .find(|o| o["kind"] == "Ingress")
        .expect("an Ingress");
    assert_eq!(
        ingress["spec"]["tls"],
        serde_json::json!([{"hosts": ["shop.example.com"], "secretName": "tls-0a1b2c3d-1111-2222-3333-444455556666"}])
    );
    assert!(
        items.iter().all(|o| o["kind"] != "Secret"),
        "the Secret is the user's"
    );
    for line in [
        "Listener shop/public-https: spec.certificates[1]: approximated: certificate arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666 becomes spec.tls Secret tls-0a1b2c3d-1111-2222-3333-444455556666 for hosts shop.example.com;",
        "The Secret (type kubernetes.io/tls, keys tls.crt and tls.key) is yours to create",
        "Listener shop/public-https: spec.certificates[0]: not carried: certificate arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff (an SNI certificate of the ALB listener): which hosts it serves is in ACM",
        "Listener shop/public-https: spec.sslPolicy: not carried: ssl policy ELBSecurityPolicy-TLS13-1-2-2021-06 (the TLS versions and ciphers the ALB accepts): Ingress has no field for it",
        "Listener shop/public-https: spec.mutualAuthentication: not carried: mode verify (the ALB refuses every client without a certificate that trust store arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/clients/1a2b verifies): Ingress has no field for client certificates",
        "Listener shop/public-https: spec.port: not carried: port 8443: Ingress has no port",
        "Listener shop/public-https: spec.protocol: approximated: HTTPS: Ingress binds no rule to a scheme",
    ] {
        assert!(stderr.contains(line), "{line}\n{stderr}");
    }
}

#[test]
fn an_https_listener_in_the_gateway_profile_names_the_certificate_refs_and_emits_no_gateway_or_secret()
 {
    let f = temp_file("https-gateway.yaml", HTTPS_LISTENER);
    let (items, stderr) = rendered(&[
        "-f",
        f.to_str().unwrap(),
        "-n",
        "shop",
        "--routing",
        "gateway",
        "-o",
        "json",
    ]);
    assert!(!items.is_empty());
    for o in items.iter().filter(|o| o["kind"] == "HTTPRoute") {
        assert_eq!(o["spec"]["parentRefs"][0]["sectionName"], "https-8443");
    }
    assert!(
        items
            .iter()
            .all(|o| o["kind"] != "Gateway" && o["kind"] != "Secret"),
        "nothing the Gateway owner owns"
    );
    for line in [
        "Listener shop/public-https: spec.certificates[1]: approximated: certificate arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666 is not emitted: Gateway listener https-8443 terminates TLS, with tls.certificateRefs [{kind: Secret, name: tls-0a1b2c3d-1111-2222-3333-444455556666}]",
        "the Gateway needs a listener named https-8443 with protocol HTTPS and port 8443, which terminates TLS with certificateRefs to Secret tls-0a1b2c3d-1111-2222-3333-444455556666",
        "Listener shop/public-https: spec.certificates[0]: not carried: certificate arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff (an SNI certificate of the ALB listener)",
        "Listener shop/public-https: spec.sslPolicy: not carried: ssl policy ELBSecurityPolicy-TLS13-1-2-2021-06",
        "Listener shop/public-https: spec.mutualAuthentication: not carried: mode verify",
    ] {
        assert!(stderr.contains(line), "{line}\n{stderr}");
    }
    assert!(!stderr.contains("spec.port: not carried"), "{stderr}");
}

#[test]
fn an_https_listener_in_the_alb_profile_carries_certificates_ssl_policy_and_mutual_tls() {
    let f = temp_file("https-alb.yaml", HTTPS_LISTENER);
    let (items, stderr) = rendered(&[
        "-f",
        f.to_str().unwrap(),
        "-n",
        "shop",
        "--routing",
        "alb",
        "-o",
        "json",
    ]);
    let ingresses: Vec<&serde_json::Value> =
        items.iter().filter(|o| o["kind"] == "Ingress").collect();
    assert_eq!(ingresses.len(), 2, "one per rule, one for the default");
    for i in ingresses {
        let a = &i["metadata"]["annotations"];
        assert_eq!(
            a["alb.ingress.kubernetes.io/listen-ports"],
            r#"[{"HTTPS":8443}]"#
        );
        assert_eq!(
            a["alb.ingress.kubernetes.io/certificate-arn"],
            "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666,arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff",
            "the default certificate first"
        );
        assert_eq!(
            a["alb.ingress.kubernetes.io/ssl-policy"],
            "ELBSecurityPolicy-TLS13-1-2-2021-06"
        );
        assert_eq!(
            a["alb.ingress.kubernetes.io/mutual-authentication"],
            r#"[{"mode":"verify","port":8443,"trustStore":"arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/clients/1a2b"}]"#
        );
    }
    assert!(!stderr.contains("spec.certificates"), "{stderr}");
    assert!(!stderr.contains("spec.sslPolicy"), "{stderr}");
}

#[test]
fn alb_ingress_groups_are_named_after_the_namespace_so_two_namespaces_never_share_one() {
    let f = temp_file("https-groups.yaml", HTTPS_LISTENER);
    let groups = |namespace: &str| -> Vec<String> {
        let (items, _) = rendered(&[
            "-f",
            f.to_str().unwrap(),
            "-n",
            namespace,
            "--routing",
            "alb",
            "-o",
            "json",
        ]);
        items
            .iter()
            .filter(|o| o["kind"] == "Ingress")
            .map(|o| {
                o["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(groups("team-a"), ["team-a.shop", "team-a.shop"]);
    assert_eq!(groups("team-b"), ["team-b.shop", "team-b.shop"]);
    let (_, stderr) = rendered(&["-f", f.to_str().unwrap(), "--routing", "alb", "-o", "json"]);
    assert!(
        stderr.contains("Listener public-https: metadata.namespace: approximated: the Listener names no namespace, so its IngressGroup is named as in namespace default (default.shop)"),
        "{stderr}"
    );
}

#[test]
fn gateway_session_persistence_is_emitted_by_render_only_when_asked_for() {
    let f = temp_file(
        "sticky.yaml",
        "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: web}\nspec: {port: 80}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: api}\nspec: {port: 8080}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {name: canary}\n\
         spec: {defaultActions: [{type: forward, forwardConfig: {targetGroups: [{targetGroupArn: web, weight: 90}, {targetGroupArn: api, weight: 10}], \
         targetGroupStickinessConfig: {enabled: true, durationSeconds: 300}}}]}\n",
    );
    let persistence = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "-f",
            f.to_str().unwrap(),
            "--routing",
            "gateway",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let (items, _) = rendered(&args);
        items
            .iter()
            .filter(|o| o["kind"] == "HTTPRoute")
            .flat_map(|o| o["spec"]["rules"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r.get("sessionPersistence").cloned())
            .collect()
    };
    assert!(persistence(&[]).is_empty());
    let with = persistence(&["--gateway-session-persistence"]);
    assert!(!with.is_empty());
    for s in with {
        assert_eq!(
            s,
            serde_json::json!({"type": "Cookie", "absoluteTimeout": "5m", "cookieConfig": {"lifetimeType": "Permanent"}})
        );
    }
}

/// `n` services, each with its task definition: `2n` documents in one file.
fn many_services(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "---\napiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {{name: s{i}}}\n\
                 spec:\n  family: s{i}\n  containerDefinitions:\n  - {{name: app, image: nginx, memory: 256}}\n\
                 ---\napiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {{name: s{i}}}\n\
                 spec: {{taskDefinition: s{i}, desiredCount: 2}}\n"
            )
        })
        .collect()
}

/// One file of 1,000 services (2,000 documents) is size, not amplification: it renders.
#[test]
fn one_file_of_a_thousand_services_renders() {
    let path = temp_file("thousand.yaml", &many_services(1000));
    let out = render(&["-f", &path.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rendered 1000 object(s)"), "{stderr}");
}

/// A valid file of 250,001 nodes renders (the node budget counted size before).
#[test]
fn a_valid_file_of_250_001_nodes_renders() {
    let mut text = String::from(
        "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: big}\n\
         spec:\n  family: big\n  containerDefinitions:\n  - name: app\n    image: nginx\n    memory: 256\n    command:\n",
    );
    // Each argument is one node; with the nodes above, more than 250,001 in all.
    for i in 0..250_001 {
        text.push_str(&format!("    - a{i}\n"));
    }
    let path = temp_file("nodes.yaml", &text);
    let out = render(&["-f", &path.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("budget"), "{stderr}");
    assert!(!stderr.contains("not valid YAML"), "{stderr}");
}

/// The figure in docs/performance.md: `cargo test --release --test cli_render --
/// --ignored ten_thousand --nocapture`.
#[test]
#[ignore = "a measurement, run by hand"]
fn ten_thousand_services_render_measured() {
    let path = temp_file("ten-thousand.yaml", &many_services(10_000));
    let start = std::time::Instant::now();
    let out = render(&["-f", &path.display().to_string()]);
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    eprintln!(
        "10,000 services (20,000 documents, {} bytes): rendered in {:.2} s, {} bytes of output",
        std::fs::metadata(&path).unwrap().len(),
        elapsed.as_secs_f64(),
        out.stdout.len()
    );
}

#[test]
fn a_device_given_with_f_is_refused_as_not_a_regular_file() {
    let out = render(&["-f", "/dev/zero"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/dev/zero: (file): cannot read: not a regular file"),
        "{stderr}"
    );
}

#[test]
fn a_file_error_names_the_file_once_and_points_where_it_says() {
    let path = temp_file("unterminated.yaml", "x: \"abc\n");
    let out = render(&["-f", &path.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("(file): (file)"), "{stderr}");
    assert!(stderr.contains("not valid YAML: line "), "{stderr}");
}

#[test]
fn schema_and_rule_errors_of_one_object_show_in_one_run() {
    let path = temp_file(
        "both.yaml",
        "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: web}\n\
         spec:\n  family: web\n  containerDefinitions:\n  - name: app\n    image: nginx\n    essential: false\n    portMappings: [{containerPort: x}]\n",
    );
    let out = render(&["-f", &path.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema violation"), "{stderr}");
    assert!(stderr.contains("rule violation"), "{stderr}");
}

#[test]
fn flags_that_become_kubernetes_names_are_refused_unless_valid() {
    let typical = fixture("typical-service.yaml");
    for args in [
        vec!["-n", "Bad_NS"],
        vec!["--ingress-class", "Not A Class"],
        vec!["--gateway", "a/b/c"],
    ] {
        let mut all = vec!["-f", typical.as_str()];
        all.extend(args.iter().copied());
        let out = render(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("is not"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
