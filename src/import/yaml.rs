//! YAML with CloudFormation short-form tags, read into JSON.
//!
//! `!Ref X` becomes `{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}` and every
//! other `!Name v` becomes `{"Fn::Name": v}`, so YAML and JSON templates resolve through the same
//! code. serde-saphyr drops custom tags on untyped reads, so this walks granit-parser's events
//! (the parser serde-saphyr itself is built on) directly.
//!
//! Budgets are set against amplification, not size: a file of any length loads as long as its
//! aliases do not expand it beyond [`ALIAS_EXPANSION_RATIO`] times its own nodes (plus
//! [`ALIAS_EXPANSION_BASE`]), and it nests no deeper than [`MAX_DEPTH`].

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Value};

/// Short-form tags that stand for `Fn::NAME`.
const FN_TAGS: &[&str] = &[
    "Sub",
    "Join",
    "If",
    "Select",
    "Split",
    "ImportValue",
    "FindInMap",
    "Equals",
    "Not",
    "And",
    "Or",
    "Base64",
    "Cidr",
    "GetAZs",
    "Transform",
    "Length",
    "ToJsonString",
    "ForEach",
];

/// The deepest nesting of sequences and mappings read (serde_json's limit for JSON input is
/// the same): deeper input is refused as a limit, before anything recurses over it.
pub const MAX_DEPTH: usize = 128;

/// Nodes that aliases may add whatever the size of the file: enough for every legitimate use
/// of anchors (`<<: *defaults` in each of thousands of services).
pub const ALIAS_EXPANSION_BASE: usize = 100_000;

/// Nodes that aliases may add per node of the file itself, beyond [`ALIAS_EXPANSION_BASE`]: a
/// "billion laughs" (a few hundred bytes expanding to gigabytes) is refused as a limit.
pub const ALIAS_EXPANSION_RATIO: usize = 10;

/// Why a YAML file was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// Not valid YAML, or an unknown tag.
    Syntax,
    /// Valid YAML beyond one of the documented limits ([`MAX_DEPTH`], the alias budget).
    Limit,
}

/// A YAML syntax error, an unknown tag or a limit reached, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// Syntax or limit.
    pub kind: YamlErrorKind,
}

impl YamlError {
    fn syntax(line: usize, message: impl Into<String>) -> Self {
        YamlError {
            line,
            message: message.into(),
            kind: YamlErrorKind::Syntax,
        }
    }

    fn limit(line: usize, message: impl Into<String>) -> Self {
        YamlError {
            line,
            message: message.into(),
            kind: YamlErrorKind::Limit,
        }
    }
}

/// An open sequence (items, tag, anchor, nodes so far) or mapping (entries, pending key, tag,
/// anchor, first line, nodes so far).
enum Frame {
    Seq(Vec<Value>, Option<Tag>, Option<usize>, usize),
    Map(
        Map<String, Value>,
        Option<String>,
        Option<Tag>,
        Option<usize>,
        usize,
        usize,
    ),
}

