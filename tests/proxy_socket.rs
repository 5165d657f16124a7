//! `TcpSocket` through a proxy, beyond Qt's fault scenarios
//! (`proxy_oracle.rs`): the proxy setting, Qt's rules for which proxy a
//! socket takes, credentials a slot gives, names the proxy resolves, and
//! data through the tunnel. The proxies are scripted std threads on
//! 127.0.0.1 that check what the socket sent.

mod support;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{
    NetworkProxy, ProxyCapabilities, ProxyType, SocketError, SocketState, TcpSocket, UdpSocket,
};
use support::recorder::{Record, SocketRecorder, Trace};
use support::waits::{counter, run_until, settle};

/// A scripted proxy: `handler(i, stream)` serves the `i`-th connection
/// (up to `n`) in a thread; what the handlers return comes back in order.
fn serve<T: Send + 'static>(
    n: usize,
    handler: impl Fn(usize, TcpStream) -> T + Send + Sync + 'static,
) -> (u16, mpsc::Receiver<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for i in 0..n {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let _ = tx.send(handler(i, stream));
        }
    });
    (port, rx)
}

fn read_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).expect("read from the client");
    buf
}

/// Reads a SOCKS5 CONNECT request; returns the target as text.
fn socks_request(stream: &mut TcpStream) -> String {
    let head = read_exact(stream, 4);
    assert_eq!(&head[..3], &[5, 1, 0], "a CONNECT request");
    let host = match head[3] {
        1 => {
            let a = read_exact(stream, 4);
            format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
        }
        3 => {
            let n = read_exact(stream, 1)[0] as usize;
            String::from_utf8(read_exact(stream, n)).expect("a name")
        }
        other => panic!("address type {other}"),
    };
    let port = read_exact(stream, 2);
    format!("{host}:{}", u16::from_be_bytes([port[0], port[1]]))
}

