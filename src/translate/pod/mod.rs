//! TaskDefinition → pod template.
//!
//! Each field is translated exactly (no finding), approximated (a finding saying what differs)
//! or not carried (a finding saying why).
//!
//! # Where each field is decided
//!
//! [`pod_template`] (here) orchestrates; each concern has its own file:
//! - `platform`: task-level settings: network, PID and IPC modes, runtime platform, and the
//!   task fields that only mean something inside AWS (roles, status, tags, proxy, fault
//!   injection).
//! - `containers`: one ECS container definition → one Kubernetes container (image, command,
//!   ports, role in the pod, linuxParameters, lifecycle, logging and the other fields without
//!   an equivalent), calling the concern files below.
//! - `resources`: container cpu, memory and GPUs, task cpu and memory (pod-level resources).
//! - `env`: environment, secrets and environment files, and their naming rules.
//! - `volumes`: task volumes, mountPoints, volumesFrom, shared memory, tmpfs, ephemeral storage.
//! - `security`: the container security context (privileged, user, dockerSecurityOptions,
//!   capabilities).
//! - `probes`: health checks → readiness, liveness and startup probes.
//! - `pod_wide`: container fields that are per pod on Kubernetes (hostname, links, extraHosts,
//!   DNS, sysctls, docker labels, stopTimeout, registry credentials).
//!
//! # Every ECS field forces a decision
//!
//! [`TaskDefinitionSpec`] is destructured without `..` in [`pod_template`], and
//! [`ContainerDefinition`] without `..` in `containers::container`; the nested structs that are
//! translated field by field (`Volume`, `LinuxParameters`) likewise where they are handled. A
//! field added to one of these API structs is therefore a compile error until someone names it
//! there. Each named field is handed to the function of its concern as an argument (concern
//! functions do not take the whole struct), so a field bound by name and not passed on is an
//! unused variable, which `clippy -D warnings` refuses; a field deliberately left out is written
//! `field: _` with a comment saying why or where it is handled.
//!
//! # Naming rules
//!
//! Documented here because users create the referenced objects:
//! - **Secrets** ([`secret_ref`]): an ECS secret `valueFrom` becomes a key of a Kubernetes
//!   Secret, never a value. Secrets Manager
//!   `arn:...:secret:NAME[:json-key[:version-stage[:version-id]]]` → Secret
//!   `dns_label("aws-sm-" + NAME)` for the current version (no stage and no id, or the stage
//!   `AWSCURRENT` alone), else `dns_label("aws-sm-" + NAME + ":" + STAGE + ":" + ID)` with the
//!   stage and id as written (either may be empty), so each version is its own Secret; NAME
//!   includes the 6-character suffix of the ARN; key = `json-key`, or `value` for the whole
//!   secret string. SSM parameters (`NAME`, `/path/NAME` or `arn:...:parameter/path/NAME`) →
//!   Secret `dns_label("aws-ssm-" + path)`, key `value`. External Secrets Operator (or the
//!   ecsplane operator) fills these Secrets; for a version, from that version
//!   (`remoteRef.version`: the stage, or `uuid/ID`).
//! - **Environment files**: an S3 `environmentFiles` entry → ConfigMap
//!   `dns_label("aws-s3-" + bucket/key)` used through `envFrom`.
//! - **Registry credentials**: `repositoryCredentials.credentialsParameter` → imagePullSecret
//!   named like a Secrets Manager secret above.
//!
//! # Exits and restarts
//!
//! ECS stops the task when an essential container exits (unless its restartPolicy restarts it)
//! and ignores a non-essential container's exit. Kubernetes restarts regular containers by the
//! pod's restartPolicy (Always for a service, Never for a task) and native sidecars always,
//! and a pod is Ready only while every one of its containers is. What differs is reported per
//! container and workload; the operator reads [`ANNOTATION_NON_ESSENTIAL`] to tell the regular
//! containers whose exit must not stop the task.

mod containers;
mod env;
mod platform;
mod pod_wide;
mod probes;
mod resources;
mod security;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, PodSpec};

pub use containers::is_port_name;
pub use env::{env_file_config_map, secret_ref};
pub use pod_wide::is_annotation_key;
pub use probes::{health_probe, startup_probe};

use crate::api::{
    ContainerDefinition, DependencyCondition, NetworkMode, TaskDefinition, TaskDefinitionSpec,
};
use crate::translate::Refusal;
use crate::translate::names::dns_label;
use crate::translate::report::{ObjectRef, Report};

