//! ECS rolling-update bounds as Kubernetes absolute integers.
//!
//! ECS keeps at least `ceil(d·minimumHealthyPercent/100)` healthy tasks and at most
//! `floor(d·maximumPercent/100)` tasks in total during a deployment of `d` desired tasks. So
//! `maxUnavailable = d − ceil(d·min/100)` and `maxSurge = floor(d·max/100) − d`, written as
//! integers: a Kubernetes percentage for maxSurge rounds *up* where ECS rounds down
//! (d = 3, max = 150: ECS allows 1 extra task, `maxSurge: 50%` allows 2).
//!
//! Also the rest of a service's rollout: ECS's deploymentConfiguration defaults (100/200 %
//! for REPLICA, 0/100 % for DAEMON, [`percents`]), the rules of a DAEMON service's DaemonSet
//! ([`daemon_update_strategy`]), a REPLICA service's Deployment strategy
//! ([`deployment_strategy`], with [`autoscaled_bounds`] when an autoscaler sets the count),
//! the 40 s ECS waits for a task without health check ([`min_ready_seconds`]), and the
//! findings on the deploymentConfiguration fields Kubernetes has no rollout setting for.

use k8s_openapi::api::apps::v1::{
    DaemonSetUpdateStrategy, DeploymentStrategy, RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::report::{ObjectRef, Report};
use crate::api::DeploymentConfiguration;

/// The ECS message when the bounds leave the scheduler unable to stop or start any task.
pub const STUCK_MESSAGE: &str = "was unable to stop or start tasks during a deployment because of the \
     service deployment configuration. Update the minimumHealthyPercent or maximumPercent value \
     and try again.";

/// Rolling bounds for `desired` tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Pods that may be unavailable during the update.
    pub max_unavailable: i32,
    /// Pods that may exist above the desired count during the update.
    pub max_surge: i32,
}

/// Why bounds cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// Neither a task may stop nor one may start: ECS's deployment would never progress.
    #[error(
        "minimumHealthyPercent {min} and maximumPercent {max} with {desired} desired tasks allow \
         ECS neither to stop a task (maxUnavailable 0) nor to start one (maxSurge 0): the service \
         {STUCK_MESSAGE}"
    )]
    Stuck {
        /// minimumHealthyPercent.
        min: i32,
        /// maximumPercent.
        max: i32,
        /// desired tasks.
        desired: i32,
    },
}

/// `d − ceil(d·min/100)`, never negative.
pub fn max_unavailable(desired: i32, min_healthy_percent: i32) -> i32 {
    let d = i64::from(desired.max(0));
    let min_healthy = (d * i64::from(min_healthy_percent.max(0)) + 99) / 100;
    (d - min_healthy).max(0) as i32
}

/// `floor(d·max/100) − d`, never negative.
pub fn max_surge(desired: i32, maximum_percent: i32) -> i32 {
    let d = i64::from(desired.max(0));
    let max_total = d * i64::from(maximum_percent.max(0)) / 100;
    (max_total - d).max(0) as i32
}

/// The bounds ECS applies for `desired` tasks, or [`RolloutError::Stuck`] when they allow no
/// progress. With zero desired tasks there is nothing to roll, so no error.
pub fn bounds(
    desired: i32,
    min_healthy_percent: i32,
    maximum_percent: i32,
) -> Result<Bounds, RolloutError> {
    let b = Bounds {
        max_unavailable: max_unavailable(desired, min_healthy_percent),
        max_surge: max_surge(desired, maximum_percent),
    };
    if b.max_unavailable == 0 && b.max_surge == 0 && desired > 0 {
        return Err(RolloutError::Stuck {
            min: min_healthy_percent,
            max: maximum_percent,
            desired,
        });
    }
    Ok(b)
}

/// minimumHealthyPercent and maximumPercent of a service's deployments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percents {
    /// minimumHealthyPercent.
    pub minimum_healthy: i32,
    /// maximumPercent.
    pub maximum: i32,
}

