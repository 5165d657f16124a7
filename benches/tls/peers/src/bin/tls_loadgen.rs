//! The load generator of the TLS echo benchmark: a TLS client on rustls
//! (ring provider) driven by mio, one thread.
//!
//! ```text
//! tls_loadgen --port P --pid PID --label NAME --out FILE --ca FILE
//!             [--duration SECS] [--warmup SECS] [--idle N] [--inflight K]
//!             [--only a,b,...]
//! ```
//!
//! Drives the TLS echo server listening on 127.0.0.1:P (process PID)
//! through each scenario and appends one tab-separated line per scenario
//! to FILE. The server's CPU time, memory and descriptors are read from
//! `/proc` as the TCP benchmark's load generator reads them
//! (`echo_peers::probe`).
//!
//! First, one connection that verifies the server's chain against the CA
//! in `--ca` for the name 127.0.0.1 and echoes 64 bytes: a server that
//! serves the wrong certificate or no echo fails the run here. Its line
//! gives what was negotiated (protocol, cipher suite, key exchange group).
//! The load itself then uses a client that does not verify the server's
//! certificate or handshake signature: the verification costs the client,
//! not the server, and a cheaper client keeps the single load-generator
//! thread from being what limits the handshake rates. The client offers
//! one key exchange group, X25519, so every server runs the same exchange.
//!
//! Scenarios (in this order):
//!
//! - `rss`: N idle TLS connections (default 5,000), opened and handshaken
//!   25 at a time (a server with a handshake timeout never sees one wait
//!   long), each echoing 64 bytes once so the server has finished its side
//!   of the handshake; RSS before and with them open. Run first, on the
//!   fresh server.
//! - `pp100_4k`: 100 connections, 4 KiB ping-pong, one message in flight
//!   per connection; an operation is one round trip.
//! - `bulk64k`: one connection streaming 64 KiB blocks, up to four in
//!   flight; an operation is one block echoed.
//! - `hs_full`: connect, full handshake, 64-byte echo, close_notify and
//!   close, K connections at a time (default 8); an operation is one
//!   connection. The client keeps no sessions.
//! - `hs_resumed`: the same with the client's in-memory session cache, so
//!   each connection resumes a session from an earlier one; the line
//!   counts how many handshakes the server let resume (`resumed=`).
//!
//! Output lines:
//!
//! ```text
//! <label> check version=<v> suite=<s> kx=<group>
//! <label> <scenario> ops=<n> secs=<s> cpu_ns=<ns> bytes=<echoed bytes> [resumed=<n>]
//! <label> rss base_kb=<kB> idle_kb=<kB> conns=<n>
//! ```
//!
//! All traffic stays on loopback; every wait is bounded.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use echo_peers::probe::{
    message, open_many, percentiles, server_fds, server_rss_kb, wait_fds, Sources, Window, STALL,
};
use mio::{Events, Interest, Poll, Token};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, SignatureScheme,
};

