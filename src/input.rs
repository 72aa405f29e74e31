//! Loading the files a user passes with `-f`: our custom resources and raw AWS JSON, each
//! document validated as the API server would validate it, every error collected.
//!
//! Shared by `render`, `routes` and `convert`. The result is a [`Bundle`] of typed objects,
//! each remembering where it came from ([`Origin`]), plus every [`Error`] found on the way:
//! one run reports all of them, not the first only.
//!
//! Recognised documents:
//! - `apiVersion: ecsplane.io/v1alpha1` custom resources of the six kinds;
//! - `aws ecs describe-task-definition` output, with or without its `taskDefinition` wrapper
//!   (a bare task definition is recognised by `containerDefinitions` + `family`); the
//!   wrapper's top-level `tags` become the spec's `tags`;
//! - `aws ecs describe-services` output (`{"services": [...]}`), one EcsService per entry, and
//!   a single `create-service` input (`serviceName` + `taskDefinition`).
//!
//! Raw AWS objects get a `metadata.name` derived from the AWS name ([`names::dns_label`]);
//! a task definition that states its revision is named `FAMILY-REVISION` so several revisions
//! of one family can be loaded together.

use std::fmt;
use std::path::{Path, PathBuf};

use kube::api::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::api::{EcsCluster, EcsService, EcsTask, Listener, TargetGroup, TaskDefinition};
use crate::translate::names;
use crate::validate;

/// Where a document came from: a file and the document's position in it (1-based; YAML
/// streams skip empty documents).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file, as given on the command line (or found under a directory given).
    pub file: PathBuf,
    /// 1-based index of the document in the file; 0 when the whole file is meant.
    pub document: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.document == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{} (document {})", self.file.display(), self.document)
        }
    }
}

/// What kind of problem an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The file or directory cannot be read.
    Read,
    /// The text is not valid YAML or JSON.
    Syntax,
    /// The document is neither an ecsplane resource nor a recognised AWS JSON shape.
    Unrecognised,
    /// The document breaks the CRD schema (types, required fields, enums, bounds, unknown
    /// fields): the API server would refuse it.
    Schema,
    /// The document breaks one of the CRD's CEL rules.
    Rule,
    /// A reference to another object cannot be resolved within the files given.
    Reference,
    /// Valid input that cannot be expressed on Kubernetes; the message says why.
    Untranslatable,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Read => "cannot read",
            ErrorKind::Syntax => "invalid syntax",
            ErrorKind::Unrecognised => "unrecognised document",
            ErrorKind::Schema => "schema violation",
            ErrorKind::Rule => "rule violation",
            ErrorKind::Reference => "unresolved reference",
            ErrorKind::Untranslatable => "cannot be translated",
        })
    }
}

/// One problem with the input, naming the file, the object and the field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
#[error("{origin}: {object}: {field}: {kind}: {message}")]
pub struct Error {
    /// The file and document.
    pub origin: Origin,
    /// `Kind name`, or `document N` when the document has no usable identity.
    pub object: String,
    /// Path of the field in the object (`spec.containerDefinitions[0].cpu`), or `(document)`.
    pub field: String,
    /// The category of the problem.
    pub kind: ErrorKind,
    /// What is wrong and, where useful, how to fix it.
    pub message: String,
}

impl Error {
    /// An error about `field` of `object` from `origin`.
    pub fn new(
        origin: &Origin,
        object: impl Into<String>,
        field: impl Into<String>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            origin: origin.clone(),
            object: object.into(),
            field: field.into(),
            kind,
            message: message.into(),
        }
    }
}

/// Every error of one run, sorted by file, document, object and field.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    /// Sorts and de-duplicates the errors.
    pub fn finish(mut self) -> Self {
        self.0.sort();
        self.0.dedup();
        self
    }

    /// Whether there is no error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

/// A typed object and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Sourced<T> {
    /// File and document.
    pub origin: Origin,
    /// The object.
    pub object: T,
}

/// Every valid object of the input, by kind, in input order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bundle {
    /// TaskDefinitions.
    pub task_definitions: Vec<Sourced<TaskDefinition>>,
    /// EcsServices.
    pub services: Vec<Sourced<EcsService>>,
    /// TargetGroups.
    pub target_groups: Vec<Sourced<TargetGroup>>,
    /// Listeners.
    pub listeners: Vec<Sourced<Listener>>,
    /// EcsTasks.
    pub tasks: Vec<Sourced<EcsTask>>,
    /// EcsClusters.
    pub clusters: Vec<Sourced<EcsCluster>>,
    /// `(kind, namespace, name)` of documents that were recognised but are invalid. References
    /// to them are not reported again as missing.
    pub invalid: Vec<(String, Option<String>, String)>,
}

