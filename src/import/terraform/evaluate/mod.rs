//! HCL expression evaluation against the module tree: literals; variables (`--param`,
//! `.tfvars`, the module block's arguments for a followed module, defaults, with the optional
//! attributes of their `type`); locals; `count.index`, `each.key`, `each.value`; the module's
//! own resources and their instances; outputs of followed modules; `data "template_file"`;
//! string templates and heredocs with `%{ if }` / `%{ for }`; conditionals, operators, `for`
//! expressions and splats; `dynamic` blocks; the built-in functions of `functions.rs` plus
//! `file`, `templatefile`, `try`, `can` and `sensitive`. What only Terraform knows becomes a
//! `${...}` placeholder whose gap (why, and of what kind) is kept, never a guess; a sensitive
//! variable is always such a placeholder, whatever value it is given.
//!
//! Every reference (variable, local, output, resource attribute, `count`/`for_each`) is
//! evaluated once and memoised; a reference cycle is found and named, and references nested
//! deeper than [`MAX_REFERENCE_DEPTH`] stop there, so no input overflows the stack or takes
//! exponential time. Values larger than [`MAX_VALUE_BYTES`] are not built.
//!
//! - this file: the evaluation context ([`Ctx`]: scope, gaps, memo, limits) and the
//!   expressions themselves (operators, templates, `for`, functions, blocks);
//! - `references.rs`: what a reference names (variables, locals, data sources, module outputs,
//!   resources and their instances) and the names objects take;
//! - `build.rs`: the module tree built from the calls, and the instances of blocks.
//!
//! Depends on `tree` (the modules), `modules` (their sources), `files`, `functions`, `limits`
//! and `import`'s shared types; the converter (`convert`) and the entry points (`terraform`)
//! depend on this module, never the reverse.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::expr::{
    BinaryOperator, ForExpr, FuncCall, Operation, TemplateExpr, Traversal, TraversalOperator,
    UnaryOperator,
};
use hcl::template::{Directive, Element, Template};
use hcl::{Body, Expression, ObjectKey, Structure};
use serde_json::{Map, Value};

use super::files::{canonical_dir, read_inside};
use super::functions::{self, Failure, as_bool, as_f64, binary, float, size_above};
use super::limits::{
    MAX_EVALUATION_STEPS, MAX_INSTANCES, MAX_MODULES, MAX_NESTING, MAX_REFERENCE_DEPTH,
    MAX_VALUE_BYTES,
};
use super::modules::Sources;
use super::parse::{TfFile, too_deep};
use super::tree::{
    Followed, Gap, GapKind, Gaps, Instance, InstanceKey, Node, Resource, Tree, attr, first_label,
};
use crate::import::{ConvertOptions, Kind, text};

mod build;
mod references;

/// Stands for a listener in references (`aws_lb_listener.x.arn`), so its rules find it.
pub(super) const LISTENER_MARKER: &str = "ecsplane:terraform-listener:";

/// Where an expression is evaluated: a module instance, the instance of the block (for
/// `count.index` and `each`), and the iteration variables in scope.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    node: usize,
    instance: Option<Instance>,
    vars: Vec<(String, Value)>,
    /// Rendering a template file: only `vars` are visible.
    template: bool,
}

impl Scope {
    /// The scope of module instance `node`, inside the block instance `instance`.
    pub(super) fn new(node: usize, instance: Option<Instance>) -> Self {
        Scope {
            node,
            instance,
            vars: Vec::new(),
            template: false,
        }
    }

    fn with_var(&self, name: &str, value: Value) -> Self {
        let mut s = self.clone();
        s.vars.push((name.to_owned(), value));
        s
    }
}

/// An evaluation in progress: the tree, the scope, and the gaps met so far.
pub(super) struct Ctx<'t, 'a> {
    tree: &'t Tree<'a>,
    scope: Scope,
    gaps: RefCell<Gaps>,
    /// The `dynamic` blocks that could not be expanded.
    dynamic: RefCell<Vec<String>>,
}

impl<'t, 'a> Ctx<'t, 'a> {
    /// An evaluation in `scope`.
    pub(super) fn new(tree: &'t Tree<'a>, scope: Scope) -> Self {
        Ctx {
            tree,
            scope,
            gaps: RefCell::default(),
            dynamic: RefCell::default(),
        }
    }

    fn sub(&self, scope: Scope) -> Self {
        Ctx::new(self.tree, scope)
    }

    fn node(&self) -> &'t Node<'a> {
        &self.tree.nodes[self.scope.node]
    }

    /// Placeholder text → why it is unresolved, for the placeholders met so far.
    pub(super) fn reasons(&self) -> BTreeMap<String, String> {
        self.gaps
            .borrow()
            .iter()
            .map(|(k, g)| (k.clone(), g.why.clone()))
            .collect()
    }

