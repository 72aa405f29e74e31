//! References in the forms people already have (plain names and ARNs), and the deterministic
//! names and labels of the Kubernetes objects ecsplane creates.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::Hasher as _;

use fnv::FnvHasher;

/// Label every generated object and pod carries: the ecsplane object it belongs to.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY: &str = "ecsplane";
/// Label selecting a service's pods (value: the EcsService's `metadata.name`). Selectors never
/// contain a revision, so they stay valid across task definition changes.
pub const LABEL_SERVICE: &str = "ecsplane.io/service";
/// Label selecting a standalone task's pods (value: the EcsTask's `metadata.name`).
pub const LABEL_TASK: &str = "ecsplane.io/task";
/// Label carrying the task definition family of a pod.
pub const LABEL_FAMILY: &str = "ecsplane.io/family";
/// Annotation carrying the task definition `family:revision` of a pod template.
pub const ANNOTATION_TASK_DEFINITION: &str = "ecsplane.io/task-definition";
/// Prefix of the label that registers a pod with a target group: the label
/// `targetgroup.ecsplane.io/<target group name>` is set on every pod of a service that lists
/// that target group, and the target group's Service selects on it.
pub const LABEL_TARGET_GROUP_PREFIX: &str = "targetgroup.ecsplane.io/";

/// The target group name in a `targetGroupArn`: a plain name, or an ARN
/// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`. (The name a
/// TargetGroup object is referred to by is [`TargetGroup::target_group_name`].)
///
/// [`TargetGroup::target_group_name`]: crate::api::TargetGroup::target_group_name
pub fn target_group_of_arn(reference: &str) -> &str {
    match reference.split_once(":targetgroup/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => reference,
    }
}

/// A task definition reference split into family and optional revision: `family`,
/// `family:N`, or an ARN `arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:N`.
pub fn task_definition_ref(reference: &str) -> (&str, Option<i64>) {
    let tail = match reference.split_once(":task-definition/") {
        Some((_, rest)) => rest,
        None => reference,
    };
    match tail.rsplit_once(':') {
        Some((family, rev)) => match rev.parse::<i64>() {
            Ok(n) => (family, Some(n)),
            Err(_) => (tail, None),
        },
        None => (tail, None),
    }
}

/// The name part of a cluster reference: a plain name or an ARN `...:cluster/NAME`; `default`
/// when absent.
pub fn cluster_name(reference: Option<&str>) -> &str {
    match reference {
        None | Some("") => "default",
        Some(r) => match r.split_once(":cluster/") {
            Some((_, name)) => name,
            None => r,
        },
    }
}

/// [`dns_label`] of `name`, at most `max` characters (at least 10): a longer label keeps its
/// start and ends in `-` and 8 hex digits of a hash of `name`, so distinct names stay distinct
/// (a CronJob's name may have 52 characters, as its Jobs' names add a suffix).
pub fn dns_label_within(name: &str, max: usize) -> String {
    let label = dns_label(name);
    let max = max.max(10);
    if label.len() <= max {
        return label;
    }
    let stem = label[..max - 9].trim_end_matches('-');
    format!("{stem}-{:08x}", fnv1a(name) as u32)
}

/// A DNS-1123 label (lowercase alphanumerics and `-`, at most 63 characters, starting and
/// ending alphanumeric) derived from an AWS name, which may contain upper case and `_`.
/// Names that change are made unique with a short hash of the original, so two different AWS
/// names never map to the same Kubernetes name.
pub fn dns_label(name: &str) -> String {
    // Most AWS names already are labels: keep them without rebuilding.
    let b = name.as_bytes();
    if !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
    {
        return name.to_owned();
    }
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let changed = mapped != name;
    let trimmed = match mapped.trim_matches('-') {
        "" => "x",
        t => t,
    };
    if !changed && trimmed.len() <= 63 {
        return trimmed.to_owned();
    }
    // `-` and 8 hex digits of the hash, after at most 54 characters of the name.
    const SUFFIX_LEN: usize = 9;
    let stem = trimmed[..trimmed.len().min(63 - SUFFIX_LEN)].trim_end_matches('-');
    let mut out = String::with_capacity(stem.len() + SUFFIX_LEN);
    out.push_str(stem);
    write!(out, "-{:08x}", fnv1a(name) as u32).expect("writing to a String cannot fail");
    out
}

