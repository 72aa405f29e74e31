//! Terraform's built-in functions and operators on plain values: the function table
//! (`jsonencode`, `file`, `split`, `join`, `lower`, `upper`, `tostring`, `tonumber`, `tolist`,
//! `toset`, `concat`, `merge`), the binary operators, and Terraform's number and comparison
//! rules. To evaluate one more function, add it to [`call`].
//!
//! Works on JSON values only and depends on nothing of the importer but `text`; `evaluate`
//! calls it.

use std::path::Path;

use hcl::expr::BinaryOperator;
use serde_json::{Map, Value};

use crate::import::text;

/// The function `name` applied to known arguments, `dir` being the module's directory (for
/// `file`): its value, `None` when it is not one of these functions or the arguments do not
/// fit, or why it failed.
pub(super) fn call(name: &str, args: &[Value], dir: &Path) -> Result<Option<Value>, String> {
    Ok(match (name, args) {
        ("jsonencode", [v]) => Some(Value::String(v.to_string())),
        ("file", [Value::String(p)]) => {
            let path = dir.join(p);
            match std::fs::read_to_string(&path) {
                Ok(t) => Some(Value::String(t)),
                Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
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
    })
}

/// A number, whole numbers as integers.
pub(super) fn float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// A value as a number, as Terraform converts strings to numbers.
pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A binary operator on two known values; `None` when the operands do not fit it.
pub(super) fn binary(op: BinaryOperator, l: &Value, r: &Value) -> Option<Value> {
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
