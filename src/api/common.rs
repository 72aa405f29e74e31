//! Shapes shared by several kinds: tags, key/value pairs, capacity-provider
//! strategies, placement and network configuration, and status conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A resource tag, as ECS `Tag` (`key`/`value`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// Tag key (1–128 characters).
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// Tag value (0–256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub value: Option<String>,
}

/// A name/value pair, as ECS `KeyValuePair` (environment variables, settings).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    /// Name of the variable or setting (up to 255 characters).
    #[schemars(length(max = 255))]
    pub name: String,
    /// Value of the variable or setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The CEL rule on a capacity provider strategy (a list of [`CapacityProviderStrategyItem`]):
/// with several providers at least one needs a weight above 0, as ECS requires ("If you
/// specify multiple capacity providers in a strategy that all have a weight of 0, any
/// RunTask or CreateService actions using the capacity provider strategy will fail").
pub(crate) const STRATEGY_WEIGHT_RULE: &str =
    "size(self) <= 1 || self.exists(c, has(c.weight) && c.weight > 0)";

/// The message of [`STRATEGY_WEIGHT_RULE`].
pub(crate) const STRATEGY_WEIGHT_MESSAGE: &str =
    "a capacity provider strategy with several providers needs a weight above 0 on at least one";

/// One entry of a capacity provider strategy, as ECS `CapacityProviderStrategyItem`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    /// Name of the capacity provider (for example `FARGATE`, `FARGATE_SPOT` or an Auto Scaling
    /// group provider). What it means on this cluster is set by the EcsCluster's
    /// `capacityProviderMappings`.
    pub capacity_provider: String,
    /// Relative share of tasks placed on this provider once every `base` is met (0–1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub weight: Option<i32>,
    /// Minimum number of tasks placed on this provider first (0–100000). Only one provider of
    /// a strategy may set a base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub base: Option<i32>,
}

/// Where tasks may be placed, as ECS `PlacementConstraint`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type != 'memberOf' || has(self.expression)").message("a memberOf placement constraint needs an expression").field_path(".expression"))]
pub struct PlacementConstraint {
    /// `distinctInstance` (each task on a different node) or `memberOf` (nodes matching
    /// `expression`).
    #[serde(rename = "type")]
    pub type_: PlacementConstraintType,
    /// A cluster query language expression, for example
    /// `attribute:ecs.availability-zone in [us-east-1a, us-east-1b]` (memberOf only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub expression: Option<String>,
}

/// Type of a placement constraint.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PlacementConstraintType {
    /// Every task of the service on a different node.
    #[default]
    #[serde(rename = "distinctInstance")]
    DistinctInstance,
    /// Only nodes matching the cluster query language expression.
    #[serde(rename = "memberOf")]
    MemberOf,
}

/// How tasks are spread or packed, as ECS `PlacementStrategy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type == 'random' || has(self.field)").message("spread and binpack placement strategies need a field").field_path(".field"))]
pub struct PlacementStrategy {
    /// `spread`, `binpack` or `random`.
    #[serde(rename = "type")]
    pub type_: PlacementStrategyType,
    /// For spread: `instanceId`, `host` or `attribute:NAME`; for binpack: `cpu` or `memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub field: Option<String>,
}

/// Type of a placement strategy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlacementStrategyType {
    /// Spread tasks evenly over the values of `field`.
    #[default]
    Spread,
    /// Pack tasks onto the nodes with the least remaining `field` (cpu or memory).
    Binpack,
    /// Place tasks randomly.
    Random,
}

/// Network settings of a service or task, as ECS `NetworkConfiguration`. Only meaningful inside
/// AWS: accepted and reported by the translation, not required.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    /// The VPC subnets and security groups of an awsvpc task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

/// ECS `AwsVpcConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    /// Subnet IDs (up to 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub subnets: Option<Vec<String>>,
    /// Security group IDs (up to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    pub security_groups: Option<Vec<String>>,
    /// `ENABLED` or `DISABLED` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<AssignPublicIp>,
}

/// Whether a task gets a public IP address.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AssignPublicIp {
    /// A public IP address is assigned.
    Enabled,
    /// No public IP address (the ECS default).
    Disabled,
}

/// ECS launch types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LaunchType {
    /// EC2 container instances.
    Ec2,
    /// AWS Fargate.
    Fargate,
    /// ECS Anywhere external instances.
    External,
    /// ECS Managed Instances.
    ManagedInstances,
}

/// Whether tags propagate to tasks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagateTags {
    /// Copy the task definition's tags to the task.
    TaskDefinition,
    /// Copy the service's tags to the task.
    Service,
    /// Do not copy tags.
    None,
}

/// Status fields every kind shares: the generation last acted on and the conditions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Standard conditions (Ready, Progressing, Degraded, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Schema for values kept as arbitrary JSON (fields that only mean something inside AWS, or
/// read-only output that is accepted and ignored).
pub(crate) fn any_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// Schema for an AWS object kept as arbitrary JSON. Typed as an object (unlike [`any_json`]) so
/// CEL rules can test its presence.
pub(crate) fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}
