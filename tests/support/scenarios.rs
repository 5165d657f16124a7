//! The TCP scenarios of the Qt oracle (`qt_oracle.py`), re-enacted with
//! our sockets on loopback: the same peer behaviour (std threads with std
//! sockets), the same calls in the same order, the same lines recorded.
//!
//! Each scenario returns an [`Outcome`]: the trace, the facts the oracle
//! printed under it (with our values), and a few more facts for the tests.
//! `tests/tcp_oracle.rs` compares them with Qt's; `examples/tcp_trace.rs`
//! prints them in the oracle's format.
//!
//! Waiting is event driven: the loop runs until a condition holds, with a
//! deadline that fails the scenario. Only the peers sleep, where the
//! oracle's peers did, because a slow peer is the point of the scenario.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sigloop::core::{DeviceError, IoDevice};
use sigloop::net::{HostAddress, SocketState, SpecialAddress, TcpServer, TcpSocket};
use sigloop::EventDispatcher;
use socket2::{Domain, SockRef, Socket, Type};

use super::isolate::{self, Isolation, ThreadCpu};
use super::recorder::{py_bool, py_bytes, Record, ServerRecorder, SocketRecorder, Trace};

/// The deadline for anything that should take well under a second.
pub const WAIT: Duration = Duration::from_secs(20);

/// What a scenario saw.
pub struct Outcome {
    /// The oracle's scenario name.
    pub name: &'static str,
    /// The recorded lines.
    pub trace: Trace,
    /// The facts the oracle printed after the lines, with our values.
    pub extras: Vec<(String, String)>,
    /// More facts, for the tests only (not printed).
    pub facts: Vec<(String, String)>,
    /// The socket, for tests that go on where Qt's scenario stopped.
    pub socket: Option<TcpSocket>,
    /// The server, likewise.
    pub server: Option<TcpServer>,
}

impl Outcome {
    /// An outcome with no facts yet.
    pub fn new(name: &'static str, trace: &Trace) -> Outcome {
        Outcome {
            name,
            trace: trace.clone(),
            extras: Vec::new(),
            facts: Vec::new(),
            socket: None,
            server: None,
        }
    }

    /// Adds a fact the oracle printed.
    pub fn extra(mut self, key: &str, value: impl ToString) -> Outcome {
        self.extras.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds a fact for the tests only.
    pub fn fact(mut self, key: &str, value: impl ToString) -> Outcome {
        self.facts.push((key.to_owned(), value.to_string()));
        self
    }

    /// The value of an extra or a fact.
    ///
    /// # Panics
    ///
    /// If the scenario recorded no such key.
    pub fn get(&self, key: &str) -> &str {
        self.extras
            .iter()
            .chain(&self.facts)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{}: no fact {key:?}", self.name))
    }

    /// An extra or a fact parsed as a number.
    pub fn number(&self, key: &str) -> u64 {
        let value = self.get(key);
        value
            .parse()
            .unwrap_or_else(|_| panic!("{}: {key} = {value:?} is not a number", self.name))
    }

    /// The lines without times.
    pub fn lines(&self) -> Vec<String> {
        self.trace.lines()
    }

    /// The outcome in the oracle's text format.
    pub fn to_oracle_block(&self) -> String {
        self.trace.to_oracle_block(self.name, &self.extras)
    }
}

/// One scenario and where it must run.
pub struct Scenario {
    /// The oracle's name for it.
    pub name: &'static str,
    /// Where it runs.
    pub isolation: Isolation,
    /// Runs it (inside the isolation).
    pub run: fn() -> Outcome,
}

/// The loopback scenarios, in the order of Qt's oracle file.
pub fn loopback() -> Vec<Scenario> {
    let plain = |name, run| Scenario {
        name,
        isolation: Isolation::None,
        run,
    };
    vec![
        plain("tcp_connection_refused", tcp_connection_refused),
        Scenario {
            name: "tcp_emfile_on_connect",
            isolation: Isolation::FdLimit(FD_LIMIT),
            run: tcp_emfile_on_connect,
        },
        plain(
            "tcp_remote_graceful_close_with_data",
            tcp_remote_graceful_close_with_data,
        ),
        plain("tcp_remote_rst_after_data", tcp_remote_rst_after_data),
        plain("tcp_remote_rst_while_writing", tcp_remote_rst_while_writing),
        plain(
            "tcp_remote_half_close_then_we_write",
            tcp_remote_half_close_then_we_write,
        ),
        plain(
            "tcp_disconnectFromHost_flushes_pending_writes",
            tcp_disconnect_from_host_flushes_pending_writes,
        ),
        plain(
            "tcp_abort_discards_pending_writes",
            tcp_abort_discards_pending_writes,
        ),
        plain(
            "tcp_big_write_slow_reader_no_busy_loop",
            tcp_big_write_slow_reader_no_busy_loop,
        ),
        plain(
            "tcp_connect_timeout_full_backlog",
            tcp_connect_timeout_full_backlog,
        ),
        plain("tcp_read_buffer_limit_backpressure", || {
            tcp_read_buffer_limit_backpressure(AfterLimit::Abort)
        }),
        Scenario {
            name: "tcpserver_emfile",
            isolation: Isolation::FdLimit(FD_LIMIT),
            run: tcpserver_emfile,
        },
    ]
}

/// The scenarios of Qt's namespace oracle file, in its order.
pub fn netns() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "tcp_host_unreachable_icmp",
            isolation: Isolation::NetNs(HOST_UNREACHABLE_SETUP),
            run: tcp_host_unreachable,
        },
        Scenario {
            name: "tcp_dns_failure",
            isolation: Isolation::NetNs(""),
            run: tcp_dns_failure,
        },
        Scenario {
            name: "tcp_network_unreachable",
            isolation: Isolation::NetNs(""),
            run: tcp_network_unreachable,
        },
    ]
}

