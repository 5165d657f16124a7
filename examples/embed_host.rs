//! Driving the sigloop event loop from a host application's own loop.
//!
//! The host owns a plain `mio::Poll` and never calls
//! `EventDispatcher::exec`. It registers sigloop's poll descriptor
//! (`EventDispatcher::as_raw_fd()`, an epoll fd that turns readable when
//! sigloop has I/O or cross-thread work) as READABLE, sleeps in its own
//! `poll` for at most `EventDispatcher::time_to_next_timer()`, and then runs
//! one non-blocking pass with `EventDispatcher::dispatch_once(Some(ZERO))`.
//!
//! Served this way: a 60 ms sigloop [`Timer`] (the host wakes by timeout,
//! since timers have no descriptor) and a call posted to the main loop from
//! a worker [`LoopThread`] after 130 ms (the host wakes because the fd
//! turned readable). The example stops itself once the timer has ticked 5
//! times and the post has arrived (about 300 ms), and exits with status 0.
//!
//! Qt equivalent: integrating Qt into a foreign loop by implementing a
//! `QAbstractEventDispatcher` (GLib's `GSource` integration is one), whose
//! `remainingTime()` and `wakeUp()` play the parts of `time_to_next_timer`
//! and the readable fd, and whose `processEvents()` is `dispatch_once`.
//!
//! Run with `cargo run --example embed_host`.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use sigloop::{ElapsedTimer, EventDispatcher, LoopThread, Timer};

/// The host's token for sigloop's descriptor.
const SIGLOOP: Token = Token(0);
const TICKS: u32 = 5;
/// The host gives up after this long, whatever happens.
const HOST_DEADLINE: Duration = Duration::from_secs(2);

fn main() -> io::Result<()> {
    let clock = ElapsedTimer::started();
    let ms = move || clock.elapsed().as_millis();

    // --- the host's loop: a plain mio::Poll --------------------------------
    let mut host = Poll::new()?;
    let mut events = Events::with_capacity(16);
    let sigloop_fd = EventDispatcher::as_raw_fd();
    host.registry()
        .register(&mut SourceFd(&sigloop_fd), SIGLOOP, Interest::READABLE)?;

    // --- sigloop objects on this thread ------------------------------------
    let ticks = Rc::new(Cell::new(0u32));
    let posted_arrived = Arc::new(AtomicBool::new(false));

    let timer = Timer::new();
    let t = ticks.clone();
    let _tick = timer.on_timeout(move |timer| {
        t.set(t.get() + 1);
        println!("[{:>4} ms]   sigloop timer tick {}", ms(), t.get());
        if t.get() == TICKS {
            timer.stop();
        }
    });
    timer.start_with(Duration::from_millis(60));

    // A worker thread posts back to this thread's loop after 130 ms. The
    // delay is a sigloop single-shot on the worker, not a sleep. A posted
    // call must be `Send`, so the flag it sets is an `Arc<AtomicBool>`.
    let main_handle = EventDispatcher::handle();
    let arrived = posted_arrived.clone();
    let worker = LoopThread::start_with("worker", move || {
        Timer::single_shot(Duration::from_millis(130), move || {
            println!("[{:>4} ms]   worker posts to the main loop", ms());
            main_handle
                .post(move || {
                    let here = std::thread::current();
                    println!(
                        "[{:>4} ms]   posted call served on [{}]",
                        ms(),
                        here.name().unwrap_or("?")
                    );
                    arrived.store(true, Ordering::SeqCst);
                })
                .expect("the main loop exists");
        });
    })?;

    // --- the host loop -----------------------------------------------------
    let mut wakeups = (0u32, 0u32); // (fd readable, timeout)
    while ticks.get() < TICKS || !posted_arrived.load(Ordering::SeqCst) {
        if clock.has_expired(HOST_DEADLINE) {
            eprintln!("host: gave up after {HOST_DEADLINE:?}");
            std::process::exit(1);
        }
        // Sleep until sigloop's next timer, sigloop's fd, or our deadline.
        let host_left = HOST_DEADLINE.saturating_sub(clock.elapsed());
        let timeout =
            EventDispatcher::time_to_next_timer().map_or(host_left, |next| next.min(host_left));
        match host.poll(&mut events, Some(timeout)) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => result?,
        }
        if events.iter().any(|event| event.token() == SIGLOOP) {
            wakeups.0 += 1;
            println!("[{:>4} ms] host woke: sigloop fd readable", ms());
        } else {
            wakeups.1 += 1;
            println!("[{:>4} ms] host woke: timeout (sigloop timer due)", ms());
        }
        // One pass of sigloop, without blocking: the host does the waiting.
        EventDispatcher::dispatch_once(Some(Duration::ZERO));
    }

    worker.quit();
    worker.join().expect("the worker thread panicked");
    println!(
        "done after {} ms: {} ticks, post served; host wake-ups: {} by fd, {} by timeout",
        ms(),
        ticks.get(),
        wakeups.0,
        wakeups.1
    );
    Ok(())
}
