//! Qt's fortune protocol and a bulk echo against a real Qt: PySide6's
//! `QTcpServer`, `QTcpSocket` and `QDataStream` (the Qt that
//! PySide6-Essentials 6.11.3 bundles), over loopback TCP.
//!
//! The peers are small scripts in `tests/interop/peers/`, run with the
//! project's `.venv/bin/python`; `bash .ci/run` creates that venv and
//! installs the pinned PySide6 into it. Without it these tests do not run
//! and say so on stderr, unless `SIGLOOP_REQUIRE_PEERS=1` (set by
//! `.ci/test`) makes them fail (see `support::peers`).
//!
//! - `fortune_server.py` / `fortune_client.py` follow Qt's fortune server
//!   and client: one `QString` (quint32 byte length + UTF-16BE, stream
//!   version Qt_5_10 when written, Qt_4_0 when read, no other framing),
//!   then `disconnectFromHost`; the client reads it in a read transaction.
//!   The Qt client also prints the exact bytes it consumed.
//! - `echo_peer.py` echoes one connection and reports the byte count and
//!   the SHA-1 of what it echoed.
//!
//! Fortunes: a plain string, an empty string, a null string (Qt writes the
//! length `ffffffff`; sigloop reads and writes it as `None`), and text
//! beyond the BMP (surrogate pairs). Both directions are checked with
//! sigloop used directly here, and again with the example binaries
//! (`fortune_client`, `blocking_fortune_client`, `async_fortune_client`,
//! `fortune_server`,
//! `threaded_fortune_server`), which `cargo test` builds; running this file
//! alone needs `cargo build --examples` first for those.
//!
//! Every wait is bounded: the loop runs under a deadline timer, peer lines
//! are read with timeouts, and each peer has a 60 s watchdog of its own.

mod support;

use support::hex::hex;

use support::examples::example;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sigloop::{
    DataStream, DataStreamStatus, DataStreamVersion, EventDispatcher, HostAddress, IoDevice,
    LoopHandle, SocketError, SpecialAddress, TcpServer, TcpSocket, Timer,
};

/// The longest a peer may take to print a line, or a process to finish.
const STEP: Duration = Duration::from_secs(60);
/// The longest one exchange may keep our event loop running.
const LOOP_DEADLINE: Duration = Duration::from_secs(90);
/// Bytes sent through the echo peer.
const ECHO_BYTES: usize = 16 * 1024 * 1024;

/// The fortunes every direction is checked with: `None` is a null QString.
const FORTUNES: [(&str, Option<&str>); 4] = [
    (
        "plain",
        Some("You've been leading a dog's life. Stay off the furniture."),
    ),
    ("empty", Some("")),
    ("null", None),
    ("non-BMP", Some("🦀 fortune 🎉")),
];

// ----------------------------------------------------------------------
// The wire format, written out by hand (not by DataStream)
// ----------------------------------------------------------------------

