//! Local sockets against a real Qt (PySide6's `QLocalServer` and
//! `QLocalSocket`, through `tests/interop/peers/local_peer.py`), both ways:
//! 4 MiB echoed and compared (SHA-256 on the Qt side), and the
//! `QDataStream`-framed fortune of Qt's local fortune example; then the
//! `local_fortune_server` / `local_fortune_client` examples as binaries,
//! against each other and against the Qt peers, with bare names resolved in
//! a private `TMPDIR`; and the signal traces of nine scenarios (server not
//! found, stale file, connecting twice, peer closes, client leaves,
//! graceful disconnect, close, abort, delete) recorded on Qt at both ends
//! and on sigloop at both ends, compared line by line, as are the names,
//! listen errors and socket file modes Qt reports.
//!
//! Without PySide6 (`.venv`) the Qt tests say SKIPPED and return; under
//! `SIGLOOP_REQUIRE_PEERS=1` (`.ci/test`) they fail instead.

mod support;

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use sigloop::{
    DataStream, DataStreamVersion, IoDevice, LocalServer, LocalSocket, LocalSocketError,
    LocalSocketState,
};
use support::examples::example;
use support::socket_dir::SocketDir;
use support::waits::run_until;

const MIB: usize = 1024 * 1024;
/// How long a child process may take to say something.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/peers/local_peer.py")
}

/// A running server process, killed when dropped.
struct Server(Child);

impl Server {
    /// Starts `command` and waits for its `listening on <name>` line.
    fn start(mut command: Command) -> (Server, String) {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let server = Server(child);
        let line = rx
            .recv_timeout(CHILD_DEADLINE)
            .expect("the server's first line in time");
        let name = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        (server, name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn qt_peer(python: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(python);
    command
        .arg(peer_script())
        .args(args)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("PYTHONIOENCODING", "utf-8");
    command
}

/// Runs a client process to its end (in a thread, so this thread's loop
/// keeps serving), failing the test after [`CHILD_DEADLINE`].
fn run_client_while_serving(mut command: Command) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let result: Rc<RefCell<Option<Output>>> = Rc::default();
    let r = result.clone();
    let clock = std::time::Instant::now();
    run_until("the client process", || {
        if let Ok(output) = rx.try_recv() {
            *r.borrow_mut() = Some(output.expect("the client's output"));
        }
        if clock.elapsed() > CHILD_DEADLINE {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the client ran for over {CHILD_DEADLINE:?}");
        }
        r.borrow().is_some()
    });
    let output = result.borrow_mut().take().expect("output");
    output
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "status {}; stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The fortune block of Qt's local fortune example: `quint32` length in
/// UTF-16 units, then the `QString`, at `Qt_6_0`.
fn read_fortune(socket: &LocalSocket) -> Option<String> {
    let mut input = DataStream::new(socket);
    input.set_version(DataStreamVersion::QT_6_0);
    input.start_transaction();
    let units: u32 = input.read();
    let text: String = input.read();
    if !input.commit_transaction() {
        return None;
    }
    assert_eq!(units as usize, text.encode_utf16().count());
    Some(text)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i % 65536) * 7 + 3) as u8 % 251)
        .collect()
}

#[test]
fn sigloop_socket_echoes_four_mib_through_qt_local_server() {
    let Some(python) =
        support::peers::python("sigloop_socket_echoes_four_mib_through_qt_local_server")
    else {
        return;
    };
    let dir = SocketDir::new("echo");
    let (_qt, name) = Server::start(qt_peer(&python, &["echo-server", &dir.name("qt-echo")]));
    assert_eq!(name, dir.name("qt-echo"));

    let socket = LocalSocket::new();
    socket.connect_to_server(&name);
    assert_eq!(socket.state(), LocalSocketState::Connected);
    let sent = pattern(4 * MIB);
    socket.write(&sent).unwrap();
    let received: Rc<RefCell<Vec<u8>>> = Rc::default();
    let r = received.clone();
    let _read = socket.ready_read().connect_to(&socket, move |s, _| {
        r.borrow_mut().extend(s.read_all().unwrap());
    });
    run_until("the whole echo", || received.borrow().len() >= sent.len());
    assert!(
        *received.borrow() == sent,
        "the echo differs from what was sent"
    );
    socket.disconnect_from_server();
    run_until("the close", || {
        socket.state() == LocalSocketState::Unconnected
    });
}

