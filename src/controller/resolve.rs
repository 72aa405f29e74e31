//! The resolve step: looking up what an object refers to on the cluster and assembling the
//! [`Bundle`](crate::translate::bundle::Bundle) the pure translation takes, so the operator runs exactly
//! the translation `ecsplane render` runs.

use k8s_openapi::api::apps::v1::ControllerRevision;

use super::vocabulary::Reason;
use super::{Context, ReconcileError};
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
    let mut out: Vec<TaskDefinition> = ctx
        .reader
        .family_revisions(namespace, family)
        .await?
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
    Ok(ctx
        .reader
        .target_groups(namespace)
        .await?
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
    let name = names::cluster_name(reference);
    Ok(ctx
        .reader
        .cluster(namespace, name)
        .await?
        .map(sourced)
        .into_iter()
        .collect())
}

/// Why an object cannot go on to its next step: a reference that does not resolve or a spec
/// the translation refuses. It is written to the object's conditions, and the reconcile
/// itself succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The condition reason.
    pub reason: Reason,
    /// The condition message.
    pub message: String,
}

impl Blocked {
    /// A task definition reference that matches no registered revision.
    pub fn task_definition_not_found(message: String) -> Self {
        Self {
            reason: Reason::TaskDefinitionNotFound,
            message,
        }
    }

    /// Children whose names belong to somebody else: nothing was written.
    pub fn conflicts(conflicts: &[super::ownership::Conflict]) -> Self {
        Self {
            reason: Reason::ChildConflict,
            message: conflicts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// Translation errors: a reason from their kinds, the message from their fields.
    pub fn translation(errors: &[Error]) -> Self {
        Self {
            reason: reason(errors),
            message: summarize(errors),
        }
    }
}

/// The short form of translation errors for a condition message: `field: message; …`.
pub fn summarize(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The condition reason for translation errors: `PolicyViolation` when the security policy
/// refuses a field, `ReferenceNotFound` when every error is an unresolved reference, else
/// `Invalid`.
pub fn reason(errors: &[Error]) -> Reason {
    if errors.iter().any(|e| e.kind == ErrorKind::Policy) {
        Reason::PolicyViolation
    } else if errors.iter().all(|e| e.kind == ErrorKind::Reference) {
        Reason::ReferenceNotFound
    } else {
        Reason::Invalid
    }
}
