//! A fault-injecting TCP relay for tests (kernel netem is not available
//! everywhere): listens on `127.0.0.1:0`, forwards every accepted
//! connection to a target on loopback, and damages the stream on the way.
//!
//! Faults ([`Fault`]) act on the downstream direction (target to client,
//! where the tests' servers send); the upstream direction is forwarded as
//! is. The end of a direction (EOF, or a read error such as a reset) is
//! passed on as a FIN. Both of the relay's sockets have `TCP_NODELAY`, so
//! a 1-byte write really leaves as a 1-byte segment. Each connection is
//! two threads doing blocking copies; dropping the relay shuts every
//! socket down and joins every thread, so nothing outlives the test.
//!
//! ```ignore
//! let relay = FaultRelay::start(server_addr, Fault::ResetAfter(1000));
//! socket.connect_to_host("127.0.0.1", relay.port());
//! ```

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::SockRef;

/// What the relay does to the downstream bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwards everything unchanged.
    None,
    /// Waits this long before forwarding each chunk it reads.
    Delay(Duration),
    /// Forwards the first `n` bytes one byte per write (one segment each),
    /// the rest as read. `usize::MAX` splits the whole stream.
    SplitPrefix(usize),
    /// After forwarding `after` bytes, forwards nothing for `stall`.
    Stall {
        /// Bytes forwarded before the stall.
        after: usize,
        /// How long the stream stands still.
        stall: Duration,
    },
    /// After forwarding `n` (at least 1) bytes, resets both connections
    /// (`SO_LINGER` 0 and close: an RST to the client and to the target).
    /// Bytes still in the relay's send buffer then are lost with it.
    ResetAfter(usize),
    /// After forwarding `n` (at least 1) bytes, half-closes towards the
    /// client (FIN, `shutdown(SHUT_WR)`) while still reading what the
    /// client sends; what the target sends afterwards is read and dropped.
    HalfCloseAfter(usize),
}

/// Byte counts the relay saw, for assertions.
#[derive(Default, Debug)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Bytes forwarded from the target to clients.
    pub downstream: AtomicUsize,
    /// Bytes forwarded from clients to the target.
    pub upstream: AtomicUsize,
}

struct Shared {
    stop: AtomicBool,
    counters: Counters,
    /// Every socket the relay's threads hold, so `drop` can wake them.
    /// Weak: a socket must close (FIN or RST) when its threads let go.
    sockets: Mutex<Vec<Weak<TcpStream>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A running relay; see the [module docs](self).
pub struct FaultRelay {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultRelay {
    /// Starts a relay to `target` (a loopback address) with `fault`.
    pub fn start(target: SocketAddr, fault: Fault) -> FaultRelay {
        assert!(
            target.ip().is_loopback(),
            "the relay forwards to loopback only"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            sockets: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fault-relay-accept".into())
                .spawn(move || accept_loop(&listener, target, fault, &shared))
                .expect("spawn the relay")
        };
        FaultRelay {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The port clients connect to (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the relay has seen so far.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }
}

impl Drop for FaultRelay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor with a connection of our own.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for socket in self.shared.sockets.lock().unwrap().drain(..) {
            if let Some(socket) = socket.upgrade() {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap());
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, target: SocketAddr, fault: Fault, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let Ok(server) = TcpStream::connect(target) else {
            // Nothing to relay to: the client sees its connection close.
            continue;
        };
        shared.counters.connections.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let client = Arc::new(client);
        let server = Arc::new(server);
        shared
            .sockets
            .lock()
            .unwrap()
            .extend([Arc::downgrade(&client), Arc::downgrade(&server)]);
        let reset = Arc::new(AtomicBool::new(false));
        let up = {
            let (client, server, reset, shared) = (
                client.clone(),
                server.clone(),
                reset.clone(),
                shared.clone(),
            );
            std::thread::spawn(move || upstream(&client, &server, &reset, &shared))
        };
        let down = {
            let shared = shared.clone();
            std::thread::spawn(move || downstream(&server, &client, fault, &reset, &shared))
        };
        shared.threads.lock().unwrap().extend([up, down]);
    }
}

/// Client to target, unchanged; a FIN from the client is passed on.
fn upstream(client: &TcpStream, server: &TcpStream, reset: &AtomicBool, shared: &Shared) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match (&*client).read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if reset.load(Ordering::SeqCst) {
            return;
        }
        if n == 0 {
            let _ = server.shutdown(Shutdown::Write);
            return;
        }
        if (&*server).write_all(&buf[..n]).is_err() {
            return;
        }
        shared.counters.upstream.fetch_add(n, Ordering::SeqCst);
    }
}

/// Target to client, with the fault.
fn downstream(
    server: &TcpStream,
    client: &TcpStream,
    fault: Fault,
    reset: &AtomicBool,
    shared: &Shared,
) {
    let mut buf = vec![0; 256 * 1024];
    let mut sent = 0usize;
    let mut half_closed = false;
    loop {
        // Read no further than the next fault point, so it falls exactly.
        let want = match fault {
            Fault::ResetAfter(n) | Fault::HalfCloseAfter(n) if !half_closed => {
                (n - sent.min(n)).clamp(1, buf.len())
            }
            Fault::Stall { after, .. } if sent < after => (after - sent).min(buf.len()),
            _ => buf.len(),
        };
        let n = match (&*server).read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => 0,
        };
        if half_closed {
            // Drain and drop until the target is done.
            if n == 0 {
                return;
            }
            continue;
        }
        if n == 0 {
            let _ = client.shutdown(Shutdown::Write);
            return;
        }
        if forward(client, &buf[..n], sent, fault).is_err() {
            return;
        }
        sent += n;
        shared.counters.downstream.fetch_add(n, Ordering::SeqCst);
        match fault {
            Fault::ResetAfter(limit) if sent >= limit => {
                reset_both(client, server, reset);
                return;
            }
            Fault::HalfCloseAfter(limit) if sent >= limit => {
                let _ = client.shutdown(Shutdown::Write);
                half_closed = true;
            }
            // Why a sleep: a stalled network is the fault being injected;
            // the relay's thread stalls, the test waits on conditions.
            Fault::Stall { after, stall } if sent == after => std::thread::sleep(stall),
            _ => {}
        }
    }
}

/// Writes `data` (which starts at stream offset `offset`) to the client.
fn forward(client: &TcpStream, data: &[u8], offset: usize, fault: Fault) -> io::Result<()> {
    match fault {
        Fault::Delay(delay) => {
            // Why a sleep: the injected fault is latency on this hop.
            std::thread::sleep(delay);
            (&*client).write_all(data)
        }
        Fault::SplitPrefix(prefix) if offset < prefix => {
            let split = (prefix - offset).min(data.len());
            for byte in &data[..split] {
                (&*client).write_all(std::slice::from_ref(byte))?;
            }
            (&*client).write_all(&data[split..])
        }
        _ => (&*client).write_all(data),
    }
}

/// RST both ways: zero linger, then wake the other thread so the last
/// handle to each socket closes.
fn reset_both(client: &TcpStream, server: &TcpStream, reset: &AtomicBool) {
    reset.store(true, Ordering::SeqCst);
    for socket in [client, server] {
        let _ = SockRef::from(socket).set_linger(Some(Duration::ZERO));
        // Wakes a thread blocked reading it; sends nothing.
        let _ = socket.shutdown(Shutdown::Read);
    }
}
