//! A model of how an Application Load Balancer routes one request through a listener's rules.
//!
//! It follows the documented semantics (ecs-semantics.md 1F): rules are evaluated lowest
//! priority first, the first rule whose conditions all match wins, and the default actions
//! apply when none does. Several values inside one condition are alternatives; several
//! conditions must all match.
//!
//! - `path-pattern`: case-sensitive, `*` matches any run of characters (also `/`), `?` exactly
//!   one, matched against the path only (never the query string).
//! - `host-header`: case-insensitive, `*` and `?` anywhere; `*.example.com` therefore also
//!   matches `a.b.example.com` (`*` is "0 or more characters"), but not `example.com`.
//! - `http-header`: name and value case-insensitive, wildcards in values only.
//! - `http-request-method`: case-sensitive and exact.
//! - `query-string`: key (optional) and value case-insensitive with wildcards; `\*` and `\?`
//!   match a literal `*` or `?`; any one parameter of the request may satisfy a pair.
//! - `source-ip`: CIDR blocks (a bare address is not one), against the connection's source
//!   address.
//!
//! Regex values (`regexValues`) are evaluated with `regex`-crate syntax anchored at both ends,
//! which is close to, but not proven identical to, the ALB dialect.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::api::{
    Action, ActionType, ConditionField, Listener, ListenerRule, QueryStringKeyValue, RuleCondition,
};
use crate::translate::names::target_group_of_arn;

/// One HTTP request as the load balancer sees it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The Host header, without a port.
    pub host: String,
    /// The URL path, starting with `/`, without the query string.
    pub path: String,
    /// The request method, as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Header names and values, in order; a name may repeat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Decoded query parameters (`key`, `value`); a parameter without `=` has an empty value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// Address of the client connection.
    pub source_ip: IpAddr,
}

impl Request {
    /// A `GET` request for `host` and `path` from 198.51.100.7 without headers or query.
    pub fn get(host: &str, path: &str) -> Self {
        Self {
            host: host.to_owned(),
            path: path.to_owned(),
            method: "GET".to_owned(),
            headers: Vec::new(),
            query: Vec::new(),
            source_ip: IpAddr::from([198, 51, 100, 7]),
        }
    }

    /// This request with `method`.
    pub fn with_method(mut self, method: &str) -> Self {
        self.method = method.to_owned();
        self
    }

    /// This request with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// This request with one more query parameter.
    pub fn with_query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// This request from `ip`.
    pub fn with_source(mut self, ip: IpAddr) -> Self {
        self.source_ip = ip;
        self
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} http://{}{}", self.method, self.host, self.path)?;
        for (i, (k, v)) in self.query.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            if v.is_empty() {
                write!(f, "{sep}{k}")?;
            } else {
                write!(f, "{sep}{k}={v}")?;
            }
        }
        for (k, v) in &self.headers {
            write!(f, " [{k}: {v}]")?;
        }
        write!(f, " from {}", self.source_ip)
    }
}

/// Which rule of a listener handled a request.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum RuleId {
    /// The rule with this priority.
    Priority(i32),
    /// The listener's default actions.
    Default,
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleId::Priority(p) => write!(f, "priority {p}"),
            RuleId::Default => f.write_str("default"),
        }
    }
}

/// One target group of a forward, with its relative weight.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct WeightedGroup {
    /// Target group name (the name part of an ARN).
    pub target_group: String,
    /// Relative weight; 1 for a forward to a single group.
    pub weight: u32,
}

/// What the final action of a rule does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Terminal {
    /// Forward to these target groups (sorted by name, zero weights dropped; one group means
    /// a plain forward).
    Forward(Vec<WeightedGroup>),
    /// Answer with a redirect (`protocol://host:port/path?query`, status).
    Redirect {
        /// Target as `PROTOCOL://HOST:PORT PATH ?QUERY` with the ALB defaults filled in.
        location: String,
        /// `HTTP_301` or `HTTP_302`.
        status_code: String,
    },
    /// Answer with a fixed response.
    FixedResponse {
        /// HTTP status code.
        status_code: String,
        /// Content type, if any.
        content_type: Option<String>,
        /// Body, if any.
        message_body: Option<String>,
    },
    /// The rule has no final action (invalid in ELBv2).
    Missing,
}

