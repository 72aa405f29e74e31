//! Never touch what is not ours (issue 13): on the real control plane, objects the operator
//! did not create keep every byte (their resourceVersion) when an ECS object would produce a
//! child of the same name, the ECS object says so (`Ready=False`, reason `ChildConflict`, a
//! Warning Event), and deleting it deletes nothing of theirs. Adoption is opt-in by an
//! annotation on the existing object; pruning follows controller owner references, not
//! labels; an EcsTask with a task role runs as a ServiceAccount of its own.

use std::time::Duration;

use ecsplane::api::{EcsService, EcsTask};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::harness;
use crate::operator::{CONVERGE, Operator, apply_all, condition, eventually, test_namespace};

fn task_definition(name: &str, task_role: Option<&str>) -> Value {
    let mut spec = json!({
        "family": name,
        "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "memory": 128}],
    });
    if let Some(role) = task_role {
        spec["taskRoleArn"] = json!(role);
    }
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": name},
        "spec": spec,
    })
}

fn service(name: &str) -> Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": name},
        "spec": {"serviceName": name, "taskDefinition": name, "desiredCount": 1},
    })
}

/// Waits for the EcsService's Ready condition to be False with reason ChildConflict and
/// returns its message.
async fn conflict_condition(client: &Client, ns: &str, name: &str) -> String {
    let api: Api<EcsService> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("EcsService {name} Ready=False ChildConflict"),
        CONVERGE,
        || {
            let api = api.clone();
            async move {
                let s = api.get(name).await.map_err(|e| e.to_string())?;
                let st = s.status.unwrap_or_default();
                let c = st.common.conditions.iter().find(|c| c.type_ == "Ready");
                match c {
                    Some(c) if c.status == "False" && c.reason == "ChildConflict" => {
                        Ok(c.message.clone())
                    }
                    _ => Err(condition(&st.common.conditions, "Ready")),
                }
            }
        },
    )
    .await
}

/// The Warning Events with reason ChildConflict about the object named `name`.
async fn conflict_events(client: &Client, ns: &str, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    eventually("a ChildConflict Warning Event", CONVERGE, || {
        let events = events.clone();
        async move {
            let list = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            let notes: Vec<String> = list
                .items
                .into_iter()
                .filter(|e| {
                    e.reason.as_deref() == Some("ChildConflict")
                        && e.type_.as_deref() == Some("Warning")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                })
                .filter_map(|e| e.note)
                .collect();
            if notes.is_empty() {
                Err("none yet".into())
            } else {
                Ok(notes)
            }
        }
    })
    .await
}

/// `now` is `before` with nothing of ecsplane's: the same spec (generation), labels and
/// owner references, and no field owned by the `ecsplane` manager (the deployment
/// controller's own annotation and status writes are its business).
fn assert_untouched(now: &Deployment, before: &Deployment) {
    assert_eq!(now.metadata.generation, before.metadata.generation);
    assert_eq!(now.metadata.labels, before.metadata.labels);
    assert_eq!(now.metadata.owner_references, None);
    let managers: Vec<&str> = now
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.as_deref())
        .collect();
    assert!(!managers.contains(&"ecsplane"), "{managers:?}");
}

