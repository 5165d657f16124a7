//! Timers (Qt's `QTimer`) and the elapsed/deadline
//! clocks (`QElapsedTimer`, `QDeadlineTimer`).
//!
//! Each test runs on its own thread, with its own loop. Time bounds are
//! one-sided where the machine's noise matters: a timer must never fire
//! early; "late" is only bounded generously.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use sigloop::{DeadlineTimer, ElapsedTimer, EventDispatcher, ProcessEventsFlags, Timer, TimerType};

/// The exit code of a loop stopped by the watchdog.
const WATCHDOG: i32 = -7_777;

/// Runs the loop with a 10 s watchdog; returns the exit code and fails the
/// test if the watchdog had to stop it.
fn exec_bounded() -> i32 {
    let watchdog = Timer::new();
    watchdog.set_single_shot(true);
    watchdog.set_timer_type(TimerType::Precise);
    let _c = watchdog.on_timeout(|_| EventDispatcher::exit(WATCHDOG));
    watchdog.start_with(Duration::from_secs(10));
    let code = EventDispatcher::exec();
    assert_ne!(code, WATCHDOG, "the loop did not finish in 10 s");
    code
}

fn counter() -> Rc<Cell<u32>> {
    Rc::new(Cell::new(0))
}

fn bump(count: &Cell<u32>) {
    count.set(count.get() + 1);
}

/// A precise single-shot timer object, not started.
fn precise_single_shot() -> Timer {
    let timer = Timer::new();
    timer.set_single_shot(true);
    timer.set_timer_type(TimerType::Precise);
    timer
}

#[test]
fn single_shot_timer_fires_once_is_inactive_in_its_slot_and_can_restart_itself() {
    let timer = precise_single_shot();
    let fired = counter();
    let active_inside = Rc::new(RefCell::new(Vec::new()));
    let (f, a) = (fired.clone(), active_inside.clone());
    let _c = timer.on_timeout(move |timer| {
        bump(&f);
        a.borrow_mut().push(timer.is_active());
        if f.get() < 3 {
            timer.start();
        } else {
            // Give a fourth, unwanted firing time to show up.
            Timer::single_shot(Duration::from_millis(50), EventDispatcher::quit);
        }
    });
    timer.start_with(Duration::from_millis(5));
    assert!(timer.is_active());
    assert_eq!(exec_bounded(), 0);
    assert_eq!(fired.get(), 3, "one firing per start");
    assert_eq!(*active_inside.borrow(), [false, false, false]);
    assert!(!timer.is_active());
}

#[test]
fn repeating_timer_fires_repeatedly_until_stopped_in_its_slot() {
    let timer = Timer::new();
    timer.set_timer_type(TimerType::Precise);
    let fired = counter();
    let f = fired.clone();
    let _c = timer.on_timeout(move |timer| {
        bump(&f);
        assert!(timer.is_active(), "a repeating timer is active in its slot");
        if f.get() == 5 {
            timer.stop();
            Timer::single_shot(Duration::from_millis(50), EventDispatcher::quit);
        }
    });
    timer.start_with(Duration::from_millis(2));
    assert_eq!(exec_bounded(), 0);
    assert_eq!(fired.get(), 5, "fired after stop()");
    assert!(!timer.is_active());
}

#[test]
fn remaining_time_is_none_when_inactive_and_at_most_the_interval_when_active() {
    let timer = precise_single_shot();
    assert_eq!(timer.remaining_time(), None);
    timer.start_with(Duration::from_secs(10));
    let left = timer.remaining_time().expect("active");
    assert!(left <= Duration::from_secs(10), "{left:?}");
    assert!(left > Duration::from_secs(9), "{left:?}");
    timer.stop();
    assert_eq!(timer.remaining_time(), None);

    // Inside its own slot a single-shot is inactive: no remaining time.
    let seen = Rc::new(Cell::new(Some(Duration::MAX)));
    let s = seen.clone();
    let _c = timer.on_timeout(move |timer| {
        s.set(timer.remaining_time());
        EventDispatcher::quit();
    });
    timer.start_with(Duration::from_millis(5));
    assert!(timer.remaining_time().unwrap() <= Duration::from_millis(5));
    assert_eq!(exec_bounded(), 0);
    assert_eq!(seen.get(), None);
}

