//! `SslSocket` (Qt: `QSslSocket`): a `TcpSocket` whose bytes can go
//! through TLS. The TLS layer itself lives in the socket engine
//! (`socket/tls.rs`); this is its public face.

use std::fmt;
use std::os::fd::OwnedFd;
use std::rc::Weak;
use std::time::Duration;

use sigloop_core::{DeviceError, IoDevice, OpenMode};
use sigloop_signals::{Receiver, Signal};

use super::{
    AlertLevel, AlertType, NextProtocolNegotiationStatus, PeerVerifyMode, SslCertificate,
    SslCipher, SslConfiguration, SslError, SslKey, SslProtocol,
};
use crate::abstract_socket::AbstractSocket;
use crate::host_address::NetworkLayerProtocol;
use crate::socket::engine::SocketCore;
use crate::socket::tls::{Phase, TlsState};
use crate::socket::{SocketError, SocketState};
use crate::tcp_socket::TcpSocket;

/// Whether and how a socket is encrypted. Qt: `QSslSocket::SslMode`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::SslMode;
/// assert_eq!(SslMode::Client as i32, 1);
/// assert_eq!(SslMode::Server.qt_name(), "SslServerMode");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum SslMode {
    /// Plain TCP, as a `TcpSocket`. Qt: `UnencryptedMode`.
    #[default]
    Unencrypted = 0,
    /// The client side of a TLS session (handshaking or encrypted).
    /// Qt: `SslClientMode`.
    Client = 1,
    /// The server side of a TLS session. Qt: `SslServerMode`.
    Server = 2,
}

impl SslMode {
    /// Qt's enumerator name (`"SslClientMode"`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslMode::Unencrypted.qt_name(), "UnencryptedMode");
    /// ```
    pub fn qt_name(self) -> &'static str {
        match self {
            SslMode::Unencrypted => "UnencryptedMode",
            SslMode::Client => "SslClientMode",
            SslMode::Server => "SslServerMode",
        }
    }
}

/// When a socket stops to let the application decide.
/// Qt: `QAbstractSocket::PauseModes` (only `PauseOnSslErrors` exists).
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::PauseMode;
/// assert_eq!(PauseMode::default(), PauseMode::Never);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum PauseMode {
    /// Never pause. Qt: `PauseNever`.
    #[default]
    Never = 0,
    /// Stop after `ssl_errors` until [`SslSocket::resume`].
    /// Qt: `PauseOnSslErrors`.
    OnSslErrors = 1,
}

/// An alert and its description, as the alert signals carry them.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::{Alert, AlertLevel, AlertType};
/// let alert: Alert = (AlertLevel::Warning, AlertType::CloseNotify, "close notify".into());
/// assert_eq!(alert.1.description(), alert.2);
/// ```
pub type Alert = (AlertLevel, AlertType, String);

/// `SslSocket`'s own signals, made on first use.
#[derive(Default)]
pub(crate) struct SslSignals {
    pub(crate) encrypted: Signal<()>,
    pub(crate) mode_changed: Signal<SslMode>,
    pub(crate) encrypted_bytes_written: Signal<u64>,
    pub(crate) peer_verify_error: Signal<SslError>,
    pub(crate) ssl_errors: Signal<Vec<SslError>>,
    pub(crate) alert_sent: Signal<Alert>,
    pub(crate) alert_received: Signal<Alert>,
    pub(crate) handshake_interrupted_on_error: Signal<SslError>,
}

impl SslSignals {
    pub(crate) fn block(&self, block: bool) {
        self.encrypted.block_signals(block);
        self.mode_changed.block_signals(block);
        self.encrypted_bytes_written.block_signals(block);
        self.peer_verify_error.block_signals(block);
        self.ssl_errors.block_signals(block);
        self.alert_sent.block_signals(block);
        self.alert_received.block_signals(block);
        self.handshake_interrupted_on_error.block_signals(block);
    }

    pub(crate) fn disconnect_all(&self) {
        self.encrypted.disconnect_all();
        self.mode_changed.disconnect_all();
        self.encrypted_bytes_written.disconnect_all();
        self.peer_verify_error.disconnect_all();
        self.ssl_errors.disconnect_all();
        self.alert_sent.disconnect_all();
        self.alert_received.disconnect_all();
        self.handshake_interrupted_on_error.disconnect_all();
    }

