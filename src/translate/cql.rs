//! ECS cluster query language (memberOf expressions) → Kubernetes node affinity.
//!
//! Grammar (ECS "Cluster query language"): `expression := term (('||' | 'or') term)*`,
//! `term := factor (('&&' | 'and') factor)*`, `factor := '!' factor | 'not' factor |
//! '(' expression ')' | subject operator [argument]`. Operators, each in its symbol or its
//! word form (as the ECS page lists them; words in any case): `==` `equals`, `!=`
//! `not_equals`, `>` `greater_than`, `>=` `greater_than_equal`, `<` `less_than`, `<=`
//! `less_than_equal`, `exists`, `!exists` `not_exists`, `in`, `!in` `not_in`, `=~` `matches`,
//! `!~` `not_matches`; `in`/`!in` take `[a, b]` or a single value. Subjects:
//! `attribute:NAME`, `agentConnected`, `agentVersion`, `ec2InstanceId`, `registeredAt`,
//! `runningTasksCount`, `task:group`.
//!
//! The expression is normalised (negations pushed into the operators) and put into disjunctive
//! normal form: each conjunction becomes one `nodeSelectorTerm` (terms are ORed, their
//! requirements ANDed, as in CQL). Attributes map to the well-known node labels; custom
//! attributes are assumed to be node labels of the same name. What has no node-label
//! equivalent (regular expressions, agent and instance facts, task groups, `ecs.ami-id`,
//! `ecs.vpc-id`, `ecs.subnet-id`, `ecs.os-family`) is refused by name.

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};

/// Most conjunctions a DNF may have before the constraint is refused as too large.
const MAX_TERMS: usize = 64;

/// A CQL comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// `attribute:ecs.availability-zone`, `runningTasksCount`, ...
    pub subject: String,
    /// Operator, normalised (`==`, `!=`, `in`, `!in`, `exists`, `!exists`, `>`, `>=`, `<`,
    /// `<=`, `=~`, `!~`).
    pub operator: String,
    /// Values (one for comparisons, several for `in`).
    pub values: Vec<String>,
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A comparison.
    Cond(Condition),
    /// Negation.
    Not(Box<Expr>),
    /// Conjunction.
    And(Box<Expr>, Box<Expr>),
    /// Disjunction.
    Or(Box<Expr>, Box<Expr>),
}

/// Why an expression cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CqlError {
    /// The text is not a CQL expression.
    #[error("cannot parse {expression:?} at character {position}: {reason}")]
    Syntax {
        /// The expression.
        expression: String,
        /// 0-based character offset.
        position: usize,
        /// What was expected.
        reason: String,
    },
    /// Valid CQL without a node-label equivalent.
    #[error("{part:?} cannot be expressed as node affinity: {reason}")]
    Inexpressible {
        /// The condition that cannot be expressed.
        part: String,
        /// Why.
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    And,
    Or,
    Not,
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<(usize, Token)>, CqlError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                out.push((i, Token::LParen));
                i += 1
            }
            ')' => {
                out.push((i, Token::RParen));
                i += 1
            }
            '[' => {
                out.push((i, Token::LBracket));
                i += 1
            }
            ']' => {
                out.push((i, Token::RBracket));
                i += 1
            }
            ',' => {
                out.push((i, Token::Comma));
                i += 1
            }
            _ if two == "&&" => {
                out.push((i, Token::And));
                i += 2
            }
            _ if two == "||" => {
                out.push((i, Token::Or));
                i += 2
            }
            '!' if !matches!(chars.get(i + 1), Some('=' | '~'))
                && !word_at(&chars, i + 1).is_some_and(|w| w == "exists" || w == "in") =>
            {
                out.push((i, Token::Not));
                i += 1
            }
            _ => {
                let start = i;
                let mut word = String::new();
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '[' | ']' | ',')
                {
                    let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
                    if two == "&&" || two == "||" {
                        break;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                out.push((
                    start,
                    match word.to_ascii_lowercase().as_str() {
                        "and" => Token::And,
                        "or" => Token::Or,
                        "not" => Token::Not,
                        _ => Token::Word(word),
                    },
                ));
            }
        }
    }
    Ok(out)
}