#[test]
fn set_interval_on_an_active_timer_restarts_it() {
    let timer = precise_single_shot();
    // On an inactive timer it only sets the interval.
    timer.set_interval(Duration::from_millis(7));
    assert!(!timer.is_active());
    assert_eq!(timer.interval(), Duration::from_millis(7));

    timer.start_with(Duration::from_secs(10));
    let clock = ElapsedTimer::started();
    timer.set_interval(Duration::from_millis(20));
    assert!(timer.is_active());
    assert_eq!(timer.interval(), Duration::from_millis(20));
    assert!(timer.remaining_time().unwrap() <= Duration::from_millis(20));
    let fired_after = Rc::new(Cell::new(None));
    let f = fired_after.clone();
    let _c = timer.on_timeout(move |_| {
        f.set(Some(clock.elapsed()));
        EventDispatcher::quit();
    });
    assert_eq!(exec_bounded(), 0);
    let after = fired_after.get().expect("fired");
    assert!(after >= Duration::from_millis(20), "{after:?}");
    assert!(
        after < Duration::from_secs(5),
        "the old 10 s deadline? {after:?}"
    );
}

#[test]
fn zero_interval_timer_fires_once_per_pass_after_posted_calls() {
    let log = Rc::new(RefCell::new(String::new()));
    let timer = Timer::new(); // repeating, zero interval
    let l = log.clone();
    let _c = timer.timeout().connect(move |_| l.borrow_mut().push('T'));
    timer.start();

    /// A posted call that logs itself and posts itself again, `left` times.
    fn repost(log: Rc<RefCell<String>>, left: u32) {
        EventDispatcher::post(move || {
            log.borrow_mut().push('P');
            if left > 1 {
                repost(log, left - 1);
            }
        });
    }
    repost(log.clone(), 4);
    for _ in 0..4 {
        assert!(EventDispatcher::process_events(
            ProcessEventsFlags::ALL_EVENTS
        ));
    }
    assert_eq!(*log.borrow(), "PTPTPTPT");

    // Alone, it still fires exactly once per pass.
    log.borrow_mut().clear();
    for _ in 0..3 {
        assert!(EventDispatcher::process_events(
            ProcessEventsFlags::ALL_EVENTS
        ));
    }
    assert_eq!(*log.borrow(), "TTT");
    timer.stop();
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(*log.borrow(), "TTT");
}

#[test]
fn zero_delay_single_shot_is_a_posted_call_in_fifo_order() {
    let log = Rc::new(RefCell::new(String::new()));
    let l = log.clone();
    EventDispatcher::post(move || l.borrow_mut().push('a'));
    let l = log.clone();
    Timer::single_shot(Duration::ZERO, move || l.borrow_mut().push('b'));
    let l = log.clone();
    EventDispatcher::post(move || l.borrow_mut().push('c'));
    let l = log.clone();
    Timer::single_shot_with(Duration::ZERO, TimerType::VeryCoarse, move || {
        l.borrow_mut().push('d')
    });
    // Posted work, not a timer: nothing to wait for.
    assert_eq!(EventDispatcher::time_to_next_timer(), Some(Duration::ZERO));
    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(*log.borrow(), "abcd");
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
}

#[test]
fn timers_fire_in_deadline_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let record = |ms: u64| {
        let log = log.clone();
        move || {
            log.borrow_mut().push(ms);
            if log.borrow().len() == 6 {
                EventDispatcher::quit();
            }
        }
    };
    // Static single-shots and timer objects, started out of order.
    for ms in [30, 10, 20] {
        Timer::single_shot_with(Duration::from_millis(ms), TimerType::Precise, record(ms));
    }
    let objects: Vec<Timer> = [25, 5, 15]
        .into_iter()
        .map(|ms| {
            let timer = precise_single_shot();
            let mut slot = Some(record(ms));
            let _c = timer.timeout().connect(move |_| {
                if let Some(slot) = slot.take() {
                    slot();
                }
            });
            timer.start_with(Duration::from_millis(ms));
            timer
        })
        .collect();
    assert_eq!(exec_bounded(), 0);
    assert_eq!(*log.borrow(), [5, 10, 15, 20, 25, 30]);
    drop(objects);
}

