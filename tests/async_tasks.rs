//! Futures on the loop: tasks (`spawn_local`, `JoinHandle`, `block_on`),
//! wakers from other threads, panics, timers as futures, and awaited
//! signals (`Signal::next`, `Signal::stream`) with their cancellation.
//!
//! The panic tests panic on purpose; their messages on stderr are expected.

mod support;

use support::waits::run_until;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sigloop::{
    block_on, sleep, spawn_local, timeout, Elapsed, EventDispatcher, JoinError, LoopThread,
    ProcessEventsFlags, Signal, Timer,
};

/// A future that hands its waker to `out` and completes once `flag` says.
struct Parked {
    out: mpsc::Sender<Waker>,
    flag: Arc<Mutex<bool>>,
    sent: bool,
}

impl Future for Parked {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if *self.flag.lock().unwrap() {
            return Poll::Ready("woken from another thread");
        }
        if !self.sent {
            self.sent = true;
            self.out.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    }
}

/// A task's waker is `Send + Sync`: another thread wakes it, the task is
/// polled again on its own loop's thread, and the join handle gets the
/// output.
#[test]
fn a_waker_woken_from_another_thread_resumes_the_task_on_its_loop() {
    let (tx, rx) = mpsc::channel::<Waker>();
    let flag = Arc::new(Mutex::new(false));
    let home = std::thread::current().id();
    let polled_on = Rc::new(Cell::new(None));
    let p = polled_on.clone();
    let f = flag.clone();
    let task = spawn_local(async move {
        let text = Parked {
            out: tx,
            flag: f,
            sent: false,
        }
        .await;
        p.set(Some(std::thread::current().id()));
        text
    });
    let waker_thread = std::thread::spawn(move || {
        let waker = rx.recv().unwrap();
        *flag.lock().unwrap() = true;
        waker.wake();
    });
    run_until("the task to finish", || task.is_finished());
    waker_thread.join().unwrap();
    assert_eq!(polled_on.get(), Some(home));
    assert_eq!(block_on(task), Some(Ok("woken from another thread")));
}

/// Waking from a worker that runs its own sigloop loop (a `LoopThread`)
/// works the same way, and many wake-ups coalesce.
#[test]
fn a_loop_thread_wakes_a_task_many_times() {
    let worker = LoopThread::start("waker").unwrap();
    let polls = Rc::new(Cell::new(0u32));
    let p = polls.clone();
    let (tx, rx) = mpsc::channel::<Waker>();
    let task = spawn_local(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if p.get() == 1 {
            tx.send(cx.waker().clone()).unwrap();
        }
        if p.get() >= 3 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }));
    run_until("the first poll", || polls.get() == 1);
    let waker = rx.recv().unwrap();
    let w = waker.clone();
    worker
        .handle()
        .invoke_blocking(move || {
            for _ in 0..100 {
                w.wake_by_ref();
            }
        })
        .unwrap();
    run_until("the second poll", || polls.get() >= 2);
    waker.wake();
    run_until("the task to end", || task.is_finished());
    assert_eq!(polls.get(), 3, "100 wake-ups before a poll make one poll");
}

/// `abort` drops the future at once (and what it holds), the handle
/// reports `Cancelled`, and a detached handle lets the task run on.
#[test]
fn abort_drops_the_future_and_a_dropped_handle_detaches() {
    struct Flag(Rc<Cell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let flag = Flag(dropped.clone());
    let task = spawn_local(async move {
        let _flag = flag;
        std::future::pending::<()>().await;
    });
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert!(!dropped.get());
    task.abort();
    assert!(dropped.get(), "abort drops the future now");
    assert_eq!(block_on(task), Some(Err(JoinError::Cancelled)));

    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    drop(spawn_local(async move {
        sleep(Duration::from_millis(1)).await;
        r.set(true);
    }));
    run_until("the detached task", || ran.get());
}

/// A task that aborts itself while it runs is dropped when its poll
/// returns, and is never polled again.
#[test]
fn a_task_may_abort_itself() {
    let handle = Rc::new(RefCell::new(None::<sigloop::JoinHandle<()>>));
    let polls = Rc::new(Cell::new(0));
    let (h, p) = (handle.clone(), polls.clone());
    let task = spawn_local(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if let Some(me) = h.borrow().as_ref() {
            me.abort();
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    *handle.borrow_mut() = Some(task);
    run_until("the task to abort itself", || {
        handle.borrow().as_ref().is_some_and(|t| t.is_finished())
    });
    support::waits::settle(Duration::from_millis(20));
    assert_eq!(polls.get(), 1);
}

/// A panicking task unwinds out of the loop as a panicking slot does;
/// its handle says `Panicked`, the other ready tasks still run at the next
/// pass, and the loop goes on working.
#[test]
fn a_panicking_task_unwinds_out_of_the_loop_and_the_others_still_run() {
    let bad = spawn_local(async { panic!("task failure on purpose") });
    let ran = Rc::new(Cell::new(0));
    let mut others = Vec::new();
    for _ in 0..3 {
        let r = ran.clone();
        others.push(spawn_local(async move { r.set(r.get() + 1) }));
    }
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS)
    }));
    assert!(caught.is_err(), "the panic reaches the loop's caller");
    assert_eq!(ran.get(), 0, "the pass stopped at the panic");
    run_until("the other tasks", || ran.get() == 3);
    assert!(bad.is_finished());
    assert_eq!(block_on(bad), Some(Err(JoinError::Panicked)));
    assert_eq!(block_on(async { 5 }), Some(5), "the loop still works");
}

