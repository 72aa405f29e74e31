//! `TargetGroup`: the ELBv2 `CreateTargetGroup` request (field names in lowerCamelCase), plus
//! the target group's attributes as key/value pairs.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, Tag, any_json};

/// An ELB target group: where a load balancer sends traffic, and how it checks health.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "TargetGroup",
    plural = "targetgroups",
    singular = "targetgroup",
    shortname = "ecstg",
    category = "ecs",
    namespaced,
    status = "TargetGroupStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An ELB target group (CreateTargetGroup) translated into a Service and readiness probe.",
    printcolumn(name = "Protocol", type_ = "string", json_path = ".spec.protocol"),
    printcolumn(name = "Port", type_ = "integer", json_path = ".spec.port"),
    printcolumn(
        name = "Registered",
        type_ = "integer",
        json_path = ".status.registeredTargets"
    ),
    printcolumn(
        name = "Healthy",
        type_ = "integer",
        json_path = ".status.healthyTargets"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.healthCheckTimeoutSeconds) || !has(self.healthCheckIntervalSeconds) || self.healthCheckTimeoutSeconds < self.healthCheckIntervalSeconds")
        .message("healthCheckTimeoutSeconds must be smaller than healthCheckIntervalSeconds")
        .field_path(".healthCheckTimeoutSeconds"),
    validation = Rule::new("!has(self.protocolVersion) || !has(self.protocol) || self.protocol in ['HTTP', 'HTTPS']")
        .message("protocolVersion is only valid with protocol HTTP or HTTPS")
        .field_path(".protocolVersion"),
)]
pub struct TargetGroupSpec {
    /// Target group name (up to 32 letters, digits and hyphens); defaults to `metadata.name`.
    /// Services and listener rules refer to it by this name or by an ARN ending in
    /// `targetgroup/NAME/ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 32),
        regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
    )]
    pub name: Option<String>,
    /// Protocol for traffic to the targets: `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`,
    /// `GENEVE`, `QUIC` or `TCP_QUIC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ElbProtocol>,
    /// `HTTP1` (default), `HTTP2` or `GRPC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<ProtocolVersion>,
    /// Port the targets receive traffic on (overridden by each service's containerPort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// VPC of the targets; only meaningful inside AWS (reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    /// `instance`, `ip` (pods), `lambda` or `alb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<TargetType>,
    /// `ipv4` or `ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    /// Protocol of the health check (`HTTP`, `HTTPS`, `TCP`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_protocol: Option<ElbProtocol>,
    /// Port of the health check: `traffic-port` (default) or a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(traffic-port|[0-9]{1,5})$"))]
    pub health_check_port: Option<String>,
    /// Whether health checks run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_enabled: Option<bool>,
    /// Path of an HTTP(S) health check (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^/"))]
    pub health_check_path: Option<String>,
    /// Seconds between health checks (5–300, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 300))]
    pub health_check_interval_seconds: Option<i32>,
    /// Seconds without a response before a check fails (2–120, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 120))]
    pub health_check_timeout_seconds: Option<i32>,
    /// Consecutive successes before a target is healthy (2–10, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 10))]
    pub healthy_threshold_count: Option<i32>,
    /// Consecutive failures before a target is unhealthy (2–10, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 10))]
    pub unhealthy_threshold_count: Option<i32>,
    /// Response codes that count as healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<Matcher>,
    /// Target group attributes, such as `deregistration_delay.timeout_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub target_group_attributes: Option<Vec<TargetGroupAttribute>>,
    /// Metadata tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Option<Vec<Tag>>,
    /// ARN of the real ALB target group (as `describe-target-groups` prints it). Ignored,
    /// except for the dual-run cutover (`--target-group-binding`): then the pods join this
    /// target group through a TargetGroupBinding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub target_group_arn: Option<String>,
    /// Read-only output of `describe-target-groups`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub load_balancer_arns: Option<serde_json::Value>,
}

/// ELB protocols.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ElbProtocol {
    /// HTTP.
    Http,
    /// HTTPS.
    Https,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
    /// UDP.
    Udp,
    /// TCP and UDP on one port.
    TcpUdp,
    /// GENEVE (Gateway Load Balancer).
    Geneve,
    /// QUIC.
    Quic,
    /// TCP and QUIC on one port.
    TcpQuic,
}

/// Protocol version of an HTTP(S) target group.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProtocolVersion {
    /// HTTP/1.1.
    #[serde(rename = "HTTP1")]
    Http1,
    /// HTTP/2.
    #[serde(rename = "HTTP2")]
    Http2,
    /// gRPC.
    Grpc,
}

/// Type of the registered targets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// EC2 instances (node ports).
    Instance,
    /// IP addresses (pod IPs).
    Ip,
    /// A Lambda function.
    Lambda,
    /// An Application Load Balancer.
    Alb,
}

/// ELB `Matcher`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// HTTP codes: `200`, `200,202` or `200-299` (default `200`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$"))]
    pub http_code: Option<String>,
    /// gRPC codes: `0`-`99` (default `12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_code: Option<String>,
}

/// A target group attribute.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupAttribute {
    /// Attribute name, such as `deregistration_delay.timeout_seconds` or `stickiness.enabled`.
    pub key: String,
    /// Attribute value, as a string.
    pub value: String,
}

/// Registered and healthy targets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupStatus {
    /// Pods registered with the target group (every service port that names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_targets: Option<i32>,
    /// Registered pods that pass the health check (ready endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_targets: Option<i32>,
    /// Services that register with this target group, as `namespace/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
}

impl TargetGroup {
    /// The name the target group is referred to by (in ARNs, `targetGroupArn` references and
    /// the Service that stands for it): `spec.name`, else `metadata.name`.
    pub fn target_group_name(&self) -> &str {
        self.spec
            .name
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }
}
