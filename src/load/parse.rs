//! Parsing one file's text into documents: JSON (one value or a stream) or multi-document
//! YAML.
//!
//! Budgets are set against amplification, not against size: a file already read is parsed
//! whatever its length, number of documents or nodes (one file of 10,000 services is
//! legitimate), but YAML aliases may not expand it by more than [`ALIAS_EXPANSION_RATIO`]
//! events per byte of the file (plus [`ALIAS_EXPANSION_BASE`]), and nesting stops at
//! [`MAX_DEPTH`]. Reaching one is reported as that limit, not as invalid YAML. The limits
//! on reading (regular files only, link loops, directory depth) are in [`super::walk`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::translate::bundle::{Error, ErrorKind, Origin};

/// The deepest nesting of sequences and mappings read, in YAML and JSON alike (serde_json's
/// own recursion limit is the same).
pub const MAX_DEPTH: usize = 128;

/// Events YAML aliases may replay whatever the size of the file: enough for every legitimate
/// use of anchors (`<<: *defaults` in each of thousands of services).
pub const ALIAS_EXPANSION_BASE: usize = 100_000;

/// Events YAML aliases may replay per byte of the file, beyond [`ALIAS_EXPANSION_BASE`]: a
/// "billion laughs" (a few hundred bytes that expand to gigabytes) is refused as this limit.
pub const ALIAS_EXPANSION_RATIO: usize = 10;

/// One parsed document before recognition.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The file it was read from.
    pub file: PathBuf,
    /// 1-based position of the document in the file (YAML streams skip empty documents).
    pub position: usize,
    /// The parsed value.
    pub value: Value,
}

/// A problem with the whole file (object and field `(file)`, named once).
pub(crate) fn file_error(file: &Path, kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(&Origin::file(file, 0), "(file)", "(file)", kind, message)
}

/// Parses one file's text: JSON (one value or a stream of values) when the name ends in
/// `.json` or the text starts with `{`/`[`, otherwise multi-document YAML.
pub fn parse(file: &Path, text: &str) -> Result<Vec<Document>, Error> {
    let trimmed = text.trim_start();
    let is_json = file.extension().and_then(|e| e.to_str()) == Some("json")
        || trimmed.starts_with('{')
        || trimmed.starts_with('[');
    let values: Vec<Value> = if is_json {
        parse_json(text).map_err(|e| file_error(file, ErrorKind::Syntax, e))?
    } else {
        serde_saphyr::from_multiple_with_options::<Value>(text, yaml_options(text.len()))
            .map_err(|e| yaml_error(file, text, &e))?
    };
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            file: file.to_owned(),
            position: i + 1,
            value,
        })
        .collect())
}

/// serde-saphyr's options for a file of `bytes`: no budget on the size of the input (it is
/// read already), the alias budget of [`ALIAS_EXPANSION_RATIO`], nesting to [`MAX_DEPTH`],
/// duplicate keys refused, and errors without serde-saphyr's snippet ([`yaml_error`] writes
/// one at the same position as the message).
fn yaml_options(bytes: usize) -> serde_saphyr::Options {
    let replayed = ALIAS_EXPANSION_BASE.saturating_add(ALIAS_EXPANSION_RATIO.saturating_mul(bytes));
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = usize::MAX;
    budget.max_nodes = usize::MAX;
    budget.max_documents = usize::MAX;
    budget.max_total_scalar_bytes = usize::MAX;
    budget.max_total_comment_bytes = usize::MAX;
    budget.max_aliases = usize::MAX;
    budget.max_anchors = usize::MAX;
    budget.max_merge_keys = usize::MAX;
    budget.enforce_alias_anchor_ratio = false;
    budget.max_recorded_anchor_events = budget.max_recorded_anchor_events.max(replayed);
    budget.max_recorded_anchor_bytes = budget
        .max_recorded_anchor_bytes
        .max(bytes.saturating_mul(ALIAS_EXPANSION_RATIO));
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = replayed;
    options.alias_limits.max_alias_expansions_per_anchor = usize::MAX;
    options.with_snippet = false;
    options
}

/// The error of a YAML file: a limit reached ([`ErrorKind::Syntax`] with a message naming
/// the limit) or invalid YAML, with the line and column and a pointer at that same place.
fn yaml_error(file: &Path, text: &str, e: &serde_saphyr::Error) -> Error {
    let bare = e.without_snippet().to_string();
    let bare = bare.strip_prefix("error: ").unwrap_or(&bare);
    // serde-saphyr writes "line L column C: message"; the pointer is ours, at that place.
    let message = bare
        .split_once(": ")
        .filter(|(at, _)| at.starts_with("line "))
        .map_or(bare, |(_, m)| m);
    let at = e.location().map(|l| (l.line(), l.column()));
    if let Some(limit) = limit_reached(message) {
        return file_error(file, ErrorKind::Syntax, limit);
    }
    let mut out = String::from("not valid YAML: ");
    if let Some((line, column)) = at {
        out.push_str(&format!("line {line} column {column}: {message}"));
        out.push_str(&pointer(text, line, column));
    } else {
        out.push_str(message);
    }
    file_error(file, ErrorKind::Syntax, out)
}

