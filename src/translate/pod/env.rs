//! `environment`, `secrets` and `environmentFiles` → env and envFrom, with the naming rules of
//! the Secrets and ConfigMaps they refer to (see the module documentation of `pod`). Secrets
//! are references, never values: nothing here reads or writes a secret's value, and an ECS
//! secret only ever becomes an `env[].valueFrom.secretKeyRef`.

use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, EnvFromSource, EnvVar, EnvVarSource, SecretKeySelector,
};

use super::At;
use crate::api::{EnvironmentFile, KeyValuePair, Secret};
use crate::translate::names::dns_label;
use crate::translate::report::Report;

/// The staging label ECS reads when a Secrets Manager `valueFrom` names neither a version
/// stage nor a version id.
const CURRENT_STAGE: &str = "AWSCURRENT";

/// What an ECS secret `valueFrom` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source<'a> {
    /// A Secrets Manager secret, `arn:...:secret:NAME[:json-key[:version-stage[:version-id]]]`;
    /// empty parts are `None`.
    SecretsManager {
        /// The secret's name as the ARN writes it (with the 6-character suffix, if any).
        name: &'a str,
        /// The key inside a JSON secret.
        json_key: Option<&'a str>,
        /// The staging label of the version (`AWSPREVIOUS`, a custom label, ...).
        version_stage: Option<&'a str>,
        /// The id of the version.
        version_id: Option<&'a str>,
    },
    /// An SSM parameter: `NAME`, `/path/NAME` or `arn:...:parameter/path/NAME`, without the
    /// leading `/`.
    Parameter(&'a str),
}

impl<'a> Source<'a> {
    fn parse(value_from: &'a str) -> Self {
        if let Some((_, rest)) = value_from.split_once(":secret:") {
            let mut parts = rest.split(':').map(|p| Some(p).filter(|p| !p.is_empty()));
            let name = parts.next().flatten().unwrap_or_default();
            let mut next = || parts.next().flatten();
            let (json_key, version_stage, version_id) = (next(), next(), next());
            return Source::SecretsManager {
                name,
                json_key,
                version_stage,
                version_id,
            };
        }
        let parameter = match value_from.split_once(":parameter") {
            Some((_, rest)) => rest,
            None => value_from,
        };
        Source::Parameter(parameter.trim_start_matches('/'))
    }

    /// The version stage and id of a Secrets Manager secret that names another version than
    /// the current one (`AWSCURRENT` alone is the current one, as when nothing is named).
    fn version(self) -> Option<(Option<&'a str>, Option<&'a str>)> {
        match self {
            Source::SecretsManager {
                version_stage,
                version_id,
                ..
            } => match (version_stage, version_id) {
                (None | Some(CURRENT_STAGE), None) => None,
                v => Some(v),
            },
            Source::Parameter(_) => None,
        }
    }
}

/// A Secret key reference for an ECS secret `valueFrom` (never its value), by the naming rule:
/// - Secrets Manager `arn:...:secret:NAME[:json-key[:version-stage[:version-id]]]` → Secret
///   `dns_label("aws-sm-" + NAME)` for the current version (neither a stage nor an id, or the
///   stage `AWSCURRENT` alone), else `dns_label("aws-sm-" + NAME + ":" + STAGE + ":" + ID)`
///   with the stage and id as written (either may be empty), so that each version is its own
///   Secret; key = `json-key`, or `value` for the whole secret string.
/// - SSM parameter `NAME`, `/path/NAME` or `arn:...:parameter/path/NAME` → Secret
///   `dns_label("aws-ssm-" + path)` (without the leading `/`), key `value`.
///
/// [`dns_label`] lowercases the name and, when it had to change it (the `:` of a version
/// always does), appends a hash of the original, so two different references never share a
/// Secret.
pub fn secret_ref(value_from: &str) -> SecretKeySelector {
    let (name, key) = match Source::parse(value_from) {
        source @ Source::SecretsManager { name, json_key, .. } => {
            let secret = match source.version() {
                None => format!("aws-sm-{name}"),
                Some((stage, id)) => format!(
                    "aws-sm-{name}:{}:{}",
                    stage.unwrap_or_default(),
                    id.unwrap_or_default()
                ),
            };
            (dns_label(&secret), json_key.unwrap_or("value"))
        }
        Source::Parameter(path) => (dns_label(&format!("aws-ssm-{path}")), "value"),
    };
    SecretKeySelector {
        name,
        key: key.to_owned(),
        optional: None,
    }
}

