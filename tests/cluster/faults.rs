//! Faults survived, on the real control plane with the real `ecsplane run` binary: a child the
//! API server refuses, a permission missing for a watch, the operator killed mid-rollout, the
//! API server restarted, the operator throttled by API Priority and Fairness. Every test asserts what the operator does and shows (conditions,
//! Events, `/readyz`, metrics, the children it leaves), never how fast; the bounds are
//! generous limits for a loaded two-core machine.
//!
//! The test that restarts the API server runs on a control plane of its own (about 20 s to
//! start from the cache), so the other tests of the suite never see it go away.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ecsplane::api::{EcsService, TaskDefinition};
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use serde_json::json;

use crate::harness;
use crate::operator::{CONVERGE, condition, eventually, test_namespace};

/// How long the tests wait for `/readyz` to follow a watch that fails or recovers: the
/// readiness window (90 s) plus the watcher's longest backoff (30 s) and slack.
const READINESS: Duration = Duration::from_secs(180);

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// One `ecsplane run` process for one namespace; killed when dropped.
struct Process {
    child: Child,
    metrics: SocketAddr,
    health: SocketAddr,
    log: PathBuf,
    kubeconfig: PathBuf,
    args: Vec<String>,
}

impl Process {
    fn start(kubeconfig: &Path, namespace: &str, extra: &[&str]) -> Process {
        let metrics = free_port();
        let health = free_port();
        let log = std::env::temp_dir().join(format!(
            "ecsplane-faults-{namespace}-{}-{}.log",
            std::process::id(),
            metrics.port()
        ));
        let args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecsplane"));
        command
            .arg("run")
            .arg(format!("--metrics-bind-address={metrics}"))
            .arg(format!("--health-probe-bind-address={health}"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg(format!("--namespace={namespace}"))
            .args(&args);
        for (key, _) in std::env::vars() {
            if key.starts_with("ECSPLANE_") || key == "KUBECONFIG" {
                command.env_remove(key);
            }
        }
        let child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log file"))
            .spawn()
            .expect("start ecsplane run");
        Process {
            child,
            metrics,
            health,
            log,
            kubeconfig: kubeconfig.to_owned(),
            args,
        }
    }

    /// Another process with the same settings (the operator restarted after a crash).
    fn again(&self, namespace: &str) -> Process {
        let extra: Vec<&str> = self.args.iter().map(String::as_str).collect();
        Process::start(&self.kubeconfig, namespace, &extra)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no lease release, in-flight writes cut off.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn readyz(&self) -> Option<(u16, String)> {
        http_get(self.health, "/readyz")
    }

    /// The value of one metric line (`name{labels}`) from `/metrics`.
    fn metric(&self, series: &str) -> Option<f64> {
        let (_, body) = http_get(self.metrics, "/metrics")?;
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn task_definition(image: &str, marker: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "web"},
        "spec": {
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{
                "name": "web",
                "image": image,
                "command": ["sh", "-c", "while true; do sleep 5; done"],
                "environment": [{"name": "MARKER", "value": marker}],
            }],
        },
    })
}

fn service(task_definition: &str, count: i32) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": "web"},
        "spec": {
            "serviceName": "web",
            "taskDefinition": task_definition,
            "desiredCount": count,
            "launchType": "FARGATE",
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
        },
    })
}

async fn apply(client: &Client, ns: &str, doc: serde_json::Value) {
    harness::apply(client, ns, &doc, false)
        .await
        .unwrap_or_else(|e| panic!("apply {} {}: {e}", doc["kind"], doc["metadata"]["name"]));
}

/// Waits until the service is Ready (steady) running `revision` with `count` tasks.
async fn steady(client: &Client, ns: &str, revision: &str, count: i32) -> EcsService {
    let services: Api<EcsService> = Api::namespaced(client.clone(), ns);
    eventually(&format!("web steady on {revision}"), CONVERGE, || {
        let services = services.clone();
        async move {
            let s = services.get("web").await.map_err(|e| e.to_string())?;
            let st = s.status.clone().unwrap_or_default();
            let ready = condition(&st.common.conditions, "Ready");
            if ready.starts_with("True")
                && st.task_definition.as_deref() == Some(revision)
                && st.running_count == Some(count)
            {
                Ok(s)
            } else {
                Err(format!(
                    "Ready {ready}, runs {:?}, running {:?}",
                    st.task_definition, st.running_count
                ))
            }
        }
    })
    .await
}

