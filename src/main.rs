use clap::Parser;

fn main() -> std::process::ExitCode {
    ecsplane::cli::Cli::parse().run()
}