/// Echoes until the client closes.
fn echo(mut stream: TcpStream) {
    let mut buf = [0; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 || stream.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// Sends `ping` once connected and waits for it to come back.
fn ping_through(socket: &TcpSocket) {
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    let _c = socket.ready_read().connect_to(socket, move |s, _| {
        sink.borrow_mut().extend(s.read_all().unwrap_or_default())
    });
    run_until("connected", || socket.state() == SocketState::Connected);
    socket.write(b"ping").expect("write");
    run_until("the echo", || got.borrow().len() >= 4);
    assert_eq!(&got.borrow()[..], b"ping");
}

#[test]
fn set_proxy_is_what_proxy_returns() {
    let socket = TcpSocket::new();
    assert_eq!(socket.proxy().proxy_type(), ProxyType::Default);
    let proxy = NetworkProxy::from_url("socks5://u:p@127.0.0.1:1080").expect("url");
    socket.set_proxy(proxy.clone());
    assert_eq!(socket.proxy().proxy_type(), ProxyType::Socks5);
    assert_eq!(socket.proxy().user(), "u");
    assert_eq!(socket.proxy().port(), 1080);
    socket.set_proxy(NetworkProxy::default());
    assert_eq!(socket.proxy().proxy_type(), ProxyType::Default);
}

/// A caching proxy cannot tunnel: Qt refuses before any state change.
#[test]
fn a_proxy_that_cannot_tunnel_is_an_unsupported_operation() {
    for proxy in [
        NetworkProxy::new(ProxyType::HttpCaching, "127.0.0.1", 3128),
        {
            let mut p = NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", 1080);
            p.set_capabilities(ProxyCapabilities::HOST_NAME_LOOKUP);
            p
        },
    ] {
        let socket = TcpSocket::new();
        let trace = Trace::new();
        let _rec = SocketRecorder::attach(&socket, &trace, Record::default());
        socket.set_proxy(proxy);
        socket.connect_to_host("127.0.0.1", 9);
        assert_eq!(
            trace.lines(),
            ["errorOccurred UnsupportedSocketOperationError 'Operation on socket is not supported'"]
        );
        assert_eq!(socket.state(), SocketState::Unconnected);
    }
}

/// A connected `UdpSocket` is not relayed through SOCKS5 (only `bind`
/// is, see `proxy_udp.rs`), and a proxy that cannot relay datagrams (HTTP)
/// is refused: neither goes around the proxy.
#[test]
fn a_udp_socket_refuses_a_proxy_instead_of_bypassing_it() {
    let socket = UdpSocket::new();
    socket.set_proxy(NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", 1080));
    socket.connect_to_host("127.0.0.1", 9);
    assert_eq!(socket.error(), SocketError::UnsupportedSocketOperation);
    assert_eq!(socket.state(), SocketState::Unconnected);
    socket.set_proxy(NetworkProxy::new(ProxyType::Http, "127.0.0.1", 3128));
    // Nor does it bind or send around it.
    assert_eq!(
        socket.bind_port(0, sigloop::net::BindMode::DEFAULT_FOR_PLATFORM),
        Err(SocketError::UnsupportedSocketOperation)
    );
    assert_eq!(
        socket.write_datagram(b"x", &"127.0.0.1".parse().expect("address"), 9),
        Err(SocketError::UnsupportedSocketOperation)
    );
    assert_eq!(socket.state(), SocketState::Unconnected);
    // With NoProxy it binds as usual.
    socket.set_proxy(NetworkProxy::no_proxy());
    assert_eq!(
        socket.bind_port(0, sigloop::net::BindMode::DEFAULT_FOR_PLATFORM),
        Ok(())
    );
}

/// `NoProxy` set on the socket connects directly, even when an
/// application proxy would apply.
#[test]
fn no_proxy_connects_directly() {
    let (port, _rx) = serve(1, |_, stream| echo(stream));
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::no_proxy());
    socket.connect_to_host("127.0.0.1", port);
    ping_through(&socket);
}

/// SOCKS5: the proxy refuses the method offered (no credentials); the
/// slot's credentials are offered on a new connection, and the tunnel
/// then carries data.
#[test]
fn socks5_retries_with_the_slots_credentials_on_a_new_connection() {
    let (proxy_port, seen) = serve(2, |i, mut s| {
        let greeting = read_exact(&mut s, 3);
        if i == 0 {
            s.write_all(&[5, 0xff]).expect("write");
            return (greeting, Vec::new(), String::new());
        }
        s.write_all(&[5, 2]).expect("write");
        let head = read_exact(&mut s, 2);
        let user = read_exact(&mut s, head[1] as usize);
        let plen = read_exact(&mut s, 1)[0] as usize;
        let mut creds = user;
        creds.push(b':');
        creds.extend(read_exact(&mut s, plen));
        s.write_all(&[1, 0]).expect("write");
        let target = socks_request(&mut s);
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
            .expect("write");
        let reply = (greeting, creds, target);
        echo(s);
        reply
    });
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "127.0.0.1",
        proxy_port,
    ));
    let asked = Rc::new(Cell::new(0));
    let a = asked.clone();
    let _c = socket
        .proxy_authentication_required()
        .connect(move |request| {
            a.set(a.get() + 1);
            assert_eq!(request.proxy().port(), proxy_port);
            request.set_credentials("alice", "secret");
        });
    socket.connect_to_host("127.0.0.1", 7);
    ping_through(&socket);
    assert_eq!(asked.get(), 1);
    let first = seen.recv_timeout(Duration::from_secs(10)).expect("first");
    assert_eq!(first.0, [5, 1, 0], "no credentials: method 00 offered");
    socket.disconnect_from_host();
    let second = seen.recv_timeout(Duration::from_secs(10)).expect("second");
    assert_eq!(second.0, [5, 1, 2], "credentials: method 02 offered");
    assert_eq!(second.1, b"alice:secret");
    assert_eq!(second.2, "127.0.0.1:7");
    // Qt keeps the slot's credentials with the proxy in use, not with the
    // setting: `proxy()` is unchanged.
    assert_eq!(socket.proxy().user(), "");
}

/// Reads an HTTP request head.
fn http_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.extend(read_exact(s, 1));
    }
    String::from_utf8(head).expect("text")
}

