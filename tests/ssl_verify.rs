//! Qt-faithful chain verification (`sigloop::ssl::verify_chain`): every
//! error, in Qt's order, with the certificate Qt attaches.
//!
//! The expected lists are data measured on a real Qt 6.11 (PySide6,
//! OpenSSL 3.0 backend) with certificates of exactly these shapes:
//! `QSslCertificate::verify(chain, hostName)` for the scenarios without a
//! purpose, and the `sslErrors` of a `QSslSocket` client (server purpose)
//! or `QSslServer` (client purpose) for the others. Each expected error
//! names the index in the chain of the certificate Qt attached (Qt takes
//! `chain[depth]` of the chain as sent, so an unrelated certificate can be
//! attached: see `expired_intermediate_with_a_stranger_at_index_1`).
//!
//! `real_qt_agrees_on_every_purpose_free_scenario` asks a real Qt again
//! on the same PEM files when PySide6 is installed.

mod support;

use std::time::SystemTime;

use sigloop::ssl::{verify_chain, SslCertificate, SslErrorKind, VerifyPurpose};
use support::certs::{Issued, Pki, Spec};

use SslErrorKind::*;

/// Certificates beyond the shared set, made for these scenarios.
struct Extra {
    noca_int: Issued,
    leaf_under_noca: Issued,
    nobc_int: Issued,
    leaf_under_nobc: Issued,
    nocertsign_int: Issued,
    leaf_under_nocertsign: Issued,
    pathlen0_int: Issued,
    int2: Issued,
    leaf_under_int2: Issued,
    int: Issued,
    leaf_under_int: Issued,
    expired_int: Issued,
    leaf_under_expired_int: Issued,
    clientonly_int: Issued,
    leaf_under_clientonly_int: Issued,
    leaf_bad_key_usage: Issued,
    server_only: Issued,
    server_and_client: Issued,
    no_eku: Issued,
    expired_client: Issued,
    expired_selfsigned: Issued,
    expired_other: Issued,
    expired_root: Issued,
    leaf_under_expired_root: Issued,
    bad_signature: SslCertificate,
}

fn in_2020(mut spec: Spec) -> Spec {
    spec.not_before = rcgen::date_time_ymd(2020, 1, 1).into();
    spec.not_after = rcgen::date_time_ymd(2020, 1, 2).into();
    spec
}

fn localhost() -> Spec {
    Spec::server("localhost", &["localhost"])
}

