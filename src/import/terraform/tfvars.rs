//! Terraform variable files for `--param-file`: `FILE.tfvars` (HCL assignments `NAME = VALUE`,
//! constant values only, as Terraform requires) and `FILE.tfvars.json` (one JSON object). Each
//! variable becomes the `--param` `var.NAME`; lists and maps are kept as JSON text, which the
//! evaluation reads back as lists and maps.
//!
//! Depends on `parse` (the nesting limit), `files` (the size limit) and `import`'s error type.

use std::collections::BTreeMap;
use std::path::Path;

use hcl::expr::TemplateExpr;
use hcl::template::{Element, Template};
use hcl::{Expression, ObjectKey, Structure};
use serde_json::{Map, Value};

use super::files::read_inside;
use super::limits::MAX_NESTING;
use crate::import::{ImportError, error, text};

/// Whether `path` names a Terraform variable file (`.tfvars` or `.tfvars.json`).
pub(in crate::import) fn is_tfvars(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".tfvars") || name.ends_with(".tfvars.json")
}

/// The variables of a `.tfvars` or `.tfvars.json` file, as `--param` pairs (`var.NAME` →
/// value; lists and maps as JSON).
pub(in crate::import) fn read(path: &Path) -> Result<BTreeMap<String, String>, ImportError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let root =
        std::fs::canonicalize(dir).map_err(|e| error(path, None, format!("cannot read: {e}")))?;
    let source = read_inside(path, &[root]).map_err(|why| error(path, None, why))?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let vars = if name.ends_with(".json") {
        match serde_json::from_str::<Value>(&source) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(error(
                    path,
                    None,
                    "a .tfvars.json file is one JSON object of variable values",
                ));
            }
            Err(e) => {
                return Err(error(
                    path,
                    None,
                    format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                ));
            }
        }
    } else {
        hcl_assignments(path, &source)?
    };
    Ok(vars
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Array(_) | Value::Object(_) => v.to_string(),
                other => text(&other),
            };
            (format!("var.{k}"), v)
        })
        .collect())
}

fn hcl_assignments(path: &Path, source: &str) -> Result<Map<String, Value>, ImportError> {
    let depth = source
        .bytes()
        .scan(0usize, |d, b| {
            match b {
                b'(' | b'[' | b'{' => *d += 1,
                b')' | b']' | b'}' => *d = d.saturating_sub(1),
                _ => {}
            }
            Some(*d)
        })
        .max()
        .unwrap_or(0);
    if depth > MAX_NESTING {
        return Err(error(
            path,
            None,
            format!(
                "brackets nested more than {MAX_NESTING} deep (the limit MAX_NESTING); not parsed"
            ),
        ));
    }
    let body: hcl::Body = hcl::edit::parser::parse_body(source)
        .map_err(|e| {
            error(
                path,
                None,
                format!(
                    "invalid HCL at line {} column {}: {}",
                    e.location().line(),
                    e.location().column(),
                    e.message()
                ),
            )
        })?
        .into();
    let mut out = Map::new();
    for s in body.into_iter() {
        match s {
            Structure::Attribute(a) => {
                let v = constant(&a.expr)
                    .map_err(|why| error(path, None, format!("{}: {why}", a.key.as_str())))?;
                out.insert(a.key.to_string(), v);
            }
            Structure::Block(b) => {
                return Err(error(
                    path,
                    None,
                    format!(
                        "{} block: a variable file holds only assignments NAME = VALUE",
                        b.identifier.as_str()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// A constant HCL value; references, functions and interpolations are refused, as Terraform
/// refuses them in variable files.
fn constant(e: &Expression) -> Result<Value, String> {
    Ok(match e {
        Expression::Null => Value::Null,
        Expression::Bool(b) => Value::Bool(*b),
        Expression::Number(n) => serde_json::to_value(n).map_err(|e| e.to_string())?,
        Expression::String(s) => Value::String(s.clone()),
        Expression::Array(items) => {
            Value::Array(items.iter().map(constant).collect::<Result<_, _>>()?)
        }
        Expression::Object(obj) => {
            let mut m = Map::new();
            for (k, v) in obj {
                let key = match k {
                    ObjectKey::Identifier(i) => i.to_string(),
                    ObjectKey::Expression(e) => match constant(e)? {
                        Value::String(s) => s,
                        other => text(&other),
                    },
                    other => other.to_string(),
                };
                m.insert(key, constant(v)?);
            }
            Value::Object(m)
        }
        Expression::Parenthesis(inner) => constant(inner)?,
        Expression::TemplateExpr(t) => {
            let t: &TemplateExpr = t;
            let template = Template::from_expr(t).map_err(|e| e.to_string())?;
            let mut s = String::new();
            for el in template.elements() {
                match el {
                    Element::Literal(l) => s.push_str(l),
                    _ => return Err("interpolations are not allowed in a variable file".into()),
                }
            }
            Value::String(s)
        }
        other => return Err(format!("{other} is not a constant value")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ecsplane-tfvars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn tfvars_assignments_become_var_params_with_lists_as_json() {
        let path = write(
            "prod.tfvars",
            "app = \"web\"\nport = 8080\nsubnets = [\"subnet-1\", \"subnet-2\"]\ntags = { team = \"a\" }\n",
        );
        let vars = read(&path).unwrap();
        assert_eq!(vars["var.app"], "web");
        assert_eq!(vars["var.port"], "8080");
        assert_eq!(vars["var.subnets"], r#"["subnet-1","subnet-2"]"#);
        assert_eq!(vars["var.tags"], r#"{"team":"a"}"#);
        let json = write("prod.tfvars.json", r#"{"app": "api", "count": 2}"#);
        let vars = read(&json).unwrap();
        assert_eq!(vars["var.app"], "api");
        assert_eq!(vars["var.count"], "2");
        assert!(is_tfvars(&json) && is_tfvars(&path));
    }

    #[test]
    fn references_and_blocks_in_a_variable_file_are_refused_naming_the_variable() {
        let path = write("bad.tfvars", "app = var.other\n");
        let err = read(&path).unwrap_err();
        assert!(err.message.starts_with("app: "), "{err}");
        let path = write("block.tfvars", "locals {\n  a = 1\n}\n");
        assert!(
            read(&path)
                .unwrap_err()
                .message
                .contains("only assignments")
        );
    }
}
