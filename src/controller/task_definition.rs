//! TaskDefinition: every change of the spec registers a new revision, like
//! `aws ecs register-task-definition`. Revisions are ControllerRevisions owned by the
//! TaskDefinition, named `NAME-N`, holding the spec, so `family:N` keeps meaning the same
//! thing after the TaskDefinition changes.
//!
//! Old revisions are pruned as ECS treats INACTIVE ones: the newest [`REVISION_HISTORY`]
//! revisions are kept (the history one can roll back to), an older one is INACTIVE and is
//! deleted only once nothing refers to it ([`prunable`]).
//!
//! The reconcile is the pipeline `resolve` (its revisions) → `translate` (the revision the
//! spec is, and how faithfully it translates) → `apply` (register a new revision, prune
//! unreferenced INACTIVE ones) → `task_definition_status`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::Resource as _;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, DeleteParams, ObjectMeta, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::{Value, json};

use super::apply::{self, Owner, stamp};
use super::conditions::{self, Desired};
use super::resolve::LABEL_TASK_DEFINITION;
use super::vocabulary::{ACTIVE, ConditionType, EventAction, EventReason, Reason};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, api_err, status};
use crate::api::{CommonStatus, EcsService, EcsTask, TaskDefinition, TaskDefinitionStatus};
use crate::translate::names;
use crate::translate::pod::{self, Workload};
use crate::translate::report::Report;

/// Runs the TaskDefinition controller until shutdown.
pub(crate) async fn controller(wiring: Wiring) {
    let ctrl = wiring
        .controller::<TaskDefinition>()
        .owns_stream(wiring.changes::<ControllerRevision>());
    wiring.run(ctrl, reconcile).await;
}

/// The spec as stored in a revision: without the stated revision number.
fn revision_data(td: &TaskDefinition) -> Value {
    let mut spec = td.spec.clone();
    spec.revision = None;
    json!({ "spec": spec })
}

async fn reconcile(td: Arc<TaskDefinition>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let revisions = resolve(&ctx, &td).await?;
    let translated = translate(&td, &revisions);
    let current = apply(&ctx, &td, translated.revision).await?;
    prune(&ctx, &td, &revisions, current).await?;
    let previous = td.status.clone().unwrap_or_default();
    let status = task_definition_status(&td, &previous, current, translated.fidelity);
    status::write(&ctx, td.as_ref(), &previous, &status).await?;
    Ok(Action::requeue(RESYNC))
}

/// The revisions the TaskDefinition has registered.
async fn resolve(
    ctx: &Context,
    td: &TaskDefinition,
) -> Result<Vec<ControllerRevision>, ReconcileError> {
    ctx.reader.revisions_of(&Owner::of(td)).await
}

/// The revision the current spec is.
enum Revision {
    /// Already registered, with this number.
    Registered(i64),
    /// To be registered.
    New(Box<ControllerRevision>),
}

/// The spec's revision and how faithfully it translates.
struct Translated {
    revision: Revision,
    /// The `Translated` condition.
    fidelity: Desired,
}

