//! Issue 15's chaos suite: faults injected into the real `ecsplane run` binary and the real
//! control plane while it works, each scenario a test with its own assertions on what the
//! operator leaves behind. The issue's scenario number is in each test's doc comment; the
//! others live where they were written first:
//!
//! | scenario | test |
//! |---|---|
//! | 1. `kill -9` after every k-th write of a bulk apply | here (k = 1, 7, 23) |
//! | 2. the API server stopped and restarted | here, on the control plane of the tests' own |
//! | 3. watches expired by etcd compaction (410 Gone) | here, on the same own control plane |
//! | 4. throttling (API Priority and Fairness) | faults.rs |
//! | 5. the leader killed under load | here |
//! | 6. a malformed EcsService | caches.rs |
//! | 7. dangling references | here (a Listener before its TargetGroup); operator.rs (a service before its task definition) |
//! | 8. hand edits, fields not ours | ownership.rs, operator.rs |
//!
//! "Identical to an undisturbed run" is checked object by object: the children of the
//! disturbed run (ServiceAccounts, Services, Deployments, DaemonSets, HPAs and the task
//! definitions' ControllerRevisions, everything carrying the owner label) are compared with
//! those of one undisturbed run of the same manifests ([`baseline`]), specs included, after
//! replacing what differs between any two runs by construction (UIDs by the owner's kind and
//! name, the namespace, cluster IPs, the Deployment controller's own annotations, the hash of
//! the rendered object, which names the namespace, and status).
//!
//! Writes are counted by the API server: the harness's audit log (`DIR/logs/audit.log`, one
//! line per completed write) names the user, and each operator here impersonates a
//! ServiceAccount of its own, so its writes are told from everybody else's.
//!
//! Cost: see docs/reliability.md (the whole file takes about as long as its slowest test,
//! the tests run two at a time).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ecsplane::api::{EcsService, Listener, TargetGroup, TaskDefinition};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::faults::{READINESS, apply};
use crate::harness;
use crate::operator::{CONVERGE, condition, eventually, test_namespace};
use crate::process::{self, AuditLog, Launch, OwnControlPlane, Write};

/// Services of the bulk apply of scenario 1 (and of the undisturbed run).
const BULK: usize = 50;
/// Services applied while the leader is killed (scenario 5): the first of the bulk.
const UNDER_LOAD: usize = 30;
/// At most this many kills per k: with k = 1 every restart is killed at its first write, and
/// twelve restarts already cover the start-up path (list, first apply, first status write)
/// many times over; more would only make the test slower.
const MAX_KILLS: usize = 12;
/// No write of the operator for this long: it has nothing left to do.
const IDLE: Duration = Duration::from_secs(15);
/// The owner label on every child.
const LABEL_OWNER: &str = "ecsplane.io/owner-uid";

// --- the manifests ------------------------------------------------------------------------

fn family(name: &str) -> Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "family": name,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{
                "name": name,
                "image": "public.ecr.aws/docker/library/busybox:1.36",
                "command": ["sh", "-c", "while true; do sleep 5; done"],
                "portMappings": [{"containerPort": 8080}],
                // With a health check ECS counts a task healthy once it passes (kwok's pods
                // are Ready at once), not 40 s after it starts: the scenarios converge
                // without waiting minReadySeconds out.
                "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5},
            }],
        },
    })
}

/// EcsService `name` of `count` tasks of `task_definition` (a family or `family:revision`).
fn ecs_service(name: &str, task_definition: &str, count: i32) -> Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": name},
        "spec": {
            "serviceName": name,
            "taskDefinition": task_definition,
            "desiredCount": count,
            "launchType": "FARGATE",
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
        },
    })
}

/// Two task definitions and `n` services alternating between them, every fifth of 2 tasks.
fn bulk(n: usize) -> Vec<Value> {
    let mut docs = vec![family("web"), family("api")];
    for i in 0..n {
        let td = if i % 2 == 0 { "web" } else { "api" };
        let count = if i % 5 == 0 { 2 } else { 1 };
        docs.push(ecs_service(&format!("svc-{i:02}"), td, count));
    }
    docs
}

