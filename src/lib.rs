//! ecsplane: run Amazon ECS task definitions, services, target groups and ALB listener rules
//! on Kubernetes, with ECS semantics.
//!
//! `api` holds the custom resources; `cli` the command line.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod import;
pub mod input;
pub mod translate;
pub mod validate;
