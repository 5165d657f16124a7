//! The proxy scenarios of the Qt oracle (`qt_oracle.py`), re-enacted with
//! our `TcpSocket` against scripted proxies: std threads that speak just
//! enough SOCKS5 or HTTP to produce each fault, as the oracle's
//! `fake_proxy` did (a real proxy cannot be made to send a bad version
//! byte or a 404). Each accepted connection runs the script in its own
//! thread; the connections are counted (`proxy_connections`: Qt retries
//! some failures on a new connection).
//!
//! `tests/proxy_oracle.rs` compares the outcomes with Qt's traces
//! (`tests/oracle/qt-6.12-proxy-loopback.txt`); `examples/tcp_trace.rs
//! --proxy` prints them in the oracle's format.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{NetworkProxy, ProxyType, SocketState, TcpSocket};

use super::isolate::Isolation;
use super::recorder::{py_bytes, Record, SocketRecorder, Trace};
use super::scenarios::{free_port, run_for, run_until, Outcome, Scenario, WAIT};

/// A script: what the proxy does with one accepted connection.
pub type Script = fn(&mut TcpStream);

/// A scripted proxy on 127.0.0.1: up to three connections (the oracle's
/// limit), each handled by the script in a thread.
pub struct FakeProxy {
    /// Its port.
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl FakeProxy {
    /// Starts listening and serving.
    pub fn start(script: Script) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a fake proxy");
        let port = listener.local_addr().expect("local_addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        thread::spawn(move || {
            for _ in 0..3 {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    script(&mut stream);
                });
            }
        });
        FakeProxy { port, connections }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads up to `n` bytes (one read, as Python's `recv`).
fn recv(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    let got = stream.read(&mut buf).unwrap_or(0);
    buf.truncate(got);
    buf
}

fn recv_exact(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    let _ = stream.read_exact(&mut buf);
    buf
}

/// The oracle's pause before a fake proxy closes (a slow proxy is the
/// point of these scenarios, so the peer sleeps, not the test).
fn hold(ms: u64) {
    thread::sleep(Duration::from_millis(ms));
}

/// Reads the greeting, answers with `method`.
pub fn socks_greet(stream: &mut TcpStream, method: u8) {
    let _ = recv(stream, 262);
    let _ = stream.write_all(&[5, method]);
}

/// Reads a SOCKS5 request; returns its header.
pub fn socks_req(stream: &mut TcpStream) -> Vec<u8> {
    let head = recv_exact(stream, 4);
    match head.get(3) {
        Some(1) => {
            recv_exact(stream, 6);
        }
        Some(3) => {
            let n = recv_exact(stream, 1)[0] as usize;
            recv_exact(stream, n + 2);
        }
        Some(4) => {
            recv_exact(stream, 18);
        }
        _ => {}
    }
    head
}

/// A reply with code `rep` and an IPv4 or domain BND address.
pub fn socks_reply(rep: u8, domain: bool) -> Vec<u8> {
    if domain {
        let name = b"example.test";
        let mut out = vec![5, rep, 0, 3, name.len() as u8];
        out.extend_from_slice(name);
        out.extend_from_slice(&[0, 0x50]);
        return out;
    }
    vec![5, rep, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]
}

fn socks_fail_then_close(stream: &mut TcpStream, rep: u8) {
    socks_greet(stream, 0);
    socks_req(stream);
    let _ = stream.write_all(&socks_reply(rep, false));
}

/// Reads an HTTP request head, then sends `reply` (plus `extra`) and
/// closes after `hold_ms`.
fn http_reply(stream: &mut TcpStream, reply: &[u8], extra: &[u8], hold_ms: u64) {
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let chunk = recv(stream, 4096);
        if chunk.is_empty() {
            return;
        }
        head.extend_from_slice(&chunk);
    }
    let mut out = reply.to_vec();
    out.extend_from_slice(extra);
    let _ = stream.write_all(&out);
    hold(hold_ms);
}

/// What a proxied connect starts with.
pub struct Setup {
    /// The proxy type.
    pub proxy_type: ProxyType,
    /// Credentials on the proxy, if any.
    pub credentials: Option<(&'static str, &'static str)>,
    /// The target host (a literal or a name).
    pub host: &'static str,
    /// The target port.
    pub port: u16,
}

impl Setup {
    fn new(proxy_type: ProxyType) -> Setup {
        Setup {
            proxy_type,
            credentials: None,
            host: "127.0.0.1",
            port: 9,
        }
    }
}