/// Applies `docs` on a task of its own (the bulk apply runs while faults are injected).
fn apply_in_background(client: &Client, ns: &str, docs: Vec<Value>) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    let ns = ns.to_owned();
    tokio::spawn(async move {
        for doc in docs {
            apply(&client, &ns, doc).await;
        }
    })
}

// --- what a run leaves behind --------------------------------------------------------------

fn child_kinds() -> Vec<(&'static str, ApiResource)> {
    vec![
        ("ServiceAccount", ApiResource::erase::<ServiceAccount>(&())),
        ("Service", ApiResource::erase::<Service>(&())),
        ("Deployment", ApiResource::erase::<Deployment>(&())),
        ("DaemonSet", ApiResource::erase::<DaemonSet>(&())),
        (
            "HorizontalPodAutoscaler",
            ApiResource::erase::<HorizontalPodAutoscaler>(&()),
        ),
        (
            "ControllerRevision",
            ApiResource::erase::<ControllerRevision>(&()),
        ),
    ]
}

/// The children of a namespace, normalized (`Kind/name` → canonical JSON), and the ones whose
/// owner does not exist.
struct Snapshot {
    objects: BTreeMap<String, String>,
    orphans: Vec<String>,
}

/// `v` with object keys sorted, whatever order the server sent them in.
fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

