//! `TaskDefinition`: the ECS `RegisterTaskDefinition` request as a Kubernetes resource.
//!
//! Field names and value formats are those of the AWS API, so the JSON that
//! `aws ecs describe-task-definition` prints (inside its `taskDefinition` wrapper) can be pasted
//! under `spec:` unchanged; its read-only fields are accepted and ignored.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::any_object;
use super::common::{CommonStatus, KeyValuePair, Tag, any_json};

/// The message of the rule that a `dependsOn` names a container of the task definition (the
/// API server's CEL cost budget leaves no room for a messageExpression naming it;
/// [`crate::validate`] adds the name offline).
pub const DEPENDS_ON_UNKNOWN_MESSAGE: &str =
    "dependsOn must name a container of this task definition";

/// An ECS task definition: one or more containers that run together as a task (a Pod).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "TaskDefinition",
    plural = "taskdefinitions",
    singular = "taskdefinition",
    shortname = "ecstd",
    category = "ecs",
    namespaced,
    status = "TaskDefinitionStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An ECS task definition (RegisterTaskDefinition) translated into a pod template.",
    printcolumn(name = "Family", type_ = "string", json_path = ".spec.family"),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.revision"),
    printcolumn(name = "Network", type_ = "string", json_path = ".spec.networkMode"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.containerDefinitions.exists(c, !has(c.essential) || c.essential)")
        .message("a task definition needs at least one essential container")
        .field_path(".containerDefinitions"),
    validation = Rule::new("!has(self.networkMode) || !(self.networkMode in ['awsvpc', 'host']) || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || !has(p.containerPort) || p.hostPort == p.containerPort))")
        .message("with networkMode awsvpc or host, a portMapping's hostPort must be omitted or equal its containerPort")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, self.containerDefinitions.exists(o, o.name == d.containerName)))")
        .message(DEPENDS_ON_UNKNOWN_MESSAGE)
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, !(d.condition in ['COMPLETE', 'SUCCESS']) || self.containerDefinitions.exists(o, o.name == d.containerName && has(o.essential) && !o.essential)))")
        .message("dependsOn conditions COMPLETE and SUCCESS cannot be set on an essential container")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, d.condition != 'HEALTHY' || self.containerDefinitions.exists(o, o.name == d.containerName && has(o.healthCheck))))")
        .message("dependsOn condition HEALTHY needs a healthCheck on the container it names")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.mountPoints) || c.mountPoints.all(m, !has(m.sourceVolume) || (has(self.volumes) && self.volumes.exists(v, v.name == m.sourceVolume))))")
        .message("mountPoints sourceVolume must name a volume of this task definition")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.volumesFrom) || c.volumesFrom.all(v, self.containerDefinitions.exists(o, o.name == v.sourceContainer)))")
        .message("volumesFrom sourceContainer must name a container of this task definition")
        .field_path(".containerDefinitions"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || (has(self.networkMode) && self.networkMode == 'awsvpc')")
        .message("a task definition that requires FARGATE must use networkMode awsvpc")
        .field_path(".networkMode"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || self.containerDefinitions.all(c, !has(c.privileged) || !c.privileged)")
        .message("privileged containers are not supported on FARGATE")
        .field_path(".containerDefinitions"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || (has(self.cpu) && has(self.memory))")
        .message("a task definition that requires FARGATE must set task-level cpu and memory")
        .field_path(".cpu"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || self.containerDefinitions.all(c, !has(c.linuxParameters) || (!has(c.linuxParameters.devices) && !has(c.linuxParameters.sharedMemorySize) && !has(c.linuxParameters.tmpfs) && !has(c.linuxParameters.maxSwap) && !has(c.linuxParameters.swappiness)))")
        .message("linuxParameters devices, sharedMemorySize, tmpfs, maxSwap and swappiness are not supported on FARGATE")
        .field_path(".containerDefinitions"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || self.containerDefinitions.all(c, !has(c.linuxParameters) || !has(c.linuxParameters.capabilities) || !has(c.linuxParameters.capabilities.add) || c.linuxParameters.capabilities.add.all(a, a == 'SYS_PTRACE'))")
        .message("on FARGATE, SYS_PTRACE is the only capability a container may add")
        .field_path(".containerDefinitions"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || (!has(self.ipcMode) && (!has(self.pidMode) || self.pidMode == 'task'))")
        .message("ipcMode and pidMode host are not supported on FARGATE")
        .field_path(".ipcMode"),
    validation = Rule::new(fargate_task_size_rule())
        .message("a task definition that requires FARGATE needs a task cpu/memory pair from Fargate's table: 256 CPU units with 512, 1024 or 2048 MiB; 512 with 1-4 GB, 1024 with 2-8 GB, 2048 with 4-16 GB, 4096 with 8-30 GB (1 GB steps); 8192 with 16-60 GB (4 GB steps); 16384 with 32-120 GB (8 GB steps)")
        .field_path(".memory"),
    validation = Rule::new("!has(self.proxyConfiguration) || self.containerDefinitions.exists(c, c.name == self.proxyConfiguration.containerName)")
        .message("proxyConfiguration containerName must name a container of this task definition")
        .field_path(".proxyConfiguration.containerName"),
)]
pub struct TaskDefinitionSpec {
    /// Name of the task definition family (up to 255 letters, digits, hyphens and underscores).
    /// Services and tasks refer to it as `family`, `family:revision` or a task definition ARN.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub family: String,

    /// IAM role the application's containers assume. Becomes a ServiceAccount carrying the
    /// IRSA annotation `eks.amazonaws.com/role-arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,

    /// IAM role the ECS agent uses to pull images and read secrets. Never given to the
    /// application; reported by the translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,

    /// Docker networking mode: `awsvpc`, `bridge`, `host` or `none`. ECS's default on EC2 is
    /// `bridge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<NetworkMode>,

    /// The containers of the task (1–10).
    #[schemars(length(min = 1, max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub container_definitions: Vec<ContainerDefinition>,

    /// Data volumes the containers can mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub volumes: Option<Vec<Volume>>,

    /// Task placement constraints (memberOf only; up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub placement_constraints: Option<Vec<TaskDefinitionPlacementConstraint>>,

    /// Launch types the task definition is validated against: `EC2`, `FARGATE`, `EXTERNAL`,
    /// `MANAGED_INSTANCES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4))]
    pub requires_compatibilities: Option<Vec<Compatibility>>,

    /// Task-level CPU as ECS takes it: CPU units (`"256"`, `1024`) or vCPUs (`"1 vCPU"`,
    /// `"0.5 vcpu"`).
    // `string(self)` turns an int into its decimal form (a string stays as is), so one pattern
    // covers both forms; `type(self) == int` would also be valid on the API server, but
    // kube-cel cannot evaluate `type()`, and render must accept exactly what the server does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(r"string(self).matches('^\\s*[0-9]+(\\.[0-9]+)?\\s*([vV][cC][pP][uU][sS]?)?\\s*$')").message("task cpu must be CPU units such as \"256\" or vCPUs such as \"1 vCPU\""))]
    pub cpu: Option<IntOrString>,

    /// Task-level memory as ECS takes it: MiB (`"512"`, `2048`) or with a unit (`"2 GB"`,
    /// `"512 MiB"`).
    // `string(self)`, not `type(self)`: see `cpu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(r"string(self).matches('^\\s*[0-9]+(\\.[0-9]+)?\\s*([mMgG][iI]?[bB])?\\s*$')").message("task memory must be MiB such as \"512\" or a size such as \"2 GB\""))]
    pub memory: Option<IntOrString>,

    /// Metadata tags (up to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Option<Vec<Tag>>,

    /// Process namespace: `host` (the node's; not on Fargate) or `task` (shared by the task's
    /// containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<PidMode>,

    /// IPC namespace: `host`, `task` or `none` (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<IpcMode>,

    /// App Mesh proxy configuration. Has no Kubernetes equivalent; refused by the translation
    /// with guidance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_configuration: Option<ProxyConfiguration>,

    /// Elastic Inference accelerators (retired by AWS); refused by the translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub inference_accelerators: Option<serde_json::Value>,

    /// Ephemeral storage for the task (21–200 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,

    /// Operating system and CPU architecture the task needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,

    /// AWS Fault Injection Service support; only meaningful inside AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_fault_injection: Option<bool>,

    /// Read-only output of `describe-task-definition`, accepted and ignored: revisions are
    /// assigned by ecsplane (see `status.revision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// Read-only output of `describe-task-definition`, accepted. When set, a service that names
    /// `family:N` with a different N is refused rather than silently given this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub revision: Option<i64>,
    /// Read-only output of `describe-task-definition` (`ACTIVE`, `INACTIVE`, ...), accepted and
    /// ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Read-only output of `describe-task-definition`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub requires_attributes: Option<serde_json::Value>,
    /// Read-only output of `describe-task-definition`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibilities: Option<Vec<String>>,
    /// Read-only output of `describe-task-definition`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub registered_at: Option<serde_json::Value>,
    /// Read-only output of `describe-task-definition`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    /// Read-only output of `describe-task-definition`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub deregistered_at: Option<serde_json::Value>,
}

/// The task CPU sizes Fargate accepts, in CPU units (1024 = one vCPU).
pub const FARGATE_TASK_CPU_UNITS: [u64; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// The task memory sizes (MiB) Fargate accepts with `cpu_units`, from the ECS Developer
/// Guide's table of task CPU and memory (RegisterTaskDefinition refuses other pairs with
/// "No Fargate configuration exists for given values"). Empty for a CPU size Fargate does not
/// offer.
pub fn fargate_memory_sizes_mib(cpu_units: u64) -> Vec<u64> {
    let steps = |first: u64, last: u64, step: usize| (first..=last).step_by(step).collect();
    match cpu_units {
        256 => vec![512, 1024, 2048],
        512 => steps(1024, 4096, 1024),
        1024 => steps(2048, 8192, 1024),
        2048 => steps(4096, 16384, 1024),
        4096 => steps(8192, 30720, 1024),
        8192 => steps(16384, 61440, 4096),
        16384 => steps(32768, 122880, 8192),
        _ => Vec::new(),
    }
}

/// The CEL rule refusing a FARGATE task definition whose cpu/memory pair is not in Fargate's
/// table. The task `cpu` and `memory` are read as ECS reads them (see `translate::units`):
/// the number in the text, times 1024 for vCPUs (`"1 vCPU"`) or GB (`"2 GB"`). A text that
/// is no amount at all reads as 0, which is in no pair; the fields' own rules name it.
// kube-cel has no `cel.bind`, so each amount is computed once and compared as one pair
// against the table's pairs (a list of 80 pairs): this also keeps the rule's estimated cost
// (CPU and memory are int-or-string, estimated at the request size) within the API server's
// per-rule budget.
fn fargate_task_size_rule() -> String {
    let amount = |field: &str, unit: &str| {
        format!(
            "(string(self.{field}).matches('{unit}') ? 1024.0 : 1.0) * double('0' + string(self.{field}).find('[0-9]+([.][0-9]+)?'))"
        )
    };
    let pairs: Vec<String> = FARGATE_TASK_CPU_UNITS
        .iter()
        .flat_map(|&cpu| {
            fargate_memory_sizes_mib(cpu)
                .into_iter()
                .map(move |memory| format!("[{cpu}.0, {memory}.0]"))
        })
        .collect();
    format!(
        "!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || !has(self.cpu) || !has(self.memory) || [{}, {}] in [{}]",
        amount("cpu", "[vV]"),
        amount("memory", "[gG]"),
        pairs.join(", ")
    )
}

/// A container of the task, as ECS `ContainerDefinition`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.memory) || !has(self.memoryReservation) || self.memoryReservation <= self.memory")
        .message("memoryReservation must not exceed memory")
        .field_path(".memoryReservation"),
    validation = Rule::new("!has(self.volumesFrom) || self.volumesFrom.all(v, v.sourceContainer != self.name)")
        .message("a container cannot mount its own volumes with volumesFrom")
        .field_path(".volumesFrom"),
    validation = Rule::new("!has(self.dependsOn) || self.dependsOn.all(d, d.containerName != self.name)")
        .message("a container cannot depend on itself")
        .field_path(".dependsOn"),
)]
pub struct ContainerDefinition {
    /// Container name (up to 255 letters, digits, hyphens and underscores), unique in the task.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub name: String,
    /// Image reference (`repository:tag` or `repository@digest`).
    #[schemars(length(min = 1, max = 1024))]
    pub image: String,
    /// Private registry credentials stored in Secrets Manager; becomes an imagePullSecret
    /// reference (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,
    /// CPU units reserved for the container (1024 = one vCPU). On Linux these are relative
    /// shares, so they become `requests.cpu` without a CPU limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 196608))]
    pub cpu: Option<i32>,
    /// Hard memory limit in MiB: the container is killed above it (`limits.memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 4))]
    pub memory: Option<i32>,
    /// Soft memory reservation in MiB (`requests.memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 4))]
    pub memory_reservation: Option<i32>,
    /// Legacy bridge-mode links (`name:alias`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    /// Ports the container exposes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub port_mappings: Option<Vec<PortMapping>>,
    /// Whether the task stops when this container stops (default true). At least one
    /// container must be essential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// Restart the container in place when it exits, instead of replacing the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<ContainerRestartPolicy>,
    /// Image ENTRYPOINT override (Kubernetes `command`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// Image CMD override (Kubernetes `args`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Environment variables (up to 1000). They override variables of the same name from
    /// environmentFiles. A name is printable ASCII without `=`, as Kubernetes requires of an
    /// environment variable (`A=B C` and `""` are refused).
    // The bound keeps the name rule within the API server's CEL cost budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000))]
    #[x_kube(
        merge_strategy = ListMerge::Map(vec!["name".into()]),
        validation = Rule::new(ENV_NAME_RULE).message(ENV_NAME_MESSAGE)
    )]
    pub environment: Option<Vec<KeyValuePair>>,
    /// Environment files in S3 (up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub environment_files: Option<Vec<EnvironmentFile>>,
    /// Volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub mount_points: Option<Vec<MountPoint>>,
    /// Mount every volume of another container of the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub volumes_from: Option<Vec<VolumeFrom>>,
    /// Linux-specific settings: capabilities, devices, init process, shared memory, tmpfs, swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Secrets injected as environment variables from Secrets Manager or SSM Parameter Store
    /// (up to 1000; names as in `environment`). Translated into references to Kubernetes
    /// Secrets, never into values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000))]
    #[x_kube(
        merge_strategy = ListMerge::Map(vec!["name".into()]),
        validation = Rule::new(ENV_NAME_RULE).message(ENV_NAME_MESSAGE)
    )]
    pub secrets: Option<Vec<Secret>>,
    /// Containers that must reach a condition before this one starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub depends_on: Option<Vec<ContainerDependency>>,
    /// Seconds to wait for dependencies before giving up on this container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 600))]
    pub start_timeout: Option<i32>,
    /// Seconds between SIGTERM and SIGKILL when the container stops (Fargate: up to 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 120))]
    pub stop_timeout: Option<i32>,
    /// Whether ECS pins the image tag to a digest for a deployment: `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_consistency: Option<VersionConsistency>,
    /// Container hostname (not with awsvpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// User to run as: `user`, `user:group`, `uid`, `uid:gid`, `user:gid` or `uid:group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Working directory of the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Turn networking off inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_networking: Option<bool>,
    /// Run the container privileged (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Mount the root filesystem read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// DNS servers (not with awsvpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<String>>,
    /// DNS search domains (not with awsvpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_search_domains: Option<Vec<String>>,
    /// Entries appended to /etc/hosts (not with awsvpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hosts: Option<Vec<HostEntry>>,
    /// Docker security options: `no-new-privileges`, `apparmor:PROFILE`, `label:...`,
    /// `credentialspec:...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_security_options: Option<Vec<String>>,
    /// Keep stdin open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    /// Allocate a TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    /// Docker labels; carried as pod annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_labels: Option<BTreeMap<String, String>>,
    /// Resource limits (`nofile`, `nproc`, ...). Kubernetes has no per-container ulimits;
    /// reported by the translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<Vec<Ulimit>>,
    /// Log driver settings. Kubernetes collects logs at the node; reported by the translation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// Container health check, run inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Namespaced kernel parameters (sysctls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_controls: Option<Vec<SystemControl>>,
    /// GPU or Elastic Inference resources reserved for the container (up to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
    /// FireLens log router settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Windows gMSA credential specs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_specs: Option<Vec<String>>,
}

