//! `ecsplane routes`: how each listener rule fares in the chosen Kubernetes routing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::{ConditionField, Listener, RuleCondition};
use crate::load;
use crate::translate::bundle::{self, Bundle};
use crate::translate::report::Fidelity;
use crate::translate::routing::{
    self, Profile, RoutingOptions, RuleId,
    alb::{self, rules_in_order},
};

/// Arguments of `ecsplane routes`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories with Listener and TargetGroup manifests (YAML or JSON).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    files: Vec<PathBuf>,
    /// Kubernetes routing to compile to.
    #[arg(long, value_enum, default_value = "ingress")]
    profile: ProfileArg,
    /// `ingressClassName` of the Ingresses.
    #[arg(long)]
    ingress_class: Option<String>,
    /// Gateway the HTTPRoutes attach to, as NAME or NAMESPACE/NAME.
    #[arg(long, default_value = "ecsplane")]
    gateway: String,
    /// Give the HTTPRoute rules of a weighted forward with target group stickiness a
    /// `sessionPersistence` (Gateway API experimental channel; off by default).
    #[arg(long)]
    gateway_session_persistence: bool,
    /// The implementation whose precedence the output must route by (as `ecsplane render
    /// --routing-implementation`).
    #[arg(long, value_enum, default_value_t, value_name = "IMPL")]
    routing_implementation: super::render::RoutingImplementation,
    /// Also print the compiled objects as YAML after the table.
    #[arg(long)]
    objects: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ProfileArg {
    /// Portable networking.k8s.io/v1 Ingress.
    Ingress,
    /// Ingress for the AWS Load Balancer Controller.
    Alb,
    /// Gateway API HTTPRoutes.
    Gateway,
}

