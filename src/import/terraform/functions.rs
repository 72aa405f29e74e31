//! Terraform's pure built-in functions and operators on plain values: the function table
//! ([`call`]: string, collection, number, encoding and type-conversion functions), the binary
//! operators, and Terraform's number and comparison rules. Functions that read files, catch
//! errors (`try`, `can`) or render templates need the module and live in `evaluate`. To
//! evaluate one more function, add it to [`call`].
//!
//! Every function whose result can be much larger than its arguments (`split`, `join`,
//! `replace`, `format`, `range`, ...) checks the size of its result against
//! [`MAX_VALUE_BYTES`] before building it.
//!
//! Works on JSON values only and depends on nothing of the importer but `text` and the limits;
//! `evaluate` calls it.

use base64::Engine;
use hcl::expr::BinaryOperator;
use serde_json::{Map, Value};

use super::limits::MAX_VALUE_BYTES;
use crate::import::text;

/// Why a function gives no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// Not one of the functions evaluated here (Terraform evaluates it).
    Unsupported,
    /// The arguments do not fit the function; Terraform fails too.
    Invalid(String),
    /// The result would exceed [`MAX_VALUE_BYTES`].
    TooBig,
}

/// Whether `name` may be applied to arguments that contain unknown values (placeholders)
/// without changing them: it only moves values around, never reads them.
pub(super) fn preserves_unknowns(name: &str) -> bool {
    matches!(
        name,
        "jsonencode"
            | "merge"
            | "concat"
            | "tolist"
            | "toset"
            | "tomap"
            | "flatten"
            | "values"
            | "one"
            | "nonsensitive"
            | "coalescelist"
            | "reverse"
            | "zipmap"
    )
}

/// The JSON size of a value (string bytes, plus a few bytes per item), stopping early once
/// it is above `limit`.
pub(super) fn size_above(v: &Value, limit: usize) -> bool {
    fn walk(v: &Value, budget: &mut isize) -> bool {
        *budget -= match v {
            Value::String(s) => s.len() as isize + 2,
            _ => 4,
        };
        if *budget < 0 {
            return true;
        }
        match v {
            Value::Array(a) => a.iter().any(|i| walk(i, budget)),
            Value::Object(m) => m.iter().any(|(k, i)| {
                *budget -= k.len() as isize + 3;
                *budget < 0 || walk(i, budget)
            }),
            _ => false,
        }
    }
    let mut budget = isize::try_from(limit).unwrap_or(isize::MAX);
    walk(v, &mut budget)
}

fn fits(bytes: usize) -> Result<(), Failure> {
    if bytes > MAX_VALUE_BYTES {
        Err(Failure::TooBig)
    } else {
        Ok(())
    }
}

fn invalid(name: &str) -> Failure {
    Failure::Invalid(format!("{name}: arguments of the wrong type or number"))
}

fn string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(text(v)),
        _ => None,
    }
}

