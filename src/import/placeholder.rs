//! Unrendered template placeholders left in input files: `REPLACE_ME_*`, `$$$NAME$$$`,
//! `<NAME>` (CodePipeline and CodeDeploy's `<IMAGE1_NAME>`, blueprints' `<PLACEHOLDER>`), Go
//! templates `{{ ... }}`, CloudFormation dynamic references `{{resolve:...}}`, and, outside
//! CloudFormation, `${NAME}` (braces balanced, so `${a}:${max("${b}","${c}")}` is two
//! placeholders, not a broken third). They are substituted from `--param` when one names them,
//! and otherwise reported: never guessed.
//!
//! Dynamic references to secrets (`{{resolve:secretsmanager:…}}`, `{{resolve:ssm-secure:…}}`)
//! are never filled from `--param` and never suggested as one: a secret does not belong on a
//! command line. CloudFormation turns them into Secret references (`cfn::convert`); elsewhere
//! they are reported without a `--param`.

use std::collections::BTreeMap;

/// The longest placeholder recognised, in bytes: the end of a `{{`, `${`, `$$$` or `<` is only
/// looked for this far, so a hostile string of openers costs linear time, not quadratic.
pub const MAX_PLACEHOLDER_BYTES: usize = 4096;

/// What kind of placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderKind {
    /// `REPLACE_ME_*`, `$$$NAME$$$`, `{{ … }}` or `${NAME}`: text a template tool fills in.
    Template,
    /// `<NAME>`: filled in by a deployment tool (CodePipeline's `<IMAGE1_NAME>`).
    Angle,
    /// A `${…}` whose inside is an expression rather than a name: its `--param` key is the
    /// whole text.
    Expression,
    /// `{{resolve:ssm:NAME}}`: a plain SSM parameter CloudFormation reads at deploy time.
    Dynamic,
    /// `{{resolve:secretsmanager:…}}` or `{{resolve:ssm-secure:…}}`: a secret, only ever a
    /// reference.
    Secret(SecretRef),
}

/// A dynamic reference to a secret, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`.
    SecretsManager {
        /// The secret's name or full ARN.
        secret_id: String,
        /// The JSON key, when given.
        json_key: Option<String>,
        /// The version stage, when given.
        version_stage: Option<String>,
        /// The version id, when given.
        version_id: Option<String>,
    },
    /// `{{resolve:ssm-secure:parameter-name:version}}`.
    SsmSecure {
        /// The parameter's name.
        name: String,
        /// The version, when given.
        version: Option<String>,
    },
}

impl SecretRef {
    /// The ECS `secrets[].valueFrom` for this secret: a Secrets Manager ARN
    /// (`arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME:json-key:version-stage:version-id`,
    /// region and account as given, empty when the reference names the secret by name only) or
    /// the SSM parameter name. `src/translate/pod.rs` (`secret_ref`) names the Kubernetes
    /// Secret from it.
    pub fn value_from(&self, partition: &str, region: &str, account: &str) -> String {
        match self {
            SecretRef::SecretsManager {
                secret_id,
                json_key,
                version_stage,
                version_id,
            } => {
                let arn = if secret_id.starts_with("arn:") {
                    secret_id.clone()
                } else {
                    format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_id}")
                };
                let opt = |o: &Option<String>| o.clone().unwrap_or_default();
                format!(
                    "{arn}:{}:{}:{}",
                    opt(json_key),
                    opt(version_stage),
                    opt(version_id)
                )
            }
            SecretRef::SsmSecure { name, .. } => name.clone(),
        }
    }

    /// What is not carried by the reference (an SSM parameter version).
    pub fn dropped(&self) -> Option<String> {
        match self {
            SecretRef::SsmSecure {
                version: Some(v), ..
            } => Some(format!("version {v}")),
            _ => None,
        }
    }
}

/// One placeholder found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The placeholder as written.
    pub text: String,
    /// The `--param` key that fills it (the whole text for an expression).
    pub key: String,
    /// What kind of placeholder.
    pub kind: PlaceholderKind,
}

impl Placeholder {
    /// The message reporting this placeholder as unresolved: how to fill it, never with a
    /// `--param` for a secret.
    pub fn message(&self) -> String {
        match &self.kind {
            PlaceholderKind::Secret(_) => format!(
                "{} is a secret: its value is never written; make it a `secrets` entry (valueFrom) of its container instead",
                self.text
            ),
            PlaceholderKind::Angle => format!(
                "unrendered placeholder {} (a deployment tool such as CodePipeline fills it in); pass --param {}=VALUE",
                self.text, self.key
            ),
            PlaceholderKind::Expression if self.key.contains('=') => format!(
                "unrendered placeholder {} is an expression containing `=`, which no --param can name; edit the output",
                self.text
            ),
            PlaceholderKind::Expression => format!(
                "unrendered placeholder {} is an expression, not a name; pass the whole text as the key: --param '{}=VALUE'",
                self.text, self.key
            ),
            PlaceholderKind::Template | PlaceholderKind::Dynamic => format!(
                "unrendered placeholder {}; pass --param {}=VALUE",
                self.text, self.key
            ),
        }
    }
}

