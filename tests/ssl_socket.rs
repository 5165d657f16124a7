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

// ---------------------------------------------------------------------------
// Helpers

use std::cell::Cell;
use std::net::TcpListener;
use std::time::Duration;

use sigloop::core::OpenMode;
use sigloop::ssl::{
    NextProtocolNegotiationStatus, PauseMode, PeerVerifyMode, SslConfiguration, SslError,
    SslErrorKind,
};
use support::waits::settle;

/// FNV-1a, 64 bits: enough to tell two 16 MiB streams apart.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// `len` bytes of a fixed pseudo-random pattern.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A client trusting the test CA, connecting encrypted to `server`.
fn connect(pki: &Pki, server: &TestServer) -> SslSocket {
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(pki));
    client.connect_to_host_encrypted("localhost", server.port());
    client
}

/// Both ends of an encrypted connection.
fn encrypted_pair(pki: &Pki, server: &TestServer) -> (SslSocket, SslSocket) {
    let client = connect(pki, server);
    run_until("encrypted", || {
        client.is_encrypted() && server.first().is_some()
    });
    (client, server.first().unwrap())
}

/// Reads everything `socket` gets into a hash and a count.
fn hash_reader(socket: &SslSocket) -> (Rc<Cell<u64>>, Rc<Cell<usize>>) {
    let hash = Rc::new(Cell::new(FNV_START));
    let count = Rc::new(Cell::new(0));
    let (h, c) = (hash.clone(), count.clone());
    let _ = socket.ready_read().connect_to(socket, move |s, _| {
        let data = s.read_all().unwrap();
        h.set(fnv(h.get(), &data));
        c.set(c.get() + data.len());
    });
    (hash, count)
}

// ---------------------------------------------------------------------------
// Qt's tst_QSslSocket rows (local)

/// tst_QSslSocket::constructing: a new socket is plain and empty.
#[test]
fn constructing() {
    let socket = SslSocket::new();
    assert_eq!(socket.mode(), SslMode::Unencrypted);
    assert!(!socket.is_encrypted());
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert!(socket.peer_certificate().is_none());
    assert!(socket.peer_certificate_chain().is_empty());
    assert!(socket.session_cipher().is_null());
    assert_eq!(socket.session_protocol(), SslProtocol::UnknownProtocol);
    assert!(socket.ssl_handshake_errors().is_empty());
    assert_eq!(
        socket.ssl_configuration(),
        SslConfiguration::default_configuration()
    );
    assert_eq!(socket.pause_mode(), PauseMode::Never);
    assert_eq!(socket.bytes_available(), 0);
    assert!(socket.write(b"x").is_err());
}

/// tst_QSslSocket::encryptWithoutConnecting: a warning, nothing else.
#[test]
fn encrypt_without_connecting() {
    let socket = SslSocket::new();
    let log = record(&socket);
    socket.start_client_encryption();
    socket.start_server_encryption();
    settle(Duration::from_millis(20));
    assert_eq!(socket.mode(), SslMode::Unencrypted);
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert!(log.borrow().is_empty(), "{:?}", log.borrow());
}

/// tst_QSslSocket::setSocketDescriptor + startServerEncryption (the
/// pre-6.4 server pattern) and startClientEncryption on a plain
/// connection (spontaneousWrite: data written while plain arrives plain,
/// then TLS starts on both ends).
#[test]
fn start_encryption_on_plain_connections() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host("127.0.0.1", listener.local_addr().unwrap().port());
    let (accepted, _) = listener.accept().unwrap();
    let server = SslSocket::new();
    server.set_ssl_configuration(server_config(&pki, &pki.server));
    let server_log = record(&server);
    server
        .set_socket_descriptor(
            accepted.into(),
            SocketState::Connected,
            OpenMode::READ_WRITE,
        )
        .unwrap();
    run_until("connected", || client.state() == SocketState::Connected);
    client.write(b"plain first").unwrap();
    run_until("the plain bytes", || server.bytes_available() >= 11);
    assert_eq!(server.read_all().unwrap(), b"plain first");

    let client_log = record(&client);
    client.start_client_encryption();
    assert_eq!(client.mode(), SslMode::Client);
    // A second start on a non-plain connection only warns.
    client.start_client_encryption();
    server.start_server_encryption();
    assert_eq!(server.mode(), SslMode::Server);
    run_until("both encrypted", || {
        client.is_encrypted() && server.is_encrypted()
    });
    assert_eq!(
        &client_log.borrow()[..],
        &["modeChanged SslClientMode", "encrypted"]
    );
    assert_eq!(
        &server_log.borrow()[..],
        &[
            "stateChanged ConnectedState",
            "modeChanged SslServerMode",
            "encrypted"
        ]
    );
    server.write(b"secret").unwrap();
    run_until("the secret", || client.bytes_available() >= 6);
    assert_eq!(client.read_all().unwrap(), b"secret");
}

