//! The scaler: Application Auto Scaling's step scaling and scheduled scaling for EcsServices,
//! run by the operator on its own schedule (every [`TICK`]), with the arithmetic of
//! [`crate::translate::scaling`].
//!
//! Each tick, for every EcsService whose `autoScaling` has a StepScaling policy with alarms
//! or a scheduled action:
//! 1. **scheduled actions** that are due run: they set the effective [min, max] (kept in
//!    `status.autoScaling`), and a desired count outside the new bounds is moved inside them,
//!    as AAS does (a new min above the count scales out);
//! 2. **alarms** take a sample of their metric; when a period ends, the period's datapoint is
//!    the alarm's statistic over its samples and the alarm is evaluated over its last
//!    `evaluationPeriods` datapoints. While in ALARM it invokes its policy once per period,
//!    which picks the step, adjusts, clamps to [min, max] and keeps its cooldown;
//! 3. a changed desired count is written through the EcsService's **scale subresource**
//!    (field manager [`FIELD_MANAGER`]), the way AAS changes an ECS service's desiredCount;
//!    the EcsService controller then scales the workload;
//! 4. `status.autoScaling` (effective bounds, alarm states, cooldowns, scheduled runs) and an
//!    ECS-style event in `status.events` per adjustment ("Successfully set desired count to
//!    N. Change successfully fulfilled by ecs.", AAS's activity message) are written, and the
//!    same message is published as a Kubernetes Event with its cause.
//!
//! **Metrics.** Where an alarm's metric is read from is [`MetricSource::of`]
//! (docs/operator.md lists the mapping): `AWS/ECS` `CPUUtilization` and `MemoryUtilization`
//! from the resource metrics API (`metrics.k8s.io`, metrics-server), the pods' usage over what
//! the pods reserve (the pod-level requests the task size becomes, else the sum of the
//! containers' requests), in percent, as ECS divides the tasks' usage by the task size;
//! another AWS namespace's metric from the external metrics API (`external.metrics.k8s.io`),
//! summed over the series served; a custom namespace's metric from the custom metrics API
//! (`custom.metrics.k8s.io`) as a metric of the service's pods, each pod's value one sample,
//! else from the external metrics API. When the API is not served (or the metric is not
//! mapped) the alarm stays INSUFFICIENT_DATA, its reason in `status.autoScaling` says why, and
//! a Warning Event (`MetricUnavailable`, one per service naming the alarms) says it once per
//! alarm and reason, not every tick;
//! the API server's discovery is asked only after a metric request failed.
//!
//! **What lives where.** Samples and datapoints live in memory (a restarted operator starts
//! its periods afresh, as CloudWatch would not); everything a decision must remember across
//! restarts (effective bounds, cooldown starts, the last run of each scheduled action) is in
//! `status.autoScaling`. A change of spec.autoScaling's min/max while the operator runs
//! resets the effective bounds to it (RegisterScalableTarget); the user setting desiredCount
//! sets the count, and the policies act from it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::service::deployments::{EVENTS_KEPT, merge_events};
use super::vocabulary::{EventAction, EventReason};
use super::wiring::Wiring;
use super::{Context, ReconcileError, api_err};
use crate::api::{
    AlarmStatus, AutoScaling, AutoScalingStatus, EcsService, EcsServiceStatus, MetricAlarm,
    PolicyStatus, PolicyType, ScheduledActionStatus, ServiceEvent,
};
use crate::translate::names;
use crate::translate::scaling::alarm::{self, AlarmState};
use crate::translate::scaling::metric::MetricSource;
use crate::translate::scaling::schedule::{self, Timing};
use crate::translate::scaling::step::{self, Cooldown, DEFAULT_COOLDOWN_SECONDS, Decision};

/// The field manager of every write the scaler makes (the desired count, status.autoScaling).
pub const FIELD_MANAGER: &str = "ecsplane-autoscaler";

/// How often the scaler looks at every autoscaled service: a sample per alarm per tick, so
/// the shortest CloudWatch period (10 s) gets two.
pub const TICK: Duration = Duration::from_secs(5);