/// The complete outcome of a rule: optional authentication steps, then the final action.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `authenticate-oidc` / `authenticate-cognito` steps, in order, as `type` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authenticate: Vec<String>,
    /// The final action.
    pub terminal: Terminal,
}

impl Target {
    /// The target groups of a forward, if the final action is one.
    pub fn forward(&self) -> Option<&[WeightedGroup]> {
        match &self.terminal {
            Terminal::Forward(groups) => Some(groups),
            _ => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.authenticate {
            write!(f, "{a} then ")?;
        }
        match &self.terminal {
            Terminal::Forward(groups) if groups.len() == 1 => {
                write!(f, "forward to {}", groups[0].target_group)
            }
            Terminal::Forward(groups) => {
                f.write_str("forward to ")?;
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} (weight {})", g.target_group, g.weight)?;
                }
                Ok(())
            }
            Terminal::Redirect {
                location,
                status_code,
            } => write!(f, "redirect {status_code} to {location}"),
            Terminal::FixedResponse { status_code, .. } => {
                write!(f, "fixed response {status_code}")
            }
            Terminal::Missing => f.write_str("no final action"),
        }
    }
}

/// The scheme (`http` or `https`) and port a listener receives requests on.
pub fn listener_endpoint(listener: &Listener) -> (&'static str, i32) {
    let https = listener.spec.protocol == Some(crate::api::ListenerProtocol::Https);
    let scheme = if https { "https" } else { "http" };
    (
        scheme,
        listener.spec.port.unwrap_or(if https { 443 } else { 80 }),
    )
}

/// The query string of a request as sent (`k=v&k2`), without the `?`.
pub fn query_string(request: &Request) -> String {
    request
        .query
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The `Location` a redirect template (`PROTOCOL://HOST:PORT PATH?QUERY`, as in
/// [`Terminal::Redirect`]) gives for `request` on a listener with `scheme` and `port`:
/// `#{protocol}`, `#{host}`, `#{port}`, `#{path}` (without its leading `/`) and `#{query}`
/// replaced, scheme and host in lower case (they are case-insensitive).
pub fn redirect_location(template: &str, request: &Request, scheme: &str, port: i32) -> String {
    let fill = |part: &str| {
        part.replace("#{protocol}", scheme)
            .replace("#{host}", &request.host)
            .replace("#{port}", &port.to_string())
            .replace(
                "#{path}",
                request.path.strip_prefix('/').unwrap_or(&request.path),
            )
            .replace("#{query}", &query_string(request))
    };
    let Some((proto, rest)) = template.split_once("://") else {
        return fill(template);
    };
    let (authority, path_query) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port_part) = authority.rsplit_once(':').unwrap_or((authority, ""));
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    format!(
        "{}://{}:{}{}?{}",
        fill(proto).to_ascii_lowercase(),
        fill(host).to_ascii_lowercase(),
        fill(port_part),
        fill(path),
        fill(query)
    )
}

/// `target` with a redirect's template replaced by the `Location` it gives for `request`
/// ([`redirect_location`]); other targets unchanged. Lets a model of the Kubernetes side,
/// which computes concrete locations, be compared with the ALB.
pub fn concrete(target: Target, request: &Request, scheme: &str, port: i32) -> Target {
    match target.terminal {
        Terminal::Redirect {
            location,
            status_code,
        } => Target {
            authenticate: target.authenticate,
            terminal: Terminal::Redirect {
                location: redirect_location(&location, request, scheme, port),
                status_code,
            },
        },
        _ => target,
    }
}

/// The decision for one request: the rule that matched and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    /// The matching rule, or the default actions.
    pub rule: RuleId,
    /// What the rule does.
    pub target: Target,
}