/// The ClientHello goes out after `connected` (`encrypted_bytes_written`),
/// plaintext counts in `bytes_written`, the wire in
/// `encrypted_bytes_written`.
#[test]
fn bytes_written_counts_plaintext_encrypted_bytes_written_the_wire() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let _ = client
        .connected()
        .connect(move |_| o.borrow_mut().push("connected"));
    let o = order.clone();
    let _ = client
        .encrypted()
        .connect(move |_| o.borrow_mut().push("encrypted"));
    let o = order.clone();
    let wire = Rc::new(Cell::new(0u64));
    let w = wire.clone();
    let _ = client.encrypted_bytes_written().connect(move |n| {
        if w.get() == 0 {
            o.borrow_mut().push("encryptedBytesWritten");
        }
        w.set(w.get() + n);
    });
    let plain = Rc::new(Cell::new(0u64));
    let p = plain.clone();
    let o = order.clone();
    let _ = client.bytes_written().connect(move |n| {
        if p.get() == 0 {
            o.borrow_mut().push("bytesWritten");
        }
        p.set(p.get() + n)
    });
    client.connect_to_host_encrypted("localhost", server.port());
    client.write(&[7u8; 1000]).unwrap();
    run_until("the plaintext written", || plain.get() == 1000);
    // Nothing is written before `encrypted`.
    assert_eq!(
        &order.borrow()[..],
        &[
            "connected",
            "encryptedBytesWritten",
            "encrypted",
            "bytesWritten"
        ]
    );
    run_until("its records", || wire.get() > 1000 + 100);
    assert_eq!(client.bytes_to_write(), 0);
}

/// tst_QSslSocket::setReadBufferSize / readBufferMaxSize: a limit holds
/// on plaintext; the sender is slowed (TCP backpressure through TLS) and
/// everything arrives once the reader reads.
#[test]
fn read_buffer_limit_holds_and_loses_nothing() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let (client, peer) = encrypted_pair(&pki, &server);
    const LIMIT: usize = 16 * 1024;
    // More than the kernel can hold between them: the peer's send buffer
    // grows to 4 MiB here (tcp_wmem) and the client's receive buffer, left
    // to autotuning, to 32 MiB (tcp_rmem), which let a 4 MiB transfer
    // vanish into the kernel and the "held back" check fail now and then.
    const TOTAL: usize = 16 * 1024 * 1024;
    client.set_socket_option(sigloop::net::SocketOption::ReceiveBufferSize, 64 * 1024);
    client.set_read_buffer_size(LIMIT as i64);
    let data = pattern(TOTAL, 1);
    peer.write(&data).unwrap();
    run_until("the buffer to fill", || client.bytes_available() == LIMIT);
    settle(Duration::from_millis(100));
    assert_eq!(client.bytes_available(), LIMIT, "the limit holds");
    assert!(peer.bytes_to_write() > 0, "the sender is held back");
    let mut got = Vec::with_capacity(TOTAL);
    run_until("every byte", || {
        // Partial reads as Qt's row does; a read of everything resumes.
        let half = client.read(LIMIT / 2).unwrap();
        got.extend(half);
        got.extend(client.read_all().unwrap());
        assert!(client.bytes_available() <= LIMIT);
        got.len() == TOTAL
    });
    assert!(got == data);
}

/// tst_QSslSocket::verifyDepth: 0 is unlimited, negative is refused.
#[test]
fn verify_depth() {
    let socket = SslSocket::new();
    assert_eq!(socket.peer_verify_depth(), 0);
    socket.set_peer_verify_depth(1);
    assert_eq!(socket.peer_verify_depth(), 1);
    socket.set_peer_verify_depth(-1);
    assert_eq!(socket.peer_verify_depth(), 1);
}

/// tst_QSslSocket::abortOnSslErrors: `abort` in the `ssl_errors` slot
/// ends it there: unconnected, never encrypted, no handshake error.
#[test]
fn abort_on_ssl_errors() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.selfsigned));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let log = record(&client);
    let _ = client.ssl_errors().connect_to(&client, |s, _| s.abort());
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("unconnected", || client.state() == SocketState::Unconnected);
    settle(Duration::from_millis(50));
    let log = log.borrow();
    assert!(
        log.contains(&"sslErrors [\"SelfSignedCertificate\"]".to_owned()),
        "{log:?}"
    );
    assert!(
        !log.iter()
            .any(|l| l == "encrypted" || l.contains("SslHandshakeFailed")),
        "{log:?}"
    );
}

