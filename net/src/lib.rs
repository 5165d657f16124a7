//! Qt-style networking on the sigloop event loop.
//!
//! This crate is the home of QtNetwork's classes — `TcpSocket`,
//! `TcpServer`, `UdpSocket`, `HostAddress`, `HostInfo`, TLS and proxies —
//! built on the event loop of [`sigloop_core`] and the signals of
//! [`sigloop_signals`]. It has no items yet.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Linked so the intra-doc links above resolve and the dependency graph is
// the final one from the start.
use sigloop_core as _;
use sigloop_signals as _;
