//! The template model: a CloudFormation template's parameters (defaults, `--param`, the
//! `Parameters` a parent stack passes), pseudo parameters, conditions, mappings, the physical
//! names of its own resources and the stacks nested in it, and the intrinsic functions (`Ref`,
//! `Fn::GetAtt` including `Stack.Outputs.X`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`,
//! `Fn::FindInMap`, `Fn::If`, the condition functions, `Fn::ImportValue`, `Fn::Base64`,
//! `Fn::Length`, `Fn::ToJsonString`) that turn template values into plain JSON values. What
//! cannot be resolved offline stays as `${...}` text and is reported with its path, never
//! guessed.
//!
//! Secrets: a `NoEcho` parameter evaluates to a secret marker (never its value, which only
//! conditions see); `cfn::convert` turns a marker that is a whole environment value into a
//! Secret reference and reports every other one as unresolved.
//!
//! Every evaluation is bounded: nesting by [`MAX_EVAL_DEPTH`], nested stacks by
//! [`MAX_NESTED_STACK_DEPTH`], lists from `Fn::Split` by [`MAX_SPLIT_ITEMS`], and everything the
//! functions produce by [`EVAL_OUTPUT_BASE`] plus [`EVAL_OUTPUT_RATIO`] times the template's
//! own size; a limit reached is an unresolved value saying which limit.
//!
//! Depends on `import` (options, placeholders, schema paths) only; the converter
//! (`cfn::convert`) and the entry points (`cfn`) depend on this file, never the reverse.

use std::cell::{Cell, Ref, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::import::placeholder::{self, Syntax};
use crate::import::schema::{self, join};
use crate::import::{ConvertOptions, text as scalar_text};

/// The deepest nesting of intrinsic functions, values and conditions evaluated; deeper (or
/// self-referencing, as a `!FindInMap` whose entry looks itself up) is a limit, not a stack
/// overflow.
pub const MAX_EVAL_DEPTH: usize = 100;

/// The deepest chain of nested stacks followed (`AWS::CloudFormation::Stack` in a template
/// that is itself nested).
pub const MAX_NESTED_STACK_DEPTH: usize = 8;

/// The most items `Fn::Split` produces (a 5 MB string split on `""` would be five million).
pub const MAX_SPLIT_ITEMS: usize = 10_000;

/// Bytes the intrinsic functions of one template may produce whatever its size.
pub const EVAL_OUTPUT_BASE: usize = 16 << 20;

/// Bytes the intrinsic functions of one template may produce per byte of the template, beyond
/// [`EVAL_OUTPUT_BASE`]: a small template that multiplies a large value is a limit.
pub const EVAL_OUTPUT_RATIO: usize = 16;

/// Stands for `AWS::NoValue` until the enclosing object or list drops it.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

/// Starts a secret marker: `SECRET_MARKER` valueFrom `\u{1}` parameter name `\u{0}`.
pub(super) const SECRET_MARKER: &str = "\u{0}secret:";

/// What `Ref` of a listener gives, so its rules find it.
const LISTENER_MARKER: &str = "ecsplane:listener:";
/// What `Ref` of a scalable target gives, so its policies find it.
const TARGET_MARKER: &str = "ecsplane:scalable-target:";

/// The nested stack resource type.
pub(super) const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// What one resolution left unresolved: (path, message).
pub(super) type Unresolved = Vec<(String, String)>;

/// What one intrinsic gives: its value, or the placeholder left in its place and why.
type Resolved = Result<Value, (String, String)>;

/// One CloudFormation input of the conversion.
pub(in crate::import) struct Source<'a> {
    /// The file it was read from.
    pub(in crate::import) file: &'a Path,
    /// The template.
    pub(in crate::import) template: &'a Value,
    /// The `--param`s that apply to it (global ones overlaid by `FILE:KEY` ones).
    pub(in crate::import) options: &'a ConvertOptions,
    /// The keys given as `FILE:KEY` for this file: they win over what a parent stack passes.
    pub(in crate::import) scoped: &'a BTreeSet<String>,
}

/// An export of some template's `Outputs`, for `Fn::ImportValue` across the inputs.
#[derive(Debug, Clone)]
pub(super) struct Export {
    /// The exported value.
    pub(super) value: Value,
    /// The file that exports it.
    pub(super) file: PathBuf,
    /// The stack name the export name was built with, when it was assumed.
    pub(super) assumed_stack: Option<String>,
}

/// Export name → export, of every template converted together.
pub(super) type Exports = BTreeMap<String, Export>;

/// How a template is nested in its parent.
pub(super) struct Nesting {
    /// The parent's stack name.
    parent_stack: String,
    /// The parent's file.
    parent_file: PathBuf,
    /// The logical ID of the `AWS::CloudFormation::Stack` resource.
    id: String,
    /// The `Parameters` the parent passes (or why one is unresolved).
    params: BTreeMap<String, Result<Value, String>>,
    /// The sources of the stacks above, innermost last.
    ancestors: Vec<usize>,
}

/// A template ready for resolution.
pub(super) struct Template<'a> {
    /// The file the template was read from.
    pub(super) file: &'a Path,
    /// Its index among the sources.
    pub(super) index: usize,
    sources: &'a [Source<'a>],
    options: &'a ConvertOptions,
    exports: &'a Exports,
    /// The stack name, and why it was assumed (`None`: given with `--param`).
    stack_name: String,
    stack_name_assumed: Option<String>,
    /// How this stack is nested, when it is.
    nesting: Option<Nesting>,
    /// Parameter values (Default, `--param`, the parent's), and why the others have none.
    params: BTreeMap<String, Result<Value, String>>,
    /// `NoEcho` parameters: secrets.
    no_echo: BTreeSet<String>,
    mappings: Value,
    conditions_raw: Map<String, Value>,
    conditions: RefCell<BTreeMap<String, Option<bool>>>,
    resources: Map<String, Value>,
    /// `Ref` of the template's own resources.
    refs: BTreeMap<String, Value>,
    /// `Fn::GetAtt` of the template's own resources.
    atts: BTreeMap<(String, String), Value>,
    /// Resources whose name is unresolved, and why.
    unnamed: BTreeMap<String, String>,
    /// Pseudo parameters used with an assumed value.
    assumed: RefCell<BTreeSet<String>>,
    /// Where assumed values were used since the last [`Template::take_assumed_at`]: (path,
    /// what was assumed).
    assumed_at: RefCell<Vec<(String, String)>>,
    /// While evaluating a condition, secrets have their value (which is never written).
    in_condition: Cell<bool>,
    /// Current evaluation depth.
    depth: Cell<usize>,
    /// Bytes produced by the functions so far, and how many they may produce.
    produced: Cell<usize>,
    budget: usize,
    /// `Fn::FindInMap` entries being resolved (a cycle guard).
    lookups: RefCell<Vec<String>>,
    /// Nested stacks, once built (or why they cannot be), and the ones being built.
    children: RefCell<BTreeMap<String, Result<Rc<Template<'a>>, String>>>,
    building: RefCell<BTreeSet<String>>,
}

