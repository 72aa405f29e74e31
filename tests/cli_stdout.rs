//! Every subcommand that writes on stdout stops quietly when its reader goes away, as in
//! `ecsplane crds | head`.

use std::process::{Command, Stdio};

/// Runs `ecsplane ARGS` with stdout a pipe whose read end is closed before it starts, so its
/// first write fails with a broken pipe.
fn run_into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_ecsplane"))
        .args(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("ecsplane runs")
}

#[test]
fn crds_into_a_closed_pipe_exits_quietly() {
    let out = run_into_closed_pipe(&["crds"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn render_and_routes_into_a_closed_pipe_exit_without_a_panic() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render/many-rules.yaml");
    for args in [
        ["render", "-f", fixture].as_slice(),
        ["routes", "-f", fixture, "--objects"].as_slice(),
    ] {
        let out = run_into_closed_pipe(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}
