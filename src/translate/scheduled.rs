//! EcsScheduledTask → a CronJob whose Job runs the task's pod ([`task::task_pod`], the
//! EcsTask translation) `count` times, each copy once, on the schedule converted by
//! [`schedule::to_kubernetes`].
//!
//! Each run is a Job of `count` independent pods, as ECS starts `count` independent tasks:
//! `completionMode: Indexed` with `backoffLimitPerIndex: 0`, so a failed copy is not retried
//! and does not stop the others, and `restartPolicy: Never`. Runs may overlap
//! (`concurrencyPolicy: Allow`), as EventBridge starts a task whether or not the last one is
//! still running. The time zone is always written: an EventBridge rule runs in UTC, while a
//! CronJob without `timeZone` runs in the controller-manager's local time.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::bundle::Sourced;
use super::model::{Index, Object, Refusal};
use super::report::{ObjectRef, Report};
use super::schedule;
use super::task::{self, TaskRefusal, TdKey};
use crate::api::{
    EcsScheduledTask, EcsScheduledTaskSpec, FlexibleTimeWindow, FlexibleTimeWindowMode,
    ScheduleState,
};

/// Label on the CronJob, its Jobs and pods: the EcsScheduledTask's name.
pub const LABEL_SCHEDULED_TASK: &str = "ecsplane.io/scheduled-task";

/// Annotation on the CronJob: the EventBridge expression it was converted from.
pub const ANNOTATION_SCHEDULE_EXPRESSION: &str = "ecsplane.io/schedule-expression";

/// The time zone of an EventBridge rule, and of a schedule without one.
pub const UTC: &str = "Etc/UTC";

/// The longest CronJob name: its Jobs add 11 characters and stay within 63.
pub const MAX_NAME: usize = 52;

