//! Faults survived, on the real control plane with the real `ecsplane run` binary: a child the
//! API server refuses, a permission missing for a watch, the operator killed mid-rollout, the
//! API server restarted, the operator throttled by API Priority and Fairness. Every test asserts what the operator does and shows (conditions,
//! Events, `/readyz`, metrics, the children it leaves), never how fast; the bounds are
//! generous limits for a loaded two-core machine.
//!
//! The scenario that restarts the API server is in chaos.rs (issue 15, scenario 2), on the
//! control plane of the tests' own it shares with the forced watch expiry.

use std::path::Path;
use std::time::Duration;

use ecsplane::api::{EcsService, TaskDefinition};
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::harness;
use crate::operator::{CONVERGE, condition, eventually, test_namespace};
use crate::process::{self, Operator};

/// How long the tests wait for `/readyz` to follow a watch that fails or recovers: the
/// readiness window (90 s) plus the watcher's longest backoff (30 s) and slack.
pub(crate) const READINESS: Duration = Duration::from_secs(180);

/// An operator process watching `ns`, with the kubeconfig's identity and `extra` flags.
fn operator(kubeconfig: &Path, ns: &str, extra: &[&str]) -> Operator {
    process::Launch::new("faults", kubeconfig, Some(ns))
        .args(extra)
        .start()
}

/// TaskDefinition `web` running `image` with `MARKER=marker` in its environment.
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

/// EcsService `web` of `count` tasks of `task_definition`, rolling 100/200 %.
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

/// Applies `doc` into `ns` (panics on failure).
pub(crate) async fn apply(client: &Client, ns: &str, doc: serde_json::Value) {
    harness::apply(client, ns, &doc, false)
        .await
        .unwrap_or_else(|e| panic!("apply {} {}: {e}", doc["kind"], doc["metadata"]["name"]));
}

/// Waits until the service is Ready (steady) running `revision` with `count` tasks, in one
/// deployment: the status names the new revision, and counts the old deployment's tasks, as
/// soon as a rollout starts, so steady also means the old deployment is gone.
async fn steady(client: &Client, ns: &str, revision: &str, count: i32) -> EcsService {
    let services: Api<EcsService> = Api::namespaced(client.clone(), ns);
    eventually(&format!("web steady on {revision}"), CONVERGE, || {
        let services = services.clone();
        async move {
            let s = services.get("web").await.map_err(|e| e.to_string())?;
            let st = s.status.clone().unwrap_or_default();
            let ready = condition(&st.common.conditions, "Ready");
            let one = st.deployments.len() == 1
                && st.deployments[0].task_definition.as_deref() == Some(revision);
            if ready.starts_with("True")
                && st.task_definition.as_deref() == Some(revision)
                && st.running_count == Some(count)
                && one
            {
                Ok(s)
            } else {
                Err(format!(
                    "Ready {ready}, runs {:?}, running {:?}, deployments {:?}",
                    st.task_definition,
                    st.running_count,
                    st.deployments
                        .iter()
                        .map(|d| (&d.status, &d.task_definition))
                        .collect::<Vec<_>>()
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
    let op = operator(harness::kubeconfig_path(), &ns, &[]);
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
    let role = process::grant_all_but_gateway(&client, &ns, &["ecsplane"]).await;
    let kubeconfig = process::impersonating_kubeconfig(harness::kubeconfig_path(), &ns, "ecsplane");
    let op = operator(&kubeconfig, &ns, &["--routing=gateway"]);

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
    let mut op = operator(harness::kubeconfig_path(), &ns, &[]);
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
    let mut op = op.again();
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
    let role = process::grant_all_but_gateway(&client, &ns, &["ecsplane"]).await;
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

    let kubeconfig = process::impersonating_kubeconfig(harness::kubeconfig_path(), &ns, "ecsplane");
    let op = operator(&kubeconfig, &ns, &[]);
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