/// HTTP: a 407 on a keep-alive connection; the CONNECT is sent again on
/// the same connection with the slot's credentials.
#[test]
fn http_407_retries_on_the_same_connection_with_the_slots_credentials() {
    let (proxy_port, seen) = serve(1, |_, mut s| {
        let first = http_head(&mut s);
        s.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"sigloop\"\r\n\
              Connection: keep-alive\r\nContent-Length: 5\r\n\r\nnope!",
        )
        .expect("write");
        let second = http_head(&mut s);
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .expect("write");
        let heads = (first, second);
        echo(s);
        heads
    });
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::new(ProxyType::Http, "127.0.0.1", proxy_port));
    let realm = Rc::new(RefCell::new(String::new()));
    let r = realm.clone();
    let _c = socket
        .proxy_authentication_required()
        .connect(move |request| {
            *r.borrow_mut() = request.authenticator().realm().to_owned();
            request.set_credentials("alice", "secret");
        });
    socket.connect_to_host("127.0.0.1", 7);
    ping_through(&socket);
    socket.disconnect_from_host();
    let (first, second) = seen.recv_timeout(Duration::from_secs(10)).expect("heads");
    assert!(
        first.starts_with("CONNECT 127.0.0.1:7 HTTP/1.1\r\n"),
        "{first}"
    );
    assert!(!first.contains("Proxy-Authorization"), "{first}");
    assert!(
        second.contains("Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"),
        "{second}"
    );
    assert_eq!(*realm.borrow(), "sigloop");
}

/// A name goes to the proxy as a name: no local lookup, no `host_found`,
/// and a name under `.invalid` (which no resolver answers) connects.
#[test]
fn the_proxy_resolves_the_name() {
    let (proxy_port, seen) = serve(1, |_, mut s| {
        let _ = read_exact(&mut s, 3);
        s.write_all(&[5, 0]).expect("write");
        let target = socks_request(&mut s);
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
            .expect("write");
        echo(s);
        target
    });
    let socket = TcpSocket::new();
    let trace = Trace::new();
    let _rec = SocketRecorder::attach(&socket, &trace, Record::default());
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "127.0.0.1",
        proxy_port,
    ));
    socket.connect_to_host("echo.sigloop.invalid", 7);
    // Synchronously: HostLookup, then Connecting, no host_found.
    assert_eq!(
        trace.lines(),
        [
            "stateChanged HostLookupState",
            "stateChanged ConnectingState"
        ]
    );
    ping_through(&socket);
    assert!(!trace.contains("hostFound"));
    assert_eq!(socket.peer_name(), "echo.sigloop.invalid");
    assert_eq!(socket.peer_port(), 7);
    socket.disconnect_from_host();
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(10)).expect("target"),
        "echo.sigloop.invalid:7"
    );
}

/// A proxy given by name (`localhost`) is looked up first.
#[test]
fn a_proxy_host_name_is_looked_up() {
    let (proxy_port, _seen) = serve(1, |_, mut s| {
        let _ = read_exact(&mut s, 3);
        s.write_all(&[5, 0]).expect("write");
        let _ = socks_request(&mut s);
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
            .expect("write");
        echo(s);
    });
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "localhost",
        proxy_port,
    ));
    socket.connect_to_host("127.0.0.1", 7);
    ping_through(&socket);
}

/// A proxy name that does not resolve: Qt's `ProxyNotFoundError`.
#[test]
fn a_proxy_name_that_does_not_resolve_is_proxy_not_found() {
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Http,
        "proxy.sigloop.invalid",
        3128,
    ));
    let errors = counter(socket.error_occurred());
    socket.connect_to_host("127.0.0.1", 7);
    run_until("the error", || errors.get() == 1);
    assert_eq!(socket.error(), SocketError::ProxyNotFound);
    assert_eq!(socket.error_string(), "Proxy server not found");
    assert_eq!(socket.state(), SocketState::Unconnected);
}

/// `wait_for_connected` drives the handshake without an event loop.
#[test]
fn wait_for_connected_through_a_proxy() {
    let (proxy_port, _seen) = serve(1, |_, mut s| {
        let _ = http_head(&mut s);
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\nhello")
            .expect("write");
        echo(s);
    });
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::new(ProxyType::Http, "127.0.0.1", proxy_port));
    socket.connect_to_host("127.0.0.1", 7);
    assert!(socket.wait_for_connected(Some(Duration::from_secs(10))));
    assert_eq!(socket.state(), SocketState::Connected);
    assert_eq!(socket.read_all().expect("read"), b"hello");
    settle(Duration::from_millis(10));
}

