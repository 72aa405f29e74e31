//! The template model: a CloudFormation template's parameters (defaults and `--param`),
//! pseudo parameters, conditions, mappings and the physical names of its own resources, and
//! the intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`,
//! `Fn::Split`, `Fn::FindInMap`, `Fn::If`, the condition functions, `Fn::ImportValue`,
//! `Fn::Base64`, `Fn::Length`, `Fn::ToJsonString`) that turn template values into plain JSON
//! values. What cannot be resolved offline stays as `${...}` text and is reported with its
//! path, never guessed.
//!
//! Depends on `import` (options, placeholders, schema paths) only; the converter
//! (`cfn::convert`) and the entry points (`cfn`) depend on this file, never the reverse.

use std::cell::{Ref, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::import::schema::{self, join};
use crate::import::{ConvertOptions, placeholder, text as scalar_text};

/// Stands for `AWS::NoValue` until the enclosing object or list drops it.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

/// What `Ref` of a listener gives, so its rules find it.
const LISTENER_MARKER: &str = "ecsplane:listener:";
/// What `Ref` of a scalable target gives, so its policies find it.
const TARGET_MARKER: &str = "ecsplane:scalable-target:";

/// What one resolution left unresolved: (path, message).
pub(super) type Unresolved = Vec<(String, String)>;

/// What one intrinsic gives: its value, or the placeholder left in its place and why.
type Resolved = Result<Value, (String, String)>;

/// A template ready for resolution.
pub(super) struct Template<'a> {
    /// The file the template was read from.
    pub(super) file: &'a Path,
    stem: String,
    options: &'a ConvertOptions,
    exports: &'a BTreeMap<String, Value>,
    /// Parameter values (Default, or `--param`), and why the others have none.
    params: BTreeMap<String, Result<Value, String>>,
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
}

