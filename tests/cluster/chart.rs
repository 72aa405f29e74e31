//! The Helm chart (charts/ecsplane), checked with Helm v4.3.1 built by
//! `tests/harness/controlplane.sh` and against the real control plane.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use ecsplane::api::EcsService;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::Kubeconfig;
use kube::discovery::Scope;
use serde_json::{Value, json};

use crate::harness;
use crate::operator::{CONVERGE, condition, eventually};
use crate::process;

/// The chart's directory.
fn chart_dir() -> PathBuf {
    harness::repo_root().join("charts/ecsplane")
}

/// The cached helm binary, built by `controlplane.sh build` if it is not there yet.
fn helm_bin() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let script = harness::repo_root().join("tests/harness/controlplane.sh");
        let paths = Command::new("bash")
            .arg(&script)
            .arg("paths")
            .output()
            .expect("run controlplane.sh paths");
        let dir = String::from_utf8(paths.stdout)
            .expect("paths is UTF-8")
            .lines()
            .find_map(|l| l.strip_prefix("HELM_BIN=").map(PathBuf::from))
            .expect("controlplane.sh paths prints HELM_BIN=");
        if !dir.join(".complete").exists() {
            eprintln!("building helm with controlplane.sh build (cold: about five minutes)");
            let status = Command::new("bash")
                .arg(&script)
                .arg("build")
                .status()
                .expect("run controlplane.sh build");
            assert!(
                status.success(),
                "controlplane.sh build failed: see the log lines above"
            );
        }
        dir.join("helm")
    })
}

/// Runs helm with its config, cache and data in a directory of this test process, so nothing
/// in ~/.config or ~/.cache is read or written. Without `kubeconfig`, KUBECONFIG points
/// nowhere: helm then cannot reach any cluster, least of all the user's.
fn helm(args: &[&str], kubeconfig: Option<&Path>) -> Output {
    let home = std::env::temp_dir().join(format!("ecsplane-test-helm.{}", std::process::id()));
    let none = home.join("no-kubeconfig");
    Command::new(helm_bin())
        .args(args)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("KUBECONFIG", kubeconfig.unwrap_or(&none))
        .output()
        .expect("run helm")
}

