//! One ECS container definition → one Kubernetes container. [`container`] destructures every
//! field of [`ContainerDefinition`] and hands each to the function of its concern, in this file
//! or in the concern files beside it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerRestartRule, ContainerRestartRuleOnExitCodes,
    SecurityContext, Volume, VolumeMount,
};

use super::pod_wide::PodWide;
use super::resources::{ContainerResources, Reserved};
use super::{
    ANNOTATION_NON_ESSENTIAL, At, Context, RESTART_RULES, Role, Workload, env, probes, security,
    volumes,
};
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
    let ecs_restarts = restart_policy.as_ref().is_some_and(|p| p.enabled);
    k.restart_policy = role_in_pod(
        ctx,
        at,
        Exit {
            role,
            essential,
            ecs_restarts,
        },
        depends_on.as_deref(),
        report,
    );
    if let Some(p) = restart_policy.as_ref().filter(|p| p.enabled) {
        ecs_restart_policy(ctx, at, role, p, &mut k, report);
    }
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

    lifecycle(at, depends_on.as_deref(), *start_timeout, report);
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

/// What decides what happens when a container exits: its role in the pod, `essential`, and
/// whether its ECS `restartPolicy` is enabled.
#[derive(Clone, Copy)]
struct Exit {
    role: Role,
    essential: bool,
    ecs_restarts: bool,
}

/// How ECS treats the exit of a non-essential container, for the report.
fn ecs_on_exit(ecs_restarts: bool) -> &'static str {
    if ecs_restarts {
        "as its ECS restartPolicy does"
    } else {
        "where ECS leaves a stopped non-essential container stopped"
    }
}

/// What a service's pod loses while one of its containers is stopped or waiting to restart:
/// every container of a pod counts towards its readiness, native sidecars included.
const NOT_READY_WHILE_STOPPED: &str = "while it is stopped or waiting to restart \
    (CrashLoopBackOff) the pod is not Ready, so it leaves its target groups' Services and counts \
    as unavailable in a rollout, where ECS keeps the task running and registered";

