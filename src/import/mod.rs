//! Import: CloudFormation templates, AWS CLI JSON and Terraform task definitions turned into
//! ecsplane objects (`ecsplane convert`).
//!
//! Every input becomes *drafts* (a kind, a name and a spec in our field names), which are then
//! resolved, attached (listener rules to their listener, scaling to its service), coerced to the
//! API types and checked by deserializing into the API types. What cannot be resolved is never
//! guessed: the object is held back and each unresolved value reported with its location, unless
//! `--param` supplies it; an object referring to one held back is held back with it (a line
//! saying why), so what is written never refers to what is not. A value `convert` assumed (a
//! stack name from the file name) that the API would reject holds back its object only. Invalid
//! input (a syntax error, an unknown file shape, a limit reached while reading, two different
//! objects of one name) fails the whole conversion.
//!
//! Every bound on hostile input is a named constant, listed in [`limits`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::translate::names::{dns_label, dns_label_within};

mod alarm;
mod awscli;
mod cfn;
pub mod placeholder;
pub mod schema;
mod terraform;
pub mod yaml;

/// The bounds on what an input may make `convert` do, each reported as a limit when reached
/// (docs/import.md, "Limits").
pub mod limits {
    pub use super::cfn::{
        EVAL_OUTPUT_BASE, EVAL_OUTPUT_RATIO, MAX_EVAL_DEPTH, MAX_NESTED_STACK_DEPTH,
        MAX_SPLIT_ITEMS,
    };
    pub use super::placeholder::MAX_PLACEHOLDER_BYTES;
    pub use super::yaml::{ALIAS_EXPANSION_BASE, ALIAS_EXPANSION_RATIO, MAX_DEPTH};
}

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
    /// `EcsScheduledTask`.
    EcsScheduledTask,
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
            Kind::EcsScheduledTask => "EcsScheduledTask",
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
            Kind::EcsScheduledTask => &["networkConfiguration", "platformVersion", "tags"],
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
    /// Values for CloudFormation parameters, pseudo-parameters (`AWS::Region`,
    /// `AWS::StackName`), resources (`LogicalId`, `LogicalId.Attribute`), `Fn::ImportValue`
    /// export names, Terraform variables (`var.name` or `name`; lists and maps as JSON text, as
    /// a `.tfvars` file gives them), Terraform references (`aws_iam_role.app.arn`,
    /// `module.web.var.x`) and placeholders (`REPLACE_ME_X`, the `NAME` of `$$$NAME$$$` or
    /// `<NAME>`). A key `FILE:KEY`, where `FILE`
    /// is an input as given or its file name, applies to that input only and wins over the
    /// same key without `FILE:` (and, for a nested stack, over what its parent passes).
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
    /// A secret turned into a Secret reference (never a value).
    Secret,
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoteKind::Unresolved => "unresolved",
            NoteKind::NotConverted => "not converted",
            NoteKind::Skipped => "skipped",
            NoteKind::Dropped => "dropped",
            NoteKind::Assumed => "assumed",
            NoteKind::Secret => "secret",
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
    /// Marker other policies refer to it by (CloudFormation `!Ref`); of a policy, the marker
    /// alarms name it by (`import::alarm`).
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
    /// Terraform's EventBridge rules and targets, paired once every input is read.
    tf_schedules: terraform::PendingSchedules,
    /// CloudWatch alarms waiting for the step scaling policies they invoke.
    alarms: Vec<alarm::PendingAlarm>,
    notes: Vec<Note>,
    skipped: BTreeMap<String, usize>,
    /// Per file: format and skipped count.
    files: Vec<(PathBuf, String, usize)>,
    /// Values assumed in drafts: (index in `drafts`, [(spec path, what was assumed and how to
    /// change it)]). An assumed value the API would reject holds its object back.
    assumed: Vec<(usize, Vec<(String, String)>)>,
}

