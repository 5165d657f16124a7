//! The HTTP `CONNECT` handshake: request, response head, optional body,
//! and the 407 authentication loop.

use std::mem;

use super::auth::{AuthState, Scheme};
use super::response::{parse, Parsed, ResponseHead};
use super::text;
use crate::proxy::{Authenticator, HandshakeEvent, NetworkProxy, ProxyAddress, ProxyError};
use crate::SocketError;

/// Where the handshake is (Qt's `QHttpSocketEngine::HttpState`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the connection to the proxy (at first, and after a
    /// `Reconnect`).
    Connecting,
    /// The request is out; reading the response head.
    ReadingHead,
    /// Discarding the response body (`Content-Length`) before acting on
    /// the status.
    SkippingBody { remaining: u64, head: ResponseHead },
    /// `AuthenticationRequired` was reported; waiting for `authenticate()`.
    AwaitingCredentials,
    /// `200`: the tunnel is up.
    Established,
    /// Failed for good.
    Failed(ProxyError),
}

/// An HTTP `CONNECT` handshake, sans I/O: bytes in, bytes and
/// [`HandshakeEvent`]s out.
///
/// The request is Qt's, byte for byte:
///
/// ```text
/// CONNECT host:port HTTP/1.1
/// Proxy-Connection: keep-alive
/// Host: host
/// User-Agent: Mozilla/5.0          (unless the proxy's raw headers set one)
/// <the proxy's raw headers>        (names in lower case, as Qt 6 sends them)
/// Proxy-Authorization: …           (once the proxy has asked, with a 407)
/// ```
///
/// The host is a name (ASCII letters in lower case), a dotted IPv4 address
/// or a bracketed IPv6 address. Credentials go out only after a `407`
/// names the scheme, as in Qt. The response:
///
/// | Proxy answers | Result |
/// |---|---|
/// | `200` | [`HandshakeEvent::Connected`]; bytes after the head (and after a `Content-Length` body) are tunnel data |
/// | `407` with Basic or Digest, credentials known | the request again, on the same connection, or [`HandshakeEvent::Reconnect`] if the proxy closes it |
/// | `407`, no credentials (or the ones sent were refused) | [`HandshakeEvent::AuthenticationRequired`] (realm in the authenticator), then retry or `ProxyAuthenticationRequiredError` "Authentication required" |
/// | `407` without a usable challenge | `ProxyProtocolError` "Error parsing authentication request from proxy" |
/// | `403`, `405` | `SocketAccessError` "Proxy denied connection" |
/// | `404` | `HostNotFoundError` "Host not found" |
/// | `503` | `ConnectionRefusedError` "Connection refused" |
/// | any other status (tinyproxy's `401` too) | `ProxyProtocolError` "Error communicating with HTTP proxy" |
/// | not HTTP | `ProxyProtocolError` "Did not receive HTTP response from proxy" |
/// | EOF before the head | `ProxyConnectionClosedError` "Proxy connection closed prematurely" |
///
/// Qt: `QHttpSocketEngine`'s handshake.
///
/// # Examples
///
/// A proxy that wants Basic credentials, given by the application:
///
/// ```
/// use sigloop_net::proxy::http::HttpConnectHandshake;
/// use sigloop_net::proxy::{HandshakeEvent, ProxyAddress};
/// use sigloop_net::{NetworkProxy, ProxyType};
///
/// let proxy = NetworkProxy::new(ProxyType::Http, "127.0.0.1", 3128);
/// let mut tunnel = HttpConnectHandshake::new(ProxyAddress::Domain("example.com".into(), 443), &proxy);
/// tunnel.proxy_connected();
/// let _first_request = tunnel.take_output();
///
/// let challenge = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"squid\"\r\nContent-Length: 0\r\n\r\n";
/// assert_eq!(tunnel.feed(challenge), HandshakeEvent::AuthenticationRequired);
/// let mut auth = tunnel.authenticator();
/// assert_eq!(auth.realm(), "squid");
/// auth.set_user("Aladdin");
/// auth.set_password("open sesame");
/// assert_eq!(tunnel.authenticate(&auth), HandshakeEvent::Pending); // keep-alive: same connection
/// let retry = String::from_utf8(tunnel.take_output()).unwrap();
/// assert!(retry.ends_with("Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"));
/// assert_eq!(tunnel.feed(b"HTTP/1.1 200 Connection established\r\n\r\n"), HandshakeEvent::Connected);
/// ```
#[derive(Debug, Clone)]
pub struct HttpConnectHandshake {
    target: ProxyAddress,
    raw_headers: Vec<(Vec<u8>, Vec<u8>)>,
    has_user_agent: bool,
    authenticator: Authenticator,
    auth: AuthState,
    credentials_sent: bool,
    /// Whether the proxy closes the connection after its last response.
    will_close: bool,
    state: State,
    /// Bytes read and not parsed yet; once established, tunnel data.
    input: Vec<u8>,
    /// Where the next scan for the end of the head starts.
    scan_from: usize,
    output: Vec<u8>,
}

