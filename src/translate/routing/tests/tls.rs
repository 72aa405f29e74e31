//! HTTPS listeners in every profile (certificates, SSL policy, mutual TLS, the port) and the
//! IngressGroup names of the `alb` profile.

use pretty_assertions::assert_eq;
use serde_json::json;

use super::super::lbc::group_name;
use super::super::*;
use super::{forward, host, listener, path, ports};
use crate::api::{Certificate, Listener, ListenerProtocol};
use crate::translate::report::{Fidelity, Finding};

const CERT: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";
const SNI_CERT: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff";
const POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188";

fn options(profile: Profile) -> RoutingOptions {
    RoutingOptions {
        profile,
        ..Default::default()
    }
}

/// An HTTPS :443 listener with one certificate: shop.example.com and admin.example.com have
/// rules of their own, the rest goes to web.
fn https(certs: &[&str]) -> Listener {
    let mut l = listener(
        vec![
            (1, vec![host(&["admin.example.com"])], forward("admin")),
            (
                2,
                vec![host(&["shop.example.com"]), path(&["/api/*"])],
                forward("api"),
            ),
        ],
        forward("web"),
    );
    l.metadata.name = Some("public-https".into());
    l.spec.protocol = Some(ListenerProtocol::Https);
    l.spec.port = Some(443);
    l.spec.certificates = Some(
        certs
            .iter()
            .map(|arn| Certificate {
                certificate_arn: (*arn).to_owned(),
                is_default: None,
            })
            .collect(),
    );
    l
}

fn findings<'a>(out: &'a CompiledRoutes, field: &str) -> Vec<&'a Finding> {
    out.report
        .findings
        .iter()
        .filter(|f| f.field == field)
        .collect()
}

fn one<'a>(out: &'a CompiledRoutes, field: &str) -> &'a Finding {
    let found = findings(out, field);
    assert_eq!(found.len(), 1, "{field}: {:#?}", out.report);
    found[0]
}

#[test]
fn a_certificate_arn_names_its_secret_after_the_certificate_id() {
    assert_eq!(
        tls_secret_name(CERT),
        "tls-0a1b2c3d-1111-2222-3333-444455556666"
    );
    assert_eq!(
        tls_secret_name("arn:aws:iam::123456789012:server-certificate/cloudfront/My_Cert"),
        tls_secret_name("arn:aws:iam::123456789012:server-certificate/My_Cert"),
        "an IAM server certificate's name is unique whatever its path"
    );
    let iam = tls_secret_name("arn:aws:iam::123456789012:server-certificate/My_Cert");
    assert!(iam.starts_with("tls-my-cert-"), "{iam}");
    assert!(crate::validate::is_dns_label(&iam), "{iam}");
    assert_ne!(
        iam,
        tls_secret_name("arn:aws:iam::1:server-certificate/my-cert")
    );
}

#[test]
fn an_https_listener_becomes_an_ingress_with_tls_for_the_hosts_of_its_rules() {
    let out = compile(&https(&[CERT]), &ports, &options(Profile::Ingress));
    assert_eq!(
        out.objects[0]["spec"]["tls"],
        json!([{
            "hosts": ["admin.example.com", "shop.example.com"],
            "secretName": "tls-0a1b2c3d-1111-2222-3333-444455556666"
        }])
    );
    assert!(
        out.fates.iter().all(|f| f.fate.is_exact()),
        "{:?}",
        out.fates
    );
    // The object is a valid Ingress (the operator reads it back as one).
    let ingress: k8s_openapi::api::networking::v1::Ingress =
        serde_json::from_value(out.objects[0].clone()).unwrap();
    assert_eq!(ingress.spec.unwrap().tls.unwrap().len(), 1);

    let cert = one(&out, "spec.certificates[0]");
    assert_eq!(cert.fidelity, Fidelity::Approximated);
    assert_eq!(
        cert.message,
        format!(
            "certificate {CERT} becomes spec.tls Secret tls-0a1b2c3d-1111-2222-3333-444455556666 for hosts admin.example.com, shop.example.com; requests for other hosts get the ingress controller's default certificate, where the ALB serves this one. The Secret (type kubernetes.io/tls, keys tls.crt and tls.key) is yours to create, for example with cert-manager: ecsplane refers to it and never reads or writes certificates or keys"
        )
    );
    let scheme = one(&out, "spec.protocol");
    assert_eq!(scheme.fidelity, Fidelity::Approximated);
    assert!(
        scheme
            .message
            .starts_with("HTTPS: Ingress binds no rule to a scheme"),
        "{}",
        scheme.message
    );
    // Port 443 is the controller's HTTPS port: nothing to report.
    assert!(findings(&out, "spec.port").is_empty(), "{:#?}", out.report);
}