/// The descriptor limit of the exhaustion scenarios (Qt's oracle used 256).
pub const FD_LIMIT: u32 = 256;

/// Makes 203.0.113.0/24 (TEST-NET-3) unreachable inside the namespace.
pub const HOST_UNREACHABLE_SETUP: &str = "ip route add unreachable 203.0.113.0/24";

/// Routes 198.51.100.0/24 (TEST-NET-2) into `lo`, where nothing owns the
/// address and forwarding is off: SYNs vanish, connects time out.
pub const BLACKHOLE_SETUP: &str = "ip route add 198.51.100.0/24 dev lo";

// ---------------------------------------------------------------------------
// Driving the loop

/// Runs the loop until `done()` holds.
///
/// # Panics
///
/// If it does not hold within `timeout`.
pub fn run_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        let now = Instant::now();
        assert!(
            now < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        let slice = (deadline - now).min(Duration::from_millis(100));
        EventDispatcher::dispatch_once(Some(slice));
    }
}

/// Runs the loop for `period` (blocking in the poller while idle).
pub fn run_for(period: Duration) {
    let end = Instant::now() + period;
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        EventDispatcher::dispatch_once(Some(end - now));
    }
}

fn until_state(socket: &TcpSocket, state: SocketState) {
    run_until(state.qt_name(), WAIT, || socket.state() == state);
}

// ---------------------------------------------------------------------------
// Peers

/// A peer thread serving one connection; its handler's result comes back
/// through a channel.
pub struct Peer<T> {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    result: mpsc::Receiver<T>,
}

impl<T> Peer<T> {
    /// The handler's result.
    ///
    /// # Panics
    ///
    /// If the handler panicked or did not finish within `timeout`.
    pub fn result(&self, timeout: Duration) -> T {
        match self.result.recv_timeout(timeout) {
            Ok(value) => value,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("the peer did not finish within {timeout:?}")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the peer thread failed"),
        }
    }
}

/// Listens on 127.0.0.1 and runs `handler` on the first connection in a
/// thread (the oracle's `serve_once`).
pub fn serve_once<T, F>(handler: F) -> Peer<T>
where
    T: Send + 'static,
    F: FnOnce(TcpStream) -> T + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback peer");
    let port = listener.local_addr().expect("local_addr").port();
    let (tx, result) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let _ = tx.send(handler(stream));
    });
    Peer { port, result }
}