/// Which placeholder syntaxes count in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    /// `${NAME}` (not in CloudFormation, where it is `Fn::Sub` syntax).
    pub dollar_braces: bool,
    /// Leave dynamic references to secrets in place, unreported (CloudFormation turns them
    /// into Secret references after evaluation).
    pub secrets_as_references: bool,
}

/// Substitutes the placeholders of `s` that `params` names and records each one left as
/// unresolved at `path`, with the `--param` that fills it (never for a secret).
pub fn substitute_reporting(
    s: &str,
    params: &BTreeMap<String, String>,
    syntax: Syntax,
    path: &str,
    unresolved: &mut Vec<(String, String)>,
) -> String {
    let (out, left) = substitute(s, params, syntax.dollar_braces);
    for p in left {
        if syntax.secrets_as_references && matches!(p.kind, PlaceholderKind::Secret(_)) {
            continue;
        }
        unresolved.push((path.to_owned(), p.message()));
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
        let window = prefix(rest, MAX_PLACEHOLDER_BYTES);
        if rest.starts_with("$$$")
            && let Some(end) = window[3..].find("$$$")
        {
            let name = &rest[3..3 + end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                found.push(Placeholder {
                    text: rest[..end + 6].to_owned(),
                    key: name.to_owned(),
                    kind: PlaceholderKind::Template,
                });
                i += end + 6;
                continue;
            }
        }
        if rest.starts_with("{{")
            && let Some(end) = window.find("}}")
        {
            let inner = rest[2..end].trim();
            let text = rest[..end + 2].to_owned();
            let kind = match inner.strip_prefix("resolve:") {
                Some(r) => dynamic_reference(r),
                None => PlaceholderKind::Template,
            };
            let key = quoted(inner).unwrap_or(inner).to_owned();
            found.push(Placeholder { text, key, kind });
            i += end + 2;
            continue;
        }
        if dollar_braces
            && rest.starts_with("${")
            && let Some(end) = closing_brace(window)
        {
            let inner = rest[2..end].trim();
            let text = rest[..end + 1].to_owned();
            let (key, kind) = if usable_key(inner) {
                (inner.to_owned(), PlaceholderKind::Template)
            } else {
                (text.clone(), PlaceholderKind::Expression)
            };
            found.push(Placeholder { text, key, kind });
            i += end + 1;
            continue;
        }
        if rest.starts_with('<')
            && let Some(len) = angle_placeholder(window)
        {
            found.push(Placeholder {
                text: rest[..len].to_owned(),
                key: rest[1..len - 1].to_owned(),
                kind: PlaceholderKind::Angle,
            });
            i += len;
            continue;
        }
        if rest.starts_with("REPLACE_ME") {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            found.push(Placeholder {
                text: rest[..len].to_owned(),
                key: rest[..len].to_owned(),
                kind: PlaceholderKind::Template,
            });
            i += len;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// At most the first `max` bytes of `s`, ending on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The byte index of the `}` closing the `${` at the start of `s`, counting nested braces.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the inside of `${…}` can be a `--param` key as it is: a name or a reference
/// (`aws_ecr_repository.all['app'].repository_url`), not an expression.
fn usable_key(inner: &str) -> bool {
    !inner.is_empty()
        && inner.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '.' | ':' | '/' | '-' | '[' | ']' | '\'' | '@')
        })
}

/// The length of a `<NAME>` placeholder at the start of `s`: upper-case letters, digits and
/// `_`, starting with a letter, at least two characters (so `<a>`, `<br/>` and `a < B > c` are
/// text).
fn angle_placeholder(s: &str) -> Option<usize> {
    let end = s.find('>')?;
    let name = &s[1..end];
    let ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    ok.then_some(end + 1)
}

