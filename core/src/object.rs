//! What every sigloop object shares: deferred deletion and `destroyed`.
//!
//! `Lifecycle` is reachable from other sigloop crates (sockets, servers,
//! through `__private`) so that their objects follow the same rules; it is
//! not part of the API.

use std::cell::Cell;

use sigloop_signals::Signal;

use crate::dispatcher;

/// The deletion state of one object: the part of a `QObject` that
/// `deleteLater()` and `destroyed()` need.
///
/// An object embeds one, forwards `delete_later` to
/// [`delete_later`](Self::delete_later) with a closure that releases its
/// resources, and answers `is_deleted` from it. Deletion follows Qt's
/// loop-level rule (see [`EventDispatcher::send_posted_deletes`](crate::EventDispatcher::send_posted_deletes)).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use sigloop_core::EventDispatcher;
/// use sigloop_core::__private::Lifecycle;
///
/// let life = Rc::new(Lifecycle::new());
/// let _c = life.destroyed().connect(|_| println!("destroyed"));
/// let l = life.clone();
/// life.delete_later(move || {
///     if l.begin_delete() {
///         // release resources here
///         l.finish();
///     }
/// });
/// EventDispatcher::send_posted_deletes(); // forces it; normally the loop does
/// assert!(life.is_deleted());
/// ```
pub struct Lifecycle {
    deleted: Cell<bool>,
    delete_pending: Cell<bool>,
    destroyed: Signal<()>,
}

impl Lifecycle {
    /// A live object.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::__private::Lifecycle::new().is_deleted());
    /// ```
    pub fn new() -> Self {
        Lifecycle {
            deleted: Cell::new(false),
            delete_pending: Cell::new(false),
            destroyed: Signal::new(),
        }
    }

    /// Emitted by [`finish`](Self::finish). Qt: `QObject::destroyed()`.
    ///
    /// # Examples
    ///
    /// See [`Lifecycle`].
    pub fn destroyed(&self) -> &Signal<()> {
        &self.destroyed
    }

    /// Whether deletion has begun.
    ///
    /// # Examples
    ///
    /// See [`Lifecycle`].
    pub fn is_deleted(&self) -> bool {
        self.deleted.get()
    }

    /// Queues `delete` under Qt's nesting rule; a second call is a no-op.
    /// Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// See [`Lifecycle`].
    pub fn delete_later(&self, delete: impl FnOnce() + 'static) {
        if self.deleted.get() || self.delete_pending.replace(true) {
            return;
        }
        dispatcher::with_current(|inner| inner.post_delete(Box::new(delete)));
    }

    /// Marks the object deleted; returns `false` if it already was. The
    /// caller then releases its resources and calls [`finish`](Self::finish).
    ///
    /// # Examples
    ///
    /// ```
    /// let life = sigloop_core::__private::Lifecycle::new();
    /// assert!(life.begin_delete());
    /// assert!(!life.begin_delete());
    /// ```
    pub fn begin_delete(&self) -> bool {
        !self.deleted.replace(true)
    }

    /// Emits `destroyed` (even while signals are blocked, as Qt does) and
    /// then drops its connections.
    ///
    /// # Examples
    ///
    /// See [`Lifecycle`].
    pub fn finish(&self) {
        let blocked = self.destroyed.block_signals(false);
        self.destroyed.emit(&());
        self.destroyed.block_signals(blocked);
        self.destroyed.disconnect_all();
    }
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("deleted", &self.deleted.get())
            .field("delete_pending", &self.delete_pending.get())
            .finish()
    }
}
