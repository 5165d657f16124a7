//! The connection list behind a signal, and the emission algorithm.
//!
//! Emission rules (Qt's `doActivate`, GLib's `g_signal_emit`):
//! - slots run in connection order;
//! - a connection made during an emission is not called by it (nor by an
//!   emission nested in it): it waits in `pending` until the outermost
//!   emission ends;
//! - a connection broken during an emission is skipped if not yet reached;
//! - a slot running is taken out of its entry for the call and put back
//!   after it (also when it panics), which is what skips it in a recursive
//!   emission (an `FnMut` cannot be entered twice).
//!
//! Most signals have one connection, so the entries are [`Entries`]: none,
//! one stored inline in the list's own allocation, or a `Vec` from the
//! second connection on, in id order. A signal with one connection thus
//! costs two allocations: the list and the slot closure. An emission holds
//! a shared borrow of the entries while slots run; everything a slot can do
//! to the list works through shared access (marking an entry dead, taking
//! its slot) or is deferred (a new connection goes to `pending`; dead
//! entries are removed when no emission holds the list), so re-entrant
//! calls never hit a borrow conflict. Slot closures are dropped only with
//! no borrow of the list held, since their destructors are user code.
//!
//! Sizes (64-bit): an [`Entry`] is 32 bytes and [`Entries`] too (the
//! variant lives in `single_shot`'s spare bit patterns); the list is 56,
//! 72 with the `Rc`'s two counts, which glibc serves from an 80-byte chunk.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::mem;

/// A slot as stored.
pub(crate) type SlotFn<T> = Box<dyn Slot<T>>;

/// What a list calls: a closure, or a closure bound to a receiver.
pub(crate) trait Slot<T> {
    /// Runs the slot; `false` when its receiver is gone.
    fn call(&mut self, args: &T) -> bool;

    /// The identity of the live receiver the slot is bound to, if any
    /// (Qt's `disconnect(sender, nullptr, receiver, nullptr)` asks it).
    fn receiver(&self) -> Option<usize> {
        None
    }
}

/// Boxes a closure as a slot (the bound makes its argument's lifetime
/// general, which `Box::new` alone does not infer).
pub(crate) fn slot_fn<T, F: FnMut(&T) -> bool + 'static>(f: F) -> SlotFn<T> {
    Box::new(f)
}

impl<T, F: FnMut(&T) -> bool> Slot<T> for F {
    #[inline]
    fn call(&mut self, args: &T) -> bool {
        self(args)
    }
}

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
        let mut hasher = Mix(0);
        self.receiver.hash(&mut hasher);
        self.slot.hash(&mut hasher);
        hasher.finish()
    }
}

/// The digest's hasher: each word through splitmix64's finalizer. Every
/// connection computes one, so SipHash's cost (a tenth of the work of
/// connecting a slot) buys nothing here: the inputs are an address and a
/// type id, not attacker-chosen, and a collision would only make a
/// `unique` connect refuse a pair that differs.
struct Mix(u64);

impl Mix {
    fn word(&mut self, word: u64) {
        let mut z = (self.0 ^ word).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }
}