/// ECS `PortMapping`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.containerPort) || has(self.containerPortRange)").message("a portMapping needs containerPort or containerPortRange"))]
pub struct PortMapping {
    /// Port the container listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: Option<i32>,
    /// Port on the node; only with host networking (0 or omitted in bridge mode means a
    /// dynamic port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub host_port: Option<i32>,
    /// `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<TransportProtocol>,
    /// Port name, used by Service Connect and by named Service ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub name: Option<String>,
    /// Application protocol: `http`, `http2` or `grpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
    /// A range of container ports, such as `8000-8010`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+-[0-9]+$"))]
    pub container_port_range: Option<String>,
}

/// Transport protocol of a port mapping.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Application protocol of a port mapping.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppProtocol {
    /// HTTP/1.1.
    Http,
    /// HTTP/2.
    Http2,
    /// gRPC.
    Grpc,
}

/// ECS `ContainerRestartPolicy`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRestartPolicy {
    /// Whether the restart policy is on.
    pub enabled: bool,
    /// Exit codes that do not trigger a restart (up to 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub ignored_exit_codes: Option<Vec<i32>>,
    /// Seconds the container must run before a restart is attempted (60–1800, default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 1800))]
    pub restart_attempt_period: Option<i32>,
}

/// ECS `EnvironmentFile`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFile {
    /// S3 object ARN of the `.env` file.
    pub value: String,
    /// File type; only `s3`.
    #[serde(rename = "type")]
    pub type_: EnvironmentFileType,
}

