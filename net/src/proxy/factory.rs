//! The process-wide proxy settings: the application proxy, the
//! application proxy factory and the system-configuration switch, and
//! [`proxy_for_query`], which applies Qt's rules to them.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::system::system_proxy_for_query;
use super::{NetworkProxy, NetworkProxyQuery, ProxyType};
use crate::HostAddress;

/// Chooses proxies for connections: implement it to decide per query.
///
/// Install one with [`set_application_proxy_factory`]; it is then asked
/// for every connection that has no explicit proxy. Return the proxies to
/// try in order (a socket takes the first whose capabilities fit); an
/// empty list is taken as `[NoProxy]` with a warning, as in Qt.
///
/// A factory is shared between threads, so it is `Send + Sync`. It is
/// called without any library lock held, so it may itself call
/// [`proxy_for_query`] or [`system_proxy_for_query`].
///
/// Qt: `QNetworkProxyFactory` (its virtual `queryProxy()`).
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::{self, NetworkProxyFactory};
/// use sigloop_net::{NetworkProxy, NetworkProxyQuery, ProxyType, QueryType};
///
/// /// SOCKS5 for UDP, direct for the rest.
/// struct UdpThroughSocks;
///
/// impl NetworkProxyFactory for UdpThroughSocks {
///     fn query_proxy(&self, query: &NetworkProxyQuery) -> Vec<NetworkProxy> {
///         match query.query_type() {
///             QueryType::UdpSocket => vec![NetworkProxy::new(ProxyType::Socks5, "10.0.0.1", 1080)],
///             _ => vec![NetworkProxy::no_proxy()],
///         }
///     }
/// }
///
/// let factory = UdpThroughSocks;
/// let udp = NetworkProxyQuery::for_peer("example.com", 53, "", QueryType::UdpSocket);
/// assert_eq!(factory.query_proxy(&udp)[0].proxy_type(), ProxyType::Socks5);
/// // Installed process-wide it would be asked by every socket:
/// // proxy::set_application_proxy_factory(Some(Box::new(UdpThroughSocks)));
/// ```
pub trait NetworkProxyFactory: Send + Sync {
    /// The proxies to try for `query`, in order.
    ///
    /// Qt: `QNetworkProxyFactory::queryProxy()`.
    fn query_proxy(&self, query: &NetworkProxyQuery) -> Vec<NetworkProxy>;
}

/// The process-wide settings (Qt's `QGlobalNetworkProxy`).
#[derive(Default)]
struct Global {
    application_proxy: NetworkProxy,
    factory: Option<Arc<dyn NetworkProxyFactory>>,
    use_system: bool,
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

/// Runs `f` on the settings. `f` never runs user code: factories are
/// cloned out and called after the lock is released, and replaced ones are
/// dropped after it.
fn with_global<R>(f: impl FnOnce(&mut Global) -> R) -> R {
    // The lock guards plain data that every writer leaves whole, so a
    // panic elsewhere while it was held cannot have broken it.
    let mut guard: MutexGuard<'_, Option<Global>> =
        GLOBAL.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(Global::default))
}

impl NetworkProxy {
    /// Sets the proxy for every connection that has no explicit proxy.
    /// It replaces any application factory and turns the system
    /// configuration off. A [`ProxyType::Default`] proxy is stored as
    /// [`ProxyType::NoProxy`], as in Qt. Thread-safe.
    ///
    /// Qt: `QNetworkProxy::setApplicationProxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxy, ProxyType};
    ///
    /// NetworkProxy::set_application_proxy(NetworkProxy::new(ProxyType::Socks5, "10.0.0.1", 1080));
    /// assert_eq!(NetworkProxy::application_proxy().host_name(), "10.0.0.1");
    /// NetworkProxy::set_application_proxy(NetworkProxy::default());
    /// assert_eq!(NetworkProxy::application_proxy().proxy_type(), ProxyType::NoProxy);
    /// ```
    pub fn set_application_proxy(proxy: NetworkProxy) {
        let proxy = match proxy.proxy_type() {
            ProxyType::Default => NetworkProxy::no_proxy(),
            _ => proxy,
        };
        let old_factory = with_global(|g| {
            g.application_proxy = proxy;
            g.use_system = false;
            g.factory.take()
        });
        drop(old_factory);
    }

