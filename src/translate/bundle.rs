//! The input of a translation: a [`Bundle`] of typed custom resources, each remembering where
//! it came from ([`Origin`]), and the [`Error`]s that name the file or cluster object, the
//! object and the field.
//!
//! Whoever assembles a bundle fills it: the file loader ([`crate::load`]) for `render`,
//! `routes` and `convert`, the operator's resolver for the objects it reads from the cluster.
//! The translation itself only reads it.

use std::fmt;
use std::path::PathBuf;

use crate::api::{
    EcsCluster, EcsScheduledTask, EcsService, EcsTask, Listener, TargetGroup, TaskDefinition,
};
use crate::validate::ProblemKind;

/// Where an input object came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file and the document's position in it (1-based; YAML streams skip empty documents).
    File {
        /// The file, as given on the command line (or found under a directory given).
        file: PathBuf,
        /// 1-based index of the document in the file; 0 when the whole file is meant.
        document: usize,
    },
    /// An object the operator read from the cluster (boxed: errors stay small to move).
    Cluster(Box<ClusterObject>),
    /// The translation as a whole, for a problem no single input object has (two objects
    /// producing the same Kubernetes object).
    Translation,
}

/// An object on the cluster, as an [`Origin`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterObject {
    /// Its kind, such as `EcsService`.
    pub kind: String,
    /// Its namespace (empty for a cluster-scoped object).
    pub namespace: String,
    /// Its `metadata.name`.
    pub name: String,
}

impl Origin {
    /// Document `document` of `file` (0: the whole file).
    pub fn file(file: impl Into<PathBuf>, document: usize) -> Self {
        Origin::File {
            file: file.into(),
            document,
        }
    }

    /// The cluster object `kind` `namespace/name`.
    pub fn cluster(kind: &str, namespace: &str, name: &str) -> Self {
        Origin::Cluster(Box::new(ClusterObject {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { file, document: 0 } => write!(f, "{}", file.display()),
            Origin::File { file, document } => {
                write!(f, "{} (document {document})", file.display())
            }
            Origin::Cluster(o) => write!(f, "{} {}/{}", o.kind, o.namespace, o.name),
            Origin::Translation => f.write_str("(translation)"),
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
    /// A field the security policy the cluster admin chose refuses
    /// ([`crate::translate::security`]).
    Policy,
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
            ErrorKind::Policy => "refused by the security policy",
        })
    }
}

impl From<ProblemKind> for ErrorKind {
    fn from(kind: ProblemKind) -> Self {
        match kind {
            ProblemKind::Schema => ErrorKind::Schema,
            ProblemKind::Rule => ErrorKind::Rule,
        }
    }
}

/// One problem with the input, naming the file, the object and the field.
///
/// Written `ORIGIN: OBJECT: FIELD: KIND: MESSAGE`; a problem with a whole file or directory
/// (object and field the same placeholder, `(file)`) names it once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
#[error("{origin}: {object}: {}{kind}: {message}", if field == object { String::new() } else { format!("{field}: ") })]
pub struct Error {
    /// The file and document, or the cluster object.
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
    /// File and document, or cluster object.
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
    /// EcsScheduledTasks.
    pub scheduled_tasks: Vec<Sourced<EcsScheduledTask>>,
    /// EcsClusters.
    pub clusters: Vec<Sourced<EcsCluster>>,
    /// `(kind, namespace, name)` of documents that were recognised but are invalid. References
    /// to them are not reported again as missing.
    pub invalid: Vec<(String, Option<String>, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_print_as_the_file_the_document_or_the_cluster_object() {
        assert_eq!(Origin::file("web.yaml", 0).to_string(), "web.yaml");
        assert_eq!(
            Origin::file("web.yaml", 2).to_string(),
            "web.yaml (document 2)"
        );
        assert_eq!(
            Origin::cluster("EcsService", "prod", "web").to_string(),
            "EcsService prod/web"
        );
        assert_eq!(Origin::Translation.to_string(), "(translation)");
    }
}