/// The listener's rules in evaluation order (ascending priority).
pub fn rules_in_order(listener: &Listener) -> Vec<&ListenerRule> {
    let mut rules: Vec<&ListenerRule> = listener.spec.rules.iter().flatten().collect();
    rules.sort_by_key(|r| r.priority);
    rules
}

/// Routes `request` through `listener` exactly as the ALB would.
pub fn route(listener: &Listener, request: &Request) -> Routed {
    for rule in rules_in_order(listener) {
        if rule_matches(rule, request) {
            return Routed {
                rule: RuleId::Priority(rule.priority),
                target: target_of(&rule.actions),
            };
        }
    }
    Routed {
        rule: RuleId::Default,
        target: target_of(&listener.spec.default_actions),
    }
}

/// Whether every condition of `rule` matches `request`.
pub fn rule_matches(rule: &ListenerRule, request: &Request) -> bool {
    rule.conditions
        .iter()
        .all(|c| condition_matches(c, request))
}

/// Whether one condition matches `request`.
pub fn condition_matches(c: &RuleCondition, request: &Request) -> bool {
    match c.field {
        ConditionField::HostHeader => {
            let (values, regexes) = host_values(c);
            let host = request.host.to_ascii_lowercase();
            values.iter().any(|v| glob_match(v, &host, true))
                || regexes.iter().any(|r| regex_match(r, &request.host, true))
        }
        ConditionField::PathPattern => {
            let (values, regexes) = path_values(c);
            values.iter().any(|v| glob_match(v, &request.path, false))
                || regexes.iter().any(|r| regex_match(r, &request.path, false))
        }
        ConditionField::HttpHeader => {
            let Some(cfg) = &c.http_header_config else {
                return false;
            };
            request
                .headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(&cfg.http_header_name))
                .any(|(_, value)| {
                    cfg.values.iter().any(|v| glob_match(v, value, true))
                        || cfg
                            .regex_values
                            .iter()
                            .flatten()
                            .any(|r| regex_match(r, value, true))
                })
        }
        ConditionField::HttpRequestMethod => c
            .http_request_method_config
            .as_ref()
            .is_some_and(|cfg| cfg.values.contains(&request.method)),
        ConditionField::QueryString => c.query_string_config.as_ref().is_some_and(|cfg| {
            cfg.values
                .iter()
                .any(|pair| query_pair_matches(pair, &request.query))
        }),
        ConditionField::SourceIp => c.source_ip_config.as_ref().is_some_and(|cfg| {
            cfg.values
                .iter()
                .any(|v| cidr(v).is_some_and(|n| n.contains(&request.source_ip)))
        }),
    }
}

/// The wildcard values and regex values of a host-header condition (config form first, then
/// the legacy `values`).
pub fn host_values(c: &RuleCondition) -> (Vec<String>, Vec<String>) {
    values_of(c.host_header_config.as_ref(), c.values.as_ref())
}

/// The wildcard values and regex values of a path-pattern condition.
pub fn path_values(c: &RuleCondition) -> (Vec<String>, Vec<String>) {
    values_of(c.path_pattern_config.as_ref(), c.values.as_ref())
}

fn values_of(
    cfg: Option<&crate::api::ValuesConfig>,
    legacy: Option<&Vec<String>>,
) -> (Vec<String>, Vec<String>) {
    match cfg {
        Some(cfg) => (
            cfg.values.clone(),
            cfg.regex_values.clone().unwrap_or_default(),
        ),
        None => (legacy.cloned().unwrap_or_default(), Vec::new()),
    }
}

fn query_pair_matches(pair: &QueryStringKeyValue, query: &[(String, String)]) -> bool {
    query.iter().any(|(k, v)| {
        pair.key.as_ref().is_none_or(|key| query_glob_match(key, k))
            && query_glob_match(&pair.value, v)
    })
}

