//! One supported CloudFormation resource → our manifests: `AWS::ECS::Cluster`,
//! `TaskDefinition` and `Service`, `AWS::ElasticLoadBalancingV2::TargetGroup` and `Listener`
//! become drafts of objects; `ListenerRule`s become pending rules of their listener;
//! `AWS::ApplicationAutoScaling::ScalableTarget` and `ScalingPolicy` become pending scaling of
//! their service; `AWS::Events::Rule` and `AWS::Scheduler::Schedule` with an ECS target (or a
//! state machine that runs a task) become EcsScheduledTasks. Properties are renamed to the
//! API's fields, then resolved.
//!
//! Secrets never become values: an environment variable whose whole value is a `NoEcho`
//! parameter or a dynamic reference to a secret (`{{resolve:secretsmanager:…}}`,
//! `{{resolve:ssm-secure:…}}`) moves to the container's `secrets` as a reference (named by
//! the rule of `src/translate/pod.rs` `secret_ref`), with a report line; a secret anywhere
//! else is unresolved, without a `--param` suggestion.
//!
//! Depends on `cfn::evaluate` (the template model) and `import`'s shared types; `evaluate`
//! never depends on this file.

use serde_json::{Map, Value};

use super::evaluate::{SECRET_MARKER, Template, Unresolved};
use crate::import::placeholder::{self, PlaceholderKind};
use crate::import::schema::{self, spec_schema};
use crate::import::{
    Collected, Draft, Kind, Location, NoteKind, PendingRule, PendingScaling, text as scalar_text,
};

/// Renames, resolves and records a supported resource that becomes an object of its own.
pub(super) fn convert_object(
    t: &Template,
    id: &str,
    kind: Kind,
    mut props: Value,
    source: Location,
    out: &mut Collected,
) {
    out.rename_keys(&mut props, spec_schema(kind), "", &source);
    match kind {
        Kind::EcsService => super::discovery::resolve_service(t, &mut props, &source, out),
        Kind::EcsCluster => super::discovery::resolve_cluster(t, &mut props, &source, out),
        _ => {}
    }
    let mut unresolved = Vec::new();
    t.take_assumed_at();
    let mut spec = t.eval(&props, "", &mut unresolved);
    let mut assumed = t.take_assumed_at();
    if !spec.is_object() {
        out.note_at(
            NoteKind::NotConverted,
            &source,
            Some("Properties"),
            "the properties do not evaluate to a mapping",
        );
        return;
    }
    let name = match kind {
        Kind::Listener => t.default_name(id),
        _ => t
            .own_ref(id)
            .map_or_else(|| t.default_name(id), str::to_owned),
    };
    let default_field = match kind {
        Kind::EcsCluster => Some("clusterName"),
        Kind::TaskDefinition => Some("family"),
        Kind::EcsService => Some("serviceName"),
        Kind::TargetGroup => Some("name"),
        Kind::Listener | Kind::EcsScheduledTask => None,
    };
    if let Some(field) = default_field
        && spec.get(field).is_none()
    {
        spec[field] = Value::from(name.as_str());
        let (stack, why) = t.stack_name();
        let stack = match why {
            Some(why) => format!("the stack name {stack}, {why}"),
            None => format!("the stack name {stack}"),
        };
        out.note(
            NoteKind::Assumed,
            t.file,
            source.resource.as_deref(),
            Some(field),
            format!(
                "CloudFormation would generate a name; using {name} ({stack}, and the logical ID; CloudFormation adds a random suffix)"
            ),
        );
        assumed.push((
            field.to_owned(),
            format!("the generated name {name} ({stack}, and the logical ID)"),
        ));
    }
    secrets(t, &mut spec, &source, &mut unresolved, out);
    let mut keys = Vec::new();
    if kind == Kind::Listener {
        if let Some(m) = t.own_ref(id) {
            keys.push(m.to_owned());
        }
        if let Some(lb) = spec.get("loadBalancerArn").and_then(Value::as_str) {
            out.note(
                NoteKind::Assumed,
                t.file,
                source.resource.as_deref(),
                Some("loadBalancerArn"),
                format!("the load balancer's ARN is only known after deployment; {lb:?} stands for it (listeners with the same value share a load balancer)"),
            );
        }
    }
    let assumed = assumed
        .into_iter()
        .map(|(path, what)| {
            (
                path,
                format!("{what}; pass {} to change it", t.stack_name_param()),
            )
        })
        .collect();
    out.push_draft(
        Draft {
            kind,
            aws_name: name,
            spec,
            source,
            unresolved,
            keys,
        },
        assumed,
    );
}

