//! Our proxy handshakes against the bytes a real Qt sends: a PySide6
//! `QTcpSocket` (tests/interop/peers/proxy_client.py) connects through a
//! scripted proxy in this test, and every message Qt sends must equal what
//! our `Socks5Handshake` or `HttpConnectHandshake` produces at the same
//! step, given the same proxy replies. Qt's final result (connected, or
//! its error name and text) must equal our final event.
//!
//! The peer runs on the project's `.venv/bin/python`; `bash .ci/test`
//! creates that venv with PySide6. Without it each test says it did not
//! run and passes, unless `.ci/test`'s `SIGLOOP_REQUIRE_PEERS=1` makes a
//! missing peer a failure (see `tests/support/peers.rs`). Loopback only; every read has a deadline and the peer exits by
//! itself after 15 s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv6Addr, Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sigloop::net::proxy::http::HttpConnectHandshake;
use sigloop::net::proxy::socks5::{Socks5Command, Socks5Handshake};
use sigloop::net::proxy::{HandshakeEvent, ProxyAddress};
use sigloop::{Authenticator, NetworkProxy, ProxyType};

mod support;

const READ_DEADLINE: Duration = Duration::from_secs(15);

fn venv_python() -> PathBuf {
    support::peers::venv_python()
}

/// Our side of the comparison: either handshake behind one interface.
enum Ours {
    Socks(Socks5Handshake),
    Http(HttpConnectHandshake),
}

impl Ours {
    fn proxy_connected(&mut self) {
        match self {
            Ours::Socks(h) => h.proxy_connected(),
            Ours::Http(h) => h.proxy_connected(),
        }
    }
    fn take_output(&mut self) -> Vec<u8> {
        match self {
            Ours::Socks(h) => h.take_output(),
            Ours::Http(h) => h.take_output(),
        }
    }
    fn feed(&mut self, data: &[u8]) -> HandshakeEvent {
        match self {
            Ours::Socks(h) => h.feed(data),
            Ours::Http(h) => h.feed(data),
        }
    }
    fn authenticate(&mut self, auth: &Authenticator) -> HandshakeEvent {
        match self {
            Ours::Socks(h) => h.authenticate(auth),
            Ours::Http(h) => h.authenticate(auth),
        }
    }
    fn authenticator(&self) -> Authenticator {
        match self {
            Ours::Socks(h) => h.authenticator(),
            Ours::Http(h) => h.authenticator(),
        }
    }
}

/// One scenario: how Qt and we are configured, and the proxy's replies in
/// order (each answers one client message; a `Reconnect` moves on to the
/// next connection).
struct Scenario {
    kind: &'static str,
    target: ProxyAddress,
    /// The host string Qt's `connectToHost` gets.
    target_host: &'static str,
    proxy_user: &'static str,
    proxy_password: &'static str,
    slot_user: &'static str,
    slot_password: &'static str,
    headers: &'static [(&'static str, &'static str)],
    replies: Vec<Vec<u8>>,
    /// Rewrites both sides' messages before the comparison (a documented
    /// difference, or random parts); identity for most.
    normalize: fn(Vec<u8>) -> Vec<u8>,
}

impl Scenario {
    fn new(
        kind: &'static str,
        target: ProxyAddress,
        target_host: &'static str,
        replies: Vec<Vec<u8>>,
    ) -> Self {
        Scenario {
            kind,
            target,
            target_host,
            proxy_user: "",
            proxy_password: "",
            slot_user: "",
            slot_password: "",
            headers: &[],
            replies,
            normalize: |v| v,
        }
    }

    fn ours(&self) -> Ours {
        match self.kind {
            "socks5" => Ours::Socks(
                Socks5Handshake::new(
                    Socks5Command::Connect,
                    self.target.clone(),
                    self.proxy_user,
                    self.proxy_password,
                )
                .unwrap(),
            ),
            _ => {
                let mut proxy = NetworkProxy::new(ProxyType::Http, "127.0.0.1", 1);
                proxy.set_user(self.proxy_user);
                proxy.set_password(self.proxy_password);
                for (name, value) in self.headers {
                    proxy.set_raw_header(name, value);
                }
                Ours::Http(HttpConnectHandshake::new(self.target.clone(), &proxy))
            }
        }
    }

