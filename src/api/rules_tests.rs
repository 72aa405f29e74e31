//! The registration rules of the API, as `ecsplane render` evaluates them client-side (the
//! CRD's schema and CEL rules, through [`crate::validate`]). The cluster suite
//! (`tests/cluster/bad_input.rs`) checks the same manifests against the real API server.

use serde_json::{Value, json};

use super::{FARGATE_TASK_CPU_UNITS, fargate_memory_sizes_mib};
use crate::validate::{Problem, validate};

fn object(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": kind,
           "metadata": {"name": "web"}, "spec": spec})
}

fn fargate_task(cpu: Value, memory: Value) -> Value {
    object(
        "TaskDefinition",
        json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": cpu, "memory": memory,
               "containerDefinitions": [{"name": "app", "image": "nginx"}]}),
    )
}

fn task_with_container(container: Value) -> Value {
    let mut c = json!({"name": "app", "image": "nginx"});
    for (k, v) in container.as_object().into_iter().flatten() {
        c[k] = v.clone();
    }
    object(
        "TaskDefinition",
        json!({"family": "web", "containerDefinitions": [c]}),
    )
}

fn service(spec: Value) -> Value {
    let mut s = json!({"taskDefinition": "web"});
    for (k, v) in spec.as_object().into_iter().flatten() {
        s[k] = v.clone();
    }
    object("EcsService", s)
}

fn listener_rule(conditions: Value) -> Value {
    object(
        "Listener",
        json!({"port": 80, "protocol": "HTTP",
               "defaultActions": [{"type": "forward", "targetGroupArn": "web"}],
               "rules": [{"priority": 1, "conditions": conditions,
                          "actions": [{"type": "forward", "targetGroupArn": "web"}]}]}),
    )
}

/// The problems' messages, for assertions that name what was refused.
fn messages(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
fn refused_with(doc: &Value, expect: &str) {
    let problems = validate(doc);
    assert!(
        problems.iter().any(|p| p.message.contains(expect)),
        "expected a refusal containing {expect:?} for {doc}, got:\n{}",
        messages(&problems)
    );
}

#[track_caller]
fn refused_at(doc: &Value, path: &str) {
    let problems = validate(doc);
    assert!(
        problems.iter().any(|p| p.path == path),
        "expected a refusal at {path} for {doc}, got:\n{}",
        messages(&problems)
    );
}

#[track_caller]
fn accepted(doc: &Value) {
    let problems = validate(doc);
    assert!(
        problems.is_empty(),
        "expected {doc} to be accepted, got:\n{}",
        messages(&problems)
    );
}

const FARGATE_PAIR: &str =
    "a task definition that requires FARGATE needs a task cpu/memory pair from Fargate's table";

/// A field path without its list indices or keys (`a[0].b[name="x"]` → `a.b`).
fn without_indices(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn every_bad_input_manifest_is_refused_client_side_naming_its_rule_or_field() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad-input exists")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 45, "{} files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let expect = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .expect("an `# expect:` line");
        let doc: Value = serde_saphyr::from_str(&text).expect("one YAML document");
        let problems = validate(&doc);
        // A CEL rule's message is the API server's; a schema violation is worded by the
        // API server differently, so its expectation starts with the field path (sometimes
        // with a leading dot, list-map keys for indices, or naming the list, not the item).
        let field = expect.split(": ").next().unwrap_or(expect);
        let field = without_indices(field.strip_prefix('.').unwrap_or(field));
        assert!(
            problems.iter().any(|p| p.message.contains(expect)
                || without_indices(&p.path).starts_with(&field)),
            "{}: expected {expect:?}, got:\n{}",
            file.display(),
            messages(&problems)
        );
    }
}

