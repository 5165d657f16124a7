//! Bulk transfer through our own TcpSocket at both ends: 64 MiB from a
//! writer thread to a slow reader whose read buffer is bounded. Byte counts
//! and hashes must match at both ends, the reader's buffer must never
//! exceed its limit, and the reader's thread must sleep while it waits
//! (no busy loop over edge-triggered readiness).

use std::cell::{Cell, RefCell};
use std::hash::{DefaultHasher, Hasher};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sigloop::core::IoDevice;
use sigloop::{
    EventDispatcher, HostAddress, LoopThread, SocketState, SpecialAddress, TcpServer, TcpSocket,
    Timer, TimerType,
};

const TOTAL: usize = 64 << 20;
const LIMIT: i64 = 256 * 1024;
const CHUNK: usize = 1 << 20;

/// CPU time of the calling thread, from the kernel's scheduler stats.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .expect("schedstat field");
    Duration::from_nanos(ns)
}

/// The byte at `offset` of the stream: a pattern that catches reordering.
fn pattern(offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 13)) as u8
}

#[test]
fn sixty_four_mib_to_a_slow_reader_with_a_bounded_buffer() {
    // The reader: a server on this thread, reading at most 2 MiB per 10 ms.
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .unwrap();
    let port = server.server_port();

    // The writer: our TcpSocket on a worker loop, hashing what it sends.
    let (sent_tx, sent_rx) = mpsc::channel::<(usize, u64)>();
    let writer = LoopThread::start_with("writer", move || {
        let socket = TcpSocket::new();
        let hasher = Rc::new(RefCell::new(DefaultHasher::new()));
        let offset = Rc::new(Cell::new(0usize));
        let refill = {
            let hasher = hasher.clone();
            let offset = offset.clone();
            move |socket: &TcpSocket| {
                // Keep about 2 MiB queued: write more as the OS takes it.
                while socket.bytes_to_write() < 2 * CHUNK && offset.get() < TOTAL {
                    let start = offset.get();
                    let end = (start + CHUNK).min(TOTAL);
                    let data: Vec<u8> = (start..end).map(pattern).collect();
                    hasher.borrow_mut().write(&data);
                    // Both ways in: copied, and handed over (`write_vec`).
                    if (start / CHUNK).is_multiple_of(2) {
                        socket.write(&data).unwrap();
                    } else {
                        socket.write_vec(data).unwrap();
                    }
                    offset.set(end);
                }
                if offset.get() == TOTAL && socket.bytes_to_write() == 0 {
                    socket.disconnect_from_host();
                }
            }
        };
        let on_connected = refill.clone();
        let _ = socket
            .connected()
            .connect_to(&socket, move |s, _| on_connected(s));
        let _ = socket
            .bytes_written()
            .connect_to(&socket, move |s, _| refill(s));
        let _ = socket.disconnected().connect_to(&socket, move |_, _| {
            let _ = sent_tx.send((offset.get(), hasher.borrow().finish()));
            EventDispatcher::exit(0);
        });
        socket.connect_to_host("127.0.0.1", port);
        // Kept alive for the rest of this thread, which ends with the transfer.
        std::mem::forget(socket);
    })
    .unwrap();

    let received = Rc::new(Cell::new(0usize));
    let max_buffered = Rc::new(Cell::new(0usize));
    let hasher = Rc::new(RefCell::new(DefaultHasher::new()));
    let peer: Rc<RefCell<Option<TcpSocket>>> = Rc::new(RefCell::new(None));
    {
        let peer = peer.clone();
        let _ = server
            .new_connection()
            .connect_to(&server, move |server, _| {
                let socket = server.next_pending_connection().unwrap();
                socket.set_read_buffer_size(LIMIT);
                *peer.borrow_mut() = Some(socket);
            });
    }
    let tick = Timer::new();
    tick.set_timer_type(TimerType::Precise);
    {
        let (peer, received, max_buffered, hasher) = (
            peer.clone(),
            received.clone(),
            max_buffered.clone(),
            hasher.clone(),
        );
        let _ = tick.timeout().connect(move |_| {
            let Some(socket) = peer.borrow().clone() else {
                return;
            };
            let mut budget = 2 * CHUNK;
            while budget > 0 {
                max_buffered.set(max_buffered.get().max(socket.bytes_available()));
                // Reading everything buffered lets the socket refill it.
                let data = socket.read_all().unwrap();
                if data.is_empty() {
                    break;
                }
                budget = budget.saturating_sub(data.len());
                received.set(received.get() + data.len());
                hasher.borrow_mut().write(&data);
                // Let the loop refill the buffer before the next read.
                EventDispatcher::process_events(sigloop::ProcessEventsFlags::ALL_EVENTS);
            }
            if received.get() == TOTAL && socket.state() == SocketState::Unconnected {
                EventDispatcher::exit(0);
            }
        });
    }
    tick.start_with(Duration::from_millis(10));
    let watchdog = Timer::new();
    let _ = watchdog.timeout().connect(|_| EventDispatcher::exit(99));
    watchdog.set_single_shot(true);
    watchdog.start_with(Duration::from_secs(60));

    let wall = Instant::now();
    let cpu = thread_cpu();
    let code = EventDispatcher::exec();
    let cpu = thread_cpu() - cpu;
    let wall = wall.elapsed();

    assert_eq!(code, 0, "the transfer did not finish within 60 s");
    let (sent, sent_hash) = sent_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the writer reports what it sent");
    assert_eq!(sent, TOTAL);
    assert_eq!(received.get(), TOTAL);
    assert_eq!(hasher.borrow().finish(), sent_hash, "the bytes differ");
    assert!(
        max_buffered.get() as i64 <= LIMIT,
        "the read buffer held {} bytes over its {LIMIT}-byte limit",
        max_buffered.get()
    );
    // The reader mostly waits for its timer: a busy loop would use a whole
    // core for the whole transfer.
    assert!(
        cpu < wall.mul_f64(0.8),
        "the reader used {cpu:?} of CPU over {wall:?}"
    );
    assert_eq!(writer.join().unwrap(), 0);
}
