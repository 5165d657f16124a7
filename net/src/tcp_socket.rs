//! `TcpSocket` (Qt: `QTcpSocket` with its `QAbstractSocket` base).

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::Duration;

use mio::net::TcpStream;
use sigloop_core::{DeviceError, OpenMode};
use sigloop_signals::{Receiver, Signal};
use socket2::{SockRef, Socket};

use crate::host_address::{HostAddress, NetworkLayerProtocol};
use crate::socket::engine::{ReadSide, SocketCore};
use crate::socket::transport::Transport;
use crate::socket::{
    from_io, text, BindMode, Op, SocketError, SocketOption, SocketState, SocketType,
};

/// A TCP connection driven by the thread's event loop, with Qt's states,
/// signals and buffering.
///
/// `TcpSocket` is a cheap `Clone` handle (an `Rc` inside) bound to the
/// thread that made it. Writes go to a write buffer and are flushed by the
/// loop (`write` never returns short); reads come from a read buffer the
/// loop fills. Every signal is emitted in Qt's order (see the crate docs).
/// Dropping the last handle aborts the connection, as Qt's destructor does;
/// [`delete_later`](Self::delete_later) does so at the loop's next return.
///
/// The read functions (`read`, `read_all`, `read_line`, `peek`, …) come
/// from the [`IoDevice`](sigloop_core::IoDevice) trait.
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
pub struct TcpSocket {
    core: Rc<SocketCore>,
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
        let core = SocketCore::new(SocketType::Tcp);
        TcpSocket {
            core: core.acquire(),
        }
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakTcpSocket`].
    pub fn downgrade(&self) -> WeakTcpSocket {
        WeakTcpSocket {
            core: Rc::downgrade(&self.core),
        }
    }

    // ----- signals -----------------------------------------------------

    /// The host name was resolved (for an IP literal: synchronously inside
    /// `connect_to_host`). Qt: `hostFound()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.host_found().connect(|_| println!("resolved"));
    /// ```
    pub fn host_found(&self) -> &Signal<()> {
        self.core.sig.host_found()
    }

    /// The connection is established, right after `state_changed(Connected)`.
    /// Qt: `connected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.connected().connect(|_| println!("connected"));
    /// ```
    pub fn connected(&self) -> &Signal<()> {
        &self.core.sig.connected
    }

    /// Last in every close sequence, only if the socket had been connected.
    /// Qt: `disconnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.disconnected().connect_to(&socket, |s, _| s.delete_later());
    /// ```
    pub fn disconnected(&self) -> &Signal<()> {
        &self.core.sig.disconnected
    }

    /// Every state change the socket makes. Qt: `stateChanged(SocketState)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.state_changed().connect(|state| println!("{}", state.qt_name()));
    /// ```
    pub fn state_changed(&self) -> &Signal<SocketState> {
        &self.core.sig.state_changed
    }

    /// An error; [`error_string`](Self::error_string) has Qt's text.
    /// Qt: `errorOccurred(SocketError)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.error_occurred().connect_to(&socket, |s, e| {
    ///     eprintln!("{e}: {}", s.error_string());
    /// });
    /// ```
    pub fn error_occurred(&self) -> &Signal<SocketError> {
        &self.core.sig.error_occurred
    }

    /// New bytes arrived in the read buffer. Not emitted again for bytes
    /// already buffered, nor recursively. Qt: `readyRead()`.
    ///
    /// # Examples
    ///
    /// See [`TcpSocket`].
    pub fn ready_read(&self) -> &Signal<()> {
        &self.core.sig.ready_read
    }

    /// One OS write took this many bytes (emitted from the loop, never
    /// from inside `write`). Qt: `bytesWritten(qint64)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.bytes_written().connect(|n| println!("{n} bytes sent"));
    /// ```
    pub fn bytes_written(&self) -> &Signal<u64> {
        &self.core.sig.bytes_written
    }