/// Closes with an RST (`SO_LINGER` 0), as the oracle's `rst`.
pub fn rst(stream: TcpStream) {
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(stream);
}

/// Reads until EOF; the byte count.
pub fn drain(mut stream: &TcpStream) -> io::Result<usize> {
    let mut buf = vec![0; 1 << 16];
    let mut total = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `drain`'s count, or the error as Python's oracle printed a repr.
fn drain_text(stream: &TcpStream) -> String {
    match drain(stream) {
        Ok(n) => n.to_string(),
        Err(e) => format!("{e:?}"),
    }
}

/// A port nobody listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local_addr").port()
}

fn recorded(record: Record) -> (TcpSocket, Trace, SocketRecorder) {
    let socket = TcpSocket::new();
    let trace = Trace::new();
    let recorder = SocketRecorder::attach(&socket, &trace, record);
    (socket, trace, recorder)
}

fn final_facts(outcome: Outcome, socket: &TcpSocket) -> Outcome {
    outcome
        .extra("final_state", socket.state().qt_name())
        .extra("error", socket.error().qt_name())
}

fn write_result(result: Result<usize, DeviceError>) -> i64 {
    match result {
        Ok(n) => n as i64,
        Err(_) => -1,
    }
}

// ---------------------------------------------------------------------------
// Scenarios

/// Connect to a closed port: refused.
pub fn tcp_connection_refused() -> Outcome {
    let port = free_port();
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("127.0.0.1", port);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    final_facts(Outcome::new("tcp_connection_refused", &trace), &socket)
        .fact("error_string", socket.error_string())
}

/// No descriptor left when the socket is created. Run it under
/// [`Isolation::FdLimit`]: it uses up every descriptor of the process.
pub fn tcp_emfile_on_connect() -> Outcome {
    let peer = serve_once(|_stream| ());
    // The loop's own descriptors must exist before the limit is reached.
    let _ = EventDispatcher::as_raw_fd();
    let (socket, trace, _rec) = recorded(Record::default());
    let hog = isolate::exhaust_fds();
    socket.connect_to_host("127.0.0.1", peer.port);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    drop(hog);
    // Release the peer thread, which still waits in accept.
    let _ = TcpStream::connect(("127.0.0.1", peer.port));
    final_facts(Outcome::new("tcp_emfile_on_connect", &trace), &socket)
        .fact("error_string", socket.error_string())
}

/// The peer sends 100 KiB and closes: the data stays readable after
/// `disconnected`.
pub fn tcp_remote_graceful_close_with_data() -> Outcome {
    let payload: Vec<u8> = (0..=255u8).cycle().take(102_400).collect();
    let sent = payload.clone();
    let peer = serve_once(move |mut stream| stream.write_all(&sent).expect("peer write"));
    let (socket, trace, _rec) = recorded(Record {
        ready_read: true,
        ..Record::default()
    });
    socket.connect_to_host("127.0.0.1", peer.port);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    let open_after = socket.is_open();
    let got = socket.read_all().unwrap_or_default();
    let outcome = Outcome::new("tcp_remote_graceful_close_with_data", &trace)
        .extra("readAll_after_disconnect", got.len())
        .extra("intact", py_bool(got == payload));
    final_facts(outcome, &socket).fact("is_open_after_disconnect", py_bool(open_after))
}

/// The peer sends 10 bytes, then resets the connection.
///
/// Qt's peer slept 300 ms before the RST so that the bytes were read
/// first; ours waits until our `readyRead` says so, which is what the
/// sleep stood for.
pub fn tcp_remote_rst_after_data() -> Outcome {
    let (go, wait) = mpsc::channel::<()>();
    let peer = serve_once(move |mut stream| {
        stream.write_all(b"0123456789").expect("peer write");
        let _ = wait.recv_timeout(Duration::from_secs(10));
        rst(stream);
    });
    let (socket, trace, _rec) = recorded(Record {
        ready_read: true,
        ..Record::default()
    });
    let mut go = Some(go);
    let _tell_peer = socket.ready_read().connect(move |_| {
        if let Some(go) = go.take() {
            let _ = go.send(());
        }
    });
    socket.connect_to_host("127.0.0.1", peer.port);
    until_state(&socket, SocketState::Unconnected);
    let data = socket.read_all().unwrap_or_default();
    let outcome =
        Outcome::new("tcp_remote_rst_after_data", &trace).extra("readAll", py_bytes(&data));
    final_facts(outcome, &socket)
}

