//! Real TLS peers as child processes: `openssl s_server` and `s_client`,
//! and the PySide6 QSslSocket scripts `tests/interop/peers/tls_server.py`
//! and `tls_client.py` (a real Qt, OpenSSL backend).
//!
//! Servers listen on 127.0.0.1 only, on a port the system picks, which the
//! launcher reads from the peer's output. Every peer is killed when its
//! [`PeerProcess`] drops, so a failing test leaves nothing running, and
//! every wait on a peer is bounded ([`PEER_STEP`]).
//!
//! A test first asks for the peer program through [`super::peers`]
//! (`peers::openssl(test)`, `peers::python(test)`), which skips the test
//! with a notice or fails it under `SIGLOOP_REQUIRE_PEERS=1`.
//!
//! Data sent through the peers is [`payload`]: byte `i` is `i mod 251`,
//! the pattern `tls_client.py` sends too.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any wait on a peer (a line, its exit) may take.
pub const PEER_STEP: Duration = Duration::from_secs(60);

/// `n` bytes of the shared test pattern: byte `i` is `i mod 251`.
pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// What a peer printed so far.
#[derive(Default)]
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Both pipes reached end of file (the peer exited or closed them).
    closed: usize,
}

/// A running peer process: its output collected by reader threads, killed
/// and reaped on drop.
pub struct PeerProcess {
    name: String,
    child: Child,
    output: Arc<(Mutex<Output>, Condvar)>,
    status: Option<ExitStatus>,
}

