//! `TcpSocket` through real proxies: microsocks and dante (SOCKS5, with
//! and without username authentication), tinyproxy and squid (HTTP
//! `CONNECT` with Basic authentication), started on 127.0.0.1 by
//! `.ci/proxies.sh`, which tells where through `SIGLOOP_PROXY_*`. Without
//! them (plain `cargo test`) each test says it did not run; `.ci/test`
//! starts them and requires them.
//!
//! The target is always our own echo server on 127.0.0.1; the proxies
//! connect from 127.0.0.1 only, and the one name that must fail to
//! resolve goes to squid, which resolves from `/etc/hosts` and a dead
//! loopback DNS port only, so nothing leaves the machine.

mod support;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;

use sigloop::core::IoDevice;
use sigloop::net::{NetworkProxy, ProxyType, SocketError, SocketState, TcpSocket};
use support::peers;
use support::scenarios::free_port;
use support::waits::run_until;

const USER: &str = "qsockstest";
const PASSWORD: &str = "password";

/// 16 MiB through each proxy.
const BIG: usize = 16 << 20;

/// An echo server for one connection on 127.0.0.1; its port.
///
/// It reads and writes in two threads, so it never stops reading while a
/// write waits: a relay that blocks on a write (microsocks does) would
/// otherwise deadlock with it once both directions' buffers fill.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let Ok((mut reader, _)) = listener.accept() else {
            return;
        };
        let mut writer = reader.try_clone().expect("clone the stream");
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        thread::spawn(move || {
            for chunk in rx {
                if writer.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    port
}

/// FNV-1a, 64 bits: enough to tell a byte out of place.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Bytes no proxy could produce by accident (xorshift).
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A socket set to use the proxy at `address`, with `credentials`; the
/// slot answers `proxy_authentication_required` with `slot_credentials`
/// (or nothing). Returns the socket and how often the proxy asked.
fn socket_via(
    proxy_type: ProxyType,
    address: SocketAddr,
    credentials: Option<(&str, &str)>,
    slot_credentials: Option<(&'static str, &'static str)>,
) -> (TcpSocket, Rc<Cell<usize>>) {
    let mut proxy = NetworkProxy::new(proxy_type, address.ip().to_string(), address.port());
    if let Some((user, password)) = credentials {
        proxy.set_user(user);
        proxy.set_password(password);
    }
    let socket = TcpSocket::new();
    socket.set_proxy(proxy);
    let asked = Rc::new(Cell::new(0));
    let a = asked.clone();
    let _c = socket
        .proxy_authentication_required()
        .connect(move |request| {
            a.set(a.get() + 1);
            if let Some((user, password)) = slot_credentials {
                request.set_credentials(user, password);
            }
        });
    (socket, asked)
}

fn settled(socket: &TcpSocket) {
    run_until("connected or failed", || {
        matches!(
            socket.state(),
            SocketState::Connected | SocketState::Unconnected
        )
    });
}

/// Sends 16 MiB through the tunnel to the echo server and checks the
/// hash of what comes back.
fn transfer(socket: &TcpSocket) {
    settled(socket);
    assert_eq!(
        socket.state(),
        SocketState::Connected,
        "{:?}: {}",
        socket.error(),
        socket.error_string()
    );
    let data = payload(BIG);
    let mut sent = Fnv::new();
    sent.update(&data);
    let received = Rc::new(RefCell::new((0usize, Fnv::new())));
    let r = received.clone();
    let _c = socket.ready_read().connect_to(socket, move |s, _| {
        let chunk = s.read_all().unwrap_or_default();
        let mut r = r.borrow_mut();
        r.0 += chunk.len();
        r.1.update(&chunk);
    });
    socket.write_vec(data).expect("write");
    run_until("16 MiB back through the proxy", || {
        received.borrow().0 >= BIG
    });
    let (len, hash) = *received.borrow();
    assert_eq!(len, BIG);
    assert_eq!(hash.0, sent.0, "the bytes came back changed");
    socket.abort();
}

/// Expects the connect to fail with `error` and `text`.
fn fails(socket: &TcpSocket, error: SocketError, text: &str) {
    settled(socket);
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert_eq!(socket.error(), error, "{}", socket.error_string());
    assert_eq!(socket.error_string(), text);
}

macro_rules! transfer_tests {
    ($($name:ident: $env:literal, $kind:expr, $creds:expr;)*) => {$(
        #[test]
        fn $name() {
            let Some(proxy) = peers::proxy(stringify!($name), $env) else {
                return;
            };
            let (socket, asked) = socket_via($kind, proxy, $creds, None);
            socket.connect_to_host("127.0.0.1", echo_server());
            transfer(&socket);
            assert_eq!(asked.get(), 0, "the proxy asked for credentials");
        }
    )*};
}

transfer_tests! {
    transfer_through_microsocks: "MICROSOCKS", ProxyType::Socks5, None;
    transfer_through_microsocks_with_credentials: "MICROSOCKS_AUTH", ProxyType::Socks5, Some((USER, PASSWORD));
    transfer_through_dante: "DANTE", ProxyType::Socks5, None;
    transfer_through_dante_with_credentials: "DANTE_AUTH", ProxyType::Socks5, Some((USER, PASSWORD));
    transfer_through_tinyproxy: "TINYPROXY_AUTH", ProxyType::Http, Some((USER, PASSWORD));
    transfer_through_squid: "SQUID_AUTH", ProxyType::Http, Some((USER, PASSWORD));
}

macro_rules! auth_tests {
    ($($name:ident: $env:literal, $kind:expr, $creds:expr, $asked:expr, $error:expr, $text:expr;)*) => {$(
        #[test]
        fn $name() {
            let Some(proxy) = peers::proxy(stringify!($name), $env) else {
                return;
            };
            let (socket, asked) = socket_via($kind, proxy, $creds, None);
            socket.connect_to_host("127.0.0.1", echo_server());
            fails(&socket, $error, $text);
            assert_eq!(asked.get(), $asked, "proxy_authentication_required emissions");
        }
    )*};
}

auth_tests! {
    microsocks_without_credentials: "MICROSOCKS_AUTH", ProxyType::Socks5, None, 1,
        SocketError::ProxyAuthenticationRequired, "Proxy authentication failed";
    microsocks_with_a_wrong_password: "MICROSOCKS_AUTH", ProxyType::Socks5, Some((USER, "wrong")), 1,
        SocketError::ProxyAuthenticationRequired, "Proxy authentication failed";
    dante_without_credentials: "DANTE_AUTH", ProxyType::Socks5, None, 1,
        SocketError::ProxyAuthenticationRequired, "Proxy authentication failed";
    dante_with_a_wrong_password: "DANTE_AUTH", ProxyType::Socks5, Some((USER, "wrong")), 1,
        SocketError::ProxyAuthenticationRequired, "Proxy authentication failed";
    tinyproxy_without_credentials: "TINYPROXY_AUTH", ProxyType::Http, None, 1,
        SocketError::ProxyAuthenticationRequired, "Authentication required";
    // tinyproxy answers wrong credentials with 401, not 407: Qt calls that
    // a protocol error and does not ask.
    tinyproxy_with_a_wrong_password: "TINYPROXY_AUTH", ProxyType::Http, Some((USER, "wrong")), 0,
        SocketError::ProxyProtocol, "Error communicating with HTTP proxy";
    squid_without_credentials: "SQUID_AUTH", ProxyType::Http, None, 1,
        SocketError::ProxyAuthenticationRequired, "Authentication required";
    squid_with_a_wrong_password: "SQUID_AUTH", ProxyType::Http, Some((USER, "wrong")), 1,
        SocketError::ProxyAuthenticationRequired, "Authentication required";
}

macro_rules! slot_credential_tests {
    ($($name:ident: $env:literal, $kind:expr;)*) => {$(
        /// The proxy asks; the slot's credentials get the tunnel open.
        #[test]
        fn $name() {
            let Some(proxy) = peers::proxy(stringify!($name), $env) else {
                return;
            };
            let (socket, asked) = socket_via($kind, proxy, None, Some((USER, PASSWORD)));
            socket.connect_to_host("127.0.0.1", echo_server());
            settled(&socket);
            assert_eq!(socket.state(), SocketState::Connected, "{}", socket.error_string());
            assert_eq!(asked.get(), 1);
            let got = Rc::new(RefCell::new(Vec::new()));
            let g = got.clone();
            let _c = socket.ready_read().connect_to(&socket, move |s, _| {
                g.borrow_mut().extend(s.read_all().unwrap_or_default())
            });
            socket.write(b"ping").expect("write");
            run_until("the echo", || got.borrow().len() >= 4);
            assert_eq!(&got.borrow()[..], b"ping");
            socket.abort();
        }
    )*};
}

slot_credential_tests! {
    microsocks_with_the_slots_credentials: "MICROSOCKS_AUTH", ProxyType::Socks5;
    dante_with_the_slots_credentials: "DANTE_AUTH", ProxyType::Socks5;
    tinyproxy_with_the_slots_credentials: "TINYPROXY_AUTH", ProxyType::Http;
    squid_with_the_slots_credentials: "SQUID_AUTH", ProxyType::Http;
}

macro_rules! closed_port_tests {
    ($($name:ident: $env:literal, $kind:expr, $creds:expr, $error:expr, $text:expr;)*) => {$(
        #[test]
        fn $name() {
            let Some(proxy) = peers::proxy(stringify!($name), $env) else {
                return;
            };
            let (socket, _) = socket_via($kind, proxy, $creds, None);
            socket.connect_to_host("127.0.0.1", free_port());
            fails(&socket, $error, $text);
        }
    )*};
}

closed_port_tests! {
    microsocks_to_a_closed_port: "MICROSOCKS", ProxyType::Socks5, None,
        SocketError::ConnectionRefused, "Connection refused";
    dante_to_a_closed_port: "DANTE", ProxyType::Socks5, None,
        SocketError::ConnectionRefused, "Connection refused";
    // tinyproxy says 500 "Unable to connect": Qt's generic protocol error.
    tinyproxy_to_a_closed_port: "TINYPROXY_AUTH", ProxyType::Http, Some((USER, PASSWORD)),
        SocketError::ProxyProtocol, "Error communicating with HTTP proxy";
    squid_to_a_closed_port: "SQUID_AUTH", ProxyType::Http, Some((USER, PASSWORD)),
        SocketError::ConnectionRefused, "Connection refused";
}

/// A name the proxy cannot resolve: squid answers 500 (after its own DNS
/// timeout against a dead loopback port), Qt's protocol error. The name
/// goes to the proxy as is: no `host_found`.
#[test]
fn squid_cannot_resolve_the_name() {
    let Some(proxy) = peers::proxy("squid_cannot_resolve_the_name", "SQUID_AUTH") else {
        return;
    };
    let (socket, _) = socket_via(ProxyType::Http, proxy, Some((USER, PASSWORD)), None);
    let found = support::waits::counter(socket.host_found());
    socket.connect_to_host("nowhere.sigloop.invalid", 7);
    fails(
        &socket,
        SocketError::ProxyProtocol,
        "Error communicating with HTTP proxy",
    );
    assert_eq!(found.get(), 0);
}