fn stdout_of(args: &[&str], out: &Output) -> String {
    assert!(
        out.status.success(),
        "helm {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("helm prints UTF-8")
}

/// `helm template RELEASE charts/ecsplane --namespace NAMESPACE ARGS...` as parsed objects.
fn template(release: &str, namespace: &str, extra: &[&str]) -> Vec<Value> {
    let chart = chart_dir();
    let mut args = vec![
        "template",
        release,
        chart.to_str().unwrap(),
        "--namespace",
        namespace,
    ];
    args.extend_from_slice(extra);
    let text = stdout_of(&args, &helm(&args, None));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("helm template printed YAML that does not parse: {e}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The labels every object of release `rel` carries.
fn release_labels() -> Vec<&'static str> {
    vec![
        "helm.sh/chart",
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/part-of",
    ]
}

/// The chart's CRD file is crds/ecsplane.io.yaml itself (a symbolic link), so it cannot fall
/// behind the generated CRDs.
#[test]
fn chart_crd_file_is_the_generated_crds_file() {
    let root = harness::repo_root();
    let link = chart_dir().join("files/ecsplane.io.yaml");
    let target = std::fs::read_link(&link)
        .expect("charts/ecsplane/files/ecsplane.io.yaml is a symbolic link");
    assert_eq!(
        target,
        Path::new("../../../crds/ecsplane.io.yaml"),
        "a relative link, valid in any checkout"
    );
    assert_eq!(
        std::fs::canonicalize(&link).unwrap(),
        std::fs::canonicalize(root.join("crds/ecsplane.io.yaml")).unwrap()
    );
}

/// The chart deploys the ecsplane release it is built with: appVersion is the crate version.
#[test]
fn chart_app_version_is_the_crate_version() {
    let chart: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap())
            .expect("Chart.yaml parses");
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(
        chart["appVersion"],
        env!("CARGO_PKG_VERSION"),
        "Chart.yaml's appVersion follows Cargo.toml's version"
    );
}

/// `helm lint --strict` finds nothing to complain about, with the defaults and with every
/// optional part switched on or off.
#[test]
fn chart_passes_helm_lint_strict_with_default_and_optional_values() {
    let chart = chart_dir();
    let variants: [&[&str]; 4] = [
        &[],
        &[
            "--set",
            "crds.enabled=false",
            "--set",
            "metrics.service.enabled=false",
        ],
        &[
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "leaderElection.enabled=false",
            "--set",
            "replicaCount=1",
            "--set",
            "rbac.create=false",
        ],
        &[
            "--set",
            "watchNamespaces={team-a,team-b}",
            "--set",
            "routing.profile=gateway",
            "--set",
            "routing.gateway=infra/public",
            "--set",
            "securityPolicy=baseline",
        ],
    ];
    for extra in variants {
        let mut args = vec!["lint", "--strict", chart.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = stdout_of(&args, &helm(&args, None));
        assert!(
            out.contains("1 chart(s) linted, 0 chart(s) failed"),
            "helm {}:\n{out}",
            args.join(" ")
        );
        assert!(
            !out.contains("[WARNING]") && !out.contains("[ERROR]"),
            "helm {} reports problems:\n{out}",
            args.join(" ")
        );
    }
}

/// The CRDs the chart renders are exactly crds/ecsplane.io.yaml; the chart adds only the
/// release's labels and, by default, `helm.sh/resource-policy: keep`.
#[test]
fn chart_crds_are_the_generated_crds_with_only_release_metadata_added() {
    let expected = harness::documents(&harness::repo_root().join("crds/ecsplane.io.yaml"));
    let rendered = template("rel", "ops", &[]);
    let crds = of_kind(&rendered, "CustomResourceDefinition");
    assert_eq!(
        crds.len(),
        expected.len(),
        "one rendered CRD per generated CRD"
    );
    for (crd, want) in crds.iter().zip(&expected) {
        let name = want["metadata"]["name"].as_str().unwrap();
        let mut crd = (*crd).clone();
        let meta = crd["metadata"].as_object_mut().unwrap();
        let labels = meta
            .remove("labels")
            .expect("rendered CRDs carry the release labels");
        let mut keys: Vec<&str> = labels
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut want_keys = release_labels();
        want_keys.sort_unstable();
        assert_eq!(keys, want_keys, "{name}: only the release labels are added");
        let annotations = meta.remove("annotations").expect("crds.keep annotates");
        assert_eq!(
            annotations,
            json!({"helm.sh/resource-policy": "keep"}),
            "{name}: by default uninstalling the release keeps the CRD"
        );
        pretty_assertions::assert_eq!(
            &crd,
            want,
            "{name}: rendered CRD equals crds/ apart from metadata"
        );
    }
}

/// `crds.enabled=false` renders no CRD (for CRDs managed elsewhere); `crds.keep=false` drops
/// the resource policy, so uninstalling deletes the CRDs.
#[test]
fn chart_crds_can_be_left_out_or_left_unkept() {
    let without = template("rel", "ops", &["--set", "crds.enabled=false"]);
    assert!(of_kind(&without, "CustomResourceDefinition").is_empty());
    assert_eq!(
        of_kind(&without, "Deployment").len(),
        1,
        "the operator is still rendered"
    );

    let unkept = template("rel", "ops", &["--set", "crds.keep=false"]);
    let crds = of_kind(&unkept, "CustomResourceDefinition");
    assert_eq!(crds.len(), 7);
    for crd in crds {
        assert!(
            crd["metadata"]["annotations"]
                .get("helm.sh/resource-policy")
                .is_none(),
            "{}: no keep policy with crds.keep=false",
            crd["metadata"]["name"]
        );
    }
}

/// values.schema.json rejects keys the chart does not know, at the top level and nested, and
/// values of the wrong type, naming the offending key.
#[test]
fn chart_values_schema_rejects_unknown_and_mistyped_values() {
    let chart = chart_dir();
    let cases = [
        ("imagee.tag=x", "additional properties 'imagee' not allowed"),
        ("image.tagg=x", "additional properties 'tagg' not allowed"),
        ("crds.kep=false", "additional properties 'kep' not allowed"),
        (
            "metrics.serviceMonitor.intervall=30s",
            "additional properties 'intervall' not allowed",
        ),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("logFormat=xml", "/logFormat"),
        ("health.port=0", "/health/port"),
        ("securityPolicy=open", "/securityPolicy"),
        ("routing.profile=nginx", "/routing/profile"),
        (
            "routing.profiles=alb",
            "additional properties 'profiles' not allowed",
        ),
        ("routing.gateway=a/b/c", "/routing/gateway"),
        ("routing.ingressClass=ALB", "/routing/ingressClass"),
        ("watchNamespaces={team-a,Team_B}", "/watchNamespaces/1"),
        ("watchNamespaces={team-a,team-a}", "/watchNamespaces"),
    ];
    for (set, expect) in cases {
        let args = ["template", "rel", chart.to_str().unwrap(), "--set", set];
        let out = helm(&args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} is rejected");
        assert!(
            stderr.contains("values don't meet the specifications of the schema")
                && stderr.contains(expect),
            "--set {set}: expected a schema error mentioning {expect:?}, got:\n{stderr}"
        );
    }
}

/// Two replicas without leader election would both reconcile: the chart refuses to render.
#[test]
fn chart_refuses_several_replicas_without_leader_election() {
    let chart = chart_dir();
    let args = [
        "template",
        "rel",
        chart.to_str().unwrap(),
        "--set",
        "leaderElection.enabled=false",
    ];
    let out = helm(&args, None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("replicaCount > 1 needs leaderElection.enabled")
    );

    let single = template(
        "rel",
        "ops",
        &[
            "--set",
            "leaderElection.enabled=false",
            "--set",
            "replicaCount=1",
        ],
    );
    let deployment = of_kind(&single, "Deployment")[0];
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(!args.contains(&json!("--leader-elect")));
    assert!(
        of_kind(&single, "Role").is_empty(),
        "no Lease permissions without leader election"
    );
}

/// The ServiceMonitor is rendered only when enabled and the cluster serves its API, so the
/// chart installs on clusters without the Prometheus Operator.
#[test]
fn chart_service_monitor_is_rendered_only_where_its_api_is_served() {
    let api = ["--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"];
    let on = ["--set", "metrics.serviceMonitor.enabled=true"];
    assert!(
        of_kind(&template("rel", "ops", &api), "ServiceMonitor").is_empty(),
        "off by default"
    );
    assert!(
        of_kind(&template("rel", "ops", &on), "ServiceMonitor").is_empty(),
        "API not served"
    );
    let both = template("rel", "ops", &[&on[..], &api[..]].concat());
    let monitors = of_kind(&both, "ServiceMonitor");
    assert_eq!(monitors.len(), 1);
    let service = of_kind(&both, "Service")[0];
    let selector = &monitors[0]["spec"]["selector"]["matchLabels"];
    for (k, v) in selector.as_object().unwrap() {
        assert_eq!(
            &service["metadata"]["labels"][k], v,
            "the ServiceMonitor selects the metrics Service ({k})"
        );
    }
    assert_eq!(
        monitors[0]["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
}

/// The operator's container gets the flags, ports and probes of the operator's command line.
#[test]
fn chart_deployment_runs_the_operator_with_its_flags_probes_and_ports() {
    let objects = template("rel", "ops", &[]);
    let deployment = of_kind(&objects, "Deployment")[0];
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(
        c["image"],
        format!("ecsplane/ecsplane:{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        c["args"],
        json!([
            "run",
            "--leader-elect",
            "--leader-election-id=ecsplane-leader",
            "--metrics-bind-address=:8080",
            "--health-probe-bind-address=:8081",
            "--log-format=json",
            "--routing=ingress",
            "--routing-implementation=conformant",
            "--security-policy=restricted",
            "--concurrency=16",
            "--debounce=500ms",
            "--kube-api-qps=50",
            "--kube-api-burst=100"
        ])
    );
    assert_eq!(
        c["ports"],
        json!([
            {"name": "metrics", "containerPort": 8080, "protocol": "TCP"},
            {"name": "health", "containerPort": 8081, "protocol": "TCP"},
        ])
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "health"})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "health"})
    );
    assert_eq!(pod["serviceAccountName"], "rel-ecsplane");
    let bindings = of_kind(&objects, "ClusterRoleBinding");
    assert_eq!(
        bindings[0]["subjects"],
        json!([{"kind": "ServiceAccount", "name": "rel-ecsplane", "namespace": "ops"}])
    );
}

/// Every operator setting is a chart value passed as its `ecsplane run` flag: the watched
/// namespaces comma-separated, the routing profile, ingress class and Gateway (the Gateway
/// only for the `gateway` profile), the security policy.
#[test]
fn chart_values_become_the_operators_flags() {
    let args_of = |extra: &[&str]| {
        let objects = template("rel", "ops", extra);
        let deployment = of_kind(&objects, "Deployment")[0];
        let args: Vec<String> = serde_json::from_value(
            deployment["spec"]["template"]["spec"]["containers"][0]["args"].clone(),
        )
        .unwrap();
        args
    };
    let args = args_of(&[
        "--set",
        "watchNamespaces={team-a,team-b}",
        "--set",
        "routing.profile=gateway",
        "--set",
        "routing.gateway=infra/public",
        "--set",
        "securityPolicy=privileged",
    ]);
    for flag in [
        "--namespace=team-a,team-b",
        "--routing=gateway",
        "--gateway=infra/public",
        "--security-policy=privileged",
    ] {
        assert!(args.iter().any(|a| a == flag), "{flag} in {args:?}");
    }
    let alb = args_of(&[
        "--set",
        "routing.profile=alb",
        "--set",
        "routing.ingressClass=internal-alb",
    ]);
    for flag in ["--routing=alb", "--ingress-class=internal-alb"] {
        assert!(alb.iter().any(|a| a == flag), "{flag} in {alb:?}");
    }
    assert!(
        !alb.iter()
            .any(|a| a.starts_with("--gateway") || a.starts_with("--namespace")),
        "no Gateway without the gateway profile, every namespace by default: {alb:?}"
    );
}

/// Every object `helm template` renders is accepted by the real API server (server-side
/// apply, dry run, strict field validation): the CRDs, RBAC, ServiceAccount, Service and
/// Deployment are valid for Kubernetes v1.36.
#[tokio::test]
async fn chart_rendered_objects_pass_a_server_side_dry_run() {
    let client = harness::client().await;
    let ns = harness::namespace(&client, "chart-dry-run").await;
    let objects = template("dry", &ns, &[]);
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
    ] {
        assert!(
            kinds.contains(&kind),
            "the chart renders a {kind}: {kinds:?}"
        );
    }
    for object in &objects {
        let ar = harness::api_resource(object);
        let name = object["metadata"]["name"].as_str().unwrap();
        let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
            Some(namespace) => {
                assert_eq!(
                    namespace, ns,
                    "{} {name} is in the release namespace",
                    ar.kind
                );
                Api::namespaced_with(client.clone(), namespace, &ar)
            }
            None => Api::all_with(client.clone(), &ar),
        };
        let mut params = PatchParams::apply(harness::TEST_MANAGER).validation_strict();
        params.dry_run = true;
        api.patch(name, &params, &Patch::Apply(object))
            .await
            .unwrap_or_else(|e| panic!("{} {name} is rejected by the API server: {e}", ar.kind));
    }
    harness::delete_namespace(&client, &ns).await;
}

