//! `environment`, `secrets` and `environmentFiles` → env and envFrom, with the naming rules of
//! the Secrets and ConfigMaps they refer to (see the module documentation of `pod`). Secrets
//! are references, never values.

use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, EnvFromSource, EnvVar, EnvVarSource, SecretKeySelector,
};

use super::At;
use crate::api::{EnvironmentFile, KeyValuePair, Secret};
use crate::translate::names::dns_label;
use crate::translate::report::Report;

/// A Secret key reference for an ECS secret `valueFrom`, and whether a version stage or id
/// was dropped. See the module documentation for the naming rule.
pub fn secret_ref(value_from: &str) -> (SecretKeySelector, bool) {
    if let Some((_, rest)) = value_from.split_once(":secret:") {
        // NAME[:json-key[:version-stage[:version-id]]]
        let mut parts = rest.split(':');
        let name = parts.next().unwrap_or_default();
        let json_key = parts.next().filter(|k| !k.is_empty());
        let versioned = parts.any(|p| !p.is_empty());
        return (
            SecretKeySelector {
                name: dns_label(&format!("aws-sm-{name}")),
                key: json_key.unwrap_or("value").to_owned(),
                optional: None,
            },
            versioned,
        );
    }
    let parameter = match value_from.split_once(":parameter") {
        Some((_, rest)) => rest,
        None => value_from,
    };
    let parameter = parameter.trim_start_matches('/');
    (
        SecretKeySelector {
            name: dns_label(&format!("aws-ssm-{parameter}")),
            key: "value".to_owned(),
            optional: None,
        },
        false,
    )
}

/// Name of the ConfigMap standing for an S3 environment file.
pub fn env_file_config_map(s3_arn: &str) -> String {
    let path = s3_arn.strip_prefix("arn:aws:s3:::").unwrap_or(s3_arn);
    dns_label(&format!("aws-s3-{path}"))
}

/// `environment` and `secrets` → the container's env: values as they are, secrets as Secret
/// key references.
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
    let mut versioned = false;
    for s in secrets.into_iter().flatten() {
        let (sel, v) = secret_ref(&s.value_from);
        versioned |= v;
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
    if versioned {
        report.not_carried(at.obj, at.field("secrets"), "a Secrets Manager version stage or version id cannot be expressed in a Secret reference; configure it on the ExternalSecret");
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
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn secrets_become_secret_references_by_the_naming_rule_never_values() {
        assert_eq!(
            secret_ref("arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:password::"),
            (
                SecretKeySelector {
                    name: dns_label("aws-sm-prod/db-AbCdEf"),
                    key: "password".into(),
                    optional: None
                },
                false
            )
        );
        assert_eq!(
            secret_ref("arn:aws:ssm:us-east-1:1:parameter/app/token").0,
            SecretKeySelector {
                name: dns_label("aws-ssm-app/token"),
                key: "value".into(),
                optional: None
            }
        );
        assert_eq!(
            secret_ref("/app/token").0,
            secret_ref("arn:aws:ssm:us-east-1:1:parameter/app/token").0
        );
        assert!(secret_ref("arn:aws:secretsmanager:r:1:secret:db-AbCdEf:k:AWSPREVIOUS:").1);
    }
}
