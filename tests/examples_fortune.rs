//! Runs the compiled ports of Qt's network examples as a user would:
//! `fortune_server`, `fortune_client`, `blocking_fortune_client`,
//! `async_fortune_client`,
//! `threaded_fortune_server`, `loopback` and `demo`, and checks what they
//! print and how they exit.
//!
//! Nothing is built here. `cargo test` builds the examples next to the
//! test binaries (`target/<profile>/examples/`); running this file alone
//! (`cargo test --test examples_fortune`) needs `cargo build --examples`
//! first. Everything runs on loopback; every wait is bounded; servers are
//! killed when a test ends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

mod support;

use support::examples::example;

/// The longest a server may take to print a line, or a client to finish.
const STEP: Duration = Duration::from_secs(60);
/// The longest `loopback` may run (its own limit is 120 s).
const LOOPBACK_STEP: Duration = Duration::from_secs(150);

/// The fortunes of Qt's example, which the servers pick from.
const QT_FORTUNES: [&str; 7] = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
];

/// A running server example, killed on drop. Its stdout is read line by
/// line on a helper thread, so every wait for a line is bounded.
struct Server {
    name: &'static str,
    child: Child,
    lines: Receiver<String>,
    port: u16,
}

impl Server {
    fn start(name: &'static str, args: &[&str]) -> Server {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wrapped first, so a failed read below still kills the server.
        let mut server = Server {
            name,
            child,
            lines,
            port: 0,
        };
        let line = server.next_line();
        let port = line
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        assert_ne!(port, 0, "{name} reports the port it really got");
        server.port = port;
        server
    }

    fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(line) => line,
            Err(_) => {
                let status = self.child.try_wait();
                panic!(
                    "{} printed no further line within {STEP:?} (process: {status:?})",
                    self.name
                )
            }
        }
    }

    fn port(&self) -> String {
        self.port.to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs example `name` with `args` to completion, within `limit`.
fn run_within(name: &str, args: &[&str], limit: Duration) -> Output {
    let mut command = Command::new(example(name));
    command.args(args).stdin(Stdio::null());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{name} did not finish within {limit:?}"))
        .unwrap_or_else(|e| panic!("{name} does not run: {e}"))
}

fn run(name: &str, args: &[&str]) -> Output {
    run_within(name, args, STEP)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that a client exited 0 printing exactly `expected` (and a
/// newline), with nothing on stderr.
fn assert_prints(name: &str, output: &Output, expected: &str) {
    assert!(
        output.status.success(),
        "{name} failed ({}); stdout {:?}, stderr {:?}",
        output.status,
        stdout(output),
        stderr(output)
    );
    assert_eq!(
        stdout(output),
        format!("{expected}\n"),
        "{name} printed something else (stderr {:?})",
        stderr(output)
    );
    assert_eq!(stderr(output), "", "{name} wrote to stderr");
}

fn fetch(client: &str, server: &Server) -> Output {
    run(client, &["--host", "127.0.0.1", "--port", &server.port()])
}

#[test]
fn fortune_client_prints_the_fortune_the_server_was_given() {
    for fortune in [
        "Stay off the furniture.",
        "🦀 fortune 🎉 (beyond the BMP: surrogate pairs)",
        "",
    ] {
        let server = Server::start("fortune_server", &["--port", "0", "--fortune", fortune]);
        for client in ["fortune_client", "async_fortune_client"] {
            let output = fetch(client, &server);
            assert_prints(client, &output, &format!("FORTUNE {fortune}"));
        }
    }
}

#[test]
fn fortune_client_tells_a_null_string_from_an_empty_one() {
    let server = Server::start("fortune_server", &["--null"]);
    for client in ["fortune_client", "async_fortune_client"] {
        let output = fetch(client, &server);
        assert_prints(client, &output, "NULL FORTUNE");
    }
}

#[test]
fn fortune_server_picks_qt_fortunes_and_serves_client_after_client() {
    let server = Server::start("fortune_server", &[]);
    for _ in 0..5 {
        let output = fetch("fortune_client", &server);
        assert!(output.status.success(), "stderr: {}", stderr(&output));
        let text = stdout(&output);
        let fortune = text
            .strip_prefix("FORTUNE ")
            .and_then(|t| t.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("unexpected output {text:?}"));
        assert!(
            QT_FORTUNES.contains(&fortune),
            "{fortune:?} is not one of Qt's fortunes"
        );
    }
}

#[test]
fn blocking_fortune_client_reads_the_fortune_on_a_worker_thread() {
    let fortune = "Blocking, on a worker thread: ünïcödé 🦀";
    let server = Server::start("fortune_server", &["--fortune", fortune]);
    for _ in 0..3 {
        let output = fetch("blocking_fortune_client", &server);
        assert_prints(
            "blocking_fortune_client",
            &output,
            &format!("FORTUNE {fortune}"),
        );
    }

    let server = Server::start("fortune_server", &["--null"]);
    let output = fetch("blocking_fortune_client", &server);
    assert_prints("blocking_fortune_client", &output, "NULL FORTUNE");
}

#[test]
fn threaded_fortune_server_serves_concurrent_clients_round_robin() {
    const CLIENTS: usize = 6;
    let fortune = "Served by a worker thread.";
    let mut server = Server::start(
        "threaded_fortune_server",
        &["--threads", "2", "--fortune", fortune],
    );
    let port = server.port();
    let runs: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let port = port.clone();
            // Both clients, at the same time.
            let client = if i % 3 == 2 {
                "blocking_fortune_client"
            } else {
                "fortune_client"
            };
            std::thread::spawn(move || {
                (
                    client,
                    run(client, &["--host", "127.0.0.1", "--port", &port]),
                )
            })
        })
        .collect();
    for run in runs {
        let (client, output) = run.join().expect("client thread");
        assert_prints(client, &output, &format!("FORTUNE {fortune}"));
    }

    // One line per connection, from the worker that served it: connection
    // n went to worker n % 2.
    let mut served: BTreeMap<usize, usize> = BTreeMap::new();
    for _ in 0..CLIENTS {
        let line = server.next_line();
        let parsed = line.strip_prefix("worker ").and_then(|rest| {
            let (worker, rest) = rest.split_once(": connection ")?;
            let (connection, from) = rest.split_once(" from 127.0.0.1:")?;
            from.parse::<u16>().ok()?;
            Some((
                worker.parse::<usize>().ok()?,
                connection.parse::<usize>().ok()?,
            ))
        });
        let (worker, connection) =
            parsed.unwrap_or_else(|| panic!("unexpected line from the server: {line:?}"));
        assert_eq!(worker, connection % 2, "round-robin: {line:?}");
        assert!(
            served.insert(connection, worker).is_none(),
            "connection {connection} reported twice"
        );
    }
    assert_eq!(
        served.keys().copied().collect::<Vec<_>>(),
        (0..CLIENTS).collect::<Vec<_>>()
    );
}

#[test]
fn threaded_fortune_server_sends_null_and_random_fortunes() {
    let server = Server::start("threaded_fortune_server", &["--threads", "3", "--null"]);
    assert_prints(
        "fortune_client",
        &fetch("fortune_client", &server),
        "NULL FORTUNE",
    );

    let server = Server::start("threaded_fortune_server", &[]);
    for _ in 0..3 {
        let output = fetch("fortune_client", &server);
        let text = stdout(&output);
        let fortune = text
            .strip_prefix("FORTUNE ")
            .and_then(|t| t.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("unexpected output {text:?}, stderr {:?}", stderr(&output)));
        assert!(QT_FORTUNES.contains(&fortune), "{fortune:?}");
    }
}

#[test]
fn loopback_transfers_50_mb_and_verifies_them() {
    let output = run_within("loopback", &[], LOOPBACK_STEP);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "loopback failed ({}); stdout {text:?}, stderr {:?}",
        output.status,
        stderr(&output)
    );
    let lines: Vec<&str> = text.lines().collect();
    for side in ["client sent", "server received"] {
        let progress: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(side))
            .collect();
        let expected: Vec<String> = (1..=5)
            .map(|i| format!("{side} {} MB / 50 MB", i * 10))
            .collect();
        assert_eq!(progress, expected, "progress lines in {text:?}");
    }
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with("transferred 50 MB OK in "),
        "last line {last:?} in {text:?}"
    );
    assert_eq!(stderr(&output), "");
}