#[test]
fn fargate_offers_the_memory_sizes_of_the_aws_table_for_each_cpu_size() {
    let sizes: Vec<(u64, usize, u64, u64)> = FARGATE_TASK_CPU_UNITS
        .iter()
        .map(|&cpu| {
            let m = fargate_memory_sizes_mib(cpu);
            (cpu, m.len(), m[0], m[m.len() - 1])
        })
        .collect();
    assert_eq!(
        sizes,
        [
            (256, 3, 512, 2048),
            (512, 4, 1024, 4096),
            (1024, 7, 2048, 8192),
            (2048, 13, 4096, 16384),
            (4096, 23, 8192, 30720),
            (8192, 12, 16384, 61440),
            (16384, 12, 32768, 122880),
        ]
    );
    assert_eq!(fargate_memory_sizes_mib(256), [512, 1024, 2048]);
    assert_eq!(fargate_memory_sizes_mib(128), Vec::<u64>::new());
}

#[test]
fn a_fargate_task_definition_takes_exactly_the_cpu_and_memory_pairs_of_fargates_table() {
    for cpu in FARGATE_TASK_CPU_UNITS.into_iter().chain([128, 3072, 32768]) {
        let valid = fargate_memory_sizes_mib(cpu);
        // Every pair of the table, the sizes just outside its range and between its steps,
        // and a size of the neighbouring CPU sizes.
        let mut candidates: Vec<u64> = valid.clone();
        if let (Some(&first), Some(&last)) = (valid.first(), valid.last()) {
            candidates.extend([
                first - 512,
                first + 512,
                last + 512,
                last + 1024,
                first * 2 + 512,
            ]);
        } else {
            candidates.extend([512, 1024, 2048, 4096, 8192]);
        }
        for memory in candidates {
            let problems = validate(&fargate_task(json!(cpu), json!(memory)));
            let refused = problems.iter().any(|p| p.message.contains(FARGATE_PAIR));
            assert_eq!(
                refused,
                !valid.contains(&memory),
                "cpu {cpu}, memory {memory}: {}",
                messages(&problems)
            );
        }
    }
}

#[test]
fn fargate_sizes_are_read_in_every_unit_ecs_takes() {
    for (cpu, memory) in [
        (json!(256), json!(512)),
        (json!("256"), json!("2048")),
        (json!("0.25 vCPU"), json!("1 GB")),
        (json!("0.5 vcpu"), json!("4 GiB")),
        (json!("1 vCPU"), json!("2 GB")),
        (json!("2 vCPUs"), json!("16 GB")),
        (json!(" 4 vCPU "), json!("30720 MiB")),
        (json!("8 vCPU"), json!("60 GB")),
        (json!(16384), json!("120 GB")),
    ] {
        accepted(&fargate_task(cpu, memory));
    }
    // The examples: pairs AWS refuses with "No Fargate configuration exists".
    for (cpu, memory) in [
        (json!(256), json!(4096)),
        (json!("1 vCPU"), json!("3.5 GB")),
        (json!("4 vCPU"), json!("7 GB")),
        (json!("99999999"), json!("99999999 GB")),
        (json!("256.5"), json!("512")),
    ] {
        refused_with(&fargate_task(cpu, memory), FARGATE_PAIR);
    }
}

#[test]
fn only_fargate_task_definitions_are_held_to_fargates_table() {
    let mut ec2 = fargate_task(json!(256), json!(4096));
    ec2["spec"]["requiresCompatibilities"] = json!(["EC2"]);
    accepted(&ec2);
    let mut both = fargate_task(json!(256), json!(4096));
    both["spec"]["requiresCompatibilities"] = json!(["EC2", "FARGATE"]);
    refused_with(&both, FARGATE_PAIR);
}

#[test]
fn a_task_cpu_that_is_no_amount_is_refused_by_its_own_rule_without_an_evaluation_error() {
    let problems = validate(&fargate_task(json!("two cores"), json!("512")));
    let text = messages(&problems);
    assert!(text.contains("task cpu must be CPU units"), "{text}");
    assert!(!text.contains("evaluation error"), "{text}");
}

