//! Qt's securesocketclient as a terminal program: connects with TLS, shows
//! the session and the server's certificate chain, then sends each line of
//! stdin and prints what comes back.
//!
//! ```text
//! secure_socket_client --host H --port N [--ca FILE] [--peer-name NAME] [--insecure]
//! ```
//!
//! `--ca` trusts only the PEM certificates in FILE (default: the system's
//! CA store); `--peer-name` is the name the certificate must carry (and
//! the SNI sent), default `H`. Once encrypted, stdout shows
//!
//! ```text
//! protocol: TlsV1_3
//! cipher: TLS_AES_256_GCM_SHA384 (256 bits)
//! certificate chain:
//!   0: subject "localhost" issued by "sigloop test root", serial 1a:2b..., expires 2027-01-05
//!   1: ...
//! ```
//!
//! then every line read from stdin goes to the server, and what the server
//! sends back is printed as it arrives. At the end of stdin the client
//! waits until as many bytes came back as it sent (an echo), or until the
//! server is quiet for 5 seconds, then closes and exits 0.
//!
//! When the certificate does not verify, each of Qt's error texts is
//! printed on stderr (`ssl error: The host name did not match any of the
//! valid hosts for this certificate`); without `--insecure` the handshake
//! then fails (`error: SslHandshakeFailedError: <first text>`) and the exit
//! status is 1. With `--insecure` the errors are ignored (Qt's
//! `ignoreSslErrors()`, as the dialog's "ignore" button does) and the
//! session goes on. Any other socket error also exits 1; a bad command
//! line exits 2.
//!
//! Qt equivalent (the heart of examples/network/securesocketclient):
//!
//! ```cpp
//! QSslSocket socket;
//! QObject::connect(&socket, &QSslSocket::encrypted, [&] {
//!     const QSslCipher cipher = socket.sessionCipher();
//!     std::printf("cipher: %s (%d bits)\n", qPrintable(cipher.name()), cipher.usedBits());
//!     for (const QSslCertificate &c : socket.peerCertificateChain())
//!         std::printf("subject %s\n", qPrintable(c.subjectDisplayName()));
//! });
//! QObject::connect(&socket, &QSslSocket::sslErrors, [&](const QList<QSslError> &errors) {
//!     for (const QSslError &e : errors)
//!         std::fprintf(stderr, "ssl error: %s\n", qPrintable(e.errorString()));
//!     if (insecure)
//!         socket.ignoreSslErrors();
//! });
//! QObject::connect(&socket, &QSslSocket::readyRead, [&] {
//!     std::fwrite(socket.readAll().constData(), 1, ..., stdout);
//! });
//! socket.connectToHostEncrypted(host, port, peerName);
//! ```
//!
//! Run against `cargo run --example tls_echo_server -- --port 0 --cert
//! server.pem --key server.key` with `cargo run --example
//! secure_socket_client -- --host 127.0.0.1 --port <port> --ca ca.pem
//! --peer-name localhost`, or against `openssl s_server -rev`.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use sigloop::net::{SocketError, SocketState};
use sigloop::ssl::{SslCertificate, SslSocket};
use sigloop::{EventDispatcher, IoDevice, Timer};

/// How long the server may stay quiet after stdin ended.
const QUIET: Duration = Duration::from_secs(5);

/// Exit codes `exec` returns.
const OK: i32 = 0;
const FAILED: i32 = 1;

thread_local! {
    /// The connection, for the lines the stdin thread posts to the loop.
    static SOCKET: RefCell<Option<SslSocket>> = const { RefCell::new(None) };
    /// Whether the outcome is decided; later events change nothing.
    static DECIDED: Cell<bool> = const { Cell::new(false) };
}

/// Leaves the loop with `code`, unless an earlier event already decided.
fn finish(code: i32) {
    if !DECIDED.replace(true) {
        EventDispatcher::exit(code);
    }
}

/// What the command line asked for.
struct Args {
    host: String,
    port: u16,
    ca: Option<String>,
    peer_name: Option<String>,
    insecure: bool,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("secure_socket_client: {problem}");
    eprintln!(
        "usage: secure_socket_client --host H --port N [--ca FILE] [--peer-name NAME] [--insecure]"
    );
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let (mut host, mut port, mut ca, mut peer_name) = (None, None, None, None);
    let mut insecure = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = Some(value("--host")?),
            "--ca" => ca = Some(value("--ca")?),
            "--peer-name" => peer_name = Some(value("--peer-name")?),
            "--insecure" => insecure = true,
            "--port" => {
                let text = value("--port")?;
                port = Some(
                    text.parse::<u16>()
                        .map_err(|_| format!("bad port {text:?}"))?,
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        host: host.ok_or("--host is required")?,
        port: port.ok_or("--port is required")?,
        ca,
        peer_name,
        insecure,
    })
}

