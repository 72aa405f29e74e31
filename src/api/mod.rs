//! The ecsplane API: group `ecsplane.io`, version `v1alpha1`, seven namespaced kinds.
//!
//! Each kind's `spec` mirrors the AWS API request it stands for, with the AWS field names in
//! lowerCamelCase and the AWS value formats, so existing JSON pastes under `spec:` unchanged.
//! The Rust types are the single source of truth: `ecsplane crds` prints the CRDs generated
//! from them, and `crds/` holds a committed copy that a test keeps identical.

// kube's `printcolumn(name = .., type_ = "string", ..)` arguments repeat on purpose; clippy
// reads the repeated `type_` as a duplicated attribute.
#![allow(clippy::duplicated_attributes)]

pub mod cluster;
pub mod common;
pub mod listener;
pub mod scheduled_task;
pub mod service;
pub mod target_group;
pub mod task;
pub mod task_definition;

#[cfg(test)]
mod rules_tests;

pub use cluster::*;
pub use common::*;
pub use listener::*;
pub use scheduled_task::*;
pub use service::*;
pub use target_group::*;
pub use task::*;
pub use task_definition::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every ecsplane kind.
pub const GROUP: &str = "ecsplane.io";
/// API version of every ecsplane kind.
pub const VERSION: &str = "v1alpha1";

/// Every CRD of the API, in a stable order (the order `ecsplane crds` prints them in).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        EcsCluster::crd(),
        TaskDefinition::crd(),
        TargetGroup::crd(),
        Listener::crd(),
        EcsService::crd(),
        EcsTask::crd(),
        EcsScheduledTask::crd(),
    ]
}

/// The CRDs as one multi-document YAML stream, as committed under `crds/`.
pub fn crds_yaml() -> String {
    crds()
        .iter()
        .map(|crd| serde_saphyr::to_string(crd).expect("a CRD always serializes to YAML"))
        .collect::<Vec<_>>()
        .join("---\n")
}
