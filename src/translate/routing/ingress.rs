//! Portable Ingress (`networking.k8s.io/v1`, Exact and Prefix paths only).
//!
//! Controllers agree on little beyond this: a rule whose host equals the request's host is
//! chosen before wildcard-host and host-less rules, and within the chosen rules an Exact path
//! beats the longest matching Prefix. Some controllers also merge the host-less paths into
//! every host, and some fall through to the next rules when no path matches. The compiled
//! Ingress routes the same way under all of these:
//!
//! 1. Rules that Exact/Prefix paths and exact hosts cannot express are left out and reported
//!    with a counterexample (glob paths, wildcard hosts, header/method/query/source-ip
//!    conditions, weighted forwards, redirects, fixed responses, authentication, transforms).
//! 2. The hosts and paths of the remaining rules cut the request space into cells that no
//!    remaining rule can tell apart. Each cell is routed through the ALB model, so the
//!    highest-priority rule wins by construction wherever Ingress precedence would pick a more
//!    specific but lower-priority one.
//! 3. Every host gets a complete set of paths (including `/` and every host-less path), so
//!    neither merging nor falling through changes the result.
//!
//! An HTTPS listener's default certificate becomes the one `spec.tls` entry, for the hosts of
//! the rules, with the Secret of [`super::tls::tls_secret_name`]; what Ingress cannot say (the
//! port, the SSL policy, mutual TLS, SNI certificates) is reported (see [`super::tls`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::api::{ConditionField, Listener};
use crate::translate::names::{LABEL_MANAGED_BY, MANAGED_BY, dns_label};
use crate::translate::report::Report;

use super::alb::{self, Request, RuleId, Target, Terminal};
use super::plan::{
    self, HostGroup, PathAtom, RuleView, host_path_match, path_shape, prefix_matches,
    representative_host, representative_path,
};
use super::tls;
use super::{
    BackendResolver, CompiledRoutes, Fate, Implementation, RoutingOptions, RuleFate, ServiceBackend,
};

