//! Applying an owner's children: server-side apply under [`FIELD_MANAGER`] with a controller
//! owner reference, skipping children whose live state already holds everything desired (so a
//! converged system makes no writes), and deleting the children a spec no longer produces.
//!
//! Every child carries the label [`LABEL_OWNER`] with its owner's UID, which is how children
//! are found again, and the annotation [`ANNOTATION_APPLIED`] with a hash of what was applied,
//! so a field dropped from the desired state (which a subset comparison cannot see) still
//! changes the child.

use std::collections::BTreeMap;
use std::hash::Hasher;

use fnv::FnvHasher;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::discovery::ApiResource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ownership::{self, Claim, Claimant, Conflict};
use super::{Context, FIELD_MANAGER, ReconcileError, api_err};
use crate::translate::Object;
use crate::translate::security;

/// Label on every child: the UID of the object that owns it.
pub const LABEL_OWNER: &str = "ecsplane.io/owner-uid";
/// Annotation on every child: a hash of the applied desired state.
pub const ANNOTATION_APPLIED: &str = "ecsplane.io/applied-hash";

/// The owner of a set of children.
#[derive(Clone, Debug)]
pub struct Owner {
    /// `apiVersion` of the owner.
    pub api_version: String,
    /// `kind` of the owner.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (children live in it).
    pub namespace: String,
    /// UID.
    pub uid: String,
}

impl Owner {
    /// The owner of an ecsplane object.
    pub fn of<K: kube::Resource<DynamicType = ()>>(obj: &K) -> Self {
        let m = obj.meta();
        Self {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            name: m.name.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
        }
    }

    fn reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// The label selector of this owner's children.
    pub fn selector(&self) -> String {
        format!("{LABEL_OWNER}={}", self.uid)
    }
}

/// The API resource of a typed Kubernetes kind.
pub fn resource<K: kube::Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

/// The API resource of the Gateway API HTTPRoute.
pub fn http_route() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    )
}

/// What [`reconcile_children`] found and did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Children as the API server returned them (listed, or as applied just now), by
    /// `(kind, name)`.
    pub live: BTreeMap<(String, String), DynamicObject>,
    /// Number of children written (applied or deleted).
    pub writes: usize,
    /// Desired children whose names are taken by objects that are not this owner's; when
    /// there is one, nothing was written or deleted.
    pub conflicts: Vec<Conflict>,
}

impl Applied {
    /// The live child of `kind`, if there is one.
    pub fn child(&self, kind: &str) -> Option<&DynamicObject> {
        self.live
            .iter()
            .find(|((k, _), _)| k == kind)
            .map(|(_, v)| v)
    }
}

/// A desired object as the JSON it is applied as: the one serialization of a generated
/// object, made just before server-side apply.
pub fn to_json<T: Serialize>(
    obj: &T,
    what: impl FnOnce() -> String,
) -> Result<Value, ReconcileError> {
    serde_json::to_value(obj).map_err(|source| ReconcileError::Serialize {
        what: what(),
        source,
    })
}