/// Moves secrets that are whole environment values to the container's `secrets` (a report line
/// each) and reports every other secret as unresolved.
fn secrets(
    t: &Template,
    spec: &mut Value,
    source: &Location,
    unresolved: &mut Unresolved,
    out: &mut Collected,
) {
    if let Some(Value::Array(containers)) = spec.get_mut("containerDefinitions") {
        for (i, c) in containers.iter_mut().enumerate() {
            let Some(c) = c.as_object_mut() else { continue };
            let Some(Value::Array(env)) = c.get_mut("environment") else {
                continue;
            };
            let mut moved = Vec::new();
            env.retain(|e| {
                let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
                match e
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(|v| whole_secret(t, v))
                {
                    Some((value_from, what)) if !name.is_empty() => {
                        moved.push((name.to_owned(), value_from, what));
                        false
                    }
                    _ => true,
                }
            });
            if moved.is_empty() {
                continue;
            }
            if !matches!(c.get("secrets"), None | Some(Value::Array(_))) {
                c.remove("secrets");
            }
            let list = c
                .entry("secrets")
                .or_insert_with(|| Value::Array(Vec::new()));
            for (name, value_from, what) in moved {
                let secret = crate::translate::pod::secret_ref(&value_from);
                out.note_at(
                    NoteKind::Secret,
                    source,
                    Some(&format!("containerDefinitions[{i}].environment.{name}")),
                    format!(
                        "{what} is a secret: it becomes secrets[].valueFrom {value_from:?}, which render reads from Secret {} key {} (create it with the value); the value is never written",
                        secret.name, secret.key
                    ),
                );
                if let Value::Array(list) = list {
                    list.push(serde_json::json!({"name": name, "valueFrom": value_from}));
                }
            }
        }
    }
    embedded_secrets(spec, "", unresolved);
}

