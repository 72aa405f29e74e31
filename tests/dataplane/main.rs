//! Routing proven through a real data plane: HTTP requests through Envoy (configured by
//! Contour) or Traefik for the routes `ecsplane render` and `routing::compile` produce, in the
//! `ingress` and `gateway` profiles, answered by stand-in backends that name their target
//! group; every request whose ALB rule is reported exact must reach what the ALB model picks.
//!
//! The API server refuses loopback addresses in EndpointSlices, so the data plane needs pod
//! addresses that are not 127.x; they exist only inside a network namespace of its own that
//! has nothing but `lo` (`controlplane.sh up --data-plane`). This binary starts that control
//! plane (or uses `ECSPLANE_TEST_DATAPLANE_DIR`), re-runs itself inside the namespace, and
//! stops the control plane afterwards. Its own runner (`harness = false`) prints libtest's
//! lines.
//!
//! Settings (environment): `ECSPLANE_DATA_PLANE` = `contour` (default) or `traefik`
//! (`controlplane.sh build-traefik` first); `ECSPLANE_DATAPLANE_CASES` random listeners per
//! profile (default 12), `ECSPLANE_DATAPLANE_REQUESTS` requests per listener (30),
//! `ECSPLANE_DATAPLANE_REPEAT` requests per weighted forward (200), `ECSPLANE_DATAPLANE_SEED`
//! (1).
//! docs/routing.md has the benchmark run's settings and counts.

mod cases;
mod property;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use ecsplane::translate::routing::Profile;

use crate::world::{Tally, World};

/// Set (to the state dir) in the copy of this binary that runs inside the namespace.
const INSIDE: &str = "ECSPLANE_DATAPLANE_INSIDE";

#[derive(Clone, Copy, Debug)]
enum Case {
    Examples(Profile),
    ManyRules(Profile),
    UnitTestListeners(Profile),
    RandomListeners(Profile),
}

impl Case {
    fn all() -> Vec<Case> {
        let mut out = Vec::new();
        for p in [Profile::Ingress, Profile::Gateway] {
            out.extend([
                Case::Examples(p),
                Case::ManyRules(p),
                Case::UnitTestListeners(p),
                Case::RandomListeners(p),
            ]);
        }
        out
    }

    fn profile(self) -> Profile {
        match self {
            Case::Examples(p)
            | Case::ManyRules(p)
            | Case::UnitTestListeners(p)
            | Case::RandomListeners(p) => p,
        }
    }

    fn name(self) -> String {
        match self {
            Case::Examples(p) => format!("the_examples_listener_routes_like_the_alb_in_{p}"),
            Case::ManyRules(p) => format!("the_many_rules_listener_routes_like_the_alb_in_{p}"),
            Case::UnitTestListeners(p) => {
                format!("the_routing_unit_test_listeners_route_like_the_alb_in_{p}")
            }
            Case::RandomListeners(p) => format!("random_rule_sets_route_like_the_alb_in_{p}"),
        }
    }
}

struct Settings {
    cases: usize,
    requests: usize,
    repeat: usize,
    seed: u64,
}

fn number(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|e| panic!("{var}={v} is not a number: {e}")),
        Err(_) => default,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for c in Case::all() {
            println!("{}: test", c.name());
        }
        return ExitCode::SUCCESS;
    }
    // The first argument that is neither a libtest flag nor a flag's value filters by name.
    // `--skip X` leaves out names containing X.
    let mut filter = None;
    let mut skip = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        if a == "--skip" {
            skip.extend(rest.next().cloned());
        } else if ["--test-threads", "--format", "--color", "--logfile", "-Z"].contains(&a.as_str())
        {
            rest.next();
        } else if !a.starts_with('-') && filter.is_none() {
            filter = Some(a.clone());
        }
    }
    match std::env::var_os(INSIDE) {
        Some(dir) => inside(Path::new(&dir), filter.as_deref(), &skip),
        None => outside(&args),
    }
}