/// For a Secrets Manager reference to another version than the current one: how the report
/// names that version, and the `remoteRef.version` External Secrets must be given for it (the
/// stage, or `uuid/ID` for a version id).
fn other_version(value_from: &str) -> Option<(String, String)> {
    match Source::parse(value_from).version()? {
        (None, Some(id)) => Some((format!("version id {id:?}"), format!("uuid/{id}"))),
        (Some(stage), Some(id)) => Some((
            format!("version id {id:?} (stage {stage:?})"),
            format!("uuid/{id}"),
        )),
        (Some(stage), None) => Some((format!("version stage {stage:?}"), stage.to_owned())),
        (None, None) => None,
    }
}

/// Name of the ConfigMap standing for an S3 environment file.
pub fn env_file_config_map(s3_arn: &str) -> String {
    let path = s3_arn.strip_prefix("arn:aws:s3:::").unwrap_or(s3_arn);
    dns_label(&format!("aws-s3-{path}"))
}

/// `environment` and `secrets` → the container's env: values as they are, secrets as Secret
/// key references (see [`secret_ref`]).
pub(super) fn env(
    at: At<'_>,
    environment: Option<&[KeyValuePair]>,
    secrets: Option<&[Secret]>,
    report: &mut Report,
) -> Option<Vec<EnvVar>> {
    let mut env: Vec<EnvVar> = environment
        .into_iter()
        .flatten()
        .map(|kv| EnvVar {
            name: kv.name.clone(),
            value: Some(kv.value.clone().unwrap_or_default()),
            value_from: None,
        })
        .collect();
    for s in secrets.into_iter().flatten() {
        let sel = secret_ref(&s.value_from);
        if let Some((version, remote)) = other_version(&s.value_from) {
            report.approximated(at.obj, at.field("secrets"), format!("secret {:?} reads {version} of its Secrets Manager secret, not the current value: it refers to Secret {:?} key {:?} (the naming rule for a version: aws-sm-NAME:STAGE:ID), which External Secrets must fill from that version (ExternalSecret remoteRef.version {remote:?})", s.name, sel.name, sel.key));
        }
        env.push(EnvVar {
            name: s.name.clone(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(sel),
                ..EnvVarSource::default()
            }),
        });
    }
    if secrets.is_some_and(|s| !s.is_empty()) {
        report.approximated(at.obj, at.field("secrets"), "each secret becomes an env var read from a Kubernetes Secret (named by ecsplane's naming rule: aws-sm-NAME / aws-ssm-PATH, key = json-key or \"value\"), which External Secrets must fill; values are never copied into manifests");
    }
    (!env.is_empty()).then_some(env)
}

