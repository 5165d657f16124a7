//! TLS against a real Qt: PySide6's QSslSocket and QSslServer (Qt's
//! OpenSSL backend), through `tests/interop/peers/tls_client.py` and
//! `tls_server.py`, with the test PKI made at test time
//! (`support::certs`).
//!
//! Without PySide6 in `.venv` (or openssl, for the cases served by
//! `openssl s_server`) these tests do not run and say so on stderr, unless
//! `SIGLOOP_REQUIRE_PEERS=1` (set by `.ci/test`) makes them fail.

mod support;

use std::path::{Path, PathBuf};

use sigloop::ssl::SslErrorKind;

use support::certs::Pki;
use support::peers;
use support::tls_peers::{qt_errors, qt_tls_client, OpensslServer, QtTlsServer};

/// What the real Qt client printed against a server.
struct QtOutcome {
    lines: Vec<String>,
}

impl QtOutcome {
    /// The `sslErrors` list, in order.
    fn ssl_errors(&self) -> Vec<SslErrorKind> {
        qt_errors(&self.lines, "SSL_ERROR")
            .into_iter()
            .map(|(v, _)| {
                SslErrorKind::from_i32(v).unwrap_or_else(|| panic!("no SslErrorKind {v}"))
            })
            .collect()
    }

    /// The `(value, text)` pairs of the `sslErrors` list.
    fn ssl_error_texts(&self) -> Vec<(i32, String)> {
        qt_errors(&self.lines, "SSL_ERROR")
    }

    /// The `ENCRYPTED ...` line, if the handshake completed.
    fn encrypted(&self) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.starts_with("ENCRYPTED "))
            .map(String::as_str)
    }

    /// The `ERROR <name> <text>` line, if any.
    fn error(&self) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.starts_with("ERROR "))
            .map(String::as_str)
    }
}

/// Runs the PySide6 client against 127.0.0.1:`port` to its end.
fn qt_client(python: &Path, port: u16, args: &[&str]) -> QtOutcome {
    let mut client = qt_tls_client(python, port, args);
    let status = client.wait_exit();
    assert!(
        status.success(),
        "the Qt client failed: {status}\n{}",
        client.transcript()
    );
    let lines = client.lines();
    assert!(
        lines.iter().any(|l| l == "DONE"),
        "the Qt client did not finish\n{}",
        client.transcript()
    );
    QtOutcome { lines }
}

/// The peers a failure case needs, or `None` (skipped) without them.
fn peers_for(test: &str) -> Option<(PathBuf, PathBuf)> {
    let python = peers::python(test)?;
    let openssl = peers::openssl(test)?;
    Some((python, openssl))
}

/// What a failure case's server serves: leaf, key, more of the chain.
type Served<'a> = (&'a Path, &'a Path, Option<&'a Path>);

/// One verification failure: `openssl s_server` serves what `pick` says,
/// and real Qt, trusting only the test CA, reports `expected`.
fn failure_case(test: &str, pick: fn(&Pki) -> Served<'_>, expected: &[SslErrorKind]) {
    let Some((python, openssl)) = peers_for(test) else {
        return;
    };
    let pki = Pki::new();
    let (cert, key, chain) = pick(&pki);
    let chain_args = chain.map(|c| c.to_str().expect("utf-8 path"));
    let extra: Vec<&str> = chain_args.iter().flat_map(|c| ["-cert_chain", c]).collect();
    let server = OpensslServer::start(&openssl, cert, key, &extra);
    let ca = pki.ca.cert_path.to_str().expect("utf-8 path");
    let qt = qt_client(
        &python,
        server.port,
        &["--ca", ca, "--peer-name", "localhost"],
    );
    assert_eq!(qt.ssl_errors(), expected, "{:?}", qt.lines);
    assert!(qt.encrypted().is_none(), "{:?}", qt.lines);
    // Our texts are Qt's, word for word.
    for (value, text) in qt.ssl_error_texts() {
        let ours = SslErrorKind::from_i32(value).expect("a Qt value");
        assert_eq!(ours.text(), text, "the text of {ours:?}");
    }
    let (_, first_text) = &qt.ssl_error_texts()[0];
    assert_eq!(
        qt.error(),
        Some(format!("ERROR SslHandshakeFailedError {first_text}").as_str()),
        "Qt fails the handshake with the first error's text"
    );
}

#[test]
fn qt_reports_host_name_mismatch() {
    failure_case(
        "qt_reports_host_name_mismatch",
        |p| (&p.wronghost.cert_path, &p.wronghost.key_path, None),
        &[SslErrorKind::HostNameMismatch],
    );
}

#[test]
fn qt_reports_expired() {
    failure_case(
        "qt_reports_expired",
        |p| (&p.expired.cert_path, &p.expired.key_path, None),
        &[SslErrorKind::CertificateExpired],
    );
}

#[test]
fn qt_reports_not_yet_valid() {
    failure_case(
        "qt_reports_not_yet_valid",
        |p| (&p.notyet.cert_path, &p.notyet.key_path, None),
        &[SslErrorKind::CertificateNotYetValid],
    );
}

#[test]
fn qt_reports_self_signed() {
    failure_case(
        "qt_reports_self_signed",
        |p| (&p.selfsigned.cert_path, &p.selfsigned.key_path, None),
        &[SslErrorKind::SelfSignedCertificate],
    );
}

#[test]
fn qt_reports_unknown_ca() {
    failure_case(
        "qt_reports_unknown_ca",
        |p| (&p.other_server.cert_path, &p.other_server.key_path, None),
        &[
            SslErrorKind::UnableToGetLocalIssuerCertificate,
            SslErrorKind::UnableToVerifyFirstCertificate,
        ],
    );
}

#[test]
fn qt_reports_unknown_ca_root_in_chain() {
    failure_case(
        "qt_reports_unknown_ca_root_in_chain",
        |p| {
            (
                &p.other_server.cert_path,
                &p.other_server.key_path,
                Some(&p.other_ca.cert_path),
            )
        },
        &[SslErrorKind::SelfSignedCertificateInChain],
    );
}

/// The harness itself: a PySide6 client and a PySide6 server exchange
/// 16 MiB over TLS 1.3 with the test PKI, and both hash the same bytes.
#[test]
fn qt_client_and_server_exchange_16_mib() {
    let Some(python) = peers::python("qt_client_and_server_exchange_16_mib") else {
        return;
    };
    let pki = Pki::new();
    let server = QtTlsServer::start(
        &python,
        &[
            "--cert",
            pki.server_chain.path.to_str().unwrap(),
            "--key",
            pki.server.key_path.to_str().unwrap(),
        ],
    );
    let bytes = (16 << 20).to_string();
    let ca = pki.ca.cert_path.to_str().unwrap();
    let qt = qt_client(&python, server.port, &["--ca", ca, "--bytes", &bytes]);
    assert!(qt.ssl_errors().is_empty(), "{:?}", qt.lines);
    let echo = qt
        .lines
        .iter()
        .find(|l| l.starts_with("ECHO "))
        .expect("an ECHO line");
    assert!(echo.ends_with(" same"), "{echo}");
    let sha = echo.split(' ').nth(2).expect("a digest");
    let echoed = server
        .process
        .wait_line("ECHOED", |l| l.starts_with("ECHOED "));
    assert_eq!(echoed, format!("ECHOED {bytes} {sha}"));
}