fn word_at(chars: &[char], i: usize) -> Option<String> {
    let w: String = chars[i.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    (!w.is_empty()).then_some(w)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, Token)>,
    pos: usize,
}

const OPERATORS: [&str; 12] = [
    "==", "!=", ">=", "<=", ">", "<", "=~", "!~", "exists", "!exists", "in", "!in",
];

/// The word forms of the operators ECS's cluster query language page lists, and the symbol
/// each stands for (`exists` and `in` have no other form).
const WORD_OPERATORS: [(&str, &str); 10] = [
    ("equals", "=="),
    ("not_equals", "!="),
    ("greater_than", ">"),
    ("greater_than_equal", ">="),
    ("less_than", "<"),
    ("less_than_equal", "<="),
    ("matches", "=~"),
    ("not_matches", "!~"),
    ("not_exists", "!exists"),
    ("not_in", "!in"),
];

/// The operator `word` stands for, in its symbol form (symbols, `exists` and `in` as they
/// are), or `None` when it is no CQL operator.
fn operator(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    OPERATORS
        .iter()
        .find(|op| **op == word)
        .or_else(|| {
            WORD_OPERATORS
                .iter()
                .find(|(w, _)| *w == word)
                .map(|(_, op)| op)
        })
        .copied()
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn error(&self, reason: &str) -> CqlError {
        CqlError::Syntax {
            expression: self.text.to_owned(),
            position: self
                .tokens
                .get(self.pos)
                .map_or(self.text.chars().count(), |(p, _)| *p),
            reason: reason.to_owned(),
        }
    }

    fn expression(&mut self) -> Result<Expr, CqlError> {
        let mut left = self.term()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, CqlError> {
        let mut left = self.factor()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, CqlError> {
        match self.peek() {
            Some(Token::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.factor()?)))
            }
            Some(Token::LParen) => {
                self.pos += 1;
                let e = self.expression()?;
                if self.peek() != Some(&Token::RParen) {
                    return Err(self.error("expected ')'"));
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Token::Word(_)) => self.condition(),
            _ => Err(self.error("expected a condition, '!' or '('")),
        }
    }

    fn word(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                let w = w.clone();
                self.pos += 1;
                Some(w)
            }
            _ => None,
        }
    }

    fn condition(&mut self) -> Result<Expr, CqlError> {
        let subject = self
            .word()
            .ok_or_else(|| self.error("expected a subject"))?;
        let op = match self.word().as_deref().and_then(operator) {
            Some(op) => op.to_owned(),
            None => {
                self.pos = self.pos.saturating_sub(1).max(self.pos);
                return Err(self.error(&format!(
                    "expected an operator after {subject:?} ({}, or {})",
                    OPERATORS.join(" "),
                    WORD_OPERATORS.map(|(w, _)| w).join(" ")
                )));
            }
        };
        let values = match op.as_str() {
            "exists" | "!exists" => Vec::new(),
            "in" | "!in" if self.peek() == Some(&Token::LBracket) => {
                self.pos += 1;
                let mut values = Vec::new();
                loop {
                    values.push(
                        self.word()
                            .ok_or_else(|| self.error("expected a value in the list"))?,
                    );
                    match self.peek() {
                        Some(Token::Comma) => self.pos += 1,
                        Some(Token::RBracket) => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.error("expected ',' or ']'")),
                    }
                }
                values
            }
            _ => vec![
                self.word()
                    .ok_or_else(|| self.error(&format!("expected a value after {op}")))?,
            ],
        };
        Ok(Expr::Cond(Condition {
            subject,
            operator: op,
            values,
        }))
    }
}

/// Parses a CQL expression.
pub fn parse(expression: &str) -> Result<Expr, CqlError> {
    let mut p = Parser {
        text: expression,
        tokens: tokenize(expression)?,
        pos: 0,
    };
    let e = p.expression()?;
    if p.pos != p.tokens.len() {
        return Err(p.error("unexpected text after the expression"));
    }
    Ok(e)
}

fn negate(op: &str) -> &'static str {
    match op {
        "==" => "!=",
        "!=" => "==",
        "in" => "!in",
        "!in" => "in",
        "exists" => "!exists",
        "!exists" => "exists",
        ">" => "<=",
        "<=" => ">",
        "<" => ">=",
        ">=" => "<",
        "=~" => "!~",
        _ => "=~",
    }
}

