//! `EcsService`: the ECS `CreateService` request, plus `autoScaling` in the shape of
//! Application Auto Scaling's `RegisterScalableTarget` / `PutScalingPolicy` /
//! `PutScheduledAction`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::any_object;
use super::common::{
    CapacityProviderStrategyItem, CommonStatus, LaunchType, NetworkConfiguration,
    PlacementConstraint, PlacementStrategy, PropagateTags, STRATEGY_WEIGHT_MESSAGE,
    STRATEGY_WEIGHT_RULE, Tag, any_json,
};

/// A long-running ECS service: keeps `desiredCount` copies of a task definition running.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "EcsService",
    plural = "ecsservices",
    singular = "ecsservice",
    shortname = "ecssvc",
    category = "ecs",
    namespaced,
    status = "EcsServiceStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An ECS service (CreateService) translated into a Deployment or DaemonSet.",
    scale(
        spec_replicas_path = ".spec.desiredCount",
        status_replicas_path = ".status.runningCount",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desiredCount"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningCount"
    ),
    printcolumn(
        name = "Pending",
        type_ = "integer",
        json_path = ".status.pendingCount"
    ),
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".status.taskDefinition"
    ),
    printcolumn(name = "Rollout", type_ = "string", json_path = ".status.rolloutState"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.launchType) || !has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0")
        .message("launchType and capacityProviderStrategy cannot both be set")
        .field_path(".capacityProviderStrategy"),
    validation = Rule::new("!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.placementStrategy) || size(self.placementStrategy) == 0")
        .message("a DAEMON service cannot have a placementStrategy")
        .field_path(".placementStrategy"),
    validation = Rule::new("!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.autoScaling)")
        .message("a DAEMON service runs one task per node and cannot be auto scaled")
        .field_path(".autoScaling"),
    validation = Rule::new("!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || ((!has(self.launchType) || self.launchType != 'FARGATE') && (!has(self.capacityProviderStrategy) || !self.capacityProviderStrategy.exists(c, c.capacityProvider in ['FARGATE', 'FARGATE_SPOT'])))")
        .message("a DAEMON service cannot run on FARGATE (launchType FARGATE or capacity provider FARGATE or FARGATE_SPOT)")
        .field_path(".schedulingStrategy"),
)]
pub struct EcsServiceSpec {
    /// Cluster the service runs in: an EcsCluster's `clusterName`, its ARN, or omitted for
    /// `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub cluster: Option<String>,

    /// Service name (up to 255 letters, digits, hyphens and underscores); defaults to
    /// `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub service_name: Option<String>,

    /// Task definition to run: `family` (the latest revision when the service last changed),
    /// `family:revision`, or a task definition ARN.
    #[schemars(length(min = 1, max = 2048))]
    pub task_definition: String,

    /// Number of tasks to keep running (REPLICA only; 0–5000, the ECS quota of tasks per
    /// service). When `autoScaling` is set, the autoscaler owns the count and this is only
    /// its starting point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5000))]
    pub desired_count: Option<i32>,

    /// Where tasks run: `EC2`, `FARGATE`, `EXTERNAL` or `MANAGED_INSTANCES`. Mutually exclusive
    /// with capacityProviderStrategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,