fn whole(v: &Value) -> Option<i64> {
    let f = as_f64(v)?;
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// The function `name` applied to known arguments.
pub(super) fn call(name: &str, args: &[Value]) -> Result<Value, Failure> {
    let bad = || invalid(name);
    Ok(match (name, args) {
        ("jsonencode", [v]) => {
            let s = v.to_string();
            fits(s.len())?;
            Value::String(s)
        }
        ("jsondecode", [Value::String(s)]) => serde_json::from_str(s)
            .map_err(|e| Failure::Invalid(format!("jsondecode: not JSON: {e}")))?,
        ("base64encode", [Value::String(s)]) => {
            fits(s.len() / 3 * 4 + 4)?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(s))
        }
        ("split", [sep, s]) => {
            let (sep, s) = (string(sep).ok_or_else(bad)?, string(s).ok_or_else(bad)?);
            let pieces = if sep.is_empty() {
                s.chars().count() + 2
            } else {
                s.matches(sep.as_str()).count() + 1
            };
            fits(s.len() + 4 * pieces)?;
            Value::Array(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            )
        }
        ("join", [sep, Value::Array(items)]) => {
            let sep = string(sep).ok_or_else(bad)?;
            let parts: Option<Vec<String>> = items.iter().map(string).collect();
            let parts = parts.ok_or_else(bad)?;
            fits(parts.iter().map(String::len).sum::<usize>() + sep.len() * parts.len())?;
            Value::String(parts.join(&sep))
        }
        ("lower", [v]) => Value::String(string(v).ok_or_else(bad)?.to_lowercase()),
        ("upper", [v]) => Value::String(string(v).ok_or_else(bad)?.to_uppercase()),
        ("trimspace", [v]) => Value::String(string(v).ok_or_else(bad)?.trim().to_owned()),
        ("trim", [s, chars]) => {
            let (s, chars) = (string(s).ok_or_else(bad)?, string(chars).ok_or_else(bad)?);
            Value::String(s.trim_matches(|c| chars.contains(c)).to_owned())
        }
        ("trimprefix", [s, p]) => {
            let (s, p) = (string(s).ok_or_else(bad)?, string(p).ok_or_else(bad)?);
            Value::String(s.strip_prefix(p.as_str()).unwrap_or(&s).to_owned())
        }
        ("trimsuffix", [s, p]) => {
            let (s, p) = (string(s).ok_or_else(bad)?, string(p).ok_or_else(bad)?);
            Value::String(s.strip_suffix(p.as_str()).unwrap_or(&s).to_owned())
        }
        ("startswith", [s, p]) => Value::Bool(
            string(s)
                .ok_or_else(bad)?
                .starts_with(string(p).ok_or_else(bad)?.as_str()),
        ),
        ("endswith", [s, p]) => Value::Bool(
            string(s)
                .ok_or_else(bad)?
                .ends_with(string(p).ok_or_else(bad)?.as_str()),
        ),
        ("strcontains", [s, p]) => Value::Bool(
            string(s)
                .ok_or_else(bad)?
                .contains(string(p).ok_or_else(bad)?.as_str()),
        ),
        ("replace", [s, from, to]) => {
            let (s, from, to) = (
                string(s).ok_or_else(bad)?,
                string(from).ok_or_else(bad)?,
                string(to).ok_or_else(bad)?,
            );
            if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
                // A regular expression: Terraform's RE2 syntax is not evaluated here.
                return Err(Failure::Unsupported);
            }
            if from.is_empty() {
                return Err(Failure::Invalid("replace: an empty substring".into()));
            }
            let hits = s.matches(from.as_str()).count();
            fits(s.len() + hits * to.len())?;
            Value::String(s.replace(from.as_str(), &to))
        }
        ("substr", [s, offset, length]) => {
            let s = string(s).ok_or_else(bad)?;
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len() as i64;
            let offset = whole(offset).ok_or_else(bad)?;
            let length = whole(length).ok_or_else(bad)?;
            let start = if offset < 0 { n + offset } else { offset }.clamp(0, n);
            let end = if length < 0 {
                n
            } else {
                (start + length).min(n)
            };
            Value::String(
                chars[start as usize..end.max(start) as usize]
                    .iter()
                    .collect(),
            )
        }
        ("format", [fmt, rest @ ..]) => format(&string(fmt).ok_or_else(bad)?, rest)?,
        ("tostring", [v]) => match v {
            Value::Null => Value::Null,
            v => Value::String(string(v).ok_or_else(bad)?),
        },
        ("tonumber", [v]) => match v {
            Value::Null => Value::Null,
            v => as_f64(v)
                .map(float)
                .ok_or_else(|| Failure::Invalid(format!("tonumber: {v} is not a number")))?,
        },
        ("tobool", [v]) => match v {
            Value::Bool(_) | Value::Null => v.clone(),
            Value::String(s) if s == "true" || s == "false" => Value::Bool(s == "true"),
            _ => return Err(bad()),
        },
        ("tolist", [Value::Array(a)]) => Value::Array(a.clone()),
        ("toset", [Value::Array(a)]) => Value::Array(distinct(a)),
        ("tomap", [Value::Object(m)]) => Value::Object(m.clone()),
        ("concat", lists) if lists.iter().all(Value::is_array) => {
            Value::Array(lists.iter().flat_map(items).collect())
        }
        ("merge", maps) if maps.iter().all(|m| m.is_object() || m.is_null()) => {
            let mut out = Map::new();
            for m in maps {
                if let Value::Object(m) = m {
                    out.extend(m.clone());
                }
            }
            Value::Object(out)
        }
        ("length", [v]) => Value::from(match v {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            _ => return Err(bad()),
        }),
        ("element", [Value::Array(a), i]) => {
            let i = whole(i).ok_or_else(bad)?;
            if a.is_empty() {
                return Err(Failure::Invalid("element: an empty list".into()));
            }
            a[i.rem_euclid(a.len() as i64) as usize].clone()
        }
        ("lookup", [Value::Object(m), key, rest @ ..]) if rest.len() <= 1 => {
            let key = string(key).ok_or_else(bad)?;
            match (m.get(&key), rest.first()) {
                (Some(v), _) => v.clone(),
                (None, Some(default)) => default.clone(),
                (None, None) => {
                    return Err(Failure::Invalid(format!("lookup: no key {key:?}")));
                }
            }
        }
        ("keys", [Value::Object(m)]) => {
            Value::Array(m.keys().map(|k| Value::String(k.clone())).collect())
        }
        ("values", [Value::Object(m)]) => Value::Array(m.values().cloned().collect()),
        ("contains", [Value::Array(a), v]) => Value::Bool(a.iter().any(|i| loosely_equal(i, v))),
        ("flatten", [Value::Array(a)]) => {
            let mut out = Vec::new();
            flatten(a, &mut out);
            Value::Array(out)
        }
        ("distinct", [Value::Array(a)]) => Value::Array(distinct(a)),
        ("compact", [Value::Array(a)]) => Value::Array(
            a.iter()
                .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
                .cloned()
                .collect(),
        ),
        ("reverse", [Value::Array(a)]) => Value::Array(a.iter().rev().cloned().collect()),
        ("sort", [Value::Array(a)]) => {
            let mut s: Vec<String> = a
                .iter()
                .map(string)
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            s.sort();
            Value::Array(s.into_iter().map(Value::String).collect())
        }
        ("coalesce", args) => args
            .iter()
            .find(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .ok_or_else(|| Failure::Invalid("coalesce: no non-null, non-empty argument".into()))?,
        ("coalescelist", lists) if lists.iter().all(|l| l.is_array() || l.is_null()) => lists
            .iter()
            .find(|l| l.as_array().is_some_and(|a| !a.is_empty()))
            .cloned()
            .ok_or_else(|| Failure::Invalid("coalescelist: no non-empty list".into()))?,
        ("one", [Value::Array(a)]) => match a.as_slice() {
            [] => Value::Null,
            [v] => v.clone(),
            _ => return Err(Failure::Invalid("one: more than one element".into())),
        },
        ("zipmap", [Value::Array(k), Value::Array(v)]) if k.len() == v.len() => {
            let mut out = Map::new();
            for (k, v) in k.iter().zip(v) {
                out.insert(string(k).ok_or_else(bad)?, v.clone());
            }
            Value::Object(out)
        }
        ("max" | "min", nums) if !nums.is_empty() => {
            let nums: Vec<f64> = nums
                .iter()
                .map(as_f64)
                .collect::<Option<_>>()
                .ok_or_else(bad)?;
            let pick = if name == "max" { f64::max } else { f64::min };
            float(nums.iter().copied().fold(nums[0], pick))
        }
        ("abs", [n]) => float(as_f64(n).ok_or_else(bad)?.abs()),
        ("ceil", [n]) => float(as_f64(n).ok_or_else(bad)?.ceil()),
        ("floor", [n]) => float(as_f64(n).ok_or_else(bad)?.floor()),
        ("range", bounds) if (1..=3).contains(&bounds.len()) => range(bounds)?,
        ("basename", [p]) => {
            let p = string(p).ok_or_else(bad)?;
            Value::String(p.rsplit('/').next().unwrap_or_default().to_owned())
        }
        ("dirname", [p]) => {
            let p = string(p).ok_or_else(bad)?;
            Value::String(p.rsplit_once('/').map_or(".", |(d, _)| d).to_owned())
        }
        ("nonsensitive", [v]) => v.clone(),
        _ => return Err(Failure::Unsupported),
    })
}

