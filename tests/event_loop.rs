//! The event loop's contract (Qt's `QCoreApplication::exec()`,
//! `QEventLoop::exec()` and `QObject::deleteLater()` documentation):
//! exec/exit/quit rules, nested loops, posted
//! calls, `process_events` flags, deferred deletes, embedding in a host
//! `mio::Poll`, and an idle loop that sleeps.
//!
//! libtest runs every test on a thread of its own, so each test gets a
//! fresh per-thread loop. No test sleeps to wait for something: loops run
//! until a condition holds, and a watchdog timer fails a test that hangs.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use sigloop::{
    ConnectionType, ElapsedTimer, EventDispatcher, EventLoop, NotifierKind, ProcessEventsFlags,
    Signal, SocketNotifier, Timer, TimerType,
};

/// The exit code of a loop stopped by [`watchdog`].
const WATCHDOG: i32 = -7_777;

/// A single-shot that makes every running loop return [`WATCHDOG`] if the
/// test is still running after 10 s. Dropping it disarms it.
fn watchdog() -> Timer {
    let timer = Timer::new();
    timer.set_single_shot(true);
    timer.set_timer_type(TimerType::Precise);
    let _c = timer.on_timeout(|_| EventDispatcher::exit(WATCHDOG));
    timer.start_with(Duration::from_secs(10));
    timer
}

fn counter() -> Rc<Cell<u32>> {
    Rc::new(Cell::new(0))
}

fn bump(count: &Cell<u32>) {
    count.set(count.get() + 1);
}

/// A timer whose `destroyed` emissions are counted.
fn tracked_timer() -> (Timer, Rc<Cell<u32>>) {
    let timer = Timer::new();
    let destroyed = counter();
    let d = destroyed.clone();
    let _c = timer.destroyed().connect(move |_| bump(&d));
    (timer, destroyed)
}

// ----- exec / exit / quit ----------------------------------------------------

#[test]
fn exec_returns_exit_code_and_forgets_exit_made_before_it() {
    let _watchdog = watchdog();
    EventDispatcher::post(|| EventDispatcher::exit(42));
    assert_eq!(EventDispatcher::exec(), 42);

    // An exit before exec has no effect: exec resets it and runs.
    EventDispatcher::exit(5);
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    EventDispatcher::post(move || {
        r.set(true);
        EventDispatcher::post(EventDispatcher::quit);
    });
    assert_eq!(EventDispatcher::exec(), 0);
    assert!(ran.get(), "exec returned before running posted calls");
    assert!(!EventDispatcher::is_running());
}

#[test]
fn quit_outside_exec_does_nothing() {
    let _watchdog = watchdog();
    EventDispatcher::quit();

    // It did not set the quit-now state: a nested loop still runs.
    let nested = EventLoop::new();
    let n = nested.clone();
    EventDispatcher::post(move || n.exit(3));
    assert_eq!(nested.exec(), 3);

    // Inside a bare EventLoop (no EventDispatcher::exec) quit is ignored
    // too; only the loop's own exit stops it.
    let bare = EventLoop::new();
    let b = bare.clone();
    let after_quit = Rc::new(Cell::new(false));
    let a = after_quit.clone();
    EventDispatcher::post(move || {
        EventDispatcher::quit();
        EventDispatcher::post(move || {
            a.set(true);
            b.exit(4);
        });
    });
    assert_eq!(bare.exec(), 4);
    assert!(after_quit.get(), "quit stopped a loop outside exec");

    EventDispatcher::post(EventDispatcher::quit);
    assert_eq!(EventDispatcher::exec(), 0);
}

#[test]
fn exec_while_a_loop_runs_returns_minus_one() {
    let _watchdog = watchdog();
    // Refused inside a bare EventLoop (no EventDispatcher::exec running).
    let inner_code = Rc::new(Cell::new(None));
    let bare = EventLoop::new();
    let (b, c) = (bare.clone(), inner_code.clone());
    EventDispatcher::post(move || {
        c.set(Some(EventDispatcher::exec()));
        b.exit(1);
    });
    assert_eq!(bare.exec(), 1);
    assert_eq!(inner_code.get(), Some(-1));

    // And inside exec itself.
    inner_code.set(None);
    let c = inner_code.clone();
    EventDispatcher::post(move || {
        c.set(Some(EventDispatcher::exec()));
        EventDispatcher::exit(8);
    });
    assert_eq!(EventDispatcher::exec(), 8);
    assert_eq!(inner_code.get(), Some(-1));
}

