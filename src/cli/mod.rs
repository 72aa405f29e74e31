//! The `ecsplane` command line: one module per subcommand, each a thin shell over the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod convert;
pub mod crds;
pub mod dns;
pub mod render;
pub mod routes;
pub mod run;

/// Run Amazon ECS task definitions, services, target groups and ALB listener rules on
/// Kubernetes, with ECS semantics.
#[derive(Parser, Debug)]
#[command(name = "ecsplane", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the operator: reconcile every ecsplane kind on the cluster the kubeconfig names.
    Run(run::Args),
    /// Print the CustomResourceDefinitions of every ecsplane kind as YAML.
    Crds(crds::Args),
    /// Render ECS-style manifests (custom resources or AWS JSON) as Kubernetes objects.
    Render(render::Args),
    /// Convert CloudFormation, AWS CLI JSON and Terraform into ecsplane manifests.
    Convert(convert::Args),
    /// Show how each ALB listener rule fares in Ingress, ALB-controller or Gateway API routing.
    Routes(routes::Args),
    /// Print the CoreDNS rewrites that make Cloud Map and Service Connect names with dots
    /// (`orders.prod.local`) answer with the rendered Services.
    Dns(dns::Args),
}

/// Writes `text` on stdout and flushes it. A reader that stops early (`ecsplane crds | head`)
/// closes the pipe; that is not an error, and the rest of the output is dropped quietly.
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written,
    }
}

impl Cli {
    /// Runs the chosen subcommand and returns the process exit code.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Run(args) => run::run(args),
            Command::Crds(args) => crds::run(args),
            Command::Render(args) => render::run(args),
            Command::Convert(args) => convert::run(args),
            Command::Routes(args) => routes::run(args),
            Command::Dns(args) => dns::run(args),
        }
    }
}
