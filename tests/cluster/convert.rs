//! What `ecsplane convert` makes of the shared ECS corpus is accepted by the real API server:
//! every object of every corpus file that converts (with the `--param`s of the corpus table),
//! server-side applied with dryRun=All under the operator's field manager and strict field
//! validation.

use std::path::PathBuf;

use kube::api::{Api, DynamicObject, Patch, PatchParams};

use ecsplane::import::{ConvertOptions, convert_files};

use crate::harness;

/// The corpus table's row shapes (see tests/import_corpus.rs); only the inputs and `--param`s
/// are used here.
#[allow(dead_code)]
enum Expect {
    Converts {
        objects: &'static [&'static str],
        held_back: usize,
        skipped: usize,
    },
    Fails(&'static str),
}

use Expect::{Converts, Fails};

type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Expect,
);

const CASES: &[Case] = &include!("../import_corpus_table.in");

fn corpus() -> Option<PathBuf> {
    let dir = harness::repo_root().join("../shared/corpus/ecs");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("notice: corpus not found at {}; skipping", dir.display());
        None
    }
}

/// Every converted corpus object passes the API server's validation (schema, CEL rules,
/// strict unknown-field checks) on a server-side dry-run apply.
#[tokio::test]
async fn the_api_server_accepts_every_object_converted_from_the_corpus() {
    let Some(dir) = corpus() else { return };
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "convert").await;

    let mut params = PatchParams::apply(ecsplane::controller::FIELD_MANAGER).validation_strict();
    params.dry_run = true;
    let mut failures = Vec::new();
    let mut accepted = 0;
    for (file, pairs, _) in CASES {
        let options = ConvertOptions {
            params: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            namespace: Some(ns.clone()),
        };
        let inputs: Vec<PathBuf> = file.split(" + ").map(|f| dir.join(f)).collect();
        let Ok(conversion) = convert_files(&inputs, &options) else {
            continue;
        };
        for object in &conversion.objects {
            let ar = harness::api_resource(&object.manifest);
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
            match api
                .patch(&object.name, &params, &Patch::Apply(&object.manifest))
                .await
            {
                Ok(stored) => {
                    if !same(&stored.data["spec"], &object.manifest["spec"]) {
                        failures.push(format!(
                            "{file}: {}/{}: the server would store a different spec (pruned or defaulted): {}",
                            object.kind, object.name, stored.data["spec"]
                        ));
                    } else {
                        accepted += 1;
                    }
                }
                Err(e) => failures.push(format!(
                    "{file}: {}/{} rejected: {e}",
                    object.kind, object.name
                )),
            }
        }
    }
    harness::delete_namespace(&client, &ns).await;
    eprintln!("the API server accepted {accepted} converted objects");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        accepted >= 60,
        "accepted {accepted} converted objects; the corpus gives more"
    );
}

/// Equal as JSON values, numbers compared by value (the API types write `0.0` for a float
/// field that the server stores as `0`).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
