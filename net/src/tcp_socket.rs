//! `TcpSocket` (Qt: `QTcpSocket` with its `QAbstractSocket` base).

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Weak;
use std::time::Duration;

use mio::net::TcpStream;
use sigloop_core::{DeviceError, OpenMode};
use sigloop_signals::{Receiver, Signal};
use socket2::Socket;

use crate::abstract_socket::AbstractSocket;
use crate::host_address::HostAddress;
use crate::socket::engine::{ReadSide, SocketCore};
use crate::socket::transport::Transport;
use crate::socket::{text, SocketError, SocketState, SocketType};

/// A TCP connection driven by the thread's event loop, with Qt's states,
/// signals and buffering.
///
/// `TcpSocket` is a cheap `Clone` handle (an `Rc` inside) bound to the
/// thread that made it. Writes go to a write buffer and are flushed by the
/// loop (`write` never returns short); reads come from a read buffer the
/// loop fills. Every signal is emitted in Qt's order (see the crate docs).
/// Dropping the last handle destroys the socket as Qt's destructor does
/// (it aborts, with the abort's signals, then `destroyed`);
/// [`delete_later`](AbstractSocket::delete_later) does so at the loop's
/// next return. Unlike Qt, bytes still queued are not lost: the loop goes
/// on sending them for up to [`linger_timeout`](Self::linger_timeout).
///
/// The `QAbstractSocket` part (signals, state and errors, connecting and
/// closing, `bind`, addresses, options, `wait_for_connected`, …) is
/// [`AbstractSocket`]'s, which `TcpSocket` dereferences to: call those
/// methods directly, and pass `&socket` where an `&AbstractSocket` is
/// expected. The read functions (`read`, `read_all`, `read_line`, `peek`,
/// …) come from the [`IoDevice`](sigloop_core::IoDevice) trait.
///
/// Qt: `QTcpSocket`.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use sigloop_core::{EventDispatcher, IoDevice};
/// use sigloop_net::TcpSocket;
///
/// // A plain std server on loopback that says hello.
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// std::thread::spawn(move || {
///     let (mut peer, _) = listener.accept().unwrap();
///     peer.write_all(b"hello").unwrap();
/// });
///
/// let socket = TcpSocket::new();
/// let _c = socket.ready_read().connect_to(&socket, |socket, _| {
///     if socket.bytes_available() >= 5 {
///         assert_eq!(socket.read_all().unwrap(), b"hello");
///         EventDispatcher::exit(0);
///     }
/// });
/// socket.connect_to_host("127.0.0.1", port);
/// assert_eq!(EventDispatcher::exec(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TcpSocket {
    socket: AbstractSocket,
}

/// A weak handle to a [`TcpSocket`].
///
/// # Examples
///
/// ```
/// let socket = sigloop_net::TcpSocket::new();
/// let weak = socket.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(socket);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakTcpSocket {
    core: Weak<SocketCore>,
}

impl TcpSocket {
    /// An unconnected socket: state `Unconnected`, not open, error
    /// `Unknown` ("Unknown error").
    ///
    /// Qt: `QTcpSocket::QTcpSocket()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{SocketError, SocketState, TcpSocket};
    /// let socket = TcpSocket::new();
    /// assert_eq!(socket.state(), SocketState::Unconnected);
    /// assert_eq!(socket.error(), SocketError::Unknown);
    /// assert_eq!(socket.error_string(), "Unknown error");
    /// ```
    pub fn new() -> Self {
        TcpSocket {
            socket: AbstractSocket::new(SocketType::Tcp),
        }
    }

