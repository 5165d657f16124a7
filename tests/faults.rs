//! Streams through a fault-injecting relay (`support::fault_relay`):
//! delays, 1-byte segments, stalls, resets and half-closes in the middle
//! of a stream. Whatever the fault, the receiver gets either everything,
//! intact, or an intact prefix followed by Qt's error for a remote close
//! (`RemoteHostClosedError`, "The remote host closed the connection",
//! which Qt reports for a FIN and for an RST alike); it never gets wrong
//! bytes, never loses bytes that arrived before the fault, and never
//! hangs: every wait has a deadline that fails the test.
//!
//! Two exchanges go through each fault:
//! - a 64 MiB transfer, checked byte for byte against the sender's
//!   pattern and by a hash of everything sent and received. The 1-byte
//!   split applies to its first 64 KiB only: 64 MiB as 1-byte segments
//!   would take minutes in a debug build and test nothing the prefix
//!   does not;
//! - the fortune exchange of Qt's fortune examples (a `QString` framed by
//!   `QDataStream`, read in a transaction that waits for the rest), with
//!   the whole block split into 1-byte segments.
//!
//! Sender and receiver are sigloop sockets on this thread's loop; the
//! relay runs on its own threads, on loopback.

mod support;

use std::cell::{Cell, RefCell};
use std::hash::{DefaultHasher, Hasher};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use sigloop::core::IoDevice;
use sigloop::{
    DataStream, DataStreamStatus, DataStreamVersion, HostAddress, SocketError, SocketState,
    SpecialAddress, TcpServer, TcpSocket,
};
use support::fault_relay::{Fault, FaultRelay};
use support::waits::{run_until, run_until_within};

/// The big transfer's size.
const BIG: usize = 64 << 20;
/// The sender queues up to this much beyond what the OS took.
const CHUNK: usize = 1 << 20;
/// A generous bound for the 64 MiB transfer in a debug build on a busy
/// machine (it takes a few seconds).
const BIG_DEADLINE: Duration = Duration::from_secs(180);
/// The bound for one fortune exchange.
const FORTUNE_DEADLINE: Duration = Duration::from_secs(60);
/// Qt's text for `RemoteHostClosedError`.
const REMOTE_CLOSED: &str = "The remote host closed the connection";

/// The big stream: a pattern that catches loss and reordering, made once
/// per test binary (per-byte loops are slow in a debug build; slices of
/// it are copied and compared at native speed).
fn stream() -> &'static [u8] {
    static STREAM: OnceLock<Vec<u8>> = OnceLock::new();
    STREAM.get_or_init(|| {
        (0..BIG)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 11)) as u8)
            .collect()
    })
}

/// A server on this loop that keeps what it accepts; the test decides
/// when it sends.
struct Source {
    server: TcpServer,
    accepted: Rc<RefCell<Vec<TcpSocket>>>,
}

impl Source {
    fn start() -> Source {
        let server = TcpServer::new();
        server
            .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
            .expect("listen on loopback");
        let accepted: Rc<RefCell<Vec<TcpSocket>>> = Rc::default();
        {
            let accepted = accepted.clone();
            let _ = server
                .new_connection()
                .connect_to(&server, move |server, _| {
                    while let Some(socket) = server.next_pending_connection() {
                        accepted.borrow_mut().push(socket);
                    }
                });
        }
        Source { server, accepted }
    }

    fn address(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.server.server_port()).into()
    }

    /// Waits until `client` is connected (through the relay) and the
    /// relay's connection is accepted, and returns the accepted socket.
    /// Sending only then keeps the fault away from the client's connect:
    /// a reset racing the connect completion is another test.
    fn connected(&self, client: &TcpSocket) -> TcpSocket {
        run_until("the client and the server to connect", || {
            client.state() == SocketState::Connected && !self.accepted.borrow().is_empty()
        });
        self.accepted.borrow()[0].clone()
    }
}

