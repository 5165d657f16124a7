//! `UdpSocket` through a SOCKS5 proxy (`UDP ASSOCIATE`): against a
//! scripted proxy and relay in the test, and against the real dante that
//! `.ci/proxies.sh` starts on 127.0.0.1 (`SIGLOOP_PROXY_DANTE*`; without
//! it, plain `cargo test`, those tests say they did not run).
//!
//! Everything is on 127.0.0.1.

mod support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket as StdUdp};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sigloop::net::{
    BindMode, HostAddress, NetworkProxy, ProxyType, SocketError, SocketState, UdpSocket,
};
use support::peers;
use support::waits::run_until;

fn loopback() -> HostAddress {
    "127.0.0.1".parse().expect("address")
}

/// `state_changed` and `error_occurred` of `socket`, in order.
fn record(socket: &UdpSocket) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let _ = socket
        .state_changed()
        .connect(move |s| l.borrow_mut().push(format!("SC({})", s.qt_name())));
    let l = log.clone();
    let _ = socket
        .error_occurred()
        .connect(move |e| l.borrow_mut().push(format!("error({})", e.qt_name())));
    log
}

fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read from the client");
    buf
}

/// What the scripted proxy saw.
struct Seen {
    /// The `UDP ASSOCIATE` request's address type, address and port.
    request: Vec<u8>,
    /// The first datagram the client sent to the relay, whole.
    datagram: Vec<u8>,
    /// Where it came from.
    from: SocketAddr,
}

/// A SOCKS5 proxy (no authentication) that answers one `UDP ASSOCIATE`
/// with `relay`'s address, reports the client's first datagram, then sends
/// the client a datagram from a stranger, a malformed one from the relay,
/// and one wrapped from 127.0.0.1:4242 ("pong"), in that order; it closes
/// the control connection when `close` says so.
fn scripted_proxy() -> (u16, mpsc::Receiver<Seen>, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let relay = StdUdp::bind("127.0.0.1:0").expect("relay");
    let (seen_tx, seen_rx) = mpsc::channel();
    let (close_tx, close_rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        let (mut control, _) = listener.accept().expect("accept");
        assert_eq!(read_exact(&mut control, 3), [5, 1, 0], "greeting");
        control.write_all(&[5, 0]).expect("method");
        let head = read_exact(&mut control, 4);
        assert_eq!(head[..3], [5, 3, 0], "UDP ASSOCIATE");
        assert_eq!(head[3], 1, "an IPv4 address");
        let mut request = head[3..].to_vec();
        request.extend(read_exact(&mut control, 6));
        let relay_port = relay.local_addr().expect("relay addr").port().to_be_bytes();
        control
            .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, relay_port[0], relay_port[1]])
            .expect("reply");
        relay
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut buf = [0u8; 2048];
        let (n, from) = relay.recv_from(&mut buf).expect("a datagram to relay");
        let _ = seen_tx.send(Seen {
            request,
            datagram: buf[..n].to_vec(),
            from,
        });
        let stranger = StdUdp::bind("127.0.0.1:0").expect("stranger");
        let good = [0, 0, 0, 1, 127, 0, 0, 1, 0x10, 0x92, b'p', b'o', b'n', b'g'];
        stranger.send_to(&good, from).expect("stranger");
        relay
            .send_to(&[0, 0, 1, 1, 127, 0, 0, 1, 0, 9, b'x'], from)
            .expect("fragment");
        relay.send_to(&good, from).expect("good");
        let _ = close_rx.recv_timeout(Duration::from_secs(30));
        drop(control);
    });
    (port, seen_rx, close_tx)
}

