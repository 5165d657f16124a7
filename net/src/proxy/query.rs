//! `NetworkProxyQuery` (Qt: `QNetworkProxyQuery`): what a socket, server or
//! request is about to do, so that a factory can pick its proxy.

/// What kind of connection a [`NetworkProxyQuery`] is for.
///
/// The values are Qt's.
///
/// Qt: `QNetworkProxyQuery::QueryType`.
///
/// # Examples
///
/// ```
/// use sigloop_net::QueryType;
/// assert_eq!(QueryType::TcpServer as i32, 100);
/// assert_eq!(QueryType::default(), QueryType::TcpSocket);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QueryType {
    /// An outgoing TCP connection. Qt: `TcpSocket`.
    #[default]
    TcpSocket = 0,
    /// UDP datagrams. Qt: `UdpSocket`.
    UdpSocket = 1,
    /// An outgoing SCTP connection. Qt: `SctpSocket`.
    SctpSocket = 2,
    /// A listening TCP server. Qt: `TcpServer`.
    TcpServer = 100,
    /// A URL request (HTTP, FTP). Qt: `UrlRequest`.
    UrlRequest = 101,
    /// A listening SCTP server. Qt: `SctpServer`.
    SctpServer = 102,
}

/// The details of a connection about to be made: its kind, the peer's host
/// and port, the local port, and a protocol tag such as `"http"`.
///
/// Factories ([`crate::proxy::NetworkProxyFactory`]) and
/// [`crate::proxy::proxy_for_query`] choose proxies from it. The peer host
/// is kept as Qt's `QUrl` keeps it: ASCII letters in lower case.
///
/// Qt: `QNetworkProxyQuery`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{NetworkProxyQuery, QueryType};
///
/// let query = NetworkProxyQuery::for_peer("Example.COM", 443, "https", QueryType::TcpSocket);
/// assert_eq!(query.peer_host_name(), "example.com");
/// assert_eq!(query.peer_port(), Some(443));
/// assert_eq!(query.protocol_tag(), "https");
///
/// let server = NetworkProxyQuery::for_local_port(8080, "", QueryType::TcpServer);
/// assert_eq!(server.local_port(), Some(8080));
/// assert_eq!(server.peer_port(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NetworkProxyQuery {
    query_type: QueryType,
    peer_host_name: String,
    peer_port: Option<u16>,
    local_port: Option<u16>,
    protocol_tag: String,
}

impl NetworkProxyQuery {
    /// An empty query for a TCP socket (what
    /// [`NetworkProxy::application_proxy`](crate::NetworkProxy::application_proxy)
    /// asks with).
    ///
    /// Qt: `QNetworkProxyQuery()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = sigloop_net::NetworkProxyQuery::new();
    /// assert_eq!(q.peer_host_name(), "");
    /// ```
    pub fn new() -> Self {
        NetworkProxyQuery::default()
    }

    /// A query for a connection to `host:port`.
    ///
    /// Qt: `QNetworkProxyQuery(hostname, port, protocolTag, queryType)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxyQuery, QueryType};
    /// let q = NetworkProxyQuery::for_peer("::1", 53, "", QueryType::UdpSocket);
    /// assert_eq!(q.query_type(), QueryType::UdpSocket);
    /// ```
    pub fn for_peer(host: &str, port: u16, protocol_tag: &str, query_type: QueryType) -> Self {
        NetworkProxyQuery {
            query_type,
            peer_host_name: host.to_ascii_lowercase(),
            peer_port: Some(port),
            local_port: None,
            protocol_tag: protocol_tag.to_ascii_lowercase(),
        }
    }

    /// A query for something bound to a local port (a server, or UDP).
    ///
    /// Qt: `QNetworkProxyQuery(bindPort, protocolTag, queryType)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxyQuery, QueryType};
    /// let q = NetworkProxyQuery::for_local_port(0, "", QueryType::TcpServer);
    /// assert_eq!(q.local_port(), Some(0));
    /// ```
    pub fn for_local_port(port: u16, protocol_tag: &str, query_type: QueryType) -> Self {
        NetworkProxyQuery {
            query_type,
            local_port: Some(port),
            protocol_tag: protocol_tag.to_ascii_lowercase(),
            ..NetworkProxyQuery::default()
        }
    }