/// Pod annotation naming (comma-separated, Kubernetes names) the regular containers of the pod
/// that are not essential: ECS ignores their exit, so the operator must not stop the task when
/// one of them exits. Set only when there is one (a non-essential container that waits for an
/// essential one stays a regular container; the others are native sidecars or init
/// containers).
pub const ANNOTATION_NON_ESSENTIAL: &str = "ecsplane.io/non-essential-containers";

/// The Kubernetes feature a container-level restartPolicy of a regular container needs, for
/// the report (`ContainerRestartRules`:
/// <https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restart-rules>).
const RESTART_RULES: &str = "a container-level restartPolicy needs the ContainerRestartRules feature, beta and on by default since Kubernetes 1.35";

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
    /// Pod annotations (docker labels, [`ANNOTATION_NON_ESSENTIAL`]).
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
        container_definitions: containers,
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
    let windows = platform::is_windows(runtime_platform.as_ref());
    platform::aws_roles_and_status(
        &obj,
        status.as_deref(),
        execution_role_arn.as_deref(),
        task_role_arn.as_deref(),
        report,
    );
    platform::namespaces(&obj, *network_mode, *pid_mode, *ipc_mode, &mut spec, report);
    platform::refused(
        proxy_configuration.as_ref(),
        inference_accelerators.as_ref(),
        &mut refusals,
    );
    platform::aws_only(&obj, *enable_fault_injection, tags.as_deref(), report);
    if let Some(p) = runtime_platform {
        platform::runtime_platform(&obj, p, windows, &mut spec, report);
    }

    let task_volumes = volumes.as_deref().unwrap_or_default();
    let mut k8s_volumes = volumes::task_volumes(&obj, task_volumes, report);
    let volume_names = volumes::volume_names(task_volumes);

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
    let ctx = Context {
        obj: &obj,
        containers,
        roles: &roles,
        container_names: &container_names,
        volume_names: &volume_names,
        network_mode: *network_mode,
        windows,
        workload,
    };
    let mut contributed = containers::Contributions::default();
    // Sized up front: a Container is over 1 KB, so growing the list would copy them.
    let mut built: Vec<Container> = Vec::with_capacity(containers.len());
    for i in 0..containers.len() {
        built.push(containers::container(
            &ctx,
            i,
            &mut contributed,
            report,
            &mut refusals,
        ));
    }
    let containers::Contributions {
        pod_wide,
        reserved,
        mounts_of,
        memory_volumes,
    } = contributed;
    volumes::volumes_from(&obj, containers, &mounts_of, &mut built, report);
    k8s_volumes.extend(memory_volumes);

    resources::task_resources(
        cpu.as_ref(),
        memory.as_ref(),
        reserved,
        &mut spec,
        &mut refusals,
    );
    if let Some(es) = ephemeral_storage {
        volumes::ephemeral_storage(&obj, es, &roles, &mut built, report);
    }
    let (annotations, stop_timeout) = pod_wide.apply(&mut spec);
    place(built, &roles, &init_order, &mut spec);
    if spec.containers.is_empty() {
        refusals.push(Refusal::new("spec.containerDefinitions", "every container is a dependency of another (or non-essential), so the pod would have no regular container; Kubernetes needs at least one"));
    }
    if containers.len() > 1 && roles.contains(&Role::Main) {
        essential_exit(&obj, containers, &roles, workload, report);
    }
    spec.volumes = (!k8s_volumes.is_empty()).then_some(k8s_volumes);
    let mut annotations = annotations;
    let non_essential: Vec<&str> = containers
        .iter()
        .zip(&roles)
        .filter(|(c, r)| **r == Role::Main && c.essential == Some(false))
        .map(|(c, _)| container_names[&c.name].as_str())
        .collect();
    if !non_essential.is_empty() {
        annotations.insert(ANNOTATION_NON_ESSENTIAL.to_owned(), non_essential.join(","));
    }

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

