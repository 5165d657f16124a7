//! How queued connections reach an event loop.
//!
//! This crate knows nothing of event loops. A queued slot call for a loop
//! that may run on another thread is handed to a [`ThreadQueue`], which
//! `sigloop-core`'s `LoopHandle` implements. (Calls queued for the calling
//! thread's own loop go through a hook that `sigloop-core` installs; it is
//! not part of the API.)

use std::fmt;

/// A call posted to an event loop that may run on another thread.
pub type SendCall = Box<dyn FnOnce() + Send>;

/// An event loop's queue that any thread may post to.
///
/// `sigloop-core`'s `LoopHandle` implements it. A connection made with
/// [`Signal::connect_to_loop`](crate::Signal::connect_to_loop) uses it to run
/// the slot on the loop's thread.
///
/// # Examples
///
/// ```
/// use sigloop_signals::queue::{QueueClosed, SendCall, ThreadQueue};
///
/// /// Runs every call at once, on the caller's thread.
/// #[derive(Clone)]
/// struct Inline;
/// impl ThreadQueue for Inline {
///     fn is_current_thread(&self) -> bool {
///         true
///     }
///     fn post(&self, call: SendCall) -> Result<(), QueueClosed> {
///         call();
///         Ok(())
///     }
/// }
/// assert!(Inline.post(Box::new(|| {})).is_ok());
/// ```
pub trait ThreadQueue: Send + Sync + 'static {
    /// Whether the loop behind this queue runs on the calling thread.
    fn is_current_thread(&self) -> bool;

    /// Posts `call` to run on the loop's thread.
    ///
    /// # Errors
    ///
    /// [`QueueClosed`] when the loop is gone; `call` is dropped unrun.
    fn post(&self, call: SendCall) -> Result<(), QueueClosed>;

    /// The loop's identity, compared by unique connections. Handles to the
    /// same loop must return the same value. The default, `0`, makes every
    /// queue look alike.
    fn identity(&self) -> usize {
        0
    }
}

/// The target loop of a [`ThreadQueue`] no longer exists.
///
/// # Examples
///
/// ```
/// use sigloop_signals::queue::QueueClosed;
/// assert_eq!(QueueClosed.to_string(), "the event loop is gone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueClosed;

impl fmt::Display for QueueClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is gone")
    }
}

impl std::error::Error for QueueClosed {}