/// The percents of a service's deploymentConfiguration with ECS's defaults: 100 and 200 for a
/// REPLICA service, 0 and 100 for a DAEMON service. Reports the configuration's other fields.
pub fn percents(
    dc: Option<&DeploymentConfiguration>,
    daemon: bool,
    obj: &ObjectRef,
    report: &mut Report,
) -> Percents {
    let default = DeploymentConfiguration::default();
    let dc = dc.unwrap_or(&default);
    report_deployment_configuration(dc, obj, report);
    let (min_default, max_default) = if daemon { (0, 100) } else { (100, 200) };
    Percents {
        minimum_healthy: dc.minimum_healthy_percent.unwrap_or(min_default),
        maximum: dc.maximum_percent.unwrap_or(max_default),
    }
}

/// The deploymentConfiguration fields besides the percents: the circuit breaker (the
/// operator's), and alarms, strategies and hooks Kubernetes rollouts do not have.
fn report_deployment_configuration(
    dc: &DeploymentConfiguration,
    obj: &ObjectRef,
    report: &mut Report,
) {
    let DeploymentConfiguration {
        minimum_healthy_percent: _, // rollout bounds
        maximum_percent: _,
        deployment_circuit_breaker,
        alarms,
        strategy,
        bake_time_in_minutes,
        lifecycle_hooks,
        canary_configuration,
        linear_configuration,
    } = dc;
    if deployment_circuit_breaker
        .as_ref()
        .is_some_and(|c| c.enable)
    {
        report.approximated(obj, "spec.deploymentConfiguration.deploymentCircuitBreaker", "the operator counts a deployment's failed tasks (an essential container exited, which includes a failing container health check) against ECS's threshold (half the desired count, 3 to 200), then marks it FAILED and, with rollback, returns the service to the newest earlier deployment that did not fail; load-balancer health checks do not count (a Kubernetes readiness failure stops no task), and without rollback Kubernetes keeps replacing the failed tasks where ECS stops launching them");
    }
    if alarms.as_ref().is_some_and(|a| a.enable) {
        report.not_carried(
            obj,
            "spec.deploymentConfiguration.alarms",
            "CloudWatch alarms do not gate Kubernetes rollouts",
        );
    }
    if let Some(s) = strategy
        && s != "ROLLING"
    {
        report.approximated(
            obj,
            "spec.deploymentConfiguration.strategy",
            format!("{s} deployments become rolling updates"),
        );
    }
    if bake_time_in_minutes.is_some()
        || lifecycle_hooks.is_some()
        || canary_configuration.is_some()
        || linear_configuration.is_some()
    {
        report.not_carried(
            obj,
            "spec.deploymentConfiguration",
            "bake time, lifecycle hooks and canary/linear traffic shifting are not translated",
        );
    }
}

/// minReadySeconds: without a container health check or a load balancer ECS counts a task
/// healthy 40 s after it starts.
pub fn min_ready_seconds(
    has_health_check: bool,
    has_load_balancer: bool,
    obj: &ObjectRef,
    report: &mut Report,
) -> Option<i32> {
    if has_health_check || has_load_balancer {
        return None;
    }
    report.note(obj, "spec.deploymentConfiguration", "without a health check or load balancer ECS counts a task healthy 40 s after it starts: minReadySeconds 40");
    Some(40)
}