/// `block_on` returns `None`, dropping the future, when the loop is asked
/// to exit first.
#[test]
fn block_on_gives_up_when_the_loop_is_told_to_exit() {
    Timer::single_shot(Duration::from_millis(1), || EventDispatcher::exit(0));
    let result = block_on(std::future::pending::<()>());
    assert_eq!(result, None);
}

/// `sleep` waits on the loop's timer heap; `timeout` gives the output or
/// `Elapsed`, and a dropped sleep leaves no timer behind (the loop has
/// nothing to wake up for).
#[test]
fn sleep_and_timeout_use_the_loop_timers() {
    let start = Instant::now();
    assert_eq!(block_on(sleep(Duration::from_millis(30))), Some(()));
    assert!(start.elapsed() >= Duration::from_millis(30));

    assert_eq!(
        block_on(timeout(
            Duration::from_millis(5),
            std::future::pending::<()>()
        )),
        Some(Err(Elapsed))
    );
    assert_eq!(
        block_on(timeout(Duration::from_secs(30), async {
            sleep(Duration::from_millis(1)).await;
            9
        })),
        Some(Ok(9))
    );
    // The 30 s timeout's sleep went with its future.
    assert_eq!(EventDispatcher::time_to_next_timer(), None);

    let forever = spawn_local(sleep(Duration::MAX));
    support::waits::settle(Duration::from_millis(20));
    assert!(!forever.is_finished());
    assert_eq!(
        EventDispatcher::time_to_next_timer(),
        None,
        "MAX never fires"
    );
    forever.abort();
}

/// A slot that spawns a task: the task runs on a later pass, outside the
/// emission.
#[test]
fn a_slot_may_spawn_a_task() {
    let signal = Rc::new(Signal::<u32>::new());
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let _c = signal.connect(move |value| {
        let (s, value) = (s.clone(), *value);
        drop(spawn_local(async move {
            s.borrow_mut().push(value);
        }));
    });
    signal.emit(&1);
    signal.emit(&2);
    assert!(seen.borrow().is_empty(), "not inside the emission");
    run_until("both tasks", || seen.borrow().len() == 2);
    assert_eq!(*seen.borrow(), [1, 2]);
}

/// `Signal::next` gives the next emission's value; dropping the future
/// (cancelling the wait, here by a timeout) disconnects its slot.
#[test]
fn dropping_a_signal_future_disconnects_its_slot() {
    let signal = Rc::new(Signal::<String>::new());
    let s = signal.clone();
    Timer::single_shot(Duration::from_millis(2), move || s.emit(&"ping".into()));
    assert_eq!(block_on(signal.next()), Some(Some("ping".to_string())));
    assert_eq!(signal.receivers(), 0, "a completed wait disconnects");

    let waiting = signal.next();
    assert_eq!(signal.receivers(), 1);
    let late = block_on(timeout(Duration::from_millis(5), waiting));
    assert_eq!(late, Some(Err(Elapsed)));
    assert_eq!(signal.receivers(), 0, "the cancelled wait disconnected");

    let stream = signal.stream();
    assert_eq!(signal.receivers(), 1);
    let task = spawn_local(async move {
        let mut stream = stream;
        stream.next().await
    });
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    assert_eq!(signal.receivers(), 1);
    task.abort();
    assert_eq!(
        signal.receivers(),
        0,
        "the aborted task's stream disconnected"
    );
}

/// A stream queues emissions in order and ends when the signal goes; a
/// `next` future pending on a dropped signal gives `None`.
#[test]
fn a_stream_of_emissions_ends_with_its_signal() {
    let signal = Rc::new(RefCell::new(Some(Signal::<u32>::new())));
    let stream = signal.borrow().as_ref().unwrap().stream();
    let next = signal.borrow().as_ref().unwrap().next();
    let collected = spawn_local(async move { stream.collect::<Vec<_>>().await });
    let waited = spawn_local(next);
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    let s = signal.clone();
    Timer::single_shot(Duration::from_millis(1), move || {
        let signal = s.borrow_mut().take().unwrap();
        for v in [3, 1, 4] {
            signal.emit(&v);
        }
    });
    assert_eq!(block_on(collected), Some(Ok(vec![3, 1, 4])));
    assert_eq!(block_on(waited), Some(Ok(Some(3))));
    let ended = Signal::<u8>::new().next();
    assert_eq!(block_on(ended), Some(None), "the signal was dropped");
}

/// A task that runs a nested loop inside its own poll (here `block_on`)
/// and is woken meanwhile: the wake-up is not lost while the task is out
/// of its slot, and the task is polled again once that poll returns.
#[test]
fn a_wake_during_the_tasks_own_nested_loop_is_not_lost() {
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let task = spawn_local(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if p.get() == 1 {
            cx.waker().wake_by_ref();
            // The nested loop meets the wake-up while this poll runs.
            block_on(sleep(Duration::from_millis(1)));
            return Poll::Pending;
        }
        Poll::Ready(p.get())
    }));
    run_until("the second poll", || task.is_finished());
    assert_eq!(block_on(task), Some(Ok(2)));
}