/// The samples of one alarm, by period index (seconds since the epoch / period).
#[derive(Debug, Default)]
struct Series {
    samples: BTreeMap<i64, Vec<f64>>,
    /// The last period index seen (evaluation happens when it moves on).
    seen: Option<i64>,
    state: Option<AlarmState>,
    reason: Option<String>,
}

/// What the scaler keeps between ticks.
#[derive(Debug, Default)]
struct Memory {
    /// By `namespace/service/policy/alarm`.
    series: HashMap<String, Series>,
    /// spec.autoScaling's (min, max) last seen, by `namespace/service`.
    spec_bounds: HashMap<String, (i32, i32)>,
    /// The service events this scaler wrote lately, by `namespace/service`: written again
    /// should a concurrent status write of the service controller (which read the events
    /// before them) have dropped them.
    recent: HashMap<String, Vec<ServiceEvent>>,
    /// By series key: the "metric cannot be read" reason last published as an Event for the
    /// alarm (published again only when it changes, or after the metric was read).
    reported: HashMap<String, String>,
}

/// How long the scaler makes sure its events stay in status.events.
const KEEP_EVENTS: SignedDuration = SignedDuration::from_secs(600);

/// Runs the scaler until the operator stops.
pub(crate) async fn run(wiring: Wiring) {
    let ctx = wiring.ctx.clone();
    let work = async move {
        let mut memory = Memory::default();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if let Err(e) = pass(&ctx, &mut memory).await {
                tracing::warn!(error = %e, "scaler pass failed; retrying next tick");
            }
        }
    };
    tokio::select! {
        () = wiring.shutdown.clone() => {}
        () = work => {}
    }
}

fn has_work(a: &AutoScaling) -> bool {
    a.scheduled_actions.as_ref().is_some_and(|s| !s.is_empty())
        || a.scaling_policies.iter().flatten().any(|p| {
            p.policy_type == PolicyType::StepScaling
                && p.alarms.as_ref().is_some_and(|a| !a.is_empty())
        })
}

/// The scalable target's effective [min, max] the EcsService controller hands to the
/// translation (the HPA's minReplicas/maxReplicas and the count's clamp): what the scaler
/// keeps in `status.autoScaling` once scheduled actions have run, for a service with
/// scheduled actions; `None` (spec.autoScaling's bounds) otherwise. A change of
/// spec.autoScaling's bounds reaches status on the scaler's next tick (RegisterScalableTarget
/// resets them), and the HPA with it.
pub(crate) fn effective_bounds(a: &AutoScaling, status: &EcsServiceStatus) -> Option<(i32, i32)> {
    if a.scheduled_actions.as_ref().is_none_or(|s| s.is_empty()) {
        return None;
    }
    let st = status.auto_scaling.as_ref()?;
    match (st.min_capacity, st.max_capacity) {
        (Some(lo), Some(hi)) if (lo, hi) != (a.min_capacity, a.max_capacity) => Some((lo, hi)),
        _ => None,
    }
}

/// One look at every autoscaled service.
async fn pass(ctx: &Context, memory: &mut Memory) -> Result<(), ReconcileError> {
    let services = ctx.reader.every_service(ctx.api::<EcsService>()).await?;
    let mut live = HashSet::new();
    for svc in &services {
        let Some(a) = svc.spec.auto_scaling.as_ref().filter(|a| has_work(a)) else {
            continue;
        };
        let key = format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any());
        live.insert(key.clone());
        // Whole seconds: what status keeps of a time, so what is written compares equal to
        // what is read back.
        let now = Timestamp::from_second(Timestamp::now().as_second())
            .unwrap_or_else(|_| Timestamp::now());
        if let Err(e) = scale(ctx, memory, &key, svc, a, now).await {
            tracing::warn!(service = %key, error = %e, "scaling failed; retrying next tick");
        }
    }
    memory
        .series
        .retain(|k, _| live.iter().any(|l| k.starts_with(&format!("{l}/"))));
    memory.spec_bounds.retain(|k, _| live.contains(k));
    memory.recent.retain(|k, _| live.contains(k));
    memory
        .reported
        .retain(|k, _| live.iter().any(|l| k.starts_with(&format!("{l}/"))));
    Ok(())
}

/// A scaling activity: why, and the desired count it set.
struct Activity {
    cause: String,
    to: i32,
}

