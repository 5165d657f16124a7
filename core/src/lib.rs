//! The sigloop event loop: Qt's `QCoreApplication`, `QEventLoop`,
//! `QTimer`, `QSocketNotifier` and `QThread`, on `mio`.
//!
//! Every thread has one loop, made on first use. Objects such as
//! [`Timer`] and [`SocketNotifier`] register with the loop of the thread
//! that creates them and emit their signals from it.
//! [`EventDispatcher::exec`] runs the loop; [`EventDispatcher::post`] queues
//! a call on it; a [`LoopHandle`] reaches it from other threads.
//!
//! ```
//! use std::time::Duration;
//! use sigloop_core::{EventDispatcher, Timer};
//!
//! let timer = Timer::new();
//! let _c = timer.on_timeout(|_| EventDispatcher::exit(42));
//! timer.start_with(Duration::from_millis(10));
//! assert_eq!(EventDispatcher::exec(), 42);
//! ```
//!
//! # One pass of the loop
//!
//! 1. calls posted from other threads are moved to the posted queue;
//! 2. posted calls run, in order, up to those posted when the pass began;
//! 3. deferred deletes run as Qt's nesting rules allow;
//! 4. the loop polls, sleeping only when nothing is pending, until the
//!    next timer;
//! 5. I/O readiness is dispatched (skipped under
//!    [`ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS`]);
//! 6. due timers fire.
//!
//! An idle loop sleeps in `epoll_wait` and uses no CPU.
//!
//! # Embedding
//!
//! [`EventDispatcher::as_raw_fd`], [`EventDispatcher::time_to_next_timer`]
//! and [`EventDispatcher::dispatch_once`] let another loop drive this one.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod buffer_device;
mod byte_queue;
mod data_stream;
mod dispatcher;
mod elapsed;
mod event_loop;
mod flags;
mod handle;
mod io;
mod io_device;
mod notifier;
mod object;
mod text_mode;
mod thread;
mod timer;
mod timer_heap;

pub use buffer_device::Buffer;
pub use byte_queue::ByteQueue;
pub use data_stream::{
    ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, Date, DateTime,
    FloatingPointPrecision, ReadFrom, Time, TimeSpec, Uuid, Variant, WriteTo,
};
pub use elapsed::{DeadlineTimer, ElapsedTimer};
pub use event_loop::{EventDispatcher, EventLoop};
pub use flags::ProcessEventsFlags;
pub use handle::LoopHandle;
pub use io::{IoHandler, IoRegistration, Readiness};
pub use io_device::{DeviceError, IoDevice, OpenMode};
pub use notifier::{NotifierKind, SocketNotifier, WeakSocketNotifier};
pub use object::Lifecycle;
pub use thread::LoopThread;
pub use timer::{Timer, TimerType, WeakTimer};

pub use sigloop_signals::queue::QueueClosed;
