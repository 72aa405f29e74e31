//! Pieces shared by the compilers: rule views, the cells (host group x path atom) that the
//! exactly-representable rules cannot tell apart, shadowing, and the check against a model of
//! the target's routing.

use std::collections::BTreeSet;

use crate::api::{Action, ActionType, ConditionField, Listener, RuleCondition};
use crate::translate::report::{ObjectRef, Report};

use super::alb::{self, Request, RuleId, Target, Terminal};
use super::witness::witnesses;
use super::{BackendResolver, Counterexample, Fate, RuleFate, ServiceBackend};

/// One rule (or the default actions) with what it does on each side.
#[derive(Clone, Debug)]
pub(crate) struct RuleView {
    pub id: RuleId,
    /// Conditions (empty for the default actions).
    pub conditions: Vec<RuleCondition>,
    /// The ALB outcome, over target group names.
    pub target: Target,
    /// The same outcome over Kubernetes backends (`service:port`).
    pub k8s: Target,
    /// `spec.rules[priority=N]` or `spec.defaultActions`.
    pub field: String,
    /// Whether the rule rewrites the request (`transforms`).
    pub transforms: bool,
    /// Target group stickiness of a weighted forward, if enabled.
    pub stickiness: Option<Stickiness>,
}

/// `forwardConfig.targetGroupStickinessConfig` of a forward to several target groups, when
/// enabled: the ALB keeps a client on the target group it first reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stickiness {
    /// How long a client stays on its target group (`durationSeconds`, 1-604800).
    pub duration_seconds: Option<i32>,
}

impl Stickiness {
    /// The stickiness of a rule that does `target` with `actions`: only a forward to more
    /// than one target group (with non-zero weight) has any.
    pub fn of(actions: &[Action], target: &Target) -> Option<Self> {
        if target.forward().is_none_or(|groups| groups.len() < 2) {
            return None;
        }
        actions
            .iter()
            .filter(|a| a.type_ == ActionType::Forward)
            .filter_map(|a| {
                a.forward_config
                    .as_ref()?
                    .target_group_stickiness_config
                    .as_ref()
            })
            .find(|s| s.enabled == Some(true))
            .map(|s| Self {
                duration_seconds: s.duration_seconds,
            })
    }
}

/// The listener's rules in evaluation order, then the default actions.
pub(crate) fn views(listener: &Listener, backends: &dyn BackendResolver) -> Vec<RuleView> {
    let mut out: Vec<RuleView> = alb::rules_in_order(listener)
        .into_iter()
        .map(|r| {
            let target = alb::target_of(&r.actions);
            RuleView {
                id: RuleId::Priority(r.priority),
                conditions: r.conditions.clone(),
                k8s: k8s_target(&target, backends),
                stickiness: Stickiness::of(&r.actions, &target),
                target,
                field: rule_field(RuleId::Priority(r.priority)),
                transforms: r.transforms.is_some(),
            }
        })
        .collect();
    let target = alb::target_of(&listener.spec.default_actions);
    out.push(RuleView {
        id: RuleId::Default,
        conditions: Vec::new(),
        k8s: k8s_target(&target, backends),
        stickiness: Stickiness::of(&listener.spec.default_actions, &target),
        target,
        field: rule_field(RuleId::Default),
        transforms: false,
    });
    out
}

/// `target` with every target group replaced by its Service backend key.
pub(crate) fn k8s_target(target: &Target, backends: &dyn BackendResolver) -> Target {
    let mut t = target.clone();
    if let Terminal::Forward(groups) = &mut t.terminal {
        for g in groups.iter_mut() {
            g.target_group = ServiceBackend::for_target_group(&g.target_group, backends).key();
        }
        groups.sort();
    }
    t
}

/// What every compiler starts from: the listener's reference for findings, a report holding
/// the target groups without a Service and the source-ip values that are no CIDR block, and
/// the rule views with their backends resolved.
pub(crate) fn start(
    listener: &Listener,
    backends: &dyn BackendResolver,
) -> (ObjectRef, Report, Vec<RuleView>) {
    let object = listener_ref(listener);
    let mut report = Report::default();
    let views = views(listener, backends);
    report_unknown_backends(&views, backends, &object, &mut report);
    report_bare_addresses(&views, &object, &mut report);
    (object, report, views)
}

