//! TLS of HTTPS listeners (certificates, SSL policy, mutual TLS) and the listener's port, in
//! each profile: carried where the profile can say it, reported field by field where not.
//!
//! - **Secret naming rule** ([`tls_secret_name`]): the certificate `arn:…:certificate/ID` (ACM)
//!   or `arn:…:server-certificate/[PATH/]NAME` (IAM) is the Kubernetes Secret
//!   `dns_label("tls-" + ID)` (`tls-` and the last `/`-separated part of the ARN). The Secret
//!   (type `kubernetes.io/tls`) is the user's to create, as every Secret ecsplane refers to;
//!   ecsplane never reads or writes certificates or keys.
//! - `ingress`: the default certificate becomes the one `spec.tls` entry, for the hosts of the
//!   Ingress rules (`ingress_tls`).
//! - `gateway`: the Gateway listener (`https-<port>`) terminates TLS; ecsplane emits no Gateway
//!   and no Secret, and the report names the `certificateRefs` it needs (`report_gateway`).
//! - `alb`: the Load Balancer Controller annotations carry everything (see [`super::lbc`]).

use serde_json::{Value, json};

use crate::api::{Listener, ListenerProtocol};
use crate::translate::names::dns_label;
use crate::translate::report::{ObjectRef, Report};

use super::gateway::GatewayListener;

/// The Kubernetes Secret (type `kubernetes.io/tls`) that stands for a server certificate:
/// `tls-` and the certificate's ID (the last `/`-separated part of the ARN: the ACM
/// certificate ID, or the IAM server certificate name), as a DNS label.
pub fn tls_secret_name(certificate_arn: &str) -> String {
    let id = certificate_arn
        .rsplit('/')
        .next()
        .unwrap_or(certificate_arn);
    dns_label(&format!("tls-{id}"))
}

/// One server certificate of a listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerCertificate<'a> {
    /// Index in `spec.certificates`.
    pub index: usize,
    /// The certificate ARN.
    pub arn: &'a str,
}

impl ServerCertificate<'_> {
    /// `spec.certificates[N]`.
    pub fn field(&self) -> String {
        format!("spec.certificates[{}]", self.index)
    }

    /// The Secret that stands for it ([`tls_secret_name`]).
    pub fn secret(&self) -> String {
        tls_secret_name(self.arn)
    }
}

/// The listener's certificates, the default one first: the one marked `isDefault`, else the
/// first (CreateListener takes exactly one, the default; describe output marks it), then the
/// others (the SNI certificates) in order, each ARN once.
pub(crate) fn certificates(listener: &Listener) -> Vec<ServerCertificate<'_>> {
    let certs = listener.spec.certificates.as_deref().unwrap_or_default();
    let default = certs
        .iter()
        .position(|c| c.is_default == Some(true))
        .unwrap_or(0);
    let mut out: Vec<ServerCertificate<'_>> = Vec::with_capacity(certs.len());
    let order = certs
        .get(default)
        .map(|c| (default, c))
        .into_iter()
        .chain(certs.iter().enumerate().filter(|(i, _)| *i != default));
    for (index, c) in order {
        if !out.iter().any(|o| o.arn == c.certificate_arn) {
            out.push(ServerCertificate {
                index,
                arn: &c.certificate_arn,
            });
        }
    }
    out
}

/// Whether the listener terminates TLS (protocol HTTPS).
pub(crate) fn is_https(listener: &Listener) -> bool {
    listener.spec.protocol == Some(ListenerProtocol::Https)
}

/// `mutualAuthentication` of a listener: how the ALB handles client certificates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MutualTls {
    /// `off`, `passthrough` or `verify`, in lower case.
    pub mode: String,
    /// The trust store (`verify`).
    pub trust_store_arn: Option<String>,
    /// Whether expired client certificates are accepted (`verify`).
    pub ignore_client_certificate_expiry: Option<bool>,
    /// `on` or `off`: whether the ALB advertises the trust store's CA names (`verify`).
    pub advertise_trust_store_ca_names: Option<String>,
}

