//! Qt's fortune server (`examples/network/fortuneserver`), ported to
//! sigloop: every client that connects gets one fortune, serialized as a
//! `QString` with `QDataStream`, and the server then closes the connection.
//!
//! ```text
//! fortune_server [--port N] [--host H] [--fortune TEXT | --null]
//! ```
//!
//! `--port 0` (the default) lets the OS pick a free port; `--host` is an IP
//! address (default `127.0.0.1`; `localhost` is accepted too). The first
//! line on stdout is `listening on <port>` with the real port, flushed at
//! once. Without `--fortune` each client gets a fortune picked at random
//! from the example's list; `--fortune TEXT` always sends TEXT (which may be
//! empty) and `--null` always sends a null `QString`. The server runs until
//! it is killed.
//!
//! The wire format is Qt's: a `quint32` big-endian byte length, then the
//! text in UTF-16BE (a null `QString` is the length `0xffffffff` alone), at
//! stream version `Qt_5_10`, with no other framing. Qt's fortune clients,
//! and `fortune_client` / `blocking_fortune_client` here, read it.
//!
//! Qt class → sigloop mapping used here:
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QCoreApplication::exec()` | [`EventDispatcher::exec`] |
//! | `QTcpServer::listen`, `serverPort` | [`TcpServer::listen`], [`TcpServer::server_port`] |
//! | `newConnection` + `nextPendingConnection` | [`TcpServer::new_connection`], [`TcpServer::next_pending_connection`] |
//! | `QDataStream out(&block, QIODevice::WriteOnly)` | [`DataStream::writer`] |
//! | `out.setVersion(QDataStream::Qt_5_10)` | [`DataStream::set_version`] with [`DataStreamVersion::QT_5_10`] |
//! | `out << QString` | `out.write(text)` (`&str`, or `Option<&str>` for a null string) |
//! | `QTcpSocket::write`, `disconnectFromHost` | [`IoDevice::write`], [`TcpSocket::disconnect_from_host`] |
//! | `disconnected` → `deleteLater` | [`TcpSocket::disconnected`] → [`TcpSocket::delete_later`] |
//! | `acceptError` → `QTimer::singleShot(100, &server, &QTcpServer::resumeAccepting)` | [`TcpServer::accept_error`] → [`Timer::single_shot_to`] with [`TcpServer::resume_accepting`] |
//!
//! The heart of Qt's `Server::sendFortune()`:
//!
//! ```cpp
//! QByteArray block;
//! QDataStream out(&block, QIODevice::WriteOnly);
//! out.setVersion(QDataStream::Qt_5_10);
//! out << fortunes[QRandomGenerator::global()->bounded(fortunes.size())];
//! QTcpSocket *clientConnection = tcpServer->nextPendingConnection();
//! connect(clientConnection, &QAbstractSocket::disconnected,
//!         clientConnection, &QObject::deleteLater);
//! clientConnection->write(block);
//! clientConnection->disconnectFromHost();
//! ```
//!
//! Run with `cargo run --example fortune_server`, then
//! `cargo run --example fortune_client -- --host 127.0.0.1 --port <port>`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use sigloop::net::{HostAddress, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{DataStream, DataStreamVersion, EventDispatcher, IoDevice, Timer};

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
    fortune: Fortune,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("fortune_server: {problem}");
    eprintln!("usage: fortune_server [--port N] [--host H] [--fortune TEXT | --null]");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        host: "127.0.0.1".to_owned(),
        port: 0,
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

/// A random index below `n` (Qt: `QRandomGenerator::global()->bounded(n)`),
/// from the randomly keyed hasher std gives every `RandomState`.
fn random_below(n: usize) -> usize {
    (RandomState::new().build_hasher().finish() % n as u64) as usize
}

/// The block Qt's `sendFortune` writes: the fortune as a `QString`, at
/// version `Qt_5_10`.
fn fortune_block(fortune: &Fortune) -> Vec<u8> {
    let mut block = Vec::new();
    let mut out = DataStream::writer(&mut block);
    out.set_version(DataStreamVersion::QT_5_10);
    match fortune {
        Fortune::Random => out.write(FORTUNES[random_below(FORTUNES.len())]),
        Fortune::Fixed(text) => out.write(text.as_str()),
        Fortune::Null => out.write(&None::<&str>),
    };
    block
}

/// Qt's `Server::sendFortune`, for one accepted connection. The server
/// owns the socket until `delete_later` runs (Qt's parent-child
/// ownership), so no handle needs keeping here.
fn send_fortune(socket: &TcpSocket, fortune: &Fortune) {
    let _ = socket
        .disconnected()
        .connect_to(socket, |socket, _| socket.delete_later());
    if let Err(err) = socket.write(&fortune_block(fortune)) {
        eprintln!("fortune_server: write failed: {err}");
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

    let server = TcpServer::new();
    if let Err(err) = server.listen(&address, args.port) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.server_port());
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }

    // Qt pauses accepting when an accept fails (EMFILE: out of descriptors)
    // and emits acceptError. Resume after a short back-off, once closed
    // connections may have given descriptors back; resuming at once would
    // fail at once again and spin. Qt: QTimer::singleShot(100, &server,
    // &QTcpServer::resumeAccepting).
    let _retry = server.accept_error().connect_to(&server, |server, error| {
        eprintln!(
            "fortune_server: accept failed: {error} ({}); retrying in {} ms",
            server.error_string(),
            ACCEPT_RETRY.as_millis()
        );
        Timer::single_shot_to(server, ACCEPT_RETRY, TcpServer::resume_accepting);
    });

    let fortune = args.fortune;
    let _accept = server
        .new_connection()
        .connect_to(&server, move |server, _| {
            while let Some(socket) = server.next_pending_connection() {
                send_fortune(&socket, &fortune);
            }
        });

    EventDispatcher::exec();
    ExitCode::SUCCESS
}
