//! The connection list behind a signal, and the emission algorithm.
//!
//! Emission rules (Qt's `doActivate`, GLib's `g_signal_emit`):
//! - slots run in connection order;
//! - a connection made during an emission is not called by it (nor by an
//!   emission nested in it): it waits in `pending` until the outermost
//!   emission ends;
//! - a connection broken during an emission is skipped if not yet reached;
//! - a slot running is borrowed in its own cell, which is what skips it in
//!   a recursive emission (an `FnMut` cannot be entered twice).
//!
//! The entries live inline in one `Vec`, in id order. An emission holds a
//! shared borrow of it while slots run; everything a slot can do to the
//! list works through shared access (marking an entry dead, taking its
//! slot) or is deferred (a new connection goes to `pending`; dead entries
//! are removed when no emission holds the list), so re-entrant calls never
//! hit a borrow conflict. Slot closures are dropped only with no borrow of
//! the list held, since their destructors are user code.

use std::any::TypeId;
use std::cell::{Cell, RefCell, RefMut};

/// A slot as stored: returns `false` when its receiver is gone.
pub(crate) type SlotFn<T> = Box<dyn FnMut(&T) -> bool>;

/// What unique connections compare: receiver identity and slot type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotKey {
    pub(crate) receiver: usize,
    pub(crate) slot: TypeId,
}

impl SlotKey {
    /// The key folded to 64 bits: an entry stores this instead of the
    /// 24-byte key (signals are per object and entries per connection, so
    /// the bytes add up); unique connections compare digests.
    fn digest(self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.receiver.hash(&mut hasher);
        self.slot.hash(&mut hasher);
        hasher.finish()
    }
}

struct Entry<T> {
    id: u64,
    single_shot: bool,
    key: u64,
    live: Cell<bool>,
    /// Borrowed while the slot runs; `None` once the slot is dropped.
    slot: RefCell<Option<SlotFn<T>>>,
}

pub(crate) struct SlotList<T> {
    /// In connection order, so in id order.
    entries: RefCell<Vec<Entry<T>>>,
    /// Connections made while an emission held `entries`.
    /// Boxed: most lists never have one.
    // A `Vec` is 24 bytes in every signal's list; the box is 8 and the
    // vector only exists while an emission has connections waiting.
    #[allow(clippy::box_collection)]
    pending: RefCell<Option<Box<Vec<Entry<T>>>>>,
    next_id: Cell<u64>,
    live: Cell<usize>,
    /// Dead entries or pending connections wait for [`settle`](Self::settle).
    dirty: Cell<bool>,
    pub(crate) blocked: Cell<bool>,
}

/// The type-erased side of a list that a `Connection` talks to.
pub(crate) trait ConnectionList {
    fn disconnect(&self, id: u64) -> bool;
    fn is_connected(&self, id: u64) -> bool;
}

impl<T> SlotList<T> {
    pub(crate) fn new() -> Self {
        SlotList {
            entries: RefCell::new(Vec::new()),
            pending: RefCell::new(None),
            next_id: Cell::new(1),
            live: Cell::new(0),
            dirty: Cell::new(false),
            blocked: Cell::new(false),
        }
    }

    pub(crate) fn receivers(&self) -> usize {
        self.live.get()
    }

