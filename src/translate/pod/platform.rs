//! Task-level settings: network, PID and IPC modes, the runtime platform (OS and CPU
//! architecture as node selectors), and the task fields that only mean something inside AWS.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodOS, PodSpec};

use crate::api::{
    CpuArchitecture, IpcMode, NetworkMode, PidMode, ProxyConfiguration, RuntimePlatform, Tag,
};
use crate::translate::Refusal;
use crate::translate::report::{ObjectRef, Report};

/// Whether the runtime platform is a Windows family.
pub(super) fn is_windows(platform: Option<&RuntimePlatform>) -> bool {
    platform
        .and_then(|p| p.operating_system_family.as_deref())
        .is_some_and(|f| f.starts_with("WINDOWS"))
}

/// `status`, `executionRoleArn` and `taskRoleArn`: what ECS does with them that Kubernetes does
/// differently (the task role itself becomes the ServiceAccount, built by the caller).
pub(super) fn aws_roles_and_status(
    obj: &ObjectRef,
    status: Option<&str>,
    execution_role_arn: Option<&str>,
    task_role_arn: Option<&str>,
    report: &mut Report,
) {
    if let Some(s) = status
        && s != "ACTIVE"
    {
        report.approximated(obj, "spec.status", format!("the task definition is {s} in ECS, where no new service or task may use it; ecsplane renders it anyway"));
    }
    if execution_role_arn.is_some() {
        report.not_carried(obj, "spec.executionRoleArn", "the ECS agent's role (image pulls, secret fetches) is never given to the application; on Kubernetes the node (or the ECR credential provider) pulls images and External Secrets reads the secrets with its own role");
    }
    if task_role_arn.is_some() {
        report.approximated(obj, "spec.taskRoleArn", "becomes a ServiceAccount annotated eks.amazonaws.com/role-arn (IRSA); the role's trust policy must trust the cluster's OIDC provider instead of ecs-tasks.amazonaws.com");
    }
}

/// `networkMode`, `pidMode` and `ipcMode` → the pod's host namespaces.
pub(super) fn namespaces(
    obj: &ObjectRef,
    network_mode: Option<NetworkMode>,
    pid_mode: Option<PidMode>,
    ipc_mode: Option<IpcMode>,
    spec: &mut PodSpec,
    report: &mut Report,
) {
    match network_mode {
        None | Some(NetworkMode::Awsvpc) => {}
        Some(NetworkMode::Host) => spec.host_network = Some(true),
        Some(NetworkMode::Bridge) => report.approximated(obj, "spec.networkMode", "bridge networking becomes pod networking: containers share one network namespace and reach each other on localhost; dynamic host ports are not used (each pod has its own IP)"),
        Some(NetworkMode::None) => report.not_carried(obj, "spec.networkMode", "Kubernetes pods always have a network interface; networkMode none cannot be reproduced"),
    }
    match pid_mode {
        None => {}
        Some(PidMode::Host) => spec.host_pid = Some(true),
        Some(PidMode::Task) => spec.share_process_namespace = Some(true),
    }
    match ipc_mode {
        None | Some(IpcMode::Task) => {} // containers of a pod share one IPC namespace
        Some(IpcMode::Host) => spec.host_ipc = Some(true),
        Some(IpcMode::None) => report.approximated(obj, "spec.ipcMode", "the containers of a pod always share one IPC namespace; private IPC namespaces (none) are not available"),
    }
}

/// `proxyConfiguration` and `inferenceAccelerators`: refused, since the pod would behave
/// differently in a way that matters (traffic bypassing the proxy, no accelerator).
pub(super) fn refused(
    proxy_configuration: Option<&ProxyConfiguration>,
    inference_accelerators: Option<&serde_json::Value>,
    refusals: &mut Vec<Refusal>,
) {
    if let Some(p) = proxy_configuration {
        refusals.push(Refusal::new("spec.proxyConfiguration", format!("App Mesh proxy configuration (container {:?}) has no Kubernetes equivalent: traffic would bypass the proxy. Remove it and use a service mesh's injection (Istio, Linkerd) instead", p.container_name)));
    }
    if inference_accelerators
        .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
    {
        refusals.push(Refusal::new("spec.inferenceAccelerators", "Elastic Inference accelerators are retired by AWS and have no Kubernetes equivalent; use GPUs (resourceRequirements)"));
    }
}

/// `enableFaultInjection` and `tags`: AWS-only, not carried.
pub(super) fn aws_only(
    obj: &ObjectRef,
    enable_fault_injection: Option<bool>,
    tags: Option<&[Tag]>,
    report: &mut Report,
) {
    if enable_fault_injection == Some(true) {
        report.not_carried(
            obj,
            "spec.enableFaultInjection",
            "AWS Fault Injection Service works only inside AWS",
        );
    }
    if tags.is_some_and(|t| !t.is_empty()) {
        report.not_carried(obj, "spec.tags", "AWS resource tags have no effect on Kubernetes objects; put labels on the custom resource instead");
    }
}

/// `runtimePlatform` → the pod's OS and node selectors for OS, Windows build and CPU
/// architecture.
pub(super) fn runtime_platform(
    obj: &ObjectRef,
    platform: &RuntimePlatform,
    windows: bool,
    spec: &mut PodSpec,
    report: &mut Report,
) {
    let RuntimePlatform {
        cpu_architecture,
        operating_system_family,
    } = platform;
    let mut selector = BTreeMap::new();
    if let Some(family) = operating_system_family {
        let os = if windows { "windows" } else { "linux" };
        selector.insert("kubernetes.io/os".to_owned(), os.to_owned());
        spec.os = Some(PodOS { name: os.into() });
        if windows {
            match windows_build(family) {
                Some(build) => {
                    selector.insert("node.kubernetes.io/windows-build".to_owned(), build.to_owned());
                }
                None => report.approximated(obj, "spec.runtimePlatform.operatingSystemFamily", format!("{family} has no known Windows build number; only kubernetes.io/os=windows is required")),
            }
        }
    }
    if let Some(arch) = cpu_architecture {
        selector.insert(
            "kubernetes.io/arch".to_owned(),
            match arch {
                CpuArchitecture::X86_64 => "amd64",
                CpuArchitecture::Arm64 => "arm64",
            }
            .to_owned(),
        );
    }
    if !selector.is_empty() {
        spec.node_selector = Some(selector);
    }
}

/// The `node.kubernetes.io/windows-build` of an ECS Windows operating system family.
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{render, td, yaml};
    use super::super::{Workload, pod_template};
    use crate::translate::report::Report;
    use pretty_assertions::assert_eq;
    use serde_json::json;

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
