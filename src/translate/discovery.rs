//! Service discovery as ECS gives it: Cloud Map `serviceRegistries` and Service Connect
//! (`serviceConnectConfiguration`) → Services that answer the names clients use today.
//!
//! - A Cloud Map registry becomes a **headless** Service named after the Cloud Map service:
//!   its A records are the ready pods' IPs, as Cloud Map's are the healthy tasks' IPs; with a
//!   port (`port`, or `containerName`/`containerPort`) the Service has a named port, so the
//!   cluster DNS serves SRV records for it.
//! - Each Service Connect client alias becomes a ClusterIP Service whose name is the alias's
//!   first label and whose port is the alias's port, forwarding to the container port whose
//!   portMapping is named `portName`: `orders:8080` resolves to the service's pods.
//! - A name with dots (`orders.prod.local`) is not a cluster DNS name: the Service carries it
//!   in the annotation [`ANNOTATION_DNS_NAMES`], and [`coredns_rewrites`] prints the CoreDNS
//!   `rewrite` stanza the cluster admin adds (`ecsplane dns`).
//!
//! Everything ECS does here that a Kubernetes Service does not (Cloud Map health checks and
//! custom attributes, the Service Connect proxy's timeouts, retries and outlier detection,
//! TLS, logs) is reported.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::bundle::Sourced;
use super::model::{Index, Object, Refusal, common_labels};
use super::names;
use super::placement::find_cluster;
use super::pod::is_port_name;
use super::report::{ObjectRef, Report};
use crate::api::{
    AppProtocol, ContainerDefinition, EcsService, PortMapping, ServiceConnectConfiguration,
    ServiceConnectService, ServiceRegistry, TaskDefinition, TransportProtocol,
};

/// Annotation on a discovery Service: the dotted names (`orders.prod.local`, comma separated)
/// that clients call and the CoreDNS rewrite maps to this Service.
pub const ANNOTATION_DNS_NAMES: &str = "ecsplane.io/dns-names";
/// Label on a discovery Service: `cloud-map` or `service-connect`.
pub const LABEL_DISCOVERY: &str = "ecsplane.io/discovery";
/// The cluster DNS domain the printed rewrites point into.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The discovery Services of one EcsService, or every refusal (a `portName` or container the
/// task definition does not have, a Service Connect namespace that cannot be known).
pub fn translate_discovery(
    index: &Index<'_>,
    s: &Sourced<EcsService>,
    report: &mut Report,
) -> Result<Vec<Object>, Vec<Refusal>> {
    let svc = &s.object;
    let spec = &svc.spec;
    if spec
        .service_registries
        .as_ref()
        .is_none_or(|r| r.is_empty())
        && spec.service_connect_configuration.is_none()
    {
        return Ok(Vec::new());
    }
    let obj = super::service::object_ref(svc);
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    let ns = svc.metadata.namespace.as_deref();
    // The service translator refuses a missing task definition; here it only means there is
    // nothing to resolve ports against.
    let Ok((td, _)) = index.task_definition(ns, &spec.task_definition, name) else {
        return Ok(Vec::new());
    };
    let cx = Cx {
        obj: &obj,
        name,
        ns,
        td: &td.object,
    };
    let mut objects = Vec::new();
    let mut refusals = Vec::new();
    for (i, r) in spec.service_registries.iter().flatten().enumerate() {
        match cloud_map(&cx, i, r, report) {
            Ok(o) => objects.push(o),
            Err(r) => refusals.push(r),
        }
    }
    if let Some(sc) = &spec.service_connect_configuration {
        let cluster = names::cluster_name(spec.cluster.as_deref().or(spec.cluster_arn.as_deref()));
        let default_ns = find_cluster(index, ns, cluster)
            .and_then(|c| c.spec.service_connect_defaults.as_ref())
            .map(|d| d.namespace.as_str());
        match service_connect(&cx, sc, default_ns, report) {
            Ok(o) => objects.extend(o),
            Err(r) => refusals.extend(r),
        }
    }
    if refusals.is_empty() {
        Ok(objects)
    } else {
        Err(refusals)
    }
}

/// The service being translated.
struct Cx<'a> {
    obj: &'a ObjectRef,
    name: &'a str,
    ns: Option<&'a str>,
    td: &'a TaskDefinition,
}