/// An admission policy of the cluster refuses the Deployment a service produces (422, as the
/// API server answers for an invalid object; render and the CRD rules cannot know the
/// cluster's policies). The service shows `Ready=False` with reason `ChildRejected` naming the
/// Deployment and the field, one Warning Event says the same, and it is not retried on a timer
/// (retrying cannot help); fixing the spec recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_a_child_the_api_server_refuses_is_a_condition_naming_the_field() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "faults-422").await;
    let policy = reject_marker(&client, &ns).await;
    let op = Process::start(harness::kubeconfig_path(), &ns, &[]);
    apply(
        &client,
        &ns,
        task_definition("public.ecr.aws/docker/library/busybox:1.36", "reject"),
    )
    .await;
    apply(&client, &ns, service("web", 1)).await;

    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let ready = eventually("Ready=False ChildRejected", CONVERGE, || {
        let services = services.clone();
        async move {
            let st = services
                .get("web")
                .await
                .map_err(|e| e.to_string())?
                .status
                .unwrap_or_default();
            let ready = condition(&st.common.conditions, "Ready");
            if ready.starts_with("False/ChildRejected") {
                Ok(ready)
            } else {
                Err(ready)
            }
        }
    })
    .await;
    assert!(
        ready.contains("deployments web"),
        "names the child: {ready}"
    );
    assert!(
        ready.contains("spec.template.spec.containers[0].env"),
        "names the field: {ready}\n{}",
        op.log()
    );

    let rejected = r#"ecsplane_reconcile_errors_total{kind="EcsService",category="rejected"}"#;
    let before = op.metric(rejected).expect("the metric");
    assert!(before >= 1.0, "counted as rejected: {before}");
    // The old policy retried every 5 s; waiting for a change means no retry at all unless
    // something changes (the condition's own write may wake it once).
    tokio::time::sleep(Duration::from_secs(15)).await;
    let after = op.metric(rejected).expect("the metric");
    assert!(
        after <= before + 1.0,
        "a 422 is not retried on a timer: {before} → {after}"
    );

    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let warnings: Vec<Event> = events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("ChildRejected"))
        .collect();
    assert_eq!(warnings.len(), 1, "one Warning Event: {warnings:?}");
    assert_eq!(warnings[0].type_.as_deref(), Some("Warning"));
    assert!(
        warnings[0].series.is_none(),
        "the same failure is not published again: {:?}",
        warnings[0].series
    );
    assert!(
        warnings[0]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("containers[0].env"),
        "{:?}",
        warnings[0].note
    );

    // The fix: a new revision the policy accepts, and the service moved to it.
    apply(
        &client,
        &ns,
        task_definition("public.ecr.aws/docker/library/busybox:1.36", "accepted"),
    )
    .await;
    apply(&client, &ns, service("web:2", 1)).await;
    steady(&client, &ns, "web:2", 1).await;
    drop(op);
    delete_policy(&client, &policy).await;
}

/// A ValidatingAdmissionPolicy, bound to namespace `ns` only, that refuses a Deployment with
/// `MARKER=reject` in a container's environment (422 Invalid, the field in the message).
async fn reject_marker(client: &Client, ns: &str) -> String {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    let name = format!("ecsplane-faults-{ns}");
    let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["deployments"],
            }]},
            "validations": [{
                "expression": "object.spec.template.spec.containers.all(c, !has(c.env) || c.env.all(e, e.name != 'MARKER' || !has(e.value) || e.value != 'reject'))",
                "message": "spec.template.spec.containers[0].env: MARKER=reject is refused by the cluster policy",
                "reason": "Invalid",
            }],
        },
    }))
    .expect("a policy");
    Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .create(&PostParams::default(), &policy)
        .await
        .expect("create the policy");
    let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}},
        },
    }))
    .expect("a binding");
    Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .create(&PostParams::default(), &binding)
        .await
        .expect("create the binding");
    // The policy is enforced once the API server has loaded it: probe with a dry run.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let probe: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "probe"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{
                "name": "c", "image": "busybox", "env": [{"name": "MARKER", "value": "reject"}],
            }]}},
        },
    }))
    .expect("a probe");
    eventually("the policy enforced", CONVERGE, || {
        let deployments = deployments.clone();
        let probe = probe.clone();
        async move {
            let params = PostParams {
                dry_run: true,
                ..PostParams::default()
            };
            match deployments.create(&params, &probe).await {
                Err(kube::Error::Api(s)) if s.code == 422 => Ok(()),
                other => Err(format!("{:?}", other.map(|d| d.name_any()))),
            }
        }
    })
    .await;
    name
}

