//! The container image: the Dockerfile cannot be built here (no container engine), so these
//! tests tie it to what can be checked. The Dockerfile builds with scripts/build-static, and
//! that script (run by the ignored test below, or by hand) builds the same binary outside a
//! container and proves it static and working.

use std::path::PathBuf;
use std::process::Command;

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The value of `NAME=...` or `NAME = "..."` in a file, unquoted.
fn setting(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix(name)?.trim_start();
            let value = rest.strip_prefix('=')?.trim();
            Some(value.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| panic!("no {name}= line"))
}

/// The Dockerfile's build stage uses the pinned toolchain and builds with scripts/build-static,
/// copying the binary from that script's target directory; so the image's binary has the
/// target and RUSTFLAGS the script checks.
#[test]
fn dockerfile_builds_the_binary_with_the_script_and_toolchain_that_are_verified_here() {
    let dockerfile = repo_file("Dockerfile");
    let script = repo_file("scripts/build-static");
    let toolchain = repo_file("rust-toolchain.toml");

    let channel = setting(&toolchain, "channel");
    let target = setting(&script, "TARGET");
    assert_eq!(target, "x86_64-unknown-linux-musl");
    assert_eq!(
        setting(&script, "export RUSTFLAGS"),
        "-C target-feature=+crt-static"
    );

    let build_from = dockerfile
        .lines()
        .find(|l| l.starts_with("FROM ") && l.ends_with(" AS build"))
        .expect("a build stage");
    assert!(
        build_from.contains(&format!("rust:{channel}-")),
        "the build stage uses Rust {channel} like rust-toolchain.toml: {build_from}"
    );
    assert!(dockerfile.contains(&format!("rustup target add {target}")));
    assert!(
        dockerfile.contains("RUN scripts/build-static"),
        "the image's binary is built by scripts/build-static"
    );
    assert!(dockerfile.contains(&format!("target/{target}/release/ecsplane")));
}

/// The runtime stage has no shell and runs the binary as the numeric non-root user the
/// chart's pod security context expects.
#[test]
fn dockerfile_runtime_is_shell_less_non_root_and_matches_the_chart_user() {
    let dockerfile = repo_file("Dockerfile");
    let runtime: Vec<&str> = dockerfile
        .rsplit_once("\nFROM ")
        .expect("a runtime stage")
        .1
        .lines()
        .collect();
    let base = runtime[0];
    assert!(
        base.starts_with("gcr.io/distroless/static") || base == "scratch",
        "the runtime image has no shell: {base}"
    );
    assert!(
        runtime.contains(&"USER 65532:65532"),
        "numeric non-root user"
    );
    assert!(runtime.contains(&r#"ENTRYPOINT ["/ecsplane"]"#));
    assert!(
        !runtime.iter().any(|l| l.starts_with("RUN ")),
        "nothing runs in the runtime stage (it has no shell)"
    );

    let values = repo_file("charts/ecsplane/values.yaml");
    assert_eq!(setting(&values.replace(": ", "="), "runAsUser"), "65532");
    assert_eq!(setting(&values.replace(": ", "="), "runAsGroup"), "65532");
}

/// scripts/build-static builds the release binary for the Dockerfile's target with its flags
/// and checks it: no program interpreter, no shared libraries, `--version` and `crds` work.
/// A release build takes several minutes on two cores, so this is opt-in:
/// `cargo test --test container_image -- --ignored`.
#[test]
#[ignore = "a release build takes several minutes; run with --ignored"]
fn static_release_binary_builds_without_shared_libraries_and_runs() {
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-static"))
        .output()
        .expect("run scripts/build-static");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/build-static failed:\n{stderr}"
    );
    assert!(
        stderr.contains("static: no program interpreter, no NEEDED libraries"),
        "{stderr}"
    );
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(String::from_utf8(out.stdout).unwrap().trim());
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        format!("ecsplane {}", env!("CARGO_PKG_VERSION"))
    );
    // `file` (when installed) agrees that it is statically linked.
    if let Ok(file) = Command::new("file").arg(&bin).output() {
        let description = String::from_utf8_lossy(&file.stdout);
        assert!(
            description.contains("statically linked") || description.contains("static-pie linked"),
            "{description}"
        );
    }
}
