//! Socket notifiers (Qt's `QSocketNotifier`): level
//! triggered on top of edge-triggered mio, enabled/disabled, one notifier
//! per fd and kind, deferred delete. All on `UnixStream` pairs.
//!
//! Loops run until a condition holds, bounded in passes and time; nothing
//! sleeps.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use sigloop::{
    ElapsedTimer, EventDispatcher, NotifierKind, ProcessEventsFlags, SocketNotifier, Timer,
    TimerType,
};

/// Runs passes (blocking between them) until `done` holds; `false` if 10 s
/// pass first.
fn run_until(mut done: impl FnMut() -> bool) -> bool {
    let clock = ElapsedTimer::started();
    // Wakes blocking passes so the time limit is checked regularly.
    let tick = Timer::new();
    tick.set_timer_type(TimerType::Precise);
    tick.start_with(Duration::from_millis(50));
    for _ in 0..1_000_000 {
        if done() {
            return true;
        }
        if clock.has_expired(Duration::from_secs(10)) {
            return false;
        }
        EventDispatcher::process_events(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
    }
    false
}

/// Runs `passes` passes that do not wait.
fn spin(passes: u32) {
    for _ in 0..passes {
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    }
}

/// A connected pair; the second end is non-blocking (it is the watched one).
fn pair() -> (UnixStream, UnixStream) {
    let (peer, watched) = UnixStream::pair().expect("socketpair");
    watched.set_nonblocking(true).expect("non-blocking");
    (peer, watched)
}

fn counter() -> Rc<Cell<u32>> {
    Rc::new(Cell::new(0))
}

fn bump(count: &Cell<u32>) {
    count.set(count.get() + 1);
}

/// Reads everything available from `stream`; returns the byte count.
fn drain(mut stream: &UnixStream) -> usize {
    let mut buf = [0u8; 256];
    let mut total = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return total,
            Err(err) => panic!("read: {err}"),
        }
    }
}

/// A read notifier on `watched` that drains it and counts activations.
fn counting_reader(watched: Rc<UnixStream>) -> (SocketNotifier, Rc<Cell<u32>>) {
    let notifier = SocketNotifier::new(watched.as_raw_fd(), NotifierKind::Read).unwrap();
    let count = counter();
    let c = count.clone();
    let _c = notifier.activated().connect(move |_| {
        bump(&c);
        drain(&watched);
    });
    (notifier, count)
}

#[test]
fn read_notifier_fires_when_data_arrives() {
    let (mut peer, watched) = pair();
    let fd = watched.as_raw_fd();
    let watched = Rc::new(watched);
    let notifier = SocketNotifier::new(fd, NotifierKind::Read).unwrap();
    assert_eq!(notifier.socket(), fd);
    assert_eq!(notifier.kind(), NotifierKind::Read);
    assert!(notifier.is_enabled());
    let got = Rc::new(RefCell::new(Vec::new()));
    let (g, w) = (got.clone(), watched.clone());
    let _c = notifier.activated().connect(move |&(fd, kind)| {
        let mut buf = [0u8; 16];
        let n = (&*w).read(&mut buf).unwrap();
        g.borrow_mut().push((fd, kind, buf[..n].to_vec()));
    });

    // Nothing to read yet: quiet.
    spin(5);
    assert!(got.borrow().is_empty());

    peer.write_all(b"hello").unwrap();
    assert!(run_until(|| !got.borrow().is_empty()));
    assert_eq!(*got.borrow(), [(fd, NotifierKind::Read, b"hello".to_vec())]);
    spin(5);
    assert_eq!(got.borrow().len(), 1);
}

#[test]
fn read_notifier_is_level_triggered_until_everything_is_read() {
    let (mut peer, watched) = pair();
    let notifier = SocketNotifier::new(watched.as_raw_fd(), NotifierKind::Read).unwrap();
    let bytes = Rc::new(RefCell::new(Vec::new()));
    let b = bytes.clone();
    let _c = notifier.activated().connect(move |_| {
        // Read one byte only: the rest must be reported again.
        let mut one = [0u8; 1];
        let n = (&watched).read(&mut one).unwrap();
        b.borrow_mut().extend_from_slice(&one[..n]);
    });

    peer.write_all(b"12345").unwrap();
    assert!(run_until(|| bytes.borrow().len() == 5));
    assert_eq!(*bytes.borrow(), b"12345");
    // Everything was read: no more activations however many passes run.
    spin(20);
    assert_eq!(*bytes.borrow(), b"12345", "activated with nothing to read");
}

#[test]
fn disabled_notifier_is_quiet_and_fires_again_when_reenabled_with_data_pending() {
    let (mut peer, watched) = pair();
    let (notifier, count) = counting_reader(Rc::new(watched));
    notifier.set_enabled(false).unwrap();
    assert!(!notifier.is_enabled());
    notifier.set_enabled(false).unwrap(); // no-op

    peer.write_all(b"pending").unwrap();
    spin(10);
    assert_eq!(count.get(), 0, "a disabled notifier fired");

    notifier.set_enabled(true).unwrap();
    assert!(notifier.is_enabled());
    assert!(run_until(|| count.get() == 1));
    spin(10);
    assert_eq!(count.get(), 1);

    // Disabled from inside its own slot.
    let n = notifier.clone();
    let _c = notifier
        .activated()
        .connect(move |_| n.set_enabled(false).unwrap());
    peer.write_all(b"again").unwrap();
    assert!(run_until(|| count.get() == 2));
    assert!(!notifier.is_enabled());
    peer.write_all(b"more").unwrap();
    spin(10);
    assert_eq!(count.get(), 2);
}