#[test]
fn dispatcher_exit_in_nested_loop_exits_all_and_blocks_new_loops_until_exec_returns() {
    let _watchdog = watchdog();
    let nested_code = Rc::new(Cell::new(None));
    let later_code = Rc::new(Cell::new(None));
    let (n, l) = (nested_code.clone(), later_code.clone());
    EventDispatcher::post(move || {
        let nested = EventLoop::new();
        EventDispatcher::post(|| EventDispatcher::exit(6));
        n.set(Some(nested.exec()));
        // Quit-now is set: a loop started now returns at once.
        l.set(Some(EventLoop::new().exec()));
    });
    assert_eq!(EventDispatcher::exec(), 6);
    assert_eq!(nested_code.get(), Some(6), "the nested loop got the code");
    assert_eq!(later_code.get(), Some(-1));

    // Qt clears its quit flag when exec returns: a new loop runs normally.
    let fresh = EventLoop::new();
    let f = fresh.clone();
    EventDispatcher::post(move || f.exit(4));
    assert_eq!(fresh.exec(), 4);

    // An exit with no exec running sets the flag (Qt: QEventLoop::exec
    // returns -1)...
    EventDispatcher::exit(1);
    assert_eq!(EventLoop::new().exec(), -1);

    // ...until the next EventDispatcher::exec resets it.
    let after = Rc::new(Cell::new(None));
    let a = after.clone();
    EventDispatcher::post(move || {
        let nested = EventLoop::new();
        let n = nested.clone();
        EventDispatcher::post(move || n.exit(2));
        a.set(Some(nested.exec()));
        EventDispatcher::quit();
    });
    assert_eq!(EventDispatcher::exec(), 0);
    assert_eq!(after.get(), Some(2));
}

#[test]
fn event_loop_exit_affects_only_that_loop() {
    let _watchdog = watchdog();
    let log = Rc::new(RefCell::new(Vec::new()));
    let outer = EventLoop::new();

    // The nested loop's exit leaves the outer loop running.
    let (o, lg) = (outer.clone(), log.clone());
    EventDispatcher::post(move || {
        let nested = EventLoop::new();
        let n = nested.clone();
        EventDispatcher::post(move || n.exit(2));
        let code = nested.exec();
        lg.borrow_mut().push(format!("nested returned {code}"));
        let lg = lg.clone();
        EventDispatcher::post(move || {
            lg.borrow_mut().push("outer still runs".to_owned());
            o.exit(1);
        });
    });
    assert_eq!(outer.exec(), 1);
    assert_eq!(*log.borrow(), ["nested returned 2", "outer still runs"]);

    // The outer loop's exit, asked for inside the nested one, waits until
    // control is back in the outer loop: the nested one keeps running.
    log.borrow_mut().clear();
    let (o, lg) = (outer.clone(), log.clone());
    EventDispatcher::post(move || {
        let nested = EventLoop::new();
        let n = nested.clone();
        let lg2 = lg.clone();
        EventDispatcher::post(move || {
            o.exit(4);
            EventDispatcher::post(move || {
                lg2.borrow_mut().push("nested still runs".to_owned());
                n.exit(3);
            });
        });
        let code = nested.exec();
        lg.borrow_mut().push(format!("nested returned {code}"));
    });
    assert_eq!(outer.exec(), 4);
    assert_eq!(*log.borrow(), ["nested still runs", "nested returned 3"]);
}