/// Reads the first document of `text` as JSON, with short-form tags turned into long forms.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    // Anchored values and how many nodes each stands for.
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut root: Option<Value> = None;
    // Nodes written in the file, and nodes added by expanding aliases.
    let mut source_nodes = 0usize;
    let mut expanded_nodes = 0usize;
    for next in Parser::new_from_str(text) {
        let (event, span) =
            next.map_err(|e| YamlError::syntax(line_of(&e.to_string()), e.to_string()))?;
        let line = span.start.line();
        let node = match event {
            Event::Scalar(text, style, anchor, tag) => {
                source_nodes += 1;
                let value = scalar(&text, style, tag.as_deref(), line)?;
                if anchor > 0 {
                    anchors.insert(anchor, (value.clone(), 1));
                }
                Some((value, 1))
            }
            Event::Alias(id) => {
                let Some((value, nodes)) = anchors.get(&id) else {
                    return Err(YamlError::syntax(line, "alias to an unknown anchor"));
                };
                expanded_nodes = expanded_nodes.saturating_add(*nodes);
                let budget = ALIAS_EXPANSION_BASE
                    .saturating_add(ALIAS_EXPANSION_RATIO.saturating_mul(source_nodes));
                if expanded_nodes > budget {
                    return Err(YamlError::limit(
                        line,
                        format!(
                            "limit ALIAS_EXPANSION_RATIO reached: aliases expand {source_nodes} nodes of the file by more than {budget} nodes ({ALIAS_EXPANSION_BASE} + {ALIAS_EXPANSION_RATIO} per node of the file); the file amplifies itself (a \"billion laughs\")"
                        ),
                    ));
                }
                Some((value.clone(), *nodes))
            }
            Event::SequenceStart(_, anchor, tag) => {
                source_nodes += 1;
                push(
                    &mut stack,
                    Frame::Seq(
                        Vec::new(),
                        tag.map(|t| t.into_owned()),
                        (anchor > 0).then_some(anchor),
                        1,
                    ),
                    line,
                )?;
                None
            }
            Event::MappingStart(_, anchor, tag) => {
                source_nodes += 1;
                push(
                    &mut stack,
                    Frame::Map(
                        Map::new(),
                        None,
                        tag.map(|t| t.into_owned()),
                        (anchor > 0).then_some(anchor),
                        line,
                        1,
                    ),
                    line,
                )?;
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, tag, anchor, nodes)) => {
                    let value = tagged(Value::Array(items), tag.as_ref(), line)?;
                    if let Some(a) = anchor {
                        anchors.insert(a, (value.clone(), nodes));
                    }
                    Some((value, nodes))
                }
                _ => return Err(YamlError::syntax(line, "unbalanced end of a sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(map, _, tag, anchor, start, nodes)) => {
                    let value = tagged(Value::Object(map), tag.as_ref(), start)?;
                    if let Some(a) = anchor {
                        anchors.insert(a, (value.clone(), nodes));
                    }
                    Some((value, nodes))
                }
                _ => return Err(YamlError::syntax(line, "unbalanced end of a mapping")),
            },
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            _ => None,
        };
        if let Some((value, nodes)) = node {
            match stack.last_mut() {
                None => root = Some(value),
                Some(Frame::Seq(items, _, _, count)) => {
                    *count = count.saturating_add(nodes);
                    items.push(value);
                }
                Some(Frame::Map(map, key, _, _, _, count)) => {
                    *count = count.saturating_add(nodes);
                    match key.take() {
                        None => {
                            let k = match value {
                                Value::String(s) => s,
                                Value::Null => "null".to_owned(),
                                Value::Bool(b) => b.to_string(),
                                Value::Number(n) => n.to_string(),
                                _ => {
                                    return Err(YamlError::syntax(
                                        line,
                                        "a mapping key must be a scalar",
                                    ));
                                }
                            };
                            *key = Some(k);
                        }
                        Some(k) => {
                            if k == "<<" {
                                // YAML 1.1 merge key: copy entries not already set.
                                if let Value::Object(other) = value {
                                    for (k, v) in other {
                                        map.entry(k).or_insert(v);
                                    }
                                }
                            } else {
                                map.insert(k, value);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

/// Opens a sequence or mapping, refusing nesting deeper than [`MAX_DEPTH`].
fn push(stack: &mut Vec<Frame>, frame: Frame, line: usize) -> Result<(), YamlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(YamlError::limit(
            line,
            format!(
                "limit MAX_DEPTH reached: sequences and mappings nested deeper than {MAX_DEPTH} levels"
            ),
        ));
    }
    stack.push(frame);
    Ok(())
}

fn line_of(message: &str) -> usize {
    message
        .split(" line ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    line: usize,
) -> Result<Value, YamlError> {
    match tag {
        None => Ok(if style == ScalarStyle::Plain {
            plain(text)
        } else {
            Value::String(text.to_owned())
        }),
        Some(t) if t.is_yaml_core_schema() => Ok(match t.suffix() {
            "str" => Value::String(text.to_owned()),
            "null" => Value::Null,
            _ => plain(text),
        }),
        Some(t) => tagged(Value::String(text.to_owned()), Some(t), line),
    }
}

/// The YAML core schema for plain scalars, keeping strings whose number form would lose
/// information (leading zeros, as in account IDs; values beyond 64 bits).
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return Value::String(text.to_owned());
        }
        if let Ok(n) = text.trim_start_matches('+').parse::<i64>() {
            return Value::from(n);
        }
        return Value::String(text.to_owned());
    }
    if is_float(digits)
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let Some((int, frac)) = mantissa.split_once('.') else {
        return false;
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()) && exp_ok
}

fn tagged(value: Value, tag: Option<&Tag>, line: usize) -> Result<Value, YamlError> {
    let Some(tag) = tag else { return Ok(value) };
    if tag.is_yaml_core_schema() {
        return Ok(value);
    }
    let name = tag.suffix();
    let long = match name {
        "Ref" => "Ref".to_owned(),
        "Condition" => "Condition".to_owned(),
        "GetAtt" => {
            let value = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((res, attr)) => Value::from(vec![res.to_owned(), attr.to_owned()]),
                    None => Value::String(s),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", value));
        }
        n if FN_TAGS.contains(&n) => format!("Fn::{n}"),
        other => {
            return Err(YamlError::syntax(line, format!("unknown tag !{other}")));
        }
    };
    Ok(single(&long, value))
}

fn single(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_owned(), value);
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn short_form_tags_become_their_long_forms() {
        let v = parse(
            "a: !Ref Port\nb: !GetAtt LB.DNSName\nc: !Sub '${AWS::StackName}-x'\nd: !Join ['-', [a, !Ref B]]\ne: !GetAtt [X, Arn]\nf: !If [C, 1, !Ref AWS::NoValue]\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "a": {"Ref": "Port"},
                "b": {"Fn::GetAtt": ["LB", "DNSName"]},
                "c": {"Fn::Sub": "${AWS::StackName}-x"},
                "d": {"Fn::Join": ["-", ["a", {"Ref": "B"}]]},
                "e": {"Fn::GetAtt": ["X", "Arn"]},
                "f": {"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]},
            })
        );
    }

    #[test]
    fn plain_scalars_follow_the_core_schema_but_keep_leading_zeros() {
        let v =
            parse("a: 10\nb: '10'\nc: true\nd: 012345678901\ne: 1.5\nf: ~\ng: 1.0.3\n").unwrap();
        assert_eq!(
            v,
            json!({"a": 10, "b": "10", "c": true, "d": "012345678901", "e": 1.5, "f": null, "g": "1.0.3"})
        );
    }

    #[test]
    fn unknown_tags_and_syntax_errors_name_their_line() {
        let e = parse("a: 1\nb: !Bogus x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("!Bogus"));
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line > 0, "{e:?}");
    }

    #[test]
    fn a_billion_laughs_is_refused_as_a_limit_without_expanding() {
        let mut doc = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(doc.len() < 1000);
        let started = std::time::Instant::now();
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::Limit, "{e:?}");
        assert!(e.message.contains("ALIAS_EXPANSION_RATIO"), "{e:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn ten_thousand_services_sharing_defaults_through_aliases_still_load() {
        let mut doc = String::from(
            "Defaults: &d\n  Cluster: main\n  LaunchType: FARGATE\n  DesiredCount: 2\nResources:\n",
        );
        for i in 0..10_000 {
            doc.push_str(&format!(
                "  Service{i}:\n    Type: AWS::ECS::Service\n    Properties:\n      <<: *d\n      ServiceName: svc-{i}\n"
            ));
        }
        let v = parse(&doc).unwrap();
        assert_eq!(v["Resources"].as_object().unwrap().len(), 10_000);
        assert_eq!(
            v["Resources"]["Service9999"]["Properties"]["Cluster"],
            "main"
        );
    }

    #[test]
    fn nesting_beyond_the_depth_limit_is_refused_as_a_limit() {
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        let e = parse(&deep).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::Limit);
        assert!(e.message.contains("MAX_DEPTH"), "{e:?}");
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }
}
