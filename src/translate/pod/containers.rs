//! One ECS container definition → one Kubernetes container. [`container`] destructures every
//! field of [`ContainerDefinition`] and hands each to the function of its concern, in this file
//! or in the concern files beside it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ContainerPort, SecurityContext, Volume, VolumeMount};

use super::pod_wide::PodWide;
use super::resources::{ContainerResources, Reserved};
use super::{At, Context, Role, env, probes, security, volumes};
use crate::api::{
    ContainerDefinition, ContainerDependency, ContainerRestartPolicy, DependencyCondition,
    FirelensConfiguration, LinuxParameters, LogConfiguration, NetworkMode, PortMapping,
    TransportProtocol, Ulimit, VersionConsistency,
};
use crate::translate::Refusal;
use crate::translate::report::Report;

/// What the containers contribute beyond themselves, used once every container is built.
#[derive(Default)]
pub(super) struct Contributions {
    /// Fields that are per pod on Kubernetes.
    pub(super) pod_wide: PodWide,
    /// What the containers reserve together.
    pub(super) reserved: Reserved,
    /// ECS container name → its volume mounts, for `volumesFrom`.
    pub(super) mounts_of: BTreeMap<String, Vec<VolumeMount>>,
    /// The memory-backed volumes of shared memory and tmpfs, in container order.
    pub(super) memory_volumes: Vec<Volume>,
}

/// Translates container `i` of the task definition.
pub(super) fn container(
    ctx: &Context<'_>,
    i: usize,
    acc: &mut Contributions,
    report: &mut Report,
    refusals: &mut Vec<Refusal>,
) -> Container {
    let ContainerDefinition {
        name,
        image,
        repository_credentials,
        cpu,
        memory,
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
        volumes_from: _, // resolved after every container's own mounts are known (volumes.rs)
        linux_parameters,
        secrets,
        depends_on,
        start_timeout,
        stop_timeout,
        version_consistency,
        hostname,
        user,
        working_directory,
        disable_networking,
        privileged,
        readonly_root_filesystem,
        dns_servers,
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
    } = &ctx.containers[i];
    let at = At {
        obj: ctx.obj,
        container: name,
    };
    let k8s_name = dns_name(ctx, at, name, report);
    let essential = essential.unwrap_or(true);
    let role = ctx.roles[i];
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
    k.restart_policy = role_in_pod(ctx, at, role, essential, depends_on.as_deref(), report);
    image_pinning(at, image, *version_consistency, report);
    if let Some(creds) = repository_credentials {
        acc.pod_wide.repository_credentials(at, creds, report);
    }

    let mut resources = ContainerResources::default();
    resources.cpu(at, *cpu, ctx.windows, &mut acc.reserved, report);
    resources.memory(*memory, *memory_reservation, &mut acc.reserved);
    resources.resource_requirements(at, resource_requirements.as_deref(), refusals);
    k.resources = resources.build();

    k.env = env::env(at, environment.as_deref(), secrets.as_deref(), report);
    k.env_from = env::env_from(at, environment_files.as_deref(), report);
    k.ports = ports(at, port_mappings.as_deref(), ctx.network_mode, report);

    let mut mounts = volumes::mount_points(at, mount_points.as_deref(), ctx.volume_names, report);
    let mut sc = security::security_context(
        at,
        *privileged,
        *readonly_root_filesystem,
        user.as_deref(),
        docker_security_options.as_deref(),
        report,
    );
    if let Some(lp) = linux_parameters {
        apply_linux_parameters(at, &k8s_name, lp, &mut sc, &mut mounts, acc, report);
    }
    if sc != SecurityContext::default() {
        k.security_context = Some(sc);
    }
    if !mounts.is_empty() {
        acc.mounts_of.insert(name.clone(), mounts.clone());
        k.volume_mounts = Some(mounts);
    }
    if let Some(hc) = health_check {
        probes::health_check(ctx, at, hc, role, essential, &mut k, report);
    }

    lifecycle(
        at,
        restart_policy.as_ref(),
        depends_on.as_deref(),
        *start_timeout,
        report,
    );
    if let Some(t) = stop_timeout {
        let several = ctx.containers.len() > 1;
        acc.pod_wide.stop_timeout(at, *t, several, report);
    }
    if let Some(h) = hostname {
        acc.pod_wide.hostname(at, h, report);
    }
    if disable_networking == &Some(true) {
        report.not_carried(at.obj, at.field("disableNetworking"), "containers of a pod share its network; networking cannot be turned off for one container");
    }
    acc.pod_wide.links(at, links.as_deref(), report);
    acc.pod_wide.extra_hosts(extra_hosts.as_deref());
    acc.pod_wide.dns(
        at,
        dns_servers.as_deref(),
        dns_search_domains.as_deref(),
        report,
    );
    acc.pod_wide
        .system_controls(at, system_controls.as_deref(), report);
    acc.pod_wide
        .docker_labels(at, docker_labels.as_ref(), report);
    without_equivalent(
        at,
        ulimits.as_deref(),
        log_configuration.as_ref(),
        firelens_configuration.as_ref(),
        credential_specs.as_deref(),
        report,
    );
    k
}

