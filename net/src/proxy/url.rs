//! Proxy URLs: `socks5://user:pass@host:port`, `socks5h://…`, `http://…`.
//!
//! The scheme picks the type and whether names are resolved by the proxy,
//! as curl and the `*_proxy` environment variables use them: `socks5://`
//! resolves names locally and sends addresses, `socks5h://` sends names to
//! the proxy. A missing port takes the default Qt's environment reader
//! uses (1080 for SOCKS5, 8080 for HTTP). User and password are
//! percent-decoded; an IPv6 host is written in brackets.

use std::error::Error;
use std::fmt;
use std::str::FromStr;

use super::{NetworkProxy, ProxyCapabilities, ProxyType};
use crate::{HostAddress, NetworkLayerProtocol};

/// Why a proxy URL was refused.
///
/// # Examples
///
/// ```
/// use sigloop_net::{proxy::ProxyUrlError, NetworkProxy};
///
/// assert_eq!(
///     NetworkProxy::from_url("ftp://p:21"),
///     Err(ProxyUrlError::UnsupportedScheme("ftp".into()))
/// );
/// assert_eq!(NetworkProxy::from_url("socks5://p:99999"), Err(ProxyUrlError::InvalidPort("99999".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyUrlError {
    /// No `scheme://` at the start.
    MissingScheme,
    /// A scheme other than `socks5`, `socks5h` and `http`.
    UnsupportedScheme(String),
    /// No host between `//` (or `@`) and the port.
    MissingHost,
    /// A host with characters a host cannot have, or a bracketed host that
    /// is not an IPv6 address.
    InvalidHost(String),
    /// A port that is not a number from 0 to 65535.
    InvalidPort(String),
    /// A `%` not followed by two hex digits, or user or password bytes that
    /// are not UTF-8 once decoded.
    InvalidPercentEncoding,
    /// A path, query or fragment after the port: a proxy URL has none.
    UnexpectedPath(String),
}

impl fmt::Display for ProxyUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyUrlError::MissingScheme => {
                f.write_str("proxy URL has no scheme (socks5://, socks5h:// or http://)")
            }
            ProxyUrlError::UnsupportedScheme(s) => write!(
                f,
                "unsupported proxy scheme {s:?} (socks5, socks5h or http)"
            ),
            ProxyUrlError::MissingHost => f.write_str("proxy URL has no host"),
            ProxyUrlError::InvalidHost(h) => write!(f, "invalid proxy host {h:?}"),
            ProxyUrlError::InvalidPort(p) => write!(f, "invalid proxy port {p:?}"),
            ProxyUrlError::InvalidPercentEncoding => {
                f.write_str("invalid percent-encoding in proxy user or password")
            }
            ProxyUrlError::UnexpectedPath(p) => {
                write!(f, "proxy URL has a path {p:?}; it takes none")
            }
        }
    }
}

impl Error for ProxyUrlError {}

