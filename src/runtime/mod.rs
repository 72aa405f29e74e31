//! The operator process behind `ecsplane run`: the Kubernetes client, the `/metrics`,
//! `/healthz` and `/readyz` endpoints, leader election on a Lease, and graceful shutdown on
//! SIGTERM or SIGINT. The controllers themselves are [`crate::controller::run`]; this module
//! sees them only through that function and the [`Telemetry`] they report to.
//!
//! Shutdown order: the first signal makes `/readyz` answer 503 and completes the future the
//! controllers were given; once they have returned, a leader releases its lease so a standby
//! takes over at once, and the process exits 0. A leader that loses its lease (another replica
//! took it, or no renewal succeeded within the renew deadline) stops at once with an error,
//! as controller-runtime does, so two replicas never write at the same time.

pub mod health;
pub mod http;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod requests;
pub mod signals;

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kube::config::{InferConfigError, KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::controller::{self, ErrorCategory, Telemetry};
use health::Health;
use http::BindAddress;
use leader::{Elector, LeaderElection, Lost};
use metrics::Metrics;

/// Where the namespace of the pod's service account is mounted in a cluster.
pub const SERVICE_ACCOUNT_NAMESPACE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// How `ecsplane run` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// What the controllers do (namespace, routing profile).
    pub controllers: controller::Options,
    /// Where `/metrics` is served.
    pub metrics: BindAddress,
    /// Where `/healthz` and `/readyz` are served.
    pub health: BindAddress,
    /// Leader election, when on.
    pub leader_election: Option<LeaderElection>,
    /// A kubeconfig file to use instead of inferring the configuration (`KUBECONFIG`,
    /// `~/.kube/config`, then the in-cluster service account).
    pub kubeconfig: Option<PathBuf>,
    /// How fast the client may send requests.
    pub rate_limit: RateLimit,
}

/// The client's request rate (`--kube-api-qps`, `--kube-api-burst`), as client-go's token
/// bucket: `burst` requests at once, then `qps` per second on average.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Average requests per second; 0 (or less): no limit.
    pub qps: f64,
    /// Requests that may go at once.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            qps: 50.0,
            burst: 100,
        }
    }
}

impl RateLimit {
    /// The limit as tower's fixed window: `burst` requests per `burst / qps` seconds (the same
    /// average, and never more than `burst` in one go); `None` for no limit.
    pub fn window(self) -> Option<(u64, Duration)> {
        if self.qps.is_nan() || self.qps <= 0.0 || self.qps.is_infinite() {
            return None;
        }
        let burst = u64::from(self.burst.max(1));
        let per = Duration::try_from_secs_f64(burst as f64 / self.qps).ok()?;
        Some((burst, per.max(Duration::from_millis(1))))
    }
}

