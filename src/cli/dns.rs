//! `ecsplane dns`: the CoreDNS `rewrite` lines that make the dotted names clients call today
//! (Cloud Map `orders.prod.local`, Service Connect aliases with dots) answer with the
//! Services `render` makes. Same inputs and flags as `render`; prints the stanza on stdout
//! (nothing when no name needs one), errors as `render` does.

use std::io::Write;
use std::process::ExitCode;

use super::render;
use crate::translate::discovery;

/// Arguments of `ecsplane dns`: those of `render` (whose group is the only one: two groups
/// named `Args` made clap's debug assertions panic at start).
#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct Args {
    #[command(flatten)]
    render: render::Args,
}

/// Runs `ecsplane dns`.
pub fn run(args: Args) -> ExitCode {
    match render::render(&args.render) {
        Ok(t) => {
            let ns = args.render.namespace.as_deref().unwrap_or("default");
            let text = discovery::coredns_rewrites(&discovery::rewrites(&t.objects, ns));
            if let Err(e) = super::write_stdout(&text) {
                let _ = writeln!(std::io::stderr(), "error: writing to stdout: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            let _ = write!(std::io::stderr(), "{errors}");
            let _ = writeln!(
                std::io::stderr(),
                "{} error(s); nothing printed",
                errors.0.len()
            );
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dns_command_line_passes_clap_s_own_checks() {
        use clap::Args as _;
        Args::augment_args(clap::Command::new("dns")).debug_assert();
    }
}
