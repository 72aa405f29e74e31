//! Terraform: the ECS, ELBv2 and Application Auto Scaling resources of the `.tf` files given,
//! parsed with hcl-rs and evaluated as far as their values are plain.
//!
//! The `.tf` files of one conversion form one module, as the files of a Terraform directory
//! do: their variables, locals and resources are visible to each other. Expressions resolve
//! against variable defaults (or `--param`), locals that themselves resolve, the module's own
//! resources (`aws_lb_target_group.web.arn` is the target group's name, which ecsplane accepts
//! wherever an ARN is expected; `aws_ecs_task_definition.web.arn` its family), a few pure
//! functions (`jsonencode`, `file`, `split`, `join`, `lower`, `upper`, `tostring`,
//! `tonumber`, `tolist`, `toset`, `concat`, `merge`) and simple operators. Everything else —
//! data sources, module outputs, attributes only known after `terraform apply`, undeclared
//! variables — is reported with its file, resource and field, never guessed.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::edit::Span;
use hcl::expr::{BinaryOperator, TemplateExpr, TraversalOperator, UnaryOperator};
use hcl::template::{Element, Template};
use hcl::{Block, BlockLabel, Body, Expression, ObjectKey, Structure};
use serde_json::{Map, Value};

use super::schema::{self, spec_schema};
use super::{
    Collected, ConvertOptions, Draft, ImportError, Kind, Location, NoteKind, PendingRule,
    PendingScaling, error, text,
};

/// Stands for a listener in references (`aws_lb_listener.x.arn`), so its rules find it.
const LISTENER_MARKER: &str = "ecsplane:terraform-listener:";

/// One parsed `.tf` file: its top-level blocks with their line numbers.
pub(super) struct TfFile {
    blocks: Vec<(Block, usize)>,
}

/// Parses one `.tf` file; a syntax error names its line and column.
pub(super) fn parse(file: &Path, text: &str) -> Result<TfFile, ImportError> {
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        error(
            file,
            None,
            format!(
                "invalid HCL at line {} column {}: {}",
                e.location().line(),
                e.location().column(),
                e.message()
            ),
        )
    })?;
    let mut blocks = Vec::new();
    for structure in body.into_iter() {
        if let hcl::edit::structure::Structure::Block(b) = structure {
            let line = b.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            blocks.push((Block::from(b), line));
        }
    }
    Ok(TfFile { blocks })
}

/// A resource of the module.
struct Resource<'a> {
    file: &'a Path,
    ty: String,
    name: String,
    line: usize,
    body: &'a Body,
}

impl Resource<'_> {
    fn location(&self) -> String {
        format!("{}.{} (line {})", self.ty, self.name, self.line)
    }

    fn attr(&self, key: &str) -> Option<&Expression> {
        self.body
            .attributes()
            .find(|a| a.key.as_str() == key)
            .map(|a| &a.expr)
    }
}

/// Every `.tf` file of the conversion, as one module.
pub(super) struct Module<'a> {
    /// Declared variables and their defaults.
    variables: BTreeMap<String, Option<&'a Expression>>,
    locals: BTreeMap<String, &'a Expression>,
    resources: Vec<Resource<'a>>,
    options: &'a ConvertOptions,
    /// Placeholder text → why it is unresolved, for every unresolved expression met.
    reasons: RefCell<BTreeMap<String, String>>,
    /// References being evaluated (against cycles).
    evaluating: RefCell<BTreeSet<String>>,
    /// The `dynamic` blocks met in the resource being converted.
    dynamic: RefCell<Vec<String>>,
}

fn label(l: &BlockLabel) -> &str {
    match l {
        BlockLabel::Identifier(i) => i.as_str(),
        BlockLabel::String(s) => s,
    }
}

impl<'a> Module<'a> {
    /// The module of the given files.
    pub(super) fn new(files: &'a [(&'a Path, &'a TfFile)], options: &'a ConvertOptions) -> Self {
        let mut m = Module {
            variables: BTreeMap::new(),
            locals: BTreeMap::new(),
            resources: Vec::new(),
            options,
            reasons: RefCell::default(),
            evaluating: RefCell::default(),
            dynamic: RefCell::default(),
        };
        for (file, tf) in files {
            for (b, line) in &tf.blocks {
                let labels: Vec<&str> = b.labels.iter().map(label).collect();
                match (b.identifier.as_str(), labels.as_slice()) {
                    ("variable", [name]) => {
                        let default = b
                            .body
                            .attributes()
                            .find(|a| a.key.as_str() == "default")
                            .map(|a| &a.expr);
                        m.variables.insert((*name).to_owned(), default);
                    }
                    ("locals", []) => {
                        for a in b.body.attributes() {
                            m.locals.insert(a.key.to_string(), &a.expr);
                        }
                    }
                    ("resource", [ty, name]) => m.resources.push(Resource {
                        file,
                        ty: (*ty).to_owned(),
                        name: (*name).to_owned(),
                        line: *line,
                        body: &b.body,
                    }),
                    _ => {}
                }
            }
        }
        m
    }