impl Cx<'_> {
    fn containers(&self) -> impl Iterator<Item = &ContainerDefinition> {
        self.td.spec.container_definitions.iter()
    }

    /// The discovery Service `name` selecting this service's pods.
    fn service(
        &self,
        name: String,
        kind: &str,
        headless: bool,
        ports: Vec<ServicePort>,
        dotted: Vec<String>,
    ) -> Object {
        let mut labels = common_labels();
        labels.insert(LABEL_DISCOVERY.into(), kind.into());
        labels.insert(names::LABEL_SERVICE.into(), self.name.into());
        let annotations = (!dotted.is_empty())
            .then(|| BTreeMap::from([(ANNOTATION_DNS_NAMES.to_owned(), dotted.join(","))]));
        Object::Service(Box::new(Service {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: self.ns.map(str::to_owned),
                labels: Some(labels),
                annotations,
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                cluster_ip: headless.then(|| "None".to_owned()),
                selector: Some(names::service_selector(self.name)),
                ports: (!ports.is_empty()).then_some(ports),
                ..ServiceSpec::default()
            }),
            status: None,
        }))
    }
}

/// A valid Service port name from a portMapping name, or `fallback`.
fn port_name(mapping: Option<&str>, fallback: &str) -> String {
    match mapping {
        Some(n) if is_port_name(n) => n.to_owned(),
        _ => fallback.to_owned(),
    }
}

fn l4(p: &PortMapping) -> &'static str {
    match p.protocol {
        Some(TransportProtocol::Udp) => "UDP",
        _ => "TCP",
    }
}

fn app_protocol(p: &PortMapping) -> Option<String> {
    p.app_protocol.map(|a| {
        match a {
            AppProtocol::Http => "http",
            AppProtocol::Http2 | AppProtocol::Grpc => "kubernetes.io/h2c",
        }
        .to_owned()
    })
}

/// `serviceRegistries[i]` → the headless Service of the Cloud Map service.
fn cloud_map(
    cx: &Cx<'_>,
    i: usize,
    r: &ServiceRegistry,
    report: &mut Report,
) -> Result<Object, Refusal> {
    let field = format!("spec.serviceRegistries[{i}]");
    let ServiceRegistry {
        registry_arn: _, // names only the Cloud Map service's ID: serviceName names it
        port,
        container_name,
        container_port,
        service_name,
        namespace,
    } = r;
    let cloud_map_name = service_name.as_deref().unwrap_or(cx.name);
    let k8s_name = names::dns_label(cloud_map_name);
    if service_name.is_none() {
        report.note(cx.obj, format!("{field}.serviceName"), format!("the registry ARN names only the Cloud Map service's ID: the headless Service is named after the EcsService, {k8s_name:?}; set serviceName to the Cloud Map service's name if clients call another"));
    }
    let mut ports = Vec::new();
    match (container_name, container_port, port) {
        (Some(c), Some(p), _) => {
            let Some(container) = cx.containers().find(|d| &d.name == c) else {
                return Err(Refusal::reference(
                    format!("{field}.containerName"),
                    format!(
                        "container {c:?} is not in task definition {}",
                        super::pod::task_definition_id(cx.td)
                    ),
                ));
            };
            let Some(mapping) = container
                .port_mappings
                .iter()
                .flatten()
                .find(|m| m.container_port == Some(*p))
            else {
                return Err(Refusal::reference(
                    format!("{field}.containerPort"),
                    format!("container {c:?} has no portMapping with containerPort {p}"),
                ));
            };
            ports.push(ServicePort {
                name: Some(port_name(mapping.name.as_deref(), "srv")),
                port: *p,
                target_port: Some(IntOrString::Int(*p)),
                protocol: Some(l4(mapping).into()),
                app_protocol: app_protocol(mapping),
                ..ServicePort::default()
            });
        }
        (_, _, Some(p)) => ports.push(ServicePort {
            name: Some("srv".into()),
            port: *p,
            target_port: Some(IntOrString::Int(*p)),
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        }),
        _ => {}
    }
    let mut dotted = Vec::new();
    match namespace {
        Some(n) => {
            let fqdn = format!("{cloud_map_name}.{}", n.trim_end_matches('.'));
            report.approximated(cx.obj, format!("{field}.namespace"), format!("clients calling {fqdn:?} reach the headless Service only once the cluster admin adds the CoreDNS rewrite printed by `ecsplane dns`; inside the namespace {k8s_name:?} resolves as is"));
            dotted.push(fqdn);
        }
        None => report.note(cx.obj, format!("{field}.namespace"), format!("the Cloud Map namespace is not named (set namespace, e.g. prod.local, for the DNS rewrite): clients reach the pods as {k8s_name:?} in the namespace, or {k8s_name}.NAMESPACE.svc.{CLUSTER_DOMAIN}")),
    }
    let srv = if ports.is_empty() {
        "A records only (no port given, as in Cloud Map without SRV)".to_owned()
    } else {
        format!(
            "SRV records are served as _{}._tcp.{k8s_name}.NAMESPACE.svc.{CLUSTER_DOMAIN}, not at the Cloud Map name itself",
            ports[0].name.as_deref().unwrap_or("srv")
        )
    };
    report.approximated(cx.obj, field.clone(), format!("the Cloud Map service becomes the headless Service {k8s_name:?}: A records of the ready pods' IPs; {srv}; the TTL is the cluster DNS's, not the Cloud Map DNS config's"));
    report.not_carried(cx.obj, field.clone(), "Cloud Map health checks (Route 53 or custom) and their deregistration are not carried: a pod leaves the records when its readiness probe fails (the container health check or the target group's), and custom instance attributes (AWS_INSTANCE_*, DiscoverInstances filters) have no Kubernetes equivalent");
    Ok(cx.service(k8s_name, "cloud-map", true, ports, dotted))
}

