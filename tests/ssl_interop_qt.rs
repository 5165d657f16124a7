//! TLS against a real Qt: PySide6's QSslSocket and QSslServer (Qt's
//! OpenSSL backend), through `tests/interop/peers/tls_client.py` and
//! `tls_server.py`, with the test PKI made at test time
//! (`support::certs`): our `SslSocket` against Qt's `QSslServer`, Qt's
//! `QSslSocket` against our `SslServer` (16 MiB both ways, hashed; ALPN;
//! client certificates; every certificate failure as Qt's client reports
//! it against our server, equal to what it reports against openssl), and
//! our server's and Qt's server's verdicts on a client without a
//! certificate, side by side.
//!
//! Without PySide6 in `.venv` these tests do not run and say so on
//! stderr, unless
//! `SIGLOOP_REQUIRE_PEERS=1` (set by `.ci/test`) makes them fail.

mod support;

use std::path::Path;

use sigloop::ssl::{PeerVerifyMode, SslConfiguration, SslErrorKind};

use support::certs::Pki;
use support::peers;
use support::tls::{chain_config, client_config, server_config, TestServer};
use support::tls_peers::{
    echo_until_exit, our_client, qt_errors, qt_tls_client, Exchange, PeerProcess, QtTlsServer,
};

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

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// `tls_server.py` serving the test server chain, with `extra` options.
fn qt_server(python: &Path, pki: &Pki, extra: &[&str]) -> QtTlsServer {
    let mut args = vec![
        "--cert",
        path(&pki.server_chain.path),
        "--key",
        path(&pki.server.key_path),
    ];
    args.extend_from_slice(extra);
    QtTlsServer::start(python, &args)
}

// ----- our client against Qt's QSslServer ------------------------------------

#[test]
fn our_client_and_qt_server_exchange_16_mib() {
    let Some(python) = peers::python("our_client_and_qt_server_exchange_16_mib") else {
        return;
    };
    let pki = Pki::new();
    let server = qt_server(&python, &pki, &[]);
    let data = support::tls_peers::payload(16 << 20);
    let lines = our_client(server.port, client_config(&pki), None, Exchange::echo(data));
    assert!(lines.iter().any(|l| l == "ECHO 16777216 same"), "{lines:?}");
    let encrypted = lines.iter().find(|l| l.starts_with("ENCRYPTED ")).unwrap();
    assert!(encrypted.starts_with("ENCRYPTED TlsV1_3 "), "{lines:?}");
    // Qt hashed what it echoed: the pattern's SHA-256, as Qt's own client
    // reports it for the same bytes (qt_client_and_server_exchange_16_mib).
    let echoed = server
        .process
        .wait_line("ECHOED", |l| l.starts_with("ECHOED "));
    assert!(echoed.starts_with("ECHOED 16777216 "), "{echoed}");
}

#[test]
fn our_client_gets_qt_servers_alpn_choice_over_tls12() {
    let Some(python) = peers::python("our_client_gets_qt_servers_alpn_choice_over_tls12") else {
        return;
    };
    let pki = Pki::new();
    let server = qt_server(
        &python,
        &pki,
        &["--alpn", "h2,http/1.1", "--protocol", "tls1.2"],
    );
    let mut config = client_config(&pki);
    config.set_allowed_next_protocols(vec![b"http/1.1".to_vec()]);
    let lines = our_client(server.port, config, None, Exchange::echo(b"hi".to_vec()));
    let encrypted = lines.iter().find(|l| l.starts_with("ENCRYPTED ")).unwrap();
    assert!(encrypted.starts_with("ENCRYPTED TlsV1_2 "), "{lines:?}");
    assert!(encrypted.ends_with(" http/1.1"), "{lines:?}");
    let qt_side = server
        .process
        .wait_line("ENCRYPTED", |l| l.starts_with("ENCRYPTED "));
    assert!(qt_side.starts_with("ENCRYPTED TlsV1_2 "), "{qt_side}");
}