/// A namespace enforcing the `restricted` Pod Security Standard; returns its name.
async fn restricted_namespace(client: &Client, prefix: &str) -> String {
    let ns = harness::namespace(client, prefix).await;
    let nss: Api<Namespace> = Api::all(client.clone());
    let labels = json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }}});
    nss.patch(&ns, &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .expect("label namespace");
    ns
}

/// `helm install` without CRDs (the suite's other tests own the CRDs on the shared cluster)
/// into `ns`, as release `ns`; returns helm's output (with NOTES).
pub(crate) fn install(ns: &str) -> String {
    install_with(ns, &[])
}

/// [`install`] with extra helm arguments (`--set ...`).
fn install_with(ns: &str, extra: &[&str]) -> String {
    let chart = chart_dir();
    let mut args = vec![
        "install",
        ns,
        chart.to_str().unwrap(),
        "--namespace",
        ns,
        "--set",
        "crds.enabled=false",
    ];
    args.extend_from_slice(extra);
    stdout_of(&args, &helm(&args, Some(harness::kubeconfig_path())))
}

pub(crate) fn uninstall(ns: &str) {
    let args = ["uninstall", ns, "--namespace", ns];
    stdout_of(&args, &helm(&args, Some(harness::kubeconfig_path())));
}

/// `helm install` into a namespace that enforces the restricted Pod Security profile: the
/// operator's pods are admitted and become Running and Ready (on kwok nodes, which run no
/// container), while a pod without the chart's security settings is refused there.
#[tokio::test]
async fn chart_installs_and_its_pods_pass_restricted_pod_security_admission() {
    let client = harness::client().await;
    let ns = restricted_namespace(&client, "chart-install").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    // The namespace really enforces the profile: a plain pod is refused.
    let plain: Pod = serde_json::from_value(json!({
        "metadata": {"name": "plain"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    let refused = pods
        .create(&PostParams::default(), &plain)
        .await
        .expect_err("plain pod refused");
    assert!(
        refused
            .to_string()
            .contains("violates PodSecurity \"restricted:latest\""),
        "{refused}"
    );

    let notes = install(&ns);
    assert!(
        notes.contains("kubectl get ecs"),
        "NOTES tell the user what to run next:\n{notes}"
    );

    let selector = format!("app.kubernetes.io/instance={ns}");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        // Pod Security admission refuses pods to the ReplicaSet controller, which reports it
        // as a ReplicaFailure condition: fail at once with the admission's reason.
        for rs in replica_sets
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap()
        {
            let conditions = rs.status.and_then(|s| s.conditions).unwrap_or_default();
            if let Some(failure) = conditions
                .iter()
                .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
            {
                panic!(
                    "the operator's pods were refused: {}",
                    failure.message.as_deref().unwrap_or_default()
                );
            }
        }
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap();
        let ready = list.items.iter().filter(|p| {
            let status = p.status.as_ref();
            status.and_then(|s| s.phase.as_deref()) == Some("Running")
                && status
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        if ready.count() == 2 {
            break;
        }
        let phases: Vec<_> = list
            .items
            .iter()
            .map(|p| {
                (
                    p.metadata.name.clone(),
                    p.status.as_ref().and_then(|s| s.phase.clone()),
                )
            })
            .collect();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the chart's 2 operator pods did not become Running and Ready within 120 s: {phases:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    uninstall(&ns);
    harness::delete_namespace(&client, &ns).await;
}

/// Whether the API server would allow the ServiceAccount `sa` of `ns` to `verb` on
/// `group/resource[/subresource][:name]` in `namespace` (None: cluster-wide).
async fn allowed(
    client: &Client,
    ns: &str,
    sa: &str,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) -> bool {
    let (resource, name) = resource
        .split_once(':')
        .map_or((resource, None), |(r, n)| (r, Some(n)));
    let (group, resource) = resource.split_once('/').expect("group/resource");
    let (resource, subresource) = resource
        .split_once('/')
        .map_or((resource, None), |(r, s)| (r, Some(s)));
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": format!("system:serviceaccount:{ns}:{sa}"),
            "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{ns}"), "system:authenticated"],
            "resourceAttributes": {
                "group": group, "resource": resource, "subresource": subresource,
                "verb": verb, "namespace": namespace, "name": name,
            }
        }
    }))
    .unwrap();
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .expect("SubjectAccessReview");
    answer.status.expect("status").allowed
}

