//! TaskDefinition → pod template.
//!
//! Every field of [`TaskDefinitionSpec`] and [`ContainerDefinition`] is destructured without
//! `..`, so a field added to the API without a decision here is a compile error. Each field is
//! translated exactly (no finding), approximated (a finding saying what differs) or not
//! carried (a finding saying why).
//!
//! Naming rules this module defines (documented here because users create the referenced
//! objects):
//! - **Secrets** ([`secret_ref`]): an ECS secret `valueFrom` becomes a key of a Kubernetes
//!   Secret, never a value. Secrets Manager `arn:...:secret:NAME[:json-key:stage:id]` → Secret
//!   `dns_label("aws-sm-" + NAME)` (NAME includes the 6-character suffix of the ARN), key =
//!   `json-key` or `value`. SSM parameters (`NAME`, `/path/NAME` or
//!   `arn:...:parameter/path/NAME`) → Secret `dns_label("aws-ssm-" + path)`, key `value`.
//!   External Secrets Operator (or the ecsplane operator) fills these Secrets.
//! - **Environment files**: an S3 `environmentFiles` entry → ConfigMap
//!   `dns_label("aws-s3-" + bucket/key)` used through `envFrom`.
//! - **Registry credentials**: `repositoryCredentials.credentialsParameter` → imagePullSecret
//!   named like a Secrets Manager secret above.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    AppArmorProfile, Capabilities, ConfigMapEnvSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, ExecAction, HostAlias,
    HostPathVolumeSource, LocalObjectReference, PersistentVolumeClaimVolumeSource, PodDNSConfig,
    PodOS, PodSpec, Probe, ResourceRequirements, SELinuxOptions, SecretKeySelector,
    SecurityContext, Sysctl, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Refusal;
use super::names::dns_label;
use super::report::{ObjectRef, Report};
use super::units;
use crate::api::{
    ContainerDefinition, DependencyCondition, DockerVolumeScope, HealthCheck, IpcMode, NetworkMode,
    PidMode, ResourceType, TaskDefinition, TaskDefinitionSpec, VersionConsistency,
};

/// What the pod is for: the same task definition behaves differently under a service (ECS
/// replaces unhealthy tasks) and as a standalone task (ECS lets it run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// An EcsService's Deployment or DaemonSet.
    Service,
    /// An EcsTask's Pods.
    Task,
}

/// The translated pod template of a task definition.
#[derive(Clone, Debug, PartialEq)]
pub struct PodTemplate {
    /// The pod spec (without serviceAccountName; the caller sets it with the role).
    pub spec: PodSpec,
    /// Pod annotations (docker labels, the task definition reference).
    pub annotations: BTreeMap<String, String>,
    /// ECS container name → Kubernetes container name.
    pub container_names: BTreeMap<String, String>,
    /// The IAM role for the pod's ServiceAccount (`taskRoleArn`).
    pub task_role_arn: Option<String>,
    /// The largest container stopTimeout (default 30 s): the base of the grace period.
    pub stop_timeout: i64,
}

/// `family` or `family:revision` of a task definition, as pods are annotated.
pub fn task_definition_id(td: &TaskDefinition) -> String {
    match td.spec.revision {
        Some(r) => format!("{}:{r}", td.spec.family),
        None => td.spec.family.clone(),
    }
}

/// The ObjectRef of a task definition for findings.
pub fn object_ref(td: &TaskDefinition) -> ObjectRef {
    ObjectRef::new(
        "TaskDefinition",
        td.metadata.namespace.as_deref(),
        td.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// A Secret key reference for an ECS secret `valueFrom`, and whether a version stage or id
/// was dropped. See the module documentation for the naming rule.
pub fn secret_ref(value_from: &str) -> (SecretKeySelector, bool) {
    if let Some((_, rest)) = value_from.split_once(":secret:") {
        // NAME[:json-key[:version-stage[:version-id]]]
        let mut parts = rest.split(':');
        let name = parts.next().unwrap_or_default();
        let json_key = parts.next().filter(|k| !k.is_empty());
        let versioned = parts.any(|p| !p.is_empty());
        return (
            SecretKeySelector {
                name: dns_label(&format!("aws-sm-{name}")),
                key: json_key.unwrap_or("value").to_owned(),
                optional: None,
            },
            versioned,
        );
    }
    let parameter = match value_from.split_once(":parameter") {
        Some((_, rest)) => rest,
        None => value_from,
    };
    let parameter = parameter.trim_start_matches('/');
    (
        SecretKeySelector {
            name: dns_label(&format!("aws-ssm-{parameter}")),
            key: "value".to_owned(),
            optional: None,
        },
        false,
    )
}

/// Name of the ConfigMap standing for an S3 environment file.
pub fn env_file_config_map(s3_arn: &str) -> String {
    let path = s3_arn.strip_prefix("arn:aws:s3:::").unwrap_or(s3_arn);
    dns_label(&format!("aws-s3-{path}"))
}

/// How each container is placed in the pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// An init container that runs to completion (target of SUCCESS/COMPLETE).
    Init,
    /// A native sidecar (init container with restartPolicy Always).
    Sidecar,
    /// A regular container.
    Main,
}

/// Decides each container's role and the order of the init containers from `dependsOn`.
fn plan(containers: &[ContainerDefinition]) -> Result<(Vec<Role>, Vec<usize>), Refusal> {
    let index: BTreeMap<&str, usize> = containers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let essential = |i: usize| containers[i].essential.unwrap_or(true);
    let mut completed = BTreeSet::new();
    let mut started = BTreeMap::new();
    // An essential container waited for (START/HEALTHY) only by non-essential containers stays
    // a regular container, and so do those dependents: the order between them is not enforced
    // (reported by the caller). Otherwise no regular container might remain.
    let mut unordered = BTreeSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for d in c.depends_on.iter().flatten() {
            let Some(&target) = index.get(d.container_name.as_str()) else {
                continue;
            };
            match d.condition {
                DependencyCondition::Success | DependencyCondition::Complete => {
                    completed.insert(target);
                }
                DependencyCondition::Start | DependencyCondition::Healthy => {
                    let waited_by_essential = containers.iter().any(|o| {
                        o.essential.unwrap_or(true)
                            && o.depends_on.iter().flatten().any(|od| {
                                od.container_name == d.container_name
                                    && matches!(
                                        od.condition,
                                        DependencyCondition::Start | DependencyCondition::Healthy
                                    )
                            })
                    });
                    if essential(target) && !waited_by_essential {
                        unordered.insert(ci);
                    } else {
                        started
                            .entry(target)
                            .or_insert((c.name.clone(), d.condition));
                    }
                }
            }
        }
    }
    let mut roles = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let essential = essential(i);
        roles.push(if completed.contains(&i) {
            if let Some((by, DependencyCondition::Healthy)) = started.get(&i) {
                return Err(Refusal::new(
                    format!("spec.containerDefinitions[{}].dependsOn", by),
                    format!(
                        "container {:?} is waited for both to complete (SUCCESS/COMPLETE) and to be \
                         HEALTHY; a Kubernetes init container either runs to completion or keeps \
                         running as a sidecar, not both",
                        c.name
                    ),
                ));
            }
            Role::Init
        } else if started.contains_key(&i) || (!essential && !unordered.contains(&i)) {
            Role::Sidecar
        } else {
            Role::Main
        });
    }
    // Init-list order: a topological sort of init containers and sidecars by their
    // dependencies, stable in the task definition's order.
    let init: Vec<usize> = (0..containers.len())
        .filter(|&i| roles[i] != Role::Main)
        .collect();
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    while order.len() < init.len() {
        let next = init.iter().copied().find(|&i| {
            !placed.contains(&i)
                && containers[i].depends_on.iter().flatten().all(|d| {
                    index
                        .get(d.container_name.as_str())
                        .is_none_or(|t| placed.contains(t) || roles[*t] == Role::Main)
                })
        });
        match next {
            Some(i) => {
                placed.insert(i);
                order.push(i);
            }
            None => {
                let cycle: Vec<&str> = init
                    .iter()
                    .filter(|i| !placed.contains(i))
                    .map(|&i| containers[i].name.as_str())
                    .collect();
                return Err(Refusal::new(
                    "spec.containerDefinitions.dependsOn",
                    format!("the dependsOn graph has a cycle among {}", cycle.join(", ")),
                ));
            }
        }
    }
    Ok((roles, order))
}

