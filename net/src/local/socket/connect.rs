//! The connect of a `LocalSocket` (Qt: `QLocalSocket::connectToServer()`
//! and `_q_connectToSocket()` on Unix): a non-blocking `connect(2)` that
//! succeeds or fails at once, except on a full backlog (`EAGAIN`), which is
//! retried from the loop for up to 30 s. A connected descriptor goes to the
//! shared engine.

use std::io;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use sigloop_core::{OpenMode, Timer};
use socket2::{Domain, SockAddr, Socket, Type};

use super::super::name::{self, socket_error_text};
use super::super::{LocalSocketError, LocalSocketOptions, LocalSocketState};
use super::LocalSocket;
use crate::socket::{text, SocketState};

/// Qt's `QT_CONNECT_TIMEOUT`: how long a connect may wait for room in a
/// full server's backlog.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a connect to a full backlog is retried.
pub(super) const CONNECT_RETRY: Duration = Duration::from_millis(10);

/// The function name Qt puts before a connect error's text.
const CONNECT_FUNCTION: &str = "QLocalSocket::connectToServer";

/// A connect the server's full backlog refused for now (`EAGAIN`).
pub(super) struct PendingConnect {
    socket: Socket,
    address: SockAddr,
    full_name: String,
    mode: OpenMode,
    deadline: Instant,
    retry: Timer,
}

impl LocalSocket {
    /// Qt: `QLocalSocket::connectToServer(OpenMode)`.
    pub(super) fn connect_now(&self, mode: OpenMode) {
        let engine = &self.socket.core;
        if matches!(
            self.state(),
            LocalSocketState::Connected | LocalSocketState::Connecting
        ) {
            // Qt's text, with its spelling; the error code stays.
            let text = socket_error_text(
                LocalSocketError::Operation,
                "QLocalSocket::connectToserver",
                None,
            );
            let code = engine.d.borrow().error;
            engine.set_error(code, text);
            self.local.error_occurred.emit(&LocalSocketError::Operation);
            return;
        }
        engine.set_error(crate::SocketError::Unknown, text::UNKNOWN);
        self.local.state.set(LocalSocketState::Connecting);
        self.local.state_changed.emit(&LocalSocketState::Connecting);
        if self.state() != LocalSocketState::Connecting {
            return; // a slot closed it
        }
        let name = self.server_name();
        if name.is_empty() {
            self.fail(LocalSocketError::ServerNotFound, None);
            return;
        }
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).and_then(|socket| {
            socket.set_nonblocking(true)?;
            Ok(socket)
        });
        let socket = match socket {
            Ok(socket) => socket,
            Err(err) => {
                self.fail(LocalSocketError::UnsupportedSocketOperation, Some(&err));
                return;
            }
        };
        let abstract_ns = name::ABSTRACT_NAMESPACE
            && self
                .local
                .options
                .get()
                .contains(LocalSocketOptions::ABSTRACT_NAMESPACE);
        let full_name = name::full_name(&name, abstract_ns);
        let Some(address) = name::socket_address(&full_name, abstract_ns) else {
            self.fail(LocalSocketError::ServerNotFound, None);
            return;
        };
        let pending = PendingConnect {
            socket,
            address,
            full_name,
            mode,
            deadline: Instant::now() + CONNECT_TIMEOUT,
            retry: Timer::new(),
        };
        let old = self.local.pending.replace(Some(pending));
        drop(old);
        self.try_connect();
    }

    /// Qt: `_q_connectToSocket`: one connect attempt of the pending
    /// connect.
    pub(super) fn try_connect(&self) {
        let result = match self.local.pending.borrow().as_ref() {
            Some(p) => p.socket.connect(&p.address),
            None => return,
        };
        match result {
            Ok(()) => self.connect_succeeded(),
            Err(err) => match err.raw_os_error().map(Errno::from_raw) {
                Some(Errno::EAGAIN | Errno::EINPROGRESS) => self.wait_for_room(),
                Some(Errno::EINVAL | Errno::ECONNREFUSED) => {
                    self.fail(LocalSocketError::ConnectionRefused, Some(&err))
                }
                Some(Errno::ENOENT) => self.fail(LocalSocketError::ServerNotFound, Some(&err)),
                Some(Errno::EACCES | Errno::EPERM) => {
                    self.fail(LocalSocketError::SocketAccess, Some(&err))
                }
                Some(Errno::ETIMEDOUT) => self.fail(LocalSocketError::SocketTimeout, Some(&err)),
                _ => self.fail(LocalSocketError::Unknown, Some(&err)),
            },
        }
    }

    /// The server's backlog is full: retry from the loop until there is
    /// room or 30 s have passed (then the socket closes, as Qt's
    /// `_q_abortConnectionAttempt`).
    pub(super) fn wait_for_room(&self) {
        let expired = {
            let pending = self.local.pending.borrow();
            let Some(p) = pending.as_ref() else {
                return;
            };
            if !p.retry.is_active() && Instant::now() < p.deadline {
                let weak = self.downgrade();
                let _ = p.retry.timeout().connect(move |_| {
                    if let Some(socket) = weak.upgrade() {
                        socket.retry_connect();
                    }
                });
                p.retry.start_with(CONNECT_RETRY);
            }
            Instant::now() >= p.deadline
        };
        if expired {
            self.close();
        }
    }

    pub(super) fn retry_connect(&self) {
        let expired = self
            .local
            .pending
            .borrow()
            .as_ref()
            .is_some_and(|p| Instant::now() >= p.deadline);
        if expired {
            self.close();
        } else {
            self.try_connect();
        }
    }

    /// Waits `step` before the next attempt of a pending connect; false
    /// without one. No readiness tells when a full backlog has room (an
    /// unconnected Unix socket polls as hung up at once, so a `poll` would
    /// spin): the wait sleeps, as the loop's retry timer does.
    pub(super) fn wait_backlog_room(&self, step: Duration) -> bool {
        if self.local.pending.borrow().is_none() {
            return false;
        }
        std::thread::sleep(step);
        true
    }

    /// Connected: the engine adopts the descriptor (`state_changed(Connected)`
    /// through the translation), then `connected`.
    pub(super) fn connect_succeeded(&self) {
        let Some(pending) = self.local.pending.borrow_mut().take() else {
            return;
        };
        let PendingConnect {
            socket,
            full_name,
            mode,
            retry,
            ..
        } = pending;
        drop(retry);
        *self.local.full_server_name.borrow_mut() = full_name;
        self.local.open.set(true);
        let adopted =
            self.socket
                .set_socket_descriptor(OwnedFd::from(socket), SocketState::Connected, mode);
        if adopted.is_err() {
            self.local.open.set(false);
            self.fail(LocalSocketError::Unknown, None);
            return;
        }
        if self.state() == LocalSocketState::Connected {
            self.socket.core.sig.connected.emit(&());
        }
    }

    /// Qt: `QLocalSocketPrivate::setErrorAndEmit`: the error while
    /// `Connecting`, then closed, then `state_changed(Unconnected)`.
    pub(super) fn fail(&self, error: LocalSocketError, os: Option<&io::Error>) {
        let pending = self.local.pending.borrow_mut().take();
        drop(pending);
        let text = socket_error_text(error, CONNECT_FUNCTION, os);
        self.socket.core.set_error(error.to_engine(), text);
        self.local.error_occurred.emit(&error);
        let changed = self.local.state.replace(LocalSocketState::Unconnected)
            != LocalSocketState::Unconnected;
        self.close();
        if changed {
            self.local
                .state_changed
                .emit(&LocalSocketState::Unconnected);
        }
    }
}