/// 64 KiB writes in flight when the peer resets the connection.
pub const RST_WHILE_WRITING_CHUNKS: usize = 256;

/// The peer reads 10 bytes and resets the connection while we write.
///
/// Qt wrote 50 × 64 KiB; Qt hands the kernel one 64 KiB block per write
/// notification, so its buffer was still full when the RST came. We write
/// until the kernel refuses, and 3.2 MiB can fit in loopback's socket
/// buffers (`tcp_wmem` allows 4 MiB), in which case the RST would be seen
/// by a read, not a write. 256 × 64 KiB (16 MiB) keeps the writing in
/// progress, which is what the scenario is about.
pub fn tcp_remote_rst_while_writing() -> Outcome {
    let peer = serve_once(|mut stream| {
        let mut buf = [0; 10];
        let _ = stream.read(&mut buf);
        rst(stream);
    });
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("127.0.0.1", peer.port);
    until_state(&socket, SocketState::Connected);
    let chunk = vec![b'z'; 65536];
    for _ in 0..RST_WHILE_WRITING_CHUNKS {
        socket.write(&chunk).expect("write while connected");
    }
    until_state(&socket, SocketState::Unconnected);
    let outcome = final_facts(
        Outcome::new("tcp_remote_rst_while_writing", &trace),
        &socket,
    );
    outcome.extra("bytesToWrite", socket.bytes_to_write())
}

/// The peer shuts down its sending side and keeps reading; Qt treats that
/// as a remote close, and a later write fails.
pub fn tcp_remote_half_close_then_we_write() -> Outcome {
    let peer = serve_once(|stream| {
        stream.shutdown(Shutdown::Write).expect("shutdown");
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("read timeout");
        drain_text(&stream)
    });
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("127.0.0.1", peer.port);
    until_state(&socket, SocketState::Connected);
    until_state(&socket, SocketState::Unconnected);
    let written = write_result(socket.write(b"after-half-close"));
    trace.push(format!(
        "write() returned {written} state {}",
        socket.state().qt_name()
    ));
    let received = peer.result(WAIT);
    let outcome = Outcome::new("tcp_remote_half_close_then_we_write", &trace)
        .extra("peer_received", received);
    final_facts(outcome, &socket).fact("error_string", socket.error_string())
}

/// 16 MiB, the size of the flush and abort scenarios.
pub const BIG: usize = 16 << 20;

/// `disconnect_from_host` with 16 MiB still buffered: `Closing` at once,
/// every byte delivered, then the close.
pub fn tcp_disconnect_from_host_flushes_pending_writes() -> Outcome {
    let peer = serve_once(|stream| {
        // Why a sleep: this is the peer's behaviour under test (Qt's oracle
        // peer sleeps 0.5 s so the socket's write buffer fills up); the
        // test thread itself waits on events.
        thread::sleep(Duration::from_millis(500));
        drain_text(&stream)
    });
    let (socket, trace, rec) = recorded(Record::default());
    let not_closing = Rc::new(Cell::new(0usize));
    let n = not_closing.clone();
    let _watch = socket.bytes_written().connect_to(&socket, move |s, _| {
        if s.state() != SocketState::Closing {
            n.set(n.get() + 1);
        }
    });
    socket.connect_to_host("127.0.0.1", peer.port);
    until_state(&socket, SocketState::Connected);
    socket.write(&vec![b'q'; BIG]).expect("write");
    trace.push(format!(
        "after write: bytesToWrite {}",
        socket.bytes_to_write()
    ));
    socket.disconnect_from_host();
    trace.push(format!(
        "after disconnectFromHost: state {}",
        socket.state().qt_name()
    ));
    until_state(&socket, SocketState::Unconnected);
    let received = peer.result(WAIT);
    Outcome::new("tcp_disconnectFromHost_flushes_pending_writes", &trace)
        .extra("sum_bytesWritten", rec.bytes_written_sum())
        .extra("peer_received", received)
        .extra("expected", BIG)
        .fact("bytes_written_outside_closing", not_closing.get())
}

