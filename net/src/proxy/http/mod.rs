//! HTTP `CONNECT` tunnels through an HTTP proxy, as a sans-I/O state
//! machine, with Basic and Digest (MD5) proxy authentication.
//!
//! [`HttpConnectHandshake`] sends the request Qt's `QHttpSocketEngine`
//! sends and reads the proxy's response the way it does; failures carry
//! Qt's error codes and texts. See
//! [`HandshakeEvent`](super::HandshakeEvent) for how a socket drives it.
//!
//! NTLM and Negotiate proxy authentication, which Qt offers, are not
//! supported (no well-kept Rust crate does NTLM): a proxy that offers only
//! them fails with `ProxyProtocolError` "Error parsing authentication
//! request from proxy". Digest supports MD5 and MD5-sess, as Qt's does;
//! SHA-256 challenges are skipped, as Qt skips them.
//!
//! ```
//! use sigloop_net::proxy::http::HttpConnectHandshake;
//! use sigloop_net::proxy::{HandshakeEvent, ProxyAddress};
//! use sigloop_net::{NetworkProxy, ProxyType};
//!
//! let proxy = NetworkProxy::new(ProxyType::Http, "127.0.0.1", 3128);
//! let mut tunnel = HttpConnectHandshake::new(ProxyAddress::from(([192, 0, 2, 1], 80)), &proxy);
//! tunnel.proxy_connected();
//! assert_eq!(
//!     tunnel.take_output(),
//!     b"CONNECT 192.0.2.1:80 HTTP/1.1\r\nProxy-Connection: keep-alive\r\nHost: 192.0.2.1\r\nUser-Agent: Mozilla/5.0\r\n\r\n"
//! );
//! let HandshakeEvent::Failed(error) = tunnel.feed(b"HTTP/1.1 403 Forbidden\r\n\r\n") else { panic!() };
//! assert_eq!(error.text(), "Proxy denied connection");
//! ```

mod auth;
mod handshake;
mod response;

pub use handshake::HttpConnectHandshake;
// One base64 encoder for the crate: PEM output (ssl) uses it too.
pub(crate) use auth::base64;

/// The text Qt's HTTP proxy engine gives when the proxy closes an
/// established tunnel (the socket's `RemoteHostClosedError` text through an
/// HTTP proxy; without a proxy it is "The remote host closed the
/// connection").
///
/// # Examples
///
/// ```
/// assert_eq!(sigloop_net::proxy::http::REMOTE_HOST_CLOSED_TEXT, "Remote host closed");
/// ```
pub const REMOTE_HOST_CLOSED_TEXT: &str = "Remote host closed";

/// Qt's texts for HTTP proxy failures (`QHttpSocketEngine`).
pub(crate) mod text {
    pub(crate) const NOT_HTTP: &str = "Did not receive HTTP response from proxy";
    pub(crate) const BAD_CHALLENGE: &str = "Error parsing authentication request from proxy";
    pub(crate) const AUTH_REQUIRED: &str = "Authentication required";
    pub(crate) const DENIED: &str = "Proxy denied connection";
    pub(crate) const HOST_NOT_FOUND: &str = "Host not found";
    pub(crate) const REFUSED: &str = "Connection refused";
    pub(crate) const OTHER_STATUS: &str = "Error communicating with HTTP proxy";
    pub(crate) const PROXY_REFUSED: &str = "Proxy connection refused";
    pub(crate) const PROXY_NOT_FOUND: &str = "Proxy server not found";
    pub(crate) const PROXY_TIMEOUT: &str = "Proxy server connection timed out";
    pub(crate) const PROXY_CLOSED: &str = "Proxy connection closed prematurely";
}

#[cfg(test)]
mod tests;
