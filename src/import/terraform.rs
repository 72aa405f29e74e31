//! Terraform: `aws_ecs_task_definition` resources. A focused reader, not an HCL
//! implementation: it takes `container_definitions` as JSON (a heredoc or `file("...")`) and
//! the surrounding arguments that are plain values, fills `${var.x}` from the variables'
//! defaults (or `--param`), and reports everything else (`jsonencode(...)`, references to other
//! resources) with its location.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::schema::{rename_keys, spec_schema};
use super::{Collected, ConvertOptions, Draft, ImportError, Kind, Location, NoteKind, error};

/// Top-level arguments of `aws_ecs_task_definition` carried into the spec.
const ARGUMENTS: &[(&str, &str)] = &[
    ("family", "family"),
    ("cpu", "cpu"),
    ("memory", "memory"),
    ("network_mode", "networkMode"),
    ("requires_compatibilities", "requiresCompatibilities"),
    ("execution_role_arn", "executionRoleArn"),
    ("task_role_arn", "taskRoleArn"),
    ("pid_mode", "pidMode"),
    ("ipc_mode", "ipcMode"),
];

/// One `block_type "label" "label" { ... }` at the top level, or nested.
#[derive(Debug)]
struct Block {
    kind: String,
    labels: Vec<String>,
    body: String,
    line: usize,
}

/// An argument value as written.
#[derive(Debug, Clone)]
enum Expr {
    /// A quoted string (may contain `${...}`) or heredoc.
    Str(String),
    /// A number, `true`/`false`.
    Literal(Value),
    /// A list of expressions.
    List(Vec<Expr>),
    /// Anything else (a reference, a function call), as written.
    Other(String),
}

pub(super) fn convert(
    file: &Path,
    text: &str,
    options: &ConvertOptions,
    out: &mut Collected,
) -> Result<(), ImportError> {
    let blocks =
        blocks(text).map_err(|(line, m)| error(file, None, format!("line {line}: {m}")))?;
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    for b in blocks.iter().filter(|b| b.kind == "variable") {
        let Some(name) = b.labels.first() else {
            continue;
        };
        let attrs = attributes(&b.body);
        if let Some(Expr::Str(s)) = attrs.get("default") {
            vars.insert(name.clone(), Value::String(s.clone()));
        } else if let Some(Expr::Literal(v)) = attrs.get("default") {
            vars.insert(name.clone(), v.clone());
        }
    }
    for (k, v) in &options.params {
        let name = k.strip_prefix("var.").unwrap_or(k);
        vars.insert(name.to_owned(), Value::String(v.clone()));
    }
    for b in blocks.iter().filter(|b| b.kind == "resource") {
        let ty = b.labels.first().cloned().unwrap_or_default();
        let name = b.labels.get(1).cloned().unwrap_or_default();
        let resource = format!("{ty}.{name} (line {})", b.line);
        if ty != "aws_ecs_task_definition" {
            *out.skipped.entry(ty.clone()).or_default() += 1;
            out.note(
                NoteKind::Skipped,
                file,
                Some(&resource),
                None,
                format!("{ty} is not converted from Terraform"),
            );
            continue;
        }
        task_definition(file, &resource, b, &vars, options, out);
    }
    Ok(())
}

