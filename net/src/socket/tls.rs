//! An `SslSocket`'s TLS layer (Qt: the `QSslSocket` backend): a rustls
//! connection, sans I/O, between the OS stream and the socket's buffers.
//!
//! The read and write buffers keep holding what the application reads
//! and writes, plaintext; the OS stream carries TLS records. The engine
//! calls in at four places and a plain socket pays one check at each:
//!
//! - reading (`transfer.rs`): during the handshake the read side drives
//!   the handshake ([`SocketCore::tls_handshake_read`]); once encrypted
//!   the read pass fills the read buffer with plaintext that
//!   [`TlsState::read_plaintext`] takes from rustls, which reads the OS
//!   only when it has no plaintext left. So the read-buffer limit holds:
//!   a full buffer stops the reads from the OS and the peer is slowed by
//!   TCP, with at most one TLS record of plaintext waiting in rustls;
//! - flushing ([`SocketCore::tls_flush`]): TLS records go to the OS
//!   first; then, once encrypted, plaintext from the write buffer goes
//!   into rustls (`bytes_written` counts it) and out as records
//!   (`encrypted_bytes_written` counts what the OS took). Data written
//!   before `encrypted` waits in the write buffer;
//! - connecting and closing (`connect.rs`, `close.rs`): the client
//!   handshake starts between `Connected` and `connected`, as Qt's does;
//!   a close during the handshake waits for it; an encrypted close sends
//!   close_notify;
//! - waiting (`wait.rs`): a wait also wakes when rustls has records to
//!   send.
//!
//! Verification follows Qt: rustls completes the handshake checking only
//! the handshake signatures (`ssl::handshake`), then `verify_chain` gives
//! Qt's error list: `peer_verify_error` per error, `ssl_errors`, then
//! `encrypted`, or `SslHandshakeFailedError` with the first error's text
//! and a graceful close, unless the errors are ignored or the socket
//! pauses on them.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use rustls::pki_types::ServerName;
use sigloop_core::EventDispatcher;

use super::engine::{CloseIntent, ReadSide, SocketCore, WORK_FLUSH, WORK_READ};
use super::transport::Transport;
use super::{from_io, Failure, Op, SocketError, SocketState};
use crate::ssl::{verify_chain, VerifyPurpose};
use crate::ssl::{
    AlertLevel, AlertType, PeerVerifyMode, SslCertificate, SslCipher, SslConfiguration, SslError,
    SslErrorKind, SslMode, SslProtocol,
};

/// Plaintext handed to rustls per step: four full records.
const PLAINTEXT_STEP: usize = 64 * 1024;

/// Qt's text when the peer ends the TLS session with close_notify.
pub(crate) const TLS_CLOSED: &str = "The TLS/SSL connection has been closed";

/// Qt's text for a protocol setting no backend can use.
pub(crate) const UNSUPPORTED_PROTOCOL: &str = "Attempted to use an unsupported protocol.";

/// Where the TLS session stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// No TLS: bytes move as on a `TcpSocket`.
    Plain,
    /// The handshake runs.
    Handshaking,
    /// The handshake is done at the TLS level and its errors wait for the
    /// application (`PauseOnSslErrors`, then `resume`).
    Paused,
    /// Encrypted: application data flows.
    Encrypted,
    /// The handshake or the session failed: nothing more goes through;
    /// queued plaintext is dropped, never sent in the clear.
    Failed,
}

/// What a read does, given the phase.
pub(crate) enum ReadRoute {
    /// Drive the handshake.
    Handshake,
    /// Fill the read buffer with plaintext.
    Plaintext,
    /// Read nothing (paused, or failed).
    Nothing,
}

/// What the handshake settled, kept for the getters.
#[derive(Clone, Default)]
pub(crate) struct Session {
    pub(crate) protocol: Option<SslProtocol>,
    pub(crate) cipher: SslCipher,
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) resumed: bool,
}

/// The TLS state of an `SslSocket`, boxed in the socket's `Rare` part.
pub(crate) struct TlsState {
    pub(crate) mode: SslMode,
    pub(crate) config: SslConfiguration,
    conn: Option<rustls::Connection>,
    pub(crate) phase: Phase,
    /// `connect_to_host_encrypted`: start the client handshake once
    /// connected (Qt's `autoStartHandshake`).
    pub(crate) auto_start: bool,
    /// `connect_to_host_encrypted` already reset the state for this
    /// connect (Qt's `initialized`).
    initialized: bool,
    pub(crate) verify_name: String,
    pub(crate) ignore_all: bool,
    pub(crate) ignore_list: Vec<SslError>,
    pub(crate) errors: Vec<SslError>,
    pub(crate) peer_chain: Vec<SslCertificate>,
    pub(crate) session: Option<Session>,
    pub(crate) pause_on_errors: bool,
    /// A close was asked for during the handshake (Qt's `pendingClose`).
    pending_close: bool,
    /// The handshake completed at the TLS level.
    established: bool,
    close_notify_sent: bool,
    close_notify_received: bool,
    /// The OS stream ended (no close_notify is sent then).
    peer_eof: bool,
    /// Set by `continue_interrupted_handshake` from the slot.
    pub(crate) continue_interrupted: bool,
    /// Bytes read as plaintext before the handshake started (a server
    /// that peeked at the ClientHello): the handshake's first input.
    early: Vec<u8>,
}

