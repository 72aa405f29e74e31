//! What a reference names: `var.NAME` (from `--param`, `.tfvars`, the module block or the
//! default, its object type's optional attributes filled in; never the value of a sensitive
//! variable), `local.NAME`, `data.template_file.NAME.rendered`, `module.NAME.OUTPUT`, and
//! `TYPE.NAME[KEY].ATTR` of a resource instance; the names objects take (with the rules for
//! instances and module instances); and the instances of a block.

use super::*;

impl<'t, 'a> Ctx<'t, 'a> {
    pub(super) fn variable(&self, name: &str) -> Value {
        let key = self.key(&format!("var.{name}"));
        let node = self.node();
        let Some(decl) = node.variables.get(name) else {
            return self.gap(
                &key,
                format!(
                    "variable {name} is not declared in the Terraform files given; pass --param {key}=VALUE or add the file that declares it"
                ),
                GapKind::Unknown,
            );
        };
        if decl.sensitive {
            return self.gap(
                &key,
                format!(
                    "{key} is sensitive: its value is never written into a manifest (in a container's environment it becomes a Secret reference)"
                ),
                GapKind::Sensitive,
            );
        }
        let scope = Scope::new(self.scope.node, None);
        self.memo(&key, &key, scope, |c| {
            let v = c.variable_value(name, &key);
            match decl.ty {
                Some(ty) => c.conform(ty, v),
                None => v,
            }
        })
    }

    /// A variable's value: `--param` (and `.tfvars`) in the root module, the module block's
    /// argument in a followed one, else its default.
    pub(super) fn variable_value(&self, name: &str, key: &str) -> Value {
        let node = self.node();
        let decl = &node.variables[name];
        let given = if node.parent.is_none() {
            self.param(key).or_else(|| self.param(name))
        } else {
            self.param(key)
        };
        if let Some(v) = given {
            return v;
        }
        if let Some((parent, ci, inst)) = &node.parent {
            let call = &self.tree.nodes[*parent].calls[*ci];
            if let Some(expr) = attr(call.body, name) {
                let pc = self.sub(Scope::new(*parent, Some(inst.clone())));
                let v = pc.eval(expr);
                self.absorb_ctx(pc);
                if !(v.is_null() && decl.not_nullable) {
                    return v;
                }
            }
        }
        match (decl.default, &node.parent) {
            (Some(default), _) => self.eval(default),
            (None, None) => self.gap(
                key,
                format!(
                    "variable {name} has no default; pass --param {key}=VALUE (or a .tfvars file with --param-file)"
                ),
                GapKind::Unknown,
            ),
            (None, Some((parent, ci, _))) => {
                let call = &self.tree.nodes[*parent].calls[*ci].name;
                self.gap(
                    key,
                    format!(
                        "variable {name} of module \"{call}\" has no value: no argument {name} in the module block and no default"
                    ),
                    GapKind::Unknown,
                )
            }
        }
    }