    /// The application-level proxy: the first proxy
    /// [`proxy_for_query`] gives for an empty query (so a factory or the
    /// system configuration answers when one is in force).
    ///
    /// Qt: `QNetworkProxy::applicationProxy()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkProxy;
    /// let proxy = NetworkProxy::application_proxy();
    /// println!("connections go through {:?}", proxy.proxy_type());
    /// ```
    pub fn application_proxy() -> NetworkProxy {
        proxy_for_query(&NetworkProxyQuery::new())
            .into_iter()
            .next()
            .unwrap_or_else(NetworkProxy::no_proxy)
    }
}

/// Installs (or with `None` removes) the factory asked for every
/// connection that has no explicit proxy. It replaces the application
/// proxy and turns the system configuration off. Thread-safe; the factory
/// replaced is dropped after the settings are unlocked.
///
/// Qt: `QNetworkProxyFactory::setApplicationProxyFactory()`.
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::{self, NetworkProxyFactory};
/// use sigloop_net::{NetworkProxy, NetworkProxyQuery};
///
/// struct Direct;
/// impl NetworkProxyFactory for Direct {
///     fn query_proxy(&self, _: &NetworkProxyQuery) -> Vec<NetworkProxy> {
///         vec![NetworkProxy::no_proxy()]
///     }
/// }
/// proxy::set_application_proxy_factory(Some(Box::new(Direct)));
/// proxy::set_application_proxy_factory(None);
/// ```
pub fn set_application_proxy_factory(factory: Option<Box<dyn NetworkProxyFactory>>) {
    let factory: Option<Arc<dyn NetworkProxyFactory>> = factory.map(Arc::from);
    let old_factory = with_global(|g| {
        g.application_proxy = NetworkProxy::default();
        g.use_system = false;
        std::mem::replace(&mut g.factory, factory)
    });
    drop(old_factory);
}

/// Turns the system proxy configuration ([`system_proxy_for_query`]) on or
/// off for connections that have no explicit proxy. Turning it on clears
/// the application proxy and factory. Off by default on Unix, as in Qt.
/// Thread-safe.
///
/// Qt: `QNetworkProxyFactory::setUseSystemConfiguration()`.
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy;
/// proxy::set_use_system_configuration(true);
/// assert!(proxy::uses_system_configuration());
/// proxy::set_use_system_configuration(false);
/// ```
pub fn set_use_system_configuration(enable: bool) {
    let old_factory = with_global(|g| {
        g.use_system = enable;
        if enable {
            g.application_proxy = NetworkProxy::default();
            g.factory.take()
        } else {
            None
        }
    });
    drop(old_factory);
}

/// Whether the system proxy configuration is in force.
///
/// Qt: `QNetworkProxyFactory::usesSystemConfiguration()`.
///
/// # Examples
///
/// ```
/// let on = sigloop_net::proxy::uses_system_configuration();
/// println!("system proxies: {on}");
/// ```
pub fn uses_system_configuration() -> bool {
    with_global(|g| g.use_system)
}

/// The proxies for a connection described by `query`, by Qt's rules,
/// never empty:
///
/// 1. `localhost`, `localhost.*` and loopback address literals
///    (`127.x.y.z` in any form Qt parses, `::1`) get `[NoProxy]`;
/// 2. an application factory, if set, decides (an empty answer becomes
///    `[NoProxy]`, with a warning);
/// 3. else the application proxy, unless it is [`ProxyType::Default`];
/// 4. else, with the system configuration on,
///    [`system_proxy_for_query`] followed by `NoProxy` (so a server can
///    still listen when the system proxy is HTTP);
/// 5. else `[NoProxy]`.
///
/// A socket with an explicit proxy other than `Default` uses that proxy
/// and does not ask here, even for localhost.
///
/// Qt: `QNetworkProxyFactory::proxyForQuery()`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{proxy, NetworkProxyQuery, ProxyType, QueryType};
///
/// let local = NetworkProxyQuery::for_peer("127.0.0.1", 80, "", QueryType::TcpSocket);
/// assert_eq!(proxy::proxy_for_query(&local)[0].proxy_type(), ProxyType::NoProxy);
/// ```
pub fn proxy_for_query(query: &NetworkProxyQuery) -> Vec<NetworkProxy> {
    if is_local(query.peer_host_name()) {
        return vec![NetworkProxy::no_proxy()];
    }
    let (factory, application_proxy, use_system) =
        with_global(|g| (g.factory.clone(), g.application_proxy.clone(), g.use_system));
    if let Some(factory) = factory {
        let proxies = factory.query_proxy(query);
        if proxies.is_empty() {
            log::warn!("NetworkProxyFactory: the factory returned an empty list; using NoProxy");
            return vec![NetworkProxy::no_proxy()];
        }
        return proxies;
    }
    if application_proxy.proxy_type() != ProxyType::Default {
        return vec![application_proxy];
    }
    if use_system {
        let mut proxies = system_proxy_for_query(query);
        proxies.push(NetworkProxy::no_proxy());
        return proxies;
    }
    vec![NetworkProxy::no_proxy()]
}

