//! A byte queue that costs one pointer while it is empty.
//!
//! An idle connection holds two empty queues (read and write). A
//! `ByteQueue` value is 88 bytes even when it owns no data; boxing it on
//! first use and dropping the box once it drains brings that to 8 bytes per
//! queue, so 10,000 idle sockets do not pay 1.7 MB for empty buffers and a
//! socket gives its buffer memory back after each exchange.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

use sigloop_core::__private::{fill_hint, set_fill_hint};
use sigloop_core::ByteQueue;

/// Stands in for a queue that was never used or was released.
static EMPTY: ByteQueue = ByteQueue::new();

/// A [`ByteQueue`] boxed on first write and released when drained.
///
/// Eight bytes. A released queue forgets the read reservation it had
/// learned; [`release_if_empty`](Self::release_if_empty) hands it to the
/// owner, which gives it back through [`with_hint`](Self::with_hint), so a
/// bulk transfer does not restart from small reads after each release.
#[derive(Default)]
pub(crate) struct LazyQueue(Option<Box<ByteQueue>>);

/// Released queues kept for reuse on this thread, at most this many. A
/// socket takes a queue for each message and gives it back once the
/// message is consumed or sent; reusing the box (and the chunk list inside
/// it) spares two allocations each time. A few are enough: a queue comes
/// back within the pass that took it.
const SPARE_MAX: usize = 32;

thread_local! {
    // The boxes themselves are what is reused: a socket's queue is one, so
    // a spare moves in and out without allocating.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<ByteQueue>>> = const { RefCell::new(Vec::new()) };
}

impl LazyQueue {
    /// Gives the box back if the queue is empty and no transaction keeps
    /// bytes; returns the read reservation it had learned.
    pub(crate) fn release_if_empty(&mut self) -> Option<usize> {
        let drained = self
            .0
            .as_ref()
            .is_some_and(|q| q.is_empty() && !q.is_transaction_started());
        if !drained {
            return None;
        }
        let queue = self.0.take()?;
        let hint = fill_hint(&queue);
        // While the thread's locals are torn down the box is just freed.
        let _ = SPARE.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_MAX {
                spare.push(queue);
            }
        });
        Some(hint)
    }

    /// The queue, boxed now with `hint` (0: the default) as its read
    /// reservation if it had been released.
    pub(crate) fn with_hint(&mut self, hint: usize) -> &mut ByteQueue {
        self.0.get_or_insert_with(|| {
            let spare = SPARE
                .try_with(|spare| spare.borrow_mut().pop())
                .ok()
                .flatten();
            let mut queue = spare.unwrap_or_default();
            // A reused queue forgets what it learned for its last owner.
            set_fill_hint(&mut queue, hint);
            queue
        })
    }

    /// Empties the queue; one never boxed stays unboxed.
    pub(crate) fn clear(&mut self) {
        if let Some(queue) = self.0.as_deref_mut() {
            queue.clear();
        }
    }
}

impl Deref for LazyQueue {
    type Target = ByteQueue;

    fn deref(&self) -> &ByteQueue {
        self.0.as_deref().unwrap_or(&EMPTY)
    }
}

impl DerefMut for LazyQueue {
    fn deref_mut(&mut self) -> &mut ByteQueue {
        self.with_hint(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_on_write_and_releases_when_drained() {
        let mut queue = LazyQueue::default();
        assert_eq!(queue.len(), 0);
        assert!(
            queue.0.is_none(),
            "reading an empty queue allocates nothing"
        );
        queue.append(b"abc");
        assert!(queue.0.is_some());
        queue.start_transaction();
        let mut buf = [0u8; 3];
        assert_eq!(queue.read_into(&mut buf), 3);
        assert_eq!(queue.release_if_empty(), None);
        assert!(queue.0.is_some(), "a transaction keeps its bytes");
        queue.rollback_transaction();
        assert_eq!(queue.len(), 3);
        queue.start_transaction();
        queue.skip(3);
        queue.release_if_empty();
        assert!(queue.0.is_some(), "still in the transaction");
        queue.commit_transaction();
        queue.release_if_empty();
        assert!(queue.0.is_none());

        // A fresh box reads like a fresh queue: a zero-length reservation
        // would look like end of file.
        let mut queue = LazyQueue::default();
        let n = queue.fill_from(64, |buf| {
            buf[..2].copy_from_slice(b"hi");
            Ok(2)
        });
        assert_eq!(n.unwrap(), 2);

        // The learned reservation goes to the owner and comes back.
        let mut queue = LazyQueue::default();
        set_fill_hint(&mut queue, 64 * 1024);
        let hint = queue.release_if_empty();
        assert_eq!(hint, Some(64 * 1024));
        assert!(queue.0.is_none());
        assert_eq!(fill_hint(&queue), 4096, "the stand-in reads as new");
        assert_eq!(fill_hint(queue.with_hint(64 * 1024)), 64 * 1024);
        assert_eq!(
            std::mem::size_of::<LazyQueue>(),
            8,
            "one pointer per idle queue"
        );
    }

    #[test]
    fn released_boxes_are_reused_and_clearing_boxes_nothing() {
        let mut queue = LazyQueue::default();
        queue.clear();
        assert!(
            queue.0.is_none(),
            "clearing an unused queue allocates nothing"
        );

        queue.append(b"abc");
        let first: *const ByteQueue = &*queue;
        queue.skip(3);
        set_fill_hint(&mut queue, 32 * 1024);
        assert_eq!(queue.release_if_empty(), Some(32 * 1024));
        // The next queue this thread needs is the same box, reset.
        let mut other = LazyQueue::default();
        let reused: *const ByteQueue = other.with_hint(0);
        assert_eq!(reused, first);
        assert_eq!(fill_hint(&other), 4096);
        assert!(other.is_empty());
    }
}