    /// The placeholders met so far that stand for sensitive values.
    pub(super) fn sensitive(&self) -> BTreeSet<String> {
        self.gaps
            .borrow()
            .iter()
            .filter(|(_, g)| g.kind == GapKind::Sensitive)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The names of the `dynamic` blocks that could not be expanded, which are forgotten.
    pub(super) fn take_dynamic(&self) -> Vec<String> {
        self.dynamic.take()
    }

    fn absorb(&self, gaps: Gaps) {
        let mut mine = self.gaps.borrow_mut();
        for (k, g) in gaps {
            mine.entry(k).or_insert(g);
        }
    }

    fn absorb_ctx(&self, other: Ctx) {
        self.absorb(other.gaps.into_inner());
        self.dynamic.borrow_mut().extend(other.dynamic.into_inner());
    }

    /// Records a gap and returns its placeholder, `${text}`.
    fn gap(&self, text: &str, why: String, kind: GapKind) -> Value {
        let roots = vec![why.clone()];
        self.gap_with(text, why, kind, roots)
    }

    fn gap_with(&self, text: &str, why: String, kind: GapKind, roots: Vec<String>) -> Value {
        let placeholder = format!("${{{text}}}");
        self.gaps
            .borrow_mut()
            .entry(placeholder.clone())
            .or_insert(Gap { why, kind, roots });
        Value::String(placeholder)
    }

    /// A gap for `text` that depends on the unresolved parts of `values`: why is theirs (the
    /// reasons at the root of the chain).
    fn gap_from(&self, text: &str, values: &[&Value]) -> Value {
        let (roots, kind) = self.why_of(values);
        if roots.is_empty() {
            let why =
                format!("{text} depends on values only known to Terraform; pass them with --param");
            return self.gap(text, why, kind);
        }
        let why = format!("{text} depends on {}", roots.join("; "));
        self.gap_with(text, why, kind, roots)
    }

    /// The root reasons of the placeholders in `values`, and the kind that dominates
    /// (sensitive, then error, then unknown).
    fn why_of(&self, values: &[&Value]) -> (Vec<String>, GapKind) {
        let mut found = Vec::new();
        for v in values {
            placeholders(v, &mut found);
        }
        let gaps = self.gaps.borrow();
        let mut whys: Vec<String> = Vec::new();
        let mut kind = GapKind::Unknown;
        for p in found {
            if let Some(g) = gaps.get(&p) {
                for root in &g.roots {
                    if !whys.contains(root) {
                        whys.push(root.clone());
                    }
                }
                kind = match (kind, g.kind) {
                    (GapKind::Sensitive, _) | (_, GapKind::Sensitive) => GapKind::Sensitive,
                    (GapKind::Error, _) | (_, GapKind::Error) => GapKind::Error,
                    _ => GapKind::Unknown,
                };
            }
        }
        (whys, kind)
    }

    /// `key` as a reference of this module: `module.NAME.` + key in a followed module.
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.node().prefix)
    }

    /// A `--param` value: lists and maps written as JSON are read as JSON.
    fn param(&self, key: &str) -> Option<Value> {
        let v = self.tree.options.params.get(key)?;
        if v.starts_with(['[', '{'])
            && let Ok(parsed) = serde_json::from_str::<Value>(v)
        {
            return Some(parsed);
        }
        Some(Value::String(v.clone()))
    }

    /// Evaluates `f` in `scope` once for `key` (later calls get the memoised value and its
    /// gaps), unless `key` is already being evaluated (a cycle) or references are nested
    /// too deep.
    fn memo(
        &self,
        key: &str,
        shown: &str,
        scope: Scope,
        f: impl FnOnce(&Ctx<'t, 'a>) -> Value,
    ) -> Value {
        if let Some((v, gaps)) = self.tree.memo.borrow().get(key).cloned() {
            self.absorb(gaps);
            return v;
        }
        let cycle = {
            let stack = self.tree.stack.borrow();
            if stack.len() >= MAX_REFERENCE_DEPTH {
                drop(stack);
                return self.gap(
                    shown,
                    format!(
                        "{shown}: references nested more than {MAX_REFERENCE_DEPTH} deep (the limit MAX_REFERENCE_DEPTH); not evaluated"
                    ),
                    GapKind::Unknown,
                );
            }
            stack.iter().position(|k| k == key).map(|pos| {
                let mut names: Vec<&str> = stack[pos..].iter().map(String::as_str).collect();
                names.push(key);
                names.join(" → ")
            })
        };
        if let Some(cycle) = cycle {
            self.tree.cycles.borrow_mut().insert(cycle.clone());
            return self.gap(
                shown,
                format!("a reference cycle: {cycle} (Terraform refuses it too)"),
                GapKind::Error,
            );
        }
        self.tree.stack.borrow_mut().push(key.to_owned());
        let sub = self.sub(scope);
        let v = f(&sub);
        self.tree.stack.borrow_mut().pop();
        let gaps = sub.gaps.into_inner();
        self.tree
            .memo
            .borrow_mut()
            .insert(key.to_owned(), (v.clone(), gaps.clone()));
        self.absorb(gaps);
        v
    }

    /// A value built by this evaluation, unless it exceeds [`MAX_VALUE_BYTES`].
    fn bounded(&self, shown: &str, v: Value) -> Value {
        if size_above(&v, MAX_VALUE_BYTES) {
            self.too_big(shown)
        } else {
            v
        }
    }

    fn too_big(&self, shown: &str) -> Value {
        self.gap(
            &short(shown),
            format!(
                "{}: the value would be larger than {} KiB (the limit MAX_VALUE_BYTES); not evaluated",
                short(shown),
                MAX_VALUE_BYTES / 1024
            ),
            GapKind::Unknown,
        )
    }

    /// Whether the conversion has evaluated [`MAX_EVALUATION_STEPS`] expressions.
    fn spent(&self) -> bool {
        self.tree.steps.get() >= MAX_EVALUATION_STEPS
    }

    fn out_of_steps(&self) -> Value {
        self.gap(
            "evaluation",
            format!(
                "more than {MAX_EVALUATION_STEPS} expressions evaluated in one conversion (the limit MAX_EVALUATION_STEPS); not evaluated"
            ),
            GapKind::Unknown,
        )
    }

    /// Evaluates an expression; unresolved parts become `${...}` placeholders whose gaps are
    /// kept.
    pub(super) fn eval(&self, e: &Expression) -> Value {
        if self.spent() {
            return self.out_of_steps();
        }
        self.tree.steps.set(self.tree.steps.get() + 1);
        match e {
            Expression::Null => Value::Null,
            Expression::Bool(b) => Value::Bool(*b),
            Expression::Number(n) => number(n),
            Expression::String(s) => Value::String(s.clone()),
            Expression::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut size = 0;
                for i in items {
                    let v = self.eval(i);
                    size += value_size(&v);
                    if size > MAX_VALUE_BYTES {
                        return self.too_big(&e.to_string());
                    }
                    out.push(v);
                }
                Value::Array(out)
            }
            Expression::Object(obj) => {
                let mut out = Map::new();
                let mut size = 0;
                for (k, v) in obj {
                    let key = match k {
                        ObjectKey::Identifier(i) => i.to_string(),
                        ObjectKey::Expression(e) => text(&self.eval(e)),
                        _ => k.to_string(),
                    };
                    let v = self.eval(v);
                    size += value_size(&v) + key.len();
                    if size > MAX_VALUE_BYTES {
                        return self.too_big(&e.to_string());
                    }
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            Expression::TemplateExpr(t) => self.template(t, false),
            Expression::Parenthesis(inner) => self.eval(inner),
            Expression::Variable(v) => {
                let v = v.as_str();
                if let Some((_, value)) = self.scope.vars.iter().rev().find(|(n, _)| n == v) {
                    return value.clone();
                }
                if self.scope.template {
                    return self.gap(
                        v,
                        format!("{v} is not one of the variables given to the template"),
                        GapKind::Error,
                    );
                }
                self.param(v).unwrap_or_else(|| {
                    self.gap(
                        v,
                        format!("{v} is only known to Terraform; pass --param {v}=VALUE"),
                        GapKind::Unknown,
                    )
                })
            }
            Expression::Traversal(t) => self.traversal(e, t),
            Expression::FuncCall(call) => self.call(e, call),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr);
                match as_bool(&cond) {
                    Some(true) if !has_placeholder(&cond) => self.eval(&c.true_expr),
                    Some(false) if !has_placeholder(&cond) => self.eval(&c.false_expr),
                    _ => self.gap_from(&e.to_string(), &[&cond]),
                }
            }
            Expression::Operation(op) => self.operation(e, op),
            Expression::ForExpr(f) => self.for_expr(e, f),
            other => self.gap(
                &short(&other.to_string()),
                format!(
                    "{} is evaluated by Terraform; not converted",
                    short(&other.to_string())
                ),
                GapKind::Unknown,
            ),
        }
    }

    fn operation(&self, e: &Expression, op: &Operation) -> Value {
        match op {
            Operation::Unary(u) => {
                let v = self.eval(&u.expr);
                if has_placeholder(&v) {
                    return self.gap_from(&e.to_string(), &[&v]);
                }
                let r = match u.operator {
                    UnaryOperator::Not => as_bool(&v).map(|b| Value::Bool(!b)),
                    UnaryOperator::Neg => as_f64(&v).map(|f| float(-f)),
                };
                r.unwrap_or_else(|| {
                    self.gap(
                        &e.to_string(),
                        format!("{e}: an operand of the wrong type"),
                        GapKind::Error,
                    )
                })
            }
            Operation::Binary(b) => {
                let l = self.eval(&b.lhs_expr);
                let r = self.eval(&b.rhs_expr);
                let (lu, ru) = (has_placeholder(&l), has_placeholder(&r));
                // A known operand decides `&&` and `||` on its own.
                match (b.operator, lu, ru) {
                    (BinaryOperator::And, true, false) if as_bool(&r) == Some(false) => {
                        return Value::Bool(false);
                    }
                    (BinaryOperator::And, false, true) if as_bool(&l) == Some(false) => {
                        return Value::Bool(false);
                    }
                    (BinaryOperator::Or, true, false) if as_bool(&r) == Some(true) => {
                        return Value::Bool(true);
                    }
                    (BinaryOperator::Or, false, true) if as_bool(&l) == Some(true) => {
                        return Value::Bool(true);
                    }
                    _ => {}
                }
                if lu || ru {
                    return self.gap_from(&e.to_string(), &[&l, &r]);
                }
                binary(b.operator, &l, &r).unwrap_or_else(|| {
                    self.gap(
                        &e.to_string(),
                        format!("{e}: operands of the wrong type"),
                        GapKind::Error,
                    )
                })
            }
        }
    }

    /// A string template; in a JSON document (`json`), interpolations outside JSON strings
    /// stand for values, and unresolved ones become quoted placeholders so the JSON stays
    /// readable and the gap is reported.
    pub(super) fn template(&self, t: &TemplateExpr, json: bool) -> Value {
        let t = dedented(t);
        match Template::from_expr(&t) {
            Ok(template) => self.render(&template, json),
            Err(err) => self.gap(
                "template",
                format!("a string template Terraform would evaluate is not valid: {err}"),
                GapKind::Error,
            ),
        }
    }

    fn render(&self, template: &Template, json: bool) -> Value {
        let elements = template.elements();
        // "${x}" alone keeps the type of x (and is the whole document in JSON).
        if let [Element::Interpolation(i)] = elements {
            return self.eval(&i.expr);
        }
        let mut out = String::new();
        let mut in_string = false;
        match self.render_into(elements, json, &mut in_string, &mut out) {
            Ok(()) => Value::String(out),
            Err(gap) => gap,
        }
    }

    fn render_into(
        &self,
        elements: &[Element],
        json: bool,
        in_string: &mut bool,
        out: &mut String,
    ) -> Result<(), Value> {
        for el in elements {
            match el {
                Element::Literal(s) => {
                    if json {
                        *in_string = json_string_state(s, *in_string);
                    }
                    out.push_str(s);
                }
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr);
                    if json && !*in_string {
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
                Element::Directive(d) => self.directive(d, json, in_string, out)?,
            }
            if out.len() > MAX_VALUE_BYTES {
                return Err(self.too_big("a string template"));
            }
        }
        Ok(())
    }

    /// `%{ if }` and `%{ for }` of a template.
    fn directive(
        &self,
        d: &Directive,
        json: bool,
        in_string: &mut bool,
        out: &mut String,
    ) -> Result<(), Value> {
        match d {
            Directive::If(i) => {
                let cond = self.eval(&i.cond_expr);
                match as_bool(&cond) {
                    Some(true) if !has_placeholder(&cond) => {
                        self.render_into(i.true_template.elements(), json, in_string, out)
                    }
                    Some(false) if !has_placeholder(&cond) => match &i.false_template {
                        Some(f) => self.render_into(f.elements(), json, in_string, out),
                        None => Ok(()),
                    },
                    _ => Err(self.gap_from("%{ if } template directive", &[&cond])),
                }
            }
            Directive::For(f) => {
                let coll = self.eval(&f.collection_expr);
                let Some(items) = self.iterable(&coll) else {
                    return Err(self.gap_from("%{ for } template directive", &[&coll]));
                };
                for (k, v) in items {
                    if self.spent() {
                        return Err(self.out_of_steps());
                    }
                    let mut scope = self.scope.with_var(f.value_var.as_str(), v);
                    if let Some(kv) = &f.key_var {
                        scope = scope.with_var(kv.as_str(), k);
                    }
                    let sub = self.sub(scope);
                    let r = sub.render_into(f.template.elements(), json, in_string, out);
                    self.absorb_ctx(sub);
                    r?;
                }
                Ok(())
            }
        }
    }

    /// The (key, value) pairs a `for` iterates over: list index or map key.
    fn iterable(&self, v: &Value) -> Option<Vec<(Value, Value)>> {
        match v {
            Value::Array(a) if !a.iter().any(is_placeholder) => Some(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (Value::from(i), v.clone()))
                    .collect(),
            ),
            Value::Object(m) => Some(
                m.iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                    .collect(),
            ),
            _ => None,
        }
    }

    fn for_expr(&self, e: &Expression, f: &ForExpr) -> Value {
        let coll = self.eval(&f.collection_expr);
        let Some(items) = self.iterable(&coll) else {
            if coll.is_null() {
                return self.gap(
                    &short(&e.to_string()),
                    format!("{}: iterates over null", short(&e.to_string())),
                    GapKind::Error,
                );
            }
            return self.gap_from(&short(&e.to_string()), &[&coll]);
        };
        let mut list = Vec::new();
        let mut map = Map::new();
        let mut size = 0;
        for (k, v) in items {
            if self.spent() {
                return self.out_of_steps();
            }
            let scope = match &f.key_var {
                Some(kv) => self
                    .scope
                    .with_var(kv.as_str(), k)
                    .with_var(f.value_var.as_str(), v),
                None => self.scope.with_var(f.value_var.as_str(), v),
            };
            let sub = self.sub(scope);
            if let Some(cond) = &f.cond_expr {
                let c = sub.eval(cond);
                match as_bool(&c) {
                    Some(true) if !has_placeholder(&c) => {}
                    Some(false) if !has_placeholder(&c) => {
                        self.absorb_ctx(sub);
                        continue;
                    }
                    _ => {
                        let gap = sub.gap_from(&short(&e.to_string()), &[&c]);
                        self.absorb_ctx(sub);
                        return gap;
                    }
                }
            }
            let value = sub.eval(&f.value_expr);
            size += value_size(&value);
            match &f.key_expr {
                Some(ke) => {
                    let key = sub.eval(ke);
                    if has_placeholder(&key) {
                        let gap = sub.gap_from(&short(&e.to_string()), &[&key]);
                        self.absorb_ctx(sub);
                        return gap;
                    }
                    let key = text(&key);
                    size += key.len();
                    if f.grouping {
                        if let Value::Array(group) =
                            map.entry(key).or_insert_with(|| Value::Array(Vec::new()))
                        {
                            group.push(value);
                        }
                    } else {
                        map.insert(key, value);
                    }
                }
                None => list.push(value),
            }
            self.absorb_ctx(sub);
            if size > MAX_VALUE_BYTES {
                return self.too_big(&e.to_string());
            }
        }
        if f.key_expr.is_some() {
            Value::Object(map)
        } else {
            Value::Array(list)
        }
    }

    fn traversal(&self, e: &Expression, t: &Traversal) -> Value {
        let whole = e.to_string();
        let Expression::Variable(root) = &t.expr else {
            // An index into a computed value, such as split(...)[0].
            let base = self.eval(&t.expr);
            return self.index(base, &t.operators, &whole);
        };
        let root = root.as_str();
        if let Some((_, v)) = self.scope.vars.iter().rev().find(|(n, _)| n == root) {
            return self.index(v.clone(), &t.operators, &whole);
        }
        if self.scope.template {
            return self.gap(
                &whole,
                format!("{root} is not one of the variables given to the template"),
                GapKind::Error,
            );
        }
        let ops = t.operators.as_slice();
        let sensitive = root == "var"
            && matches!(ops.first(), Some(TraversalOperator::GetAttr(a))
                if self.node().variables.get(a.as_str()).is_some_and(|v| v.sensitive));
        if !sensitive && let Some(v) = self.param(&self.key(&whole)) {
            return v;
        }
        let (first, rest) = match ops {
            [TraversalOperator::GetAttr(a), rest @ ..] => (Some(a.as_str()), rest),
            _ => (None, ops),
        };
        match (root, first) {
            ("var", Some(name)) => {
                let v = self.variable(name);
                self.index(v, rest, &whole)
            }
            ("local", Some(name)) => {
                let v = self.local(name, &whole);
                self.index(v, rest, &whole)
            }
            ("count", Some("index")) => match &self.scope.instance {
                Some(Instance {
                    key: InstanceKey::Index(i),
                    ..
                }) => self.index(Value::from(*i), rest, &whole),
                _ => self.gap(
                    &whole,
                    format!("{whole} is only valid in a block with count"),
                    GapKind::Error,
                ),
            },
            ("each", Some(which @ ("key" | "value"))) => match &self.scope.instance {
                Some(Instance {
                    key: InstanceKey::Key(k),
                    value,
                }) => {
                    let v = if which == "key" {
                        Value::String(k.clone())
                    } else {
                        value.clone()
                    };
                    self.index(v, rest, &whole)
                }
                _ => self.gap(
                    &whole,
                    format!("{whole} is only valid in a block with for_each"),
                    GapKind::Error,
                ),
            },
            ("path", Some("module")) => {
                Value::String(self.node().dir.display().to_string())
            }
            ("path", Some("root" | "cwd")) => {
                Value::String(self.tree.root_dir.display().to_string())
            }
            ("terraform", Some("workspace")) => self.gap(
                &whole,
                "terraform.workspace is chosen when Terraform runs; pass --param terraform.workspace=NAME".to_owned(),
                GapKind::Unknown,
            ),
            ("data", Some(ty)) => self.data(ty, rest, &whole),
            ("module", Some(name)) => self.module(name, rest, &whole),
            (ty, Some(name)) if ty != "self" => self.resource_ref(ty, name, rest, &whole),
            _ => {
                let key = self.key(&whole);
                self.gap(
                    &key,
                    format!("{whole} is only known to Terraform; pass --param {key}=VALUE"),
                    GapKind::Unknown,
                )
            }
        }
    }

    /// Applies attribute, index and splat operators to a value.
    fn index(&self, base: Value, ops: &[TraversalOperator], whole: &str) -> Value {
        let mut cur = base;
        for (i, op) in ops.iter().enumerate() {
            if has_placeholder_here(&cur) {
                return self.gap_from(whole, &[&cur]);
            }
            let next = match op {
                TraversalOperator::GetAttr(a) => match &cur {
                    Value::Object(m) => m.get(a.as_str()).cloned(),
                    _ => None,
                },
                TraversalOperator::Index(ix) => {
                    let ix = self.eval(ix);
                    if has_placeholder(&ix) {
                        return self.gap_from(whole, &[&ix]);
                    }
                    match (&cur, &ix) {
                        (Value::Array(a), _) => as_f64(&ix)
                            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                            .and_then(|f| a.get(f as usize).cloned()),
                        (Value::Object(m), _) => m.get(&text(&ix)).cloned(),
                        _ => None,
                    }
                }
                TraversalOperator::LegacyIndex(n) => {
                    usize::try_from(*n).ok().and_then(|n| cur.get(n).cloned())
                }
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat => {
                    let items = match cur {
                        Value::Array(a) => a,
                        Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    let rest = &ops[i + 1..];
                    let mapped = items
                        .into_iter()
                        .map(|item| self.index(item, rest, whole))
                        .collect();
                    return Value::Array(mapped);
                }
            };
            match next {
                Some(v) => cur = v,
                None => {
                    return self.gap(
                        whole,
                        format!("{whole}: no such attribute or element"),
                        GapKind::Error,
                    );
                }
            }
        }
        cur
    }

    /// A function call: `try`, `can`, `file`, `templatefile`, `sensitive` and `coalesce`
    /// here; the others from `functions.rs` when their arguments are known.
    fn call(&self, e: &Expression, call: &FuncCall) -> Value {
        let name = call.name.to_string();
        let shown = short(&e.to_string());
        match name.as_str() {
            "try" => return self.try_(&shown, &call.args),
            "can" => {
                let Some(arg) = call.args.first() else {
                    return self.gap(
                        &shown,
                        format!("{shown}: can takes one argument"),
                        GapKind::Error,
                    );
                };
                let sub = self.sub(self.scope.clone());
                let v = sub.eval(arg);
                let (_, kind) = sub.why_of(&[&v]);
                let failed = has_placeholder(&v) && kind == GapKind::Error;
                let unknown = has_placeholder(&v) && kind != GapKind::Error;
                if unknown {
                    let gap = sub.gap_from(&shown, &[&v]);
                    self.absorb_ctx(sub);
                    return gap;
                }
                return Value::Bool(!failed);
            }
            "sensitive" => {
                return self.gap(
                    &shown,
                    format!(
                        "{shown} is marked sensitive: its value is never written into a manifest"
                    ),
                    GapKind::Sensitive,
                );
            }
            _ => {}
        }
        let mut args: Vec<Value> = call.args.iter().map(|a| self.eval(a)).collect();
        if call.expand_final
            && let Some(Value::Array(last)) = args.pop()
        {
            args.extend(last);
        }
        if name == "coalesce" {
            // The first argument that is not null or empty, even if it is not known yet.
            if let Some(v) = args.iter().find(|v| !v.is_null() && v.as_str() != Some("")) {
                return v.clone();
            }
        }
        let unknown = args.iter().any(has_placeholder);
        if unknown && !functions::preserves_unknowns(&name) {
            let refs: Vec<&Value> = args.iter().collect();
            return self.gap_from(&shown, &refs);
        }
        if args.iter().any(is_placeholder) {
            let refs: Vec<&Value> = args.iter().collect();
            return self.gap_from(&shown, &refs);
        }
        let result = match name.as_str() {
            "file" => match args.as_slice() {
                [Value::String(p)] => self.read(p).map(Value::String),
                _ => Err(Failure::Invalid("file takes one path".into())),
            },
            "templatefile" => match args.as_slice() {
                [Value::String(p), vars] => {
                    // Memoised: a template that renders itself is a cycle, one that renders
                    // others ever deeper stops at the reference depth.
                    let key = format!("{}templatefile({p}, {vars})", self.node().prefix);
                    let (p, vars) = (p.clone(), vars.clone());
                    return self.memo(&key, &shown, self.scope.clone(), |c| match c.read(&p) {
                        Ok(source) => c.render_source(&shown, &source, &vars),
                        Err(Failure::Invalid(why)) => {
                            c.gap(&shown, format!("{shown}: {why}"), GapKind::Error)
                        }
                        Err(_) => c.too_big(&shown),
                    });
                }
                _ => Err(Failure::Invalid(
                    "templatefile takes a path and an object of variables".into(),
                )),
            },
            _ => functions::call(&name, &args),
        };
        match result {
            Ok(v) => self.bounded(&shown, v),
            Err(Failure::TooBig) => self.too_big(&shown),
            Err(Failure::Invalid(why)) => {
                self.gap(&shown, format!("{shown}: {why}"), GapKind::Error)
            }
            Err(Failure::Unsupported) => self.gap(
                &shown,
                format!("the function {name} is evaluated by Terraform; not converted"),
                GapKind::Unknown,
            ),
        }
    }

    /// `try(a, b, ...)`: the first argument Terraform evaluates without an error (an unknown
    /// value is not an error: Terraform would take it).
    fn try_(&self, shown: &str, args: &[Expression]) -> Value {
        let mut last = None;
        for a in args {
            let sub = self.sub(self.scope.clone());
            let v = sub.eval(a);
            let failed = has_placeholder(&v) && sub.why_of(&[&v]).1 == GapKind::Error;
            if !failed {
                self.absorb_ctx(sub);
                return v;
            }
            last = Some((v, sub));
        }
        match last {
            Some((v, sub)) => {
                let gap = sub.gap_from(shown, &[&v]);
                self.absorb_ctx(sub);
                gap
            }
            None => self.gap(
                shown,
                format!("{shown}: try takes arguments"),
                GapKind::Error,
            ),
        }
    }

    /// A file `file()` or `templatefile()` names, relative to `path.module` unless absolute,
    /// read only inside the module's or the root module's directory tree.
    fn read(&self, p: &str) -> Result<String, Failure> {
        let path = self.node().dir.join(p);
        read_inside(&path, &self.node().sandbox).map_err(Failure::Invalid)
    }

    /// A block's body as JSON: attributes evaluated (null ones left out, as Terraform leaves
    /// them unset), each nested block type a list of objects, `dynamic` blocks expanded;
    /// Terraform's meta-arguments left out.
    pub(super) fn body(&self, body: &Body) -> Map<String, Value> {
        let mut out = Map::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    if META_ARGUMENTS.contains(&a.key.as_str()) {
                        continue;
                    }
                    let v = self.eval(&a.expr);
                    if !v.is_null() {
                        out.insert(a.key.to_string(), v);
                    }
                }
                Structure::Block(b) => {
                    if META_ARGUMENTS.contains(&b.identifier.as_str()) {
                        continue;
                    }
                    if b.identifier.as_str() == "dynamic" {
                        let name = first_label(&b.labels);
                        for item in self.dynamic_block(name, &b.body) {
                            push_block(&mut out, name, item);
                        }
                        continue;
                    }
                    let item = Value::Object(self.body(&b.body));
                    push_block(&mut out, b.identifier.as_str(), item);
                }
            }
        }
        out
    }

    /// The blocks a `dynamic "NAME"` block generates; none, and `NAME` remembered, when its
    /// `for_each` is not known.
    fn dynamic_block(&self, name: &str, body: &Body) -> Vec<Value> {
        let collection = attr(body, "for_each").map(|e| self.eval(e));
        let iterator = match attr(body, "iterator") {
            Some(Expression::Variable(v)) => v.as_str().to_owned(),
            _ => name.to_owned(),
        };
        let content = body.blocks().find(|b| b.identifier.as_str() == "content");
        let (Some(collection), Some(content)) = (collection, content) else {
            self.dynamic.borrow_mut().push(name.to_owned());
            return Vec::new();
        };
        let Some(items) = self.iterable(&collection) else {
            self.dynamic.borrow_mut().push(name.to_owned());
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in items {
            if self.spent() {
                self.dynamic.borrow_mut().push(name.to_owned());
                return Vec::new();
            }
            let it = serde_json::json!({ "key": k, "value": v });
            let sub = self.sub(self.scope.with_var(&iterator, it));
            out.push(Value::Object(sub.body(&content.body)));
            self.absorb_ctx(sub);
        }
        out
    }
}

