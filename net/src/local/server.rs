//! `LocalServer` (Qt: `QLocalServer`, Unix implementation).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sigloop_signals::{Receiver, Signal};
use socket2::{Domain, SockAddr, Socket, Type};

use super::name;
use super::{LocalServerOptions, LocalSocket};
use crate::socket::SocketError;
use crate::tcp_server::{Listener, TcpServer, WeakTcpServer};

/// The function name Qt puts before a listen error's text.
const LISTEN_FUNCTION: &str = "QLocalServer::listen";

/// Accepts connections on a Unix-domain socket, with `QLocalServer`'s
/// names, options and errors.
///
/// [`listen`](Self::listen) takes a name with the same rules as
/// [`LocalSocket::connect_to_server`]: a bare name is a socket file in the
/// temporary directory, a name starting with `/` a path, and with
/// [`LocalServerOptions::ABSTRACT_NAMESPACE`] (Linux) a name with no file.
/// The file is removed when the server stops listening. A file that is
/// already there, whether a server answers on it or not (a crashed
/// server's), makes `listen` fail with [`SocketError::AddressInUse`]
/// ("QLocalServer::listen: Address in use"), as in Qt;
/// [`remove_server`](Self::remove_server) removes a stale one.
///
/// Each accepted connection waits in the pending queue as a connected
/// [`LocalSocket`], announced by [`new_connection`](Self::new_connection);
/// take it with [`next_pending_connection`](Self::next_pending_connection).
/// The queue, its limit ([`max_pending_connections`](Self::max_pending_connections),
/// 30) and the accept loop are [`TcpServer`]'s.
///
/// Qt: `QLocalServer`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{EventDispatcher, IoDevice};
/// use sigloop_net::{LocalServer, LocalSocket};
///
/// let name = format!("sigloop-doc-server-{}", std::process::id());
/// let server = LocalServer::new();
/// server.listen(&name).unwrap();
/// assert!(server.full_server_name().ends_with(&name));
/// let _c = server.new_connection().connect_to(&server, |server, _| {
///     let peer = server.next_pending_connection().unwrap();
///     peer.write(b"hi").unwrap();
///     EventDispatcher::exit(0);
/// });
/// let client = LocalSocket::new();
/// client.connect_to_server(&name);
/// assert_eq!(EventDispatcher::exec(), 0);
/// server.close();
/// ```
#[derive(Clone)]
pub struct LocalServer {
    server: TcpServer,
    local: Rc<ServerNames>,
}

/// A weak handle to a [`LocalServer`].
///
/// # Examples
///
/// ```
/// let server = sigloop_net::LocalServer::new();
/// assert!(server.downgrade().upgrade().is_some());
/// ```
#[derive(Clone)]
pub struct WeakLocalServer {
    server: WeakTcpServer,
    local: Weak<ServerNames>,
}

/// What a local server adds to the shared server: names and options.
#[derive(Default)]
struct ServerNames {
    server_name: RefCell<String>,
    full_server_name: RefCell<String>,
    options: Cell<LocalServerOptions>,
    /// The server listens in the abstract namespace.
    abstract_ns: Cell<bool>,
}

impl LocalServer {
    /// A server that is not listening.
    /// Qt: `QLocalServer::QLocalServer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::LocalServer::new();
    /// assert!(!server.is_listening());
    /// assert_eq!(server.max_pending_connections(), 30);
    /// assert_eq!(server.listen_backlog_size(), 50);
    /// ```
    pub fn new() -> Self {
        LocalServer {
            server: TcpServer::new(),
            local: Rc::default(),
        }
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakLocalServer`].
    pub fn downgrade(&self) -> WeakLocalServer {
        WeakLocalServer {
            server: self.server.downgrade(),
            local: Rc::downgrade(&self.local),
        }
    }

    /// Emitted for every accepted connection, once it is in the pending
    /// queue. Qt: `QLocalServer::newConnection()`.
    ///
    /// # Examples
    ///
    /// See [`LocalServer`].
    pub fn new_connection(&self) -> &Signal<()> {
        self.server.new_connection()
    }

    /// Emitted when `accept` fails (most often `EMFILE`); accepting pauses
    /// until [`resume_accepting`](Self::resume_accepting). An extension:
    /// Qt's `QLocalServer` closes instead (see the README).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::Timer;
    /// use sigloop_net::LocalServer;
    /// let server = LocalServer::new();
    /// let _c = server.accept_error().connect_to(&server, |server, _| {
    ///     Timer::single_shot_to(server, Duration::from_millis(100), LocalServer::resume_accepting);
    /// });
    /// ```
    pub fn accept_error(&self) -> &Signal<SocketError> {
        self.server.accept_error()
    }

    /// Takes connections again after an accept error (an extension; see
    /// [`accept_error`](Self::accept_error)).
    ///
    /// # Examples
    ///
    /// ```
    /// sigloop_net::LocalServer::new().resume_accepting();
    /// ```
    pub fn resume_accepting(&self) {
        self.server.resume_accepting();
    }

    /// Emitted when the server is deleted.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::LocalServer::new();
    /// let _c = server.destroyed().connect(|_| println!("gone"));
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.server.destroyed()
    }

