//! What a deleted socket does with the bytes `write` accepted but the OS
//! has not taken yet: it lingers until they are sent.
//!
//! Qt's destructor aborts, which discards the write buffer: a socket
//! deleted right after `disconnectFromHost()` loses everything still
//! queued. In Rust the last handle going out of scope is the usual way to
//! let go of a socket, so that would be the easiest way to lose data.
//! Here deleting a TCP socket that is `Connected` or `Closing` with bytes
//! still queued hands its OS socket and those bytes to a *lingering* socket
//! first:
//!
//! - the application sees what Qt's `delete` shows (the abort's signals,
//!   `destroyed`, every connection dropped; weak handles stop upgrading);
//! - the lingering socket, which nothing outside this module can reach,
//!   goes on flushing from the thread's loop as `disconnect_from_host`
//!   does, then closes (the peer gets every byte, then end of stream);
//! - a write error ends it at once; so does the bound (30 s by default,
//!   [`DEFAULT_LINGER`]): then the connection is reset, so a peer that
//!   never reads does not keep the kernel sending to it either.
//!
//! This is the kernel's own lingering close (`close()` on a socket with
//! unsent data) carried up to the write buffer sigloop keeps above it.
//! A bound of zero turns it off (Qt's discard).

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use sigloop_core::{EventDispatcher, OpenMode, Timer, TimerType};

use super::engine::{ReadSide, SocketCore, WORK_FLUSH};
use super::{SocketState, SocketType};

/// How long a deleted socket may go on sending its queued bytes: 30 s,
/// the length of Qt's other network timeouts (a connect attempt, the
/// blocking waits' default).
pub(crate) const DEFAULT_LINGER: Duration = Duration::from_secs(30);

/// A bound past this (a century) is taken as none: `Duration::MAX` means
/// "until the bytes are sent or an error occurs".
const NO_BOUND: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// One lingering socket and the timer that bounds it.
struct Lingering {
    socket: Rc<SocketCore>,
    _bound: Option<Timer>,
}

thread_local! {
    /// The lingering sockets of this thread: held here, since no handle
    /// holds them any more; each leaves once closed.
    static LINGERING: RefCell<Vec<Lingering>> = const { RefCell::new(Vec::new()) };
}

impl SocketCore {
    /// Called as the socket is deleted, before it aborts: hands the OS
    /// socket and the unsent bytes to a lingering socket, when there are
    /// any and the socket's bound is not zero. The abort that follows then
    /// finds neither, so it emits Qt's signals without discarding data.
    pub(crate) fn linger_unsent(&self) {
        let timeout = {
            let d = self.d.borrow();
            let connected = matches!(d.state, SocketState::Connected | SocketState::Closing);
            let unsent = d.stream.is_some() && !d.write_buf.is_empty();
            // An `SslSocket`'s queue is plaintext that only its TLS layer
            // may send: deleting it discards the queue, as Qt does.
            let tls = d.tls().is_some_and(|t| t.carries_stream());
            if self.kind != SocketType::Tcp || !connected || !unsent || tls {
                return;
            }
            d.linger_timeout()
        };
        // While the thread exits, its loop is being destroyed: nothing
        // could drive a lingering socket, and making one would panic.
        if timeout.is_zero() || !EventDispatcher::is_available() {
            return;
        }
        let (stream, registration, write_buf) = {
            let mut d = self.d.borrow_mut();
            let stream = d.stream.take();
            let registration = d.registration.take();
            (stream, registration, std::mem::take(&mut d.write_buf))
        };
        let Some(mut stream) = stream else {
            return;
        };
        if let Some(registration) = registration {
            if let Err(err) = registration.deregister(&mut stream) {
                log::debug!("linger: deregistering the socket failed: {err}");
            }
        }
        let lingering = SocketCore::new(self.kind);
        let registration = match lingering.register(&mut stream) {
            Ok(registration) => registration,
            Err(err) => {
                // Nothing can drive it: the bytes are lost, as in Qt.
                log::warn!("TcpSocket: cannot send the data left at deletion: {err}");
                return;
            }
        };
        {
            let mut d = lingering.d.borrow_mut();
            d.stream = Some(stream);
            d.registration = Some(registration);
            d.write_buf = write_buf;
            d.open_mode = OpenMode::WRITE_ONLY;
            d.writable = true;
            d.read_side = ReadSide::Off;
            d.state = SocketState::Closing;
        }
        adopt(lingering, timeout);
    }
}