impl Extra {
    fn new(pki: &Pki) -> Extra {
        let ca = Some(&pki.ca);
        let mut noca = Spec::ca("noca int", None);
        noca.ca = None;
        let noca_int = pki.issue("noca-int", &noca, ca);
        let mut nobc = Spec::ca("nobc int", None);
        nobc.no_basic_constraints = true;
        let nobc_int = pki.issue("nobc-int", &nobc, ca);
        let mut nocertsign = Spec::ca("nocertsign int", None);
        nocertsign.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let nocertsign_int = pki.issue("nocertsign-int", &nocertsign, ca);
        let pathlen0_int = pki.issue("int-pathlen0", &Spec::ca("int pathlen0", Some(0)), ca);
        let int2 = pki.issue("int2", &Spec::ca("int2", None), Some(&pathlen0_int));
        let int = pki.issue("int", &Spec::ca("good int", None), ca);
        let expired_int = pki.issue("expired-int", &in_2020(Spec::ca("expired int", None)), ca);
        let mut clientonly = Spec::ca("clientonly int", None);
        clientonly.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let clientonly_int = pki.issue("clientonly-int", &clientonly, ca);
        let mut bad_ku = localhost();
        bad_ku.key_usages = vec![rcgen::KeyUsagePurpose::CrlSign];
        let mut server_only = Spec::server("srvonly", &["srvonly"]);
        server_only.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let mut both = Spec::server("sigloop-both", &["localhost"]);
        both.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let mut no_eku = localhost();
        no_eku.extended_key_usages.clear();
        let mut expired_client = in_2020(Spec::server("sigloop-client", &["sigloop-client"]));
        expired_client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let mut expired_selfsigned = in_2020(localhost());
        expired_selfsigned.no_basic_constraints = true;
        expired_selfsigned.key_usages.clear();
        expired_selfsigned.extended_key_usages.clear();
        let expired_root = pki.issue(
            "expired-root",
            &in_2020(Spec::ca("expired root", None)),
            None,
        );

        let mut der = pki.server.certificate().to_der().to_vec();
        let inside_signature = der.len() - 3;
        der[inside_signature] ^= 1;
        let bad_signature = SslCertificate::from_der(&der).expect("still well-formed DER");
        std::fs::write(pki.dir.join("bad-signature.crt"), bad_signature.to_pem()).unwrap();

        Extra {
            leaf_under_noca: pki.issue("leaf-under-noca", &localhost(), Some(&noca_int)),
            noca_int,
            leaf_under_nobc: pki.issue("leaf-under-nobc", &localhost(), Some(&nobc_int)),
            nobc_int,
            leaf_under_nocertsign: pki.issue(
                "leaf-under-nocertsign",
                &localhost(),
                Some(&nocertsign_int),
            ),
            nocertsign_int,
            leaf_under_int2: pki.issue("leaf-under-int2", &localhost(), Some(&int2)),
            int2,
            pathlen0_int,
            leaf_under_int: pki.issue("leaf-under-int", &localhost(), Some(&int)),
            int,
            leaf_under_expired_int: pki.issue(
                "leaf-under-expired-int",
                &localhost(),
                Some(&expired_int),
            ),
            expired_int,
            leaf_under_clientonly_int: pki.issue(
                "leaf-under-clientonly-int",
                &localhost(),
                Some(&clientonly_int),
            ),
            clientonly_int,
            leaf_bad_key_usage: pki.issue("leaf-bad-ku", &bad_ku, ca),
            server_only: pki.issue("srvonly", &server_only, ca),
            server_and_client: pki.issue("both", &both, ca),
            no_eku: pki.issue("noeku", &no_eku, ca),
            expired_client: pki.issue("expired-client", &expired_client, ca),
            expired_selfsigned: pki.issue("expired-selfsigned", &expired_selfsigned, None),
            expired_other: pki.issue("expired-other", &in_2020(localhost()), Some(&pki.other_ca)),
            leaf_under_expired_root: pki.issue(
                "leaf-under-expired-root",
                &localhost(),
                Some(&expired_root),
            ),
            expired_root,
            bad_signature,
        }
    }
}

/// One measured case: the chain as sent, the host name, purpose and
/// depth, and Qt's errors as (kind, index in the chain of the certificate
/// Qt attached).
struct Scenario {
    name: &'static str,
    chain: Vec<SslCertificate>,
    host: &'static str,
    purpose: VerifyPurpose,
    depth: u32,
    expected: Vec<(SslErrorKind, Option<usize>)>,
}

fn chain(issued: &[&Issued]) -> Vec<SslCertificate> {
    issued.iter().map(|i| i.certificate()).collect()
}