struct Opts {
    port: u16,
    pid: u32,
    label: String,
    out: String,
    ca: String,
    duration: Duration,
    warmup: Duration,
    idle: usize,
    inflight: usize,
    only: Option<Vec<String>>,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        port: 0,
        pid: 0,
        label: String::new(),
        out: String::new(),
        ca: String::new(),
        duration: Duration::from_secs(2),
        warmup: Duration::from_millis(300),
        idle: 5_000,
        inflight: 8,
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
        let count = |v: &str| v.parse::<usize>().map_err(|_| format!("bad count {v:?}"));
        match arg.as_str() {
            "--port" => o.port = v.parse().map_err(|_| format!("bad port {v:?}"))?,
            "--pid" => o.pid = v.parse().map_err(|_| format!("bad pid {v:?}"))?,
            "--label" => o.label = v,
            "--out" => o.out = v,
            "--ca" => o.ca = v,
            "--duration" => o.duration = secs(&v)?,
            "--warmup" => o.warmup = secs(&v)?,
            "--idle" => o.idle = count(&v)?,
            "--inflight" => o.inflight = count(&v)?.max(1),
            "--only" => o.only = Some(v.split(',').map(str::to_owned).collect()),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if o.port == 0 || o.pid == 0 || o.label.is_empty() || o.out.is_empty() || o.ca.is_empty() {
        return Err("--port, --pid, --label, --out and --ca are required".into());
    }
    Ok(o)
}

fn main() {
    let opts = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tls_loadgen: {e}");
            eprintln!(
                "usage: tls_loadgen --port P --pid PID --label NAME --out FILE --ca FILE \
                 [--duration S] [--warmup S] [--idle N] [--inflight K] [--only a,b]"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&opts) {
        eprintln!("tls_loadgen [{}]: {e}", opts.label);
        std::process::exit(1);
    }
}

/// The client configurations of a run.
struct Configs {
    /// Verifies the server against `--ca`: the first connection only.
    verified: Arc<ClientConfig>,
    /// No verification, no sessions: full handshakes.
    full: Arc<ClientConfig>,
    /// No verification, sessions kept and offered: resumed handshakes.
    resuming: Arc<ClientConfig>,
}

fn configs(ca: &str) -> io::Result<Configs> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(ca).map_err(|e| io::Error::other(format!("{ca}: {e}")))?
    {
        let cert = cert.map_err(|e| io::Error::other(format!("{ca}: {e}")))?;
        roots.add(cert).map_err(io::Error::other)?;
    }
    // The client offers X25519 only, so that every server does the same
    // key exchange: rustls 0.23.48's ring provider lists secp384r1 first,
    // OpenSSL X25519, and a P-384 exchange costs several times as much.
    let mut provider = (*tls_peers::provider()).clone();
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    let provider = Arc::new(provider);
    let builder = || {
        ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)
    };
    let verified = builder()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let unverified = || -> io::Result<ClientConfig> {
        Ok(builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(tls_peers::provider())))
            .with_no_client_auth())
    };
    let mut full = unverified()?;
    full.resumption = Resumption::disabled();
    let mut resuming = unverified()?;
    resuming.resumption = Resumption::in_memory_sessions(1024);
    Ok(Configs {
        verified: Arc::new(verified),
        full: Arc::new(full),
        resuming: Arc::new(resuming),
    })
}

/// Accepts any certificate and handshake signature (see the module docs
/// for why the load is generated without verification).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn run(o: &Opts) -> io::Result<()> {
    let server = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, o.port));
    let wanted = |name: &str| o.only.as_ref().is_none_or(|l| l.iter().any(|n| n == name));
    let mut out = OpenOptions::new().create(true).append(true).open(&o.out)?;
    let mut src = Sources::new();
    let configs = configs(&o.ca)?;
    let mut emit = |line: String| -> io::Result<()> {
        eprintln!("{line}");
        writeln!(out, "{line}")
    };

    emit(check(o, server, &mut src, &configs.verified)?)?;
    if wanted("rss") {
        let (base, idle) = rss(o, server, &mut src, &configs.full)?;
        emit(format!(
            "{}\trss\tbase_kb={base}\tidle_kb={idle}\tconns={}",
            o.label, o.idle
        ))?;
    }
    let scenarios: [(&str, Scenario); 4] = [
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
            },
        ),
        ("hs_full", Scenario::Handshakes { resume: false }),
        ("hs_resumed", Scenario::Handshakes { resume: true }),
    ];
    for (name, scenario) in scenarios {
        if !wanted(name) {
            continue;
        }
        let fds_before = server_fds(o.pid)?;
        let m = match scenario {
            Scenario::PingPong { conns, size } => {
                pingpong(o, server, &mut src, &configs.full, conns, size)?
            }
            Scenario::Bulk { block, window } => {
                bulk(o, server, &mut src, &configs.full, block, window)?
            }
            Scenario::Handshakes { resume } => {
                let config = if resume {
                    &configs.resuming
                } else {
                    &configs.full
                };
                handshakes(o, server, &mut src, config)?
            }
        };
        let mut line = format!(
            "{}\t{name}\tops={}\tsecs={:.6}\tcpu_ns={}\tbytes={}",
            o.label, m.ops, m.secs, m.cpu_ns, m.bytes
        );
        if let Some(resumed) = m.resumed {
            line += &format!("\tresumed={resumed}");
        }
        if let Some((p50, p99)) = m.latency_us {
            line += &format!("\tp50_us={p50:.1}\tp99_us={p99:.1}");
        }
        eprintln!(
            "({:.0} ops/s, {:.2} us server CPU/op)",
            m.ops as f64 / m.secs,
            m.cpu_ns as f64 / m.ops.max(1) as f64 / 1e3
        );
        emit(line)?;
        // Let the server finish closing this scenario's connections.
        wait_fds(
            o.pid,
            |n| n <= fds_before,
            "the scenario's connections to close",
        )?;
    }
    Ok(())
}