#[test]
fn ephemeral_storage_takes_21_to_200_gib_as_ecs_registers_it() {
    let task = |size: i64| {
        object(
            "TaskDefinition",
            json!({"family": "web", "ephemeralStorage": {"sizeInGiB": size},
                   "containerDefinitions": [{"name": "app", "image": "nginx"}]}),
        )
    };
    accepted(&task(21));
    accepted(&task(200));
    refused_at(&task(20), "spec.ephemeralStorage.sizeInGiB");
    refused_at(&task(201), "spec.ephemeralStorage.sizeInGiB");
}

#[test]
fn a_daemon_service_cannot_run_on_fargate_by_launch_type_or_capacity_provider() {
    const DAEMON_FARGATE: &str = "a DAEMON service cannot run on FARGATE";
    refused_with(
        &service(json!({"schedulingStrategy": "DAEMON", "launchType": "FARGATE"})),
        DAEMON_FARGATE,
    );
    for provider in ["FARGATE", "FARGATE_SPOT"] {
        refused_with(
            &service(json!({"schedulingStrategy": "DAEMON",
                "capacityProviderStrategy": [{"capacityProvider": provider, "weight": 1}]})),
            DAEMON_FARGATE,
        );
    }
    accepted(&service(
        json!({"schedulingStrategy": "DAEMON", "launchType": "EC2"}),
    ));
    accepted(&service(
        json!({"schedulingStrategy": "REPLICA", "launchType": "FARGATE"}),
    ));
}

#[test]
fn a_strategy_of_several_capacity_providers_needs_one_weight_above_zero() {
    const WEIGHTS: &str =
        "a capacity provider strategy with several providers needs a weight above 0";
    let zero = json!([{"capacityProvider": "FARGATE", "base": 1},
                      {"capacityProvider": "FARGATE_SPOT", "weight": 0}]);
    refused_with(
        &service(json!({"capacityProviderStrategy": zero.clone()})),
        WEIGHTS,
    );
    refused_with(
        &object(
            "EcsTask",
            json!({"taskDefinition": "web", "capacityProviderStrategy": zero.clone()}),
        ),
        WEIGHTS,
    );
    refused_with(
        &object(
            "EcsCluster",
            json!({"defaultCapacityProviderStrategy": zero}),
        ),
        WEIGHTS,
    );
    accepted(&service(json!({"capacityProviderStrategy": [
        {"capacityProvider": "FARGATE", "base": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3}]})));
    // One provider alone takes every task whatever its weight.
    accepted(&service(
        json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}),
    ));
}

#[test]
fn a_condition_takes_at_most_three_values_in_either_form() {
    refused_at(
        &listener_rule(json!([{"field": "path-pattern", "values": ["/a", "/b", "/c", "/d"]}])),
        "spec.rules[0].conditions[0].values",
    );
    refused_at(
        &listener_rule(json!([{"field": "host-header",
            "hostHeaderConfig": {"values": ["a.example.com", "b.example.com", "c.example.com", "d.example.com"]}}])),
        "spec.rules[0].conditions[0].hostHeaderConfig.values",
    );
    refused_at(
        &listener_rule(json!([{"field": "http-header", "httpHeaderConfig":
            {"httpHeaderName": "X-Tier", "values": ["a", "b", "c", "d"]}}])),
        "spec.rules[0].conditions[0].httpHeaderConfig.values",
    );
    accepted(&listener_rule(
        json!([{"field": "path-pattern", "values": ["/a", "/b", "/c"]}]),
    ));
}