#[test]
fn qt_local_socket_echoes_four_mib_through_sigloop_server() {
    let Some(python) =
        support::peers::python("qt_local_socket_echoes_four_mib_through_sigloop_server")
    else {
        return;
    };
    let dir = SocketDir::new("qtsend");
    let server = LocalServer::new();
    server.listen(&dir.name("ours")).unwrap();
    let _echo = server.new_connection().connect_to(&server, |server, _| {
        while let Some(peer) = server.next_pending_connection() {
            let _ = peer.ready_read().connect_to(&peer, |peer, _| {
                let data = peer.read_all().unwrap();
                peer.write(&data).unwrap();
            });
            let _ = peer
                .disconnected()
                .connect_to(&peer, |p, _| p.delete_later());
        }
    });
    let output =
        run_client_while_serving(qt_peer(&python, &["send", &server.full_server_name(), "4"]));
    let line = stdout_of(&output);
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 4, "{line:?}");
    assert_eq!(fields[0], "ECHO");
    assert_eq!(fields[1], (4 * MIB).to_string());
    assert_eq!(fields[2], fields[3], "SHA-256 of what Qt sent and got back");
}

#[test]
fn sigloop_socket_reads_the_fortune_of_qt_local_fortune_server() {
    let Some(python) =
        support::peers::python("sigloop_socket_reads_the_fortune_of_qt_local_fortune_server")
    else {
        return;
    };
    let dir = SocketDir::new("qtfortune");
    let text = "Ünïcode fortune — from Qt";
    let (_qt, name) = Server::start(qt_peer(&python, &["fortune-server", &dir.name("f"), text]));
    let socket = LocalSocket::new();
    let fortune: Rc<RefCell<Option<String>>> = Rc::default();
    let f = fortune.clone();
    let _read = socket.ready_read().connect_to(&socket, move |s, _| {
        if f.borrow().is_none() {
            *f.borrow_mut() = read_fortune(s);
        }
    });
    let errors = Rc::new(Cell::new(None));
    let e = errors.clone();
    let _err = socket
        .error_occurred()
        .connect(move |err| e.set(Some(*err)));
    socket.connect_to_server(&name);
    run_until("the fortune and the server's close", || {
        socket.state() == LocalSocketState::Unconnected
    });
    assert_eq!(fortune.borrow().as_deref(), Some(text));
    assert_eq!(errors.get(), Some(LocalSocketError::PeerClosed));
    assert_eq!(socket.error_string(), "QLocalSocket: Remote closed");
}

#[test]
fn qt_local_fortune_client_reads_the_fortune_of_sigloop_server() {
    let Some(python) =
        support::peers::python("qt_local_fortune_client_reads_the_fortune_of_sigloop_server")
    else {
        return;
    };
    let dir = SocketDir::new("ourfortune");
    let server = LocalServer::new();
    server.listen(&dir.name("f")).unwrap();
    let _send = server.new_connection().connect_to(&server, |server, _| {
        while let Some(peer) = server.next_pending_connection() {
            let mut block = Vec::new();
            let mut out = DataStream::writer(&mut block);
            out.set_version(DataStreamVersion::QT_6_0);
            let text = "A fortune from sigloop ✓";
            out.write(&(text.encode_utf16().count() as u32));
            out.write(text);
            peer.write(&block).unwrap();
            peer.disconnect_from_server();
        }
    });
    let output = run_client_while_serving(qt_peer(
        &python,
        &["fortune-client", &server.full_server_name()],
    ));
    assert_eq!(stdout_of(&output), "FORTUNE A fortune from sigloop ✓\n");
}

/// An example binary with `TMPDIR` set to `dir`.
fn example_in(name: &str, dir: &SocketDir, args: &[&str]) -> Command {
    let mut command = Command::new(example(name));
    command.args(args).env("TMPDIR", &dir.0);
    command
}

