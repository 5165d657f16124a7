//! Helpers shared by the integration tests and `examples/tcp_trace.rs`:
//! signal traces in the Qt oracle's format ([`recorder`]), the oracle's TCP
//! scenarios re-enacted with our sockets ([`scenarios`]), and child
//! processes for scenarios that need a descriptor limit or a private
//! network namespace ([`isolate`]); tests that need a real peer, which
//! skip with a notice or fail when it is missing ([`peers`]); real-Qt
//! peers in Python ([`python_peer`]) and the hex they speak ([`hex`]);
//! private directories for Unix socket files ([`socket_dir`]); the test
//! PKI for TLS ([`certs`]), TLS configurations and a test server
//! ([`tls`]), the oracle's TLS scenarios ([`tls_scenarios`]) and real TLS
//! peers, openssl and PySide6 QSslSocket ([`tls_peers`]); the proxy
//! scenarios of the oracle ([`proxy_scenarios`]); a relay that injects
//! faults into a TCP stream ([`fault_relay`]); the compiled example
//! binaries ([`examples`]); and bounded waits ([`waits`]).

// Each test binary uses only part of these helpers.
#![allow(dead_code)]

pub mod certs;
pub mod examples;
pub mod fault_relay;
pub mod hex;
pub mod isolate;
pub mod peers;
pub mod proxy_scenarios;
pub mod python_peer;
pub mod recorder;
pub mod scenarios;
pub mod socket_dir;
pub mod tls;
pub mod tls_peers;
pub mod tls_scenarios;
pub mod waits;