    /// Adds a slot; `None` if `unique` and an equal key is connected.
    pub(crate) fn push(
        &self,
        key: SlotKey,
        unique: bool,
        single_shot: bool,
        slot: SlotFn<T>,
    ) -> Option<u64> {
        let key = key.digest();
        if unique {
            let same = |e: &Entry<T>| e.live.get() && e.key == key;
            let pending = self.pending.borrow();
            let in_pending = pending.as_deref().is_some_and(|p| p.iter().any(same));
            if in_pending || self.entries.borrow().iter().any(same) {
                return None;
            }
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let entry = Entry {
            id,
            single_shot,
            key,
            live: Cell::new(true),
            slot: RefCell::new(Some(slot)),
        };
        match self.entries.try_borrow_mut() {
            Ok(mut entries) => {
                if entries.capacity() == 0 {
                    // Most signals have one slot: no room for four.
                    entries.reserve_exact(1);
                }
                entries.push(entry);
            }
            Err(_) => {
                // An emission is walking the list: join it when it ends.
                self.pending
                    .borrow_mut()
                    .get_or_insert_with(Box::default)
                    .push(entry);
                self.dirty.set(true);
            }
        }
        self.live.set(self.live.get() + 1);
        Some(id)
    }

    #[inline]
    pub(crate) fn emit(&self, args: &T) {
        // Declared first, dropped last: settles after the borrow ends, also
        // on unwind from a panicking slot.
        let _end = EmissionEnd(self);
        let entries = self.entries.borrow();
        for entry in entries.iter() {
            if entry.live.get() {
                self.call(entry, args);
            }
        }
    }

    #[inline]
    fn call(&self, entry: &Entry<T>, args: &T) {
        // A slot already running (recursive emission) is borrowed: skipped.
        let Ok(mut cell) = entry.slot.try_borrow_mut() else {
            return;
        };
        let Some(slot) = cell.as_mut() else {
            return;
        };
        if entry.single_shot {
            // Qt: the connection is removed before its first invocation.
            self.mark_dead(entry);
        }
        // On unwind the borrow ends and the slot stays in its entry.
        let keep = slot(args);
        if !keep || !entry.live.get() {
            self.retire(entry, keep, cell);
        }
    }

    /// After a call that left its entry dead (disconnected, single-shot) or
    /// whose receiver is gone: marks it dead. The slot stays in the entry
    /// and is dropped by `settle`, with no borrow of the list held.
    #[cold]
    fn retire(&self, entry: &Entry<T>, keep: bool, cell: RefMut<'_, Option<SlotFn<T>>>) {
        drop(cell);
        if entry.live.get() && !keep {
            self.mark_dead(entry);
        }
    }

    fn mark_dead(&self, entry: &Entry<T>) {
        entry.live.set(false);
        self.live.set(self.live.get() - 1);
        self.dirty.set(true);
    }

    /// Marks `entry` dead and returns its slot for dropping. A running slot
    /// stays with its entry, which `settle` drops after the call returns.
    fn kill(&self, entry: &Entry<T>) -> Option<SlotFn<T>> {
        if !entry.live.get() {
            return None;
        }
        self.mark_dead(entry);
        entry.slot.try_borrow_mut().ok()?.take()
    }

    /// Breaks every connection; an emission in progress calls no more slots.
    pub(crate) fn disconnect_all(&self) -> usize {
        let count = self.live.get();
        let dropped: Vec<SlotFn<T>> = {
            let entries = self.entries.borrow();
            let pending = self.pending.borrow();
            entries
                .iter()
                .chain(pending.as_deref().into_iter().flatten())
                .filter_map(|e| self.kill(e))
                .collect()
        };
        drop(dropped);
        self.settle();
        count
    }

    /// Once no emission holds the list: appends the pending connections
    /// and removes the dead entries, dropping their slots unborrowed.
    fn settle(&self) {
        if !self.dirty.get() {
            return;
        }
        let removed: Vec<Entry<T>> = {
            let Ok(mut entries) = self.entries.try_borrow_mut() else {
                return; // an outer emission settles when it ends
            };
            self.dirty.set(false);
            if let Some(mut pending) = self.pending.borrow_mut().take() {
                entries.append(&mut pending);
            }
            let mut removed = Vec::new();
            let mut index = 0;
            while index < entries.len() {
                if entries[index].live.get() {
                    index += 1;
                } else {
                    removed.push(entries.remove(index));
                }
            }
            removed
        };
        // A dead entry may still hold a slot (retired after its call, or
        // left by a panic): its destructor runs here, unborrowed.
        drop(removed);
    }

    /// Runs `f` on the entry with `id`, in the list or pending.
    fn with_entry<R>(&self, id: u64, f: impl FnOnce(&Entry<T>) -> R) -> Option<R> {
        {
            // Ids grow with each push and settling keeps the order.
            let entries = self.entries.borrow();
            if let Ok(index) = entries.binary_search_by_key(&id, |e| e.id) {
                return Some(f(&entries[index]));
            }
        }
        let pending = self.pending.borrow();
        pending
            .as_deref()
            .and_then(|p| p.iter().find(|e| e.id == id))
            .map(f)
    }
}

/// Settles the list when an emission ends.
struct EmissionEnd<'a, T>(&'a SlotList<T>);

