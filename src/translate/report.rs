//! The fidelity report: where every input field ended up.
//!
//! Each field of the input is translated exactly, approximated (with the difference stated),
//! or not carried (with the reason). Exact translations need no finding; the other two always
//! have one, so nothing is dropped silently. `render` prints the report on stderr (or as JSON)
//! and the operator puts its summary into status.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How faithfully one input field was carried.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub enum Fidelity {
    /// Carried 1:1 (listed only when worth telling, such as an assumption that was made).
    Exact,
    /// Carried with a difference in behaviour; the message says what differs.
    Approximated,
    /// Not carried; the message says why and what to do instead.
    NotCarried,
}

impl fmt::Display for Fidelity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fidelity::Exact => "exact",
            Fidelity::Approximated => "approximated",
            Fidelity::NotCarried => "not carried",
        })
    }
}

/// The input object a finding is about.
///
/// Cheap to clone: the kind, namespace and name are allocated once and shared by every
/// finding about the object. Serialises as `{kind, namespace?, name}`.
#[derive(Clone, Debug, Eq)]
pub struct ObjectRef(Arc<ObjectId>);

/// What an [`ObjectRef`] shares: the serialised form of the reference.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
struct ObjectId {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
}

impl ObjectRef {
    /// A reference to `kind` `name` in `namespace`.
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self(Arc::new(ObjectId {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }))
    }

    /// Kind, such as `TaskDefinition`.
    pub fn kind(&self) -> &str {
        &self.0.kind
    }

    /// Namespace, when known.
    pub fn namespace(&self) -> Option<&str> {
        self.0.namespace.as_deref()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

// Equality and order are those of (kind, namespace, name); two clones of one reference are
// equal without comparing strings, which is what sorting a report mostly does.
impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Hash for ObjectRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Ord for ObjectRef {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for ObjectRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ObjectId::deserialize(deserializer).map(|id| Self(Arc::new(id)))
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.namespace() {
            Some(ns) => write!(f, "{} {}/{}", self.kind(), ns, self.name()),
            None => write!(f, "{} {}", self.kind(), self.name()),
        }
    }
}

/// One statement about one field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The object the field belongs to.
    pub object: ObjectRef,
    /// Path of the field in the input object, such as
    /// `spec.containerDefinitions[web].ulimits`.
    pub field: Cow<'static, str>,
    /// How faithfully it was carried.
    pub fidelity: Fidelity,
    /// What differs, or why it was not carried. Most messages are fixed text, borrowed
    /// rather than copied.
    pub message: Cow<'static, str>,
}

/// Every finding of one translation, in a deterministic order.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings, sorted by object, then field.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Records a finding.
    pub fn push(
        &mut self,
        object: &ObjectRef,
        field: impl Into<Cow<'static, str>>,
        fidelity: Fidelity,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.findings.push(Finding {
            object: object.clone(),
            field: field.into(),
            fidelity,
            message: message.into(),
        });
    }

    /// Records that `field` was approximated, and how.
    pub fn approximated(
        &mut self,
        object: &ObjectRef,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.push(object, field, Fidelity::Approximated, message);
    }

    /// Records that `field` was not carried, and why.
    pub fn not_carried(
        &mut self,
        object: &ObjectRef,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.push(object, field, Fidelity::NotCarried, message);
    }

    /// Records an exact translation worth telling (an assumption, a resolved reference).
    pub fn note(
        &mut self,
        object: &ObjectRef,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.push(object, field, Fidelity::Exact, message);
    }

    /// Appends another report's findings.
    pub fn extend(&mut self, other: Report) {
        self.findings.extend(other.findings);
    }

    /// Sorts and de-duplicates the findings so output is stable.
    pub fn finish(mut self) -> Self {
        self.findings.sort();
        self.findings.dedup();
        self
    }

    /// Counts of findings per fidelity: (exact, approximated, not carried).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.findings
            .iter()
            .fold((0, 0, 0), |(e, a, n), f| match f.fidelity {
                Fidelity::Exact => (e + 1, a, n),
                Fidelity::Approximated => (e, a + 1, n),
                Fidelity::NotCarried => (e, a, n + 1),
            })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(
                f,
                "{}: {}: {}: {}",
                finding.object, finding.field, finding.fidelity, finding.message
            )?;
        }
        Ok(())
    }
}
