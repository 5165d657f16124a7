//! `LoopThread`: a thread running its own loop (Qt: `QThread` + `exec`).

use std::fmt;
use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::event_loop::EventDispatcher;
use crate::handle::LoopHandle;

/// A thread that runs an event loop until told to stop.
///
/// `start` returns once the thread's loop exists, with its
/// [`LoopHandle`]: post work to it, make queued connections into it, stop
/// it. Dropping the `LoopThread` quits the loop and joins the thread.
///
/// Qt: `QThread` whose `run()` calls `exec()`.
///
/// # Examples
///
/// ```
/// use sigloop_core::LoopThread;
///
/// let worker = LoopThread::start("worker")?;
/// let sum = worker.handle().invoke_blocking(|| (1..=10).sum::<u32>()).unwrap();
/// assert_eq!(sum, 55);
/// worker.handle().exit(3).unwrap();
/// assert_eq!(worker.join().unwrap(), 3);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct LoopThread {
    handle: LoopHandle,
    thread: Option<JoinHandle<i32>>,
}

impl LoopThread {
    /// Starts a thread named `name` running [`EventDispatcher::exec`].
    ///
    /// # Errors
    ///
    /// The OS refused the thread, or the thread could not create its loop.
    ///
    /// # Examples
    ///
    /// See [`LoopThread`].
    pub fn start(name: &str) -> io::Result<Self> {
        Self::start_with(name, || {})
    }

    /// Like [`start`](Self::start), running `setup` on the new thread
    /// before its loop starts (create the thread's objects there).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::{EventDispatcher, LoopThread, Timer};
    ///
    /// let worker = LoopThread::start_with("ticker", || {
    ///     Timer::single_shot(Duration::from_millis(1), || EventDispatcher::exit(8));
    /// })?;
    /// assert_eq!(worker.join().unwrap(), 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_with(name: &str, setup: impl FnOnce() + Send + 'static) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let handle = EventDispatcher::handle();
                // Setup runs before the handle is returned, so posts made by
                // the starter queue up behind what setup scheduled.
                setup();
                if tx.send(handle).is_err() {
                    return -1;
                }
                EventDispatcher::exec()
            })?;
        match rx.recv() {
            Ok(handle) => Ok(LoopThread {
                handle,
                thread: Some(thread),
            }),
            Err(_) => {
                let detail = match thread.join() {
                    Err(_) => "its setup panicked",
                    Ok(_) => "it exited early",
                };
                Err(io::Error::other(format!("LoopThread {name:?}: {detail}")))
            }
        }
    }

    /// The thread's loop handle.
    ///
    /// # Examples
    ///
    /// See [`LoopThread`].
    pub fn handle(&self) -> &LoopHandle {
        &self.handle
    }

    /// Asks the loop to exit with 0. Qt: `QThread::quit()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = sigloop_core::LoopThread::start("w")?;
    /// worker.quit();
    /// assert_eq!(worker.join().unwrap(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn quit(&self) {
        let _ = self.handle.quit();
    }

    /// Waits for the thread to end and returns its loop's exit code.
    /// Qt: `QThread::wait()`.
    ///
    /// # Errors
    ///
    /// The thread panicked; the payload is returned.
    ///
    /// # Examples
    ///
    /// See [`LoopThread`].
    pub fn join(mut self) -> thread::Result<i32> {
        match self.thread.take() {
            Some(thread) => thread.join(),
            None => Ok(0),
        }
    }
}

impl Drop for LoopThread {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.handle.quit();
            if thread.join().is_err() {
                log::error!("LoopThread: the thread panicked");
            }
        }
    }
}

impl fmt::Debug for LoopThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopThread")
            .field("handle", &self.handle)
            .finish()
    }
}
