//! Placement: ECS placement strategies and constraints, task definition memberOf constraints
//! and capacity providers → topology spread, pod anti-affinity, node affinity, node selectors
//! and tolerations.
//!
//! [`place_pods`] is what the service and task translators call: it finds the cluster and
//! the capacity provider strategy of a service or task ([`Where`]) and sets the scheduling
//! fields of its pod spec from [`placement`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PreferredSchedulingTerm, Toleration,
    TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::cql;
use super::model::{Index, Refusal};
use super::names;
use super::report::{ObjectRef, Report};
use crate::api::{
    CapacityProviderMapping, CapacityProviderStrategyItem, EcsCluster, LaunchType,
    PlacementConstraint, PlacementConstraintType, PlacementStrategy, PlacementStrategyType,
    TaskDefinition,
};

/// Scheduling settings for a pod template.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    /// Node and pod (anti-)affinity.
    pub affinity: Option<Affinity>,
    /// Spread constraints.
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// Node labels required (capacity provider).
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations (capacity provider).
    pub tolerations: Option<Vec<Toleration>>,
}

/// The node label of a spread field: `instanceId`/`host` → hostname, built-in attributes →
/// well-known labels, custom attributes → a node label of the same name.
fn spread_key(field: &str) -> (String, bool) {
    match field {
        "instanceId" | "host" => ("kubernetes.io/hostname".into(), true),
        "attribute:ecs.availability-zone" => ("topology.kubernetes.io/zone".into(), true),
        "attribute:ecs.instance-type" => ("node.kubernetes.io/instance-type".into(), true),
        "attribute:ecs.os-type" => ("kubernetes.io/os".into(), true),
        "attribute:ecs.cpu-architecture" => ("kubernetes.io/arch".into(), true),
        f => (f.strip_prefix("attribute:").unwrap_or(f).to_owned(), false),
    }
}

/// Inputs of [`placement`].
pub struct PlacementInput<'a> {
    /// The object findings are about (the service or task).
    pub object: &'a ObjectRef,
    /// Whether this is a service (ECS spreads services over zones by default).
    pub is_service: bool,
    /// Placement strategies of the service or task.
    pub strategies: Option<&'a [PlacementStrategy]>,
    /// Placement constraints of the service or task.
    pub constraints: Option<&'a [PlacementConstraint]>,
    /// memberOf expressions of the task definition.
    pub task_definition_expressions: Vec<&'a str>,
    /// Labels selecting the pods of this service or task.
    pub selector: &'a BTreeMap<String, String>,
    /// Capacity providers (or the launch type) and the cluster defining what they mean.
    pub capacity: Option<(Vec<CapacityProviderStrategyItem>, &'a str)>,
    /// The EcsCluster the service or task runs in, when in the input.
    pub cluster: Option<&'a EcsCluster>,
}

/// Builds the scheduling settings. Inexpressible memberOf expressions are refused.
pub fn placement(
    input: PlacementInput<'_>,
    report: &mut Report,
) -> Result<Placement, Vec<Refusal>> {
    let obj = input.object;
    let mut refusals = Vec::new();
    let label_selector = LabelSelector {
        match_labels: Some(input.selector.clone()),
        match_expressions: None,
    };
    let mut out = Placement {
        topology_spread_constraints: spread_constraints(
            obj,
            input.strategies.unwrap_or_default(),
            input.is_service,
            &label_selector,
            report,
        ),
        ..Placement::default()
    };
    let (mut node_affinity, anti) = constraints(
        obj,
        &input.task_definition_expressions,
        input.constraints.unwrap_or_default(),
        &label_selector,
        report,
        &mut refusals,
    );
    if let Some((items, cluster_name)) = &input.capacity {
        capacity_providers(
            obj,
            (items, cluster_name),
            input.cluster,
            &mut out,
            &mut node_affinity,
            report,
        );
    }
    if node_affinity.is_some() || anti.is_some() {
        out.affinity = Some(Affinity {
            node_affinity,
            pod_anti_affinity: anti,
            pod_affinity: None,
        });
    }
    if refusals.is_empty() {
        Ok(out)
    } else {
        Err(refusals)
    }
}

