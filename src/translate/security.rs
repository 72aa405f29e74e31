//! The security policy: which host-level ECS fields a cluster admin lets tenants use.
//!
//! ECS task definitions can ask for what no tenant of a shared Kubernetes cluster should get
//! by default: privileged containers, the host's network, PID or IPC namespace, host paths and
//! devices, extra kernel capabilities, root, AppArmor or SELinux overrides, unsafe sysctls. An
//! EcsCluster's capacity provider mappings can tolerate every taint or select control-plane
//! nodes. The policy is the operator's setting (`--security-policy`, chart value
//! `securityPolicy`), chosen by the cluster admin, never by the tenant; `ecsplane render`
//! takes the same flag. Each level refuses a field with the field's path and the level named,
//! so a refusal reads "spec.containerDefinitions[app].privileged: … not allowed by the
//! security policy restricted".
//!
//! The levels follow the Kubernetes Pod Security Standards
//! (<https://kubernetes.io/docs/concepts/security/pod-security-standards/>), applied to the
//! ECS fields that produce the pod fields those standards control:
//!
//! | ECS field                                   | pod field                         | baseline | restricted |
//! |---------------------------------------------|-----------------------------------|----------|------------|
//! | `privileged: true`                          | `securityContext.privileged`      | refused  | refused    |
//! | `networkMode: host`                         | `hostNetwork`                     | refused  | refused    |
//! | `pidMode: host`, `ipcMode: host`            | `hostPID`, `hostIPC`              | refused  | refused    |
//! | `volumes[].host.sourcePath`                 | `hostPath` volume                 | refused  | refused    |
//! | `linuxParameters.devices`                   | (host devices)                    | refused  | refused    |
//! | `linuxParameters.capabilities.add`          | `capabilities.add`                | outside the baseline set | other than `NET_BIND_SERVICE` |
//! | `dockerSecurityOptions` `apparmor:unconfined` | `appArmorProfile: Unconfined`   | refused  | refused    |
//! | `dockerSecurityOptions` `label:user:`/`label:role:`/`label:type:` other than the container types, `label:disable` | `seLinuxOptions` | refused | refused |
//! | `systemControls` outside the safe set       | `sysctls`                         | refused  | refused    |
//! | `user` root (`0`, `root`, `0:…`)            | `runAsUser: 0`                    | allowed  | refused    |
//! | capacity provider mapping tolerating every taint, or a control-plane taint | `tolerations` | refused | refused |
//! | capacity provider mapping selecting control-plane nodes | `nodeSelector`      | refused  | refused    |
//!
//! `privileged` refuses nothing. What a policy does not refuse is translated as before, and
//! the report still says what differs from ECS.

use std::fmt;
use std::str::FromStr;

use crate::api::{
    CapacityProviderMapping, ContainerDefinition, EcsCluster, IpcMode, NetworkMode, PidMode,
    TaskDefinition,
};

/// How much host-level access ECS definitions may ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecurityPolicy {
    /// What the Pod Security Standard `restricted` forbids is refused too: no root user and
    /// no added capability but `NET_BIND_SERVICE`, on top of everything `baseline` refuses.
    #[default]
    Restricted,
    /// The Pod Security Standard `baseline`: no privileged containers, host namespaces, host
    /// paths or devices, capabilities beyond Docker's default set, AppArmor or SELinux
    /// overrides or unsafe sysctls, and no scheduling onto control-plane nodes.
    Baseline,
    /// Everything ECS accepts is translated.
    Privileged,
}

impl SecurityPolicy {
    /// Every level, most restrictive first.
    pub const ALL: [SecurityPolicy; 3] = [
        SecurityPolicy::Restricted,
        SecurityPolicy::Baseline,
        SecurityPolicy::Privileged,
    ];

    /// The level's name, as the flag takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityPolicy::Restricted => "restricted",
            SecurityPolicy::Baseline => "baseline",
            SecurityPolicy::Privileged => "privileged",
        }
    }
}

impl fmt::Display for SecurityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecurityPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecurityPolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown security policy {s:?}: expected restricted, baseline or privileged"
                )
            })
    }
}

/// A field the policy refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Path of the field in the object (`spec.containerDefinitions[app].privileged`).
    pub field: String,
    /// Why, naming the policy.
    pub message: String,
}

/// Capabilities the Pod Security Standard `baseline` allows to be added (Docker's default
/// set, which ECS containers have without asking).
pub const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The only capability the Pod Security Standard `restricted` allows to be added.
pub const RESTRICTED_CAPABILITIES: [&str; 1] = ["NET_BIND_SERVICE"];

