//! Stream throughput of a `LocalSocket` connection against a `TcpSocket`
//! connection over IPv4 loopback and a raw mio `UnixStream` pair, in the
//! same run, on one thread (writer and reader share the loop).
//!
//! ```text
//! cargo bench --bench local
//! ```
//!
//! The sigloop writers keep 1 MiB in flight: `write` 64 KiB blocks, one
//! more per 64 KiB that `bytes_written` reports; the reader takes
//! `read_all` in `ready_read` and drops it. Raw mio writes and reads the
//! same blocks until `WouldBlock` on its own `Poll`. Each figure is the
//! median of 5 runs of 1 s; the ratios printed are local / TCP (the
//! engine's cost is the same, the kernel's differs) and local / raw mio.

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};
use sigloop::net::{HostAddress, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{EventDispatcher, IoDevice, LocalServer, LocalSocket, ProcessEventsFlags};

const BLOCK: usize = 64 * 1024;
const IN_FLIGHT: usize = 16;
const RUN: Duration = Duration::from_secs(1);
const ROUNDS: usize = 5;
const MIB: f64 = 1024.0 * 1024.0;

/// Drives a writer with `write` and a reader, counting what arrived.
fn pump(write: impl Fn(&[u8]), received: &Rc<Cell<usize>>, written: &Rc<Cell<usize>>) -> f64 {
    let block = vec![0x5au8; BLOCK];
    for _ in 0..IN_FLIGHT {
        write(&block);
    }
    let mut queued = IN_FLIGHT * BLOCK;
    let start = Instant::now();
    let base = received.get();
    while start.elapsed() < RUN {
        EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
        while written.get() + IN_FLIGHT * BLOCK > queued {
            write(&block);
            queued += BLOCK;
        }
    }
    (received.get() - base) as f64 / MIB / start.elapsed().as_secs_f64()
}

fn counters(
    reader_ready: &sigloop::Signal<()>,
    read: impl Fn() -> usize + 'static,
    bytes_written: &sigloop::Signal<u64>,
) -> (Rc<Cell<usize>>, Rc<Cell<usize>>) {
    let received = Rc::new(Cell::new(0usize));
    let r = received.clone();
    let _ = reader_ready.connect(move |_| r.set(r.get() + read()));
    let written = Rc::new(Cell::new(0usize));
    let w = written.clone();
    let _ = bytes_written.connect(move |n| w.set(w.get() + *n as usize));
    (received, written)
}

fn local() -> f64 {
    let name = std::env::temp_dir().join(format!("sigloop-bench-{}", std::process::id()));
    let name = name.to_string_lossy().into_owned();
    LocalServer::remove_server(&name);
    let server = LocalServer::new();
    server.listen(&name).unwrap();
    let writer = LocalSocket::new();
    writer.connect_to_server(&name);
    assert!(
        server
            .wait_for_new_connection(Some(Duration::from_secs(10)))
            .0
    );
    let reader = server.next_pending_connection().unwrap();
    let r = reader.clone();
    let (received, written) = counters(
        reader.ready_read(),
        move || r.read_all().map_or(0, |d| d.len()),
        writer.bytes_written(),
    );
    let speed = pump(|b| drop(writer.write(b)), &received, &written);
    writer.abort();
    server.close();
    speed
}

fn tcp() -> f64 {
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .unwrap();
    let writer = TcpSocket::new();
    writer.connect_to_host("127.0.0.1", server.server_port());
    assert!(writer.wait_for_connected(Some(Duration::from_secs(10))));
    assert!(
        server
            .wait_for_new_connection(Some(Duration::from_secs(10)))
            .0
    );
    let reader = server.next_pending_connection().unwrap();
    let r = reader.clone();
    let (received, written) = counters(
        reader.ready_read(),
        move || r.read_all().map_or(0, |d| d.len()),
        writer.bytes_written(),
    );
    let speed = pump(|b| drop(writer.write(b)), &received, &written);
    writer.abort();
    speed
}

fn raw_mio() -> f64 {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut a, Token(0), Interest::WRITABLE)
        .unwrap();
    poll.registry()
        .register(&mut b, Token(1), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(8);
    let block = vec![0x5au8; BLOCK];
    let mut buf = vec![0u8; 256 * 1024];
    let mut received = 0usize;
    let start = Instant::now();
    while start.elapsed() < RUN {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        loop {
            match a.write(&block) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        loop {
            match b.read(&mut buf) {
                Ok(n) => received += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    received as f64 / MIB / start.elapsed().as_secs_f64()
}

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let (mut l, mut t, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        l.push(local());
        t.push(tcp());
        m.push(raw_mio());
    }
    let (l, t, m) = (median(l), median(t), median(m));
    println!("stream throughput, 64 KiB blocks, median of {ROUNDS} runs of {RUN:?}:");
    println!("  LocalSocket (Unix)      {l:8.0} MiB/s");
    println!("  TcpSocket (127.0.0.1)   {t:8.0} MiB/s");
    println!("  raw mio UnixStream pair {m:8.0} MiB/s");
    println!("  local / tcp {:.2}x, local / raw mio {:.2}x", l / t, l / m);
}