    fn resource(&self, ty: &str, name: &str) -> Option<&Resource<'a>> {
        self.resources.iter().find(|r| r.ty == ty && r.name == name)
    }

    /// Records an unresolved expression and returns its placeholder.
    fn unresolved(&self, text: &str, why: String) -> Value {
        let placeholder = format!("${{{text}}}");
        self.reasons
            .borrow_mut()
            .entry(placeholder.clone())
            .or_insert(why);
        Value::String(placeholder)
    }

    fn param(&self, key: &str) -> Option<Value> {
        self.options
            .params
            .get(key)
            .map(|v| Value::String(v.clone()))
    }

    /// Evaluates an expression; unresolved parts become `${...}` placeholders whose reasons are
    /// kept in `reasons`.
    fn eval(&self, e: &Expression, dir: &Path) -> Value {
        match e {
            Expression::Null => Value::Null,
            Expression::Bool(b) => Value::Bool(*b),
            Expression::Number(n) => number(n),
            Expression::String(s) => Value::String(s.clone()),
            Expression::Array(items) => {
                Value::Array(items.iter().map(|i| self.eval(i, dir)).collect())
            }
            Expression::Object(obj) => {
                let mut out = Map::new();
                for (k, v) in obj {
                    let key = match k {
                        ObjectKey::Identifier(i) => i.to_string(),
                        ObjectKey::Expression(e) => text(&self.eval(e, dir)),
                        _ => k.to_string(),
                    };
                    out.insert(key, self.eval(v, dir));
                }
                Value::Object(out)
            }
            Expression::TemplateExpr(t) => self.template(t, dir, false),
            Expression::Parenthesis(inner) => self.eval(inner, dir),
            Expression::Variable(v) => {
                let v = v.as_str();
                self.param(v).unwrap_or_else(|| {
                    self.unresolved(
                        v,
                        format!("{v} is only known to Terraform; pass --param {v}=VALUE"),
                    )
                })
            }
            Expression::Traversal(_) => self.traversal(e, dir),
            Expression::FuncCall(call) => self.call(e, call, dir),
            Expression::Conditional(c) => match self.eval(&c.cond_expr, dir) {
                Value::Bool(true) => self.eval(&c.true_expr, dir),
                Value::Bool(false) => self.eval(&c.false_expr, dir),
                _ => self.unresolved(
                    &e.to_string(),
                    format!(
                        "the condition of {e} is only known to Terraform; pass the variables it uses with --param"
                    ),
                ),
            },
            Expression::Operation(op) => self.operation(e, op, dir),
            _ => self.unresolved(
                &e.to_string(),
                format!("{e} is evaluated by Terraform; not converted"),
            ),
        }
    }

    fn operation(&self, e: &Expression, op: &hcl::expr::Operation, dir: &Path) -> Value {
        let result = match op {
            hcl::expr::Operation::Unary(u) => match (u.operator, self.eval(&u.expr, dir)) {
                (UnaryOperator::Not, Value::Bool(b)) => Some(Value::Bool(!b)),
                (UnaryOperator::Neg, v) => as_f64(&v).map(|f| float(-f)),
                _ => None,
            },
            hcl::expr::Operation::Binary(b) => {
                let l = self.eval(&b.lhs_expr, dir);
                let r = self.eval(&b.rhs_expr, dir);
                if has_placeholder(&l) || has_placeholder(&r) {
                    None
                } else {
                    binary(b.operator, &l, &r)
                }
            }
        };
        result.unwrap_or_else(|| {
            self.unresolved(
                &e.to_string(),
                format!("{e} depends on values only known to Terraform; pass them with --param"),
            )
        })
    }

    /// A string template; in a JSON document (`json`), interpolations outside JSON strings
    /// stand for values, and unresolved ones become quoted placeholders so the JSON stays
    /// readable and the gap is reported.
    fn template(&self, t: &TemplateExpr, dir: &Path, json: bool) -> Value {
        let t = dedented(t);
        let template = match Template::from_expr(&t) {
            Ok(t) => t,
            Err(err) => {
                return self.unresolved(
                    "template",
                    format!("a string template Terraform would evaluate is not valid: {err}"),
                );
            }
        };
        let elements = template.elements();
        // "${x}" alone keeps the type of x.
        if !json && let [Element::Interpolation(i)] = elements {
            return self.eval(&i.expr, dir);
        }
        let mut out = String::new();
        let mut in_string = false;
        for el in elements {
            match el {
                Element::Literal(s) => {
                    if json {
                        in_string = json_string_state(s, in_string);
                    }
                    out.push_str(s);
                }
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr, dir);
                    if json && !in_string {
                        match &v {
                            Value::String(s) if has_placeholder(&v) => {
                                out.push_str(&Value::String(s.clone()).to_string());
                            }
                            Value::String(s) => out.push_str(s),
                            other => out.push_str(&other.to_string()),
                        }
                    } else if json {
                        let quoted = Value::String(text(&v)).to_string();
                        out.push_str(&quoted[1..quoted.len() - 1]);
                    } else {
                        out.push_str(&text(&v));
                    }
                }
                Element::Directive(_) => {
                    return self.unresolved(
                        "template directive",
                        "a %{ } template directive is evaluated by Terraform; not converted"
                            .to_owned(),
                    );
                }
            }
        }
        Value::String(out)
    }

    fn traversal(&self, e: &Expression, dir: &Path) -> Value {
        let whole = e.to_string();
        if let Some(v) = self.param(&whole) {
            return v;
        }
        let Expression::Traversal(t) = e else {
            unreachable!("called on traversals")
        };
        let Expression::Variable(root) = &t.expr else {
            // An index into a computed value, such as split(...)[0].
            let base = self.eval(&t.expr, dir);
            return self.index(&base, &t.operators, &whole, dir);
        };
        let mut names = Vec::new();
        let mut rest = t.operators.as_slice();
        while let [TraversalOperator::GetAttr(a), tail @ ..] = rest {
            names.push(a.as_str());
            rest = tail;
        }
        let root = root.as_str();
        let (value, used) = match (root, names.as_slice()) {
            ("var", [name, ..]) => (self.variable(name, dir), 1),
            ("local", [name, ..]) => (self.local(name, &whole, dir), 1),
            ("path", ["module" | "root" | "cwd", ..]) => {
                (Value::String(dir.display().to_string()), 1)
            }
            ("data", _) => {
                return self.unresolved(
                    &whole,
                    format!(
                        "{whole} is read from a data source by Terraform; pass --param {whole}=VALUE"
                    ),
                );
            }
            ("module", _) => {
                return self.unresolved(
                    &whole,
                    format!(
                        "{whole} is an output of another Terraform module; pass --param {whole}=VALUE"
                    ),
                );
            }
            (ty, [name, attr, ..])
                if ty.starts_with("aws_") || self.resource(ty, name).is_some() =>
            {
                (self.resource_attr(ty, name, attr, &whole, dir), 2)
            }
            _ => {
                return self.unresolved(
                    &whole,
                    format!("{whole} is only known to Terraform; pass --param {whole}=VALUE"),
                );
            }
        };
        let mut ops: Vec<TraversalOperator> = names[used..]
            .iter()
            .map(|n| TraversalOperator::GetAttr((*n).into()))
            .collect();
        ops.extend(rest.iter().cloned());
        self.index(&value, &ops, &whole, dir)
    }

    /// Applies attribute and index operators to a value.
    fn index(&self, base: &Value, ops: &[TraversalOperator], whole: &str, dir: &Path) -> Value {
        if has_placeholder(base) && !ops.is_empty() {
            return self.unresolved(
                whole,
                format!(
                    "{whole} depends on values only known to Terraform; pass --param {whole}=VALUE"
                ),
            );
        }
        let mut cur = base.clone();
        for op in ops {
            let next = match op {
                TraversalOperator::GetAttr(a) => cur.get(a.as_str()).cloned(),
                TraversalOperator::Index(i) => match self.eval(i, dir) {
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|n| cur.get(usize::try_from(n).ok()?).cloned()),
                    Value::String(s) => cur.get(&s).cloned(),
                    _ => None,
                },
                TraversalOperator::LegacyIndex(n) => {
                    usize::try_from(*n).ok().and_then(|n| cur.get(n).cloned())
                }
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => {
                    return self.unresolved(
                        whole,
                        format!("{whole}: no such element, or a splat Terraform evaluates; pass --param {whole}=VALUE"),
                    );
                }
            }
        }
        cur
    }

    fn variable(&self, name: &str, dir: &Path) -> Value {
        let key = format!("var.{name}");
        if let Some(v) = self.param(&key).or_else(|| self.param(name)) {
            return v;
        }
        match self.variables.get(name) {
            Some(Some(default)) => self.eval(default, dir),
            Some(None) => self.unresolved(
                &key,
                format!("variable {name} has no default; pass --param {key}=VALUE"),
            ),
            None => self.unresolved(
                &key,
                format!(
                    "variable {name} is not declared in the Terraform files given; pass --param {key}=VALUE or add the file that declares it"
                ),
            ),
        }
    }

    fn local(&self, name: &str, whole: &str, dir: &Path) -> Value {
        let key = format!("local.{name}");
        let Some(expr) = self.locals.get(name) else {
            return self.unresolved(
                whole,
                format!(
                    "{key} is not defined in the Terraform files given; pass --param {key}=VALUE"
                ),
            );
        };
        self.guarded(&key, whole, || self.eval(expr, dir))
    }

    /// Evaluates `f` unless `key` is already being evaluated (a reference cycle).
    fn guarded(&self, key: &str, whole: &str, f: impl FnOnce() -> Value) -> Value {
        if !self.evaluating.borrow_mut().insert(key.to_owned()) {
            return self.unresolved(whole, format!("{key} refers to itself"));
        }
        let v = f();
        self.evaluating.borrow_mut().remove(key);
        v
    }

    /// `TYPE.NAME.ATTR` of a resource: what ecsplane names it by for the ECS, ELBv2 and
    /// autoscaling resources it converts, or an argument of the resource; otherwise only known
    /// after `terraform apply`.
    fn resource_attr(&self, ty: &str, name: &str, attr: &str, whole: &str, dir: &Path) -> Value {
        let key = format!("{ty}.{name}.{attr}");
        if let Some(v) = self.param(&key) {
            return v;
        }
        let Some(r) = self.resource(ty, name) else {
            return self.unresolved(
                whole,
                format!(
                    "{whole}: no resource {ty}.{name} in the Terraform files given; convert the file that defines it together with this one, or pass --param {key}=VALUE"
                ),
            );
        };
        self.guarded(&key, whole, || {
            let v = match (resource_kind(ty), attr) {
                (Some(Kind::Listener), "arn" | "id") => {
                    Some(Value::String(format!("{LISTENER_MARKER}{ty}.{name}")))
                }
                (Some(Kind::TaskDefinition), "arn" | "id" | "family" | "arn_without_revision")
                | (Some(Kind::EcsCluster), "arn" | "id" | "name")
                | (Some(Kind::EcsService), "id" | "name")
                | (Some(Kind::TargetGroup), "arn" | "id" | "name") => {
                    Some(self.resource_name(r, dir))
                }
                (None, "arn" | "id" | "name") if is_load_balancer(ty) => {
                    Some(self.resource_name(r, dir))
                }
                _ => r.attr(attr).map(|e| self.eval(e, dir)),
            };
            v.unwrap_or_else(|| {
                self.unresolved(
                    whole,
                    format!(
                        "{whole} is only known after terraform apply; pass --param {key}=VALUE"
                    ),
                )
            })
        })
    }

    /// The name ecsplane gives a resource: its name argument, or its Terraform label when it
    /// has none (Terraform would generate one).
    fn resource_name(&self, r: &Resource, dir: &Path) -> Value {
        let arg = match resource_kind(&r.ty) {
            Some(Kind::TaskDefinition) => "family",
            _ => "name",
        };
        match r.attr(arg) {
            Some(e) => self.eval(e, dir),
            None => Value::String(r.name.clone()),
        }
    }

    fn call(&self, e: &Expression, call: &hcl::expr::FuncCall, dir: &Path) -> Value {
        let name = call.name.to_string();
        let args: Vec<Value> = call.args.iter().map(|a| self.eval(a, dir)).collect();
        let unknown = args.iter().any(has_placeholder);
        let result = match (name.as_str(), args.as_slice()) {
            _ if unknown && name != "jsonencode" => None,
            ("jsonencode", [v]) => Some(Value::String(v.to_string())),
            ("file", [Value::String(p)]) => {
                let path = dir.join(p);
                match std::fs::read_to_string(&path) {
                    Ok(t) => Some(Value::String(t)),
                    Err(err) => {
                        return self.unresolved(
                            &e.to_string(),
                            format!("{e}: cannot read {}: {err}", path.display()),
                        );
                    }
                }
            }
            ("split", [Value::String(sep), Value::String(s)]) => Some(Value::Array(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            )),
            ("join", [Value::String(sep), Value::Array(items)]) => Some(Value::String(
                items.iter().map(text).collect::<Vec<_>>().join(sep),
            )),
            ("lower", [Value::String(s)]) => Some(Value::String(s.to_lowercase())),
            ("upper", [Value::String(s)]) => Some(Value::String(s.to_uppercase())),
            ("tostring", [v]) => Some(Value::String(text(v))),
            ("tonumber", [v]) => as_f64(v).map(float),
            ("tolist" | "toset", [Value::Array(a)]) => Some(Value::Array(a.clone())),
            ("concat", lists) if lists.iter().all(Value::is_array) => Some(Value::Array(
                lists
                    .iter()
                    .flat_map(|l| l.as_array().cloned().unwrap_or_default())
                    .collect(),
            )),
            ("merge", maps) if maps.iter().all(Value::is_object) => {
                let mut out = Map::new();
                for m in maps {
                    out.extend(m.as_object().cloned().unwrap_or_default());
                }
                Some(Value::Object(out))
            }
            _ => None,
        };
        result.unwrap_or_else(|| {
            let why = if unknown {
                format!("{e} depends on values only known to Terraform; pass them with --param")
            } else {
                format!("the function {name} is evaluated by Terraform; not converted")
            };
            self.unresolved(&e.to_string(), why)
        })
    }

    /// A resource's body as JSON: attributes evaluated, each nested block type a list of
    /// objects; Terraform's meta-arguments left out.
    fn body(&self, body: &Body, dir: &Path) -> Map<String, Value> {
        let mut out = Map::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    if !META_ARGUMENTS.contains(&a.key.as_str()) {
                        out.insert(a.key.to_string(), self.eval(&a.expr, dir));
                    }
                }
                Structure::Block(b) => {
                    if META_ARGUMENTS.contains(&b.identifier.as_str()) {
                        continue;
                    }
                    if b.identifier.as_str() == "dynamic" {
                        let name = b.labels.first().map_or("?", label);
                        self.dynamic.borrow_mut().push(name.to_owned());
                        continue;
                    }
                    let item = Value::Object(self.body(&b.body, dir));
                    out.entry(b.identifier.to_string())
                        .or_insert_with(|| Value::Array(Vec::new()))
                        .as_array_mut()
                        .expect("blocks are lists")
                        .push(item);
                }
            }
        }
        out
    }
}

