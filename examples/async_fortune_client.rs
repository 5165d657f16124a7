//! Qt's fortune client written as async code on the sigloop loop: one
//! thread, no worker thread, no slots. Where `blocking_fortune_client`
//! blocks a worker thread in `wait_for_*`, this one awaits the same
//! events, so the loop serves other work meanwhile.
//!
//! ```text
//! async_fortune_client --host H --port N
//! ```
//!
//! On success stdout is exactly `FORTUNE <text>` and a newline (`NULL
//! FORTUNE` for a null `QString`), exit status 0, as `fortune_client`
//! prints. On a socket error stderr says `error: <ErrorName>: <Qt's
//! text>` and the status is 1, as when the server closes before a whole
//! fortune arrived or nothing complete arrived within 10 seconds; a bad
//! command line exits with 2.
//!
//! | Qt (blocking fortune client) | sigloop, async |
//! |---|---|
//! | `connectToHost` + `waitForConnected` | `socket.connect(host, port).await` |
//! | `waitForReadyRead` | `socket.ready_read().next().await` |
//! | `QDataStream` read transaction | [`DataStream`], as in `fortune_client` |
//! | the `Timeout` of the waits | [`sigloop::timeout`] |
//!
//! Run against `cargo run --example fortune_server` with
//! `cargo run --example async_fortune_client -- --host 127.0.0.1 --port <port>`.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::future::{select, Either};
use sigloop::net::{SocketError, TcpSocket};
use sigloop::{block_on, timeout, DataStream, DataStreamStatus, DataStreamVersion};

/// How long the whole exchange may take.
const TIMEOUT: Duration = Duration::from_secs(10);

fn usage(problem: &str) -> ExitCode {
    eprintln!("async_fortune_client: {problem}");
    eprintln!("usage: async_fortune_client --host H --port N");
    ExitCode::from(2)
}

fn parse_args() -> Result<(String, u16), String> {
    let (mut host, mut port) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = Some(value("--host")?),
            "--port" => {
                let text = value("--port")?;
                let parsed = text.parse().map_err(|_| format!("bad port {text:?}"))?;
                port = Some(parsed);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((
        host.ok_or("--host is required")?,
        port.ok_or("--port is required")?,
    ))
}

/// Reads one fortune: `Ok(None)` for a null `QString`.
async fn fetch_fortune(host: String, port: u16) -> Result<Option<String>, String> {
    let socket = TcpSocket::new();
    let socket_error = |error: SocketError, socket: &TcpSocket| {
        format!("error: {error}: {}", socket.error_string())
    };
    socket
        .connect(&host, port)
        .await
        .map_err(|error| socket_error(error, &socket))?;
    loop {
        // Armed before looking at the buffer, so nothing is missed.
        let more = socket.ready_read().next();
        let closed = socket.disconnected().next();
        let mut input = DataStream::new(&socket);
        input.set_version(DataStreamVersion::QT_4_0);
        input.start_transaction();
        let fortune: Option<String> = input.read();
        if input.commit_transaction() {
            return Ok(fortune);
        }
        let status = input.status();
        if status != DataStreamStatus::ReadPastEnd {
            return Err(format!("the fortune is not a valid QString: {status}"));
        }
        if let Either::Right(_) = select(more, closed).await {
            // Closed: a last read, then give up.
            let mut input = DataStream::new(&socket);
            input.set_version(DataStreamVersion::QT_4_0);
            input.start_transaction();
            let fortune: Option<String> = input.read();
            if input.commit_transaction() {
                return Ok(fortune);
            }
            return Err(match socket.error() {
                SocketError::RemoteHostClosed | SocketError::Unknown => {
                    "the server closed the connection before a whole fortune arrived".into()
                }
                error => socket_error(error, &socket),
            });
        }
    }
}

fn main() -> ExitCode {
    let (host, port) = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let outcome = block_on(timeout(TIMEOUT, fetch_fortune(host, port)));
    match outcome {
        Some(Ok(Ok(Some(text)))) => println!("FORTUNE {text}"),
        Some(Ok(Ok(None))) => println!("NULL FORTUNE"),
        Some(Ok(Err(message))) => {
            if message.starts_with("error: ") {
                eprintln!("{message}");
            } else {
                eprintln!("async_fortune_client: {message}");
            }
            return ExitCode::FAILURE;
        }
        Some(Err(_elapsed)) => {
            eprintln!("async_fortune_client: no complete fortune within {TIMEOUT:?}");
            return ExitCode::FAILURE;
        }
        None => return ExitCode::FAILURE,
    }
    ExitCode::SUCCESS
}
