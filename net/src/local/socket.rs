//! `LocalSocket` (Qt: `QLocalSocket`, Unix implementation): the public
//! surface and the translation of the engine's states and errors;
//! `connect` makes the connection, `device` is the `IoDevice` side.

mod connect;
mod device;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use sigloop_core::OpenMode;
use sigloop_signals::{Receiver, Signal};

use super::name::{self, socket_error_text};
use super::{LocalSocketError, LocalSocketOptions, LocalSocketState};
use crate::socket::SocketState;
use crate::tcp_socket::{TcpSocket, WeakTcpSocket};

use connect::{PendingConnect, CONNECT_RETRY};

/// A connection over a Unix-domain stream socket, driven by the thread's
/// event loop, with `QLocalSocket`'s names, states, errors and signals.
///
/// [`connect_to_server`](Self::connect_to_server) takes a server name: a
/// bare name is a socket file in the temporary directory (`$TMPDIR`, else
/// `/tmp`), a name starting with `/` is a path used as is, and with
/// [`LocalSocketOptions::ABSTRACT_NAMESPACE`] (Linux) the name is in the
/// abstract namespace. The connect itself is immediate: by the time
/// `connect_to_server` returns, the socket is `Connected` (after
/// `state_changed(Connecting)`, `state_changed(Connected)`, `connected`)
/// or `Unconnected` (after `error_occurred`, then
/// `state_changed(Unconnected)`), as in Qt. Only a server whose backlog is
/// full keeps it `Connecting` (retried for up to 30 s).
///
/// Once connected, the bytes move through the same engine as a
/// [`TcpSocket`]'s: `write` buffers and the loop flushes with
/// `bytes_written`; reads come from a read buffer (the
/// [`IoDevice`](sigloop_core::IoDevice) functions `read`, `read_all`,
/// `read_line`, `peek`, `can_read_line`, `bytes_available`...); a peer's
/// close reports `PeerClosed` ("QLocalSocket: Remote closed") while still
/// `Connected`, then `Closing`, `Unconnected`, `read_channel_finished`,
/// `disconnected`, and unread data stays readable.
///
/// A cheap `Clone` handle bound to the thread that made it; the last
/// handle going destroys the socket as Qt's `delete` does.
///
/// Qt: `QLocalSocket`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{EventDispatcher, IoDevice};
/// use sigloop_net::{LocalServer, LocalSocket, LocalSocketState};
///
/// let dir = std::env::temp_dir().join(format!("sigloop-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("hello").to_string_lossy().into_owned();
///
/// let server = LocalServer::new();
/// server.listen(&path).unwrap();
/// let _greet = server.new_connection().connect_to(&server, |server, _| {
///     let peer = server.next_pending_connection().unwrap();
///     peer.write(b"hello").unwrap();
///     peer.disconnect_from_server();
/// });
///
/// let socket = LocalSocket::new();
/// let _read = socket.disconnected().connect_to(&socket, |socket, _| {
///     assert_eq!(socket.read_all().unwrap(), b"hello");
///     EventDispatcher::exit(0);
/// });
/// socket.connect_to_server(&path);
/// assert_eq!(socket.state(), LocalSocketState::Connected);
/// assert_eq!(EventDispatcher::exec(), 0);
/// # server.close();
/// # std::fs::remove_dir(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct LocalSocket {
    socket: TcpSocket,
    local: Rc<Local>,
}

/// A weak handle to a [`LocalSocket`].
///
/// # Examples
///
/// ```
/// let socket = sigloop_net::LocalSocket::new();
/// let weak = socket.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(socket);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakLocalSocket {
    socket: WeakTcpSocket,
    local: Weak<Local>,
}

