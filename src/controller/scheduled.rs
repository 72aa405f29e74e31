//! EcsScheduledTask: applies the CronJob (and the ServiceAccount of a task role) the
//! translation produces, so the cluster's cronjob controller runs the task on the schedule as
//! EventBridge would, and reports what the CronJob shows: the schedule it runs, when a run last
//! started and last succeeded, and the Jobs of the runs in progress.
//!
//! A scheduled task that names only its family runs the latest registered revision, as an
//! EventBridge target without a revision runs the latest ACTIVE one: the CronJob follows each
//! new revision (the controller is woken by the family's TaskDefinition, no timer). Runs
//! already started keep the revision they started with.
//!
//! The reconcile is the pipeline `resolve` → `translate` → `apply` → `observe` →
//! [`scheduled_status`] (pure).

use std::sync::Arc;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use super::apply::{self, Owner};
use super::conditions::{self, Desired};
use super::resolve::{self, Blocked};
use super::vocabulary::{ConditionType, Reason};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, errors, status};
use crate::api::{
    CommonStatus, EcsCluster, EcsScheduledTask, EcsScheduledTaskStatus, TaskDefinition,
};
use crate::translate::bundle::Bundle;
use crate::translate::{self, Object, names};

/// Runs the EcsScheduledTask controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctrl = wiring
        .controller::<EcsScheduledTask>()
        .owns_stream(wiring.changes::<CronJob>())
        .owns_stream(wiring.changes::<ServiceAccount>());
    let store = ctrl.store();
    let by_family = store.clone();
    let by_cluster = store;
    // A new revision of the family changes the CronJob's Job template; a task waiting for
    // its task definition is scheduled once the family registers.
    let ctrl = ctrl
        .watches_stream(wiring.changes::<TaskDefinition>(), move |td| {
            let ns = td.metadata.namespace.clone();
            by_family
                .state()
                .into_iter()
                .filter(|t| {
                    t.metadata.namespace == ns
                        && names::task_definition_ref(&t.spec.task.task_definition).0
                            == td.spec.family
                })
                .map(|t| ObjectRef::from_obj(t.as_ref()))
                .collect::<Vec<_>>()
        })
        .watches_stream(wiring.changes::<EcsCluster>(), move |c| {
            let ns = c.metadata.namespace.clone();
            let name = c.metadata.name.clone().unwrap_or_default();
            by_cluster
                .state()
                .into_iter()
                .filter(|t| {
                    t.metadata.namespace == ns
                        && names::cluster_name(t.spec.task.cluster.as_deref()) == name
                })
                .map(|t| ObjectRef::from_obj(t.as_ref()))
                .collect::<Vec<_>>()
        });
    wiring.run(ctrl, reconcile).await;
}

/// The kinds an EcsScheduledTask owns.
fn owned_kinds() -> [kube::discovery::ApiResource; 2] {
    [
        apply::resource::<ServiceAccount>(),
        apply::resource::<CronJob>(),
    ]
}

