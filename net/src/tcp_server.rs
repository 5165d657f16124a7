//! `TcpServer` (Qt: `QTcpServer`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::Interest;
use sigloop_core::__private::{Handle, IoHandler, IoRegistration, Lifecycle, Object, Readiness};
use sigloop_core::EventDispatcher;
use sigloop_signals::{Receiver, Signal};
use socket2::Socket;

use crate::host_address::{HostAddress, SpecialAddress};
use crate::proxy::{
    self, NetworkProxy, NetworkProxyQuery, ProxyAddress, ProxyCapabilities, ProxyType, QueryType,
};
use crate::socket::{from_io, poll_fd, text, BindMode, Op, SocketError, SocketState, Want};
use crate::tcp_socket::TcpSocket;

/// What the server does with an accepted connection's fd instead of
/// making a [`TcpSocket`]; see [`TcpServer::set_incoming_connection_handler`].
type IncomingHandler = Box<dyn FnMut(OwnedFd)>;

/// Accepts TCP connections on the thread's event loop.
///
/// Each accepted connection becomes a connected [`TcpSocket`] in the
/// pending queue, announced by [`pending_connection_available`](Self::pending_connection_available)
/// and then [`new_connection`](Self::new_connection); take it with
/// [`next_pending_connection`](Self::next_pending_connection). When
/// [`max_pending_connections`](Self::max_pending_connections) sockets wait
/// in the queue, accepting pauses (the kernel backlog keeps queueing) until
/// one is taken.
///
/// An accept error (most often `EMFILE`: the process is out of
/// descriptors) pauses accepting and emits
/// [`accept_error`](Self::accept_error), as in Qt. The server then takes no
/// connection, while [`is_listening`](Self::is_listening) stays true, until
/// [`resume_accepting`](Self::resume_accepting). Resume after a delay (see
/// [`accept_error`](Self::accept_error)): resuming at once while
/// descriptors are still exhausted fails again at once, over and over, at
/// full CPU.
///
/// Cloning counts one more handle; dropping the last one destroys the
/// server as Qt's `delete` does : it closes, deletes the
/// connections it accepted that the application did not keep, emits
/// `destroyed` and drops every connection.
///
/// Qt: `QTcpServer`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{EventDispatcher, IoDevice};
/// use sigloop_net::{HostAddress, SpecialAddress, TcpServer};
///
/// let server = TcpServer::new();
/// server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0).unwrap();
/// let port = server.server_port();
/// let _c = server.new_connection().connect_to(&server, |server, _| {
///     let socket = server.next_pending_connection().unwrap();
///     socket.write(b"hi").unwrap();
///     socket.disconnect_from_host();
///     EventDispatcher::exit(0);
/// });
/// let client = std::net::TcpStream::connect(("127.0.0.1", port))?;
/// assert_eq!(EventDispatcher::exec(), 0);
/// # drop(client);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct TcpServer {
    core: Handle<ServerCore>,
}

/// A weak handle to a [`TcpServer`].
///
/// # Examples
///
/// ```
/// let server = sigloop_net::TcpServer::new();
/// assert!(server.downgrade().upgrade().is_some());
/// ```
#[derive(Clone)]
pub struct WeakTcpServer {
    core: Weak<ServerCore>,
}

pub(crate) struct ServerCore {
    this: Weak<ServerCore>,
    d: RefCell<ServerData>,
    new_connection: Signal<()>,
    pending_connection_available: Signal<()>,
    accept_error: Signal<SocketError>,
    incoming: RefCell<Option<IncomingHandler>>,
    /// Every socket the server accepted and the application has not
    /// deleted: Qt parents them to the server, so a slot may take one with
    /// `next_pending_connection` and keep no handle of its own.
    children: RefCell<slab::Slab<TcpSocket>>,
    accept_scheduled: Cell<bool>,
    life: Lifecycle,
}

/// Whether the server takes connections from the kernel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Accepting {
    /// Not listening.
    Off,
    /// Accepting.
    On,
    /// Listening, but not accepting (paused by the application, by an
    /// accept error, or by a full pending queue).
    Paused,
}

struct ServerData {
    listener: Option<TcpListener>,
    registration: Option<IoRegistration>,
    pending: VecDeque<TcpSocket>,
    max_pending: usize,
    backlog: i32,
    accepting: Accepting,
    /// Paused by the application or an error (not by the queue).
    user_paused: bool,
    address: HostAddress,
    port: u16,
    error: SocketError,
    error_string: std::borrow::Cow<'static, str>,
    /// The proxy setting and a listen through a proxy; boxed, so a plain
    /// server pays one pointer.
    proxy: Option<Box<ServerProxy>>,
}