/// `QSslCertificate::verify(chain, host)` with `ca` trusted: no purpose.
fn verify_cases(pki: &Pki, x: &Extra) -> Vec<Scenario> {
    let any = |name, chain, host, expected: &[(SslErrorKind, Option<usize>)]| Scenario {
        name,
        chain,
        host,
        purpose: VerifyPurpose::Any,
        depth: 0,
        expected: expected.to_vec(),
    };
    vec![
        any("trusted", chain(&[&pki.server]), "localhost", &[]),
        any("trusted, no host name", chain(&[&pki.server]), "", &[]),
        any(
            "trusted chain with its root",
            chain(&[&pki.server, &pki.ca]),
            "localhost",
            &[],
        ),
        any("trusted, by IPv4", chain(&[&pki.server]), "127.0.0.1", &[]),
        any("trusted, by IPv6", chain(&[&pki.server]), "::1", &[]),
        any(
            "wrong host",
            chain(&[&pki.wronghost]),
            "localhost",
            &[(HostNameMismatch, Some(0))],
        ),
        any(
            "expired",
            chain(&[&pki.expired]),
            "localhost",
            &[(CertificateExpired, Some(0))],
        ),
        any(
            "not yet valid",
            chain(&[&pki.notyet]),
            "localhost",
            &[(CertificateNotYetValid, Some(0))],
        ),
        any(
            "self-signed",
            chain(&[&pki.selfsigned]),
            "localhost",
            &[(SelfSignedCertificate, Some(0))],
        ),
        any(
            "self-signed, wrong host",
            chain(&[&pki.selfsigned]),
            "example.com",
            &[
                (HostNameMismatch, Some(0)),
                (SelfSignedCertificate, Some(0)),
            ],
        ),
        any(
            "expired, wrong host",
            chain(&[&pki.expired]),
            "wrong.example",
            &[(HostNameMismatch, Some(0)), (CertificateExpired, Some(0))],
        ),
        any(
            "untrusted CA, root in the chain",
            chain(&[&pki.other_server, &pki.other_ca]),
            "localhost",
            &[(SelfSignedCertificateInChain, Some(1))],
        ),
        any(
            "untrusted CA, root not in the chain",
            chain(&[&pki.other_server]),
            "localhost",
            &[
                (UnableToGetLocalIssuerCertificate, Some(0)),
                (UnableToVerifyFirstCertificate, Some(0)),
            ],
        ),
        any(
            "untrusted CA with root, wrong host",
            chain(&[&pki.other_server, &pki.other_ca]),
            "nope",
            &[
                (HostNameMismatch, Some(0)),
                (SelfSignedCertificateInChain, Some(1)),
            ],
        ),
        any(
            "issuer with CA:FALSE",
            chain(&[&x.leaf_under_noca, &x.noca_int]),
            "localhost",
            &[(InvalidCaCertificate, Some(1))],
        ),
        any(
            "issuer without basicConstraints",
            chain(&[&x.leaf_under_nobc, &x.nobc_int]),
            "localhost",
            &[(InvalidCaCertificate, Some(1))],
        ),
        any(
            "issuer without keyCertSign",
            chain(&[&x.leaf_under_nocertsign, &x.nocertsign_int]),
            "localhost",
            &[(InvalidCaCertificate, Some(1)), (UnspecifiedError, Some(1))],
        ),
        any(
            "path length exceeded",
            chain(&[&x.leaf_under_int2, &x.int2, &x.pathlen0_int]),
            "localhost",
            &[(PathLengthExceeded, Some(2))],
        ),
        any(
            "path length exceeded, wrong host",
            chain(&[&x.leaf_under_int2, &x.int2, &x.pathlen0_int]),
            "x",
            &[(HostNameMismatch, Some(0)), (PathLengthExceeded, Some(2))],
        ),
        any(
            "intermediate",
            chain(&[&x.leaf_under_int, &x.int]),
            "localhost",
            &[],
        ),
        any(
            "intermediate and root",
            chain(&[&x.leaf_under_int, &x.int, &pki.ca]),
            "localhost",
            &[],
        ),
        any(
            "intermediate missing",
            chain(&[&x.leaf_under_int]),
            "localhost",
            &[
                (UnableToGetLocalIssuerCertificate, Some(0)),
                (UnableToVerifyFirstCertificate, Some(0)),
            ],
        ),
        any(
            "expired intermediate",
            chain(&[&x.leaf_under_expired_int, &x.expired_int]),
            "localhost",
            &[(CertificateExpired, Some(1))],
        ),
        any(
            "expired intermediate, wrong host",
            chain(&[&x.leaf_under_expired_int, &x.expired_int]),
            "x.example",
            &[(HostNameMismatch, Some(0)), (CertificateExpired, Some(1))],
        ),
        any(
            "expired intermediate with a stranger at index 1",
            chain(&[&x.leaf_under_expired_int, &pki.other_ca, &x.expired_int]),
            "localhost",
            &[(CertificateExpired, Some(1))],
        ),
        any(
            "expired intermediate sent first",
            chain(&[&x.expired_int, &x.leaf_under_expired_int]),
            "localhost",
            &[(HostNameMismatch, Some(0)), (CertificateExpired, Some(0))],
        ),
        Scenario {
            name: "bad signature",
            chain: vec![x.bad_signature.clone()],
            host: "localhost",
            purpose: VerifyPurpose::Any,
            depth: 0,
            expected: vec![(CertificateSignatureFailed, Some(0))],
        },
        any(
            "client certificate, no purpose",
            chain(&[&pki.client]),
            "sigloop-client",
            &[],
        ),
        any(
            "server and client usage",
            chain(&[&x.server_and_client]),
            "localhost",
            &[],
        ),
        any(
            "reversed chain",
            chain(&[&x.int, &x.leaf_under_int]),
            "localhost",
            &[(HostNameMismatch, Some(0))],
        ),
        any(
            "an unrelated extra certificate",
            chain(&[&x.leaf_under_int, &pki.other_ca, &x.int]),
            "localhost",
            &[],
        ),
        any(
            "trusted root as the leaf",
            chain(&[&pki.ca]),
            "localhost",
            &[(HostNameMismatch, Some(0))],
        ),
        any(
            "untrusted root alone",
            chain(&[&pki.other_ca]),
            "",
            &[(SelfSignedCertificate, Some(0))],
        ),
        any(
            "expired, unrelated root after it",
            chain(&[&pki.expired, &pki.other_ca]),
            "localhost",
            &[(CertificateExpired, Some(0))],
        ),
        any(
            "empty chain",
            Vec::new(),
            "localhost",
            &[(UnspecifiedError, None)],
        ),
        any(
            "expired self-signed",
            chain(&[&x.expired_selfsigned]),
            "localhost",
            &[
                (SelfSignedCertificate, Some(0)),
                (CertificateExpired, Some(0)),
            ],
        ),
        any(
            "expired self-signed, wrong host",
            chain(&[&x.expired_selfsigned]),
            "nope",
            &[
                (HostNameMismatch, Some(0)),
                (SelfSignedCertificate, Some(0)),
                (CertificateExpired, Some(0)),
            ],
        ),
        any(
            "expired, untrusted CA not in the chain",
            chain(&[&x.expired_other]),
            "localhost",
            &[
                (UnableToGetLocalIssuerCertificate, Some(0)),
                (UnableToVerifyFirstCertificate, Some(0)),
                (CertificateExpired, Some(0)),
            ],
        ),
        any(
            "expired, untrusted CA in the chain",
            chain(&[&x.expired_other, &pki.other_ca]),
            "localhost",
            &[
                (SelfSignedCertificateInChain, Some(1)),
                (CertificateExpired, Some(0)),
            ],
        ),
        any(
            "untrusted expired root in the chain",
            chain(&[&x.leaf_under_expired_root, &x.expired_root]),
            "localhost",
            &[
                (SelfSignedCertificateInChain, Some(1)),
                (CertificateExpired, Some(1)),
            ],
        ),
        any(
            "untrusted expired root not in the chain",
            chain(&[&x.leaf_under_expired_root]),
            "localhost",
            &[
                (UnableToGetLocalIssuerCertificate, Some(0)),
                (UnableToVerifyFirstCertificate, Some(0)),
            ],
        ),
        any(
            "client-only intermediate, no purpose",
            chain(&[&x.leaf_under_clientonly_int, &x.clientonly_int]),
            "localhost",
            &[],
        ),
    ]
}