/// AAS's status message of a successful activity, which ECS-style status.events shows.
fn fulfilled(to: i32) -> String {
    format!("Successfully set desired count to {to}. Change successfully fulfilled by ecs.")
}

/// Scheduled actions and step policies of one service, then the writes.
async fn scale(
    ctx: &Context,
    memory: &mut Memory,
    key: &str,
    svc: &EcsService,
    a: &AutoScaling,
    now: Timestamp,
) -> Result<(), ReconcileError> {
    let status = svc.status.clone().unwrap_or_default();
    let prev = status.auto_scaling.clone().unwrap_or_default();
    let spec_bounds = (a.min_capacity, a.max_capacity.max(a.min_capacity));
    let remembered = memory.spec_bounds.insert(key.to_owned(), spec_bounds);
    let scheduled = a.scheduled_actions.as_ref().is_some_and(|s| !s.is_empty());
    let mut bounds = match (prev.min_capacity, prev.max_capacity) {
        (Some(lo), Some(hi)) if scheduled && remembered.is_none_or(|r| r == spec_bounds) => {
            (lo, hi)
        }
        _ => spec_bounds,
    };
    let current = svc.spec.desired_count.unwrap_or(1);
    let mut desired = current;
    let mut activities: Vec<Activity> = Vec::new();
    let suspended = a.suspended_state.clone().unwrap_or_default();

    // 1. Scheduled actions.
    let mut actions = Vec::new();
    for action in a.scheduled_actions.iter().flatten() {
        let old = prev
            .scheduled_actions
            .iter()
            .find(|s| s.scheduled_action_name == action.scheduled_action_name);
        let since = old.and_then(|o| o.since.as_ref()).map_or(now, |t| t.0);
        let mut st = ScheduledActionStatus {
            scheduled_action_name: action.scheduled_action_name.clone(),
            since: Some(Time(since)),
            last_run: old.and_then(|o| o.last_run.clone()),
            next_run: None,
            error: None,
        };
        match Timing::of(action) {
            Err(e) => st.error = Some(e.to_string()),
            Ok(timing) => {
                let last = st.last_run.as_ref().map(|t| t.0);
                if suspended.scheduled_scaling_suspended != Some(true)
                    && let Some(at) = timing.due(since, last, now)
                {
                    bounds = schedule::bounds_after(action, bounds);
                    st.last_run = Some(Time(at));
                    let to = step::clamp(i64::from(desired), bounds.0, bounds.1);
                    let cause = format!(
                        "scheduled action name {} was triggered (min capacity {}, max capacity {})",
                        action.scheduled_action_name, bounds.0, bounds.1
                    );
                    if to != desired {
                        desired = to;
                        activities.push(Activity { cause, to });
                    } else {
                        tracing::info!(service = %key, %cause, "scheduled action ran; the desired count is within the new bounds");
                    }
                }
                let after = st.last_run.as_ref().map_or(now, |t| t.0.max(now));
                st.next_run = timing.next_after(since, after).map(Time);
            }
        }
        actions.push(st);
    }

    // 2. Step scaling policies and their alarms.
    let mut policies = Vec::new();
    let mut samples: HashMap<String, Result<Vec<f64>, NoSample>> = HashMap::new();
    // Alarms whose metric API is not served (or metric not mapped), newly: one Event each.
    let mut unavailable: Vec<String> = Vec::new();
    for p in a.scaling_policies.iter().flatten() {
        let (PolicyType::StepScaling, Some(cfg)) =
            (p.policy_type, p.step_scaling_policy_configuration.as_ref())
        else {
            continue;
        };
        let old = prev
            .policies
            .iter()
            .find(|s| s.policy_name == p.policy_name);
        let mut ps = PolicyStatus {
            policy_name: p.policy_name.clone(),
            alarms: Vec::new(),
            last_adjusted_at: old.and_then(|o| o.last_adjusted_at.clone()),
            capacity_before: old.and_then(|o| o.capacity_before),
            adjusted_to: old.and_then(|o| o.adjusted_to),
        };
        let steps_problem = step::check_steps(cfg.step_adjustments.as_deref().unwrap_or_default());
        for al in p.alarms.iter().flatten() {
            let source = MetricSource::of(al);
            let source_key = format!("{source:?}");
            let sample = match samples.get(&source_key) {
                Some(s) => s.clone(),
                None => {
                    let s = sample(&ctx.client, svc, &source, al).await;
                    samples.insert(source_key, s.clone());
                    s
                }
            };
            let series_key = format!("{key}/{}/{}", p.policy_name, al.alarm_name);
            match &sample {
                Err(u) if u.unavailable => {
                    if memory.reported.get(&series_key) != Some(&u.reason) {
                        memory.reported.insert(series_key.clone(), u.reason.clone());
                        unavailable.push(format!(
                            "Alarm {} of policy {}: {}",
                            al.alarm_name, p.policy_name, u.reason
                        ));
                    }
                }
                _ => {
                    memory.reported.remove(&series_key);
                }
            }
            let series = memory.series.entry(series_key).or_default();
            if series.state.is_none() {
                let old_alarm =
                    old.and_then(|o| o.alarms.iter().find(|x| x.alarm_name == al.alarm_name));
                series.state = Some(old_alarm.map_or(AlarmState::InsufficientData, |x| {
                    AlarmState::parse(&x.state)
                }));
                series.reason = old_alarm.and_then(|x| x.reason.clone());
            }
            let period = i64::from(al.period.max(10));
            let n = i64::from(al.evaluation_periods.max(1));
            let idx = now.as_second().div_euclid(period);
            if let Ok(v) = &sample {
                series.samples.entry(idx).or_default().extend(v);
            }
            series.samples.retain(|i, _| *i >= idx - n);
            let ended = series.seen.is_some_and(|s| idx > s);
            series.seen = Some(idx);
            if ended {
                let dps: Vec<Option<f64>> = (idx - n..idx)
                    .map(|i| {
                        series
                            .samples
                            .get(&i)
                            .and_then(|s| alarm::datapoint(al.statistic, s))
                    })
                    .collect();
                let current_state = series.state.unwrap_or(AlarmState::InsufficientData);
                let ev = alarm::evaluate(al, &dps, current_state);
                let mut reason = ev.reason;
                if let Err(why) = &sample {
                    reason = format!("{reason} {}", why.reason);
                }
                if ev.state == AlarmState::Alarm && al.actions_enabled != Some(false) {
                    let value = alarm::aggregate(al, &dps, cfg.metric_aggregation_type.as_deref());
                    match (value, &steps_problem) {
                        (_, Some(problem)) => {
                            reason = format!("{reason} The policy cannot act: {problem}.");
                        }
                        (None, None) => {}
                        (Some(value), None) => {
                            let cooldown_secs =
                                cfg.cooldown.map_or(DEFAULT_COOLDOWN_SECONDS, i64::from);
                            let cooldown = ps
                                .last_adjusted_at
                                .as_ref()
                                .filter(|t| {
                                    t.0.checked_add(SignedDuration::from_secs(cooldown_secs))
                                        .is_ok_and(|end| now < end)
                                })
                                .map(|_| {
                                    let before = ps.capacity_before.unwrap_or(desired);
                                    Cooldown {
                                        capacity_before: before,
                                        scaled_out: ps.adjusted_to.is_some_and(|to| to > before),
                                    }
                                });
                            match step::invoke(
                                cfg,
                                al.threshold,
                                alarm::breaches_above(al.comparison_operator),
                                value,
                                desired,
                                bounds,
                                cooldown,
                                (
                                    suspended.dynamic_scaling_in_suspended == Some(true),
                                    suspended.dynamic_scaling_out_suspended == Some(true),
                                ),
                            ) {
                                Decision::Set {
                                    to,
                                    capacity_before,
                                } => {
                                    ps.last_adjusted_at = Some(Time(now));
                                    ps.capacity_before = Some(capacity_before);
                                    ps.adjusted_to = Some(to);
                                    desired = to;
                                    activities.push(Activity {
                                        cause: format!(
                                            "monitor alarm {} in state ALARM triggered policy {}",
                                            al.alarm_name, p.policy_name
                                        ),
                                        to,
                                    });
                                }
                                Decision::Keep(why) => {
                                    reason = format!("{reason} The policy did not act: {why}.");
                                }
                            }
                        }
                    }
                }
                series.state = Some(ev.state);
                series.reason = Some(reason);
            }
            if let Err(u) = &sample
                && !series
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains(&u.reason))
            {
                // Why there is no datapoint says more than "Insufficient Data".
                series.reason = Some(u.reason.clone());
            }
            ps.alarms.push(AlarmStatus {
                alarm_name: al.alarm_name.clone(),
                state: series
                    .state
                    .unwrap_or(AlarmState::InsufficientData)
                    .as_str()
                    .to_owned(),
                reason: series.reason.clone(),
            });
        }
        policies.push(ps);
    }

    // An alarm whose metric cannot be read is said once (before any write that may
    // conflict: the Event does not depend on the status).
    // One Event for the alarms newly found unreadable (the recorder folds Events of one
    // object, reason and action into one series).
    if !unavailable.is_empty() {
        ctx.event(
            svc,
            EventType::Warning,
            EventReason::MetricUnavailable,
            EventAction::ReadMetric,
            unavailable.join(" "),
        )
        .await;
    }

    // 3. Status and events first, on the copy just read (a conflict retries next tick,
    //    before anything was changed), then the desired count.
    let (ns, name) = (svc.namespace().unwrap_or_default(), svc.name_any());
    let api: Api<EcsService> = Api::namespaced(ctx.client.clone(), &ns);
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let next = AutoScalingStatus {
        min_capacity: Some(bounds.0),
        max_capacity: Some(bounds.1),
        policies,
        scheduled_actions: actions,
        last_activity: activities
            .last()
            .map(|x| format!("{}: {}", x.cause, fulfilled(x.to)))
            .or(prev.last_activity.clone()),
    };
    let recent = memory.recent.entry(key.to_owned()).or_default();
    recent.retain(|e| {
        e.created_at
            .as_ref()
            .is_some_and(|t| t.0.checked_add(KEEP_EVENTS).is_ok_and(|end| now < end))
    });
    let messages: Vec<String> = activities.iter().map(|x| fulfilled(x.to)).collect();
    let mut events = merge_events(&status.events, messages.clone(), &Time(now));
    let added: Vec<ServiceEvent> = events.iter().take(messages.len()).cloned().collect();
    // Ours that a concurrent write dropped, back in their place (newest first).
    let dropped: Vec<ServiceEvent> = recent
        .iter()
        .filter(|e| !status.events.contains(e))
        .cloned()
        .collect();
    if !dropped.is_empty() {
        events.extend(dropped);
        events.sort_by(|a, b| {
            b.created_at
                .as_ref()
                .map(|t| t.0)
                .cmp(&a.created_at.as_ref().map(|t| t.0))
        });
        events.truncate(EVENTS_KEPT);
    }
    if next == prev && events == status.events {
        return Ok(());
    }
    let mut body = json!({"status": {"autoScaling": merge_patch_value(&next)}});
    if events != status.events {
        body["status"]["events"] = json!(events);
    }
    if let Some(rv) = svc.resource_version() {
        body["metadata"] = json!({"resourceVersion": rv});
    }
    api.patch_status(&name, &pp, &Patch::Merge(body))
        .await
        .map_err(api_err(format!(
            "write status.autoScaling of EcsService {ns}/{name}"
        )))?;
    recent.extend(added);
    if desired != current {
        api.patch_scale(
            &name,
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": desired}})),
        )
        .await
        .map_err(api_err(format!(
            "scale EcsService {ns}/{name} to {desired}"
        )))?;
    }
    for x in &activities {
        ctx.event(
            svc,
            EventType::Normal,
            EventReason::ServiceEvent,
            EventAction::Scale,
            format!("{}: {}", x.cause, fulfilled(x.to)),
        )
        .await;
    }
    Ok(())
}

