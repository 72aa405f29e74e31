//! Pure translation from ecsplane resources to Kubernetes objects plus a fidelity report.
//! No client: the CLI (`render`) and the operator call the same functions.
//!
//! Layout, from the input to the output:
//! - [`bundle`]: the input model: a [`bundle::Bundle`] of typed resources, where each came
//!   from ([`bundle::Origin`]: a file and document, or a cluster object) and the errors;
//! - [`model`]: the shared types of every translator: [`Object`], [`Translation`],
//!   [`Refusal`], [`Options`], the [`model::Index`] over the bundle, common labels;
//! - `translation`: the one entry point, [`translate`] / [`translate_with`], which runs the
//!   translators below in order and collects objects, report and errors;
//! - the translators, one per kind: [`service`] (EcsService → Deployment or DaemonSet),
//!   [`task`] (EcsTask → Pods), [`scheduled`] (EcsScheduledTask → CronJob, with
//!   [`schedule`] converting EventBridge schedules), [`target_group`] (TargetGroup → Service), [`listener`]
//!   (Listener → routes, through [`routing`]);
//! - what they share: [`pod`] (task definition → pod template), [`placement`] (placement,
//!   capacity providers and the cluster → scheduling fields, with [`cql`] for memberOf
//!   expressions and [`capacity`] for the base/weight split of tasks among providers),
//!   [`identity`] (task role → ServiceAccount), [`rollout`]
//!   (deploymentConfiguration → rolling bounds and update strategies, daemon rules),
//!   [`autoscaling`] (→ HPA), [`units`] (CPU and memory), [`names`] (references and
//!   generated names), [`report`] (the fidelity report).
//!
//! Imports point down this list and never out of `translate` except to [`crate::api`] and
//! [`crate::validate`]: the translation knows nothing of files, importers or the cluster.
//! To change how minimumHealthyPercent maps, open [`rollout`]; how a container maps,
//! [`pod`]; how a placement strategy maps, [`placement`].

pub mod autoscaling;
pub mod binding;
pub mod bundle;
pub mod capacity;
pub mod cql;
pub mod discovery;
pub mod identity;
pub mod listener;
pub mod model;
pub mod names;
pub mod placement;
pub mod pod;
pub mod report;
pub mod rollout;
pub mod routing;
pub mod scaling;
pub mod schedule;
pub mod scheduled;
pub mod security;
pub mod service;
pub mod target_group;
pub mod task;
pub mod units;

mod translation;

pub use model::{Object, Options, Refusal, Translation, service_key};
pub use translation::{translate, translate_with};