/// tst_QSslSocket::closeWhileEmittingSocketError: `close` from the
/// `error_occurred` slot of a failed handshake is safe and final.
#[test]
fn close_while_emitting_socket_error() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.expired));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let disconnected = support::waits::counter(client.disconnected());
    let _ = client
        .error_occurred()
        .connect_to(&client, |s, _| s.close());
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("unconnected", || client.state() == SocketState::Unconnected);
    settle(Duration::from_millis(50));
    assert_eq!(disconnected.get(), 1);
    assert_eq!(client.error(), SocketError::SslHandshakeFailed);
    assert_eq!(client.error_string(), "The certificate has expired");
}

/// tst_QSslSocket::qtbug18498_peek: peek shows decrypted bytes and
/// leaves them.
#[test]
fn peek_shows_plaintext() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let (client, peer) = encrypted_pair(&pki, &server);
    peer.write(b"hello world").unwrap();
    run_until("the bytes", || client.bytes_available() >= 11);
    assert_eq!(client.peek(5).unwrap(), b"hello");
    assert_eq!(client.bytes_available(), 11);
    assert_eq!(client.read_all().unwrap(), b"hello world");
}

/// The outcome of one client-certificate case at the server.
fn client_certificate_case(
    pki: &Pki,
    mode: PeerVerifyMode,
    client_identity: Option<&support::certs::Issued>,
) -> (
    bool,
    Option<sigloop::ssl::SslCertificate>,
    Vec<SslErrorKind>,
) {
    let mut config = server_config(pki, &pki.server);
    config.set_peer_verify_mode(mode);
    let server = TestServer::start(config);
    let errors = Rc::new(RefCell::new(Vec::new()));
    let e = errors.clone();
    let _ = server
        .server
        .ssl_errors()
        .connect(move |(_, list)| e.borrow_mut().extend(list.iter().map(SslError::error)));
    let failed = Rc::new(Cell::new(false));
    let f = failed.clone();
    let _ = server.server.error_occurred().connect(move |_| f.set(true));
    let client = SslSocket::new();
    let mut client_conf = client_config(pki);
    if let Some(identity) = client_identity {
        client_conf.set_local_certificate(identity.certificate());
        client_conf.set_private_key(identity.ssl_key());
    }
    client.set_ssl_configuration(client_conf);
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("the server's verdict", || {
        server.first().is_some() || failed.get()
    });
    let peer_cert = server.first().and_then(|s| s.peer_certificate());
    let ok = server.first().is_some_and(|s| s.is_encrypted());
    let errors = errors.borrow().clone();
    (ok, peer_cert, errors)
}

/// tst_QSslSocket::verifyClientCertificate: the server's verify mode ×
/// what the client presents.
#[test]
fn verify_client_certificate_matrix() {
    let pki = Pki::new();
    // VerifyNone: nothing asked, nothing checked.
    let (ok, cert, errors) = client_certificate_case(&pki, PeerVerifyMode::VerifyNone, None);
    assert!(ok && cert.is_none() && errors.is_empty());
    // QueryPeer (and AutoVerifyPeer on a server): asked, not required.
    let (ok, cert, errors) = client_certificate_case(&pki, PeerVerifyMode::QueryPeer, None);
    assert!(ok && cert.is_none() && errors.is_empty());
    let (ok, _, errors) = client_certificate_case(&pki, PeerVerifyMode::AutoVerifyPeer, None);
    assert!(ok && errors.is_empty());
    // VerifyPeer without a certificate: NoPeerCertificate fails it.
    let (ok, _, errors) = client_certificate_case(&pki, PeerVerifyMode::VerifyPeer, None);
    assert!(!ok);
    assert_eq!(errors, [SslErrorKind::NoPeerCertificate]);
    // VerifyPeer with a certificate the CA signed: encrypted, and the
    // server sees it.
    let (ok, cert, errors) =
        client_certificate_case(&pki, PeerVerifyMode::VerifyPeer, Some(&pki.client));
    assert!(ok, "{errors:?}");
    assert!(errors.is_empty());
    assert_eq!(
        cert.map(|c| c.subject_display_name()),
        Some("sigloop-client".to_owned())
    );
    // VerifyPeer with an untrusted (self-signed) certificate: refused.
    let (ok, _, errors) =
        client_certificate_case(&pki, PeerVerifyMode::VerifyPeer, Some(&pki.selfsigned));
    assert!(!ok);
    assert_eq!(errors, [SslErrorKind::SelfSignedCertificate]);
    // QueryPeer with the same: reported, accepted.
    let (ok, cert, errors) =
        client_certificate_case(&pki, PeerVerifyMode::QueryPeer, Some(&pki.selfsigned));
    assert!(ok);
    assert!(cert.is_some());
    assert_eq!(errors, [SslErrorKind::SelfSignedCertificate]);
}

