//! A soak run: a sigloop echo server (`TcpServer`, `TcpSocket`) under
//! connect, echo, verify, close churn from several client threads for a
//! given time, watching what it holds. Run it with `scripts/soak.sh
//! SECONDS`, or directly:
//!
//! ```text
//! cargo run --example soak -- --seconds 60 [--clients 4]
//! ```
//!
//! The server is this process; the clients are a child process (this
//! binary with `--load`) on plain std sockets, so the descriptor count and
//! RSS printed are the server's alone. Each client connection sends 1 to 4
//! messages of 1 byte to 64 KiB, reads each echo back and compares it, then
//! closes: gracefully, or (one in eight) with an RST (`SO_LINGER` 0).
//! Loopback only; every socket operation has a timeout.
//!
//! Prints connections, bytes verified, open descriptors and RSS before,
//! every second during, and after the load, and exits non-zero if:
//! - a client saw an error, a timeout or a wrong byte, or the server's
//!   counts differ from the clients' (a connection or a byte was lost);
//! - after the load the server holds more descriptors than before it
//!   (tolerance: none; every accepted socket must be closed);
//! - after the load its RSS exceeds the RSS before it by more than
//!   `RSS_SLACK` (the allocator keeps some freed memory), or RSS kept
//!   growing during the load: the last sample exceeds the one a quarter
//!   of the way in by more than `RSS_SLACK` (a leak per connection grows
//!   with the number of connections; a steady state does not).

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use sigloop::net::{HostAddress, SpecialAddress, TcpServer};
use sigloop::{EventDispatcher, IoDevice, Timer};

/// Allowed RSS growth (after vs before, last vs early sample).
const RSS_SLACK: u64 = 8 << 20;
/// Timeout of every client socket operation.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to see every connection closed once the
/// clients are done.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

struct Args {
    seconds: u64,
    clients: usize,
    /// `Some(port)`: be the load generator against that port.
    load: Option<u16>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 10,
        clients: 4,
        load: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let text = it.next().ok_or(format!("{name} needs a value"))?;
            text.parse().map_err(|_| format!("bad {name} {text:?}"))
        };
        match arg.as_str() {
            "--seconds" => args.seconds = value("--seconds")?,
            "--clients" => args.clients = value("--clients")? as usize,
            "--load" => args.load = Some(value("--load")? as u16),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.clients == 0 || args.clients > 64 {
        return Err("--clients must be 1 to 64".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => {
            eprintln!("soak: {problem}");
            eprintln!("usage: soak --seconds N [--clients N]");
            return ExitCode::from(2);
        }
    };
    match args.load {
        Some(port) => load(port, args.seconds, args.clients),
        None => serve(args.seconds, args.clients),
    }
}

// ----------------------------------------------------------------------
// Measurements
// ----------------------------------------------------------------------

/// Open descriptors of this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// Resident set size of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

// ----------------------------------------------------------------------
// The server (this process)
// ----------------------------------------------------------------------

/// What the server counted.
#[derive(Default)]
struct ServerCounts {
    accepted: Cell<u64>,
    closed: Cell<u64>,
    echoed: Cell<u64>,
}

/// What the load generator reports on its last line.
#[derive(Debug, Default, PartialEq, Eq)]
struct LoadReport {
    connections: u64,
    bytes_verified: u64,
    failures: u64,
}

impl LoadReport {
    fn parse(line: &str) -> Option<LoadReport> {
        let mut report = LoadReport::default();
        for field in line.strip_prefix("LOAD ")?.split_whitespace() {
            let (key, value) = field.split_once('=')?;
            let value = value.parse().ok()?;
            match key {
                "connections" => report.connections = value,
                "bytes_verified" => report.bytes_verified = value,
                "failures" => report.failures = value,
                _ => return None,
            }
        }
        Some(report)
    }
}

fn start_echo_server(counts: &Rc<ServerCounts>) -> Option<TcpServer> {
    let server = TcpServer::new();
    if let Err(err) = server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0) {
        eprintln!("soak: cannot listen: {err}");
        return None;
    }
    let counts = counts.clone();
    let _ = server
        .new_connection()
        .connect_to(&server, move |server, _| {
            while let Some(socket) = server.next_pending_connection() {
                counts.accepted.set(counts.accepted.get() + 1);
                let echoed = counts.clone();
                let _ = socket.ready_read().connect_to(&socket, move |socket, _| {
                    if let Ok(data) = socket.read_all() {
                        if !data.is_empty() {
                            echoed.echoed.set(echoed.echoed.get() + data.len() as u64);
                            let _ = socket.write_vec(data);
                        }
                    }
                });
                let closed = counts.clone();
                let _ = socket.disconnected().connect_to(&socket, move |socket, _| {
                    closed.closed.set(closed.closed.get() + 1);
                    socket.delete_later();
                });
            }
        });
    Some(server)
}

