//! Cloud Map in a template: `AWS::ServiceDiscovery::PrivateDnsNamespace`,
//! `PublicDnsNamespace`, `HttpNamespace` and `Service` become no objects of their own; the
//! ECS resources that name them read them.
//!
//! - A `ServiceRegistries[]` entry whose `RegistryArn` is `!GetAtt S.Arn` (or `!Ref S`) of an
//!   `AWS::ServiceDiscovery::Service` gets the Cloud Map service's `Name` as `serviceName` and
//!   its namespace's `Name` as `namespace` (what the headless Service and the CoreDNS rewrite
//!   are named after); the ARN, known only after deployment, is dropped with a note.
//! - A Service Connect namespace (`ServiceConnectConfiguration.Namespace`, the cluster's
//!   `ServiceConnectDefaults.Namespace`) that names a namespace of the template becomes that
//!   namespace's name, which ECS accepts as well as the ARN.
//!
//! What a Kubernetes Service does not do is a report line each: DNS TTLs, `WEIGHTED` routing,
//! CNAME records, Route 53 and custom health checks, public DNS and HTTP-only (API) discovery.
//!
//! This runs on the renamed, not yet evaluated properties: the names it copies in are
//! expressions (`!Ref WorkloadName`) the evaluation resolves like any other.

use serde_json::{Map, Value};

use super::evaluate::Template;
use crate::import::{Collected, Location, NoteKind};

/// The Cloud Map resource types, read by the ECS resources that name them.
pub(super) const TYPES: &[&str] = &[
    "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::ServiceDiscovery::PublicDnsNamespace",
    "AWS::ServiceDiscovery::HttpNamespace",
    "AWS::ServiceDiscovery::Service",
];

const SERVICE: &str = "AWS::ServiceDiscovery::Service";
const PRIVATE: &str = "AWS::ServiceDiscovery::PrivateDnsNamespace";
const PUBLIC: &str = "AWS::ServiceDiscovery::PublicDnsNamespace";
const HTTP: &str = "AWS::ServiceDiscovery::HttpNamespace";

/// A Cloud Map resource: nothing of its own is written. One that no ECS resource of the
/// template names gets a note saying it was not used.
pub(super) fn convert_resource(t: &Template, id: &str, ty: &str, out: &mut Collected) {
    let used = t.resources().iter().any(|(other, res)| {
        other != id
            && res
                .get("Type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("AWS::ECS::") || t == SERVICE)
            && res.get("Properties").is_some_and(|p| names(p, id))
    });
    if !used {
        out.note(
            NoteKind::Skipped,
            t.file,
            Some(id),
            None,
            format!(
                "{ty}: no ECS service or cluster of the template uses it, so nothing carries it"
            ),
        );
    }
}

/// Whether `v` contains a `Ref` or `Fn::GetAtt` of resource `id`.
fn names(v: &Value, id: &str) -> bool {
    if reference(v).is_some_and(|(r, _)| r == id) {
        return true;
    }
    match v {
        Value::Array(a) => a.iter().any(|x| names(x, id)),
        Value::Object(m) => m.values().any(|x| names(x, id)),
        _ => false,
    }
}

/// The resource (and attribute) a `Ref` or `Fn::GetAtt` names.
fn reference(v: &Value) -> Option<(&str, Option<&str>)> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    if let Some(Value::String(r)) = m.get("Ref") {
        return Some((r.as_str(), None));
    }
    match m.get("Fn::GetAtt")? {
        Value::Array(a) => match a.as_slice() {
            [Value::String(r), Value::String(att)] => Some((r.as_str(), Some(att.as_str()))),
            _ => None,
        },
        Value::String(s) => s.split_once('.').map(|(r, a)| (r, Some(a))),
        _ => None,
    }
}

/// The type and properties of the template's resource that `v` references.
fn target<'t>(t: &'t Template, v: &Value) -> Option<(&'t str, &'t str, &'t Value)> {
    let (id, _) = reference(v)?;
    let (id, res) = t.resources().get_key_value(id)?;
    let ty = res.get("Type").and_then(Value::as_str)?;
    static EMPTY: Value = Value::Null;
    Some((id.as_str(), ty, res.get("Properties").unwrap_or(&EMPTY)))
}