/// tst_QSslSocket::allowedProtocolNegotiation: ALPN.
#[test]
fn alpn_negotiates_the_first_common_protocol() {
    let pki = Pki::new();
    let mut config = server_config(&pki, &pki.server);
    config.set_allowed_next_protocols(vec![b"http/1.1".to_vec(), b"h2".to_vec()]);
    let server = TestServer::start(config);
    let client = SslSocket::new();
    let mut conf = client_config(&pki);
    conf.set_allowed_next_protocols(vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    client.set_ssl_configuration(conf);
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("encrypted", || {
        client.is_encrypted() && server.first().is_some()
    });
    let peer = server.first().unwrap();
    // The server picks from its own list first (rustls' rule).
    assert_eq!(client.next_negotiated_protocol(), b"http/1.1");
    assert_eq!(peer.next_negotiated_protocol(), b"http/1.1");
    assert_eq!(
        client.next_protocol_negotiation_status(),
        NextProtocolNegotiationStatus::Negotiated
    );
    // A client without ALPN: none negotiated.
    let plain = connect(&pki, &server);
    run_until("encrypted", || plain.is_encrypted());
    assert!(plain.next_negotiated_protocol().is_empty());
    assert_eq!(
        plain.next_protocol_negotiation_status(),
        NextProtocolNegotiationStatus::None
    );
    // No protocol in common: rustls' server refuses the handshake.
    let odd = SslSocket::new();
    let mut conf = client_config(&pki);
    conf.set_allowed_next_protocols(vec![b"spdy/1".to_vec()]);
    odd.set_ssl_configuration(conf);
    odd.connect_to_host_encrypted("localhost", server.port());
    run_until("refused", || odd.state() == SocketState::Unconnected);
    assert_eq!(
        odd.error(),
        SocketError::SslHandshakeFailed,
        "{}",
        odd.error_string()
    );
    assert!(
        odd.error_string().contains("NoApplicationProtocol"),
        "{}",
        odd.error_string()
    );
}

/// tst_QSslSocket::oldErrorsOnSocketReuse: a new connection forgets the
/// last handshake's errors.
#[test]
fn old_errors_on_socket_reuse() {
    let pki = Pki::new();
    let bad = TestServer::start(server_config(&pki, &pki.wronghost));
    let good = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", bad.port());
    client.ignore_ssl_errors();
    run_until("encrypted despite the name", || client.is_encrypted());
    assert_eq!(client.ssl_handshake_errors().len(), 1);
    client.disconnect_from_host();
    run_until("closed", || client.state() == SocketState::Unconnected);
    client.connect_to_host_encrypted("localhost", good.port());
    assert!(client.ssl_handshake_errors().is_empty());
    run_until("encrypted", || client.is_encrypted());
    assert!(client.ssl_handshake_errors().is_empty());
}

/// tst_QSslSocket::ignoreSslErrorsList(WithSlot): only an exact match
/// (kind and certificate) is ignored.
#[test]
fn ignore_ssl_errors_list_matches_exactly() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.wronghost));
    let run = |list: Vec<SslError>, in_slot: bool| -> bool {
        let client = SslSocket::new();
        client.set_ssl_configuration(client_config(&pki));
        if in_slot {
            let _ = client
                .ssl_errors()
                .connect_to(&client, move |s, _| s.ignore_ssl_errors_list(list.clone()));
        } else {
            client.ignore_ssl_errors_list(list);
        }
        client.connect_to_host_encrypted("localhost", server.port());
        run_until("a verdict", || {
            client.is_encrypted() || client.state() == SocketState::Unconnected
        });
        client.is_encrypted()
    };
    let exact = SslError::new(
        SslErrorKind::HostNameMismatch,
        Some(pki.wronghost.certificate()),
    );
    let other_cert = SslError::new(
        SslErrorKind::HostNameMismatch,
        Some(pki.server.certificate()),
    );
    let other_kind = SslError::new(
        SslErrorKind::CertificateExpired,
        Some(pki.wronghost.certificate()),
    );
    assert!(run(vec![exact.clone()], false));
    assert!(run(vec![exact], true));
    assert!(!run(vec![other_cert], false));
    assert!(!run(vec![other_kind], true));
}

/// tst_QSslSocket::resume: PauseOnSslErrors stops after `ssl_errors`;
/// ignoring then resuming goes on to `encrypted`; resuming without
/// ignoring fails as it would have.
#[test]
fn pause_on_ssl_errors_and_resume() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.selfsigned));
    for ignore in [true, false] {
        let client = SslSocket::new();
        client.set_ssl_configuration(client_config(&pki));
        client.set_pause_mode(PauseMode::OnSslErrors);
        let errors = support::waits::counter(client.ssl_errors());
        client.connect_to_host_encrypted("localhost", server.port());
        run_until("ssl_errors", || errors.get() == 1);
        settle(Duration::from_millis(50));
        assert_eq!(client.state(), SocketState::Connected, "paused");
        assert!(!client.is_encrypted());
        if ignore {
            client.ignore_ssl_errors();
        }
        client.resume();
        run_until("a verdict", || {
            client.is_encrypted() || client.state() == SocketState::Unconnected
        });
        assert_eq!(client.is_encrypted(), ignore);
        if !ignore {
            assert_eq!(client.error(), SocketError::SslHandshakeFailed);
            assert_eq!(
                client.error_string(),
                "The certificate is self-signed, and untrusted"
            );
        }
    }
}