    /// The `TcpSocket` of a socket handle (for `SslSocket`).
    pub(crate) fn from_abstract(socket: AbstractSocket) -> TcpSocket {
        TcpSocket { socket }
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakTcpSocket`].
    pub fn downgrade(&self) -> WeakTcpSocket {
        WeakTcpSocket {
            core: self.core.downgrade(),
        }
    }

    /// After each `bytes_written`, with the channel (always 0) and the
    /// count, also when `bytes_written` itself is held back as recursive.
    /// Made on first use. TCP only: Qt's `QUdpSocket` never emits it.
    /// Qt: `QIODevice::channelBytesWritten(int, qint64)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.channel_bytes_written().connect(|(channel, n)| println!("{channel}: {n}"));
    /// ```
    pub fn channel_bytes_written(&self) -> &Signal<(i32, u64)> {
        self.core.sig.channel_bytes_written()
    }

    // ----- buffers ----------------------------------------------------

    /// Bytes in the write buffer not yet taken by the OS.
    /// Qt: `QAbstractSocket::bytesToWrite()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().bytes_to_write(), 0);
    /// ```
    pub fn bytes_to_write(&self) -> usize {
        self.core.d.borrow().write_buf.len()
    }

    /// The read-buffer limit; 0 means unlimited (the default).
    /// Qt: `QAbstractSocket::readBufferSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().read_buffer_size(), 0);
    /// ```
    pub fn read_buffer_size(&self) -> i64 {
        self.core.d.borrow().read_buffer_size()
    }

    /// Limits the read buffer. At the limit the socket stops reading from
    /// the OS (the peer is slowed by TCP flow control) until the
    /// application reads everything buffered, or the limit is raised or
    /// set to 0. A negative value round-trips as Qt's does and means no
    /// limit. Qt: `QAbstractSocket::setReadBufferSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_read_buffer_size(4096);
    /// assert_eq!(socket.read_buffer_size(), 4096);
    /// ```
    pub fn set_read_buffer_size(&self, size: i64) {
        self.core.set_read_buffer_size(size);
    }

    /// Writes what the OS takes now without blocking; `true` if anything
    /// was written (`bytes_written` is emitted).
    /// Qt: `QAbstractSocket::flush()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().flush());
    /// ```
    pub fn flush(&self) -> bool {
        self.core.flush()
    }

    // ----- addresses ----------------------------------------------------

    /// Sets the reported local address; emits nothing (Qt's protected
    /// setter, for subclass-style code such as proxies).
    /// Qt: `QAbstractSocket::setLocalAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.set_local_address(HostAddress::from(SpecialAddress::LocalHost));
    /// assert!(socket.local_address().is_loopback());
    /// ```
    pub fn set_local_address(&self, address: HostAddress) {
        let mut d = self.core.d.borrow_mut();
        let port = d.local.port();
        d.set_local(&address, port);
    }

    /// Sets the reported local port; emits nothing.
    /// Qt: `QAbstractSocket::setLocalPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_local_port(0xffff);
    /// assert_eq!(socket.local_port(), 0xffff);
    /// ```
    pub fn set_local_port(&self, port: u16) {
        self.core.d.borrow_mut().local.set_port(port);
    }

    /// Sets the reported peer address; emits nothing.
    /// Qt: `QAbstractSocket::setPeerAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.set_peer_address(HostAddress::from(SpecialAddress::LocalHostIPv6));
    /// assert!(socket.peer_address().is_loopback());
    /// ```
    pub fn set_peer_address(&self, address: HostAddress) {
        let mut d = self.core.d.borrow_mut();
        let port = d.peer.port();
        d.set_peer(&address, port);
    }

    /// Sets the reported peer port; emits nothing.
    /// Qt: `QAbstractSocket::setPeerPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_peer_port(80);
    /// assert_eq!(socket.peer_port(), 80);
    /// ```
    pub fn set_peer_port(&self, port: u16) {
        self.core.d.borrow_mut().peer.set_port(port);
    }

    /// Sets the reported peer name; emits nothing.
    /// Qt: `QAbstractSocket::setPeerName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_peer_name("example.invalid");
    /// assert_eq!(socket.peer_name(), "example.invalid");
    /// ```
    pub fn set_peer_name(&self, name: &str) {
        self.core.d.borrow_mut().rare_mut().peer_name = name.to_owned();
    }

    // ----- descriptors and options -------------------------------------

    /// Adopts a connected TCP socket (for instance one a server handed to
    /// a worker thread) in `state` with `mode`. Buffers are reset;
    /// `state_changed` is emitted only if the state changes; no
    /// `connected`.
    ///
    /// Qt: `QAbstractSocket::setSocketDescriptor(fd, state, mode)`.
    ///
    /// # Errors
    ///
    /// [`SocketError::UnsupportedSocketOperation`] ("Operation on socket is
    /// not supported") if `fd` is not a socket, or the loop refuses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// use sigloop_net::{SocketState, TcpSocket};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let socket = TcpSocket::new();
    /// socket.set_socket_descriptor(client.into(), SocketState::Connected, OpenMode::READ_WRITE).unwrap();
    /// assert_eq!(socket.state(), SocketState::Connected);
    /// assert_eq!(socket.peer_port(), listener.local_addr()?.port());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_socket_descriptor(
        &self,
        fd: OwnedFd,
        state: SocketState,
        mode: OpenMode,
    ) -> Result<(), SocketError> {
        let adopted = adopt(fd).and_then(|mut stream| {
            let registration = self.core.register(&mut stream)?;
            Ok((stream, registration))
        });
        let (stream, registration) = match adopted {
            Ok(pair) => pair,
            Err(err) => {
                log::warn!("TcpSocket::set_socket_descriptor: {err}");
                // Qt's setError: recorded, not emitted.
                self.core
                    .set_error(SocketError::UnsupportedSocketOperation, text::UNSUPPORTED);
                return Err(SocketError::UnsupportedSocketOperation);
            }
        };
        self.core.stop_connecting();
        let changed = {
            let mut d = self.core.d.borrow_mut();
            let (local, local_port) = addr_pair(stream.local_addr());
            let (peer, peer_port) = addr_pair(stream.peer_addr());
            d.set_local(&local, local_port);
            d.set_peer(&peer, peer_port);
            d.stream = Some(stream);
            d.registration = Some(registration);
            d.read_buf.clear();
            d.clear_write_buf();
            d.open_mode = mode;
            d.writable = true;
            d.read_side = ReadSide::Ready;
            d.state != state
        };
        if changed {
            self.core.change_state(state);
        } else {
            self.core.d.borrow_mut().state = state;
        }
        self.core.schedule(crate::socket::engine::WORK_READ);
        Ok(())
    }