/// The Kubernetes name of the container (a DNS label), reported when it differs.
fn dns_name(ctx: &Context<'_>, at: At<'_>, name: &str, report: &mut Report) -> String {
    let k8s_name = ctx.container_names[name].clone();
    if k8s_name != name {
        report.approximated(
            at.obj,
            at.field("name"),
            format!(
                "container names must be DNS labels on Kubernetes: {name:?} becomes {k8s_name:?}"
            ),
        );
    }
    k8s_name
}

/// `essential` and `dependsOn` as the container's role in the pod decides them: the
/// restartPolicy of a native sidecar, and what differs from ECS.
fn role_in_pod(
    ctx: &Context<'_>,
    at: At<'_>,
    role: Role,
    essential: bool,
    depends_on: Option<&[ContainerDependency]>,
    report: &mut Report,
) -> Option<String> {
    if role == Role::Main
        && depends_on.into_iter().flatten().any(|d| {
            matches!(
                d.condition,
                DependencyCondition::Start | DependencyCondition::Healthy
            ) && ctx
                .containers
                .iter()
                .position(|o| o.name == d.container_name)
                .is_some_and(|t| ctx.roles[t] == Role::Main)
        })
    {
        report.approximated(at.obj, at.field("dependsOn"), "this non-essential container waits (START/HEALTHY) for an essential container; both stay regular containers, which Kubernetes starts without waiting for one another");
    }
    if role != Role::Sidecar {
        return None;
    }
    if essential {
        report.approximated(at.obj, at.field("essential"), "this essential container is a dependency (START/HEALTHY) of another, so it runs as a native sidecar that Kubernetes restarts when it exits; ECS would stop the whole task");
    } else {
        report.approximated(at.obj, at.field("essential"), "a non-essential container runs as a native sidecar: it starts before the essential containers and Kubernetes restarts it when it exits, where ECS leaves a stopped non-essential container stopped");
    }
    Some("Always".into())
}

/// `image` and `versionConsistency`: ECS pins a tag to a digest per deployment, Kubernetes
/// does not.
fn image_pinning(
    at: At<'_>,
    image: &str,
    version_consistency: Option<VersionConsistency>,
    report: &mut Report,
) {
    if !image.contains('@') && version_consistency != Some(VersionConsistency::Disabled) {
        report.approximated(at.obj, at.field("image"), "ECS pins the image tag to a digest for each deployment; the manifest (rendered or applied by the operator) uses the tag as is: each node resolves it when it pulls, so a tag moved during a rollout can mix images in one service; pin a digest in the image to avoid it");
    }
}

