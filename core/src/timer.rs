//! `Timer` (Qt: `QTimer`) and the static single-shot helpers.

use std::cell::Cell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sigloop_signals::{Connection, Receiver, Signal};

use crate::dispatcher::{self, TimerAction, TimerTarget};
use crate::event_loop::EventDispatcher;
use crate::object::{Handle, Lifecycle, Object};
use crate::timer_heap::TimerKey;

/// How exactly a timer keeps time.
///
/// Qt: `Qt::TimerType`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_core::TimerType;
/// assert_eq!(TimerType::default(), TimerType::Coarse);
/// assert_eq!(TimerType::VeryCoarse as u8, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimerType {
    /// Millisecond accuracy. Qt: `Qt::PreciseTimer`.
    Precise = 0,
    /// Within ±5% of the interval, aligned so that timers wake together.
    /// Intervals of 20 ms or less are precise; 20 s or more are very
    /// coarse. The default for [`Timer`]. Qt: `Qt::CoarseTimer`.
    #[default]
    Coarse = 1,
    /// Whole seconds: the interval is rounded to the nearest second and the
    /// timer fires on a second boundary. Qt: `Qt::VeryCoarseTimer`.
    VeryCoarse = 2,
}

/// A repeating or single-shot timer emitting [`timeout`](Self::timeout).
///
/// A `Timer` is a cheap `Clone` handle to one timer on the thread that made
/// it; it fires only while that thread's loop runs. Dropping the last
/// handle destroys it as Qt's `delete` does: it stops, emits
/// [`destroyed`](Self::destroyed) and drops its connections (a `timeout`
/// emission in progress calls no further slot). Slots get the timer from
/// [`on_timeout`](Self::on_timeout) without holding it. Timers live in a
/// min-heap; stopping one removes it at once, so stopped timers never pile
/// up.
///
/// A repeating timer keeps its phase: the next deadline is the previous
/// one plus the interval, and ticks missed while the loop was busy are
/// skipped, not bunched. A zero-interval repeating timer fires once per
/// loop pass, after the posted calls. A single-shot timer is already
/// inactive inside its `timeout` slot, so the slot may restart it.
///
/// Qt: `QTimer`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sigloop_core::{EventDispatcher, Timer};
///
/// let ticks = Rc::new(Cell::new(0));
/// let timer = Timer::new();
/// let t = ticks.clone();
/// let _c = timer.on_timeout(move |timer| {
///     t.set(t.get() + 1);
///     if t.get() == 3 {
///         timer.stop();
///         EventDispatcher::quit();
///     }
/// });
/// timer.start_with(Duration::from_millis(2));
/// EventDispatcher::exec();
/// assert_eq!(ticks.get(), 3);
/// ```
pub struct Timer {
    inner: Handle<TimerInner>,
}

/// A weak handle to a [`Timer`]; see [`Timer::downgrade`].
///
/// # Examples
///
/// ```
/// let timer = sigloop_core::Timer::new();
/// let weak = timer.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(timer);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakTimer(Weak<TimerInner>);

struct TimerInner {
    this: Weak<TimerInner>,
    interval: Cell<Duration>,
    single_shot: Cell<bool>,
    kind: Cell<TimerType>,
    /// Where the timer stands while active.
    armed: Cell<Option<Armed>>,
    /// Bumped on every arm and stop, so a stale heap entry never fires.
    generation: Cell<u64>,
    /// Qt's timer id, given on the first start (0: never started).
    id: Cell<i32>,
    timeout: Signal<()>,
    /// Deletion state; also counts the application handles ([`Timer`]
    /// values). The loop and internal callbacks hold the inner part
    /// without counting, so the last application handle going away is
    /// Qt's `delete`.
    life: Lifecycle,
}

/// An active timer: in the loop's heap until its deadline, or never due
/// (an interval too long for the clock, such as `Duration::MAX`).
#[derive(Clone, Copy)]
enum Armed {
    At(TimerKey, Instant),
    Never,
}

impl Timer {
    /// An inactive, repeating, coarse timer with a zero interval.
    ///
    /// Qt: `QTimer::QTimer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// assert!(!timer.is_active());
    /// assert!(!timer.is_single_shot());
    /// ```
    pub fn new() -> Self {
        Timer::from_inner(Rc::new_cyclic(|this| TimerInner {
            this: this.clone(),
            interval: Cell::new(Duration::ZERO),
            single_shot: Cell::new(false),
            kind: Cell::new(TimerType::Coarse),
            armed: Cell::new(None),
            generation: Cell::new(0),
            id: Cell::new(0),
            timeout: Signal::new(),
            life: Lifecycle::new(),
        }))
    }