/// The outcome of a list of actions: authentication steps in `order`, then the final action.
pub fn target_of(actions: &[Action]) -> Target {
    let mut ordered: Vec<(i64, usize, &Action)> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.order.map_or(i64::MAX, i64::from), i, a))
        .collect();
    ordered.sort_by_key(|(order, i, _)| (*order, *i));
    let mut authenticate = Vec::new();
    let mut terminal = Terminal::Missing;
    for (_, _, a) in ordered {
        match a.type_ {
            ActionType::AuthenticateOidc => authenticate.push("authenticate-oidc".to_owned()),
            ActionType::AuthenticateCognito => authenticate.push("authenticate-cognito".to_owned()),
            ActionType::Forward => {
                terminal = Terminal::Forward(forward_groups(a));
                break;
            }
            ActionType::Redirect => {
                let cfg = a.redirect_config.clone().unwrap_or_default();
                let location = format!(
                    "{}://{}:{}{}?{}",
                    cfg.protocol.as_deref().unwrap_or("#{protocol}"),
                    cfg.host.as_deref().unwrap_or("#{host}"),
                    cfg.port.as_deref().unwrap_or("#{port}"),
                    cfg.path.as_deref().unwrap_or("/#{path}"),
                    cfg.query.as_deref().unwrap_or("#{query}"),
                );
                let status_code = serde_json::to_value(cfg.status_code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                terminal = Terminal::Redirect {
                    location,
                    status_code,
                };
                break;
            }
            ActionType::FixedResponse => {
                let cfg = a.fixed_response_config.clone().unwrap_or_default();
                terminal = Terminal::FixedResponse {
                    status_code: cfg.status_code,
                    content_type: cfg.content_type,
                    message_body: cfg.message_body,
                };
                break;
            }
        }
    }
    Target {
        authenticate,
        terminal,
    }
}

/// The target groups a forward action sends to, normalized: names (not ARNs), sorted, zero
/// weights dropped, duplicates merged, and a single group given weight 1.
pub fn forward_groups(a: &Action) -> Vec<WeightedGroup> {
    let mut groups: Vec<WeightedGroup> = match &a.forward_config {
        Some(cfg) => cfg
            .target_groups
            .iter()
            .map(|t| WeightedGroup {
                target_group: target_group_of_arn(&t.target_group_arn).to_owned(),
                weight: t.weight.unwrap_or(1).max(0) as u32,
            })
            .collect(),
        None => a
            .target_group_arn
            .iter()
            .map(|arn| WeightedGroup {
                target_group: target_group_of_arn(arn).to_owned(),
                weight: 1,
            })
            .collect(),
    };
    groups.sort();
    let mut merged: Vec<WeightedGroup> = Vec::new();
    for g in groups {
        match merged.last_mut() {
            Some(last) if last.target_group == g.target_group => last.weight += g.weight,
            _ => merged.push(g),
        }
    }
    merged.retain(|g| g.weight > 0);
    if merged.len() == 1 {
        merged[0].weight = 1;
    }
    merged
}

/// ALB wildcard matching: `*` matches any run of characters, `?` exactly one; the whole text
/// must match. `fold_case` compares ASCII case-insensitively.
pub fn glob_match(pattern: &str, text: &str, fold_case: bool) -> bool {
    let p: Vec<Tok> = pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Many,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect();
    tokens_match(&p, text, fold_case)
}

/// Query-string wildcard matching: like [`glob_match`], case-insensitive, and `\*`, `\?`
/// stand for literal `*` and `?`.
pub fn query_glob_match(pattern: &str, text: &str) -> bool {
    tokens_match(&query_tokens(pattern), text, true)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(char),
    One,
    Many,
}

pub(crate) fn query_tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?')) => {
                out.push(Tok::Lit(chars.next().unwrap_or('\\')))
            }
            '*' => out.push(Tok::Many),
            '?' => out.push(Tok::One),
            c => out.push(Tok::Lit(c)),
        }
    }
    out
}

pub(crate) fn tokens_match(p: &[Tok], text: &str, fold_case: bool) -> bool {
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if fold_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Classic iterative wildcard matching with backtracking to the last `*`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(Tok::Lit(c)) if eq(*c, t[ti]) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Many) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Many)
}