/// tst_QSslSocket::writeBigChunk, and 16 MiB both ways at once, hashed.
#[test]
fn sixteen_mib_both_ways_hashed() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let (client, peer) = encrypted_pair(&pki, &server);
    const TOTAL: usize = 16 * 1024 * 1024;
    let up = pattern(TOTAL, 2);
    let down = pattern(TOTAL, 3);
    let (client_hash, client_count) = hash_reader(&client);
    let (peer_hash, peer_count) = hash_reader(&peer);
    // One big write each way (writeBigChunk), the rest in pieces.
    client.write(&up[..TOTAL / 2]).unwrap();
    for piece in up[TOTAL / 2..].chunks(100_000) {
        client.write(piece).unwrap();
    }
    peer.write(&down).unwrap();
    support::waits::run_until_within("32 MiB through TLS", Duration::from_secs(120), || {
        client_count.get() == TOTAL && peer_count.get() == TOTAL
    });
    assert_eq!(peer_hash.get(), fnv(FNV_START, &up));
    assert_eq!(client_hash.get(), fnv(FNV_START, &down));
}

/// tst_QSslSocket::waitForEncrypted (also with `Duration::MAX`, meaning
/// no limit) and waitForConnectedEncryptedReadyRead, without an event
/// loop; Qt returns false for a socket already encrypted.
#[test]
fn wait_for_encrypted_blocks_until_encrypted() {
    let pki = Pki::new();
    for timeout in [Some(Duration::from_secs(10)), Some(Duration::MAX), None] {
        let port = support::tls_scenarios::tls_peer(server_config(&pki, &pki.server));
        let client = SslSocket::new();
        client.set_ssl_configuration(client_config(&pki));
        client.connect_to_host_encrypted("localhost", port);
        assert!(client.wait_for_encrypted(timeout));
        assert!(client.is_encrypted());
        assert!(!client.wait_for_encrypted(timeout), "already encrypted");
        while client.bytes_available() < 14 {
            assert!(client.wait_for_ready_read(Some(Duration::from_secs(10))));
        }
        assert_eq!(client.read_all().unwrap(), b"hello over tls");
        client.abort();
    }
    // A failed handshake: false, with Qt's error.
    let port = support::tls_scenarios::tls_peer(server_config(&pki, &pki.selfsigned));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", port);
    assert!(!client.wait_for_encrypted(Some(Duration::MAX)));
    assert_eq!(client.error(), SocketError::SslHandshakeFailed);
    // No handshake coming: false at once.
    assert!(!SslSocket::new().wait_for_encrypted(None));
}

/// tst_QSslSocket::disconnectFromHostWhenConnecting: a close asked for
/// before the handshake waits for it; what was written gets there, then
/// close_notify.
#[test]
fn disconnect_from_host_when_connecting() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let log = record(&client);
    client.connect_to_host_encrypted("localhost", server.port());
    client.write(b"goodbye").unwrap();
    client.disconnect_from_host();
    run_until("the client closed", || {
        client.state() == SocketState::Unconnected
    });
    run_until("the server's copy", || server.first().is_some());
    let peer = server.first().unwrap();
    run_until("the bytes and the close", || {
        peer.state() == SocketState::Unconnected
    });
    assert_eq!(peer.read_all().unwrap(), b"goodbye");
    assert_eq!(
        peer.error_string(),
        "The TLS/SSL connection has been closed"
    );
    let log = log.borrow();
    let at = |line: &str| {
        log.iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line}: {log:?}"))
    };
    assert!(at("encrypted") < at("stateChanged ClosingState"));
    assert!(at("stateChanged ClosingState") < at("alertSent Warning CloseNotify close notify"));
}

/// tst_QSslSocket::disconnectFromHostWhenConnected: queued data is sent
/// before close_notify and the TCP close.
#[test]
fn disconnect_from_host_when_connected() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let (client, peer) = encrypted_pair(&pki, &server);
    let data = pattern(1024 * 1024, 4);
    let (hash, count) = hash_reader(&peer);
    client.write(&data).unwrap();
    client.disconnect_from_host();
    assert_eq!(client.state(), SocketState::Closing);
    run_until("closed both ends", || {
        client.state() == SocketState::Unconnected && peer.state() == SocketState::Unconnected
    });
    assert_eq!(count.get(), data.len());
    assert_eq!(hash.get(), fnv(FNV_START, &data));
    assert_eq!(peer.error(), SocketError::RemoteHostClosed);
}

