//! Sockets and servers are bound to the loop of the thread that made them
//! and are `!Send`: using one from another thread is a compile error, not
//! a runtime fault (Qt's thread affinity, enforced). Hand work to another
//! thread through a `LoopHandle` instead.
//!
//! These examples must not compile:
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::TcpSocket::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::TcpSocket::new().downgrade());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::TcpServer::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::TcpServer::new().downgrade());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::UdpSocket::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::UdpSocket::new().downgrade());
//! ```
//!
//! Plain values do cross threads:
//!
//! ```
//! fn send<T: Send>(_: T) {}
//! send(sigloop_net::HostAddress::from(sigloop_net::SpecialAddress::LocalHost));
//! send(sigloop_net::HostInfo::new());
//! ```
