//! `ecsplane crds`: print the CRDs generated from the Rust types.

use std::process::ExitCode;

/// Arguments of `ecsplane crds`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Prints every CRD as one multi-document YAML stream.
pub fn run(_: Args) -> ExitCode {
    match super::write_stdout(&crate::api::crds_yaml()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}
