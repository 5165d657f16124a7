//! `HandshakeEvent`: what a proxy handshake tells the socket that drives
//! it after each input.

use super::{ProxyAddress, ProxyError};

/// What a proxy handshake reports after an input; the driving socket acts
/// on it.
///
/// Every handshake ([`socks5::Socks5Handshake`](super::socks5::Socks5Handshake),
/// [`http::HttpConnectHandshake`](super::http::HttpConnectHandshake)) is
/// driven the same way:
///
/// 1. connect a TCP socket to the proxy; when it is connected call
///    `proxy_connected()`;
/// 2. write whatever `take_output()` returns, after every call;
/// 3. give every byte read from the proxy to `feed()`, and act on the event;
/// 4. on EOF from the proxy call `proxy_closed()`; on a socket error call
///    `control_socket_error()`; both return the event to act on.
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::http::HttpConnectHandshake;
/// use sigloop_net::proxy::{HandshakeEvent, ProxyAddress};
/// use sigloop_net::{NetworkProxy, ProxyType};
///
/// let proxy = NetworkProxy::new(ProxyType::Http, "127.0.0.1", 3128);
/// let mut handshake = HttpConnectHandshake::new(ProxyAddress::Domain("example.com".into(), 443), &proxy);
/// handshake.proxy_connected();
/// assert!(handshake.take_output().starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
/// let event = handshake.feed(b"HTTP/1.1 200 OK\r\n\r\nhello");
/// assert_eq!(event, HandshakeEvent::Connected);
/// assert_eq!(handshake.take_remaining(), b"hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the socket must act on what the handshake reports"]
pub enum HandshakeEvent {
    /// Nothing to report yet: write any output, read more.
    Pending,
    /// The proxy wants (other) credentials. Emit
    /// `proxy_authentication_required(proxy, authenticator)` with the
    /// handshake's `authenticator()`, then call `authenticate()` with what
    /// the slots left in it.
    AuthenticationRequired,
    /// Close the connection to the proxy, open a new one, and call
    /// `proxy_connected()` when it is up (a retry with new credentials).
    Reconnect,
    /// The tunnel is open (SOCKS5 `CONNECT`, HTTP `200`): the socket is
    /// connected. Bytes that came after the proxy's reply are tunnel data:
    /// take them with `take_remaining()`.
    Connected,
    /// SOCKS5 `BIND`: the proxy listens at this address for the peer (the
    /// server's address and port). Call `feed(&[])` once more: the second
    /// reply may have come in the same read.
    Bound(ProxyAddress),
    /// SOCKS5 `BIND`: the peer connected from this address; the connection
    /// to the proxy is now the tunnel (`take_remaining()` holds its first
    /// bytes).
    PeerConnected(ProxyAddress),
    /// SOCKS5 `UDP ASSOCIATE`: send datagrams, wrapped, to this relay
    /// address; keep the connection to the proxy open while the
    /// association is in use.
    UdpAssociated(ProxyAddress),
    /// The handshake failed: the socket reports this error (its code and
    /// Qt's text) and closes the connection to the proxy.
    Failed(ProxyError),
}
