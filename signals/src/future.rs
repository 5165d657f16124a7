//! Awaiting emissions: [`Signal::next`] and [`Signal::stream`].
//!
//! Both are ordinary direct connections whose slot clones the value into a
//! small queue and wakes the waiting task; nothing is added to `emit`. The
//! future and the stream hold their [`Connection`] and break it when
//! dropped, so a cancelled wait leaves no slot behind. When the signal
//! itself goes away (or `disconnect_all` drops the slot), the slot's drop
//! marks the wait closed and wakes it: the future gives `None`, the stream
//! ends.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::{Connection, Signal};

/// What a waiting future or stream shares with its slot.
struct Waiter<T> {
    values: RefCell<VecDeque<T>>,
    /// Keep only the first value (a `next` future).
    once: bool,
    closed: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl<T> Waiter<T> {
    fn new(once: bool) -> Rc<Self> {
        Rc::new(Waiter {
            values: RefCell::new(VecDeque::new()),
            once,
            closed: Cell::new(false),
            waker: RefCell::new(None),
        })
    }

    /// Wakes the waiting task; the waker runs after our borrow ends.
    fn wake(&self) {
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn push(&self, value: &T)
    where
        T: Clone,
    {
        if self.once && !self.values.borrow().is_empty() {
            return;
        }
        // The user's `Clone` runs outside the borrow: no user code runs under
        // a library borrow.
        let value = value.clone();
        {
            let mut values = self.values.borrow_mut();
            if self.once && !values.is_empty() {
                return;
            }
            values.push_back(value);
        }
        self.wake();
    }

    fn poll_value(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let value = self.values.borrow_mut().pop_front();
        if let Some(value) = value {
            return Poll::Ready(Some(value));
        }
        if self.closed.get() {
            return Poll::Ready(None);
        }
        // The executor's waker clone runs before the borrow, its old one
        // drops after it.
        let waker = cx.waker().clone();
        let previous = self.waker.borrow_mut().replace(waker);
        drop(previous);
        Poll::Pending
    }
}

/// Lives in the slot: its drop (the slot was disconnected, or the signal
/// dropped) closes the wait.
struct CloseOnDrop<T>(Rc<Waiter<T>>);

impl<T> Drop for CloseOnDrop<T> {
    fn drop(&mut self) {
        self.0.closed.set(true);
        self.0.wake();
    }
}

fn connect_waiter<T: Clone + 'static>(
    signal: &Signal<T>,
    once: bool,
) -> (Rc<Waiter<T>>, Connection) {
    let waiter = Waiter::new(once);
    let guard = CloseOnDrop(waiter.clone());
    let connection = signal.connect(move |value| guard.0.push(value));
    (waiter, connection)
}

/// The next emission of a signal, as a future: made by [`Signal::next`].
///
/// Gives `Some(value)` for the first emission after it was made, `None` if
/// the signal is dropped (or its slots are all disconnected) first.
/// Dropping it disconnects its slot.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::task::{Context, Poll, Waker};
/// use sigloop_signals::Signal;
///
/// let signal = Signal::<u32>::new();
/// let mut next = std::pin::pin!(signal.next());
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(next.as_mut().poll(&mut cx), Poll::Pending);
/// signal.emit(&7);
/// assert_eq!(next.as_mut().poll(&mut cx), Poll::Ready(Some(7)));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct NextEmission<T> {
    waiter: Rc<Waiter<T>>,
    connection: Connection,
}

impl<T> Future for NextEmission<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let polled = self.waiter.poll_value(cx);
        if polled.is_ready() {
            self.connection.disconnect();
        }
        polled
    }
}

impl<T> Drop for NextEmission<T> {
    fn drop(&mut self) {
        self.connection.disconnect();
    }
}

impl<T> fmt::Debug for NextEmission<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextEmission")
            .field("connected", &self.connection.is_connected())
            .finish()
    }
}

