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
//! 1. calls posted from other threads before the pass began (at most
//!    2048) are moved to the posted queue, so threads that never stop
//!    posting cannot keep the loop from its timers and I/O;
//! 2. posted calls run, in order, up to those posted when the pass began;
//! 3. deferred deletes run as Qt's nesting rules allow;
//! 4. the loop polls, sleeping only when nothing is pending, until the
//!    next timer (calls from other threads that woke it run now if step 1
//!    took none);
//! 5. I/O readiness is dispatched (skipped under
//!    [`ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS`]);
//! 6. due timers fire.
//!
//! Readiness and due timers are taken one at a time, so a nested loop
//! started from a slot processes the rest, and a slot that panics out of
//! the pass leaves the rest for the next one. An idle loop sleeps in
//! `epoll_wait` and uses no CPU.
//!
//! # Embedding
//!
//! [`EventDispatcher::as_raw_fd`], [`EventDispatcher::time_to_next_timer`]
//! and [`EventDispatcher::dispatch_once`] let another loop drive this one;
//! with the `tokio` feature, `tokio::run` does it for a tokio runtime.
//!
//! # async/await
//!
//! [`spawn_local`] runs a future as a task on the thread's loop,
//! [`block_on`] runs the loop until a future completes, and [`sleep`],
//! [`sleep_until`] and [`timeout`] wait on the loop's timers. Tasks run
//! from an ordinary posted call, so a program that never spawns one pays
//! nothing in the passes above.
//!
//! ```
//! use std::time::Duration;
//! use sigloop_core::{block_on, sleep, spawn_local};
//!
//! let a = spawn_local(async {
//!     sleep(Duration::from_millis(2)).await;
//!     "a"
//! });
//! let both = block_on(async move { (a.await.unwrap(), "b") });
//! assert_eq!(both, Some(("a", "b")));
//! ```

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
mod sleep;
mod task;
mod text_mode;
mod thread;
mod thread_affinity;
mod timer;
mod timer_heap;
#[cfg(feature = "tokio")]
pub mod tokio;

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
pub use io_device::{DeviceError, IoDevice, OpenMode};
pub use notifier::{NotifierKind, SocketNotifier, WeakSocketNotifier};
pub use sleep::{sleep, sleep_until, timeout, Elapsed, Sleep, Timeout};
pub use task::{block_on, spawn_local, JoinError, JoinHandle};
pub use thread::LoopThread;
pub use timer::{Timer, TimerType, WeakTimer};

pub use sigloop_signals::queue::QueueClosed;

/// Machinery `sigloop-net`'s sockets build on: registering a source with
/// the loop, the objects' deletion rules, the read size a pooled buffer
/// learned. Not part of the API: public only because Rust has no
/// visibility across a workspace's crates. Applications must not use it;
/// it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::byte_queue::{fill_hint, set_fill_hint};
    pub use crate::io::{IoHandler, IoRegistration, Readiness};
    pub use crate::object::{Handle, Lifecycle, Object};
}