/// The update strategy of a DAEMON service's DaemonSet, and the rules of a daemon: it runs
/// one task per node (no desiredCount) and surges no pod; one that may stop no task is
/// updated on delete.
pub fn daemon_update_strategy(
    desired_count: Option<i32>,
    p: Percents,
    obj: &ObjectRef,
    report: &mut Report,
) -> DaemonSetUpdateStrategy {
    let Percents {
        minimum_healthy: min_pct,
        maximum: max_pct,
    } = p;
    if desired_count.is_some() {
        report.not_carried(
            obj,
            "spec.desiredCount",
            "a DAEMON service runs one task per matching node; desiredCount does not apply",
        );
    }
    if max_pct > 100 {
        report.approximated(obj, "spec.deploymentConfiguration.maximumPercent", "a DaemonSet surges at most one pod per node at a time; maxSurge is 0 as for an ECS daemon");
    }
    if min_pct >= 100 {
        report.approximated(obj, "spec.deploymentConfiguration", format!("minimumHealthyPercent {min_pct} and maximumPercent {max_pct} allow a daemon service neither to stop nor to start a task: ECS registers it, runs a task on every node and, at every later deployment, says the service {STUCK_MESSAGE} The DaemonSet gets updateStrategy OnDelete, the closest to it: a changed template replaces no running pod, and nodes added later run the new template; a pod deleted by hand comes back with the new template, where ECS starts no task of the stuck deployment. Under the operator the service shows Progressing=False, reason DeploymentConfigurationStuck, with ECS's message and a Warning Event"));
        return DaemonSetUpdateStrategy {
            type_: Some("OnDelete".into()),
            rolling_update: None,
        };
    }
    if min_pct > 0 {
        report.approximated(obj, "spec.deploymentConfiguration.minimumHealthyPercent", format!("the node count is not known in advance, so maxUnavailable is {}%: Kubernetes rounds it up where ECS rounds down", 100 - min_pct));
    }
    DaemonSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDaemonSet {
            max_unavailable: Some(IntOrString::String(format!("{}%", 100 - min_pct))),
            max_surge: Some(IntOrString::Int(0)),
        }),
    }
}

/// A REPLICA service's desired count: desiredCount, else 1 as CloudFormation assumes.
pub fn desired_count(desired_count: Option<i32>, obj: &ObjectRef, report: &mut Report) -> i32 {
    if desired_count.is_none() {
        report.note(obj, "spec.desiredCount", "not set: 1 task, as CloudFormation assumes (the ECS API requires it for REPLICA services)");
    }
    desired_count.unwrap_or(1)
}

/// The bounds of a REPLICA service for `desired` tasks.
///
/// ECS registers a configuration that lets a deployment neither stop nor start a task (100/100
/// with 2 tasks, 95/105 with 10, 100/150 with 1) and only reports, once a deployment has to
/// replace tasks, that it [`STUCK_MESSAGE`]. Kubernetes refuses maxSurge 0 with
/// maxUnavailable 0, so such a service gets [`STUCK_SUBSTITUTE`]: its first rollout (from no
/// pods) starts every task as ECS does, and the report says exactly what differs later. The
/// operator holds any later rollout instead (it pauses the Deployment, the closest to ECS).
pub fn replica_bounds(desired: i32, p: Percents, obj: &ObjectRef, report: &mut Report) -> Bounds {
    match bounds(desired, p.minimum_healthy, p.maximum) {
        Ok(b) => b,
        Err(e) => {
            report.approximated(obj, "spec.deploymentConfiguration", format!("{e} ECS registers the service, starts its {desired} tasks and shows that event at every later deployment, which never progresses: the old tasks keep running. Kubernetes refuses maxSurge 0 with maxUnavailable 0, so the Deployment gets maxSurge 1 and maxUnavailable 0: its first rollout starts the {desired} pods as ECS does, but applying a changed template later replaces the pods one at a time with one pod above maximumPercent (ECS: nothing changes). The operator instead pauses the Deployment once it runs, so a changed template is not rolled out (it shows Progressing=False, reason DeploymentConfigurationStuck, with ECS's message and a Warning Event) while scaling still applies, as on ECS"));
            STUCK_SUBSTITUTE
        }
    }
}