/// The limit a serde-saphyr message names, as ours.
fn limit_reached(message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    if lower.contains("budget breached") && lower.contains("depth") || lower.contains("recursion") {
        return Some(format!(
            "limit MAX_DEPTH reached: the file nests sequences and mappings deeper than {MAX_DEPTH} levels ({message})"
        ));
    }
    if lower.contains("budget breached") || lower.contains("alias") && lower.contains("limit") {
        return Some(format!(
            "limit ALIAS_EXPANSION_RATIO reached: YAML aliases expand the file by more than {ALIAS_EXPANSION_BASE} + {ALIAS_EXPANSION_RATIO} events per byte of it; the file amplifies itself (a \"billion laughs\") ({message})"
        ));
    }
    None
}

/// Two lines of context and a caret under `column` of `line` (both 1-based), as the message
/// names them.
fn pointer(text: &str, line: u64, column: u64) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(index) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else {
        return String::new();
    };
    let width = (index + 1).to_string().len();
    let mut out = String::new();
    for (i, l) in lines
        .iter()
        .enumerate()
        .take(index + 1)
        .skip(index.saturating_sub(2))
    {
        out.push_str(&format!("\n{:>width$} | {l}", i + 1));
    }
    if index >= lines.len() {
        out.push_str(&format!("\n{:>width$} | ", index + 1));
    }
    let pad = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    out.push_str(&format!("\n{:>width$} | {}^", "", " ".repeat(pad)));
    out
}

/// JSON text as one value or a stream of values; a key twice in one object is refused (as
/// YAML's duplicate keys are), and nesting stops at serde_json's limit, [`MAX_DEPTH`].
fn parse_json(text: &str) -> Result<Vec<Value>, String> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Strict>()
        .map(|r| r.map(|s| s.0))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            let m = e.to_string();
            if m.contains("recursion limit") {
                format!("limit MAX_DEPTH reached: the file nests arrays and objects deeper than {MAX_DEPTH} levels ({m})")
            } else {
                format!("not valid JSON: {m}")
            }
        })
}

/// A JSON value that refuses a key twice in one object.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?} in one object"
                )));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(file: &str, text: &str) -> String {
        parse(Path::new(file), text).unwrap_err().to_string()
    }

    #[test]
    fn a_duplicate_json_key_is_refused_naming_it() {
        let m = message("td.json", r#"{"family": "a", "family": "b"}"#);
        assert!(m.contains("duplicate key \"family\""), "{m}");
    }

    #[test]
    fn a_yaml_error_points_where_its_message_says() {
        let m = message("x.yaml", "x: \"abc\n");
        let (at, _) = m.split_once('\n').unwrap();
        let line_col = at.split("line ").nth(1).unwrap();
        let (line, rest) = line_col.split_once(" column ").unwrap();
        let column: usize = rest.split(':').next().unwrap().parse().unwrap();
        let caret = m.lines().last().unwrap();
        assert_eq!(
            caret.find('^').unwrap() - caret.find('|').unwrap() - 2,
            column - 1,
            "{m}"
        );
        assert!(m.contains(&format!("\n{line} | ")), "{m}");
    }

    #[test]
    fn a_billion_laughs_is_refused_as_the_alias_limit() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            text.push_str(&format!(
                "{}: &{} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
                (b'a' + i) as char,
                (b'a' + i) as char,
                p = (b'a' + i - 1) as char
            ));
        }
        let m = message("lol.yaml", &text);
        assert!(m.contains("limit ALIAS_EXPANSION_RATIO reached"), "{m}");
        assert!(!m.contains("not valid YAML"), "{m}");
    }

    #[test]
    fn nesting_beyond_the_depth_limit_is_refused_as_that_limit() {
        // The main thread's stack, not a test thread's smaller one.
        std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(|| {
                let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
                let m = message("deep.yaml", &format!("a: {deep}\n"));
                assert!(m.contains("limit MAX_DEPTH reached"), "{m}");
                let m = message("deep.json", &deep);
                assert!(m.contains("limit MAX_DEPTH reached"), "{m}");
            })
            .unwrap()
            .join()
            .unwrap();
    }

    /// 2,000 documents and 250,001 nodes are size, not amplification: they parse.
    #[test]
    fn many_documents_and_nodes_parse() {
        let docs: String = (0..2000).map(|i| format!("---\nname: s{i}\n")).collect();
        assert_eq!(parse(Path::new("many.yaml"), &docs).unwrap().len(), 2000);
        let items: String = (0..250_001).map(|i| format!("- {i}\n")).collect();
        let parsed = parse(Path::new("nodes.yaml"), &items).unwrap();
        assert_eq!(parsed[0].value.as_array().map(Vec::len), Some(250_001));
    }

    #[test]
    fn anchors_merged_into_thousands_of_documents_parse() {
        let mut text =
            String::from("defaults: &d {cpu: 256, memory: 512, image: nginx}\nservices:\n");
        for i in 0..3000 {
            text.push_str(&format!("- name: s{i}\n  <<: *d\n"));
        }
        let parsed = parse(Path::new("m.yaml"), &text).unwrap();
        assert_eq!(
            parsed[0].value["services"].as_array().map(Vec::len),
            Some(3000)
        );
    }
}
