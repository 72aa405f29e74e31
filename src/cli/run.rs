//! `ecsplane run`: the operator. Every flag can also be set by the environment variable named
//! in its help; a flag on the command line wins.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::BoolishValueParser;

use super::render::{self, Routing};
use crate::controller;
use crate::runtime::http::BindAddress;
use crate::runtime::leader::LeaderElection;
use crate::runtime::logging::{self, LogFormat};
use crate::runtime::{self, Options};
use crate::translate::routing::{Profile, RoutingOptions};
use crate::translate::security::SecurityPolicy;

/// Arguments of `ecsplane run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address of the /metrics endpoint: host:port, :port for every interface, or 0 to turn it
    /// off.
    #[arg(long, env = "ECSPLANE_METRICS_BIND_ADDRESS", default_value = ":8080", value_parser = BindAddress::parse)]
    metrics_bind_address: BindAddress,

    /// Address of the /healthz and /readyz endpoints (same notation).
    #[arg(long, env = "ECSPLANE_HEALTH_PROBE_BIND_ADDRESS", default_value = ":8081", value_parser = BindAddress::parse)]
    health_probe_bind_address: BindAddress,

    /// Run the controllers only while holding a Lease, so that several replicas are safe.
    #[arg(
        long,
        env = "ECSPLANE_LEADER_ELECT",
        default_value = "false",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    leader_elect: bool,

    /// Namespace of the leader-election Lease [default: the pod's namespace in a cluster, else
    /// default].
    #[arg(long, env = "ECSPLANE_LEADER_ELECTION_NAMESPACE")]
    leader_election_namespace: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "ECSPLANE_LEADER_ELECTION_ID",
        default_value = "ecsplane-leader"
    )]
    leader_election_id: String,

    /// How long standbys wait after the leader's last renewal before taking over (whole
    /// seconds, for example 15s).
    #[arg(long, env = "ECSPLANE_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = runtime::parse_duration)]
    leader_election_lease_duration: Duration,

    /// How long the leader keeps trying to renew before it stops leading (and exits).
    #[arg(long, env = "ECSPLANE_LEADER_ELECTION_RENEW_DEADLINE", default_value = "10s", value_parser = runtime::parse_duration)]
    leader_election_renew_deadline: Duration,

    /// How often replicas try to acquire, and the leader renews, the Lease.
    #[arg(long, env = "ECSPLANE_LEADER_ELECTION_RETRY_PERIOD", default_value = "2s", value_parser = runtime::parse_duration)]
    leader_election_retry_period: Duration,

    /// Format of the log lines on standard error; RUST_LOG chooses what is logged.
    #[arg(long, env = "ECSPLANE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Kubeconfig file to use [default: KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account].
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,

    /// Watch and reconcile ecsplane objects in these namespaces only, with one set of
    /// controllers each: repeat the flag or separate the names with commas [default: every
    /// namespace].
    #[arg(
        long,
        env = "ECSPLANE_WATCH_NAMESPACE",
        value_name = "NAMESPACE",
        value_delimiter = ',',
        value_parser = watch_namespace
    )]
    namespace: Vec<String>,

    /// What Listeners become: portable Ingress, Ingresses for the AWS Load Balancer
    /// Controller, or Gateway API HTTPRoutes (as `ecsplane render --routing`).
    #[arg(
        long = "routing",
        env = "ECSPLANE_ROUTING",
        value_enum,
        default_value_t
    )]
    routing: Routing,

    /// `spec.ingressClassName` of the Ingresses (default: unset for `ingress`, `alb` for
    /// `alb`).
    #[arg(
        long = "ingress-class",
        env = "ECSPLANE_INGRESS_CLASS",
        value_name = "CLASS"
    )]
    ingress_class: Option<String>,

    /// The Gateway the HTTPRoutes attach to, as NAME (in each listener's namespace) or
    /// NAMESPACE/NAME.
    #[arg(
        long = "gateway",
        env = "ECSPLANE_GATEWAY",
        value_name = "[NS/]NAME",
        default_value = "ecsplane",
        value_parser = render::gateway_ref
    )]
    gateway: String,

    /// Give the HTTPRoute rules of a weighted forward with target group stickiness a
    /// `sessionPersistence` (Gateway API experimental channel, Extended support; as `ecsplane
    /// render --gateway-session-persistence`). Off by default: the standard-channel CRDs have
    /// no such field.
    #[arg(
        long,
        env = "ECSPLANE_GATEWAY_SESSION_PERSISTENCE",
        default_value = "false",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    gateway_session_persistence: bool,

    /// Dual-run cutover (as `ecsplane render --target-group-binding`): a TargetGroup naming a
    /// real ALB target group ARN also gets a TargetGroupBinding (the AWS Load Balancer
    /// Controller and its CRD must be installed), and a Listener whose target groups are all
    /// bound gets no routes.
    #[arg(
        long,
        env = "ECSPLANE_TARGET_GROUP_BINDING",
        default_value = "false",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    target_group_binding: bool,
    /// The implementation whose precedence the routes must route by (as `ecsplane render
    /// --routing-implementation`).
    #[arg(
        long,
        env = "ECSPLANE_ROUTING_IMPLEMENTATION",
        value_enum,
        default_value_t,
        value_name = "IMPL"
    )]
    routing_implementation: render::RoutingImplementation,

    /// Which host-level ECS fields (privileged, host namespaces and paths, devices, added
    /// capabilities, root, …) tenants' task definitions may use, after the Pod Security
    /// Standards; anything else is refused with the field named.
    #[arg(
        long = "security-policy",
        env = "ECSPLANE_SECURITY_POLICY",
        value_name = "POLICY",
        default_value = "restricted",
        value_parser = render::security_policy()
    )]
    security_policy: SecurityPolicy,

    /// How many objects of one kind are reconciled at the same time (per kind, per watched
    /// namespace set; 0: no bound).
    #[arg(long, env = "ECSPLANE_CONCURRENCY", default_value_t = 16)]
    concurrency: u16,

    /// How long a wakeup of an object waits for more changes before its reconcile runs, so a
    /// burst of events (a rollout's pods) is one reconcile (0s: none).
    #[arg(long, env = "ECSPLANE_DEBOUNCE", default_value = "500ms", value_parser = runtime::parse_duration)]
    debounce: Duration,

    /// Requests per second the operator sends the API server on average (watches included;
    /// 0: no limit).
    #[arg(long, env = "ECSPLANE_KUBE_API_QPS", default_value_t = 50.0)]
    kube_api_qps: f64,

    /// Requests the operator may send at once above --kube-api-qps before it waits.
    #[arg(long, env = "ECSPLANE_KUBE_API_BURST", default_value_t = 100)]
    kube_api_burst: u32,
}

