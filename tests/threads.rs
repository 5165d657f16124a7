//! Loops on other threads (Qt's `QThread` + `exec`, cross-thread posts and
//! queued connections): `LoopThread`, `LoopHandle`, and
//! `Signal::connect_to_loop`.
//!
//! Nothing sleeps: threads hand over through channels, loops run until a
//! condition holds, and every wait is bounded (a watchdog timer on loops,
//! `recv_timeout` on channels).

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use sigloop::{
    ConnectError, ConnectionType, EventDispatcher, LoopHandle, LoopThread, NotifierKind,
    QueueClosed, Signal, SocketNotifier, Timer, TimerType,
};

/// The exit code of a loop stopped by the watchdog.
const WATCHDOG: i32 = -7_777;

/// How long any one wait in these tests may take before it fails.
const LIMIT: Duration = Duration::from_secs(10);

/// Runs this thread's loop with a watchdog; fails the test if it hangs.
fn exec_bounded() -> i32 {
    let watchdog = Timer::new();
    watchdog.set_single_shot(true);
    watchdog.set_timer_type(TimerType::Precise);
    let _c = watchdog.on_timeout(|_| EventDispatcher::exit(WATCHDOG));
    watchdog.start_with(LIMIT);
    let code = EventDispatcher::exec();
    assert_ne!(code, WATCHDOG, "the loop did not finish in time");
    code
}

/// Joins `thread`, failing the test instead of hanging if it does not end.
fn join_bounded<T: Send + 'static>(thread: thread::JoinHandle<T>) -> T {
    let (tx, rx) = mpsc::channel();
    // A joiner thread turns the join into something with a timeout.
    thread::spawn(move || {
        let _ = tx.send(thread.join());
    });
    rx.recv_timeout(LIMIT)
        .expect("the thread did not end in time")
        .expect("the thread panicked")
}

#[test]
fn loop_thread_runs_calls_on_its_thread_and_join_returns_the_exit_code() {
    let worker = LoopThread::start("worker").unwrap();
    let handle = worker.handle().clone();
    assert!(!handle.is_current_thread());
    assert_ne!(handle.thread_id(), thread::current().id());

    let (id, name, running) = handle
        .invoke_blocking(|| {
            (
                thread::current().id(),
                thread::current().name().map(str::to_owned),
                EventDispatcher::is_running(),
            )
        })
        .unwrap();
    assert_eq!(id, handle.thread_id());
    assert_eq!(name.as_deref(), Some("worker"));
    assert!(running, "the worker's loop is running");
    assert_eq!(handle.invoke_blocking(|| 6 * 7), Ok(42));

    let (tx, rx) = mpsc::channel();
    handle.post(move || tx.send("posted").unwrap()).unwrap();
    assert_eq!(rx.recv_timeout(LIMIT), Ok("posted"));

    handle.exit(17).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    let code = rx
        .recv_timeout(LIMIT)
        .expect("join hung")
        .expect("worker panicked");
    assert_eq!(code, 17);
}

#[test]
fn posts_from_four_threads_all_arrive_on_the_main_loop() {
    const THREADS: usize = 4;
    const POSTS: usize = 1000;
    let main = EventDispatcher::handle();
    let arrived = Arc::new(AtomicUsize::new(0));
    // The next expected value from each producer: posts keep their order.
    let next = Arc::new(Mutex::new(vec![0usize; THREADS]));
    let producers: Vec<_> = (0..THREADS)
        .map(|producer| {
            let (main, arrived, next) = (main.clone(), arrived.clone(), next.clone());
            thread::spawn(move || {
                for i in 0..POSTS {
                    let (arrived, next) = (arrived.clone(), next.clone());
                    main.post(move || {
                        let mut next = next.lock().unwrap();
                        assert_eq!(next[producer], i, "out of order from {producer}");
                        next[producer] += 1;
                        if arrived.fetch_add(1, Ordering::SeqCst) + 1 == THREADS * POSTS {
                            EventDispatcher::quit();
                        }
                    })
                    .expect("main loop gone");
                }
            })
        })
        .collect();
    assert_eq!(exec_bounded(), 0);
    assert_eq!(arrived.load(Ordering::SeqCst), THREADS * POSTS);
    assert_eq!(*next.lock().unwrap(), vec![POSTS; THREADS]);
    for producer in producers {
        join_bounded(producer);
    }
}

