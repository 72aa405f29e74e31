//! `EcsCluster`: the ECS `CreateCluster` request, plus what each capacity provider means on
//! this Kubernetes cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::any_object;
use super::common::{
    CapacityProviderStrategyItem, CommonStatus, KeyValuePair, STRATEGY_WEIGHT_MESSAGE,
    STRATEGY_WEIGHT_RULE, Tag,
};

/// An ECS cluster: a scope for services and tasks, with capacity providers mapped to nodes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "EcsCluster",
    plural = "ecsclusters",
    singular = "ecscluster",
    shortname = "ecscl",
    category = "ecs",
    namespaced,
    status = "EcsClusterStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An ECS cluster (CreateCluster) whose capacity providers map onto node pools.",
    printcolumn(
        name = "Services",
        type_ = "integer",
        json_path = ".status.activeServicesCount"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningTasksCount"
    ),
    printcolumn(
        name = "Pending",
        type_ = "integer",
        json_path = ".status.pendingTasksCount"
    ),
    printcolumn(
        name = "Instances",
        type_ = "integer",
        json_path = ".status.registeredContainerInstancesCount"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.defaultCapacityProviderStrategy) || self.defaultCapacityProviderStrategy.filter(c, has(c.base) && c.base > 0).size() <= 1")
        .message("only one capacity provider of a strategy may set a base")
        .field_path(".defaultCapacityProviderStrategy"),
    validation = Rule::new("!has(self.defaultCapacityProviderStrategy) || !has(self.capacityProviders) || self.defaultCapacityProviderStrategy.all(s, s.capacityProvider in self.capacityProviders)")
        .message("defaultCapacityProviderStrategy may only name capacityProviders of the cluster")
        .field_path(".defaultCapacityProviderStrategy"),
)]
pub struct EcsClusterSpec {
    /// Cluster name (up to 255 letters, digits, hyphens and underscores); defaults to
    /// `metadata.name`. Services and tasks name it in their `cluster` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub cluster_name: Option<String>,
    /// Capacity providers available to the cluster (for example `FARGATE`, `FARGATE_SPOT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub capacity_providers: Option<Vec<String>>,
    /// Strategy for services and tasks that set neither launchType nor a strategy (with
    /// several providers, at least one needs a weight above 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(
        merge_strategy = ListMerge::Map(vec!["capacityProvider".into()]),
        validation = Rule::new(STRATEGY_WEIGHT_RULE).message(STRATEGY_WEIGHT_MESSAGE)
    )]
    pub default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Cluster settings, such as `containerInsights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub settings: Option<Vec<KeyValuePair>>,
    /// Execute-command and managed-storage configuration; only meaningful inside AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub configuration: Option<serde_json::Value>,
    /// Default Service Connect namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_defaults: Option<ServiceConnectDefaults>,
    /// Metadata tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Option<Vec<Tag>>,
    /// What each capacity provider (and launch type) means on this Kubernetes cluster: the
    /// nodes its tasks may run on (ecsplane extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["capacityProvider".into()]))]
    pub capacity_provider_mappings: Option<Vec<CapacityProviderMapping>>,
}

/// ECS `ClusterServiceConnectDefaultsRequest`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectDefaults {
    /// Cloud Map namespace name or ARN.
    pub namespace: String,
}

/// The nodes a capacity provider stands for.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderMapping {
    /// Capacity provider name (`FARGATE`, `FARGATE_SPOT`, an ASG provider) or a launch type
    /// (`EC2`, `FARGATE`, `EXTERNAL`).
    #[schemars(length(min = 1, max = 255))]
    pub capacity_provider: String,
    /// Node labels the provider's tasks must run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Taints of those nodes the tasks tolerate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
}

/// Counts in ECS terms.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterStatus {
    /// `ACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// EcsServices in this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_services_count: Option<i32>,
    /// Ready tasks of the cluster's services and standalone tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_tasks_count: Option<i32>,
    /// Tasks not yet ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_tasks_count: Option<i32>,
    /// Nodes that match one of the cluster's capacity provider mappings (all schedulable nodes
    /// when there is no mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_container_instances_count: Option<i32>,
    /// Generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
}
