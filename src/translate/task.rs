//! EcsTask → `count` Pods with the overrides applied and restartPolicy Never: a standalone
//! task runs once, and ECS does not restart it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::bundle::Sourced;
use super::identity;
use super::model::{Index, Object, Refusal, common_labels, label_value};
use super::names;
use super::placement::{Where, place_pods};
use super::pod::{self, Workload};
use super::report::{ObjectRef, Report};
use crate::api::{EcsTask, EcsTaskSpec, KeyValuePair, TaskDefinition, TaskOverride};

/// A task definition's namespace and name.
pub type TdKey = (Option<String>, Option<String>);

/// The ObjectRef of a task for findings.
pub fn object_ref(t: &EcsTask) -> ObjectRef {
    ObjectRef::new(
        "EcsTask",
        t.metadata.namespace.as_deref(),
        t.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// The task definition with RunTask overrides applied, or the container an override names
/// that does not exist.
pub fn apply_overrides(
    td: &TaskDefinition,
    o: &TaskOverride,
) -> Result<TaskDefinition, Vec<Refusal>> {
    let mut td = td.clone();
    let TaskOverride {
        container_overrides,
        cpu,
        memory,
        execution_role_arn,
        task_role_arn,
        ephemeral_storage,
        inference_accelerator_overrides,
    } = o;
    let mut refusals = Vec::new();
    if let Some(c) = cpu {
        td.spec.cpu = Some(IntOrString::String(c.clone()));
    }
    if let Some(m) = memory {
        td.spec.memory = Some(IntOrString::String(m.clone()));
    }
    if execution_role_arn.is_some() {
        td.spec.execution_role_arn = execution_role_arn.clone();
    }
    if task_role_arn.is_some() {
        td.spec.task_role_arn = task_role_arn.clone();
    }
    if ephemeral_storage.is_some() {
        td.spec.ephemeral_storage = ephemeral_storage.clone();
    }
    if inference_accelerator_overrides
        .as_ref()
        .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()))
    {
        refusals.push(Refusal::new(
            "spec.overrides.inferenceAcceleratorOverrides",
            "Elastic Inference accelerators are retired by AWS and have no Kubernetes equivalent",
        ));
    }
    for (i, co) in container_overrides.iter().flatten().enumerate() {
        let Some(c) = td
            .spec
            .container_definitions
            .iter_mut()
            .find(|c| c.name == co.name)
        else {
            refusals.push(Refusal::reference(
                format!("spec.overrides.containerOverrides[{i}].name"),
                format!(
                    "container {:?} is not in task definition {}",
                    co.name,
                    pod::task_definition_id(&td)
                ),
            ));
            continue;
        };
        if co.command.is_some() {
            c.command = co.command.clone();
        }
        if let Some(env) = &co.environment {
            let mut merged: Vec<KeyValuePair> = c.environment.clone().unwrap_or_default();
            for kv in env {
                match merged.iter_mut().find(|m| m.name == kv.name) {
                    Some(m) => m.value = kv.value.clone(),
                    None => merged.push(kv.clone()),
                }
            }
            c.environment = Some(merged);
        }
        if let Some(files) = &co.environment_files {
            c.environment_files
                .get_or_insert_with(Vec::new)
                .extend(files.iter().cloned());
        }
        if co.cpu.is_some() {
            c.cpu = co.cpu;
        }
        if co.memory.is_some() {
            c.memory = co.memory;
        }
        if co.memory_reservation.is_some() {
            c.memory_reservation = co.memory_reservation;
        }
        if co.resource_requirements.is_some() {
            c.resource_requirements = co.resource_requirements.clone();
        }
    }
    if refusals.is_empty() {
        Ok(td)
    } else {
        Err(refusals)
    }
}

/// Why a task could not be translated: the task definitions it tried and the refusals.
pub type TaskRefusal = (Vec<TdKey>, Vec<Refusal>);

