//! EcsService → Deployment (REPLICA) or DaemonSet (DAEMON), its ServiceAccount and its HPA.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
    DeploymentStrategy, RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, Lifecycle, LifecycleHandler, PodSpec, PodTemplateSpec, SleepAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::autoscaling::{self, HpaInput};
use super::bundle::Sourced;
use super::identity;
use super::model::{Index, common_labels, label_value};
use super::names;
use super::placement::{self, Where};
use super::pod::{self, PodTemplate, Workload};
use super::report::{ObjectRef, Report};
use super::rollout;
use super::target_group::{self, Registration};
use super::{Object, Refusal, units};
use crate::api::{
    DeploymentConfiguration, DeploymentControllerType, EcsService, EcsServiceSpec,
    SchedulingStrategy, TaskDefinition,
};

/// What one service produces.
pub struct ServiceOutput {
    /// ServiceAccount, workload, HPA.
    pub objects: Vec<Object>,
    /// Target group registrations of its pods.
    pub registrations: Vec<Registration>,
    /// `(namespace, name)` of the task definition used.
    pub task_definition: (Option<String>, Option<String>),
}

type TdKey = (Option<String>, Option<String>);

/// The ObjectRef of a service for findings.
pub fn object_ref(s: &EcsService) -> ObjectRef {
    ObjectRef::new(
        "EcsService",
        s.metadata.namespace.as_deref(),
        s.metadata.name.as_deref().unwrap_or_default(),
    )
}

fn find_container<'a>(spec: &'a mut PodSpec, name: &str) -> Option<&'a mut Container> {
    let PodSpec {
        containers,
        init_containers,
        ..
    } = spec;
    containers
        .iter_mut()
        .chain(init_containers.iter_mut().flatten())
        .find(|c| c.name == name)
}

/// The rolling bounds of an autoscaled service. ECS computes them from the service's current
/// desired count, which the autoscaler changes: given the count the autoscaler has set
/// (`autoscaled_count`, which the operator reads from the live Deployment), they are computed
/// from it; without it (offline render, or before the Deployment exists) they stay those of
/// desiredCount, and the report says so.
fn autoscaled_bounds(
    obj: &ObjectRef,
    from_desired: rollout::Bounds,
    desired: i32,
    autoscaled_count: Option<i32>,
    (min_pct, max_pct): (i32, i32),
    report: &mut Report,
) -> rollout::Bounds {
    let field = "spec.deploymentConfiguration";
    let Some(count) = autoscaled_count else {
        report.approximated(obj, field, format!("rolling bounds are computed for desiredCount {desired}; ECS recomputes them whenever the autoscaler changes the count, as the operator does from the live count, but a rendered Deployment keeps these"));
        return from_desired;
    };
    match rollout::bounds(count, min_pct, max_pct) {
        Ok(b) => {
            report.note(obj, field, format!("rolling bounds are computed for the autoscaler's current count {count}, as ECS computes them from the service's current desired count"));
            b
        }
        Err(e) => {
            report.approximated(obj, field, format!("for the autoscaler's current count {count} these bounds would leave a rollout stuck ({e}); they stay as computed for desiredCount {desired}"));
            from_desired
        }
    }
}