    pub(crate) fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.encrypted.disconnect_receiver(receiver)
            + self.mode_changed.disconnect_receiver(receiver)
            + self.encrypted_bytes_written.disconnect_receiver(receiver)
            + self.peer_verify_error.disconnect_receiver(receiver)
            + self.ssl_errors.disconnect_receiver(receiver)
            + self.alert_sent.disconnect_receiver(receiver)
            + self.alert_received.disconnect_receiver(receiver)
            + self
                .handshake_interrupted_on_error
                .disconnect_receiver(receiver)
    }
}

/// A TCP connection that can be encrypted with TLS, with Qt's handshake
/// signals, verification and error reporting.
///
/// Everything [`TcpSocket`] does, `SslSocket` does: it dereferences to
/// it (and through it to [`AbstractSocket`]), and reads and writes with
/// [`IoDevice`]. Until a handshake starts it *is* a plain TCP socket. A
/// client calls [`connect_to_host_encrypted`](Self::connect_to_host_encrypted)
/// (or [`start_client_encryption`](Self::start_client_encryption) on a
/// plain connection); a server adopts a connection and calls
/// [`start_server_encryption`](Self::start_server_encryption), or lets
/// [`SslServer`](crate::ssl::SslServer) do it.
///
/// Qt's sequence on a client: `state_changed(Connected)`,
/// `mode_changed(Client)`, `connected`, `encrypted_bytes_written`
/// (the ClientHello), then `peer_verify_error` once per verification
/// error and `ssl_errors` with the list, then `encrypted`; or, when the
/// errors are not ignored, `error_occurred(SslHandshakeFailed)` with the
/// first error's text and the close sequence. Data written before
/// `encrypted` is queued; `bytes_written` counts plaintext once
/// encrypted and `encrypted_bytes_written` what reached the OS;
/// `bytes_available` and `ready_read` are about plaintext only.
///
/// Built on rustls with the ring provider; see the crate README for what
/// differs from Qt's OpenSSL backend.
///
/// Qt: `QSslSocket`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{EventDispatcher, IoDevice};
/// use sigloop_net::ssl::{SslConfiguration, SslServer, SslSocket};
/// use sigloop_net::HostAddress;
///
/// // A throwaway certificate for localhost.
/// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// let certificate = sigloop_net::ssl::SslCertificate::from_pem(made.cert.pem().as_bytes()).unwrap();
/// let key = sigloop_net::ssl::SslKey::from_pem(made.signing_key.serialize_pem().as_bytes()).unwrap();
///
/// let mut server_config = SslConfiguration::default_configuration();
/// server_config.set_local_certificate(certificate.clone());
/// server_config.set_private_key(key);
/// let server = SslServer::new();
/// server.set_ssl_configuration(server_config);
/// server.listen(&"127.0.0.1".parse::<HostAddress>().unwrap(), 0).unwrap();
/// let _s = server.pending_connection_available().connect_to(&server, |server, _| {
///     if let Some(peer) = server.next_pending_connection() {
///         peer.write(b"hello over tls").unwrap();
///     }
/// });
///
/// let client = SslSocket::new();
/// let mut config = client.ssl_configuration();
/// config.set_ca_certificates(vec![certificate]); // trust the throwaway certificate
/// client.set_ssl_configuration(config);
/// let _r = client.ready_read().connect_to(&client, |client, _| {
///     if client.bytes_available() >= 14 {
///         assert_eq!(client.read_all().unwrap(), b"hello over tls");
///         EventDispatcher::exit(0);
///     }
/// });
/// client.connect_to_host_encrypted("localhost", server.server_port());
/// assert_eq!(EventDispatcher::exec(), 0);
/// assert!(client.is_encrypted());
/// ```
#[derive(Clone)]
pub struct SslSocket {
    socket: TcpSocket,
}

/// A weak handle to an [`SslSocket`].
///
/// # Examples
///
/// ```
/// let socket = sigloop_net::ssl::SslSocket::new();
/// let weak = socket.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(socket);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakSslSocket {
    core: Weak<SocketCore>,
}