/// `bind` associates with the relay before `Bound`; a datagram goes to
/// the relay wrapped with its real target; of the three that come back
/// only the relay's well-formed one is read, with the peer the relay names
/// as sender; the proxy closing the control connection is
/// `RemoteHostClosedError`, after which nothing is sent.
#[test]
fn datagrams_go_through_a_scripted_socks5_relay() {
    let (proxy_port, seen, close) = scripted_proxy();
    let socket = UdpSocket::new();
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "127.0.0.1",
        proxy_port,
    ));
    let log = record(&socket);
    assert_eq!(
        socket.bind(&loopback(), 0, BindMode::DEFAULT_FOR_PLATFORM),
        Ok(())
    );
    assert_eq!(socket.state(), SocketState::Bound);
    assert_eq!(*log.borrow(), ["SC(BoundState)"]);
    let local_port = socket.local_port();
    assert_ne!(local_port, 0);

    assert_eq!(socket.write_datagram(b"ping", &loopback(), 9), Ok(4));
    let seen = seen
        .recv_timeout(Duration::from_secs(30))
        .expect("the relay got it");
    // The request named the UDP socket's own address and port.
    let port = local_port.to_be_bytes();
    assert_eq!(seen.request, [1, 127, 0, 0, 1, port[0], port[1]]);
    assert_eq!(seen.from.port(), local_port);
    assert_eq!(
        seen.datagram,
        [0, 0, 0, 1, 127, 0, 0, 1, 0, 9, b'p', b'i', b'n', b'g']
    );

    run_until("the relayed reply", || socket.has_pending_datagrams());
    let dgram = socket.receive_datagram(None);
    assert_eq!(dgram.data(), b"pong");
    assert_eq!(*dgram.sender_address(), loopback());
    assert_eq!(dgram.sender_port(), Some(4242));
    assert!(
        !socket.has_pending_datagrams(),
        "the stranger's and the fragment were dropped"
    );

    close.send(()).expect("close the control connection");
    run_until("the control connection's close", || {
        socket.error() == SocketError::RemoteHostClosed
    });
    assert_eq!(
        socket.error_string(),
        "The remote host closed the connection"
    );
    assert_eq!(
        *log.borrow(),
        ["SC(BoundState)", "error(RemoteHostClosedError)"]
    );
    assert_eq!(
        socket.write_datagram(b"late", &loopback(), 9),
        Err(SocketError::Operation)
    );
}

/// A proxy that is not listening: `bind` fails with Qt's proxy error and
/// the socket stays unconnected, its local socket released.
#[test]
fn bind_through_a_closed_proxy_port_is_proxy_connection_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let socket = UdpSocket::new();
    socket.set_proxy(NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", port));
    let log = record(&socket);
    assert_eq!(
        socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM),
        Err(SocketError::ProxyConnectionRefused)
    );
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert_eq!(socket.local_port(), 0);
    assert_eq!(socket.error_string(), "Connection to proxy refused");
    assert_eq!(*log.borrow(), ["error(ProxyConnectionRefusedError)"]);
}

/// Our own echo on 127.0.0.1: every datagram goes back to its sender.
/// Returns the socket and the senders it saw.
fn echo() -> (UdpSocket, Rc<RefCell<Vec<u16>>>) {
    let echo = UdpSocket::new();
    echo.bind(&loopback(), 0, BindMode::DEFAULT_FOR_PLATFORM)
        .expect("bind the echo");
    let senders = Rc::new(RefCell::new(Vec::new()));
    let (e, s) = (echo.clone(), senders.clone());
    let _ = echo.ready_read().connect(move |_| {
        while e.has_pending_datagrams() {
            let d = e.receive_datagram(None);
            s.borrow_mut().push(d.sender_port().unwrap_or(0));
            let _ = e.write_datagram(d.data(), d.sender_address(), d.sender_port().unwrap_or(0));
        }
    });
    (echo, senders)
}

