//! A TCP echo client: connects, sends a message, waits until as many bytes
//! have come back, prints them and exits.
//!
//! ```text
//! echo_client --port N --host H --message TEXT [--proxy URL | --system-proxy]
//!             [--tls [--ca FILE] [--peer-name NAME]]
//! ```
//!
//! `--tls` speaks TLS (an `SslSocket`, Qt's `QSslSocket` with
//! `connectToHostEncrypted`): `--ca` trusts only the PEM certificates in
//! FILE (default: the system's CA store), `--peer-name` is the name the
//! server's certificate must carry (default: the host). A certificate that
//! does not verify prints each of Qt's error texts (`ssl error: ...`), then
//! `error: SslHandshakeFailedError: <first text>`, and exits 1.
//!
//! `--proxy` connects through a proxy given as a URL:
//! `socks5://[user:password@]host:port` (names resolved here),
//! `socks5h://…` (names resolved by the proxy) or `http://…` (HTTP
//! `CONNECT`). `--system-proxy` takes the proxy from the environment
//! (`all_proxy`, `http_proxy`, `no_proxy`; Qt's rule never proxies
//! `localhost` or a loopback address then).
//!
//! On success stdout is exactly the echoed text and a newline, and the exit
//! status is 0. On a socket error stderr says `error: <ErrorName>: <Qt's
//! text>` (e.g. `error: ProxyConnectionRefusedError: Connection to proxy
//! refused`) and the exit status is 1, as when the echo is not complete
//! within 10 seconds.
//!
//! Qt equivalent:
//!
//! ```cpp
//! QCoreApplication app(argc, argv);
//! QTcpSocket socket;
//! QByteArray echo;
//! QObject::connect(&socket, &QTcpSocket::connected, [&] { socket.write(message); });
//! QObject::connect(&socket, &QTcpSocket::readyRead, [&] {
//!     echo += socket.readAll();
//!     if (echo.size() >= message.size()) {
//!         std::printf("%s\n", echo.constData());
//!         app.exit(0);
//!     }
//! });
//! QObject::connect(&socket, &QTcpSocket::errorOccurred, [&] {
//!     std::fprintf(stderr, "%s\n", qPrintable(socket.errorString()));
//!     app.exit(1);
//! });
//! QTimer::singleShot(10000, [&] { std::fprintf(stderr, "timed out\n"); app.exit(1); });
//! socket.setProxy(QNetworkProxy(QNetworkProxy::Socks5Proxy, "127.0.0.1", 1080)); // --proxy
//! socket.connectToHost(host, port);
//! return app.exec();
//! ```
//!
//! Run against `cargo run --example echo_server -- --port 0` with
//! `cargo run --example echo_client -- --port <port> --host 127.0.0.1 --message hi`.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use sigloop::net::{proxy, NetworkProxy, TcpSocket};
use sigloop::ssl::{SslCertificate, SslSocket};
use sigloop::{EventDispatcher, IoDevice, Timer};

/// How long the whole exchange may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Exit codes `exec` returns.
const OK: i32 = 0;
const FAILED: i32 = 1;

thread_local! {
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
    message: String,
    proxy: Option<NetworkProxy>,
    system_proxy: bool,
    /// `Some` with `--tls`.
    tls: Option<TlsArgs>,
}

