//! `AbstractSocket` (Qt: `QAbstractSocket`): the surface every socket
//! type shares, in one place.
//!
//! # Why a handle that the socket types dereference to
//!
//! Qt's `QTcpSocket` and `QUdpSocket` inherit `QAbstractSocket`'s
//! states, signals, connect and close calls, addresses, options and
//! blocking waits. Here those methods live once, on [`AbstractSocket`],
//! and [`TcpSocket`](crate::TcpSocket) and [`UdpSocket`](crate::UdpSocket)
//! implement `Deref<Target = AbstractSocket>`:
//!
//! - calls read as in Qt and need no import: `socket.state()`,
//!   `socket.connected().connect(…)`, `socket.abort()` work on a
//!   `TcpSocket` as they did;
//! - code written for any socket takes `&AbstractSocket` (Qt's
//!   `QAbstractSocket *`), and `&TcpSocket` coerces to it;
//! - rustdoc lists the shared methods on each type's page ("Methods from
//!   `Deref<Target = AbstractSocket>`"), so there is one text to keep
//!   right.
//!
//! A trait with provided methods would need an import at every call site
//! and could not hand out a `&Signal` without exposing the socket's
//! internals through the trait; a generic `Socket<Kind>` would show
//! `Socket<Tcp>` in every error message and signature where a Qt porter
//! expects `TcpSocket`.
//!
//! # How a socket type plugs in
//!
//! A new type holds an `AbstractSocket` made with
//! [`AbstractSocket::new`] for its [`SocketType`], implements `Deref` to
//! it, and adds its own methods and its `IoDevice` implementation on top
//! of the same engine (`crate::socket`). Cloning and dropping follow the
//! shared `Handle` rule: the last handle going is Qt's `delete`. A type
//! whose Qt class derives from `QTcpSocket` (`QSslSocket`) dereferences
//! to [`TcpSocket`](crate::TcpSocket) instead, and so gets both layers.
//! A type with its own state and error enums (`QLocalSocket`, whose Unix
//! implementation drives a `QAbstractSocket` engine) holds an
//! `AbstractSocket` privately instead of dereferencing to it, and maps the
//! states, errors and signals onto its own.

use std::fmt;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::Duration;

use sigloop_core::__private::Handle;
use sigloop_core::OpenMode;
use sigloop_signals::{Receiver, Signal};
use socket2::SockRef;

use crate::host_address::{HostAddress, NetworkLayerProtocol, SpecialAddress};
use crate::proxy::{NetworkProxy, ProxyAuthenticationRequest};
use crate::socket::engine::SocketCore;
use crate::socket::{
    from_io, BindMode, ConnectPolicy, Op, SocketError, SocketOption, SocketState, SocketType,
};

/// The part of a socket that every socket type shares: state, error,
/// signals, connecting and closing, binding, addresses, options, blocking
/// waits and deletion.
///
/// [`TcpSocket`](crate::TcpSocket) and [`UdpSocket`](crate::UdpSocket)
/// dereference to it, so its methods are called on them directly; a
/// function that works with any socket takes `&AbstractSocket`. It is a
/// cheap `Clone` handle like the socket types: the last handle going away
/// destroys the socket as Qt's `delete` does.
///
/// Qt: `QAbstractSocket`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{AbstractSocket, SocketState, TcpSocket, UdpSocket};
///
/// fn describe(socket: &AbstractSocket) -> String {
///     format!("{:?} socket, {}", socket.socket_type(), socket.state().qt_name())
/// }
///
/// let tcp = TcpSocket::new();
/// let udp = UdpSocket::new();
/// assert_eq!(describe(&tcp), "Tcp socket, UnconnectedState");
/// assert_eq!(describe(&udp), "Udp socket, UnconnectedState");
/// assert_eq!(tcp.state(), SocketState::Unconnected); // no import needed
/// ```
#[derive(Clone)]
pub struct AbstractSocket {
    pub(crate) core: Handle<SocketCore>,
}