    /// Listens on `name` (see [`LocalServer`] for where it lives) with the
    /// [`socket_options`](Self::socket_options). With an access option
    /// the socket is made in a private directory beside the target, given
    /// its mode, and renamed into place, so it never exists with a wider
    /// mode, as in Qt.
    ///
    /// Qt: `QLocalServer::listen(name)`.
    ///
    /// # Errors
    ///
    /// - already listening: [`SocketError::Operation`] (with Qt's warning;
    ///   the server's error is left as it was);
    /// - an empty or too long name, a missing directory:
    ///   [`SocketError::HostNotFound`] ("QLocalServer::listen: Name error");
    /// - the file exists: [`SocketError::AddressInUse`]
    ///   ("QLocalServer::listen: Address in use");
    /// - no permission: [`SocketError::SocketAccess`]
    ///   ("QLocalServer::listen: Permission denied");
    /// - anything else: [`SocketError::Unknown`] with the OS's code and text.
    ///
    /// [`server_error`](Self::server_error) and
    /// [`error_string`](Self::error_string) tell the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalServer, SocketError};
    /// let server = LocalServer::new();
    /// assert_eq!(server.listen(""), Err(SocketError::HostNotFound));
    /// assert_eq!(server.error_string(), "QLocalServer::listen: Name error");
    /// ```
    pub fn listen(&self, name: &str) -> Result<(), SocketError> {
        if self.is_listening() {
            log::warn!("LocalServer::listen() called when already listening");
            return Err(SocketError::Operation);
        }
        let result = if name.is_empty() {
            Err((
                SocketError::HostNotFound,
                format!("{LISTEN_FUNCTION}: Name error"),
            ))
        } else {
            self.bind_and_listen(name)
        };
        match result {
            Ok(full) => {
                *self.local.server_name.borrow_mut() = name.to_owned();
                *self.local.full_server_name.borrow_mut() = full;
                Ok(())
            }
            Err((error, text)) => {
                self.server.set_server_error(error, text);
                Err(error)
            }
        }
    }

    /// Makes the listening socket and hands it to the shared server;
    /// returns the full server name.
    fn bind_and_listen(&self, name: &str) -> Result<String, (SocketError, String)> {
        let options = self.local.options.get();
        let wants_abstract = options.contains(LocalServerOptions::ABSTRACT_NAMESPACE);
        let abstract_ns = wants_abstract && name::ABSTRACT_NAMESPACE;
        let mode = match (abstract_ns, wants_abstract) {
            (true, _) => None,
            // No abstract namespace here: the closest, everyone may connect.
            (false, true) => Some(0o777),
            (false, false) => options.file_mode(),
        };
        let full = name::full_name(name, abstract_ns);
        let os_error = |err: io::Error| {
            let (error, text) = name::server_error(LISTEN_FUNCTION, &err);
            (error, text)
        };
        let name_error = || {
            (
                SocketError::HostNotFound,
                format!("{LISTEN_FUNCTION}: Name error"),
            )
        };
        let address = name::socket_address(&full, abstract_ns).ok_or_else(name_error)?;
        let backlog = self.server.listen_backlog_size();
        let socket = match mode {
            None => listening_socket(&address, backlog).map_err(os_error)?,
            Some(mode) => listen_with_mode(Path::new(&full), mode, backlog).map_err(os_error)?,
        };
        let std_listener = std::os::unix::net::UnixListener::from(OwnedFd::from(socket));
        let listener = mio::net::UnixListener::from_std(std_listener);
        let remove_on_close = (!abstract_ns).then(|| PathBuf::from(&full));
        self.local.abstract_ns.set(abstract_ns);
        self.server
            .listen_local(Listener::Unix(listener, remove_on_close))
            .map_err(|error| (error, self.server.error_string()))?;
        Ok(full)
    }

