//! The operator reads from its caches: with every service converged it sends the API server
//! nothing but its watches (no GET, no LIST, no write) over an idle interval, and one
//! malformed EcsService (written past the CRD's schema, straight into etcd) is reported on
//! itself while the others keep reconciling.
//!
//! Requests are counted by a layer on the operator's own client, so other tests running on
//! the same control plane do not disturb the counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use ecsplane::api::EcsService;
use ecsplane::controller::{self, NoTelemetry, Options};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

use crate::harness;
use crate::operator::{CONVERGE, apply_all, condition, eventually, test_namespace};

/// What the operator's client sent.
#[derive(Default)]
struct Counts {
    /// GETs and LISTs (not watches).
    reads: AtomicUsize,
    /// Everything but GET.
    writes: AtomicUsize,
    /// Watches.
    watches: AtomicUsize,
    /// The last requests, for the failure message.
    recent: Mutex<Vec<String>>,
}

impl Counts {
    fn take(&self) -> (usize, usize, Vec<String>) {
        let recent = self
            .recent
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        (
            self.reads.swap(0, Ordering::SeqCst),
            self.writes.swap(0, Ordering::SeqCst),
            recent,
        )
    }
}

#[derive(Clone)]
struct Counting<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S, B> tower::Service<http::Request<B>> for Counting<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let watch = req.uri().query().is_some_and(|q| q.contains("watch=true"));
        let counter = match (req.method() == http::Method::GET, watch) {
            (true, true) => &self.counts.watches,
            (true, false) => &self.counts.reads,
            (false, _) => &self.counts.writes,
        };
        counter.fetch_add(1, Ordering::SeqCst);
        if !watch && let Ok(mut r) = self.counts.recent.lock() {
            r.push(format!("{} {}", req.method(), req.uri()));
            let len = r.len();
            if len > 20 {
                r.drain(..len - 20);
            }
        }
        self.inner.call(req)
    }
}

struct CountingLayer(Arc<Counts>);

impl<S> tower::Layer<S> for CountingLayer {
    type Service = Counting<S>;
    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            counts: self.0.clone(),
        }
    }
}

async fn counting_client() -> (Client, Arc<Counts>) {
    let kubeconfig =
        Kubeconfig::read_from(harness::kubeconfig_path()).expect("read the test kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load the test kubeconfig");
    let counts = Arc::new(Counts::default());
    let client = kube::client::ClientBuilder::try_from(config)
        .expect("a client builder")
        .with_layer(&CountingLayer(counts.clone()))
        .build();
    (client, counts)
}

/// An operator for `ns` on `client`, stopped by dropping the sender.
fn start_operator(
    client: Client,
    ns: &str,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let options = Options {
        namespace: Some(ns.to_owned()),
        debounce: Duration::from_millis(200),
        concurrency: 8,
        ..Options::default()
    };
    let handle = tokio::spawn(async move {
        controller::run_with(client, Arc::new(NoTelemetry), options, async {
            let _ = rx.await;
        })
        .await
        .expect("the operator runs");
    });
    (tx, handle)
}

/// A task definition and a service of two small tasks, named `app-I`.
fn service_docs(i: usize) -> Vec<serde_json::Value> {
    vec![
        json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition", "metadata": {"name": format!("app-{i}")},
               "spec": {"family": format!("app-{i}"), "networkMode": "awsvpc",
                        "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/docker/library/nginx:1.27",
                                                   "cpu": 32, "memory": 64, "portMappings": [{"containerPort": 80}]}]}}),
        json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService", "metadata": {"name": format!("app-{i}")},
               "spec": {"taskDefinition": format!("app-{i}"), "desiredCount": 2,
                        "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200}}}),
    ]
}

async fn ready_services(client: &Client, ns: &str, n: usize) {
    let api: Api<EcsService> = Api::namespaced(client.clone(), ns);
    eventually(
        "every EcsService Ready with its tasks running",
        CONVERGE,
        || {
            let api = api.clone();
            async move {
                let list = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let waiting: Vec<String> = list
                    .items
                    .iter()
                    .filter_map(|s| {
                        let st = s.status.clone().unwrap_or_default();
                        let ready = condition(&st.common.conditions, "Ready");
                        (!ready.starts_with("True") || st.running_count != Some(2)).then(|| {
                            format!(
                                "{}: {ready}",
                                s.metadata.name.as_deref().unwrap_or_default()
                            )
                        })
                    })
                    .collect();
                if list.items.len() == n && waiting.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} of {n} listed; waiting: {}",
                        list.items.len(),
                        waiting.join("; ")
                    ))
                }
            }
        },
    )
    .await;
}

const SERVICES: usize = 6;

