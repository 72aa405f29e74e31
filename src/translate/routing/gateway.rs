//! Gateway API `HTTPRoute`s (`gateway.networking.k8s.io/v1`) attached to one Gateway.
//!
//! Gateway API chooses between matches by specificity, not by order: the most specific
//! matching hostname, then an Exact path over the longest PathPrefix, then a method match,
//! then the most header matches, then the most query matches, then the oldest route, its
//! `namespace/name`, and finally rule order. The compiler makes that choice agree with the
//! ALB's first match:
//!
//! 1. Hosts and paths are cut into cells as for Ingress (literal and `*.` hosts are native
//!    here, and Gateway `*.example.com` also spans several labels, like the ALB).
//! 2. Within a cell, each rule becomes one match per combination of its method, header and
//!    query values. Where a later rule's match is more specific than an earlier one's and
//!    both can match, the conjunction of the two is added with the earlier rule's backends,
//!    so the most specific match a request can hit always belongs to the ALB's winner. All
//!    matches of one cell sit in one HTTPRoute in priority order, so remaining ties fall to
//!    rule order.
//! 3. Every cell ends in a catch-all for its path, so no request falls through to a shorter
//!    path or a less specific hostname.
//!
//! Redirects become `RequestRedirect` filters where the filter can say the same (scheme,
//! literal host, port, literal path, 301/302); the models compare them by the `Location` they
//! give for a request.
//!
//! Every HTTPRoute of a Listener attaches to one Gateway listener (`parentRefs[].sectionName`,
//! [`gateway_listener`]) named after the Listener's protocol and port (`http-80`,
//! `https-443`), so the routes of an HTTP :80 Listener never answer requests that arrive on
//! the Gateway's HTTPS :443 listener, and the other way round. That Gateway listener
//! terminates TLS; the report names the Secret its `certificateRefs` need (see
//! [`super::tls`]), and nothing the Gateway owner owns is emitted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::api::{ActionType, ConditionField, Listener, RedirectConfig, RedirectStatusCode};
use crate::translate::names::{LABEL_MANAGED_BY, MANAGED_BY, dns_label};
use crate::translate::report::Report;

use super::alb::{self, Request, RuleId, Target, Terminal, WeightedGroup};
use super::plan::{
    self, HostGroup, PathAtom, RuleView, Stickiness, host_path_match, path_shape,
    representative_host, representative_path,
};
use super::tls;
use super::{
    BackendResolver, CompiledRoutes, Fate, Implementation, RoutingOptions, RuleFate, ServiceBackend,
};

/// Why a rule is not representable on Traefik although Gateway API precedence carries it.
const TRAEFIK_DISAGREES: &str = "Traefik ranks HTTPRoute matches by one sum of hostname, path, method, header and query scores instead of Gateway API's order (hostname, then path, method, headers, query), and HTTPRoutes have no per-rule priority to correct it: on Traefik a sample request goes elsewhere";

/// Methods Gateway API accepts in `HTTPRouteMatch.method`.
const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Largest number of rules one HTTPRoute may hold.
const MAX_RULES: usize = 16;

/// One conjunctive match beyond host and path.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Term {
    method: Option<String>,
    /// Lower-case header name -> ALB value pattern (case-insensitive, wildcards).
    headers: BTreeMap<String, String>,
    /// Query parameter name -> ALB value pattern.
    query: BTreeMap<String, String>,
}

impl Term {
    fn key(&self) -> (u8, usize, usize) {
        (
            u8::from(self.method.is_some()),
            self.headers.len(),
            self.query.len(),
        )
    }

    /// Both terms at once, `None` if no request satisfies both, `Err` if Gateway cannot say it.
    fn and(&self, other: &Term) -> Result<Option<Term>, ()> {
        let method = match (&self.method, &other.method) {
            (Some(a), Some(b)) if a != b => return Ok(None),
            (a, b) => a.clone().or(b.clone()),
        };
        let mut headers = self.headers.clone();
        for (k, v) in &other.headers {
            match headers.get(k) {
                None => {
                    headers.insert(k.clone(), v.clone());
                }
                Some(mine) => match meet(mine, v, false)? {
                    Some(m) => {
                        headers.insert(k.clone(), m);
                    }
                    None => return Ok(None),
                },
            }
        }
        let mut query = self.query.clone();
        for (k, v) in &other.query {
            match query.get(k) {
                None => {
                    query.insert(k.clone(), v.clone());
                }
                Some(mine) => match meet(mine, v, true)? {
                    Some(m) => {
                        query.insert(k.clone(), m);
                    }
                    None => return Ok(None),
                },
            }
        }
        Ok(Some(Term {
            method,
            headers,
            query,
        }))
    }
}

// The values both case-insensitive patterns accept, when that is one of them.
fn meet(a: &str, b: &str, query: bool) -> Result<Option<String>, ()> {
    let wild = |s: &str| s.contains(['*', '?']);
    let m = |p: &str, t: &str| {
        if query {
            alb::query_glob_match(p, t)
        } else {
            alb::glob_match(p, t, true)
        }
    };
    if a.eq_ignore_ascii_case(b) {
        return Ok(Some(a.to_owned()));
    }
    match (wild(a), wild(b)) {
        (false, false) => Ok(None),
        (true, false) => Ok(m(a, b).then(|| b.to_owned())),
        (false, true) => Ok(m(b, a).then(|| a.to_owned())),
        (true, true) => Err(()),
    }
}

