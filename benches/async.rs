//! async/await on the sigloop loop against plain slots and tokio.
//!
//! ```text
//! cargo bench --bench async
//! ```
//!
//! Hand-rolled like `benches/core.rs` (no criterion), one process, one
//! table. Wall time per operation, best and median over repetitions, all
//! single-threaded and CPU-bound:
//!
//! - an emission delivered to a plain slot, against the same emission
//!   awaited by a task (`Signal::stream`, and `Signal::next` made anew for
//!   every emission), the emitter itself a task that yields after each
//!   emit so that every emission is a wake-up and a poll;
//! - a task hop: a `spawn_local` task that yields (wakes itself and
//!   returns `Pending`) against a tokio `LocalSet` task doing
//!   `tokio::task::yield_now()`, and a ping-pong between two tasks on each
//!   runtime.
//!
//! The echo server written with async/await against the slot version is
//! measured by `benches/echo/run.sh` (server `sigloop-async`); the script
//! `benches/async.sh` runs both.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use sigloop::{block_on, spawn_local, Signal};

struct Plan {
    /// Operations per repetition.
    ops: u64,
    reps: usize,
}

const FULL: Plan = Plan {
    ops: 2_000_000,
    reps: 7,
};
const QUICK: Plan = Plan {
    ops: 2_000,
    reps: 2,
};

#[derive(Clone, Copy)]
struct Stats {
    best: f64,
    median: f64,
}