/// `--tls` and its options.
#[derive(Default)]
struct TlsArgs {
    ca: Option<String>,
    peer_name: Option<String>,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("echo_client: {problem}");
    eprintln!(
        "usage: echo_client --port N --host H --message TEXT [--proxy URL | --system-proxy] \
         [--tls [--ca FILE] [--peer-name NAME]]"
    );
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let (mut host, mut port, mut message, mut proxy) = (None, None, None, None);
    let mut system_proxy = false;
    let (mut tls, mut ca, mut peer_name) = (false, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = Some(value("--host")?),
            "--message" => message = Some(value("--message")?),
            "--proxy" => {
                let url = value("--proxy")?;
                let parsed = NetworkProxy::from_url(&url)
                    .map_err(|e| format!("bad proxy URL {url:?}: {e}"))?;
                proxy = Some(parsed);
            }
            "--system-proxy" => system_proxy = true,
            "--tls" => tls = true,
            "--ca" => ca = Some(value("--ca")?),
            "--peer-name" => peer_name = Some(value("--peer-name")?),
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
    if !tls && (ca.is_some() || peer_name.is_some()) {
        return Err("--ca and --peer-name need --tls".into());
    }
    Ok(Args {
        tls: tls.then_some(TlsArgs { ca, peer_name }),
        host: host.ok_or("--host is required")?,
        port: port.ok_or("--port is required")?,
        message: message.ok_or("--message is required")?,
        proxy,
        system_proxy,
    })
}

/// The `--tls` socket: the CA certificates of `--ca`, and Qt's error texts
/// printed when the server's certificate does not verify.
fn ssl_socket(tls: &TlsArgs) -> Result<SslSocket, String> {
    let ssl = SslSocket::new();
    if let Some(ca) = &tls.ca {
        let certificates = SslCertificate::from_path(ca).map_err(|e| format!("{ca}: {e}"))?;
        if certificates.is_empty() {
            return Err(format!("{ca}: no certificate"));
        }
        let mut config = ssl.ssl_configuration();
        config.set_ca_certificates(certificates);
        ssl.set_ssl_configuration(config);
    }
    // The slot lives as long as the socket; `error_occurred` then reports
    // the failed handshake.
    let _errors = ssl.ssl_errors().connect(|errors| {
        for error in errors {
            eprintln!("ssl error: {}", error.error_string());
        }
    });
    Ok(ssl)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let message = Rc::new(args.message.into_bytes());
    let echo = Rc::new(RefCell::new(Vec::with_capacity(message.len())));
    let ssl = match &args.tls {
        Some(tls) => match ssl_socket(tls) {
            Ok(ssl) => Some(ssl),
            Err(problem) => return usage(&problem),
        },
        None => None,
    };
    // An SslSocket is a TcpSocket with TLS on top: everything below works
    // on either. (Data written before `encrypted` waits for it.)
    let socket: TcpSocket = match &ssl {
        Some(ssl) => (**ssl).clone(),
        None => TcpSocket::new(),
    };

    let _connected = {
        let message = message.clone();
        socket.connected().connect_to(&socket, move |socket, _| {
            if message.is_empty() {
                finish(OK);
            } else if let Err(err) = socket.write(&message) {
                eprintln!("echo_client: write failed: {err}");
                finish(FAILED);
            }
        })
    };
    let _ready_read = {
        let (message, echo) = (message.clone(), echo.clone());
        socket.ready_read().connect_to(&socket, move |socket, _| {
            let Ok(data) = socket.read_all() else { return };
            let mut echo = echo.borrow_mut();
            echo.extend_from_slice(&data);
            if echo.len() >= message.len() {
                finish(OK);
            }
        })
    };
    let _error = socket
        .error_occurred()
        .connect_to(&socket, |socket, error| {
            if !DECIDED.get() {
                eprintln!("error: {error}: {}", socket.error_string());
            }
            finish(FAILED);
        });
    // A peer that closes before echoing everything also ends the wait.
    let _closed = socket.disconnected().connect(|_| {
        if !DECIDED.get() {
            eprintln!("echo_client: the connection closed before the echo was complete");
        }
        finish(FAILED);
    });
    Timer::single_shot(TIMEOUT, || {
        if !DECIDED.get() {
            eprintln!("echo_client: no complete echo within {TIMEOUT:?}");
        }
        finish(FAILED);
    });

    if args.system_proxy {
        proxy::set_use_system_configuration(true);
    }
    if let Some(proxy) = args.proxy {
        socket.set_proxy(proxy);
    }
    match (&ssl, &args.tls) {
        (
            Some(ssl),
            Some(TlsArgs {
                peer_name: Some(name),
                ..
            }),
        ) => ssl.connect_to_host_encrypted_with_name(&args.host, args.port, name),
        (Some(ssl), _) => ssl.connect_to_host_encrypted(&args.host, args.port),
        (None, _) => socket.connect_to_host(&args.host, args.port),
    }
    let code = EventDispatcher::exec();
    if code != OK {
        let got = echo.borrow().len();
        if got > 0 {
            eprintln!("echo_client: got {got} of {} bytes back", message.len());
        }
        return ExitCode::FAILURE;
    }

    let echo = echo.borrow();
    let mut stdout = std::io::stdout().lock();
    let printed = stdout
        .write_all(&echo)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if printed.is_err() {
        return ExitCode::FAILURE;
    }
    socket.abort();
    ExitCode::SUCCESS
}