impl<'a> Template<'a> {
    /// The model of source `index`, with the exports of the other templates converted with it,
    /// nested as `nesting` says (`None`: a stack of its own).
    pub(super) fn new(
        sources: &'a [Source<'a>],
        index: usize,
        exports: &'a Exports,
        nesting: Option<Nesting>,
    ) -> Self {
        let source = &sources[index];
        let (file, template, options) = (source.file, source.template, source.options);
        let given = |key: &str| options.params.get(key).map(|v| Value::String(v.clone()));
        let (stack_name, stack_name_assumed) = match (&nesting, given("AWS::StackName")) {
            (Some(_), Some(Value::String(n))) if source.scoped.contains("AWS::StackName") => {
                (n, None)
            }
            (Some(n), _) => (
                format!("{}-{}", n.parent_stack, n.id),
                Some(format!(
                    "the stack name of nested stack {} of {}",
                    n.id,
                    file_name(&n.parent_file)
                )),
            ),
            (None, Some(Value::String(n))) => (n, None),
            (None, _) => (stack_name_from(file), Some("from the file name".to_owned())),
        };
        let nested_file_hint = nesting.is_some();
        let param_hint = |name: &str| {
            if nested_file_hint {
                format!("--param {}:{name}=VALUE", file_name(file))
            } else {
                format!("--param {name}=VALUE")
            }
        };
        let mut params = BTreeMap::new();
        let mut no_echo = BTreeSet::new();
        if let Some(ps) = template.get("Parameters").and_then(Value::as_object) {
            for (name, p) in ps {
                let ty = p.get("Type").and_then(Value::as_str).unwrap_or("String");
                if p.get("NoEcho").is_some_and(|v| scalar_text(v) == "true") {
                    no_echo.insert(name.clone());
                }
                let from_parent = nesting.as_ref().and_then(|n| n.params.get(name));
                let value = match (given(name), from_parent) {
                    (Some(v), _) if source.scoped.contains(name) => Ok(v),
                    (_, Some(v)) => v.clone(),
                    (Some(v), None) => Ok(v),
                    (None, None) if ty.starts_with("AWS::SSM::Parameter::Value") => Err(format!(
                        "parameter {name} is read from SSM at deploy time; pass {}",
                        param_hint(name)
                    )),
                    (None, None) => match p.get("Default") {
                        Some(d) => Ok(d.clone()),
                        None => Err(format!(
                            "parameter {name} has no Default; pass {}",
                            param_hint(name)
                        )),
                    },
                };
                let list = ty == "CommaDelimitedList" || ty.starts_with("List<");
                let value = value.map(|v| match v {
                    Value::String(s) if list => Value::Array(
                        s.split(',')
                            .map(|x| Value::String(x.trim().to_owned()))
                            .collect(),
                    ),
                    Value::Array(items) if !list => {
                        Value::String(items.iter().map(scalar_text).collect::<Vec<_>>().join(","))
                    }
                    Value::Number(n) => Value::String(n.to_string()),
                    other => other,
                });
                params.insert(name.clone(), value);
            }
        }
        let resources = template
            .get("Resources")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let budget =
            EVAL_OUTPUT_BASE.saturating_add(EVAL_OUTPUT_RATIO.saturating_mul(weight(template, 0)));
        let mut t = Template {
            file,
            index,
            sources,
            options,
            exports,
            stack_name,
            stack_name_assumed,
            nesting,
            params,
            no_echo,
            mappings: template.get("Mappings").cloned().unwrap_or(Value::Null),
            conditions_raw: template
                .get("Conditions")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            conditions: RefCell::default(),
            resources,
            refs: BTreeMap::new(),
            atts: BTreeMap::new(),
            unnamed: BTreeMap::new(),
            assumed: RefCell::default(),
            assumed_at: RefCell::default(),
            in_condition: Cell::new(false),
            depth: Cell::new(0),
            produced: Cell::new(0),
            budget,
            lookups: RefCell::default(),
            children: RefCell::default(),
            building: RefCell::default(),
        };
        t.name_resources();
        // Names were resolved before the template knew them: nested stacks built meanwhile
        // are built again, and the uses of assumed values recorded then are not any field's.
        t.children.borrow_mut().clear();
        t.assumed_at.borrow_mut().clear();
        t
    }

    /// The stack name and, when it was assumed, why (`from the file name`, ...).
    pub(super) fn stack_name(&self) -> (&str, Option<&str>) {
        (&self.stack_name, self.stack_name_assumed.as_deref())
    }

    /// The input this template was built from.
    pub(super) fn source(&self) -> &Source<'a> {
        &self.sources[self.index]
    }

    /// The template's resources.
    pub(super) fn resources(&self) -> &Map<String, Value> {
        &self.resources
    }

    /// The default physical name of a resource the template names no name for: the stack name
    /// and the logical ID (CloudFormation adds a random suffix, unknown before deployment).
    pub(super) fn default_name(&self, id: &str) -> String {
        format!("{}-{id}", self.stack_name)
    }

    /// The physical names the template's resources get, for `Ref` and `Fn::GetAtt`. A
    /// resource whose name property is itself unresolved gets no name: references to it are
    /// unresolved too (with the same reason), never a name it will not have.
    fn name_resources(&mut self) {
        let mut refs = BTreeMap::new();
        let mut atts = BTreeMap::new();
        let mut unnamed = BTreeMap::new();
        let marker_of = |id: &str| format!("{}#{}/{id}", self.file.display(), self.stack_name);
        for (id, res) in &self.resources {
            let ty = res.get("Type").and_then(Value::as_str).unwrap_or("");
            let props = res.get("Properties").cloned().unwrap_or(Value::Null);
            let name_key = match ty {
                "AWS::ECS::Cluster" => "ClusterName",
                "AWS::ECS::TaskDefinition" => "Family",
                "AWS::ECS::Service" => "ServiceName",
                "AWS::ElasticLoadBalancingV2::TargetGroup"
                | "AWS::ElasticLoadBalancingV2::LoadBalancer" => "Name",
                _ => "",
            };
            let named: Option<String> = match props.get(name_key) {
                None => None,
                Some(v) => {
                    let mut u = Vec::new();
                    match self.eval(v, id, &mut u) {
                        Value::String(s) if u.is_empty() => Some(s),
                        _ => {
                            let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
                            unnamed.insert(
                                id.clone(),
                                format!(
                                    "the {name_key} of {id} is unresolved ({})",
                                    why.join("; ")
                                ),
                            );
                            continue;
                        }
                    }
                }
            };
            let mut att = |attr: &str, v: &Value| {
                atts.insert((id.clone(), attr.to_owned()), v.clone());
            };
            let default = || self.default_name(id);
            let r = match ty {
                "AWS::ECS::Cluster" => {
                    let n = Value::from(named.unwrap_or_else(default));
                    att("Arn", &n);
                    n
                }
                "AWS::ECS::TaskDefinition" => {
                    let n = Value::from(named.unwrap_or_else(default));
                    att("TaskDefinitionArn", &n);
                    n
                }
                "AWS::ECS::Service" => {
                    let n = Value::from(named.unwrap_or_else(default));
                    att("Name", &n);
                    att("ServiceArn", &n);
                    n
                }
                "AWS::ElasticLoadBalancingV2::TargetGroup" => {
                    let n = Value::from(named.unwrap_or_else(|| target_group_name(&default())));
                    att("TargetGroupArn", &n);
                    att("TargetGroupName", &n);
                    n
                }
                "AWS::ElasticLoadBalancingV2::Listener" => {
                    let m = Value::from(format!("{LISTENER_MARKER}{}", marker_of(id)));
                    att("ListenerArn", &m);
                    m
                }
                "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
                    // Only used as the listener's grouping key (loadBalancerArn).
                    let n = Value::from(named.unwrap_or_else(default));
                    att("LoadBalancerArn", &n);
                    n
                }
                "AWS::ApplicationAutoScaling::ScalableTarget" => {
                    Value::from(format!("{TARGET_MARKER}{}", marker_of(id)))
                }
                _ => continue,
            };
            refs.insert(id.clone(), r);
        }
        self.refs = refs;
        self.atts = atts;
        self.unnamed = unnamed;
    }

    /// What `Ref` of the template's own resource `id` gives (its physical name, or the marker
    /// of a listener or scalable target), when known.
    pub(super) fn own_ref(&self, id: &str) -> Option<&str> {
        self.refs.get(id).and_then(Value::as_str)
    }

    /// The pseudo parameters used so far with an assumed value, as `NAME=VALUE (why)`.
    pub(super) fn assumed(&self) -> Ref<'_, BTreeSet<String>> {
        self.assumed.borrow()
    }

    /// Where assumed values were used since the last call: (path, what was assumed and how to
    /// change it).
    pub(super) fn take_assumed_at(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.assumed_at.borrow_mut())
    }

    /// The `--param` that sets this template's stack name.
    pub(super) fn stack_name_param(&self) -> String {
        format!("--param {}:AWS::StackName=NAME", file_name(self.file))
    }

    /// The `valueFrom` standing for the secret `NoEcho` parameter `name`: an SSM-style name
    /// `/cloudformation/STACK/PARAMETER`, so render names its Secret by the SSM rule.
    pub(super) fn no_echo_value_from(&self, name: &str) -> String {
        format!("/cloudformation/{}/{name}", self.stack_name)
    }

    fn param(&self, name: &str) -> Option<String> {
        self.options.params.get(name).cloned()
    }

    /// A pseudo parameter used at `path`.
    fn pseudo(&self, name: &str, path: &str) -> Option<Result<Value, String>> {
        if let Some(v) = self.param(name)
            && (name != "AWS::StackName" || self.stack_name_assumed.is_none())
        {
            return Some(Ok(Value::String(v)));
        }
        let assumed = |v: &str, why: &str| {
            self.assumed
                .borrow_mut()
                .insert(format!("{name}={v} ({why})"));
            self.assumed_at
                .borrow_mut()
                .push((path.to_owned(), format!("{name}={v} ({why})")));
            Ok(Value::from(v))
        };
        Some(match name {
            "AWS::NoValue" => Ok(Value::from(NO_VALUE)),
            "AWS::Partition" => assumed("aws", "the commercial partition"),
            "AWS::URLSuffix" => assumed("amazonaws.com", "the commercial partition"),
            "AWS::StackName" => match &self.stack_name_assumed {
                None => Ok(Value::from(self.stack_name.as_str())),
                Some(why) => assumed(&self.stack_name, why),
            },
            "AWS::Region" | "AWS::AccountId" | "AWS::StackId" | "AWS::NotificationARNs" => {
                Err(format!(
                    "pseudo parameter {name} is only known at deploy time; pass --param {name}=VALUE"
                ))
            }
            _ => return None,
        })
    }

    /// The value of a pseudo parameter given with `--param` (never assumed), for building
    /// secret ARNs.
    pub(super) fn given_pseudo(&self, name: &str) -> String {
        self.param(name).unwrap_or_default()
    }

    fn reference(&self, name: &str, path: &str) -> Result<Value, String> {
        if let Some(p) = self.pseudo(name, path) {
            return p;
        }
        if self.no_echo.contains(name) && !self.in_condition.get() {
            return Ok(Value::String(format!(
                "{SECRET_MARKER}{}\u{1}{name}\u{0}",
                self.no_echo_value_from(name)
            )));
        }
        if let Some(p) = self.params.get(name) {
            return p.clone();
        }
        if let Some(v) = self.param(name) {
            return Ok(Value::String(v));
        }
        if let Some(v) = self.refs.get(name) {
            return Ok(v.clone());
        }
        if let Some(why) = self.unnamed.get(name) {
            return Err(format!("Ref {name}: {why}"));
        }
        Err(match self.resources.get(name) {
            Some(r) => format!(
                "Ref {name}: the physical ID of this {} is only known after deployment; pass --param {name}=VALUE",
                r.get("Type").and_then(Value::as_str).unwrap_or("resource")
            ),
            None => format!("Ref {name}: no parameter or resource of that name"),
        })
    }

    fn get_att(&self, res: &str, attr: &str) -> Result<Value, String> {
        let key = format!("{res}.{attr}");
        if let Some(v) = self.param(&key) {
            return Ok(Value::String(v));
        }
        if let Some(v) = self.atts.get(&(res.to_owned(), attr.to_owned())) {
            return Ok(v.clone());
        }
        if let Some(why) = self.unnamed.get(res) {
            return Err(format!("Fn::GetAtt {key}: {why}"));
        }
        let ty = self
            .resources
            .get(res)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str);
        if ty == Some(STACK_TYPE)
            && let Some(output) = attr.strip_prefix("Outputs.")
        {
            return self
                .child(res)
                .and_then(|child| child.output(output))
                .map_err(|why| format!("Fn::GetAtt {key}: {why}; or pass --param {key}=VALUE"));
        }
        Err(match ty {
            Some(ty) => format!(
                "Fn::GetAtt {key}: this attribute of the {ty} is only known after deployment; pass --param {key}=VALUE"
            ),
            None => format!("Fn::GetAtt {key}: no resource {res} in the template"),
        })
    }

    /// The value of the template's output `name`, resolved.
    fn output(&self, name: &str) -> Result<Value, String> {
        let Some(output) = self
            .sources
            .get(self.index)
            .and_then(|s| s.template.get("Outputs"))
            .and_then(|o| o.get(name))
        else {
            return Err(format!("{} has no output {name}", file_name(self.file)));
        };
        let mut u = Vec::new();
        let v = self.eval(
            output.get("Value").unwrap_or(&Value::Null),
            &format!("Outputs.{name}"),
            &mut u,
        );
        if u.is_empty() {
            Ok(v)
        } else {
            let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
            Err(format!(
                "output {name} of {} is unresolved ({})",
                file_name(self.file),
                why.join("; ")
            ))
        }
    }

    /// The nested stack `id` (an `AWS::CloudFormation::Stack` of this template), built with
    /// the `Parameters` this template passes it, or why it cannot be followed.
    pub(super) fn child(&self, id: &str) -> Result<Rc<Template<'a>>, String> {
        if let Some(c) = self.children.borrow().get(id) {
            return c.clone();
        }
        if !self.building.borrow_mut().insert(id.to_owned()) {
            return Err(format!(
                "the Parameters of nested stack {id} depend on its own outputs"
            ));
        }
        let built = self.build_child(id);
        self.building.borrow_mut().remove(id);
        self.children
            .borrow_mut()
            .insert(id.to_owned(), built.clone());
        built
    }

    fn build_child(&self, id: &str) -> Result<Rc<Template<'a>>, String> {
        let props = self
            .resources
            .get(id)
            .and_then(|r| r.get("Properties"))
            .cloned()
            .unwrap_or(Value::Null);
        let index = self.nested_template(&props)?;
        let mut ancestors = self
            .nesting
            .as_ref()
            .map(|n| n.ancestors.clone())
            .unwrap_or_default();
        ancestors.push(self.index);
        if ancestors.contains(&index) {
            let chain: Vec<String> = ancestors
                .iter()
                .chain([&index])
                .filter_map(|i| self.sources.get(*i))
                .map(|s| file_name(s.file))
                .collect();
            return Err(format!(
                "the nested stacks form a cycle ({})",
                chain.join(" → ")
            ));
        }
        if ancestors.len() > MAX_NESTED_STACK_DEPTH {
            return Err(format!(
                "limit MAX_NESTED_STACK_DEPTH reached: stacks nested deeper than {MAX_NESTED_STACK_DEPTH} levels"
            ));
        }
        let mut params = BTreeMap::new();
        if let Some(ps) = props.get("Parameters").and_then(Value::as_object) {
            for (k, v) in ps {
                let mut u = Vec::new();
                let value = self.eval(v, &format!("Parameters.{k}"), &mut u);
                let value = if u.is_empty() {
                    Ok(value)
                } else {
                    let why: Vec<String> = u.into_iter().map(|(_, m)| m).collect();
                    Err(format!(
                        "parameter {k}, passed by nested stack {id} of {}, is unresolved ({})",
                        file_name(self.file),
                        why.join("; ")
                    ))
                };
                params.insert(k.clone(), value);
            }
        }
        let nesting = Nesting {
            parent_stack: self.stack_name.clone(),
            parent_file: self.file.to_owned(),
            id: id.to_owned(),
            params,
            ancestors,
        };
        Ok(Rc::new(Template::new(
            self.sources,
            index,
            self.exports,
            Some(nesting),
        )))
    }

    /// The source a nested stack's `TemplateURL` names, matched by file name (and, when
    /// several inputs have that name, by the most path components in common).
    pub(super) fn nested_template(&self, props: &Value) -> Result<usize, String> {
        let url = match props.get("TemplateURL") {
            Some(v) => scalar_text(&self.eval(v, "TemplateURL", &mut Vec::new())),
            None => return Err("it has no TemplateURL".to_owned()),
        };
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
            None => url.as_str(),
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let Some(base) = segments.last() else {
            return Err(format!("its TemplateURL {url:?} names no file"));
        };
        if base.contains("${") {
            return Err(format!(
                "the file name of its TemplateURL {url:?} is unresolved"
            ));
        }
        let common = |file: &Path| {
            let components: Vec<String> = file
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            components
                .iter()
                .rev()
                .zip(segments.iter().rev())
                .take_while(|(a, b)| a == *b)
                .count()
        };
        let mut best: Vec<(usize, usize)> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (i, common(s.file)))
            .filter(|(_, n)| *n > 0)
            .collect();
        best.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        match best.as_slice() {
            [] => Err(format!(
                "its template ({base}) is not among the inputs; give it with -f (it is matched by file name)"
            )),
            [(i, _)] => Ok(*i),
            [(i, a), (j, b), ..] if a == b => Err(format!(
                "its template ({base}) matches both {} and {}; give the file with more of the TemplateURL's path ({path})",
                self.sources[*i].file.display(),
                self.sources[*j].file.display()
            )),
            [(i, _), ..] => Ok(*i),
        }
    }

    /// The value of the template's condition `name`, or `None` when it depends on unresolved
    /// values (or on itself).
    pub(super) fn condition(&self, name: &str) -> Option<bool> {
        if let Some(v) = self.conditions.borrow().get(name) {
            return *v;
        }
        // Guard against cycles while evaluating.
        self.conditions.borrow_mut().insert(name.to_owned(), None);
        let previous = self.in_condition.replace(true);
        let value = self
            .conditions_raw
            .get(name)
            .and_then(|expr| self.eval_condition(expr));
        self.in_condition.set(previous);
        self.conditions.borrow_mut().insert(name.to_owned(), value);
        value
    }

    fn eval_condition(&self, expr: &Value) -> Option<bool> {
        let depth = self.depth.get();
        if depth >= MAX_EVAL_DEPTH {
            return None;
        }
        self.depth.set(depth + 1);
        let value = self.eval_condition_inner(expr);
        self.depth.set(depth);
        value
    }

    fn eval_condition_inner(&self, expr: &Value) -> Option<bool> {
        let Value::Object(map) = expr else {
            return expr.as_bool();
        };
        let (key, arg) = map.iter().next()?;
        let args = arg.as_array();
        match key.as_str() {
            "Condition" => self.condition(arg.as_str()?),
            "Fn::Equals" => {
                let args = args?;
                let mut u = Vec::new();
                let a = self.eval(args.first()?, "", &mut u);
                let b = self.eval(args.get(1)?, "", &mut u);
                u.is_empty().then(|| loosely_equal(&a, &b))
            }
            "Fn::Not" => self.eval_condition(args?.first()?).map(|b| !b),
            "Fn::And" => {
                let vals: Option<Vec<bool>> =
                    args?.iter().map(|a| self.eval_condition(a)).collect();
                vals.map(|v| v.iter().all(|b| *b))
            }
            "Fn::Or" => {
                let vals: Option<Vec<bool>> =
                    args?.iter().map(|a| self.eval_condition(a)).collect();
                vals.map(|v| v.iter().any(|b| *b))
            }
            _ => None,
        }
    }

    /// Resolves the intrinsics in `v`. Unresolved parts stay as `${...}` text and are recorded
    /// with `path`.
    pub(super) fn eval(&self, v: &Value, path: &str, u: &mut Unresolved) -> Value {
        let depth = self.depth.get();
        if depth >= MAX_EVAL_DEPTH {
            u.push((
                path.to_owned(),
                format!(
                    "limit MAX_EVAL_DEPTH reached: values and intrinsic functions nested deeper than {MAX_EVAL_DEPTH} levels (or referring to themselves)"
                ),
            ));
            return Value::String("${limit}".to_owned());
        }
        self.depth.set(depth + 1);
        let value = self.eval_inner(v, path, u);
        self.depth.set(depth);
        value
    }

    fn eval_inner(&self, v: &Value, path: &str, u: &mut Unresolved) -> Value {
        match v {
            Value::Object(map) if schema::is_intrinsic(v) => {
                let Some((key, arg)) = map.iter().next() else {
                    return Value::Object(Map::new());
                };
                match self.intrinsic(key, arg, path, u) {
                    Ok(v) => v,
                    Err((placeholder, message)) => {
                        u.push((path.to_owned(), message));
                        Value::String(placeholder)
                    }
                }
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let child = self.eval(v, &join(path, k), u);
                    if child.as_str() != Some(NO_VALUE) {
                        out.insert(k.clone(), child);
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.eval(item, &format!("{path}[{i}]"), u))
                    .filter(|v| v.as_str() != Some(NO_VALUE))
                    .collect(),
            ),
            Value::String(s) => Value::String(placeholder::substitute_reporting(
                s,
                &self.options.params,
                Syntax {
                    dollar_braces: false,
                    secrets_as_references: true,
                },
                path,
                u,
            )),
            other => other.clone(),
        }
    }

    /// Counts `bytes` against the template's output budget.
    fn charge(&self, bytes: usize) -> Result<(), (String, String)> {
        let produced = self.produced.get().saturating_add(bytes);
        self.produced.set(produced);
        if produced > self.budget {
            return Err((
                "${limit}".into(),
                format!(
                    "limit EVAL_OUTPUT_RATIO reached: the intrinsic functions of {} produce more than {} bytes ({EVAL_OUTPUT_BASE} + {EVAL_OUTPUT_RATIO} per byte of the template)",
                    file_name(self.file),
                    self.budget
                ),
            ));
        }
        Ok(())
    }

    /// `value`, counted against the output budget.
    fn charged(&self, value: Value) -> Resolved {
        self.charge(weight(&value, 0))?;
        Ok(value)
    }

    /// One intrinsic function `key` applied to `arg`.
    fn intrinsic(&self, key: &str, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        match key {
            "Ref" => self.fn_ref(arg, path).and_then(|v| self.charged(v)),
            "Fn::GetAtt" => self.fn_get_att(arg, path, u).and_then(|v| self.charged(v)),
            "Fn::Sub" => self.fn_sub(arg, path, u).and_then(|v| self.charged(v)),
            "Fn::Join" => self.charged(self.fn_join(arg, path, u)),
            "Fn::Select" => self.fn_select(arg, path, u).and_then(|v| self.charged(v)),
            "Fn::Split" => self.fn_split(arg, path, u),
            "Fn::FindInMap" => self
                .fn_find_in_map(arg, path, u)
                .and_then(|v| self.charged(v)),
            "Fn::If" => self.fn_if(arg, path, u),
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                self.fn_condition(key, arg)
            }
            "Fn::ImportValue" => self
                .fn_import_value(arg, path, u)
                .and_then(|v| self.charged(v)),
            "Fn::Base64" => self.charged(self.fn_base64(arg, path, u)),
            "Fn::Length" => self.fn_length(arg, path, u),
            "Fn::ToJsonString" => {
                let v = self.eval(arg, path, u);
                self.charged(Value::String(v.to_string()))
            }
            other => fail(
                format!("${{{other}}}"),
                format!(
                    "{other} is evaluated by CloudFormation at deploy time; pass the value with --param or edit the output"
                ),
            ),
        }
    }

    /// `Ref`: a parameter, a pseudo parameter or one of the template's own resources.
    fn fn_ref(&self, arg: &Value, path: &str) -> Resolved {
        let name = arg.as_str().unwrap_or_default();
        self.reference(name, path)
            .or_else(|m| fail(format!("${{{name}}}"), m))
    }

    /// `Fn::GetAtt`, as `[resource, attribute]` or `"resource.attribute"`.
    fn fn_get_att(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let (res, attr) = match arg {
            Value::Array(a) if a.len() == 2 => {
                let attr = self.eval(&a[1], path, u);
                (
                    a[0].as_str().unwrap_or_default().to_owned(),
                    attr.as_str().unwrap_or_default().to_owned(),
                )
            }
            Value::String(s) => match s.split_once('.') {
                Some((r, a)) => (r.to_owned(), a.to_owned()),
                None => (s.clone(), String::new()),
            },
            _ => (String::new(), String::new()),
        };
        self.get_att(&res, &attr)
            .or_else(|m| fail(format!("${{{res}.{attr}}}"), m))
    }

    /// `Fn::Sub`, as a string or `[string, {vars}]`.
    fn fn_sub(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let (text, vars) = match arg {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(a) => (
                a.first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                a.get(1)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => {
                return fail(
                    "${Fn::Sub}".into(),
                    "Fn::Sub takes a string or [string, {vars}]".into(),
                );
            }
        };
        let mut vals = BTreeMap::new();
        for (k, v) in &vars {
            vals.insert(k.clone(), self.eval(v, path, u));
        }
        Ok(Value::String(self.sub(&text, &vals, path, u)))
    }

    /// `Fn::Join`: `[delimiter, list]`.
    fn fn_join(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Value {
        let a = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        let delim = a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let list = self.eval(a.get(1).unwrap_or(&Value::Null), path, u);
        let parts: Vec<String> = list
            .as_array()
            .map(|l| l.iter().map(scalar_text).collect())
            .unwrap_or_default();
        Value::String(parts.join(&delim))
    }

    /// `Fn::Select`: `[index, list]`.
    fn fn_select(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let a = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        let idx = self.eval(a.first().unwrap_or(&Value::Null), path, u);
        let list = self.eval(a.get(1).unwrap_or(&Value::Null), path, u);
        let i = match &idx {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        match (i.and_then(|i| usize::try_from(i).ok()), list.as_array()) {
            (Some(i), Some(l)) if i < l.len() => Ok(l[i].clone()),
            _ => fail(
                "${Fn::Select}".into(),
                "Fn::Select: index out of range or list unresolved".into(),
            ),
        }
    }

    /// `Fn::Split`: `[delimiter, string]`, at most [`MAX_SPLIT_ITEMS`] items.
    fn fn_split(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let a = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        let delim = a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let s = scalar_text(&self.eval(a.get(1).unwrap_or(&Value::Null), path, u));
        let items = if delim.is_empty() {
            s.chars().count().saturating_add(2)
        } else {
            s.matches(delim.as_str()).count().saturating_add(1)
        };
        if items > MAX_SPLIT_ITEMS {
            return fail(
                "${Fn::Split}".into(),
                format!(
                    "limit MAX_SPLIT_ITEMS reached: Fn::Split would make {items} items (at most {MAX_SPLIT_ITEMS})"
                ),
            );
        }
        self.charge(s.len().saturating_add(items.saturating_mul(8)))?;
        Ok(Value::Array(
            s.split(delim.as_str())
                .map(|p| Value::String(p.to_owned()))
                .collect(),
        ))
    }

    /// `Fn::FindInMap`: `[map, top-level key, second-level key]` in the template's Mappings.
    fn fn_find_in_map(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let a = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        let keys: Vec<String> = a
            .iter()
            .take(3)
            .map(|k| scalar_text(&self.eval(k, path, u)))
            .collect();
        let entry = keys.join(".");
        if keys.len() == 3
            && let Some(v) = self
                .mappings
                .get(&keys[0])
                .and_then(|m| m.get(&keys[1]))
                .and_then(|m| m.get(&keys[2]))
        {
            if self.lookups.borrow().contains(&entry) {
                return fail(
                    format!("${{Fn::FindInMap:{entry}}}"),
                    format!("Fn::FindInMap {entry}: the mapping entry refers to itself"),
                );
            }
            self.lookups.borrow_mut().push(entry);
            let value = self.eval(v, path, u);
            self.lookups.borrow_mut().pop();
            return Ok(value);
        }
        fail(
            format!("${{Fn::FindInMap:{entry}}}"),
            format!("Fn::FindInMap {entry}: no such mapping entry"),
        )
    }

    /// `Fn::If`: `[condition, value if true, value if false]`.
    fn fn_if(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let a = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        let cond = a.first().and_then(Value::as_str).unwrap_or_default();
        match self.condition(cond) {
            Some(true) => Ok(self.eval(a.get(1).unwrap_or(&Value::Null), path, u)),
            Some(false) => Ok(self.eval(a.get(2).unwrap_or(&Value::Null), path, u)),
            None => fail(
                format!("${{Fn::If:{cond}}}"),
                format!("Fn::If: condition {cond} depends on unresolved values"),
            ),
        }
    }

    /// A condition function (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`) used
    /// as a value.
    fn fn_condition(&self, key: &str, arg: &Value) -> Resolved {
        let mut m = Map::new();
        m.insert(key.to_owned(), arg.clone());
        let previous = self.in_condition.replace(true);
        let value = self.eval_condition(&Value::Object(m));
        self.in_condition.set(previous);
        match value {
            Some(b) => Ok(Value::Bool(b)),
            None => fail(
                format!("${{{key}}}"),
                format!("{key}: depends on unresolved values"),
            ),
        }
    }

    /// `Fn::ImportValue`: a `--param` of the export's name, or the export of another template
    /// converted with this one.
    fn fn_import_value(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let name = scalar_text(&self.eval(arg, path, u));
        if let Some(v) = self.param(&name) {
            return Ok(Value::String(v));
        }
        if let Some(v) = self.exports.get(&name) {
            return Ok(v.value.clone());
        }
        let hint = self
            .exports
            .iter()
            .find_map(|(export, e)| {
                let stack = e.assumed_stack.as_deref()?;
                let (prefix, suffix) = export.split_once(stack)?;
                let middle = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
                (!middle.is_empty()).then(|| {
                    format!(
                        "; {} exports {export} under its assumed stack name {stack}: if it is the stack named {middle}, pass --param {}:AWS::StackName={middle}",
                        e.file.display(),
                        file_name(&e.file)
                    )
                })
            })
            .unwrap_or_default();
        fail(
            format!("${{ImportValue:{name}}}"),
            format!(
                "Fn::ImportValue {name}: exported by another stack; pass --param {name}=VALUE or convert that stack's template together with this one{hint}"
            ),
        )
    }

    /// `Fn::Base64`: the standard alphabet, padded, as CloudFormation encodes.
    fn fn_base64(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Value {
        let s = self.eval(arg, path, u);
        Value::String(BASE64.encode(scalar_text(&s).as_bytes()))
    }

    /// `Fn::Length` of a list.
    fn fn_length(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let l = self.eval(arg, path, u);
        match l.as_array() {
            Some(l) => Ok(Value::from(l.len())),
            None => fail(
                "${Fn::Length}".into(),
                "Fn::Length of something not a list".into(),
            ),
        }
    }

    /// The text of `Fn::Sub` with its `${...}` variables replaced.
    fn sub(
        &self,
        text: &str,
        vars: &BTreeMap<String, Value>,
        path: &str,
        u: &mut Unresolved,
    ) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let before = out.len();
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(lit) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
                continue;
            }
            let value = if let Some(v) = vars.get(name) {
                Ok(v.clone())
            } else if let Some((res, attr)) =
                name.split_once('.').filter(|_| !name.starts_with("AWS::"))
            {
                self.get_att(res, attr)
            } else {
                self.reference(name, path)
            };
            match value {
                Ok(v) => out.push_str(&scalar_text(&v)),
                Err(m) => {
                    u.push((path.to_owned(), m));
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
            }
            if let Err((placeholder, message)) = self.charge(out.len() - before) {
                u.push((path.to_owned(), message));
                return placeholder;
            }
        }
        out.push_str(rest);
        out
    }
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    a == b || scalar_text(a) == scalar_text(b)
}

/// The file name of `path`, as `--param FILE:KEY` names an input.
pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

/// The stack name assumed for a template of its own: its file name without the extensions
/// tools add (`.template`, `.stack`), other characters CloudFormation does not allow in a
/// stack name as `-`.
fn stack_name_from(file: &Path) -> String {
    let mut stem = file_name(file);
    for ext in [".json", ".yaml", ".yml", ".template", ".stack", ".template"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s.to_owned();
        }
    }
    let name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-');
    match name.chars().next() {
        None => "stack".to_owned(),
        Some(c) if c.is_ascii_alphabetic() => name.to_owned(),
        Some(_) => format!("stack-{name}"),
    }
}