/// What Kubernetes does when an essential regular container exits, where ECS stops the whole
/// task unless the container's restartPolicy restarts it: the pod's restartPolicy (Always for a
/// service, Never for a task) decides, and the operator deletes the pod.
fn essential_exit(
    obj: &ObjectRef,
    containers: &[ContainerDefinition],
    roles: &[Role],
    workload: Workload,
    report: &mut Report,
) {
    let restarts = containers.iter().zip(roles).any(|(c, r)| {
        *r == Role::Main
            && c.essential.unwrap_or(true)
            && c.restart_policy.as_ref().is_some_and(|p| p.enabled)
    });
    let message = match (workload, restarts) {
        (Workload::Service, false) => {
            "when an essential container exits ECS stops the whole task; Kubernetes restarts that container in place (the operator deletes the pod to match ECS)"
        }
        (Workload::Service, true) => {
            "when an essential container exits ECS stops the whole task, unless the container's restartPolicy restarts it in place; Kubernetes restarts it in place (the pod's restartPolicy is Always) and the operator deletes the pod to match ECS, also after an exit that the ECS restartPolicy restarts in place"
        }
        (Workload::Task, false) => {
            "when an essential container exits ECS stops the whole task; the pod's restartPolicy is Never, so Kubernetes leaves that container stopped while the other containers keep running (the operator deletes the pod to match ECS; a pod applied without the operator runs until its last container exits)"
        }
        (Workload::Task, true) => {
            "when an essential container exits ECS stops the whole task, unless the container's restartPolicy restarts it in place; the pod's restartPolicy is Never, so Kubernetes leaves a container stopped unless its own restartPolicy restarts it (see its restartPolicy), while the other containers keep running (the operator deletes the pod to match ECS, also after a restart in place; a pod applied without the operator runs until its last container exits)"
        }
    };
    report.approximated(obj, "spec.containerDefinitions", message);
}

/// What every container's translation reads about the task: shared by the concern files.
struct Context<'a> {
    /// The task definition, for findings.
    obj: &'a ObjectRef,
    /// Every container definition, in the task definition's order.
    containers: &'a [ContainerDefinition],
    /// The role of each container (same index).
    roles: &'a [Role],
    /// ECS container name → Kubernetes container name.
    container_names: &'a BTreeMap<String, String>,
    /// ECS volume name → Kubernetes volume name.
    volume_names: &'a BTreeMap<&'a str, String>,
    /// The task's network mode.
    network_mode: Option<NetworkMode>,
    /// Whether the task runs on Windows.
    windows: bool,
    /// What the pod is for.
    workload: Workload,
}

/// Where a finding about one container points: `spec.containerDefinitions[NAME].FIELD` of the
/// task definition.
#[derive(Clone, Copy)]
struct At<'a> {
    /// The task definition.
    obj: &'a ObjectRef,
    /// The container's ECS name.
    container: &'a str,
}

impl At<'_> {
    /// The path of `field` of this container.
    fn field(&self, field: &str) -> String {
        format!("spec.containerDefinitions[{}].{field}", self.container)
    }
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

/// Puts the built containers (in the task definition's order) where the plan says: the init
/// containers and sidecars in `init_order`, then the regular containers.
fn place(built: Vec<Container>, roles: &[Role], init_order: &[usize], spec: &mut PodSpec) {
    let mut slots: Vec<Option<Container>> = built.into_iter().map(Some).collect();
    let init: Vec<Container> = init_order.iter().filter_map(|&i| slots[i].take()).collect();
    spec.init_containers = (!init.is_empty()).then_some(init);
    spec.containers = slots
        .into_iter()
        .enumerate()
        .filter(|(i, _)| roles[*i] == Role::Main)
        .filter_map(|(_, c)| c)
        .collect();
}

/// Task definitions and their rendering for the tests of every concern file.
#[cfg(test)]
mod test_support {
    use k8s_openapi::api::core::v1::PodSpec;
    use serde_json::json;

    use super::{PodTemplate, Workload, pod_template};
    use crate::api::TaskDefinition;
    use crate::translate::report::Report;

    pub(super) fn td(spec: serde_json::Value) -> TaskDefinition {
        serde_json::from_value(
            json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": "web"}, "spec": spec}),
        )
        .unwrap()
    }

    pub(super) fn render(spec: serde_json::Value) -> (PodSpec, Report) {
        let (t, report) = render_as(spec, Workload::Service);
        (t.spec, report)
    }

    /// The pod template for `workload` (annotations included) and its report.
    pub(super) fn render_as(spec: serde_json::Value, workload: Workload) -> (PodTemplate, Report) {
        let mut report = Report::default();
        let t = pod_template(&td(spec), workload, &mut report).unwrap();
        (t, report)
    }

    pub(super) fn yaml(spec: &PodSpec) -> serde_json::Value {
        serde_json::to_value(spec).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{render, td, yaml};
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

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
}