/// `portMappings` → container ports (host ports only with host networking).
fn ports(
    at: At<'_>,
    port_mappings: Option<&[PortMapping]>,
    network_mode: Option<NetworkMode>,
    report: &mut Report,
) -> Option<Vec<ContainerPort>> {
    let mut ports: Vec<ContainerPort> = Vec::new();
    for p in port_mappings.into_iter().flatten() {
        let Some(port) = p.container_port else {
            report.not_carried(at.obj, at.field("portMappings"), format!("containerPortRange {:?}: Kubernetes container ports and Services cannot express ranges", p.container_port_range.as_deref().unwrap_or("")));
            continue;
        };
        let protocol = match p.protocol {
            Some(TransportProtocol::Udp) => "UDP",
            _ => "TCP",
        };
        if ports
            .iter()
            .any(|q| q.container_port == port && q.protocol.as_deref() == Some(protocol))
        {
            report.approximated(
                at.obj,
                at.field("portMappings"),
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
                report.approximated(at.obj, at.field("portMappings"), format!("port name {n:?} is not a valid (unique, at most 15 lowercase characters) Kubernetes port name; the port is left unnamed"));
            }
        }
        match (network_mode, p.host_port) {
            (Some(NetworkMode::Host), _) => cp.host_port = Some(port),
            (_, Some(h)) if h != 0 && network_mode == Some(NetworkMode::Bridge) => {
                report.approximated(at.obj, at.field("portMappings"), format!("hostPort {h} is not carried: pods have their own IP, reach the container on port {port}"));
            }
            _ => {}
        }
        ports.push(cp);
    }
    (!ports.is_empty()).then_some(ports)
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

/// `linuxParameters`: capabilities into the security context, shared memory and tmpfs as
/// memory-backed volumes and mounts, the init process as the pod's shared process namespace;
/// devices and swap are not carried.
fn apply_linux_parameters(
    at: At<'_>,
    k8s_name: &str,
    lp: &LinuxParameters,
    sc: &mut SecurityContext,
    mounts: &mut Vec<VolumeMount>,
    acc: &mut Contributions,
    report: &mut Report,
) {
    let LinuxParameters {
        capabilities,
        devices,
        init_process_enabled,
        shared_memory_size,
        tmpfs,
        max_swap,
        swappiness,
    } = lp;
    if let Some(caps) = capabilities {
        sc.capabilities = Some(security::capabilities(caps));
    }
    if devices.as_ref().is_some_and(|d| !d.is_empty()) {
        report.not_carried(at.obj, at.field("linuxParameters.devices"), "host devices need a device plugin (or a privileged container with a hostPath volume) on Kubernetes");
    }
    if init_process_enabled == &Some(true) {
        acc.pod_wide.init_process(at, report);
    }
    let shm = shared_memory_size.map(|size| volumes::shared_memory(k8s_name, size));
    let tmpfs = volumes::tmpfs(at, k8s_name, tmpfs.as_deref(), report);
    for (volume, mount) in shm.into_iter().chain(tmpfs) {
        acc.memory_volumes.push(volume);
        mounts.push(mount);
    }
    if max_swap.is_some() || swappiness.is_some() {
        report.not_carried(
            at.obj,
            at.field("linuxParameters.maxSwap"),
            "swap is configured per node on Kubernetes, not per container",
        );
    }
}

/// `restartPolicy`, `dependsOn` (COMPLETE) and `startTimeout`: what Kubernetes does
/// differently when a container exits or starts slowly.
fn lifecycle(
    at: At<'_>,
    restart_policy: Option<&ContainerRestartPolicy>,
    depends_on: Option<&[ContainerDependency]>,
    start_timeout: Option<i32>,
    report: &mut Report,
) {
    if let Some(rp) = restart_policy.filter(|r| r.enabled)
        && (rp
            .ignored_exit_codes
            .as_ref()
            .is_some_and(|c| !c.is_empty())
            || rp.restart_attempt_period.is_some())
    {
        report.approximated(at.obj, at.field("restartPolicy"), "Kubernetes restarts the container in place on every exit with its own back-off; ignoredExitCodes and restartAttemptPeriod are not carried");
    }
    if depends_on
        .into_iter()
        .flatten()
        .any(|d| d.condition == DependencyCondition::Complete)
    {
        report.approximated(at.obj, at.field("dependsOn"), "COMPLETE becomes an init container that must succeed: Kubernetes retries (or, for a task, fails) a dependency that exits non-zero, where ECS proceeds");
    }
    if start_timeout.is_some() {
        report.not_carried(
            at.obj,
            at.field("startTimeout"),
            "Kubernetes waits for init containers and sidecars without a timeout",
        );
    }
}

/// `ulimits`, `logConfiguration`, `firelensConfiguration` and `credentialSpecs`: no Kubernetes
/// container field stands for them.
fn without_equivalent(
    at: At<'_>,
    ulimits: Option<&[Ulimit]>,
    log_configuration: Option<&LogConfiguration>,
    firelens_configuration: Option<&FirelensConfiguration>,
    credential_specs: Option<&[String]>,
    report: &mut Report,
) {
    if ulimits.is_some_and(|u| !u.is_empty()) {
        report.not_carried(at.obj, at.field("ulimits"), "Kubernetes has no per-container ulimits (kubernetes/kubernetes#3595); set them in the node's container runtime defaults or an entrypoint wrapper");
    }
    if let Some(LogConfiguration {
        log_driver,
        options: _, // options of the driver, which is not carried
        secret_options,
    }) = log_configuration
    {
        // The driver is not carried, so its secretOptions are neither: they never become a
        // value (nor a reference) anywhere in the pod.
        let secrets = if secret_options.as_ref().is_some_and(|s| !s.is_empty()) {
            " (nor its options and secretOptions: configure the agent's credentials from the same secrets)"
        } else {
            ""
        };
        report.not_carried(at.obj, at.field("logConfiguration"), format!("the {log_driver} log driver is not carried{secrets}: Kubernetes collects container stdout/stderr on the node; route it with a node log agent (for example Fluent Bit to CloudWatch)"));
    }
    if firelens_configuration.is_some() {
        report.approximated(at.obj, at.field("firelensConfiguration"), "the FireLens router runs as an ordinary container; ECS's generated router configuration and the awsfirelens log driver wiring are not carried");
    }
    if credential_specs.is_some_and(|c| !c.is_empty()) {
        report.not_carried(at.obj, at.field("credentialSpecs"), "gMSA credential specs need windowsOptions.gmsaCredentialSpecName and a GMSACredentialSpec resource");
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render, yaml};
    use crate::translate::report::Fidelity;
    use pretty_assertions::assert_eq;
    use serde_json::json;

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
}
