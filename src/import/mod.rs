//! Import: CloudFormation templates, AWS CLI JSON and Terraform task definitions turned into
//! ecsplane objects (`ecsplane convert`).
//!
//! Every input becomes *drafts* (a kind, a name and a spec in our field names), which are then
//! resolved, attached (listener rules to their listener, scaling to its service), coerced to the
//! API types and checked by deserializing into the API types. What cannot be resolved is never
//! guessed: the object is held back and each unresolved value reported with its location, unless
//! `--param` supplies it. Invalid input (a syntax error, an unknown file shape) fails the whole
//! conversion.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::translate::names::dns_label;

mod awscli;
mod cfn;
pub mod placeholder;
pub mod schema;
mod terraform;
pub mod yaml;

/// The kinds `convert` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `EcsCluster`.
    EcsCluster,
    /// `TaskDefinition`.
    TaskDefinition,
    /// `TargetGroup`.
    TargetGroup,
    /// `Listener`.
    Listener,
    /// `EcsService`.
    EcsService,
}

impl Kind {
    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EcsCluster => "EcsCluster",
            Kind::TaskDefinition => "TaskDefinition",
            Kind::TargetGroup => "TargetGroup",
            Kind::Listener => "Listener",
            Kind::EcsService => "EcsService",
        }
    }

    /// Fields only meaningful inside AWS: an unresolved value there is dropped (and reported)
    /// instead of holding the object back.
    fn aws_only(self) -> &'static [&'static str] {
        match self {
            Kind::EcsCluster => &["tags", "configuration", "serviceConnectDefaults"],
            Kind::TaskDefinition => &[
                "executionRoleArn",
                "tags",
                "containerDefinitions[].logConfiguration",
            ],
            Kind::TargetGroup => &["vpcId", "tags"],
            Kind::Listener => &["loadBalancerArn", "tags"],
            Kind::EcsService => &[
                "networkConfiguration",
                "role",
                "serviceRegistries",
                "platformVersion",
                "tags",
                "serviceConnectConfiguration",
                "loadBalancers[].loadBalancerName",
            ],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Options of a conversion.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Values for CloudFormation parameters, pseudo-parameters (`AWS::Region`), resources
    /// (`LogicalId`, `LogicalId.Attribute`), `Fn::ImportValue` export names, Terraform variables
    /// (`var.name` or `name`; lists and maps as JSON text, as [`terraform_param_file`] gives
    /// them), references (`aws_iam_role.app.arn`, `module.web.var.x`) and placeholders
    /// (`REPLACE_ME_X`, the `NAME` of `$$$NAME$$$`).
    pub params: BTreeMap<String, String>,
    /// Namespace set on every object (none: the namespace of the `kubectl apply`).
    pub namespace: Option<String>,
}

/// Where something is in the input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The input file.
    pub file: PathBuf,
    /// The resource (CloudFormation logical ID, Terraform `type.name`, or the AWS name).
    pub resource: Option<String>,
    /// The field path (in our field names), when the note is about one field.
    pub path: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(r) = &self.resource {
            write!(f, ": {r}")?;
        }
        if let Some(p) = &self.path {
            write!(f, ": {p}")?;
        }
        Ok(())
    }
}

/// What a note says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteKind {
    /// A value that could not be resolved; its object is held back.
    Unresolved,
    /// An input that was not converted (its reason in the message).
    NotConverted,
    /// A resource of a type `convert` does not handle.
    Skipped,
    /// A field removed because the API has no place for it or its value was unusable.
    Dropped,
    /// A value `convert` chose (a name CloudFormation would generate), stated.
    Assumed,
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoteKind::Unresolved => "unresolved",
            NoteKind::NotConverted => "not converted",
            NoteKind::Skipped => "skipped",
            NoteKind::Dropped => "dropped",
            NoteKind::Assumed => "assumed",
        })
    }
}

/// One statement about the conversion.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    /// What kind of statement.
    pub kind: NoteKind,
    /// Where.
    pub location: Location,
    /// What happened and, for unresolved values, how to supply them.
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.kind, self.message)
    }
}

