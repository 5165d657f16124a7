//! Runs the compiled `relay` example as a user would and checks its write
//! back-pressure: 1 GiB from a fast sender through the relay to a reader
//! that takes 32 MB/s for the first 64 MiB and 128 MB/s after arrives whole (hash and count), while the relay's
//! resident memory stays within a few MiB of what it had at start.
//! Without the water marks the same run grows the relay to hundreds of
//! MiB (the relay's whole backlog waits in its write buffer).
//!
//! Loopback only. Nothing is built here (`cargo test` builds the
//! examples); every wait is bounded and the relay is killed when a test
//! ends.

use std::hash::{DefaultHasher, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod support;

use support::examples::example;

/// How much goes through the relay.
const TOTAL: usize = 1 << 30;
/// The sender's writes.
const CHUNK: usize = 1 << 20;
/// The reader's pace, well below what the relay forwards (about 600 MB/s
/// for a debug build on a quiet development machine), so that the relay's
/// outgoing side is the bottleneck and its write buffer would grow.
const READ_RATE: f64 = 128e6;
/// The reader starts slower for this much, so that even a relay slowed
/// by a loaded machine (50 MB/s seen at a load average of 10) outpaces it
/// for a while.
const SLOW_START: usize = 64 << 20;
const SLOW_RATE: f64 = 32e6;
/// The most the relay may grow above its resident size at start.
const GROWTH_LIMIT_KIB: u64 = 4 * 1024;
/// The longest the transfer may take before the test fails: 1 GiB at the
/// reader's pace is 10 s.
const TRANSFER: Duration = Duration::from_secs(120);
const STEP: Duration = Duration::from_secs(30);

/// A running `relay`, killed on drop.
struct Relay {
    child: Child,
    port: u16,
}

impl Relay {
    fn start(to: u16) -> Relay {
        let mut child = Command::new(example("relay"))
            .args(["--port", "0", "--to", &format!("127.0.0.1:{to}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relay starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut relay = Relay { child, port: 0 };
        let line = first_line(stdout);
        relay.port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected first line from relay: {line:?}"));
        relay
    }

    /// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the relay's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in {status}"))
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn first_line(stdout: ChildStdout) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(STEP) {
        Ok(Ok(line)) => line,
        Ok(Err(err)) => panic!("reading relay's stdout failed: {err}"),
        Err(_) => panic!("relay printed no line within {STEP:?}"),
    }
}

/// Chunk `index` of the stream: 1 MiB of a fixed pattern with the index
/// in front, so a lost, repeated or reordered chunk changes the hash.
fn chunk(pattern: &mut [u8], index: usize) -> &[u8] {
    pattern[..8].copy_from_slice(&(index as u64).to_le_bytes());
    pattern
}

/// When the reader may have read `total` bytes.
fn due(total: usize) -> Duration {
    let slow = total.min(SLOW_START);
    Duration::from_secs_f64(slow as f64 / SLOW_RATE + (total - slow) as f64 / READ_RATE)
}

/// Reads everything from `stream` at [`SLOW_RATE`], then [`READ_RATE`],
/// hashing it; returns the count and the hash.
fn slow_reader(mut stream: TcpStream) -> (usize, u64) {
    let mut hasher = DefaultHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    let started = Instant::now();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (total, hasher.finish()),
            Ok(n) => {
                hasher.write(&buf[..n]);
                total += n;
            }
            Err(err) => panic!("the reader's read failed after {total} bytes: {err}"),
        }
        // Pacing the consumer (not waiting for an event): a reader
        // slower than the relay is what makes the relay hold back.
        if let Some(ahead) = due(total).checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
    }
}

#[test]
fn a_gibibyte_to_a_slow_reader_keeps_the_relay_small() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = Relay::start(target.local_addr().unwrap().port());
    let start_kib = relay.status_kib("VmRSS");

    let (read_tx, read_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = target.accept().expect("the relay connects on");
        let _ = read_tx.send(slow_reader(stream));
    });
    let mut sender = TcpStream::connect(("127.0.0.1", relay.port)).unwrap();
    let (sent_tx, sent_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut hasher = DefaultHasher::new();
        let mut pattern: Vec<u8> = (0..CHUNK).map(|i| (i * 7 % 251) as u8).collect();
        for index in 0..TOTAL / CHUNK {
            let data = chunk(&mut pattern, index);
            hasher.write(data);
            sender.write_all(data).expect("the relay takes the stream");
        }
        // The end of the stream: the relay passes it on once all is sent.
        sender.shutdown(Shutdown::Write).unwrap();
        let _ = sent_tx.send(hasher.finish());
    });

    let started = Instant::now();
    let sent = sent_rx.recv_timeout(TRANSFER).expect("the sender finishes");
    let left = TRANSFER.saturating_sub(started.elapsed());
    let (count, received) = read_rx.recv_timeout(left).expect("the reader finishes");
    let took = started.elapsed();
    let peak_kib = relay.status_kib("VmHWM");
    eprintln!(
        "relay: {TOTAL} bytes in {took:?}; resident {start_kib} KiB at start, peak {peak_kib} KiB"
    );
    assert_eq!(count, TOTAL, "every byte arrives");
    assert_eq!(received, sent, "in order and unchanged");
    assert!(
        peak_kib <= start_kib + GROWTH_LIMIT_KIB,
        "the relay grew from {start_kib} KiB to {peak_kib} KiB"
    );
}

/// The other direction: what the far side sends comes back to the client.
#[test]
fn the_relay_forwards_both_ways() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let relay = Relay::start(target.local_addr().unwrap().port());
    std::thread::spawn(move || {
        // An echo server: what the client sends comes back through the relay.
        let (mut stream, _) = target.accept().expect("the relay connects on");
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 || stream.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
    let mut client = TcpStream::connect(("127.0.0.1", relay.port)).unwrap();
    client.set_read_timeout(Some(STEP)).unwrap();
    let message = b"through the relay and back";
    client.write_all(message).unwrap();
    let mut back = vec![0u8; message.len()];
    client.read_exact(&mut back).expect("the echo comes back");
    assert_eq!(back, message);
}

/// A far side that refuses: the client's connection is closed (end of
/// stream), and the relay goes on serving.
#[test]
fn a_refused_far_side_closes_the_client() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let relay = Relay::start(closed_port);
    for _ in 0..2 {
        let mut client = TcpStream::connect(("127.0.0.1", relay.port)).unwrap();
        client.set_read_timeout(Some(STEP)).unwrap();
        let mut buf = [0u8; 16];
        let n = client
            .read(&mut buf)
            .expect("the end of stream, not a timeout");
        assert_eq!(n, 0);
    }
}
