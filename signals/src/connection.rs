//! Connection handles (Qt: `QMetaObject::Connection`).

use std::fmt;
use std::rc::Weak;

use crate::slot_list::{ConnectionList, SlotList};

/// A handle to one signal–slot connection.
///
/// Dropping it does **not** disconnect (as in Qt); call
/// [`disconnect`](Self::disconnect), or turn it into a [`ScopedConnection`]
/// that disconnects on drop. It does not keep the signal alive.
///
/// Qt: `QMetaObject::Connection`.
///
/// # Examples
///
/// ```
/// use sigloop_signals::Signal;
///
/// let signal = Signal::<()>::new();
/// let conn = signal.connect(|_| println!("fired"));
/// assert!(conn.is_connected());
/// assert!(conn.disconnect());
/// assert!(!conn.is_connected());
/// ```
#[must_use = "a Connection is the only way to disconnect a closure; bind it or call .scoped()"]
pub struct Connection {
    list: Weak<dyn ConnectionList>,
    id: u64,
}

impl Connection {
    pub(crate) fn new<T: 'static>(list: Weak<SlotList<T>>, id: u64) -> Self {
        Connection { list, id }
    }

    /// Breaks the connection. Returns `false` if it was already broken.
    ///
    /// Safe to call from inside any slot, including the one it connects: a
    /// slot that is running finishes its call and is then dropped.
    ///
    /// Qt: `QObject::disconnect(const QMetaObject::Connection &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let conn = signal.connect(|_| {});
    /// assert!(conn.disconnect());
    /// assert!(!conn.disconnect());
    /// ```
    pub fn disconnect(&self) -> bool {
        self.list
            .upgrade()
            .is_some_and(|list| list.disconnect(self.id))
    }

    /// Whether the connection still exists (its signal is alive, it was not
    /// disconnected, a single-shot has not fired, its receiver is alive as
    /// far as the last emission saw).
    ///
    /// Qt: `QMetaObject::Connection::operator bool`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let conn = signal.connect(|_| {});
    /// drop(signal);
    /// assert!(!conn.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.list
            .upgrade()
            .is_some_and(|list| list.is_connected(self.id))
    }

    /// Wraps the handle in a guard that disconnects when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// {
    ///     let _guard = signal.connect(|_| {}).scoped();
    ///     assert_eq!(signal.receivers(), 1);
    /// }
    /// assert_eq!(signal.receivers(), 0);
    /// ```
    pub fn scoped(self) -> ScopedConnection {
        ScopedConnection(self)
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// A [`Connection`] that disconnects when dropped (opt-in RAII).
///
/// Qt has no direct equivalent; it is the guard cxx-qt and gtk-rs users
/// reach for.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let hits = Rc::new(Cell::new(0));
/// let signal = sigloop_signals::Signal::<()>::new();
/// let h = hits.clone();
/// let guard = signal.connect(move |_| h.set(h.get() + 1)).scoped();
/// signal.emit(&());
/// drop(guard);
/// signal.emit(&());
/// assert_eq!(hits.get(), 1);
/// ```
#[must_use = "dropping a ScopedConnection disconnects at once"]
#[derive(Debug)]
pub struct ScopedConnection(Connection);

impl ScopedConnection {
    /// The connection, still connected.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let guard = signal.connect(|_| {}).scoped();
    /// assert!(guard.connection().is_connected());
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.0
    }

    /// Gives the handle back without disconnecting.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let conn = signal.connect(|_| {}).scoped().release();
    /// assert!(conn.is_connected());
    /// ```
    pub fn release(mut self) -> Connection {
        // Leave an empty handle for `drop` to disconnect (a no-op). Skipping
        // `drop` instead would leak the handle's `Weak`, and with it the
        // signal's connection list allocation.
        let empty = Connection::new(Weak::<SlotList<()>>::new(), 0);
        std::mem::replace(&mut self.0, empty)
    }
}

impl Drop for ScopedConnection {
    fn drop(&mut self) {
        self.0.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use crate::Signal;

    #[test]
    fn release_leaves_no_stray_reference_to_the_slot_list() {
        let signal = Signal::<()>::new();
        let conn = signal.connect(|_| {});
        assert_eq!(conn.list.weak_count(), 1);
        let conn = conn.scoped().release();
        // A leaked `Weak` would keep the list's allocation alive for ever.
        assert_eq!(conn.list.weak_count(), 1);
        assert!(conn.is_connected());
    }
}
