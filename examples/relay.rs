//! A TCP relay with write back-pressure: every connection accepted on
//! `--port` is joined to a new connection to `--to`, and bytes are
//! forwarded both ways. A side whose peer cannot keep up stops being read
//! until the other side's write buffer drains, so the relay's memory stays
//! bounded however fast one end sends and however slowly the other reads.
//!
//! ```text
//! relay --port N --to HOST:PORT [--host H]
//! ```
//!
//! `--port 0` lets the OS pick a free port; `--host` is the address to
//! listen on (default `127.0.0.1`). The first line on stdout is
//! `listening on <port>`, flushed at once. `HOST` may be a name: the
//! outgoing connection races its addresses (`ConnectPolicy::HappyEyeballs`).
//! An IPv6 literal is written in brackets: `--to [::1]:7`.
//!
//! How the back-pressure works, per direction (from side A to side B):
//!
//! - A's read buffer is limited (`set_read_buffer_size`): a relay that
//!   does not read A leaves the bytes in the kernel, and TCP flow control
//!   slows A's sender;
//! - B has write water marks: when more than [`HIGH`] bytes wait to be
//!   sent, `high_water_reached` pauses reading A; when they drain to
//!   [`LOW`], `low_water_reached` resumes it.
//!
//! Qt has no water marks: a Qt relay would poll `bytesToWrite()` from
//! `bytesWritten` to get the same effect, or let its buffers grow.
//!
//! Run with `cargo run --example relay -- --port 0 --to 127.0.0.1:7777`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::rc::{Rc, Weak};

use sigloop::net::{HostAddress, SpecialAddress, TcpServer};
use sigloop::{ConnectPolicy, EventDispatcher, IoDevice, SocketError, SocketState, TcpSocket};

/// Above this many bytes waiting in a side's write buffer, the other side
/// is no longer read.
const HIGH: usize = 256 * 1024;
/// Reading resumes once the write buffer has drained to this.
const LOW: usize = 64 * 1024;
/// Each side's read buffer: what the relay holds from a paused sender.
const READ_LIMIT: i64 = 64 * 1024;

/// What the command line asked for.
struct Args {
    host: HostAddress,
    port: u16,
    to_host: String,
    to_port: u16,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("relay: {problem}");
    eprintln!("usage: relay --port N --to HOST:PORT [--host H]");
    ExitCode::from(2)
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .map_err(|_| format!("bad port {text:?}"))
}

