//! Looking up what an object refers to on the cluster and assembling the [`Bundle`] the pure
//! translation takes, so the operator runs exactly the translation `ecsplane render` runs.

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::api::{Api, ListParams};

use super::{Context, ReconcileError, api_err};
use crate::api::{EcsCluster, TargetGroup, TaskDefinition};
use crate::translate::bundle::{Error, ErrorKind, Origin, Sourced};
use crate::translate::names;

/// Label on a TaskDefinition's ControllerRevisions: the TaskDefinition's name.
pub const LABEL_TASK_DEFINITION: &str = "ecsplane.io/task-definition";

/// Where an object read from the cluster "comes from", for the translation's messages.
pub fn origin(kind: &str, namespace: &str, name: &str) -> Origin {
    Origin::cluster(kind, namespace, name)
}

/// An object read from the cluster, for a bundle.
pub fn sourced<K: kube::Resource<DynamicType = ()>>(obj: K) -> Sourced<K> {
    let m = obj.meta();
    let origin = origin(
        &K::kind(&()),
        m.namespace.as_deref().unwrap_or_default(),
        m.name.as_deref().unwrap_or_default(),
    );
    Sourced {
        origin,
        object: obj,
    }
}

/// Every registered revision of task definition family `family` in `namespace`, as
/// TaskDefinitions stating their revision, oldest first.
pub async fn revisions(
    ctx: &Context,
    namespace: &str,
    family: &str,
) -> Result<Vec<TaskDefinition>, ReconcileError> {
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(&format!(
            "{}={}",
            names::LABEL_FAMILY,
            names::dns_label(family)
        )))
        .await
        .map_err(api_err(format!(
            "list revisions of task definition family {family}"
        )))?;
    let mut out: Vec<TaskDefinition> = list
        .items
        .into_iter()
        .filter_map(|r| revision_object(&r))
        .filter(|td| td.spec.family == family)
        .collect();
    out.sort_by_key(|td| td.spec.revision);
    Ok(out)
}

/// The TaskDefinition a ControllerRevision holds (its spec, stating the revision).
pub fn revision_object(r: &ControllerRevision) -> Option<TaskDefinition> {
    let td_name = r
        .metadata
        .labels
        .as_ref()?
        .get(LABEL_TASK_DEFINITION)?
        .clone();
    let spec = r.data.as_ref()?.0.get("spec")?.clone();
    let mut spec: crate::api::TaskDefinitionSpec = serde_json::from_value(spec).ok()?;
    spec.revision = Some(r.revision);
    let mut td = TaskDefinition::new(&td_name, spec);
    td.metadata.namespace = r.metadata.namespace.clone();
    Some(td)
}

/// A task definition reference resolved to one registered revision.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The TaskDefinition at that revision (stating it).
    pub task_definition: TaskDefinition,
    /// `family:revision`.
    pub family_revision: String,
}

/// Resolves `reference` (`family`, `family:N` or an ARN) in `namespace`. A reference without
/// a revision uses `pinned` when it names a registered revision of the family (the revision
/// resolved when the referrer last changed, as ECS stores the resolved ARN), else the latest.
/// `Ok(Err(message))` when nothing matches.
pub async fn task_definition(
    ctx: &Context,
    namespace: &str,
    reference: &str,
    pinned: Option<&str>,
) -> Result<Result<Resolved, String>, ReconcileError> {
    let (family, revision) = names::task_definition_ref(reference);
    let all = revisions(ctx, namespace, family).await?;
    let pinned_revision = pinned.and_then(|p| {
        let (f, r) = names::task_definition_ref(p);
        (f == family).then_some(r).flatten()
    });
    let found = match revision.or(pinned_revision) {
        Some(n) => all
            .iter()
            .find(|td| td.spec.revision == Some(n))
            .or(if revision.is_none() { all.last() } else { None }),
        None => all.last(),
    };
    Ok(match found {
        Some(td) => Ok(Resolved {
            family_revision: format!("{family}:{}", td.spec.revision.unwrap_or_default()),
            task_definition: td.clone(),
        }),
        None if all.is_empty() => Err(format!(
            "task definition {reference:?} is not registered: no TaskDefinition of family {family:?} in namespace {namespace} (yet)"
        )),
        None => Err(format!(
            "task definition {reference:?} is not registered: family {family:?} has revisions {}",
            all.iter()
                .map(|t| t.spec.revision.unwrap_or_default().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })
}

/// Every TargetGroup in `namespace`.
pub async fn target_groups(
    ctx: &Context,
    namespace: &str,
) -> Result<Vec<Sourced<TargetGroup>>, ReconcileError> {
    let api: Api<TargetGroup> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(api
        .list(&ListParams::default())
        .await
        .map_err(api_err("list TargetGroups"))?
        .items
        .into_iter()
        .map(sourced)
        .collect())
}

/// The EcsCluster named by a `cluster` reference, if it exists.
pub async fn cluster(
    ctx: &Context,
    namespace: &str,
    reference: Option<&str>,
) -> Result<Vec<Sourced<EcsCluster>>, ReconcileError> {
    let api: Api<EcsCluster> = Api::namespaced(ctx.client.clone(), namespace);
    let name = names::cluster_name(reference);
    Ok(api
        .get_opt(name)
        .await
        .map_err(api_err(format!("get EcsCluster {namespace}/{name}")))?
        .map(sourced)
        .into_iter()
        .collect())
}

/// The short form of translation errors for a condition message: `field: message; …`.
pub fn summarize(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The condition reason for translation errors: `ReferenceNotFound` when every error is an
/// unresolved reference, else `Invalid`.
pub fn reason(errors: &[Error]) -> &'static str {
    if errors.iter().all(|e| e.kind == ErrorKind::Reference) {
        "ReferenceNotFound"
    } else {
        "Invalid"
    }
}
