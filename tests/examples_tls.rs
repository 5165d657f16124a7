//! Runs the TLS examples as a user would: `tls_echo_server`,
//! `secure_socket_client` and `echo_client --tls`, against each other and
//! against openssl (`s_server -rev`, `s_client`), with certificates from
//! the test PKI made at test time.
//!
//! Nothing is built here: `cargo test` builds the examples next to the
//! test binaries; running this file alone needs `cargo build --examples`
//! first. The tests that need openssl do not run without it and say so,
//! unless `SIGLOOP_REQUIRE_PEERS=1` (set by `.ci/test`) makes them fail.
//! Every process is killed when its test ends; every wait is bounded.

mod support;

use std::path::Path;
use std::process::Command;

use support::certs::{Issued, Pki};
use support::examples::example;
use support::peers;
use support::tls_peers::{openssl_client, OpensslServer, PeerProcess};

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// `tls_echo_server` presenting `issued`, and the port it reports.
fn tls_echo_server(issued: &Issued) -> (PeerProcess, u16) {
    let mut command = Command::new(example("tls_echo_server"));
    command.args([
        "--port",
        "0",
        "--cert",
        path(&issued.cert_path),
        "--key",
        path(&issued.key_path),
    ]);
    let server = PeerProcess::spawn("tls_echo_server", command, None);
    let line = server.wait_line("listening on <port>", |l| l.starts_with("listening on "));
    let port = line["listening on ".len()..]
        .trim()
        .parse()
        .expect("a port");
    assert_ne!(port, 0, "the server reports the port it really got");
    (server, port)
}

/// Runs example `name` with `args` and `stdin` to its end: (exit code,
/// stdout, stderr).
fn run(name: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut command = Command::new(example(name));
    command.args(args);
    let mut process = PeerProcess::spawn(name, command, Some(stdin.as_bytes().to_vec()));
    let status = process.wait_exit();
    let stdout = String::from_utf8(process.stdout()).expect("UTF-8 output");
    let transcript = process.transcript();
    let stderr = transcript
        .split_once("--- stderr:\n")
        .map_or(String::new(), |(_, e)| e.to_owned());
    (status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn echo_client_tls_against_tls_echo_server() {
    let pki = Pki::new();
    let (_server, port) = tls_echo_server(&pki.server);
    let port = port.to_string();
    let (code, stdout, stderr) = run(
        "echo_client",
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--message",
            "over tls",
            "--tls",
            "--ca",
            path(&pki.ca.cert_path),
            "--peer-name",
            "localhost",
        ],
        "",
    );
    assert_eq!((code, stdout.as_str()), (0, "over tls\n"), "{stderr}");
}

#[test]
fn echo_client_tls_prints_qts_error_texts() {
    let pki = Pki::new();
    let (_server, port) = tls_echo_server(&pki.wronghost);
    let port = port.to_string();
    let (code, stdout, stderr) = run(
        "echo_client",
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--message",
            "hi",
            "--tls",
            "--ca",
            path(&pki.ca.cert_path),
            "--peer-name",
            "localhost",
        ],
        "",
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    let text = "The host name did not match any of the valid hosts for this certificate";
    assert!(
        stderr.starts_with(&format!(
            "ssl error: {text}\nerror: SslHandshakeFailedError: {text}\n"
        )),
        "{stderr}"
    );
}

#[test]
fn secure_socket_client_against_tls_echo_server() {
    let pki = Pki::new();
    let (_server, port) = tls_echo_server(&pki.server);
    let port = port.to_string();
    let (code, stdout, stderr) = run(
        "secure_socket_client",
        &[
            "--host",
            "localhost",
            "--port",
            &port,
            "--ca",
            path(&pki.ca.cert_path),
        ],
        "first line\nsecond line\n",
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "protocol: TlsV1_3", "{stdout}");
    assert!(lines[1].starts_with("cipher: TLS_"), "{stdout}");
    assert_eq!(lines[2], "certificate chain:", "{stdout}");
    assert!(
        lines[3].starts_with("  0: subject \"localhost\" issued by \"sigloop test root\""),
        "{stdout}"
    );
    assert_eq!(
        &lines[lines.len() - 2..],
        ["first line", "second line"],
        "{stdout}"
    );
}

#[test]
fn secure_socket_client_against_openssl() {
    let Some(openssl) = peers::openssl("secure_socket_client_against_openssl") else {
        return;
    };
    let pki = Pki::new();
    let server = OpensslServer::start(
        &openssl,
        &pki.server.cert_path,
        &pki.server.key_path,
        &["-cert_chain", path(&pki.ca.cert_path)],
    );
    let port = server.port.to_string();
    let (code, stdout, stderr) = run(
        "secure_socket_client",
        &[
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--ca",
            path(&pki.ca.cert_path),
            "--peer-name",
            "localhost",
        ],
        "hello\nworld\n",
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.ends_with("olleh\ndlrow\n"), "{stdout}");
    // The chain openssl serves: the server's certificate, then the CA.
    assert!(
        stdout.contains("\n  1: subject \"sigloop test root\""),
        "{stdout}"
    );
}

#[test]
fn secure_socket_client_verification_failure_and_insecure() {
    let Some(openssl) = peers::openssl("secure_socket_client_verification_failure_and_insecure")
    else {
        return;
    };
    let pki = Pki::new();
    let server = OpensslServer::start(&openssl, &pki.expired.cert_path, &pki.expired.key_path, &[]);
    let port = server.port.to_string();
    let ca = path(&pki.ca.cert_path);
    let args = [
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--ca",
        ca,
        "--peer-name",
        "localhost",
    ];
    let (code, stdout, stderr) = run("secure_socket_client", &args, "hello\n");
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "ssl error: The certificate has expired\n\
         error: SslHandshakeFailedError: The certificate has expired\n"
    );

    let mut insecure = args.to_vec();
    insecure.push("--insecure");
    let (code, stdout, stderr) = run("secure_socket_client", &insecure, "hello\n");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.starts_with("ssl error: The certificate has expired\n"),
        "{stderr}"
    );
    assert!(stdout.starts_with("protocol: "), "{stdout}");
    assert!(stdout.ends_with("olleh\n"), "{stdout}");
}

#[test]
fn openssl_s_client_against_tls_echo_server() {
    let Some(openssl) = peers::openssl("openssl_s_client_against_tls_echo_server") else {
        return;
    };
    let pki = Pki::new();
    let (_server, port) = tls_echo_server(&pki.server);
    let data = b"line one\nline two\n".to_vec();
    let client = openssl_client(
        &openssl,
        port,
        &[
            "-CAfile",
            path(&pki.ca.cert_path),
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
        ],
        data.clone(),
    );
    // s_client -quiet stays until the server closes; the echo ends it here.
    let echoed = client.wait_line("the echo", |l| l == "line two");
    assert_eq!(echoed, "line two");
    assert_eq!(client.stdout(), data, "{}", client.transcript());
}
