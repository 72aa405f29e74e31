//! `healthCheck` → readiness, liveness and startup probes (exec actions with ECS's defaults).

use k8s_openapi::api::core::v1::{Container, ExecAction, Probe};

use super::{At, Context, Role, Workload};
use crate::api::{DependencyCondition, HealthCheck};
use crate::translate::report::Report;

fn seconds(n: Option<i32>, default: i32) -> i32 {
    n.unwrap_or(default)
}

/// The exec action of an ECS health check (`CMD-SHELL` through the platform's shell).
fn exec_action(hc: &HealthCheck, windows: bool) -> ExecAction {
    let mut args = hc.command.iter().skip(1).cloned();
    let command = if hc.command.first().map(String::as_str) == Some("CMD-SHELL") {
        let script = args.collect::<Vec<_>>().join(" ");
        if windows {
            vec!["cmd".into(), "/S".into(), "/C".into(), script]
        } else {
            vec!["/bin/sh".into(), "-c".into(), script]
        }
    } else {
        args.by_ref().collect()
    };
    ExecAction {
        command: Some(command),
    }
}

/// The probe ECS's health check stands for: period = interval, timeout, failures = retries.
pub fn health_probe(hc: &HealthCheck, windows: bool) -> Probe {
    Probe {
        exec: Some(exec_action(hc, windows)),
        period_seconds: Some(seconds(hc.interval, 30)),
        timeout_seconds: Some(seconds(hc.timeout, 5)),
        failure_threshold: Some(seconds(hc.retries, 3)),
        success_threshold: Some(1),
        ..Probe::default()
    }
}

/// The startup probe for `startPeriod`: failures during the start period do not count, so the
/// budget is `ceil(startPeriod / interval) + retries` checks.
pub fn startup_probe(hc: &HealthCheck, windows: bool) -> Probe {
    let interval = seconds(hc.interval, 30);
    let start = seconds(hc.start_period, 0);
    Probe {
        failure_threshold: Some((start + interval - 1) / interval + seconds(hc.retries, 3)),
        ..health_probe(hc, windows)
    }
}

/// A container's `healthCheck` → its probes, by its role: none for an init container or an
/// ignored non-essential container; readiness (and under a service, liveness) for an essential
/// one; a startup probe for a start period or a HEALTHY dependency.
pub(super) fn health_check(
    ctx: &Context<'_>,
    at: At<'_>,
    hc: &HealthCheck,
    role: Role,
    essential: bool,
    k: &mut Container,
    report: &mut Report,
) {
    let healthy_dependency = ctx.containers.iter().any(|o| {
        o.depends_on.iter().flatten().any(|d| {
            d.container_name == at.container && d.condition == DependencyCondition::Healthy
        })
    });
    match role {
        Role::Init => report.not_carried(at.obj, at.field("healthCheck"), "this container runs to completion as an init container, where Kubernetes allows no probes"),
        Role::Sidecar if !essential && !healthy_dependency => report.not_carried(at.obj, at.field("healthCheck"), "ECS ignores the health of non-essential containers, so no probe is set"),
        _ => {
            if essential {
                k.readiness_probe = Some(health_probe(hc, ctx.windows));
                if ctx.workload == Workload::Service {
                    k.liveness_probe = Some(health_probe(hc, ctx.windows));
                    report.approximated(at.obj, at.field("healthCheck"), "becomes readiness and liveness probes: ECS replaces an unhealthy task, Kubernetes restarts the unhealthy container in place");
                }
            }
            if hc.start_period.is_some_and(|s| s > 0) || healthy_dependency {
                k.startup_probe = Some(startup_probe(hc, ctx.windows));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render, yaml};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn health_checks_become_exec_probes_with_ecs_defaults() {
        let (spec, _) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1", "healthCheck": {"command": ["CMD", "/health", "-q"], "startPeriod": 60}}]}));
        let probe = json!({"exec": {"command": ["/health", "-q"]}, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3, "successThreshold": 1});
        let c = &yaml(&spec)["containers"][0];
        assert_eq!(c["readinessProbe"], probe);
        assert_eq!(c["livenessProbe"], probe);
        assert_eq!(c["startupProbe"]["failureThreshold"], json!(5));
    }
}
