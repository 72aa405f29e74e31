//! `ecsplane render`: ECS-style manifests in, Kubernetes objects out, with no cluster.
//!
//! Prints the objects on stdout (multi-document YAML ready for `kubectl apply -f -`, or a
//! JSON `v1 List`), the fidelity report on stderr. On invalid input prints nothing on stdout,
//! every error on stderr (file, object, field) and exits 1; usage errors exit 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::load;
use crate::translate::bundle::{Bundle, Errors};
use crate::translate::routing::{Implementation, Profile, RoutingOptions};
use crate::translate::security::SecurityPolicy;
use crate::translate::{self, Options, Translation};

/// Output format of the objects.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    /// Multi-document YAML.
    #[default]
    Yaml,
    /// A JSON `v1 List`.
    Json,
}

/// Format of the fidelity report.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// One line per finding and a summary.
    #[default]
    Text,
    /// The report as JSON.
    Json,
}

/// Arguments of `ecsplane render`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for .yaml, .yml and .json) to render.
    #[arg(short = 'f', long = "filename", required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Output format of the objects.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub output: Output,
    /// Format of the fidelity report on stderr.
    #[arg(long = "report", value_enum, default_value_t)]
    pub report: ReportFormat,
    /// Namespace for input objects that do not name one.
    #[arg(short = 'n', long = "namespace", value_parser = kubernetes_name(crate::validate::is_dns_label, "a namespace: a DNS label (lower-case letters, digits and '-', at most 63)"))]
    pub namespace: Option<String>,
    /// What Listeners become: portable Ingress, Ingresses for the AWS Load Balancer
    /// Controller, or Gateway API HTTPRoutes.
    #[arg(long = "routing", value_enum, default_value_t)]
    pub routing: Routing,
    /// `spec.ingressClassName` of the Ingresses (default: unset for `ingress`, `alb` for
    /// `alb`).
    #[arg(long = "ingress-class", value_name = "CLASS", value_parser = kubernetes_name(crate::validate::is_dns_subdomain, "an IngressClass name: a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253)"))]
    pub ingress_class: Option<String>,
    /// The Gateway the HTTPRoutes attach to, as NAME (in each listener's namespace) or
    /// NAMESPACE/NAME.
    #[arg(long = "gateway", value_name = "[NS/]NAME", default_value = "ecsplane", value_parser = gateway_ref)]
    pub gateway: String,
    /// Give the HTTPRoute rules of a weighted forward with target group stickiness a
    /// `sessionPersistence` (Gateway API experimental channel, Extended support; off by
    /// default, as the standard-channel CRDs have no such field).
    #[arg(long = "gateway-session-persistence")]
    pub gateway_session_persistence: bool,
    /// Dual-run cutover: a TargetGroup naming a real ALB target group ARN also gets an AWS
    /// Load Balancer Controller TargetGroupBinding for its Service (the pods join the target
    /// group the ECS tasks are in), and a Listener whose target groups are all bound gets no
    /// routes (its rules stay on the ALB).
    #[arg(long = "target-group-binding")]
    pub target_group_binding: bool,
    /// The ingress controller or Gateway implementation whose precedence the output must
    /// route by: `conformant` (the Ingress and Gateway API order, as Contour/Envoy) or
    /// `traefik` (Traefik v3 router priorities; Ingress paths get one Ingress each with a
    /// router priority, rules Traefik would route elsewhere are reported).
    #[arg(
        long = "routing-implementation",
        value_enum,
        default_value_t,
        value_name = "IMPL"
    )]
    pub routing_implementation: RoutingImplementation,
    /// Which host-level ECS fields (privileged, host namespaces and paths, devices, added
    /// capabilities, root, …) may be translated, after the Pod Security Standards.
    #[arg(
        long = "security-policy",
        value_name = "POLICY",
        default_value = "restricted",
        value_parser = security_policy()
    )]
    pub security_policy: SecurityPolicy,
}

/// `--security-policy`: one of the [`SecurityPolicy`] levels, listed in `--help` and in the
/// error for any other value.
pub(super) fn security_policy() -> impl TypedValueParser<Value = SecurityPolicy> {
    PossibleValuesParser::new(SecurityPolicy::ALL.map(SecurityPolicy::as_str))
        .try_map(|s| s.parse::<SecurityPolicy>())
}

/// A flag whose value becomes a Kubernetes name: refused unless `valid`, saying what it must
/// be (`what`), so a bad value fails here and not at `kubectl apply`.
pub(super) fn kubernetes_name(
    valid: fn(&str) -> bool,
    what: &'static str,
) -> impl Fn(&str) -> Result<String, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        if valid(s) {
            Ok(s.to_owned())
        } else {
            Err(format!("{s:?} is not {what}"))
        }
    }
}

/// `--gateway`: NAME or NAMESPACE/NAME, each a DNS label (Gateway names are DNS subdomains;
/// labels are what both accept).
pub(super) fn gateway_ref(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let valid = parts.len() <= 2 && parts.iter().all(|p| crate::validate::is_dns_label(p));
    if valid {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not NAME or NAMESPACE/NAME (lower-case letters, digits and '-')"
        ))
    }
}

/// The routing profile of `--routing`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Routing {
    /// Portable networking.k8s.io/v1 Ingress (Exact and Prefix paths).
    #[default]
    Ingress,
    /// Ingress for the AWS Load Balancer Controller (every condition and action carried).
    Alb,
    /// Gateway API gateway.networking.k8s.io/v1 HTTPRoutes.
    Gateway,
}

