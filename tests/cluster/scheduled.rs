//! EcsScheduledTask on the real control plane: the operator applies the CronJob built from the
//! task definition, the controller-manager's cronjob controller starts a Job on the schedule,
//! its pod runs (and completes) on a kwok node, the status reports the run, and deleting the
//! EcsScheduledTask takes the CronJob with it. A CronJob of the same name made by somebody
//! else is never taken over.
//!
//! Cost: one run of `rate(1 minute)` (at most a minute until the next minute starts, then a
//! few seconds for kwok to complete the pod) and a conflict test of a few seconds.

use ecsplane::api::EcsScheduledTask;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::harness;
use crate::operator::{CONVERGE, Operator, apply_all, condition, eventually, test_namespace};

fn task_definition() -> Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "report"},
        "spec": {
            "family": "report",
            "containerDefinitions": [{
                "name": "app",
                "image": "example/report:2.0",
                "command": ["report", "--daily"],
                "memory": 128,
            }],
        },
    })
}

fn scheduled_task(name: &str, expression: &str) -> Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "EcsScheduledTask",
        "metadata": {"name": name},
        "spec": {"scheduleExpression": expression, "taskDefinition": "report"},
    })
}

/// Waits for the EcsScheduledTask's `Ready` condition to have `status` and `reason`; returns
/// the object.
async fn ready_with(
    client: &Client,
    ns: &str,
    name: &str,
    status: &str,
    reason: &str,
) -> EcsScheduledTask {
    let api: Api<EcsScheduledTask> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("EcsScheduledTask {name} Ready={status} {reason}"),
        CONVERGE,
        || {
            let api = api.clone();
            async move {
                let t = api.get(name).await.map_err(|e| e.to_string())?;
                let st = t.status.clone().unwrap_or_default();
                match st.common.conditions.iter().find(|c| c.type_ == "Ready") {
                    Some(c) if c.status == status && c.reason == reason => Ok(t),
                    _ => Err(condition(&st.common.conditions, "Ready")),
                }
            }
        },
    )
    .await
}

/// `rate(1 minute)`: applied before its task definition it waits (`TaskDefinitionNotFound`)
/// and is woken when the family registers; the CronJob runs the task definition's container
/// every minute in UTC, controlled by the EcsScheduledTask; the cronjob controller's Job runs
/// one pod that kwok completes; the status shows the schedule, the run and its success; a new
/// revision of the family reaches the CronJob; deleting the EcsScheduledTask deletes the
/// CronJob.
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_task_runs_its_task_from_a_cron_job_and_takes_it_along_when_deleted() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "scheduled").await;
    let operator = Operator::start(&client, &ns);
    // Before its task definition: it waits, and is woken when the family registers.
    apply_all(
        &client,
        &ns,
        &[scheduled_task("every-minute", "rate(1 minute)")],
    )
    .await;
    ready_with(
        &client,
        &ns,
        "every-minute",
        "False",
        "TaskDefinitionNotFound",
    )
    .await;
    apply_all(&client, &ns, &[task_definition()]).await;

    let cron_jobs: Api<CronJob> = Api::namespaced(client.clone(), &ns);
    let cron = eventually("the CronJob", CONVERGE, || {
        let cron_jobs = cron_jobs.clone();
        async move {
            cron_jobs
                .get_opt("every-minute")
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "no CronJob yet".to_owned())
        }
    })
    .await;
    assert_eq!(cron.spec.schedule, "* * * * *");
    assert_eq!(cron.spec.time_zone.as_deref(), Some("Etc/UTC"));
    let pod_spec = cron
        .spec
        .job_template
        .spec
        .as_ref()
        .and_then(|j| j.template.spec.as_ref())
        .expect("the Job template has a pod spec");
    let container = &pod_spec.containers[0];
    assert_eq!(container.name, "app");
    assert_eq!(container.image.as_deref(), Some("example/report:2.0"));
    // ECS's `command` is the container's arguments (`entryPoint` would be its command).
    assert_eq!(container.command, None);
    assert_eq!(
        container.args.as_deref(),
        Some(&["report".to_owned(), "--daily".to_owned()][..])
    );
    let tasks: Api<EcsScheduledTask> = Api::namespaced(client.clone(), &ns);
    let task = tasks
        .get("every-minute")
        .await
        .expect("the EcsScheduledTask");
    assert!(
        cron.owner_references()
            .iter()
            .any(|r| r.controller == Some(true) && Some(&r.uid) == task.metadata.uid.as_ref()),
        "the CronJob is controlled by the EcsScheduledTask"
    );

    // The cronjob controller starts a run at the next minute; kwok completes its pod.
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    let job = eventually("a Job of the CronJob", CONVERGE, || {
        let jobs = jobs.clone();
        async move {
            let list = jobs
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            list.items
                .into_iter()
                .find(|j| {
                    j.owner_references()
                        .iter()
                        .any(|r| r.name == "every-minute")
                })
                .ok_or_else(|| "no Job yet".to_owned())
        }
    })
    .await;
    let job_name = job.name_any();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    eventually("the run's pod completes on a kwok node", CONVERGE, || {
        let pods = pods.clone();
        let job_name = job_name.clone();
        async move {
            let list = pods
                .list(&ListParams::default().labels(&format!("job-name={job_name}")))
                .await
                .map_err(|e| e.to_string())?;
            let pod = list.items.first().ok_or("no pod yet")?;
            let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
            let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
            match (phase.as_deref(), node) {
                (Some("Succeeded"), Some(_)) => Ok(()),
                other => Err(format!("phase and node: {other:?}")),
            }
        }
    })
    .await;
    let reported = eventually("the status reports the run", CONVERGE, || {
        let tasks = tasks.clone();
        async move {
            let t = tasks.get("every-minute").await.map_err(|e| e.to_string())?;
            let st = t.status.unwrap_or_default();
            if st.last_schedule_time.is_some() && st.last_successful_time.is_some() {
                Ok(st)
            } else {
                Err(format!("{st:?}"))
            }
        }
    })
    .await;
    assert_eq!(reported.schedule.as_deref(), Some("* * * * *"));
    let ready = reported
        .common
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("a Ready condition");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Scheduled")
    );

    // A new revision of the family reaches the CronJob's Job template.
    let mut revised = task_definition();
    revised["spec"]["containerDefinitions"][0]["image"] = json!("example/report:2.1");
    apply_all(&client, &ns, &[revised]).await;
    eventually("the CronJob runs the new revision", CONVERGE, || {
        let cron_jobs = cron_jobs.clone();
        async move {
            let c = cron_jobs
                .get("every-minute")
                .await
                .map_err(|e| e.to_string())?;
            let image = c
                .spec
                .job_template
                .spec
                .and_then(|j| j.template.spec)
                .and_then(|s| s.containers.first().and_then(|c| c.image.clone()));
            match image.as_deref() {
                Some("example/report:2.1") => Ok(()),
                other => Err(format!("image {other:?}")),
            }
        }
    })
    .await;

    tasks
        .delete("every-minute", &DeleteParams::foreground())
        .await
        .expect("delete the EcsScheduledTask");
    eventually("the CronJob is deleted with it", CONVERGE, || {
        let cron_jobs = cron_jobs.clone();
        async move {
            match cron_jobs
                .get_opt("every-minute")
                .await
                .map_err(|e| e.to_string())?
            {
                None => Ok(()),
                Some(_) => Err("still there".to_owned()),
            }
        }
    })
    .await;
    operator.stop().await;
}

