//! `ecsplane crds`: print the CRDs generated from the Rust types.

use std::process::ExitCode;

/// Arguments of `ecsplane crds`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints every CRD as one multi-document YAML stream.
pub fn run(_: Args) -> ExitCode {
    print!("{}", crate::api::crds_yaml());
    ExitCode::SUCCESS
}
