//! HCL expression evaluation: the `.tf` files of one conversion as one module (variables,
//! locals, resources) and the evaluation of expressions against it — literals, variables and
//! `--param`s, locals, references to the module's own resources, string templates and
//! heredocs, conditionals, operators and the built-in functions of `functions.rs`. What only
//! Terraform knows becomes a `${...}` placeholder whose reason is kept, never a guess.
//!
//! Depends on `parse` (the blocks of each file), `functions` and `import`'s shared types;
//! the converter (`convert`) and the entry points (`terraform`) depend on this file, never
//! the reverse.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hcl::expr::{TemplateExpr, TraversalOperator, UnaryOperator};
use hcl::template::{Element, Template};
use hcl::{BlockLabel, Body, Expression, ObjectKey, Structure};
use serde_json::{Map, Value};

use super::functions::{self, as_f64, binary, float};
use super::parse::TfFile;
use crate::import::{ConvertOptions, Kind, text};

/// Stands for a listener in references (`aws_lb_listener.x.arn`), so its rules find it.
pub(super) const LISTENER_MARKER: &str = "ecsplane:terraform-listener:";

/// A resource of the module.
pub(super) struct Resource<'a> {
    /// The file that declares it.
    pub(super) file: &'a Path,
    /// Its type, such as `aws_ecs_service`.
    pub(super) ty: String,
    /// Its label, the second one of the block.
    pub(super) name: String,
    line: usize,
    /// Its arguments and nested blocks, unevaluated.
    pub(super) body: &'a Body,
}

impl Resource<'_> {
    /// `TYPE.NAME (line N)`, as notes name the resource.
    pub(super) fn location(&self) -> String {
        format!("{}.{} (line {})", self.ty, self.name, self.line)
    }

    /// The expression of the argument `key`, if the resource has it.
    pub(super) fn attr(&self, key: &str) -> Option<&Expression> {
        self.body
            .attributes()
            .find(|a| a.key.as_str() == key)
            .map(|a| &a.expr)
    }
}

/// Every `.tf` file of the conversion, as one module.
pub(in crate::import) struct Module<'a> {
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
    pub(in crate::import) fn new(
        files: &'a [(&'a Path, &'a TfFile)],
        options: &'a ConvertOptions,
    ) -> Self {
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

    /// The resources declared in `file`, in the order of the file.
    pub(super) fn resources_in<'s>(
        &'s self,
        file: &'s Path,
    ) -> impl Iterator<Item = &'s Resource<'a>> {
        self.resources.iter().filter(move |r| r.file == file)
    }

    /// Forgets the reasons of the placeholders met so far, before evaluating a new resource.
    pub(super) fn clear_reasons(&self) {
        self.reasons.borrow_mut().clear();
    }

    /// Placeholder text → why it is unresolved, for the placeholders met since the last
    /// [`Module::clear_reasons`].
    pub(super) fn reasons(&self) -> BTreeMap<String, String> {
        self.reasons.borrow().clone()
    }

    /// Why the placeholder `placeholder` is unresolved, if it was met.
    pub(super) fn reason(&self, placeholder: &str) -> Option<String> {
        self.reasons.borrow().get(placeholder).cloned()
    }

    /// The names of the `dynamic` blocks met since the last call, which are forgotten.
    pub(super) fn take_dynamic(&self) -> Vec<String> {
        self.dynamic.take()
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
    pub(super) fn eval(&self, e: &Expression, dir: &Path) -> Value {
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
    pub(super) fn template(&self, t: &TemplateExpr, dir: &Path, json: bool) -> Value {
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

    /// A function call: one of the pure functions of `functions.rs` when its arguments are
    /// known (`jsonencode` also of unknown ones), otherwise unresolved.
    fn call(&self, e: &Expression, call: &hcl::expr::FuncCall, dir: &Path) -> Value {
        let name = call.name.to_string();
        let args: Vec<Value> = call.args.iter().map(|a| self.eval(a, dir)).collect();
        let unknown = args.iter().any(has_placeholder);
        let result = if unknown && name != "jsonencode" {
            Ok(None)
        } else {
            functions::call(&name, &args, dir)
        };
        match result {
            Ok(Some(v)) => v,
            Err(why) => self.unresolved(&e.to_string(), format!("{e}: {why}")),
            Ok(None) => {
                let why = if unknown {
                    format!("{e} depends on values only known to Terraform; pass them with --param")
                } else {
                    format!("the function {name} is evaluated by Terraform; not converted")
                };
                self.unresolved(&e.to_string(), why)
            }
        }
    }

    /// A resource's body as JSON: attributes evaluated, each nested block type a list of
    /// objects; Terraform's meta-arguments left out.
    pub(super) fn body(&self, body: &Body, dir: &Path) -> Map<String, Value> {
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

/// The kind of object a resource type converts to, for the types that become objects.
pub(super) fn resource_kind(ty: &str) -> Option<Kind> {
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

/// Whether a value contains a `${...}` placeholder of something unresolved.
fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(m) => m.values().any(has_placeholder),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::import::NoteKind;
    use crate::import::terraform::tests::module_of;

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
}
