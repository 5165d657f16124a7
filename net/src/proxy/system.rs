//! The system proxy configuration on Unix: the `*_proxy` environment
//! variables, read the way Qt's generic `qnetworkproxy_generic.cpp` reads
//! them (see [`system_proxy_for_query`]).

use super::{NetworkProxy, NetworkProxyQuery, ProxyType, QueryType};

/// The proxies the system configuration gives for `query`, never empty.
///
/// On Unix this reads the environment as Qt's generic implementation does:
///
/// 1. If the peer host matches `no_proxy`, the answer is no proxy.
///    `no_proxy` is a comma-separated list of host suffixes: a leading `*`
///    or `.` is dropped, a token matches the host itself and its
///    subdomains (`example.com` matches `www.example.com`, not
///    `badexample.com`), a trailing `.` matches hosts without one.
/// 2. The variable is chosen by the query's protocol tag: `http` reads
///    `http_proxy`, `https` reads `https_proxy`, `ftp` reads `ftp_proxy`,
///    anything else `all_proxy`; an empty or missing one falls back to
///    `http_proxy`.
/// 3. Its value is a proxy URL ([`NetworkProxy::from_url`]): `socks5://`,
///    `socks5h://` or `http://`; a value without `://` is taken as
///    `http://`. An HTTP proxy is never offered for
///    [`QueryType::UdpSocket`] or [`QueryType::TcpServer`] queries. A value
///    that is not a proxy URL is logged (`log::warn!`) and ignored.
/// 4. Nothing found gives `[NoProxy]`.
///
/// Differences from Qt, each for what users of the variables expect
/// (curl's rules): the upper-case names (`HTTPS_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, `FTP_PROXY`) are read when the lower-case one is unset or
/// empty — except `HTTP_PROXY`, which CGI servers fill from a request's
/// `Proxy:` header ("httpoxy"); a lone `*` in `no_proxy` means every host;
/// matching ignores ASCII case; `socks5h://` keeps SOCKS5's tunnelling
/// capabilities (Qt gives it only `HostNameLookupCapability`, so Qt's
/// sockets skip it), `socks5://` resolves names locally (Qt lets the proxy
/// resolve them), and a missing port is 1080 or 8080 (Qt's code passes
/// `QUrl::port()`'s -1 on).
///
/// Qt: `QNetworkProxyFactory::systemProxyForQuery()`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{proxy::system_proxy_for_query, NetworkProxyQuery, ProxyType, QueryType};
///
/// let query = NetworkProxyQuery::for_peer("example.com", 80, "http", QueryType::TcpSocket);
/// let proxies = system_proxy_for_query(&query);
/// // Never empty: without proxy variables the answer is [NoProxy].
/// assert!(!proxies.is_empty());
/// if proxies[0].proxy_type() != ProxyType::NoProxy {
///     println!("the environment names {:?}", proxies[0].to_url());
/// }
/// ```
pub fn system_proxy_for_query(query: &NetworkProxyQuery) -> Vec<NetworkProxy> {
    system_proxy_with(query, &|name| std::env::var(name).ok())
}

