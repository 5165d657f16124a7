//! `TcpSocket` through real proxies (microsocks, dante, tinyproxy, squid,
//! started on 127.0.0.1 by `.ci/proxies.sh`, found through
//! `SIGLOOP_PROXY_*`) with a real Qt on the other side, in two ways:
//!
//! - to a PySide6 echo peer (`tests/interop/peers/echo_peer.py`, a
//!   `QTcpServer`): 16 MiB through each proxy, every byte checked on the
//!   way back, and the peer's own count of what it echoed;
//! - next to a PySide6 client (`tests/interop/peers/proxy_trace_client.py`,
//!   a `QTcpSocket` with a `QNetworkProxy`): the same scenario through the
//!   same proxy, run by Qt and by sigloop, the signal traces compared line
//!   for line (the format of `tests/support/recorder.rs`, times stripped).
//!
//! The traces record what a user connecting a slot would see: every
//! `stateChanged`, `hostFound`, `connected`, `proxyAuthenticationRequired`,
//! `errorOccurred` with its error and text, `readChannelFinished`, and
//! `disconnected`. `readyRead` and `bytesWritten` are left out: how a
//! transfer splits into them depends on how the kernel and the proxy
//! split the stream, not on the socket, so two runs of Qt itself differ;
//! the bytes are checked instead (all back, all equal).
//!
//! Without the peers (plain `cargo test`) each test says it did not run;
//! `bash .ci/proxies.sh cargo test --test proxy_qt_peer` with
//! `SIGLOOP_REQUIRE_PEERS=1` requires them. Loopback only: every proxy
//! listens on and connects from 127.0.0.1, and every target is on
//! 127.0.0.1. Every wait has a deadline, and each Qt peer has a watchdog
//! of its own.

mod support;

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::net::{NetworkProxy, ProxyType, SocketState, TcpSocket};
use sigloop::{EventDispatcher, ProcessEventsFlags};
use support::peers;
use support::recorder::{diff, Record, SocketRecorder, Trace};
use support::scenarios::free_port;
use support::waits::run_until_within;

const USER: &str = "qsockstest";
const PASSWORD: &str = "password";