/// `YYYY-MM-DD` (UTC) of `time`.
fn date(time: SystemTime) -> String {
    let secs = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The session summary Qt's example shows, as lines.
fn describe(socket: &SslSocket) -> String {
    let cipher = socket.session_cipher();
    let mut text = format!(
        "protocol: {}\ncipher: {} ({} bits)\ncertificate chain:\n",
        socket.session_protocol().qt_name(),
        cipher.name(),
        cipher.used_bits()
    );
    for (i, cert) in socket.peer_certificate_chain().iter().enumerate() {
        text += &format!("  {i}: {}\n", certificate_line(cert));
    }
    text
}

fn certificate_line(cert: &SslCertificate) -> String {
    format!(
        "subject {:?} issued by {:?}, serial {}, expires {}",
        cert.subject_display_name(),
        cert.issuer_display_name(),
        cert.serial_number(),
        date(cert.expiry_date())
    )
}

/// Prints `text` on stdout at once; a closed stdout ends the program.
fn print(text: &[u8]) {
    let mut out = std::io::stdout().lock();
    if out.write_all(text).and_then(|()| out.flush()).is_err() {
        finish(FAILED);
    }
}

/// Reads stdin lines on a thread of their own and hands each to the loop;
/// `None` at the end of stdin.
fn read_stdin() {
    let handle = EventDispatcher::handle();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if handle.post(move || send_line(Some(line))).is_err() {
                return;
            }
        }
        let _ = handle.post(|| send_line(None));
    });
}

/// Bytes sent and received, and whether stdin ended.
#[derive(Default)]
struct Progress {
    sent: Cell<u64>,
    received: Cell<u64>,
    stdin_done: Cell<bool>,
}

thread_local! {
    static PROGRESS: Progress = Progress::default();
    /// Fires when the server stays quiet after stdin ended.
    static QUIET_TIMER: Timer = Timer::new();
}

/// On the loop: sends one stdin line, or notes the end of stdin.
fn send_line(line: Option<String>) {
    SOCKET.with_borrow(|socket| {
        let Some(socket) = socket else { return };
        match line {
            Some(line) => {
                let data = format!("{line}\n");
                if socket.write(data.as_bytes()).is_err() {
                    eprintln!("error: write failed: {}", socket.error_string());
                    finish(FAILED);
                    return;
                }
                PROGRESS.with(|p| p.sent.set(p.sent.get() + data.len() as u64));
            }
            None => {
                PROGRESS.with(|p| p.stdin_done.set(true));
                QUIET_TIMER.with(|t| t.start_with(QUIET));
                check_done();
            }
        }
    });
}

/// After stdin ended: done once the echo is complete.
fn check_done() {
    let done = PROGRESS.with(|p| p.stdin_done.get() && p.received.get() >= p.sent.get());
    if done {
        finish(OK);
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let socket = SslSocket::new();
    if let Some(ca) = &args.ca {
        let certificates = match SslCertificate::from_path(ca) {
            Ok(list) if !list.is_empty() => list,
            Ok(_) => return usage(&format!("{ca}: no certificate")),
            Err(err) => return usage(&format!("{ca}: {err}")),
        };
        let mut config = socket.ssl_configuration();
        config.set_ca_certificates(certificates);
        socket.set_ssl_configuration(config);
    }
    SOCKET.with_borrow_mut(|slot| *slot = Some(socket.clone()));

    let insecure = args.insecure;
    let _errors = socket
        .ssl_errors()
        .connect_to(&socket, move |socket, errors| {
            for error in errors {
                eprintln!("ssl error: {}", error.error_string());
            }
            if insecure {
                eprintln!("secure_socket_client: --insecure: ignoring these errors");
                socket.ignore_ssl_errors();
            }
        });
    let encrypted = Rc::new(Cell::new(false));
    let was_encrypted = encrypted.clone();
    let _encrypted = socket.encrypted().connect_to(&socket, move |socket, _| {
        was_encrypted.set(true);
        print(describe(socket).as_bytes());
        read_stdin();
    });
    let _read = socket.ready_read().connect_to(&socket, |socket, _| {
        let Ok(data) = socket.read_all() else { return };
        print(&data);
        PROGRESS.with(|p| p.received.set(p.received.get() + data.len() as u64));
        if PROGRESS.with(|p| p.stdin_done.get()) {
            QUIET_TIMER.with(|t| t.start_with(QUIET));
        }
        check_done();
    });
    let closed_ok = encrypted.clone();
    let _error = socket
        .error_occurred()
        .connect_to(&socket, move |socket, error| {
            // The server closing an encrypted session ends it normally.
            if *error == SocketError::RemoteHostClosed && closed_ok.get() {
                finish(OK);
                return;
            }
            if !DECIDED.get() {
                eprintln!("error: {}: {}", error.qt_name(), socket.error_string());
            }
            finish(FAILED);
        });
    let _quiet = QUIET_TIMER.with(|t| {
        t.set_single_shot(true);
        t.timeout().connect(|_| finish(OK))
    });

    match &args.peer_name {
        Some(name) => socket.connect_to_host_encrypted_with_name(&args.host, args.port, name),
        None => socket.connect_to_host_encrypted(&args.host, args.port),
    }
    let code = EventDispatcher::exec();
    if socket.state() == SocketState::Connected {
        socket.disconnect_from_host();
    }
    socket.abort();
    SOCKET.with_borrow_mut(|slot| *slot = None);
    if code == OK {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