/// Type of an environment file.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentFileType {
    /// An object in Amazon S3.
    #[default]
    S3,
}

/// ECS `MountPoint`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    /// Name of a volume of the task definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub source_volume: Option<String>,
    /// Path inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// ECS `VolumeFrom`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    /// Container whose volumes are mounted.
    #[schemars(length(max = 255))]
    pub source_container: String,
    /// Mount them read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// ECS `LinuxParameters`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    /// Linux capabilities added to or dropped from Docker's default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    /// Host devices exposed to the container (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<Device>>,
    /// Run an init process that forwards signals and reaps processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// Size of /dev/shm in MiB (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub shared_memory_size: Option<i32>,
    /// tmpfs mounts (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<Vec<Tmpfs>>,
    /// Swap in MiB the container may use (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_swap: Option<i32>,
    /// Swappiness 0–100 (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub swappiness: Option<i32>,
}

/// ECS `KernelCapabilities`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    /// Capabilities to add, such as `SYS_PTRACE` (the only one Fargate allows; up to 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 64)))]
    pub add: Option<Vec<String>>,
    /// Capabilities to drop, such as `MKNOD` (up to 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 64)))]
    pub drop: Option<Vec<String>>,
}

/// ECS `Device`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Path of the device on the node.
    pub host_path: String,
    /// Path inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// `read`, `write` and/or `mknod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// ECS `Tmpfs`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tmpfs {
    /// Mount path inside the container.
    pub container_path: String,
    /// Size in MiB.
    #[schemars(range(min = 1))]
    pub size: i32,
    /// Mount options such as `noexec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Vec<String>>,
}