/// `environmentFiles` → envFrom ConfigMaps named by [`env_file_config_map`].
pub(super) fn env_from(
    at: At<'_>,
    environment_files: Option<&[EnvironmentFile]>,
    report: &mut Report,
) -> Option<Vec<EnvFromSource>> {
    let files = environment_files.filter(|f| !f.is_empty())?;
    report.approximated(at.obj, at.field("environmentFiles"), "each S3 environment file becomes envFrom a ConfigMap (aws-s3-BUCKET-KEY) that the operator fills from S3; explicit environment still wins, and on a key repeated across files the last file wins on Kubernetes (ECS does not document its order)");
    Some(
        files
            .iter()
            .map(|file| EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: env_file_config_map(&file.value),
                    optional: None,
                }),
                ..EnvFromSource::default()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{render, yaml};
    use super::*;
    use crate::translate::report::Fidelity;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    // The ARN shapes are those of "Retrieve Secrets Manager secrets through environment
    // variables" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html):
    // `arn:aws:secretsmanager:region:account:secret:secret-name:json-key:version-stage:version-id`,
    // where a missing stage and id mean AWSCURRENT.
    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    fn selector(name: &str, key: &str) -> SecretKeySelector {
        SecretKeySelector {
            name: name.into(),
            key: key.into(),
            optional: None,
        }
    }

    #[test]
    fn a_whole_secret_and_a_json_key_of_it_refer_to_the_same_secret() {
        assert_eq!(
            secret_ref(SECRET),
            selector("aws-sm-prod-db-abcdef-4f1b54d8", "value")
        );
        assert_eq!(
            secret_ref(&format!("{SECRET}:password::")),
            selector("aws-sm-prod-db-abcdef-4f1b54d8", "password")
        );
        assert_eq!(
            secret_ref(&format!("{SECRET}::AWSCURRENT:")).name,
            secret_ref(SECRET).name,
            "AWSCURRENT is the version ECS reads when none is named"
        );
    }

    #[test]
    fn a_version_stage_or_id_refers_to_a_secret_of_its_own() {
        let current = secret_ref(&format!("{SECRET}:username::"));
        let previous = secret_ref(&format!("{SECRET}:username:AWSPREVIOUS:"));
        let by_id = secret_ref(&format!(
            "{SECRET}:username::a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
        ));
        let stage_only = secret_ref(&format!("{SECRET}::AWSPREVIOUS:"));
        assert_eq!(
            previous,
            selector("aws-sm-prod-db-abcdef-awsprevious-c16d76a8", "username")
        );
        assert_eq!(
            by_id,
            selector(
                "aws-sm-prod-db-abcdef--a1b2c3d4-5678-90ab-cdef-example-e02c915f",
                "username"
            )
        );
        assert_eq!(
            stage_only,
            selector("aws-sm-prod-db-abcdef-awsprevious-c16d76a8", "value"),
            "one Secret per version, its keys inside"
        );
        let names = [&current.name, &previous.name, &by_id.name];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b, "each version is a different Secret");
            }
        }
    }

    #[test]
    fn an_ssm_parameter_by_arn_or_by_name_refers_to_one_secret() {
        let by_arn = secret_ref("arn:aws:ssm:us-east-1:123456789012:parameter/app/token");
        assert_eq!(by_arn, selector("aws-ssm-app-token-1081916a", "value"));
        assert_eq!(secret_ref("/app/token"), by_arn);
        assert_eq!(
            secret_ref("plain-token"),
            selector("aws-ssm-plain-token", "value")
        );
    }

    #[test]
    fn a_versioned_secret_reads_its_own_secret_and_the_report_names_it() {
        let (spec, report) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1", "secrets": [
                {"name": "DB_USER", "valueFrom": format!("{SECRET}:username::")},
                {"name": "DB_USER_OLD", "valueFrom": format!("{SECRET}:username:AWSPREVIOUS:")}]}]}));
        let env = &yaml(&spec)["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([
                {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "aws-sm-prod-db-abcdef-4f1b54d8", "key": "username"}}},
                {"name": "DB_USER_OLD", "valueFrom": {"secretKeyRef": {"name": "aws-sm-prod-db-abcdef-awsprevious-c16d76a8", "key": "username"}}}
            ])
        );
        let versioned: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.message.contains("DB_USER_OLD"))
            .map(|f| f.message.as_ref())
            .collect();
        assert_eq!(versioned.len(), 1, "{report}");
        assert!(
            versioned[0].contains("version stage \"AWSPREVIOUS\"")
                && versioned[0].contains("aws-sm-prod-db-abcdef-awsprevious-c16d76a8")
                && versioned[0].contains("remoteRef.version \"AWSPREVIOUS\""),
            "{}",
            versioned[0]
        );
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.message.contains("DB_USER\"")),
            "the current version needs no line of its own"
        );
    }

    #[test]
    fn a_version_id_is_given_to_external_secrets_as_a_uuid() {
        assert_eq!(
            other_version(&format!("{SECRET}:k::a1b2c3d4")),
            Some(("version id \"a1b2c3d4\"".into(), "uuid/a1b2c3d4".into()))
        );
        assert_eq!(other_version(&format!("{SECRET}:k:AWSCURRENT:")), None);
        assert_eq!(other_version("/app/token"), None);
    }

    #[test]
    fn secrets_and_log_secret_options_become_references_never_values() {
        // `secrets` and `logConfiguration.secretOptions` take the same valueFrom forms
        // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data.html).
        let (spec, report) = render(json!({"family": "web", "containerDefinitions": [
            {"name": "app", "image": "x@sha256:1",
             "environment": [{"name": "PLAIN", "value": "visible"}],
             "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/app/api-key"}],
             "logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "https://splunk.example.com"},
                "secretOptions": [{"name": "splunk-token", "valueFrom": format!("{SECRET}:splunk-token::")}]}}]}));
        let out = serde_json::to_string(&yaml(&spec)).unwrap();
        let env = yaml(&spec)["containers"][0]["env"].clone();
        assert_eq!(
            env,
            json!([
                {"name": "PLAIN", "value": "visible"},
                {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "aws-ssm-app-api-key-cd3667ad", "key": "value"}}}
            ]),
            "the secret is a secretKeyRef, with no value"
        );
        for absent in ["splunk-token", "arn:aws", "parameter/app", "secretOptions"] {
            assert!(!out.contains(absent), "{absent:?} must not be in {out}");
        }
        let log = report
            .findings
            .iter()
            .find(|f| f.field == "spec.containerDefinitions[app].logConfiguration")
            .expect("a line for the log configuration");
        assert_eq!(log.fidelity, Fidelity::NotCarried);
        assert!(log.message.contains("secretOptions"), "{}", log.message);
    }
}
