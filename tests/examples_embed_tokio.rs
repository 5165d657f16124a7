//! Runs the compiled `embed_tokio` example as a user would: both of its
//! echo servers (sigloop's and tokio's, one thread) answer on loopback,
//! then the process is killed. `cargo test` builds the example.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::examples::example;

/// The longest a line or an echo may take.
const STEP: Duration = Duration::from_secs(60);

/// The running example, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends a message to `port` and reads the echo, with timeouts.
fn echo(port: u16, message: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(STEP)).unwrap();
    stream.write_all(message).unwrap();
    let mut back = vec![0u8; message.len()];
    stream.read_exact(&mut back).expect("the echo");
    back
}

fn port_of(line: &str, prefix: &str) -> u16 {
    line.strip_prefix(prefix)
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected {prefix:?}<port>, got {line:?}"))
}

#[test]
fn embed_tokio_serves_a_sigloop_and_a_tokio_echo_server_on_one_thread() {
    let mut child = Command::new(example("embed_tokio"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("embed_tokio starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let pid = child.id();
    let _running = Running(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || lines.recv_timeout(STEP).expect("a line from embed_tokio");
    let sigloop_port = port_of(&next(), "sigloop listening on ");
    let tokio_port = port_of(&next(), "tokio listening on ");
    assert_ne!(sigloop_port, tokio_port);

    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    for round in 0..3 {
        let message = format!("round {round}").into_bytes();
        assert_eq!(echo(sigloop_port, &message), message, "sigloop's server");
        assert_eq!(echo(tokio_port, &message), message, "tokio's server");
    }
    assert!(echo(sigloop_port, &big) == big, "sigloop's server, 200 kB");
    assert!(echo(tokio_port, &big) == big, "tokio's server, 200 kB");

    // One thread serves both.
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the example's threads")
        .count();
    assert_eq!(threads, 1, "embed_tokio runs on a single thread");
}

#[test]
fn embed_tokio_takes_a_port_and_refuses_a_bad_one() {
    let output = Command::new(example("embed_tokio"))
        .args(["--port", "x"])
        .output()
        .expect("embed_tokio runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: embed_tokio"));
}