/// Starts writing the 64 MiB stream on `socket` (refilled as the OS takes
/// it), hashing it into `sent_hash`, and closes gracefully after it.
fn send_big(socket: &TcpSocket, sent_hash: Rc<RefCell<DefaultHasher>>) {
    let offset = Rc::new(Cell::new(0usize));
    let refill = move |socket: &TcpSocket| {
        while socket.state() == SocketState::Connected
            && socket.bytes_to_write() < 2 * CHUNK
            && offset.get() < BIG
        {
            let start = offset.get();
            let data = &stream()[start..(start + CHUNK).min(BIG)];
            sent_hash.borrow_mut().write(data);
            socket.write(data).expect("queue the next chunk");
            offset.set(start + data.len());
            if offset.get() == BIG {
                socket.disconnect_from_host();
            }
        }
    };
    let on_written = refill.clone();
    let _ = socket
        .bytes_written()
        .connect_to(socket, move |s, _| on_written(s));
    refill(socket);
}

/// What a receiver saw.
#[derive(Default)]
struct Received {
    bytes: usize,
    /// The offset of the first byte that differs from the pattern.
    first_wrong: Option<usize>,
    hash: DefaultHasher,
    errors: Vec<(SocketError, String)>,
    disconnected: usize,
}

impl Received {
    fn take(&mut self, data: &[u8]) {
        let expected = stream().get(self.bytes..self.bytes + data.len());
        if self.first_wrong.is_none() && expected != Some(data) {
            let i = (0..data.len())
                .find(|&i| stream().get(self.bytes + i) != Some(&data[i]))
                .unwrap_or(0);
            self.first_wrong = Some(self.bytes + i);
        }
        self.hash.write(data);
        self.bytes += data.len();
    }
}

/// A client socket through the relay that records everything it gets.
fn receiver(port: u16) -> (TcpSocket, Rc<RefCell<Received>>) {
    let socket = TcpSocket::new();
    let seen: Rc<RefCell<Received>> = Rc::default();
    {
        let seen = seen.clone();
        let _ = socket.ready_read().connect_to(&socket, move |s, _| {
            let data = s.read_all().expect("read what arrived");
            seen.borrow_mut().take(&data);
        });
    }
    {
        let seen = seen.clone();
        let _ = socket
            .error_occurred()
            .connect_to(&socket, move |s, error| {
                seen.borrow_mut().errors.push((*error, s.error_string()));
            });
    }
    {
        let seen = seen.clone();
        let _ = socket.disconnected().connect(move |_| {
            seen.borrow_mut().disconnected += 1;
        });
    }
    socket.connect_to_host("127.0.0.1", port);
    (socket, seen)
}

/// Runs the 64 MiB transfer through `fault`; returns what the receiver
/// saw (after the disconnect, with what was still buffered read out), the
/// sender's hash, and the relay's downstream byte count.
fn big_transfer(fault: Fault) -> (Received, u64, usize) {
    let sent_hash = Rc::new(RefCell::new(DefaultHasher::new()));
    let source = Source::start();
    let relay = FaultRelay::start(source.address(), fault);
    let (socket, seen) = receiver(relay.port());
    send_big(&source.connected(&socket), sent_hash.clone());
    run_until_within("the transfer to end", BIG_DEADLINE, || {
        seen.borrow().disconnected > 0
    });
    // Bytes that arrived before the close stay readable (Qt: readAll()
    // after disconnected()).
    let rest = socket.read_all().expect("read the rest");
    seen.borrow_mut().take(&rest);
    assert_eq!(socket.state(), SocketState::Unconnected);
    let relayed = relay
        .counters()
        .downstream
        .load(std::sync::atomic::Ordering::SeqCst);
    drop(relay);
    let seen = seen.take();
    let hash = sent_hash.borrow().finish();
    (seen, hash, relayed)
}

/// The close every exchange ends with: one Qt remote-close error, one
/// `disconnected`.
#[track_caller]
fn assert_remote_closed(seen: &Received) {
    assert_eq!(
        seen.errors,
        [(SocketError::RemoteHostClosed, REMOTE_CLOSED.to_owned())],
        "errors"
    );
    assert_eq!(seen.disconnected, 1, "disconnected signals");
}