async fn delete_policy(client: &Client, name: &str) {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    let _ = Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
    let _ = Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
}

/// Writes a kubeconfig that acts as ServiceAccount `sa` of `ns` (impersonation by the test
/// control plane's admin), for an operator process with only the permissions given to it.
fn impersonating_kubeconfig(ns: &str, sa: &str) -> PathBuf {
    let admin = std::fs::read_to_string(harness::kubeconfig_path()).expect("read the kubeconfig");
    let mut out = String::new();
    for line in admin.lines() {
        out.push_str(line);
        out.push('\n');
        if line.trim_start().starts_with("client-key-data:") {
            out.push_str(&format!(
                "    as: system:serviceaccount:{ns}:{sa}\n    as-groups:\n    - system:serviceaccounts\n    - system:serviceaccounts:{ns}\n    - system:authenticated\n"
            ));
        }
    }
    assert!(out.contains("    as: "), "the admin user has a client key");
    let path = std::env::temp_dir().join(format!(
        "ecsplane-faults-{ns}-{}.kubeconfig",
        std::process::id()
    ));
    std::fs::write(&path, out).expect("write the kubeconfig");
    path
}

/// Everything the operator needs except the Gateway API group.
async fn grant_all_but_gateway(client: &Client, ns: &str, sa: &str) -> String {
    let name = format!("ecsplane-faults-{ns}");
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name},
        "rules": [{
            "apiGroups": ["", "apps", "autoscaling", "networking.k8s.io", "discovery.k8s.io",
                          "events.k8s.io", "coordination.k8s.io", "ecsplane.io"],
            "resources": ["*"],
            "verbs": ["*"],
        }],
    }))
    .expect("a ClusterRole");
    roles
        .create(&PostParams::default(), &role)
        .await
        .expect("create the ClusterRole");
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
    }))
    .expect("a ClusterRoleBinding");
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .expect("create the ClusterRoleBinding");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let account: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": sa}})).expect("a ServiceAccount");
    accounts
        .create(&PostParams::default(), &account)
        .await
        .expect("create the ServiceAccount");
    name
}

