//! No user code runs under a library borrow: not a slot, and not the
//! destructor of a closure the loop or a signal holds. Each test here
//! gives the library a closure whose destructor calls back into the same
//! object (or the same loop) at the moment the library drops it; a borrow
//! still held there would panic "already borrowed".

mod support;

use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use sigloop::{EventDispatcher, NotifierKind, ProcessEventsFlags, SocketNotifier, Timer};
use support::waits::run_until;

/// Runs its closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// A timer's slot is dropped when the timer is deleted; the slot's
/// destructor restarts, stops and reconnects the same timer.
#[test]
fn a_timer_slot_whose_destructor_touches_the_timer() {
    let timer = Timer::new();
    let touched = Rc::new(Cell::new(false));
    let (t, done) = (timer.clone(), touched.clone());
    let guard = OnDrop(move || {
        t.start_with(Duration::from_millis(1));
        t.stop();
        let _ = t.timeout().connect(|_| {});
        done.set(true);
    });
    let _c = timer.timeout().connect(move |_| {
        let _ = &guard;
    });
    timer.start_with(Duration::from_secs(60));
    timer.delete_later();
    EventDispatcher::send_posted_deletes();
    assert!(touched.get());
    assert!(!timer.is_active());
}

/// Calls the loop drops unrun (a receiver gone, a delay of forever) post
/// and schedule from their destructors; what they post runs.
#[test]
fn closures_dropped_unrun_may_post_from_their_destructors() {
    let ran = Rc::new(Cell::new(0));
    let r = ran.clone();
    let guard = OnDrop(move || {
        let r = r.clone();
        EventDispatcher::post(move || r.set(r.get() + 1));
    });
    Timer::single_shot(Duration::MAX, move || {
        let _ = &guard;
    });
    let receiver = Rc::new(());
    let r = ran.clone();
    let guard = OnDrop(move || {
        let r = r.clone();
        Timer::single_shot(Duration::from_millis(1), move || r.set(r.get() + 1));
    });
    EventDispatcher::post_to(&receiver, move |_| {
        let _ = &guard;
    });
    drop(receiver);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    run_until("both calls posted by destructors", || ran.get() == 2);
}

/// A notifier's slot is dropped when the notifier is deleted; its
/// destructor re-enables the notifier and connects to it.
#[test]
fn a_notifier_slot_whose_destructor_touches_the_notifier() {
    let (_a, b) = UnixStream::pair().unwrap();
    let notifier = SocketNotifier::new(b.as_raw_fd(), NotifierKind::Read).unwrap();
    let touched = Rc::new(Cell::new(false));
    let (n, done) = (notifier.downgrade(), touched.clone());
    let strong = notifier.clone();
    let guard = OnDrop(move || {
        let _ = strong.set_enabled(true);
        let _ = strong.activated().connect(|_| {});
        assert!(n.upgrade().is_none(), "deleted: no new handle");
        done.set(true);
    });
    let _c = notifier.activated().connect(move |_| {
        let _ = &guard;
    });
    notifier.delete_later();
    EventDispatcher::send_posted_deletes();
    assert!(touched.get());
    assert!(!notifier.is_enabled());
}