#[track_caller]
fn assert_whole(fault: Fault) {
    let (seen, sent_hash, _) = big_transfer(fault);
    assert_eq!(seen.first_wrong, None, "{fault:?}: wrong byte");
    assert_eq!(seen.bytes, BIG, "{fault:?}: bytes received");
    assert_eq!(seen.hash.finish(), sent_hash, "{fault:?}: hash");
    assert_remote_closed(&seen);
}

#[test]
fn big_transfer_without_faults_arrives_whole() {
    assert_whole(Fault::None);
}

#[test]
fn big_transfer_with_delays_arrives_whole() {
    assert_whole(Fault::Delay(Duration::from_micros(200)));
}

#[test]
fn big_transfer_split_into_one_byte_segments_arrives_whole() {
    assert_whole(Fault::SplitPrefix(64 * 1024));
}

#[test]
fn big_transfer_with_a_stall_arrives_whole() {
    assert_whole(Fault::Stall {
        after: 3 * CHUNK + 17,
        stall: Duration::from_millis(500),
    });
}

#[test]
fn big_transfer_reset_midway_keeps_an_intact_prefix_and_reports_remote_close() {
    let cut = 8 * CHUNK + 12_345;
    let (seen, _, relayed) = big_transfer(Fault::ResetAfter(cut));
    assert_eq!(relayed, cut, "the relay forwarded up to the cut");
    assert_eq!(seen.first_wrong, None, "wrong byte");
    // Bytes still in the relay's send buffer die with the RST.
    assert!(
        seen.bytes <= cut,
        "{} bytes after a cut at {cut}",
        seen.bytes
    );
    // The relay's send buffer holds at most a few MiB (Linux's default
    // tcp_wmem maximum is 4 MiB): most of the 8 MiB got through.
    assert!(seen.bytes > 0, "nothing arrived before the reset");
    assert_remote_closed(&seen);
}

#[test]
fn big_transfer_half_closed_midway_delivers_every_byte_before_the_fin() {
    let cut = 8 * CHUNK + 777;
    let (seen, _, relayed) = big_transfer(Fault::HalfCloseAfter(cut));
    assert_eq!(relayed, cut);
    assert_eq!(seen.first_wrong, None, "wrong byte");
    // A FIN follows the data: nothing before it may be lost.
    assert_eq!(seen.bytes, cut);
    assert_remote_closed(&seen);
}

// ----------------------------------------------------------------------
// The fortune exchange
// ----------------------------------------------------------------------

/// Long enough for several segments, with text outside Latin-1 and
/// outside the BMP (a surrogate pair that a split can cut in half).
const FORTUNE: &str = "You've been leading a dog's life. Stay off the furniture. \
                       Ünïcødé ✓ 𝄞 — and a surrogate pair.";

/// The block Qt's fortune server writes: the fortune as a `QString`.
fn fortune_block() -> Vec<u8> {
    let mut block = Vec::new();
    let mut out = DataStream::writer(&mut block);
    out.set_version(DataStreamVersion::QT_5_10);
    out.write(FORTUNE);
    block
}

/// What the fortune client saw.
#[derive(Default, Debug)]
struct FortuneSeen {
    fortune: Option<Option<String>>,
    /// A status other than ReadPastEnd from a failed commit.
    corrupt: Option<DataStreamStatus>,
    errors: Vec<(SocketError, String)>,
    disconnected: usize,
}

