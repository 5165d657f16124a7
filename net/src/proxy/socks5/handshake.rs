//! The SOCKS5 client handshake: method negotiation, RFC 1929
//! username/password, and one request (`CONNECT`, `BIND` or
//! `UDP ASSOCIATE`) with its reply or replies.

use std::fmt;
use std::mem;

use super::address::{decode, encode, Decoded};
use super::{reply_error, text};
use crate::proxy::authenticator::latin1;
use crate::proxy::{Authenticator, HandshakeEvent, ProxyAddress, ProxyError};
use crate::SocketError;

const VERSION: u8 = 0x05;
const METHOD_NONE: u8 = 0x00;
const METHOD_PASSWORD: u8 = 0x02;
const METHOD_NOT_ACCEPTABLE: u8 = 0xFF;
const PASSWORD_AUTH_VERSION: u8 = 0x01;

/// The SOCKS5 request to make once authenticated (RFC 1928 §4).
///
/// Qt: the modes of `QSocks5SocketEngine` (connect for `QTcpSocket`, bind
/// for `QTcpServer`, UDP associate for `QUdpSocket`).
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::socks5::Socks5Command;
/// assert_eq!(Socks5Command::UdpAssociate.code(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Socks5Command {
    /// Open a TCP tunnel to the target (`CMD` 1).
    Connect,
    /// Have the proxy accept one TCP connection for us (`CMD` 2); two
    /// replies: where it listens, then who connected. The target is the
    /// address and port asked for (Qt sends the server's local address).
    Bind,
    /// Open a UDP relay (`CMD` 3); the target is the local address and
    /// port datagrams will come from (Qt sends `0.0.0.0` and its UDP
    /// socket's port).
    UdpAssociate,
}

impl Socks5Command {
    /// The `CMD` byte.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::proxy::socks5::Socks5Command::Connect.code(), 1);
    /// ```
    pub fn code(self) -> u8 {
        match self {
            Socks5Command::Connect => 1,
            Socks5Command::Bind => 2,
            Socks5Command::UdpAssociate => 3,
        }
    }
}

/// Where the handshake is (Qt's `Socks5State`, without its error states:
/// a failure is the `Failed` state holding the error).
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the connection to the proxy (at first, and after a
    /// `Reconnect`).
    Connecting,
    /// The greeting is out; waiting for `VER METHOD`.
    MethodSent,
    /// The RFC 1929 request is out; waiting for `VER STATUS`.
    AuthSent,
    /// The request is out; waiting for its (first) reply.
    RequestSent,
    /// `BIND`'s first reply came; waiting for the second.
    AwaitingPeer,
    /// `AuthenticationRequired` was reported; waiting for `authenticate()`.
    AwaitingCredentials,
    /// The tunnel or association is up.
    Established,
    /// Failed for good.
    Failed(ProxyError),
}

/// One step of the parser.
enum Step {
    /// Not enough input for the current state.
    NeedMore,
    /// State changed; parse on.
    Continue,
    /// Report this.
    Report(HandshakeEvent),
}