/// A weak handle to an [`AbstractSocket`].
///
/// # Examples
///
/// ```
/// let socket = sigloop_net::TcpSocket::new();
/// let weak = sigloop_net::AbstractSocket::downgrade(&socket);
/// assert!(weak.upgrade().is_some());
/// drop(socket);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakAbstractSocket {
    core: Weak<SocketCore>,
}

impl AbstractSocket {
    /// A new socket of `kind`, with one counted handle.
    pub(crate) fn new(kind: SocketType) -> Self {
        AbstractSocket {
            core: Handle::new(SocketCore::new(kind)),
        }
    }

    /// A counted handle to an existing socket, if it was not deleted.
    pub(crate) fn upgrade_core(core: &Weak<SocketCore>) -> Option<Self> {
        Handle::upgrade(core).map(|core| AbstractSocket { core })
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakAbstractSocket`].
    pub fn downgrade(&self) -> WeakAbstractSocket {
        WeakAbstractSocket {
            core: self.core.downgrade(),
        }
    }

    // ----- signals -----------------------------------------------------

    /// The host name was resolved (for an IP literal: synchronously inside
    /// `connect_to_host`). Qt: `QAbstractSocket::hostFound()`.
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
    /// For UDP, `connect_to_host` only records the peer, so this comes
    /// synchronously for an IP literal. Qt: `QAbstractSocket::connected()`.
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

    /// Last in every close sequence, only if the socket had been connected
    /// (for UDP: only in a close that went through `Closing`, that is
    /// `close` or `disconnect_from_host` on a bound or connected socket).
    /// Qt: `QAbstractSocket::disconnected()`.
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

    /// Every state change the socket makes (UDP: `Bound` once per
    /// successful bind or auto-bind).
    /// Qt: `QAbstractSocket::stateChanged(SocketState)`.
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
    /// Qt: `QAbstractSocket::errorOccurred(SocketError)`.
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
    /// already buffered, nor recursively. For UDP: a datagram (or a
    /// pending error) arrived; not emitted again until a datagram is read,
    /// after a read it comes again from the loop if more wait.
    /// Qt: `QIODevice::readyRead()`.
    ///
    /// # Examples
    ///
    /// See [`TcpSocket`](crate::TcpSocket) and [`UdpSocket`](crate::UdpSocket).
    pub fn ready_read(&self) -> &Signal<()> {
        &self.core.sig.ready_read
    }

    /// One OS write took this many bytes (emitted from the loop, never
    /// from inside `write`). For UDP: a datagram of this many bytes was
    /// sent, emitted synchronously from inside `write_datagram` (and a
    /// connected `write`). Qt: `QIODevice::bytesWritten(qint64)`.
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

    /// `close` or `abort` is about to close the open device (not emitted
    /// on a remote close, nor for a UDP socket that was only bound).
    /// Qt: `QIODevice::aboutToClose()`.
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
    /// `disconnected`. Qt: `QIODevice::readChannelFinished()`.
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
    /// Qt: `QIODevice::channelReadyRead(int)`.
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

    /// Emitted when deleted with [`delete_later`](Self::delete_later).
    /// A proxy asked for credentials. A slot fills them in on the
    /// [`ProxyAuthenticationRequest`] and the connect retries with them
    /// (SOCKS5: on a new connection to the proxy; HTTP: on the same one if
    /// the proxy keeps it open); without them the connect fails with
    /// [`SocketError::ProxyAuthenticationRequired`].
    ///
    /// Qt: `QAbstractSocket::proxyAuthenticationRequired(proxy, authenticator)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.proxy_authentication_required().connect(|request| {
    ///     request.set_credentials("alice", "secret");
    /// });
    /// ```
    pub fn proxy_authentication_required(&self) -> &Signal<ProxyAuthenticationRequest> {
        self.core.sig.proxy_authentication_required()
    }

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

    // ----- connecting and closing --------------------------------------

    /// Connects to `host` (a name or an IP literal) and `port`, opened for
    /// reading and writing, over IPv4 or IPv6.
    ///
    /// Emits `state_changed(HostLookup)`; for a literal also
    /// `state_changed(Connecting)` and `host_found` before it returns. The
    /// rest follows from the loop. While busy, it emits
    /// `error_occurred(Operation)` and changes nothing.
    ///
    /// A UDP socket then only talks to that peer, and `read`/`write` move
    /// one datagram each; for a literal the whole sequence, up to
    /// `connected`, is synchronous. A bound UDP socket keeps its
    /// descriptor and local port.
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
        if self.core.kind == SocketType::Udp {
            self.core.datagram_prepare_connect();
        }
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

    /// How the next [`connect_to_host`](Self::connect_to_host) tries the
    /// addresses a name resolves to: [`ConnectPolicy::Sequential`] (Qt's,
    /// the default) or [`ConnectPolicy::HappyEyeballs`] (RFC 8305).
    ///
    /// The race changes only which address is connected and how soon;
    /// the signals and states are Qt's (one `host_found`, one
    /// `connected`). The [connect timeout](crate::TcpSocket::set_connect_timeout)
    /// bounds each attempt from its start, as it does each sequential
    /// attempt; when every attempt fails the error is the last failure's.
    /// The policy applies to direct TCP connects only: through a proxy
    /// (the proxy connects to the target), on a
    /// [`UdpSocket`](crate::UdpSocket) (a connect only records the peer)
    /// and on a socket bound before it connects (one OS socket), the
    /// connect stays sequential. A connect already under way keeps the
    /// policy it started with.
    ///
    /// No Qt counterpart.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{ConnectPolicy, SocketState, TcpSocket};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let socket = TcpSocket::new();
    /// socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    /// socket.connect_to_host("localhost", listener.local_addr()?.port());
    /// assert!(socket.wait_for_connected(Some(std::time::Duration::from_secs(10))));
    /// assert_eq!(socket.state(), SocketState::Connected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_connect_policy(&self, policy: ConnectPolicy) {
        let mut d = self.core.d.borrow_mut();
        if policy != ConnectPolicy::Sequential || d.rare().is_some() {
            d.rare_mut().connect_policy = policy;
        }
    }

    /// The policy set with [`set_connect_policy`](Self::set_connect_policy).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{ConnectPolicy, TcpSocket};
    /// assert_eq!(TcpSocket::new().connect_policy(), ConnectPolicy::Sequential);
    /// ```
    pub fn connect_policy(&self) -> ConnectPolicy {
        self.core.d.borrow().connect_policy()
    }

    /// Closes gracefully: `Closing`, pending writes flushed, then
    /// `Unconnected`, `read_channel_finished`, `disconnected`. During lookup
    /// or connect the close waits for the connection. The device stays
    /// open, and unread data stays readable. A bound or connected UDP
    /// socket goes through `Closing` to `Unconnected` at once.
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

    /// Drops pending writes and closes at once, without `Closing`:
    /// `about_to_close` (if open), `state_changed(Unconnected)`,
    /// `read_channel_finished`, and `disconnected` if it was connected. A
    /// TCP peer sees a normal end of stream.
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

    /// Binds the socket to `address` and `port` (0: any free port): a TCP
    /// socket before it connects, to select its local end; a UDP socket to
    /// receive datagrams (announced with `ready_read`; the socket is not
    /// opened as a device). The state becomes `Bound`
    /// (`state_changed(Bound)`).
    ///
    /// Qt's Unix [`BindMode`] rules apply: `SHARE_ADDRESS` or
    /// `REUSE_ADDRESS_HINT` set `SO_REUSEADDR`, another non-default mode
    /// clears it, the default leaves it. [`SpecialAddress::Any`] binds dual
    /// stack (IPv4 and IPv6), `AnyIPv4`/`AnyIPv6` one family.
    ///
    /// Qt: `QAbstractSocket::bind(address, port, mode)`.
    ///
    /// # Errors
    ///
    /// The OS refused: `AddressInUse` ("The bound address is already in
    /// use"), `SocketAddressNotAvailable`, `SocketAccess`, …, after
    /// `error_occurred`. A socket that is not `Unconnected` (already bound
    /// or connected): a warning, `error_occurred(Unknown)`, `error()` left
    /// `Unknown` ("Unknown error") and `Err(Unknown)`, as Qt does.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, SocketError, SocketState, SpecialAddress, TcpSocket, UdpSocket};
    /// let socket = TcpSocket::new();
    /// socket.bind(&HostAddress::from(SpecialAddress::LocalHost), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert_eq!(socket.state(), SocketState::Bound);
    /// assert_ne!(socket.local_port(), 0);
    ///
    /// let a = UdpSocket::new();
    /// a.bind(&HostAddress::from(SpecialAddress::LocalHost), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// let b = UdpSocket::new();
    /// let taken = b.bind(&HostAddress::from(SpecialAddress::LocalHost), a.local_port(), BindMode::DEFAULT_FOR_PLATFORM);
    /// assert_eq!(taken, Err(SocketError::AddressInUse));
    /// assert_eq!(b.error_string(), "The bound address is already in use");
    /// ```
    pub fn bind(
        &self,
        address: &HostAddress,
        port: u16,
        mode: BindMode,
    ) -> Result<(), SocketError> {
        if self.core.kind == SocketType::Udp {
            return self.core.bind_datagram(address, port, mode);
        }
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

    /// Binds to the dual-stack Any address and `port`.
    ///
    /// Qt: `QAbstractSocket::bind(port, mode)`.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::SHARE_ADDRESS).unwrap();
    /// assert_eq!(socket.local_address().to_string(), "0.0.0.0");
    /// assert_ne!(socket.local_port(), 0);
    /// ```
    pub fn bind_port(&self, port: u16, mode: BindMode) -> Result<(), SocketError> {
        self.bind(&HostAddress::from(SpecialAddress::Any), port, mode)
    }

    // ----- proxy ---------------------------------------------------------

    /// Sets the proxy for the next connect.
    ///
    /// A proxy of type [`ProxyType::Default`](crate::ProxyType::Default) (the default) means: ask the
    /// application settings ([`proxy_for_query`](crate::proxy::proxy_for_query), which never
    /// proxies `localhost` or a loopback literal). Any other proxy is used
    /// as is, even for loopback; [`NetworkProxy::no_proxy`] connects
    /// directly. A proxy without the capability the socket needs
    /// (`TUNNELING` for TCP) makes `connect_to_host` fail with
    /// [`SocketError::UnsupportedSocketOperation`], as does every proxy for
    /// a [`UdpSocket`](crate::UdpSocket) for now (SOCKS5 `UDP ASSOCIATE` is
    /// not wired to sockets yet).
    ///
    /// Through SOCKS5 or HTTP `CONNECT`, a host name is given to the proxy
    /// to resolve when the proxy has `HOST_NAME_LOOKUP` (the socket goes
    /// from `HostLookup` to `Connecting` with no `host_found`); the socket
    /// stays `Connecting` until the proxy has opened the tunnel.
    ///
    /// Qt: `QAbstractSocket::setProxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType, TcpSocket};
    ///
    /// let socket = TcpSocket::new();
    /// socket.set_proxy(NetworkProxy::from_url("socks5h://alice:secret@127.0.0.1:1080").unwrap());
    /// assert_eq!(socket.proxy().proxy_type(), ProxyType::Socks5);
    /// ```
    pub fn set_proxy(&self, proxy: NetworkProxy) {
        self.core.set_proxy(proxy);
    }

    /// The proxy set with [`set_proxy`](Self::set_proxy) (type
    /// [`ProxyType::Default`](crate::ProxyType::Default) if none).
    ///
    /// Qt: `QAbstractSocket::proxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{ProxyType, TcpSocket};
    /// assert_eq!(TcpSocket::new().proxy().proxy_type(), ProxyType::Default);
    /// ```
    pub fn proxy(&self) -> NetworkProxy {
        self.core.proxy()
    }

    // ----- write back-pressure -------------------------------------------

    /// `bytes_to_write` rose above the high water mark (see
    /// [`set_write_buffer_water_marks`](Self::set_write_buffer_water_marks)),
    /// with the bytes now waiting. Emitted from inside the `write` that
    /// crossed the mark (or the `set_write_buffer_water_marks` call that
    /// lowered it), so the writer can stop reading its source before its
    /// next write. Not emitted again until
    /// [`low_water_reached`](Self::low_water_reached) has been. Made on first
    /// use.
    ///
    /// No Qt counterpart: Qt's write buffer grows without limit, and a Qt
    /// application polls `bytesToWrite()` from `bytesWritten`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_core::IoDevice;
    /// use sigloop_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new();
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// socket.connect_to_host("127.0.0.1", listener.local_addr()?.port());
    /// socket.set_write_buffer_water_marks(1024, 4096);
    /// let full = Rc::new(Cell::new(0));
    /// let seen = full.clone();
    /// let _c = socket.high_water_reached().connect(move |waiting| seen.set(*waiting));
    /// socket.write(&[0; 5000]).unwrap(); // still connecting: all buffered
    /// assert_eq!(full.get(), 5000);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn high_water_reached(&self) -> &Signal<u64> {
        self.core.sig.high_water_reached()
    }

    /// After [`high_water_reached`](Self::high_water_reached), the write
    /// buffer drained to the low water mark or below, with the bytes still
    /// waiting: time to resume reading the source. Emitted from the loop,
    /// after the `bytes_written` of the OS write that drained it (or from
    /// the call that raised the marks or removed them). A buffer dropped
    /// by `abort`, `close` or a new connect resets the marks silently:
    /// `disconnected` tells the application. Made on first use.
    ///
    /// No Qt counterpart; see [`high_water_reached`](Self::high_water_reached).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// let _c = socket.low_water_reached().connect(|waiting| println!("{waiting} left: resume"));
    /// ```
    pub fn low_water_reached(&self) -> &Signal<u64> {
        self.core.sig.low_water_reached()
    }

    /// Turns on write back-pressure: [`high_water_reached`](Self::high_water_reached)
    /// once more than `high` bytes wait to be written,
    /// [`low_water_reached`](Self::low_water_reached) once at most `low`
    /// are left. `low` above `high` is taken as `high`; any value is
    /// ordinary (`usize::MAX` as `high` never crosses; `0, 0` signals
    /// "something waits" and "all sent"). Nothing is limited: `write`
    /// still takes everything, the signals tell the application when to
    /// stop and resume producing.
    ///
    /// Setting new marks keeps whether the socket was above the old ones
    /// and announces, from this call, a crossing the new ones make (a
    /// buffer above a lowered high mark emits `high_water_reached`; one at
    /// or below a raised low mark emits `low_water_reached`).
    ///
    /// A [`UdpSocket`](crate::UdpSocket) has no write buffer: the marks
    /// never cross.
    ///
    /// No Qt counterpart (Qt: `QAbstractSocket::bytesToWrite()` polled from
    /// `bytesWritten()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_write_buffer_water_marks(64 * 1024, 256 * 1024);
    /// assert_eq!(socket.write_buffer_water_marks(), Some((64 * 1024, 256 * 1024)));
    /// socket.set_write_buffer_water_marks(10, 5); // low capped at high
    /// assert_eq!(socket.write_buffer_water_marks(), Some((5, 5)));
    /// ```
    pub fn set_write_buffer_water_marks(&self, low: usize, high: usize) {
        self.core.set_water_marks(low, high);
    }

    /// The water marks as `(low, high)`, `None` if none are set (the
    /// default, as in Qt).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpSocket::new().write_buffer_water_marks(), None);
    /// ```
    pub fn write_buffer_water_marks(&self) -> Option<(usize, usize)> {
        self.core.water_marks()
    }

    /// Removes the water marks. A socket above the high mark emits
    /// [`low_water_reached`](Self::low_water_reached) first, so a source
    /// paused on it is not left waiting for a signal that no longer comes.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::TcpSocket::new();
    /// socket.set_write_buffer_water_marks(0, 1);
    /// socket.clear_write_buffer_water_marks();
    /// assert_eq!(socket.write_buffer_water_marks(), None);
    /// ```
    pub fn clear_write_buffer_water_marks(&self) {
        self.core.clear_water_marks();
    }

    // ----- state and errors --------------------------------------------

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

    /// Whether the socket has an OS socket (TCP: or, without one, is
    /// open; UDP: bound or connected). Qt: `QAbstractSocket::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        if self.core.kind == SocketType::Udp {
            return self.core.has_datagram_socket();
        }
        let d = self.core.d.borrow();
        d.stream.is_some() || d.bound().is_some() || d.open_mode != OpenMode::NOT_OPEN
    }