/// Reports source-ip values that are not CIDR blocks (`192.0.2.1` instead of
/// `192.0.2.1/32`): ELB refuses them, and the model matches no request with them.
fn report_bare_addresses(views: &[RuleView], object: &ObjectRef, report: &mut Report) {
    for v in views {
        let values = v
            .conditions
            .iter()
            .filter(|c| c.field == ConditionField::SourceIp)
            .flat_map(|c| c.source_ip_config.iter().flat_map(|cfg| &cfg.values));
        for value in values.filter(|value| alb::cidr(value).is_none()) {
            report.not_carried(
                object,
                v.field.clone(),
                format!("source-ip value {value:?} is not a CIDR block (such as 192.0.2.1/32), which ELB refuses; no request matches it here"),
            );
        }
    }
}

/// Reports target groups the resolver does not know.
pub(crate) fn report_unknown_backends(
    views: &[RuleView],
    backends: &dyn BackendResolver,
    object: &ObjectRef,
    report: &mut Report,
) {
    for v in views {
        for g in v.target.forward().into_iter().flatten() {
            if backends.service_port(&g.target_group).is_none() {
                report.approximated(
                    object,
                    v.field.clone(),
                    format!(
                        "target group {} has no Service (it is not among the inputs, or produces no Service); its backend is assumed to be Service {} port {}",
                        g.target_group,
                        crate::translate::names::target_group_service_name(&g.target_group),
                        super::FALLBACK_PORT
                    ),
                );
            }
        }
    }
}

/// The outcome of a rule in the listener's own terms, for messages.
pub(crate) fn describe(outcome: Option<&Target>) -> String {
    match outcome {
        Some(t) => t.to_string(),
        None => "no route (the controller's own 404)".to_owned(),
    }
}

/// Counts of condition fields, or why a rule has a shape no profile handles.
pub(crate) fn single_conditions(conds: &[RuleCondition]) -> Result<(), String> {
    for f in [
        ConditionField::HostHeader,
        ConditionField::PathPattern,
        ConditionField::HttpRequestMethod,
        ConditionField::SourceIp,
    ] {
        if conds.iter().filter(|c| c.field == f).count() > 1 {
            return Err(format!(
                "more than one {} condition (the ALB accepts one)",
                field_name(f)
            ));
        }
    }
    Ok(())
}

pub(crate) fn field_name(f: ConditionField) -> &'static str {
    match f {
        ConditionField::HostHeader => "host-header",
        ConditionField::PathPattern => "path-pattern",
        ConditionField::HttpHeader => "http-header",
        ConditionField::HttpRequestMethod => "http-request-method",
        ConditionField::QueryString => "query-string",
        ConditionField::SourceIp => "source-ip",
    }
}

/// What part of the path space an ALB path pattern covers, when it is a union of cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathShape {
    /// Exactly this path.
    Exact(String),
    /// Every path strictly below this prefix (`/p/*`: `/p/` and longer, not `/p`); the empty
    /// prefix stands for every path (`*` or `/*`).
    Below(String),
}