    /// Runs Qt through the scripted proxy; returns Qt's output lines and
    /// our final result line.
    fn run(&self) -> (Vec<String>, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut command = Command::new(venv_python());
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/peers/proxy_client.py"))
            .args([
                self.kind,
                &port.to_string(),
                self.target_host,
                &self.target.port().to_string(),
            ])
            .args(["--user", self.proxy_user, "--password", self.proxy_password])
            .args([
                "--slot-user",
                self.slot_user,
                "--slot-password",
                self.slot_password,
            ])
            .env("QT_QPA_PLATFORM", "offscreen")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in self.headers {
            command.args(["--header", &format!("{name}:{value}")]);
        }
        let mut child = command.spawn().expect("start the Qt peer");
        let stdout = child.stdout.take().unwrap();

        // When the peer exits, wake the accept loop with a connection it
        // recognizes by the flag.
        let done = Arc::new(AtomicBool::new(false));
        let waiter = {
            let done = done.clone();
            std::thread::spawn(move || {
                let status = child.wait();
                done.store(true, Ordering::SeqCst);
                let _ = TcpStream::connect(("127.0.0.1", port));
                status
            })
        };

        let mut ours = self.ours();
        let mut replies = self.replies.iter();
        let mut result = String::from("(no result)");
        let mut finished = false;
        loop {
            let (conn, _) = listener.accept().unwrap();
            if done.load(Ordering::SeqCst) {
                break;
            }
            if finished {
                // Qt tries each address twice: the same script again.
                ours = self.ours();
                replies = self.replies.iter();
                finished = false;
            }
            conn.set_read_timeout(Some(READ_DEADLINE)).unwrap();
            ours.proxy_connected();
            if let Some(line) = self.converse(conn, &mut ours, &mut replies) {
                result = line;
                finished = true;
            }
        }
        let status = waiter.join().unwrap().unwrap();
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect();
        assert!(status.success(), "the Qt peer failed ({status}): {lines:?}");
        (lines, result)
    }

    /// One connection: compare each of Qt's messages with ours, answer
    /// with the next reply. `Some(result)` when the handshake ended,
    /// `None` when it continues on a new connection.
    fn converse(
        &self,
        mut conn: TcpStream,
        ours: &mut Ours,
        replies: &mut std::slice::Iter<'_, Vec<u8>>,
    ) -> Option<String> {
        loop {
            let expected = ours.take_output();
            if !expected.is_empty() {
                let got = (self.normalize)(read_message(&mut conn, self.kind, expected.len()));
                let expected = (self.normalize)(expected);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected),
                    "Qt's bytes and ours differ: {got:02x?} vs {expected:02x?}"
                );
            }
            let Some(reply) = replies.next() else {
                panic!("the script ran out of replies");
            };
            conn.write_all(reply).unwrap();
            let mut event = ours.feed(reply);
            if event == HandshakeEvent::AuthenticationRequired {
                let mut auth = ours.authenticator();
                if !self.slot_user.is_empty() || !self.slot_password.is_empty() {
                    auth.set_user(self.slot_user);
                    auth.set_password(self.slot_password);
                }
                event = ours.authenticate(&auth);
            }
            match event {
                HandshakeEvent::Pending => continue,
                HandshakeEvent::Reconnect => {
                    let _ = conn.shutdown(Shutdown::Both);
                    return None;
                }
                HandshakeEvent::Connected => return Some("connected".into()),
                HandshakeEvent::Failed(e) => {
                    let _ = conn.shutdown(Shutdown::Both);
                    return Some(format!("error {} {}", e.error().qt_name(), e.text()));
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
}

/// Reads one client message: `len` bytes for SOCKS5, up to the blank line
/// for HTTP.
fn read_message(conn: &mut TcpStream, kind: &str, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !(kind == "socks5" && got.len() == len || kind == "http" && got.ends_with(b"\r\n\r\n")) {
        match conn.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            other => panic!("Qt sent {got:02x?} and then {other:?}"),
        }
    }
    got
}

/// Qt's final line: the first "connected" or "error …".
fn qt_result(lines: &[String]) -> &str {
    lines
        .iter()
        .find(|l| *l == "connected" || l.starts_with("error "))
        .unwrap_or_else(|| panic!("no result from the Qt peer: {lines:?}"))
}

fn v4(port: u16) -> ProxyAddress {
    ProxyAddress::from(([127, 0, 0, 1], port))
}

const SOCKS_OK: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];

fn check(scenario: Scenario) -> Vec<String> {
    let (lines, ours) = scenario.run();
    assert_eq!(
        qt_result(&lines),
        ours,
        "Qt's result and ours; Qt printed {lines:?}"
    );
    lines
}

