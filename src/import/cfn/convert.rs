//! One supported CloudFormation resource → our manifests: `AWS::ECS::Cluster`,
//! `TaskDefinition` and `Service`, `AWS::ElasticLoadBalancingV2::TargetGroup` and `Listener`
//! become drafts of objects; `ListenerRule`s become pending rules of their listener;
//! `AWS::ApplicationAutoScaling::ScalableTarget` and `ScalingPolicy` become pending scaling of
//! their service. Properties are renamed to the API's fields, then resolved.
//!
//! Depends on `cfn::evaluate` (the template model) and `import`'s shared types; `evaluate`
//! never depends on this file.

use serde_json::{Map, Value};

use super::evaluate::Template;
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
    let mut unresolved = Vec::new();
    let mut spec = t.eval(&props, "", &mut unresolved);
    let name = match kind {
        Kind::Listener => id.to_owned(),
        _ => t.own_ref(id).unwrap_or(id).to_owned(),
    };
    let default_field = match kind {
        Kind::EcsCluster => Some("clusterName"),
        Kind::TaskDefinition => Some("family"),
        Kind::EcsService => Some("serviceName"),
        Kind::TargetGroup => Some("name"),
        Kind::Listener => None,
    };
    if let Some(field) = default_field
        && spec.get(field).is_none()
    {
        spec[field] = Value::from(name.as_str());
        out.note(
            NoteKind::Assumed,
            t.file,
            source.resource.as_deref(),
            Some(field),
            format!("CloudFormation would generate a name; using the logical ID: {name}"),
        );
    }
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
    out.drafts.push(Draft {
        kind,
        aws_name: name,
        spec,
        source,
        unresolved,
        keys,
    });
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
    let rule = t.eval(&rule, "", &mut unresolved);
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
    let target = t.eval(&target, "", &mut unresolved);
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
pub(super) fn convert_policy(t: &Template, props: &Value, source: Location, out: &mut Collected) {
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
    let policy = t.eval(&policy, "scalingPolicies[0]", &mut unresolved);
    out.scaling.push(PendingScaling::policy(
        scalar_text(&target),
        policy,
        source,
        unresolved,
    ));
}
