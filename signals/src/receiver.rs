//! Receivers (Qt's context objects), held weakly by their connections.

use std::rc::{Rc, Weak};

/// An object a connection can be bound to without keeping it alive.
///
/// A connection made with [`Signal::connect_to`](crate::Signal::connect_to)
/// keeps only `Self::Weak`. Each call upgrades it and lends the slot `&Self`;
/// once the upgrade fails the connection disconnects itself, which is Qt's
/// context-object rule ("the connection is gone with the receiver"). Passing
/// the *sender* as the receiver is how a slot reaches its sender without a
/// strong capture.
///
/// `Rc<T>` implements it; every sigloop object handle (timers, sockets, …)
/// does too, and reports itself gone once deleted with `delete_later`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sigloop_signals::{Receiver, Signal};
///
/// let counter = Rc::new(Cell::new(0));
/// let signal = Signal::<i32>::new();
/// let conn = signal.connect_to(&counter, |counter, n| counter.set(counter.get() + n));
/// signal.emit(&5);
/// assert_eq!(counter.get(), 5);
///
/// drop(counter); // the receiver is gone, so is the connection
/// signal.emit(&5);
/// assert!(!conn.is_connected());
/// ```
pub trait Receiver: Sized + 'static {
    /// The weak form kept by the connection.
    type Weak: 'static;

    /// Makes the weak form.
    fn downgrade(&self) -> Self::Weak;

    /// Gets the object back, or `None` once it is gone.
    fn upgrade(weak: &Self::Weak) -> Option<Self>;

    /// The object's identity, compared by unique connections.
    fn identity(&self) -> usize;
}

impl<T: 'static> Receiver for Rc<T> {
    type Weak = Weak<T>;

    fn downgrade(&self) -> Weak<T> {
        Rc::downgrade(self)
    }

    fn upgrade(weak: &Weak<T>) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        Rc::as_ptr(self).cast::<()>() as usize
    }
}