async fn reconcile(
    task: Arc<EcsScheduledTask>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    // Conditions keep their transition times from the stored status, not from a cache that
    // may not have seen this controller's last write yet.
    let Some(task) = ctx.reader.latest(task.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    let previous = task.status.clone().unwrap_or_default();
    let bundle = match resolve(&ctx, &task).await? {
        Ok(bundle) => bundle,
        Err(blocked) => return block(&ctx, &task, &previous, blocked).await,
    };
    let options = translate::Options {
        security_policy: ctx.options.security_policy,
        ..translate::Options::default()
    };
    let translated = match translate(&bundle, &options) {
        Ok(translated) => translated,
        Err(blocked) => return block(&ctx, &task, &previous, blocked).await,
    };
    let owner = Owner::of(&task);
    let applied =
        apply::reconcile_children(&ctx, &owner, &owned_kinds(), translated.children.clone())
            .await?;
    if !applied.conflicts.is_empty() {
        apply::report_conflicts(&ctx, &task, &applied.conflicts).await;
        return block(
            &ctx,
            &task,
            &previous,
            Blocked::conflicts(&applied.conflicts),
        )
        .await;
    }
    let observed = observe(&ctx, &owner, &translated, &applied).await?;
    let status = scheduled_status(
        &task,
        &previous,
        &translated,
        observed.as_ref(),
        &conditions::now(),
    );
    status::write(&ctx, &task, &previous, &status).await?;
    Ok(Action::requeue(RESYNC))
}

/// Resolves the task definition (the latest revision of a family, or the one named) and the
/// cluster, and assembles what the translation takes: the scheduled task naming that
/// revision, the revision, the cluster.
async fn resolve(
    ctx: &Context,
    task: &EcsScheduledTask,
) -> Result<Result<Bundle, Blocked>, ReconcileError> {
    let ns = task.metadata.namespace.clone().unwrap_or_default();
    let reference = &task.spec.task.task_definition;
    let revision = match resolve::task_definition(ctx, &ns, reference, None).await? {
        Ok(r) => r,
        Err(message) => return Ok(Err(Blocked::task_definition_not_found(message))),
    };
    let mut clean = task.clone();
    clean.spec.task.task_definition = revision.family_revision;
    clean.status = None;
    clean.metadata.managed_fields = None;
    Ok(Ok(Bundle {
        scheduled_tasks: vec![resolve::sourced(clean)],
        task_definitions: vec![resolve::sourced(revision.task_definition)],
        clusters: resolve::cluster(ctx, &ns, task.spec.task.cluster.as_deref()).await?,
        ..Bundle::default()
    }))
}

/// What the translation of a scheduled task produced.
#[derive(Clone, Debug)]
struct Translated {
    /// The CronJob's name.
    cron_job: String,
    /// The Kubernetes schedule it runs (five fields).
    schedule: String,
    /// The time zone it runs in.
    time_zone: String,
    /// Whether it is suspended (state `DISABLED`).
    suspended: bool,
    /// The CronJob and the task role's ServiceAccount.
    children: Vec<Object>,
    /// The `Translated` condition.
    fidelity: Desired,
}

/// Translates the scheduled task with the one translation `ecsplane render` runs.
fn translate(bundle: &Bundle, options: &translate::Options) -> Result<Translated, Blocked> {
    let translation = translate::translate_with(bundle, options)
        .map_err(|errors| Blocked::translation(&errors.0))?;
    let children: Vec<Object> = translation
        .objects
        .into_iter()
        .filter(|o| matches!(o, Object::ServiceAccount(_) | Object::CronJob(_)))
        .collect();
    let Some(cron) = children.iter().find_map(|o| match o {
        Object::CronJob(c) => Some(c),
        _ => None,
    }) else {
        // The translation of a scheduled task that is not refused has its CronJob.
        return Err(Blocked {
            reason: Reason::Invalid,
            message: "the translation produced no CronJob".to_owned(),
        });
    };
    Ok(Translated {
        cron_job: cron.metadata.name.clone().unwrap_or_default(),
        schedule: cron.spec.schedule.clone(),
        time_zone: cron.spec.time_zone.clone().unwrap_or_default(),
        suspended: cron.spec.suspend == Some(true),
        fidelity: conditions::translated(&translation.report),
        children,
    })
}

/// The CronJob as it is now: the copy the cronjob controller last updated (its status), else
/// the copy just applied.
async fn observe(
    ctx: &Context,
    owner: &Owner,
    translated: &Translated,
    applied: &apply::Applied,
) -> Result<Option<CronJob>, ReconcileError> {
    if let Some(live) = ctx
        .reader
        .cron_job(&owner.namespace, &translated.cron_job)
        .await?
    {
        return Ok(Some(live));
    }
    Ok(applied
        .child("CronJob")
        .and_then(|c| c.clone().try_parse::<CronJob>().ok()))
}

/// A Kubernetes time as the API server writes it (RFC 3339, seconds).
fn time_text(t: &Time) -> Option<String> {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// The status of a scheduled task whose CronJob is applied: the schedule it runs, what the
/// CronJob `cron` shows (last start, last success, the Jobs in progress, by name), `Ready`
/// (scheduled, or suspended) and `Translated`. A pure function of its inputs: recomputed on a
/// converged object it gives the same status, and nothing is written.
fn scheduled_status(
    task: &EcsScheduledTask,
    previous: &EcsScheduledTaskStatus,
    translated: &Translated,
    cron: Option<&CronJob>,
    now: &Time,
) -> EcsScheduledTaskStatus {
    let observed = cron.and_then(|c| c.status.as_ref());
    let mut active: Vec<String> = observed
        .and_then(|s| s.active.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|r| r.name.clone())
        .collect();
    active.sort();
    active.dedup();
    let ready = if translated.suspended {
        Desired::new(
            ConditionType::Ready,
            true,
            Reason::Suspended,
            format!(
                "the schedule is DISABLED: CronJob {} is suspended and starts no run",
                translated.cron_job
            ),
        )
    } else {
        Desired::new(
            ConditionType::Ready,
            true,
            Reason::Scheduled,
            format!(
                "CronJob {} runs the task on `{}` ({})",
                translated.cron_job, translated.schedule, translated.time_zone
            ),
        )
    };
    EcsScheduledTaskStatus {
        schedule: Some(translated.schedule.clone()),
        last_schedule_time: observed
            .and_then(|s| s.last_schedule_time.as_ref())
            .and_then(time_text),
        last_successful_time: observed
            .and_then(|s| s.last_successful_time.as_ref())
            .and_then(time_text),
        active,
        common: CommonStatus {
            observed_generation: task.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![ready, translated.fidelity.clone()],
                task.metadata.generation,
                now,
            ),
        },
    }
}

/// The status of a scheduled task that cannot be scheduled as specified: `Ready=False` with
/// the reason; what was last observed of its CronJob is kept.
fn blocked_status(
    task: &EcsScheduledTask,
    previous: &EcsScheduledTaskStatus,
    blocked: Blocked,
    now: &Time,
) -> EcsScheduledTaskStatus {
    EcsScheduledTaskStatus {
        common: CommonStatus {
            observed_generation: task.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![Desired::new(
                    ConditionType::Ready,
                    false,
                    blocked.reason,
                    blocked.message,
                )],
                task.metadata.generation,
                now,
            ),
        },
        ..previous.clone()
    }
}

