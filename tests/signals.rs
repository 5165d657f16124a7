//! Signals and slots: every emission rule and connection feature of
//! `sigloop::Signal`, checked the way a user would notice them.
//!
//! The contract is Qt's (`QObject::connect`, `doActivate`; see
//! Qt's `Qt::ConnectionType` documentation) with the documented sigloop
//! differences:
//! recursive emission skips the slot that is already running, and
//! `BlockingQueued` to the emitting thread's own loop is refused instead of
//! deadlocking.
//!
//! No test sleeps: each runs the loop until a condition holds, under a
//! watchdog that fails the test after [`DEADLINE`]. Cross-thread waits use
//! `recv_timeout`, and calls that could block for ever run under a
//! [`HangGuard`] that aborts the test binary instead of hanging it.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use sigloop::{
    ConnectError, Connection, ConnectionType, EventDispatcher, EventLoop, LoopThread,
    ProcessEventsFlags, QueueClosed, Signal, Timer, TimerType,
};

/// How long any wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// Exit code the watchdogs use; no test exits with it.
const TIMED_OUT: i32 = -77;

/// Upper bound on loop passes in [`process_until`].
const MAX_PASSES: usize = 100_000;

// ----- helpers ---------------------------------------------------------------

/// An ordered record of what the slots did.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    fn contains(&self, entry: &str) -> bool {
        self.0.borrow().iter().any(|e| e == entry)
    }

    fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// A single-shot timer of [`DEADLINE`] that runs `on_expiry`. Dropping it
/// stops it.
fn watchdog(on_expiry: impl FnMut(&()) + 'static) -> Timer {
    let timer = Timer::new();
    timer.set_single_shot(true);
    timer.set_timer_type(TimerType::Precise);
    // Dropping a Connection handle leaves the slot connected.
    let _slot = timer.timeout().connect(on_expiry);
    timer.start_with(DEADLINE);
    timer
}

/// Runs this thread's loop one pass at a time until `done` holds; fails the
/// test after [`DEADLINE`] or [`MAX_PASSES`].
fn process_until(what: &str, mut done: impl FnMut() -> bool) {
    let expired = Rc::new(Cell::new(false));
    let e = expired.clone();
    let _watchdog = watchdog(move |_| e.set(true));
    for _ in 0..MAX_PASSES {
        if done() {
            return;
        }
        assert!(!expired.get(), "timed out waiting for {what}");
        EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
    }
    panic!("{what}: not done after {MAX_PASSES} loop passes");
}

/// Runs this thread's loop with `EventDispatcher::exec` until the test quits
/// it; fails the test after [`DEADLINE`].
fn exec_until_quit() -> i32 {
    let _watchdog = watchdog(|_| EventDispatcher::exit(TIMED_OUT));
    let code = EventDispatcher::exec();
    assert_ne!(code, TIMED_OUT, "the loop was never quit");
    code
}

/// Runs `nested` under a watchdog that exits it with [`TIMED_OUT`].
fn exec_nested(nested: &EventLoop) -> i32 {
    let n = nested.clone();
    let _watchdog = watchdog(move |_| n.exit(TIMED_OUT));
    nested.exec()
}

/// Runs `call` on `worker`'s loop and returns its result.
fn on_worker<R: Send + 'static>(
    worker: &LoopThread,
    call: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    worker
        .handle()
        .post(move || {
            let _ = tx.send(call());
        })
        .expect("the worker loop is running");
    rx.recv_timeout(DEADLINE)
        .expect("the worker ran the call (it did not panic or hang)")
}