/// A server's proxy: what `set_proxy` set and the `BIND` under way.
#[derive(Default)]
struct ServerProxy {
    /// What `set_proxy` set (`Default`: ask the application settings).
    configured: NetworkProxy,
    /// The control connection of the `BIND` under way; it becomes the
    /// accepted connection when the peer connects.
    bind: Option<TcpSocket>,
    /// The server's slots on `bind`'s signals.
    slots: Vec<sigloop_signals::Connection>,
}

/// How `listen` goes: Qt's `QTcpServer::listen` picks the proxy first.
enum Route {
    Direct,
    Socks5(NetworkProxy),
}

/// Qt's time limit for the proxy's answer to `BIND` in `listen`.
const PROXY_LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

impl TcpServer {
    /// A server that is not listening.
    /// Qt: `QTcpServer::QTcpServer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// assert!(!server.is_listening());
    /// assert_eq!(server.max_pending_connections(), 30);
    /// assert_eq!(server.listen_backlog_size(), 50);
    /// ```
    pub fn new() -> Self {
        let core = Rc::new_cyclic(|this| ServerCore {
            this: this.clone(),
            d: RefCell::new(ServerData {
                listener: None,
                registration: None,
                pending: VecDeque::new(),
                max_pending: 30,
                backlog: 50,
                accepting: Accepting::Off,
                user_paused: false,
                address: HostAddress::default(),
                port: 0,
                error: SocketError::Unknown,
                // Qt's server starts with an empty text, not "Unknown error".
                error_string: std::borrow::Cow::Borrowed(""),
                proxy: None,
            }),
            new_connection: Signal::new(),
            pending_connection_available: Signal::new(),
            accept_error: Signal::new(),
            incoming: RefCell::new(None),
            children: RefCell::new(slab::Slab::new()),
            accept_scheduled: Cell::new(false),
            life: Lifecycle::new(),
        });
        TcpServer {
            core: Handle::new(core),
        }
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakTcpServer`].
    pub fn downgrade(&self) -> WeakTcpServer {
        WeakTcpServer {
            core: self.core.downgrade(),
        }
    }

    /// Emitted for every accepted connection, after it was queued (or
    /// handed to the incoming-connection handler).
    /// Qt: `QTcpServer::newConnection()`.
    ///
    /// # Examples
    ///
    /// See [`TcpServer`].
    pub fn new_connection(&self) -> &Signal<()> {
        &self.core.new_connection
    }

    /// Emitted when a socket is added to the pending queue, before
    /// `new_connection`. Qt: `QTcpServer::pendingConnectionAvailable()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// let _c = server.pending_connection_available().connect(|_| println!("queued"));
    /// ```
    pub fn pending_connection_available(&self) -> &Signal<()> {
        &self.core.pending_connection_available
    }

    /// Emitted when `accept` fails; accepting is paused first and stays
    /// paused until [`resume_accepting`](Self::resume_accepting).
    /// Qt: `QTcpServer::acceptError(SocketError)`.
    ///
    /// The usual cause is descriptor exhaustion (`EMFILE`,
    /// [`SocketError::SocketResource`]), which lasts until connections
    /// close. Resume after a short back-off, as below: resuming from the
    /// slot itself fails again at once while descriptors are exhausted, and
    /// the server spins at full CPU.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::Timer;
    /// use sigloop_net::TcpServer;
    ///
    /// let server = TcpServer::new();
    /// let _c = server.accept_error().connect_to(&server, |server, error| {
    ///     eprintln!("accept failed: {error}: {}", server.error_string());
    ///     // Qt: QTimer::singleShot(100, &server, &QTcpServer::resumeAccepting)
    ///     Timer::single_shot_to(server, Duration::from_millis(100), TcpServer::resume_accepting);
    /// });
    /// ```
    pub fn accept_error(&self) -> &Signal<SocketError> {
        &self.core.accept_error
    }

    /// Emitted when deleted with [`delete_later`](Self::delete_later).
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// let _c = server.destroyed().connect(|_| println!("gone"));
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.core.life.destroyed()
    }