impl MutualTls {
    /// The listener's setting, `None` when it has none. Keys are read in lowerCamelCase (the
    /// ELBv2 API as ecsplane writes it) or UpperCamelCase (CloudFormation); a missing mode is
    /// `off`, the ALB's default.
    pub fn of(listener: &Listener) -> Option<Self> {
        let v = listener.spec.mutual_authentication.as_ref()?;
        let get = |key: &str| {
            let upper: String = key
                .chars()
                .take(1)
                .flat_map(char::to_uppercase)
                .chain(key.chars().skip(1))
                .collect();
            v.get(key).or_else(|| v.get(upper.as_str()))
        };
        let text = |key: &str| get(key).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            mode: text("mode")
                .map(|m| m.to_ascii_lowercase())
                .unwrap_or_else(|| "off".to_owned()),
            trust_store_arn: text("trustStoreArn"),
            ignore_client_certificate_expiry: get("ignoreClientCertificateExpiry")
                .and_then(|b| b.as_bool().or_else(|| b.as_str()?.parse().ok())),
            advertise_trust_store_ca_names: text("advertiseTrustStoreCaNames")
                .map(|a| a.to_ascii_lowercase()),
        })
    }

    /// Whether the ALB does anything with client certificates.
    pub fn is_on(&self) -> bool {
        self.mode != "off"
    }

    // What the ALB does, for a report line.
    fn describe(&self) -> String {
        match self.mode.as_str() {
            "verify" => format!(
                "mode verify (the ALB refuses every client without a certificate that trust store {} verifies{})",
                self.trust_store_arn.as_deref().unwrap_or("(none named)"),
                if self.ignore_client_certificate_expiry == Some(true) {
                    ", expired ones included"
                } else {
                    ""
                }
            ),
            "passthrough" => "mode passthrough (the ALB sends the client's certificate chain to the targets in the X-Amzn-Mtls-Clientcert header)".to_owned(),
            other => format!("mode {other:?}"),
        }
    }
}

/// Reports the TLS fields of a listener that is not HTTPS: only an HTTPS listener terminates
/// TLS, so its certificates, SSL policy and mutual TLS settings have nothing to apply to.
pub(crate) fn report_without_https(listener: &Listener, object: &ObjectRef, report: &mut Report) {
    if is_https(listener) {
        return;
    }
    let why = "only an HTTPS listener terminates TLS, and this one is not HTTPS";
    if listener
        .spec
        .certificates
        .as_ref()
        .is_some_and(|c| !c.is_empty())
    {
        report.not_carried(object, "spec.certificates", why);
    }
    if listener.spec.ssl_policy.is_some() {
        report.not_carried(object, "spec.sslPolicy", why);
    }
    if MutualTls::of(listener).is_some_and(|m| m.is_on()) {
        report.not_carried(object, "spec.mutualAuthentication", why);
    }
}

/// The `spec.tls` of the portable Ingress of `listener`, and the report lines for every TLS
/// field and for the port: the default certificate's Secret for `hosts` (the Ingress rules'
/// hosts; none listed when no rule names a host). `hostless` says whether the Ingress also
/// routes requests whatever their host (a rule without a host or a default backend). `None`
/// for a listener that is not HTTPS or has no certificate.
pub(crate) fn ingress_tls(
    listener: &Listener,
    hosts: &[String],
    hostless: bool,
    object: &ObjectRef,
    report: &mut Report,
) -> Option<Value> {
    report_without_https(listener, object, report);
    let (scheme, port) = super::alb::listener_endpoint(listener);
    let standard = if scheme == "https" { 443 } else { 80 };
    if port != standard {
        report.not_carried(
            object,
            "spec.port",
            format!("port {port}: Ingress has no port; the ingress controller serves {} on its own port ({standard} unless it is configured otherwise)", scheme.to_ascii_uppercase()),
        );
    }
    if !is_https(listener) {
        return None;
    }
    report.approximated(
        object,
        "spec.protocol",
        "HTTPS: Ingress binds no rule to a scheme, so the ingress controller serves these rules over HTTP as well, unless it redirects the hosts of spec.tls to HTTPS (ingress-nginx does by default)",
    );
    report_ssl_policy(
        listener,
        object,
        report,
        "Ingress has no field for it; set TLS versions and ciphers on the ingress controller (ingress-nginx: ssl-protocols and ssl-ciphers)",
    );
    if let Some(m) = MutualTls::of(listener).filter(MutualTls::is_on) {
        report.not_carried(
            object,
            "spec.mutualAuthentication",
            format!(
                "{}: Ingress has no field for client certificates (ingress-nginx: the auth-tls-* annotations); {}",
                m.describe(),
                if m.mode == "verify" {
                    "the Ingress accepts clients without a certificate"
                } else {
                    "the targets get no client certificate"
                }
            ),
        );
    }
    let certs = certificates(listener);
    let (default, sni) = certs.split_first()?;
    let secret = default.secret();
    let mut entry = json!({ "secretName": secret });
    if !hosts.is_empty() {
        entry["hosts"] = json!(hosts);
    }
    let served = if hosts.is_empty() {
        "no rule names a host, so the entry lists none and the ingress controller decides which hosts it serves it for".to_owned()
    } else if hostless {
        format!(
            "for hosts {}; requests for other hosts get the ingress controller's default certificate, where the ALB serves this one",
            hosts.join(", ")
        )
    } else {
        format!("for hosts {}", hosts.join(", "))
    };
    report.approximated(
        object,
        default.field(),
        format!(
            "certificate {} becomes spec.tls Secret {secret} {served}. The Secret (type kubernetes.io/tls, keys tls.crt and tls.key) is yours to create, for example with cert-manager: ecsplane refers to it and never reads or writes certificates or keys",
            default.arn
        ),
    );
    for c in sni {
        report.not_carried(
            object,
            c.field(),
            format!(
                "certificate {} (an SNI certificate of the ALB listener): which hosts it serves is in ACM (its subject alternative names), not in the Listener, and an Ingress names one Secret per host; create Secret {} and add {{hosts: [the hosts it covers], secretName: {}}} to spec.tls, taking those hosts out of the {secret} entry",
                c.arn,
                c.secret(),
                c.secret()
            ),
        );
    }
    Some(json!([entry]))
}

