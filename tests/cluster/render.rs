//! What `ecsplane render` emits is valid Kubernetes: every object is accepted by the real API
//! server under server-side apply with `dryRun=All`, strict field validation and the
//! operator's field manager, for every routing profile (with the standard Gateway API CRDs
//! installed for HTTPRoutes).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ecsplane::translate::routing::{Profile, RoutingOptions};
use ecsplane::translate::{Options, Translation, translate_with};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use tokio::sync::OnceCell;

use crate::harness;

const PROFILES: [Profile; 3] = [Profile::Ingress, Profile::Alb, Profile::Gateway];

/// Installs the standard Gateway API CRDs (v1.7.0, from the control-plane cache) once per test
/// process and waits until each is Established.
pub(crate) async fn install_gateway_api(client: &Client) {
    static DONE: OnceCell<()> = OnceCell::const_new();
    DONE.get_or_init(|| async {
        let out = std::process::Command::new("bash")
            .arg(harness::repo_root().join("tests/harness/controlplane.sh"))
            .arg("paths")
            .output()
            .expect("run controlplane.sh paths");
        let paths = String::from_utf8(out.stdout).expect("utf-8");
        let file = paths
            .lines()
            .find_map(|l| l.strip_prefix("GATEWAY_API_CRDS="))
            .expect("controlplane.sh paths names GATEWAY_API_CRDS");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let mut installed = 0;
        for doc in harness::documents(Path::new(file)) {
            if doc["kind"] != "CustomResourceDefinition" {
                continue; // the safe-upgrades admission policy is not needed to validate routes
            }
            let crd: CustomResourceDefinition =
                serde_json::from_value(doc).expect("a Gateway API CRD");
            let name = crd.metadata.name.clone().expect("named");
            crds.patch(
                &name,
                &PatchParams::apply(harness::TEST_MANAGER).force(),
                &Patch::Apply(&crd),
            )
            .await
            .unwrap_or_else(|e| panic!("apply Gateway API CRD {name}: {e}"));
            tokio::time::timeout(
                Duration::from_secs(60),
                await_condition(crds.clone(), &name, conditions::is_crd_established()),
            )
            .await
            .unwrap_or_else(|_| panic!("CRD {name} not Established within 60 s"))
            .expect("watch CRD");
            installed += 1;
        }
        assert!(installed >= 5, "installed {installed} Gateway API CRDs");
    })
    .await;
}

fn options(profile: Profile) -> Options {
    // Fidelity, not the security policy (tested in cli_render and ownership): every field.
    Options {
        security_policy: ecsplane::translate::security::SecurityPolicy::Privileged,
        routing: RoutingOptions {
            profile,
            ..RoutingOptions::default()
        },
        ..Options::default()
    }
}

/// Loads and translates `files` as `ecsplane render` does.
fn render(files: &[PathBuf], profile: Profile) -> Translation {
    let (bundle, errors) = ecsplane::load::load(files);
    assert!(errors.is_empty(), "{files:?} load without errors: {errors}");
    translate_with(&bundle, &options(profile))
        .unwrap_or_else(|e| panic!("{files:?} render with routing {profile}: {e}"))
}

/// Server-side applies every object with `dryRun=All` into `ns`, in the order render prints
/// them, and returns one line per rejection.
async fn dry_run_all(client: &Client, ns: &str, what: &str, t: &Translation) -> Vec<String> {
    let mut rejected = Vec::new();
    for object in &t.objects {
        let doc = serde_json::to_value(object).expect("objects serialize");
        let ar = harness::api_resource(&doc);
        let name = doc["metadata"]["name"].as_str().expect("named").to_owned();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let mut params =
            PatchParams::apply(ecsplane::controller::FIELD_MANAGER).validation_strict();
        params.dry_run = true;
        if let Err(e) = api.patch(&name, &params, &Patch::Apply(&doc)).await {
            rejected.push(format!("{what}: {} rejected: {e}", object.id()));
        }
    }
    rejected
}

fn kinds(t: &Translation) -> Vec<String> {
    let mut kinds: Vec<String> = t
        .objects
        .iter()
        .map(|o| o.id().split(' ').next().unwrap_or_default().to_owned())
        .collect();
    kinds.dedup();
    kinds
}