/// Starts the control plane with its data plane (unless one is given), runs this binary again
/// inside its network namespace, and stops it.
fn outside(args: &[String]) -> ExitCode {
    let data_plane = std::env::var("ECSPLANE_DATA_PLANE").unwrap_or_else(|_| "contour".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/harness/controlplane.sh");
    let (dir, watcher) = match std::env::var("ECSPLANE_TEST_DATAPLANE_DIR") {
        Ok(d) => {
            eprintln!("using the data plane of ECSPLANE_TEST_DATAPLANE_DIR={d}");
            (PathBuf::from(d), None)
        }
        Err(_) => {
            let dir = std::env::temp_dir().join(format!("ecsplane-test-dp.{}", std::process::id()));
            eprintln!(
                "starting a control plane with data plane {data_plane} in {}",
                dir.display()
            );
            // Stops it if this process dies before its own `down` below.
            let watcher = Command::new("setsid")
                .args(["bash", "-c", r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; bash "$2" down "$3" >/dev/null 2>&1"#, "watch"])
                .arg(std::process::id().to_string())
                .arg(&script)
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the control-plane watcher");
            let up = Command::new("bash")
                .arg(&script)
                .args(["up", "--data-plane", &data_plane])
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .expect("run controlplane.sh up");
            if !up.success() {
                // `up` stopped what it started and kept the state dir for inspection.
                let mut watcher = watcher;
                let _ = watcher.kill();
                let _ = watcher.wait();
                eprintln!(
                    "controlplane.sh up --data-plane {data_plane} failed: see the lines above; \
                     remove the state with `{} down {}`",
                    script.display(),
                    dir.display()
                );
                return ExitCode::FAILURE;
            }
            (dir, Some(watcher))
        }
    };
    let status = Command::new("nsenter")
        .arg(format!("--net={}", dir.join("netns").display()))
        .arg("--")
        .arg(std::env::current_exe().expect("this binary"))
        .args(args)
        .env(INSIDE, &dir)
        .status()
        .expect("run the tests inside the data plane's network namespace");
    if let Some(mut watcher) = watcher {
        let _ = Command::new("bash")
            .arg(&script)
            .arg("down")
            .arg(&dir)
            .status();
        // Stopped: the watcher (ours, by its id) has nothing left to do.
        let _ = watcher.kill();
        let _ = watcher.wait();
    }
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Refuses to run anywhere but in a network namespace that has only `lo`: no request of
/// these tests can then reach anything but this machine's own namespace.
fn assert_isolated() {
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("run ip -o link show");
    let links: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1).map(str::to_owned))
        .collect();
    assert_eq!(
        links,
        ["lo"],
        "the data-plane tests run only in a network namespace with nothing but lo"
    );
}

fn inside(dir: &Path, filter: Option<&str>, skip: &[String]) -> ExitCode {
    assert_isolated();
    let settings = Settings {
        cases: number("ECSPLANE_DATAPLANE_CASES", 12) as usize,
        requests: number("ECSPLANE_DATAPLANE_REQUESTS", 30) as usize,
        repeat: number("ECSPLANE_DATAPLANE_REPEAT", 200) as usize,
        // Fixed, so that CI checks the same listeners every run; the benchmark varies it.
        seed: number("ECSPLANE_DATAPLANE_SEED", 1),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(dir, filter, skip, settings))
}

async fn run(dir: &Path, filter: Option<&str>, skip: &[String], settings: Settings) -> ExitCode {
    let world = Arc::new(World::load(dir).await);
    let settings = Arc::new(settings);
    let all = Case::all();
    let selected: Vec<Case> = all
        .iter()
        .copied()
        .filter(|c| filter.is_none_or(|f| c.name().contains(f)))
        .filter(|c| !skip.iter().any(|s| c.name().contains(s.as_str())))
        .collect();
    println!(
        "\nrunning {} tests against {} (seed {}, {} random listeners x {} requests per profile, {} requests per weighted forward)",
        selected.len(),
        world.version,
        settings.seed,
        settings.cases,
        settings.requests,
        settings.repeat
    );
    let start = Instant::now();
    let (mut passed, mut failed) = (0, 0);
    let mut total = Tally::default();
    let mut per_profile: BTreeMap<String, BTreeMap<String, (usize, usize)>> = BTreeMap::new();
    for case in &selected {
        let t0 = Instant::now();
        let (w, s, c) = (world.clone(), settings.clone(), *case);
        let result = tokio::spawn(async move { run_case(&w, &s, c).await }).await;
        let secs = t0.elapsed().as_secs_f64();
        if let Ok(tally) = &result {
            let features = per_profile.entry(case.profile().to_string()).or_default();
            for (k, (n, f)) in &tally.features {
                let e = features.entry(k.clone()).or_default();
                e.0 += n;
                e.1 += f;
            }
        }
        match result {
            Ok(tally) if tally.failures.is_empty() => {
                passed += 1;
                println!(
                    "test {} ... ok ({} checked, {} weighted forwards, {} not exact, {} requests, {secs:.1} s)",
                    case.name(),
                    tally.checked,
                    tally.weighted,
                    tally.skipped,
                    tally.sent
                );
                total.add(tally);
            }
            Ok(tally) => {
                failed += 1;
                println!(
                    "test {} ... FAILED ({} of {} checked requests disagree with the ALB, {secs:.1} s)",
                    case.name(),
                    tally.failures.len(),
                    tally.checked
                );
                for f in tally.failures.iter().take(25) {
                    println!("    {f}");
                }
                total.add(tally);
            }
            Err(e) => {
                failed += 1;
                println!(
                    "test {} ... FAILED (panicked: {e}, {secs:.1} s)",
                    case.name()
                );
            }
        }
    }
    println!(
        "\n{}: {} requests sent, {} answers checked against the ALB model ({} weighted forwards), {} requests on rules not reported exact, {} disagreements or refused routes",
        world.data_plane,
        total.sent,
        total.checked,
        total.weighted,
        total.skipped,
        total.failures.len(),
    );
    // Per profile and feature, for docs/routing.md.
    for (profile, features) in &per_profile {
        for (feature, (n, f)) in features {
            println!(
                "{} {profile}: {feature}: {n} checked, {f} disagree",
                world.data_plane
            );
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed == 0 { "ok" } else { "FAILED" },
        all.len() - selected.len(),
        start.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run_case(world: &World, s: &Settings, case: Case) -> Tally {
    let tally = match case {
        Case::Examples(p) => cases::the_examples_route_like_the_alb(world, p).await,
        Case::ManyRules(p) => {
            cases::the_many_rules_listener_routes_like_the_alb(world, p, s.repeat).await
        }
        Case::UnitTestListeners(p) => {
            cases::unit_test_listeners_route_like_the_alb(world, p, s.repeat).await
        }
        Case::RandomListeners(p) => {
            property::random_listeners_route_like_the_alb(
                world, p, s.seed, s.cases, s.requests, s.repeat,
            )
            .await
        }
    };
    assert!(
        tally.checked > 0,
        "{}: no request was checked against the ALB model",
        case.name()
    );
    tally
}