    /// `close` or `abort` is about to close the device (not emitted on a
    /// remote close). Qt: `aboutToClose()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.about_to_close().connect(|_| println!("closing"));
    /// ```
    pub fn about_to_close(&self) -> &Signal<()> {
        self.core.sig.about_to_close()
    }

    /// The read channel ended, between `state_changed(Unconnected)` and
    /// `disconnected`. Qt: `readChannelFinished()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.read_channel_finished().connect(|_| println!("EOF"));
    /// ```
    pub fn read_channel_finished(&self) -> &Signal<()> {
        self.core.sig.read_channel_finished()
    }

    /// After each `ready_read`, with the channel (always 0: a socket has
    /// one), also when `ready_read` itself is held back as recursive.
    /// Made on first use: costs a socket nothing until connected.
    /// Qt: `channelReadyRead(int)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.channel_ready_read().connect(|channel| assert_eq!(*channel, 0));
    /// ```
    pub fn channel_ready_read(&self) -> &Signal<i32> {
        self.core.sig.channel_ready_read()
    }

    /// After each `bytes_written`, with the channel (always 0) and the
    /// count, also when `bytes_written` itself is held back as recursive.
    /// Made on first use. Qt: `channelBytesWritten(int, qint64)`.
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

    /// Emitted when deleted with [`delete_later`](Self::delete_later).
    /// Qt: `QObject::destroyed()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.destroyed().connect(|_| println!("gone"));
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.core.life.destroyed()
    }

    // ----- connecting and closing -------------------------------------

    /// Connects to `host` (a name or an IP literal) and `port`, opened for
    /// reading and writing, over IPv4 or IPv6.
    ///
    /// Emits `state_changed(HostLookup)`; for a literal also
    /// `state_changed(Connecting)` and `host_found` before it returns. The
    /// rest follows from the loop. While busy, it emits
    /// `error_occurred(Operation)` and changes nothing.
    ///
    /// Qt: `QAbstractSocket::connectToHost(hostName, port)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{SocketState, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.connect_to_host("127.0.0.1", 9);
    /// assert_eq!(socket.state(), SocketState::Connecting);
    /// socket.abort();
    /// ```
    pub fn connect_to_host(&self, host: &str, port: u16) {
        self.connect_to_host_with(
            host,
            port,
            OpenMode::READ_WRITE,
            NetworkLayerProtocol::AnyIP,
        );
    }

    /// [`connect_to_host`](Self::connect_to_host) with an open mode and a
    /// protocol filter for the resolved addresses.
    ///
    /// Qt: `connectToHost(hostName, port, openMode, protocol)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// use sigloop_net::{NetworkLayerProtocol, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.connect_to_host_with("localhost", 9, OpenMode::READ_ONLY, NetworkLayerProtocol::IPv4);
    /// socket.abort();
    /// ```
    pub fn connect_to_host_with(
        &self,
        host: &str,
        port: u16,
        mode: OpenMode,
        protocol: NetworkLayerProtocol,
    ) {
        self.core.connect_to_host(host, port, mode, protocol);
    }

    /// Connects to an address. Qt: `connectToHost(QHostAddress, port)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.connect_to_address(&HostAddress::from(SpecialAddress::LocalHost), 9);
    /// socket.abort();
    /// ```
    pub fn connect_to_address(&self, address: &HostAddress, port: u16) {
        self.connect_to_host(&address.to_string(), port);
    }

    /// Closes gracefully: `Closing`, pending writes flushed, then
    /// `Unconnected`, `read_channel_finished`, `disconnected`. During lookup
    /// or connect the close waits for the connection. The device stays
    /// open, and unread data stays readable.
    ///
    /// Qt: `QAbstractSocket::disconnectFromHost()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.disconnect_from_host(); // unconnected: nothing happens
    /// ```
    pub fn disconnect_from_host(&self) {
        self.core.disconnect_from_host();
    }

    /// `about_to_close`, closes the device (not open from then on, read
    /// buffer dropped), then [`disconnect_from_host`](Self::disconnect_from_host).
    ///
    /// Qt: `QAbstractSocket::close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.close();
    /// assert!(!socket.is_open());
    /// ```
    pub fn close(&self) {
        self.core.close();
    }

    /// Drops pending writes and closes at once, without `Closing`; the peer
    /// sees a normal end of stream.
    ///
    /// Qt: `QAbstractSocket::abort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.connect_to_host("127.0.0.1", 9);
    /// socket.abort();
    /// assert_eq!(socket.state(), sigloop_net::SocketState::Unconnected);
    /// ```
    pub fn abort(&self) {
        self.core.abort();
    }

    /// Binds the socket before it connects, selecting the local address
    /// and port; the state becomes `Bound`.
    ///
    /// Qt: `QAbstractSocket::bind(address, port, mode)`.
    ///
    /// # Errors
    ///
    /// The socket is not `Unconnected` ([`SocketError::Unknown`], with
    /// Qt's warning; `error()` becomes `Unknown`), or the OS refused
    /// (`AddressInUse`, `SocketAddressNotAvailable`, `SocketAccess`, …);
    /// `error_occurred` is emitted in both cases, as in Qt.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, SocketState, SpecialAddress, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.bind(&HostAddress::from(SpecialAddress::LocalHost), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert_eq!(socket.state(), SocketState::Bound);
    /// assert_ne!(socket.local_port(), 0);
    /// ```
    pub fn bind(
        &self,
        address: &HostAddress,
        port: u16,
        mode: BindMode,
    ) -> Result<(), SocketError> {
        if self.state() != SocketState::Unconnected {
            return Err(self.core.refuse_bind());
        }
        let target = address
            .to_socket_addr(port)
            .unwrap_or_else(|| std::net::SocketAddr::from(([0u8; 16], port)));
        let result = crate::socket_util::bind_socket(
            SocketType::Tcp,
            target,
            mode,
            *address == crate::host_address::SpecialAddress::Any,
        );
        match result {
            Ok(socket) => {
                let local = socket
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .map(|a| (HostAddress::from(a.ip()), a.port()))
                    .unwrap_or_default();
                {
                    let mut d = self.core.d.borrow_mut();
                    d.rare_mut().bound = Some(socket);
                    d.set_local(&local.0, local.1);
                }
                self.core.change_state(SocketState::Bound);
                Ok(())
            }
            Err(err) => {
                let (error, text) = from_io(Op::Bind, &err);
                self.core.raise(error, text);
                Err(error)
            }
        }
    }

    // ----- state and errors -------------------------------------------

    /// The state. Qt: `QAbstractSocket::state()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().state(), sigloop_net::SocketState::Unconnected);
    /// ```
    pub fn state(&self) -> SocketState {
        self.core.state()
    }

    /// The last error. Qt: `QAbstractSocket::error()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().error(), sigloop_net::SocketError::Unknown);
    /// ```
    pub fn error(&self) -> SocketError {
        self.core.d.borrow().error
    }

    /// Qt's text for the last error. Qt: `QIODevice::errorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().error_string(), "Unknown error");
    /// ```
    pub fn error_string(&self) -> String {
        self.core.d.borrow().error_string().to_owned()
    }

    /// Always [`SocketType::Tcp`]. Qt: `QAbstractSocket::socketType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().socket_type(), sigloop_net::SocketType::Tcp);
    /// ```
    pub fn socket_type(&self) -> SocketType {
        self.core.kind
    }

    /// Whether the socket has an OS socket (or, without one, is open).
    /// Qt: `QAbstractSocket::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        let d = self.core.d.borrow();
        d.stream.is_some() || d.bound().is_some() || d.open_mode != OpenMode::NOT_OPEN
    }

    /// Whether the device is open. Qt: `QIODevice::isOpen()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        self.core.d.borrow().open_mode != OpenMode::NOT_OPEN
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

    /// The local address while bound or connected, else null.
    /// Qt: `QAbstractSocket::localAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::TcpSocket::new().local_address().is_null());
    /// ```
    pub fn local_address(&self) -> HostAddress {
        self.core.d.borrow().local_address()
    }

    /// The local port, or 0. Qt: `QAbstractSocket::localPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().local_port(), 0);
    /// ```
    pub fn local_port(&self) -> u16 {
        self.core.d.borrow().local.port()
    }

    /// The peer's address while connected, else null.
    /// Qt: `QAbstractSocket::peerAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::TcpSocket::new().peer_address().is_null());
    /// ```
    pub fn peer_address(&self) -> HostAddress {
        self.core.d.borrow().peer_address()
    }

    /// The peer's port, or 0. Qt: `QAbstractSocket::peerPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().peer_port(), 0);
    /// ```
    pub fn peer_port(&self) -> u16 {
        self.core.d.borrow().peer.port()
    }

    /// The host name given to the last `connect_to_host`; it stays after
    /// the socket closes or fails to connect, as in Qt 6.11.
    /// Qt: `QAbstractSocket::peerName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.connect_to_host("localhost", 9);
    /// assert_eq!(socket.peer_name(), "localhost");
    /// socket.abort();
    /// assert_eq!(socket.peer_name(), "localhost");
    /// ```
    pub fn peer_name(&self) -> String {
        self.core.d.borrow().peer_name().to_owned()
    }

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

    /// The OS descriptor, `None` without one (Qt returns -1).
    /// Qt: `QAbstractSocket::socketDescriptor()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().socket_descriptor(), None);
    /// ```
    pub fn socket_descriptor(&self) -> Option<RawFd> {
        let d = self.core.d.borrow();
        d.stream
            .as_ref()
            .map(|s| s.as_raw_fd())
            .or_else(|| d.bound().map(|s| s.as_raw_fd()))
    }

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
            d.write_buf.clear();
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

    /// Sets a socket option on the OS socket. Does nothing without one
    /// (before connect or bind), as in Qt.
    /// Qt: `QAbstractSocket::setSocketOption()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{SocketOption, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.set_socket_option(SocketOption::LowDelay, 1); // no socket yet: ignored
    /// assert_eq!(socket.socket_option(SocketOption::LowDelay), None);
    /// ```
    pub fn set_socket_option(&self, option: SocketOption, value: i32) {
        let d = self.core.d.borrow();
        let socket = match (&d.stream, d.bound()) {
            (Some(stream), _) => SockRef::from(stream),
            (None, Some(bound)) => SockRef::from(bound),
            (None, None) => return,
        };
        if let Err(err) = crate::socket_util::set_option(socket, option, value) {
            log::debug!("set_socket_option({option:?}, {value}) failed: {err}");
        }
    }

    /// Reads a socket option; `None` without an OS socket or if the OS
    /// refuses. Qt: `QAbstractSocket::socketOption()`.
    ///
    /// # Examples
    ///
    /// See [`set_socket_option`](Self::set_socket_option).
    pub fn socket_option(&self, option: SocketOption) -> Option<i32> {
        let d = self.core.d.borrow();
        let socket = match (&d.stream, d.bound()) {
            (Some(stream), _) => SockRef::from(stream),
            (None, Some(bound)) => SockRef::from(bound),
            (None, None) => return None,
        };
        crate::socket_util::get_option(socket, option).ok()
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
    /// [`connect_timeout`](Self::connect_timeout)).
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

    // ----- blocking waits ------------------------------------------------

    /// Blocks until connected or `timeout` (`None`: forever); works with no
    /// loop running. On timeout: `Unconnected`, error `SocketTimeout`
    /// ("Socket operation timed out"), no `error_occurred`.
    /// Qt: `QAbstractSocket::waitForConnected(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.connect_to_host("127.0.0.1", listener.local_addr()?.port());
    /// assert!(socket.wait_for_connected(Some(Duration::from_secs(10))));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_connected(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_connected(timeout)
    }

    /// Blocks until new bytes arrive (`ready_read` is emitted) or `timeout`.
    /// On timeout `error_occurred(SocketTimeout)` is emitted and the socket
    /// stays connected. Qt: `QAbstractSocket::waitForReadyRead(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.connect_to_host("127.0.0.1", listener.local_addr()?.port());
    /// let (mut peer, _) = listener.accept()?;
    /// peer.write_all(b"x")?;
    /// assert!(socket.wait_for_ready_read(Some(Duration::from_secs(10))));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_ready_read(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_ready_read(timeout)
    }

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

    /// Blocks (`true`) or unblocks every signal but `destroyed`; returns
    /// the previous setting. Qt: `QObject::blockSignals()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// assert!(!socket.block_signals(true));
    /// assert!(socket.signals_blocked());
    /// ```
    pub fn block_signals(&self, block: bool) -> bool {
        self.core.block_signals(block)
    }

    /// Whether signals are blocked. Qt: `QObject::signalsBlocked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().signals_blocked());
    /// ```
    pub fn signals_blocked(&self) -> bool {
        self.core.signals_blocked()
    }

    /// Disconnects every signal of this socket from `receiver` (the
    /// connections made with `connect_to` and that receiver); returns how
    /// many. Qt: `QObject::disconnect(socket, nullptr, receiver, nullptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let socket = sigloop_net::TcpSocket::new();
    /// let owner = Rc::new(());
    /// let _c = socket.connected().connect_to(&owner, |_, _| {});
    /// let _d = socket.disconnected().connect_to(&owner, |_, _| {});
    /// assert_eq!(socket.disconnect_receiver(&owner), 2);
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.core.disconnect_receiver(receiver)
    }

    /// Aborts, emits `destroyed` and drops all connections once control
    /// returns to the loop level this is called from. The usual reply to
    /// `disconnected`. Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.delete_later();
    /// EventDispatcher::send_posted_deletes();
    /// assert!(socket.is_deleted());
    /// ```
    pub fn delete_later(&self) {
        let core = self.core.clone();
        self.core.life.delete_later(move || core.delete_now());
    }

    /// Whether [`delete_later`](Self::delete_later) has taken effect.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().is_deleted());
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.core.life.is_deleted()
    }

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
    pub(crate) fn from_accepted(
        stream: TcpStream,
        peer: std::net::SocketAddr,
        local: Option<std::net::SocketAddr>,
    ) -> io::Result<TcpSocket> {
        let mut stream = Transport::Tcp(stream);
        let socket = TcpSocket::new();
        let registration = socket.core.register(&mut stream)?;
        {
            let mut d = socket.core.d.borrow_mut();
            let (local, local_port) = addr_pair(local.map_or_else(|| stream.local_addr(), Ok));
            d.set_local(&local, local_port);
            d.set_peer(&HostAddress::from(peer.ip()), peer.port());
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
/// connected-or-connectable TCP socket.
fn adopt(fd: OwnedFd) -> io::Result<Transport> {
    let socket = Socket::from(fd);
    let ty = socket.r#type()?;
    if ty != socket2::Type::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a stream socket",
        ));
    }
    socket.set_nonblocking(true)?;
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

impl Clone for TcpSocket {
    fn clone(&self) -> Self {
        TcpSocket {
            core: self.core.acquire(),
        }
    }
}

/// Dropping the last application handle destroys the socket as Qt's
/// `delete` does: it aborts (emitting what Qt's destructor emits), emits
/// `destroyed` and drops every connection.
impl Drop for TcpSocket {
    fn drop(&mut self) {
        self.core.release();
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
        let core = self.core.upgrade()?;
        (!core.life.is_deleted()).then(|| TcpSocket {
            core: core.acquire(),
        })
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
        Rc::as_ptr(&self.core) as usize
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