/// What a local socket adds to the engine's socket: its own state (Qt
/// keeps one beside the engine's), names, options, open flag and the
/// signals whose types or timing differ from the engine's.
struct Local {
    state: Cell<LocalSocketState>,
    /// The local device is open (Qt's `QLocalSocket` is a `QIODevice` of
    /// its own): set by a successful connect, cleared by `close`, which
    /// emits `about_to_close` only while it is set.
    open: Cell<bool>,
    options: Cell<LocalSocketOptions>,
    server_name: RefCell<String>,
    full_server_name: RefCell<String>,
    state_changed: Signal<LocalSocketState>,
    error_occurred: Signal<LocalSocketError>,
    about_to_close: Signal<()>,
    /// A connect waiting for room in a full backlog.
    pending: RefCell<Option<PendingConnect>>,
}

impl Local {
    fn new() -> Rc<Local> {
        Rc::new(Local {
            state: Cell::new(LocalSocketState::Unconnected),
            open: Cell::new(false),
            options: Cell::new(LocalSocketOptions::NO_OPTIONS),
            server_name: RefCell::new(String::new()),
            full_server_name: RefCell::new(String::new()),
            state_changed: Signal::new(),
            error_occurred: Signal::new(),
            about_to_close: Signal::new(),
            pending: RefCell::new(None),
        })
    }

    fn clear_names(&self) {
        self.server_name.borrow_mut().clear();
        self.full_server_name.borrow_mut().clear();
    }

    /// Qt: `QLocalSocketPrivate::_q_stateChanged`: the engine changed
    /// state; the local state follows, announced only if it changed.
    fn engine_state(&self, state: SocketState) {
        let Some(new) = LocalSocketState::from_engine(state) else {
            return;
        };
        let old = self.state.replace(new);
        if new == LocalSocketState::Unconnected {
            self.clear_names();
        }
        if old != new {
            self.state_changed.emit(&new);
        }
    }

    /// Cancels a connect waiting for backlog room; true if there was one.
    fn cancel_pending(&self) -> bool {
        let pending = self.pending.borrow_mut().take();
        // The timer is dropped after the borrow (it emits `destroyed`).
        pending.is_some()
    }
}

impl LocalSocket {
    /// An unconnected socket: state `Unconnected`, not open, error
    /// `Unknown` ("Unknown error").
    ///
    /// Qt: `QLocalSocket::QLocalSocket()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalSocket, LocalSocketError, LocalSocketState};
    /// let socket = LocalSocket::new();
    /// assert_eq!(socket.state(), LocalSocketState::Unconnected);
    /// assert_eq!(socket.error(), LocalSocketError::Unknown);
    /// assert_eq!(socket.error_string(), "Unknown error");
    /// assert!(!socket.is_valid());
    /// ```
    pub fn new() -> Self {
        LocalSocket::wrap(TcpSocket::new())
    }

    /// A local socket over an engine socket: the engine's state changes
    /// and errors are translated to the local ones (Qt's `init()`).
    fn wrap(socket: TcpSocket) -> Self {
        let local = Local::new();
        // The translations hold the local part: it lives as long as the
        // engine's socket does, as Qt's `QLocalSocket` object lives with
        // its `unixSocket` child. A server keeps an accepted socket after
        // the application dropped its handles; a slot connected to it
        // with `connect_to` still finds it then.
        let held = Rc::clone(&local);
        let _ = socket.core.sig.state_changed.connect(move |state| {
            held.engine_state(*state);
        });
        let held = Rc::clone(&local);
        let engine = socket.downgrade();
        let _ = socket.core.sig.error_occurred.connect(move |error| {
            if let Some(engine) = engine.upgrade() {
                let error = LocalSocketError::from_engine(*error);
                record_engine_error(&engine);
                held.error_occurred.emit(&error);
            }
        });
        // Qt's destructor ends like `abort`: the connection's signals, then
        // the local device closes (`about_to_close`), then `destroyed`. A
        // connect still waiting for backlog room stops.
        let held = Rc::clone(&local);
        let _ = socket.destroyed().connect(move |_| {
            held.cancel_pending();
            if held.open.replace(false) {
                held.about_to_close.emit(&());
            }
        });
        LocalSocket { socket, local }
    }