    /// The time each connect attempt may take (30 s, Qt's fixed value).
    /// An extension: Qt has no setter.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// assert_eq!(socket.connect_timeout(), std::time::Duration::from_secs(30));
    /// ```
    pub fn connect_timeout(&self) -> Duration {
        self.core.d.borrow().connect_timeout()
    }

    /// Sets the per-attempt connect timeout (an extension; see
    /// [`connect_timeout`](Self::connect_timeout)). `Duration::MAX` means
    /// no timeout: an attempt waits until the OS gives up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_connect_timeout(Duration::from_secs(5));
    /// assert_eq!(socket.connect_timeout(), Duration::from_secs(5));
    /// ```
    pub fn set_connect_timeout(&self, timeout: Duration) {
        self.core.d.borrow_mut().rare_mut().connect_timeout = timeout;
    }

    /// How long the socket may go on sending after it is deleted (its
    /// last handle dropped, or [`delete_later`](AbstractSocket::delete_later)):
    /// 30 s unless set. An extension: Qt discards the write buffer when a
    /// socket is deleted.
    ///
    /// Deleting a socket that is `Connected` or `Closing` with bytes still
    /// in its write buffer shows the application what Qt's `delete` shows
    /// (the abort's signals, `destroyed`, connections dropped), but the OS
    /// socket and those bytes stay with the thread's loop, which sends
    /// them and then closes as [`disconnect_from_host`](AbstractSocket::disconnect_from_host)
    /// does: the peer gets every byte `write` accepted, then end of
    /// stream. A write error ends it early; when the timeout passes first
    /// the connection is reset. The loop must keep running for this.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// assert_eq!(socket.linger_timeout(), std::time::Duration::from_secs(30));
    /// ```
    pub fn linger_timeout(&self) -> Duration {
        self.core.d.borrow().linger_timeout()
    }

    /// Sets how long the socket may go on sending after it is deleted
    /// (see [`linger_timeout`](Self::linger_timeout)). `Duration::ZERO`
    /// restores Qt's behaviour: deletion discards what is still queued.
    /// `Duration::MAX` means no bound: until the bytes are sent or a write
    /// fails. To discard queued bytes once, call
    /// [`abort`](AbstractSocket::abort) before dropping the socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_linger_timeout(Duration::ZERO); // Qt: delete discards
    /// assert_eq!(socket.linger_timeout(), Duration::ZERO);
    /// ```
    pub fn set_linger_timeout(&self, timeout: Duration) {
        self.core.d.borrow_mut().rare_mut().linger_timeout = timeout;
    }

    // ----- blocking waits ------------------------------------------------