/// Sysctls the Pod Security Standard `baseline` allows (the kubelet's safe set).
pub const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// SELinux types the Pod Security Standard `baseline` allows.
pub const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// Taints of control-plane nodes: a mapping that tolerates one lets tenants' tasks onto them.
pub const CONTROL_PLANE_TAINTS: [&str; 2] = [
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
];

/// Every field of `td` the policy refuses, in field order.
pub fn check_task_definition(td: &TaskDefinition, policy: SecurityPolicy) -> Vec<Violation> {
    let mut out = Vec::new();
    if policy == SecurityPolicy::Privileged {
        return out;
    }
    let mut refuse = |field: String, what: String| {
        out.push(Violation {
            field,
            message: format!(
                "{what} is not allowed by the security policy {policy}; the cluster admin can \
                 choose a wider policy (--security-policy, chart value securityPolicy)"
            ),
        });
    };
    let spec = &td.spec;
    if spec.network_mode == Some(NetworkMode::Host) {
        refuse(
            "spec.networkMode".into(),
            "networkMode host (the node's network namespace)".into(),
        );
    }
    if spec.pid_mode == Some(PidMode::Host) {
        refuse(
            "spec.pidMode".into(),
            "pidMode host (the node's PID namespace)".into(),
        );
    }
    if spec.ipc_mode == Some(IpcMode::Host) {
        refuse(
            "spec.ipcMode".into(),
            "ipcMode host (the node's IPC namespace)".into(),
        );
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(path) = v.host.as_ref().and_then(|h| h.source_path.as_deref()) {
            refuse(
                format!("spec.volumes[{}].host.sourcePath", v.name),
                format!("a host path volume ({path:?} on the node)"),
            );
        }
    }
    for c in &spec.container_definitions {
        check_container(c, policy, &mut refuse);
    }
    out
}

fn check_container(
    c: &ContainerDefinition,
    policy: SecurityPolicy,
    refuse: &mut impl FnMut(String, String),
) {
    let f = |field: &str| format!("spec.containerDefinitions[{}].{field}", c.name);
    if c.privileged == Some(true) {
        refuse(
            f("privileged"),
            "a privileged container (every device and capability of the node)".into(),
        );
    }
    if policy == SecurityPolicy::Restricted
        && let Some(user) = c.user.as_deref()
        && is_root(user)
    {
        refuse(f("user"), format!("running as root (user {user:?})"));
    }
    if let Some(lp) = &c.linux_parameters {
        let allowed: &[&str] = match policy {
            SecurityPolicy::Restricted => &RESTRICTED_CAPABILITIES,
            _ => &BASELINE_CAPABILITIES,
        };
        for cap in lp.capabilities.iter().flat_map(|k| k.add.iter().flatten()) {
            let name = cap.trim().to_ascii_uppercase();
            let name = name.strip_prefix("CAP_").unwrap_or(&name);
            if !allowed.contains(&name) {
                refuse(
                    f("linuxParameters.capabilities.add"),
                    format!("adding capability {cap}"),
                );
            }
        }
        if lp.devices.as_ref().is_some_and(|d| !d.is_empty()) {
            refuse(
                f("linuxParameters.devices"),
                "access to the node's devices".into(),
            );
        }
    }
    for opt in c.docker_security_options.iter().flatten() {
        if let Some(why) = security_option_violation(opt) {
            refuse(f("dockerSecurityOptions"), why);
        }
    }
    for s in c.system_controls.iter().flatten() {
        if let Some(n) = s.namespace.as_deref()
            && !SAFE_SYSCTLS.contains(&n)
        {
            refuse(
                f("systemControls"),
                format!("sysctl {n} (outside the safe set, it changes the node's kernel)"),
            );
        }
    }
}

/// Whether an ECS `user` (`user`, `uid`, `user:group`, `uid:gid`, …) is root.
fn is_root(user: &str) -> bool {
    let who = user.split(':').next().unwrap_or_default().trim();
    who == "root" || (!who.is_empty() && who.bytes().all(|b| b == b'0'))
}

/// Why a `dockerSecurityOptions` entry is refused by baseline (and restricted), if it is.
fn security_option_violation(opt: &str) -> Option<String> {
    if let Some(profile) = opt.strip_prefix("apparmor:") {
        return (profile.trim() == "unconfined").then(|| {
            "AppArmor profile unconfined (dockerSecurityOptions apparmor:unconfined)".into()
        });
    }
    if let Some(label) = opt.strip_prefix("label:") {
        return match label.split_once(':') {
            Some(("user" | "role", v)) => Some(format!(
                "an SELinux {} override ({opt:?}; only the type and level may be set)",
                if label.starts_with("user") {
                    "user"
                } else {
                    "role"
                },
            ))
            .filter(|_| !v.is_empty()),
            Some(("type", v)) if !SELINUX_TYPES.contains(&v) => Some(format!(
                "SELinux type {v:?} (baseline allows {})",
                SELINUX_TYPES.join(", ")
            )),
            None if label == "disable" => Some("disabling SELinux labels (label:disable)".into()),
            _ => None,
        };
    }
    opt.strip_prefix("seccomp:")
        .filter(|p| p.trim() == "unconfined")
        .map(|_| "seccomp profile unconfined".into())
}