fn through_dante(test: &str, name: &str, credentials: bool) {
    let Some(dante) = peers::proxy(test, name) else {
        return;
    };
    let (echo, senders) = echo();
    let mut proxy = NetworkProxy::new(ProxyType::Socks5, dante.ip().to_string(), dante.port());
    if credentials {
        proxy.set_user("qsockstest");
        proxy.set_password("password");
    }
    let socket = UdpSocket::new();
    socket.set_proxy(proxy);
    if credentials {
        socket
            .bind_port(0, BindMode::DEFAULT_FOR_PLATFORM)
            .unwrap_or_else(|e| panic!("bind through dante: {e}: {}", socket.error_string()));
        assert_eq!(socket.state(), SocketState::Bound);
    }
    // Without an explicit bind, the first write_datagram binds (through
    // the proxy, as Qt's engine does).
    for i in 0..3u8 {
        let payload = [b'd', b'a', b'n', b't', b'e', i];
        assert_eq!(
            socket.write_datagram(&payload, &loopback(), echo.local_port()),
            Ok(payload.len())
        );
        assert_eq!(socket.state(), SocketState::Bound);
        run_until("the echo through dante", || socket.has_pending_datagrams());
        let back = socket.receive_datagram(None);
        assert_eq!(back.data(), payload);
        assert_eq!(*back.sender_address(), loopback());
        assert_eq!(back.sender_port(), Some(echo.local_port()));
    }
    // The echo saw dante's relay, not our socket.
    let seen = senders.borrow();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|&p| p != socket.local_port()), "{seen:?}");
    assert_eq!(socket.error(), SocketError::Unknown);
}

#[test]
fn datagrams_echo_through_dante() {
    through_dante("datagrams_echo_through_dante", "DANTE", false);
}

#[test]
fn datagrams_echo_through_dante_with_username_authentication() {
    through_dante(
        "datagrams_echo_through_dante_with_username_authentication",
        "DANTE_AUTH",
        true,
    );
}

/// A proxy that accepts the control connection and answers `UDP
/// ASSOCIATE`, then reports when the control connection closes.
fn proxy_watching_the_control_connection() -> (u16, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let relay = StdUdp::bind("127.0.0.1:0").expect("relay");
        let (mut control, _) = listener.accept().expect("accept");
        read_exact(&mut control, 3);
        control.write_all(&[5, 0]).expect("method");
        read_exact(&mut control, 10);
        let p = relay.local_addr().expect("relay addr").port().to_be_bytes();
        control
            .write_all(&[5, 0, 0, 1, 0, 0, 0, 0, p[0], p[1]])
            .expect("reply");
        control
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut buf = [0u8; 16];
        // 0: the socket closed the control connection.
        let _ = tx.send(control.read(&mut buf).unwrap_or(usize::MAX));
        drop(relay);
    });
    (port, rx)
}

/// Closing the socket closes the control connection, which ends the
/// association at the proxy; the socket goes through `Closing` to
/// `Unconnected` at once, as a bound UDP socket does.
#[test]
fn closing_the_socket_ends_the_association() {
    let (port, closed) = proxy_watching_the_control_connection();
    let socket = UdpSocket::new();
    socket.set_proxy(NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", port));
    let log = record(&socket);
    assert_eq!(socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM), Ok(()));
    socket.close();
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert_eq!(
        *log.borrow(),
        ["SC(BoundState)", "SC(ClosingState)", "SC(UnconnectedState)"]
    );
    assert_eq!(closed.recv_timeout(Duration::from_secs(30)), Ok(0));
}

/// A proxy that accepts and never answers: `bind` gives up after Qt's
/// five seconds with the control connection's own wait error (Qt's engine
/// waits in the control socket's `waitForReadyRead`: `SocketTimeoutError`
/// "Socket operation timed out").
#[test]
fn a_silent_proxy_times_bind_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        let accepted = listener.accept();
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
        drop(accepted);
    });
    let socket = UdpSocket::new();
    socket.set_proxy(NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", port));
    let started = std::time::Instant::now();
    assert_eq!(
        socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM),
        Err(SocketError::SocketTimeout)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(socket.error_string(), "Socket operation timed out");
    assert_eq!(socket.state(), SocketState::Unconnected);
    let _ = done_tx.send(());
}