/// A target group name from a default name: ELB allows 32 characters, so longer names keep
/// their start and end with a short hash of the whole (CloudFormation shortens its generated
/// names too).
fn target_group_name(name: &str) -> String {
    let n: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let n = n.trim_matches('-');
    if n.len() <= 32 {
        return n.to_owned();
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{:08x}", n[..23].trim_end_matches('-'), hash as u32)
}

/// The approximate size of `v` in bytes (strings and 8 per node), for the output budget.
fn weight(v: &Value, depth: usize) -> usize {
    if depth > MAX_EVAL_DEPTH * 2 {
        return 8;
    }
    match v {
        Value::String(s) => s.len().saturating_add(8),
        Value::Array(items) => items
            .iter()
            .fold(8usize, |n, i| n.saturating_add(weight(i, depth + 1))),
        Value::Object(map) => map.iter().fold(8usize, |n, (k, v)| {
            n.saturating_add(k.len())
                .saturating_add(weight(v, depth + 1))
        }),
        _ => 8,
    }
}

/// An intrinsic that cannot be resolved: the placeholder left in its place, and why.
fn fail(placeholder: String, message: String) -> Resolved {
    Err((placeholder, message))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(v: Value, params: &[(&str, &str)]) -> (ConvertOptions, Value) {
        let options = ConvertOptions {
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            namespace: None,
        };
        (options, v)
    }

    fn eval_with(tpl: &Value, options: &ConvertOptions, expr: Value) -> (Value, Unresolved) {
        let scoped = BTreeSet::new();
        let sources = [Source {
            file: Path::new("stack.yaml"),
            template: tpl,
            options,
            scoped: &scoped,
        }];
        let exports = Exports::new();
        let t = Template::new(&sources, 0, &exports, None);
        let mut u = Vec::new();
        let v = t.eval(&expr, "spec.x", &mut u);
        (v, u)
    }

    fn base() -> Value {
        json!({
            "Parameters": {
                "Env": {"Type": "String", "Default": "prod"},
                "Port": {"Type": "Number", "Default": 8080},
                "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b"},
                "Image": {"Type": "String"},
            },
            "Mappings": {"Sizes": {"prod": {"Cpu": "1024"}}},
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
                "HasImage": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Image"}, ""]}]},
            },
            "Resources": {
                "TG": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80}},
                "Svc": {"Type": "AWS::ECS::Service", "Properties": {"ServiceName": {"Fn::Sub": "${Env}-web"}}},
                "Cluster": {"Type": "AWS::ECS::Cluster"},
                "Role": {"Type": "AWS::IAM::Role"},
            }
        })
    }

    #[test]
    fn refs_resolve_parameters_with_defaults_and_own_resources() {
        let (o, tpl) = template(base(), &[]);
        let (v, u) = eval_with(
            &tpl,
            &o,
            json!([{"Ref": "Env"}, {"Ref": "Port"}, {"Ref": "TG"}, {"Ref": "Subnets"}]),
        );
        assert_eq!(v, json!(["prod", "8080", "stack-TG", ["a", "b"]]));
        assert!(u.is_empty());
    }

    #[test]
    fn sub_join_select_split_and_find_in_map_evaluate() {
        let (o, tpl) = template(base(), &[("AWS::Region", "eu-west-1")]);
        let (v, u) = eval_with(
            &tpl,
            &o,
            json!([
                {"Fn::Sub": "${Env}-${AWS::Region}-${!Literal}"},
                {"Fn::Sub": ["${A}/${Svc.Name}", {"A": {"Ref": "Cluster"}}]},
                {"Fn::Join": ["/", ["service", {"Ref": "Cluster"}, {"Fn::GetAtt": ["Svc", "Name"]}]]},
                {"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]},
                {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Cpu"]},
                {"Fn::Base64": "hi!"},
            ]),
        );
        assert_eq!(
            v,
            json!([
                "prod-eu-west-1-${Literal}",
                "stack-Cluster/prod-web",
                "service/stack-Cluster/prod-web",
                "y",
                "1024",
                "aGkh"
            ])
        );
        assert!(u.is_empty(), "{u:?}");
    }

    #[test]
    fn conditions_choose_if_branches_and_no_value_removes_the_field() {
        let (o, tpl) = template(base(), &[]);
        let (v, u) = eval_with(
            &tpl,
            &o,
            json!({"a": {"Fn::If": ["IsProd", 1, 2]}, "b": {"Fn::If": ["NotProd", 1, {"Ref": "AWS::NoValue"}]},
                   "c": [{"Fn::If": ["NotProd", "x", {"Ref": "AWS::NoValue"}]}, "y"]}),
        );
        assert_eq!(v, json!({"a": 1, "c": ["y"]}));
        assert!(u.is_empty());
    }

    #[test]
    fn unresolvable_values_are_reported_with_their_path_never_guessed() {
        let (o, tpl) = template(base(), &[]);
        let (v, u) = eval_with(
            &tpl,
            &o,
            json!({"a": {"Fn::ImportValue": {"Fn::Sub": "${Env}:Cluster"}}, "b": {"Ref": "Image"},
                   "c": {"Fn::GetAtt": ["Role", "Arn"]}, "d": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/x"},
                   "e": {"Fn::If": ["HasImage", 1, 2]}}),
        );
        assert_eq!(v["a"], json!("${ImportValue:prod:Cluster}"));
        assert_eq!(v["d"], json!("arn:aws:iam::${AWS::AccountId}:role/x"));
        let paths: Vec<&str> = u.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["spec.x.a", "spec.x.b", "spec.x.c", "spec.x.d", "spec.x.e"]
        );
        assert!(u[0].1.contains("--param prod:Cluster=VALUE"), "{}", u[0].1);
        assert!(u[1].1.contains("has no Default"), "{}", u[1].1);
    }

    #[test]
    fn params_supply_imports_parameters_and_resource_attributes() {
        let (o, tpl) = template(
            base(),
            &[
                ("prod:Cluster", "main"),
                ("Image", "nginx"),
                ("Role.Arn", "arn:aws:iam::1:role/r"),
            ],
        );
        let (v, u) = eval_with(
            &tpl,
            &o,
            json!([{"Fn::ImportValue": "prod:Cluster"}, {"Ref": "Image"}, {"Fn::GetAtt": "Role.Arn"}, {"Fn::If": ["HasImage", 1, 2]}]),
        );
        assert_eq!(v, json!(["main", "nginx", "arn:aws:iam::1:role/r", 1]));
        assert!(u.is_empty());
    }

    #[test]
    fn base64_uses_the_standard_alphabet_with_padding_as_before() {
        let (o, tpl) = template(base(), &[]);
        let inputs = [
            "", "f", "fo", "foo", "foob", "fooba", "foobar", "???", ">>>", "~~~", "ü€", "a\n",
        ];
        let exprs: Vec<Value> = inputs.iter().map(|s| json!({"Fn::Base64": s})).collect();
        let (v, u) = eval_with(&tpl, &o, Value::Array(exprs));
        assert_eq!(
            v,
            json!([
                "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "Pz8/", "Pj4+",
                "fn5+", "w7zigqw=", "YQo="
            ])
        );
        assert!(u.is_empty());
    }

    #[test]
    fn a_no_echo_parameter_is_a_secret_marker_except_inside_conditions() {
        let tpl = json!({
            "Parameters": {"DbPassword": {"Type": "String", "NoEcho": true, "Default": "hunter2"}},
            "Conditions": {"HasPassword": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DbPassword"}, ""]}]}},
            "Resources": {},
        });
        let (o, tpl) = template(tpl, &[]);
        let (v, u) = eval_with(
            &tpl,
            &o,
            json!([{"Ref": "DbPassword"}, {"Fn::Sub": "x-${DbPassword}"}, {"Fn::If": ["HasPassword", "yes", "no"]}]),
        );
        assert!(u.is_empty(), "{u:?}");
        assert_eq!(
            v[0],
            json!("\u{0}secret:/cloudformation/stack/DbPassword\u{1}DbPassword\u{0}")
        );
        assert!(!v.to_string().contains("hunter2"), "{v}");
        assert_eq!(v[2], "yes");
    }

    #[test]
    fn a_self_referencing_find_in_map_is_reported_not_a_stack_overflow() {
        let tpl = json!({
            "Mappings": {"M": {"a": {"b": {"Fn::FindInMap": ["M", "a", "b"]}}}},
            "Resources": {},
        });
        let (o, tpl) = template(tpl, &[]);
        let (v, u) = eval_with(&tpl, &o, json!({"Fn::FindInMap": ["M", "a", "b"]}));
        assert!(v.as_str().is_some_and(|s| s.starts_with("${")), "{v}");
        assert!(u[0].1.contains("refers to itself"), "{u:?}");
    }

    #[test]
    fn nesting_beyond_the_evaluation_depth_is_a_limit() {
        let mut expr = json!("x");
        for _ in 0..(MAX_EVAL_DEPTH + 20) {
            expr = json!({"Fn::Join": ["", [expr]]});
        }
        let (o, tpl) = template(json!({"Resources": {}}), &[]);
        let (_, u) = eval_with(&tpl, &o, expr);
        assert!(u.iter().any(|(_, m)| m.contains("MAX_EVAL_DEPTH")), "{u:?}");
    }

    #[test]
    fn splitting_a_huge_string_on_nothing_is_a_limit_not_gigabytes() {
        let big = "a".repeat(5 << 20);
        let (o, tpl) = template(
            json!({"Parameters": {"Big": {"Type": "String", "Default": big}}, "Resources": {}}),
            &[],
        );
        let started = std::time::Instant::now();
        let (v, u) = eval_with(&tpl, &o, json!({"Fn::Split": ["", {"Ref": "Big"}]}));
        assert!(v.is_string(), "no list was built");
        assert!(u[0].1.contains("MAX_SPLIT_ITEMS"), "{u:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let (v, u) = eval_with(&tpl, &o, json!({"Fn::Split": [",", "a,b"]}));
        assert_eq!(v, json!(["a", "b"]));
        assert!(u.is_empty());
    }

    #[test]
    fn a_small_template_multiplying_a_large_value_reaches_the_output_budget() {
        let big = "a".repeat(1 << 20);
        let refs: Vec<Value> = (0..100).map(|_| json!({"Ref": "Big"})).collect();
        let (o, tpl) = template(
            json!({"Parameters": {"Big": {"Type": "String", "Default": big}}, "Resources": {}}),
            &[],
        );
        let (_, u) = eval_with(&tpl, &o, json!({"Fn::Join": ["", refs]}));
        assert!(
            u.iter().any(|(_, m)| m.contains("EVAL_OUTPUT_RATIO")),
            "{u:?}"
        );
    }

    #[test]
    fn unnamed_resources_are_named_after_the_stack_and_the_stack_after_the_file() {
        assert_eq!(
            stack_name_from(Path::new("x/copilot-svc-staging.stack.yml")),
            "copilot-svc-staging"
        );
        assert_eq!(
            stack_name_from(Path::new("a.nested.template.json")),
            "a-nested"
        );
        assert_eq!(stack_name_from(Path::new("1.yaml")), "stack-1");
        let long = target_group_name("cfnt-fargate-cluster-public-vpc-TargetGroup");
        assert!(long.len() <= 32, "{long}");
        assert_ne!(
            long,
            target_group_name("cfnt-fargate-cluster-public-vpc-TargetGroup1")
        );
    }

    #[test]
    fn a_nested_stack_gets_its_parameters_from_the_parent_and_gives_its_outputs_back() {
        let parent = json!({"Resources": {
            "Net": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                "TemplateURL": "https://s3.amazonaws.com/bucket/infra/net.yaml",
                "Parameters": {"Env": {"Ref": "AWS::StackName"}}}},
        }});
        let child = json!({
            "Parameters": {"Env": {"Type": "String"}},
            "Resources": {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": {"Ref": "Env"}}}},
            "Outputs": {"Cluster": {"Value": {"Ref": "Cluster"}}, "Stack": {"Value": {"Ref": "AWS::StackName"}}},
        });
        let options = ConvertOptions::default();
        let scoped = BTreeSet::new();
        let sources = [
            Source {
                file: Path::new("main.yaml"),
                template: &parent,
                options: &options,
                scoped: &scoped,
            },
            Source {
                file: Path::new("other/infra/net.yaml"),
                template: &child,
                options: &options,
                scoped: &scoped,
            },
        ];
        let exports = Exports::new();
        let t = Template::new(&sources, 0, &exports, None);
        let mut u = Vec::new();
        let v = t.eval(
            &json!([{"Fn::GetAtt": ["Net", "Outputs.Cluster"]}, {"Fn::Sub": "${Net.Outputs.Stack}"}]),
            "x",
            &mut u,
        );
        assert!(u.is_empty(), "{u:?}");
        assert_eq!(v, json!(["main", "main-Net"]));
        let mut u = Vec::new();
        let v = t.eval(&json!({"Fn::GetAtt": ["Net", "Outputs.Nope"]}), "x", &mut u);
        assert!(v.as_str().is_some_and(|s| s.starts_with("${")));
        assert!(u[0].1.contains("net.yaml has no output Nope"), "{u:?}");
    }

    #[test]
    fn a_stack_nesting_itself_is_a_cycle_not_a_stack_overflow() {
        let tpl = json!({"Resources": {
            "Me": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "https://x/stack.yaml"}},
        }, "Outputs": {"O": {"Value": {"Fn::GetAtt": ["Me", "Outputs.O"]}}}});
        let (o, tpl) = template(tpl, &[]);
        let (_, u) = eval_with(&tpl, &o, json!({"Fn::GetAtt": ["Me", "Outputs.O"]}));
        assert!(u[0].1.contains("cycle"), "{u:?}");
    }
}
