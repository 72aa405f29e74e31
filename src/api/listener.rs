//! `Listener`: the ELBv2 `CreateListener` request plus its `rules`, each an ELBv2 `CreateRule`
//! (field names in lowerCamelCase).

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::any_object;
use super::common::{CommonStatus, Tag, any_json};

/// A load balancer listener and its prioritized rules: lowest priority first, first match wins,
/// default actions last.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "ecsplane.io",
    version = "v1alpha1",
    kind = "Listener",
    plural = "listeners",
    singular = "listener",
    shortname = "ecslsn",
    category = "ecs",
    namespaced,
    status = "ListenerStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An ALB listener (CreateListener + CreateRule) translated into Ingress or HTTPRoute rules.",
    printcolumn(name = "Protocol", type_ = "string", json_path = ".spec.protocol"),
    printcolumn(name = "Port", type_ = "integer", json_path = ".spec.port"),
    printcolumn(name = "Rules", type_ = "integer", json_path = ".status.ruleCount"),
    printcolumn(name = "Exact", type_ = "integer", json_path = ".status.exactRules"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.protocol) || self.protocol != 'HTTPS' || (has(self.certificates) && size(self.certificates) > 0)")
    .message("an HTTPS listener needs at least one certificate")
    .field_path(".certificates"))]
pub struct ListenerSpec {
    /// Load balancer the listener belongs to; only meaningful inside AWS (reported). Listeners
    /// with the same value are grouped onto one Ingress group or Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_arn: Option<String>,
    /// Port the listener accepts connections on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// `HTTP` or `HTTPS` for an ALB (`TCP`, `TLS`, `UDP`, `TCP_UDP` for an NLB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ListenerProtocol>,
    /// Server certificates (ACM ARNs) of an HTTPS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<Certificate>>,
    /// TLS security policy of an HTTPS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// ALPN policy (NLB TLS listeners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn_policy: Option<Vec<String>>,
    /// Mutual TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub mutual_authentication: Option<serde_json::Value>,
    /// Actions of the default rule, used when no rule matches.
    #[schemars(length(min = 1, max = 5))]
    pub default_actions: Vec<Action>,
    /// Listener rules, each a CreateRule with a unique priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["priority".into()]))]
    pub rules: Option<Vec<ListenerRule>>,
    /// Metadata tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Option<Vec<Tag>>,
    /// Read-only output of `describe-listeners`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_arn: Option<String>,
}

/// Listener protocols.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ListenerProtocol {
    /// HTTP.
    Http,
    /// HTTPS.
    Https,
    /// TCP (NLB).
    Tcp,
    /// TLS (NLB).
    Tls,
    /// UDP (NLB).
    Udp,
    /// TCP and UDP (NLB).
    TcpUdp,
    /// QUIC (NLB).
    Quic,
    /// TCP and QUIC (NLB).
    TcpQuic,
}

/// ELB `Certificate`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// ACM certificate ARN.
    pub certificate_arn: String,
    /// Whether this is the default certificate (describe output only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
}

/// A listener rule, as ELBv2 `CreateRule`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("['host-header', 'http-request-method', 'path-pattern', 'source-ip'].all(f, self.conditions.filter(c, c.field == f).size() <= 1)")
        .message("a rule takes at most one condition each of host-header, http-request-method, path-pattern and source-ip")
        .field_path(".conditions"),
    validation = Rule::new(match_evaluations_rule())
        .message("a rule takes at most 5 condition values (match evaluations) across its conditions")
        .field_path(".conditions"),
    validation = Rule::new(wildcards_rule())
        .message("a rule takes at most 5 wildcards ('*' or '?') across its host-header, path-pattern, http-header and query-string values")
        .field_path(".conditions"),
)]
pub struct ListenerRule {
    /// Evaluation order: lowest first, first match wins (1–50000, unique per listener).
    #[schemars(range(min = 1, max = 50000))]
    pub priority: i32,
    /// Conditions, all of which must match (several values inside one condition are
    /// alternatives).
    #[schemars(length(min = 1, max = 5))]
    pub conditions: Vec<RuleCondition>,
    /// What to do with a matching request.
    #[schemars(length(min = 1, max = 5))]
    pub actions: Vec<Action>,
    /// Host-header and URL rewrites applied before routing (ELB `RuleTransform`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_json")]
    pub transforms: Option<serde_json::Value>,
    /// Metadata tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// Read-only output of `describe-rules`, accepted and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_arn: Option<String>,
}