impl TlsState {
    pub(crate) fn new(config: SslConfiguration) -> TlsState {
        TlsState {
            mode: SslMode::Unencrypted,
            config,
            conn: None,
            phase: Phase::Plain,
            auto_start: false,
            initialized: false,
            verify_name: String::new(),
            ignore_all: false,
            ignore_list: Vec::new(),
            errors: Vec::new(),
            peer_chain: Vec::new(),
            session: None,
            pause_on_errors: false,
            pending_close: false,
            established: false,
            close_notify_sent: false,
            close_notify_received: false,
            peer_eof: false,
            continue_interrupted: false,
            early: Vec::new(),
        }
    }

    /// Whether the TLS layer carries the connection's bytes.
    pub(crate) fn carries_stream(&self) -> bool {
        self.phase != Phase::Plain
    }

    /// Whether an encrypted close still owes the peer a close_notify.
    pub(crate) fn close_pending(&self) -> bool {
        self.phase == Phase::Encrypted
            && !self.close_notify_sent
            && !self.close_notify_received
            && !self.peer_eof
    }

    /// Whether rustls has records to send.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.wants_write())
    }

    /// Qt's `verifyErrorsHaveBeenIgnored`: with an ignore list, every
    /// error must be on it; without, `ignore_ssl_errors()` ignores all.
    pub(crate) fn errors_ignored(&self) -> bool {
        if self.ignore_list.is_empty() {
            self.ignore_all
        } else {
            self.errors.iter().all(|e| self.ignore_list.contains(e))
        }
    }

    /// Forgets the session of the last connection.
    fn reset_session(&mut self) {
        self.conn = None;
        self.phase = Phase::Plain;
        self.errors.clear();
        self.peer_chain.clear();
        self.session = None;
        self.pending_close = false;
        self.established = false;
        self.close_notify_sent = false;
        self.close_notify_received = false;
        self.peer_eof = false;
        self.early.clear();
    }

    /// Qt's `QSslSocketPrivate::init()`: a new connection starts plain,
    /// with no error ignored (the ignore list stays, so that it can be
    /// set before connecting).
    pub(crate) fn reset_for_new_connection(&mut self) {
        self.reset_session();
        self.mode = SslMode::Unencrypted;
        self.auto_start = false;
        self.ignore_all = false;
    }

    /// `connect_to_host_encrypted`: reset now, start the handshake once
    /// connected.
    pub(crate) fn prepare_encrypted_connect(&mut self) {
        self.reset_for_new_connection();
        self.auto_start = true;
        self.initialized = true;
    }

    /// Fills `buf` with plaintext from rustls, which reads TLS records
    /// from `stream` when it has none left. `Ok(0)` is the end of the
    /// stream (close_notify, or the OS stream ending); `WouldBlock` means
    /// neither rustls nor the OS holds anything; a TLS error comes back
    /// as `InvalidData` wrapping the `rustls::Error`.
    pub(crate) fn read_plaintext(
        &mut self,
        stream: &mut Transport,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let Some(conn) = self.conn.as_mut() else {
            return stream.read(buf);
        };
        let mut filled = 0;
        loop {
            match conn.reader().read(&mut buf[filled..]) {
                Ok(0) if filled > 0 => return Ok(filled),
                Ok(0) => {
                    // A clean close_notify from the peer.
                    self.close_notify_received = true;
                    return Ok(0);
                }
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // The OS stream ended without close_notify: Qt reports
                    // it as a plain remote close.
                    self.peer_eof = true;
                    return Ok(filled);
                }
                Err(e) => return if filled > 0 { Ok(filled) } else { Err(e) },
            }
            match conn.read_tls(&mut Os(stream)) {
                Ok(0) => self.peer_eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return if filled > 0 { Ok(filled) } else { Err(e) },
            }
            if let Err(e) = conn.process_new_packets() {
                // What came before the error is delivered first; the
                // next call reports the error (rustls keeps it).
                return if filled > 0 {
                    Ok(filled)
                } else {
                    Err(io::Error::new(io::ErrorKind::InvalidData, e))
                };
            }
            if self.peer_eof && filled > 0 {
                return Ok(filled);
            }
        }
    }
}