/// The whole render output of examples/ (workloads, Services, autoscalers, Pods and the
/// listener's routes) is valid Kubernetes in each routing profile.
#[tokio::test]
async fn the_render_output_of_the_examples_is_accepted_in_every_routing_profile() {
    let client = harness::client().await;
    install_gateway_api(&client).await;
    let examples = [harness::repo_root().join("examples")];
    let mut rejected = Vec::new();
    for profile in PROFILES {
        let t = render(&examples, profile);
        let route_kind = match profile {
            Profile::Gateway => "HTTPRoute",
            _ => "Ingress",
        };
        assert!(
            kinds(&t).iter().any(|k| k == route_kind),
            "routing {profile} renders the listener as {route_kind}: {:?}",
            kinds(&t)
        );
        let ns = harness::namespace(&client, &format!("render-{profile}")).await;
        rejected.extend(dry_run_all(&client, &ns, &format!("examples/ ({profile})"), &t).await);
        // The dry run really validates: the same route with a relative path is refused.
        let mut broken = t.clone();
        broken.objects.retain(|o| o.id().starts_with(route_kind));
        broken.objects.truncate(1);
        let mut doc = serde_json::to_value(&broken.objects[0]).unwrap();
        match profile {
            Profile::Gateway => {
                doc["spec"]["rules"][0]["matches"][0]["path"]["value"] = "relative".into()
            }
            _ => doc["spec"]["ingressClassName"] = "Not A Class".into(),
        }
        broken.objects[0] = match profile {
            Profile::Gateway => {
                ecsplane::translate::Object::HttpRoute(serde_json::from_value(doc).unwrap())
            }
            _ => ecsplane::translate::Object::Ingress(serde_json::from_value(doc).unwrap()),
        };
        assert_eq!(
            dry_run_all(&client, &ns, "broken", &broken).await.len(),
            1,
            "the API server refuses an invalid {route_kind} in a dry run"
        );
        harness::delete_namespace(&client, &ns).await;
    }
    assert!(rejected.is_empty(), "{}", rejected.join("\n"));
}

/// A listener with every condition kind, redirects, fixed responses and weighted forwards
/// compiles to routes the API server accepts in each profile.
#[tokio::test]
async fn the_routes_of_a_listener_with_many_rules_are_accepted_in_every_profile() {
    let client = harness::client().await;
    install_gateway_api(&client).await;
    let file = [harness::repo_root().join("tests/render/many-rules.yaml")];
    let mut rejected = Vec::new();
    for profile in PROFILES {
        let t = render(&file, profile);
        let ns = harness::namespace(&client, &format!("many-rules-{profile}")).await;
        rejected.extend(dry_run_all(&client, &ns, &format!("many-rules ({profile})"), &t).await);
        harness::delete_namespace(&client, &ns).await;
    }
    assert!(rejected.is_empty(), "{}", rejected.join("\n"));
}

/// Every corpus task definition and service that renders (tests/render_corpus.rs checks
/// which) renders to objects the API server accepts.
#[tokio::test]
async fn every_corpus_file_that_renders_is_accepted_by_the_api_server() {
    let corpus = harness::repo_root().join("../shared/corpus/ecs");
    if !corpus.is_dir() {
        eprintln!(
            "notice: {} is absent; corpus test skipped",
            corpus.display()
        );
        return;
    }
    let failing: Vec<String> = include_str!("../render/corpus-expected-failures.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t').map(|(n, _)| n.to_owned()))
        .collect();
    let client = harness::client().await;
    let ns = harness::namespace(&client, "render-corpus").await;
    let mut rejected = Vec::new();
    let mut rendered = 0;
    for dir in ["task-definitions", "services"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let name = file.file_name().unwrap().to_str().unwrap().to_owned();
            if failing.contains(&name) || failing.contains(&format!("{name}@{dir}")) {
                continue;
            }
            let mut files = vec![file.clone()];
            let companion = corpus.join("task-definitions").join(&name);
            if dir == "services" && companion.is_file() {
                files.push(companion); // as tests/render_corpus.rs renders it
            }
            let t = render(&files, Profile::Ingress);
            rejected.extend(dry_run_all(&client, &ns, &format!("{dir}/{name}"), &t).await);
            rendered += 1;
        }
    }
    harness::delete_namespace(&client, &ns).await;
    assert!(rendered >= 30, "rendered {rendered} corpus files");
    assert!(rejected.is_empty(), "{}", rejected.join("\n"));
}