#[test]
fn exit_on_a_loop_that_is_not_running_is_ignored() {
    let _watchdog = watchdog();
    let lp = EventLoop::new();
    lp.exit(9);
    lp.quit();
    let l = lp.clone();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    EventDispatcher::post(move || {
        r.set(true);
        EventDispatcher::post(move || l.exit(4));
    });
    assert_eq!(lp.exec(), 4);
    assert!(ran.get(), "an exit made before exec stopped the loop");

    // An exit after it returned does not leak into the next run either.
    lp.exit(11);
    let l = lp.clone();
    EventDispatcher::post(move || l.exit(12));
    assert_eq!(lp.exec(), 12);
}

#[test]
fn event_loop_exec_twice_at_once_returns_minus_one_and_is_running_tracks_exec() {
    let _watchdog = watchdog();
    let lp = EventLoop::new();
    assert!(!lp.is_running());
    assert!(!EventDispatcher::is_running());
    let seen = Rc::new(RefCell::new(None));
    let (l, s) = (lp.clone(), seen.clone());
    EventDispatcher::post(move || {
        let running = (l.is_running(), EventDispatcher::is_running());
        let again = l.exec();
        *s.borrow_mut() = Some((running, again, l.is_running()));
        l.exit(5);
    });
    assert_eq!(lp.exec(), 5);
    assert_eq!(*seen.borrow(), Some(((true, true), -1, true)));
    assert!(!lp.is_running());
    assert!(!EventDispatcher::is_running());
}

// ----- posted calls and process_events ---------------------------------------

#[test]
fn posted_calls_run_fifo_and_a_call_posted_by_one_runs_on_a_later_pass() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let lg = log.clone();
    EventDispatcher::post(move || {
        lg.borrow_mut().push("a");
        let lg = lg.clone();
        EventDispatcher::post(move || lg.borrow_mut().push("c"));
    });
    let lg = log.clone();
    EventDispatcher::post(move || lg.borrow_mut().push("b"));

    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(*log.borrow(), ["a", "b"], "c must wait for the next pass");
    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(*log.borrow(), ["a", "b", "c"]);
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));

    // Many calls keep their order.
    let order = Rc::new(RefCell::new(Vec::new()));
    for i in 0..500 {
        let o = order.clone();
        EventDispatcher::post(move || o.borrow_mut().push(i));
    }
    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(*order.borrow(), (0..500).collect::<Vec<_>>());
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
}

/// Posts a call that counts itself and posts itself again, until `stop`
/// (or 5 s, as a bound) — busy work that never runs out on its own.
fn repost(count: Rc<Cell<u32>>, stop: Rc<Cell<bool>>, clock: ElapsedTimer) {
    EventDispatcher::post(move || {
        bump(&count);
        if !stop.get() && !clock.has_expired(Duration::from_secs(5)) {
            repost(count, stop, clock);
        }
    });
}

#[test]
fn process_events_for_stops_after_max_time_with_endless_work() {
    let count = counter();
    let stop = Rc::new(Cell::new(false));
    repost(count.clone(), stop.clone(), ElapsedTimer::started());
    let clock = ElapsedTimer::started();
    EventDispatcher::process_events_for(ProcessEventsFlags::ALL_EVENTS, Duration::from_millis(30));
    let took = clock.elapsed();
    assert!(took >= Duration::from_millis(30), "returned after {took:?}");
    assert!(took < Duration::from_secs(3), "ran for {took:?}");
    assert!(count.get() > 1, "one pass per repost: {}", count.get());
    // It was cut off by time, not because the work ran out.
    assert_eq!(EventDispatcher::time_to_next_timer(), Some(Duration::ZERO));

    stop.set(true);
    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(EventDispatcher::time_to_next_timer(), None);

    // With finite work it returns as soon as the work is done.
    let done = counter();
    for _ in 0..3 {
        let d = done.clone();
        EventDispatcher::post(move || bump(&d));
    }
    let clock = ElapsedTimer::started();
    EventDispatcher::process_events_for(ProcessEventsFlags::ALL_EVENTS, Duration::from_secs(30));
    assert_eq!(done.get(), 3);
    assert!(clock.elapsed() < Duration::from_secs(5));
}

/// The scheduler state of thread `tid` of this process ('R', 'S', ...).
fn thread_state(tid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.trim_start().chars().next()
}