fn seconds(n: Option<i32>, default: i32) -> i32 {
    n.unwrap_or(default)
}

/// The exec action of an ECS health check (`CMD-SHELL` through the platform's shell).
fn exec_action(hc: &HealthCheck, windows: bool) -> ExecAction {
    let mut args = hc.command.iter().skip(1).cloned();
    let command = if hc.command.first().map(String::as_str) == Some("CMD-SHELL") {
        let script = args.collect::<Vec<_>>().join(" ");
        if windows {
            vec!["cmd".into(), "/S".into(), "/C".into(), script]
        } else {
            vec!["/bin/sh".into(), "-c".into(), script]
        }
    } else {
        args.by_ref().collect()
    };
    ExecAction {
        command: Some(command),
    }
}

/// The probe ECS's health check stands for: period = interval, timeout, failures = retries.
pub fn health_probe(hc: &HealthCheck, windows: bool) -> Probe {
    Probe {
        exec: Some(exec_action(hc, windows)),
        period_seconds: Some(seconds(hc.interval, 30)),
        timeout_seconds: Some(seconds(hc.timeout, 5)),
        failure_threshold: Some(seconds(hc.retries, 3)),
        success_threshold: Some(1),
        ..Probe::default()
    }
}

/// The startup probe for `startPeriod`: failures during the start period do not count, so the
/// budget is `ceil(startPeriod / interval) + retries` checks.
pub fn startup_probe(hc: &HealthCheck, windows: bool) -> Probe {
    let interval = seconds(hc.interval, 30);
    let start = seconds(hc.start_period, 0);
    Probe {
        failure_threshold: Some((start + interval - 1) / interval + seconds(hc.retries, 3)),
        ..health_probe(hc, windows)
    }
}