/// The revision the spec is: the latest registered one when it holds this spec, else a new
/// one numbered after it (or as `spec.revision` states, when that is higher); and the
/// `Translated` condition of its pod template.
fn translate(td: &TaskDefinition, revisions: &[ControllerRevision]) -> Translated {
    let name = td.metadata.name.clone().unwrap_or_default();
    let latest = revisions.iter().max_by_key(|r| r.revision);
    let data = revision_data(td);
    let revision = match latest {
        Some(r) if r.data.as_ref().map(|d| &d.0) == Some(&data) => Revision::Registered(r.revision),
        _ => {
            let last = latest.map(|r| r.revision).unwrap_or(0);
            let next = td.spec.revision.filter(|n| *n > last).unwrap_or(last + 1);
            Revision::New(Box::new(ControllerRevision {
                metadata: ObjectMeta {
                    name: Some(format!("{name}-{next}")),
                    labels: Some(BTreeMap::from([
                        (LABEL_TASK_DEFINITION.to_owned(), name.clone()),
                        (
                            names::LABEL_FAMILY.to_owned(),
                            names::dns_label(&td.spec.family),
                        ),
                        (
                            names::LABEL_MANAGED_BY.to_owned(),
                            names::MANAGED_BY.to_owned(),
                        ),
                    ])),
                    ..ObjectMeta::default()
                },
                data: Some(RawExtension(data)),
                revision: next,
            }))
        }
    };
    let mut report = Report::default();
    let fidelity = match pod::pod_template(td, Workload::Service, &mut report) {
        Ok(_) => conditions::translated(&report.finish()),
        Err(refusals) => Desired::new(
            ConditionType::Translated,
            false,
            Reason::Invalid,
            refusals
                .iter()
                .map(|r| format!("{}: {}", r.field, r.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    Translated { revision, fidelity }
}

/// Registers a new revision (with an Event); returns the number of the spec's revision.
async fn apply(
    ctx: &Context,
    td: &TaskDefinition,
    revision: Revision,
) -> Result<i64, ReconcileError> {
    let rev = match revision {
        Revision::Registered(n) => return Ok(n),
        Revision::New(rev) => rev,
    };
    let family = &td.spec.family;
    let number = rev.revision;
    let name = rev.metadata.name.clone().unwrap_or_default();
    let action = || format!("register revision {family}:{number}");
    let mut obj = apply::to_json(&rev, action)?;
    obj["apiVersion"] = json!(ControllerRevision::API_VERSION);
    obj["kind"] = json!(ControllerRevision::KIND);
    let owner = Owner::of(td);
    stamp(&mut obj, &owner);
    apply::apply_one::<ControllerRevision>(ctx, &owner.namespace, &name, &obj, action).await?;
    ctx.event(
        td,
        EventType::Normal,
        EventReason::Registered,
        EventAction::RegisterTaskDefinition,
        format!("registered revision {family}:{number}"),
    )
    .await;
    Ok(number)
}

/// How many of a TaskDefinition's newest revisions are kept whatever refers to them (as a
/// Deployment's `revisionHistoryLimit` keeps ReplicaSets). Older revisions are INACTIVE.
pub const REVISION_HISTORY: usize = 10;

/// The revision numbers of `family` that `services` and `tasks` refer to: a service's
/// `spec.taskDefinition` naming a revision, its `status.taskDefinition` and every
/// `status.deployments[].taskDefinition` (the revisions its tasks run, the rollback target of
/// the circuit breaker); a task's `spec.taskDefinition` and `status.taskDefinition`. A
/// reference without a revision resolves to the newest, which is always kept.
pub fn referenced(family: &str, services: &[EcsService], tasks: &[EcsTask]) -> BTreeSet<i64> {
    let mut refs: Vec<&str> = Vec::new();
    for s in services {
        refs.push(&s.spec.task_definition);
        if let Some(status) = &s.status {
            refs.extend(status.task_definition.as_deref());
            refs.extend(
                status
                    .deployments
                    .iter()
                    .filter_map(|d| d.task_definition.as_deref()),
            );
        }
    }
    for t in tasks {
        refs.push(&t.spec.task_definition);
        refs.extend(t.status.as_ref().and_then(|s| s.task_definition.as_deref()));
    }
    refs.into_iter()
        .filter_map(|r| match names::task_definition_ref(r) {
            (f, Some(n)) if f == family => Some(n),
            _ => None,
        })
        .collect()
}

/// The revisions to delete: neither `current` (the spec's revision) nor among the newest
/// [`REVISION_HISTORY`], nor in `referenced` (INACTIVE revisions something still uses).
pub fn prunable<'a>(
    revisions: &'a [ControllerRevision],
    current: i64,
    referenced: &BTreeSet<i64>,
) -> Vec<&'a ControllerRevision> {
    let mut newest_first: Vec<&ControllerRevision> = revisions.iter().collect();
    newest_first.sort_by_key(|r| std::cmp::Reverse(r.revision));
    newest_first
        .into_iter()
        .skip(REVISION_HISTORY)
        .filter(|r| r.revision != current && !referenced.contains(&r.revision))
        .collect()
}

/// Deletes the INACTIVE revisions nothing refers to. Services and tasks are read only when
/// there are revisions beyond the history to consider.
async fn prune(
    ctx: &Context,
    td: &TaskDefinition,
    revisions: &[ControllerRevision],
    current: i64,
) -> Result<(), ReconcileError> {
    if prunable(revisions, current, &BTreeSet::new()).is_empty() {
        return Ok(());
    }
    let ns = td.metadata.namespace.as_deref().unwrap_or_default();
    let services = ctx.reader.services(ns).await?;
    let tasks = ctx.reader.tasks(ns).await?;
    let family = &td.spec.family;
    let referenced = referenced(family, &services, &tasks);
    let api = Api::<ControllerRevision>::namespaced(ctx.client.clone(), ns);
    for r in prunable(revisions, current, &referenced) {
        let name = r.metadata.name.as_deref().unwrap_or_default();
        let params = DeleteParams {
            preconditions: r.metadata.uid.clone().map(|uid| Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match api.delete(name, &params).await {
            Ok(_) => {
                tracing::info!(revision = %format!("{family}:{}", r.revision), "pruned: INACTIVE and referred to by nothing")
            }
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => {
                return Err(api_err(format!("prune revision {family}:{}", r.revision))(
                    e,
                ));
            }
        }
    }
    Ok(())
}

/// The status: the registered revision, Ready, and how faithfully it translates.
fn task_definition_status(
    td: &TaskDefinition,
    previous: &TaskDefinitionStatus,
    current: i64,
    fidelity: Desired,
) -> TaskDefinitionStatus {
    let family = &td.spec.family;
    TaskDefinitionStatus {
        revision: Some(current),
        task_definition: Some(format!("{family}:{current}")),
        status: Some(ACTIVE.into()),
        common: CommonStatus {
            observed_generation: td.metadata.generation,
            conditions: conditions::merge(
                &previous.common.conditions,
                vec![
                    Desired::new(
                        ConditionType::Ready,
                        true,
                        Reason::Registered,
                        format!("registered as {family}:{current}"),
                    ),
                    fidelity,
                ],
                td.metadata.generation,
                &conditions::now(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: i64) -> ControllerRevision {
        ControllerRevision {
            metadata: ObjectMeta {
                name: Some(format!("web-{n}")),
                ..ObjectMeta::default()
            },
            data: None,
            revision: n,
        }
    }

    fn numbers(rs: Vec<&ControllerRevision>) -> Vec<i64> {
        let mut out: Vec<i64> = rs.into_iter().map(|r| r.revision).collect();
        out.sort();
        out
    }

    #[test]
    fn the_newest_revisions_are_kept_whatever_refers_to_them() {
        let revisions: Vec<_> = (1..=REVISION_HISTORY as i64).map(revision).collect();
        assert!(prunable(&revisions, REVISION_HISTORY as i64, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn an_inactive_revision_is_pruned_only_once_nothing_refers_to_it() {
        let revisions: Vec<_> = (1..=14).map(revision).collect();
        let referenced = BTreeSet::from([2]);
        assert_eq!(
            numbers(prunable(&revisions, 14, &referenced)),
            vec![1, 3, 4]
        );
    }

    #[test]
    fn the_current_revision_is_never_pruned_even_when_a_stated_revision_is_old() {
        let mut revisions: Vec<_> = (20..=31).map(revision).collect();
        revisions.push(revision(3));
        assert_eq!(
            numbers(prunable(&revisions, 3, &BTreeSet::new())),
            vec![20, 21]
        );
    }

    fn service(spec_ref: &str, status_ref: Option<&str>, deployed: &[&str]) -> EcsService {
        let mut svc: EcsService = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "EcsService",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"taskDefinition": spec_ref},
        }))
        .expect("a service");
        let mut status = crate::api::EcsServiceStatus {
            task_definition: status_ref.map(str::to_owned),
            ..Default::default()
        };
        for d in deployed {
            status.deployments.push(crate::api::ServiceDeployment {
                task_definition: Some((*d).to_owned()),
                ..Default::default()
            });
        }
        svc.status = Some(status);
        svc
    }

    #[test]
    fn services_refer_to_revisions_by_spec_status_and_every_deployment_of_the_family_only() {
        let services = [
            service("web", Some("web:7"), &["web:7", "web:5"]),
            service("web:2", None, &[]),
            service("api:3", Some("api:3"), &[]),
            service(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web:9",
                None,
                &[],
            ),
        ];
        let task: EcsTask = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "EcsTask",
            "metadata": {"name": "once", "namespace": "shop"},
            "spec": {"taskDefinition": "web:1"},
        }))
        .expect("a task");
        assert_eq!(
            referenced("web", &services, &[task]),
            BTreeSet::from([1, 2, 5, 7, 9])
        );
    }
}