/// The bounds a Deployment gets when ECS's would let no task stop or start: one pod above the
/// desired count, none below it (closer to ECS's minimumHealthyPercent, which keeps the tasks
/// serving, than one pod below it).
pub const STUCK_SUBSTITUTE: Bounds = Bounds {
    max_unavailable: 0,
    max_surge: 1,
};

/// Whether a service's deploymentConfiguration lets no deployment of `desired` tasks (a
/// REPLICA service) or of a daemon progress: ECS's "unable to stop or start tasks".
pub fn is_stuck(p: Percents, daemon: bool, desired: i32) -> bool {
    if daemon {
        p.minimum_healthy >= 100
    } else {
        bounds(desired, p.minimum_healthy, p.maximum).is_err()
    }
}

/// Pods draining through a preStop hook are not counted against maxSurge (a Deployment counts
/// only pods that are not terminating; Kubernetes 1.36 has no field to change that), while
/// ECS counts STOPPING tasks against maximumPercent.
pub fn report_draining_pods(obj: &ObjectRef, drain_seconds: i64, report: &mut Report) {
    report.approximated(obj, "spec.deploymentConfiguration.maximumPercent", format!("pods draining through the preStop sleep ({drain_seconds} s) do not count against maxSurge: the Deployment starts their replacements at once, so during a rollout the draining pods come on top of the desired count plus maxSurge, where ECS counts STOPPING tasks against maximumPercent and waits for them"));
}

/// The rolling bounds of an autoscaled service whose current count `count` differs from
/// desiredCount (the autoscaler changed it, or desiredCount lies outside [min, max]): ECS
/// computes the bounds from the service's current desired count, so they are those of
/// `count`, unless they would leave a rollout stuck; then they stay those of desiredCount
/// (`from_desired`), and the report says so.
pub fn autoscaled_bounds(
    obj: &ObjectRef,
    from_desired: Bounds,
    desired: i32,
    count: i32,
    p: Percents,
    report: &mut Report,
) -> Bounds {
    let field = "spec.deploymentConfiguration";
    match bounds(count, p.minimum_healthy, p.maximum) {
        Ok(b) => {
            report.note(obj, field, format!("rolling bounds are computed for the service's current count {count}, as ECS computes them from the service's current desired count"));
            b
        }
        Err(e) => {
            report.approximated(obj, field, format!("for the service's current count {count} these bounds would leave a rollout stuck ({e}); they stay as computed for desiredCount {desired}"));
            from_desired
        }
    }
}

