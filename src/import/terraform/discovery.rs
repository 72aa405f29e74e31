//! Cloud Map in Terraform: `aws_service_discovery_private_dns_namespace`,
//! `_public_dns_namespace`, `_http_namespace` and `aws_service_discovery_service` become no
//! objects of their own; the ECS resources that name them read them.
//!
//! - `aws_service_discovery_service.X.arn` (or `.id`) evaluates to a marker holding the Cloud
//!   Map service's evaluated `name`, namespace and DNS configuration ([`attribute`]); a
//!   namespace's `.arn` or `.id` to a marker of its type and `name`.
//! - [`reshape`] turns an `aws_ecs_service`'s `service_registries` entry whose `registry_arn`
//!   is such a marker into `serviceName` and `namespace` (what the headless Service and the
//!   CoreDNS rewrite are named after; the ARN, known only after `terraform apply`, is dropped
//!   with a note), its `service_connect_configuration` blocks into the API's shape
//!   (`service` → `services`, `client_alias` → `clientAliases`), and a namespace marker
//!   anywhere into the namespace's name, which ECS accepts as well as the ARN.
//!
//! What a Kubernetes Service does not do is a report line each: DNS TTLs, `WEIGHTED` routing,
//! CNAME records, Route 53 and custom health checks, public DNS and HTTP-only (API) discovery.
//! `terraform show -json` gives real ARNs, which stay as they are.

use serde_json::{Map, Value};

use super::evaluate::Ctx;
use super::tree::Resource;
use crate::import::{Collected, Kind, Location, NoteKind, text};

const SERVICE: &str = "aws_service_discovery_service";
const PRIVATE: &str = "aws_service_discovery_private_dns_namespace";
const PUBLIC: &str = "aws_service_discovery_public_dns_namespace";
const HTTP: &str = "aws_service_discovery_http_namespace";

/// Marker of a Cloud Map resource's `arn` or `id`: this, then a JSON object with its `kind`
/// (`service` or `namespace`), `address`, `attr`, and what [`reshape`] reads of it.
const MARKER: &str = "ecsplane:terraform-cloud-map:";

/// Whether resources of type `ty` are Cloud Map resources (read by the ECS resources, never
/// objects of their own).
pub(super) fn is_cloud_map(ty: &str) -> bool {
    [SERVICE, PRIVATE, PUBLIC, HTTP].contains(&ty)
}

/// The value of `address.attr` (`r` evaluated in `c`, the resource instance's scope) when `r`
/// is a Cloud Map resource and `attr` its `arn` or `id`: a marker for [`reshape`].
pub(super) fn attribute(
    c: &Ctx<'_, '_>,
    r: &Resource<'_>,
    address: &str,
    attr: &str,
) -> Option<Value> {
    if !is_cloud_map(&r.ty) || !matches!(attr, "arn" | "id") {
        return None;
    }
    let body = c.body(r.body);
    let mut described = Map::new();
    let kind = if r.ty == SERVICE {
        "service"
    } else {
        "namespace"
    };
    described.insert("kind".into(), Value::from(kind));
    described.insert("type".into(), Value::from(r.ty.as_str()));
    described.insert("address".into(), Value::from(address));
    described.insert("attr".into(), Value::from(attr));
    let keys: &[&str] = if r.ty == SERVICE {
        &[
            "name",
            "type",
            "namespace_id",
            "dns_config",
            "health_check_config",
            "health_check_custom_config",
        ]
    } else {
        &["name"]
    };
    for key in keys {
        if let Some(v) = body.get(*key) {
            // `type` of the resource itself is kept apart from the Cloud Map service's `type`.
            let k = if *key == "type" { "service_type" } else { key };
            described.insert(k.into(), v.clone());
        }
    }
    Some(Value::String(format!(
        "{MARKER}{}",
        Value::Object(described)
    )))
}

/// The first marker in `s`: where it starts and ends, and what it describes.
fn marker_in(s: &str) -> Option<(usize, usize, Map<String, Value>)> {
    let start = s.find(MARKER)?;
    let json = start + MARKER.len();
    let mut values = serde_json::Deserializer::from_str(s.get(json..)?).into_iter::<Value>();
    match values.next()? {
        Ok(Value::Object(m)) => Some((start, json + values.byte_offset(), m)),
        _ => None,
    }
}

/// What a value that is exactly one marker describes.
fn described(v: &Value) -> Option<Map<String, Value>> {
    let s = v.as_str()?;
    marker_in(s).and_then(|(start, end, m)| (start == 0 && end == s.len()).then_some(m))
}