/// The shape of a path pattern, or why it has none Exact/Prefix paths can express.
pub(crate) fn path_shape(pattern: &str) -> Result<PathShape, String> {
    let why = |what: &str| Err(format!("path pattern {pattern:?} {what}"));
    if pattern.chars().all(|c| c == '*') && !pattern.is_empty() {
        return Ok(PathShape::Below(String::new()));
    }
    if !pattern.starts_with('/') {
        return why("does not start with /");
    }
    let (stem, below) = match pattern.strip_suffix("/*") {
        Some(stem) => (stem.trim_end_matches('*'), true),
        None => (pattern, false),
    };
    if stem.contains(['*', '?']) {
        return why(
            "has a wildcard that Exact and Prefix paths cannot express (only a trailing /* maps to a Prefix)",
        );
    }
    if below && stem.is_empty() {
        return Ok(PathShape::Below(String::new()));
    }
    for bad in ["//", "/./", "/../", "%2f", "%2F", "#"] {
        if stem.contains(bad) || (below && format!("{stem}/").contains(bad)) {
            return why(&format!(
                "contains {bad:?}, which Kubernetes rejects in paths"
            ));
        }
    }
    if stem.ends_with("/.") || stem.ends_with("/..") {
        return why("ends with a dot segment, which Kubernetes rejects in paths");
    }
    if below && stem.ends_with('/') {
        return why("has an empty path segment before /*");
    }
    if pattern.ends_with('*') && !below {
        return why(
            "ends in * without a /: it also matches longer names in the same path segment, which element-wise Prefix paths cannot express",
        );
    }
    Ok(if below {
        PathShape::Below(stem.to_owned())
    } else {
        PathShape::Exact(stem.to_owned())
    })
}

/// A request path atom of Ingress/HTTPRoute: an Exact path or an element-wise Prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PathAtom {
    /// Exact path.
    Exact(String),
    /// Element-wise prefix without a trailing `/` (`/` is the root).
    Prefix(String),
}

impl PathAtom {
    /// Whether the atom matches `path` (Kubernetes/Gateway semantics).
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathAtom::Exact(e) => e == path,
            PathAtom::Prefix(p) => prefix_matches(p, path),
        }
    }
}

/// Element-wise prefix matching: `/api` matches `/api`, `/api/` and `/api/x`, not `/apix`; a
/// trailing `/` on the prefix is ignored.
pub(crate) fn prefix_matches(prefix: &str, path: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() {
        return path.starts_with('/');
    }
    path == p
        || path
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The atoms a set of path shapes needs, always including the root prefix.
pub(crate) fn atoms_for(shapes: &[PathShape]) -> Vec<PathAtom> {
    let mut atoms = BTreeSet::from([PathAtom::Prefix("/".to_owned())]);
    for s in shapes {
        match s {
            PathShape::Exact(e) => {
                atoms.insert(PathAtom::Exact(e.clone()));
            }
            PathShape::Below(p) if p.is_empty() => {}
            PathShape::Below(p) => {
                atoms.insert(PathAtom::Prefix(p.clone()));
                atoms.insert(PathAtom::Exact(p.clone()));
            }
        }
    }
    atoms.into_iter().collect()
}

/// The host groups and path atoms that the host and path conditions of the rules `carried`
/// cut the request space into (every rule matches a cell entirely or not at all). A leading
/// `*.` host is a wildcard group.
pub(crate) fn cells(views: &[RuleView], carried: &[usize]) -> (Vec<HostGroup>, Vec<PathAtom>) {
    let mut groups: BTreeSet<HostGroup> = BTreeSet::from([HostGroup::Any]);
    let mut shapes = Vec::new();
    for &i in carried {
        for c in &views[i].conditions {
            match c.field {
                ConditionField::HostHeader => {
                    for h in alb::host_values(c).0 {
                        let h = h.to_ascii_lowercase();
                        groups.insert(match h.strip_prefix("*.") {
                            Some(s) => HostGroup::Wildcard(s.to_owned()),
                            None => HostGroup::Exact(h),
                        });
                    }
                }
                ConditionField::PathPattern => shapes.extend(
                    alb::path_values(c)
                        .0
                        .iter()
                        .filter_map(|p| path_shape(p).ok()),
                ),
                _ => {}
            }
        }
    }
    (groups.into_iter().collect(), atoms_for(&shapes))
}

/// A path whose most specific atom is `atom`.
pub(crate) fn representative_path(atom: &PathAtom, atoms: &[PathAtom]) -> String {
    match atom {
        PathAtom::Exact(e) => e.clone(),
        PathAtom::Prefix(p) => {
            let base = p.trim_end_matches('/');
            (0..)
                .map(|i| format!("{base}/zz{i}"))
                .find(|cand| {
                    !atoms.iter().any(|a| match a {
                        PathAtom::Exact(e) => e == cand,
                        PathAtom::Prefix(q) => {
                            q != p && q.len() > p.len() && prefix_matches(q, cand)
                        }
                    })
                })
                .unwrap_or_default()
        }
    }
}

/// A host group: requests whose Host picks the same Ingress rule or HTTPRoute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum HostGroup {
    /// This exact host (lower case).
    Exact(String),
    /// `*.suffix`: any host ending in `.suffix`.
    Wildcard(String),
    /// Any other host.
    Any,
}