impl PeerProcess {
    /// Starts `command` with piped stdout and stderr, and `stdin` written
    /// to its standard input from a thread of its own (`None`: no input).
    ///
    /// With `Some`, standard input closes once everything is written.
    pub fn spawn(name: &str, mut command: Command, stdin: Option<Vec<u8>>) -> PeerProcess {
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name}: {e}"));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin piped");
            // A peer that exits early closes the pipe; its output says why.
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let output = Arc::new((Mutex::new(Output::default()), Condvar::new()));
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        Self::collect(stdout, output.clone(), |out| &mut out.stdout);
        Self::collect(stderr, output.clone(), |out| &mut out.stderr);
        PeerProcess {
            name: name.to_owned(),
            child,
            output,
            status: None,
        }
    }

    fn collect(
        mut pipe: impl Read + Send + 'static,
        output: Arc<(Mutex<Output>, Condvar)>,
        field: fn(&mut Output) -> &mut Vec<u8>,
    ) {
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = pipe.read(&mut buf).unwrap_or(0);
                let (lock, ready) = &*output;
                let mut out = lock.lock().expect("peer output lock");
                if n == 0 {
                    out.closed += 1;
                    ready.notify_all();
                    return;
                }
                field(&mut out).extend_from_slice(&buf[..n]);
                ready.notify_all();
            }
        });
    }

    /// Everything on stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.output
            .0
            .lock()
            .expect("peer output lock")
            .stdout
            .clone()
    }

    /// Stdout and stderr so far, as text, for assertion messages.
    pub fn transcript(&self) -> String {
        let out = self.output.0.lock().expect("peer output lock");
        format!(
            "--- {} stdout:\n{}\n--- stderr:\n{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The stdout lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.stdout())
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The first line (stdout, then stderr) that `matches`, if printed yet.
    pub fn find_line(&self, matches: impl Fn(&str) -> bool) -> Option<String> {
        let out = self.output.0.lock().expect("peer output lock");
        let found = [&out.stdout, &out.stderr]
            .into_iter()
            .flat_map(|bytes| {
                String::from_utf8_lossy(bytes)
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .find(|line| matches(line));
        found
    }

    /// Waits (at most [`PEER_STEP`]) for a line that `matches`; fails the
    /// test with the peer's output if none comes.
    #[track_caller]
    pub fn wait_line(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PEER_STEP;
        let (lock, ready) = &*self.output;
        let mut out = lock.lock().expect("peer output lock");
        loop {
            let found = [&out.stdout, &out.stderr].into_iter().find_map(|bytes| {
                String::from_utf8_lossy(bytes)
                    .lines()
                    .find(|line| matches(line))
                    .map(str::to_owned)
            });
            if let Some(line) = found {
                return line;
            }
            let now = Instant::now();
            if out.closed == 2 || now >= deadline {
                drop(out);
                panic!(
                    "{} {} before printing {what}\n{}",
                    self.name,
                    if now >= deadline {
                        "timed out"
                    } else {
                        "closed its output"
                    },
                    self.transcript()
                );
            }
            out = ready
                .wait_timeout(out, deadline - now)
                .expect("peer output lock")
                .0;
        }
    }

    /// Whether the peer has exited (and its output is complete).
    pub fn exited(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("polling a peer");
        }
        self.status.is_some() && self.output.0.lock().expect("peer output lock").closed == 2
    }

    /// Waits (at most [`PEER_STEP`]) for the peer to exit; its status.
    #[track_caller]
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PEER_STEP;
        {
            let (lock, ready) = &*self.output;
            let mut out = lock.lock().expect("peer output lock");
            while out.closed < 2 && Instant::now() < deadline {
                out = ready
                    .wait_timeout(out, deadline.saturating_duration_since(Instant::now()))
                    .expect("peer output lock")
                    .0;
            }
            if out.closed < 2 {
                drop(out);
                panic!(
                    "{} did not exit within {PEER_STEP:?}\n{}",
                    self.name,
                    self.transcript()
                );
            }
        }
        let status = self.child.wait().expect("waiting for a peer");
        self.status = Some(status);
        status
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The port in a line ending in `:<port>` or ` <port>`.
fn port_at_end(line: &str) -> u16 {
    line.rsplit([':', ' '])
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port at the end of {line:?}"))
}

// ----- openssl ---------------------------------------------------------------

/// `openssl s_server` on 127.0.0.1 in `-rev` mode: after the handshake it
/// sends every line it receives back reversed (and closes on a line
/// `CLOSE`). Serves one client at a time until dropped.
pub struct OpensslServer {
    /// The process (its output has the handshake summaries).
    pub process: PeerProcess,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
}

impl OpensslServer {
    /// Starts `openssl s_server -rev -cert CERT -key KEY <extra>`: `extra`
    /// adds e.g. `-tls1_2`, `-alpn h2,http/1.1`, `-cert_chain FILE`, or
    /// `-Verify 1 -CAfile FILE -verify_return_error` for mutual TLS.
    pub fn start(openssl: &Path, cert: &Path, key: &Path, extra: &[&str]) -> OpensslServer {
        let mut command = Command::new(openssl);
        command
            .args(["s_server", "-accept", "127.0.0.1:0", "-rev"])
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(extra);
        let process = PeerProcess::spawn("openssl s_server", command, None);
        let line = process.wait_line("ACCEPT <address>", |l| l.starts_with("ACCEPT "));
        OpensslServer {
            port: port_at_end(&line),
            process,
        }
    }
}

/// `openssl s_client -connect 127.0.0.1:<port> -quiet <extra>`, with
/// `input` on its standard input. `-quiet` prints only what the server
/// sends on stdout (errors on stderr) and keeps the connection open after
/// the input ends, until the server closes.
pub fn openssl_client(openssl: &Path, port: u16, extra: &[&str], input: Vec<u8>) -> PeerProcess {
    let mut command = Command::new(openssl);
    command
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-quiet")
        .args(extra);
    PeerProcess::spawn("openssl s_client", command, Some(input))
}

// ----- PySide6 ---------------------------------------------------------------

fn qt_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop/peers")
        .join(name)
}

fn qt_command(python: &Path, script: &str, args: &[&str]) -> Command {
    let mut command = Command::new(python);
    command
        .arg(qt_script(script))
        .args(args)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("PYTHONIOENCODING", "utf-8");
    command
}

/// `tls_server.py` (QSslServer) on 127.0.0.1: see that script for `args`
/// and the lines it prints.
pub struct QtTlsServer {
    /// The process.
    pub process: PeerProcess,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
}

impl QtTlsServer {
    /// Starts the server and reads its port.
    pub fn start(python: &Path, args: &[&str]) -> QtTlsServer {
        let process = PeerProcess::spawn(
            "tls_server.py",
            qt_command(python, "tls_server.py", args),
            None,
        );
        let line = process.wait_line("listening on <port>", |l| l.starts_with("listening on "));
        QtTlsServer {
            port: port_at_end(&line),
            process,
        }
    }
}

/// Starts `tls_client.py` (QSslSocket) against 127.0.0.1:`port` with
/// `args`: see that script for them and the lines it prints.
pub fn qt_tls_client(python: &Path, port: u16, args: &[&str]) -> PeerProcess {
    let port = port.to_string();
    let mut all = vec!["--port", &port];
    all.extend_from_slice(args);
    PeerProcess::spawn(
        "tls_client.py",
        qt_command(python, "tls_client.py", &all),
        None,
    )
}

/// The `(value, text)` of each `<prefix> <value> <name> <text>` line, in
/// order: Qt's error list as the PySide6 peers print it.
pub fn qt_errors(lines: &[String], prefix: &str) -> Vec<(i32, String)> {
    lines
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?.strip_prefix(' ')?;
            let mut parts = rest.splitn(3, ' ');
            let value = parts.next()?.parse().ok()?;
            let _name = parts.next()?;
            Some((value, parts.next().unwrap_or("").to_owned()))
        })
        .collect()
}

