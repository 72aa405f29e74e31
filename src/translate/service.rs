//! EcsService → Deployment (REPLICA; one per capacity provider when several run tasks) or
//! DaemonSet (DAEMON), its ServiceAccount and its HPA.
//!
//! [`translate_service`] destructures the spec, so that every field has its place, and hands
//! each concern to a named step: the task definition's pod template ([`super::pod`]), the
//! load balancers (registrations, readiness probes, draining), placement
//! ([`placement::place_service_pods`]), the fields with no Kubernetes counterpart, the task
//! role ([`identity`]) and the workload, whose rollout follows [`rollout`] and whose count is
//! split across capacity providers by [`capacity`].

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Container, Lifecycle, LifecycleHandler, PodSpec, PodTemplateSpec, SleepAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::Value;

use super::autoscaling::{self, HpaInput};
use super::bundle::Sourced;
use super::capacity;
use super::identity;
use super::model::{Index, Object, Refusal, common_labels, label_value};
use super::names;
use super::placement::{self, Provider, Where};
use super::pod::{self, PodTemplate, Workload};
use super::report::{ObjectRef, Report};
use super::rollout::{self, Percents};
use super::target_group::{self, Registration};
use super::units;
use crate::api::{
    AssignPublicIp, AutoScaling, DeploymentConfiguration, DeploymentController,
    DeploymentControllerType, EcsService, EcsServiceSpec, LoadBalancer, NetworkConfiguration,
    PropagateTags, SchedulingStrategy, Tag, TaskDefinition,
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

/// Why a service could not be translated: the task definitions it used (so they are not
/// translated again on their own) and the refusals.
pub type ServiceRefusal = (Vec<TdKey>, Vec<Refusal>);

/// The ObjectRef of a service for findings.
pub fn object_ref(s: &EcsService) -> ObjectRef {
    ObjectRef::new(
        "EcsService",
        s.metadata.namespace.as_deref(),
        s.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// The service being translated, as the steps of [`translate_service`] read it.
struct Ctx<'a> {
    /// The input.
    index: &'a Index<'a>,
    /// The EcsService, for findings.
    obj: &'a ObjectRef,
    /// Its `metadata.name`: the name of the workload and of its ServiceAccount.
    name: &'a str,
    /// Its namespace.
    ns: Option<&'a str>,
    /// The task definition it runs.
    td: &'a TaskDefinition,
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

/// Translates one EcsService. `(autoscaled_count, effective_bounds)`: an autoscaled service's
/// current count and the scalable target's effective [min, max] under the operator
/// ([`super::Options::autoscaled_counts`], [`super::Options::effective_bounds`]). On refusal returns the task
/// definition it used (so it is not translated again on its own) and every refusal.
pub fn translate_service(
    index: &Index<'_>,
    s: &Sourced<EcsService>,
    (autoscaled_count, effective_bounds): (Option<i32>, Option<(i32, i32)>),
    report: &mut Report,
) -> Result<ServiceOutput, ServiceRefusal> {
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
        service_registries: _, // discovery::translate_discovery
        network_configuration,
        enable_execute_command,
        enable_ecs_managed_tags,
        propagate_tags,
        tags,
        role,
        service_connect_configuration: _, // discovery::translate_discovery
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

    let (td_sourced, mut template) =
        task_definition_template(index, ns, task_definition, &name, &obj, report)?;
    let td: &TaskDefinition = &td_sourced.object;
    let td_key = (td.metadata.namespace.clone(), td.metadata.name.clone());
    let cx = Ctx {
        index,
        obj: &obj,
        name: &name,
        ns,
        td,
    };
    let mut refusals = Vec::new();

    let daemon = scheduling_strategy == &Some(SchedulingStrategy::Daemon);
    let mut labels = Labels::of(&name, td);

    let load_balancers = load_balancers.as_deref().unwrap_or_default();
    let registrations = register(
        &cx,
        load_balancers,
        &mut template,
        &mut labels.pods,
        report,
        &mut refusals,
    );

    let where_ = Where {
        object: &obj,
        is_service: !daemon,
        cluster: cluster.as_deref().or(cluster_arn.as_deref()),
        launch_type: launch_type.as_ref(),
        capacity_provider_strategy: capacity_provider_strategy.as_deref(),
        strategies: placement_strategy.as_deref(),
        constraints: placement_constraints.as_deref(),
        task_definition: td,
        selector: &labels.selector,
    };
    let providers = if daemon {
        placement::place_pods(index, &mut template.spec, where_, report).map(|()| Vec::new())
    } else {
        placement::place_service_pods(index, &mut template.spec, where_, report)
    }
    .unwrap_or_else(|r| {
        refusals.extend(r);
        Vec::new()
    });

    if let Some(grace) = health_check_grace_period_seconds {
        grace_period(
            &mut template.spec,
            *grace,
            &obj,
            !load_balancers.is_empty(),
            report,
        );
    }
    let other = OtherFields {
        service_name,
        platform_version,
        deployment_controller,
        network_configuration,
        enable_execute_command,
        enable_ecs_managed_tags,
        propagate_tags,
        tags,
        role,
        volume_configurations,
        vpc_lattice_configurations,
        availability_zone_rebalancing,
    };
    refusals.extend(other_fields(&cx, other, report));

    let settings = Rollout {
        daemon,
        desired_count: *desired_count,
        deployment_configuration: deployment_configuration.as_ref(),
        auto_scaling: auto_scaling.as_ref(),
        autoscaled_count,
        effective_bounds,
        has_load_balancer: !registrations.is_empty(),
        providers,
    };
    let objects = workload(&cx, template, labels, &settings, report, refusals)
        .map_err(|refusals| (vec![td_key.clone()], refusals))?;
    Ok(ServiceOutput {
        objects,
        registrations,
        task_definition: td_key,
    })
}

/// Resolves the service's task definition and builds its pod template. The task definition's
/// refusals are reported on the service (naming the task definition): the service cannot run.
fn task_definition_template<'a>(
    index: &Index<'a>,
    ns: Option<&str>,
    reference: &str,
    name: &str,
    obj: &ObjectRef,
    report: &mut Report,
) -> Result<(&'a Sourced<TaskDefinition>, PodTemplate), ServiceRefusal> {
    let referrer = format!("EcsService {name}");
    let (td_sourced, note) = match index.task_definition(ns, reference, &referrer) {
        Ok(r) => r,
        Err(r) => return Err((vec![], vec![r])),
    };
    let td = &td_sourced.object;
    if let Some(n) = note {
        report.note(obj, "spec.taskDefinition", n);
    }
    match pod::pod_template(td, Workload::Service, report) {
        Ok(t) => Ok((td_sourced, t)),
        Err(r) => {
            let td_key = (td.metadata.namespace.clone(), td.metadata.name.clone());
            let td_obj = pod::object_ref(td);
            Err((
                vec![td_key],
                r.into_iter()
                    .map(|x| Refusal {
                        message: format!("{} (in {td_obj}, {})", x.message, td_sourced.origin),
                        ..x
                    })
                    .collect(),
            ))
        }
    }
}

/// Load balancers: each target group reference resolved, its pods labelled for the target
/// group's Service, the target group's health check as the container's readiness probe, and
/// its deregistration delay as the pods' drain. Returns the registrations.
fn register(
    cx: &Ctx<'_>,
    load_balancers: &[LoadBalancer],
    template: &mut PodTemplate,
    pod_labels: &mut BTreeMap<String, String>,
    report: &mut Report,
    refusals: &mut Vec<Refusal>,
) -> Vec<Registration> {
    let (obj, td) = (cx.obj, cx.td);
    let mut registrations = Vec::new();
    let mut drain: BTreeMap<String, i64> = BTreeMap::new();
    let mut readiness_by: BTreeMap<String, String> = BTreeMap::new();
    for (i, lb) in load_balancers.iter().enumerate() {
        let field = format!("spec.loadBalancers[{i}]");
        let Some(arn) = &lb.target_group_arn else {
            report.not_carried(
                obj,
                format!("{field}.loadBalancerName"),
                "Classic Load Balancers are not translated; use a target group",
            );
            continue;
        };
        if lb.advanced_configuration.is_some() {
            report.not_carried(obj, format!("{field}.advancedConfiguration"), "blue/green alternate target groups and test listeners are not translated; deployments are rolling");
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
        let Some(tg) = cx.index.target_group(cx.ns, tg_name) else {
            if !cx.index.was_invalid("TargetGroup", cx.ns, tg_name) {
                refusals.push(Refusal::reference(
                    format!("{field}.targetGroupArn"),
                    format!(
                        "target group {tg_name:?} is not in the input; pass its TargetGroup too"
                    ),
                ));
            }
            continue;
        };
        pod_labels.insert(names::target_group_label(tg_name), "true".into());
        registrations.push(Registration {
            namespace: cx.ns.map(str::to_owned),
            target_group: tg_name.to_owned(),
            service: cx.name.to_owned(),
            container_port: lb.container_port,
        });
        let k8s_container = template.container_names[&lb.container_name].clone();
        let delay = target_group::deregistration_delay(&tg.object);
        let d = drain.entry(k8s_container.clone()).or_insert(0);
        *d = (*d).max(delay);
        if let Some(probe) =
            target_group::readiness_probe(&tg.object, lb.container_port, obj, report)
        {
            if let Some(first) = readiness_by.get(&k8s_container) {
                report.not_carried(obj, format!("{field}.targetGroupArn"), format!("container {:?} already takes its readiness from target group {first:?}; a container has one readiness probe, so the health check of {tg_name:?} is not carried", lb.container_name));
            } else if let Some(c) = find_container(&mut template.spec, &k8s_container) {
                if c.readiness_probe.is_some() {
                    report.approximated(obj, format!("{field}.targetGroupArn"), format!("container {:?} has a container health check and target group {tg_name:?}: readiness follows the target group's check, the container health check stays as the liveness probe", lb.container_name));
                }
                if c.restart_policy.as_deref() == Some("Always") {
                    report.approximated(obj, format!("{field}.targetGroupArn"), format!("container {:?} is a native sidecar: its readiness probe (from target group {tg_name:?}) gates the readiness of the whole pod, so the pod leaves every target group's Service while it fails", lb.container_name));
                }
                c.readiness_probe = Some(probe);
                readiness_by.insert(k8s_container.clone(), tg_name.to_owned());
            }
        }
    }
    drain_on_stop(template, &drain, obj, report);
    registrations
}

/// Deregistration delay → preStop sleep and grace period (endpoints are removed while the
/// container keeps serving, then SIGTERM and stopTimeout as in ECS). `drain`: the longest
/// delay of each container's target groups.
fn drain_on_stop(
    template: &mut PodTemplate,
    drain: &BTreeMap<String, i64>,
    obj: &ObjectRef,
    report: &mut Report,
) {
    let Some(max_delay) = drain.values().copied().max().filter(|d| *d > 0) else {
        return;
    };
    for (container, delay) in drain {
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
    report.approximated(obj, "spec.loadBalancers", format!("the target group's deregistration delay ({max_delay} s) becomes a preStop sleep and a grace period of delay + stopTimeout ({} s); unlike ALB draining it does not end early when no request is in flight", max_delay + template.stop_timeout));
    rollout::report_draining_pods(obj, max_delay, report);
}

/// `deploymentController`: ECS's own is the rolling update, CodeDeploy's blue/green becomes
/// one, and an EXTERNAL controller is refused.
fn check_deployment_controller(
    c: &DeploymentController,
    obj: &ObjectRef,
    report: &mut Report,
) -> Result<(), Refusal> {
    match c.type_ {
        DeploymentControllerType::Ecs => Ok(()),
        DeploymentControllerType::CodeDeploy => {
            report.approximated(
                obj,
                "spec.deploymentController",
                "CodeDeploy blue/green becomes a rolling update",
            );
            Ok(())
        }
        DeploymentControllerType::External => Err(Refusal::new(
            "spec.deploymentController",
            "an EXTERNAL deployment controller manages task sets itself; ecsplane cannot stand in for it",
        )),
    }
}

/// The service fields that mean something only inside AWS, or that Kubernetes expresses
/// otherwise (the deployment controller): each gets its finding.
struct OtherFields<'a> {
    service_name: &'a Option<String>,
    platform_version: &'a Option<String>,
    deployment_controller: &'a Option<DeploymentController>,
    network_configuration: &'a Option<NetworkConfiguration>,
    enable_execute_command: &'a Option<bool>,
    enable_ecs_managed_tags: &'a Option<bool>,
    propagate_tags: &'a Option<PropagateTags>,
    tags: &'a Option<Vec<Tag>>,
    role: &'a Option<String>,
    volume_configurations: &'a Option<Value>,
    vpc_lattice_configurations: &'a Option<Value>,
    availability_zone_rebalancing: &'a Option<String>,
}

/// Reports the fields of [`OtherFields`]; an EXTERNAL deployment controller is refused.
fn other_fields(cx: &Ctx<'_>, f: OtherFields<'_>, report: &mut Report) -> Option<Refusal> {
    let (obj, name) = (cx.obj, cx.name);
    let refusal = f
        .deployment_controller
        .as_ref()
        .and_then(|c| check_deployment_controller(c, obj, report).err());
    if let Some(sn) = f.service_name
        && names::dns_label(sn) != name
    {
        report.note(
            obj,
            "spec.serviceName",
            format!("the workload is named after metadata.name {name:?}, not serviceName {sn:?}"),
        );
    }
    if f.platform_version.is_some() {
        report.not_carried(
            obj,
            "spec.platformVersion",
            "the Fargate platform version only means something inside AWS",
        );
    }
    if let Some(n) = f.network_configuration {
        report.not_carried(obj, "spec.networkConfiguration", "subnets and security groups only mean something inside AWS (security groups for pods need the VPC CNI's SecurityGroupPolicy)");
        if n.awsvpc_configuration
            .as_ref()
            .and_then(|a| a.assign_public_ip)
            == Some(AssignPublicIp::Enabled)
        {
            report.not_carried(
                obj,
                "spec.networkConfiguration.awsvpcConfiguration.assignPublicIp",
                "pods get no public IP; expose them through a load balancer",
            );
        }
    }
    if f.enable_execute_command == &Some(true) {
        report.approximated(
            obj,
            "spec.enableExecuteCommand",
            "ECS Exec becomes kubectl exec, governed by RBAC",
        );
    }
    if f.enable_ecs_managed_tags.is_some()
        || f.propagate_tags.is_some()
        || f.tags.as_ref().is_some_and(|t| !t.is_empty())
    {
        report.not_carried(obj, "spec.tags", "AWS tags (managed, propagated or the service's own) have no effect on Kubernetes objects");
    }
    if f.role.is_some() {
        report.not_carried(
            obj,
            "spec.role",
            "the legacy load balancer role is not needed on Kubernetes",
        );
    }
    if f.volume_configurations.is_some() {
        report.not_carried(
            obj,
            "spec.volumeConfigurations",
            "EBS volumes configured at launch are not translated",
        );
    }
    if f.vpc_lattice_configurations.is_some() {
        report.not_carried(
            obj,
            "spec.vpcLatticeConfigurations",
            "VPC Lattice only means something inside AWS",
        );
    }
    if f.availability_zone_rebalancing.as_deref() == Some("ENABLED") {
        report.not_carried(
            obj,
            "spec.availabilityZoneRebalancing",
            "Kubernetes does not move running pods to rebalance zones (the descheduler can)",
        );
    }
    refusal
}

/// The pod template of the workload: the pod labels, and the template's annotations with the
/// task definition it runs.
fn pod_template_spec(
    td: &TaskDefinition,
    template: PodTemplate,
    pod_labels: BTreeMap<String, String>,
) -> PodTemplateSpec {
    let PodTemplate {
        spec,
        mut annotations,
        ..
    } = template;
    annotations.insert(
        names::ANNOTATION_TASK_DEFINITION.to_owned(),
        pod::task_definition_id(td),
    );
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    }
}

/// How a service rolls out and scales: what its workload is built from besides the pod
/// template.
struct Rollout<'a> {
    /// A DAEMON service (a DaemonSet), not a REPLICA one (a Deployment).
    daemon: bool,
    /// `desiredCount`.
    desired_count: Option<i32>,
    /// `deploymentConfiguration`.
    deployment_configuration: Option<&'a DeploymentConfiguration>,
    /// `autoScaling`.
    auto_scaling: Option<&'a AutoScaling>,
    /// An autoscaled service's current count as the operator reads it (its desiredCount, which
    /// the autoscaler writes); `None` offline.
    autoscaled_count: Option<i32>,
    /// The scalable target's effective [min, max] under the operator when scheduled actions
    /// changed them; `None`: spec.autoScaling's.
    effective_bounds: Option<(i32, i32)>,
    /// Whether the pods register with a target group (their readiness is its health check).
    has_load_balancer: bool,
    /// The capacity providers of a REPLICA service with several that run tasks, one
    /// Deployment each; empty for one Deployment.
    providers: Vec<Provider>,
}

/// The labels of a service's objects.
struct Labels {
    /// Of the workload, its ServiceAccount and HPA: the common labels and the selector.
    objects: BTreeMap<String, String>,
    /// Selecting the service's pods.
    selector: BTreeMap<String, String>,
    /// Of the pods: the object labels, the task definition family and the target groups the
    /// pods register with.
    pods: BTreeMap<String, String>,
}

impl Labels {
    /// The labels of service `name` running `td`, before any target group registration.
    fn of(name: &str, td: &TaskDefinition) -> Self {
        let selector = names::service_selector(name);
        let mut objects = common_labels();
        objects.extend(selector.clone());
        let mut pods = objects.clone();
        pods.insert(names::LABEL_FAMILY.to_owned(), label_value(&td.spec.family));
        Self {
            objects,
            selector,
            pods,
        }
    }
}

/// The service's objects from its pod template: the task role's ServiceAccount, and the
/// workload, a DaemonSet or a Deployment (and HPA), unless anything was refused
/// (`refusals` are those of the earlier steps).
fn workload(
    cx: &Ctx<'_>,
    mut template: PodTemplate,
    labels: Labels,
    settings: &Rollout<'_>,
    report: &mut Report,
    refusals: Vec<Refusal>,
) -> Result<Vec<Object>, Vec<Refusal>> {
    let Labels {
        objects: labels,
        selector,
        pods: pod_labels,
    } = labels;
    let mut objects = Vec::new();
    let service_account = identity::run_as_task_role(
        &mut template.spec,
        template.task_role_arn.as_deref(),
        cx.name,
        cx.ns,
        &labels,
    );
    objects.extend(service_account.map(|sa| Object::ServiceAccount(Box::new(sa))));
    let template = pod_template_spec(cx.td, template, pod_labels);
    let has_health_check = cx
        .td
        .spec
        .container_definitions
        .iter()
        .any(|c| c.essential.unwrap_or(true) && c.health_check.is_some());
    let min_ready_seconds =
        rollout::min_ready_seconds(has_health_check, settings.has_load_balancer, cx.obj, report);
    let parts = WorkloadParts {
        meta: ObjectMeta {
            name: Some(cx.name.to_owned()),
            namespace: cx.ns.map(str::to_owned),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        selector: LabelSelector {
            match_labels: Some(selector),
            match_expressions: None,
        },
        template,
        min_ready_seconds,
    };
    let percents = rollout::percents(
        settings.deployment_configuration,
        settings.daemon,
        cx.obj,
        report,
    );
    let workload = if settings.daemon {
        daemon_set(cx, parts, settings, percents, report, refusals)
    } else {
        deployment(cx, parts, (settings, &labels), percents, report, refusals)
    }?;
    objects.extend(workload);
    Ok(objects)
}

/// What a Deployment and a DaemonSet share.
struct WorkloadParts {
    meta: ObjectMeta,
    selector: LabelSelector,
    template: PodTemplateSpec,
    min_ready_seconds: Option<i32>,
}

/// A DAEMON service's DaemonSet, unless anything was refused. A daemon cannot be auto
/// scaled.
fn daemon_set(
    cx: &Ctx<'_>,
    parts: WorkloadParts,
    settings: &Rollout<'_>,
    percents: Percents,
    report: &mut Report,
    refusals: Vec<Refusal>,
) -> Result<Vec<Object>, Vec<Refusal>> {
    let desired_count = settings.desired_count;
    let update_strategy = rollout::daemon_update_strategy(desired_count, percents, cx.obj, report);
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let WorkloadParts {
        meta,
        selector,
        template,
        min_ready_seconds,
    } = parts;
    let daemon_set = DaemonSet {
        metadata: meta,
        spec: Some(DaemonSetSpec {
            selector,
            template,
            min_ready_seconds,
            update_strategy: Some(update_strategy),
            ..DaemonSetSpec::default()
        }),
        status: None,
    };
    if settings.auto_scaling.is_some() {
        report.not_carried(
            cx.obj,
            "spec.autoScaling",
            "a DAEMON service cannot be auto scaled",
        );
    }
    Ok(vec![Object::DaemonSet(Box::new(daemon_set))])
}

/// A REPLICA service's Deployment (one per capacity provider with several, [`split`]) and,
/// when auto scaled, its HPA (labelled `labels`), unless anything was refused. The replicas
/// are the service's count: desiredCount, clamped to the scalable target's
/// [minCapacity, maxCapacity] when auto scaled ([`scaled_count`]).
fn deployment(
    cx: &Ctx<'_>,
    parts: WorkloadParts,
    (scaling, labels): (&Rollout<'_>, &BTreeMap<String, String>),
    percents: Percents,
    report: &mut Report,
    refusals: Vec<Refusal>,
) -> Result<Vec<Object>, Vec<Refusal>> {
    let obj = cx.obj;
    let desired = rollout::desired_count(scaling.desired_count, obj, report);
    let mut b = rollout::replica_bounds(desired, percents, obj, report);
    let hpa = scaling
        .auto_scaling
        .and_then(|a| hpa(cx, a, labels, scaling.effective_bounds, report));
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let count = match scaling.auto_scaling {
        Some(a) => scaled_count(
            obj,
            a,
            desired,
            (scaling.autoscaled_count, scaling.effective_bounds),
            hpa.is_some(),
            report,
        ),
        None => desired,
    };
    if count != desired {
        b = rollout::autoscaled_bounds(obj, b, desired, count, percents, report);
    }
    let mut objects = if scaling.providers.is_empty() {
        let WorkloadParts {
            meta,
            selector,
            template,
            min_ready_seconds,
        } = parts;
        vec![Object::Deployment(Box::new(Deployment {
            metadata: meta,
            spec: Some(DeploymentSpec {
                replicas: Some(count),
                selector,
                template,
                min_ready_seconds,
                strategy: Some(rollout::deployment_strategy(b, count)),
                ..DeploymentSpec::default()
            }),
            status: None,
        }))]
    } else {
        split(cx, &parts, &scaling.providers, count, b, report)
    };
    if let Some(h) = hpa {
        objects.push(Object::HorizontalPodAutoscaler(Box::new(h)));
    }
    Ok(objects)
}

/// An autoscaled service's count: `live` (its desiredCount as the autoscaler last wrote it,
/// under the operator) or desiredCount, clamped to the scalable target's bounds (`effective`,
/// what scheduled actions set under the operator, else [minCapacity, maxCapacity]) as
/// Application Auto Scaling keeps a scalable target's count; so the service starts with desiredCount
/// tasks, not one (issue 19 point 1). Reports who owns the count.
fn scaled_count(
    obj: &ObjectRef,
    a: &AutoScaling,
    desired: i32,
    (live, effective): (Option<i32>, Option<(i32, i32)>),
    has_hpa: bool,
    report: &mut Report,
) -> i32 {
    let (min, max) = autoscaling::capacity_bounds(a, effective);
    let count = live.unwrap_or(desired).clamp(min, max);
    if desired != desired.clamp(min, max) {
        report.note(obj, "spec.desiredCount", format!("desiredCount {desired} is outside [minCapacity {min}, maxCapacity {max}]: the service runs {}, as Application Auto Scaling keeps the count within the scalable target's bounds", desired.clamp(min, max)));
    }
    if !has_hpa {
        return count;
    }
    match live {
        Some(_) => report.note(obj, "spec.desiredCount", format!("the HPA scales the EcsService itself (its scale subresource is spec.desiredCount), as Application Auto Scaling changes an ECS service's desiredCount; the operator makes the current count, {count}, the workload's replicas and rolling bounds")),
        None => report.approximated(obj, "spec.autoScaling", format!("the HPA scales the EcsService itself (its scale subresource is spec.desiredCount), as Application Auto Scaling changes an ECS service's desiredCount; only the operator turns that count into replicas, so without it the rendered workload keeps {count} tasks and the HPA's changes reach no pod")),
    }
    count
}

/// A service with several capacity providers that run tasks: one Deployment per provider,
/// named by [`placement::deployment_name`], labelled and selecting
/// [`placement::LABEL_CAPACITY_PROVIDER`], on the provider's nodes only, with its share of
/// `count` ([`capacity::split`]) and of the service's rolling bounds `b`
/// ([`capacity::share_bounds`]), so that the Deployments rolling together keep the service's
/// bounds.
fn split(
    cx: &Ctx<'_>,
    parts: &WorkloadParts,
    providers: &[Provider],
    count: i32,
    b: rollout::Bounds,
    report: &mut Report,
) -> Vec<Object> {
    let strategy: Vec<_> = providers.iter().map(|p| p.item.clone()).collect();
    let shares = capacity::split(&strategy, count);
    let (bounds, extra) = capacity::share_bounds(b, &shares);
    let mut objects = Vec::new();
    let mut described = Vec::new();
    for ((p, &replicas), &pb) in providers.iter().zip(&shares).zip(&bounds) {
        let name = placement::deployment_name(cx.name, &p.item.capacity_provider, providers);
        let provider_label = (
            placement::LABEL_CAPACITY_PROVIDER.to_owned(),
            label_value(&p.item.capacity_provider),
        );
        let mut meta = parts.meta.clone();
        meta.name = Some(name.clone());
        meta.labels
            .get_or_insert_with(BTreeMap::new)
            .extend([provider_label.clone()]);
        let mut selector = parts.selector.clone();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .extend([provider_label.clone()]);
        let mut template = parts.template.clone();
        template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .extend([provider_label]);
        if let Some(spec) = template.spec.as_mut() {
            placement::apply_provider(spec, p);
        }
        described.push(format!("{} {replicas} ({name})", p.item.capacity_provider));
        objects.push(Object::Deployment(Box::new(Deployment {
            metadata: meta,
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                selector,
                template,
                min_ready_seconds: parts.min_ready_seconds,
                strategy: Some(rollout::deployment_strategy(pb, replicas)),
                ..DeploymentSpec::default()
            }),
            status: None,
        })));
    }
    let field = "spec.capacityProviderStrategy";
    report.note(cx.obj, field, format!("{count} tasks split as ECS splits them (each base first, then by weight; a weight-0 provider runs only its base): {}; one Deployment per provider, on that provider's nodes only, with maxUnavailable and maxSurge adding up to the service's {} and {}", described.join(", "), b.max_unavailable, b.max_surge));
    if extra > 0 {
        report.approximated(cx.obj, "spec.deploymentConfiguration", format!("the service's rolling bounds (maxUnavailable {}, maxSurge {}) leave fewer pods of room than there are provider Deployments with pods, and a Deployment needs one: during a deployment up to {extra} more tasks than maximumPercent allows may run", b.max_unavailable, b.max_surge));
    }
    objects
}

/// The HPA of an auto scaled service. Utilisation targets are relative to the task's size:
/// task cpu and memory, else the sums of the containers'.
fn hpa(
    cx: &Ctx<'_>,
    a: &AutoScaling,
    labels: &BTreeMap<String, String>,
    effective_bounds: Option<(i32, i32)>,
    report: &mut Report,
) -> Option<HorizontalPodAutoscaler> {
    let td = cx.td;
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
    autoscaling::hpa(
        a,
        &HpaInput {
            object: cx.obj,
            name: cx.name,
            namespace: cx.ns,
            labels: labels.clone(),
            cpu_units,
            memory_mib,
            effective_bounds,
        },
        report,
    )
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

    fn autoscaled(desired: i32, min: i32, max: i32) -> String {
        format!(
            "{{taskDefinition: web, desiredCount: {desired}, \
             deploymentConfiguration: {{minimumHealthyPercent: 100, maximumPercent: 150}}, \
             autoScaling: {{minCapacity: {min}, maxCapacity: {max}, scalingPolicies: [{{policyName: cpu, \
             policyType: TargetTrackingScaling, targetTrackingScalingPolicyConfiguration: \
             {{targetValue: 50, predefinedMetricSpecification: \
             {{predefinedMetricType: ECSServiceAverageCPUUtilization}}}}}}]}}}}"
        )
    }

    /// Under the operator: the service's current count (its desiredCount, which the HPA
    /// writes through the scale subresource).
    fn with_count(count: i32) -> Options {
        Options {
            autoscaled_counts: [((None, "web".to_owned()), count)].into(),
            ..Options::default()
        }
    }

    fn deployments(t: &Translation) -> Vec<&k8s_openapi::api::apps::v1::Deployment> {
        t.objects
            .iter()
            .filter_map(|o| match o {
                Object::Deployment(d) => Some(d.as_ref()),
                _ => None,
            })
            .collect()
    }

    fn replicas(t: &Translation) -> Vec<(String, Option<i32>)> {
        deployments(t)
            .iter()
            .map(|d| {
                (
                    d.metadata.name.clone().unwrap_or_default(),
                    d.spec.as_ref().unwrap().replicas,
                )
            })
            .collect()
    }

    /// Issue 19 point 1: ECS starts desiredCount tasks, within the scalable target's bounds,
    /// and only then lets Application Auto Scaling act; an HPA-scaled Deployment without
    /// replicas would start with 1.
    #[test]
    fn an_autoscaled_service_starts_with_desired_count_clamped_to_its_capacity_not_one() {
        assert_eq!(
            replicas(&render(&autoscaled(8, 2, 10))),
            [("web".into(), Some(8))]
        );
        assert_eq!(
            replicas(&render(&autoscaled(0, 2, 10))),
            [("web".into(), Some(2))]
        );
        let t = render(&autoscaled(20, 2, 10));
        assert_eq!(replicas(&t), [("web".into(), Some(10))]);
        assert!(
            t.report.to_string().contains(
                "desiredCount 20 is outside [minCapacity 2, maxCapacity 10]: the service runs 10"
            ),
            "{}",
            t.report
        );
    }

    /// The HPA scales the EcsService, as Application Auto Scaling changes an ECS service's
    /// desiredCount; one HPA then serves any number of per-provider Deployments.
    #[test]
    fn the_hpa_scales_the_ecs_service_itself() {
        let t = render(&autoscaled(2, 1, 10));
        let hpa = t
            .objects
            .iter()
            .find_map(|o| match o {
                Object::HorizontalPodAutoscaler(h) => Some(h),
                _ => None,
            })
            .expect("an HPA");
        assert_eq!(
            serde_json::to_value(&hpa.spec.scale_target_ref).unwrap(),
            json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService", "name": "web"})
        );
    }

    /// Offline nothing turns the HPA's count into pods: the report says so, rather than
    /// calling the autoscaling exact.
    #[test]
    fn a_rendered_hpa_is_reported_as_needing_the_operator() {
        let t = render(&autoscaled(2, 1, 10));
        let f = t
            .report
            .findings
            .iter()
            .find(|f| f.field == "spec.autoScaling")
            .expect("reported");
        assert_eq!(f.fidelity, Fidelity::Approximated);
        assert!(
            f.message
                .contains("only the operator turns that count into replicas"),
            "{}",
            f.message
        );
        let t = render_with(&autoscaled(2, 1, 10), &with_count(2));
        assert!(
            t.report
                .findings
                .iter()
                .all(|f| f.field != "spec.autoScaling"),
            "{}",
            t.report
        );
    }

    /// ECS computes the bounds from the current desired count, which the autoscaler sets:
    /// at 7 tasks and 100/150 %, none may stop and floor(10.5) − 7 = 3 may start.
    #[test]
    fn an_autoscaled_services_rolling_bounds_follow_its_current_count() {
        let ((unavailable, surge), _) =
            rolling_bounds(&render_with(&autoscaled(7, 1, 10), &with_count(7)));
        assert_eq!((unavailable, surge), (0, 3));
        let t = render_with(&autoscaled(2, 1, 10), &with_count(7));
        assert_eq!(replicas(&t), [("web".into(), Some(7))]);
        let ((unavailable, surge), finding) = rolling_bounds(&t);
        assert_eq!((unavailable, surge), (0, 3));
        let (fidelity, message) = finding.expect("reported");
        assert_eq!(fidelity, Fidelity::Exact);
        assert!(message.contains("current count 7"), "{message}");
    }

    /// At 1 task, 100/150 % allow neither stopping nor starting one (floor(1.5) − 1 = 0):
    /// rather than a Deployment Kubernetes refuses, the bounds of desiredCount stay.
    #[test]
    fn an_autoscaled_count_that_would_leave_a_rollout_stuck_keeps_the_bounds_of_desired_count() {
        let ((unavailable, surge), finding) =
            rolling_bounds(&render_with(&autoscaled(2, 1, 10), &with_count(1)));
        assert_eq!((unavailable, surge), (0, 1));
        let (fidelity, message) = finding.expect("reported");
        assert_eq!(fidelity, Fidelity::Approximated);
        assert!(
            message.contains("current count 1 these bounds would leave a rollout stuck"),
            "{message}"
        );
    }

    const CLUSTER: &str = "apiVersion: ecsplane.io/v1alpha1\nkind: EcsCluster\nmetadata: {name: default}\n\
        spec:\n  capacityProviderMappings:\n  - {capacityProvider: FARGATE, nodeSelector: {pool: on-demand}}\n  \
        - {capacityProvider: FARGATE_SPOT, nodeSelector: {pool: spot}, tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]}\n  \
        - {capacityProvider: BIG, nodeSelector: {pool: big}, tolerations: [{key: big, operator: Exists, effect: NoSchedule}]}\n";

    fn render_in_cluster(service_spec: &str, options: &Options) -> Translation {
        let text = format!(
            "{CLUSTER}---\napiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {{name: web}}\nspec:\n  family: web\n  containerDefinitions:\n  - {{name: app, image: nginx, cpu: 256}}\n---\n\
             apiVersion: ecsplane.io/v1alpha1\nkind: EcsService\nmetadata: {{name: web}}\nspec: {service_spec}\n"
        );
        let (bundle, errors) = crate::load::load_str("web.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        translate_with(&bundle, options).expect("translates")
    }

    const SPLIT: &str = "capacityProviderStrategy: [{capacityProvider: FARGATE, base: 2, weight: 1}, \
        {capacityProvider: FARGATE_SPOT, weight: 3}, {capacityProvider: BIG, weight: 0}], \
        deploymentConfiguration: {minimumHealthyPercent: 50, maximumPercent: 150}";

    /// Issue 17's example: base 2 + weights 1:3 at 10 tasks → FARGATE 4, FARGATE_SPOT 6, each
    /// Deployment on its provider's nodes only; the weight-0 provider runs nothing, so it has
    /// no Deployment and its taint is tolerated nowhere (issue 19 point 7).
    #[test]
    fn several_capacity_providers_get_a_deployment_each_with_ecss_split() {
        let t = render_in_cluster(
            &format!("{{taskDefinition: web, desiredCount: 10, {SPLIT}}}"),
            &Options::default(),
        );
        assert_eq!(
            replicas(&t),
            [
                ("web-fargate".into(), Some(4)),
                ("web-fargate-spot".into(), Some(6))
            ]
        );
        let placement: Vec<serde_json::Value> = deployments(&t)
            .iter()
            .map(|d| {
                let spec = d.spec.as_ref().unwrap();
                let pod = spec.template.spec.as_ref().unwrap();
                json!({
                    "selector": spec.selector.match_labels,
                    "podLabel": spec.template.metadata.as_ref().unwrap().labels.as_ref().unwrap()["ecsplane.io/capacity-provider"],
                    "nodeSelector": pod.node_selector,
                    "tolerations": pod.tolerations,
                    "affinity": pod.affinity,
                })
            })
            .collect();
        assert_eq!(
            placement,
            [
                json!({"selector": {"ecsplane.io/service": "web", "ecsplane.io/capacity-provider": "FARGATE"},
                    "podLabel": "FARGATE", "nodeSelector": {"pool": "on-demand"}, "tolerations": null, "affinity": null}),
                json!({"selector": {"ecsplane.io/service": "web", "ecsplane.io/capacity-provider": "FARGATE_SPOT"},
                    "podLabel": "FARGATE_SPOT", "nodeSelector": {"pool": "spot"},
                    "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}], "affinity": null}),
            ]
        );
        // 14 tasks: 2 + 12 · 1/4 = 5 and 9.
        let t = render_in_cluster(
            &format!("{{taskDefinition: web, desiredCount: 14, {SPLIT}}}"),
            &Options::default(),
        );
        assert_eq!(
            replicas(&t),
            [
                ("web-fargate".into(), Some(5)),
                ("web-fargate-spot".into(), Some(9))
            ]
        );
    }

    /// 10 tasks at 50/150 %: ECS lets 5 stop and 5 start; the two Deployments rolling at
    /// once may together do exactly that (2 + 3 each way for 4 and 6 replicas).
    #[test]
    fn the_per_provider_rolling_bounds_add_up_to_the_services() {
        let t = render_in_cluster(
            &format!("{{taskDefinition: web, desiredCount: 10, {SPLIT}}}"),
            &Options::default(),
        );
        let bounds: Vec<(i32, i32)> = deployments(&t)
            .iter()
            .map(|d| {
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
                    other => panic!("{other:?}"),
                };
                (int(ru.max_unavailable), int(ru.max_surge))
            })
            .collect();
        assert_eq!(bounds, [(2, 2), (3, 3)]);
        let note = t
            .report
            .findings
            .iter()
            .find(|f| f.field == "spec.capacityProviderStrategy")
            .expect("reported");
        assert_eq!(note.fidelity, Fidelity::Exact);
        assert!(
            note.message
                .contains("FARGATE 4 (web-fargate), FARGATE_SPOT 6 (web-fargate-spot)"),
            "{}",
            note.message
        );
    }

    /// One provider that runs tasks (the other has weight 0 and no base) keeps the one
    /// Deployment named after the service, as before the split existed.
    #[test]
    fn a_single_provider_that_runs_tasks_keeps_the_one_deployment_named_after_the_service() {
        let t = render_in_cluster(
            "{taskDefinition: web, desiredCount: 3, capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 1}, {capacityProvider: BIG, weight: 0}]}",
            &Options::default(),
        );
        assert_eq!(replicas(&t), [("web".into(), Some(3))]);
        let d = deployments(&t)[0];
        let spec = d.spec.as_ref().unwrap();
        assert_eq!(
            serde_json::to_value(&spec.selector).unwrap(),
            json!({"matchLabels": {"ecsplane.io/service": "web"}})
        );
        let pod = spec.template.spec.as_ref().unwrap();
        assert_eq!(
            serde_json::to_value(&pod.node_selector).unwrap(),
            json!({"pool": "spot"})
        );
        assert_eq!(
            serde_json::to_value(&pod.tolerations).unwrap(),
            json!([{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}])
        );
    }

    /// An autoscaled service with several providers: the split follows the current count.
    #[test]
    fn the_split_of_an_autoscaled_service_follows_its_current_count() {
        let spec = format!(
            "{{taskDefinition: web, desiredCount: 10, {SPLIT}, autoScaling: {{minCapacity: 2, maxCapacity: 20, scalingPolicies: [{{policyName: cpu, policyType: TargetTrackingScaling, targetTrackingScalingPolicyConfiguration: {{targetValue: 50, predefinedMetricSpecification: {{predefinedMetricType: ECSServiceAverageCPUUtilization}}}}}}]}}}}"
        );
        let t = render_in_cluster(&spec, &with_count(18));
        assert_eq!(
            replicas(&t),
            [
                ("web-fargate".into(), Some(6)),
                ("web-fargate-spot".into(), Some(12))
            ]
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