/// A host that belongs to `group` and to no more specific group.
pub(crate) fn representative_host(group: &HostGroup, groups: &[HostGroup]) -> String {
    let taken = |h: &str| {
        groups.iter().any(|g| match g {
            HostGroup::Exact(e) => e == h,
            HostGroup::Wildcard(s) => h.ends_with(&format!(".{s}")),
            HostGroup::Any => false,
        })
    };
    match group {
        HostGroup::Exact(h) => h.clone(),
        HostGroup::Wildcard(s) => (0..)
            .map(|i| format!("zz{i}.{s}"))
            .find(|h| {
                !groups.iter().any(|g| match g {
                    HostGroup::Exact(e) => e == h,
                    HostGroup::Wildcard(t) => t.len() > s.len() && h.ends_with(&format!(".{t}")),
                    HostGroup::Any => false,
                })
            })
            .unwrap_or_default(),
        HostGroup::Any => (0..)
            .map(|i| format!("zz{i}.unlisted.invalid"))
            .find(|h| !taken(h))
            .unwrap_or_default(),
    }
}

/// Whether the host-header and path-pattern conditions of `conds` match `host` and `path`
/// (the other conditions are ignored).
pub(crate) fn host_path_match(conds: &[RuleCondition], host: &str, path: &str) -> bool {
    let r = Request::get(host, path);
    conds
        .iter()
        .filter(|c| {
            matches!(
                c.field,
                ConditionField::HostHeader | ConditionField::PathPattern
            )
        })
        .all(|c| alb::condition_matches(c, &r))
}

/// Whether every request that satisfies `inner` also satisfies `outer` (sufficient check:
/// each condition of `outer` is implied by a condition of `inner` on the same field).
pub(crate) fn covers(outer: &[RuleCondition], inner: &[RuleCondition]) -> bool {
    outer
        .iter()
        .all(|o| inner.iter().any(|i| condition_covers(o, i)))
}

fn condition_covers(o: &RuleCondition, i: &RuleCondition) -> bool {
    if o.field != i.field {
        return false;
    }
    let globs = |outer: Vec<String>, inner: Vec<String>, fold: bool| {
        !inner.is_empty()
            && inner
                .iter()
                .all(|iv| outer.iter().any(|ov| glob_covers(ov, iv, fold)))
    };
    match o.field {
        ConditionField::HostHeader => {
            let ((ov, or), (iv, ir)) = (alb::host_values(o), alb::host_values(i));
            or.is_empty() && ir.is_empty() && globs(ov, iv, true)
        }
        ConditionField::PathPattern => {
            let ((ov, or), (iv, ir)) = (alb::path_values(o), alb::path_values(i));
            or.is_empty() && ir.is_empty() && globs(ov, iv, false)
        }
        ConditionField::HttpHeader => match (&o.http_header_config, &i.http_header_config) {
            (Some(oc), Some(ic)) => {
                oc.http_header_name
                    .eq_ignore_ascii_case(&ic.http_header_name)
                    && oc.regex_values.is_none()
                    && ic.regex_values.is_none()
                    && globs(oc.values.clone(), ic.values.clone(), true)
            }
            _ => false,
        },
        ConditionField::HttpRequestMethod => {
            match (&o.http_request_method_config, &i.http_request_method_config) {
                (Some(oc), Some(ic)) => ic.values.iter().all(|m| oc.values.contains(m)),
                _ => false,
            }
        }
        ConditionField::QueryString => match (&o.query_string_config, &i.query_string_config) {
            (Some(oc), Some(ic)) => ic.values.iter().all(|ip| {
                oc.values.iter().any(|op| {
                    let key_ok = match (&op.key, &ip.key) {
                        (None, _) => true,
                        (Some(ok), Some(ik)) => glob_covers(ok, ik, true) && !ik.contains('\\'),
                        (Some(_), None) => false,
                    };
                    key_ok
                        && !op.value.contains('\\')
                        && !ip.value.contains('\\')
                        && glob_covers(&op.value, &ip.value, true)
                })
            }),
            _ => false,
        },
        ConditionField::SourceIp => match (&o.source_ip_config, &i.source_ip_config) {
            (Some(oc), Some(ic)) => ic.values.iter().all(|iv| {
                alb::cidr(iv).is_some_and(|inner| {
                    oc.values
                        .iter()
                        .any(|ov| alb::cidr(ov).is_some_and(|outer| outer.contains(&inner)))
                })
            }),
            _ => false,
        },
    }
}

