//! The real control plane the tests run against.
//!
//! The suite starts its own control plane with `tests/harness/controlplane.sh up` (building
//! the binaries into the cache on first use) and stops it when the test process exits. It
//! reuses a running one only when `ECSPLANE_TEST_KUBECONFIG` names its kubeconfig; the ambient
//! `KUBECONFIG` is never used, because it may point at a real cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};

/// Field manager of everything the tests apply.
pub const TEST_MANAGER: &str = "ecsplane-tests";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct ControlPlane {
    kubeconfig: PathBuf,
    // The detached watcher that runs `down` once this process has exited. It outlives us on
    // purpose, so it is kept, never waited on.
    _watcher: Option<std::process::Child>,
}

static CONTROL_PLANE: OnceLock<ControlPlane> = OnceLock::new();

fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(|| {
        if let Ok(path) = std::env::var("ECSPLANE_TEST_KUBECONFIG") {
            eprintln!("using the control plane of ECSPLANE_TEST_KUBECONFIG={path}");
            return ControlPlane {
                kubeconfig: PathBuf::from(path),
                _watcher: None,
            };
        }
        let script = repo_root().join("tests/harness/controlplane.sh");
        let dir = std::env::temp_dir().join(format!("ecsplane-test-cp.{}", std::process::id()));
        eprintln!(
            "starting a control plane in {} (the first run builds it: ~10 minutes)",
            dir.display()
        );
        let out = Command::new("bash")
            .arg(&script)
            .arg("up")
            .arg(&dir)
            .stderr(Stdio::inherit())
            .output()
            .expect("run tests/harness/controlplane.sh up");
        assert!(
            out.status.success(),
            "controlplane.sh up failed: see the log lines above"
        );
        // Stop it when this test process exits: a detached watcher waits for our PID to go.
        let watcher = stop_when_this_process_exits(&script, &dir);
        ControlPlane {
            kubeconfig: dir.join("kubeconfig"),
            _watcher: Some(watcher),
        }
    })
}

/// Path of the test control plane's kubeconfig (starting the control plane if needed).
pub fn kubeconfig_path() -> &'static Path {
    &control_plane().kubeconfig
}

/// A client for the test control plane.
pub async fn client() -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig_path()).expect("read the test kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load the test kubeconfig");
    Client::try_from(config).expect("build a client")
}

/// Installs (server-side applies) every ecsplane CRD and waits until each is Established.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in ecsplane::api::crds() {
        let name = crd.metadata.name.clone().expect("CRDs are named");
        crds.patch(
            &name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
        tokio::time::timeout(
            Duration::from_secs(60),
            await_condition(crds.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} not Established within 60 s"))
        .expect("watch CRD");
    }
}

/// Creates a fresh namespace for one test and returns its name.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    use k8s_openapi::api::core::v1::Namespace;
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": { "generateName": format!("{prefix}-") }
    }))
    .expect("namespace");
    let created = nss
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    created.metadata.name.expect("generated name")
}

/// Deletes a test namespace (best effort).
pub async fn delete_namespace(client: &Client, name: &str) {
    use k8s_openapi::api::core::v1::Namespace;
    let nss: Api<Namespace> = Api::all(client.clone());
    let _ = nss.delete(name, &DeleteParams::default()).await;
}

/// Every YAML document of a file, as JSON values (empty documents skipped).
pub fn documents(path: &Path) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_multiple::<serde_json::Value>(&text)
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The API resource of a manifest's apiVersion/kind (ecsplane kinds and a few built-ins).
pub fn api_resource(doc: &serde_json::Value) -> ApiResource {
    let api_version = doc["apiVersion"].as_str().expect("apiVersion");
    let kind = doc["kind"].as_str().expect("kind");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "TaskDefinition" => "taskdefinitions".to_owned(),
        "EcsService" => "ecsservices".to_owned(),
        "TargetGroup" => "targetgroups".to_owned(),
        "Listener" => "listeners".to_owned(),
        "EcsTask" => "ecstasks".to_owned(),
        "EcsCluster" => "ecsclusters".to_owned(),
        "Ingress" => "ingresses".to_owned(),
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers".to_owned(),
        other => format!("{}s", other.to_ascii_lowercase()),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

/// Server-side applies one manifest into `namespace` with strict field validation, as
/// `kubectl apply --server-side` does, and returns what the server stored.
pub async fn apply(
    client: &Client,
    namespace: &str,
    doc: &serde_json::Value,
    dry_run: bool,
) -> Result<DynamicObject, kube::Error> {
    let ar = api_resource(doc);
    let name = doc["metadata"]["name"]
        .as_str()
        .expect("metadata.name")
        .to_owned();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let mut params = PatchParams::apply(TEST_MANAGER).validation_strict();
    params.dry_run = dry_run;
    api.patch(&name, &params, &Patch::Apply(doc)).await
}

/// A detached watcher that runs `SCRIPT down DIR` once this test process has exited (however
/// it exits), so a control plane started by the tests never outlives them.
pub fn stop_when_this_process_exits(script: &Path, dir: &Path) -> std::process::Child {
    Command::new("setsid")
        .args(["bash", "-c", r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; bash "$2" down "$3" >/dev/null 2>&1"#, "watch"])
        .arg(std::process::id().to_string())
        .arg(script)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the control-plane watcher")
}
