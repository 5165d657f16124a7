//! What every sigloop object shares: deferred deletion, `destroyed`, and
//! the rule that the last application handle going away is Qt's `delete`.
//!
//! `Lifecycle`, `Object` and `Handle` are reachable from other sigloop
//! crates (sockets, servers, through `__private`) so that their objects
//! follow the same rules with the same code; they are not part of the API.
//!
//! One mechanism serves every object (timers, notifiers, sockets,
//! servers): the object embeds a [`Lifecycle`], which counts the
//! application's handles; the public type holds a [`Handle`], whose
//! `Clone` counts one more and whose `Drop` deletes the object when the
//! count reaches zero. The loop and internal callbacks hold the object
//! through a plain `Rc` or `Weak`, which does not count, so an object the
//! application let go is deleted even while the loop still refers to it.

use std::cell::Cell;
use std::ops::Deref;
use std::rc::{Rc, Weak};

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
    /// Application handles ([`Handle`]s) alive.
    handles: Cell<u32>,
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
            handles: Cell::new(0),
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

impl Lifecycle {
    /// Counts one more application handle.
    fn acquire(&self) {
        self.handles.set(self.handles.get().saturating_add(1));
    }

    /// Counts one handle fewer; `true` when it was the last.
    fn release(&self) -> bool {
        let left = self.handles.get().saturating_sub(1);
        self.handles.set(left);
        left == 0
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

/// The part of a `QObject` that a [`Handle`] needs: its [`Lifecycle`] and
/// what Qt's `delete` does to it.
///
/// # Examples
///
/// See [`Handle`].
pub trait Object {
    /// The object's deletion state, which also counts its handles.
    fn lifecycle(&self) -> &Lifecycle;

    /// Qt's `delete`: release resources, emit `destroyed`, drop every
    /// connection. Called when the last [`Handle`] goes away, and possibly
    /// again by `delete_later`: a second call must do nothing (guard it
    /// with [`Lifecycle::begin_delete`]).
    fn delete_now(&self);
}

/// A counted application handle to an object: `Clone` counts one more,
/// `Drop` one fewer, and the last one going deletes the object as Qt's
/// `delete` does ([`Object::delete_now`]).
///
/// Every sigloop object type (timers, notifiers, sockets, servers) is a
/// thin public wrapper around a `Handle` to its inner state. The loop and
/// internal callbacks hold [`rc`](Self::rc) clones or `Weak`s, which do not
/// count. A `Handle` dereferences to the object.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sigloop_core::__private::{Handle, Lifecycle, Object};
///
/// struct Inner {
///     life: Lifecycle,
///     open: Cell<bool>,
/// }
///
/// impl Object for Inner {
///     fn lifecycle(&self) -> &Lifecycle {
///         &self.life
///     }
///     fn delete_now(&self) {
///         if self.life.begin_delete() {
///             self.open.set(false);
///             self.life.finish();
///         }
///     }
/// }
///
/// let inner = Rc::new(Inner { life: Lifecycle::new(), open: Cell::new(true) });
/// let first = Handle::new(inner.clone());
/// let second = first.clone();
/// drop(first);
/// assert!(inner.open.get()); // a handle is left
/// drop(second);
/// assert!(!inner.open.get()); // the last one deleted it
/// assert!(Handle::upgrade(&Rc::downgrade(&inner)).is_none());
/// ```
pub struct Handle<T: Object> {
    object: Rc<T>,
}

impl<T: Object> Handle<T> {
    /// Counts a new application handle to `object`.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    pub fn new(object: Rc<T>) -> Self {
        object.lifecycle().acquire();
        Handle { object }
    }

    /// A new handle if the object exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`Handle`].
    pub fn upgrade(weak: &Weak<T>) -> Option<Self> {
        let object = weak.upgrade()?;
        (!object.lifecycle().is_deleted()).then(|| Handle::new(object))
    }

    /// A weak reference that does not count.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::rc::Rc;
    /// # use sigloop_core::__private::{Handle, Lifecycle, Object};
    /// # struct Inner(Lifecycle);
    /// # impl Object for Inner {
    /// #     fn lifecycle(&self) -> &Lifecycle { &self.0 }
    /// #     fn delete_now(&self) { if self.0.begin_delete() { self.0.finish(); } }
    /// # }
    /// let handle = Handle::new(Rc::new(Inner(Lifecycle::new())));
    /// let weak = handle.downgrade();
    /// assert!(Handle::upgrade(&weak).is_some());
    /// ```
    pub fn downgrade(&self) -> Weak<T> {
        Rc::downgrade(&self.object)
    }

    /// The object as a plain `Rc`, which does not count: what the loop and
    /// internal callbacks keep.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::rc::Rc;
    /// # use sigloop_core::__private::{Handle, Lifecycle, Object};
    /// # struct Inner(Lifecycle);
    /// # impl Object for Inner {
    /// #     fn lifecycle(&self) -> &Lifecycle { &self.0 }
    /// #     fn delete_now(&self) { if self.0.begin_delete() { self.0.finish(); } }
    /// # }
    /// let handle = Handle::new(Rc::new(Inner(Lifecycle::new())));
    /// let uncounted = Rc::clone(handle.rc());
    /// drop(handle); // the last handle: deleted, though `uncounted` lives
    /// assert!(uncounted.lifecycle().is_deleted());
    /// ```
    pub fn rc(&self) -> &Rc<T> {
        &self.object
    }

    /// The object's address: the identity of a receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::rc::Rc;
    /// # use sigloop_core::__private::{Handle, Lifecycle, Object};
    /// # struct Inner(Lifecycle);
    /// # impl Object for Inner {
    /// #     fn lifecycle(&self) -> &Lifecycle { &self.0 }
    /// #     fn delete_now(&self) { if self.0.begin_delete() { self.0.finish(); } }
    /// # }
    /// let handle = Handle::new(Rc::new(Inner(Lifecycle::new())));
    /// assert_eq!(handle.as_ptr(), handle.clone().as_ptr());
    /// ```
    pub fn as_ptr(&self) -> *const T {
        Rc::as_ptr(&self.object)
    }
}

impl<T: Object> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle::new(Rc::clone(&self.object))
    }
}

/// The last handle going deletes the object (Qt's `delete`).
impl<T: Object> Drop for Handle<T> {
    fn drop(&mut self) {
        if self.object.lifecycle().release() {
            self.object.delete_now();
        }
    }
}

impl<T: Object> Deref for Handle<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T: Object> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("handles", &self.object.lifecycle().handles.get())
            .finish()
    }
}