#[test]
fn local_fortune_examples_talk_to_each_other_by_bare_name() {
    let dir = SocketDir::new("examples");
    let (_server, full) = Server::start(example_in(
        "local_fortune_server",
        &dir,
        &["--name", "fortune", "--fortune", "Stay off the furniture."],
    ));
    assert_eq!(full, dir.name("fortune"), "a bare name is in TMPDIR");
    for _ in 0..3 {
        let output = example_in("local_fortune_client", &dir, &["--name", "fortune"])
            .output()
            .expect("run the client");
        assert_eq!(stdout_of(&output), "FORTUNE Stay off the furniture.\n");
    }
    let output = example_in("local_fortune_client", &dir, &["--name", &full])
        .output()
        .expect("run the client");
    assert_eq!(stdout_of(&output), "FORTUNE Stay off the furniture.\n");

    // Without --fortune: one of Qt's (each a sentence).
    let (_random, _) = Server::start(example_in(
        "local_fortune_server",
        &dir,
        &["--name", "random"],
    ));
    let output = example_in("local_fortune_client", &dir, &["--name", "random"])
        .output()
        .expect("run the client");
    let line = stdout_of(&output);
    assert!(
        line.starts_with("FORTUNE ") && line.ends_with(".\n") && line.len() > 20,
        "{line:?}"
    );

    let missing = example_in("local_fortune_client", &dir, &["--name", "nobody"])
        .output()
        .expect("run the client");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("QLocalSocket::connectToServer: Invalid name"),
        "{stderr}"
    );
}

#[test]
fn local_fortune_examples_interoperate_with_qt() {
    let Some(python) = support::peers::python("local_fortune_examples_interoperate_with_qt") else {
        return;
    };
    let dir = SocketDir::new("exqt");
    // The example client against Qt's server.
    let (_qt, qt_name) = Server::start(qt_peer(
        &python,
        &["fortune-server", &dir.name("qt"), "Qt says hi"],
    ));
    let output = example_in("local_fortune_client", &dir, &["--name", &qt_name])
        .output()
        .expect("run the client");
    assert_eq!(stdout_of(&output), "FORTUNE Qt says hi\n");

    // Qt's client against the example server, by bare name in TMPDIR.
    let (_ours, ours) = Server::start(example_in(
        "local_fortune_server",
        &dir,
        &["--name", "ours", "--fortune", "sigloop says hi"],
    ));
    let mut client = qt_peer(&python, &["fortune-client", "ours"]);
    client.env("TMPDIR", &dir.0);
    let output = client.output().expect("run the Qt client");
    assert_eq!(stdout_of(&output), "FORTUNE sigloop says hi\n");
    assert_eq!(ours, dir.name("ours"));
}

type Events = Rc<RefCell<Vec<String>>>;

/// Records a socket's signals in the notation of `local_peer.py trace`.
fn record(socket: &LocalSocket, events: &Events) {
    let e = events.clone();
    let _ = socket
        .state_changed()
        .connect(move |s| e.borrow_mut().push(format!("SC({})", s.qt_name())));
    let e = events.clone();
    let _ = socket.error_occurred().connect_to(socket, move |s, error| {
        e.borrow_mut().push(format!(
            "error({}) '{}' in {}",
            error.qt_name(),
            s.error_string(),
            s.state().qt_name()
        ))
    });
    for (signal, name) in [
        (socket.connected(), "connected"),
        (socket.disconnected(), "disconnected"),
        (socket.about_to_close(), "aboutToClose"),
        (socket.read_channel_finished(), "readChannelFinished"),
        (socket.ready_read(), "readyRead"),
        (socket.destroyed(), "destroyed"),
    ] {
        let e = events.clone();
        let _ = signal.connect(move |_| e.borrow_mut().push(name.to_owned()));
    }
    let e = events.clone();
    let _ = socket
        .bytes_written()
        .connect(move |n| e.borrow_mut().push(format!("bytesWritten({n})")));
}

fn has(events: &Events, event: &str) -> bool {
    events.borrow().iter().any(|e| e == event)
}

