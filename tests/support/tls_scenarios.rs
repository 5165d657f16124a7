//! The TLS scenarios of the Qt oracle (`qt_oracle.py`'s `tls_cases`),
//! re-enacted with our `SslSocket`: the same client calls, a peer that
//! behaves as the oracle's did, the same lines recorded (the oracle's
//! `attach` plus `encrypted <protocol>` and `sslErrors [...]`).
//!
//! The oracle's TLS peer (Python's `ssl` module) sent "hello over tls"
//! and closed the TCP connection 0.5 s later without close_notify; ours
//! is an `SslServer` on its own thread's loop that does the same (an
//! `abort` sends no close_notify). The two failing peers are plain TCP.
//! The PKI is made at test time ([`super::certs`]) with the same roles as
//! the oracle's `gen-certs.sh` set.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{HostAddress, SocketState};
use sigloop::ssl::{SslCertificate, SslConfiguration, SslServer, SslSocket};
use sigloop::{Timer, TimerType};

use super::certs::Pki;
use super::recorder::{py_bytes, Record, SocketRecorder, Trace};
use super::scenarios::{run_until, serve_once, Outcome, WAIT};

/// How long the oracle's TLS peer held the connection after its hello.
const HOLD: Duration = Duration::from_millis(500);

/// A TLS peer on its own thread: an `SslServer` with `config` that sends
/// "hello over tls" to its first client once encrypted and aborts
/// [`HOLD`] later; it stops when that client is gone. Returns the port.
pub fn tls_peer(config: SslConfiguration) -> u16 {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let server = SslServer::new();
        server.set_ssl_configuration(config);
        server
            .listen(&"127.0.0.1".parse::<HostAddress>().unwrap(), 0)
            .expect("listen on loopback");
        tx.send(server.server_port()).expect("send the port");
        let done = Rc::new(Cell::new(false));
        let held: Rc<RefCell<Option<(SslSocket, Timer)>>> = Rc::new(RefCell::new(None));
        let h = held.clone();
        let _ = server
            .pending_connection_available()
            .connect_to(&server, move |server, _| {
                let Some(socket) = server.next_pending_connection() else {
                    return;
                };
                socket.write(b"hello over tls").expect("write the hello");
                let timer = Timer::new();
                timer.set_single_shot(true);
                timer.set_timer_type(TimerType::Precise);
                let s = socket.clone();
                let _ = timer.timeout().connect(move |_| s.abort());
                timer.start_with(HOLD);
                *h.borrow_mut() = Some((socket, timer));
            });
        // A client that rejects us goes away during the handshake.
        let d = done.clone();
        let _ = server.error_occurred().connect(move |_| d.set(true));
        run_until("the TLS peer's client to go", WAIT, || {
            done.get()
                || held
                    .borrow()
                    .as_ref()
                    .is_some_and(|(s, _)| s.state() == SocketState::Unconnected)
        });
    });
    rx.recv_timeout(WAIT).expect("the TLS peer's port")
}

/// The oracle's `tls_connect`: an `SslSocket` trusting `ca` connects
/// encrypted to `localhost`, optionally ignoring errors from the
/// `ssl_errors` slot; the loop runs until it is unconnected.
pub fn tls_connect(name: &'static str, port: u16, ca: SslCertificate, ignore: bool) -> Outcome {
    let socket = SslSocket::new();
    let trace = Trace::new();
    let recorder = SocketRecorder::attach(&socket, &trace, Record::default());
    let t = trace.clone();
    let _e = socket.encrypted().connect_to(&socket, move |s, _| {
        t.push(format!("encrypted {}", s.session_protocol().qt_name()))
    });
    let t = trace.clone();
    let _s = socket.ssl_errors().connect(move |errors| {
        let names: Vec<String> = errors
            .iter()
            .map(|e| format!("'{:?}'", e.error()))
            .collect();
        t.push(format!("sslErrors [{}]", names.join(", ")))
    });
    let mut config = SslConfiguration::default_configuration();
    config.set_ca_certificates(vec![ca]);
    socket.set_ssl_configuration(config);
    if ignore {
        let _i = socket
            .ssl_errors()
            .connect_to(&socket, |s, _| s.ignore_ssl_errors());
    }
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let _r = socket.ready_read().connect_to(&socket, move |s, _| {
        g.borrow_mut().extend(s.read_all().unwrap_or_default())
    });
    socket.connect_to_host_encrypted("localhost", port);
    run_until("the TLS client to be unconnected", WAIT, || {
        socket.state() == SocketState::Unconnected
    });
    drop(recorder);
    let data = got.borrow().clone();
    let outcome = Outcome::new(name, &trace)
        .extra("final_state", socket.state().qt_name())
        .extra("error", socket.error().qt_name())
        .extra("data", py_bytes(&data))
        .fact("error_string", socket.error_string());
    socket.abort();
    outcome
}

