//! The load generator of the echo benchmark.
//!
//! ```text
//! loadgen --port P --pid PID --label NAME --out FILE
//!         [--duration SECS] [--warmup SECS] [--idle N] [--only a,b,...]
//! ```
//!
//! Drives the echo server listening on 127.0.0.1:P (process PID) through
//! each scenario and appends one tab-separated line per scenario to FILE.
//! The server's CPU time is the sum of the first field of
//! `/proc/PID/task/*/schedstat` (ns on CPU, every thread), read right
//! before and after each measured window; its memory is `VmRSS` from
//! `/proc/PID/status`.
//!
//! Scenarios (in this order):
//!
//! - `rss`: N idle connections (default 10,000): RSS before, with them
//!   open, and after one 64-byte echo on each. Run first, on the fresh
//!   server, so that memory freed by earlier scenarios cannot hide growth.
//! - `pp1_64`, `pp1_4k`, `pp100_64`, `pp100_4k`: ping-pong on 1 or 100
//!   connections with 64 B or 4 KiB messages, one message in flight per
//!   connection; an operation is one round trip. The line also gives the
//!   median and 99th percentile round-trip latency (from the first byte
//!   sent to the last byte back) over the measured window.
//! - `bulk64k`: one connection streaming 64 KiB blocks, up to four in
//!   flight; an operation is one block echoed.
//! - `fullpipe`: the same with up to 8 MiB (128 blocks) in flight and
//!   the client's receive buffer fixed at 128 KiB (`SO_RCVBUF`): the
//!   client drains slower than the server can write, so the server's send
//!   buffer fills, its writes come back partial or `EAGAIN`, and the echo
//!   waits in the server's own write buffer for room. (Both are needed on
//!   Linux loopback: the server's send buffer grows to `tcp_wmem`'s
//!   maximum, 4 MiB by default, and an unlimited client receive buffer
//!   takes whatever the server sends.)
//! - `churn`: connect, one 64-byte echo, close, one connection after
//!   another; an operation is one connection.
//!
//! Output lines:
//!
//! ```text
//! <label> <scenario> ops=<n> secs=<s> cpu_ns=<ns> bytes=<echoed bytes> [p50_us=<µs> p99_us=<µs>]
//! <label> rss base_kb=<kB> idle_kb=<kB> echo_kb=<kB> conns=<n>
//! ```
//!
//! Client connections bind to source addresses 127.0.0.2 to 127.0.0.201
//! and to ports below the kernel's ephemeral range, in turn, so tens of
//! thousands of short connections never run out of ports, and their
//! TIME_WAIT sockets (the client closes first) never get in the way of
//! programs that listen on a port the kernel picked. All traffic stays on
//! loopback. Every wait is bounded.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use echo_peers::probe::{
    message, open_many, percentiles, server_fds, server_rss_kb, wait_fds, Sources, Window, STALL,
};
use mio::{Events, Interest, Poll, Token};

struct Opts {
    port: u16,
    pid: u32,
    label: String,
    out: String,
    duration: Duration,
    warmup: Duration,
    idle: usize,
    only: Option<Vec<String>>,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        port: 0,
        pid: 0,
        label: String::new(),
        out: String::new(),
        duration: Duration::from_secs(2),
        warmup: Duration::from_millis(300),
        idle: 10_000,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let v = args.next().ok_or(format!("{arg} needs a value"))?;
        let secs = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|s| *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or(format!("bad seconds {v:?}"))
        };
        match arg.as_str() {
            "--port" => o.port = v.parse().map_err(|_| format!("bad port {v:?}"))?,
            "--pid" => o.pid = v.parse().map_err(|_| format!("bad pid {v:?}"))?,
            "--label" => o.label = v,
            "--out" => o.out = v,
            "--duration" => o.duration = secs(&v)?,
            "--warmup" => o.warmup = secs(&v)?,
            "--idle" => o.idle = v.parse().map_err(|_| format!("bad count {v:?}"))?,
            "--only" => o.only = Some(v.split(',').map(str::to_owned).collect()),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if o.port == 0 || o.pid == 0 || o.label.is_empty() || o.out.is_empty() {
        return Err("--port, --pid, --label and --out are required".into());
    }
    Ok(o)
}

fn main() {
    let opts = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loadgen: {e}");
            eprintln!(
                "usage: loadgen --port P --pid PID --label NAME --out FILE \
                 [--duration S] [--warmup S] [--idle N] [--only a,b]"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&opts) {
        eprintln!("loadgen [{}]: {e}", opts.label);
        std::process::exit(1);
    }
}