/// The Gateway listener the HTTPRoutes of one Listener attach to (`sectionName`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayListener {
    /// The Gateway listener's name: [`RoutingOptions::gateway_section_name`] when set, else
    /// the Listener's protocol and port, `http-80` or `https-443`.
    pub name: String,
    /// `HTTP` or `HTTPS`.
    pub protocol: &'static str,
    /// The port.
    pub port: i32,
}

impl GatewayListener {
    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.protocol == "HTTPS" {
            "https"
        } else {
            "http"
        }
    }
}

impl std::fmt::Display for GatewayListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} port {})", self.name, self.protocol, self.port)
    }
}

/// The Gateway listener `listener`'s HTTPRoutes attach to: protocol and port of the
/// Listener (HTTP :80 when unset, HTTPS :443 for HTTPS), named `<protocol>-<port>` in lower
/// case unless `options` name one.
pub fn gateway_listener(listener: &Listener, options: &RoutingOptions) -> GatewayListener {
    let (scheme, port) = alb::listener_endpoint(listener);
    GatewayListener {
        name: options
            .gateway_section_name
            .clone()
            .unwrap_or_else(|| format!("{scheme}-{port}")),
        protocol: if scheme == "https" { "HTTPS" } else { "HTTP" },
        port,
    }
}

/// The Gateway `listener`'s HTTPRoutes attach to, as `NAMESPACE/NAME` (the options'
/// namespace, else the listener's), or `NAME` when neither names a namespace.
pub fn gateway_ref(listener: &Listener, options: &RoutingOptions) -> String {
    match (&options.gateway_namespace, &listener.metadata.namespace) {
        (Some(ns), _) | (None, Some(ns)) => format!("{ns}/{}", options.gateway_name),
        (None, None) => options.gateway_name.clone(),
    }
}

/// Compiles `listener` into HTTPRoutes.
pub fn compile(
    listener: &Listener,
    backends: &dyn BackendResolver,
    options: &RoutingOptions,
) -> CompiledRoutes {
    let (object, mut report, views) = plan::start(listener, backends);
    // A rule that a higher-priority rule takes all requests of is dropped before anything
    // else: Gateway precedence would otherwise let its more specific matches win.
    let shadowed: Vec<Option<RuleId>> = (0..views.len())
        .map(|i| plan::shadowed_by_one(&views, i))
        .collect();
    let mut reasons: Vec<Option<String>> =
        views.iter().map(|v| unrepresentable(v, options)).collect();
    let terms: Vec<Vec<Term>> = views
        .iter()
        .enumerate()
        .map(|(i, v)| match terms_of(v) {
            Ok(t) => t,
            Err(e) => {
                reasons[i].get_or_insert(e);
                Vec::new()
            }
        })
        .collect();

    // Redirects become RequestRedirect filters where the filter can say the same.
    let rules = alb::rules_in_order(listener);
    let mut redirects: Vec<Option<Value>> = vec![None; views.len()];
    for (i, v) in views.iter().enumerate() {
        if reasons[i].is_some()
            || shadowed[i].is_some()
            || !matches!(v.target.terminal, Terminal::Redirect { .. })
        {
            continue;
        }
        let actions = rules
            .get(i)
            .map_or(&listener.spec.default_actions, |r| &r.actions);
        let cfg = actions
            .iter()
            .find(|a| a.type_ == ActionType::Redirect)
            .and_then(|a| a.redirect_config.clone())
            .unwrap_or_default();
        match redirect_filter(&cfg, listener) {
            Ok((filter, notes)) => {
                redirects[i] = Some(filter);
                for n in notes {
                    report.approximated(&object, v.field.clone(), n);
                }
            }
            Err(e) => reasons[i] = Some(e),
        }
    }

    // Exclude rules whose overlaps Gateway cannot express, until none is left.
    let plan = loop {
        match build(&views, &terms, &reasons, &shadowed) {
            Ok(plan) => break plan,
            Err((i, why)) => reasons[i] = Some(why),
        }
    };

    let mut fates: Vec<RuleFate> = views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let fate = match (&reasons[i], shadowed[i]) {
                (_, Some(by)) => Fate::Shadowed { by: vec![by] },
                (None, None) if plan.appears[i] => Fate::Exact,
                (None, None) => Fate::Shadowed {
                    by: plan.truncated_by[i].iter().map(|&w| views[w].id).collect(),
                },
                (Some(reason), None) => Fate::NotRepresentable {
                    reason: reason.clone(),
                    counterexample: None,
                },
            };
            RuleFate { rule: v.id, fate }
        })
        .collect();

    for (f, v) in fates.iter_mut().zip(&views) {
        if let (Fate::Exact, Some(sticky)) = (&f.fate, v.stickiness) {
            f.fate = Fate::Approximated {
                difference: sticky_difference(sticky, options),
            };
        }
    }

    let section = gateway_listener(listener, options);
    let objects = emit(listener, &views, &redirects, &plan, options, &section);
    let model = GatewayModel::from_objects(&objects).on_listener(&section);
    let (model, disagreement) = match options.implementation {
        Implementation::Conformant => (model, plan::COMPILER_LIMITATION),
        Implementation::Traefik => (model.traefik(), TRAEFIK_DISAGREES),
    };
    plan::check_fates(
        listener,
        &views,
        &mut fates,
        &|r| model.route(r),
        backends,
        disagreement,
    );
    let gateway = gateway_ref(listener, options);
    report.note(
        &object,
        "spec.port",
        format!(
            "the HTTPRoutes attach to listener {} of Gateway {gateway} (parentRefs sectionName): the Gateway needs a listener named {} with protocol {} and port {}{}",
            section.name,
            section.name,
            section.protocol,
            section.port,
            match tls::certificates(listener).first() {
                Some(c) if section.protocol == "HTTPS" => format!(
                    ", which terminates TLS with certificateRefs to Secret {}",
                    c.secret()
                ),
                _ if section.protocol == "HTTPS" => ", which terminates TLS".to_owned(),
                _ => String::new(),
            }
        ),
    );
    let gateway_namespace = options
        .gateway_namespace
        .as_deref()
        .or(listener.metadata.namespace.as_deref());
    tls::report_gateway(listener, &section, gateway_namespace, &object, &mut report);
    if plan.uses_regex {
        report.note(
            &object,
            "spec.rules",
            "header or query values that the ALB compares case-insensitively or with wildcards became RegularExpression matches ((?i) RE2 syntax); Gateway API support for them is Implementation-specific",
        );
    }
    if plan.oversized_cells {
        report.approximated(
            &object,
            "spec.rules",
            format!("a host and path need more than {MAX_RULES} HTTPRoute rules; they were split over several HTTPRoutes, whose ties Gateway API breaks by creation time before name"),
        );
    }
    CompiledRoutes {
        objects,
        fates,
        caveats: report,
        report: Report::default(),
    }
}

