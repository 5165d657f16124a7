//! Port of Qt's `multicastsender` example (qtbase/examples/network/
//! multicastsender): sends "Multicast message N" once a second to a
//! multicast group, with a settable TTL.
//!
//! ```text
//! multicast_sender --group G --port N [--ttl T] [--count C] [--interval-ms MS]
//! ```
//!
//! `--group` is an IPv4 (default 239.255.43.21, Qt's) or IPv6 group; the
//! TTL (default 1, Qt's default) goes to `MulticastTtlOption`. It sends
//! `--count` messages (default 5) `--interval-ms` apart (default 1000),
//! prints each and exits 0; exits 1 on a send error. Multicast leaves
//! through the host's multicast route: run it inside a network namespace
//! (see tests/examples_udp.rs) unless you mean to send on your network.
//!
//! Qt equivalent (the example's sender):
//!
//! ```cpp
//! QUdpSocket udpSocket4;
//! udpSocket4.bind(QHostAddress(QHostAddress::AnyIPv4), 0);
//! udpSocket4.setSocketOption(QAbstractSocket::MulticastTtlOption, ttl);
//! QObject::connect(&timer, &QTimer::timeout, [&] {
//!     QByteArray datagram = "Multicast message " + QByteArray::number(messageNo);
//!     udpSocket4.writeDatagram(datagram, groupAddress4, 45454);
//!     ++messageNo;
//! });
//! timer.start(1000);
//! ```

use std::process::ExitCode;
use std::time::Duration;

use sigloop::net::{BindMode, HostAddress, SocketOption, SpecialAddress, UdpSocket};
use sigloop::{EventDispatcher, Timer};

struct Args {
    group: HostAddress,
    port: u16,
    ttl: i32,
    count: u32,
    interval: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        group: "239.255.43.21".parse().expect("a literal"),
        port: 45454,
        ttl: 1,
        count: 5,
        interval: Duration::from_millis(1000),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--group" => {
                parsed.group = value("--group")?
                    .parse()
                    .map_err(|e| format!("--group: {e}"))?
            }
            "--port" => {
                parsed.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--ttl" => parsed.ttl = value("--ttl")?.parse().map_err(|e| format!("--ttl: {e}"))?,
            "--count" => {
                parsed.count = value("--count")?
                    .parse()
                    .map_err(|e| format!("--count: {e}"))?
            }
            "--interval-ms" => {
                let ms: u64 = value("--interval-ms")?
                    .parse()
                    .map_err(|e| format!("--interval-ms: {e}"))?;
                parsed.interval = Duration::from_millis(ms);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !parsed.group.is_multicast() {
        return Err(format!("{} is not a multicast group", parsed.group));
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("multicast_sender: {err}");
            eprintln!("usage: multicast_sender --group G --port N [--ttl T] [--count C] [--interval-ms MS]");
            return ExitCode::from(2);
        }
    };
    let socket = UdpSocket::new();
    let any = match args.group.to_ipv4() {
        Some(_) if !args.group.to_string().contains(':') => SpecialAddress::AnyIPv4,
        _ => SpecialAddress::AnyIPv6,
    };
    if let Err(err) = socket.bind(&HostAddress::from(any), 0, BindMode::DEFAULT_FOR_PLATFORM) {
        eprintln!("error: {err}: {}", socket.error_string());
        return ExitCode::FAILURE;
    }
    socket.set_socket_option(SocketOption::MulticastTtl, args.ttl);
    let timer = Timer::new();
    let mut message_no = 1;
    let _send = timer.on_timeout(move |timer| {
        let datagram = format!("Multicast message {message_no}");
        match socket.write_datagram(datagram.as_bytes(), &args.group, args.port) {
            Ok(_) => println!("Now sending datagram {message_no}"),
            Err(err) => {
                eprintln!("error: {err}: {}", socket.error_string());
                EventDispatcher::exit(1);
                return;
            }
        }
        if message_no == args.count {
            timer.stop();
            EventDispatcher::exit(0);
        }
        message_no += 1;
    });
    timer.start_with(args.interval);
    match EventDispatcher::exec() {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