/// Disjunctive normal form with negations pushed into the operators.
fn dnf(e: &Expr, negated: bool) -> Result<Vec<Vec<Condition>>, CqlError> {
    Ok(match (e, negated) {
        (Expr::Cond(c), false) => vec![vec![c.clone()]],
        (Expr::Cond(c), true) => vec![vec![Condition {
            operator: negate(&c.operator).to_owned(),
            ..c.clone()
        }]],
        (Expr::Not(inner), n) => dnf(inner, !n)?,
        (Expr::Or(a, b), false) | (Expr::And(a, b), true) => {
            let mut v = dnf(a, negated)?;
            v.extend(dnf(b, negated)?);
            v
        }
        (Expr::And(a, b), false) | (Expr::Or(a, b), true) => {
            let (l, r) = (dnf(a, negated)?, dnf(b, negated)?);
            if l.len() * r.len() > MAX_TERMS {
                return Err(CqlError::Inexpressible {
                    part: "(whole expression)".into(),
                    reason: format!("its normal form exceeds {MAX_TERMS} node selector terms"),
                });
            }
            let mut v = Vec::new();
            for x in &l {
                for y in &r {
                    v.push(x.iter().chain(y).cloned().collect());
                }
            }
            v
        }
    })
}

/// How an attribute's values translate into label values.
type ValueMap = fn(&str) -> String;

/// The node label an attribute stands for, and how its values translate.
fn label_for(subject: &str) -> Result<(String, ValueMap), String> {
    fn same(v: &str) -> String {
        v.to_owned()
    }
    fn lower(v: &str) -> String {
        v.to_ascii_lowercase()
    }
    fn arch(v: &str) -> String {
        match v.to_ascii_lowercase().as_str() {
            "x86_64" => "amd64".into(),
            other => other.to_owned(),
        }
    }
    let Some(attribute) = subject.strip_prefix("attribute:") else {
        return Err(match subject {
            "task:group" => "task groups would need pod affinity on a group label, which ecsplane does not generate yet".into(),
            _ => format!("{subject} is a fact of the ECS agent or instance with no node label"),
        });
    };
    Ok(match attribute {
        "ecs.availability-zone" => ("topology.kubernetes.io/zone".into(), same),
        "ecs.instance-type" => ("node.kubernetes.io/instance-type".into(), same),
        "ecs.os-type" => ("kubernetes.io/os".into(), lower),
        "ecs.cpu-architecture" => ("kubernetes.io/arch".into(), arch),
        "ecs.ami-id" | "ecs.vpc-id" | "ecs.subnet-id" | "ecs.os-family" => {
            return Err(format!("{attribute} has no well-known node label"));
        }
        custom => (custom.to_owned(), same),
    })
}

/// The custom attributes (`attribute:NAME` with no well-known node label) that `expressions`
/// test anywhere, however deeply nested, in order of first use: each is matched as the node
/// label of the same name, which the nodes must carry. Expressions that do not parse are
/// skipped (they are refused by [`node_selector_terms`]).
pub fn custom_attributes(expressions: &[&str]) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::Cond(c) => {
                if let Some(attribute) = c.subject.strip_prefix("attribute:")
                    && matches!(label_for(&c.subject), Ok((key, _)) if key == attribute)
                    && !out.iter().any(|a| a == attribute)
                {
                    out.push(attribute.to_owned());
                }
            }
            Expr::Not(inner) => walk(inner, out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
        }
    }
    let mut out = Vec::new();
    for e in expressions {
        if let Ok(parsed) = parse(e) {
            walk(&parsed, &mut out);
        }
    }
    out
}