    /// A connection a [`LocalServer`](crate::LocalServer) accepted: the
    /// names are the server's (the file name, and the full path), as Qt
    /// reads them from the accepted descriptor.
    pub(crate) fn from_accepted(socket: TcpSocket, full_name: &str, abstract_ns: bool) -> Self {
        // An error the engine met before this wrapper existed gets its
        // local text now.
        if socket.error() != crate::SocketError::Unknown {
            record_engine_error(&socket);
        }
        let local = LocalSocket::wrap(socket);
        let state = LocalSocketState::from_engine(local.socket.state());
        local.local.state.set(state.unwrap_or_default());
        local.local.open.set(true);
        if abstract_ns {
            local
                .local
                .options
                .set(LocalSocketOptions::ABSTRACT_NAMESPACE);
        }
        *local.local.full_server_name.borrow_mut() = full_name.to_owned();
        *local.local.server_name.borrow_mut() = name::short_name(full_name, abstract_ns);
        local
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakLocalSocket`].
    pub fn downgrade(&self) -> WeakLocalSocket {
        WeakLocalSocket {
            socket: self.socket.downgrade(),
            local: Rc::downgrade(&self.local),
        }
    }

    // ----- signals -----------------------------------------------------

    /// Connected, right after `state_changed(Connected)`; from inside
    /// `connect_to_server` when the server had room.
    /// Qt: `QLocalSocket::connected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.connected().connect(|_| println!("connected"));
    /// ```
    pub fn connected(&self) -> &Signal<()> {
        self.socket.connected()
    }

    /// Last in a close of a connected socket (after
    /// `read_channel_finished`). Qt: `QLocalSocket::disconnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.disconnected().connect_to(&socket, |s, _| s.delete_later());
    /// ```
    pub fn disconnected(&self) -> &Signal<()> {
        self.socket.disconnected()
    }

    /// Every change of [`state`](Self::state).
    /// Qt: `QLocalSocket::stateChanged(LocalSocketState)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.state_changed().connect(|state| println!("{}", state.qt_name()));
    /// ```
    pub fn state_changed(&self) -> &Signal<LocalSocketState> {
        &self.local.state_changed
    }

    /// An error; [`error_string`](Self::error_string) has Qt's text. A
    /// failed connect emits it while still `Connecting`, before
    /// `state_changed(Unconnected)`. Qt: `QLocalSocket::errorOccurred()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.error_occurred().connect_to(&socket, |s, e| {
    ///     eprintln!("{e}: {}", s.error_string());
    /// });
    /// ```
    pub fn error_occurred(&self) -> &Signal<LocalSocketError> {
        &self.local.error_occurred
    }

    /// New data is in the read buffer (never emitted recursively).
    /// Qt: `QIODevice::readyRead()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::IoDevice;
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.ready_read().connect_to(&socket, |s, _| {
    ///     let _data = s.read_all();
    /// });
    /// ```
    pub fn ready_read(&self) -> &Signal<()> {
        self.socket.ready_read()
    }

    /// The OS took `n` bytes of the write buffer (emitted from the loop,
    /// never from inside `write`). Qt: `QIODevice::bytesWritten(qint64)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.bytes_written().connect(|n| println!("{n} bytes out"));
    /// ```
    pub fn bytes_written(&self) -> &Signal<u64> {
        self.socket.bytes_written()
    }

    /// The socket is about to close: first in [`close`](Self::close), last
    /// in [`abort`](Self::abort) (Qt closes the local device after the
    /// connection there). Only while the socket is open.
    /// Qt: `QIODevice::aboutToClose()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.about_to_close().connect(|_| println!("closing"));
    /// ```
    pub fn about_to_close(&self) -> &Signal<()> {
        &self.local.about_to_close
    }

    /// No more data will arrive (the connection closed), before
    /// `disconnected`. Qt: `QIODevice::readChannelFinished()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.read_channel_finished().connect(|_| println!("no more data"));
    /// ```
    pub fn read_channel_finished(&self) -> &Signal<()> {
        self.socket.read_channel_finished()
    }

    /// Emitted when the socket is destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// let _c = socket.destroyed().connect(|_| println!("gone"));
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.socket.destroyed()
    }

    // ----- connecting and closing --------------------------------------

    /// Connects to the server `name` for reading and writing; see
    /// [`connect_to_server_with`](Self::connect_to_server_with).
    ///
    /// Qt: `QLocalSocket::connectToServer(name)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalSocket, LocalSocketError, LocalSocketState};
    /// let socket = LocalSocket::new();
    /// socket.connect_to_server("/nonexistent/sigloop-doc");
    /// assert_eq!(socket.state(), LocalSocketState::Unconnected);
    /// assert_eq!(socket.error(), LocalSocketError::ServerNotFound);
    /// assert_eq!(socket.error_string(), "QLocalSocket::connectToServer: Invalid name");
    /// ```
    pub fn connect_to_server(&self, name: &str) {
        self.connect_to_server_with(name, OpenMode::READ_WRITE);
    }

    /// Connects to the server `name`, opening the socket with `mode` once
    /// connected. `state_changed(Connecting)` comes first. A missing file
    /// or empty name gives `ServerNotFound`, a socket file with no server
    /// `ConnectionRefused`, no permission `SocketAccess`; the error is
    /// emitted while `Connecting`, then `state_changed(Unconnected)`, and
    /// the names are cleared. Calling it while `Connecting` or `Connected`
    /// emits `Operation` and changes nothing.
    ///
    /// Qt: `QLocalSocket::connectToServer(name, openMode)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.connect_to_server_with("", OpenMode::READ_ONLY);
    /// assert_eq!(socket.error(), sigloop_net::LocalSocketError::ServerNotFound);
    /// ```
    pub fn connect_to_server_with(&self, name: &str, mode: OpenMode) {
        self.set_server_name(name);
        self.connect_now(mode);
    }

    /// Sets the name the next connect uses; ignored (with Qt's warning)
    /// unless `Unconnected`. Qt: `QLocalSocket::setServerName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.set_server_name("fortune");
    /// assert_eq!(socket.server_name(), "fortune");
    /// ```
    pub fn set_server_name(&self, name: &str) {
        if self.state() != LocalSocketState::Unconnected {
            log::warn!("LocalSocket::set_server_name() called while not in unconnected state");
            return;
        }
        *self.local.server_name.borrow_mut() = name.to_owned();
    }

    /// The name given to connect (for an accepted connection: the server's
    /// file name); empty again once unconnected.
    /// Qt: `QLocalSocket::serverName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocket::new().server_name(), "");
    /// ```
    pub fn server_name(&self) -> String {
        self.local.server_name.borrow().clone()
    }

    /// The path (or abstract name) connected to: a bare name's is in the
    /// temporary directory; empty when unconnected.
    /// Qt: `QLocalSocket::fullServerName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocket::new().full_server_name(), "");
    /// ```
    pub fn full_server_name(&self) -> String {
        self.local.full_server_name.borrow().clone()
    }

    /// Sets the options for the next connect.
    /// Qt: `QLocalSocket::setSocketOptions()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalSocket, LocalSocketOptions};
    /// let socket = LocalSocket::new();
    /// socket.set_socket_options(LocalSocketOptions::ABSTRACT_NAMESPACE);
    /// assert_eq!(socket.socket_options(), LocalSocketOptions::ABSTRACT_NAMESPACE);
    /// ```
    pub fn set_socket_options(&self, options: LocalSocketOptions) {
        if self.state() != LocalSocketState::Unconnected {
            log::warn!("LocalSocket::set_socket_options() called while not in unconnected state");
            return;
        }
        self.local.options.set(options);
    }

    /// The options. Qt: `QLocalSocket::socketOptions()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::LocalSocket::new().socket_options().is_empty());
    /// ```
    pub fn socket_options(&self) -> LocalSocketOptions {
        self.local.options.get()
    }

    /// Closes gracefully: `Closing` while the write buffer drains, then
    /// `Unconnected`, `read_channel_finished`, `disconnected`. The socket
    /// stays open: unread data can still be read.
    /// Qt: `QLocalSocket::disconnectFromServer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.disconnect_from_server(); // unconnected: nothing happens
    /// ```
    pub fn disconnect_from_server(&self) {
        self.socket.disconnect_from_host();
    }

    /// `about_to_close` (if open), then the graceful disconnect; unread
    /// data is dropped and the names are cleared. Qt: `QLocalSocket::close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::IoDevice;
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.close();
    /// assert!(!socket.is_open());
    /// ```
    pub fn close(&self) {
        if self.local.open.replace(false) {
            self.local.about_to_close.emit(&());
        }
        self.socket.close();
        let was_connecting = self.local.cancel_pending();
        if was_connecting && self.local.state.get() == LocalSocketState::Connecting {
            // The engine never left `Unconnected` for this connect.
            self.local.engine_state(SocketState::Unconnected);
        }
        self.local.clear_names();
    }

    /// Drops pending writes and closes at once (no `Closing`), then closes
    /// the device: `state_changed(Unconnected)`, `read_channel_finished`,
    /// `disconnected`, then `about_to_close`. Qt: `QLocalSocket::abort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.abort();
    /// ```
    pub fn abort(&self) {
        self.socket.abort();
        self.close();
    }

    // ----- state ---------------------------------------------------------

    /// The state. Qt: `QLocalSocket::state()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalSocket, LocalSocketState};
    /// assert_eq!(LocalSocket::new().state(), LocalSocketState::Unconnected);
    /// ```
    pub fn state(&self) -> LocalSocketState {
        self.local.state.get()
    }

    /// The last error. Qt: `QLocalSocket::error()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{LocalSocket, LocalSocketError};
    /// assert_eq!(LocalSocket::new().error(), LocalSocketError::Unknown);
    /// ```
    pub fn error(&self) -> LocalSocketError {
        LocalSocketError::from_engine(self.socket.error())
    }

    /// Qt's text for the last error, such as "QLocalSocket: Remote closed".
    /// Qt: `QIODevice::errorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocket::new().error_string(), "Unknown error");
    /// ```
    pub fn error_string(&self) -> String {
        self.socket.error_string()
    }

    /// Whether the socket has a connection. Qt: `QLocalSocket::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalSocket::new().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.socket.is_valid()
    }

    /// The connection's descriptor, `None` when unconnected.
    /// Qt: `QLocalSocket::socketDescriptor()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocket::new().socket_descriptor(), None);
    /// ```
    pub fn socket_descriptor(&self) -> Option<RawFd> {
        self.socket.socket_descriptor()
    }

    /// Adopts a connected Unix-domain stream socket in `state`, open with
    /// `mode`; the names are read from the socket (its peer's, else its
    /// own address). `state_changed` is not emitted, nor `connected`.
    ///
    /// Qt: `QLocalSocket::setSocketDescriptor()`.
    ///
    /// # Errors
    ///
    /// [`LocalSocketError::UnsupportedSocketOperation`] if `fd` is not a
    /// stream socket or the loop refuses it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{IoDevice, OpenMode};
    /// use sigloop_net::{LocalSocket, LocalSocketState};
    ///
    /// let (ours, _theirs) = std::os::unix::net::UnixStream::pair()?;
    /// let socket = LocalSocket::new();
    /// socket.set_socket_descriptor(ours.into(), LocalSocketState::Connected, OpenMode::READ_WRITE).unwrap();
    /// assert_eq!(socket.state(), LocalSocketState::Connected);
    /// assert!(socket.is_open());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_socket_descriptor(
        &self,
        fd: OwnedFd,
        state: LocalSocketState,
        mode: OpenMode,
    ) -> Result<(), LocalSocketError> {
        let names = name::describe(fd.as_raw_fd());
        let engine_state = match state {
            LocalSocketState::Unconnected => SocketState::Unconnected,
            LocalSocketState::Connecting => SocketState::Connecting,
            LocalSocketState::Connected => SocketState::Connected,
            LocalSocketState::Closing => SocketState::Closing,
        };
        self.local.cancel_pending();
        self.local.open.set(true);
        self.local.state.set(state);
        if let Some((full, abstract_ns)) = names {
            *self.local.server_name.borrow_mut() = name::short_name(&full, abstract_ns);
            *self.local.full_server_name.borrow_mut() = full;
            // The only option: whether the address is abstract.
            self.local.options.set(if abstract_ns {
                LocalSocketOptions::ABSTRACT_NAMESPACE
            } else {
                LocalSocketOptions::NO_OPTIONS
            });
        }
        self.socket
            .set_socket_descriptor(fd, engine_state, mode)
            .map_err(|_| LocalSocketError::UnsupportedSocketOperation)
    }