#[test]
fn exit_posted_before_the_worker_runs_exec_still_stops_it() {
    // Deterministic: the worker enters exec only after the exit was posted.
    let (handle_tx, handle_rx) = mpsc::channel::<LoopHandle>();
    let (posted_tx, posted_rx) = mpsc::channel::<()>();
    let worker = thread::spawn(move || {
        handle_tx.send(EventDispatcher::handle()).unwrap();
        posted_rx.recv_timeout(LIMIT).expect("no go from the test");
        exec_bounded()
    });
    let handle = handle_rx.recv_timeout(LIMIT).unwrap();
    handle.exit(5).unwrap();
    posted_tx.send(()).unwrap();
    assert_eq!(join_bounded(worker), 5);

    // Also from LoopThread's setup, which runs before its exec.
    let worker = LoopThread::start_with("early-exit", || {
        EventDispatcher::handle().exit(6).unwrap();
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    assert_eq!(rx.recv_timeout(LIMIT).expect("join hung").unwrap(), 6);

    // And right after start, whether or not exec has begun.
    let worker = LoopThread::start("racing-exit").unwrap();
    worker.handle().exit(7).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    assert_eq!(rx.recv_timeout(LIMIT).expect("join hung").unwrap(), 7);
}

#[test]
fn posting_to_a_joined_threads_handle_returns_queue_closed() {
    let worker = LoopThread::start("short-lived").unwrap();
    let handle = worker.handle().clone();
    worker.quit();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    assert_eq!(rx.recv_timeout(LIMIT).expect("join hung").unwrap(), 0);

    assert_eq!(handle.post(|| {}), Err(QueueClosed));
    assert_eq!(handle.exit(1), Err(QueueClosed));
    assert_eq!(handle.quit(), Err(QueueClosed));
    assert_eq!(
        handle.invoke_blocking(|| 1),
        Err(ConnectError::ReceiverGone)
    );
    handle.wake_up(); // harmless
}

#[test]
fn invoke_blocking_on_the_loops_own_thread_would_deadlock() {
    let own = EventDispatcher::handle();
    assert!(own.is_current_thread());
    assert_eq!(own.invoke_blocking(|| 1), Err(ConnectError::WouldDeadlock));

    // Also from inside the worker's loop, on its own handle.
    let worker = LoopThread::start("self-call").unwrap();
    let handle = worker.handle().clone();
    let inner = handle.clone();
    let result = handle
        .invoke_blocking(move || inner.invoke_blocking(|| 2))
        .unwrap();
    assert_eq!(result, Err(ConnectError::WouldDeadlock));
}

#[test]
fn dropping_a_loop_thread_quits_and_joins_it() {
    let (tx, rx) = mpsc::channel();
    let dropper = thread::spawn(move || {
        let worker = LoopThread::start_with("dropped", || {
            // Something long-running keeps the loop busy until told to quit.
            Timer::single_shot(Duration::from_secs(3600), || {});
        })
        .unwrap();
        let handle = worker.handle().clone();
        assert_eq!(handle.invoke_blocking(|| 3), Ok(3));
        drop(worker);
        // The drop joined: the loop is gone.
        tx.send(handle.post(|| {})).unwrap();
    });
    assert_eq!(
        rx.recv_timeout(LIMIT)
            .expect("dropping the LoopThread hung"),
        Err(QueueClosed)
    );
    join_bounded(dropper);
}

#[test]
fn worker_emits_results_back_through_a_queued_connection() {
    const RESULTS: u32 = 100;
    let main = EventDispatcher::handle();
    let main_thread = thread::current().id();
    let received = Arc::new(Mutex::new(Vec::new()));
    let wrong_thread = Arc::new(AtomicUsize::new(0));
    let worker = LoopThread::start("producer").unwrap();
    let (r, w) = (received.clone(), wrong_thread.clone());
    worker
        .handle()
        .post(move || {
            let results = Signal::<u32>::new();
            let _c = results
                .connect_to_loop(&main, ConnectionType::Queued, move |value| {
                    if thread::current().id() != main_thread {
                        w.fetch_add(1, Ordering::SeqCst);
                    }
                    let mut received = r.lock().unwrap();
                    received.push(*value);
                    if received.len() == RESULTS as usize {
                        EventDispatcher::quit();
                    }
                })
                .unwrap();
            for value in 0..RESULTS {
                results.emit(&(value * value));
            }
        })
        .unwrap();
    assert_eq!(exec_bounded(), 0);
    assert_eq!(
        *received.lock().unwrap(),
        (0..RESULTS).map(|v| v * v).collect::<Vec<_>>()
    );
    assert_eq!(
        wrong_thread.load(Ordering::SeqCst),
        0,
        "slot ran off the main thread"
    );
    worker.quit();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    assert_eq!(rx.recv_timeout(LIMIT).expect("join hung").unwrap(), 0);
}

#[test]
fn thread_exit_drops_pending_calls_that_own_notifiers() {
    // Objects captured by calls that never ran are dropped while the
    // thread's loop is torn down; a notifier among them must deregister
    // quietly rather than panic inside a thread-local destructor (which
    // aborts the process).
    let worker = LoopThread::start_with("teardown", || {
        let (peer, watched) = UnixStream::pair().unwrap();
        let reader = SocketNotifier::new(watched.as_raw_fd(), NotifierKind::Read).unwrap();
        let writer = SocketNotifier::new(watched.as_raw_fd(), NotifierKind::Write).unwrap();
        writer.set_enabled(false).unwrap();
        let spare = SocketNotifier::new(peer.as_raw_fd(), NotifierKind::Write).unwrap();
        spare.set_enabled(false).unwrap();
        Timer::single_shot(Duration::from_secs(3600), move || {
            drop((reader, writer, watched));
        });
        // And one owned by a call posted in the pass that exits the loop,
        // so it never runs.
        EventDispatcher::post(move || {
            EventDispatcher::exit(4);
            EventDispatcher::post(move || drop((spare, peer)));
        });
    })
    .unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    assert_eq!(rx.recv_timeout(LIMIT).expect("join hung").unwrap(), 4);
}

/// Threads that never stop posting must not starve the loop they post
/// to: a pass runs only the calls that were queued when it began (Qt
/// leaves events posted during a pass to the next one), so the worker's
/// timer keeps ticking while the posts go on, and the `quit` its slot
/// makes ends the loop (the producers then find the queue closed).
/// Before, the worker drained the queue for as long as the producers kept
/// it filled: no tick and no quit until they ran out of posts.
#[test]
fn steady_posting_from_other_threads_starves_neither_timers_nor_quit() {
    use std::sync::atomic::AtomicBool;
    /// Timer ticks the worker must see while the producers post.
    const TICKS: usize = 5;
    /// Posts per producer before it gives up: many times what two
    /// producers send while a 10 ms timer ticks five times, and a bound on
    /// the queue's memory should the loop starve.
    const CAP: usize = 1_000_000;
    thread_local! {
        static TIMER: std::cell::RefCell<Option<Timer>> = const { std::cell::RefCell::new(None) };
    }
    let (ticked_tx, ticked_rx) = mpsc::channel();
    let worker = LoopThread::start_with("posted-to", move || {
        let timer = Timer::new();
        timer.set_timer_type(TimerType::Precise);
        let mut ticks = 0;
        let _c = timer.on_timeout(move |_| {
            ticks += 1;
            if ticks == TICKS {
                let _ = ticked_tx.send(());
                EventDispatcher::quit();
            }
        });
        timer.start_with(Duration::from_millis(10));
        TIMER.with(|t| *t.borrow_mut() = Some(timer));
    })
    .unwrap();
    let handle = worker.handle().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let (handle, stop) = (handle.clone(), stop.clone());
            thread::spawn(move || {
                for _ in 0..CAP {
                    if stop.load(Ordering::Relaxed) || handle.post(|| {}).is_err() {
                        return false;
                    }
                }
                true // exhausted: the loop never stopped them
            })
        })
        .collect();
    let ticked = ticked_rx.recv_timeout(Duration::from_secs(30));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(worker.join());
    });
    let joined = rx.recv_timeout(Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    let exhausted: Vec<bool> = producers.into_iter().map(join_bounded).collect();
    assert!(ticked.is_ok(), "the timer never ticked {TICKS} times");
    assert_eq!(joined.expect("quit not handled").ok(), Some(0));
    assert_eq!(
        exhausted,
        [false, false],
        "the ticks and the quit waited until the producers ran out of posts"
    );
}
