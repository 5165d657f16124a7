//! Qt's blocking fortune client (`examples/network/blockingfortuneclient`),
//! ported to sigloop without the GUI: a worker thread connects and reads
//! the fortune with the blocking calls (`wait_for_connected`,
//! `wait_for_ready_read`) on its own socket, and hands the result to the
//! main thread's event loop, which prints it and quits.
//!
//! ```text
//! blocking_fortune_client --host H --port N
//! ```
//!
//! On success stdout is exactly `FORTUNE <text>` and a newline (`NULL
//! FORTUNE` for a null `QString`), and the exit status is 0. On a socket
//! error or a timeout (10 seconds per blocking call, 30 in all) stderr says
//! `error: <ErrorName>: <Qt's text>` and the exit status is 1; a bad
//! command line exits with 2.
//!
//! Qt class → sigloop mapping used here:
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QThread` subclass (`FortuneThread::run`) | a [`std::thread`] (no loop of its own needed: the waits work without one) |
//! | `QTcpSocket` on the thread's stack | a [`TcpSocket`] made on the worker thread (sockets are bound to the thread that made them) |
//! | `waitForConnected(Timeout)`, `waitForReadyRead(Timeout)` | [`TcpSocket::wait_for_connected`], [`TcpSocket::wait_for_ready_read`] |
//! | `QDataStream in(&socket)`, `Qt_4_0`, transaction | [`DataStream::new`], [`DataStreamVersion::QT_4_0`], `start_transaction` / `commit_transaction` |
//! | `emit newFortune(fortune)` / `emit error(...)` (queued to the GUI thread) | [`LoopHandle::post`] of a closure to the main loop |
//! | `QApplication::exec()` | [`EventDispatcher::exec`] |
//!
//! The heart of Qt's `FortuneThread::run()`:
//!
//! ```cpp
//! QTcpSocket socket;
//! socket.connectToHost(serverName, serverPort);
//! if (!socket.waitForConnected(Timeout)) {
//!     emit error(socket.error(), socket.errorString());
//!     return;
//! }
//! QDataStream in(&socket);
//! in.setVersion(QDataStream::Qt_4_0);
//! QString fortune;
//! do {
//!     if (!socket.waitForReadyRead(Timeout)) {
//!         emit error(socket.error(), socket.errorString());
//!         return;
//!     }
//!     in.startTransaction();
//!     in >> fortune;
//! } while (!in.commitTransaction());
//! emit newFortune(fortune);
//! ```
//!
//! Run against `cargo run --example fortune_server` with
//! `cargo run --example blocking_fortune_client -- --host 127.0.0.1 --port <port>`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use sigloop::net::TcpSocket;
use sigloop::{
    DataStream, DataStreamStatus, DataStreamVersion, EventDispatcher, IoDevice, LoopHandle, Timer,
};

/// How long each blocking call may take (Qt's example: 5 s).
const WAIT: Duration = Duration::from_secs(10);
/// How long the main loop waits for the worker's answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Exit codes `exec` returns.
const OK: i32 = 0;
const FAILED: i32 = 1;

/// What the command line asked for.
struct Args {
    host: String,
    port: u16,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("blocking_fortune_client: {problem}");
    eprintln!("usage: blocking_fortune_client --host H --port N");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let (mut host, mut port) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = Some(value("--host")?),
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
    })
}

/// Qt's `FortuneThread::run`, on the worker thread: the fortune (`None`
/// for a null `QString`), or Qt's error text.
fn fetch_fortune(host: &str, port: u16) -> Result<Option<String>, String> {
    let socket = TcpSocket::new();
    socket.connect_to_host(host, port);
    if !socket.wait_for_connected(Some(WAIT)) {
        return Err(format!("{}: {}", socket.error(), socket.error_string()));
    }
    let mut input = DataStream::new(&socket);
    input.set_version(DataStreamVersion::QT_4_0);
    loop {
        if !socket.wait_for_ready_read(Some(WAIT)) {
            return Err(format!(
                "{}: {} (no complete fortune; {} bytes buffered)",
                socket.error(),
                socket.error_string(),
                socket.bytes_available()
            ));
        }
        input.start_transaction();
        let fortune: Option<String> = input.read();
        if input.commit_transaction() {
            return Ok(fortune);
        }
        let status = input.status();
        if status != DataStreamStatus::ReadPastEnd {
            return Err(format!("the fortune is not a valid QString: {status}"));
        }
    }
}

/// Qt's `BlockingClient::showFortune` / `displayError`, the slots of the
/// worker's queued signals: runs on the main thread, prints the result
/// and quits with the exit code.
fn show_result(answer: Result<Option<String>, String>) {
    let code = match answer {
        Ok(fortune) => {
            let line = match fortune {
                Some(text) => format!("FORTUNE {text}"),
                None => "NULL FORTUNE".to_owned(),
            };
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
                Ok(()) => OK,
                Err(_) => FAILED,
            }
        }
        Err(problem) => {
            eprintln!("error: {problem}");
            FAILED
        }
    };
    EventDispatcher::exit(code);
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };

    let main_loop: LoopHandle = EventDispatcher::handle();
    let worker = std::thread::Builder::new()
        .name("fortune-thread".to_owned())
        .spawn(move || {
            let answer = fetch_fortune(&args.host, args.port);
            // Queued to the main thread, as Qt's cross-thread signals are.
            let _ = main_loop.post(move || show_result(answer));
        });
    let worker = match worker {
        Ok(worker) => worker,
        Err(err) => {
            eprintln!("blocking_fortune_client: cannot start the worker thread: {err}");
            return ExitCode::FAILURE;
        }
    };
    Timer::single_shot(TIMEOUT, || {
        eprintln!("blocking_fortune_client: no answer from the worker thread within {TIMEOUT:?}");
        EventDispatcher::exit(FAILED);
    });

    match EventDispatcher::exec() {
        OK => {
            // The worker posted its answer as its last act: it has ended
            // or is about to.
            let _ = worker.join();
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    }
}
