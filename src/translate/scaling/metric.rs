//! Which Kubernetes metrics API a CloudWatch alarm's metric is read from under the operator.
//!
//! The mapping, as docs/operator.md (Metrics of step scaling alarms) lists it:
//! - `AWS/ECS` `CPUUtilization` and `MemoryUtilization` (dimensions `ClusterName`,
//!   `ServiceName`): the resource metrics API (`metrics.k8s.io`, metrics-server), the service's
//!   pods' usage over what they reserve, in percent, as ECS divides its tasks' usage by the
//!   task size;
//! - the other `AWS/ECS` metrics (`CPUReservation`, `MemoryReservation`, `GPUReservation`, …)
//!   and Container Insights (`ECS/ContainerInsights`): not mapped; they describe the cluster's
//!   instances or need Container Insights' own pipeline, which Kubernetes has no counterpart
//!   of;
//! - a metric of another AWS namespace (`AWS/SQS`, `AWS/ApplicationELB`, …): the external
//!   metrics API (`external.metrics.k8s.io`), named [`metric_name`] of `NAMESPACE_METRICNAME`,
//!   the dimensions as the label selector (names as [`metric_name`], values kept when they are
//!   valid label values); an adapter (KEDA, the CloudWatch metrics adapter) must serve it; the
//!   values of the series served are summed into one sample;
//! - a metric of a custom namespace (what the application publishes itself): the custom
//!   metrics API (`custom.metrics.k8s.io`), the same name, as a metric of the service's pods
//!   (prometheus-adapter serves those); every pod's value is one sample of the period, as every
//!   task's published value is on CloudWatch, so the alarm's statistic applies across them.
//!   When the custom metrics API is not served, the external metrics API is asked under the
//!   same name (a CloudWatch adapter serves custom namespaces too).

use std::collections::BTreeMap;

use crate::api::MetricAlarm;
use crate::translate::autoscaling::{label_ok, metric_name};

/// Where an alarm's metric is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSource {
    /// The service's pods' usage of `cpu` or `memory` over their reservation, in percent,
    /// from the resource metrics API.
    Utilization(&'static str),
    /// A metric of the service's pods from the custom metrics API, else the external metrics
    /// API under the same name and labels.
    Pods {
        /// The metric's name.
        metric: String,
        /// Labels selecting the series, from the alarm's dimensions.
        selector: BTreeMap<String, String>,
    },
    /// A metric from the external metrics API.
    External {
        /// The metric's name.
        metric: String,
        /// Labels selecting the series, from the alarm's dimensions.
        selector: BTreeMap<String, String>,
    },
    /// No Kubernetes metric stands for it: why.
    Unmapped(String),
}

/// The dimensions ECS's own metrics carry: they name the service the policy scales, which
/// the pods' labels already select, so they are no selector.
const SERVICE_DIMENSIONS: [&str; 2] = ["ClusterName", "ServiceName"];

impl MetricSource {
    /// Where `alarm`'s metric is read from.
    pub fn of(alarm: &MetricAlarm) -> Self {
        let (ns, name) = (alarm.namespace.as_str(), alarm.metric_name.as_str());
        match (ns, name) {
            ("AWS/ECS", "CPUUtilization") => return MetricSource::Utilization("cpu"),
            ("AWS/ECS", "MemoryUtilization") => return MetricSource::Utilization("memory"),
            ("AWS/ECS", _) => {
                return MetricSource::Unmapped(format!(
                    "AWS/ECS {name} is not mapped: only CPUUtilization and MemoryUtilization of a service have Kubernetes counterparts (the resource metrics API); the cluster reservation metrics describe EC2 container instances"
                ));
            }
            ("ECS/ContainerInsights", _) => {
                return MetricSource::Unmapped(format!(
                    "ECS/ContainerInsights {name} is not mapped: Container Insights metrics come from its own agent; alarm on AWS/ECS CPUUtilization or MemoryUtilization, or publish the metric to an adapter under a custom namespace"
                ));
            }
            _ => {}
        }
        let metric = metric_name(&format!("{ns}_{name}"));
        let selector: BTreeMap<String, String> = alarm
            .dimensions
            .iter()
            .flatten()
            .filter(|d| !SERVICE_DIMENSIONS.contains(&d.name.as_str()) || ns.starts_with("AWS/"))
            .filter(|d| label_ok(&d.value))
            .map(|d| (metric_name(&d.name), d.value.clone()))
            .collect();
        if ns.starts_with("AWS/") {
            MetricSource::External { metric, selector }
        } else {
            MetricSource::Pods { metric, selector }
        }
    }