/// The oracle's `proxied_connect`: a socket through a scripted proxy
/// connects to the target, the loop runs until `Unconnected` and 100 ms
/// more, and the trace, final state, error, data received and the number
/// of proxy connections are the outcome.
pub fn proxied_connect(name: &'static str, script: Script, setup: Setup) -> Outcome {
    let proxy = FakeProxy::start(script);
    let mut settings = NetworkProxy::new(setup.proxy_type, "127.0.0.1", proxy.port);
    if let Some((user, password)) = setup.credentials {
        settings.set_user(user);
        settings.set_password(password);
    }
    let socket = TcpSocket::new();
    let trace = Trace::new();
    let _rec = SocketRecorder::attach(&socket, &trace, Record::default());
    socket.set_proxy(settings);
    let got = Rc::new(RefCell::new(Vec::new()));
    let sink = got.clone();
    let _data = socket.ready_read().connect_to(&socket, move |s, _| {
        sink.borrow_mut().extend(s.read_all().unwrap_or_default());
    });
    socket.connect_to_host(setup.host, setup.port);
    trace.mark_return();
    run_until("Unconnected", WAIT, || {
        socket.state() == SocketState::Unconnected
    });
    run_for(Duration::from_millis(100));
    let data = got.borrow().clone();
    let outcome = Outcome::new(name, &trace)
        .extra("final_state", socket.state().qt_name())
        .extra("error", socket.error().qt_name())
        .extra("data", py_bytes(&data))
        .extra("proxy_connections", proxy.connections())
        .fact("error_string", socket.error_string());
    socket.abort();
    outcome
}

/// `socks5_proxy_port_closed` and `http_proxy_port_closed`: nobody
/// listens on the proxy's port.
pub fn proxy_port_closed(name: &'static str, proxy_type: ProxyType) -> Outcome {
    let port = free_port();
    let socket = TcpSocket::new();
    let trace = Trace::new();
    let _rec = SocketRecorder::attach(&socket, &trace, Record::default());
    socket.set_proxy(NetworkProxy::new(proxy_type, "127.0.0.1", port));
    socket.connect_to_host("127.0.0.1", 9);
    trace.mark_return();
    run_until("Unconnected", WAIT, || {
        socket.state() == SocketState::Unconnected
    });
    Outcome::new(name, &trace)
        .extra("error", socket.error().qt_name())
        .fact("error_string", socket.error_string())
}

fn socks(name: &'static str, script: Script) -> Outcome {
    proxied_connect(name, script, Setup::new(ProxyType::Socks5))
}

fn http(name: &'static str, script: Script) -> Outcome {
    proxied_connect(name, script, Setup::new(ProxyType::Http))
}

