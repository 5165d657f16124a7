//! `NetworkProxy` (Qt: `QNetworkProxy`): one proxy's type, address,
//! credentials, capabilities and HTTP headers.

use std::fmt;

use super::{ProxyCapabilities, ProxyType};

/// A proxy: its type, host and port, credentials, capabilities and, for
/// HTTP proxies, extra request headers.
///
/// A value type, like Qt's implicitly shared class. Sockets do not route
/// through proxies yet; today a `NetworkProxy` feeds the proxy selection
/// functions of [`crate::proxy`] and the handshakes in
/// [`crate::proxy::socks5`] and [`crate::proxy::http`].
///
/// `==` is Qt's: type, host, port, user, password and capabilities (not the
/// headers). `{:?}` never shows the password.
///
/// Qt: `QNetworkProxy`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{NetworkProxy, ProxyCapabilities, ProxyType};
///
/// let mut proxy = NetworkProxy::new(ProxyType::Socks5, "proxy.example.com", 1080);
/// proxy.set_user("username");
/// proxy.set_password("password");
/// assert!(proxy.capabilities().contains(ProxyCapabilities::UDP_TUNNELING));
/// assert_eq!(proxy.to_url().unwrap(), "socks5h://username:password@proxy.example.com:1080");
///
/// // The same proxy from a URL:
/// let parsed = NetworkProxy::from_url("socks5h://username:password@proxy.example.com:1080").unwrap();
/// assert_eq!(parsed, proxy);
/// ```
#[derive(Clone, Default)]
pub struct NetworkProxy {
    proxy_type: ProxyType,
    host_name: String,
    port: u16,
    user: String,
    password: String,
    capabilities: Option<ProxyCapabilities>,
    raw_headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl NetworkProxy {
    /// A proxy of `proxy_type` at `host_name:port`, with the type's default
    /// capabilities and no credentials.
    ///
    /// Qt: `QNetworkProxy(type, hostName, port)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let proxy = NetworkProxy::new(ProxyType::Http, "127.0.0.1", 3128);
    /// assert_eq!(proxy.host_name(), "127.0.0.1");
    /// assert_eq!(proxy.port(), 3128);
    /// ```
    pub fn new(proxy_type: ProxyType, host_name: impl Into<String>, port: u16) -> Self {
        NetworkProxy {
            proxy_type,
            host_name: host_name.into(),
            port,
            ..NetworkProxy::default()
        }
    }

    /// The "no proxy" value: connect directly.
    ///
    /// Qt: `QNetworkProxy(QNetworkProxy::NoProxy)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// assert_eq!(NetworkProxy::no_proxy().proxy_type(), ProxyType::NoProxy);
    /// ```
    pub fn no_proxy() -> Self {
        NetworkProxy::new(ProxyType::NoProxy, "", 0)
    }

    /// The proxy type.
    ///
    /// Qt: `QNetworkProxy::type()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// assert_eq!(NetworkProxy::default().proxy_type(), ProxyType::Default);
    /// ```
    pub fn proxy_type(&self) -> ProxyType {
        self.proxy_type
    }

    /// Changes the type. The capabilities follow the new type's defaults
    /// unless [`set_capabilities`](Self::set_capabilities) chose them.
    ///
    /// Qt: `QNetworkProxy::setType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let mut proxy = NetworkProxy::default();
    /// proxy.set_type(ProxyType::Http);
    /// assert_eq!(proxy.capabilities(), ProxyType::Http.default_capabilities());
    /// ```
    pub fn set_type(&mut self, proxy_type: ProxyType) {
        self.proxy_type = proxy_type;
    }

    /// What the proxy can do: the type's defaults, or what
    /// [`set_capabilities`](Self::set_capabilities) set.
    ///
    /// Qt: `QNetworkProxy::capabilities()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyCapabilities, ProxyType};
    /// let proxy = NetworkProxy::new(ProxyType::Socks5, "p", 1080);
    /// assert!(proxy.capabilities().contains(ProxyCapabilities::LISTENING));
    /// ```
    pub fn capabilities(&self) -> ProxyCapabilities {
        self.capabilities
            .unwrap_or_else(|| self.proxy_type.default_capabilities())
    }

    /// Sets the capabilities; later type changes keep them.
    ///
    /// Qt: `QNetworkProxy::setCapabilities()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyCapabilities as C, ProxyType};
    /// let mut proxy = NetworkProxy::new(ProxyType::Socks5, "p", 1080);
    /// proxy.set_capabilities(C::TUNNELING);
    /// proxy.set_type(ProxyType::Http);
    /// assert_eq!(proxy.capabilities(), C::TUNNELING);
    /// ```
    pub fn set_capabilities(&mut self, capabilities: ProxyCapabilities) {
        self.capabilities = Some(capabilities);
    }

    /// Whether the proxy caches ([`ProxyCapabilities::CACHING`]).
    ///
    /// Qt: `QNetworkProxy::isCachingProxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// assert!(NetworkProxy::new(ProxyType::Http, "p", 1).is_caching_proxy());
    /// ```
    pub fn is_caching_proxy(&self) -> bool {
        self.capabilities().contains(ProxyCapabilities::CACHING)
    }

    /// Whether the proxy tunnels TCP ([`ProxyCapabilities::TUNNELING`]).
    ///
    /// Qt: `QNetworkProxy::isTransparentProxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// assert!(!NetworkProxy::new(ProxyType::HttpCaching, "p", 1).is_transparent_proxy());
    /// ```
    pub fn is_transparent_proxy(&self) -> bool {
        self.capabilities().contains(ProxyCapabilities::TUNNELING)
    }

    /// The proxy's host name or address (IPv6 without brackets).
    ///
    /// Qt: `QNetworkProxy::hostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkProxy;
    /// let proxy = NetworkProxy::from_url("http://[::1]:3128").unwrap();
    /// assert_eq!(proxy.host_name(), "::1");
    /// ```
    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// Sets the proxy's host name or address.
    ///
    /// Qt: `QNetworkProxy::setHostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut proxy = sigloop_net::NetworkProxy::default();
    /// proxy.set_host_name("proxy.test");
    /// assert_eq!(proxy.host_name(), "proxy.test");
    /// ```
    pub fn set_host_name(&mut self, host_name: impl Into<String>) {
        self.host_name = host_name.into();
    }

    /// The proxy's port.
    ///
    /// Qt: `QNetworkProxy::port()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::NetworkProxy::default().port(), 0);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sets the proxy's port.
    ///
    /// Qt: `QNetworkProxy::setPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut proxy = sigloop_net::NetworkProxy::default();
    /// proxy.set_port(1080);
    /// assert_eq!(proxy.port(), 1080);
    /// ```
    pub fn set_port(&mut self, port: u16) {
        self.port = port;
    }

    /// The user name for proxy authentication.
    ///
    /// Qt: `QNetworkProxy::user()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let proxy = sigloop_net::NetworkProxy::from_url("socks5://bob:pw@p:1080").unwrap();
    /// assert_eq!(proxy.user(), "bob");
    /// ```
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Sets the user name for proxy authentication.
    ///
    /// Qt: `QNetworkProxy::setUser()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut proxy = sigloop_net::NetworkProxy::default();
    /// proxy.set_user("bob");
    /// assert_eq!(proxy.user(), "bob");
    /// ```
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.user = user.into();
    }