/// The RollingUpdate strategy of a Deployment with bounds `b` for `desired` tasks.
pub fn deployment_strategy(b: Bounds, desired: i32) -> DeploymentStrategy {
    let (max_unavailable, max_surge) = if desired == 0 && b.max_unavailable == 0 && b.max_surge == 0
    {
        // Nothing runs; Kubernetes refuses two zero bounds, so allow one unavailable.
        (1, 0)
    } else {
        (b.max_unavailable, b.max_surge)
    };
    DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_unavailable: Some(IntOrString::Int(max_unavailable)),
            max_surge: Some(IntOrString::Int(max_surge)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_worked_examples_of_the_ecs_documentation_hold() {
        // d=4, min 50 → two tasks may stop first.
        assert_eq!(max_unavailable(4, 50), 2);
        // d=2, min 75 → ceil(1.5) = 2 must stay healthy: none may stop.
        assert_eq!(max_unavailable(2, 75), 0);
        // d=3, max 125 → floor(3.75) = 3: none may start.
        assert_eq!(max_surge(3, 125), 0);
        // d=3, max 150 → floor(4.5) = 4: one may start (a 50% maxSurge would allow two).
        assert_eq!(max_surge(3, 150), 1);
    }

    #[test]
    fn replica_defaults_surge_a_full_copy_without_stopping_any() {
        assert_eq!(
            bounds(3, 100, 200),
            Ok(Bounds {
                max_unavailable: 0,
                max_surge: 3
            })
        );
    }

    fn report() -> (ObjectRef, Report) {
        (ObjectRef::new("EcsService", None, "web"), Report::default())
    }

    /// ECS registers every one of these and only says so when a deployment cannot progress.
    #[test]
    fn configurations_ecs_accepts_but_cannot_deploy_get_one_surge_pod_and_a_report() {
        for (desired, min, max) in [(2, 100, 100), (10, 95, 105), (1, 100, 150)] {
            let (obj, mut report) = report();
            let p = Percents {
                minimum_healthy: min,
                maximum: max,
            };
            assert!(is_stuck(p, false, desired));
            assert_eq!(
                replica_bounds(desired, p, &obj, &mut report),
                STUCK_SUBSTITUTE
            );
            let strategy = deployment_strategy(STUCK_SUBSTITUTE, desired);
            let ru = strategy.rolling_update.unwrap();
            assert_eq!(ru.max_surge, Some(IntOrString::Int(1)));
            assert_eq!(ru.max_unavailable, Some(IntOrString::Int(0)));
            let f = &report.findings[0];
            assert_eq!(f.field, "spec.deploymentConfiguration");
            assert!(f.message.contains(STUCK_MESSAGE), "{}", f.message);
            assert!(f.message.contains("pauses the Deployment"), "{}", f.message);
        }
    }

    #[test]
    fn a_daemon_that_may_stop_no_task_is_updated_on_delete() {
        let (obj, mut report) = report();
        let p = Percents {
            minimum_healthy: 100,
            maximum: 200,
        };
        assert!(is_stuck(p, true, 0));
        let s = daemon_update_strategy(None, p, &obj, &mut report);
        assert_eq!(s.type_.as_deref(), Some("OnDelete"));
        assert!(s.rolling_update.is_none());
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.message.contains(STUCK_MESSAGE))
        );
    }

    #[test]
    fn configurations_that_can_progress_are_not_stuck() {
        let p = Percents {
            minimum_healthy: 100,
            maximum: 200,
        };
        assert!(!is_stuck(p, false, 2));
        let (obj, mut report) = report();
        assert_eq!(
            replica_bounds(2, p, &obj, &mut report),
            Bounds {
                max_unavailable: 0,
                max_surge: 2
            }
        );
        assert!(report.findings.is_empty());
        assert!(!is_stuck(
            Percents {
                minimum_healthy: 50,
                maximum: 100
            },
            true,
            0
        ));
    }

    #[test]
    fn bounds_that_allow_no_progress_carry_the_ecs_message() {
        let err = bounds(3, 100, 125).unwrap_err();
        assert!(
            err.to_string()
                .contains("Update the minimumHealthyPercent or maximumPercent")
        );
    }

    #[test]
    fn zero_desired_tasks_never_count_as_stuck() {
        assert_eq!(
            bounds(0, 100, 100),
            Ok(Bounds {
                max_unavailable: 0,
                max_surge: 0
            })
        );
    }

    proptest! {
        #[test]
        fn bounds_follow_the_ecs_formulas(d in 0i32..=10_000, min in 0i32..=100, max in 100i32..=400) {
            let mu = max_unavailable(d, min);
            let ms = max_surge(d, max);
            let min_healthy = (f64::from(d) * f64::from(min) / 100.0).ceil() as i32;
            let max_total = (f64::from(d) * f64::from(max) / 100.0).floor() as i32;
            prop_assert_eq!(mu, d - min_healthy);
            prop_assert_eq!(ms, max_total - d);
            prop_assert!(mu >= 0 && mu <= d);
            prop_assert!(ms >= 0);
        }

        #[test]
        fn only_configurations_that_block_both_directions_are_refused(d in 1i32..=1000, min in 0i32..=100, max in 100i32..=400) {
            let result = bounds(d, min, max);
            let stuck = max_unavailable(d, min) == 0 && max_surge(d, max) == 0;
            prop_assert_eq!(result.is_err(), stuck);
        }
    }
}