/// Compiles `listener` into one portable Ingress.
pub fn compile(
    listener: &Listener,
    backends: &dyn BackendResolver,
    options: &RoutingOptions,
) -> CompiledRoutes {
    let (object, mut report, views) = plan::start(listener, backends);

    // A rule that a higher-priority rule takes all requests of is dropped, whether or not
    // that rule can be carried: the ALB never applies it.
    let shadowed: Vec<Option<RuleId>> = (0..views.len())
        .map(|i| plan::shadowed_by_one(&views, i))
        .collect();
    let reasons: Vec<Option<String>> = views.iter().map(unrepresentable).collect();
    let rep: Vec<usize> = (0..views.len())
        .filter(|&i| reasons[i].is_none() && shadowed[i].is_none())
        .collect();

    // Cells.
    let (groups, atoms) = plan::cells(&views, &rep);

    // Route every cell through the representable rules.
    let default_index = views.len() - 1;
    let mut winners: BTreeMap<(HostGroup, PathAtom), Option<usize>> = BTreeMap::new();
    let mut matched_cells: Vec<Vec<(HostGroup, PathAtom)>> = vec![Vec::new(); views.len()];
    for g in &groups {
        let host = representative_host(g, &groups);
        for a in &atoms {
            let path = representative_path(a, &atoms);
            let mut winner = None;
            for &i in &rep {
                if i == default_index || host_path_match(&views[i].conditions, &host, &path) {
                    matched_cells[i].push((g.clone(), a.clone()));
                    if winner.is_none() {
                        winner = Some(i);
                    }
                }
            }
            winners.insert((g.clone(), a.clone()), winner);
        }
    }

    // Fates.
    let mut fates: Vec<RuleFate> = views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let fate = match (&reasons[i], shadowed[i]) {
                (_, Some(by)) => Fate::Shadowed { by: vec![by] },
                (None, None) => {
                    let mut by: BTreeSet<usize> = BTreeSet::new();
                    let mut wins = false;
                    for cell in &matched_cells[i] {
                        match winners[cell] {
                            Some(w) if w == i => wins = true,
                            Some(w) => {
                                by.insert(w);
                            }
                            None => {}
                        }
                    }
                    if wins || matched_cells[i].is_empty() {
                        Fate::Exact
                    } else {
                        Fate::Shadowed {
                            by: by.into_iter().map(|w| views[w].id).collect(),
                        }
                    }
                }
                (Some(reason), None) => Fate::NotRepresentable {
                    reason: reason.clone(),
                    counterexample: None,
                },
            };
            RuleFate { rule: v.id, fate }
        })
        .collect();

    // Entries per host group, then minimized.
    let target_of = |w: Option<usize>| w.map(|i| views[i].k8s.clone());
    let any_entries = minimize(
        &atoms,
        |a| target_of(winners[&(HostGroup::Any, a.clone())]),
        &BTreeSet::new(),
    );
    let keep: BTreeSet<PathAtom> = any_entries.keys().cloned().collect();
    let mut host_rules = Vec::new();
    for g in &groups {
        if let HostGroup::Exact(h) = g {
            let entries = minimize(
                &atoms,
                |a| target_of(winners[&(g.clone(), a.clone())]),
                &keep,
            );
            host_rules.push((Some(h.clone()), entries));
        }
    }
    host_rules.push((None, any_entries));

    let name = dns_label(listener.metadata.name.as_deref().unwrap_or("listener"));
    let default_backend = host_rules
        .last()
        .and_then(|(_, e)| e.get(&PathAtom::Prefix("/".to_owned())))
        .map(|k| backend_json(k));
    let rules: Vec<Value> = host_rules
        .iter()
        .filter(|(_, entries)| !entries.is_empty())
        .map(|(host, entries)| {
            let paths: Vec<Value> = entries
                .iter()
                .map(|(atom, key)| {
                    let (path, kind) = match atom {
                        PathAtom::Exact(p) => (p, "Exact"),
                        PathAtom::Prefix(p) => (p, "Prefix"),
                    };
                    json!({"path": path, "pathType": kind, "backend": backend_json(key)})
                })
                .collect();
            let mut rule = json!({"http": {"paths": paths}});
            if let Some(h) = host {
                rule["host"] = json!(h);
            }
            rule
        })
        .collect();
    let hosts: Vec<String> = rules
        .iter()
        .filter_map(|r| r["host"].as_str().map(str::to_owned))
        .collect();
    let hostless = default_backend.is_some() || rules.iter().any(|r| r.get("host").is_none());
    let tls = tls::ingress_tls(listener, &hosts, hostless, &object, &mut report);
    let mut spec = json!({ "rules": rules });
    if let Some(class) = &options.ingress_class_name {
        spec["ingressClassName"] = json!(class);
    }
    if let Some(b) = default_backend {
        spec["defaultBackend"] = b;
    }
    if let Some(tls) = tls {
        spec["tls"] = tls;
    }
    let mut metadata = json!({"name": name, "labels": {LABEL_MANAGED_BY: MANAGED_BY}});
    if let Some(ns) = &listener.metadata.namespace {
        metadata["namespace"] = json!(ns);
    }
    let ingress = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    });
    // An Ingress needs rules or a default backend (the API server refuses one with neither).
    // A listener none of whose rules can be carried and whose default action is not a forward
    // gets no Ingress: every request then gets the controller's own default answer, which the
    // fates below report (nothing it answers is what ALB would answer).
    let routable = !rules.is_empty() || spec.get("defaultBackend").is_some();
    let objects = match (routable, options.implementation) {
        (false, _) => Vec::new(),
        (true, Implementation::Conformant) => vec![ingress],
        (true, Implementation::Traefik) => traefik_ingresses(&ingress),
    };
    if !routable {
        report.note(
            &object,
            "spec",
            "no rule and no default action of this listener can be carried by an Ingress, so none is written (the API server refuses an Ingress with neither rules nor a default backend); requests get the ingress controller's default answer",
        );
    }

    match options.implementation {
        Implementation::Conformant => {
            let model = IngressModel::from_objects(&objects);
            plan::check_fates(
                listener,
                &views,
                &mut fates,
                &|r| model.route(r),
                backends,
                plan::COMPILER_LIMITATION,
            );
            report.note(
                &object,
                "spec.rules",
                "portable Ingress assumes exact host before wildcard and host-less rules, and Exact before the longest Prefix; every host lists every path so merging host-less paths or falling through changes nothing",
            );
        }
        Implementation::Traefik => {
            let model = TraefikIngressModel::from_objects(&objects);
            plan::check_fates(
                listener,
                &views,
                &mut fates,
                &|r| model.route(r),
                backends,
                "on Traefik the compiled Ingresses, even with a router priority per path, send a sample request elsewhere",
            );
            report.note(
                &object,
                "spec.rules",
                format!(
                    "for Traefik, whose router priority is the length of the rule it builds (so a Prefix can outrank a longer or Exact path), every path is an Ingress of its own with annotation {TRAEFIK_PRIORITY} giving exact hosts before host-less paths, Exact before the longest Prefix; Prefix paths match element-wise only with Traefik's providers.kubernetesingress.strictPrefixMatching=true"
                ),
            );
        }
    }
    CompiledRoutes {
        objects,
        fates,
        caveats: report,
        report: Report::default(),
    }
}

