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
//! **Metrics.** `AWS/ECS` `CPUUtilization` and `MemoryUtilization` (dimensions ClusterName,
//! ServiceName: the service the policy belongs to) are read from the resource metrics API
//! (`metrics.k8s.io`, metrics-server): the pods' usage over what the pods reserve (the
//! pod-level requests the task size becomes, else the sum of the containers' requests), in
//! percent, as ECS divides the tasks' usage by the task size. Any other metric is read from
//! the external metrics API (`external.metrics.k8s.io`) under the name the HPA uses
//! ([`crate::translate::autoscaling::metric_name`] of `NAMESPACE_METRICNAME`, dimensions as
//! label selector), summed over the series served; when that API or metric is not served the
//! alarm stays INSUFFICIENT_DATA and its reason says so.
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
    AlarmStatus, AutoScaling, AutoScalingStatus, EcsService, MetricAlarm, PolicyStatus, PolicyType,
    ScheduledActionStatus, ServiceEvent,
};
use crate::translate::autoscaling::{label_ok, metric_name};
use crate::translate::names;
use crate::translate::scaling::alarm::{self, AlarmState};
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
    let mut samples: HashMap<String, Result<f64, String>> = HashMap::new();
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
            let source = Source::of(al);
            let sample = match samples.get(&source.key()) {
                Some(s) => s.clone(),
                None => {
                    let s = source.sample(&ctx.client, svc).await;
                    samples.insert(source.key(), s.clone());
                    s
                }
            };
            let series = memory
                .series
                .entry(format!("{key}/{}/{}", p.policy_name, al.alarm_name))
                .or_default();
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
                series.samples.entry(idx).or_default().push(*v);
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
                    reason = format!("{reason} {why}");
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
            } else if let (Err(why), None) = (&sample, &series.reason) {
                series.reason = Some(why.clone());
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

/// Where an alarm's metric comes from.
enum Source {
    /// Pod usage over the pods' reservation, from metrics.k8s.io (`cpu` or `memory`).
    Utilization(&'static str),
    /// An External metric and its label selector.
    External {
        metric: String,
        selector: String,
        shown: String,
    },
}

impl Source {
    fn of(a: &MetricAlarm) -> Self {
        match (a.namespace.as_str(), a.metric_name.as_str()) {
            ("AWS/ECS", "CPUUtilization") => Source::Utilization("cpu"),
            ("AWS/ECS", "MemoryUtilization") => Source::Utilization("memory"),
            (ns, m) => Source::External {
                metric: metric_name(&format!("{ns}_{m}")),
                selector: a
                    .dimensions
                    .iter()
                    .flatten()
                    .filter(|d| label_ok(&d.value))
                    .map(|d| format!("{}={}", metric_name(&d.name), d.value))
                    .collect::<Vec<_>>()
                    .join(","),
                shown: format!("{ns}/{m}"),
            },
        }
    }

    fn key(&self) -> String {
        match self {
            Source::Utilization(r) => (*r).to_owned(),
            Source::External {
                metric, selector, ..
            } => format!("external:{metric}?{selector}"),
        }
    }

    /// One sample now, or why there is none.
    async fn sample(&self, client: &Client, svc: &EcsService) -> Result<f64, String> {
        let ns = svc.namespace().unwrap_or_default();
        match self {
            Source::Utilization(resource) => utilization(client, &ns, &svc.name_any(), resource).await,
            Source::External {
                metric,
                selector,
                shown,
            } => external(client, &ns, metric, selector).await.map_err(|why| {
                format!("{shown} is read from the external metrics API as {metric}, which is not available: {why}.")
            }),
        }
    }
}

/// The service's pods' usage of `resource` over what they reserve, in percent.
async fn utilization(
    client: &Client,
    ns: &str,
    service: &str,
    resource: &str,
) -> Result<f64, String> {
    let selector = format!("{}={service}", names::LABEL_SERVICE);
    let lp = ListParams::default().labels(&selector);
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| format!("cannot list the service's pods: {e}"))?;
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
        .map_err(|e| format!("the resource metrics API (metrics.k8s.io) is not available: {e}"))?;
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
        return Err(format!(
            "no pod of the service has {resource} metrics and a {resource} reservation yet"
        ));
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
async fn external(client: &Client, ns: &str, metric: &str, selector: &str) -> Result<f64, String> {
    let mut url = format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}");
    if !selector.is_empty() {
        url.push_str("?labelSelector=");
        url.push_str(&selector.replace('=', "%3D").replace(',', "%2C"));
    }
    let req = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let list: Value = client.request(req).await.map_err(|e| e.to_string())?;
    let values: Vec<f64> = list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("value").and_then(Value::as_str))
        .filter_map(quantity)
        .collect();
    if values.is_empty() {
        return Err("no series served".into());
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
    fn aws_ecs_cpu_and_memory_come_from_the_resource_metrics_others_from_external_metrics() {
        let a = |ns: &str, m: &str| MetricAlarm {
            namespace: ns.into(),
            metric_name: m.into(),
            dimensions: Some(vec![crate::api::MetricDimension {
                name: "QueueName".into(),
                value: "jobs".into(),
            }]),
            ..MetricAlarm::default()
        };
        assert_eq!(Source::of(&a("AWS/ECS", "CPUUtilization")).key(), "cpu");
        assert_eq!(
            Source::of(&a("AWS/ECS", "MemoryUtilization")).key(),
            "memory"
        );
        assert_eq!(
            Source::of(&a("AWS/SQS", "ApproximateNumberOfMessagesVisible")).key(),
            "external:aws_sqs_approximatenumberofmessagesvisible?queuename=jobs"
        );
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