fn task_definition(
    file: &Path,
    resource: &str,
    b: &Block,
    vars: &BTreeMap<String, Value>,
    options: &ConvertOptions,
    out: &mut Collected,
) {
    let attrs = attributes(&b.body);
    let mut unresolved = Vec::new();
    let mut spec = Map::new();
    let containers = match attrs.get("container_definitions") {
        Some(Expr::Str(s)) => Some(s.clone()),
        Some(Expr::Other(o)) if o.starts_with("file(") => {
            let rel = o
                .trim_start_matches("file(")
                .trim_end_matches(')')
                .trim()
                .trim_matches('"');
            let rel = rel.replace("${path.module}/", "");
            let path = file.parent().unwrap_or(Path::new(".")).join(&rel);
            match std::fs::read_to_string(&path) {
                Ok(t) => Some(t),
                Err(e) => {
                    out.note(
                        NoteKind::NotConverted,
                        file,
                        Some(resource),
                        Some("container_definitions"),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    return;
                }
            }
        }
        Some(Expr::Other(o)) => {
            out.note(
                NoteKind::NotConverted,
                file,
                Some(resource),
                Some("container_definitions"),
                format!(
                    "{} is HCL evaluated by Terraform; write the JSON as a heredoc, or run `terraform show -json` / `aws ecs describe-task-definition` and convert that",
                    o.split('(').next().unwrap_or(o)
                ),
            );
            return;
        }
        _ => {
            out.note(
                NoteKind::NotConverted,
                file,
                Some(resource),
                None,
                "no container_definitions",
            );
            return;
        }
    };
    let json = interpolate_json(&containers.unwrap_or_default(), vars);
    let defs: Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => {
            out.note(
                NoteKind::NotConverted,
                file,
                Some(resource),
                Some("container_definitions"),
                format!("not valid JSON after interpolation: {e}"),
            );
            return;
        }
    };
    spec.insert("containerDefinitions".into(), defs);
    for (tf, api) in ARGUMENTS {
        let Some(e) = attrs.get(*tf) else { continue };
        match eval(e, vars) {
            Ok(v) => {
                spec.insert((*api).to_owned(), v);
            }
            Err(what) => unresolved.push((
                (*api).to_owned(),
                format!("{tf} = {what} is only known to Terraform; pass --param {what}=VALUE"),
            )),
        }
    }
    for vb in blocks(&b.body)
        .unwrap_or_default()
        .iter()
        .filter(|v| v.kind == "volume")
    {
        let va = attributes(&vb.body);
        let mut vol = Map::new();
        if let Some(Ok(n)) = va.get("name").map(|e| eval(e, vars)) {
            vol.insert("name".into(), n);
        }
        if let Some(Ok(p)) = va.get("host_path").map(|e| eval(e, vars)) {
            vol.insert("host".into(), serde_json::json!({ "sourcePath": p }));
        }
        if !blocks(&vb.body).unwrap_or_default().is_empty() {
            out.note(
                NoteKind::Dropped,
                file,
                Some(resource),
                Some("volume"),
                "nested volume configuration blocks (docker, EFS, FSx) are not read from Terraform; add them to the output by hand",
            );
        }
        spec.entry("volumes")
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("a list")
            .push(Value::Object(vol));
    }
    let mut spec = Value::Object(spec);
    // Interpolations left in the JSON.
    find_interpolations(&spec, "", &mut unresolved);
    let mut changes = Vec::new();
    rename_keys(
        &mut spec,
        spec_schema(Kind::TaskDefinition),
        "",
        &mut changes,
    );
    for ch in changes {
        out.note(
            NoteKind::Dropped,
            file,
            Some(resource),
            Some(&ch.path),
            ch.message,
        );
    }
    let name = spec
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or(b.labels.get(1).map_or("task", String::as_str))
        .to_owned();
    let _ = options;
    out.drafts.push(Draft {
        kind: Kind::TaskDefinition,
        aws_name: name,
        spec,
        source: Location {
            file: file.to_owned(),
            resource: Some(resource.to_owned()),
            path: None,
        },
        unresolved,
        keys: Vec::new(),
    });
}

fn eval(e: &Expr, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
    match e {
        Expr::Str(s) => {
            let out = interpolate(s, vars);
            Ok(Value::String(out))
        }
        Expr::Literal(v) => Ok(v.clone()),
        Expr::List(items) => items
            .iter()
            .map(|i| eval(i, vars))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Expr::Other(o) => match o
            .strip_prefix("var.")
            .and_then(|v| vars.get(v))
            .or_else(|| vars.get(o))
        {
            Some(v) => Ok(v.clone()),
            None => Err(o.clone()),
        },
    }
}

