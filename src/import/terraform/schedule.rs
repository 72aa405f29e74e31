//! Terraform's scheduled ECS tasks → EcsScheduledTask drafts, as the CloudFormation
//! `AWS::Events::Rule` and `AWS::Scheduler::Schedule` become them:
//!
//! - `aws_cloudwatch_event_rule` (its `schedule_expression`, `state` or `is_enabled`) and each
//!   `aws_cloudwatch_event_target` with an `ecs_target` block that names it (`rule`): one
//!   EcsScheduledTask per target, named after the rule (`RULE-TARGET_ID` when the rule has
//!   several ECS targets). Rules and targets are collected while the inputs are converted and
//!   paired once all are ([`attach`]), since they are often in different files;
//! - `aws_scheduler_schedule` whose `target` has `ecs_parameters`: one EcsScheduledTask, with
//!   the time zone, dates and flexible window.
//!
//! The target's `arn` is the cluster, `ecs_target`/`ecs_parameters` the RunTask request, its
//! `input` the overrides (a JSON object), `retry_policy` the retries; `role_arn` and
//! `dead_letter_config` only matter to EventBridge inside AWS and are reported dropped. A rule
//! that reacts to events (no `schedule_expression`) and a target that runs no ECS task are
//! skipped with a note. `.tf` resources and those of `terraform show -json` take the same path.
//!
//! Depends on `convert` (the drafts) and `import`'s shared types.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::convert::{self, Naming};
use crate::import::{Collected, Kind, Location, NoteKind, text};

/// A scheduled rule waiting for its ECS targets.
#[derive(Debug, Clone)]
struct Rule {
    /// What targets name it by (its `name`).
    key: String,
    /// `schedule_expression` and `state`, in the API's field names (snake case).
    schedule: Map<String, Value>,
    source: Location,
    reasons: BTreeMap<String, String>,
}

/// An ECS target waiting for its rule.
#[derive(Debug, Clone)]
struct Target {
    /// The rule it names.
    rule: String,
    /// Its `target_id`, if any.
    id: Option<String>,
    /// The RunTask request, in the API's field names (snake case).
    spec: Map<String, Value>,
    source: Location,
    reasons: BTreeMap<String, String>,
}

/// The EventBridge rules and targets of a conversion, paired by [`attach`].
#[derive(Debug, Default)]
pub(in crate::import) struct Pending {
    rules: Vec<Rule>,
    /// Rules that react to events, by key (their ECS targets are skipped with them).
    event_rules: BTreeSet<String>,
    targets: Vec<Target>,
}

/// Removes `key` from `m` and returns it when it is an object or the first of a list of
/// blocks.
fn block(m: &mut Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    match m.remove(key)? {
        Value::Object(o) => Some(o),
        Value::Array(items) => items.into_iter().find_map(|i| match i {
            Value::Object(o) => Some(o),
            _ => None,
        }),
        _ => None,
    }
}

/// Removes `key` from `m` and returns its blocks.
fn blocks(m: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match m.remove(key) {
        Some(Value::Array(items)) => items.into_iter().filter(Value::is_object).collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// Moves `from` to `to`, if present.
fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = m.remove(from) {
        m.insert(to.to_owned(), v);
    }
}

/// A string that is fully known (no `${…}` placeholder).
fn known(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.contains("${") => Some(s.clone()),
        _ => None,
    }
}

/// `aws_cloudwatch_event_rule` named `key`: kept for its targets when it has a schedule,
/// skipped with a note when it reacts to events.
pub(super) fn event_rule(
    mut body: Map<String, Value>,
    key: String,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    let Some(expression) = body.remove("schedule_expression") else {
        *out.skipped
            .entry("aws_cloudwatch_event_rule (event pattern)".to_owned())
            .or_default() += 1;
        out.note_at(
            NoteKind::Skipped,
            &source,
            None,
            "a rule without schedule_expression reacts to events, which is not converted",
        );
        out.tf_schedules.event_rules.insert(key);
        return;
    };
    let mut schedule = Map::new();
    schedule.insert("schedule_expression".into(), expression);
    match (body.remove("state"), body.remove("is_enabled")) {
        (Some(state), _) => {
            let state = match text(&state).as_str() {
                // Also delivers CloudTrail events to the rule: the schedule is enabled.
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => Value::from("ENABLED"),
                _ => state,
            };
            schedule.insert("state".into(), state);
        }
        (None, Some(Value::Bool(enabled))) => {
            schedule.insert(
                "state".into(),
                Value::from(if enabled { "ENABLED" } else { "DISABLED" }),
            );
        }
        (None, _) => {}
    }
    out.tf_schedules.rules.push(Rule {
        key,
        schedule,
        source,
        reasons: reasons.clone(),
    });
}

