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
    validation = Rule::new("!has(self.alarms) || size(self.alarms) == 0 || self.policyType == 'StepScaling'").message("only a StepScaling policy is invoked by alarms (target tracking creates its own)").field_path(".alarms"),
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
    /// The CloudWatch alarms whose `AlarmActions` name this StepScaling policy, as
    /// `PutMetricAlarm` (ecsplane extension: on AWS the alarm is a separate resource). Under
    /// the operator each alarm is evaluated on the service's metrics; while one is in ALARM the
    /// policy is invoked once per alarm period, as CloudWatch does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["alarmName".into()]))]
    pub alarms: Option<Vec<MetricAlarm>>,
}

/// A CloudWatch metric alarm, as `PutMetricAlarm` with a single metric (no metric math, no
/// anomaly detection band, no extended statistic).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.datapointsToAlarm) || self.datapointsToAlarm <= self.evaluationPeriods").message("datapointsToAlarm cannot exceed evaluationPeriods").field_path(".datapointsToAlarm"),
    validation = Rule::new("self.period >= 3600 || self.period * self.evaluationPeriods <= 86400").message("with a period under one hour, period x evaluationPeriods cannot exceed one day (86400 s)").field_path(".evaluationPeriods"),
    validation = Rule::new("self.period * self.evaluationPeriods <= 604800").message("period x evaluationPeriods cannot exceed seven days (604800 s)").field_path(".evaluationPeriods"),
)]
pub struct MetricAlarm {
    /// Alarm name (1–255 characters), unique per policy.
    #[schemars(length(min = 1, max = 255))]
    pub alarm_name: String,
    /// Metric namespace (1–255 characters), for example `AWS/ECS`.
    #[schemars(length(min = 1, max = 255))]
    pub namespace: String,
    /// Metric name (1–255 characters), for example `CPUUtilization`.
    #[schemars(length(min = 1, max = 255))]
    pub metric_name: String,
    /// Metric dimensions (up to 30), for example `ClusterName` and `ServiceName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 30))]
    pub dimensions: Option<Vec<MetricDimension>>,
    /// How the samples of one period become its datapoint: `SampleCount`, `Average`, `Sum`,
    /// `Minimum` or `Maximum`.
    pub statistic: AlarmStatistic,
    /// Seconds of one period: 10, 20, 30 or a multiple of 60.
    #[x_kube(validation = Rule::new("self in [10, 20, 30] || (self >= 60 && self % 60 == 0)").message("period must be 10, 20, 30 or a multiple of 60"))]
    pub period: i32,
    /// Number of most recent periods the alarm looks at (N of "M out of N").
    #[schemars(range(min = 1))]
    pub evaluation_periods: i32,
    /// Breaching datapoints among those periods that put the alarm in ALARM (M of "M out of
    /// N"; default evaluationPeriods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub datapoints_to_alarm: Option<i32>,
    /// Value the datapoints are compared with; step bounds are relative to it.
    pub threshold: f64,
    /// How a datapoint is compared with the threshold.
    pub comparison_operator: ComparisonOperator,
    /// How periods without a datapoint count: `missing` (the default: they are skipped),
    /// `notBreaching`, `breaching` or `ignore` (the alarm keeps its state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
    /// Whether the alarm's actions run (default true); false evaluates it without invoking
    /// the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_enabled: Option<bool>,
}

/// CloudWatch statistic of an alarm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AlarmStatistic {
    /// The number of samples.
    SampleCount,
    /// The mean of the samples.
    #[default]
    Average,
    /// The sum of the samples.
    Sum,
    /// The smallest sample.
    Minimum,
    /// The largest sample.
    Maximum,
}

/// CloudWatch comparison of a datapoint with the threshold (the anomaly-detection operators
/// need a band model and are not accepted).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ComparisonOperator {
    /// datapoint >= threshold.
    #[default]
    GreaterThanOrEqualToThreshold,
    /// datapoint > threshold.
    GreaterThanThreshold,
    /// datapoint < threshold.
    LessThanThreshold,
    /// datapoint <= threshold.
    LessThanOrEqualToThreshold,
}

/// CloudWatch `TreatMissingData`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// Periods without data are skipped: the alarm looks further back for datapoints.
    #[default]
    Missing,
    /// A period without data counts as within the threshold.
    NotBreaching,
    /// A period without data counts as breaching.
    Breaching,
    /// The alarm keeps its current state.
    Ignore,
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
    /// Steps relative to the alarm threshold: no gaps or overlaps, at most one without a
    /// lower bound and at most one without an upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(
        validation = Rule::new("self.filter(s, !has(s.metricIntervalLowerBound)).size() <= 1").message("at most one step adjustment may have no lower bound"),
        validation = Rule::new("self.filter(s, !has(s.metricIntervalUpperBound)).size() <= 1").message("at most one step adjustment may have no upper bound"),
    )]
    pub step_adjustments: Option<Vec<StepAdjustment>>,
    /// Smallest change for PercentChangeInCapacity, in tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
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
#[x_kube(
    validation = Rule::new("has(self.metricIntervalLowerBound) || has(self.metricIntervalUpperBound)").message("a step adjustment needs a lower or an upper bound"),
    validation = Rule::new("!has(self.metricIntervalLowerBound) || !has(self.metricIntervalUpperBound) || self.metricIntervalLowerBound < self.metricIntervalUpperBound").message("a step's lower bound must be below its upper bound"),
)]
pub struct StepAdjustment {
    /// Lower bound relative to the alarm threshold: inclusive when the metric is above the
    /// threshold, exclusive below it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    /// Upper bound relative to the alarm threshold: exclusive when the metric is above the
    /// threshold, inclusive below it.
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
    /// The scalable target as the operator's scaler sees it: effective bounds, alarms,
    /// cooldowns and scheduled actions (written by field manager `ecsplane-autoscaler`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<AutoScalingStatus>,
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

/// The scalable target's state under the operator's scaler, as `DescribeScalableTargets`,
/// `DescribeAlarms` and `DescribeScheduledActions` would show it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingStatus {
    /// Effective minimum capacity (spec.autoScaling.minCapacity until a scheduled action
    /// changes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<i32>,
    /// Effective maximum capacity (spec.autoScaling.maxCapacity until a scheduled action
    /// changes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<i32>,
    /// The step scaling policies' alarms and cooldowns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyStatus>,
    /// The scheduled actions' last and next runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_actions: Vec<ScheduledActionStatus>,
    /// The last scaling activity, as Application Auto Scaling's `StatusMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<String>,
}