/// The scenarios of `local_peer.py trace`, with sigloop on both ends.
fn sigloop_traces(dir: &SocketDir) -> Vec<(String, Vec<String>)> {
    let server_at = |file: &str| {
        let server = LocalServer::new();
        server.listen(&dir.name(file)).unwrap();
        server
    };
    let accept = |server: &LocalServer| {
        run_until("a connection", || server.has_pending_connections());
        server.next_pending_connection().unwrap()
    };
    let mut traces = Vec::new();
    // Each body returns what must outlive the trace (Qt's objects live on
    // as the application's children; ours would be destroyed, with
    // signals, when the body's last handle went).
    let mut run = |name: &str, body: &dyn Fn(&Events) -> Box<dyn std::any::Any>| {
        let events: Events = Rc::default();
        let alive = body(&events);
        let lines = events.borrow().clone();
        traces.push((name.to_owned(), lines));
        drop(alive);
    };
    run("not_found", &|events| {
        let s = LocalSocket::new();
        record(&s, events);
        s.connect_to_server(&dir.name("nobody"));
        events.borrow_mut().push("return".into());
        Box::new((s,))
    });
    run("stale", &|events| {
        drop(std::os::unix::net::UnixListener::bind(dir.name("stale")).unwrap());
        let s = LocalSocket::new();
        record(&s, events);
        s.connect_to_server(&dir.name("stale"));
        events.borrow_mut().push("return".into());
        Box::new((s,))
    });
    run("connect_twice", &|events| {
        let server = server_at("twice");
        let s = LocalSocket::new();
        record(&s, events);
        s.connect_to_server(&server.full_server_name());
        events.borrow_mut().push("return".into());
        s.connect_to_server(&server.full_server_name());
        events.borrow_mut().push("return".into());
        s.abort();
        Box::new((server, s))
    });
    run("peer_closes", &|events| {
        let server = server_at("peer");
        let s = LocalSocket::new();
        s.connect_to_server(&server.full_server_name());
        let peer = accept(&server);
        record(&s, events);
        peer.write(b"bye").unwrap();
        peer.disconnect_from_server();
        run_until("disconnected", || has(events, "disconnected"));
        let read = String::from_utf8(s.read_all().unwrap()).unwrap();
        events.borrow_mut().push(format!("read {read}"));
        s.close();
        events.borrow_mut().push("return".into());
        Box::new((server, s, peer))
    });
    run("client_leaves", &|events| {
        let server = server_at("leaves");
        let s = LocalSocket::new();
        s.connect_to_server(&server.full_server_name());
        let peer = accept(&server);
        record(&peer, events);
        s.write(b"abc").unwrap();
        s.disconnect_from_server();
        run_until("disconnected", || has(events, "disconnected"));
        let read = String::from_utf8(peer.read_all().unwrap()).unwrap();
        events.borrow_mut().push(format!("read {read}"));
        Box::new((server, s, peer))
    });
    run("graceful", &|events| {
        let server = server_at("graceful");
        let s = LocalSocket::new();
        s.connect_to_server(&server.full_server_name());
        record(&s, events);
        s.write(b"abc").unwrap();
        s.disconnect_from_server();
        events.borrow_mut().push("return".into());
        run_until("disconnected", || has(events, "disconnected"));
        Box::new((server, s))
    });
    run("close", &|events| {
        let server = server_at("close");
        let s = LocalSocket::new();
        s.connect_to_server(&server.full_server_name());
        record(&s, events);
        s.close();
        events.borrow_mut().push("return".into());
        run_until("unconnected", || s.state() == LocalSocketState::Unconnected);
        Box::new((server, s))
    });
    run("abort", &|events| {
        let server = server_at("abort");
        let s = LocalSocket::new();
        s.connect_to_server(&server.full_server_name());
        record(&s, events);
        s.write(b"dropped").unwrap();
        s.abort();
        events.borrow_mut().push("return".into());
        Box::new((server, s))
    });
    run("delete", &|events| {
        let server = server_at("delete");
        let s = LocalSocket::new();
        s.connect_to_server(&server.full_server_name());
        record(&s, events);
        s.delete_later();
        events.borrow_mut().push("return".into());
        // Qt runs deferred deletes from a nested loop; this is ours.
        sigloop::EventDispatcher::send_posted_deletes();
        run_until("destroyed", || has(events, "destroyed"));
        Box::new((server, s))
    });
    traces
}

#[test]
fn signal_traces_match_qts_scenario_by_scenario() {
    let Some(python) = support::peers::python("signal_traces_match_qts_scenario_by_scenario")
    else {
        return;
    };
    let qt_dir = SocketDir::new("trace-qt");
    let output = qt_peer(&python, &["trace", &qt_dir.0.to_string_lossy()])
        .output()
        .expect("run the Qt traces");
    let qt = stdout_of(&output);
    let ours_dir = SocketDir::new("trace-ours");
    let ours = sigloop_traces(&ours_dir);
    let qt_lines: Vec<&str> = qt.lines().collect();
    assert_eq!(qt_lines.len(), ours.len(), "Qt printed:\n{qt}");
    for ((name, events), qt_line) in ours.iter().zip(qt_lines) {
        let line = format!("{name}: {}", events.join(" | "));
        assert_eq!(line, qt_line, "scenario {name}: sigloop, then Qt");
    }
}