fn items(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn flatten(a: &[Value], out: &mut Vec<Value>) {
    for v in a {
        match v {
            Value::Array(inner) => flatten(inner, out),
            other => out.push(other.clone()),
        }
    }
}

fn distinct(a: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in a {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn range(bounds: &[Value]) -> Result<Value, Failure> {
    let n: Vec<f64> = bounds
        .iter()
        .map(as_f64)
        .collect::<Option<_>>()
        .ok_or_else(|| invalid("range"))?;
    let (start, end, step) = match n.as_slice() {
        [end] => (0.0, *end, 1.0),
        [start, end] => (*start, *end, if start <= end { 1.0 } else { -1.0 }),
        [start, end, step] => (*start, *end, *step),
        _ => return Err(invalid("range")),
    };
    if step == 0.0 || (end - start) * step < 0.0 && end != start {
        return Err(Failure::Invalid(
            "range: a step that never reaches the end".into(),
        ));
    }
    let count = ((end - start) / step).ceil().max(0.0);
    if count * 4.0 > MAX_VALUE_BYTES as f64 {
        return Err(Failure::TooBig);
    }
    Ok(Value::Array(
        (0..count as usize)
            .map(|i| float(start + step * i as f64))
            .collect(),
    ))
}

/// Terraform's `format` for the verbs configurations use: `%s`, `%d`, `%v`, `%q`, `%%`.
fn format(fmt: &str, args: &[Value]) -> Result<Value, Failure> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let verb = chars.next();
        if verb == Some('%') {
            out.push('%');
            continue;
        }
        let arg = args
            .next()
            .ok_or_else(|| Failure::Invalid("format: too few arguments".into()))?;
        match verb {
            Some('s' | 'v') => out.push_str(&text(arg)),
            Some('d') => out.push_str(&whole(arg).ok_or_else(|| invalid("format"))?.to_string()),
            Some('q') => out.push_str(&Value::String(text(arg)).to_string()),
            _ => return Err(Failure::Unsupported),
        }
        fits(out.len())?;
    }
    Ok(Value::String(out))
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
        B::And => Value::Bool(as_bool(l)? && as_bool(r)?),
        B::Or => Value::Bool(as_bool(l)? || as_bool(r)?),
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

/// A value as a boolean, as Terraform converts `"true"` and `"false"`.
pub(super) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
        _ => None,
    }
}

