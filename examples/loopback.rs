//! Qt's loopback example (`examples/network/loopback`), ported to sigloop
//! without the GUI: a `TcpServer` and a `TcpSocket` client in one thread
//! and one event loop; the client sends 50 MB to the server over loopback,
//! refilling its write buffer as the loop reports bytes written, and the
//! server reads everything.
//!
//! ```text
//! loopback
//! ```
//!
//! Progress goes to stdout every 10 MB on each side (`client sent 10 MB /
//! 50 MB`, `server received 10 MB / 50 MB`; MB = 2^20 bytes, as in Qt's
//! example). The payload is a pseudo-random byte stream rather than Qt's
//! `'@'`s, and both ends hash what they wrote and read; when the hashes
//! and counts match the last line is `transferred 50 MB OK in <X> ms
//! (...)` and the exit status is 0. A socket error, a mismatch or a
//! transfer not done within 120 seconds prints a message on stderr and
//! exits with 1.
//!
//! Qt class → sigloop mapping used here:
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QTcpServer::listen()`, `serverPort()` | [`TcpServer::listen`] on [`SpecialAddress::LocalHost`], [`TcpServer::server_port`] |
//! | `newConnection` → `acceptConnection` → `nextPendingConnection`, `tcpServer.close()` | [`TcpServer::new_connection`], [`TcpServer::next_pending_connection`], [`TcpServer::close`] |
//! | `tcpClient.connectToHost(QHostAddress::LocalHost, port)` | [`TcpSocket::connect_to_host`] |
//! | `connected` → `startTransfer` | [`TcpSocket::connected`] |
//! | `bytesWritten(qint64)` → `updateClientProgress` | [`TcpSocket::bytes_written`] |
//! | `tcpClient.bytesToWrite()`, `write(QByteArray)` | [`TcpSocket::bytes_to_write`], [`IoDevice::write`] |
//! | `readyRead` → `updateServerProgress`: `bytesAvailable()`, `readAll()` | [`TcpSocket::ready_read`], [`IoDevice::read_all`] |
//! | `QElapsedTimer` | [`ElapsedTimer`] |
//!
//! The heart of Qt's `Dialog::updateClientProgress(qint64 numBytes)`:
//!
//! ```cpp
//! bytesWritten += int(numBytes);
//! // only write more if not finished and when the Qt write buffer is below a certain size.
//! if (bytesToWrite > 0 && tcpClient.bytesToWrite() <= 4 * PayloadSize)
//!     bytesToWrite -= tcpClient.write(QByteArray(qMin(bytesToWrite, PayloadSize), '@'));
//! ```
//!
//! Run with `cargo run --release --example loopback`.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use sigloop::net::{HostAddress, SocketError, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{ElapsedTimer, EventDispatcher, IoDevice, Timer};

/// Bytes the client sends (Qt: `TotalBytes`).
const TOTAL_BYTES: u64 = 50 * MB;
/// Bytes per write (Qt: `PayloadSize`).
const PAYLOAD_SIZE: u64 = 64 * 1024;
/// Progress is reported each time a side passes a multiple of this.
const PROGRESS_STEP: u64 = 10 * MB;
const MB: u64 = 1024 * 1024;

/// How long accepting rests after an accept error before it resumes.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How long the whole transfer may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Exit codes `exec` returns.
const OK: i32 = 0;
const FAILED: i32 = 1;

/// The payload: a xorshift64 byte stream, produced 8 bytes at a time, so
/// that lost, repeated or reordered bytes change the hash (Qt sends `'@'`
/// only).
struct Payload {
    state: u64,
}