/// `aws_cloudwatch_event_target`: an ECS target kept for its rule; any other target skipped
/// with a note.
pub(super) fn event_target(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    let Some(ecs) = block(&mut body, "ecs_target") else {
        *out.skipped
            .entry("aws_cloudwatch_event_target (no ECS target)".to_owned())
            .or_default() += 1;
        out.note_at(
            NoteKind::Skipped,
            &source,
            None,
            "the target runs no ECS task (no ecs_target block)",
        );
        return;
    };
    let rule = body.remove("rule").unwrap_or(Value::Null);
    let Some(rule) = known(&rule) else {
        out.note_at(
            NoteKind::Unresolved,
            &source,
            Some("rule"),
            "its rule cannot be identified, so its schedule is not known; not converted (pass the rule's name with --param)",
        );
        return;
    };
    let id = body.remove("target_id").as_ref().and_then(known);
    for key in ["event_bus_name", "input_path", "input_transformer"] {
        if body.remove(key).is_some() {
            out.note_at(
                NoteKind::Dropped,
                &source,
                Some(key),
                "how EventBridge builds the target's input from an event: a schedule sends no event",
            );
        }
    }
    let spec = run_task(ecs, &mut body, &source, out);
    out.tf_schedules.targets.push(Target {
        rule,
        id,
        spec,
        source,
        reasons: reasons.clone(),
    });
}

/// `aws_scheduler_schedule` named `name`: an EcsScheduledTask when its target runs an ECS task
/// (`ecs_parameters`), else skipped with a note.
pub(super) fn scheduler_schedule(
    mut body: Map<String, Value>,
    name: String,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    let mut target = block(&mut body, "target").unwrap_or_default();
    let Some(ecs) = block(&mut target, "ecs_parameters") else {
        *out.skipped
            .entry("aws_scheduler_schedule (no ECS target)".to_owned())
            .or_default() += 1;
        out.note_at(
            NoteKind::Skipped,
            &source,
            None,
            "its target runs no ECS task (no ecs_parameters block)",
        );
        return;
    };
    let mut spec = run_task(ecs, &mut target, &source, out);
    for key in ["name", "name_prefix"] {
        body.remove(key);
    }
    for key in ["group_name", "kms_key_arn"] {
        if body.remove(key).is_some() {
            out.note_at(
                NoteKind::Dropped,
                &source,
                Some(key),
                "only meaningful to EventBridge Scheduler inside AWS",
            );
        }
    }
    if let Some(window) = block(&mut body, "flexible_time_window") {
        spec.insert("flexible_time_window".into(), Value::Object(window));
    }
    // The rest (schedule_expression, its time zone, state, dates) has the API's names.
    spec.extend(body);
    convert::object(
        Kind::EcsScheduledTask,
        spec,
        None,
        Naming {
            default_name: name,
            listener_key: None,
        },
        source,
        reasons,
        &BTreeSet::new(),
        out,
    );
}