/// Aborts the test binary if dropped later than [`DEADLINE`] after it was
/// made: for calls that would otherwise block for ever (a blocking-queued
/// emit, joining a thread).
struct HangGuard {
    cancel: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HangGuard {
    fn new(what: &'static str) -> Self {
        let (cancel, cancelled) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            if cancelled.recv_timeout(DEADLINE) == Err(RecvTimeoutError::Timeout) {
                eprintln!("tests/signals.rs: hung in {what}; aborting");
                std::process::abort();
            }
        });
        HangGuard {
            cancel: Some(cancel),
            thread: Some(thread),
        }
    }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        drop(self.cancel.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ----- direct emission rules -------------------------------------------------

#[test]
fn slots_run_in_connection_order() {
    let log = Log::default();
    let signal = Signal::<u32>::new();
    let mut conns = Vec::new();
    for name in ["first", "second", "third", "fourth"] {
        let l = log.clone();
        conns.push(signal.connect(move |n| l.push(format!("{name} {n}"))));
    }
    signal.emit(&1);
    signal.emit(&2);
    assert_eq!(
        log.take(),
        [
            "first 1", "second 1", "third 1", "fourth 1", "first 2", "second 2", "third 2",
            "fourth 2"
        ]
    );

    // Removing one keeps the others in order; a new slot goes last.
    assert!(conns[1].disconnect());
    let l = log.clone();
    let _fifth = signal.connect(move |n| l.push(format!("fifth {n}")));
    signal.emit(&3);
    assert_eq!(log.take(), ["first 3", "third 3", "fourth 3", "fifth 3"]);
}

#[test]
fn emit_with_no_slots_does_nothing() {
    let never_connected = Signal::<String>::new();
    never_connected.emit(&"nobody listens".to_owned());
    assert_eq!(never_connected.receivers(), 0);
    assert!(!never_connected.is_connected());

    // A signal whose slots are all gone behaves the same.
    let hits = Rc::new(Cell::new(0));
    let emptied = Signal::<()>::new();
    let h = hits.clone();
    let conn = emptied.connect(move |_| h.set(h.get() + 1));
    assert!(conn.disconnect());
    emptied.emit(&());
    emptied.emit(&());
    assert_eq!(hits.get(), 0);
    assert_eq!(emptied.receivers(), 0);
}

#[test]
fn receivers_counts_live_connections() {
    let signal = Signal::<u8>::new();
    assert_eq!(signal.receivers(), 0);

    let a = signal.connect(|_| {});
    let b = signal.connect(|_| {});
    let c = signal.connect(|_| {});
    assert_eq!(signal.receivers(), 3);

    assert!(b.disconnect());
    assert_eq!(signal.receivers(), 2);
    assert!(!b.disconnect(), "a second disconnect reports nothing to do");
    assert_eq!(signal.receivers(), 2);

    // Dropping a Connection handle does not disconnect (Qt's rule).
    drop(a);
    assert_eq!(signal.receivers(), 2);

    assert_eq!(signal.disconnect_all(), 2);
    assert_eq!(signal.receivers(), 0);
    assert!(!c.is_connected());
    assert_eq!(signal.disconnect_all(), 0);
}

#[test]
fn is_connected_reports_signal_and_connection_state() {
    let hits = Rc::new(Cell::new(0));
    let signal = Signal::<()>::new();
    assert!(!signal.is_connected());

    let h = hits.clone();
    let conn = signal.connect(move |_| h.set(h.get() + 1));
    assert!(signal.is_connected());
    assert!(conn.is_connected());

    assert!(conn.disconnect());
    assert!(!conn.is_connected());
    assert!(!signal.is_connected());
    signal.emit(&());
    assert_eq!(hits.get(), 0);

    // A connection of a dropped signal is not connected.
    let h = hits.clone();
    let orphan = signal.connect(move |_| h.set(h.get() + 1));
    assert!(orphan.is_connected());
    drop(signal);
    assert!(!orphan.is_connected());
    assert!(!orphan.disconnect());
}

#[test]
fn slot_connected_during_emit_runs_from_the_next_emission() {
    let log = Log::default();
    let signal = Rc::new(Signal::<u32>::new());
    let late: Rc<RefCell<Vec<Connection>>> = Rc::default();

    let (l, added) = (log.clone(), late.clone());
    let _a = signal.connect_to(&signal, move |signal, n| {
        l.push(format!("A {n}"));
        if *n == 1 {
            let l = l.clone();
            added
                .borrow_mut()
                .push(signal.connect(move |n| l.push(format!("late {n}"))));
        }
    });
    let l = log.clone();
    let _b = signal.connect(move |n| l.push(format!("B {n}")));

    signal.emit(&1);
    assert_eq!(log.take(), ["A 1", "B 1"], "the new slot is not called");
    assert_eq!(signal.receivers(), 3);
    assert!(late.borrow()[0].is_connected());

    signal.emit(&2);
    assert_eq!(log.take(), ["A 2", "B 2", "late 2"]);
}

#[test]
fn slot_disconnecting_itself_finishes_and_is_not_called_again() {
    let log = Log::default();
    let signal = Signal::<u32>::new();
    let own: Rc<RefCell<Option<Connection>>> = Rc::default();

    let (l, o) = (log.clone(), own.clone());
    let conn = signal.connect(move |n| {
        l.push(format!("A {n} before"));
        let disconnected = o.borrow().as_ref().map(Connection::disconnect);
        l.push(format!("A {n} after, disconnected: {disconnected:?}"));
    });
    *own.borrow_mut() = Some(conn);
    let l = log.clone();
    let _b = signal.connect(move |n| l.push(format!("B {n}")));

    signal.emit(&1);
    assert_eq!(
        log.take(),
        ["A 1 before", "A 1 after, disconnected: Some(true)", "B 1"]
    );
    assert!(!own.borrow().as_ref().unwrap().is_connected());
    assert_eq!(signal.receivers(), 1);

    signal.emit(&2);
    assert_eq!(log.take(), ["B 2"]);
}

#[test]
fn slot_disconnected_before_it_is_reached_is_skipped() {
    let log = Log::default();
    let signal = Signal::<u32>::new();
    let victim: Rc<RefCell<Option<Connection>>> = Rc::default();

    let (l, v) = (log.clone(), victim.clone());
    let _a = signal.connect(move |n| {
        l.push(format!("A {n}"));
        if let Some(conn) = v.borrow().as_ref() {
            l.push(format!("A disconnects C: {}", conn.disconnect()));
        }
    });
    let l = log.clone();
    let _b = signal.connect(move |n| l.push(format!("B {n}")));
    let l = log.clone();
    *victim.borrow_mut() = Some(signal.connect(move |n| l.push(format!("C {n}"))));
    let l = log.clone();
    let _d = signal.connect(move |n| l.push(format!("D {n}")));

    signal.emit(&1);
    assert_eq!(log.take(), ["A 1", "A disconnects C: true", "B 1", "D 1"]);
    assert_eq!(signal.receivers(), 3);

    signal.emit(&2);
    assert_eq!(log.take(), ["A 2", "A disconnects C: false", "B 2", "D 2"]);
}

#[test]
fn disconnecting_a_slot_that_already_ran_affects_only_later_emissions() {
    let log = Log::default();
    let signal = Signal::<u32>::new();
    let first: Rc<RefCell<Option<Connection>>> = Rc::default();

    let l = log.clone();
    *first.borrow_mut() = Some(signal.connect(move |n| l.push(format!("A {n}"))));
    let l = log.clone();
    let _b = signal.connect(move |n| l.push(format!("B {n}")));
    let (l, f) = (log.clone(), first.clone());
    let _c = signal.connect(move |n| {
        l.push(format!("C {n}"));
        if let Some(conn) = f.borrow().as_ref() {
            if conn.is_connected() {
                l.push(format!("C disconnects A: {}", conn.disconnect()));
            }
        }
    });

    signal.emit(&1);
    assert_eq!(log.take(), ["A 1", "B 1", "C 1", "C disconnects A: true"]);
    assert!(!first.borrow().as_ref().unwrap().is_connected());

    signal.emit(&2);
    assert_eq!(log.take(), ["B 2", "C 2"]);
}

#[test]
fn disconnect_all_during_emit_stops_the_remaining_slots() {
    let log = Log::default();
    let signal = Rc::new(Signal::<u32>::new());

    let l = log.clone();
    let a = signal.connect(move |n| l.push(format!("A {n}")));
    let l = log.clone();
    let b = signal.connect_to(&signal, move |signal, n| {
        l.push(format!("B {n}: disconnected {}", signal.disconnect_all()));
        l.push(format!("B {n} finishes"));
    });
    let l = log.clone();
    let c = signal.connect(move |n| l.push(format!("C {n}")));
    let l = log.clone();
    let d = signal.connect(move |n| l.push(format!("D {n}")));

    signal.emit(&1);
    assert_eq!(log.take(), ["A 1", "B 1: disconnected 4", "B 1 finishes"]);
    assert_eq!(signal.receivers(), 0);
    for conn in [&a, &b, &c, &d] {
        assert!(!conn.is_connected());
    }

    signal.emit(&2);
    assert!(log.is_empty());
}

/// An application object owning a signal, shaped like sigloop's own objects:
/// dropping it is Qt's `delete sender`, which breaks every connection of the
/// signal at once.
///
/// In safe Rust `emit(&self)` borrows the `Signal` for the whole call, so
/// the emitting code necessarily keeps the signal's memory alive until
/// `emit` returns; what a slot can do is destroy the object around it. The
/// emission must then stop after that slot and unwind cleanly.
struct Sender {
    changed: Rc<Signal<u32>>,
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.changed.disconnect_all();
    }
}