/// Every capacity provider mapping of `cluster` the policy refuses.
pub fn check_cluster(cluster: &EcsCluster, policy: SecurityPolicy) -> Vec<Violation> {
    let mut out = Vec::new();
    if policy == SecurityPolicy::Privileged {
        return out;
    }
    for m in cluster.spec.capacity_provider_mappings.iter().flatten() {
        check_mapping(m, policy, &mut out);
    }
    out
}

fn check_mapping(m: &CapacityProviderMapping, policy: SecurityPolicy, out: &mut Vec<Violation>) {
    let field = |f: &str| format!("spec.capacityProviderMappings[{}].{f}", m.capacity_provider);
    let mut refuse = |field: String, what: String| {
        out.push(Violation {
            field,
            message: format!(
                "{what} is not allowed by the security policy {policy}; the cluster admin can \
                 choose a wider policy (--security-policy, chart value securityPolicy)"
            ),
        });
    };
    for t in m.tolerations.iter().flatten() {
        let key = t.key.as_deref().unwrap_or_default();
        if t.operator.as_deref() == Some("Exists") && key.is_empty() {
            refuse(
                field("tolerations"),
                "a toleration of every taint (operator Exists without a key)".into(),
            );
        } else if CONTROL_PLANE_TAINTS.contains(&key) {
            refuse(
                field("tolerations"),
                format!("tolerating the control-plane taint {key}"),
            );
        }
    }
    for key in m.node_selector.iter().flat_map(|s| s.keys()) {
        if CONTROL_PLANE_TAINTS.contains(&key.as_str()) {
            refuse(
                field("nodeSelector"),
                format!("selecting control-plane nodes ({key})"),
            );
        }
    }
}