/// `status.autoScaling` as a merge patch that replaces it whole: fields it no longer has are
/// written as null (a merge patch keeps what it does not name).
fn merge_patch_value(st: &AutoScalingStatus) -> Value {
    let mut v = serde_json::to_value(st).unwrap_or_else(|_| json!({}));
    for k in [
        "minCapacity",
        "maxCapacity",
        "policies",
        "scheduledActions",
        "lastActivity",
    ] {
        if v.get(k).is_none() {
            v[k] = Value::Null;
        }
    }
    v
}

/// Why an alarm has no sample this tick.
#[derive(Clone, Debug, PartialEq)]
struct NoSample {
    /// The alarm's reason in status.
    reason: String,
    /// The metrics API is not served or the metric is not mapped (a lasting condition,
    /// published once as an Event), not a passing gap (no pod has metrics yet).
    unavailable: bool,
}

impl NoSample {
    fn passing(reason: String) -> Self {
        NoSample {
            reason,
            unavailable: false,
        }
    }
}

/// The samples of `alarm`'s metric now (one per pod for a pods metric, else one), or why
/// there are none.
async fn sample(
    client: &Client,
    svc: &EcsService,
    source: &MetricSource,
    alarm: &MetricAlarm,
) -> Result<Vec<f64>, NoSample> {
    let ns = svc.namespace().unwrap_or_default();
    let shown = format!("{} {}", alarm.namespace, alarm.metric_name);
    match source {
        MetricSource::Unmapped(why) => Err(NoSample {
            reason: format!("{why}; the alarm stays INSUFFICIENT_DATA."),
            unavailable: true,
        }),
        MetricSource::Utilization(resource) => utilization(client, &ns, &svc.name_any(), resource)
            .await
            .map(|v| vec![v]),
        MetricSource::External { metric, .. } => external(client, &ns, metric, &source.selector())
            .await
            .map(|v| vec![v])
            .map_err(|e| e.about(&shown, EXTERNAL, metric)),
        MetricSource::Pods { metric, .. } => {
            match pods_metric(client, &ns, &svc.name_any(), metric, &source.selector()).await {
                Ok(v) => Ok(v),
                Err(Failure::NotServed(custom)) => {
                    match external(client, &ns, metric, &source.selector()).await {
                        Ok(v) => Ok(vec![v]),
                        Err(Failure::NotServed(ext)) => Err(NoSample {
                            reason: format!(
                                "{shown} is read as {metric} from the custom metrics API ({CUSTOM}), else the external metrics API ({EXTERNAL}), and this cluster serves neither ({custom}; {ext}): no metrics adapter is installed; the alarm stays INSUFFICIENT_DATA."
                            ),
                            unavailable: true,
                        }),
                        Err(e) => Err(e.about(&shown, EXTERNAL, metric)),
                    }
                }
                Err(e) => Err(e.about(&shown, CUSTOM, metric)),
            }
        }
    }
}

