//! Write back-pressure: `set_write_buffer_water_marks` and its two
//! signals, `high_water_reached` and `low_water_reached` (no Qt
//! counterpart; Qt's write buffer grows without limit).
//!
//! Loopback only. The far end is a plain std socket read by a helper
//! thread (or not read at all, to keep the buffer full); the test thread
//! runs the loop until a condition holds.

mod support;

use std::cell::RefCell;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::thread::JoinHandle;

use sigloop::core::IoDevice;
use sigloop::{SocketState, TcpSocket};
use support::waits::{counter, run_until, settle};

const LOW: usize = 64 * 1024;
const HIGH: usize = 256 * 1024;
const MIB: usize = 1 << 20;

/// What the socket said, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    High(u64),
    Low(u64),
    Written,
    /// Marks a point in the test's own sequence.
    Step,
}

fn record(socket: &TcpSocket) -> Rc<RefCell<Vec<Event>>> {
    let events = Rc::new(RefCell::new(Vec::new()));
    let e = events.clone();
    let _ = socket
        .high_water_reached()
        .connect(move |n| e.borrow_mut().push(Event::High(*n)));
    let e = events.clone();
    let _ = socket
        .low_water_reached()
        .connect(move |n| e.borrow_mut().push(Event::Low(*n)));
    let e = events.clone();
    let _ = socket
        .bytes_written()
        .connect(move |_| e.borrow_mut().push(Event::Written));
    events
}

/// A socket connecting to a loopback listener, and the listener.
fn connecting() -> (TcpSocket, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let socket = TcpSocket::new();
    socket.connect_to_host("127.0.0.1", listener.local_addr().unwrap().port());
    (socket, listener)
}