/// Placement strategies → topology spread constraints (spread) or findings (binpack,
/// random); a service without strategies spreads over zones, as ECS does.
fn spread_constraints(
    obj: &ObjectRef,
    strategies: &[PlacementStrategy],
    is_service: bool,
    label_selector: &LabelSelector,
    report: &mut Report,
) -> Option<Vec<TopologySpreadConstraint>> {
    let mut spreads = Vec::new();
    for (i, s) in strategies.iter().enumerate() {
        let field = format!("spec.placementStrategy[{i}]");
        match s.type_ {
            PlacementStrategyType::Spread => {
                let (key, known) = spread_key(s.field.as_deref().unwrap_or("attribute:ecs.availability-zone"));
                if !known {
                    report.approximated(obj, field.clone(), format!("spreads over the node label {key:?}, which your nodes must carry"));
                }
                spreads.push(TopologySpreadConstraint {
                    max_skew: spreads.len() as i32 + 1,
                    topology_key: key,
                    when_unsatisfiable: "ScheduleAnyway".into(),
                    label_selector: Some(label_selector.clone()),
                    ..TopologySpreadConstraint::default()
                });
            }
            PlacementStrategyType::Binpack => report.not_carried(obj, field.clone(), "binpack has no per-pod setting; configure the scheduler's NodeResourcesFit scoring (MostAllocated) cluster-wide"),
            PlacementStrategyType::Random => report.not_carried(obj, field.clone(), "random placement has no Kubernetes setting; the scheduler's scoring decides"),
        }
    }
    if spreads.len() > 1 {
        report.approximated(obj, "spec.placementStrategy", "ordered spread strategies become topology spread constraints of increasing maxSkew (1, 2, ...); Kubernetes weighs them together rather than strictly in order");
    }
    if strategies.is_empty() && is_service {
        spreads.push(TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "topology.kubernetes.io/zone".into(),
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(label_selector.clone()),
            ..TopologySpreadConstraint::default()
        });
    }
    (!spreads.is_empty()).then_some(spreads)
}

/// Placement constraints and the task definition's memberOf expressions → required node
/// affinity (memberOf) and pod anti-affinity on the hostname (distinctInstance).
fn constraints<'a>(
    obj: &ObjectRef,
    task_definition_expressions: &[&'a str],
    constraints: &'a [PlacementConstraint],
    label_selector: &LabelSelector,
    report: &mut Report,
    refusals: &mut Vec<Refusal>,
) -> (Option<NodeAffinity>, Option<PodAntiAffinity>) {
    let mut expressions: Vec<&str> = task_definition_expressions.to_vec();
    let mut anti = None;
    for (i, c) in constraints.iter().enumerate() {
        match c.type_ {
            PlacementConstraintType::DistinctInstance => {
                anti = Some(PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![
                        PodAffinityTerm {
                            label_selector: Some(label_selector.clone()),
                            topology_key: "kubernetes.io/hostname".into(),
                            ..PodAffinityTerm::default()
                        },
                    ]),
                    ..PodAntiAffinity::default()
                });
            }
            PlacementConstraintType::MemberOf => match &c.expression {
                Some(e) => expressions.push(e),
                None => refusals.push(Refusal::new(
                    format!("spec.placementConstraints[{i}].expression"),
                    "memberOf needs an expression",
                )),
            },
        }
    }
    let mut node_affinity = None;
    if !expressions.is_empty() {
        match cql::node_selector_terms(&expressions) {
            Ok(terms) => {
                node_affinity = Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: terms,
                    }),
                    ..NodeAffinity::default()
                });
                let custom = cql::custom_attributes(&expressions);
                if !custom.is_empty() {
                    report.approximated(obj, "spec.placementConstraints", format!("custom attributes are matched as node labels of the same name, which your nodes must carry: {}", custom.join(", ")));
                }
            }
            Err(e) => refusals.push(Refusal::new(
                "spec.placementConstraints",
                format!("memberOf: {e}"),
            )),
        }
    }
    (node_affinity, anti)
}