// ----- our client, printing what tls_client.py prints -----------------------

/// What [`our_client`] does once encrypted.
pub struct Exchange {
    /// Sent once the socket is encrypted (nothing: close at once).
    pub send: Vec<u8>,
    /// What must come back before the client closes.
    pub expect: Vec<u8>,
}

impl Exchange {
    /// Nothing sent: the client closes once encrypted.
    pub fn none() -> Exchange {
        Exchange {
            send: Vec::new(),
            expect: Vec::new(),
        }
    }

    /// `data` sent and the same bytes expected back (an echo server).
    pub fn echo(data: Vec<u8>) -> Exchange {
        Exchange {
            expect: data.clone(),
            send: data,
        }
    }

    /// `lines` lines of 63 pattern bytes (printable) and a newline sent,
    /// each line reversed expected back (`openssl s_server -rev`).
    pub fn reversed_lines(lines: usize) -> Exchange {
        let (mut send, mut expect) = (Vec::new(), Vec::new());
        for i in 0..lines {
            let line: Vec<u8> = (0..63).map(|j| b'!' + ((i * 63 + j) % 94) as u8).collect();
            send.extend_from_slice(&line);
            send.push(b'\n');
            expect.extend(line.iter().rev());
            expect.push(b'\n');
        }
        Exchange { send, expect }
    }
}