/// A task's pod as one RunTask request makes it, shared by the EcsTask (its Pods) and the
/// EcsScheduledTask (its CronJob's Job template): overrides applied, placement, identity,
/// restartPolicy Never, and a report line for every RunTask field that is not carried.
pub struct TaskPod {
    /// The task definition used.
    pub task_definition: TdKey,
    /// The pod spec.
    pub spec: PodSpec,
    /// The pods' labels: the common labels, the owner's label and the family.
    pub labels: BTreeMap<String, String>,
    /// The pods' annotations (the task definition's id, `startedBy`).
    pub annotations: BTreeMap<String, String>,
    /// The ServiceAccount of the task role, if any.
    pub service_account: Option<Object>,
}

/// The pod one RunTask request (`spec`) of the object `obj` named `name` runs; its pods carry
/// the label `owner_label: name`, which also scopes spread placement. Report lines are about
/// the fields of `spec` (at `spec.…`).
pub fn task_pod(
    index: &Index<'_>,
    obj: &ObjectRef,
    owner_label: &str,
    spec: &EcsTaskSpec,
    report: &mut Report,
) -> Result<TaskPod, TaskRefusal> {
    let name = obj.name().to_owned();
    let ns = obj.namespace();
    let EcsTaskSpec {
        cluster,
        task_definition,
        count: _, // how many pods: the caller's
        group,
        started_by,
        launch_type,
        capacity_provider_strategy,
        platform_version,
        overrides,
        placement_constraints,
        placement_strategy,
        network_configuration,
        enable_execute_command,
        enable_ecs_managed_tags,
        propagate_tags,
        tags,
        volume_configurations,
        client_token: _, // an idempotency token; nothing to carry
    } = spec;
    let (sourced, note) = index
        .task_definition(ns, task_definition, &format!("{} {name}", obj.kind()))
        .map_err(|r| (vec![], vec![r]))?;
    let key = (
        sourced.object.metadata.namespace.clone(),
        sourced.object.metadata.name.clone(),
    );
    if let Some(n) = note {
        report.note(obj, "spec.taskDefinition", n);
    }
    let td = match overrides {
        Some(o) => apply_overrides(&sourced.object, o).map_err(|r| (vec![key.clone()], r))?,
        None => sourced.object.clone(),
    };
    let mut template =
        pod::pod_template(&td, Workload::Task, report).map_err(|r| (vec![key.clone()], r))?;
    let mut labels = common_labels();
    labels.insert(owner_label.to_owned(), name.clone());
    let selector = BTreeMap::from([(owner_label.to_owned(), name.clone())]);
    place_pods(
        index,
        &mut template.spec,
        Where {
            object: obj,
            is_service: false,
            cluster: cluster.as_deref(),
            launch_type: launch_type.as_ref(),
            capacity_provider_strategy: capacity_provider_strategy.as_deref(),
            strategies: placement_strategy.as_deref(),
            constraints: placement_constraints.as_deref(),
            task_definition: &td,
            selector: &selector,
        },
        report,
    )
    .map_err(|r| (vec![key.clone()], r))?;
    template.spec.restart_policy = Some("Never".into());
    if group.is_some() {
        report.not_carried(
            obj,
            "spec.group",
            format!(
                "task groups only scope ECS spread placement; the pods are spread per {}",
                obj.kind()
            ),
        );
    }
    if platform_version.is_some() {
        report.not_carried(
            obj,
            "spec.platformVersion",
            "the Fargate platform version only means something inside AWS",
        );
    }
    if network_configuration.is_some() {
        report.not_carried(
            obj,
            "spec.networkConfiguration",
            "subnets and security groups only mean something inside AWS",
        );
    }
    if enable_execute_command == &Some(true) {
        report.approximated(
            obj,
            "spec.enableExecuteCommand",
            "ECS Exec becomes kubectl exec, governed by RBAC",
        );
    }
    if enable_ecs_managed_tags.is_some()
        || propagate_tags.is_some()
        || tags.as_ref().is_some_and(|t| !t.is_empty())
    {
        report.not_carried(
            obj,
            "spec.tags",
            "AWS tags have no effect on Kubernetes objects",
        );
    }
    if volume_configurations.is_some() {
        report.not_carried(
            obj,
            "spec.volumeConfigurations",
            "EBS volumes configured at launch are not translated",
        );
    }
    let mut annotations = template.annotations.clone();
    annotations.insert(
        names::ANNOTATION_TASK_DEFINITION.to_owned(),
        pod::task_definition_id(&td),
    );
    if let Some(s) = started_by {
        annotations.insert("ecsplane.io/started-by".into(), s.clone());
    }
    let mut pod_labels = labels.clone();
    pod_labels.insert(names::LABEL_FAMILY.to_owned(), label_value(&td.spec.family));
    let service_account = identity::run_as_task_role(
        &mut template.spec,
        template.task_role_arn.as_deref(),
        &name,
        ns,
        &labels,
    );
    Ok(TaskPod {
        task_definition: key,
        spec: template.spec,
        labels: pod_labels,
        annotations,
        service_account: service_account.map(|sa| Object::ServiceAccount(Box::new(sa))),
    })
}

