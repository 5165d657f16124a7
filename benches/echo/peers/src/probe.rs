//! What the load generators of the benchmarks share: the server process
//! seen through `/proc` (CPU time, memory, descriptors), client source
//! addresses that never run out of ports, and the measured window.
//!
//! Used by `loadgen` here and by the TLS benchmark's load generator
//! (`benches/tls/peers`), so both measure the same way.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// The longest any wait for the server may take.
pub const STALL: Duration = Duration::from_secs(20);

/// The median and 99th percentile of `samples` (ns), in µs.
pub fn percentiles(samples: &mut [u64]) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
    Some((at(0.50), at(0.99)))
}

// ----- the server process, seen through /proc ------------------------------

/// ns the server's threads spent on a CPU.
pub fn server_cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read.
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

/// The server's resident set, in kB.
pub fn server_rss_kb(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS in /proc/<pid>/status"))
}

/// How many descriptors the server has open.
pub fn server_fds(pid: u32) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// Waits (bounded) until the server's descriptor count satisfies `ok`.
pub fn wait_fds(pid: u32, ok: impl Fn(usize) -> bool, what: &str) -> io::Result<usize> {
    let deadline = Instant::now() + STALL;
    loop {
        let n = server_fds(pid)?;
        if ok(n) {
            return Ok(n);
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "timed out waiting for {what} (server has {n} descriptors)"
            )));
        }
        // Why a sleep: the server is another process, so its descriptor
        // table can only be polled through /proc; the poll is bounded by
        // STALL and this is a benchmark tool, not a test.
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ----- client connections -----------------------------------------------------

/// Client source addresses: 127.0.0.2 ..= 127.0.0.201 in turn, each with
/// a port below the kernel's ephemeral range, also in turn.
///
/// The client closes first, so every connection leaves a TIME_WAIT socket
/// for a minute: a run leaves tens of thousands. Kept out of the ephemeral
/// range, they never make a later `bind(port 0)` + wildcard `listen` on
/// the same port (as test suites do) fail with "address in use".
pub struct Sources {
    next: u32,
    ports: std::ops::Range<u16>,
}

impl Default for Sources {
    fn default() -> Sources {
        Sources::new()
    }
}

impl Sources {
    pub fn new() -> Sources {
        let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
            .unwrap_or(32768);
        let end = ephemeral_start.min(32768);
        let start = 10_000.min(end / 2);
        // Start where an earlier run (whose TIME_WAIT sockets may still
        // hold its pairs) most likely did not.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32)
            ^ std::process::id().wrapping_mul(2_654_435_761);
        Sources {
            next: seed,
            ports: start..end,
        }
    }

    /// A blocking, connected stream from the next source address and port,
    /// with TCP_NODELAY (the client never waits on Nagle) and, if given, a
    /// fixed receive buffer (`SO_RCVBUF`, set before connecting so that the
    /// window follows it).
    pub fn connect(&mut self, server: SocketAddr, rcvbuf: Option<usize>) -> io::Result<TcpStream> {
        let span = u32::from(self.ports.end - self.ports.start).max(1);
        let mut tries = 0;
        let socket = loop {
            let n = self.next;
            self.next = self.next.wrapping_add(1);
            let host = 2 + (n % 200) as u8;
            let port = self.ports.start + ((n / 200) % span) as u16;
            let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
            let from = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, host), port);
            let attempt = socket.bind(&from.into()).and_then(|()| {
                socket.set_tcp_nodelay(true)?;
                if let Some(size) = rcvbuf {
                    socket.set_recv_buffer_size(size)?;
                }
                socket.connect_timeout(&server.into(), STALL)
            });
            match attempt {
                Ok(()) => break socket,
                // The pair is taken (by another program, or by a TIME_WAIT
                // socket of an earlier run, whose pairs come in a run of
                // their own): jump to a pseudo-random other place.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::AddrInUse | io::ErrorKind::AddrNotAvailable
                    ) && tries < 1000 =>
                {
                    tries += 1;
                    self.next = self
                        .next
                        .wrapping_mul(1_103_515_245)
                        .wrapping_add(12_345 + tries);
                }
                Err(e) => return Err(e),
            }
        };
        let stream = TcpStream::from(socket);
        stream.set_read_timeout(Some(STALL))?;
        stream.set_write_timeout(Some(STALL))?;
        Ok(stream)
    }
}

/// Opens `n` connections in small batches, waiting after each batch until
/// the server has accepted them, so no listen backlog (Qt's is 50)
/// overflows into SYN retransmits.
///
/// The server closes nothing meanwhile and the kernel hands out the lowest
/// free descriptor, so the k-th accepted connection gets the k-th number
/// free before the first: one `stat` of that number per batch instead of
/// listing thousands of descriptors. The exact count is checked at the end.
pub fn open_many(
    pid: u32,
    server: SocketAddr,
    src: &mut Sources,
    n: usize,
    rcvbuf: Option<usize>,
) -> io::Result<Vec<TcpStream>> {
    const BATCH: usize = 25;
    let taken: std::collections::HashSet<usize> = std::fs::read_dir(format!("/proc/{pid}/fd"))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let base = taken.len();
    let mut free = (0usize..).filter(|fd| !taken.contains(fd));
    let mut newest = 0;
    let mut streams = Vec::with_capacity(n);
    while streams.len() < n {
        let batch = BATCH.min(n - streams.len());
        for _ in 0..batch {
            streams.push(src.connect(server, rcvbuf)?);
            newest = free.next().unwrap_or(usize::MAX);
        }
        let path = format!("/proc/{pid}/fd/{newest}");
        let deadline = Instant::now() + STALL;
        while std::fs::symlink_metadata(&path).is_err() {
            if Instant::now() > deadline {
                return Err(io::Error::other(
                    "timed out waiting for the server to accept",
                ));
            }
            // Why a sleep: polling the other process's /proc entry, bounded
            // by STALL (no event tells us the server accepted).
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let want = base + n;
    wait_fds(pid, |have| have >= want, "the server to accept")?;
    Ok(streams)
}

/// The message content for a connection: distinct per connection, so a
/// server that crossed streams would be caught.
pub fn message(size: usize, seed: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + ((i + seed) % 26) as u8).collect()
}

/// Measures from the end of the warm-up to the end of the run.
pub struct Window {
    start: Instant,
    warm: Option<(Instant, u64, u64, u64)>,
    warmup: Duration,
    end: Duration,
    pid: u32,
}

impl Window {
    /// A window over server `pid`: `warmup`, then `duration` measured.
    pub fn new(pid: u32, warmup: Duration, duration: Duration) -> Window {
        Window {
            start: Instant::now(),
            warm: None,
            warmup,
            end: warmup + duration,
            pid,
        }
    }

    /// Whether the measured window has started (the warm-up is over).
    pub fn measuring(&self) -> bool {
        self.warm.is_some()
    }

    /// Call often with the running counts; `Some` once the run is over.
    pub fn tick(&mut self, ops: u64, bytes: u64) -> io::Result<Option<(u64, f64, u64, u64)>> {
        let elapsed = self.start.elapsed();
        match self.warm {
            None if elapsed >= self.warmup => {
                self.warm = Some((Instant::now(), ops, bytes, server_cpu_ns(self.pid)?));
                Ok(None)
            }
            Some((t0, ops0, bytes0, cpu0)) if elapsed >= self.end => {
                let cpu = server_cpu_ns(self.pid)? - cpu0;
                Ok(Some((
                    ops - ops0,
                    t0.elapsed().as_secs_f64(),
                    cpu,
                    bytes - bytes0,
                )))
            }
            _ => Ok(None),
        }
    }
}
