//! Qt's threaded fortune server (`examples/network/threadedfortuneserver`),
//! ported to sigloop: the main thread accepts connections and hands each
//! one, as a raw descriptor, to a pool of worker threads with their own
//! event loops; the worker adopts the descriptor as a socket, sends one
//! fortune (a `QString` in `QDataStream` format) and closes.
//!
//! ```text
//! threaded_fortune_server [--port N] [--host H] [--threads K] [--fortune TEXT | --null]
//! ```
//!
//! `--port 0` (the default) lets the OS pick a free port; `--host` is an IP
//! address (default `127.0.0.1`); `--threads` is the number of workers
//! (default 2), which get the connections in turn. The first line on stdout
//! is `listening on <port>` with the real port, flushed at once; then one
//! line per connection, from the worker that serves it:
//! `worker <i>: connection <n> from <address>:<port>` (connections count
//! from 0, and connection `n` goes to worker `n % K`). Without `--fortune`
//! each client gets a fortune picked at random from the example's list;
//! `--fortune TEXT` always sends TEXT and `--null` a null `QString`. The
//! server runs until it is killed.
//!
//! Qt starts one `QThread` per connection, which blocks in
//! `waitForDisconnected`; here a fixed pool of loop threads serves any
//! number of connections each, without blocking.
//!
//! Qt class → sigloop mapping used here:
//!
//! | Qt | sigloop |
//! |---|---|
//! | overriding `QTcpServer::incomingConnection(qintptr)` | [`TcpServer::set_incoming_connection_handler`] (gets an `OwnedFd`) |
//! | `FortuneThread` (`QThread`) | [`LoopThread`] workers, round-robin |
//! | starting the thread with the descriptor | [`LoopHandle::post`] of a closure that moves the `OwnedFd` |
//! | `tcpSocket.setSocketDescriptor(socketDescriptor)` | [`TcpSocket::set_socket_descriptor`]`(fd, SocketState::Connected, OpenMode::READ_WRITE)` |
//! | `out.setVersion(QDataStream::Qt_5_10); out << text;` | [`DataStream::writer`], [`DataStreamVersion::QT_5_10`], `write(text)` |
//! | `write(block)`, `disconnectFromHost()` | [`IoDevice::write`], [`TcpSocket::disconnect_from_host`] |
//! | `waitForDisconnected()`, then the thread ends | `disconnected` → [`TcpSocket::delete_later`] on the worker's loop |
//! | `acceptError` → `QTimer::singleShot(100, &server, &QTcpServer::resumeAccepting)` | [`TcpServer::accept_error`] → [`Timer::single_shot_to`] with [`TcpServer::resume_accepting`] |
//!
//! The heart of Qt's `FortuneThread::run()`:
//!
//! ```cpp
//! QTcpSocket tcpSocket;
//! if (!tcpSocket.setSocketDescriptor(socketDescriptor)) {
//!     emit error(tcpSocket.error());
//!     return;
//! }
//! QByteArray block;
//! QDataStream out(&block, QIODevice::WriteOnly);
//! out.setVersion(QDataStream::Qt_5_10);
//! out << text;
//! tcpSocket.write(block);
//! tcpSocket.disconnectFromHost();
//! tcpSocket.waitForDisconnected();
//! ```
//!
//! Run with `cargo run --example threaded_fortune_server -- --threads 4`,
//! then `cargo run --example fortune_client -- --host 127.0.0.1 --port <port>`.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::process::ExitCode;
use std::time::Duration;

use sigloop::net::{HostAddress, SocketState, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{
    DataStream, DataStreamVersion, EventDispatcher, IoDevice, LoopThread, OpenMode, Timer,
};

/// How long accepting rests after an accept error before it resumes.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The fortunes of Qt's example.
const FORTUNES: [&str; 7] = [
    "You've been leading a dog's life. Stay off the furniture.",
    "You've got to think about tomorrow.",
    "You will be surprised by a loud noise.",
    "You will feel hungry again in another hour.",
    "You might have mail.",
    "You cannot kill time without injuring eternity.",
    "Computers are not intelligent. They only think they are.",
];

/// What each client gets.
#[derive(Clone)]
enum Fortune {
    /// One of [`FORTUNES`], at random, per client.
    Random,
    /// Always this text.
    Fixed(String),
    /// Always a null `QString`.
    Null,
}

/// What the command line asked for.
struct Args {
    host: String,
    port: u16,
    threads: usize,
    fortune: Fortune,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("threaded_fortune_server: {problem}");
    eprintln!(
        "usage: threaded_fortune_server [--port N] [--host H] [--threads K] [--fortune TEXT | --null]"
    );
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        host: "127.0.0.1".to_owned(),
        port: 0,
        threads: 2,
        fortune: Fortune::Random,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => parsed.host = value("--host")?,
            "--port" => {
                let text = value("--port")?;
                parsed.port = text
                    .parse::<u16>()
                    .map_err(|_| format!("bad port {text:?}"))?;
            }
            "--threads" => {
                let text = value("--threads")?;
                parsed.threads = match text.parse::<usize>() {
                    Ok(n @ 1..=256) => n,
                    _ => return Err(format!("bad thread count {text:?} (1 to 256)")),
                };
            }
            "--fortune" => parsed.fortune = Fortune::Fixed(value("--fortune")?),
            "--null" => parsed.fortune = Fortune::Null,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn parse_host(host: &str) -> Result<HostAddress, String> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(HostAddress::from(SpecialAddress::LocalHost));
    }
    host.parse::<HostAddress>()
        .map_err(|err| format!("bad host {host:?}: {err}"))
}

