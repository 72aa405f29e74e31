//! `EcsTask`: the ECS `RunTask` request.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    CapacityProviderStrategyItem, CommonStatus, KeyValuePair, LaunchType, NetworkConfiguration,
    PlacementConstraint, PlacementStrategy, PropagateTags, STRATEGY_WEIGHT_MESSAGE,
    STRATEGY_WEIGHT_RULE, Tag, any_json,
};
use super::task_definition::{
    ENV_NAME_MESSAGE, ENV_NAME_RULE, EnvironmentFile, EphemeralStorage, ResourceRequirement,
};

/// A one-off ECS task (RunTask): `count` copies of a task definition that run until an
/// essential container exits.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "EcsTask",
    plural = "ecstasks",
    singular = "ecstask",
    shortname = "ecstask",
    category = "ecs",
    namespaced,
    status = "EcsTaskStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "A standalone ECS task (RunTask) translated into Pods that are not restarted.",
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".status.taskDefinition"
    ),
    printcolumn(
        name = "Last Status",
        type_ = "string",
        json_path = ".status.lastStatus"
    ),
    printcolumn(
        name = "Desired Status",
        type_ = "string",
        json_path = ".status.desiredStatus"
    ),
    printcolumn(name = "Stop Code", type_ = "string", json_path = ".status.stopCode"),
    printcolumn(
        name = "Stopped Reason",
        type_ = "string",
        json_path = ".status.stoppedReason",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.launchType) || !has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0")
    .message("launchType and capacityProviderStrategy cannot both be set")
    .field_path(".capacityProviderStrategy"))]
pub struct EcsTaskSpec {
    /// Cluster to run in: an EcsCluster's `clusterName`, its ARN, or omitted for `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Task definition: `family`, `family:revision` or a task definition ARN.
    #[schemars(length(min = 1, max = 2048))]
    pub task_definition: String,
    /// Number of tasks to start (1–10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub count: Option<i32>,
    /// Task group name (default `family:FAMILY`), used by spread placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub group: Option<String>,
    /// Free-form tag of who started the task (up to 128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub started_by: Option<String>,
    /// `EC2`, `FARGATE`, `EXTERNAL` or `MANAGED_INSTANCES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,
    /// How tasks are split between capacity providers (with several, at least one needs a
    /// weight above 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(validation = Rule::new(STRATEGY_WEIGHT_RULE).message(STRATEGY_WEIGHT_MESSAGE))]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// Fargate platform version; only meaningful inside AWS (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// Per-container and task-level overrides of the task definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<TaskOverride>,
    /// Placement constraints (up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// Placement strategies (up to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    /// VPC subnets and security groups; only meaningful inside AWS (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    /// ECS Exec; on Kubernetes, `kubectl exec` governed by RBAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// ECS-managed tags on the task.
    #[serde(
        default,
        rename = "enableECSManagedTags",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Copy the task definition's tags to the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<PropagateTags>,
    /// Metadata tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Option<Vec<Tag>>,
    /// EBS volumes configured at launch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub volume_configurations: Option<serde_json::Value>,
    /// Idempotency token; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// ECS `TaskOverride`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    /// Overrides for named containers (up to 10, as a task has at most 10 containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub container_overrides: Option<Vec<ContainerOverride>>,
    /// Task-level CPU override (as in the task definition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Task-level memory override (as in the task definition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Execution role override (never given to the application).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// Task role override (the pod's ServiceAccount role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// Ephemeral storage override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// Elastic Inference overrides (retired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub inference_accelerator_overrides: Option<serde_json::Value>,
}

/// ECS `ContainerOverride`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    /// Container of the task definition to override.
    pub name: String,
    /// Replaces the container's `command` (Kubernetes `args`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Added to or replacing the container's environment variables (up to 1000: RunTask
    /// overrides are at most 8 KiB). Names as in a task definition's `environment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000))]
    #[x_kube(
        merge_strategy = ListMerge::Map(vec!["name".into()]),
        validation = Rule::new(ENV_NAME_RULE).message(ENV_NAME_MESSAGE)
    )]
    pub environment: Option<Vec<KeyValuePair>>,
    /// Added environment files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_files: Option<Vec<EnvironmentFile>>,
    /// CPU units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cpu: Option<i32>,
    /// Hard memory limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 4))]
    pub memory: Option<i32>,
    /// Soft memory reservation in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 4))]
    pub memory_reservation: Option<i32>,
    /// GPU requirements (up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
}

/// What became of the task, in ECS terms.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskStatus {
    /// `family:revision` the task runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// `PROVISIONING`, `PENDING`, `RUNNING`, `DEPROVISIONING` or `STOPPED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// `RUNNING` or `STOPPED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<String>,
    /// `EssentialContainerExited`, `TaskFailedToStart`, `UserInitiated`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// Why the task stopped, such as `Essential container in task exited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// One entry per task started (`count`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskInstanceStatus>,
    /// Generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
}

/// One started task (a Pod).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskInstanceStatus {
    /// Name of the Pod.
    pub pod_name: String,
    /// `PENDING`, `RUNNING` or `STOPPED`.
    pub last_status: String,
    /// The task's containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerStatus>,
}

/// One container of a task.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name as in the task definition.
    pub name: String,
    /// `PENDING`, `RUNNING` or `STOPPED`.
    pub last_status: String,
    /// Exit code once stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
