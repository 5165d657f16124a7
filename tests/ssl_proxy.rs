//! `SslSocket` through real proxies: dante (SOCKS5, with and without
//! username authentication) and squid (HTTP `CONNECT` with Basic
//! authentication), started on 127.0.0.1 by `.ci/proxies.sh`, which tells
//! where through `SIGLOOP_PROXY_*`. Without them (plain `cargo test`)
//! each test says it did not run; `.ci/test` starts them and requires
//! them.
//!
//! The TLS handshake starts once the proxy's tunnel is up: the sequence
//! is the direct one (`connected`, then `encrypted`), the certificate is
//! checked against the target's name (which the proxy resolves), and the
//! target is our own `SslServer` on 127.0.0.1.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{NetworkProxy, ProxyType, SocketError, SocketState};
use sigloop::ssl::{SslMode, SslSocket};
use support::certs::Pki;
use support::peers;
use support::tls::{client_config, server_config, TestServer};
use support::waits::{run_until, run_until_within};

const USER: &str = "qsockstest";
const PASSWORD: &str = "password";

/// An `SslSocket` that goes through the proxy `name` (see
/// `support::peers::proxy`), or `None` when that proxy is not running.
fn client_via(
    test: &str,
    name: &str,
    proxy_type: ProxyType,
    credentials: bool,
    pki: &Pki,
) -> Option<SslSocket> {
    let address = peers::proxy(test, name)?;
    let mut proxy = NetworkProxy::new(proxy_type, address.ip().to_string(), address.port());
    if credentials {
        proxy.set_user(USER);
        proxy.set_password(PASSWORD);
    }
    let socket = SslSocket::new();
    socket.set_proxy(proxy);
    socket.set_ssl_configuration(client_config(pki));
    Some(socket)
}

/// A handshake and 1 MiB each way through the proxy, with Qt's order
/// of signals.
fn exchange_through(test: &str, name: &str, proxy_type: ProxyType, credentials: bool) {
    let pki = Pki::new();
    let Some(client) = client_via(test, name, proxy_type, credentials, &pki) else {
        return;
    };
    let server = TestServer::start(server_config(&pki, &pki.server));
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let _ = client
        .connected()
        .connect(move |_| o.borrow_mut().push("connected"));
    let o = order.clone();
    let _ = client
        .mode_changed()
        .connect(move |_| o.borrow_mut().push("modeChanged"));
    let o = order.clone();
    let _ = client
        .encrypted()
        .connect(move |_| o.borrow_mut().push("encrypted"));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("encrypted through the proxy", || {
        client.is_encrypted() || client.state() == SocketState::Unconnected
    });
    assert!(client.is_encrypted(), "{}", client.error_string());
    assert_eq!(client.mode(), SslMode::Client);
    assert_eq!(
        &order.borrow()[..],
        &["modeChanged", "connected", "encrypted"]
    );
    run_until("the server's side", || server.first().is_some());
    let peer = server.first().unwrap();

    const SIZE: usize = 1 << 20;
    let up: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    let down: Vec<u8> = (0..SIZE).map(|i| (i * 13 % 241) as u8).collect();
    client.write(&up).unwrap();
    peer.write(&down).unwrap();
    let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
    run_until_within("1 MiB each way", Duration::from_secs(60), || {
        at_server.extend(peer.read_all().unwrap());
        at_client.extend(client.read_all().unwrap());
        at_server.len() == SIZE && at_client.len() == SIZE
    });
    assert!(at_server == up && at_client == down);
    client.disconnect_from_host();
    run_until("both closed", || {
        client.state() == SocketState::Unconnected && peer.state() == SocketState::Unconnected
    });
    assert_eq!(
        peer.error_string(),
        "The TLS/SSL connection has been closed"
    );
}

#[test]
fn tls_through_dante() {
    exchange_through("tls_through_dante", "DANTE", ProxyType::Socks5, false);
}

#[test]
fn tls_through_dante_with_credentials() {
    exchange_through(
        "tls_through_dante_with_credentials",
        "DANTE_AUTH",
        ProxyType::Socks5,
        true,
    );
}

#[test]
fn tls_through_squid() {
    exchange_through("tls_through_squid", "SQUID_AUTH", ProxyType::Http, true);
}

/// Verification through a tunnel: the errors and texts of a direct
/// connection.
fn rejected_through(test: &str, name: &str, proxy_type: ProxyType) {
    let pki = Pki::new();
    let Some(client) = client_via(test, name, proxy_type, true, &pki) else {
        return;
    };
    let server = TestServer::start(server_config(&pki, &pki.wronghost));
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e = errors.clone();
    let _ = client
        .ssl_errors()
        .connect(move |list| e.borrow_mut().extend(list.iter().map(|x| x.error())));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("refused", || client.state() == SocketState::Unconnected);
    assert_eq!(
        &errors.borrow()[..],
        &[sigloop::ssl::SslErrorKind::HostNameMismatch]
    );
    assert_eq!(client.error(), SocketError::SslHandshakeFailed);
    assert_eq!(
        client.error_string(),
        "The host name did not match any of the valid hosts for this certificate"
    );
}

#[test]
fn wrong_host_through_dante() {
    rejected_through("wrong_host_through_dante", "DANTE_AUTH", ProxyType::Socks5);
}

#[test]
fn wrong_host_through_squid() {
    rejected_through("wrong_host_through_squid", "SQUID_AUTH", ProxyType::Http);
}