/// A `QString` as Qt's `QDataStream` writes it from version Qt_4_0 on:
/// quint32 big-endian byte length, then UTF-16BE; null is `ffffffff`.
fn qstring_wire(text: Option<&str>) -> Vec<u8> {
    let Some(text) = text else {
        return vec![0xff; 4];
    };
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut out = ((units.len() * 2) as u32).to_be_bytes().to_vec();
    for unit in units {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

/// What our clients and Qt's client print for a fortune.
fn fortune_line(text: Option<&str>) -> String {
    match text {
        Some(text) => format!("FORTUNE {text}"),
        None => "NULL FORTUNE".to_owned(),
    }
}

/// The arguments that make a fortune server (ours or Qt's) send `text`.
fn server_args(text: Option<&str>) -> Vec<String> {
    match text {
        Some(text) => vec!["--fortune".to_owned(), text.to_owned()],
        None => vec!["--null".to_owned()],
    }
}

// ----------------------------------------------------------------------
// SHA-1 (FIPS 180-4), to compare with the peer's hashlib digest
// ----------------------------------------------------------------------

fn sha1_hex(data: &[u8]) -> String {
    fn compress(h: &mut [u32; 5], block: &[u8]) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = *h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }

    let mut h: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    let whole = data.len() / 64 * 64;
    let mut tail = data[whole..].to_vec();
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in data[..whole].chunks_exact(64).chain(tail.chunks_exact(64)) {
        compress(&mut h, block);
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

// ----------------------------------------------------------------------
// The Python peers
// ----------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    support::peers::venv_python()
}

fn peer_script(name: &str) -> PathBuf {
    repo().join("tests/interop/peers").join(name)
}

/// A running Python peer, killed on drop. Its stdout is read line by line
/// on a helper thread (which, if given a loop handle, stops that loop when
/// the peer closes its stdout, i.e. exits); its stderr is collected.
struct Peer {
    name: String,
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Peer {
    fn spawn(script: &str, args: &[String], on_exit: Option<LoopHandle>) -> Peer {
        let path = peer_script(script);
        let mut child = Command::new(venv_python())
            .arg(&path)
            .args(args)
            .env("QT_QPA_PLATFORM", "offscreen")
            .env("PYTHONUTF8", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start the Qt peer {}: {e}", path.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
            if let Some(handle) = on_exit {
                let _ = handle.exit(0);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            sink.lock().expect("stderr lock").push_str(&text);
        });
        Peer {
            name: format!("{script} {args:?}"),
            child,
            lines,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// A server peer: started, and its port read from its first line.
    fn server(script: &str, args: &[String]) -> (Peer, u16) {
        let mut peer = Peer::spawn(script, args, None);
        let line = peer.next_line();
        let port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {}: {line:?}", peer.name));
        (peer, port)
    }

    fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(line) => line,
            Err(_) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.stderr();
                panic!(
                    "the Qt peer {} printed no further line within {STEP:?}; its stderr:\n{stderr}",
                    self.name
                )
            }
        }
    }

    /// Everything on stderr so far (all of it once the peer has exited).
    fn stderr(&mut self) -> String {
        if let Some(reader) = self.stderr_reader.take() {
            if self.child.try_wait().ok().flatten().is_some() {
                let _ = reader.join();
            } else {
                self.stderr_reader = Some(reader);
            }
        }
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// For a peer whose stdout has closed: its status, its remaining
    /// stdout lines and its stderr.
    fn finished(mut self) -> (ExitStatus, Vec<String>, String) {
        let status = self.child.wait().expect("the peer's status");
        let lines = self.lines.try_iter().collect();
        let stderr = self.stderr();
        (status, lines, stderr)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A single-shot deadline on this thread's loop that leaves it with code 1;
/// stopped when the returned timer is dropped.
fn deadline(fired: impl Fn() + 'static) -> Timer {
    let timer = Timer::new();
    timer.set_single_shot(true);
    let _ = timer.timeout().connect(move |_| {
        fired();
        EventDispatcher::exit(1);
    });
    timer.start_with(LOOP_DEADLINE);
    timer
}

// ----------------------------------------------------------------------
// sigloop's side, used directly
// ----------------------------------------------------------------------

/// What sigloop's fortune client got: the fortune and the exact bytes the
/// read transaction consumed.
type Fetched = Result<(Option<String>, Vec<u8>), String>;

/// Qt's `Client::readFortune` with sigloop: connect, read one QString
/// (stream version Qt_4_0) in a read transaction, return it.
fn sigloop_fetch_fortune(port: u16) -> Fetched {
    let result: std::rc::Rc<std::cell::RefCell<Option<Fetched>>> = Default::default();
    let decide = {
        let result = result.clone();
        move |outcome: Fetched| {
            let mut slot = result.borrow_mut();
            if slot.is_none() {
                *slot = Some(outcome);
                EventDispatcher::exit(0);
            }
        }
    };
    let socket = TcpSocket::new();
    let _read = {
        let decide = decide.clone();
        socket.ready_read().connect_to(&socket, move |socket, _| {
            let raw = socket.peek(socket.bytes_available()).unwrap_or_default();
            let mut input = DataStream::new(socket);
            input.set_version(DataStreamVersion::QT_4_0);
            input.start_transaction();
            let fortune: Option<String> = input.read();
            if input.commit_transaction() {
                let consumed = raw.len() - socket.bytes_available();
                decide(Ok((fortune, raw[..consumed].to_vec())));
            } else if input.status() != DataStreamStatus::ReadPastEnd {
                decide(Err(format!(
                    "sigloop's DataStream rejected the bytes ({}): {}",
                    input.status(),
                    hex(&raw)
                )));
            }
        })
    };
    let _error = {
        let decide = decide.clone();
        socket
            .error_occurred()
            .connect_to(&socket, move |socket, error| {
                if *error != SocketError::RemoteHostClosed {
                    decide(Err(format!("socket error: {}", socket.error_string())));
                }
            })
    };
    let _closed = {
        let decide = decide.clone();
        socket.disconnected().connect_to(&socket, move |socket, _| {
            let left = socket.read_all().unwrap_or_default();
            decide(Err(format!(
                "the Qt server closed before a whole fortune arrived; unread bytes: {}",
                hex(&left)
            )));
        })
    };
    let _deadline = {
        let decide = decide.clone();
        deadline(move || decide(Err(format!("no fortune within {LOOP_DEADLINE:?}"))))
    };
    socket.connect_to_host("127.0.0.1", port);
    EventDispatcher::exec();
    socket.abort();
    let outcome = result.borrow_mut().take();
    outcome.unwrap_or_else(|| Err("the loop ended without an outcome".to_owned()))
}

/// Qt's fortune server with sigloop: every connection gets `text` as a
/// QString (stream version Qt_5_10), then `disconnect_from_host`, and
/// `delete_later` on `disconnected`. Runs Qt's fortune client against it
/// and returns the client's status, stdout lines and stderr.
fn qt_client_against_sigloop_server(text: Option<&str>) -> (ExitStatus, Vec<String>, String) {
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .unwrap_or_else(|e| panic!("listen: {e} ({})", server.error_string()));
    let block = {
        let mut block = Vec::new();
        let mut out = DataStream::writer(&mut block);
        out.set_version(DataStreamVersion::QT_5_10);
        out.write(&text);
        assert_eq!(out.status(), DataStreamStatus::Ok);
        block
    };
    assert_eq!(
        hex(&block),
        hex(&qstring_wire(text)),
        "sigloop's DataStream writes another block than Qt's format"
    );
    let _serve = server
        .new_connection()
        .connect_to(&server, move |server, _| {
            while let Some(connection) = server.next_pending_connection() {
                let _ = connection
                    .disconnected()
                    .connect_to(&connection, |connection, _| connection.delete_later());
                connection.write(&block).expect("write the fortune");
                connection.disconnect_from_host();
            }
        });

    let client = Peer::spawn(
        "fortune_client.py",
        &[
            "--host".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            server.server_port().to_string(),
        ],
        Some(EventDispatcher::handle()),
    );
    let _deadline = deadline(|| {});
    let code = EventDispatcher::exec();
    assert_eq!(
        code, 0,
        "Qt's fortune client did not finish within {LOOP_DEADLINE:?}"
    );
    server.close();
    client.finished()
}

/// Checks Qt's fortune client's report: status 0, the exact wire bytes and
/// the fortune line.
fn check_qt_client_report(
    case: &str,
    text: Option<&str>,
    (status, lines, stderr): (ExitStatus, Vec<String>, String),
    failures: &mut Vec<String>,
) {
    let expected = vec![
        format!("WIRE {}", hex(&qstring_wire(text))),
        fortune_line(text),
    ];
    if !status.success() || lines != expected {
        failures.push(format!(
            "{case}: Qt's fortune client exited with {status}\n  expected stdout {expected:?}\n  \
             got stdout      {lines:?}\n  stderr: {stderr}"
        ));
    }
}

// ----------------------------------------------------------------------
// The tests: sigloop used directly
// ----------------------------------------------------------------------

#[test]
fn sha1_helper_matches_the_standard_test_vectors() {
    assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(
        sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
    assert_eq!(
        sha1_hex(&vec![b'a'; 1_000_000]),
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
    );
}

#[test]
fn sigloop_client_reads_fortunes_from_qt_fortune_server() {
    if support::peers::python(
        "interop_fortune::sigloop_client_reads_fortunes_from_qt_fortune_server",
    )
    .is_none()
    {
        return;
    }
    let mut failures = Vec::new();
    for (case, text) in FORTUNES {
        let (_server, port) = Peer::server("fortune_server.py", &server_args(text));
        match sigloop_fetch_fortune(port) {
            Ok((fortune, wire)) => {
                if fortune.as_deref() != text || wire != qstring_wire(text) {
                    failures.push(format!(
                        "{case}: expected {text:?} from bytes {}\n  got {fortune:?} from bytes {}",
                        hex(&qstring_wire(text)),
                        hex(&wire)
                    ));
                }
            }
            Err(problem) => failures.push(format!("{case}: {problem}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn qt_fortune_client_reads_fortunes_from_sigloop_server() {
    if support::peers::python(
        "interop_fortune::qt_fortune_client_reads_fortunes_from_sigloop_server",
    )
    .is_none()
    {
        return;
    }
    let mut failures = Vec::new();
    for (case, text) in FORTUNES {
        let report = qt_client_against_sigloop_server(text);
        check_qt_client_report(case, text, report, &mut failures);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn sixteen_mib_through_sigloop_socket_and_qt_echo_peer() {
    if support::peers::python(
        "interop_fortune::sixteen_mib_through_sigloop_socket_and_qt_echo_peer",
    )
    .is_none()
    {
        return;
    }
    // Pseudo-random bytes (xorshift64), so that lost, repeated or
    // reordered bytes show.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let sent: Vec<u8> = (0..ECHO_BYTES / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    let sent = std::rc::Rc::new(sent);

    let (mut peer, port) = Peer::server("echo_peer.py", &[]);
    let received = std::rc::Rc::new(std::cell::RefCell::new(Vec::with_capacity(ECHO_BYTES)));
    let failure = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));

    let socket = TcpSocket::new();
    let _connected = {
        let sent = sent.clone();
        socket.connected().connect_to(&socket, move |socket, _| {
            socket.write(&sent).expect("write 16 MiB");
        })
    };
    let _read = {
        let received = received.clone();
        socket.ready_read().connect_to(&socket, move |socket, _| {
            let data = socket.read_all().expect("read");
            let mut received = received.borrow_mut();
            received.extend_from_slice(&data);
            if received.len() >= ECHO_BYTES {
                socket.disconnect_from_host();
            }
        })
    };
    let _error = {
        let failure = failure.clone();
        socket
            .error_occurred()
            .connect_to(&socket, move |socket, error| {
                if *error != SocketError::RemoteHostClosed {
                    failure
                        .borrow_mut()
                        .get_or_insert_with(|| format!("socket error: {}", socket.error_string()));
                    EventDispatcher::exit(1);
                }
            })
    };
    let _closed = socket.disconnected().connect(|_| EventDispatcher::exit(0));
    let _deadline = {
        let received = received.clone();
        let failure = failure.clone();
        deadline(move || {
            let got = received.borrow().len();
            failure.borrow_mut().get_or_insert_with(|| {
                format!("not done within {LOOP_DEADLINE:?}: {got} of {ECHO_BYTES} bytes back")
            });
        })
    };
    socket.connect_to_host("127.0.0.1", port);
    let code = EventDispatcher::exec();
    socket.abort();
    if let Some(problem) = failure.borrow_mut().take() {
        panic!("{problem}; the Qt peer's stderr:\n{}", peer.stderr());
    }
    assert_eq!(code, 0);

    // The peer reports when it sees the close.
    let report = peer.next_line();
    let received = received.borrow();
    let mut problems = Vec::new();
    if received.len() != sent.len() {
        problems.push(format!(
            "sent {} bytes, {} came back",
            sent.len(),
            received.len()
        ));
    }
    if let Some(at) = sent.iter().zip(received.iter()).position(|(a, b)| a != b) {
        let end = (at + 16).min(received.len());
        problems.push(format!(
            "first difference at byte {at}: sent {}, got {}",
            hex(&sent[at..(at + 16).min(sent.len())]),
            hex(&received[at..end])
        ));
    }
    let (sent_sha1, received_sha1) = (sha1_hex(&sent), sha1_hex(&received));
    if sent_sha1 != received_sha1 {
        problems.push(format!(
            "SHA-1 of what was sent {sent_sha1}, of what came back {received_sha1}"
        ));
    }
    let expected_report = format!("ECHOED {} {sent_sha1}", sent.len());
    if report != expected_report {
        problems.push(format!(
            "the Qt peer reported {report:?}, expected {expected_report:?}"
        ));
    }
    assert!(
        problems.is_empty(),
        "\n{}\nthe Qt peer's stderr:\n{}",
        problems.join("\n"),
        peer.stderr()
    );
}

// ----------------------------------------------------------------------
// The tests: the example binaries
// ----------------------------------------------------------------------

/// Runs `command` to completion within [`STEP`].
fn output_within(what: &str, mut command: Command) -> Output {
    command.stdin(Stdio::null());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    rx.recv_timeout(STEP)
        .unwrap_or_else(|_| panic!("{what} did not finish within {STEP:?}"))
        .unwrap_or_else(|e| panic!("{what} does not run: {e}"))
}

/// A running example server, killed on drop.
struct ExampleServer {
    child: Child,
    port: u16,
}

impl ExampleServer {
    fn start(name: &str, args: &[String]) -> ExampleServer {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let result = stdout.read_line(&mut line).map(|_| line);
            let _ = tx.send(result);
            // Keep draining: `threaded_fortune_server` prints a line per
            // connection.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let mut server = ExampleServer { child, port: 0 };
        let line = match rx.recv_timeout(STEP) {
            Ok(Ok(line)) => line,
            Ok(Err(err)) => panic!("reading {name}'s stdout failed: {err}"),
            Err(_) => panic!("{name} printed no line within {STEP:?}"),
        };
        server.port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        server
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn example_clients_read_fortunes_from_qt_fortune_server() {
    if support::peers::python(
        "interop_fortune::example_clients_read_fortunes_from_qt_fortune_server",
    )
    .is_none()
    {
        return;
    }
    let mut failures = Vec::new();
    for (case, text) in FORTUNES {
        let (_server, port) = Peer::server("fortune_server.py", &server_args(text));
        for client in [
            "fortune_client",
            "blocking_fortune_client",
            "async_fortune_client",
        ] {
            let mut command = Command::new(example(client));
            command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
            let output = output_within(client, command);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let expected = format!("{}\n", fortune_line(text));
            if !output.status.success() || stdout != expected {
                failures.push(format!(
                    "{case}: {client} exited with {}\n  expected stdout {expected:?}\n  got stdout      \
                     {stdout:?}\n  stderr: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn qt_fortune_client_reads_fortunes_from_example_servers() {
    if support::peers::python(
        "interop_fortune::qt_fortune_client_reads_fortunes_from_example_servers",
    )
    .is_none()
    {
        return;
    }
    let mut failures = Vec::new();
    for server_name in ["fortune_server", "threaded_fortune_server"] {
        for (case, text) in FORTUNES {
            let server = ExampleServer::start(server_name, &server_args(text));
            let mut command = Command::new(venv_python());
            command
                .arg(peer_script("fortune_client.py"))
                .args(["--host", "127.0.0.1", "--port", &server.port.to_string()])
                .env("QT_QPA_PLATFORM", "offscreen")
                .env("PYTHONUTF8", "1")
                .env("PYTHONIOENCODING", "utf-8");
            let output = output_within("Qt's fortune client", command);
            let lines = String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            let report = (
                output.status,
                lines,
                String::from_utf8_lossy(&output.stderr).into_owned(),
            );
            check_qt_client_report(
                &format!("{server_name}, {case}"),
                text,
                report,
                &mut failures,
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