/// The custom metrics API group.
const CUSTOM: &str = "custom.metrics.k8s.io";
/// The external metrics API group.
const EXTERNAL: &str = "external.metrics.k8s.io";

/// Why a metric could not be read from a metrics API.
#[derive(Debug)]
enum Failure {
    /// The cluster does not serve the API (no APIService, or its adapter is unavailable).
    NotServed(String),
    /// The API is served; the metric is not (or the request failed).
    Other(String),
}

impl Failure {
    fn about(self, shown: &str, api: &str, metric: &str) -> NoSample {
        match self {
            Failure::NotServed(why) => NoSample {
                reason: format!(
                    "{shown} is read as {metric} from the {} ({api}), which this cluster does not serve ({why}): no metrics adapter is installed; the alarm stays INSUFFICIENT_DATA.",
                    api_words(api)
                ),
                unavailable: true,
            },
            Failure::Other(why) => NoSample::passing(format!(
                "{shown} is read as {metric} from the {} ({api}), which has no value for it: {why}.",
                api_words(api)
            )),
        }
    }
}

fn api_words(api: &str) -> &'static str {
    if api == CUSTOM {
        "custom metrics API"
    } else {
        "external metrics API"
    }
}

/// A GET of `url` on the API server, as JSON; a failure says whether `group` is served at
/// all (asked of the API server's discovery only after the request failed).
async fn get_metric(client: &Client, group: &str, url: String) -> Result<Value, Failure> {
    let get = |url: String| -> Result<http::Request<Vec<u8>>, Failure> {
        http::Request::get(url)
            .body(Vec::new())
            .map_err(|e| Failure::Other(e.to_string()))
    };
    match client.request::<Value>(get(url)?).await {
        Ok(v) => Ok(v),
        Err(e) => {
            let discovery = client
                .request::<Value>(get(format!("/apis/{group}/v1beta1"))?)
                .await;
            match discovery {
                Err(kube::Error::Api(s)) if matches!(s.code, 404 | 503) => Err(Failure::NotServed(
                    format!("GET /apis/{group}/v1beta1 answers {}", s.code),
                )),
                _ => Err(Failure::Other(e.to_string())),
            }
        }
    }
}