impl SslSocket {
    /// An unconnected socket in [`SslMode::Unencrypted`] with a copy of
    /// [`SslConfiguration::default_configuration`].
    /// Qt: `QSslSocket::QSslSocket()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslMode, SslSocket};
    /// let socket = SslSocket::new();
    /// assert_eq!(socket.mode(), SslMode::Unencrypted);
    /// assert!(!socket.is_encrypted());
    /// ```
    pub fn new() -> SslSocket {
        SslSocket::from_tcp(TcpSocket::new())
    }

    /// Makes `socket` an `SslSocket` (a server's accepted connection).
    pub(crate) fn from_tcp(socket: TcpSocket) -> SslSocket {
        {
            let mut d = socket.core.d.borrow_mut();
            let rare = d.rare_mut();
            if rare.tls.is_none() {
                rare.tls = Some(Box::new(TlsState::new(
                    SslConfiguration::default_configuration(),
                )));
            }
        }
        SslSocket { socket }
    }

    /// The `SslSocket` behind `socket`, if it is one.
    pub(crate) fn from_tcp_if_ssl(socket: TcpSocket) -> Option<SslSocket> {
        let is_ssl = socket.core.d.borrow().tls().is_some();
        is_ssl.then_some(SslSocket { socket })
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakSslSocket`].
    pub fn downgrade(&self) -> WeakSslSocket {
        WeakSslSocket {
            core: self.core.downgrade(),
        }
    }

    fn tls<R>(&self, f: impl FnOnce(&TlsState) -> R) -> R {
        let d = self.core.d.borrow();
        let tls = d.tls();
        match tls {
            Some(tls) => f(tls),
            // Every `SslSocket` is made with a TLS layer.
            None => f(&TlsState::new(SslConfiguration::new())),
        }
    }

    fn tls_mut<R>(&self, f: impl FnOnce(&mut TlsState) -> R) -> Option<R> {
        self.core.with_tls(f)
    }

    // ----- signals --------------------------------------------------------

    /// The handshake succeeded: the socket is encrypted.
    /// Qt: `QSslSocket::encrypted()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.encrypted().connect(|_| println!("secure"));
    /// ```
    pub fn encrypted(&self) -> &Signal<()> {
        &self.core.sig.ssl().encrypted
    }

    /// The mode changed from `Unencrypted` to `Client` or `Server`.
    /// Qt: `QSslSocket::modeChanged(SslMode)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.mode_changed().connect(|mode| println!("{mode:?}"));
    /// ```
    pub fn mode_changed(&self) -> &Signal<SslMode> {
        &self.core.sig.ssl().mode_changed
    }

    /// TLS bytes (records, handshake included) the OS took.
    /// Qt: `QSslSocket::encryptedBytesWritten(qint64)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.encrypted_bytes_written().connect(|n| println!("{n} bytes on the wire"));
    /// ```
    pub fn encrypted_bytes_written(&self) -> &Signal<u64> {
        &self.core.sig.ssl().encrypted_bytes_written
    }

    /// One verification error, before `ssl_errors`; a slot may abort.
    /// Qt: `QSslSocket::peerVerifyError(const QSslError &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.peer_verify_error().connect(|e| println!("{}", e.error_string()));
    /// ```
    pub fn peer_verify_error(&self) -> &Signal<SslError> {
        &self.core.sig.ssl().peer_verify_error
    }

    /// Every verification error of the handshake. Unless a slot calls
    /// [`ignore_ssl_errors`](Self::ignore_ssl_errors) (or the list was
    /// ignored before), the handshake fails after it. Connect directly:
    /// ignoring from a queued slot comes too late, as in Qt.
    /// Qt: `QSslSocket::sslErrors(const QList<QSslError> &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.ssl_errors().connect_to(&socket, |socket, errors| {
    ///     eprintln!("{} errors, going on anyway", errors.len());
    ///     socket.ignore_ssl_errors();
    /// });
    /// ```
    pub fn ssl_errors(&self) -> &Signal<Vec<SslError>> {
        &self.core.sig.ssl().ssl_errors
    }

    /// An alert this side sent: (level, type, description). rustls tells
    /// of no alert it sends itself, so only the close_notify alerts are
    /// reported (Qt reports each alert OpenSSL sends).
    /// Qt: `QSslSocket::alertSent(QSsl::AlertLevel, QSsl::AlertType, const QString &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.alert_sent().connect(|(level, kind, text)| println!("{level:?} {kind:?} {text}"));
    /// ```
    pub fn alert_sent(&self) -> &Signal<Alert> {
        &self.core.sig.ssl().alert_sent
    }

    /// A fatal alert the peer sent (rustls reports those only; a
    /// close_notify shows as the remote close "The TLS/SSL connection has
    /// been closed").
    /// Qt: `QSslSocket::alertReceived(QSsl::AlertLevel, QSsl::AlertType, const QString &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.alert_received().connect(|(_, kind, text)| println!("{kind:?}: {text}"));
    /// ```
    pub fn alert_received(&self) -> &Signal<Alert> {
        &self.core.sig.ssl().alert_received
    }

    /// With [`SslConfiguration::set_handshake_must_interrupt_on_error`]:
    /// the first verification error, before any other signal. Unless the
    /// slot calls [`continue_interrupted_handshake`](Self::continue_interrupted_handshake),
    /// the handshake fails. Qt: `QSslSocket::handshakeInterruptedOnError(const QSslError &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// let _c = socket.handshake_interrupted_on_error().connect_to(&socket, |socket, _| {
    ///     socket.continue_interrupted_handshake();
    /// });
    /// ```
    pub fn handshake_interrupted_on_error(&self) -> &Signal<SslError> {
        &self.core.sig.ssl().handshake_interrupted_on_error
    }

    // ----- starting TLS ---------------------------------------------------

    /// Connects to `host`:`port` and starts the client handshake once
    /// connected; the peer's certificate must name `host`. Write at once
    /// if you like: the data waits for `encrypted`.
    /// A socket already connecting or connected warns and does nothing.
    /// Qt: `QSslSocket::connectToHostEncrypted(hostName, port)`.
    ///
    /// # Examples
    ///
    /// See [`SslSocket`].
    pub fn connect_to_host_encrypted(&self, host: &str, port: u16) {
        self.connect_encrypted(host, port, None);
    }

    /// As [`connect_to_host_encrypted`](Self::connect_to_host_encrypted),
    /// but the certificate must name `peer_verify_name` (also sent as
    /// SNI) instead of `host`.
    /// Qt: `QSslSocket::connectToHostEncrypted(hostName, port, sslPeerName)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// socket.connect_to_host_encrypted_with_name("127.0.0.1", 9, "localhost");
    /// assert_eq!(socket.peer_verify_name(), "localhost");
    /// socket.abort();
    /// ```
    pub fn connect_to_host_encrypted_with_name(
        &self,
        host: &str,
        port: u16,
        peer_verify_name: &str,
    ) {
        self.connect_encrypted(host, port, Some(peer_verify_name));
    }

    fn connect_encrypted(&self, host: &str, port: u16, name: Option<&str>) {
        if matches!(
            self.state(),
            SocketState::Connected | SocketState::Connecting
        ) {
            log::warn!(
                "SslSocket::connect_to_host_encrypted() called when already connecting/connected"
            );
            return;
        }
        // Qt refuses a protocol no backend speaks before connecting.
        if let Err(why) = self.ssl_configuration().check_protocol() {
            log::warn!("SslSocket::connect_to_host_encrypted: {why}");
            self.core.raise(
                SocketError::SslInvalidUserData,
                crate::socket::tls::UNSUPPORTED_PROTOCOL,
            );
            return;
        }
        self.tls_mut(|tls| {
            if let Some(name) = name {
                tls.verify_name = name.to_owned();
            }
            tls.prepare_encrypted_connect();
        });
        self.core.connect_to_host(
            host,
            port,
            OpenMode::READ_WRITE,
            NetworkLayerProtocol::AnyIP,
        );
    }

    /// Starts the client handshake on a plain connected socket. Warns and
    /// does nothing on a socket that is not connected or not plain.
    /// Qt: `QSslSocket::startClientEncryption()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslMode, SslSocket};
    /// let socket = SslSocket::new();
    /// socket.start_client_encryption(); // not connected: a warning only
    /// assert_eq!(socket.mode(), SslMode::Unencrypted);
    /// ```
    pub fn start_client_encryption(&self) {
        self.core.start_client_encryption();
    }

    /// Starts the server handshake on a plain connected socket (with the
    /// configuration's local certificate and key). Bytes the peer sent
    /// that were read as plaintext already are the handshake's first
    /// input. Qt: `QSslSocket::startServerEncryption()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslMode, SslSocket};
    /// let socket = SslSocket::new();
    /// socket.start_server_encryption(); // not connected: a warning only
    /// assert_eq!(socket.mode(), SslMode::Unencrypted);
    /// ```
    pub fn start_server_encryption(&self) {
        self.core.start_server_encryption();
    }

    /// Adopts a connected socket, plain (the pre-6.4 server pattern: then
    /// [`start_server_encryption`](Self::start_server_encryption)). The
    /// TLS state of an earlier connection goes.
    /// Qt: `QSslSocket::setSocketDescriptor()`.
    ///
    /// # Errors
    ///
    /// As [`TcpSocket::set_socket_descriptor`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// use sigloop_net::{ssl::SslSocket, SocketState};
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let socket = SslSocket::new();
    /// socket.set_socket_descriptor(client.into(), SocketState::Connected, OpenMode::READ_WRITE).unwrap();
    /// assert_eq!(socket.state(), SocketState::Connected);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_socket_descriptor(
        &self,
        fd: OwnedFd,
        state: SocketState,
        mode: OpenMode,
    ) -> Result<(), SocketError> {
        self.tls_mut(TlsState::reset_for_new_connection);
        self.socket.set_socket_descriptor(fd, state, mode)
    }