impl std::hash::Hasher for Mix {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.word(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.word(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A connection id, unique in its list for the list's whole life (a
/// `Connection` handle outlives its connection, so an id is never reused).
///
/// 48 bits in three `u16`s, most significant first so that the derived
/// order is the numeric order. Six bytes is what an [`Entry`] and the list
/// have left after their other fields: a `u64` would cost 8 more bytes in
/// each, a `u32` would run out after 4 billion connections, 12 hours of a
/// server connecting a single-shot slot per request at 100 000 a second.
/// 2^48 lasts 89 years at that rate; a list that does exhaust them refuses
/// further connections with a panic (see [`SlotList::push`]) rather than
/// hand out an id an old handle may still hold.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Id([u16; 3]);

impl Id {
    /// Below every id handed out: the list's `last_id` before any push.
    const ZERO: Id = Id([0; 3]);

    /// `None` for numbers of more than 48 bits, which no entry has.
    fn from_u64(n: u64) -> Option<Id> {
        if n >> 48 != 0 {
            return None;
        }
        Some(Id([(n >> 32) as u16, (n >> 16) as u16, n as u16]))
    }

    fn to_u64(self) -> u64 {
        let [high, middle, low] = self.0;
        (u64::from(high) << 32) | (u64::from(middle) << 16) | u64::from(low)
    }

    /// The id after this one; `None` once the 48 bits are used up.
    fn next(self) -> Option<Id> {
        Id::from_u64(self.to_u64() + 1)
    }
}

struct Entry<T> {
    /// Taken out while the slot runs (see [`Running`]); `None` also once
    /// the slot is dropped.
    slot: Cell<Option<SlotFn<T>>>,
    key: u64,
    id: Id,
    live: Cell<bool>,
    /// A plain `bool`, not a `Cell`: its spare bit patterns are what tell
    /// the [`Entries`] variants apart, with no tag word.
    single_shot: bool,
}

/// The entries of a list, in id order. `Many` holds two or more once the
/// list is settled: settling goes back to `One` or `Empty` (freeing the
/// vector) when disconnections leave fewer.
enum Entries<T> {
    Empty,
    One(Entry<T>),
    Many(Vec<Entry<T>>),
}

impl<T> Entries<T> {
    #[inline]
    fn as_slice(&self) -> &[Entry<T>] {
        match self {
            Entries::Empty => &[],
            Entries::One(entry) => std::slice::from_ref(entry),
            Entries::Many(entries) => entries,
        }
    }

    fn push(&mut self, entry: Entry<T>) {
        *self = match mem::replace(self, Entries::Empty) {
            Entries::Empty => Entries::One(entry),
            Entries::One(first) => Entries::Many(vec![first, entry]),
            Entries::Many(mut entries) => {
                entries.push(entry);
                Entries::Many(entries)
            }
        };
    }

    /// Appends `pending` and moves the dead entries out. The caller drops
    /// what it returns once it holds no borrow of the list: a dead entry may
    /// still hold its slot.
    fn settle(&mut self, pending: Vec<Entry<T>>) -> Entries<T> {
        for entry in pending {
            self.push(entry);
        }
        let mut removed = Entries::Empty;
        match self {
            Entries::Empty => {}
            Entries::One(entry) => {
                if !entry.live.get() {
                    removed = mem::replace(self, Entries::Empty);
                }
            }
            Entries::Many(entries) => {
                let mut index = 0;
                while index < entries.len() {
                    if entries[index].live.get() {
                        index += 1;
                    } else {
                        removed.push(entries.remove(index));
                    }
                }
                if entries.len() < 2 {
                    *self = match entries.pop() {
                        Some(entry) => Entries::One(entry),
                        None => Entries::Empty,
                    };
                }
            }
        }
        removed
    }
}

pub(crate) struct SlotList<T> {
    /// In connection order, so in id order.
    entries: RefCell<Entries<T>>,
    /// What an emission in progress left for when it ends: connections
    /// made meanwhile, receivers disconnected while their slots ran.
    /// Boxed: most lists never have any. A `Cell`, taken out and put back
    /// by [`with_pending`](Self::with_pending), so 8 bytes with no borrow
    /// flag.
    pending: Cell<Option<Box<Pending<T>>>>,
    /// The id of the latest connection.
    last_id: Cell<Id>,
    /// Dead entries or pending connections wait for [`settle`](Self::settle).
    dirty: Cell<bool>,
    pub(crate) blocked: Cell<bool>,
}

/// See [`SlotList::pending`].
#[derive(Default)]
struct Pending<T> {
    /// Connections made while an emission held the list.
    entries: Vec<Entry<T>>,
    /// Receivers whose connections were broken while some of their slots
    /// ran (out of their entries, so not recognisable then): checked again
    /// when the outermost emission ends.
    receivers: Vec<usize>,
}

/// The type-erased side of a list that a `Connection` talks to.
pub(crate) trait ConnectionList {
    fn disconnect(&self, id: u64) -> bool;
    fn is_connected(&self, id: u64) -> bool;
}

impl<T> SlotList<T> {
    pub(crate) fn new() -> Self {
        SlotList {
            entries: RefCell::new(Entries::Empty),
            pending: Cell::new(None),
            last_id: Cell::new(Id::ZERO),
            dirty: Cell::new(false),
            blocked: Cell::new(false),
        }
    }

    /// Counts the live entries. The list keeps no count: one would take it
    /// past 56 bytes (an 80-byte chunk), for a rarely asked question.
    pub(crate) fn receivers(&self) -> usize {
        let live = |entries: &[Entry<T>]| entries.iter().filter(|e| e.live.get()).count();
        live(self.entries.borrow().as_slice()) + self.with_pending(live)
    }

    /// Whether any entry is live: stops at the first.
    pub(crate) fn has_receivers(&self) -> bool {
        let any = |entries: &[Entry<T>]| entries.iter().any(|e| e.live.get());
        any(self.entries.borrow().as_slice()) || self.with_pending(any)
    }

    /// Runs `f` on the pending connections (empty if none). `f` must not
    /// run user code: the vector is out of its cell meanwhile.
    fn with_pending<R>(&self, f: impl FnOnce(&[Entry<T>]) -> R) -> R {
        let pending = self.pending.take();
        let result = f(pending.as_deref().map_or(&[], |p| p.entries.as_slice()));
        self.pending.set(pending);
        result
    }

    /// Changes the pending state, boxing it on first use. `f` must not run
    /// user code.
    fn update_pending(&self, f: impl FnOnce(&mut Pending<T>)) {
        let mut pending = self.pending.take().unwrap_or_else(|| {
            Box::new(Pending {
                entries: Vec::new(),
                receivers: Vec::new(),
            })
        });
        f(&mut pending);
        self.pending.set(Some(pending));
        self.dirty.set(true);
    }

    /// Adds a slot; `None` if `unique` and an equal key is connected.
    ///
    /// # Panics
    ///
    /// When the list has made 2^48 - 1 connections (see [`Id`]).
    pub(crate) fn push(
        &self,
        key: SlotKey,
        unique: bool,
        single_shot: bool,
        slot: SlotFn<T>,
    ) -> Option<u64> {
        let key = key.digest();
        if unique {
            let same = |entries: &[Entry<T>]| entries.iter().any(|e| e.live.get() && e.key == key);
            if same(self.entries.borrow().as_slice()) || self.with_pending(same) {
                return None;
            }
        }
        let Some(id) = self.last_id.get().next() else {
            panic!("a signal has made 2^48 - 1 connections: connection ids are exhausted");
        };
        self.last_id.set(id);
        let entry = Entry {
            slot: Cell::new(Some(slot)),
            key,
            id,
            live: Cell::new(true),
            single_shot,
        };
        match self.entries.try_borrow_mut() {
            Ok(mut entries) => entries.push(entry),
            Err(_) => {
                // An emission is walking the list: join it when it ends.
                self.update_pending(|pending| pending.entries.push(entry));
            }
        }
        Some(id.to_u64())
    }

    #[inline]
    pub(crate) fn emit(&self, args: &T) {
        // Declared first, dropped last: settles after the borrow ends, also
        // on unwind from a panicking slot.
        let _end = EmissionEnd(self);
        let entries = self.entries.borrow();
        for entry in entries.as_slice() {
            if entry.live.get() {
                self.call(entry, args);
            }
        }
    }

    #[inline]
    fn call(&self, entry: &Entry<T>, args: &T) {
        // A slot already running (recursive emission) is out of its entry:
        // skipped.
        let Some(slot) = entry.slot.take() else {
            return;
        };
        if entry.single_shot {
            // Qt: the connection is removed before its first invocation.
            self.mark_dead(entry);
        }
        let mut running = Running {
            home: &entry.slot,
            slot: Some(slot),
        };
        let keep = running.call(args);
        // The slot goes back even if its entry died during the call: it is
        // dropped by `settle`, with no borrow of the list held.
        drop(running);
        if !keep && entry.live.get() {
            // Its receiver is gone.
            self.mark_dead(entry);
        }
    }

    fn mark_dead(&self, entry: &Entry<T>) {
        entry.live.set(false);
        self.dirty.set(true);
    }

    /// Marks `entry` dead and returns its slot for dropping. A running slot
    /// is out of its entry: it goes back after the call, and `settle` drops
    /// it.
    fn kill(&self, entry: &Entry<T>) -> Option<SlotFn<T>> {
        if !entry.live.get() {
            return None;
        }
        self.mark_dead(entry);
        entry.slot.take()
    }

    /// Breaks every connection; an emission in progress calls no more slots.
    pub(crate) fn disconnect_all(&self) -> usize {
        let mut count = 0;
        // Most lists hold one slot: no vector for it (an object's deletion
        // disconnects each of its signals).
        let mut first: Option<SlotFn<T>> = None;
        let mut dropped: Vec<SlotFn<T>> = Vec::new();
        {
            let mut kill_all = |entries: &[Entry<T>]| {
                for entry in entries.iter().filter(|e| e.live.get()) {
                    count += 1;
                    if let Some(slot) = self.kill(entry) {
                        match first {
                            None => first = Some(slot),
                            Some(_) => dropped.push(slot),
                        }
                    }
                }
            };
            kill_all(self.entries.borrow().as_slice());
            self.with_pending(kill_all);
        }
        drop(first);
        drop(dropped);
        self.settle();
        count
    }

    /// Breaks every connection bound to the receiver with `identity`;
    /// returns how many were broken at once. A slot of that receiver that
    /// is running (this is called from it, or from what it calls) is out
    /// of its entry: it is recognised, and its connection broken, when the
    /// outermost emission of this list ends, and is not counted.
    pub(crate) fn disconnect_receiver(&self, identity: usize) -> usize {
        let mut dropped: Vec<SlotFn<T>> = Vec::new();
        let mut running = false;
        {
            let mut check = |entries: &[Entry<T>]| {
                for entry in entries.iter().filter(|e| e.live.get()) {
                    match entry.slot.take() {
                        Some(slot) if slot.receiver() == Some(identity) => {
                            self.mark_dead(entry);
                            dropped.push(slot);
                        }
                        Some(slot) => entry.slot.set(Some(slot)),
                        None => running = true,
                    }
                }
            };
            check(self.entries.borrow().as_slice());
            self.with_pending(check);
        }
        if running {
            self.update_pending(|pending| pending.receivers.push(identity));
        }
        let count = dropped.len();
        drop(dropped);
        self.settle();
        count
    }

    /// At the end of the outermost emission: breaks the connections of
    /// the receivers disconnected while their slots ran (see
    /// [`disconnect_receiver`](Self::disconnect_receiver)). Done here, not
    /// after each call, so that an emission pays nothing for it.
    fn disconnect_pending_receivers(&self) {
        let receivers = match self.pending.take() {
            Some(mut pending) => {
                let receivers = std::mem::take(&mut pending.receivers);
                self.pending.set(Some(pending));
                receivers
            }
            None => return,
        };
        if receivers.is_empty() {
            return;
        }
        let mut dropped: Vec<SlotFn<T>> = Vec::new();
        {
            let entries = self.entries.borrow();
            for entry in entries.as_slice().iter().filter(|e| e.live.get()) {
                if let Some(slot) = entry.slot.take() {
                    if slot.receiver().is_some_and(|r| receivers.contains(&r)) {
                        self.mark_dead(entry);
                        dropped.push(slot);
                    } else {
                        entry.slot.set(Some(slot));
                    }
                }
            }
        }
        drop(dropped);
    }

    /// Once no emission holds the list: appends the pending connections
    /// and removes the dead entries, dropping their slots unborrowed.
    fn settle(&self) {
        if !self.dirty.get() {
            return;
        }
        if self.entries.try_borrow_mut().is_err() {
            return; // an outer emission settles when it ends
        }
        self.disconnect_pending_receivers();
        let removed = {
            let Ok(mut entries) = self.entries.try_borrow_mut() else {
                return; // an outer emission settles when it ends
            };
            self.dirty.set(false);
            let pending = self.pending.take().map_or_else(Vec::new, |p| p.entries);
            entries.settle(pending)
        };
        // A dead entry may still hold a slot (put back after its call, or
        // left by a panic): its destructor runs here, unborrowed.
        drop(removed);
    }

    /// Runs `f` on the entry with `id`, in the list or pending.
    fn with_entry<R>(&self, id: u64, f: impl FnOnce(&Entry<T>) -> R) -> Option<R> {
        let id = Id::from_u64(id)?;
        {
            // Ids grow with each push and settling keeps the order.
            let entries = self.entries.borrow();
            let entries = entries.as_slice();
            if let Ok(index) = entries.binary_search_by_key(&id, |e| e.id) {
                return Some(f(&entries[index]));
            }
        }
        self.with_pending(|pending| pending.iter().find(|e| e.id == id).map(f))
    }
}

/// A slot out of its entry for a call. Dropped when the call returns or
/// unwinds, it puts the slot back: a slot is dropped by `kill` or `settle`,
/// never while its emission holds the list.
struct Running<'a, T> {
    home: &'a Cell<Option<SlotFn<T>>>,
    /// `Some` until dropped.
    slot: Option<SlotFn<T>>,
}

impl<T> Running<'_, T> {
    #[inline]
    fn call(&mut self, args: &T) -> bool {
        self.slot.as_mut().is_none_or(|slot| slot.call(args))
    }
}

impl<T> Drop for Running<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Nothing fills a running slot's entry: the cell is empty, and
        // forgetting its `None` spares the check for something to drop.
        let empty = self.home.replace(self.slot.take());
        debug_assert!(empty.is_none());
        mem::forget(empty);
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