/// Terraform's own arguments, not the resource's.
const META_ARGUMENTS: &[&str] = &[
    "depends_on",
    "lifecycle",
    "provider",
    "timeouts",
    "provisioner",
];

fn resource_kind(ty: &str) -> Option<Kind> {
    Some(match ty {
        "aws_ecs_cluster" => Kind::EcsCluster,
        "aws_ecs_task_definition" => Kind::TaskDefinition,
        "aws_ecs_service" => Kind::EcsService,
        "aws_lb_target_group" | "aws_alb_target_group" => Kind::TargetGroup,
        "aws_lb_listener" | "aws_alb_listener" => Kind::Listener,
        _ => return None,
    })
}

fn is_load_balancer(ty: &str) -> bool {
    matches!(ty, "aws_lb" | "aws_alb")
}

/// `<<-EOF` heredocs lose their common indentation, as in Terraform.
fn dedented(t: &TemplateExpr) -> TemplateExpr {
    let TemplateExpr::Heredoc(h) = t else {
        return t.clone();
    };
    if h.strip != hcl::expr::HeredocStripMode::Indent {
        return t.clone();
    }
    let indent = h
        .template
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let text: String = h
        .template
        .split_inclusive('\n')
        .map(|l| {
            l.get(indent..)
                .filter(|_| !l.trim().is_empty())
                .unwrap_or(l.trim_start_matches(' '))
        })
        .collect();
    TemplateExpr::Heredoc(hcl::expr::Heredoc::new(h.delimiter.clone(), text))
}

