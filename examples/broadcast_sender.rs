//! Port of Qt's `broadcastsender` example (qtbase/examples/network/
//! broadcastsender): sends "Broadcast message N" once a second to a UDP
//! port on a broadcast address.
//!
//! ```text
//! broadcast_sender --port N [--dest ADDR] [--count C] [--interval-ms MS]
//! ```
//!
//! `--dest` defaults to 127.255.255.255, loopback's broadcast address, so
//! the example stays on this machine (Qt's example uses 255.255.255.255).
//! It sends `--count` messages (default 5), `--interval-ms` apart (default
//! 1000, Qt's), prints each one it sent and exits 0; on a send error it
//! prints the error and exits 1.
//!
//! Qt equivalent (the example's sender loop):
//!
//! ```cpp
//! QUdpSocket udpSocket;
//! QTimer timer;
//! int messageNo = 1;
//! QObject::connect(&timer, &QTimer::timeout, [&] {
//!     QByteArray datagram = "Broadcast message " + QByteArray::number(messageNo);
//!     udpSocket.writeDatagram(datagram, QHostAddress::Broadcast, 45454);
//!     ++messageNo;
//! });
//! timer.start(1000);
//! ```

use std::process::ExitCode;
use std::time::Duration;

use sigloop::net::{HostAddress, UdpSocket};
use sigloop::{EventDispatcher, Timer};

struct Args {
    port: u16,
    dest: HostAddress,
    count: u32,
    interval: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        port: 45454,
        dest: "127.255.255.255".parse().expect("a literal"),
        count: 5,
        interval: Duration::from_millis(1000),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                parsed.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--dest" => {
                parsed.dest = value("--dest")?
                    .parse()
                    .map_err(|e| format!("--dest: {e}"))?
            }
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
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("broadcast_sender: {err}");
            eprintln!(
                "usage: broadcast_sender --port N [--dest ADDR] [--count C] [--interval-ms MS]"
            );
            return ExitCode::from(2);
        }
    };
    let socket = UdpSocket::new();
    let timer = Timer::new();
    let mut message_no = 1;
    let _send = timer.on_timeout(move |timer| {
        let datagram = format!("Broadcast message {message_no}");
        match socket.write_datagram(datagram.as_bytes(), &args.dest, args.port) {
            Ok(_) => println!("Now broadcasting datagram {message_no}"),
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
