//! `ProxyType` and `ProxyCapabilities` (Qt: `QNetworkProxy::ProxyType`,
//! `QNetworkProxy::Capability`), with Qt's values and default sets.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// The kind of proxy.
///
/// The values are Qt's; they show in logs and in PySide.
///
/// Qt: `QNetworkProxy::ProxyType`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ProxyType;
///
/// assert_eq!(ProxyType::Socks5 as i32, 1);
/// assert_eq!(ProxyType::Http.qt_name(), "HttpProxy");
/// assert_eq!(ProxyType::default(), ProxyType::Default);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProxyType {
    /// Whatever the application proxy says (a socket's initial proxy).
    /// Qt: `DefaultProxy`.
    #[default]
    Default = 0,
    /// A SOCKS5 proxy (RFC 1928): TCP, UDP and listening.
    /// Qt: `Socks5Proxy`.
    Socks5 = 1,
    /// No proxy: connect directly. Qt: `NoProxy`.
    NoProxy = 2,
    /// An HTTP proxy used through `CONNECT` tunnels (outgoing TCP only).
    /// Qt: `HttpProxy`.
    Http = 3,
    /// An HTTP proxy for HTTP requests only; sockets cannot use it.
    /// Qt: `HttpCachingProxy`.
    HttpCaching = 4,
    /// An FTP proxy for FTP requests only; sockets cannot use it.
    /// Qt: `FtpCachingProxy`.
    FtpCaching = 5,
}

impl ProxyType {
    /// Qt's enumerator name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ProxyType::NoProxy.qt_name(), "NoProxy");
    /// ```
    pub fn qt_name(self) -> &'static str {
        match self {
            ProxyType::Default => "DefaultProxy",
            ProxyType::Socks5 => "Socks5Proxy",
            ProxyType::NoProxy => "NoProxy",
            ProxyType::Http => "HttpProxy",
            ProxyType::HttpCaching => "HttpCachingProxy",
            ProxyType::FtpCaching => "FtpCachingProxy",
        }
    }

    /// The capabilities a proxy of this type gets when it is made (Qt's
    /// table in the `QNetworkProxy::ProxyType` documentation).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{ProxyCapabilities as C, ProxyType};
    ///
    /// let http = ProxyType::Http.default_capabilities();
    /// assert_eq!(http, C::TUNNELING | C::CACHING | C::HOST_NAME_LOOKUP);
    /// assert!(!ProxyType::HttpCaching.default_capabilities().contains(C::TUNNELING));
    /// ```
    pub fn default_capabilities(self) -> ProxyCapabilities {
        use ProxyCapabilities as C;
        match self {
            ProxyType::Default | ProxyType::NoProxy => {
                C::LISTENING
                    | C::TUNNELING
                    | C::UDP_TUNNELING
                    | C::SCTP_TUNNELING
                    | C::SCTP_LISTENING
            }
            ProxyType::Socks5 => {
                C::TUNNELING | C::LISTENING | C::UDP_TUNNELING | C::HOST_NAME_LOOKUP
            }
            ProxyType::Http => C::TUNNELING | C::CACHING | C::HOST_NAME_LOOKUP,
            ProxyType::HttpCaching | ProxyType::FtpCaching => C::CACHING | C::HOST_NAME_LOOKUP,
        }
    }
}

impl fmt::Display for ProxyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qt_name())
    }
}

/// What a proxy can do, as flags.
///
/// The bit values are Qt's.
///
/// Qt: `QNetworkProxy::Capabilities` (`QNetworkProxy::Capability` flags).
///
/// # Examples
///
/// ```
/// use sigloop_net::ProxyCapabilities as C;
///
/// let caps = C::TUNNELING | C::HOST_NAME_LOOKUP;
/// assert_eq!(caps.bits(), 0x11);
/// assert!(caps.contains(C::TUNNELING));
/// assert!(!caps.contains(C::LISTENING));
/// assert_eq!(caps & !C::TUNNELING, C::HOST_NAME_LOOKUP);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProxyCapabilities(u32);

