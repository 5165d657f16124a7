//! SOCKS5 (RFC 1928, with RFC 1929 username/password authentication) as a
//! sans-I/O state machine, and the UDP relay's datagram header.
//!
//! [`Socks5Handshake`] never touches a socket: the socket that drives it
//! passes in what it read and writes out what the handshake produced (see
//! [`HandshakeEvent`](super::HandshakeEvent) for the driving loop). Its
//! failures carry Qt's error codes and texts, those of Qt's
//! `QSocks5SocketEngine`.
//!
//! ```
//! use sigloop_net::proxy::socks5::{Socks5Command, Socks5Handshake};
//! use sigloop_net::proxy::{HandshakeEvent, ProxyAddress};
//!
//! let target = ProxyAddress::Domain("example.com".into(), 80);
//! let mut socks = Socks5Handshake::new(Socks5Command::Connect, target, "", "").unwrap();
//! socks.proxy_connected();
//! assert_eq!(socks.take_output(), [5, 1, 0]); // greeting: one method, "no authentication"
//! assert_eq!(socks.feed(&[5, 0]), HandshakeEvent::Pending);
//! let request = socks.take_output();
//! assert_eq!(request[..5], [5, 1, 0, 3, 11]); // CONNECT, ATYP domain, 11 bytes of name
//! let reply = [5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90];
//! assert_eq!(socks.feed(&reply), HandshakeEvent::Connected);
//! ```

mod address;
mod handshake;
mod udp;

pub use handshake::{Socks5Command, Socks5Handshake};
pub use udp::{unwrap_datagram, wrap_datagram};

use super::ProxyError;
use crate::SocketError;

/// Qt's texts for SOCKS5 failures (`QSocks5SocketEngine`).
pub(crate) mod text {
    pub(crate) const PROTOCOL: &str = "SOCKS version 5 protocol error";
    pub(crate) const AUTH_FAILED: &str = "Proxy authentication failed";
    pub(crate) const METHOD_UNSUPPORTED: &str =
        "Proxy authentication failed: Socks5 host did not support authentication method.";
    pub(crate) const PROXY_REFUSED: &str = "Connection to proxy refused";
    pub(crate) const PROXY_CLOSED: &str = "Connection to proxy closed prematurely";
    pub(crate) const PROXY_NOT_FOUND: &str = "Proxy host not found";
    pub(crate) const PROXY_TIMEOUT: &str = "Connection to proxy timed out";
    pub(crate) const HOST_NOT_FOUND: &str = "Host not found";
    pub(crate) const REMOTE_CLOSED_CONTROL: &str = "The remote host closed the connection";
}

/// The text Qt's SOCKS5 engine gives when the proxy closes an established
/// tunnel (the socket's `RemoteHostClosedError` text through a SOCKS5
/// proxy; without a proxy it is "The remote host closed the connection").
///
/// # Examples
///
/// ```
/// assert_eq!(sigloop_net::proxy::socks5::REMOTE_HOST_CLOSED_TEXT, "Remote host closed connection");
/// ```
pub const REMOTE_HOST_CLOSED_TEXT: &str = "Remote host closed connection";

/// The error for a failure reply (`REP` ≠ 0), as Qt maps it. `by_name`:
/// the target was a host name, for which Qt reads "general failure" and
/// "not allowed" as "the proxy could not resolve it" (Dante answers so).
fn reply_error(code: u8, by_name: bool) -> ProxyError {
    use SocketError::*;
    if by_name && matches!(code, 1 | 2) {
        return ProxyError::new(HostNotFound, text::HOST_NOT_FOUND);
    }
    match code {
        1 => ProxyError::new(Network, "General SOCKSv5 server failure"),
        2 => ProxyError::new(SocketAccess, "Connection not allowed by SOCKSv5 server"),
        3 => ProxyError::new(Network, "Network unreachable"),
        4 => ProxyError::new(HostNotFound, text::HOST_NOT_FOUND),
        5 => ProxyError::new(ConnectionRefused, "Connection refused"),
        6 => ProxyError::new(Network, "TTL expired"),
        7 => ProxyError::new(UnsupportedSocketOperation, "SOCKSv5 command not supported"),
        8 => ProxyError::new(UnsupportedSocketOperation, "Address type not supported"),
        // Qt formats the code with QString::arg(int, 16): in decimal,
        // right-aligned in 16 columns, from a signed char (0xFF is -1).
        other => ProxyError::new(
            Unknown,
            format!("Unknown SOCKSv5 proxy error code 0x{:>16}", other as i8),
        ),
    }
}

#[cfg(test)]
mod tests;
