//! Step and scheduled scaling under the operator's scaler, on real CPU metrics
//! (metrics-server reading kwok's emulated usage): counts as ECS would set them, asserted from
//! the EcsService and its events, never from the clock.

use std::time::Duration;

use ecsplane::api::{EcsService, EcsServiceStatus};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::operator::{CONVERGE, Operator, apply_all, condition, eventually, test_namespace};

fn task_definition(family: &str, usage: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {"family": family, "containerDefinitions": [{
            "name": "app", "image": "public.ecr.aws/docker/library/busybox:1.36",
            "command": ["sleep", "infinity"], "cpu": 1024, "memory": 256,
            "dockerLabels": {"kwok.x-k8s.io/usage-cpu": usage},
        }]}
    })
}

fn service(name: &str, auto_scaling: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService",
        "metadata": {"name": name},
        "spec": {"taskDefinition": name, "desiredCount": 1,
                 "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
                 "autoScaling": auto_scaling},
    })
}

fn cpu_alarm(name: &str, op: &str, threshold: f64) -> serde_json::Value {
    json!({"alarmName": name, "namespace": "AWS/ECS", "metricName": "CPUUtilization",
           "dimensions": [{"name": "ServiceName", "value": "busy"}],
           "statistic": "Average", "period": 10, "evaluationPeriods": 2,
           "threshold": threshold, "comparisonOperator": op})
}

fn status(s: &EcsService) -> EcsServiceStatus {
    s.status.clone().unwrap_or_default()
}

/// Waits until the service wants and runs `count` tasks and is Ready.
async fn settles_at(services: &Api<EcsService>, name: &str, count: i32, what: &str) -> EcsService {
    eventually(what, CONVERGE + CONVERGE, || {
        let services = services.clone();
        let name = name.to_owned();
        async move {
            let s = services.get(&name).await.map_err(|e| e.to_string())?;
            let st = status(&s);
            let ready = condition(&st.common.conditions, "Ready");
            if s.spec.desired_count == Some(count)
                && st.running_count == Some(count)
                && ready.starts_with("True")
            {
                Ok(s)
            } else {
                Err(format!(
                    "desiredCount {:?}, running {:?}, Ready {ready}, autoScaling {:?}",
                    s.spec.desired_count, st.running_count, st.auto_scaling
                ))
            }
        }
    })
    .await
}

fn events(s: &EcsService) -> Vec<String> {
    status(s).events.into_iter().map(|e| e.message).collect()
}

