//! Tests against a real kube-apiserver, controller-manager, scheduler, kwok nodes and
//! metrics-server, started on loopback by `tests/harness/controlplane.sh` (see harness.rs).

mod harness;
mod process;

mod bad_input;
mod caches;
mod capacity;
mod chaos;
mod chart;
mod convert;
mod crds;
mod deployment_settings;
mod examples;
mod faults;
mod networking;
mod operator;
mod operator_process;
mod ownership;
mod render;
mod scaling;
mod scheduled;
mod service_semantics;