/// `essential` and `dependsOn` as the container's role in the pod decides them: the
/// restartPolicy of a native sidecar, and what differs from ECS when the container exits
/// ("essential": <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_environment>).
fn role_in_pod(
    ctx: &Context<'_>,
    at: At<'_>,
    exit: Exit,
    depends_on: Option<&[ContainerDependency]>,
    report: &mut Report,
) -> Option<String> {
    let Exit {
        role,
        essential,
        ecs_restarts,
    } = exit;
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
    match (role, essential, ctx.workload) {
        (Role::Init, ..) | (Role::Main, true, _) => None,
        (Role::Main, false, Workload::Service) => {
            report.approximated(at.obj, at.field("essential"), format!("this non-essential container stays a regular container (see its dependsOn), and the pod's restartPolicy is Always: Kubernetes restarts it when it exits, {}; {NOT_READY_WHILE_STOPPED}. A container-level restartPolicy Never ({RESTART_RULES}) would leave it stopped as ECS does, but the pod would then stay not Ready until it is replaced, so none is set; the pod annotation {ANNOTATION_NON_ESSENTIAL} names it, so that its exit does not stop the task", ecs_on_exit(ecs_restarts)));
            None
        }
        (Role::Main, false, Workload::Task) => {
            let stays = if ecs_restarts {
                ""
            } else {
                "the pod's restartPolicy is Never, so Kubernetes leaves it stopped, and "
            };
            report.note(at.obj, at.field("essential"), format!("this non-essential container stays a regular container (see its dependsOn); as on ECS its exit stops nothing: {stays}the pod annotation {ANNOTATION_NON_ESSENTIAL} names it, so that its exit does not stop the task"));
            None
        }
        (Role::Sidecar, true, _) => {
            let ecs = if ecs_restarts {
                "ECS would restart it too (restartPolicy), but stop the whole task on an exit its restartPolicy does not restart"
            } else {
                "ECS would stop the whole task"
            };
            report.approximated(at.obj, at.field("essential"), format!("this essential container is a dependency (START/HEALTHY) of another, so it runs as a native sidecar that Kubernetes restarts when it exits; {ecs}"));
            Some("Always".into())
        }
        (Role::Sidecar, false, workload) => {
            let mut message = format!(
                "a non-essential container runs as a native sidecar: it starts before the essential containers and Kubernetes restarts it when it exits, {}",
                ecs_on_exit(ecs_restarts)
            );
            match workload {
                Workload::Service => {
                    message.push_str("; ");
                    message.push_str(NOT_READY_WHILE_STOPPED);
                }
                Workload::Task => message
                    .push_str(" (a native sidecar is restarted whatever the pod's restartPolicy)"),
            }
            report.approximated(at.obj, at.field("essential"), message);
            Some("Always".into())
        }
    }
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

/// An enabled ECS `restartPolicy` (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-restart-policy.html>):
/// in a task's pod (restartPolicy Never) a regular container gets a container-level
/// restartPolicy that restarts it in place as ECS does; elsewhere Kubernetes already restarts
/// it, or (an init container) runs it to completion.
fn ecs_restart_policy(
    ctx: &Context<'_>,
    at: At<'_>,
    role: Role,
    policy: &ContainerRestartPolicy,
    k: &mut Container,
    report: &mut Report,
) {
    let ContainerRestartPolicy {
        enabled: _, // only an enabled policy is handed here
        ignored_exit_codes,
        restart_attempt_period,
    } = policy;
    let ignored = ignored_exit_codes.as_deref().unwrap_or_default();
    let period = match restart_attempt_period {
        Some(p) => format!("{p} s"),
        None => "300 s, ECS's default".to_owned(),
    };
    let period = format!(
        "restartAttemptPeriod ({period}) is not carried: Kubernetes restarts after every exit, however short the run, with its own back-off (10 s doubling to 5 min)"
    );
    let field = at.field("restartPolicy");
    match (role, ctx.workload) {
        (Role::Init, workload) => {
            let how = match workload {
                Workload::Service => "retries only when it fails",
                Workload::Task => "never restarts (the pod's restartPolicy is Never)",
            };
            report.not_carried(at.obj, field, format!("this container runs to completion as an init container, which Kubernetes {how}; the ECS restartPolicy is not carried"));
        }
        (Role::Main, Workload::Task) => {
            let how = if ignored.is_empty() {
                k.restart_policy = Some("Always".into());
                "restartPolicy Always".to_owned()
            } else {
                k.restart_policy = Some("Never".into());
                k.restart_policy_rules = Some(vec![ContainerRestartRule {
                    action: "Restart".into(),
                    exit_codes: Some(ContainerRestartRuleOnExitCodes {
                        operator: "NotIn".into(),
                        values: Some(ignored.to_vec()),
                    }),
                }]);
                format!(
                    "restartPolicy Never with a Restart rule for every exit code but {ignored:?}"
                )
            };
            report.approximated(at.obj, field, format!("the pod of a task has restartPolicy Never; the container's own {how} restarts it in place as ECS does ({RESTART_RULES}; where it is off the API server drops the field and the container is not restarted); {period}"));
        }
        (Role::Main, Workload::Service) | (Role::Sidecar, _) => {
            let codes = if ignored.is_empty() {
                String::new()
            } else {
                format!(
                    "ignoredExitCodes {ignored:?} are not carried (ECS leaves the container stopped on those, Kubernetes restarts it); "
                )
            };
            report.approximated(
                at.obj,
                field,
                format!("Kubernetes restarts the container in place as ECS does; {codes}{period}"),
            );
        }
    }
}

/// `dependsOn` (COMPLETE) and `startTimeout`: what Kubernetes does differently when a
/// dependency exits or starts slowly.
fn lifecycle(
    at: At<'_>,
    depends_on: Option<&[ContainerDependency]>,
    start_timeout: Option<i32>,
    report: &mut Report,
) {
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
    use super::super::test_support::{render, render_as, yaml};
    use super::super::{ANNOTATION_NON_ESSENTIAL, Workload};
    use crate::translate::report::{Fidelity, Report};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    /// The message of the finding about `field`, which must be the only one.
    fn message<'a>(report: &'a Report, field: &str) -> &'a str {
        let found: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.field == field)
            .map(|f| f.message.as_ref())
            .collect();
        assert_eq!(found.len(), 1, "one finding on {field}: {report}");
        found[0]
    }

    // ECS: "If the essential parameter of a container is marked as false, its failure doesn't
    // affect the rest of the containers in a task"
    // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_environment).
    // A non-essential container that waits (START) for the only essential one stays a regular
    // container beside it.
    fn warmer() -> serde_json::Value {
        json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "app@sha256:1"},
            {"name": "warmer", "image": "warmer@sha256:1", "essential": false,
             "dependsOn": [{"containerName": "app", "condition": "START"}]}]})
    }

    #[test]
    fn a_non_essential_regular_container_of_a_service_is_reported_restarted_and_unready() {
        let (t, report) = render_as(warmer(), Workload::Service);
        let spec = yaml(&t.spec);
        assert_eq!(
            spec["containers"],
            json!([{"name": "app", "image": "app@sha256:1"}, {"name": "warmer", "image": "warmer@sha256:1"}]),
            "both regular, with no container-level restartPolicy (the pod would stay not Ready)"
        );
        assert_eq!(t.annotations[ANNOTATION_NON_ESSENTIAL], "warmer");
        let m = message(&report, "spec.containerDefinitions[warmer].essential");
        for part in [
            "Kubernetes restarts it when it exits, where ECS leaves a stopped non-essential container stopped",
            "the pod is not Ready, so it leaves its target groups' Services",
            "restartPolicy Never (a container-level restartPolicy needs the ContainerRestartRules feature, beta and on by default since Kubernetes 1.35)",
            "ecsplane.io/non-essential-containers",
        ] {
            assert!(m.contains(part), "{part:?} in {m}");
        }
    }

    #[test]
    fn a_non_essential_regular_container_of_a_task_stays_stopped_as_on_ecs() {
        let (t, report) = render_as(warmer(), Workload::Task);
        assert_eq!(t.annotations[ANNOTATION_NON_ESSENTIAL], "warmer");
        let f = report
            .findings
            .iter()
            .find(|f| f.field == "spec.containerDefinitions[warmer].essential")
            .expect("a line for warmer");
        assert_eq!(f.fidelity, Fidelity::Exact, "{}", f.message);
        assert!(
            f.message
                .contains("the pod's restartPolicy is Never, so Kubernetes leaves it stopped"),
            "{}",
            f.message
        );
    }

    #[test]
    fn no_report_line_of_a_task_says_kubernetes_restarts_a_regular_container() {
        let (_, report) = render_as(
            json!({"family": "job", "containerDefinitions": [
                {"name": "main", "image": "x@sha256:1",
                 "healthCheck": {"command": ["CMD", "true"]}},
                {"name": "second", "image": "x@sha256:1"},
                {"name": "log", "image": "x@sha256:1", "essential": false}]}),
            Workload::Task,
        );
        let m = message(&report, "spec.containerDefinitions");
        assert!(
            m.contains(
                "the pod's restartPolicy is Never, so Kubernetes leaves that container stopped"
            ),
            "{m}"
        );
        for f in &report.findings {
            assert!(
                !f.message.contains("restarts that container in place")
                    && !f.message.contains("restarts the unhealthy container"),
                "{f:?}"
            );
        }
        let sidecar = message(&report, "spec.containerDefinitions[log].essential");
        assert!(
            sidecar.contains("whatever the pod's restartPolicy") && !sidecar.contains("Services"),
            "{sidecar}"
        );
    }

    #[test]
    fn an_ecs_restart_policy_restarts_a_task_container_in_place() {
        // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-restart-policy.html:
        // ECS restarts the container in place, except on ignoredExitCodes; by default only
        // after it ran 300 s.
        let (t, report) = render_as(
            json!({"family": "job", "containerDefinitions": [
                {"name": "main", "image": "x@sha256:1", "restartPolicy": {"enabled": true}},
                {"name": "worker", "image": "x@sha256:1",
                 "restartPolicy": {"enabled": true, "ignoredExitCodes": [0, 3], "restartAttemptPeriod": 60}}]}),
            Workload::Task,
        );
        let spec = yaml(&t.spec);
        assert_eq!(spec["containers"][0]["restartPolicy"], json!("Always"));
        assert_eq!(spec["containers"][1]["restartPolicy"], json!("Never"));
        assert_eq!(
            spec["containers"][1]["restartPolicyRules"],
            json!([{"action": "Restart", "exitCodes": {"operator": "NotIn", "values": [0, 3]}}])
        );
        let m = message(&report, "spec.containerDefinitions[main].restartPolicy");
        assert!(
            m.contains("restartPolicy Always restarts it in place")
                && m.contains("restartAttemptPeriod (300 s, ECS's default) is not carried"),
            "{m}"
        );
        let m = message(&report, "spec.containerDefinitions[worker].restartPolicy");
        assert!(
            m.contains("a Restart rule for every exit code but [0, 3]")
                && m.contains("restartAttemptPeriod (60 s)"),
            "{m}"
        );
    }

    #[test]
    fn an_ecs_restart_policy_of_a_service_container_reports_what_kubernetes_ignores() {
        let (t, report) = render_as(
            json!({"family": "web", "containerDefinitions": [
                {"name": "app", "image": "x@sha256:1", "restartPolicy": {"enabled": true, "ignoredExitCodes": [0]}},
                {"name": "other", "image": "x@sha256:1", "restartPolicy": {"enabled": false, "ignoredExitCodes": [0]}}]}),
            Workload::Service,
        );
        assert_eq!(yaml(&t.spec)["containers"][0].get("restartPolicy"), None);
        let m = message(&report, "spec.containerDefinitions[app].restartPolicy");
        assert!(
            m.contains("ignoredExitCodes [0] are not carried")
                && m.contains("restartAttemptPeriod (300 s, ECS's default)"),
            "{m}"
        );
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.field == "spec.containerDefinitions[other].restartPolicy"),
            "a disabled policy is ECS's default: nothing to say"
        );
        let m = message(&report, "spec.containerDefinitions");
        assert!(
            m.contains("unless the container's restartPolicy restarts it in place"),
            "{m}"
        );
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