/// A client resumes its session with the same configuration.
#[test]
fn session_resumption_with_the_same_configuration() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let config = client_config(&pki);
    for round in 0..2 {
        let client = SslSocket::new();
        client.set_ssl_configuration(config.clone());
        client.connect_to_host_encrypted("localhost", server.port());
        run_until("encrypted", || client.is_encrypted());
        assert_eq!(client.is_session_resumed(), round == 1, "round {round}");
        assert_eq!(client.peer_certificate(), Some(pki.server.certificate()));
        // Reading lets the client take the server's session tickets.
        run_until("the server's side", || {
            server.accepted.borrow().len() == round + 1
        });
        let peer = server.accepted.borrow().last().cloned().unwrap();
        peer.write(b"x").unwrap();
        run_until("a byte", || client.bytes_available() == 1);
        client.disconnect_from_host();
        run_until("closed", || client.state() == SocketState::Unconnected);
    }
}

/// A slot that panics during the handshake leaves the socket whole: the
/// next pass settles the handshake, and data flows.
#[test]
fn a_panicking_slot_during_the_handshake_leaves_things_whole() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.wronghost));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.ignore_ssl_errors_list(vec![SslError::new(
        SslErrorKind::HostNameMismatch,
        Some(pki.wronghost.certificate()),
    )]);
    let _ = client
        .ssl_errors()
        .connect(|_| panic!("a slot panics in ssl_errors"));
    let _ = client
        .encrypted()
        .connect(|_| panic!("a slot panics in encrypted"));
    client.connect_to_host_encrypted("localhost", server.port());
    client.write(b"queued").unwrap();
    let mut panics = 0;
    let clock = sigloop::ElapsedTimer::started();
    while !(client.is_encrypted() && server.first().is_some()) {
        assert!(!clock.has_expired(support::waits::DEADLINE), "timed out");
        let pass = catch_unwind(AssertUnwindSafe(|| {
            sigloop::EventDispatcher::process_events(
                sigloop::ProcessEventsFlags::WAIT_FOR_MORE_EVENTS,
            )
        }));
        if pass.is_err() {
            panics += 1;
        }
    }
    assert_eq!(panics, 2);
    let peer = server.first().unwrap();
    run_until("the queued bytes", || peer.bytes_available() == 6);
    assert_eq!(peer.read_all().unwrap(), b"queued");
}

/// Bad bytes from the peer after the handshake (a record that does not
/// decrypt, a record header announcing more than TLS allows): Qt's
/// `SslInternalError` "Error while reading: …", the connection closes, and
/// the plaintext that arrived before stays readable. No panic.
#[test]
fn garbage_after_the_handshake_keeps_what_arrived() {
    use std::io::Write as _;
    let garbage: [&[u8]; 2] = [
        b"\x17\x03\x03\x00\x20aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        b"\x17\x03\x03\xff\xff",
    ];
    for bad in garbage {
        let pki = Pki::new();
        let server = TestServer::start(server_config(&pki, &pki.server));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = server.port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (client, _) = listener.accept().unwrap();
            let server = std::net::TcpStream::connect(("127.0.0.1", target)).unwrap();
            tx.send(client.try_clone().unwrap()).unwrap();
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
            });
            let (mut s_read, mut c_write) = (server, client);
            let _ = std::io::copy(&mut s_read, &mut c_write);
        });
        let client = SslSocket::new();
        client.set_ssl_configuration(client_config(&pki));
        client.connect_to_host_encrypted("localhost", port);
        run_until("encrypted", || {
            client.is_encrypted() && server.first().is_some()
        });
        let mut raw = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let peer = server.first().unwrap();
        peer.write(b"hello").unwrap();
        run_until("hello", || client.bytes_available() == 5);
        raw.write_all(bad).unwrap();
        run_until("the failure", || client.state() == SocketState::Unconnected);
        assert_eq!(client.error(), SocketError::SslInternal);
        assert!(
            client.error_string().starts_with("Error while reading: "),
            "{}",
            client.error_string()
        );
        assert_eq!(client.read_all().unwrap(), b"hello");
    }
}

