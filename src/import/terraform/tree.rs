//! The modules of one conversion as a tree of module instances: the root module (every `.tf`
//! file given) and, under it, one node per instance of each local module it calls
//! (`module "x" { source = "./x" }`, with `count` or `for_each` one node per instance). A node
//! holds its blocks unevaluated: variables, locals, resources, data sources, outputs and module
//! calls; `evaluate` builds the tree (it evaluates `count` and `for_each` of module calls) and
//! evaluates expressions against it.
//!
//! Depends on `parse` (the blocks of each file) and `import`'s shared types.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use hcl::{BlockLabel, Body, Expression};
use serde_json::Value;

use super::parse::TfFile;
use crate::import::ConvertOptions;

/// Which instance of a block with `count` or `for_each`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum InstanceKey {
    /// A block without `count` or `for_each`.
    Single,
    /// `count.index`.
    Index(usize),
    /// `each.key`.
    Key(String),
}

impl InstanceKey {
    /// `[0]`, `["key"]`, or nothing, as Terraform writes addresses.
    pub(super) fn address(&self) -> String {
        match self {
            InstanceKey::Single => String::new(),
            InstanceKey::Index(i) => format!("[{i}]"),
            InstanceKey::Key(k) => format!("[{}]", Value::String(k.clone())),
        }
    }

    /// `0`, `key`, or nothing: what names of instances are suffixed with.
    pub(super) fn suffix(&self) -> Option<String> {
        match self {
            InstanceKey::Single => None,
            InstanceKey::Index(i) => Some(i.to_string()),
            InstanceKey::Key(k) => Some(k.clone()),
        }
    }
}

/// One instance of a block: its key and, for `for_each`, `each.value`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Instance {
    /// Which instance.
    pub(super) key: InstanceKey,
    /// `each.value` (null for `count` and single blocks).
    pub(super) value: Value,
}

impl Instance {
    /// The instance of a block without `count` or `for_each`.
    pub(super) fn single() -> Self {
        Instance {
            key: InstanceKey::Single,
            value: Value::Null,
        }
    }
}

/// A `resource` or `data` block of a module.
pub(super) struct Resource<'a> {
    /// The file that declares it.
    pub(super) file: &'a Path,
    /// Its type, such as `aws_ecs_service`.
    pub(super) ty: String,
    /// Its label, the second one of the block.
    pub(super) name: String,
    /// The line the block starts on.
    pub(super) line: usize,
    /// Its arguments and nested blocks, unevaluated.
    pub(super) body: &'a Body,
}

impl Resource<'_> {
    /// The expression of the argument `key`, if the block has it.
    pub(super) fn attr(&self, key: &str) -> Option<&Expression> {
        attr(self.body, key)
    }
}

/// The expression of the argument `key` of `body`.
pub(super) fn attr<'b>(body: &'b Body, key: &str) -> Option<&'b Expression> {
    body.attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| &a.expr)
}

/// A declared variable.
pub(super) struct Variable<'a> {
    /// Its `default`.
    pub(super) default: Option<&'a Expression>,
    /// Its `type`, to fill the optional attributes of objects.
    pub(super) ty: Option<&'a Expression>,
    /// `sensitive = true`: its value is never written.
    pub(super) sensitive: bool,
    /// `nullable = false`: null stands for the default.
    pub(super) not_nullable: bool,
}

/// A `module` block.
pub(super) struct Call<'a> {
    /// Its label.
    pub(super) name: String,
    /// The file that declares it.
    pub(super) file: &'a Path,
    /// The line the block starts on.
    pub(super) line: usize,
    /// Its arguments: the module's variables, `source`, `count`, `for_each`, ...
    pub(super) body: &'a Body,
}

/// What became of a module call.
pub(super) enum Followed {
    /// The nodes of its instances, none when `count` is 0 or `for_each` empty.
    Instances(Vec<(InstanceKey, usize)>),
    /// Not followed, and why (its source, a missing directory, a limit).
    Not(String),
}

/// One module instance.
pub(super) struct Node<'a> {
    /// `module.NAME[KEY].` from the root (each level), empty for the root module: what
    /// addresses, placeholders and `--param` keys in this module start with.
    pub(super) prefix: String,
    /// What names of its objects are qualified with (`NAME-KEY-...` of each level), empty for
    /// the root module.
    pub(super) qualifier: String,
    /// `path.module`.
    pub(super) dir: PathBuf,
    /// The directories `file()` may read from (canonical): the module's and the root's.
    pub(super) sandbox: Vec<PathBuf>,
    pub(super) variables: HashMap<String, Variable<'a>>,
    pub(super) locals: HashMap<String, &'a Expression>,
    pub(super) resources: Vec<Resource<'a>>,
    pub(super) data: Vec<Resource<'a>>,
    pub(super) outputs: HashMap<String, &'a Expression>,
    pub(super) calls: Vec<Call<'a>>,
    /// Per call (same order): what became of it; filled while the tree is built.
    pub(super) followed: Vec<Followed>,
    /// The call this node is an instance of: the parent node, the call's index there, and the
    /// instance.
    pub(super) parent: Option<(usize, usize, Instance)>,
    /// Canonical directories of this node and its ancestors (against modules calling
    /// themselves).
    pub(super) lineage: Vec<PathBuf>,
}

fn label(l: &BlockLabel) -> &str {
    match l {
        BlockLabel::Identifier(i) => i.as_str(),
        BlockLabel::String(s) => s,
    }
}

