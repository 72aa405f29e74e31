//! The small HTTP servers of the operator: `/metrics` on the metrics address, `/healthz` and
//! `/readyz` on the health-probe address (one server when both addresses are the same).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::Observability;
use super::health::Readiness;
use super::metrics::CONTENT_TYPE;

/// Where a server listens, in the notation of Kubernetes operators' bind-address flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindAddress {
    /// `0`: the server is off.
    Disabled,
    /// `host:port`; `:port` means every IPv4 interface (`0.0.0.0:port`).
    Listen(String),
}

impl BindAddress {
    /// Parses a flag value: `0`, `:8080`, `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value == "0" {
            return Ok(BindAddress::Disabled);
        }
        let Some((host, port)) = value.rsplit_once(':') else {
            return Err(format!("{value:?} is not host:port, :port or 0"));
        };
        port.parse::<u16>()
            .map_err(|_| format!("{value:?}: port {port:?} is not a number from 0 to 65535"))?;
        let host = if host.is_empty() { "0.0.0.0" } else { host };
        Ok(BindAddress::Listen(format!("{host}:{port}")))
    }
}

impl fmt::Display for BindAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindAddress::Disabled => f.write_str("0"),
            BindAddress::Listen(address) => f.write_str(address),
        }
    }
}

/// The routes of the metrics server.
pub fn metrics_routes(state: Arc<Observability>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The routes of the health-probe server.
pub fn health_routes(state: Arc<Observability>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<Observability>>) -> impl IntoResponse {
    let failing: Vec<&'static str> = state
        .health
        .failing_watches(Instant::now())
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    state.metrics.set_watches_failing(&failing);
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}

async fn healthz(State(state): State<Arc<Observability>>) -> impl IntoResponse {
    match state.health.liveness(Instant::now()) {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

/// `/readyz`: the readiness word, then one line per failing watch (`watch KIND: REASON`).
async fn readyz(State(state): State<Arc<Observability>>) -> impl IntoResponse {
    let now = Instant::now();
    let readiness = state.health.readiness_at(now);
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = format!("{}\n", readiness.as_str());
    if readiness != Readiness::ShuttingDown {
        for (kind, reason) in state.health.failing_watches(now) {
            body.push_str(&format!("watch {kind}: {reason}\n"));
        }
    }
    (status, body)
}

/// Serves `routes` on `listener` until the process ends. Errors of single connections are
/// handled by the server; this returns only if accepting fails for good.
pub async fn serve(listener: TcpListener, routes: Router) -> std::io::Result<()> {
    axum::serve(listener, routes).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::controller::Telemetry;

    #[test]
    fn zero_disables_a_server() {
        assert_eq!(BindAddress::parse("0"), Ok(BindAddress::Disabled));
    }

    #[test]
    fn a_bare_port_listens_on_every_interface() {
        assert_eq!(
            BindAddress::parse(":8080"),
            Ok(BindAddress::Listen("0.0.0.0:8080".into()))
        );
    }

    #[test]
    fn host_and_port_are_kept_as_given() {
        for value in ["127.0.0.1:9000", "[::1]:9000", "localhost:0"] {
            assert_eq!(
                BindAddress::parse(value),
                Ok(BindAddress::Listen(value.into()))
            );
        }
    }

    #[test]
    fn an_address_without_a_valid_port_is_refused_naming_it() {
        for value in ["8080", "localhost", ":http", "127.0.0.1:70000"] {
            let error = BindAddress::parse(value).expect_err(value);
            assert!(error.contains(value), "{error}");
        }
    }

    async fn get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let status = response[9..12].parse().expect("status code");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    #[tokio::test]
    async fn readyz_turns_200_once_the_controllers_are_ready_and_503_while_a_watch_fails_or_when_shutting_down()
     {
        let state = Arc::new(Observability::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(serve(listener, health_routes(state.clone())));

        assert_eq!(get(address, "/healthz").await, (200, "ok\n".into()));
        assert_eq!(get(address, "/readyz").await, (503, "starting\n".into()));
        state.ready();
        assert_eq!(get(address, "/readyz").await, (200, "ready\n".into()));
        state.health.watch_failed(
            "Listener",
            "httproutes.gateway.networking.k8s.io is forbidden",
            Instant::now(),
        );
        assert_eq!(
            get(address, "/readyz").await,
            (
                503,
                "watch failing\nwatch Listener: httproutes.gateway.networking.k8s.io is forbidden\n"
                    .into()
            )
        );
        state.health.set_shutting_down();
        assert_eq!(
            get(address, "/readyz").await,
            (503, "shutting down\n".into())
        );
        assert_eq!(
            get(address, "/healthz").await.0,
            200,
            "alive while shutting down"
        );
        assert_eq!(
            get(address, "/metrics").await.0,
            404,
            "metrics are on their own address"
        );
        server.abort();
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_openmetrics_text_format() {
        let state = Arc::new(Observability::default());
        state.reconciled("EcsService", Duration::from_millis(12), None);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(serve(listener, metrics_routes(state.clone())));

        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response
                .to_ascii_lowercase()
                .contains(&format!("content-type: {CONTENT_TYPE}")),
            "{response}"
        );
        assert!(
            response.contains("ecsplane_reconciles_total{kind=\"EcsService\"} 1\n"),
            "{response}"
        );
        assert!(response.ends_with("# EOF\n"), "{response}");
        server.abort();
    }

    #[tokio::test]
    async fn healthz_turns_503_naming_the_reconcile_that_is_stuck() {
        let state = Arc::new(Observability::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(serve(listener, health_routes(state.clone())));
        let long_ago = Instant::now()
            .checked_sub(super::super::health::STUCK_AFTER + Duration::from_secs(1))
            .expect("the clock runs long enough");
        let ticket = state.health.started("EcsService", long_ago);
        let (status, body) = get(address, "/healthz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("EcsService"), "{body}");
        state.health.finished(ticket);
        assert_eq!(get(address, "/healthz").await, (200, "ok\n".into()));
        server.abort();
    }
}