/// Capacity providers (or the launch type) → the node selector and tolerations of their
/// `capacityProviderMappings` in the cluster; several providers → node affinity preferring
/// them by weight.
fn capacity_providers(
    obj: &ObjectRef,
    (items, cluster_name): (&[CapacityProviderStrategyItem], &str),
    cluster: Option<&EcsCluster>,
    out: &mut Placement,
    node_affinity: &mut Option<NodeAffinity>,
    report: &mut Report,
) {
    let mappings = cluster.and_then(|c| c.spec.capacity_provider_mappings.as_ref());
    let mut mapped = Vec::new();
    for item in placing(items) {
        match mappings.and_then(|m| m.iter().find(|x| x.capacity_provider == item.capacity_provider)) {
            Some(m) => mapped.push((item, m)),
            None => report.not_carried(obj, "spec.capacityProviderStrategy", format!(
                "capacity provider (or launch type) {:?} has no capacityProviderMappings entry in EcsCluster {cluster_name:?}{}; its tasks may run on any node",
                item.capacity_provider,
                if cluster.is_none() { " (the cluster is not in the input)" } else { "" }
            )),
        }
    }
    let mut tolerations: Vec<Toleration> = Vec::new();
    for &(_, m) in &mapped {
        for t in m.tolerations.iter().flatten() {
            if !tolerations.contains(t) {
                tolerations.push(t.clone());
            }
        }
    }
    if !tolerations.is_empty() {
        out.tolerations = Some(tolerations);
    }
    match mapped.as_slice() {
        [] => {}
        [(_, m)] => out.node_selector = m.node_selector.clone().unwrap_or_default(),
        several => {
            prefer_by_weight(several, node_affinity);
            report.approximated(obj, "spec.capacityProviderStrategy", "several capacity providers for a task: its pods may run on any of their nodes (weight-0 providers without a base excluded) and prefer them by weight; ECS places each task by the base/weight split");
        }
    }
}

/// The providers of a strategy that can run tasks: those with a base or a weight above 0
/// (a weight-0 provider runs its base and nothing more, [`super::capacity`]), or the first when none
/// has a weight (a single provider runs every task whatever its weight).
pub fn placing(items: &[CapacityProviderStrategyItem]) -> Vec<&CapacityProviderStrategyItem> {
    let weighted = items.iter().any(|i| i.weight.unwrap_or(0) > 0);
    items
        .iter()
        .enumerate()
        .filter(|(n, i)| {
            i.base.unwrap_or(0) > 0 || i.weight.unwrap_or(0) > 0 || (!weighted && *n == 0)
        })
        .map(|(_, i)| i)
        .collect()
}

/// Pods of several capacity providers may run on any of the providers' nodes (ANDed with the
/// memberOf terms already required), preferring them by weight.
fn prefer_by_weight(
    several: &[(&CapacityProviderStrategyItem, &CapacityProviderMapping)],
    node_affinity: &mut Option<NodeAffinity>,
) {
    let term = |m: &CapacityProviderMapping| NodeSelectorTerm {
        match_expressions: Some(
            m.node_selector
                .iter()
                .flatten()
                .map(|(k, v)| NodeSelectorRequirement {
                    key: k.clone(),
                    operator: "In".into(),
                    values: Some(vec![v.clone()]),
                })
                .collect(),
        ),
        match_fields: None,
    };
    let required: Vec<NodeSelectorTerm> = several.iter().map(|(_, m)| term(m)).collect();
    let total: i32 = several.iter().map(|(i, _)| i.weight.unwrap_or(0)).sum();
    let preferred: Vec<PreferredSchedulingTerm> = several
        .iter()
        .filter(|(i, _)| i.weight.unwrap_or(0) > 0)
        .map(|(i, m)| PreferredSchedulingTerm {
            weight: (100 * i.weight.unwrap_or(0) / total.max(1)).clamp(1, 100),
            preference: term(m),
        })
        .collect();
    let na = node_affinity.get_or_insert_with(NodeAffinity::default);
    let combined = match na
        .required_during_scheduling_ignored_during_execution
        .take()
    {
        // AND the memberOf terms with the provider terms: every pair.
        Some(existing) => existing
            .node_selector_terms
            .iter()
            .flat_map(|a| {
                required.iter().map(move |b| NodeSelectorTerm {
                    match_expressions: Some(
                        a.match_expressions
                            .iter()
                            .flatten()
                            .chain(b.match_expressions.iter().flatten())
                            .cloned()
                            .collect(),
                    ),
                    match_fields: None,
                })
            })
            .collect(),
        None => required,
    };
    na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: combined,
    });
    if !preferred.is_empty() {
        na.preferred_during_scheduling_ignored_during_execution = Some(preferred);
    }
}