#[test]
fn an_https_listener_whose_rules_name_no_host_gets_a_tls_entry_without_hosts() {
    let mut l = https(&[CERT]);
    l.spec.rules = None;
    let out = compile(&l, &ports, &options(Profile::Ingress));
    assert_eq!(
        out.objects[0]["spec"]["tls"],
        json!([{"secretName": "tls-0a1b2c3d-1111-2222-3333-444455556666"}])
    );
    assert!(
        one(&out, "spec.certificates[0]")
            .message
            .contains("no rule names a host, so the entry lists none"),
        "{:#?}",
        out.report
    );
}

#[test]
fn an_ingress_reports_the_listener_port_it_cannot_carry() {
    let mut l = https(&[CERT]);
    l.spec.port = Some(8443);
    let out = compile(&l, &ports, &options(Profile::Ingress));
    let port = one(&out, "spec.port");
    assert_eq!(port.fidelity, Fidelity::NotCarried);
    assert_eq!(
        port.message,
        "port 8443: Ingress has no port; the ingress controller serves HTTPS on its own port (443 unless it is configured otherwise)"
    );
    // An HTTP listener on another port than 80 too.
    let mut http = listener(vec![], forward("web"));
    http.spec.port = Some(8080);
    let out = compile(&http, &ports, &options(Profile::Ingress));
    assert!(
        one(&out, "spec.port").message.starts_with(
            "port 8080: Ingress has no port; the ingress controller serves HTTP on its own port (80"
        ),
        "{:#?}",
        out.report
    );
    assert!(out.objects[0]["spec"].get("tls").is_none());
}

#[test]
fn the_ssl_policy_is_reported_by_name_in_the_ingress_and_gateway_profiles() {
    let mut l = https(&[CERT]);
    l.spec.ssl_policy = Some(POLICY.into());
    for (profile, instead) in [
        (
            Profile::Ingress,
            "Ingress has no field for it; set TLS versions and ciphers on the ingress controller (ingress-nginx: ssl-protocols and ssl-ciphers)",
        ),
        (
            Profile::Gateway,
            "Gateway API has no portable field for it; set TLS versions and ciphers on the Gateway listener (tls.options, Implementation-specific) or the Gateway implementation",
        ),
    ] {
        let out = compile(&l, &ports, &options(profile));
        let f = one(&out, "spec.sslPolicy");
        assert_eq!(f.fidelity, Fidelity::NotCarried, "{profile}");
        assert_eq!(
            f.message,
            format!(
                "ssl policy {POLICY} (the TLS versions and ciphers the ALB accepts): {instead}"
            ),
            "{profile}"
        );
    }
}

