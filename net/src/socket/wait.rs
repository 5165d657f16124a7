//! The blocking `wait_for_*` functions (Qt:
//! `QAbstractSocket::waitForConnected()`, `waitForReadyRead()`,
//! `waitForBytesWritten()`, `waitForDisconnected()`).
//!
//! They need no running loop: each waits on the socket's own fd with
//! `poll(2)`, as Qt's socket engine does, and then runs the same read, write
//! and connect paths the loop runs, so the same signals are emitted.
//!
//! `poll(2)` makes no descriptor (a `mio::Poll` per wait step was an epoll
//! instance each, so waits failed once the process ran out of descriptors)
//! and registers nothing, so the readiness it reports is level-triggered.
//!
//! A wait asks only for what can make progress: no readability while the
//! read buffer is full (Qt's `waitForBytesWritten` does the same), no
//! writability while nothing is queued. When nothing can make progress the
//! wait sleeps until its deadline instead of polling a readable fd it will
//! not read (which spun at full CPU).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::engine::{CloseIntent, ReadSide, SocketCore};
use super::{text, SocketError, SocketState};
use crate::host_info::HostInfo;

/// What a wait asks the OS about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Want {
    pub(crate) read: bool,
    pub(crate) write: bool,
}

impl Want {
    pub(crate) const READ: Want = Want {
        read: true,
        write: false,
    };
    pub(crate) const WRITE: Want = Want {
        read: false,
        write: true,
    };
}

/// What a single wait saw.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Ready {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
}

/// When a wait gives up: `None` waits forever.
pub(super) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// `poll(2)`'s timeout: whole milliseconds rounded up (a wait with 0.4 ms
/// left must not poll with 0 and come straight back), at most `i32::MAX`
/// ms (about 24 days; the callers loop until their deadline).
fn poll_timeout(timeout: Option<Duration>) -> PollTimeout {
    match timeout {
        None => PollTimeout::NONE,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
    }
}

/// Blocks until `fd` is ready for what `want` asks, or `timeout` passes
/// (`None`: forever). A hang-up or an error counts as ready for what was
/// asked: the read or write that follows reports it. Asking for nothing
/// sleeps for the whole timeout. An interrupted wait returns not ready;
/// callers loop until their deadline.
pub(crate) fn poll_fd(
    fd: BorrowedFd<'_>,
    want: Want,
    timeout: Option<Duration>,
) -> io::Result<Ready> {
    let mut events = PollFlags::empty();
    if want.read {
        events |= PollFlags::POLLIN | PollFlags::POLLPRI;
    }
    if want.write {
        events |= PollFlags::POLLOUT;
    }
    let mut fds = [PollFd::new(fd, events)];
    // Nothing asked: no fd at all, or a hang-up would still wake the wait
    // at once, again and again.
    let polled = if events.is_empty() {
        &mut fds[..0]
    } else {
        &mut fds[..]
    };
    match poll(polled, poll_timeout(timeout)) {
        Ok(_) => {}
        Err(Errno::EINTR) => return Ok(Ready::default()),
        Err(errno) => return Err(io::Error::from(errno)),
    }
    let revents = fds[0].revents().unwrap_or(PollFlags::empty());
    let failed = revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR);
    Ok(Ready {
        readable: want.read
            && (failed || revents.intersects(PollFlags::POLLIN | PollFlags::POLLPRI)),
        writable: want.write && (failed || revents.contains(PollFlags::POLLOUT)),
    })
}

impl SocketCore {
    /// Waits once on the socket's fd for `want`, at most `timeout`. With
    /// no OS socket, nothing can happen: not ready, at once.
    pub(super) fn wait_fd(&self, want: Want, timeout: Option<Duration>) -> io::Result<Ready> {
        // The borrow is held across the wait, which runs no user code; it
        // keeps the fd open and owned for that time.
        let d = self.d.borrow();
        match d.stream.as_ref() {
            Some(stream) => poll_fd(stream.as_fd(), want, timeout),
            None => Ok(Ready::default()),
        }
    }