/// The CEL rule on a list of environment variables (`environment`, `secrets`): each name is
/// printable ASCII other than `=`, which is what Kubernetes accepts (relaxed environment variable
/// names, GA since Kubernetes 1.34) and what a process environment can hold.
pub(crate) const ENV_NAME_RULE: &str = "self.all(e, e.name.matches('^[ -<>-~]+$'))";

/// The message of [`ENV_NAME_RULE`].
pub(crate) const ENV_NAME_MESSAGE: &str =
    "environment variable names must be printable ASCII characters other than '=' (not empty)";

/// A secret injected as an environment variable, as ECS `Secret`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// Environment variable name (up to 255 characters).
    #[schemars(length(max = 255))]
    pub name: String,
    /// Secrets Manager secret ARN (optionally `:json-key:version-stage:version-id`), or an SSM
    /// parameter name or ARN.
    pub value_from: String,
}

/// ECS `ContainerDependency`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    /// The container this one waits for.
    #[schemars(length(max = 255))]
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: DependencyCondition,
}

/// Condition of a container dependency.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    /// The dependency has started.
    #[default]
    Start,
    /// The dependency has run to completion (any exit code).
    Complete,
    /// The dependency has exited with code 0.
    Success,
    /// The dependency passed its health check.
    Healthy,
}