/// Two step policies between 1 and 5 tasks, each with a 600 s cooldown: `out` adds 1 task
/// from 70 % to 85 % CPU and 2 from 85 % up (alarm: average ≥ 70 % for 2 of 2 periods of
/// 10 s); `in` removes 1 below 30 %. At 90 % (900m of a 1024-unit task) 1 task becomes 3
/// (20 points above the threshold: the second step); inside the cooldown, still at 90 %,
/// nothing more happens; at 5 % it steps down to 2, and stays there inside its cooldown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_scaling_steps_by_the_breach_size_holds_in_the_cooldown_and_steps_down_below_the_low_alarm()
 {
    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "scale-step").await;
    apply_all(
        &client,
        &ns,
        &[
            task_definition("busy", "900m"),
            service(
                "busy",
                json!({"minCapacity": 1, "maxCapacity": 5, "scalingPolicies": [
                    {"policyName": "out", "policyType": "StepScaling",
                     "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity", "cooldown": 600,
                        "stepAdjustments": [
                            {"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 15, "scalingAdjustment": 1},
                            {"metricIntervalLowerBound": 15, "scalingAdjustment": 2}]},
                     "alarms": [cpu_alarm("cpu-high", "GreaterThanOrEqualToThreshold", 70.0)]},
                    {"policyName": "in", "policyType": "StepScaling",
                     "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity", "cooldown": 600,
                        "stepAdjustments": [{"metricIntervalUpperBound": 0, "scalingAdjustment": -1}]},
                     "alarms": [cpu_alarm("cpu-low", "LessThanThreshold", 30.0)]}]}),
            ),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);

    let s = settles_at(&services, "busy", 3, "90 % CPU steps 1 task up by 2, to 3").await;
    assert!(
        events(&s)
            .iter()
            .any(|m| m
                == "Successfully set desired count to 3. Change successfully fulfilled by ecs."),
        "{:?}",
        events(&s)
    );
    let scale_managers: Vec<String> = s
        .managed_fields()
        .iter()
        .filter(|m| m.subresource.as_deref() == Some("scale"))
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        scale_managers.iter().any(|m| m == "ecsplane-autoscaler"),
        "{scale_managers:?}"
    );

    // Still 90 %, for many more alarm periods: the cooldown holds the count at 3.
    tokio::time::sleep(Duration::from_secs(40)).await;
    let s = services.get("busy").await.unwrap();
    assert_eq!(
        s.spec.desired_count,
        Some(3),
        "{:?}",
        status(&s).auto_scaling
    );
    let high = status(&s)
        .auto_scaling
        .and_then(|a| a.policies.into_iter().find(|p| p.policy_name == "out"))
        .expect("the out policy's status");
    assert_eq!(high.alarms[0].state, "ALARM", "{:?}", high.alarms);
    assert_eq!((high.capacity_before, high.adjusted_to), (Some(1), Some(3)));

    // Usage drops to 5 %: below the low alarm, one task less.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    for p in pods
        .list(&ListParams::default().labels("ecsplane.io/service=busy"))
        .await
        .unwrap()
        .items
    {
        pods.patch(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"kwok.x-k8s.io/usage-cpu": "50m"}}})),
        )
        .await
        .unwrap();
    }
    let s = settles_at(&services, "busy", 2, "5 % CPU steps down by 1, to 2").await;
    assert!(
        events(&s)
            .iter()
            .any(|m| m
                == "Successfully set desired count to 2. Change successfully fulfilled by ecs."),
        "{:?}",
        events(&s)
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        services.get("busy").await.unwrap().spec.desired_count,
        Some(2),
        "inside the scale-in cooldown"
    );
    op.stop().await;
}

/// An `at()` 20 s ahead raises minCapacity from 1 to 3: the service scales out to 3 and the
/// effective bounds show in status; a `rate(1 minute)` starting 10 s ahead runs again a
/// minute later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_at_schedule_raises_min_capacity_and_the_service_scales_and_a_rate_repeats() {
    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "scale-sched").await;
    let now = Timestamp::now();
    let at = now
        .checked_add(SignedDuration::from_secs(20))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let start = now
        .checked_add(SignedDuration::from_secs(10))
        .unwrap()
        .to_string();
    apply_all(
        &client,
        &ns,
        &[
            task_definition("idle", "10m"),
            service(
                "idle",
                json!({"minCapacity": 1, "maxCapacity": 5, "scheduledActions": [
                    {"scheduledActionName": "opening", "schedule": format!("at({at})"),
                     "scalableTargetAction": {"minCapacity": 3}},
                    {"scheduledActionName": "every-minute", "schedule": "rate(1 minute)",
                     "startTime": start, "scalableTargetAction": {"maxCapacity": 4}}]}),
            ),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);

    let s = settles_at(
        &services,
        "idle",
        3,
        "at() raises min capacity to 3 and the service scales out",
    )
    .await;
    let a = status(&s).auto_scaling.expect("status.autoScaling");
    assert_eq!(a.min_capacity, Some(3), "{a:?}");
    assert!(
        events(&s)
            .iter()
            .any(|m| m
                == "Successfully set desired count to 3. Change successfully fulfilled by ecs."),
        "{:?}",
        events(&s)
    );

    let last_run = |s: &EcsService| {
        status(s)
            .auto_scaling
            .and_then(|a| {
                a.scheduled_actions
                    .into_iter()
                    .find(|x| x.scheduled_action_name == "every-minute")
            })
            .and_then(|x| x.last_run)
    };
    let first = eventually("the rate() runs", CONVERGE, || {
        let services = services.clone();
        async move {
            let s = services.get("idle").await.map_err(|e| e.to_string())?;
            last_run(&s).ok_or_else(|| format!("{:?}", status(&s).auto_scaling))
        }
    })
    .await;
    let second = eventually("the rate() runs again", CONVERGE, || {
        let (services, first) = (services.clone(), first.clone());
        async move {
            let s = services.get("idle").await.map_err(|e| e.to_string())?;
            match last_run(&s) {
                Some(t) if t != first => Ok(t),
                other => Err(format!("last run {other:?}")),
            }
        }
    })
    .await;
    assert_eq!(
        second.0.as_second() - first.0.as_second(),
        60,
        "rate(1 minute) runs a minute apart (its schedule, not a measured time)"
    );
    let s = services.get("idle").await.unwrap();
    let a = status(&s).auto_scaling.expect("status.autoScaling");
    assert_eq!((a.min_capacity, a.max_capacity), (Some(3), Some(4)));
    op.stop().await;
}