enum Scenario {
    PingPong { conns: usize, size: usize },
    Bulk { block: usize, window: usize },
    Handshakes { resume: bool },
}

/// One measured window.
struct Measure {
    ops: u64,
    secs: f64,
    cpu_ns: u64,
    bytes: u64,
    /// Handshakes the server let resume (handshake scenarios).
    resumed: Option<u64>,
    /// Median and 99th percentile round-trip latency, µs (ping-pong).
    latency_us: Option<(f64, f64)>,
}

// ----- one TLS connection over mio -------------------------------------------

/// A nonblocking TLS client connection.
struct Client {
    stream: mio::net::TcpStream,
    tls: ClientConnection,
}

impl Client {
    fn new(stream: TcpStream, config: &Arc<ClientConfig>) -> io::Result<Client> {
        stream.set_nonblocking(true)?;
        let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
        let tls = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
        Ok(Client {
            stream: mio::net::TcpStream::from_std(stream),
            tls,
        })
    }

    /// Sends what rustls has for the wire, until done or `WouldBlock`.
    fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.stream) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Queues `data` for encryption and sends what the socket takes.
    fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.tls.writer().write(data)?;
        self.flush()?;
        Ok(n)
    }

    /// Reads everything the socket has, decrypts it and hands the
    /// plaintext to `got`; answers the handshake on the way.
    fn receive(
        &mut self,
        buf: &mut [u8],
        got: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        loop {
            match self.tls.read_tls(&mut self.stream) {
                Ok(0) => return Err(io::Error::other("the server closed a connection")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let state = self.tls.process_new_packets().map_err(io::Error::other)?;
            if state.plaintext_bytes_to_read() > 0 {
                loop {
                    match self.tls.reader().read(buf) {
                        Ok(0) => return Err(io::Error::other("the server sent close_notify")),
                        Ok(n) => got(&buf[..n])?,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
            }
            self.flush()?;
        }
        self.flush()
    }

    /// Sends close_notify (as far as the socket takes it) and closes.
    fn close(mut self) {
        self.tls.send_close_notify();
        let _ = self.flush();
    }
}

/// Handshakes `clients` and echoes `msg` on each, all at once; returns
/// how many handshakes resumed a session.
fn greet(clients: &mut [Client], msg: &[u8]) -> io::Result<u64> {
    let poll = Poll::new()?;
    let mut received = vec![0usize; clients.len()];
    for (i, c) in clients.iter_mut().enumerate() {
        poll.registry().register(
            &mut c.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        c.send(msg)?;
    }
    let mut pending = clients.len();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + STALL;
    let mut poll = poll;
    while pending > 0 {
        if Instant::now() > deadline {
            return Err(io::Error::other("handshakes stalled"));
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in events.iter() {
            let i = event.token().0;
            let got = &mut received[i];
            let before = *got;
            clients[i].receive(&mut buf, &mut |data| {
                if data != &msg[*got..*got + data.len()] {
                    return Err(io::Error::other("the echo differs from the message"));
                }
                *got += data.len();
                Ok(())
            })?;
            if before < msg.len() && *got == msg.len() {
                pending -= 1;
            }
        }
    }
    for c in clients.iter_mut() {
        poll.registry().deregister(&mut c.stream)?;
    }
    Ok(clients
        .iter()
        .filter(|c| c.tls.handshake_kind() == Some(HandshakeKind::Resumed))
        .count() as u64)
}

/// Opens `n` TLS connections, 25 at a time, each batch accepted,
/// handshaken and echoing `msg` once before the next is opened: Qt's
/// QSslServer counts connections still in their handshake against its
/// 30 pending connections and stops accepting at that many, and a server
/// with a handshake timeout must not see connections wait for others.
fn open_tls(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    config: &Arc<ClientConfig>,
    n: usize,
    msg: &[u8],
) -> io::Result<Vec<Client>> {
    const BATCH: usize = 25;
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let mut batch = open_many(o.pid, server, src, BATCH.min(n - all.len()), None)?
            .into_iter()
            .map(|s| Client::new(s, config))
            .collect::<io::Result<Vec<_>>>()?;
        greet(&mut batch, msg)?;
        all.extend(batch);
    }
    Ok(all)
}

// ----- scenarios ----------------------------------------------------------------

/// One verified connection: what the server negotiates, as a line.
fn check(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    config: &Arc<ClientConfig>,
) -> io::Result<String> {
    let fds_before = server_fds(o.pid)?;
    let c = open_tls(o, server, src, config, 1, &message(64, 5))?.remove(0);
    let version = c.tls.protocol_version().map(|v| format!("{v:?}"));
    let suite = c
        .tls
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()));
    let kx = c
        .tls
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()));
    let line = format!(
        "{}\tcheck\tversion={}\tsuite={}\tkx={}",
        o.label,
        version.unwrap_or_default(),
        suite.unwrap_or_default(),
        kx.unwrap_or_default(),
    );
    c.close();
    // The next scenario counts on the server's descriptors as they were.
    wait_fds(o.pid, |n| n <= fds_before, "the check connection to close")?;
    Ok(line)
}

