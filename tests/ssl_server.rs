//! `SslServer` (Qt 6.4's `QSslServer`): connections are handed out once
//! encrypted; `new_connection` at every accept, the per-connection
//! signals carry the socket, a silent client times out, a client that
//! does not speak TLS is closed, bad input gives Qt's errors.

mod support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{SocketError, SocketState, TcpSocket};
use sigloop::ssl::{PeerVerifyMode, SslMode, SslSocket};
use support::certs::Pki;
use support::tls::{client_config, server_config, TestServer};
use support::waits::{run_until, settle};

/// The server's signals, in order, as text.
fn record(server: &TestServer) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let s = &server.server;
    let l = log.clone();
    let _ = s
        .new_connection()
        .connect(move |_| l.borrow_mut().push("newConnection".to_owned()));
    let l = log.clone();
    let _ = s
        .started_encryption_handshake()
        .connect(move |_| l.borrow_mut().push("startedEncryptionHandshake".to_owned()));
    let l = log.clone();
    let _ = s
        .pending_connection_available()
        .connect(move |_| l.borrow_mut().push("pendingConnectionAvailable".to_owned()));
    let l = log.clone();
    let _ = s.peer_verify_error().connect(move |(_, e)| {
        l.borrow_mut()
            .push(format!("peerVerifyError {:?}", e.error()))
    });
    let l = log.clone();
    let _ = s.ssl_errors().connect(move |(_, list)| {
        let kinds: Vec<String> = list.iter().map(|e| format!("{:?}", e.error())).collect();
        l.borrow_mut()
            .push(format!("sslErrors {}", kinds.join(",")))
    });
    let l = log.clone();
    let _ = s.error_occurred().connect(move |(socket, e)| {
        l.borrow_mut().push(format!(
            "errorOccurred {} '{}'",
            e.qt_name(),
            socket.error_string()
        ))
    });
    log
}

#[test]
fn new_connection_at_accept_pending_connection_once_encrypted() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let log = record(&server);
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("a pending connection", || server.first().is_some());
    assert_eq!(
        &log.borrow()[..],
        &[
            "newConnection",
            "startedEncryptionHandshake",
            "pendingConnectionAvailable"
        ]
    );
    let peer = server.first().unwrap();
    assert!(peer.is_encrypted());
    assert_eq!(peer.mode(), SslMode::Server);
    assert_eq!(peer.state(), SocketState::Connected);
    peer.write(b"welcome").unwrap();
    run_until("the welcome", || client.bytes_available() == 7);
    // The server keeps its connections alive: dropping our handles does
    // not close them (Qt parents them to the server).
    drop(peer);
    server.accepted.borrow_mut().clear();
    settle(Duration::from_millis(20));
    assert_eq!(client.state(), SocketState::Connected);
}

#[test]
fn a_silent_client_times_out() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    server
        .server
        .set_handshake_timeout(Duration::from_millis(100));
    let log = record(&server);
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", server.port());
    run_until("the server closed it", || {
        client.state() == SocketState::Unconnected
    });
    assert_eq!(client.error(), SocketError::RemoteHostClosed);
    assert_eq!(
        &log.borrow()[..],
        &[
            "newConnection",
            "errorOccurred SocketTimeoutError 'Unknown error'"
        ]
    );
    assert!(server.first().is_none());
}

#[test]
fn no_timeout_with_duration_max() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    server.server.set_handshake_timeout(Duration::MAX);
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", server.port());
    run_until("connected", || client.state() == SocketState::Connected);
    settle(Duration::from_millis(100));
    assert_eq!(client.state(), SocketState::Connected);
    // And a TLS client still gets through (the timeout stays off once
    // its ClientHello came).
    let tls = SslSocket::new();
    tls.set_ssl_configuration(client_config(&pki));
    tls.connect_to_host_encrypted("localhost", server.port());
    run_until("encrypted", || {
        tls.is_encrypted() && server.first().is_some()
    });
    settle(Duration::from_millis(50));
    assert!(server.first().unwrap().is_encrypted());
}

#[test]
fn a_client_that_does_not_speak_tls_is_closed() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let log = record(&server);
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", server.port());
    client.write(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    run_until("the server closed it", || {
        client.state() == SocketState::Unconnected
    });
    assert_eq!(&log.borrow()[..], &["newConnection"]);
    assert!(server.first().is_none());
}

#[test]
fn verification_errors_come_with_the_socket() {
    let pki = Pki::new();
    let mut config = server_config(&pki, &pki.server);
    config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    let server = TestServer::start(config);
    let log = record(&server);
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("the server's verdict", || log.borrow().len() >= 5);
    assert_eq!(
        &log.borrow()[..],
        &[
            "newConnection",
            "startedEncryptionHandshake",
            "peerVerifyError NoPeerCertificate",
            "sslErrors NoPeerCertificate",
            "errorOccurred SslHandshakeFailedError 'The peer did not present any certificate'"
        ]
    );
    assert!(server.first().is_none());
}

#[test]
fn a_client_that_rejects_the_server_shows_as_a_remote_close() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.selfsigned));
    let log = record(&server);
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("the server's verdict", || log.borrow().len() >= 3);
    assert_eq!(
        log.borrow()[2],
        "errorOccurred RemoteHostClosedError 'The remote host closed the connection'"
    );
    assert_eq!(client.error(), SocketError::SslHandshakeFailed);
}

/// Garbage after a handshake record header, and a record header that
/// announces more than TLS allows: Qt's handshake error, no panic, the
/// server goes on serving.
#[test]
fn garbage_and_huge_records_fail_the_handshake_cleanly() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let log = record(&server);
    let inputs: [&[u8]; 3] = [
        b"\x16\x03\x01\x00\x05hello",
        b"\x16\x03\x01\xff\xff",
        b"\x16\x16\x16\x16\x16\x16\x16\x16\x16\x16\x16\x16\x16\x16",
    ];
    for (i, input) in inputs.iter().enumerate() {
        let port = server.port();
        let input = input.to_vec();
        // A blocking peer in a thread: it writes, then waits for the close.
        let peer = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(&input).unwrap();
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        });
        run_until("the server's error", || {
            let n = log
                .borrow()
                .iter()
                .filter(|l| l.starts_with("errorOccurred"))
                .count();
            n == i + 1
        });
        let last = log.borrow().last().cloned().unwrap();
        assert!(
            last.starts_with("errorOccurred SslHandshakeFailedError 'Error during SSL handshake: "),
            "{last}"
        );
        run_until("the peer to see the close", || peer.is_finished());
    }
    // Still serving.
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("encrypted", || client.is_encrypted());
}

#[test]
fn many_clients_at_once() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let clients: Vec<SslSocket> = (0..20)
        .map(|i| {
            let client = SslSocket::new();
            client.set_ssl_configuration(client_config(&pki));
            client.connect_to_host_encrypted("localhost", server.port());
            client.write(format!("client {i:02}").as_bytes()).unwrap();
            client
        })
        .collect();
    run_until("20 encrypted connections", || {
        server.accepted.borrow().len() == 20
    });
    let mut seen: Vec<String> = Vec::new();
    run_until("every greeting", || {
        for peer in server.accepted.borrow().iter() {
            if peer.bytes_available() == 9 {
                seen.push(String::from_utf8(peer.read_all().unwrap()).unwrap());
            }
        }
        seen.len() == 20
    });
    seen.sort();
    assert_eq!(seen[0], "client 00");
    assert_eq!(seen[19], "client 19");
    assert!(clients.iter().all(SslSocket::is_encrypted));
}