/// The EcsCluster named `name` in `namespace` (by clusterName or metadata.name).
pub fn find_cluster<'a>(
    index: &Index<'a>,
    namespace: Option<&str>,
    name: &str,
) -> Option<&'a EcsCluster> {
    index.bundle.clusters.iter().map(|c| &c.object).find(|c| {
        c.metadata.namespace.as_deref() == namespace
            && c.spec
                .cluster_name
                .as_deref()
                .or(c.metadata.name.as_deref())
                == Some(name)
    })
}

/// Where a service's or task's pods may run: what [`place_pods`] reads.
pub struct Where<'a> {
    /// The service or task, for findings.
    pub object: &'a ObjectRef,
    /// A REPLICA service (spread strategies apply), not a DAEMON service or a task.
    pub is_service: bool,
    /// The cluster reference (`None`: `default`).
    pub cluster: Option<&'a str>,
    /// The launch type, used as the capacity provider when no strategy is given.
    pub launch_type: Option<&'a LaunchType>,
    /// The capacity provider strategy, if any.
    pub capacity_provider_strategy: Option<&'a [CapacityProviderStrategyItem]>,
    /// Placement strategies.
    pub strategies: Option<&'a [PlacementStrategy]>,
    /// Placement constraints.
    pub constraints: Option<&'a [PlacementConstraint]>,
    /// The task definition (its own placement constraints apply too).
    pub task_definition: &'a TaskDefinition,
    /// Labels selecting the pods.
    pub selector: &'a BTreeMap<String, String>,
}

/// The capacity provider strategy of `w`: the explicit strategy, else the launch type (as a
/// provider), else the cluster's default strategy; with the cluster's name and the EcsCluster
/// when it is in the input.
fn strategy_of<'a>(
    index: &Index<'a>,
    w: &Where<'a>,
) -> (
    Option<Vec<CapacityProviderStrategyItem>>,
    &'a str,
    Option<&'a EcsCluster>,
) {
    let cluster_name = names::cluster_name(w.cluster);
    let cluster = find_cluster(index, w.object.namespace(), cluster_name);
    let capacity = match (
        w.capacity_provider_strategy.filter(|c| !c.is_empty()),
        w.launch_type,
    ) {
        (Some(items), _) => Some(items.to_vec()),
        (None, Some(lt)) => Some(vec![CapacityProviderStrategyItem {
            capacity_provider: serde_json::to_value(lt)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            ..Default::default()
        }]),
        (None, None) => cluster
            .and_then(|c| c.spec.default_capacity_provider_strategy.clone())
            .filter(|c| !c.is_empty()),
    };
    (capacity.filter(|c| !c.is_empty()), cluster_name, cluster)
}

/// Sets the scheduling fields of `spec` from [`placement`], with `capacity` (the strategy
/// and the cluster's name) as the providers whose nodes the pods may use.
fn set_placement(
    w: &Where<'_>,
    capacity: Option<(Vec<CapacityProviderStrategyItem>, &str)>,
    cluster: Option<&EcsCluster>,
    spec: &mut PodSpec,
    report: &mut Report,
) -> Result<(), Vec<Refusal>> {
    let task_definition_expressions: Vec<&str> = w
        .task_definition
        .spec
        .placement_constraints
        .iter()
        .flatten()
        .map(|c| c.expression.as_str())
        .collect();
    let p = placement(
        PlacementInput {
            object: w.object,
            is_service: w.is_service,
            strategies: w.strategies,
            constraints: w.constraints,
            task_definition_expressions,
            selector: w.selector,
            capacity,
            cluster,
        },
        report,
    )?;
    spec.affinity = p.affinity;
    spec.topology_spread_constraints = p.topology_spread_constraints;
    spec.tolerations = p.tolerations;
    if !p.node_selector.is_empty() {
        spec.node_selector
            .get_or_insert_with(BTreeMap::new)
            .extend(p.node_selector);
    }
    Ok(())
}

