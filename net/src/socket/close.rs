//! The close paths: `disconnect_from_host`, `close`, `abort`, and what a
//! remote close or an I/O error does (Qt: `QAbstractSocket::close()`,
//! `disconnectFromHost()`, `abort()` and `disconnected()`).

use super::engine::{CloseIntent, ReadSide, SocketCore, WORK_FLUSH};
use super::{SocketError, SocketState};
use sigloop_core::OpenMode;

impl SocketCore {
    /// Qt: `QAbstractSocket::disconnectFromHost()`.
    pub(crate) fn disconnect_from_host(&self) {
        let (state, intent) = {
            let d = self.d.borrow();
            (d.state, d.close)
        };
        if state == SocketState::Unconnected {
            return;
        }
        let aborting = intent == CloseIntent::Abort;
        // An `SslSocket` in its handshake closes once encrypted (Qt's
        // `pendingClose`), so that what was written gets there.
        if !aborting && self.tls_defers_close() {
            return;
        }
        if !aborting && matches!(state, SocketState::HostLookup | SocketState::Connecting) {
            // The connect completes first, then the graceful close runs.
            self.d.borrow_mut().close = CloseIntent::Pending;
            return;
        }
        self.d.borrow_mut().read_side = ReadSide::Off;
        if aborting {
            self.stop_connecting();
        } else {
            if state != SocketState::Closing {
                self.change_state(SocketState::Closing);
                if self.state() != SocketState::Closing {
                    return;
                }
            }
            let pending = {
                let d = self.d.borrow();
                d.stream.is_some()
                    && (!d.write_buf.is_empty() || d.tls().is_some_and(|t| t.close_pending()))
            };
            if pending {
                // The flush finishes the close (see `flush_now`).
                self.schedule(WORK_FLUSH);
                return;
            }
        }
        self.finish_close();
    }

    /// Qt: the tail of `disconnectFromHost`: reset the socket layer, then
    /// `Unconnected`, `read_channel_finished`, and `disconnected` if the
    /// socket had been connected.
    pub(crate) fn finish_close(&self) {
        self.tls_drain_unread();
        let previous = {
            let mut d = self.d.borrow_mut();
            let previous = d.state;
            d.stream = None;
            d.registration = None;
            d.read_side = ReadSide::Off;
            d.state = SocketState::Unconnected;
            previous
        };
        self.drop_relay();
        self.stop_connecting();
        self.sig.state_changed.emit(&SocketState::Unconnected);
        self.sig.emit_read_channel_finished();
        self.tls_session_closed();
        if matches!(previous, SocketState::Connected | SocketState::Closing) {
            self.sig.disconnected.emit(&());
        }
        let mut d = self.d.borrow_mut();
        if d.state == SocketState::Unconnected {
            d.clear_endpoints();
            if d.close_called {
                d.read_buf.clear();
                d.write_buf.clear();
            }
            d.release_read_buf();
            let _ = d.write_buf.release_if_empty();
        }
    }

    /// Qt: `QAbstractSocket::close()`: `about_to_close`, not open, then the
    /// graceful disconnect.
    pub(crate) fn close(&self) {
        let open = self.d.borrow().open_mode != OpenMode::NOT_OPEN;
        if open {
            self.sig.emit_about_to_close();
            let mut d = self.d.borrow_mut();
            d.open_mode = OpenMode::NOT_OPEN;
            d.read_buf.clear();
        }
        if self.state() != SocketState::Unconnected {
            self.d.borrow_mut().close_called = true;
            self.disconnect_from_host();
        }
        let mut d = self.d.borrow_mut();
        if d.state == SocketState::Unconnected {
            d.clear_endpoints();
        }
    }

    /// Qt: `QAbstractSocket::abort()`: drop pending writes and close at once.
    pub(crate) fn abort(&self) {
        // An `SslSocket` aborts in `QSslSocket`'s order.
        if self.tls_abort() {
            return;
        }
        {
            let mut d = self.d.borrow_mut();
            d.write_buf.clear();
            if d.state == SocketState::Unconnected {
                return;
            }
            d.close = CloseIntent::Abort;
        }
        self.close();
        let mut d = self.d.borrow_mut();
        if d.close == CloseIntent::Abort {
            d.close = CloseIntent::None;
        }
    }

    /// The peer closed (EOF, or `ECONNRESET` while reading): the error
    /// while still connected, then the graceful close.
    pub(crate) fn remote_closed(&self, error: SocketError, text: std::borrow::Cow<'static, str>) {
        self.raise(error, text);
        if self.state() == SocketState::Connected {
            self.disconnect_from_host();
        }
    }

    /// A write failed: the error, then `abort`.
    pub(crate) fn write_failed(&self, error: SocketError, text: std::borrow::Cow<'static, str>) {
        self.raise(error, text);
        if self.state() != SocketState::Unconnected {
            self.abort();
        }
    }
}