    use super::{Entries, Entry, Id, SlotList};
    use crate::{ConnectionType, Signal};

    /// The variant holding `signal`'s entries and how many are pending.
    fn shape<T>(signal: &Signal<T>) -> (&'static str, usize) {
        let Some(list) = signal.slot_list() else {
            return ("no list", 0);
        };
        let kind = match &*list.entries.borrow() {
            Entries::Empty => "empty",
            Entries::One(_) => "one",
            Entries::Many(_) => "many",
        };
        (kind, list.with_pending(<[_]>::len))
    }

    type Log = Rc<RefCell<Vec<String>>>;

    /// A slot that logs `name` and the argument.
    fn logger(log: &Log, name: &'static str) -> impl FnMut(&u32) + 'static {
        let log = log.clone();
        move |n| log.borrow_mut().push(format!("{name}{n}"))
    }

    #[test]
    fn a_list_with_one_connection_fits_an_80_byte_malloc_chunk() {
        // `Rc` adds its strong and weak counts (16 bytes); glibc serves a
        // request of up to 72 bytes from an 80-byte chunk, 73 to 88 from 96.
        let rc_box = std::mem::size_of::<SlotList<()>>() + 16;
        assert!(rc_box <= 72, "Rc<SlotList<()>> requests {rc_box} bytes");
        // What that takes: the variant needs no tag word of its own.
        assert_eq!(std::mem::size_of::<Entry<()>>(), 32);
        assert_eq!(std::mem::size_of::<Entries<()>>(), 32);
    }

    #[test]
    fn ids_are_48_bits_in_numeric_order() {
        for n in [
            1,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            (1 << 48) - 1,
        ] {
            assert_eq!(Id::from_u64(n).unwrap().to_u64(), n);
            assert!(Id::from_u64(n - 1).unwrap() < Id::from_u64(n).unwrap());
        }
        assert_eq!(Id::from_u64(1 << 48), None);
        assert_eq!(Id::from_u64(u64::MAX), None);
        assert_eq!(Id::from_u64((1 << 48) - 1).unwrap().next(), None);
    }

    #[test]
    fn exhausted_ids_refuse_a_connection_and_leave_the_list_working() {
        let log = Log::default();
        let signal = Signal::<u32>::new();
        let first = signal.connect(logger(&log, "a"));
        let list = signal.slot_list().unwrap();
        list.last_id.set(Id::from_u64((1 << 48) - 2).unwrap());
        let last = signal.connect(logger(&log, "b"));
        assert!(last.is_connected());
        let freed = Rc::new(Cell::new(false));
        let f = freed.clone();
        let guard = OnDrop(move || f.set(true));
        let refused = catch_unwind(AssertUnwindSafe(|| {
            signal.connect(move |_| {
                let _ = &guard;
            })
        }));
        let payload = refused.expect_err("no id is left");
        assert!(payload
            .downcast_ref::<&str>()
            .is_some_and(|m| m.contains("connection ids are exhausted")));
        assert!(freed.get(), "the refused slot was dropped");
        assert_eq!(signal.receivers(), 2);
        signal.emit(&1);
        assert_eq!(*log.borrow(), ["a1", "b1"]);
        assert!(first.disconnect());
        assert!(last.disconnect());
        assert_eq!(signal.receivers(), 0);
    }

    #[test]
    fn one_connection_is_inline_and_a_second_moves_both_to_a_vector() {
        let log = Log::default();
        let signal = Signal::<u32>::new();
        assert_eq!(shape(&signal), ("no list", 0));
        let a = signal.connect(logger(&log, "a"));
        assert_eq!(shape(&signal), ("one", 0));
        let b = signal.connect(logger(&log, "b"));
        assert_eq!(shape(&signal), ("many", 0));
        let c = signal.connect(logger(&log, "c"));
        signal.emit(&1);
        assert_eq!(log.take(), ["a1", "b1", "c1"]);

        // Disconnecting the first entry keeps the others in order.
        assert!(a.disconnect());
        assert!(!a.is_connected() && b.is_connected() && c.is_connected());
        assert_eq!(shape(&signal), ("many", 0));
        signal.emit(&2);
        assert_eq!(log.take(), ["b2", "c2"]);
        // One left: back inline, the vector freed.
        assert!(c.disconnect());
        assert_eq!(shape(&signal), ("one", 0));
        assert_eq!(signal.receivers(), 1);
        signal.emit(&3);
        assert_eq!(log.take(), ["b3"]);
        assert!(b.is_connected() && !c.is_connected());
        assert!(b.disconnect());
        assert_eq!(shape(&signal), ("empty", 0));
        assert_eq!(signal.receivers(), 0);
        assert!(!signal.is_connected());

        let d = signal.connect(logger(&log, "d"));
        assert_eq!(shape(&signal), ("one", 0));
        signal.emit(&4);
        assert_eq!(log.take(), ["d4"]);
        assert!(d.is_connected() && !a.is_connected() && !b.is_connected());
    }

    #[test]
    fn connect_during_emission_of_a_one_entry_list_waits_for_the_next() {
        let log = Log::default();
        let signal = Rc::new(Signal::<u32>::new());
        let late: Rc<RefCell<Option<crate::Connection>>> = Rc::default();
        let (s, l, c) = (Rc::downgrade(&signal), log.clone(), late.clone());
        let _a = signal.connect(move |n| {
            l.borrow_mut().push(format!("a{n}"));
            let signal = s.upgrade().unwrap();
            if c.borrow().is_none() {
                *c.borrow_mut() = Some(signal.connect(logger(&l, "b")));
                assert_eq!(shape(&signal), ("one", 1));
                assert_eq!(signal.receivers(), 2);
                // Neither this emission nor one nested in it calls `b`;
                // the nested one skips `a`, which is running.
                signal.emit(&(n + 10));
            }
        });
        signal.emit(&1);
        assert_eq!(log.take(), ["a1"]);
        assert_eq!(shape(&signal), ("many", 0));
        assert!(late.borrow().as_ref().unwrap().is_connected());
        signal.emit(&2);
        assert_eq!(log.take(), ["a2", "b2"]);
    }

    #[test]
    fn inline_entry_disconnected_while_a_second_waits_is_freed_after_the_emission() {
        let log = Log::default();
        let signal = Rc::new(Signal::<u32>::new());
        let conn: Rc<RefCell<Option<crate::Connection>>> = Rc::default();
        let (s, l, c) = (Rc::downgrade(&signal), log.clone(), conn.clone());
        let (s2, l2) = (s.clone(), log.clone());
        // Its destructor emits: it must run with no borrow of the list held,
        // after `b` joined the list.
        let guard = OnDrop(move || {
            l2.borrow_mut().push("a freed".into());
            if let Some(signal) = s2.upgrade() {
                signal.emit(&9);
            }
        });
        let first = signal.connect(move |n| {
            let _ = &guard;
            l.borrow_mut().push(format!("a{n}"));
            let signal = s.upgrade().unwrap();
            let _b = signal.connect(logger(&l, "b"));
            // Disconnects itself while running: it finishes its call.
            assert!(c.borrow().as_ref().unwrap().disconnect());
            assert_eq!(shape(&signal), ("one", 1));
            assert_eq!(signal.receivers(), 1);
            assert!(signal.is_connected(), "the pending connection counts");
            l.borrow_mut().push("a done".into());
        });
        *conn.borrow_mut() = Some(first);
        signal.emit(&1);
        assert_eq!(log.take(), ["a1", "a done", "a freed", "b9"]);
        assert_eq!(shape(&signal), ("one", 0));
        assert!(!conn.borrow().as_ref().unwrap().is_connected());
        signal.emit(&2);
        assert_eq!(log.take(), ["b2"]);
    }

    #[test]
    fn a_panicking_inline_slot_goes_back_to_its_entry_and_runs_again() {
        let log = Log::default();
        let signal = Signal::<u32>::new();
        let l = log.clone();
        let conn = signal.connect(move |n| {
            l.borrow_mut().push(format!("p{n}"));
            assert_ne!(*n, 1, "slot refuses 1");
        });
        assert!(catch_unwind(AssertUnwindSafe(|| signal.emit(&1))).is_err());
        assert!(conn.is_connected());
        assert_eq!(signal.receivers(), 1);
        signal.emit(&2);
        assert_eq!(log.take(), ["p1", "p2"]);
    }

    #[test]
    fn handles_with_ids_no_entry_has_are_not_connected() {
        let signal = Signal::<u32>::new();
        let _a = signal.connect(|_| {});
        let list = signal.slot_list().unwrap();
        use super::ConnectionList;
        for id in [0, 2, 1 << 48, u64::MAX] {
            assert!(!list.is_connected(id));
            assert!(!list.disconnect(id));
        }
        assert!(list.is_connected(1));
    }

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

    #[test]
    fn deleting_an_unconnected_object_allocates_no_list() {
        // What `Lifecycle::finish` does with `destroyed`: unblock, emit,
        // restore, disconnect. On a signal nobody connected, no list.
        let signal = Signal::<()>::new();
        let was = signal.block_signals(false);
        signal.emit(&());
        signal.block_signals(was);
        assert_eq!(signal.disconnect_all(), 0);
        assert!(signal.slot_list().is_none());
        // Blocking does need the list, to remember it.
        assert!(!signal.block_signals(true));
        assert!(signal.signals_blocked());
    }
}
