//! The blocking `wait_for_*` functions where no progress is possible, and
//! with the process out of descriptors.
//!
//! - With the read buffer full (`set_read_buffer_size` reached) no read can
//!   take anything: `wait_for_ready_read` and `wait_for_disconnected` sleep
//!   until their timeout instead of polling a readable descriptor again and
//!   again. The test measures the CPU time of the waiting thread against
//!   the time the wait took: a behaviour check with a wide margin (a spin
//!   used 90% of the wall time), not a speed benchmark.
//! - A wait needs no new descriptor, so it still works once they are
//!   exhausted (`EMFILE`). Those tests run in a child process with a low
//!   descriptor limit, so the exhaustion cannot starve the other tests.
//!
//! Loopback only; every wait is bounded.

mod support;

use support::isolate::{exhaust_fds, is_child_for, run_test_in_child, Isolation, ThreadCpu};
use support::waits::{DEADLINE, WAIT};

use std::io::Write;
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::time::{Duration, Instant};

use sigloop::net::{HostAddress, SocketError, SocketState, SpecialAddress, TcpServer, TcpSocket};
use sigloop::IoDevice;

/// How long the "nothing can happen" waits last.
const IDLE_WAIT: Duration = Duration::from_millis(1500);

/// A connected socket whose far end is a plain blocking std stream.
fn std_pair() -> (TcpSocket, StdStream) {
    let listener = StdListener::bind("127.0.0.1:0").expect("std listener");
    let port = listener.local_addr().unwrap().port();
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", port);
    let (peer, _) = listener.accept().expect("accept");
    peer.set_write_timeout(Some(DEADLINE)).unwrap();
    assert!(client.wait_for_connected(WAIT), "{}", client.error_string());
    (client, peer)
}

/// A socket whose 16-byte read buffer is full while the kernel holds 4 KiB
/// more behind it (the last byte of it already received).
fn full_read_buffer() -> (TcpSocket, StdStream) {
    let (client, mut peer) = std_pair();
    client.set_read_buffer_size(16);
    peer.write_all(&[7u8; 4096 + 16]).unwrap();
    assert!(client.wait_for_ready_read(WAIT));
    assert_eq!(client.bytes_available(), 16);
    (client, peer)
}

/// Runs `wait` and returns (its result, wall time, CPU time of this thread).
fn measured(wait: impl FnOnce() -> bool) -> (bool, Duration, Duration) {
    let mut cpu = ThreadCpu::new();
    let cpu_before = cpu.used();
    let started = Instant::now();
    let result = wait();
    (result, started.elapsed(), cpu.used() - cpu_before)
}

/// Asserts that a wait that could make no progress slept: it lasted its
/// timeout and used a small part of it on the CPU. A sleeping wait uses
/// well under a millisecond; the bound leaves room for a loaded machine.
#[track_caller]
fn assert_slept(what: &str, wall: Duration, cpu: Duration) {
    assert!(wall >= IDLE_WAIT, "{what} returned after {wall:?}");
    assert!(
        cpu < IDLE_WAIT / 5,
        "{what} used {cpu:?} of CPU in {wall:?}: it spins instead of sleeping"
    );
}

/// Qt's `waitForReadyRead` with a full read buffer: nothing can be read,
/// so it waits out its timeout (`SocketTimeout`, still connected) without
/// spinning, and the data behind the limit is still there afterwards.
#[test]
fn wait_for_ready_read_sleeps_while_the_read_buffer_is_full() {
    let (client, _peer) = full_read_buffer();
    let (ready, wall, cpu) = measured(|| client.wait_for_ready_read(Some(IDLE_WAIT)));
    assert!(!ready);
    assert_slept("wait_for_ready_read", wall, cpu);
    assert_eq!(client.error(), SocketError::SocketTimeout);
    assert_eq!(client.state(), SocketState::Connected);
    assert_eq!(client.bytes_available(), 16);

    // Draining the buffer lets the next wait read what waited behind it.
    assert_eq!(client.read_all().unwrap(), [7u8; 16]);
    assert!(client.wait_for_ready_read(WAIT));
    assert_eq!(client.bytes_available(), 16);
}

/// The same for `wait_for_disconnected`: the peer has closed, but its FIN
/// sits behind data the full buffer cannot take, so the wait sleeps until
/// its timeout; once the application reads, the close comes through.
#[test]
fn wait_for_disconnected_sleeps_while_the_read_buffer_is_full() {
    let (client, peer) = full_read_buffer();
    drop(peer);
    let (done, wall, cpu) = measured(|| client.wait_for_disconnected(Some(IDLE_WAIT)));
    assert!(!done);
    assert_slept("wait_for_disconnected", wall, cpu);
    assert_eq!(client.state(), SocketState::Connected);

    let mut received = client.read_all().unwrap().len();
    client.set_read_buffer_size(0);
    assert!(
        client.wait_for_disconnected(WAIT),
        "{}",
        client.error_string()
    );
    received += client.read_all().unwrap().len();
    assert_eq!(received, 4096 + 16, "no byte lost");
}

/// Waits under `EMFILE`: the waits make no descriptor, so connecting,
/// reading, writing and the server's wait all still work.
#[test]
fn waits_work_with_descriptors_exhausted() {
    run_test_in_child(
        Isolation::FdLimit(64),
        "waits_work_with_descriptors_exhausted_child",
    );
}

#[test]
fn waits_work_with_descriptors_exhausted_child() {
    if !is_child_for("waits_work_with_descriptors_exhausted_child") {
        return;
    }
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .unwrap();
    let (client, mut peer) = std_pair();
    let waiting = StdStream::connect(("127.0.0.1", server.server_port())).unwrap();

    let hog = exhaust_fds();
    peer.write_all(b"ping").unwrap();
    assert!(
        client.wait_for_ready_read(WAIT),
        "{}",
        client.error_string()
    );
    assert_eq!(client.read_all().unwrap(), b"ping");

    client.write(b"pong").unwrap();
    assert!(
        client.wait_for_bytes_written(WAIT),
        "{}",
        client.error_string()
    );

    // The listening socket is readable: the wait says so (the accept
    // itself then fails for want of a descriptor, with accept_error).
    let (ready, timed_out) = server.wait_for_new_connection(WAIT);
    assert!(ready && !timed_out);
    assert_eq!(server.server_error(), SocketError::SocketResource);

    drop(peer);
    assert!(
        client.wait_for_disconnected(WAIT),
        "{}",
        client.error_string()
    );
    drop(hog);
    drop(waiting);
}
