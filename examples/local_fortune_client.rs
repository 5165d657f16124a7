//! Qt's local fortune client (`examples/corelib/ipc/localfortuneclient`),
//! ported to sigloop: connects to a local fortune server, reads one
//! fortune, prints it and exits.
//!
//! ```text
//! local_fortune_client --name NAME
//! ```
//!
//! `NAME` follows Qt's rules (a bare name is in the temporary directory).
//! On success stdout is exactly `FORTUNE <text>` and a newline, and the
//! exit status is 0; on an error (no server: "QLocalSocket::connectToServer:
//! Invalid name") the error goes to stderr and the status is 1. It gives up
//! after 30 s.
//!
//! | Qt | sigloop |
//! |---|---|
//! | `QLocalSocket::connectToServer(name)` | [`LocalSocket::connect_to_server`] |
//! | `in.setDevice(socket); in.setVersion(QDataStream::Qt_6_0)` | [`DataStream::new`] + [`DataStream::set_version`] |
//! | `in >> blockSize; ... in >> nextFortune` | a transaction reading the `u32`, then the `QString` |
//! | `errorOccurred(LocalSocketError)` | [`LocalSocket::error_occurred`] with [`LocalSocketError`] |

use std::cell::RefCell;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use sigloop::{
    DataStream, DataStreamStatus, DataStreamVersion, EventDispatcher, LocalSocket,
    LocalSocketError, Timer,
};

/// How long the client waits for a whole fortune.
const TIMEOUT: Duration = Duration::from_secs(30);

fn usage(problem: &str) -> ExitCode {
    eprintln!("local_fortune_client: {problem}");
    eprintln!("usage: local_fortune_client --name NAME");
    ExitCode::from(2)
}

fn parse_args() -> Result<String, String> {
    let mut name = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => name = Some(args.next().ok_or("--name needs a value")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    name.ok_or_else(|| "--name is required".to_owned())
}

fn main() -> ExitCode {
    let name = match parse_args() {
        Ok(name) => name,
        Err(problem) => return usage(&problem),
    };
    let socket = LocalSocket::new();
    let fortune: Rc<RefCell<Option<String>>> = Rc::default();

    // Qt's Client::readFortune, with a read transaction for the whole
    // block instead of its remembered block size.
    let _read = {
        let fortune = fortune.clone();
        socket.ready_read().connect_to(&socket, move |socket, _| {
            if fortune.borrow().is_some() {
                return;
            }
            let mut input = DataStream::new(socket);
            input.set_version(DataStreamVersion::QT_6_0);
            input.start_transaction();
            let _units: u32 = input.read();
            let text: String = input.read();
            if !input.commit_transaction() {
                if input.status() != DataStreamStatus::ReadPastEnd {
                    eprintln!("error: the fortune is not a valid QString");
                    EventDispatcher::exit(1);
                }
                return; // wait for more data
            }
            *fortune.borrow_mut() = Some(text);
            EventDispatcher::exit(0);
        })
    };
    // Qt's Client::displayError: the server closing is expected.
    let _error = socket
        .error_occurred()
        .connect_to(&socket, |socket, error| {
            if *error != LocalSocketError::PeerClosed {
                eprintln!("error: {error}: {}", socket.error_string());
                EventDispatcher::exit(1);
            }
        });
    Timer::single_shot(TIMEOUT, || {
        eprintln!("error: no complete fortune within {TIMEOUT:?}");
        EventDispatcher::exit(1);
    });
    socket.connect_to_server(&name);
    if socket.error() != LocalSocketError::Unknown {
        return ExitCode::FAILURE; // reported by the slot, before any loop
    }
    let code = EventDispatcher::exec();
    socket.abort();
    let fortune = fortune.borrow_mut().take();
    match (code, fortune) {
        (0, Some(text)) => {
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "FORTUNE {text}")
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
