//! Unrendered template placeholders left in input files: `REPLACE_ME_*`, `$$$NAME$$$`, Go
//! templates `{{ ... }}` (and CloudFormation dynamic references `{{resolve:...}}`), and, outside
//! CloudFormation, `${NAME}`. They are substituted from `--param` when one names them, and
//! otherwise reported: never guessed.

use std::collections::BTreeMap;

/// One placeholder found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The placeholder as written.
    pub text: String,
    /// The `--param` key that fills it.
    pub key: String,
}

/// Substitutes the placeholders of `s` that `params` names and records each one left as
/// unresolved at `path`, with the `--param` that fills it.
pub fn substitute_reporting(
    s: &str,
    params: &BTreeMap<String, String>,
    dollar_braces: bool,
    path: &str,
    unresolved: &mut Vec<(String, String)>,
) -> String {
    let (out, left) = substitute(s, params, dollar_braces);
    for p in left {
        unresolved.push((
            path.to_owned(),
            format!(
                "unrendered placeholder {}; pass --param {}=VALUE",
                p.text, p.key
            ),
        ));
    }
    out
}

/// Finds the placeholders of `s`; `dollar_braces` also counts `${NAME}` (not in CloudFormation,
/// where it is `Fn::Sub` syntax).
pub fn find(s: &str, dollar_braces: bool) -> Vec<Placeholder> {
    let mut found = Vec::new();
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        let rest = &s[i..];
        if rest.starts_with("$$$")
            && let Some(end) = rest[3..].find("$$$")
        {
            let name = &rest[3..3 + end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                found.push(Placeholder {
                    text: rest[..end + 6].to_owned(),
                    key: name.to_owned(),
                });
                i += end + 6;
                continue;
            }
        }
        if rest.starts_with("{{")
            && let Some(end) = rest.find("}}")
        {
            let inner = rest[2..end].trim();
            let key = quoted(inner).unwrap_or(inner).to_owned();
            found.push(Placeholder {
                text: rest[..end + 2].to_owned(),
                key,
            });
            i += end + 2;
            continue;
        }
        if dollar_braces
            && rest.starts_with("${")
            && let Some(end) = rest.find('}')
        {
            let inner = &rest[2..end];
            found.push(Placeholder {
                text: rest[..end + 1].to_owned(),
                key: inner.trim().to_owned(),
            });
            i += end + 1;
            continue;
        }
        if rest.starts_with("REPLACE_ME") {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            found.push(Placeholder {
                text: rest[..len].to_owned(),
                key: rest[..len].to_owned(),
            });
            i += len;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

fn quoted(inner: &str) -> Option<&str> {
    for q in ['`', '"', '\''] {
        if let Some(start) = inner.find(q)
            && let Some(len) = inner[start + 1..].find(q)
        {
            return Some(&inner[start + 1..start + 1 + len]);
        }
    }
    None
}

/// Substitutes the placeholders of `s` that a param names (by key or by the placeholder's full
/// text); returns the new string and the placeholders left.
pub fn substitute(
    s: &str,
    params: &BTreeMap<String, String>,
    dollar_braces: bool,
) -> (String, Vec<Placeholder>) {
    let mut out = s.to_owned();
    let mut left = Vec::new();
    for p in find(s, dollar_braces) {
        match params.get(&p.key).or_else(|| params.get(&p.text)) {
            Some(v) => out = out.replacen(&p.text, v, 1),
            None => left.push(p),
        }
    }
    (out, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_style_in_the_corpus_is_recognised() {
        let keys =
            |s: &str, d: bool| -> Vec<String> { find(s, d).into_iter().map(|p| p.key).collect() };
        assert_eq!(keys("REPLACE_ME_IMAGE", false), ["REPLACE_ME_IMAGE"]);
        assert_eq!(
            keys("$$$TEST_REGISTRY$$$/x:latest", false),
            ["TEST_REGISTRY"]
        );
        assert_eq!(keys("{{ must_env `IMAGE` }}:v1", false), ["IMAGE"]);
        assert_eq!(keys("{{ .Env.TAG }}", false), [".Env.TAG"]);
        assert_eq!(
            keys("arn:${Partition}:x:${Region}", true),
            ["Partition", "Region"]
        );
        assert!(keys("arn:${Partition}", false).is_empty());
        assert!(keys("nginx:1.25", true).is_empty());
    }

    #[test]
    fn params_fill_placeholders_by_name_and_the_rest_are_returned() {
        let params = BTreeMap::from([("IMAGE".to_owned(), "nginx".to_owned())]);
        let (s, left) = substitute(
            "{{ must_env `IMAGE` }}:{{ must_env `TAG` }}",
            &params,
            false,
        );
        assert_eq!(s, "nginx:{{ must_env `TAG` }}");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].key, "TAG");
    }
}
