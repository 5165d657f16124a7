//! The per-thread loop state and one pass of the loop.
//!
//! A pass, in Qt's order: drain the cross-thread queue (what was queued
//! when the pass began, within a budget), run the posted calls that were
//! queued when the pass began, run the deferred deletes the nesting rules
//! allow, poll (waiting only when nothing is pending), run calls that woke
//! the poll if the pass drained none at first, dispatch I/O readiness, fire
//! due timers. No borrow of this state is held while user code runs, and
//! what a pass has not processed yet stays in this state, where a nested
//! loop (or the next pass, after a slot panicked) finds it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::{Events, Poll, Registry, Token};
use sigloop_signals::__private::{install_local_queue, LocalCall, LocalQueue};
use sigloop_signals::queue::SendCall;
use slab::Slab;

use crate::flags::ProcessEventsFlags;
use crate::handle::Shared;
use crate::io::{IoHandler, Readiness};
use crate::timer_heap::TimerHeap;

pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Calls from other threads moved into one pass at most. Large enough that
/// a pass costs little per call; small enough that a pass stays short (a
/// few milliseconds even unoptimised) when producers outpace the loop.
const DRAIN_BUDGET: usize = 2048;

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
    install_local_queue(Rc::new(LocalAdapter(Rc::downgrade(&inner))));
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
    pending_io: RefCell<VecDeque<(Token, Readiness)>>,
    loop_level: Cell<u32>,
    scope_level: Cell<u32>,
    pub(crate) quit_now: Cell<bool>,
    pub(crate) app_running: Cell<bool>,
    frames: RefCell<Vec<Rc<Frame>>>,
    /// A host loop (the tokio driver) sleeps on this loop's descriptor and
    /// timer: work queued from outside a pass must wake it (see
    /// [`Hosted`]). Always `false` under `exec`.
    host_idle: Cell<bool>,
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
            pending_io: RefCell::new(VecDeque::new()),
            loop_level: Cell::new(0),
            scope_level: Cell::new(0),
            quit_now: Cell::new(false),
            app_running: Cell::new(false),
            frames: RefCell::new(Vec::new()),
            host_idle: Cell::new(false),
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
        self.wake_host();
    }

    /// Wakes a host loop sleeping on this loop (see [`Hosted`]): new work
    /// came from outside a pass. A flag test when no host sleeps.
    #[inline]
    fn wake_host(&self) {
        if self.host_idle.replace(false) {
            self.shared.wake_poll();
        }
    }

    /// Puts a timer on the heap; a sleeping host loop recomputes its wait.
    pub(crate) fn insert_timer(
        &self,
        deadline: Instant,
        action: TimerAction,
    ) -> crate::timer_heap::TimerKey {
        let key = self.timers.borrow_mut().insert(deadline, action);
        self.wake_host();
        key
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
        self.wake_host();
    }

    /// Moves calls other threads queued before this point to the posted
    /// queue: only those, and at most [`DRAIN_BUDGET`] of them. A channel
    /// that producers keep filling would otherwise never run dry, and the
    /// pass would never reach its timers, I/O or a `quit` (Qt's
    /// `sendPostedEvents` likewise leaves events posted meanwhile to the
    /// next pass). The budget keeps each pass short when producers outpace
    /// the loop, so a timer still fires close to its time.
    fn drain_incoming(&self) -> bool {
        // A sender queues, then raises `woken` and wakes the poll: with the
        // flag down nothing waits here, or a wake-up is on its way. This
        // spares a fence and a channel probe on every pass.
        if !self.shared.is_woken() {
            return false;
        }
        // Cleared before counting: a call queued after the count raises the
        // flag again and wakes the next poll.
        self.shared.clear_woken();
        let queued = self.incoming.len();
        let taken = queued.min(DRAIN_BUDGET);
        for call in self.incoming.try_iter().take(taken) {
            self.post(call);
        }
        if taken < queued {
            // The rest waits for the next pass, which must not sleep first.
            self.shared.raise_woken();
        }
        queued > 0
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
    ///
    /// If a `destroyed` slot panics, the deletes not run yet go back to the
    /// front of the list for the next pass (see [`Unrun`]).
    pub(crate) fn run_deletes(&self, forced: bool) -> bool {
        let current = self.loop_level.get() + self.scope_level.get();
        let is_due = |level: u32| {
            level > current || (level == 0 && current > 0) || (forced && level == current)
        };
        let due: Vec<(u32, LocalCall)> = {
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
        let mut due = Unrun {
            entries: due,
            next: 0,
            home: &self.deferred,
        };
        while let Some(call) = due.take_next() {
            self.in_scope(call);
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

    /// Files `handler` under a fresh token; `None` when the token space is
    /// used up (more live registrations than [`token::MAX_KEYS`]).
    pub(crate) fn io_insert(&self, handler: Weak<dyn IoHandler>) -> Option<Token> {
        let generation = token::next_generation(self.io_generation.get());
        let mut io = self.io.borrow_mut();
        let entry = io.vacant_entry();
        let token = token::pack(generation, entry.key())?;
        self.io_generation.set(generation);
        entry.insert(IoSlot {
            generation,
            handler,
        });
        Some(token)
    }

    pub(crate) fn io_remove(&self, token: Token) {
        let (generation, key) = token::unpack(token);
        let mut io = self.io.borrow_mut();
        if io
            .get(key)
            .is_some_and(|slot| slot.generation == generation)
        {
            io.remove(key);
        }
    }

    fn io_handler(&self, token: Token) -> Option<Rc<dyn IoHandler>> {
        let (generation, key) = token::unpack(token);
        let io = self.io.borrow();
        let slot = io.get(key)?;
        if slot.generation != generation {
            return None;
        }
        slot.handler.upgrade()
    }

    /// Dispatches the readiness the last poll queued, one source at a time
    /// from the shared queue: a nested loop started by a handler's slot
    /// dispatches the rest (edge-triggered sources would hear of it no
    /// more), and a panicking slot leaves the rest for the next pass.
    fn dispatch_io(&self) -> bool {
        // Only what is queued now: a nested loop's poll may add more.
        let mut left = self.pending_io.borrow().len();
        let ran = left > 0;
        while left > 0 {
            left -= 1;
            let Some((token, readiness)) = self.pending_io.borrow_mut().pop_front() else {
                break;
            };
            if let Some(handler) = self.io_handler(token) {
                self.in_scope(|| handler.ready(readiness));
            }
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
        // Readiness still pending (from passes that excluded notifiers, or
        // not yet dispatched by the pass a nested loop runs in) is merged
        // with new edges of the same source, so a source is reported once.
        // One poll never repeats a token, so only those older entries are
        // searched (none in a normal pass).
        let carried = pending.len();
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            let readiness = Readiness::from_event(event);
            match pending
                .iter_mut()
                .take(carried)
                .find(|(t, _)| *t == event.token())
            {
                Some((_, earlier)) => *earlier = *earlier | readiness,
                None => pending.push_back((event.token(), readiness)),
            }
        }
    }

    // ----- timers ------------------------------------------------------------

    /// Fires the timers due now, one at a time from the heap: a nested loop
    /// started by a `timeout` slot fires the other due timers, and a
    /// panicking slot leaves them in the heap for the next pass. Timers
    /// armed meanwhile (a zero-interval timer re-arming itself) wait for the
    /// next pass.
    fn fire_timers(&self) -> bool {
        let now = Instant::now();
        let limit = self.timers.borrow().next_seq();
        let mut ran = false;
        loop {
            let due = self.timers.borrow_mut().pop_due(now, limit);
            let Some((_, action)) = due else { break };
            ran = true;
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
        let drained = self.drain_incoming();
        let mut did = drained;
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
        // Calls that woke the poll run now, unless this pass already ran a
        // batch from other threads: those queued since wait for the next
        // pass, so timers and I/O keep their turn however fast they come.
        if !drained && self.drain_incoming() {
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
        self.wake_host();
    }
}

/// This thread's loop run by a host loop instead of `exec`: an exec frame
/// (so `exit`, `quit`, nesting levels and deferred deletes behave as under
/// `exec`) that stays entered while the host runs its own work between
/// non-blocking passes. Leaving it (drop) ends the frame.
///
/// The host's own code (a tokio task) runs between passes one scope deep,
/// as a slot would under `exec`: a `delete_later` it calls is due at the
/// next pass, as Qt's would be from an event handler.
///
/// The host sleeps on the loop's descriptor and next timer; while it does
/// ([`set_idle`](Self::set_idle)), a call posted, a timer added, a delete
/// deferred or an exit requested from the host's own code wakes the
/// descriptor.
#[cfg(feature = "tokio")]
pub(crate) struct Hosted {
    inner: Rc<Inner>,
    frame: Rc<Frame>,
}

#[cfg(feature = "tokio")]
impl Hosted {
    /// Enters the frame; `None` if a loop already runs on this thread.
    pub(crate) fn enter() -> Option<Hosted> {
        let inner = current();
        if inner.any_running() {
            return None;
        }
        inner.quit_now.set(false);
        inner.app_running.set(true);
        let frame = Rc::new(Frame {
            exit: Cell::new(None),
        });
        inner.frames.borrow_mut().push(frame.clone());
        inner.loop_level.set(inner.loop_level.get() + 1);
        inner.scope_level.set(inner.scope_level.get() + 1);
        Some(Hosted { inner, frame })
    }

    /// One pass that does not block, at the frame's own level (out of the
    /// host's scope for its duration, also if a slot panics).
    pub(crate) fn pass(&self) {
        struct HostScope<'a>(&'a Cell<u32>);
        impl Drop for HostScope<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let scope = &self.inner.scope_level;
        scope.set(scope.get() - 1);
        let _back = HostScope(scope);
        self.inner
            .pass(ProcessEventsFlags::ALL_EVENTS, Some(Duration::ZERO));
    }

    /// The code the frame was asked to exit with.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.frame.exit.get()
    }

    /// How long the host may sleep (see `time_to_next_timer`).
    pub(crate) fn time_to_next_timer(&self) -> Option<Duration> {
        self.inner
            .time_to_next_timer(ProcessEventsFlags::ALL_EVENTS)
    }

    /// Whether the host is about to sleep (`true`) or awake (`false`).
    pub(crate) fn set_idle(&self, idle: bool) {
        self.inner.host_idle.set(idle);
    }

    /// The loop's poll descriptor.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&*self.inner)
    }
}

#[cfg(feature = "tokio")]
impl Drop for Hosted {
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.host_idle.set(false);
        inner
            .frames
            .borrow_mut()
            .retain(|frame| !Rc::ptr_eq(frame, &self.frame));
        inner.loop_level.set(inner.loop_level.get() - 1);
        inner.scope_level.set(inner.scope_level.get() - 1);
        inner.app_running.set(false);
        inner.quit_now.set(false);
    }
}

/// Deferred deletes taken out of the list to run. Whatever was not run
/// when this is dropped (a slot panicked) goes back to the front of the
/// list, at its level, for a later pass.
struct Unrun<'a> {
    entries: Vec<(u32, LocalCall)>,
    next: usize,
    home: &'a RefCell<Vec<(u32, LocalCall)>>,
}