/// The facts of `local_peer.py facts`, with sigloop, in its notation.
fn sigloop_facts(dir: &SocketDir) -> Vec<String> {
    use support::recorder::py_bool;
    let root = dir.0.to_string_lossy().into_owned();
    let mut lines = Vec::new();
    let mut say = |fact: &str, value: String| {
        lines.push(format!("{fact}: {value}").replace(&root, "DIR"));
    };
    let error = |server: &LocalServer| {
        format!(
            "{} '{}'",
            server.server_error().qt_name(),
            server.error_string()
        )
    };
    let ok = |result: Result<(), sigloop::SocketError>| py_bool(result.is_ok());

    let fresh = LocalServer::new();
    say(
        "new server",
        format!(
            "{} max={} backlog={}",
            error(&fresh),
            fresh.max_pending_connections(),
            fresh.listen_backlog_size()
        ),
    );
    say(
        "listen empty",
        format!("{} {}", ok(fresh.listen("")), error(&fresh)),
    );
    let missing = fresh.listen(&dir.name("missing/s"));
    say(
        "listen missing dir",
        format!("{} {}", ok(missing), error(&fresh)),
    );
    drop(std::os::unix::net::UnixListener::bind(dir.name("stale")).unwrap());
    let stale = fresh.listen(&dir.name("stale"));
    say(
        "listen stale",
        format!(
            "{} {} name='{}'",
            ok(stale),
            error(&fresh),
            fresh.server_name()
        ),
    );
    let first = LocalServer::remove_server(&dir.name("stale"));
    let again = LocalServer::remove_server(&dir.name("stale"));
    say(
        "remove stale",
        format!("{} {}", py_bool(first), py_bool(again)),
    );
    let server = LocalServer::new();
    let listened = server.listen(&dir.name("srv"));
    say(
        "listen",
        format!(
            "{} name='{}' full='{}'",
            ok(listened),
            server.server_name(),
            server.full_server_name()
        ),
    );
    let second = LocalServer::new();
    let twice = second.listen(&dir.name("srv"));
    say("listen twice", format!("{} {}", ok(twice), error(&second)));
    let client = LocalSocket::new();
    client.connect_to_server(&dir.name("srv"));
    say(
        "client names",
        format!("'{}' '{}'", client.server_name(), client.full_server_name()),
    );
    let _ = server.wait_for_new_connection(Some(Duration::from_secs(5)));
    let accepted = server.next_pending_connection().unwrap();
    say(
        "accepted names",
        format!(
            "'{}' '{}' open={}",
            accepted.server_name(),
            accepted.full_server_name(),
            py_bool(accepted.is_open())
        ),
    );
    let (ready, timed_out) = server.wait_for_new_connection(Some(Duration::from_millis(10)));
    say(
        "wait timeout",
        format!(
            "({}, {}) {}",
            py_bool(ready),
            py_bool(timed_out),
            error(&server)
        ),
    );
    server.close();
    say(
        "after close",
        format!(
            "'{}' exists={}",
            server.server_name(),
            py_bool(Path::new(&dir.name("srv")).exists())
        ),
    );
    use sigloop::LocalServerOptions as O;
    for (label, options) in [
        ("user", O::USER_ACCESS),
        ("user|group", O::USER_ACCESS | O::GROUP_ACCESS),
        ("other", O::OTHER_ACCESS),
        ("world", O::WORLD_ACCESS),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let moded = LocalServer::new();
        moded.set_socket_options(options);
        moded.listen(&dir.name("m")).unwrap();
        let mode = std::fs::metadata(dir.name("m"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        let entries: Vec<String> = dir.entries().iter().map(|e| format!("'{e}'")).collect();
        say(
            &format!("mode {label}"),
            format!("{mode:o} entries=[{}]", entries.join(", ")),
        );
        moded.close();
    }
    lines
}

#[test]
fn names_listen_errors_and_file_modes_match_qts() {
    let Some(python) = support::peers::python("names_listen_errors_and_file_modes_match_qts")
    else {
        return;
    };
    let qt_dir = SocketDir::new("facts-qt");
    let output = qt_peer(&python, &["facts", &qt_dir.0.to_string_lossy()])
        .output()
        .expect("run the Qt facts");
    let qt = stdout_of(&output);
    let ours_dir = SocketDir::new("facts-ours");
    let ours = sigloop_facts(&ours_dir);
    let qt_lines: Vec<&str> = qt.lines().collect();
    assert_eq!(qt_lines.len(), ours.len(), "Qt printed:\n{qt}");
    for (line, qt_line) in ours.iter().zip(qt_lines) {
        assert_eq!(line, qt_line, "sigloop, then Qt");
    }
}