/// Keeps `lingering` until it is `Unconnected` (flushed and closed, or
/// aborted by a write error or by the bound), then lets it go.
fn adopt(lingering: Rc<SocketCore>, timeout: Duration) {
    let key = Rc::as_ptr(&lingering);
    let _ = lingering.sig.state_changed.connect(move |state| {
        if *state == SocketState::Unconnected {
            release(key);
        }
    });
    let bound = (timeout < NO_BOUND).then(|| {
        let timer = Timer::new();
        // Never early: a coarse timer may fire 5% before its interval.
        timer.set_timer_type(TimerType::Precise);
        timer.set_single_shot(true);
        let weak: Weak<SocketCore> = Rc::downgrade(&lingering);
        let _ = timer.on_timeout(move |_| {
            if let Some(socket) = weak.upgrade() {
                socket.reset_after_linger();
            }
        });
        timer.start_with(timeout);
        timer
    });
    lingering.schedule(WORK_FLUSH);
    LINGERING.with(|all| {
        all.borrow_mut().push(Lingering {
            socket: lingering,
            _bound: bound,
        });
    });
}

/// Forgets the lingering socket at `key`. Whoever is running it holds its
/// own `Rc` meanwhile (the loop, the batch, the timer's slot), so it is
/// freed when that call returns; the entry is dropped outside the borrow.
fn release(key: *const SocketCore) {
    let entry = LINGERING
        .try_with(|all| {
            let mut all = all.try_borrow_mut().ok()?;
            let index = all.iter().position(|l| Rc::as_ptr(&l.socket) == key)?;
            Some(all.swap_remove(index))
        })
        .ok()
        .flatten();
    drop(entry);
}

impl SocketCore {
    /// The bound passed: reset the connection (`SO_LINGER` 0) so that the
    /// kernel drops what it still holds too, and close.
    fn reset_after_linger(&self) {
        {
            let d = self.d.borrow();
            if let Some(stream) = d.stream.as_ref() {
                let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
            }
        }
        self.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::{Duration, Instant};

    use sigloop_core::{EventDispatcher, IoDevice, ProcessEventsFlags};

    use super::LINGERING;
    use crate::TcpSocket;

    fn lingering() -> usize {
        LINGERING.with(|all| all.borrow().len())
    }

    /// Runs the loop until `done`, for at most 30 s.
    fn run_until(mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(30), "timed out");
            EventDispatcher::process_events_for(
                ProcessEventsFlags::WAIT_FOR_MORE_EVENTS,
                Duration::from_millis(20),
            );
        }
    }

    /// A lingering socket is held only until it has closed: none is left
    /// behind once its bytes are sent, nor once its bound cut it off.
    #[test]
    fn a_lingering_socket_is_released_once_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();

        let sent = TcpSocket::new();
        sent.connect_to_host("127.0.0.1", port);
        let (mut reader, _) = listener.accept().unwrap();
        assert!(sent.wait_for_connected(Some(Duration::from_secs(10))));
        sent.write(&[7u8; 1 << 20]).unwrap();
        let stuck = TcpSocket::new();
        stuck.connect_to_host("127.0.0.1", port);
        let (_silent, _) = listener.accept().unwrap();
        assert!(stuck.wait_for_connected(Some(Duration::from_secs(10))));
        stuck.set_linger_timeout(Duration::from_millis(50));
        stuck.write(&vec![7u8; 16 << 20]).unwrap();

        drop(sent);
        drop(stuck);
        assert_eq!(lingering(), 2);
        let read = std::thread::spawn(move || {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).map(|_| all.len())
        });
        run_until(|| lingering() == 0);
        assert_eq!(read.join().unwrap().unwrap(), 1 << 20);
    }
}