/// Why a rule cannot be carried by portable Ingress, if it cannot.
fn unrepresentable(v: &RuleView) -> Option<String> {
    if v.transforms {
        return Some("it rewrites the request (transforms), which Ingress cannot express".into());
    }
    if let Err(e) = plan::single_conditions(&v.conditions) {
        return Some(e);
    }
    for c in &v.conditions {
        match c.field {
            ConditionField::HostHeader => {
                let (values, regexes) = alb::host_values(c);
                if !regexes.is_empty() {
                    return Some("host-header regex values cannot be expressed in Ingress".into());
                }
                for h in values {
                    if h.contains(['*', '?']) {
                        return Some(format!(
                            "host {h:?} has a wildcard; ALB `*` spans any number of labels (and `?` one character) while an Ingress wildcard host is exactly one leading label"
                        ));
                    }
                    if !is_dns_subdomain(&h.to_ascii_lowercase()) {
                        return Some(format!("host {h:?} is not a DNS name Ingress accepts"));
                    }
                }
            }
            ConditionField::PathPattern => {
                let (values, regexes) = alb::path_values(c);
                if !regexes.is_empty() {
                    return Some(
                        "path-pattern regex values cannot be expressed with Exact or Prefix paths"
                            .into(),
                    );
                }
                for p in values {
                    if let Err(e) = path_shape(&p) {
                        return Some(e);
                    }
                }
            }
            other => {
                return Some(format!(
                    "{} conditions cannot be expressed in Ingress",
                    plan::field_name(other)
                ));
            }
        }
    }
    single_backend(&v.target)
}

/// Why a target is not a plain forward to one backend, if it is not.
pub(crate) fn single_backend(t: &Target) -> Option<String> {
    if !t.authenticate.is_empty() {
        return Some(format!(
            "{} cannot be expressed in Ingress",
            t.authenticate.join(", ")
        ));
    }
    match &t.terminal {
        Terminal::Forward(groups) if groups.len() == 1 => None,
        Terminal::Forward(groups) if groups.is_empty() => {
            Some("the forward has no target group with a non-zero weight".into())
        }
        Terminal::Forward(_) => {
            Some("weighted forwards to several target groups cannot be expressed in Ingress".into())
        }
        Terminal::Redirect { .. } => {
            Some("redirects cannot be expressed in portable Ingress".into())
        }
        Terminal::FixedResponse { .. } => {
            Some("fixed responses cannot be expressed in portable Ingress".into())
        }
        Terminal::Missing => Some("the rule has no final action".into()),
    }
}