async fn snapshot(client: &Client, ns: &str) -> Snapshot {
    // Every UID a child may name, by kind and name.
    let mut uids: HashMap<String, String> = HashMap::new();
    for s in Api::<EcsService>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("list EcsServices")
    {
        uids.insert(
            s.uid().unwrap_or_default(),
            format!("EcsService/{}", s.name_any()),
        );
    }
    for t in Api::<TaskDefinition>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .expect("list TaskDefinitions")
    {
        uids.insert(
            t.uid().unwrap_or_default(),
            format!("TaskDefinition/{}", t.name_any()),
        );
    }
    let mut children = Vec::new();
    for (kind, ar) in child_kinds() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        for o in api
            .list(&ListParams::default().labels(LABEL_OWNER))
            .await
            .unwrap_or_else(|e| panic!("list {kind}: {e}"))
        {
            uids.insert(
                o.uid().unwrap_or_default(),
                format!("{kind}/{}", o.name_any()),
            );
            children.push((kind, o));
        }
    }
    let mut objects = BTreeMap::new();
    let mut orphans = Vec::new();
    for (kind, o) in children {
        let key = format!("{kind}/{}", o.name_any());
        let owners: Vec<String> = o
            .labels()
            .get(LABEL_OWNER)
            .cloned()
            .into_iter()
            .chain(o.owner_references().iter().map(|r| r.uid.clone()))
            .collect();
        if owners.iter().any(|u| !uids.contains_key(u)) {
            orphans.push(key.clone());
        }
        let mut v = serde_json::to_value(&o).expect("serialize");
        let meta = v["metadata"].take();
        let annotations: BTreeMap<String, Value> = meta["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            // The Deployment controller's own; and the hash of the rendered object, which
            // names the namespace (everything else it hashes is compared here as stored).
            .filter(|(k, _)| {
                !k.starts_with("deployment.kubernetes.io/")
                    && k.as_str() != "ecsplane.io/applied-hash"
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let object = v.as_object_mut().expect("an object");
        object.remove("status");
        object.remove("apiVersion");
        object.remove("kind");
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        object.insert(
            "metadata".to_owned(),
            json!({
                "name": meta["name"],
                "labels": meta["labels"],
                "annotations": annotations,
                "ownerReferences": meta["ownerReferences"],
            }),
        );
        let mut text = serde_json::to_string(&canonical(v)).expect("serialize");
        for (uid, name) in &uids {
            if !uid.is_empty() {
                text = text.replace(uid, &format!("uid({name})"));
            }
        }
        objects.insert(key, text.replace(ns, "NS"));
    }
    Snapshot { objects, orphans }
}

/// Every service of `ns` Ready with its desired count running, and no stuck Deployment.
async fn converged(client: &Client, ns: &str, services: usize) -> Result<(), String> {
    let list = Api::<EcsService>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    if list.items.len() != services {
        return Err(format!("{} of {services} services", list.items.len()));
    }
    let waiting: Vec<String> = list
        .items
        .iter()
        .filter(|s| {
            let st = s.status.clone().unwrap_or_default();
            !condition(&st.common.conditions, "Ready").starts_with("True")
                || st.running_count != s.spec.desired_count
        })
        .map(|s| s.name_any())
        .collect();
    if !waiting.is_empty() {
        return Err(format!("not steady: {waiting:?}"));
    }
    not_stuck(client, ns).await
}

/// No Deployment of `ns` paused, behind its generation, short of its replicas or past its
/// progress deadline.
async fn not_stuck(client: &Client, ns: &str) -> Result<(), String> {
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    for d in deployments {
        let spec = d.spec.clone().unwrap_or_default();
        let st = d.status.clone().unwrap_or_default();
        let want = spec.replicas.unwrap_or(1);
        let deadline = st.conditions.iter().flatten().any(|c| {
            c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        });
        if spec.paused == Some(true)
            || st.observed_generation < d.metadata.generation
            || st.updated_replicas.unwrap_or(0) != want
            || st.available_replicas.unwrap_or(0) != want
            || st.replicas.unwrap_or(0) != want
            || deadline
        {
            return Err(format!("Deployment {} not settled: {st:?}", d.name_any()));
        }
    }
    Ok(())
}

/// The undisturbed run's children of the first `services` services (and of every task
/// definition).
fn expected(baseline: &BTreeMap<String, String>, services: usize) -> BTreeMap<String, String> {
    baseline
        .iter()
        .filter(|(_, v)| {
            (services..BULK).all(|i| !v.contains(&format!("uid(EcsService/svc-{i:02})")))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Panics with every difference between the expected and the actual children.
fn assert_same(expected: &BTreeMap<String, String>, actual: &Snapshot, what: &str) {
    assert!(
        actual.orphans.is_empty(),
        "{what}: orphans {:?}",
        actual.orphans
    );
    let mut differences = Vec::new();
    for (key, want) in expected {
        match actual.objects.get(key) {
            None => differences.push(format!("missing {key}")),
            Some(got) if got != want => {
                differences.push(format!("{key} differs:\n  want {want}\n  got  {got}"))
            }
            Some(_) => {}
        }
    }
    for key in actual.objects.keys() {
        if !expected.contains_key(key) {
            differences.push(format!("extra {key}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{what}: {} of {} children lost or wrong:\n{}",
        differences.len(),
        expected.len(),
        differences.join("\n")
    );
}

static BASELINE: tokio::sync::OnceCell<BTreeMap<String, String>> =
    tokio::sync::OnceCell::const_new();

/// The children of one undisturbed run of [`bulk`]`(BULK)`: the operator started once, the
/// manifests applied, everything converged. Run once per test process.
async fn baseline() -> &'static BTreeMap<String, String> {
    BASELINE
        .get_or_init(|| async {
            let client = harness::client().await;
            harness::install_crds(&client).await;
            let (ns, _cleanup) = test_namespace(&client, "chaos-baseline").await;
            let op = Launch::new("chaos-baseline", harness::kubeconfig_path(), Some(&ns)).start();
            let started = Instant::now();
            apply_in_background(&client, &ns, bulk(BULK))
                .await
                .expect("the bulk apply");
            eventually("the undisturbed run converged", CONVERGE, || {
                converged(&client, &ns, BULK)
            })
            .await;
            eprintln!(
                "chaos baseline: {BULK} services converged in {:?}",
                started.elapsed()
            );
            let snapshot = snapshot(&client, &ns).await;
            assert!(
                snapshot.orphans.is_empty(),
                "{:?}\n{}",
                snapshot.orphans,
                op.log()
            );
            assert_eq!(
                snapshot
                    .objects
                    .keys()
                    .filter(|k| k.starts_with("Deployment/"))
                    .count(),
                BULK,
                "one Deployment per service"
            );
            snapshot.objects
        })
        .await
}

// --- scenario 1 ----------------------------------------------------------------------------

/// Runs scenario 1 for one k: the operator (ServiceAccount `ecsplane` of the test namespace)
/// is SIGKILLed as soon as the audit log shows its k-th write since it was (re)started, and
/// started again, at most [`MAX_KILLS`] times, while the bulk apply runs; then it runs
/// undisturbed. The end state must equal the undisturbed run's.
async fn kill_after_every_kth_write(k: usize) {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let expected = baseline().await;
    let (ns, _cleanup) = test_namespace(&client, &format!("chaos-kill{k}")).await;
    let role = process::grant_all_but_gateway(&client, &ns, &["ecsplane"]).await;
    let kubeconfig = process::impersonating_kubeconfig(harness::kubeconfig_path(), &ns, "ecsplane");
    let user = process::service_account_user(&ns, "ecsplane");
    let mut audit = AuditLog::from_end(harness::kubeconfig_path());
    let mut op = Launch::new(&format!("chaos-k{k}"), &kubeconfig, Some(&ns)).start();
    let mut since = Timestamp::now();
    let applying = apply_in_background(&client, &ns, bulk(BULK));

    let (mut kills, mut writes, mut total) = (0, 0, 0);
    // The write after which each kill came.
    let mut cut: Vec<String> = Vec::new();
    let mut last_write = Instant::now();
    let mut last_kill = Instant::now();
    while kills < MAX_KILLS && last_write.elapsed() < IDLE {
        for w in audit.read() {
            // Writes of a killed process that completed after its kill are not the new one's.
            if w.user != user || w.received < since {
                continue;
            }
            total += 1;
            writes += 1;
            last_write = Instant::now();
            if writes == k {
                cut.push(format!("{} {}", w.verb, w.resource));
                op.kill9();
                last_kill = Instant::now();
                kills += 1;
                op = op.again();
                since = Timestamp::now();
                writes = 0;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    applying.await.expect("the bulk apply");
    eventually("converged after the kills", CONVERGE, || {
        converged(&client, &ns, BULK)
    })
    .await;
    let converge = last_kill.elapsed();
    eprintln!(
        "chaos k={k}: {kills} kills after {total} counted writes; converged {converge:?} after the last kill; killed after: {}",
        cut.join(", ")
    );
    assert!(
        kills >= 1,
        "no kill: the operator made fewer than {k} writes?"
    );
    assert!(op.running(), "the last operator runs:\n{}", op.log());
    let actual = snapshot(&client, &ns).await;
    assert_same(expected, &actual, &format!("k = {k}"));
    process::revoke(&client, &role).await;
}

/// Scenario 1, k = 1: the operator killed after each of its first 12 writes of the bulk apply
/// of 50 services (every restart dies at its first write), then left alone: the same children
/// with the same specs as an undisturbed run, no duplicates, no orphans, no stuck Deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_1_killed_after_every_write_ends_as_an_undisturbed_run() {
    kill_after_every_kth_write(1).await;
}

/// Scenario 1, k = 7 (at most 12 kills).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_1_killed_after_every_7th_write_ends_as_an_undisturbed_run() {
    kill_after_every_kth_write(7).await;
}

/// Scenario 1, k = 23 (at most 12 kills).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_1_killed_after_every_23rd_write_ends_as_an_undisturbed_run() {
    kill_after_every_kth_write(23).await;
}

// --- scenarios 2 and 3: the control plane of the tests' own ---------------------------------

/// Scenario 2: the API server stopped for 15 s and started again: while it is away `/readyz`
/// says the watches fail, once it is back the operator is ready again without a restart of
/// its own, and a change made afterwards flows through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_2_the_api_server_restarted_readyz_goes_false_then_true_and_changes_flow() {
    let (cp, _turn) = OwnControlPlane::exclusive().await;
    let client = cp.client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "chaos-apiserver").await;
    let mut op = Launch::new("chaos-apiserver", &cp.kubeconfig(), Some(&ns)).start();
    apply(&client, &ns, family("web")).await;
    apply(&client, &ns, ecs_service("web", "web", 2)).await;
    eventually("web steady", CONVERGE, || converged(&client, &ns, 1)).await;
    eventually("/readyz 200", READINESS, || {
        let answer = op.readyz();
        async move {
            match answer {
                Some((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;

    let restart = cp.restart_apiserver(15);
    let mut unready = None;
    while !restart.is_finished() {
        if let Some((503, body)) = op.readyz() {
            unready.get_or_insert(body);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        restart.join().expect("the restart thread"),
        "restart-apiserver"
    );
    let back = Instant::now();
    let unready = unready.unwrap_or_else(|| panic!("/readyz never went 503:\n{}", op.log()));
    assert!(unready.contains("watch failing"), "{unready}");

    eventually("/readyz 200 again", READINESS, || {
        let answer = op.readyz();
        async move {
            match answer {
                Some((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    assert!(op.running(), "the operator survived:\n{}", op.log());
    let restarts = op
        .metric(r#"ecsplane_watch_restarts_total{kind="EcsService"}"#)
        .expect("the metric");
    assert!(restarts >= 1.0, "{restarts}");

    apply(&client, &ns, ecs_service("web", "web", 3)).await;
    eventually("web steady on 3 tasks", CONVERGE, || {
        converged(&client, &ns, 1)
    })
    .await;
    let d = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get("web")
        .await
        .expect("the Deployment");
    assert_eq!(
        d.spec.and_then(|s| s.replicas),
        Some(3),
        "the change flowed through"
    );
    eprintln!(
        "chaos 2: ready and converged {:?} after the API server was back",
        back.elapsed()
    );
    drop(op);
    harness::delete_namespace(&client, &ns).await;
}

/// A POST of a JSON body to the etcd v3 HTTP gateway at `url` (`http://host:port`).
fn etcd_post(url: &str, path: &str, body: &Value) -> Value {
    use std::io::{Read, Write as _};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect to etcd");
    let body = body.to_string();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write to etcd");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read etcd's answer");
    let (head, text) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "etcd {path}: {head}\n{text}"
    );
    // etcd answers with a plain body, or chunked: the JSON object is between the braces.
    let json = text
        .find('{')
        .and_then(|a| text.rfind('}').map(|b| &text[a..=b]))
        .unwrap_or("{}");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("etcd {path}: {e}: {text}"))
}

/// Scenario 3: forced watch expiry. The operator is frozen (SIGSTOP) with its watches at some
/// resourceVersion; services are changed and added, etcd is compacted past that version
/// (`/v3/kv/compaction` of its HTTP gateway) and the API server restarted (its watch cache
/// starts from now), so every resumed watch is answered 410 Gone; one more change is made,
/// then the operator is thawed. Its log shows the expiries and the relists, and every change
/// of the gap lands: none is missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_3_watches_expired_by_compaction_relist_and_no_change_of_the_gap_is_missed() {
    let (cp, _turn) = OwnControlPlane::exclusive().await;
    let client = cp.client().await;
    harness::install_crds(&client).await;
    let ns = harness::namespace(&client, "chaos-expiry").await;
    let op = Launch::new("chaos-expiry", &cp.kubeconfig(), Some(&ns)).start();
    apply(&client, &ns, family("web")).await;
    apply(&client, &ns, ecs_service("svc-00", "web", 1)).await;
    apply(&client, &ns, ecs_service("svc-01", "web", 1)).await;
    eventually("two services steady", CONVERGE, || {
        converged(&client, &ns, 2)
    })
    .await;
    // A watch may expire already (a fresh API server's cache can be a version ahead of its
    // first list): only the expiries after the gap count.
    let expiries = |log: &str| {
        log.lines()
            .filter(|l| l.contains("expired: relisting"))
            .count()
    };
    let before = expiries(&op.log());

    op.signal("STOP");
    apply(&client, &ns, ecs_service("svc-00", "web", 2)).await;
    apply(&client, &ns, ecs_service("svc-02", "web", 1)).await;
    let etcd = cp.etcd_url();
    let revision = etcd_post(
        &etcd,
        "/v3/kv/range",
        &json!({"key": "AA==", "range_end": "AA==", "count_only": true}),
    )["header"]["revision"]
        .as_str()
        .expect("etcd's revision")
        .to_owned();
    etcd_post(
        &etcd,
        "/v3/kv/compaction",
        &json!({"revision": revision, "physical": true}),
    );
    assert!(
        cp.restart_apiserver(0).join().expect("the restart thread"),
        "restart-apiserver"
    );
    apply(&client, &ns, ecs_service("svc-01", "web", 3)).await;
    let thawed = Instant::now();
    op.signal("CONT");

    let log = eventually("the operator relists after 410 Gone", READINESS, || {
        let log = op.log();
        async move {
            if expiries(&log) > before {
                Ok(log)
            } else {
                Err("no expiry in the log yet".to_owned())
            }
        }
    })
    .await;
    eventually("every change of the gap landed", CONVERGE, || {
        converged(&client, &ns, 3)
    })
    .await;
    let converge = thawed.elapsed();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    for (name, replicas) in [("svc-00", 2), ("svc-01", 3), ("svc-02", 1)] {
        let d = deployments.get(name).await.expect("the Deployment");
        assert_eq!(d.spec.and_then(|s| s.replicas), Some(replicas), "{name}");
    }
    let expired: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("expired: relisting"))
        .skip(before)
        .collect();
    eprintln!(
        "chaos 3: {} watches expired (410) and relisted; converged {converge:?} after SIGCONT; first: {}",
        expired.len(),
        expired.first().copied().unwrap_or_default()
    );
    let mut op = op;
    assert!(op.running(), "the operator survived:\n{}", op.log());
    drop(op);
    harness::delete_namespace(&client, &ns).await;
}

// --- scenario 5 ----------------------------------------------------------------------------

/// Lease settings of scenario 5 (as operator_process.rs's short timing).
const LEASE_SECONDS: u64 = 10;
const RETRY_MS: u64 = 1000;

/// Scenario 5: two `ecsplane run` replicas with leader election, each as a ServiceAccount of
/// its own; the leader is SIGKILLed once it has made 15 writes of a bulk apply of 30 services.
/// The standby takes over within the lease duration (plus its retry period and slack); in the
/// audit log, every write of the killed leader (its Lease apart) completed before the new
/// leader's first write was received, so at no moment did both write; and the end state
/// equals the undisturbed run's children of those 30 services.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_5_the_leader_killed_under_load_hands_over_without_two_writers() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let expected = expected(baseline().await, UNDER_LOAD);
    let (ns, _cleanup) = test_namespace(&client, "chaos-leader").await;
    let role = process::grant_all_but_gateway(&client, &ns, &["a", "b"]).await;
    let election = [
        "--leader-elect".to_owned(),
        format!("--leader-election-namespace={ns}"),
        format!("--leader-election-lease-duration={LEASE_SECONDS}s"),
        "--leader-election-renew-deadline=8000ms".to_owned(),
        format!("--leader-election-retry-period={RETRY_MS}ms"),
    ];
    let election: Vec<&str> = election.iter().map(String::as_str).collect();
    let mut audit = AuditLog::from_end(harness::kubeconfig_path());
    let mut replicas: Vec<_> = ["a", "b"]
        .iter()
        .map(|sa| {
            let kubeconfig = process::impersonating_kubeconfig(harness::kubeconfig_path(), &ns, sa);
            Launch::new(&format!("chaos-leader-{sa}"), &kubeconfig, Some(&ns))
                .args(&election)
                .start()
        })
        .collect();
    let users = [
        process::service_account_user(&ns, "a"),
        process::service_account_user(&ns, "b"),
    ];
    let leader = eventually("one replica leads", CONVERGE, || {
        let gauges: Vec<Option<bool>> = replicas.iter().map(|r| r.leader_gauge()).collect();
        async move {
            match gauges.as_slice() {
                [Some(true), Some(false)] => Ok(0),
                [Some(false), Some(true)] => Ok(1),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let standby = 1 - leader;

    let applying = apply_in_background(&client, &ns, bulk(UNDER_LOAD));
    let mut writes: Vec<Write> = Vec::new();
    let not_lease = |w: &Write| !w.resource.starts_with("leases");
    let deadline = Instant::now() + CONVERGE;
    while writes
        .iter()
        .filter(|w| w.user == users[leader] && not_lease(w))
        .count()
        < 15
    {
        assert!(
            Instant::now() < deadline,
            "the leader made fewer than 15 writes"
        );
        writes.extend(audit.read());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    replicas[leader].kill9();
    let killed = Instant::now();
    let bound = Duration::from_secs(LEASE_SECONDS)
        + Duration::from_millis(RETRY_MS).mul_f64(4.4)
        + Duration::from_secs(20);
    loop {
        if replicas[standby].leader_gauge() == Some(true) {
            break;
        }
        assert!(
            killed.elapsed() < bound,
            "the standby did not take over within {bound:?}:\n{}",
            replicas[standby].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let takeover = killed.elapsed();
    applying.await.expect("the bulk apply");
    // A leader whose renewal misses the renew deadline (an API server slowed down by a loaded
    // machine) stops at once, by design; it is started again as its pod would be. The killed
    // leader stays dead, so every write of `a` after the kill would be an overlap.
    let deadline = Instant::now() + CONVERGE;
    let mut restarts = 0;
    loop {
        if !replicas[standby].running() {
            let again = replicas[standby].again();
            replicas[standby] = again;
            restarts += 1;
        }
        match converged(&client, &ns, UNDER_LOAD).await {
            Ok(()) => break,
            Err(e) => assert!(
                Instant::now() < deadline,
                "not converged within {CONVERGE:?} of the takeover: {e}\n{}",
                replicas[standby].log()
            ),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let converge = killed.elapsed();
    let actual = snapshot(&client, &ns).await;
    assert_same(&expected, &actual, "after the takeover");

    writes.extend(audit.read());
    let of = |user: &str| -> Vec<&Write> {
        writes
            .iter()
            .filter(|w| w.user == user && not_lease(w))
            .collect()
    };
    let (a, b) = (of(&users[leader]), of(&users[standby]));
    assert!(!b.is_empty(), "the new leader wrote nothing");
    let a_last = a
        .iter()
        .map(|w| w.completed)
        .max()
        .expect("the old leader's writes");
    let b_first = b
        .iter()
        .map(|w| w.received)
        .min()
        .expect("the new leader's writes");
    let overlapping: Vec<String> = a
        .iter()
        .filter(|w| w.completed >= b_first)
        .chain(b.iter().filter(|w| w.received <= a_last))
        .map(ToString::to_string)
        .collect();
    assert!(
        a_last < b_first,
        "both wrote at once: the old leader's last write completed at {a_last}, the new \
         leader's first was received at {b_first}:\n{}",
        overlapping.join("\n")
    );
    eprintln!(
        "chaos 5: took over {takeover:?} after SIGKILL (lease {LEASE_SECONDS} s); {} writes by the \
         old leader, {} by the new, {:?} apart; converged {converge:?} after the kill; the new \
         leader restarted {restarts} times after losing its lease",
        a.len(),
        b.len(),
        (b_first - a_last)
    );
    process::revoke(&client, &role).await;
}

// --- scenario 7 and the Events of blocked Listeners and TargetGroups -----------------------

fn target_group(name: &str) -> Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TargetGroup",
        "metadata": {"name": name},
        "spec": {"name": name, "protocol": "HTTP", "port": 8080, "targetType": "ip",
                 "vpcId": "vpc-0a1b2c3d", "healthCheckPath": "/"},
    })
}

/// Scenario 7 (a Listener before its TargetGroup): the Listener says `TargetGroupNotFound`;
/// once the TargetGroup is applied the Listener is reconciled again at once (the TargetGroup
/// watch maps it to the Listeners forwarding there; the resync timer is 300 s), so its
/// condition changes within seconds. The bound asserted is 15 s (a watch, not the timer, on a
/// loaded machine); the time it took is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_7_a_listener_waiting_for_its_target_group_recovers_when_it_appears() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "chaos-dangling").await;
    let op = crate::operator::Operator::start(&client, &ns);
    apply(
        &client,
        &ns,
        json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "Listener",
            "metadata": {"name": "public"},
            "spec": {
                "loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/public/50dc6c495c0c9188",
                "port": 80,
                "protocol": "HTTP",
                "defaultActions": [{"type": "forward", "targetGroupArn": "web-tg"}],
            },
        }),
    )
    .await;
    let listeners: Api<Listener> = Api::namespaced(client.clone(), &ns);
    let ready = || {
        let listeners = listeners.clone();
        async move {
            let l = listeners.get("public").await.map_err(|e| e.to_string())?;
            Ok::<_, String>(condition(
                &l.status.unwrap_or_default().common.conditions,
                "Ready",
            ))
        }
    };
    eventually("Ready=False TargetGroupNotFound", CONVERGE, || async {
        let c = ready().await?;
        if c.starts_with("False/TargetGroupNotFound") {
            Ok(())
        } else {
            Err(c)
        }
    })
    .await;
    apply(&client, &ns, target_group("web-tg")).await;
    let appeared = Instant::now();
    let bound = Duration::from_secs(15);
    let recovered = loop {
        let c = ready().await.unwrap_or_default();
        if !c.is_empty() && !c.contains("TargetGroupNotFound") {
            break c;
        }
        assert!(
            appeared.elapsed() < bound,
            "still {c} {bound:?} after the TargetGroup appeared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "chaos 7: the Listener recovered {:?} after its TargetGroup appeared ({recovered})",
        appeared.elapsed()
    );
    op.stop().await;
}

/// A TargetGroup whose Service name is taken by somebody else's Service is blocked
/// (`Ready=False`, `ChildConflict`) and says so in one Warning Event, however often it is
/// reconciled again (three changes of its metadata here): the same conflict publishes nothing
/// more, as for every other kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_group_conflict_is_one_warning_event_however_often_it_is_reconciled() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "chaos-tg-conflict").await;
    let theirs: Service = serde_json::from_value(json!({
        "metadata": {"name": ecsplane::translate::names::target_group_service_name("web-tg")},
        "spec": {"ports": [{"port": 80}]},
    }))
    .expect("a Service");
    Api::<Service>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &theirs)
        .await
        .expect("create their Service");
    let op = crate::operator::Operator::start(&client, &ns);
    apply(&client, &ns, family("web")).await;
    let mut svc = ecs_service("web", "web", 1);
    svc["spec"]["loadBalancers"] =
        json!([{"targetGroupArn": "web-tg", "containerName": "web", "containerPort": 8080}]);
    apply(&client, &ns, svc).await;
    apply(&client, &ns, target_group("web-tg")).await;
    let tgs: Api<TargetGroup> = Api::namespaced(client.clone(), &ns);
    eventually("Ready=False ChildConflict", CONVERGE, || {
        let tgs = tgs.clone();
        async move {
            let tg = tgs.get("web-tg").await.map_err(|e| e.to_string())?;
            let c = condition(&tg.status.unwrap_or_default().common.conditions, "Ready");
            if c.starts_with("False/ChildConflict") {
                Ok(())
            } else {
                Err(c)
            }
        }
    })
    .await;
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let conflicts = || {
        let events = events.clone();
        async move {
            let list = events
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(
                list.items
                    .into_iter()
                    .filter(|e| {
                        e.reason.as_deref() == Some("ChildConflict")
                            && e.regarding.as_ref().and_then(|r| r.kind.as_deref())
                                == Some("TargetGroup")
                    })
                    .collect::<Vec<Event>>(),
            )
        }
    };
    eventually("a ChildConflict Warning Event", CONVERGE, || async {
        let found = conflicts().await?;
        if found.is_empty() {
            Err("none yet".to_owned())
        } else {
            Ok(())
        }
    })
    .await;
    for i in 0..3 {
        tgs.patch(
            "web-tg",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"chaos.ecsplane.io/poke": i.to_string()}}}),
            ),
        )
        .await
        .expect("annotate the TargetGroup");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let found = conflicts().await.expect("list events");
    assert_eq!(found.len(), 1, "one Warning Event: {found:?}");
    assert_eq!(found[0].type_.as_deref(), Some("Warning"));
    assert!(
        found[0].series.is_none(),
        "the same conflict is not published again: {:?}",
        found[0].series
    );
    op.stop().await;
}