/// Runs the loop for `time` (timers and I/O keep running).
fn run_for(time: Duration) {
    let deadline = Instant::now() + time;
    // Wakes a blocking pass regularly so the deadline is checked.
    let tick = Timer::new();
    tick.start_with(Duration::from_millis(50));
    while Instant::now() < deadline {
        EventDispatcher::process_events(sigloop::ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
    }
}

fn serve(seconds: u64, clients: usize) -> ExitCode {
    let counts = Rc::new(ServerCounts::default());
    let Some(server) = start_echo_server(&counts) else {
        return ExitCode::FAILURE;
    };
    // Let the loop create what it creates once (its poller, its wakeup).
    run_for(Duration::from_millis(200));
    let (fds_before, rss_before) = (fd_count(), rss());
    println!(
        "before: listening on {}, {fds_before} fds, RSS {}",
        server.server_port(),
        mib(rss_before)
    );

    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("soak: cannot find this program: {err}");
            return ExitCode::FAILURE;
        }
    };
    let child = Command::new(exe)
        .args(["--load", &server.server_port().to_string()])
        .args(["--seconds", &seconds.to_string()])
        .args(["--clients", &clients.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => {
            eprintln!("soak: cannot start the clients: {err}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let (report_tx, report_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut report = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match LoadReport::parse(&line) {
                Some(parsed) => report = Some(parsed),
                None => eprintln!("soak: client: {line}"),
            }
        }
        let _ = report_tx.send(report);
    });

    // During: sample every second until the clients report.
    let started = Instant::now();
    let limit = Duration::from_secs(seconds) + Duration::from_secs(60);
    let mut samples: Vec<u64> = Vec::new();
    let report = loop {
        run_for(Duration::from_secs(1));
        let (fds, rss_now) = (fd_count(), rss());
        samples.push(rss_now);
        println!(
            "during: {:>4} s, {} connections accepted, {} open, {} bytes echoed, {fds} fds, RSS {}",
            started.elapsed().as_secs(),
            counts.accepted.get(),
            counts.accepted.get() - counts.closed.get(),
            counts.echoed.get(),
            mib(rss_now)
        );
        match report_rx.try_recv() {
            Ok(report) => break report,
            Err(mpsc::TryRecvError::Empty) if started.elapsed() < limit => {}
            Err(_) => {
                eprintln!("soak: the clients did not finish within {limit:?}");
                let _ = child.kill();
                break None;
            }
        }
    };
    let status = child.wait();
    let _ = reader.join();

    // After: every connection closed and deleted, then measure.
    let drain = Instant::now();
    while counts.accepted.get() != counts.closed.get() && drain.elapsed() < DRAIN_TIMEOUT {
        run_for(Duration::from_millis(100));
    }
    run_for(Duration::from_millis(500));
    let (fds_after, rss_after) = (fd_count(), rss());
    println!(
        "after: {} connections accepted, {} closed, {} bytes echoed, {fds_after} fds, RSS {}",
        counts.accepted.get(),
        counts.closed.get(),
        counts.echoed.get(),
        mib(rss_after)
    );

    let mut failures = Vec::new();
    match (&status, &report) {
        (Ok(status), Some(report)) if status.success() => {
            println!(
                "clients: {} connections, {} bytes verified, {} failures",
                report.connections, report.bytes_verified, report.failures
            );
            if report.failures != 0 {
                failures.push(format!("{} client failures", report.failures));
            }
            if report.connections != counts.accepted.get() {
                failures.push(format!(
                    "the clients made {} connections, the server accepted {}",
                    report.connections,
                    counts.accepted.get()
                ));
            }
            if report.bytes_verified != counts.echoed.get() {
                failures.push(format!(
                    "the clients verified {} bytes, the server echoed {}",
                    report.bytes_verified,
                    counts.echoed.get()
                ));
            }
            if report.connections == 0 {
                failures.push("no connection was made".into());
            }
        }
        _ => failures.push(format!("the clients failed: {status:?}, report {report:?}")),
    }
    if counts.accepted.get() != counts.closed.get() {
        failures.push(format!(
            "{} connections still open {DRAIN_TIMEOUT:?} after the load",
            counts.accepted.get() - counts.closed.get()
        ));
    }
    if fds_after > fds_before {
        failures.push(format!("descriptors grew from {fds_before} to {fds_after}"));
    }
    if rss_after > rss_before + RSS_SLACK {
        failures.push(format!(
            "RSS grew from {} to {} (slack {})",
            mib(rss_before),
            mib(rss_after),
            mib(RSS_SLACK)
        ));
    }
    if let (Some(&early), Some(&last)) = (samples.get(samples.len() / 4), samples.last()) {
        if last > early + RSS_SLACK {
            failures.push(format!(
                "RSS kept growing under load: {} a quarter in, {} at the end",
                mib(early),
                mib(last)
            ));
        }
    }
    drop(server);
    if failures.is_empty() {
        println!("soak: PASS");
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            println!("soak: FAIL: {failure}");
        }
        ExitCode::FAILURE
    }
}

