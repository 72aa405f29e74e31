//! Container fields that are per pod on Kubernetes: `hostname`, `links` and `extraHosts`
//! (hostAliases), `dnsServers` and `dnsSearchDomains` (dnsConfig), `systemControls` (sysctls),
//! `dockerLabels` (pod annotations), `stopTimeout` (the grace period),
//! `repositoryCredentials` (imagePullSecrets) and `linuxParameters.initProcessEnabled`
//! (shareProcessNamespace). Each container adds to [`PodWide`]; [`PodWide::apply`] sets the
//! pod spec once every container is seen.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    HostAlias, LocalObjectReference, PodDNSConfig, PodSecurityContext, PodSpec, Sysctl,
};

use super::At;
use super::env::secret_ref;
use crate::api::{HostEntry, RepositoryCredentials, SystemControl};
use crate::translate::report::Report;

/// What the containers set that Kubernetes has once per pod.
#[derive(Debug)]
pub(super) struct PodWide {
    stop_timeout: i64,
    stop_timeout_set: bool,
    host_aliases: BTreeMap<String, Vec<String>>,
    dns_servers: Vec<String>,
    dns_searches: Vec<String>,
    sysctls: BTreeMap<String, String>,
    pull_secrets: BTreeSet<String>,
    hostname: Option<String>,
    annotations: BTreeMap<String, String>,
    share_process_namespace: bool,
}

impl Default for PodWide {
    fn default() -> Self {
        Self {
            stop_timeout: 30,
            stop_timeout_set: false,
            host_aliases: BTreeMap::new(),
            dns_servers: Vec::new(),
            dns_searches: Vec::new(),
            sysctls: BTreeMap::new(),
            pull_secrets: BTreeSet::new(),
            hostname: None,
            annotations: BTreeMap::new(),
            share_process_namespace: false,
        }
    }
}

impl PodWide {
    /// `repositoryCredentials` → an imagePullSecret named like a Secrets Manager secret.
    pub(super) fn repository_credentials(
        &mut self,
        at: At<'_>,
        creds: &RepositoryCredentials,
        report: &mut Report,
    ) {
        let sel = secret_ref(&creds.credentials_parameter);
        self.pull_secrets.insert(sel.name.clone());
        report.approximated(at.obj, at.field("repositoryCredentials"), format!("becomes imagePullSecret {:?}: a kubernetes.io/dockerconfigjson Secret synced from the Secrets Manager secret (for example by External Secrets)", sel.name));
    }

    /// `linuxParameters.initProcessEnabled` → shareProcessNamespace.
    pub(super) fn init_process(&mut self, at: At<'_>, report: &mut Report) {
        self.share_process_namespace = true;
        report.approximated(at.obj, at.field("linuxParameters.initProcessEnabled"), "approximated by shareProcessNamespace: the pod's pause process reaps zombies as PID 1, but every container of the pod then sees the others' processes");
    }

    /// `stopTimeout` → the grace period: the largest of the task's containers.
    pub(super) fn stop_timeout(
        &mut self,
        at: At<'_>,
        stop_timeout: i32,
        several_containers: bool,
        report: &mut Report,
    ) {
        self.stop_timeout = if self.stop_timeout_set {
            self.stop_timeout.max(i64::from(stop_timeout))
        } else {
            i64::from(stop_timeout)
        };
        self.stop_timeout_set = true;
        if several_containers {
            report.approximated(at.obj, at.field("stopTimeout"), "the grace period is per pod on Kubernetes: the largest stopTimeout of the task applies to every container");
        }
    }

    /// `hostname` → the pod's hostname: the first container's, if it is a DNS label.
    pub(super) fn hostname(&mut self, at: At<'_>, hostname: &str, report: &mut Report) {
        match &self.hostname {
            None if crate::validate::is_dns_label(hostname) => {
                self.hostname = Some(hostname.to_owned());
            }
            _ => report.not_carried(at.obj, at.field("hostname"), "the hostname is per pod on Kubernetes and must be a DNS label; only the first container's valid hostname is used"),
        }
    }

    /// `links` → each alias resolves to 127.0.0.1 through hostAliases.
    pub(super) fn links(&mut self, at: At<'_>, links: Option<&[String]>, report: &mut Report) {
        for l in links.into_iter().flatten() {
            let (_target, alias) = l.split_once(':').unwrap_or((l, l));
            self.host_aliases
                .entry("127.0.0.1".into())
                .or_default()
                .push(alias.to_owned());
        }
        if links.is_some_and(|l| !l.is_empty()) {
            report.approximated(at.obj, at.field("links"), "containers of a pod reach each other on localhost; each link alias resolves to 127.0.0.1 through hostAliases");
        }
    }

    /// `extraHosts` → hostAliases.
    pub(super) fn extra_hosts(&mut self, extra_hosts: Option<&[HostEntry]>) {
        for h in extra_hosts.into_iter().flatten() {
            self.host_aliases
                .entry(h.ip_address.clone())
                .or_default()
                .push(h.hostname.clone());
        }
    }