/// [`system_proxy_for_query`] with the environment given as a lookup, so
/// tests can run in parallel without touching the process environment.
pub(crate) fn system_proxy_with(
    query: &NetworkProxyQuery,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<NetworkProxy> {
    let var = |name: &str| lookup(env, name);
    if var("no_proxy").is_some_and(|list| ignores_host(&list, query.peer_host_name())) {
        return vec![NetworkProxy::no_proxy()];
    }
    let specific = match query.protocol_tag() {
        "http" => "http_proxy",
        "https" => "https_proxy",
        "ftp" => "ftp_proxy",
        _ => "all_proxy",
    };
    let value = var(specific).or_else(|| var("http_proxy"));
    let proxy = value.and_then(|value| proxy_from_env(&value, query.query_type()));
    vec![proxy.unwrap_or_else(NetworkProxy::no_proxy)]
}

/// The variable's value in lower case, else in upper case (never
/// `HTTP_PROXY`); unset and empty are the same.
fn lookup(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    let non_empty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    non_empty(env(name)).or_else(|| {
        let upper = name.to_ascii_uppercase();
        (upper != "HTTP_PROXY")
            .then(|| non_empty(env(&upper)))
            .flatten()
    })
}

/// The proxy a variable's value names, if the query may use it.
fn proxy_from_env(value: &str, query_type: QueryType) -> Option<NetworkProxy> {
    let value = value.trim();
    let url = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let proxy = match NetworkProxy::from_url(&url) {
        Ok(proxy) => proxy,
        Err(err) => {
            log::warn!("ignoring proxy setting {value:?} from the environment: {err}");
            return None;
        }
    };
    let http_unusable = matches!(query_type, QueryType::UdpSocket | QueryType::TcpServer);
    (proxy.proxy_type() != ProxyType::Http || !http_unusable).then_some(proxy)
}

/// Whether `host` matches a token of the `no_proxy` list.
fn ignores_host(list: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    list.split(',').any(|raw| {
        let mut token = raw.trim().to_ascii_lowercase();
        if token == "*" {
            return true;
        }
        if let Some(rest) = token.strip_prefix('*') {
            token = rest.to_owned();
        }
        if token.ends_with('.') && !host.ends_with('.') {
            token.pop();
        }
        let token = token.strip_prefix('.').unwrap_or(&token);
        if token.is_empty() {
            return false;
        }
        // A suffix match must start at a label: "match.com" must not match
        // "donotmatch.com".
        host == token || host.ends_with(&format!(".{token}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProxyCapabilities as C;
    use std::collections::HashMap;

    fn query(host: &str, tag: &str, ty: QueryType) -> NetworkProxyQuery {
        NetworkProxyQuery::for_peer(host, 80, tag, ty)
    }

    fn run(vars: &[(&str, &str)], q: &NetworkProxyQuery) -> Vec<NetworkProxy> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        system_proxy_with(q, &|name| map.get(name).cloned())
    }

    fn one(vars: &[(&str, &str)], q: &NetworkProxyQuery) -> NetworkProxy {
        let list = run(vars, q);
        assert_eq!(list.len(), 1, "{list:?}");
        list.into_iter().next().unwrap()
    }

    #[test]
    fn protocol_tag_picks_the_variable_with_http_proxy_as_fallback() {
        let vars = [
            ("http_proxy", "http://h:1"),
            ("https_proxy", "http://s:2"),
            ("all_proxy", "socks5h://a:3"),
            ("ftp_proxy", "http://f:4"),
        ];
        let tcp = QueryType::TcpSocket;
        assert_eq!(one(&vars, &query("x", "http", tcp)).host_name(), "h");
        assert_eq!(one(&vars, &query("x", "https", tcp)).host_name(), "s");
        assert_eq!(one(&vars, &query("x", "ftp", tcp)).host_name(), "f");
        let all = one(&vars, &query("x", "", tcp));
        assert_eq!(
            (all.host_name(), all.proxy_type()),
            ("a", ProxyType::Socks5)
        );
        // Missing or empty specific variable: http_proxy.
        let fallback = [("http_proxy", "http://h:1"), ("https_proxy", " ")];
        assert_eq!(one(&fallback, &query("x", "https", tcp)).host_name(), "h");
        assert_eq!(one(&fallback, &query("x", "", tcp)).host_name(), "h");
        assert_eq!(
            one(&[], &query("x", "", tcp)).proxy_type(),
            ProxyType::NoProxy
        );
    }

    #[test]
    fn upper_case_names_are_read_except_http_proxy() {
        let tcp = QueryType::TcpSocket;
        let upper = [
            ("HTTPS_PROXY", "http://s:2"),
            ("ALL_PROXY", "socks5://a:3"),
            ("HTTP_PROXY", "http://evil:1"),
        ];
        assert_eq!(one(&upper, &query("x", "https", tcp)).host_name(), "s");
        assert_eq!(one(&upper, &query("x", "", tcp)).host_name(), "a");
        assert_eq!(
            one(&upper, &query("x", "http", tcp)).proxy_type(),
            ProxyType::NoProxy
        );
        // Lower case wins over upper case.
        let both = [
            ("all_proxy", "socks5://low:1"),
            ("ALL_PROXY", "socks5://up:1"),
        ];
        assert_eq!(one(&both, &query("x", "", tcp)).host_name(), "low");
        let no = [("all_proxy", "socks5://p:1"), ("NO_PROXY", "x")];
        assert_eq!(
            one(&no, &query("x", "", tcp)).proxy_type(),
            ProxyType::NoProxy
        );
    }

    #[test]
    fn schemes_and_default_ports() {
        let tcp = QueryType::TcpSocket;
        let s5 = one(&[("all_proxy", "socks5://u:p@p")], &query("x", "", tcp));
        assert_eq!((s5.port(), s5.user(), s5.password()), (1080, "u", "p"));
        assert!(!s5.capabilities().contains(C::HOST_NAME_LOOKUP));
        let s5h = one(&[("all_proxy", "socks5h://p")], &query("x", "", tcp));
        assert!(s5h
            .capabilities()
            .contains(C::HOST_NAME_LOOKUP | C::TUNNELING));
        let bare = one(
            &[("http_proxy", "proxy.test:3128")],
            &query("x", "http", tcp),
        );
        assert_eq!(
            (bare.proxy_type(), bare.host_name(), bare.port()),
            (ProxyType::Http, "proxy.test", 3128)
        );
        let http = one(&[("http_proxy", "http://p")], &query("x", "http", tcp));
        assert_eq!(http.port(), 8080);
        for bad in ["ftp://p:1", "http://p:99999", "socks5://"] {
            let got = one(&[("all_proxy", bad)], &query("x", "", tcp));
            assert_eq!(got.proxy_type(), ProxyType::NoProxy, "{bad}");
        }
    }

    #[test]
    fn http_is_never_offered_to_udp_or_servers() {
        let vars = [("all_proxy", "http://p:1")];
        for ty in [QueryType::UdpSocket, QueryType::TcpServer] {
            assert_eq!(
                one(&vars, &query("x", "", ty)).proxy_type(),
                ProxyType::NoProxy
            );
        }
        let socks = [("all_proxy", "socks5://p:1")];
        assert_eq!(
            one(&socks, &query("x", "", QueryType::UdpSocket)).proxy_type(),
            ProxyType::Socks5
        );
    }

    #[test]
    fn no_proxy_suffix_rules() {
        let matches = |list: &str, host: &str| ignores_host(list, host);
        assert!(matches("example.com", "example.com"));
        assert!(matches("example.com", "www.example.com"));
        assert!(!matches("example.com", "badexample.com"));
        assert!(matches(".example.com", "www.example.com"));
        assert!(matches(".example.com", "example.com"));
        assert!(matches("*.example.com", "a.example.com"));
        assert!(matches("example.com.", "www.example.com"));
        assert!(matches(" a.test , example.com ", "example.com"));
        assert!(matches("EXAMPLE.com", "Example.COM"));
        assert!(matches("*", "anything"));
        assert!(!matches("", "anything"));
        assert!(!matches(",,", "anything"));
        assert!(!matches("other.com", "example.com"));
        assert!(matches("127.0.0.1", "127.0.0.1"));
    }
}
