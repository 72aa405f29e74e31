//! Application Auto Scaling → a HorizontalPodAutoscaler (autoscaling/v2).
//!
//! **Scale target.** The HPA scales the EcsService itself, through the CRD's scale
//! subresource (`spec.desiredCount`, with `status.runningCount` and `status.selector` for the
//! pod metrics), exactly as Application Auto Scaling changes an ECS service's desiredCount.
//! The operator turns that count, clamped to the scalable target's [min, max]
//! ([`capacity_bounds`]), into the workload's replicas, split across capacity providers: one
//! HPA scales a service of several per-provider Deployments, and a new service starts with
//! desiredCount tasks, not one. Offline (`render`) the HPA needs the operator to act; the
//! report says so.
//!
//! **Metrics.**
//! - `ECSServiceAverageCPUUtilization` / `...MemoryUtilization`: ECS measures utilization
//!   against the task size (task-level cpu/memory, else the sum of container reservations).
//!   Kubernetes' `Utilization` is relative to container requests, which need not add up to the
//!   task size, so the target is written as `AverageValue` = target% × task size: the same
//!   threshold per pod.
//! - `ALBRequestCountPerTarget` → an External metric `alb_request_count_per_target` with labels
//!   `load_balancer` and `target_group` (the names from the resource label), target `Value` =
//!   the target value. The metric is already per target (the ALB's `RequestCountPerTarget`),
//!   so the HPA computes what Application Auto Scaling does, desired = ceil(current × metric /
//!   target); an `AverageValue` target would divide it by the pod count a second time. An
//!   external metrics adapter (KEDA, the CloudWatch adapter) must serve it (docs/render.md).
//! - Customized metrics → an External metric named `NAMESPACE_METRICNAME` (lowercase, `/`
//!   and `.` as `_`) with the dimensions as labels, target `Value`: target tracking scales
//!   proportionally to the metric, as the HPA does with a Value target.
//!
//! **Behaviour.** Application Auto Scaling scales in only when every target-tracking policy
//! allows it, so the largest effective scale-in cooldown of the policies the HPA carries
//! (`scaleInCooldown`, else ECS's default of 300 s) becomes
//! `scaleDown.stabilizationWindowSeconds` (written when a policy sets a cooldown; the HPA's
//! own default is also 300 s). A policy with `disableScaleIn` never scales in, so it has no
//! cooldown to wait for: it, or a suspended scale-in, disables scale-down; a suspended
//! scale-out disables scale-up. Step scaling, predictive scaling, scheduled actions and
//! scale-out cooldowns are reported, not carried.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, ExternalMetricSource, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::report::{ObjectRef, Report};
use super::units;
use kube::Resource;

use crate::api::{AutoScaling, EcsService, PolicyType, PredefinedMetricType, ScalingPolicy};

/// The scale-in cooldown Application Auto Scaling applies to an ECS service's target-tracking
/// policy that sets none, in seconds.
const DEFAULT_SCALE_IN_COOLDOWN: i32 = 300;

/// The most MiB a Kubernetes quantity holds: quantities end at 2^63 − 1 (in bytes for memory).
const MAX_QUANTITY_MIB: u64 = (i64::MAX as u64) >> 20;

/// What the HPA needs besides the autoscaling spec.
pub struct HpaInput<'a> {
    /// The EcsService (findings).
    pub object: &'a ObjectRef,
    /// Name of the HPA and of the EcsService it scales.
    pub name: &'a str,
    /// Namespace.
    pub namespace: Option<&'a str>,
    /// Labels of the HPA.
    pub labels: BTreeMap<String, String>,
    /// CPU units one task may use (task cpu, else the sum of container cpu).
    pub cpu_units: Option<u64>,
    /// MiB one task may use (task memory, else the sum of container memory).
    pub memory_mib: Option<u64>,
    /// The scalable target's effective [min, max] when scheduled actions have changed them
    /// (`status.autoScaling`); `None`: spec.autoScaling's.
    pub effective_bounds: Option<(i32, i32)>,
}