#[test]
fn demo_prints_a_fortune_and_the_round_trip() {
    let output = run("demo", &[]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "demo failed ({}); stdout {text:?}, stderr {:?}",
        output.status,
        stderr(&output)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert!(
        lines[0].starts_with("fortune server listening on 127.0.0.1:"),
        "{text:?}"
    );
    let fortune = lines[1]
        .strip_prefix("FORTUNE ")
        .unwrap_or_else(|| panic!("no FORTUNE line in {text:?}"));
    assert!(QT_FORTUNES.contains(&fortune), "{fortune:?}");
    assert!(lines[2].starts_with("round trip: "), "{text:?}");
    assert!(lines[2].contains(" ms"), "{text:?}");
}

#[test]
fn clients_fail_with_a_message_when_nothing_listens() {
    // A port that was free a moment ago: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    for client in [
        "fortune_client",
        "blocking_fortune_client",
        "async_fortune_client",
    ] {
        let output = run(client, &["--host", "127.0.0.1", "--port", &port]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{client}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "{client}");
        assert_eq!(
            stderr(&output),
            "error: ConnectionRefusedError: Connection refused\n",
            "{client}: Qt's error name and text"
        );
    }
}

#[test]
fn clients_fail_when_the_server_closes_without_a_whole_fortune() {
    // A server that sends half a QString ("Hi" claims 4 bytes, 2 come)
    // and closes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port().to_string();
    let serve = std::thread::spawn(move || {
        use std::io::Write;
        for _ in 0..3 {
            let (mut peer, _) = listener.accept().expect("accept");
            peer.write_all(&[0, 0, 0, 4, 0, b'H']).expect("write");
        }
    });
    for client in [
        "fortune_client",
        "blocking_fortune_client",
        "async_fortune_client",
    ] {
        let output = run(client, &["--host", "127.0.0.1", "--port", &port]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{client}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "{client}");
        assert!(!stderr(&output).is_empty(), "{client} says why");
    }
    serve.join().expect("the half-fortune server");
}

#[test]
fn bad_command_lines_are_refused_with_usage() {
    for (name, args) in [
        ("fortune_client", &["--port", "1"][..]),
        ("blocking_fortune_client", &["--host", "127.0.0.1"][..]),
        ("async_fortune_client", &["--port", "1"][..]),
        ("fortune_server", &["--port", "not-a-number"][..]),
        ("threaded_fortune_server", &["--threads", "0"][..]),
        ("loopback", &["--fast"][..]),
        ("demo", &["extra"][..]),
    ] {
        let output = run(name, args);
        assert_eq!(output.status.code(), Some(2), "{name} {args:?}");
        assert!(
            stderr(&output).contains(&format!("usage: {name}")),
            "{name}: stderr {:?}",
            stderr(&output)
        );
    }
}

#[test]
fn fortune_client_reports_a_proxy_error_by_qt_name_and_text() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("socks5h://127.0.0.1:{free}");
    let output = run(
        "fortune_client",
        &[
            "--host",
            "fortune.sigloop.invalid",
            "--port",
            "7",
            "--proxy",
            &url,
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: ProxyConnectionRefusedError: Connection to proxy refused\n"
    );
}
