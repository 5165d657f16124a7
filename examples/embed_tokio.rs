//! sigloop inside a tokio application: a sigloop `TcpServer` and a tokio
//! `TcpListener`, both echo servers, served by one thread (a tokio
//! `current_thread` runtime and a `LocalSet`; no other thread).
//!
//! ```text
//! embed_tokio [--port N]
//! ```
//!
//! Prints `sigloop listening on <port>` and `tokio listening on <port>`
//! (the real ports, flushed at once) and echoes on both until killed.
//! `--port N` puts sigloop's server on N and tokio's on N + 1; without it
//! (or with 0) the OS picks both ports.
//!
//! How: `sigloop::tokio::run()` is spawned on the `LocalSet` like any
//! tokio task. It watches the sigloop loop's epoll descriptor with tokio's
//! `AsyncFd` and sleeps until sigloop's next timer with `tokio::time`,
//! running one non-blocking pass of the loop whenever either wakes it.
//! Needs the `tokio` feature, which the crate's dev-dependencies turn on
//! for its examples and tests: `cargo run --example embed_tokio`.
//!
//! Qt has nothing like it: a Qt application runs Qt's loop, and foreign
//! loops embed into it, not the other way round.

use std::io::Write;
use std::process::ExitCode;

use sigloop::net::{HostAddress, SpecialAddress, TcpServer};
use sigloop::IoDevice;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn usage(problem: &str) -> ExitCode {
    eprintln!("embed_tokio: {problem}");
    eprintln!("usage: embed_tokio [--port N]");
    ExitCode::from(2)
}

fn parse_args() -> Result<u16, String> {
    let mut port = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let text = args.next().ok_or("--port needs a value")?;
                port = text
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p < u16::MAX)
                    .ok_or(format!("bad port {text:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(port)
}

/// sigloop's echo server, written with slots as `echo_server` is.
fn sigloop_echo(port: u16) -> Result<TcpServer, String> {
    let server = TcpServer::new();
    let address = HostAddress::from(SpecialAddress::LocalHost);
    if let Err(err) = server.listen(&address, port) {
        return Err(format!("error: {err}: {}", server.error_string()));
    }
    let _accept = server.new_connection().connect_to(&server, |server, _| {
        while let Some(socket) = server.next_pending_connection() {
            let _ = socket.ready_read().connect_to(&socket, |socket, _| {
                if let Ok(data) = socket.read_all() {
                    let _ = socket.write_vec(data);
                }
            });
            let _ = socket
                .disconnected()
                .connect_to(&socket, |socket, _| socket.delete_later());
        }
    });
    Ok(server)
}

/// tokio's echo of one connection.
async fn tokio_echo(mut stream: TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let port = match parse_args() {
        Ok(port) => port,
        Err(problem) => return usage(&problem),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("embed_tokio: cannot start tokio: {err}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let server = match sigloop_echo(port) {
            Ok(server) => server,
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::FAILURE;
            }
        };
        let tokio_port = if port == 0 { 0 } else { port + 1 };
        let listener = match TcpListener::bind(("127.0.0.1", tokio_port)).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("embed_tokio: tokio cannot listen: {err}");
                return ExitCode::FAILURE;
            }
        };
        let tokio_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        println!("sigloop listening on {}", server.server_port());
        println!("tokio listening on {tokio_port}");
        if std::io::stdout().flush().is_err() {
            return ExitCode::FAILURE;
        }
        // The sigloop loop, as one more task of this LocalSet.
        drop(tokio::task::spawn_local(sigloop::tokio::run()));
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(tokio::task::spawn_local(tokio_echo(stream))),
                Err(err) => eprintln!("embed_tokio: accept failed: {err}"),
            }
        }
    })
}