    /// Disconnects every signal of this server from `receiver`; returns how
    /// many connections that broke.
    /// Qt: `QObject::disconnect(server, nullptr, receiver, nullptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let server = sigloop_net::TcpServer::new();
    /// let owner = Rc::new(());
    /// let _c = server.new_connection().connect_to(&owner, |_, _| {});
    /// assert_eq!(server.disconnect_receiver(&owner), 1);
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        let core = &self.core;
        core.new_connection.disconnect_receiver(receiver)
            + core
                .pending_connection_available
                .disconnect_receiver(receiver)
            + core.accept_error.disconnect_receiver(receiver)
            + core.life.destroyed().disconnect_receiver(receiver)
    }

    /// Listens on `address` and `port` (0 picks a free port).
    /// [`SpecialAddress::Any`] is dual-stack (IPv6 and IPv4). Address reuse
    /// (`SO_REUSEADDR`) is set first, as Qt does on Unix, so a port in
    /// `TIME_WAIT` can be listened on again.
    ///
    /// Qt: `QTcpServer::listen(address, port)`.
    ///
    /// # Errors
    ///
    /// Already listening ([`SocketError::Operation`], with Qt's warning),
    /// or the OS refused: `AddressInUse`, `SocketAddressNotAvailable`,
    /// `SocketAccess`, `SocketResource`. [`server_error`](Self::server_error)
    /// and [`error_string`](Self::error_string) tell the same; no signal is
    /// emitted.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress, TcpServer};
    /// let server = TcpServer::new();
    /// server.listen(&HostAddress::from(SpecialAddress::Any), 0).unwrap();
    /// assert!(server.is_listening());
    /// assert_ne!(server.server_port(), 0);
    /// ```
    pub fn listen(&self, address: &HostAddress, port: u16) -> Result<(), SocketError> {
        if self.is_listening() {
            log::warn!("TcpServer::listen() called when already listening");
            return Err(SocketError::Operation);
        }
        match self.core.route(port) {
            Some(Route::Direct) => {}
            Some(Route::Socks5(proxy)) => return self.listen_through_proxy(proxy, address, port),
            None => {
                self.core
                    .set_error(SocketError::UnsupportedSocketOperation, text::UNSUPPORTED);
                return Err(SocketError::UnsupportedSocketOperation);
            }
        }
        let dual_stack = *address == SpecialAddress::Any;
        let target = address
            .to_socket_addr(port)
            .unwrap_or_else(|| SocketAddr::from(([0u8; 16], port)));
        let backlog = self.core.d.borrow().backlog;
        let result = crate::socket_util::bind_socket(
            crate::socket::SocketType::Tcp,
            target,
            BindMode::REUSE_ADDRESS_HINT,
            dual_stack,
        )
        .and_then(|socket| {
            socket.listen(backlog)?;
            Ok(socket)
        });
        match result {
            Ok(socket) => self.adopt_listener(socket, dual_stack),
            Err(err) => {
                let (error, text) = from_io(Op::Bind, &err);
                self.core.set_error(error, text);
                Err(error)
            }
        }
    }

    /// Qt: `QSocks5SocketEngine`'s listen: a SOCKS5 `BIND` over a control
    /// connection, waited for here as Qt does; the server then reports
    /// where the proxy listens.
    fn listen_through_proxy(
        &self,
        proxy: NetworkProxy,
        address: &HostAddress,
        port: u16,
    ) -> Result<(), SocketError> {
        // Qt asks for the address it was given; Any is IPv4's here, as a
        // SOCKS5 request names one family.
        let host = match address.ip() {
            Some(ip) if *address != SpecialAddress::Any => ip.to_string(),
            _ => "0.0.0.0".to_owned(),
        };
        let socket = TcpSocket::new();
        socket.core.listen_through_proxy(proxy, &host, port);
        let bound = socket.core.wait_for_proxy_bound(PROXY_LISTEN_TIMEOUT);
        let bound = bound.then(|| socket.core.proxy_bound_address()).flatten();
        let Some(bound) = bound else {
            let error = socket.error();
            self.core.set_error(error, socket.error_string());
            socket.abort();
            return Err(error);
        };
        let slots = self.core.watch_bind(&socket);
        let peer_came = socket.state() == SocketState::Connected;
        {
            let mut d = self.core.d.borrow_mut();
            let (address, port) = match &bound {
                ProxyAddress::Ip(a) => (HostAddress::from(a.ip()), a.port()),
                ProxyAddress::Domain(_, port) => (HostAddress::default(), *port),
            };
            d.address = address;
            d.port = port;
            d.accepting = Accepting::On;
            d.user_paused = false;
            let state = d.proxy.get_or_insert_with(Box::default);
            state.bind = Some(socket);
            state.slots = slots;
        }
        if peer_came {
            // The peer connected before `listen` returned: announced from
            // the loop, as Qt's queued read notification does.
            let this = self.core.this.clone();
            EventDispatcher::post(move || {
                if let Some(server) = this.upgrade() {
                    server.bind_peer_connected();
                }
            });
        }
        Ok(())
    }

    /// Sets the proxy for the next [`listen`](Self::listen). The default,
    /// [`ProxyType::Default`], takes the application proxy (or factory)
    /// for a `TcpServer` query; [`ProxyType::NoProxy`] listens directly.
    /// Only a SOCKS5 proxy can listen (its `BIND`): with one without
    /// [`ProxyCapabilities::LISTENING`], `listen` fails with
    /// [`SocketError::UnsupportedSocketOperation`].
    ///
    /// Through SOCKS5, `listen` waits (up to 30 s, as Qt) for the proxy's
    /// first `BIND` reply; [`server_address`](Self::server_address) and
    /// [`server_port`](Self::server_port) are then where the proxy
    /// listens. The proxy accepts exactly one connection: it becomes a
    /// connected [`TcpSocket`] (its stream is the control connection, its
    /// peer the address the proxy reported) announced by `new_connection`,
    /// and the server stops listening.
    ///
    /// Qt: `QTcpServer::setProxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType, TcpServer};
    ///
    /// let server = TcpServer::new();
    /// server.set_proxy(NetworkProxy::from_url("socks5://127.0.0.1:1080").unwrap());
    /// assert_eq!(server.proxy().proxy_type(), ProxyType::Socks5);
    /// ```
    pub fn set_proxy(&self, proxy: NetworkProxy) {
        let mut d = self.core.d.borrow_mut();
        if proxy.proxy_type() == ProxyType::Default && d.proxy.is_none() {
            return;
        }
        d.proxy.get_or_insert_with(Box::default).configured = proxy;
    }

    /// The proxy set with [`set_proxy`](Self::set_proxy) (type
    /// [`ProxyType::Default`] if none). Qt: `QTcpServer::proxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{ProxyType, TcpServer};
    /// assert_eq!(TcpServer::new().proxy().proxy_type(), ProxyType::Default);
    /// ```
    pub fn proxy(&self) -> NetworkProxy {
        self.core
            .d
            .borrow()
            .proxy
            .as_ref()
            .map(|p| p.configured.clone())
            .unwrap_or_default()
    }

    fn adopt_listener(&self, socket: Socket, dual_stack: bool) -> Result<(), SocketError> {
        let local = socket.local_addr().ok().and_then(|a| a.as_socket());
        let mut listener = TcpListener::from_std(std::net::TcpListener::from(socket));
        let handler: Weak<dyn IoHandler> = self.core.this.clone();
        let registration =
            match IoRegistration::register(&mut listener, Interest::READABLE, handler) {
                Ok(registration) => registration,
                Err(err) => {
                    let (error, text) = from_io(Op::Create, &err);
                    self.core.set_error(error, text);
                    return Err(error);
                }
            };
        let mut d = self.core.d.borrow_mut();
        d.listener = Some(listener);
        d.registration = Some(registration);
        d.accepting = Accepting::On;
        d.user_paused = false;
        d.port = local.map_or(0, |a| a.port());
        d.address = match (dual_stack, local) {
            (true, _) => HostAddress::from(SpecialAddress::Any),
            (false, Some(a)) => HostAddress::from(a.ip()),
            (false, None) => HostAddress::default(),
        };
        Ok(())
    }

    /// Stops listening and drops every pending connection that was not
    /// taken. Qt: `QTcpServer::close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress, TcpServer};
    /// let server = TcpServer::new();
    /// server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0).unwrap();
    /// server.close();
    /// assert!(!server.is_listening());
    /// assert_eq!(server.server_port(), 0);
    /// assert!(server.server_address().is_null());
    /// ```
    pub fn close(&self) {
        self.core.close();
    }

    /// Whether the server listens. Qt: `QTcpServer::isListening()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpServer::new().is_listening());
    /// ```
    pub fn is_listening(&self) -> bool {
        self.core.d.borrow().accepting != Accepting::Off
    }

    /// The next accepted connection, or `None`. Taking one from a full
    /// queue resumes accepting.
    ///
    /// As in Qt, the server owns the sockets it accepted: one stays alive
    /// after the caller drops its handle, until [`TcpSocket::delete_later`](crate::AbstractSocket::delete_later)
    /// (the usual reply to `disconnected`) or the server's destruction.
    ///
    /// Qt: `QTcpServer::nextPendingConnection()`.
    ///
    /// # Examples
    ///
    /// See [`TcpServer`].
    pub fn next_pending_connection(&self) -> Option<TcpSocket> {
        let socket = self.core.d.borrow_mut().pending.pop_front()?;
        self.core.maybe_resume();
        Some(socket)
    }

    /// Makes the server keep `socket` alive until it is deleted, as it
    /// does the sockets it accepts itself (Qt: parented to the server).
    /// For `SslServer`, which adopts each connection into an `SslSocket`.
    pub(crate) fn adopt_child(&self, socket: &TcpSocket) {
        let key = self.core.children.borrow_mut().insert(socket.clone());
        let key = u32::try_from(key).unwrap_or(u32::MAX);
        socket.set_parent(self.core.this.clone(), key);
    }

    /// Whether accepted connections wait in the queue.
    /// Qt: `QTcpServer::hasPendingConnections()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::TcpServer::new().has_pending_connections());
    /// ```
    pub fn has_pending_connections(&self) -> bool {
        !self.core.d.borrow().pending.is_empty()
    }

    /// Adds a socket to the pending queue and emits
    /// `pending_connection_available`. For incoming-connection handlers
    /// that still want the queue. Qt: `QTcpServer::addPendingConnection()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{TcpServer, TcpSocket};
    /// let server = TcpServer::new();
    /// server.add_pending_connection(TcpSocket::new());
    /// assert!(server.has_pending_connections());
    /// ```
    pub fn add_pending_connection(&self, socket: TcpSocket) {
        self.core.d.borrow_mut().pending.push_back(socket);
        self.core.pending_connection_available.emit(&());
    }

    /// The queue length at which accepting pauses (default 30).
    /// Qt: `QTcpServer::maxPendingConnections()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpServer::new().max_pending_connections(), 30);
    /// ```
    pub fn max_pending_connections(&self) -> usize {
        self.core.d.borrow().max_pending
    }

    /// Sets the queue limit. Qt: `QTcpServer::setMaxPendingConnections()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// server.set_max_pending_connections(1);
    /// assert_eq!(server.max_pending_connections(), 1);
    /// ```
    pub fn set_max_pending_connections(&self, max: usize) {
        self.core.d.borrow_mut().max_pending = max;
        self.core.maybe_resume();
    }

    /// The `listen(2)` backlog (default 50).
    /// Qt: `QTcpServer::listenBacklogSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpServer::new().listen_backlog_size(), 50);
    /// ```
    pub fn listen_backlog_size(&self) -> i32 {
        self.core.d.borrow().backlog
    }

    /// Sets the backlog for the next `listen`.
    /// Qt: `QTcpServer::setListenBacklogSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// server.set_listen_backlog_size(1);
    /// assert_eq!(server.listen_backlog_size(), 1);
    /// ```
    pub fn set_listen_backlog_size(&self, backlog: i32) {
        self.core.d.borrow_mut().backlog = backlog;
    }

    /// Stops taking connections; the kernel keeps queueing them.
    /// Qt: `QTcpServer::pauseAccepting()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// server.pause_accepting();
    /// ```
    pub fn pause_accepting(&self) {
        let mut d = self.core.d.borrow_mut();
        d.user_paused = true;
        if d.accepting == Accepting::On {
            d.accepting = Accepting::Paused;
        }
    }

    /// Takes connections again (also after an accept error: call it after
    /// a delay then, see [`accept_error`](Self::accept_error)).
    /// Qt: `QTcpServer::resumeAccepting()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::TcpServer::new();
    /// server.pause_accepting();
    /// server.resume_accepting();
    /// ```
    pub fn resume_accepting(&self) {
        self.core.d.borrow_mut().user_paused = false;
        self.core.maybe_resume();
    }

    /// The listening address, null when not listening.
    /// Qt: `QTcpServer::serverAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::TcpServer::new().server_address().is_null());
    /// ```
    pub fn server_address(&self) -> HostAddress {
        self.core.d.borrow().address.clone()
    }

    /// The listening port, 0 when not listening.
    /// Qt: `QTcpServer::serverPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpServer::new().server_port(), 0);
    /// ```
    pub fn server_port(&self) -> u16 {
        self.core.d.borrow().port
    }

    /// The last error. Qt: `QTcpServer::serverError()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpServer::new().server_error(), sigloop_net::SocketError::Unknown);
    /// ```
    pub fn server_error(&self) -> SocketError {
        self.core.d.borrow().error
    }

    /// Qt's text for the last error; empty until an error happens.
    /// Qt: `QTcpServer::errorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpServer::new().error_string(), "");
    /// ```
    pub fn error_string(&self) -> String {
        self.core.d.borrow().error_string.to_string()
    }

    /// The listening descriptor, `None` when not listening.
    /// Qt: `QTcpServer::socketDescriptor()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::TcpServer::new().socket_descriptor(), None);
    /// ```
    pub fn socket_descriptor(&self) -> Option<RawFd> {
        self.core
            .d
            .borrow()
            .listener
            .as_ref()
            .map(|l| l.as_raw_fd())
    }

    /// Adopts a socket that is already listening.
    /// Qt: `QTcpServer::setSocketDescriptor()`.
    ///
    /// # Errors
    ///
    /// Already listening ([`SocketError::Operation`]); `fd` is not a
    /// listening stream socket ([`SocketError::UnsupportedSocketOperation`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = std_listener.local_addr()?.port();
    /// let server = sigloop_net::TcpServer::new();
    /// server.set_socket_descriptor(std_listener.into()).unwrap();
    /// assert_eq!(server.server_port(), port);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_socket_descriptor(&self, fd: OwnedFd) -> Result<(), SocketError> {
        if self.is_listening() {
            log::warn!("TcpServer::set_socket_descriptor() called when already listening");
            return Err(SocketError::Operation);
        }
        let socket = Socket::from(fd);
        let usable = socket.r#type().is_ok_and(|t| t == socket2::Type::STREAM)
            && socket.is_listener().unwrap_or(false)
            && socket.set_nonblocking(true).is_ok();
        if !usable {
            self.core
                .set_error(SocketError::UnsupportedSocketOperation, text::UNSUPPORTED);
            return Err(SocketError::UnsupportedSocketOperation);
        }
        self.adopt_listener(socket, false)
    }

    /// Hands every accepted connection's fd to `handler` instead of
    /// queueing a [`TcpSocket`]; `new_connection` is still emitted. This is
    /// how connections reach worker threads: send the fd, and adopt it
    /// there with [`TcpSocket::set_socket_descriptor`].
    ///
    /// Qt: overriding `QTcpServer::incomingConnection(qintptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, _rx) = mpsc::channel();
    /// let server = sigloop_net::TcpServer::new();
    /// server.set_incoming_connection_handler(move |fd| {
    ///     let _ = tx.send(fd); // a worker thread adopts it
    /// });
    /// ```
    pub fn set_incoming_connection_handler(&self, handler: impl FnMut(OwnedFd) + 'static) {
        let old = self.core.incoming.replace(Some(Box::new(handler)));
        // Dropped after the borrow: its destructor may use the server.
        drop(old);
    }

    /// Blocks until a connection arrives (accepting it as the loop would,
    /// with the same signals) or `timeout` passes (`None`: forever).
    /// Returns `(ready, timed_out)`: as in Qt, `ready` means the listening
    /// socket became readable and one accept pass ran (which takes nothing
    /// while accepting is paused); a timeout sets
    /// [`server_error`](Self::server_error) to `SocketTimeout`.
    /// Qt: `QTcpServer::waitForNewConnection(msec, &timedOut)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_net::{HostAddress, SpecialAddress, TcpServer};
    /// let server = TcpServer::new();
    /// server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0).unwrap();
    /// let _client = std::net::TcpStream::connect(("127.0.0.1", server.server_port()))?;
    /// assert_eq!(server.wait_for_new_connection(Some(Duration::from_secs(10))), (true, false));
    /// assert!(server.has_pending_connections());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_new_connection(&self, timeout: Option<Duration>) -> (bool, bool) {
        if !self.is_listening() {
            return (false, false);
        }
        if self.core.d.borrow().listener.is_none() {
            log::warn!("TcpServer::wait_for_new_connection: not supported through a proxy");
            return (false, false);
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                // Qt reports the engine's timeout as the server's error.
                self.core
                    .set_error(SocketError::SocketTimeout, text::WAIT_TIMED_OUT);
                return (false, true);
            }
            match self.core.wait_readable(left) {
                Ok(true) => {
                    // As Qt: one readiness, one pass of the accept loop,
                    // `true` even if that pass took nothing (accepting
                    // paused, or the client gone): looping until something
                    // is accepted would spin while accepting is paused.
                    self.core.accept_some();
                    return (true, false);
                }
                Ok(false) => {}
                Err(err) => {
                    log::warn!("wait_for_new_connection: {err}");
                    return (false, false);
                }
            }
        }
    }

    /// Stops listening, emits `destroyed` and drops all connections once
    /// control returns to the loop level this is called from.
    /// Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// let server = sigloop_net::TcpServer::new();
    /// server.delete_later();
    /// EventDispatcher::send_posted_deletes();
    /// assert!(server.is_deleted());
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
    /// assert!(!sigloop_net::TcpServer::new().is_deleted());
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.core.life.is_deleted()
    }
}

