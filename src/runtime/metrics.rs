//! The operator's Prometheus metrics, exposed on `/metrics`.
//!
//! Every name is prefixed `ecsplane_`; labels are low-cardinality: the kind of the reconciled
//! object and, for errors, its [`ErrorCategory`].

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::requests::RequestCounts;
use crate::controller::ErrorCategory;

/// The `Content-Type` of [`Metrics::encode`]'s output (the OpenMetrics text format, which
/// Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the reconcile duration buckets: from 5 ms (an idle reconcile that
/// writes nothing) to 30 s (a reconcile stuck on a slow API server).
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

/// The kinds of the API, which the controllers reconcile. Their series exist from the start
/// at zero, so that `rate()` and alerts see them before the first reconcile.
pub const KINDS: [&str; 7] = [
    "TaskDefinition",
    "EcsService",
    "TargetGroup",
    "Listener",
    "EcsTask",
    "EcsScheduledTask",
    "EcsCluster",
];

const CATEGORIES: [ErrorCategory; 7] = [
    ErrorCategory::Invalid,
    ErrorCategory::Reference,
    ErrorCategory::Api,
    ErrorCategory::Throttled,
    ErrorCategory::Forbidden,
    ErrorCategory::Rejected,
    ErrorCategory::Conflict,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    kind: &'static str,
    category: &'static str,
}