    /// A counted handle to `inner`.
    fn from_inner(inner: Rc<TimerInner>) -> Self {
        Timer {
            inner: Handle::new(inner),
        }
    }

    /// The signal emitted when the timer fires. Qt: `QTimer::timeout()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// let _c = timer.timeout().connect(|_| println!("tick"));
    /// ```
    pub fn timeout(&self) -> &Signal<()> {
        &self.inner.timeout
    }

    /// Connects `slot` to [`timeout`](Self::timeout), handing it the timer
    /// (held weakly, so the slot does not keep its timer alive).
    ///
    /// Qt: `QTimer::callOnTimeout()`.
    ///
    /// # Examples
    ///
    /// See [`Timer`].
    pub fn on_timeout(&self, mut slot: impl FnMut(&Timer) + 'static) -> Connection {
        self.inner
            .timeout
            .connect_to(self, move |timer, _| slot(timer))
    }

    /// Emitted when the timer is deleted with
    /// [`delete_later`](Self::delete_later). Qt: `QObject::destroyed()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// let _c = timer.destroyed().connect(|_| println!("gone"));
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.inner.life.destroyed()
    }

    /// Disconnects `timeout` and `destroyed` from `receiver`; returns how
    /// many connections that broke.
    /// Qt: `QObject::disconnect(timer, nullptr, receiver, nullptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let timer = sigloop_core::Timer::new();
    /// let owner = Rc::new(());
    /// let _c = timer.timeout().connect_to(&owner, |_, _| {});
    /// assert_eq!(timer.disconnect_receiver(&owner), 1);
    /// assert!(!timer.timeout().is_connected());
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.inner.timeout.disconnect_receiver(receiver)
            + self.inner.life.destroyed().disconnect_receiver(receiver)
    }

    /// Starts (or restarts) with the current interval.
    /// Qt: `QTimer::start()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// timer.start();
    /// assert!(timer.is_active());
    /// ```
    pub fn start(&self) {
        self.inner.arm(Instant::now(), false);
    }

    /// Sets the interval and starts (or restarts). An interval too long for
    /// the clock (`Duration::MAX`) means forever: the timer is active and
    /// never fires.
    /// Qt: `QTimer::start(msec)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let timer = sigloop_core::Timer::new();
    /// timer.start_with(Duration::from_secs(1));
    /// assert_eq!(timer.interval(), Duration::from_secs(1));
    /// ```
    pub fn start_with(&self, interval: Duration) {
        self.inner.interval.set(interval);
        self.start();
    }

    /// Stops the timer; it will not fire until started again.
    /// Qt: `QTimer::stop()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// timer.start();
    /// timer.stop();
    /// assert!(!timer.is_active());
    /// ```
    pub fn stop(&self) {
        self.inner.disarm();
    }

    /// Whether the timer is running. Qt: `QTimer::isActive()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Timer::new().is_active());
    /// ```
    pub fn is_active(&self) -> bool {
        self.inner.armed.get().is_some()
    }

    /// The timer's id while it runs; `None` when it does not. Each timer
    /// gets its own id, positive, on its first start and keeps it: no two
    /// timers of a thread share one until 2^31 - 1 timers were started
    /// there. Qt: `QTimer::timerId()` (-1 is `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = (sigloop_core::Timer::new(), sigloop_core::Timer::new());
    /// assert_eq!(a.timer_id(), None);
    /// a.start();
    /// b.start();
    /// assert!(a.timer_id().is_some_and(|id| id > 0));
    /// assert_ne!(a.timer_id(), b.timer_id());
    /// a.stop();
    /// assert_eq!(a.timer_id(), None);
    /// ```
    pub fn timer_id(&self) -> Option<i32> {
        self.inner.armed.get().map(|_| self.inner.id.get())
    }

    /// The interval. Qt: `QTimer::interval()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Timer::new().interval(), std::time::Duration::ZERO);
    /// ```
    pub fn interval(&self) -> Duration {
        self.inner.interval.get()
    }

    /// Sets the interval; an active timer restarts with it.
    /// Qt: `QTimer::setInterval()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let timer = sigloop_core::Timer::new();
    /// timer.set_interval(Duration::from_millis(250));
    /// assert!(!timer.is_active());
    /// ```
    pub fn set_interval(&self, interval: Duration) {
        self.inner.interval.set(interval);
        if self.is_active() {
            self.start();
        }
    }

    /// Whether the timer stops after firing once. Qt: `QTimer::isSingleShot()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Timer::new().is_single_shot());
    /// ```
    pub fn is_single_shot(&self) -> bool {
        self.inner.single_shot.get()
    }

    /// Makes the timer fire once per start. Qt: `QTimer::setSingleShot()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// timer.set_single_shot(true);
    /// assert!(timer.is_single_shot());
    /// ```
    pub fn set_single_shot(&self, single_shot: bool) {
        self.inner.single_shot.set(single_shot);
    }

    /// The timer type. Qt: `QTimer::timerType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Timer, TimerType};
    /// assert_eq!(Timer::new().timer_type(), TimerType::Coarse);
    /// ```
    pub fn timer_type(&self) -> TimerType {
        self.inner.kind.get()
    }

    /// Sets the timer type; applies from the next start.
    /// Qt: `QTimer::setTimerType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Timer, TimerType};
    /// let timer = Timer::new();
    /// timer.set_timer_type(TimerType::Precise);
    /// assert_eq!(timer.timer_type(), TimerType::Precise);
    /// ```
    pub fn set_timer_type(&self, kind: TimerType) {
        self.inner.kind.set(kind);
    }

    /// Time left until the timer fires: `None` when inactive, zero when
    /// overdue, `Duration::MAX` for an interval too long to ever expire.
    /// Qt: `QTimer::remainingTime()` (-1 when inactive).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::{Timer, TimerType};
    ///
    /// let timer = Timer::new();
    /// assert_eq!(timer.remaining_time(), None);
    /// timer.set_timer_type(TimerType::Precise);
    /// timer.start_with(Duration::from_secs(10));
    /// assert!(timer.remaining_time().unwrap() <= Duration::from_secs(10));
    /// ```
    pub fn remaining_time(&self) -> Option<Duration> {
        match self.inner.armed.get()? {
            Armed::At(_, deadline) => Some(deadline.saturating_duration_since(Instant::now())),
            Armed::Never => Some(Duration::MAX),
        }
    }

    /// Stops (`true`) or resumes `timeout` emission; returns the previous
    /// setting. `destroyed` is still emitted. Qt: `QObject::blockSignals()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = sigloop_core::Timer::new();
    /// assert!(!timer.block_signals(true));
    /// assert!(timer.signals_blocked());
    /// ```
    pub fn block_signals(&self, block: bool) -> bool {
        self.inner.timeout.block_signals(block)
    }

    /// Whether `timeout` is blocked. Qt: `QObject::signalsBlocked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Timer::new().signals_blocked());
    /// ```
    pub fn signals_blocked(&self) -> bool {
        self.inner.timeout.signals_blocked()
    }

    /// Deletes the timer when control returns to the loop level this is
    /// called from (Qt's rule): it stops, emits
    /// [`destroyed`](Self::destroyed), and drops all its connections. Other
    /// handles then see [`is_deleted`](Self::is_deleted), connections bound
    /// to it break, and `start` does nothing. Calling it twice is harmless.
    ///
    /// Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{EventDispatcher, Timer};
    ///
    /// let timer = Timer::new();
    /// let _c = timer.destroyed().connect(|_| EventDispatcher::quit());
    /// timer.delete_later();
    /// EventDispatcher::exec();
    /// assert!(timer.is_deleted());
    /// ```
    pub fn delete_later(&self) {
        let timer = self.clone();
        self.inner.life.delete_later(move || timer.delete_now());
    }

    /// Whether the timer was deleted with [`delete_later`](Self::delete_later).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Timer::new().is_deleted());
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.inner.life.is_deleted()
    }

    fn delete_now(&self) {
        self.inner.delete_now();
    }

    /// A weak handle that does not keep the timer alive.
    ///
    /// # Examples
    ///
    /// See [`WeakTimer`].
    pub fn downgrade(&self) -> WeakTimer {
        WeakTimer(self.inner.downgrade())
    }

    /// Calls `call` once after `delay` on this thread's loop. A zero delay
    /// is a posted call (it runs after the calls already posted), as in Qt.
    /// A delay too long for the clock (`Duration::MAX`) means never: `call`
    /// is dropped at once, unrun.
    /// The timer is precise below 2 s and coarse from 2 s on.
    ///
    /// Qt: `QTimer::singleShot(msec, functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::{EventDispatcher, Timer};
    ///
    /// Timer::single_shot(Duration::from_millis(1), || EventDispatcher::exit(1));
    /// assert_eq!(EventDispatcher::exec(), 1);
    /// ```
    pub fn single_shot(delay: Duration, call: impl FnOnce() + 'static) {
        let kind = if delay < Duration::from_secs(2) {
            TimerType::Precise
        } else {
            TimerType::Coarse
        };
        Self::single_shot_with(delay, kind, call);
    }

    /// [`single_shot`](Self::single_shot) with an explicit timer type.
    ///
    /// Qt: `QTimer::singleShot(msec, timerType, functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::{EventDispatcher, Timer, TimerType};
    ///
    /// Timer::single_shot_with(Duration::from_millis(3), TimerType::Coarse, EventDispatcher::quit);
    /// assert_eq!(EventDispatcher::exec(), 0);
    /// ```
    pub fn single_shot_with(delay: Duration, kind: TimerType, call: impl FnOnce() + 'static) {
        if delay.is_zero() {
            EventDispatcher::post(call);
            return;
        }
        let Some(deadline) = deadline_for(kind, delay, Instant::now()) else {
            return;
        };
        dispatcher::with_current(|inner| {
            inner.insert_timer(deadline, TimerAction::Call(Box::new(call)));
        });
    }

    /// [`single_shot`](Self::single_shot) bound to `receiver`: nothing runs
    /// if the receiver is gone when the time comes (Qt's context object).
    ///
    /// Qt: `QTimer::singleShot(msec, context, functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::time::Duration;
    /// use sigloop_core::{EventDispatcher, Timer};
    ///
    /// let context = Rc::new("ctx");
    /// Timer::single_shot_to(&context, Duration::from_millis(1), |name| {
    ///     assert_eq!(**name, "ctx");
    ///     EventDispatcher::quit();
    /// });
    /// EventDispatcher::exec();
    /// ```
    pub fn single_shot_to<C: Receiver>(
        receiver: &C,
        delay: Duration,
        call: impl FnOnce(&C) + 'static,
    ) {
        let weak = receiver.downgrade();
        Self::single_shot(delay, move || {
            if let Some(receiver) = C::upgrade(&weak) {
                call(&receiver);
            }
        });
    }
}