/// `--namespace`: a namespace name, which Kubernetes requires to be a DNS label.
fn watch_namespace(s: &str) -> Result<String, String> {
    if crate::validate::is_dns_label(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a namespace name: at most 63 lower-case letters, digits and '-', \
             starting and ending with a letter or digit"
        ))
    }
}

impl Args {
    fn options(self) -> Options {
        let leader_election = self.leader_elect.then(|| LeaderElection {
            namespace: self
                .leader_election_namespace
                .unwrap_or_else(runtime::default_namespace),
            name: self.leader_election_id,
            identity: runtime::default_identity(),
            lease_duration: self.leader_election_lease_duration,
            renew_deadline: self.leader_election_renew_deadline,
            retry_period: self.leader_election_retry_period,
        });
        let (gateway_namespace, gateway_name) = match self.gateway.split_once('/') {
            Some((ns, name)) => (Some(ns.to_owned()), name.to_owned()),
            None => (None, self.gateway.clone()),
        };
        let mut namespaces = self.namespace;
        namespaces.sort_unstable();
        namespaces.dedup();
        let controllers = controller::Options {
            routing: RoutingOptions {
                profile: match self.routing {
                    Routing::Ingress => Profile::Ingress,
                    Routing::Alb => Profile::Alb,
                    Routing::Gateway => Profile::Gateway,
                },
                ingress_class_name: self.ingress_class,
                gateway_name,
                gateway_namespace,
                gateway_session_persistence: self.gateway_session_persistence,
                target_group_binding: self.target_group_binding,
                implementation: self.routing_implementation.into(),
                ..RoutingOptions::default()
            },
            instance: std::env::var("POD_NAME").ok(),
            namespace: match namespaces.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            namespaces,
            security_policy: self.security_policy,
            concurrency: self.concurrency,
            debounce: self.debounce,
        };
        Options {
            controllers,
            metrics: self.metrics_bind_address,
            health: self.health_probe_bind_address,
            leader_election,
            kubeconfig: self.kubeconfig,
            rate_limit: runtime::RateLimit {
                qps: self.kube_api_qps,
                burst: self.kube_api_burst,
            },
        }
    }
}