/// A ServiceAccount and a Deployment made by somebody else, with the names two new
/// EcsServices would use, are left exactly as they were (same resourceVersion), the services
/// report the conflict, and deleting the services deletes neither.
#[tokio::test(flavor = "multi_thread")]
async fn objects_that_are_not_ours_are_never_written_or_deleted_and_the_conflict_is_reported() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "own-conflict").await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    // Somebody's ServiceAccount "billing" (its token would go to the pods) and Deployment "api".
    let sa: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "billing", "annotations": {"team": "payments"}},
    }))
    .unwrap();
    let sa = sas.create(&PostParams::default(), &sa).await.unwrap();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "api", "labels": {"app": "theirs"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "theirs"}},
            "template": {
                "metadata": {"labels": {"app": "theirs"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }))
    .unwrap();
    let deployment = deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let operator = Operator::start(&client, &ns);
    apply_all(
        &client,
        &ns,
        &[
            task_definition("billing", Some("arn:aws:iam::123456789012:role/billing")),
            service("billing"),
            task_definition("api", None),
            service("api"),
        ],
    )
    .await;

    let message = conflict_condition(&client, &ns, "billing").await;
    assert!(
        message.contains("ServiceAccount billing already exists"),
        "{message}"
    );
    let message = conflict_condition(&client, &ns, "api").await;
    assert!(
        message.contains("Deployment api already exists"),
        "{message}"
    );
    let notes = conflict_events(&client, &ns, "billing").await;
    assert!(
        notes.iter().any(|n| n.contains("ServiceAccount billing")),
        "{notes:?}"
    );
    // Nothing of the billing service was written: no Deployment runs as their account.
    assert!(deployments.get_opt("billing").await.unwrap().is_none());

    // A few more reconciles (resync, pod events) change nothing of theirs.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let sa_now = sas.get("billing").await.unwrap();
    assert_eq!(sa_now.resource_version(), sa.resource_version());
    assert_eq!(sa_now.metadata.owner_references, None);
    // Their Deployment's status moves with its pods (the deployment controller writes it), so
    // its spec is checked by generation, and no write of ours by the field managers.
    let d_now = deployments.get("api").await.unwrap();
    assert_untouched(&d_now, &deployment);

    // Deleting the EcsServices deletes nothing of theirs.
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    for name in ["billing", "api"] {
        services
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    eventually("the EcsServices are gone", CONVERGE, || {
        let services = services.clone();
        async move {
            let left = services
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?
                .items
                .len();
            if left == 0 {
                Ok(())
            } else {
                Err(format!("{left} left"))
            }
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sas.get("billing").await.unwrap().resource_version(),
        sa.resource_version()
    );
    assert_untouched(&deployments.get("api").await.unwrap(), &deployment);
    operator.stop().await;
}

/// An existing object annotated `ecsplane.io/adopt: EcsService/NAME` is adopted by that
/// service (it gets the controller reference and the role); an object that only carries the
/// owner label is not ours and is never pruned.
#[tokio::test(flavor = "multi_thread")]
async fn adoption_is_opt_in_by_annotation_and_pruning_follows_controller_references() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "own-adopt").await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let sa: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "worker", "annotations": {"ecsplane.io/adopt": "EcsService/worker"}},
    }))
    .unwrap();
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let operator = Operator::start(&client, &ns);
    apply_all(
        &client,
        &ns,
        &[
            task_definition("worker", Some("arn:aws:iam::123456789012:role/worker")),
            service("worker"),
        ],
    )
    .await;
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let svc = eventually("the worker service Ready", CONVERGE, || {
        let services = services.clone();
        async move {
            let s = services.get("worker").await.map_err(|e| e.to_string())?;
            let st = s.status.clone().unwrap_or_default();
            let ready = condition(&st.common.conditions, "Ready");
            if ready.starts_with("True") {
                Ok(s)
            } else {
                Err(ready)
            }
        }
    })
    .await;
    let adopted = sas.get("worker").await.unwrap();
    let owner = adopted
        .owner_references()
        .iter()
        .find(|r| r.controller == Some(true))
        .expect("the adopted ServiceAccount has a controller reference");
    assert_eq!(Some(&owner.uid), svc.metadata.uid.as_ref());
    assert_eq!(
        adopted
            .annotations()
            .get("eks.amazonaws.com/role-arn")
            .map(String::as_str),
        Some("arn:aws:iam::123456789012:role/worker")
    );

    // An HPA that merely carries the owner label (anyone can set a label) is not pruned,
    // though the service produces no HPA.
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
    let uid = svc.metadata.uid.clone().unwrap();
    let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
        "metadata": {"name": "theirs", "labels": {"ecsplane.io/owner-uid": uid}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "other"},
            "minReplicas": 1, "maxReplicas": 2,
        },
    }))
    .unwrap();
    let hpa = hpas.create(&PostParams::default(), &hpa).await.unwrap();
    // Make the service reconcile again (a spec change) and give it time to prune.
    let mut changed = service("worker");
    changed["spec"]["desiredCount"] = json!(2);
    apply_all(&client, &ns, &[changed]).await;
    eventually("the service applies desiredCount 2", CONVERGE, || {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
        async move {
            let d = deployments.get("worker").await.map_err(|e| e.to_string())?;
            let r = d.spec.and_then(|s| s.replicas);
            if r == Some(2) {
                Ok(())
            } else {
                Err(format!("replicas {r:?}"))
            }
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = hpas
        .get("theirs")
        .await
        .expect("the labelled HPA is not pruned");
    assert_eq!(still.resource_version(), hpa.resource_version());
    operator.stop().await;
}

/// An EcsTask whose task definition has a task role gets a ServiceAccount of its own
/// (owned by the task, with the IRSA role) and its pod runs as it.
#[tokio::test(flavor = "multi_thread")]
async fn an_ecs_task_with_a_task_role_runs_as_its_own_service_account() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "own-task").await;
    let operator = Operator::start(&client, &ns);
    apply_all(
        &client,
        &ns,
        &[
            task_definition("report", Some("arn:aws:iam::123456789012:role/report")),
            json!({
                "apiVersion": "ecsplane.io/v1alpha1",
                "kind": "EcsTask",
                "metadata": {"name": "nightly"},
                "spec": {"taskDefinition": "report"},
            }),
        ],
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod = eventually("the task's pod", CONVERGE, || {
        let pods = pods.clone();
        async move {
            pods.get_opt("nightly-0")
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "no pod yet".to_owned())
        }
    })
    .await;
    let account = pod
        .spec
        .and_then(|s| s.service_account_name)
        .expect("the pod names its ServiceAccount");
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let sa = sas
        .get(&account)
        .await
        .expect("the task's ServiceAccount exists");
    assert_ne!(account, "default");
    assert_eq!(
        sa.annotations()
            .get("eks.amazonaws.com/role-arn")
            .map(String::as_str),
        Some("arn:aws:iam::123456789012:role/report")
    );
    let tasks: Api<EcsTask> = Api::namespaced(client.clone(), &ns);
    let task = tasks.get("nightly").await.unwrap();
    assert!(
        sa.owner_references()
            .iter()
            .any(|r| r.controller == Some(true) && Some(&r.uid) == task.metadata.uid.as_ref()),
        "the ServiceAccount is controlled by the EcsTask"
    );
    operator.stop().await;
}