    /// Blocks until one OS write took data (`bytes_written` is emitted) or
    /// `timeout`. `false` at once if nothing is buffered.
    /// Qt: `QAbstractSocket::waitForBytesWritten(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::IoDevice;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.connect_to_host("127.0.0.1", listener.local_addr()?.port());
    /// socket.write(b"ping").unwrap();
    /// assert!(socket.wait_for_bytes_written(Some(Duration::from_secs(10))));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_bytes_written(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_bytes_written(timeout)
    }

    /// Blocks until the socket is `Unconnected` or `timeout`.
    /// Qt: `QAbstractSocket::waitForDisconnected(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.connect_to_host("127.0.0.1", listener.local_addr()?.port());
    /// let (peer, _) = listener.accept()?;
    /// drop(peer); // the peer closes
    /// assert!(socket.wait_for_disconnected(Some(Duration::from_secs(10))));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_disconnected(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_disconnected(timeout)
    }

    // ----- object -------------------------------------------------------

    /// Destroys the socket now, as Qt's `delete` does (abort with its
    /// signals, `destroyed`, connections dropped), whoever holds handles:
    /// a server's `close` deletes its pending connections this way.
    pub(crate) fn delete_now(&self) {
        self.core.delete_now();
    }

    /// Makes `parent` keep this socket alive until it is deleted.
    pub(crate) fn set_parent(&self, parent: Weak<crate::tcp_server::ServerCore>, key: u32) {
        let mut d = self.core.d.borrow_mut();
        d.parent = Some(parent);
        d.parent_key = key;
    }

    /// A socket for a connection a server accepted: `Connected`, open for
    /// reading and writing, no signals emitted (Qt's `incomingConnection`).
    ///
    /// `peer` is what `accept` returned; `local`, when the server knows it
    /// (it listens on a specific address), spares asking the socket:
    /// Qt's `fetchConnectionParameters` costs two system calls per
    /// connection otherwise.
    ///
    /// A Unix-domain connection (a `LocalServer`'s) has no `peer` address.
    pub(crate) fn from_accepted(
        mut stream: Transport,
        peer: Option<std::net::SocketAddr>,
        local: Option<std::net::SocketAddr>,
    ) -> io::Result<TcpSocket> {
        let socket = TcpSocket::new();
        let registration = socket.core.register(&mut stream)?;
        {
            let mut d = socket.core.d.borrow_mut();
            let (local, local_port) = addr_pair(local.map_or_else(|| stream.local_addr(), Ok));
            d.set_local(&local, local_port);
            if let Some(peer) = peer {
                d.set_peer(&HostAddress::from(peer.ip()), peer.port());
            }
            d.stream = Some(stream);
            d.registration = Some(registration);
            d.open_mode = OpenMode::READ_WRITE;
            d.writable = true;
            d.read_side = ReadSide::Ready;
            d.state = SocketState::Connected;
        }
        // Data that came before the registration needs no look of its
        // own: registering a ready socket reports it at the next poll
        // (epoll_ctl and kevent check readiness when a source is added).
        Ok(socket)
    }
}

/// Turns an owned fd into a non-blocking mio stream, checking it is a
/// connected-or-connectable stream socket: TCP, or Unix-domain (how a
/// `LocalSocket` hands its connection to the shared engine).
pub(crate) fn adopt(fd: OwnedFd) -> io::Result<Transport> {
    let socket = Socket::from(fd);
    let ty = socket.r#type()?;
    if ty != socket2::Type::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a stream socket",
        ));
    }
    socket.set_nonblocking(true)?;
    if socket.domain()? == socket2::Domain::UNIX {
        let stream = std::os::unix::net::UnixStream::from(OwnedFd::from(socket));
        return Ok(Transport::Unix(mio::net::UnixStream::from_std(stream)));
    }
    Ok(Transport::Tcp(TcpStream::from_std(
        std::net::TcpStream::from(socket),
    )))
}

fn addr_pair(addr: io::Result<std::net::SocketAddr>) -> (HostAddress, u16) {
    match addr {
        Ok(a) => (HostAddress::from(a.ip()), a.port()),
        Err(_) => (HostAddress::default(), 0),
    }
}

/// The `QAbstractSocket` surface, shared by every socket type: see
/// [`AbstractSocket`].
impl std::ops::Deref for TcpSocket {
    type Target = AbstractSocket;

