//! Hot-path benchmark for sigloop: signal emission, posted calls (same
//! thread and cross-thread) and single-shot timers.
//!
//! Hand-rolled (no criterion), std plus the workspace crates only. Run with
//!
//! ```text
//! cargo bench --bench core
//! ```
//!
//! Everything runs in one process in well under a minute and prints one
//! table, with the project's targets beside each figure.
//!
//! CPU time is read from `/proc/self/task/*/schedstat` (first field: time on
//! CPU in nanoseconds, summed over the live threads of the process). Where
//! schedstat is missing, `/proc/self/stat` utime + stime is used instead,
//! assuming `CLK_TCK` = 100 (10 ms ticks), which is far coarser: the figure
//! is then flagged as such.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sigloop::core::{EventDispatcher, ProcessEventsFlags, Timer, TimerType};
use sigloop::signals::Signal;

/// Sizes of one run. `cargo bench` passes `--bench` and gets the full
/// sizes; without it (`cargo test --all-targets`) a quick smoke run.
#[derive(Clone, Copy)]
struct Plan {
    /// Emissions per repetition of the emit benchmarks.
    emits: u64,
    /// Repetitions of the emit and posted-call benchmarks.
    reps: usize,
    /// Posted calls per repetition.
    posts: u64,
    /// Calls each cross-thread producer posts.
    per_producer: u64,
    /// Cross-thread repetitions.
    xreps: usize,
    /// Timers per timer run.
    timers: usize,
    /// Timer runs per timer kind.
    timer_reps: usize,
}

const FULL: Plan = Plan {
    emits: 10_000_000,
    reps: 7,
    posts: 1_000_000,
    per_producer: 250_000,
    xreps: 5,
    timers: 10_000,
    timer_reps: 5,
};

const QUICK: Plan = Plan {
    emits: 10_000,
    reps: 2,
    posts: 10_000,
    per_producer: 2_500,
    xreps: 2,
    timers: 200,
    timer_reps: 1,
};

/// Cross-thread producer threads.
const PRODUCERS: u64 = 4;
/// The largest timer delay.
const MAX_DELAY_MS: u64 = 50;

// Targets.
const EMIT1_TARGET_NS: f64 = 5.0;
const EMIT10_TARGET_NS: f64 = 30.0;
const POST_TARGET_NS: f64 = 100.0;
const TIMER_CPU_TARGET_US: f64 = 0.5;
const LATENESS_P99_TARGET_MS: f64 = 2.0;

// ----- statistics --------------------------------------------------------

/// Best (minimum) and median of a sample.
#[derive(Clone, Copy)]
struct Stats {
    best: f64,
    median: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    Stats {
        best: samples[0],
        median: samples[samples.len() / 2],
    }
}

/// Nearest-rank percentile of a sorted sample.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ----- CPU time ------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum CpuSource {
    Schedstat,
    Ticks,
}

/// Process CPU time so far, in nanoseconds.
fn cpu_ns() -> (u64, CpuSource) {
    if let Some(ns) = schedstat_ns() {
        return (ns, CpuSource::Schedstat);
    }
    (stat_ticks_ns(), CpuSource::Ticks)
}

/// Sum of the first schedstat field over the live threads.
fn schedstat_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// utime + stime of the process, assuming CLK_TCK = 100.
fn stat_ticks_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may hold spaces: count fields after its ')'.
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat are utime and stime; after ')' they sit at
    // indices 11 and 12 (field 3, the state, is index 0).
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let ticks = tick(11).unwrap_or(0) + tick(12).unwrap_or(0);
    ticks * 10_000_000
}

// ----- 1. emission -----------------------------------------------------------

/// ns per emit of a `Signal<u64>` with `slots` slots.
fn bench_signal(plan: Plan, slots: usize) -> Stats {
    let Plan { emits, reps, .. } = plan;
    let counter = Rc::new(Cell::new(0u64));
    let signal = Signal::<u64>::new();
    let _conns: Vec<_> = (0..slots)
        .map(|_| {
            let c = counter.clone();
            signal.connect(move |v| c.set(c.get().wrapping_add(*v)))
        })
        .collect();
    let mut samples = Vec::with_capacity(reps);
    // One untimed warm-up repetition, then the timed ones.
    for rep in 0..=reps {
        let start = Instant::now();
        for i in 0..emits {
            black_box(&signal).emit(black_box(&i));
        }
        let elapsed = start.elapsed();
        if rep > 0 {
            samples.push(elapsed.as_nanos() as f64 / emits as f64);
        }
    }
    let expected = (emits * (emits - 1) / 2)
        .wrapping_mul(slots as u64)
        .wrapping_mul(reps as u64 + 1);
    assert_eq!(counter.get(), expected, "every slot ran every time");
    stats(samples)
}

