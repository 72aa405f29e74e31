//! CloudWatch metric alarms that invoke a StepScaling policy: CloudFormation
//! `AWS::CloudWatch::Alarm` (`cfn::alarm`) and Terraform `aws_cloudwatch_metric_alarm`
//! (`terraform::alarm`) become the `alarms` of the ScalingPolicy their `AlarmActions` name,
//! exactly what `PutMetricAlarm` sets there (threshold, comparison, evaluation periods,
//! datapoints to alarm, period, statistic, metric name, namespace and dimensions, missing
//! data, actions enabled).
//!
//! What the field cannot hold is a note naming the alarm and the field: metric math
//! (`Metrics`), anomaly detection (`ThresholdMetricId`, the band operators), percentiles
//! (`ExtendedStatistic`), `OKActions` and `InsufficientDataActions` (the operator invokes a
//! policy in ALARM only), `Unit`, and an alarm on a metric the operator does not map
//! ([`MetricSource`]); an alarm whose values the API would refuse is not converted, with the
//! reason. A StepScaling policy no alarm among the inputs names is a note saying it never
//! fires. Both front ends hand [`PendingAlarm`]s to [`attach`], which runs before the
//! scaling is attached to its services.

use serde_json::{Map, Value};

use super::{Collected, Location, NoteKind, PendingScaling};
use crate::api::MetricAlarm;
use crate::translate::scaling::metric::MetricSource;

/// The most alarms the API takes per policy.
const MAX_ALARMS: usize = 10;

/// An alarm waiting for the scaling policies its ALARM actions name.
#[derive(Debug, Clone)]
pub(super) struct PendingAlarm {
    /// Keys of the scaling policies it invokes ([`PendingScaling::key`] of a policy).
    pub policies: Vec<String>,
    /// The alarm in the API's field names (`alarmName`, `threshold`, …), not yet coerced.
    pub alarm: Map<String, Value>,
    /// Where it was read.
    pub source: Location,
    /// Unresolved values: (path under the alarm, message).
    pub unresolved: Vec<(String, String)>,
}

/// The fields of an alarm the API takes, in its names.
const CARRIED: &[&str] = &[
    "alarmName",
    "namespace",
    "metricName",
    "dimensions",
    "statistic",
    "period",
    "evaluationPeriods",
    "datapointsToAlarm",
    "threshold",
    "comparisonOperator",
    "treatMissingData",
    "actionsEnabled",
];

/// Why a field of an alarm is not carried (in the API's names), `None` for fields that are
/// carried or say nothing the operator needs (a description, tags).
fn not_carried(field: &str) -> Option<&'static str> {
    Some(match field {
        "metrics" => "metric math has no place in the alarm the operator evaluates (one metric)",
        "thresholdMetricId" => "anomaly detection needs CloudWatch's band model",
        "extendedStatistic" => {
            "a percentile statistic is not computed: the alarm takes SampleCount, Average, Sum, Minimum or Maximum"
        }
        "oKActions" | "okActions" => {
            "the operator invokes the policy while the alarm is in ALARM only; an OK action does not run"
        }
        "insufficientDataActions" => {
            "the operator invokes the policy while the alarm is in ALARM only; an INSUFFICIENT_DATA action does not run"
        }
        "unit" => "the metric's unit is not checked: the metrics APIs serve values without one",
        "evaluateLowSampleCountPercentile" => "percentiles are not computed",
        _ => return None,
    })
}