/// Why a child named `name` of kind `kind` may never be written, if it is reserved: objects
/// every namespace (or the cluster) relies on, which a tenant's ECS object must not be able to
/// take over even on a first write.
pub fn reserved_child(kind: &str, name: &str) -> Option<&'static str> {
    match (kind, name) {
        ("ServiceAccount", "default") => Some(
            "the ServiceAccount default belongs to the namespace: every pod without its own \
             ServiceAccount runs as it",
        ),
        ("Service", "kubernetes") => {
            Some("the Service kubernetes is the API server's own (in the default namespace)")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(spec: serde_json::Value) -> TaskDefinition {
        serde_json::from_value(json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": "t", "namespace": "team-a"},
            "spec": spec,
        }))
        .expect("a valid task definition")
    }

    fn fields(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.field.as_str()).collect()
    }

    fn host_level() -> TaskDefinition {
        td(json!({
            "family": "t",
            "networkMode": "host",
            "pidMode": "host",
            "ipcMode": "host",
            "volumes": [{"name": "root", "host": {"sourcePath": "/"}}, {"name": "scratch", "host": {}}],
            "containerDefinitions": [{
                "name": "app",
                "image": "busybox",
                "privileged": true,
                "user": "0",
                "linuxParameters": {
                    "capabilities": {"add": ["SYS_ADMIN", "ALL", "CHOWN", "NET_BIND_SERVICE"]},
                    "devices": [{"hostPath": "/dev/kmsg"}],
                },
                "dockerSecurityOptions": ["apparmor:unconfined", "label:type:spc_t", "label:user:system_u", "no-new-privileges"],
                "systemControls": [{"namespace": "kernel.core_pattern", "value": "|/bin/sh"}, {"namespace": "net.ipv4.tcp_syncookies", "value": "1"}],
            }],
        }))
    }

    #[test]
    fn restricted_refuses_every_host_level_field_naming_it() {
        let v = check_task_definition(&host_level(), SecurityPolicy::Restricted);
        assert_eq!(
            fields(&v),
            [
                "spec.networkMode",
                "spec.pidMode",
                "spec.ipcMode",
                "spec.volumes[root].host.sourcePath",
                "spec.containerDefinitions[app].privileged",
                "spec.containerDefinitions[app].user",
                "spec.containerDefinitions[app].linuxParameters.capabilities.add",
                "spec.containerDefinitions[app].linuxParameters.capabilities.add",
                "spec.containerDefinitions[app].linuxParameters.capabilities.add",
                "spec.containerDefinitions[app].linuxParameters.devices",
                "spec.containerDefinitions[app].dockerSecurityOptions",
                "spec.containerDefinitions[app].dockerSecurityOptions",
                "spec.containerDefinitions[app].dockerSecurityOptions",
                "spec.containerDefinitions[app].systemControls",
            ]
        );
        assert!(
            v.iter()
                .all(|v| v.message.contains("security policy restricted"))
        );
        assert!(v[6].message.contains("SYS_ADMIN"));
        assert!(
            v[8].message.contains("CHOWN"),
            "restricted adds only NET_BIND_SERVICE"
        );
        assert!(v[13].message.contains("kernel.core_pattern"));
    }

    #[test]
    fn baseline_allows_root_and_dockers_default_capabilities() {
        let v = check_task_definition(&host_level(), SecurityPolicy::Baseline);
        let f = fields(&v);
        assert!(!f.contains(&"spec.containerDefinitions[app].user"));
        let caps: Vec<&str> = v
            .iter()
            .filter(|v| v.field.ends_with("capabilities.add"))
            .map(|v| v.message.as_str())
            .collect();
        assert_eq!(caps.len(), 2, "{caps:?}");
        assert!(caps[0].contains("SYS_ADMIN") && caps[1].contains("ALL"));
        assert!(
            v.iter()
                .all(|v| v.message.contains("security policy baseline"))
        );
    }

    #[test]
    fn privileged_refuses_nothing() {
        assert!(check_task_definition(&host_level(), SecurityPolicy::Privileged).is_empty());
    }

    #[test]
    fn an_ordinary_task_definition_passes_restricted() {
        let t = td(json!({
            "family": "web",
            "networkMode": "awsvpc",
            "volumes": [{"name": "cache", "host": {}}],
            "containerDefinitions": [{
                "name": "app", "image": "nginx", "user": "1000:1000",
                "linuxParameters": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}, "initProcessEnabled": true},
                "dockerSecurityOptions": ["no-new-privileges", "apparmor:runtime/default", "label:level:s0:c123,c456"],
                "systemControls": [{"namespace": "net.ipv4.tcp_keepalive_time", "value": "60"}],
            }],
        }));
        assert_eq!(
            check_task_definition(&t, SecurityPolicy::Restricted),
            Vec::new()
        );
    }

    #[test]
    fn root_is_recognised_by_name_uid_and_uid_with_group() {
        for u in ["0", "root", "0:0", "root:wheel", "00"] {
            assert!(is_root(u), "{u}");
        }
        for u in ["1000", "nginx", "1000:0", "", "10"] {
            assert!(!is_root(u), "{u}");
        }
    }

    fn cluster(mappings: serde_json::Value) -> EcsCluster {
        serde_json::from_value(json!({
            "apiVersion": "ecsplane.io/v1alpha1",
            "kind": "EcsCluster",
            "metadata": {"name": "default", "namespace": "team-a"},
            "spec": {"capacityProviderMappings": mappings},
        }))
        .expect("a valid cluster")
    }

    #[test]
    fn a_mapping_that_tolerates_everything_or_targets_the_control_plane_is_refused() {
        let c = cluster(json!([
            {"capacityProvider": "FARGATE", "tolerations": [{"operator": "Exists"}]},
            {"capacityProvider": "EC2", "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
             "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]},
            {"capacityProvider": "FARGATE_SPOT", "nodeSelector": {"ecsplane.io/capacity-provider": "FARGATE_SPOT"},
             "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]},
        ]));
        let v = check_cluster(&c, SecurityPolicy::Baseline);
        assert_eq!(
            fields(&v),
            [
                "spec.capacityProviderMappings[FARGATE].tolerations",
                "spec.capacityProviderMappings[EC2].tolerations",
                "spec.capacityProviderMappings[EC2].nodeSelector",
            ]
        );
        assert!(check_cluster(&c, SecurityPolicy::Privileged).is_empty());
    }

    #[test]
    fn the_default_service_account_and_the_kubernetes_service_are_reserved() {
        assert!(reserved_child("ServiceAccount", "default").is_some());
        assert!(reserved_child("Service", "kubernetes").is_some());
        assert!(reserved_child("ServiceAccount", "web").is_none());
        assert!(reserved_child("Deployment", "default").is_none());
    }

    #[test]
    fn the_policy_parses_from_its_name() {
        for p in SecurityPolicy::ALL {
            assert_eq!(p.as_str().parse::<SecurityPolicy>(), Ok(p));
        }
        assert!("open".parse::<SecurityPolicy>().is_err());
        assert_eq!(SecurityPolicy::default(), SecurityPolicy::Restricted);
    }
}