impl NetworkProxy {
    /// Parses a proxy URL: `socks5://`, `socks5h://` or `http://`, with
    /// optional `user:password@` (percent-encoded) and `:port`.
    ///
    /// - `socks5h://` is [`ProxyType::Socks5`] with its default
    ///   capabilities, which include
    ///   [`HOST_NAME_LOOKUP`](ProxyCapabilities::HOST_NAME_LOOKUP): the
    ///   proxy resolves names;
    /// - `socks5://` is the same without `HOST_NAME_LOOKUP`: names are
    ///   resolved locally and the proxy gets addresses;
    /// - `http://` is [`ProxyType::Http`] (`CONNECT` tunnels).
    ///
    /// Scheme and host are case-insensitive; the host is kept in lower
    /// case, an IPv6 host without its brackets. No port means 1080 for
    /// SOCKS5 and 8080 for HTTP. A trailing `/` is allowed.
    ///
    /// Qt has no such function; it matches how Qt's generic Unix
    /// `QNetworkProxyFactory::systemProxyForQuery()` reads a proxy URL,
    /// with the scheme meanings above (see the README's differences).
    ///
    /// # Errors
    ///
    /// A [`ProxyUrlError`] naming what is wrong; never a panic, whatever
    /// the input.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyCapabilities as C, ProxyType};
    ///
    /// let p = NetworkProxy::from_url("socks5://alice:s%3Acret@[::1]:1081").unwrap();
    /// assert_eq!(p.proxy_type(), ProxyType::Socks5);
    /// assert_eq!((p.host_name(), p.port()), ("::1", 1081));
    /// assert_eq!((p.user(), p.password()), ("alice", "s:cret"));
    /// assert!(!p.capabilities().contains(C::HOST_NAME_LOOKUP));
    ///
    /// let h = NetworkProxy::from_url("socks5h://Proxy.Example").unwrap();
    /// assert_eq!((h.host_name(), h.port()), ("proxy.example", 1080));
    /// assert!(h.capabilities().contains(C::HOST_NAME_LOOKUP));
    ///
    /// assert_eq!(NetworkProxy::from_url("http://squid/").unwrap().port(), 8080);
    /// assert!(NetworkProxy::from_url("http://squid/path").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<NetworkProxy, ProxyUrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(ProxyUrlError::MissingScheme)?;
        let (proxy_type, default_port, resolves_names) = match scheme.to_ascii_lowercase().as_str()
        {
            "socks5" => (ProxyType::Socks5, 1080, false),
            "socks5h" => (ProxyType::Socks5, 1080, true),
            "http" => (ProxyType::Http, 8080, true),
            _ => return Err(ProxyUrlError::UnsupportedScheme(scheme.to_owned())),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !path.is_empty() && path != "/" {
            return Err(ProxyUrlError::UnexpectedPath(path.to_owned()));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let mut proxy = NetworkProxy::new(proxy_type, host, port.unwrap_or(default_port));
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            proxy.set_user(percent_decode(user)?);
            proxy.set_password(percent_decode(password)?);
        }
        if !resolves_names {
            proxy.set_capabilities(proxy.capabilities() & !ProxyCapabilities::HOST_NAME_LOOKUP);
        }
        Ok(proxy)
    }

    /// The proxy as a URL that [`from_url`](Self::from_url) reads back:
    /// `socks5h://` for a SOCKS5 proxy that resolves names, `socks5://` for
    /// one that does not, `http://` for an HTTP proxy; user and password
    /// percent-encoded; the port always written. `None` for types that have
    /// no URL form (no proxy, the default proxy, caching proxies).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    ///
    /// let mut p = NetworkProxy::new(ProxyType::Http, "::1", 3128);
    /// p.set_user("a b");
    /// p.set_password("p@ss");
    /// assert_eq!(p.to_url().unwrap(), "http://a%20b:p%40ss@[::1]:3128");
    /// assert_eq!(NetworkProxy::no_proxy().to_url(), None);
    /// ```
    pub fn to_url(&self) -> Option<String> {
        let scheme = match self.proxy_type() {
            ProxyType::Socks5
                if self
                    .capabilities()
                    .contains(ProxyCapabilities::HOST_NAME_LOOKUP) =>
            {
                "socks5h"
            }
            ProxyType::Socks5 => "socks5",
            ProxyType::Http => "http",
            _ => return None,
        };
        let mut url = format!("{scheme}://");
        if !self.user().is_empty() || !self.password().is_empty() {
            url.push_str(&percent_encode(self.user()));
            if !self.password().is_empty() {
                url.push(':');
                url.push_str(&percent_encode(self.password()));
            }
            url.push('@');
        }
        if self.host_name().contains(':') {
            url.push_str(&format!("[{}]", self.host_name()));
        } else {
            url.push_str(self.host_name());
        }
        url.push_str(&format!(":{}", self.port()));
        Some(url)
    }
}

impl FromStr for NetworkProxy {
    type Err = ProxyUrlError;

    /// Same as [`NetworkProxy::from_url`].
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        NetworkProxy::from_url(url)
    }
}