/// Translates a task definition into a pod template for `workload`, recording findings about
/// the task definition in `report`.
pub fn pod_template(
    td: &TaskDefinition,
    workload: Workload,
    report: &mut Report,
) -> Result<PodTemplate, Vec<Refusal>> {
    let obj = object_ref(td);
    let mut refusals = Vec::new();
    let TaskDefinitionSpec {
        family: _,
        task_role_arn,
        execution_role_arn,
        network_mode,
        container_definitions,
        volumes,
        placement_constraints: _, // compiled with the service's constraints (placement.rs)
        requires_compatibilities: _, // validation only: the CRD's FARGATE rules
        cpu,
        memory,
        tags,
        pid_mode,
        ipc_mode,
        proxy_configuration,
        inference_accelerators,
        ephemeral_storage,
        runtime_platform,
        enable_fault_injection,
        // Read-only describe-task-definition output, accepted and ignored (revision is used to
        // resolve references).
        task_definition_arn: _,
        revision: _,
        status,
        requires_attributes: _,
        compatibilities: _,
        registered_at: _,
        registered_by: _,
        deregistered_at: _,
    } = &td.spec;

    let mut spec = PodSpec::default();
    let mut annotations = BTreeMap::new();
    let windows = runtime_platform
        .as_ref()
        .and_then(|p| p.operating_system_family.as_deref())
        .is_some_and(|f| f.starts_with("WINDOWS"));

    if let Some(s) = status
        && s != "ACTIVE"
    {
        report.approximated(&obj, "spec.status", format!("the task definition is {s} in ECS, where no new service or task may use it; ecsplane renders it anyway"));
    }
    if execution_role_arn.is_some() {
        report.not_carried(&obj, "spec.executionRoleArn", "the ECS agent's role (image pulls, secret fetches) is never given to the application; on Kubernetes the node (or the ECR credential provider) pulls images and External Secrets reads the secrets with its own role");
    }
    if task_role_arn.is_some() {
        report.approximated(&obj, "spec.taskRoleArn", "becomes a ServiceAccount annotated eks.amazonaws.com/role-arn (IRSA); the role's trust policy must trust the cluster's OIDC provider instead of ecs-tasks.amazonaws.com");
    }
    match network_mode {
        None | Some(NetworkMode::Awsvpc) => {}
        Some(NetworkMode::Host) => spec.host_network = Some(true),
        Some(NetworkMode::Bridge) => report.approximated(&obj, "spec.networkMode", "bridge networking becomes pod networking: containers share one network namespace and reach each other on localhost; dynamic host ports are not used (each pod has its own IP)"),
        Some(NetworkMode::None) => report.not_carried(&obj, "spec.networkMode", "Kubernetes pods always have a network interface; networkMode none cannot be reproduced"),
    }
    match pid_mode {
        None => {}
        Some(PidMode::Host) => spec.host_pid = Some(true),
        Some(PidMode::Task) => spec.share_process_namespace = Some(true),
    }
    match ipc_mode {
        None | Some(IpcMode::Task) => {} // containers of a pod share one IPC namespace
        Some(IpcMode::Host) => spec.host_ipc = Some(true),
        Some(IpcMode::None) => report.approximated(&obj, "spec.ipcMode", "the containers of a pod always share one IPC namespace; private IPC namespaces (none) are not available"),
    }
    if let Some(p) = proxy_configuration {
        refusals.push(Refusal::new("spec.proxyConfiguration", format!("App Mesh proxy configuration (container {:?}) has no Kubernetes equivalent: traffic would bypass the proxy. Remove it and use a service mesh's injection (Istio, Linkerd) instead", p.container_name)));
    }
    if inference_accelerators
        .as_ref()
        .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
    {
        refusals.push(Refusal::new("spec.inferenceAccelerators", "Elastic Inference accelerators are retired by AWS and have no Kubernetes equivalent; use GPUs (resourceRequirements)"));
    }
    if enable_fault_injection == &Some(true) {
        report.not_carried(
            &obj,
            "spec.enableFaultInjection",
            "AWS Fault Injection Service works only inside AWS",
        );
    }
    if tags.as_ref().is_some_and(|t| !t.is_empty()) {
        report.not_carried(&obj, "spec.tags", "AWS resource tags have no effect on Kubernetes objects; put labels on the custom resource instead");
    }
    if let Some(platform) = runtime_platform {
        let mut selector = BTreeMap::new();
        if let Some(family) = &platform.operating_system_family {
            let os = if windows { "windows" } else { "linux" };
            selector.insert("kubernetes.io/os".to_owned(), os.to_owned());
            spec.os = Some(PodOS { name: os.into() });
            if windows {
                match windows_build(family) {
                    Some(build) => {
                        selector.insert("node.kubernetes.io/windows-build".to_owned(), build.to_owned());
                    }
                    None => report.approximated(&obj, "spec.runtimePlatform.operatingSystemFamily", format!("{family} has no known Windows build number; only kubernetes.io/os=windows is required")),
                }
            }
        }
        if let Some(arch) = platform.cpu_architecture {
            selector.insert(
                "kubernetes.io/arch".to_owned(),
                match arch {
                    crate::api::CpuArchitecture::X86_64 => "amd64",
                    crate::api::CpuArchitecture::Arm64 => "arm64",
                }
                .to_owned(),
            );
        }
        if !selector.is_empty() {
            spec.node_selector = Some(selector);
        }
    }

    // Volumes.
    let mut k8s_volumes: Vec<Volume> = Vec::new();
    for (i, v) in volumes.iter().flatten().enumerate() {
        let crate::api::Volume {
            name,
            host,
            docker_volume_configuration,
            efs_volume_configuration,
            fsx_windows_file_server_volume_configuration,
            configured_at_launch,
        } = v;
        let field = format!("spec.volumes[{name}]");
        let _ = i;
        let mut volume = Volume {
            name: dns_label(name),
            ..Volume::default()
        };
        if let Some(path) = host.as_ref().and_then(|h| h.source_path.clone()) {
            volume.host_path = Some(HostPathVolumeSource { path, type_: None });
        } else if let Some(docker) = docker_volume_configuration {
            if docker.scope == Some(DockerVolumeScope::Shared) {
                volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: dns_label(name),
                    read_only: None,
                });
                report.approximated(&obj, field, format!("a shared Docker volume becomes the PersistentVolumeClaim {:?}, which you create (autoprovision, driver and driverOpts are not carried); with tasks on several nodes it needs ReadWriteMany storage", dns_label(name)));
            } else {
                volume.empty_dir = Some(EmptyDirVolumeSource::default());
                if docker.driver.as_deref().is_some_and(|d| d != "local")
                    || docker.driver_opts.is_some()
                    || docker.labels.is_some()
                {
                    report.approximated(&obj, field, "a task-scoped Docker volume becomes an emptyDir; its driver, driverOpts and labels are not carried");
                }
            }
        } else if let Some(efs) = efs_volume_configuration {
            let claim = dns_label(&format!("efs-{}", efs.file_system_id));
            let ap = efs
                .authorization_config
                .as_ref()
                .and_then(|a| a.access_point_id.clone());
            let handle = format!(
                "{}:{}:{}",
                efs.file_system_id,
                efs.root_directory.as_deref().unwrap_or(""),
                ap.unwrap_or_default()
            );
            volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.clone(),
                read_only: None,
            });
            report.approximated(&obj, field, format!("EFS is mounted through the EFS CSI driver: create a PersistentVolume with driver efs.csi.aws.com and volumeHandle {handle:?} (mount option tls when transitEncryption is ENABLED) bound to the PersistentVolumeClaim {claim:?}"));
        } else if fsx_windows_file_server_volume_configuration.is_some() {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
            report.not_carried(&obj, field, "FSx for Windows File Server volumes are not translated (an SMB CSI driver would be needed); an empty scratch volume stands in so the mounts stay valid");
        } else if configured_at_launch == &Some(true) {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
            report.not_carried(&obj, field, "an EBS volume configured at launch is not translated; an empty scratch volume stands in (use a generic ephemeral volume or a PVC)");
        } else {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
        }
        k8s_volumes.push(volume);
    }
    let volume_names: BTreeMap<&str, String> = volumes
        .iter()
        .flatten()
        .map(|v| (v.name.as_str(), dns_label(&v.name)))
        .collect();

    // Containers.
    let containers = container_definitions;
    let container_names: BTreeMap<String, String> = containers
        .iter()
        .map(|c| (c.name.clone(), dns_label(&c.name)))
        .collect();
    let (roles, init_order) = match plan(containers) {
        Ok(p) => p,
        Err(r) => {
            refusals.push(r);
            return Err(refusals);
        }
    };
    // Sized up front: a Container is over 1 KB, so growing the list would copy them.
    let mut built: Vec<Container> = Vec::with_capacity(containers.len());
    let mut mounts_of: BTreeMap<String, Vec<VolumeMount>> = BTreeMap::new();
    let mut stop_timeout: i64 = 30;
    let mut stop_timeout_set = false;
    let mut host_aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dns_servers: Vec<String> = Vec::new();
    let mut dns_searches: Vec<String> = Vec::new();
    let mut sysctls: BTreeMap<String, String> = BTreeMap::new();
    let mut pull_secrets: BTreeSet<String> = BTreeSet::new();
    let mut sum_cpu_units: u64 = 0;
    let mut sum_mem_request: u64 = 0;
    let mut hostname: Option<String> = None;

    for (i, c) in containers.iter().enumerate() {
        let ContainerDefinition {
            name,
            image,
            repository_credentials,
            cpu: c_cpu,
            memory: c_memory,
            memory_reservation,
            links,
            port_mappings,
            essential,
            restart_policy,
            entry_point,
            command,
            environment,
            environment_files,
            mount_points,
            volumes_from: _, // resolved after every container's own mounts are known
            linux_parameters,
            secrets,
            depends_on,
            start_timeout,
            stop_timeout: c_stop_timeout,
            version_consistency,
            hostname: c_hostname,
            user,
            working_directory,
            disable_networking,
            privileged,
            readonly_root_filesystem,
            dns_servers: c_dns_servers,
            dns_search_domains,
            extra_hosts,
            docker_security_options,
            interactive,
            pseudo_terminal,
            docker_labels,
            ulimits,
            log_configuration,
            health_check,
            system_controls,
            resource_requirements,
            firelens_configuration,
            credential_specs,
        } = c;
        let f = |field: &str| format!("spec.containerDefinitions[{name}].{field}");
        let k8s_name = container_names[name].clone();
        if &k8s_name != name {
            report.approximated(&obj, f("name"), format!("container names must be DNS labels on Kubernetes: {name:?} becomes {k8s_name:?}"));
        }
        let essential = essential.unwrap_or(true);
        let role = roles[i];
        let mut k = Container {
            name: k8s_name.clone(),
            image: Some(image.clone()),
            command: entry_point.clone(),
            args: command.clone(),
            working_dir: working_directory.clone(),
            stdin: *interactive,
            tty: *pseudo_terminal,
            ..Container::default()
        };
        if role == Role::Main
            && depends_on.iter().flatten().any(|d| {
                matches!(
                    d.condition,
                    DependencyCondition::Start | DependencyCondition::Healthy
                ) && containers
                    .iter()
                    .position(|o| o.name == d.container_name)
                    .is_some_and(|t| roles[t] == Role::Main)
            })
        {
            report.approximated(&obj, f("dependsOn"), "this non-essential container waits (START/HEALTHY) for an essential container; both stay regular containers, which Kubernetes starts without waiting for one another");
        }
        if role == Role::Sidecar {
            k.restart_policy = Some("Always".into());
            if essential {
                report.approximated(&obj, f("essential"), "this essential container is a dependency (START/HEALTHY) of another, so it runs as a native sidecar that Kubernetes restarts when it exits; ECS would stop the whole task");
            } else {
                report.approximated(&obj, f("essential"), "a non-essential container runs as a native sidecar: it starts before the essential containers and Kubernetes restarts it when it exits, where ECS leaves a stopped non-essential container stopped");
            }
        }
        if !image.contains('@') && version_consistency != &Some(VersionConsistency::Disabled) {
            report.approximated(&obj, f("image"), "ECS pins the image tag to a digest for each deployment; the manifest (rendered or applied by the operator) uses the tag as is: each node resolves it when it pulls, so a tag moved during a rollout can mix images in one service; pin a digest in the image to avoid it");
        }
        if let Some(creds) = repository_credentials {
            let (sel, _) = secret_ref(&creds.credentials_parameter);
            pull_secrets.insert(sel.name.clone());
            report.approximated(&obj, f("repositoryCredentials"), format!("becomes imagePullSecret {:?}: a kubernetes.io/dockerconfigjson Secret synced from the Secrets Manager secret (for example by External Secrets)", sel.name));
        }
        // Resources.
        let mut requests = BTreeMap::new();
        let mut limits = BTreeMap::new();
        if let Some(units) = c_cpu.and_then(|u| u64::try_from(u).ok()).filter(|u| *u > 0) {
            let (_, rounded) = units::cpu_millis(units);
            requests.insert("cpu".to_owned(), units::cpu_quantity(units));
            sum_cpu_units += units;
            if windows {
                limits.insert("cpu".to_owned(), units::cpu_quantity(units));
            }
            if rounded {
                report.approximated(&obj, f("cpu"), format!("{units} CPU units are {:.3} millicores; Kubernetes counts whole millicores, so the request is {}", units as f64 * 1000.0 / 1024.0, units::cpu_quantity(units).0));
            }
        }
        if let Some(hard) = c_memory.and_then(|m| u64::try_from(m).ok()) {
            limits.insert("memory".to_owned(), units::memory_quantity(hard));
            let soft = memory_reservation
                .and_then(|m| u64::try_from(m).ok())
                .unwrap_or(hard);
            requests.insert("memory".to_owned(), units::memory_quantity(soft));
            sum_mem_request += soft;
        } else if let Some(soft) = memory_reservation.and_then(|m| u64::try_from(m).ok()) {
            requests.insert("memory".to_owned(), units::memory_quantity(soft));
            sum_mem_request += soft;
        }
        for r in resource_requirements.iter().flatten() {
            match r.type_ {
                ResourceType::Gpu => {
                    limits.insert("nvidia.com/gpu".to_owned(), Quantity(r.value.clone()));
                }
                ResourceType::InferenceAccelerator => refusals.push(Refusal::new(f("resourceRequirements"), "Elastic Inference accelerators are retired by AWS and have no Kubernetes equivalent")),
            }
        }
        if !requests.is_empty() || !limits.is_empty() {
            k.resources = Some(ResourceRequirements {
                requests: (!requests.is_empty()).then_some(requests),
                limits: (!limits.is_empty()).then_some(limits),
                ..ResourceRequirements::default()
            });
        }
        // Environment.
        let mut env: Vec<EnvVar> = environment
            .iter()
            .flatten()
            .map(|kv| EnvVar {
                name: kv.name.clone(),
                value: Some(kv.value.clone().unwrap_or_default()),
                value_from: None,
            })
            .collect();
        let mut versioned = false;
        for s in secrets.iter().flatten() {
            let (sel, v) = secret_ref(&s.value_from);
            versioned |= v;
            env.push(EnvVar {
                name: s.name.clone(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(sel),
                    ..EnvVarSource::default()
                }),
            });
        }
        if secrets.as_ref().is_some_and(|s| !s.is_empty()) {
            report.approximated(&obj, f("secrets"), "each secret becomes an env var read from a Kubernetes Secret (named by ecsplane's naming rule: aws-sm-NAME / aws-ssm-PATH, key = json-key or \"value\"), which External Secrets must fill; values are never copied into manifests");
        }
        if versioned {
            report.not_carried(&obj, f("secrets"), "a Secrets Manager version stage or version id cannot be expressed in a Secret reference; configure it on the ExternalSecret");
        }
        if !env.is_empty() {
            k.env = Some(env);
        }
        if let Some(files) = environment_files.as_ref().filter(|f| !f.is_empty()) {
            k.env_from = Some(
                files
                    .iter()
                    .map(|file| EnvFromSource {
                        config_map_ref: Some(ConfigMapEnvSource {
                            name: env_file_config_map(&file.value),
                            optional: None,
                        }),
                        ..EnvFromSource::default()
                    })
                    .collect(),
            );
            report.approximated(&obj, f("environmentFiles"), "each S3 environment file becomes envFrom a ConfigMap (aws-s3-BUCKET-KEY) that the operator fills from S3; explicit environment still wins, and on a key repeated across files the last file wins on Kubernetes (ECS does not document its order)");
        }
        // Ports.
        let mut ports: Vec<ContainerPort> = Vec::new();
        for p in port_mappings.iter().flatten() {
            let Some(port) = p.container_port else {
                report.not_carried(&obj, f("portMappings"), format!("containerPortRange {:?}: Kubernetes container ports and Services cannot express ranges", p.container_port_range.as_deref().unwrap_or("")));
                continue;
            };
            let protocol = match p.protocol {
                Some(crate::api::TransportProtocol::Udp) => "UDP",
                _ => "TCP",
            };
            if ports
                .iter()
                .any(|q| q.container_port == port && q.protocol.as_deref() == Some(protocol))
            {
                report.approximated(
                    &obj,
                    f("portMappings"),
                    format!("port {port}/{protocol} is listed twice; it is kept once"),
                );
                continue;
            }
            let mut cp = ContainerPort {
                container_port: port,
                protocol: Some(protocol.into()),
                ..ContainerPort::default()
            };
            if let Some(n) = &p.name {
                if is_port_name(n) && !ports.iter().any(|q| q.name.as_deref() == Some(n)) {
                    cp.name = Some(n.clone());
                } else {
                    report.approximated(&obj, f("portMappings"), format!("port name {n:?} is not a valid (unique, at most 15 lowercase characters) Kubernetes port name; the port is left unnamed"));
                }
            }
            match (network_mode, p.host_port) {
                (Some(NetworkMode::Host), _) => cp.host_port = Some(port),
                (_, Some(h)) if h != 0 && network_mode == &Some(NetworkMode::Bridge) => {
                    report.approximated(&obj, f("portMappings"), format!("hostPort {h} is not carried: pods have their own IP, reach the container on port {port}"));
                }
                _ => {}
            }
            ports.push(cp);
        }
        if !ports.is_empty() {
            k.ports = Some(ports);
        }
        // Mounts.
        let mut mounts = Vec::new();
        for m in mount_points.iter().flatten() {
            let (Some(src), Some(path)) = (&m.source_volume, &m.container_path) else {
                report.not_carried(
                    &obj,
                    f("mountPoints"),
                    "a mount point without sourceVolume or containerPath mounts nothing",
                );
                continue;
            };
            mounts.push(VolumeMount {
                name: volume_names
                    .get(src.as_str())
                    .cloned()
                    .unwrap_or_else(|| dns_label(src)),
                mount_path: path.clone(),
                read_only: m.read_only.filter(|r| *r),
                ..VolumeMount::default()
            });
        }
        // Security context.
        let mut sc = SecurityContext {
            privileged: privileged.filter(|p| *p),
            read_only_root_filesystem: readonly_root_filesystem.filter(|r| *r),
            ..SecurityContext::default()
        };
        if let Some(u) = user {
            match parse_user(u) {
                Some((uid, gid)) => {
                    sc.run_as_user = Some(uid);
                    sc.run_as_group = gid;
                }
                None => report.not_carried(&obj, f("user"), format!("user {u:?}: Kubernetes runs containers as numeric IDs only (runAsUser/runAsGroup); give the uid[:gid]")),
            }
        }
        for opt in docker_security_options.iter().flatten() {
            if opt == "no-new-privileges" || opt == "no-new-privileges:true" {
                sc.allow_privilege_escalation = Some(false);
            } else if let Some(profile) = opt.strip_prefix("apparmor:") {
                sc.app_armor_profile = Some(match profile {
                    "unconfined" => AppArmorProfile {
                        type_: "Unconfined".into(),
                        localhost_profile: None,
                    },
                    "runtime/default" | "docker-default" => AppArmorProfile {
                        type_: "RuntimeDefault".into(),
                        localhost_profile: None,
                    },
                    p => AppArmorProfile {
                        type_: "Localhost".into(),
                        localhost_profile: Some(p.into()),
                    },
                });
            } else if let Some(label) = opt.strip_prefix("label:") {
                let se = sc
                    .se_linux_options
                    .get_or_insert_with(SELinuxOptions::default);
                match label.split_once(':') {
                    Some(("user", v)) => se.user = Some(v.into()),
                    Some(("role", v)) => se.role = Some(v.into()),
                    Some(("type", v)) => se.type_ = Some(v.into()),
                    Some(("level", v)) => se.level = Some(v.into()),
                    _ => report.not_carried(
                        &obj,
                        f("dockerSecurityOptions"),
                        format!("{opt:?} has no SELinux option equivalent"),
                    ),
                }
            } else {
                report.not_carried(
                    &obj,
                    f("dockerSecurityOptions"),
                    format!("{opt:?} has no Kubernetes security context equivalent"),
                );
            }
        }
        if let Some(lp) = linux_parameters {
            let crate::api::LinuxParameters {
                capabilities,
                devices,
                init_process_enabled,
                shared_memory_size,
                tmpfs,
                max_swap,
                swappiness,
            } = lp;
            if let Some(caps) = capabilities {
                sc.capabilities = Some(Capabilities {
                    add: caps.add.clone().filter(|a| !a.is_empty()),
                    drop: caps.drop.clone().filter(|d| !d.is_empty()),
                });
            }
            if devices.as_ref().is_some_and(|d| !d.is_empty()) {
                report.not_carried(&obj, f("linuxParameters.devices"), "host devices need a device plugin (or a privileged container with a hostPath volume) on Kubernetes");
            }
            if init_process_enabled == &Some(true) {
                spec.share_process_namespace = Some(true);
                report.approximated(&obj, f("linuxParameters.initProcessEnabled"), "approximated by shareProcessNamespace: the pod's pause process reaps zombies as PID 1, but every container of the pod then sees the others' processes");
            }
            if let Some(size) = shared_memory_size {
                let vname = dns_label(&format!("shm-{k8s_name}"));
                k8s_volumes.push(memory_volume(&vname, *size));
                mounts.push(VolumeMount {
                    name: vname,
                    mount_path: "/dev/shm".into(),
                    ..VolumeMount::default()
                });
            }
            for (j, t) in tmpfs.iter().flatten().enumerate() {
                let vname = dns_label(&format!("tmpfs-{k8s_name}-{j}"));
                k8s_volumes.push(memory_volume(&vname, t.size));
                mounts.push(VolumeMount {
                    name: vname,
                    mount_path: t.container_path.clone(),
                    ..VolumeMount::default()
                });
                if t.mount_options.as_ref().is_some_and(|o| !o.is_empty()) {
                    report.not_carried(
                        &obj,
                        f("linuxParameters.tmpfs"),
                        "tmpfs mount options are not carried (a memory-backed emptyDir has none)",
                    );
                }
            }
            if max_swap.is_some() || swappiness.is_some() {
                report.not_carried(
                    &obj,
                    f("linuxParameters.maxSwap"),
                    "swap is configured per node on Kubernetes, not per container",
                );
            }
        }
        if sc != SecurityContext::default() {
            k.security_context = Some(sc);
        }
        if !mounts.is_empty() {
            mounts_of.insert(name.clone(), mounts.clone());
            k.volume_mounts = Some(mounts);
        }
        // Health checks and probes.
        if let Some(hc) = health_check {
            let healthy_dependency = containers.iter().any(|o| {
                o.depends_on.iter().flatten().any(|d| {
                    &d.container_name == name && d.condition == DependencyCondition::Healthy
                })
            });
            match role {
                Role::Init => report.not_carried(&obj, f("healthCheck"), "this container runs to completion as an init container, where Kubernetes allows no probes"),
                Role::Sidecar if !essential && !healthy_dependency => report.not_carried(&obj, f("healthCheck"), "ECS ignores the health of non-essential containers, so no probe is set"),
                _ => {
                    if essential {
                        k.readiness_probe = Some(health_probe(hc, windows));
                        if workload == Workload::Service {
                            k.liveness_probe = Some(health_probe(hc, windows));
                            report.approximated(&obj, f("healthCheck"), "becomes readiness and liveness probes: ECS replaces an unhealthy task, Kubernetes restarts the unhealthy container in place");
                        }
                    }
                    if hc.start_period.is_some_and(|s| s > 0) || healthy_dependency {
                        k.startup_probe = Some(startup_probe(hc, windows));
                    }
                }
            }
        }
        if restart_policy.as_ref().is_some_and(|r| r.enabled) {
            let rp = restart_policy.as_ref().expect("checked");
            if rp
                .ignored_exit_codes
                .as_ref()
                .is_some_and(|c| !c.is_empty())
                || rp.restart_attempt_period.is_some()
            {
                report.approximated(&obj, f("restartPolicy"), "Kubernetes restarts the container in place on every exit with its own back-off; ignoredExitCodes and restartAttemptPeriod are not carried");
            }
        }
        if depends_on
            .iter()
            .flatten()
            .any(|d| d.condition == DependencyCondition::Complete)
        {
            report.approximated(&obj, f("dependsOn"), "COMPLETE becomes an init container that must succeed: Kubernetes retries (or, for a task, fails) a dependency that exits non-zero, where ECS proceeds");
        }
        if start_timeout.is_some() {
            report.not_carried(
                &obj,
                f("startTimeout"),
                "Kubernetes waits for init containers and sidecars without a timeout",
            );
        }
        if let Some(t) = c_stop_timeout {
            stop_timeout = if stop_timeout_set {
                stop_timeout.max(i64::from(*t))
            } else {
                i64::from(*t)
            };
            stop_timeout_set = true;
            if containers.len() > 1 {
                report.approximated(&obj, f("stopTimeout"), "the grace period is per pod on Kubernetes: the largest stopTimeout of the task applies to every container");
            }
        }
        if let Some(h) = c_hostname {
            match &hostname {
                None if crate::validate::is_dns_label(h) => hostname = Some(h.clone()),
                _ => report.not_carried(&obj, f("hostname"), "the hostname is per pod on Kubernetes and must be a DNS label; only the first container's valid hostname is used"),
            }
        }
        if disable_networking == &Some(true) {
            report.not_carried(&obj, f("disableNetworking"), "containers of a pod share its network; networking cannot be turned off for one container");
        }
        for l in links.iter().flatten() {
            let (target, alias) = l.split_once(':').unwrap_or((l, l));
            let _ = target;
            host_aliases
                .entry("127.0.0.1".into())
                .or_default()
                .push(alias.to_owned());
        }
        if links.as_ref().is_some_and(|l| !l.is_empty()) {
            report.approximated(&obj, f("links"), "containers of a pod reach each other on localhost; each link alias resolves to 127.0.0.1 through hostAliases");
        }
        for h in extra_hosts.iter().flatten() {
            host_aliases
                .entry(h.ip_address.clone())
                .or_default()
                .push(h.hostname.clone());
        }
        if c_dns_servers.as_ref().is_some_and(|d| !d.is_empty())
            || dns_search_domains.as_ref().is_some_and(|d| !d.is_empty())
        {
            dns_servers.extend(c_dns_servers.iter().flatten().cloned());
            dns_searches.extend(dns_search_domains.iter().flatten().cloned());
            report.approximated(&obj, f("dnsServers"), "DNS settings are per pod on Kubernetes (dnsPolicy None with dnsConfig), which also drops cluster DNS for every container");
        }
        for s in system_controls.iter().flatten() {
            if let (Some(n), Some(v)) = (&s.namespace, &s.value) {
                if sysctls.get(n).is_some_and(|old| old != v) {
                    report.approximated(&obj, f("systemControls"), format!("sysctl {n} is set differently by two containers; sysctls are per pod on Kubernetes and the first value is used"));
                } else {
                    sysctls.insert(n.clone(), v.clone());
                }
            }
        }
        for (key, value) in docker_labels.iter().flatten() {
            if is_annotation_key(key) {
                if annotations
                    .get(key)
                    .is_some_and(|old: &String| old != value)
                {
                    report.approximated(&obj, f("dockerLabels"), format!("docker label {key:?} differs between containers; pod annotations are per pod and the first value is kept"));
                } else {
                    annotations
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
            } else {
                report.not_carried(
                    &obj,
                    f("dockerLabels"),
                    format!("docker label {key:?} is not a valid Kubernetes annotation key"),
                );
            }
        }
        if docker_labels.as_ref().is_some_and(|l| !l.is_empty()) {
            report.approximated(&obj, f("dockerLabels"), "docker labels become pod annotations (tools that read container labels must read pod annotations)");
        }
        if ulimits.as_ref().is_some_and(|u| !u.is_empty()) {
            report.not_carried(&obj, f("ulimits"), "Kubernetes has no per-container ulimits (kubernetes/kubernetes#3595); set them in the node's container runtime defaults or an entrypoint wrapper");
        }
        if let Some(log) = log_configuration {
            report.not_carried(&obj, f("logConfiguration"), format!("the {} log driver is not carried: Kubernetes collects container stdout/stderr on the node; route it with a node log agent (for example Fluent Bit to CloudWatch)", log.log_driver));
        }
        if firelens_configuration.is_some() {
            report.approximated(&obj, f("firelensConfiguration"), "the FireLens router runs as an ordinary container; ECS's generated router configuration and the awsfirelens log driver wiring are not carried");
        }
        if credential_specs.as_ref().is_some_and(|c| !c.is_empty()) {
            report.not_carried(&obj, f("credentialSpecs"), "gMSA credential specs need windowsOptions.gmsaCredentialSpecName and a GMSACredentialSpec resource");
        }
        built.push(k);
    }
    // volumesFrom: copy the source container's mounts.
    for (i, c) in containers.iter().enumerate() {
        for vf in c.volumes_from.iter().flatten() {
            let Some(src) = mounts_of.get(&vf.source_container) else {
                continue;
            };
            let extra: Vec<VolumeMount> = src
                .iter()
                .map(|m| VolumeMount {
                    read_only: if vf.read_only == Some(true) {
                        Some(true)
                    } else {
                        m.read_only
                    },
                    ..m.clone()
                })
                .collect();
            let target = built[i].volume_mounts.get_or_insert_with(Vec::new);
            for m in extra {
                if !target.iter().any(|t| t.mount_path == m.mount_path) {
                    target.push(m);
                }
            }
            report.approximated(&obj, format!("spec.containerDefinitions[{}].volumesFrom", c.name), format!("the task-definition volumes of {:?} are mounted at the same paths; volumes declared only in its image (VOLUME) cannot be shared", vf.source_container));
        }
    }

    // Task-level resources → pod-level resources (PodLevelResources, beta and on by default
    // since Kubernetes 1.34).
    let task_cpu = cpu.as_ref().map(|v| (v, units::task_cpu_units(v)));
    let task_mem = memory.as_ref().map(|v| (v, units::task_memory_mib(v)));
    let mut pod_resources = BTreeMap::new();
    if let Some((raw, parsed)) = task_cpu {
        match parsed {
            Some(u) => {
                pod_resources.insert("cpu".to_owned(), units::cpu_quantity(u));
                if sum_cpu_units > u {
                    refusals.push(Refusal::new("spec.cpu", format!("the containers reserve {sum_cpu_units} CPU units, more than the task's {u}; ECS and the Kubernetes API server both refuse this")));
                }
            }
            None => refusals.push(Refusal::new(
                "spec.cpu",
                format!("{raw:?} is not a CPU amount"),
            )),
        }
    }
    if let Some((raw, parsed)) = task_mem {
        match parsed {
            Some(m) => {
                pod_resources.insert("memory".to_owned(), units::memory_quantity(m));
                if sum_mem_request > m {
                    refusals.push(Refusal::new("spec.memory", format!("the containers reserve {sum_mem_request} MiB, more than the task's {m} MiB; ECS and the Kubernetes API server both refuse this")));
                }
            }
            None => refusals.push(Refusal::new(
                "spec.memory",
                format!("{raw:?} is not a memory amount"),
            )),
        }
    }
    if !pod_resources.is_empty() {
        spec.resources = Some(ResourceRequirements {
            requests: Some(pod_resources.clone()),
            limits: Some(pod_resources),
            ..ResourceRequirements::default()
        });
    }
    if let Some(es) = ephemeral_storage {
        let main = roles.iter().position(|r| *r == Role::Main).unwrap_or(0);
        let res = built[main]
            .resources
            .get_or_insert_with(ResourceRequirements::default);
        res.limits.get_or_insert_with(BTreeMap::new).insert(
            "ephemeral-storage".into(),
            units::gib_quantity(es.size_in_gi_b as u64),
        );
        report.approximated(&obj, "spec.ephemeralStorage", format!("Kubernetes limits ephemeral storage per container: the task's {} GiB are the limit of container {:?}; the image does not count against it", es.size_in_gi_b, built[main].name));
    }

    if !host_aliases.is_empty() {
        spec.host_aliases = Some(
            host_aliases
                .into_iter()
                .map(|(ip, mut hostnames)| {
                    hostnames.dedup();
                    HostAlias {
                        ip,
                        hostnames: Some(hostnames),
                    }
                })
                .collect(),
        );
    }
    if !dns_servers.is_empty() || !dns_searches.is_empty() {
        dns_servers.dedup();
        dns_searches.dedup();
        spec.dns_policy = Some("None".into());
        spec.dns_config = Some(PodDNSConfig {
            nameservers: (!dns_servers.is_empty()).then_some(dns_servers),
            searches: (!dns_searches.is_empty()).then_some(dns_searches),
            options: None,
        });
    }
    if !sysctls.is_empty() {
        spec.security_context = Some(k8s_openapi::api::core::v1::PodSecurityContext {
            sysctls: Some(
                sysctls
                    .into_iter()
                    .map(|(name, value)| Sysctl { name, value })
                    .collect(),
            ),
            ..Default::default()
        });
    }
    if !pull_secrets.is_empty() {
        spec.image_pull_secrets = Some(
            pull_secrets
                .into_iter()
                .map(|name| LocalObjectReference { name })
                .collect(),
        );
    }
    spec.hostname = hostname;
    if stop_timeout != 30 {
        spec.termination_grace_period_seconds = Some(stop_timeout);
    }
    let mut slots: Vec<Option<Container>> = built.into_iter().map(Some).collect();
    let init: Vec<Container> = init_order.iter().filter_map(|&i| slots[i].take()).collect();
    spec.init_containers = (!init.is_empty()).then_some(init);
    spec.containers = slots
        .into_iter()
        .enumerate()
        .filter(|(i, _)| roles[*i] == Role::Main)
        .filter_map(|(_, c)| c)
        .collect();
    if spec.containers.is_empty() {
        refusals.push(Refusal::new("spec.containerDefinitions", "every container is a dependency of another (or non-essential), so the pod would have no regular container; Kubernetes needs at least one"));
    }
    if containers.len() > 1 && roles.iter().filter(|r| **r == Role::Main).count() > 0 {
        report.approximated(&obj, "spec.containerDefinitions", "when an essential container exits ECS stops the whole task; Kubernetes restarts that container in place (the operator deletes the pod to match ECS)");
    }
    spec.volumes = (!k8s_volumes.is_empty()).then_some(k8s_volumes);

    if !refusals.is_empty() {
        return Err(refusals);
    }
    Ok(PodTemplate {
        spec,
        annotations,
        container_names,
        task_role_arn: task_role_arn.clone(),
        stop_timeout,
    })
}

