//! Running this thread's sigloop loop inside a tokio application (the
//! `tokio` feature).
//!
//! [`run`] is a future that drives the loop from a tokio `current_thread`
//! runtime or a `LocalSet`, beside the application's tokio tasks, on the
//! same thread: sigloop sockets, timers, signals and tasks
//! ([`spawn_local`](crate::spawn_local)) work as under
//! [`EventDispatcher::exec`](crate::EventDispatcher::exec).
//!
//! How: the loop's poll descriptor (an epoll instance, readable whenever
//! sigloop has I/O or cross-thread work) is registered with tokio's
//! reactor through `tokio::io::unix::AsyncFd`, and the next sigloop timer
//! is a `tokio::time` deadline. The future sleeps on both, then runs one
//! non-blocking pass of the loop. No thread is started and nothing polls
//! while the loop is idle. Work that tokio tasks give the loop between
//! passes (a call posted, a timer started, a socket written, an exit asked
//! for) wakes the descriptor, so it is served at once.
//!
//! ```
//! use std::time::Duration;
//! use sigloop_core::{EventDispatcher, Timer};
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let code = runtime.block_on(async {
//!     // A sigloop timer and a tokio timer, one thread.
//!     Timer::single_shot(Duration::from_millis(20), || EventDispatcher::exit(7));
//!     tokio::time::sleep(Duration::from_millis(1)).await;
//!     sigloop_core::tokio::run().await
//! });
//! assert_eq!(code, 7);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;

use crate::dispatcher::Hosted;

/// The loop's poll descriptor, as tokio's reactor watches it. The loop
/// owns the descriptor and keeps it for the thread's life.
struct LoopFd(RawFd);

impl AsRawFd for LoopFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Drives this thread's sigloop loop from the tokio runtime that polls
/// this future, until [`EventDispatcher::exit`](crate::EventDispatcher::exit)
/// or [`quit`](crate::EventDispatcher::quit); returns the exit code.
///
/// Await it (or spawn it with `tokio::task::spawn_local`) on the thread
/// whose sigloop objects it should serve: the future is not `Send`. It
/// acts as the thread's `exec` while it is alive: `EventDispatcher::exec`
/// on the thread returns -1 meanwhile, nested
/// [`EventLoop`](crate::EventLoop)s work inside slots. Dropping the future
/// stops driving the loop.
///
/// Returns -1 at once, with an error logged, if a sigloop loop already
/// runs on the thread or the runtime has no I/O driver
/// (`enable_io`/`enable_all`), and when the loop panics the panic unwinds
/// through the future as through `exec`.
///
/// Qt: running a `QCoreApplication` on a foreign event loop (the
/// `QAbstractEventDispatcher` integration GLib gets in Qt).
///
/// # Examples
///
/// ```
/// use sigloop_core::EventDispatcher;
///
/// let local = tokio::task::LocalSet::new();
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// let code = local.block_on(&runtime, async {
///     let sigloop = tokio::task::spawn_local(sigloop_core::tokio::run());
///     // A tokio task asks sigloop to stop.
///     tokio::task::spawn_local(async { EventDispatcher::exit(3) });
///     sigloop.await.unwrap()
/// });
/// assert_eq!(code, 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn run() -> i32 {
    let Some(hosted) = Hosted::enter() else {
        log::error!("sigloop::tokio::run: a sigloop loop already runs on this thread");
        return -1;
    };
    // tokio deprecates its safe constructor because it cannot prove that
    // the descriptor outlives the registration (its replacement is
    // `unsafe`, which sigloop forbids). Here it does: `hosted` keeps the
    // loop, which owns the descriptor, and is declared before `fd`, so it
    // is dropped after it.
    #[allow(deprecated)]
    let registered = AsyncFd::with_interest(LoopFd(hosted.raw_fd()), Interest::READABLE);
    let fd = match registered {
        Ok(fd) => fd,
        Err(err) => {
            log::error!("sigloop::tokio::run: cannot watch the loop's descriptor: {err}");
            return -1;
        }
    };
    loop {
        hosted.pass();
        if let Some(code) = hosted.exit_code() {
            return code;
        }
        match hosted.time_to_next_timer() {
            Some(Duration::ZERO) => {
                // Work is pending: let tokio's tasks run, then go on.
                ::tokio::task::yield_now().await;
                continue;
            }
            wait => {
                hosted.set_idle(true);
                let woke = sleep_on(&fd, wait).await;
                hosted.set_idle(false);
                if let Err(err) = woke {
                    log::error!("sigloop::tokio::run: the loop's descriptor failed: {err}");
                    return -1;
                }
            }
        }
    }
}

/// Waits until the descriptor is readable or `wait` passes (`None`:
/// forever), and clears tokio's readiness for the pass that follows: the
/// pass polls the descriptor, so an event arriving after it wakes tokio
/// again.
async fn sleep_on(fd: &AsyncFd<LoopFd>, wait: Option<Duration>) -> io::Result<()> {
    let readable = match wait {
        Some(wait) => match ::tokio::time::timeout(wait, fd.readable()).await {
            Ok(readable) => readable,
            Err(_elapsed) => return Ok(()),
        },
        None => fd.readable().await,
    };
    readable?.clear_ready();
    Ok(())
}