    /// Qt: `QAbstractSocket::waitForConnected(msecs)`.
    ///
    /// A close requested during the lookup or connect is held back for the
    /// wait and run once connected, so the wait still reports the
    /// connection (Qt's `wasPendingClose`); if the connect fails it is
    /// dropped, as in Qt.
    pub(crate) fn wait_for_connected(&self, timeout: Option<Duration>) -> bool {
        if self.state() == SocketState::Connected {
            return true;
        }
        let was_pending_close = {
            let mut d = self.d.borrow_mut();
            let pending = d.close == CloseIntent::Pending;
            if pending {
                d.close = CloseIntent::None;
            }
            pending
        };
        let connected = self.wait_until_connected(timeout);
        if connected && was_pending_close {
            self.disconnect_from_host();
        }
        connected
    }

    fn wait_until_connected(&self, timeout: Option<Duration>) -> bool {
        let deadline = deadline_after(timeout);
        match self.state() {
            SocketState::Connected => return true,
            SocketState::HostLookup => self.resolve_now(),
            SocketState::Connecting => {}
            _ => return false,
        }
        let mut attempt_started = Instant::now();
        let mut attempt_stream = self.stream_fd();
        while self.state() == SocketState::Connecting {
            if self.stream_fd() != attempt_stream {
                attempt_started = Instant::now();
                attempt_stream = self.stream_fd();
            }
            let attempt_left = self
                .d
                .borrow()
                .connect_timeout()
                .saturating_sub(attempt_started.elapsed());
            let left = remaining(deadline);
            if left == Some(Duration::ZERO) {
                self.wait_connect_timed_out();
                return false;
            }
            let wait = left.map_or(attempt_left, |l| l.min(attempt_left));
            // Through a proxy, the handshake then waits for the replies.
            let want = if self.proxy_wants_read() {
                Want::READ
            } else {
                Want::WRITE
            };
            match self.wait_fd(want, Some(wait)) {
                Ok(ready) if ready.writable || ready.readable => self.on_connect_ready(),
                Ok(_) if attempt_started.elapsed() >= self.d.borrow().connect_timeout() => {
                    self.attempt_timed_out()
                }
                Ok(_) => {}
                Err(err) => {
                    log::warn!("wait_for_connected: poll failed: {err}");
                    return false;
                }
            }
        }
        self.state() == SocketState::Connected
    }

    /// Qt: `QSocks5SocketEnginePrivate::waitForConnected()` in `BIND`
    /// mode, as `QTcpServer::listen` runs it: blocks until the proxy says
    /// where it listens (`true`) or the attempt failed or `timeout`
    /// passed (`false`, with the socket's error set).
    pub(crate) fn wait_for_proxy_bound(&self, timeout: Duration) -> bool {
        let deadline = deadline_after(Some(timeout));
        loop {
            if self.proxy_bound_address().is_some() {
                return true;
            }
            match self.state() {
                SocketState::HostLookup => self.resolve_now(),
                SocketState::Connecting => {}
                _ => return false,
            }
            if self.resolve_proxy_host_now() {
                continue;
            }
            let left = remaining(deadline);
            if left == Some(Duration::ZERO) {
                self.wait_connect_timed_out();
                return false;
            }
            let want = if self.proxy_wants_read() {
                Want::READ
            } else {
                Want::WRITE
            };
            match self.wait_fd(want, left) {
                Ok(ready) if ready.writable || ready.readable => self.on_connect_ready(),
                Ok(_) => {}
                Err(err) => {
                    log::warn!("TcpServer::listen: poll failed: {err}");
                    return false;
                }
            }
        }
    }

    fn stream_fd(&self) -> Option<i32> {
        self.d.borrow().stream.as_ref().map(|s| s.as_raw_fd())
    }

    /// A pending lookup is done synchronously (Qt does the same).
    fn resolve_now(&self) {
        let (lookup, host) = {
            let mut d = self.d.borrow_mut();
            let host = d.peer_name().to_owned();
            (d.connect_plan().and_then(|p| p.lookup.take()), host)
        };
        if let Some(id) = lookup {
            HostInfo::abort_host_lookup(id);
        }
        let info = HostInfo::from_name(&host);
        self.lookup_result(&info);
    }

    /// `wait_for_connected` timed out: `Unconnected`, no `error_occurred`.
    fn wait_connect_timed_out(&self) {
        self.stop_connecting();
        {
            let mut d = self.d.borrow_mut();
            d.stream = None;
            d.registration = None;
        }
        self.set_error(SocketError::SocketTimeout, text::WAIT_CONNECT_TIMED_OUT);
        self.change_state(SocketState::Unconnected);
    }