/// Whether glob `outer` matches every string glob `inner` matches (sound, not complete): an
/// `inner` `*` can only be absorbed by an `outer` `*`, an `inner` `?` by `?` or `*`.
pub(crate) fn glob_covers(outer: &str, inner: &str, fold: bool) -> bool {
    use super::alb::Tok;
    let toks = |s: &str| -> Vec<Tok> {
        s.chars()
            .map(|c| match c {
                '*' => Tok::Many,
                '?' => Tok::One,
                c => Tok::Lit(c),
            })
            .collect()
    };
    let (o, i) = (toks(outer), toks(inner));
    // can[a][b]: outer[a..] covers inner[b..].
    let mut can = vec![vec![false; i.len() + 1]; o.len() + 1];
    for a in (0..=o.len()).rev() {
        for b in (0..=i.len()).rev() {
            can[a][b] = if a == o.len() {
                b == i.len()
            } else {
                match o[a] {
                    Tok::Many => can[a + 1][b] || (b < i.len() && can[a][b + 1]),
                    Tok::One => b < i.len() && i[b] != Tok::Many && can[a + 1][b + 1],
                    Tok::Lit(oc) => {
                        b < i.len()
                            && matches!(i[b], Tok::Lit(ic) if if fold { oc.eq_ignore_ascii_case(&ic) } else { oc == ic })
                            && can[a + 1][b + 1]
                    }
                }
            };
        }
    }
    can[0][0]
}

/// The first higher-priority rule that takes every request this rule could match, if any: a
/// rule whose conditions are implied by this rule's, or, for the default actions, a rule that
/// matches every request (the ALB then never applies them).
pub(crate) fn shadowed_by_one(views: &[RuleView], index: usize) -> Option<RuleId> {
    let me = &views[index];
    views[..index]
        .iter()
        .find(|v| {
            if me.id == RuleId::Default {
                v.conditions.iter().all(matches_every_request)
            } else {
                covers(&v.conditions, &me.conditions)
            }
        })
        .map(|v| v.id)
}

/// Whether the condition matches every request (sufficient check): a path pattern of
/// wildcards only (`*`, `/*`: every path starts with `/`), a host of wildcards only, or
/// source-ip blocks that include `0.0.0.0/0` and `::/0`.
fn matches_every_request(c: &RuleCondition) -> bool {
    let stars = |v: &str| !v.is_empty() && v.chars().all(|c| c == '*');
    match c.field {
        ConditionField::PathPattern => alb::path_values(c)
            .0
            .iter()
            .any(|p| stars(p) || p.strip_prefix('/').is_some_and(stars)),
        ConditionField::HostHeader => alb::host_values(c).0.iter().any(|h| stars(h)),
        ConditionField::SourceIp => {
            let blocks: Vec<_> = c
                .source_ip_config
                .iter()
                .flat_map(|cfg| &cfg.values)
                .filter_map(|v| alb::cidr(v))
                .filter(|n| n.prefix_len() == 0)
                .collect();
            blocks.iter().any(|n| matches!(n, ipnet::IpNet::V4(_)))
                && blocks.iter().any(|n| matches!(n, ipnet::IpNet::V6(_)))
        }
        ConditionField::HttpHeader
        | ConditionField::HttpRequestMethod
        | ConditionField::QueryString => false,
    }
}