/// Whether a JSON scan that starts inside a string (`in_string`) ends inside one after `s`.
fn json_string_state(s: &str, mut in_string: bool) -> bool {
    let mut escaped = false;
    for c in s.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
    }
    in_string
}

fn number(n: &hcl::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        float(n.as_f64().unwrap_or_default())
    }
}

/// A number, whole numbers as integers.
fn float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn binary(op: BinaryOperator, l: &Value, r: &Value) -> Option<Value> {
    use BinaryOperator as B;
    Some(match op {
        B::Eq => Value::Bool(loosely_equal(l, r)),
        B::NotEq => Value::Bool(!loosely_equal(l, r)),
        B::And => Value::Bool(l.as_bool()? && r.as_bool()?),
        B::Or => Value::Bool(l.as_bool()? || r.as_bool()?),
        _ => {
            let (a, b) = (as_f64(l)?, as_f64(r)?);
            match op {
                B::Less => Value::Bool(a < b),
                B::LessEq => Value::Bool(a <= b),
                B::Greater => Value::Bool(a > b),
                B::GreaterEq => Value::Bool(a >= b),
                B::Plus => float(a + b),
                B::Minus => float(a - b),
                B::Mul => float(a * b),
                B::Div if b != 0.0 => float(a / b),
                B::Mod if b != 0.0 => float(a % b),
                _ => return None,
            }
        }
    })
}

/// Terraform converts between strings, numbers and booleans when comparing variables.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    a == b || (!a.is_object() && !a.is_array() && text(a) == text(b))
}

/// Whether a value contains a `${...}` placeholder of something unresolved.
fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(m) => m.values().any(has_placeholder),
        _ => false,
    }
}

/// Reports the unresolved placeholders left in `spec`, each with its field path and reason.
fn unresolved_paths(
    v: &Value,
    path: &str,
    reasons: &BTreeMap<String, String>,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let end = rest[start..]
                    .find('}')
                    .map_or(rest.len(), |e| start + e + 1);
                let placeholder = &rest[start..end];
                let why = reasons.get(placeholder).cloned().unwrap_or_else(|| {
                    let key = placeholder.trim_start_matches("${").trim_end_matches('}');
                    format!(
                        "Terraform interpolation {placeholder} is only known to Terraform; pass --param {key}=VALUE"
                    )
                });
                out.push((path.to_owned(), why));
                rest = &rest[end..];
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                unresolved_paths(v, &p, reasons, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                unresolved_paths(v, &format!("{path}[{i}]"), reasons, out);
            }
        }
        _ => {}
    }
}

/// Converts the resources of one `.tf` file, resolving references against the whole module.
pub(super) fn convert(file: &Path, module: &Module, out: &mut Collected) {
    let dir = file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    for r in module.resources.iter().filter(|r| r.file == file) {
        let resource = r.location();
        let supported = resource_kind(&r.ty).is_some()
            || matches!(
                r.ty.as_str(),
                "aws_lb_listener_rule"
                    | "aws_alb_listener_rule"
                    | "aws_appautoscaling_target"
                    | "aws_appautoscaling_policy"
            );
        if !supported {
            *out.skipped.entry(r.ty.clone()).or_default() += 1;
            out.note(
                NoteKind::Skipped,
                file,
                Some(&resource),
                None,
                format!("{} is not converted from Terraform", r.ty),
            );
            continue;
        }
        if let Some(meta) = ["count", "for_each"].iter().find(|m| r.attr(m).is_some()) {
            out.note(
                NoteKind::NotConverted,
                file,
                Some(&resource),
                Some(meta),
                format!(
                    "{meta} makes Terraform create several instances from one block; not converted (run `terraform show -json` or the AWS CLI on what it created and convert that)"
                ),
            );
            continue;
        }
        module.reasons.borrow_mut().clear();
        let body = module.body(r.body, &dir);
        let dynamic = module.dynamic.take();
        if !dynamic.is_empty() {
            for name in dynamic {
                out.note(
                    NoteKind::NotConverted,
                    file,
                    Some(&resource),
                    Some(&name),
                    format!(
                        "dynamic \"{name}\" blocks are expanded by Terraform; not converted (write the blocks out, or convert what `terraform show -json` or the AWS CLI shows of the resource)"
                    ),
                );
            }
            continue;
        }
        let source = Location {
            file: file.to_owned(),
            resource: Some(resource.clone()),
            path: None,
        };
        let reasons = module.reasons.borrow().clone();
        match r.ty.as_str() {
            "aws_lb_listener_rule" | "aws_alb_listener_rule" => {
                listener_rule(body, source, &reasons, out);
            }
            "aws_appautoscaling_target" => scalable_target(body, source, &reasons, out),
            "aws_appautoscaling_policy" => scaling_policy(body, source, &reasons, out),
            _ => {
                let kind = resource_kind(&r.ty).expect("supported");
                object(module, r, kind, body, source, &reasons, &dir, out);
            }
        }
    }
}

fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = m.remove(from) {
        m.insert(to.to_owned(), v);
    }
}

/// `{k = v}` → `[{key: k, value: v}]`, as the AWS APIs write tags.
fn key_value_list(v: Value, key: &str, value: &str) -> Value {
    match v {
        Value::Object(m) => Value::Array(
            m.into_iter()
                .map(|(k, v)| serde_json::json!({ key: k, value: text(&v) }))
                .collect(),
        ),
        other => other,
    }
}

fn first_block(m: &mut Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    match m.remove(key)? {
        Value::Array(mut items) if !items.is_empty() => match items.remove(0) {
            Value::Object(o) => Some(o),
            _ => None,
        },
        Value::Object(o) => Some(o),
        _ => None,
    }
}