/// A `QSslSocket` client's `sslErrors` (server purpose), or a
/// `QSslServer`'s (client purpose, no host name check).
fn socket_cases(pki: &Pki, x: &Extra) -> Vec<Scenario> {
    let server = |name, chain, host, depth, expected: &[(SslErrorKind, Option<usize>)]| Scenario {
        name,
        chain,
        host,
        purpose: VerifyPurpose::Server,
        depth,
        expected: expected.to_vec(),
    };
    let client = |name, chain, expected: &[(SslErrorKind, Option<usize>)]| Scenario {
        name,
        chain,
        host: "",
        purpose: VerifyPurpose::Client,
        depth: 0,
        expected: expected.to_vec(),
    };
    vec![
        server(
            "server: trusted",
            chain(&[&pki.server]),
            "localhost",
            0,
            &[],
        ),
        server(
            "server: a client certificate",
            chain(&[&pki.client]),
            "sigloop-client",
            0,
            &[(InvalidPurpose, Some(0))],
        ),
        server(
            "server: a client certificate, wrong host",
            chain(&[&pki.client]),
            "localhost",
            0,
            &[(HostNameMismatch, Some(0)), (InvalidPurpose, Some(0))],
        ),
        server(
            "server: an expired client certificate",
            chain(&[&x.expired_client]),
            "sigloop-client",
            0,
            &[(InvalidPurpose, Some(0)), (CertificateExpired, Some(0))],
        ),
        server(
            "server: under a client-only intermediate",
            chain(&[&x.leaf_under_clientonly_int, &x.clientonly_int]),
            "localhost",
            0,
            &[(InvalidPurpose, Some(1))],
        ),
        server(
            "server: key usage without a TLS use",
            chain(&[&x.leaf_bad_key_usage]),
            "localhost",
            0,
            &[(InvalidPurpose, Some(0))],
        ),
        server(
            "server: issuer with CA:FALSE",
            chain(&[&x.leaf_under_noca, &x.noca_int]),
            "localhost",
            0,
            &[(InvalidCaCertificate, Some(1)), (InvalidPurpose, Some(1))],
        ),
        server(
            "server: issuer without basicConstraints",
            chain(&[&x.leaf_under_nobc, &x.nobc_int]),
            "localhost",
            0,
            &[(InvalidCaCertificate, Some(1))],
        ),
        server(
            "server: issuer without keyCertSign",
            chain(&[&x.leaf_under_nocertsign, &x.nocertsign_int]),
            "localhost",
            0,
            &[
                (InvalidCaCertificate, Some(1)),
                (InvalidPurpose, Some(1)),
                (UnspecifiedError, Some(1)),
            ],
        ),
        server(
            "server: path length exceeded",
            chain(&[&x.leaf_under_int2, &x.int2, &x.pathlen0_int]),
            "localhost",
            0,
            &[(PathLengthExceeded, Some(2))],
        ),
        server(
            "server: untrusted CA not in the chain",
            chain(&[&pki.other_server]),
            "localhost",
            0,
            &[
                (UnableToGetLocalIssuerCertificate, Some(0)),
                (UnableToVerifyFirstCertificate, Some(0)),
            ],
        ),
        server(
            "server: untrusted CA in the chain",
            chain(&[&pki.other_server, &pki.other_ca]),
            "localhost",
            0,
            &[(SelfSignedCertificateInChain, Some(1))],
        ),
        server(
            "server: expired self-signed, wrong host",
            chain(&[&x.expired_selfsigned]),
            "nope",
            0,
            &[
                (HostNameMismatch, Some(0)),
                (SelfSignedCertificate, Some(0)),
                (CertificateExpired, Some(0)),
            ],
        ),
        server(
            "server: expired intermediate",
            chain(&[&x.leaf_under_expired_int, &x.expired_int]),
            "localhost",
            0,
            &[(CertificateExpired, Some(1))],
        ),
        server(
            "server: no extended key usage",
            chain(&[&x.no_eku]),
            "localhost",
            0,
            &[],
        ),
        server(
            "server: self-signed",
            chain(&[&pki.selfsigned]),
            "localhost",
            0,
            &[(SelfSignedCertificate, Some(0))],
        ),
        server(
            "server: wrong host",
            chain(&[&pki.wronghost]),
            "localhost",
            0,
            &[(HostNameMismatch, Some(0))],
        ),
        server(
            "server: expired, wrong host",
            chain(&[&pki.expired]),
            "wrong.example",
            0,
            &[(HostNameMismatch, Some(0)), (CertificateExpired, Some(0))],
        ),
        server(
            "server: depth 1, one intermediate",
            chain(&[&x.leaf_under_int, &x.int]),
            "localhost",
            1,
            &[],
        ),
        server(
            "server: depth 1, two intermediates",
            chain(&[&x.leaf_under_int2, &x.int2, &x.pathlen0_int]),
            "localhost",
            1,
            // X509_V_ERR_CERT_CHAIN_TOO_LONG first, as UnspecifiedError.
            &[
                (UnspecifiedError, Some(2)),
                (UnableToGetLocalIssuerCertificate, Some(2)),
                (PathLengthExceeded, Some(2)),
            ],
        ),
        server(
            "server: depth 1, untrusted intermediate",
            chain(&[&x.leaf_under_int2, &x.int2]),
            "localhost",
            1,
            &[(UnableToGetLocalIssuerCertificate, Some(1))],
        ),
        client("client: a client certificate", chain(&[&pki.client]), &[]),
        client(
            "client: a server-only certificate",
            chain(&[&x.server_only]),
            &[(InvalidPurpose, Some(0))],
        ),
        client("client: both usages", chain(&[&x.server_and_client]), &[]),
        client(
            "client: expired",
            chain(&[&x.expired_client]),
            &[(CertificateExpired, Some(0))],
        ),
        client(
            "client: self-signed",
            chain(&[&pki.selfsigned]),
            &[(SelfSignedCertificate, Some(0))],
        ),
        client("client: no extended key usage", chain(&[&x.no_eku]), &[]),
    ]
}