/// A model of how the compiled objects route a request: `None` is the controller's own
/// "no route" response.
pub(crate) type Model<'a> = dyn Fn(&Request) -> Option<Target> + 'a;

/// Finds a request the ALB sends to `views[index]` that `model` routes elsewhere.
pub(crate) fn counterexample(
    listener: &Listener,
    views: &[RuleView],
    index: usize,
    model: &Model<'_>,
    backends: &dyn BackendResolver,
) -> Option<Counterexample> {
    let me = &views[index];
    let hints = Hints::from_views(views);
    for r in witnesses(&me.conditions, &hints) {
        let routed = alb::route(listener, &r);
        if routed.rule != me.id {
            continue;
        }
        // Redirects are compared by the Location they give for this request.
        let (scheme, port) = alb::listener_endpoint(listener);
        let expected = alb::concrete(k8s_target(&routed.target, backends), &r, scheme, port);
        let got = model(&r).map(|t| alb::concrete(t, &r, scheme, port));
        if got.as_ref() != Some(&expected) {
            return Some(Counterexample {
                request: r,
                alb: format!("{} ({})", routed.target, routed.rule),
                compiled: describe(got.as_ref()),
            });
        }
    }
    None
}

/// Values seen across all rules, used to build requests that probe the boundaries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hints {
    pub hosts: Vec<String>,
    pub paths: Vec<String>,
    /// Headers other rules match on (name and a value they accept): an implementation that
    /// ranks a header match above a hostname or path shows it only on such requests.
    pub headers: Vec<(String, String)>,
    /// Methods other rules match on.
    pub methods: Vec<String>,
}

impl Hints {
    fn from_views(views: &[RuleView]) -> Self {
        let mut hosts = BTreeSet::new();
        let mut paths = BTreeSet::new();
        let mut headers = BTreeSet::new();
        let mut methods = BTreeSet::new();
        for v in views {
            for c in &v.conditions {
                match c.field {
                    ConditionField::HttpHeader => {
                        if let Some(cfg) = &c.http_header_config {
                            for value in &cfg.values {
                                headers.insert((
                                    cfg.http_header_name.clone(),
                                    value.replace('*', "").replace('?', "q"),
                                ));
                            }
                        }
                    }
                    ConditionField::HttpRequestMethod => {
                        if let Some(cfg) = &c.http_request_method_config {
                            methods.extend(cfg.values.iter().cloned());
                        }
                    }
                    ConditionField::HostHeader => {
                        for h in alb::host_values(c).0 {
                            hosts.insert(h.replace(['*', '?'], "x").to_ascii_lowercase());
                        }
                    }
                    ConditionField::PathPattern => {
                        for p in alb::path_values(c).0 {
                            paths.insert(p.replace('*', "").replace('?', "x"));
                            paths.insert(p.replace(['*', '?'], "x"));
                        }
                    }
                    _ => {}
                }
            }
        }
        Self {
            hosts: hosts.into_iter().collect(),
            paths: paths.into_iter().filter(|p| p.starts_with('/')).collect(),
            headers: headers.into_iter().collect(),
            methods: methods.into_iter().collect(),
        }
    }
}

/// Why a rule called exact is downgraded when the model of a conformant implementation
/// disagrees with the ALB on one of its sample requests.
pub(crate) const COMPILER_LIMITATION: &str =
    "the compiled routing disagrees with the ALB on a sample request (a compiler limitation)";