/// The OS stream as `std::io` traits, for rustls' `read_tls`/`write_tls`.
struct Os<'a>(&'a mut Transport);

impl Read for Os<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Os<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    // rustls' `write_tls` hands over every queued record at once: one
    // `writev` instead of one `sendto` per record (a 64 KiB echo is five
    // records; benches/tls bulk went from 1.39x to 0.73x tokio-rustls'
    // server CPU per block with this).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match &mut *self.0 {
            Transport::Tcp(s) => s.write_vectored(bufs),
            other => {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &**b);
                other.write(first)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One step of the handshake's read loop.
enum Step {
    /// Read and processed; read on.
    Progress,
    /// The OS has nothing more now.
    Drained,
    /// The handshake completed at the TLS level.
    Done,
    /// The OS stream ended.
    Eof,
    Io(io::Error),
    Tls(rustls::Error),
    /// Nothing to read with (no stream, or reading is off).
    Idle,
}

/// The name rustls sends (SNI) and checks nothing against: the verify
/// name, else the host name; an IP address or a name that is not a DNS
/// name sends no SNI.
fn server_name(name: &str, peer: Option<IpAddr>) -> ServerName<'static> {
    let name = name.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ServerName::IpAddress(ip.into());
    }
    ServerName::try_from(name.to_owned()).unwrap_or_else(|_| {
        ServerName::IpAddress(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).into())
    })
}

impl SocketCore {
    /// Runs `f` on the TLS layer, if the socket has one.
    pub(crate) fn with_tls<R>(&self, f: impl FnOnce(&mut TlsState) -> R) -> Option<R> {
        self.d.borrow_mut().tls_mut().map(f)
    }

    /// Whether the TLS layer carries this socket's bytes.
    pub(crate) fn tls_carries_stream(&self) -> bool {
        self.d.borrow().tls().is_some_and(TlsState::carries_stream)
    }

    /// How a read goes; `None` for a plain socket.
    pub(crate) fn tls_read_route(&self) -> Option<ReadRoute> {
        let d = self.d.borrow();
        Some(match d.tls()?.phase {
            Phase::Plain => return None,
            Phase::Handshaking => ReadRoute::Handshake,
            Phase::Encrypted => ReadRoute::Plaintext,
            Phase::Paused | Phase::Failed => ReadRoute::Nothing,
        })
    }

    /// After a plaintext read: rustls may owe the peer records (a key
    /// update, a ticket acknowledgement).
    pub(crate) fn tls_after_read(&self) {
        let wants = self.d.borrow().tls().is_some_and(TlsState::wants_write);
        if wants {
            self.schedule(WORK_FLUSH);
        }
    }