#[test]
fn socks5_connect_without_and_with_credentials_and_by_name() {
    if support::peers::python(
        "interop_proxy::socks5_connect_without_and_with_credentials_and_by_name",
    )
    .is_none()
    {
        return;
    }
    check(Scenario::new(
        "socks5",
        v4(9),
        "127.0.0.1",
        vec![vec![5, 0], SOCKS_OK.to_vec()],
    ));
    check(Scenario::new(
        "socks5",
        ProxyAddress::from((Ipv6Addr::LOCALHOST, 4433)),
        "::1",
        vec![vec![5, 0], SOCKS_OK.to_vec()],
    ));
    let mut named = Scenario::new(
        "socks5",
        ProxyAddress::Domain("example.test".into(), 80),
        "example.test",
        vec![vec![5, 2], vec![1, 0], SOCKS_OK.to_vec()],
    );
    named.proxy_user = "user";
    named.proxy_password = "secret";
    check(named);
}

#[test]
fn socks5_failures_match_qts_errors() {
    if support::peers::python("interop_proxy::socks5_failures_match_qts_errors").is_none() {
        return;
    }
    for (code, _) in [(1u8, ()), (2, ()), (5, ()), (7, ()), (9, ())] {
        let mut reply = SOCKS_OK.to_vec();
        reply[1] = code;
        check(Scenario::new(
            "socks5",
            v4(9),
            "127.0.0.1",
            vec![vec![5, 0], reply],
        ));
    }
    let mut by_name = SOCKS_OK.to_vec();
    by_name[1] = 1;
    check(Scenario::new(
        "socks5",
        ProxyAddress::Domain("some.name.test".into(), 80),
        "some.name.test",
        vec![vec![5, 0], by_name],
    ));
    check(Scenario::new(
        "socks5",
        v4(9),
        "127.0.0.1",
        vec![vec![4, 0]],
    ));
    check(Scenario::new(
        "socks5",
        v4(9),
        "127.0.0.1",
        vec![vec![5, 1]],
    ));
    let lines = check(Scenario::new(
        "socks5",
        v4(9),
        "127.0.0.1",
        vec![vec![5, 0xFF]],
    ));
    assert!(
        lines.iter().any(|l| l.starts_with("auth-required")),
        "{lines:?}"
    );
}

#[test]
fn socks5_credentials_from_the_slot_reconnect() {
    if support::peers::python("interop_proxy::socks5_credentials_from_the_slot_reconnect").is_none()
    {
        return;
    }
    let mut scenario = Scenario::new(
        "socks5",
        v4(9),
        "127.0.0.1",
        vec![vec![5, 0xFF], vec![5, 2], vec![1, 0], SOCKS_OK.to_vec()],
    );
    scenario.slot_user = "alice";
    scenario.slot_password = "pw";
    let lines = check(scenario);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("auth-required"))
            .count(),
        1
    );
}

#[test]
fn http_connect_requests_and_statuses() {
    if support::peers::python("interop_proxy::http_connect_requests_and_statuses").is_none() {
        return;
    }
    let ok = b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec();
    check(Scenario::new("http", v4(9), "127.0.0.1", vec![ok.clone()]));
    let mut headers = Scenario::new(
        "http",
        ProxyAddress::Domain("example.test".into(), 443),
        "example.test",
        vec![ok],
    );
    headers.headers = &[("X-Trace", "abc"), ("User-Agent", "sigloop-test")];
    check(headers);
    for status in [
        &b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 401 Unauthorized\r\nConnection: close\r\n\r\n",
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    ] {
        check(Scenario::new(
            "http",
            v4(9),
            "127.0.0.1",
            vec![status.to_vec()],
        ));
    }
}

/// The documented difference: Qt writes an IPv6 target without brackets.
#[test]
fn http_connect_to_ipv6_differs_only_by_brackets() {
    if support::peers::python("interop_proxy::http_connect_to_ipv6_differs_only_by_brackets")
        .is_none()
    {
        return;
    }
    let mut scenario = Scenario::new(
        "http",
        ProxyAddress::from((Ipv6Addr::LOCALHOST, 9)),
        "::1",
        vec![b"HTTP/1.1 200 OK\r\n\r\n".to_vec()],
    );
    scenario.normalize = |message| {
        let text = String::from_utf8(message).unwrap();
        text.replacen("CONNECT ::1:9 ", "CONNECT [::1]:9 ", 1)
            .replacen("Host: ::1\r\n", "Host: [::1]\r\n", 1)
            .into_bytes()
    };
    check(scenario);
}