/// `serviceConnectConfiguration` → one Service per client alias (or per service without one).
fn service_connect(
    cx: &Cx<'_>,
    sc: &ServiceConnectConfiguration,
    default_ns: Option<&str>,
    report: &mut Report,
) -> Result<Vec<Object>, Vec<Refusal>> {
    const F: &str = "spec.serviceConnectConfiguration";
    let ServiceConnectConfiguration {
        enabled,
        namespace,
        services,
        log_configuration,
        access_log_configuration,
    } = sc;
    if !enabled {
        report.note(
            cx.obj,
            format!("{F}.enabled"),
            "Service Connect is disabled: nothing is created",
        );
        return Ok(Vec::new());
    }
    let Some(ns) = namespace.as_deref().or(default_ns) else {
        return Err(vec![Refusal::new(
            format!("{F}.namespace"),
            "Service Connect needs a namespace: set it here or as the EcsCluster's serviceConnectDefaults (ECS refuses the service too)",
        )]);
    };
    let ns_name = if ns.starts_with("arn:") {
        report.note(cx.obj, format!("{F}.namespace"), format!("the namespace is an ARN ({ns}), which names only its ID: aliases without a dnsName are taken as short names; give the namespace's name for the dotted default"));
        None
    } else {
        Some(ns.trim_end_matches('.'))
    };
    if log_configuration.is_some() {
        report.not_carried(
            cx.obj,
            format!("{F}.logConfiguration"),
            "there is no Service Connect proxy container whose logs to configure",
        );
    }
    if access_log_configuration.is_some() {
        report.not_carried(
            cx.obj,
            format!("{F}.accessLogConfiguration"),
            "there is no proxy writing access logs",
        );
    }
    let services = services.as_deref().unwrap_or_default();
    if services.is_empty() {
        report.note(cx.obj, format!("{F}.services"), "a client-only Service Connect service: it calls others by their aliases (the Services they get), nothing is created for it");
        return Ok(Vec::new());
    }
    report.approximated(cx.obj, F, "the Service Connect proxy's retries of failed requests and its outlier detection (ejecting endpoints that keep failing) are not carried by a Kubernetes Service, which balances per connection and drops a pod only when its readiness fails; a mesh (Istio DestinationRule outlierDetection, Envoy Gateway BackendTrafficPolicy, or the experimental GAMMA HTTPRoute retry) would carry them, and ecsplane emits none");
    let mut objects = Vec::new();
    let mut refusals = Vec::new();
    for (i, s) in services.iter().enumerate() {
        match sc_service(cx, i, s, ns_name, report) {
            Ok(o) => objects.extend(o),
            Err(r) => refusals.push(r),
        }
    }
    if refusals.is_empty() {
        Ok(objects)
    } else {
        Err(refusals)
    }
}

