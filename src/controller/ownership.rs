//! Whose object is this? The decision taken before every write and every delete of a child.
//!
//! In a cluster several teams share, the name a translation picks for a child (a Deployment,
//! a Service, a ServiceAccount) may already be taken by an object the operator did not create:
//! the namespace's `default` ServiceAccount, another team's Service, a Deployment made with
//! kubectl. Writing to it would take it over, and pruning or garbage collection would later
//! delete it. So the operator writes a child only when
//!
//! - no object of that kind and name exists (it is created), or
//! - the object carries a controller owner reference to this very owner (same UID), or
//! - the object is not controlled by anything and carries the annotation
//!   [`ANNOTATION_ADOPT`] naming this owner (`EcsService/web`): whoever may edit the object
//!   consents to hand it over, as Helm adopts objects annotated with its release.
//!
//! Anything else is a [`Conflict`]: nothing is written or deleted, and the owner shows it
//! (`Ready=False`, reason `ChildConflict`, and a Warning Event). Pruning deletes only children
//! whose controller owner reference is this owner: the owner label alone, which anyone can put
//! on their object, is never enough.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Annotation on an existing object that lets one ecsplane object adopt it: its value is the
/// adopting object's `KIND/NAME` in the same namespace (`EcsService/web`).
pub const ANNOTATION_ADOPT: &str = "ecsplane.io/adopt";

/// The ecsplane object a child would belong to.
#[derive(Clone, Copy, Debug)]
pub struct Claimant<'a> {
    /// `EcsService`, `TargetGroup`, ….
    pub kind: &'a str,
    /// Name.
    pub name: &'a str,
    /// UID.
    pub uid: &'a str,
}

/// What may be done with the object that has a child's kind and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No such object: it may be created.
    Absent,
    /// Ours: controlled by this owner.
    Ours,
    /// Not controlled by anything and annotated for adoption by this owner.
    Adoptable,
    /// Somebody else's: nothing may be written or deleted.
    Conflict(Conflict),
}

/// A child the owner would write, held by somebody else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Kind of the child.
    pub kind: String,
    /// Name of the child.
    pub name: String,
    /// Who holds it, in words (`controlled by EcsService other`).
    pub holder: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} already exists and is {}; ecsplane leaves it untouched (rename this object, \
             or annotate the existing one with {ANNOTATION_ADOPT}=KIND/NAME to hand it over)",
            self.kind, self.name, self.holder
        )
    }
}

/// Whether `meta` (a live object) is controlled by the object with UID `uid`.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    !uid.is_empty()
        && meta
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.controller == Some(true) && r.uid == uid)
}

/// What `claimant` may do with `live`, the object of kind `kind` that has the name of one of
/// its children (`None` when there is none).
pub fn claim(claimant: Claimant<'_>, kind: &str, live: Option<&ObjectMeta>) -> Claim {
    let Some(meta) = live else {
        return Claim::Absent;
    };
    if controlled_by(meta, claimant.uid) {
        return Claim::Ours;
    }
    let controller = meta
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true));
    let adopt = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_ADOPT))
        .map(|v| v.trim());
    let wanted = format!("{}/{}", claimant.kind, claimant.name);
    if controller.is_none() && adopt == Some(wanted.as_str()) {
        return Claim::Adoptable;
    }
    let holder = match controller {
        Some(r) => format!("controlled by {} {}", r.kind, r.name),
        None => match adopt {
            Some(other) => format!("annotated for adoption by {other}, not by {wanted}"),
            None => "not created by ecsplane for it".to_owned(),
        },
    };
    Claim::Conflict(Conflict {
        kind: kind.to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        holder,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    const WEB: Claimant<'static> = Claimant {
        kind: "EcsService",
        name: "web",
        uid: "uid-web",
    };

    fn meta(controller: Option<(&str, &str, &str)>, adopt: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some("web".into()),
            owner_references: controller.map(|(kind, name, uid)| {
                vec![OwnerReference {
                    api_version: "ecsplane.io/v1alpha1".into(),
                    kind: kind.into(),
                    name: name.into(),
                    uid: uid.into(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]
            }),
            annotations: adopt
                .map(|a| BTreeMap::from([(ANNOTATION_ADOPT.to_owned(), a.to_owned())])),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn a_missing_child_may_be_created() {
        assert_eq!(claim(WEB, "Deployment", None), Claim::Absent);
    }

    #[test]
    fn a_child_controlled_by_this_owner_is_ours() {
        let m = meta(Some(("EcsService", "web", "uid-web")), None);
        assert_eq!(claim(WEB, "Deployment", Some(&m)), Claim::Ours);
    }

    #[test]
    fn an_object_nobody_handed_over_is_a_conflict() {
        let m = meta(None, None);
        let Claim::Conflict(c) = claim(WEB, "ServiceAccount", Some(&m)) else {
            panic!("expected a conflict");
        };
        assert_eq!(c.holder, "not created by ecsplane for it");
        assert!(
            c.to_string()
                .starts_with("ServiceAccount web already exists")
        );
    }

    #[test]
    fn an_object_of_an_earlier_owner_with_the_same_name_is_a_conflict() {
        // The same kind and name, but another UID: an EcsService deleted and created again
        // before garbage collection finished, or another ecsplane object.
        let m = meta(Some(("EcsService", "web", "uid-old")), None);
        assert!(matches!(
            claim(WEB, "Deployment", Some(&m)),
            Claim::Conflict(_)
        ));
    }

    #[test]
    fn an_object_another_controller_owns_is_never_adopted_even_when_annotated() {
        let m = meta(Some(("ReplicaSet", "x", "uid-x")), Some("EcsService/web"));
        let Claim::Conflict(c) = claim(WEB, "Pod", Some(&m)) else {
            panic!("expected a conflict");
        };
        assert_eq!(c.holder, "controlled by ReplicaSet x");
    }

    #[test]
    fn an_uncontrolled_object_annotated_for_this_owner_is_adoptable() {
        let m = meta(None, Some("EcsService/web"));
        assert_eq!(claim(WEB, "Service", Some(&m)), Claim::Adoptable);
    }

    #[test]
    fn an_annotation_naming_another_owner_adopts_nothing() {
        let m = meta(None, Some("EcsService/api"));
        let Claim::Conflict(c) = claim(WEB, "Service", Some(&m)) else {
            panic!("expected a conflict");
        };
        assert!(c.holder.contains("EcsService/api"));
    }

    #[test]
    fn control_is_by_uid_never_by_an_empty_uid() {
        let m = meta(Some(("EcsService", "web", "")), None);
        assert!(!controlled_by(&m, ""));
    }
}