    /// Qt's text for a remote close of a TLS session ended with
    /// close_notify.
    pub(crate) fn tls_closed_text(&self) -> Option<&'static str> {
        let d = self.d.borrow();
        d.tls()
            .filter(|t| t.close_notify_received)
            .map(|_| TLS_CLOSED)
    }

    /// A read that failed inside TLS: Qt's `SslInternalError`, "Error
    /// while reading: …" (an alert the peer sent is announced first). The
    /// session is over; queued plaintext is dropped.
    pub(crate) fn tls_read_failed(&self, err: &io::Error) -> Option<Failure> {
        let tls_error = err.get_ref()?.downcast_ref::<rustls::Error>()?.clone();
        self.tls_fail();
        self.announce_alert_received(&tls_error);
        Some((
            SocketError::SslInternal,
            Cow::Owned(format!("Error while reading: {tls_error}")),
        ))
    }

    /// Qt: `QSslSocket::abort()`: the plain socket aborts first (its
    /// `Unconnected`, `read_channel_finished`, `disconnected`), then the
    /// device closes (`about_to_close`), where a `TcpSocket` announces
    /// `about_to_close` first. `false` for a socket without TLS.
    pub(crate) fn tls_abort(&self) -> bool {
        {
            let mut d = self.d.borrow_mut();
            if d.tls().is_none() {
                return false;
            }
            d.clear_write_buf();
            if d.state == SocketState::Unconnected {
                return true;
            }
            d.close = CloseIntent::Abort;
        }
        self.disconnect_from_host();
        self.close();
        let mut d = self.d.borrow_mut();
        if d.close == CloseIntent::Abort {
            d.close = CloseIntent::None;
        }
        true
    }

    /// Marks the session failed and drops the queued plaintext.
    fn tls_fail(&self) {
        let mut d = self.d.borrow_mut();
        if let Some(tls) = d.tls_mut() {
            tls.phase = Phase::Failed;
        }
        d.clear_write_buf();
    }

    fn announce_alert_received(&self, error: &rustls::Error) {
        if let rustls::Error::AlertReceived(alert) = error {
            let alert = AlertType::from_rustls(*alert);
            let level = if alert == AlertType::CloseNotify {
                AlertLevel::Warning
            } else {
                AlertLevel::Fatal
            };
            if let Some(sig) = self.sig.ssl_if_made() {
                sig.alert_received
                    .emit(&(level, alert, alert.description().to_owned()));
            }
        }
    }

    // ----- the handshake -------------------------------------------------

    /// `connect_to_host`: a plain connect forgets the TLS state; one made
    /// by `connect_to_host_encrypted` was prepared already.
    pub(crate) fn tls_reset_for_connect(&self) {
        let mut d = self.d.borrow_mut();
        if let Some(tls) = d.tls_mut() {
            if tls.initialized {
                tls.initialized = false;
            } else {
                tls.reset_for_new_connection();
            }
        }
    }

    /// The connection is up: `connect_to_host_encrypted` starts the
    /// client handshake now.
    pub(crate) fn tls_connected(&self) {
        let start = self
            .d
            .borrow()
            .tls()
            .is_some_and(|t| t.auto_start && t.mode == SslMode::Unencrypted);
        if start {
            self.start_client_encryption();
        }
    }

    /// Qt: `QSslSocket::startClientEncryption()`.
    pub(crate) fn start_client_encryption(&self) {
        let Some((mode, config, name)) =
            self.with_tls(|t| (t.mode, t.config.clone(), t.verify_name.clone()))
        else {
            return;
        };
        if mode != SslMode::Unencrypted {
            log::warn!("SslSocket::start_client_encryption: cannot start handshake on non-plain connection");
            return;
        }
        if self.state() != SocketState::Connected {
            log::warn!(
                "SslSocket::start_client_encryption: cannot start handshake when not connected"
            );
            return;
        }
        if !self.tls_protocol_supported(&config, "start_client_encryption") {
            return;
        }
        let (name, peer) = {
            let d = self.d.borrow();
            let name = if name.is_empty() {
                d.peer_name().to_owned()
            } else {
                name
            };
            (name, d.peer_address().ip())
        };
        let conn = config.client_config().and_then(|c| {
            rustls::ClientConnection::new(c, server_name(&name, peer)).map_err(|e| e.to_string())
        });
        match conn {
            Ok(conn) => self.begin_handshake(SslMode::Client, conn.into()),
            Err(text) => self.raise(
                SocketError::SslInternal,
                format!("Unable to init SSL Context: {text}"),
            ),
        }
    }

    /// Qt: `QSslSocket::startServerEncryption()`.
    pub(crate) fn start_server_encryption(&self) {
        let Some((mode, config)) = self.with_tls(|t| (t.mode, t.config.clone())) else {
            return;
        };
        if mode != SslMode::Unencrypted {
            log::warn!("SslSocket::start_server_encryption: cannot start handshake on non-plain connection");
            return;
        }
        if self.state() != SocketState::Connected {
            log::warn!(
                "SslSocket::start_server_encryption: cannot start handshake when not connected"
            );
            return;
        }
        if !self.tls_protocol_supported(&config, "start_server_encryption") {
            return;
        }
        let conn = config
            .server_config()
            .and_then(|c| rustls::ServerConnection::new(c).map_err(|e| e.to_string()));
        match conn {
            Ok(conn) => self.begin_handshake(SslMode::Server, conn.into()),
            Err(text) => self.raise(
                SocketError::SslInternal,
                format!("Unable to init SSL Context: {text}"),
            ),
        }
    }

    /// Qt's `verifyProtocolSupported`: TLS 1.0 and 1.1 and DTLS are
    /// refused with `SslInvalidUserDataError`.
    fn tls_protocol_supported(&self, config: &SslConfiguration, function: &str) -> bool {
        match config.check_protocol() {
            Ok(()) => true,
            Err(why) => {
                log::warn!("SslSocket::{function}: {why}");
                self.raise(SocketError::SslInvalidUserData, UNSUPPORTED_PROTOCOL);
                false
            }
        }
    }

    /// The mode changes (`mode_changed`), then the handshake runs from the
    /// loop: the client's first flight goes out, the server reads the
    /// client's (with any bytes already read as plaintext).
    fn begin_handshake(&self, mode: SslMode, conn: rustls::Connection) {
        {
            let mut d = self.d.borrow_mut();
            let early = d.read_buf.read_vec(usize::MAX);
            if d.read_side != ReadSide::Off {
                d.read_side = ReadSide::Ready;
            }
            if let Some(tls) = d.tls_mut() {
                tls.mode = mode;
                tls.conn = Some(conn);
                tls.phase = Phase::Handshaking;
                tls.early = early;
            }
        }
        if let Some(sig) = self.sig.ssl_if_made() {
            sig.mode_changed.emit(&mode);
        }
        if self.state() == SocketState::Connected {
            self.schedule(WORK_FLUSH | WORK_READ);
        }
    }

    /// The read side during the handshake: feeds what the OS has to
    /// rustls until it has no more, sends rustls' replies, and finishes
    /// the handshake when rustls has. Returns 0: no plaintext yet.
    pub(crate) fn tls_handshake_read(&self) -> usize {
        loop {
            let step = self.handshake_step();
            match step {
                Step::Progress => {}
                Step::Idle => return 0,
                Step::Drained => {
                    self.tls_flush();
                    return 0;
                }
                Step::Done => {
                    self.handshake_finished();
                    // As Qt's transmit loop: plaintext that came with the
                    // last flight is read (and announced) at once, so a
                    // blocking wait sees it without another OS event.
                    let encrypted = self
                        .d
                        .borrow()
                        .tls()
                        .is_some_and(|t| t.phase == Phase::Encrypted);
                    if encrypted && self.state() == SocketState::Connected {
                        return self.read_now();
                    }
                    return 0;
                }
                Step::Eof => {
                    self.tls_fail();
                    self.with_tls(|t| t.peer_eof = true);
                    let text = self.remote_closed_text();
                    self.remote_closed(SocketError::RemoteHostClosed, text.into());
                    return 0;
                }
                Step::Io(err) => {
                    self.tls_fail();
                    let (error, text) = from_io(Op::Read, &err);
                    self.remote_closed(error, text);
                    return 0;
                }
                Step::Tls(err) => {
                    self.handshake_error(err);
                    return 0;
                }
            }
        }
    }

    /// One read from the OS (or the early bytes) into rustls.
    fn handshake_step(&self) -> Step {
        let mut guard = self.d.borrow_mut();
        let d = &mut *guard;
        if d.read_side != ReadSide::Ready {
            return Step::Idle;
        }
        let (stream, tls, _) = d.read_parts();
        let (Some(stream), Some(tls)) = (stream, tls) else {
            return Step::Idle;
        };
        let Some(conn) = tls.conn.as_mut() else {
            return Step::Idle;
        };
        let read = if tls.early.is_empty() {
            conn.read_tls(&mut Os(stream))
        } else {
            let mut early: &[u8] = &tls.early;
            let result = conn.read_tls(&mut early);
            let used = tls.early.len() - early.len();
            tls.early.drain(..used);
            result
        };
        let step = match read {
            Ok(0) => Step::Eof,
            Ok(_) => match conn.process_new_packets() {
                Err(e) => Step::Tls(e),
                Ok(_) if !conn.is_handshaking() => Step::Done,
                Ok(_) => Step::Progress,
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Step::Progress,
            Err(e) => Step::Io(e),
        };
        if matches!(step, Step::Drained) {
            d.read_side = ReadSide::Drained;
        }
        step
    }

    /// rustls refused the handshake: Qt's `SslHandshakeFailedError`,
    /// "Error during SSL handshake: …", then `abort` (no `Closing`). The
    /// alert rustls queued is sent if the OS takes it at once.
    fn handshake_error(&self, err: rustls::Error) {
        self.tls_fail();
        {
            let mut guard = self.d.borrow_mut();
            let (stream, tls, _) = guard.read_parts();
            if let (Some(stream), Some(conn)) = (stream, tls.and_then(|t| t.conn.as_mut())) {
                // What rustls queued before the alert goes first.
                while conn.wants_write() {
                    match conn.write_tls(&mut Os(stream)) {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                }
            }
        }
        self.announce_alert_received(&err);
        if self.state() == SocketState::Unconnected {
            return;
        }
        self.raise(
            SocketError::SslHandshakeFailed,
            format!("Error during SSL handshake: {err}"),
        );
        if self.state() != SocketState::Unconnected {
            self.abort();
        }
    }

    /// The TLS handshake is complete: record the session, verify the
    /// peer's chain as Qt does and report.
    fn handshake_finished(&self) {
        let Some(facts) = self.with_tls(|tls| {
            tls.established = true;
            let conn = tls.conn.as_ref()?;
            let chain: Vec<SslCertificate> = conn
                .peer_certificates()
                .unwrap_or_default()
                .iter()
                .filter_map(|der| SslCertificate::from_der(der).ok())
                .collect();
            let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
            tls.session = Some(Session {
                protocol: conn.protocol_version().map(SslProtocol::from_rustls),
                cipher: conn
                    .negotiated_cipher_suite()
                    .map(|s| SslCipher::from_rustls(s.suite()))
                    .unwrap_or_default(),
                alpn,
                resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
            });
            tls.peer_chain = chain.clone();
            Some((tls.mode, tls.config.clone(), tls.verify_name.clone(), chain))
        }) else {
            return;
        };
        let Some((mode, config, verify_name, chain)) = facts else {
            return;
        };
        let peer_name = if verify_name.is_empty() {
            self.d.borrow().peer_name().to_owned()
        } else {
            verify_name
        };
        let errors = verification_errors(mode, &config, &peer_name, &chain);
        self.with_tls(|t| t.errors = errors.clone());
        self.report_verification(mode, &config, errors);
    }

    /// Qt's order: `handshake_interrupted_on_error` (if asked for),
    /// `peer_verify_error` per error, `ssl_errors`, then `encrypted` or
    /// the failure. A slot that closes the socket ends it there.
    fn report_verification(&self, mode: SslMode, config: &SslConfiguration, errors: Vec<SslError>) {
        // A slot that panics on the way does not leave the handshake
        // hanging: the next pass settles it as `resume` would.
        let _settle = SettleOnUnwind(self);
        let connected = || self.state() == SocketState::Connected;
        // Qt (OpenSSL backend) reports each error as OpenSSL's verify
        // callback meets it, host name last, but lists it first in
        // `ssl_errors`.
        let met = crate::ssl::verify::peer_verify_error_order(&errors);
        if let (true, Some(first)) = (config.handshake_must_interrupt_on_error(), met.first()) {
            self.with_tls(|t| t.continue_interrupted = false);
            if let Some(sig) = self.sig.ssl_if_made() {
                sig.handshake_interrupted_on_error.emit(first);
            }
            if !connected() {
                return;
            }
            if self.with_tls(|t| t.continue_interrupted) != Some(true) {
                self.handshake_error(rustls::Error::General(first.error_string()));
                return;
            }
        }
        for error in &met {
            if let Some(sig) = self.sig.ssl_if_made() {
                sig.peer_verify_error.emit(error);
            }
            if !connected() {
                return;
            }
        }
        if !errors.is_empty() {
            if let Some(sig) = self.sig.ssl_if_made() {
                sig.ssl_errors.emit(&errors);
            }
            if !connected() {
                return;
            }
            let verify = must_verify(config.peer_verify_mode(), mode);
            let (ignored, pause) = self
                .with_tls(|t| (t.errors_ignored(), t.pause_on_errors))
                .unwrap_or((false, false));
            if verify && !ignored {
                if pause {
                    self.with_tls(|t| t.phase = Phase::Paused);
                } else {
                    self.verification_failed();
                }
                return;
            }
        }
        self.tls_encrypted();
    }

    /// Qt: `SslHandshakeFailedError` with the first error's text, then a
    /// graceful close of the plain connection (no close_notify).
    fn verification_failed(&self) {
        self.tls_fail();
        let text = self
            .with_tls(|t| t.errors.first().map(SslError::error_string))
            .flatten()
            .unwrap_or_default();
        self.raise(SocketError::SslHandshakeFailed, text);
        if self.state() == SocketState::Connected {
            self.disconnect_from_host();
        }
    }

    /// Encrypted: `encrypted`, then queued data and plaintext that came
    /// with the handshake flow; a close asked for during the handshake
    /// runs now.
    fn tls_encrypted(&self) {
        let pending_close = {
            let mut d = self.d.borrow_mut();
            if d.read_side != ReadSide::Off {
                d.read_side = ReadSide::Ready;
            }
            d.tls_mut().is_some_and(|t| {
                t.phase = Phase::Encrypted;
                std::mem::take(&mut t.pending_close)
            })
        };
        // Scheduled before the signal: a slot that panics leaves the
        // queued data and the plaintext that came along to the loop.
        self.schedule(WORK_FLUSH | WORK_READ);
        if let Some(sig) = self.sig.ssl_if_made() {
            sig.encrypted.emit(&());
        }
        if self.state() != SocketState::Connected {
            return;
        }
        if pending_close {
            self.disconnect_from_host();
        }
    }

    /// Qt: `QSslSocket::resume()`: from the loop, continue a handshake
    /// paused on its errors: encrypted if they are ignored now, else the
    /// failure.
    pub(crate) fn tls_resume(&self) {
        self.settle_later(Phase::Paused);
    }

    /// From the loop: a handshake done at the TLS level that still
    /// stands in `phase` becomes encrypted if its errors are ignored (or
    /// need not be verified), else fails.
    fn settle_later(&self, phase: Phase) {
        let this = self.this.clone();
        EventDispatcher::post(move || {
            let Some(core) = this.upgrade() else {
                return;
            };
            if core.state() != SocketState::Connected {
                return;
            }
            let settled = core
                .with_tls(|t| {
                    let verify = must_verify(t.config.peer_verify_mode(), t.mode);
                    (t.phase == phase && t.established)
                        .then(|| t.errors_ignored() || !verify || t.errors.is_empty())
                })
                .flatten();
            match settled {
                Some(true) => core.tls_encrypted(),
                Some(false) => core.verification_failed(),
                None => {}
            }
        });
    }

    /// A close during the handshake waits for it when there is something
    /// to send first, or the handshake was started by
    /// `connect_to_host_encrypted` (Qt's `pendingClose`).
    pub(crate) fn tls_defers_close(&self) -> bool {
        let mut d = self.d.borrow_mut();
        let has_data = !d.write_buf.is_empty();
        let connected = d.state == SocketState::Connected;
        match d.tls_mut() {
            Some(tls)
                if connected && tls.phase == Phase::Handshaking && (tls.auto_start || has_data) =>
            {
                tls.pending_close = true;
                true
            }
            _ => false,
        }
    }

    /// The connection closed (between `read_channel_finished` and
    /// `disconnected`): Qt's backend shuts an established session down
    /// here, announcing a close_notify it does not get to send, unless
    /// one was exchanged already. The session's state goes.
    pub(crate) fn tls_session_closed(&self) {
        let announce = self.with_tls(|tls| {
            let announce = tls.established
                && !tls.close_notify_sent
                && !tls.close_notify_received
                && tls.phase != Phase::Plain;
            tls.conn = None;
            tls.phase = Phase::Plain;
            tls.established = false;
            tls.early.clear();
            announce
        });
        if announce == Some(true) {
            self.announce_close_notify_sent();
        }
    }

    /// Before an `SslSocket` closes its OS socket: reads and drops what
    /// the OS holds unread. A TLS peer sends unasked (TLS 1.3 session
    /// tickets after the handshake), and closing a socket with unread
    /// bytes makes Linux reset the connection and throw away what is
    /// still queued to send, the close_notify and the last data with it.
    /// A peer that sends after this still meets a reset.
    pub(crate) fn tls_drain_unread(&self) {
        /// Reads at most this many times (a peer flooding us must not
        /// hold the close).
        const MAX_READS: usize = 64;
        let mut d = self.d.borrow_mut();
        if d.tls().is_none() {
            return;
        }
        let Some(stream) = d.stream.as_mut() else {
            return;
        };
        let mut scratch = [0u8; 16 * 1024];
        for _ in 0..MAX_READS {
            match stream.read(&mut scratch) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn announce_close_notify_sent(&self) {
        if let Some(sig) = self.sig.ssl_if_made() {
            let alert = AlertType::CloseNotify;
            sig.alert_sent
                .emit(&(AlertLevel::Warning, alert, alert.description().to_owned()));
        }
    }

    // ----- sending ---------------------------------------------------------

    /// `flush_now` for a socket whose bytes go through TLS: records out,
    /// plaintext in, until the OS stops taking them; then a pending close
    /// sends close_notify and finishes. Returns the plaintext bytes taken.
    pub(crate) fn tls_flush(&self) -> usize {
        let mut total = 0;
        loop {
            if !matches!(self.state(), SocketState::Connected | SocketState::Closing) {
                return total;
            }
            let (sent, blocked, error) = self.send_records();
            if sent > 0 {
                if let Some(sig) = self.sig.ssl_if_made() {
                    sig.encrypted_bytes_written.emit(&(sent as u64));
                }
            }
            if let Some(err) = error {
                let (error, text) = from_io(Op::Write, &err);
                self.write_failed(error, text);
                return total;
            }
            if blocked {
                return total;
            }
            let fed = self.feed_plaintext();
            if fed == 0 {
                break;
            }
            total += fed;
            self.emit_bytes_written(fed as u64);
            self.announce_water_crossing();
        }
        match self.close_step() {
            CloseStep::Wait => {}
            CloseStep::SendCloseNotify => {
                self.announce_close_notify_sent();
                total += self.tls_flush();
            }
            CloseStep::Finish => self.finish_close(),
        }
        total
    }

    /// Writes rustls' records while the OS takes them: (bytes, blocked,
    /// error).
    fn send_records(&self) -> (usize, bool, Option<io::Error>) {
        let mut guard = self.d.borrow_mut();
        let d = &mut *guard;
        if !d.writable {
            return (0, true, None);
        }
        let (stream, tls, _) = d.read_parts();
        let (Some(stream), Some(conn)) = (stream, tls.and_then(|t| t.conn.as_mut())) else {
            return (0, false, None);
        };
        let mut sent = 0;
        let mut blocked = false;
        let mut error = None;
        while conn.wants_write() {
            match conn.write_tls(&mut Os(stream)) {
                Ok(0) => {
                    blocked = true;
                    break;
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if blocked {
            d.writable = false;
        }
        (sent, blocked, error)
    }

    /// Moves one step of plaintext from the write buffer into rustls,
    /// once encrypted; returns the bytes moved.
    fn feed_plaintext(&self) -> usize {
        let mut guard = self.d.borrow_mut();
        let (tls, write_buf) = guard.write_parts();
        let Some(tls) = tls else {
            return 0;
        };
        let fed = match tls.conn.as_mut() {
            Some(conn) if tls.phase == Phase::Encrypted && !write_buf.is_empty() => {
                let chunk = write_buf.front_chunk();
                let step = chunk.len().min(PLAINTEXT_STEP);
                conn.writer().write(&chunk[..step]).unwrap_or(0)
            }
            _ => 0,
        };
        write_buf.consume(fed);
        fed
    }

    /// What a `Closing` socket does once its plaintext is sent.
    fn close_step(&self) -> CloseStep {
        let mut d = self.d.borrow_mut();
        if d.state != SocketState::Closing {
            return CloseStep::Wait;
        }
        let encrypted = d.tls().is_some_and(|t| t.phase == Phase::Encrypted);
        if !encrypted {
            // Plaintext never leaves unencrypted.
            d.clear_write_buf();
        }
        if !d.write_buf.is_empty() {
            return CloseStep::Wait;
        }
        let Some(tls) = d.tls_mut() else {
            return CloseStep::Finish;
        };
        if tls.close_pending() {
            if let Some(conn) = tls.conn.as_mut() {
                conn.send_close_notify();
                tls.close_notify_sent = true;
                return CloseStep::SendCloseNotify;
            }
        }
        if tls.wants_write() {
            CloseStep::Wait
        } else {
            CloseStep::Finish
        }
    }

    // ----- waiting ---------------------------------------------------------

    /// Qt: `QSslSocket::waitForEncrypted(msecs)`: `false` at once if
    /// already encrypted or no handshake is coming.
    pub(crate) fn wait_for_encrypted(&self, timeout: Option<Duration>) -> bool {
        let deadline = super::wait::deadline_after(timeout);
        let Some((phase, mode, auto)) = self
            .d
            .borrow()
            .tls()
            .map(|t| (t.phase, t.mode, t.auto_start))
        else {
            return false;
        };
        if phase == Phase::Encrypted || (mode == SslMode::Unencrypted && !auto) {
            return false;
        }
        if !self.connect_first(timeout) {
            return false;
        }
        loop {
            if self.state() != SocketState::Connected {
                return false;
            }
            let (phase, mode) = match self.d.borrow().tls() {
                Some(t) => (t.phase, t.mode),
                None => return false,
            };
            match phase {
                Phase::Encrypted => return true,
                Phase::Failed | Phase::Paused => return false,
                Phase::Plain if mode == SslMode::Unencrypted => {
                    self.start_client_encryption();
                    if !self.tls_carries_stream() {
                        return false;
                    }
                    continue;
                }
                Phase::Plain | Phase::Handshaking => {}
            }
            if self.wait_step(deadline).is_none() {
                self.wait_timed_out();
                return false;
            }
        }
    }
}

/// See [`SocketCore::report_verification`].
struct SettleOnUnwind<'a>(&'a SocketCore);

impl Drop for SettleOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.settle_later(Phase::Handshaking);
        }
    }
}

/// See [`SocketCore::close_step`].
enum CloseStep {
    Wait,
    SendCloseNotify,
    Finish,
}

/// Qt's `doVerifyPeer`: errors fail the handshake with `VerifyPeer`, and
/// with `AutoVerifyPeer` on a client.
fn must_verify(mode: PeerVerifyMode, ssl_mode: SslMode) -> bool {
    mode == PeerVerifyMode::VerifyPeer
        || (mode == PeerVerifyMode::AutoVerifyPeer && ssl_mode == SslMode::Client)
}

/// The errors Qt reports for `chain`: a client checks the server's chain
/// and host name; a server checks the client's chain. No certificate is
/// an error only where it must be verified.
fn verification_errors(
    mode: SslMode,
    config: &SslConfiguration,
    peer_name: &str,
    chain: &[SslCertificate],
) -> Vec<SslError> {
    let verify = must_verify(config.peer_verify_mode(), mode);
    if chain.is_empty() {
        return if verify {
            vec![SslError::new(SslErrorKind::NoPeerCertificate, None)]
        } else {
            Vec::new()
        };
    }
    let (purpose, name) = match mode {
        SslMode::Server => (VerifyPurpose::Client, None),
        _ => (VerifyPurpose::Server, Some(peer_name)),
    };
    let depth = u32::try_from(config.peer_verify_depth()).unwrap_or(0);
    verify_chain(
        chain,
        &config.trust_anchors(),
        name,
        purpose,
        depth,
        SystemTime::now(),
    )
}
