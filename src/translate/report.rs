//! The fidelity report: where every input field ended up.
//!
//! Each field of the input is translated exactly, approximated (with the difference stated),
//! or not carried (with the reason). Exact translations need no finding; the other two always
//! have one, so nothing is dropped silently. `render` prints the report on stderr (or as JSON)
//! and the operator puts its summary into status.

use std::fmt;

use serde::{Deserialize, Serialize};

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
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Kind, such as `TaskDefinition`.
    pub kind: String,
    /// Namespace, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// A reference to `kind` `name` in `namespace`.
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
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
    pub field: String,
    /// How faithfully it was carried.
    pub fidelity: Fidelity,
    /// What differs, or why it was not carried.
    pub message: String,
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
        field: impl Into<String>,
        fidelity: Fidelity,
        message: impl Into<String>,
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
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(object, field, Fidelity::Approximated, message);
    }

    /// Records that `field` was not carried, and why.
    pub fn not_carried(
        &mut self,
        object: &ObjectRef,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(object, field, Fidelity::NotCarried, message);
    }

    /// Records an exact translation worth telling (an assumption, a resolved reference).
    pub fn note(
        &mut self,
        object: &ObjectRef,
        field: impl Into<String>,
        message: impl Into<String>,
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
