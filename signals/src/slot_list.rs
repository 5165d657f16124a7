//! The connection list behind a signal, and the emission algorithm.
//!
//! Emission rules (Qt's `doActivate`, GLib's `g_signal_emit`):
//! - slots run in connection order;
//! - a connection made during an emission is not called by it: the emission
//!   only walks the entries that existed when it started;
//! - a connection broken during an emission is skipped if not yet reached;
//! - no borrow is held while a slot runs: the slot is taken out of its entry,
//!   called, and put back. Entries are never removed while an emission is in
//!   progress (only marked dead), so indices stay valid; the list is
//!   compacted when the outermost emission ends.

use std::any::TypeId;
use std::cell::{Cell, RefCell};

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
    live: bool,
    single_shot: bool,
    key: SlotKey,
    /// `None` while the slot runs (or once it is dropped).
    slot: Option<SlotFn<T>>,
}

pub(crate) struct SlotList<T> {
    entries: RefCell<Vec<Entry<T>>>,
    next_id: Cell<u64>,
    live: Cell<usize>,
    /// How many emissions of this signal are in progress (recursion nests).
    depth: Cell<u32>,
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
            entries: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            live: Cell::new(0),
            depth: Cell::new(0),
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
        if unique && entries.iter().any(|e| e.live && e.key == key) {
            return None;
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        entries.push(Entry {
            id,
            live: true,
            single_shot,
            key,
            slot: Some(slot),
        });
        self.live.set(self.live.get() + 1);
        Some(id)
    }

    pub(crate) fn emit(&self, args: &T) {
        // Entries pushed from here on have larger indices: not called.
        let end = self.entries.borrow().len();
        let _depth = DepthGuard::enter(self);
        for index in 0..end {
            let Some(slot) = self.take_slot(index) else {
                continue;
            };
            let mut running = Running {
                list: self,
                index,
                slot: Some(slot),
                keep: true,
            };
            if let Some(slot) = running.slot.as_mut() {
                running.keep = slot(args);
            }
            // `running` puts the slot back here, also when the slot panicked.
        }
    }

    fn take_slot(&self, index: usize) -> Option<SlotFn<T>> {
        let mut entries = self.entries.borrow_mut();
        let entry = entries.get_mut(index)?;
        if !entry.live {
            return None;
        }
        // A slot already running (recursive emission) is skipped: an `FnMut`
        // cannot be entered twice.
        let slot = entry.slot.take()?;
        if entry.single_shot {
            // Qt: the connection is removed before its first invocation.
            entry.live = false;
            self.live.set(self.live.get() - 1);
            self.dirty.set(true);
        }
        Some(slot)
    }

    fn put_back(&self, index: usize, slot: SlotFn<T>, keep: bool) {
        let dropped = {
            let mut entries = self.entries.borrow_mut();
            match entries.get_mut(index) {
                Some(entry) if entry.live && keep => {
                    entry.slot = Some(slot);
                    None
                }
                Some(entry) => {
                    if entry.live {
                        // The receiver went away during the call.
                        entry.live = false;
                        self.live.set(self.live.get() - 1);
                        self.dirty.set(true);
                    }
                    Some(slot)
                }
                None => Some(slot),
            }
        };
        // Dropping a closure runs user destructors: no borrow held.
        drop(dropped);
    }

    /// Marks `index` dead and returns its slot for dropping.
    fn kill(&self, entries: &mut [Entry<T>], index: usize) -> Option<SlotFn<T>> {
        let entry = &mut entries[index];
        if !entry.live {
            return None;
        }
        entry.live = false;
        self.live.set(self.live.get() - 1);
        self.dirty.set(true);
        entry.slot.take()
    }

    /// Breaks every connection; an emission in progress calls no more slots.
    pub(crate) fn disconnect_all(&self) -> usize {
        let count = self.live.get();
        let dropped: Vec<SlotFn<T>> = {
            let mut entries = self.entries.borrow_mut();
            (0..entries.len())
                .filter_map(|i| self.kill(&mut entries, i))
                .collect()
        };
        drop(dropped);
        self.compact_if_idle();
        count
    }

    fn compact_if_idle(&self) {
        if self.depth.get() == 0 && self.dirty.get() {
            self.dirty.set(false);
            self.entries.borrow_mut().retain(|e| e.live);
        }
    }

    fn find(&self, entries: &[Entry<T>], id: u64) -> Option<usize> {
        // Ids grow with each push and compaction keeps the order.
        entries.binary_search_by_key(&id, |e| e.id).ok()
    }
}

impl<T> ConnectionList for SlotList<T> {
    fn disconnect(&self, id: u64) -> bool {
        let dropped = {
            let mut entries = self.entries.borrow_mut();
            match self.find(&entries, id) {
                Some(index) if entries[index].live => Some(self.kill(&mut entries, index)),
                _ => None,
            }
        };
        let found = dropped.is_some();
        drop(dropped);
        self.compact_if_idle();
        found
    }

    fn is_connected(&self, id: u64) -> bool {
        let entries = self.entries.borrow();
        self.find(&entries, id).is_some_and(|i| entries[i].live)
    }
}

/// Counts emission depth; compacts when the outermost emission ends, also
/// on unwind from a panicking slot.
struct DepthGuard<'a, T>(&'a SlotList<T>);

impl<'a, T> DepthGuard<'a, T> {
    fn enter(list: &'a SlotList<T>) -> Self {
        list.depth.set(list.depth.get() + 1);
        DepthGuard(list)
    }
}

impl<T> Drop for DepthGuard<'_, T> {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get() - 1);
        self.0.compact_if_idle();
    }
}

/// A slot taken out of its entry while it runs; put back on drop.
struct Running<'a, T> {
    list: &'a SlotList<T>,
    index: usize,
    slot: Option<SlotFn<T>>,
    keep: bool,
}

impl<T> Drop for Running<'_, T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.list.put_back(self.index, slot, self.keep);
        }
    }
}