/// A SOCKS5 client handshake, sans I/O: bytes in, bytes and
/// [`HandshakeEvent`]s out.
///
/// It offers exactly one method, as Qt does: "no authentication" without
/// credentials, "username/password" (RFC 1929, Latin-1) with them. Replies
/// may arrive split at any byte; bytes after the final reply are kept for
/// [`take_remaining`](Self::take_remaining). Every failure is Qt's error
/// code and text:
///
/// | Proxy does | Error | Text |
/// |---|---|---|
/// | answers a version other than 5, a reserved byte ≠ 0, an unknown `ATYP` | `ProxyProtocolError` | "SOCKS version 5 protocol error" |
/// | accepts no offered method (`FF`), or rejects the credentials | `AuthenticationRequired`, then without new credentials `ProxyAuthenticationRequiredError` | "Proxy authentication failed" |
/// | picks a method not offered | `SocketAccessError` | "Proxy authentication failed: Socks5 host did not support authentication method." |
/// | replies `REP` 1…8 | see [`socks5`](super) (e.g. 5 → `ConnectionRefusedError` "Connection refused") | |
/// | replies 1 or 2 to a request by name | `HostNotFoundError` | "Host not found" |
/// | closes before the reply | `ProxyConnectionClosedError` | "Connection to proxy closed prematurely" |
///
/// Qt: `QSocks5SocketEngine`'s handshake (`QSocks5SocketEnginePrivate`).
///
/// # Examples
///
/// A `BIND`, with the two replies arriving in one read:
///
/// ```
/// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
/// use sigloop_net::proxy::{HandshakeEvent, ProxyAddress};
///
/// let mut socks = Socks5Handshake::new(Socks5Command::Bind, ProxyAddress::from(([0, 0, 0, 0], 0)), "u", "p").unwrap();
/// socks.proxy_connected();
/// assert_eq!(socks.take_output(), [5, 1, 2]);
/// assert_eq!(socks.feed(&[5, 2]), HandshakeEvent::Pending);
/// assert_eq!(socks.take_output(), [1, 1, b'u', 1, b'p']);
/// assert_eq!(socks.feed(&[1, 0]), HandshakeEvent::Pending);
/// assert_eq!(socks.take_output(), [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
/// let replies = [5, 0, 0, 1, 10, 0, 0, 1, 0x9c, 0x40, 5, 0, 0, 1, 10, 0, 0, 7, 0xc3, 0x50];
/// assert_eq!(socks.feed(&replies), HandshakeEvent::Bound(ProxyAddress::from(([10, 0, 0, 1], 40000))));
/// assert_eq!(socks.feed(&[]), HandshakeEvent::PeerConnected(ProxyAddress::from(([10, 0, 0, 7], 50000))));
/// ```
#[derive(Clone)]
pub struct Socks5Handshake {
    command: Socks5Command,
    target: ProxyAddress,
    /// Latin-1 user and password, when there are credentials.
    credentials: Option<(Vec<u8>, Vec<u8>)>,
    state: State,
    /// Bytes read and not parsed yet; after the final reply, tunnel data.
    input: Vec<u8>,
    output: Vec<u8>,
    bound: Option<ProxyAddress>,
}

impl fmt::Debug for Socks5Handshake {
    /// Never shows the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socks5Handshake")
            .field("command", &self.command)
            .field("target", &self.target)
            .field("authenticates", &self.credentials.is_some())
            .field("state", &self.state)
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl Socks5Handshake {
    /// A handshake that will ask the proxy for `command` to `target`, with
    /// `user` and `password` if either is not empty.
    ///
    /// # Errors
    ///
    /// `HostNotFoundError` "Host not found" if `target` is a name SOCKS5
    /// cannot carry: empty, or longer than 255 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// use sigloop_net::proxy::ProxyAddress;
    ///
    /// let long = ProxyAddress::Domain("a".repeat(256), 80);
    /// assert!(Socks5Handshake::new(Socks5Command::Connect, long, "", "").is_err());
    /// ```
    pub fn new(
        command: Socks5Command,
        target: ProxyAddress,
        user: &str,
        password: &str,
    ) -> Result<Self, ProxyError> {
        if encode(&target, &mut Vec::new()).is_none() {
            return Err(ProxyError::new(
                SocketError::HostNotFound,
                text::HOST_NOT_FOUND,
            ));
        }
        let credentials =
            (!user.is_empty() || !password.is_empty()).then(|| (latin1(user), latin1(password)));
        Ok(Socks5Handshake {
            command,
            target,
            credentials,
            state: State::Connecting,
            input: Vec::new(),
            output: Vec::new(),
            bound: None,
        })
    }

    /// The connection to the proxy is up: queues the greeting. Call it for
    /// the first connection and after each [`HandshakeEvent::Reconnect`];
    /// other calls do nothing.
    ///
    /// Qt: `QSocks5SocketEnginePrivate::_q_controlSocketConnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// s.proxy_connected();
    /// assert_eq!(s.take_output(), [5, 1, 0]);
    /// ```
    pub fn proxy_connected(&mut self) {
        if self.state != State::Connecting {
            return;
        }
        self.input.clear();
        let method = match self.credentials {
            Some(_) => METHOD_PASSWORD,
            None => METHOD_NONE,
        };
        self.output.extend_from_slice(&[VERSION, 1, method]);
        self.state = State::MethodSent;
    }

    /// The bytes to write to the proxy now (empty if none); they leave the
    /// handshake.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// assert!(s.take_output().is_empty());
    /// ```
    pub fn take_output(&mut self) -> Vec<u8> {
        mem::take(&mut self.output)
    }

    /// Bytes that came after the final reply: the first tunnel data (for
    /// `CONNECT` and `BIND`). Also what [`feed`](Self::feed) gets once the
    /// tunnel is up.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// use sigloop_net::proxy::HandshakeEvent;
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// s.proxy_connected();
    /// let _ = s.feed(&[5, 0]);
    /// let reply = [5, 0, 0, 1, 1, 2, 3, 4, 0, 5, b'h', b'i'];
    /// assert_eq!(s.feed(&reply), HandshakeEvent::Connected);
    /// assert_eq!(s.take_remaining(), b"hi");
    /// ```
    pub fn take_remaining(&mut self) -> Vec<u8> {
        match self.state {
            State::Established => mem::take(&mut self.input),
            _ => Vec::new(),
        }
    }

    /// The address the proxy reported in its (first) success reply
    /// (`BND.ADDR`, `BND.PORT`): the proxy's side of a `CONNECT`, its
    /// listening address for `BIND`, the relay for `UDP ASSOCIATE`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// let s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// assert_eq!(s.bound_address(), None);
    /// ```
    pub fn bound_address(&self) -> Option<&ProxyAddress> {
        self.bound.as_ref()
    }

    /// The authenticator to hand to `proxy_authentication_required` slots
    /// after [`HandshakeEvent::AuthenticationRequired`]: an empty one, as
    /// Qt's SOCKS5 engine emits.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// let s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// assert!(s.authenticator().is_null());
    /// ```
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new()
    }