/// The `valueFrom` of a value that is one secret and nothing else, and what the secret is.
fn whole_secret(t: &Template, value: &str) -> Option<(String, String)> {
    if let Some(rest) = value.strip_prefix(SECRET_MARKER)
        && let Some(inner) = rest.strip_suffix('\u{0}')
        && !inner.contains('\u{0}')
    {
        let (value_from, param) = inner.split_once('\u{1}')?;
        return Some((value_from.to_owned(), format!("NoEcho parameter {param}")));
    }
    let found = placeholder::find(value, false);
    match found.as_slice() {
        [p] if p.text == value.trim() => match &p.kind {
            PlaceholderKind::Secret(secret) => {
                let partition = match t.given_pseudo("AWS::Partition") {
                    p if p.is_empty() => "aws".to_owned(),
                    p => p,
                };
                let value_from = secret.value_from(
                    &partition,
                    &t.given_pseudo("AWS::Region"),
                    &t.given_pseudo("AWS::AccountId"),
                );
                let what = match secret.dropped() {
                    Some(d) => format!("the dynamic reference {} ({d} not carried)", p.text),
                    None => format!("the dynamic reference {}", p.text),
                };
                Some((value_from, what))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Reports each secret left in `value` (a NoEcho parameter, now written as `${NAME}`, or a
/// dynamic reference to a secret) as unresolved at its path, never with a `--param`.
fn embedded_secrets(value: &mut Value, path: &str, unresolved: &mut Unresolved) {
    match value {
        Value::String(s) => {
            if s.contains(SECRET_MARKER) {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(start) = rest.find(SECRET_MARKER) {
                    out.push_str(&rest[..start]);
                    let after = &rest[start + SECRET_MARKER.len()..];
                    let (inner, tail) = after.split_once('\u{0}').unwrap_or((after, ""));
                    let param = inner.split_once('\u{1}').map_or(inner, |(_, p)| p);
                    out.push_str(&format!("${{{param}}}"));
                    unresolved.push((
                        path.to_owned(),
                        format!(
                            "NoEcho parameter {param} is a secret: its value is never written, and only a whole environment variable value becomes a Secret reference; edit the output (it stands as ${{{param}}})"
                        ),
                    ));
                    rest = tail;
                }
                out.push_str(rest);
                *s = out;
            }
            for p in placeholder::find(s, false) {
                if matches!(p.kind, PlaceholderKind::Secret(_)) {
                    unresolved.push((path.to_owned(), p.message()));
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                embedded_secrets(v, &schema::join(path, k), unresolved);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                embedded_secrets(v, &format!("{path}[{i}]"), unresolved);
            }
        }
        _ => {}
    }
}

/// A listener rule: its listener identified, its properties renamed and resolved.
pub(super) fn convert_rule(t: &Template, props: &Value, source: Location, out: &mut Collected) {
    let mut u = Vec::new();
    let listener = t.eval(
        props.get("ListenerArn").unwrap_or(&Value::Null),
        "listenerArn",
        &mut u,
    );
    if !u.is_empty() {
        let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
        out.note(
            NoteKind::Unresolved,
            t.file,
            source.resource.as_deref(),
            Some("ListenerArn"),
            format!("its listener cannot be identified: {}", why.join("; ")),
        );
        return;
    }
    let mut rule = props.clone();
    if let Some(m) = rule.as_object_mut() {
        m.remove("ListenerArn");
    }
    out.rename_keys(&mut rule, schema::listener_rule(), "", &source);
    let mut unresolved = Vec::new();
    let mut rule = t.eval(&rule, "", &mut unresolved);
    if !rule.is_object() {
        out.note_at(
            NoteKind::NotConverted,
            &source,
            Some("Properties"),
            "the properties do not evaluate to a mapping",
        );
        return;
    }
    embedded_secrets(&mut rule, "", &mut unresolved);
    out.rules.push(PendingRule {
        listener_key: scalar_text(&listener),
        rule,
        is_default: false,
        source,
        unresolved,
    });
}

/// An ECS service's scalable target: the service it scales, its capacity and scheduled actions.
pub(super) fn convert_target(
    t: &Template,
    id: &str,
    props: &Value,
    source: Location,
    out: &mut Collected,
) {
    let mut unresolved = Vec::new();
    let resource_id = scalar_text(&t.eval(
        props.get("ResourceId").unwrap_or(&Value::Null),
        "resourceId",
        &mut unresolved,
    ));
    let namespace = props
        .get("ServiceNamespace")
        .map(|v| scalar_text(&t.eval(v, "", &mut Vec::new())));
    if namespace.as_deref().is_some_and(|n| n != "ecs") {
        *out.skipped
            .entry(format!(
                "AWS::ApplicationAutoScaling::ScalableTarget (namespace {})",
                namespace.unwrap_or_default()
            ))
            .or_default() += 1;
        out.note(
            NoteKind::Skipped,
            t.file,
            source.resource.as_deref(),
            None,
            "not an ECS service scalable target",
        );
        return;
    }
    let unidentified = (!unresolved.is_empty()).then(|| {
        let why: Vec<String> = std::mem::take(&mut unresolved)
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        format!("its service cannot be identified: {}", why.join("; "))
    });
    let mut target = Map::new();
    for key in [
        "MinCapacity",
        "MaxCapacity",
        "SuspendedState",
        "ScheduledActions",
    ] {
        if let Some(v) = props.get(key) {
            target.insert(key.to_owned(), v.clone());
        }
    }
    let mut target = Value::Object(target);
    out.rename_keys(&mut target, schema::auto_scaling(), "", &source);
    let mut target = t.eval(&target, "", &mut unresolved);
    if !target.is_object() {
        target = schema::object();
    }
    embedded_secrets(&mut target, "", &mut unresolved);
    let key = t.own_ref(id).map(str::to_owned);
    out.scaling.push(PendingScaling {
        resource_id,
        key,
        target: Some(target),
        policies: Vec::new(),
        source,
        unresolved,
        unidentified,
    });
}

/// A scaling policy: the scalable target it belongs to, its configuration renamed and
/// resolved.
pub(super) fn convert_policy(
    t: &Template,
    id: &str,
    props: &Value,
    source: Location,
    out: &mut Collected,
) {
    let mut u = Vec::new();
    let target = match props.get("ScalingTargetId") {
        Some(v) => t.eval(v, "ScalingTargetId", &mut u),
        None => t.eval(
            props.get("ResourceId").unwrap_or(&Value::Null),
            "ResourceId",
            &mut u,
        ),
    };
    if !u.is_empty() {
        let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
        out.note(
            NoteKind::Unresolved,
            t.file,
            source.resource.as_deref(),
            Some("ScalingTargetId"),
            format!(
                "its scalable target cannot be identified: {}",
                why.join("; ")
            ),
        );
        return;
    }
    let mut policy = props.clone();
    if let Some(m) = policy.as_object_mut() {
        for k in [
            "ScalingTargetId",
            "ResourceId",
            "ScalableDimension",
            "ServiceNamespace",
        ] {
            m.remove(k);
        }
    }
    out.rename_keys(
        &mut policy,
        schema::scaling_policy(),
        "scalingPolicies[0]",
        &source,
    );
    let mut unresolved = Vec::new();
    let mut policy = t.eval(&policy, "scalingPolicies[0]", &mut unresolved);
    if !policy.is_object() {
        out.note_at(
            NoteKind::NotConverted,
            &source,
            Some("Properties"),
            "the properties do not evaluate to a mapping",
        );
        return;
    }
    embedded_secrets(&mut policy, "scalingPolicies[0]", &mut unresolved);
    let mut pending = PendingScaling::policy(scalar_text(&target), policy, source, unresolved);
    pending.key = Some(super::alarm::policy_key(t, id));
    out.scaling.push(pending);
}

/// `AWS::Events::Rule` and `AWS::Scheduler::Schedule`: a schedule whose target runs an ECS
/// task becomes an EcsScheduledTask (the schedule beside the RunTask request of
/// `EcsParameters`, the target's `Arn` as its cluster, its `Input` as the overrides); a
/// rule's target may also be a Step Functions state machine that runs the task
/// (`arn:…:states:::ecs:runTask`, as AWS Copilot writes scheduled jobs), whose `Parameters`
/// are the RunTask request. A rule without a schedule (an event pattern) and a target that
/// runs no ECS task are skipped with a note.
pub(super) fn convert_schedule(
    t: &Template,
    id: &str,
    ty: &str,
    props: &Value,
    source: Location,
    out: &mut Collected,
) {
    let Some(expression) = props.get("ScheduleExpression") else {
        *out.skipped
            .entry(format!("{ty} (event pattern)"))
            .or_default() += 1;
        out.note_at(
            NoteKind::Skipped,
            &source,
            None,
            "a rule without ScheduleExpression reacts to events, which is not converted",
        );
        return;
    };
    let targets: Vec<(String, &Value)> = match props.get("Targets") {
        Some(Value::Array(ts)) => ts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let tid = t
                    .get("Id")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_owned);
                (tid, t)
            })
            .collect(),
        _ => props
            .get("Target")
            .map(|t| vec![(String::new(), t)])
            .unwrap_or_default(),
    };
    let mut converted = 0;
    let several = targets.len() > 1;
    for (i, (tid, target)) in targets.iter().enumerate() {
        let Some(mut spec) = scheduled_target(t, target, &source, out) else {
            continue;
        };
        converted += 1;
        spec.insert("scheduleExpression".into(), expression.clone());
        for (aws, ours) in [
            ("ScheduleExpressionTimezone", "scheduleExpressionTimezone"),
            ("State", "state"),
            ("StartDate", "startDate"),
            ("EndDate", "endDate"),
            ("FlexibleTimeWindow", "flexibleTimeWindow"),
        ] {
            if let Some(v) = props.get(aws) {
                spec.insert(ours.into(), v.clone());
            }
        }
        let name = if several {
            format!(
                "{id}-{}",
                if tid.is_empty() {
                    i.to_string()
                } else {
                    tid.clone()
                }
            )
        } else {
            id.to_owned()
        };
        let mut at = source.clone();
        if several {
            at.path = Some(format!("Targets[{i}]"));
        }
        convert_object(
            t,
            &name,
            Kind::EcsScheduledTask,
            Value::Object(spec),
            at,
            out,
        );
    }
    if converted == 0 {
        *out.skipped
            .entry(format!("{ty} (no ECS target)"))
            .or_default() += 1;
        out.note_at(
            NoteKind::Skipped,
            &source,
            None,
            "none of its targets runs an ECS task (EcsParameters, or a state machine that runs one)",
        );
    }
}

/// The RunTask request of one target, in the API's field names but not yet evaluated: from
/// `EcsParameters`, or from the state machine the target starts; `None` when it runs no task.
fn scheduled_target(
    t: &Template,
    target: &Value,
    source: &Location,
    out: &mut Collected,
) -> Option<Map<String, Value>> {
    let mut spec = Map::new();
    if let Some(ecs) = target.get("EcsParameters").and_then(Value::as_object) {
        for (k, v) in ecs {
            let key = match k.as_str() {
                "TaskDefinitionArn" => "taskDefinition".to_owned(),
                "TaskCount" => "count".to_owned(),
                "NetworkConfiguration" => {
                    spec.insert("networkConfiguration".into(), awsvpc(v));
                    continue;
                }
                "ReferenceId" => {
                    out.note_at(
                        NoteKind::Dropped,
                        source,
                        Some("EcsParameters.ReferenceId"),
                        "the reference ID only tags the task inside AWS",
                    );
                    continue;
                }
                other => schema::lower_camel(other),
            };
            spec.insert(key, v.clone());
        }
        if let Some(arn) = target.get("Arn") {
            spec.insert("cluster".into(), arn.clone());
        }
        if let Some(input) = target.get("Input") {
            let mut u = Vec::new();
            match t.eval(input, "Input", &mut u) {
                Value::String(s) if u.is_empty() => match serde_json::from_str::<Value>(&s) {
                    Ok(v @ Value::Object(_)) => {
                        spec.insert("overrides".into(), v);
                    }
                    _ => out.note_at(
                        NoteKind::Dropped,
                        source,
                        Some("Input"),
                        "the input is not a JSON object of RunTask overrides",
                    ),
                },
                _ => out.note_at(
                    NoteKind::Unresolved,
                    source,
                    Some("Input"),
                    "the input (the RunTask overrides) is unresolved and not converted",
                ),
            }
        }
        if let Some(r) = target.get("RetryPolicy") {
            spec.insert("retryPolicy".into(), r.clone());
        }
        for k in ["RoleArn", "DeadLetterConfig"] {
            if target.get(k).is_some() {
                out.note_at(
                    NoteKind::Dropped,
                    source,
                    Some(k),
                    "only meaningful to EventBridge inside AWS",
                );
            }
        }
        return Some(spec);
    }
    state_machine_task(t, target.get("Arn")?, source, out)
}

/// `NetworkConfiguration` of EcsParameters (`AwsVpcConfiguration` in rules,
/// `AwsvpcConfiguration` in Scheduler) as the API writes it.
fn awsvpc(v: &Value) -> Value {
    match v.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .map(|(k, v)| match k.as_str() {
                    "AwsVpcConfiguration" | "AwsvpcConfiguration" => {
                        ("awsvpcConfiguration".to_owned(), v.clone())
                    }
                    other => (other.to_owned(), v.clone()),
                })
                .collect(),
        ),
        None => v.clone(),
    }
}

/// The RunTask request of the Step Functions state machine `arn` refers to (`Ref` of a
/// template resource), when one of its states runs an ECS task.
fn state_machine_task(
    t: &Template,
    arn: &Value,
    source: &Location,
    out: &mut Collected,
) -> Option<Map<String, Value>> {
    let id = arn.get("Ref").and_then(Value::as_str)?;
    let res = t.resources().get(id)?;
    if res.get("Type").and_then(Value::as_str) != Some("AWS::StepFunctions::StateMachine") {
        return None;
    }
    let props = res.get("Properties")?;
    let definition: Value = match (props.get("DefinitionString"), props.get("Definition")) {
        (Some(Value::String(s)), _) => serde_json::from_str(s).ok()?,
        (_, Some(d @ Value::Object(_))) => d.clone(),
        _ => return None,
    };
    let substitutions = props
        .get("DefinitionSubstitutions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let states = definition.get("States")?.as_object()?;
    let (state_name, state) = states.iter().find(|(_, s)| {
        s.get("Resource")
            .and_then(Value::as_str)
            .is_some_and(|r| r.contains(":states:::ecs:runTask"))
    })?;
    let params = state.get("Parameters")?.as_object()?;
    let at = |k: &str| format!("{id}.Definition.States.{state_name}.{k}");
    let mut spec = Map::new();
    for (k, v) in params {
        if k.ends_with(".$") {
            out.note_at(
                NoteKind::Dropped,
                source,
                Some(&at(&format!("Parameters.{k}"))),
                "a value the state machine takes from its execution at run time is not converted",
            );
            continue;
        }
        let v = substituted(v, &substitutions);
        let key = match k.as_str() {
            "TaskDefinition" => "taskDefinition".to_owned(),
            "Count" => "count".to_owned(),
            "NetworkConfiguration" => {
                spec.insert("networkConfiguration".into(), awsvpc(&v));
                continue;
            }
            other => schema::lower_camel(other),
        };
        spec.insert(key, v);
    }
    if let Some(r) = state.get("Retry") {
        let attempts = r
            .as_array()
            .and_then(|a| a.first())
            .and_then(|r| r.get("MaxAttempts"))
            .map(scalar_text)
            .unwrap_or_default();
        out.note_at(
            NoteKind::Dropped,
            source,
            Some(&at("Retry")),
            format!("the state machine runs a failed task again (up to {attempts} times); the CronJob's Job does not, as a scheduled ECS task does not"),
        );
    }
    if let Some(s) = definition
        .get("TimeoutSeconds")
        .or_else(|| state.get("TimeoutSeconds"))
    {
        out.note_at(
            NoteKind::Dropped,
            source,
            Some(&at("TimeoutSeconds")),
            format!(
                "the state machine stops the task after {} seconds; the Job has no deadline",
                scalar_text(s)
            ),
        );
    }
    out.note_at(
        NoteKind::Assumed,
        source,
        Some("Targets"),
        format!("the target starts state machine {id}, whose state {state_name:?} runs the ECS task: each run becomes that task"),
    );
    Some(spec)
}

/// `v` with each `${Name}` of the definition substitutions replaced, as `Fn::Sub` would: a
/// string with a placeholder becomes `Fn::Sub` of it, resolved when the spec is evaluated; a
/// list of one such string that the substitution joins (`["${Subnets}"]` with
/// `a","b`) is split again into its items.
fn substituted(v: &Value, subs: &Map<String, Value>) -> Value {
    match v {
        Value::String(s) if s.contains("${") => {
            let used: Map<String, Value> = subs
                .iter()
                .filter(|(k, _)| s.contains(&format!("${{{k}}}")))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if used.is_empty() {
                v.clone()
            } else {
                serde_json::json!({"Fn::Sub": [s, used]})
            }
        }
        Value::Array(items) => match items.as_slice() {
            [Value::String(s)] if s.contains("${") => {
                serde_json::json!({"Fn::Split": ["\",\"", substituted(&items[0], subs)]})
            }
            _ => Value::Array(items.iter().map(|i| substituted(i, subs)).collect()),
        },
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), substituted(v, subs)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod scheduled_tests {
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use crate::import::{Conversion, ConvertOptions, Kind, convert_sources};

    const TASK_DEFINITION: &str = r#"
  Report:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: report
      ContainerDefinitions:
        - Name: app
          Image: example/report:2.0
          Memory: 512
"#;

    fn convert(resources: &str) -> Conversion {
        let text = format!("Resources:{TASK_DEFINITION}{resources}");
        convert_sources(
            &[(PathBuf::from("jobs.yaml"), text)],
            &ConvertOptions::default(),
        )
        .expect("converts")
    }

    fn scheduled(c: &Conversion) -> Vec<&Value> {
        c.objects
            .iter()
            .filter(|o| o.kind == Kind::EcsScheduledTask)
            .map(|o| &o.manifest["spec"])
            .collect()
    }

    #[test]
    fn an_events_rule_with_an_ecs_target_becomes_a_scheduled_task_with_its_run_task_request() {
        let c = convert(
            r#"
  Nightly:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: cron(30 2 ? * MON-FRI *)
      State: ENABLED
      Targets:
        - Id: report
          Arn: arn:aws:ecs:us-east-1:123456789012:cluster/prod
          RoleArn: arn:aws:iam::123456789012:role/events
          Input: '{"containerOverrides": [{"name": "app", "command": ["report", "--weekly"]}]}'
          EcsParameters:
            TaskDefinitionArn: !Ref Report
            TaskCount: 2
            LaunchType: FARGATE
            NetworkConfiguration:
              AwsVpcConfiguration:
                Subnets: [subnet-1]
"#,
        );
        assert_eq!(
            scheduled(&c),
            [&json!({
                "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "count": 2,
                "launchType": "FARGATE",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                "overrides": {"containerOverrides": [{"name": "app", "command": ["report", "--weekly"]}]},
                "scheduleExpression": "cron(30 2 ? * MON-FRI *)",
                "state": "ENABLED",
                "taskDefinition": "report"
            })]
        );
        assert!(
            c.notes
                .iter()
                .any(|n| n.location.path.as_deref() == Some("RoleArn")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_scheduler_schedule_carries_its_time_zone_window_dates_and_retries() {
        let c = convert(
            r#"
  Hourly:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(1 hour)
      ScheduleExpressionTimezone: Europe/Berlin
      StartDate: '2027-01-01T00:00:00Z'
      FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 15}
      Target:
        Arn: arn:aws:ecs:us-east-1:123456789012:cluster/prod
        RoleArn: arn:aws:iam::123456789012:role/scheduler
        RetryPolicy: {MaximumRetryAttempts: 3}
        EcsParameters:
          TaskDefinitionArn: !Ref Report
          NetworkConfiguration:
            AwsvpcConfiguration: {Subnets: [subnet-1], AssignPublicIp: DISABLED}
"#,
        );
        let s = scheduled(&c);
        assert_eq!(s.len(), 1, "{:?}", c.notes);
        assert_eq!(s[0]["scheduleExpressionTimezone"], "Europe/Berlin");
        assert_eq!(s[0]["startDate"], "2027-01-01T00:00:00Z");
        assert_eq!(
            s[0]["flexibleTimeWindow"],
            json!({"mode": "FLEXIBLE", "maximumWindowInMinutes": 15})
        );
        assert_eq!(s[0]["retryPolicy"], json!({"maximumRetryAttempts": 3}));
        assert_eq!(
            s[0]["networkConfiguration"],
            json!({"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED"}})
        );
    }

    #[test]
    fn event_pattern_rules_and_rules_without_an_ecs_target_are_skipped_with_a_note() {
        let c = convert(
            r#"
  OnPush:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.ecr]}
      Targets: [{Id: x, Arn: arn:aws:lambda:us-east-1:123456789012:function:f}]
  Lambda:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(5 minutes)
      Targets: [{Id: x, Arn: arn:aws:lambda:us-east-1:123456789012:function:f}]
"#,
        );
        assert_eq!(scheduled(&c), [] as [&Value; 0]);
        assert_eq!(c.skipped.get("AWS::Events::Rule (event pattern)"), Some(&1));
        assert_eq!(c.skipped.get("AWS::Events::Rule (no ECS target)"), Some(&1));
    }
}