/// The installed RBAC lets the operator's ServiceAccount do what the operator does (watch
/// the ecsplane kinds, patch their status, apply and delete their children, hold the Lease
/// named in its namespace, write events), and nothing next to it: no writes to the user's
/// objects, no Secrets or ConfigMaps, no other Lease, no `update` but the Lease's.
#[tokio::test]
async fn chart_rbac_grants_the_operators_verbs_and_nothing_beside_them() {
    let client = harness::client().await;
    let ns = harness::namespace(&client, "chart-rbac").await;
    install(&ns);
    let sa = format!("{ns}-ecsplane");
    let other = Some("default");
    let grants = [
        ("watch", "ecsplane.io/ecsservices", other),
        ("list", "ecsplane.io/taskdefinitions", None),
        ("patch", "ecsplane.io/ecstasks/status", other),
        ("patch", "ecsplane.io/ecsclusters/status", other),
        ("watch", "ecsplane.io/ecsscheduledtasks", other),
        ("patch", "ecsplane.io/ecsscheduledtasks/status", other),
        ("create", "batch/cronjobs", other),
        ("patch", "batch/cronjobs", other),
        ("delete", "batch/cronjobs", other),
        ("watch", "batch/cronjobs", None),
        ("create", "apps/deployments", other),
        ("delete", "apps/daemonsets", other),
        ("watch", "apps/replicasets", None),
        ("patch", "/services", other),
        ("delete", "/pods", other),
        ("create", "autoscaling/horizontalpodautoscalers", other),
        ("patch", "networking.k8s.io/ingresses", other),
        ("create", "gateway.networking.k8s.io/httproutes", other),
        ("list", "/nodes", None),
        ("create", "events.k8s.io/events", other),
        (
            "get",
            "coordination.k8s.io/leases:ecsplane-leader",
            Some(ns.as_str()),
        ),
        (
            "update",
            "coordination.k8s.io/leases:ecsplane-leader",
            Some(ns.as_str()),
        ),
        ("create", "coordination.k8s.io/leases", Some(ns.as_str())),
    ];
    for (verb, resource, namespace) in grants {
        assert!(
            allowed(&client, &ns, &sa, verb, resource, namespace).await,
            "{verb} {resource} in {namespace:?} is granted"
        );
    }
    let refusals = [
        ("create", "ecsplane.io/ecsservices", other),
        ("patch", "ecsplane.io/taskdefinitions", other),
        ("delete", "ecsplane.io/ecstasks", other),
        ("patch", "ecsplane.io/ecsscheduledtasks", other),
        ("update", "ecsplane.io/ecsscheduledtasks/status", other),
        ("update", "batch/cronjobs", other),
        ("create", "batch/jobs", other),
        ("update", "ecsplane.io/ecsservices/status", other),
        ("update", "apps/deployments", other),
        ("create", "apps/replicasets", other),
        ("get", "/secrets", other),
        ("list", "/configmaps", None),
        ("patch", "/nodes", None),
        ("get", "coordination.k8s.io/leases:ecsplane-leader", other),
        (
            "update",
            "coordination.k8s.io/leases:another-lease",
            Some(ns.as_str()),
        ),
        (
            "patch",
            "coordination.k8s.io/leases:ecsplane-leader",
            Some(ns.as_str()),
        ),
        ("list", "coordination.k8s.io/leases", Some(ns.as_str())),
        (
            "delete",
            "coordination.k8s.io/leases:ecsplane-leader",
            Some(ns.as_str()),
        ),
        ("create", "rbac.authorization.k8s.io/clusterroles", None),
        ("create", "/events", other),
    ];
    for (verb, resource, namespace) in refusals {
        assert!(
            !allowed(&client, &ns, &sa, verb, resource, namespace).await,
            "{verb} {resource} in {namespace:?} is refused"
        );
    }
    uninstall(&ns);
    harness::delete_namespace(&client, &ns).await;
}