/// Applies `f` to each mapping of a list, also inside the branches of `Fn::If`.
fn each_entry(v: &mut Value, f: &mut impl FnMut(usize, &mut Map<String, Value>)) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                if let Value::Object(m) = item {
                    f(i, m);
                }
            }
        }
        Value::Object(m) if m.len() == 1 => {
            if let Some(Value::Array(branches)) = m.get_mut("Fn::If") {
                for b in branches.iter_mut().skip(1) {
                    each_entry(b, f);
                }
            }
        }
        _ => {}
    }
}

/// Resolves the Cloud Map names of an `AWS::ECS::Service`'s renamed properties (see the
/// module documentation) and reports what a Kubernetes Service does not carry.
pub(super) fn resolve_service(
    t: &Template,
    props: &mut Value,
    source: &Location,
    out: &mut Collected,
) {
    if let Some(registries) = props.get_mut("serviceRegistries") {
        each_entry(registries, &mut |i, entry| {
            registry(t, i, entry, source, out);
        });
    }
    if let Some(sc) = props
        .get_mut("serviceConnectConfiguration")
        .and_then(Value::as_object_mut)
    {
        namespace_name(t, sc, "serviceConnectConfiguration.namespace", source, out);
    }
}

/// Resolves the Service Connect default namespace of an `AWS::ECS::Cluster`.
pub(super) fn resolve_cluster(
    t: &Template,
    props: &mut Value,
    source: &Location,
    out: &mut Collected,
) {
    if let Some(d) = props
        .get_mut("serviceConnectDefaults")
        .and_then(Value::as_object_mut)
    {
        namespace_name(t, d, "serviceConnectDefaults.namespace", source, out);
    }
}

/// `m.namespace`, when it names a namespace of the template, becomes the namespace's name.
fn namespace_name(
    t: &Template,
    m: &mut Map<String, Value>,
    path: &str,
    source: &Location,
    out: &mut Collected,
) {
    let Some((id, ty, props)) = m.get("namespace").and_then(|v| target(t, v)) else {
        return;
    };
    if ![PRIVATE, PUBLIC, HTTP].contains(&ty) {
        return;
    }
    let Some(name) = props.get("Name") else {
        return;
    };
    m.insert("namespace".into(), name.clone());
    out.note_at(
        NoteKind::Assumed,
        source,
        Some(path),
        format!("the Cloud Map namespace {id} ({ty}) is named by its Name, which ECS accepts as well as its ARN (known only after deployment)"),
    );
}

/// One `serviceRegistries[i]` entry.
fn registry(
    t: &Template,
    i: usize,
    entry: &mut Map<String, Value>,
    source: &Location,
    out: &mut Collected,
) {
    let field = format!("serviceRegistries[{i}]");
    let Some((id, ty, props)) = entry.get("registryArn").and_then(|v| target(t, v)) else {
        return;
    };
    if ty != SERVICE {
        return;
    }
    entry.remove("registryArn");
    let mut note = |kind: NoteKind, path: &str, message: String| {
        out.note_at(kind, source, Some(&format!("{field}{path}")), message);
    };
    note(
        NoteKind::Dropped,
        ".registryArn",
        format!(
            "the ARN of the Cloud Map service {id} is only known after deployment: the registry is named by the service's Name and its namespace's instead"
        ),
    );
    match props.get("Name") {
        Some(name) if !entry.contains_key("serviceName") => {
            entry.insert("serviceName".into(), name.clone());
        }
        Some(_) => {}
        None => note(
            NoteKind::Dropped,
            ".serviceName",
            format!(
                "the Cloud Map service {id} has no Name (CloudFormation would generate one): the headless Service is named after the ECS service"
            ),
        ),
    }
    let namespace = props
        .get("NamespaceId")
        .or_else(|| props.get("DnsConfig").and_then(|d| d.get("NamespaceId")));
    match namespace.and_then(|v| target(t, v)) {
        Some((ns_id, ns_ty, ns_props)) if [PRIVATE, PUBLIC].contains(&ns_ty) => {
            if let Some(name) = ns_props.get("Name")
                && !entry.contains_key("namespace")
            {
                entry.insert("namespace".into(), name.clone());
            }
            if ns_ty == PUBLIC {
                note(
                    NoteKind::Dropped,
                    ".namespace",
                    format!(
                        "{ns_id} is a public DNS namespace: its records answered on the internet; the CoreDNS rewrite answers the same name inside the cluster only"
                    ),
                );
            }
        }
        Some((ns_id, HTTP, _)) => note(
            NoteKind::Dropped,
            ".namespace",
            format!(
                "{ns_id} is an HTTP namespace: clients found the tasks with the DiscoverInstances API, which has no Kubernetes equivalent; in the cluster they call the headless Service by its name"
            ),
        ),
        _ if namespace.is_some() => note(
            NoteKind::Dropped,
            ".namespace",
            format!(
                "the namespace of the Cloud Map service {id} is not a namespace of this template (its ID is only an ID): set {field}.namespace to its name, such as prod.local, for the CoreDNS rewrite"
            ),
        ),
        _ => {}
    }
    if props.get("Type").and_then(Value::as_str) == Some("HTTP") {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "the Cloud Map service {id} is of Type HTTP (no DNS records): found only through DiscoverInstances, which has no Kubernetes equivalent"
            ),
        );
    }
    if let Some(dns) = props.get("DnsConfig") {
        dns_config(id, dns, entry, &mut note);
    }
    if props.get("HealthCheckCustomConfig").is_some() {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "the custom health check of the Cloud Map service {id} (UpdateInstanceCustomHealthStatus) is not carried: a pod leaves the records when its readiness probe fails"
            ),
        );
    }
    if props.get("HealthCheckConfig").is_some() {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "the Route 53 health check of the Cloud Map service {id} is not carried: a pod leaves the records when its readiness probe fails"
            ),
        );
    }
}