#[test]
fn sender_dropped_inside_its_own_slot_ends_the_emission_safely() {
    let log = Log::default();
    let owner = Rc::new(RefCell::new(Some(Sender {
        changed: Rc::new(Signal::new()),
    })));
    // Every closure holds a clone: once they are all freed it is unique.
    let probe = Rc::new(());

    let signal = Rc::clone(&owner.borrow().as_ref().unwrap().changed);
    let (l, p) = (log.clone(), probe.clone());
    let before = signal.connect(move |n| {
        let _ = &p;
        l.push(format!("before {n}"));
    });
    let (l, p, o) = (log.clone(), probe.clone(), owner.clone());
    let dropper = signal.connect(move |n| {
        let _ = &p;
        l.push(format!("dropper {n}"));
        let sender = o.borrow_mut().take();
        drop(sender);
        l.push("dropper: sender gone");
    });
    let (l, p) = (log.clone(), probe.clone());
    let after = signal.connect(move |n| {
        let _ = &p;
        l.push(format!("after {n}"));
    });
    assert_eq!(Rc::strong_count(&probe), 4);

    // What the emitting code holds for the duration of the call.
    let emitting = signal;
    emitting.emit(&7);

    assert_eq!(
        log.take(),
        ["before 7", "dropper 7", "dropper: sender gone"]
    );
    assert!(owner.borrow().is_none());
    assert_eq!(emitting.receivers(), 0);
    for conn in [&before, &dropper, &after] {
        assert!(!conn.is_connected());
    }
    assert_eq!(
        Rc::strong_count(&probe),
        1,
        "every slot closure, the running one included, was freed"
    );

    // The last reference goes; the connections stay broken.
    assert_eq!(Rc::strong_count(&emitting), 1);
    drop(emitting);
    assert!(!before.is_connected());
    assert!(!before.disconnect());
}

#[test]
fn sender_delete_later_inside_its_own_slot_takes_effect_after_the_emission() {
    let log = Log::default();
    let destroyed = Rc::new(Cell::new(0));

    let timer = Timer::new();
    timer.set_timer_type(TimerType::Precise);

    let (l, d) = (log.clone(), destroyed.clone());
    let on_destroyed = timer.destroyed().connect(move |_| {
        d.set(d.get() + 1);
        l.push("destroyed");
        // A live 1 ms repeating timer would fire many times in this window.
        Timer::single_shot(Duration::from_millis(50), EventDispatcher::quit);
    });
    let l = log.clone();
    let first = timer.on_timeout(move |timer| {
        l.push("timeout");
        timer.delete_later();
        assert!(!timer.is_deleted(), "deletion is deferred");
    });
    let l = log.clone();
    let second = timer.timeout().connect(move |_| l.push("second slot"));

    timer.start_with(Duration::from_millis(1));
    assert_eq!(exec_until_quit(), 0);

    // The rest of the emission ran; the timer was deleted at the next
    // return to the loop and never fired again.
    assert_eq!(log.take(), ["timeout", "second slot", "destroyed"]);
    assert_eq!(destroyed.get(), 1);
    assert!(timer.is_deleted());
    assert!(!timer.is_active());
    assert!(!first.is_connected());
    assert!(!second.is_connected());
    assert!(!on_destroyed.is_connected());
    assert_eq!(timer.timeout().receivers(), 0);
    assert_eq!(timer.destroyed().receivers(), 0);
    assert!(timer.downgrade().upgrade().is_none());

    // A deleted timer cannot be restarted or deleted twice.
    timer.start();
    assert!(!timer.is_active());
    timer.delete_later();
    EventDispatcher::send_posted_deletes();
    assert_eq!(destroyed.get(), 1);
}