/// A number from a JSON number or a numeric string.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The alarm as the API takes it, or why the API would refuse it. Notes go to `out`; fields
/// that hold unresolved values are not checked (the object is held back for them).
fn checked(pending: &PendingAlarm, out: &mut Collected) -> Result<Map<String, Value>, String> {
    let a = &pending.alarm;
    let name = text(a.get("alarmName"));
    let unresolved = |f: &str| pending.unresolved.iter().any(|(p, _)| p.starts_with(f));
    for (field, _) in a.iter() {
        if let Some(why) = not_carried(field) {
            let empty = match a.get(field) {
                Some(Value::Array(l)) => l.is_empty(),
                Some(Value::Null) | None => true,
                _ => false,
            };
            if !empty {
                out.note_at(
                    NoteKind::Dropped,
                    &pending.source,
                    Some(field),
                    format!("alarm {name}: {field} is not carried: {why}"),
                );
            }
        }
    }
    if a.contains_key("metrics") && !a.contains_key("metricName") {
        return Err("its metric is metric math, which the alarm field cannot hold".into());
    }
    for f in ["namespace", "metricName", "statistic", "comparisonOperator"] {
        if !a.contains_key(f) {
            return Err(format!("it has no {f}"));
        }
    }
    let op = text(a.get("comparisonOperator"));
    if !unresolved("comparisonOperator")
        && !matches!(
            op.as_str(),
            "GreaterThanOrEqualToThreshold"
                | "GreaterThanThreshold"
                | "LessThanThreshold"
                | "LessThanOrEqualToThreshold"
        )
    {
        return Err(format!(
            "comparison {op} is anomaly detection, which needs CloudWatch's band model"
        ));
    }
    let statistic = text(a.get("statistic"));
    if !unresolved("statistic")
        && !matches!(
            statistic.as_str(),
            "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum"
        )
    {
        return Err(format!("statistic {statistic} is not one the alarm takes"));
    }
    let int = |f: &str| a.get(f).and_then(number);
    let period = int("period");
    let evaluations = int("evaluationPeriods");
    if !unresolved("period") {
        match period {
            Some(p) if [10.0, 20.0, 30.0].contains(&p) || (p >= 60.0 && p % 60.0 == 0.0) => {}
            other => {
                return Err(format!(
                    "period {other:?} is not 10, 20, 30 or a multiple of 60 seconds"
                ));
            }
        }
    }
    if !unresolved("evaluationPeriods") && evaluations.is_none_or(|e| e < 1.0 || e.fract() != 0.0) {
        return Err("evaluationPeriods is not a whole number of at least 1".into());
    }
    if let (Some(p), Some(e)) = (period, evaluations)
        && ((p < 3600.0 && p * e > 86400.0) || p * e > 604_800.0)
    {
        return Err(format!(
            "period {p} s x evaluationPeriods {e} is longer than CloudWatch evaluates (one day below hourly periods, seven days in all)"
        ));
    }
    if let (Some(m), Some(e)) = (int("datapointsToAlarm"), evaluations)
        && (m < 1.0 || m > e)
    {
        return Err(format!(
            "datapointsToAlarm {m} is not between 1 and evaluationPeriods {e}"
        ));
    }
    if !unresolved("threshold") && int("threshold").is_none() {
        return Err(
            "its threshold is not a number (a threshold metric is anomaly detection)".into(),
        );
    }
    let namespace = text(a.get("namespace"));
    let metric = text(a.get("metricName"));
    if !unresolved("namespace") && !unresolved("metricName") {
        let probe = MetricAlarm {
            namespace: namespace.clone(),
            metric_name: metric.clone(),
            ..MetricAlarm::default()
        };
        if let MetricSource::Unmapped(why) = MetricSource::of(&probe) {
            return Err(why);
        }
    }
    let mut kept: Map<String, Value> = a
        .iter()
        .filter(|(k, _)| CARRIED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if kept.get("dimensions").is_some_and(|d| !d.is_array()) {
        kept.remove("dimensions");
    }
    Ok(kept)
}

/// Attaches every pending alarm to the StepScaling policies it names; notes alarms whose
/// policy is not among the inputs, alarms the API would refuse, and StepScaling policies no
/// alarm names (they never fire).
pub(super) fn attach(c: &mut Collected) {
    let alarms = std::mem::take(&mut c.alarms);
    for pending in alarms {
        let name = text(pending.alarm.get("alarmName"));
        let alarm = match checked(&pending, c) {
            Ok(a) => a,
            Err(why) => {
                c.note_at(
                    NoteKind::NotConverted,
                    &pending.source,
                    None,
                    format!("alarm {name} is not converted: {why}"),
                );
                continue;
            }
        };
        for key in &pending.policies {
            let Some(i) = c
                .scaling
                .iter()
                .position(|p| p.target.is_none() && p.key.as_deref() == Some(key.as_str()))
            else {
                c.note_at(
                    NoteKind::NotConverted,
                    &pending.source,
                    Some("alarmActions"),
                    format!(
                        "alarm {name}: the scaling policy its AlarmActions name ({}) is not among the inputs",
                        shown_key(key)
                    ),
                );
                continue;
            };
            let outcome = add_to(&mut c.scaling[i], &alarm, &pending.unresolved);
            if let Err(why) = outcome {
                c.note_at(
                    NoteKind::NotConverted,
                    &pending.source,
                    Some("alarmActions"),
                    format!("alarm {name}: {why}"),
                );
            }
        }
    }
    let silent: Vec<(Location, String)> = c
        .scaling
        .iter()
        .filter(|p| p.target.is_none())
        .flat_map(|p| p.policies.iter().map(move |v| (p, v)))
        .filter(|(_, v)| {
            v.get("policyType").and_then(Value::as_str) == Some("StepScaling")
                && v.get("alarms")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
        })
        .map(|(p, v)| (p.source.clone(), text(v.get("policyName"))))
        .collect();
    for (source, policy) in silent {
        c.note_at(
            NoteKind::Dropped,
            &source,
            Some("alarms"),
            format!(
                "no alarm among the inputs names StepScaling policy {policy} in its AlarmActions, so under the operator it never fires (convert the CloudWatch alarm with it)"
            ),
        );
    }
}

/// A policy key as notes show it (its marker without the file).
fn shown_key(key: &str) -> &str {
    key.rsplit_once('#').map_or(key, |(_, k)| k)
}

/// Adds `alarm` to the one policy of `p`, its unresolved values under the alarm's path.
fn add_to(
    p: &mut PendingScaling,
    alarm: &Map<String, Value>,
    unresolved: &[(String, String)],
) -> Result<(), String> {
    let Some(policy) = p.policies.first_mut().and_then(Value::as_object_mut) else {
        return Err("its scaling policy could not be read".into());
    };
    let ty = policy
        .get("policyType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if ty != "StepScaling" {
        return Err(format!(
            "it invokes {ty} policy {}; only a StepScaling policy is invoked by alarms (target tracking creates its own)",
            text(policy.get("policyName"))
        ));
    }
    let list = policy
        .entry("alarms")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return Err("its policy's alarms are not a list".into());
    };
    if list.len() >= MAX_ALARMS {
        return Err(format!(
            "its policy already has {MAX_ALARMS} alarms, the most the API takes"
        ));
    }
    let index = list.len();
    list.push(Value::Object(alarm.clone()));
    for (path, message) in unresolved {
        let path = if path.is_empty() {
            format!("scalingPolicies[0].alarms[{index}]")
        } else {
            format!("scalingPolicies[0].alarms[{index}].{path}")
        };
        p.unresolved.push((path, message.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn here() -> Location {
        Location {
            file: "t.yaml".into(),
            resource: Some("Policy".into()),
            path: None,
        }
    }

    fn pending(alarm: Value) -> PendingAlarm {
        PendingAlarm {
            policies: vec!["k".into()],
            alarm: alarm.as_object().cloned().unwrap_or_default(),
            source: Location {
                file: "t.yaml".into(),
                resource: Some("HighCpu".into()),
                path: None,
            },
            unresolved: Vec::new(),
        }
    }

    fn cpu() -> Value {
        json!({"alarmName": "cpu-high", "namespace": "AWS/ECS", "metricName": "CPUUtilization",
               "statistic": "Average", "period": "60", "evaluationPeriods": "3",
               "threshold": "90", "comparisonOperator": "GreaterThanThreshold"})
    }

    #[test]
    fn a_plain_alarm_is_kept_field_for_field_and_what_it_cannot_carry_is_noted() {
        let mut a = cpu();
        a["oKActions"] = json!(["arn"]);
        a["unit"] = json!("Percent");
        a["alarmDescription"] = json!("busy");
        let mut c = Collected::default();
        let kept = checked(&pending(a), &mut c).unwrap();
        assert_eq!(Value::Object(kept), cpu());
        let fields: Vec<_> = c
            .notes
            .iter()
            .map(|n| n.location.path.clone().unwrap_or_default())
            .collect();
        assert_eq!(fields, ["oKActions", "unit"]);
        assert!(c.notes[0].message.starts_with("alarm cpu-high: oKActions"));
    }

    #[test]
    fn alarms_the_api_or_the_operator_cannot_take_are_refused_with_the_reason() {
        let refused = |patch: Value| {
            let mut a = cpu();
            for (k, v) in patch.as_object().unwrap() {
                a[k] = v.clone();
            }
            checked(&pending(a), &mut Collected::default()).unwrap_err()
        };
        assert!(refused(json!({"period": 45})).contains("period"));
        assert!(refused(json!({"datapointsToAlarm": 4})).contains("datapointsToAlarm 4"));
        assert!(
            refused(json!({"comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}))
                .contains("anomaly detection")
        );
        assert!(refused(json!({"statistic": "p99"})).contains("statistic p99"));
        assert!(refused(json!({"metricName": "CPUReservation"})).contains("not mapped"));
        assert!(refused(json!({"period": 3600, "evaluationPeriods": 200})).contains("longer"));
    }

    #[test]
    fn an_alarm_joins_its_step_policy_and_a_policy_without_one_never_fires() {
        let mut c = Collected::default();
        let policy = |name: &str, key: &str| PendingScaling {
            key: Some(key.into()),
            ..PendingScaling::policy(
                "target".into(),
                json!({"policyName": name, "policyType": "StepScaling"}),
                here(),
                Vec::new(),
            )
        };
        c.scaling.push(policy("out", "k"));
        c.scaling.push(policy("in", "other"));
        let mut p = pending(cpu());
        p.unresolved.push(("threshold".into(), "var.x".into()));
        c.alarms.push(p);
        attach(&mut c);
        assert_eq!(
            c.scaling[0].policies[0]["alarms"][0]["alarmName"],
            "cpu-high"
        );
        assert_eq!(
            c.scaling[0].unresolved,
            [(
                "scalingPolicies[0].alarms[0].threshold".to_owned(),
                "var.x".to_owned()
            )]
        );
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
        assert!(
            c.notes[0]
                .message
                .contains("policy in in its AlarmActions, so under the operator it never fires")
        );
    }

    #[test]
    fn an_alarm_naming_a_policy_not_among_the_inputs_or_a_target_tracking_one_is_noted() {
        let mut c = Collected::default();
        c.scaling.push(PendingScaling {
            key: Some("tt".into()),
            ..PendingScaling::policy(
                "target".into(),
                json!({"policyName": "cpu", "policyType": "TargetTrackingScaling"}),
                here(),
                Vec::new(),
            )
        });
        let mut p = pending(cpu());
        p.policies = vec!["tt".into(), "file#stack/Gone".into()];
        c.alarms.push(p);
        attach(&mut c);
        let messages: Vec<&str> = c.notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            messages[0].contains("only a StepScaling policy is invoked by alarms"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("(stack/Gone) is not among the inputs"),
            "{messages:?}"
        );
        assert!(c.scaling[0].policies[0].get("alarms").is_none());
    }
}