/// `HOST:PORT`, with an IPv6 literal in brackets.
fn parse_target(text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or(format!("--to needs HOST:PORT, got {text:?}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("--to needs a host, got {text:?}"));
    }
    Ok((host.to_owned(), parse_port(port)?))
}

fn parse_args() -> Result<Args, String> {
    let mut host = HostAddress::from(SpecialAddress::LocalHost);
    let mut port = None;
    let mut target = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => {
                let text = value("--host")?;
                host = text
                    .parse::<HostAddress>()
                    .map_err(|err| format!("bad host {text:?}: {err}"))?;
            }
            "--port" => port = Some(parse_port(&value("--port")?)?),
            "--to" => target = Some(parse_target(&value("--to")?)?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    let (to_host, to_port) = target.ok_or("--to is required")?;
    Ok(Args {
        host,
        port,
        to_host,
        to_port,
    })
}

/// One relayed connection: the accepted side and the outgoing side, and
/// whether reading each is paused because the other cannot keep up.
struct Session {
    id: u64,
    sides: [TcpSocket; 2],
    paused: [Cell<bool>; 2],
}

/// The sessions alive, so that they outlive the slots that refer to them
/// weakly; a session leaves when both its sides are unconnected.
type Sessions = Rc<RefCell<HashMap<u64, Rc<Session>>>>;

impl Session {
    /// Moves what side `from` has buffered to the other side, unless that
    /// side is above its high mark. The write may emit the other side's
    /// `high_water_reached` at once, which pauses `from`.
    fn forward(&self, from: usize) {
        if self.paused[from].get() {
            return;
        }
        self.drain(from);
    }

    /// Moves everything side `from` has buffered, paused or not (bounded
    /// by its read limit).
    fn drain(&self, from: usize) {
        let (source, sink) = (&self.sides[from], &self.sides[1 - from]);
        // Reading everything buffered also restarts a read side that the
        // read limit had stopped (Qt's rule for `readAll`).
        let Ok(data) = source.read_all() else {
            return;
        };
        if !data.is_empty() && sink.state() != SocketState::Unconnected {
            let _ = sink.write_vec(data);
        }
    }

    /// Side `side` is unconnected: pass on what it still had, let the
    /// other side send what it holds and close, and end the session once
    /// both are closed.
    fn side_closed(&self, side: usize, sessions: &Sessions) {
        self.drain(side);
        let other = &self.sides[1 - side];
        if other.state() != SocketState::Unconnected {
            other.disconnect_from_host();
        }
        if self
            .sides
            .iter()
            .all(|s| s.state() == SocketState::Unconnected)
        {
            for socket in &self.sides {
                socket.delete_later();
            }
            // The session holds the outgoing socket's only handle, and
            // dropping a last handle deletes at once (Qt's `delete`): here,
            // inside that socket's own `state_changed`, it would cut off
            // the signals still to come (the `error_occurred` of a failed
            // connect). The loop drops it once this emission is over.
            let gone = sessions.borrow_mut().remove(&self.id);
            EventDispatcher::post(move || drop(gone));
        }
    }
}

/// Wires the slots of side `side` of `session`.
fn wire(session: &Rc<Session>, side: usize, sessions: &Sessions) {
    let socket = &session.sides[side];
    let weak: Weak<Session> = Rc::downgrade(session);
    let _ = socket.ready_read().connect({
        let weak = weak.clone();
        move |_| {
            if let Some(s) = weak.upgrade() {
                s.forward(side);
            }
        }
    });
    // This side's write buffer governs reading the other side.
    let _ = socket.high_water_reached().connect({
        let weak = weak.clone();
        move |_| {
            if let Some(s) = weak.upgrade() {
                s.paused[1 - side].set(true);
            }
        }
    });
    let _ = socket.low_water_reached().connect({
        let weak = weak.clone();
        move |_| {
            if let Some(s) = weak.upgrade() {
                s.paused[1 - side].set(false);
                s.forward(1 - side);
            }
        }
    });
    let sessions = sessions.clone();
    let _ = socket.state_changed().connect(move |state| {
        if *state == SocketState::Unconnected {
            if let Some(s) = weak.upgrade() {
                s.side_closed(side, &sessions);
            }
        }
    });
    let _ = socket
        .error_occurred()
        .connect_to(socket, move |socket, error| {
            // A peer closing is the normal end of a session, not worth a line.
            if *error != SocketError::RemoteHostClosed {
                eprintln!("relay: side {side}: {error}: {}", socket.error_string());
            }
        });
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let server = TcpServer::new();
    if let Err(err) = server.listen(&args.host, args.port) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.server_port());
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }

    let sessions: Sessions = Rc::default();
    let next_id = Cell::new(0u64);
    let target = (args.to_host, args.to_port);
    let _accept = server
        .new_connection()
        .connect_to(&server, move |server, _| {
            while let Some(accepted) = server.next_pending_connection() {
                let outgoing = TcpSocket::new();
                outgoing.set_connect_policy(ConnectPolicy::HappyEyeballs);
                for socket in [&accepted, &outgoing] {
                    socket.set_read_buffer_size(READ_LIMIT);
                    socket.set_write_buffer_water_marks(LOW, HIGH);
                }
                let id = next_id.get();
                next_id.set(id + 1);
                let session = Rc::new(Session {
                    id,
                    sides: [accepted, outgoing],
                    paused: [Cell::new(false), Cell::new(false)],
                });
                sessions.borrow_mut().insert(id, session.clone());
                wire(&session, 0, &sessions);
                wire(&session, 1, &sessions);
                // Bytes the client sends before the far side answers wait in
                // the outgoing socket's write buffer, under the same marks.
                session.sides[1].connect_to_host(&target.0, target.1);
                session.forward(0);
            }
        });

    EventDispatcher::exec();
    ExitCode::SUCCESS
}