#[test]
fn slot_running_a_nested_loop_lets_the_emission_continue_afterwards() {
    let log = Log::default();
    let signal = Signal::<()>::new();

    let l = log.clone();
    let _first = signal.connect(move |_| {
        l.push("first: enter");
        let nested = EventLoop::new();
        let (q, l2) = (nested.clone(), l.clone());
        EventDispatcher::post(move || {
            l2.push("posted call");
            q.quit();
        });
        let code = exec_nested(&nested);
        l.push(format!("first: nested loop returned {code}"));
    });
    let l = log.clone();
    let _second = signal.connect(move |_| l.push("second"));

    signal.emit(&());
    assert_eq!(
        log.take(),
        [
            "first: enter",
            "posted call",
            "first: nested loop returned 0",
            "second"
        ]
    );

    // The signal is intact for the next emission.
    assert_eq!(signal.receivers(), 2);
    signal.emit(&());
    assert_eq!(log.take().len(), 4);
}

/// A slot emitting its own signal: sigloop calls every *other* slot again
/// (those before and after it) but skips the slot that is running, because
/// an `FnMut` cannot be entered twice. Qt would re-enter it. The recursion
/// is therefore one level deep here; the depth check only keeps a broken
/// library from recursing without end.
#[test]
fn recursive_emission_skips_the_running_slot_and_reruns_the_others() {
    const MAX_DEPTH: u32 = 8;
    let log = Log::default();
    let deepest = Rc::new(Cell::new(0));
    let signal = Rc::new(Signal::<u32>::new());

    let l = log.clone();
    let _z = signal.connect(move |depth| l.push(format!("Z {depth}")));
    let (l, d) = (log.clone(), deepest.clone());
    let _a = signal.connect_to(&signal, move |signal, depth| {
        l.push(format!("A {depth}"));
        d.set(d.get().max(*depth));
        if *depth < MAX_DEPTH {
            signal.emit(&(depth + 1));
        }
        l.push(format!("A {depth} done"));
    });
    let l = log.clone();
    let _b = signal.connect(move |depth| l.push(format!("B {depth}")));

    signal.emit(&0);
    assert_eq!(
        log.take(),
        ["Z 0", "A 0", "Z 1", "B 1", "A 0 done", "B 0"],
        "the nested emission runs Z and B, not the running A"
    );
    assert_eq!(deepest.get(), 0, "A was never re-entered");
    assert_eq!(signal.receivers(), 3);

    // Afterwards A is callable again.
    signal.emit(&0);
    assert_eq!(log.take().len(), 6);
}

#[test]
fn panicking_slot_unwinds_out_of_emit_and_the_signal_stays_usable() {
    let log = Log::default();
    let signal = Signal::<u32>::new();

    let l = log.clone();
    let a = signal.connect(move |n| l.push(format!("A {n}")));
    let l = log.clone();
    let p = signal.connect(move |n| {
        l.push(format!("P {n}"));
        if *n == 1 {
            panic!("slot P refuses 1");
        }
    });
    let l = log.clone();
    let c = signal.connect(move |n| l.push(format!("C {n}")));

    let outcome = panic::catch_unwind(AssertUnwindSafe(|| signal.emit(&1)));
    let payload = outcome.expect_err("the slot's panic reaches the emitter");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"slot P refuses 1"));
    assert_eq!(log.take(), ["A 1", "P 1"], "the emission stopped at P");

    assert_eq!(signal.receivers(), 3);
    for conn in [&a, &p, &c] {
        assert!(conn.is_connected());
    }
    signal.emit(&2);
    assert_eq!(log.take(), ["A 2", "P 2", "C 2"]);

    // Connecting and disconnecting still work.
    assert!(p.disconnect());
    let l = log.clone();
    let _d = signal.connect(move |n| l.push(format!("D {n}")));
    signal.emit(&3);
    assert_eq!(log.take(), ["A 3", "C 3", "D 3"]);
}

#[test]
fn blocked_signal_calls_nothing_and_queues_nothing() {
    let direct = Rc::new(Cell::new(0));
    let queued = Rc::new(Cell::new(0));
    let signal = Signal::<u32>::new();
    let d = direct.clone();
    let _direct = signal.connect(move |_| d.set(d.get() + 1));
    let q = queued.clone();
    let _queued = signal
        .connect_with(ConnectionType::Queued, move |_| q.set(q.get() + 1))
        .unwrap();
    // Make sure this thread's loop exists and is idle.
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);

    assert!(!signal.block_signals(true), "was not blocked");
    assert!(signal.signals_blocked());
    signal.emit(&1);
    signal.emit(&2);
    assert_eq!(direct.get(), 0);
    assert_eq!(
        EventDispatcher::time_to_next_timer(),
        None,
        "nothing was posted"
    );
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(queued.get(), 0);
    assert_eq!(signal.receivers(), 2, "blocking keeps the connections");

    // Unblocking restores emission; what was emitted while blocked is lost.
    assert!(signal.block_signals(false), "was blocked");
    assert!(!signal.signals_blocked());
    signal.emit(&3);
    assert_eq!(direct.get(), 1);
    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(queued.get(), 1);
}