impl Unrun<'_> {
    fn take_next(&mut self) -> Option<LocalCall> {
        let (_, call) = self.entries.get_mut(self.next)?;
        // A no-op stands in for the call taken, so the rest stay in place.
        let call = std::mem::replace(call, Box::new(|| {}));
        self.next += 1;
        Some(call)
    }
}

impl Drop for Unrun<'_> {
    fn drop(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        let rest = entries.split_off(self.next.min(entries.len()));
        // Also the drop of the calls run: none is left (they were moved
        // out); the emptied vector takes the next deletes.
        entries.clear();
        let mut home = self.home.borrow_mut();
        if rest.is_empty() {
            if home.is_empty() {
                *home = entries;
            }
        } else {
            home.splice(0..0, rest);
        }
    }
}

/// How a registration's mio token packs its slab key and generation.
///
/// The key takes the low bits, the generation the rest, so an event for a
/// slot that was freed and reused carries a stale generation and is
/// dropped. On 64-bit targets each gets 32 bits; on 32-bit targets the key
/// gets 20 bits (a million live registrations, far above the descriptor
/// limit) and the generation 12. The all-ones key is never used, so no
/// token is the waker's (`usize::MAX`) and a token plus one never
/// overflows.
pub(crate) mod token {
    use mio::Token;