/// Makes the owner's children of the given kinds exactly `desired`: applies what differs,
/// deletes children of those kinds that are not desired. Every desired object must be of one
/// of `kinds` and live in the owner's namespace.
///
/// Never touches what is not the owner's ([`ownership`]): a desired child whose name is taken
/// by an object this owner does not control (and that is not annotated for adoption by it) is
/// a conflict, and then nothing at all is written or deleted for this owner, since its other
/// children would refer to the one it cannot have (pods running as somebody else's
/// ServiceAccount). Only children controlled by this owner's UID are pruned.
pub async fn reconcile_children(
    ctx: &Context,
    owner: &Owner,
    kinds: &[ApiResource],
    desired: Vec<Object>,
) -> Result<Applied, ReconcileError> {
    let mut out = Applied::default();
    let mut live_by_kind: BTreeMap<String, BTreeMap<String, DynamicObject>> = BTreeMap::new();
    for ar in kinds {
        live_by_kind.insert(
            ar.kind.clone(),
            ctx.reader
                .children(owner, ar)
                .await?
                .into_iter()
                // The owner label finds candidates; only the controller reference makes a
                // child ours (anyone can put the label on their object).
                .filter(|o| ownership::controlled_by(&o.metadata, &owner.uid))
                .filter_map(|o| Some((o.metadata.name.clone()?, o)))
                .collect(),
        );
    }
    let mut plan = Vec::new();
    for o in desired {
        let mut obj = to_json(&o, || o.id())?;
        let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let Some(ar) = kinds.iter().find(|a| a.kind == kind) else {
            continue;
        };
        stamp(&mut obj, owner);
        let live = live_by_kind.get(&kind).and_then(|m| m.get(&name)).cloned();
        let live = match live {
            Some(l) => Some(l),
            // Not among the owner's children: whose is the name?
            None => match claim(ctx, owner, ar, &name).await? {
                (Claim::Absent, _) => None,
                (Claim::Ours, existing) => existing,
                (Claim::Adoptable, _) => {
                    tracing::info!(owner = %format!("{} {}/{}", owner.kind, owner.namespace, owner.name), child = %format!("{kind} {name}"), "adopting: annotated {}", ownership::ANNOTATION_ADOPT);
                    None
                }
                (Claim::Conflict(c), _) => {
                    out.conflicts.push(c);
                    continue;
                }
            },
        };
        plan.push((ar, kind, name, obj, live));
    }
    if !out.conflicts.is_empty() {
        for c in &out.conflicts {
            tracing::warn!(owner = %format!("{} {}/{}", owner.kind, owner.namespace, owner.name), child = %format!("{} {}", c.kind, c.name), holder = %c.holder, "not written: the child belongs to somebody else");
        }
        return Ok(out);
    }
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (ar, kind, name, obj, live) in plan {
        wanted.entry(kind.clone()).or_default().push(name.clone());
        let up_to_date = live.filter(|l| {
            l.metadata.deletion_timestamp.is_none()
                && serde_json::to_value(l).is_ok_and(|l| contains(&l, &obj))
        });
        if let Some(l) = up_to_date {
            out.live.insert((kind, name), l);
            continue;
        }
        let api: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), &owner.namespace, ar);
        let applied = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
            .map_err(api_err(format!("apply {kind} {}/{name}", owner.namespace)))?;
        ctx.reader.wrote_meta(&kind, &applied.metadata);
        tracing::info!(owner = %format!("{} {}/{}", owner.kind, owner.namespace, owner.name), child = %format!("{kind} {name}"), "applied");
        out.writes += 1;
        out.live.insert((kind, name), applied);
    }
    for ar in kinds {
        let Some(live) = live_by_kind.get(&ar.kind) else {
            continue;
        };
        let keep = wanted.get(&ar.kind).map(Vec::as_slice).unwrap_or_default();
        for (name, obj) in live {
            if keep.contains(name) || obj.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.client.clone(), &owner.namespace, ar);
            // Delete exactly the object that was listed as ours: a precondition on its UID
            // keeps an object of the same name created meanwhile by somebody else.
            let params = DeleteParams {
                preconditions: obj.metadata.uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::background()
            };
            match api.delete(name, &params).await {
                Ok(_) => {
                    ctx.reader
                        .deleted(&ar.kind, &owner.namespace, name, obj.metadata.uid.clone())
                }
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
                Err(e) => {
                    return Err(api_err(format!(
                        "delete {} {}/{name}",
                        ar.kind, owner.namespace
                    ))(e));
                }
            }
            tracing::info!(owner = %format!("{} {}/{}", owner.kind, owner.namespace, owner.name), child = %format!("{} {name}", ar.kind), "deleted: no longer produced by the spec");
            out.writes += 1;
        }
    }
    Ok(out)
}

/// What `owner` may do with the name `name` of kind `ar` in its namespace
/// ([`ownership::claim`]; a reserved name is always a conflict), and the object holding it.
async fn claim(
    ctx: &Context,
    owner: &Owner,
    ar: &ApiResource,
    name: &str,
) -> Result<(Claim, Option<DynamicObject>), ReconcileError> {
    if let Some(why) = security::reserved_child(&ar.kind, name) {
        let conflict = Conflict {
            kind: ar.kind.clone(),
            name: name.to_owned(),
            holder: format!("reserved ({why})"),
        };
        return Ok((Claim::Conflict(conflict), None));
    }
    let existing = ctx.reader.object(&owner.namespace, ar, name).await?;
    let claimant = Claimant {
        kind: &owner.kind,
        name: &owner.name,
        uid: &owner.uid,
    };
    let claim = ownership::claim(claimant, &ar.kind, existing.as_ref().map(|e| &e.metadata));
    Ok((claim, existing))
}

/// The conflict, if the name `name` of kind `ar` in the owner's namespace is taken by an object
/// `owner` may not write; `None` when it is absent, the owner's, or annotated for adoption by
/// it.
pub async fn conflict(
    ctx: &Context,
    owner: &Owner,
    ar: &ApiResource,
    name: &str,
) -> Result<Option<Conflict>, ReconcileError> {
    Ok(match claim(ctx, owner, ar, name).await?.0 {
        Claim::Conflict(c) => Some(c),
        Claim::Absent | Claim::Ours | Claim::Adoptable => None,
    })
}

/// Publishes a Warning Event on `obj` for each conflict.
pub async fn report_conflicts<K: kube::Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    conflicts: &[Conflict],
) {
    for c in conflicts {
        ctx.event(
            obj,
            kube::runtime::events::EventType::Warning,
            super::vocabulary::EventReason::ChildConflict,
            super::vocabulary::EventAction::Reconcile,
            c.to_string(),
        )
        .await;
    }
}

/// Server-side applies one stamped object of kind `K` named `name` in `namespace` (children
/// that are created once and never pruned here: an EcsTask's Pods, a TaskDefinition's
/// revisions). `action` names it in errors.
pub async fn apply_one<K>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    obj: &Value,
    action: impl FnOnce() -> String,
) -> Result<K, ReconcileError>
where
    K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let applied = Api::<K>::namespaced(ctx.client.clone(), namespace)
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(obj),
        )
        .await
        .map_err(|e| api_err(action())(e))?;
    ctx.reader.wrote(&applied);
    Ok(applied)
}