    // ----- buffers -------------------------------------------------------

    /// Bytes in the write buffer not yet taken by the OS.
    /// Qt: `QLocalSocket::bytesToWrite()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocket::new().bytes_to_write(), 0);
    /// ```
    pub fn bytes_to_write(&self) -> usize {
        self.socket.bytes_to_write()
    }

    /// The read buffer limit (0: unlimited).
    /// Qt: `QLocalSocket::readBufferSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocket::new().read_buffer_size(), 0);
    /// ```
    pub fn read_buffer_size(&self) -> i64 {
        self.socket.read_buffer_size()
    }

    /// Limits the read buffer: at the limit the socket stops reading from
    /// the OS until the application reads. Qt: `QLocalSocket::setReadBufferSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.set_read_buffer_size(4096);
    /// assert_eq!(socket.read_buffer_size(), 4096);
    /// ```
    pub fn set_read_buffer_size(&self, size: i64) {
        self.socket.set_read_buffer_size(size);
    }

    /// Writes as much of the write buffer as the OS takes now, without
    /// blocking; true if something was written. Qt: `QLocalSocket::flush()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalSocket::new().flush());
    /// ```
    pub fn flush(&self) -> bool {
        self.socket.flush()
    }

    // ----- blocking waits ------------------------------------------------