    fn deref(&self) -> &AbstractSocket {
        &self.socket
    }
}

impl Default for TcpSocket {
    fn default() -> Self {
        TcpSocket::new()
    }
}

impl WeakTcpSocket {
    /// The socket, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakTcpSocket`].
    pub fn upgrade(&self) -> Option<TcpSocket> {
        AbstractSocket::upgrade_core(&self.core).map(|socket| TcpSocket { socket })
    }
}

impl Receiver for TcpSocket {
    type Weak = WeakTcpSocket;

    fn downgrade(&self) -> WeakTcpSocket {
        TcpSocket::downgrade(self)
    }

    fn upgrade(weak: &WeakTcpSocket) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        self.core.as_ptr() as usize
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("state", &self.state())
            .field("peer", &self.peer_name())
            .field("peer_port", &self.peer_port())
            .finish()
    }
}

impl fmt::Debug for WeakTcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakTcpSocket")
    }
}

/// The `QIODevice` side of the socket: reads come from the read buffer,
/// writes go to the write buffer (see [`TcpSocket`]).
impl sigloop_core::IoDevice for TcpSocket {
    fn open_mode(&self) -> OpenMode {
        self.core.d.borrow().open_mode
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let (n, buffered) = {
            let mut d = self.core.d.borrow_mut();
            check_readable(d.open_mode)?;
            let buffered = d.read_buf.len();
            (d.read_buf.read_into(buf), buffered)
        };
        self.core.after_app_read(buf.len(), buffered);
        Ok(n)
    }

    /// As the trait's `read_raw` (same bytes, same resume rule), but a
    /// buffer chunk that holds exactly the bytes asked for is handed over
    /// instead of being copied into a zeroed vector: `read_all` after each
    /// `ready_read` usually takes one whole chunk.
    fn read_raw(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        let (out, buffered) = {
            let mut d = self.core.d.borrow_mut();
            check_readable(d.open_mode)?;
            let buffered = d.read_buf.len();
            (d.read_buf.read_vec(max), buffered)
        };
        self.core.after_app_read(max.min(buffered), buffered);
        Ok(out)
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let d = self.core.d.borrow();
        check_readable(d.open_mode)?;
        Ok(d.read_buf.peek_into(buf))
    }

    fn write(&self, data: &[u8]) -> Result<usize, DeviceError> {
        self.core.write(data)
    }

    /// As the trait's `write_vec`, but a vector of 512 bytes or more joins
    /// the write buffer as it is, without a copy.
    fn write_vec(&self, data: Vec<u8>) -> Result<usize, DeviceError> {
        self.core.write_vec(data)
    }

    fn bytes_available(&self) -> usize {
        self.core.d.borrow().read_buf.len()
    }

    fn bytes_to_write(&self) -> usize {
        TcpSocket::bytes_to_write(self)
    }

    fn unget_char(&self, c: u8) {
        self.core.d.borrow_mut().read_buf.unget(c);
    }

    fn start_transaction(&self) {
        self.core.d.borrow_mut().read_buf.start_transaction();
    }

    fn commit_transaction(&self) {
        self.core.d.borrow_mut().read_buf.commit_transaction();
    }

    fn rollback_transaction(&self) {
        self.core.d.borrow_mut().read_buf.rollback_transaction();
    }

    fn is_transaction_started(&self) -> bool {
        self.core.d.borrow().read_buf.is_transaction_started()
    }

    fn is_sequential(&self) -> bool {
        true
    }

    fn index_of_newline(&self, max: usize) -> Option<usize> {
        self.core.d.borrow().read_buf.index_of(b'\n', max)
    }
}

fn check_readable(mode: OpenMode) -> Result<(), DeviceError> {
    if mode == OpenMode::NOT_OPEN {
        return Err(DeviceError::NotOpen);
    }
    if !mode.contains(OpenMode::READ_ONLY) {
        return Err(DeviceError::NotReadable);
    }
    Ok(())
}

/// The async reads and writes come from the read buffer and go to the
/// write buffer, as `IoDevice`'s calls (see [`crate::async_io`]).
impl crate::async_io::AsyncDevice for TcpSocket {
    fn async_socket(&self) -> &AbstractSocket {
        &self.socket
    }
}

crate::async_io::async_device!(TcpSocket);