    /// Bytes read from the proxy. Returns what happened; with
    /// [`HandshakeEvent::Pending`], write [`take_output`](Self::take_output)
    /// and read on. Never panics, whatever the bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// use sigloop_net::proxy::HandshakeEvent;
    /// use sigloop_net::SocketError;
    ///
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// s.proxy_connected();
    /// let _ = s.feed(&[5, 0]);
    /// let HandshakeEvent::Failed(e) = s.feed(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]) else { panic!() };
    /// assert_eq!((e.error(), e.text()), (SocketError::ConnectionRefused, "Connection refused"));
    /// ```
    pub fn feed(&mut self, data: &[u8]) -> HandshakeEvent {
        match &self.state {
            State::Failed(error) => return HandshakeEvent::Failed(error.clone()),
            // Stale bytes from a connection being replaced mean nothing.
            State::Connecting | State::AwaitingCredentials => return HandshakeEvent::Pending,
            _ => {}
        }
        self.input.extend_from_slice(data);
        loop {
            let step = match self.state {
                State::MethodSent => self.on_method_reply(),
                State::AuthSent => self.on_auth_reply(),
                State::RequestSent | State::AwaitingPeer => self.on_request_reply(),
                _ => Step::NeedMore,
            };
            match step {
                Step::NeedMore => return HandshakeEvent::Pending,
                Step::Continue => {}
                Step::Report(event) => return event,
            }
        }
    }

    /// What the application's slots left in the authenticator after
    /// [`HandshakeEvent::AuthenticationRequired`]. With a user or password:
    /// [`HandshakeEvent::Reconnect`] (Qt reconnects and offers
    /// username/password). Without: the final
    /// `ProxyAuthenticationRequiredError` "Proxy authentication failed".
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// use sigloop_net::proxy::HandshakeEvent;
    /// use sigloop_net::Authenticator;
    ///
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// s.proxy_connected();
    /// assert_eq!(s.feed(&[5, 0xFF]), HandshakeEvent::AuthenticationRequired);
    /// let mut auth = s.authenticator();
    /// auth.set_user("u");
    /// auth.set_password("p");
    /// assert_eq!(s.authenticate(&auth), HandshakeEvent::Reconnect);
    /// s.proxy_connected();
    /// assert_eq!(s.take_output(), [5, 1, 2]);
    /// ```
    pub fn authenticate(&mut self, authenticator: &Authenticator) -> HandshakeEvent {
        if self.state != State::AwaitingCredentials {
            return self.current_event();
        }
        if authenticator.has_credentials() {
            self.credentials = Some((
                latin1(authenticator.user()),
                latin1(authenticator.password()),
            ));
            self.state = State::Connecting;
            self.output.clear();
            return HandshakeEvent::Reconnect;
        }
        self.fail(ProxyError::new(
            SocketError::ProxyAuthenticationRequired,
            text::AUTH_FAILED,
        ))
    }