/// One parsed document before recognition.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// File and document.
    pub origin: Origin,
    /// The parsed value.
    pub value: Value,
}

/// Files to read for the given paths: files as given, directories walked recursively for
/// `.yaml`, `.yml` and `.json`, each directory's files sorted so the order is deterministic.
pub fn files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        walk(p, true, &mut out, &mut errors);
    }
    (out, errors)
}

fn walk(path: &Path, explicit: bool, out: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    let origin = Origin {
        file: path.to_owned(),
        document: 0,
    };
    match std::fs::metadata(path) {
        Err(e) => errors.push(Error::new(
            &origin,
            "(file)",
            "(file)",
            ErrorKind::Read,
            e.to_string(),
        )),
        Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
            Err(e) => errors.push(Error::new(
                &origin,
                "(directory)",
                "(directory)",
                ErrorKind::Read,
                e.to_string(),
            )),
            Ok(entries) => {
                let mut children: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                children.sort();
                for c in children {
                    walk(&c, false, out, errors);
                }
            }
        },
        Ok(_) => {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if explicit || matches!(ext, "yaml" | "yml" | "json") {
                out.push(path.to_owned());
            }
        }
    }
}

/// Parses one file's text: JSON (one value or a stream of values) when the name ends in
/// `.json` or the text starts with `{`/`[`, otherwise multi-document YAML.
pub fn parse(file: &Path, text: &str) -> Result<Vec<Document>, Error> {
    let origin = |document| Origin {
        file: file.to_owned(),
        document,
    };
    let trimmed = text.trim_start();
    let is_json = file.extension().and_then(|e| e.to_str()) == Some("json")
        || trimmed.starts_with('{')
        || trimmed.starts_with('[');
    let values: Vec<Value> = if is_json {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| {
                Error::new(
                    &origin(0),
                    "(file)",
                    "(file)",
                    ErrorKind::Syntax,
                    format!("not valid JSON: {e}"),
                )
            })?
    } else {
        serde_saphyr::from_multiple::<Value>(text).map_err(|e| {
            Error::new(
                &origin(0),
                "(file)",
                "(file)",
                ErrorKind::Syntax,
                format!("not valid YAML: {e}"),
            )
        })?
    };
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            origin: origin(i + 1),
            value,
        })
        .collect())
}

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
                let origin = Origin {
                    file: file.clone(),
                    document: 0,
                };
                errors.push(Error::new(
                    &origin,
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
                    add_document(&mut bundle, doc, &mut errors);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    check_duplicates(&bundle, &mut errors);
    (bundle, Errors(errors).finish())
}

/// Loads documents already parsed (for tests and for callers that hold text in memory).
pub fn load_documents(docs: Vec<Document>) -> (Bundle, Errors) {
    let mut bundle = Bundle::default();
    let mut errors = Vec::new();
    for doc in docs {
        add_document(&mut bundle, doc, &mut errors);
    }
    check_duplicates(&bundle, &mut errors);
    (bundle, Errors(errors).finish())
}

/// Parses YAML or JSON text held in memory as if it were the file `name`.
pub fn load_str(name: &str, text: &str) -> (Bundle, Errors) {
    match parse(Path::new(name), text) {
        Ok(docs) => load_documents(docs),
        Err(e) => (Bundle::default(), Errors(vec![e])),
    }
}

/// Recognises one document, turns raw AWS JSON into custom resources, validates each and adds
/// the valid ones to the bundle.
fn add_document(bundle: &mut Bundle, doc: Document, errors: &mut Vec<Error>) {
    let Document { origin, value } = doc;
    match recognise(value) {
        Ok(objects) => {
            for object in objects {
                add_resource(bundle, &origin, object, errors);
            }
        }
        Err(message) => errors.push(Error::new(
            &origin,
            format!("document {}", origin.document),
            "(document)",
            ErrorKind::Unrecognised,
            message,
        )),
    }
}

/// Turns one document into custom resource values (`apiVersion`/`kind`/`metadata`/`spec`).
fn recognise(value: Value) -> Result<Vec<Value>, String> {
    let Value::Object(mut map) = value else {
        return Err(format!(
            "expected an object (a custom resource or AWS JSON), found {}",
            json_type(&value)
        ));
    };
    if let Some(api_version) = map.get("apiVersion") {
        let api_version = api_version.as_str().unwrap_or_default();
        if api_version == format!("{}/{}", crate::api::GROUP, crate::api::VERSION) {
            return Ok(vec![Value::Object(map)]);
        }
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("?");
        return Err(format!(
            "apiVersion {api_version:?} kind {kind:?} is not an ecsplane resource; pass \
             ecsplane.io/v1alpha1 resources or AWS JSON"
        ));
    }
    // describe-task-definition output: {"taskDefinition": {...}, "tags": [...]}
    if let Some(Value::Object(td)) = map.get("taskDefinition") {
        let mut td = td.clone();
        if let Some(tags) = map.remove("tags")
            && !td.contains_key("tags")
            && tags.as_array().is_some_and(|a| !a.is_empty())
        {
            td.insert("tags".into(), tags);
        }
        return Ok(vec![task_definition_resource(td)]);
    }
    if map.contains_key("containerDefinitions") && map.contains_key("family") {
        return Ok(vec![task_definition_resource(map)]);
    }
    // describe-services output: {"services": [...], "failures": [...]}
    if let Some(Value::Array(services)) = map.get("services") {
        return services
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Value::Object(s) => Ok(service_resource(s.clone())),
                other => Err(format!(
                    "services[{i}] should be an object, found {}",
                    json_type(other)
                )),
            })
            .collect();
    }
    if map.get("serviceName").is_some_and(Value::is_string)
        && map.get("taskDefinition").is_some_and(Value::is_string)
    {
        return Ok(vec![service_resource(map)]);
    }
    Err(
        "neither an ecsplane resource (apiVersion ecsplane.io/v1alpha1) nor recognised AWS JSON \
         (describe-task-definition output, a task definition with family and \
         containerDefinitions, describe-services output, or a create-service input with \
         serviceName and taskDefinition)"
            .to_owned(),
    )
}

