//! Recognising documents: an ecsplane custom resource, or which shape of AWS CLI JSON.
//!
//! [`AwsShape`] is the one place that tells the AWS CLI shapes apart by their top-level keys;
//! the loader (`render`, `routes`) and the importer (`convert`, [`crate::import`]) both ask
//! it. The loader turns the shapes it can load into custom resources ([`resources`]); the
//! importer converts every shape.

use serde_json::{Map, Value, json};

use crate::translate::names;

/// A shape of AWS CLI JSON, told apart by its top-level keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AwsShape {
    /// `aws ecs describe-task-definition` output: `{"taskDefinition": {...}, "tags": [...]}`.
    DescribeTaskDefinition,
    /// A bare task definition (the `register-task-definition` input): `containerDefinitions`.
    TaskDefinition,
    /// `aws ecs describe-services` output: `{"services": [...], "failures": [...]}`.
    DescribeServices,
    /// `aws elbv2 describe-target-groups` output: `{"TargetGroups": [...]}`.
    DescribeTargetGroups,
    /// `aws elbv2 describe-listeners` output: `{"Listeners": [...]}`.
    DescribeListeners,
    /// `aws elbv2 describe-rules` output: `{"Rules": [...]}`.
    DescribeRules,
    /// `aws application-autoscaling describe-scalable-targets` output:
    /// `{"ScalableTargets": [...]}`.
    DescribeScalableTargets,
    /// `aws application-autoscaling describe-scaling-policies` output:
    /// `{"ScalingPolicies": [...]}`.
    DescribeScalingPolicies,
    /// A single service definition (the `create-service` input): any of [`SERVICE_KEYS`].
    ServiceDefinition,
}

/// Top-level keys of which any one makes a document a [`AwsShape::ServiceDefinition`].
pub const SERVICE_KEYS: &[&str] = &[
    "serviceName",
    "taskDefinition",
    "desiredCount",
    "schedulingStrategy",
    "launchType",
    "loadBalancers",
    "capacityProviderStrategy",
    "deploymentConfiguration",
];

impl AwsShape {
    /// Every shape, in the order they are told apart: a document has the first shape it
    /// matches (a `describe-task-definition` output also has a `taskDefinition` key, as a
    /// service definition may).
    pub const ALL: [AwsShape; 9] = [
        AwsShape::DescribeTaskDefinition,
        AwsShape::TaskDefinition,
        AwsShape::DescribeServices,
        AwsShape::DescribeTargetGroups,
        AwsShape::DescribeListeners,
        AwsShape::DescribeRules,
        AwsShape::DescribeScalableTargets,
        AwsShape::DescribeScalingPolicies,
        AwsShape::ServiceDefinition,
    ];

    /// The shape of a document with top-level keys `top`, if it has one.
    pub fn of(top: &Map<String, Value>) -> Option<AwsShape> {
        Self::ALL.into_iter().find(|s| s.matches(top))
    }

    /// Whether a document with top-level keys `top` looks like this shape.
    pub fn matches(self, top: &Map<String, Value>) -> bool {
        match self {
            AwsShape::DescribeTaskDefinition => {
                top.get("taskDefinition").is_some_and(Value::is_object)
            }
            AwsShape::TaskDefinition => top.contains_key("containerDefinitions"),
            AwsShape::ServiceDefinition => SERVICE_KEYS.iter().any(|k| top.contains_key(*k)),
            list => list
                .list_key()
                .and_then(|k| top.get(k))
                .is_some_and(Value::is_array),
        }
    }

    /// The key of the list an output shape holds its entries in (`services`,
    /// `TargetGroups`, ...); `None` for a shape that is one object.
    pub fn list_key(self) -> Option<&'static str> {
        match self {
            AwsShape::DescribeServices => Some("services"),
            AwsShape::DescribeTargetGroups => Some("TargetGroups"),
            AwsShape::DescribeListeners => Some("Listeners"),
            AwsShape::DescribeRules => Some("Rules"),
            AwsShape::DescribeScalableTargets => Some("ScalableTargets"),
            AwsShape::DescribeScalingPolicies => Some("ScalingPolicies"),
            AwsShape::DescribeTaskDefinition
            | AwsShape::TaskDefinition
            | AwsShape::ServiceDefinition => None,
        }
    }

    /// The entries of an output shape's list (empty for a shape that is one object).
    pub fn entries(self, top: &Map<String, Value>) -> &[Value] {
        self.list_key()
            .and_then(|k| top.get(k))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The shape as people know it: the AWS CLI command, or what the input is for.
    pub fn name(self) -> &'static str {
        match self {
            AwsShape::DescribeTaskDefinition => "describe-task-definition",
            AwsShape::TaskDefinition => "task definition (register-task-definition input)",
            AwsShape::DescribeServices => "describe-services",
            AwsShape::DescribeTargetGroups => "elbv2 describe-target-groups",
            AwsShape::DescribeListeners => "elbv2 describe-listeners",
            AwsShape::DescribeRules => "elbv2 describe-rules",
            AwsShape::DescribeScalableTargets => {
                "application-autoscaling describe-scalable-targets"
            }
            AwsShape::DescribeScalingPolicies => {
                "application-autoscaling describe-scaling-policies"
            }
            AwsShape::ServiceDefinition => "service definition (create-service input)",
        }
    }
}

