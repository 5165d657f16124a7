//! The per-thread loop state and one pass of the loop.
//!
//! A pass, in Qt's order: drain the cross-thread queue, run the posted
//! calls that were queued when the pass began, run the deferred deletes the
//! nesting rules allow, poll (waiting only when nothing is pending), run
//! calls that arrived from other threads meanwhile, dispatch I/O readiness,
//! fire due timers. No borrow of this state is held while user code runs.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::{Events, Poll, Registry, Token};
use sigloop_signals::queue::{self, LocalCall, LocalQueue, SendCall};
use slab::Slab;

use crate::flags::ProcessEventsFlags;
use crate::handle::Shared;
use crate::io::{IoHandler, Readiness};
use crate::timer_heap::TimerHeap;

pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// Runs `f` with the current thread's loop, creating it on first use.
///
/// # Panics
///
/// If the OS refuses an epoll instance or an eventfd (descriptor
/// exhaustion at start-up), or during thread-local destruction.
pub(crate) fn with_current<R>(f: impl FnOnce(&Inner) -> R) -> R {
    f(&current())
}

/// Runs `f` with the current thread's loop if it exists and the thread is
/// not tearing down. Used from destructors.
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Inner) -> R) -> Option<R> {
    let inner = CURRENT
        .try_with(|current| current.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()?;
    Some(f(&inner))
}

pub(crate) fn current() -> Rc<Inner> {
    if let Some(inner) = CURRENT.with(|current| current.borrow().clone()) {
        return inner;
    }
    let inner = match Inner::new() {
        Ok(inner) => Rc::new(inner),
        Err(err) => panic!("sigloop: cannot create this thread's event loop: {err}"),
    };
    CURRENT.with(|current| *current.borrow_mut() = Some(inner.clone()));
    // Hands over queued slot calls made before the loop existed.
    queue::install_local_queue(Rc::new(LocalAdapter(Rc::downgrade(&inner))));
    inner
}

struct LocalAdapter(Weak<Inner>);

impl LocalQueue for LocalAdapter {
    fn post(&self, call: LocalCall) {
        if let Some(inner) = self.0.upgrade() {
            inner.post(call);
        }
    }

    fn post_for(&self, receiver: usize, call: LocalCall) {
        if let Some(inner) = self.0.upgrade() {
            inner.post_for(Some(receiver), call);
        }
    }
}

/// What a timer entry does when due.
pub(crate) enum TimerAction {
    /// A `Timer` object, with the arm generation it was scheduled under.
    Object(Weak<dyn TimerTarget>, u64),
    /// A static single-shot.
    Call(LocalCall),
}

/// A timer object the loop can fire.
pub(crate) trait TimerTarget {
    fn fire(self: Rc<Self>, generation: u64);
}

struct IoSlot {
    generation: u32,
    handler: Weak<dyn IoHandler>,
}

/// One running `exec`: its exit request.
pub(crate) struct Frame {
    pub(crate) exit: Cell<Option<i32>>,
}

pub(crate) struct Inner {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    pub(crate) shared: Arc<Shared>,
    incoming: Receiver<SendCall>,
    /// Posted calls: sequence number, the receiver's identity if the call
    /// was posted for one, the call.
    posted: RefCell<VecDeque<(u64, Option<usize>, LocalCall)>>,
    next_post: Cell<u64>,
    deferred: RefCell<Vec<(u32, LocalCall)>>,
    pub(crate) timers: RefCell<TimerHeap<TimerAction>>,
    io: RefCell<Slab<IoSlot>>,
    io_generation: Cell<u32>,
    pending_io: RefCell<Vec<(Token, Readiness)>>,
    loop_level: Cell<u32>,
    scope_level: Cell<u32>,
    pub(crate) quit_now: Cell<bool>,
    pub(crate) app_running: Cell<bool>,
    frames: RefCell<Vec<Rc<Frame>>>,
}

impl Inner {
    fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let (shared, incoming) = Shared::new(poll.registry(), WAKER_TOKEN)?;
        Ok(Inner {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(256)),
            shared,
            incoming,
            posted: RefCell::new(VecDeque::new()),
            next_post: Cell::new(0),
            deferred: RefCell::new(Vec::new()),
            timers: RefCell::new(TimerHeap::new()),
            io: RefCell::new(Slab::new()),
            io_generation: Cell::new(0),
            pending_io: RefCell::new(Vec::new()),
            loop_level: Cell::new(0),
            scope_level: Cell::new(0),
            quit_now: Cell::new(false),
            app_running: Cell::new(false),
            frames: RefCell::new(Vec::new()),
        })
    }

    // ----- posted calls and deferred deletes -------------------------------

    pub(crate) fn post(&self, call: LocalCall) {
        self.post_for(None, call);
    }

    /// Posts `call` on behalf of the receiver with identity `receiver`.
    pub(crate) fn post_for(&self, receiver: Option<usize>, call: LocalCall) {
        let seq = self.next_post.get();
        self.next_post.set(seq + 1);
        self.posted.borrow_mut().push_back((seq, receiver, call));
    }

    /// Takes the posted calls of `receiver` out of the queue. The caller
    /// drops them with no borrow held (their captures are user values).
    pub(crate) fn take_posted_for(&self, receiver: usize) -> Vec<LocalCall> {
        let mut posted = self.posted.borrow_mut();
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(posted.len());
        for (seq, owner, call) in posted.drain(..) {
            if owner == Some(receiver) {
                taken.push(call);
            } else {
                kept.push_back((seq, owner, call));
            }
        }
        *posted = kept;
        taken
    }

    /// Runs now the calls posted for `receiver` (every call when `None`)
    /// before this point, FIFO, at the current scope (Qt's
    /// `sendPostedEvents`). Cross-thread calls already queued count.
    pub(crate) fn send_posted(&self, receiver: Option<usize>) -> bool {
        self.drain_incoming();
        let limit = self.next_post.get();
        let mut ran = false;
        loop {
            let next = {
                let mut posted = self.posted.borrow_mut();
                let index = posted.iter().position(|(seq, owner, _)| {
                    *seq < limit && (receiver.is_none() || *owner == receiver)
                });
                index.and_then(|i| posted.remove(i))
            };
            let Some((_, _, call)) = next else { break };
            self.in_scope(call);
            ran = true;
        }
        ran
    }

    /// Records a deferred delete at the current loop + scope level.
    pub(crate) fn post_delete(&self, call: LocalCall) {
        let level = self.loop_level.get() + self.scope_level.get();
        self.deferred.borrow_mut().push((level, call));
    }

    fn drain_incoming(&self) -> bool {
        // A sender queues, then raises `woken` and wakes the poll: with the
        // flag down nothing waits here, or a wake-up is on its way. This
        // spares a fence and a channel probe on every pass.
        if !self.shared.is_woken() {
            return false;
        }
        self.shared.clear_woken();
        let mut any = false;
        for call in self.incoming.try_iter() {
            self.post(call);
            any = true;
        }
        any
    }

    /// Runs the calls posted before this point, FIFO. A nested loop started
    /// by one of them runs the rest first, as Qt's does.
    fn run_posted(&self) -> bool {
        let limit = self.next_post.get();
        let mut ran = false;
        loop {
            let next = {
                let mut posted = self.posted.borrow_mut();
                match posted.front() {
                    Some((seq, _, _)) if *seq < limit => posted.pop_front(),
                    _ => None,
                }
            };
            let Some((_, _, call)) = next else { break };
            self.in_scope(call);
            ran = true;
        }
        ran
    }

    /// Runs the deferred deletes that Qt's level rule allows now: posted at
    /// a deeper level than the current one, or before any loop ran while one
    /// runs now, or at this level when `forced`.
    pub(crate) fn run_deletes(&self, forced: bool) -> bool {
        let current = self.loop_level.get() + self.scope_level.get();
        let is_due = |level: u32| {
            level > current || (level == 0 && current > 0) || (forced && level == current)
        };
        let mut due: Vec<(u32, LocalCall)> = {
            let mut deferred = self.deferred.borrow_mut();
            if deferred.iter().all(|(level, _)| is_due(*level)) {
                // The usual case: every delete is due; the list itself is
                // taken, no vector is built.
                std::mem::take(&mut *deferred)
            } else {
                let mut due = Vec::new();
                for entry in std::mem::take(&mut *deferred) {
                    if is_due(entry.0) {
                        due.push(entry);
                    } else {
                        deferred.push(entry);
                    }
                }
                due
            }
        };
        // Deletes deferred by these calls wait for a later pass.
        let ran = !due.is_empty();
        for (_, call) in due.drain(..) {
            self.in_scope(call);
        }
        // The emptied vector takes the next deletes (no allocation each).
        let mut deferred = self.deferred.borrow_mut();
        if deferred.is_empty() {
            *deferred = due;
        }
        ran
    }

    fn in_scope(&self, call: impl FnOnce()) {
        struct Scope<'a>(&'a Cell<u32>);
        impl Drop for Scope<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        self.scope_level.set(self.scope_level.get() + 1);
        let _scope = Scope(&self.scope_level);
        call();
    }

    pub(crate) fn has_posted(&self) -> bool {
        !self.posted.borrow().is_empty() || self.shared.is_woken()
    }

    // ----- I/O ---------------------------------------------------------------

    pub(crate) fn registry(&self) -> RegistryRef<'_> {
        RegistryRef(self.poll.borrow())
    }

    pub(crate) fn io_insert(&self, handler: Weak<dyn IoHandler>) -> Token {
        let generation = self.io_generation.get().wrapping_add(1);
        self.io_generation.set(generation);
        let key = self.io.borrow_mut().insert(IoSlot {
            generation,
            handler,
        });
        Token((generation as usize) << 32 | key)
    }

    pub(crate) fn io_remove(&self, token: Token) {
        let key = token.0 & 0xffff_ffff;
        let mut io = self.io.borrow_mut();
        if io
            .get(key)
            .is_some_and(|slot| slot.generation as usize == token.0 >> 32)
        {
            io.remove(key);
        }
    }

    fn io_handler(&self, token: Token) -> Option<Rc<dyn IoHandler>> {
        let key = token.0 & 0xffff_ffff;
        let io = self.io.borrow();
        let slot = io.get(key)?;
        if slot.generation as usize != token.0 >> 32 {
            return None;
        }
        slot.handler.upgrade()
    }

    fn dispatch_io(&self) -> bool {
        let mut ready = std::mem::take(&mut *self.pending_io.borrow_mut());
        let ran = !ready.is_empty();
        for (token, readiness) in ready.drain(..) {
            if let Some(handler) = self.io_handler(token) {
                self.in_scope(|| handler.ready(readiness));
            }
        }
        // The emptied vector serves the next poll (no allocation per pass),
        // unless a nested loop in a handler queued readiness meanwhile.
        let mut pending = self.pending_io.borrow_mut();
        if pending.is_empty() {
            *pending = ready;
        }
        ran
    }

    /// Polls once; readiness is queued in `pending_io`.
    fn poll(&self, timeout: Option<Duration>) {
        let mut events = self.events.borrow_mut();
        let result = self.poll.borrow_mut().poll(&mut events, timeout);
        match result {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return,
            Err(err) => {
                log::error!("sigloop: poll failed: {err}");
                return;
            }
        }
        let mut pending = self.pending_io.borrow_mut();
        // Readiness still pending from passes that excluded notifiers is
        // merged with new edges of the same source, so a source is reported
        // once per pass. One poll never repeats a token, so only those older
        // entries are searched (none in a normal pass).
        let carried = pending.len();
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            let readiness = Readiness::from_event(event);
            match pending[..carried]
                .iter_mut()
                .find(|(t, _)| *t == event.token())
            {
                Some((_, earlier)) => *earlier = *earlier | readiness,
                None => pending.push((event.token(), readiness)),
            }
        }
    }

    // ----- timers ------------------------------------------------------------

    fn fire_timers(&self) -> bool {
        let now = Instant::now();
        let due: Vec<TimerAction> = {
            let mut timers = self.timers.borrow_mut();
            std::iter::from_fn(|| timers.pop_due(now).map(|(_, action)| action)).collect()
        };
        let ran = !due.is_empty();
        for action in due {
            match action {
                TimerAction::Object(target, generation) => {
                    if let Some(target) = target.upgrade() {
                        self.in_scope(|| target.fire(generation));
                    }
                }
                TimerAction::Call(call) => self.in_scope(call),
            }
        }
        ran
    }

    /// How long the loop may sleep: zero when work is pending, otherwise
    /// until the next timer (`None`: no timer).
    pub(crate) fn time_to_next_timer(&self, flags: ProcessEventsFlags) -> Option<Duration> {
        let io_ready = !flags.contains(ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS)
            && !self.pending_io.borrow().is_empty();
        if self.has_posted() || io_ready {
            return Some(Duration::ZERO);
        }
        let next = self.timers.borrow().peek_deadline()?;
        Some(next.saturating_duration_since(Instant::now()))
    }

    // ----- one pass ----------------------------------------------------------

    /// One pass of the loop. `wait` is how long it may block when nothing
    /// is pending (`None`: until something happens). Returns whether it
    /// processed anything.
    pub(crate) fn pass(&self, flags: ProcessEventsFlags, wait: Option<Duration>) -> bool {
        self.pass_with(flags, wait, false)
    }

    /// [`pass`](Self::pass); with `block_after_work`, a pass that ran posted
    /// calls or deletes may still sleep in the poll when they left nothing
    /// to do (Qt's `processEvents` does: it waits unless events are still
    /// pending). Only `exec`'s passes use it, saving an empty non-blocking
    /// poll each time the loop wakes; a single `process_events` call keeps
    /// returning without sleeping once it did something.
    fn pass_with(
        &self,
        flags: ProcessEventsFlags,
        wait: Option<Duration>,
        block_after_work: bool,
    ) -> bool {
        let mut did = self.drain_incoming();
        did |= self.run_posted();
        did |= self.run_deletes(false);
        let busy = if block_after_work {
            did && (self.exit_requested() || self.deletes_due())
        } else {
            did
        };
        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            let next = self.time_to_next_timer(flags);
            match (next, wait) {
                (Some(next), Some(wait)) => Some(next.min(wait)),
                (Some(next), None) => Some(next),
                (None, wait) => wait,
            }
        };
        self.poll(timeout);
        if self.drain_incoming() {
            did |= self.run_posted();
        }
        if !flags.contains(ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS) {
            did |= self.dispatch_io();
        }
        did |= self.fire_timers();
        did
    }

    // ----- exec / exit -------------------------------------------------------

    /// Runs passes until `frame` is asked to exit; returns the exit code.
    pub(crate) fn run_frame(&self, frame: &Rc<Frame>, flags: ProcessEventsFlags) -> i32 {
        struct Level<'a>(&'a Inner);
        impl Drop for Level<'_> {
            fn drop(&mut self) {
                self.0.frames.borrow_mut().pop();
                self.0.loop_level.set(self.0.loop_level.get() - 1);
            }
        }
        frame.exit.set(None);
        self.frames.borrow_mut().push(frame.clone());
        self.loop_level.set(self.loop_level.get() + 1);
        let _level = Level(self);
        let flags = flags.without(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
        while frame.exit.get().is_none() {
            self.pass_with(flags, None, true);
        }
        frame.exit.take().unwrap_or(0)
    }

    /// Whether a running loop was asked to exit (it must not sleep first).
    fn exit_requested(&self) -> bool {
        self.quit_now.get() || self.frames.borrow().iter().any(|f| f.exit.get().is_some())
    }

    /// Whether deferred deletes wait that the next pass would run.
    fn deletes_due(&self) -> bool {
        let current = self.loop_level.get() + self.scope_level.get();
        self.deferred
            .borrow()
            .iter()
            .any(|(level, _)| *level > current || (*level == 0 && current > 0))
    }

    pub(crate) fn is_running(&self, frame: &Rc<Frame>) -> bool {
        self.frames.borrow().iter().any(|f| Rc::ptr_eq(f, frame))
    }

    pub(crate) fn any_running(&self) -> bool {
        !self.frames.borrow().is_empty()
    }

    /// Asks every running loop on this thread to exit with `code`.
    pub(crate) fn exit_all(&self, code: i32) {
        self.quit_now.set(true);
        for frame in self.frames.borrow().iter() {
            frame.exit.set(Some(code));
        }
    }
}

/// A borrowed mio registry.
pub(crate) struct RegistryRef<'a>(std::cell::Ref<'a, Poll>);

impl std::ops::Deref for RegistryRef<'_> {
    type Target = Registry;

    fn deref(&self) -> &Registry {
        self.0.registry()
    }
}

impl std::os::fd::AsRawFd for Inner {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.poll.borrow().as_raw_fd()
    }
}