/// Runs `body` (which does `ops` operations) once untimed and `reps` times
/// timed; ns per operation.
fn measure(plan: &Plan, mut body: impl FnMut(u64)) -> Stats {
    body(plan.ops.min(10_000));
    let mut samples: Vec<f64> = (0..plan.reps)
        .map(|_| {
            let start = Instant::now();
            body(plan.ops);
            start.elapsed().as_nanos() as f64 / plan.ops as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    Stats {
        best: samples[0],
        median: samples[samples.len() / 2],
    }
}

/// Wakes itself and returns `Pending` once: one trip through the
/// executor's ready queue.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn yield_now() -> YieldNow {
    YieldNow(false)
}

// ----- emissions ---------------------------------------------------------------

fn slot_emit(ops: u64) {
    let signal = Signal::<u64>::new();
    let sum = Rc::new(Cell::new(0u64));
    let s = sum.clone();
    let _c = signal.connect(move |v| s.set(s.get().wrapping_add(*v)));
    for i in 0..ops {
        black_box(&signal).emit(black_box(&i));
    }
    assert_eq!(sum.get(), ops * (ops - 1) / 2);
}

/// The emitter task emits and yields; the receiver task awaits each value.
fn awaited_emit(ops: u64, fresh_future_each_time: bool) {
    let signal = Rc::new(Signal::<u64>::new());
    let sum = Rc::new(Cell::new(0u64));
    let (sig, s) = (signal.clone(), sum.clone());
    let receiver = spawn_local(async move {
        if fresh_future_each_time {
            for _ in 0..ops {
                let v = sig.next().await.unwrap();
                s.set(s.get().wrapping_add(v));
            }
        } else {
            let mut stream = sig.stream();
            for _ in 0..ops {
                let v = stream.recv().await.unwrap();
                s.set(s.get().wrapping_add(v));
            }
        }
    });
    let emitter = spawn_local(async move {
        // The receiver connects on its first poll.
        yield_now().await;
        for i in 0..ops {
            signal.emit(&i);
            yield_now().await;
        }
    });
    block_on(async move {
        emitter.await.unwrap();
        receiver.await.unwrap();
    });
    assert_eq!(sum.get(), ops * (ops - 1) / 2);
}

// ----- task hops ---------------------------------------------------------------

fn sigloop_yields(ops: u64) {
    block_on(async move {
        for _ in 0..ops {
            yield_now().await;
        }
    });
}

fn tokio_yields(rt: &tokio::runtime::Runtime, ops: u64) {
    let local = tokio::task::LocalSet::new();
    local.block_on(rt, async move {
        tokio::task::spawn_local(async move {
            for _ in 0..ops {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
    });
}

/// Two tasks hand a turn back and forth: each hop wakes the other task.
#[derive(Default)]
struct Turn {
    /// Whose turn: false for ping, true for pong.
    pong: Cell<bool>,
    wakers: RefCell<[Option<Waker>; 2]>,
}

impl Turn {
    /// Waits for `side`'s turn.
    fn wait(self: &Rc<Self>, side: bool) -> impl Future<Output = ()> {
        let turn = self.clone();
        std::future::poll_fn(move |cx| {
            if turn.pong.get() == side {
                return Poll::Ready(());
            }
            turn.wakers.borrow_mut()[side as usize] = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Hands the turn to the other side.
    fn pass(&self, to: bool) {
        self.pong.set(to);
        let waker = self.wakers.borrow_mut()[to as usize].take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

fn ping_pong_tasks(ops: u64) -> (impl Future<Output = ()>, impl Future<Output = ()>) {
    let turn = Rc::new(Turn::default());
    let t = turn.clone();
    let ping = async move {
        for _ in 0..ops / 2 {
            t.wait(false).await;
            t.pass(true);
        }
    };
    let pong = async move {
        for _ in 0..ops / 2 {
            turn.wait(true).await;
            turn.pass(false);
        }
    };
    (ping, pong)
}

fn sigloop_ping_pong(ops: u64) {
    let (ping, pong) = ping_pong_tasks(ops);
    let (a, b) = (spawn_local(ping), spawn_local(pong));
    block_on(async move {
        a.await.unwrap();
        b.await.unwrap();
    });
}

fn tokio_ping_pong(rt: &tokio::runtime::Runtime, ops: u64) {
    let local = tokio::task::LocalSet::new();
    local.block_on(rt, async move {
        let (ping, pong) = ping_pong_tasks(ops);
        let (a, b) = (
            tokio::task::spawn_local(ping),
            tokio::task::spawn_local(pong),
        );
        a.await.unwrap();
        b.await.unwrap();
    });
}

fn row(name: &str, stats: Stats, note: &str) {
    println!(
        "{name:<52} {:>9.1} ns {:>9.1} ns   {note}",
        stats.best, stats.median
    );
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let plan = if full { FULL } else { QUICK };
    println!(
        "sigloop async benchmark{}",
        if full {
            ""
        } else {
            " (quick smoke run: no --bench argument; figures are not meaningful)"
        }
    );
    println!(
        "{} reps x {} ops, best and median ns per op, wall time, one thread",
        plan.reps, plan.ops
    );
    println!();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let slot = measure(&plan, slot_emit);
    let stream = measure(&plan, |ops| awaited_emit(ops, false));
    let next = measure(&plan, |ops| awaited_emit(ops, true));
    let our_yield = measure(&plan, sigloop_yields);
    let tokio_yield = measure(&plan, |ops| tokio_yields(&rt, ops));
    let our_pp = measure(&plan, sigloop_ping_pong);
    let tokio_pp = measure(&plan, |ops| tokio_ping_pong(&rt, ops));

    println!("{:<52} {:>12} {:>12}", "benchmark", "best", "median");
    println!("{}", "-".repeat(92));
    row("emission to a plain slot (ns/emission)", slot, "");
    row(
        "emission awaited by a task, Signal::stream",
        stream,
        &format!("{:.1}x the slot", stream.best / slot.best),
    );
    row(
        "emission awaited by a task, Signal::next each time",
        next,
        &format!("{:.1}x the slot", next.best / slot.best),
    );
    row("task hop: spawn_local task yields (ns/hop)", our_yield, "");
    let met = |ours: Stats, theirs: Stats| {
        if ours.best <= theirs.best {
            "target <= tokio: yes"
        } else {
            "target <= tokio: NO"
        }
    };
    row(
        "task hop: tokio LocalSet, yield_now (ns/hop)",
        tokio_yield,
        &format!(
            "sigloop/tokio {:.2}x, {}",
            our_yield.best / tokio_yield.best,
            met(our_yield, tokio_yield)
        ),
    );
    row("task hop: sigloop ping-pong, 2 tasks (ns/hop)", our_pp, "");
    row(
        "task hop: tokio LocalSet ping-pong, 2 tasks (ns/hop)",
        tokio_pp,
        &format!(
            "sigloop/tokio {:.2}x, {}",
            our_pp.best / tokio_pp.best,
            met(our_pp, tokio_pp)
        ),
    );
}
