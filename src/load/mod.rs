//! Loading the files a user passes with `-f`: our custom resources and raw AWS JSON, each
//! document validated as the API server would validate it, every error collected.
//!
//! Shared by `render`, `routes` and `convert`. The result is a [`Bundle`] of typed objects,
//! each remembering where it came from ([`Origin`](crate::translate::bundle::Origin)), plus
//! every error found on the way: one run reports all of them, not the first only.
//!
//! The steps, one file each: [`walk`] finds the files under the paths given, [`parse`] reads
//! a file's YAML or JSON documents, [`recognise`] tells what a document is (a custom
//! resource, or which AWS CLI shape: the recogniser the importer uses too), and `collect`
//! validates each resource ([`crate::validate`]) into the bundle and refuses duplicate
//! names.
//!
//! Recognised documents:
//! - `apiVersion: ecsplane.io/v1alpha1` custom resources of the six kinds;
//! - `aws ecs describe-task-definition` output, with or without its `taskDefinition` wrapper
//!   (a bare task definition is recognised by `containerDefinitions` + `family`); the
//!   wrapper's top-level `tags` become the spec's `tags`;
//! - `aws ecs describe-services` output (`{"services": [...]}`), one EcsService per entry, and
//!   a single `create-service` input (`serviceName` + `taskDefinition`).
//!
//! Raw AWS objects get a `metadata.name` derived from the AWS name
//! ([`names::dns_label`](crate::translate::names::dns_label)); a task definition that states
//! its revision is named `FAMILY-REVISION` so several revisions of one family can be loaded
//! together.
//!
//! Above [`crate::translate`] (it fills the translation's [`Bundle`]) and below
//! [`crate::import`], which asks [`recognise`] for the AWS CLI shapes.

mod collect;
pub mod parse;
pub mod recognise;
pub mod walk;

use std::path::{Path, PathBuf};

pub use parse::{Document, parse};
pub use walk::files;

use crate::translate::bundle::{Bundle, Error, ErrorKind, Errors, Origin};

/// Reads, parses, recognises and validates every document under `paths`.
///
/// Returns the valid objects and every error. Cross-object references are checked by the
/// translation ([`crate::translate::translate`]), which knows which references matter.
pub fn load(paths: &[PathBuf]) -> (Bundle, Errors) {
    let (files, mut errors) = files(paths);
    let mut bundle = Bundle::default();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Error::new(
                    &Origin::file(file, 0),
                    "(file)",
                    "(file)",
                    ErrorKind::Read,
                    e.to_string(),
                ));
                continue;
            }
        };
        match parse(&file, &text) {
            Ok(docs) => {
                for doc in docs {
                    collect::add_document(&mut bundle, doc, &mut errors);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    collect::check_duplicates(&bundle, &mut errors);
    (bundle, Errors(errors).finish())
}

/// Loads documents already parsed (for tests and for callers that hold text in memory).
pub fn load_documents(docs: Vec<Document>) -> (Bundle, Errors) {
    let mut bundle = Bundle::default();
    let mut errors = Vec::new();
    for doc in docs {
        collect::add_document(&mut bundle, doc, &mut errors);
    }
    collect::check_duplicates(&bundle, &mut errors);
    (bundle, Errors(errors).finish())
}

/// Parses YAML or JSON text held in memory as if it were the file `name`.
pub fn load_str(name: &str, text: &str) -> (Bundle, Errors) {
    match parse(Path::new(name), text) {
        Ok(docs) => load_documents(docs),
        Err(e) => (Bundle::default(), Errors(vec![e])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_task_definition_output_becomes_a_task_definition_named_after_family_and_revision() {
        let (bundle, errors) = load_str(
            "td.json",
            r#"{"taskDefinition": {"family": "web", "revision": 3,
                "containerDefinitions": [{"name": "app", "image": "nginx"}]},
               "tags": [{"key": "team", "value": "a"}]}"#,
        );
        assert!(errors.is_empty(), "{errors}");
        let td = &bundle.task_definitions[0].object;
        assert_eq!(td.metadata.name.as_deref(), Some("web-3"));
        assert_eq!(td.spec.revision, Some(3));
        assert_eq!(td.spec.tags.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn describe_services_output_becomes_one_service_per_entry() {
        let (bundle, errors) = load_str(
            "svc.json",
            r#"{"services": [
                {"serviceName": "web", "taskDefinition": "web:3", "desiredCount": 2,
                 "clusterArn": "arn:aws:ecs:us-east-1:1:cluster/prod"},
                {"serviceName": "api", "taskDefinition": "api"}], "failures": []}"#,
        );
        assert!(errors.is_empty(), "{errors}");
        let names: Vec<_> = bundle
            .services
            .iter()
            .map(|s| s.object.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["web", "api"]);
    }

    #[test]
    fn multi_document_yaml_keeps_each_documents_position() {
        let (bundle, errors) = load_str(
            "all.yaml",
            "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: a}\nspec: {port: 80}\n---\n\
             apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: b}\nspec: {port: 70000}\n",
        );
        assert_eq!(bundle.target_groups.len(), 1);
        assert_eq!(errors.0.len(), 1);
        let e = &errors.0[0];
        assert_eq!(e.origin, Origin::file("all.yaml", 2));
        assert_eq!(e.object, "TargetGroup b");
        assert_eq!(e.field, "spec.port");
    }

    #[test]
    fn unrecognised_documents_are_errors_naming_the_document() {
        let (_, errors) = load_str("x.json", r#"{"hello": 1}"#);
        assert_eq!(errors.0[0].kind, ErrorKind::Unrecognised);
        assert_eq!(errors.0[0].object, "document 1");
    }

    #[test]
    fn invalid_json_is_a_syntax_error_naming_the_file() {
        let (_, errors) = load_str("broken.json", r#"{"family": "x" "a": 1}"#);
        assert_eq!(errors.0[0].kind, ErrorKind::Syntax);
        assert!(errors.to_string().contains("broken.json"));
    }

    #[test]
    fn two_objects_of_one_kind_with_one_name_are_refused() {
        let doc = "apiVersion: ecsplane.io/v1alpha1\nkind: TargetGroup\nmetadata: {name: a}\nspec: {port: 80}\n";
        let (_, errors) = load_str("dup.yaml", &format!("{doc}---\n{doc}"));
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert_eq!(errors.0[0].field, "metadata.name");
    }
}