#[test]
fn scoped_connection_disconnects_on_drop_and_release_keeps_it() {
    let hits = Rc::new(Cell::new(0));
    let signal = Signal::<()>::new();

    let h = hits.clone();
    let guard = signal.connect(move |_| h.set(h.get() + 1)).scoped();
    assert!(guard.connection().is_connected());
    signal.emit(&());
    assert_eq!(hits.get(), 1);
    drop(guard);
    assert_eq!(signal.receivers(), 0);
    signal.emit(&());
    assert_eq!(hits.get(), 1);

    {
        let h = hits.clone();
        let _guard = signal.connect(move |_| h.set(h.get() + 10)).scoped();
        signal.emit(&());
        assert_eq!(hits.get(), 11);
    }
    signal.emit(&());
    assert_eq!(hits.get(), 11, "the guard went out of scope");

    let h = hits.clone();
    let kept = signal
        .connect(move |_| h.set(h.get() + 100))
        .scoped()
        .release();
    assert!(kept.is_connected());
    signal.emit(&());
    assert_eq!(hits.get(), 111);
    drop(kept);
    signal.emit(&());
    assert_eq!(hits.get(), 211, "a released handle no longer disconnects");
}

#[test]
fn single_shot_direct_connection_runs_once() {
    let log = Log::default();
    let signal = Signal::<u32>::new();
    let own: Rc<RefCell<Option<Connection>>> = Rc::default();

    let (l, o) = (log.clone(), own.clone());
    let once = signal
        .connect_with(ConnectionType::Direct.single_shot(), move |n| {
            let connected = o.borrow().as_ref().map(Connection::is_connected);
            l.push(format!("once {n}, connected while running: {connected:?}"));
        })
        .unwrap();
    *own.borrow_mut() = Some(once);
    let l = log.clone();
    let _always = signal.connect(move |n| l.push(format!("always {n}")));
    assert_eq!(signal.receivers(), 2);

    signal.emit(&1);
    // Qt: the connection is removed before its first invocation.
    assert_eq!(
        log.take(),
        ["once 1, connected while running: Some(false)", "always 1"]
    );
    assert!(!own.borrow().as_ref().unwrap().is_connected());
    assert_eq!(signal.receivers(), 1);

    signal.emit(&2);
    assert_eq!(log.take(), ["always 2"]);
}

#[test]
fn single_shot_queued_connection_runs_once() {
    let got = Rc::new(RefCell::new(Vec::new()));
    let signal = Signal::<u32>::new();
    let g = got.clone();
    let once = signal
        .connect_with(ConnectionType::Queued.single_shot(), move |n| {
            g.borrow_mut().push(*n)
        })
        .unwrap();

    signal.emit(&1);
    assert!(!once.is_connected(), "disconnected as soon as it is used");
    assert_eq!(signal.receivers(), 0);
    signal.emit(&2);
    assert!(got.borrow().is_empty(), "queued: nothing ran inside emit");

    process_until("the single queued call", || !got.borrow().is_empty());
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(*got.borrow(), [1]);
}

/// One closure expression: every call returns a value of the same type.
fn counting_slot(hits: Rc<Cell<u32>>) -> impl FnMut(&u32) {
    move |_| hits.set(hits.get() + 1)
}

#[test]
fn unique_connection_refuses_the_same_closure_type_twice() {
    let a = Rc::new(Cell::new(0));
    let b = Rc::new(Cell::new(0));
    let other = Rc::new(Cell::new(0));
    let signal = Signal::<u32>::new();

    let first = signal
        .connect_with(ConnectionType::Direct.unique(), counting_slot(a.clone()))
        .unwrap();
    // Same closure type, other captures: still the same slot.
    let again = signal.connect_with(ConnectionType::Direct.unique(), counting_slot(b.clone()));
    assert_eq!(again.unwrap_err(), ConnectError::AlreadyConnected);
    // The connection type does not make it another slot either.
    let queued = signal.connect_with(ConnectionType::Queued.unique(), counting_slot(b.clone()));
    assert_eq!(queued.unwrap_err(), ConnectError::AlreadyConnected);
    // Another closure expression is another slot.
    let o = other.clone();
    let _other = signal
        .connect_with(ConnectionType::Direct.unique(), move |_| o.set(o.get() + 1))
        .unwrap();
    assert_eq!(signal.receivers(), 2);

    signal.emit(&0);
    assert_eq!((a.get(), b.get(), other.get()), (1, 0, 1));

    // Once the first is gone, the unique connection can be made again.
    assert!(first.disconnect());
    let _b = signal
        .connect_with(ConnectionType::Direct.unique(), counting_slot(b.clone()))
        .unwrap();
    signal.emit(&0);
    assert_eq!((a.get(), b.get(), other.get()), (1, 1, 2));
}

fn bump(counter: &Rc<Cell<u32>>, by: &u32) {
    counter.set(counter.get() + by);
}

