//! Futures on the loop: `spawn_local`, `JoinHandle`, `block_on`.
//!
//! A task is a `!Send` future that lives in its thread's task table and is
//! polled by the thread's loop. Nothing here runs unless a task exists: a
//! woken task is queued on a per-thread ready list, and the first wake-up
//! posts one ordinary call to the loop that polls the ready tasks (up to a
//! budget per call, then it posts itself again so timers and I/O keep their
//! turn). The loop's passes, emission and dispatch are untouched, so a
//! program that never spawns pays nothing.
//!
//! A task's waker is `Send + Sync`: woken on the loop's thread it queues the
//! task directly; woken from another thread it posts through the loop's
//! [`LoopHandle`], the same channel `LoopHandle::post` uses.
//!
//! No user code runs under a borrow of the task table: a future is taken
//! out of its slot while it is polled, and futures, wakers and results are
//! dropped after the borrow is released. A task that panics unwinds out of
//! the loop like a panicking slot: its slot is removed first, its
//! [`JoinHandle`] reports [`JoinError::Panicked`], and the other ready
//! tasks stay queued for the next pass.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use crate::dispatcher;
use crate::event_loop::EventLoop;
use crate::handle::LoopHandle;

/// Ready tasks polled by one posted call at most; the rest wait for the
/// next pass, after the loop's timers and I/O had their turn (tokio's
/// `LocalSet` polls its driver every 61 tasks for the same reason).
const POLL_BUDGET: usize = 128;

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

/// One task in the thread's table.
struct TaskSlot {
    generation: u64,
    /// `None` while the task is being polled.
    future: Option<BoxFuture>,
    /// The task's waker, made once; lent to each poll with the future.
    waker: Option<Waker>,
    /// The same waker's state, for its `scheduled` flag.
    wake_state: Arc<TaskWaker>,
    /// Woken while it was being polled from a loop nested in its own poll:
    /// queue it again once that poll returns.
    rewake: bool,
    /// Told when the task ends without finishing (a panic, an abort).
    outcome: Rc<dyn Outcome>,
}

/// The thread's tasks and its ready list.
#[derive(Default)]
struct Tasks {
    slots: RefCell<Slab<TaskSlot>>,
    ready: RefCell<VecDeque<(usize, u64)>>,
    /// A call that polls the ready list is posted and has not run yet.
    runner_posted: Cell<bool>,
    next_generation: Cell<u64>,
}

thread_local! {
    static TASKS: Tasks = Tasks::default();
    /// This thread's id, cached: `thread::current()` costs two atomic
    /// operations per call, and every wake-up asks.
    static THREAD_ID: std::thread::ThreadId = std::thread::current().id();
}

/// Whether the calling thread is `home`'s.
fn on_thread_of(home: &LoopHandle) -> bool {
    THREAD_ID
        .try_with(|id| *id == home.thread_id())
        .unwrap_or(false)
}

/// How a task that ended without finishing reports it to its handle.
trait Outcome {
    fn fail(&self, error: JoinError);
}

/// The `Send + Sync` waker of one task.
struct TaskWaker {
    key: usize,
    generation: u64,
    /// Queued (or about to be): further wake-ups need do nothing.
    scheduled: AtomicBool,
    home: LoopHandle,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let (key, generation) = (self.key, self.generation);
        if on_thread_of(&self.home) {
            schedule(key, generation);
        } else {
            // The loop's thread may have exited: the task is gone with it.
            let _ = self.home.post(move || schedule(key, generation));
        }
    }
}

/// Queues a task on this thread's ready list and makes sure a call that
/// polls the list is posted.
fn schedule(key: usize, generation: u64) {
    let post = TASKS.try_with(|tasks| {
        tasks.ready.borrow_mut().push_back((key, generation));
        !tasks.runner_posted.replace(true)
    });
    if post == Ok(true) {
        dispatcher::try_with_current(|inner| inner.post(Box::new(run_ready)));
    }
}

/// Polls the ready tasks, up to [`POLL_BUDGET`]. Tasks woken meanwhile
/// join the list; whatever is left (the budget ran out, or a task panicked
/// out of this call) gets a new posted call.
///
/// The posted call is consumed when it starts: a wake-up during a poll
/// posts a new one, so a loop nested in a task's poll (`block_on` inside a
/// task, a blocking wait) runs the tasks it needs. The call that finds the
/// list empty costs one posted call.
fn run_ready() {
    struct Repost;
    impl Drop for Repost {
        fn drop(&mut self) {
            let post = TASKS.try_with(|tasks| {
                !tasks.ready.borrow().is_empty() && !tasks.runner_posted.replace(true)
            });
            if post == Ok(true) {
                dispatcher::try_with_current(|inner| inner.post(Box::new(run_ready)));
            }
        }
    }
    let _ = TASKS.try_with(|tasks| tasks.runner_posted.set(false));
    let _repost = Repost;
    for _ in 0..POLL_BUDGET {
        match TASKS.with(take_next) {
            Next::Poll(key, generation, future, waker) => {
                poll_task(key, generation, future, waker);
            }
            Next::Skip => {}
            Next::Empty => break,
        }
    }
}

