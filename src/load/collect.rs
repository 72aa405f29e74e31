//! Adding recognised documents to a [`Bundle`]: each resource validated as the API server
//! would validate it, typed, and checked against the others for duplicate names.

use std::collections::BTreeMap;

use kube::api::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::parse::Document;
use super::recognise;
use crate::translate::bundle::{Bundle, Error, ErrorKind, Origin, Sourced};
use crate::validate;

/// Recognises one document, turns raw AWS JSON into custom resources, validates each and adds
/// the valid ones to the bundle.
pub(super) fn add_document(bundle: &mut Bundle, doc: Document, errors: &mut Vec<Error>) {
    let Document {
        file,
        position,
        value,
    } = doc;
    let origin = Origin::file(file, position);
    match recognise::resources(value) {
        Ok(objects) => {
            for object in objects {
                add_resource(bundle, &origin, position, object, errors);
            }
        }
        Err(message) => errors.push(Error::new(
            &origin,
            format!("document {position}"),
            "(document)",
            ErrorKind::Unrecognised,
            message,
        )),
    }
}

/// Validates a custom resource value and adds it to the bundle when valid.
fn add_resource(
    bundle: &mut Bundle,
    origin: &Origin,
    position: usize,
    value: Value,
    errors: &mut Vec<Error>,
) {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let namespace = value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let object = match &name {
        Some(n) => format!("{kind} {n}"),
        None => format!("{kind} (document {position})"),
    };
    let problems = validate::validate(&value);
    if !problems.is_empty() {
        errors.extend(
            problems
                .into_iter()
                .map(|p| Error::new(origin, &object, p.path, p.kind.into(), p.message)),
        );
        bundle
            .invalid
            .push((kind, namespace, name.unwrap_or_default()));
        return;
    }
    // Status is a subresource: the API server ignores it on create, and so do we.
    let mut value = value;
    if let Some(m) = value.as_object_mut() {
        m.remove("status");
    }
    match kind.as_str() {
        "TaskDefinition" => bundle
            .task_definitions
            .extend(typed(value, origin, &object, errors)),
        "EcsService" => bundle
            .services
            .extend(typed(value, origin, &object, errors)),
        "TargetGroup" => bundle
            .target_groups
            .extend(typed(value, origin, &object, errors)),
        "Listener" => bundle
            .listeners
            .extend(typed(value, origin, &object, errors)),
        "EcsTask" => bundle.tasks.extend(typed(value, origin, &object, errors)),
        "EcsScheduledTask" => bundle
            .scheduled_tasks
            .extend(typed(value, origin, &object, errors)),
        "EcsCluster" => bundle
            .clusters
            .extend(typed(value, origin, &object, errors)),
        _ => unreachable!("validate::validate refuses unknown kinds"),
    }
}

/// The typed object of a valid resource value, or the error when it does not deserialise.
fn typed<T: DeserializeOwned>(
    value: Value,
    origin: &Origin,
    object: &str,
    errors: &mut Vec<Error>,
) -> Option<Sourced<T>> {
    match serde_json::from_value::<T>(value) {
        Ok(object) => Some(Sourced {
            origin: origin.clone(),
            object,
        }),
        Err(e) => {
            errors.push(Error::new(
                origin,
                object,
                "(document)",
                ErrorKind::Schema,
                e.to_string(),
            ));
            None
        }
    }
}

/// Two objects of one kind with the same namespace and name would overwrite each other on
/// apply: refuse both.
pub(super) fn check_duplicates(bundle: &Bundle, errors: &mut Vec<Error>) {
    fn check<'a>(
        kind: &str,
        items: impl Iterator<Item = (&'a Origin, &'a ObjectMeta)>,
        errors: &mut Vec<Error>,
    ) {
        let mut seen: BTreeMap<(Option<String>, String), &Origin> = BTreeMap::new();
        for (origin, meta) in items {
            let key = (
                meta.namespace.clone(),
                meta.name.clone().unwrap_or_default(),
            );
            if let Some(first) = seen.get(&key) {
                errors.push(Error::new(
                    origin,
                    format!("{kind} {}", key.1),
                    "metadata.name",
                    ErrorKind::Reference,
                    format!("a second {kind} named {:?}; the first is in {first}", key.1),
                ));
            } else {
                seen.insert(key, origin);
            }
        }
    }
    fn metas<T: kube::Resource>(
        items: &[Sourced<T>],
    ) -> impl Iterator<Item = (&Origin, &ObjectMeta)> {
        items.iter().map(|s| (&s.origin, s.object.meta()))
    }
    check("TaskDefinition", metas(&bundle.task_definitions), errors);
    check("EcsService", metas(&bundle.services), errors);
    check("TargetGroup", metas(&bundle.target_groups), errors);
    check("Listener", metas(&bundle.listeners), errors);
    check("EcsTask", metas(&bundle.tasks), errors);
    check("EcsScheduledTask", metas(&bundle.scheduled_tasks), errors);
    check("EcsCluster", metas(&bundle.clusters), errors);
}