#[test]
fn stopped_timer_never_fires() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let make = |name: &'static str| {
        let timer = precise_single_shot();
        let f = fired.clone();
        let _c = timer.timeout().connect(move |_| f.borrow_mut().push(name));
        timer
    };
    let stopped_at_once = make("stopped at once");
    stopped_at_once.start_with(Duration::from_millis(1));
    stopped_at_once.stop();

    // `first` stops `second`, which is due at the same time or just after:
    // whether or not both are due in the same pass, `second` stays quiet.
    let first = make("first");
    let second = make("second");
    let s = second.clone();
    let _c = first.timeout().connect(move |_| {
        s.stop();
        Timer::single_shot(Duration::from_millis(50), EventDispatcher::quit);
    });
    first.start_with(Duration::from_millis(2));
    second.start_with(Duration::from_millis(2));

    let repeating = make("repeating");
    repeating.set_single_shot(false);
    repeating.start_with(Duration::from_millis(1));
    repeating.stop();

    assert_eq!(exec_bounded(), 0);
    assert_eq!(*fired.borrow(), ["first"]);
    assert!(!second.is_active());
}

#[test]
fn thousand_started_then_stopped_timers_leave_nothing_behind() {
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
    let fired = counter();
    let timers: Vec<Timer> = (0..1000u64)
        .map(|i| {
            let timer = Timer::new();
            let f = fired.clone();
            let _c = timer.timeout().connect(move |_| bump(&f));
            timer.start_with(Duration::from_millis(50 + i));
            timer
        })
        .collect();
    assert!(EventDispatcher::time_to_next_timer().is_some());
    for timer in &timers {
        timer.stop();
    }
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
    assert!(timers.iter().all(|t| !t.is_active()));

    // Restarted, then dropped: dropping also removes them.
    for timer in timers.iter().step_by(2) {
        timer.start();
    }
    assert!(EventDispatcher::time_to_next_timer().is_some());
    drop(timers);
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(fired.get(), 0);
}

#[test]
fn dropping_the_last_timer_handle_stops_it() {
    let fired = counter();
    let timer = Timer::new();
    timer.set_timer_type(TimerType::Precise);
    let f = fired.clone();
    let _c = timer.timeout().connect(move |_| bump(&f));
    timer.start_with(Duration::from_millis(5));

    // A clone keeps it alive and running; a weak handle does not.
    let clone = timer.clone();
    let weak = timer.downgrade();
    drop(timer);
    assert!(clone.is_active());
    drop(clone);
    assert!(weak.upgrade().is_none());
    assert_eq!(EventDispatcher::time_to_next_timer(), None);

    Timer::single_shot(Duration::from_millis(50), EventDispatcher::quit);
    assert_eq!(exec_bounded(), 0);
    assert_eq!(fired.get(), 0);
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
}

/// Starts a single-shot of `kind` and `interval`, runs the loop until it
/// fires, and returns how long after the start it fired.
fn measure(kind: TimerType, interval: Duration) -> Duration {
    let timer = precise_single_shot();
    timer.set_timer_type(kind);
    let fired_after = Rc::new(Cell::new(None));
    let f = fired_after.clone();
    let clock = ElapsedTimer::started();
    let _c = timer.on_timeout(move |_| {
        f.set(Some(clock.elapsed()));
        EventDispatcher::quit();
    });
    timer.start_with(interval);
    assert_eq!(exec_bounded(), 0);
    fired_after.get().expect("fired")
}

#[test]
fn precise_timer_never_fires_early() {
    for _ in 0..3 {
        let after = measure(TimerType::Precise, Duration::from_millis(20));
        assert!(after >= Duration::from_millis(20), "fired early: {after:?}");
        assert!(after < Duration::from_secs(2), "fired very late: {after:?}");
    }
}

#[test]
fn coarse_timer_fires_no_earlier_than_five_percent_before_its_interval() {
    for ms in [30u64, 100, 250] {
        let after = measure(TimerType::Coarse, Duration::from_millis(ms));
        assert!(
            after >= Duration::from_millis(ms * 95 / 100),
            "{ms} ms coarse fired after {after:?}"
        );
        assert!(after < Duration::from_secs(3), "{ms} ms: {after:?}");
    }
}

