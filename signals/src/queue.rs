//! How queued connections reach an event loop.
//!
//! This crate knows nothing of event loops. A queued slot call is handed to a
//! queue through one of the two traits below, and `sigloop-core` implements
//! both: [`LocalQueue`] for the calling thread's own loop, [`ThreadQueue`] for
//! a loop that may run on another thread.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A call posted to the current thread's event loop.
pub type LocalCall = Box<dyn FnOnce()>;

/// A call posted to an event loop that may run on another thread.
pub type SendCall = Box<dyn FnOnce() + Send>;

/// The current thread's queue of posted calls.
///
/// `sigloop-core` installs one per thread when that thread's event loop is
/// first used. Until then, queued slot calls wait in a holding list and are
/// handed over on installation, so nothing posted early is lost (Qt keeps
/// posted events until a loop runs, too).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use sigloop_signals::queue::{self, LocalCall, LocalQueue};
///
/// #[derive(Default)]
/// struct Later(RefCell<Vec<LocalCall>>);
/// impl LocalQueue for Later {
///     fn post(&self, call: LocalCall) {
///         self.0.borrow_mut().push(call);
///     }
/// }
///
/// let later = Rc::new(Later::default());
/// queue::install_local_queue(later.clone());
/// queue::post_local(Box::new(|| println!("runs when drained")));
/// assert_eq!(later.0.borrow().len(), 1);
/// # queue::uninstall_local_queue();
/// ```
pub trait LocalQueue {
    /// Appends `call` to the queue; it runs on a later pass of the loop.
    fn post(&self, call: LocalCall);

    /// Appends `call` on behalf of the receiver with identity `receiver`
    /// (see [`Receiver::identity`](crate::Receiver::identity)), so that
    /// the loop can remove or run one receiver's calls (Qt's posted
    /// events have a receiver). The default ignores the receiver.
    fn post_for(&self, receiver: usize, call: LocalCall) {
        let _ = receiver;
        self.post(call);
    }
}

/// An event loop's queue that any thread may post to.
///
/// `sigloop-core`'s `LoopHandle` implements it. A connection made with
/// [`Signal::connect_to_loop`](crate::Signal::connect_to_loop) uses it to run
/// the slot on the loop's thread.
///
/// # Examples
///
/// ```
/// use sigloop_signals::queue::{QueueClosed, SendCall, ThreadQueue};
///
/// /// Runs every call at once, on the caller's thread.
/// #[derive(Clone)]
/// struct Inline;
/// impl ThreadQueue for Inline {
///     fn is_current_thread(&self) -> bool {
///         true
///     }
///     fn post(&self, call: SendCall) -> Result<(), QueueClosed> {
///         call();
///         Ok(())
///     }
/// }
/// assert!(Inline.post(Box::new(|| {})).is_ok());
/// ```
pub trait ThreadQueue: Send + Sync + 'static {
    /// Whether the loop behind this queue runs on the calling thread.
    fn is_current_thread(&self) -> bool;

    /// Posts `call` to run on the loop's thread.
    ///
    /// # Errors
    ///
    /// [`QueueClosed`] when the loop is gone; `call` is dropped unrun.
    fn post(&self, call: SendCall) -> Result<(), QueueClosed>;

    /// The loop's identity, compared by unique connections. Handles to the
    /// same loop must return the same value. The default, `0`, makes every
    /// queue look alike.
    fn identity(&self) -> usize {
        0
    }
}

/// The target loop of a [`ThreadQueue`] no longer exists.
///
/// # Examples
///
/// ```
/// use sigloop_signals::queue::QueueClosed;
/// assert_eq!(QueueClosed.to_string(), "the event loop is gone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueClosed;

impl fmt::Display for QueueClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop is gone")
    }
}

impl std::error::Error for QueueClosed {}

enum Slot {
    /// No loop yet: calls wait here, with their receiver if any.
    Holding(Vec<(Option<usize>, LocalCall)>),
    Installed(Rc<dyn LocalQueue>),
}

thread_local! {
    static LOCAL: RefCell<Slot> = const { RefCell::new(Slot::Holding(Vec::new())) };
}

/// Installs the current thread's queue and hands it every call posted before.
///
/// Called by `sigloop-core`; applications rarely need it.
///
/// # Examples
///
/// See [`LocalQueue`].
pub fn install_local_queue(queue: Rc<dyn LocalQueue>) {
    let held = LOCAL.with(|local| {
        let previous = std::mem::replace(&mut *local.borrow_mut(), Slot::Installed(queue.clone()));
        match previous {
            Slot::Holding(held) => held,
            Slot::Installed(_) => Vec::new(),
        }
    });
    // Hand over with no borrow held: the queue is user-visible code.
    for (receiver, call) in held {
        match receiver {
            Some(receiver) => queue.post_for(receiver, call),
            None => queue.post(call),
        }
    }
}

/// Removes the current thread's queue; later calls are held again.
///
/// `sigloop-core` calls it when a thread's loop is torn down.
///
/// # Examples
///
/// ```
/// sigloop_signals::queue::uninstall_local_queue();
/// ```
pub fn uninstall_local_queue() {
    // Replace first, drop after: dropping the queue may run user destructors.
    let _previous = LOCAL
        .try_with(|local| std::mem::replace(&mut *local.borrow_mut(), Slot::Holding(Vec::new())));
}

/// Posts `call` to the current thread's queue (or holds it until one exists).
///
/// # Examples
///
/// ```
/// sigloop_signals::queue::post_local(Box::new(|| println!("later")));
/// ```
pub fn post_local(call: LocalCall) {
    post(None, call);
}

/// [`post_local`] on behalf of the receiver with identity `receiver`: the
/// loop can then remove or run that receiver's calls.
///
/// # Examples
///
/// ```
/// sigloop_signals::queue::post_local_for(7, Box::new(|| println!("later")));
/// ```
pub fn post_local_for(receiver: usize, call: LocalCall) {
    post(Some(receiver), call);
}

fn post(receiver: Option<usize>, call: LocalCall) {
    let installed = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        match &mut *local {
            Slot::Holding(held) => {
                held.push((receiver, call));
                None
            }
            Slot::Installed(queue) => Some((queue.clone(), call)),
        }
    });
    match (installed, receiver) {
        (Ok(Some((queue, call))), Some(receiver)) => queue.post_for(receiver, call),
        (Ok(Some((queue, call))), None) => queue.post(call),
        (Ok(None), _) => {}
        (Err(_), _) => log::warn!("queued slot call dropped: the thread is exiting"),
    }
}