/// Errors that stop `ecsplane run`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The leader-election settings do not work together.
    #[error("leader election settings: {0}")]
    LeaderElectionConfig(#[from] leader::ConfigError),
    /// No kubeconfig and not in a cluster.
    #[error("no Kubernetes configuration found: {0}")]
    InferConfig(#[from] InferConfigError),
    /// The kubeconfig given with `--kubeconfig` cannot be used.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        source: KubeconfigError,
    },
    /// The client could not be built from the configuration.
    #[error("Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// A server could not listen on its address.
    #[error("cannot listen on {address} for {what}: {source}")]
    Bind {
        /// Which endpoints (`metrics`, `health probes`).
        what: &'static str,
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("installing the SIGTERM/SIGINT handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// This replica led and lost the lease; it stopped so that no two replicas write at once.
    #[error("leader election lost: {0}")]
    LeadershipLost(#[from] Lost),
    /// The task that renews the lease failed.
    #[error("the lease renewal task failed: {0}")]
    LeaseTask(String),
    /// The controllers stopped with an error.
    #[error("controllers: {0}")]
    Controllers(#[from] controller::Error),
}

/// The operator's metrics and health state, shared by the controllers (as [`Telemetry`]), the
/// HTTP servers and leader election.
#[derive(Debug, Default)]
pub struct Observability {
    /// The Prometheus metrics.
    pub metrics: Metrics,
    /// Liveness and readiness.
    pub health: Health,
}

impl Telemetry for Observability {
    fn reconciled(&self, kind: &'static str, elapsed: Duration, error: Option<ErrorCategory>) {
        self.metrics.reconciled(kind, elapsed, error);
    }

    fn queue_depth(&self, kind: &'static str, depth: i64) {
        self.metrics.queue_depth(kind, depth);
    }

    fn ready(&self) {
        if self.health.readiness() != health::Readiness::Ready {
            tracing::info!("controllers ready: every watch has listed");
        }
        self.health.set_synced();
    }

    fn reconcile_started(&self, kind: &'static str) -> u64 {
        self.health.started(kind, std::time::Instant::now())
    }

    fn reconcile_finished(&self, ticket: u64) {
        self.health.finished(ticket);
    }

    fn failed(&self, kind: &'static str, category: ErrorCategory) {
        self.metrics.failed(kind, category);
    }

    fn watch_listed(&self, kind: &'static str) {
        self.health.watch_recovered(kind);
    }

    fn watch_failed(&self, kind: &'static str, reason: &str, expected: bool) {
        self.metrics.watch_restarted(kind);
        if !expected {
            self.health
                .watch_failed(kind, reason, std::time::Instant::now());
        }
    }
}

/// The namespace of the pod's service account when running in a cluster, else `default`.
pub fn default_namespace() -> String {
    namespace_from(Path::new(SERVICE_ACCOUNT_NAMESPACE))
}

fn namespace_from(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

/// A leader-election identity unique to this process: the host name (the pod name in a
/// cluster) and a random suffix, as controller-runtime makes it.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ecsplane".to_owned());
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{host}_{random:016x}")
}

/// Parses a duration as Kubernetes flags write them: a number and a unit (`ms`, `s`, `m`, `h`),
/// for example `15s`, `1.5s`, `500ms`, `1m`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{value:?} has no unit (ms, s, m or h), for example 15s"))?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{value:?} does not start with a number"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => {
            return Err(format!(
                "{value:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{value:?}: {e}"))
}

/// Builds the Kubernetes client: from `kubeconfig` when given, else as kube's `Config::infer`
/// does (`KUBECONFIG`, `~/.kube/config`, then the in-cluster service account). Every request
/// it sends is counted in `counts` (after the rate limit: what reaches the API server).
pub async fn client(
    kubeconfig: Option<&Path>,
    rate_limit: RateLimit,
    counts: &requests::RequestCounts,
) -> Result<Client, Error> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|source| Error::Kubeconfig {
                path: path.to_owned(),
                source,
            })?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|source| Error::Kubeconfig {
                    path: path.to_owned(),
                    source,
                })?
        }
        None => Config::infer().await?,
    };
    tracing::info!(server = %config.cluster_url, qps = rate_limit.qps, burst = rate_limit.burst, "Kubernetes API server");
    let builder = kube::client::ClientBuilder::try_from(config)
        .map_err(Error::Client)?
        .with_layer(&requests::CountLayer(counts.clone()));
    Ok(match rate_limit.window() {
        Some((num, per)) => builder
            .with_layer(&tower::limit::RateLimitLayer::new(num, per))
            .build(),
        None => builder.build(),
    })
}

async fn bind(what: &'static str, address: &BindAddress) -> Result<Option<TcpListener>, Error> {
    let BindAddress::Listen(address) = address else {
        tracing::info!("{what} endpoint disabled");
        return Ok(None);
    };
    let listener = TcpListener::bind(address.as_str())
        .await
        .map_err(|source| Error::Bind {
            what,
            address: address.clone(),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_or_else(|_| address.clone(), |a| a.to_string());
    tracing::info!(address = %local, "serving {what}");
    Ok(Some(listener))
}

fn spawn_server(
    what: &'static str,
    listener: TcpListener,
    routes: axum::Router,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = http::serve(listener, routes).await {
            tracing::error!(%error, "the {what} server stopped");
        }
    })
}