/// A converted object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// Its `metadata.name`.
    pub name: String,
    /// The whole manifest (`apiVersion`, `kind`, `metadata`, `spec`).
    pub manifest: Value,
    /// The input it came from.
    pub source: Location,
}

/// An object held back because some of its values are unresolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Incomplete {
    /// The object as far as it could be converted, with placeholders where values are missing.
    pub object: Object,
    /// Paths of the unresolved values.
    pub unresolved: Vec<String>,
}

/// What one input file produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// The input file.
    pub file: PathBuf,
    /// The shape detected (`CloudFormation`, `describe-services`, ...).
    pub format: String,
    /// Objects converted, as `Kind/name`.
    pub objects: Vec<String>,
    /// Objects held back for unresolved values, as `Kind/name`.
    pub incomplete: Vec<String>,
    /// Resources skipped (unsupported types).
    pub skipped: usize,
    /// Unresolved values.
    pub unresolved: usize,
    /// Inputs not converted for another reason.
    pub not_converted: usize,
}

/// The result of a conversion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversion {
    /// Objects ready to apply, in input order.
    pub objects: Vec<Object>,
    /// Objects held back for unresolved values.
    pub incomplete: Vec<Incomplete>,
    /// Every note, sorted.
    pub notes: Vec<Note>,
    /// Skipped resource types and how many of each.
    pub skipped: BTreeMap<String, usize>,
    /// One summary per input file, in input order.
    pub files: Vec<FileSummary>,
}

/// Invalid input: the conversion stops and nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ImportError {
    /// Where.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

/// Every invalid input found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A scalar as text: strings as they are, null as nothing, numbers and booleans as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn error(file: &Path, resource: Option<&str>, message: impl Into<String>) -> ImportError {
    ImportError {
        location: Location {
            file: file.to_owned(),
            resource: resource.map(str::to_owned),
            path: None,
        },
        message: message.into(),
    }
}

/// An object on its way: our field names, values possibly not yet coerced.
#[derive(Debug, Clone)]
struct Draft {
    kind: Kind,
    /// The AWS name (family, service name, ...), before it becomes a DNS label.
    aws_name: String,
    spec: Value,
    source: Location,
    /// Unresolved values: (spec path, message).
    unresolved: Vec<(String, String)>,
    /// For listeners: keys that rules use to find it (CloudFormation markers, ARNs).
    keys: Vec<String>,
}

/// A listener rule waiting for its listener.
#[derive(Debug, Clone)]
struct PendingRule {
    listener_key: String,
    /// The rule in our field names; `None` priority with `is_default` for describe-rules'
    /// default rule.
    rule: Value,
    is_default: bool,
    source: Location,
    unresolved: Vec<(String, String)>,
}

/// An Application Auto Scaling target waiting for its service.
#[derive(Debug, Clone)]
struct PendingScaling {
    /// `service/CLUSTER/SERVICE`.
    resource_id: String,
    /// Marker other policies refer to it by (CloudFormation `!Ref`).
    key: Option<String>,
    /// `minCapacity`, `maxCapacity`, `suspendedState`, `scheduledActions`.
    target: Option<Value>,
    /// Scaling policies.
    policies: Vec<Value>,
    source: Location,
    unresolved: Vec<(String, String)>,
    /// Why the target's service cannot be identified, when it cannot.
    unidentified: Option<String>,
}

impl PendingScaling {
    /// One scaling policy waiting for the scalable target with `resource_id`.
    fn policy(
        resource_id: String,
        policy: Value,
        source: Location,
        unresolved: Vec<(String, String)>,
    ) -> Self {
        PendingScaling {
            resource_id,
            key: None,
            target: None,
            policies: vec![policy],
            source,
            unresolved,
            unidentified: None,
        }
    }
}