/// RSS before and with `o.idle` idle TLS connections.
fn rss(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    config: &Arc<ClientConfig>,
) -> io::Result<(u64, u64)> {
    let fds_before = server_fds(o.pid)?;
    let base = server_rss_kb(o.pid)?;
    let all = open_tls(o, server, src, config, o.idle, &message(64, 1))?;
    // Why a sleep: the server is another process and RSS has no change
    // notification; a fixed settle time keeps every server's reading
    // comparable (as in the TCP benchmark).
    std::thread::sleep(Duration::from_millis(200));
    let idle = server_rss_kb(o.pid)?;
    drop(all);
    wait_fds(o.pid, |n| n <= fds_before, "the idle connections to close")?;
    Ok((base, idle))
}

fn pingpong(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    config: &Arc<ClientConfig>,
    conns: usize,
    size: usize,
) -> io::Result<Measure> {
    let mut clients = open_tls(o, server, src, config, conns, &message(64, 2))?;
    let msgs: Vec<Vec<u8>> = (0..conns).map(|i| message(size, i)).collect();
    let mut received = vec![0usize; conns];
    let mut started = vec![Instant::now(); conns];
    // Round trips completed in the measured window, ns each.
    let mut latencies: Vec<u64> = Vec::with_capacity(1 << 20);
    let mut poll = Poll::new()?;
    for (i, c) in clients.iter_mut().enumerate() {
        poll.registry().register(
            &mut c.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        c.send(&msgs[i])?;
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut ops, mut bytes) = (0u64, 0u64);
    let mut window = Window::new(o.pid, o.warmup, o.duration);
    let deadline = Instant::now() + o.warmup + o.duration + STALL;
    loop {
        if let Some((ops, secs, cpu_ns, bytes)) = window.tick(ops, bytes)? {
            return Ok(Measure {
                ops,
                secs,
                cpu_ns,
                bytes,
                resumed: None,
                latency_us: percentiles(&mut latencies),
            });
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("ping-pong stalled"));
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in events.iter() {
            let i = event.token().0;
            let (msg, got) = (&msgs[i], &mut received[i]);
            let mut done = 0;
            clients[i].receive(&mut buf, &mut |data| {
                if data != &msg[*got..*got + data.len()] {
                    return Err(io::Error::other("the echo differs from the message"));
                }
                *got += data.len();
                if *got == msg.len() {
                    *got = 0;
                    done += 1;
                }
                Ok(())
            })?;
            if done > 0 {
                ops += done;
                bytes += done * size as u64;
                let now = Instant::now();
                if window.measuring() {
                    latencies.push((now - started[i]).as_nanos() as u64);
                }
                started[i] = now;
                clients[i].send(msg)?;
            }
        }
    }
}

fn bulk(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    config: &Arc<ClientConfig>,
    block: usize,
    window_blocks: usize,
) -> io::Result<Measure> {
    let mut c = open_tls(o, server, src, config, 1, &message(64, 3))?.remove(0);
    let mut poll = Poll::new()?;
    poll.registry().register(
        &mut c.stream,
        Token(0),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    let data = message(block, 7);
    let limit = (block * window_blocks) as u64;
    let (mut sent, mut received) = (0u64, 0u64);
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(16);
    let mut window = Window::new(o.pid, o.warmup, o.duration);
    let deadline = Instant::now() + o.warmup + o.duration + STALL;
    loop {
        // Keep up to `window_blocks` blocks in flight.
        while sent - received < limit {
            let off = (sent % block as u64) as usize;
            let room = (limit - (sent - received)) as usize;
            let end = block.min(off + room);
            match c.send(&data[off..end])? {
                0 => break,
                n => sent += n as u64,
            }
            if c.tls.wants_write() {
                break; // the socket is full
            }
        }
        c.receive(&mut buf, &mut |d| {
            received += d.len() as u64;
            Ok(())
        })?;
        let ops = received / block as u64;
        if let Some((ops, secs, cpu_ns, _)) = window.tick(ops, received)? {
            return Ok(Measure {
                ops,
                secs,
                cpu_ns,
                bytes: ops * block as u64,
                resumed: None,
                latency_us: None,
            });
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("bulk echo stalled"));
        }
        if sent - received >= limit || c.tls.wants_write() {
            poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        }
    }
}

/// Connect, handshake, 64-byte echo, close; `o.inflight` at a time.
fn handshakes(
    o: &Opts,
    server: SocketAddr,
    src: &mut Sources,
    config: &Arc<ClientConfig>,
) -> io::Result<Measure> {
    let msg = message(64, 4);
    // Prime the session cache (resumed scenario): the first connections
    // of the warm-up are full handshakes.
    let mut poll = Poll::new()?;
    let mut slots: Vec<Option<(Client, usize)>> = Vec::with_capacity(o.inflight);
    let open = |src: &mut Sources, poll: &Poll, i: usize| -> io::Result<(Client, usize)> {
        let mut c = Client::new(src.connect(server, None)?, config)?;
        poll.registry().register(
            &mut c.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        c.send(&msg)?;
        Ok((c, 0))
    };
    for i in 0..o.inflight {
        slots.push(Some(open(src, &poll, i)?));
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut ops, mut bytes, mut resumed) = (0u64, 0u64, 0u64);
    let mut resumed_at_start = None;
    let mut window = Window::new(o.pid, o.warmup, o.duration);
    let deadline = Instant::now() + o.warmup + o.duration + STALL;
    loop {
        if let Some((ops, secs, cpu_ns, bytes)) = window.tick(ops, bytes)? {
            let resumed = resumed - resumed_at_start.unwrap_or(0);
            return Ok(Measure {
                ops,
                secs,
                cpu_ns,
                bytes,
                resumed: Some(resumed),
                latency_us: None,
            });
        }
        if window.measuring() && resumed_at_start.is_none() {
            // `tick` took the ops count at this point too.
            resumed_at_start = Some(resumed);
        }
        if Instant::now() > deadline {
            return Err(io::Error::other("handshakes stalled"));
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in events.iter() {
            let i = event.token().0;
            let Some((c, got)) = slots[i].as_mut() else {
                continue;
            };
            c.receive(&mut buf, &mut |data| {
                if data != &msg[*got..*got + data.len()] {
                    return Err(io::Error::other("the echo differs from the message"));
                }
                *got += data.len();
                Ok(())
            })?;
            if *got < msg.len() {
                continue;
            }
            let (mut c, _) = slots[i].take().expect("checked above");
            ops += 1;
            bytes += msg.len() as u64;
            if c.tls.handshake_kind() == Some(HandshakeKind::Resumed) {
                resumed += 1;
            }
            poll.registry().deregister(&mut c.stream)?;
            c.close();
            slots[i] = Some(open(src, &poll, i)?);
        }
    }
}