/// A proxy that accepts but never answers: each attempt ends at the
/// connect timeout, and an IP target gets Qt's second attempt.
#[test]
fn a_silent_proxy_times_out_attempt_by_attempt() {
    let (proxy_port, held) = serve(2, |_, mut s| {
        // Keep the connection open, silent, until the client gives up.
        let mut buf = [0; 64];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let socket = TcpSocket::new();
    socket.set_connect_timeout(Duration::from_millis(200));
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "127.0.0.1",
        proxy_port,
    ));
    let errors = counter(socket.error_occurred());
    socket.connect_to_host("127.0.0.1", 7);
    run_until("the timeout", || errors.get() == 1);
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert_eq!(socket.error(), SocketError::SocketTimeout);
    assert_eq!(socket.error_string(), "Connection timed out");
    // Both connections were made and closed by the client.
    for _ in 0..2 {
        held.recv_timeout(Duration::from_secs(10))
            .expect("a connection");
    }
}

/// A slot may abort the socket while the proxy waits for credentials:
/// nothing more happens, and the socket can connect again.
#[test]
fn aborting_from_the_credentials_slot_ends_the_attempt() {
    let (proxy_port, _seen) = serve(2, |i, mut s| {
        let _ = read_exact(&mut s, 3);
        if i == 0 {
            s.write_all(&[5, 0xff]).expect("write");
            let mut buf = [0; 16];
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            return;
        }
        s.write_all(&[5, 0]).expect("write");
        let _ = socks_request(&mut s);
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
            .expect("write");
        echo(s);
    });
    let socket = TcpSocket::new();
    socket.set_proxy(NetworkProxy::new(
        ProxyType::Socks5,
        "127.0.0.1",
        proxy_port,
    ));
    let aborted = Rc::new(Cell::new(false));
    let a = aborted.clone();
    let _c = socket
        .proxy_authentication_required()
        .connect_to(&socket, move |s, _| {
            if !a.replace(true) {
                s.abort();
            }
        });
    let errors = counter(socket.error_occurred());
    socket.connect_to_host("127.0.0.1", 7);
    run_until("the abort", || aborted.get());
    assert_eq!(socket.state(), SocketState::Unconnected);
    settle(Duration::from_millis(50));
    assert_eq!(errors.get(), 0, "an abort reports no error");
    socket.connect_to_host("127.0.0.1", 7);
    ping_through(&socket);
}

/// A proxy whose address swallows the SYNs: Qt's proxy timeout error, one
/// attempt (a proxy error ends the plan). Runs in a child inside a private
/// network namespace where 198.51.100.0/24 is routed into `lo` and
/// answered by nobody, so nothing leaves the machine.
#[test]
fn a_proxy_that_never_answers_the_connect_times_out() {
    use support::isolate::{self, is_child_for, run_test_in_child, Isolation};
    let name = "a_proxy_that_never_answers_the_connect_times_out";
    if !is_child_for(name) {
        return run_test_in_child(Isolation::NetNs(support::scenarios::BLACKHOLE_SETUP), name);
    }
    isolate::assert_private_netns();
    for (proxy_type, text) in [
        (ProxyType::Socks5, "Connection to proxy timed out"),
        (ProxyType::Http, "Proxy server connection timed out"),
    ] {
        let socket = TcpSocket::new();
        let trace = Trace::new();
        let _rec = SocketRecorder::attach(&socket, &trace, Record::default());
        socket.set_connect_timeout(Duration::from_millis(300));
        socket.set_proxy(NetworkProxy::new(proxy_type, "198.51.100.1", 1080));
        socket.connect_to_host("127.0.0.1", 7);
        run_until("the timeout", || socket.state() == SocketState::Unconnected);
        assert_eq!(
            trace.lines(),
            [
                "stateChanged HostLookupState".to_owned(),
                "stateChanged ConnectingState".to_owned(),
                "hostFound".to_owned(),
                "stateChanged UnconnectedState".to_owned(),
                format!("errorOccurred ProxyConnectionTimeoutError '{text}'"),
            ]
        );
    }
}