/// Stops a task: deletes Pod `name` in `namespace`. `Ok(false)` when it was already gone.
pub async fn stop_pod(ctx: &Context, namespace: &str, name: &str) -> Result<bool, ReconcileError> {
    match Api::<Pod>::namespaced(ctx.client.clone(), namespace)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => {
            ctx.reader.deleted("Pod", namespace, name, None);
            Ok(true)
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(api_err(format!("stop task {namespace}/{name}"))(e)),
    }
}

/// Adds the owner reference, the owner label and the applied-state hash to a desired object.
pub fn stamp(obj: &mut Value, owner: &Owner) {
    let hash = format!("{:016x}", fnv1a(obj.to_string().as_bytes()));
    let meta = obj
        .as_object_mut()
        .expect("Kubernetes objects are JSON objects")
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let meta = meta.as_object_mut().expect("metadata is an object");
    meta.insert("namespace".into(), Value::String(owner.namespace.clone()));
    meta.insert(
        "ownerReferences".into(),
        serde_json::to_value(vec![owner.reference()]).expect("owner references serialize"),
    );
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    labels[LABEL_OWNER] = Value::String(owner.uid.clone());
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    annotations[ANNOTATION_APPLIED] = Value::String(hash);
}

/// Whether `live` already holds everything in `want`: objects hold each wanted key (an empty
/// wanted list or map also matches an absent key, as the API server drops them), lists have
/// the same length and hold their wanted elements in order, scalars are equal.
pub fn contains(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w.iter().all(|(k, wv)| match l.get(k) {
            Some(lv) => contains(lv, wv),
            None => is_empty(wv),
        }),
        (Value::Array(l), Value::Array(w)) => {
            l.len() == w.len() && l.iter().zip(w).all(|(lv, wv)| contains(lv, wv))
        }
        (Value::Number(l), Value::Number(w)) => l.as_f64() == w.as_f64(),
        (l, w) => l == w,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// 64-bit FNV-1a of `bytes`: stable across platforms and Rust versions, so a child applied by
/// one build of the operator is recognised as unchanged by the next.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_live_object_with_server_defaults_contains_what_was_applied() {
        let want = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let live = json!({"spec": {"replicas": 2, "revisionHistoryLimit": 10, "template": {"spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "IfNotPresent"}], "dnsPolicy": "ClusterFirst"}}}});
        assert!(contains(&live, &want));
    }

    #[test]
    fn a_hand_edit_of_an_applied_field_is_a_difference() {
        let want = json!({"spec": {"replicas": 2}});
        assert!(!contains(&json!({"spec": {"replicas": 5}}), &want));
    }

    #[test]
    fn an_extra_or_missing_list_element_is_a_difference() {
        let want = json!({"ports": [{"port": 80}]});
        assert!(!contains(
            &json!({"ports": [{"port": 80}, {"port": 81}]}),
            &want
        ));
        assert!(!contains(&json!({"ports": []}), &want));
    }

    #[test]
    fn empty_lists_and_maps_match_absent_keys_as_the_server_drops_them() {
        assert!(contains(&json!({}), &json!({"env": [], "labels": {}})));
    }

    #[test]
    fn stamping_adds_the_controller_reference_owner_label_and_a_hash_of_the_desired_state() {
        let owner = Owner {
            api_version: "ecsplane.io/v1alpha1".into(),
            kind: "EcsService".into(),
            name: "web".into(),
            namespace: "shop".into(),
            uid: "u-1".into(),
        };
        let mut a = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-tg"}, "spec": {"ports": [{"port": 80}]}});
        let mut b = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-tg"}, "spec": {"ports": [{"port": 81}]}});
        stamp(&mut a, &owner);
        stamp(&mut b, &owner);
        assert_eq!(a["metadata"]["namespace"], "shop");
        assert_eq!(a["metadata"]["labels"][LABEL_OWNER], "u-1");
        assert_eq!(
            a["metadata"]["ownerReferences"],
            json!([{"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsService", "name": "web", "uid": "u-1", "controller": true, "blockOwnerDeletion": true}])
        );
        assert_ne!(
            a["metadata"]["annotations"][ANNOTATION_APPLIED],
            b["metadata"]["annotations"][ANNOTATION_APPLIED]
        );
    }

    /// The applied-state hash is 64-bit FNV-1a: the published test vectors, and the hash of
    /// one stamped object as every earlier release computed it (a different hash would make
    /// an upgraded operator rewrite every child once).
    #[test]
    fn the_applied_hash_is_fnv_1a_as_in_earlier_releases() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
        let owner = Owner {
            api_version: "ecsplane.io/v1alpha1".into(),
            kind: "EcsService".into(),
            name: "web".into(),
            namespace: "shop".into(),
            uid: "u-1".into(),
        };
        let mut a = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-tg"}, "spec": {"ports": [{"port": 80}]}});
        stamp(&mut a, &owner);
        assert_eq!(
            a["metadata"]["annotations"][ANNOTATION_APPLIED],
            "4715bc35f00b641f"
        );
    }
}