/// Sets the scheduling fields of `spec` (affinity, topology spread, tolerations, node
/// selector) from placement and capacity: the explicit capacity provider strategy, else the
/// launch type, else the cluster's default strategy, mapped through the EcsCluster in the
/// input. Several providers (a task's pods) may use any of their nodes, preferring them by
/// weight; a weight-0 provider without a base is left out, as it runs no task. Inexpressible
/// constraints are refused.
pub fn place_pods(
    index: &Index<'_>,
    spec: &mut PodSpec,
    w: Where<'_>,
    report: &mut Report,
) -> Result<(), Vec<Refusal>> {
    let (capacity, cluster_name, cluster) = strategy_of(index, &w);
    set_placement(
        &w,
        capacity.map(|c| (c, cluster_name)),
        cluster,
        spec,
        report,
    )
}

/// The pod label of a per-provider Deployment's pods (and in its selector): the capacity
/// provider's name.
pub const LABEL_CAPACITY_PROVIDER: &str = "ecsplane.io/capacity-provider";

/// A capacity provider of a service's strategy that runs tasks, and what it means on the
/// cluster (`None`: no `capacityProviderMappings` entry, so its pods may use any node).
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    /// The strategy item (name, base, weight).
    pub item: CapacityProviderStrategyItem,
    /// The cluster's mapping of it.
    pub mapping: Option<CapacityProviderMapping>,
}

/// A REPLICA service's placement: the scheduling fields every pod shares are set on `spec`;
/// with one provider that runs tasks its nodes too (one Deployment, as before), and the
/// returned list is empty; with several, the providers that run tasks are returned, in
/// strategy order, for one Deployment each ([`apply_provider`]), and `spec` carries none of
/// their node selectors or tolerations. Unmapped providers are reported.
pub fn place_service_pods(
    index: &Index<'_>,
    spec: &mut PodSpec,
    w: Where<'_>,
    report: &mut Report,
) -> Result<Vec<Provider>, Vec<Refusal>> {
    let (capacity, cluster_name, cluster) = strategy_of(index, &w);
    let items = capacity.unwrap_or_default();
    let runs: Vec<CapacityProviderStrategyItem> = placing(&items).into_iter().cloned().collect();
    if runs.len() <= 1 {
        set_placement(
            &w,
            (!items.is_empty()).then(|| (items.clone(), cluster_name)),
            cluster,
            spec,
            report,
        )?;
        return Ok(Vec::new());
    }
    set_placement(&w, None, cluster, spec, report)?;
    let mappings = cluster.and_then(|c| c.spec.capacity_provider_mappings.as_ref());
    let providers = runs
        .into_iter()
        .map(|item| {
            let mapping = mappings
                .and_then(|m| m.iter().find(|x| x.capacity_provider == item.capacity_provider))
                .cloned();
            if mapping.is_none() {
                report.not_carried(w.object, "spec.capacityProviderStrategy", format!(
                    "capacity provider (or launch type) {:?} has no capacityProviderMappings entry in EcsCluster {cluster_name:?}{}; its tasks may run on any node",
                    item.capacity_provider,
                    if cluster.is_none() { " (the cluster is not in the input)" } else { "" }
                ));
            }
            Provider { item, mapping }
        })
        .collect();
    Ok(providers)
}

/// Adds provider `p`'s node selector and tolerations to a per-provider pod spec.
pub fn apply_provider(spec: &mut PodSpec, p: &Provider) {
    let Some(m) = &p.mapping else {
        return;
    };
    if let Some(selector) = m.node_selector.as_ref().filter(|s| !s.is_empty()) {
        spec.node_selector
            .get_or_insert_with(BTreeMap::new)
            .extend(selector.clone());
    }
    for t in m.tolerations.iter().flatten() {
        let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
        if !tolerations.contains(t) {
            tolerations.push(t.clone());
        }
    }
}

