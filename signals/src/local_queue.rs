//! The calling thread's own loop, as queued connections reach it.
//!
//! `sigloop-core` installs the thread's queue when the thread's loop is
//! first used (through [`crate::__private`]). Until then, queued slot calls
//! wait in a holding list and are handed over on installation, so nothing
//! posted early is lost (Qt keeps posted events until a loop runs, too).

use std::cell::RefCell;
use std::rc::Rc;

/// A call posted to the current thread's event loop.
pub type LocalCall = Box<dyn FnOnce()>;

/// The current thread's queue of posted calls, as `sigloop-core`
/// implements it.
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

enum Slot {
    /// No loop yet: calls wait here, with their receiver if any.
    Holding(Vec<(Option<usize>, LocalCall)>),
    Installed(Rc<dyn LocalQueue>),
}

thread_local! {
    static LOCAL: RefCell<Slot> = const { RefCell::new(Slot::Holding(Vec::new())) };
}

/// Installs the current thread's queue and hands it every call posted
/// before.
pub fn install_local_queue(queue: Rc<dyn LocalQueue>) {
    let previous = LOCAL
        .with(|local| std::mem::replace(&mut *local.borrow_mut(), Slot::Installed(queue.clone())));
    // Handed over and dropped with no borrow held: the calls are user code.
    if let Slot::Holding(held) = previous {
        for (receiver, call) in held {
            match receiver {
                Some(receiver) => queue.post_for(receiver, call),
                None => queue.post(call),
            }
        }
    }
}

/// Posts `call` to the current thread's queue (or holds it until one
/// exists).
pub(crate) fn post_local(call: LocalCall) {
    post(None, call);
}

/// [`post_local`] on behalf of the receiver with identity `receiver`: the
/// loop can then remove or run that receiver's calls.
pub(crate) fn post_local_for(receiver: usize, call: LocalCall) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Default)]
    struct Later(RefCell<Vec<LocalCall>>);

    impl LocalQueue for Later {
        fn post(&self, call: LocalCall) {
            self.0.borrow_mut().push(call);
        }
    }

    /// Calls queued before the loop exists wait and are handed over, in
    /// order, when it installs its queue; later ones go straight to it.
    #[test]
    fn calls_posted_before_installation_are_handed_over() {
        let ran = Rc::new(Cell::new(0));
        let r = ran.clone();
        post_local(Box::new(move || r.set(r.get() * 10 + 1)));
        let later = Rc::new(Later::default());
        install_local_queue(later.clone());
        let r = ran.clone();
        post_local(Box::new(move || r.set(r.get() * 10 + 2)));
        let calls = std::mem::take(&mut *later.0.borrow_mut());
        assert_eq!(calls.len(), 2);
        calls.into_iter().for_each(|call| call());
        assert_eq!(ran.get(), 12);
    }
}