/// The RunTask request of a target (`ecs_target` of an event target, `ecs_parameters` of a
/// schedule) and of its target-level arguments (`arn`, `input`, `retry_policy`), in the
/// API's field names (snake case, renamed by the schema later).
fn run_task(
    mut ecs: Map<String, Value>,
    target: &mut Map<String, Value>,
    source: &Location,
    out: &mut Collected,
) -> Map<String, Value> {
    rename(&mut ecs, "task_definition_arn", "task_definition");
    rename(&mut ecs, "task_count", "count");
    if let Some(mut net) = block(&mut ecs, "network_configuration") {
        if let Some(public) = net.remove("assign_public_ip") {
            let value = match public {
                Value::Bool(true) => Value::from("ENABLED"),
                Value::Bool(false) => Value::from("DISABLED"),
                other => other,
            };
            net.insert("assign_public_ip".into(), value);
        }
        ecs.insert(
            "network_configuration".into(),
            serde_json::json!({ "awsvpc_configuration": net }),
        );
    }
    for (tf, api) in [
        ("capacity_provider_strategy", "capacity_provider_strategy"),
        ("placement_constraint", "placement_constraints"),
        ("placement_constraints", "placement_constraints"),
        ("ordered_placement_strategy", "placement_strategy"),
        ("placement_strategy", "placement_strategy"),
    ] {
        let items = blocks(&mut ecs, tf);
        if !items.is_empty() {
            ecs.insert(api.into(), Value::Array(items));
        }
    }
    if ecs.remove("reference_id").is_some() {
        out.note_at(
            NoteKind::Dropped,
            source,
            Some("reference_id"),
            "the reference ID only tags the task inside AWS",
        );
    }
    if let Some(arn) = target.remove("arn") {
        ecs.insert("cluster".into(), arn);
    }
    if let Some(input) = target.remove("input") {
        match &input {
            Value::String(s) if s.contains("${") => out.note_at(
                NoteKind::Unresolved,
                source,
                Some("input"),
                "the input (the RunTask overrides) is unresolved and not converted",
            ),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => {
                    ecs.insert("overrides".into(), v);
                }
                _ => out.note_at(
                    NoteKind::Dropped,
                    source,
                    Some("input"),
                    "the input is not a JSON object of RunTask overrides",
                ),
            },
            _ => out.note_at(
                NoteKind::Dropped,
                source,
                Some("input"),
                "the input is not a JSON object of RunTask overrides",
            ),
        }
    }
    if let Some(retry) = block(target, "retry_policy") {
        ecs.insert("retry_policy".into(), Value::Object(retry));
    }
    for key in ["role_arn", "dead_letter_config"] {
        if target.remove(key).is_some() {
            out.note_at(
                NoteKind::Dropped,
                source,
                Some(key),
                "only meaningful to EventBridge inside AWS",
            );
        }
    }
    ecs
}

