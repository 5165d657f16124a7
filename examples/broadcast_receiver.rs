//! Port of Qt's `broadcastreceiver` example (qtbase/examples/network/
//! broadcastreceiver): binds a UDP port and prints every datagram that
//! arrives, one line each, as "Received datagram: <text>".
//!
//! ```text
//! broadcast_receiver --port N [--count C]
//! ```
//!
//! It binds `AnyIPv4` with `ShareAddress`, like the Qt example (so several
//! receivers can share the port), prints "listening on port N" once bound,
//! and exits 0 after `--count` datagrams (default: run until killed).
//!
//! Qt equivalent (the example's receiver):
//!
//! ```cpp
//! QUdpSocket udpSocket;
//! udpSocket.bind(45454, QUdpSocket::ShareAddress);
//! QObject::connect(&udpSocket, &QUdpSocket::readyRead, [&] {
//!     while (udpSocket.hasPendingDatagrams()) {
//!         QNetworkDatagram datagram = udpSocket.receiveDatagram();
//!         qDebug() << "Received datagram:" << datagram.data();
//!     }
//! });
//! ```

use std::io::Write;
use std::process::ExitCode;

use sigloop::net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
use sigloop::EventDispatcher;

fn parse_args() -> Result<(u16, Option<u32>), String> {
    let (mut port, mut count) = (45454, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--count" => {
                count = Some(
                    value("--count")?
                        .parse()
                        .map_err(|e| format!("--count: {e}"))?,
                )
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((port, count))
}

fn main() -> ExitCode {
    let (port, count) = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("broadcast_receiver: {err}");
            eprintln!("usage: broadcast_receiver --port N [--count C]");
            return ExitCode::from(2);
        }
    };
    let socket = UdpSocket::new();
    if let Err(err) = socket.bind(
        &HostAddress::from(SpecialAddress::AnyIPv4),
        port,
        BindMode::SHARE_ADDRESS,
    ) {
        eprintln!("error: {err}: {}", socket.error_string());
        return ExitCode::FAILURE;
    }
    println!("listening on port {}", socket.local_port());
    let _ = std::io::stdout().flush();
    let mut received = 0;
    let _read = socket.ready_read().connect_to(&socket, move |socket, _| {
        while socket.has_pending_datagrams() {
            let datagram = socket.receive_datagram(None);
            println!(
                "Received datagram: {}",
                String::from_utf8_lossy(datagram.data())
            );
            let _ = std::io::stdout().flush();
            received += 1;
            if Some(received) == count {
                EventDispatcher::exit(0);
                return;
            }
        }
    });
    match EventDispatcher::exec() {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