/// Under the operator's default security policy (restricted) a service whose task definition
/// asks for the node is not run: `Ready=False`, reason `PolicyViolation`, the field named;
/// nothing is created for it.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_level_task_definition_is_refused_by_the_default_policy_naming_the_field() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "own-policy").await;
    let operator = Operator::start(&client, &ns);
    let mut td = task_definition("agent", None);
    td["spec"]["networkMode"] = json!("host");
    td["spec"]["containerDefinitions"][0]["privileged"] = json!(true);
    apply_all(&client, &ns, &[td, service("agent")]).await;
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let message = eventually("Ready=False PolicyViolation", CONVERGE, || {
        let services = services.clone();
        async move {
            let s = services.get("agent").await.map_err(|e| e.to_string())?;
            let st = s.status.unwrap_or_default();
            match st.common.conditions.iter().find(|c| c.type_ == "Ready") {
                Some(c) if c.status == "False" && c.reason == "PolicyViolation" => {
                    Ok(c.message.clone())
                }
                _ => Err(condition(&st.common.conditions, "Ready")),
            }
        }
    })
    .await;
    assert!(message.contains("spec.networkMode"), "{message}");
    assert!(
        message.contains("spec.containerDefinitions[app].privileged"),
        "{message}"
    );
    assert!(message.contains("security policy restricted"), "{message}");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    assert!(deployments.get_opt("agent").await.unwrap().is_none());
    operator.stop().await;
}