/// Whether ECS resolves image tags to digests per deployment.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionConsistency {
    /// Pin the digest for the deployment (ECS default).
    Enabled,
    /// Use the tag as it resolves at each task start.
    Disabled,
}

/// ECS `HostEntry`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostEntry {
    /// Hostname.
    pub hostname: String,
    /// IP address.
    pub ip_address: String,
}

/// ECS `Ulimit`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    /// Ulimit name, such as `nofile`.
    pub name: String,
    /// Soft limit.
    pub soft_limit: i64,
    /// Hard limit.
    pub hard_limit: i64,
}

/// ECS `LogConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// Log driver: `awslogs`, `fluentd`, `gelf`, `json-file`, `journald`, `logentries`,
    /// `splunk`, `syslog` or `awsfirelens`.
    pub log_driver: String,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    /// Driver options read from secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_options: Option<Vec<Secret>>,
}

/// ECS `HealthCheck`: a command run inside the container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.command[0] in ['CMD', 'CMD-SHELL']").message("healthCheck command must start with CMD or CMD-SHELL").field_path(".command"))]
pub struct HealthCheck {
    /// `["CMD", "executable", "arg", ...]` or `["CMD-SHELL", "shell command"]`.
    #[schemars(length(min = 2))]
    pub command: Vec<String>,
    /// Seconds between checks (5–300, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 300))]
    pub interval: Option<i32>,
    /// Seconds before a check counts as failed (2–60, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 60))]
    pub timeout: Option<i32>,
    /// Consecutive failures before the container is unhealthy (1–10, default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub retries: Option<i32>,
    /// Seconds after start during which failures do not count (0–300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 300))]
    pub start_period: Option<i32>,
}

