//! The baseline: a minimal hand-written single-threaded echo server on raw
//! mio, the floor any event-loop library on mio is measured against.
//!
//! One `Poll`, one slab of connections, every stream registered once for
//! READABLE | WRITABLE (edge-triggered), one 64 KiB read buffer shared by
//! all connections. Received bytes are written straight back; what the
//! kernel does not take waits in the connection's `pending` Vec, and the
//! connection stops reading until it drains. An idle connection owns a
//! stream and an empty Vec, nothing more.
//!
//! `mio_echo --port N [--host H]`; prints `listening on <port>` first.

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

const LISTENER: Token = Token(usize::MAX);
/// Stop reading a connection while this much echo waits for the kernel.
const MAX_PENDING: usize = 1 << 20;

struct Conn {
    stream: TcpStream,
    /// Echo bytes the kernel did not take yet.
    pending: Vec<u8>,
    /// No write has hit `WouldBlock` since the last WRITABLE edge.
    writable: bool,
    /// Reading stopped for back-pressure with data maybe left in the kernel.
    paused: bool,
}

/// What to do with a connection after handling an event.
enum Outcome {
    Keep,
    Close,
}

fn main() -> io::Result<()> {
    let addr = echo_peers::server_addr("mio_echo");
    let mut listener = TcpListener::bind(addr)?;
    echo_peers::announce(listener.local_addr()?.port());

    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(256);
    let mut conns: Slab<Conn> = Slab::new();
    let mut buf = vec![0u8; 64 * 1024];

    loop {
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let entry = conns.vacant_entry();
                            poll.registry().register(
                                &mut stream,
                                Token(entry.key()),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            entry.insert(Conn {
                                stream,
                                pending: Vec::new(),
                                writable: true,
                                paused: false,
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                        Err(e) => {
                            eprintln!("mio_echo: accept: {e}");
                            break;
                        }
                    }
                }
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key) else {
                continue;
            };
            let mut outcome = Outcome::Keep;
            if event.is_writable() {
                conn.writable = true;
                outcome = flush(conn);
            }
            let resume = conn.paused && conn.pending.is_empty();
            if matches!(outcome, Outcome::Keep)
                && (resume || event.is_readable() || event.is_read_closed() || event.is_error())
            {
                outcome = echo(conn, &mut buf);
            }
            if let Outcome::Close = outcome {
                let mut conn = conns.remove(key);
                let _ = poll.registry().deregister(&mut conn.stream);
            }
        }
    }
}

/// Writes what is pending; resumes reading once drained.
fn flush(conn: &mut Conn) -> Outcome {
    while !conn.pending.is_empty() {
        match conn.stream.write(&conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.writable = false;
                return Outcome::Keep;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Outcome::Close,
        }
    }
    conn.pending = Vec::new();
    Outcome::Keep
}

/// Reads until `WouldBlock` (edge-triggered) and writes each chunk back.
fn echo(conn: &mut Conn, buf: &mut [u8]) -> Outcome {
    conn.paused = false;
    loop {
        if conn.pending.len() >= MAX_PENDING {
            // Back-pressure: the next WRITABLE edge flushes and reads on.
            conn.paused = true;
            return Outcome::Keep;
        }
        let n = match conn.stream.read(buf) {
            Ok(0) => return Outcome::Close,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Outcome::Keep,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Outcome::Close,
        };
        let mut data = &buf[..n];
        if conn.pending.is_empty() && conn.writable {
            match conn.stream.write(data) {
                Ok(w) => data = &data[w..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Outcome::Close,
            }
            if !data.is_empty() {
                conn.writable = false;
            }
        }
        conn.pending.extend_from_slice(data);
    }
}