#[test]
fn wait_for_more_events_blocks_until_a_post_from_another_thread() {
    let handle = EventDispatcher::handle();
    // "/proc/thread-self" -> "<pid>/task/<tid>".
    let me = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = me
        .file_name()
        .and_then(|t| t.to_str())
        .expect("tid")
        .to_owned();
    let (waiting_tx, waiting_rx) = mpsc::channel::<()>();
    let poster = std::thread::spawn(move || {
        waiting_rx.recv().expect("main thread gone");
        // Best effort: post once the main thread sleeps in epoll_wait. If
        // it was not seen asleep, posting anyway still passes the test.
        let clock = ElapsedTimer::started();
        while thread_state(&tid) != Some('S') && !clock.has_expired(Duration::from_secs(2)) {
            std::thread::yield_now();
        }
        handle
            .post(|| EventDispatcher::post(|| {}))
            .expect("main loop gone");
    });

    // Nothing pending: without WAIT_FOR_MORE_EVENTS a pass returns at once.
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    let _watchdog = watchdog(); // bounds the wait below if no post comes
    waiting_tx.send(()).expect("poster gone");
    let clock = ElapsedTimer::started();
    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::WAIT_FOR_MORE_EVENTS
    ));
    assert!(
        clock.elapsed() < Duration::from_secs(9),
        "woken by the watchdog, not by the post"
    );
    // The call posted by the cross-thread call is pending for the next pass.
    assert_eq!(EventDispatcher::time_to_next_timer(), Some(Duration::ZERO));
    poster.join().expect("poster panicked");
}

// ----- deferred delete ---------------------------------------------------------

#[test]
fn delete_later_before_exec_deletes_once_exec_runs() {
    let _watchdog = watchdog();
    let (timer, destroyed) = tracked_timer();
    timer.delete_later();
    // process_events is not a loop level: nothing deleted yet.
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert!(!timer.is_deleted());
    EventDispatcher::post(EventDispatcher::quit);
    assert_eq!(EventDispatcher::exec(), 0);
    assert!(timer.is_deleted());
    assert_eq!(destroyed.get(), 1);
}

