//! What the echo servers of the benchmark share: the command line
//! (`--port N [--host H]`, as sigloop's `echo_server` example) and the
//! `listening on <port>` line the script waits for; and in [`probe`], what
//! the load generators share.

pub mod probe;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

/// Parses `--port N [--host H]` (host: an IP address, default 127.0.0.1).
///
/// Exits with status 2 and a usage line on a bad command line.
pub fn server_addr(name: &str) -> SocketAddr {
    let usage = |problem: String| -> ! {
        eprintln!("{name}: {problem}");
        eprintln!("usage: {name} --port N [--host H]");
        std::process::exit(2)
    };
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(format!("{arg} needs a value")));
        match arg.as_str() {
            "--host" => {
                host = value
                    .parse()
                    .unwrap_or_else(|_| usage(format!("bad host {value:?}")))
            }
            "--port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .unwrap_or_else(|_| usage(format!("bad port {value:?}"))),
                )
            }
            _ => usage(format!("unknown argument {arg:?}")),
        }
    }
    let port = port.unwrap_or_else(|| usage("--port is required".into()));
    SocketAddr::new(host, port)
}

/// Prints `listening on <port>` as the first stdout line and flushes it.
pub fn announce(port: u16) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {port}");
    let _ = stdout.flush();
}