#[test]
fn unique_connection_with_a_receiver_is_unique_per_receiver() {
    let a = Rc::new(Cell::new(0));
    let b = Rc::new(Cell::new(0));
    let signal = Signal::<u32>::new();

    let to_a = signal
        .connect_to_with(&a, ConnectionType::Direct.unique(), bump)
        .unwrap();
    let to_b = signal
        .connect_to_with(&b, ConnectionType::Direct.unique(), bump)
        .expect("another receiver is another connection");
    assert_eq!(
        signal
            .connect_to_with(&a, ConnectionType::Direct.unique(), bump)
            .unwrap_err(),
        ConnectError::AlreadyConnected
    );
    assert_eq!(
        signal
            .connect_to_with(&a.clone(), ConnectionType::Auto.unique(), bump)
            .unwrap_err(),
        ConnectError::AlreadyConnected,
        "a clone of the Rc is the same receiver"
    );
    assert_eq!(signal.receivers(), 2);

    signal.emit(&5);
    assert_eq!((a.get(), b.get()), (5, 5));
    assert!(to_a.is_connected() && to_b.is_connected());

    // Without the flag a duplicate is allowed and runs too.
    let _dup = signal.connect_to(&a, bump);
    signal.emit(&1);
    assert_eq!((a.get(), b.get()), (7, 6));
}

#[test]
fn connect_to_receiver_lends_it_to_the_slot_and_dies_with_it() {
    struct Counter {
        total: Cell<u32>,
    }

    let calls = Rc::new(Cell::new(0));
    let receiver = Rc::new(Counter {
        total: Cell::new(0),
    });
    let signal = Signal::<u32>::new();

    let (c, expected) = (calls.clone(), Rc::as_ptr(&receiver));
    let conn = signal.connect_to(&receiver, move |counter: &Rc<Counter>, n| {
        assert_eq!(Rc::as_ptr(counter), expected, "the slot gets the receiver");
        counter.total.set(counter.total.get() + n);
        c.set(c.get() + 1);
    });
    assert_eq!(
        Rc::strong_count(&receiver),
        1,
        "the connection holds the receiver weakly"
    );

    signal.emit(&3);
    signal.emit(&4);
    assert_eq!(receiver.total.get(), 7);
    assert_eq!(calls.get(), 2);
    assert_eq!(Rc::strong_count(&receiver), 1, "no strong reference leaked");

    drop(receiver);
    signal.emit(&5);
    assert_eq!(
        calls.get(),
        2,
        "the slot is not called without its receiver"
    );
    assert!(!conn.is_connected());
    assert_eq!(signal.receivers(), 0);
}

// ----- queued connections on this thread ---------------------------------------

/// Arguments that count their clones.
#[derive(Debug)]
struct Payload {
    n: u32,
    text: String,
    clones: Rc<Cell<u32>>,
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        self.clones.set(self.clones.get() + 1);
        Payload {
            n: self.n,
            text: self.text.clone(),
            clones: self.clones.clone(),
        }
    }
}