/// [`process::http_get`] with the body trimmed; `None` while nothing listens.
fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    process::http_get(address, path).map(|(status, body)| (status, body.trim().to_owned()))
}

/// A kubeconfig for the test cluster that authenticates with a token of the chart's
/// ServiceAccount `sa` in `ns`, and so has exactly the chart's permissions.
async fn service_account_kubeconfig(client: &Client, ns: &str, sa: &str, path: &Path) {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let token = accounts
        .create_token_request(sa, &PostParams::default(), &request)
        .await
        .expect("a token of the chart's ServiceAccount")
        .status
        .expect("token status")
        .token;
    let admin = Kubeconfig::read_from(harness::kubeconfig_path()).expect("read the kubeconfig");
    let cluster = admin.clusters[0].cluster.as_ref().expect("cluster");
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {
            "server": cluster.server,
            "certificate-authority-data": cluster.certificate_authority_data,
        }}],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": "chart", "context": {"cluster": "test", "user": sa, "namespace": ns}}],
        "current-context": "chart",
    });
    std::fs::write(path, serde_json::to_string(&kubeconfig).unwrap()).expect("write kubeconfig");
}

/// `ecsplane run` started as the chart's Deployment runs it, out of cluster: the container
/// args the chart renders, with free loopback ports for the endpoints, the Lease in `ns` (out
/// of a cluster its namespace cannot come from the service account mount) and `kubeconfig`.
/// Killed when dropped, so a failing test leaves no process behind.
struct RunningOperator {
    child: Child,
    health: SocketAddr,
    log: PathBuf,
}

impl RunningOperator {
    fn start(deployment: &Value, ns: &str, kubeconfig: &Path, dir: &Path) -> Self {
        let mut args: Vec<String> = serde_json::from_value(
            deployment["spec"]["template"]["spec"]["containers"][0]["args"].clone(),
        )
        .expect("the container's args are strings");
        let (metrics, health) = (process::free_port(), process::free_port());
        for arg in &mut args {
            if arg.starts_with("--metrics-bind-address=") {
                *arg = format!("--metrics-bind-address={metrics}");
            } else if arg.starts_with("--health-probe-bind-address=") {
                *arg = format!("--health-probe-bind-address={health}");
            }
        }
        args.push(format!("--leader-election-namespace={ns}"));
        args.push(format!("--kubeconfig={}", kubeconfig.display()));
        let log = dir.join("ecsplane.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ecsplane"))
            .args(&args)
            .env_remove("KUBECONFIG")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log file"))
            .spawn()
            .expect("start ecsplane run");
        RunningOperator { child, health, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until /readyz answers `ready` (the leader's controllers have listed every
    /// watch); panics if the process exits or 60 s pass first.
    async fn wait_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll ecsplane run") {
                panic!(
                    "ecsplane run exited ({status}) with the chart's permissions:\n{}",
                    self.log_text()
                );
            }
            if http_get(self.health, "/readyz") == Some((200, "ready".to_owned())) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "ecsplane run did not become the ready leader within 60 s; /readyz: {:?}\n{}",
                http_get(self.health, "/readyz"),
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Sends SIGTERM and asserts the process exits 0 within 30 s.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "ecsplane run did not exit within 30 s of SIGTERM:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(
            status.success(),
            "exit status {status}:\n{}",
            self.log_text()
        );
    }
}

