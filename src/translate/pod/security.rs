//! The container security context: `privileged`, `readonlyRootFilesystem`, `user`,
//! `dockerSecurityOptions` (no-new-privileges, AppArmor, SELinux) and
//! `linuxParameters.capabilities`.

use k8s_openapi::api::core::v1::{AppArmorProfile, Capabilities, SELinuxOptions, SecurityContext};

use super::At;
use crate::api::KernelCapabilities;
use crate::translate::report::Report;

/// `privileged`, `readonlyRootFilesystem`, `user` and `dockerSecurityOptions` → a security
/// context (capabilities are added by [`capabilities`]).
pub(super) fn security_context(
    at: At<'_>,
    privileged: Option<bool>,
    readonly_root_filesystem: Option<bool>,
    user: Option<&str>,
    docker_security_options: Option<&[String]>,
    report: &mut Report,
) -> SecurityContext {
    let mut sc = SecurityContext {
        privileged: privileged.filter(|p| *p),
        read_only_root_filesystem: readonly_root_filesystem.filter(|r| *r),
        ..SecurityContext::default()
    };
    if let Some(u) = user {
        match parse_user(u) {
            Some((uid, gid)) => {
                sc.run_as_user = Some(uid);
                sc.run_as_group = gid;
            }
            None => report.not_carried(at.obj, at.field("user"), format!("user {u:?}: Kubernetes runs containers as numeric IDs only (runAsUser/runAsGroup); give the uid[:gid]")),
        }
    }
    for opt in docker_security_options.into_iter().flatten() {
        docker_security_option(at, opt, &mut sc, report);
    }
    sc
}

/// One `dockerSecurityOptions` entry → its security context field, or a finding.
fn docker_security_option(at: At<'_>, opt: &str, sc: &mut SecurityContext, report: &mut Report) {
    if opt == "no-new-privileges" || opt == "no-new-privileges:true" {
        sc.allow_privilege_escalation = Some(false);
    } else if let Some(profile) = opt.strip_prefix("apparmor:") {
        sc.app_armor_profile = Some(match profile {
            "unconfined" => AppArmorProfile {
                type_: "Unconfined".into(),
                localhost_profile: None,
            },
            "runtime/default" | "docker-default" => AppArmorProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            },
            p => AppArmorProfile {
                type_: "Localhost".into(),
                localhost_profile: Some(p.into()),
            },
        });
    } else if let Some(label) = opt.strip_prefix("label:") {
        let se = sc
            .se_linux_options
            .get_or_insert_with(SELinuxOptions::default);
        match label.split_once(':') {
            Some(("user", v)) => se.user = Some(v.into()),
            Some(("role", v)) => se.role = Some(v.into()),
            Some(("type", v)) => se.type_ = Some(v.into()),
            Some(("level", v)) => se.level = Some(v.into()),
            _ => report.not_carried(
                at.obj,
                at.field("dockerSecurityOptions"),
                format!("{opt:?} has no SELinux option equivalent"),
            ),
        }
    } else {
        report.not_carried(
            at.obj,
            at.field("dockerSecurityOptions"),
            format!("{opt:?} has no Kubernetes security context equivalent"),
        );
    }
}

/// `linuxParameters.capabilities` → added and dropped capabilities.
pub(super) fn capabilities(caps: &KernelCapabilities) -> Capabilities {
    Capabilities {
        add: caps.add.clone().filter(|a| !a.is_empty()),
        drop: caps.drop.clone().filter(|d| !d.is_empty()),
    }
}

/// `uid` or `uid:gid` (numbers only).
fn parse_user(u: &str) -> Option<(i64, Option<i64>)> {
    match u.split_once(':') {
        Some((a, b)) => Some((a.parse().ok()?, Some(b.parse().ok()?))),
        None => Some((u.parse().ok()?, None)),
    }
}