#[test]
fn very_coarse_timer_fires_no_earlier_than_whole_seconds_less_half_a_second() {
    // 1400 ms rounds to 1 s, which may be aligned 500 ms either way.
    let after = measure(TimerType::VeryCoarse, Duration::from_millis(1400));
    assert!(
        after >= Duration::from_millis(500),
        "fired early: {after:?}"
    );
    assert!(after < Duration::from_secs(4), "fired very late: {after:?}");
}

#[test]
fn single_shot_to_a_dropped_receiver_does_not_run() {
    let ran = Rc::new(RefCell::new(Vec::new()));

    let gone = Rc::new(());
    let r = ran.clone();
    Timer::single_shot_to(&gone, Duration::from_millis(2), move |_| {
        r.borrow_mut().push("dropped Rc")
    });
    drop(gone);

    let deleted = Timer::new();
    let r = ran.clone();
    Timer::single_shot_to(&deleted, Duration::from_millis(2), move |_| {
        r.borrow_mut().push("deleted timer")
    });
    deleted.delete_later();
    EventDispatcher::send_posted_deletes();

    let zero_delay = Rc::new(());
    let r = ran.clone();
    Timer::single_shot_to(&zero_delay, Duration::ZERO, move |_| {
        r.borrow_mut().push("zero delay")
    });
    drop(zero_delay);

    // A live receiver, due last, ends the test.
    let alive = Rc::new("alive");
    let r = ran.clone();
    Timer::single_shot_to(&alive, Duration::from_millis(20), move |name| {
        r.borrow_mut().push(**name);
        EventDispatcher::quit();
    });
    assert_eq!(exec_bounded(), 0);
    assert_eq!(*ran.borrow(), ["alive"]);
}

#[test]
fn elapsed_timer_semantics() {
    let invalid = ElapsedTimer::new();
    assert!(!invalid.is_valid());
    assert_eq!(invalid, ElapsedTimer::default());
    assert_eq!(invalid.elapsed(), Duration::ZERO);
    assert!(!invalid.has_expired(Duration::ZERO));

    let mut clock = ElapsedTimer::started();
    assert!(clock.is_valid());
    assert_eq!(invalid.nanos_to(&clock), None);
    assert_eq!(clock.nanos_to(&invalid), None);

    Timer::single_shot(Duration::from_millis(10), EventDispatcher::quit);
    assert_eq!(exec_bounded(), 0);
    let later = ElapsedTimer::started();
    assert!(clock.elapsed() >= Duration::from_millis(10));
    assert!(clock.has_expired(Duration::from_millis(5)));
    assert!(!clock.has_expired(Duration::from_secs(3600)));
    let forward = clock.nanos_to(&later).unwrap();
    assert!(forward >= 10_000_000, "{forward}");
    assert_eq!(later.nanos_to(&clock), Some(-forward));

    let lap = clock.restart();
    assert!(lap >= Duration::from_millis(10));
    assert!(clock.is_valid());
    assert!(clock.elapsed() < lap + Duration::from_secs(3600));

    clock.invalidate();
    assert!(!clock.is_valid());
    assert_eq!(clock.elapsed(), Duration::ZERO);
    let mut restarted = ElapsedTimer::new();
    assert_eq!(restarted.restart(), Duration::ZERO);
    assert!(restarted.is_valid());
    restarted.start();
    assert!(restarted.is_valid());
}