/// The kind of a dynamic reference, from what follows `resolve:`.
fn dynamic_reference(r: &str) -> PlaceholderKind {
    if let Some(rest) = r.strip_prefix("secretsmanager:") {
        // The secret id is a name or an ARN (which has colons of its own).
        let (secret_id, tail) = if rest.starts_with("arn:") {
            let parts: Vec<&str> = rest.splitn(8, ':').collect();
            let arn = parts[..parts.len().min(7)].join(":");
            (arn, parts.get(7).copied().unwrap_or_default())
        } else {
            match rest.split_once(':') {
                Some((id, tail)) => (id.to_owned(), tail),
                None => (rest.to_owned(), ""),
            }
        };
        // tail: SecretString:json-key:version-stage:version-id
        let mut parts = tail.split(':').skip(1);
        let mut next = || parts.next().filter(|p| !p.is_empty()).map(str::to_owned);
        return PlaceholderKind::Secret(SecretRef::SecretsManager {
            secret_id,
            json_key: next(),
            version_stage: next(),
            version_id: next(),
        });
    }
    if let Some(rest) = r.strip_prefix("ssm-secure:") {
        let (name, version) = match rest.rsplit_once(':') {
            Some((n, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                (n.to_owned(), Some(v.to_owned()))
            }
            _ => (rest.to_owned(), None),
        };
        return PlaceholderKind::Secret(SecretRef::SsmSecure { name, version });
    }
    PlaceholderKind::Dynamic
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
/// text); returns the new string and the placeholders left. Secrets are never substituted.
pub fn substitute(
    s: &str,
    params: &BTreeMap<String, String>,
    dollar_braces: bool,
) -> (String, Vec<Placeholder>) {
    let mut out = s.to_owned();
    let mut left = Vec::new();
    for p in find(s, dollar_braces) {
        let given = match p.kind {
            PlaceholderKind::Secret(_) => None,
            _ => params.get(&p.key).or_else(|| params.get(&p.text)),
        };
        match given {
            Some(v) => out = out.replacen(&p.text, v, 1),
            None => left.push(p),
        }
    }
    (out, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(s: &str, d: bool) -> Vec<String> {
        find(s, d).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn every_placeholder_style_in_the_corpus_is_recognised() {
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
    fn angle_placeholders_of_codedeploy_and_the_blueprints_are_placeholders() {
        let found = find("<IMAGE1_NAME>", false);
        assert_eq!(found[0].key, "IMAGE1_NAME");
        assert_eq!(found[0].kind, PlaceholderKind::Angle);
        assert!(found[0].message().contains("--param IMAGE1_NAME=VALUE"));
        assert_eq!(
            keys(
                "arn:aws:secretsmanager:us-east-1:<AWS_ACCOUNT_ID>:secret:<SECRET_NAME>",
                false
            ),
            ["AWS_ACCOUNT_ID", "SECRET_NAME"]
        );
        // Text that only looks a little like one stays text.
        assert!(keys("<a> <br/> x < Y > z <X> <1A>", false).is_empty());
    }

    #[test]
    fn a_nested_interpolation_is_two_placeholders_with_usable_keys() {
        let found = find(r#"${a}:${max("${b}","${c}")}"#, true);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].key, "a");
        assert_eq!(found[1].text, r#"${max("${b}","${c}")}"#);
        assert_eq!(found[1].key, found[1].text);
        assert_eq!(found[1].kind, PlaceholderKind::Expression);
        // The whole expression is a key `--param KEY=VALUE` can carry (no `=` in it)...
        let params = BTreeMap::from([(found[1].text.clone(), "3".to_owned())]);
        let (s, left) = substitute(r#"${a}:${max("${b}","${c}")}"#, &params, true);
        assert_eq!(s, "${a}:3");
        assert_eq!(left.len(), 1);
        // ...and the message says so.
        assert!(
            found[1].message().contains("--param '${max("),
            "{}",
            found[1].message()
        );
    }

    #[test]
    fn secret_dynamic_references_are_never_filled_or_suggested_as_params() {
        let s = "{{resolve:secretsmanager:MyRdsSecret:SecretString:password}}";
        let found = find(s, false);
        let PlaceholderKind::Secret(secret) = &found[0].kind else {
            panic!("{found:?}");
        };
        assert_eq!(
            secret.value_from("aws", "", ""),
            "arn:aws:secretsmanager:::secret:MyRdsSecret:password::"
        );
        assert!(!found[0].message().contains("--param"));
        let params = BTreeMap::from([(found[0].key.clone(), "hunter2".to_owned())]);
        assert_eq!(substitute(s, &params, false).0, s);
        let arn = "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:SecretString:user::}}";
        let PlaceholderKind::Secret(secret) = &find(arn, false)[0].kind else {
            panic!()
        };
        assert_eq!(
            secret.value_from("aws", "x", "y"),
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:user::"
        );
        let PlaceholderKind::Secret(secret) =
            &find("{{resolve:ssm-secure:/app/db/password:3}}", false)[0].kind
        else {
            panic!()
        };
        assert_eq!(secret.value_from("aws", "", ""), "/app/db/password");
        assert_eq!(secret.dropped().as_deref(), Some("version 3"));
        assert_eq!(
            find("{{resolve:ssm:/app/port}}", false)[0].kind,
            PlaceholderKind::Dynamic
        );
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