    /// The mode: plain, or which side of a TLS session.
    /// Qt: `QSslSocket::mode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslMode, SslSocket};
    /// assert_eq!(SslSocket::new().mode(), SslMode::Unencrypted);
    /// ```
    pub fn mode(&self) -> SslMode {
        self.tls(|t| t.mode)
    }

    /// Whether the handshake succeeded and the connection is up.
    /// Qt: `QSslSocket::isEncrypted()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::ssl::SslSocket::new().is_encrypted());
    /// ```
    pub fn is_encrypted(&self) -> bool {
        self.tls(|t| t.phase == Phase::Encrypted)
    }

    /// Blocks (without an event loop) until the socket is encrypted, the
    /// handshake fails, or `timeout` passes (`None` or `Duration::MAX`:
    /// no limit). `false` at once on a socket already encrypted or with
    /// no handshake coming, as in Qt. A timeout emits
    /// `error_occurred(SocketTimeout)` and leaves the socket open.
    /// Qt: `QSslSocket::waitForEncrypted(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// assert!(!socket.wait_for_encrypted(Some(Duration::from_millis(10))));
    /// ```
    pub fn wait_for_encrypted(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_encrypted(timeout)
    }

    // ----- errors -----------------------------------------------------------

    /// Ignores every verification error of this connection's handshake;
    /// call it from an `ssl_errors` slot, or before the handshake (after
    /// `connect_to_host_encrypted`, which starts afresh, as in Qt).
    /// Qt: `QSslSocket::ignoreSslErrors()`.
    ///
    /// # Examples
    ///
    /// See [`ssl_errors`](Self::ssl_errors).
    pub fn ignore_ssl_errors(&self) {
        self.tls_mut(|t| t.ignore_all = true);
    }