/// Translates one EcsService. On refusal returns the task definition it used (so it is not
/// translated again on its own) and every refusal.
pub fn translate_service(
    index: &Index<'_>,
    s: &Sourced<EcsService>,
    autoscaled_count: Option<i32>,
    report: &mut Report,
) -> Result<ServiceOutput, (Vec<TdKey>, Vec<Refusal>)> {
    let svc = &s.object;
    let obj = object_ref(svc);
    let name = svc.metadata.name.clone().unwrap_or_default();
    let ns = svc.metadata.namespace.as_deref();
    let EcsServiceSpec {
        cluster,
        service_name,
        task_definition,
        desired_count,
        launch_type,
        capacity_provider_strategy,
        platform_version,
        deployment_configuration,
        deployment_controller,
        load_balancers,
        placement_constraints,
        placement_strategy,
        scheduling_strategy,
        health_check_grace_period_seconds,
        service_registries,
        network_configuration,
        enable_execute_command,
        enable_ecs_managed_tags,
        propagate_tags,
        tags,
        role,
        service_connect_configuration,
        volume_configurations,
        vpc_lattice_configurations,
        availability_zone_rebalancing,
        client_token: _, // an idempotency token; nothing to carry
        auto_scaling,
        // Read-only describe-services output, accepted and ignored (clusterArn is used as the
        // cluster when `cluster` is not set).
        service_arn: _,
        cluster_arn,
        status: _,
        running_count: _,
        pending_count: _,
        deployments: _,
        events: _,
        task_sets: _,
        created_at: _,
        created_by: _,
        role_arn: _,
        platform_family: _,
    } = &svc.spec;
    let mut refusals = Vec::new();

    let referrer = format!("EcsService {name}");
    let (td_sourced, note) = match index.task_definition(ns, task_definition, &referrer) {
        Ok(r) => r,
        Err(r) => return Err((vec![], vec![r])),
    };
    let td: &TaskDefinition = &td_sourced.object;
    let td_key = (td.metadata.namespace.clone(), td.metadata.name.clone());
    if let Some(n) = note {
        report.note(&obj, "spec.taskDefinition", n);
    }
    let mut template = match pod::pod_template(td, Workload::Service, report) {
        Ok(t) => t,
        Err(r) => {
            let td_obj = pod::object_ref(td);
            // Report the task definition's refusals on the service: the service cannot run.
            return Err((
                vec![td_key],
                r.into_iter()
                    .map(|x| Refusal {
                        message: format!("{} (in {td_obj}, {})", x.message, td_sourced.origin),
                        ..x
                    })
                    .collect(),
            ));
        }
    };

    let daemon = scheduling_strategy == &Some(SchedulingStrategy::Daemon);
    let selector = names::service_selector(&name);
    let mut labels = common_labels();
    labels.extend(selector.clone());
    let mut pod_labels = labels.clone();
    pod_labels.insert(names::LABEL_FAMILY.to_owned(), label_value(&td.spec.family));

    // Load balancers: references, registration labels, readiness probes, drain.
    let mut registrations = Vec::new();
    let mut has_lb = false;
    let mut drain: BTreeMap<String, i64> = BTreeMap::new();
    let mut readiness_by: BTreeMap<String, String> = BTreeMap::new();
    for (i, lb) in load_balancers.iter().flatten().enumerate() {
        let field = format!("spec.loadBalancers[{i}]");
        let Some(arn) = &lb.target_group_arn else {
            report.not_carried(
                &obj,
                format!("{field}.loadBalancerName"),
                "Classic Load Balancers are not translated; use a target group",
            );
            continue;
        };
        if lb.advanced_configuration.is_some() {
            report.not_carried(&obj, format!("{field}.advancedConfiguration"), "blue/green alternate target groups and test listeners are not translated; deployments are rolling");
        }
        let tg_name = names::target_group_of_arn(arn);
        let Some(container) = td
            .spec
            .container_definitions
            .iter()
            .find(|c| c.name == lb.container_name)
        else {
            refusals.push(Refusal::reference(
                format!("{field}.containerName"),
                format!(
                    "container {:?} is not in task definition {} (containers: {})",
                    lb.container_name,
                    pod::task_definition_id(td),
                    td.spec
                        .container_definitions
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        };
        if !container
            .port_mappings
            .iter()
            .flatten()
            .any(|p| p.container_port == Some(lb.container_port))
        {
            refusals.push(Refusal::reference(
                format!("{field}.containerPort"),
                format!(
                    "container {:?} of task definition {} has no portMapping with containerPort {}",
                    lb.container_name,
                    pod::task_definition_id(td),
                    lb.container_port
                ),
            ));
            continue;
        }
        let Some(tg) = index.target_group(ns, tg_name) else {
            if !index.was_invalid("TargetGroup", ns, tg_name) {
                refusals.push(Refusal::reference(
                    format!("{field}.targetGroupArn"),
                    format!(
                        "target group {tg_name:?} is not in the input; pass its TargetGroup too"
                    ),
                ));
            }
            continue;
        };
        has_lb = true;
        pod_labels.insert(names::target_group_label(tg_name), "true".into());
        registrations.push(Registration {
            namespace: ns.map(str::to_owned),
            target_group: tg_name.to_owned(),
            service: name.clone(),
            container_port: lb.container_port,
        });
        let k8s_container = template.container_names[&lb.container_name].clone();
        let delay = target_group::deregistration_delay(&tg.object);
        let d = drain.entry(k8s_container.clone()).or_insert(0);
        *d = (*d).max(delay);
        if let Some(probe) =
            target_group::readiness_probe(&tg.object, lb.container_port, &obj, report)
        {
            if let Some(first) = readiness_by.get(&k8s_container) {
                report.not_carried(&obj, format!("{field}.targetGroupArn"), format!("container {:?} already takes its readiness from target group {first:?}; a container has one readiness probe, so the health check of {tg_name:?} is not carried", lb.container_name));
            } else if let Some(c) = find_container(&mut template.spec, &k8s_container) {
                if c.readiness_probe.is_some() {
                    report.approximated(&obj, format!("{field}.targetGroupArn"), format!("container {:?} has a container health check and target group {tg_name:?}: readiness follows the target group's check, the container health check stays as the liveness probe", lb.container_name));
                }
                if c.restart_policy.as_deref() == Some("Always") {
                    report.approximated(&obj, format!("{field}.targetGroupArn"), format!("container {:?} is a native sidecar: its readiness probe (from target group {tg_name:?}) gates the readiness of the whole pod, so the pod leaves every target group's Service while it fails", lb.container_name));
                }
                c.readiness_probe = Some(probe);
                readiness_by.insert(k8s_container.clone(), tg_name.to_owned());
            }
        }
    }
    // Deregistration delay → preStop sleep and grace period (endpoints are removed while the
    // container keeps serving, then SIGTERM and stopTimeout as in ECS).
    if let Some(max_delay) = drain.values().copied().max().filter(|d| *d > 0) {
        for (container, delay) in &drain {
            if *delay > 0
                && let Some(c) = find_container(&mut template.spec, container)
            {
                c.lifecycle = Some(Lifecycle {
                    pre_stop: Some(LifecycleHandler {
                        sleep: Some(SleepAction { seconds: *delay }),
                        ..LifecycleHandler::default()
                    }),
                    ..Lifecycle::default()
                });
            }
        }
        template.spec.termination_grace_period_seconds = Some(max_delay + template.stop_timeout);
        report.approximated(&obj, "spec.loadBalancers", format!("the target group's deregistration delay ({max_delay} s) becomes a preStop sleep and a grace period of delay + stopTimeout ({} s); unlike ALB draining it does not end early when no request is in flight", max_delay + template.stop_timeout));
    }

    // Placement and capacity.
    let cluster_ref = cluster.as_deref().or(cluster_arn.as_deref());
    let placed = placement::place_pods(
        index,
        &mut template.spec,
        Where {
            object: &obj,
            is_service: !daemon,
            cluster: cluster_ref,
            launch_type: launch_type.as_ref(),
            capacity_provider_strategy: capacity_provider_strategy.as_deref(),
            strategies: placement_strategy.as_deref(),
            constraints: placement_constraints.as_deref(),
            task_definition: td,
            selector: &selector,
        },
        report,
    );
    if let Err(r) = placed {
        refusals.extend(r);
    }

    // Other fields.
    if let Some(sn) = service_name
        && dns_ok(sn) != name
    {
        report.note(
            &obj,
            "spec.serviceName",
            format!("the workload is named after metadata.name {name:?}, not serviceName {sn:?}"),
        );
    }
    if platform_version.is_some() {
        report.not_carried(
            &obj,
            "spec.platformVersion",
            "the Fargate platform version only means something inside AWS",
        );
    }
    if let Some(c) = deployment_controller {
        match c.type_ {
            DeploymentControllerType::Ecs => {}
            DeploymentControllerType::CodeDeploy => report.approximated(&obj, "spec.deploymentController", "CodeDeploy blue/green becomes a rolling update"),
            DeploymentControllerType::External => refusals.push(Refusal::new("spec.deploymentController", "an EXTERNAL deployment controller manages task sets itself; ecsplane cannot stand in for it")),
        }
    }
    if let Some(grace) = health_check_grace_period_seconds {
        let has_load_balancer = load_balancers.as_ref().is_some_and(|l| !l.is_empty());
        grace_period(&mut template.spec, *grace, &obj, has_load_balancer, report);
    }
    if service_registries.as_ref().is_some_and(|r| !r.is_empty()) {
        report.not_carried(&obj, "spec.serviceRegistries", "Cloud Map registration is not translated; use the target group's Service or a Service of your own for discovery");
    }
    if let Some(n) = network_configuration {
        report.not_carried(&obj, "spec.networkConfiguration", "subnets and security groups only mean something inside AWS (security groups for pods need the VPC CNI's SecurityGroupPolicy)");
        if n.awsvpc_configuration
            .as_ref()
            .and_then(|a| a.assign_public_ip)
            == Some(crate::api::AssignPublicIp::Enabled)
        {
            report.not_carried(
                &obj,
                "spec.networkConfiguration.awsvpcConfiguration.assignPublicIp",
                "pods get no public IP; expose them through a load balancer",
            );
        }
    }
    if enable_execute_command == &Some(true) {
        report.approximated(
            &obj,
            "spec.enableExecuteCommand",
            "ECS Exec becomes kubectl exec, governed by RBAC",
        );
    }
    if enable_ecs_managed_tags.is_some()
        || propagate_tags.is_some()
        || tags.as_ref().is_some_and(|t| !t.is_empty())
    {
        report.not_carried(&obj, "spec.tags", "AWS tags (managed, propagated or the service's own) have no effect on Kubernetes objects");
    }
    if role.is_some() {
        report.not_carried(
            &obj,
            "spec.role",
            "the legacy load balancer role is not needed on Kubernetes",
        );
    }
    if service_connect_configuration.is_some() {
        report.not_carried(&obj, "spec.serviceConnectConfiguration", "Service Connect is not translated; clients can use the target group's Service (cluster DNS) or a service mesh");
    }
    if volume_configurations.is_some() {
        report.not_carried(
            &obj,
            "spec.volumeConfigurations",
            "EBS volumes configured at launch are not translated",
        );
    }
    if vpc_lattice_configurations.is_some() {
        report.not_carried(
            &obj,
            "spec.vpcLatticeConfigurations",
            "VPC Lattice only means something inside AWS",
        );
    }
    if availability_zone_rebalancing.as_deref() == Some("ENABLED") {
        report.not_carried(
            &obj,
            "spec.availabilityZoneRebalancing",
            "Kubernetes does not move running pods to rebalance zones (the descheduler can)",
        );
    }

    // Pod template.
    let mut annotations = template.annotations.clone();
    annotations.insert(
        names::ANNOTATION_TASK_DEFINITION.to_owned(),
        pod::task_definition_id(td),
    );
    let mut objects = Vec::new();
    let service_account = identity::run_as_task_role(
        &mut template.spec,
        template.task_role_arn.as_deref(),
        &name,
        ns,
        &labels,
    );
    objects.extend(service_account.map(|sa| Object::ServiceAccount(Box::new(sa))));
    let has_health_check = td
        .spec
        .container_definitions
        .iter()
        .any(|c| c.essential.unwrap_or(true) && c.health_check.is_some());
    let PodTemplate { spec: pod_spec, .. } = template;
    let pod_template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec),
    };
    let meta = ObjectMeta {
        name: Some(name.clone()),
        namespace: ns.map(str::to_owned),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    };
    let label_selector = LabelSelector {
        match_labels: Some(selector.clone()),
        match_expressions: None,
    };
    let min_ready = (!has_health_check && !has_lb).then_some(40);
    if min_ready.is_some() {
        report.note(&obj, "spec.deploymentConfiguration", "without a health check or load balancer ECS counts a task healthy 40 s after it starts: minReadySeconds 40");
    }
    let dc = deployment_configuration.clone().unwrap_or_default();
    report_deployment_configuration(&dc, &obj, report);
    let (min_pct, max_pct) = if daemon {
        (
            dc.minimum_healthy_percent.unwrap_or(0),
            dc.maximum_percent.unwrap_or(100),
        )
    } else {
        (
            dc.minimum_healthy_percent.unwrap_or(100),
            dc.maximum_percent.unwrap_or(200),
        )
    };

    if daemon {
        if desired_count.is_some() {
            report.not_carried(
                &obj,
                "spec.desiredCount",
                "a DAEMON service runs one task per matching node; desiredCount does not apply",
            );
        }
        if max_pct > 100 {
            report.approximated(&obj, "spec.deploymentConfiguration.maximumPercent", "a DaemonSet surges at most one pod per node at a time; maxSurge is 0 as for an ECS daemon");
        }
        if min_pct >= 100 {
            refusals.push(Refusal::new("spec.deploymentConfiguration", format!("minimumHealthyPercent {min_pct} and maximumPercent {max_pct} allow a daemon service neither to stop nor to start a task: the service {}", rollout::STUCK_MESSAGE)));
        }
        if min_pct > 0 && min_pct < 100 {
            report.approximated(&obj, "spec.deploymentConfiguration.minimumHealthyPercent", format!("the node count is not known in advance, so maxUnavailable is {}%: Kubernetes rounds it up where ECS rounds down", 100 - min_pct));
        }
        if !refusals.is_empty() {
            return Err((vec![td_key], refusals));
        }
        objects.push(Object::DaemonSet(Box::new(DaemonSet {
            metadata: meta,
            spec: Some(DaemonSetSpec {
                selector: label_selector,
                template: pod_template,
                min_ready_seconds: min_ready,
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDaemonSet {
                        max_unavailable: Some(IntOrString::String(format!("{}%", 100 - min_pct))),
                        max_surge: Some(IntOrString::Int(0)),
                    }),
                }),
                ..DaemonSetSpec::default()
            }),
            status: None,
        })));
        if auto_scaling.is_some() {
            report.not_carried(
                &obj,
                "spec.autoScaling",
                "a DAEMON service cannot be auto scaled",
            );
        }
        return Ok(ServiceOutput {
            objects,
            registrations,
            task_definition: td_key,
        });
    }

    let desired = desired_count.unwrap_or(1);
    if desired_count.is_none() {
        report.note(&obj, "spec.desiredCount", "not set: 1 task, as CloudFormation assumes (the ECS API requires it for REPLICA services)");
    }
    let bounds = match rollout::bounds(desired, min_pct, max_pct) {
        Ok(b) => Some(b),
        Err(e) => {
            refusals.push(Refusal::new("spec.deploymentConfiguration", format!("{e}")));
            None
        }
    };
    let mut hpa = None;
    if let Some(a) = auto_scaling {
        let cpu_units = td
            .spec
            .cpu
            .as_ref()
            .and_then(units::task_cpu_units)
            .or_else(|| {
                let sum: u64 = td
                    .spec
                    .container_definitions
                    .iter()
                    .filter_map(|c| c.cpu)
                    .map(|c| c.max(0) as u64)
                    .sum();
                (sum > 0).then_some(sum)
            });
        let memory_mib = td
            .spec
            .memory
            .as_ref()
            .and_then(units::task_memory_mib)
            .or_else(|| {
                let sum: u64 = td
                    .spec
                    .container_definitions
                    .iter()
                    .filter_map(|c| c.memory.or(c.memory_reservation))
                    .map(|m| m.max(0) as u64)
                    .sum();
                (sum > 0).then_some(sum)
            });
        hpa = autoscaling::hpa(
            a,
            &HpaInput {
                object: &obj,
                name: &name,
                namespace: ns,
                labels: labels.clone(),
                cpu_units,
                memory_mib,
            },
            report,
        );
    }
    if !refusals.is_empty() {
        return Err((vec![td_key], refusals));
    }
    let mut b = bounds.expect("refused above when absent");
    if hpa.is_some() {
        b = autoscaled_bounds(
            &obj,
            b,
            desired,
            autoscaled_count,
            (min_pct, max_pct),
            report,
        );
    }
    let (max_unavailable, max_surge) = if desired == 0 && b.max_unavailable == 0 && b.max_surge == 0
    {
        // Nothing runs; Kubernetes refuses two zero bounds, so allow one unavailable.
        (1, 0)
    } else {
        (b.max_unavailable, b.max_surge)
    };
    objects.push(Object::Deployment(Box::new(Deployment {
        metadata: meta,
        spec: Some(DeploymentSpec {
            replicas: if hpa.is_some() { None } else { Some(desired) },
            selector: label_selector,
            template: pod_template,
            min_ready_seconds: min_ready,
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(max_unavailable)),
                    max_surge: Some(IntOrString::Int(max_surge)),
                }),
            }),
            ..DeploymentSpec::default()
        }),
        status: None,
    })));
    if let Some(h) = hpa {
        objects.push(Object::HorizontalPodAutoscaler(Box::new(h)));
    }
    Ok(ServiceOutput {
        objects,
        registrations,
        task_definition: td_key,
    })
}

