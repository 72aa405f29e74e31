//! Service-to-service networking as ECS gave it (issue 18), on the real control plane: a
//! Cloud Map registry and Service Connect client aliases become Services with the names and
//! ports clients use, and the real endpointslice controller lists exactly the pods' IPs (kwok
//! gives every pod one) behind them; the dual-run profile on a cluster without the AWS Load
//! Balancer Controller's CRD says so on the TargetGroup instead of crash-looping.
//!
//! Cost: two namespaces, four pods and two more (kwok, no containers run), each test about
//! 10–20 s on two cores once the control plane is up.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ecsplane::api::TargetGroup;
use ecsplane::controller::{self, NoTelemetry, Options};
use ecsplane::translate::discovery::{ANNOTATION_DNS_NAMES, LABEL_DISCOVERY};
use ecsplane::translate::routing::RoutingOptions;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::harness;
use crate::operator::{CONVERGE, Operator, apply_all, condition, eventually, test_namespace};

fn fixture(name: &str) -> Vec<Value> {
    harness::documents(&harness::repo_root().join("tests/render").join(name))
}

/// The Service `name`, once the operator has made it.
async fn service(client: &Client, ns: &str, name: &str) -> Service {
    let api: Api<Service> = Api::namespaced(client.clone(), ns);
    eventually(&format!("Service {name}"), CONVERGE, || {
        let api = api.clone();
        async move {
            api.get_opt(name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "absent".to_owned())
        }
    })
    .await
}

/// `(name, port, targetPort)` of each port of a Service.
fn ports(s: &Service) -> Vec<(String, i32, String)> {
    s.spec
        .iter()
        .flat_map(|spec| spec.ports.iter().flatten())
        .map(|p| {
            let target = match &p.target_port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i)) => {
                    i.to_string()
                }
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => {
                    s.clone()
                }
                None => String::new(),
            };
            (p.name.clone().unwrap_or_default(), p.port, target)
        })
        .collect()
}

/// Waits until the EndpointSlices of Service `name` list exactly the IPs of the `count` pods
/// its selector picks, ready, on `port` (the endpointslice controller's view, not ours).
async fn endpoints_are_the_pods(client: &Client, ns: &str, name: &str, count: usize, port: i32) {
    let svc = service(client, ns, name).await;
    let selector = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .expect("a discovery Service selects the service's pods");
    let selector = selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    eventually(
        &format!("EndpointSlices of {name} = the IPs of its {count} pods on port {port}"),
        CONVERGE,
        || {
            let (pods, slices, selector) = (pods.clone(), slices.clone(), selector.clone());
            async move {
                let ips: BTreeSet<String> = pods
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .map_err(|e| e.to_string())?
                    .items
                    .into_iter()
                    .filter_map(|p| p.status?.pod_ip)
                    .collect();
                if ips.len() != count {
                    return Err(format!("pod IPs so far: {ips:?}"));
                }
                let list = slices
                    .list(
                        &ListParams::default()
                            .labels(&format!("kubernetes.io/service-name={name}")),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let mut listed = BTreeSet::new();
                let mut slice_ports = BTreeSet::new();
                for s in &list.items {
                    for p in s.ports.iter().flatten() {
                        slice_ports.insert(p.port.unwrap_or_default());
                    }
                    for e in s.endpoints.iter().flatten() {
                        if e.conditions.as_ref().and_then(|c| c.ready) == Some(true) {
                            listed.extend(e.addresses.iter().cloned());
                        }
                    }
                }
                if listed == ips && slice_ports == BTreeSet::from([port]) {
                    Ok(())
                } else {
                    Err(format!(
                        "pods {ips:?}; ready endpoints {listed:?} on ports {slice_ports:?}"
                    ))
                }
            }
        },
    )
    .await;
}

/// `orders` offers Service Connect aliases `orders:8080` and `orders-admin.prod.local:9090`;
/// `payments` registers in Cloud Map with SRV records on its container port 9000. The
/// operator makes `orders` and `orders-admin` (ClusterIP, the alias ports, the dotted name in
/// the annotation the CoreDNS rewrite reads) and the headless `payments` (A records of the
/// pods, SRV through its named port); the endpointslice controller puts exactly the pods' IPs
/// behind each. Removing the registry from the service removes its Service.
#[tokio::test(flavor = "multi_thread")]
async fn cloud_map_and_service_connect_names_resolve_to_exactly_the_pods() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "net-discovery").await;
    let operator = Operator::start(&client, &ns);
    let docs = fixture("service-discovery.yaml");
    apply_all(&client, &ns, &docs).await;

    let orders = service(&client, &ns, "orders").await;
    assert_eq!(
        ports(&orders),
        vec![("http".to_owned(), 8080, "8080".to_owned())]
    );
    assert_ne!(
        orders.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()),
        Some("None"),
        "a client alias is a ClusterIP Service"
    );
    assert_eq!(
        orders.labels().get(LABEL_DISCOVERY).map(String::as_str),
        Some("service-connect")
    );
    let admin = service(&client, &ns, "orders-admin").await;
    assert_eq!(
        ports(&admin),
        vec![("admin".to_owned(), 9090, "9090".to_owned())]
    );
    assert_eq!(
        admin
            .annotations()
            .get(ANNOTATION_DNS_NAMES)
            .map(String::as_str),
        Some("orders-admin.prod.local")
    );
    let payments = service(&client, &ns, "payments").await;
    assert_eq!(
        payments.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()),
        Some("None"),
        "Cloud Map A records are the pods' own IPs: a headless Service"
    );
    assert_eq!(
        ports(&payments),
        vec![("grpc".to_owned(), 9000, "9000".to_owned())],
        "the SRV records' port, named so cluster DNS serves _grpc._tcp.payments"
    );
    assert_eq!(
        payments
            .annotations()
            .get(ANNOTATION_DNS_NAMES)
            .map(String::as_str),
        Some("payments.prod.local")
    );

    endpoints_are_the_pods(&client, &ns, "orders", 2, 8080).await;
    endpoints_are_the_pods(&client, &ns, "orders-admin", 2, 9090).await;
    endpoints_are_the_pods(&client, &ns, "payments", 2, 9000).await;

    // The service leaves Cloud Map: its headless Service goes, the aliases of orders stay.
    let mut without = docs
        .iter()
        .find(|d| d["kind"] == "EcsService" && d["metadata"]["name"] == "payments")
        .expect("payments in the fixture")
        .clone();
    without["spec"]
        .as_object_mut()
        .expect("a spec")
        .remove("serviceRegistries");
    apply_all(&client, &ns, &[without]).await;
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    eventually("Service payments removed", CONVERGE, || {
        let services = services.clone();
        async move {
            match services
                .get_opt("payments")
                .await
                .map_err(|e| e.to_string())?
            {
                None => Ok(()),
                Some(_) => Err("still there".into()),
            }
        }
    })
    .await;
    assert!(services.get_opt("orders").await.unwrap().is_some());
    operator.stop().await;
}

