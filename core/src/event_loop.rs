//! The thread's loop (`EventDispatcher`) and nested loops (`EventLoop`).

use std::cell::Cell;
use std::fmt;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use sigloop_signals::__private::LocalCall;
use sigloop_signals::Receiver;

use crate::dispatcher::{self, Frame};
use crate::flags::ProcessEventsFlags;
use crate::handle::LoopHandle;

/// The calling thread's event loop: run it, stop it, post to it, embed it.
///
/// Every thread has its own loop, made on first use; objects (timers,
/// notifiers, sockets) register with the loop of the thread that made them.
/// All functions act on the calling thread's loop.
///
/// Qt: the statics of `QCoreApplication` (`exec`, `exit`, `quit`,
/// `processEvents`) and `QAbstractEventDispatcher`.
///
/// # Examples
///
/// ```
/// use sigloop_core::EventDispatcher;
///
/// EventDispatcher::post(|| EventDispatcher::exit(2));
/// assert_eq!(EventDispatcher::exec(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventDispatcher;

impl EventDispatcher {
    /// Runs the loop until [`exit`](Self::exit) or [`quit`](Self::quit);
    /// returns the exit code.
    ///
    /// Returns -1 at once (with a warning) if a loop is already running on
    /// this thread. Any `exit` made before `exec` is forgotten, as in Qt.
    ///
    /// Qt: `QCoreApplication::exec()` (`QThread::exec()` on other threads).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    ///
    /// EventDispatcher::exit(5); // before exec: no effect
    /// EventDispatcher::post(|| EventDispatcher::quit());
    /// assert_eq!(EventDispatcher::exec(), 0);
    /// ```
    pub fn exec() -> i32 {
        let inner = dispatcher::current();
        if inner.any_running() {
            log::warn!("EventDispatcher::exec: the event loop is already running");
            return -1;
        }
        inner.quit_now.set(false);
        inner.app_running.set(true);
        let frame = Rc::new(Frame {
            exit: Cell::new(None),
        });
        let code = inner.run_frame(&frame, ProcessEventsFlags::ALL_EVENTS);
        inner.app_running.set(false);
        // Qt clears its quit flag when exec returns, so a loop started
        // afterwards runs normally.
        inner.quit_now.set(false);
        code
    }

    /// Makes every loop running on this thread — the outermost and any
    /// nested [`EventLoop`] — return; the outermost returns `code`. Nested
    /// loops started after this return -1 at once until
    /// [`exec`](Self::exec) returns (or, if none was running, until the
    /// next `exec` starts).
    ///
    /// Qt: `QCoreApplication::exit(code)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    ///
    /// EventDispatcher::post(|| EventDispatcher::exit(9));
    /// assert_eq!(EventDispatcher::exec(), 9);
    /// ```
    pub fn exit(code: i32) {
        dispatcher::with_current(|inner| inner.exit_all(code));
    }

    /// `exit(0)`, but only while [`exec`](Self::exec) runs; otherwise it
    /// does nothing.
    ///
    /// Qt: `QCoreApplication::quit()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    ///
    /// EventDispatcher::quit(); // not running: ignored
    /// EventDispatcher::post(EventDispatcher::quit);
    /// assert_eq!(EventDispatcher::exec(), 0);
    /// ```
    pub fn quit() {
        dispatcher::with_current(|inner| {
            if inner.app_running.get() {
                inner.exit_all(0);
            }
        });
    }

    /// Whether a loop (`exec` or a nested [`EventLoop`]) runs on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::EventDispatcher::is_running());
    /// ```
    pub fn is_running() -> bool {
        dispatcher::with_current(|inner| inner.any_running())
    }

    /// Whether this thread has a loop that can take new work: `false`
    /// before its first use, and once the thread has begun exiting and
    /// its loop is being destroyed. Code that runs from destructors checks
    /// it before it registers, posts or starts anything (the other calls
    /// would make a loop, or panic during the thread's teardown).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// std::thread::spawn(|| {
    ///     assert!(!EventDispatcher::is_available()); // nothing made it yet
    ///     EventDispatcher::post(|| {});
    ///     assert!(EventDispatcher::is_available());
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn is_available() -> bool {
        dispatcher::try_with_current(|_| ()).is_some()
    }