/// What of a Cloud Map service's `DnsConfig` is not carried.
fn dns_config(
    id: &str,
    dns: &Value,
    entry: &Map<String, Value>,
    note: &mut impl FnMut(NoteKind, &str, String),
) {
    if dns.get("RoutingPolicy").and_then(Value::as_str) == Some("WEIGHTED") {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "WEIGHTED routing of the Cloud Map service {id} (one healthy record per query) is not carried: the headless Service answers every ready pod, as MULTIVALUE does"
            ),
        );
    }
    let records = dns.get("DnsRecords").and_then(Value::as_array);
    let mut ttls = Vec::new();
    for r in records.into_iter().flatten() {
        let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        if let Some(ttl) = r.get("TTL") {
            ttls.push(format!("{ty} {} s", crate::import::text(ttl)));
        }
        match ty {
            "CNAME" => note(
                NoteKind::Dropped,
                "",
                format!(
                    "the CNAME records of the Cloud Map service {id} are not carried: the headless Service answers A records"
                ),
            ),
            "AAAA" => note(
                NoteKind::Dropped,
                "",
                format!(
                    "the AAAA records of the Cloud Map service {id}: the headless Service answers the pods' addresses of the cluster's IP families"
                ),
            ),
            "SRV"
                if !["port", "containerName", "containerPort"]
                    .iter()
                    .any(|k| entry.contains_key(*k)) =>
            {
                note(
                    NoteKind::Dropped,
                    "",
                    format!(
                        "the Cloud Map service {id} has SRV records but the registry names no Port or ContainerName/ContainerPort (ECS requires one): no named port, so no SRV records"
                    ),
                )
            }
            _ => {}
        }
    }
    if !ttls.is_empty() {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "the DNS TTLs of the Cloud Map service {id} ({}) are not carried: the cluster DNS's TTL applies",
                ttls.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use crate::import::{Conversion, ConvertOptions, NoteKind, convert_sources};

    fn convert(template: serde_json::Value) -> Conversion {
        let text = serde_json::to_string(&template).expect("json");
        convert_sources(
            &[(Path::new("app.json").to_path_buf(), text)],
            &ConvertOptions::default(),
        )
        .expect("converts")
    }

    fn task_definition(family: &str, port_name: &str, port: i32) -> serde_json::Value {
        json!({"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": family, "NetworkMode": "awsvpc",
            "ContainerDefinitions": [{"Name": "app", "Image": "nginx", "Memory": 128,
                "PortMappings": [{"Name": port_name, "ContainerPort": port}]}]}})
    }

    fn template() -> serde_json::Value {
        json!({"Resources": {
            "Namespace": {"Type": "AWS::ServiceDiscovery::PrivateDnsNamespace",
                "Properties": {"Name": "prod.local", "Vpc": "vpc-1"}},
            "Discovery": {"Type": "AWS::ServiceDiscovery::Service", "Properties": {
                "Name": "payments",
                "NamespaceId": {"Ref": "Namespace"},
                "DnsConfig": {"RoutingPolicy": "WEIGHTED",
                    "DnsRecords": [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 10}]},
                "HealthCheckCustomConfig": {"FailureThreshold": 1}}},
            "PaymentsTd": task_definition("payments", "grpc", 9000),
            "Payments": {"Type": "AWS::ECS::Service", "Properties": {
                "ServiceName": "payments", "TaskDefinition": {"Ref": "PaymentsTd"}, "DesiredCount": 2,
                "ServiceRegistries": [{"RegistryArn": {"Fn::GetAtt": ["Discovery", "Arn"]},
                    "ContainerName": "app", "ContainerPort": 9000}]}},
            "OrdersTd": task_definition("orders", "http", 8080),
            "Orders": {"Type": "AWS::ECS::Service", "Properties": {
                "ServiceName": "orders", "TaskDefinition": {"Ref": "OrdersTd"}, "DesiredCount": 2,
                "ServiceConnectConfiguration": {"Enabled": true,
                    "Namespace": {"Fn::GetAtt": ["Namespace", "Arn"]},
                    "Services": [{"PortName": "http", "DiscoveryName": "orders",
                        "ClientAliases": [{"Port": 8080, "DnsName": "orders"}],
                        "Timeout": {"PerRequestTimeoutSeconds": 30}}]}}},
        }})
    }

    fn spec(c: &Conversion, name: &str) -> serde_json::Value {
        let o = c
            .objects
            .iter()
            .find(|o| o.kind.as_str() == "EcsService" && o.manifest["spec"]["serviceName"] == name)
            .unwrap_or_else(|| panic!("EcsService {name} in {:?}", c.objects));
        o.manifest["spec"].clone()
    }

    fn messages(c: &Conversion, path: &str) -> Vec<String> {
        c.notes
            .iter()
            .filter(|n| n.location.path.as_deref() == Some(path))
            .map(|n| format!("{}: {}", n.kind, n.message))
            .collect()
    }

    #[test]
    fn a_registry_of_a_cloud_map_service_gets_its_name_and_namespace() {
        let c = convert(template());
        assert_eq!(
            spec(&c, "payments")["serviceRegistries"],
            json!([{"containerName": "app", "containerPort": 9000, "serviceName": "payments", "namespace": "prod.local"}])
        );
        let notes = messages(&c, "serviceRegistries[0]").join("\n");
        for what in ["WEIGHTED", "TTLs", "custom health check"] {
            assert!(notes.contains(what), "{what}: {notes}");
        }
        assert!(!messages(&c, "serviceRegistries[0].registryArn").is_empty());
    }

    #[test]
    fn a_service_connect_namespace_of_the_template_becomes_its_name() {
        let c = convert(template());
        let sc = &spec(&c, "orders")["serviceConnectConfiguration"];
        assert_eq!(sc["namespace"], "prod.local");
        assert_eq!(sc["services"][0]["clientAliases"][0]["port"], 8080);
        assert_eq!(sc["services"][0]["timeout"]["perRequestTimeoutSeconds"], 30);
    }

    #[test]
    fn the_cloud_map_resources_are_carried_not_skipped() {
        let c = convert(template());
        assert!(
            !c.notes.iter().any(|n| n.kind == NoteKind::Skipped),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn an_http_namespace_and_an_unused_namespace_are_reported() {
        let mut t = template();
        t["Resources"]["Namespace"]["Type"] = json!("AWS::ServiceDiscovery::HttpNamespace");
        t["Resources"]["Spare"] = json!({"Type": "AWS::ServiceDiscovery::PublicDnsNamespace",
            "Properties": {"Name": "example.com"}});
        let c = convert(t);
        assert!(
            spec(&c, "payments")["serviceRegistries"][0]
                .get("namespace")
                .is_none()
        );
        assert!(
            messages(&c, "serviceRegistries[0].namespace")
                .iter()
                .any(|m| m.contains("DiscoverInstances"))
        );
        // Service Connect namespaces are HTTP namespaces as often as DNS ones.
        assert_eq!(
            spec(&c, "orders")["serviceConnectConfiguration"]["namespace"],
            "prod.local"
        );
        assert!(c.notes.iter().any(
            |n| n.kind == NoteKind::Skipped && n.location.resource.as_deref() == Some("Spare")
        ));
    }

    #[test]
    fn a_registry_arn_that_is_no_cloud_map_service_of_the_template_is_left_as_it_is() {
        let mut t = template();
        t["Resources"]["Payments"]["Properties"]["ServiceRegistries"][0]["RegistryArn"] =
            json!("arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1");
        let c = convert(t);
        assert_eq!(
            spec(&c, "payments")["serviceRegistries"][0]["registryArn"],
            "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1"
        );
    }
}
