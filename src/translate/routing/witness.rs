//! Sample requests that satisfy a rule's conditions, chosen to probe where Kubernetes routing
//! differs from the ALB: multi-label hosts under a wildcard, `*` across `/` and inside path
//! segments, paths one segment short, letter case in headers and query keys.

use std::collections::BTreeSet;

use crate::api::{ConditionField, RuleCondition};

use super::alb::{self, Request};
use super::plan::Hints;

/// At most this many requests per rule.
const CAP: usize = 400;

/// Requests that (mostly) satisfy `conds`; the caller filters with the ALB model.
pub(crate) fn witnesses(conds: &[RuleCondition], hints: &Hints) -> Vec<Request> {
    let mut hosts: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut methods: Vec<String> = vec!["GET".to_owned()];
    let mut headers: Vec<Vec<(String, String)>> = vec![Vec::new()];
    let mut queries: Vec<Vec<(String, String)>> = vec![Vec::new()];
    let mut ips: Vec<std::net::IpAddr> = vec![std::net::IpAddr::from([198, 51, 100, 7])];

    let host_cond = conds.iter().find(|c| c.field == ConditionField::HostHeader);
    match host_cond {
        Some(c) => {
            for v in alb::host_values(c).0 {
                for star in ["x", "a.b", ""] {
                    let h = v.replace('*', star).replace('?', "q");
                    if !h.is_empty() && !h.starts_with('.') {
                        hosts.push(h.to_ascii_lowercase());
                        if star == "x" && h.chars().any(|c| c.is_ascii_lowercase()) {
                            hosts.push(h.to_ascii_uppercase());
                        }
                    }
                }
            }
        }
        None => {
            hosts.push("unlisted.example".to_owned());
            hosts.extend(hints.hosts.iter().cloned());
        }
    }

    match conds
        .iter()
        .find(|c| c.field == ConditionField::PathPattern)
    {
        Some(c) => {
            for v in alb::path_values(c).0 {
                for star in ["x", "", "x/y", ".png"] {
                    // A request path starts with `/`; a pattern that does not (`*`, `*.png`)
                    // matches such paths through its leading wildcard.
                    let p = v.replace('*', star).replace('?', "q");
                    paths.push(if p.starts_with('/') {
                        p
                    } else {
                        format!("/{p}")
                    });
                }
            }
        }
        None => {
            paths.push("/".to_owned());
            paths.push("/zz-unlisted".to_owned());
            paths.extend(hints.paths.iter().cloned());
        }
    }

    for c in conds {
        match c.field {
            ConditionField::HttpRequestMethod => {
                if let Some(cfg) = &c.http_request_method_config {
                    methods = cfg.values.clone();
                }
            }
            ConditionField::HttpHeader => {
                if let Some(cfg) = &c.http_header_config {
                    let mut next = Vec::new();
                    for base in &headers {
                        for v in &cfg.values {
                            for inst in [
                                v.replace('*', "").replace('?', "q"),
                                v.replace('*', "Zz").replace('?', "Q"),
                            ] {
                                let mut h = base.clone();
                                h.push((cfg.http_header_name.clone(), inst.clone()));
                                next.push(h);
                                if inst.chars().any(|c| c.is_ascii_alphabetic()) {
                                    let mut h = base.clone();
                                    h.push((
                                        cfg.http_header_name.to_ascii_lowercase(),
                                        swap_case(&inst),
                                    ));
                                    next.push(h);
                                }
                            }
                        }
                    }
                    headers = dedup(next);
                }
            }
            ConditionField::QueryString => {
                if let Some(cfg) = &c.query_string_config {
                    let mut next = Vec::new();
                    for base in &queries {
                        for pair in &cfg.values {
                            let value = unescape(&pair.value, "");
                            let key = pair
                                .key
                                .as_deref()
                                .map_or("q".to_owned(), |k| unescape(k, ""));
                            for (k, v) in [
                                (key.clone(), value.clone()),
                                (swap_case(&key), swap_case(&unescape(&pair.value, "Zz"))),
                            ] {
                                let mut q = base.clone();
                                q.push((k, v));
                                next.push(q);
                            }
                        }
                    }
                    queries = dedup(next);
                }
            }
            ConditionField::SourceIp => {
                if let Some(cfg) = &c.source_ip_config {
                    ips = cfg
                        .values
                        .iter()
                        .filter_map(|v| alb::cidr(v).map(|n| alb::first_host(&n)))
                        .collect();
                }
            }
            _ => {}
        }
    }

    let hosts = dedup(hosts);
    let paths = dedup(paths);
    let own_method = conds
        .iter()
        .any(|c| c.field == ConditionField::HttpRequestMethod);
    let own_headers: Vec<String> = conds
        .iter()
        .filter_map(|c| c.http_header_config.as_ref())
        .map(|cfg| cfg.http_header_name.to_ascii_lowercase())
        .collect();
    // Requests that also carry what other rules match on (a header of theirs, a method).
    let mut extra = Vec::new();
    'extra: for h in &hosts {
        for p in &paths {
            let base = Request {
                host: h.clone(),
                path: p.clone(),
                method: methods[0].clone(),
                headers: headers[0].clone(),
                query: queries[0].clone(),
                source_ip: ips
                    .first()
                    .copied()
                    .unwrap_or(std::net::IpAddr::from([198, 51, 100, 7])),
            };
            for (name, value) in &hints.headers {
                if !own_headers.contains(&name.to_ascii_lowercase()) {
                    let mut r = base.clone();
                    r.headers.push((name.clone(), value.clone()));
                    extra.push(r);
                }
            }
            if !own_method && !hints.methods.is_empty() {
                // Every method other rules name, and one none of them does.
                let unlisted = ["POST", "GET", "PUT"]
                    .into_iter()
                    .find(|m| !hints.methods.iter().any(|h| h == m))
                    .map(str::to_owned);
                for m in hints.methods.iter().chain(&unlisted) {
                    let mut r = base.clone();
                    r.method = m.clone();
                    extra.push(r);
                }
            }
            if extra.len() >= CAP / 2 {
                break 'extra;
            }
        }
    }
    let mut out = Vec::new();
    'outer: for h in &hosts {
        for p in &paths {
            for m in &methods {
                for hs in &headers {
                    for q in &queries {
                        for ip in &ips {
                            out.push(Request {
                                host: h.clone(),
                                path: p.clone(),
                                method: m.clone(),
                                headers: hs.clone(),
                                query: q.clone(),
                                source_ip: *ip,
                            });
                            if out.len() >= CAP {
                                break 'outer;
                            }
                        }
                    }
                }
            }
        }
    }
    out.extend(extra);
    out
}

fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

// Instantiates a query glob: escaped wildcards become the literal, `*` becomes `star`.
fn unescape(pattern: &str, star: &str) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?')) => {
                out.push(chars.next().unwrap_or('\\'))
            }
            '*' => out.push_str(star),
            '?' => out.push('q'),
            c => out.push(c),
        }
    }
    out
}

fn dedup<T: Ord + Clone>(v: Vec<T>) -> Vec<T> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}