#[test]
fn write_notifier_fires_while_writable() {
    let (_peer, watched) = pair();
    let notifier = SocketNotifier::new(watched.as_raw_fd(), NotifierKind::Write).unwrap();
    let count = counter();
    let c = count.clone();
    let _c = notifier.activated().connect(move |&(_, kind)| {
        assert_eq!(kind, NotifierKind::Write);
        bump(&c);
    });
    // Level-triggered: an always-writable socket fires on every pass.
    assert!(run_until(|| count.get() >= 3));

    // Qt's practice: enable it only while there is something to write.
    notifier.set_enabled(false).unwrap();
    let before = count.get();
    spin(10);
    assert_eq!(count.get(), before);
}

#[test]
fn read_and_write_notifiers_on_one_fd_coexist() {
    let (mut peer, watched) = pair();
    let fd = watched.as_raw_fd();
    // The test keeps the socket: the reader's slot holds only a clone.
    let watched = Rc::new(watched);
    let (reader, reads) = counting_reader(watched.clone());
    let writer = SocketNotifier::new(fd, NotifierKind::Write).unwrap();
    let writes = counter();
    let w = writes.clone();
    let _c = writer.activated().connect(move |_| bump(&w));

    peer.write_all(b"x").unwrap();
    assert!(run_until(|| reads.get() == 1 && writes.get() >= 1));

    // Disabling the write notifier leaves the read one working.
    writer.set_enabled(false).unwrap();
    let writes_then = writes.get();
    peer.write_all(b"y").unwrap();
    assert!(run_until(|| reads.get() == 2));
    spin(5);
    assert_eq!(writes.get(), writes_then);

    // So does dropping it; and dropping the reader leaves a new writer free
    // to register.
    drop(writer);
    peer.write_all(b"z").unwrap();
    assert!(run_until(|| reads.get() == 3));
    drop(reader);
    let writer = SocketNotifier::new(fd, NotifierKind::Write).unwrap();
    let again = counter();
    let a = again.clone();
    let _c = writer.activated().connect(move |_| bump(&a));
    assert!(run_until(|| again.get() >= 1));
    assert_eq!(reads.get(), 3);
}

#[test]
fn second_notifier_of_the_same_kind_on_an_fd_is_refused() {
    let (_peer, watched) = pair();
    let fd = watched.as_raw_fd();
    let first = SocketNotifier::new(fd, NotifierKind::Read).unwrap();
    let err = SocketNotifier::new(fd, NotifierKind::Read).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    // Another kind is fine, and the refusal did not disturb the first.
    let _writer = SocketNotifier::new(fd, NotifierKind::Write).unwrap();
    assert!(first.is_enabled());
    // Once the first is gone, the kind is free again.
    drop(first);
    let _second = SocketNotifier::new(fd, NotifierKind::Read).unwrap();
}

#[test]
fn negative_fd_is_refused() {
    let err = SocketNotifier::new(-1, NotifierKind::Read).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = SocketNotifier::new(-42, NotifierKind::Write).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn delete_later_emits_destroyed_and_stops_activations() {
    let (mut peer, watched) = pair();
    // The test keeps the socket open; deleting drops the slot's clone.
    let watched = Rc::new(watched);
    let (notifier, count) = counting_reader(watched.clone());
    let destroyed = counter();
    let d = destroyed.clone();
    let _c = notifier.destroyed().connect(move |_| bump(&d));

    // Data is waiting, but the delete runs first once the loop starts.
    peer.write_all(b"data").unwrap();
    notifier.delete_later();
    notifier.delete_later();
    Timer::single_shot(Duration::from_millis(30), EventDispatcher::quit);
    assert_eq!(EventDispatcher::exec(), 0);
    assert!(notifier.is_deleted());
    assert_eq!(destroyed.get(), 1);
    assert_eq!(count.get(), 0, "activated after delete_later");
    assert!(!notifier.is_enabled());
    notifier.set_enabled(true).unwrap();
    assert!(!notifier.is_enabled(), "a deleted notifier was re-enabled");
    assert!(notifier.downgrade().upgrade().is_none());
    peer.write_all(b"more").unwrap();
    spin(10);
    assert_eq!(count.get(), 0);
    assert_eq!(
        Rc::strong_count(&watched),
        1,
        "delete did not drop the slot"
    );
}

#[test]
fn dropping_the_notifier_stops_activations() {
    let (mut peer, watched) = pair();
    let watched = Rc::new(watched);
    let (notifier, count) = counting_reader(watched.clone());
    let weak = notifier.downgrade();
    peer.write_all(b"first").unwrap();
    drop(notifier);
    assert!(weak.upgrade().is_none());
    spin(10);
    assert_eq!(count.get(), 0, "a dropped notifier fired");

    // The fd is free for a new notifier, which sees the data still there.
    let (_renewed, renewed_count) = counting_reader(watched);
    assert!(run_until(|| renewed_count.get() == 1));
    assert_eq!(count.get(), 0);
}

#[test]
fn peer_closing_activates_the_read_notifier() {
    let (peer, watched) = pair();
    let notifier = SocketNotifier::new(watched.as_raw_fd(), NotifierKind::Read).unwrap();
    let eof = Rc::new(Cell::new(false));
    let (e, n) = (eof.clone(), notifier.downgrade());
    let _c = notifier.activated().connect(move |_| {
        let mut buf = [0u8; 8];
        if let Ok(0) = (&watched).read(&mut buf) {
            e.set(true);
            // EOF stays "readable" forever; stop listening, as Qt code does.
            if let Some(n) = n.upgrade() {
                n.set_enabled(false).unwrap();
            }
        }
    });
    spin(5);
    assert!(!eof.get());
    drop(peer);
    assert!(run_until(|| eof.get()));
    assert!(!notifier.is_enabled());
}