/// `--target-group-binding` on a cluster without the AWS Load Balancer Controller (no
/// `targetgroupbindings.elbv2.k8s.aws` CRD; the controller's module is not served to this
/// project, see docs/migration.md): the TargetGroup's Ready condition says the CRD is missing,
/// its Service is still made (the pods are reachable in the cluster), and the operator keeps
/// running.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_target_group_binding_crd_the_target_group_says_so_and_keeps_its_service() {
    let client = harness::client().await;
    harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "net-tgb").await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let options = Options {
        namespace: Some(ns.clone()),
        routing: RoutingOptions {
            target_group_binding: true,
            ..RoutingOptions::default()
        },
        ..Options::default()
    };
    let handle = tokio::spawn(controller::run_with(
        client.clone(),
        Arc::new(NoTelemetry),
        options,
        async {
            let _ = rx.await;
        },
    ));
    apply_all(&client, &ns, &fixture("dual-run.yaml")).await;

    let tgs: Api<TargetGroup> = Api::namespaced(client.clone(), &ns);
    let message = eventually(
        "TargetGroup web-tg Ready=False naming the missing CRD",
        CONVERGE,
        || {
            let tgs = tgs.clone();
            async move {
                let tg = tgs.get("web-tg").await.map_err(|e| e.to_string())?;
                let conditions = tg.status.unwrap_or_default().common.conditions;
                match conditions.iter().find(|c| c.type_ == "Ready") {
                    Some(c) if c.status == "False" && c.message.contains("TargetGroupBinding") => {
                        Ok(format!("{}: {}", c.reason, c.message))
                    }
                    _ => Err(condition(&conditions, "Ready")),
                }
            }
        },
    )
    .await;
    assert!(message.contains("elbv2.k8s.aws"), "{message}");
    let svc = service(&client, &ns, "web-tg").await;
    assert_eq!(svc.spec.and_then(|s| s.ports).map(|p| p.len()), Some(1));
    // A few resyncs later the operator still runs.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!handle.is_finished(), "the operator stopped: {message}");
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(60), handle)
        .await
        .expect("the operator stops within 60 s")
        .expect("the operator task ends")
        .expect("the operator ends cleanly");
}