impl Object for TimerInner {
    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    /// Qt's `delete`: stop, `destroyed`, drop every connection (an emission
    /// in progress calls no further slot).
    fn delete_now(&self) {
        if self.life.begin_delete() {
            self.disarm();
            self.life.finish();
            self.timeout.disconnect_all();
        }
    }
}

impl TimerInner {
    /// Schedules the next expiry, computed from `base`.
    fn arm(&self, base: Instant, from_previous: bool) {
        if self.life.is_deleted() {
            return;
        }
        self.disarm();
        // An active timer has an id, a timer that never fires included.
        if self.id.get() == 0 {
            self.id.set(next_timer_id());
        }
        let interval = self.interval.get();
        let Some(mut deadline) = deadline_for(self.kind.get(), interval, base) else {
            self.armed.set(Some(Armed::Never));
            return;
        };
        if from_previous {
            let now = Instant::now();
            if deadline < now {
                // The loop was busy: skip the missed ticks.
                match deadline_for(self.kind.get(), interval, now) {
                    Some(later) => deadline = later,
                    None => {
                        self.armed.set(Some(Armed::Never));
                        return;
                    }
                }
            }
        }
        let generation = self.generation.get();
        let this: Weak<dyn TimerTarget> = self.this.clone();
        let key = dispatcher::with_current(|inner| {
            inner.insert_timer(deadline, TimerAction::Object(this, generation))
        });
        self.armed.set(Some(Armed::At(key, deadline)));
    }