/// ECS `SystemControl` (a sysctl).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    /// Kernel parameter, such as `net.core.somaxconn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// ECS `ResourceRequirement`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type != 'GPU' || self.value.matches('^[1-9][0-9]*$')")
    .message("a GPU resourceRequirement's value must be a whole number of GPUs above 0, such as \"1\"")
    .field_path(".value"))]
pub struct ResourceRequirement {
    /// Number of GPUs (a whole number above 0; becomes the `nvidia.com/gpu` limit), or the
    /// accelerator's device name.
    #[schemars(length(min = 1, max = 255))]
    pub value: String,
    /// `GPU` or `InferenceAccelerator`.
    #[serde(rename = "type")]
    pub type_: ResourceType,
}

/// Type of a container resource requirement.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ResourceType {
    /// Physical GPUs.
    #[default]
    #[serde(rename = "GPU")]
    Gpu,
    /// An Elastic Inference accelerator (retired).
    #[serde(rename = "InferenceAccelerator")]
    InferenceAccelerator,
}

/// ECS `FirelensConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirelensConfiguration {
    /// `fluentd` or `fluentbit`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Router options, such as `enable-ecs-log-metadata` or `config-file-value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// ECS `RepositoryCredentials`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryCredentials {
    /// ARN of the Secrets Manager secret holding the registry credentials.
    pub credentials_parameter: String,
}

/// A task volume, as ECS `Volume`. At most one of the volume configurations is set; with none,
/// ECS gives the task a scratch volume.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.host), has(self.dockerVolumeConfiguration), has(self.efsVolumeConfiguration), has(self.fsxWindowsFileServerVolumeConfiguration)].filter(x, x).size() <= 1").message("a volume takes at most one of host, dockerVolumeConfiguration, efsVolumeConfiguration and fsxWindowsFileServerVolumeConfiguration"))]
pub struct Volume {
    /// Volume name, referenced by mountPoints.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// A bind mount from the node (`sourcePath`), or a scratch volume when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolumeProperties>,
    /// A Docker volume (EC2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    /// An Amazon EFS file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// An FSx for Windows File Server file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub fsx_windows_file_server_volume_configuration: Option<serde_json::Value>,
    /// The volume is configured when the service or task is created (EBS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
}

