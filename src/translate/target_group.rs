//! TargetGroup → a Service selecting the pods registered with it, and the health check that
//! becomes those containers' readiness probe.
//!
//! Registration works by label: every pod of a service that lists the target group in its
//! `loadBalancers` carries `targetgroup.ecsplane.io/<tg>: "true"`
//! ([`names::target_group_label`]) and the Service [`names::target_group_service_name`]
//! selects on it, so pods of several services can be behind one target group as in ECS.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    HTTPGetAction, Probe, Service, ServicePort, ServiceSpec, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::bundle::Sourced;
use super::model::common_labels;
use super::names;
use super::report::{ObjectRef, Report};
use super::{Object, Refusal};
use crate::api::{
    EcsService, ElbProtocol, ProtocolVersion, TargetGroup, TargetGroupSpec, TargetType,
};

/// ALB's default deregistration delay in seconds.
pub const DEFAULT_DEREGISTRATION_DELAY: i64 = 300;

/// Label on a target group's Service: the target group's name (as a label value).
pub const LABEL_TARGET_GROUP: &str = "ecsplane.io/target-group";

/// A service's pods registered with a target group on a container port.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// Namespace of the service.
    pub namespace: Option<String>,
    /// Target group name.
    pub target_group: String,
    /// The registering EcsService.
    pub service: String,
    /// The container port.
    pub container_port: i32,
}

/// The registrations with target group `target_group` of the `services` in `namespace`: one
/// per load balancer entry that names it, in the order of the services and of their entries.
///
/// The translation registers the services it translated, the TargetGroup controller every
/// service that names the target group; both call this. (A service that names a container or
/// port its task definition does not have is refused as a whole, so every entry of a
/// translated service registers.)
pub fn registrations<'a>(
    target_group: &str,
    namespace: Option<&str>,
    services: impl IntoIterator<Item = &'a EcsService>,
) -> Vec<Registration> {
    services
        .into_iter()
        .filter(|s| s.metadata.namespace.as_deref() == namespace)
        .flat_map(|s| {
            s.spec
                .load_balancers
                .iter()
                .flatten()
                .filter(|lb| {
                    lb.target_group_arn
                        .as_deref()
                        .map(names::target_group_of_arn)
                        == Some(target_group)
                })
                .map(|lb| Registration {
                    namespace: s.metadata.namespace.clone(),
                    target_group: target_group.to_owned(),
                    service: s.metadata.name.clone().unwrap_or_default(),
                    container_port: lb.container_port,
                })
        })
        .collect()
}