    /// Waits without an event loop until connected (`None`: forever).
    /// A connect is immediate unless the server's backlog is full, so this
    /// only waits in that case; otherwise it says whether the socket is
    /// connected. Qt: `QLocalSocket::waitForConnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::LocalSocket::new();
    /// assert!(!socket.wait_for_connected(Some(Duration::from_millis(10))));
    /// ```
    pub fn wait_for_connected(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        while self.state() == LocalSocketState::Connecting {
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let step = deadline.map_or(CONNECT_RETRY, |d| (d - now).min(CONNECT_RETRY));
            if !self.wait_backlog_room(step) {
                break;
            }
            self.try_connect();
        }
        self.state() == LocalSocketState::Connected
    }

    /// Waits without an event loop for data (`None`: forever); false at
    /// once when unconnected. Qt: `QLocalSocket::waitForReadyRead()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::LocalSocket::new();
    /// assert!(!socket.wait_for_ready_read(Some(Duration::from_millis(10))));
    /// ```
    pub fn wait_for_ready_read(&self, timeout: Option<Duration>) -> bool {
        if self.state() == LocalSocketState::Unconnected {
            return false;
        }
        self.socket.wait_for_ready_read(timeout)
    }

    /// Waits without an event loop until a write goes out (`None`:
    /// forever). Qt: `QLocalSocket::waitForBytesWritten()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::LocalSocket::new();
    /// assert!(!socket.wait_for_bytes_written(Some(Duration::from_millis(10))));
    /// ```
    pub fn wait_for_bytes_written(&self, timeout: Option<Duration>) -> bool {
        self.socket.wait_for_bytes_written(timeout)
    }

