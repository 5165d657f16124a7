//! `ElapsedTimer` and `DeadlineTimer` (Qt: `QElapsedTimer`, `QDeadlineTimer`).

use std::time::{Duration, Instant};

/// Measures elapsed time on the monotonic clock.
///
/// A new timer is invalid until [`start`](Self::start); an invalid timer
/// reports zero elapsed time (Qt's values are undefined there).
///
/// Qt: `QElapsedTimer`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::ElapsedTimer;
///
/// let mut timer = ElapsedTimer::new();
/// assert!(!timer.is_valid());
/// timer.start();
/// assert!(!timer.has_expired(Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ElapsedTimer {
    started: Option<Instant>,
}

impl ElapsedTimer {
    /// An invalid (not started) timer.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::ElapsedTimer::new().is_valid());
    /// ```
    pub const fn new() -> Self {
        ElapsedTimer { started: None }
    }

    /// A timer started now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::ElapsedTimer::started().is_valid());
    /// ```
    pub fn started() -> Self {
        ElapsedTimer {
            started: Some(Instant::now()),
        }
    }

    /// Starts (or restarts) now. Qt: `QElapsedTimer::start()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = sigloop_core::ElapsedTimer::new();
    /// t.start();
    /// assert!(t.is_valid());
    /// ```
    pub fn start(&mut self) {
        self.started = Some(Instant::now());
    }

    /// Returns the time since the last start and starts again.
    /// Qt: `QElapsedTimer::restart()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = sigloop_core::ElapsedTimer::started();
    /// let _lap = t.restart();
    /// ```
    pub fn restart(&mut self) -> Duration {
        let now = Instant::now();
        let elapsed = self.started.map_or(Duration::ZERO, |s| now - s);
        self.started = Some(now);
        elapsed
    }

    /// Time since the start; zero when invalid.
    /// Qt: `QElapsedTimer::elapsed()`, `nsecsElapsed()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::ElapsedTimer::new().elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.started.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// Whether more than `timeout` has passed. Qt: `QElapsedTimer::hasExpired()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = sigloop_core::ElapsedTimer::started();
    /// assert!(t.has_expired(std::time::Duration::ZERO) || true);
    /// ```
    pub fn has_expired(&self, timeout: Duration) -> bool {
        self.elapsed() > timeout
    }

    /// Whether it was started. Qt: `QElapsedTimer::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::ElapsedTimer::default().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.started.is_some()
    }

    /// Makes it invalid again. Qt: `QElapsedTimer::invalidate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = sigloop_core::ElapsedTimer::started();
    /// t.invalidate();
    /// assert!(!t.is_valid());
    /// ```
    pub fn invalidate(&mut self) {
        self.started = None;
    }

    /// Signed time from this timer's start to `other`'s; `None` if either
    /// is invalid. Qt: `QElapsedTimer::msecsTo()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = sigloop_core::ElapsedTimer::started();
    /// let b = sigloop_core::ElapsedTimer::started();
    /// assert!(a.nanos_to(&b).unwrap() >= 0);
    /// ```
    pub fn nanos_to(&self, other: &ElapsedTimer) -> Option<i128> {
        let (a, b) = (self.started?, other.started?);
        Some(if b >= a {
            (b - a).as_nanos() as i128
        } else {
            -((a - b).as_nanos() as i128)
        })
    }
}

/// A point in time to wait until, or forever.
///
/// A default deadline has already expired; a deadline of
/// [`forever`](Self::forever) never does.
///
/// Qt: `QDeadlineTimer` (`QDeadlineTimer::Forever`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigloop_core::DeadlineTimer;
///
/// let deadline = DeadlineTimer::new(Duration::from_secs(30));
/// assert!(!deadline.has_expired());
/// assert!(DeadlineTimer::forever().remaining_time().is_none());
/// assert!(DeadlineTimer::default().has_expired());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineTimer {
    /// Expires at this instant.
    At(Instant),
    /// Never expires.
    Forever,
}

impl DeadlineTimer {
    /// Expires `timeout` from now. Qt: `QDeadlineTimer(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(sigloop_core::DeadlineTimer::new(Duration::ZERO).has_expired());
    /// ```
    pub fn new(timeout: Duration) -> Self {
        let now = Instant::now();
        now.checked_add(timeout)
            .map_or(DeadlineTimer::Forever, DeadlineTimer::At)
    }

    /// From Qt's millisecond convention: negative means forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::DeadlineTimer;
    /// assert!(DeadlineTimer::from_msecs(-1).is_forever());
    /// assert!(!DeadlineTimer::from_msecs(10).is_forever());
    /// ```
    pub fn from_msecs(msecs: i64) -> Self {
        match u64::try_from(msecs) {
            Ok(ms) => DeadlineTimer::new(Duration::from_millis(ms)),
            Err(_) => DeadlineTimer::Forever,
        }
    }

    /// Never expires. Qt: `QDeadlineTimer(QDeadlineTimer::Forever)`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::DeadlineTimer::forever().is_forever());
    /// ```
    pub const fn forever() -> Self {
        DeadlineTimer::Forever
    }

    /// Time left: `None` for forever, zero once expired.
    /// Qt: `QDeadlineTimer::remainingTime()` (-1 for forever).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let d = sigloop_core::DeadlineTimer::new(Duration::from_secs(5));
    /// assert!(d.remaining_time().unwrap() <= Duration::from_secs(5));
    /// ```
    pub fn remaining_time(&self) -> Option<Duration> {
        match self {
            DeadlineTimer::At(at) => Some(at.saturating_duration_since(Instant::now())),
            DeadlineTimer::Forever => None,
        }
    }

    /// Whether the deadline has passed. Qt: `QDeadlineTimer::hasExpired()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::DeadlineTimer::forever().has_expired());
    /// ```
    pub fn has_expired(&self) -> bool {
        match self {
            DeadlineTimer::At(at) => Instant::now() >= *at,
            DeadlineTimer::Forever => false,
        }
    }

    /// Whether it never expires. Qt: `QDeadlineTimer::isForever()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::DeadlineTimer::default().is_forever());
    /// ```
    pub fn is_forever(&self) -> bool {
        matches!(self, DeadlineTimer::Forever)
    }

    /// The instant, `None` for forever. Qt: `QDeadlineTimer::deadline()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::DeadlineTimer::forever().deadline().is_none());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        match self {
            DeadlineTimer::At(at) => Some(*at),
            DeadlineTimer::Forever => None,
        }
    }

    /// Moves the deadline to `timeout` from now.
    /// Qt: `QDeadlineTimer::setRemainingTime()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut d = sigloop_core::DeadlineTimer::forever();
    /// d.set_remaining_time(Duration::from_secs(1));
    /// assert!(!d.is_forever());
    /// ```
    pub fn set_remaining_time(&mut self, timeout: Duration) {
        *self = DeadlineTimer::new(timeout);
    }
}

impl Default for DeadlineTimer {
    /// Already expired, as Qt's default-constructed deadline.
    fn default() -> Self {
        DeadlineTimer::At(Instant::now())
    }
}