impl<T> Drop for EmissionEnd<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.0.dirty.get() {
            self.0.settle();
        }
    }
}

impl<T> ConnectionList for SlotList<T> {
    fn disconnect(&self, id: u64) -> bool {
        let Some(slot) = self.with_entry(id, |e| e.live.get().then(|| self.kill(e))) else {
            return false;
        };
        let Some(slot) = slot else {
            return false;
        };
        drop(slot);
        self.settle();
        true
    }

    fn is_connected(&self, id: u64) -> bool {
        self.with_entry(id, |e| e.live.get()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::rc::Rc;

    use crate::{ConnectionType, Signal};

    /// Runs `on_drop` when dropped; captured by a slot, it runs when the
    /// slot closure is freed.
    struct OnDrop<F: FnMut()>(F);

    impl<F: FnMut()> Drop for OnDrop<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }

    #[test]
    fn a_panicking_single_shot_slot_is_freed_unborrowed_and_never_rerun() {
        let signal = Rc::new(Signal::<u32>::new());
        let runs = Rc::new(Cell::new(0));
        let freed = Rc::new(Cell::new(false));
        let (s, f) = (Rc::downgrade(&signal), freed.clone());
        // Its destructor connects to the same signal: it must run with no
        // borrow of the list held.
        let guard = OnDrop(move || {
            if let Some(signal) = s.upgrade() {
                let _ = signal.connect(|_| {});
            }
            f.set(true);
        });
        let r = runs.clone();
        let _once = signal
            .connect_with(ConnectionType::Direct.single_shot(), move |_| {
                let _ = &guard;
                r.set(r.get() + 1);
                panic!("slot failed");
            })
            .unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| signal.emit(&1)));
        assert!(result.is_err());
        assert!(freed.get(), "the dead slot was dropped as the panic left");
        assert_eq!(signal.receivers(), 1, "the destructor's connection");
        signal.emit(&2);
        assert_eq!(runs.get(), 1);
    }

    #[test]
    fn disconnected_while_running_in_a_recursive_emission() {
        let signal = Rc::new(Signal::<u32>::new());
        let log = Rc::new(RefCell::new(Vec::new()));
        let conn: Rc<RefCell<Option<crate::Connection>>> = Rc::new(RefCell::new(None));
        let (s, l, c) = (Rc::downgrade(&signal), log.clone(), conn.clone());
        let first = signal.connect(move |depth| {
            l.borrow_mut().push(format!("a{depth}"));
            if *depth == 0 {
                let signal = s.upgrade().unwrap();
                // Disconnects itself, then emits: skipped as running and dead.
                c.borrow().as_ref().unwrap().disconnect();
                signal.emit(&1);
            }
        });
        *conn.borrow_mut() = Some(first);
        let l = log.clone();
        let _b = signal.connect(move |depth| l.borrow_mut().push(format!("b{depth}")));
        signal.emit(&0);
        assert_eq!(*log.borrow(), ["a0", "b1", "b0"]);
        assert_eq!(signal.receivers(), 1);
        log.borrow_mut().clear();
        signal.emit(&5);
        assert_eq!(*log.borrow(), ["b5"]);
    }
}