fn memory_volume(name: &str, size_mib: i32) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(units::memory_quantity(size_mib.max(0) as u64)),
        }),
        ..Volume::default()
    }
}

fn windows_build(family: &str) -> Option<&'static str> {
    Some(match family {
        f if f.starts_with("WINDOWS_SERVER_2019") => "10.0.17763",
        f if f.starts_with("WINDOWS_SERVER_2022") => "10.0.20348",
        f if f.starts_with("WINDOWS_SERVER_2025") => "10.0.26100",
        "WINDOWS_SERVER_2004_CORE" => "10.0.19041",
        "WINDOWS_SERVER_20H2_CORE" => "10.0.19042",
        _ => return None,
    })
}

/// `uid` or `uid:gid` (numbers only).
fn parse_user(u: &str) -> Option<(i64, Option<i64>)> {
    match u.split_once(':') {
        Some((a, b)) => Some((a.parse().ok()?, Some(b.parse().ok()?))),
        None => Some((u.parse().ok()?, None)),
    }
}

/// An IANA_SVC_NAME: at most 15 lowercase alphanumerics or '-', with a letter, no '--'.
pub fn is_port_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 15
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && n.bytes().any(|b| b.is_ascii_lowercase())
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--")
}

/// A qualified name usable as an annotation key: `[prefix/]name`, name ≤ 63 characters of
/// alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric; prefix a DNS subdomain.
pub fn is_annotation_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    name_ok && prefix.is_none_or(crate::validate::is_dns_subdomain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::report::Fidelity;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn td(spec: serde_json::Value) -> TaskDefinition {
        serde_json::from_value(
            json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": "web"}, "spec": spec}),
        )
        .unwrap()
    }

    fn render(spec: serde_json::Value) -> (PodSpec, Report) {
        let mut report = Report::default();
        let t = pod_template(&td(spec), Workload::Service, &mut report).unwrap();
        (t.spec, report)
    }

    fn yaml(spec: &PodSpec) -> serde_json::Value {
        serde_json::to_value(spec).unwrap()
    }

    #[test]
    fn entry_point_is_the_command_and_command_the_args() {
        let (spec, _) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "nginx@sha256:abc", "entryPoint": ["/bin/app"], "command": ["--port", "80"]}]}));
        assert_eq!(
            yaml(&spec),
            json!({"containers": [{"name": "app", "image": "nginx@sha256:abc",
                "command": ["/bin/app"], "args": ["--port", "80"]}]})
        );
    }

    #[test]
    fn cpu_units_are_requests_only_and_memory_is_limit_with_reservation_as_request() {
        let (spec, _) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1", "cpu": 256, "memory": 1024, "memoryReservation": 512}]}));
        assert_eq!(
            yaml(&spec)["containers"][0]["resources"],
            json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}})
        );
    }

    #[test]
    fn task_level_cpu_and_memory_become_pod_level_resources() {
        let (spec, _) = render(json!({"family": "web", "cpu": "1 vCPU", "memory": "2 GB",
            "containerDefinitions": [{"name": "app", "image": "x@sha256:1"}]}));
        assert_eq!(
            yaml(&spec)["resources"],
            json!({"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}})
        );
    }

    #[test]
    fn container_reservations_above_the_task_size_are_refused() {
        let mut report = Report::default();
        let err = pod_template(
            &td(
                json!({"family": "web", "memory": "512", "containerDefinitions": [
            {"name": "app", "image": "x", "memory": 1024}]}),
            ),
            Workload::Service,
            &mut report,
        )
        .unwrap_err();
        assert_eq!(err[0].field, "spec.memory");
    }

    #[test]
    fn dependencies_become_init_containers_and_native_sidecars_in_order() {
        let (spec, report) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "app@sha256:1", "dependsOn": [
                {"containerName": "migrate", "condition": "SUCCESS"},
                {"containerName": "envoy", "condition": "HEALTHY"}]},
            {"name": "envoy", "image": "envoy@sha256:1", "essential": false,
             "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:9901/ready"], "interval": 5, "startPeriod": 10}},
            {"name": "migrate", "image": "migrate@sha256:1", "essential": false}]}));
        assert_eq!(
            yaml(&spec),
            json!({
                "initContainers": [
                    {"name": "envoy", "image": "envoy@sha256:1", "restartPolicy": "Always",
                     "startupProbe": {"exec": {"command": ["/bin/sh", "-c", "curl -f localhost:9901/ready"]},
                        "periodSeconds": 5, "timeoutSeconds": 5, "failureThreshold": 5, "successThreshold": 1}},
                    {"name": "migrate", "image": "migrate@sha256:1"}
                ],
                "containers": [{"name": "app", "image": "app@sha256:1"}]
            })
        );
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.field == "spec.containerDefinitions[envoy].essential")
        );
    }

    #[test]
    fn a_dependency_cycle_is_refused_with_the_containers_named() {
        let mut report = Report::default();
        let err = pod_template(&td(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x"},
            {"name": "a", "image": "x", "essential": false, "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "essential": false, "dependsOn": [{"containerName": "a", "condition": "START"}]}]})),
            Workload::Service, &mut report).unwrap_err();
        assert!(
            err[0].message.contains("cycle among a, b"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn health_checks_become_exec_probes_with_ecs_defaults() {
        let (spec, _) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1", "healthCheck": {"command": ["CMD", "/health", "-q"], "startPeriod": 60}}]}));
        let probe = json!({"exec": {"command": ["/health", "-q"]}, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3, "successThreshold": 1});
        let c = &yaml(&spec)["containers"][0];
        assert_eq!(c["readinessProbe"], probe);
        assert_eq!(c["livenessProbe"], probe);
        assert_eq!(c["startupProbe"]["failureThreshold"], json!(5));
    }

    #[test]
    fn secrets_become_secret_references_by_the_naming_rule_never_values() {
        assert_eq!(
            secret_ref("arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:password::"),
            (
                SecretKeySelector {
                    name: dns_label("aws-sm-prod/db-AbCdEf"),
                    key: "password".into(),
                    optional: None
                },
                false
            )
        );
        assert_eq!(
            secret_ref("arn:aws:ssm:us-east-1:1:parameter/app/token").0,
            SecretKeySelector {
                name: dns_label("aws-ssm-app/token"),
                key: "value".into(),
                optional: None
            }
        );
        assert_eq!(
            secret_ref("/app/token").0,
            secret_ref("arn:aws:ssm:us-east-1:1:parameter/app/token").0
        );
        assert!(secret_ref("arn:aws:secretsmanager:r:1:secret:db-AbCdEf:k:AWSPREVIOUS:").1);
    }

    #[test]
    fn fields_without_kubernetes_equivalent_are_reported_not_carried() {
        let (_, report) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1", "ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}],
             "logConfiguration": {"logDriver": "awslogs"}}]}));
        let not_carried: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.fidelity == Fidelity::NotCarried)
            .map(|f| f.field.as_ref())
            .collect();
        assert_eq!(
            not_carried,
            [
                "spec.containerDefinitions[app].ulimits",
                "spec.containerDefinitions[app].logConfiguration"
            ]
        );
    }

    #[test]
    fn app_mesh_proxy_configuration_is_refused() {
        let mut report = Report::default();
        let err = pod_template(&td(json!({"family": "web", "proxyConfiguration": {"type": "APPMESH", "containerName": "app"},
            "containerDefinitions": [{"name": "app", "image": "x"}]})), Workload::Service, &mut report).unwrap_err();
        assert_eq!(err[0].field, "spec.proxyConfiguration");
    }

    #[test]
    fn host_networking_publishes_host_ports() {
        let (spec, _) = render(
            json!({"family": "web", "networkMode": "host", "pidMode": "task", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1", "portMappings": [{"containerPort": 8500, "hostPort": 8500}]}]}),
        );
        assert_eq!(
            yaml(&spec),
            json!({"hostNetwork": true, "shareProcessNamespace": true, "containers": [{"name": "app", "image": "x@sha256:1",
                "ports": [{"containerPort": 8500, "hostPort": 8500, "protocol": "TCP"}]}]})
        );
    }
}