/// The task definition of a [`AwsShape::DescribeTaskDefinition`] document (its
/// `taskDefinition`, given the output's top-level `tags` when it has none of its own) or of a
/// [`AwsShape::TaskDefinition`] document (the document itself).
pub fn into_task_definition(mut top: Map<String, Value>) -> Map<String, Value> {
    if !AwsShape::DescribeTaskDefinition.matches(&top) {
        return top;
    }
    let Some(Value::Object(mut td)) = top.remove("taskDefinition") else {
        return top;
    };
    if let Some(tags) = top.remove("tags")
        && !td.contains_key("tags")
        && tags.as_array().is_some_and(|a| !a.is_empty())
    {
        td.insert("tags".into(), tags);
    }
    td
}

/// Turns one document into the custom resource values (`apiVersion`/`kind`/`metadata`/
/// `spec`) the loader validates: an ecsplane resource as it is, and the AWS shapes that
/// translate (task definitions with a family, services with a `serviceName` and a
/// `taskDefinition` name). A document that looks like a shape the loader cannot load is
/// tried against the later shapes.
pub(super) fn resources(value: Value) -> Result<Vec<Value>, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "expected an object (a custom resource or AWS JSON), found {}",
            json_type(&value)
        ));
    };
    if let Some(api_version) = map.get("apiVersion") {
        let api_version = api_version.as_str().unwrap_or_default();
        if api_version == format!("{}/{}", crate::api::GROUP, crate::api::VERSION) {
            return Ok(vec![Value::Object(map)]);
        }
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("?");
        return Err(format!(
            "apiVersion {api_version:?} kind {kind:?} is not an ecsplane resource; pass \
             ecsplane.io/v1alpha1 resources or AWS JSON"
        ));
    }
    let loadable = |shape: &AwsShape| match shape {
        AwsShape::DescribeTaskDefinition | AwsShape::DescribeServices => true,
        AwsShape::TaskDefinition => map.contains_key("family"),
        AwsShape::ServiceDefinition => {
            map.get("serviceName").is_some_and(Value::is_string)
                && map.get("taskDefinition").is_some_and(Value::is_string)
        }
        _ => false,
    };
    let shape = AwsShape::ALL
        .into_iter()
        .filter(|s| s.matches(&map))
        .find(loadable);
    match shape {
        Some(AwsShape::DescribeTaskDefinition | AwsShape::TaskDefinition) => {
            Ok(vec![task_definition_resource(into_task_definition(map))])
        }
        Some(AwsShape::DescribeServices) => AwsShape::DescribeServices
            .entries(&map)
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(s) => Ok(service_resource(s.clone())),
                other => Err(format!(
                    "services[{i}] should be an object, found {}",
                    json_type(other)
                )),
            })
            .collect(),
        Some(AwsShape::ServiceDefinition) => Ok(vec![service_resource(map)]),
        _ => Err(
            "neither an ecsplane resource (apiVersion ecsplane.io/v1alpha1) nor recognised AWS \
             JSON (describe-task-definition output, a task definition with family and \
             containerDefinitions, describe-services output, or a create-service input with \
             serviceName and taskDefinition)"
                .to_owned(),
        ),
    }
}

fn task_definition_resource(spec: Map<String, Value>) -> Value {
    let family = spec.get("family").and_then(Value::as_str).unwrap_or("task");
    let name = match spec.get("revision").and_then(Value::as_i64) {
        Some(rev) => names::dns_label(&format!("{family}-{rev}")),
        None => names::dns_label(family),
    };
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": { "name": name },
        "spec": spec,
    })
}

fn service_resource(spec: Map<String, Value>) -> Value {
    let name = names::dns_label(
        spec.get("serviceName")
            .and_then(Value::as_str)
            .unwrap_or("service"),
    );
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "EcsService",
        "metadata": { "name": name },
        "spec": spec,
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(v: Value) -> Option<AwsShape> {
        AwsShape::of(v.as_object().expect("an object"))
    }

    #[test]
    fn aws_cli_outputs_are_told_apart_by_their_top_level_keys() {
        assert_eq!(
            shape(json!({"taskDefinition": {"family": "web"}, "tags": []})),
            Some(AwsShape::DescribeTaskDefinition)
        );
        assert_eq!(
            shape(json!({"family": "web", "containerDefinitions": []})),
            Some(AwsShape::TaskDefinition)
        );
        assert_eq!(
            shape(json!({"services": [], "failures": []})),
            Some(AwsShape::DescribeServices)
        );
        assert_eq!(
            shape(json!({"TargetGroups": []})),
            Some(AwsShape::DescribeTargetGroups)
        );
        assert_eq!(
            shape(json!({"serviceName": "web", "taskDefinition": "web:3"})),
            Some(AwsShape::ServiceDefinition)
        );
        assert_eq!(shape(json!({"hello": 1})), None);
    }

    #[test]
    fn a_describe_task_definition_output_gives_its_tags_to_a_task_definition_without_tags() {
        let top =
            json!({"taskDefinition": {"family": "web"}, "tags": [{"key": "a", "value": "b"}]});
        let td = into_task_definition(top.as_object().cloned().expect("an object"));
        assert_eq!(
            Value::Object(td),
            json!({"family": "web", "tags": [{"key": "a", "value": "b"}]})
        );
    }

    /// The loader needs a family to name a task definition: a document with
    /// containerDefinitions but no family is tried as the later shapes.
    #[test]
    fn a_task_definition_without_family_is_not_loaded_as_one() {
        let resources = resources(json!({"containerDefinitions": [],
            "serviceName": "web", "taskDefinition": "web:3"}))
        .expect("a service definition");
        assert_eq!(resources[0]["kind"], "EcsService");
    }
}
