//! `SslServer` (Qt 6.4: `QSslServer`): a `TcpServer` whose connections
//! are encrypted before the application gets them.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};
use std::time::Duration;

use sigloop_core::{IoDevice, OpenMode, Timer, TimerType};
use sigloop_signals::{Connection, Receiver, Signal};

use super::socket::{Alert, SslSocket};
use super::{SslConfiguration, SslError};
use crate::socket::{SocketError, SocketState};
use crate::tcp_server::{TcpServer, WeakTcpServer};

/// Qt's default handshake timeout: 5 s.
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The first byte of a TLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;

/// A connection whose handshake runs.
struct Handshaking {
    /// The server's slots on the socket's signals.
    slots: Vec<Connection>,
    /// The first `ready_read` slot (dropped once the ClientHello showed).
    hello: Option<Connection>,
    timer: Timer,
}

/// The server's own state, shared by its handles.
struct SslServerCore {
    /// The TCP server underneath, for the pending queue.
    server: WeakTcpServer,
    config: RefCell<SslConfiguration>,
    handshake_timeout: Cell<Duration>,
    handshaking: RefCell<HashMap<usize, Handshaking>>,
    ssl_errors: Signal<(SslSocket, Vec<SslError>)>,
    peer_verify_error: Signal<(SslSocket, SslError)>,
    error_occurred: Signal<(SslSocket, SocketError)>,
    started_encryption_handshake: Signal<SslSocket>,
    alert_sent: Signal<(SslSocket, Alert)>,
    alert_received: Signal<(SslSocket, Alert)>,
    handshake_interrupted_on_error: Signal<(SslSocket, SslError)>,
}

/// A TCP server that runs the TLS server handshake on each connection it
/// accepts and queues the connection once it is encrypted.
///
/// It dereferences to [`TcpServer`] (listen, close, the pending queue,
/// `new_connection`...). As in Qt 6.4: `new_connection` is emitted for
/// every accepted TCP connection; the connection waits for the client's
/// first bytes (a connection that does not start with a TLS handshake
/// record is closed), `started_encryption_handshake` is emitted, and the
/// handshake runs with the server's [`ssl_configuration`](Self::ssl_configuration);
/// once encrypted the socket joins the pending queue
/// (`pending_connection_available`, then [`next_pending_connection`](Self::next_pending_connection)).
/// A connection that fails (`error_occurred` with the socket) or does not
/// finish within [`handshake_timeout`](Self::handshake_timeout)
/// (`error_occurred(SocketTimeout)`) is closed and deleted.
///
/// Qt: `QSslServer`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::{SslCertificate, SslConfiguration, SslKey, SslServer};
/// use sigloop_net::HostAddress;
///
/// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let mut config = SslConfiguration::default_configuration();
/// config.set_local_certificate(SslCertificate::from_pem(made.cert.pem().as_bytes()).unwrap());
/// config.set_private_key(SslKey::from_pem(made.signing_key.serialize_pem().as_bytes()).unwrap());
///
/// let server = SslServer::new();
/// server.set_ssl_configuration(config);
/// server.listen(&"127.0.0.1".parse::<HostAddress>().unwrap(), 0).unwrap();
/// let _c = server.pending_connection_available().connect_to(&server, |server, _| {
///     while let Some(socket) = server.next_pending_connection() {
///         assert!(socket.is_encrypted());
///     }
/// });
/// ```
#[derive(Clone)]
pub struct SslServer {
    server: TcpServer,
    core: Rc<SslServerCore>,
}

impl SslServer {
    /// A server that is not listening, with a copy of the default
    /// configuration (set a local certificate and key before clients
    /// come). Qt: `QSslServer::QSslServer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// assert!(!server.is_listening());
    /// assert_eq!(server.handshake_timeout(), std::time::Duration::from_secs(5));
    /// ```
    pub fn new() -> SslServer {
        let server = TcpServer::new();
        let core = Rc::new(SslServerCore {
            server: server.downgrade(),
            config: RefCell::new(SslConfiguration::default_configuration()),
            handshake_timeout: Cell::new(DEFAULT_HANDSHAKE_TIMEOUT),
            handshaking: RefCell::new(HashMap::new()),
            ssl_errors: Signal::new(),
            peer_verify_error: Signal::new(),
            error_occurred: Signal::new(),
            started_encryption_handshake: Signal::new(),
            alert_sent: Signal::new(),
            alert_received: Signal::new(),
            handshake_interrupted_on_error: Signal::new(),
        });
        let weak_core = Rc::downgrade(&core);
        let weak_server = server.downgrade();
        server.set_incoming_connection_handler(move |fd| {
            if let (Some(core), Some(server)) = (weak_core.upgrade(), weak_server.upgrade()) {
                SslServerCore::incoming(&core, &server, fd);
            }
        });
        SslServer { server, core }
    }