/// What the ready list gave.
enum Next {
    /// A task to poll, taken out of its slot with its waker.
    Poll(usize, u64, BoxFuture, Waker),
    /// Gone (finished, aborted) or being polled further up the stack.
    Skip,
    Empty,
}

/// Pops the next ready task and takes its future and waker out of its
/// slot, in one visit to the table.
fn take_next(tasks: &Tasks) -> Next {
    let Some((key, generation)) = tasks.ready.borrow_mut().pop_front() else {
        return Next::Empty;
    };
    let mut slots = tasks.slots.borrow_mut();
    let Some(slot) = slots.get_mut(key).filter(|s| s.generation == generation) else {
        return Next::Skip;
    };
    // Cleared before the poll: a wake-up during the poll queues again.
    slot.wake_state.scheduled.store(false, Ordering::Release);
    match (slot.future.take(), slot.waker.take()) {
        (Some(future), Some(waker)) => Next::Poll(key, generation, future, waker),
        (future, waker) => {
            slot.future = future;
            slot.waker = waker;
            slot.rewake = true;
            Next::Skip
        }
    }
}

fn poll_task(key: usize, generation: u64, mut future: BoxFuture, waker: Waker) {
    let mut cx = Context::from_waker(&waker);
    let polled = panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
    match polled {
        Ok(Poll::Pending) => {
            let back = TASKS.with(|tasks| {
                let mut slots = tasks.slots.borrow_mut();
                match slots.get_mut(key).filter(|s| s.generation == generation) {
                    Some(slot) => {
                        slot.future = Some(future);
                        slot.waker = Some(waker);
                        Ok(std::mem::take(&mut slot.rewake).then(|| slot.wake_state.clone()))
                    }
                    // Aborted during its own poll: dropped below, unborrowed.
                    None => Err((future, waker)),
                }
            });
            match back {
                Ok(Some(again)) => again.wake_by_ref(),
                Ok(None) => {}
                Err(parts) => drop(parts),
            }
        }
        Ok(Poll::Ready(())) => {
            let slot = remove_slot(key, generation);
            drop(future);
            drop(waker);
            drop(slot);
        }
        Err(payload) => {
            let slot = remove_slot(key, generation);
            drop(future);
            drop(waker);
            if let Some(slot) = slot {
                slot.outcome.fail(JoinError::Panicked);
            }
            panic::resume_unwind(payload);
        }
    }
}

/// Takes a task's slot out of the table; the caller drops it unborrowed.
fn remove_slot(key: usize, generation: u64) -> Option<TaskSlot> {
    TASKS
        .try_with(|tasks| {
            let mut slots = tasks.slots.borrow_mut();
            if slots.get(key).is_some_and(|s| s.generation == generation) {
                Some(slots.remove(key))
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Why a task has no result.
///
/// # Examples
///
/// ```
/// use sigloop_core::{block_on, spawn_local, JoinError};
///
/// let task = spawn_local(std::future::pending::<()>());
/// task.abort();
/// assert_eq!(block_on(task), Some(Err(JoinError::Cancelled)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JoinError {
    /// [`JoinHandle::abort`] dropped the task before it finished.
    Cancelled,
    /// The task's future panicked; the panic unwound out of the loop (as a
    /// panicking slot's does) and the task was dropped.
    Panicked,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JoinError::Cancelled => "the task was cancelled",
            JoinError::Panicked => "the task panicked",
        })
    }
}

impl std::error::Error for JoinError {}

/// The result a task leaves for its handle, and the handle's waker.
struct JoinState<T> {
    result: RefCell<Option<Result<T, JoinError>>>,
    waker: RefCell<Option<Waker>>,
    done: Cell<bool>,
}