/// Everything the inputs produced before attachment.
#[derive(Default)]
struct Collected {
    drafts: Vec<Draft>,
    rules: Vec<PendingRule>,
    scaling: Vec<PendingScaling>,
    notes: Vec<Note>,
    skipped: BTreeMap<String, usize>,
    /// Per file: format and skipped count.
    files: Vec<(PathBuf, String, usize)>,
}

impl Collected {
    /// Renames the keys of `value` to the API's field names under `schema`, field paths
    /// starting at `base` ([`schema::rename_keys`]); each field the API has no place for is
    /// removed and reported as dropped, at `source`.
    fn rename_keys(&mut self, value: &mut Value, schema: &Value, base: &str, source: &Location) {
        let mut changes = Vec::new();
        schema::rename_keys(value, schema, base, &mut changes);
        for ch in changes {
            self.note_at(NoteKind::Dropped, source, Some(&ch.path), ch.message);
        }
    }

    /// A note about the resource at `source` (its field `path`, when given).
    fn note_at(
        &mut self,
        kind: NoteKind,
        source: &Location,
        path: Option<&str>,
        message: impl Into<String>,
    ) {
        self.note(
            kind,
            &source.file,
            source.resource.as_deref(),
            path,
            message,
        );
    }

    fn note(
        &mut self,
        kind: NoteKind,
        file: &Path,
        resource: Option<&str>,
        path: Option<&str>,
        message: impl Into<String>,
    ) {
        self.notes.push(Note {
            kind,
            location: Location {
                file: file.to_owned(),
                resource: resource.map(str::to_owned),
                path: path.map(str::to_owned),
            },
            message: message.into(),
        });
    }
}