fn blocks(m: &mut Map<String, Value>, key: &str) -> Vec<Map<String, Value>> {
    match m.remove(key) {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| match i {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// An ELB action block (`default_action`, `action`) in the API's shape.
fn action(mut a: Map<String, Value>) -> Value {
    if let Some(mut fwd) = first_block(&mut a, "forward") {
        let tgs: Vec<Value> = blocks(&mut fwd, "target_group")
            .into_iter()
            .map(|mut tg| {
                rename(&mut tg, "arn", "target_group_arn");
                Value::Object(tg)
            })
            .collect();
        let mut config = Map::new();
        config.insert("targetGroups".into(), Value::Array(tgs));
        if let Some(mut st) = first_block(&mut fwd, "stickiness") {
            rename(&mut st, "duration", "duration_seconds");
            config.insert("targetGroupStickinessConfig".into(), Value::Object(st));
        }
        a.insert("forwardConfig".into(), Value::Object(config));
    }
    if let Some(r) = first_block(&mut a, "redirect") {
        a.insert("redirectConfig".into(), Value::Object(r));
    }
    if let Some(f) = first_block(&mut a, "fixed_response") {
        a.insert("fixedResponseConfig".into(), Value::Object(f));
    }
    for (tf, api) in [
        ("authenticate_oidc", "authenticateOidcConfig"),
        ("authenticate_cognito", "authenticateCognitoConfig"),
    ] {
        if let Some(c) = first_block(&mut a, tf) {
            a.insert(api.into(), Value::Object(c));
        }
    }
    Value::Object(a)
}

/// An ELB listener rule `condition` block in the API's shape.
fn condition(mut c: Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (tf, field, config) in [
        ("host_header", "host-header", "hostHeaderConfig"),
        ("path_pattern", "path-pattern", "pathPatternConfig"),
        ("http_header", "http-header", "httpHeaderConfig"),
        (
            "http_request_method",
            "http-request-method",
            "httpRequestMethodConfig",
        ),
        ("source_ip", "source-ip", "sourceIpConfig"),
    ] {
        if let Some(block) = first_block(&mut c, tf) {
            out.insert("field".into(), Value::from(field));
            out.insert(config.into(), Value::Object(block));
        }
    }
    let qs = blocks(&mut c, "query_string");
    if !qs.is_empty() {
        out.insert("field".into(), Value::from("query-string"));
        out.insert(
            "queryStringConfig".into(),
            serde_json::json!({ "values": qs }),
        );
    }
    out.extend(c);
    Value::Object(out)
}

/// Reshapes a converted resource's arguments into the API's request shape (the names that are
/// the same but for case are left to the schema).
fn reshape(kind: Kind, m: &mut Map<String, Value>) {
    if let Some(tags) = m.remove("tags") {
        m.insert("tags".into(), key_value_list(tags, "key", "value"));
    }
    m.remove("tags_all");
    match kind {
        Kind::EcsCluster => {
            rename(m, "name", "cluster_name");
            rename(m, "setting", "settings");
        }
        Kind::TaskDefinition => {
            let volumes: Vec<Value> = blocks(m, "volume")
                .into_iter()
                .map(|mut v| {
                    if let Some(p) = v.remove("host_path") {
                        v.insert("host".into(), serde_json::json!({ "sourcePath": p }));
                    }
                    Value::Object(v)
                })
                .collect();
            if !volumes.is_empty() {
                m.insert("volumes".into(), Value::Array(volumes));
            }
            if let Some(mut proxy) = first_block(m, "proxy_configuration") {
                if let Some(p) = proxy.remove("properties") {
                    proxy.insert("properties".into(), key_value_list(p, "name", "value"));
                }
                m.insert("proxyConfiguration".into(), Value::Object(proxy));
            }
            rename(m, "placement_constraints", "placementConstraints");
        }
        Kind::EcsService => {
            rename(m, "name", "service_name");
            rename(m, "iam_role", "role");
            rename(m, "ordered_placement_strategy", "placementStrategy");
            let lbs: Vec<Value> = blocks(m, "load_balancer")
                .into_iter()
                .map(|mut lb| {
                    rename(&mut lb, "elb_name", "load_balancer_name");
                    Value::Object(lb)
                })
                .collect();
            if !lbs.is_empty() {
                m.insert("loadBalancers".into(), Value::Array(lbs));
            }
            let mut deployment = Map::new();
            for (tf, api) in [
                ("deployment_maximum_percent", "maximumPercent"),
                (
                    "deployment_minimum_healthy_percent",
                    "minimumHealthyPercent",
                ),
            ] {
                if let Some(v) = m.remove(tf) {
                    deployment.insert(api.into(), v);
                }
            }
            if let Some(cb) = first_block(m, "deployment_circuit_breaker") {
                deployment.insert("deploymentCircuitBreaker".into(), Value::Object(cb));
            }
            if let Some(alarms) = first_block(m, "alarms") {
                deployment.insert("alarms".into(), Value::Object(alarms));
            }
            if !deployment.is_empty() {
                m.insert("deploymentConfiguration".into(), Value::Object(deployment));
            }
            if let Some(mut net) = first_block(m, "network_configuration") {
                if let Some(Value::Bool(b)) = net.remove("assign_public_ip") {
                    net.insert(
                        "assignPublicIp".into(),
                        Value::from(if b { "ENABLED" } else { "DISABLED" }),
                    );
                }
                m.insert(
                    "networkConfiguration".into(),
                    serde_json::json!({ "awsvpcConfiguration": net }),
                );
            }
        }
        Kind::TargetGroup => {
            let mut attributes = Vec::new();
            let mut attribute = |key: &str, v: Value| {
                attributes.push(serde_json::json!({ "key": key, "value": text(&v) }));
            };
            for (tf, key) in [
                (
                    "deregistration_delay",
                    "deregistration_delay.timeout_seconds",
                ),
                ("slow_start", "slow_start.duration_seconds"),
                (
                    "load_balancing_algorithm_type",
                    "load_balancing.algorithm.type",
                ),
            ] {
                if let Some(v) = m.remove(tf) {
                    attribute(key, v);
                }
            }
            if let Some(mut st) = first_block(m, "stickiness") {
                for (tf, key) in [
                    ("enabled", "stickiness.enabled"),
                    ("type", "stickiness.type"),
                    ("cookie_duration", "stickiness.lb_cookie.duration_seconds"),
                    ("cookie_name", "stickiness.app_cookie.cookie_name"),
                ] {
                    if let Some(v) = st.remove(tf) {
                        attribute(key, v);
                    }
                }
            }
            if !attributes.is_empty() {
                m.insert("targetGroupAttributes".into(), Value::Array(attributes));
            }
            if let Some(mut hc) = first_block(m, "health_check") {
                let grpc = m.get("protocol_version").and_then(Value::as_str) == Some("GRPC");
                for (tf, api) in [
                    ("enabled", "healthCheckEnabled"),
                    ("path", "healthCheckPath"),
                    ("port", "healthCheckPort"),
                    ("protocol", "healthCheckProtocol"),
                    ("interval", "healthCheckIntervalSeconds"),
                    ("timeout", "healthCheckTimeoutSeconds"),
                    ("healthy_threshold", "healthyThresholdCount"),
                    ("unhealthy_threshold", "unhealthyThresholdCount"),
                ] {
                    if let Some(v) = hc.remove(tf) {
                        m.insert(api.into(), v);
                    }
                }
                if let Some(code) = hc.remove("matcher") {
                    let field = if grpc { "grpcCode" } else { "httpCode" };
                    m.insert("matcher".into(), serde_json::json!({ field: code }));
                }
                for (k, v) in hc {
                    m.insert(format!("health_check.{k}"), v);
                }
            }
        }
        Kind::Listener => {
            if let Some(cert) = m.remove("certificate_arn") {
                m.insert(
                    "certificates".into(),
                    serde_json::json!([{ "certificateArn": cert }]),
                );
            }
            if let Some(Value::String(alpn)) = m.remove("alpn_policy") {
                m.insert("alpnPolicy".into(), serde_json::json!([alpn]));
            }
            let actions: Vec<Value> = blocks(m, "default_action")
                .into_iter()
                .map(action)
                .collect();
            if !actions.is_empty() {
                m.insert("defaultActions".into(), Value::Array(actions));
            }
        }
    }
}

/// Renames to the API's fields (reporting what has no place), unwraps single blocks where the
/// API has one object, and lists the unresolved values by field path.
fn shape(
    mut spec: Value,
    schema: &Value,
    base: &str,
    reasons: &BTreeMap<String, String>,
    resource: &Location,
    out: &mut Collected,
) -> (Value, Vec<(String, String)>) {
    schema::unwrap_single_blocks(&mut spec, schema);
    out.rename_keys(&mut spec, schema, base, resource);
    let mut unresolved = Vec::new();
    unresolved_paths(&spec, base, reasons, &mut unresolved);
    (spec, unresolved)
}

#[allow(clippy::too_many_arguments)]
fn object(
    module: &Module,
    r: &Resource,
    kind: Kind,
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    dir: &Path,
    out: &mut Collected,
) {
    let mut reasons = reasons.clone();
    if kind == Kind::TaskDefinition {
        match container_definitions(module, r, dir) {
            Ok(defs) => {
                body.insert("containerDefinitions".into(), defs);
                reasons.extend(module.reasons.borrow().clone());
            }
            Err(why) => {
                out.note(
                    NoteKind::NotConverted,
                    &source.file,
                    source.resource.as_deref(),
                    Some("container_definitions"),
                    why,
                );
                return;
            }
        }
        body.remove("container_definitions");
    }
    reshape(kind, &mut body);
    let (mut spec, unresolved) = shape(
        Value::Object(body),
        spec_schema(kind),
        "",
        &reasons,
        &source,
        out,
    );
    let name_field = match kind {
        Kind::EcsCluster => Some("clusterName"),
        Kind::TaskDefinition => Some("family"),
        Kind::EcsService => Some("serviceName"),
        Kind::TargetGroup => Some("name"),
        Kind::Listener => None,
    };
    let mut aws_name = r.name.clone();
    if let Some(field) = name_field {
        match spec.get(field).and_then(Value::as_str) {
            Some(n) if !n.contains("${") => aws_name = n.to_owned(),
            Some(_) => {}
            None => {
                spec[field] = Value::from(r.name.as_str());
                out.note(
                    NoteKind::Assumed,
                    &source.file,
                    source.resource.as_deref(),
                    Some(field),
                    format!(
                        "Terraform would generate a name; using the resource's label: {}",
                        r.name
                    ),
                );
            }
        }
    }
    let keys = if kind == Kind::Listener {
        vec![format!("{LISTENER_MARKER}{}.{}", r.ty, r.name)]
    } else {
        Vec::new()
    };
    out.drafts.push(Draft {
        kind,
        aws_name,
        spec,
        source,
        unresolved,
        keys,
    });
}

/// `container_definitions`: a JSON string (heredoc, quoted, or `file(...)`), or
/// `jsonencode(...)` of HCL values.
fn container_definitions(module: &Module, r: &Resource, dir: &Path) -> Result<Value, String> {
    let Some(expr) = r.attr("container_definitions") else {
        return Err("no container_definitions".into());
    };
    module.reasons.borrow_mut().clear();
    let value = match expr {
        Expression::FuncCall(call) if call.name.to_string() == "jsonencode" => {
            match call.args.as_slice() {
                [arg] => return Ok(module.eval(arg, dir)),
                _ => return Err("jsonencode takes one argument".into()),
            }
        }
        Expression::TemplateExpr(t) => module.template(t, dir, true),
        other => module.eval(other, dir),
    };
    match value {
        Value::String(s) if s.starts_with("${") && s.ends_with('}') && !s.contains('\n') => {
            let reasons = module.reasons.borrow();
            Err(reasons
                .get(&s)
                .cloned()
                .unwrap_or_else(|| format!("{s} is only known to Terraform")))
        }
        Value::String(s) => serde_json::from_str(&s).map_err(|e| {
            format!(
                "not valid JSON after Terraform interpolation, at line {} column {}: {e}",
                e.line(),
                e.column()
            )
        }),
        Value::Array(a) => Ok(Value::Array(a)),
        other => Err(format!("expected a JSON list of containers, found {other}")),
    }
}

fn listener_rule(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    let listener = body.remove("listener_arn").unwrap_or(Value::Null);
    let listener_key = match &listener {
        Value::String(s) if !s.contains("${") => s.clone(),
        other => {
            let mut why = Vec::new();
            unresolved_paths(other, "listener_arn", reasons, &mut why);
            out.note(
                NoteKind::Unresolved,
                &source.file,
                source.resource.as_deref(),
                Some("listener_arn"),
                format!(
                    "its listener cannot be identified: {}",
                    why.into_iter()
                        .map(|(_, m)| m)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            );
            return;
        }
    };
    let actions: Vec<Value> = blocks(&mut body, "action")
        .into_iter()
        .map(action)
        .collect();
    body.insert("actions".into(), Value::Array(actions));
    let conditions: Vec<Value> = blocks(&mut body, "condition")
        .into_iter()
        .map(condition)
        .collect();
    body.insert("conditions".into(), Value::Array(conditions));
    if let Some(tags) = body.remove("tags") {
        body.insert("tags".into(), key_value_list(tags, "key", "value"));
    }
    let (rule, unresolved) = shape(
        Value::Object(body),
        schema::listener_rule(),
        "",
        reasons,
        &source,
        out,
    );
    out.rules.push(PendingRule {
        listener_key,
        rule,
        is_default: false,
        source,
        unresolved,
    });
}

/// The `resource_id` of a scalable target or policy, or why it is not known.
fn resource_id(
    body: &mut Map<String, Value>,
    reasons: &BTreeMap<String, String>,
) -> Result<String, String> {
    match body.remove("resource_id") {
        Some(Value::String(s)) if !s.contains("${") => Ok(s),
        Some(other) => {
            let mut why = Vec::new();
            unresolved_paths(&other, "resource_id", reasons, &mut why);
            let mut reasons: Vec<String> = why.into_iter().map(|(_, m)| m).collect();
            reasons.dedup();
            Err(reasons.join("; "))
        }
        None => Err("no resource_id".into()),
    }
}

fn not_ecs(body: &Map<String, Value>, ty: &str, source: &Location, out: &mut Collected) -> bool {
    let ns = body.get("service_namespace").map(text);
    match ns.as_deref() {
        Some(ns) if ns != "ecs" && !ns.contains("${") => {
            *out.skipped
                .entry(format!("{ty} (namespace {ns})"))
                .or_default() += 1;
            out.note(
                NoteKind::Skipped,
                &source.file,
                source.resource.as_deref(),
                None,
                "not an ECS service's scaling",
            );
            true
        }
        _ => false,
    }
}

fn scalable_target(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    if not_ecs(&body, "aws_appautoscaling_target", &source, out) {
        return;
    }
    let (resource_id, unidentified) = match resource_id(&mut body, reasons) {
        Ok(id) => (id, None),
        Err(why) => (
            String::new(),
            Some(format!("its service cannot be identified: {why}")),
        ),
    };
    let mut target = Map::new();
    for key in ["min_capacity", "max_capacity", "suspended_state"] {
        if let Some(v) = body.remove(key) {
            target.insert(key.to_owned(), v);
        }
    }
    let (target, unresolved) = shape(
        Value::Object(target),
        schema::auto_scaling(),
        "",
        reasons,
        &source,
        out,
    );
    out.scaling.push(PendingScaling {
        resource_id,
        key: None,
        target: Some(target),
        policies: Vec::new(),
        source,
        unresolved,
        unidentified,
    });
}

fn scaling_policy(
    mut body: Map<String, Value>,
    source: Location,
    reasons: &BTreeMap<String, String>,
    out: &mut Collected,
) {
    if not_ecs(&body, "aws_appautoscaling_policy", &source, out) {
        return;
    }
    let resource_id = match resource_id(&mut body, reasons) {
        Ok(id) => id,
        Err(why) => {
            out.note(
                NoteKind::Unresolved,
                &source.file,
                source.resource.as_deref(),
                Some("resource_id"),
                format!("its scalable target cannot be identified: {why}"),
            );
            return;
        }
    };
    for key in ["service_namespace", "scalable_dimension"] {
        body.remove(key);
    }
    rename(&mut body, "name", "policy_name");
    // Terraform's default policy type.
    body.entry("policy_type")
        .or_insert_with(|| Value::from("StepScaling"));
    if let Some(mut step) = first_block(&mut body, "step_scaling_policy_configuration") {
        rename(&mut step, "step_adjustment", "step_adjustments");
        body.insert(
            "step_scaling_policy_configuration".into(),
            Value::Object(step),
        );
    }
    if let Some(mut tt) = first_block(&mut body, "target_tracking_scaling_policy_configuration") {
        if let Some(mut custom) = first_block(&mut tt, "customized_metric_specification") {
            rename(&mut custom, "metric_dimension", "dimensions");
            tt.insert(
                "customized_metric_specification".into(),
                Value::Object(custom),
            );
        }
        body.insert(
            "target_tracking_scaling_policy_configuration".into(),
            Value::Object(tt),
        );
    }
    let (policy, unresolved) = shape(
        Value::Object(body),
        schema::scaling_policy(),
        "scalingPolicies[0]",
        reasons,
        &source,
        out,
    );
    out.scaling.push(PendingScaling::policy(
        resource_id,
        policy,
        source,
        unresolved,
    ));
}

#[cfg(test)]
mod tests {
    use super::super::{Conversion, Note};
    use super::*;

    /// Converts one `main.tf` with the given `--param`s.
    fn module_of(text: &str, params: &[(&str, &str)]) -> Conversion {
        let dir =
            std::env::temp_dir().join(format!("ecsplane-tf-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("main.tf");
        std::fs::write(&path, text).unwrap();
        let options = ConvertOptions {
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            namespace: None,
        };
        super::super::convert_files(&[path], &options).unwrap()
    }

    #[test]
    fn heredoc_container_definitions_fill_variables_and_keep_json_valid_when_unknown() {
        let c = module_of(
            r#"
variable "name" { default = "app" }
resource "aws_ecs_task_definition" "t" {
  family = "web"
  container_definitions = <<EOF
[{"name": "${var.name}", "image": "nginx",
  "portMappings": [{"containerPort": ${var.port}}]}]
EOF
}
"#,
            &[],
        );
        let held = &c.incomplete[0];
        assert_eq!(
            held.object.manifest["spec"]["containerDefinitions"][0]["name"],
            "app"
        );
        assert_eq!(
            held.unresolved,
            ["containerDefinitions[0].portMappings[0].containerPort"]
        );
        let note = c
            .notes
            .iter()
            .find(|n| n.kind == NoteKind::Unresolved)
            .unwrap();
        assert!(
            note.message
                .contains("variable port is not declared in the Terraform files given; pass --param var.port=VALUE"),
            "{note}"
        );
    }

    #[test]
    fn jsonencode_services_target_groups_and_references_become_one_consistent_set() {
        let c = module_of(
            r#"
variable "port" { default = 8080 }
locals { env = "prod" }
resource "aws_ecs_cluster" "main" { name = "main-${local.env}" }
resource "aws_lb_target_group" "web" {
  name        = "web-${local.env}"
  port        = var.port
  protocol    = "HTTP"
  target_type = "ip"
  deregistration_delay = 30
  health_check {
    path    = "/health"
    matcher = "200-299"
  }
}
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port     = 80
  protocol = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}
resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
  condition {
    path_pattern { values = ["/api/*"] }
  }
}
resource "aws_ecs_task_definition" "web" {
  family = "web"
  network_mode = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu = 256
  memory = 512
  container_definitions = jsonencode([{
    name  = "web"
    image = "nginx:1.27"
    essential = true
    portMappings = [{ containerPort = var.port }]
  }])
}
resource "aws_ecs_service" "web" {
  name            = "web"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.web.arn
  desired_count   = 2
  launch_type     = "FARGATE"
  deployment_minimum_healthy_percent = 50
  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = var.port
  }
  network_configuration {
    subnets          = ["subnet-1"]
    assign_public_ip = false
  }
}
resource "aws_appautoscaling_target" "web" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = 2
  max_capacity       = 6
}
resource "aws_appautoscaling_policy" "cpu" {
  name               = "cpu"
  policy_type        = "TargetTrackingScaling"
  resource_id        = aws_appautoscaling_target.web.resource_id
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
"#,
            &[],
        );
        let names: Vec<String> = c
            .objects
            .iter()
            .map(|o| format!("{}/{}", o.kind, o.name))
            .collect();
        assert_eq!(
            names,
            [
                "EcsCluster/main-prod",
                "TargetGroup/web-prod",
                "Listener/http",
                "TaskDefinition/web",
                "EcsService/web"
            ],
            "{:#?}",
            c.notes
        );
        assert!(c.incomplete.is_empty(), "{:#?}", c.notes);
        let spec =
            |kind: Kind| &c.objects.iter().find(|o| o.kind == kind).unwrap().manifest["spec"];
        let tg = spec(Kind::TargetGroup);
        assert_eq!(tg["port"], 8080);
        assert_eq!(tg["healthCheckPath"], "/health");
        assert_eq!(tg["matcher"]["httpCode"], "200-299");
        assert_eq!(
            tg["targetGroupAttributes"][0],
            serde_json::json!({"key": "deregistration_delay.timeout_seconds", "value": "30"})
        );
        let lsn = spec(Kind::Listener);
        assert_eq!(lsn["defaultActions"][0]["targetGroupArn"], "web-prod");
        assert_eq!(lsn["rules"][0]["priority"], 10);
        assert_eq!(
            lsn["rules"][0]["conditions"][0],
            serde_json::json!({"field": "path-pattern", "pathPatternConfig": {"values": ["/api/*"]}})
        );
        let td = spec(Kind::TaskDefinition);
        assert_eq!(td["cpu"], "256");
        assert_eq!(
            td["containerDefinitions"][0]["portMappings"][0]["containerPort"],
            8080
        );
        let svc = spec(Kind::EcsService);
        assert_eq!(svc["cluster"], "main-prod");
        assert_eq!(svc["taskDefinition"], "web");
        assert_eq!(svc["loadBalancers"][0]["targetGroupArn"], "web-prod");
        assert_eq!(svc["deploymentConfiguration"]["minimumHealthyPercent"], 50);
        assert_eq!(
            svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"],
            "DISABLED"
        );
        assert_eq!(svc["autoScaling"]["maxCapacity"], 6);
        assert_eq!(
            svc["autoScaling"]["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]
                ["predefinedMetricType"],
            "ECSServiceAverageCPUUtilization"
        );
    }

    #[test]
    fn data_sources_module_outputs_and_computed_attributes_are_reported_never_guessed() {
        let c = module_of(
            r#"
resource "aws_ecs_service" "web" {
  name            = "web"
  cluster         = module.ecs.cluster_id
  task_definition = data.aws_ecs_task_definition.web.arn
  desired_count   = 1
}
"#,
            &[],
        );
        assert_eq!(c.incomplete.len(), 1);
        let messages: Vec<String> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::Unresolved)
            .map(|n| {
                format!(
                    "{}: {}",
                    n.location.path.as_deref().unwrap_or(""),
                    n.message
                )
            })
            .collect();
        assert_eq!(
            messages,
            [
                "cluster: module.ecs.cluster_id is an output of another Terraform module; pass --param module.ecs.cluster_id=VALUE",
                "taskDefinition: data.aws_ecs_task_definition.web.arn is read from a data source by Terraform; pass --param data.aws_ecs_task_definition.web.arn=VALUE",
            ]
        );
        assert!(
            c.notes
                .iter()
                .all(|n| n.location.resource.as_deref() == Some("aws_ecs_service.web (line 2)"))
        );
    }

    #[test]
    fn heredocs_and_files_convert_while_count_and_dynamic_blocks_are_refused() {
        let dir = std::env::temp_dir().join(format!("ecsplane-tf-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("containers.json"),
            r#"[{"name": "worker", "image": "busybox", "essential": true}]"#,
        )
        .unwrap();
        let path = dir.join("main.tf");
        std::fs::write(
            &path,
            r#"
resource "aws_ecs_task_definition" "indented" {
  family = "indented"
  container_definitions = <<-EOT
    [
      {"name": "app", "image": "nginx", "cpu": 128}
    ]
    EOT
}
resource "aws_ecs_task_definition" "from_file" {
  family                = "from-file"
  container_definitions = file("${path.module}/containers.json")
}
resource "aws_ecs_service" "many" {
  count           = 3
  name            = "many-${count.index}"
  task_definition = aws_ecs_task_definition.indented.arn
}
resource "aws_ecs_service" "dyn" {
  name            = "dyn"
  task_definition = aws_ecs_task_definition.indented.arn
  dynamic "load_balancer" {
    for_each = var.lbs
    content {
      target_group_arn = load_balancer.value
    }
  }
}
"#,
        )
        .unwrap();
        let c = super::super::convert_files(&[path], &ConvertOptions::default()).unwrap();
        let names: Vec<String> = c.objects.iter().map(|o| o.name.clone()).collect();
        assert_eq!(names, ["indented", "from-file"]);
        assert_eq!(
            c.objects[0].manifest["spec"]["containerDefinitions"][0]["cpu"],
            128
        );
        assert_eq!(
            c.objects[1].manifest["spec"]["containerDefinitions"][0]["image"],
            "busybox"
        );
        let not_converted: Vec<&Note> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::NotConverted)
            .collect();
        let [dynamic, count] = not_converted[..] else {
            panic!("{not_converted:#?}")
        };
        assert_eq!(dynamic.location.path.as_deref(), Some("load_balancer"));
        assert!(
            dynamic.message.starts_with(
                "dynamic \"load_balancer\" blocks are expanded by Terraform; not converted"
            ),
            "{dynamic}"
        );
        assert_eq!(count.location.path.as_deref(), Some("count"));
        assert_eq!(
            count.location.resource.as_deref(),
            Some("aws_ecs_service.many (line 14)")
        );
    }

    #[test]
    fn listener_rule_conditions_and_forward_blocks_take_the_api_shape() {
        let c = module_of(
            r#"
resource "aws_alb_listener" "web" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"
  port     = 80
  protocol = "HTTP"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
    }
  }
}
resource "aws_alb_target_group" "blue" { name = "blue" }
resource "aws_alb_target_group" "green" { name = "green" }
resource "aws_alb_listener_rule" "split" {
  listener_arn = aws_alb_listener.web.arn
  priority     = 5
  action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_alb_target_group.blue.arn
        weight = 90
      }
      target_group {
        arn    = aws_alb_target_group.green.arn
        weight = 10
      }
    }
  }
  condition {
    host_header { values = ["shop.example.com"] }
  }
  condition {
    query_string {
      key   = "beta"
      value = "1"
    }
  }
}
"#,
            &[],
        );
        let lsn = &c
            .objects
            .iter()
            .find(|o| o.kind == Kind::Listener)
            .unwrap()
            .manifest["spec"];
        assert_eq!(
            lsn["defaultActions"][0]["fixedResponseConfig"],
            serde_json::json!({"contentType": "text/plain", "statusCode": "404"})
        );
        let rule = &lsn["rules"][0];
        assert_eq!(
            rule["actions"][0]["forwardConfig"]["targetGroups"],
            serde_json::json!([{"targetGroupArn": "blue", "weight": 90}, {"targetGroupArn": "green", "weight": 10}])
        );
        assert_eq!(
            rule["conditions"],
            serde_json::json!([
                {"field": "host-header", "hostHeaderConfig": {"values": ["shop.example.com"]}},
                {"field": "query-string", "queryStringConfig": {"values": [{"key": "beta", "value": "1"}]}},
            ])
        );
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let err = parse(Path::new("x.tf"), "resource \"a\" \"b\" {\n  x = \n}\n")
            .err()
            .unwrap();
        assert!(err.message.contains("invalid HCL at line"), "{err}");
    }
}