    /// Waits without an event loop until disconnected (`None`: forever);
    /// false with Qt's warning when already unconnected.
    /// Qt: `QLocalSocket::waitForDisconnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::LocalSocket::new();
    /// assert!(!socket.wait_for_disconnected(Some(Duration::from_millis(10))));
    /// ```
    pub fn wait_for_disconnected(&self, timeout: Option<Duration>) -> bool {
        if self.state() == LocalSocketState::Unconnected {
            log::warn!("LocalSocket::wait_for_disconnected() is not allowed in UnconnectedState");
            return false;
        }
        self.socket.wait_for_disconnected(timeout)
    }

    // ----- object --------------------------------------------------------

    /// Blocks (or unblocks) every signal; returns the previous setting.
    /// Qt: `QObject::blockSignals()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::LocalSocket::new();
    /// assert!(!socket.block_signals(true));
    /// assert!(socket.signals_blocked());
    /// ```
    pub fn block_signals(&self, block: bool) -> bool {
        let was = self.socket.block_signals(block);
        self.local.state_changed.block_signals(block);
        self.local.error_occurred.block_signals(block);
        self.local.about_to_close.block_signals(block);
        was
    }

    /// Whether signals are blocked. Qt: `QObject::signalsBlocked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalSocket::new().signals_blocked());
    /// ```
    pub fn signals_blocked(&self) -> bool {
        self.socket.signals_blocked()
    }