/// Converts the input files into ecsplane objects.
///
/// Returns every invalid input at once when any file cannot be read or parsed, has no shape
/// `convert` knows, or converts to an object the API server would reject (each problem named
/// with its input file, resource and field); unresolved values and unsupported resources are
/// notes, not errors.
pub fn convert_files(
    paths: &[PathBuf],
    options: &ConvertOptions,
) -> Result<Conversion, ImportErrors> {
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    for path in paths {
        match std::fs::read_to_string(path) {
            Ok(text) => match parse_input(path, &text) {
                Ok(input) => inputs.push((path.clone(), text, input)),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(error(path, None, format!("cannot read: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    let exports = cfn::exports(&inputs, options);
    let tf_files: Vec<(&Path, &terraform::TfFile)> = inputs
        .iter()
        .filter_map(|(path, _, input)| match input {
            Input::Terraform(tf) => Some((path.as_path(), tf)),
            _ => None,
        })
        .collect();
    let (sources, module_errors) = terraform::Sources::load(&tf_files);
    if !module_errors.is_empty() {
        return Err(ImportErrors(module_errors));
    }
    let tree = terraform::Tree::build(&tf_files, &sources, options);
    let mut collected = Collected::default();
    for (path, _, input) in &inputs {
        let before = collected.skipped.values().sum::<usize>();
        let format = match input {
            Input::CloudFormation(template) => {
                cfn::convert(path, template, options, &exports, &mut collected)
                    .map(|()| "CloudFormation".to_owned())
            }
            Input::Json(value) => awscli::convert(path, value, options, &mut collected),
            Input::Terraform(_) => {
                terraform::convert(path, &tree, &mut collected).map(|()| "Terraform".to_owned())
            }
            Input::TerraformJson(value) => {
                terraform::convert_show_json(path, value, &mut collected)
            }
        };
        match format {
            Ok(format) => {
                let skipped = collected.skipped.values().sum::<usize>() - before;
                collected.files.push((path.clone(), format, skipped));
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    let conversion = finish(collected, options);
    let invalid = validate_objects(&conversion.objects);
    if invalid.is_empty() {
        Ok(conversion)
    } else {
        Err(ImportErrors(invalid))
    }
}

/// Whether `path` is a Terraform variable file for `--param-file` (`.tfvars`, `.tfvars.json`).
pub fn is_terraform_param_file(path: &Path) -> bool {
    terraform::is_tfvars(path)
}

/// The variables of a Terraform variable file (`.tfvars` or `.tfvars.json`), as `--param`
/// values (`var.NAME`; lists and maps as JSON text).
pub fn terraform_param_file(path: &Path) -> Result<BTreeMap<String, String>, ImportError> {
    terraform::read_tfvars(path)
}

/// Validates every object ready to be written exactly as `ecsplane render` and the API server
/// do (the CRD's structural schema and CEL rules, [`crate::validate`]); one error per problem,
/// naming the input file, the resource and the field.
fn validate_objects(objects: &[Object]) -> Vec<ImportError> {
    let mut errors = Vec::new();
    for o in objects {
        for problem in crate::validate::validate(&o.manifest) {
            errors.push(ImportError {
                location: Location {
                    file: o.source.file.clone(),
                    resource: o.source.resource.clone(),
                    path: Some(problem.path.clone()),
                },
                message: format!(
                    "{} {} as converted would be rejected by the API server ({}): {}",
                    o.kind, o.name, problem.kind, problem.message
                ),
            });
        }
    }
    errors
}

/// The problems the API server would find in an object held back for unresolved values, as
/// it is written with `--keep-unresolved` (placeholders in place): `(field, message)`.
pub fn problems_as_written(object: &Object) -> Vec<(String, String)> {
    crate::validate::validate(&object.manifest)
        .into_iter()
        .map(|p| (p.path, format!("{}: {}", p.kind, p.message)))
        .collect()
}

enum Input {
    CloudFormation(Value),
    Json(Value),
    Terraform(terraform::TfFile),
    /// `terraform show -json` of a plan or a state.
    TerraformJson(Value),
}

fn parse_input(path: &Path, text: &str) -> Result<Input, ImportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "tf" {
        return terraform::parse(path, text).map(Input::Terraform);
    }
    let value = if ext == "json" || text.trim_start().starts_with(['{', '[']) {
        serde_json::from_str::<Value>(text).map_err(|e| {
            error(
                path,
                None,
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?
    } else {
        yaml::parse(text).map_err(|e| {
            error(
                path,
                None,
                format!("invalid YAML at line {}: {}", e.line, e.message),
            )
        })?
    };
    if terraform::is_show_json(&value) {
        return Ok(Input::TerraformJson(value));
    }
    let is_template = value.get("Resources").is_some_and(Value::is_object)
        || value.get("AWSTemplateFormatVersion").is_some();
    Ok(if is_template {
        Input::CloudFormation(value)
    } else {
        Input::Json(value)
    })
}

/// Attaches rules and scaling, coerces, checks and builds the manifests.
fn finish(mut c: Collected, options: &ConvertOptions) -> Conversion {
    attach_rules(&mut c);
    attach_scaling(&mut c);

    let mut out = Conversion {
        skipped: std::mem::take(&mut c.skipped),
        ..Conversion::default()
    };
    let mut seen = BTreeSet::new();
    for mut draft in std::mem::take(&mut c.drafts) {
        let name = dns_label(&draft.aws_name);
        if !seen.insert((draft.kind, name.clone())) {
            c.note(
                NoteKind::NotConverted,
                &draft.source.file,
                draft.source.resource.as_deref(),
                None,
                format!(
                    "a second {} named {name} among the inputs; only the first is kept",
                    draft.kind
                ),
            );
            continue;
        }
        drop_aws_only_unresolved(&mut draft, &mut c.notes);
        let mut changes = Vec::new();
        schema::coerce(
            &mut draft.spec,
            schema::spec_schema(draft.kind),
            "",
            &mut changes,
        );
        for ch in changes {
            c.note_at(NoteKind::Dropped, &draft.source, Some(&ch.path), ch.message);
        }
        for (path, message) in &draft.unresolved {
            c.note_at(
                NoteKind::Unresolved,
                &draft.source,
                Some(path),
                message.clone(),
            );
        }
        let checked = check(draft.kind, &draft.spec);
        let spec = match checked {
            Ok(spec) => spec,
            Err(e) if draft.unresolved.is_empty() => {
                c.note(
                    NoteKind::NotConverted,
                    &draft.source.file,
                    draft.source.resource.as_deref(),
                    None,
                    format!(
                        "{} {name} is not valid for the ecsplane API: {e}",
                        draft.kind
                    ),
                );
                continue;
            }
            Err(_) => draft.spec.clone(),
        };
        let object = Object {
            kind: draft.kind,
            manifest: manifest(draft.kind, &name, options, &draft.source, spec),
            name,
            source: draft.source.clone(),
        };
        if draft.unresolved.is_empty() {
            out.objects.push(object);
        } else {
            out.incomplete.push(Incomplete {
                object,
                unresolved: draft.unresolved.iter().map(|(p, _)| p.clone()).collect(),
            });
        }
    }
    c.notes.sort();
    c.notes.dedup();
    for (file, format, skipped) in &c.files {
        let of_file = |o: &Object| o.source.file == *file;
        let count = |k: NoteKind| {
            c.notes
                .iter()
                .filter(|n| n.kind == k && n.location.file == *file)
                .count()
        };
        out.files.push(FileSummary {
            file: file.clone(),
            format: format.clone(),
            objects: out
                .objects
                .iter()
                .filter(|o| of_file(o))
                .map(|o| format!("{}/{}", o.kind, o.name))
                .collect(),
            incomplete: out
                .incomplete
                .iter()
                .filter(|i| of_file(&i.object))
                .map(|i| format!("{}/{}", i.object.kind, i.object.name))
                .collect(),
            skipped: *skipped,
            unresolved: count(NoteKind::Unresolved),
            not_converted: count(NoteKind::NotConverted),
        });
    }
    out.notes = c.notes;
    out
}

/// Deserializes the spec into the API type and back: the output always round-trips.
fn check(kind: Kind, spec: &Value) -> Result<Value, serde_json::Error> {
    use crate::api::*;
    fn round<T: serde::de::DeserializeOwned + serde::Serialize>(
        v: &Value,
    ) -> Result<Value, serde_json::Error> {
        serde_json::to_value(serde_json::from_value::<T>(v.clone())?)
    }
    match kind {
        Kind::EcsCluster => round::<EcsClusterSpec>(spec),
        Kind::TaskDefinition => round::<TaskDefinitionSpec>(spec),
        Kind::TargetGroup => round::<TargetGroupSpec>(spec),
        Kind::Listener => round::<ListenerSpec>(spec),
        Kind::EcsService => round::<EcsServiceSpec>(spec),
    }
}

fn manifest(
    kind: Kind,
    name: &str,
    options: &ConvertOptions,
    source: &Location,
    spec: Value,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::from(name));
    if let Some(ns) = &options.namespace {
        metadata.insert("namespace".into(), Value::from(ns.as_str()));
    }
    let file = source
        .file
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let from = match &source.resource {
        Some(r) => format!("{file}#{r}"),
        None => file,
    };
    metadata.insert(
        "annotations".into(),
        serde_json::json!({ "ecsplane.io/converted-from": from }),
    );
    serde_json::json!({
        "apiVersion": format!("{}/{}", crate::api::GROUP, crate::api::VERSION),
        "kind": kind.as_str(),
        "metadata": metadata,
        "spec": spec,
    })
}

/// Removes unresolved values of AWS-only fields (reporting each as dropped), so they do not
/// hold the object back.
fn drop_aws_only_unresolved(draft: &mut Draft, notes: &mut Vec<Note>) {
    let prefixes = draft.kind.aws_only();
    let mut kept = Vec::new();
    for (path, message) in std::mem::take(&mut draft.unresolved) {
        let generic = strip_indices(&path);
        let hit = prefixes.iter().find(|p| {
            generic == **p
                || generic.starts_with(&format!("{p}."))
                || generic.starts_with(&format!("{p}["))
        });
        match hit {
            Some(prefix) => {
                let depth = prefix.matches('.').count() + 1;
                let concrete = truncate_path(&path, depth);
                remove_path(&mut draft.spec, &concrete);
                notes.push(Note {
                    kind: NoteKind::Dropped,
                    location: Location {
                        file: draft.source.file.clone(),
                        resource: draft.source.resource.clone(),
                        path: Some(concrete),
                    },
                    message: format!("only meaningful inside AWS and unresolved ({message})"),
                });
            }
            None => kept.push((path, message)),
        }
    }
    draft.unresolved = kept;
}

/// `a[0].b[12].c` → `a[].b[].c`.
fn strip_indices(path: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for ch in path.chars() {
        match ch {
            '[' => {
                skipping = true;
                out.push('[');
            }
            ']' => {
                skipping = false;
                out.push(']');
            }
            _ if skipping => {}
            _ => out.push(ch),
        }
    }
    out
}

/// The first `depth` dotted segments of `path` (indices stay with their segment).
fn truncate_path(path: &str, depth: usize) -> String {
    path.split('.').take(depth).collect::<Vec<_>>().join(".")
}

enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segs.push(Seg::Key(key.to_owned()));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                segs.push(Seg::Index(i));
            }
        }
    }
    segs
}

fn remove_path(value: &mut Value, path: &str) {
    let segs = segments(path);
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut cur = value;
    for seg in parents {
        let next = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k),
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match (last, cur) {
        (Seg::Key(k), Value::Object(m)) => {
            m.remove(k);
        }
        (Seg::Index(i), Value::Array(a)) => {
            if let Some(v) = a.get_mut(*i) {
                *v = Value::Null;
            }
        }
        _ => {}
    }
}

fn attach_rules(c: &mut Collected) {
    for rule in std::mem::take(&mut c.rules) {
        let listener = c
            .drafts
            .iter_mut()
            .find(|d| d.kind == Kind::Listener && d.keys.contains(&rule.listener_key));
        let Some(listener) = listener else {
            c.note(
                NoteKind::NotConverted,
                &rule.source.file,
                rule.source.resource.as_deref(),
                None,
                format!(
                    "its listener ({}) is not among the inputs; convert it together with the input that defines the listener",
                    rule.listener_key
                ),
            );
            continue;
        };
        let spec = listener
            .spec
            .as_object_mut()
            .expect("a listener spec is an object");
        let prefix;
        if rule.is_default {
            prefix = "defaultActions".to_owned();
            let actions = rule
                .rule
                .get("actions")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            spec.insert("defaultActions".into(), actions);
        } else {
            let rules = spec
                .entry("rules")
                .or_insert_with(|| Value::Array(vec![]))
                .as_array_mut()
                .expect("rules is a list");
            prefix = format!("rules[{}]", rules.len());
            rules.push(rule.rule);
        }
        for (path, message) in rule.unresolved {
            let path = if path.is_empty() {
                prefix.clone()
            } else {
                format!("{prefix}.{path}")
            };
            listener.unresolved.push((path, message));
        }
    }
    // Rules in priority order, as ELB evaluates them.
    for d in c.drafts.iter_mut().filter(|d| d.kind == Kind::Listener) {
        if let Some(Value::Array(rules)) = d.spec.get_mut("rules") {
            rules.sort_by_key(|r| match r.get("priority") {
                Some(Value::Number(n)) => n.as_i64().unwrap_or(i64::MAX),
                Some(Value::String(s)) => s.parse().unwrap_or(i64::MAX),
                _ => i64::MAX,
            });
        }
    }
}

fn attach_scaling(c: &mut Collected) {
    // Policies that name their target by marker join it first.
    let pending = std::mem::take(&mut c.scaling);
    let mut targets: Vec<PendingScaling> = Vec::new();
    let mut policies: Vec<PendingScaling> = Vec::new();
    for p in pending {
        if p.target.is_some() {
            targets.push(p);
        } else {
            policies.push(p);
        }
    }
    for p in policies {
        let target = targets.iter_mut().find(|t| {
            t.key.as_deref().is_some_and(|k| k == p.resource_id) || t.resource_id == p.resource_id
        });
        match target {
            Some(t) => {
                let base = t.policies.len();
                for (path, message) in p.unresolved {
                    t.unresolved.push((reindex_policy(&path, base), message));
                }
                t.policies.extend(p.policies);
            }
            None => c.note(
                NoteKind::NotConverted,
                &p.source.file,
                p.source.resource.as_deref(),
                None,
                format!(
                    "its scalable target ({}) is not among the inputs; a scaling policy needs the target's minCapacity and maxCapacity",
                    p.resource_id
                ),
            ),
        }
    }
    for t in targets {
        if let Some(why) = &t.unidentified {
            c.note(
                NoteKind::Unresolved,
                &t.source.file,
                t.source.resource.as_deref(),
                Some("ResourceId"),
                format!(
                    "{why}; the scalable target and its {} scaling policies are not converted",
                    t.policies.len()
                ),
            );
            continue;
        }
        let (cluster, service) = match t
            .resource_id
            .strip_prefix("service/")
            .and_then(|r| r.split_once('/'))
        {
            Some((c, s)) => (c.to_owned(), s.to_owned()),
            None => {
                c.note(
                    NoteKind::NotConverted,
                    &t.source.file,
                    t.source.resource.as_deref(),
                    Some("resourceId"),
                    format!(
                        "resource ID {:?} is not an ECS service (service/CLUSTER/SERVICE)",
                        t.resource_id
                    ),
                );
                continue;
            }
        };
        let found = c.drafts.iter_mut().find(|d| {
            d.kind == Kind::EcsService
                && service_name(d) == service
                && service_cluster(d).is_none_or(|dc| dc == cluster)
        });
        let Some(svc) = found else {
            c.note(
                NoteKind::NotConverted,
                &t.source.file,
                t.source.resource.as_deref(),
                None,
                format!(
                    "scalable target {}: no EcsService {service} in cluster {cluster} among the inputs; convert it together with the service",
                    t.resource_id
                ),
            );
            continue;
        };
        let mut auto = t.target.clone().unwrap_or_else(schema::object);
        if !t.policies.is_empty() {
            auto["scalingPolicies"] = Value::Array(t.policies.clone());
        }
        svc.spec["autoScaling"] = auto;
        for (path, message) in t.unresolved {
            let path = if path.is_empty() {
                "autoScaling".to_owned()
            } else {
                format!("autoScaling.{path}")
            };
            svc.unresolved.push((path, message));
        }
    }
}

fn reindex_policy(path: &str, base: usize) -> String {
    match path.strip_prefix("scalingPolicies[") {
        Some(rest) => match rest.split_once(']') {
            Some((i, tail)) => format!(
                "scalingPolicies[{}]{tail}",
                i.parse::<usize>().unwrap_or(0) + base
            ),
            None => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

fn service_name(d: &Draft) -> String {
    d.spec
        .get("serviceName")
        .and_then(Value::as_str)
        .map_or_else(|| d.aws_name.clone(), str::to_owned)
}

fn service_cluster(d: &Draft) -> Option<String> {
    let c = d
        .spec
        .get("cluster")
        .or_else(|| d.spec.get("clusterArn"))
        .and_then(Value::as_str)?;
    Some(crate::translate::names::cluster_name(Some(c)).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_indices_generalise_and_truncate() {
        assert_eq!(
            strip_indices("containerDefinitions[3].logConfiguration.options.x"),
            "containerDefinitions[].logConfiguration.options.x"
        );
        assert_eq!(
            truncate_path("containerDefinitions[3].logConfiguration.options.x", 2),
            "containerDefinitions[3].logConfiguration"
        );
        let mut v = serde_json::json!({"a": [{"b": 1, "c": 2}]});
        remove_path(&mut v, "a[0].b");
        assert_eq!(v, serde_json::json!({"a": [{"c": 2}]}));
    }
}