/// Translates one EcsTask into its Pods (and ServiceAccount for a task role).
pub fn translate_task(
    index: &Index<'_>,
    t: &Sourced<EcsTask>,
    report: &mut Report,
) -> Result<(TdKey, Vec<Object>), TaskRefusal> {
    let task = &t.object;
    let obj = object_ref(task);
    let name = task.metadata.name.clone().unwrap_or_default();
    let ns = task.metadata.namespace.as_deref();
    let p = task_pod(index, &obj, names::LABEL_TASK, &task.spec, report)?;
    let mut objects: Vec<Object> = p.service_account.into_iter().collect();
    for i in 0..task.spec.count.unwrap_or(1) {
        objects.push(Object::Pod(Box::new(Pod {
            metadata: ObjectMeta {
                name: Some(format!("{name}-{i}")),
                namespace: ns.map(str::to_owned),
                labels: Some(p.labels.clone()),
                annotations: Some(p.annotations.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(p.spec.clone()),
            status: None,
        })));
    }
    Ok((p.task_definition, objects))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use crate::translate::{Translation, translate};

    const TASK_DEFINITION: &str = "apiVersion: ecsplane.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: migrate}\nspec:\n  family: migrate\n  revision: 4\n  containerDefinitions:\n  - name: app\n    image: example/app:1.2\n    command: [serve]\n    cpu: 256\n    memory: 512\n    environment: [{name: MODE, value: web}, {name: LOG, value: info}]\n";

    fn render(task_spec: &str) -> Result<Translation, crate::translate::bundle::Errors> {
        let text = format!(
            "{TASK_DEFINITION}---\napiVersion: ecsplane.io/v1alpha1\nkind: EcsTask\nmetadata: {{name: migrate-db}}\nspec: {task_spec}\n"
        );
        let (bundle, errors) = crate::load::load_str("task.yaml", &text);
        assert!(errors.is_empty(), "{errors}");
        translate(&bundle)
    }

    fn objects(t: &Translation) -> Vec<Value> {
        t.objects
            .iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect()
    }

    /// RunTask with `count` 2 and a container override: two Pods named by index, the
    /// override's command as args, its environment merged over the task definition's, its
    /// CPU units as a request and memory as the limit, and restartPolicy Never (ECS never
    /// restarts a standalone task).
    #[test]
    fn a_task_becomes_count_pods_with_the_overrides_applied_that_never_restart() {
        let t = render(
            "{taskDefinition: 'migrate:4', count: 2, startedBy: ci-pipeline, overrides: {containerOverrides: [{name: app, command: [migrate, --all], environment: [{name: MODE, value: migrate}, {name: DRY_RUN, value: 'false'}], cpu: 512, memory: 1024}]}}",
        )
        .unwrap();
        let pod = |i: usize| {
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("migrate-db-{i}"),
                    "labels": {
                        "app.kubernetes.io/managed-by": "ecsplane",
                        "ecsplane.io/family": "migrate",
                        "ecsplane.io/task": "migrate-db"
                    },
                    "annotations": {
                        "ecsplane.io/started-by": "ci-pipeline",
                        "ecsplane.io/task-definition": "migrate:4"
                    }
                },
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": "example/app:1.2",
                        "args": ["migrate", "--all"],
                        "env": [
                            {"name": "MODE", "value": "migrate"},
                            {"name": "LOG", "value": "info"},
                            {"name": "DRY_RUN", "value": "false"}
                        ],
                        "resources": {
                            "limits": {"memory": "1Gi"},
                            "requests": {"cpu": "500m", "memory": "1Gi"}
                        }
                    }],
                    "restartPolicy": "Never"
                }
            })
        };
        assert_eq!(objects(&t), [pod(0), pod(1)]);
    }

    #[test]
    fn without_overrides_one_pod_runs_the_task_definition_as_registered() {
        let t = render("{taskDefinition: migrate}").unwrap();
        let objects = objects(&t);
        assert_eq!(objects.len(), 1, "count defaults to 1");
        assert_eq!(objects[0]["metadata"]["name"], "migrate-db-0");
        assert_eq!(
            objects[0]["spec"]["containers"][0],
            json!({
                "name": "app",
                "image": "example/app:1.2",
                "args": ["serve"],
                "env": [{"name": "MODE", "value": "web"}, {"name": "LOG", "value": "info"}],
                "resources": {
                    "limits": {"memory": "512Mi"},
                    "requests": {"cpu": "250m", "memory": "512Mi"}
                }
            })
        );
        assert_eq!(objects[0]["spec"]["restartPolicy"], "Never");
        assert!(
            objects[0]["metadata"]["annotations"]
                .get("ecsplane.io/started-by")
                .is_none()
        );
    }

    /// Task-level cpu and memory overrides size the pod as a whole.
    #[test]
    fn task_size_overrides_become_pod_level_resources() {
        let with =
            render("{taskDefinition: migrate, overrides: {cpu: '1024', memory: '2048'}}").unwrap();
        let without = render("{taskDefinition: migrate}").unwrap();
        let (with, without) = (objects(&with), objects(&without));
        assert_eq!(without[0]["spec"].get("resources"), None);
        assert_eq!(
            with[0]["spec"]["resources"],
            json!({"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}})
        );
    }

    /// A task role override becomes a ServiceAccount named after the task, carrying the IRSA
    /// annotation, and the pods run as it.
    #[test]
    fn a_task_role_override_gives_the_pods_a_service_account() {
        let t = render("{taskDefinition: migrate, overrides: {taskRoleArn: 'arn:aws:iam::123456789012:role/migrator'}}").unwrap();
        let objects = objects(&t);
        assert_eq!(objects[0]["kind"], "ServiceAccount");
        assert_eq!(objects[0]["metadata"]["name"], "migrate-db");
        assert_eq!(
            objects[0]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::123456789012:role/migrator"
        );
        assert_eq!(objects[1]["spec"]["serviceAccountName"], "migrate-db");
    }

    #[test]
    fn an_override_of_a_container_the_task_definition_lacks_is_refused_naming_the_field() {
        let errors = render("{taskDefinition: migrate, overrides: {containerOverrides: [{name: nope, command: [x]}]}}").unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(
            errors.0[0].field,
            "spec.overrides.containerOverrides[0].name"
        );
        assert!(
            errors.0[0]
                .message
                .contains("container \"nope\" is not in task definition migrate:4"),
            "{}",
            errors.0[0].message
        );
    }

    #[test]
    fn the_task_group_is_reported_as_not_carried() {
        let t = render("{taskDefinition: migrate, group: 'family:migrate'}").unwrap();
        let f = t
            .report
            .findings
            .iter()
            .find(|f| f.field == "spec.group")
            .expect("reported");
        assert_eq!(f.fidelity, crate::translate::report::Fidelity::NotCarried);
        assert_eq!(f.object.to_string(), "EcsTask migrate-db");
    }
}
