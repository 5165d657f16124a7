//! # sigloop
//!
//! Qt-style signals and slots, an event loop, timers and (soon) Qt's
//! networking, in pure Rust on [`mio`](https://docs.rs/mio).
//!
//! This crate re-exports the workspace's layers:
//!
//! - [`signals`] (`sigloop-signals`): [`Signal<T>`](Signal), connections,
//!   connection types — `QObject::connect` and `emit`;
//! - [`core`] (`sigloop-core`): the per-thread event loop, posted calls,
//!   deferred deletes, timers, socket notifiers, cross-thread handles —
//!   `QCoreApplication`, `QEventLoop`, `QTimer`, `QThread`;
//! - [`net`] (`sigloop-net`): QtNetwork's classes (in progress).
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
pub use sigloop_signals as signals;

pub use sigloop_core::{
    Buffer, ByteQueue, DeadlineTimer, DeviceError, ElapsedTimer, EventDispatcher, EventLoop,
    IoDevice, IoHandler, IoRegistration, LoopHandle, LoopThread, NotifierKind, OpenMode,
    ProcessEventsFlags, QueueClosed, Readiness, SocketNotifier, Timer, TimerType,
    WeakSocketNotifier, WeakTimer,
};
pub use sigloop_core::{
    ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, FloatingPointPrecision, ReadFrom,
    WriteTo,
};
pub use sigloop_net::{
    AddressParseError, BindMode, ConversionMode, HostAddress, HostInfo, HostInfoError, LookupId,
    NetworkLayerProtocol, SocketError, SocketOption, SocketState, SocketType, SpecialAddress,
    TcpServer, TcpSocket, WeakTcpServer, WeakTcpSocket,
};
pub use sigloop_signals::{
    ConnectError, ConnectOptions, Connection, ConnectionType, Receiver, ScopedConnection, Signal,
};

/// The README's Rust code blocks, compiled and run as documentation tests
/// so that the front-page example cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
