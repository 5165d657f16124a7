//! Which proxy a socket without its own takes: the application proxy and
//! the application factory (Qt: `QNetworkProxy::setApplicationProxy`,
//! `QNetworkProxyFactory::setApplicationProxyFactory`). They are
//! process-wide, so this binary holds a single test that changes them
//! step by step and restores them.

mod support;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::proxy::{self, NetworkProxyFactory};
use sigloop::net::{
    NetworkProxy, NetworkProxyQuery, ProxyType, SocketError, SocketState, TcpSocket,
};
use support::waits::run_until;

/// A SOCKS5 proxy for one connection that reports the target it was
/// asked for and then echoes.
fn socks_proxy() -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut greeting = [0; 3];
        s.read_exact(&mut greeting).expect("greeting");
        s.write_all(&[5, 0]).expect("method");
        let mut head = [0; 5];
        s.read_exact(&mut head).expect("request");
        let mut name = vec![0; head[4] as usize + 2];
        s.read_exact(&mut name).expect("name");
        let _ = tx.send(name[..head[4] as usize].to_vec());
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
            .expect("reply");
        echo(s);
    });
    (port, rx)
}

fn echo(mut s: TcpStream) {
    let mut buf = [0; 1024];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 || s.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

fn ping(socket: &TcpSocket) {
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    let _c = socket.ready_read().connect_to(socket, move |s, _| {
        sink.borrow_mut().extend(s.read_all().unwrap_or_default())
    });
    run_until("connected", || socket.state() == SocketState::Connected);
    socket.write(b"ping").expect("write");
    run_until("the echo", || got.borrow().len() >= 4);
    socket.abort();
}

struct Fixed(Vec<NetworkProxy>);

impl NetworkProxyFactory for Fixed {
    fn query_proxy(&self, _query: &NetworkProxyQuery) -> Vec<NetworkProxy> {
        self.0.clone()
    }
}

#[test]
fn sockets_follow_the_application_settings() {
    // The application proxy carries a name to the proxy.
    let (port, names) = socks_proxy();
    NetworkProxy::set_application_proxy(NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", port));
    let socket = TcpSocket::new();
    socket.connect_to_host("target.sigloop.invalid", 7);
    ping(&socket);
    let name = names.recv_timeout(Duration::from_secs(10)).expect("name");
    assert_eq!(name, b"target.sigloop.invalid");

    // ... but never a loopback destination (Qt's rule): this one goes
    // straight to the echo server.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let echo_port = listener.local_addr().expect("addr").port();
    thread::spawn(move || echo(listener.accept().expect("accept").0));
    let socket = TcpSocket::new();
    socket.connect_to_host("127.0.0.1", echo_port);
    ping(&socket);

    // A factory wins over the application proxy; the first proxy that can
    // tunnel is taken.
    let (port, names) = socks_proxy();
    proxy::set_application_proxy_factory(Some(Box::new(Fixed(vec![
        NetworkProxy::new(ProxyType::HttpCaching, "127.0.0.1", 1),
        NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", port),
    ]))));
    let socket = TcpSocket::new();
    socket.connect_to_host("other.sigloop.invalid", 7);
    ping(&socket);
    let name = names.recv_timeout(Duration::from_secs(10)).expect("name");
    assert_eq!(name, b"other.sigloop.invalid");

    // None can tunnel: UnsupportedSocketOperationError, still unconnected.
    proxy::set_application_proxy_factory(Some(Box::new(Fixed(vec![NetworkProxy::new(
        ProxyType::HttpCaching,
        "127.0.0.1",
        1,
    )]))));
    let socket = TcpSocket::new();
    socket.connect_to_host("third.sigloop.invalid", 7);
    assert_eq!(socket.error(), SocketError::UnsupportedSocketOperation);
    assert_eq!(socket.state(), SocketState::Unconnected);

    proxy::set_application_proxy_factory(None);
    NetworkProxy::set_application_proxy(NetworkProxy::default());
}