/// Qt's fortune server (write the block, disconnect) and client (read in
/// a transaction until it commits) through `fault`.
fn fortune_exchange(fault: Fault) -> FortuneSeen {
    let source = Source::start();
    let relay = FaultRelay::start(source.address(), fault);

    let socket = TcpSocket::new();
    let seen: Rc<RefCell<FortuneSeen>> = Rc::default();
    let read_fortune = {
        let seen = seen.clone();
        move |socket: &TcpSocket| {
            if seen.borrow().fortune.is_some() {
                return;
            }
            let mut input = DataStream::new(socket);
            input.set_version(DataStreamVersion::QT_4_0);
            input.start_transaction();
            let next: Option<String> = input.read();
            if input.commit_transaction() {
                seen.borrow_mut().fortune = Some(next);
            } else if input.status() != DataStreamStatus::ReadPastEnd {
                seen.borrow_mut().corrupt = Some(input.status());
            }
        }
    };
    {
        let read_fortune = read_fortune.clone();
        let _ = socket
            .ready_read()
            .connect_to(&socket, move |s, _| read_fortune(s));
    }
    {
        let seen = seen.clone();
        let _ = socket
            .error_occurred()
            .connect_to(&socket, move |s, error| {
                seen.borrow_mut().errors.push((*error, s.error_string()));
            });
    }
    {
        let seen = seen.clone();
        let _ = socket.disconnected().connect(move |_| {
            seen.borrow_mut().disconnected += 1;
        });
    }
    socket.connect_to_host("127.0.0.1", relay.port());
    // Qt's fortune server: write the block, disconnect.
    let peer = source.connected(&socket);
    peer.write(&fortune_block()).expect("queue the fortune");
    peer.disconnect_from_host();
    run_until_within("the fortune exchange to end", FORTUNE_DEADLINE, || {
        seen.borrow().disconnected > 0
    });
    // What arrived before the close is still there to read.
    read_fortune(&socket);
    drop(relay);
    seen.take()
}

#[test]
fn fortune_arrives_through_delays_splits_and_stalls() {
    let len = fortune_block().len();
    for fault in [
        Fault::None,
        Fault::Delay(Duration::from_millis(5)),
        Fault::SplitPrefix(usize::MAX),
        Fault::Stall {
            after: 3,
            stall: Duration::from_millis(300),
        },
        Fault::Stall {
            after: len - 1,
            stall: Duration::from_millis(300),
        },
    ] {
        let seen = fortune_exchange(fault);
        assert_eq!(seen.corrupt, None, "{fault:?}");
        assert_eq!(
            seen.fortune,
            Some(Some(FORTUNE.to_owned())),
            "{fault:?}: {seen:?}"
        );
        assert_eq!(
            seen.errors,
            [(SocketError::RemoteHostClosed, REMOTE_CLOSED.to_owned())],
            "{fault:?}"
        );
        assert_eq!(seen.disconnected, 1, "{fault:?}");
    }
}

#[test]
fn fortune_cut_short_reports_remote_close_and_never_a_corrupt_read() {
    let len = fortune_block().len();
    // Inside the size prefix, inside the text (mid surrogate pair too),
    // one byte short.
    let surrogate = fortune_block()
        .windows(2)
        .rposition(|w| w == [0xd8, 0x34])
        .expect("the fortune has a surrogate pair");
    for cut in [1, 3, 4, 5, len / 2, surrogate + 1, surrogate + 3, len - 1] {
        for fault in [Fault::ResetAfter(cut), Fault::HalfCloseAfter(cut)] {
            let seen = fortune_exchange(fault);
            assert_eq!(
                seen.corrupt, None,
                "{fault:?}: a partial fortune is not corrupt"
            );
            assert_eq!(
                seen.fortune, None,
                "{fault:?}: only {cut} of {len} bytes arrived"
            );
            assert_eq!(
                seen.errors,
                [(SocketError::RemoteHostClosed, REMOTE_CLOSED.to_owned())],
                "{fault:?}"
            );
            assert_eq!(seen.disconnected, 1, "{fault:?}");
        }
    }
}

#[test]
fn fortune_complete_before_a_reset_or_half_close_is_still_read() {
    let len = fortune_block().len();
    for fault in [Fault::ResetAfter(len), Fault::HalfCloseAfter(len)] {
        let seen = fortune_exchange(fault);
        assert_eq!(seen.corrupt, None, "{fault:?}");
        assert_eq!(
            seen.fortune,
            Some(Some(FORTUNE.to_owned())),
            "{fault:?}: bytes that arrived before the close are kept"
        );
        assert_eq!(
            seen.errors,
            [(SocketError::RemoteHostClosed, REMOTE_CLOSED.to_owned())],
            "{fault:?}"
        );
        assert_eq!(seen.disconnected, 1, "{fault:?}");
    }
}