    /// Listens on a Unix-domain stream socket that already listens (one a
    /// parent process or a service manager made). The names come from its
    /// address, as [`full_server_name`](Self::full_server_name) and
    /// [`server_name`](Self::server_name) (the file name); as in Qt, its
    /// file is removed when the server stops listening.
    ///
    /// Qt: `QLocalServer::listen(qintptr socketDescriptor)`.
    ///
    /// # Errors
    ///
    /// Already listening: [`SocketError::Operation`]. `fd` is not a
    /// listening Unix-domain stream socket (Qt takes any descriptor):
    /// [`SocketError::UnsupportedSocketOperation`].
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("sigloop-doc-fd-{}", std::process::id()));
    /// let listener = std::os::unix::net::UnixListener::bind(&path)?;
    /// let server = sigloop_net::LocalServer::new();
    /// server.listen_descriptor(listener.into()).unwrap();
    /// assert_eq!(server.full_server_name(), path.to_string_lossy());
    /// server.close();
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn listen_descriptor(&self, fd: OwnedFd) -> Result<(), SocketError> {
        if self.is_listening() {
            log::warn!("LocalServer::listen_descriptor() called when already listening");
            return Err(SocketError::Operation);
        }
        let socket = Socket::from(fd);
        let usable = socket.domain().is_ok_and(|d| d == Domain::UNIX)
            && socket.r#type().is_ok_and(|t| t == Type::STREAM)
            && socket.is_listener().unwrap_or(false)
            && socket.set_nonblocking(true).is_ok();
        if !usable {
            self.server.set_server_error(
                SocketError::UnsupportedSocketOperation,
                crate::socket::text::UNSUPPORTED.to_owned(),
            );
            return Err(SocketError::UnsupportedSocketOperation);
        }
        let names = name::describe(std::os::fd::AsRawFd::as_raw_fd(&socket));
        let (full, abstract_ns) = names.unwrap_or_default();
        let std_listener = std::os::unix::net::UnixListener::from(OwnedFd::from(socket));
        let listener = mio::net::UnixListener::from_std(std_listener);
        let remove_on_close = (!abstract_ns && !full.is_empty()).then(|| PathBuf::from(&full));
        self.server
            .listen_local(Listener::Unix(listener, remove_on_close))?;
        self.local.abstract_ns.set(abstract_ns);
        *self.local.server_name.borrow_mut() = name::short_name(&full, abstract_ns);
        *self.local.full_server_name.borrow_mut() = full;
        Ok(())
    }

    /// Stops listening (the socket file is removed), deletes the pending
    /// connections not taken, and clears the names and the error.
    /// Qt: `QLocalServer::close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("sigloop-doc-close-{}", std::process::id());
    /// let server = sigloop_net::LocalServer::new();
    /// server.listen(&name).unwrap();
    /// let path = server.full_server_name();
    /// server.close();
    /// assert!(!std::path::Path::new(&path).exists());
    /// assert_eq!(server.server_name(), "");
    /// ```
    pub fn close(&self) {
        if !self.is_listening() {
            return;
        }
        self.server.close();
        self.local.server_name.borrow_mut().clear();
        self.local.full_server_name.borrow_mut().clear();
        self.server
            .set_server_error(SocketError::Unknown, String::new());
    }

    /// Removes the socket file of `name` (same name rules as `listen`), so
    /// that a server can listen there again after a crash. True if there
    /// was nothing to remove or it was removed.
    /// Qt: `QLocalServer::removeServer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let stale = std::env::temp_dir().join(format!("sigloop-doc-stale-{}", std::process::id()));
    /// drop(std::os::unix::net::UnixListener::bind(&stale)?); // a crashed server's file
    /// assert!(sigloop_net::LocalServer::remove_server(&stale.to_string_lossy()));
    /// assert!(!stale.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_server(name: &str) -> bool {
        let path = name::full_name(name, false);
        match std::fs::remove_file(&path) {
            Ok(()) => true,
            Err(err) => err.kind() == io::ErrorKind::NotFound,
        }
    }

    /// Whether the server listens. Qt: `QLocalServer::isListening()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalServer::new().is_listening());
    /// ```
    pub fn is_listening(&self) -> bool {
        self.server.is_listening()
    }

    /// The name given to `listen`; empty when not listening.
    /// Qt: `QLocalServer::serverName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServer::new().server_name(), "");
    /// ```
    pub fn server_name(&self) -> String {
        self.local.server_name.borrow().clone()
    }

    /// The path listened on (or the abstract name); empty when not
    /// listening. Qt: `QLocalServer::fullServerName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServer::new().full_server_name(), "");
    /// ```
    pub fn full_server_name(&self) -> String {
        self.local.full_server_name.borrow().clone()
    }

    /// Sets the options for the next `listen`.
    /// Qt: `QLocalServer::setSocketOptions()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalServer, LocalServerOptions};
    /// let server = LocalServer::new();
    /// server.set_socket_options(LocalServerOptions::USER_ACCESS);
    /// assert_eq!(server.socket_options(), LocalServerOptions::USER_ACCESS);
    /// ```
    pub fn set_socket_options(&self, options: LocalServerOptions) {
        self.local.options.set(options);
    }

    /// The options. Qt: `QLocalServer::socketOptions()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::LocalServer::new().socket_options().is_empty());
    /// ```
    pub fn socket_options(&self) -> LocalServerOptions {
        self.local.options.get()
    }

    /// The next accepted connection, or `None`; taking one from a full
    /// queue resumes accepting. Its names are the server's (the file name
    /// and the full path). As in Qt, the server owns it until it is
    /// deleted ([`LocalSocket::delete_later`], or the server's end).
    /// Qt: `QLocalServer::nextPendingConnection()`.
    ///
    /// # Examples
    ///
    /// See [`LocalServer`].
    pub fn next_pending_connection(&self) -> Option<LocalSocket> {
        let socket = self.server.next_pending_connection()?;
        let full = self.full_server_name();
        Some(LocalSocket::from_accepted(
            socket,
            &full,
            self.local.abstract_ns.get(),
        ))
    }

    /// Whether accepted connections wait in the queue.
    /// Qt: `QLocalServer::hasPendingConnections()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalServer::new().has_pending_connections());
    /// ```
    pub fn has_pending_connections(&self) -> bool {
        self.server.has_pending_connections()
    }

    /// The queue length at which accepting pauses (default 30).
    /// Qt: `QLocalServer::maxPendingConnections()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServer::new().max_pending_connections(), 30);
    /// ```
    pub fn max_pending_connections(&self) -> usize {
        self.server.max_pending_connections()
    }

    /// Sets the queue limit. Qt: `QLocalServer::setMaxPendingConnections()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::LocalServer::new();
    /// server.set_max_pending_connections(2);
    /// assert_eq!(server.max_pending_connections(), 2);
    /// ```
    pub fn set_max_pending_connections(&self, max: usize) {
        self.server.set_max_pending_connections(max);
    }

    /// The `listen(2)` backlog (default 50).
    /// Qt: `QLocalServer::listenBacklogSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServer::new().listen_backlog_size(), 50);
    /// ```
    pub fn listen_backlog_size(&self) -> i32 {
        self.server.listen_backlog_size()
    }

    /// Sets the backlog for the next `listen`.
    /// Qt: `QLocalServer::setListenBacklogSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = sigloop_net::LocalServer::new();
    /// server.set_listen_backlog_size(1);
    /// assert_eq!(server.listen_backlog_size(), 1);
    /// ```
    pub fn set_listen_backlog_size(&self, backlog: i32) {
        self.server.set_listen_backlog_size(backlog);
    }

    /// Hands every accepted connection's descriptor to `handler` instead of
    /// queueing a [`LocalSocket`]; `new_connection` is still emitted. This
    /// is how connections reach worker threads: send the descriptor, and
    /// adopt it there with [`LocalSocket::set_socket_descriptor`].
    ///
    /// Qt: overriding `QLocalServer::incomingConnection(quintptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, _rx) = mpsc::channel();
    /// let server = sigloop_net::LocalServer::new();
    /// server.set_incoming_connection_handler(move |fd| {
    ///     let _ = tx.send(fd); // a worker thread adopts it
    /// });
    /// ```
    pub fn set_incoming_connection_handler(&self, handler: impl FnMut(OwnedFd) + 'static) {
        self.server.set_incoming_connection_handler(handler);
    }

    /// Blocks until a connection arrives (accepting it as the loop would)
    /// or `timeout` passes (`None`: forever); returns `(ready, timed_out)`.
    /// A timeout leaves [`server_error`](Self::server_error) as it was.
    /// Qt: `QLocalServer::waitForNewConnection(msec, &timedOut)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let name = format!("sigloop-doc-wait-{}", std::process::id());
    /// let server = sigloop_net::LocalServer::new();
    /// server.listen(&name).unwrap();
    /// let _peer = std::os::unix::net::UnixStream::connect(server.full_server_name())?;
    /// assert_eq!(server.wait_for_new_connection(Some(Duration::from_secs(10))), (true, false));
    /// assert!(server.next_pending_connection().is_some());
    /// # server.close();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_for_new_connection(&self, timeout: Option<Duration>) -> (bool, bool) {
        let (error, text) = (self.server_error(), self.error_string());
        let result = self.server.wait_for_new_connection(timeout);
        if result.1 {
            // Qt's local server reports a timeout through `timed_out`
            // only; the error stays what it was.
            self.server.set_server_error(error, text);
        }
        result
    }

    /// The last error. Qt: `QLocalServer::serverError()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalServer, SocketError};
    /// assert_eq!(LocalServer::new().server_error(), SocketError::Unknown);
    /// ```
    pub fn server_error(&self) -> SocketError {
        self.server.server_error()
    }

    /// Qt's text for the last error; empty until one happens.
    /// Qt: `QLocalServer::errorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServer::new().error_string(), "");
    /// ```
    pub fn error_string(&self) -> String {
        self.server.error_string()
    }

    /// The listening descriptor, `None` when not listening.
    /// Qt: `QLocalServer::socketDescriptor()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServer::new().socket_descriptor(), None);
    /// ```
    pub fn socket_descriptor(&self) -> Option<RawFd> {
        self.server.socket_descriptor()
    }

    /// Disconnects every signal of this server from `receiver`; returns
    /// how many connections that broke.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let server = sigloop_net::LocalServer::new();
    /// let owner = Rc::new(());
    /// let _c = server.new_connection().connect_to(&owner, |_, _| {});
    /// assert_eq!(server.disconnect_receiver(&owner), 1);
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.server.disconnect_receiver(receiver)
    }

    /// Stops listening, emits `destroyed` and drops all connections once
    /// control returns to the loop. Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// let server = sigloop_net::LocalServer::new();
    /// server.delete_later();
    /// EventDispatcher::send_posted_deletes();
    /// assert!(server.is_deleted());
    /// ```
    pub fn delete_later(&self) {
        self.server.delete_later();
    }

    /// Whether [`delete_later`](Self::delete_later) has taken effect.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalServer::new().is_deleted());
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.server.is_deleted()
    }
}