    /// The kind of connection. Qt: `QNetworkProxyQuery::queryType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxyQuery, QueryType};
    /// assert_eq!(NetworkProxyQuery::new().query_type(), QueryType::TcpSocket);
    /// ```
    pub fn query_type(&self) -> QueryType {
        self.query_type
    }

    /// Sets the kind of connection. Qt: `QNetworkProxyQuery::setQueryType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxyQuery, QueryType};
    /// let mut q = NetworkProxyQuery::new();
    /// q.set_query_type(QueryType::UdpSocket);
    /// assert_eq!(q.query_type(), QueryType::UdpSocket);
    /// ```
    pub fn set_query_type(&mut self, query_type: QueryType) {
        self.query_type = query_type;
    }

    /// The peer's host name or address, ASCII letters in lower case.
    /// Qt: `QNetworkProxyQuery::peerHostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxyQuery, QueryType};
    /// let q = NetworkProxyQuery::for_peer("LOCALHOST", 1, "", QueryType::TcpSocket);
    /// assert_eq!(q.peer_host_name(), "localhost");
    /// ```
    pub fn peer_host_name(&self) -> &str {
        &self.peer_host_name
    }

    /// Sets the peer's host. Qt: `QNetworkProxyQuery::setPeerHostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_net::NetworkProxyQuery::new();
    /// q.set_peer_host_name("Host.Test");
    /// assert_eq!(q.peer_host_name(), "host.test");
    /// ```
    pub fn set_peer_host_name(&mut self, host: &str) {
        self.peer_host_name = host.to_ascii_lowercase();
    }

    /// The peer's port, if known (Qt returns -1 for none).
    /// Qt: `QNetworkProxyQuery::peerPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::NetworkProxyQuery::new().peer_port(), None);
    /// ```
    pub fn peer_port(&self) -> Option<u16> {
        self.peer_port
    }

    /// Sets the peer's port. Qt: `QNetworkProxyQuery::setPeerPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_net::NetworkProxyQuery::new();
    /// q.set_peer_port(Some(80));
    /// assert_eq!(q.peer_port(), Some(80));
    /// ```
    pub fn set_peer_port(&mut self, port: Option<u16>) {
        self.peer_port = port;
    }

    /// The local port, if any (Qt returns -1 for none).
    /// Qt: `QNetworkProxyQuery::localPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::NetworkProxyQuery::new().local_port(), None);
    /// ```
    pub fn local_port(&self) -> Option<u16> {
        self.local_port
    }

    /// Sets the local port. Qt: `QNetworkProxyQuery::setLocalPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_net::NetworkProxyQuery::new();
    /// q.set_local_port(Some(5000));
    /// assert_eq!(q.local_port(), Some(5000));
    /// ```
    pub fn set_local_port(&mut self, port: Option<u16>) {
        self.local_port = port;
    }

    /// The protocol tag (a URL scheme such as `"http"`), in lower case.
    /// Qt: `QNetworkProxyQuery::protocolTag()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkProxyQuery, QueryType};
    /// let q = NetworkProxyQuery::for_peer("h", 21, "FTP", QueryType::TcpSocket);
    /// assert_eq!(q.protocol_tag(), "ftp");
    /// ```
    pub fn protocol_tag(&self) -> &str {
        &self.protocol_tag
    }

    /// Sets the protocol tag. Qt: `QNetworkProxyQuery::setProtocolTag()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_net::NetworkProxyQuery::new();
    /// q.set_protocol_tag("https");
    /// assert_eq!(q.protocol_tag(), "https");
    /// ```
    pub fn set_protocol_tag(&mut self, tag: &str) {
        self.protocol_tag = tag.to_ascii_lowercase();
    }
}
