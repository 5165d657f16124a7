//! `LoopHandle`: the `Send + Clone` way into a loop from any thread.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, ThreadId};

use crossbeam_channel::{Receiver, Sender};
use mio::{Registry, Token, Waker};
use sigloop_signals::queue::{QueueClosed, SendCall, ThreadQueue};
use sigloop_signals::ConnectError;

use crate::dispatcher;

/// The parts of a loop other threads reach.
pub(crate) struct Shared {
    sender: Sender<SendCall>,
    waker: Waker,
    thread: ThreadId,
    /// Set by the first post after a drain; saves redundant wake-ups.
    woken: AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        registry: &Registry,
        token: Token,
    ) -> io::Result<(Arc<Shared>, Receiver<SendCall>)> {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let shared = Shared {
            sender,
            waker: Waker::new(registry, token)?,
            thread: thread::current().id(),
            woken: AtomicBool::new(false),
        };
        Ok((Arc::new(shared), receiver))
    }

    /// Called by the loop right before it drains the channel: a post that
    /// lands after the drain sees `false` and wakes the loop again.
    pub(crate) fn clear_woken(&self) {
        self.woken.store(false, Ordering::SeqCst);
    }

    /// Raised by the loop itself when a drain left calls in the channel:
    /// the next pass drains again instead of sleeping.
    pub(crate) fn raise_woken(&self) {
        self.woken.store(true, Ordering::SeqCst);
    }

    /// Whether a post raised the flag since the last drain.
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    /// Makes the poll descriptor readable without posting anything.
    pub(crate) fn wake_poll(&self) {
        if let Err(err) = self.waker.wake() {
            log::error!("sigloop: cannot wake the event loop: {err}");
        }
    }

    fn wake(&self) {
        if !self.woken.swap(true, Ordering::SeqCst) {
            if let Err(err) = self.waker.wake() {
                log::error!("sigloop: cannot wake the event loop: {err}");
            }
        }
    }
}

/// A handle to one thread's event loop, usable from any thread.
///
/// Post closures to it, make queued connections into it
/// ([`Signal::connect_to_loop`](sigloop_signals::Signal::connect_to_loop)),
/// or stop it. Posting wakes the loop through its single `mio::Waker`; the
/// loop drains every call waiting in its queue on each wake.
///
/// Qt: posting to a `QObject` living in another thread,
/// `QMetaObject::invokeMethod(obj, functor, Qt::QueuedConnection)`,
/// `QThread::quit()`/`exit()`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{EventDispatcher, LoopHandle};
///
/// let handle: LoopHandle = EventDispatcher::handle();
/// std::thread::spawn(move || {
///     handle.post(|| println!("on the main loop")).unwrap();
///     handle.exit(3);
/// });
/// assert_eq!(EventDispatcher::exec(), 3);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Arc<Shared>,
}

impl LoopHandle {
    pub(crate) fn current() -> Self {
        dispatcher::with_current(|inner| LoopHandle {
            shared: inner.shared.clone(),
        })
    }

    /// Queues `call` to run on the loop's thread, after the calls already
    /// queued there.
    ///
    /// # Errors
    ///
    /// [`QueueClosed`] once the loop's thread has exited; `call` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = sigloop_core::EventDispatcher::handle();
    /// handle.post(|| println!("later")).unwrap();
    /// ```
    pub fn post(&self, call: impl FnOnce() + Send + 'static) -> Result<(), QueueClosed> {
        self.post_boxed(Box::new(call))
    }

    fn post_boxed(&self, call: SendCall) -> Result<(), QueueClosed> {
        self.shared.sender.send(call).map_err(|_| QueueClosed)?;
        self.shared.wake();
        Ok(())
    }

    /// Asks every loop running on that thread to return `code`, as
    /// [`EventDispatcher::exit`](crate::EventDispatcher::exit) would there.
    /// The request is queued, so one made before the thread's `exec` starts
    /// still stops it (Qt's `QThread::exit` remembers it too).
    ///
    /// # Errors
    ///
    /// [`QueueClosed`] if the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = sigloop_core::EventDispatcher::handle();
    /// handle.exit(7).unwrap();
    /// assert_eq!(sigloop_core::EventDispatcher::exec(), 7);
    /// ```
    pub fn exit(&self, code: i32) -> Result<(), QueueClosed> {
        self.post(move || dispatcher::with_current(|inner| inner.exit_all(code)))
    }

    /// `exit(0)`.
    ///
    /// # Errors
    ///
    /// [`QueueClosed`] if the loop is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = sigloop_core::EventDispatcher::handle();
    /// handle.quit().unwrap();
    /// assert_eq!(sigloop_core::EventDispatcher::exec(), 0);
    /// ```
    pub fn quit(&self) -> Result<(), QueueClosed> {
        self.exit(0)
    }

    /// Runs `call` on the loop's thread and waits for its result.
    ///
    /// Qt: `QMetaObject::invokeMethod(obj, functor, Qt::BlockingQueuedConnection)`.
    ///
    /// # Errors
    ///
    /// [`ConnectError::WouldDeadlock`] when called on the loop's own thread
    /// (Qt deadlocks there); [`ConnectError::ReceiverGone`] when the loop is
    /// gone or drops the call unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::LoopThread;
    ///
    /// let worker = LoopThread::start("worker").unwrap();
    /// let answer = worker.handle().invoke_blocking(|| 6 * 7).unwrap();
    /// assert_eq!(answer, 42);
    /// ```
    pub fn invoke_blocking<R: Send + 'static>(
        &self,
        call: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, ConnectError> {
        if self.is_current_thread() {
            return Err(ConnectError::WouldDeadlock);
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.post(move || {
            let _ = tx.send(call());
        })
        .map_err(|_| ConnectError::ReceiverGone)?;
        rx.recv().map_err(|_| ConnectError::ReceiverGone)
    }

    /// Wakes the loop without posting anything: a blocked poll returns.
    ///
    /// Qt: `QAbstractEventDispatcher::wakeUp()`.
    ///
    /// # Examples
    ///
    /// ```
    /// sigloop_core::EventDispatcher::handle().wake_up();
    /// ```
    pub fn wake_up(&self) {
        self.shared.wake_poll();
    }

    /// Whether the loop runs on the calling thread.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::EventDispatcher::handle().is_current_thread());
    /// ```
    pub fn is_current_thread(&self) -> bool {
        thread::current().id() == self.shared.thread
    }

    /// The id of the loop's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = sigloop_core::EventDispatcher::handle();
    /// assert_eq!(handle.thread_id(), std::thread::current().id());
    /// ```
    pub fn thread_id(&self) -> ThreadId {
        self.shared.thread
    }
}

impl ThreadQueue for LoopHandle {
    fn is_current_thread(&self) -> bool {
        LoopHandle::is_current_thread(self)
    }

    fn post(&self, call: SendCall) -> Result<(), QueueClosed> {
        self.post_boxed(call)
    }

    fn identity(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("thread", &self.shared.thread)
            .finish()
    }
}