    /// Bits of the slab key.
    const KEY_BITS: u32 = if usize::BITS >= 64 { 32 } else { 20 };
    const KEY_MASK: usize = (1 << KEY_BITS) - 1;
    /// Bits of the generation.
    const GENERATION_BITS: u32 = usize::BITS - KEY_BITS;
    const GENERATION_MASK: u32 = u32::MAX >> (32 - GENERATION_BITS);

    // Checked when compiling for each target: the split fills the word,
    // leaves room for every descriptor a process may hold, and keeps enough
    // generations that a slot reused within one poll is told apart.
    const _: () = assert!(KEY_BITS + GENERATION_BITS == usize::BITS);
    const _: () = assert!(KEY_BITS >= 20 && GENERATION_BITS >= 12);

    /// Live registrations a loop can hold at once.
    pub(crate) const MAX_KEYS: usize = KEY_MASK;

    /// The generation after `previous`, wrapping within its bits.
    pub(crate) fn next_generation(previous: u32) -> u32 {
        previous.wrapping_add(1) & GENERATION_MASK
    }

    /// The token of slab `key` at `generation`; `None` if the key does not
    /// fit.
    pub(crate) fn pack(generation: u32, key: usize) -> Option<Token> {
        if key >= MAX_KEYS {
            return None;
        }
        let generation = (generation & GENERATION_MASK) as usize;
        Some(Token(generation << KEY_BITS | key))
    }

    /// The generation and slab key of a token.
    pub(crate) fn unpack(token: Token) -> (u32, usize) {
        ((token.0 >> KEY_BITS) as u32, token.0 & KEY_MASK)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_bit_round_trips_and_nothing_collides_with_the_waker() {
            let top_generation = next_generation(GENERATION_MASK - 1);
            assert_eq!(top_generation, GENERATION_MASK);
            assert_eq!(next_generation(GENERATION_MASK), 0, "wraps");
            for generation in [0, 1, top_generation] {
                for key in [0, 1, MAX_KEYS - 1] {
                    let token = pack(generation, key).unwrap();
                    assert_eq!(unpack(token), (generation, key));
                    assert_ne!(token, super::super::WAKER_TOKEN);
                    assert!(token.0.checked_add(1).is_some());
                }
            }
            assert_eq!(pack(0, MAX_KEYS), None);
            assert_eq!(pack(0, usize::MAX), None);
        }

        #[test]
        fn the_generation_mask_has_the_generation_bits() {
            assert_eq!(GENERATION_MASK.count_ones(), GENERATION_BITS);
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