/// Terraform converts between strings, numbers and booleans when comparing variables.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    a == b
        || (!a.is_object() && !a.is_array() && !a.is_null() && !b.is_null() && text(a) == text(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn functions_configurations_use_give_terraforms_results() {
        let call = |name: &str, args: Value| call(name, args.as_array().unwrap());
        assert_eq!(call("coalesce", json!([null, "", "web"])), Ok(json!("web")));
        assert_eq!(call("lookup", json!([{"a": 1}, "b", 2])), Ok(json!(2)));
        assert_eq!(call("element", json!([["a", "b"], 3])), Ok(json!("b")));
        assert_eq!(
            call("format", json!(["%s-%d", "web", 3])),
            Ok(json!("web-3"))
        );
        assert_eq!(call("max", json!([1, "7", 3])), Ok(json!(7)));
        assert_eq!(
            call("flatten", json!([[[1, [2]], 3]])),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(call("substr", json!(["hello", 1, 3])), Ok(json!("ell")));
        assert_eq!(call("one", json!([[]])), Ok(Value::Null));
        assert_eq!(call("range", json!([3])), Ok(json!([0, 1, 2])));
        assert_eq!(call("uuid", json!([])), Err(Failure::Unsupported));
        assert!(matches!(
            call("lookup", json!([{}, "x"])),
            Err(Failure::Invalid(_))
        ));
    }

    #[test]
    fn functions_that_would_build_huge_values_refuse_before_building_them() {
        let big = "x".repeat(MAX_VALUE_BYTES / 2);
        let call = |name: &str, args: Value| call(name, args.as_array().unwrap());
        assert_eq!(call("split", json!(["", big])), Err(Failure::TooBig));
        assert_eq!(
            call("replace", json!([big, "x", "yy"])),
            Err(Failure::TooBig)
        );
        assert_eq!(call("range", json!([1e12])), Err(Failure::TooBig));
        assert_eq!(
            call("join", json!(["", [big, big, big]])),
            Err(Failure::TooBig)
        );
        assert!(size_above(&json!([big, big, big]), MAX_VALUE_BYTES));
        assert!(!size_above(&json!([big]), MAX_VALUE_BYTES));
    }
}