/// The ObjectRef of a target group for findings.
pub fn object_ref(tg: &TargetGroup) -> ObjectRef {
    ObjectRef::new(
        "TargetGroup",
        tg.metadata.namespace.as_deref(),
        tg.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// `deregistration_delay.timeout_seconds` (default 300).
pub fn deregistration_delay(tg: &TargetGroup) -> i64 {
    attribute(tg, "deregistration_delay.timeout_seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_DEREGISTRATION_DELAY)
}

fn attribute<'a>(tg: &'a TargetGroup, key: &str) -> Option<&'a str> {
    tg.spec
        .target_group_attributes
        .iter()
        .flatten()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

/// The readiness probe a target group's health check stands for, on `container_port`, with
/// findings about the differences. `None` when health checks are off or UDP.
pub fn readiness_probe(
    tg: &TargetGroup,
    container_port: i32,
    service: &ObjectRef,
    report: &mut Report,
) -> Option<Probe> {
    let obj = object_ref(tg);
    let s = &tg.spec;
    if s.health_check_enabled == Some(false) {
        return None;
    }
    let protocol = s
        .health_check_protocol
        .or(s.protocol)
        .unwrap_or(ElbProtocol::Http);
    let port = match s.health_check_port.as_deref() {
        None | Some("traffic-port") => container_port,
        Some(p) => p.parse().unwrap_or(container_port),
    };
    let mut probe = Probe {
        period_seconds: Some(s.health_check_interval_seconds.unwrap_or(30)),
        timeout_seconds: Some(s.health_check_timeout_seconds.unwrap_or(5)),
        // ALB counts a newly registered target healthy after one passing check.
        success_threshold: Some(1),
        failure_threshold: Some(s.unhealthy_threshold_count.unwrap_or(2)),
        ..Probe::default()
    };
    report.approximated(&obj, "spec.healthyThresholdCount", format!("ALB counts a newly registered target healthy after one passing check, so the readiness probe of {service} needs one success (successThreshold 1); the {} consecutive passes ALB needs before a target that failed is back in service have no probe equivalent (a readiness probe has one success threshold for both), so a pod that failed is ready again after one passing probe", s.healthy_threshold_count.unwrap_or(5)));
    match protocol {
        ElbProtocol::Http | ElbProtocol::Https => {
            let grpc = s.protocol_version == Some(ProtocolVersion::Grpc);
            probe.http_get = Some(HTTPGetAction {
                path: Some(s.health_check_path.clone().unwrap_or_else(|| {
                    if grpc {
                        "/AWS.ALB/healthcheck".into()
                    } else {
                        "/".into()
                    }
                })),
                port: IntOrString::Int(port),
                scheme: Some(
                    if protocol == ElbProtocol::Https {
                        "HTTPS"
                    } else {
                        "HTTP"
                    }
                    .into(),
                ),
                ..HTTPGetAction::default()
            });
            let codes = s
                .matcher
                .as_ref()
                .and_then(|m| m.http_code.clone())
                .unwrap_or_else(|| "200".into());
            if grpc {
                report.approximated(&obj, "spec.matcher", format!("the gRPC health check becomes an HTTP GET readiness probe for {service}; Kubernetes counts HTTP 200-399 as healthy, not gRPC status codes"));
            } else if codes != "200-399" {
                report.approximated(&obj, "spec.matcher", format!("the health check accepts HTTP {codes}; the readiness probe of {service} accepts 200-399 (Kubernetes' fixed range)"));
            }
        }
        ElbProtocol::Udp | ElbProtocol::Geneve => {
            report.not_carried(
                &obj,
                "spec.healthCheckProtocol",
                "UDP and GENEVE health checks have no probe equivalent",
            );
            return None;
        }
        _ => {
            probe.tcp_socket = Some(TCPSocketAction {
                port: IntOrString::Int(port),
                host: None,
            });
        }
    }
    Some(probe)
}

/// The Service of a target group, selecting every registered pod.
pub fn translate_target_group(
    tg: &Sourced<TargetGroup>,
    registrations: &[Registration],
    report: &mut Report,
) -> Result<Vec<Object>, Vec<Refusal>> {
    let obj = object_ref(&tg.object);
    let TargetGroupSpec {
        name: _,
        protocol,
        protocol_version,
        port,
        vpc_id,
        target_type,
        ip_address_type,
        health_check_protocol: _, // readiness_probe
        health_check_port: _,
        health_check_enabled: _,
        health_check_path: _,
        health_check_interval_seconds: _,
        health_check_timeout_seconds: _,
        healthy_threshold_count: _,
        unhealthy_threshold_count: _,
        matcher: _,
        target_group_attributes,
        tags,
        // Read-only describe-target-groups output, ignored.
        target_group_arn: _,
        load_balancer_arns: _,
    } = &tg.object.spec;
    let name = tg.object.target_group_name();
    let ns = tg.object.metadata.namespace.clone();
    let mine: Vec<&Registration> = registrations
        .iter()
        .filter(|r| r.namespace == ns && r.target_group == name)
        .collect();
    match target_type {
        Some(TargetType::Lambda) | Some(TargetType::Alb) => {
            report.not_carried(&obj, "spec.targetType", "Lambda and ALB targets have no Kubernetes equivalent; no Service is created");
            return Ok(Vec::new());
        }
        Some(TargetType::Instance) => report.approximated(&obj, "spec.targetType", "instance targets (node ports) become a Service over the pods; with the AWS Load Balancer Controller use target type ip"),
        _ => {}
    }
    let mut ports: Vec<i32> = mine.iter().map(|r| r.container_port).collect();
    ports.sort();
    ports.dedup();
    let target_port = match ports.as_slice() {
        [] => match port {
            Some(p) => *p,
            None => {
                report.not_carried(&obj, "spec.port", "no port and no service registers with this target group: no Service is created");
                return Ok(Vec::new());
            }
        },
        [p] => *p,
        several => {
            return Err(vec![Refusal::new(
                "spec.port",
                format!(
                    "services register container ports {} with this target group ({}); one Kubernetes Service forwards to one target port",
                    several
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    mine.iter()
                        .map(|r| format!("EcsService {} port {}", r.service, r.container_port))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )]);
        }
    };
    if vpc_id.is_some() {
        report.not_carried(
            &obj,
            "spec.vpcId",
            "the VPC only means something inside AWS",
        );
    }
    if tags.as_ref().is_some_and(|t| !t.is_empty()) {
        report.not_carried(
            &obj,
            "spec.tags",
            "AWS resource tags have no effect on Kubernetes objects",
        );
    }
    let (app_protocol, port_name) = match (protocol, protocol_version) {
        (Some(ElbProtocol::Https), _) => (Some("https"), "https"),
        (_, Some(ProtocolVersion::Grpc)) => (Some("kubernetes.io/h2c"), "grpc"),
        (_, Some(ProtocolVersion::Http2)) => (Some("kubernetes.io/h2c"), "http2"),
        (None | Some(ElbProtocol::Http), _) => (Some("http"), "http"),
        (Some(ElbProtocol::Udp), _) => (None, "udp"),
        _ => (None, "tcp"),
    };
    let l4 = match protocol {
        Some(ElbProtocol::Udp) => "UDP",
        _ => "TCP",
    };
    if matches!(
        protocol,
        Some(ElbProtocol::TcpUdp | ElbProtocol::TcpQuic | ElbProtocol::Quic | ElbProtocol::Geneve)
    ) {
        report.approximated(&obj, "spec.protocol", "the Service forwards TCP only");
    }
    let mut session_affinity = None;
    for a in target_group_attributes.iter().flatten() {
        match a.key.as_str() {
            "deregistration_delay.timeout_seconds" => {}
            "stickiness.enabled" if a.value == "true" => {
                session_affinity = Some("ClientIP".to_owned());
                report.approximated(&obj, "spec.targetGroupAttributes[stickiness.enabled]", "cookie stickiness becomes Service sessionAffinity ClientIP (by client address, not by cookie)");
            }
            "stickiness.enabled" | "stickiness.type" | "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.cookie_name" | "stickiness.app_cookie.duration_seconds" => {}
            other => report.not_carried(&obj, format!("spec.targetGroupAttributes[{other}]"), "load balancer attribute without a Service equivalent (the AWS Load Balancer Controller can set it as a target-group-attributes annotation)"),
        }
    }
    if ip_address_type.as_deref() == Some("ipv6") {
        report.approximated(
            &obj,
            "spec.ipAddressType",
            "the Service keeps the cluster's IP family; set spec.ipFamilies for IPv6",
        );
    }
    let mut labels = common_labels();
    labels.insert(LABEL_TARGET_GROUP.into(), super::model::label_value(name));
    let service = Service {
        metadata: ObjectMeta {
            name: Some(names::target_group_service_name(name)),
            namespace: ns,
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([(
                names::target_group_label(name),
                "true".to_owned(),
            )])),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port: port.unwrap_or(target_port),
                target_port: Some(IntOrString::Int(target_port)),
                protocol: Some(l4.into()),
                app_protocol: app_protocol.map(str::to_owned),
                ..ServicePort::default()
            }]),
            session_affinity,
            ..ServiceSpec::default()
        }),
        status: None,
    };
    Ok(vec![Object::Service(Box::new(service))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn tg(spec: serde_json::Value) -> TargetGroup {
        serde_json::from_value(json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "TargetGroup", "metadata": {"name": "web-tg"}, "spec": spec})).unwrap()
    }

    #[test]
    fn the_health_check_becomes_an_http_readiness_probe_with_alb_defaults() {
        let mut report = Report::default();
        let svc = ObjectRef::new("EcsService", None, "web");
        let probe = readiness_probe(
            &tg(json!({"protocol": "HTTP", "healthCheckPath": "/healthz"})),
            8080,
            &svc,
            &mut report,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(probe).unwrap(),
            json!({"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "periodSeconds": 30, "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": 2})
        );
        assert!(
            report.findings.iter().any(|f| f.field == "spec.matcher"),
            "the default matcher 200 is narrower than 200-399"
        );
    }

    /// ALB puts a newly registered target in service after one passing check; the healthy
    /// threshold only applies to a target that failed, which a probe cannot tell apart.
    #[test]
    fn a_new_pod_is_ready_after_one_passing_check_whatever_the_healthy_threshold() {
        let mut report = Report::default();
        let svc = ObjectRef::new("EcsService", None, "web");
        let probe = readiness_probe(
            &tg(json!({"protocol": "HTTP", "healthyThresholdCount": 5, "healthCheckIntervalSeconds": 30})),
            8080,
            &svc,
            &mut report,
        )
        .unwrap();
        assert_eq!(probe.success_threshold, Some(1));
        let finding = report
            .findings
            .iter()
            .find(|f| f.field == "spec.healthyThresholdCount")
            .expect("the threshold of a target that failed is reported");
        assert!(
            finding.message.contains("5 consecutive passes"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn the_service_selects_registered_pods_on_the_container_port() {
        let t = Sourced {
            origin: crate::translate::bundle::Origin::File {
                file: "tg.yaml".into(),
                document: 1,
            },
            object: tg(json!({"protocol": "HTTP", "port": 80})),
        };
        let regs = [Registration {
            namespace: None,
            target_group: "web-tg".into(),
            service: "web".into(),
            container_port: 8080,
        }];
        let out = translate_target_group(&t, &regs, &mut Report::default()).unwrap();
        assert_eq!(
            serde_json::to_value(&out[0]).unwrap(),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web-tg", "labels": {"app.kubernetes.io/managed-by": "ecsplane", "ecsplane.io/target-group": "web-tg"}},
                "spec": {"selector": {"targetgroup.ecsplane.io/web-tg": "true"},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP", "appProtocol": "http"}]}
            })
        );
    }

    #[test]
    fn different_container_ports_behind_one_target_group_are_refused_naming_the_services() {
        let t = Sourced {
            origin: crate::translate::bundle::Origin::File {
                file: "tg.yaml".into(),
                document: 1,
            },
            object: tg(json!({"port": 80})),
        };
        let regs = [
            Registration {
                namespace: None,
                target_group: "web-tg".into(),
                service: "a".into(),
                container_port: 80,
            },
            Registration {
                namespace: None,
                target_group: "web-tg".into(),
                service: "b".into(),
                container_port: 8080,
            },
        ];
        let err = translate_target_group(&t, &regs, &mut Report::default()).unwrap_err();
        assert!(
            err[0]
                .message
                .contains("EcsService a port 80, EcsService b port 8080"),
            "{}",
            err[0].message
        );
    }

    fn service(
        name: &str,
        namespace: Option<&str>,
        load_balancers: serde_json::Value,
    ) -> EcsService {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"taskDefinition": name, "loadBalancers": load_balancers}
        }))
        .unwrap()
    }

    /// Every load balancer entry naming the target group (by name or ARN) registers, in the
    /// order of the services and entries; other target groups, namespaces and Classic Load
    /// Balancers do not.
    #[test]
    fn each_load_balancer_entry_naming_the_target_group_registers_its_service() {
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web-tg/abc";
        let services = [
            service(
                "a",
                Some("shop"),
                json!([
                    {"targetGroupArn": "web-tg", "containerName": "app", "containerPort": 80},
                    {"targetGroupArn": "other-tg", "containerName": "app", "containerPort": 81},
                    {"loadBalancerName": "classic", "containerName": "app", "containerPort": 82}
                ]),
            ),
            service(
                "b",
                Some("shop"),
                json!([{"targetGroupArn": arn, "containerName": "app", "containerPort": 8080}]),
            ),
            service(
                "c",
                Some("elsewhere"),
                json!([{"targetGroupArn": "web-tg", "containerName": "app", "containerPort": 80}]),
            ),
        ];
        let regs = registrations("web-tg", Some("shop"), &services);
        assert_eq!(
            regs.iter()
                .map(|r| (r.service.as_str(), r.container_port))
                .collect::<Vec<_>>(),
            [("a", 80), ("b", 8080)]
        );
        assert!(
            regs.iter()
                .all(|r| r.namespace.as_deref() == Some("shop") && r.target_group == "web-tg")
        );
    }

    #[test]
    fn the_deregistration_delay_defaults_to_300_seconds() {
        assert_eq!(deregistration_delay(&tg(json!({}))), 300);
        assert_eq!(
            deregistration_delay(&tg(
                json!({"targetGroupAttributes": [{"key": "deregistration_delay.timeout_seconds", "value": "20"}]})
            )),
            20
        );
    }
}