fn is_dns_subdomain(h: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    h.len() <= 253
        && h.split('.').all(label_ok)
        && !h.split('.').all(|l| l.chars().all(|c| c.is_ascii_digit()))
}

/// The entries a host needs: each atom whose target differs from what its nearest kept
/// ancestor gives, the root, and every atom in `keep`.
fn minimize(
    atoms: &[PathAtom],
    target: impl Fn(&PathAtom) -> Option<Target>,
    keep: &BTreeSet<PathAtom>,
) -> BTreeMap<PathAtom, String> {
    // Ancestors before descendants: shorter prefixes first, exact paths last.
    let mut order: Vec<&PathAtom> = atoms.iter().collect();
    order.sort_by_key(|a| match a {
        PathAtom::Prefix(p) => (0, p.len(), p.clone()),
        PathAtom::Exact(e) => (1, e.len(), e.clone()),
    });
    let mut effective: BTreeMap<PathAtom, Option<Target>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for a in order {
        let parent = atoms
            .iter()
            .filter(|q| match (q, a) {
                (PathAtom::Prefix(qp), PathAtom::Exact(e)) => prefix_matches(qp, e),
                (PathAtom::Prefix(qp), PathAtom::Prefix(p)) => {
                    qp.len() < p.len() && prefix_matches(qp, p)
                }
                _ => false,
            })
            .max_by_key(|q| match q {
                PathAtom::Prefix(p) => p.len(),
                PathAtom::Exact(_) => 0,
            });
        let inherited = parent.and_then(|p| effective.get(p).cloned()).flatten();
        let mine = target(a);
        let needed = parent.is_none() || keep.contains(a) || mine != inherited;
        match (&mine, needed) {
            (Some(t), true) => {
                if let Some(key) = backend_key(t) {
                    out.insert(a.clone(), key);
                }
                effective.insert(a.clone(), mine.clone());
            }
            _ => {
                effective.insert(a.clone(), inherited);
            }
        }
    }
    out
}

fn backend_key(t: &Target) -> Option<String> {
    match &t.terminal {
        Terminal::Forward(groups) if groups.len() == 1 => Some(groups[0].target_group.clone()),
        _ => None,
    }
}

fn backend_json(key: &str) -> Value {
    let b = ServiceBackend::from_key(key);
    json!({"service": {"name": b.name, "port": {"number": b.port}}})
}

// An Ingress rule: its host (if any) and its paths with their `service:port` backends.
type HostRule = (Option<String>, Vec<(PathAtom, String)>);

/// A model of portable Ingress routing over compiled Ingress objects.
#[derive(Clone, Debug, Default)]
pub struct IngressModel {
    rules: Vec<HostRule>,
    default: Option<String>,
    /// Controllers that add the host-less paths to every host (host paths win ties).
    pub merge_hostless: bool,
    /// Controllers that try the next less specific host when no path of a host matches.
    pub fallthrough: bool,
}

impl IngressModel {
    /// Reads the rules of `networking.k8s.io/v1` Ingress objects.
    pub fn from_objects(objects: &[Value]) -> Self {
        let mut model = Self::default();
        for o in objects {
            let spec = &o["spec"];
            if let Some(b) = spec.get("defaultBackend") {
                model.default = backend_of(b);
            }
            for rule in spec["rules"].as_array().into_iter().flatten() {
                let host = rule["host"].as_str().map(str::to_owned);
                let mut entries = Vec::new();
                for p in rule["http"]["paths"].as_array().into_iter().flatten() {
                    let path = p["path"].as_str().unwrap_or("/").to_owned();
                    let atom = match p["pathType"].as_str() {
                        Some("Exact") => PathAtom::Exact(path),
                        _ => PathAtom::Prefix(path),
                    };
                    if let Some(b) = backend_of(&p["backend"]) {
                        entries.push((atom, b));
                    }
                }
                model.rules.push((host, entries));
            }
        }
        model
    }