/// `${var.x}` replaced by known variables inside a string; others are kept.
fn interpolate(s: &str, vars: &BTreeMap<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = after[..end].trim();
        match expr.strip_prefix("var.").and_then(|v| vars.get(v)) {
            Some(Value::String(v)) => out.push_str(v),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Interpolates a JSON heredoc: inside JSON strings as text; outside strings (an unquoted
/// `${var.port}` standing for a number) by the value, or by the quoted expression when unknown,
/// so the JSON stays valid and the gap is reported.
fn interpolate_json(s: &str, vars: &BTreeMap<String, Value>) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        let c = b[i];
        if !in_string
            && s[i..].starts_with("${")
            && let Some(end) = s[i..].find('}')
        {
            let expr = s[i + 2..i + end].trim();
            match expr.strip_prefix("var.").and_then(|v| vars.get(v)) {
                Some(Value::String(v)) if v.parse::<f64>().is_ok() => out.push_str(v),
                Some(Value::String(v)) => out.push_str(&Value::String(v.clone()).to_string()),
                Some(v) => out.push_str(&v.to_string()),
                None => out.push_str(&Value::String(s[i..i + end + 1].to_owned()).to_string()),
            }
            i += end + 1;
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        }
        let ch = s[i..].chars().next().expect("in bounds");
        if in_string && ch == '$' && s[i..].starts_with("${") {
            // Inside a JSON string: substitute text.
            if let Some(end) = s[i..].find('}') {
                out.push_str(&interpolate(&s[i..i + end + 1], vars).replace('"', "\\\""));
                i += end + 1;
                continue;
            }
        }
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn find_interpolations(v: &Value, path: &str, u: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => {
            if let Some(start) = s.find("${") {
                let end = s[start..].find('}').map_or(s.len(), |e| start + e + 1);
                let expr = &s[start..end];
                let key = expr.trim_start_matches("${").trim_end_matches('}').trim();
                u.push((
                    path.to_owned(),
                    format!("Terraform interpolation {expr} is only known to Terraform; pass --param {key}=VALUE"),
                ));
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                find_interpolations(v, &p, u);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                find_interpolations(v, &format!("{path}[{i}]"), u);
            }
        }
        _ => {}
    }
}

/// Top-level blocks of `text`, skipping comments, strings and heredocs.
fn blocks(text: &str) -> Result<Vec<Block>, (usize, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut in_comment = false;
    while i < lines.len() {
        let line = lines[i].trim();
        if in_comment {
            if line.contains("*/") {
                in_comment = false;
            }
            i += 1;
            continue;
        }
        if line.starts_with("/*") {
            in_comment = !line.contains("*/");
            i += 1;
            continue;
        }
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with("//")
            || !line.ends_with('{')
            || line.contains('=')
        {
            i += 1;
            continue;
        }
        let head = line.trim_end_matches('{').trim();
        let mut parts = head.split_whitespace();
        let kind = parts.next().unwrap_or_default().to_owned();
        let labels: Vec<String> = parts.map(|p| p.trim_matches('"').to_owned()).collect();
        // Find the matching close brace.
        let start = i;
        let mut depth = 1;
        let mut body = Vec::new();
        let mut heredoc: Option<String> = None;
        i += 1;
        while i < lines.len() {
            let l = lines[i];
            if let Some(tag) = &heredoc {
                if l.trim() == tag {
                    heredoc = None;
                }
                body.push(l);
                i += 1;
                continue;
            }
            if let Some(pos) = l.find("<<") {
                let tag = l[pos + 2..].trim_start_matches('-').trim();
                if !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    heredoc = Some(tag.to_owned());
                    body.push(l);
                    i += 1;
                    continue;
                }
            }
            let code = strip_strings(l);
            depth += code.matches('{').count() as i32;
            depth -= code.matches('}').count() as i32;
            if depth <= 0 {
                break;
            }
            body.push(l);
            i += 1;
        }
        if depth > 0 {
            return Err((start + 1, format!("block {kind} is not closed")));
        }
        out.push(Block {
            kind,
            labels,
            body: body.join("\n"),
            line: start + 1,
        });
        i += 1;
    }
    Ok(out)
}

/// A line without its string literals and comments, for brace counting.
fn strip_strings(l: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut esc = false;
    for c in l.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
            continue;
        }
        if c == '#' {
            break;
        }
        out.push(c);
    }
    out
}

