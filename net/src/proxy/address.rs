//! `ProxyAddress`: an endpoint as a proxy protocol names it, either an IP
//! address with a port or a host name with a port.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An endpoint as a proxy names it: an IP address and port, or a host name
/// and port that the proxy resolves.
///
/// SOCKS5 calls the two forms ATYP `01`/`04` and `03` (RFC 1928 §5); an
/// HTTP `CONNECT` request carries either form in its authority
/// (`host:port`, `[v6]:port`). Qt keeps the two apart as a peer address
/// and a peer name (`QAbstractSocket::peerAddress()`, `peerName()`).
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::ProxyAddress;
///
/// let ip = ProxyAddress::from(([127, 0, 0, 1], 8080));
/// assert_eq!(ip.to_string(), "127.0.0.1:8080");
/// let v6: ProxyAddress = "[::1]:80".parse::<std::net::SocketAddr>().unwrap().into();
/// assert_eq!(v6.to_string(), "[::1]:80");
/// let name = ProxyAddress::Domain("example.test".into(), 443);
/// assert_eq!(name.to_string(), "example.test:443");
/// assert_eq!(name.port(), 443);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyAddress {
    /// An IP address and a port.
    Ip(SocketAddr),
    /// A host name (resolved by the proxy) and a port.
    Domain(String, u16),
}

impl ProxyAddress {
    /// The port.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::ProxyAddress;
    /// assert_eq!(ProxyAddress::from(([10, 0, 0, 1], 9)).port(), 9);
    /// ```
    pub fn port(&self) -> u16 {
        match self {
            ProxyAddress::Ip(addr) => addr.port(),
            ProxyAddress::Domain(_, port) => *port,
        }
    }

    /// The host as a proxy request writes it: a name as given (ASCII
    /// letters in lower case, as Qt's `QUrl::toAce` gives them), an IPv4
    /// address dotted, an IPv6 address in brackets.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::proxy::ProxyAddress;
    /// assert_eq!(ProxyAddress::Domain("Example.TEST".into(), 1).host(), "example.test");
    /// let v6 = ProxyAddress::Ip("[::1]:80".parse().unwrap());
    /// assert_eq!(v6.host(), "[::1]");
    /// ```
    pub fn host(&self) -> String {
        match self {
            ProxyAddress::Ip(SocketAddr::V4(addr)) => addr.ip().to_string(),
            ProxyAddress::Ip(SocketAddr::V6(addr)) => format!("[{}]", addr.ip()),
            ProxyAddress::Domain(name, _) => name.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for ProxyAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host(), self.port())
    }
}

impl From<SocketAddr> for ProxyAddress {
    fn from(addr: SocketAddr) -> Self {
        ProxyAddress::Ip(addr)
    }
}

impl<I: Into<IpAddr>> From<(I, u16)> for ProxyAddress {
    fn from((ip, port): (I, u16)) -> Self {
        ProxyAddress::Ip(SocketAddr::new(ip.into(), port))
    }
}