#[test]
fn http_basic_authentication_on_a_kept_alive_connection() {
    if support::peers::python("interop_proxy::http_basic_authentication_on_a_kept_alive_connection")
        .is_none()
    {
        return;
    }
    let challenge = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"squid\"\r\nContent-Length: 4\r\n\r\nnope".to_vec();
    let mut known = Scenario::new(
        "http",
        v4(9),
        "127.0.0.1",
        vec![challenge.clone(), b"HTTP/1.1 200 OK\r\n\r\n".to_vec()],
    );
    known.proxy_user = "Aladdin";
    known.proxy_password = "open sesame";
    check(known);

    let closing = b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"tiny\"\r\n\r\n".to_vec();
    let mut from_slot = Scenario::new(
        "http",
        v4(9),
        "127.0.0.1",
        vec![closing.clone(), b"HTTP/1.1 200 OK\r\n\r\n".to_vec()],
    );
    from_slot.slot_user = "u";
    from_slot.slot_password = "p";
    let lines = check(from_slot);
    assert!(
        lines.contains(&"auth-required tiny".to_string()),
        "{lines:?}"
    );

    let mut refused = Scenario::new(
        "http",
        v4(9),
        "127.0.0.1",
        vec![challenge.clone(), challenge],
    );
    refused.proxy_user = "u";
    refused.proxy_password = "wrong";
    check(refused);
}

#[test]
fn http_digest_authentication() {
    if support::peers::python("interop_proxy::http_digest_authentication").is_none() {
        return;
    }
    let challenge = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"0123456789abcdef\", qop=\"auth\", algorithm=MD5, opaque=\"op\"\r\nContent-Length: 0\r\n\r\n".to_vec();
    let mut scenario = Scenario::new(
        "http",
        v4(9),
        "127.0.0.1",
        vec![challenge, b"HTTP/1.1 200 OK\r\n\r\n".to_vec()],
    );
    scenario.proxy_user = "u";
    scenario.proxy_password = "pw";
    // The client nonce is random, and so is the response computed from
    // it: compare everything else.
    scenario.normalize = blank_random_digest_fields;
    check(scenario);
}

/// Replaces the values of `cnonce="…"` and `response="…"` with `*`.
fn blank_random_digest_fields(message: Vec<u8>) -> Vec<u8> {
    let mut text = String::from_utf8(message).unwrap();
    for field in ["cnonce=\"", "response=\""] {
        if let Some(start) = text.find(field).map(|i| i + field.len()) {
            if let Some(len) = text[start..].find('"') {
                text.replace_range(start..start + len, "*");
            }
        }
    }
    text.into_bytes()
}

/// Which destinations Qt never proxies: our `proxy_for_query` and Qt's
/// give the same first proxy for each host, with a SOCKS5 application
/// proxy set in both. (The only test in this binary that touches the
/// process-wide proxy settings.)
#[test]
fn proxy_for_query_skips_the_same_local_hosts_as_qt() {
    if support::peers::python("interop_proxy::proxy_for_query_skips_the_same_local_hosts_as_qt")
        .is_none()
    {
        return;
    }
    use sigloop::net::proxy::proxy_for_query;
    use sigloop::{NetworkProxyQuery, QueryType};

    let hosts = [
        "localhost",
        "LOCALHOST",
        "localhost.localdomain",
        "localhostx",
        "127.0.0.1",
        "127.1",
        "127.255.255.254",
        "0x7f000001",
        "::1",
        "::ffff:127.0.0.1",
        "128.0.0.1",
        "example.com",
        "10.0.0.1",
    ];
    let output = Command::new(venv_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/peers/proxy_for_query.py"))
        .args(hosts)
        .env("QT_QPA_PLATFORM", "offscreen")
        .stderr(Stdio::inherit())
        .output()
        .expect("run the Qt peer");
    assert!(output.status.success(), "the Qt peer failed: {output:?}");
    let qt = String::from_utf8(output.stdout).unwrap();

    NetworkProxy::set_application_proxy(NetworkProxy::new(ProxyType::Socks5, "10.0.0.1", 1080));
    let mut ours = String::new();
    for host in hosts {
        let query = NetworkProxyQuery::for_peer(host, 80, "", QueryType::TcpSocket);
        ours.push_str(&format!(
            "{host} {}\n",
            proxy_for_query(&query)[0].proxy_type().qt_name()
        ));
    }
    NetworkProxy::set_application_proxy(NetworkProxy::default());
    assert_eq!(ours, qt);
}