fn push_block(out: &mut Map<String, Value>, name: &str, item: Value) {
    if let Value::Array(list) = out
        .entry(name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        list.push(item);
    }
}

/// The instance key an index value names.
fn instance_key(ix: &Value) -> InstanceKey {
    match ix {
        Value::Number(n) => n.as_u64().map_or_else(
            || InstanceKey::Key(ix.to_string()),
            |i| InstanceKey::Index(i as usize),
        ),
        other => InstanceKey::Key(text(other)),
    }
}

/// Terraform's own arguments, not the resource's.
const META_ARGUMENTS: &[&str] = &[
    "count",
    "for_each",
    "depends_on",
    "lifecycle",
    "provider",
    "timeouts",
    "provisioner",
];

/// The argument a resource type is named by.
fn name_argument(ty: &str) -> Option<&'static str> {
    match resource_kind(ty) {
        Some(Kind::TaskDefinition) => Some("family"),
        Some(Kind::Listener) => None,
        _ => Some("name"),
    }
}

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

/// Whether resources of type `ty` are converted (to objects, rules of a listener, or the
/// scaling of a service).
pub(super) fn supported(ty: &str) -> bool {
    resource_kind(ty).is_some()
        || matches!(
            ty,
            "aws_lb_listener_rule"
                | "aws_alb_listener_rule"
                | "aws_appautoscaling_target"
                | "aws_appautoscaling_policy"
                | "aws_cloudwatch_event_rule"
                | "aws_cloudwatch_event_target"
                | "aws_scheduler_schedule"
        )
}

