//! Timers as futures: `sleep`, `sleep_until`, `timeout`.
//!
//! A [`Sleep`] puts one entry on the loop's timer heap when first polled
//! (the same heap `Timer` and `Timer::single_shot` use) and takes it off
//! when dropped, so a cancelled sleep leaves nothing behind.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::dispatcher::{self, TimerAction};
use crate::timer::{deadline_for, TimerType};
use crate::timer_heap::TimerKey;

/// What the timer entry and the future share.
#[derive(Default)]
struct Alarm {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Alarm {
    fn ring(&self) {
        self.fired.set(true);
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A future that completes at a deadline, on the loop's timer heap.
/// Made by [`sleep`] and [`sleep_until`].
///
/// Qt: `QTimer::singleShot` awaited; `QDeadlineTimer` as a future.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use sigloop_core::{block_on, sleep};
///
/// let start = Instant::now();
/// block_on(sleep(Duration::from_millis(5)));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub struct Sleep {
    /// `None`: never (the deadline lies beyond the clock's range).
    deadline: Option<Instant>,
    alarm: Rc<Alarm>,
    key: Option<TimerKey>,
}

/// A future that completes after `duration`. `Duration::MAX` (or any
/// duration the clock cannot represent) never completes.
///
/// Waits under 2 s are precise; longer ones are coarse as Qt's
/// `QTimer::singleShot` makes them (within 5 %, aligned so that the loop
/// wakes less often).
///
/// Qt: `QTimer::singleShot(msec, …)`, awaited.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::{block_on, sleep};
///
/// assert_eq!(block_on(async {
///     sleep(Duration::from_millis(1)).await;
///     1
/// }), Some(1));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let kind = if duration < Duration::from_secs(2) {
        TimerType::Precise
    } else {
        TimerType::Coarse
    };
    Sleep::new(deadline_for(kind, duration, Instant::now()))
}

/// A future that completes at `deadline` (at once if it has passed).
///
/// Qt: a `QDeadlineTimer`'s deadline, awaited.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use sigloop_core::{block_on, sleep_until};
///
/// let at = Instant::now() + Duration::from_millis(3);
/// block_on(sleep_until(at));
/// assert!(Instant::now() >= at);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline))
}

impl Sleep {
    fn new(deadline: Option<Instant>) -> Sleep {
        Sleep {
            deadline,
            alarm: Rc::new(Alarm::default()),
            key: None,
        }
    }

    /// When the sleep completes; `None` for never.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(sigloop_core::sleep(Duration::from_millis(1)).deadline().is_some());
    /// assert!(sigloop_core::sleep(Duration::MAX).deadline().is_none());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::sleep(std::time::Duration::ZERO).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.alarm.fired.get() || self.deadline.is_some_and(|at| at <= Instant::now())
    }

    fn disarm(&mut self) {
        if let Some(key) = self.key.take() {
            // The removed entry is dropped after the heap's borrow ends.
            let removed =
                dispatcher::try_with_current(|inner| inner.timers.borrow_mut().remove(key));
            drop(removed);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_elapsed() {
            self.disarm();
            return Poll::Ready(());
        }
        // The executor's clone runs before the borrow.
        let waker = cx.waker().clone();
        let previous = self.alarm.waker.borrow_mut().replace(waker);
        drop(previous);
        if self.key.is_none() {
            if let Some(deadline) = self.deadline {
                let alarm = self.alarm.clone();
                let call = TimerAction::Call(Box::new(move || alarm.ring()));
                let key = dispatcher::with_current(|inner| inner.insert_timer(deadline, call));
                self.key = Some(key);
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}

/// The error of a [`timeout`] whose time ran out first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::{block_on, timeout, Elapsed};
///
/// let late = block_on(timeout(Duration::from_millis(1), std::future::pending::<()>()));
/// assert_eq!(late, Some(Err(Elapsed)));
/// assert_eq!(Elapsed.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// A future that gives `future`'s output, or `Err(Elapsed)` once
/// `duration` has passed (the future is then dropped with the `Timeout`).
/// Made by [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::{block_on, timeout};
///
/// assert_eq!(block_on(timeout(Duration::from_secs(5), async { 7 })), Some(Ok(7)));
/// ```
pub struct Timeout<F> {
    future: Pin<Box<F>>,
    sleep: Sleep,
}

/// Runs `future` with a time limit: its output, or `Err(Elapsed)` when
/// `duration` passes first. `Duration::MAX` means no limit.
///
/// Qt: the `msecs` argument of the `waitFor…` functions, for a future.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::{block_on, sleep, timeout};
///
/// let result = block_on(timeout(Duration::from_millis(2), sleep(Duration::from_secs(60))));
/// assert!(result.unwrap().is_err());
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future: Box::pin(future),
        sleep: sleep(duration),
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("sleep", &self.sleep)
            .finish()
    }
}
