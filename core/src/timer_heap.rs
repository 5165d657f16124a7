//! A min-heap of deadlines with O(log n) removal by key.
//!
//! Each entry lives in a slab; the heap holds slab keys ordered by
//! (deadline, sequence) and every slab entry knows its heap position, so a
//! cancelled timer is removed at once instead of lingering as a tombstone.

use std::time::Instant;

use slab::Slab;

struct Node<A> {
    deadline: Instant,
    seq: u64,
    pos: usize,
    action: A,
}

pub(crate) struct TimerHeap<A> {
    nodes: Slab<Node<A>>,
    heap: Vec<usize>,
    next_seq: u64,
}

impl<A> TimerHeap<A> {
    pub(crate) fn new() -> Self {
        TimerHeap {
            nodes: Slab::new(),
            heap: Vec::new(),
            next_seq: 0,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }

    /// Adds an entry; returns its key for [`remove`](Self::remove).
    pub(crate) fn insert(&mut self, deadline: Instant, action: A) -> usize {
        let seq = self.next_seq;
        self.next_seq += 1;
        let pos = self.heap.len();
        let key = self.nodes.insert(Node {
            deadline,
            seq,
            pos,
            action,
        });
        self.heap.push(key);
        self.sift_up(pos);
        key
    }

    pub(crate) fn remove(&mut self, key: usize) -> Option<A> {
        let pos = self.nodes.get(key)?.pos;
        self.remove_at(pos);
        Some(self.nodes.remove(key).action)
    }

    pub(crate) fn peek_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|&k| self.nodes[k].deadline)
    }

    /// Removes and returns the earliest entry if due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(usize, A)> {
        let &key = self.heap.first()?;
        if self.nodes[key].deadline > now {
            return None;
        }
        self.remove_at(0);
        Some((key, self.nodes.remove(key).action))
    }

    fn remove_at(&mut self, pos: usize) {
        let last = self.heap.len() - 1;
        self.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            self.sift_down(pos);
            self.sift_up(pos);
        }
    }

    fn less(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.nodes[self.heap[a]], &self.nodes[self.heap[b]]);
        (a.deadline, a.seq) < (b.deadline, b.seq)
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        let (ka, kb) = (self.heap[a], self.heap[b]);
        self.nodes[ka].pos = a;
        self.nodes[kb].pos = b;
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !self.less(pos, parent) {
                break;
            }
            self.swap(pos, parent);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        loop {
            let left = 2 * pos + 1;
            if left >= self.heap.len() {
                break;
            }
            let right = left + 1;
            let child = if right < self.heap.len() && self.less(right, left) {
                right
            } else {
                left
            };
            if !self.less(child, pos) {
                break;
            }
            self.swap(pos, child);
            pos = child;
        }
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
        while let Some((_, action)) = heap.pop_due(base + Duration::from_secs(1)) {
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
        assert!(heap.pop_due(base).is_none());
        assert_eq!(heap.peek_deadline(), Some(base + Duration::from_millis(5)));
    }
}