/// A namespace marker's resource type and name.
fn namespace_of(v: &Value) -> Option<(String, String)> {
    let m = described(v).filter(|m| m.get("kind") == Some(&Value::from("namespace")))?;
    Some((
        m.get("type").map(text).unwrap_or_default(),
        m.get("name").map(text).unwrap_or_default(),
    ))
}

/// Replaces every marker left in `v` (a Cloud Map ARN or ID used where ecsplane does not read
/// it) by the Terraform interpolation it stands for, which is reported as unresolved.
fn unmark(v: &mut Value) {
    match v {
        Value::String(s) => {
            let mut guard = 0;
            while let Some((start, end, m)) = marker_in(s) {
                let address = m.get("address").map(text).unwrap_or_default();
                let attr = m.get("attr").map(text).unwrap_or_default();
                s.replace_range(start..end, &format!("${{{address}.{attr}}}"));
                guard += 1;
                if guard > 64 {
                    break;
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(unmark),
        Value::Object(m) => m.values_mut().for_each(unmark),
        _ => {}
    }
}

/// The first of a list of blocks, or the block itself.
fn first(v: Option<&Value>) -> Option<&Map<String, Value>> {
    match v? {
        Value::Array(a) => a.first()?.as_object(),
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Reshapes the Cloud Map and Service Connect arguments of an `aws_ecs_service` or
/// `aws_ecs_cluster` (see the module documentation), with a note for each difference.
pub(super) fn reshape(
    kind: Kind,
    m: &mut Map<String, Value>,
    source: &Location,
    out: &mut Collected,
) {
    if kind == Kind::EcsService {
        if let Some(Value::Array(registries)) = m.get_mut("service_registries") {
            for (i, r) in registries.iter_mut().enumerate() {
                if let Value::Object(r) = r {
                    registry(i, r, source, out);
                }
            }
        }
        if let Some(mut sc) = first(m.get("service_connect_configuration")).cloned() {
            service_connect(&mut sc);
            m.insert("service_connect_configuration".into(), Value::Object(sc));
        }
    }
    if kind == Kind::EcsCluster
        && let Some(d) = first(m.get("service_connect_defaults")).cloned()
    {
        m.insert("service_connect_defaults".into(), Value::Object(d));
    }
    let mut marked = false;
    for key in ["service_connect_configuration", "service_connect_defaults"] {
        if let Some(Value::Object(v)) = m.get_mut(key)
            && let Some((_, name)) = v.get("namespace").and_then(namespace_of)
        {
            v.insert("namespace".into(), Value::from(name));
            marked = true;
        }
    }
    for v in m.values_mut() {
        unmark(v);
    }
    if marked {
        let path = match kind {
            Kind::EcsCluster => "service_connect_defaults.namespace",
            _ => "service_connect_configuration.namespace",
        };
        out.note_at(NoteKind::Assumed, source, Some(path), "the Cloud Map namespace is named by its name, which ECS accepts as well as its ARN (known only after terraform apply)");
    }
}

/// `service_connect_configuration`'s blocks in the API's shape.
fn service_connect(sc: &mut Map<String, Value>) {
    if let Some(log) = first(sc.get("log_configuration")).cloned() {
        sc.insert("log_configuration".into(), Value::Object(log));
    }
    let Some(Value::Array(services)) = sc.remove("service") else {
        return;
    };
    let services = services
        .into_iter()
        .map(|s| match s {
            Value::Object(mut s) => {
                if let Some(aliases) = s.remove("client_alias") {
                    s.insert("client_aliases".into(), aliases);
                }
                for single in ["timeout", "tls"] {
                    if let Some(b) = first(s.get(single)).cloned() {
                        s.insert(single.into(), Value::Object(b));
                    }
                }
                Value::Object(s)
            }
            other => other,
        })
        .collect();
    sc.insert("services".into(), Value::Array(services));
}

/// One `service_registries` entry.
fn registry(i: usize, r: &mut Map<String, Value>, source: &Location, out: &mut Collected) {
    let Some(described) = r
        .get("registry_arn")
        .and_then(described)
        .filter(|m| m.get("kind") == Some(&Value::from("service")))
    else {
        return;
    };
    r.remove("registry_arn");
    let field = format!("service_registries[{i}]");
    let address = described
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or(SERVICE)
        .to_owned();
    let mut note = |kind: NoteKind, path: &str, message: String| {
        out.note_at(kind, source, Some(&format!("{field}{path}")), message);
    };
    note(
        NoteKind::Dropped,
        ".registry_arn",
        format!(
            "the ARN of {address} is only known after terraform apply: the registry is named by the Cloud Map service's name and its namespace's instead"
        ),
    );
    match described.get("name") {
        Some(name) => {
            r.entry("service_name").or_insert_with(|| name.clone());
        }
        None => note(
            NoteKind::Dropped,
            ".service_name",
            format!("{address} has no name: the headless Service is named after the ECS service"),
        ),
    }
    let dns = first(described.get("dns_config"));
    let namespace = described
        .get("namespace_id")
        .or_else(|| dns.and_then(|d| d.get("namespace_id")));
    match namespace.and_then(namespace_of) {
        Some((ty, name)) if ty == PRIVATE || ty == PUBLIC => {
            r.entry("namespace")
                .or_insert_with(|| Value::from(name.as_str()));
            if ty == PUBLIC {
                note(
                    NoteKind::Dropped,
                    ".namespace",
                    format!(
                        "{name} is a public DNS namespace: its records answered on the internet; the CoreDNS rewrite answers the same name inside the cluster only"
                    ),
                );
            }
        }
        Some((_, name)) => note(
            NoteKind::Dropped,
            ".namespace",
            format!(
                "{name} is an HTTP namespace: clients found the tasks with the DiscoverInstances API, which has no Kubernetes equivalent; in the cluster they call the headless Service by its name"
            ),
        ),
        None if namespace.is_some() => note(
            NoteKind::Dropped,
            ".namespace",
            format!(
                "the namespace of {address} is not a namespace of this configuration (an ID is only an ID): set serviceRegistries[{i}].namespace to its name, such as prod.local, for the CoreDNS rewrite"
            ),
        ),
        None => {}
    }
    if described.get("service_type").and_then(Value::as_str) == Some("HTTP") {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "{address} is of type HTTP (no DNS records): found only through DiscoverInstances, which has no Kubernetes equivalent"
            ),
        );
    }
    if let Some(dns) = dns {
        if dns.get("routing_policy").and_then(Value::as_str) == Some("WEIGHTED") {
            note(
                NoteKind::Dropped,
                "",
                format!(
                    "WEIGHTED routing of {address} (one healthy record per query) is not carried: the headless Service answers every ready pod, as MULTIVALUE does"
                ),
            );
        }
        let records: Vec<&Map<String, Value>> = match dns.get("dns_records") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
            Some(Value::Object(o)) => vec![o],
            _ => Vec::new(),
        };
        let mut ttls = Vec::new();
        for rec in records {
            let ty = rec.get("type").and_then(Value::as_str).unwrap_or_default();
            if let Some(ttl) = rec.get("ttl") {
                ttls.push(format!("{ty} {} s", text(ttl)));
            }
            match ty {
                "CNAME" => note(
                    NoteKind::Dropped,
                    "",
                    format!(
                        "the CNAME records of {address} are not carried: the headless Service answers A records"
                    ),
                ),
                "SRV"
                    if !["port", "container_name", "container_port"]
                        .iter()
                        .any(|k| r.contains_key(*k)) =>
                {
                    note(
                        NoteKind::Dropped,
                        "",
                        format!(
                            "{address} has SRV records but the registry names no port or container_name/container_port (ECS requires one): no named port, so no SRV records"
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
                    "the DNS TTLs of {address} ({}) are not carried: the cluster DNS's TTL applies",
                    ttls.join(", ")
                ),
            );
        }
    }
    if described.contains_key("health_check_custom_config") {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "the custom health check of {address} (UpdateInstanceCustomHealthStatus) is not carried: a pod leaves the records when its readiness probe fails"
            ),
        );
    }
    if described.contains_key("health_check_config") {
        note(
            NoteKind::Dropped,
            "",
            format!(
                "the Route 53 health check of {address} is not carried: a pod leaves the records when its readiness probe fails"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::MARKER;
    use crate::import::{Conversion, ConvertOptions, NoteKind, convert_sources};

    const APP: &str = r#"
resource "aws_service_discovery_private_dns_namespace" "prod" {
  name = "prod.local"
  vpc  = "vpc-1"
}
resource "aws_service_discovery_http_namespace" "mesh" { name = "mesh" }
resource "aws_service_discovery_service" "payments" {
  name = "payments"
  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.prod.id
    routing_policy = "MULTIVALUE"
    dns_records {
      ttl  = 10
      type = "A"
    }
    dns_records {
      ttl  = 10
      type = "SRV"
    }
  }
  health_check_custom_config { failure_threshold = 1 }
}
resource "aws_ecs_task_definition" "payments" {
  family       = "payments"
  network_mode = "awsvpc"
  container_definitions = jsonencode([{ name = "app", image = "nginx", memory = 128,
    portMappings = [{ name = "grpc", containerPort = 9000 }] }])
}
resource "aws_ecs_service" "payments" {
  name            = "payments"
  task_definition = aws_ecs_task_definition.payments.arn
  desired_count   = 2
  service_registries {
    registry_arn   = aws_service_discovery_service.payments.arn
    container_name = "app"
    container_port = 9000
  }
}
resource "aws_ecs_task_definition" "orders" {
  family       = "orders"
  network_mode = "awsvpc"
  container_definitions = jsonencode([{ name = "app", image = "nginx", memory = 128,
    portMappings = [{ name = "http", containerPort = 8080 }] }])
}
resource "aws_ecs_service" "orders" {
  name            = "orders"
  task_definition = aws_ecs_task_definition.orders.arn
  desired_count   = 2
  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.mesh.arn
    service {
      port_name      = "http"
      discovery_name = "orders"
      client_alias {
        port     = 8080
        dns_name = "orders"
      }
      timeout { per_request_timeout_seconds = 30 }
    }
  }
}
"#;

    fn convert(text: &str) -> Conversion {
        convert_sources(
            &[(PathBuf::from("main.tf"), text.to_owned())],
            &ConvertOptions::default(),
        )
        .expect("converts")
    }

    fn spec(c: &Conversion, name: &str) -> serde_json::Value {
        c.objects
            .iter()
            .find(|o| o.kind.as_str() == "EcsService" && o.manifest["spec"]["serviceName"] == name)
            .unwrap_or_else(|| panic!("EcsService {name} in {:?} / {:?}", c.objects, c.notes))
            .manifest["spec"]
            .clone()
    }

    #[test]
    fn a_registry_of_a_cloud_map_service_gets_its_name_and_namespace() {
        let c = convert(APP);
        assert_eq!(
            spec(&c, "payments")["serviceRegistries"],
            json!([{"containerName": "app", "containerPort": 9000, "serviceName": "payments", "namespace": "prod.local"}])
        );
        let notes: Vec<&str> = c
            .notes
            .iter()
            .filter(|n| n.location.path.as_deref() == Some("service_registries[0]"))
            .map(|n| n.message.as_str())
            .collect();
        assert!(notes.iter().any(|n| n.contains("TTLs")), "{notes:?}");
        assert!(
            notes.iter().any(|n| n.contains("custom health check")),
            "{notes:?}"
        );
    }

    #[test]
    fn service_connect_blocks_become_the_api_shape_with_the_namespace_name() {
        let c = convert(APP);
        assert_eq!(
            spec(&c, "orders")["serviceConnectConfiguration"],
            json!({"enabled": true, "namespace": "mesh", "services": [{
                "portName": "http", "discoveryName": "orders",
                "clientAliases": [{"port": 8080, "dnsName": "orders"}],
                "timeout": {"perRequestTimeoutSeconds": 30}}]})
        );
    }

    #[test]
    fn the_cloud_map_resources_are_carried_not_skipped() {
        let c = convert(APP);
        assert!(c.skipped.is_empty(), "{:?}", c.skipped);
        assert!(!c.notes.iter().any(|n| n.kind == NoteKind::Skipped));
    }

    #[test]
    fn a_cloud_map_id_used_where_ecsplane_does_not_read_it_is_unresolved_never_a_marker() {
        let text = APP.replace(
            "desired_count   = 2\n  service_registries",
            "desired_count   = 2\n  tags = { discovery = \"id-${aws_service_discovery_service.payments.id}\" }\n  service_registries",
        );
        let c = convert(&text);
        let written =
            serde_json::to_string(&c.objects.iter().map(|o| &o.manifest).collect::<Vec<_>>())
                .expect("json");
        assert!(!written.contains(MARKER), "{written}");
        assert!(
            c.notes.iter().any(|n| n
                .message
                .contains("aws_service_discovery_service.payments.id")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_registry_arn_from_elsewhere_is_left_as_it_is() {
        let text = APP.replace(
            "aws_service_discovery_service.payments.arn",
            "\"arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1\"",
        );
        let c = convert(&text);
        assert_eq!(
            spec(&c, "payments")["serviceRegistries"][0]["registryArn"],
            "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1"
        );
    }
}
