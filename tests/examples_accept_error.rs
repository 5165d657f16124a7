//! The server examples keep serving after the process runs out of
//! descriptors: an accept that fails with `EMFILE` pauses accepting (as in
//! Qt), and each example resumes it after a 100 ms back-off, without
//! spinning meanwhile, so connections that waited in the kernel's backlog
//! are served once descriptors are back.
//!
//! For real: each example runs as a user would run it; its descriptor
//! limit is then lowered from outside with `prlimit(1)` (util-linux) below
//! the descriptors it holds, so its next `accept` fails with `EMFILE`; a
//! client connects; the test watches the example report the failure and
//! retry, measures the example's CPU time over the retries, restores the
//! limit and checks that the waiting client is served.
//!
//! Nothing is built here: `cargo test` builds the examples (running this
//! file alone needs `cargo build --examples` first). Loopback only; every
//! wait is bounded; the examples are killed when a test ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

mod support;

use support::examples::example;

/// The longest any single step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

/// Accept failures to see before the limit comes back: the first and
/// two retries.
const FAILURES_SEEN: usize = 3;

/// A running server example, killed on drop; its stdout and stderr lines
/// arrive on channels.
struct Example {
    name: &'static str,
    child: Child,
    port: u16,
    stderr: Receiver<String>,
}

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Example {
    fn start(name: &'static str, args: &[&str]) -> Example {
        let mut child = Command::new(example(name))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("{name} starts: {err}"));
        let stdout = lines(child.stdout.take().expect("piped stdout"));
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        let mut example = Example {
            name,
            child,
            port: 0,
            stderr,
        };
        let line = stdout
            .recv_timeout(STEP)
            .unwrap_or_else(|_| panic!("{name} printed no line within {STEP:?}"));
        example.port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        // Keep draining stdout (the threaded server logs each connection).
        std::thread::spawn(move || while stdout.recv().is_ok() {});
        example
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sets the soft `RLIMIT_NOFILE` of the example with `prlimit(1)`.
    fn set_fd_limit(&self, soft: u64) {
        let status = Command::new("prlimit")
            .arg(format!("--pid={}", self.pid()))
            .arg(format!("--nofile={soft}:"))
            .status()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run prlimit (util-linux; `.ci/test` installs it): {err}. \
                     It lowers the example's descriptor limit from outside."
                )
            });
        assert!(status.success(), "prlimit --nofile={soft}: {status}");
    }

    /// The example's soft descriptor limit (`/proc/<pid>/limits`).
    fn fd_limit(&self) -> u64 {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid()))
            .expect("/proc/<pid>/limits");
        limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse().ok())
            .expect("the 'Max open files' soft limit")
    }

    /// CPU time used so far by the example's main thread, the one with
    /// the event loop that accepts (`/proc/<pid>/schedstat`, nanoseconds).
    fn cpu(&self) -> Duration {
        let text = std::fs::read_to_string(format!("/proc/{}/schedstat", self.pid()))
            .expect("/proc/<pid>/schedstat");
        let ns = text
            .split_whitespace()
            .next()
            .and_then(|f| f.parse().ok())
            .expect("schedstat's first field");
        Duration::from_nanos(ns)
    }

    /// Waits for the next stderr line that reports an accept failure.
    fn accept_failure(&self) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains("accept failed") => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "{} reported no accept failure within {STEP:?} while out of descriptors",
                    self.name
                ),
            }
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the scenario against `example`; `served` checks that a client
/// that connected while descriptors were exhausted is served afterwards.
fn survives_descriptor_exhaustion(example: Example, served: impl FnOnce(&mut TcpStream)) {
    let limit = example.fd_limit();
    // Below the descriptors any example holds (stdio, the poll, its waker,
    // the listener): every accept fails with EMFILE.
    example.set_fd_limit(1);
    let mut client = TcpStream::connect(("127.0.0.1", example.port)).expect("connect");
    client.set_read_timeout(Some(STEP)).unwrap();

    let first = example.accept_failure();
    assert!(
        first.contains("Out of resources"),
        "{}: unexpected report {first:?}",
        example.name
    );
    let (cpu_before, started) = (example.cpu(), Instant::now());
    for _ in 1..FAILURES_SEEN {
        example.accept_failure();
    }
    let (cpu, wall) = (example.cpu() - cpu_before, started.elapsed());
    // Two back-offs of 100 ms: resuming at once instead spun at full CPU.
    assert!(
        wall >= Duration::from_millis(150),
        "{}: retried after {wall:?}",
        example.name
    );
    assert!(
        cpu < wall / 4,
        "{}: used {cpu:?} of CPU in {wall:?} while out of descriptors: it spins",
        example.name
    );

    example.set_fd_limit(limit);
    served(&mut client);
}

#[test]
fn echo_server_resumes_accepting_after_emfile() {
    let example = Example::start("echo_server", &[]);
    survives_descriptor_exhaustion(example, |client| {
        client.write_all(b"ping").unwrap();
        let mut echo = [0u8; 4];
        client.read_exact(&mut echo).expect("the echo");
        assert_eq!(&echo, b"ping");
    });
}

/// Qt's wire format of the fortune "hi": its UTF-16BE byte length, then
/// the text.
const HI: [u8; 8] = [0, 0, 0, 4, 0, b'h', 0, b'i'];

fn assert_fortune_hi(client: &mut TcpStream) {
    let mut fortune = Vec::new();
    client.read_to_end(&mut fortune).expect("the fortune");
    assert_eq!(fortune, HI);
}

#[test]
fn fortune_server_resumes_accepting_after_emfile() {
    let example = Example::start("fortune_server", &["--fortune", "hi"]);
    survives_descriptor_exhaustion(example, assert_fortune_hi);
}

#[test]
fn threaded_fortune_server_resumes_accepting_after_emfile() {
    let example = Example::start("threaded_fortune_server", &["--fortune", "hi"]);
    survives_descriptor_exhaustion(example, assert_fortune_hi);
}