    /// The shared timeout of the other waits: the error is emitted and the
    /// socket stays open (Qt's `dontCloseOnTimeout`).
    pub(super) fn wait_timed_out(&self) {
        self.raise(SocketError::SocketTimeout, text::WAIT_TIMED_OUT);
    }

    /// Runs one wait step while connected: flushes and reads as the fd
    /// allows. Returns (bytes read, bytes written), or `None` on timeout.
    pub(super) fn wait_step(&self, deadline: Option<Instant>) -> Option<(usize, usize)> {
        let left = remaining(deadline);
        if left == Some(Duration::ZERO) {
            return None;
        }
        let want = {
            let d = self.d.borrow();
            Want {
                // Not while the read buffer is full: no read can take
                // anything, so a readable fd would only wake the wait again
                // and again. Not for a datagram socket (its reads are not
                // the stream's).
                read: d.state == SocketState::Connected
                    && matches!(d.read_side, ReadSide::Ready | ReadSide::Drained),
                write: !d.write_buf.is_empty() || d.tls().is_some_and(|t| t.wants_write()),
            }
        };
        let ready = match self.wait_fd(want, left) {
            Ok(ready) => ready,
            Err(err) => {
                log::warn!("wait: poll failed: {err}");
                return None;
            }
        };
        if !ready.readable && !ready.writable {
            return if remaining(deadline) == Some(Duration::ZERO) {
                None
            } else {
                Some((0, 0))
            };
        }
        let mut written = 0;
        if ready.writable {
            self.d.borrow_mut().writable = true;
            written = self.flush_now();
        }
        let mut read = 0;
        if ready.readable {
            {
                let mut d = self.d.borrow_mut();
                if d.read_side == ReadSide::Drained {
                    d.read_side = ReadSide::Ready;
                }
            }
            read = self.read_now();
        }
        Some((read, written))
    }

    /// The other waits first finish a lookup or connect in progress, as
    /// Qt's do; `false` if that fails.
    pub(super) fn connect_first(&self, timeout: Option<Duration>) -> bool {
        match self.state() {
            SocketState::HostLookup | SocketState::Connecting => self.wait_for_connected(timeout),
            _ => true,
        }
    }

    /// Qt: `QAbstractSocket::waitForReadyRead(msecs)`.
    pub(crate) fn wait_for_ready_read(&self, timeout: Option<Duration>) -> bool {
        if self.kind == super::SocketType::Udp {
            return self.wait_for_datagram(timeout);
        }
        let deadline = deadline_after(timeout);
        if matches!(self.state(), SocketState::Unconnected | SocketState::Bound)
            || !self.connect_first(timeout)
        {
            return false;
        }
        loop {
            if self.state() != SocketState::Connected && self.state() != SocketState::Closing {
                return false;
            }
            match self.wait_step(deadline) {
                Some((read, _)) if read > 0 => return true,
                Some(_) => {}
                None => {
                    self.wait_timed_out();
                    return false;
                }
            }
        }
    }

    /// Qt: `QAbstractSocket::waitForBytesWritten(msecs)`.
    pub(crate) fn wait_for_bytes_written(&self, timeout: Option<Duration>) -> bool {
        let deadline = deadline_after(timeout);
        if matches!(self.state(), SocketState::Unconnected | SocketState::Bound) {
            log::warn!("wait_for_bytes_written() is not allowed in UnconnectedState");
            return false;
        }
        // Qt checks the buffer first: with nothing to write it returns at
        // once, even while still connecting.
        if self.d.borrow().write_buf.is_empty() {
            return false;
        }
        if !self.connect_first(timeout) {
            return false;
        }
        loop {
            if !matches!(self.state(), SocketState::Connected | SocketState::Closing) {
                return false;
            }
            match self.wait_step(deadline) {
                Some((_, written)) if written > 0 => return true,
                Some(_) => {}
                None => {
                    self.wait_timed_out();
                    return false;
                }
            }
        }
    }

    /// Qt: `QAbstractSocket::waitForDisconnected(msecs)`.
    pub(crate) fn wait_for_disconnected(&self, timeout: Option<Duration>) -> bool {
        let deadline = deadline_after(timeout);
        if self.state() == SocketState::Unconnected {
            log::warn!("wait_for_disconnected() is not allowed in UnconnectedState");
            return false;
        }
        if !self.connect_first(timeout) {
            return false;
        }
        while self.state() != SocketState::Unconnected {
            if self.wait_step(deadline).is_none() {
                self.wait_timed_out();
                return false;
            }
        }
        true
    }
}
