use std::path::PathBuf;

use crate::harness;

/// One bad-input manifest and the text its rejection must contain.
struct Case {
    file: PathBuf,
    expect: String,
    doc: serde_json::Value,
}

fn cases() -> Vec<Case> {
    let dir = harness::repo_root().join("tests/bad-input");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let expect = text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{} has an `# expect:` line", file.display()))
                .to_owned();
            let mut docs = harness::documents(&file);
            assert_eq!(
                docs.len(),
                1,
                "{} holds one manifest with one defect",
                file.display()
            );
            Case {
                file,
                expect,
                doc: docs.remove(0),
            }
        })
        .collect()
}

/// Each manifest under tests/bad-input has exactly one defect that ECS or ELB would refuse;
/// the real API server refuses it too, with a message naming the field or rule.
#[tokio::test]
async fn the_api_server_rejects_each_bad_manifest_naming_the_field() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "bad-input").await;

    let cases = cases();
    assert!(
        cases.len() >= 20,
        "the suite has at least 20 defects, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        match harness::apply(&client, &ns, &case.doc, false).await {
            Ok(_) => failures.push(format!(
                "{}: accepted, expected a rejection containing {:?}",
                case.file.display(),
                case.expect
            )),
            Err(kube::Error::Api(status)) => {
                if !status.message.contains(&case.expect) {
                    failures.push(format!(
                        "{}: rejected with {:?}, expected it to contain {:?}",
                        case.file.display(),
                        status.message,
                        case.expect
                    ));
                }
            }
            Err(other) => {
                failures.push(format!("{}: unexpected error {other}", case.file.display()))
            }
        }
    }
    harness::delete_namespace(&client, &ns).await;
    assert!(
        failures.is_empty(),
        "{} of {} bad manifests misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Task cpu and memory as numbers or with units pass the same CEL rules on the real API
/// server that `ecsplane render` evaluates client-side.
#[tokio::test]
async fn the_api_server_accepts_task_cpu_and_memory_as_numbers_and_with_units() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "task-sizes").await;
    let mut failures = Vec::new();
    for (i, (cpu, memory)) in [
        (serde_json::json!(256), serde_json::json!(512)),
        (serde_json::json!("256"), serde_json::json!("512")),
        (serde_json::json!("1 vCPU"), serde_json::json!("2 GB")),
    ]
    .into_iter()
    .enumerate()
    {
        let doc = serde_json::json!({"apiVersion": "ecsplane.io/v1alpha1",
            "kind": "TaskDefinition", "metadata": {"name": format!("size-{i}")},
            "spec": {"family": "app", "cpu": cpu, "memory": memory,
                     "containerDefinitions": [{"name": "app", "image": "nginx"}]}});
        assert!(
            ecsplane::validate::validate(&doc).is_empty(),
            "client-side accepts {doc}"
        );
        if let Err(e) = harness::apply(&client, &ns, &doc, false).await {
            failures.push(format!("cpu {cpu}, memory {memory}: {e}"));
        }
    }
    harness::delete_namespace(&client, &ns).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