/// TLS 1.2 only, on both ends: the session says so, data flows, and a
/// second connection resumes (TLS 1.2 session ids).
#[test]
fn tls_1_2_sessions_work_and_resume() {
    let pki = Pki::new();
    let mut server_conf = server_config(&pki, &pki.server);
    server_conf.set_protocol(SslProtocol::TlsV1_2);
    let server = TestServer::start(server_conf);
    let mut config = client_config(&pki);
    config.set_protocol(SslProtocol::TlsV1_2OrLater);
    for round in 0..2 {
        let client = SslSocket::new();
        client.set_ssl_configuration(config.clone());
        client.connect_to_host_encrypted("localhost", server.port());
        run_until("encrypted", || client.is_encrypted());
        assert_eq!(client.session_protocol(), SslProtocol::TlsV1_2);
        assert_eq!(client.session_cipher().protocol_string(), "TLSv1.2");
        assert_eq!(
            client.session_cipher().name(),
            "ECDHE-ECDSA-AES256-GCM-SHA384"
        );
        assert_eq!(client.is_session_resumed(), round == 1, "round {round}");
        run_until("the server's side", || {
            server.accepted.borrow().len() == round + 1
        });
        let peer = server.accepted.borrow().last().cloned().unwrap();
        client.write(b"twelve").unwrap();
        run_until("the bytes", || peer.bytes_available() == 6);
        client.disconnect_from_host();
        run_until("closed", || client.state() == SocketState::Unconnected);
    }
}

/// TLS 1.0 and 1.1 are not available: Qt's `SslInvalidUserDataError`
/// from `connect_to_host_encrypted`, which does not connect; on a plain
/// connection `start_client_encryption` refuses the same way.
#[test]
fn unsupported_protocols_are_refused() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    let mut config = client_config(&pki);
    config.set_protocol(SslProtocol::TlsV1_0);
    client.set_ssl_configuration(config);
    let log = record(&client);
    client.connect_to_host_encrypted("localhost", server.port());
    assert_eq!(client.error(), SocketError::SslInvalidUserData);
    assert_eq!(
        client.error_string(),
        "Attempted to use an unsupported protocol."
    );
    assert_eq!(client.state(), SocketState::Unconnected);
    client.connect_to_host("127.0.0.1", server.port());
    run_until("connected", || client.state() == SocketState::Connected);
    client.start_client_encryption();
    assert_eq!(client.error(), SocketError::SslInvalidUserData);
    assert_eq!(client.mode(), SslMode::Unencrypted);
    assert!(!log.borrow().iter().any(|l| l.starts_with("modeChanged")));
}

/// handshakeMustInterruptOnError: the first error comes first; without
/// `continue_interrupted_handshake` the handshake fails, with it the
/// usual report follows.
#[test]
fn handshake_interrupted_on_error() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.wronghost));
    for go_on in [false, true] {
        let client = SslSocket::new();
        let mut config = client_config(&pki);
        config.set_handshake_must_interrupt_on_error(true);
        client.set_ssl_configuration(config);
        let log = record(&client);
        let l = log.clone();
        let _ = client
            .handshake_interrupted_on_error()
            .connect_to(&client, move |s, e| {
                l.borrow_mut().push(format!("interrupted {:?}", e.error()));
                if go_on {
                    s.continue_interrupted_handshake();
                    s.ignore_ssl_errors();
                }
            });
        client.connect_to_host_encrypted("localhost", server.port());
        run_until("a verdict", || {
            client.is_encrypted() || client.state() == SocketState::Unconnected
        });
        let log = log.borrow();
        let at = |p: &str| log.iter().position(|l| l.starts_with(p));
        assert!(at("interrupted HostNameMismatch").is_some(), "{log:?}");
        assert_eq!(client.is_encrypted(), go_on, "{log:?}");
        if go_on {
            assert!(at("interrupted") < at("peerVerifyError"), "{log:?}");
        } else {
            assert_eq!(client.error(), SocketError::SslHandshakeFailed);
            assert!(at("peerVerifyError").is_none(), "{log:?}");
        }
    }
}

/// missingCertificateIsFatal: rustls' server refuses a client without a
/// certificate at the TLS level; the client hears the alert.
#[test]
fn missing_certificate_is_fatal() {
    let pki = Pki::new();
    let mut config = server_config(&pki, &pki.server);
    config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    config.set_missing_certificate_is_fatal(true);
    let server = TestServer::start(config);
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let alerts = Rc::new(RefCell::new(Vec::new()));
    let a = alerts.clone();
    let _ = client
        .alert_received()
        .connect(move |(_, kind, text)| a.borrow_mut().push(format!("{kind:?} {text}")));
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("the refusal", || client.state() == SocketState::Unconnected);
    assert_eq!(
        &alerts.borrow()[..],
        &["CertificateRequired certificate required"]
    );
    assert!(server.first().is_none());
}

/// Nothing is announced during the handshake: `ready_read` and
/// `bytes_available` are about plaintext.
#[test]
fn ready_read_only_for_plaintext() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let ready = support::waits::counter(client.ready_read());
    let at_encrypted = Rc::new(Cell::new(usize::MAX));
    let (r, e) = (ready.clone(), at_encrypted.clone());
    let _ = client.encrypted().connect_to(&client, move |s, _| {
        e.set(r.get());
        assert_eq!(s.bytes_available(), 0);
    });
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("encrypted", || {
        client.is_encrypted() && server.first().is_some()
    });
    assert_eq!(at_encrypted.get(), 0);
    server.first().unwrap().write(b"hi").unwrap();
    run_until("hi", || client.bytes_available() == 2);
    assert!(ready.get() >= 1);
}