    /// The configuration each new connection gets.
    /// Qt: `QSslServer::sslConfiguration()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslConfiguration, SslServer};
    /// assert_eq!(SslServer::new().ssl_configuration(), SslConfiguration::default_configuration());
    /// ```
    pub fn ssl_configuration(&self) -> SslConfiguration {
        self.core.config.borrow().clone()
    }

    /// Sets the configuration for connections accepted from now on.
    /// Qt: `QSslServer::setSslConfiguration()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PeerVerifyMode, SslServer};
    /// let server = SslServer::new();
    /// let mut config = server.ssl_configuration();
    /// config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    /// server.set_ssl_configuration(config);
    /// assert_eq!(server.ssl_configuration().peer_verify_mode(), PeerVerifyMode::VerifyPeer);
    /// ```
    pub fn set_ssl_configuration(&self, configuration: SslConfiguration) {
        *self.core.config.borrow_mut() = configuration;
    }

    /// How long a client may take from connecting to finishing the
    /// handshake (5 s by default). Qt: `QSslServer::handshakeTimeout()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslServer::new().handshake_timeout().as_millis(), 5000);
    /// ```
    pub fn handshake_timeout(&self) -> Duration {
        self.core.handshake_timeout.get()
    }

    /// Sets the handshake timeout for connections accepted from now on;
    /// `Duration::MAX` means none. Qt: `QSslServer::setHandshakeTimeout()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = sigloop_net::ssl::SslServer::new();
    /// server.set_handshake_timeout(Duration::from_secs(1));
    /// assert_eq!(server.handshake_timeout(), Duration::from_secs(1));
    /// ```
    pub fn set_handshake_timeout(&self, timeout: Duration) {
        self.core.handshake_timeout.set(timeout);
    }

    /// The next encrypted connection, if any. The server keeps it alive
    /// until it is deleted, as [`TcpServer::next_pending_connection`].
    /// Qt: `QSslServer::nextPendingConnection()` (a `QSslSocket`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslServer::new().next_pending_connection().is_none());
    /// ```
    pub fn next_pending_connection(&self) -> Option<SslSocket> {
        loop {
            let socket = self.server.next_pending_connection()?;
            // Sockets a slot added with `add_pending_connection` may be
            // plain ones: skipped, as Qt's cast would give null.
            if let Some(socket) = SslSocket::from_tcp_if_ssl(socket) {
                return Some(socket);
            }
        }
    }

    /// A connection's handshake had verification errors.
    /// Qt: `QSslServer::sslErrors(QSslSocket *, const QList<QSslError> &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.ssl_errors().connect(|(socket, errors)| {
    ///     println!("{}: {} errors", socket.peer_port(), errors.len());
    /// });
    /// ```
    pub fn ssl_errors(&self) -> &Signal<(SslSocket, Vec<SslError>)> {
        &self.core.ssl_errors
    }

    /// One verification error of a connection's handshake.
    /// Qt: `QSslServer::peerVerifyError(QSslSocket *, const QSslError &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.peer_verify_error().connect(|(_, error)| println!("{}", error.error_string()));
    /// ```
    pub fn peer_verify_error(&self) -> &Signal<(SslSocket, SslError)> {
        &self.core.peer_verify_error
    }

    /// A connection failed before it was encrypted (it is then deleted),
    /// or timed out (`SocketTimeout`).
    /// Qt: `QSslServer::errorOccurred(QSslSocket *, QAbstractSocket::SocketError)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.error_occurred().connect(|(_, error)| println!("{}", error.qt_name()));
    /// ```
    pub fn error_occurred(&self) -> &Signal<(SslSocket, SocketError)> {
        &self.core.error_occurred
    }

    /// A client sent its ClientHello: the server handshake started.
    /// Qt: `QSslServer::startedEncryptionHandshake(QSslSocket *)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.started_encryption_handshake().connect(|socket| println!("{:?}", socket.mode()));
    /// ```
    pub fn started_encryption_handshake(&self) -> &Signal<SslSocket> {
        &self.core.started_encryption_handshake
    }