    /// Runs one pass of the loop: posted calls, ready I/O, due timers.
    /// Waits for something to happen only with
    /// [`WAIT_FOR_MORE_EVENTS`](ProcessEventsFlags::WAIT_FOR_MORE_EVENTS) and
    /// only when the pass found nothing to do at first. Returns whether
    /// anything was processed.
    ///
    /// Deferred deletes made at the current nesting level are not run, as
    /// in Qt; see [`send_posted_deletes`](Self::send_posted_deletes).
    ///
    /// Qt: `QCoreApplication::processEvents(flags)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_core::{EventDispatcher, ProcessEventsFlags};
    ///
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// EventDispatcher::post(move || r.set(true));
    /// assert!(EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS));
    /// assert!(ran.get());
    /// ```
    pub fn process_events(flags: ProcessEventsFlags) -> bool {
        let inner = dispatcher::current();
        let wait = if flags.contains(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS) {
            None
        } else {
            Some(Duration::ZERO)
        };
        inner.pass(flags, wait)
    }

    /// Runs passes, without waiting, while there is work and until
    /// `max_time` has passed.
    ///
    /// Qt: `QCoreApplication::processEvents(flags, maxtime)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::{EventDispatcher, ProcessEventsFlags};
    ///
    /// for _ in 0..3 {
    ///     EventDispatcher::post(|| {});
    /// }
    /// EventDispatcher::process_events_for(ProcessEventsFlags::ALL_EVENTS, Duration::from_millis(50));
    /// assert_eq!(EventDispatcher::time_to_next_timer(), None);
    /// ```
    pub fn process_events_for(flags: ProcessEventsFlags, max_time: Duration) {
        let inner = dispatcher::current();
        let flags = flags.without(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
        let start = Instant::now();
        while inner.pass(flags, Some(Duration::ZERO)) {
            if start.elapsed() > max_time {
                break;
            }
        }
    }

    /// Runs the deferred deletes queued at the current nesting level now.
    ///
    /// Qt: `QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{EventDispatcher, Timer};
    ///
    /// let timer = Timer::new();
    /// timer.delete_later();
    /// assert!(!timer.is_deleted());
    /// EventDispatcher::send_posted_deletes();
    /// assert!(timer.is_deleted());
    /// ```
    pub fn send_posted_deletes() {
        dispatcher::current().run_deletes(true);
    }

    /// Queues `call` to run on a later pass of this thread's loop, after
    /// the calls already queued.
    ///
    /// Qt: `QMetaObject::invokeMethod(obj, functor, Qt::QueuedConnection)`,
    /// `QTimer::singleShot(0, functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    ///
    /// EventDispatcher::post(|| println!("second"));
    /// println!("first");
    /// EventDispatcher::post(EventDispatcher::quit);
    /// EventDispatcher::exec();
    /// ```
    pub fn post(call: impl FnOnce() + 'static) {
        dispatcher::with_current(|inner| inner.post(Box::new(call)));
    }

    /// Like [`post`](Self::post), bound to `receiver`: the call is dropped
    /// unrun if the receiver is gone by then (Qt's context object).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use sigloop_core::{EventDispatcher, ProcessEventsFlags};
    ///
    /// let receiver = Rc::new(());
    /// EventDispatcher::post_to(&receiver, |_| panic!("never runs"));
    /// drop(receiver);
    /// EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    /// ```
    pub fn post_to<C: Receiver>(receiver: &C, call: impl FnOnce(&C) + 'static) {
        let weak = receiver.downgrade();
        let call: LocalCall = Box::new(move || {
            if let Some(receiver) = C::upgrade(&weak) {
                call(&receiver);
            }
        });
        let identity = receiver.identity();
        dispatcher::with_current(|inner| inner.post_for(Some(identity), call));
    }

    /// Drops, unrun, every call posted for `receiver` that has not run
    /// yet: those of [`post_to`](Self::post_to) and the queued slot calls
    /// of connections made with `connect_to_with(&receiver, Queued, …)`.
    /// Returns how many. Deferred deletes are not posted calls here: use
    /// the object's own state for those.
    ///
    /// Qt: `QCoreApplication::removePostedEvents(receiver)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use sigloop_core::{EventDispatcher, ProcessEventsFlags};
    ///
    /// let receiver = Rc::new(());
    /// EventDispatcher::post_to(&receiver, |_| panic!("removed"));
    /// EventDispatcher::post(|| println!("still runs"));
    /// assert_eq!(EventDispatcher::remove_posted_events(&receiver), 1);
    /// EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    /// ```
    pub fn remove_posted_events<C: Receiver>(receiver: &C) -> usize {
        let identity = receiver.identity();
        let removed = dispatcher::with_current(|inner| inner.take_posted_for(identity));
        // Dropped here, with no borrow of the loop held: their captures'
        // destructors are user code.
        removed.len()
    }

    /// Runs now, in order, the calls posted to this thread's loop before
    /// this call (cross-thread ones included), instead of on the next pass.
    /// Calls they post wait for the next pass. Deferred deletes are not
    /// run (see [`send_posted_deletes`](Self::send_posted_deletes)).
    ///
    /// Qt: `QCoreApplication::sendPostedEvents()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_core::EventDispatcher;
    ///
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// EventDispatcher::post(move || r.set(true));
    /// EventDispatcher::send_posted_events();
    /// assert!(ran.get());
    /// ```
    pub fn send_posted_events() {
        dispatcher::current().send_posted(None);
    }

    /// [`send_posted_events`](Self::send_posted_events) for the calls
    /// posted for `receiver` only (see
    /// [`remove_posted_events`](Self::remove_posted_events)); the others
    /// keep their place.
    ///
    /// Qt: `QCoreApplication::sendPostedEvents(receiver)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_core::EventDispatcher;
    ///
    /// let count = Rc::new(Cell::new(0));
    /// EventDispatcher::post_to(&count, |c| c.set(c.get() + 1));
    /// EventDispatcher::send_posted_events_to(&count);
    /// assert_eq!(count.get(), 1);
    /// ```
    pub fn send_posted_events_to<C: Receiver>(receiver: &C) {
        dispatcher::current().send_posted(Some(receiver.identity()));
    }

    /// A `Send` handle to this thread's loop.
    ///
    /// # Examples
    ///
    /// See [`LoopHandle`].
    pub fn handle() -> LoopHandle {
        LoopHandle::current()
    }

    /// The loop's poll descriptor (an epoll fd). It turns readable when the
    /// loop has something to do, so a host loop can watch it and then call
    /// [`dispatch_once`](Self::dispatch_once).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::EventDispatcher::as_raw_fd() >= 0);
    /// ```
    pub fn as_raw_fd() -> RawFd {
        dispatcher::with_current(|inner| inner.as_raw_fd())
    }

    /// How long a host loop may sleep before calling
    /// [`dispatch_once`](Self::dispatch_once): `Some(ZERO)` when work is
    /// already pending, the time to the next timer otherwise, `None` when
    /// only I/O or another thread can wake the loop.
    ///
    /// Qt: `QAbstractEventDispatcher::remainingTime()` over all timers.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::EventDispatcher;
    ///
    /// assert_eq!(EventDispatcher::time_to_next_timer(), None);
    /// EventDispatcher::post(|| {});
    /// assert_eq!(EventDispatcher::time_to_next_timer(), Some(Duration::ZERO));
    /// ```
    pub fn time_to_next_timer() -> Option<Duration> {
        dispatcher::with_current(|inner| inner.time_to_next_timer(ProcessEventsFlags::ALL_EVENTS))
    }

    /// Runs one pass, waiting at most `timeout` (`None`: until something
    /// happens) if nothing is pending. For driving the loop from a host
    /// loop; returns whether anything was processed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::EventDispatcher;
    ///
    /// EventDispatcher::post(|| println!("dispatched"));
    /// assert!(EventDispatcher::dispatch_once(Some(Duration::ZERO)));
    /// assert!(!EventDispatcher::dispatch_once(Some(Duration::from_millis(1))));
    /// ```
    pub fn dispatch_once(timeout: Option<Duration>) -> bool {
        dispatcher::current().pass(ProcessEventsFlags::ALL_EVENTS, timeout)
    }
}

/// A loop you start and stop yourself, usually nested inside another.
///
/// `exec` runs passes until this loop's [`exit`](Self::exit) or the
/// thread's [`EventDispatcher::exit`]. Cloning gives another handle to the
/// same loop, so a slot can stop it.
///
/// Qt: `QEventLoop`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{EventLoop, Timer};
/// use std::time::Duration;
///
/// let wait = EventLoop::new();
/// let w = wait.clone();
/// Timer::single_shot(Duration::from_millis(5), move || w.exit(4));
/// assert_eq!(wait.exec(), 4);
/// ```
#[derive(Clone)]
pub struct EventLoop {
    frame: Rc<Frame>,
    /// Exit requested while not running is ignored, as in Qt.
    running: Rc<Cell<bool>>,
}

impl EventLoop {
    /// A loop on the calling thread, not running.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::EventLoop::new().is_running());
    /// ```
    pub fn new() -> Self {
        EventLoop {
            frame: Rc::new(Frame {
                exit: Cell::new(None),
            }),
            running: Rc::new(Cell::new(false)),
        }
    }