/// The operator's metrics and the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<KindLabels, Histogram, fn() -> Histogram>,
    queue_depth: Family<KindLabels, Gauge>,
    watch_restarts: Family<KindLabels, Counter>,
    watch_failing: Family<KindLabels, Gauge>,
    leader: Gauge,
    requests: RequestCounts,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ecsplane");
        let reconciles = Family::<KindLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles finished, successful or not, by kind",
            reconciles.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed or were blocked, by kind and category (invalid, reference, api, throttled, forbidden, rejected, conflict)",
            errors.clone(),
        );
        let duration: Family<KindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register(
            "reconcile_duration_seconds",
            "Time a reconcile took, by kind",
            duration.clone(),
        );
        let queue_depth = Family::<KindLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Objects being reconciled or waiting for a retry after an API failure, by kind",
            queue_depth.clone(),
        );
        let watch_restarts = Family::<KindLabels, Counter>::default();
        registry.register(
            "watch_restarts",
            "Watches of a controller that failed or expired and were restarted, by the controller's kind",
            watch_restarts.clone(),
        );
        let watch_failing = Family::<KindLabels, Gauge>::default();
        registry.register(
            "watch_failing",
            "1 while a watch of the controller of this kind is failing (/readyz is 503), else 0",
            watch_failing.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this process holds the leader lease and runs the controllers, else 0",
            leader.clone(),
        );
        let requests = RequestCounts::default();
        registry.register(
            "kube_requests",
            "Requests this process sent to the API server, by verb (read: GET or LIST, watch, create, update, patch, delete)",
            requests.family.clone(),
        );
        requests.register_all();
        for kind in KINDS {
            let labels = KindLabels { kind };
            let _series = reconciles.get_or_create_owned(&labels);
            let _series = duration.get_or_create_owned(&labels);
            let _series = queue_depth.get_or_create_owned(&labels);
            let _series = watch_restarts.get_or_create_owned(&labels);
            let _series = watch_failing.get_or_create_owned(&labels);
            for category in CATEGORIES {
                let _series = errors.get_or_create_owned(&ErrorLabels {
                    kind,
                    category: category.as_str(),
                });
            }
        }
        Metrics {
            registry,
            reconciles,
            errors,
            duration,
            queue_depth,
            watch_restarts,
            watch_failing,
            leader,
            requests,
        }
    }

    /// The counters of this process's requests to the API server, for the client's
    /// [`super::requests::CountLayer`].
    pub fn requests(&self) -> &RequestCounts {
        &self.requests
    }

    /// Counts a blocked reconcile (or any failure not already counted by
    /// [`Metrics::reconciled`]) in its category.
    pub fn failed(&self, kind: &'static str, category: ErrorCategory) {
        self.errors
            .get_or_create(&ErrorLabels {
                kind,
                category: category.as_str(),
            })
            .inc();
    }

    /// Counts one restarted watch of the controller of `kind`.
    pub fn watch_restarted(&self, kind: &'static str) {
        self.watch_restarts
            .get_or_create(&KindLabels { kind })
            .inc();
    }

    /// Sets `ecsplane_watch_failing`: 1 for the kinds in `failing`, 0 for every other.
    pub fn set_watches_failing(&self, failing: &[&'static str]) {
        for kind in KINDS {
            self.watch_failing
                .get_or_create(&KindLabels { kind })
                .set(i64::from(failing.contains(&kind)));
        }
        for kind in failing.iter().filter(|k| !KINDS.contains(k)) {
            self.watch_failing
                .get_or_create(&KindLabels { kind })
                .set(1);
        }
    }

    /// Records one finished reconcile.
    pub fn reconciled(&self, kind: &'static str, elapsed: Duration, error: Option<ErrorCategory>) {
        let labels = KindLabels { kind };
        self.reconciles.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if let Some(category) = error {
            self.errors
                .get_or_create(&ErrorLabels {
                    kind,
                    category: category.as_str(),
                })
                .inc();
        }
    }

    /// Sets the number of objects of `kind` waiting to be reconciled.
    pub fn queue_depth(&self, kind: &'static str, depth: i64) {
        self.queue_depth
            .get_or_create(&KindLabels { kind })
            .set(depth);
    }

    /// Sets whether this process is the leader.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The exposition of every metric in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn the_known_kinds_are_exactly_the_kinds_of_the_crds() {
        let mut crd_kinds: Vec<String> = crate::api::crds()
            .into_iter()
            .map(|crd| crd.spec.names.kind)
            .collect();
        let mut known: Vec<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
        crd_kinds.sort();
        known.sort();
        assert_eq!(known, crd_kinds);
    }

    #[test]
    fn a_fresh_registry_has_every_series_at_zero() {
        let text = Metrics::new().encode();
        for line in [
            r#"ecsplane_reconciles_total{kind="EcsCluster"} 0"#,
            r#"ecsplane_reconcile_errors_total{kind="TargetGroup",category="api"} 0"#,
            r#"ecsplane_reconcile_duration_seconds_count{kind="Listener"} 0"#,
            r#"ecsplane_queue_depth{kind="EcsTask"} 0"#,
            "# TYPE ecsplane_reconciles counter",
            "# TYPE ecsplane_reconcile_errors counter",
            "# TYPE ecsplane_reconcile_duration_seconds histogram",
            "# TYPE ecsplane_queue_depth gauge",
            "# TYPE ecsplane_leader gauge",
            "# TYPE ecsplane_watch_restarts counter",
            "# TYPE ecsplane_watch_failing gauge",
            r#"ecsplane_watch_restarts_total{kind="Listener"} 0"#,
            r#"ecsplane_watch_failing{kind="Listener"} 0"#,
            r#"ecsplane_reconcile_errors_total{kind="EcsService",category="throttled"} 0"#,
            "ecsplane_leader 0",
            "# EOF",
        ] {
            assert!(lines(&text).contains(&line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn reconciles_count_by_kind_and_errors_by_kind_and_category() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis(20);
        metrics.reconciled("EcsService", ms, None);
        metrics.reconciled("EcsService", ms, Some(ErrorCategory::Reference));
        metrics.reconciled("EcsService", ms, Some(ErrorCategory::Reference));
        metrics.reconciled("TaskDefinition", ms, Some(ErrorCategory::Invalid));
        let text = metrics.encode();
        let lines = lines(&text);
        for line in [
            r#"ecsplane_reconciles_total{kind="EcsService"} 3"#,
            r#"ecsplane_reconciles_total{kind="TaskDefinition"} 1"#,
            r#"ecsplane_reconcile_errors_total{kind="EcsService",category="reference"} 2"#,
            r#"ecsplane_reconcile_errors_total{kind="TaskDefinition",category="invalid"} 1"#,
        ] {
            assert!(lines.contains(&line), "missing {line:?} in\n{text}");
        }
        assert!(
            lines.contains(
                &r#"ecsplane_reconcile_errors_total{kind="EcsService",category="invalid"} 0"#
            ),
            "a category that never happened stays at zero:\n{text}"
        );
    }

    #[test]
    fn reconcile_durations_fall_into_cumulative_buckets_by_kind() {
        let metrics = Metrics::new();
        metrics.reconciled("Listener", Duration::from_millis(3), None);
        metrics.reconciled("Listener", Duration::from_millis(300), None);
        metrics.reconciled("Listener", Duration::from_secs(60), None);
        let text = metrics.encode();
        let lines = lines(&text);
        for line in [
            r#"ecsplane_reconcile_duration_seconds_count{kind="Listener"} 3"#,
            r#"ecsplane_reconcile_duration_seconds_bucket{le="0.005",kind="Listener"} 1"#,
            r#"ecsplane_reconcile_duration_seconds_bucket{le="0.25",kind="Listener"} 1"#,
            r#"ecsplane_reconcile_duration_seconds_bucket{le="0.5",kind="Listener"} 2"#,
            r#"ecsplane_reconcile_duration_seconds_bucket{le="30.0",kind="Listener"} 2"#,
            r#"ecsplane_reconcile_duration_seconds_bucket{le="+Inf",kind="Listener"} 3"#,
        ] {
            assert!(lines.contains(&line), "missing {line:?} in\n{text}");
        }
        let sum = lines
            .iter()
            .find_map(|l| {
                l.strip_prefix(r#"ecsplane_reconcile_duration_seconds_sum{kind="Listener"} "#)
            })
            .expect("a sum line");
        let sum: f64 = sum.parse().expect("a number");
        assert!((sum - 60.303).abs() < 1e-9, "sum {sum}");
    }

    #[test]
    fn queue_depth_is_the_last_value_reported_per_kind_and_leader_follows_the_lease() {
        let metrics = Metrics::new();
        metrics.queue_depth("EcsTask", 7);
        metrics.queue_depth("EcsTask", 2);
        metrics.queue_depth("EcsCluster", 0);
        metrics.set_leader(true);
        let text = metrics.encode();
        let lines = lines(&text);
        for line in [
            r#"ecsplane_queue_depth{kind="EcsTask"} 2"#,
            r#"ecsplane_queue_depth{kind="EcsCluster"} 0"#,
            "ecsplane_leader 1",
        ] {
            assert!(lines.contains(&line), "missing {line:?} in\n{text}");
        }
        metrics.set_leader(false);
        assert!(lines_of(&metrics).contains(&"ecsplane_leader 0".to_owned()));
    }

    fn lines_of(metrics: &Metrics) -> Vec<String> {
        metrics.encode().lines().map(str::to_owned).collect()
    }

    #[test]
    fn watch_restarts_count_by_kind_and_failing_watches_follow_the_last_report() {
        let metrics = Metrics::new();
        metrics.watch_restarted("Listener");
        metrics.watch_restarted("Listener");
        metrics.set_watches_failing(&["Listener"]);
        metrics.failed("EcsService", ErrorCategory::Reference);
        let text = lines_of(&metrics);
        for line in [
            r#"ecsplane_watch_restarts_total{kind="Listener"} 2"#,
            r#"ecsplane_watch_failing{kind="Listener"} 1"#,
            r#"ecsplane_watch_failing{kind="EcsService"} 0"#,
            r#"ecsplane_reconcile_errors_total{kind="EcsService",category="reference"} 1"#,
        ] {
            assert!(text.contains(&line.to_owned()), "missing {line:?}");
        }
        metrics.set_watches_failing(&[]);
        assert!(
            lines_of(&metrics).contains(&r#"ecsplane_watch_failing{kind="Listener"} 0"#.to_owned())
        );
    }
}