#[test]
fn our_client_certificate_accepted_by_qt_server() {
    let Some(python) = peers::python("our_client_certificate_accepted_by_qt_server") else {
        return;
    };
    let pki = Pki::new();
    let ca = path(&pki.ca.cert_path);
    let server = qt_server(&python, &pki, &["--ca", ca, "--verify-client"]);
    let mut config = client_config(&pki);
    config.set_local_certificate(pki.client.certificate());
    config.set_private_key(pki.client.ssl_key());
    let lines = our_client(server.port, config, None, Exchange::echo(b"hi".to_vec()));
    assert!(lines.iter().any(|l| l == "ECHO 2 same"), "{lines:?}");
    let qt_side = server
        .process
        .wait_line("ENCRYPTED", |l| l.starts_with("ENCRYPTED "));
    assert!(
        qt_side.ends_with(" sigloop-client"),
        "Qt saw our certificate: {qt_side}"
    );
}

// ----- Qt's client against our SslServer ---------------------------------------

/// Our `SslServer` with `config`, echoing, while the PySide6 client runs
/// with `args`; returns the client's lines and the server's error lines
/// (`ERROR <SocketError name> <text>`, as `tls_server.py` prints them).
fn qt_client_against_ours(
    python: &Path,
    config: SslConfiguration,
    args: &[&str],
) -> (Vec<String>, Vec<String>) {
    let server = TestServer::start(config);
    let errors = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = errors.clone();
    let _failed = server
        .server
        .error_occurred()
        .connect(move |(socket, error)| {
            sink.borrow_mut().push(format!(
                "ERROR {} {}",
                error.qt_name(),
                socket.error_string()
            ));
        });
    let mut client: PeerProcess = qt_tls_client(python, server.port(), args);
    echo_until_exit(&server, &mut client, None);
    assert!(client.wait_exit().success(), "{}", client.transcript());
    let lines = client.lines();
    let errors = errors.borrow().clone();
    (lines, errors)
}

#[test]
fn qt_client_and_our_server_exchange_16_mib() {
    let Some(python) = peers::python("qt_client_and_our_server_exchange_16_mib") else {
        return;
    };
    let pki = Pki::new();
    let bytes = (16 << 20).to_string();
    let (lines, errors) = qt_client_against_ours(
        &python,
        server_config(&pki, &pki.server),
        &[
            "--ca",
            path(&pki.ca.cert_path),
            "--peer-name",
            "localhost",
            "--bytes",
            &bytes,
        ],
    );
    assert!(errors.is_empty(), "{errors:?}");
    let echo = lines
        .iter()
        .find(|l| l.starts_with("ECHO "))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(
        echo.starts_with(&format!("ECHO {bytes} ")) && echo.ends_with(" same"),
        "{echo}"
    );
}

