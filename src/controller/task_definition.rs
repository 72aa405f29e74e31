//! TaskDefinition: every change of the spec registers a new revision, like
//! `aws ecs register-task-definition`. Revisions are ControllerRevisions owned by the
//! TaskDefinition, named `NAME-N`, holding the spec, so `family:N` keeps meaning the same
//! thing after the TaskDefinition changes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::EventType;
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::apply::{LABEL_OWNER, Owner, stamp};
use super::conditions::{self, Desired};
use super::resolve::LABEL_TASK_DEFINITION;
use super::{
    Context, FIELD_MANAGER, RESYNC, ReadyCounter, ReconcileError, api_err, drive, error_policy,
    timed,
};
use crate::api::{TaskDefinition, TaskDefinitionStatus};
use crate::translate::names;
use crate::translate::pod::{self, Workload};
use crate::translate::report::Report;

const KIND: &str = "TaskDefinition";

/// Runs the TaskDefinition controller until `shutdown`.
pub(crate) async fn controller(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ready: Arc<ReadyCounter>,
) {
    let ctrl = Controller::new(ctx.api::<TaskDefinition>(), watcher::Config::default())
        .owns(
            ctx.api::<ControllerRevision>(),
            watcher::Config::default().labels(LABEL_TASK_DEFINITION),
        )
        .graceful_shutdown_on(shutdown);
    tokio::spawn(ready.when_listed(KIND, ctx.api::<TaskDefinition>()));
    drive(KIND, ctrl.run(reconcile, error_policy, ctx)).await;
}

/// The spec as stored in a revision: without the stated revision number.
fn revision_data(td: &TaskDefinition) -> Value {
    let mut spec = td.spec.clone();
    spec.revision = None;
    json!({ "spec": spec })
}

async fn reconcile(td: Arc<TaskDefinition>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    timed(&ctx, KIND, async {
        let ns = td.metadata.namespace.clone().unwrap_or_default();
        let name = td.metadata.name.clone().unwrap_or_default();
        let family = td.spec.family.clone();
        let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
        let owner = Owner::of(td.as_ref());
        let existing = api
            .list(&ListParams::default().labels(&owner.selector()))
            .await
            .map_err(api_err(format!("list revisions of TaskDefinition {ns}/{name}")))?
            .items;
        let latest = existing.iter().max_by_key(|r| r.revision);
        let data = revision_data(&td);
        let current = match latest {
            Some(r) if r.data.as_ref().map(|d| &d.0) == Some(&data) => r.revision,
            _ => {
                let last = latest.map(|r| r.revision).unwrap_or(0);
                let next = td.spec.revision.filter(|n| *n > last).unwrap_or(last + 1);
                let mut rev = serde_json::to_value(ControllerRevision {
                    metadata: ObjectMeta {
                        name: Some(format!("{name}-{next}")),
                        labels: Some(BTreeMap::from([
                            (LABEL_TASK_DEFINITION.to_owned(), name.clone()),
                            (names::LABEL_FAMILY.to_owned(), names::dns_label(&family)),
                            (names::LABEL_MANAGED_BY.to_owned(), names::MANAGED_BY.to_owned()),
                        ])),
                        ..ObjectMeta::default()
                    },
                    data: Some(RawExtension(data)),
                    revision: next,
                })
                .map_err(|source| ReconcileError::Serialize {
                    what: "ControllerRevision".into(),
                    source,
                })?;
                rev["apiVersion"] = json!("apps/v1");
                rev["kind"] = json!("ControllerRevision");
                stamp(&mut rev, &owner);
                debug_assert!(rev["metadata"]["labels"][LABEL_OWNER].is_string());
                api.patch(
                    &format!("{name}-{next}"),
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&rev),
                )
                .await
                .map_err(api_err(format!("register revision {family}:{next}")))?;
                ctx.event(
                    td.as_ref(),
                    EventType::Normal,
                    "Registered",
                    "RegisterTaskDefinition",
                    format!("registered revision {family}:{next}"),
                )
                .await;
                next
            }
        };
        let mut report = Report::default();
        let translated = pod::pod_template(&td, Workload::Service, &mut report);
        let (approximated, not_carried, _) = report.finish().counts();
        let translated = match translated {
            Ok(_) => Desired::new(
                "Translated",
                true,
                if approximated + not_carried == 0 { "Exact" } else { "WithDifferences" },
                format!(
                    "{approximated} field(s) approximated, {not_carried} not carried; `ecsplane render` lists them"
                ),
            ),
            Err(refusals) => Desired::new(
                "Translated",
                false,
                "Invalid",
                refusals
                    .iter()
                    .map(|r| format!("{}: {}", r.field, r.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        let previous = td.status.clone().unwrap_or_default();
        let status = TaskDefinitionStatus {
            revision: Some(current),
            task_definition: Some(format!("{family}:{current}")),
            status: Some("ACTIVE".into()),
            common: crate::api::CommonStatus {
                observed_generation: td.metadata.generation,
                conditions: conditions::merge(
                    &previous.common.conditions,
                    vec![
                        Desired::new("Ready", true, "Registered", format!("registered as {family}:{current}")),
                        translated,
                    ],
                    td.metadata.generation,
                    &conditions::now(),
                ),
            },
        };
        if status != previous {
            Api::<TaskDefinition>::namespaced(ctx.client.clone(), &ns)
                .patch_status(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(json!({
                        "apiVersion": "ecsplane.io/v1alpha1",
                        "kind": KIND,
                        "status": status,
                    })),
                )
                .await
                .map_err(api_err(format!("write status of TaskDefinition {ns}/{name}")))?;
        }
        Ok(Action::requeue(RESYNC))
    })
    .await
}
