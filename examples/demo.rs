//! sigloop in one command: Qt's fortune server and fortune client
//! (`examples/network/fortuneserver` and `fortuneclient`) in one process,
//! one thread and one event loop, talking over loopback TCP.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The server listens on a free port of 127.0.0.1; the client connects,
//! reads the fortune (one `QString` in `QDataStream` format) with a read
//! transaction, and the demo prints, then exits with 0:
//!
//! ```text
//! fortune server listening on 127.0.0.1:<port>
//! FORTUNE <text>
//! round trip: <X> ms (connect, fortune sent, fortune read)
//! ```
//!
//! On an error, or if nothing arrived within 10 seconds, a message goes to
//! stderr and the exit status is 1. The standalone versions are
//! `fortune_server` and `fortune_client`.
//!
//! Qt class → sigloop mapping used here:
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QCoreApplication::exec()` / `exit()` | [`EventDispatcher::exec`] / [`EventDispatcher::exit`] |
//! | `QTcpServer` (`listen`, `newConnection`, `nextPendingConnection`) | [`TcpServer`] |
//! | `QTcpSocket` (`connectToHost`, `readyRead`, `write`, `disconnectFromHost`) | [`TcpSocket`] |
//! | `QDataStream` (`setVersion`, `<<`, `>>`, `startTransaction`, `commitTransaction`) | [`DataStream`] |
//! | `QObject::connect(sender, &Signal, context, lambda)` | `signal.connect_to(&context, closure)` |
//! | `deleteLater` | [`TcpSocket::delete_later`] |
//! | `QElapsedTimer`, `QTimer::singleShot` | [`ElapsedTimer`], [`Timer::single_shot`] |

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use sigloop::net::{HostAddress, SocketError, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{
    DataStream, DataStreamStatus, DataStreamVersion, ElapsedTimer, EventDispatcher, IoDevice, Timer,
};

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

/// How long accepting rests after an accept error before it resumes.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How long the demo may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Exit codes `exec` returns.
const OK: i32 = 0;
const FAILED: i32 = 1;

/// How the demo ended: the fortune and the round trip, or what failed.
type Outcome = Rc<RefCell<Option<Result<(String, Duration), String>>>>;

/// Records the outcome and leaves the loop, unless already decided.
fn decide(outcome: &Outcome, result: Result<(String, Duration), String>) {
    let mut slot = outcome.borrow_mut();
    if slot.is_none() {
        EventDispatcher::exit(if result.is_ok() { OK } else { FAILED });
        *slot = Some(result);
    }
}

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("demo: unknown argument {arg:?}");
        eprintln!("usage: demo");
        return ExitCode::from(2);
    }
    let outcome: Outcome = Rc::default();

    // The server: Qt's Server::sendFortune for every connection.
    let server = TcpServer::new();
    if let Err(err) = server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }
    println!(
        "fortune server listening on {}:{}",
        server.server_address(),
        server.server_port()
    );
    // An accept that fails (EMFILE: out of descriptors) pauses accepting;
    // resume after a short back-off, as the server examples do.
    let _retry = server.accept_error().connect_to(&server, |server, error| {
        eprintln!(
            "demo: accept failed: {error} ({}); retrying",
            server.error_string()
        );
        Timer::single_shot_to(server, ACCEPT_RETRY, TcpServer::resume_accepting);
    });
    let _serve = server.new_connection().connect_to(&server, |server, _| {
        while let Some(connection) = server.next_pending_connection() {
            let pick = RandomState::new().build_hasher().finish() % FORTUNES.len() as u64;
            let mut block = Vec::new();
            let mut out = DataStream::writer(&mut block);
            out.set_version(DataStreamVersion::QT_5_10);
            out.write(FORTUNES[pick as usize]);
            let _ = connection
                .disconnected()
                .connect_to(&connection, |connection, _| connection.delete_later());
            if connection.write(&block).is_err() {
                connection.abort();
                continue;
            }
            connection.disconnect_from_host();
        }
    });

    // The client: Qt's Client::readFortune.
    let client = TcpSocket::new();
    let round_trip = ElapsedTimer::started();
    let _read = {
        let outcome = outcome.clone();
        client.ready_read().connect_to(&client, move |client, _| {
            let mut input = DataStream::new(client);
            input.set_version(DataStreamVersion::QT_4_0);
            input.start_transaction();
            let fortune: String = input.read();
            if input.commit_transaction() {
                decide(&outcome, Ok((fortune, round_trip.elapsed())));
            } else if input.status() != DataStreamStatus::ReadPastEnd {
                let status = input.status();
                decide(&outcome, Err(format!("bad fortune: {status}")));
            }
        })
    };
    let _error = {
        let outcome = outcome.clone();
        client
            .error_occurred()
            .connect_to(&client, move |client, error| {
                if *error != SocketError::RemoteHostClosed {
                    decide(&outcome, Err(client.error_string()));
                }
            })
    };
    let _closed = {
        let outcome = outcome.clone();
        client.disconnected().connect(move |_| {
            decide(
                &outcome,
                Err("the server closed before a whole fortune arrived".to_owned()),
            );
        })
    };
    {
        let outcome = outcome.clone();
        Timer::single_shot(TIMEOUT, move || {
            decide(&outcome, Err(format!("no fortune within {TIMEOUT:?}")));
        });
    }

    client.connect_to_host("127.0.0.1", server.server_port());
    EventDispatcher::exec();
    client.abort();

    let result = outcome.borrow_mut().take();
    match result {
        Some(Ok((fortune, took))) => {
            println!("FORTUNE {fortune}");
            println!(
                "round trip: {:.1} ms (connect, fortune sent, fortune read)",
                took.as_secs_f64() * 1000.0
            );
            ExitCode::SUCCESS
        }
        Some(Err(problem)) => {
            eprintln!("demo: {problem}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!("demo: the loop ended without a result");
            ExitCode::FAILURE
        }
    }
}