/// The ObjectRef of a scheduled task for findings.
pub fn object_ref(t: &EcsScheduledTask) -> ObjectRef {
    ObjectRef::new(
        "EcsScheduledTask",
        t.metadata.namespace.as_deref(),
        t.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Translates one EcsScheduledTask into its CronJob (and the ServiceAccount of a task role).
pub fn translate_scheduled_task(
    index: &Index<'_>,
    t: &Sourced<EcsScheduledTask>,
    report: &mut Report,
) -> Result<(TdKey, Vec<Object>), TaskRefusal> {
    let st = &t.object;
    let obj = object_ref(st);
    let name = obj.name().to_owned();
    let EcsScheduledTaskSpec {
        schedule_expression,
        schedule_expression_timezone,
        state,
        start_date,
        end_date,
        flexible_time_window,
        retry_policy,
        task,
    } = &st.spec;
    let mut refusals = Vec::new();
    if name.len() > MAX_NAME {
        refusals.push(Refusal::new(
            "metadata.name",
            format!(
                "a CronJob name is at most {MAX_NAME} characters (its Jobs add 11), and {name:?} has {}; rename it",
                name.len()
            ),
        ));
    }
    let cron = match schedule::to_kubernetes(schedule_expression) {
        Ok(c) => Some(c),
        Err(e) => {
            refusals.push(Refusal::new("spec.scheduleExpression", e.to_string()));
            None
        }
    };
    let pod = match task::task_pod(index, &obj, LABEL_SCHEDULED_TASK, task, report) {
        Ok(p) => p,
        Err((used, mut r)) => {
            refusals.append(&mut r);
            return Err((used, refusals));
        }
    };
    let Some(cron) = cron.filter(|_| refusals.is_empty()) else {
        return Err((vec![pod.task_definition], refusals));
    };
    for d in &cron.differences {
        report.approximated(&obj, "spec.scheduleExpression", d.to_string());
    }
    if start_date.is_some() {
        report.not_carried(
            &obj,
            "spec.startDate",
            "a CronJob has no start date: it runs from when it is created; create it (or unsuspend it) at the start date",
        );
    }
    if end_date.is_some() {
        report.not_carried(
            &obj,
            "spec.endDate",
            "a CronJob has no end date: suspend or delete it at the end date",
        );
    }
    if let Some(FlexibleTimeWindow {
        mode: Some(FlexibleTimeWindowMode::Flexible),
        maximum_window_in_minutes,
    }) = flexible_time_window
    {
        let window = maximum_window_in_minutes
            .map_or_else(|| "the window".to_owned(), |m| format!("{m} minutes"));
        report.approximated(
            &obj,
            "spec.flexibleTimeWindow",
            format!("the CronJob starts each run at the scheduled time; EventBridge Scheduler starts it at some time within {window} after"),
        );
    }
    if retry_policy.is_some() {
        report.not_carried(
            &obj,
            "spec.retryPolicy",
            "EventBridge retries a RunTask call that failed; the cronjob controller creates each Job itself and a task that fails is not retried, as in ECS",
        );
    }
    let count = task.count.unwrap_or(1);
    let mut annotations = pod.annotations.clone();
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod.labels.clone()),
            annotations: Some(annotations.clone()),
            ..ObjectMeta::default()
        }),
        spec: Some(pod.spec),
    };
    let job = JobSpec {
        parallelism: Some(count),
        completions: Some(count),
        completion_mode: Some("Indexed".into()),
        backoff_limit_per_index: Some(0),
        template,
        ..JobSpec::default()
    };
    annotations.insert(
        ANNOTATION_SCHEDULE_EXPRESSION.to_owned(),
        schedule_expression.clone(),
    );
    let labels: BTreeMap<String, String> = pod.labels;
    let cron_job = CronJob {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: obj.namespace().map(str::to_owned),
            labels: Some(labels.clone()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: CronJobSpec {
            schedule: cron.schedule,
            time_zone: Some(
                schedule_expression_timezone
                    .clone()
                    .unwrap_or_else(|| UTC.to_owned()),
            ),
            suspend: (state == &Some(ScheduleState::Disabled)).then_some(true),
            concurrency_policy: Some("Allow".into()),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(job),
            },
            ..CronJobSpec::default()
        },
        status: None,
    };
    let mut objects: Vec<Object> = pod.service_account.into_iter().collect();
    objects.push(Object::CronJob(Box::new(cron_job)));
    Ok((pod.task_definition, objects))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::translate::report::Fidelity;
    use crate::translate::{Translation, translate};

    const TASK_DEFINITION: &str = "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: report}\nspec:\n  family: report\n  revision: 3\n  taskRoleArn: 'arn:aws:iam::123456789012:role/reporter'\n  containerDefinitions:\n  - name: app\n    image: example/report:2.0\n    command: [report, --daily]\n    cpu: 256\n    memory: 512\n";

    fn render(spec: &str) -> Result<Translation, crate::translate::bundle::Errors> {
        let text = format!(
            "{TASK_DEFINITION}---\napiVersion: ecsplane.io/v1alpha1\nkind: EcsScheduledTask\nmetadata: {{name: nightly-report}}\nspec: {spec}\n"
        );
        let (bundle, errors) = crate::load::load_str("scheduled.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        translate(&bundle)
    }

    fn objects(t: &Translation) -> Vec<Value> {
        t.objects
            .iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect()
    }

    /// The whole output of an EventBridge rule that runs two copies of a task at 02:30 UTC on
    /// weekdays, with a container override (and no report line about it): the task role's ServiceAccount and a CronJob in
    /// UTC whose Job runs two independent pods once each.
    #[test]
    fn a_scheduled_task_renders_to_this_exact_cron_job() {
        let t = render("{scheduleExpression: 'cron(30 2 ? * MON-FRI *)', taskDefinition: 'report:3', count: 2, overrides: {containerOverrides: [{name: app, command: [report, --weekly]}]}}").unwrap();
        insta::assert_yaml_snapshot!(t.objects);
        let about_it: Vec<_> = t
            .report
            .findings
            .iter()
            .filter(|f| f.object.kind() == "EcsScheduledTask")
            .collect();
        assert_eq!(about_it, [] as [&crate::translate::report::Finding; 0]);
    }

    #[test]
    fn a_rule_runs_in_utc_and_a_scheduler_schedule_in_its_time_zone() {
        let rule = render("{scheduleExpression: 'rate(1 day)', taskDefinition: report}").unwrap();
        let schedule = render("{scheduleExpression: 'cron(0 9 * * ? *)', scheduleExpressionTimezone: Europe/Berlin, taskDefinition: report}").unwrap();
        assert_eq!(objects(&rule)[1]["spec"]["timeZone"], "Etc/UTC");
        assert_eq!(objects(&schedule)[1]["spec"]["timeZone"], "Europe/Berlin");
        assert_eq!(objects(&schedule)[1]["spec"]["schedule"], "0 9 * * *");
    }

    #[test]
    fn a_disabled_schedule_is_a_suspended_cron_job() {
        let t = render(
            "{scheduleExpression: 'rate(5 minutes)', state: DISABLED, taskDefinition: report}",
        )
        .unwrap();
        assert_eq!(objects(&t)[1]["spec"]["suspend"], json!(true));
    }

    /// Every way the CronJob runs differently is a report line: the rate counted by the
    /// clock, the year, the start and end dates, the flexible window, the retry policy, and the
    /// RunTask fields an EcsTask reports too.
    #[test]
    fn every_difference_from_eventbridge_is_a_report_line() {
        let t = render("{scheduleExpression: 'rate(7 minutes)', startDate: '2027-01-01T00:00:00Z', endDate: '2028-01-01T00:00:00Z', flexibleTimeWindow: {mode: FLEXIBLE, maximumWindowInMinutes: 15}, retryPolicy: {maximumRetryAttempts: 3}, taskDefinition: report, platformVersion: LATEST, networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-1]}}}").unwrap();
        let lines: Vec<(&str, Fidelity)> = t
            .report
            .findings
            .iter()
            .filter(|f| f.object.kind() == "EcsScheduledTask")
            .map(|f| (&*f.field, f.fidelity))
            .collect();
        assert_eq!(
            lines,
            [
                ("spec.endDate", Fidelity::NotCarried),
                ("spec.flexibleTimeWindow", Fidelity::Approximated),
                ("spec.networkConfiguration", Fidelity::NotCarried),
                ("spec.platformVersion", Fidelity::NotCarried),
                ("spec.retryPolicy", Fidelity::NotCarried),
                ("spec.scheduleExpression", Fidelity::Approximated),
                ("spec.scheduleExpression", Fidelity::Approximated),
                ("spec.startDate", Fidelity::NotCarried),
            ]
        );
        assert!(
            t.report
                .findings
                .iter()
                .filter(|f| f.object.kind() == "EcsScheduledTask")
                .all(|f| f.object.name() == "nightly-report")
        );
    }

    #[test]
    fn a_schedule_kubernetes_cannot_express_is_refused_naming_the_field() {
        let errors = render("{scheduleExpression: 'cron(0 0 L * ? *)', taskDefinition: report}")
            .unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, "spec.scheduleExpression");
        assert!(
            errors.0[0]
                .message
                .contains("L is the last day of each month"),
            "{}",
            errors.0[0].message
        );
    }

    #[test]
    fn a_missing_task_definition_and_a_bad_schedule_are_refused_together() {
        let errors =
            render("{scheduleExpression: 'at(2027-01-01T00:00:00)', taskDefinition: nope}")
                .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| &*e.field).collect();
        assert_eq!(fields, ["spec.scheduleExpression", "spec.taskDefinition"]);
    }
}
