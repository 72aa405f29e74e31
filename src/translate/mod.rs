//! Pure translation from ecsplane resources to Kubernetes objects plus a fidelity report.
//! No client: the CLI (`render`) and the operator call the same functions.

pub mod names;
pub mod report;
pub mod routing;