impl Drop for RunningOperator {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Held by a test while it runs the chart's cluster-wide operator, and by a test that needs
/// no operator but its own to act in its namespaces.
static CLUSTER_WIDE_OPERATOR: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `ecsplane run --leader-elect` with nothing but the chart's ServiceAccount token (the
/// chart's ClusterRole and leader-election Role, out of cluster, with the chart's flags):
/// it acquires the Lease, becomes ready as the leader, and on SIGTERM releases the Lease and
/// exits 0. The controllers' watches grow with the operator; a watch the ClusterRole does not
/// allow would keep /readyz from answering `ready`.
#[tokio::test]
async fn chart_service_account_is_enough_for_ecsplane_run_to_lead_and_release_its_lease() {
    let _alone = CLUSTER_WIDE_OPERATOR.lock().await;
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "chart-run").await;
    install(&ns);
    let sa = format!("{ns}-ecsplane");
    let dir = std::env::temp_dir().join(format!("ecsplane-test-{ns}"));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    service_account_kubeconfig(&client, &ns, &sa, &kubeconfig).await;

    let deployment = of_kind(&template(&ns, &ns, &[]), "Deployment")[0].clone();
    let mut operator = RunningOperator::start(&deployment, &ns, &kubeconfig, &dir);
    operator.wait_ready().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let lease = leases
        .get("ecsplane-leader")
        .await
        .expect("the Lease was created");
    let holder = lease
        .spec
        .and_then(|s| s.holder_identity)
        .unwrap_or_default();
    assert!(!holder.is_empty(), "the operator holds the Lease");