fn regex_match(pattern: &str, text: &str, fold_case: bool) -> bool {
    let anchored = if fold_case {
        format!("(?i)^(?:{pattern})$")
    } else {
        format!("^(?:{pattern})$")
    };
    regex::Regex::new(&anchored).is_ok_and(|re| re.is_match(text))
}

/// The CIDR block `s` (`a.b.c.d/n` or `x::y/n`; host bits may be set and are ignored), or
/// `None`: ALB `source-ip` values are CIDR blocks only, so a bare address is not one.
pub fn cidr(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>().ok()
}

/// The first address of `net` a client can have: the first host of an IPv4 block (the
/// address after the network address up to /30, the block's own first address for /31 and
/// /32), the address after the subnet-router anycast address of an IPv6 block (the block's
/// first address for /127 and /128).
pub fn first_host(net: &IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) => IpAddr::V4(n.hosts().next().unwrap_or_else(|| n.network())),
        IpNet::V6(n) if n.prefix_len() >= 127 => IpAddr::V6(n.network()),
        IpNet::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n.network()).saturating_add(1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{HttpHeaderConfig, ListenerSpec, QueryStringConfig, ValuesConfig};

    fn cond(field: ConditionField, values: &[&str]) -> RuleCondition {
        let cfg = Some(ValuesConfig {
            values: values.iter().map(|s| s.to_string()).collect(),
            regex_values: None,
        });
        let mut c = RuleCondition {
            field,
            ..Default::default()
        };
        match field {
            ConditionField::HostHeader => c.host_header_config = cfg,
            ConditionField::PathPattern => c.path_pattern_config = cfg,
            ConditionField::HttpRequestMethod => c.http_request_method_config = cfg,
            ConditionField::SourceIp => c.source_ip_config = cfg,
            _ => unreachable!(),
        }
        c
    }

    fn forward(tg: &str) -> Action {
        Action {
            type_: ActionType::Forward,
            target_group_arn: Some(tg.to_owned()),
            ..Default::default()
        }
    }

    fn listener(rules: Vec<(i32, Vec<RuleCondition>, &str)>) -> Listener {
        Listener::new(
            "web",
            ListenerSpec {
                default_actions: vec![forward("default")],
                rules: Some(
                    rules
                        .into_iter()
                        .map(|(priority, conditions, tg)| ListenerRule {
                            priority,
                            conditions,
                            actions: vec![forward(tg)],
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            },
        )
    }

    fn tg(l: &Listener, r: &Request) -> String {
        route(l, r).target.forward().unwrap()[0]
            .target_group
            .clone()
    }

    #[test]
    fn host_wildcard_matches_subdomains_but_not_the_apex() {
        // AWS docs: "*.example.com matches test.example.com but doesn't match example.com".
        let c = cond(ConditionField::HostHeader, &["*.example.com"]);
        assert!(condition_matches(
            &c,
            &Request::get("test.example.com", "/")
        ));
        assert!(!condition_matches(&c, &Request::get("example.com", "/")));
        // `*` is "0 or more characters", dots included.
        assert!(condition_matches(&c, &Request::get("a.b.example.com", "/")));
    }

    #[test]
    fn host_matching_ignores_case_and_question_mark_matches_one_character() {
        let c = cond(ConditionField::HostHeader, &["Api?.Example.com"]);
        assert!(condition_matches(
            &c,
            &Request::get("API1.example.COM", "/")
        ));
        assert!(!condition_matches(
            &c,
            &Request::get("api.example.com", "/")
        ));
        assert!(!condition_matches(
            &c,
            &Request::get("api12.example.com", "/")
        ));
    }

    #[test]
    fn path_patterns_are_case_sensitive_globs_over_the_whole_path() {
        // AWS docs examples: /img/*, /img/*/pics.
        let c = cond(ConditionField::PathPattern, &["/img/*"]);
        assert!(condition_matches(&c, &Request::get("h", "/img/a.png")));
        assert!(condition_matches(&c, &Request::get("h", "/img/")));
        assert!(condition_matches(&c, &Request::get("h", "/img/a/b/c")));
        assert!(!condition_matches(&c, &Request::get("h", "/img")));
        assert!(!condition_matches(&c, &Request::get("h", "/IMG/a.png")));
        let pics = cond(ConditionField::PathPattern, &["/img/*/pics"]);
        assert!(condition_matches(
            &pics,
            &Request::get("h", "/img/2024/pics")
        ));
        assert!(!condition_matches(
            &pics,
            &Request::get("h", "/img/2024/pics/x")
        ));
        let api = cond(ConditionField::PathPattern, &["/api*"]);
        assert!(condition_matches(&api, &Request::get("h", "/apix")));
        assert!(condition_matches(&api, &Request::get("h", "/api")));
    }

    #[test]
    fn path_patterns_never_see_the_query_string() {
        let c = cond(ConditionField::PathPattern, &["/search"]);
        let r = Request::get("h", "/search").with_query("q", "x");
        assert!(condition_matches(&c, &r));
    }

    #[test]
    fn http_headers_match_name_and_value_case_insensitively_with_wildcards() {
        // AWS docs example: User-Agent *Chrome*, *Safari*.
        let c = RuleCondition {
            field: ConditionField::HttpHeader,
            http_header_config: Some(HttpHeaderConfig {
                http_header_name: "User-Agent".into(),
                values: vec!["*Chrome*".into(), "*Safari*".into()],
                regex_values: None,
            }),
            ..Default::default()
        };
        let r = Request::get("h", "/").with_header("user-agent", "Mozilla/5.0 CHROME/120");
        assert!(condition_matches(&c, &r));
        let r = Request::get("h", "/").with_header("User-Agent", "curl/8");
        assert!(!condition_matches(&c, &r));
        assert!(!condition_matches(&c, &Request::get("h", "/")));
    }

    #[test]
    fn methods_match_exactly_and_case_sensitively() {
        let c = cond(ConditionField::HttpRequestMethod, &["GET", "HEAD"]);
        assert!(condition_matches(&c, &Request::get("h", "/")));
        assert!(condition_matches(
            &c,
            &Request::get("h", "/").with_method("HEAD")
        ));
        assert!(!condition_matches(
            &c,
            &Request::get("h", "/").with_method("get")
        ));
        assert!(!condition_matches(
            &c,
            &Request::get("h", "/").with_method("POST")
        ));
    }

    #[test]
    fn query_strings_match_key_value_pairs_or_values_alone_case_insensitively() {
        // AWS docs example: version=v1 or any parameter whose value is `*example*`.
        let c = RuleCondition {
            field: ConditionField::QueryString,
            query_string_config: Some(QueryStringConfig {
                values: vec![
                    QueryStringKeyValue {
                        key: Some("version".into()),
                        value: "v1".into(),
                    },
                    QueryStringKeyValue {
                        key: None,
                        value: "*example*".into(),
                    },
                ],
            }),
            ..Default::default()
        };
        assert!(condition_matches(
            &c,
            &Request::get("h", "/").with_query("Version", "V1")
        ));
        assert!(condition_matches(
            &c,
            &Request::get("h", "/").with_query("x", "an-EXAMPLE-1")
        ));
        assert!(!condition_matches(
            &c,
            &Request::get("h", "/").with_query("version", "v2")
        ));
        assert!(!condition_matches(&c, &Request::get("h", "/")));
    }

    #[test]
    fn escaped_query_wildcards_match_literally() {
        assert!(query_glob_match(r"a\*b", "a*b"));
        assert!(!query_glob_match(r"a\*b", "axxb"));
        assert!(query_glob_match("a*b", "axxb"));
    }

    #[test]
    fn source_ip_matches_v4_and_v6_cidrs() {
        let c = cond(ConditionField::SourceIp, &["192.0.2.0/24", "2001:db8::/32"]);
        let r = |ip: &str| Request::get("h", "/").with_source(ip.parse().unwrap());
        assert!(condition_matches(&c, &r("192.0.2.200")));
        assert!(!condition_matches(&c, &r("192.0.3.1")));
        assert!(condition_matches(&c, &r("2001:db8::1")));
        assert!(!condition_matches(&c, &r("2001:db9::1")));
        // Host bits of a block are ignored, as ELB does.
        let c = cond(ConditionField::SourceIp, &["10.1.2.3/8"]);
        assert!(condition_matches(&c, &r("10.200.0.1")));
        assert!(!condition_matches(&c, &r("11.0.0.1")));
    }

    #[test]
    fn source_ip_values_are_cidr_blocks_only() {
        // SourceIpConditionConfig: "The source IP addresses, in CIDR format".
        let r = Request::get("h", "/").with_source("192.0.2.1".parse().unwrap());
        assert!(!condition_matches(
            &cond(ConditionField::SourceIp, &["192.0.2.1"]),
            &r
        ));
        assert!(condition_matches(
            &cond(ConditionField::SourceIp, &["192.0.2.1/32"]),
            &r
        ));
        assert_eq!(cidr("192.0.2.1"), None);
        assert_eq!(cidr("192.0.2.0/33"), None);
        assert_eq!(cidr("2001:db8::/129"), None);
    }

    #[test]
    fn the_first_host_of_a_block_is_an_address_a_client_can_have() {
        let first = |s: &str| first_host(&cidr(s).unwrap()).to_string();
        assert_eq!(first("10.0.0.0/8"), "10.0.0.1");
        assert_eq!(first("10.1.2.3/8"), "10.0.0.1");
        assert_eq!(first("192.0.2.0/24"), "192.0.2.1");
        assert_eq!(first("192.0.2.8/30"), "192.0.2.9");
        assert_eq!(first("192.0.2.8/31"), "192.0.2.8");
        assert_eq!(first("192.0.2.7/32"), "192.0.2.7");
        assert_eq!(first("0.0.0.0/0"), "0.0.0.1");
        assert_eq!(first("2001:db8::/32"), "2001:db8::1");
        assert_eq!(first("2001:db8::5/128"), "2001:db8::5");
        for s in ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::/0"] {
            let net = cidr(s).unwrap();
            assert!(net.contains(&first_host(&net)), "{s}");
        }
    }

    #[test]
    fn lowest_priority_wins_and_default_applies_last() {
        let l = listener(vec![
            (
                20,
                vec![cond(ConditionField::PathPattern, &["/api/*"])],
                "api",
            ),
            (
                10,
                vec![cond(ConditionField::PathPattern, &["/api/v2/*"])],
                "v2",
            ),
        ]);
        assert_eq!(tg(&l, &Request::get("h", "/api/v2/x")), "v2");
        assert_eq!(tg(&l, &Request::get("h", "/api/v1/x")), "api");
        assert_eq!(tg(&l, &Request::get("h", "/other")), "default");
        assert_eq!(
            route(&l, &Request::get("h", "/other")).rule,
            RuleId::Default
        );
    }

    #[test]
    fn all_conditions_of_a_rule_must_match() {
        let l = listener(vec![(
            1,
            vec![
                cond(ConditionField::HostHeader, &["a.example.com"]),
                cond(ConditionField::PathPattern, &["/x"]),
            ],
            "ax",
        )]);
        assert_eq!(tg(&l, &Request::get("a.example.com", "/x")), "ax");
        assert_eq!(tg(&l, &Request::get("b.example.com", "/x")), "default");
        assert_eq!(tg(&l, &Request::get("a.example.com", "/y")), "default");
    }

    #[test]
    fn weighted_forwards_normalize_names_and_drop_zero_weights() {
        use crate::api::{ForwardConfig, TargetGroupTuple};
        let a = Action {
            type_: ActionType::Forward,
            forward_config: Some(ForwardConfig {
                target_groups: vec![
                    TargetGroupTuple {
                        target_group_arn:
                            "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/abc".into(),
                        weight: Some(0),
                    },
                    TargetGroupTuple {
                        target_group_arn: "green".into(),
                        weight: Some(7),
                    },
                ],
                target_group_stickiness_config: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            forward_groups(&a),
            vec![WeightedGroup {
                target_group: "green".into(),
                weight: 1
            }]
        );
    }
}
