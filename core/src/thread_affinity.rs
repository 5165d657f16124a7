//! Every object bound to the loop of the thread that made it is `!Send`:
//! using it from another thread is a compile error, not a runtime fault
//! (Qt's thread affinity, enforced). Cross-thread work goes through
//! [`LoopHandle`](crate::LoopHandle), which is `Send`.
//!
//! These examples must not compile:
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_core::Timer::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_core::Timer::new().downgrade());
//! ```
//!
//! ```compile_fail,E0277
//! # let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
//! # use std::os::fd::AsRawFd;
//! use sigloop_core::{NotifierKind, SocketNotifier};
//! fn send<T: Send>(_: T) {}
//! send(SocketNotifier::new(b.as_raw_fd(), NotifierKind::Read).unwrap());
//! ```
//!
//! ```compile_fail,E0277
//! # let (_a, b) = std::os::unix::net::UnixStream::pair().unwrap();
//! # use std::os::fd::AsRawFd;
//! use sigloop_core::{NotifierKind, SocketNotifier};
//! fn send<T: Send>(_: T) {}
//! send(SocketNotifier::new(b.as_raw_fd(), NotifierKind::Read).unwrap().downgrade());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_core::EventLoop::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_core::Buffer::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn is_send<T: Send>() {}
//! is_send::<sigloop_core::__private::IoRegistration>();
//! ```
//!
//! Signals and their connections are bound to their thread too:
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! send(sigloop_signals::Signal::<u32>::new());
//! ```
//!
//! ```compile_fail,E0277
//! fn send<T: Send>(_: T) {}
//! let signal = sigloop_signals::Signal::<u32>::new();
//! send(signal.connect(|_| {}));
//! ```
//!
//! The handle that crosses threads does compile:
//!
//! ```
//! fn send<T: Send>(_: T) {}
//! send(sigloop_core::EventDispatcher::handle());
//! ```