/// `abort` with megabytes still buffered: dropped at once, no `Closing`;
/// the peer gets what the kernel already had, then a clean EOF.
pub fn tcp_abort_discards_pending_writes() -> Outcome {
    let peer = serve_once(|stream| {
        // Why a sleep: the oracle's peer does not read for 0.5 s, so the
        // abort has pending data to drop; this is the peer, not a wait.
        thread::sleep(Duration::from_millis(500));
        drain_text(&stream)
    });
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("127.0.0.1", peer.port);
    until_state(&socket, SocketState::Connected);
    socket.write(&vec![b'q'; BIG]).expect("write");
    run_for(Duration::from_millis(50));
    socket.abort();
    trace.push(format!(
        "after abort: state {} bytesToWrite {}",
        socket.state().qt_name(),
        socket.bytes_to_write()
    ));
    run_for(Duration::from_millis(300));
    let received = peer.result(WAIT);
    Outcome::new("tcp_abort_discards_pending_writes", &trace)
        .extra("peer_received", received)
        .extra("written", BIG)
}

/// 32 MiB to a peer that reads nothing for 2 s: the writes stall without
/// spinning, then everything arrives.
pub fn tcp_big_write_slow_reader_no_busy_loop() -> Outcome {
    const N: usize = 32 << 20;
    // The oracle's slow reader stalls for 2 s. Ours stalls until the
    // measurement below is done (at most 2 s after it, as in the oracle),
    // so a loaded machine that is slow to start the measurement cannot let
    // the reader drain the bytes during it.
    let (go, stalled) = mpsc::channel::<()>();
    let peer = serve_once(move |stream| {
        let _ = stalled.recv_timeout(Duration::from_secs(60));
        drain_text(&stream)
    });
    let (socket, trace, rec) = recorded(Record::default());
    socket.connect_to_host("127.0.0.1", peer.port);
    until_state(&socket, SocketState::Connected);
    let returned = write_result(socket.write(&vec![b'w'; N]));
    let mut clock = ThreadCpu::new();
    let cpu0 = clock.used();
    run_for(Duration::from_millis(1500));
    let cpu = clock.used() - cpu0;
    trace.push(format!(
        "stalled 1.5s: sum(bytesWritten) {} bytesToWrite {} cpu_s {:.3}",
        rec.bytes_written_sum(),
        socket.bytes_to_write(),
        cpu.as_secs_f64()
    ));
    let stalled_at = rec.bytes_written_sum();
    let _ = go.send(());
    run_until("bytesToWrite 0", WAIT, || socket.bytes_to_write() == 0);
    socket.disconnect_from_host();
    until_state(&socket, SocketState::Unconnected);
    let received = peer.result(WAIT);
    Outcome::new("tcp_big_write_slow_reader_no_busy_loop", &trace)
        .extra("write_returned", returned)
        .extra("sum_bytesWritten", rec.bytes_written_sum())
        .extra("bytesWritten_signals", rec.bytes_written_signals())
        .extra("peer_received", received)
        .extra(
            "cpu_seconds_while_stalled",
            format!("{:.3}", cpu.as_secs_f64()),
        )
        .fact("cpu_ms_while_stalled", cpu.as_millis())
        .fact("bytes_written_while_stalled", stalled_at)
        .fact("expected", N)
}