impl<'a> Template<'a> {
    /// The model of `template`, read from `file`, with the `--param`s of `options` and the
    /// exports of the other templates converted with it.
    pub(super) fn new(
        file: &'a Path,
        template: &Value,
        options: &'a ConvertOptions,
        exports: &'a BTreeMap<String, Value>,
    ) -> Self {
        let stem = file
            .file_stem()
            .map_or_else(|| "stack".to_owned(), |s| s.to_string_lossy().into_owned());
        let mut params = BTreeMap::new();
        if let Some(ps) = template.get("Parameters").and_then(Value::as_object) {
            for (name, p) in ps {
                let ty = p.get("Type").and_then(Value::as_str).unwrap_or("String");
                let given = options.params.get(name).map(|v| Value::String(v.clone()));
                let value = match given {
                    Some(v) => Ok(v),
                    None if ty.starts_with("AWS::SSM::Parameter::Value") => Err(format!(
                        "parameter {name} is read from SSM at deploy time; pass --param {name}=VALUE"
                    )),
                    None => match p.get("Default") {
                        Some(d) => Ok(d.clone()),
                        None => Err(format!(
                            "parameter {name} has no Default; pass --param {name}=VALUE"
                        )),
                    },
                };
                let value = value.map(|v| match v {
                    Value::String(s) if ty == "CommaDelimitedList" || ty.starts_with("List<") => {
                        Value::Array(
                            s.split(',')
                                .map(|x| Value::String(x.trim().to_owned()))
                                .collect(),
                        )
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
        let mut t = Template {
            file,
            stem,
            options,
            exports,
            params,
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
        };
        t.name_resources();
        t
    }

    /// The physical names the template's resources get, for `Ref` and `Fn::GetAtt`. A
    /// resource whose name property is itself unresolved gets no name: references to it are
    /// unresolved too (with the same reason), never the logical ID it will not have.
    fn name_resources(&mut self) {
        let mut refs = BTreeMap::new();
        let mut atts = BTreeMap::new();
        let mut unnamed = BTreeMap::new();
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
            let r = match ty {
                "AWS::ECS::Cluster" => {
                    let n = Value::from(named.unwrap_or_else(|| id.clone()));
                    att("Arn", &n);
                    n
                }
                "AWS::ECS::TaskDefinition" => {
                    let n = Value::from(named.unwrap_or_else(|| id.clone()));
                    att("TaskDefinitionArn", &n);
                    n
                }
                "AWS::ECS::Service" => {
                    let n = Value::from(named.unwrap_or_else(|| id.clone()));
                    att("Name", &n);
                    att("ServiceArn", &n);
                    n
                }
                "AWS::ElasticLoadBalancingV2::TargetGroup" => {
                    let n = Value::from(named.unwrap_or_else(|| default_tg_name(id)));
                    att("TargetGroupArn", &n);
                    att("TargetGroupName", &n);
                    n
                }
                "AWS::ElasticLoadBalancingV2::Listener" => {
                    let m = Value::from(format!("{LISTENER_MARKER}{}/{id}", self.stem));
                    att("ListenerArn", &m);
                    m
                }
                "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
                    // Only used as the listener's grouping key (loadBalancerArn).
                    let n = Value::from(named.unwrap_or_else(|| id.clone()));
                    att("LoadBalancerArn", &n);
                    n
                }
                "AWS::ApplicationAutoScaling::ScalableTarget" => {
                    Value::from(format!("{TARGET_MARKER}{}/{id}", self.stem))
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

    /// The pseudo parameters used so far with an assumed value, as `NAME=VALUE`.
    pub(super) fn assumed(&self) -> Ref<'_, BTreeSet<String>> {
        self.assumed.borrow()
    }

    fn param(&self, name: &str) -> Option<String> {
        self.options.params.get(name).cloned()
    }

    fn pseudo(&self, name: &str) -> Option<Result<Value, String>> {
        if let Some(v) = self.param(name) {
            return Some(Ok(Value::String(v)));
        }
        let assumed = |v: &str| {
            self.assumed.borrow_mut().insert(format!("{name}={v}"));
            Ok(Value::from(v))
        };
        Some(match name {
            "AWS::NoValue" => Ok(Value::from(NO_VALUE)),
            "AWS::Partition" => assumed("aws"),
            "AWS::URLSuffix" => assumed("amazonaws.com"),
            "AWS::StackName" => {
                let stem = self.stem.clone();
                assumed(&stem)
            }
            "AWS::Region" | "AWS::AccountId" | "AWS::StackId" | "AWS::NotificationARNs" => {
                Err(format!(
                    "pseudo parameter {name} is only known at deploy time; pass --param {name}=VALUE"
                ))
            }
            _ => return None,
        })
    }

    fn reference(&self, name: &str) -> Result<Value, String> {
        if let Some(p) = self.pseudo(name) {
            return p;
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
        Err(match self.resources.get(res) {
            Some(r) => format!(
                "Fn::GetAtt {key}: this attribute of the {} is only known after deployment; pass --param {key}=VALUE",
                r.get("Type").and_then(Value::as_str).unwrap_or("resource")
            ),
            None => format!("Fn::GetAtt {key}: no resource {res} in the template"),
        })
    }

    /// The value of the template's condition `name`, or `None` when it depends on unresolved
    /// values (or on itself).
    pub(super) fn condition(&self, name: &str) -> Option<bool> {
        if let Some(v) = self.conditions.borrow().get(name) {
            return *v;
        }
        // Guard against cycles while evaluating.
        self.conditions.borrow_mut().insert(name.to_owned(), None);
        let value = self
            .conditions_raw
            .get(name)
            .and_then(|expr| self.eval_condition(expr));
        self.conditions.borrow_mut().insert(name.to_owned(), value);
        value
    }

    fn eval_condition(&self, expr: &Value) -> Option<bool> {
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
        match v {
            Value::Object(map) if schema::is_intrinsic(v) => {
                let (key, arg) = map.iter().next().expect("one key");
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
                false,
                path,
                u,
            )),
            other => other.clone(),
        }
    }

    /// One intrinsic function `key` applied to `arg`.
    fn intrinsic(&self, key: &str, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        match key {
            "Ref" => self.fn_ref(arg),
            "Fn::GetAtt" => self.fn_get_att(arg, path, u),
            "Fn::Sub" => self.fn_sub(arg, path, u),
            "Fn::Join" => Ok(self.fn_join(arg, path, u)),
            "Fn::Select" => self.fn_select(arg, path, u),
            "Fn::Split" => Ok(self.fn_split(arg, path, u)),
            "Fn::FindInMap" => self.fn_find_in_map(arg, path, u),
            "Fn::If" => self.fn_if(arg, path, u),
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                self.fn_condition(key, arg)
            }
            "Fn::ImportValue" => self.fn_import_value(arg, path, u),
            "Fn::Base64" => Ok(self.fn_base64(arg, path, u)),
            "Fn::Length" => self.fn_length(arg, path, u),
            "Fn::ToJsonString" => {
                let v = self.eval(arg, path, u);
                Ok(Value::String(v.to_string()))
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
    fn fn_ref(&self, arg: &Value) -> Resolved {
        let name = arg.as_str().unwrap_or_default();
        self.reference(name)
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
        let a = arg.as_array().cloned().unwrap_or_default();
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
        let a = arg.as_array().cloned().unwrap_or_default();
        let idx = self.eval(a.first().unwrap_or(&Value::Null), path, u);
        let list = self.eval(a.get(1).unwrap_or(&Value::Null), path, u);
        let i = match &idx {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        match (i, list.as_array()) {
            (Some(i), Some(l)) if (i as usize) < l.len() => Ok(l[i as usize].clone()),
            _ => fail(
                "${Fn::Select}".into(),
                "Fn::Select: index out of range or list unresolved".into(),
            ),
        }
    }

    /// `Fn::Split`: `[delimiter, string]`.
    fn fn_split(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Value {
        let a = arg.as_array().cloned().unwrap_or_default();
        let delim = a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let s = self.eval(a.get(1).unwrap_or(&Value::Null), path, u);
        Value::Array(
            scalar_text(&s)
                .split(delim.as_str())
                .map(|p| Value::String(p.to_owned()))
                .collect(),
        )
    }

    /// `Fn::FindInMap`: `[map, top-level key, second-level key]` in the template's Mappings.
    fn fn_find_in_map(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let a = arg.as_array().cloned().unwrap_or_default();
        let keys: Vec<String> = a
            .iter()
            .take(3)
            .map(|k| scalar_text(&self.eval(k, path, u)))
            .collect();
        if keys.len() == 3
            && let Some(v) = self
                .mappings
                .get(&keys[0])
                .and_then(|m| m.get(&keys[1]))
                .and_then(|m| m.get(&keys[2]))
        {
            return Ok(self.eval(v, path, u));
        }
        fail(
            format!("${{Fn::FindInMap:{}}}", keys.join(".")),
            format!("Fn::FindInMap {}: no such mapping entry", keys.join(".")),
        )
    }

    /// `Fn::If`: `[condition, value if true, value if false]`.
    fn fn_if(&self, arg: &Value, path: &str, u: &mut Unresolved) -> Resolved {
        let a = arg.as_array().cloned().unwrap_or_default();
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
        match self.eval_condition(&Value::Object(m)) {
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
            return Ok(v.clone());
        }
        fail(
            format!("${{ImportValue:{name}}}"),
            format!(
                "Fn::ImportValue {name}: exported by another stack; pass --param {name}=VALUE or convert that stack's template together with this one"
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
                self.reference(name)
            };
            match value {
                Ok(v) if v.as_str().is_some_and(|s| s.starts_with("${")) => {
                    // A Sub variable that was itself unresolved (already reported).
                    out.push_str(&scalar_text(&v));
                }
                Ok(v) => out.push_str(&scalar_text(&v)),
                Err(m) => {
                    u.push((path.to_owned(), m));
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    a == b || scalar_text(a) == scalar_text(b)
}

/// A target group name when the template gives none: the logical ID when it fits the 32
/// characters ELB allows.
fn default_tg_name(id: &str) -> String {
    let mut n: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    n.truncate(32);
    n.trim_matches('-').to_owned()
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
        let exports = BTreeMap::new();
        let t = Template::new(Path::new("stack.yaml"), tpl, options, &exports);
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
        assert_eq!(v, json!(["prod", "8080", "TG", ["a", "b"]]));
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
                "Cluster/prod-web",
                "service/Cluster/prod-web",
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
}