    /// Disconnects every signal of this socket from `receiver`; returns
    /// how many connections that broke.
    /// Qt: `QObject::disconnect(socket, nullptr, receiver, nullptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let socket = sigloop_net::LocalSocket::new();
    /// let owner = Rc::new(());
    /// let _c = socket.state_changed().connect_to(&owner, |_, _| {});
    /// let _d = socket.connected().connect_to(&owner, |_, _| {});
    /// assert_eq!(socket.disconnect_receiver(&owner), 2);
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.socket.disconnect_receiver(receiver)
            + self.local.state_changed.disconnect_receiver(receiver)
            + self.local.error_occurred.disconnect_receiver(receiver)
            + self.local.about_to_close.disconnect_receiver(receiver)
    }

    /// Aborts, emits `destroyed` and drops every connection once control
    /// returns to the loop. Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// let socket = sigloop_net::LocalSocket::new();
    /// socket.delete_later();
    /// EventDispatcher::send_posted_deletes();
    /// assert!(socket.is_deleted());
    /// ```
    pub fn delete_later(&self) {
        self.socket.delete_later();
    }

    /// Whether the socket was deleted.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::LocalSocket::new().is_deleted());
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.socket.is_deleted()
    }
}

/// Qt: `QLocalSocketPrivate::_q_errorOccurred`: the engine's error gets
/// the local text ("QLocalSocket: Remote closed").
fn record_engine_error(engine: &TcpSocket) {
    let code = engine.error();
    let text = socket_error_text(LocalSocketError::from_engine(code), "QLocalSocket", None);
    engine.core.set_error(code, text);
}

impl Default for LocalSocket {
    fn default() -> Self {
        LocalSocket::new()
    }
}

impl WeakLocalSocket {
    /// The socket, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakLocalSocket`].
    pub fn upgrade(&self) -> Option<LocalSocket> {
        Some(LocalSocket {
            socket: self.socket.upgrade()?,
            local: self.local.upgrade()?,
        })
    }
}

impl Receiver for LocalSocket {
    type Weak = WeakLocalSocket;

    fn downgrade(&self) -> WeakLocalSocket {
        LocalSocket::downgrade(self)
    }

    fn upgrade(weak: &WeakLocalSocket) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        self.socket.core.as_ptr() as usize
    }
}

impl fmt::Debug for LocalSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSocket")
            .field("state", &self.state())
            .field("full_server_name", &self.full_server_name())
            .finish()
    }
}

impl fmt::Debug for WeakLocalSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakLocalSocket")
    }
}