/// Pairs every ECS target with its rule into an EcsScheduledTask draft; a target whose rule
/// is not among the inputs is not converted (a note), a scheduled rule without an ECS target
/// is skipped (a note).
pub(in crate::import) fn attach(out: &mut Collected) {
    let pending = std::mem::take(&mut out.tf_schedules);
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &pending.targets {
        *per_rule.entry(t.rule.as_str()).or_default() += 1;
    }
    for rule in &pending.rules {
        if !per_rule.contains_key(rule.key.as_str()) {
            *out.skipped
                .entry("aws_cloudwatch_event_rule (no ECS target)".to_owned())
                .or_default() += 1;
            out.note_at(
                NoteKind::Skipped,
                &rule.source,
                None,
                "no aws_cloudwatch_event_target with an ecs_target names this rule",
            );
        }
    }
    for (i, target) in pending.targets.iter().enumerate() {
        if pending.event_rules.contains(&target.rule) {
            out.note_at(
                NoteKind::Skipped,
                &target.source,
                Some("rule"),
                format!(
                    "its rule {} reacts to events, which is not converted",
                    target.rule
                ),
            );
            continue;
        }
        let Some(rule) = pending.rules.iter().find(|r| r.key == target.rule) else {
            out.note_at(
                NoteKind::NotConverted,
                &target.source,
                Some("rule"),
                format!(
                    "its rule {} is not among the inputs, so its schedule is not known; convert the file that declares it too",
                    target.rule
                ),
            );
            continue;
        };
        let name = if per_rule.get(target.rule.as_str()).copied().unwrap_or(0) > 1 {
            format!(
                "{}-{}",
                rule.key,
                target.id.clone().unwrap_or_else(|| i.to_string())
            )
        } else {
            rule.key.clone()
        };
        let mut spec = target.spec.clone();
        spec.extend(rule.schedule.clone());
        let mut reasons = rule.reasons.clone();
        reasons.extend(target.reasons.clone());
        convert::object(
            Kind::EcsScheduledTask,
            spec,
            None,
            Naming {
                default_name: name,
                listener_key: None,
            },
            target.source.clone(),
            &reasons,
            &BTreeSet::new(),
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::import::{Conversion, ConvertOptions, NoteKind, convert_sources};

    /// Converts `files` (name, text) together, as the files of one directory.
    fn convert(files: &[(&str, &str)]) -> Conversion {
        let sources: Vec<_> = files
            .iter()
            .map(|(name, text)| {
                (
                    std::path::PathBuf::from(format!("schedules/{name}")),
                    (*text).to_owned(),
                )
            })
            .collect();
        convert_sources(&sources, &ConvertOptions::default()).expect("converts")
    }

    fn scheduled(c: &Conversion) -> Vec<(String, Value)> {
        c.objects
            .iter()
            .filter(|o| o.kind == crate::import::Kind::EcsScheduledTask)
            .map(|o| (o.name.clone(), o.manifest["spec"].clone()))
            .collect()
    }

    const TASK: &str = r#"
resource "aws_ecs_cluster" "main" { name = "jobs" }
resource "aws_ecs_task_definition" "report" {
  family                = "report"
  container_definitions = jsonencode([{ name = "app", image = "example/report:2.0", memory = 128 }])
}
"#;

    #[test]
    fn an_event_rule_and_its_ecs_target_become_one_scheduled_task_with_the_run_task_request() {
        let rules = r#"
resource "aws_cloudwatch_event_rule" "nightly" {
  name                = "nightly-report"
  schedule_expression = "cron(0 3 * * ? *)"
  is_enabled          = false
}
"#;
        let targets = r#"
resource "aws_cloudwatch_event_target" "report" {
  rule     = aws_cloudwatch_event_rule.nightly.name
  arn      = aws_ecs_cluster.main.arn
  role_arn = "arn:aws:iam::123456789012:role/events"
  input    = jsonencode({ containerOverrides = [{ name = "app", command = ["report", "--all"] }] })
  ecs_target {
    task_definition_arn = aws_ecs_task_definition.report.arn
    task_count          = 2
    launch_type         = "FARGATE"
    network_configuration {
      subnets          = ["subnet-1"]
      assign_public_ip = true
    }
    tags = { team = "data" }
  }
  retry_policy {
    maximum_retry_attempts = 3
  }
}
"#;
        let c = convert(&[
            ("main.tf", TASK),
            ("rules.tf", rules),
            ("targets.tf", targets),
        ]);
        let tasks = scheduled(&c);
        assert_eq!(tasks.len(), 1, "{:?}", c.notes);
        let (name, spec) = &tasks[0];
        assert_eq!(name, "nightly-report");
        assert_eq!(
            spec,
            &json!({
                "scheduleExpression": "cron(0 3 * * ? *)",
                "state": "DISABLED",
                "cluster": "jobs",
                "taskDefinition": "report",
                "count": 2,
                "launchType": "FARGATE",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}},
                "overrides": {"containerOverrides": [{"name": "app", "command": ["report", "--all"]}]},
                "retryPolicy": {"maximumRetryAttempts": 3},
                "tags": [{"key": "team", "value": "data"}],
            })
        );
        assert!(
            c.notes
                .iter()
                .any(|n| n.kind == NoteKind::Dropped
                    && n.location.path.as_deref() == Some("role_arn")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_scheduler_schedule_with_ecs_parameters_carries_its_time_zone_and_window() {
        let schedule = r#"
resource "aws_scheduler_schedule" "hourly" {
  name                         = "hourly-report"
  schedule_expression          = "rate(1 hour)"
  schedule_expression_timezone = "Europe/Paris"
  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 15
  }
  target {
    arn      = aws_ecs_cluster.main.arn
    role_arn = "arn:aws:iam::123456789012:role/scheduler"
    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.report.arn
      launch_type         = "FARGATE"
      placement_strategy {
        type  = "spread"
        field = "attribute:ecs.availability-zone"
      }
    }
  }
}
"#;
        let c = convert(&[("main.tf", TASK), ("schedule.tf", schedule)]);
        let tasks = scheduled(&c);
        assert_eq!(tasks.len(), 1, "{:?}", c.notes);
        let (name, spec) = &tasks[0];
        assert_eq!(name, "hourly-report");
        assert_eq!(
            spec,
            &json!({
                "scheduleExpression": "rate(1 hour)",
                "scheduleExpressionTimezone": "Europe/Paris",
                "flexibleTimeWindow": {"mode": "FLEXIBLE", "maximumWindowInMinutes": 15},
                "cluster": "jobs",
                "taskDefinition": "report",
                "launchType": "FARGATE",
                "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            })
        );
    }

    #[test]
    fn a_rule_with_two_ecs_targets_gives_two_scheduled_tasks_named_by_target_id() {
        let rules = r#"
resource "aws_cloudwatch_event_rule" "every" {
  name                = "every-5"
  schedule_expression = "rate(5 minutes)"
}
resource "aws_cloudwatch_event_target" "a" {
  rule      = aws_cloudwatch_event_rule.every.name
  target_id = "a"
  arn       = aws_ecs_cluster.main.arn
  ecs_target { task_definition_arn = aws_ecs_task_definition.report.arn }
}
resource "aws_cloudwatch_event_target" "b" {
  rule      = aws_cloudwatch_event_rule.every.name
  target_id = "b"
  arn       = aws_ecs_cluster.main.arn
  ecs_target { task_definition_arn = aws_ecs_task_definition.report.arn }
}
"#;
        let c = convert(&[("main.tf", TASK), ("rules.tf", rules)]);
        let names: Vec<String> = scheduled(&c).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["every-5-a", "every-5-b"]);
    }

    #[test]
    fn a_rule_named_by_its_label_is_found_by_its_targets() {
        let rules = r#"
resource "aws_cloudwatch_event_rule" "nightly" {
  schedule_expression = "rate(1 day)"
}
resource "aws_cloudwatch_event_target" "report" {
  rule = aws_cloudwatch_event_rule.nightly.id
  arn  = aws_ecs_cluster.main.arn
  ecs_target { task_definition_arn = aws_ecs_task_definition.report.arn }
}
"#;
        let c = convert(&[("main.tf", TASK), ("rules.tf", rules)]);
        let names: Vec<String> = scheduled(&c).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["nightly"], "{:?}", c.notes);
    }

    #[test]
    fn event_pattern_rules_targets_without_ecs_and_lone_targets_are_reported_not_converted() {
        let rules = r#"
resource "aws_cloudwatch_event_rule" "on_push" {
  name          = "on-push"
  event_pattern = jsonencode({ source = ["aws.ecr"] })
}
resource "aws_cloudwatch_event_target" "push" {
  rule = aws_cloudwatch_event_rule.on_push.name
  arn  = aws_ecs_cluster.main.arn
  ecs_target { task_definition_arn = aws_ecs_task_definition.report.arn }
}
resource "aws_cloudwatch_event_rule" "tick" {
  name                = "tick"
  schedule_expression = "rate(1 minute)"
}
resource "aws_cloudwatch_event_target" "queue" {
  rule = aws_cloudwatch_event_rule.tick.name
  arn  = "arn:aws:sqs:eu-west-1:123456789012:q"
}
resource "aws_cloudwatch_event_target" "elsewhere" {
  rule = "declared-in-another-stack"
  arn  = aws_ecs_cluster.main.arn
  ecs_target { task_definition_arn = aws_ecs_task_definition.report.arn }
}
"#;
        let c = convert(&[("main.tf", TASK), ("rules.tf", rules)]);
        assert!(scheduled(&c).is_empty());
        let notes: Vec<(NoteKind, String)> = c
            .notes
            .iter()
            .filter(|n| {
                n.location
                    .resource
                    .as_deref()
                    .is_some_and(|r| r.starts_with("aws_cloudwatch"))
            })
            .map(|n| {
                let at = n.location.resource.clone().unwrap_or_default();
                // `TYPE.NAME (line N)`: the address.
                let address = at.split(" (").next().unwrap_or_default().to_owned();
                (n.kind, address)
            })
            .collect();
        for (kind, resource) in [
            (NoteKind::Skipped, "aws_cloudwatch_event_rule.on_push"),
            (NoteKind::Skipped, "aws_cloudwatch_event_target.push"),
            (NoteKind::Skipped, "aws_cloudwatch_event_target.queue"),
            (NoteKind::Skipped, "aws_cloudwatch_event_rule.tick"),
            (
                NoteKind::NotConverted,
                "aws_cloudwatch_event_target.elsewhere",
            ),
        ] {
            assert!(
                notes.contains(&(kind, resource.to_owned())),
                "{kind:?} {resource}: {notes:?}"
            );
        }
    }

    #[test]
    fn terraform_show_json_schedules_take_the_same_path() {
        let plan = json!({
            "format_version": "1.2",
            "planned_values": {"root_module": {"resources": [
                {"address": "aws_ecs_task_definition.report", "mode": "managed", "type": "aws_ecs_task_definition", "name": "report",
                 "values": {"family": "report", "container_definitions": "[{\"name\":\"app\",\"image\":\"example/report:2.0\",\"memory\":128}]"}},
                {"address": "aws_cloudwatch_event_rule.nightly", "mode": "managed", "type": "aws_cloudwatch_event_rule", "name": "nightly",
                 "values": {"name": "nightly-report", "schedule_expression": "rate(1 day)", "state": "ENABLED"}},
                {"address": "aws_cloudwatch_event_target.report", "mode": "managed", "type": "aws_cloudwatch_event_target", "name": "report",
                 "values": {"rule": "nightly-report", "arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/jobs", "target_id": "report",
                            "ecs_target": [{"task_definition_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/report:3", "task_count": 1,
                                            "network_configuration": [], "placement_constraint": [], "capacity_provider_strategy": []}]}},
                {"address": "aws_scheduler_schedule.hourly", "mode": "managed", "type": "aws_scheduler_schedule", "name": "hourly",
                 "values": {"name": "hourly-report", "schedule_expression": "rate(1 hour)", "state": "ENABLED",
                            "flexible_time_window": [{"mode": "OFF", "maximum_window_in_minutes": null}],
                            "target": [{"arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/jobs", "role_arn": "arn:aws:iam::123456789012:role/s",
                                        "ecs_parameters": [{"task_definition_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/report:3", "task_count": 1}]}]}},
            ]}},
        });
        let c = convert(&[("plan.json", &plan.to_string())]);
        let tasks = scheduled(&c);
        let names: Vec<&str> = tasks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["hourly-report", "nightly-report"], "{:?}", c.notes);
        assert_eq!(tasks[1].1["scheduleExpression"], "rate(1 day)");
        assert_eq!(
            tasks[1].1["taskDefinition"],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/report:3"
        );
        assert_eq!(tasks[0].1["flexibleTimeWindow"], json!({"mode": "OFF"}));
    }

    #[test]
    fn a_plan_that_does_not_know_the_rules_name_yet_pairs_the_target_by_its_reference() {
        let unknown_ref = |r: &str| json!({"references": [format!("{r}.arn"), r]});
        let plan = json!({
            "format_version": "1.2",
            "planned_values": {"root_module": {"resources": [
                {"address": "aws_ecs_cluster.main", "mode": "managed", "type": "aws_ecs_cluster", "name": "main",
                 "values": {"name": "jobs"}},
                {"address": "aws_ecs_task_definition.report", "mode": "managed", "type": "aws_ecs_task_definition", "name": "report",
                 "values": {"family": "report", "container_definitions": "[{\"name\":\"app\",\"image\":\"example/report:2.0\",\"memory\":128}]"}},
                {"address": "aws_cloudwatch_event_rule.nightly", "mode": "managed", "type": "aws_cloudwatch_event_rule", "name": "nightly",
                 "values": {"schedule_expression": "rate(1 day)"}},
                {"address": "aws_cloudwatch_event_target.report", "mode": "managed", "type": "aws_cloudwatch_event_target", "name": "report",
                 "values": {"ecs_target": [{"task_count": 1}]}},
            ]}},
            "resource_changes": [
                {"address": "aws_cloudwatch_event_rule.nightly", "change": {"after_unknown": {"name": true, "arn": true, "id": true}}},
                {"address": "aws_cloudwatch_event_target.report",
                 "change": {"after_unknown": {"rule": true, "arn": true, "ecs_target": [{"task_definition_arn": true}]}}},
            ],
            "configuration": {"root_module": {"resources": [
                {"address": "aws_cloudwatch_event_target.report", "expressions": {
                    "rule": {"references": ["aws_cloudwatch_event_rule.nightly.name", "aws_cloudwatch_event_rule.nightly"]},
                    "arn": unknown_ref("aws_ecs_cluster.main"),
                    "ecs_target": [{"task_definition_arn": unknown_ref("aws_ecs_task_definition.report")}],
                }},
            ]}},
        });
        let c = convert(&[("plan.json", &plan.to_string())]);
        let tasks = scheduled(&c);
        assert_eq!(tasks.len(), 1, "{:?}", c.notes);
        let (name, spec) = &tasks[0];
        assert_eq!(name, "nightly");
        assert_eq!(spec["cluster"], "jobs");
        assert_eq!(spec["taskDefinition"], "report");
        assert_eq!(spec["scheduleExpression"], "rate(1 day)");
    }
}