// What a weighted forward with target group stickiness loses (or gains) in Gateway API.
fn sticky_difference(sticky: Stickiness, options: &RoutingOptions) -> String {
    let duration = sticky
        .duration_seconds
        .map(|d| format!(" for {d} s"))
        .unwrap_or_default();
    if options.gateway_session_persistence {
        format!(
            "target group stickiness (the ALB keeps a client on the target group it first reached{duration}) became the HTTPRoute rule's sessionPersistence, which is experimental (Extended support: the Gateway implementation must support it); it keeps a client on one backend pod, not only on one target group, and whether the HTTPRoute rules of one listener rule share a session is implementation-specific"
        )
    } else {
        format!(
            "target group stickiness: the ALB keeps a client on the target group it first reached{duration}; backendRefs weights pick a backend for every request, so a client moves between the weighted backends (Gateway API sessionPersistence is experimental and was not emitted)"
        )
    }
}

// The `sessionPersistence` of an HTTPRoute rule: a cookie that lives as long as the ALB's
// target group stickiness.
fn session_persistence(sticky: Stickiness) -> Value {
    match sticky.duration_seconds {
        Some(d) => json!({
            "type": "Cookie",
            "absoluteTimeout": gateway_duration(d),
            "cookieConfig": {"lifetimeType": "Permanent"},
        }),
        None => json!({"type": "Cookie"}),
    }
}