/// The configs of a [`RuleCondition`] whose values (and regexValues) are match evaluations.
const VALUE_CONFIGS: [&str; 5] = [
    "hostHeaderConfig",
    "pathPatternConfig",
    "httpHeaderConfig",
    "httpRequestMethodConfig",
    "sourceIpConfig",
];

/// The CEL term for the legacy `values` of condition `c`, which count only when neither config
/// form is given (`describe-rules` prints both forms with the same values).
fn legacy_values(c: &str, of: impl Fn(&str) -> String) -> String {
    format!(
        "(has({c}.values) && !has({c}.hostHeaderConfig) && !has({c}.pathPatternConfig) ? {} : 0)",
        of(&format!("{c}.values"))
    )
}

/// The CEL rule refusing a listener rule with more than 5 match evaluations: ALB counts every
/// value (and regex value) of every condition, at most 3 per condition (the lists' maxItems)
/// and 5 per rule.
fn match_evaluations_rule() -> String {
    let mut terms: Vec<String> = VALUE_CONFIGS
        .iter()
        .map(|cfg| {
            format!(
                "(has(c.{cfg}) ? size(c.{cfg}.values) + (has(c.{cfg}.regexValues) ? size(c.{cfg}.regexValues) : 0) : 0)"
            )
        })
        .collect();
    terms.push("(has(c.queryStringConfig) ? size(c.queryStringConfig.values) : 0)".into());
    terms.push(legacy_values("c", |list| format!("size({list})")));
    format!("self.conditions.map(c, {}).sum() <= 5", terms.join(" + "))
}

/// The CEL rule refusing a listener rule with more than 5 wildcards (`*` or `?`) in the values
/// of its host-header, path-pattern, http-header and query-string conditions (ALB's quota of
/// wildcards per rule).
fn wildcards_rule() -> String {
    let wildcards = |list: &str| format!("{list}.map(v, v.findAll('[*?]').size()).sum()");
    let mut terms: Vec<String> = ["hostHeaderConfig", "pathPatternConfig", "httpHeaderConfig"]
        .iter()
        .map(|cfg| {
            format!(
                "(has(c.{cfg}) ? {} : 0)",
                wildcards(&format!("c.{cfg}.values"))
            )
        })
        .collect();
    terms.push("(has(c.queryStringConfig) ? c.queryStringConfig.values.map(q, (has(q.key) ? q.key.findAll('[*?]').size() : 0) + q.value.findAll('[*?]').size()).sum() : 0)".into());
    terms.push(legacy_values("c", wildcards));
    format!("self.conditions.map(c, {}).sum() <= 5", terms.join(" + "))
}

/// The characters ALB accepts in a path pattern (A–Z, a–z, 0–9, `_ - . $ / ~ " ' @ : + & * ?`),
/// as the CEL rule on [`RuleCondition`] tests each value (`\x22` is `"`, `\x27` is `'`).
const PATH_PATTERN_RULE: &str = r"(!has(self.pathPatternConfig) || self.pathPatternConfig.values.all(v, v.matches('^[A-Za-z0-9_.$/~\x22\x27@:+&*?-]+$'))) && (self.field != 'path-pattern' || !has(self.values) || self.values.all(v, v.matches('^[A-Za-z0-9_.$/~\x22\x27@:+&*?-]+$')))";

