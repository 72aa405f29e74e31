use std::path::PathBuf;

use crate::harness;

fn example_files() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&harness::repo_root().join("examples"), &mut files);
    files.sort();
    files
}

/// Every manifest under examples/ applies with strict server-side apply, and reads back with
/// the same spec (nothing pruned or defaulted away).
#[tokio::test]
async fn every_example_applies_and_reads_back_unchanged() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "examples").await;

    let files = example_files();
    assert!(
        files.len() >= 5,
        "examples/ holds the web, worker, daemon, task and cluster examples"
    );
    let mut applied = 0;
    for file in &files {
        for doc in harness::documents(file) {
            let stored = harness::apply(&client, &ns, &doc, false)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {} {} was rejected: {e}",
                        file.display(),
                        doc["kind"],
                        doc["metadata"]["name"]
                    )
                });
            assert_eq!(
                stored.data["spec"],
                doc["spec"],
                "{}: {} {} reads back with the spec it was applied with",
                file.display(),
                doc["kind"],
                doc["metadata"]["name"]
            );
            applied += 1;
        }
    }
    assert!(applied >= 12, "applied {applied} objects");
    harness::delete_namespace(&client, &ns).await;
}
