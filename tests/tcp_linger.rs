//! A deleted TCP socket still sends the bytes `write` accepted (a
//! deliberate difference from Qt, whose destructor discards them), within
//! its linger timeout.

mod support;

use support::waits::{counter, run_until, DEADLINE, WAIT};

use std::io::{ErrorKind, Read};
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sigloop::{IoDevice, SocketState, TcpSocket};

const PAYLOAD: usize = 8 * 1024 * 1024;

/// Byte `i` of the payload: a pattern that shows a lost or reordered chunk.
fn byte_at(i: usize) -> u8 {
    (i % 251) as u8
}

fn payload() -> Vec<u8> {
    (0..PAYLOAD).map(byte_at).collect()
}

/// A connected socket and its std peer.
fn connected_pair() -> (TcpSocket, StdStream) {
    let listener = StdListener::bind("127.0.0.1:0").expect("std listener");
    let socket = TcpSocket::new();
    socket.connect_to_host("127.0.0.1", listener.local_addr().unwrap().port());
    let (peer, _) = listener.accept().expect("accept");
    peer.set_read_timeout(Some(DEADLINE)).unwrap();
    assert!(socket.wait_for_connected(WAIT), "{}", socket.error_string());
    (socket, peer)
}

/// What a reading peer got: the bytes that matched the pattern, and how
/// the stream ended.
struct Received {
    matching: usize,
    total: usize,
    end: Result<(), ErrorKind>,
}

/// Reads `peer` to its end on another thread.
fn read_to_end(mut peer: StdStream) -> mpsc::Receiver<Received> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut matching) = (0usize, 0usize);
        let end = loop {
            match peer.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    for (i, b) in buf[..n].iter().enumerate() {
                        if *b == byte_at(total + i) && matching == total + i {
                            matching += 1;
                        }
                    }
                    total += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(e.kind()),
            }
        };
        let _ = tx.send(Received {
            matching,
            total,
            end,
        });
    });
    rx
}

/// Runs the loop until the reading thread is done.
fn wait_for(rx: &mpsc::Receiver<Received>) -> Received {
    let mut got = None;
    run_until("the peer to reach the end of the stream", || {
        got = rx.try_recv().ok();
        got.is_some()
    });
    got.unwrap()
}

#[test]
fn dropping_a_closing_socket_still_delivers_every_queued_byte_then_eof() {
    let (socket, peer) = connected_pair();
    socket.write(&payload()).unwrap();
    socket.disconnect_from_host();
    assert_eq!(socket.state(), SocketState::Closing);
    assert!(socket.bytes_to_write() > 0, "the data must still be queued");
    let destroyed = counter(socket.destroyed());
    let disconnected = counter(socket.disconnected());
    let weak = socket.downgrade();

    let rx = read_to_end(peer);
    drop(socket);
    // To the application the socket is gone, as after Qt's delete.
    assert_eq!(destroyed.get(), 1);
    assert_eq!(disconnected.get(), 1);
    assert!(weak.upgrade().is_none());

    let got = wait_for(&rx);
    assert_eq!(got.end, Ok(()), "the stream ends with a normal EOF");
    assert_eq!(got.total, PAYLOAD);
    assert_eq!(got.matching, PAYLOAD, "every byte in order");
}

#[test]
fn dropping_a_connected_socket_delivers_its_queued_bytes_then_eof() {
    let (socket, peer) = connected_pair();
    socket.write(&payload()).unwrap();
    assert!(socket.bytes_to_write() > 0, "the data must still be queued");
    let rx = read_to_end(peer);
    drop(socket);
    let got = wait_for(&rx);
    assert_eq!(got.end, Ok(()));
    assert_eq!(got.total, PAYLOAD);
    assert_eq!(got.matching, PAYLOAD);
}

#[test]
fn delete_later_also_delivers_the_queued_bytes() {
    let (socket, peer) = connected_pair();
    socket.write(&payload()).unwrap();
    socket.disconnect_from_host();
    socket.delete_later();
    drop(socket);
    let got = wait_for(&read_to_end(peer));
    assert_eq!(got.end, Ok(()));
    assert_eq!(got.matching, PAYLOAD);
}

#[test]
fn a_zero_linger_timeout_discards_the_queued_bytes_as_qt_does() {
    let (socket, peer) = connected_pair();
    socket.set_linger_timeout(Duration::ZERO);
    socket.write(&payload()).unwrap();
    socket.disconnect_from_host();
    let rx = read_to_end(peer);
    drop(socket);
    let got = wait_for(&rx);
    assert!(
        got.total < PAYLOAD,
        "Qt's delete drops the write buffer; {} bytes arrived",
        got.total
    );
}

#[test]
fn a_peer_that_never_reads_is_cut_off_at_the_linger_timeout() {
    let bound = Duration::from_millis(300);
    let (socket, peer) = connected_pair();
    socket.set_linger_timeout(bound);
    // More than loopback's socket buffers hold while the peer reads
    // nothing, so the write buffer cannot drain.
    socket.write(&payload()).unwrap();
    socket.write(&payload()).unwrap();
    socket.disconnect_from_host();
    let dropped = Instant::now();
    drop(socket);

    // The peer reads nothing; the reset shows on its socket's error.
    let mut error = None;
    run_until("the lingering socket to reset the connection", || {
        error = peer.take_error().expect("SO_ERROR");
        error.is_some()
    });
    assert!(
        dropped.elapsed() >= bound,
        "cut off after {:?}, before the {bound:?} timeout",
        dropped.elapsed()
    );
    assert_eq!(error.unwrap().kind(), ErrorKind::ConnectionReset);
}

#[test]
fn a_thread_that_ends_with_a_lingering_socket_ends_cleanly() {
    let listener = StdListener::bind("127.0.0.1:0").expect("std listener");
    let port = listener.local_addr().unwrap().port();
    let worker = thread::spawn(move || {
        let socket = TcpSocket::new();
        socket.connect_to_host("127.0.0.1", port);
        assert!(socket.wait_for_connected(WAIT), "{}", socket.error_string());
        socket.write(&payload()).unwrap();
        drop(socket); // lingers, but this thread's loop never runs again
    });
    let (peer, _) = listener.accept().expect("accept");
    peer.set_read_timeout(Some(DEADLINE)).unwrap();
    worker.join().expect("the thread ends without a panic");
    // Its loop is gone with it: the connection closes normally.
    let got = wait_for(&read_to_end(peer));
    assert_eq!(got.end, Ok(()));
}

#[test]
fn a_socket_deleted_while_its_thread_tears_down_its_loop_ends_cleanly() {
    let listener = StdListener::bind("127.0.0.1:0").expect("std listener");
    let port = listener.local_addr().unwrap().port();
    let worker = thread::spawn(move || {
        let socket = TcpSocket::new();
        socket.connect_to_host("127.0.0.1", port);
        assert!(socket.wait_for_connected(WAIT), "{}", socket.error_string());
        socket.write(&payload()).unwrap();
        // The last handle lives in a call that never runs: the loop drops
        // it while the thread's loop itself is being destroyed.
        sigloop::EventDispatcher::post(move || drop(socket));
    });
    let (peer, _) = listener.accept().expect("accept");
    peer.set_read_timeout(Some(DEADLINE)).unwrap();
    worker.join().expect("the thread ends without a panic");
    let got = wait_for(&read_to_end(peer));
    assert_eq!(got.end, Ok(()));
}