    /// How tasks are split between capacity providers (up to 20; only one may set `base`;
    /// with several, at least one needs a weight above 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(
        merge_strategy = ListMerge::Map(vec!["capacityProvider".into()]),
        validation = Rule::new("self.filter(c, has(c.base) && c.base > 0).size() <= 1").message("only one capacity provider of a strategy may set a base"),
        validation = Rule::new(STRATEGY_WEIGHT_RULE).message(STRATEGY_WEIGHT_MESSAGE)
    )]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,

    /// Fargate platform version; only meaningful inside AWS (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,

    /// Rolling update bounds, circuit breaker and alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,

    /// Deployment controller: `ECS` (rolling update, the default), `CODE_DEPLOY` or `EXTERNAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_controller: Option<DeploymentController>,

    /// Target groups the service's tasks register with (up to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    pub load_balancers: Option<Vec<LoadBalancer>>,

    /// Placement constraints (up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,

    /// Placement strategies, applied in order (up to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,

    /// `REPLICA` (the default: desiredCount tasks) or `DAEMON` (one task per matching node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_strategy: Option<SchedulingStrategy>,

    /// Seconds after a task starts during which failed load balancer and container health
    /// checks are ignored (default 0). ECS accepts it with or without loadBalancers; with
    /// neither a load balancer nor a container health check it is unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub health_check_grace_period_seconds: Option<i32>,

    /// Cloud Map registries (service discovery): each becomes a headless Service giving the
    /// registry's A (and, with a port, SRV) records. ECS takes one registry per service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1))]
    pub service_registries: Option<Vec<ServiceRegistry>>,

    /// VPC subnets and security groups; only meaningful inside AWS (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,

    /// ECS Exec; on Kubernetes, `kubectl exec` governed by RBAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,

    /// ECS-managed tags on tasks.
    #[serde(
        default,
        rename = "enableECSManagedTags",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ecs_managed_tags: Option<bool>,

    /// Copy tags from the task definition or the service to the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<PropagateTags>,

    /// Metadata tags (up to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Option<Vec<Tag>>,

    /// Legacy service IAM role for load balancers; not needed on Kubernetes (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,

    /// Service Connect settings (ECS `ServiceConnectConfiguration`): each service's client
    /// aliases become Services of the same names and ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,

    /// Volumes configured at launch (EBS), as ECS `ServiceVolumeConfiguration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub volume_configurations: Option<serde_json::Value>,

    /// VPC Lattice configurations; only meaningful inside AWS (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub vpc_lattice_configurations: Option<serde_json::Value>,

    /// `ENABLED` or `DISABLED`: whether ECS rebalances tasks across availability zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<String>,

    /// Idempotency token of the create request; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,

    /// Application Auto Scaling for the service's desired count (ecsplane extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<AutoScaling>,

    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    /// Read-only output of `describe-services`; used as `cluster` when that is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_count: Option<i32>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i32>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub deployments: Option<serde_json::Value>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub events: Option<serde_json::Value>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub task_sets: Option<serde_json::Value>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub created_at: Option<serde_json::Value>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Read-only output of `describe-services`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
}

/// ECS `DeploymentConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    /// Lower bound on running healthy tasks during a deployment, as a percentage of
    /// desiredCount rounded up (REPLICA default 100, DAEMON default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub minimum_healthy_percent: Option<i32>,
    /// Upper bound on running plus pending tasks during a deployment, as a percentage of
    /// desiredCount rounded down (REPLICA default 200, DAEMON default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub maximum_percent: Option<i32>,
    /// Stop (and optionally roll back) a deployment whose tasks keep failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// CloudWatch alarms that fail a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
    /// `ROLLING`, `BLUE_GREEN`, `LINEAR` or `CANARY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Minutes both revisions run together after traffic shifts (blue/green).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1440))]
    pub bake_time_in_minutes: Option<i32>,
    /// Deployment lifecycle hooks (Lambda functions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub lifecycle_hooks: Option<serde_json::Value>,
    /// Canary traffic-shift settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub canary_configuration: Option<serde_json::Value>,
    /// Linear traffic-shift settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub linear_configuration: Option<serde_json::Value>,
}

/// ECS `DeploymentCircuitBreaker`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    /// Turn the circuit breaker on.
    pub enable: bool,
    /// Roll back to the last completed deployment when it trips.
    pub rollback: bool,
}

/// ECS `DeploymentAlarms`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    /// CloudWatch alarm names.
    pub alarm_names: Vec<String>,
    /// Turn alarm monitoring on.
    pub enable: bool,
    /// Roll back when an alarm fires.
    pub rollback: bool,
}

/// ECS `DeploymentController`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentController {
    /// `ECS`, `CODE_DEPLOY` or `EXTERNAL`.
    #[serde(rename = "type")]
    pub type_: DeploymentControllerType,
}

/// Type of deployment controller.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentControllerType {
    /// ECS rolling update.
    #[default]
    Ecs,
    /// Blue/green through AWS CodeDeploy.
    CodeDeploy,
    /// A third-party controller.
    External,
}