#[test]
fn a_rule_takes_at_most_five_match_evaluations_across_its_conditions() {
    const EVALUATIONS: &str = "a rule takes at most 5 condition values (match evaluations)";
    refused_with(
        &listener_rule(json!([
            {"field": "host-header", "hostHeaderConfig": {"values": ["a.example.com", "b.example.com", "c.example.com"]}},
            {"field": "path-pattern", "pathPatternConfig": {"values": ["/a", "/b", "/c"]}}])),
        EVALUATIONS,
    );
    refused_with(
        &listener_rule(json!([
            {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X-A", "values": ["1", "2"]}},
            {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X-B", "values": ["1", "2"]}},
            {"field": "query-string", "queryStringConfig": {"values": [{"key": "v", "value": "1"}, {"value": "2"}]}}])),
        EVALUATIONS,
    );
    accepted(&listener_rule(json!([
        {"field": "host-header", "values": ["a.example.com", "b.example.com"]},
        {"field": "path-pattern", "pathPatternConfig": {"values": ["/a", "/b", "/c"]}}])));
    // describe-rules prints each value twice (legacy values and the config form): counted once.
    accepted(&listener_rule(json!([
        {"field": "host-header", "values": ["a.example.com", "b.example.com"],
         "hostHeaderConfig": {"values": ["a.example.com", "b.example.com"]}},
        {"field": "path-pattern", "values": ["/a", "/b", "/c"],
         "pathPatternConfig": {"values": ["/a", "/b", "/c"]}}])));
}

#[test]
fn a_rule_takes_at_most_five_wildcards() {
    const WILDCARDS: &str = "a rule takes at most 5 wildcards";
    refused_with(
        &listener_rule(json!([
            {"field": "host-header", "hostHeaderConfig": {"values": ["*.*.example.com"]}},
            {"field": "path-pattern", "values": ["/a/*/b/*", "/c?d*"]}])),
        WILDCARDS,
    );
    refused_with(
        &listener_rule(json!([
            {"field": "query-string", "queryStringConfig": {"values": [{"key": "a*", "value": "**"}]}},
            {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "X-A", "values": ["?*?"]}}])),
        WILDCARDS,
    );
    accepted(&listener_rule(json!([
        {"field": "host-header", "hostHeaderConfig": {"values": ["*.*.example.com"]}},
        {"field": "path-pattern", "values": ["/a/*/b/*", "/c?d"]}])));
}

#[test]
fn a_path_pattern_takes_only_albs_characters_and_at_most_128_of_them() {
    const CHARACTERS: &str = "a path pattern may only contain";
    accepted(&listener_rule(json!([{"field": "path-pattern",
        "values": ["/AZaz09_-.$/~\"'@:+&*?"]}])));
    for bad in ["/search%20results", "/a b", "/a#b", "/über", "/a\\b"] {
        refused_with(
            &listener_rule(json!([{"field": "path-pattern", "values": [bad]}])),
            CHARACTERS,
        );
        refused_with(
            &listener_rule(
                json!([{"field": "path-pattern", "pathPatternConfig": {"values": [bad]}}]),
            ),
            CHARACTERS,
        );
    }
    // Host names are not path patterns.
    accepted(&listener_rule(
        json!([{"field": "host-header", "values": ["a.example.com"]}]),
    ));
    let longest = format!("/{}", "a".repeat(127));
    accepted(&listener_rule(
        json!([{"field": "path-pattern", "values": [longest]}]),
    ));
    refused_at(
        &listener_rule(
            json!([{"field": "path-pattern", "pathPatternConfig": {"values": [format!("{longest}a")]}}]),
        ),
        "spec.rules[0].conditions[0].pathPatternConfig.values[0]",
    );
}

#[test]
fn environment_variable_names_are_printable_ascii_without_an_equals_sign() {
    const NAMES: &str =
        "environment variable names must be printable ASCII characters other than '='";
    for bad in ["A=B C", "", "NAÏVE", "TAB\tNAME"] {
        refused_with(
            &task_with_container(json!({"environment": [{"name": bad, "value": "x"}]})),
            NAMES,
        );
        refused_with(
            &task_with_container(
                json!({"secrets": [{"name": bad, "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/x"}]}),
            ),
            NAMES,
        );
    }
    refused_with(
        &object(
            "EcsTask",
            json!({"taskDefinition": "web", "overrides": {"containerOverrides": [
                {"name": "app", "environment": [{"name": "A=B", "value": "x"}]}]}}),
        ),
        NAMES,
    );
    accepted(&task_with_container(json!({"environment": [
        {"name": "MY_VAR", "value": "x"}, {"name": "my.env-name", "value": "y"},
        {"name": "1ST", "value": "z"}, {"name": "A B", "value": "w"}]})));
}

#[test]
fn a_gpu_requirement_is_a_whole_number_of_gpus() {
    const GPUS: &str = "a GPU resourceRequirement's value must be a whole number of GPUs";
    for bad in ["lots", "0", "1.5", "-1", ""] {
        let problems = validate(&task_with_container(
            json!({"resourceRequirements": [{"type": "GPU", "value": bad}]}),
        ));
        assert!(
            problems.iter().any(|p| p.message.contains(GPUS)
                || p.path == "spec.containerDefinitions[0].resourceRequirements[0].value"),
            "{bad:?}: {}",
            messages(&problems)
        );
    }
    accepted(&task_with_container(
        json!({"resourceRequirements": [{"type": "GPU", "value": "2"}]}),
    ));
    accepted(&task_with_container(json!({"resourceRequirements": [
        {"type": "InferenceAccelerator", "value": "device_1"}]})));
}

#[test]
fn a_target_value_is_bounded_so_that_it_stays_an_exact_quantity() {
    let policy = |target: f64| {
        service(
            json!({"autoScaling": {"minCapacity": 1, "maxCapacity": 3, "scalingPolicies": [
            {"policyName": "rps", "policyType": "TargetTrackingScaling",
             "targetTrackingScalingPolicyConfiguration": {"targetValue": target,
                "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}]}}),
        )
    };
    accepted(&policy(1e15));
    refused_at(
        &policy(1e308),
        "spec.autoScaling.scalingPolicies[0].targetTrackingScalingPolicyConfiguration.targetValue",
    );
}

#[test]
fn desired_count_is_bounded_by_the_ecs_quota_of_5000_tasks_per_service() {
    accepted(&service(json!({"desiredCount": 5000})));
    refused_at(&service(json!({"desiredCount": 5001})), "spec.desiredCount");
}

#[test]
fn fargate_refuses_the_linux_parameters_and_namespaces_it_does_not_support() {
    let fargate_container = |container: Value| {
        let mut doc = fargate_task(json!(256), json!(512));
        for (k, v) in container.as_object().into_iter().flatten() {
            doc["spec"]["containerDefinitions"][0][k] = v.clone();
        }
        doc
    };
    const LINUX: &str = "linuxParameters devices, sharedMemorySize, tmpfs, maxSwap and swappiness are not supported on FARGATE";
    for parameters in [
        json!({"devices": [{"hostPath": "/dev/fuse"}]}),
        json!({"sharedMemorySize": 64}),
        json!({"tmpfs": [{"containerPath": "/scratch", "size": 64}]}),
        json!({"maxSwap": 0}),
        json!({"swappiness": 10}),
    ] {
        refused_with(
            &fargate_container(json!({"linuxParameters": parameters})),
            LINUX,
        );
    }
    accepted(&fargate_container(json!({"linuxParameters": {
        "initProcessEnabled": true, "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]}}})));
    refused_with(
        &fargate_container(
            json!({"linuxParameters": {"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}}}),
        ),
        "on FARGATE, SYS_PTRACE is the only capability a container may add",
    );
    const NAMESPACES: &str = "ipcMode and pidMode host are not supported on FARGATE";
    for (field, mode) in [
        ("ipcMode", "task"),
        ("ipcMode", "host"),
        ("pidMode", "host"),
    ] {
        let mut doc = fargate_task(json!(256), json!(512));
        doc["spec"][field] = json!(mode);
        refused_with(&doc, NAMESPACES);
    }
    let mut doc = fargate_task(json!(256), json!(512));
    doc["spec"]["pidMode"] = json!("task");
    accepted(&doc);
    // On EC2 all of them are allowed.
    let mut ec2 = task_with_container(json!({"linuxParameters": {
        "tmpfs": [{"containerPath": "/scratch", "size": 64}],
        "capabilities": {"add": ["NET_ADMIN"]}}}));
    ec2["spec"]["ipcMode"] = json!("host");
    accepted(&ec2);
}