    fn disarm(&self) {
        self.generation.set(self.generation.get() + 1);
        if let Some(Armed::At(key, _)) = self.armed.take() {
            dispatcher::try_with_current(|inner| inner.timers.borrow_mut().remove(key));
        }
    }
}

impl TimerTarget for TimerInner {
    fn fire(self: Rc<Self>, generation: u64) {
        if generation != self.generation.get() || self.life.is_deleted() {
            return;
        }
        let Some(Armed::At(_, deadline)) = self.armed.take() else {
            return;
        };
        self.generation.set(generation + 1);
        if !self.single_shot.get() {
            self.arm(deadline, true);
        }
        self.timeout.emit(&());
    }
}

impl Drop for TimerInner {
    fn drop(&mut self) {
        self.disarm();
    }
}

thread_local! {
    /// The last timer id given on this thread.
    static LAST_TIMER_ID: Cell<i32> = const { Cell::new(0) };
}

/// A new positive timer id for this thread (wrapping after `i32::MAX`).
fn next_timer_id() -> i32 {
    LAST_TIMER_ID.with(|last| {
        let id = last.get().checked_add(1).unwrap_or(1);
        last.set(id);
        id
    })
}

/// The monotonic origin that coarse deadlines are aligned to.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// When a timer of `kind` started at `base` with `interval` expires;
/// `None` (never) when that lies beyond what the clock can represent.
pub(crate) fn deadline_for(kind: TimerType, interval: Duration, base: Instant) -> Option<Instant> {
    let ideal = base.checked_add(interval)?;
    let kind = match kind {
        TimerType::Coarse if interval <= Duration::from_millis(20) => TimerType::Precise,
        TimerType::Coarse if interval >= Duration::from_secs(20) => TimerType::VeryCoarse,
        other => other,
    };
    Some(match kind {
        TimerType::Precise => ideal,
        TimerType::Coarse => align_coarse(ideal, interval / 20),
        TimerType::VeryCoarse => {
            let secs = (interval.as_millis() + 500) / 1000;
            let secs = u64::try_from(secs).unwrap_or(u64::MAX);
            let ideal = base.checked_add(Duration::from_secs(secs))?;
            round_to(ideal, Duration::from_secs(1), Duration::from_millis(500))
        }
    })
}

