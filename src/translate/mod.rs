//! Pure translation from ecsplane resources to Kubernetes objects plus a fidelity report.
//! No client: the CLI (`render`) and the operator call the same functions.

pub mod autoscaling;
pub mod bundle;
pub mod cql;
pub mod identity;
pub mod listener;
pub mod model;
pub mod names;
pub mod placement;
pub mod pod;
pub mod report;
pub mod rollout;
pub mod routing;
pub mod service;
pub mod target_group;
pub mod task;
pub mod units;

mod translation;

pub use model::{Object, Options, Refusal, Translation, service_key};
pub use translation::{translate, translate_with};