/// The scalable target's [min, max]: `effective` (what scheduled actions set), else
/// minCapacity and maxCapacity; max is never below min. The service's count stays within
/// them, as Application Auto Scaling keeps it.
pub fn capacity_bounds(a: &AutoScaling, effective: Option<(i32, i32)>) -> (i32, i32) {
    let (min, max) = effective.unwrap_or((a.min_capacity, a.max_capacity));
    let min = min.max(0);
    (min, max.max(min))
}

/// The External metric name of a CloudWatch metric: lowercase, every character other than a
/// letter or digit as `_` (`AWS/SQS` + `ApproximateNumberOfMessagesVisible` →
/// `aws_sqs_approximatenumberofmessagesvisible`). The operator's scaler reads alarms' metrics
/// under the same name.
pub fn metric_name(s: &str) -> String {
    s.to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Whether `v` can be a label value (so a metric dimension can select by it).
pub fn label_ok(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Translates one policy into a metric, or says why not.
fn metric(p: &ScalingPolicy, input: &HpaInput<'_>, report: &mut Report) -> Option<MetricSpec> {
    let field = format!("spec.autoScaling.scalingPolicies[{}]", p.policy_name);
    let obj = input.object;
    match p.policy_type {
        PolicyType::StepScaling => {
            report.not_carried(obj, field.clone(), "step scaling needs the operator: its scaler evaluates the policy's alarms and sets desiredCount through the scale subresource (docs/operator.md, Step scaling); an offline manifest has no alarm evaluation, so the rendered objects keep desiredCount");
            if p.alarms.as_ref().is_none_or(|a| a.is_empty()) {
                report.note(obj, format!("{field}.alarms"), "no alarm invokes this policy, so it never acts (on AWS the CloudWatch alarm's AlarmActions name it)");
            }
            return None;
        }
        PolicyType::PredictiveScaling => {
            report.not_carried(
                obj,
                field.clone(),
                "predictive scaling has no Kubernetes equivalent",
            );
            return None;
        }
        PolicyType::TargetTrackingScaling => {}
    }
    let tt = p.target_tracking_scaling_policy_configuration.as_ref()?;
    if tt.scale_out_cooldown.is_some() {
        report.not_carried(
            obj,
            format!("{field}.scaleOutCooldown"),
            "the HPA scales up without a cooldown (its scale-up policies limit the rate instead)",
        );
    }
    if let Some(pre) = &tt.predefined_metric_specification {
        let resource = |name: &str, per_pod: Option<Quantity>| -> Option<MetricSpec> {
            Some(MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: name.into(),
                    target: MetricTarget {
                        type_: "AverageValue".into(),
                        average_value: per_pod,
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            })
        };
        return match pre.predefined_metric_type {
            PredefinedMetricType::EcsServiceAverageCpuUtilization => match input.cpu_units {
                Some(u) if u > 0 => {
                    let millis =
                        (u as f64 * 1000.0 / 1024.0 * tt.target_value / 100.0).round() as u64;
                    resource("cpu", Some(Quantity(format!("{}m", millis.max(1)))))
                }
                _ => {
                    report.not_carried(obj, field.clone(), "CPU utilization needs a task cpu or container cpu reservations to measure against");
                    None
                }
            },
            PredefinedMetricType::EcsServiceAverageMemoryUtilization => match input.memory_mib {
                Some(m) if m > 0 => {
                    let mib = (m as f64 * tt.target_value / 100.0).round() as u64;
                    if mib > MAX_QUANTITY_MIB {
                        report.not_carried(obj, field.clone(), format!("a memory target of {}% of {m} MiB is more than a Kubernetes quantity holds (2^63 - 1 bytes)", tt.target_value));
                        return None;
                    }
                    resource("memory", Some(units::memory_quantity(mib.max(1))))
                }
                _ => {
                    report.not_carried(obj, field.clone(), "memory utilization needs a task memory or container memory to measure against");
                    None
                }
            },
            PredefinedMetricType::AlbRequestCountPerTarget => {
                let label = pre.resource_label.as_deref().unwrap_or_default();
                // app/LB/ID/targetgroup/TG/ID
                let parts: Vec<&str> = label.split('/').collect();
                let mut selector = BTreeMap::new();
                if let (Some(lb), Some(tg)) = (parts.get(1), parts.get(4)) {
                    selector.insert("load_balancer".to_owned(), lb.to_string());
                    selector.insert("target_group".to_owned(), tg.to_string());
                }
                report.approximated(obj, field.clone(), "ALBRequestCountPerTarget becomes the External metric alb_request_count_per_target (the target group's RequestCountPerTarget, Sum per minute, labels load_balancer and target_group), which an external metrics adapter (KEDA, the CloudWatch adapter) must serve; its Value target makes the HPA compute ceil(current x metric / target), as Application Auto Scaling does");
                Some(external(
                    "alb_request_count_per_target",
                    selector,
                    "Value",
                    tt.target_value,
                ))
            }
        };
    }
    let c = tt.customized_metric_specification.as_ref()?;
    if c.metrics.is_some() {
        report.not_carried(obj, field.clone(), "metric math has no HPA equivalent");
        return None;
    }
    let name = metric_name(&format!(
        "{}_{}",
        c.namespace.as_deref().unwrap_or(""),
        c.metric_name.as_deref().unwrap_or("")
    ));
    let mut selector = BTreeMap::new();
    for d in c.dimensions.iter().flatten() {
        if label_ok(&d.value) {
            selector.insert(metric_name(&d.name), d.value.clone());
        } else {
            report.not_carried(
                obj,
                field.clone(),
                format!(
                    "dimension {} = {:?} is not a valid label value",
                    d.name, d.value
                ),
            );
        }
    }
    report.approximated(obj, field.clone(), format!("the CloudWatch metric becomes the External metric {name}, which an external metrics adapter must serve; statistic {} is the adapter's to apply", c.statistic.as_deref().unwrap_or("Average")));
    Some(external(&name, selector, "Value", tt.target_value))
}

fn external(
    name: &str,
    selector: BTreeMap<String, String>,
    target_type: &str,
    value: f64,
) -> MetricSpec {
    let q = Quantity(if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        format!("{}m", (value * 1000.0).round() as i64)
    });
    MetricSpec {
        type_: "External".into(),
        external: Some(ExternalMetricSource {
            metric: MetricIdentifier {
                name: name.into(),
                selector: (!selector.is_empty()).then_some(LabelSelector {
                    match_labels: Some(selector),
                    match_expressions: None,
                }),
            },
            target: MetricTarget {
                type_: target_type.into(),
                average_value: (target_type == "AverageValue").then(|| q.clone()),
                value: (target_type == "Value").then_some(q),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    }
}

/// The scale-down stabilization window for the target-tracking policies the HPA carries: the
/// largest effective scale-in cooldown (a policy's `scaleInCooldown`, else
/// [`DEFAULT_SCALE_IN_COOLDOWN`]) among the policies that scale in, because Application Auto
/// Scaling scales in only when every policy allows it. `None` when no policy sets a cooldown
/// (the HPA's default window is the same 300 s) or none scales in.
fn scale_down_window(policies: &[&ScalingPolicy]) -> Option<i32> {
    let scaling_in: Vec<_> = policies
        .iter()
        .filter_map(|p| p.target_tracking_scaling_policy_configuration.as_ref())
        .filter(|t| t.disable_scale_in != Some(true))
        .collect();
    if scaling_in.iter().all(|t| t.scale_in_cooldown.is_none()) {
        return None;
    }
    scaling_in
        .iter()
        .map(|t| t.scale_in_cooldown.unwrap_or(DEFAULT_SCALE_IN_COOLDOWN))
        .max()
}

/// The HPA for `auto_scaling`, or `None` when no policy can be expressed (an HPA without
/// metrics would scale on 80% CPU, which ECS never asked for).
pub fn hpa(
    a: &AutoScaling,
    input: &HpaInput<'_>,
    report: &mut Report,
) -> Option<HorizontalPodAutoscaler> {
    let obj = input.object;
    let AutoScaling {
        min_capacity: _, // read through capacity_bounds, with the effective bounds
        max_capacity: _,
        scaling_policies,
        scheduled_actions,
        suspended_state,
    } = a;
    let (metrics, carried): (Vec<MetricSpec>, Vec<&ScalingPolicy>) = scaling_policies
        .iter()
        .flatten()
        .filter_map(|p| metric(p, input, report).map(|m| (m, p)))
        .unzip();
    if scheduled_actions.as_ref().is_some_and(|s| !s.is_empty()) {
        for (i, action) in scheduled_actions.iter().flatten().enumerate() {
            let field = format!("spec.autoScaling.scheduledActions[{i}]");
            match crate::translate::scaling::schedule::Timing::of(action) {
                Ok(_) => report.not_carried(obj, field, format!("scheduled action {} ({}) needs the operator: its scaler runs it on schedule and sets the effective min/max (status.autoScaling) and desiredCount (docs/operator.md, Scheduled scaling); an offline manifest keeps spec.autoScaling's bounds", action.scheduled_action_name, action.schedule)),
                Err(e) => report.not_carried(obj, field, format!("scheduled action {} never runs: {e}", action.scheduled_action_name)),
            }
        }
    }
    if metrics.is_empty() {
        report.not_carried(obj, "spec.autoScaling", "no scaling policy can be expressed as an HPA metric, so no HPA is created and desiredCount applies");
        return None;
    }
    let (mut min, max) = capacity_bounds(a, input.effective_bounds);
    if min < 1 {
        min = 1;
        report.approximated(
            obj,
            "spec.autoScaling.minCapacity",
            "an HPA cannot scale to zero without the HPAScaleToZero feature gate: minReplicas is 1",
        );
    }
    let max = max.max(min);
    let cooldown = scale_down_window(&carried);
    let no_scale_in = scaling_policies
        .iter()
        .flatten()
        .filter_map(|p| p.target_tracking_scaling_policy_configuration.as_ref())
        .any(|t| t.disable_scale_in == Some(true))
        || suspended_state
            .as_ref()
            .and_then(|s| s.dynamic_scaling_in_suspended)
            == Some(true);
    let no_scale_out = suspended_state
        .as_ref()
        .and_then(|s| s.dynamic_scaling_out_suspended)
        == Some(true);
    let scale_down = if no_scale_in || cooldown.is_some() {
        Some(HPAScalingRules {
            stabilization_window_seconds: cooldown,
            select_policy: no_scale_in.then(|| "Disabled".to_owned()),
            ..HPAScalingRules::default()
        })
    } else {
        None
    };
    let scale_up = no_scale_out.then(|| HPAScalingRules {
        select_policy: Some("Disabled".into()),
        ..HPAScalingRules::default()
    });
    if scaling_policies
        .iter()
        .flatten()
        .filter(|p| p.policy_type == PolicyType::TargetTrackingScaling)
        .count()
        > 1
    {
        report.approximated(obj, "spec.autoScaling.scalingPolicies", "several target-tracking policies: the HPA follows the metric asking for the most replicas (ECS scales out if any policy asks and in only if all do, which agrees); per-policy cooldowns become one scale-down window (the largest)");
    }
    Some(HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(input.name.to_owned()),
            namespace: input.namespace.map(str::to_owned),
            labels: Some(input.labels.clone()),
            ..ObjectMeta::default()
        },
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some(EcsService::api_version(&()).into_owned()),
                kind: EcsService::kind(&()).into_owned(),
                name: input.name.to_owned(),
            },
            min_replicas: Some(min),
            max_replicas: max,
            metrics: Some(metrics),
            behavior: (scale_down.is_some() || scale_up.is_some()).then_some(
                HorizontalPodAutoscalerBehavior {
                    scale_down,
                    scale_up,
                },
            ),
        },
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(a: serde_json::Value) -> (serde_json::Value, Report) {
        let a: AutoScaling = serde_json::from_value(a).unwrap();
        let obj = ObjectRef::new("EcsService", None, "web");
        let mut report = Report::default();
        let h = hpa(
            &a,
            &HpaInput {
                object: &obj,
                name: "web",
                namespace: None,
                labels: BTreeMap::new(),
                cpu_units: Some(1024),
                memory_mib: Some(2048),
                effective_bounds: None,
            },
            &mut report,
        );
        (serde_json::to_value(h).unwrap(), report)
    }

    #[test]
    fn cpu_and_memory_target_tracking_become_per_pod_average_values_of_the_task_size() {
        let (h, _) = run(
            json!({"minCapacity": 2, "maxCapacity": 10, "scalingPolicies": [
            {"policyName": "cpu", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {
                "targetValue": 50.0, "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}, "scaleInCooldown": 120}},
            {"policyName": "mem", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {
                "targetValue": 75.0, "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageMemoryUtilization"}, "disableScaleIn": true}}]}),
        );
        assert_eq!(
            h,
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "labels": {}},
            "spec": {"scaleTargetRef": {"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService", "name": "web"},
                "minReplicas": 2, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "500m"}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1536Mi"}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120, "selectPolicy": "Disabled"}}}})
        );
    }

    #[test]
    fn the_effective_bounds_scheduled_actions_set_become_the_hpas_replica_bounds() {
        let a: AutoScaling = serde_json::from_value(json!({"minCapacity": 1, "maxCapacity": 5,
            "scalingPolicies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling",
                "targetTrackingScalingPolicyConfiguration": {"targetValue": 50.0,
                    "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}],
            "scheduledActions": [{"scheduledActionName": "opening", "schedule": "cron(0 8 ? * MON-FRI *)",
                "scalableTargetAction": {"minCapacity": 3}}]}))
        .unwrap();
        let obj = ObjectRef::new("EcsService", None, "web");
        let bounds = |effective: Option<(i32, i32)>| {
            let mut report = Report::default();
            let h = hpa(
                &a,
                &HpaInput {
                    object: &obj,
                    name: "web",
                    namespace: None,
                    labels: BTreeMap::new(),
                    cpu_units: Some(1024),
                    memory_mib: None,
                    effective_bounds: effective,
                },
                &mut report,
            )
            .unwrap();
            (h.spec.min_replicas, h.spec.max_replicas, report)
        };
        let (min, max, report) = bounds(Some((3, 5)));
        assert_eq!((min, max), (Some(3), 5));
        // Offline: the spec's bounds, and the schedule needs the operator.
        let (min, max, report_offline) = bounds(None);
        assert_eq!((min, max), (Some(1), 5));
        for r in [report, report_offline] {
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.field == "spec.autoScaling.scheduledActions[0]"
                        && f.message.contains("needs the operator"))
            );
        }
    }

    #[test]
    fn a_memory_target_beyond_what_a_quantity_holds_is_reported_not_wrapped() {
        let (h, report) = run(
            json!({"minCapacity": 1, "maxCapacity": 3, "scalingPolicies": [
            {"policyName": "mem", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {
                "targetValue": 1e15, "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageMemoryUtilization"}}}]}),
        );
        assert_eq!(h, json!(null));
        assert!(
            report
                .to_string()
                .contains("more than a Kubernetes quantity holds"),
            "{report}"
        );
        // The largest targetValue the CRD accepts stays exact for an External metric.
        let (h, _) = run(request_count_policy(1e15));
        assert_eq!(
            h["spec"]["metrics"][0]["external"]["target"]["value"],
            json!("1000000000000000")
        );
    }

    #[test]
    fn step_scaling_alone_creates_no_hpa_and_is_reported() {
        let (h, report) = run(
            json!({"minCapacity": 1, "maxCapacity": 3, "scalingPolicies": [
            {"policyName": "step", "policyType": "StepScaling", "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity"}}]}),
        );
        assert_eq!(h, json!(null));
        assert_eq!(report.counts(), (1, 0, 2));
    }

    #[test]
    fn step_and_scheduled_scaling_are_reported_as_needing_the_operator_by_field() {
        let (_, report) = run(json!({"minCapacity": 1, "maxCapacity": 3,
            "scalingPolicies": [{"policyName": "out", "policyType": "StepScaling",
                "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity"}}],
            "scheduledActions": [
                {"scheduledActionName": "opening", "schedule": "cron(0 8 ? * MON-FRI *)",
                 "timezone": "Europe/Paris", "scalableTargetAction": {"minCapacity": 3}},
                {"scheduledActionName": "typo", "schedule": "cron(0 8 * * *)",
                 "scalableTargetAction": {"minCapacity": 3}}]}));
        let says = |field: &str, words: &str| {
            report
                .findings
                .iter()
                .any(|f| f.field == field && f.message.contains(words))
        };
        assert!(says(
            "spec.autoScaling.scalingPolicies[out]",
            "step scaling needs the operator"
        ));
        assert!(says(
            "spec.autoScaling.scalingPolicies[out].alarms",
            "never acts"
        ));
        assert!(says(
            "spec.autoScaling.scheduledActions[0]",
            "opening (cron(0 8 ? * MON-FRI *)) needs the operator"
        ));
        assert!(says(
            "spec.autoScaling.scheduledActions[1]",
            "never runs: cron(0 8 * * *): 5 fields"
        ));
    }

    /// The replica count the HPA controller computes for one External metric (Kubernetes'
    /// horizontal pod autoscaling algorithm, without its 10% tolerance): a `Value` target
    /// scales the current count by metric / target; an `AverageValue` target first divides
    /// the metric by the current count.
    fn hpa_desired_replicas(metric: &serde_json::Value, current: u32, value: f64) -> u32 {
        let target = &metric["external"]["target"];
        let quantity = |q: &serde_json::Value| -> f64 {
            let q = q.as_str().unwrap();
            match q.strip_suffix('m') {
                Some(milli) => milli.parse::<f64>().unwrap() / 1000.0,
                None => q.parse().unwrap(),
            }
        };
        let ratio = match target["type"].as_str().unwrap() {
            "Value" => value / quantity(&target["value"]),
            "AverageValue" => value / (quantity(&target["averageValue"]) * f64::from(current)),
            other => panic!("unexpected target type {other}"),
        };
        (ratio * f64::from(current)).ceil() as u32
    }

    fn request_count_policy(target: f64) -> serde_json::Value {
        json!({"minCapacity": 1, "maxCapacity": 20, "scalingPolicies": [
            {"policyName": "rps", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {
                "targetValue": target, "predefinedMetricSpecification": {"predefinedMetricType": "ALBRequestCountPerTarget",
                "resourceLabel": "app/my-alb/123/targetgroup/web-tg/456"}}}]})
    }

    #[test]
    fn request_count_per_target_becomes_an_external_value_of_the_per_target_metric() {
        let (h, _) = run(request_count_policy(1000.0));
        assert_eq!(
            h["spec"]["metrics"][0],
            json!({"type": "External", "external": {
            "metric": {"name": "alb_request_count_per_target", "selector": {"matchLabels": {"load_balancer": "my-alb", "target_group": "web-tg"}}},
            "target": {"type": "Value", "value": "1000"}}})
        );
    }

    #[test]
    fn five_tasks_at_2000_requests_per_target_with_target_1000_scale_to_10_as_on_ecs() {
        let (h, _) = run(request_count_policy(1000.0));
        // Application Auto Scaling: ceil(5 × 2000 / 1000) = 10.
        assert_eq!(
            hpa_desired_replicas(&h["spec"]["metrics"][0], 5, 2000.0),
            10
        );
        // And back in when the load per target halves, then a fractional target.
        assert_eq!(hpa_desired_replicas(&h["spec"]["metrics"][0], 10, 500.0), 5);
        let (h, _) = run(request_count_policy(1500.5));
        assert_eq!(
            h["spec"]["metrics"][0]["external"]["target"],
            json!({"type": "Value", "value": "1500500m"})
        );
        assert_eq!(hpa_desired_replicas(&h["spec"]["metrics"][0], 3, 3001.0), 6);
    }

    fn two_policies(cpu_cooldown: Option<i32>, memory_cooldown: Option<i32>) -> serde_json::Value {
        let policy = |name: &str, metric: &str, cooldown: Option<i32>| {
            let mut config = json!({"targetValue": 50.0,
                "predefinedMetricSpecification": {"predefinedMetricType": metric}});
            if let Some(c) = cooldown {
                config["scaleInCooldown"] = json!(c);
            }
            json!({"policyName": name, "policyType": "TargetTrackingScaling",
                   "targetTrackingScalingPolicyConfiguration": config})
        };
        json!({"minCapacity": 1, "maxCapacity": 10, "scalingPolicies": [
            policy("cpu", "ECSServiceAverageCPUUtilization", cpu_cooldown),
            policy("mem", "ECSServiceAverageMemoryUtilization", memory_cooldown)]})
    }

    fn scale_down_window_of(a: serde_json::Value) -> serde_json::Value {
        run(a).0["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"].clone()
    }

    #[test]
    fn the_scale_down_window_is_the_largest_effective_cooldown_counting_ecs_default_of_300() {
        // A policy without scaleInCooldown waits ECS's 300 s, so the 60 s one cannot scale in
        // sooner: AAS scales in only when every policy allows it.
        assert_eq!(
            scale_down_window_of(two_policies(Some(60), None)),
            json!(300)
        );
        assert_eq!(
            scale_down_window_of(two_policies(None, Some(60))),
            json!(300)
        );
        assert_eq!(
            scale_down_window_of(two_policies(Some(60), Some(120))),
            json!(120)
        );
        assert_eq!(
            scale_down_window_of(two_policies(Some(900), None)),
            json!(900)
        );
        assert_eq!(
            scale_down_window_of(two_policies(Some(0), Some(0))),
            json!(0)
        );
        // Neither sets one: the HPA's default window is the same 300 s.
        assert_eq!(
            run(two_policies(None, None)).0["spec"]["behavior"],
            json!(null)
        );
    }

    #[test]
    fn only_carried_policies_that_scale_in_count_towards_the_scale_down_window() {
        let mut a = two_policies(Some(60), None);
        // A policy that never scales in has no cooldown to wait for (and turns scale-down off).
        a["scalingPolicies"][1]["targetTrackingScalingPolicyConfiguration"]["disableScaleIn"] =
            json!(true);
        assert_eq!(
            run(a).0["spec"]["behavior"]["scaleDown"],
            json!({"stabilizationWindowSeconds": 60, "selectPolicy": "Disabled"})
        );
        // A step policy is not in the HPA, so its cooldown is not either.
        let mut a = two_policies(Some(60), Some(120));
        a["scalingPolicies"]
            .as_array_mut()
            .unwrap()
            .push(json!({"policyName": "step",
            "policyType": "StepScaling", "stepScalingPolicyConfiguration": {"cooldown": 1200}}));
        assert_eq!(scale_down_window_of(a), json!(120));
    }
}