    /// Whether the device is open (a UDP socket after `connect_to_host`;
    /// `bind` does not open it). Qt: `QIODevice::isOpen()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpSocket::new().is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        self.core.d.borrow().open_mode != OpenMode::NOT_OPEN
    }

    // ----- addresses ---------------------------------------------------

    /// The local address while bound or connected (`0.0.0.0` for the
    /// dual-stack Any), else null.
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

    /// Sets a socket option on the OS socket. Does nothing without one
    /// (before connect or bind), as in Qt. On a dual-stack or IPv6 UDP
    /// socket the multicast options are the IPv6 ones.
    /// Qt: `QAbstractSocket::setSocketOption()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{SocketOption, TcpSocket};
    /// let socket = TcpSocket::new();
    /// socket.set_socket_option(SocketOption::LowDelay, 1); // no socket yet: ignored
    /// assert_eq!(socket.socket_option(SocketOption::LowDelay), None);
    ///
    /// use sigloop_net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind(&HostAddress::from(SpecialAddress::AnyIPv4), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// socket.set_socket_option(SocketOption::MulticastTtl, 4);
    /// assert_eq!(socket.socket_option(SocketOption::MulticastTtl), Some(4));
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

    // ----- blocking waits ----------------------------------------------

    /// Blocks until connected or `timeout` (`None`: forever); works with no
    /// loop running. On timeout: `Unconnected`, error `SocketTimeout`
    /// ("Socket operation timed out"), no `error_occurred`. A UDP socket
    /// connected to a literal is connected at once; one connecting to a
    /// name finishes its lookup.
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

    /// Blocks until new bytes arrive (`ready_read` is emitted) or `timeout`;
    /// works with no loop running. On timeout
    /// `error_occurred(SocketTimeout)` is emitted and the socket stays
    /// connected. For UDP: until a datagram (or error) can be read; a
    /// `ready_read` is emitted unless one is already pending, and the
    /// timeout's text is "Network operation timed out".
    /// Qt: `QAbstractSocket::waitForReadyRead(msecs)`.
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

    // ----- object ------------------------------------------------------

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
    /// `disconnected`. A TCP socket's queued bytes are still sent (see
    /// [`TcpSocket::linger_timeout`](crate::TcpSocket::linger_timeout)).
    /// Qt: `QObject::deleteLater()`.
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
        let core = Rc::clone(self.core.rc());
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
}

