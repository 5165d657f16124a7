//! Runs the compiled `echo_server` and `echo_client` examples as a user
//! would: start the server on a free port, read where it listens, run the
//! client against it, check what it prints.
//!
//! Nothing is built here. `cargo test` builds the examples next to the
//! test binaries (`target/<profile>/examples/`); running this file alone
//! (`cargo test --test examples_echo`) needs `cargo build --examples`
//! first. Every wait is bounded; the server is killed when a test ends.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest any single step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

/// The path of a compiled example: `target/<profile>/examples/<name>`,
/// beside the `deps/` folder this test binary lives in.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: `cargo test` builds the examples; when running this \
         test alone, run `cargo build --examples` first",
        path.display()
    );
    path
}

/// A running `echo_server`, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(example("echo_server"))
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("echo_server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        // Wrapped first, so a failed read below still kills the server.
        let mut server = Server { child, port: 0 };
        let line = first_line(stdout);
        let port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected first line from echo_server: {line:?}"));
        assert_ne!(port, 0, "the server reports the port it really got");
        server.port = port;
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line of `stdout`, read on a helper thread so the wait is
/// bounded.
fn first_line(stdout: ChildStdout) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let result = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(result);
    });
    match rx.recv_timeout(STEP) {
        Ok(Ok(line)) => line,
        Ok(Err(err)) => panic!("reading echo_server's stdout failed: {err}"),
        Err(_) => panic!("echo_server printed no line within {STEP:?}"),
    }
}

/// Runs `echo_client` with `args` to completion, within [`STEP`].
fn client(args: &[&str]) -> Output {
    let mut command = Command::new(example("echo_client"));
    command.args(args).stdin(Stdio::null());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    rx.recv_timeout(STEP)
        .unwrap_or_else(|_| panic!("echo_client did not finish within {STEP:?}"))
        .expect("echo_client runs")
}

fn echo(server: &Server, host: &str, message: &str) -> Output {
    client(&[
        "--port",
        &server.port.to_string(),
        "--host",
        host,
        "--message",
        message,
    ])
}

fn assert_echoed(output: &Output, message: &str) {
    assert!(
        output.status.success(),
        "echo_client failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{message}\n")
    );
}

#[test]
fn client_prints_the_echo_of_its_message() {
    let server = Server::start();
    let output = echo(&server, "127.0.0.1", "hello, echo");
    assert_echoed(&output, "hello, echo");
    assert!(output.stderr.is_empty());
}

#[test]
fn the_server_serves_one_connection_after_another_and_large_messages() {
    let server = Server::start();
    assert_echoed(&echo(&server, "127.0.0.1", "first"), "first");
    assert_echoed(
        &echo(&server, "localhost", "second, by name"),
        "second, by name",
    );
    // Larger than one read chunk, and not ASCII.
    let big = "écho ".repeat(15_000);
    assert_echoed(&echo(&server, "127.0.0.1", &big), &big);
}

#[test]
fn concurrent_clients_each_get_their_own_bytes_back() {
    let server = Server::start();
    let port = server.port.to_string();
    let runs: Vec<_> = (0..4)
        .map(|i| {
            let port = port.clone();
            std::thread::spawn(move || {
                let message = format!("client {i} says {}", "x".repeat(i * 1000));
                let output = client(&[
                    "--port",
                    &port,
                    "--host",
                    "127.0.0.1",
                    "--message",
                    &message,
                ]);
                (message, output)
            })
        })
        .collect();
    for run in runs {
        let (message, output) = run.join().expect("client thread");
        assert_echoed(&output, &message);
    }
}

#[test]
fn client_fails_with_a_message_when_nothing_listens() {
    // A port that was free a moment ago: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let output = client(&["--port", &port, "--host", "127.0.0.1", "--message", "hi"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Connection refused"), "stderr: {stderr}");
}

#[test]
fn bad_command_lines_are_refused_with_usage() {
    let output = client(&["--port", "1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: echo_client"));

    let output = Command::new(example("echo_server"))
        .args(["--port", "not-a-number"])
        .stdin(Stdio::null())
        .output()
        .expect("echo_server runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: echo_server"));
}

/// A peer that sends far more than it has read yet, through a small
/// receive buffer: the server's send buffer fills, its writes come back
/// short, and megabytes of echo wait in its write buffer (in pooled read
/// chunks handed over whole). Every byte comes back, in order.
#[test]
fn a_peer_that_reads_slowly_gets_every_byte_back() {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpStream};

    const TOTAL: usize = 12 << 20;
    let server = Server::start();
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    // Set before connecting so that the window follows it: the echo then
    // outruns what this side can take in, and piles up in the server.
    socket.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    socket
        .connect_timeout(&to.into(), STEP)
        .expect("connects to the echo server");
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(STEP)).expect("read timeout");
    stream.set_write_timeout(Some(STEP)).expect("write timeout");
    let pattern = |i: usize| (i % 251) as u8;
    let mut writer = stream.try_clone().expect("a second handle");
    let sender = std::thread::spawn(move || {
        let block: Vec<u8> = (0..64 * 1024).map(pattern).collect();
        for _ in 0..TOTAL / block.len() {
            writer
                .write_all(&block)
                .expect("the server takes the bytes");
        }
    });
    let mut reader = stream;
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    while got < TOTAL {
        let n = reader.read(&mut buf).expect("the echo keeps coming");
        assert_ne!(n, 0, "the server closed after {got} bytes");
        for (k, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, pattern((got + k) % (64 * 1024)), "byte {}", got + k);
        }
        got += n;
    }
    sender.join().expect("the sender finished");
}