/// Moves `ideal` by at most `slack` onto the coarsest round fraction of a
/// second within reach, so that coarse timers wake up together.
fn align_coarse(ideal: Instant, slack: Duration) -> Instant {
    const GRAINS_MS: [u64; 9] = [1000, 500, 250, 200, 100, 50, 25, 20, 10];
    GRAINS_MS
        .iter()
        .map(|&ms| round_to(ideal, Duration::from_millis(ms), slack))
        .find(|&aligned| aligned != ideal)
        .unwrap_or(ideal)
}

/// `ideal` rounded to the nearest multiple of `grain` since the epoch, if
/// that is within `slack` (and within the clock's range); otherwise `ideal`.
fn round_to(ideal: Instant, grain: Duration, slack: Duration) -> Instant {
    let since = ideal.saturating_duration_since(epoch()).as_nanos();
    let grain_ns = grain.as_nanos();
    let rounded = (since + grain_ns / 2) / grain_ns * grain_ns;
    let moved = rounded.abs_diff(since);
    if moved == 0 || moved > slack.as_nanos() {
        return ideal;
    }
    let rounded = Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX));
    epoch().checked_add(rounded).unwrap_or(ideal)
}

/// Cloning counts one more handle; dropping the last one destroys the
/// timer as Qt's `delete` does : it stops, emits
/// `destroyed` and drops its connections, also from inside its own
/// `timeout` slot (the emission then ends).
impl Clone for Timer {
    fn clone(&self) -> Self {
        Timer {
            inner: self.inner.clone(),
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl WeakTimer {
    /// The timer, if it still exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakTimer`].
    pub fn upgrade(&self) -> Option<Timer> {
        Handle::upgrade(&self.0).map(|inner| Timer { inner })
    }
}

impl Receiver for Timer {
    type Weak = WeakTimer;

    fn downgrade(&self) -> WeakTimer {
        Timer::downgrade(self)
    }

    fn upgrade(weak: &WeakTimer) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        self.inner.as_ptr() as usize
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("active", &self.is_active())
            .field("interval", &self.interval())
            .field("single_shot", &self.is_single_shot())
            .field("type", &self.timer_type())
            .finish()
    }
}

impl fmt::Debug for WeakTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakTimer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_stays_within_five_percent_and_aligns() {
        let base = Instant::now();
        for ms in [21u64, 30, 100, 333, 1000, 5000, 19_999] {
            let interval = Duration::from_millis(ms);
            let deadline = deadline_for(TimerType::Coarse, interval, base).unwrap();
            let ideal = base + interval;
            let off = if deadline > ideal {
                deadline - ideal
            } else {
                ideal - deadline
            };
            assert!(off <= interval / 20, "{ms} ms moved by {off:?}");
        }
    }

    #[test]
    fn short_coarse_is_precise_and_long_is_whole_seconds() {
        let base = Instant::now();
        let short = Duration::from_millis(15);
        assert_eq!(
            deadline_for(TimerType::Coarse, short, base),
            Some(base + short)
        );
        let long = deadline_for(TimerType::Coarse, Duration::from_millis(20_400), base).unwrap();
        let since = long.duration_since(epoch());
        assert_eq!(
            since.subsec_nanos(),
            0,
            "very coarse deadlines fall on whole seconds"
        );
    }
}

#[cfg(test)]
mod forever_tests {
    use super::*;
    use crate::flags::ProcessEventsFlags;