/// A rule condition, as ELB `RuleCondition`: `field` with `values`, or the `*Config` form that
/// matches the field. Each condition takes at most 3 values of at most 128 characters.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.field != 'host-header' || has(self.values) || has(self.hostHeaderConfig)").message("a host-header condition needs values or hostHeaderConfig"),
    validation = Rule::new("self.field != 'path-pattern' || has(self.values) || has(self.pathPatternConfig)").message("a path-pattern condition needs values or pathPatternConfig"),
    validation = Rule::new("self.field != 'http-header' || has(self.httpHeaderConfig)").message("an http-header condition needs httpHeaderConfig").field_path(".httpHeaderConfig"),
    validation = Rule::new("self.field != 'query-string' || has(self.queryStringConfig)").message("a query-string condition needs queryStringConfig").field_path(".queryStringConfig"),
    validation = Rule::new("self.field != 'http-request-method' || has(self.httpRequestMethodConfig)").message("an http-request-method condition needs httpRequestMethodConfig").field_path(".httpRequestMethodConfig"),
    validation = Rule::new("self.field != 'source-ip' || has(self.sourceIpConfig)").message("a source-ip condition needs sourceIpConfig").field_path(".sourceIpConfig"),
    validation = Rule::new(PATH_PATTERN_RULE).message("a path pattern may only contain A-Z, a-z, 0-9 and _ - . $ / ~ \" ' @ : + & * ? (ALB's character set)"),
)]
pub struct RuleCondition {
    /// `host-header`, `path-pattern`, `http-header`, `http-request-method`, `query-string` or
    /// `source-ip`.
    pub field: ConditionField,
    /// Legacy form of host-header and path-pattern values (up to 3, each up to 128
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 3), inner(length(max = 128)))]
    pub values: Option<Vec<String>>,
    /// Host names; case-insensitive, `*` and `?` wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_header_config: Option<ValuesConfig>,
    /// Path patterns; case-sensitive, `*` and `?` wildcards, matched against the path only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_pattern_config: Option<ValuesConfig>,
    /// A header name and the values it may have (case-insensitive, wildcards allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header_config: Option<HttpHeaderConfig>,
    /// Request methods (case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_request_method_config: Option<ValuesConfig>,
    /// Query-string key/value pairs (the key may be omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_config: Option<QueryStringConfig>,
    /// Client source CIDRs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip_config: Option<ValuesConfig>,
}

/// Condition fields of a listener rule.
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ConditionField {
    /// The Host header.
    #[default]
    HostHeader,
    /// The URL path.
    PathPattern,
    /// Any HTTP header.
    HttpHeader,
    /// The request method.
    HttpRequestMethod,
    /// The query string.
    QueryString,
    /// The client's source address.
    SourceIp,
}

/// A list of values (host names, paths, methods or CIDRs).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValuesConfig {
    /// The values (up to 3, each up to 128 characters); any one may match.
    #[schemars(length(min = 1, max = 3), inner(length(max = 128)))]
    pub values: Vec<String>,
    /// Regular expressions instead of wildcard values (host-header and path-pattern; up to 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 3))]
    pub regex_values: Option<Vec<String>>,
}

/// ELB `HttpHeaderConditionConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpHeaderConfig {
    /// Header name (case-insensitive, no wildcards).
    #[schemars(length(min = 1, max = 40))]
    pub http_header_name: String,
    /// Header values (up to 3, each up to 128 characters); any one may match.
    #[schemars(length(min = 1, max = 3), inner(length(max = 128)))]
    pub values: Vec<String>,
    /// Regular expressions instead of wildcard values (up to 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 3))]
    pub regex_values: Option<Vec<String>>,
}

/// ELB `QueryStringConditionConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryStringConfig {
    /// Key/value pairs (up to 3); any one may match.
    #[schemars(length(min = 1, max = 3))]
    pub values: Vec<QueryStringKeyValue>,
}

/// ELB `QueryStringKeyValuePair`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryStringKeyValue {
    /// Parameter name (up to 128 characters); omitted to match the value under any key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub key: Option<String>,
    /// Parameter value (up to 128 characters; case-insensitive, `*` and `?` wildcards).
    #[schemars(length(max = 128))]
    pub value: String,
}