/// Splits `host[:port]` or `[v6][:port]`; the host comes back in lower
/// case, without brackets.
pub(crate) fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), ProxyUrlError> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (v6, after) = bracketed
            .split_once(']')
            .ok_or_else(|| ProxyUrlError::InvalidHost(hostport.to_owned()))?;
        let is_v6 =
            v6.parse::<HostAddress>().map(|a| a.protocol()) == Ok(NetworkLayerProtocol::IPv6);
        if !is_v6 {
            return Err(ProxyUrlError::InvalidHost(v6.to_owned()));
        }
        match after {
            "" => (v6, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (v6, Some(port)),
                None => return Err(ProxyUrlError::InvalidHost(hostport.to_owned())),
            },
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(ProxyUrlError::MissingHost);
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "[]@/\\<>\"".contains(c))
    {
        return Err(ProxyUrlError::InvalidHost(host.to_owned()));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .map_err(|_| ProxyUrlError::InvalidPort(p.to_owned()))?,
        ),
        Some(p) => return Err(ProxyUrlError::InvalidPort(p.to_owned())),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, ProxyUrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or(ProxyUrlError::InvalidPercentEncoding)?;
            let hex =
                std::str::from_utf8(hex).map_err(|_| ProxyUrlError::InvalidPercentEncoding)?;
            out.push(
                u8::from_str_radix(hex, 16).map_err(|_| ProxyUrlError::InvalidPercentEncoding)?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProxyUrlError::InvalidPercentEncoding)
}

/// Escapes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_for_bad_urls() {
        use ProxyUrlError::*;
        let cases: &[(&str, ProxyUrlError)] = &[
            ("proxy:3128", MissingScheme),
            ("https://p:1", UnsupportedScheme("https".into())),
            ("socks5://", MissingHost),
            ("socks5://u:p@:1080", MissingHost),
            ("socks5://[::1:1080", InvalidHost("[::1:1080".into())),
            ("socks5://[1.2.3.4]:1080", InvalidHost("1.2.3.4".into())),
            ("socks5://[::1]x", InvalidHost("[::1]x".into())),
            ("socks5://p q:1", InvalidHost("p q".into())),
            ("socks5://p:-1", InvalidPort("-1".into())),
            ("socks5://p:65536", InvalidPort("65536".into())),
            ("socks5://p:1a", InvalidPort("1a".into())),
            ("socks5://u%2:p@h:1", InvalidPercentEncoding),
            ("socks5://u%ff:p@h:1", InvalidPercentEncoding),
            ("socks5://u%:p@h:1", InvalidPercentEncoding),
            ("http://h:1/x", UnexpectedPath("/x".into())),
            ("http://h:1?q", UnexpectedPath("?q".into())),
        ];
        for (url, want) in cases {
            assert_eq!(NetworkProxy::from_url(url).as_ref(), Err(want), "{url}");
            assert!(!want.to_string().is_empty());
        }
    }

    #[test]
    fn user_info_and_ports() {
        let p = NetworkProxy::from_url("SOCKS5H://us%C3%A9r:a:b@h:0").unwrap();
        assert_eq!((p.user(), p.password(), p.port()), ("usér", "a:b", 0));
        let p = NetworkProxy::from_url("socks5://user@h:").unwrap();
        assert_eq!((p.user(), p.password(), p.port()), ("user", "", 1080));
        // The last '@' ends the user info: an unescaped '@' in a password.
        let p = NetworkProxy::from_url("http://u:p@ss@h").unwrap();
        assert_eq!((p.password(), p.host_name()), ("p@ss", "h"));
    }

    #[test]
    fn urls_round_trip() {
        for url in [
            "socks5://h:1080",
            "socks5h://h:1",
            "http://h:8080",
            "socks5h://%C3%A9%3A%40:x%25y@[fe80::1]:7",
            "http://user@127.0.0.1:3128",
        ] {
            let proxy = NetworkProxy::from_url(url).unwrap();
            assert_eq!(proxy.to_url().unwrap(), url);
            assert_eq!(
                NetworkProxy::from_url(&proxy.to_url().unwrap()).unwrap(),
                proxy
            );
        }
    }
}