/// `healthCheckGracePeriodSeconds`: ECS ignores failed container and load balancer health
/// checks for `grace` seconds after a task starts. Container health checks are the liveness
/// (and startup) probes of essential containers, which now tolerate failures for that long;
/// readiness is not delayed, as the ALB also routes only to healthy targets during the grace
/// period.
pub fn grace_period(
    spec: &mut PodSpec,
    grace: i32,
    obj: &ObjectRef,
    has_load_balancer: bool,
    report: &mut Report,
) {
    let field = "spec.healthCheckGracePeriodSeconds";
    let mut delayed = Vec::new();
    if grace > 0 {
        for c in spec.containers.iter_mut() {
            let Some(liveness) = c.liveness_probe.as_mut() else {
                continue;
            };
            liveness.initial_delay_seconds =
                Some(liveness.initial_delay_seconds.unwrap_or(0).max(grace));
            if let Some(startup) = c.startup_probe.as_mut() {
                // The startup probe runs first: its failure budget must outlast the grace too.
                let period = startup.period_seconds.unwrap_or(10).max(1);
                let retries = liveness.failure_threshold.unwrap_or(3);
                let budget = (grace + period - 1) / period + retries;
                startup.failure_threshold =
                    Some(startup.failure_threshold.unwrap_or(3).max(budget));
            }
            delayed.push(c.name.clone());
        }
    }
    if !delayed.is_empty() {
        report.approximated(obj, field, format!(
            "container health checks: the liveness probes of {} start after {grace} s (initialDelaySeconds), and a startup probe, where there is one, allows failures for as long, so no container is restarted during the grace period; ECS would replace the task after it, Kubernetes restarts the container in place. Readiness is not delayed (ECS's load balancer also routes only to healthy targets meanwhile)",
            delayed.join(", ")
        ));
    }
    if has_load_balancer {
        report.approximated(obj, field, "target group health checks: they become readiness probes, and readiness never replaces a pod, so the grace period has nothing to hold back there (ECS replaces a task that is still failing its target group check after the grace period; Kubernetes keeps it out of the Service until it passes)");
    }
    if delayed.is_empty() && !has_load_balancer {
        report.note(obj, field, "unused, as in ECS: the service has neither a load balancer nor a container health check");
    }
}