    /// The proxy closed the connection (EOF). Before the final reply that
    /// is `ProxyConnectionClosedError` "Connection to proxy closed
    /// prematurely"; on an established tunnel `RemoteHostClosedError` with
    /// [`REMOTE_HOST_CLOSED_TEXT`](super::REMOTE_HOST_CLOSED_TEXT). While
    /// waiting for credentials it is expected (proxies close after
    /// refusing) and gives `Pending`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// use sigloop_net::proxy::HandshakeEvent;
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// s.proxy_connected();
    /// let HandshakeEvent::Failed(e) = s.proxy_closed() else { panic!() };
    /// assert_eq!(e.text(), "Connection to proxy closed prematurely");
    /// ```
    pub fn proxy_closed(&mut self) -> HandshakeEvent {
        let error = match self.state {
            State::AwaitingCredentials => return HandshakeEvent::Pending,
            State::Failed(_) => return self.current_event(),
            State::Established => ProxyError::new(
                SocketError::RemoteHostClosed,
                super::REMOTE_HOST_CLOSED_TEXT,
            ),
            State::AwaitingPeer => {
                ProxyError::new(SocketError::RemoteHostClosed, text::REMOTE_CLOSED_CONTROL)
            }
            State::Connecting | State::MethodSent | State::AuthSent | State::RequestSent => {
                ProxyError::new(SocketError::ProxyConnectionClosed, text::PROXY_CLOSED)
            }
        };
        self.fail(error)
    }

    /// The connection to the proxy reported `error` with `text` (its
    /// socket's error and error string). While connecting to the proxy and
    /// during the handshake Qt renames the errors: refused →
    /// `ProxyConnectionRefusedError` "Connection to proxy refused", closed →
    /// `ProxyConnectionClosedError`, host not found → `ProxyNotFoundError`
    /// "Proxy host not found", a connect timeout →
    /// `ProxyConnectionTimeoutError` "Connection to proxy timed out"; other
    /// errors, and errors on an established tunnel, pass through.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
    /// use sigloop_net::proxy::HandshakeEvent;
    /// use sigloop_net::SocketError;
    ///
    /// let mut s = Socks5Handshake::new(Socks5Command::Connect, ([1, 2, 3, 4], 5).into(), "", "").unwrap();
    /// let HandshakeEvent::Failed(e) = s.control_socket_error(SocketError::ConnectionRefused, "Connection refused") else { panic!() };
    /// assert_eq!((e.error(), e.text()), (SocketError::ProxyConnectionRefused, "Connection to proxy refused"));
    /// ```
    pub fn control_socket_error(&mut self, error: SocketError, text: &str) -> HandshakeEvent {
        use SocketError::*;
        let handshaking = matches!(
            self.state,
            State::Connecting | State::MethodSent | State::AuthSent | State::RequestSent
        );
        let renamed = match (error, handshaking) {
            (_, false) => None,
            (ConnectionRefused, true) => {
                Some(ProxyError::new(ProxyConnectionRefused, text::PROXY_REFUSED))
            }
            (RemoteHostClosed, true) => {
                Some(ProxyError::new(ProxyConnectionClosed, text::PROXY_CLOSED))
            }
            (HostNotFound, true) => Some(ProxyError::new(ProxyNotFound, text::PROXY_NOT_FOUND)),
            (SocketTimeout, true) if self.state == State::Connecting => {
                Some(ProxyError::new(ProxyConnectionTimeout, text::PROXY_TIMEOUT))
            }
            _ => None,
        };
        match self.state {
            State::AwaitingCredentials => HandshakeEvent::Pending,
            State::Failed(_) => self.current_event(),
            _ => self.fail(renamed.unwrap_or_else(|| ProxyError::new(error, text.to_owned()))),
        }
    }

    /// How many read bytes wait to be parsed.
    #[cfg(test)]
    pub(super) fn buffered(&self) -> usize {
        self.input.len()
    }