    /// Ignores exactly these errors (kind and certificate); any other
    /// error still fails the handshake. The list survives reconnects.
    /// Qt: `QSslSocket::ignoreSslErrors(const QList<QSslError> &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslError, SslErrorKind, SslSocket};
    /// let socket = SslSocket::new();
    /// socket.ignore_ssl_errors_list(vec![SslError::new(SslErrorKind::HostNameMismatch, None)]);
    /// ```
    pub fn ignore_ssl_errors_list(&self, errors: Vec<SslError>) {
        self.tls_mut(|t| t.ignore_list = errors);
    }

    /// The verification errors of the last handshake (cleared by a new
    /// connect). Qt: `QSslSocket::sslHandshakeErrors()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().ssl_handshake_errors().is_empty());
    /// ```
    pub fn ssl_handshake_errors(&self) -> Vec<SslError> {
        self.tls(|t| t.errors.clone())
    }

    /// Qt: `QAbstractSocket::pauseMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PauseMode, SslSocket};
    /// assert_eq!(SslSocket::new().pause_mode(), PauseMode::Never);
    /// ```
    pub fn pause_mode(&self) -> PauseMode {
        if self.tls(|t| t.pause_on_errors) {
            PauseMode::OnSslErrors
        } else {
            PauseMode::Never
        }
    }

