//! Moving bytes: the read buffer filled from the OS, the write buffer
//! flushed to it, and Qt's buffer rules (`QAbstractSocket::readyRead()`,
//! `bytesWritten()`, `setReadBufferSize()`).
//!
//! mio is edge-triggered, so the read side reads until `WouldBlock`, or
//! until the fairness budget or the read-buffer limit stops it; in those
//! two cases it remembers that the OS may hold more ([`ReadSide`]) instead
//! of waiting for an edge that will not come. Nothing stalls (a stopped
//! read resumes by itself or when the application drains the buffer) and
//! nothing spins (a full buffer ignores further edges).

use std::cell::Cell;
use std::io;

use sigloop_core::OpenMode;

use super::engine::{ReadSide, SocketCore, READ_BUDGET, READ_CHUNK, WORK_FLUSH, WORK_READ};
use super::{from_io, text, Op, SocketError, SocketState};

/// What one read pass saw.
enum ReadEnd {
    /// `WouldBlock`: the OS is drained.
    Drained,
    /// The budget or the buffer limit stopped the pass.
    Stopped,
    /// End of file.
    Eof,
    /// An error other than `WouldBlock`.
    Failed(io::Error),
}

/// What a read shorter than the room offered means.
///
/// A stream socket's short read took everything the kernel held at that
/// moment (epoll(7): "for stream-oriented files ... if read(2) returns a
/// lower number of bytes, you can be sure of having exhausted the read I/O
/// space"). Over edge-triggered readiness it is then safe to stop without
/// the read that would only return `EAGAIN`: bytes or an end of stream that
/// arrive later raise a new edge. Two cases need that extra read: an event
/// that already reported the read side closed (the FIN came before the
/// poll returned, so no later edge announces it), and one that reported
/// urgent data (`EPOLLPRI`): a read stops short at the urgent mark with
/// bytes still queued behind it. Reads not driven by an event (scheduled
/// work, waits) also read on, as they know nothing of the edge. The echo benchmark's ping-pong makes one system call fewer per
/// message this way.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ShortRead {
    /// The kernel is drained: stop.
    Drained,
    /// Read again until `EAGAIN` or the end of the stream.
    ReadOn,
}

impl SocketCore {
    /// Room left under the read-buffer limit (`None`: unlimited).
    fn read_room(&self) -> Option<usize> {
        let d = self.d.borrow();
        match d.read_buffer_size() {
            limit if limit > 0 => {
                Some((limit as u64).saturating_sub(d.read_buf.len() as u64) as usize)
            }
            _ => None,
        }
    }

    /// Reads what the OS has, within the budget and the limit; emits
    /// `ready_read` for new bytes and handles EOF. Returns the bytes taken
    /// from the OS, including those a WriteOnly socket discarded: they are
    /// not announced, but a wait reports them (Qt's `canReadNotification`
    /// returns `!isReadable()` for them).
    pub(crate) fn read_now(&self) -> usize {
        self.read_with(ShortRead::ReadOn)
    }

    /// [`read_now`](Self::read_now) for a readiness event from the loop
    /// that did not report the read side closed: a short read ends the
    /// pass (see [`ShortRead`]).
    pub(crate) fn read_on_event(&self) -> usize {
        self.read_with(ShortRead::Drained)
    }

    fn read_with(&self, short: ShortRead) -> usize {
        // Datagrams are never read into the stream buffer (`datagram.rs`).
        if self.state() != SocketState::Connected || self.kind == super::SocketType::Udp {
            return 0;
        }
        // An `SslSocket` in its handshake reads for the handshake (see
        // `tls.rs`); once encrypted, a short read of plaintext says
        // nothing about the OS, so the pass reads on.
        let (short, tls) = match self.tls_read_route() {
            None => (short, false),
            Some(super::tls::ReadRoute::Handshake) => return self.tls_handshake_read(),
            Some(super::tls::ReadRoute::Nothing) => return 0,
            Some(super::tls::ReadRoute::Plaintext) => (ShortRead::ReadOn, true),
        };
        let (total, end) = self.read_pass(short);
        if tls {
            self.tls_after_read();
        }
        let readable = self.d.borrow().open_mode.contains(OpenMode::READ_ONLY);
        if total > 0 && readable {
            // The end of the stream came with these bytes: should a slot
            // panic, the next batch reads again to find it, or the socket
            // would stay connected with no event left to tell it.
            let _unwind = ReadAgainOnUnwind {
                core: self,
                armed: matches!(end, ReadEnd::Eof | ReadEnd::Failed(_)),
            };
            self.emit_ready_read();
        }
        match end {
            ReadEnd::Drained | ReadEnd::Stopped => {}
            ReadEnd::Eof => {
                if self.state() == SocketState::Connected {
                    // A proxy's tunnel has its own text, and so does a TLS
                    // session the peer ended.
                    let text = self
                        .tls_closed_text()
                        .unwrap_or_else(|| self.remote_closed_text());
                    self.remote_closed(SocketError::RemoteHostClosed, text.into());
                }
            }
            ReadEnd::Failed(err) => {
                if self.state() == SocketState::Connected {
                    let (error, text) = self
                        .tls_read_failed(&err)
                        .unwrap_or_else(|| from_io(Op::Read, &err));
                    self.remote_closed(error, text);
                }
            }
        }
        total
    }

