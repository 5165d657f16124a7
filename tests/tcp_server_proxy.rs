//! `TcpServer` listening through a SOCKS5 proxy's `BIND` (Qt:
//! `QTcpServer::setProxy` and `QSocks5SocketEngine`'s listen path):
//! against a scripted proxy on 127.0.0.1, and against the real dante that
//! `.ci/proxies.sh` starts (skipped, with a notice, under plain
//! `cargo test`).

mod support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{
    HostAddress, NetworkProxy, ProxyType, SocketError, SocketState, SpecialAddress, TcpServer,
    TcpSocket,
};
use support::peers;
use support::scenarios::free_port;
use support::waits::run_until;

fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read from the client");
    buf
}

fn socks5(address: SocketAddr) -> NetworkProxy {
    NetworkProxy::new(ProxyType::Socks5, address.ip().to_string(), address.port())
}

fn localhost() -> HostAddress {
    HostAddress::from(SpecialAddress::LocalHost)
}

/// Runs the loop until the server announces its one connection; takes it.
fn accept_one(server: &TcpServer) -> TcpSocket {
    let announced = Rc::new(RefCell::new(0));
    let count = Rc::clone(&announced);
    let slot = server
        .new_connection()
        .connect(move |_| *count.borrow_mut() += 1);
    run_until("the proxy's peer connects", || *announced.borrow() > 0);
    slot.disconnect();
    assert_eq!(*announced.borrow(), 1);
    server
        .next_pending_connection()
        .expect("the accepted connection")
}

/// Reads from `socket` through the loop until `n` bytes came.
fn read_n(socket: &TcpSocket, n: usize) -> Vec<u8> {
    let got = Rc::new(RefCell::new(socket.read_all().expect("read")));
    let sink = Rc::clone(&got);
    let reader = socket.clone();
    let slot = socket
        .ready_read()
        .connect(move |_| sink.borrow_mut().extend(reader.read_all().expect("read")));
    run_until("the tunnel's bytes arrive", || got.borrow().len() >= n);
    slot.disconnect();
    let got = got.borrow().clone();
    got
}

/// A scripted SOCKS5 proxy for one `BIND`: checks the request, reports
/// 127.0.0.1:4242 as where it listens, then (when told) the peer
/// 127.0.0.9:5555 with the first tunnel bytes in the same write, then
/// answers "ping" with "pong".
#[test]
fn a_server_listens_through_a_socks5_bind() {
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = proxy.local_addr().expect("addr");
    let (peer_tx, peer_rx) = mpsc::channel::<()>();
    let script = thread::spawn(move || {
        let (mut client, _) = proxy.accept().expect("control connection");
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        assert_eq!(read_exact(&mut client, 3), [5, 1, 0], "greeting");
        client.write_all(&[5, 0]).expect("method");
        let request = read_exact(&mut client, 10);
        client
            .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0x10, 0x92])
            .expect("first reply");
        peer_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("told to connect the peer");
        let mut second = vec![5, 0, 0, 1, 127, 0, 0, 9, 0x15, 0xb3];
        second.extend_from_slice(b"hello");
        client.write_all(&second).expect("second reply");
        assert_eq!(read_exact(&mut client, 4), b"ping");
        client.write_all(b"pong").expect("pong");
        request
    });

    let server = TcpServer::new();
    server.set_proxy(socks5(address));
    server
        .listen(&localhost(), 0)
        .expect("listen through the proxy");
    assert!(server.is_listening());
    assert_eq!(
        server.server_address(),
        HostAddress::from(std::net::Ipv4Addr::new(127, 0, 0, 1))
    );
    assert_eq!(server.server_port(), 4242);
    assert!(!server.has_pending_connections());

    peer_tx.send(()).expect("the script waits");
    let socket = accept_one(&server);
    assert_eq!(socket.state(), SocketState::Connected);
    assert_eq!(
        socket.peer_address(),
        HostAddress::from(std::net::Ipv4Addr::new(127, 0, 0, 9))
    );
    assert_eq!(socket.peer_port(), 5555);
    assert_eq!(
        socket.local_address(),
        HostAddress::from(std::net::Ipv4Addr::new(127, 0, 0, 1))
    );
    assert_eq!(socket.local_port(), 4242);
    assert_eq!(read_n(&socket, 5), b"hello");
    socket.write(b"ping").expect("write");
    assert_eq!(read_n(&socket, 4), b"pong");
    // Qt's SOCKS5 engine accepts one connection per BIND.
    assert!(!server.is_listening());

    let request = script.join().expect("the script");
    // BIND (2) for the address and port listen was given.
    assert_eq!(request, [5, 2, 0, 1, 127, 0, 0, 1, 0, 0]);
}