#[test]
fn mutual_tls_is_reported_not_carried_in_ingress_and_gateway_and_mode_off_is_silent() {
    let mut l = https(&[CERT]);
    let store = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/clients/1a2b";
    l.spec.mutual_authentication = Some(json!({"mode": "verify", "trustStoreArn": store}));
    let out = compile(&l, &ports, &options(Profile::Ingress));
    let f = one(&out, "spec.mutualAuthentication");
    assert_eq!(f.fidelity, Fidelity::NotCarried);
    assert_eq!(
        f.message,
        format!(
            "mode verify (the ALB refuses every client without a certificate that trust store {store} verifies): Ingress has no field for client certificates (ingress-nginx: the auth-tls-* annotations); the Ingress accepts clients without a certificate"
        )
    );
    let out = compile(&l, &ports, &options(Profile::Gateway));
    let f = one(&out, "spec.mutualAuthentication");
    assert!(
        f.message.ends_with("verifies): client certificate validation is the Gateway's (spec.tls.frontend validation with caCertificateRefs to a ConfigMap holding the trust store's CA bundle in ca.crt), for the Gateway owner to configure; until then the Gateway accepts clients without a certificate"),
        "{}",
        f.message
    );

    // CloudFormation spells the keys in UpperCamelCase.
    l.spec.mutual_authentication = Some(json!({"Mode": "passthrough"}));
    let out = compile(&l, &ports, &options(Profile::Gateway));
    assert!(
        one(&out, "spec.mutualAuthentication").message.starts_with("mode passthrough (the ALB sends the client's certificate chain to the targets in the X-Amzn-Mtls-Clientcert header): Gateway API has no way to pass the client certificate to backends"),
        "{:#?}",
        out.report
    );

    l.spec.mutual_authentication = Some(json!({"mode": "off"}));
    for profile in [Profile::Ingress, Profile::Gateway] {
        let out = compile(&l, &ports, &options(profile));
        assert!(
            findings(&out, "spec.mutualAuthentication").is_empty(),
            "{profile}: {:#?}",
            out.report
        );
    }
}