impl Collected {
    /// Records a draft and the values assumed in it.
    fn push_draft(&mut self, draft: Draft, assumed: Vec<(String, String)>) {
        if !assumed.is_empty() {
            self.assumed.push((self.drafts.len(), assumed));
        }
        self.drafts.push(draft);
    }

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
/// Returns every invalid input at once when any file cannot be read or parsed (or is not a
/// regular file: a device or a pipe is never read), has no shape `convert` knows, reaches a
/// limit while being read, converts to an object the API server would reject (each problem
/// named with its input file, resource and field) or to a second, different object of a name
/// already taken (both inputs named); unresolved values and unsupported resources are notes,
/// not errors.
pub fn convert_files(
    paths: &[PathBuf],
    options: &ConvertOptions,
) -> Result<Conversion, ImportErrors> {
    let mut errors = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        match read_input(path) {
            Ok(text) => sources.push((path.clone(), text)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    convert_sources(&sources, options)
}

/// [`convert_files`] on inputs already read: `(path, contents)`.
pub fn convert_sources(
    sources: &[(PathBuf, String)],
    options: &ConvertOptions,
) -> Result<Conversion, ImportErrors> {
    let paths: Vec<PathBuf> = sources.iter().map(|(p, _)| p.clone()).collect();
    let scoped = scope_params(&paths, options).map_err(ImportErrors)?;
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    for (path, text) in sources {
        match parse_input(path, text) {
            Ok(input) => inputs.push((path.clone(), input)),
            Err(e) => errors.push(e),
        }
    }
    // The .tf files of a run form one module, evaluated with the global values only.
    for (i, (path, input)) in inputs.iter().enumerate() {
        if let (Input::Terraform(_), Some(key)) = (input, scoped[i].1.iter().next()) {
            errors.push(error(
                path,
                None,
                format!(
                    "--param {}:{key}: the .tf files of one run form one module; give its values without FILE:",
                    path.display()
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    let mut collected = Collected::default();
    let mut summaries: Vec<(usize, String, usize)> = Vec::new();
    // CloudFormation: all templates at once, for nested stacks and exports.
    let mut cfn_inputs = Vec::new();
    let mut cfn_sources = Vec::new();
    for (i, (path, input)) in inputs.iter().enumerate() {
        if let Input::CloudFormation(template) = input {
            cfn_inputs.push(i);
            cfn_sources.push(cfn::Source {
                file: path.as_path(),
                template,
                options: &scoped[i].0,
                scoped: &scoped[i].1,
            });
        }
    }
    match cfn::convert_all(&cfn_sources, &mut collected) {
        Ok(s) => summaries.extend(s.into_iter().map(|(i, f, n)| (cfn_inputs[i], f, n))),
        Err(e) => errors.extend(e),
    }
    let tf_files: Vec<(&Path, &terraform::TfFile)> = inputs
        .iter()
        .filter_map(|(path, input)| match input {
            Input::Terraform(tf) => Some((path.as_path(), tf)),
            _ => None,
        })
        .collect();
    let (sources, module_errors) = terraform::Sources::load(&tf_files);
    if !module_errors.is_empty() {
        return Err(ImportErrors(module_errors));
    }
    let tree = terraform::Tree::build(&tf_files, &sources, options);
    for (i, (path, input)) in inputs.iter().enumerate() {
        let before = collected.skipped.values().sum::<usize>();
        let format = match input {
            Input::CloudFormation(_) => continue,
            Input::Json(value) => awscli::convert(path, value, &scoped[i].0, &mut collected),
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
                summaries.push((i, format, skipped));
            }
            Err(e) => errors.push(e),
        }
    }
    terraform::attach_schedules(&mut collected);
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    summaries.sort_by_key(|(i, ..)| *i);
    collected.files = summaries
        .into_iter()
        .map(|(i, format, skipped)| (inputs[i].0.clone(), format, skipped))
        .collect();
    finish(collected, options).map_err(ImportErrors)
}

/// The contents of an input file; devices, pipes and directories are refused unread (`-f
/// /dev/zero` would never end).
fn read_input(path: &Path) -> Result<String, ImportError> {
    let meta =
        std::fs::metadata(path).map_err(|e| error(path, None, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(error(
            path,
            None,
            "not a regular file (a directory, device or pipe): convert reads files",
        ));
    }
    std::fs::read_to_string(path).map_err(|e| error(path, None, format!("cannot read: {e}")))
}

/// The values of a `--param-file`, as `(KEY, VALUE)`: a Terraform variable file (`.tfvars`,
/// `.tfvars.json`: `var.NAME`, lists and maps as JSON text) by its extension, else
/// CloudFormation parameter JSON (`aws cloudformation`'s `[{"ParameterKey",
/// "ParameterValue"}]` or Copilot's `{"Parameters": {…}}`) in file order.
pub fn read_param_file(path: &Path) -> Result<Vec<(String, String)>, ImportError> {
    if terraform::is_tfvars(path) {
        return terraform::read_tfvars(path).map(|values| values.into_iter().collect());
    }
    let text = read_input(path)?;
    cfn::parameter_file(path, &text)
}

/// The options of each input: the global `--param`s overlaid by the ones scoped to it
/// (`FILE:KEY`), and the keys so scoped. A key whose `FILE:` part looks like a file name but
/// names no input is an error, not a silently unused value.
#[allow(clippy::type_complexity)]
fn scope_params(
    paths: &[PathBuf],
    options: &ConvertOptions,
) -> Result<Vec<(ConvertOptions, BTreeSet<String>)>, Vec<ImportError>> {
    let names: Vec<Vec<String>> = paths
        .iter()
        .map(|p| {
            let mut n = vec![p.display().to_string()];
            if let Some(f) = p.file_name() {
                n.push(f.to_string_lossy().into_owned());
            }
            n
        })
        .collect();
    let mut global = BTreeMap::new();
    let mut scoped: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); paths.len()];
    let mut errors = Vec::new();
    for (key, value) in &options.params {
        let prefix = names
            .iter()
            .flatten()
            .filter(|n| key.len() > n.len() + 1 && key.starts_with(n.as_str()))
            .filter(|n| key.as_bytes().get(n.len()) == Some(&b':'))
            .max_by_key(|n| n.len());
        match prefix {
            Some(prefix) => {
                let rest = &key[prefix.len() + 1..];
                for (i, n) in names.iter().enumerate() {
                    if n.iter().any(|n| n == prefix) {
                        scoped[i].insert(rest.to_owned(), value.clone());
                    }
                }
            }
            None => {
                let file = key.split(':').next().unwrap_or_default();
                let looks_like_file = [".yaml", ".yml", ".json", ".template", ".tf"]
                    .iter()
                    .any(|ext| file.len() > ext.len() && file.ends_with(ext));
                if looks_like_file && key.len() > file.len() {
                    errors.push(ImportError {
                        location: Location {
                            file: PathBuf::from(file),
                            resource: None,
                            path: None,
                        },
                        message: format!(
                            "--param {key}: {file} is not one of the input files (-f), so the value would apply to nothing"
                        ),
                    });
                } else {
                    global.insert(key.clone(), value.clone());
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(scoped
        .into_iter()
        .map(|own| {
            let keys: BTreeSet<String> = own.keys().cloned().collect();
            let mut params = global.clone();
            params.extend(own);
            (
                ConvertOptions {
                    params,
                    namespace: options.namespace.clone(),
                },
                keys,
            )
        })
        .collect())
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
            let message = if e.to_string().contains("recursion limit exceeded") {
                format!(
                    "limit MAX_DEPTH reached at line {}: JSON nested deeper than {} levels",
                    e.line(),
                    yaml::MAX_DEPTH
                )
            } else {
                format!(
                    "invalid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                )
            };
            error(path, None, message)
        })?
    } else {
        yaml::parse(text).map_err(|e| {
            let message = match e.kind {
                yaml::YamlErrorKind::Limit => format!("{} (at line {})", e.message, e.line),
                yaml::YamlErrorKind::Syntax if text.contains("{{") => format!(
                    "invalid YAML at line {}: {} (the file contains template directives `{{{{ … }}}}`: render the template first, then convert its output)",
                    e.line, e.message
                ),
                yaml::YamlErrorKind::Syntax => {
                    format!("invalid YAML at line {}: {}", e.line, e.message)
                }
            };
            error(path, None, message)
        })?
    };
    if terraform::is_show_json(&value) {
        return Ok(Input::TerraformJson(value));
    }
    if cfn::is_parameter_file(&value) {
        return Err(error(
            path,
            None,
            "a CloudFormation parameter file, not a template: pass it with --param-file FILE (or --param-file TEMPLATE:FILE for the one stack it belongs to)",
        ));
    }
    let is_template = value.get("Resources").is_some_and(Value::is_object)
        || value.get("AWSTemplateFormatVersion").is_some();
    Ok(if is_template {
        Input::CloudFormation(value)
    } else {
        Input::Json(value)
    })
}

/// A draft on its way to an object.
struct Candidate {
    draft: Draft,
    /// Its `metadata.name`.
    name: String,
    /// The spec as written: round-tripped through the API type, or as converted when held
    /// back.
    spec: Value,
    /// Values assumed in it: (spec path, what and how to change it).
    assumed: Vec<(String, String)>,
    /// Not valid for the API and not held back: not converted at all.
    invalid: bool,
}

impl Candidate {
    fn held(&self) -> bool {
        self.invalid || !self.draft.unresolved.is_empty()
    }

    /// The name other objects refer to it by: a task definition's family, a target group's
    /// or cluster's name.
    fn identity(&self) -> Vec<String> {
        let field = match self.draft.kind {
            Kind::TaskDefinition => "family",
            Kind::TargetGroup => "name",
            Kind::EcsCluster => "clusterName",
            Kind::EcsService | Kind::Listener | Kind::EcsScheduledTask => return Vec::new(),
        };
        let mut ids = vec![self.name.clone(), self.draft.aws_name.clone()];
        if let Some(v) = self.spec.get(field).and_then(Value::as_str) {
            ids.push(v.to_owned());
        }
        ids
    }
}

/// The references of a spec to other objects: (field, kind, name referred to).
fn references(kind: Kind, spec: &Value) -> Vec<(String, Kind, String)> {
    use crate::translate::names;
    let mut refs = Vec::new();
    match kind {
        Kind::EcsService | Kind::EcsScheduledTask => {
            if let Some(td) = spec.get("taskDefinition").and_then(Value::as_str) {
                let (family, _) = names::task_definition_ref(td);
                refs.push(("taskDefinition".into(), Kind::TaskDefinition, family.into()));
            }
            if let Some(c) = spec.get("cluster").and_then(Value::as_str) {
                refs.push((
                    "cluster".into(),
                    Kind::EcsCluster,
                    names::cluster_name(Some(c)).into(),
                ));
            }
            if let Some(Value::Array(lbs)) = spec.get("loadBalancers") {
                for (i, lb) in lbs.iter().enumerate() {
                    if let Some(arn) = lb.get("targetGroupArn").and_then(Value::as_str) {
                        refs.push((
                            format!("loadBalancers[{i}].targetGroupArn"),
                            Kind::TargetGroup,
                            names::target_group_of_arn(arn).into(),
                        ));
                    }
                }
            }
        }
        Kind::Listener => {
            let mut found = Vec::new();
            key_values(spec, "", "targetGroupArn", 0, &mut found);
            for (path, arn) in found {
                refs.push((
                    path,
                    Kind::TargetGroup,
                    names::target_group_of_arn(&arn).into(),
                ));
            }
        }
        _ => {}
    }
    refs
}

/// Every string value of a field named `key` under `v`, with its path.
fn key_values(v: &Value, path: &str, key: &str, depth: usize, out: &mut Vec<(String, String)>) {
    if depth > limits::MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = schema::join(path, k);
                match child {
                    Value::String(s) if k == key => out.push((p, s.clone())),
                    _ => key_values(child, &p, key, depth + 1, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                key_values(child, &format!("{path}[{i}]"), key, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Attaches rules and scaling, coerces, checks, validates, holds back what refers to what is
/// held back, and builds the manifests; or every output problem (an object the API server
/// would reject, two different objects of one name).
fn finish(mut c: Collected, options: &ConvertOptions) -> Result<Conversion, Vec<ImportError>> {
    attach_rules(&mut c);
    alarm::attach(&mut c);
    attach_scaling(&mut c);

    let mut out = Conversion {
        skipped: std::mem::take(&mut c.skipped),
        ..Conversion::default()
    };
    let mut assumed: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    for (i, a) in std::mem::take(&mut c.assumed) {
        assumed.entry(i).or_default().extend(a);
    }
    let mut cands: Vec<Candidate> = Vec::new();
    for (i, mut draft) in std::mem::take(&mut c.drafts).into_iter().enumerate() {
        if !draft.spec.is_object() {
            c.note_at(
                NoteKind::NotConverted,
                &draft.source,
                None,
                format!("{} {}: not a mapping", draft.kind, draft.aws_name),
            );
            continue;
        }
        let name = match draft.kind {
            // Its CronJob is named after it, and a CronJob name has at most 52 characters.
            Kind::EcsScheduledTask => {
                dns_label_within(&draft.aws_name, crate::translate::scheduled::MAX_NAME)
            }
            _ => dns_label(&draft.aws_name),
        };
        drop_aws_only_unresolved(&mut draft, &mut c.notes);
        let before = (!draft.unresolved.is_empty()).then(|| draft.spec.clone());
        let mut changes = Vec::new();
        schema::coerce(
            &mut draft.spec,
            schema::spec_schema(draft.kind),
            "",
            &mut changes,
        );
        for ch in changes {
            // An unresolved placeholder where the API takes a number or a boolean stays as
            // written (`desiredCount: ${TaskCount}`), for --keep-unresolved; it is reported as
            // unresolved, not dropped.
            let placeholder = before
                .as_ref()
                .filter(|_| draft.unresolved.iter().any(|(p, _)| *p == ch.path))
                .and_then(|b| get_path(b, &ch.path))
                .cloned();
            if let Some(v) = placeholder
                && set_path(&mut draft.spec, &ch.path, v)
            {
                continue;
            }
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
        let (spec, invalid) = match check(draft.kind, &draft.spec) {
            Ok(spec) => (spec, false),
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
                (draft.spec.clone(), true)
            }
            Err(_) => (draft.spec.clone(), false),
        };
        cands.push(Candidate {
            draft,
            name,
            spec,
            assumed: assumed.remove(&i).unwrap_or_default(),
            invalid,
        });
    }

    // Names: one object per kind and name. The same object twice is written once; two
    // different ones are an error naming both.
    let mut errors = Vec::new();
    let mut keep = vec![true; cands.len()];
    let mut first: BTreeMap<(Kind, String), usize> = BTreeMap::new();
    for (i, cand) in cands.iter().enumerate() {
        let key = (cand.draft.kind, cand.name.clone());
        match first.get(&key) {
            None => {
                first.insert(key, i);
            }
            Some(&j) => {
                let other = &cands[j];
                keep[i] = false;
                if other.spec == cand.spec && other.draft.unresolved == cand.draft.unresolved {
                    c.note_at(
                        NoteKind::Assumed,
                        &cand.draft.source,
                        None,
                        format!(
                            "the same {} {} as {}: written once",
                            cand.draft.kind, cand.name, other.draft.source
                        ),
                    );
                } else {
                    errors.push(ImportError {
                        location: cand.draft.source.clone(),
                        message: format!(
                            "{} {} is also converted from {}, with a different spec: one name cannot hold two objects; give one of them another name (its name property, or --param FILE:AWS::StackName for names CloudFormation would generate), or convert the inputs separately",
                            cand.draft.kind, cand.name, other.draft.source
                        ),
                    });
                }
            }
        }
    }

    // Validation, exactly as render and the API server validate. A problem in a value
    // convert assumed holds back its object only; any other is an error.
    for (i, cand) in cands.iter_mut().enumerate() {
        if !keep[i] || cand.held() {
            continue;
        }
        let manifest = manifest(
            cand.draft.kind,
            &cand.name,
            options,
            &cand.draft.source,
            cand.spec.clone(),
        );
        for problem in crate::validate::validate(&manifest) {
            let field = problem
                .path
                .strip_prefix("spec.")
                .unwrap_or(&problem.path)
                .to_owned();
            let within = |a: &str, b: &str| {
                a == b || a.starts_with(&format!("{b}.")) || a.starts_with(&format!("{b}["))
            };
            let why = cand
                .assumed
                .iter()
                .find(|(p, _)| within(p, &field) || within(&field, p));
            match why {
                Some((_, what)) => {
                    let message = format!(
                        "the API server would reject this value ({}: {}); it comes from {what}",
                        problem.kind, problem.message
                    );
                    c.note_at(
                        NoteKind::Unresolved,
                        &cand.draft.source,
                        Some(&field),
                        message.clone(),
                    );
                    cand.draft.unresolved.push((field, message));
                }
                None => errors.push(ImportError {
                    location: Location {
                        file: cand.draft.source.file.clone(),
                        resource: cand.draft.source.resource.clone(),
                        path: Some(problem.path.clone()),
                    },
                    message: format!(
                        "{} {} as converted would be rejected by the API server ({}): {}",
                        cand.draft.kind, cand.name, problem.kind, problem.message
                    ),
                }),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Hold-backs cascade: what refers to an object that is not written is not written either.
    let mut held: Vec<bool> = cands.iter().map(Candidate::held).collect();
    let mut by_identity: BTreeMap<(Kind, String), Vec<usize>> = BTreeMap::new();
    for (j, cand) in cands.iter().enumerate().filter(|(j, _)| keep[*j]) {
        let mut ids = cand.identity();
        ids.sort();
        ids.dedup();
        for id in ids {
            by_identity
                .entry((cand.draft.kind, id))
                .or_default()
                .push(j);
        }
    }
    let refs: Vec<Vec<(String, Kind, String)>> = cands
        .iter()
        .map(|c| references(c.draft.kind, &c.spec))
        .collect();
    loop {
        let mut changed = false;
        for i in 0..cands.len() {
            if !keep[i] || held[i] {
                continue;
            }
            for (field, kind, target) in &refs[i] {
                let targets: Vec<usize> = by_identity
                    .get(&(*kind, target.clone()))
                    .map(|t| t.iter().copied().filter(|&j| j != i).collect())
                    .unwrap_or_default();
                let Some(&t) = targets.first() else { continue };
                if !targets.iter().all(|&j| held[j]) {
                    continue;
                }
                let target = &cands[t];
                let at = &target.draft.source;
                let place = match (&at.resource, at.file == cands[i].draft.source.file) {
                    (Some(r), true) => r.clone(),
                    (Some(r), false) => format!("{r} of {}", at.file.display()),
                    (None, _) => at.file.display().to_string(),
                };
                let message = format!(
                    "refers to {} {} ({place}), which is {}; so this object is held back too",
                    target.draft.kind,
                    target.name,
                    if target.invalid {
                        "not converted"
                    } else {
                        "held back for its unresolved values"
                    }
                );
                let source = cands[i].draft.source.clone();
                c.note_at(NoteKind::Unresolved, &source, Some(field), message.clone());
                cands[i].draft.unresolved.push((field.clone(), message));
                held[i] = true;
                changed = true;
                break;
            }
        }
        if !changed {
            break;
        }
    }

    for (i, cand) in cands.into_iter().enumerate() {
        if !keep[i] || cand.invalid {
            continue;
        }
        let object = Object {
            kind: cand.draft.kind,
            manifest: manifest(
                cand.draft.kind,
                &cand.name,
                options,
                &cand.draft.source,
                cand.spec,
            ),
            name: cand.name,
            source: cand.draft.source.clone(),
        };
        if cand.draft.unresolved.is_empty() {
            out.objects.push(object);
        } else {
            out.incomplete.push(Incomplete {
                object,
                unresolved: cand
                    .draft
                    .unresolved
                    .iter()
                    .map(|(p, _)| p.clone())
                    .collect(),
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
    Ok(out)
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
        Kind::EcsScheduledTask => round::<crate::api::EcsScheduledTaskSpec>(spec),
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

/// The value at `path` (`a.b[2].c`), when there is one.
fn get_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    segments(path)
        .iter()
        .try_fold(value, |cur, seg| match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k),
            (Seg::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        })
}

/// Sets the field at `path` to `v`, when its parent object exists; whether it did.
fn set_path(value: &mut Value, path: &str, v: Value) -> bool {
    let segs = segments(path);
    let Some((Seg::Key(last), parents)) = segs.split_last() else {
        return false;
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
            None => return false,
        }
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.clone(), v);
            true
        }
        _ => false,
    }
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
        let Some(spec) = listener.spec.as_object_mut() else {
            continue;
        };
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
            if !matches!(spec.get("rules"), None | Some(Value::Array(_))) {
                c.notes.push(Note {
                    kind: NoteKind::Dropped,
                    location: Location {
                        path: Some("rules".into()),
                        ..listener.source.clone()
                    },
                    message: "not a list; replaced by the listener rules of the inputs".into(),
                });
                spec.remove("rules");
            }
            let entry = spec.entry("rules").or_insert_with(|| Value::Array(vec![]));
            let Value::Array(rules) = entry else {
                continue;
            };
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
        let mut auto = t
            .target
            .clone()
            .filter(Value::is_object)
            .unwrap_or_else(schema::object);
        if let Some(m) = auto.as_object_mut()
            && !t.policies.is_empty()
        {
            m.insert("scalingPolicies".into(), Value::Array(t.policies.clone()));
        }
        let Some(spec) = svc.spec.as_object_mut() else {
            continue;
        };
        spec.insert("autoScaling".into(), auto);
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

    fn convert_text(file: &str, text: &str) -> Result<Conversion, ImportErrors> {
        convert_sources(
            &[(PathBuf::from(file), text.to_owned())],
            &ConvertOptions::default(),
        )
    }

    fn unresolved_messages(c: &Conversion) -> Vec<String> {
        c.notes
            .iter()
            .filter(|n| n.kind == NoteKind::Unresolved)
            .map(|n| n.message.clone())
            .collect()
    }

    #[test]
    fn aws_cli_json_with_non_objects_where_objects_belong_is_not_converted_never_a_panic() {
        for text in [
            r#"{"services": ["x", 1, null, [], {"serviceName": "ok", "taskDefinition": "t"}]}"#,
            r#"{"services": [{"taskDefinition": "t"}, "x"]}"#,
            r#"{"TargetGroups": [1, "x", null]}"#,
            r#"{"Listeners": ["x"], "Rules": [1]}"#,
            r#"{"Rules": ["x", {"RuleArn": 1, "Priority": [], "IsDefault": "x"}]}"#,
            r#"{"ScalableTargets": ["x", {"ResourceId": 5}]}"#,
            r#"{"ScalingPolicies": [null, {"ResourceId": "service/a/b", "ServiceNamespace": 1}]}"#,
            r#"{"containerDefinitions": "x", "family": 5}"#,
            r#"{"taskDefinition": {"family": "f", "containerDefinitions": [1, "x"]}, "tags": 5}"#,
            r#"{"serviceName": "s", "loadBalancers": "x", "deploymentConfiguration": [1]}"#,
            r#"[1, 2, 3]"#,
            r#""just a string""#,
        ] {
            let _ = convert_text("x.json", text);
        }
        let c = convert_text(
            "x.json",
            r#"{"services": ["x", {"serviceName": "ok", "taskDefinition": "t"}]}"#,
        )
        .unwrap();
        assert_eq!(c.objects.len(), 1);
        assert!(
            c.notes.iter().any(|n| n.kind == NoteKind::NotConverted
                && n.location.path.as_deref() == Some("services[0]")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn cloudformation_with_non_mappings_where_mappings_belong_is_not_converted_never_a_panic() {
        let texts = [
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties: [1, 2]\n",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties: text\n",
            "Resources:\n  S:\n    Type: AWS::ECS::Service\n    Properties: !If [C, x, y]\nConditions:\n  C: !Equals [a, a]\n",
            "Resources:\n  L:\n    Type: AWS::ElasticLoadBalancingV2::Listener\n    Properties:\n      Rules: 5\n  R:\n    Type: AWS::ElasticLoadBalancingV2::ListenerRule\n    Properties:\n      ListenerArn: !Ref L\n      Priority: 1\n",
            "Resources:\n  T:\n    Type: AWS::ApplicationAutoScaling::ScalableTarget\n    Properties: !If [C, x, y]\nConditions:\n  C: !Equals [a, a]\n",
            "Resources:\n  P:\n    Type: AWS::ApplicationAutoScaling::ScalingPolicy\n    Properties:\n      ScalingTargetId: [1]\n",
            "Resources: 5\n",
            "Resources:\n  A: 5\n",
            "Resources:\n  A:\n    Type: [1]\n",
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions: [1, x, {Environment: 5}]\n",
            "Resources:\n  S:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: [1]\n      Parameters: 5\n",
        ];
        for text in texts {
            let _ = convert_text("t.yaml", text);
        }
        let c = convert_text("t.yaml", texts[0]).unwrap();
        assert!(c.objects.is_empty());
        assert!(
            c.notes
                .iter()
                .any(|n| n.kind == NoteKind::NotConverted && n.message.contains("not a mapping")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_self_referencing_find_in_map_in_a_template_is_unresolved_not_a_stack_overflow() {
        let text = "Mappings:\n  M:\n    a:\n      b: !FindInMap [M, a, b]\nResources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !FindInMap [M, a, b]\n      ContainerDefinitions: [{Name: app, Image: nginx}]\n";
        let c = convert_text("t.yaml", text).unwrap();
        assert_eq!(c.incomplete.len(), 1);
        assert!(
            unresolved_messages(&c)
                .iter()
                .any(|m| m.contains("refers to itself")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_cloudformation_billion_laughs_is_refused_as_a_limit_in_little_time() {
        let mut text = String::from(
            "Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: f\n      X0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "      X{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(text.len() < 1000, "{}", text.len());
        let started = std::time::Instant::now();
        let e = convert_text("laughs.yaml", &text).unwrap_err().to_string();
        assert!(
            e.contains("laughs.yaml: limit ALIAS_EXPANSION_RATIO reached"),
            "{e}"
        );
        assert!(!e.contains("invalid YAML"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn splitting_a_five_megabyte_string_on_nothing_is_a_limit_not_gigabytes() {
        let text = format!(
            "{{\"Parameters\": {{\"Big\": {{\"Type\": \"String\", \"Default\": \"{}\"}}}}, \"Resources\": {{\"T\": {{\"Type\": \"AWS::ECS::TaskDefinition\", \"Properties\": {{\"Family\": \"f\", \"ContainerDefinitions\": [{{\"Name\": \"a\", \"Image\": \"i\", \"Command\": {{\"Fn::Split\": [\"\", {{\"Ref\": \"Big\"}}]}}}}]}}}}}}}}",
            "a".repeat(5 << 20)
        );
        let started = std::time::Instant::now();
        let c = convert_text("split.json", &text).unwrap();
        assert!(
            unresolved_messages(&c)
                .iter()
                .any(|m| m.contains("limit MAX_SPLIT_ITEMS reached")),
            "{:?}",
            c.notes
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn json_nested_beyond_the_depth_limit_is_refused_as_a_limit() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = convert_text("deep.json", &deep).unwrap_err().to_string();
        assert!(e.contains("limit MAX_DEPTH reached"), "{e}");
        let deep = format!("a: {}1{}", "[".repeat(200), "]".repeat(200));
        let e = convert_text("deep.yaml", &deep).unwrap_err().to_string();
        assert!(e.contains("limit MAX_DEPTH reached"), "{e}");
    }

    #[test]
    fn a_device_is_refused_unread() {
        let e = convert_files(&[PathBuf::from("/dev/zero")], &ConvertOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn secrets_become_secret_references_and_are_never_written_or_suggested_as_params() {
        let text = r#"
Parameters:
  DbPassword: {Type: String, NoEcho: true, Default: hunter2}
  ApiKey: {Type: String, NoEcho: "true"}
Resources:
  T:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: web
      ContainerDefinitions:
        - Name: app
          Image: nginx
          Environment:
            - {Name: DB_PASSWORD, Value: !Ref DbPassword}
            - {Name: API_KEY, Value: !Ref ApiKey}
            - {Name: TOKEN, Value: '{{resolve:secretsmanager:prod/token:SecretString:token}}'}
            - {Name: PIN, Value: '{{resolve:ssm-secure:/prod/pin:2}}'}
            - {Name: PLAIN, Value: visible}
"#;
        let c = convert_text("secrets.yaml", text).unwrap();
        assert_eq!(c.objects.len(), 1, "{:?}", c.notes);
        let m = &c.objects[0].manifest;
        let written = m.to_string();
        assert!(!written.contains("hunter2"), "{written}");
        assert!(!written.contains("\\u0000"), "{written}");
        let container = &m["spec"]["containerDefinitions"][0];
        assert_eq!(
            container["environment"],
            serde_json::json!([{"name": "PLAIN", "value": "visible"}])
        );
        assert_eq!(
            container["secrets"],
            serde_json::json!([
                {"name": "DB_PASSWORD", "valueFrom": "/cloudformation/secrets/DbPassword"},
                {"name": "API_KEY", "valueFrom": "/cloudformation/secrets/ApiKey"},
                {"name": "TOKEN", "valueFrom": "arn:aws:secretsmanager:::secret:prod/token:token::"},
                {"name": "PIN", "valueFrom": "/prod/pin"},
            ])
        );
        let secret_notes: Vec<&Note> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::Secret)
            .collect();
        assert_eq!(secret_notes.len(), 4, "{:?}", c.notes);
        assert!(
            secret_notes
                .iter()
                .any(|n| n.message.contains("version 2 not carried"))
        );
        assert!(
            c.notes
                .iter()
                .all(|n| !n.message.contains("--param DbPassword"))
        );
        // Inside a larger value a secret cannot be a reference: unresolved, no --param.
        let text = text.replace(
            "Value: !Ref DbPassword",
            "Value: !Sub 'postgres://u:${DbPassword}@db'",
        );
        let c = convert_text("secrets.yaml", &text).unwrap();
        assert_eq!(c.incomplete.len(), 1);
        let m = c.incomplete[0].object.manifest.to_string();
        assert!(
            !m.contains("hunter2") && m.contains("postgres://u:${DbPassword}@db"),
            "{m}"
        );
        let why = unresolved_messages(&c);
        assert!(
            why.iter()
                .any(|w| w.contains("NoEcho parameter DbPassword is a secret")),
            "{why:?}"
        );
        assert!(why.iter().all(|w| !w.contains("--param")), "{why:?}");
    }
}