    /// A connection sent an alert. Qt: `QSslServer::alertSent(...)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.alert_sent().connect(|(_, (_, kind, _))| println!("{kind:?}"));
    /// ```
    pub fn alert_sent(&self) -> &Signal<(SslSocket, Alert)> {
        &self.core.alert_sent
    }

    /// A connection received an alert. Qt: `QSslServer::alertReceived(...)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.alert_received().connect(|(_, (_, kind, _))| println!("{kind:?}"));
    /// ```
    pub fn alert_received(&self) -> &Signal<(SslSocket, Alert)> {
        &self.core.alert_received
    }

    /// A connection's handshake was interrupted on an error (see
    /// [`SslSocket::handshake_interrupted_on_error`]).
    /// Qt: `QSslServer::handshakeInterruptedOnError(QSslSocket *, const QSslError &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::ssl::SslServer::new();
    /// let _c = server.handshake_interrupted_on_error().connect(|(socket, _)| {
    ///     socket.continue_interrupted_handshake();
    /// });
    /// ```
    pub fn handshake_interrupted_on_error(&self) -> &Signal<(SslSocket, SslError)> {
        &self.core.handshake_interrupted_on_error
    }
}

impl SslServerCore {
    /// Qt: `QSslServer::incomingConnection`: an `SslSocket` with the
    /// server's configuration adopts the connection, kept alive by the
    /// server; it waits for the client's first bytes.
    fn incoming(core: &Rc<SslServerCore>, server: &TcpServer, fd: OwnedFd) {
        let socket = SslSocket::new();
        socket.set_ssl_configuration(core.config.borrow().clone());
        if socket
            .set_socket_descriptor(fd, SocketState::Connected, OpenMode::READ_WRITE)
            .is_err()
        {
            return;
        }
        server.adopt_child(&socket);
        let key = Receiver::identity(&socket);
        let weak = Rc::downgrade(core);
        let slots = Self::forward_signals(&weak, &socket);
        let hello = {
            let weak = weak.clone();
            socket.ready_read().connect_to(&socket, move |socket, _| {
                if let Some(core) = weak.upgrade() {
                    core.client_hello(socket);
                }
            })
        };
        let timer = Timer::new();
        timer.set_single_shot(true);
        timer.set_timer_type(TimerType::Coarse);
        {
            let weak = weak.clone();
            let socket = socket.downgrade();
            let _ = timer.timeout().connect(move |_| {
                if let (Some(core), Some(socket)) = (weak.upgrade(), socket.upgrade()) {
                    core.timed_out(&socket);
                }
            });
        }
        let timeout = core.handshake_timeout.get();
        if timeout < Duration::from_secs(100 * 365 * 24 * 3600) {
            timer.start_with(timeout);
        }
        let previous = core.handshaking.borrow_mut().insert(
            key,
            Handshaking {
                slots,
                hello: Some(hello),
                timer,
            },
        );
        drop(previous);
    }

    /// The socket's signals, passed on with the socket.
    fn forward_signals(weak: &Weak<SslServerCore>, socket: &SslSocket) -> Vec<Connection> {
        let mut slots = Vec::new();
        let w = weak.clone();
        slots.push(socket.peer_verify_error().connect_to(socket, move |s, e| {
            if let Some(core) = w.upgrade() {
                core.peer_verify_error.emit(&(s.clone(), e.clone()));
            }
        }));
        let w = weak.clone();
        slots.push(socket.ssl_errors().connect_to(socket, move |s, e| {
            if let Some(core) = w.upgrade() {
                core.ssl_errors.emit(&(s.clone(), e.clone()));
            }
        }));
        let w = weak.clone();
        slots.push(socket.error_occurred().connect_to(socket, move |s, e| {
            if let Some(core) = w.upgrade() {
                core.error_occurred.emit(&(s.clone(), *e));
                if !s.is_encrypted() {
                    core.forget(s);
                    s.delete_later();
                }
            }
        }));
        let w = weak.clone();
        slots.push(socket.encrypted().connect_to(socket, move |s, _| {
            if let Some(core) = w.upgrade() {
                core.encrypted(s);
            }
        }));
        let w = weak.clone();
        slots.push(socket.alert_sent().connect_to(socket, move |s, a| {
            if let Some(core) = w.upgrade() {
                core.alert_sent.emit(&(s.clone(), a.clone()));
            }
        }));
        let w = weak.clone();
        slots.push(socket.alert_received().connect_to(socket, move |s, a| {
            if let Some(core) = w.upgrade() {
                core.alert_received.emit(&(s.clone(), a.clone()));
            }
        }));
        let w = weak.clone();
        slots.push(
            socket
                .handshake_interrupted_on_error()
                .connect_to(socket, move |s, e| {
                    if let Some(core) = w.upgrade() {
                        core.handshake_interrupted_on_error
                            .emit(&(s.clone(), e.clone()));
                    }
                }),
        );
        let w = weak.clone();
        let key = Receiver::identity(socket);
        slots.push(socket.destroyed().connect(move |_| {
            if let Some(core) = w.upgrade() {
                let entry = core.handshaking.borrow_mut().remove(&key);
                drop(entry);
            }
        }));
        slots
    }

