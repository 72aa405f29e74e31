use clap::Parser;

/// mimalloc instead of the system allocator: translation is mostly allocation (k8s-openapi
/// structs, labels, the report), and with glibc's malloc 45 % of its instructions were in
/// malloc and free. docs/performance.md has the figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ecsplane::cli::Cli::parse().run()
}