/// Every emission of a signal from now on, as a
/// [`Stream`](futures_core::Stream): made by [`Signal::stream`].
///
/// Emissions that come while nobody polls are queued, in order (the queue
/// has no bound: poll the stream as fast as the signal emits). The stream
/// ends when the signal is dropped or its slots are all disconnected.
/// Dropping the stream disconnects its slot.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use sigloop_signals::Signal;
///
/// let signal = Signal::<&str>::new();
/// let mut words = signal.stream();
/// signal.emit(&"one");
/// signal.emit(&"two");
/// drop(signal);
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(words.poll_recv(&mut cx), Poll::Ready(Some("one")));
/// assert_eq!(words.poll_recv(&mut cx), Poll::Ready(Some("two")));
/// assert_eq!(words.poll_recv(&mut cx), Poll::Ready(None));
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Emissions<T> {
    waiter: Rc<Waiter<T>>,
    connection: Connection,
}

impl<T> Emissions<T> {
    /// The next queued emission, or `Pending` (the task is woken at the
    /// next one), or `Ready(None)` once the signal is gone.
    ///
    /// # Examples
    ///
    /// See [`Emissions`].
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.waiter.poll_value(cx)
    }

    /// Waits for the next emission: `None` once the signal is gone.
    /// (`StreamExt::next` from `futures` does the same.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// use sigloop_signals::Signal;
    ///
    /// let signal = Signal::<u8>::new();
    /// let mut stream = signal.stream();
    /// signal.emit(&1);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(std::pin::pin!(stream.recv()).poll(&mut cx), Poll::Ready(Some(1)));
    /// ```
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv(cx))
    }

    /// Whether the stream's slot is still connected.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let stream = signal.stream();
    /// assert!(stream.is_connected());
    /// drop(signal);
    /// assert!(!stream.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.connection.is_connected()
    }
}

impl<T> Stream for Emissions<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.waiter.poll_value(cx)
    }
}

impl<T> Drop for Emissions<T> {
    fn drop(&mut self) {
        self.connection.disconnect();
    }
}

impl<T> fmt::Debug for Emissions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emissions")
            .field("queued", &self.waiter.values.borrow().len())
            .field("connected", &self.connection.is_connected())
            .finish()
    }
}

impl<T: Clone + 'static> Signal<T> {
    /// A future of the next emission's value (a clone of it): `Some` at the
    /// next `emit`, `None` if the signal is dropped first. It connects a
    /// slot now, so an emission between this call and the first poll is
    /// not missed; dropping the future disconnects the slot.
    ///
    /// Qt has no equivalent; `QSignalSpy::wait()` comes closest.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// use sigloop_signals::Signal;
    ///
    /// let signal = Signal::<String>::new();
    /// let mut next = signal.next(); // connected from here on
    /// signal.emit(&"hi".to_string());
    /// signal.emit(&"again".to_string()); // not this one's
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(std::pin::pin!(next).poll(&mut cx), Poll::Ready(Some("hi".to_string())));
    /// assert_eq!(signal.receivers(), 0, "a finished wait disconnects");
    /// ```
    ///
    /// On the loop, in a task (`sigloop::block_on`, `sigloop::spawn_local`):
    /// `let value = signal.next().await;`.
    pub fn next(&self) -> NextEmission<T> {
        let (waiter, connection) = connect_waiter(self, true);
        NextEmission { waiter, connection }
    }

    /// A [`Stream`](futures_core::Stream) of every emission from now on (a
    /// clone of each value), ending when the signal is dropped. Dropping it
    /// disconnects its slot.
    ///
    /// Qt has no equivalent; a `QSignalSpy` records emissions the same way.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_signals::Signal;
    ///
    /// let signal = Signal::<i32>::new();
    /// let stream = signal.stream();
    /// assert_eq!(signal.receivers(), 1);
    /// drop(stream);
    /// assert_eq!(signal.receivers(), 0);
    /// ```
    pub fn stream(&self) -> Emissions<T> {
        let (waiter, connection) = connect_waiter(self, false);
        Emissions { waiter, connection }
    }
}
