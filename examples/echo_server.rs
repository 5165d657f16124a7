//! A TCP echo server: every byte received on every connection is written
//! back, until the process is killed.
//!
//! ```text
//! echo_server --port N [--host H]
//! ```
//!
//! `--port 0` lets the OS pick a free port; `--host` is an IP address
//! (default `127.0.0.1`; `localhost` is accepted too). The first line on
//! stdout is `listening on <port>` with the real port, flushed at once, so
//! a script or a test can start the server and read where it listens.
//!
//! Qt equivalent:
//!
//! ```cpp
//! QCoreApplication app(argc, argv);
//! QTcpServer server;
//! server.listen(QHostAddress(host), port);
//! std::printf("listening on %d\n", server.serverPort());
//! std::fflush(stdout);
//! QObject::connect(&server, &QTcpServer::newConnection, [&] {
//!     while (QTcpSocket *socket = server.nextPendingConnection()) {
//!         QObject::connect(socket, &QTcpSocket::readyRead, socket,
//!                          [socket] { socket->write(socket->readAll()); });
//!         QObject::connect(socket, &QTcpSocket::disconnected,
//!                          socket, &QObject::deleteLater);
//!     }
//! });
//! QObject::connect(&server, &QTcpServer::acceptError, [&] {
//!     QTimer::singleShot(100, &server, &QTcpServer::resumeAccepting);
//! });
//! return app.exec();
//! ```
//!
//! Run with `cargo run --example echo_server -- --port 0`, then
//! `cargo run --example echo_client -- --port <port> --host 127.0.0.1 --message hi`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use sigloop::net::{HostAddress, SpecialAddress, TcpServer};
use sigloop::{EventDispatcher, IoDevice, Timer};

/// How long accepting rests after an accept error before it resumes.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What the command line asked for.
struct Args {
    host: String,
    port: u16,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("echo_server: {problem}");
    eprintln!("usage: echo_server --port N [--host H]");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let mut host = "127.0.0.1".to_owned();
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = value("--host")?,
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
    let port = port.ok_or("--port is required")?;
    Ok(Args { host, port })
}

fn parse_host(host: &str) -> Result<HostAddress, String> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(HostAddress::from(SpecialAddress::LocalHost));
    }
    host.parse::<HostAddress>()
        .map_err(|err| format!("bad host {host:?}: {err}"))
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
            "echo_server: accept failed: {error} ({}); retrying in {} ms",
            server.error_string(),
            ACCEPT_RETRY.as_millis()
        );
        Timer::single_shot_to(server, ACCEPT_RETRY, TcpServer::resume_accepting);
    });

    // As in Qt, the server owns every socket it accepted until the socket
    // is deleted, so the slot keeps no handle of its own.
    let _accept = server.new_connection().connect_to(&server, |server, _| {
        while let Some(socket) = server.next_pending_connection() {
            let _ = socket.ready_read().connect_to(&socket, |socket, _| {
                if let Ok(data) = socket.read_all() {
                    if !data.is_empty() {
                        // Qt's `write(readAll())` shares the QByteArray;
                        // `write_vec` hands the vector over the same way,
                        // so the echo copies nothing in user space.
                        let _ = socket.write_vec(data);
                    }
                }
            });
            let _ = socket
                .disconnected()
                .connect_to(&socket, |socket, _| socket.delete_later());
        }
    });

    EventDispatcher::exec();
    ExitCode::SUCCESS
}