/// A boxed slot closure, as the floor benchmark stores them.
type BoxedSlot = Box<dyn FnMut(&u64)>;

/// The floor: ns per "emit" of calling `slots` boxed closures in a loop.
fn bench_boxed(plan: Plan, slots: usize) -> Stats {
    let Plan { emits, reps, .. } = plan;
    let counter = Rc::new(Cell::new(0u64));
    let mut closures: Vec<BoxedSlot> = (0..slots)
        .map(|_| {
            let c = counter.clone();
            Box::new(move |v: &u64| c.set(c.get().wrapping_add(*v))) as BoxedSlot
        })
        .collect();
    let mut samples = Vec::with_capacity(reps);
    for rep in 0..=reps {
        let start = Instant::now();
        for i in 0..emits {
            let arg = black_box(&i);
            for closure in black_box(&mut closures).iter_mut() {
                closure(arg);
            }
        }
        let elapsed = start.elapsed();
        if rep > 0 {
            samples.push(elapsed.as_nanos() as f64 / emits as f64);
        }
    }
    let expected = (emits * (emits - 1) / 2)
        .wrapping_mul(slots as u64)
        .wrapping_mul(reps as u64 + 1);
    assert_eq!(counter.get(), expected, "every closure ran every time");
    stats(samples)
}

// ----- 2. same-thread posted calls -------------------------------------------

struct PostResult {
    total: Stats,
    post: Stats,
    run: Stats,
}

/// ns per `EventDispatcher::post` + running it, for `posts` calls.
fn bench_posted(plan: Plan) -> PostResult {
    let Plan { posts, reps, .. } = plan;
    let counter = Rc::new(Cell::new(0u64));
    let (mut total, mut post, mut run) = (Vec::new(), Vec::new(), Vec::new());
    // Make the loop before timing.
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    for rep in 0..=reps {
        counter.set(0);
        let start = Instant::now();
        for _ in 0..posts {
            let c = counter.clone();
            EventDispatcher::post(move || c.set(c.get() + 1));
        }
        let posted = Instant::now();
        while counter.get() < posts {
            EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
        }
        let end = Instant::now();
        assert_eq!(counter.get(), posts);
        if rep > 0 {
            let per = |d: Duration| d.as_nanos() as f64 / posts as f64;
            total.push(per(end - start));
            post.push(per(posted - start));
            run.push(per(end - posted));
        }
    }
    PostResult {
        total: stats(total),
        post: stats(post),
        run: stats(run),
    }
}

// ----- 3. cross-thread posted calls ------------------------------------------

thread_local! {
    static ARRIVED: Cell<u64> = const { Cell::new(0) };
    static SUM: Cell<u64> = const { Cell::new(0) };
}