/// 16 MiB through each proxy to the Qt echo peer.
const BIG: usize = 16 << 20;
/// What the traced scenario sends once connected: enough for several
/// reads, small enough for two runs per proxy.
const TRACED: usize = 1 << 20;
/// The longest a transfer or a connect may take.
const DEADLINE: Duration = Duration::from_secs(90);
/// The longest a Qt peer may take to print a line.
const STEP: Duration = Duration::from_secs(60);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The pattern both sides send: 0, 1, …, 250 repeated (a prime period,
/// so a lost or repeated run of bytes shows).
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A PySide6 script of `tests/interop/peers/` running as a child, its
/// stdout lines on a channel. Killed when dropped, if still running.
struct Peer {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Peer {
    fn spawn(python: &Path, script: &str, args: &[String]) -> Peer {
        let path = repo().join("tests/interop/peers").join(script);
        let mut child = Command::new(python)
            .arg(&path)
            .args(args)
            .env("QT_QPA_PLATFORM", "offscreen")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", path.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Peer {
            child,
            lines,
            stderr: Some(stderr),
        }
    }

    /// The next line, or `None` once the peer closed its stdout; fails the
    /// test after [`STEP`].
    fn next_line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(STEP) {
            Ok(line) => Some(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "the Qt peer printed nothing for {STEP:?}; stderr:\n{}",
                    self.stderr()
                )
            }
        }
    }

    /// The peer's stderr: all of it, after stopping the peer.
    fn stderr(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proxy_for(
    kind: ProxyType,
    address: SocketAddr,
    credentials: Option<(&str, &str)>,
) -> NetworkProxy {
    let mut proxy = NetworkProxy::new(kind, address.ip().to_string(), address.port());
    if let Some((user, password)) = credentials {
        proxy.set_user(user);
        proxy.set_password(password);
    }
    proxy
}

// ---------------------------------------------------------------------------
// 16 MiB to the Qt echo peer
// ---------------------------------------------------------------------------

/// Sends 16 MiB through the proxy to `echo_peer.py`, checks every byte
/// that comes back, closes, and checks the peer echoed exactly 16 MiB.
fn transfer_to_qt_echo_peer(
    test: &str,
    env: &str,
    kind: ProxyType,
    credentials: Option<(&str, &str)>,
) {
    let Some(python) = peers::python(test) else {
        return;
    };
    let Some(address) = peers::proxy(test, env) else {
        return;
    };
    let mut peer = Peer::spawn(
        &python,
        "echo_peer.py",
        &["--watchdog".into(), "120".into()],
    );
    let first = peer.next_line().unwrap_or_default();
    let port: u16 = first
        .strip_prefix("listening on ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("echo_peer.py said {first:?}; stderr:\n{}", peer.stderr()));

    let socket = TcpSocket::new();
    socket.set_proxy(proxy_for(kind, address, credentials));
    let sent = payload(BIG);
    let received = Rc::new(RefCell::new(Vec::with_capacity(BIG)));
    let r = received.clone();
    let _read = socket.ready_read().connect_to(&socket, move |s, _| {
        r.borrow_mut().extend(s.read_all().unwrap_or_default());
    });
    socket.connect_to_host("127.0.0.1", port);
    run_until_within("connected through the proxy or failed", DEADLINE, || {
        matches!(
            socket.state(),
            SocketState::Connected | SocketState::Unconnected
        )
    });
    assert_eq!(
        socket.state(),
        SocketState::Connected,
        "{:?}: {}",
        socket.error(),
        socket.error_string()
    );
    socket.write(&sent).expect("write 16 MiB");
    run_until_within("16 MiB back from the Qt echo peer", DEADLINE, || {
        received.borrow().len() >= BIG || socket.state() == SocketState::Unconnected
    });
    {
        let received = received.borrow();
        assert_eq!(received.len(), BIG, "bytes back; {}", socket.error_string());
        let first_difference = sent.iter().zip(received.iter()).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "the bytes came back changed");
    }
    socket.disconnect_from_host();
    run_until_within("closed", DEADLINE, || {
        socket.state() == SocketState::Unconnected
    });
    // The peer's report: the count it echoed (and the SHA-1 of it, which
    // the byte-for-byte check above already covers).
    let report = peer.next_line().unwrap_or_default();
    let count = report
        .strip_prefix("ECHOED ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(
        count,
        Some(BIG),
        "echo_peer.py said {report:?}; stderr:\n{}",
        peer.stderr()
    );
}

macro_rules! echo_peer_tests {
    ($($name:ident: $env:literal, $kind:expr, $creds:expr;)*) => {$(
        #[test]
        fn $name() {
            transfer_to_qt_echo_peer(stringify!($name), $env, $kind, $creds);
        }
    )*};
}

echo_peer_tests! {
    sixteen_mib_to_qt_echo_peer_through_microsocks: "MICROSOCKS", ProxyType::Socks5, None;
    sixteen_mib_to_qt_echo_peer_through_microsocks_with_credentials: "MICROSOCKS_AUTH", ProxyType::Socks5, Some((USER, PASSWORD));
    sixteen_mib_to_qt_echo_peer_through_dante: "DANTE", ProxyType::Socks5, None;
    sixteen_mib_to_qt_echo_peer_through_dante_with_credentials: "DANTE_AUTH", ProxyType::Socks5, Some((USER, PASSWORD));
    sixteen_mib_to_qt_echo_peer_through_tinyproxy: "TINYPROXY_AUTH", ProxyType::Http, Some((USER, PASSWORD));
    sixteen_mib_to_qt_echo_peer_through_squid: "SQUID_AUTH", ProxyType::Http, Some((USER, PASSWORD));
}

// ---------------------------------------------------------------------------
// The same scenario with Qt and with sigloop, traces compared
// ---------------------------------------------------------------------------

/// What one run of a scenario showed: the trace lines, how many bytes came
/// back and whether they equal what was sent, and the final state, error
/// and text.
#[derive(Debug, PartialEq)]
struct Outcome {
    lines: Vec<String>,
    echoed: String,
    last: String,
}

/// Where the scenario connects to.
enum Target {
    /// `echo_peer.py`, the Qt echo server.
    QtEcho,
    /// A port on 127.0.0.1 nothing listens on.
    Closed,
    /// A name no resolver knows (`.invalid` is reserved for that); only
    /// for squid, which resolves from `/etc/hosts` and a dead loopback DNS
    /// port, so the name never leaves the machine.
    Unresolvable,
}

/// Where the scenario connects: a peer to keep running (if any), the host
/// and the port.
fn target_of(python: &Path, target: &Target) -> (Option<Peer>, &'static str, u16) {
    match target {
        Target::Closed => (None, "127.0.0.1", free_port()),
        Target::Unresolvable => (None, "nowhere.sigloop.invalid", 7),
        Target::QtEcho => {
            let mut peer = Peer::spawn(python, "echo_peer.py", &[]);
            let first = peer.next_line().unwrap_or_default();
            let port = first
                .strip_prefix("listening on ")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or_else(|| {
                    panic!("echo_peer.py said {first:?}; stderr:\n{}", peer.stderr())
                });
            (Some(peer), "127.0.0.1", port)
        }
    }
}

/// The scenario run by Qt: `proxy_trace_client.py`'s output.
fn qt_run(
    python: &Path,
    kind: ProxyType,
    proxy: SocketAddr,
    credentials: Option<(&str, &str)>,
    target: &Target,
) -> Outcome {
    let (_echo, host, port) = target_of(python, target);
    let mut args = vec![
        match kind {
            ProxyType::Http => "http".to_owned(),
            _ => "socks5".to_owned(),
        },
        proxy.port().to_string(),
        port.to_string(),
        TRACED.to_string(),
    ];
    if let Some((user, password)) = credentials {
        args.extend([
            "--user".into(),
            user.into(),
            "--password".into(),
            password.into(),
        ]);
    }
    args.extend(["--target-host".into(), host.into()]);
    let mut peer = Peer::spawn(python, "proxy_trace_client.py", &args);
    let mut lines = Vec::new();
    let mut echoed = String::new();
    loop {
        let Some(line) = peer.next_line() else {
            panic!(
                "proxy_trace_client.py ended early; stderr:\n{}",
                peer.stderr()
            );
        };
        if let Some(trace) = line.strip_prefix("TRACE ") {
            lines.push(trace.to_owned());
        } else if let Some(e) = line.strip_prefix("ECHOED ") {
            echoed = e.to_owned();
        } else if let Some(last) = line.strip_prefix("FINAL ") {
            return Outcome {
                lines,
                echoed,
                last: last.to_owned(),
            };
        } else {
            panic!("proxy_trace_client.py said {line:?}");
        }
    }
}

/// The scenario run by sigloop, as `proxy_trace_client.py` runs it.
fn sigloop_run(
    python: &Path,
    kind: ProxyType,
    proxy: SocketAddr,
    credentials: Option<(&str, &str)>,
    target: &Target,
) -> Outcome {
    let (_echo, host, port) = target_of(python, target);
    let socket = TcpSocket::new();
    socket.set_proxy(proxy_for(kind, proxy, credentials));
    let trace = Trace::new();
    let _recorder = SocketRecorder::attach(&socket, &trace, Record::default());
    let sent = Rc::new(payload(TRACED));
    let received = Rc::new(RefCell::new(Vec::new()));
    let s = sent.clone();
    let _write = socket.connected().connect_to(&socket, move |socket, _| {
        socket.write(&s).expect("write");
    });
    let r = received.clone();
    let _read = socket.ready_read().connect_to(&socket, move |socket, _| {
        let mut r = r.borrow_mut();
        r.extend(socket.read_all().unwrap_or_default());
        if r.len() >= TRACED && socket.state() == SocketState::Connected {
            drop(r);
            socket.disconnect_from_host();
        }
    });
    socket.connect_to_host(host, port);
    run_until_within("the socket unconnected again", DEADLINE, || {
        trace.contains("stateChanged UnconnectedState")
    });
    // As the Qt client does: one more pass, for what follows in the loop.
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    let received = received.borrow();
    Outcome {
        lines: trace.lines(),
        echoed: format!(
            "{} {}",
            received.len(),
            if *received == *sent { "True" } else { "False" }
        ),
        last: format!(
            "{} {} {}",
            socket.state().qt_name(),
            socket.error().qt_name(),
            socket.error_string()
        ),
    }
}

/// Runs the scenario with Qt, then with sigloop, through the proxy at
/// `env`, and requires the same outcome; returns Qt's for the caller's
/// own checks.
fn same_as_qt(
    test: &str,
    env: &str,
    kind: ProxyType,
    credentials: Option<(&str, &str)>,
    target: Target,
) -> Option<Outcome> {
    let python = peers::python(test)?;
    let proxy = peers::proxy(test, env)?;
    let qt = qt_run(&python, kind, proxy, credentials, &target);
    let ours = sigloop_run(&python, kind, proxy, credentials, &target);
    // Shown with `--nocapture`, and on failure.
    eprintln!("{test} through {env}: Qt's trace {qt:#?}");
    assert!(
        qt == ours,
        "{test}: sigloop differs from Qt through {env}\ntrace (- only Qt's, + only ours):\n{}\
         echoed: Qt {:?}, ours {:?}\nfinal: Qt {:?}, ours {:?}",
        diff(&qt.lines, &ours.lines),
        qt.echoed,
        ours.echoed,
        qt.last,
        ours.last
    );
    Some(qt)
}

/// SOCKS5 with the right credentials: connected, 1 MiB there and back,
/// closed by the client.
#[test]
fn socks5_with_credentials_traces_like_qt() {
    for env in ["MICROSOCKS_AUTH", "DANTE_AUTH"] {
        let Some(qt) = same_as_qt(
            "socks5_with_credentials_traces_like_qt",
            env,
            ProxyType::Socks5,
            Some((USER, PASSWORD)),
            Target::QtEcho,
        ) else {
            return;
        };
        assert!(qt.lines.iter().any(|l| l == "connected"), "{qt:?}");
        assert_eq!(qt.echoed, format!("{TRACED} True"));
    }
}

/// SOCKS5 with a wrong password: `ProxyAuthenticationRequiredError`, the
/// same text, `proxyAuthenticationRequired` emitted the same number of
/// times.
#[test]
fn socks5_wrong_password_traces_like_qt() {
    for env in ["MICROSOCKS_AUTH", "DANTE_AUTH"] {
        let Some(qt) = same_as_qt(
            "socks5_wrong_password_traces_like_qt",
            env,
            ProxyType::Socks5,
            Some((USER, "wrong")),
            Target::Closed,
        ) else {
            return;
        };
        assert!(
            qt.last.contains("ProxyAuthenticationRequiredError"),
            "{qt:?}"
        );
    }
}

/// SOCKS5 to a closed target port: the proxy's refusal as Qt reports it.
#[test]
fn socks5_closed_target_traces_like_qt() {
    for env in ["MICROSOCKS", "DANTE"] {
        if same_as_qt(
            "socks5_closed_target_traces_like_qt",
            env,
            ProxyType::Socks5,
            None,
            Target::Closed,
        )
        .is_none()
        {
            return;
        }
    }
}

/// HTTP `CONNECT` without credentials: squid's and tinyproxy's 407.
#[test]
fn http_407_without_credentials_traces_like_qt() {
    for env in ["SQUID_AUTH", "TINYPROXY_AUTH"] {
        let Some(qt) = same_as_qt(
            "http_407_without_credentials_traces_like_qt",
            env,
            ProxyType::Http,
            None,
            Target::Closed,
        ) else {
            return;
        };
        assert!(
            qt.last.contains("ProxyAuthenticationRequiredError"),
            "{qt:?}"
        );
    }
}

/// HTTP `CONNECT` with credentials, and to a closed port behind squid.
#[test]
fn http_with_credentials_traces_like_qt() {
    for (env, target) in [
        ("SQUID_AUTH", Target::QtEcho),
        ("TINYPROXY_AUTH", Target::QtEcho),
        ("SQUID_AUTH", Target::Closed),
    ] {
        if same_as_qt(
            "http_with_credentials_traces_like_qt",
            env,
            ProxyType::Http,
            Some((USER, PASSWORD)),
            target,
        )
        .is_none()
        {
            return;
        }
    }
}

/// HTTP `CONNECT` with a wrong password: squid asks again (407), tinyproxy
/// answers 401, which Qt reports as a protocol error without asking.
#[test]
fn http_wrong_password_traces_like_qt() {
    for env in ["SQUID_AUTH", "TINYPROXY_AUTH"] {
        if same_as_qt(
            "http_wrong_password_traces_like_qt",
            env,
            ProxyType::Http,
            Some((USER, "wrong")),
            Target::Closed,
        )
        .is_none()
        {
            return;
        }
    }
}

/// A name squid cannot resolve: its error reply, as Qt reports it.
#[test]
fn http_unresolvable_name_traces_like_qt() {
    same_as_qt(
        "http_unresolvable_name_traces_like_qt",
        "SQUID_AUTH",
        ProxyType::Http,
        Some((USER, PASSWORD)),
        Target::Unresolvable,
    );
}