    /// The password for proxy authentication.
    ///
    /// Qt: `QNetworkProxy::password()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let proxy = sigloop_net::NetworkProxy::from_url("socks5://bob:p%40ss@p:1080").unwrap();
    /// assert_eq!(proxy.password(), "p@ss");
    /// ```
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Sets the password for proxy authentication.
    ///
    /// Qt: `QNetworkProxy::setPassword()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut proxy = sigloop_net::NetworkProxy::default();
    /// proxy.set_password("secret");
    /// assert_eq!(proxy.password(), "secret");
    /// ```
    pub fn set_password(&mut self, password: impl Into<String>) {
        self.password = password.into();
    }

    /// Whether headers apply to this type (Qt keeps them for HTTP proxies
    /// only).
    fn takes_headers(&self) -> bool {
        matches!(self.proxy_type, ProxyType::Http | ProxyType::HttpCaching)
    }

    /// Sets a header sent with each `CONNECT` request, replacing one of the
    /// same name. Names are kept and sent in lower case, as Qt 6 does
    /// (`X-Trace` goes out as `x-trace`). Does nothing unless the type is
    /// [`ProxyType::Http`] or [`ProxyType::HttpCaching`], as in Qt. A
    /// `User-Agent` header replaces the default `Mozilla/5.0`.
    ///
    /// Qt: `QNetworkProxy::setRawHeader()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let mut proxy = NetworkProxy::new(ProxyType::Http, "p", 3128);
    /// proxy.set_raw_header("X-Trace", "1");
    /// proxy.set_raw_header("x-trace", "2");
    /// assert_eq!(proxy.raw_header("X-TRACE"), Some(&b"2"[..]));
    /// assert_eq!(proxy.raw_header_list(), vec![&b"x-trace"[..]]);
    ///
    /// let mut socks = NetworkProxy::new(ProxyType::Socks5, "p", 1080);
    /// socks.set_raw_header("X-Trace", "1");
    /// assert!(!socks.has_raw_header("X-Trace"));
    /// ```
    pub fn set_raw_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        if !self.takes_headers() {
            return;
        }
        let (name, value) = (name.as_ref().to_ascii_lowercase(), value.as_ref().to_vec());
        match self.raw_headers.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.raw_headers.push((name, value)),
        }
    }

    /// Whether a header of that name is set (always `false` for types
    /// other than HTTP).
    ///
    /// Qt: `QNetworkProxy::hasRawHeader()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let proxy = NetworkProxy::new(ProxyType::Http, "p", 3128);
    /// assert!(!proxy.has_raw_header("User-Agent"));
    /// ```
    pub fn has_raw_header(&self, name: impl AsRef<[u8]>) -> bool {
        self.raw_header(name).is_some()
    }

    /// The value of a header, if set (always `None` for types other than
    /// HTTP).
    ///
    /// Qt: `QNetworkProxy::rawHeader()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let mut proxy = NetworkProxy::new(ProxyType::Http, "p", 3128);
    /// proxy.set_raw_header("User-Agent", "sigloop");
    /// assert_eq!(proxy.raw_header("user-agent"), Some(&b"sigloop"[..]));
    /// ```
    pub fn raw_header(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        if !self.takes_headers() {
            return None;
        }
        let name = name.as_ref();
        self.raw_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The names of the headers set, in lower case, in the order they were
    /// first set (empty for types other than HTTP).
    ///
    /// Qt: `QNetworkProxy::rawHeaderList()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    /// let mut proxy = NetworkProxy::new(ProxyType::Http, "p", 3128);
    /// proxy.set_raw_header("A", "1");
    /// proxy.set_raw_header("B", "2");
    /// assert_eq!(proxy.raw_header_list(), vec![&b"a"[..], &b"b"[..]]);
    /// ```
    pub fn raw_header_list(&self) -> Vec<&[u8]> {
        if !self.takes_headers() {
            return Vec::new();
        }
        self.raw_headers.iter().map(|(n, _)| n.as_slice()).collect()
    }

    /// The headers as (name, value) pairs, in order; empty for types other
    /// than HTTP.
    pub(crate) fn raw_headers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        if self.takes_headers() {
            &self.raw_headers
        } else {
            &[]
        }
    }
}