#[test]
fn a_proxy_that_cannot_listen_is_an_unsupported_operation() {
    let server = TcpServer::new();
    server.set_proxy(NetworkProxy::new(ProxyType::Http, "127.0.0.1", free_port()));
    assert_eq!(
        server.listen(&localhost(), 0),
        Err(SocketError::UnsupportedSocketOperation)
    );
    assert_eq!(
        server.server_error(),
        SocketError::UnsupportedSocketOperation
    );
    assert_eq!(
        server.error_string(),
        "Operation on socket is not supported"
    );
    assert!(!server.is_listening());
}

#[test]
fn no_proxy_listens_directly() {
    let server = TcpServer::new();
    server.set_proxy(NetworkProxy::new(ProxyType::NoProxy, "", 0));
    assert_eq!(server.proxy().proxy_type(), ProxyType::NoProxy);
    server.listen(&localhost(), 0).expect("listen");
    let _client = TcpStream::connect(("127.0.0.1", server.server_port())).expect("connect");
    let socket = accept_one(&server);
    assert_eq!(socket.state(), SocketState::Connected);
    assert!(server.is_listening());
}

#[test]
fn a_refused_proxy_fails_listen() {
    let server = TcpServer::new();
    server.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "127.0.0.1",
        free_port(),
    ));
    assert_eq!(
        server.listen(&localhost(), 0),
        Err(SocketError::ProxyConnectionRefused)
    );
    assert_eq!(server.server_error(), SocketError::ProxyConnectionRefused);
    assert!(!server.is_listening());
    assert_eq!(server.server_port(), 0);
}

/// The proxy closes the control connection after its first reply: no
/// peer will come; the server reports it as an accept error.
#[test]
fn a_proxy_that_closes_before_the_peer_is_an_accept_error() {
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = proxy.local_addr().expect("addr");
    let (close_tx, close_rx) = mpsc::channel::<()>();
    let script = thread::spawn(move || {
        let (mut client, _) = proxy.accept().expect("control connection");
        read_exact(&mut client, 3);
        client.write_all(&[5, 0]).expect("method");
        read_exact(&mut client, 10);
        client
            .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0x10, 0x92])
            .expect("first reply");
        let _ = close_rx.recv_timeout(Duration::from_secs(30));
    });
    let server = TcpServer::new();
    server.set_proxy(socks5(address));
    server.listen(&localhost(), 0).expect("listen");
    let errors = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&errors);
    let _c = server
        .accept_error()
        .connect(move |e| sink.borrow_mut().push(*e));
    close_tx.send(()).expect("the script waits");
    run_until("the accept error", || !errors.borrow().is_empty());
    assert_eq!(*errors.borrow(), [SocketError::RemoteHostClosed]);
    assert_eq!(
        server.error_string(),
        "The remote host closed the connection"
    );
    assert!(!server.has_pending_connections());
    script.join().expect("the script");
}

/// Our server listens through the real dante's BIND; a plain client
/// connects to where dante says it listens; bytes flow both ways.
#[test]
fn a_server_listens_through_dantes_bind() {
    let Some(address) = peers::proxy("a_server_listens_through_dantes_bind", "DANTE") else {
        return;
    };
    let server = TcpServer::new();
    server.set_proxy(socks5(address));
    server
        .listen(&localhost(), 0)
        .expect("listen through dante");
    assert!(server.is_listening());
    let ip = server.server_address().ip().expect("dante's bound address");
    assert!(ip.is_loopback(), "dante listens on {ip}");
    let port = server.server_port();
    assert_ne!(port, 0);

    let mut client = TcpStream::connect((ip, port)).expect("connect to dante's bound port");
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let socket = accept_one(&server);
    assert_eq!(socket.state(), SocketState::Connected);
    assert_eq!(socket.local_port(), port);
    let client_local = client.local_addr().expect("local");
    assert_eq!(socket.peer_port(), client_local.port());

    client.write_all(b"from the client").expect("write");
    assert_eq!(read_n(&socket, 15), b"from the client");
    socket.write(b"from the server").expect("write");
    let echoed = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&echoed);
    let reader = thread::spawn(move || read_exact(&mut client, 15));
    run_until("our bytes leave", || socket.bytes_to_write() == 0);
    sink.borrow_mut()
        .extend(reader.join().expect("the client reads"));
    assert_eq!(*echoed.borrow(), b"from the server");
    assert!(!server.is_listening());
}