/// `services[i]` → its Services.
fn sc_service(
    cx: &Cx<'_>,
    i: usize,
    s: &ServiceConnectService,
    ns_name: Option<&str>,
    report: &mut Report,
) -> Result<Vec<Object>, Refusal> {
    let field = format!("spec.serviceConnectConfiguration.services[{i}]");
    let ServiceConnectService {
        port_name: pn,
        discovery_name,
        client_aliases,
        ingress_port_override,
        timeout,
        tls,
    } = s;
    let Some(mapping) = cx
        .containers()
        .flat_map(|c| c.port_mappings.iter().flatten())
        .find(|m| m.name.as_deref() == Some(pn.as_str()))
    else {
        return Err(Refusal::reference(
            format!("{field}.portName"),
            format!(
                "no portMapping of task definition {} is named {pn:?} (ECS refuses the service too)",
                super::pod::task_definition_id(cx.td)
            ),
        ));
    };
    let Some(container_port) = mapping.container_port else {
        return Err(Refusal::new(
            format!("{field}.portName"),
            format!("portMapping {pn:?} is a port range; a Service forwards to one port"),
        ));
    };
    if ingress_port_override.is_some() {
        report.not_carried(cx.obj, format!("{field}.ingressPortOverride"), "there is no proxy listening in front of the container: the Service forwards straight to the container port");
    }
    if tls.is_some() {
        report.not_carried(cx.obj, format!("{field}.tls"), "proxy-to-proxy TLS with AWS Private CA is not carried; a mesh with mTLS would carry it");
    }
    if let Some(t) = timeout {
        if let Some(v) = t.per_request_timeout_seconds {
            report.not_carried(cx.obj, format!("{field}.timeout.perRequestTimeoutSeconds"), format!("a Service has no request timeout ({v} s); a GAMMA mesh would carry it as HTTPRoute timeouts.request on a Service parentRef, which ecsplane does not emit"));
        }
        if let Some(v) = t.idle_timeout_seconds {
            report.not_carried(cx.obj, format!("{field}.timeout.idleTimeoutSeconds"), format!("a Service has no idle timeout ({v} s); Gateway API has none either (a mesh's own policy, such as Istio's DestinationRule idleTimeout, would carry it)"));
        }
    }
    let discovery = discovery_name.as_deref().unwrap_or(pn);
    let port = |p: i32| ServicePort {
        name: Some(port_name(Some(pn), "tcp")),
        port: p,
        target_port: Some(IntOrString::Int(container_port)),
        protocol: Some(l4(mapping).into()),
        app_protocol: app_protocol(mapping),
        ..ServicePort::default()
    };
    let aliases = client_aliases.as_deref().unwrap_or_default();
    if aliases.is_empty() {
        report.note(cx.obj, format!("{field}.clientAliases"), format!("no client alias: the Service {:?} on the container port {container_port} stands for the Cloud Map service {discovery:?}", names::dns_label(discovery)));
        return Ok(vec![cx.service(
            names::dns_label(discovery),
            "service-connect",
            false,
            vec![port(container_port)],
            Vec::new(),
        )]);
    }
    let mut out = Vec::new();
    for (j, a) in aliases.iter().enumerate() {
        if a.test_traffic_rules.is_some() {
            report.not_carried(
                cx.obj,
                format!("{field}.clientAliases[{j}].testTrafficRules"),
                "blue/green test traffic rules are not carried: deployments are rolling",
            );
        }
        let dns = match (&a.dns_name, ns_name) {
            (Some(d), _) => d.trim_end_matches('.').to_owned(),
            (None, Some(n)) => format!("{discovery}.{n}"),
            (None, None) => discovery.to_owned(),
        };
        let first = dns.split('.').next().unwrap_or(&dns);
        let k8s_name = names::dns_label(first);
        let dotted = if dns.contains('.') {
            report.approximated(cx.obj, format!("{field}.clientAliases[{j}]"), format!("clients calling {dns}:{} reach the Service {k8s_name:?} once the cluster admin adds the CoreDNS rewrite printed by `ecsplane dns`; {k8s_name}:{} resolves in the namespace without it", a.port, a.port));
            vec![dns.clone()]
        } else {
            Vec::new()
        };
        out.push(cx.service(
            k8s_name,
            "service-connect",
            false,
            vec![port(a.port)],
            dotted,
        ));
    }
    Ok(out)
}

/// One CoreDNS rewrite: clients ask for `from`, the cluster DNS answers for `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rewrite {
    /// The name clients call (`orders.prod.local`).
    pub from: String,
    /// The Service's cluster DNS name (`orders.shop.svc.cluster.local`).
    pub to: String,
}

