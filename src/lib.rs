//! ecsplane: run Amazon ECS task definitions, services, target groups and ALB listener rules
//! on Kubernetes, with ECS semantics.
//!
//! `api` holds the custom resources, `translate` the pure translation to Kubernetes objects,
//! `controller` the operator that applies it, `runtime` the process around it (`ecsplane run`),
//! `import` the converters, `cli` the command line.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod controller;
pub mod import;
pub mod input;
pub mod runtime;
pub mod translate;
pub mod validate;
