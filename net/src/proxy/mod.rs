//! Proxies (Qt: `QNetworkProxy` and friends): proxy descriptions and
//! URLs, the process-wide proxy settings and Qt's rules for choosing a
//! proxy, credentials, and the SOCKS5 and HTTP `CONNECT` handshakes as
//! sans-I/O state machines.
//!
//! `TcpSocket` goes through a proxy with
//! [`set_proxy`](crate::AbstractSocket::set_proxy) or the application
//! settings below, and asks for credentials through
//! [`proxy_authentication_required`](crate::AbstractSocket::proxy_authentication_required)
//! ([`ProxyAuthenticationRequest`]). **Not yet:** `UdpSocket` refuses a
//! proxy (no SOCKS5 `UDP ASSOCIATE` relay yet) and `TcpServer` does not
//! listen through one (`BIND`).
//!
//! - [`NetworkProxy`], [`ProxyType`], [`ProxyCapabilities`]: one proxy
//!   (`QNetworkProxy`), parsed from and printed as a URL
//!   ([`NetworkProxy::from_url`]);
//! - [`NetworkProxyQuery`], [`QueryType`], [`NetworkProxyFactory`],
//!   [`proxy_for_query`], [`set_application_proxy_factory`],
//!   [`NetworkProxy::set_application_proxy`],
//!   [`set_use_system_configuration`], [`system_proxy_for_query`]: which
//!   proxy a connection takes (`QNetworkProxyQuery`,
//!   `QNetworkProxyFactory`);
//! - [`Authenticator`]: credentials a slot gives when a proxy asks
//!   (`QAuthenticator`);
//! - [`socks5`] and [`http`]: the handshakes, driven by a socket as
//!   [`HandshakeEvent`] describes, failing with Qt's errors
//!   ([`ProxyError`]).
//!
//! ```
//! use sigloop_net::{proxy, NetworkProxy, NetworkProxyQuery, ProxyType, QueryType};
//!
//! let socks = NetworkProxy::from_url("socks5h://user:pass@127.0.0.1:1080").unwrap();
//! assert_eq!(socks.proxy_type(), ProxyType::Socks5);
//!
//! // Qt never proxies loopback destinations chosen by the application-wide settings.
//! let local = NetworkProxyQuery::for_peer("localhost", 80, "", QueryType::TcpSocket);
//! assert_eq!(proxy::proxy_for_query(&local)[0].proxy_type(), ProxyType::NoProxy);
//! ```

mod address;
pub(crate) mod authenticator;
mod error;
mod event;
mod factory;
pub mod http;
mod network_proxy;
mod proxy_type;
mod query;
mod request;
pub mod socks5;
mod system;
mod url;

#[cfg(test)]
mod testing;

pub use address::ProxyAddress;
pub use authenticator::Authenticator;
pub use error::ProxyError;
pub use event::HandshakeEvent;
pub use factory::{
    proxy_for_query, set_application_proxy_factory, set_use_system_configuration,
    uses_system_configuration, NetworkProxyFactory,
};
pub use network_proxy::NetworkProxy;
pub use proxy_type::{ProxyCapabilities, ProxyType};
pub use query::{NetworkProxyQuery, QueryType};
pub use request::ProxyAuthenticationRequest;
pub use system::system_proxy_for_query;
pub use url::ProxyUrlError;