/// ECS `LoadBalancer`: registers one container port of every task with a target group.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.targetGroupArn) || has(self.loadBalancerName)").message("a loadBalancer needs targetGroupArn (or a classic loadBalancerName)"))]
pub struct LoadBalancer {
    /// Target group: a TargetGroup's name or an ELB target group ARN
    /// (`...:targetgroup/NAME/ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub target_group_arn: Option<String>,
    /// Classic Load Balancer name (legacy; reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    /// Container of the task definition that receives the traffic.
    #[schemars(length(min = 1, max = 255))]
    pub container_name: String,
    /// Port of that container.
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: i32,
    /// Blue/green settings (alternate target group, listener rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub advanced_configuration: Option<serde_json::Value>,
}

/// Scheduling strategy of a service.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchedulingStrategy {
    /// desiredCount tasks (a Deployment).
    #[default]
    Replica,
    /// One task on each node that meets the placement constraints (a DaemonSet).
    Daemon,
}

/// ECS `ServiceRegistry` (Cloud Map), plus the names the registry ARN does not carry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.containerName) == has(self.containerPort)")
        .message("containerName and containerPort are given together")
        .field_path(".containerName"),
    validation = Rule::new("!has(self.port) || !has(self.containerPort)")
        .message("port and containerName/containerPort cannot both be set")
        .field_path(".port"),
)]
pub struct ServiceRegistry {
    /// Cloud Map service ARN (`arn:aws:servicediscovery:REGION:ACCOUNT:service/srv-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub registry_arn: Option<String>,
    /// Port for SRV records (awsvpc tasks), instead of containerName/containerPort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i32>,
    /// Container whose port the SRV records name (with containerPort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Container port the SRV records name (with containerName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub container_port: Option<i32>,
    /// Name of the Cloud Map service (ecsplane extension: the ARN names only its ID). The
    /// headless Service is named after it; defaults to the EcsService's `metadata.name`.
    /// Importers fill it from the `AWS::ServiceDiscovery::Service` / `aws_service_discovery_service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 127))]
    pub service_name: Option<String>,
    /// Name of the Cloud Map namespace (ecsplane extension), such as `prod.local`: clients
    /// call `SERVICE.NAMESPACE`, which the printed CoreDNS rewrite maps to the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
}

/// ECS `ServiceConnectConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectConfiguration {
    /// Whether Service Connect is on for this service.
    pub enabled: bool,
    /// Cloud Map namespace name or ARN; defaults to the cluster's serviceConnectDefaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The endpoints this service offers (none: a client-only service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["portName".into()]))]
    pub services: Option<Vec<ServiceConnectService>>,
    /// Log configuration of the Service Connect proxy container (not carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub log_configuration: Option<serde_json::Value>,
    /// Access logs of the Service Connect proxy (not carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub access_log_configuration: Option<serde_json::Value>,
}

/// ECS `ServiceConnectService`: one named port of the task offered to clients.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectService {
    /// Name of a portMapping of the task definition.
    #[schemars(length(min = 1, max = 64))]
    pub port_name: String,
    /// Cloud Map service name (up to 64 lowercase letters, digits, `_` and `-`, not starting
    /// with `-`); defaults to portName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9_][a-z0-9_-]*$"))]
    pub discovery_name: Option<String>,
    /// Names and ports clients call (ECS takes at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1))]
    pub client_aliases: Option<Vec<ServiceConnectClientAlias>>,
    /// Port the proxy listens on instead of the container port (not carried: there is no proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub ingress_port_override: Option<i32>,
    /// Proxy timeouts (carried only by a mesh, reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ServiceConnectTimeout>,
    /// TLS between proxies with a Private CA (not carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub tls: Option<serde_json::Value>,
}

/// ECS `ServiceConnectClientAlias`: a name and port clients connect to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectClientAlias {
    /// Port clients connect to.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Name clients call; defaults to `discoveryName.namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub dns_name: Option<String>,
    /// Header rules for test traffic during blue/green deployments (not carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub test_traffic_rules: Option<serde_json::Value>,
}

/// ECS `TimeoutConfiguration` of a Service Connect service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTimeout {
    /// Idle time of a connection before the proxy closes it (0 disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub idle_timeout_seconds: Option<i32>,
    /// Time the proxy waits for a whole response (0 disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub per_request_timeout_seconds: Option<i32>,
}