/// Wall ns per call: `PRODUCERS` threads post `per_producer` calls each
/// through a `LoopHandle`; the main loop counts them and quits.
fn bench_cross_thread(plan: Plan) -> Stats {
    let Plan {
        per_producer,
        xreps,
        ..
    } = plan;
    let total = PRODUCERS * per_producer;
    let mut samples = Vec::with_capacity(xreps);
    for rep in 0..=xreps {
        ARRIVED.with(|a| a.set(0));
        SUM.with(|s| s.set(0));
        let handle = EventDispatcher::handle();
        let failures = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let handle = handle.clone();
                let failures = failures.clone();
                std::thread::spawn(move || {
                    for i in 0..per_producer {
                        let value = p * per_producer + i;
                        let posted = handle.post(move || {
                            SUM.with(|s| s.set(s.get() + value));
                            let arrived = ARRIVED.with(|a| {
                                a.set(a.get() + 1);
                                a.get()
                            });
                            if arrived == total {
                                EventDispatcher::exit(0);
                            }
                        });
                        if posted.is_err() {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let code = EventDispatcher::exec();
        let elapsed = start.elapsed();
        for producer in producers {
            producer.join().expect("producer thread");
        }
        assert_eq!(code, 0);
        assert_eq!(failures.load(Ordering::Relaxed), 0);
        assert_eq!(ARRIVED.with(Cell::get), total);
        assert_eq!(SUM.with(Cell::get), total * (total - 1) / 2);
        if rep > 0 {
            samples.push(elapsed.as_nanos() as f64 / total as f64);
        }
    }
    stats(samples)
}

// ----- 4. timers --------------------------------------------------------------

/// Deterministic xorshift64* PRNG.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..=max` nanoseconds (the modulo bias is negligible).
    fn delay(&mut self, max: Duration) -> Duration {
        Duration::from_nanos(self.next() % (max.as_nanos() as u64 + 1))
    }
}

#[derive(Clone, Copy)]
enum TimerKind {
    /// `Timer::single_shot_with(delay, Precise, call)`.
    Static,
    /// `Timer::new`, `set_single_shot(true)`, `set_timer_type(Precise)`,
    /// `on_timeout`, `start_with(delay)`.
    Object,
}

struct TimerRun {
    cpu_ns: u64,
    wall: Duration,
    /// Lateness of each timer, in ms.
    lateness_ms: Vec<f64>,
}

/// Arms `timers` timers with random delays and runs the loop until all fired.
fn timer_run(timers: usize, kind: TimerKind, seed: u64) -> TimerRun {
    let mut rng = XorShift(seed);
    let max = Duration::from_millis(MAX_DELAY_MS);
    // (timer index, fire instant) in firing order; preallocated and written
    // sequentially so that recording costs little next to the timer.
    let fired: Rc<RefCell<Vec<(usize, Instant)>>> =
        Rc::new(RefCell::new(Vec::with_capacity(timers)));
    let mut deadlines = Vec::with_capacity(timers);
    let remaining = Rc::new(Cell::new(timers));
    let mut keep = Vec::with_capacity(match kind {
        TimerKind::Static => 0,
        TimerKind::Object => timers,
    });
    // Make the loop before measuring.
    EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS);
    let (cpu_start, _) = cpu_ns();
    let wall_start = Instant::now();
    for index in 0..timers {
        let delay = rng.delay(max);
        let fired = fired.clone();
        let remaining = remaining.clone();
        let on_fire = move || {
            let now = Instant::now();
            fired.borrow_mut().push((index, now));
            remaining.set(remaining.get() - 1);
            if remaining.get() == 0 {
                EventDispatcher::exit(0);
            }
        };
        // The library reads the clock after this, so the lateness measured
        // from here is at most a few tens of ns too large.
        deadlines.push(Instant::now() + delay);
        match kind {
            TimerKind::Static => Timer::single_shot_with(delay, TimerType::Precise, on_fire),
            TimerKind::Object => {
                let timer = Timer::new();
                timer.set_single_shot(true);
                timer.set_timer_type(TimerType::Precise);
                let mut on_fire = Some(on_fire);
                let _c = timer.on_timeout(move |_| {
                    if let Some(on_fire) = on_fire.take() {
                        on_fire();
                    }
                });
                timer.start_with(delay);
                keep.push(timer);
            }
        }
    }
    let code = EventDispatcher::exec();
    let (cpu_end, _) = cpu_ns();
    let wall = wall_start.elapsed();
    assert_eq!(code, 0);
    assert_eq!(remaining.get(), 0);
    drop(keep);
    let fired = fired.borrow();
    assert_eq!(fired.len(), timers, "every timer fired once");
    let lateness_ms = fired
        .iter()
        .map(|&(index, fired)| {
            let deadline = &deadlines[index];
            match fired.checked_duration_since(*deadline) {
                Some(late) => late.as_secs_f64() * 1e3,
                None => -(deadline.duration_since(fired).as_secs_f64() * 1e3),
            }
        })
        .collect();
    TimerRun {
        cpu_ns: cpu_end - cpu_start,
        wall,
        lateness_ms,
    }
}

struct TimerResult {
    cpu_us: Stats,
    wall_ms: Stats,
    p50: f64,
    p99: f64,
    max: f64,
    min: f64,
}

fn bench_timers(plan: Plan, kind: TimerKind) -> TimerResult {
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    let mut late = Vec::new();
    // One warm-up run, then the measured ones (same seeds every invocation).
    for rep in 0..=plan.timer_reps {
        let run = timer_run(plan.timers, kind, 0x9E37_79B9_7F4A_7C15 ^ rep as u64);
        if rep > 0 {
            cpu.push(run.cpu_ns as f64 / plan.timers as f64 / 1e3);
            wall.push(run.wall.as_secs_f64() * 1e3);
            late.extend(run.lateness_ms);
        }
    }
    late.sort_by(f64::total_cmp);
    TimerResult {
        cpu_us: stats(cpu),
        wall_ms: stats(wall),
        p50: percentile(&late, 50.0),
        p99: percentile(&late, 99.0),
        max: *late.last().unwrap(),
        min: late[0],
    }
}

// ----- report ---------------------------------------------------------------

fn verdict(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "NO"
    }
}

fn row(name: &str, best: String, median: String, target: &str, met: Option<bool>) {
    let met = met.map_or("", verdict);
    println!("{name:<44} {best:>12} {median:>12}   {target:<12} {met}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|arg| arg == "--bench");
    // Optional filters after `--`: emit, post, cross, timer (default: all).
    let filters: Vec<&str> = args
        .iter()
        .filter(|arg| !arg.starts_with('-'))
        .map(String::as_str)
        .collect();
    let wanted = |group: &str| filters.is_empty() || filters.contains(&group);
    let plan = if full { FULL } else { QUICK };
    let Plan {
        emits,
        reps,
        posts,
        per_producer,
        xreps,
        timers,
        timer_reps,
    } = plan;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (_, source) = cpu_ns();
    println!(
        "sigloop core benchmark{}",
        if full {
            ""
        } else {
            " (quick smoke run: no --bench argument; figures are not meaningful)"
        }
    );
    println!("cores (available_parallelism): {cores}");
    println!(
        "CPU time source: {}",
        match source {
            CpuSource::Schedstat => "/proc/self/task/*/schedstat (ns)",
            CpuSource::Ticks => "/proc/self/stat utime+stime, CLK_TCK=100 assumed (10 ms ticks!)",
        }
    );
    println!(
        "emits: best/median of {reps} x {emits}; posts: {reps} x {posts}; \
         cross-thread: {xreps} x {PRODUCERS} x {per_producer}; \
         timers: {timer_reps} x {timers}, 0-{MAX_DELAY_MS} ms, Precise"
    );
    println!();

    let emit = wanted("emit").then(|| {
        (
            bench_signal(plan, 1),
            bench_signal(plan, 10),
            bench_boxed(plan, 1),
            bench_boxed(plan, 10),
        )
    });
    let posted = wanted("post").then(|| bench_posted(plan));
    let cross = wanted("cross").then(|| bench_cross_thread(plan));
    let timer_results = wanted("timer").then(|| {
        (
            bench_timers(plan, TimerKind::Static),
            bench_timers(plan, TimerKind::Object),
        )
    });

    println!(
        "{:<44} {:>12} {:>12}   {:<12} met",
        "benchmark", "best", "median", "target"
    );
    println!("{}", "-".repeat(92));
    let ns = |v: f64| format!("{v:.2} ns");
    if let Some((emit1, emit10, boxed1, boxed10)) = emit {
        row(
            "emit Signal<u64>, 1 slot (ns/emit)",
            ns(emit1.best),
            ns(emit1.median),
            "<= 5 ns",
            Some(emit1.best <= EMIT1_TARGET_NS),
        );
        row(
            "emit Signal<u64>, 10 slots (ns/emit)",
            ns(emit10.best),
            ns(emit10.median),
            "<= 30 ns",
            Some(emit10.best <= EMIT10_TARGET_NS),
        );
        row(
            "floor: Vec<Box<dyn FnMut>>, 1 closure",
            ns(boxed1.best),
            ns(boxed1.median),
            "",
            None,
        );
        row(
            "floor: Vec<Box<dyn FnMut>>, 10 closures",
            ns(boxed10.best),
            ns(boxed10.median),
            "",
            None,
        );
    }
    if let Some(posted) = posted {
        row(
            "posted call, same thread (post+run, ns/call)",
            ns(posted.total.best),
            ns(posted.total.median),
            "<= 100 ns",
            Some(posted.total.best <= POST_TARGET_NS),
        );
        row(
            "  of which post (ns/call)",
            ns(posted.post.best),
            ns(posted.post.median),
            "",
            None,
        );
        row(
            "  of which run (ns/call)",
            ns(posted.run.best),
            ns(posted.run.median),
            "",
            None,
        );
    }
    if let Some(cross) = cross {
        row(
            &format!("cross-thread post, {PRODUCERS} producers (wall ns/call)"),
            ns(cross.best),
            ns(cross.median),
            "",
            None,
        );
        let mcalls = |v: f64| format!("{:.2} M/s", 1e3 / v);
        row(
            "cross-thread post throughput (calls/s)",
            mcalls(cross.best),
            mcalls(cross.median),
            "",
            None,
        );
    }
    if let Some((statics, objects)) = timer_results {
        for (label, result) in [("single_shot_with", statics), ("Timer object", objects)] {
            let us = |v: f64| format!("{v:.3} us");
            let ms = |v: f64| format!("{v:.3} ms");
            row(
                &format!("{label}: CPU per timer"),
                us(result.cpu_us.best),
                us(result.cpu_us.median),
                "<= 0.5 us",
                Some(result.cpu_us.best <= TIMER_CPU_TARGET_US),
            );
            row(
                &format!("{label}: wall per run of {timers}"),
                ms(result.wall_ms.best),
                ms(result.wall_ms.median),
                "",
                None,
            );
            row(
                &format!("{label}: lateness p50 (all runs)"),
                ms(result.p50),
                String::new(),
                "",
                None,
            );
            row(
                &format!("{label}: lateness p99 (all runs)"),
                ms(result.p99),
                String::new(),
                "<= 2 ms",
                Some(result.p99 <= LATENESS_P99_TARGET_MS),
            );
            row(
                &format!("{label}: lateness max / min"),
                ms(result.max),
                ms(result.min),
                "",
                None,
            );
        }
    }
    println!();
    println!(
        "'met' compares the best repetition (CPU, ns) or the pooled p99 with the target. \
         Lateness = fire instant - (clock read before arming + delay)."
    );
}
