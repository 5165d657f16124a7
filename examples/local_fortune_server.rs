//! Qt's local fortune server (`examples/corelib/ipc/localfortuneserver`),
//! ported to sigloop: every client that connects to the local server gets
//! one fortune, and the server then disconnects.
//!
//! ```text
//! local_fortune_server --name NAME [--fortune TEXT]
//! ```
//!
//! `NAME` follows Qt's rules: a bare name is a socket file in the temporary
//! directory (`$TMPDIR`, else `/tmp`), a name starting with `/` is a path.
//! A stale file of a crashed server is removed first, as Qt's example does
//! (`QLocalServer::removeServer`). The first line on stdout is
//! `listening on <full server name>`, flushed at once. Without `--fortune`
//! each client gets one of Qt's fortunes at random. The server runs until
//! it is killed.
//!
//! The wire format is Qt's example's: `QDataStream` at version `Qt_6_0`, a
//! `quint32` (the text's length in UTF-16 units), then the `QString`.
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QLocalServer::removeServer`, `listen`, `fullServerName` | [`LocalServer::remove_server`], [`LocalServer::listen`], [`LocalServer::full_server_name`] |
//! | `newConnection` + `nextPendingConnection` | [`LocalServer::new_connection`], [`LocalServer::next_pending_connection`] |
//! | `out << quint32(message.size()); out << message;` | `out.write(&len); out.write(text)` |
//! | `write`, `flush`, `disconnectFromServer` | [`IoDevice::write`], [`LocalSocket::flush`], [`LocalSocket::disconnect_from_server`] |
//! | — (Qt closes the server when `accept` fails) | [`LocalServer::accept_error`] → [`Timer::single_shot_to`] with [`LocalServer::resume_accepting`] |
//!
//! Run with `cargo run --example local_fortune_server -- --name fortune`,
//! then `cargo run --example local_fortune_client -- --name fortune`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use sigloop::{
    DataStream, DataStreamVersion, EventDispatcher, IoDevice, LocalServer, LocalSocket, Timer,
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

fn usage(problem: &str) -> ExitCode {
    eprintln!("local_fortune_server: {problem}");
    eprintln!("usage: local_fortune_server --name NAME [--fortune TEXT]");
    ExitCode::from(2)
}

/// `(name, fixed fortune)` from the command line.
fn parse_args() -> Result<(String, Option<String>), String> {
    let (mut name, mut fortune) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--name" => name = Some(value("--name")?),
            "--fortune" => fortune = Some(value("--fortune")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((name.ok_or("--name is required")?, fortune))
}

/// A random index below `n` (Qt: `QRandomGenerator::global()->bounded(n)`).
fn random_below(n: usize) -> usize {
    (RandomState::new().build_hasher().finish() % n as u64) as usize
}

/// The block Qt's `Server::sendFortune` writes.
fn fortune_block(text: &str) -> Vec<u8> {
    let mut block = Vec::new();
    let mut out = DataStream::writer(&mut block);
    out.set_version(DataStreamVersion::QT_6_0);
    let units = text.encode_utf16().count() as u32;
    out.write(&units);
    out.write(text);
    block
}

/// Qt's `Server::sendFortune`, for one accepted connection.
fn send_fortune(socket: &LocalSocket, text: &str) {
    let _ = socket
        .disconnected()
        .connect_to(socket, |socket, _| socket.delete_later());
    if let Err(err) = socket.write(&fortune_block(text)) {
        eprintln!("local_fortune_server: write failed: {err}");
        socket.abort();
        return;
    }
    socket.flush();
    socket.disconnect_from_server();
}

fn main() -> ExitCode {
    let (name, fortune) = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let server = LocalServer::new();
    // As Qt's example: a crashed server's file would make listen fail.
    LocalServer::remove_server(&name);
    if let Err(err) = server.listen(&name) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.full_server_name());
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }
    // Out of descriptors, accepting pauses (where Qt's QLocalServer would
    // close); resume after a short back-off, once closed connections may
    // have given descriptors back, instead of failing again at once.
    let _retry = server.accept_error().connect_to(&server, |server, error| {
        eprintln!(
            "local_fortune_server: accept failed: {error} ({}); retrying in {} ms",
            server.error_string(),
            ACCEPT_RETRY.as_millis()
        );
        Timer::single_shot_to(server, ACCEPT_RETRY, LocalServer::resume_accepting);
    });
    let _send = server
        .new_connection()
        .connect_to(&server, move |server, _| {
            while let Some(socket) = server.next_pending_connection() {
                let text = fortune
                    .clone()
                    .unwrap_or_else(|| FORTUNES[random_below(FORTUNES.len())].to_owned());
                send_fortune(&socket, &text);
            }
        });
    EventDispatcher::exec();
    ExitCode::SUCCESS
}