/// Converged services cost the API server nothing: over 30 idle seconds the operator sends no
/// GET, no LIST and no write, only its open watches; and converging them read the API server
/// a bounded number of times (the first list of each kind and one name lookup per new
/// child), not once per reconcile.
#[tokio::test(flavor = "multi_thread")]
async fn a_converged_operator_sends_no_reads_and_no_writes_while_idle() {
    let admin = harness::client().await;
    harness::install_crds(&admin).await;
    let (ns, _cleanup) = test_namespace(&admin, "caches").await;
    let (client, counts) = counting_client().await;
    let (stop, handle) = start_operator(client, &ns);
    let docs: Vec<_> = (1..=SERVICES).flat_map(service_docs).collect();
    apply_all(&admin, &ns, &docs).await;
    ready_services(&admin, &ns, SERVICES).await;
    // Let the last status writes and their watch events settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (reads, writes, recent) = counts.take();
    eprintln!("converging {SERVICES} services: {reads} reads, {writes} writes");
    // 18 first lists, the CRD check, and per service at most its children's name lookups.
    assert!(
        reads <= 20 + 4 * SERVICES,
        "converging read the API server {reads} times; the last: {recent:#?}"
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (reads, writes, recent) = counts.take();
    assert_eq!(
        (reads, writes),
        (0, 0),
        "an idle operator sent reads or writes: {recent:#?}"
    );
    assert!(
        counts.watches.load(Ordering::SeqCst) > 0,
        "the operator watches"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), handle).await;
}

/// The etcd the test control plane's API server uses, from the harness's record of its
/// process (`DIR/pids/etcd.pid` and its `--listen-client-urls`).
fn etcd_url() -> String {
    let dir = harness::kubeconfig_path()
        .parent()
        .expect("the kubeconfig is in the state dir");
    let pid =
        std::fs::read_to_string(dir.join("pids/etcd.pid")).expect("the harness records etcd's PID");
    let cmdline =
        std::fs::read(format!("/proc/{}/cmdline", pid.trim())).expect("etcd runs on this machine");
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let at = args
        .iter()
        .position(|a| a == "--listen-client-urls")
        .expect("etcd is started with --listen-client-urls");
    args[at + 1].clone()
}

/// Writes `value` under `key` in etcd through its JSON gateway (what no API request can do:
/// the API server validates every write against the CRD's schema, and reads what is stored
/// without validating it again, as after a schema change).
fn etcd_put(key: &str, value: &serde_json::Value) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = json!({"key": b64.encode(key), "value": b64.encode(value.to_string())});
    let out = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-X",
            "POST",
            &format!("{}/v3/kv/put", etcd_url()),
            "-d",
        ])
        .arg(body.to_string())
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "etcd put: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One EcsService that no longer parses (an unknown schedulingStrategy, stored past the
/// schema) does not stop the others: it gets a Warning Event saying why, and a change to
/// another service made afterwards still reaches its Deployment.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_ecs_service_is_reported_on_itself_and_the_others_keep_reconciling() {
    let admin = harness::client().await;
    harness::install_crds(&admin).await;
    let (ns, _cleanup) = test_namespace(&admin, "malformed").await;
    let docs: Vec<_> = (1..=2).flat_map(service_docs).collect();
    apply_all(&admin, &ns, &docs).await;
    let operator = crate::operator::Operator::start(&admin, &ns);
    ready_services(&admin, &ns, 2).await;

    let services: Api<EcsService> = Api::namespaced(admin.clone(), &ns);
    let bad = services.get("app-2").await.expect("app-2");
    let mut stored = serde_json::to_value(&bad).expect("serializes");
    stored["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("resourceVersion");
    stored["spec"]["schedulingStrategy"] = json!("SOMETIMES");
    etcd_put(
        &format!("/registry/ecsplane.io/ecsservices/{ns}/app-2"),
        &stored,
    );
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        admin.clone(),
        &ns,
        &kube::discovery::ApiResource::erase::<EcsService>(&()),
    );
    eventually("the API server serves the stored object", CONVERGE, || {
        let raw = raw.clone();
        async move {
            let o = raw.get("app-2").await.map_err(|e| e.to_string())?;
            if o.data["spec"]["schedulingStrategy"] == "SOMETIMES" {
                Ok(())
            } else {
                Err("not yet".into())
            }
        }
    })
    .await;
    let _ = bad;

    let events: Api<Event> = Api::namespaced(admin.clone(), &ns);
    let note = eventually("a Malformed Warning Event on app-2", CONVERGE, || {
        let events = events.clone();
        async move {
            let list = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            list.items
                .into_iter()
                .find(|e| {
                    e.reason.as_deref() == Some("Malformed")
                        && e.involved_object.name.as_deref() == Some("app-2")
                        && e.type_.as_deref() == Some("Warning")
                })
                .and_then(|e| e.message)
                .ok_or_else(|| "no Malformed event yet".to_owned())
        }
    })
    .await;
    assert!(note.contains("SOMETIMES"), "the event says why: {note}");

    let mut scaled = service_docs(1)[1].clone();
    scaled["spec"]["desiredCount"] = json!(3);
    apply_all(&admin, &ns, &[scaled]).await;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns);
    eventually("app-1's Deployment scaled to 3", CONVERGE, || {
        let deployments = deployments.clone();
        async move {
            let d = deployments.get("app-1").await.map_err(|e| e.to_string())?;
            let replicas = d.spec.and_then(|s| s.replicas);
            if replicas == Some(3) {
                Ok(())
            } else {
                Err(format!("replicas {replicas:?}"))
            }
        }
    })
    .await;
    operator.stop().await;
}