/// Runs the operator until SIGTERM or SIGINT (exit 0) or a failure (exit 1).
pub fn run(args: Args) -> ExitCode {
    logging::init(args.log_format);
    let options = args.options();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(runtime::run(options));
    // Tasks still running (servers, watches) are dropped; anything blocking gets a moment.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(error = %error, "ecsplane run failed");
            ExitCode::FAILURE
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
    fn defaults_match_kubernetes_operators() {
        let args = Cli::try_parse_from(["run"]).expect("parse").args;
        assert_eq!(
            args.metrics_bind_address,
            BindAddress::Listen("0.0.0.0:8080".into())
        );
        assert_eq!(
            args.health_probe_bind_address,
            BindAddress::Listen("0.0.0.0:8081".into())
        );
        assert!(!args.leader_elect);
        assert_eq!(args.leader_election_id, "ecsplane-leader");
        assert_eq!(args.leader_election_lease_duration, Duration::from_secs(15));
        assert_eq!(args.leader_election_renew_deadline, Duration::from_secs(10));
        assert_eq!(args.leader_election_retry_period, Duration::from_secs(2));
        assert_eq!(args.log_format, LogFormat::Text);
        assert!(args.options().leader_election.is_none());
    }

    #[test]
    fn leader_elect_is_a_flag_that_also_takes_a_value() {
        for (argv, expected) in [
            (vec!["run", "--leader-elect"], true),
            (vec!["run", "--leader-elect=true"], true),
            (vec!["run", "--leader-elect=false"], false),
        ] {
            let args = Cli::try_parse_from(&argv).expect("parse").args;
            assert_eq!(args.leader_elect, expected, "{argv:?}");
        }
    }

    #[test]
    fn flags_configure_leader_election_and_servers() {
        let args = Cli::try_parse_from([
            "run",
            "--leader-elect",
            "--leader-election-namespace=ops",
            "--leader-election-id=lock",
            "--leader-election-lease-duration=4s",
            "--leader-election-renew-deadline=3s",
            "--leader-election-retry-period=500ms",
            "--metrics-bind-address=0",
            "--health-probe-bind-address=127.0.0.1:9000",
            "--log-format=json",
        ])
        .expect("parse")
        .args;
        assert_eq!(args.log_format, LogFormat::Json);
        let options = args.options();
        assert_eq!(options.metrics, BindAddress::Disabled);
        assert_eq!(options.health, BindAddress::Listen("127.0.0.1:9000".into()));
        let election = options.leader_election.expect("on");
        assert_eq!(election.namespace, "ops");
        assert_eq!(election.name, "lock");
        assert_eq!(election.lease_duration, Duration::from_secs(4));
        assert_eq!(election.renew_deadline, Duration::from_secs(3));
        assert_eq!(election.retry_period, Duration::from_millis(500));
        assert_eq!(election.validate(), Ok(()));
    }

    #[test]
    fn several_namespaces_repeated_or_comma_separated_get_a_set_of_controllers_each() {
        let args = Cli::try_parse_from([
            "run",
            "--namespace=team-b,team-a",
            "--namespace",
            "team-c",
            "--namespace=team-a",
        ])
        .expect("parse")
        .args;
        let controllers = args.options().controllers;
        assert_eq!(controllers.namespaces, ["team-a", "team-b", "team-c"]);
        assert_eq!(
            controllers.namespace, None,
            "no single namespace when several are watched"
        );
    }

    #[test]
    fn one_namespace_is_also_the_single_watched_namespace() {
        let args = Cli::try_parse_from(["run", "--namespace=team-a"])
            .expect("parse")
            .args;
        let controllers = args.options().controllers;
        assert_eq!(controllers.namespaces, ["team-a"]);
        assert_eq!(controllers.namespace.as_deref(), Some("team-a"));

        let every = Cli::try_parse_from(["run"]).expect("parse").args.options();
        assert!(every.controllers.namespaces.is_empty());
        assert_eq!(every.controllers.namespace, None, "every namespace");
    }

    #[test]
    fn a_namespace_that_is_not_a_dns_label_is_a_usage_error_naming_it() {
        for bad in ["Team-A", "team_a", "team-a,", "-team", "a.b"] {
            let flag = format!("--namespace={bad}");
            let error = Cli::try_parse_from(["run", flag.as_str()]).expect_err(bad);
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad}"
            );
            let text = error.to_string();
            assert!(
                text.contains("is not a namespace name") && text.contains("--namespace"),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn the_security_policy_is_restricted_unless_the_admin_chooses_another_level() {
        let default = Cli::try_parse_from(["run"]).expect("parse").args.options();
        assert_eq!(
            default.controllers.security_policy,
            SecurityPolicy::Restricted
        );
        for policy in SecurityPolicy::ALL {
            let flag = format!("--security-policy={policy}");
            let options = Cli::try_parse_from(["run", flag.as_str()])
                .expect("parse")
                .args
                .options();
            assert_eq!(options.controllers.security_policy, policy);
        }
    }

    #[test]
    fn an_unknown_security_policy_is_a_usage_error_listing_the_levels() {
        let error = Cli::try_parse_from(["run", "--security-policy=open"]).expect_err("refused");
        assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
        let text = error.to_string();
        for level in ["restricted", "baseline", "privileged"] {
            assert!(text.contains(level), "{text}");
        }
    }

    #[test]
    fn a_gateway_that_is_not_name_or_namespace_slash_name_is_refused() {
        let args = Cli::try_parse_from(["run", "--gateway=infra/public"])
            .expect("parse")
            .args;
        let routing = args.options().controllers.routing;
        assert_eq!(routing.gateway_namespace.as_deref(), Some("infra"));
        assert_eq!(routing.gateway_name, "public");
        assert!(Cli::try_parse_from(["run", "--gateway=a/b/c"]).is_err());
    }

    #[test]
    fn gateway_session_persistence_is_off_unless_the_flag_says_true() {
        let persistence = |args: &[&str]| {
            let argv = ["run"].iter().chain(args);
            Cli::try_parse_from(argv)
                .expect("parse")
                .args
                .options()
                .controllers
                .routing
                .gateway_session_persistence
        };
        assert!(!persistence(&[]));
        assert!(persistence(&["--gateway-session-persistence"]));
        assert!(persistence(&["--gateway-session-persistence=true"]));
        assert!(!persistence(&["--gateway-session-persistence=false"]));
    }

    #[test]
    fn a_bad_bind_address_is_refused_at_parse_time() {
        let error =
            Cli::try_parse_from(["run", "--metrics-bind-address=8080"]).expect_err("refused");
        assert!(error.to_string().contains("8080"), "{error}");
    }
}