    /// Where the request goes: `Some` forward to `service:port`, or `None` (no route).
    pub fn route(&self, r: &Request) -> Option<Target> {
        let host = r.host.to_ascii_lowercase();
        let exact: Vec<&(PathAtom, String)> = self.entries(|h| h == Some(host.as_str()));
        let wildcard: Vec<&(PathAtom, String)> = self.entries(|h| {
            h.and_then(|h| h.strip_prefix("*.")).is_some_and(|suffix| {
                host.strip_suffix(suffix)
                    .and_then(|l| l.strip_suffix('.'))
                    .is_some_and(|l| !l.is_empty() && !l.contains('.'))
            })
        });
        let hostless: Vec<&(PathAtom, String)> = self.entries(|h| h.is_none());
        let classes: Vec<Vec<&(PathAtom, String)>> = [exact, wildcard, hostless]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect();
        let n = classes.len();
        for (i, class) in classes.iter().enumerate() {
            let mut merged: Vec<(&(PathAtom, String), u8)> =
                class.iter().map(|e| (*e, 0)).collect();
            if self.merge_hostless && i + 1 < n {
                merged.extend(classes[n - 1].iter().map(|e| (*e, 1)));
            }
            if let Some(key) = best(&merged, &r.path) {
                return Some(forward(key));
            }
            if !self.fallthrough {
                break;
            }
        }
        self.default.as_ref().map(|k| forward(k))
    }

    fn entries(&self, pick: impl Fn(Option<&str>) -> bool) -> Vec<&(PathAtom, String)> {
        self.rules
            .iter()
            .filter(|(h, _)| pick(h.as_deref()))
            .flat_map(|(_, e)| e.iter())
            .collect()
    }
}

// Exact beats the longest Prefix; on a tie the entry of the more specific source (rank 0) wins.
fn best<'a>(entries: &[(&'a (PathAtom, String), u8)], path: &str) -> Option<&'a String> {
    entries
        .iter()
        .filter(|(e, _)| e.0.matches(path))
        .min_by_key(|((atom, _), rank)| match atom {
            PathAtom::Exact(_) => (0, 0, *rank),
            PathAtom::Prefix(p) => (1, usize::MAX - p.trim_end_matches('/').len(), *rank),
        })
        .map(|(e, _)| &e.1)
}

fn backend_of(b: &Value) -> Option<String> {
    let svc = b.get("service")?;
    Some(format!(
        "{}:{}",
        svc["name"].as_str()?,
        svc["port"]["number"].as_i64()?
    ))
}

fn forward(key: &str) -> Target {
    Target {
        authenticate: Vec::new(),
        terminal: Terminal::Forward(vec![alb::WeightedGroup {
            target_group: key.to_owned(),
            weight: 1,
        }]),
    }
}

/// The annotation that sets a Traefik router's priority (Traefik's Ingress provider reads it
/// for every path of the Ingress that carries it).
pub const TRAEFIK_PRIORITY: &str = "traefik.ingress.kubernetes.io/router.priority";