    /// Qt's `checkClientHelloAndContinue`: the first byte must open a TLS
    /// handshake record, else the connection is closed; the handshake
    /// starts and the timeout restarts.
    fn client_hello(&self, socket: &SslSocket) {
        let mut first = [0u8; 1];
        if socket.bytes_available() == 0 {
            return;
        }
        let hello = {
            let mut map = self.handshaking.borrow_mut();
            map.get_mut(&Receiver::identity(socket)).and_then(|entry| {
                // Progress: the timeout starts over (a timer never started,
                // `Duration::MAX`, stays off).
                if entry.timer.is_active() {
                    entry.timer.start();
                }
                entry.hello.take()
            })
        };
        if let Some(hello) = hello {
            hello.disconnect();
        }
        if socket.peek_into(&mut first) != Ok(1) || first[0] != HANDSHAKE_RECORD {
            self.forget(socket);
            socket.disconnect_from_host();
            socket.delete_later();
            return;
        }
        socket.start_server_encryption();
        self.started_encryption_handshake.emit(socket);
    }

    /// Encrypted: the socket leaves the server's watch and joins the
    /// pending queue.
    fn encrypted(&self, socket: &SslSocket) {
        self.forget(socket);
        if let Some(server) = self.server.upgrade() {
            server.add_pending_connection(socket.clone().into());
        }
    }

    /// Qt's `handleHandshakeTimedOut`.
    fn timed_out(&self, socket: &SslSocket) {
        self.forget(socket);
        socket.disconnect_from_host();
        self.error_occurred
            .emit(&(socket.clone(), SocketError::SocketTimeout));
        socket.delete_later();
    }

    /// Stops watching `socket`: its slots and timer go.
    fn forget(&self, socket: &SslSocket) {
        let entry = self
            .handshaking
            .borrow_mut()
            .remove(&Receiver::identity(socket));
        if let Some(entry) = entry {
            for slot in &entry.slots {
                slot.disconnect();
            }
            if let Some(hello) = &entry.hello {
                hello.disconnect();
            }
            drop(entry);
        }
    }
}

/// The `QTcpServer` surface: see [`TcpServer`].
impl std::ops::Deref for SslServer {
    type Target = TcpServer;

    fn deref(&self) -> &TcpServer {
        &self.server
    }
}

impl Default for SslServer {
    fn default() -> Self {
        SslServer::new()
    }
}

/// A weak handle to an [`SslServer`].
///
/// # Examples
///
/// ```
/// use sigloop_signals::Receiver;
/// let server = sigloop_net::ssl::SslServer::new();
/// let weak = Receiver::downgrade(&server);
/// assert!(weak.upgrade().is_some());
/// ```
#[derive(Clone)]
pub struct WeakSslServer {
    server: WeakTcpServer,
    core: Weak<SslServerCore>,
}

impl WeakSslServer {
    /// The server, if a handle still holds it.
    ///
    /// # Examples
    ///
    /// See [`WeakSslServer`].
    pub fn upgrade(&self) -> Option<SslServer> {
        Some(SslServer {
            server: self.server.upgrade()?,
            core: self.core.upgrade()?,
        })
    }
}

impl Receiver for SslServer {
    type Weak = WeakSslServer;

    fn downgrade(&self) -> WeakSslServer {
        WeakSslServer {
            server: self.server.downgrade(),
            core: Rc::downgrade(&self.core),
        }
    }

    fn upgrade(weak: &WeakSslServer) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        Receiver::identity(&self.server)
    }
}

impl fmt::Debug for SslServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslServer")
            .field("listening", &self.is_listening())
            .field("port", &self.server_port())
            .field("handshaking", &self.core.handshaking.borrow().len())
            .finish()
    }
}

impl fmt::Debug for WeakSslServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSslServer")
    }
}