/// The values of `metric` for the service's pods from the custom metrics API, one per pod.
async fn pods_metric(
    client: &Client,
    ns: &str,
    service: &str,
    metric: &str,
    selector: &str,
) -> Result<Vec<f64>, Failure> {
    let mut labels = format!("{}={service}", names::LABEL_SERVICE);
    if !selector.is_empty() {
        labels.push(',');
        labels.push_str(selector);
    }
    let url = format!(
        "/apis/{CUSTOM}/v1beta1/namespaces/{ns}/pods/%2A/{metric}?labelSelector={}",
        query(&labels)
    );
    let list = get_metric(client, CUSTOM, url).await?;
    let values = values(&list);
    if values.is_empty() {
        return Err(Failure::Other("no pod of the service has a value".into()));
    }
    Ok(values)
}

/// A label selector as a query value.
fn query(selector: &str) -> String {
    selector.replace('=', "%3D").replace(',', "%2C")
}

/// The `value`s of a metrics API list.
fn values(list: &Value) -> Vec<f64> {
    list.get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("value").and_then(Value::as_str))
        .filter_map(quantity)
        .collect()
}

/// The service's pods' usage of `resource` over what they reserve, in percent.
async fn utilization(
    client: &Client,
    ns: &str,
    service: &str,
    resource: &str,
) -> Result<f64, NoSample> {
    let selector = format!("{}={service}", names::LABEL_SERVICE);
    let lp = ListParams::default().labels(&selector);
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| NoSample::passing(format!("cannot list the service's pods: {e}")))?;
    let ar = ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    };
    let metrics = Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar)
        .list(&lp)
        .await
        .map_err(|e| NoSample {
            unavailable: matches!(&e, kube::Error::Api(s) if matches!(s.code, 404 | 503)),
            reason: format!("the resource metrics API (metrics.k8s.io) is not available: {e}"),
        })?;
    let (mut used, mut reserved) = (0.0, 0.0);
    for m in &metrics.items {
        let Some(pod) = pods.items.iter().find(|p| p.name_any() == m.name_any()) else {
            continue;
        };
        let Some(capacity) = pod_reservation(pod, resource) else {
            continue;
        };
        let usage: f64 = m
            .data
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                c.pointer(&format!("/usage/{resource}"))
                    .and_then(Value::as_str)
            })
            .filter_map(quantity)
            .sum();
        used += usage;
        reserved += capacity;
    }
    if reserved <= 0.0 {
        return Err(NoSample::passing(format!(
            "no pod of the service has {resource} metrics and a {resource} reservation yet"
        )));
    }
    Ok(used / reserved * 100.0)
}