impl HttpConnectHandshake {
    /// A handshake that asks `proxy` for a tunnel to `target`, with the
    /// proxy's user, password and raw headers.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType};
    ///
    /// let mut proxy = NetworkProxy::new(ProxyType::Http, "p", 3128);
    /// proxy.set_raw_header("User-Agent", "fortune/1.0");
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([10, 0, 0, 1], 80)), &proxy);
    /// t.proxy_connected();
    /// let request = String::from_utf8(t.take_output()).unwrap();
    /// assert!(request.contains("user-agent: fortune/1.0\r\n"));
    /// assert!(!request.contains("Mozilla"));
    /// ```
    pub fn new(target: ProxyAddress, proxy: &NetworkProxy) -> Self {
        let mut authenticator = Authenticator::new();
        if !proxy.user().is_empty() {
            authenticator.set_user(proxy.user());
        }
        if !proxy.password().is_empty() {
            authenticator.set_password(proxy.password());
        }
        HttpConnectHandshake {
            target,
            raw_headers: proxy.raw_headers().to_vec(),
            has_user_agent: proxy.has_raw_header("User-Agent"),
            authenticator,
            auth: AuthState::default(),
            credentials_sent: false,
            will_close: false,
            state: State::Connecting,
            input: Vec::new(),
            scan_from: 0,
            output: Vec::new(),
        }
    }

    /// The connection to the proxy is up: queues the `CONNECT` request.
    /// Call it for the first connection and after each
    /// [`HandshakeEvent::Reconnect`]; other calls do nothing.
    ///
    /// Qt: `QHttpSocketEngine::slotSocketConnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let proxy = NetworkProxy::new(ProxyType::Http, "p", 3128);
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(("::1".parse::<std::net::Ipv6Addr>().unwrap(), 80)), &proxy);
    /// t.proxy_connected();
    /// assert!(t.take_output().starts_with(b"CONNECT [::1]:80 HTTP/1.1\r\nProxy-Connection: keep-alive\r\nHost: [::1]\r\n"));
    /// ```
    pub fn proxy_connected(&mut self) {
        if self.state == State::Connecting {
            self.input.clear();
            self.send_request();
        }
    }

    /// The bytes to write to the proxy now (empty if none); they leave the
    /// handshake.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// assert!(t.take_output().is_empty());
    /// ```
    pub fn take_output(&mut self) -> Vec<u8> {
        mem::take(&mut self.output)
    }

    /// Bytes that came after the `200` response: the first tunnel data.
    /// Also what [`feed`](Self::feed) gets once the tunnel is up.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, HandshakeEvent, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// t.proxy_connected();
    /// assert_eq!(t.feed(b"HTTP/1.0 200 Connection established\r\n\r\nEARLY-DATA"), HandshakeEvent::Connected);
    /// assert_eq!(t.take_remaining(), b"EARLY-DATA");
    /// ```
    pub fn take_remaining(&mut self) -> Vec<u8> {
        match self.state {
            State::Established => mem::take(&mut self.input),
            _ => Vec::new(),
        }
    }

    /// The authenticator to hand to `proxy_authentication_required` slots
    /// after [`HandshakeEvent::AuthenticationRequired`]: the proxy's realm,
    /// and no credentials (Qt clears refused ones before asking).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// assert_eq!(t.authenticator().realm(), "");
    /// ```
    pub fn authenticator(&self) -> Authenticator {
        self.authenticator.clone()
    }

    /// Bytes read from the proxy. Returns what happened; with
    /// [`HandshakeEvent::Pending`], write [`take_output`](Self::take_output)
    /// and read on. Never panics, whatever the bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, HandshakeEvent, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType, SocketError};
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// t.proxy_connected();
    /// assert_eq!(t.feed(b"HTTP/1.1 50"), HandshakeEvent::Pending);
    /// let HandshakeEvent::Failed(e) = t.feed(b"3 Service Unavailable\r\n\r\n") else { panic!() };
    /// assert_eq!((e.error(), e.text()), (SocketError::ConnectionRefused, "Connection refused"));
    /// ```
    pub fn feed(&mut self, data: &[u8]) -> HandshakeEvent {
        match &self.state {
            State::Failed(error) => return HandshakeEvent::Failed(error.clone()),
            // Bytes from a connection about to be replaced mean nothing.
            State::Connecting | State::AwaitingCredentials => return HandshakeEvent::Pending,
            _ => {}
        }
        self.input.extend_from_slice(data);
        loop {
            let step = match &mut self.state {
                State::ReadingHead => self.read_head(),
                State::SkippingBody { .. } => self.skip_body(),
                _ => return HandshakeEvent::Pending,
            };
            if let Some(event) = step {
                return event;
            }
        }
    }

    /// What the application's slots left in the authenticator after
    /// [`HandshakeEvent::AuthenticationRequired`]. With a user or password:
    /// the request again with `Proxy-Authorization`, on the same
    /// connection ([`HandshakeEvent::Pending`], write the output) or on a
    /// new one ([`HandshakeEvent::Reconnect`]) if the proxy closes it.
    /// Without: the final `ProxyAuthenticationRequiredError`
    /// "Authentication required".
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, HandshakeEvent, ProxyAddress};
    /// use sigloop_net::{Authenticator, NetworkProxy, ProxyType, SocketError};
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// t.proxy_connected();
    /// let reply = b"HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"x\"\r\nProxy-Connection: close\r\n\r\n";
    /// assert_eq!(t.feed(reply), HandshakeEvent::AuthenticationRequired);
    /// let HandshakeEvent::Failed(e) = t.authenticate(&Authenticator::new()) else { panic!() };
    /// assert_eq!((e.error(), e.text()), (SocketError::ProxyAuthenticationRequired, "Authentication required"));
    /// ```
    pub fn authenticate(&mut self, authenticator: &Authenticator) -> HandshakeEvent {
        if self.state != State::AwaitingCredentials {
            return self.current_event();
        }
        if !authenticator.has_credentials() {
            return self.fail(ProxyError::new(
                SocketError::ProxyAuthenticationRequired,
                text::AUTH_REQUIRED,
            ));
        }
        self.authenticator.set_user(authenticator.user());
        self.authenticator.set_password(authenticator.password());
        self.retry()
    }

    /// The proxy closed the connection (EOF). Before the response head
    /// that is `ProxyConnectionClosedError` "Proxy connection closed
    /// prematurely"; on an established tunnel `RemoteHostClosedError` with
    /// [`REMOTE_HOST_CLOSED_TEXT`](super::REMOTE_HOST_CLOSED_TEXT). While
    /// waiting for credentials it is expected and gives `Pending` (the retry
    /// then reconnects).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, HandshakeEvent, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType, SocketError};
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// t.proxy_connected();
    /// let HandshakeEvent::Failed(e) = t.proxy_closed() else { panic!() };
    /// assert_eq!((e.error(), e.text()), (SocketError::ProxyConnectionClosed, "Proxy connection closed prematurely"));
    /// ```
    pub fn proxy_closed(&mut self) -> HandshakeEvent {
        let error = match self.state {
            State::AwaitingCredentials => {
                self.will_close = true;
                return HandshakeEvent::Pending;
            }
            State::Failed(_) => return self.current_event(),
            State::Established => ProxyError::new(
                SocketError::RemoteHostClosed,
                super::REMOTE_HOST_CLOSED_TEXT,
            ),
            State::Connecting | State::ReadingHead | State::SkippingBody { .. } => {
                ProxyError::new(SocketError::ProxyConnectionClosed, text::PROXY_CLOSED)
            }
        };
        self.fail(error)
    }

    /// The connection to the proxy reported `error` with `text`. Before the
    /// tunnel is up Qt renames them: not found → `ProxyNotFoundError` "Proxy
    /// server not found", refused → `ProxyConnectionRefusedError` "Proxy
    /// connection refused", timeout → `ProxyConnectionTimeoutError` "Proxy
    /// server connection timed out", closed → `ProxyConnectionClosedError`
    /// "Proxy connection closed prematurely"; others pass through. On an
    /// established tunnel errors pass through, and a timeout is ignored
    /// (`Pending`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::{http::HttpConnectHandshake, HandshakeEvent, ProxyAddress};
    /// use sigloop_net::{NetworkProxy, ProxyType, SocketError};
    /// let mut t = HttpConnectHandshake::new(ProxyAddress::from(([1, 1, 1, 1], 1)), &NetworkProxy::new(ProxyType::Http, "p", 1));
    /// let HandshakeEvent::Failed(e) = t.control_socket_error(SocketError::ConnectionRefused, "Connection refused") else { panic!() };
    /// assert_eq!((e.error(), e.text()), (SocketError::ProxyConnectionRefused, "Proxy connection refused"));
    /// ```
    pub fn control_socket_error(&mut self, error: SocketError, text: &str) -> HandshakeEvent {
        use SocketError::*;
        match self.state {
            State::Failed(_) => return self.current_event(),
            State::AwaitingCredentials => return self.proxy_closed(),
            State::Established if error == SocketTimeout => return HandshakeEvent::Pending,
            State::Established => return self.fail(ProxyError::new(error, text.to_owned())),
            _ => {}
        }
        let renamed = match error {
            HostNotFound => ProxyError::new(ProxyNotFound, text::PROXY_NOT_FOUND),
            ConnectionRefused => ProxyError::new(ProxyConnectionRefused, text::PROXY_REFUSED),
            SocketTimeout => ProxyError::new(ProxyConnectionTimeout, text::PROXY_TIMEOUT),
            RemoteHostClosed => ProxyError::new(ProxyConnectionClosed, text::PROXY_CLOSED),
            _ => ProxyError::new(error, text.to_owned()),
        };
        self.fail(renamed)
    }

    fn send_request(&mut self) {
        let authority = self.target.to_string();
        let host = self.target.host();
        let out = &mut self.output;
        out.extend_from_slice(format!("CONNECT {authority} HTTP/1.1\r\n").as_bytes());
        out.extend_from_slice(b"Proxy-Connection: keep-alive\r\n");
        out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
        if !self.has_user_agent {
            out.extend_from_slice(b"User-Agent: Mozilla/5.0\r\n");
        }
        for (name, value) in &self.raw_headers {
            out.extend_from_slice(name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(value) = self
            .auth
            .authorization(&self.authenticator, "CONNECT", &authority)
        {
            self.credentials_sent = true;
            out.extend_from_slice(b"Proxy-Authorization: ");
            out.extend_from_slice(&value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        self.state = State::ReadingHead;
        self.scan_from = 0;
    }

    /// `None`: parse on; `Some`: report.
    fn read_head(&mut self) -> Option<HandshakeEvent> {
        match parse(&self.input, self.scan_from) {
            Parsed::Incomplete(scan_from) => {
                self.scan_from = scan_from;
                Some(HandshakeEvent::Pending)
            }
            Parsed::NotHttp => {
                Some(self.fail(ProxyError::new(SocketError::ProxyProtocol, text::NOT_HTTP)))
            }
            Parsed::Done(head, len) => {
                self.input.drain(..len);
                self.state = State::SkippingBody {
                    remaining: head.content_length(),
                    head,
                };
                None
            }
        }
    }

    /// Drops the body, then acts on the status.
    fn skip_body(&mut self) -> Option<HandshakeEvent> {
        let State::SkippingBody { remaining, head } = &mut self.state else {
            // Only called in this state; never spin the parse loop.
            return Some(HandshakeEvent::Pending);
        };
        let available = u64::try_from(self.input.len()).unwrap_or(u64::MAX);
        let skip = (*remaining).min(available);
        self.input
            .drain(..usize::try_from(skip).unwrap_or(self.input.len()));
        *remaining -= skip;
        if *remaining > 0 {
            return Some(HandshakeEvent::Pending);
        }
        let head = head.clone();
        Some(self.on_response(&head))
    }

    fn on_response(&mut self, head: &ResponseHead) -> HandshakeEvent {
        use SocketError::*;
        let error = match head.status {
            200 => {
                self.state = State::Established;
                return HandshakeEvent::Connected;
            }
            407 => return self.on_challenge(head),
            403 | 405 => ProxyError::new(SocketAccess, text::DENIED),
            404 => ProxyError::new(HostNotFound, text::HOST_NOT_FOUND),
            503 => ProxyError::new(ConnectionRefused, text::REFUSED),
            _ => ProxyError::new(ProxyProtocol, text::OTHER_STATUS),
        };
        self.fail(error)
    }

    /// A `407`: read the challenge, then retry or ask the application.
    fn on_challenge(&mut self, head: &ResponseHead) -> HandshakeEvent {
        if self.credentials_sent {
            // The credentials sent were refused: forget them, ask again.
            self.authenticator = Authenticator::new();
            self.credentials_sent = false;
        }
        let challenges = head.fields_named("proxy-authenticate");
        if self
            .auth
            .read_challenges(challenges, &mut self.authenticator)
            .is_none()
        {
            return self.fail(ProxyError::new(
                SocketError::ProxyProtocol,
                text::BAD_CHALLENGE,
            ));
        }
        debug_assert_ne!(self.auth.scheme, Scheme::None);
        self.will_close = head.will_close();
        if self.authenticator.has_credentials() {
            return self.retry();
        }
        self.state = State::AwaitingCredentials;
        self.input.clear();
        HandshakeEvent::AuthenticationRequired
    }

    /// Sends the request again with credentials, here or on a new
    /// connection.
    fn retry(&mut self) -> HandshakeEvent {
        self.input.clear();
        if self.will_close {
            self.state = State::Connecting;
            return HandshakeEvent::Reconnect;
        }
        self.send_request();
        HandshakeEvent::Pending
    }

    fn fail(&mut self, error: ProxyError) -> HandshakeEvent {
        self.state = State::Failed(error.clone());
        self.input.clear();
        HandshakeEvent::Failed(error)
    }

    fn current_event(&self) -> HandshakeEvent {
        match &self.state {
            State::Failed(error) => HandshakeEvent::Failed(error.clone()),
            _ => HandshakeEvent::Pending,
        }
    }
}