    /// Runs until [`exit`](Self::exit)/[`quit`](Self::quit); returns the
    /// exit code. Returns -1 at once if this loop already runs, or if
    /// [`EventDispatcher::exit`] was called and the thread's `exec` has not
    /// returned (or started, if none ran) since.
    ///
    /// Qt: `QEventLoop::exec()`.
    ///
    /// # Examples
    ///
    /// See [`EventLoop`].
    pub fn exec(&self) -> i32 {
        self.exec_with(ProcessEventsFlags::ALL_EVENTS)
    }

    /// [`exec`](Self::exec) with flags, for instance
    /// [`EXCLUDE_SOCKET_NOTIFIERS`](ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS).
    ///
    /// Qt: `QEventLoop::exec(flags)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{EventDispatcher, EventLoop, ProcessEventsFlags};
    ///
    /// let inner = EventLoop::new();
    /// let i = inner.clone();
    /// EventDispatcher::post(move || i.quit());
    /// assert_eq!(inner.exec_with(ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS), 0);
    /// ```
    pub fn exec_with(&self, flags: ProcessEventsFlags) -> i32 {
        let inner = dispatcher::current();
        if self.running.get() {
            log::warn!("EventLoop::exec: instance already running");
            return -1;
        }
        if inner.quit_now.get() {
            return -1;
        }
        self.running.set(true);
        struct Running<'a>(&'a Cell<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        let _running = Running(&self.running);
        inner.run_frame(&self.frame, flags)
    }

