//! `aws_cloudwatch_metric_alarm` whose `alarm_actions` reference an
//! `aws_appautoscaling_policy` (`aws_appautoscaling_policy.up.arn`) → a pending alarm of that
//! policy ([`crate::import::alarm`]); an alarm that names none stays a skipped resource.

use std::collections::BTreeMap;

use hcl::Expression;
use serde_json::{Map, Value};

use super::evaluate::placeholders;
use crate::import::alarm::PendingAlarm;
use crate::import::{Collected, Location, NoteKind, PendingScaling};

/// The resource type of a scaling policy.
const POLICY: &str = "aws_appautoscaling_policy";

/// The key alarms name the policy at `address` (`module.m.aws_appautoscaling_policy.up[0]`) by.
fn policy_key(address: &str) -> String {
    format!("terraform#{address}")
}

/// Keys the scaling policies just converted (`converted`, all of the instance at `address`)
/// so that alarms find them.
pub(super) fn key_policies(converted: &mut [PendingScaling], address: &str) {
    for p in converted {
        p.key = Some(policy_key(address));
    }
}

/// Whether the alarm's `alarm_actions` refer to a scaling policy (else it is skipped as an
/// unsupported resource).
pub(super) fn invokes_policy(actions: Option<&Expression>) -> bool {
    actions.is_some_and(|e| e.to_string().contains(&format!("{POLICY}.")))
}

/// The policies an evaluated `alarm_actions` names: `${ADDRESS.arn}` placeholders of
/// scaling policies (their ARNs are only known after apply).
fn named_policies(actions: Option<&Value>) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(v) = actions {
        placeholders(v, &mut found);
    }
    found
        .iter()
        .filter_map(|p| p.strip_prefix("${")?.strip_suffix(".arn}"))
        .filter(|a| a.contains(&format!("{POLICY}.")))
        .map(policy_key)
        .collect()
}

/// Terraform's argument → the API's field, for the arguments whose names differ by more than
/// case.
fn field(arg: &str) -> String {
    match arg {
        "metric_query" => "metrics".into(),
        "evaluate_low_sample_count_percentiles" => "evaluateLowSampleCountPercentile".into(),
        _ => {
            let mut out = String::new();
            let mut upper = false;
            for c in arg.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// Arguments that say nothing the operator needs.
const IGNORED: [&str; 3] = ["alarm_description", "tags", "tags_all"];

/// The reasons of the placeholders in `v`, deduplicated.
fn why(v: &Value, reasons: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    placeholders(v, &mut found);
    let mut out: Vec<String> = found
        .iter()
        .map(|p| {
            reasons
                .get(p)
                .cloned()
                .unwrap_or_else(|| format!("{p} is not known"))
        })
        .collect();
    out.dedup();
    out
}

/// The alarm (its evaluated `body`), pending for the policies its alarm_actions name;
/// `default_name` when its alarm_name is unresolved.
pub(super) fn convert_alarm(
    body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    default_name: &str,
    out: &mut Collected,
) {
    let policies = named_policies(body.get("alarm_actions"));
    let mut alarm = Map::new();
    let mut unresolved = Vec::new();
    for (arg, v) in body {
        if IGNORED.contains(&arg.as_str()) || arg == "alarm_actions" {
            continue;
        }
        let f = field(&arg);
        match arg.as_str() {
            "dimensions" => {
                alarm.insert(f, dimensions(&v, &source, reasons, out));
            }
            "alarm_name" => {
                let w = why(&v, reasons);
                if v.is_string() && w.is_empty() {
                    alarm.insert(f, v);
                } else {
                    out.note_at(
                        NoteKind::Assumed,
                        &source,
                        Some("alarm_name"),
                        format!(
                            "the alarm's name is {default_name}, its resource name: alarm_name is unresolved ({})",
                            w.join("; ")
                        ),
                    );
                }
            }
            // Only whether they are set matters (they are not carried).
            "ok_actions" | "insufficient_data_actions" | "metric_query" => {
                alarm.insert(f, v);
            }
            _ => {
                for w in why(&v, reasons) {
                    unresolved.push((f.clone(), w));
                }
                alarm.insert(f, v);
            }
        }
    }
    alarm
        .entry("alarmName")
        .or_insert_with(|| Value::from(default_name));
    out.alarms.push(PendingAlarm {
        policies,
        alarm,
        source,
        unresolved,
    });
}

/// `dimensions` (a map, or the blocks of Terraform 0.11) as the API's list of `name`,
/// `value`, sorted by name; a dimension whose value is unresolved is left out with a note.
fn dimensions(
    v: &Value,
    source: &Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) -> Value {
    let mut all = Map::new();
    match v {
        Value::Object(m) => all.extend(m.clone()),
        Value::Array(blocks) => {
            for b in blocks.iter().filter_map(Value::as_object) {
                all.extend(b.clone());
            }
        }
        _ => {}
    }
    let mut kept = Vec::new();
    for (name, value) in all {
        let w = why(&value, reasons);
        match value {
            Value::String(s) if w.is_empty() => {
                kept.push(serde_json::json!({"name": name, "value": s}));
            }
            _ => out.note_at(
                NoteKind::Dropped,
                source,
                Some(&format!("dimensions.{name}")),
                format!(
                    "dimension {name} is left out: its value is unresolved ({}); an AWS/ECS metric is measured on the policy's own service anyway",
                    w.join("; ")
                ),
            ),
        }
    }
    Value::Array(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alarm_actions_name_the_policies_by_address_in_and_out_of_modules() {
        let actions = json!([
            "${aws_appautoscaling_policy.up.arn}",
            "${module.svc.aws_appautoscaling_policy.down[0].arn}",
            "${aws_sns_topic.alerts.arn}",
            "arn:aws:sns:us-east-1:1:topic"
        ]);
        assert_eq!(
            named_policies(Some(&actions)),
            [
                "terraform#aws_appautoscaling_policy.up",
                "terraform#module.svc.aws_appautoscaling_policy.down[0]"
            ]
        );
    }

    #[test]
    fn arguments_take_the_apis_field_names() {
        assert_eq!(field("comparison_operator"), "comparisonOperator");
        assert_eq!(field("datapoints_to_alarm"), "datapointsToAlarm");
        assert_eq!(field("ok_actions"), "okActions");
        assert_eq!(field("metric_query"), "metrics");
    }
}
