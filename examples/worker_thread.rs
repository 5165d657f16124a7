//! A worker thread with its own event loop, reporting back through a
//! queued signal.
//!
//! The main thread starts a [`LoopThread`] and posts 8 jobs to it with
//! `LoopHandle::post`. The worker object lives on the worker thread; for
//! each job it counts the primes below a bound and emits `result_ready`.
//! That signal is connected with `connect_to_loop(&main_handle,
//! ConnectionType::Queued, …)`, so the slot runs on the *main* thread's
//! loop, which exits once all 8 results are in. `main` then prints them,
//! stops the worker and joins it. Exit status 0.
//!
//! Qt equivalent:
//!
//! ```cpp
//! QThread thread;
//! auto *worker = new Worker;              // has signal resultReady(Result)
//! worker->moveToThread(&thread);
//! QObject::connect(worker, &Worker::resultReady, &app, onResult,
//!                  Qt::QueuedConnection); // slot runs on the main thread
//! thread.start();
//! for (int job = 0; job < 8; ++job)
//!     QMetaObject::invokeMethod(worker, [=] { worker->run(job); },
//!                               Qt::QueuedConnection);
//! app.exec();
//! thread.quit(); thread.wait();
//! ```
//!
//! Run with `cargo run --example worker_thread`.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sigloop::{ConnectionType, EventDispatcher, LoopThread, Signal, Timer};

const JOBS: u32 = 8;

/// One finished job, sent from the worker thread to the main thread.
#[derive(Debug, Clone)]
struct JobResult {
    job: u32,
    bound: u64,
    primes: u64,
    thread: String,
}

/// The object living on the worker thread (Qt: a `QObject` moved to the
/// `QThread`). It is `!Send`, like every sigloop object, so it is made on
/// the worker thread and stays there.
struct Worker {
    result_ready: Signal<JobResult>,
}

impl Worker {
    fn run(&self, job: u32) {
        let bound = 20_000 * u64::from(job + 1);
        let result = JobResult {
            job,
            bound,
            primes: count_primes_below(bound),
            thread: current_thread_name(),
        };
        self.result_ready.emit(&result);
    }
}

thread_local! {
    /// The worker thread's `Worker`, installed by the thread's setup.
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

fn count_primes_below(bound: u64) -> u64 {
    (2..bound)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

fn current_thread_name() -> String {
    thread::current().name().unwrap_or("unnamed").to_owned()
}

fn main() -> std::io::Result<()> {
    let main_handle = EventDispatcher::handle();
    // The slot runs on the main thread but must be `Send` (it is created
    // on the worker thread), so it hands results over through a mutex.
    let results = Arc::new(Mutex::new(Vec::new()));
    let collected = results.clone();

    // QThread::start(); the setup closure runs on the new thread before its
    // loop starts: create the worker there and connect its signal.
    let worker = LoopThread::start_with("worker", move || {
        let worker = Worker {
            result_ready: Signal::new(),
        };
        let connection = worker.result_ready.connect_to_loop(
            &main_handle,
            ConnectionType::Queued,
            move |result: &JobResult| {
                // On the main thread, inside its event loop.
                println!(
                    "  [{}] got job {} from [{}]",
                    current_thread_name(),
                    result.job,
                    result.thread
                );
                let mut results = collected.lock().unwrap();
                results.push(result.clone());
                if results.len() == JOBS as usize {
                    EventDispatcher::exit(0);
                }
            },
        );
        // The connection stays until the signal is dropped with the worker.
        let _ = connection.expect("a queued connection to another thread's loop");
        WORKER.with(|slot| *slot.borrow_mut() = Some(worker));
    })?;

    // QMetaObject::invokeMethod(worker, …, Qt::QueuedConnection) × 8.
    for job in 0..JOBS {
        worker
            .handle()
            .post(move || {
                WORKER.with(|slot| {
                    if let Some(worker) = slot.borrow().as_ref() {
                        worker.run(job);
                    }
                });
            })
            .expect("the worker's loop is running");
    }
    println!(
        "[{}] posted {JOBS} jobs to the worker",
        current_thread_name()
    );

    // A watchdog so the example can never hang.
    Timer::single_shot(Duration::from_secs(10), || {
        eprintln!("timed out waiting for results");
        EventDispatcher::exit(1);
    });
    let code = EventDispatcher::exec();

    // QThread::quit(); QThread::wait();
    worker.quit();
    let worker_code = worker.join().expect("the worker thread panicked");

    let results = results.lock().unwrap();
    println!("results ({} of {JOBS}):", results.len());
    for r in results.iter() {
        println!(
            "  job {}: {:>6} primes below {:>6}",
            r.job, r.primes, r.bound
        );
    }
    println!("main loop exited with {code}, worker loop with {worker_code}");
    assert_eq!(code, 0, "all results arrived");
    Ok(())
}