// The compiled Ingress split for Traefik: one Ingress per host and path, numbered in the
// order of the paths, each with a router priority that reproduces the portable precedence
// (every exact host's paths above every host-less path; within each, Exact paths above
// Prefix paths, longer Prefixes above shorter ones). Traefik reads `defaultBackend` only from
// an Ingress without rules, and the compiled default backend is the host-less `/` path
// already, so it is dropped.
fn traefik_ingresses(ingress: &Value) -> Vec<Value> {
    let mut entries: Vec<(Option<&str>, &Value)> = Vec::new();
    for rule in ingress["spec"]["rules"].as_array().into_iter().flatten() {
        for p in rule["http"]["paths"].as_array().into_iter().flatten() {
            entries.push((rule["host"].as_str(), p));
        }
    }
    if entries.is_empty() {
        // Only a default backend: Traefik serves it as its lowest-priority router.
        return vec![ingress.clone()];
    }
    let rank = |(host, p): &(Option<&str>, &Value)| {
        let path = p["path"].as_str().unwrap_or("/");
        let exact = p["pathType"] == "Exact";
        (
            host.is_none(),
            !exact,
            std::cmp::Reverse(path.trim_end_matches('/').len()),
        )
    };
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| rank(&entries[i]));
    let mut priority = vec![0usize; entries.len()];
    for (pos, &i) in order.iter().enumerate() {
        priority[i] = entries.len() - pos;
    }
    let name = ingress["metadata"]["name"].as_str().unwrap_or("listener");
    entries
        .iter()
        .enumerate()
        .map(|(i, (host, path))| {
            let mut o = ingress.clone();
            o["metadata"]["name"] = json!(dns_label(&format!("{name}-{i}")));
            o["metadata"]["annotations"] = json!({ TRAEFIK_PRIORITY: priority[i].to_string() });
            let mut rule = json!({"http": {"paths": [path]}});
            if let Some(h) = host {
                rule["host"] = json!(h);
            }
            o["spec"]["rules"] = json!([rule]);
            if let Some(spec) = o["spec"].as_object_mut() {
                spec.remove("defaultBackend");
            }
            o
        })
        .collect()
}

// A Traefik router's path matcher.
#[derive(Clone, Debug)]
enum TraefikPath {
    // `Path("p")`: the path equals p.
    Exact(String),
    // `(Path("p") || PathPrefix("p/"))`, or `PathPrefix("/")` for the root: element-wise.
    Prefix(String),
    // `PathPrefix("p")`: a character-wise prefix (paths without an Exact or Prefix type).
    Chars(String),
}

// One router Traefik builds from an Ingress path.
#[derive(Clone, Debug)]
struct TraefikRouter {
    host: Option<String>,
    path: Option<TraefikPath>,
    priority: i64,
    backend: String,
}

/// A model of how Traefik v3.6's Ingress provider routes a request through Ingress objects,
/// with `strictPrefixMatching=true` (`pkg/provider/kubernetes/ingress/kubernetes.go`): every
/// path becomes a router whose rule is `Host(..) && <path matcher>`, whose priority is the
/// Ingress's `router.priority` annotation or else the length of that rule string, and the
/// matching router of the highest priority takes the request. Routers of equal priority are
/// in no defined order; a request that two of them with different backends match is routed
/// nowhere by this model (either could answer). `defaultBackend` counts only on an Ingress
/// without rules, as the lowest-priority router.
#[derive(Clone, Debug, Default)]
pub struct TraefikIngressModel {
    routers: Vec<TraefikRouter>,
}