/// Qt's server side when a plaintext client talks to it: `modeChanged`,
/// `SslHandshakeFailedError`, `Unconnected` without `Closing`,
/// `readChannelFinished`, `disconnected`, then `aboutToClose`
/// (`QSslSocket::abort`'s order).
#[test]
fn server_side_sequence_for_a_plaintext_client() {
    use std::io::Write as _;
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut plain = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let server = SslSocket::new();
    server.set_ssl_configuration(server_config(&pki, &pki.server));
    server
        .set_socket_descriptor(
            accepted.into(),
            SocketState::Connected,
            OpenMode::READ_WRITE,
        )
        .unwrap();
    let log = record(&server);
    let l = log.clone();
    let _ = server
        .about_to_close()
        .connect(move |_| l.borrow_mut().push("aboutToClose".into()));
    server.start_server_encryption();
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    run_until("the failure", || server.state() == SocketState::Unconnected);
    let log = log.borrow();
    assert_eq!(log[0], "modeChanged SslServerMode");
    assert!(
        log[1].starts_with("errorOccurred SslHandshakeFailedError 'Error during SSL handshake: "),
        "{log:?}"
    );
    assert_eq!(
        &log[2..],
        &[
            "stateChanged UnconnectedState",
            "readChannelFinished",
            "disconnected",
            "aboutToClose"
        ]
    );
}

/// Data that comes with the server's last handshake flight (TLS 1.2:
/// the server speaks first after its Finished) is there for a blocking
/// `wait_for_ready_read` right after `wait_for_encrypted`, with no further
/// OS event to wake it.
#[test]
fn data_with_the_last_flight_reaches_a_blocking_reader() {
    let pki = Pki::new();
    let mut config = server_config(&pki, &pki.server);
    config.set_protocol(SslProtocol::TlsV1_2);
    let port = support::tls_scenarios::tls_peer(config);
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.connect_to_host_encrypted("localhost", port);
    assert!(client.wait_for_encrypted(Some(Duration::from_secs(10))));
    let clock = std::time::Instant::now();
    while client.bytes_available() < 14 {
        assert!(client.wait_for_ready_read(Some(Duration::from_secs(10))));
    }
    assert!(clock.elapsed() < Duration::from_secs(5));
    assert_eq!(client.read_all().unwrap(), b"hello over tls");
}

#[test]
fn happy_eyeballs_hands_the_winning_attempt_to_tls() {
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.set_connect_policy(sigloop::ConnectPolicy::HappyEyeballs);
    // `localhost` may be ::1 (refused: the server is on 127.0.0.1) and
    // 127.0.0.1; the race's winner must carry the handshake.
    client.connect_to_host_encrypted("localhost", server.port());
    run_until("encrypted", || client.is_encrypted());
    client.write(b"over the winner").unwrap();
    run_until("the server read it", || {
        server
            .first()
            .is_some_and(|socket| socket.bytes_available() == 15)
    });
    assert_eq!(
        server.first().unwrap().read_all().unwrap(),
        b"over the winner"
    );
}

/// Qt meets the host name last (its own check runs after OpenSSL's verify
/// callback) but lists it first in `ssl_errors`, as observed on Qt 6.11.
#[test]
fn peer_verify_error_meets_the_host_name_last_ssl_errors_lists_it_first() {
    use sigloop::ssl::SslErrorKind::{CertificateExpired, HostNameMismatch};
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.expired));
    let client = SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    let met = Rc::new(RefCell::new(Vec::new()));
    let listed = Rc::new(RefCell::new(Vec::new()));
    let m = met.clone();
    let _ = client
        .peer_verify_error()
        .connect(move |e| m.borrow_mut().push(e.error()));
    let l = listed.clone();
    let _ = client.ssl_errors().connect(move |errors| {
        l.borrow_mut()
            .extend(errors.iter().map(|e: &sigloop::ssl::SslError| e.error()))
    });
    client.connect_to_host_encrypted_with_name("127.0.0.1", server.port(), "not.this.host");
    run_until("the handshake failed", || {
        client.state() == SocketState::Unconnected
    });
    assert_eq!(*met.borrow(), [CertificateExpired, HostNameMismatch]);
    assert_eq!(*listed.borrow(), [HostNameMismatch, CertificateExpired]);
    assert_eq!(client.error(), SocketError::SslHandshakeFailed);
    assert_eq!(
        client.error_string(),
        "The host name did not match any of the valid hosts for this certificate"
    );
}