fn ours(pki: &Pki, scenario: &Scenario) -> Vec<(SslErrorKind, Option<usize>)> {
    let host = (!scenario.host.is_empty()).then_some(scenario.host);
    let errors = verify_chain(
        &scenario.chain,
        &[pki.ca.certificate()],
        host,
        scenario.purpose,
        scenario.depth,
        SystemTime::now(),
    );
    errors
        .iter()
        .map(|error| {
            let index = error.certificate().map(|certificate| {
                scenario
                    .chain
                    .iter()
                    .position(|c| c == certificate)
                    .expect("errors name certificates of the chain")
            });
            (error.error(), index)
        })
        .collect()
}

fn check(pki: &Pki, scenarios: &[Scenario]) {
    let mut wrong = Vec::new();
    for scenario in scenarios {
        let got = ours(pki, scenario);
        if got != scenario.expected {
            wrong.push(format!(
                "{}: Qt {:?}, sigloop {:?}",
                scenario.name, scenario.expected, got
            ));
        }
    }
    assert!(wrong.is_empty(), "differs from Qt:\n{}", wrong.join("\n"));
}

#[test]
fn verify_reports_what_qt_reports() {
    let pki = Pki::new();
    let extra = Extra::new(&pki);
    check(&pki, &verify_cases(&pki, &extra));
}