/// The name of service `service`'s Deployment for provider `provider`: `SERVICE-PROVIDER`
/// with the provider in lower case and `_` as `-` (`web-fargate-spot`), which is stable as
/// long as the strategy names the provider. Where that is no DNS label of at most 63
/// characters, or two providers of the strategy would share it, a hashed label
/// ([`names::dns_label`]) of the same text.
pub fn deployment_name(service: &str, provider: &str, strategy: &[Provider]) -> String {
    let plain = |p: &str| format!("{service}-{}", p.to_ascii_lowercase().replace('_', "-"));
    let candidate = plain(provider);
    let clashes = strategy
        .iter()
        .filter(|o| plain(&o.item.capacity_provider) == candidate)
        .count()
        > 1;
    if !clashes && names::dns_label(&candidate) == candidate {
        candidate
    } else {
        names::dns_label(&format!("{service}-{provider}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn run(
        strategies: serde_json::Value,
        constraints: serde_json::Value,
    ) -> (serde_json::Value, Report) {
        let strategies: Vec<PlacementStrategy> = serde_json::from_value(strategies).unwrap();
        let constraints: Vec<PlacementConstraint> = serde_json::from_value(constraints).unwrap();
        let obj = ObjectRef::new("EcsService", None, "web");
        let selector = BTreeMap::from([("ecsplane.io/service".to_owned(), "web".to_owned())]);
        let mut report = Report::default();
        let p = placement(
            PlacementInput {
                object: &obj,
                is_service: true,
                strategies: Some(&strategies),
                constraints: Some(&constraints),
                task_definition_expressions: vec![],
                selector: &selector,
                capacity: None,
                cluster: None,
            },
            &mut report,
        )
        .unwrap();
        (
            json!({"affinity": p.affinity, "topologySpreadConstraints": p.topology_spread_constraints}),
            report,
        )
    }

    #[test]
    fn spread_over_zones_and_hosts_becomes_topology_spread_in_order() {
        let (p, _) = run(
            json!([{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "instanceId"}]),
            json!([]),
        );
        let sel = json!({"matchLabels": {"ecsplane.io/service": "web"}});
        assert_eq!(
            p,
            json!({"affinity": null, "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": sel},
            {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": sel}]})
        );
    }

    #[test]
    fn distinct_instance_becomes_required_anti_affinity_on_the_hostname() {
        let (p, _) = run(
            json!([{"type": "binpack", "field": "memory"}]),
            json!([{"type": "distinctInstance"}]),
        );
        assert_eq!(
            p["affinity"],
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"ecsplane.io/service": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}})
        );
    }

    #[test]
    fn binpack_and_random_are_reported_not_carried() {
        let (_, report) = run(
            json!([{"type": "binpack", "field": "memory"}, {"type": "random"}]),
            json!([]),
        );
        assert_eq!(report.counts(), (0, 0, 2));
    }

    #[test]
    fn the_custom_attribute_note_survives_compound_expressions_with_built_in_attributes() {
        let (_, report) = run(
            json!([]),
            json!([{"type": "memberOf", "expression":
                "attribute:ecs.availability-zone in [us-east-1a] and (attribute:stack equals prod or attribute:ecs.instance-type == t3.large)"}]),
        );
        let notes: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.field == "spec.placementConstraints")
            .map(|f| f.message.as_ref())
            .collect();
        assert_eq!(
            notes,
            [
                "custom attributes are matched as node labels of the same name, which your nodes must carry: stack"
            ]
        );
        let (_, report) = run(
            json!([]),
            json!([{"type": "memberOf", "expression": "attribute:ecs.availability-zone in [us-east-1a]"}]),
        );
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.field != "spec.placementConstraints"),
            "{report}"
        );
    }

    #[test]
    fn services_without_strategy_spread_over_zones_as_ecs_does() {
        let (p, _) = run(json!([]), json!([]));
        assert_eq!(
            p["topologySpreadConstraints"][0]["topologyKey"],
            json!("topology.kubernetes.io/zone")
        );
    }
}