/// With the gateway profile the operator watches HTTPRoutes (a cache of their own, for the
/// Listener controller); without permission to list them the watch fails, and `/readyz` stays
/// 503 naming the watch and the reason (it
/// used to report ready once the primary kinds had listed). Granting it makes the process
/// ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_a_missing_permission_for_httproutes_keeps_readyz_false_with_the_reason() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "faults-rbac").await;
    let role = grant_all_but_gateway(&client, &ns, "ecsplane").await;
    let kubeconfig = impersonating_kubeconfig(&ns, "ecsplane");
    let op = Process::start(&kubeconfig, &ns, &["--routing=gateway"]);

    let body = eventually("/readyz names the failing watch", READINESS, || {
        let answer = op.readyz();
        async move {
            match answer {
                Some((503, body)) if body.contains("watch HTTPRoute") => Ok(body),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    // Not ready: still "starting" (the HTTPRoute store has never listed) or "watch failing"
    // (it had), with the failing watch on its own line either way.
    assert!(
        body.starts_with("watch failing") || body.starts_with("starting"),
        "{body}"
    );
    assert!(
        body.contains("httproutes"),
        "the reason names the resource: {body}"
    );
    assert!(body.contains("forbidden"), "and why: {body}");
    let failing = op
        .metric(r#"ecsplane_watch_failing{kind="HTTPRoute"}"#)
        .expect("the metric");
    assert_eq!(failing, 1.0);
    let restarts = op
        .metric(r#"ecsplane_watch_restarts_total{kind="HTTPRoute"}"#)
        .expect("the metric");
    assert!(restarts >= 1.0, "{restarts}");

    // Granting the permission heals the watch, and the process becomes ready.
    let roles: Api<ClusterRole> = Api::all(client.clone());
    roles
        .patch(
            &role,
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "add", "path": "/rules/-", "value": {
                    "apiGroups": ["gateway.networking.k8s.io"],
                    "resources": ["*"],
                    "verbs": ["*"],
                }}]))
                .expect("a JSON patch"),
            ),
        )
        .await
        .expect("grant HTTPRoutes");
    // Without the Gateway API CRDs installed the watch still fails (404), so only the
    // permission's half is asserted when they are absent.
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    if crds
        .get_opt("httproutes.gateway.networking.k8s.io")
        .await
        .expect("read CRDs")
        .is_some()
    {
        eventually("/readyz 200 once permitted", READINESS, || {
            let answer = op.readyz();
            async move {
                match answer {
                    Some((200, body)) => Ok(body),
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
    } else {
        eventually("the reason is no longer the permission", READINESS, || {
            let answer = op.readyz();
            async move {
                match answer {
                    Some((_, body)) if !body.contains("forbidden") => Ok(body),
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
    }
    drop(op);
    let _ = roles.delete(&role, &DeleteParams::default()).await;
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    let _ = bindings.delete(&role, &DeleteParams::default()).await;
    let _ = std::fs::remove_file(kubeconfig);
}

/// The operator killed with SIGKILL right after it applied the new Deployment of a rollout,
/// then started again: the service converges on the new revision with one Deployment, one set
/// of revisions (no duplicate registration), the ECS rolling bounds on the Deployment (100/200
/// of 4 tasks: none unavailable, up to 4 extra), and one ReplicaSet left with tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_the_operator_killed_mid_rollout_converges_without_duplicates() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "faults-kill").await;
    let mut op = Process::start(harness::kubeconfig_path(), &ns, &[]);
    apply(
        &client,
        &ns,
        task_definition("public.ecr.aws/docker/library/busybox:1.36", "v1"),
    )
    .await;
    apply(&client, &ns, service("web", 4)).await;
    steady(&client, &ns, "web:1", 4).await;

    apply(
        &client,
        &ns,
        task_definition("public.ecr.aws/docker/library/busybox:1.36", "v2"),
    )
    .await;
    apply(&client, &ns, service("web:2", 4)).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    eventually("the new Deployment applied", CONVERGE, || {
        let deployments = deployments.clone();
        async move {
            let d = deployments.get("web").await.map_err(|e| e.to_string())?;
            let env = serde_json::to_string(&d.spec.map(|s| s.template)).unwrap_or_default();
            if env.contains("\"v2\"") {
                Ok(())
            } else {
                Err("still v1".to_owned())
            }
        }
    })
    .await;
    op.kill9();
    let mut op = op.again(&ns);
    let svc = steady(&client, &ns, "web:2", 4).await;
    assert!(op.running(), "the restarted operator runs:\n{}", op.log());

    let owned = ListParams::default().labels(&format!(
        "ecsplane.io/owner-uid={}",
        svc.uid().expect("a UID")
    ));
    let ds = deployments.list(&owned).await.expect("list").items;
    assert_eq!(
        ds.iter().map(|d| d.name_any()).collect::<Vec<_>>(),
        ["web"],
        "one Deployment"
    );
    let strategy = ds[0]
        .spec
        .as_ref()
        .and_then(|s| s.strategy.clone())
        .and_then(|s| s.rolling_update)
        .expect("a rolling update");
    assert_eq!(
        serde_json::to_value(&strategy).expect("json"),
        json!({"maxUnavailable": 0, "maxSurge": 4}),
        "ECS's bounds for 100/200 % of 4 tasks"
    );
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    assert!(accounts.list(&owned).await.expect("list").items.len() <= 1);
    let tds: Api<TaskDefinition> = Api::namespaced(client.clone(), &ns);
    let td = tds.get("web").await.expect("the task definition");
    let revisions: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
    let mut numbers: Vec<i64> = revisions
        .list(&ListParams::default().labels(&format!(
            "ecsplane.io/owner-uid={}",
            td.uid().expect("a UID")
        )))
        .await
        .expect("list")
        .items
        .iter()
        .map(|r| r.revision)
        .collect();
    numbers.sort();
    assert_eq!(numbers, [1, 2], "each revision registered once");
    let status = svc.status.unwrap_or_default();
    assert_eq!(status.deployments.len(), 1, "{:?}", status.deployments);
}

/// A control plane of this test's own, stopped when dropped.
struct OwnControlPlane {
    dir: PathBuf,
}

impl OwnControlPlane {
    fn up() -> OwnControlPlane {
        let dir = std::env::temp_dir().join(format!("ecsplane-faults-cp.{}", std::process::id()));
        let status = Command::new("bash")
            .arg(harness::repo_root().join("tests/harness/controlplane.sh"))
            .arg("up")
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .expect("run controlplane.sh up");
        assert!(status.success(), "controlplane.sh up {}", dir.display());
        OwnControlPlane { dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig()).expect("read the kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("load the kubeconfig");
        Client::try_from(config).expect("a client")
    }

    /// Runs `controlplane.sh restart-apiserver` with `gap` seconds of the API server away.
    fn restart_apiserver(dir: PathBuf, gap: u64) -> std::thread::JoinHandle<bool> {
        std::thread::spawn(move || {
            Command::new("bash")
                .arg(harness::repo_root().join("tests/harness/controlplane.sh"))
                .arg("restart-apiserver")
                .arg(&dir)
                .arg(gap.to_string())
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    }
}

impl Drop for OwnControlPlane {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(harness::repo_root().join("tests/harness/controlplane.sh"))
            .arg("down")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The API server stopped for a while and started again: while it is away `/readyz` says the
/// watches fail, once it is back the operator is ready again without a restart of its own,
/// and a change made afterwards flows through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_the_api_server_restarted_readyz_goes_false_then_true_and_changes_flow() {
    let cp = tokio::task::spawn_blocking(OwnControlPlane::up)
        .await
        .expect("start a control plane");
    let client = cp.client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "faults-apiserver").await;
    let mut op = Process::start(&cp.kubeconfig(), &ns, &[]);
    apply(
        &client,
        &ns,
        task_definition("public.ecr.aws/docker/library/busybox:1.36", "v1"),
    )
    .await;
    apply(&client, &ns, service("web", 2)).await;
    steady(&client, &ns, "web:1", 2).await;
    eventually("/readyz 200", READINESS, || {
        let answer = op.readyz();
        async move {
            match answer {
                Some((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;

    let restart = OwnControlPlane::restart_apiserver(cp.dir.clone(), 15);
    let mut unready = None;
    while !restart.is_finished() {
        if let Some((503, body)) = op.readyz() {
            unready.get_or_insert(body);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        restart.join().expect("the restart thread"),
        "restart-apiserver"
    );
    let unready = unready.unwrap_or_else(|| panic!("/readyz never went 503:\n{}", op.log()));
    assert!(unready.contains("watch failing"), "{unready}");

    eventually("/readyz 200 again", READINESS, || {
        let answer = op.readyz();
        async move {
            match answer {
                Some((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    assert!(op.running(), "the operator survived:\n{}", op.log());
    let restarts = op
        .metric(r#"ecsplane_watch_restarts_total{kind="EcsService"}"#)
        .expect("the metric");
    assert!(restarts >= 1.0, "{restarts}");

    apply(&client, &ns, service("web", 3)).await;
    steady(&client, &ns, "web:1", 3).await;
    drop(op);
    drop(cp);
}

/// A counter of the API server's own metrics, summed over the series whose labels contain
/// `labels` (`flow_schema="NAME"`).
async fn apiserver_counter(client: &Client, name: &str, labels: &str) -> f64 {
    let request = axum::http::Request::get("/metrics")
        .body(Vec::new())
        .expect("a request");
    let text = client
        .request_text(request)
        .await
        .expect("read the API server's metrics");
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(labels))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The operator's user gets a priority level of one concurrency share that rejects (429)
/// whatever does not fit (API Priority and Fairness), and 20 services are applied at once: the
/// API server throttles it, it converges anyway, and once converged it makes (almost) no
/// requests: no retry storm, no hot loop. Requests are counted by the API server
/// (`apiserver_flowcontrol_*_requests_total` of the operator's flow schema), not by time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_a_throttled_operator_converges_and_does_not_storm() {
    use k8s_openapi::api::flowcontrol::v1::{FlowSchema, PriorityLevelConfiguration};
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "faults-429").await;
    let role = grant_all_but_gateway(&client, &ns, "ecsplane").await;
    let name = format!("ecsplane-faults-{ns}");
    let level: PriorityLevelConfiguration = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 1,
            "lendablePercent": 0,
            "limitResponse": {"type": "Reject"},
        }},
    }))
    .expect("a priority level");
    Api::<PriorityLevelConfiguration>::all(client.clone())
        .create(&PostParams::default(), &level)
        .await
        .expect("create the priority level");
    let schema: FlowSchema = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "priorityLevelConfiguration": {"name": name},
            "matchingPrecedence": 100,
            "distinguisherMethod": {"type": "ByUser"},
            "rules": [{
                "subjects": [{"kind": "ServiceAccount", "serviceAccount": {"name": "ecsplane", "namespace": ns}}],
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": ["*"], "clusterScope": true}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            }],
        },
    }))
    .expect("a flow schema");
    Api::<FlowSchema>::all(client.clone())
        .create(&PostParams::default(), &schema)
        .await
        .expect("create the flow schema");
    let ours = format!("flow_schema=\"{name}\"");

    let kubeconfig = impersonating_kubeconfig(&ns, "ecsplane");
    let op = Process::start(&kubeconfig, &ns, &[]);
    apply(
        &client,
        &ns,
        task_definition("public.ecr.aws/docker/library/busybox:1.36", "v1"),
    )
    .await;
    const SERVICES: usize = 20;
    for i in 0..SERVICES {
        let mut svc = service("web", 1);
        svc["metadata"]["name"] = json!(format!("web-{i}"));
        svc["spec"]["serviceName"] = json!(format!("web-{i}"));
        apply(&client, &ns, svc).await;
    }
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    eventually(
        "every service steady under throttling",
        CONVERGE * 2,
        || {
            let services = services.clone();
            async move {
                let list = services
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let waiting = list
                    .items
                    .iter()
                    .filter(|s| {
                        let st = s.status.clone().unwrap_or_default();
                        !condition(&st.common.conditions, "Ready").starts_with("True")
                            || st.running_count != Some(1)
                    })
                    .count();
                if list.items.len() == SERVICES && waiting == 0 {
                    Ok(())
                } else {
                    Err(format!("{waiting} of {} not steady", list.items.len()))
                }
            }
        },
    )
    .await;
    let dispatched = "apiserver_flowcontrol_dispatched_requests_total";
    let rejected = "apiserver_flowcontrol_rejected_requests_total";
    let served = apiserver_counter(&client, dispatched, &ours).await;
    let refused = apiserver_counter(&client, rejected, &ours).await;
    assert!(
        served > 0.0,
        "the flow schema classifies the operator's requests"
    );
    eprintln!("throttled: {served} requests served, {refused} rejected (429) while converging");
    // Converged: wait longer than the longest backoff step a hot loop would hide behind
    // (kube-rs retries of 429 start at 5 ms), then count again.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let served_idle = apiserver_counter(&client, dispatched, &ours).await - served;
    let refused_idle = apiserver_counter(&client, rejected, &ours).await - refused;
    assert!(
        served_idle <= SERVICES as f64,
        "a converged operator makes at most a request or so per object in 30 s: {served_idle}\n{}",
        op.log()
    );
    assert!(
        refused_idle <= 5.0,
        "no retry storm: {refused_idle} rejected while idle"
    );
    let per_service = (served + refused) / SERVICES as f64;
    assert!(
        per_service < 500.0,
        "bounded work per service while throttled: {per_service}"
    );

    drop(op);
    let _ = Api::<FlowSchema>::all(client.clone())
        .delete(&name, &DeleteParams::default())
        .await;
    let _ = Api::<PriorityLevelConfiguration>::all(client.clone())
        .delete(&name, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRole>::all(client.clone())
        .delete(&role, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRoleBinding>::all(client.clone())
        .delete(&role, &DeleteParams::default())
        .await;
    let _ = std::fs::remove_file(kubeconfig);
}