// ----------------------------------------------------------------------
// The load generator (the child process)
// ----------------------------------------------------------------------

/// A small xorshift generator: sizes and contents vary per connection.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One connection: 1 to 4 echoes, verified; then a graceful or an
/// abortive close. Returns the bytes verified.
fn one_connection(port: u16, rng: &mut Rng) -> Result<u64, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("timeouts: {e}"))?;
    let mut verified = 0;
    for _ in 0..=rng.below(4) {
        let len = 1 + rng.below(64 * 1024) as usize;
        let seed = rng.next() as u8;
        let message: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
        // The echo comes back while we write: read it on this thread in
        // between, so neither side's buffers can fill up and deadlock.
        let mut back = vec![0; len];
        let (mut written, mut read) = (0, 0);
        while read < len {
            if written < len {
                let end = (written + 16 * 1024).min(len);
                (&stream)
                    .write_all(&message[written..end])
                    .map_err(|e| format!("write: {e}"))?;
                written = end;
            }
            let n = (&stream)
                .read(&mut back[read..written])
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(format!("the server closed after {read} of {len} bytes"));
            }
            read += n;
        }
        if back != message {
            return Err("the echo differs from the message".into());
        }
        verified += len as u64;
    }
    if rng.below(8) == 0 {
        // Abortive close: the server sees an RST.
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    } else {
        let _ = stream.shutdown(Shutdown::Write);
        // Wait for the server's close, so every connection is whole.
        let mut rest = [0; 1];
        match (&stream).read(&mut rest) {
            Ok(0) => {}
            Ok(_) => return Err("bytes after the last echo".into()),
            Err(e) => return Err(format!("waiting for the close: {e}")),
        }
    }
    Ok(verified)
}

fn load(port: u16, seconds: u64, clients: usize) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1234_5678_9abc_def1));
                let mut report = LoadReport::default();
                while !stop.load(Ordering::Relaxed) {
                    match one_connection(port, &mut rng) {
                        Ok(bytes) => report.bytes_verified += bytes,
                        Err(problem) => {
                            eprintln!("soak client {i}: {problem}");
                            report.failures += 1;
                        }
                    }
                    report.connections += 1;
                }
                report
            })
        })
        .collect();
    // Why a sleep: the load runs for the requested wall-clock time; the
    // client threads do the work, this thread only says when to stop.
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut total = LoadReport::default();
    for thread in threads {
        match thread.join() {
            Ok(report) => {
                total.connections += report.connections;
                total.bytes_verified += report.bytes_verified;
                total.failures += report.failures;
            }
            Err(_) => total.failures += 1,
        }
    }
    println!(
        "LOAD connections={} bytes_verified={} failures={}",
        total.connections, total.bytes_verified, total.failures
    );
    ExitCode::SUCCESS
}