impl WeakAbstractSocket {
    /// The socket, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakAbstractSocket`].
    pub fn upgrade(&self) -> Option<AbstractSocket> {
        AbstractSocket::upgrade_core(&self.core)
    }
}

impl Receiver for AbstractSocket {
    type Weak = WeakAbstractSocket;

    fn downgrade(&self) -> WeakAbstractSocket {
        AbstractSocket::downgrade(self)
    }

    fn upgrade(weak: &WeakAbstractSocket) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        self.core.as_ptr() as usize
    }
}

impl fmt::Debug for AbstractSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbstractSocket")
            .field("type", &self.socket_type())
            .field("state", &self.state())
            .field("local_port", &self.local_port())
            .field("peer_port", &self.peer_port())
            .finish()
    }
}

impl fmt::Debug for WeakAbstractSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakAbstractSocket")
    }
}

#[cfg(test)]
mod tests {
    /// The socket types stay one pointer: the shared surface adds nothing
    /// to a handle, and the socket itself stays one allocation.
    #[test]
    fn handles_are_one_pointer() {
        use std::mem::size_of;
        assert_eq!(size_of::<super::AbstractSocket>(), size_of::<usize>());
        assert_eq!(size_of::<crate::TcpSocket>(), size_of::<usize>());
        assert_eq!(size_of::<crate::UdpSocket>(), size_of::<usize>());
    }
}
