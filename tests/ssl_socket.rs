//! `SslSocket` against our own `SslServer` on loopback: handshakes,
//! Qt's signal order, verification and its errors, buffers, closing.
//! Certificates come from the test PKI made at test time.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use sigloop::core::IoDevice;
use sigloop::net::{SocketError, SocketState};
use sigloop::ssl::{SslMode, SslProtocol, SslSocket};

use support::certs::Pki;
use support::tls::{client_config, server_config, TestServer};
use support::waits::run_until;

/// Records the signals that tell the story of a TLS connection.
fn record(socket: &SslSocket) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let _ = socket
        .state_changed()
        .connect(move |s| l.borrow_mut().push(format!("stateChanged {}", s.qt_name())));
    let l = log.clone();
    let _ = socket
        .mode_changed()
        .connect(move |m| l.borrow_mut().push(format!("modeChanged {}", m.qt_name())));
    let l = log.clone();
    let _ = socket
        .connected()
        .connect(move |_| l.borrow_mut().push("connected".into()));
    let l = log.clone();
    let _ = socket
        .encrypted()
        .connect(move |_| l.borrow_mut().push("encrypted".into()));
    let l = log.clone();
    let _ = socket.error_occurred().connect_to(socket, move |s, e| {
        l.borrow_mut().push(format!(
            "errorOccurred {} '{}'",
            e.qt_name(),
            s.error_string()
        ))
    });
    let l = log.clone();
    let _ = socket.ssl_errors().connect(move |errors| {
        let kinds: Vec<String> = errors.iter().map(|e| format!("{:?}", e.error())).collect();
        l.borrow_mut().push(format!("sslErrors {kinds:?}"))
    });
    let l = log.clone();
    let _ = socket.peer_verify_error().connect(move |e| {
        l.borrow_mut()
            .push(format!("peerVerifyError {:?}", e.error()))
    });
    let l = log.clone();
    let _ = socket
        .read_channel_finished()
        .connect(move |_| l.borrow_mut().push("readChannelFinished".into()));
    let l = log.clone();
    let _ = socket
        .disconnected()
        .connect(move |_| l.borrow_mut().push("disconnected".into()));
    let l = log.clone();
    let _ = socket.alert_sent().connect(move |(level, kind, text)| {
        l.borrow_mut()
            .push(format!("alertSent {level:?} {kind:?} {text}"))
    });
    log
}

#[test]
fn client_and_server_handshake_and_exchange_data() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let log = record(&client);
    client.connect_to_host_encrypted("localhost", server.port());
    // Written before `encrypted`: queued until then.
    client.write(b"ping").unwrap();
    run_until("the server's connection", || server.first().is_some());
    let peer = server.first().unwrap();
    assert!(peer.is_encrypted());
    assert_eq!(peer.mode(), SslMode::Server);
    run_until("ping at the server", || peer.bytes_available() >= 4);
    assert_eq!(peer.read_all().unwrap(), b"ping");
    peer.write(b"pong").unwrap();
    run_until("pong at the client", || client.bytes_available() >= 4);
    assert_eq!(client.read_all().unwrap(), b"pong");
    assert!(client.is_encrypted());
    assert_eq!(client.session_protocol(), SslProtocol::TlsV1_3);
    assert!(!client.session_cipher().is_null());
    assert_eq!(client.peer_certificate(), Some(pki.server.certificate()));
    assert_eq!(
        &log.borrow()[..],
        &[
            "stateChanged HostLookupState",
            "stateChanged ConnectingState",
            "stateChanged ConnectedState",
            "modeChanged SslClientMode",
            "connected",
            "encrypted",
        ]
    );
    client.disconnect_from_host();
    run_until("the client closed", || {
        client.state() == SocketState::Unconnected
    });
    run_until("the server saw the close", || {
        peer.state() == SocketState::Unconnected
    });
    assert_eq!(peer.error(), SocketError::RemoteHostClosed);
    assert_eq!(
        peer.error_string(),
        "The TLS/SSL connection has been closed"
    );
}