/// What a test saw, step by step: (step, whether the timer was deleted).
type Seen = Rc<RefCell<Vec<(&'static str, bool)>>>;

/// Runs three passes of `nested` recording whether `timer` is deleted,
/// then quits it.
fn spin_nested(nested: EventLoop, passes: Rc<Cell<u32>>, timer: Timer, seen: Seen) {
    EventDispatcher::post(move || {
        bump(&passes);
        seen.borrow_mut().push(("nested pass", timer.is_deleted()));
        if passes.get() < 3 {
            spin_nested(nested, passes, timer, seen);
        } else {
            nested.quit();
        }
    });
}

#[test]
fn delete_later_in_a_call_waits_for_the_return_to_the_loop() {
    let _watchdog = watchdog();
    let (timer, destroyed) = tracked_timer();
    let seen: Seen = Rc::new(RefCell::new(Vec::new()));
    let (t, s) = (timer.clone(), seen.clone());
    EventDispatcher::post(move || {
        t.delete_later();
        s.borrow_mut().push(("right after", t.is_deleted()));

        // A nested loop started in the same call runs passes but does not
        // delete it.
        let nested = EventLoop::new();
        let passes = counter();
        spin_nested(nested.clone(), passes, t.clone(), s.clone());
        assert_eq!(nested.exec(), 0);
        s.borrow_mut().push(("after nested", t.is_deleted()));

        // Nor does process_events called from the same call.
        for _ in 0..3 {
            EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
        }
        s.borrow_mut()
            .push(("after process_events", t.is_deleted()));

        let (t, s) = (t.clone(), s.clone());
        EventDispatcher::post(move || {
            s.borrow_mut().push(("next pass", t.is_deleted()));
            EventDispatcher::quit();
        });
    });
    assert_eq!(EventDispatcher::exec(), 0);
    assert_eq!(
        *seen.borrow(),
        [
            ("right after", false),
            ("nested pass", false),
            ("nested pass", false),
            ("nested pass", false),
            ("after nested", false),
            ("after process_events", false),
            ("next pass", true),
        ]
    );
    assert_eq!(destroyed.get(), 1);
}

#[test]
fn delete_later_inside_a_nested_loop_is_run_by_that_loop() {
    let _watchdog = watchdog();
    let (timer, destroyed) = tracked_timer();
    let seen = Rc::new(RefCell::new(None));
    let (t, s) = (timer.clone(), seen.clone());
    EventDispatcher::post(move || {
        let nested = EventLoop::new();
        let n = nested.clone();
        let t2 = t.clone();
        EventDispatcher::post(move || {
            t2.delete_later();
            EventDispatcher::post(move || {
                // Back in the nested loop once: deleted by it.
                *s.borrow_mut() = Some(t2.is_deleted());
                n.quit();
            });
        });
        nested.exec();
        EventDispatcher::quit();
    });
    assert_eq!(EventDispatcher::exec(), 0);
    assert_eq!(*seen.borrow(), Some(true));
    assert_eq!(destroyed.get(), 1);
}

#[test]
fn send_posted_deletes_forces_deferred_deletes_at_the_current_level() {
    let _watchdog = watchdog();
    let (timer, destroyed) = tracked_timer();
    let seen = Rc::new(Cell::new(None));
    let (t, s) = (timer.clone(), seen.clone());
    EventDispatcher::post(move || {
        t.delete_later();
        EventDispatcher::send_posted_deletes();
        s.set(Some(t.is_deleted()));
        EventDispatcher::quit();
    });
    assert_eq!(EventDispatcher::exec(), 0);
    assert_eq!(seen.get(), Some(true));
    assert_eq!(destroyed.get(), 1);

    // Outside any loop too.
    let (timer, destroyed) = tracked_timer();
    timer.delete_later();
    EventDispatcher::send_posted_deletes();
    assert!(timer.is_deleted());
    assert_eq!(destroyed.get(), 1);
}

#[test]
fn delete_later_twice_emits_destroyed_once_and_stops_the_timer() {
    let _watchdog = watchdog();
    let (timer, destroyed) = tracked_timer();
    let fired = counter();
    let f = fired.clone();
    let _c = timer.timeout().connect(move |_| bump(&f));
    timer.set_timer_type(TimerType::Precise);
    timer.start_with(Duration::from_millis(1));
    let t = timer.clone();
    EventDispatcher::post(move || {
        t.delete_later();
        t.delete_later();
        // Run long enough for the timer to have fired, had it survived.
        Timer::single_shot(Duration::from_millis(30), EventDispatcher::quit);
    });
    assert_eq!(EventDispatcher::exec(), 0);
    assert!(timer.is_deleted());
    timer.delete_later();
    EventDispatcher::send_posted_deletes();
    assert_eq!(destroyed.get(), 1);
    assert_eq!(fired.get(), 0, "a timer deleted before it was due fired");
    assert!(!timer.is_active());
    timer.start();
    assert!(!timer.is_active(), "a deleted timer restarted");
    assert!(timer.downgrade().upgrade().is_none());
}

#[test]
fn delete_later_after_exec_returned_is_not_run_by_process_events() {
    let _watchdog = watchdog();
    EventDispatcher::post(EventDispatcher::quit);
    assert_eq!(EventDispatcher::exec(), 0);

    let (timer, destroyed) = tracked_timer();
    timer.delete_later();
    for _ in 0..5 {
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    }
    assert!(!timer.is_deleted());
    assert_eq!(destroyed.get(), 0);
    // Only an explicit request deletes it now.
    EventDispatcher::send_posted_deletes();
    assert!(timer.is_deleted());
    assert_eq!(destroyed.get(), 1);
}

// ----- socket notifiers under EXCLUDE_SOCKET_NOTIFIERS --------------------------

#[test]
fn exclude_socket_notifiers_defers_activation_without_losing_it() {
    let (mut writer, reader) = UnixStream::pair().unwrap();
    reader.set_nonblocking(true).unwrap();
    let notifier = SocketNotifier::new(reader.as_raw_fd(), NotifierKind::Read).unwrap();
    let activations = counter();
    let a = activations.clone();
    let _c = notifier.activated().connect(move |_| {
        bump(&a);
        let mut buf = [0u8; 64];
        while matches!((&reader).read(&mut buf), Ok(n) if n > 0) {}
    });

    writer.write_all(b"x").unwrap();
    for _ in 0..3 {
        EventDispatcher::process_events(ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS);
    }
    assert_eq!(activations.get(), 0, "fired under EXCLUDE_SOCKET_NOTIFIERS");

    // More data while excluded is still one readiness, one activation.
    writer.write_all(b"y").unwrap();
    EventDispatcher::process_events(ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS);
    assert_eq!(activations.get(), 0);

    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(
        activations.get(),
        1,
        "the deferred readiness was lost or doubled"
    );
    for _ in 0..5 {
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    }
    assert_eq!(activations.get(), 1, "fired with nothing to read");
}

// ----- embedding ---------------------------------------------------------------

#[test]
fn time_to_next_timer_reports_idle_pending_and_armed() {
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
    EventDispatcher::post(|| {});
    assert_eq!(EventDispatcher::time_to_next_timer(), Some(Duration::ZERO));
    assert!(EventDispatcher::dispatch_once(Some(Duration::ZERO)));
    assert_eq!(EventDispatcher::time_to_next_timer(), None);

    let timer = Timer::new();
    timer.set_timer_type(TimerType::Precise);
    timer.start_with(Duration::from_secs(5));
    let left = EventDispatcher::time_to_next_timer().expect("a timer is armed");
    assert!(left <= Duration::from_secs(5), "{left:?}");
    assert!(left > Duration::from_secs(4), "{left:?}");
    timer.stop();
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
}

#[test]
fn host_mio_poll_drives_the_loop_through_its_fd() {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};

    const LOOP: Token = Token(7);
    let fd = EventDispatcher::as_raw_fd();
    assert!(fd >= 0);
    let mut host = Poll::new().unwrap();
    host.registry()
        .register(&mut SourceFd(&fd), LOOP, Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(16);

    let fired = Rc::new(Cell::new(false));
    let timer = Timer::new();
    timer.set_single_shot(true);
    timer.set_timer_type(TimerType::Precise);
    let f = fired.clone();
    let _c = timer.timeout().connect(move |_| f.set(true));
    timer.start_with(Duration::from_millis(20));

    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (posted_tx, posted_rx) = mpsc::channel::<u32>();
    let handle = EventDispatcher::handle();
    let poster = std::thread::spawn(move || {
        go_rx.recv().expect("host gone");
        handle
            .post(move || posted_tx.send(99).expect("test gone"))
            .expect("loop gone");
    });

    let clock = ElapsedTimer::started();
    let mut delivered = None;
    let mut woke_on_fd = false;
    for _ in 0..1_000 {
        if fired.get() && delivered.is_some() {
            break;
        }
        assert!(
            !clock.has_expired(Duration::from_secs(10)),
            "host loop stalled"
        );
        // Sleep as the embedded loop asks, but never past the test's limit.
        let timeout = EventDispatcher::time_to_next_timer()
            .map_or(Duration::from_secs(5), |t| t.min(Duration::from_secs(5)));
        host.poll(&mut events, Some(timeout)).unwrap();
        if fired.get() {
            woke_on_fd |= events.iter().any(|e| e.token() == LOOP);
        }
        EventDispatcher::dispatch_once(Some(Duration::ZERO));
        if fired.get() && !woke_on_fd {
            // The timer is done; now only the cross-thread post can wake
            // the host, and only through the loop's fd.
            let _ = go_tx.send(());
        }
        if let Ok(value) = posted_rx.try_recv() {
            delivered = Some(value);
        }
    }
    assert!(fired.get(), "the timer did not fire under the host loop");
    assert_eq!(
        delivered,
        Some(99),
        "the cross-thread post was not delivered"
    );
    assert!(woke_on_fd, "the host never saw the loop's fd turn readable");
    assert!(
        clock.elapsed() < Duration::from_secs(5),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(EventDispatcher::time_to_next_timer(), None);
    poster.join().expect("poster panicked");
}

// ----- an idle loop sleeps ---------------------------------------------------------

/// CPU time (user + system) used by the calling thread so far, from
/// `/proc/thread-self/stat` (fields 14 and 15, in 10 ms clock ticks).
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    let after_comm = &stat[stat.rfind(')').expect("comm field") + 1..];
    // after_comm starts with field 3 (state): field N is at index N - 3.
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[test]
fn idle_loop_uses_no_cpu() {
    let _watchdog = watchdog();
    Timer::single_shot(Duration::from_millis(300), EventDispatcher::quit);
    let wall = ElapsedTimer::started();
    let cpu_before = thread_cpu_time();
    assert_eq!(EventDispatcher::exec(), 0);
    let cpu = thread_cpu_time() - cpu_before;
    let wall = wall.elapsed();
    assert!(wall >= Duration::from_millis(300), "{wall:?}");
    assert!(
        cpu < Duration::from_millis(50),
        "the idle loop used {cpu:?} of CPU in {wall:?}"
    );
}

/// Qt's `removePostedEvents(receiver)`: the receiver's posted calls and
/// queued slot calls are dropped unrun (their captures dropped with no
/// loop borrow held: a destructor may post), others run in order.
#[test]
fn remove_posted_events_drops_only_that_receivers_calls() {
    struct PostsOnDrop;
    impl Drop for PostsOnDrop {
        fn drop(&mut self) {
            EventDispatcher::post(|| {});
        }
    }
    let log = Rc::new(RefCell::new(Vec::new()));
    let a = Rc::new(1u32);
    let b = Rc::new(2u32);
    let signal = Signal::<u32>::new();
    let l = log.clone();
    let _queued = signal
        .connect_to_with(&a, ConnectionType::Queued, move |a, n| {
            l.borrow_mut().push(format!("slot a{a} {n}"))
        })
        .unwrap();
    let l = log.clone();
    let guard = PostsOnDrop;
    EventDispatcher::post_to(&a, move |a| {
        let _guard = &guard;
        l.borrow_mut().push(format!("post a{a}"));
    });
    let l = log.clone();
    EventDispatcher::post_to(&b, move |b| l.borrow_mut().push(format!("post b{b}")));
    signal.emit(&5);
    let l = log.clone();
    EventDispatcher::post(move || l.borrow_mut().push("plain".to_string()));
    assert_eq!(EventDispatcher::remove_posted_events(&a), 2);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(*log.borrow(), ["post b2", "plain"]);
    // The connection itself stays: a later emission is delivered.
    signal.emit(&6);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(log.borrow().last().unwrap(), "slot a1 6");
}

/// Qt's `sendPostedEvents()`: the calls posted so far run now, in order,
/// including calls from other threads; what they post waits. With a
/// receiver, only its calls run and the others keep their place.
#[test]
fn send_posted_events_runs_what_was_posted_before_it() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let a = Rc::new(());
    let push = |log: &Rc<RefCell<Vec<String>>>, what: &'static str| {
        let log = log.clone();
        move || log.borrow_mut().push(what.to_string())
    };
    EventDispatcher::post(push(&log, "first"));
    let (inner, later) = (push(&log, "posted by second"), log.clone());
    EventDispatcher::post(move || {
        later.borrow_mut().push("second".into());
        EventDispatcher::post(inner);
    });
    let handle = EventDispatcher::handle();
    let from_thread = std::thread::spawn(move || handle.post(|| {}).is_ok());
    assert!(from_thread.join().unwrap());
    EventDispatcher::send_posted_events();
    assert_eq!(*log.borrow(), ["first", "second"]);

    log.borrow_mut().clear();
    EventDispatcher::post(push(&log, "plain"));
    let mine = push(&log, "for a");
    EventDispatcher::post_to(&a, move |_| mine());
    EventDispatcher::send_posted_events_to(&a);
    assert_eq!(*log.borrow(), ["for a"]);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(*log.borrow(), ["for a", "posted by second", "plain"]);
}