    /// The API the metric is read from, as its group names it (`None` when not mapped).
    pub fn api(&self) -> Option<&'static str> {
        match self {
            MetricSource::Utilization(_) => Some("metrics.k8s.io"),
            MetricSource::Pods { .. } => Some("custom.metrics.k8s.io"),
            MetricSource::External { .. } => Some("external.metrics.k8s.io"),
            MetricSource::Unmapped(_) => None,
        }
    }

    /// The selector as a label selector query value (`a=b,c=d`).
    pub fn selector(&self) -> String {
        match self {
            MetricSource::Pods { selector, .. } | MetricSource::External { selector, .. } => {
                selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            }
            _ => String::new(),
        }
    }

    /// One line on where the metric comes from, for reports and docs.
    pub fn describe(&self, alarm: &MetricAlarm) -> String {
        let shown = format!("{} {}", alarm.namespace, alarm.metric_name);
        match self {
            MetricSource::Utilization(r) => format!(
                "{shown} is the service's pods' {r} usage over their reservation, from the resource metrics API (metrics.k8s.io, metrics-server)"
            ),
            MetricSource::Pods { metric, .. } => format!(
                "{shown} is the pods metric {metric} of the custom metrics API (custom.metrics.k8s.io), else the external metric {metric}; an adapter must serve it"
            ),
            MetricSource::External { metric, .. } => format!(
                "{shown} is the external metric {metric} (external.metrics.k8s.io); an adapter (KEDA, the CloudWatch metrics adapter) must serve it"
            ),
            MetricSource::Unmapped(why) => why.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MetricDimension;

    fn alarm(ns: &str, name: &str, dims: &[(&str, &str)]) -> MetricAlarm {
        MetricAlarm {
            alarm_name: "a".into(),
            namespace: ns.into(),
            metric_name: name.into(),
            dimensions: Some(
                dims.iter()
                    .map(|(n, v)| MetricDimension {
                        name: (*n).into(),
                        value: (*v).into(),
                    })
                    .collect(),
            ),
            ..MetricAlarm::default()
        }
    }

    #[test]
    fn ecs_cpu_and_memory_utilization_come_from_the_resource_metrics_api() {
        let dims = [("ClusterName", "prod"), ("ServiceName", "web")];
        assert_eq!(
            MetricSource::of(&alarm("AWS/ECS", "CPUUtilization", &dims)),
            MetricSource::Utilization("cpu")
        );
        assert_eq!(
            MetricSource::of(&alarm("AWS/ECS", "MemoryUtilization", &dims)),
            MetricSource::Utilization("memory")
        );
        assert_eq!(
            MetricSource::Utilization("cpu").api(),
            Some("metrics.k8s.io")
        );
    }

    #[test]
    fn other_ecs_and_container_insights_metrics_are_not_mapped() {
        for (ns, m) in [
            ("AWS/ECS", "CPUReservation"),
            ("AWS/ECS", "MemoryReservation"),
            ("ECS/ContainerInsights", "RunningTaskCount"),
        ] {
            let s = MetricSource::of(&alarm(ns, m, &[]));
            assert!(
                matches!(&s, MetricSource::Unmapped(why) if why.contains(m)),
                "{s:?}"
            );
            assert_eq!(s.api(), None);
        }
    }

    #[test]
    fn another_aws_namespace_is_an_external_metric_selected_by_its_dimensions() {
        let s = MetricSource::of(&alarm(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            &[("QueueName", "jobs"), ("Bad", "not a label")],
        ));
        assert_eq!(
            s,
            MetricSource::External {
                metric: "aws_sqs_approximatenumberofmessagesvisible".into(),
                selector: [("queuename".to_owned(), "jobs".to_owned())].into(),
            }
        );
        assert_eq!(s.selector(), "queuename=jobs");
        assert_eq!(s.api(), Some("external.metrics.k8s.io"));
    }

    #[test]
    fn a_custom_namespace_is_a_pods_metric_without_the_service_dimensions() {
        let s = MetricSource::of(&alarm(
            "MyApp",
            "QueueDepth",
            &[("ServiceName", "web"), ("Queue", "jobs")],
        ));
        assert_eq!(
            s,
            MetricSource::Pods {
                metric: "myapp_queuedepth".into(),
                selector: [("queue".to_owned(), "jobs".to_owned())].into(),
            }
        );
        assert_eq!(s.api(), Some("custom.metrics.k8s.io"));
    }
}