fn task_definition_resource(spec: Map<String, Value>) -> Value {
    let family = spec.get("family").and_then(Value::as_str).unwrap_or("task");
    let name = match spec.get("revision").and_then(Value::as_i64) {
        Some(rev) => names::dns_label(&format!("{family}-{rev}")),
        None => names::dns_label(family),
    };
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": { "name": name },
        "spec": spec,
    })
}

fn service_resource(spec: Map<String, Value>) -> Value {
    let name = names::dns_label(
        spec.get("serviceName")
            .and_then(Value::as_str)
            .unwrap_or("service"),
    );
    json!({
        "apiVersion": "ecsplane.io/v1alpha1",
        "kind": "EcsService",
        "metadata": { "name": name },
        "spec": spec,
    })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Validates a custom resource value and adds it to the bundle when valid.
fn add_resource(bundle: &mut Bundle, origin: &Origin, value: Value, errors: &mut Vec<Error>) {
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
        None => format!("{kind} (document {})", origin.document),
    };
    let problems = validate::validate(&value);
    if !problems.is_empty() {
        errors.extend(
            problems
                .into_iter()
                .map(|p| Error::new(origin, &object, p.path, p.kind, p.message)),
        );
        bundle
            .invalid
            .push((kind, namespace, name.unwrap_or_default()));
        return;
    }
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
        "EcsCluster" => bundle
            .clusters
            .extend(typed(value, origin, &object, errors)),
        _ => unreachable!("validate::validate refuses unknown kinds"),
    }
}

/// Two objects of one kind with the same namespace and name would overwrite each other on
/// apply: refuse both.
fn check_duplicates(bundle: &Bundle, errors: &mut Vec<Error>) {
    fn check<'a>(
        kind: &str,
        items: impl Iterator<Item = (&'a Origin, &'a ObjectMeta)>,
        errors: &mut Vec<Error>,
    ) {
        let mut seen: std::collections::BTreeMap<(Option<String>, String), &Origin> =
            Default::default();
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
    check(
        "TaskDefinition",
        bundle
            .task_definitions
            .iter()
            .map(|s| (&s.origin, &s.object.metadata)),
        errors,
    );
    check(
        "EcsService",
        bundle
            .services
            .iter()
            .map(|s| (&s.origin, &s.object.metadata)),
        errors,
    );
    check(
        "TargetGroup",
        bundle
            .target_groups
            .iter()
            .map(|s| (&s.origin, &s.object.metadata)),
        errors,
    );
    check(
        "Listener",
        bundle
            .listeners
            .iter()
            .map(|s| (&s.origin, &s.object.metadata)),
        errors,
    );
    check(
        "EcsTask",
        bundle.tasks.iter().map(|s| (&s.origin, &s.object.metadata)),
        errors,
    );
    check(
        "EcsCluster",
        bundle
            .clusters
            .iter()
            .map(|s| (&s.origin, &s.object.metadata)),
        errors,
    );
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
        assert_eq!(e.origin.document, 2);
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