/// A plain TCP peer for the two failing scenarios: reads the ClientHello,
/// then replies `reply` (and holds 0.3 s, as the oracle's did) or closes.
fn plain_peer(reply: Option<&'static [u8]>) -> u16 {
    let peer = serve_once(move |mut stream| {
        let mut hello = [0u8; 4096];
        let _ = stream.read(&mut hello);
        if let Some(reply) = reply {
            let _ = stream.write_all(reply);
            // Why a sleep: the oracle's peer held the connection open
            // 0.3 s after its reply; the client must fail on the reply,
            // not on the close.
            thread::sleep(Duration::from_millis(300));
        }
    });
    peer.port
}

/// One scenario: its oracle name and how to run it.
pub struct Scenario {
    pub name: &'static str,
    pub run: fn() -> Outcome,
}

fn ok() -> Outcome {
    let pki = Pki::new();
    let port = tls_peer(super::tls::chain_config(
        &pki,
        &pki.server_chain.pem,
        &pki.server,
    ));
    tls_connect("tls_ok", port, pki.ca.certificate(), false)
}

fn rejected(name: &'static str, pick: fn(&Pki) -> &super::certs::Issued) -> Outcome {
    let pki = Pki::new();
    let port = tls_peer(super::tls::server_config(&pki, pick(&pki)));
    tls_connect(name, port, pki.ca.certificate(), false)
}

fn wrong_host() -> Outcome {
    rejected("tls_wrong_host", |p| &p.wronghost)
}

fn expired() -> Outcome {
    rejected("tls_expired", |p| &p.expired)
}

fn not_yet_valid() -> Outcome {
    rejected("tls_not_yet_valid", |p| &p.notyet)
}

fn self_signed() -> Outcome {
    rejected("tls_self_signed", |p| &p.selfsigned)
}

fn untrusted_ca() -> Outcome {
    let pki = Pki::new();
    let port = tls_peer(super::tls::chain_config(
        &pki,
        &pki.server_chain.pem,
        &pki.server,
    ));
    tls_connect("tls_untrusted_ca", port, pki.other_ca.certificate(), false)
}

fn wrong_host_ignored() -> Outcome {
    let pki = Pki::new();
    let port = tls_peer(super::tls::server_config(&pki, &pki.wronghost));
    tls_connect("tls_wrong_host_ignored", port, pki.ca.certificate(), true)
}

fn server_speaks_plain_http() -> Outcome {
    let pki = Pki::new();
    let port = plain_peer(Some(b"HTTP/1.1 400 Bad Request\r\n\r\n"));
    tls_connect(
        "tls_server_speaks_plain_http",
        port,
        pki.ca.certificate(),
        false,
    )
}

fn server_closes_mid_handshake() -> Outcome {
    let pki = Pki::new();
    let port = plain_peer(None);
    tls_connect(
        "tls_server_closes_mid_handshake",
        port,
        pki.ca.certificate(),
        false,
    )
}

/// The scenarios, in the order of Qt's oracle file.
pub fn tls() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "tls_ok",
            run: ok,
        },
        Scenario {
            name: "tls_wrong_host",
            run: wrong_host,
        },
        Scenario {
            name: "tls_expired",
            run: expired,
        },
        Scenario {
            name: "tls_not_yet_valid",
            run: not_yet_valid,
        },
        Scenario {
            name: "tls_self_signed",
            run: self_signed,
        },
        Scenario {
            name: "tls_untrusted_ca",
            run: untrusted_ca,
        },
        Scenario {
            name: "tls_wrong_host_ignored",
            run: wrong_host_ignored,
        },
        Scenario {
            name: "tls_server_speaks_plain_http",
            run: server_speaks_plain_http,
        },
        Scenario {
            name: "tls_server_closes_mid_handshake",
            run: server_closes_mid_handshake,
        },
    ]
}
