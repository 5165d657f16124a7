//! Port of Qt's `multicastreceiver` example (qtbase/examples/network/
//! multicastreceiver): joins a multicast group and prints every datagram
//! received, one line each, as "Received datagram: <text>".
//!
//! ```text
//! multicast_receiver --group G --port N [--count C]
//! ```
//!
//! It binds `AnyIPv4` (IPv4 group) or `AnyIPv6` (IPv6 group) with
//! `ShareAddress`, joins the group, prints "listening on port N", and exits
//! 0 after `--count` datagrams (default: run until killed).
//!
//! Qt equivalent (the example's receiver):
//!
//! ```cpp
//! QUdpSocket udpSocket4;
//! udpSocket4.bind(QHostAddress::AnyIPv4, 45454, QUdpSocket::ShareAddress);
//! udpSocket4.joinMulticastGroup(groupAddress4);
//! QObject::connect(&udpSocket4, &QUdpSocket::readyRead, [&] {
//!     while (udpSocket4.hasPendingDatagrams()) {
//!         QNetworkDatagram dgram = udpSocket4.receiveDatagram();
//!         qDebug() << "Received IPv4 datagram:" << dgram.data();
//!     }
//! });
//! ```

use std::io::Write;
use std::process::ExitCode;

use sigloop::net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
use sigloop::EventDispatcher;

fn parse_args() -> Result<(HostAddress, u16, Option<u32>), String> {
    let mut group: HostAddress = "239.255.43.21".parse().expect("a literal");
    let (mut port, mut count) = (45454, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--group" => {
                group = value("--group")?
                    .parse()
                    .map_err(|e| format!("--group: {e}"))?
            }
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
    if !group.is_multicast() {
        return Err(format!("{group} is not a multicast group"));
    }
    Ok((group, port, count))
}

fn main() -> ExitCode {
    let (group, port, count) = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("multicast_receiver: {err}");
            eprintln!("usage: multicast_receiver --group G --port N [--count C]");
            return ExitCode::from(2);
        }
    };
    let any = match group.to_ipv4() {
        Some(_) if !group.to_string().contains(':') => SpecialAddress::AnyIPv4,
        _ => SpecialAddress::AnyIPv6,
    };
    let socket = UdpSocket::new();
    if let Err(err) = socket.bind(&HostAddress::from(any), port, BindMode::SHARE_ADDRESS) {
        eprintln!("error: {err}: {}", socket.error_string());
        return ExitCode::FAILURE;
    }
    if !socket.join_multicast_group(&group, None) {
        eprintln!("multicast_receiver: cannot join {group}");
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