impl<T> JoinState<T> {
    fn finish(&self, result: Result<T, JoinError>) {
        if self.done.replace(true) {
            return;
        }
        *self.result.borrow_mut() = Some(result);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Outcome for JoinState<T> {
    fn fail(&self, error: JoinError) {
        self.finish(Err(error));
    }
}

/// A handle to a task made by [`spawn_local`]: await it for the task's
/// output, or [`abort`](Self::abort) it. Dropping the handle detaches the
/// task, which goes on running.
///
/// Awaiting gives `Err(JoinError::Cancelled)` for an aborted task and
/// `Err(JoinError::Panicked)` for one that panicked.
///
/// Qt has no equivalent (`QFuture` is not a coroutine).
///
/// # Examples
///
/// ```
/// use sigloop_core::{block_on, spawn_local};
///
/// let answer = spawn_local(async { 6 * 7 });
/// assert_eq!(block_on(answer), Some(Ok(42)));
/// ```
pub struct JoinHandle<T> {
    state: Rc<JoinState<T>>,
    key: usize,
    generation: u64,
}

impl<T> JoinHandle<T> {
    /// Drops the task now if it has not finished: its future is dropped
    /// (with whatever it holds: sockets, connections, timers) and awaiting
    /// the handle gives `Err(JoinError::Cancelled)`. Does nothing to a
    /// finished task. A task may abort itself: it is dropped when its
    /// current poll returns.
    ///
    /// Qt has no equivalent.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{spawn_local, EventDispatcher, ProcessEventsFlags};
    ///
    /// let task = spawn_local(async { unreachable!("never polled") });
    /// task.abort();
    /// EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    /// assert!(task.is_finished());
    /// ```
    pub fn abort(&self) {
        if let Some(slot) = remove_slot(self.key, self.generation) {
            self.state.finish(Err(JoinError::Cancelled));
            // The future (absent if the task aborts itself mid-poll) and
            // the rest drop here, with no borrow held.
            drop(slot);
        }
    }

    /// Whether the task has finished, was aborted or panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{spawn_local, EventDispatcher, ProcessEventsFlags};
    ///
    /// let task = spawn_local(async {});
    /// assert!(!task.is_finished());
    /// EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    /// assert!(task.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.state.done.get()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.state.result.borrow_mut().take() {
            return Poll::Ready(result);
        }
        // The executor's clone runs before the borrow.
        let waker = cx.waker().clone();
        let previous = self.state.waker.borrow_mut().replace(waker);
        drop(previous);
        Poll::Pending
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Runs `future` as a task on the calling thread's loop and returns a
/// handle to await or abort it.
///
/// The future needs not be `Send`: it stays on this thread and is polled
/// by this thread's loop (while `exec`, a nested loop, `process_events`
/// or [`block_on`] runs), first on the loop's next pass. Its waker may be
/// sent to and woken from any thread. A panic in the future unwinds out of
/// the loop as a panicking slot does.
///
/// Qt has no equivalent; it is what tokio's `spawn_local` is to a
/// `LocalSet`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::{sleep, spawn_local, EventDispatcher};
///
/// spawn_local(async {
///     sleep(Duration::from_millis(5)).await;
///     EventDispatcher::exit(3);
/// });
/// assert_eq!(EventDispatcher::exec(), 3);
/// ```
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let home = LoopHandle::current();
    let state = Rc::new(JoinState {
        result: RefCell::new(None),
        waker: RefCell::new(None),
        done: Cell::new(false),
    });
    let finish = state.clone();
    let wrapped: BoxFuture = Box::pin(async move {
        let output = future.await;
        finish.finish(Ok(output));
    });
    let outcome: Rc<dyn Outcome> = state.clone();
    let (key, generation, waker) = TASKS.with(|tasks| {
        let generation = tasks.next_generation.get().wrapping_add(1);
        tasks.next_generation.set(generation);
        let mut slots = tasks.slots.borrow_mut();
        let entry = slots.vacant_entry();
        let key = entry.key();
        let waker = Arc::new(TaskWaker {
            key,
            generation,
            scheduled: AtomicBool::new(false),
            home,
        });
        entry.insert(TaskSlot {
            generation,
            future: Some(wrapped),
            waker: Some(Waker::from(waker.clone())),
            wake_state: waker.clone(),
            rewake: false,
            outcome,
        });
        (key, generation, waker)
    });
    waker.wake_by_ref();
    JoinHandle {
        state,
        key,
        generation,
    }
}

/// Runs the calling thread's loop until `future` completes and returns its
/// output; `None` if the loop was asked to exit
/// ([`EventDispatcher::exit`](crate::EventDispatcher::exit)) first, in
/// which case the future is dropped unfinished.
///
/// The future runs as a task ([`spawn_local`]) while a nested
/// [`EventLoop`] runs, so everything else on the loop (slots, timers, other
/// tasks) goes on meanwhile. A panic in the future unwinds out of
/// `block_on`.
///
/// Qt has no equivalent; the nearest is a `QEventLoop` quit from a slot.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::{block_on, sleep};
///
/// let value = block_on(async {
///     sleep(Duration::from_millis(2)).await;
///     "done"
/// });
/// assert_eq!(value, Some("done"));
/// ```
pub fn block_on<F>(future: F) -> Option<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let event_loop = EventLoop::new();
    let output = Rc::new(RefCell::new(None));
    let (quit, slot) = (event_loop.clone(), output.clone());
    let task = spawn_local(async move {
        let value = future.await;
        *slot.borrow_mut() = Some(value);
        quit.quit();
    });
    loop {
        if let Some(value) = output.borrow_mut().take() {
            return Some(value);
        }
        if task.is_finished() || event_loop.exec() != 0 {
            break;
        }
    }
    task.abort();
    let value = output.borrow_mut().take();
    value
}