impl fmt::Debug for NetworkProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkProxy")
            .field("type", &self.proxy_type)
            .field("host_name", &self.host_name)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &redacted(&self.password))
            .field("capabilities", &self.capabilities())
            .field(
                "raw_headers",
                &self
                    .raw_header_list()
                    .iter()
                    .map(|n| String::from_utf8_lossy(n))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What `{:?}` shows instead of a secret.
pub(crate) fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

impl PartialEq for NetworkProxy {
    fn eq(&self, other: &Self) -> bool {
        self.proxy_type == other.proxy_type
            && self.port == other.port
            && self.host_name == other.host_name
            && self.user == other.user
            && self.password == other.password
            && self.capabilities() == other.capabilities()
    }
}

impl Eq for NetworkProxy {}

impl From<ProxyType> for NetworkProxy {
    /// Qt: the implicit `QNetworkProxy(ProxyType)` constructor.
    fn from(proxy_type: ProxyType) -> Self {
        NetworkProxy::new(proxy_type, "", 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_ignores_headers_but_not_capabilities() {
        let mut a = NetworkProxy::new(ProxyType::Http, "p", 1);
        let mut b = a.clone();
        b.set_raw_header("X", "1");
        assert_eq!(a, b);
        a.set_capabilities(ProxyCapabilities::TUNNELING);
        assert_ne!(a, b);
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let proxy = NetworkProxy::from_url("socks5://alice:hunter2@p:1").unwrap();
        let shown = format!("{proxy:?}");
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn set_type_follows_defaults_until_capabilities_are_set() {
        let mut p = NetworkProxy::new(ProxyType::NoProxy, "", 0);
        p.set_type(ProxyType::Socks5);
        assert_eq!(p.capabilities(), ProxyType::Socks5.default_capabilities());
    }
}