    /// `v` with the optional attributes of object type `ty` filled in (null, or the default
    /// `optional(T, DEFAULT)` gives), as Terraform converts a variable's value to its type.
    pub(super) fn conform(&self, ty: &Expression, v: Value) -> Value {
        let Expression::FuncCall(f) = ty else {
            return v;
        };
        let arg = f.args.first();
        match (f.name.name.as_str(), v, arg) {
            ("optional", v, Some(inner)) => {
                let v = match (&v, f.args.get(1)) {
                    (Value::Null, Some(default)) => self.eval(default),
                    _ => v,
                };
                self.conform(inner, v)
            }
            ("object", Value::Object(mut m), Some(Expression::Object(attrs))) => {
                for (k, aty) in attrs {
                    let k = match k {
                        ObjectKey::Identifier(i) => i.to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.clone(),
                        _ => continue,
                    };
                    let current = m.remove(&k).unwrap_or(Value::Null);
                    m.insert(k, self.conform(aty, current));
                }
                Value::Object(m)
            }
            ("map", Value::Object(m), Some(inner)) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, self.conform(inner, v)))
                    .collect(),
            ),
            ("list" | "set", Value::Array(a), Some(inner)) => {
                Value::Array(a.into_iter().map(|v| self.conform(inner, v)).collect())
            }
            (_, v, _) => v,
        }
    }

    pub(super) fn local(&self, name: &str, whole: &str) -> Value {
        let key = self.key(&format!("local.{name}"));
        let Some(expr) = self.node().locals.get(name) else {
            return self.gap(
                &self.key(whole),
                format!(
                    "local.{name} is not defined in the Terraform files given; pass --param {key}=VALUE"
                ),
                GapKind::Unknown,
            );
        };
        let scope = Scope::new(self.scope.node, None);
        self.memo(&key, &key, scope, |c| c.eval(expr))
    }

    /// `data.TYPE.NAME...`: `data "template_file"` renders its template; other data sources
    /// are only known to Terraform.
    pub(super) fn data(&self, ty: &str, ops: &[TraversalOperator], whole: &str) -> Value {
        let key = self.key(whole);
        if ty == "template_file"
            && let [
                TraversalOperator::GetAttr(name),
                TraversalOperator::GetAttr(attr),
                rest @ ..,
            ] = ops
            && attr.as_str() == "rendered"
            && let Some(d) = self.node().data_source(ty, name.as_str())
            && d.attr("count").is_none()
            && d.attr("for_each").is_none()
        {
            let memo_key = self.key(&format!("data.template_file.{name}.rendered"));
            let scope = Scope::new(self.scope.node, None);
            let v = self.memo(&memo_key, &memo_key, scope, |c| c.template_file(d));
            return self.index(v, rest, whole);
        }
        self.gap(
            &key,
            format!("{whole} is read from a data source by Terraform; pass --param {key}=VALUE"),
            GapKind::Unknown,
        )
    }

    /// The `rendered` text of a `data "template_file"`: its `template` with its `vars`.
    pub(super) fn template_file(&self, d: &Resource) -> Value {
        let shown = format!("data.template_file.{}.rendered", d.name);
        let Some(template) = d.attr("template").map(|e| self.eval(e)) else {
            return self.gap(&shown, format!("{shown}: no template"), GapKind::Error);
        };
        let Value::String(source) = &template else {
            return self.gap(
                &shown,
                format!("{shown}: the template is not a string"),
                GapKind::Error,
            );
        };
        // The template's own `${...}` are its syntax: only placeholders of unresolved values
        // (which have gaps) make it unknown.
        if !self.why_of(&[&template]).0.is_empty() {
            return self.gap_from(&shown, &[&template]);
        }
        let vars = match d.attr("vars") {
            Some(e) => self.eval(e),
            None => match d.body.blocks().find(|b| b.identifier.as_str() == "vars") {
                Some(b) => Value::Object(self.body(&b.body)),
                None => Value::Object(Map::new()),
            },
        };
        self.render_source(&shown, source, &vars)
    }

    /// Renders template text (a template file's) with `vars` as its only variables; JSON
    /// text (starting with `[` or `{`) is rendered as JSON, as container definitions are.
    pub(super) fn render_source(&self, shown: &str, source: &str, vars: &Value) -> Value {
        let Value::Object(vars) = vars else {
            return self.gap_from(shown, &[vars]);
        };
        if let Some(line) = too_deep(source) {
            return self.gap(
                shown,
                format!(
                    "{shown}: brackets nested more than {MAX_NESTING} deep at line {line} of the template (the limit MAX_NESTING); not rendered"
                ),
                GapKind::Unknown,
            );
        }
        let template: Template = match source.parse() {
            Ok(t) => t,
            Err(err) => {
                return self.gap(
                    shown,
                    format!("{shown}: not a valid template: {err}"),
                    GapKind::Error,
                );
            }
        };
        let scope = Scope {
            node: self.scope.node,
            instance: None,
            vars: vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            template: true,
        };
        let sub = self.sub(scope);
        let json = source.trim_start().starts_with(['[', '{']);
        let v = sub.render(&template, json);
        self.absorb_ctx(sub);
        v
    }

    /// `module.NAME...`: an output of a followed module (of one instance, or the map of its
    /// instances' outputs).
    pub(super) fn module(&self, name: &str, ops: &[TraversalOperator], whole: &str) -> Value {
        let key = self.key(whole);
        let node = self.node();
        let unknown = |why: String| {
            self.gap(
                &key,
                format!(
                    "{whole} is an output of module \"{name}\", {why}; pass --param {key}=VALUE"
                ),
                GapKind::Unknown,
            )
        };
        let Some(ci) = node.call(name) else {
            return self.gap(
                &key,
                format!(
                    "{whole} is an output of another Terraform module; pass --param {key}=VALUE"
                ),
                GapKind::Unknown,
            );
        };
        let instances = match node.followed.get(ci) {
            Some(Followed::Instances(list)) => list,
            Some(Followed::Not(why)) => return unknown(format!("which is not followed ({why})")),
            None => return unknown("which is not read yet".to_owned()),
        };
        let (chosen, rest): (Vec<usize>, &[TraversalOperator]) = match ops {
            [TraversalOperator::Index(ix), rest @ ..] => {
                let ix = self.eval(ix);
                if has_placeholder(&ix) {
                    return self.gap_from(whole, &[&ix]);
                }
                let k = instance_key(&ix);
                match instances.iter().find(|(key, _)| *key == k) {
                    Some((_, n)) => (vec![*n], rest),
                    None => {
                        return self.gap(
                            &key,
                            format!("{whole}: module \"{name}\" has no instance {ix}"),
                            GapKind::Error,
                        );
                    }
                }
            }
            [TraversalOperator::LegacyIndex(i), rest @ ..] => {
                match instances
                    .iter()
                    .find(|(key, _)| *key == InstanceKey::Index(*i as usize))
                {
                    Some((_, n)) => (vec![*n], rest),
                    None => {
                        return self.gap(
                            &key,
                            format!("{whole}: module \"{name}\" has no instance [{i}]"),
                            GapKind::Error,
                        );
                    }
                }
            }
            _ if matches!(instances.as_slice(), [(InstanceKey::Single, _)]) => {
                (vec![instances[0].1], ops)
            }
            // The whole map (or list) of instances, each its outputs.
            _ => {
                let mut map = Map::new();
                let mut list = Vec::new();
                for (k, n) in instances {
                    let outputs = self.outputs(*n);
                    match k {
                        InstanceKey::Key(k) => {
                            map.insert(k.clone(), outputs);
                        }
                        _ => list.push(outputs),
                    }
                }
                let all = if list.is_empty() {
                    Value::Object(map)
                } else {
                    Value::Array(list)
                };
                return self.index(all, ops, whole);
            }
        };
        let n = chosen[0];
        match rest {
            [TraversalOperator::GetAttr(out), rest @ ..] => {
                let v = self.output(n, out.as_str(), whole);
                self.index(v, rest, whole)
            }
            _ => {
                let v = self.outputs(n);
                self.index(v, rest, whole)
            }
        }
    }

    /// Every output of module instance `n`, as an object.
    pub(super) fn outputs(&self, n: usize) -> Value {
        let mut names: Vec<&String> = self.tree.nodes[n].outputs.keys().collect();
        names.sort();
        let mut out = Map::new();
        for name in names {
            let v = self.output(n, name, name);
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    pub(super) fn output(&self, n: usize, name: &str, whole: &str) -> Value {
        let child = &self.tree.nodes[n];
        let key = format!("{}output.{name}", child.prefix);
        let Some(expr) = child.outputs.get(name) else {
            return self.gap(
                &self.key(whole),
                format!("{whole}: the module has no output {name}"),
                GapKind::Error,
            );
        };
        self.memo(&key, &key, Scope::new(n, None), |c| c.eval(expr))
    }

    /// `TYPE.NAME[KEY].ATTR...` of a resource of this module.
    pub(super) fn resource_ref(
        &self,
        ty: &str,
        name: &str,
        ops: &[TraversalOperator],
        whole: &str,
    ) -> Value {
        let node = self.node();
        let key = self.key(whole);
        let Some(r) = node.resource(ty, name) else {
            return self.gap(
                &key,
                format!(
                    "{whole}: no resource {ty}.{name} in the Terraform files given; convert the file that defines it together with this one, or pass --param {key}=VALUE"
                ),
                GapKind::Unknown,
            );
        };
        let instances = match self.tree.resource_instances(self.scope.node, r) {
            Ok(i) => i,
            Err(why) => {
                return self.gap(
                    &key,
                    format!("{whole}: the instances of {ty}.{name} are not known: {why}"),
                    GapKind::Unknown,
                );
            }
        };
        let pick = |k: &InstanceKey| instances.iter().find(|i| i.key == *k).cloned();
        let (inst, rest) = match ops {
            [TraversalOperator::Index(ix), rest @ ..] => {
                let ix = self.eval(ix);
                if has_placeholder(&ix) {
                    return self.gap_from(whole, &[&ix]);
                }
                (pick(&instance_key(&ix)), rest)
            }
            [TraversalOperator::LegacyIndex(i), rest @ ..] => {
                (pick(&InstanceKey::Index(*i as usize)), rest)
            }
            [
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat,
                rest @ ..,
            ] => {
                let all = instances
                    .iter()
                    .map(|inst| self.instance_value(r, inst, rest, whole))
                    .collect();
                return Value::Array(all);
            }
            _ => match instances.as_slice() {
                [single] if single.key == InstanceKey::Single => (Some(single.clone()), ops),
                _ => {
                    return self.gap(
                        &key,
                        format!(
                            "{whole}: {ty}.{name} has count or for_each ({} instances); refer to one of them, such as {ty}.{name}[0]",
                            instances.len()
                        ),
                        GapKind::Error,
                    );
                }
            },
        };
        match inst {
            Some(inst) => self.instance_value(r, &inst, rest, whole),
            None => self.gap(
                &key,
                format!("{whole}: {ty}.{name} has no such instance"),
                GapKind::Error,
            ),
        }
    }

    pub(super) fn instance_value(
        &self,
        r: &Resource,
        inst: &Instance,
        ops: &[TraversalOperator],
        whole: &str,
    ) -> Value {
        match ops {
            [TraversalOperator::GetAttr(attr), rest @ ..] => {
                let v = self.resource_attr(r, inst, attr.as_str(), whole);
                self.index(v, rest, whole)
            }
            _ => {
                let key = self.key(whole);
                self.gap(
                    &key,
                    format!("{whole}: the whole resource object is only known to Terraform; pass --param {key}=VALUE"),
                    GapKind::Unknown,
                )
            }
        }
    }

    /// `TYPE.NAME.ATTR` of a resource instance: what ecsplane names it by for the ECS, ELBv2
    /// and autoscaling resources it converts, or an argument of the resource; otherwise only
    /// known after `terraform apply`.
    pub(super) fn resource_attr(
        &self,
        r: &Resource,
        inst: &Instance,
        attr: &str,
        whole: &str,
    ) -> Value {
        let address = self.tree.address(self.scope.node, r, &inst.key);
        let key = format!("{address}.{attr}");
        if let Some(v) = self.param(&key) {
            return v;
        }
        let scope = Scope::new(self.scope.node, Some(inst.clone()));
        let whole = whole.to_owned();
        self.memo(&key, &key, scope, |c| {
            if let Some(v) = crate::import::terraform::discovery::attribute(c, r, &address, attr) {
                return v;
            }
            let named = match (resource_kind(&r.ty), attr) {
                (Some(Kind::Listener), "arn" | "id") => {
                    return Value::String(format!("{LISTENER_MARKER}{address}"));
                }
                (Some(Kind::TaskDefinition), "arn" | "id" | "family" | "arn_without_revision")
                | (Some(Kind::EcsCluster), "arn" | "id" | "name")
                | (Some(Kind::EcsService), "id" | "name")
                | (Some(Kind::TargetGroup), "arn" | "id" | "name") => true,
                // A rule's targets name it by its name (which is also its id).
                (None, "arn" | "id" | "name") => {
                    is_load_balancer(&r.ty) || r.ty == "aws_cloudwatch_event_rule"
                }
                _ => false,
            };
            if named {
                return c.instance_name(r, inst);
            }
            match r.attr(attr) {
                Some(e) => c.eval(e),
                None => c.gap(
                    &key,
                    format!(
                        "{whole} is only known after terraform apply; pass --param {key}=VALUE"
                    ),
                    GapKind::Unknown,
                ),
            }
        })
    }

    /// The name ecsplane gives a resource instance: its name argument (`family` for a task
    /// definition), or its label qualified by the module path (Terraform would generate a
    /// name); instances whose names would be the same get their `count.index` or
    /// `each.key` appended (`NAME-0`, `NAME-KEY`), and in a module instantiated more than
    /// once, a name another instance of the module gives the same resource is qualified by
    /// the module path (`web-NAME`, `svc-0-NAME`).
    pub(in crate::import::terraform) fn instance_name(
        &self,
        r: &Resource,
        inst: &Instance,
    ) -> Value {
        let own = self.unqualified_name(r, inst);
        let node = self.node();
        let named = name_argument(&r.ty).and_then(|a| r.attr(a)).is_some();
        if node.qualifier.is_empty() || !named || has_placeholder(&own) {
            return own;
        }
        let clash = self
            .tree
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| *i != self.scope.node && n.dir == node.dir)
            .any(|(i, n)| {
                let Some(other) = n.resource(&r.ty, &r.name) else {
                    return false;
                };
                let Ok(instances) = self.tree.resource_instances(i, other) else {
                    return false;
                };
                let c = self.sub(Scope::new(i, None));
                instances
                    .iter()
                    .any(|oi| c.unqualified_name(other, oi) == own)
            });
        if clash {
            Value::String(format!("{}-{}", node.qualifier, text(&own)))
        } else {
            own
        }
    }

    /// [`Ctx::instance_name`] within its module instance only.
    pub(super) fn unqualified_name(&self, r: &Resource, inst: &Instance) -> Value {
        let base = self.base_name(r, inst);
        let Some(suffix) = inst.key.suffix() else {
            return base;
        };
        let Ok(all) = self.tree.resource_instances(self.scope.node, r) else {
            return base;
        };
        if all.len() < 2 || has_placeholder(&base) {
            return base;
        }
        let names: BTreeSet<String> = all.iter().map(|i| text(&self.base_name(r, i))).collect();
        if names.len() == all.len() {
            base
        } else {
            Value::String(format!("{}-{suffix}", text(&base)))
        }
    }

    pub(super) fn base_name(&self, r: &Resource, inst: &Instance) -> Value {
        let key = format!("{}#name", self.tree.address(self.scope.node, r, &inst.key));
        let scope = Scope::new(self.scope.node, Some(inst.clone()));
        let label = self.label_name(r);
        self.memo(&key.clone(), &key, scope, |c| {
            match name_argument(&r.ty).and_then(|a| r.attr(a)) {
                Some(e) => c.eval(e),
                None => Value::String(label),
            }
        })
    }

    /// A resource's label, qualified with its module's path in a followed module.
    pub(in crate::import::terraform) fn label_name(&self, r: &Resource) -> String {
        let q = &self.node().qualifier;
        if q.is_empty() {
            r.name.clone()
        } else {
            format!("{q}-{}", r.name)
        }
    }

    /// The instances of a block (its `count` or `for_each`), in this scope.
    pub(super) fn instances(&self, body: &Body) -> Result<Vec<Instance>, String> {
        if let Some(count) = attr(body, "count") {
            let v = self.eval(count);
            if has_placeholder(&v) {
                return Err(format!(
                    "count = {} cannot be evaluated: {}",
                    short(&count.to_string()),
                    self.why_of(&[&v]).0.join("; ")
                ));
            }
            let n = as_f64(&v)
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .ok_or_else(|| format!("count = {count} is {v}, not a whole number"))?;
            if n > MAX_INSTANCES as f64 {
                return Err(format!(
                    "count = {count} is {n}, more than {MAX_INSTANCES} instances (the limit MAX_INSTANCES); not converted"
                ));
            }
            return Ok((0..n as usize)
                .map(|i| Instance {
                    key: InstanceKey::Index(i),
                    value: Value::Null,
                })
                .collect());
        }
        let Some(for_each) = attr(body, "for_each") else {
            return Ok(vec![Instance::single()]);
        };
        let v = self.eval(for_each);
        if is_placeholder(&v) || matches!(&v, Value::Array(a) if a.iter().any(has_placeholder)) {
            return Err(format!(
                "for_each = {} cannot be evaluated: {}",
                short(&for_each.to_string()),
                self.why_of(&[&v]).0.join("; ")
            ));
        }
        let instances: Vec<Instance> = match v {
            Value::Object(m) => m
                .into_iter()
                .map(|(k, value)| Instance {
                    key: InstanceKey::Key(k),
                    value,
                })
                .collect(),
            Value::Array(a) => {
                let mut keys = BTreeSet::new();
                for item in a {
                    match item {
                        Value::String(s) => {
                            keys.insert(s);
                        }
                        other => {
                            return Err(format!(
                                "for_each over a set of {other}: Terraform takes a map or a set of strings"
                            ));
                        }
                    }
                }
                keys.into_iter()
                    .map(|k| Instance {
                        value: Value::String(k.clone()),
                        key: InstanceKey::Key(k),
                    })
                    .collect()
            }
            other => {
                return Err(format!(
                    "for_each = {} is {other}, not a map or a set of strings",
                    short(&for_each.to_string())
                ));
            }
        };
        if instances.len() > MAX_INSTANCES {
            return Err(format!(
                "for_each gives {} instances, more than {MAX_INSTANCES} (the limit MAX_INSTANCES); not converted",
                instances.len()
            ));
        }
        Ok(instances)
    }
}
