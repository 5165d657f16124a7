//! The connection list behind a signal, and the emission algorithm.
//!
//! Emission rules (Qt's `doActivate`, GLib's `g_signal_emit`):
//! - slots run in connection order;
//! - a connection made during an emission is not called by it: the emission
//!   walks a snapshot of the list taken when it started;
//! - a connection broken during an emission is skipped if not yet reached;
//! - no list borrow is held while a slot runs: only the slot's own cell is
//!   borrowed, which is what skips it in a recursive emission (an `FnMut`
//!   cannot be entered twice).
//!
//! The list is an `Rc<Vec<Rc<Entry>>>`, copied on write. An emission
//! snapshots it by cloning the outer `Rc` (one borrow and one reference
//! count per emission, none per slot) and each entry keeps its state in
//! cells of its own, so walking the slots touches only the entries. A
//! connect made while an emission holds the snapshot copies the vector of
//! entry pointers, leaving the snapshot as it was. Dead entries are dropped
//! from the list once no emission holds it.

use std::any::TypeId;
use std::cell::{Cell, RefCell, RefMut};
use std::rc::Rc;

/// A slot as stored: returns `false` when its receiver is gone.
pub(crate) type SlotFn<T> = Box<dyn FnMut(&T) -> bool>;

/// What unique connections compare: receiver identity and slot type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotKey {
    pub(crate) receiver: usize,
    pub(crate) slot: TypeId,
}

struct Entry<T> {
    id: u64,
    single_shot: bool,
    key: SlotKey,
    live: Cell<bool>,
    /// Borrowed while the slot runs; `None` once the slot is dropped.
    slot: RefCell<Option<SlotFn<T>>>,
}

/// The entries, in connection order (so in id order).
type Entries<T> = Rc<Vec<Rc<Entry<T>>>>;

pub(crate) struct SlotList<T> {
    entries: RefCell<Entries<T>>,
    next_id: Cell<u64>,
    live: Cell<usize>,
    /// Dead entries wait for compaction.
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
            entries: RefCell::new(Rc::new(Vec::new())),
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
        let mut entries = self.entries.borrow_mut();
        if unique && entries.iter().any(|e| e.live.get() && e.key == key) {
            return None;
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        // Copies the entry pointers if an emission holds the current list.
        Rc::make_mut(&mut entries).push(Rc::new(Entry {
            id,
            single_shot,
            key,
            live: Cell::new(true),
            slot: RefCell::new(Some(slot)),
        }));
        self.live.set(self.live.get() + 1);
        Some(id)
    }

    #[inline]
    pub(crate) fn emit(&self, args: &T) {
        // Entries pushed from here on are not in the snapshot: not called.
        let emission = Emission {
            list: self,
            snapshot: Some(Rc::clone(&self.entries.borrow())),
        };
        if let Some(snapshot) = &emission.snapshot {
            for entry in snapshot.iter() {
                if entry.live.get() {
                    self.call(entry, args);
                }
            }
        }
        // `emission` compacts here, also on unwind from a panicking slot.
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
    /// whose receiver is gone: drops the slot, unborrowed since dropping it
    /// runs user destructors.
    #[cold]
    fn retire(&self, entry: &Entry<T>, keep: bool, mut cell: RefMut<'_, Option<SlotFn<T>>>) {
        if entry.live.get() {
            if keep {
                return;
            }
            self.mark_dead(entry);
        }
        let dropped = cell.take();
        drop(cell);
        drop(dropped);
    }

    fn mark_dead(&self, entry: &Entry<T>) {
        entry.live.set(false);
        self.live.set(self.live.get() - 1);
        self.dirty.set(true);
    }

    /// Marks `entry` dead and returns its slot for dropping. A running slot
    /// stays with its emission, which drops it when the call returns.
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
            entries.iter().filter_map(|e| self.kill(e)).collect()
        };
        drop(dropped);
        self.compact_if_idle();
        count
    }

    /// Drops dead entries from the list unless an emission holds it.
    fn compact_if_idle(&self) {
        let removed: Vec<Rc<Entry<T>>> = {
            let mut entries = self.entries.borrow_mut();
            if !self.dirty.get() || Rc::strong_count(&entries) > 1 {
                return;
            }
            self.dirty.set(false);
            let all = std::mem::take(Rc::make_mut(&mut entries));
            let (live, dead) = all.into_iter().partition(|e| e.live.get());
            *Rc::make_mut(&mut entries) = live;
            dead
        };
        // A dead entry may still hold a slot that panicked out of its call:
        // its destructor runs here, unborrowed.
        drop(removed);
    }

    fn find(&self, id: u64) -> Option<Rc<Entry<T>>> {
        // Ids grow with each push and compaction keeps the order.
        let entries = self.entries.borrow();
        let index = entries.binary_search_by_key(&id, |e| e.id).ok()?;
        Some(Rc::clone(&entries[index]))
    }
}

/// One emission's snapshot. Dropping it releases the snapshot, then
/// compacts the list if the emission left dead entries and no other one
/// holds the list, so a slot that died panicking is freed promptly too.
struct Emission<'a, T> {
    list: &'a SlotList<T>,
    snapshot: Option<Entries<T>>,
}

impl<T> Drop for Emission<'_, T> {
    #[inline]
    fn drop(&mut self) {
        drop(self.snapshot.take());
        if self.list.dirty.get() {
            self.list.compact_if_idle();
        }
    }
}

impl<T> ConnectionList for SlotList<T> {
    fn disconnect(&self, id: u64) -> bool {
        let Some(entry) = self.find(id).filter(|e| e.live.get()) else {
            return false;
        };
        drop(self.kill(&entry));
        self.compact_if_idle();
        true
    }

    fn is_connected(&self, id: u64) -> bool {
        self.find(id).is_some_and(|e| e.live.get())
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
