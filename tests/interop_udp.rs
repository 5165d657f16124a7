//! Datagrams both ways between our `UdpSocket` and a real Qt `QUdpSocket`
//! (PySide6, tests/interop/peers/udp_peer.py), empty ones included: the
//! peer logs what it received and echoes each datagram back with
//! `QNetworkDatagram::makeReply()`.
//!
//! The peer runs on the project's `.venv/bin/python`; `bash .ci/run`
//! creates that venv with PySide6. Without it the tests do not run and say
//! so on stderr, unless `SIGLOOP_REQUIRE_PEERS=1` (set by `.ci/test`)
//! makes them fail (see `support::peers`). Loopback only; every wait is bounded.

mod support;

use support::hex::hex;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sigloop::net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
use sigloop::{ElapsedTimer, EventDispatcher, ProcessEventsFlags, Timer, TimerType};

const STEP: Duration = Duration::from_secs(30);

fn venv_python() -> PathBuf {
    support::peers::venv_python()
}

/// The Qt peer; killed on drop.
struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn start() -> (Peer, u16) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/peers/udp_peer.py");
        let mut child = Command::new(venv_python())
            .arg(&script)
            .env("QT_QPA_PLATFORM", "offscreen")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start the Qt peer {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let peer = Peer { child, lines };
        let first = peer.line();
        let port = first
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the Qt peer: {first:?}"));
        (peer, port)
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(STEP)
            .expect("a line from the Qt peer in time")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[track_caller]
fn run_until(what: &str, mut done: impl FnMut() -> bool) {
    let clock = ElapsedTimer::started();
    let tick = Timer::new();
    tick.set_timer_type(TimerType::Precise);
    tick.start_with(Duration::from_millis(20));
    while !done() {
        assert!(!clock.has_expired(STEP), "timed out waiting for {what}");
        EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
    }
}

#[test]
fn datagrams_both_ways_with_a_qt_peer() {
    if support::peers::python("interop_udp::datagrams_both_ways_with_a_qt_peer").is_none() {
        return;
    }
    let (peer, peer_port) = Peer::start();
    let local = HostAddress::from(SpecialAddress::LocalHost);
    let socket = UdpSocket::new();
    socket
        .bind(&local, 0, BindMode::DEFAULT_FOR_PLATFORM)
        .unwrap();
    let messages: [Vec<u8>; 5] = [
        b"hello Qt".to_vec(),
        Vec::new(),
        vec![b'x'; 1400],
        vec![0, 1, 2, 255],
        Vec::new(),
    ];
    for message in &messages {
        assert_eq!(
            socket.write_datagram(message, &local, peer_port),
            Ok(message.len())
        );
        // Qt saw exactly this datagram, from our port.
        assert_eq!(
            peer.line(),
            format!(
                "got {} {} {}",
                socket.local_port(),
                message.len(),
                hex(message)
            )
        );
        // And its echo comes back, empty ones included.
        run_until("the echo", || socket.has_pending_datagrams());
        let echo = socket.receive_datagram(None);
        assert!(echo.is_valid());
        assert_eq!(echo.data(), &message[..]);
        assert_eq!(echo.sender_address(), &local);
        assert_eq!(echo.sender_port(), Some(peer_port));
        assert_eq!(echo.destination_port(), Some(socket.local_port()));
    }
    socket.write_datagram(b"quit", &local, peer_port).unwrap();
    assert_eq!(
        peer.line(),
        format!("got {} 4 71756974", socket.local_port())
    );
}

#[test]
fn connected_socket_with_a_qt_peer() {
    if support::peers::python("interop_udp::connected_socket_with_a_qt_peer").is_none() {
        return;
    }
    let (peer, peer_port) = Peer::start();
    let socket = UdpSocket::new();
    socket.connect_to_host("127.0.0.1", peer_port);
    use sigloop::IoDevice;
    for message in [&b"one datagram"[..], b"", b"two"] {
        assert_eq!(socket.write(message), Ok(message.len()));
        assert_eq!(
            peer.line(),
            format!(
                "got {} {} {}",
                socket.local_port(),
                message.len(),
                hex(message)
            )
        );
        run_until("the echo", || socket.has_pending_datagrams());
        assert_eq!(socket.read(2000).unwrap(), message);
    }
    socket.write(b"quit").unwrap();
    assert!(peer.line().ends_with(" 4 71756974"));
}

/// The mechanism every real-peer test uses: a missing peer skips the test
/// with a notice, unless peers are required (`.ci/test`), where it fails.
#[test]
fn a_missing_peer_skips_unless_peers_are_required() {
    use support::peers::require_with;
    let mut notice = Vec::new();
    assert_eq!(
        require_with("t", "a peer", Some(7), true, &mut notice),
        Some(7)
    );
    assert_eq!(
        require_with("t", "a peer", Some(7), false, &mut notice),
        Some(7)
    );
    assert!(notice.is_empty(), "a test that runs says nothing");

    assert_eq!(
        require_with::<u8>("t", "a peer", None, false, &mut notice),
        None
    );
    let notice = String::from_utf8(notice).unwrap();
    assert!(
        notice.starts_with("SKIPPED t: NOT RUN, needs a peer"),
        "{notice}"
    );
    assert!(notice.contains("bash .ci/test"), "{notice}");

    let required =
        std::panic::catch_unwind(|| require_with::<u8>("t", "a peer", None, true, &mut Vec::new()));
    let message = required.expect_err("a required missing peer fails the test");
    let text = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(text.contains("SIGLOOP_REQUIRE_PEERS"), "{text}");
    assert!(text.contains("bash .ci/test"), "{text}");
}
