//! `ProxyAuthenticationRequest`: what a socket's
//! `proxy_authentication_required` signal carries.

use std::cell::RefCell;
use std::fmt;

use super::{Authenticator, NetworkProxy};

/// A proxy asked for credentials: the proxy, and the [`Authenticator`] a
/// slot fills in.
///
/// A socket emits it from
/// [`proxy_authentication_required`](crate::AbstractSocket::proxy_authentication_required)
/// when the proxy refuses the credentials it has (or has none). Credentials
/// set by a slot ([`set_credentials`](Self::set_credentials) or
/// [`set_authenticator`](Self::set_authenticator)) are used for the retry:
/// a SOCKS5 socket reconnects to the proxy and offers them; an HTTP socket
/// sends the `CONNECT` again on the same connection if the proxy kept it
/// open, else on a new one. Left empty, the connect fails with
/// [`ProxyAuthenticationRequired`](crate::SocketError::ProxyAuthenticationRequired).
///
/// Qt: the `(const QNetworkProxy &proxy, QAuthenticator *authenticator)`
/// arguments of `QAbstractSocket::proxyAuthenticationRequired()`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{NetworkProxy, ProxyType, TcpSocket};
///
/// let socket = TcpSocket::new();
/// socket.set_proxy(NetworkProxy::new(ProxyType::Socks5, "127.0.0.1", 1080));
/// let _c = socket.proxy_authentication_required().connect(|request| {
///     assert_eq!(request.proxy().port(), 1080);
///     request.set_credentials("alice", "secret");
/// });
/// ```
pub struct ProxyAuthenticationRequest {
    proxy: NetworkProxy,
    authenticator: RefCell<Authenticator>,
}

impl ProxyAuthenticationRequest {
    pub(crate) fn new(proxy: NetworkProxy, authenticator: Authenticator) -> Self {
        ProxyAuthenticationRequest {
            proxy,
            authenticator: RefCell::new(authenticator),
        }
    }

    /// The proxy that asks.
    ///
    /// # Examples
    ///
    /// See [`ProxyAuthenticationRequest`].
    pub fn proxy(&self) -> &NetworkProxy {
        &self.proxy
    }

    /// A copy of the authenticator as it stands: the realm and options the
    /// proxy sent, and what slots set so far.
    ///
    /// # Examples
    ///
    /// ```
    /// # use sigloop_net::TcpSocket;
    /// let socket = TcpSocket::new();
    /// let _c = socket.proxy_authentication_required().connect(|request| {
    ///     println!("the proxy's realm: {}", request.authenticator().realm());
    /// });
    /// ```
    pub fn authenticator(&self) -> Authenticator {
        self.authenticator.borrow().clone()
    }

    /// Replaces the authenticator (Qt: assigning to `*authenticator`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use sigloop_net::TcpSocket;
    /// let socket = TcpSocket::new();
    /// let _c = socket.proxy_authentication_required().connect(|request| {
    ///     let mut auth = request.authenticator();
    ///     auth.set_user("alice");
    ///     auth.set_password("secret");
    ///     request.set_authenticator(auth);
    /// });
    /// ```
    pub fn set_authenticator(&self, authenticator: Authenticator) {
        *self.authenticator.borrow_mut() = authenticator;
    }

    /// Sets the user and password to retry with (Qt:
    /// `authenticator->setUser(…); authenticator->setPassword(…)`).
    ///
    /// # Examples
    ///
    /// See [`ProxyAuthenticationRequest`].
    pub fn set_credentials(&self, user: &str, password: &str) {
        let mut auth = self.authenticator.borrow_mut();
        auth.set_user(user);
        auth.set_password(password);
    }

    /// The authenticator once the slots have run.
    pub(crate) fn into_authenticator(self) -> Authenticator {
        self.authenticator.into_inner()
    }
}

impl fmt::Debug for ProxyAuthenticationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyAuthenticationRequest")
            .field("proxy", &self.proxy)
            .field("authenticator", &*self.authenticator.borrow())
            .finish()
    }
}
