//! A 4-ary min-heap of deadlines with O(log n) removal by key.
//!
//! The heap array holds each entry whole: its ordering key, slot index and
//! action, so sifting walks contiguous memory and a due entry leaves the
//! heap without touching any other structure but the position table. That
//! dense table maps each slot index to its heap position, so a cancelled
//! timer is removed at once instead of lingering as a tombstone.
//!
//! The ordering key packs the deadline (nanoseconds since a base instant a
//! day before the heap was made) above the insertion sequence number into
//! one `u128`, so ties go to the earlier insertion and a comparison is a
//! single branch-free integer compare. Deadlines before the base count as
//! the base and deadlines some 584 years after it as that far: both are
//! then ordered by insertion, which no loop can observe.
//!
//! A [`TimerKey`] carries the entry's sequence number as well as its slot
//! index: slot indices are reused, so a stale key (its entry already popped
//! or removed) never removes the entry that took the slot over.

use std::time::{Duration, Instant};

/// Identifies one inserted entry for [`TimerHeap::remove`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    index: usize,
    seq: u64,
}

struct Entry<A> {
    /// Deadline nanoseconds since `base` in the high half, sequence number
    /// in the low half.
    order: u128,
    index: usize,
    action: A,
}

impl<A> Entry<A> {
    fn seq(&self) -> u64 {
        self.order as u64
    }

    fn deadline_ns(&self) -> u64 {
        (self.order >> 64) as u64
    }
}

/// Position of a slot index that holds no entry.
const VACANT: usize = usize::MAX;

/// Children per node. A 4-ary heap is half as deep as a binary one, and a
/// node's children sit side by side in memory: fewer cache misses per pop.
const ARITY: usize = 4;

pub(crate) struct TimerHeap<A> {
    base: Instant,
    heap: Vec<Entry<A>>,
    /// Heap position of each slot index, or `VACANT`.
    positions: Vec<usize>,
    /// Vacant slot indices, for reuse.
    free: Vec<usize>,
    next_seq: u64,
}

impl<A> TimerHeap<A> {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        let day = Duration::from_secs(24 * 60 * 60);
        TimerHeap {
            base: now.checked_sub(day).unwrap_or(now),
            heap: Vec::new(),
            positions: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }

    /// Nanoseconds from the base to `at`, clamped to `0..=u64::MAX`.
    fn nanos(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.base).as_nanos();
        u64::try_from(since).unwrap_or(u64::MAX)
    }

    /// Adds an entry; returns its key for [`remove`](Self::remove).
    pub(crate) fn insert(&mut self, deadline: Instant, action: A) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let pos = self.heap.len();
        let index = match self.free.pop() {
            Some(index) => {
                self.positions[index] = pos;
                index
            }
            None => {
                self.positions.push(pos);
                self.positions.len() - 1
            }
        };
        let order = u128::from(self.nanos(deadline)) << 64 | u128::from(seq);
        self.heap.push(Entry {
            order,
            index,
            action,
        });
        self.sift_up(pos);
        TimerKey { index, seq }
    }

    /// Removes the entry `key` names; `None` if it already left the heap.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<A> {
        let pos = *self.positions.get(key.index)?;
        if pos == VACANT || self.heap[pos].seq() != key.seq {
            return None;
        }
        Some(self.remove_at(pos).action)
    }

    /// The earliest deadline (as clamped, see the module docs).
    pub(crate) fn peek_deadline(&self) -> Option<Instant> {
        let ns = self.heap.first()?.deadline_ns();
        // Past the clamp the loop may as well wait forever.
        self.base.checked_add(Duration::from_nanos(ns))
    }

    /// The sequence number the next insertion gets: entries inserted from
    /// now on compare at or above it.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Removes and returns the earliest entry if due at `now` and inserted
    /// before sequence number `before` (see [`next_seq`](Self::next_seq)),
    /// so that a pass fires only what was due when it began.
    pub(crate) fn pop_due(&mut self, now: Instant, before: u64) -> Option<(TimerKey, A)> {
        let first = self.heap.first()?;
        if first.deadline_ns() > self.nanos(now) || first.seq() >= before {
            return None;
        }
        let entry = self.remove_at(0);
        let key = TimerKey {
            index: entry.index,
            seq: entry.seq(),
        };
        Some((key, entry.action))
    }

    fn remove_at(&mut self, pos: usize) -> Entry<A> {
        // The last entry fills the hole, then moves to where it belongs.
        let entry = self.heap.swap_remove(pos);
        if pos < self.heap.len() {
            self.positions[self.heap[pos].index] = pos;
            self.sift_down(pos);
            self.sift_up(pos);
        }
        self.positions[entry.index] = VACANT;
        self.free.push(entry.index);
        entry
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.heap[pos].order >= self.heap[parent].order {
                break;
            }
            self.heap.swap(pos, parent);
            self.positions[self.heap[pos].index] = pos;
            pos = parent;
        }
        self.positions[self.heap[pos].index] = pos;
    }

    fn sift_down(&mut self, mut pos: usize) {
        let len = self.heap.len();
        loop {
            let first = ARITY * pos + 1;
            if first >= len {
                break;
            }
            // The smallest child, chosen without branches: which one it is
            // is a coin toss the branch predictor would mostly lose.
            let mut child = first;
            let mut least = self.heap[first].order;
            for candidate in first + 1..(first + ARITY).min(len) {
                let order = self.heap[candidate].order;
                let less = order < least;
                least = if less { order } else { least };
                child = if less { candidate } else { child };
            }
            if least >= self.heap[pos].order {
                break;
            }
            self.heap.swap(pos, child);
            self.positions[self.heap[pos].index] = pos;
            pos = child;
        }
        self.positions[self.heap[pos].index] = pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_then_insertion_order_and_cancels() {
        let base = Instant::now();
        let mut heap = TimerHeap::new();
        let mut keys = Vec::new();
        // A scrambled set of deadlines, some equal.
        for (i, ms) in [50u64, 10, 30, 10, 70, 0, 30, 90, 20].iter().enumerate() {
            keys.push((heap.insert(base + Duration::from_millis(*ms), i), *ms, i));
        }
        // Cancel two, one of them the current minimum.
        assert_eq!(heap.remove(keys[5].0), Some(5));
        assert_eq!(heap.remove(keys[7].0), Some(7));
        assert_eq!(heap.remove(keys[7].0), None);
        let mut popped = Vec::new();
        while let Some((_, action)) = heap.pop_due(base + Duration::from_secs(1), u64::MAX) {
            popped.push(action);
        }
        assert_eq!(popped, vec![1, 3, 8, 2, 6, 0, 4]);
        assert_eq!(heap.len(), 0);
    }

    #[test]
    fn not_due_stays() {
        let base = Instant::now();
        let mut heap = TimerHeap::new();
        heap.insert(base + Duration::from_millis(5), ());
        assert!(heap.pop_due(base, u64::MAX).is_none());
        assert_eq!(heap.peek_deadline(), Some(base + Duration::from_millis(5)));
    }

    #[test]
    fn entries_inserted_after_the_limit_wait() {
        let base = Instant::now();
        let mut heap = TimerHeap::new();
        heap.insert(base, "old");
        let limit = heap.next_seq();
        heap.insert(base, "new");
        assert_eq!(heap.pop_due(base, limit).map(|(_, a)| a), Some("old"));
        assert!(heap.pop_due(base, limit).is_none());
        assert_eq!(heap.pop_due(base, u64::MAX).map(|(_, a)| a), Some("new"));
    }

    #[test]
    fn far_past_and_far_future_deadlines_clamp() {
        let now = Instant::now();
        let mut heap = TimerHeap::new();
        let far = Duration::from_secs(1000 * 365 * 24 * 60 * 60);
        if let Some(future) = now.checked_add(far) {
            heap.insert(future, "future");
        }
        heap.insert(now, "now");
        if let Some(past) = now.checked_sub(Duration::from_secs(2 * 24 * 60 * 60)) {
            heap.insert(past, "past");
        }
        let mut due = Vec::new();
        while let Some((_, what)) = heap.pop_due(now, u64::MAX) {
            due.push(what);
        }
        assert_eq!(due.last(), Some(&"now"));
        assert!(!due.contains(&"future"));
    }

    #[test]
    fn random_inserts_and_removals_match_a_sorted_reference() {
        let base = Instant::now();
        let mut heap = TimerHeap::new();
        let mut live: Vec<(u64, usize, TimerKey)> = Vec::new(); // (ms, id, key)
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for id in 0..2000 {
            let ms = next() % 100;
            let key = heap.insert(base + Duration::from_millis(ms), id);
            live.push((ms, id, key));
            if next() % 3 == 0 {
                let victim = live.swap_remove((next() % live.len() as u64) as usize);
                assert_eq!(heap.remove(victim.2), Some(victim.1));
            }
        }
        // Equal deadlines pop in insertion order, which ids follow.
        live.sort_by_key(|&(ms, id, _)| (ms, id));
        let mut popped = Vec::new();
        while let Some((_, id)) = heap.pop_due(base + Duration::from_secs(1), u64::MAX) {
            popped.push(id);
        }
        let expected: Vec<_> = live.iter().map(|&(_, id, _)| id).collect();
        assert_eq!(popped, expected);
        // Every key is stale now, and stays so when its slot is reused.
        assert_eq!(heap.remove(live[0].2), None);
        let fresh = heap.insert(base, 7);
        assert_eq!(heap.remove(live[0].2), None);
        assert_eq!(heap.remove(fresh), Some(7));
    }
}