/// ECS `HostVolumeProperties`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    /// Path on the node; without it the volume is scratch space that does not persist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// ECS `DockerVolumeConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.autoprovision) || !self.autoprovision || (has(self.scope) && self.scope == 'shared')").message("autoprovision is only allowed with scope shared").field_path(".autoprovision"))]
pub struct DockerVolumeConfiguration {
    /// `task` (removed when the task stops) or `shared` (outlives the task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<DockerVolumeScope>,
    /// Create the volume if it does not exist (shared scope only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    /// Volume driver, such as `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Volume labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Scope of a Docker volume.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DockerVolumeScope {
    /// Created at task start, removed at task stop.
    Task,
    /// Outlives the task.
    Shared,
}

/// ECS `EFSVolumeConfiguration`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.authorizationConfig) || !has(self.authorizationConfig.accessPointId) || ((!has(self.rootDirectory) || self.rootDirectory == '/') && has(self.transitEncryption) && self.transitEncryption == 'ENABLED')").message("an EFS access point needs rootDirectory omitted or '/' and transitEncryption ENABLED"))]
pub struct EfsVolumeConfiguration {
    /// EFS file system ID (`fs-...`).
    pub file_system_id: String,
    /// Directory of the file system to mount (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<EnabledDisabled>,
    /// Port for encrypted traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub transit_encryption_port: Option<i32>,
    /// Access point and IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

/// ECS `EFSAuthorizationConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    /// EFS access point ID (`fsap-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Use the task role for EFS IAM authorization: `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<EnabledDisabled>,
}

/// An AWS `ENABLED`/`DISABLED` switch.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EnabledDisabled {
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

/// A task definition placement constraint (only `memberOf`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionPlacementConstraint {
    /// Only `memberOf` is allowed in a task definition.
    #[serde(rename = "type")]
    #[schemars(regex(pattern = "^memberOf$"))]
    pub type_: String,
    /// Cluster query language expression.
    #[schemars(length(max = 2000))]
    pub expression: String,
}

/// Docker networking mode of a task.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// One network interface per task; containers share it (Kubernetes pod networking).
    Awsvpc,
    /// Docker's bridge network with port mappings.
    Bridge,
    /// The node's network namespace (`hostNetwork`).
    Host,
    /// No external networking.
    None,
}

/// Launch type compatibility.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// EC2.
    Ec2,
    /// Fargate.
    Fargate,
    /// ECS Anywhere.
    External,
    /// ECS Managed Instances.
    ManagedInstances,
}

/// Process namespace mode.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PidMode {
    /// Share the node's process namespace.
    Host,
    /// Share one namespace among the task's containers.
    Task,
}

/// IPC namespace mode.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpcMode {
    /// Share the node's IPC namespace.
    Host,
    /// Share one IPC namespace among the task's containers.
    Task,
    /// Private IPC namespaces.
    None,
}

/// ECS `ProxyConfiguration` (App Mesh).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConfiguration {
    /// Only `APPMESH`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Name of the proxy container.
    #[schemars(length(max = 255))]
    pub container_name: String,
    /// Proxy properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<KeyValuePair>>,
}

/// ECS `EphemeralStorage`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralStorage {
    /// Size in GiB (21–200: ECS registers no other size).
    #[schemars(range(min = 21, max = 200))]
    pub size_in_gi_b: i32,
}

/// ECS `RuntimePlatform`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    /// `X86_64` or `ARM64`; becomes a `kubernetes.io/arch` node selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<CpuArchitecture>,
    /// `LINUX` or a `WINDOWS_SERVER_*` family; becomes `kubernetes.io/os`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^(LINUX|WINDOWS_SERVER_[A-Z0-9_]+)$"))]
    pub operating_system_family: Option<String>,
}

/// CPU architecture.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CpuArchitecture {
    /// amd64.
    #[serde(rename = "X86_64")]
    X86_64,
    /// arm64.
    #[serde(rename = "ARM64")]
    Arm64,
}

/// What ecsplane observed of a task definition.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionStatus {
    /// Revision number of the current spec (1 for the first, +1 for every change), like ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// `family:revision` of the current spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
}