/// Top-level `name = value` arguments of a block body (nested blocks skipped).
fn attributes(body: &str) -> BTreeMap<String, Expr> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = body.lines().collect();
    let mut i = 0;
    let mut depth = 0i32;
    while i < lines.len() {
        let l = lines[i];
        let t = l.trim();
        if depth == 0
            && let Some((k, v)) = t.split_once('=')
            && !k.trim().is_empty()
            && k.trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            let key = k.trim().to_owned();
            let v = v.trim();
            if let Some(tag) = v.strip_prefix("<<") {
                let indent = tag.starts_with('-');
                let tag = tag.trim_start_matches('-').trim();
                let mut text = Vec::new();
                i += 1;
                while i < lines.len() && lines[i].trim() != tag {
                    text.push(lines[i]);
                    i += 1;
                }
                let mut s = text.join("\n");
                if indent {
                    s = text
                        .iter()
                        .map(|l| l.trim_start())
                        .collect::<Vec<_>>()
                        .join("\n");
                }
                out.insert(key, Expr::Str(s));
                i += 1;
                continue;
            }
            out.insert(key, expr(v));
            i += 1;
            continue;
        }
        let code = strip_strings(l);
        depth += code.matches('{').count() as i32;
        depth -= code.matches('}').count() as i32;
        i += 1;
    }
    out
}

fn expr(v: &str) -> Expr {
    let v = v.split(" #").next().unwrap_or(v).trim();
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Expr::Str(inner.replace("\\\"", "\""));
    }
    if let Some(inner) = v.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return Expr::List(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(expr)
                .collect(),
        );
    }
    if v == "true" || v == "false" {
        return Expr::Literal(Value::Bool(v == "true"));
    }
    if let Ok(n) = v.parse::<i64>() {
        return Expr::Literal(Value::from(n));
    }
    Expr::Other(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_container_definitions_fill_variables_and_keep_json_valid_when_unknown() {
        let vars = BTreeMap::from([("name".to_owned(), Value::from("app"))]);
        let json = interpolate_json(
            r#"[{"name": "${var.name}", "portMappings": [{"containerPort": ${var.port}}]}]"#,
            &vars,
        );
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["name"], "app");
        assert_eq!(v[0]["portMappings"][0]["containerPort"], "${var.port}");
    }

    #[test]
    fn blocks_and_plain_arguments_are_read_around_heredocs() {
        let text = "variable \"x\" {\n  default = \"1\"\n}\n\nresource \"aws_ecs_task_definition\" \"t\" {\n  family = \"web\"\n  requires_compatibilities = [\"FARGATE\"]\n  container_definitions = <<EOF\n[{\"name\": \"a\", \"image\": \"b\"}]\nEOF\n  task_role_arn = aws_iam_role.r.arn\n}\n";
        let bs = blocks(text).unwrap();
        assert_eq!(bs.len(), 2);
        let attrs = attributes(&bs[1].body);
        assert!(matches!(attrs.get("family"), Some(Expr::Str(s)) if s == "web"));
        assert!(
            matches!(attrs.get("container_definitions"), Some(Expr::Str(s)) if s.contains("image"))
        );
        assert!(
            matches!(attrs.get("task_role_arn"), Some(Expr::Other(o)) if o == "aws_iam_role.r.arn")
        );
        assert!(
            matches!(attrs.get("requires_compatibilities"), Some(Expr::List(l)) if l.len() == 1)
        );
    }
}
