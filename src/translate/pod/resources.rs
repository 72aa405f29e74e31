//! Container `cpu`, `memory`, `memoryReservation` and `resourceRequirements` (GPUs) →
//! container resources; task `cpu` and `memory` → pod-level resources, checked against what
//! the containers reserve.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::At;
use crate::api::{ResourceRequirement, ResourceType};
use crate::translate::Refusal;
use crate::translate::report::Report;
use crate::translate::units;

/// What the containers of a task reserve together, which the task size must cover.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Reserved {
    /// The sum of the containers' CPU units.
    cpu_units: u64,
    /// The sum of the containers' memory requests (reservation, else the hard limit), in MiB.
    memory_mib: u64,
}

/// The resources of one container, built one ECS field at a time.
#[derive(Default)]
pub(super) struct ContainerResources {
    requests: BTreeMap<String, Quantity>,
    limits: BTreeMap<String, Quantity>,
}

impl ContainerResources {
    /// `cpu` (units of 1/1024 vCPU) → a CPU request; on Windows also a limit.
    pub(super) fn cpu(
        &mut self,
        at: At<'_>,
        cpu: Option<i32>,
        windows: bool,
        reserved: &mut Reserved,
        report: &mut Report,
    ) {
        let Some(units) = cpu.and_then(|u| u64::try_from(u).ok()).filter(|u| *u > 0) else {
            return;
        };
        let (_, rounded) = units::cpu_millis(units);
        self.requests
            .insert("cpu".to_owned(), units::cpu_quantity(units));
        reserved.cpu_units += units;
        if windows {
            self.limits
                .insert("cpu".to_owned(), units::cpu_quantity(units));
        }
        if rounded {
            report.approximated(at.obj, at.field("cpu"), format!("{units} CPU units are {:.3} millicores; Kubernetes counts whole millicores, so the request is {}", units as f64 * 1000.0 / 1024.0, units::cpu_quantity(units).0));
        }
    }

    /// `memory` (hard limit) and `memoryReservation` (soft limit) → memory limit and request.
    pub(super) fn memory(
        &mut self,
        memory: Option<i32>,
        memory_reservation: Option<i32>,
        reserved: &mut Reserved,
    ) {
        let soft = memory_reservation.and_then(|m| u64::try_from(m).ok());
        if let Some(hard) = memory.and_then(|m| u64::try_from(m).ok()) {
            self.limits
                .insert("memory".to_owned(), units::memory_quantity(hard));
            let soft = soft.unwrap_or(hard);
            self.requests
                .insert("memory".to_owned(), units::memory_quantity(soft));
            reserved.memory_mib += soft;
        } else if let Some(soft) = soft {
            self.requests
                .insert("memory".to_owned(), units::memory_quantity(soft));
            reserved.memory_mib += soft;
        }
    }

    /// `resourceRequirements` → GPU limits; inference accelerators are refused.
    pub(super) fn resource_requirements(
        &mut self,
        at: At<'_>,
        requirements: Option<&[ResourceRequirement]>,
        refusals: &mut Vec<Refusal>,
    ) {
        for r in requirements.into_iter().flatten() {
            match r.type_ {
                ResourceType::Gpu => {
                    self.limits
                        .insert("nvidia.com/gpu".to_owned(), Quantity(r.value.clone()));
                }
                ResourceType::InferenceAccelerator => refusals.push(Refusal::new(at.field("resourceRequirements"), "Elastic Inference accelerators are retired by AWS and have no Kubernetes equivalent")),
            }
        }
    }

    /// The container's resources, if any were set.
    pub(super) fn build(self) -> Option<ResourceRequirements> {
        let Self { requests, limits } = self;
        (!requests.is_empty() || !limits.is_empty()).then(|| ResourceRequirements {
            requests: (!requests.is_empty()).then_some(requests),
            limits: (!limits.is_empty()).then_some(limits),
            ..ResourceRequirements::default()
        })
    }
}

/// Task-level `cpu` and `memory` → pod-level resources (PodLevelResources, beta and on by
/// default since Kubernetes 1.34), refused when the containers reserve more.
pub(super) fn task_resources(
    cpu: Option<&IntOrString>,
    memory: Option<&IntOrString>,
    reserved: Reserved,
    spec: &mut PodSpec,
    refusals: &mut Vec<Refusal>,
) {
    let Reserved {
        cpu_units: sum_cpu_units,
        memory_mib: sum_mem_request,
    } = reserved;
    let mut pod_resources = BTreeMap::new();
    if let Some(raw) = cpu {
        match units::task_cpu_units(raw) {
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
    if let Some(raw) = memory {
        match units::task_memory_mib(raw) {
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
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render, td, yaml};
    use super::super::{Workload, pod_template};
    use crate::translate::report::Report;
    use pretty_assertions::assert_eq;
    use serde_json::json;

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
}