impl Payload {
    fn new() -> Self {
        Payload {
            state: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The next `len` bytes (`len` a multiple of 8).
    fn next_chunk(&mut self, len: usize) -> Vec<u8> {
        let mut chunk = Vec::with_capacity(len);
        for _ in 0..len / 8 {
            let mut x = self.state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.state = x;
            chunk.extend_from_slice(&x.to_le_bytes());
        }
        chunk
    }
}

/// A 64-bit hash of a byte stream, fed in pieces of any size: 8-byte
/// little-endian words mixed in order (FNV-1a style, a word at a time),
/// with the tail and the length mixed in at the end.
struct StreamHash {
    hash: u64,
    carry: Vec<u8>,
    len: u64,
}

impl StreamHash {
    fn new() -> Self {
        StreamHash {
            hash: 0xcbf2_9ce4_8422_2325,
            carry: Vec::with_capacity(8),
            len: 0,
        }
    }

    fn mix(&mut self, word: u64) {
        self.hash = (self.hash ^ word)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(23);
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.carry.is_empty() {
            let take = (8 - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.carry.len() < 8 {
                return;
            }
            let word = u64::from_le_bytes(self.carry[..].try_into().expect("8 bytes"));
            self.carry.clear();
            self.mix(word);
        }
        let mut words = data.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        self.carry.extend_from_slice(words.remainder());
    }

    fn finish(&self) -> u64 {
        let mut tail = [0u8; 8];
        tail[..self.carry.len()].copy_from_slice(&self.carry);
        let mut last = StreamHash {
            hash: self.hash,
            carry: Vec::new(),
            len: 0,
        };
        last.mix(u64::from_le_bytes(tail));
        last.mix(self.len);
        last.hash
    }
}

/// The state Qt's `Dialog` keeps in members.
struct Transfer {
    /// Bytes the client has not handed to `write` yet (Qt: `bytesToWrite`).
    bytes_to_write: u64,
    /// Bytes the OS took from the client (Qt: `bytesWritten`).
    bytes_written: u64,
    /// Bytes the server read (Qt: `bytesReceived`).
    bytes_received: u64,
    payload: Payload,
    sent_hash: StreamHash,
    received_hash: StreamHash,
    /// The server's side of the connection, once accepted.
    server_connection: Option<TcpSocket>,
    elapsed: ElapsedTimer,
    /// Set when the outcome is decided; later events change nothing.
    result: Option<Result<String, String>>,
}

type Shared = Rc<RefCell<Transfer>>;

/// Ends the run with `outcome`, unless it is already decided.
fn decide(transfer: &Shared, outcome: Result<String, String>) {
    let mut t = transfer.borrow_mut();
    if t.result.is_none() {
        let code = if outcome.is_ok() { OK } else { FAILED };
        t.result = Some(outcome);
        EventDispatcher::exit(code);
    }
}

/// Prints a progress line for each multiple of [`PROGRESS_STEP`] that
/// `before..=after` crosses.
fn progress(side: &str, verb: &str, before: u64, after: u64) {
    for step in (before / PROGRESS_STEP + 1)..=(after / PROGRESS_STEP) {
        println!(
            "{side} {verb} {} MB / {} MB",
            step * PROGRESS_STEP / MB,
            TOTAL_BYTES / MB
        );
    }
}

/// Writes the next chunk (Qt: `tcpClient.write(QByteArray(qMin(bytesToWrite,
/// PayloadSize), '@'))`).
fn write_chunk(transfer: &Shared, client: &TcpSocket) {
    let chunk = {
        let mut t = transfer.borrow_mut();
        let len = t.bytes_to_write.min(PAYLOAD_SIZE);
        let chunk = t.payload.next_chunk(len as usize);
        t.sent_hash.update(&chunk);
        t.bytes_to_write -= len;
        chunk
    };
    if let Err(err) = client.write(&chunk) {
        decide(transfer, Err(format!("client write failed: {err}")));
    }
}

/// Both sides are done: compare what was sent with what was received.
fn check_done(transfer: &Shared) {
    let (outcome, connection) = {
        let mut t = transfer.borrow_mut();
        if t.result.is_some() || t.bytes_written < TOTAL_BYTES || t.bytes_received < TOTAL_BYTES {
            return;
        }
        let ms = t.elapsed.elapsed().as_secs_f64() * 1000.0;
        let (sent, received) = (t.sent_hash.finish(), t.received_hash.finish());
        let outcome = if t.bytes_written != TOTAL_BYTES || t.bytes_received != TOTAL_BYTES {
            Err(format!(
                "sent {} bytes and received {} bytes, expected {TOTAL_BYTES}",
                t.bytes_written, t.bytes_received
            ))
        } else if sent != received {
            Err(format!(
                "the bytes differ: sent hash {sent:016x}, received hash {received:016x}"
            ))
        } else {
            let mb_per_s = TOTAL_BYTES as f64 / MB as f64 / (ms / 1000.0);
            Ok(format!(
                "transferred {} MB OK in {ms:.0} ms ({mb_per_s:.1} MB/s, hash {sent:016x} at both ends)",
                TOTAL_BYTES / MB
            ))
        };
        (outcome, t.server_connection.take())
    };
    decide(transfer, outcome);
    if let Some(connection) = connection {
        // Qt: tcpServerConnection->close(), once everything arrived.
        connection.close();
    }
}

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("loopback: unknown argument {arg:?}");
        eprintln!("usage: loopback");
        return ExitCode::from(2);
    }

    let transfer: Shared = Rc::new(RefCell::new(Transfer {
        bytes_to_write: TOTAL_BYTES,
        bytes_written: 0,
        bytes_received: 0,
        payload: Payload::new(),
        sent_hash: StreamHash::new(),
        received_hash: StreamHash::new(),
        server_connection: None,
        elapsed: ElapsedTimer::started(),
        result: None,
    }));

    // Qt: Dialog::start.
    let server = TcpServer::new();
    if let Err(err) = server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }

    // An accept that fails (EMFILE: out of descriptors) pauses accepting;
    // resume after a short back-off, as the server examples do.
    let _retry = server.accept_error().connect_to(&server, |server, error| {
        eprintln!(
            "loopback: accept failed: {error} ({}); retrying",
            server.error_string()
        );
        Timer::single_shot_to(server, ACCEPT_RETRY, TcpServer::resume_accepting);
    });

    // Qt: Dialog::acceptConnection.
    let _accept = {
        let transfer = transfer.clone();
        server
            .new_connection()
            .connect_to(&server, move |server, _| {
                let Some(connection) = server.next_pending_connection() else {
                    return;
                };
                // Qt: Dialog::updateServerProgress.
                let on_read = transfer.clone();
                let _ = connection
                    .ready_read()
                    .connect_to(&connection, move |connection, _| {
                        let Ok(data) = connection.read_all() else {
                            return;
                        };
                        let (before, after) = {
                            let mut t = on_read.borrow_mut();
                            let before = t.bytes_received;
                            t.bytes_received += data.len() as u64;
                            t.received_hash.update(&data);
                            (before, t.bytes_received)
                        };
                        progress("server", "received", before, after);
                        check_done(&on_read);
                    });
                let on_error = transfer.clone();
                let _ =
                    connection
                        .error_occurred()
                        .connect_to(&connection, move |connection, _| {
                            let text = connection.error_string();
                            decide(&on_error, Err(format!("server connection: {text}")));
                        });
                let _ = connection
                    .disconnected()
                    .connect_to(&connection, |connection, _| connection.delete_later());
                transfer.borrow_mut().server_connection = Some(connection);
                server.close();
            })
    };

    let client = TcpSocket::new();
    // Qt: Dialog::startTransfer.
    let _connected = {
        let transfer = transfer.clone();
        client
            .connected()
            .connect_to(&client, move |client, _| write_chunk(&transfer, client))
    };
    // Qt: Dialog::updateClientProgress.
    let _written = {
        let transfer = transfer.clone();
        client
            .bytes_written()
            .connect_to(&client, move |client, &n| {
                let (before, after, more) = {
                    let mut t = transfer.borrow_mut();
                    let before = t.bytes_written;
                    t.bytes_written += n;
                    let more =
                        t.bytes_to_write > 0 && client.bytes_to_write() as u64 <= 4 * PAYLOAD_SIZE;
                    (before, t.bytes_written, more)
                };
                if more {
                    write_chunk(&transfer, client);
                }
                progress("client", "sent", before, after);
                check_done(&transfer);
            })
    };
    // Qt: Dialog::displayError.
    let _error = {
        let transfer = transfer.clone();
        client
            .error_occurred()
            .connect_to(&client, move |client, error| {
                // The server closing once everything arrived is no error.
                if *error != SocketError::RemoteHostClosed || transfer.borrow().result.is_none() {
                    let text = client.error_string();
                    decide(&transfer, Err(format!("client: {text}")));
                }
            })
    };
    {
        let transfer = transfer.clone();
        Timer::single_shot(TIMEOUT, move || {
            let (written, received) = {
                let t = transfer.borrow();
                (t.bytes_written, t.bytes_received)
            };
            decide(
                &transfer,
                Err(format!(
                    "not done within {TIMEOUT:?}: client sent {written} bytes, server received {received}"
                )),
            );
        });
    }

    client.connect_to_host("127.0.0.1", server.server_port());
    EventDispatcher::exec();
    client.abort();

    let result = transfer.borrow_mut().result.take();
    match result {
        Some(Ok(line)) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Some(Err(problem)) => {
            eprintln!("loopback: {problem}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!("loopback: the loop ended without a result");
            ExitCode::FAILURE
        }
    }
}