/// Runs our `SslSocket` with `config` against 127.0.0.1:`port` (checking
/// the certificate against `peer_name`, else 127.0.0.1), does `exchange`,
/// closes, and returns the lines `tls_client.py` prints for the same
/// events, so a test can compare them with real Qt's:
///
/// ```text
/// PEER_VERIFY_ERROR <value> <name> <text>
/// SSL_ERROR <value> <name> <text>
/// ENCRYPTED <protocol> <cipher> <ALPN or ->
/// ERROR <SocketError name> <error_string()>
/// ECHO <byte count> <same|different>
/// DONE
/// ```
///
/// (`ECHO` gives no digest: the bytes are compared as they arrive.)
/// Fails the test if the connection does not end within 60 s.
pub fn our_client(
    port: u16,
    config: sigloop::ssl::SslConfiguration,
    peer_name: Option<&str>,
    exchange: Exchange,
) -> Vec<String> {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use sigloop::net::SocketState;
    use sigloop::ssl::{SslError, SslSocket};
    use sigloop::IoDevice;

    let lines = Rc::new(RefCell::new(Vec::<String>::new()));
    let socket = SslSocket::new();
    socket.set_ssl_configuration(config);
    let error_line = |prefix: &str, e: &SslError| {
        format!(
            "{prefix} {} {:?} {}",
            e.error() as i32,
            e.error(),
            e.error_string()
        )
    };
    let l = lines.clone();
    let _verify = socket
        .peer_verify_error()
        .connect(move |e| l.borrow_mut().push(error_line("PEER_VERIFY_ERROR", e)));
    let l = lines.clone();
    let _errors = socket.ssl_errors().connect(move |errors| {
        for e in errors {
            l.borrow_mut().push(error_line("SSL_ERROR", e));
        }
    });
    let l = lines.clone();
    let send = exchange.send;
    let _encrypted = socket.encrypted().connect_to(&socket, move |s, _| {
        let alpn = String::from_utf8_lossy(&s.next_negotiated_protocol()).into_owned();
        l.borrow_mut().push(format!(
            "ENCRYPTED {} {} {}",
            s.session_protocol().qt_name(),
            s.session_cipher().name(),
            if alpn.is_empty() { "-" } else { &alpn }
        ));
        if send.is_empty() {
            s.disconnect_from_host();
        } else {
            s.write(&send).expect("write to an encrypted socket");
        }
    });
    let received = Rc::new(Cell::new(0usize));
    let same = Rc::new(Cell::new(true));
    let (l, got, ok) = (lines.clone(), received.clone(), same.clone());
    let expect = exchange.expect;
    let _read = socket.ready_read().connect_to(&socket, move |s, _| {
        let data = s.read_all().unwrap_or_default();
        let at = got.get();
        let end = (at + data.len()).min(expect.len());
        if data.len() > end - at || data[..end - at] != expect[at..end] {
            ok.set(false);
        }
        got.set(at + data.len());
        if got.get() >= expect.len() {
            l.borrow_mut().push(format!(
                "ECHO {} {}",
                got.get(),
                if ok.get() { "same" } else { "different" }
            ));
            s.disconnect_from_host();
        }
    });
    let l = lines.clone();
    let _error = socket.error_occurred().connect_to(&socket, move |s, e| {
        l.borrow_mut()
            .push(format!("ERROR {} {}", e.qt_name(), s.error_string()));
    });
    match peer_name {
        Some(name) => socket.connect_to_host_encrypted_with_name("127.0.0.1", port, name),
        None => socket.connect_to_host_encrypted("127.0.0.1", port),
    }
    super::waits::run_until_within("our TLS client to finish", PEER_STEP, || {
        socket.state() == SocketState::Unconnected
    });
    lines.borrow_mut().push("DONE".to_owned());
    let out = lines.borrow().clone();
    out
}

// ----- our SslServer echoing for a peer client ---------------------------------

/// Runs the loop with `server` (`support::tls`) echoing every connection
/// it handed out, until `client` exits. With `Some(total)`, each
/// connection is closed once `total` bytes went back (for clients such as
/// `openssl s_client -quiet` that stay until the server closes).
pub fn echo_until_exit(
    server: &super::tls::TestServer,
    client: &mut PeerProcess,
    close_after: Option<usize>,
) {
    use sigloop::net::SocketState;
    use sigloop::IoDevice;

    let mut echoed = Vec::<usize>::new();
    super::waits::run_until_within("the peer client to finish", PEER_STEP, || {
        for (i, socket) in server.accepted.borrow().iter().enumerate() {
            if echoed.len() <= i {
                echoed.push(0);
            }
            let data = socket.read_all().unwrap_or_default();
            if !data.is_empty() {
                socket.write(&data).expect("echo");
                echoed[i] += data.len();
            }
            if close_after == Some(echoed[i]) && socket.state() == SocketState::Connected {
                socket.disconnect_from_host();
            }
        }
        client.exited()
    });
}
