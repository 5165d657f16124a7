//! `ProxyError`: a failed proxy handshake, with Qt's socket error code and
//! Qt's English text.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use crate::SocketError;

/// Why a proxy handshake failed: the [`SocketError`] a socket reports and
/// Qt's text for it (the socket's `error_string()`).
///
/// Qt sets both through `QAbstractSocketEngine::setError` in its SOCKS5
/// and HTTP socket engines (`QSocks5SocketEngine`, `QHttpSocketEngine`).
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
/// use sigloop_net::proxy::{HandshakeEvent, ProxyAddress};
/// use sigloop_net::SocketError;
///
/// let target = ProxyAddress::from(([127, 0, 0, 1], 9));
/// let mut handshake = Socks5Handshake::new(Socks5Command::Connect, target, "", "").unwrap();
/// handshake.proxy_connected();
/// // A proxy that answers with the wrong protocol version:
/// let HandshakeEvent::Failed(error) = handshake.feed(b"\x04\x00") else { panic!() };
/// assert_eq!(error.error(), SocketError::ProxyProtocol);
/// assert_eq!(error.text(), "SOCKS version 5 protocol error");
/// assert_eq!(error.to_string(), "SOCKS version 5 protocol error");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    error: SocketError,
    text: Cow<'static, str>,
}

impl ProxyError {
    /// An error with Qt's code and text.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{proxy::ProxyError, SocketError};
    /// let e = ProxyError::new(SocketError::ProxyNotFound, "Proxy host not found");
    /// assert_eq!(e.error(), SocketError::ProxyNotFound);
    /// ```
    pub fn new(error: SocketError, text: impl Into<Cow<'static, str>>) -> Self {
        ProxyError {
            error,
            text: text.into(),
        }
    }

    /// The socket error code (Qt: `QAbstractSocket::error()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{proxy::ProxyError, SocketError};
    /// let e = ProxyError::new(SocketError::ConnectionRefused, "Connection refused");
    /// assert_eq!(e.error() as i32, 0);
    /// ```
    pub fn error(&self) -> SocketError {
        self.error
    }

    /// Qt's English text (Qt: `QAbstractSocket::errorString()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{proxy::ProxyError, SocketError};
    /// let e = ProxyError::new(SocketError::HostNotFound, "Host not found");
    /// assert_eq!(e.text(), "Host not found");
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Error for ProxyError {}