    operator.stop();
    let released = leases.get("ecsplane-leader").await.unwrap();
    assert_eq!(
        released
            .spec
            .and_then(|s| s.holder_identity)
            .unwrap_or_default(),
        "",
        "the Lease was released with the chart's permissions:\n{}",
        operator.log_text()
    );
    uninstall(&ns);
    harness::delete_namespace(&client, &ns).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--set watchNamespaces={A,B}`.
fn watch_namespaces(namespaces: &[&str]) -> String {
    format!("watchNamespaces={{{}}}", namespaces.join(","))
}

/// Whether `group/resource` (a subresource counts as its resource) is namespaced, as the
/// API server's discovery says.
async fn is_namespaced(client: &Client, group: &str, resource: &str) -> bool {
    let base = resource.split('/').next().unwrap_or(resource);
    if group == "external.metrics.k8s.io" {
        // Served only where an external metrics adapter runs (not on the test cluster); its
        // metrics are namespaced by the API's definition (namespaces/NS/METRIC).
        return true;
    }
    let api_group = kube::discovery::group(client, group)
        .await
        .unwrap_or_else(|e| panic!("discovery of API group {group:?}: {e}"));
    let (_, caps) = api_group
        .recommended_resources()
        .into_iter()
        .find(|(ar, _)| ar.plural == base)
        .unwrap_or_else(|| panic!("{group}/{base} is not served"));
    caps.scope == Scope::Namespaced
}

/// The `(apiGroup, resource)` pairs of a list of RBAC rules.
fn rule_resources(rules: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for rule in rules.as_array().expect("rules is a list") {
        for group in rule["apiGroups"].as_array().expect("apiGroups") {
            for resource in rule["resources"].as_array().expect("resources") {
                pairs.push((
                    group.as_str().unwrap().to_owned(),
                    resource.as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    pairs
}

/// A namespaced install (`watchNamespaces: [A, B]`): every rule on a namespaced kind is in a
/// Role in A and in B, exactly the cluster-wide install's rules on those kinds, bound to the
/// operator's ServiceAccount; the only ClusterRole reads Nodes (cluster-scoped, as the API
/// server's discovery confirms) and nothing else; the operator is told to watch A and B; and
/// every object passes a server-side dry run.
#[tokio::test]
async fn chart_namespaced_install_puts_every_namespaced_rule_in_a_role_per_watched_namespace() {
    let client = harness::client().await;
    // Discovery must know the ecsplane and Gateway API kinds to tell their scope.
    harness::install_crds(&client).await;
    crate::render::install_gateway_api(&client).await;
    let rel = harness::namespace(&client, "chart-ns-dry").await;
    let a = harness::namespace(&client, "team-a").await;
    let b = harness::namespace(&client, "team-b").await;
    let set = watch_namespaces(&[&a, &b]);
    let objects = template("dry", &rel, &["--set", &set]);

    let cluster_roles = of_kind(&objects, "ClusterRole");
    assert_eq!(cluster_roles.len(), 1, "one ClusterRole");
    for (group, resource) in rule_resources(&cluster_roles[0]["rules"]) {
        assert!(
            !is_namespaced(&client, &group, &resource).await,
            "the ClusterRole of a namespaced install grants the namespaced {group}/{resource}"
        );
    }
    assert_eq!(
        cluster_roles[0]["rules"],
        json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]),
        "Nodes, read only"
    );
    let cluster_binding = of_kind(&objects, "ClusterRoleBinding")[0];
    assert_eq!(
        cluster_binding["roleRef"]["name"],
        cluster_roles[0]["metadata"]["name"]
    );

    // The Roles hold exactly the cluster-wide install's rules on namespaced kinds.
    let cluster_wide = template("dry", &rel, &[]);
    let all_rules = of_kind(&cluster_wide, "ClusterRole")[0]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let mut namespaced_rules = Vec::new();
    for rule in all_rules {
        let (group, resource) = rule_resources(&json!([rule.clone()])).remove(0);
        if is_namespaced(&client, &group, &resource).await {
            namespaced_rules.push(rule);
        }
    }
    assert!(namespaced_rules.len() >= 10, "{namespaced_rules:?}");
    let sa = json!([{"kind": "ServiceAccount", "name": "dry-ecsplane", "namespace": rel}]);
    for ns in [&a, &b] {
        let in_ns = |kind: &str| {
            of_kind(&objects, kind)
                .into_iter()
                .filter(|o| o["metadata"]["namespace"] == ns.as_str())
                .collect::<Vec<_>>()
        };
        let roles = in_ns("Role");
        assert_eq!(roles.len(), 1, "one Role in {ns}");
        assert_eq!(
            roles[0]["rules"],
            Value::Array(namespaced_rules.clone()),
            "{ns}: the Role has exactly the namespaced rules"
        );
        let bindings = in_ns("RoleBinding");
        assert_eq!(bindings.len(), 1, "one RoleBinding in {ns}");
        assert_eq!(bindings[0]["roleRef"]["name"], roles[0]["metadata"]["name"]);
        assert_eq!(bindings[0]["subjects"], sa);
    }
    for role in of_kind(&objects, "Role") {
        let ns = role["metadata"]["namespace"].as_str().unwrap();
        assert!(
            ns == a
                || ns == b
                || (ns == rel && role["metadata"]["name"] == "dry-ecsplane-leader-election"),
            "no Role outside the watched namespaces but leader election's: {role}"
        );
    }
    let deployment = of_kind(&objects, "Deployment")[0];
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(
        args.contains(&json!(format!("--namespace={a},{b}"))),
        "{args:?}"
    );

    for object in &objects {
        let ar = harness::api_resource(object);
        let name = object["metadata"]["name"].as_str().unwrap();
        let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let mut params = PatchParams::apply(harness::TEST_MANAGER).validation_strict();
        params.dry_run = true;
        api.patch(name, &params, &Patch::Apply(object))
            .await
            .unwrap_or_else(|e| panic!("{} {name} is rejected by the API server: {e}", ar.kind));
    }
    for ns in [&rel, &a, &b] {
        harness::delete_namespace(&client, ns).await;
    }
}

/// SubjectAccessReviews (`kubectl auth can-i`) for the ServiceAccount of an install watching
/// team-a and team-b: it may do the operator's work there, nothing of it in team-c,
/// kube-system or cluster-wide, never read Secrets, and read Nodes.
#[tokio::test]
async fn chart_namespaced_install_grants_nothing_outside_its_namespaces() {
    let client = harness::client().await;
    let rel = harness::namespace(&client, "chart-ns-rbac").await;
    let a = harness::namespace(&client, "team-a").await;
    let b = harness::namespace(&client, "team-b").await;
    let c = harness::namespace(&client, "team-c").await;
    install_with(&rel, &["--set", &watch_namespaces(&[&a, &b])]);
    let sa = format!("{rel}-ecsplane");
    let work = [
        ("patch", "apps/deployments"),
        ("delete", "apps/daemonsets"),
        ("create", "/pods"),
        ("patch", "/serviceaccounts"),
        ("patch", "/services"),
        ("watch", "ecsplane.io/ecsservices"),
        ("patch", "ecsplane.io/ecsservices/status"),
        ("watch", "ecsplane.io/ecsscheduledtasks"),
        ("patch", "ecsplane.io/ecsscheduledtasks/status"),
        ("patch", "batch/cronjobs"),
        ("delete", "batch/cronjobs"),
        ("create", "events.k8s.io/events"),
        ("list", "discovery.k8s.io/endpointslices"),
    ];
    for ns in [&a, &b] {
        for (verb, resource) in work {
            assert!(
                allowed(&client, &rel, &sa, verb, resource, Some(ns)).await,
                "{verb} {resource} in watched {ns} is granted"
            );
        }
    }
    for ns in [Some(c.as_str()), Some("kube-system"), Some("default"), None] {
        for (verb, resource) in work {
            assert!(
                !allowed(&client, &rel, &sa, verb, resource, ns).await,
                "{verb} {resource} in {ns:?} is refused"
            );
        }
    }
    for ns in [
        Some(a.as_str()),
        Some(b.as_str()),
        Some(c.as_str()),
        Some("kube-system"),
        None,
    ] {
        for verb in ["get", "list", "watch"] {
            assert!(
                !allowed(&client, &rel, &sa, verb, "/secrets", ns).await,
                "{verb} secrets in {ns:?} is refused"
            );
        }
    }
    for verb in ["get", "list", "watch"] {
        assert!(
            allowed(&client, &rel, &sa, verb, "/nodes", None).await,
            "{verb} nodes is granted"
        );
    }
    assert!(!allowed(&client, &rel, &sa, "patch", "/nodes", None).await);
    assert!(
        allowed(
            &client,
            &rel,
            &sa,
            "update",
            "coordination.k8s.io/leases:ecsplane-leader",
            Some(&rel)
        )
        .await,
        "leader election still works in the release namespace"
    );
    uninstall(&rel);
    for ns in [&rel, &a, &b, &c] {
        harness::delete_namespace(&client, ns).await;
    }
}

/// A one-container TaskDefinition and an EcsService running one task of it.
fn web_service() -> [Value; 2] {
    [
        json!({
            "apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": "web"},
            "spec": {"family": "web", "containerDefinitions": [{
                "name": "app", "image": "public.ecr.aws/docker/library/busybox:1.36",
                "command": ["sleep", "infinity"], "cpu": 128, "memory": 128,
            }]}
        }),
        json!({
            "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
            "metadata": {"name": "web"},
            "spec": {"taskDefinition": "web", "desiredCount": 1},
        }),
    ]
}

/// The chart's operator, installed for team-a and team-b and run with nothing but its
/// ServiceAccount's token and the chart's args: an EcsService in team-a and one in team-b
/// become Ready with their task running; the same EcsService in team-c gets no Deployment
/// and no status, and the token gets 403 there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_namespaced_operator_reconciles_its_namespaces_and_nothing_elsewhere() {
    // No cluster-wide operator may run meanwhile: it would act in team-c.
    let _alone = CLUSTER_WIDE_OPERATOR.lock().await;
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let rel = harness::namespace(&client, "chart-ns-run").await;
    let a = harness::namespace(&client, "team-a").await;
    let b = harness::namespace(&client, "team-b").await;
    let c = harness::namespace(&client, "team-c").await;
    let set = watch_namespaces(&[&a, &b]);
    install_with(&rel, &["--set", &set]);
    let dir = std::env::temp_dir().join(format!("ecsplane-test-{rel}"));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    service_account_kubeconfig(&client, &rel, &format!("{rel}-ecsplane"), &kubeconfig).await;
    for ns in [&a, &b, &c] {
        for doc in web_service() {
            harness::apply(&client, ns, &doc, false)
                .await
                .unwrap_or_else(|e| panic!("apply {} in {ns}: {e}", doc["kind"]));
        }
    }

    let deployment = of_kind(&template(&rel, &rel, &["--set", &set]), "Deployment")[0].clone();
    let mut operator = RunningOperator::start(&deployment, &rel, &kubeconfig, &dir);
    operator.wait_ready().await;
    for ns in [&a, &b] {
        let services: Api<EcsService> = Api::namespaced(client.clone(), ns);
        eventually(
            &format!("EcsService {ns}/web Ready with its task running"),
            CONVERGE,
            || {
                let services = services.clone();
                async move {
                    let s = services.get("web").await.map_err(|e| e.to_string())?;
                    let st = s.status.unwrap_or_default();
                    let ready = condition(&st.common.conditions, "Ready");
                    if ready.starts_with("True") && st.running_count == Some(1) {
                        Ok(())
                    } else {
                        Err(format!("Ready {ready}, running {:?}", st.running_count))
                    }
                }
            },
        )
        .await;
    }

    // team-c: the operator does not even watch it, and its token could do nothing there.
    let in_c: Api<EcsService> = Api::namespaced(client.clone(), &c);
    let untouched = in_c.get("web").await.unwrap();
    assert!(
        untouched.status.is_none(),
        "no status is written outside the watched namespaces: {:?}",
        untouched.status
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &c);
    assert!(
        deployments
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "no Deployment is created outside the watched namespaces"
    );
    let token = token_client(&kubeconfig).await;
    for result in [
        Api::<Deployment>::namespaced(token.clone(), &c)
            .list(&ListParams::default())
            .await
            .map(|_| ()),
        Api::<EcsService>::namespaced(token.clone(), &c)
            .list(&ListParams::default())
            .await
            .map(|_| ()),
        Api::<Deployment>::all(token.clone())
            .list(&ListParams::default())
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(kube::Error::Api(status)) if status.code == 403 => {}
            other => {
                panic!("the ServiceAccount's token is refused outside team-a and team-b: {other:?}")
            }
        }
    }

    operator.stop();
    assert!(
        !operator.log_text().to_lowercase().contains("forbidden"),
        "the operator never ran into its permissions:\n{}",
        operator.log_text()
    );
    uninstall(&rel);
    for ns in [&rel, &a, &b, &c] {
        harness::delete_namespace(&client, ns).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client that authenticates as `kubeconfig` (written by [`service_account_kubeconfig`]).
async fn token_client(kubeconfig: &Path) -> Client {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).expect("read the ServiceAccount kubeconfig"),
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("load the ServiceAccount kubeconfig");
    Client::try_from(config).expect("build a client")
}