/// A rule action, as ELB `Action`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type != 'forward' || has(self.targetGroupArn) || has(self.forwardConfig)").message("a forward action needs targetGroupArn or forwardConfig"),
    validation = Rule::new("self.type != 'redirect' || has(self.redirectConfig)").message("a redirect action needs redirectConfig").field_path(".redirectConfig"),
    validation = Rule::new("self.type != 'fixed-response' || has(self.fixedResponseConfig)").message("a fixed-response action needs fixedResponseConfig").field_path(".fixedResponseConfig"),
)]
pub struct Action {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc` or `authenticate-cognito`.
    #[serde(rename = "type")]
    pub type_: ActionType,
    /// Target group for a forward to one group: a TargetGroup name or a target group ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// Weighted forward to several target groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_config: Option<ForwardConfig>,
    /// Redirect settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_config: Option<RedirectConfig>,
    /// Fixed response settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_response_config: Option<FixedResponseConfig>,
    /// OIDC authentication settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub authenticate_oidc_config: Option<serde_json::Value>,
    /// Cognito authentication settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub authenticate_cognito_config: Option<serde_json::Value>,
    /// Order of the action within the rule (1–50000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50000))]
    pub order: Option<i32>,
}

/// Type of a rule action.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ActionType {
    /// Send to target groups.
    #[default]
    Forward,
    /// Answer with an HTTP redirect.
    Redirect,
    /// Answer with a fixed response.
    FixedResponse,
    /// Authenticate with an OIDC provider first.
    AuthenticateOidc,
    /// Authenticate with Amazon Cognito first.
    AuthenticateCognito,
}

/// ELB `ForwardActionConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForwardConfig {
    /// Target groups and their weights (up to 5).
    #[schemars(length(min = 1, max = 5))]
    pub target_groups: Vec<TargetGroupTuple>,
    /// Stickiness across the weighted target groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_stickiness_config: Option<TargetGroupStickinessConfig>,
}

/// ELB `TargetGroupTuple`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupTuple {
    /// A TargetGroup name or a target group ARN.
    pub target_group_arn: String,
    /// Relative weight (0–999, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 999))]
    pub weight: Option<i32>,
}

/// ELB `TargetGroupStickinessConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupStickinessConfig {
    /// Keep a client on the target group it first reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How long, in seconds (1–604800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 604800))]
    pub duration_seconds: Option<i32>,
}

/// ELB `RedirectActionConfig`. Each part may use `#{protocol}`, `#{host}`, `#{port}`,
/// `#{path}` and `#{query}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedirectConfig {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Port, or `#{port}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Host name, or `#{host}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Absolute path, or `/#{path}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Query string without the leading `?`, or `#{query}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: RedirectStatusCode,
}

/// Redirect status codes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RedirectStatusCode {
    /// Moved permanently.
    #[default]
    #[serde(rename = "HTTP_301")]
    Http301,
    /// Found.
    #[serde(rename = "HTTP_302")]
    Http302,
}

/// ELB `FixedResponseActionConfig`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FixedResponseConfig {
    /// HTTP status code (2XX, 4XX or 5XX).
    #[schemars(regex(pattern = r"^(2|4|5)[0-9][0-9]$"))]
    pub status_code: String,
    /// `text/plain`, `text/css`, `text/html`, `application/javascript` or `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Response body (up to 1024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub message_body: Option<String>,
}

/// How each rule was carried into Kubernetes routing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// Number of rules, the default rule not included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_count: Option<i32>,
    /// Rules that route exactly as on the ALB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_rules: Option<i32>,
    /// The fate of each rule, in priority order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleFate>,
    /// Generation and conditions.
    #[serde(flatten)]
    pub common: CommonStatus,
}

/// What became of one rule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleFate {
    /// The rule's priority (`default` rules are not listed).
    pub priority: i32,
    /// `Exact`, `Shadowed` or `NotRepresentable`.
    pub fate: String,
    /// For Shadowed: the rule that takes all its requests; for NotRepresentable: why, with a
    /// request that would be routed differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