/// Accepts the connection and reads everything until the end of the
/// stream on a thread; the thread returns the count.
fn drain(listener: &TcpListener) -> JoinHandle<usize> {
    let (mut peer, _) = listener.accept().unwrap();
    std::thread::spawn(move || {
        let mut total = 0;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match peer.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
}

/// The events after the last `Step`, with the `Written` runs kept.
fn since_step(events: &RefCell<Vec<Event>>) -> Vec<Event> {
    let events = events.borrow();
    let start = events
        .iter()
        .rposition(|e| *e == Event::Step)
        .map_or(0, |i| i + 1);
    events[start..].to_vec()
}

fn step(events: &RefCell<Vec<Event>>) {
    events.borrow_mut().push(Event::Step);
}

#[test]
fn high_from_inside_write_then_low_after_the_draining_bytes_written() {
    let (socket, listener) = connecting();
    socket.set_write_buffer_water_marks(LOW, HIGH);
    let events = record(&socket);
    socket.write(&vec![1u8; HIGH]).unwrap();
    assert!(
        events.borrow().is_empty(),
        "at the high mark is not above it"
    );
    socket.write(&[2u8]).unwrap();
    // From inside the write that crossed: the writer can stop at once.
    assert_eq!(*events.borrow(), [Event::High(HIGH as u64 + 1)]);
    let reader = drain(&listener);
    step(&events);
    run_until("the buffer to drain", || socket.bytes_to_write() == 0);
    let after = since_step(&events);
    let low_at = after
        .iter()
        .position(|e| matches!(e, Event::Low(_)))
        .expect("low_water_reached");
    assert!(
        low_at > 0 && after[low_at - 1] == Event::Written,
        "{after:?}"
    );
    match after[low_at] {
        Event::Low(left) => assert!(left <= LOW as u64, "{left} left"),
        _ => unreachable!(),
    }
    assert_eq!(
        after
            .iter()
            .filter(|e| !matches!(e, Event::Written))
            .count(),
        1,
        "one low_water_reached, nothing else: {after:?}"
    );
    socket.disconnect_from_host();
    run_until("the close", || socket.state() == SocketState::Unconnected);
    assert_eq!(reader.join().unwrap(), HIGH + 1);
}

#[test]
fn marks_crossed_again_and_again_signal_each_time() {
    let (socket, listener) = connecting();
    socket.set_write_buffer_water_marks(LOW, HIGH);
    let events = record(&socket);
    let reader = drain(&listener);
    run_until("connected", || socket.state() == SocketState::Connected);
    for round in 0..5 {
        step(&events);
        socket.write(&vec![round as u8; MIB]).unwrap();
        assert_eq!(
            since_step(&events),
            [Event::High(MIB as u64)],
            "round {round}"
        );
        run_until("the buffer to drain", || socket.bytes_to_write() == 0);
        let lows = since_step(&events)
            .into_iter()
            .filter(|e| matches!(e, Event::Low(_)))
            .count();
        assert_eq!(lows, 1, "round {round}");
    }
    socket.disconnect_from_host();
    run_until("the close", || socket.state() == SocketState::Unconnected);
    assert_eq!(reader.join().unwrap(), 5 * MIB);
}

#[test]
fn no_signal_without_marks() {
    let (socket, listener) = connecting();
    let high = counter(socket.high_water_reached());
    let low = counter(socket.low_water_reached());
    let reader = drain(&listener);
    for _ in 0..3 {
        socket.write(&vec![7u8; MIB]).unwrap();
        run_until("the buffer to drain", || socket.bytes_to_write() == 0);
    }
    assert_eq!(socket.write_buffer_water_marks(), None);
    assert_eq!((high.get(), low.get()), (0, 0));
    socket.disconnect_from_host();
    run_until("the close", || socket.state() == SocketState::Unconnected);
    assert_eq!(reader.join().unwrap(), 3 * MIB);
}

#[test]
fn changing_marks_while_above_high_announces_the_new_crossing() {
    // Still connecting: everything written stays in the buffer.
    let (socket, _listener) = connecting();
    let events = record(&socket);
    socket.set_write_buffer_water_marks(LOW, HIGH);
    socket.write(&vec![0u8; MIB]).unwrap();
    assert_eq!(since_step(&events), [Event::High(MIB as u64)]);
    // A lower high mark: still above, nothing new.
    step(&events);
    socket.set_write_buffer_water_marks(0, 1);
    assert_eq!(since_step(&events), []);
    // A low mark above what waits: drained as far as the marks go.
    step(&events);
    socket.set_write_buffer_water_marks(2 * MIB, 4 * MIB);
    assert_eq!(since_step(&events), [Event::Low(MIB as u64)]);
    // Between the marks: nothing either way.
    step(&events);
    socket.set_write_buffer_water_marks(MIB / 2, 2 * MIB);
    assert_eq!(since_step(&events), []);
    // A high mark below what waits: above again, from this call.
    step(&events);
    socket.set_write_buffer_water_marks(0, MIB / 2);
    assert_eq!(since_step(&events), [Event::High(MIB as u64)]);
    // Removing the marks releases a paused source.
    step(&events);
    socket.clear_write_buffer_water_marks();
    assert_eq!(since_step(&events), [Event::Low(MIB as u64)]);
    assert_eq!(socket.write_buffer_water_marks(), None);
    step(&events);
    socket.write(&vec![0u8; MIB]).unwrap();
    assert_eq!(since_step(&events), []);
    socket.abort();
}

#[test]
fn extreme_marks_are_ordinary_arguments() {
    let (socket, listener) = connecting();
    let events = record(&socket);
    socket.set_write_buffer_water_marks(usize::MAX, usize::MAX);
    assert_eq!(
        socket.write_buffer_water_marks(),
        Some((usize::MAX, usize::MAX))
    );
    socket.write(&vec![0u8; MIB]).unwrap();
    socket.set_write_buffer_water_marks(usize::MAX, 0);
    // Low capped at high: (0, 0) is "something waits" / "all sent".
    assert_eq!(socket.write_buffer_water_marks(), Some((0, 0)));
    assert_eq!(since_step(&events), [Event::High(MIB as u64)]);
    let reader = drain(&listener);
    step(&events);
    run_until("low_water_reached", || {
        since_step(&events).contains(&Event::Low(0))
    });
    assert_eq!(socket.bytes_to_write(), 0);
    socket.set_write_buffer_water_marks(0, usize::MAX);
    step(&events);
    socket.write(&[1u8]).unwrap();
    run_until("the buffer to drain", || socket.bytes_to_write() == 0);
    settle(std::time::Duration::from_millis(50));
    assert!(
        !since_step(&events)
            .iter()
            .any(|e| matches!(e, Event::High(_) | Event::Low(_))),
        "usize::MAX as high never crosses"
    );
    socket.disconnect_from_host();
    run_until("the close", || socket.state() == SocketState::Unconnected);
    assert_eq!(reader.join().unwrap(), MIB + 1);
}

#[test]
fn abort_resets_the_marks_silently_and_the_next_connection_crosses_again() {
    let (socket, _listener) = connecting();
    socket.set_write_buffer_water_marks(LOW, HIGH);
    let events = record(&socket);
    socket.write(&vec![0u8; MIB]).unwrap();
    assert_eq!(since_step(&events), [Event::High(MIB as u64)]);
    step(&events);
    socket.abort();
    assert_eq!(socket.bytes_to_write(), 0);
    assert_eq!(since_step(&events), [], "abort drops the buffer silently");
    let (listener, port) = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    };
    socket.connect_to_host("127.0.0.1", port);
    socket.write(&vec![0u8; MIB]).unwrap();
    assert_eq!(since_step(&events), [Event::High(MIB as u64)]);
    let reader = drain(&listener);
    run_until("the buffer to drain", || socket.bytes_to_write() == 0);
    assert_eq!(
        since_step(&events)
            .iter()
            .filter(|e| matches!(e, Event::Low(_)))
            .count(),
        1
    );
    socket.disconnect_from_host();
    run_until("the close", || socket.state() == SocketState::Unconnected);
    assert_eq!(reader.join().unwrap(), MIB);
}

/// A slot may write, stop or change the marks: no borrow is held while the
/// signals run.
#[test]
fn slots_may_use_the_socket() {
    let (socket, listener) = connecting();
    socket.set_write_buffer_water_marks(LOW, HIGH);
    let _c = socket.high_water_reached().connect_to(&socket, |s, _| {
        s.write(b"tail").unwrap();
        s.set_write_buffer_water_marks(LOW, HIGH);
    });
    let lows = counter(socket.low_water_reached());
    let _d = socket
        .low_water_reached()
        .connect_to(&socket, |s, _| s.disconnect_from_host());
    socket.write(&vec![0u8; MIB]).unwrap();
    assert_eq!(socket.bytes_to_write(), MIB + 4);
    let reader = drain(&listener);
    run_until("the close", || socket.state() == SocketState::Unconnected);
    assert_eq!(lows.get(), 1);
    assert_eq!(reader.join().unwrap(), MIB + 4);
}

/// A peer that never reads leaves the socket above the mark: flushes
/// that leave more than the low mark waiting emit nothing.
#[test]
fn an_unread_peer_keeps_the_socket_above() {
    let (socket, listener) = connecting();
    socket.set_write_buffer_water_marks(LOW, HIGH);
    let lows = counter(socket.low_water_reached());
    let (_peer, _): (TcpStream, _) = listener.accept().unwrap();
    run_until("connected", || socket.state() == SocketState::Connected);
    // Far more than the kernel's buffers hold on loopback.
    socket.write(&vec![0u8; 64 * MIB]).unwrap();
    run_until("the kernel to stop taking", || {
        socket.bytes_to_write() < 64 * MIB && !socket.flush()
    });
    settle(std::time::Duration::from_millis(100));
    assert!(socket.bytes_to_write() > LOW);
    assert_eq!(lows.get(), 0);
    socket.abort();
}

/// A `UdpSocket` sends each datagram at once and buffers nothing: its
/// marks never cross.
#[test]
fn a_udp_socket_never_crosses_its_marks() {
    use sigloop::UdpSocket;
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(support::waits::DEADLINE))
        .unwrap();
    let socket = UdpSocket::new();
    socket.set_write_buffer_water_marks(0, 0);
    let high = counter(socket.high_water_reached());
    let low = counter(socket.low_water_reached());
    socket.connect_to_host("127.0.0.1", peer.local_addr().unwrap().port());
    assert_eq!(socket.state(), SocketState::Connected);
    for _ in 0..10 {
        assert_eq!(socket.write(&[9u8; 1000]).unwrap(), 1000);
    }
    let mut buf = [0u8; 2000];
    assert_eq!(peer.recv(&mut buf).unwrap(), 1000);
    settle(std::time::Duration::from_millis(50));
    assert_eq!((high.get(), low.get()), (0, 0));
}

#[test]
fn an_ssl_socket_crosses_its_marks_through_the_tls_layer() {
    use std::cell::Cell;
    use support::certs::Pki;
    use support::tls::{client_config, server_config, TestServer};

    const TOTAL: usize = 1 << 20;
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let client = sigloop::ssl::SslSocket::new();
    client.set_ssl_configuration(client_config(&pki));
    client.set_write_buffer_water_marks(LOW, HIGH);
    let (highs, lows) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let h = highs.clone();
    let _ = client
        .high_water_reached()
        .connect(move |_| h.set(h.get() + 1));
    let l = lows.clone();
    let _ = client
        .low_water_reached()
        .connect(move |_| l.set(l.get() + 1));
    client.connect_to_host_encrypted("localhost", server.port());
    // Plaintext written before `encrypted` waits in the write buffer.
    client.write(&vec![7u8; TOTAL]).unwrap();
    assert_eq!(highs.get(), 1, "high from inside the write");
    run_until("drained through TLS below the low mark", || lows.get() == 1);
    run_until("the server read everything", || {
        server
            .first()
            .is_some_and(|socket| socket.bytes_available() == TOTAL)
    });
    assert_eq!((highs.get(), lows.get()), (1, 1));
}