    /// With [`PauseMode::OnSslErrors`] a handshake with errors stops after
    /// `ssl_errors` (nothing is read or sent) until [`resume`](Self::resume).
    /// Qt: `QAbstractSocket::setPauseMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PauseMode, SslSocket};
    /// let socket = SslSocket::new();
    /// socket.set_pause_mode(PauseMode::OnSslErrors);
    /// assert_eq!(socket.pause_mode(), PauseMode::OnSslErrors);
    /// ```
    pub fn set_pause_mode(&self, mode: PauseMode) {
        self.tls_mut(|t| t.pause_on_errors = mode == PauseMode::OnSslErrors);
    }

    /// Continues a handshake paused on its errors, from the loop: it
    /// becomes encrypted if the errors are ignored by then, else it fails
    /// as it would have. Qt: `QSslSocket::resume()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// socket.resume(); // nothing paused: nothing happens
    /// ```
    pub fn resume(&self) {
        self.core.tls_resume();
    }

    /// From a `handshake_interrupted_on_error` slot: go on with the
    /// handshake. Qt: `QSslSocket::continueInterruptedHandshake()`.
    ///
    /// # Examples
    ///
    /// See [`handshake_interrupted_on_error`](Self::handshake_interrupted_on_error).
    pub fn continue_interrupted_handshake(&self) {
        self.tls_mut(|t| t.continue_interrupted = true);
    }

    // ----- configuration ----------------------------------------------------

    /// The socket's TLS settings. Qt: `QSslSocket::sslConfiguration()`
    /// (the peer's certificates and the session are this socket's own
    /// getters here).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslConfiguration, SslSocket};
    /// assert_eq!(SslSocket::new().ssl_configuration(), SslConfiguration::default_configuration());
    /// ```
    pub fn ssl_configuration(&self) -> SslConfiguration {
        self.tls(|t| t.config.clone())
    }

    /// Replaces the socket's TLS settings; takes effect at the next
    /// handshake. Qt: `QSslSocket::setSslConfiguration()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslConfiguration, SslProtocol, SslSocket};
    /// let socket = SslSocket::new();
    /// let mut config = SslConfiguration::new();
    /// config.set_protocol(SslProtocol::TlsV1_3);
    /// socket.set_ssl_configuration(config.clone());
    /// assert_eq!(socket.ssl_configuration(), config);
    /// ```
    pub fn set_ssl_configuration(&self, configuration: SslConfiguration) {
        self.tls_mut(|t| t.config = configuration);
    }

    fn change_config(&self, f: impl FnOnce(&mut SslConfiguration)) {
        self.tls_mut(|t| f(&mut t.config));
    }

    /// Qt: `QSslSocket::peerVerifyMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PeerVerifyMode, SslSocket};
    /// assert_eq!(SslSocket::new().peer_verify_mode(), PeerVerifyMode::AutoVerifyPeer);
    /// ```
    pub fn peer_verify_mode(&self) -> PeerVerifyMode {
        self.tls(|t| t.config.peer_verify_mode())
    }

    /// Qt: `QSslSocket::setPeerVerifyMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PeerVerifyMode, SslSocket};
    /// let socket = SslSocket::new();
    /// socket.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    /// assert_eq!(socket.peer_verify_mode(), PeerVerifyMode::VerifyNone);
    /// ```
    pub fn set_peer_verify_mode(&self, mode: PeerVerifyMode) {
        self.change_config(|c| c.set_peer_verify_mode(mode));
    }

    /// Qt: `QSslSocket::peerVerifyDepth()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslSocket::new().peer_verify_depth(), 0);
    /// ```
    pub fn peer_verify_depth(&self) -> i32 {
        self.tls(|t| t.config.peer_verify_depth())
    }

    /// A negative depth is refused with a warning (Qt's).
    /// Qt: `QSslSocket::setPeerVerifyDepth()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// socket.set_peer_verify_depth(1);
    /// socket.set_peer_verify_depth(-1);
    /// assert_eq!(socket.peer_verify_depth(), 1);
    /// ```
    pub fn set_peer_verify_depth(&self, depth: i32) {
        self.change_config(|c| c.set_peer_verify_depth(depth));
    }

    /// The name the peer's certificate must carry, if not the host name.
    /// Qt: `QSslSocket::peerVerifyName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslSocket::new().peer_verify_name(), "");
    /// ```
    pub fn peer_verify_name(&self) -> String {
        self.tls(|t| t.verify_name.clone())
    }

