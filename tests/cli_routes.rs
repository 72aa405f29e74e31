//! `ecsplane routes` as a user runs it: one table per listener with every rule's fate and the
//! caveats `render` reports, one error line per problem and exit 1 on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ecsplane(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecsplane"))
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
    let dir = std::env::temp_dir().join(format!("ecsplane-cli-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

const TARGET_GROUPS: &str = "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: web}\nspec: {port: 80}\n---\n\
     apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: api}\nspec: {port: 8080}\n---\n";

#[test]
fn one_rule_is_counted_in_the_singular_and_fifteen_in_the_plural() {
    let one = temp_file(
        "one-rule.yaml",
        &format!(
            "{TARGET_GROUPS}apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {{name: one}}\n\
             spec: {{defaultActions: [{{type: forward, targetGroupArn: web}}], rules: [{{priority: 1, \
             conditions: [{{field: path-pattern, pathPatternConfig: {{values: [/api/*]}}}}], actions: [{{type: forward, targetGroupArn: api}}]}}]}}\n"
        ),
    );
    let stdout = ok(&ecsplane(&["routes", "-f", one.to_str().unwrap()]));
    assert!(
        stdout.starts_with("Listener one (ingress): 1 rule + default; 2 exact, 0 approximated, 0 shadowed, 0 not representable\n"),
        "{stdout}"
    );
    let stdout = ok(&ecsplane(&["routes", "-f", &fixture("many-rules.yaml")]));
    assert!(
        stdout.starts_with("Listener many-rules (ingress): 15 rules + default;"),
        "{stdout}"
    );
}

#[test]
fn a_forward_to_a_target_group_missing_from_the_input_is_an_error_and_exits_1() {
    let f = temp_file(
        "missing-tg.yaml",
        &format!(
            "{TARGET_GROUPS}apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {{name: shop}}\n\
             spec: {{defaultActions: [{{type: forward, targetGroupArn: web}}], rules: [{{priority: 1, \
             conditions: [{{field: path-pattern, pathPatternConfig: {{values: [/api/*]}}}}], actions: [{{type: forward, forwardConfig: \
             {{targetGroups: [{{targetGroupArn: api}}, {{targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/gone/abc'}}]}}}}]}}]}}\n"
        ),
    );
    for profile in ["ingress", "alb", "gateway"] {
        let out = ecsplane(&["routes", "-f", f.to_str().unwrap(), "--profile", profile]);
        assert_eq!(out.status.code(), Some(1), "{profile}");
        assert!(out.stdout.is_empty(), "nothing on stdout on error");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            stderr,
            format!(
                "error: {} (document 3): Listener shop: spec.rules[0].actions[0].forwardConfig.targetGroups[1].targetGroupArn: unresolved reference: \
                 Listener shop forwards to target group \"gone\", which is not in the input; pass its TargetGroup too\n\
                 1 error; nothing compiled\n",
                f.display()
            )
        );
    }
}

#[test]
fn invalid_input_prints_one_error_line_per_problem_and_a_count() {
    let f = temp_file(
        "bad.yaml",
        "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: tg}\nspec: {port: 70000}\n---\n\
         apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {name: l}\nspec: {port: 80, defaultActions: []}\n",
    );
    let out = ecsplane(&["routes", "-f", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!stderr.contains("invalid input:"), "{stderr}");
    let (summary, errors) = lines.split_last().unwrap();
    assert_eq!(
        *summary,
        format!("{} errors; nothing compiled", errors.len())
    );
    assert!(errors.len() >= 2, "{stderr}");
    for e in errors {
        assert!(
            e.starts_with(&format!("error: {} (document ", f.display())),
            "{e}"
        );
        assert!(
            !e["error: ".len()..].contains("error: "),
            "one message per line: {e}"
        );
    }
}

#[test]
fn gateway_routes_carry_the_caveats_that_render_reports() {
    let routes = ok(&ecsplane(&[
        "routes",
        "-f",
        &fixture("many-rules.yaml"),
        "--profile",
        "gateway",
        "--gateway",
        "infra/public",
    ]));
    assert!(
        routes.contains("\n  attaches to Gateway infra/public, listener http-80 (HTTP port 80)\n"),
        "{routes}"
    );
    let caveats: Vec<&str> = routes
        .split_once("  caveats:\n")
        .expect("a caveats section")
        .1
        .lines()
        .collect();
    assert!(
        caveats
            .iter()
            .any(|c| c.contains("RegularExpression matches")
                && c.contains("Implementation-specific")),
        "{caveats:?}"
    );
    assert!(
        caveats.iter().any(|c| c.starts_with(
            "    spec.port: note: the HTTPRoutes attach to listener http-80 of Gateway infra/public"
        )),
        "{caveats:?}"
    );
    let render = ecsplane(&[
        "render",
        "-f",
        &fixture("many-rules.yaml"),
        "--routing",
        "gateway",
        "--gateway",
        "infra/public",
    ]);
    let report = String::from_utf8(render.stderr).unwrap();
    for c in caveats {
        let (field, rest) = c.trim_start().split_once(": ").unwrap();
        let (_, message) = rest.split_once(": ").unwrap();
        assert!(
            report.contains(&format!("Listener many-rules: {field}: ")) && report.contains(message),
            "render reports {c:?} too:\n{report}"
        );
    }
}

#[test]
fn a_source_ip_counterexample_comes_from_a_host_address() {
    let stdout = ok(&ecsplane(&["routes", "-f", &fixture("many-rules.yaml")]));
    assert!(
        stdout.contains(" from 10.0.0.1: ALB forward to admin-tg (priority 7)"),
        "{stdout}"
    );
    assert!(!stdout.contains("from 10.0.0.0"), "{stdout}");
}

#[test]
fn an_http_and_an_https_listener_attach_to_different_gateway_listeners() {
    let f = temp_file(
        "two-ports.yaml",
        &format!(
            "{TARGET_GROUPS}apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {{name: public-http}}\n\
             spec: {{port: 80, protocol: HTTP, defaultActions: [{{type: redirect, redirectConfig: {{protocol: HTTPS, port: '443', statusCode: HTTP_301}}}}]}}\n---\n\
             apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {{name: public-https}}\n\
             spec: {{port: 443, protocol: HTTPS, certificates: [{{certificateArn: 'arn:aws:acm:us-east-1:1:certificate/x'}}], \
             defaultActions: [{{type: forward, targetGroupArn: web}}], rules: [{{priority: 1, \
             conditions: [{{field: path-pattern, pathPatternConfig: {{values: [/api/*]}}}}], actions: [{{type: forward, targetGroupArn: api}}]}}]}}\n"
        ),
    );
    let stdout = ok(&ecsplane(&[
        "routes",
        "-f",
        f.to_str().unwrap(),
        "--profile",
        "gateway",
        "--objects",
    ]));
    assert!(
        stdout.contains("Listener public-http (gateway): 0 rules + default; 1 exact, 0 approximated, 0 shadowed, 0 not representable\n  attaches to Gateway ecsplane, listener http-80 (HTTP port 80)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Listener public-https (gateway): 1 rule + default; 2 exact, 0 approximated, 0 shadowed, 0 not representable\n  attaches to Gateway ecsplane, listener https-443 (HTTPS port 443)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the Gateway needs a listener named https-443 with protocol HTTPS and port 443, which terminates TLS"),
        "{stdout}"
    );
    let (_, objects) = stdout
        .split_once("\n---\n")
        .expect("objects after the tables");
    let sections: Vec<(String, String)> = objects
        .split("---\n")
        .map(|doc| {
            let v: serde_json::Value = serde_saphyr::from_str(doc).unwrap();
            (
                v["metadata"]["name"].as_str().unwrap().to_owned(),
                v["spec"]["parentRefs"][0]["sectionName"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert!(!sections.is_empty());
    for (name, section) in &sections {
        let want = if name.starts_with("public-https") {
            "https-443"
        } else {
            "http-80"
        };
        assert_eq!(section, want, "{name}");
    }
}

#[test]
fn a_sticky_weighted_forward_is_counted_approximated_in_gateway() {
    let f = temp_file(
        "sticky.yaml",
        &format!(
            "{TARGET_GROUPS}apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {{name: canary}}\n\
             spec: {{defaultActions: [{{type: forward, forwardConfig: {{targetGroups: [{{targetGroupArn: web, weight: 90}}, {{targetGroupArn: api, weight: 10}}], \
             targetGroupStickinessConfig: {{enabled: true, durationSeconds: 300}}}}}}]}}\n"
        ),
    );
    let stdout = ok(&ecsplane(&[
        "routes",
        "-f",
        f.to_str().unwrap(),
        "--profile",
        "gateway",
    ]));
    assert!(
        stdout.starts_with("Listener canary (gateway): 0 rules + default; 0 exact, 1 approximated, 0 shadowed, 0 not representable\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("approximated: target group stickiness: the ALB keeps a client on the target group it first reached for 300 s"),
        "{stdout}"
    );
    let stdout = ok(&ecsplane(&[
        "routes",
        "-f",
        f.to_str().unwrap(),
        "--profile",
        "alb",
    ]));
    assert!(stdout.contains("1 exact, 0 approximated"), "{stdout}");
}

#[test]
fn an_https_listener_prints_what_each_profile_does_with_its_tls_among_the_caveats() {
    let f = temp_file(
        "tls.yaml",
        &format!(
            "{TARGET_GROUPS}apiVersion: ecsplane.io/v1alpha1\nkind: Listener\nmetadata: {{name: public-https}}\n\
             spec: {{port: 443, protocol: HTTPS, sslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06, \
             certificates: [{{certificateArn: 'arn:aws:acm:us-east-1:1:certificate/abc-123'}}], \
             defaultActions: [{{type: forward, targetGroupArn: web}}], rules: [{{priority: 1, \
             conditions: [{{field: host-header, hostHeaderConfig: {{values: [shop.example.com]}}}}], actions: [{{type: forward, targetGroupArn: api}}]}}]}}\n"
        ),
    );
    let ingress = ok(&ecsplane(&[
        "routes",
        "-f",
        f.to_str().unwrap(),
        "--objects",
    ]));
    for line in [
        "    spec.certificates[0]: approximated: certificate arn:aws:acm:us-east-1:1:certificate/abc-123 becomes spec.tls Secret tls-abc-123 for hosts shop.example.com;",
        "    spec.sslPolicy: not carried: ssl policy ELBSecurityPolicy-TLS13-1-2-2021-06 (the TLS versions and ciphers the ALB accepts): Ingress has no field for it",
        "secretName: tls-abc-123",
    ] {
        assert!(ingress.contains(line), "{line}\n{ingress}");
    }
    let gateway = ok(&ecsplane(&[
        "routes",
        "-f",
        f.to_str().unwrap(),
        "--profile",
        "gateway",
    ]));
    assert!(
        gateway.contains("    spec.certificates[0]: approximated: certificate arn:aws:acm:us-east-1:1:certificate/abc-123 is not emitted: Gateway listener https-443 terminates TLS, with tls.certificateRefs [{kind: Secret, name: tls-abc-123}]"),
        "{gateway}"
    );
    let alb = ok(&ecsplane(&[
        "routes",
        "-f",
        f.to_str().unwrap(),
        "--profile",
        "alb",
    ]));
    assert!(!alb.contains("spec.sslPolicy"), "{alb}");
}