fn run(o: &Opts) -> io::Result<()> {
    let server = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, o.port));
    let wanted = |name: &str| o.only.as_ref().is_none_or(|l| l.iter().any(|n| n == name));
    let mut out = OpenOptions::new().create(true).append(true).open(&o.out)?;
    let mut src = Sources::new();

    if wanted("rss") {
        let r = rss(o, server, &mut src)?;
        let line = format!(
            "{}\trss\tbase_kb={}\tidle_kb={}\techo_kb={}\tconns={}",
            o.label, r.0, r.1, r.2, o.idle
        );
        eprintln!("{line}");
        writeln!(out, "{line}")?;
    }
    let scenarios: [(&str, Scenario); 7] = [
        ("pp1_64", Scenario::PingPong { conns: 1, size: 64 }),
        (
            "pp1_4k",
            Scenario::PingPong {
                conns: 1,
                size: 4096,
            },
        ),
        (
            "pp100_64",
            Scenario::PingPong {
                conns: 100,
                size: 64,
            },
        ),
        (
            "pp100_4k",
            Scenario::PingPong {
                conns: 100,
                size: 4096,
            },
        ),
        (
            "bulk64k",
            Scenario::Bulk {
                block: 64 * 1024,
                window: 4,
                rcvbuf: None,
            },
        ),
        (
            "fullpipe",
            Scenario::Bulk {
                block: 64 * 1024,
                window: 128,
                rcvbuf: Some(128 * 1024),
            },
        ),
        ("churn", Scenario::Churn { size: 64 }),
    ];
    for (name, scenario) in scenarios {
        if !wanted(name) {
            continue;
        }
        let m = match scenario {
            Scenario::PingPong { conns, size } => pingpong(o, server, &mut src, conns, size)?,
            Scenario::Bulk {
                block,
                window,
                rcvbuf,
            } => bulk(o, server, &mut src, block, window, rcvbuf)?,
            Scenario::Churn { size } => churn(o, server, &mut src, size)?,
        };
        let mut line = format!(
            "{}\t{name}\tops={}\tsecs={:.6}\tcpu_ns={}\tbytes={}",
            o.label, m.ops, m.secs, m.cpu_ns, m.bytes
        );
        if let Some((p50, p99)) = m.latency_us {
            line += &format!("\tp50_us={p50:.1}\tp99_us={p99:.1}");
        }
        eprintln!(
            "{line}\t({:.0} ops/s, {:.2} us server CPU/op)",
            m.ops as f64 / m.secs,
            m.cpu_ns as f64 / m.ops.max(1) as f64 / 1e3
        );
        writeln!(out, "{line}")?;
        // Let the server finish closing this scenario's connections.
        wait_fds(
            o.pid,
            |n| n <= m.fds_before,
            "the scenario's connections to close",
        )?;
    }
    Ok(())
}

enum Scenario {
    PingPong {
        conns: usize,
        size: usize,
    },
    Bulk {
        block: usize,
        window: usize,
        rcvbuf: Option<usize>,
    },
    Churn {
        size: usize,
    },
}

/// One measured window.
struct Measure {
    ops: u64,
    secs: f64,
    cpu_ns: u64,
    bytes: u64,
    /// The server's descriptor count before the scenario connected.
    fds_before: usize,
    /// Median and 99th percentile round-trip latency, µs (ping-pong).
    latency_us: Option<(f64, f64)>,
}

// ----- scenarios ----------------------------------------------------------------

struct Conn {
    stream: mio::net::TcpStream,
    msg: Vec<u8>,
    sent: usize,
    received: usize,
    /// When the current message's first byte went out.
    started: Instant,
}