/// Issue 17 (scheduled scaling with target tracking): a CPU target-tracking policy (min 1,
/// max 5) and an `at()` 15 s ahead raising min capacity to 3. Before it runs the HPA's
/// bounds are the spec's, 1 to 5; after, the HPA's minReplicas is the scheduled 3 (its
/// maxReplicas stays 5) and the service runs 3 tasks, as AAS keeps the count within the
/// scalable target's new bounds. Cost: one service of up to 3 kwok pods, about 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_min_capacity_reaches_the_hpa_of_a_target_tracking_service_and_it_scales() {
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "scale-hpa-sched").await;
    let at = Timestamp::now()
        .checked_add(SignedDuration::from_secs(15))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    apply_all(
        &client,
        &ns,
        &[
            task_definition("tracked", "100m"),
            service(
                "tracked",
                json!({"minCapacity": 1, "maxCapacity": 5,
                    "scalingPolicies": [{"policyName": "cpu50", "policyType": "TargetTrackingScaling",
                        "targetTrackingScalingPolicyConfiguration": {"targetValue": 50,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}],
                    "scheduledActions": [{"scheduledActionName": "opening", "schedule": format!("at({at})"),
                        "scalableTargetAction": {"minCapacity": 3}}]}),
            ),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
    let bounds = |h: &HorizontalPodAutoscaler| (h.spec.min_replicas, h.spec.max_replicas);
    let before = eventually("the HPA, with the spec's bounds", CONVERGE, || {
        let hpas = hpas.clone();
        async move {
            let h = hpas.get("tracked").await.map_err(|e| e.to_string())?;
            Ok::<_, String>(bounds(&h))
        }
    })
    .await;
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let ran = |s: &EcsService| {
        status(s)
            .auto_scaling
            .and_then(|a| a.scheduled_actions.into_iter().next())
            .and_then(|x| x.last_run)
            .is_some()
    };
    if !ran(&services.get("tracked").await.unwrap()) {
        assert_eq!(before, (Some(1), 5), "before the at() runs");
    }
    let after = eventually("the HPA's minReplicas follows the at()", CONVERGE, || {
        let hpas = hpas.clone();
        async move {
            let h = hpas.get("tracked").await.map_err(|e| e.to_string())?;
            match bounds(&h) {
                (Some(3), max) => Ok(max),
                other => Err(format!("minReplicas, maxReplicas {other:?}")),
            }
        }
    })
    .await;
    assert_eq!(after, 5, "maxReplicas stays the spec's");
    let s = settles_at(
        &services,
        "tracked",
        3,
        "min capacity 3 scales the service to 3",
    )
    .await;
    let a = status(&s).auto_scaling.expect("status.autoScaling");
    assert_eq!((a.min_capacity, a.max_capacity), (Some(3), Some(5)));
    op.stop().await;
}

/// Issue 17 (custom and external metrics): a step policy whose alarm is on an SQS queue
/// (read from the external metrics API) and one on an application metric (the custom metrics
/// API, else the external one), in a cluster with no metrics adapter. Each alarm says so in
/// status.autoScaling and stays INSUFFICIENT_DATA; one Warning Event names both, published
/// once, not every tick, and the count is left alone. Cost: one service of one
/// kwok pod, about 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_on_metrics_no_adapter_serves_say_so_in_status_and_in_one_event() {
    use k8s_openapi::api::events::v1::Event;

    let client = crate::harness::client().await;
    crate::harness::install_crds(&client).await;
    let (ns, _cleanup) = test_namespace(&client, "scale-nometrics").await;
    let alarm = |name: &str, namespace: &str, metric: &str| {
        json!({"alarmName": name, "namespace": namespace, "metricName": metric,
               "dimensions": [{"name": "QueueName", "value": "jobs"}],
               "statistic": "Average", "period": 10, "evaluationPeriods": 1,
               "threshold": 100.0, "comparisonOperator": "GreaterThanThreshold"})
    };
    apply_all(
        &client,
        &ns,
        &[
            task_definition("worker", "10m"),
            service(
                "worker",
                json!({"minCapacity": 1, "maxCapacity": 5, "scalingPolicies": [
                    {"policyName": "backlog", "policyType": "StepScaling",
                     "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity",
                        "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]},
                     "alarms": [alarm("queue-deep", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
                                alarm("app-busy", "MyApp", "QueueDepth")]}]}),
            ),
        ],
    )
    .await;
    let op = Operator::start(&client, &ns);
    let services: Api<EcsService> = Api::namespaced(client.clone(), &ns);
    let reasons = eventually(
        "both alarms say their metric is not served",
        CONVERGE,
        || {
            let services = services.clone();
            async move {
                let s = services.get("worker").await.map_err(|e| e.to_string())?;
                let alarms = status(&s)
                    .auto_scaling
                    .and_then(|a| a.policies.into_iter().next())
                    .map(|p| p.alarms)
                    .unwrap_or_default();
                let said: Vec<(String, String, String)> = alarms
                    .into_iter()
                    .filter(|a| {
                        a.reason
                            .as_deref()
                            .is_some_and(|r| r.contains("no metrics adapter is installed"))
                    })
                    .map(|a| (a.alarm_name, a.state, a.reason.unwrap_or_default()))
                    .collect();
                if said.len() == 2 {
                    Ok(said)
                } else {
                    Err(format!("{said:?}"))
                }
            }
        },
    )
    .await;
    for (name, state, reason) in &reasons {
        assert_eq!(state, "INSUFFICIENT_DATA", "{name}: {reason}");
        let api = if name == "queue-deep" {
            "external.metrics.k8s.io"
        } else {
            "custom.metrics.k8s.io"
        };
        assert!(reason.contains(api), "{name}: {reason}");
    }
    // Many ticks (5 s each) later: still one Event per alarm, never a series.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let warnings: Vec<Event> = events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("MetricUnavailable"))
        .collect();
    assert_eq!(warnings.len(), 1, "one Warning Event: {warnings:?}");
    let w = &warnings[0];
    assert_eq!(w.type_.as_deref(), Some("Warning"));
    assert!(w.series.is_none(), "published once: {:?}", w.series);
    let note = w.note.as_deref().unwrap_or_default();
    for name in ["queue-deep", "app-busy"] {
        assert!(
            note.contains(&format!("Alarm {name} of policy backlog")),
            "{note}"
        );
    }
    let s = services.get("worker").await.unwrap();
    assert_eq!(s.spec.desired_count, Some(1), "no datapoint, no scaling");
    op.stop().await;
}