#[test]
fn sockets_purpose_and_depth_report_what_qt_reports() {
    let pki = Pki::new();
    let extra = Extra::new(&pki);
    check(&pki, &socket_cases(&pki, &extra));
}

#[test]
fn errors_carry_qts_texts_and_the_certificate() {
    let pki = Pki::new();
    let errors = verify_chain(
        &[pki.selfsigned.certificate()],
        &[pki.ca.certificate()],
        Some("example.com"),
        VerifyPurpose::Server,
        0,
        SystemTime::now(),
    );
    let texts: Vec<String> = errors.iter().map(|e| e.error_string()).collect();
    assert_eq!(
        texts,
        [
            "The host name did not match any of the valid hosts for this certificate",
            "The certificate is self-signed, and untrusted",
        ]
    );
    assert!(errors
        .iter()
        .all(|e| e.certificate() == Some(&pki.selfsigned.certificate())));
}

#[test]
fn time_is_the_callers() {
    let pki = Pki::new();
    let leaf = pki.server.certificate();
    let chain = [leaf.clone()];
    let roots = [pki.ca.certificate()];
    let at = |time| -> Vec<(SslErrorKind, Option<SslCertificate>)> {
        verify_chain(&chain, &roots, None, VerifyPurpose::Server, 0, time)
            .into_iter()
            .map(|e| (e.error(), e.certificate().cloned()))
            .collect()
    };
    // Before both were made: the root (not in the chain, so no
    // certificate attached) then the leaf, top down as OpenSSL checks.
    let before = leaf.effective_date() - std::time::Duration::from_secs(1);
    assert_eq!(
        at(before),
        [
            (CertificateNotYetValid, None),
            (CertificateNotYetValid, Some(leaf.clone()))
        ]
    );
    // Valid up to, not including, notAfter (OpenSSL's rule).
    let end = leaf.expiry_date();
    assert_eq!(at(end), [(CertificateExpired, Some(leaf.clone()))]);
    assert!(at(end - std::time::Duration::from_secs(1)).is_empty());
}