/// A listener with backlog 0 whose queue is full: SYNs are dropped and
/// `wait_for_connected(1500 ms)` times out, with no `errorOccurred`.
pub fn tcp_connect_timeout_full_backlog() -> Outcome {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    listener.bind(&any.into()).expect("bind");
    listener.listen(0).expect("listen");
    let address = listener
        .local_addr()
        .expect("local_addr")
        .as_socket()
        .expect("inet");
    // Backlog 0 queues one connection: a blocking connect completes and
    // fills the queue; the SYNs of the others (and ours) are dropped.
    let mut fillers = vec![Socket::from(
        TcpStream::connect(address).expect("first filler"),
    )];
    for _ in 0..2 {
        let filler = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        filler.set_nonblocking(true).expect("nonblocking");
        let _ = filler.connect(&address.into()); // EINPROGRESS
        fillers.push(filler);
    }
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("127.0.0.1", address.port());
    let started = Instant::now();
    let connected = socket.wait_for_connected(Some(Duration::from_millis(1500)));
    let waited = started.elapsed();
    trace.push(format!(
        "waitForConnected(1500) -> {} state {} error {}",
        py_bool(connected),
        socket.state().qt_name(),
        socket.error().qt_name()
    ));
    run_for(Duration::from_millis(200));
    let outcome = Outcome::new("tcp_connect_timeout_full_backlog", &trace)
        .extra("final_state", socket.state().qt_name())
        .fact("error_string", socket.error_string())
        .fact("waited_ms", waited.as_millis());
    socket.abort();
    drop(fillers);
    outcome
}

/// What [`tcp_read_buffer_limit_backpressure`] does once the 1.2 s are up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterLimit {
    /// Abort, as Qt's oracle did.
    Abort,
    /// Read everything until the peer's close (beyond Qt's scenario).
    ReadToEnd,
}

/// A 4096-byte read buffer that the application does not read: one
/// `readyRead`, 4096 bytes buffered, the socket stops reading from the OS
/// (the peer's sends block) and nothing spins.
pub fn tcp_read_buffer_limit_backpressure(after: AfterLimit) -> Outcome {
    let peer = serve_once(|mut stream| {
        stream.set_nonblocking(true).expect("nonblocking");
        let chunk = vec![b'r'; 65536];
        let started = Instant::now();
        let mut sent = 0;
        while started.elapsed() < Duration::from_secs(1) {
            match stream.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Why a sleep: the oracle's peer retries a full send
                    // buffer every 10 ms; copied so the trace matches.
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!("peer send failed: {e}"),
            }
        }
        sent
    });
    let (socket, trace, rec) = recorded(Record::default());
    socket.set_read_buffer_size(4096);
    socket.connect_to_host("127.0.0.1", peer.port);
    let mut clock = ThreadCpu::new();
    let cpu0 = clock.used();
    run_for(Duration::from_millis(1200));
    let cpu = clock.used() - cpu0;
    let buffered = socket.bytes_available();
    let ready_reads = rec.ready_read_count();
    trace.push(format!(
        "after 1.2 s without reading: bytesAvailable {buffered} readyRead count {ready_reads} cpu_s {:.3}",
        cpu.as_secs_f64()
    ));
    let sent = peer.result(WAIT);
    let mut outcome = Outcome::new("tcp_read_buffer_limit_backpressure", &trace)
        .fact("bytes_available_at_limit", buffered)
        .fact("ready_read_at_limit", ready_reads)
        .fact("cpu_ms_at_limit", cpu.as_millis());
    match after {
        AfterLimit::Abort => socket.abort(),
        AfterLimit::ReadToEnd => {
            let received = Rc::new(Cell::new(0usize));
            let r = received.clone();
            let _reader = socket.ready_read().connect_to(&socket, move |s, _| {
                r.set(r.get() + s.read_all().map_or(0, |d| d.len()));
            });
            // Reading everything buffered resumes reading from the OS.
            received.set(socket.read_all().expect("read_all").len());
            until_state(&socket, SocketState::Unconnected);
            received.set(received.get() + socket.read_all().map_or(0, |d| d.len()));
            outcome = outcome
                .fact("received_total", received.get())
                .fact("ready_read_total", rec.ready_read_count());
            outcome.socket = Some(socket.clone());
        }
    }
    outcome.extra("peer_sent_in_1s", sent)
}