#[test]
fn queued_slot_runs_on_the_next_loop_pass_with_cloned_args_in_emission_order() {
    let log = Log::default();
    let clones = Rc::new(Cell::new(0));
    let signal = Signal::<Payload>::new();

    let l = log.clone();
    let _queued = signal
        .connect_with(ConnectionType::Queued, move |p: &Payload| {
            l.push(format!("queued {} {}", p.n, p.text));
        })
        .unwrap();
    let l = log.clone();
    let _direct = signal.connect(move |p| l.push(format!("direct {}", p.n)));

    let mut payload = Payload {
        n: 0,
        text: String::new(),
        clones: clones.clone(),
    };
    for n in 1..=3 {
        payload.n = n;
        payload.text = format!("#{n}");
        signal.emit(&payload);
    }
    // The queued copies are independent of the emitter's value.
    payload.text = "changed after emit".to_owned();
    drop(payload);

    assert_eq!(
        log.take(),
        ["direct 1", "direct 2", "direct 3"],
        "no queued slot ran inside emit"
    );
    assert_eq!(clones.get(), 3, "one clone per emission");

    assert!(EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert_eq!(
        log.take(),
        ["queued 1 #1", "queued 2 #2", "queued 3 #3"],
        "delivered on the next pass, in emission order"
    );
    assert_eq!(clones.get(), 3, "delivery clones nothing more");
    assert!(!EventDispatcher::process_events(
        ProcessEventsFlags::ALL_EVENTS
    ));
    assert!(log.is_empty());
}

#[test]
fn queued_call_to_a_receiver_dropped_before_delivery_does_not_run() {
    let calls = Rc::new(Cell::new(0));
    let keeper = Rc::new(Cell::new(0));
    let doomed = Rc::new(Cell::new(0));
    let signal = Signal::<u32>::new();

    let c = calls.clone();
    let to_doomed = signal
        .connect_to_with(&doomed, ConnectionType::Queued, move |r, n| {
            r.set(*n);
            c.set(c.get() + 1);
        })
        .unwrap();
    let to_keeper = signal
        .connect_to_with(&keeper, ConnectionType::Queued, |r, n| r.set(*n))
        .unwrap();

    signal.emit(&9);
    assert_eq!(
        Rc::strong_count(&doomed),
        1,
        "the queued call holds it weakly"
    );
    drop(doomed);
    process_until("the surviving receiver's call", || keeper.get() == 9);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(calls.get(), 0, "the dropped receiver's slot never ran");

    // The next emission notices the receiver is gone.
    signal.emit(&10);
    assert!(!to_doomed.is_connected());
    assert!(to_keeper.is_connected());
    process_until("the second call", || keeper.get() == 10);
    assert_eq!(calls.get(), 0);
}

#[test]
fn queued_calls_emitted_before_the_thread_has_a_loop_are_delivered_once_it_runs() {
    // A fresh thread: no sigloop loop exists on it yet.
    let (code, got) = thread::spawn(|| {
        let got = Rc::new(RefCell::new(Vec::new()));
        let signal = Signal::<u32>::new();
        let g = got.clone();
        let _c = signal
            .connect_with(ConnectionType::Queued, move |n| {
                g.borrow_mut().push(*n);
                if g.borrow().len() == 3 {
                    EventDispatcher::quit();
                }
            })
            .unwrap();
        for n in 1..=3 {
            signal.emit(&n);
        }
        assert!(got.borrow().is_empty(), "held until a loop runs");
        let code = exec_until_quit();
        let got = got.borrow().clone();
        (code, got)
    })
    .join()
    .expect("the thread's assertions held");
    assert_eq!(code, 0);
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn blocking_queued_to_the_current_thread_is_refused() {
    let receiver = Rc::new(());
    let signal = Signal::<u32>::new();

    assert_eq!(
        signal
            .connect_with(ConnectionType::BlockingQueued, |_| {})
            .unwrap_err(),
        ConnectError::WouldDeadlock
    );
    assert_eq!(
        signal
            .connect_with(ConnectionType::BlockingQueued.single_shot(), |_| {})
            .unwrap_err(),
        ConnectError::WouldDeadlock
    );
    assert_eq!(
        signal
            .connect_to_with(&receiver, ConnectionType::BlockingQueued, |_, _| {})
            .unwrap_err(),
        ConnectError::WouldDeadlock
    );
    let here = EventDispatcher::handle();
    assert!(here.is_current_thread());
    assert_eq!(
        signal
            .connect_to_loop(&here, ConnectionType::BlockingQueued, |_| {})
            .unwrap_err(),
        ConnectError::WouldDeadlock
    );
    assert_eq!(signal.receivers(), 0, "nothing was connected");
    signal.emit(&1);
}

// ----- connections into another thread's loop ---------------------------------

#[test]
fn queued_connection_to_a_loop_thread_runs_the_slot_on_the_worker() {
    let _hang = HangGuard::new("queued_connection_to_a_loop_thread");
    let worker = LoopThread::start("signals-queued").unwrap();
    let worker_id = worker.handle().thread_id();
    assert_ne!(worker_id, thread::current().id());

    let (tx, rx) = mpsc::channel();
    let signal = Signal::<u32>::new();
    let conn = signal
        .connect_to_loop(worker.handle(), ConnectionType::Queued, move |n| {
            let _ = tx.send((*n, thread::current().id()));
        })
        .unwrap();
    for n in 1..=5 {
        signal.emit(&n);
    }
    for n in 1..=5 {
        let (got, on) = rx.recv_timeout(DEADLINE).expect("the worker ran the slot");
        assert_eq!(got, n, "delivered in emission order");
        assert_eq!(on, worker_id, "the slot runs on the worker thread");
    }
    assert!(conn.is_connected());

    worker.quit();
    assert_eq!(worker.join().expect("the worker did not panic"), 0);
}

#[test]
fn auto_connection_to_a_loop_is_direct_on_its_thread_and_queued_elsewhere() {
    let _hang = HangGuard::new("auto_connection_to_a_loop");
    let worker = LoopThread::start("signals-auto").unwrap();
    let worker_id = worker.handle().thread_id();
    let main_id = thread::current().id();

    // Emitted on the worker itself: the slot runs inside emit.
    let handle = worker.handle().clone();
    let (ran_inside_emit, ran_on) = on_worker(&worker, move || {
        let seen: Arc<Mutex<Option<ThreadId>>> = Arc::default();
        let s = seen.clone();
        let signal = Signal::<u32>::new();
        let _c = signal
            .connect_to_loop(&handle, ConnectionType::Auto, move |_| {
                *s.lock().unwrap() = Some(thread::current().id());
            })
            .unwrap();
        signal.emit(&1);
        let ran = seen.lock().unwrap().take();
        (ran.is_some(), ran)
    });
    assert!(ran_inside_emit, "direct on the target loop's thread");
    assert_eq!(ran_on, Some(worker_id));

    // Emitted on this thread: queued to the worker.
    let (tx, rx) = mpsc::channel();
    let signal = Signal::<u32>::new();
    let _c = signal
        .connect_to_loop(worker.handle(), ConnectionType::Auto, move |n| {
            let _ = tx.send((*n, thread::current().id()));
        })
        .unwrap();
    signal.emit(&2);
    let (n, on) = rx.recv_timeout(DEADLINE).expect("the worker ran the slot");
    assert_eq!(n, 2);
    assert_eq!(on, worker_id, "queued: it ran on the worker, not here");
    assert_ne!(on, main_id);

    // Auto to this thread's own loop is direct.
    let here = Arc::new(AtomicBool::new(false));
    let h = here.clone();
    let local = Signal::<u32>::new();
    let _l = local
        .connect_to_loop(
            &EventDispatcher::handle(),
            ConnectionType::Auto,
            move |_| {
                h.store(true, Ordering::SeqCst);
            },
        )
        .unwrap();
    local.emit(&3);
    assert!(here.load(Ordering::SeqCst));

    worker.quit();
    assert_eq!(worker.join().expect("the worker did not panic"), 0);
}

#[test]
fn blocking_queued_emit_returns_only_after_the_slot_ran_on_the_worker() {
    let _hang = HangGuard::new("blocking_queued_emit");
    let worker = LoopThread::start("signals-blocking").unwrap();
    let worker_id = worker.handle().thread_id();

    let ran = Arc::new(AtomicBool::new(false));
    let ran_on: Arc<Mutex<Vec<(u32, ThreadId)>>> = Arc::default();
    let (r, o) = (ran.clone(), ran_on.clone());
    let signal = Signal::<u32>::new();
    let conn = signal
        .connect_to_loop(worker.handle(), ConnectionType::BlockingQueued, move |n| {
            o.lock().unwrap().push((*n, thread::current().id()));
            r.store(true, Ordering::SeqCst);
        })
        .unwrap();

    signal.emit(&1);
    assert!(ran.load(Ordering::SeqCst), "emit waited for the slot");
    signal.emit(&2);
    assert_eq!(*ran_on.lock().unwrap(), [(1, worker_id), (2, worker_id)]);
    assert!(conn.is_connected());

    worker.quit();
    assert_eq!(worker.join().expect("the worker did not panic"), 0);
}

#[test]
fn blocking_queued_to_a_finished_loop_does_not_hang_and_disconnects() {
    let _hang = HangGuard::new("blocking_queued_to_a_finished_loop");
    let worker = LoopThread::start("signals-gone").unwrap();
    let handle = worker.handle().clone();

    let ran = Arc::new(AtomicBool::new(false));
    let signal = Signal::<u32>::new();
    let r = ran.clone();
    let blocking = signal
        .connect_to_loop(&handle, ConnectionType::BlockingQueued, move |_| {
            r.store(true, Ordering::SeqCst);
        })
        .unwrap();
    let r = ran.clone();
    let queued = signal
        .connect_to_loop(&handle, ConnectionType::Queued, move |_| {
            r.store(true, Ordering::SeqCst);
        })
        .unwrap();

    worker.quit();
    assert_eq!(worker.join().expect("the worker did not panic"), 0);
    assert_eq!(handle.post(|| {}), Err(QueueClosed), "the loop is gone");

    signal.emit(&1); // must return
    assert!(!ran.load(Ordering::SeqCst));
    assert!(!blocking.is_connected());
    assert!(!queued.is_connected());
    assert_eq!(signal.receivers(), 0);
    signal.emit(&2);
}

#[test]
fn queued_slot_running_a_nested_loop_gets_the_next_call_after_it_returns() {
    let log = Log::default();
    let signal = Signal::<u32>::new();

    let l = log.clone();
    let _c = signal
        .connect_with(ConnectionType::Queued, move |n| {
            l.push(format!("start {n}"));
            if *n == 1 {
                // The nested loop delivers call 2 of this same connection
                // while call 1 is still running.
                let nested = EventLoop::new();
                let q = nested.clone();
                EventDispatcher::post(move || q.quit());
                let code = exec_nested(&nested);
                l.push(format!("nested loop returned {code}"));
            }
            l.push(format!("end {n}"));
        })
        .unwrap();

    signal.emit(&1);
    signal.emit(&2);
    assert!(log.is_empty());
    process_until("both queued calls", || log.contains("end 2"));
    assert_eq!(
        log.take(),
        [
            "start 1",
            "nested loop returned 0",
            "end 1",
            "start 2",
            "end 2"
        ],
        "both calls delivered, in order, never overlapping"
    );

    // The connection keeps working afterwards.
    signal.emit(&3);
    process_until("call 3", || log.contains("end 3"));
    assert_eq!(log.take(), ["start 3", "end 3"]);
}

/// Qt's `disconnect(sender, signal, receiver, nullptr)`: every connection
/// to that receiver goes, direct and queued; others stay. From inside one
/// of the receiver's slots, the running slot goes too (later emissions
/// skip it) and its siblings further down are not called by this emission.
#[test]
fn disconnect_receiver_breaks_only_that_receivers_connections() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let a = Rc::new(String::from("a"));
    let b = Rc::new(String::from("b"));
    let signal = Rc::new(Signal::<u32>::new());
    let record = |log: &Rc<RefCell<Vec<String>>>| {
        let log = log.clone();
        move |who: &Rc<String>, n: &u32| log.borrow_mut().push(format!("{who}{n}"))
    };
    let _a1 = signal.connect_to(&a, record(&log));
    let _b1 = signal.connect_to(&b, record(&log));
    let _a2 = signal
        .connect_to_with(&a, ConnectionType::Queued, record(&log))
        .unwrap();
    let plain_log = log.clone();
    let _plain = signal.connect(move |n| plain_log.borrow_mut().push(format!("p{n}")));
    assert_eq!(signal.disconnect_receiver(&a), 2);
    signal.emit(&1);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(*log.borrow(), ["b1", "p1"]);
    assert_eq!(signal.receivers(), 2);

    // From a running slot of `a`: it and a's later slot are gone.
    log.borrow_mut().clear();
    let s = Rc::downgrade(&signal);
    let _a3 = signal.connect_to(&a, move |a, n| {
        if let Some(signal) = s.upgrade() {
            assert_eq!(signal.disconnect_receiver(a), 1, "the later one; not me");
        }
        let _ = n;
    });
    let _a4 = signal.connect_to(&a, record(&log));
    signal.emit(&2);
    assert_eq!(*log.borrow(), ["b2", "p2"]);
    assert_eq!(signal.receivers(), 2);
    signal.emit(&3);
    assert_eq!(*log.borrow(), ["b2", "p2", "b3", "p3"]);
}