/// The first label of a block, as written.
pub(super) fn first_label(labels: &[BlockLabel]) -> &str {
    labels.first().map_or("?", label)
}

impl<'a> Node<'a> {
    /// A node of the given files, not yet attached to its calls' instances.
    pub(super) fn new(
        prefix: String,
        qualifier: String,
        dir: PathBuf,
        sandbox: Vec<PathBuf>,
        files: &[(&'a Path, &'a TfFile)],
    ) -> Self {
        let mut n = Node {
            prefix,
            qualifier,
            dir,
            sandbox,
            variables: HashMap::new(),
            locals: HashMap::new(),
            resources: Vec::new(),
            data: Vec::new(),
            outputs: HashMap::new(),
            calls: Vec::new(),
            followed: Vec::new(),
            parent: None,
            lineage: Vec::new(),
        };
        for (file, tf) in files {
            for (b, line) in &tf.blocks {
                let labels: Vec<&str> = b.labels.iter().map(label).collect();
                let flag = |key: &str| matches!(attr(&b.body, key), Some(Expression::Bool(true)));
                match (b.identifier.as_str(), labels.as_slice()) {
                    ("variable", [name]) => {
                        n.variables.insert(
                            (*name).to_owned(),
                            Variable {
                                default: attr(&b.body, "default"),
                                ty: attr(&b.body, "type"),
                                sensitive: flag("sensitive"),
                                not_nullable: matches!(
                                    attr(&b.body, "nullable"),
                                    Some(Expression::Bool(false))
                                ),
                            },
                        );
                    }
                    ("locals", []) => {
                        for a in b.body.attributes() {
                            n.locals.insert(a.key.to_string(), &a.expr);
                        }
                    }
                    ("output", [name]) => {
                        if let Some(value) = attr(&b.body, "value") {
                            n.outputs.insert((*name).to_owned(), value);
                        }
                    }
                    ("resource" | "data", [ty, name]) => {
                        let r = Resource {
                            file,
                            ty: (*ty).to_owned(),
                            name: (*name).to_owned(),
                            line: *line,
                            body: &b.body,
                        };
                        if b.identifier.as_str() == "resource" {
                            n.resources.push(r);
                        } else {
                            n.data.push(r);
                        }
                    }
                    ("module", [name]) => n.calls.push(Call {
                        name: (*name).to_owned(),
                        file,
                        line: *line,
                        body: &b.body,
                    }),
                    _ => {}
                }
            }
        }
        n
    }

    /// The resource `ty.name`.
    pub(super) fn resource(&self, ty: &str, name: &str) -> Option<&Resource<'a>> {
        self.resources.iter().find(|r| r.ty == ty && r.name == name)
    }

    /// The data source `ty.name`.
    pub(super) fn data_source(&self, ty: &str, name: &str) -> Option<&Resource<'a>> {
        self.data.iter().find(|r| r.ty == ty && r.name == name)
    }

    /// The index of the module call `name`.
    pub(super) fn call(&self, name: &str) -> Option<usize> {
        self.calls.iter().position(|c| c.name == name)
    }
}

/// A placeholder's gap: why its value is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gap {
    /// Why, with the `--param` that supplies it when one can.
    pub(super) why: String,
    /// What kind of gap.
    pub(super) kind: GapKind,
    /// The reasons of the gaps it comes from, for a value computed from unresolved ones (its
    /// own reason otherwise): what a message names, however long the chain.
    pub(super) roots: Vec<String>,
}

/// What kind of gap a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GapKind {
    /// Only Terraform knows the value (a data source, an attribute known after apply, a
    /// variable without value), or a limit was reached.
    Unknown,
    /// Terraform fails here too (no such attribute, element or instance; a function given
    /// values it does not take); `try` and `can` skip it.
    Error,
    /// The value of a sensitive variable: never written as a value.
    Sensitive,
}

/// Placeholder text → its gap.
pub(super) type Gaps = std::collections::BTreeMap<String, Gap>;

/// The modules of one conversion and the state of their evaluation.
pub(in crate::import) struct Tree<'a> {
    /// The module instances; the root module is the first.
    pub(super) nodes: Vec<Node<'a>>,
    /// `--param` values (and `.tfvars` values, as `var.NAME`).
    pub(super) options: &'a ConvertOptions,
    /// `path.root`.
    pub(super) root_dir: PathBuf,
    /// Evaluated references (variables, locals, outputs, resource attributes): their value
    /// and the gaps met evaluating them, so each is evaluated once.
    pub(super) memo: RefCell<HashMap<String, (Value, Gaps)>>,
    /// The instances of each block with `count` or `for_each`, or why they are not known.
    pub(super) instances: RefCell<HashMap<String, Result<Vec<Instance>, String>>>,
    /// The references being evaluated, innermost last (for cycles and the depth limit).
    pub(super) stack: RefCell<Vec<String>>,
    /// The reference cycles found, each as `a → b → a`.
    pub(super) cycles: RefCell<BTreeSet<String>>,
    /// Expressions evaluated so far (against [`super::limits::MAX_EVALUATION_STEPS`]).
    pub(super) steps: Cell<usize>,
}

impl<'a> Tree<'a> {
    /// The root module.
    pub(super) fn root(&self) -> &Node<'a> {
        &self.nodes[0]
    }
}