/// Application Auto Scaling of the service's desired count: the scalable target's bounds, its
/// scaling policies and scheduled actions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minCapacity <= self.maxCapacity").message("minCapacity must not exceed maxCapacity").field_path(".minCapacity"))]
pub struct AutoScaling {
    /// Fewest tasks the autoscaler keeps.
    #[schemars(range(min = 0))]
    pub min_capacity: i32,
    /// Most tasks the autoscaler starts.
    #[schemars(range(min = 0))]
    pub max_capacity: i32,
    /// Scaling policies, as PutScalingPolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["policyName".into()]))]
    pub scaling_policies: Option<Vec<ScalingPolicy>>,
    /// Scheduled actions, as PutScheduledAction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["scheduledActionName".into()]))]
    pub scheduled_actions: Option<Vec<ScheduledAction>>,
    /// Suspended scaling activities, as RegisterScalableTarget's SuspendedState.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_state: Option<SuspendedState>,
}

/// A scaling policy, as Application Auto Scaling `PutScalingPolicy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.policyType != 'TargetTrackingScaling' || has(self.targetTrackingScalingPolicyConfiguration)").message("a TargetTrackingScaling policy needs targetTrackingScalingPolicyConfiguration"),
    validation = Rule::new("self.policyType != 'StepScaling' || has(self.stepScalingPolicyConfiguration)").message("a StepScaling policy needs stepScalingPolicyConfiguration"),
)]
pub struct ScalingPolicy {
    /// Policy name, unique per service.
    #[schemars(length(min = 1, max = 256))]
    pub policy_name: String,
    /// `TargetTrackingScaling`, `StepScaling` or `PredictiveScaling`.
    pub policy_type: PolicyType,
    /// Target tracking settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking_scaling_policy_configuration: Option<TargetTrackingConfiguration>,
    /// Step scaling settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_scaling_policy_configuration: Option<StepScalingConfiguration>,
    /// Predictive scaling settings (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub predictive_scaling_policy_configuration: Option<serde_json::Value>,
}

/// Type of scaling policy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PolicyType {
    /// Keep a metric at a target value.
    #[default]
    TargetTrackingScaling,
    /// Adjust capacity in steps when an alarm fires.
    StepScaling,
    /// Scale ahead of forecast load.
    PredictiveScaling,
}

/// Application Auto Scaling `TargetTrackingScalingPolicyConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.predefinedMetricSpecification) != has(self.customizedMetricSpecification)").message("target tracking needs exactly one of predefinedMetricSpecification and customizedMetricSpecification"))]
pub struct TargetTrackingConfiguration {
    /// The metric value to keep (for utilization metrics, a percentage): above 0 and at most
    /// 1e15, so that it is exact as a Kubernetes quantity in thousandths (quantities end at
    /// 2^63 − 1).
    #[x_kube(validation = Rule::new("self > 0.0").message("targetValue must be positive"))]
    #[schemars(range(max = 1e15))]
    pub target_value: f64,
    /// A metric ECS publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetricSpecification>,
    /// A CloudWatch metric of your own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<CustomizedMetricSpecification>,
    /// Seconds after a scale-in before another scale-in (default 300 for ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_in_cooldown: Option<i32>,
    /// Seconds after a scale-out before another scale-out (default 300 for ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_out_cooldown: Option<i32>,
    /// Never scale in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

/// Application Auto Scaling `PredefinedMetricSpecification`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.predefinedMetricType != 'ALBRequestCountPerTarget' || has(self.resourceLabel)").message("ALBRequestCountPerTarget needs a resourceLabel").field_path(".resourceLabel"))]
pub struct PredefinedMetricSpecification {
    /// `ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization` or
    /// `ALBRequestCountPerTarget`.
    pub predefined_metric_type: PredefinedMetricType,
    /// For ALBRequestCountPerTarget: `app/LB/ID/targetgroup/TG/ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1023))]
    pub resource_label: Option<String>,
}

/// Metrics ECS publishes for target tracking.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PredefinedMetricType {
    /// Average CPU utilization of the service's tasks.
    #[default]
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    EcsServiceAverageCpuUtilization,
    /// Average memory utilization of the service's tasks.
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    EcsServiceAverageMemoryUtilization,
    /// Requests per target of an ALB target group.
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

/// Application Auto Scaling `CustomizedMetricSpecification`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomizedMetricSpecification {
    /// Metric name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// Metric namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Metric dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<MetricDimension>>,
    /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    /// Unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Metric math queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub metrics: Option<serde_json::Value>,
}