/// What one pod reserves of `resource`: its pod-level request (the task size), else the sum
/// of its containers' requests (else limits).
fn pod_reservation(pod: &Pod, resource: &str) -> Option<f64> {
    let spec = pod.spec.as_ref()?;
    let of = |r: &Option<ResourceRequirements>| -> Option<f64> {
        let r = r.as_ref()?;
        r.requests
            .as_ref()
            .and_then(|m| m.get(resource))
            .or_else(|| r.limits.as_ref().and_then(|m| m.get(resource)))
            .and_then(|q| quantity(&q.0))
    };
    if let Some(v) = of(&spec.resources) {
        return Some(v);
    }
    let sum: f64 = spec
        .containers
        .iter()
        .filter_map(|c| of(&c.resources))
        .sum();
    (sum > 0.0).then_some(sum)
}

/// The sum of the values an External metric serves for `selector`.
async fn external(client: &Client, ns: &str, metric: &str, selector: &str) -> Result<f64, Failure> {
    let mut url = format!("/apis/{EXTERNAL}/v1beta1/namespaces/{ns}/{metric}");
    if !selector.is_empty() {
        url.push_str("?labelSelector=");
        url.push_str(&query(selector));
    }
    let list = get_metric(client, EXTERNAL, url).await?;
    let values = values(&list);
    if values.is_empty() {
        return Err(Failure::Other("no series served".into()));
    }
    Ok(values.iter().sum())
}