    /// Makes this loop's `exec` return `code` once control is back in it.
    /// Does nothing if the loop is not running.
    ///
    /// Qt: `QEventLoop::exit(code)`.
    ///
    /// # Examples
    ///
    /// See [`EventLoop`].
    pub fn exit(&self, code: i32) {
        if self.running.get() {
            self.frame.exit.set(Some(code));
        }
    }

    /// `exit(0)`. Qt: `QEventLoop::quit()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = sigloop_core::EventLoop::new();
    /// l.quit(); // not running: ignored
    /// ```
    pub fn quit(&self) {
        self.exit(0);
    }

    /// Whether `exec` runs. Qt: `QEventLoop::isRunning()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::EventLoop::new().is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.running.get() && dispatcher::with_current(|inner| inner.is_running(&self.frame))
    }

    /// [`EventDispatcher::process_events`]. Qt: `QEventLoop::processEvents()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{EventLoop, ProcessEventsFlags};
    /// EventLoop::new().process_events(ProcessEventsFlags::ALL_EVENTS);
    /// ```
    pub fn process_events(&self, flags: ProcessEventsFlags) -> bool {
        EventDispatcher::process_events(flags)
    }

    /// Wakes the thread's loop. Qt: `QEventLoop::wakeUp()`.
    ///
    /// # Examples
    ///
    /// ```
    /// sigloop_core::EventLoop::new().wake_up();
    /// ```
    pub fn wake_up(&self) {
        EventDispatcher::handle().wake_up();
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("running", &self.running.get())
            .finish()
    }
}