/// Name of the Service that stands for a target group.
pub fn target_group_service_name(target_group_name: &str) -> String {
    dns_label(target_group_name)
}

/// Label key that registers a pod with a target group.
pub fn target_group_label(target_group_name: &str) -> String {
    format!(
        "{LABEL_TARGET_GROUP_PREFIX}{}",
        dns_label(target_group_name)
    )
}

/// Selector labels of a service's pods.
pub fn service_selector(service_object_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL_SERVICE.to_owned(), service_object_name.to_owned())])
}

/// A small stable hash (64-bit FNV-1a of the bytes), so generated names never depend on the
/// platform or Rust version. The bytes are written directly: `Hash for str` would append a
/// `0xff` and change every generated name.
fn fnv1a(s: &str) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(s.as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_label_within_a_bound_keeps_short_names_and_hashes_long_ones_apart() {
        assert_eq!(
            super::dns_label_within("nightly-report", 52),
            "nightly-report"
        );
        let a = "cfn-templates-ecs-schedule-stepscaling-ecsscheduledtask-a";
        let b = "cfn-templates-ecs-schedule-stepscaling-ecsscheduledtask-b";
        let (la, lb) = (
            super::dns_label_within(a, 52),
            super::dns_label_within(b, 52),
        );
        assert!(la.len() <= 52 && lb.len() <= 52, "{la} {lb}");
        assert_ne!(la, lb);
        assert_eq!(la, super::dns_label_within(a, 52));
    }

    use super::*;

    #[test]
    fn target_group_arns_resolve_to_their_name_part() {
        assert_eq!(
            target_group_of_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/6d0ecf831eec9f09"
            ),
            "web-tg"
        );
        assert_eq!(target_group_of_arn("web-tg"), "web-tg");
    }

    #[test]
    fn task_definition_references_split_into_family_and_revision() {
        assert_eq!(task_definition_ref("web"), ("web", None));
        assert_eq!(task_definition_ref("web:7"), ("web", Some(7)));
        assert_eq!(
            task_definition_ref("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"),
            ("web", Some(3))
        );
        assert_eq!(
            task_definition_ref("arn:aws:ecs:us-east-1:123456789012:task-definition/web"),
            ("web", None)
        );
    }

    #[test]
    fn cluster_references_default_to_default() {
        assert_eq!(cluster_name(None), "default");
        assert_eq!(
            cluster_name(Some("arn:aws:ecs:us-east-1:123456789012:cluster/prod")),
            "prod"
        );
        assert_eq!(cluster_name(Some("prod")), "prod");
    }

    #[test]
    fn dns_labels_keep_valid_names_and_disambiguate_changed_ones() {
        assert_eq!(dns_label("web"), "web");
        let a = dns_label("My_Service");
        let b = dns_label("my-service");
        assert_ne!(a, b, "names that differ in AWS must differ in Kubernetes");
        assert!(a.starts_with("my-service-"));
        let long = dns_label(&"a".repeat(100));
        assert!(long.len() <= 63);
    }

    /// The test vectors of the FNV reference (draft-eastlake-fnv): the hash behind every
    /// generated name suffix.
    #[test]
    fn the_name_hash_is_64_bit_fnv_1a_of_the_bytes() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn dns_labels_are_stable() {
        // Generated names are part of the output: these must never change.
        let long = "a".repeat(70);
        let mixed = format!("{}{}{}", "A".repeat(50), "_".repeat(10), "b".repeat(10));
        let dash_at_cut = format!("{}-Y", "x".repeat(54));
        for (name, label) in [
            ("aws-sm-prod/db-AbCdEf", "aws-sm-prod-db-abcdef-4f1b54d8"),
            ("-web-", "web"),
            ("", "x"),
            ("__", "x-b5e074e3"),
            ("Ünïcode_Name", "n-code-name-813bf917"),
            (
                long.as_str(),
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-8863accb",
            ),
            (
                mixed.as_str(),
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-478b764d",
            ),
            (
                dash_at_cut.as_str(),
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-0c5bf30b",
            ),
        ] {
            assert_eq!(dns_label(name), label, "{name:?}");
        }
    }
}
