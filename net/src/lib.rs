//! Qt-style networking on the sigloop event loop.
//!
//! This crate is the home of QtNetwork's classes — `TcpSocket`,
//! `TcpServer`, `UdpSocket`, `HostAddress`, `HostInfo`, TLS and proxies —
//! built on the event loop of [`sigloop_core`] and the signals of
//! [`sigloop_signals`]. So far it has addresses and name lookups
//! ([`HostAddress`], [`HostInfo`]) and TCP ([`TcpSocket`], [`TcpServer`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Linked so the intra-doc links above resolve and the dependency graph is
// the final one from the start.
use sigloop_signals as _;

mod host_address;
mod host_info;
mod socket;
mod socket_util;
mod tcp_server;
mod tcp_socket;

pub use host_address::{
    AddressParseError, ConversionMode, HostAddress, NetworkLayerProtocol, SpecialAddress,
};
pub use host_info::{HostInfo, HostInfoError, LookupId, RESOLVER_THREADS};
pub use socket::{BindMode, SocketError, SocketOption, SocketState, SocketType};
pub use tcp_server::{TcpServer, WeakTcpServer};
pub use tcp_socket::{TcpSocket, WeakTcpSocket};