async fn shutdown_future(mut shutdown: watch::Receiver<bool>) {
    // An error means the sender is gone, which happens only when the process is ending.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Runs the operator until a signal stops it (`Ok`) or something fails (`Err`).
pub async fn run(options: Options) -> Result<(), Error> {
    if let Some(election) = &options.leader_election {
        election.validate()?;
    }
    let state = Arc::new(Observability::default());

    // Listen first, so a taken port fails the start instead of a probe later.
    let mut servers = Vec::new();
    if options.metrics == options.health {
        if let Some(listener) = bind("metrics and health probes", &options.metrics).await? {
            let routes =
                http::metrics_routes(state.clone()).merge(http::health_routes(state.clone()));
            servers.push(spawn_server("metrics and health probes", listener, routes));
        }
    } else {
        if let Some(listener) = bind("metrics", &options.metrics).await? {
            servers.push(spawn_server(
                "metrics",
                listener,
                http::metrics_routes(state.clone()),
            ));
        }
        if let Some(listener) = bind("health probes", &options.health).await? {
            servers.push(spawn_server(
                "health probes",
                listener,
                http::health_routes(state.clone()),
            ));
        }
    }

    let (stop, shutdown) = watch::channel(false);
    let on_signal = state.clone();
    signals::install(stop, move || on_signal.health.set_shutting_down()).map_err(Error::Signals)?;

    let client = client(
        options.kubeconfig.as_deref(),
        options.rate_limit,
        state.metrics.requests(),
    )
    .await?;
    let result = match options.leader_election {
        None => {
            state.metrics.set_leader(true);
            let telemetry: Arc<dyn Telemetry> = state.clone();
            let result = controller::run_with(
                client,
                telemetry,
                options.controllers.clone(),
                shutdown_future(shutdown),
            )
            .await;
            state.metrics.set_leader(false);
            result.map_err(Error::from)
        }
        Some(election) => {
            lead(
                client,
                election,
                options.controllers,
                state.clone(),
                shutdown,
            )
            .await
        }
    };
    for server in servers {
        server.abort();
    }
    result
}

/// Waits for the lease, runs the controllers while holding it, and releases it after they
/// returned.
async fn lead(
    client: Client,
    election: LeaderElection,
    controllers: controller::Options,
    state: Arc<Observability>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), Error> {
    tracing::info!(
        lease = %election.name,
        namespace = %election.namespace,
        identity = %election.identity,
        lease_duration = ?election.lease_duration,
        renew_deadline = ?election.renew_deadline,
        retry_period = ?election.retry_period,
        "leader election on"
    );
    let mut elector = Elector::new(client.clone(), election);
    let standby = state.clone();
    if !elector
        .acquire(&mut shutdown, move |s| standby.health.set_standby(s))
        .await
    {
        tracing::info!("shut down before leading");
        return Ok(());
    }
    state.health.set_standby(false);
    state.metrics.set_leader(true);

    let (stop_renewing, renewing_stopped) = oneshot::channel();
    let mut keeper = tokio::spawn(async move {
        let lost = elector.keep(renewing_stopped).await;
        (elector, lost)
    });
    let telemetry: Arc<dyn Telemetry> = state.clone();
    let controllers =
        controller::run_with(client, telemetry, controllers, shutdown_future(shutdown));
    tokio::pin!(controllers);

    tokio::select! {
        result = &mut controllers => {
            let _ = stop_renewing.send(());
            let (mut elector, lost) = keeper.await.map_err(|e| Error::LeaseTask(e.to_string()))?;
            state.metrics.set_leader(false);
            if let Some(lost) = lost {
                tracing::error!(%lost, "leader election lost while the controllers were stopping");
                return Err(Error::LeadershipLost(lost));
            }
            if let Err(error) = elector.release().await {
                tracing::warn!(%error, "could not release the leader lease; a standby takes over once it expires");
            }
            result.map_err(Error::from)
        }
        joined = &mut keeper => {
            state.metrics.set_leader(false);
            let (_, lost) = joined.map_err(|e| Error::LeaseTask(e.to_string()))?;
            let lost = lost.ok_or_else(|| Error::LeaseTask("renewal stopped unasked".to_owned()))?;
            tracing::error!(%lost, "leader election lost: stopping at once so that no two replicas write");
            Err(Error::LeadershipLost(lost))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubernetes_flags() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn a_duration_without_a_known_unit_is_refused_naming_it() {
        for value in ["15", "15sec", "s", "-1s", "fast"] {
            let error = parse_duration(value).expect_err(value);
            assert!(error.contains(value), "{error}");
        }
    }

    #[test]
    fn the_namespace_is_the_service_accounts_in_a_cluster_else_default() {
        let dir = std::env::temp_dir().join(format!("ecsplane-ns-test.{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("namespace");
        std::fs::write(&file, "ecsplane-system\n").expect("write");
        assert_eq!(namespace_from(&file), "ecsplane-system");
        assert_eq!(namespace_from(&dir.join("missing")), "default");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn identities_differ_between_processes_on_one_host() {
        assert_ne!(default_identity(), default_identity());
    }

    #[test]
    fn the_controllers_reporting_ready_makes_readyz_ready() {
        let state = Observability::default();
        assert!(!state.health.readiness().is_ready());
        state.ready();
        assert_eq!(state.health.readiness(), health::Readiness::Ready);
    }
}
