//! Qt's fortune client (`examples/network/fortuneclient`), ported to
//! sigloop without the GUI: connects to a fortune server, reads the one
//! `QString` it sends with a `QDataStream` read transaction, prints it and
//! exits.
//!
//! ```text
//! fortune_client --host H --port N [--proxy URL | --system-proxy]
//! ```
//!
//! `--proxy` connects through a proxy given as a URL:
//! `socks5://[user:password@]host:port` (names resolved here),
//! `socks5h://…` (names resolved by the proxy) or `http://…` (HTTP
//! `CONNECT`). `--system-proxy` takes the proxy from the environment
//! (`all_proxy`, `http_proxy`, `no_proxy`; Qt's rule never proxies
//! `localhost` or a loopback address then).
//!
//! On success stdout is exactly `FORTUNE <text>` and a newline (`NULL
//! FORTUNE` for a null `QString`), and the exit status is 0. On a socket
//! error stderr says `error: <ErrorName>: <Qt's text>` (e.g. `error:
//! ProxyConnectionRefusedError: Connection to proxy refused`) and the exit
//! status is 1, as when the server closes before a whole fortune arrived
//! or nothing complete arrived within 10 seconds; a bad command line exits
//! with 2.
//!
//! Qt class → sigloop mapping used here:
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QTcpSocket::connectToHost` | [`TcpSocket::connect_to_host`] |
//! | `readyRead`, `errorOccurred` | [`TcpSocket::ready_read`], [`TcpSocket::error_occurred`] |
//! | `QDataStream in(tcpSocket)` + `setVersion(QDataStream::Qt_4_0)` | [`DataStream::new`]`(&socket)` + [`DataStream::set_version`] |
//! | `in.startTransaction(); in >> fortune; in.commitTransaction()` | `start_transaction`, `read::<Option<String>>()`, `commit_transaction` |
//! | `QTimer::singleShot` (the timeout) | [`Timer::single_shot`] |
//! | `QTcpSocket::setProxy` (`--proxy`) | [`TcpSocket::set_proxy`](sigloop::net::AbstractSocket::set_proxy) |
//! | `QNetworkProxyFactory::setUseSystemConfiguration` (`--system-proxy`) | [`proxy::set_use_system_configuration`] |
//!
//! The heart of Qt's `Client::readFortune()`:
//!
//! ```cpp
//! in.startTransaction();
//! QString nextFortune;
//! in >> nextFortune;
//! if (!in.commitTransaction())
//!     return;     // wait for more data: the transaction rolled back
//! ```
//!
//! Qt's client treats `RemoteHostClosedError` as no error (the server
//! always closes after sending); so does this one, as long as the fortune
//! was complete.
//!
//! Run against `cargo run --example fortune_server` with
//! `cargo run --example fortune_client -- --host 127.0.0.1 --port <port>`.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use sigloop::net::{proxy, NetworkProxy, SocketError, TcpSocket};
use sigloop::{DataStream, DataStreamStatus, DataStreamVersion, EventDispatcher, Timer};

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

/// Reports a failure on stderr and leaves the loop, once.
fn fail(message: &str) {
    if !DECIDED.get() {
        eprintln!("fortune_client: {message}");
    }
    finish(FAILED);
}

/// What the command line asked for.
struct Args {
    host: String,
    port: u16,
    proxy: Option<NetworkProxy>,
    system_proxy: bool,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("fortune_client: {problem}");
    eprintln!("usage: fortune_client --host H --port N [--proxy URL | --system-proxy]");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let (mut host, mut port, mut proxy) = (None, None, None);
    let mut system_proxy = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = Some(value("--host")?),
            "--proxy" => {
                let url = value("--proxy")?;
                let parsed = NetworkProxy::from_url(&url)
                    .map_err(|e| format!("bad proxy URL {url:?}: {e}"))?;
                proxy = Some(parsed);
            }
            "--system-proxy" => system_proxy = true,
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
        proxy,
        system_proxy,
    })
}

/// The line printed for a fortune.
fn fortune_line(fortune: &Option<String>) -> String {
    match fortune {
        Some(text) => format!("FORTUNE {text}"),
        None => "NULL FORTUNE".to_owned(),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let socket = TcpSocket::new();
    // `None` until a whole fortune was read; then `Some(None)` for a null
    // QString.
    let fortune: Rc<RefCell<Option<Option<String>>>> = Rc::default();

    // Qt's Client::readFortune.
    let _ready_read = {
        let fortune = fortune.clone();
        socket.ready_read().connect_to(&socket, move |socket, _| {
            if fortune.borrow().is_some() {
                return;
            }
            let mut input = DataStream::new(socket);
            input.set_version(DataStreamVersion::QT_4_0);
            input.start_transaction();
            let next: Option<String> = input.read();
            if !input.commit_transaction() {
                let status = input.status();
                if status != DataStreamStatus::ReadPastEnd {
                    fail(&format!("the fortune is not a valid QString: {status}"));
                }
                return; // wait for more data
            }
            *fortune.borrow_mut() = Some(next);
            finish(OK);
        })
    };
    // Qt's Client::displayError: the server closing is expected.
    let _error = socket
        .error_occurred()
        .connect_to(&socket, |socket, error| match error {
            SocketError::RemoteHostClosed => {}
            _ => {
                if !DECIDED.get() {
                    eprintln!("error: {error}: {}", socket.error_string());
                }
                finish(FAILED);
            }
        });
    let _closed = {
        let fortune = fortune.clone();
        socket.disconnected().connect(move |_| {
            if fortune.borrow().is_none() {
                fail("the server closed the connection before a whole fortune arrived");
            }
        })
    };
    Timer::single_shot(TIMEOUT, || {
        fail(&format!("no complete fortune within {TIMEOUT:?}"));
    });

    if args.system_proxy {
        proxy::set_use_system_configuration(true);
    }
    if let Some(proxy) = args.proxy {
        socket.set_proxy(proxy);
    }
    socket.connect_to_host(&args.host, args.port);
    let code = EventDispatcher::exec();
    socket.abort();
    let fortune = fortune.borrow_mut().take();
    match (code, fortune) {
        (OK, Some(fortune)) => {
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "{}", fortune_line(&fortune))
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    }
}
