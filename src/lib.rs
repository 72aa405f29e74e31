//! ecsplane: run Amazon ECS task definitions, services, target groups and ALB listener rules
//! on Kubernetes, with ECS semantics.
//!
//! The modules, lowest layer first; each imports only layers below it:
//! - `api`: the custom resources;
//! - `validate`: checking a resource as the API server would (schema and CEL rules);
//! - `translate`: the pure translation to Kubernetes objects, with its input model
//!   (`translate::bundle`);
//! - `load`: reading the files a user passes into a bundle;
//! - `import`: the converters from AWS CLI JSON, CloudFormation and Terraform;
//! - `controller`: the operator that applies the translation;
//! - `runtime`: the process around it (`ecsplane run`);
//! - `cli`: the command line.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod controller;
pub mod import;
pub mod load;
pub mod runtime;
pub mod translate;
pub mod validate;