fn requirement(c: &Condition) -> Result<NodeSelectorRequirement, CqlError> {
    let text = format!("{} {} {}", c.subject, c.operator, c.values.join(", "));
    let inexpressible = |reason: String| CqlError::Inexpressible {
        part: text.trim().to_owned(),
        reason,
    };
    let (key, map) = label_for(&c.subject).map_err(inexpressible)?;
    let values: Vec<String> = c.values.iter().map(|v| map(v)).collect();
    let integer = |delta: i64| -> Result<Vec<String>, CqlError> {
        let n: i64 = values[0]
            .parse()
            .map_err(|_| inexpressible("node affinity compares only integers with Gt/Lt".into()))?;
        Ok(vec![(n + delta).to_string()])
    };
    let (operator, values) = match c.operator.as_str() {
        "==" | "in" => ("In", values),
        "!=" | "!in" => ("NotIn", values),
        "exists" => ("Exists", vec![]),
        "!exists" => ("DoesNotExist", vec![]),
        ">" => ("Gt", integer(0)?),
        ">=" => ("Gt", integer(-1)?),
        "<" => ("Lt", integer(0)?),
        "<=" => ("Lt", integer(1)?),
        _ => {
            return Err(inexpressible(
                "node affinity has no regular-expression match".into(),
            ));
        }
    };
    if values.iter().any(|v| v.contains('*')) {
        return Err(inexpressible(
            "node affinity values cannot contain wildcards".into(),
        ));
    }
    Ok(NodeSelectorRequirement {
        key,
        operator: operator.into(),
        values: (!values.is_empty()).then_some(values),
    })
}