/// A non-blocking Unix-domain socket bound to `address` and listening.
fn listening_socket(address: &SockAddr, backlog: i32) -> io::Result<Socket> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(address)?;
    if let Err(err) = socket.listen(backlog) {
        if let Some(path) = address.as_pathname() {
            let _ = std::fs::remove_file(path);
        }
        return Err(err);
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Qt's access-option listen: bind in a private directory beside
/// `target`, set the socket file's `mode`, rename it to `target`.
fn listen_with_mode(target: &Path, mode: u32, backlog: i32) -> io::Result<Socket> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let parent = target.parent().unwrap_or(Path::new("/"));
    let dir = parent.join(format!(
        ".sigloop-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let temporary = dir.join("s");
    let result = (|| {
        let address = SockAddr::unix(&temporary)?;
        let socket = listening_socket(&address, backlog)?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&temporary, target)?;
        Ok(socket)
    })();
    let _ = std::fs::remove_file(&temporary);
    let _ = std::fs::remove_dir(&dir);
    result
}

impl Default for LocalServer {
    fn default() -> Self {
        LocalServer::new()
    }
}

impl WeakLocalServer {
    /// The server, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakLocalServer`].
    pub fn upgrade(&self) -> Option<LocalServer> {
        Some(LocalServer {
            server: self.server.upgrade()?,
            local: self.local.upgrade()?,
        })
    }
}

impl Receiver for LocalServer {
    type Weak = WeakLocalServer;

    fn downgrade(&self) -> WeakLocalServer {
        LocalServer::downgrade(self)
    }

    fn upgrade(weak: &WeakLocalServer) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        Receiver::identity(&self.server)
    }
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("listening", &self.is_listening())
            .field("full_server_name", &self.full_server_name())
            .finish()
    }
}

impl fmt::Debug for WeakLocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakLocalServer")
    }
}