/// A Kubernetes quantity as a number (`250m` → 0.25, `1Gi` → 1073741824, `1e3` → 1000).
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    let v = n * factor;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_as_metrics_server_and_kubernetes_write_them() {
        assert_eq!(quantity("900m"), Some(0.9));
        assert_eq!(quantity("1"), Some(1.0));
        assert_eq!(
            quantity("123456789n").map(|v| (v * 1e9).round()),
            Some(123_456_789.0)
        );
        assert_eq!(quantity("256Mi"), Some(268_435_456.0));
        assert_eq!(quantity("1e3"), Some(1000.0));
        assert_eq!(quantity("2k"), Some(2000.0));
        assert_eq!(quantity("lots"), None);
        assert_eq!(quantity("1Zi"), None);
    }

    #[test]
    fn a_metrics_api_not_served_is_a_lasting_unavailability_named_in_the_alarms_reason() {
        let not_served = Failure::NotServed("external.metrics.k8s.io/v1beta1: 404 NotFound".into())
            .about(
                "AWS/SQS ApproximateNumberOfMessagesVisible",
                EXTERNAL,
                "aws_sqs_x",
            );
        assert!(not_served.unavailable);
        assert!(
            not_served.reason.contains(
                "from the external metrics API (external.metrics.k8s.io), which this cluster does not serve"
            ),
            "{}",
            not_served.reason
        );
        let missing =
            Failure::Other("no series served".into()).about("MyApp Depth", CUSTOM, "myapp_depth");
        assert!(!missing.unavailable);
        assert!(
            missing
                .reason
                .contains("custom metrics API (custom.metrics.k8s.io), which has no value for it")
        );
    }

    #[test]
    fn a_pods_metric_selects_the_services_pods_and_the_alarms_dimensions() {
        assert_eq!(
            query("ecsplane.io/service=web,queue=jobs"),
            "ecsplane.io/service%3Dweb%2Cqueue%3Djobs"
        );
        assert_eq!(
            values(&json!({"items": [{"value": "250m"}, {"value": "3"}, {"novalue": 1}]})),
            vec![0.25, 3.0]
        );
    }

    #[test]
    fn the_hpa_follows_the_bounds_scheduled_actions_set_and_only_then() {
        let mut a: AutoScaling = serde_json::from_value(json!({
            "minCapacity": 1, "maxCapacity": 4,
            "scheduledActions": [{"scheduledActionName": "open", "schedule": "at(2026-01-01T08:00:00)",
                "scalableTargetAction": {"minCapacity": 3, "maxCapacity": 6}}]}))
        .unwrap();
        let status = |lo: Option<i32>, hi: Option<i32>| EcsServiceStatus {
            auto_scaling: Some(AutoScalingStatus {
                min_capacity: lo,
                max_capacity: hi,
                ..AutoScalingStatus::default()
            }),
            ..EcsServiceStatus::default()
        };
        assert_eq!(
            effective_bounds(&a, &status(Some(3), Some(6))),
            Some((3, 6))
        );
        // Not yet run, or run back to the spec's: the spec's bounds.
        assert_eq!(effective_bounds(&a, &EcsServiceStatus::default()), None);
        assert_eq!(effective_bounds(&a, &status(Some(1), Some(4))), None);
        assert_eq!(effective_bounds(&a, &status(Some(3), None)), None);
        // Without scheduled actions the scaler's bounds are the spec's.
        a.scheduled_actions = None;
        assert_eq!(effective_bounds(&a, &status(Some(3), Some(6))), None);
    }

    #[test]
    fn the_status_patch_clears_what_the_status_no_longer_has() {
        let v = merge_patch_value(&AutoScalingStatus {
            min_capacity: Some(1),
            max_capacity: Some(3),
            ..AutoScalingStatus::default()
        });
        assert_eq!(v["minCapacity"], json!(1));
        assert_eq!(v["policies"], Value::Null);
        assert_eq!(v["lastActivity"], Value::Null);
        assert!(
            v.as_object()
                .is_some_and(|o| o.contains_key("scheduledActions"))
        );
    }
}