/// Node selector terms (ORed) equivalent to the AND of `expressions`.
pub fn node_selector_terms(expressions: &[&str]) -> Result<Vec<NodeSelectorTerm>, CqlError> {
    let mut combined: Option<Expr> = None;
    for e in expressions {
        let parsed = parse(e)?;
        combined = Some(match combined {
            None => parsed,
            Some(c) => Expr::And(Box::new(c), Box::new(parsed)),
        });
    }
    let Some(expr) = combined else {
        return Ok(Vec::new());
    };
    dnf(&expr, false)?
        .iter()
        .map(|conj| {
            Ok(NodeSelectorTerm {
                match_expressions: Some(conj.iter().map(requirement).collect::<Result<_, _>>()?),
                match_fields: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn term(reqs: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: Some(reqs),
            match_fields: None,
        }
    }

    #[test]
    fn zone_lists_become_an_in_requirement_on_the_zone_label() {
        assert_eq!(
            node_selector_terms(&["attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"])
                .unwrap(),
            [term(vec![req(
                "topology.kubernetes.io/zone",
                "In",
                &["us-east-1a", "us-east-1b"]
            )])]
        );
    }

    #[test]
    fn disjunctions_become_separate_terms_and_conjunctions_share_one() {
        let terms = node_selector_terms(&[
            "(attribute:ecs.instance-type == t3.large || attribute:ecs.instance-type == m5.large) && attribute:ecs.cpu-architecture == x86_64",
        ])
        .unwrap();
        assert_eq!(
            terms,
            [
                term(vec![
                    req("node.kubernetes.io/instance-type", "In", &["t3.large"]),
                    req("kubernetes.io/arch", "In", &["amd64"]),
                ]),
                term(vec![
                    req("node.kubernetes.io/instance-type", "In", &["m5.large"]),
                    req("kubernetes.io/arch", "In", &["amd64"]),
                ]),
            ]
        );
    }

    #[test]
    fn negation_is_pushed_into_the_operators() {
        assert_eq!(
            node_selector_terms(&["!(attribute:stack == prod || attribute:gpu exists)"]).unwrap(),
            [term(vec![
                req("stack", "NotIn", &["prod"]),
                req("gpu", "DoesNotExist", &[])
            ])]
        );
    }

    #[test]
    fn inclusive_integer_comparisons_are_rewritten_to_strict_ones() {
        assert_eq!(
            node_selector_terms(&["attribute:cores >= 4 and attribute:cores <= 16"]).unwrap(),
            [term(vec![
                req("cores", "Gt", &["3"]),
                req("cores", "Lt", &["17"])
            ])]
        );
    }

    #[test]
    fn several_constraints_are_anded() {
        assert_eq!(
            node_selector_terms(&["attribute:a == 1", "attribute:b !in [x, y]"]).unwrap(),
            [term(vec![
                req("a", "In", &["1"]),
                req("b", "NotIn", &["x", "y"])
            ])]
        );
    }

    #[test]
    fn regular_expressions_and_agent_facts_are_refused_by_name() {
        let err = node_selector_terms(&["attribute:ecs.instance-type =~ t2.*"]).unwrap_err();
        assert!(
            matches!(err, CqlError::Inexpressible { ref part, .. } if part == "attribute:ecs.instance-type =~ t2.*"),
            "{err}"
        );
        let err = node_selector_terms(&["runningTasksCount == 0"]).unwrap_err();
        assert!(err.to_string().contains("runningTasksCount"));
        let err = node_selector_terms(&["task:group == web"]).unwrap_err();
        assert!(err.to_string().contains("task groups"));
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let err = parse("attribute:a == ").unwrap_err();
        assert!(
            matches!(err, CqlError::Syntax { position: 15, .. }),
            "{err:?}"
        );
        assert!(parse("(attribute:a == b").is_err());
        assert!(parse("attribute:a equal b").is_err());
        assert!(parse("attribute:a not_equal b").is_err());
    }

    /// Each word-form operator of the ECS page and the symbol form it stands for, with an
    /// argument for it.
    const WORD_AND_SYMBOL_FORMS: [(&str, &str, &str); 12] = [
        ("equals", "==", "t3.large"),
        ("not_equals", "!=", "t3.large"),
        ("in", "in", "[a, b]"),
        ("not_in", "!in", "[a, b]"),
        ("exists", "exists", ""),
        ("not_exists", "!exists", ""),
        ("matches", "=~", "t3.*"),
        ("not_matches", "!~", "t3.*"),
        ("greater_than", ">", "4"),
        ("greater_than_equal", ">=", "4"),
        ("less_than", "<", "4"),
        ("less_than_equal", "<=", "4"),
    ];

    #[test]
    fn every_word_form_operator_means_what_its_symbol_form_means() {
        for (word, symbol, argument) in WORD_AND_SYMBOL_FORMS {
            let words = format!("attribute:cores {word} {argument}");
            let symbols = format!("attribute:cores {symbol} {argument}");
            assert_eq!(
                parse(&words),
                parse(&symbols),
                "{words:?} parses as {symbols:?}"
            );
            assert_eq!(
                node_selector_terms(&[&words]),
                node_selector_terms(&[&symbols]),
                "{words:?} translates as {symbols:?}"
            );
            let upper = format!("attribute:cores {} {argument}", word.to_uppercase());
            assert_eq!(parse(&upper), parse(&symbols), "{upper:?}");
        }
    }

    #[test]
    fn word_form_operators_become_the_same_node_affinity_as_symbols() {
        assert_eq!(
            node_selector_terms(&[
                "attribute:ecs.instance-type equals t3.large and attribute:cores greater_than_equal 4"
            ])
            .unwrap(),
            [term(vec![
                req("node.kubernetes.io/instance-type", "In", &["t3.large"]),
                req("cores", "Gt", &["3"])
            ])]
        );
        assert_eq!(
            node_selector_terms(&[
                "attribute:stack not_in [dev, test] or attribute:gpu not_exists"
            ])
            .unwrap(),
            [
                term(vec![req("stack", "NotIn", &["dev", "test"])]),
                term(vec![req("gpu", "DoesNotExist", &[])])
            ]
        );
        assert_eq!(
            node_selector_terms(&["not (attribute:cores less_than_equal 2)"]).unwrap(),
            [term(vec![req("cores", "Gt", &["2"])])]
        );
        let err = node_selector_terms(&["attribute:ecs.instance-type matches t2.*"]).unwrap_err();
        assert!(
            err.to_string().contains("regular-expression"),
            "matches is a regex match, refused like =~: {err}"
        );
    }

    #[test]
    fn the_compound_keywords_have_word_forms_too() {
        assert_eq!(
            parse("attribute:a == 1 and not attribute:b == 2 or attribute:c exists"),
            parse("attribute:a == 1 && !attribute:b == 2 || attribute:c exists")
        );
    }

    #[test]
    fn custom_attributes_are_found_inside_compound_expressions() {
        assert_eq!(
            custom_attributes(&[
                "attribute:ecs.availability-zone in [us-east-1a] && (attribute:stack == prod || !(attribute:tier not_equals web))",
                "attribute:stack exists",
            ]),
            ["stack", "tier"]
        );
        assert_eq!(
            custom_attributes(&[
                "attribute:ecs.instance-type == t3.large && attribute:ecs.os-type == linux"
            ]),
            Vec::<String>::new()
        );
        assert_eq!(
            custom_attributes(&["(attribute:a =="]),
            Vec::<String>::new()
        );
    }
}
