//! Datagrams per second through our `UdpSocket` versus raw mio, in the
//! same run, for 64-byte and 1400-byte datagrams over IPv4 loopback.
//!
//! ```text
//! cargo bench --bench udp
//! ```
//!
//! Both sides do the same work per batch: send `BATCH` datagrams from one
//! socket to another, then run their loop until all of them were read.
//! Ours sends with `write_datagram` (which emits `bytes_written`) and reads
//! in a `ready_read` slot with `read_datagram` until the queue is empty, as
//! a Qt program does; raw mio uses `send_to` and `recv_from` on its own
//! `Poll`. The ratio printed is ours / raw (target: at least 0.9).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket as MioUdp;
use mio::{Events, Interest, Poll, Token};
use sigloop::net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
use sigloop::{EventDispatcher, ProcessEventsFlags};

/// Datagrams in flight at once (well under the default receive buffer).
const BATCH: usize = 64;
/// How long each measurement runs.
const RUN: Duration = Duration::from_millis(1500);

fn ours(size: usize) -> f64 {
    let local = HostAddress::from(SpecialAddress::LocalHost);
    let receiver = UdpSocket::new();
    receiver
        .bind(&local, 0, BindMode::DEFAULT_FOR_PLATFORM)
        .unwrap();
    let sender = UdpSocket::new();
    sender
        .bind(&local, 0, BindMode::DEFAULT_FOR_PLATFORM)
        .unwrap();
    let received = Rc::new(Cell::new(0usize));
    let r = received.clone();
    let mut buf = vec![0u8; 2048];
    let _c = receiver
        .ready_read()
        .connect_to(&receiver, move |receiver, _| {
            while let Ok((n, _, _)) = receiver.read_datagram(&mut buf) {
                debug_assert!(n > 0);
                r.set(r.get() + 1);
            }
        });
    let payload = vec![7u8; size];
    let port = receiver.local_port();
    let start = Instant::now();
    let mut sent = 0;
    while start.elapsed() < RUN {
        for _ in 0..BATCH {
            sender.write_datagram(&payload, &local, port).unwrap();
        }
        sent += BATCH;
        while received.get() < sent {
            EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
        }
    }
    sent as f64 / start.elapsed().as_secs_f64()
}

fn raw(size: usize) -> f64 {
    let mut poll = Poll::new().unwrap();
    let mut receiver = MioUdp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let sender = MioUdp::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    poll.registry()
        .register(&mut receiver, Token(0), Interest::READABLE)
        .unwrap();
    let target = receiver.local_addr().unwrap();
    let mut events = Events::with_capacity(64);
    let payload = vec![7u8; size];
    let mut buf = vec![0u8; 2048];
    let start = Instant::now();
    let (mut sent, mut received) = (0usize, 0usize);
    while start.elapsed() < RUN {
        for _ in 0..BATCH {
            sender.send_to(&payload, target).unwrap();
        }
        sent += BATCH;
        while received < sent {
            poll.poll(&mut events, None).unwrap();
            loop {
                match receiver.recv_from(&mut buf) {
                    Ok(_) => received += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
    sent as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    println!("UDP datagrams per second over 127.0.0.1 (batches of {BATCH}, {RUN:?} each)");
    for size in [64, 1400] {
        // Alternate to spread machine noise over both.
        let raw1 = raw(size);
        let ours1 = ours(size);
        let raw2 = raw(size);
        let ours2 = ours(size);
        let (raw, ours) = ((raw1 + raw2) / 2.0, (ours1 + ours2) / 2.0);
        println!(
            "{size:>5} B: raw mio {raw:>10.0}/s  sigloop UdpSocket {ours:>10.0}/s  ratio {:.2}",
            ours / raw
        );
    }
}
