//! Waiting for events in tests: run the loop until a condition holds, with
//! a deadline that fails the test instead of a sleep that hopes.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sigloop::{ElapsedTimer, EventDispatcher, ProcessEventsFlags, Signal, Timer, TimerType};

/// How long any awaited event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The timeout given to blocking waits that are expected to succeed.
pub const WAIT: Option<Duration> = Some(Duration::from_secs(10));

/// Runs the loop until `done` holds; fails the test after [`DEADLINE`].
#[track_caller]
pub fn run_until(what: &str, done: impl FnMut() -> bool) {
    run_until_within(what, DEADLINE, done);
}

/// Runs the loop until `done` holds; fails the test after `deadline` (for
/// the few waits that legitimately take longer than [`DEADLINE`]).
#[track_caller]
pub fn run_until_within(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let clock = ElapsedTimer::started();
    // Wakes a blocking pass regularly so the deadline is checked.
    let tick = Timer::new();
    tick.set_timer_type(TimerType::Precise);
    tick.start_with(Duration::from_millis(20));
    while !done() {
        assert!(
            !clock.has_expired(deadline),
            "timed out after {deadline:?} waiting for {what}"
        );
        EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
    }
}

/// Runs the loop for `time`: only to show that nothing more happens.
pub fn settle(time: Duration) {
    let clock = ElapsedTimer::started();
    run_until("the settle time", || clock.has_expired(time));
}

/// Counts the emissions of `signal`.
pub fn counter<T: 'static>(signal: &Signal<T>) -> Rc<Cell<usize>> {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let _ = signal.connect(move |_| c.set(c.get() + 1));
    count
}