/// Every proxy scenario, in the order of Qt's oracle file.
pub fn proxy() -> Vec<Scenario> {
    let plain = |name, run| Scenario {
        name,
        isolation: Isolation::None,
        run,
    };
    vec![
        plain("socks5_rep_1_ip_target_then_close", || {
            socks("socks5_rep_1_ip_target_then_close", |s| {
                socks_fail_then_close(s, 1)
            })
        }),
        plain("socks5_rep_2_ip_target_then_close", || {
            socks("socks5_rep_2_ip_target_then_close", |s| {
                socks_fail_then_close(s, 2)
            })
        }),
        plain("socks5_rep_3_ip_target_then_close", || {
            socks("socks5_rep_3_ip_target_then_close", |s| {
                socks_fail_then_close(s, 3)
            })
        }),
        plain("socks5_rep_4_ip_target_then_close", || {
            socks("socks5_rep_4_ip_target_then_close", |s| {
                socks_fail_then_close(s, 4)
            })
        }),
        plain("socks5_rep_5_ip_target_then_close", || {
            socks("socks5_rep_5_ip_target_then_close", |s| {
                socks_fail_then_close(s, 5)
            })
        }),
        plain("socks5_rep_6_ip_target_then_close", || {
            socks("socks5_rep_6_ip_target_then_close", |s| {
                socks_fail_then_close(s, 6)
            })
        }),
        plain("socks5_rep_7_ip_target_then_close", || {
            socks("socks5_rep_7_ip_target_then_close", |s| {
                socks_fail_then_close(s, 7)
            })
        }),
        plain("socks5_rep_8_ip_target_then_close", || {
            socks("socks5_rep_8_ip_target_then_close", |s| {
                socks_fail_then_close(s, 8)
            })
        }),
        plain("socks5_rep_9_ip_target_then_close", || {
            socks("socks5_rep_9_ip_target_then_close", |s| {
                socks_fail_then_close(s, 9)
            })
        }),
        plain("socks5_rep_5_ip_target_held_open_300ms", || {
            socks("socks5_rep_5_ip_target_held_open_300ms", |s| {
                socks_fail_then_close(s, 5);
                hold(300);
            })
        }),
        plain("socks5_rep_1_hostname_target", || {
            let setup = Setup {
                host: "some.name.test",
                port: 80,
                ..Setup::new(ProxyType::Socks5)
            };
            proxied_connect(
                "socks5_rep_1_hostname_target",
                |s| socks_fail_then_close(s, 1),
                setup,
            )
        }),
        plain("socks5_success_domain_bnd_and_early_data", || {
            socks("socks5_success_domain_bnd_and_early_data", |s| {
                socks_greet(s, 0);
                socks_req(s);
                // The reply and application data in one segment.
                let mut out = socks_reply(0, true);
                out.extend_from_slice(b"EARLY-DATA");
                let _ = s.write_all(&out);
                hold(500);
            })
        }),
        plain("socks5_reply_split_bytewise", || {
            socks("socks5_reply_split_bytewise", |s| {
                socks_greet(s, 0);
                socks_req(s);
                let mut out = socks_reply(0, false);
                out.push(b'X');
                for byte in out {
                    let _ = s.write_all(&[byte]);
                    hold(20);
                }
                hold(300);
            })
        }),
        plain("socks5_garbage_version", || {
            socks("socks5_garbage_version", |s| {
                let _ = recv(s, 262);
                let _ = s.write_all(b"\x04\x00");
                hold(300);
            })
        }),
        plain("socks5_close_after_greeting", || {
            socks("socks5_close_after_greeting", |s| {
                let _ = recv(s, 262);
            })
        }),
        plain("socks5_http_instead", || {
            socks("socks5_http_instead", |s| {
                let _ = recv(s, 262);
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
                hold(300);
            })
        }),
        plain("socks5_bad_rsv_in_reply", || {
            socks("socks5_bad_rsv_in_reply", |s| {
                socks_greet(s, 0);
                socks_req(s);
                let _ = s.write_all(b"\x05\x00\x01\x01\x7f\x00\x00\x01\x00\x50");
                hold(300);
            })
        }),
        plain("socks5_bad_atyp_in_reply", || {
            socks("socks5_bad_atyp_in_reply", |s| {
                socks_greet(s, 0);
                socks_req(s);
                let _ = s.write_all(b"\x05\x00\x00\x07\x7f\x00\x00\x01\x00\x50");
                hold(300);
            })
        }),
        plain("socks5_no_acceptable_method_no_creds", || {
            socks("socks5_no_acceptable_method_no_creds", |s| {
                socks_greet(s, 0xff);
                hold(300);
            })
        }),
        plain("socks5_auth_rejected", || {
            let setup = Setup {
                credentials: Some(("u", "wrong")),
                ..Setup::new(ProxyType::Socks5)
            };
            proxied_connect(
                "socks5_auth_rejected",
                |s| {
                    socks_greet(s, 2);
                    let _ = recv(s, 515);
                    let _ = s.write_all(b"\x01\x01");
                    hold(300);
                },
                setup,
            )
        }),
        plain("socks5_server_picks_gssapi", || {
            socks("socks5_server_picks_gssapi", |s| {
                socks_greet(s, 1);
                hold(300);
            })
        }),
        plain("socks5_proxy_port_closed", || {
            proxy_port_closed("socks5_proxy_port_closed", ProxyType::Socks5)
        }),
        plain("http_proxy_port_closed", || {
            proxy_port_closed("http_proxy_port_closed", ProxyType::Http)
        }),
        plain("http_200_http10_with_early_data", || {
            http("http_200_http10_with_early_data", |s| {
                http_reply(
                    s,
                    b"HTTP/1.0 200 Connection established\r\n\r\n",
                    b"EARLY-DATA",
                    300,
                )
            })
        }),
        plain("http_403", || {
            http("http_403", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_404", || {
            http("http_404", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_405", || {
            http("http_405", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_500_tinyproxy_style", || {
            http("http_500_tinyproxy_style", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 500 Unable to connect\r\nConnection: close\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_502", || {
            http("http_502", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_503_squid_refused", || {
            http("http_503_squid_refused", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_401_tinyproxy_badpw", || {
            http("http_401_tinyproxy_badpw", |s| {
                http_reply(
                    s,
                    b"HTTP/1.0 401 Unauthorized\r\nConnection: close\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_407_no_challenge", || {
            http("http_407_no_challenge", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_407_basic_no_creds", || {
            http("http_407_basic_no_creds", |s| {
                http_reply(
                    s,
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"x\"\r\nProxy-Connection: close\r\n\r\n",
                    b"",
                    300,
                )
            })
        }),
        plain("http_garbage_not_http", || {
            http("http_garbage_not_http", |s| {
                http_reply(s, b"SSH-2.0-OpenSSH_9.2\r\n\r\n", b"", 300)
            })
        }),
        plain("http_close_before_reply", || {
            http("http_close_before_reply", |s| http_reply(s, b"", b"", 0))
        }),
    ]
}
