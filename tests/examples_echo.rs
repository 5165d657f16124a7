//! Runs the compiled `echo_server` and `echo_client` examples as a user
//! would: start the server on a free port, read where it listens, run the
//! client against it, check what it prints.
//!
//! Nothing is built here. `cargo test` builds the examples next to the
//! test binaries (`target/<profile>/examples/`); running this file alone
//! (`cargo test --test examples_echo`) needs `cargo build --examples`
//! first. Every wait is bounded; the server is killed when a test ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod support;

use support::examples::example;

/// The longest any single step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

/// A running `echo_server`, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        Server::start_example("echo_server")
    }

    /// `echo_server` or `async_echo_server` (the same command line).
    fn start_example(name: &str) -> Server {
        let mut child = Command::new(example(name))
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
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: ConnectionRefusedError: Connection refused\n"
    );
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
    slow_peer_gets_every_byte_back(Server::start());
}

/// The async/await echo server: the same echoes, and a slow peer gets
/// every byte back while its async writes wait on the write buffer.
#[test]
fn the_async_echo_server_echoes_like_the_slot_one() {
    let server = Server::start_example("async_echo_server");
    assert_echoed(&echo(&server, "127.0.0.1", "first"), "first");
    let big = "écho ".repeat(15_000);
    assert_echoed(&echo(&server, "127.0.0.1", &big), &big);
    slow_peer_gets_every_byte_back(server);
}

fn slow_peer_gets_every_byte_back(server: Server) {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpStream};

    const TOTAL: usize = 12 << 20;
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

/// A minimal SOCKS5 relay on 127.0.0.1 for one client, for the `--proxy`
/// tests: it checks the greeting, connects to the requested IPv4 target,
/// or, for a name, to 127.0.0.1 at the requested port (the tests' names
/// are under `.invalid`, which nothing resolves), then copies both ways.
/// Its port, and the target it was asked for.
fn socks5_relay() -> (u16, mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut client, _) = listener.accept().expect("accept");
        let mut greeting = [0; 3];
        client.read_exact(&mut greeting).expect("greeting");
        assert_eq!(greeting, [5, 1, 0]);
        client.write_all(&[5, 0]).expect("method");
        let mut head = [0; 4];
        client.read_exact(&mut head).expect("request");
        let host = match head[3] {
            1 => {
                let mut ip = [0; 4];
                client.read_exact(&mut ip).expect("ip");
                std::net::Ipv4Addr::from(ip).to_string()
            }
            3 => {
                let mut len = [0; 1];
                client.read_exact(&mut len).expect("len");
                let mut name = vec![0; len[0] as usize];
                client.read_exact(&mut name).expect("name");
                String::from_utf8(name).expect("name")
            }
            other => panic!("address type {other}"),
        };
        let mut port = [0; 2];
        client.read_exact(&mut port).expect("port");
        let port = u16::from_be_bytes(port);
        let _ = tx.send(format!("{host}:{port}"));
        let target = std::net::TcpStream::connect(("127.0.0.1", port)).expect("target");
        client
            .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
            .expect("reply");
        let (mut c2, mut t2) = (
            client.try_clone().expect("clone"),
            target.try_clone().expect("clone"),
        );
        let up = std::thread::spawn(move || {
            let _ = std::io::copy(&mut c2, &mut t2);
            let _ = t2.shutdown(std::net::Shutdown::Write);
        });
        let (mut target, mut client) = (target, client);
        let _ = std::io::copy(&mut target, &mut client);
        let _ = up.join();
    });
    (port, rx)
}

#[test]
fn client_echoes_through_the_proxy_given_as_a_url() {
    let server = Server::start();
    let (proxy_port, asked) = socks5_relay();
    let port = server.port.to_string();
    let url = format!("socks5://127.0.0.1:{proxy_port}");
    let output = client(&[
        "--port",
        &port,
        "--host",
        "127.0.0.1",
        "--message",
        "via socks",
        "--proxy",
        &url,
    ]);
    assert_echoed(&output, "via socks");
    assert_eq!(
        asked.recv_timeout(STEP).expect("the relay was asked"),
        format!("127.0.0.1:{port}")
    );
}

#[test]
fn client_takes_the_system_proxy_and_lets_it_resolve_the_name() {
    let server = Server::start();
    let (proxy_port, asked) = socks5_relay();
    let port = server.port.to_string();
    let mut command = Command::new(example("echo_client"));
    command
        .args([
            "--port",
            &port,
            "--host",
            "echo.sigloop.invalid",
            "--message",
            "via the environment",
            "--system-proxy",
        ])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("no_proxy")
        .env_remove("NO_PROXY")
        .env("all_proxy", format!("socks5h://127.0.0.1:{proxy_port}"))
        .stdin(Stdio::null());
    let output = command.output().expect("echo_client runs");
    assert_echoed(&output, "via the environment");
    assert_eq!(
        asked.recv_timeout(STEP).expect("the relay was asked"),
        format!("echo.sigloop.invalid:{port}")
    );
}

#[test]
fn client_reports_a_proxy_error_by_qt_name_and_text() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    for (scheme, text) in [
        ("socks5", "Connection to proxy refused"),
        ("http", "Proxy connection refused"),
    ] {
        let url = format!("{scheme}://127.0.0.1:{free}");
        let output = client(&[
            "--port",
            "7",
            "--host",
            "127.0.0.1",
            "--message",
            "hi",
            "--proxy",
            &url,
        ]);
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("error: ProxyConnectionRefusedError: {text}\n")
        );
    }
    let output = client(&[
        "--port",
        "7",
        "--host",
        "127.0.0.1",
        "--message",
        "hi",
        "--proxy",
        "ftp://x:1",
    ]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad URL is a bad command line"
    );
}

#[test]
fn server_reports_a_port_in_use_by_qt_name_and_text() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let output = Command::new(example("echo_server"))
        .args(["--port", &port, "--host", "127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .expect("echo_server runs");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: AddressInUseError: The bound address is already in use\n"
    );
}
