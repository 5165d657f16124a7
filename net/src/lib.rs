//! Qt-style networking on the sigloop event loop: QtNetwork's
//! `QTcpSocket`, `QTcpServer`, `QUdpSocket`, `QLocalSocket`,
//! `QLocalServer`, `QHostAddress` and `QHostInfo`, with Qt's states, error
//! codes, texts and signal order.
//!
//! Sockets and servers are cheap `Clone` handles bound to the thread that
//! made them; they run on that thread's loop
//! ([`sigloop_core::EventDispatcher`]) and emit [`sigloop_signals::Signal`]s.
//!
//! ```
//! use sigloop_core::{EventDispatcher, IoDevice};
//! use sigloop_net::{HostAddress, SpecialAddress, TcpServer, TcpSocket};
//!
//! // An echo server and a client in one loop.
//! let server = TcpServer::new();
//! server.listen(&HostAddress::from(SpecialAddress::LocalHost), 0).unwrap();
//! let _accept = server.new_connection().connect_to(&server, |server, _| {
//!     while let Some(peer) = server.next_pending_connection() {
//!         let _echo = peer.ready_read().connect_to(&peer, |peer, _| {
//!             let data = peer.read_all().unwrap();
//!             peer.write(&data).unwrap();
//!         });
//!         let _done = peer.disconnected().connect_to(&peer, |peer, _| peer.delete_later());
//!     }
//! });
//!
//! let client = TcpSocket::new();
//! let _hello = client.connected().connect_to(&client, |client, _| {
//!     client.write(b"ping").unwrap();
//! });
//! let _reply = client.ready_read().connect_to(&client, |client, _| {
//!     if client.bytes_available() >= 4 {
//!         assert_eq!(client.read_all().unwrap(), b"ping");
//!         EventDispatcher::exit(0);
//!     }
//! });
//! client.connect_to_host("127.0.0.1", server.server_port());
//! assert_eq!(EventDispatcher::exec(), 0);
//! ```
//!
//! # Signal order
//!
//! The order is Qt 6's, observed on a real Qt (SC = `state_changed`):
//!
//! | Situation | Signals |
//! |---|---|
//! | connect to an IP literal | SC(HostLookup), SC(Connecting), `host_found` (all before `connect_to_host` returns), then SC(Connected), `connected` |
//! | connect to a name | SC(HostLookup); after the lookup SC(Connecting), `host_found`, SC(Connected), `connected` |
//! | refused | … SC(Unconnected), then `error_occurred(ConnectionRefused)` |
//! | name not found | SC(HostLookup) … SC(Unconnected), `error_occurred(HostNotFound)` |
//! | peer closed | (`ready_read`) … `error_occurred(RemoteHostClosed)` while still Connected, SC(Closing), SC(Unconnected), `read_channel_finished`, `disconnected`; unread data stays readable |
//! | `disconnect_from_host` | SC(Closing), (`bytes_written` …), SC(Unconnected), `read_channel_finished`, `disconnected` |
//! | `abort` | `about_to_close`, SC(Unconnected), `read_channel_finished`, `disconnected` (no Closing) |
//! | write error | `error_occurred(RemoteHostClosed)`, then as `abort` |
//!
//! Each address of a name is tried twice, 30 s per attempt, as in Qt.
//!
//! # Buffers
//!
//! `write` appends to a write buffer and never returns short; the loop
//! flushes it and emits `bytes_written` per OS write (never from inside
//! `write`). Reads come from a read buffer the loop fills; with
//! [`TcpSocket::set_read_buffer_size`] the socket stops reading from the OS
//! at the limit until the application drains the buffer. Buffers hold no
//! memory while empty.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod abstract_socket;
pub mod async_io;
mod host_address;
mod host_info;
mod local;
mod network_datagram;
mod network_interface;
pub mod proxy;
mod socket;
mod socket_util;
pub mod ssl;
mod tcp_server;
mod tcp_socket;
mod thread_affinity;
mod udp_socket;

pub use abstract_socket::{AbstractSocket, WeakAbstractSocket};
pub use host_address::{
    AddressParseError, ConversionMode, HostAddress, NetworkLayerProtocol, SpecialAddress,
};
pub use host_info::{HostInfo, HostInfoError, LookupId};
pub use local::{
    LocalServer, LocalServerOptions, LocalSocket, LocalSocketError, LocalSocketOptions,
    LocalSocketState, WeakLocalServer, WeakLocalSocket,
};
pub use network_datagram::NetworkDatagram;
pub use network_interface::{InterfaceFlags, NetworkAddressEntry, NetworkInterface};
pub use proxy::{
    Authenticator, NetworkProxy, NetworkProxyFactory, NetworkProxyQuery,
    ProxyAuthenticationRequest, ProxyCapabilities, ProxyType, QueryType,
};
pub use socket::{BindMode, ConnectPolicy, SocketError, SocketOption, SocketState, SocketType};
pub use tcp_server::{TcpServer, WeakTcpServer};
pub use tcp_socket::{TcpSocket, WeakTcpSocket};
pub use udp_socket::{UdpSocket, WeakUdpSocket};