/// A random index below `n` (Qt: `QRandomGenerator::global()->bounded(n)`).
fn random_below(n: usize) -> usize {
    (RandomState::new().build_hasher().finish() % n as u64) as usize
}

thread_local! {
    /// A worker's open connections. A `TcpSocket` is a handle and dropping
    /// the last one aborts the connection, so each worker keeps one per
    /// connection until the socket is deleted (Qt keeps `tcpSocket` on the
    /// thread's stack until `waitForDisconnected` returns).
    static CONNECTIONS: RefCell<HashMap<u64, TcpSocket>> = RefCell::new(HashMap::new());
}

/// Qt's `FortuneThread::run`, on worker `worker`'s loop.
fn serve(worker: usize, connection: u64, fd: OwnedFd, text: Option<String>) {
    let socket = TcpSocket::new();
    if let Err(err) = socket.set_socket_descriptor(fd, SocketState::Connected, OpenMode::READ_WRITE)
    {
        eprintln!(
            "threaded_fortune_server: worker {worker}: cannot adopt connection {connection}: {err}"
        );
        return;
    }
    // Ignoring errors: a closed stdout must not stop the server.
    let _ = writeln!(
        std::io::stdout().lock(),
        "worker {worker}: connection {connection} from {}:{}",
        socket.peer_address(),
        socket.peer_port()
    );

    let mut block = Vec::new();
    let mut out = DataStream::writer(&mut block);
    out.set_version(DataStreamVersion::QT_5_10);
    out.write(&text.as_deref());

    let _ = socket
        .disconnected()
        .connect_to(&socket, |socket, _| socket.delete_later());
    let _ = socket.destroyed().connect(move |_| {
        // Dropped on a later pass, outside this emission.
        EventDispatcher::post(move || {
            let gone = CONNECTIONS.with(|c| c.borrow_mut().remove(&connection));
            drop(gone);
        });
    });
    CONNECTIONS.with(|c| c.borrow_mut().insert(connection, socket.clone()));

    if let Err(err) = socket.write(&block) {
        eprintln!("threaded_fortune_server: worker {worker}: write failed: {err}");
        socket.abort();
        return;
    }
    socket.disconnect_from_host();
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let address = match parse_host(&args.host) {
        Ok(address) => address,
        Err(problem) => return usage(&problem),
    };

    let mut workers = Vec::with_capacity(args.threads);
    for i in 0..args.threads {
        match LoopThread::start(&format!("fortune-worker-{i}")) {
            Ok(worker) => workers.push(worker),
            Err(err) => {
                eprintln!("threaded_fortune_server: cannot start worker {i}: {err}");
                return ExitCode::FAILURE;
            }
        }
    }

    let server = TcpServer::new();
    // Qt's FortuneServer::incomingConnection: pick the fortune here, hand
    // the descriptor and the text to the next worker.
    let handles: Vec<_> = workers.iter().map(|w| w.handle().clone()).collect();
    let fortune = args.fortune;
    let mut next_connection = 0u64;
    server.set_incoming_connection_handler(move |fd: OwnedFd| {
        let connection = next_connection;
        next_connection += 1;
        let worker = (connection % handles.len() as u64) as usize;
        let text = match &fortune {
            Fortune::Random => Some(FORTUNES[random_below(FORTUNES.len())].to_owned()),
            Fortune::Fixed(text) => Some(text.clone()),
            Fortune::Null => None,
        };
        let posted = handles[worker].post(move || serve(worker, connection, fd, text));
        if posted.is_err() {
            eprintln!(
                "threaded_fortune_server: worker {worker} is gone; connection {connection} dropped"
            );
        }
    });

    // Qt pauses accepting when an accept fails (EMFILE: out of descriptors)
    // and emits acceptError. Resume after a short back-off, once closed
    // connections may have given descriptors back; resuming at once would
    // fail at once again and spin. Qt: QTimer::singleShot(100, &server,
    // &QTcpServer::resumeAccepting).
    let _retry = server.accept_error().connect_to(&server, |server, error| {
        eprintln!(
            "threaded_fortune_server: accept failed: {error} ({}); retrying in {} ms",
            server.error_string(),
            ACCEPT_RETRY.as_millis()
        );
        Timer::single_shot_to(server, ACCEPT_RETRY, TcpServer::resume_accepting);
    });

    if let Err(err) = server.listen(&address, args.port) {
        eprintln!(
            "threaded_fortune_server: cannot listen on {}:{}: {err} ({})",
            args.host,
            args.port,
            server.error_string()
        );
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.server_port());
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }

    EventDispatcher::exec();
    drop(server);
    drop(workers);
    ExitCode::SUCCESS
}