impl TraefikIngressModel {
    /// Reads the routers of `networking.k8s.io/v1` Ingress objects.
    pub fn from_objects(objects: &[Value]) -> Self {
        let mut routers = Vec::new();
        for o in objects.iter().filter(|o| o["kind"] == "Ingress") {
            let spec = &o["spec"];
            let annotated: i64 = o["metadata"]["annotations"][TRAEFIK_PRIORITY]
                .as_str()
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0);
            let rules = spec["rules"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            if rules.is_empty()
                && let Some(b) = spec.get("defaultBackend").and_then(backend_of)
            {
                routers.push(TraefikRouter {
                    host: None,
                    path: Some(TraefikPath::Prefix("/".to_owned())),
                    priority: i64::from(i32::MIN),
                    backend: b,
                });
            }
            for rule in rules {
                let host = rule["host"]
                    .as_str()
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned);
                for p in rule["http"]["paths"].as_array().into_iter().flatten() {
                    let Some(backend) = backend_of(&p["backend"]) else {
                        continue;
                    };
                    let path = p["path"].as_str().filter(|p| !p.is_empty()).map(|v| {
                        match p["pathType"].as_str() {
                            Some("Exact") => TraefikPath::Exact(v.to_owned()),
                            Some("Prefix") => TraefikPath::Prefix(v.to_owned()),
                            _ => TraefikPath::Chars(v.to_owned()),
                        }
                    });
                    let rule = traefik_rule(host.as_deref(), path.as_ref());
                    if rule.is_empty() {
                        continue;
                    }
                    let priority = if annotated != 0 {
                        annotated
                    } else {
                        i64::try_from(rule.len()).unwrap_or(i64::MAX)
                    };
                    routers.push(TraefikRouter {
                        host: host.clone(),
                        path,
                        priority,
                        backend,
                    });
                }
            }
        }
        Self { routers }
    }

    /// Where the request goes: `Some` forward to `service:port`, or `None` (no router, or
    /// routers of equal priority with different backends).
    pub fn route(&self, r: &Request) -> Option<Target> {
        let matching: Vec<&TraefikRouter> = self
            .routers
            .iter()
            .filter(|rt| traefik_host_matches(rt.host.as_deref(), &r.host))
            .filter(|rt| {
                rt.path
                    .as_ref()
                    .is_none_or(|p| traefik_path_matches(p, &r.path))
            })
            .collect();
        let top = matching.iter().map(|rt| rt.priority).max()?;
        let mut winners = matching.iter().filter(|rt| rt.priority == top);
        let first = winners.next()?;
        if winners.any(|rt| rt.backend != first.backend) {
            return None;
        }
        Some(forward(&first.backend))
    }
}

// The rule string Traefik builds for a host and path (its length is the default priority).
fn traefik_rule(host: Option<&str>, path: Option<&TraefikPath>) -> String {
    let mut parts = Vec::new();
    if let Some(h) = host {
        parts.push(match h.strip_prefix("*.") {
            Some(rest) => format!(
                "HostRegexp({})",
                go_quote(&format!("^[a-zA-Z0-9-]+\\.{}$", regex::escape(rest)))
            ),
            None => format!("Host({})", go_quote(h)),
        });
    }
    match path {
        Some(TraefikPath::Exact(p)) => parts.push(format!("Path({})", go_quote(p))),
        Some(TraefikPath::Chars(p)) => parts.push(format!("PathPrefix({})", go_quote(p))),
        Some(TraefikPath::Prefix(p)) if p == "/" => parts.push("PathPrefix(\"/\")".to_owned()),
        Some(TraefikPath::Prefix(p)) => {
            let p = p.trim_end_matches('/');
            parts.push(format!(
                "(Path({}) || PathPrefix({}))",
                go_quote(p),
                go_quote(&format!("{p}/"))
            ));
        }
        None => {}
    }
    parts.join(" && ")
}

// Go's `%q` of an ASCII string: quotes, with `"` and `\` escaped (what decides the length).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => out.push_str(&c.escape_unicode().to_string()),
        }
    }
    out.push('"');
    out
}

fn traefik_host_matches(host: Option<&str>, request_host: &str) -> bool {
    let Some(h) = host else { return true };
    let req = request_host.to_ascii_lowercase();
    let req = req.strip_suffix('.').unwrap_or(&req);
    match h.to_ascii_lowercase().strip_prefix("*.") {
        Some(suffix) => req
            .strip_suffix(suffix)
            .and_then(|l| l.strip_suffix('.'))
            .is_some_and(|l| {
                !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }),
        None => req == h.to_ascii_lowercase(),
    }
}

fn traefik_path_matches(p: &TraefikPath, path: &str) -> bool {
    match p {
        TraefikPath::Exact(e) => e == path,
        TraefikPath::Chars(c) => path.starts_with(c.as_str()),
        TraefikPath::Prefix(root) if root == "/" => path.starts_with('/'),
        TraefikPath::Prefix(p) => {
            let p = p.trim_end_matches('/');
            path == p || path.starts_with(&format!("{p}/"))
        }
    }
}