/// Reports how the Gateway listener an HTTPS listener's HTTPRoutes attach to must terminate
/// TLS: `certificateRefs` to the default certificate's Secret, in the Gateway's namespace
/// (`gateway_namespace`, `None` when the Listener names none either). Nothing is emitted:
/// the Gateway and its Secrets are the Gateway owner's.
pub(crate) fn report_gateway(
    listener: &Listener,
    section: &GatewayListener,
    gateway_namespace: Option<&str>,
    object: &ObjectRef,
    report: &mut Report,
) {
    report_without_https(listener, object, report);
    if !is_https(listener) {
        return;
    }
    let namespace = gateway_namespace
        .map(|ns| format!(" {ns}"))
        .unwrap_or_default();
    let certs = certificates(listener);
    if let Some((default, sni)) = certs.split_first() {
        let secret = default.secret();
        report.approximated(
            object,
            default.field(),
            format!(
                "certificate {} is not emitted: Gateway listener {} terminates TLS, with tls.certificateRefs [{{kind: Secret, name: {secret}}}], a Secret (type kubernetes.io/tls, keys tls.crt and tls.key) in the Gateway's namespace{namespace}; the Gateway and that Secret are the Gateway owner's to create, and ecsplane never reads or writes certificates or keys",
                default.arn, section.name
            ),
        );
        for c in sni {
            report.not_carried(
                object,
                c.field(),
                format!(
                    "certificate {} (an SNI certificate of the ALB listener): which hosts it serves is in ACM (its subject alternative names), not in the Listener; add Secret {} to the certificateRefs of Gateway listener {} (more than one reference is Implementation-specific support) or give its hosts a Gateway listener of their own",
                    c.arn,
                    c.secret(),
                    section.name
                ),
            );
        }
    }
    report_ssl_policy(
        listener,
        object,
        report,
        "Gateway API has no portable field for it; set TLS versions and ciphers on the Gateway listener (tls.options, Implementation-specific) or the Gateway implementation",
    );
    if let Some(m) = MutualTls::of(listener).filter(MutualTls::is_on) {
        let how = if m.mode == "verify" {
            "client certificate validation is the Gateway's (spec.tls.frontend validation with caCertificateRefs to a ConfigMap holding the trust store's CA bundle in ca.crt), for the Gateway owner to configure; until then the Gateway accepts clients without a certificate"
        } else {
            "Gateway API has no way to pass the client certificate to backends"
        };
        report.not_carried(
            object,
            "spec.mutualAuthentication",
            format!("{}: {how}", m.describe()),
        );
    }
}

// `spec.sslPolicy`, not carried, with what to do instead.
fn report_ssl_policy(listener: &Listener, object: &ObjectRef, report: &mut Report, instead: &str) {
    if let Some(policy) = &listener.spec.ssl_policy {
        report.not_carried(
            object,
            "spec.sslPolicy",
            format!(
                "ssl policy {policy} (the TLS versions and ciphers the ALB accepts): {instead}"
            ),
        );
    }
}
