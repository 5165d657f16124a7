//! `echo_server` written with async/await: one task per connection that
//! awaits a read and then the write of what it read, on the sigloop loop
//! (one thread). The echo benchmark (`benches/echo/run.sh`, server
//! `sigloop-async`) compares it with the slot version.
//!
//! ```text
//! async_echo_server --port N [--host H]
//! ```
//!
//! Same command line and output as `echo_server`: the first line on stdout
//! is `listening on <port>`, flushed at once; it echoes until killed.
//!
//! Run with `cargo run --example async_echo_server -- --port 0`.

use std::io::Write;
use std::process::ExitCode;

use sigloop::net::{HostAddress, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{spawn_local, EventDispatcher};

/// The read size of each task (the slot version reads what is buffered).
const READ_SIZE: usize = 64 * 1024;

fn usage(problem: &str) -> ExitCode {
    eprintln!("async_echo_server: {problem}");
    eprintln!("usage: async_echo_server --port N [--host H]");
    ExitCode::from(2)
}

fn parse_args() -> Result<(HostAddress, u16), String> {
    let mut host = HostAddress::from(SpecialAddress::LocalHost);
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => {
                let text = value("--host")?;
                if !text.eq_ignore_ascii_case("localhost") {
                    host = text
                        .parse()
                        .map_err(|err| format!("bad host {text:?}: {err}"))?;
                }
            }
            "--port" => {
                let text = value("--port")?;
                port = Some(text.parse().map_err(|_| format!("bad port {text:?}"))?);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((host, port.ok_or("--port is required")?))
}

/// Echoes one connection until the peer closes it, then deletes it.
async fn echo(socket: TcpSocket) {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        match socket.read_async(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if socket.write_all_async(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    socket.delete_later();
}

fn main() -> ExitCode {
    let (address, port) = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let server = TcpServer::new();
    if let Err(err) = server.listen(&address, port) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.server_port());
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }
    let _accept = server.new_connection().connect_to(&server, |server, _| {
        while let Some(socket) = server.next_pending_connection() {
            drop(spawn_local(echo(socket)));
        }
    });
    EventDispatcher::exec();
    ExitCode::SUCCESS
}
