//! Slots shared by queued calls, entered by one call at a time.
//!
//! A queued connection hands each emission's arguments to a posted call, and
//! every posted call needs the slot. An `FnMut` cannot be entered twice, yet
//! a slot may start a nested event loop that delivers the next queued call
//! of the same connection. Such re-entrant calls are appended to a backlog
//! that the outer call runs, in order, once its own call returns: every call
//! is delivered, in emission order, and the closure is never aliased.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};

/// A slot used by calls queued to the current thread.
pub(crate) struct LocalSerial<T, F> {
    slot: RefCell<Option<F>>,
    backlog: RefCell<VecDeque<T>>,
}

impl<T, F: FnMut(&T)> LocalSerial<T, F> {
    pub(crate) fn new(slot: F) -> Self {
        LocalSerial {
            slot: RefCell::new(Some(slot)),
            backlog: RefCell::new(VecDeque::new()),
        }
    }

    pub(crate) fn call(&self, args: T) {
        let taken = self.slot.borrow_mut().take();
        let Some(slot) = taken else {
            // Re-entered from inside the slot: the outer call runs it.
            self.backlog.borrow_mut().push_back(args);
            return;
        };
        let mut guard = LocalBack {
            owner: self,
            slot: Some(slot),
        };
        let mut next = Some(args);
        while let Some(args) = next {
            if let Some(slot) = guard.slot.as_mut() {
                slot(&args);
            }
            next = self.backlog.borrow_mut().pop_front();
        }
    }
}

/// Puts the slot back, also when it panicked.
struct LocalBack<'a, T, F> {
    owner: &'a LocalSerial<T, F>,
    slot: Option<F>,
}

impl<T, F> Drop for LocalBack<'_, T, F> {
    fn drop(&mut self) {
        *self.owner.slot.borrow_mut() = self.slot.take();
    }
}

/// A slot that any thread may call (direct calls from several threads, or
/// calls queued to one loop).
pub(crate) struct SendSerial<T, F> {
    state: Mutex<SendState<T, F>>,
    idle: Condvar,
}

struct SendState<T, F> {
    slot: Option<F>,
    /// The thread running the slot, while it runs.
    owner: Option<ThreadId>,
    backlog: VecDeque<T>,
}

impl<T, F: FnMut(&T)> SendSerial<T, F> {
    pub(crate) fn new(slot: F) -> Self {
        SendSerial {
            state: Mutex::new(SendState {
                slot: Some(slot),
                owner: None,
                backlog: VecDeque::new(),
            }),
            idle: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SendState<T, F>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn call(&self, args: T) {
        let me = thread::current().id();
        let mut state = self.lock();
        let slot = loop {
            if let Some(slot) = state.slot.take() {
                state.owner = Some(me);
                break slot;
            }
            if state.owner == Some(me) {
                state.backlog.push_back(args);
                return;
            }
            // Another thread runs the slot: wait our turn, as a mutex would.
            state = self
                .idle
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        };
        drop(state);
        let mut guard = SendBack {
            owner: self,
            slot: Some(slot),
        };
        let mut next = Some(args);
        while let Some(args) = next {
            if let Some(slot) = guard.slot.as_mut() {
                slot(&args);
            }
            next = self.lock().backlog.pop_front();
        }
    }
}

struct SendBack<'a, T, F> {
    owner: &'a SendSerial<T, F>,
    slot: Option<F>,
}

impl<T, F> Drop for SendBack<'_, T, F> {
    fn drop(&mut self) {
        let mut state = self
            .owner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.slot = self.slot.take();
        state.owner = None;
        drop(state);
        self.owner.idle.notify_all();
    }
}