/// The implementation of `--routing-implementation`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoutingImplementation {
    /// Follows the Ingress and Gateway API precedence (Contour/Envoy, for instance).
    #[default]
    Conformant,
    /// Traefik v3 (Ingress with strictPrefixMatching=true, and Gateway API).
    Traefik,
}

impl From<RoutingImplementation> for Implementation {
    fn from(i: RoutingImplementation) -> Self {
        match i {
            RoutingImplementation::Conformant => Implementation::Conformant,
            RoutingImplementation::Traefik => Implementation::Traefik,
        }
    }
}

impl Args {
    /// The translation options these arguments stand for.
    pub fn options(&self) -> Options {
        let (gateway_namespace, gateway_name) = match self.gateway.split_once('/') {
            Some((ns, name)) => (Some(ns.to_owned()), name.to_owned()),
            None => (None, self.gateway.clone()),
        };
        Options {
            routing: RoutingOptions {
                profile: match self.routing {
                    Routing::Ingress => Profile::Ingress,
                    Routing::Alb => Profile::Alb,
                    Routing::Gateway => Profile::Gateway,
                },
                ingress_class_name: self.ingress_class.clone(),
                gateway_name,
                gateway_namespace,
                gateway_session_persistence: self.gateway_session_persistence,
                target_group_binding: self.target_group_binding,
                implementation: self.routing_implementation.into(),
                ..RoutingOptions::default()
            },
            security_policy: self.security_policy,
            ..Options::default()
        }
    }
}

/// Loads, validates and translates; `Err` carries every error.
pub fn render(args: &Args) -> Result<Translation, Errors> {
    let (mut bundle, mut errors) = load::load(&args.files);
    if let Some(ns) = &args.namespace {
        set_namespace(&mut bundle, ns);
    }
    match translate::translate_with(&bundle, &args.options()) {
        Ok(t) if errors.is_empty() => Ok(t),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.0.extend(e.0);
            Err(errors.finish())
        }
    }
}

fn set_namespace(bundle: &mut Bundle, ns: &str) {
    fn set(meta: &mut kube::api::ObjectMeta, ns: &str) {
        meta.namespace.get_or_insert_with(|| ns.to_owned());
    }
    bundle
        .task_definitions
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    bundle
        .services
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    bundle
        .target_groups
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    bundle
        .listeners
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    bundle
        .tasks
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    bundle
        .scheduled_tasks
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    bundle
        .clusters
        .iter_mut()
        .for_each(|o| set(&mut o.object.metadata, ns));
    for (_, n, _) in &mut bundle.invalid {
        n.get_or_insert_with(|| ns.to_owned());
    }
}

/// The objects as text in the chosen format.
pub fn format_objects(t: &Translation, output: Output) -> String {
    match output {
        Output::Yaml => t
            .objects
            .iter()
            .map(|o| serde_saphyr::to_string(o).expect("Kubernetes objects serialize to YAML"))
            .collect::<Vec<_>>()
            .join("---\n"),
        Output::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": t.objects});
            serde_json::to_string_pretty(&list).expect("Kubernetes objects serialize to JSON")
                + "\n"
        }
    }
}

/// The report as text in the chosen format.
pub fn format_report(t: &Translation, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => {
            serde_json::to_string_pretty(&t.report).expect("the report serializes") + "\n"
        }
        ReportFormat::Text => {
            let (exact, approximated, not_carried) = t.report.counts();
            let rewrites = translate::discovery::rewrites(&t.objects, "default");
            let dns = if rewrites.is_empty() {
                String::new()
            } else {
                format!(
                    "names clients call that need a CoreDNS rewrite (`ecsplane dns` prints exactly this):\n{}",
                    translate::discovery::coredns_rewrites(&rewrites)
                )
            };
            format!(
                "{}{dns}rendered {} object(s); report: {approximated} approximated, {not_carried} not carried, {exact} notes\n",
                t.report,
                t.objects.len()
            )
        }
    }
}

/// Runs `ecsplane render`.
pub fn run(args: Args) -> ExitCode {
    match render(&args) {
        Ok(t) => {
            let out = format_objects(&t, args.output);
            let _ = std::io::stderr().write_all(format_report(&t, args.report).as_bytes());
            if let Err(e) = super::write_stdout(&out) {
                let _ = writeln!(std::io::stderr(), "error: writing to stdout: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            let _ = std::io::stderr().write_all(errors.to_string().as_bytes());
            let _ = writeln!(
                std::io::stderr(),
                "{} error(s); nothing rendered",
                errors.0.len()
            );
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn the_security_policy_flag_reaches_the_translation_options_and_defaults_to_restricted() {
        let default = Cli::try_parse_from(["render", "-f", "x.yaml"])
            .expect("parse")
            .args;
        assert_eq!(
            default.options().security_policy,
            SecurityPolicy::Restricted
        );
        let baseline =
            Cli::try_parse_from(["render", "-f", "x.yaml", "--security-policy", "baseline"])
                .expect("parse")
                .args;
        assert_eq!(baseline.options().security_policy, SecurityPolicy::Baseline);
        let error = Cli::try_parse_from(["render", "-f", "x.yaml", "--security-policy=open"])
            .expect_err("refused");
        assert!(error.to_string().contains("privileged"), "{error}");
    }

    #[test]
    fn gateway_session_persistence_is_off_unless_the_flag_is_given() {
        let options = |args: &[&str]| {
            let argv = ["render", "-f", "x.yaml"].iter().chain(args);
            Cli::try_parse_from(argv).expect("parse").args.options()
        };
        assert!(!options(&[]).routing.gateway_session_persistence);
        assert!(
            options(&["--gateway-session-persistence"])
                .routing
                .gateway_session_persistence
        );
    }
}