#[test]
fn deadline_timer_semantics() {
    let expired = DeadlineTimer::default();
    assert!(expired.has_expired());
    assert!(!expired.is_forever());
    assert_eq!(expired.remaining_time(), Some(Duration::ZERO));
    assert!(expired.deadline().is_some());

    let forever = DeadlineTimer::forever();
    assert!(forever.is_forever());
    assert!(!forever.has_expired());
    assert_eq!(forever.remaining_time(), None);
    assert_eq!(forever.deadline(), None);
    assert!(DeadlineTimer::from_msecs(-1).is_forever());
    assert!(DeadlineTimer::from_msecs(i64::MIN).is_forever());
    assert!(DeadlineTimer::new(Duration::MAX).is_forever());
    assert!(DeadlineTimer::from_msecs(0).has_expired());
    assert!(DeadlineTimer::new(Duration::ZERO).has_expired());

    let far = DeadlineTimer::from_msecs(30_000);
    assert!(!far.is_forever());
    assert!(!far.has_expired());
    let left = far.remaining_time().unwrap();
    assert!(left <= Duration::from_secs(30) && left > Duration::from_secs(29));

    let mut moved = DeadlineTimer::forever();
    moved.set_remaining_time(Duration::from_secs(60));
    assert!(!moved.is_forever() && !moved.has_expired());

    // Wait (in the loop) until a short deadline passes: then zero is left.
    let soon = DeadlineTimer::new(Duration::from_millis(10));
    assert!(!soon.has_expired());
    Timer::single_shot(soon.remaining_time().unwrap(), EventDispatcher::quit);
    assert_eq!(exec_bounded(), 0);
    assert!(soon.has_expired());
    assert_eq!(soon.remaining_time(), Some(Duration::ZERO));
}

/// Qt's `delete timer` inside its own slot: the emission ends there,
/// `destroyed` is emitted once, and the timer never fires again.
#[test]
fn dropping_the_last_handle_inside_its_own_slot_destroys_the_timer() {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::time::Duration;

    use sigloop::{EventDispatcher, Timer};

    let holder: Rc<RefCell<Option<Timer>>> = Rc::new(RefCell::new(Some(Timer::new())));
    let timer = holder.borrow().clone().unwrap();
    let destroyed = Rc::new(Cell::new(0));
    let later_slot = Rc::new(Cell::new(0));
    let d = destroyed.clone();
    let _c0 = timer.destroyed().connect(move |_| d.set(d.get() + 1));
    let h = holder.clone();
    let _c1 = timer.timeout().connect(move |_| {
        // The last application handle goes away.
        h.borrow_mut().take();
    });
    let l = later_slot.clone();
    let _c2 = timer.timeout().connect(move |_| l.set(l.get() + 1));
    timer.start_with(Duration::from_millis(1));
    drop(timer);
    Timer::single_shot(Duration::from_millis(100), EventDispatcher::quit);
    let watchdog = Timer::new();
    let _w = watchdog.timeout().connect(|_| EventDispatcher::exit(99));
    watchdog.start_with(Duration::from_secs(10));
    assert_eq!(EventDispatcher::exec(), 0);
    assert_eq!(destroyed.get(), 1, "destroyed is emitted once");
    assert_eq!(
        later_slot.get(),
        0,
        "no slot runs after the timer is destroyed"
    );
}

/// Qt's `QTimer::timerId()`: an id while running, the same one across
/// repetitions, -1 (`None`) once a single-shot fired or the timer stopped,
/// and distinct ids for timers running at once.
#[test]
fn timer_id_is_kept_while_running_and_gone_when_stopped() {
    let repeating = Timer::new();
    let single = Timer::new();
    single.set_single_shot(true);
    assert_eq!(repeating.timer_id(), None);
    repeating.start_with(Duration::from_millis(1));
    single.start_with(Duration::from_millis(1));
    let id = repeating.timer_id().expect("running");
    assert!(id > 0);
    assert_ne!(single.timer_id(), Some(id));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let _c = repeating.on_timeout(move |t| s.borrow_mut().push(t.timer_id()));
    let single_in_slot = Rc::new(Cell::new(Some(0)));
    let sis = single_in_slot.clone();
    let _d = single.on_timeout(move |t| sis.set(t.timer_id()));
    let clock = ElapsedTimer::started();
    while seen.borrow().len() < 3 {
        assert!(
            !clock.has_expired(Duration::from_secs(30)),
            "the timer never fired"
        );
        EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
    }
    assert!(seen.borrow().iter().all(|seen| *seen == Some(id)));
    assert_eq!(
        single_in_slot.get(),
        None,
        "a fired single-shot is not running"
    );
    repeating.stop();
    assert_eq!(repeating.timer_id(), None);
}