    /// Marks the read side ready again and schedules a read.
    fn read_again(&self) {
        {
            let mut d = self.d.borrow_mut();
            if d.read_side == ReadSide::Off {
                return;
            }
            d.read_side = ReadSide::Ready;
        }
        self.schedule(WORK_READ);
    }

    /// The read loop proper; holds the borrow only while no user code runs.
    fn read_pass(&self, short: ShortRead) -> (usize, ReadEnd) {
        let mut total = 0;
        loop {
            let room = self.read_room();
            let mut guard = self.d.borrow_mut();
            let d = &mut *guard;
            match d.read_side {
                ReadSide::Ready => {}
                ReadSide::Paused | ReadSide::Drained | ReadSide::Off => {
                    return (total, ReadEnd::Stopped)
                }
            }
            if room == Some(0) {
                d.read_side = ReadSide::Paused;
                return (total, ReadEnd::Stopped);
            }
            if total >= READ_BUDGET {
                drop(guard);
                self.schedule(WORK_READ);
                return (total, ReadEnd::Stopped);
            }
            let want = room.unwrap_or(READ_CHUNK).min(READ_CHUNK);
            let hint = d.read_hint();
            let discard = !d.open_mode.contains(OpenMode::READ_ONLY);
            let (stream, tls, read_buf) = d.read_parts();
            let Some(stream) = stream else {
                return (total, ReadEnd::Stopped);
            };
            let mut offered = 0;
            let result = read_buf.with_hint(hint).fill_from(want, |buf| {
                offered = buf.len();
                match tls {
                    // Plaintext out of the TLS layer, which reads the OS.
                    Some(tls) => tls.read_plaintext(stream, buf),
                    None => stream.read(buf),
                }
            });
            if discard {
                // WriteOnly: Qt reads and drops the input.
                d.read_buf.clear();
            }
            match result {
                Ok(0) => {
                    d.read_side = ReadSide::Drained;
                    return (total, ReadEnd::Eof);
                }
                Ok(n) if n < offered && short == ShortRead::Drained => {
                    d.read_side = ReadSide::Drained;
                    // Only a WriteOnly socket's queue is empty here.
                    d.release_read_buf();
                    return (total + n, ReadEnd::Drained);
                }
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    d.read_side = ReadSide::Drained;
                    // A pass that found nothing (a new connection's first
                    // readiness, a spurious edge) must not leave an empty
                    // boxed queue on an idle socket.
                    d.release_read_buf();
                    return (total, ReadEnd::Drained);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    d.read_side = ReadSide::Drained;
                    return (total, ReadEnd::Failed(e));
                }
            }
        }
    }

    /// Emits `ready_read` unless a `ready_read` slot is already running
    /// (Qt never emits it recursively).
    pub(crate) fn emit_ready_read(&self) {
        if !self.in_ready_read.replace(true) {
            let _reset = Reset(&self.in_ready_read);
            self.sig.ready_read.emit(&());
        }
        // Qt emits this one recursively too.
        self.sig.emit_channel_ready_read();
    }

    /// Called after the application consumed from the read buffer:
    /// `requested` is what it asked for, `buffered` what was there.
    /// Qt resumes reading when a read asks for at least everything
    /// buffered (it then calls `readData`), never on a partial read.
    pub(crate) fn after_app_read(&self, requested: usize, buffered: usize) {
        self.d.borrow_mut().release_read_buf();
        if requested >= buffered {
            self.resume_reading();
        }
    }

    /// Restarts a paused read side.
    pub(crate) fn resume_reading(&self) {
        let resume = {
            let mut d = self.d.borrow_mut();
            if d.read_side == ReadSide::Paused {
                d.read_side = ReadSide::Ready;
                true
            } else {
                false
            }
        };
        if resume {
            self.schedule(WORK_READ);
        }
    }

    /// Qt: `setReadBufferSize`: raising the limit above what is buffered
    /// (or removing it) resumes reading.
    pub(crate) fn set_read_buffer_size(&self, size: i64) {
        let resume = {
            let mut d = self.d.borrow_mut();
            if size != 0 || d.rare().is_some() {
                d.rare_mut().read_buffer_size = size;
            }
            size <= 0 || (d.read_buf.len() as u64) < size as u64
        };
        if resume {
            self.resume_reading();
        }
    }

    /// Qt: `QAbstractSocket::writeData`: append, flush from the loop.
    pub(crate) fn write(&self, data: &[u8]) -> Result<usize, sigloop_core::DeviceError> {
        self.write_bytes(std::borrow::Cow::Borrowed(data))
    }

    /// As [`write`](Self::write), but the write buffer adopts the vector
    /// (when it is not tiny) instead of copying it.
    pub(crate) fn write_vec(&self, data: Vec<u8>) -> Result<usize, sigloop_core::DeviceError> {
        self.write_bytes(std::borrow::Cow::Owned(data))
    }

    fn write_bytes(
        &self,
        data: std::borrow::Cow<'_, [u8]>,
    ) -> Result<usize, sigloop_core::DeviceError> {
        use sigloop_core::DeviceError;
        let (state, mode) = {
            let d = self.d.borrow();
            (d.state, d.open_mode)
        };
        if mode == OpenMode::NOT_OPEN {
            log::warn!("TcpSocket::write: device not open");
            return Err(DeviceError::NotOpen);
        }
        if !mode.contains(OpenMode::WRITE_ONLY) {
            log::warn!("TcpSocket::write: ReadOnly device");
            return Err(DeviceError::NotWritable);
        }
        if matches!(state, SocketState::Unconnected | SocketState::Bound) {
            self.set_error(SocketError::Unknown, text::NOT_CONNECTED);
            return Err(DeviceError::NotConnected);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let len = data.len();
        // An `SslSocket`'s bytes always go through the TLS layer.
        let direct = if mode.contains(OpenMode::UNBUFFERED)
            && state == SocketState::Connected
            && !self.tls_carries_stream()
        {
            self.write_direct(&data)?
        } else {
            0
        };
        if direct < len {
            match data {
                std::borrow::Cow::Owned(vec) if direct == 0 => {
                    self.d.borrow_mut().write_buf.append_vec(vec);
                }
                data => self.d.borrow_mut().write_buf.append(&data[direct..]),
            }
            if matches!(state, SocketState::Connected | SocketState::Closing) {
                self.schedule(WORK_FLUSH);
            }
        }
        Ok(len)
    }

    /// Unbuffered mode: one direct OS write when nothing is queued.
    fn write_direct(&self, data: &[u8]) -> Result<usize, sigloop_core::DeviceError> {
        let result = {
            let mut guard = self.d.borrow_mut();
            let d = &mut *guard;
            if !d.write_buf.is_empty() || !d.writable {
                return Ok(0);
            }
            match d.stream.as_mut() {
                Some(stream) => stream.write(data),
                None => return Ok(0),
            }
        };
        match result {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.d.borrow_mut().writable = false;
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => {
                let (error, text) = from_io(Op::Write, &e);
                self.write_failed(error, text);
                Err(sigloop_core::DeviceError::NotConnected)
            }
        }
    }

    /// Writes the buffer while the OS takes it, emitting `bytes_written`
    /// after each OS write; finishes a pending close once empty. Returns the
    /// bytes written.
    ///
    /// Deliberately unlike Qt, which writes one block per write notification
    /// (`QAbstractSocketPrivate::canWriteNotification()`): the stream is
    /// edge-triggered, so stopping before `WouldBlock` would need a
    /// re-registration to hear of the room again. Totals are the same;
    /// `bytes_written` may come in fewer, larger steps.
    pub(crate) fn flush_now(&self) -> usize {
        if self.tls_carries_stream() {
            return self.tls_flush();
        }
        let mut total = 0;
        loop {
            if !matches!(self.state(), SocketState::Connected | SocketState::Closing) {
                return total;
            }
            let result = {
                let mut guard = self.d.borrow_mut();
                let d = &mut *guard;
                if d.write_buf.is_empty() || !d.writable {
                    break;
                }
                let Some(stream) = d.stream.as_mut() else {
                    break;
                };
                let result = stream.write(d.write_buf.front_chunk());
                match &result {
                    Ok(n) => d.write_buf.consume(*n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => d.writable = false,
                    Err(_) => {}
                }
                result
            };
            match result {
                Ok(n) => {
                    total += n;
                    self.emit_bytes_written(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let (error, text) = from_io(Op::Write, &e);
                    self.write_failed(error, text);
                    return total;
                }
            }
        }
        let closing = {
            let mut d = self.d.borrow_mut();
            // Give the buffer's memory back once it is flushed.
            let _ = d.write_buf.release_if_empty();
            d.state == SocketState::Closing && d.write_buf.is_empty()
        };
        if closing {
            self.finish_close();
        }
        total
    }

    pub(crate) fn emit_bytes_written(&self, n: u64) {
        if !self.in_bytes_written.replace(true) {
            let _reset = Reset(&self.in_bytes_written);
            self.sig.bytes_written.emit(&n);
        }
        // Qt emits this one recursively too.
        self.sig.emit_channel_bytes_written(n);
    }

    /// Qt: `QAbstractSocket::flush()`: write what the OS takes now.
    pub(crate) fn flush(&self) -> bool {
        self.flush_now() > 0
    }
}

/// See [`SocketCore::read_with`]: reads again from the next batch if a
/// `ready_read` slot unwinds past the end of the stream.
struct ReadAgainOnUnwind<'a> {
    core: &'a SocketCore,
    armed: bool,
}

impl Drop for ReadAgainOnUnwind<'_> {
    fn drop(&mut self) {
        if self.armed && std::thread::panicking() {
            self.core.read_again();
        }
    }
}

/// Clears a "slot running" flag when the emission ends, or unwinds.
pub(crate) struct Reset<'a>(pub(crate) &'a Cell<bool>);

impl Drop for Reset<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}