/// A CloudWatch metric dimension.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricDimension {
    /// Dimension name.
    pub name: String,
    /// Dimension value.
    pub value: String,
}

/// Application Auto Scaling `StepScalingPolicyConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepScalingConfiguration {
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_type: Option<AdjustmentType>,
    /// Steps relative to the alarm threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_adjustments: Option<Vec<StepAdjustment>>,
    /// Smallest change for PercentChangeInCapacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i32>,
    /// Seconds to wait after a scaling activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub cooldown: Option<i32>,
    /// `Average`, `Minimum` or `Maximum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
}

/// How a step adjusts capacity.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AdjustmentType {
    /// Add or remove a number of tasks.
    ChangeInCapacity,
    /// Set the number of tasks.
    ExactCapacity,
    /// Add or remove a percentage of the tasks.
    PercentChangeInCapacity,
}

/// Application Auto Scaling `StepAdjustment`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepAdjustment {
    /// Lower bound (inclusive) relative to the alarm threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    /// Upper bound (exclusive) relative to the alarm threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    /// Adjustment applied in this step.
    pub scaling_adjustment: i32,
}

/// Application Auto Scaling `PutScheduledAction`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledAction {
    /// Action name, unique per service.
    #[schemars(length(min = 1, max = 256))]
    pub scheduled_action_name: String,
    /// `at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)` or `cron(fields)`.
    #[schemars(regex(pattern = r"^(at|rate|cron)\(.+\)$"))]
    pub schedule: String,
    /// IANA time zone of the schedule (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// When the schedule starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the schedule ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The new bounds.
    pub scalable_target_action: ScalableTargetAction,
}

/// Application Auto Scaling `ScalableTargetAction`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTargetAction {
    /// New minimum capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_capacity: Option<i32>,
    /// New maximum capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_capacity: Option<i32>,
}

/// Application Auto Scaling `SuspendedState`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspendedState {
    /// Scale-in by scaling policies is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_in_suspended: Option<bool>,
    /// Scale-out by scaling policies is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_out_suspended: Option<bool>,
    /// Scheduled actions are suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_scaling_suspended: Option<bool>,
}

/// What the service looks like now, in ECS terms.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsServiceStatus {
    /// Tasks the service wants (the autoscaler's count when autoScaling is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    /// Tasks running and ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_count: Option<i32>,
    /// Tasks started but not yet ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i32>,
    /// `family:revision` the service runs, resolved when the service last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Rollout state of the primary deployment: `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    /// Label selector of the service's tasks (for the scale subresource and HPAs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The PRIMARY deployment and any ACTIVE ones still draining.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<ServiceDeployment>,
    /// Recent ECS-style service events, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ServiceEvent>,
    /// Generation and conditions (Ready, Progressing, Degraded).
    #[serde(flatten)]
    pub common: CommonStatus,
}

/// One deployment of a service, as ECS `Deployment`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeployment {
    /// Deployment identifier (the pod template hash).
    pub id: String,
    /// `PRIMARY` (newest) or `ACTIVE` (older, still running tasks).
    pub status: String,
    /// `family:revision` this deployment runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Tasks this deployment wants.
    #[serde(default)]
    pub desired_count: i32,
    /// Tasks running and ready.
    #[serde(default)]
    pub running_count: i32,
    /// Tasks not yet ready.
    #[serde(default)]
    pub pending_count: i32,
    /// Tasks of this deployment that failed (an essential container exited), as ECS counts
    /// them for the deployment circuit breaker.
    #[serde(default)]
    pub failed_tasks: i32,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    /// Why the rollout is in that state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    /// When the deployment was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
}

/// An ECS-style service event.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// What happened, for example `(service web) has reached a steady state.`
    pub message: String,
}