#[test]
fn sni_certificates_are_reported_with_their_secret_and_the_default_one_is_served() {
    // describe-listeners marks the default certificate; it need not be the first.
    let mut l = https(&[SNI_CERT, CERT]);
    if let Some(certs) = &mut l.spec.certificates {
        certs[1].is_default = Some(true);
    }
    let out = compile(&l, &ports, &options(Profile::Ingress));
    assert_eq!(
        out.objects[0]["spec"]["tls"][0]["secretName"],
        "tls-0a1b2c3d-1111-2222-3333-444455556666"
    );
    assert_eq!(
        out.objects[0]["spec"]["tls"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(
        one(&out, "spec.certificates[1]")
            .message
            .starts_with(&format!("certificate {CERT} becomes spec.tls Secret")),
        "{:#?}",
        out.report
    );
    let sni = one(&out, "spec.certificates[0]");
    assert_eq!(sni.fidelity, Fidelity::NotCarried);
    assert_eq!(
        sni.message,
        format!(
            "certificate {SNI_CERT} (an SNI certificate of the ALB listener): which hosts it serves is in ACM (its subject alternative names), not in the Listener, and an Ingress names one Secret per host; create Secret tls-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff and add {{hosts: [the hosts it covers], secretName: tls-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff}} to spec.tls, taking those hosts out of the tls-0a1b2c3d-1111-2222-3333-444455556666 entry"
        )
    );

    let out = compile(&l, &ports, &options(Profile::Gateway));
    assert!(
        one(&out, "spec.certificates[0]").message.contains("add Secret tls-9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff to the certificateRefs of Gateway listener https-443 (more than one reference is Implementation-specific support)"),
        "{:#?}",
        out.report
    );

    // The ALB profile hands both to the controller, the default one first.
    let out = compile(&l, &ports, &options(Profile::Alb));
    for o in &out.objects {
        assert_eq!(
            o["metadata"]["annotations"]["alb.ingress.kubernetes.io/certificate-arn"],
            format!("{CERT},{SNI_CERT}")
        );
    }
}

#[test]
fn a_gateway_https_listener_names_the_certificate_refs_its_gateway_listener_needs() {
    let out = compile(&https(&[CERT]), &ports, &options(Profile::Gateway));
    assert!(out.objects.iter().all(|o| o["kind"] == "HTTPRoute"));
    for o in &out.objects {
        assert_eq!(o["spec"]["parentRefs"][0]["sectionName"], "https-443");
    }
    let f = one(&out, "spec.certificates[0]");
    assert_eq!(f.fidelity, Fidelity::Approximated);
    assert_eq!(
        f.message,
        format!(
            "certificate {CERT} is not emitted: Gateway listener https-443 terminates TLS, with tls.certificateRefs [{{kind: Secret, name: tls-0a1b2c3d-1111-2222-3333-444455556666}}], a Secret (type kubernetes.io/tls, keys tls.crt and tls.key) in the Gateway's namespace shop; the Gateway and that Secret are the Gateway owner's to create, and ecsplane never reads or writes certificates or keys"
        )
    );
    assert!(
        one(&out, "spec.port").message.ends_with(
            "the Gateway needs a listener named https-443 with protocol HTTPS and port 443, which terminates TLS with certificateRefs to Secret tls-0a1b2c3d-1111-2222-3333-444455556666"
        ),
        "{:#?}",
        out.report
    );
    // A Gateway in another namespace holds the Secret there.
    let out = compile(
        &https(&[CERT]),
        &ports,
        &RoutingOptions {
            gateway_namespace: Some("infra".into()),
            ..options(Profile::Gateway)
        },
    );
    assert!(
        one(&out, "spec.certificates[0]")
            .message
            .contains("in the Gateway's namespace infra;"),
        "{:#?}",
        out.report
    );
}

#[test]
fn the_alb_profile_carries_listen_ports_certificates_ssl_policy_and_mutual_tls() {
    let mut l = https(&[CERT]);
    l.spec.port = Some(8443);
    l.spec.ssl_policy = Some(POLICY.into());
    let store = "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/clients/1a2b";
    l.spec.mutual_authentication = Some(json!({
        "mode": "verify",
        "trustStoreArn": store,
        "ignoreClientCertificateExpiry": false,
        "advertiseTrustStoreCaNames": "on",
    }));
    let out = compile(&l, &ports, &options(Profile::Alb));
    assert!(!out.objects.is_empty());
    for o in &out.objects {
        let a = &o["metadata"]["annotations"];
        assert_eq!(
            a["alb.ingress.kubernetes.io/listen-ports"],
            r#"[{"HTTPS":8443}]"#
        );
        assert_eq!(a["alb.ingress.kubernetes.io/certificate-arn"], CERT);
        assert_eq!(a["alb.ingress.kubernetes.io/ssl-policy"], POLICY);
        assert_eq!(
            a["alb.ingress.kubernetes.io/mutual-authentication"],
            format!(
                r#"[{{"advertiseTrustStoreCaNames":"on","ignoreClientCertificateExpiry":false,"mode":"verify","port":8443,"trustStore":"{store}"}}]"#
            )
        );
    }
    assert!(
        out.report
            .findings
            .iter()
            .all(|f| !f.field.starts_with("spec.certificates")
                && f.field != "spec.sslPolicy"
                && f.field != "spec.mutualAuthentication"
                && f.field != "spec.port"),
        "{:#?}",
        out.report
    );
    // passthrough takes no trust store: the controller refuses one.
    l.spec.mutual_authentication = Some(json!({"mode": "passthrough"}));
    let out = compile(&l, &ports, &options(Profile::Alb));
    assert_eq!(
        out.objects[0]["metadata"]["annotations"]["alb.ingress.kubernetes.io/mutual-authentication"],
        r#"[{"mode":"passthrough","port":8443}]"#
    );
}

#[test]
fn tls_settings_on_an_http_listener_are_reported_not_carried_in_every_profile() {
    let mut l = https(&[CERT]);
    l.spec.protocol = Some(ListenerProtocol::Http);
    l.spec.port = Some(80);
    l.spec.ssl_policy = Some(POLICY.into());
    for profile in [Profile::Ingress, Profile::Alb, Profile::Gateway] {
        let out = compile(&l, &ports, &options(profile));
        for field in ["spec.certificates", "spec.sslPolicy"] {
            let f = one(&out, field);
            assert_eq!(f.fidelity, Fidelity::NotCarried, "{profile} {field}");
            assert_eq!(
                f.message,
                "only an HTTPS listener terminates TLS, and this one is not HTTPS"
            );
        }
        let text = serde_json::to_string(&out.objects).unwrap();
        assert!(!text.contains("tls-0a1b2c3d"), "{profile}: {text}");
        assert!(!text.contains("certificate-arn"), "{profile}: {text}");
    }
}

#[test]
fn listeners_of_one_load_balancer_in_two_namespaces_never_share_an_ingress_group() {
    let in_namespace = |ns: &str, name: &str, lb: &str| {
        let mut l = listener(vec![], forward("web"));
        l.metadata.namespace = Some(ns.into());
        l.metadata.name = Some(name.into());
        l.spec.load_balancer_arn = Some(lb.into());
        l
    };
    let groups = |l: &Listener| -> Vec<String> {
        compile(l, &ports, &options(Profile::Alb))
            .objects
            .iter()
            .map(|o| {
                o["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let a = in_namespace("a", "public", LB);
    let b = in_namespace("b", "public", LB);
    assert_eq!(groups(&a), ["a.shop"]);
    assert_eq!(groups(&b), ["b.shop"]);
    // Two listeners of one load balancer in one namespace share its ALB.
    assert_eq!(
        group_name(&in_namespace("a", "public-https", LB)),
        group_name(&a)
    );

    // Dashes cannot move the boundary between namespace and load balancer.
    let lb_named = |name: &str| {
        format!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/{name}/50dc6c495c0c9188")
    };
    assert_ne!(
        group_name(&in_namespace("team-a", "l", &lb_named("shop"))),
        group_name(&in_namespace("team", "l", &lb_named("a-shop"))),
    );

    // Too long to spell out: 46 characters, `-` and a hash; still the controller's charset
    // and length, and still different across namespaces sharing their first 46 characters.
    let long_ns = |suffix: &str| format!("payments-production-eu-west-1-workloads-tenant-{suffix}");
    let long_lb = lb_named("storefront-public-internet-lb");
    let names: Vec<String> = [long_ns("a"), long_ns("b"), "short".to_owned()]
        .iter()
        .map(|ns| group_name(&in_namespace(ns, "l", &long_lb)))
        .collect();
    let pattern = regex::Regex::new("^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$").unwrap();
    for n in &names {
        assert!(n.len() <= 63, "{n}");
        assert!(pattern.is_match(n), "{n}");
    }
    assert_ne!(names[0], names[1]);
    assert!(!names[0].contains('.'), "{}", names[0]);
    assert_eq!(names[2], "short.storefront-public-internet-lb");
    // A namespace shorter than 45 characters is kept whole, with its `.`.
    let medium = group_name(&in_namespace(
        "payments-production-eu-west-1-workloads",
        "l",
        &long_lb,
    ));
    assert!(
        medium.starts_with("payments-production-eu-west-1-workloads.storef-"),
        "{medium}"
    );
    assert_eq!(medium.len(), 63, "{medium}");
}

#[test]
fn an_alb_listener_without_a_namespace_is_grouped_as_in_default_and_says_so() {
    let mut l = listener(vec![], forward("web"));
    l.metadata.namespace = None;
    l.spec.load_balancer_arn = Some(LB.into());
    let out = compile(&l, &ports, &options(Profile::Alb));
    assert_eq!(
        out.objects[0]["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"],
        "default.shop"
    );
    assert_eq!(
        one(&out, "metadata.namespace").fidelity,
        Fidelity::Approximated
    );
}