    /// Qt: `QSslSocket::setPeerVerifyName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::ssl::SslSocket::new();
    /// socket.set_peer_verify_name("example.org");
    /// assert_eq!(socket.peer_verify_name(), "example.org");
    /// ```
    pub fn set_peer_verify_name(&self, name: &str) {
        self.tls_mut(|t| t.verify_name = name.to_owned());
    }

    /// Qt: `QSslSocket::localCertificate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().local_certificate().is_none());
    /// ```
    pub fn local_certificate(&self) -> Option<SslCertificate> {
        self.tls(|t| t.config.local_certificate())
    }

    /// Qt: `QSslSocket::setLocalCertificate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pem = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.pem();
    /// use sigloop_net::ssl::{SslCertificate, SslSocket};
    /// let certificate = SslCertificate::from_pem(pem.as_bytes()).unwrap();
    /// let socket = SslSocket::new();
    /// socket.set_local_certificate(certificate.clone());
    /// assert_eq!(socket.local_certificate(), Some(certificate));
    /// ```
    pub fn set_local_certificate(&self, certificate: SslCertificate) {
        self.change_config(|c| c.set_local_certificate(certificate));
    }

    /// Qt: `QSslSocket::privateKey()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().private_key().is_none());
    /// ```
    pub fn private_key(&self) -> Option<SslKey> {
        self.tls(|t| t.config.private_key())
    }

    /// Qt: `QSslSocket::setPrivateKey()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
    /// use sigloop_net::ssl::{SslKey, SslSocket};
    /// let socket = SslSocket::new();
    /// socket.set_private_key(SslKey::from_pem(pem.as_bytes()).unwrap());
    /// assert!(socket.private_key().is_some());
    /// ```
    pub fn set_private_key(&self, key: SslKey) {
        self.change_config(|c| c.set_private_key(key));
    }

    // ----- the session ------------------------------------------------------

    /// The peer's certificate (the first of its chain), once the
    /// handshake completed. Qt: `QSslSocket::peerCertificate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().peer_certificate().is_none());
    /// ```
    pub fn peer_certificate(&self) -> Option<SslCertificate> {
        self.tls(|t| t.peer_chain.first().cloned())
    }

    /// The chain the peer sent, its own certificate first.
    /// Qt: `QSslSocket::peerCertificateChain()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().peer_certificate_chain().is_empty());
    /// ```
    pub fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        self.tls(|t| t.peer_chain.clone())
    }

    /// The negotiated cipher suite (null before a handshake).
    /// Qt: `QSslSocket::sessionCipher()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().session_cipher().is_null());
    /// ```
    pub fn session_cipher(&self) -> SslCipher {
        self.tls(|t| {
            t.session
                .as_ref()
                .map(|s| s.cipher.clone())
                .unwrap_or_default()
        })
    }

    /// The negotiated protocol version (`UnknownProtocol` before a
    /// handshake). Qt: `QSslSocket::sessionProtocol()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslProtocol, SslSocket};
    /// assert_eq!(SslSocket::new().session_protocol(), SslProtocol::UnknownProtocol);
    /// ```
    pub fn session_protocol(&self) -> SslProtocol {
        self.tls(|t| t.session.as_ref().and_then(|s| s.protocol))
            .unwrap_or(SslProtocol::UnknownProtocol)
    }

    /// The application protocol ALPN agreed on (empty if none).
    /// Qt: `QSslConfiguration::nextNegotiatedProtocol()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::new().next_negotiated_protocol().is_empty());
    /// ```
    pub fn next_negotiated_protocol(&self) -> Vec<u8> {
        self.tls(|t| t.session.as_ref().and_then(|s| s.alpn.clone()))
            .unwrap_or_default()
    }

    /// How ALPN ended. Qt: `QSslConfiguration::nextProtocolNegotiationStatus()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{NextProtocolNegotiationStatus, SslSocket};
    /// assert_eq!(SslSocket::new().next_protocol_negotiation_status(), NextProtocolNegotiationStatus::None);
    /// ```
    pub fn next_protocol_negotiation_status(&self) -> NextProtocolNegotiationStatus {
        let negotiated = self.tls(|t| t.session.as_ref().is_some_and(|s| s.alpn.is_some()));
        if negotiated {
            NextProtocolNegotiationStatus::Negotiated
        } else {
            NextProtocolNegotiationStatus::None
        }
    }

    /// Whether the last handshake resumed an earlier session (an
    /// extension: Qt shows it only through `QSslConfiguration`'s session
    /// ticket).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::ssl::SslSocket::new().is_session_resumed());
    /// ```
    pub fn is_session_resumed(&self) -> bool {
        self.tls(|t| t.session.as_ref().is_some_and(|s| s.resumed))
    }

    /// Whether TLS is available: always, rustls is built in.
    /// Qt: `QSslSocket::supportsSsl()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::supports_ssl());
    /// ```
    pub fn supports_ssl() -> bool {
        true
    }

    /// The TLS library in use. Qt: `QSslSocket::sslLibraryVersionString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslSocket::ssl_library_version_string().starts_with("rustls"));
    /// ```
    pub fn ssl_library_version_string() -> &'static str {
        "rustls 0.23 (ring)"
    }
}