impl Object for ServerCore {
    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    fn delete_now(&self) {
        ServerCore::delete_now(self);
    }
}

impl ServerCore {
    /// Waits until the listening socket is readable, at most `timeout`,
    /// with `poll(2)` (no descriptor made: it works while descriptors are
    /// exhausted). Not listening: not readable, at once.
    fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        // Held across the wait, which runs no user code.
        let d = self.d.borrow();
        match d.listener.as_ref() {
            Some(listener) => Ok(poll_fd(listener.as_fd(), Want::READ, timeout)?.readable),
            None => Ok(false),
        }
    }

    /// Qt's destructor: close (pending sockets are destroyed), `destroyed`,
    /// every connection dropped.
    fn delete_now(&self) {
        if self.life.begin_delete() {
            self.close();
            // Qt deletes a server's children with it.
            let children = std::mem::take(&mut *self.children.borrow_mut());
            drop(children);
            // The handler goes too (it may hold the server: a cycle), and
            // is dropped after the borrow.
            let handler = self.incoming.take();
            drop(handler);
            self.life.finish();
            self.new_connection.disconnect_all();
            self.pending_connection_available.disconnect_all();
            self.accept_error.disconnect_all();
        }
    }

    fn close(&self) {
        self.drop_bind();
        let pending = {
            let mut d = self.d.borrow_mut();
            d.listener = None;
            d.registration = None;
            d.accepting = Accepting::Off;
            d.port = 0;
            d.address = HostAddress::default();
            std::mem::take(&mut d.pending)
        };
        // Qt's qDeleteAll: the sockets are destroyed (they abort) even
        // though `children` still holds handles to them.
        for socket in pending {
            socket.delete_now();
        }
    }

    /// Qt: `QTcpServerPrivate::resolveProxy()`: the proxy `listen` goes
    /// through, `None` when none can listen.
    fn route(&self, port: u16) -> Option<Route> {
        let configured = self
            .d
            .borrow()
            .proxy
            .as_ref()
            .map(|p| p.configured.clone())
            .filter(|p| p.proxy_type() != ProxyType::Default);
        let candidates = match configured {
            Some(proxy) => vec![proxy],
            None => proxy::proxy_for_query(&NetworkProxyQuery::for_local_port(
                port,
                "",
                QueryType::TcpServer,
            )),
        };
        let chosen = candidates
            .into_iter()
            .find(|p| p.capabilities().contains(ProxyCapabilities::LISTENING))?;
        match chosen.proxy_type() {
            ProxyType::NoProxy => Some(Route::Direct),
            ProxyType::Socks5 => Some(Route::Socks5(chosen)),
            _ => None,
        }
    }

    /// The server's slots on the `BIND` control connection: the peer
    /// connected, or the proxy failed before one did.
    fn watch_bind(&self, socket: &TcpSocket) -> Vec<sigloop_signals::Connection> {
        let this = self.this.clone();
        let connected = socket.connected().connect(move |_| {
            if let Some(server) = this.upgrade() {
                server.bind_peer_connected();
            }
        });
        let this = self.this.clone();
        let failed = socket.error_occurred().connect(move |error| {
            if let Some(server) = this.upgrade() {
                server.bind_failed(*error);
            }
        });
        vec![connected, failed]
    }

    /// Takes the `BIND` under way, if any, with the server's slots on it.
    fn take_bind(&self) -> Option<TcpSocket> {
        let (socket, slots) = {
            let mut d = self.d.borrow_mut();
            let state = d.proxy.as_mut()?;
            (state.bind.take(), std::mem::take(&mut state.slots))
        };
        for slot in &slots {
            slot.disconnect();
        }
        socket
    }

    /// `close`: the control connection of a `BIND` under way goes.
    fn drop_bind(&self) {
        if let Some(socket) = self.take_bind() {
            socket.abort();
        }
    }

    /// The proxy's peer connected: the control connection is the accepted
    /// connection. Qt's SOCKS5 engine accepts one connection per `BIND`
    /// and then stops listening.
    fn bind_peer_connected(&self) {
        let connected = {
            let d = self.d.borrow();
            d.proxy
                .as_ref()
                .and_then(|p| p.bind.as_ref())
                .is_some_and(|s| s.state() == SocketState::Connected)
        };
        if !connected {
            return;
        }
        let Some(socket) = self.take_bind() else {
            return;
        };
        let key = self.children.borrow_mut().insert(socket.clone());
        let key = u32::try_from(key).unwrap_or(u32::MAX);
        socket.set_parent(self.this.clone(), key);
        {
            let mut d = self.d.borrow_mut();
            // As Qt: the accepted connection's local end is where the
            // proxy listened, not the control connection's own end.
            socket.core.d.borrow_mut().set_local(&d.address, d.port);
            d.accepting = Accepting::Off;
            d.pending.push_back(socket);
        }
        self.pending_connection_available.emit(&());
        self.new_connection.emit(&());
    }

    /// The proxy failed or closed before a peer connected: Qt's accept
    /// fails on the engine's error, so the server pauses and emits
    /// `accept_error`.
    fn bind_failed(&self, error: SocketError) {
        let Some(socket) = self.take_bind() else {
            return;
        };
        {
            let mut d = self.d.borrow_mut();
            d.user_paused = true;
            d.accepting = Accepting::Paused;
        }
        self.set_error(error, socket.error_string());
        // Dropped after the borrows: the socket's own teardown runs.
        socket.abort();
        drop(socket);
        self.accept_error.emit(&error);
    }

    fn set_error(&self, error: SocketError, text: impl Into<std::borrow::Cow<'static, str>>) {
        let mut d = self.d.borrow_mut();
        d.error = error;
        d.error_string = text.into();
    }

    /// Accepting resumes when it is paused only by a full queue that now
    /// has room; it continues from the loop (the kernel's edge is gone).
    fn maybe_resume(&self) {
        let resume = {
            let mut d = self.d.borrow_mut();
            let room = d.pending.len() < d.max_pending;
            if d.accepting == Accepting::Paused && !d.user_paused && room {
                d.accepting = Accepting::On;
                true
            } else {
                false
            }
        };
        if resume {
            self.schedule_accept();
        }
    }

    /// Runs the accept loop from the loop's next pass (once, however
    /// often it is asked for before then).
    fn schedule_accept(&self) {
        if !self.accept_scheduled.replace(true) {
            let this = self.this.clone();
            EventDispatcher::post(move || {
                if let Some(server) = this.upgrade() {
                    server.accept_scheduled.set(false);
                    server.accept_some();
                }
            });
        }
    }

    /// Qt's accept loop: until `WouldBlock`, a full queue, an error, or
    /// the server stops listening. Returns the connections accepted.
    ///
    /// A slot that panics (`new_connection`, the incoming-connection
    /// handler) leaves the rest of the backlog to the loop's next pass:
    /// the listener is edge-triggered, so no new event would come for the
    /// connections already queued.
    fn accept_some(&self) -> usize {
        /// Dropped only when a slot unwinds out of the loop below.
        struct Unfinished<'a>(&'a ServerCore);
        impl Drop for Unfinished<'_> {
            fn drop(&mut self) {
                self.0.schedule_accept();
            }
        }
        let mut accepted = 0;
        loop {
            let result = {
                let mut d = self.d.borrow_mut();
                if d.accepting != Accepting::On {
                    return accepted;
                }
                if d.pending.len() >= d.max_pending && self.incoming.borrow().is_none() {
                    d.accepting = Accepting::Paused;
                    return accepted;
                }
                match d.listener.as_ref() {
                    Some(listener) => listener.accept(),
                    None => return accepted,
                }
            };
            match result {
                Ok((stream, peer)) => {
                    accepted += 1;
                    let unfinished = Unfinished(self);
                    self.incoming_connection(stream, peer);
                    std::mem::forget(unfinished);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    let (error, text) = from_io(Op::Accept, &e);
                    {
                        let mut d = self.d.borrow_mut();
                        d.user_paused = true;
                        d.accepting = Accepting::Paused;
                    }
                    self.set_error(error, text);
                    self.accept_error.emit(&error);
                    return accepted;
                }
            }
        }
    }

    /// Qt's `incomingConnection` + `addPendingConnection`, then
    /// `newConnection`.
    fn incoming_connection(&self, stream: TcpStream, peer: SocketAddr) {
        let handler = self.incoming.borrow_mut().take();
        match handler {
            Some(handler) => {
                // Put back when `held` goes, even if the handler panics.
                let mut held = HeldHandler(self, Some(handler));
                if let Some(handler) = held.1.as_mut() {
                    handler(OwnedFd::from(stream));
                }
            }
            None => match TcpSocket::from_accepted(stream, peer, self.accepted_local()) {
                Ok(socket) => {
                    let key = self.children.borrow_mut().insert(socket.clone());
                    // Keys are below the number of open descriptors.
                    let key = u32::try_from(key).unwrap_or(u32::MAX);
                    socket.set_parent(self.this.clone(), key);
                    self.d.borrow_mut().pending.push_back(socket);
                    self.pending_connection_available.emit(&());
                }
                Err(err) => log::warn!("TcpServer: cannot register an accepted socket: {err}"),
            },
        }
        self.new_connection.emit(&());
    }
}

