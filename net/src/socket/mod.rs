//! The abstract socket: Qt's `QAbstractSocket` machinery, shared by every
//! socket kind (TCP and UDP; TLS builds on it).
//!
//! - `engine`: the state and signals of one socket, and the small helpers
//!   every path uses (state changes, errors, deferred work);
//! - `connect`: host lookup and connect attempts (`connectToHost()`);
//! - `close`: `disconnect_from_host`, `close`, `abort`, remote close;
//! - `transfer`: reading into the read buffer and flushing the write buffer;
//! - `datagram`: the UDP side: bind, datagram reads and writes, Qt's
//!   `ready_read` gating for datagrams;
//! - `wait`: the blocking `wait_for_*` functions, which run the same paths
//!   without an event loop;
//! - `linger`: a deleted socket's queued bytes still go out;
//! - `proxied`: connecting through a SOCKS5 or HTTP `CONNECT` proxy;
//! - `tls`: an `SslSocket`'s TLS layer between the OS stream and the
//!   buffers.

mod close;
mod connect;
mod datagram;
pub(crate) mod engine;
mod enums;
mod error;
mod lazy_queue;
mod linger;
mod proxied;
mod proxied_udp;
pub(crate) mod tls;
mod transfer;
pub(crate) mod transport;
mod wait;

pub use enums::{BindMode, SocketOption, SocketState, SocketType};
pub use error::SocketError;
pub(crate) use error::{from_io, text, Failure, Op};
pub(crate) use wait::{poll_fd, Want};