#[test]
fn qt_client_alpn_and_certificate_with_our_server() {
    let Some(python) = peers::python("qt_client_alpn_and_certificate_with_our_server") else {
        return;
    };
    let pki = Pki::new();
    let mut config = server_config(&pki, &pki.server);
    config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    config.set_allowed_next_protocols(vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    let (lines, errors) = qt_client_against_ours(
        &python,
        config,
        &[
            "--ca",
            path(&pki.ca.cert_path),
            "--peer-name",
            "localhost",
            "--cert",
            path(&pki.client.cert_path),
            "--key",
            path(&pki.client.key_path),
            "--alpn",
            "http/1.1",
            "--bytes",
            "1000",
        ],
    );
    assert!(errors.is_empty(), "{errors:?}");
    let encrypted = lines
        .iter()
        .find(|l| l.starts_with("ENCRYPTED "))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(encrypted.ends_with(" http/1.1"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ECHO 1000 ") && l.ends_with(" same")),
        "{lines:?}"
    );
}

/// Each certificate failure served by our `SslServer`: real Qt's client
/// reports the list it reports when openssl serves the same chain
/// (`tests/ssl_interop_openssl.rs`, where our client's list must equal
/// it), with the texts of our `SslErrorKind`s, and fails the handshake
/// with the first one.
#[test]
fn qt_client_reports_each_failure_against_our_server() {
    let Some(python) = peers::python("qt_client_reports_each_failure_against_our_server") else {
        return;
    };
    let pki = Pki::new();
    let cases: Vec<(&str, SslConfiguration, Vec<SslErrorKind>)> = vec![
        (
            "wrong host",
            server_config(&pki, &pki.wronghost),
            vec![SslErrorKind::HostNameMismatch],
        ),
        (
            "expired",
            server_config(&pki, &pki.expired),
            vec![SslErrorKind::CertificateExpired],
        ),
        (
            "not yet valid",
            server_config(&pki, &pki.notyet),
            vec![SslErrorKind::CertificateNotYetValid],
        ),
        (
            "self-signed",
            server_config(&pki, &pki.selfsigned),
            vec![SslErrorKind::SelfSignedCertificate],
        ),
        (
            "unknown CA",
            server_config(&pki, &pki.other_server),
            vec![
                SslErrorKind::UnableToGetLocalIssuerCertificate,
                SslErrorKind::UnableToVerifyFirstCertificate,
            ],
        ),
        (
            "unknown CA, root in the chain",
            chain_config(&pki, &pki.other_server_chain.pem, &pki.other_server),
            vec![SslErrorKind::SelfSignedCertificateInChain],
        ),
    ];
    for (name, config, expected) in cases {
        let (lines, _) = qt_client_against_ours(
            &python,
            config,
            &["--ca", path(&pki.ca.cert_path), "--peer-name", "localhost"],
        );
        let qt = QtOutcome { lines };
        assert_eq!(qt.ssl_errors(), expected, "{name}: {:?}", qt.lines);
        assert!(qt.encrypted().is_none(), "{name}: {:?}", qt.lines);
        let texts = qt.ssl_error_texts();
        for (value, text) in &texts {
            let ours = SslErrorKind::from_i32(*value).expect("a Qt value");
            assert_eq!(ours.text(), text, "{name}: the text of {ours:?}");
        }
        assert_eq!(
            qt.error(),
            Some(format!("ERROR SslHandshakeFailedError {}", texts[0].1).as_str()),
            "{name}: Qt fails the handshake with the first error's text"
        );
    }
}

/// A client without a certificate, a server that requires one: our
/// `SslServer` and Qt's `QSslServer` fail the connection with the same
/// socket error, and real Qt's client sees the same outcome from both.
#[test]
fn missing_client_certificate_ours_and_qts_server() {
    let Some(python) = peers::python("missing_client_certificate_ours_and_qts_server") else {
        return;
    };
    let pki = Pki::new();
    let ca = path(&pki.ca.cert_path);
    let client_args = ["--ca", ca, "--peer-name", "localhost", "--bytes", "64"];

    let qt_server = qt_server(&python, &pki, &["--ca", ca, "--verify-client"]);
    let mut client = qt_tls_client(&python, qt_server.port, &client_args);
    assert!(client.wait_exit().success(), "{}", client.transcript());
    let qt_client_vs_qt = client.lines();
    let qt_server_error = qt_server
        .process
        .wait_line("the server's error", |l| l.starts_with("ERROR "));

    let mut config = server_config(&pki, &pki.server);
    config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    let (qt_client_vs_ours, our_errors) = qt_client_against_ours(&python, config, &client_args);

    let name = |line: &str| line.split(' ').nth(1).unwrap_or("").to_owned();
    assert_eq!(
        our_errors.iter().map(|l| name(l)).collect::<Vec<_>>(),
        vec![name(&qt_server_error)],
        "our server's errors {our_errors:?}, Qt's server: {qt_server_error}"
    );
    let outcome = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| !l.starts_with("ENCRYPTED "))
            .map(|l| {
                if l.starts_with("ERROR ") {
                    name(l)
                } else {
                    l.clone()
                }
            })
            .collect()
    };
    assert_eq!(
        outcome(&qt_client_vs_ours),
        outcome(&qt_client_vs_qt),
        "Qt's client against ours (left) and against Qt's server (right)"
    );
}