/// Checks each rule called exact against the model on sample requests and downgrades any that
/// disagree, with `disagreement` as the reason (for a conformant implementation a safety net:
/// the constructions are exact by design; for one with a precedence of its own, where it
/// departs). Then finds the counterexample of every rule that is not representable.
pub(crate) fn check_fates(
    listener: &Listener,
    views: &[RuleView],
    fates: &mut [RuleFate],
    model: &Model<'_>,
    backends: &dyn BackendResolver,
    disagreement: &str,
) {
    for (i, f) in fates.iter_mut().enumerate() {
        match &mut f.fate {
            Fate::Exact | Fate::Approximated { .. } => {
                if let Some(c) = counterexample(listener, views, i, model, backends) {
                    f.fate = Fate::NotRepresentable {
                        reason: disagreement.to_owned(),
                        counterexample: Some(c),
                    };
                }
            }
            Fate::NotRepresentable {
                counterexample: c, ..
            } => {
                *c = counterexample(listener, views, i, model, backends);
            }
            Fate::Shadowed { .. } => {}
        }
    }
}

/// Records every fate that is not exact in the report.
pub(crate) fn report_fates(fates: &[RuleFate], object: &ObjectRef, report: &mut Report) {
    for f in fates {
        let field = rule_field(f.rule);
        match &f.fate {
            Fate::Exact => {}
            Fate::Approximated { .. } => report.approximated(object, field, f.fate.to_string()),
            Fate::Shadowed { .. } => report.note(
                object,
                field,
                format!("{}; no request can reach it, so it was dropped", f.fate),
            ),
            Fate::NotRepresentable { .. } => report.not_carried(object, field, f.fate.to_string()),
        }
    }
}

/// The field a rule's findings are about: `spec.rules[priority=N]` or `spec.defaultActions`.
pub(crate) fn rule_field(rule: RuleId) -> String {
    match rule {
        RuleId::Priority(p) => format!("spec.rules[priority={p}]"),
        RuleId::Default => "spec.defaultActions".to_owned(),
    }
}

/// The object reference of a listener.
pub(crate) fn listener_ref(listener: &Listener) -> ObjectRef {
    ObjectRef::new(
        "Listener",
        listener.metadata.namespace.as_deref(),
        listener.metadata.name.as_deref().unwrap_or("listener"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_literal_paths_and_trailing_slash_star_have_a_shape() {
        assert_eq!(path_shape("/api"), Ok(PathShape::Exact("/api".into())));
        assert_eq!(path_shape("/api/*"), Ok(PathShape::Below("/api".into())));
        assert_eq!(path_shape("/*"), Ok(PathShape::Below(String::new())));
        assert_eq!(path_shape("*"), Ok(PathShape::Below(String::new())));
        assert!(path_shape("/api*").is_err());
        assert!(path_shape("/img/*.png").is_err());
        assert!(path_shape("/v?/x").is_err());
        assert!(path_shape("/a//b").is_err());
    }

    #[test]
    fn prefixes_match_whole_path_elements() {
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/api/"));
        assert!(prefix_matches("/api", "/api/x"));
        assert!(!prefix_matches("/api", "/apix"));
        assert!(prefix_matches("/api/", "/api"));
        assert!(prefix_matches("/", "/anything"));
    }

    #[test]
    fn representatives_avoid_more_specific_atoms() {
        let atoms = atoms_for(&[
            PathShape::Below("/a".into()),
            PathShape::Exact("/a/zz0".into()),
        ]);
        let rep = representative_path(&PathAtom::Prefix("/a".into()), &atoms);
        assert_eq!(rep, "/a/zz1");
        let groups = vec![
            HostGroup::Wildcard("example.com".into()),
            HostGroup::Exact("zz0.example.com".into()),
        ];
        assert_eq!(representative_host(&groups[0], &groups), "zz1.example.com");
    }

    #[test]
    fn glob_coverage_is_sound_for_wildcards() {
        assert!(glob_covers("/api/*", "/api/v2/*", false));
        assert!(glob_covers("*", "/x", false));
        assert!(!glob_covers("/api/v2/*", "/api/*", false));
        assert!(!glob_covers("/a?", "/a*", false));
        assert!(glob_covers("/a*", "/a?", false));
        assert!(glob_covers("*.example.com", "API.example.com", true));
        assert!(!glob_covers("api.example.com", "*.example.com", true));
    }
}