impl ProxyCapabilities {
    /// No capability.
    pub const NONE: Self = ProxyCapabilities(0);
    /// Opens tunnelled TCP connections to a remote host.
    /// Qt: `TunnelingCapability`.
    pub const TUNNELING: Self = ProxyCapabilities(0x1);
    /// Listens for an incoming TCP connection from a remote host.
    /// Qt: `ListeningCapability`.
    pub const LISTENING: Self = ProxyCapabilities(0x2);
    /// Relays UDP datagrams. Qt: `UdpTunnelingCapability`.
    pub const UDP_TUNNELING: Self = ProxyCapabilities(0x4);
    /// Caches what it transfers. Qt: `CachingCapability`.
    pub const CACHING: Self = ProxyCapabilities(0x8);
    /// Resolves host names itself, so the application sends names, not
    /// addresses. Qt: `HostNameLookupCapability`.
    pub const HOST_NAME_LOOKUP: Self = ProxyCapabilities(0x10);
    /// Opens tunnelled SCTP connections. Qt: `SctpTunnelingCapability`.
    pub const SCTP_TUNNELING: Self = ProxyCapabilities(0x20);
    /// Listens for incoming SCTP connections. Qt: `SctpListeningCapability`.
    pub const SCTP_LISTENING: Self = ProxyCapabilities(0x40);

    /// The raw bits (Qt's values).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ProxyCapabilities::UDP_TUNNELING.bits(), 4);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The flags for `bits`; bits Qt does not define are dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ProxyCapabilities as C;
    /// assert_eq!(C::from_bits_truncate(0x103), C::TUNNELING | C::LISTENING);
    /// ```
    pub const fn from_bits_truncate(bits: u32) -> Self {
        ProxyCapabilities(bits & 0x7f)
    }

    /// Whether every flag of `other` is set (and `other` is not empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ProxyCapabilities as C;
    /// assert!((C::TUNNELING | C::LISTENING).contains(C::LISTENING));
    /// assert!(!C::TUNNELING.contains(C::NONE));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether no flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ProxyCapabilities::NONE.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for ProxyCapabilities {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        ProxyCapabilities(self.0 | rhs.0)
    }
}

impl BitOrAssign for ProxyCapabilities {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for ProxyCapabilities {
    type Output = Self;

    fn bitand(self, rhs: Self) -> Self {
        ProxyCapabilities(self.0 & rhs.0)
    }
}

impl Not for ProxyCapabilities {
    type Output = Self;

    fn not(self) -> Self {
        ProxyCapabilities(!self.0 & 0x7f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_capabilities_are_qts_table() {
        use ProxyCapabilities as C;
        assert_eq!(
            ProxyType::Socks5.default_capabilities().bits(),
            0x1 | 0x2 | 0x4 | 0x10
        );
        assert_eq!(
            ProxyType::Http.default_capabilities().bits(),
            0x1 | 0x8 | 0x10
        );
        assert_eq!(ProxyType::HttpCaching.default_capabilities().bits(), 0x18);
        assert_eq!(ProxyType::FtpCaching.default_capabilities().bits(), 0x18);
        for t in [ProxyType::NoProxy, ProxyType::Default] {
            assert_eq!(
                t.default_capabilities().bits(),
                0x1 | 0x2 | 0x4 | 0x20 | 0x40
            );
            assert!(!t.default_capabilities().contains(C::HOST_NAME_LOOKUP));
        }
    }

    #[test]
    fn type_values_are_qts() {
        let all = [
            (ProxyType::Default, 0),
            (ProxyType::Socks5, 1),
            (ProxyType::NoProxy, 2),
            (ProxyType::Http, 3),
            (ProxyType::HttpCaching, 4),
            (ProxyType::FtpCaching, 5),
        ];
        for (t, v) in all {
            assert_eq!(t as i32, v, "{t}");
        }
    }
}