impl ServerCore {
    /// The local end of every connection this server accepts, when the
    /// listening address says it: a server on a specific address accepts
    /// on that address and port only. On a wildcard address it depends on
    /// the connection (`None`: ask the socket).
    fn accepted_local(&self) -> Option<SocketAddr> {
        let d = self.d.borrow();
        let ip = d.address.ip()?;
        (!ip.is_unspecified()).then_some(SocketAddr::new(ip, d.port))
    }

    /// A socket this server accepted was deleted: stop keeping it.
    pub(crate) fn child_deleted(&self, key: usize) {
        let child = self.children.borrow_mut().try_remove(key);
        // Dropped outside the borrow: it may run the socket's destructor.
        drop(child);
    }
}

/// The incoming-connection handler taken out of its slot while it runs
/// (no borrow is held during user code).
struct HeldHandler<'a>(&'a ServerCore, Option<IncomingHandler>);

impl Drop for HeldHandler<'_> {
    /// Puts the handler back unless it installed another one (or the
    /// server was deleted); one not put back is dropped after the borrow.
    fn drop(&mut self) {
        let Some(handler) = self.1.take() else {
            return;
        };
        let unused = {
            let mut slot = self.0.incoming.borrow_mut();
            if slot.is_none() && !self.0.life.is_deleted() {
                *slot = Some(handler);
                None
            } else {
                Some(handler)
            }
        };
        drop(unused);
    }
}

impl IoHandler for ServerCore {
    fn ready(&self, _readiness: Readiness) {
        self.accept_some();
    }
}

impl Default for TcpServer {
    fn default() -> Self {
        TcpServer::new()
    }
}

impl WeakTcpServer {
    /// The server, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakTcpServer`].
    pub fn upgrade(&self) -> Option<TcpServer> {
        Handle::upgrade(&self.core).map(|core| TcpServer { core })
    }
}

impl Receiver for TcpServer {
    type Weak = WeakTcpServer;

    fn downgrade(&self) -> WeakTcpServer {
        TcpServer::downgrade(self)
    }

    fn upgrade(weak: &WeakTcpServer) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        self.core.as_ptr() as usize
    }
}

impl fmt::Debug for TcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServer")
            .field("listening", &self.is_listening())
            .field("port", &self.server_port())
            .finish()
    }
}

impl fmt::Debug for WeakTcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakTcpServer")
    }
}