impl Conn {
    /// Writes the rest of the current message; false on `WouldBlock`.
    fn send(&mut self) -> io::Result<()> {
        while self.sent < self.msg.len() {
            match self.stream.write(&self.msg[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn to_mio(stream: TcpStream) -> io::Result<mio::net::TcpStream> {
    stream.set_nonblocking(true)?;
    Ok(mio::net::TcpStream::from_std(stream))
}

fn pingpong(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    conns: usize,
    size: usize,
) -> io::Result<Measure> {
    let fds_before = server_fds(o.pid)?;
    let mut poll = Poll::new()?;
    let mut list = Vec::with_capacity(conns);
    for (i, stream) in open_many(o.pid, server, src, conns, None)?
        .into_iter()
        .enumerate()
    {
        let mut stream = to_mio(stream)?;
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        list.push(Conn {
            stream,
            msg: message(size, i),
            sent: 0,
            received: 0,
            started: Instant::now(),
        });
    }
    for c in &mut list {
        c.send()?;
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut ops, mut bytes) = (0u64, 0u64);
    let mut window = Window::new(o.pid, o.warmup, o.duration);
    // Round trips completed in the measured window, ns each.
    let mut latencies: Vec<u64> = Vec::with_capacity(1 << 20);
    let deadline = Instant::now() + o.warmup + o.duration + STALL;
    loop {
        if let Some((ops, secs, cpu_ns, bytes)) = window.tick(ops, bytes)? {
            return Ok(Measure {
                ops,
                secs,
                cpu_ns,
                bytes,
                fds_before,
                latency_us: percentiles(&mut latencies),
            });
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("ping-pong stalled"));
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in events.iter() {
            let c = &mut list[event.token().0];
            if event.is_writable() {
                c.send()?;
            }
            if !event.is_readable() {
                continue;
            }
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => return Err(io::Error::other("the server closed a connection")),
                    Ok(n) => {
                        if buf[..n] != c.msg[c.received..c.received + n] {
                            return Err(io::Error::other("the echo differs from the message"));
                        }
                        c.received += n;
                        if c.received == size {
                            ops += 1;
                            bytes += size as u64;
                            let now = Instant::now();
                            if window.measuring() {
                                latencies.push((now - c.started).as_nanos() as u64);
                            }
                            c.received = 0;
                            c.sent = 0;
                            c.started = now;
                            c.send()?;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

fn bulk(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    block: usize,
    window_blocks: usize,
    rcvbuf: Option<usize>,
) -> io::Result<Measure> {
    let fds_before = server_fds(o.pid)?;
    let mut stream = to_mio(open_many(o.pid, server, src, 1, rcvbuf)?.remove(0))?;
    let mut poll = Poll::new()?;
    poll.registry().register(
        &mut stream,
        Token(0),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    let data = message(block, 7);
    let limit = (block * window_blocks) as u64;
    let (mut sent, mut received) = (0u64, 0u64);
    let mut buf = vec![0u8; 256 * 1024];
    let mut events = Events::with_capacity(16);
    let mut window = Window::new(o.pid, o.warmup, o.duration);
    let deadline = Instant::now() + o.warmup + o.duration + STALL;
    loop {
        // Keep up to `window_blocks` blocks in flight.
        while sent - received < limit {
            let off = (sent % block as u64) as usize;
            let room = (limit - (sent - received)) as usize;
            let end = block.min(off + room);
            match stream.write(&data[off..end]) {
                Ok(n) => sent += n as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Err(io::Error::other("the server closed the connection")),
                Ok(n) => received += n as u64,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let ops = received / block as u64;
        if let Some((ops, secs, cpu_ns, _)) = window.tick(ops, received)? {
            return Ok(Measure {
                ops,
                secs,
                cpu_ns,
                bytes: ops * block as u64,
                fds_before,
                latency_us: None,
            });
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("bulk echo stalled"));
        }
        if sent - received >= limit || received < sent {
            poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        }
    }
}

fn churn(o: &Opts, server: SocketAddr, src: &mut Sources, size: usize) -> io::Result<Measure> {
    let fds_before = server_fds(o.pid)?;
    let msg = message(size, 3);
    let mut buf = vec![0u8; size];
    let (mut ops, mut bytes) = (0u64, 0u64);
    let mut window = Window::new(o.pid, o.warmup, o.duration);
    loop {
        if let Some((ops, secs, cpu_ns, bytes)) = window.tick(ops, bytes)? {
            return Ok(Measure {
                ops,
                secs,
                cpu_ns,
                bytes,
                fds_before,
                latency_us: None,
            });
        }
        let mut stream = src.connect(server, None)?;
        stream.write_all(&msg)?;
        stream.read_exact(&mut buf)?;
        if buf != msg {
            return Err(io::Error::other("the echo differs from the message"));
        }
        drop(stream);
        ops += 1;
        bytes += size as u64;
    }
}

/// RSS before, with `o.idle` idle connections, and after one echo on each.
fn rss(o: &Opts, server: SocketAddr, src: &mut Sources) -> io::Result<(u64, u64, u64)> {
    let fds_before = server_fds(o.pid)?;
    let base = server_rss_kb(o.pid)?;
    let mut streams = open_many(o.pid, server, src, o.idle, None)?;
    // The last batch is accepted; give the loop a moment to finish
    // registering it, then read the memory. Why a sleep: the server is
    // another process and RSS has no change notification; a fixed settle
    // time keeps every server's reading comparable.
    std::thread::sleep(Duration::from_millis(200));
    let idle = server_rss_kb(o.pid)?;
    let msg = message(64, 1);
    for s in &mut streams {
        s.write_all(&msg)?;
    }
    let mut buf = [0u8; 64];
    for s in &mut streams {
        s.read_exact(&mut buf)?;
        if buf[..] != msg[..] {
            return Err(io::Error::other("the echo differs from the message"));
        }
    }
    // Why a sleep: as above, let the server release the buffers of the
    // last echoes before its RSS is read.
    std::thread::sleep(Duration::from_millis(200));
    let echo = server_rss_kb(o.pid)?;
    drop(streams);
    wait_fds(o.pid, |n| n <= fds_before, "the idle connections to close")?;
    Ok((base, idle, echo))
}