/// The rewrites the discovery Services among `objects` ask for (their
/// [`ANNOTATION_DNS_NAMES`]), sorted; a Service without a namespace is taken to be in
/// `default_namespace`.
pub fn rewrites(objects: &[Object], default_namespace: &str) -> Vec<Rewrite> {
    let mut out: Vec<Rewrite> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Service(s) => Some(s),
            _ => None,
        })
        .flat_map(|s| {
            let ns = s.metadata.namespace.as_deref().unwrap_or(default_namespace);
            let name = s.metadata.name.as_deref().unwrap_or_default();
            let to = format!("{name}.{ns}.svc.{CLUSTER_DOMAIN}");
            s.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_DNS_NAMES))
                .map(|v| {
                    v.split(',')
                        .filter(|n| !n.is_empty())
                        .map(|n| Rewrite {
                            from: n.to_owned(),
                            to: to.clone(),
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The CoreDNS stanza for `rewrites`: lines the cluster admin adds inside the `.:53 { ... }`
/// server block of the `coredns` ConfigMap, before `kubernetes`. `answer auto` rewrites the
/// answer back to the name the client asked for, as resolvers require. Empty when there is
/// nothing to rewrite.
pub fn coredns_rewrites(rewrites: &[Rewrite]) -> String {
    if rewrites.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "# Add inside the `.:53 { ... }` block of the kube-system/coredns ConfigMap, before\n# the `kubernetes` line, then let CoreDNS reload (the `reload` plugin) or restart it.\n",
    );
    for r in rewrites {
        out.push_str(&format!(
            "rewrite stop name exact {} {} answer auto\n",
            r.from, r.to
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::translate;

    const TWO_SERVICES: &str = include_str!("../../tests/render/service-discovery.yaml");

    fn translation(text: &str) -> crate::translate::Translation {
        let (bundle, errors) = crate::load::load_str("service-discovery.yaml", text);
        assert!(errors.is_empty(), "{errors}");
        translate(&bundle).expect("translates")
    }

    fn discovery_services(t: &crate::translate::Translation) -> Vec<&Object> {
        t.objects
            .iter()
            .filter(|o| match o {
                Object::Service(s) => s
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(LABEL_DISCOVERY)),
                _ => false,
            })
            .collect()
    }

    /// Every discovery Service of a Cloud Map service and a Service Connect service, whole.
    #[test]
    fn cloud_map_and_service_connect_services_render_to_these_exact_objects() {
        insta::assert_yaml_snapshot!(discovery_services(&translation(TWO_SERVICES)));
    }

    #[test]
    fn cloud_map_and_service_connect_report_every_difference() {
        let t = translation(TWO_SERVICES);
        let findings: Vec<_> = t
            .report
            .findings
            .iter()
            .filter(|f| {
                f.field.starts_with("spec.serviceRegistries")
                    || f.field.starts_with("spec.serviceConnectConfiguration")
            })
            .collect();
        insta::assert_yaml_snapshot!(findings);
    }

    #[test]
    fn dotted_names_become_coredns_rewrites_to_the_services() {
        let t = translation(TWO_SERVICES);
        insta::assert_snapshot!(coredns_rewrites(&rewrites(&t.objects, "default")));
    }

    #[test]
    fn a_port_name_the_task_definition_lacks_is_refused() {
        let text = TWO_SERVICES.replace("portName: http", "portName: nope");
        let (bundle, errors) = crate::load::load_str("x.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        let err = translate(&bundle).unwrap_err();
        assert!(err.to_string().contains("named \"nope\""), "{err}");
    }

    #[test]
    fn service_connect_without_any_namespace_is_refused() {
        let text = TWO_SERVICES.replace(
            "    enabled: true\n    namespace: prod.local\n",
            "    enabled: true\n",
        );
        let (bundle, errors) = crate::load::load_str("x.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        let err = translate(&bundle).unwrap_err();
        assert!(err.to_string().contains("needs a namespace"), "{err}");
    }

    #[test]
    fn the_cluster_default_namespace_names_an_alias_without_dns_name() {
        let text = TWO_SERVICES
            .replace(
                "    enabled: true\n    namespace: prod.local\n",
                "    enabled: true\n",
            )
            .replace("            dnsName: orders-admin.prod.local\n", "")
            + "---\napiVersion: ecsplane.io/v1alpha1\nkind: EcsCluster\nmetadata: {name: default}\nspec: {serviceConnectDefaults: {namespace: corp.internal}}\n";
        let t = translation(&text);
        let rw = rewrites(&t.objects, "default");
        assert!(
            rw.iter()
                .any(|r| r.from == "admin.corp.internal"
                    && r.to == "admin.default.svc.cluster.local"),
            "{rw:?}"
        );
    }

    #[test]
    fn no_rewrites_print_nothing() {
        assert_eq!(coredns_rewrites(&[]), "");
    }

    #[test]
    fn a_disabled_service_connect_creates_nothing_and_says_so() {
        let text = TWO_SERVICES.replace("enabled: true", "enabled: false");
        let t = translation(&text);
        assert!(
            discovery_services(&t)
                .iter()
                .all(|o| !o.kind_and_name().1.starts_with("orders"))
        );
        assert!(
            t.report
                .findings
                .iter()
                .any(|f| f.message.contains("disabled"))
        );
    }
}