/// One step scaling policy under the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// The policy.
    pub policy_name: String,
    /// Its alarms' states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmStatus>,
    /// When the policy last changed the desired count (its cooldown starts then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_adjusted_at: Option<Time>,
    /// The desired count before that change (a larger scale-out during the cooldown is
    /// computed from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_before: Option<i32>,
    /// The desired count that change set (above capacityBefore: a scale-out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusted_to: Option<i32>,
}

/// One alarm's state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlarmStatus {
    /// The alarm.
    pub alarm_name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// Why, in CloudWatch's words, or why the metric cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One scheduled action under the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledActionStatus {
    /// The action.
    pub scheduled_action_name: String,
    /// When the operator first saw the schedule (runs before it are not made up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
    /// When it last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Time>,
    /// When it runs next, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Time>,
    /// Why it cannot run (an expression or time zone that does not parse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod alarm_rules_tests {
    use serde_json::{Value, json};

    use crate::validate::validate;

    fn step_service(alarm: Value, steps: Value) -> Value {
        json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
               "metadata": {"name": "web"},
               "spec": {"taskDefinition": "web", "autoScaling": {"minCapacity": 1, "maxCapacity": 10,
                 "scalingPolicies": [{"policyName": "out", "policyType": "StepScaling",
                   "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity",
                     "stepAdjustments": steps},
                   "alarms": [alarm]}]}}})
    }

    fn alarm(extra: Value) -> Value {
        let mut a = json!({"alarmName": "cpu-high", "namespace": "AWS/ECS",
                           "metricName": "CPUUtilization", "statistic": "Average",
                           "period": 60, "evaluationPeriods": 3, "threshold": 70,
                           "comparisonOperator": "GreaterThanOrEqualToThreshold"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            a[k] = v.clone();
        }
        a
    }

    fn messages(doc: &Value) -> String {
        validate(doc)
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn one_step() -> Value {
        json!([{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}])
    }

    #[test]
    fn an_alarm_as_cloudwatch_registers_it_is_accepted() {
        let doc = step_service(alarm(json!({"datapointsToAlarm": 2})), one_step());
        assert_eq!(messages(&doc), "");
    }

    #[test]
    fn cloudwatch_takes_periods_of_10_20_30_or_a_multiple_of_60_only() {
        for ok in [10, 20, 30, 60, 300] {
            let doc = step_service(alarm(json!({"period": ok})), one_step());
            assert_eq!(messages(&doc), "", "period {ok}");
        }
        for bad in [5, 45, 90] {
            let doc = step_service(alarm(json!({"period": bad})), one_step());
            assert!(messages(&doc).contains("period must be"), "period {bad}");
        }
    }

    #[test]
    fn more_datapoints_to_alarm_than_evaluation_periods_is_refused() {
        let doc = step_service(alarm(json!({"datapointsToAlarm": 4})), one_step());
        assert!(messages(&doc).contains("datapointsToAlarm cannot exceed evaluationPeriods"));
    }

    #[test]
    fn an_evaluation_window_of_more_than_a_day_at_minute_periods_is_refused() {
        let doc = step_service(
            alarm(json!({"period": 60, "evaluationPeriods": 1441})),
            one_step(),
        );
        assert!(messages(&doc).contains("cannot exceed one day"));
        let doc = step_service(
            alarm(json!({"period": 3600, "evaluationPeriods": 168})),
            one_step(),
        );
        assert_eq!(messages(&doc), "");
        let doc = step_service(
            alarm(json!({"period": 3600, "evaluationPeriods": 169})),
            one_step(),
        );
        assert!(messages(&doc).contains("cannot exceed seven days"));
    }

    #[test]
    fn a_step_without_either_bound_or_two_open_ended_steps_are_refused() {
        let doc = step_service(alarm(json!({})), json!([{"scalingAdjustment": 1}]));
        assert!(messages(&doc).contains("needs a lower or an upper bound"));
        let doc = step_service(
            alarm(json!({})),
            json!([{"metricIntervalLowerBound": 0, "scalingAdjustment": 1},
                   {"metricIntervalLowerBound": 10, "scalingAdjustment": 2}]),
        );
        assert!(messages(&doc).contains("at most one step adjustment may have no upper bound"));
    }

    #[test]
    fn an_alarm_on_a_target_tracking_policy_is_refused() {
        let mut doc = step_service(alarm(json!({})), one_step());
        doc["spec"]["autoScaling"]["scalingPolicies"][0]["policyType"] =
            json!("TargetTrackingScaling");
        doc["spec"]["autoScaling"]["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"] = json!({
            "targetValue": 50, "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}});
        assert!(messages(&doc).contains("only a StepScaling policy is invoked by alarms"));
    }
}
