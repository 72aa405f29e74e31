//! `EcsScheduledTask`: an EventBridge schedule whose target runs an ECS task (an
//! `AWS::Events::Rule` with an ECS target, or an `AWS::Scheduler::Schedule`).

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::CommonStatus;
use super::task::EcsTaskSpec;

/// A task that EventBridge runs on a schedule: the schedule, and the RunTask request each run
/// makes (the same fields as an EcsTask's spec, side by side with the schedule's, with its
/// validation rules).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "EcsScheduledTask",
    plural = "ecsscheduledtasks",
    singular = "ecsscheduledtask",
    shortname = "ecsschedule",
    category = "ecs",
    namespaced,
    status = "EcsScheduledTaskStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An ECS task run on an EventBridge schedule, translated into a CronJob.",
    printcolumn(
        name = "Schedule",
        type_ = "string",
        json_path = ".spec.scheduleExpression"
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".spec.state"),
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".spec.taskDefinition"
    ),
    printcolumn(
        name = "Last Schedule",
        type_ = "date",
        json_path = ".status.lastScheduleTime"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct EcsScheduledTaskSpec {
    /// When the task runs, as EventBridge writes it: `rate(5 minutes)`, or a six-field
    /// `cron(minutes hours day-of-month month day-of-week year)`. `at(…)` one-time schedules
    /// are refused: a CronJob repeats.
    #[schemars(length(min = 1, max = 256))]
    pub schedule_expression: String,
    /// IANA time zone the cron runs in (EventBridge Scheduler's
    /// `ScheduleExpressionTimezone`); EventBridge rules, and a schedule without one, run in
    /// UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 50))]
    pub schedule_expression_timezone: Option<String>,
    /// `ENABLED` (the default) or `DISABLED` (the CronJob is suspended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ScheduleState>,
    /// EventBridge Scheduler: no run before this time (RFC 3339). A CronJob has no start
    /// date (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// EventBridge Scheduler: no run after this time (RFC 3339). A CronJob has no end date
    /// (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// EventBridge Scheduler: how long after the scheduled time a run may start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flexible_time_window: Option<FlexibleTimeWindow>,
    /// EventBridge's retries of the RunTask call that failed (not of a task that failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// The RunTask request of each run: task definition, count, launch type, network
    /// configuration, overrides, platform version, as for an EcsTask.
    #[serde(flatten)]
    pub task: EcsTaskSpec,
}

/// Whether the schedule runs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScheduleState {
    /// The schedule runs.
    Enabled,
    /// The schedule does not run.
    Disabled,
}

/// EventBridge Scheduler's `FlexibleTimeWindow`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlexibleTimeWindow {
    /// `OFF` (run at the scheduled time) or `FLEXIBLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FlexibleTimeWindowMode>,
    /// With `FLEXIBLE`: the run starts within this many minutes after the scheduled time
    /// (1–1440).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1440))]
    pub maximum_window_in_minutes: Option<i32>,
}

/// The modes of a flexible time window.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlexibleTimeWindowMode {
    /// Run at the scheduled time.
    Off,
    /// Run within the window after it.
    Flexible,
}

/// EventBridge's `RetryPolicy` for invoking the target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// How often a failed RunTask call is retried (0–185).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 185))]
    pub maximum_retry_attempts: Option<i32>,
    /// How long, in seconds, an unprocessed run is kept for retries (60–86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 86400))]
    pub maximum_event_age_in_seconds: Option<i32>,
}

/// What the schedule has done.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsScheduledTaskStatus {
    /// The Kubernetes schedule the CronJob runs (five fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When a run was last started (the CronJob's `lastScheduleTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<String>,
    /// When a run last finished successfully (the CronJob's `lastSuccessfulTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_time: Option<String>,
    /// The Jobs of the runs in progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<String>,
    /// Generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
}