/// The process runs out of descriptors while a client waits to be
/// accepted: `acceptError(SocketResourceError)`, accepting pauses (no
/// spinning), and after `resume_accepting` the connection is taken. Run it
/// under [`Isolation::FdLimit`].
pub fn tcpserver_emfile() -> Outcome {
    let server = TcpServer::new();
    let trace = Trace::new();
    let rec = ServerRecorder::attach(&server, &trace);
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .expect("listen");
    let port = server.server_port();
    let _ = EventDispatcher::as_raw_fd();
    // The client connects before the descriptors run out (Qt's oracle used
    // another process for it); the kernel completes it in the backlog.
    let client = TcpStream::connect(("127.0.0.1", port)).expect("client connect");
    let mut clock = ThreadCpu::new();
    let hog = isolate::exhaust_fds();
    let cpu0 = clock.used();
    run_for(Duration::from_millis(1000));
    let cpu = clock.used() - cpu0;
    let listening_while_exhausted = server.is_listening();
    drop(hog);
    trace.push(format!(
        "fds freed; cpu_s during exhaustion {:.3}",
        cpu.as_secs_f64()
    ));
    server.resume_accepting();
    run_until("newConnection", WAIT, || rec.new_connections() > 0);
    run_for(Duration::from_millis(200));
    let mut outcome = Outcome::new("tcpserver_emfile", &trace)
        .extra(
            "cpu_seconds_during_emfile",
            format!("{:.3}", cpu.as_secs_f64()),
        )
        .fact("cpu_ms_during_emfile", cpu.as_millis())
        .fact(
            "listening_while_exhausted",
            py_bool(listening_while_exhausted),
        );
    drop(rec);
    drop(client);
    outcome.server = Some(server);
    outcome
}

/// A name in the `.invalid` domain: the lookup fails, no `hostFound`.
/// Our resolver answers `.invalid` itself, so this should send nothing;
/// it runs in a private namespace anyway (as Qt's oracle did), so that a
/// resolver that asks the configured DNS server cannot reach it.
pub fn tcp_dns_failure() -> Outcome {
    isolate::assert_private_netns();
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("no-such-host.invalid", 80);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    final_facts(Outcome::new("tcp_dns_failure", &trace), &socket)
}

/// 192.0.2.1 (TEST-NET-1) from a namespace without routes: `ENETUNREACH`.
/// Runs only inside a private namespace (it checks).
pub fn tcp_network_unreachable() -> Outcome {
    isolate::assert_private_netns();
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("192.0.2.1", 80);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    final_facts(Outcome::new("tcp_network_unreachable", &trace), &socket)
}

/// 203.0.113.1 behind an `unreachable` route ([`HOST_UNREACHABLE_SETUP`]):
/// `EHOSTUNREACH`. Qt's oracle got the same error from an ICMP
/// host-unreachable (nft); a route gives it without nftables, at connect
/// time instead of a moment later, with the same signals.
pub fn tcp_host_unreachable() -> Outcome {
    isolate::assert_private_netns();
    let (socket, trace, _rec) = recorded(Record::default());
    socket.connect_to_host("203.0.113.1", 9);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    final_facts(Outcome::new("tcp_host_unreachable_icmp", &trace), &socket)
}

/// The per-attempt connect timeout used by [`tcp_connect_timeout_event_loop`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

/// A connect whose SYNs vanish ([`BLACKHOLE_SETUP`]), driven by the loop
/// with a 300 ms attempt timeout: each address is tried twice, then
/// `Unconnected` and `errorOccurred(SocketTimeoutError)` "Connection timed
/// out" (as Qt 6.12 does; Qt's own timeout is 30 s per attempt, too long
/// for the oracle). Runs only inside a private namespace (it checks).
pub fn tcp_connect_timeout_event_loop() -> Outcome {
    isolate::assert_private_netns();
    let (socket, trace, _rec) = recorded(Record::default());
    socket.set_connect_timeout(ATTEMPT_TIMEOUT);
    let started = Instant::now();
    socket.connect_to_host("198.51.100.1", 80);
    trace.mark_return();
    until_state(&socket, SocketState::Unconnected);
    let waited = started.elapsed();
    final_facts(
        Outcome::new("tcp_connect_timeout_event_loop", &trace),
        &socket,
    )
    .fact("error_string", socket.error_string())
    .fact("waited_ms", waited.as_millis())
}
