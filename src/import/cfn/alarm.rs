//! `AWS::CloudWatch::Alarm` whose `AlarmActions` name a scaling policy of the same template
//! (`!Ref Policy`, `!GetAtt Policy.Arn`) → a pending alarm of that policy
//! ([`crate::import::alarm`]); an alarm that names none (an SNS notification, a deployment
//! rollback alarm) stays a skipped resource.

use serde_json::{Map, Value};

use super::evaluate::Template;
use crate::import::alarm::PendingAlarm;
use crate::import::schema::lower_camel;
use crate::import::{Collected, Location, NoteKind};

/// The CloudFormation type of a scaling policy.
const POLICY: &str = "AWS::ApplicationAutoScaling::ScalingPolicy";

/// The key alarms name the template's scaling policy `id` by.
pub(super) fn policy_key(t: &Template, id: &str) -> String {
    format!("{}#{}/{id}", t.file.display(), t.stack_name().0)
}

/// The logical IDs of the template's scaling policies `actions` names.
fn named_policies(t: &Template, actions: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(list)) = actions else {
        return Vec::new();
    };
    let is_policy = |id: &str| {
        t.resources()
            .get(id)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
            == Some(POLICY)
    };
    list.iter()
        .filter_map(|a| {
            let m = a.as_object()?;
            if let Some(Value::String(id)) = m.get("Ref") {
                return Some(id.clone());
            }
            match m.get("Fn::GetAtt")? {
                Value::Array(p) if p.get(1).and_then(Value::as_str) == Some("Arn") => {
                    p.first().and_then(Value::as_str).map(str::to_owned)
                }
                Value::String(s) => s.strip_suffix(".Arn").map(str::to_owned),
                _ => None,
            }
        })
        .filter(|id| is_policy(id))
        .collect()
}

/// Whether the alarm resource `res` invokes a scaling policy of the template (else it is
/// skipped as an unsupported resource).
pub(super) fn invokes_policy(t: &Template, res: &Value) -> bool {
    let actions = res.get("Properties").and_then(|p| p.get("AlarmActions"));
    !named_policies(t, actions).is_empty()
}

/// Properties read for what they name, not carried as values.
const ACTIONS: [&str; 3] = ["AlarmActions", "OKActions", "InsufficientDataActions"];

/// Properties that say nothing the operator needs.
const IGNORED: [&str; 2] = ["AlarmDescription", "Tags"];

/// The alarm `id`, pending for the policies its AlarmActions name.
pub(super) fn convert_alarm(
    t: &Template,
    id: &str,
    props: &Value,
    source: Location,
    out: &mut Collected,
) {
    let policies: Vec<String> = named_policies(t, props.get("AlarmActions"))
        .iter()
        .map(|p| policy_key(t, p))
        .collect();
    let Some(props) = props.as_object() else {
        return;
    };
    let mut alarm = Map::new();
    let mut unresolved = Vec::new();
    for (key, raw) in props {
        if IGNORED.contains(&key.as_str()) {
            continue;
        }
        let field = lower_camel(key);
        if ACTIONS.contains(&key.as_str()) {
            if key != "AlarmActions" {
                // Only whether it is set matters (it is not carried).
                alarm.insert(field, raw.clone());
            }
            continue;
        }
        match key.as_str() {
            "Dimensions" => {
                alarm.insert(field, dimensions(t, raw, &source, out));
            }
            "AlarmName" => {
                let mut u = Vec::new();
                let v = t.eval(raw, "alarmName", &mut u);
                if let (Value::String(name), true) = (&v, u.is_empty()) {
                    alarm.insert(field, Value::from(name.clone()));
                }
            }
            _ => {
                let v = t.eval(raw, &field, &mut unresolved);
                alarm.insert(field, v);
            }
        }
    }
    if !alarm.contains_key("alarmName") {
        let name = t.default_name(id);
        out.note_at(
            NoteKind::Assumed,
            &source,
            Some("AlarmName"),
            format!(
                "the alarm's name is {name} (CloudFormation would generate one from the stack name and logical ID)"
            ),
        );
        alarm.insert("alarmName".into(), Value::from(name));
    }
    out.alarms.push(PendingAlarm {
        policies,
        alarm,
        source,
        unresolved,
    });
}

/// `Dimensions` as the API takes them (`name`, `value`); a dimension whose value is unresolved
/// is left out with a note (the operator measures the policy's own service for `AWS/ECS`).
fn dimensions(t: &Template, raw: &Value, source: &Location, out: &mut Collected) -> Value {
    let mut u = Vec::new();
    let list = match t.eval(raw, "dimensions", &mut u) {
        Value::Array(l) if u.is_empty() => l,
        _ => match raw {
            Value::Array(l) => l.clone(),
            _ => Vec::new(),
        },
    };
    let mut kept = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let mut u = Vec::new();
        let name = t.eval(d.get("Name").unwrap_or(&Value::Null), "", &mut u);
        let value = t.eval(d.get("Value").unwrap_or(&Value::Null), "", &mut u);
        match (name, value, u.is_empty()) {
            (Value::String(name), Value::String(value), true) => {
                kept.push(serde_json::json!({"name": name, "value": value}));
            }
            (name, _, _) => {
                let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
                out.note_at(
                    NoteKind::Dropped,
                    source,
                    Some(&format!("Dimensions[{i}]")),
                    format!(
                        "dimension {} is left out: its value is unresolved ({}); an AWS/ECS metric is measured on the policy's own service anyway",
                        crate::import::text(&name),
                        why.join("; ")
                    ),
                );
            }
        }
    }
    Value::Array(kept)
}