/// Writes the status of a scheduled task that cannot be scheduled as specified; it looks
/// again when it or what it refers to changes ([`errors::blocked`]).
async fn block(
    ctx: &Context,
    task: &EcsScheduledTask,
    previous: &EcsScheduledTaskStatus,
    blocked: Blocked,
) -> Result<Action, ReconcileError> {
    let status = blocked_status(task, previous, blocked.clone(), &conditions::now());
    status::write(ctx, task, previous, &status).await?;
    Ok(errors::blocked(ctx, task, &blocked).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::bundle::{Origin, Sourced};
    use k8s_openapi::api::batch::v1::CronJobStatus;
    use k8s_openapi::api::core::v1::ObjectReference;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn at(s: &str) -> Time {
        Time(s.parse().expect("a timestamp"))
    }

    fn scheduled(spec: serde_json::Value) -> EcsScheduledTask {
        let mut t: EcsScheduledTask = serde_json::from_value(json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "EcsScheduledTask",
            "metadata": {"name": "nightly", "namespace": "shop", "uid": "u-1", "generation": 2},
            "spec": spec,
        }))
        .expect("an EcsScheduledTask");
        t.status = None;
        t
    }

    fn bundle(task: EcsScheduledTask, role: bool) -> Bundle {
        let mut td = json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": "report", "namespace": "shop"},
            "spec": {"family": "report", "revision": 3, "containerDefinitions": [
                {"name": "app", "image": "example/report:2.0", "command": ["report", "--daily"], "memory": 128}
            ]},
        });
        if role {
            td["spec"]["taskRoleArn"] = json!("arn:aws:iam::123456789012:role/reporter");
        }
        let td: TaskDefinition = serde_json::from_value(td).expect("a TaskDefinition");
        Bundle {
            scheduled_tasks: vec![Sourced {
                origin: Origin::cluster("EcsScheduledTask", "shop", "nightly"),
                object: task,
            }],
            task_definitions: vec![Sourced {
                origin: Origin::cluster("TaskDefinition", "shop", "report"),
                object: td,
            }],
            ..Bundle::default()
        }
    }

    fn translated(spec: serde_json::Value, role: bool) -> Translated {
        translate(
            &bundle(scheduled(spec), role),
            &translate::Options::default(),
        )
        .expect("translates")
    }

    fn cron_job(status: CronJobStatus) -> CronJob {
        CronJob {
            status: Some(status),
            ..CronJob::default()
        }
    }

    fn job(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("Job".into()),
            name: Some(name.into()),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn a_scheduled_task_owns_exactly_its_cron_job_and_its_task_roles_service_account() {
        let t = translated(
            json!({"scheduleExpression": "rate(5 minutes)", "taskDefinition": "report:3"}),
            true,
        );
        let kinds: Vec<&str> = t.children.iter().map(Object::kind).collect();
        assert_eq!(kinds, ["ServiceAccount", "CronJob"]);
        assert_eq!(t.cron_job, "nightly");
        assert_eq!(t.schedule, "*/5 * * * *");
        assert_eq!(t.time_zone, "Etc/UTC");
        assert!(!t.suspended);
    }

    #[test]
    fn a_schedule_the_translation_refuses_blocks_the_task_naming_the_field() {
        let refused = translate(
            &bundle(
                scheduled(json!({"scheduleExpression": "at(2026-01-01T00:00:00)", "taskDefinition": "report:3"})),
                false,
            ),
            &translate::Options::default(),
        )
        .expect_err("at() is refused");
        assert_eq!(refused.reason, Reason::Invalid);
        assert!(
            refused.message.contains("spec.scheduleExpression"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn the_status_reports_the_cron_jobs_last_runs_and_its_active_jobs_in_order() {
        let task =
            scheduled(json!({"scheduleExpression": "rate(1 minute)", "taskDefinition": "report"}));
        let t = translated(
            json!({"scheduleExpression": "rate(1 minute)", "taskDefinition": "report:3"}),
            false,
        );
        let cron = cron_job(CronJobStatus {
            active: Some(vec![job("nightly-29000002"), job("nightly-29000001")]),
            last_schedule_time: Some(at("2026-12-01T16:02:00Z")),
            last_successful_time: Some(at("2026-12-01T16:01:07Z")),
        });
        let now = at("2026-12-01T16:02:03Z");
        let status = scheduled_status(
            &task,
            &EcsScheduledTaskStatus::default(),
            &t,
            Some(&cron),
            &now,
        );
        assert_eq!(status.schedule.as_deref(), Some("* * * * *"));
        assert_eq!(
            status.last_schedule_time.as_deref(),
            Some("2026-12-01T16:02:00Z")
        );
        assert_eq!(
            status.last_successful_time.as_deref(),
            Some("2026-12-01T16:01:07Z")
        );
        assert_eq!(status.active, ["nightly-29000001", "nightly-29000002"]);
        assert_eq!(status.common.observed_generation, Some(2));
        let ready = &status.common.conditions[0];
        assert_eq!(
            (
                ready.type_.as_str(),
                ready.status.as_str(),
                ready.reason.as_str()
            ),
            ("Ready", "True", "Scheduled")
        );
        assert_eq!(
            ready.message,
            "CronJob nightly runs the task on `* * * * *` (Etc/UTC)"
        );
        assert_eq!(status.common.conditions[1].type_, "Translated");
    }

    #[test]
    fn a_converged_scheduled_task_recomputes_the_status_it_has() {
        let task =
            scheduled(json!({"scheduleExpression": "rate(1 minute)", "taskDefinition": "report"}));
        let t = translated(
            json!({"scheduleExpression": "rate(1 minute)", "taskDefinition": "report:3"}),
            false,
        );
        let cron = cron_job(CronJobStatus {
            last_schedule_time: Some(at("2026-12-01T16:02:00Z")),
            ..CronJobStatus::default()
        });
        let first = scheduled_status(
            &task,
            &EcsScheduledTaskStatus::default(),
            &t,
            Some(&cron),
            &at("2026-12-01T16:02:03Z"),
        );
        let again = scheduled_status(&task, &first, &t, Some(&cron), &at("2026-12-01T17:00:00Z"));
        assert_eq!(again, first);
    }

    #[test]
    fn a_disabled_schedule_is_ready_and_says_its_cron_job_is_suspended() {
        let spec = json!({"scheduleExpression": "cron(0 3 * * ? *)", "state": "DISABLED", "taskDefinition": "report:3"});
        let t = translated(spec.clone(), false);
        assert!(t.suspended);
        let status = scheduled_status(
            &scheduled(spec),
            &EcsScheduledTaskStatus::default(),
            &t,
            None,
            &at("2026-12-01T16:00:00Z"),
        );
        let ready = &status.common.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Suspended")
        );
        assert_eq!(status.schedule.as_deref(), Some("0 3 * * *"));
        assert_eq!(status.last_schedule_time, None);
        assert!(status.active.is_empty());
    }

    #[test]
    fn a_blocked_scheduled_task_keeps_what_it_last_observed_and_says_why() {
        let task =
            scheduled(json!({"scheduleExpression": "rate(1 minute)", "taskDefinition": "gone"}));
        let previous = EcsScheduledTaskStatus {
            schedule: Some("* * * * *".into()),
            last_schedule_time: Some("2026-12-01T16:02:00Z".into()),
            ..EcsScheduledTaskStatus::default()
        };
        let status = blocked_status(
            &task,
            &previous,
            Blocked::task_definition_not_found("task definition \"gone\" is not registered".into()),
            &at("2026-12-01T16:03:00Z"),
        );
        assert_eq!(status.schedule, previous.schedule);
        assert_eq!(status.last_schedule_time, previous.last_schedule_time);
        let ready = &status.common.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "TaskDefinitionNotFound")
        );
    }
}
