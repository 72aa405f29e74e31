//! TaskDefinition: every change of the spec registers a new revision, like
//! `aws ecs register-task-definition`. Revisions are ControllerRevisions owned by the
//! TaskDefinition, named `NAME-N`, holding the spec, so `family:N` keeps meaning the same
//! thing after the TaskDefinition changes.
//!
//! The reconcile is the pipeline `resolve` (its revisions) → `translate` (the revision the
//! spec is, and how faithfully it translates) → `apply` (register a new revision) →
//! `task_definition_status`.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::Resource as _;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::ObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::{Value, json};

use super::apply::{self, Owner, stamp};
use super::conditions::{self, Desired};
use super::resolve::LABEL_TASK_DEFINITION;
use super::vocabulary::{ACTIVE, ConditionType, EventAction, EventReason, Reason};
use super::wiring::Wiring;
use super::{Context, RESYNC, ReconcileError, status};
use crate::api::{CommonStatus, TaskDefinition, TaskDefinitionStatus};
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