/// Compiles every listener and prints each rule with its priority, conditions, action and
/// fate, then the listener's caveats (what the output assumes of the cluster). Invalid input,
/// or a forward to a target group that is not in the input, prints every error on stderr,
/// nothing on stdout, and exits 1.
pub fn run(args: Args) -> ExitCode {
    let (bundle, mut errors) = load::load(&args.files);
    errors.0.extend(missing_target_groups(&bundle));
    if !errors.is_empty() {
        let errors = errors.finish();
        eprint!("{errors}");
        eprintln!("{}; nothing compiled", plural(errors.0.len(), "error"));
        return ExitCode::FAILURE;
    }
    let ports: BTreeMap<(Option<String>, String), i32> = bundle
        .target_groups
        .iter()
        .filter_map(|tg| {
            let o = &tg.object;
            let key = (
                o.metadata.namespace.clone(),
                o.target_group_name().to_owned(),
            );
            Some((key, o.spec.port?))
        })
        .collect();
    let (gateway_namespace, gateway_name) = match args.gateway.split_once('/') {
        Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
        None => (None, args.gateway.clone()),
    };
    let options = RoutingOptions {
        profile: match args.profile {
            ProfileArg::Ingress => Profile::Ingress,
            ProfileArg::Alb => Profile::Alb,
            ProfileArg::Gateway => Profile::Gateway,
        },
        ingress_class_name: args.ingress_class.clone(),
        gateway_name,
        gateway_namespace,
        gateway_session_persistence: args.gateway_session_persistence,
        implementation: args.routing_implementation.into(),
        ..RoutingOptions::default()
    };
    if bundle.listeners.is_empty() {
        eprintln!("no Listener in the input");
    }
    let mut out = String::new();
    let mut objects = Vec::new();
    for l in &bundle.listeners {
        let ns = l.object.metadata.namespace.clone();
        let resolver = |tg: &str| ports.get(&(ns.clone(), tg.to_owned())).copied();
        let compiled = routing::compile(&l.object, &resolver, &options);
        out.push_str(&table(&l.object, &compiled, &options));
        objects.extend(compiled.objects);
    }
    if args.objects {
        let docs: Vec<String> = objects
            .iter()
            .map(|o| serde_saphyr::to_string(o).expect("JSON values always serialize to YAML"))
            .collect();
        out.push_str("---\n");
        out.push_str(&docs.join("---\n"));
    }
    match super::write_stdout(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One error per forward to a target group that is not among the valid objects of the
/// input (as `render` refuses it: the route would send to a Service nothing creates).
fn missing_target_groups(bundle: &Bundle) -> Vec<bundle::Error> {
    let mut out = Vec::new();
    for l in &bundle.listeners {
        let ns = l.object.metadata.namespace.as_deref();
        let name = l.object.metadata.name.as_deref().unwrap_or_default();
        let object = match ns {
            Some(ns) => format!("Listener {ns}/{name}"),
            None => format!("Listener {name}"),
        };
        for r in routing::target_group_references(&l.object) {
            let present = bundle.target_groups.iter().any(|t| {
                t.object.metadata.namespace.as_deref() == ns
                    && t.object.target_group_name() == r.name
            });
            let invalid = bundle
                .invalid
                .iter()
                .any(|(k, n, x)| k == "TargetGroup" && n.as_deref() == ns && *x == r.name);
            if !present && !invalid {
                out.push(bundle::Error::new(
                    &l.origin,
                    object.clone(),
                    r.field,
                    bundle::ErrorKind::Reference,
                    format!(
                        "Listener {name} forwards to target group {:?}, which is not in the input; pass its TargetGroup too",
                        r.name
                    ),
                ));
            }
        }
    }
    out
}

/// `n` and `noun`, in the plural unless `n` is 1.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The per-listener table `routes` prints: a summary line, the Gateway listener the
/// HTTPRoutes attach to (gateway profile), each rule with its conditions, action and fate,
/// then the caveats.
pub fn table(
    listener: &Listener,
    compiled: &routing::CompiledRoutes,
    options: &RoutingOptions,
) -> String {
    let mut out = String::new();
    let count =
        |f: fn(&routing::Fate) -> bool| compiled.fates.iter().filter(|x| f(&x.fate)).count();
    let _ = writeln!(
        out,
        "Listener {}{} ({}): {} + default; {} exact, {} approximated, {} shadowed, {} not representable",
        listener
            .metadata
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default(),
        listener.metadata.name.as_deref().unwrap_or(""),
        options.profile,
        plural(compiled.fates.len().saturating_sub(1), "rule"),
        count(|f| f.is_exact()),
        count(|f| matches!(f, routing::Fate::Approximated { .. })),
        count(|f| matches!(f, routing::Fate::Shadowed { .. })),
        count(|f| matches!(f, routing::Fate::NotRepresentable { .. })),
    );
    if options.profile == Profile::Gateway {
        let _ = writeln!(
            out,
            "  attaches to Gateway {}, listener {}",
            routing::gateway::gateway_ref(listener, options),
            routing::gateway::gateway_listener(listener, options)
        );
    }
    let rules = rules_in_order(listener);
    for f in &compiled.fates {
        let (label, conditions, target) = match f.rule {
            RuleId::Priority(p) => {
                let r = rules.iter().find(|r| r.priority == p);
                (
                    format!("{p:>5}"),
                    r.map(|r| conditions(&r.conditions)).unwrap_or_default(),
                    r.map(|r| alb::target_of(&r.actions)),
                )
            }
            RuleId::Default => (
                "default".to_owned(),
                "(no other rule matches)".to_owned(),
                Some(alb::target_of(&listener.spec.default_actions)),
            ),
        };
        let target = target.map(|t| t.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {label:>7}  {conditions}\n           -> {target}\n           {}",
            f.fate
        );
    }
    if !compiled.caveats.findings.is_empty() {
        let _ = writeln!(out, "  caveats:");
        for c in &compiled.caveats.findings {
            let fidelity = match c.fidelity {
                Fidelity::Exact => "note".to_owned(),
                other => other.to_string(),
            };
            let _ = writeln!(out, "    {}: {fidelity}: {}", c.field, c.message);
        }
    }
    out
}

fn conditions(conds: &[RuleCondition]) -> String {
    conds
        .iter()
        .map(|c| match c.field {
            ConditionField::HostHeader => format!("host {}", alb::host_values(c).0.join("|")),
            ConditionField::PathPattern => format!("path {}", alb::path_values(c).0.join("|")),
            ConditionField::HttpHeader => c
                .http_header_config
                .as_ref()
                .map(|h| format!("header {}={}", h.http_header_name, h.values.join("|")))
                .unwrap_or_default(),
            ConditionField::HttpRequestMethod => format!(
                "method {}",
                c.http_request_method_config
                    .as_ref()
                    .map(|m| m.values.join("|"))
                    .unwrap_or_default()
            ),
            ConditionField::QueryString => format!(
                "query {}",
                c.query_string_config
                    .as_ref()
                    .map(|q| q
                        .values
                        .iter()
                        .map(|p| match &p.key {
                            Some(k) => format!("{k}={}", p.value),
                            None => p.value.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join("|"))
                    .unwrap_or_default()
            ),
            ConditionField::SourceIp => format!(
                "source-ip {}",
                c.source_ip_config
                    .as_ref()
                    .map(|m| m.values.join("|"))
                    .unwrap_or_default()
            ),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}