/// Qt's "don't look for proxies for a local connection" test.
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host.starts_with("localhost.")
        || host.parse::<HostAddress>().is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueryType;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn local_hosts_are_never_proxied() {
        for host in [
            "localhost",
            "localhost.localdomain",
            "127.0.0.1",
            "127.1",
            "::1",
            "127.255.0.9",
        ] {
            assert!(is_local(host), "{host}");
        }
        for host in [
            "localhostx",
            "mylocalhost",
            "128.0.0.1",
            "::2",
            "",
            "example.com",
        ] {
            assert!(!is_local(host), "{host}");
        }
    }

    struct Counting(Arc<AtomicUsize>, Vec<NetworkProxy>);

    impl NetworkProxyFactory for Counting {
        fn query_proxy(&self, _: &NetworkProxyQuery) -> Vec<NetworkProxy> {
            self.0.fetch_add(1, Ordering::SeqCst);
            // A factory may ask the global settings itself: no lock is held.
            let _ = uses_system_configuration();
            self.1.clone()
        }
    }

    /// Every global setting in one test, so parallel tests never see each
    /// other's settings (no other unit test touches them).
    #[test]
    fn global_settings_follow_qts_precedence() {
        let remote = NetworkProxyQuery::for_peer("example.com", 80, "", QueryType::TcpSocket);
        let local = NetworkProxyQuery::for_peer("localhost", 80, "", QueryType::TcpSocket);
        let socks = NetworkProxy::new(ProxyType::Socks5, "s", 1080);

        NetworkProxy::set_application_proxy(socks.clone());
        assert_eq!(proxy_for_query(&remote), vec![socks.clone()]);
        assert_eq!(proxy_for_query(&local)[0].proxy_type(), ProxyType::NoProxy);
        assert_eq!(NetworkProxy::application_proxy(), socks);

        let calls = Arc::new(AtomicUsize::new(0));
        let http = NetworkProxy::new(ProxyType::Http, "h", 3128);
        set_application_proxy_factory(Some(Box::new(Counting(calls.clone(), vec![http.clone()]))));
        assert_eq!(proxy_for_query(&remote), vec![http.clone()]);
        assert_eq!(proxy_for_query(&local)[0].proxy_type(), ProxyType::NoProxy);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the factory is not asked for localhost"
        );

        set_application_proxy_factory(Some(Box::new(Counting(calls.clone(), vec![]))));
        assert_eq!(proxy_for_query(&remote), vec![NetworkProxy::no_proxy()]);

        set_use_system_configuration(true);
        assert!(uses_system_configuration());
        let with_system = proxy_for_query(&remote);
        assert_eq!(with_system.last().unwrap().proxy_type(), ProxyType::NoProxy);
        assert!(with_system.len() >= 2, "system answer plus NoProxy");

        NetworkProxy::set_application_proxy(NetworkProxy::default());
        assert!(!uses_system_configuration());
        assert_eq!(proxy_for_query(&remote), vec![NetworkProxy::no_proxy()]);
        set_application_proxy_factory(None);
        assert_eq!(proxy_for_query(&remote), vec![NetworkProxy::no_proxy()]);
    }
}
