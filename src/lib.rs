//! # sigloop
//!
//! Qt-style signals and slots, an event loop, timers and Qt's networking
//! (TCP, UDP, host lookups), in pure Rust on [`mio`](https://docs.rs/mio).
//!
//! This crate re-exports the workspace's layers:
//!
//! - [`signals`] (`sigloop-signals`): [`Signal<T>`](Signal), connections,
//!   connection types — `QObject::connect` and `emit`;
//! - [`core`] (`sigloop-core`): the per-thread event loop, posted calls,
//!   deferred deletes, timers, socket notifiers, cross-thread handles —
//!   `QCoreApplication`, `QEventLoop`, `QTimer`, `QThread`;
//! - [`net`] (`sigloop-net`): QtNetwork's classes — host addresses and
//!   lookups, `QTcpSocket`, `QTcpServer`, `QUdpSocket`, network interfaces.
//!
//! async/await is there too, for those who want it: [`spawn_local`],
//! [`block_on`], [`sleep`], [`timeout`], [`Signal::next`] and
//! [`Signal::stream`], awaited sockets ([`net::async_io`]), and, with the
//! `tokio` feature, the loop inside a tokio application (`tokio::run`).
//!
//! ```
//! use std::time::Duration;
//! use sigloop::{EventDispatcher, Signal, Timer};
//!
//! let finished = Signal::<u32>::new();
//! let _c = finished.connect(|code| EventDispatcher::exit(*code as i32));
//! Timer::single_shot(Duration::from_millis(5), move || finished.emit(&7));
//! assert_eq!(EventDispatcher::exec(), 7);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use sigloop_core as core;
pub use sigloop_net as net;
/// TLS: `QSslCertificate`, `QSslKey`, `QSslError` (and, from the TLS
/// branches, `QSslSocket`, `QSslConfiguration`, `QSslServer`).
pub use sigloop_net::ssl;
pub use sigloop_signals as signals;

/// sigloop inside a tokio application (the `tokio` feature): see
/// [`sigloop_core::tokio`].
#[cfg(feature = "tokio")]
pub use sigloop_core::tokio;

pub use sigloop_core::{
    block_on, sleep, sleep_until, spawn_local, timeout, Elapsed, JoinError, JoinHandle, Sleep,
    Timeout,
};
pub use sigloop_core::{
    Buffer, ByteQueue, DeadlineTimer, DeviceError, ElapsedTimer, EventDispatcher, EventLoop,
    IoDevice, LoopHandle, LoopThread, NotifierKind, OpenMode, ProcessEventsFlags, QueueClosed,
    SocketNotifier, Timer, TimerType, WeakSocketNotifier, WeakTimer,
};
pub use sigloop_core::{
    ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, Date, DateTime,
    FloatingPointPrecision, ReadFrom, Time, TimeSpec, Uuid, Variant, WriteTo,
};
pub use sigloop_net::ConnectPolicy;
pub use sigloop_net::{
    AbstractSocket, AddressParseError, Authenticator, BindMode, ConversionMode, HostAddress,
    HostInfo, HostInfoError, InterfaceFlags, LookupId, NetworkAddressEntry, NetworkDatagram,
    NetworkInterface, NetworkLayerProtocol, NetworkProxy, NetworkProxyFactory, NetworkProxyQuery,
    ProxyCapabilities, ProxyType, QueryType, SocketError, SocketOption, SocketState, SocketType,
    SpecialAddress, TcpServer, TcpSocket, UdpSocket, WeakAbstractSocket, WeakTcpServer,
    WeakTcpSocket, WeakUdpSocket,
};
pub use sigloop_net::{
    LocalServer, LocalServerOptions, LocalSocket, LocalSocketError, LocalSocketOptions,
    LocalSocketState, WeakLocalServer, WeakLocalSocket,
};
pub use sigloop_signals::{
    ConnectError, ConnectOptions, Connection, ConnectionType, Emissions, NextEmission, Receiver,
    ScopedConnection, Signal,
};

/// Guides that are not about one item: porting from Qt and PySide, and the
/// full Qt → sigloop name table.
pub mod docs {
    /// Porting Qt and PySide network code to sigloop: the ownership model,
    /// the fortune client side by side, common idioms, and every deliberate
    /// difference from Qt.
    #[doc = include_str!("docs/porting.md")]
    pub mod porting {}

    /// The README, with the table of every implemented Qt/PySide class,
    /// method, enum value and signal and its sigloop name. Its Rust code
    /// blocks run as documentation tests, so the front page cannot go
    /// stale.
    #[doc = include_str!("../README.md")]
    pub mod names {}
}