fn is_load_balancer(ty: &str) -> bool {
    matches!(ty, "aws_lb" | "aws_alb")
}

/// An expression's text cut to a readable length for messages and placeholders.
fn short(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
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

/// The JSON size of a value, roughly.
fn value_size(v: &Value) -> usize {
    if size_above(v, MAX_VALUE_BYTES) {
        MAX_VALUE_BYTES + 1
    } else {
        match v {
            Value::String(s) => s.len() + 2,
            Value::Array(a) => a.iter().map(value_size).sum::<usize>() + 2,
            Value::Object(m) => {
                m.iter()
                    .map(|(k, v)| k.len() + value_size(v))
                    .sum::<usize>()
                    + 2
            }
            _ => 4,
        }
    }
}

/// Whether a value contains a `${...}` placeholder of something unresolved.
pub(super) fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(m) => m.values().any(has_placeholder),
        _ => false,
    }
}

/// Whether a value is a string with a placeholder (so its structure is not known).
fn has_placeholder_here(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.contains("${"))
}

/// Whether a value is exactly one placeholder.
fn is_placeholder(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.starts_with("${") && s.ends_with('}') && placeholder_end(s, 0) == Some(s.len()))
}

/// The end (exclusive) of the placeholder starting at byte `start` of `s` (`${`), braces
/// inside it matched, so `${max("${a}", "${b}")}` is one placeholder.
pub(super) fn placeholder_end(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    if !s[start..].starts_with("${") {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in b.iter().enumerate().skip(start + 1) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The placeholders of a value, each as written (`${...}`).
pub(super) fn placeholders(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let mut i = 0;
            while let Some(start) = s[i..].find("${").map(|p| p + i) {
                let end = placeholder_end(s, start).unwrap_or(s.len());
                out.push(s[start..end].to_owned());
                i = end;
            }
        }
        Value::Array(a) => a.iter().for_each(|v| placeholders(v, out)),
        Value::Object(m) => m.values().for_each(|v| placeholders(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::import::NoteKind;
    use crate::import::terraform::tests::module_of;

    use super::*;

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
    fn nested_placeholders_are_one_placeholder() {
        let s = r#"web:${max("${a.revision}", "${b.revision}")}"#;
        let mut found = Vec::new();
        placeholders(&Value::from(s), &mut found);
        assert_eq!(found, [r#"${max("${a.revision}", "${b.revision}")}"#]);
        assert!(is_placeholder(&Value::from("${a.b}")));
        assert!(!is_placeholder(&Value::from("${a}-${b}")));
    }
}