    /// `Duration::MAX` (or any interval past the clock's range) means
    /// forever, for every timer type: no panic, no deadline.
    #[test]
    fn an_interval_past_the_clock_never_expires() {
        let base = Instant::now();
        for kind in [TimerType::Precise, TimerType::Coarse, TimerType::VeryCoarse] {
            assert_eq!(deadline_for(kind, Duration::MAX, base), None, "{kind:?}");
        }
    }

    #[test]
    fn a_timer_started_with_duration_max_is_active_and_never_fires() {
        for kind in [TimerType::Precise, TimerType::Coarse, TimerType::VeryCoarse] {
            let timer = Timer::new();
            timer.set_timer_type(kind);
            let fired = Rc::new(Cell::new(false));
            let f = fired.clone();
            let _c = timer.on_timeout(move |_| f.set(true));
            timer.start_with(Duration::MAX);
            assert!(timer.is_active());
            assert_eq!(timer.remaining_time(), Some(Duration::MAX));
            EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
            assert!(!fired.get());
            // A huge interval leaves the loop free to sleep.
            assert_eq!(EventDispatcher::time_to_next_timer(), None);
            timer.stop();
            assert!(!timer.is_active());
            assert_eq!(timer.remaining_time(), None);
            // It restarts normally with an ordinary interval.
            timer.set_single_shot(true);
            timer.start_with(Duration::from_millis(1));
            let start = Instant::now();
            while !fired.get() && start.elapsed() < Duration::from_secs(10) {
                EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
            }
            assert!(fired.get(), "{kind:?}");
        }
    }

    #[test]
    fn a_single_shot_with_a_huge_delay_never_runs() {
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        Timer::single_shot(Duration::MAX, move || r.set(true));
        let r = ran.clone();
        Timer::single_shot_with(Duration::MAX, TimerType::VeryCoarse, move || r.set(true));
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
        assert!(!ran.get());
        assert_eq!(EventDispatcher::time_to_next_timer(), None);
    }
}

#[cfg(test)]
mod stale_key_tests {
    use super::*;
    use crate::flags::ProcessEventsFlags;
    use std::cell::RefCell;

    /// A timer stopped after its heap entry was popped but before it fired
    /// must not remove another timer that took over the freed heap key.
    #[test]
    fn stopping_a_popped_timer_leaves_a_new_timer_alone() {
        let a = Timer::new();
        let b = Timer::new();
        a.set_single_shot(true);
        b.set_single_shot(true);
        a.set_timer_type(TimerType::Precise);
        b.set_timer_type(TimerType::Precise);
        let c_fired = Rc::new(Cell::new(false));
        let c_holder: Rc<RefCell<Option<Timer>>> = Rc::new(RefCell::new(None));
        let (b2, fired, holder) = (b.clone(), c_fired.clone(), c_holder.clone());
        let _ca = a.on_timeout(move |_| {
            let c = Timer::new();
            c.set_single_shot(true);
            let fired = fired.clone();
            let _cc = c.on_timeout(move |_| fired.set(true));
            c.start_with(Duration::from_millis(1));
            *holder.borrow_mut() = Some(c);
            b2.stop();
        });
        let b_fired = Rc::new(Cell::new(false));
        let bf = b_fired.clone();
        let _cb = b.on_timeout(move |_| bf.set(true));
        a.start_with(Duration::from_millis(1));
        b.start_with(Duration::from_millis(2));
        // Both become due before the loop looks at the timers.
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(5) {
            std::hint::spin_loop();
        }
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
        assert!(!b_fired.get(), "b was stopped before its turn");
        let start = Instant::now();
        while !c_fired.get() && start.elapsed() < Duration::from_secs(2) {
            EventDispatcher::process_events_for(
                ProcessEventsFlags::ALL_EVENTS,
                Duration::from_millis(5),
            );
        }
        assert!(c_fired.get(), "the timer armed from a slot fired");
    }
}