// A Gateway API Duration (`1h2m3s`, each part at most 5 digits) of `seconds` (at least 1).
fn gateway_duration(seconds: i32) -> String {
    let s = seconds.max(1).unsigned_abs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (sec, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

fn unrepresentable(v: &RuleView, options: &RoutingOptions) -> Option<String> {
    if v.transforms {
        return Some("it rewrites the request (transforms), which the compiler does not carry to Gateway API yet".into());
    }
    if let Err(e) = plan::single_conditions(&v.conditions) {
        return Some(e);
    }
    let needs_regex =
        |s: &str| s.contains(['*', '?']) || s.chars().any(|c| c.is_ascii_alphabetic());
    for c in &v.conditions {
        match c.field {
            ConditionField::HostHeader => {
                let (values, regexes) = alb::host_values(c);
                if !regexes.is_empty() {
                    return Some(
                        "host-header regex values cannot be expressed in HTTPRoute hostnames"
                            .into(),
                    );
                }
                for h in values {
                    let rest = h.strip_prefix("*.").unwrap_or(&h);
                    if rest.contains(['*', '?']) {
                        return Some(format!(
                            "host {h:?} has a wildcard other than a leading `*.`, which HTTPRoute hostnames cannot express"
                        ));
                    }
                }
            }
            ConditionField::PathPattern => {
                let (values, regexes) = alb::path_values(c);
                if !regexes.is_empty() {
                    return Some("path-pattern regex values have Implementation-specific precedence in Gateway API".into());
                }
                for p in values {
                    if let Err(e) = path_shape(&p) {
                        return Some(e);
                    }
                }
            }
            ConditionField::HttpHeader => {
                let Some(cfg) = &c.http_header_config else {
                    return Some("http-header condition without httpHeaderConfig".into());
                };
                if cfg.regex_values.is_some() {
                    return Some("http-header regex values are not compiled to Gateway API".into());
                }
                if !options.gateway_regex_headers && cfg.values.iter().any(|v| needs_regex(v)) {
                    return Some("the ALB compares header values case-insensitively (with wildcards); Exact header matches are case-sensitive and RegularExpression matches are disabled".into());
                }
            }
            ConditionField::HttpRequestMethod => {
                for m in c.http_request_method_config.iter().flat_map(|c| &c.values) {
                    if !METHODS.contains(&m.as_str()) {
                        return Some(format!(
                            "method {m:?} is not one of the methods HTTPRoute accepts"
                        ));
                    }
                }
            }
            ConditionField::QueryString => {
                for pair in c.query_string_config.iter().flat_map(|c| &c.values) {
                    match &pair.key {
                        None => {
                            return Some(
                                "query-string values without a key have no HTTPRoute equivalent"
                                    .into(),
                            );
                        }
                        Some(k)
                            if k.contains(['*', '?', '\\'])
                                || k.chars().any(|c| c.is_ascii_alphabetic()) =>
                        {
                            return Some(format!(
                                "query key {k:?}: the ALB compares keys case-insensitively (with wildcards), HTTPRoute query parameter names match exactly"
                            ));
                        }
                        Some(_) => {}
                    }
                    if pair.value.contains('\\')
                        || (!options.gateway_regex_headers && needs_regex(&pair.value))
                    {
                        return Some("the ALB compares query values case-insensitively (with wildcards), which needs RegularExpression matches".into());
                    }
                }
            }
            ConditionField::SourceIp => {
                return Some("source-ip conditions have no Gateway API equivalent".into());
            }
        }
    }
    let t = &v.target;
    if !t.authenticate.is_empty() {
        return Some(format!(
            "{} has no Gateway API equivalent",
            t.authenticate.join(", ")
        ));
    }
    match &t.terminal {
        Terminal::Forward(groups) if !groups.is_empty() => None,
        Terminal::Forward(_) => {
            Some("the forward has no target group with a non-zero weight".into())
        }
        Terminal::Redirect { .. } => None, // compile checks the RequestRedirect filter

        Terminal::FixedResponse { .. } => {
            Some("fixed responses have no Core Gateway API filter".into())
        }
        Terminal::Missing => Some("the rule has no final action".into()),
    }
}

// The DNF of a rule's method, header and query conditions.
fn terms_of(v: &RuleView) -> Result<Vec<Term>, String> {
    let mut terms = vec![Term::default()];
    for c in &v.conditions {
        let alts: Vec<Term> = match c.field {
            ConditionField::HttpRequestMethod => c
                .http_request_method_config
                .iter()
                .flat_map(|c| &c.values)
                .map(|m| Term {
                    method: Some(m.clone()),
                    ..Default::default()
                })
                .collect(),
            ConditionField::HttpHeader => c
                .http_header_config
                .iter()
                .flat_map(|cfg| {
                    cfg.values.iter().map(|v| Term {
                        headers: BTreeMap::from([(
                            cfg.http_header_name.to_ascii_lowercase(),
                            v.clone(),
                        )]),
                        ..Default::default()
                    })
                })
                .collect(),
            ConditionField::QueryString => c
                .query_string_config
                .iter()
                .flat_map(|cfg| {
                    cfg.values.iter().map(|p| Term {
                        query: BTreeMap::from([(
                            p.key.clone().unwrap_or_default(),
                            p.value.clone(),
                        )]),
                        ..Default::default()
                    })
                })
                .collect(),
            _ => continue,
        };
        let mut next = Vec::new();
        for t in &terms {
            for a in &alts {
                match t.and(a) {
                    Ok(Some(x)) => next.push(x),
                    Ok(None) => {}
                    Err(()) => return Err("two conditions on the same header or query key with wildcards that one Gateway match cannot combine".into()),
                }
            }
        }
        terms = next;
    }
    terms.sort();
    terms.dedup();
    Ok(terms)
}

// Per path atom of a host group: its matches (term, rule index) in emission order.
type Cells = Vec<(PathAtom, Vec<(Term, usize)>)>;

struct Plan {
    groups: Vec<HostGroup>,
    /// Per host group, per atom: elements (term, rule index) in emission order.
    cells: BTreeMap<HostGroup, Cells>,
    appears: Vec<bool>,
    truncated_by: Vec<BTreeSet<usize>>,
    uses_regex: bool,
    oversized_cells: bool,
}

// Builds the cells, or names a rule (and why) that must be left out first.
fn build(
    views: &[RuleView],
    terms: &[Vec<Term>],
    reasons: &[Option<String>],
    shadowed: &[Option<RuleId>],
) -> Result<Plan, (usize, String)> {
    let rep: Vec<usize> = (0..views.len())
        .filter(|&i| reasons[i].is_none() && shadowed[i].is_none())
        .collect();
    let default_index = views.len() - 1;
    let (groups, atoms) = plan::cells(views, &rep);
    let mut plan = Plan {
        groups: groups.clone(),
        cells: BTreeMap::new(),
        appears: vec![false; views.len()],
        truncated_by: vec![BTreeSet::new(); views.len()],
        uses_regex: false,
        oversized_cells: false,
    };
    for g in &groups {
        let host = representative_host(g, &groups);
        let mut cells = Vec::new();
        for a in &atoms {
            let path = representative_path(a, &atoms);
            // Terms of the rules that match this cell, until one matches all of it.
            let mut list: Vec<(Term, usize)> = Vec::new();
            let mut total: Option<usize> = None;
            for &i in &rep {
                let hp = i == default_index || host_path_match(&views[i].conditions, &host, &path);
                if !hp {
                    continue;
                }
                if let Some(t) = total {
                    plan.truncated_by[i].insert(t);
                    continue;
                }
                plan.appears[i] = true;
                let ts = if i == default_index {
                    vec![Term::default()]
                } else {
                    terms[i].clone()
                };
                if ts.contains(&Term::default()) {
                    total = Some(i);
                }
                list.extend(ts.into_iter().map(|t| (t, i)));
            }
            cells.push((a.clone(), close(&list)?));
        }
        plan.cells.insert(g.clone(), cells);
    }
    for cells in plan.cells.values() {
        for (_, elems) in cells {
            plan.oversized_cells |= elems.len() > MAX_RULES;
            for (t, _) in elems {
                plan.uses_regex |= t
                    .headers
                    .values()
                    .chain(t.query.values())
                    .any(|v| needs_regex(v));
            }
        }
    }
    Ok(plan)
}

fn needs_regex(v: &str) -> bool {
    v.contains(['*', '?']) || v.chars().any(|c| c.is_ascii_alphabetic())
}

// Every conjunction of terms that is more specific than its first member, with the first
// member's rule, in rule order: the most specific match a request hits then always belongs to
// the first rule it satisfies.
fn close(list: &[(Term, usize)]) -> Result<Vec<(Term, usize)>, (usize, String)> {
    const CAP: usize = 512;
    let mut out: Vec<(Term, usize, usize)> = Vec::new(); // (term, rule, position of first member)
    fn dfs(
        list: &[(Term, usize)],
        start: usize,
        acc: &Term,
        first: usize,
        out: &mut Vec<(Term, usize, usize)>,
    ) -> Result<(), (usize, String)> {
        for j in start..list.len() {
            if list[j].1 == list[first].1 {
                continue; // alternatives of the first rule add nothing
            }
            match acc.and(&list[j].0) {
                Ok(Some(c)) => {
                    if c.key() > list[first].0.key()
                        && !out.iter().any(|(t, r, _)| *t == c && *r == list[first].1)
                    {
                        out.push((c.clone(), list[first].1, first));
                        if out.len() > CAP {
                            return Err((list[j].1, "too many overlapping header/method/query combinations to order in Gateway API".into()));
                        }
                    }
                    if c != *acc {
                        dfs(list, j + 1, &c, first, out)?;
                    }
                }
                Ok(None) => {}
                Err(()) => {
                    return Err((list[j].1, "overlaps a higher-priority rule on a header or query key with wildcards that one Gateway match cannot combine".into()));
                }
            }
        }
        Ok(())
    }
    for (k, (t, r)) in list.iter().enumerate() {
        out.push((t.clone(), *r, k));
        dfs(list, k + 1, t, k, &mut out)?;
    }
    out.sort_by_key(|(_, _, first)| *first);
    Ok(out.into_iter().map(|(t, r, _)| (t, r)).collect())
}

/// The `requestRedirect` of a RequestRedirect filter that redirects as `cfg` does, with notes
/// on what it assumes, or why the filter cannot say the same.
fn redirect_filter(
    cfg: &RedirectConfig,
    listener: &Listener,
) -> Result<(Value, Vec<String>), String> {
    let (_, listener_port) = alb::listener_endpoint(listener);
    let kept =
        |v: &Option<String>, placeholder: &str| v.as_deref().is_none_or(|x| x == placeholder);
    let mut notes = Vec::new();
    let code = match cfg.status_code {
        RedirectStatusCode::Http301 => 301,
        RedirectStatusCode::Http302 => 302,
    };
    let mut f = json!({ "statusCode": code });
    let scheme = if kept(&cfg.protocol, "#{protocol}") {
        None
    } else {
        let p = cfg
            .protocol
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if p != "http" && p != "https" {
            return Err(format!("redirect protocol {p:?} is not http or https"));
        }
        f["scheme"] = json!(p);
        Some(p)
    };
    if !kept(&cfg.host, "#{host}") {
        let h = cfg.host.as_deref().unwrap_or_default();
        if h.contains("#{") {
            return Err(format!(
                "redirect host {h:?} mixes #{{}} placeholders with text; the RequestRedirect filter sets a literal hostname or keeps the request's"
            ));
        }
        let h = h.to_ascii_lowercase();
        if !is_precise_hostname(&h) {
            return Err(format!(
                "redirect host {h:?} is not a hostname the RequestRedirect filter accepts"
            ));
        }
        f["hostname"] = json!(h);
    }
    if kept(&cfg.port, "#{port}") {
        if scheme.is_some() {
            // The filter would switch to the scheme's well-known port; the ALB keeps the port.
            f["port"] = json!(listener_port);
            notes.push(format!("the redirect keeps the request's port, written as port {listener_port} (the listener's): this assumes the Gateway listener that receives these requests uses port {listener_port} too"));
        }
    } else {
        let p = cfg.port.as_deref().unwrap_or_default();
        match p.parse::<u16>() {
            Ok(n) if n > 0 => f["port"] = json!(n),
            _ => {
                return Err(format!(
                    "redirect port {p:?} is not a port number the RequestRedirect filter accepts"
                ));
            }
        }
    }
    if !kept(&cfg.path, "/#{path}") {
        let p = cfg.path.as_deref().unwrap_or_default();
        if p.contains("#{") {
            return Err(format!(
                "redirect path {p:?} uses #{{}} placeholders inside other text; the RequestRedirect filter replaces the whole path with a literal or keeps the request's"
            ));
        }
        f["path"] = json!({"type": "ReplaceFullPath", "replaceFullPath": p});
    }
    if !kept(&cfg.query, "#{query}") {
        return Err(format!(
            "redirect query {:?}: the RequestRedirect filter cannot set the query string",
            cfg.query.as_deref().unwrap_or_default()
        ));
    }
    notes.push("the ALB keeps the query string in the redirect; Gateway API does not specify the query of a RequestRedirect (Envoy-based implementations keep it)".to_owned());
    Ok((f, notes))
}

// A hostname the RequestRedirect filter accepts (lower-case DNS name, no wildcard).
fn is_precise_hostname(h: &str) -> bool {
    h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn emit(
    listener: &Listener,
    views: &[RuleView],
    redirects: &[Option<Value>],
    plan: &Plan,
    options: &RoutingOptions,
    section: &GatewayListener,
) -> Vec<Value> {
    let base = dns_label(listener.metadata.name.as_deref().unwrap_or("listener"));
    let mut parent = json!({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": options.gateway_name});
    if let Some(ns) = &options.gateway_namespace {
        parent["namespace"] = json!(ns);
    }
    parent["sectionName"] = json!(section.name);
    let mut objects = Vec::new();
    for g in &plan.groups {
        let (slug, hostnames) = match g {
            HostGroup::Exact(h) => (h.clone(), vec![h.clone()]),
            HostGroup::Wildcard(s) => (format!("wildcard.{s}"), vec![format!("*.{s}")]),
            HostGroup::Any => ("any".to_owned(), Vec::new()),
        };
        // Pack whole cells into routes of at most MAX_RULES rules.
        let mut chunks: Vec<Vec<Value>> = vec![Vec::new()];
        for (atom, elems) in &plan.cells[g] {
            let rules: Vec<Value> = elems
                .iter()
                .map(|(t, i)| {
                    let mut rule = rule_json(atom, t, &views[*i].k8s, redirects[*i].as_ref());
                    if let Some(sticky) = views[*i]
                        .stickiness
                        .filter(|_| options.gateway_session_persistence)
                    {
                        rule["sessionPersistence"] = session_persistence(sticky);
                    }
                    rule
                })
                .collect();
            if rules.is_empty() {
                continue;
            }
            let last = chunks.last_mut().expect("one chunk");
            if !last.is_empty() && last.len() + rules.len() > MAX_RULES {
                chunks.push(rules);
            } else {
                last.extend(rules);
            }
        }
        for (n, rules) in chunks
            .into_iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
        {
            let name = dns_label(&format!("{base}-{slug}-{n}"));
            let mut metadata = json!({"name": name, "labels": {LABEL_MANAGED_BY: MANAGED_BY}});
            if let Some(ns) = &listener.metadata.namespace {
                metadata["namespace"] = json!(ns);
            }
            let mut spec = json!({"parentRefs": [parent.clone()], "rules": rules});
            if !hostnames.is_empty() {
                spec["hostnames"] = json!(hostnames);
            }
            objects.push(json!({
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": metadata,
                "spec": spec,
            }));
        }
    }
    objects
}

fn rule_json(atom: &PathAtom, t: &Term, target: &Target, redirect: Option<&Value>) -> Value {
    let path = match atom {
        PathAtom::Exact(p) => json!({"type": "Exact", "value": p}),
        PathAtom::Prefix(p) => json!({"type": "PathPrefix", "value": p}),
    };
    let mut m = json!({"path": path});
    if let Some(method) = &t.method {
        m["method"] = json!(method);
    }
    if !t.headers.is_empty() {
        m["headers"] = t
            .headers
            .iter()
            .map(|(k, v)| value_match(k, v, false))
            .collect();
    }
    if !t.query.is_empty() {
        m["queryParams"] = t
            .query
            .iter()
            .map(|(k, v)| value_match(k, v, true))
            .collect();
    }
    if let Some(r) = redirect {
        return json!({"matches": [m], "filters": [{"type": "RequestRedirect", "requestRedirect": r}]});
    }
    let refs: Vec<Value> = target
        .forward()
        .unwrap_or_default()
        .iter()
        .map(|g| {
            let b = ServiceBackend::from_key(&g.target_group);
            json!({"name": b.name, "port": b.port, "weight": g.weight})
        })
        .collect();
    json!({"matches": [m], "backendRefs": refs})
}

fn value_match(name: &str, pattern: &str, query: bool) -> Value {
    if needs_regex(pattern) && !pattern.contains('\\') {
        let mut re = String::from("(?i)^");
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c if c.is_ascii_alphanumeric() => re.push(c),
                c => {
                    re.push('\\');
                    re.push(c);
                }
            }
        }
        re.push('$');
        let _ = query;
        json!({"type": "RegularExpression", "name": name, "value": re})
    } else {
        json!({"type": "Exact", "name": name, "value": pattern})
    }
}

/// A model of Gateway API routing over compiled HTTPRoutes, following the precedence in the
/// `HTTPRouteRule` and `HTTPRouteSpec.hostnames` documentation.
#[derive(Clone, Debug)]
pub struct GatewayModel {
    routes: Vec<RouteModel>,
    /// Implementations that pick the most specific hostname first and never fall back to a
    /// less specific one (Envoy virtual hosts), instead of one global precedence order.
    pub no_fallthrough_between_hostnames: bool,
    /// Route by Traefik v3.6's precedence instead of Gateway API's (see
    /// [`GatewayModel::traefik`]).
    traefik: bool,
    /// Scheme and port of the Gateway listener the requests arrive on.
    listener: (&'static str, i32),
    /// Name of that Gateway listener, when known: routes attached to other sections of the
    /// Gateway do not see the requests.
    section: Option<String>,
}

impl Default for GatewayModel {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            no_fallthrough_between_hostnames: false,
            traefik: false,
            listener: ("http", 80),
            section: None,
        }
    }
}

#[derive(Clone, Debug)]
struct RouteModel {
    name: String,
    /// `sectionName` of each parentRef (`None`: every listener of the Gateway).
    sections: Vec<Option<String>>,
    hostnames: Vec<String>,
    rules: Vec<(Vec<Value>, Outcome)>,
}

impl RouteModel {
    // Whether the route takes requests arriving on Gateway listener `section`.
    fn attached_to(&self, section: Option<&str>) -> bool {
        let Some(section) = section else {
            return true;
        };
        self.sections.is_empty()
            || self
                .sections
                .iter()
                .any(|s| s.as_deref().is_none_or(|s| s == section))
    }
}

// What an HTTPRoute rule does with a request it takes.
#[derive(Clone, Debug)]
enum Outcome {
    Forward(Vec<WeightedGroup>),
    // The `requestRedirect` of a RequestRedirect filter.
    Redirect(Value),
}

impl GatewayModel {
    /// Reads `HTTPRoute` objects.
    pub fn from_objects(objects: &[Value]) -> Self {
        let routes = objects
            .iter()
            .filter(|o| o["kind"] == "HTTPRoute")
            .map(|o| RouteModel {
                name: format!(
                    "{}/{}",
                    o["metadata"]["namespace"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                ),
                sections: o["spec"]["parentRefs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p["sectionName"].as_str().map(str::to_owned))
                    .collect(),
                hostnames: o["spec"]["hostnames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str().map(str::to_owned))
                    .collect(),
                rules: o["spec"]["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        let matches = match r["matches"].as_array() {
                            Some(m) if !m.is_empty() => m.clone(),
                            _ => vec![json!({"path": {"type": "PathPrefix", "value": "/"}})],
                        };
                        let redirect = r["filters"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|f| f["type"] == "RequestRedirect");
                        if let Some(f) = redirect {
                            return (matches, Outcome::Redirect(f["requestRedirect"].clone()));
                        }
                        let mut groups: Vec<WeightedGroup> = r["backendRefs"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|b| WeightedGroup {
                                target_group: format!(
                                    "{}:{}",
                                    b["name"].as_str().unwrap_or(""),
                                    b["port"].as_i64().unwrap_or(0)
                                ),
                                weight: b["weight"].as_u64().unwrap_or(1) as u32,
                            })
                            .filter(|g| g.weight > 0)
                            .collect();
                        groups.sort();
                        if groups.len() == 1 {
                            groups[0].weight = 1;
                        }
                        (matches, Outcome::Forward(groups))
                    })
                    .collect(),
            })
            .collect();
        Self {
            routes,
            ..Self::default()
        }
    }

    /// The model for requests arriving on Gateway listener `section`: only routes attached to
    /// it (or to the whole Gateway) see them, and its scheme and port are what redirects keep
    /// when they do not set them.
    pub fn on_listener(mut self, section: &GatewayListener) -> Self {
        self.listener = (section.scheme(), section.port);
        self.section = Some(section.name.clone());
        self
    }

    /// The model of Traefik v3.6's Gateway provider
    /// (`pkg/provider/kubernetes/gateway/httproute.go`): every HTTPRoute match is a router
    /// whose priority is one sum, the longest of the route's hostnames in characters, plus
    /// 100000 for an Exact path or 10000 + 100 per character of a PathPrefix (1 for
    /// `PathPrefix /`), 1000 for a method, 100 per header and 10 per query parameter, plus the
    /// number of the route's rules after this one; the matching router of the highest
    /// priority takes the request. So a host-less rule with a header can beat a hostname's
    /// rule, and a method can beat a longer path, unlike Gateway API's ordered precedence.
    /// Routers of equal priority are in no defined order: a request two of them that do
    /// different things match is routed nowhere by this model.
    pub fn traefik(mut self) -> Self {
        self.traefik = true;
        self
    }

    /// Where the request goes: `Some` forward over `service:port` backends, `None` no route.
    pub fn route(&self, r: &Request) -> Option<Target> {
        if self.traefik {
            return self.route_traefik(r);
        }
        let host = r.host.to_ascii_lowercase();
        let host_keys: Vec<Option<(usize, usize)>> = self
            .routes
            .iter()
            .map(|rt| {
                if rt.attached_to(self.section.as_deref()) {
                    host_key(&rt.hostnames, &host)
                } else {
                    None
                }
            })
            .collect();
        let best_host = host_keys.iter().flatten().max().copied();
        let mut best: Option<(SortKey, &Outcome)> = None;
        for (ri, rt) in self.routes.iter().enumerate() {
            let Some(hk) = host_keys[ri] else { continue };
            if self.no_fallthrough_between_hostnames && Some(hk) != best_host {
                continue;
            }
            for (rule_i, (matches, groups)) in rt.rules.iter().enumerate() {
                for (mi, m) in matches.iter().enumerate() {
                    if let Some(spec) = match_key(m, r) {
                        let key = SortKey {
                            host: std::cmp::Reverse(hk),
                            spec: std::cmp::Reverse(spec),
                            name: rt.name.clone(),
                            rule: rule_i,
                            m: mi,
                        };
                        if best.as_ref().is_none_or(|(k, _)| key < *k) {
                            best = Some((key, groups));
                        }
                    }
                }
            }
        }
        let (_, outcome) = best?;
        self.outcome(outcome, r)
    }

    fn outcome(&self, outcome: &Outcome, r: &Request) -> Option<Target> {
        match outcome {
            Outcome::Forward(groups) => (!groups.is_empty()).then(|| Target {
                authenticate: Vec::new(),
                terminal: Terminal::Forward(groups.clone()),
            }),
            Outcome::Redirect(f) => Some(Target {
                authenticate: Vec::new(),
                terminal: self.redirect(f, r),
            }),
        }
    }

    fn route_traefik(&self, r: &Request) -> Option<Target> {
        let host = r.host.to_ascii_lowercase();
        let mut top: Option<(i64, Vec<&Outcome>)> = None;
        for rt in &self.routes {
            if !rt.attached_to(self.section.as_deref()) || host_key(&rt.hostnames, &host).is_none()
            {
                continue;
            }
            let host_score = rt.hostnames.iter().map(String::len).max().unwrap_or(0);
            let n = rt.rules.len();
            for (rule_i, (matches, outcome)) in rt.rules.iter().enumerate() {
                for m in matches {
                    if match_key(m, r).is_none() {
                        continue;
                    }
                    let score = traefik_score(m) + host_score + (n - rule_i);
                    let score = i64::try_from(score).unwrap_or(i64::MAX);
                    match &mut top {
                        Some((best, outcomes)) if *best == score => outcomes.push(outcome),
                        Some((best, _)) if *best > score => {}
                        _ => top = Some((score, vec![outcome])),
                    }
                }
            }
        }
        let (_, outcomes) = top?;
        let mut targets = outcomes.iter().map(|o| self.outcome(o, r));
        let first = targets.next()??;
        // Equal priorities: either router may answer.
        targets.all(|t| t.as_ref() == Some(&first)).then_some(first)
    }

    // The redirect a RequestRedirect filter gives for `r`, as the concrete `Location`
    // (`scheme://host:port/path?query`, the form of [`alb::redirect_location`]).
    fn redirect(&self, f: &Value, r: &Request) -> Terminal {
        let (listener_scheme, listener_port) = self.listener;
        let scheme = f["scheme"].as_str();
        let port = f["port"].as_i64().unwrap_or(match scheme {
            Some("https") => 443,
            Some(_) => 80,
            None => i64::from(listener_port),
        });
        let path = match f["path"]["type"].as_str() {
            Some("ReplaceFullPath") => f["path"]["replaceFullPath"].as_str().unwrap_or("/"),
            _ => &r.path,
        };
        let location = format!(
            "{}://{}:{port}{path}?{}",
            scheme.unwrap_or(listener_scheme),
            f["hostname"]
                .as_str()
                .unwrap_or(&r.host)
                .to_ascii_lowercase(),
            alb::query_string(r)
        );
        Terminal::Redirect {
            location,
            status_code: format!("HTTP_{}", f["statusCode"].as_i64().unwrap_or(302)),
        }
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct SortKey {
    host: std::cmp::Reverse<(usize, usize)>,
    spec: std::cmp::Reverse<(u8, usize, u8, usize, usize)>,
    name: String,
    rule: usize,
    m: usize,
}

// (characters of a matching non-wildcard hostname, characters of the matching hostname);
// `None` when the route does not accept the host. Routes without hostnames accept all.
fn host_key(hostnames: &[String], host: &str) -> Option<(usize, usize)> {
    if hostnames.is_empty() {
        return Some((0, 0));
    }
    hostnames
        .iter()
        .filter_map(|h| match h.strip_prefix("*.") {
            Some(s) => host
                .strip_suffix(s)
                .and_then(|l| l.strip_suffix('.'))
                .filter(|l| !l.is_empty())
                .map(|_| (0, h.len())),
            None => (h == host).then_some((h.len(), h.len())),
        })
        .max()
}

// Precedence of a matching HTTPRouteMatch: (Exact path?, prefix length, method?, headers,
// query params); `None` if it does not match.
fn match_key(m: &Value, r: &Request) -> Option<(u8, usize, u8, usize, usize)> {
    let path = &m["path"];
    let value = path["value"].as_str().unwrap_or("/");
    let (exact, len) = match path["type"].as_str().unwrap_or("PathPrefix") {
        "Exact" => {
            if r.path != value {
                return None;
            }
            (1, value.len())
        }
        _ => {
            if !plan::prefix_matches(value, &r.path) {
                return None;
            }
            (0, value.trim_end_matches('/').len())
        }
    };
    let method = m["method"].as_str();
    if method.is_some_and(|x| x != r.method) {
        return None;
    }
    let headers = m["headers"].as_array().cloned().unwrap_or_default();
    for h in &headers {
        let name = h["name"].as_str().unwrap_or("");
        let (_, v) = r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        if !value_matches(h, v) {
            return None;
        }
    }
    let query = m["queryParams"].as_array().cloned().unwrap_or_default();
    for q in &query {
        let name = q["name"].as_str().unwrap_or("");
        let (_, v) = r.query.iter().find(|(k, _)| k == name)?;
        if !value_matches(q, v) {
            return None;
        }
    }
    Some((
        exact,
        len,
        u8::from(method.is_some()),
        headers.len(),
        query.len(),
    ))
}

// Traefik's score of an HTTPRoute match without its hostname and rule-order parts
// (`buildMatchRule`).
fn traefik_score(m: &Value) -> usize {
    let path = &m["path"];
    let value = path["value"].as_str().unwrap_or("/");
    let path_score = match path["type"].as_str().unwrap_or("PathPrefix") {
        "Exact" => 100_000,
        "PathPrefix" if value == "/" => 1,
        "PathPrefix" | "RegularExpression" => 10_000 + value.len() * 100,
        _ => 1,
    };
    let count = |field: &str| m[field].as_array().map_or(0, Vec::len);
    path_score
        + if m["method"].is_string() { 1000 } else { 0 }
        + 100 * count("headers")
        + 10 * count("queryParams")
}

fn value_matches(m: &Value, v: &str) -> bool {
    let want = m["value"].as_str().unwrap_or("");
    match m["type"].as_str().unwrap_or("Exact") {
        "RegularExpression" => regex::Regex::new(want).is_ok_and(|re| re.is_match(v)),
        _ => want == v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_durations_use_hours_minutes_and_seconds() {
        assert_eq!(gateway_duration(604800), "168h");
        assert_eq!(gateway_duration(90), "1m30s");
        assert_eq!(gateway_duration(3661), "1h1m1s");
        assert_eq!(gateway_duration(1), "1s");
        assert_eq!(gateway_duration(0), "1s");
    }
}