/// A CronJob somebody else made with the name an EcsScheduledTask would use keeps every byte
/// (its resourceVersion, no field of ecsplane's), the EcsScheduledTask says so
/// (`Ready=False`, `ChildConflict`), and deleting it leaves the CronJob.
#[tokio::test(flavor = "multi_thread")]
async fn a_cron_job_that_is_not_ours_is_never_taken_over_by_a_scheduled_task() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "scheduled-own").await;
    let cron_jobs: Api<CronJob> = Api::namespaced(client.clone(), &ns);
    let theirs: CronJob = serde_json::from_value(json!({
        "metadata": {"name": "nightly", "labels": {"team": "ops"}},
        "spec": {
            "schedule": "0 4 * * *",
            "suspend": true,
            "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "backup", "image": "example/backup:1"}],
            }}}},
        },
    }))
    .expect("a CronJob");
    let before = cron_jobs
        .create(&PostParams::default(), &theirs)
        .await
        .expect("create their CronJob");
    let operator = Operator::start(&client, &ns);
    apply_all(
        &client,
        &ns,
        &[
            task_definition(),
            scheduled_task("nightly", "cron(0 3 * * ? *)"),
        ],
    )
    .await;
    let task = ready_with(&client, &ns, "nightly", "False", "ChildConflict").await;
    let message = condition(&task.status.unwrap_or_default().common.conditions, "Ready");
    assert!(message.contains("CronJob nightly"), "{message}");
    let now = cron_jobs.get("nightly").await.expect("their CronJob");
    assert_eq!(
        now.metadata.resource_version,
        before.metadata.resource_version
    );
    assert!(
        !now.managed_fields()
            .iter()
            .any(|m| m.manager.as_deref() == Some("ecsplane")),
        "no field of ecsplane's"
    );

    let tasks: Api<EcsScheduledTask> = Api::namespaced(client.clone(), &ns);
    tasks
        .delete("nightly", &DeleteParams::foreground())
        .await
        .expect("delete the EcsScheduledTask");
    eventually("the EcsScheduledTask is gone", CONVERGE, || {
        let tasks = tasks.clone();
        async move {
            match tasks.get_opt("nightly").await.map_err(|e| e.to_string())? {
                None => Ok(()),
                Some(_) => Err("still there".to_owned()),
            }
        }
    })
    .await;
    let after = cron_jobs.get("nightly").await.expect("their CronJob stays");
    assert_eq!(after.metadata.uid, before.metadata.uid);
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    operator.stop().await;
}
