//! Timers on the event loop: a repeating timer, static single-shots, and
//! leaving the loop with an exit code.
//!
//! A 100 ms repeating [`Timer`] prints a tick; a [`Timer::single_shot`]
//! prints once in between; on the fifth tick the timeout slot stops the
//! timer and calls `EventDispatcher::exit(3)`. `main` prints the code
//! `exec` returned ("event loop exited with code 3") and then ends
//! normally, so the process exit status is 0. Runs for about half a second.
//!
//! Qt equivalent:
//!
//! ```cpp
//! QCoreApplication app(argc, argv);
//! QTimer ticker;
//! int ticks = 0;
//! QObject::connect(&ticker, &QTimer::timeout, [&] {
//!     qDebug() << "tick" << ++ticks;
//!     if (ticks == 5) { ticker.stop(); QCoreApplication::exit(3); }
//! });
//! ticker.start(100);
//! QTimer::singleShot(250, [] { qDebug() << "single shot"; });
//! int code = app.exec();   // 3
//! ```
//!
//! Run with `cargo run --example timers`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sigloop::{ElapsedTimer, EventDispatcher, Timer, TimerType};

/// Ticks before the loop is told to exit.
const TICKS: u32 = 5;
/// The exit code the last tick passes to `EventDispatcher::exit`.
const EXIT_CODE: i32 = 3;

fn main() {
    let clock = ElapsedTimer::started();
    let ms = move || clock.elapsed().as_millis();

    // QTimer ticker; ticker.setTimerType(Qt::PreciseTimer); ticker.start(100);
    let ticker = Timer::new();
    ticker.set_timer_type(TimerType::Precise);
    let ticks = Rc::new(Cell::new(0));
    let count = ticks.clone();
    // callOnTimeout: the slot is handed the timer itself (held weakly).
    let _tick = ticker.on_timeout(move |timer| {
        count.set(count.get() + 1);
        println!("[{:>4} ms] tick {}", ms(), count.get());
        if count.get() == TICKS {
            timer.stop();
            println!("[{:>4} ms] {TICKS} ticks: exit({EXIT_CODE})", ms());
            EventDispatcher::exit(EXIT_CODE);
        }
    });
    ticker.start_with(Duration::from_millis(100));

    // QTimer::singleShot(250, functor): fires once, between ticks 2 and 3.
    Timer::single_shot(Duration::from_millis(250), move || {
        println!("[{:>4} ms] single shot", ms());
    });

    // QTimer::singleShot(0, functor) is a posted call: it runs as soon as
    // the loop starts, before any timer.
    Timer::single_shot(Duration::ZERO, move || {
        println!("[{:>4} ms] loop started", ms());
    });

    if let Some(left) = ticker.remaining_time() {
        println!("first tick due in {} ms", left.as_micros().div_ceil(1000));
    }
    let code = EventDispatcher::exec();
    println!(
        "event loop exited with code {code} after {} ticks",
        ticks.get()
    );
    assert_eq!(code, EXIT_CODE);
    assert!(!ticker.is_active());
}