    /// `dnsServers` and `dnsSearchDomains` → the pod's dnsConfig (dnsPolicy None).
    pub(super) fn dns(
        &mut self,
        at: At<'_>,
        dns_servers: Option<&[String]>,
        dns_search_domains: Option<&[String]>,
        report: &mut Report,
    ) {
        if dns_servers.is_some_and(|d| !d.is_empty())
            || dns_search_domains.is_some_and(|d| !d.is_empty())
        {
            self.dns_servers
                .extend(dns_servers.into_iter().flatten().cloned());
            self.dns_searches
                .extend(dns_search_domains.into_iter().flatten().cloned());
            report.approximated(at.obj, at.field("dnsServers"), "DNS settings are per pod on Kubernetes (dnsPolicy None with dnsConfig), which also drops cluster DNS for every container");
        }
    }

    /// `systemControls` → the pod's sysctls; the first value of a sysctl wins.
    pub(super) fn system_controls(
        &mut self,
        at: At<'_>,
        system_controls: Option<&[SystemControl]>,
        report: &mut Report,
    ) {
        for s in system_controls.into_iter().flatten() {
            if let (Some(n), Some(v)) = (&s.namespace, &s.value) {
                if self.sysctls.get(n).is_some_and(|old| old != v) {
                    report.approximated(at.obj, at.field("systemControls"), format!("sysctl {n} is set differently by two containers; sysctls are per pod on Kubernetes and the first value is used"));
                } else {
                    self.sysctls.insert(n.clone(), v.clone());
                }
            }
        }
    }

    /// `dockerLabels` → pod annotations; the first value of a label wins.
    pub(super) fn docker_labels(
        &mut self,
        at: At<'_>,
        docker_labels: Option<&BTreeMap<String, String>>,
        report: &mut Report,
    ) {
        for (key, value) in docker_labels.into_iter().flatten() {
            if is_annotation_key(key) {
                if self
                    .annotations
                    .get(key)
                    .is_some_and(|old: &String| old != value)
                {
                    report.approximated(at.obj, at.field("dockerLabels"), format!("docker label {key:?} differs between containers; pod annotations are per pod and the first value is kept"));
                } else {
                    self.annotations
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
            } else {
                report.not_carried(
                    at.obj,
                    at.field("dockerLabels"),
                    format!("docker label {key:?} is not a valid Kubernetes annotation key"),
                );
            }
        }
        if docker_labels.is_some_and(|l| !l.is_empty()) {
            report.approximated(at.obj, at.field("dockerLabels"), "docker labels become pod annotations (tools that read container labels must read pod annotations)");
        }
    }

    /// Sets what was gathered on the pod spec; returns the pod annotations and the stop
    /// timeout (the base of the grace period).
    pub(super) fn apply(self, spec: &mut PodSpec) -> (BTreeMap<String, String>, i64) {
        let Self {
            stop_timeout,
            stop_timeout_set: _,
            host_aliases,
            mut dns_servers,
            mut dns_searches,
            sysctls,
            pull_secrets,
            hostname,
            annotations,
            share_process_namespace,
        } = self;
        if share_process_namespace {
            spec.share_process_namespace = Some(true);
        }
        if !host_aliases.is_empty() {
            spec.host_aliases = Some(
                host_aliases
                    .into_iter()
                    .map(|(ip, mut hostnames)| {
                        hostnames.dedup();
                        HostAlias {
                            ip,
                            hostnames: Some(hostnames),
                        }
                    })
                    .collect(),
            );
        }
        if !dns_servers.is_empty() || !dns_searches.is_empty() {
            dns_servers.dedup();
            dns_searches.dedup();
            spec.dns_policy = Some("None".into());
            spec.dns_config = Some(PodDNSConfig {
                nameservers: (!dns_servers.is_empty()).then_some(dns_servers),
                searches: (!dns_searches.is_empty()).then_some(dns_searches),
                options: None,
            });
        }
        if !sysctls.is_empty() {
            spec.security_context = Some(PodSecurityContext {
                sysctls: Some(
                    sysctls
                        .into_iter()
                        .map(|(name, value)| Sysctl { name, value })
                        .collect(),
                ),
                ..Default::default()
            });
        }
        if !pull_secrets.is_empty() {
            spec.image_pull_secrets = Some(
                pull_secrets
                    .into_iter()
                    .map(|name| LocalObjectReference { name })
                    .collect(),
            );
        }
        spec.hostname = hostname;
        if stop_timeout != 30 {
            spec.termination_grace_period_seconds = Some(stop_timeout);
        }
        (annotations, stop_timeout)
    }
}

/// A qualified name usable as an annotation key: `[prefix/]name`, name ≤ 63 characters of
/// alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric; prefix a DNS subdomain.
pub fn is_annotation_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    name_ok && prefix.is_none_or(crate::validate::is_dns_subdomain)
}