    /// `VER METHOD`.
    fn on_method_reply(&mut self) -> Step {
        let Some(&[version, method]) = self.input.get(..2) else {
            return Step::NeedMore;
        };
        self.input.drain(..2);
        if version != VERSION {
            return self.fail_step(ProxyError::new(SocketError::ProxyProtocol, text::PROTOCOL));
        }
        match method {
            METHOD_NONE => self.send_request(),
            METHOD_NOT_ACCEPTABLE => self.ask_for_credentials(),
            METHOD_PASSWORD if self.credentials.is_some() => self.send_password(),
            _ => self.fail_step(ProxyError::new(
                SocketError::SocketAccess,
                text::METHOD_UNSUPPORTED,
            )),
        }
    }

    /// RFC 1929's `VER STATUS`.
    fn on_auth_reply(&mut self) -> Step {
        let Some(&[version, status]) = self.input.get(..2) else {
            return Step::NeedMore;
        };
        self.input.drain(..2);
        if version == PASSWORD_AUTH_VERSION && status == 0 {
            self.send_request()
        } else {
            self.ask_for_credentials()
        }
    }

    /// `VER REP RSV ATYP BND.ADDR BND.PORT`.
    fn on_request_reply(&mut self) -> Step {
        let Some(&[version, reply, reserved]) = self.input.get(..3) else {
            return Step::NeedMore;
        };
        if version != VERSION || reserved != 0 {
            return self.fail_step(ProxyError::new(SocketError::ProxyProtocol, text::PROTOCOL));
        }
        if reply != 0 {
            let by_name = matches!(self.target, ProxyAddress::Domain(..));
            return self.fail_step(reply_error(reply, by_name));
        }
        let (address, len) = match decode(&self.input[3..]) {
            Decoded::Incomplete => return Step::NeedMore,
            Decoded::BadType => {
                return self.fail_step(ProxyError::new(SocketError::ProxyProtocol, text::PROTOCOL))
            }
            Decoded::Done(address, len) => (address, len),
        };
        self.input.drain(..3 + len);
        let event = match (self.command, &self.state) {
            (Socks5Command::Bind, State::RequestSent) => {
                self.state = State::AwaitingPeer;
                self.bound = Some(address.clone());
                return Step::Report(HandshakeEvent::Bound(address));
            }
            (Socks5Command::Bind, _) => HandshakeEvent::PeerConnected(address),
            (Socks5Command::Connect, _) => {
                self.bound = Some(address);
                HandshakeEvent::Connected
            }
            (Socks5Command::UdpAssociate, _) => {
                self.bound = Some(address.clone());
                HandshakeEvent::UdpAssociated(address)
            }
        };
        self.state = State::Established;
        Step::Report(event)
    }

    fn send_password(&mut self) -> Step {
        let (user, password) = self.credentials.clone().unwrap_or_default();
        let (Ok(user_len), Ok(password_len)) =
            (u8::try_from(user.len()), u8::try_from(password.len()))
        else {
            // RFC 1929 carries at most 255 bytes of each.
            return self.fail_step(ProxyError::new(
                SocketError::ProxyAuthenticationRequired,
                text::AUTH_FAILED,
            ));
        };
        self.output
            .extend_from_slice(&[PASSWORD_AUTH_VERSION, user_len]);
        self.output.extend_from_slice(&user);
        self.output.push(password_len);
        self.output.extend_from_slice(&password);
        self.state = State::AuthSent;
        Step::Continue
    }

    fn send_request(&mut self) -> Step {
        self.output
            .extend_from_slice(&[VERSION, self.command.code(), 0]);
        // `new` checked that the target encodes.
        let _ = encode(&self.target, &mut self.output);
        self.state = State::RequestSent;
        Step::Continue
    }

    fn ask_for_credentials(&mut self) -> Step {
        self.state = State::AwaitingCredentials;
        self.input.clear();
        Step::Report(HandshakeEvent::AuthenticationRequired)
    }

    fn fail_step(&mut self, error: ProxyError) -> Step {
        Step::Report(self.fail(error))
    }

    fn fail(&mut self, error: ProxyError) -> HandshakeEvent {
        self.state = State::Failed(error.clone());
        self.input.clear();
        HandshakeEvent::Failed(error)
    }

    /// The event that describes the current state, for calls that do not
    /// apply to it.
    fn current_event(&self) -> HandshakeEvent {
        match &self.state {
            State::Failed(error) => HandshakeEvent::Failed(error.clone()),
            _ => HandshakeEvent::Pending,
        }
    }
}