/// The `QTcpSocket` (and through it `QAbstractSocket`) surface: see
/// [`TcpSocket`].
impl std::ops::Deref for SslSocket {
    type Target = TcpSocket;

    fn deref(&self) -> &TcpSocket {
        &self.socket
    }
}

impl Default for SslSocket {
    fn default() -> Self {
        SslSocket::new()
    }
}

impl From<SslSocket> for TcpSocket {
    fn from(socket: SslSocket) -> TcpSocket {
        socket.socket
    }
}

impl WeakSslSocket {
    /// The socket, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakSslSocket`].
    pub fn upgrade(&self) -> Option<SslSocket> {
        let socket = AbstractSocket::upgrade_core(&self.core)?;
        Some(SslSocket {
            socket: TcpSocket::from_abstract(socket),
        })
    }
}

impl Receiver for SslSocket {
    type Weak = WeakSslSocket;

    fn downgrade(&self) -> WeakSslSocket {
        SslSocket::downgrade(self)
    }

    fn upgrade(weak: &WeakSslSocket) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        Receiver::identity(&self.socket)
    }
}

impl fmt::Debug for SslSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslSocket")
            .field("state", &self.state())
            .field("mode", &self.mode())
            .field("encrypted", &self.is_encrypted())
            .field("peer", &self.peer_name())
            .field("peer_port", &self.peer_port())
            .finish()
    }
}

impl fmt::Debug for WeakSslSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSslSocket")
    }
}

/// Reads and writes as [`TcpSocket`]'s, on plaintext: reads come from
/// the decrypted read buffer, writes are encrypted when they leave.
impl IoDevice for SslSocket {
    fn open_mode(&self) -> OpenMode {
        self.socket.open_mode()
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.socket.read_into(buf)
    }

    fn read_raw(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        self.socket.read_raw(max)
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.socket.peek_into(buf)
    }

    fn write(&self, data: &[u8]) -> Result<usize, DeviceError> {
        IoDevice::write(&self.socket, data)
    }

    fn write_vec(&self, data: Vec<u8>) -> Result<usize, DeviceError> {
        self.socket.write_vec(data)
    }

    fn bytes_available(&self) -> usize {
        self.socket.bytes_available()
    }

    fn bytes_to_write(&self) -> usize {
        TcpSocket::bytes_to_write(&self.socket)
    }

    fn unget_char(&self, c: u8) {
        self.socket.unget_char(c);
    }

    fn start_transaction(&self) {
        self.socket.start_transaction();
    }

    fn commit_transaction(&self) {
        self.socket.commit_transaction();
    }

    fn rollback_transaction(&self) {
        self.socket.rollback_transaction();
    }

    fn is_transaction_started(&self) -> bool {
        self.socket.is_transaction_started()
    }

    fn is_sequential(&self) -> bool {
        true
    }

    fn index_of_newline(&self, max: usize) -> Option<usize> {
        self.socket.index_of_newline(max)
    }
}

/// The async reads and writes of an `SslSocket` move plaintext: the TLS
/// layer sits below the buffers they use (see [`crate::async_io`]).
impl crate::async_io::AsyncDevice for SslSocket {
    fn async_socket(&self) -> &crate::AbstractSocket {
        self
    }
}

crate::async_io::async_device!(SslSocket);
