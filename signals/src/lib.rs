//! Typed, Qt-style signals and slots.
//!
//! A [`Signal<T>`] is a list of slots (closures taking `&T`). [`emit`](Signal::emit)
//! calls them in connection order. It is what `QObject::connect` and `emit`
//! give a Qt program, without a meta-object compiler: a signal is a plain
//! field of the struct that emits it.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use sigloop_signals::Signal;
//!
//! struct Thermometer {
//!     changed: Signal<f64>,
//! }
//!
//! let seen = Rc::new(RefCell::new(Vec::new()));
//! let thermometer = Thermometer { changed: Signal::new() };
//! let s = seen.clone();
//! let _conn = thermometer.changed.connect(move |celsius| s.borrow_mut().push(*celsius));
//! thermometer.changed.emit(&21.5);
//! assert_eq!(*seen.borrow(), [21.5]);
//! ```
//!
//! # Emission rules
//!
//! - Slots run in the order they were connected.
//! - A slot connected during an emission is not called by that emission,
//!   nor by an emission nested in it (Qt would call it from the nested one);
//!   it is called from the next emission on.
//! - A slot disconnected during an emission, before it is reached, is not
//!   called; one disconnected while it runs finishes its call.
//! - A signal may be dropped from inside one of its own slots; the emission
//!   then stops after that slot.
//! - Recursive emission (a slot emitting the same signal) calls every other
//!   slot again but skips the slots that are already running: an `FnMut`
//!   cannot be entered twice. Qt would re-enter them.
//! - No library borrow is held while a slot runs, so a slot may connect,
//!   disconnect, block, emit or drop anything. A panicking slot unwinds out
//!   of `emit`; the signal stays fully usable.
//!
//! # Connection kinds
//!
//! [`Signal::connect`] makes a direct connection. [`Signal::connect_with`],
//! [`Signal::connect_to`], [`Signal::connect_to_with`] and
//! [`Signal::connect_to_loop`] add Qt's connection types, the unique and
//! single-shot flags, weakly held receivers (Qt's context objects) and
//! delivery to another thread's loop. Queued calls go through the
//! [`queue`] traits, which `sigloop-core` implements.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod connection;
mod connection_type;
mod future;
mod local_queue;
pub mod queue;
mod receiver;
mod serialized;
mod signal;
mod slot_list;

pub use connection::{Connection, ScopedConnection};
pub use connection_type::{ConnectError, ConnectOptions, ConnectionType};
pub use future::{Emissions, NextEmission};
pub use receiver::Receiver;
pub use signal::Signal;

/// Hooks that `sigloop-core` uses to receive queued calls for the calling
/// thread's loop. Not part of the API: public only because Rust has no
/// visibility across a workspace's crates. Applications must not use it;
/// it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::local_queue::{install_local_queue, LocalCall, LocalQueue};
}