fn dns_ok(s: &str) -> String {
    names::dns_label(s)
}

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

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use crate::translate::report::Fidelity;
    use crate::translate::{Object, Options, Translation, translate_with};

    fn render(service_spec: &str) -> Translation {
        render_with(service_spec, &Options::default())
    }

    fn render_with(service_spec: &str, options: &Options) -> Translation {
        let text = format!(
            "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {{name: web}}\nspec:\n  family: web\n  containerDefinitions:\n  - name: app\n    image: nginx\n    cpu: 256\n    portMappings: [{{containerPort: 80}}]\n    healthCheck: {{command: [CMD, /bin/check], interval: 10, retries: 3, startPeriod: 20}}\n---\n\
             apiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {{name: web}}\nspec: {service_spec}\n"
        );
        let (bundle, errors) = crate::load::load_str("web.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        translate_with(&bundle, options).expect("translates")
    }

    /// (maxUnavailable, maxSurge) of the Deployment and the finding on the deployment
    /// configuration.
    fn rolling_bounds(t: &Translation) -> ((i32, i32), Option<(Fidelity, String)>) {
        let d = t
            .objects
            .iter()
            .find_map(|o| match o {
                Object::Deployment(d) => Some(d),
                _ => None,
            })
            .expect("a Deployment");
        let ru = d
            .spec
            .as_ref()
            .unwrap()
            .strategy
            .as_ref()
            .unwrap()
            .rolling_update
            .clone()
            .unwrap();
        let int = |v: Option<IntOrString>| match v {
            Some(IntOrString::Int(i)) => i,
            other => panic!("an absolute bound, not {other:?}"),
        };
        let finding = t
            .report
            .findings
            .iter()
            .find(|f| f.field == "spec.deploymentConfiguration")
            .map(|f| (f.fidelity, f.message.to_string()));
        ((int(ru.max_unavailable), int(ru.max_surge)), finding)
    }

    const AUTOSCALED: &str = "{taskDefinition: web, desiredCount: 2, \
        deploymentConfiguration: {minimumHealthyPercent: 100, maximumPercent: 150}, \
        autoScaling: {minCapacity: 1, maxCapacity: 10, scalingPolicies: [{policyName: cpu, \
        policyType: TargetTrackingScaling, targetTrackingScalingPolicyConfiguration: \
        {targetValue: 50, predefinedMetricSpecification: \
        {predefinedMetricType: ECSServiceAverageCPUUtilization}}}]}}";

    fn with_count(count: i32) -> Options {
        Options {
            autoscaled_counts: [((None, "web".to_owned()), count)].into(),
            ..Options::default()
        }
    }

    /// ECS computes the bounds from the current desired count, which the autoscaler sets:
    /// at 7 tasks and 100/150 %, none may stop and floor(10.5) − 7 = 3 may start.
    #[test]
    fn an_autoscaled_services_rolling_bounds_follow_the_autoscalers_count() {
        let ((unavailable, surge), finding) =
            rolling_bounds(&render_with(AUTOSCALED, &with_count(7)));
        assert_eq!((unavailable, surge), (0, 3));
        let (fidelity, message) = finding.expect("reported");
        assert_eq!(fidelity, Fidelity::Exact);
        assert!(
            message.contains("autoscaler's current count 7"),
            "{message}"
        );
    }

    /// Offline there is no live count: the bounds of desiredCount 2 (floor(3) − 2 = 1 may
    /// start), reported as an approximation because a rendered Deployment keeps them.
    #[test]
    fn without_the_autoscalers_count_the_bounds_of_desired_count_are_kept_and_reported() {
        let ((unavailable, surge), finding) = rolling_bounds(&render(AUTOSCALED));
        assert_eq!((unavailable, surge), (0, 1));
        let (fidelity, message) = finding.expect("reported");
        assert_eq!(fidelity, Fidelity::Approximated);
        assert!(message.contains("desiredCount 2"), "{message}");
    }

    /// At 1 task, 100/150 % allow neither stopping nor starting one (floor(1.5) − 1 = 0):
    /// rather than a Deployment Kubernetes refuses, the bounds of desiredCount stay.
    #[test]
    fn an_autoscaled_count_that_would_leave_a_rollout_stuck_keeps_the_bounds_of_desired_count() {
        let ((unavailable, surge), finding) =
            rolling_bounds(&render_with(AUTOSCALED, &with_count(1)));
        assert_eq!((unavailable, surge), (0, 1));
        let (fidelity, message) = finding.expect("reported");
        assert_eq!(fidelity, Fidelity::Approximated);
        assert!(
            message.contains("current count 1 these bounds would leave a rollout stuck"),
            "{message}"
        );
    }

    fn app_probes(t: &Translation) -> serde_json::Value {
        let d = t
            .objects
            .iter()
            .find_map(|o| match o {
                Object::Deployment(d) => Some(d),
                _ => None,
            })
            .expect("a Deployment");
        let c = &d
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0];
        json!({
            "liveness": c.liveness_probe.as_ref().map(|p| (p.initial_delay_seconds, p.failure_threshold)),
            "startup": c.startup_probe.as_ref().map(|p| (p.initial_delay_seconds, p.failure_threshold)),
            "readiness": c.readiness_probe.as_ref().map(|p| (p.initial_delay_seconds, p.failure_threshold)),
        })
    }

    /// ECS ignores failed container health checks for the grace period, with or without a
    /// load balancer: the liveness probe waits that long and the startup probe allows it.
    #[test]
    fn the_grace_period_holds_back_liveness_and_startup_probes_without_a_load_balancer() {
        let t =
            render("{taskDefinition: web, desiredCount: 1, healthCheckGracePeriodSeconds: 120}");
        assert_eq!(
            app_probes(&t),
            json!({
                // 120 s at a 10 s interval: 12 checks, then the 3 retries.
                "liveness": [120, 3], "startup": [null, 15], "readiness": [null, 3]
            })
        );
        let finding = t
            .report
            .findings
            .iter()
            .find(|f| f.field == "spec.healthCheckGracePeriodSeconds")
            .expect("reported");
        assert!(
            finding
                .message
                .contains("liveness probes of app start after 120 s"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn without_a_grace_period_the_probes_keep_the_health_checks_own_timing() {
        let t = render("{taskDefinition: web, desiredCount: 1}");
        // startPeriod 20 s at 10 s: 2 checks, then the 3 retries.
        assert_eq!(
            app_probes(&t),
            json!({"liveness": [null, 3], "startup": [null, 5], "readiness": [null, 3]})
        );
    }

    #[test]
    fn a_grace_period_shorter_than_the_start_period_leaves_the_startup_budget_alone() {
        let t = render("{taskDefinition: web, desiredCount: 1, healthCheckGracePeriodSeconds: 5}");
        assert_eq!(
            app_probes(&t),
            json!({"liveness": [5, 3], "startup": [null, 5], "readiness": [null, 3]})
        );
    }
}