#[test]
fn host_names_match_as_qt_matches_them() {
    let pki = Pki::new();
    // (common name, alternative names, host, Qt said it matches)
    let cases: &[(&str, &[&str], &str, bool)] = &[
        ("*.example.com", &[], "a.example.com", true),
        ("*.example.com", &[], "A.EXAMPLE.COM", true),
        ("*.example.com", &[], "a.b.example.com", false),
        ("*.example.com", &[], ".example.com", false),
        ("*.example.com", &[], "example.com", false),
        ("cn.example.org", &["*.example.com"], "a.example.com", true),
        ("cn.example.org", &["*.example.com"], "cn.example.org", true),
        ("localhost", &["other.example"], "localhost", true),
        ("localhost", &["other.example"], "other.example", true),
        ("127.0.0.1", &[], "127.0.0.1", true),
        ("LocalHost", &[], "LOCALHOST", true),
        ("xn--bcher-kva.example", &[], "bücher.example", true),
        ("xn--bcher-kva.example", &[], "BÜCHER.example", true),
        ("nothing", &["127.0.0.1"], "127.0.0.1", true),
        ("nothing", &["127.0.0.1"], "::ffff:127.0.0.1", false),
        ("nothing", &["::1"], "0:0:0:0:0:0:0:1", true),
        ("nothing", &["::1"], "[::1]", false),
        (
            "localhost",
            &["localhost", "127.0.0.1", "::1"],
            "localhost.",
            false,
        ),
        (
            "localhost",
            &["localhost", "127.0.0.1", "::1"],
            "127.1",
            true,
        ),
        (
            "localhost",
            &["localhost", "127.0.0.1", "::1"],
            "0x7f.0.0.1",
            true,
        ),
        (
            "localhost",
            &["localhost", "127.0.0.1", "::1"],
            "127.000.000.001",
            true,
        ),
    ];
    let roots = [pki.ca.certificate()];
    for (index, (cn, alt_names, host, expected)) in cases.iter().enumerate() {
        let issued = pki.issue(
            &format!("host-{index}"),
            &Spec::server(cn, alt_names),
            Some(&pki.ca),
        );
        let errors = verify_chain(
            &[issued.certificate()],
            &roots,
            Some(host),
            VerifyPurpose::Server,
            0,
            SystemTime::now(),
        );
        let matched = !errors.iter().any(|e| e.error() == HostNameMismatch);
        assert_eq!(
            matched, *expected,
            "CN {cn:?}, SAN {alt_names:?}, host {host:?}: {errors:?}"
        );
    }
}

/// The purpose-free scenarios again, asked of a real Qt
/// (`QSslCertificate.verify` through PySide6) on the same PEM files.
#[test]
fn real_qt_agrees_on_every_purpose_free_scenario() {
    let Some(python) = support::peers::python("real_qt_agrees_on_every_purpose_free_scenario")
    else {
        return;
    };
    let pki = Pki::new();
    let extra = Extra::new(&pki);
    let scenarios = verify_cases(&pki, &extra);
    let mut listing = String::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let path = pki.dir.join(format!("scenario-{index}.pem"));
        let pem: String = scenario.chain.iter().map(|c| c.to_pem()).collect();
        std::fs::write(&path, pem).unwrap();
        listing.push_str(&format!("{}\t{}\n", path.display(), scenario.host));
    }
    let script = pki.dir.join("verify.py");
    std::fs::write(&script, QT_VERIFY_SCRIPT).unwrap();
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(&pki.ca.cert_path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(listing.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run PySide6");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), scenarios.len());
    let mut wrong = Vec::new();
    for (scenario, line) in scenarios.iter().zip(&lines) {
        let ours: Vec<String> = ours(&pki, scenario)
            .iter()
            .map(|(kind, index)| {
                format!(
                    "{}@{}",
                    *kind as i32,
                    index.map_or("-".into(), |i| i.to_string())
                )
            })
            .collect();
        if ours.join(",") != *line {
            wrong.push(format!(
                "{}: Qt {line}, sigloop {}",
                scenario.name,
                ours.join(",")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "differs from real Qt:\n{}",
        wrong.join("\n")
    );
}

/// Reads `chain-file<TAB>host` lines; prints per line Qt's errors as
/// `value@index` (index of the attached certificate in the chain, `-` for
/// none), comma-separated.
const QT_VERIFY_SCRIPT: &str = r#"
import sys
from PySide6.QtCore import QCoreApplication
from PySide6.QtNetwork import QSslCertificate, QSslConfiguration
app = QCoreApplication(sys.argv)
conf = QSslConfiguration.defaultConfiguration()
conf.setCaCertificates(QSslCertificate.fromPath(sys.argv[1]))
QSslConfiguration.setDefaultConfiguration(conf)
for line in sys.stdin.read().splitlines():
    path, host = line.split("\t")
    chain = QSslCertificate.fromPath(path)
    out = []
    for e in QSslCertificate.verify(chain, host):
        c = e.certificate()
        index = "-" if c.isNull() else str([x.toDer() for x in chain].index(c.toDer()))
        out.append("%d@%s" % (e.error().value, index))
    print(",".join(out))
"#;
