//! `Signal<T>`: a typed signal (Qt: a `signals:` member plus `emit`).

use std::any::TypeId;
use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;
use std::sync::{mpsc, Arc};

use crate::connection::Connection;
use crate::connection_type::{ConnectError, ConnectOptions, ConnectionType};
use crate::local_queue;
use crate::queue::ThreadQueue;
use crate::receiver::Receiver;
use crate::serialized::{LocalSerial, SendSerial};
use crate::slot_list::{slot_fn, Slot, SlotFn, SlotKey, SlotList};

/// A typed signal: slots are closures taking `&T`.
///
/// Declare one per event in the struct that emits it; use `()` for no
/// arguments and a tuple or struct for several. An unconnected signal is
/// one pointer wide and allocates nothing.
///
/// Dropping the signal disconnects everything (Qt: destroying the sender).
///
/// Qt: a `signals:` declaration, `emit`, `QObject::connect`.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sigloop_signals::Signal;
///
/// let total = Rc::new(Cell::new(0));
/// let clicked = Signal::<u32>::new();
/// let t = total.clone();
/// let conn = clicked.connect(move |n| t.set(t.get() + n));
/// clicked.emit(&2);
/// clicked.emit(&3);
/// assert_eq!(total.get(), 5);
/// conn.disconnect();
/// ```
pub struct Signal<T: 'static> {
    list: OnceCell<Rc<SlotList<T>>>,
}

impl<T: 'static> Signal<T> {
    /// An unconnected signal.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<String>::new();
    /// assert_eq!(signal.receivers(), 0);
    /// ```
    pub const fn new() -> Self {
        Signal {
            list: OnceCell::new(),
        }
    }

    /// Calls every connected slot with `args`, in connection order.
    ///
    /// Does nothing while the signal is blocked. See the crate docs for what
    /// slots may do during an emission.
    ///
    /// Qt: `emit signal(args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<&str>::new();
    /// let _c = signal.connect(|name| println!("hello, {name}"));
    /// signal.emit(&"world");
    /// ```
    #[inline]
    pub fn emit(&self, args: &T) {
        if let Some(list) = self.list.get() {
            if !list.blocked.get() {
                // `&self` keeps this signal, so its list, alive for the whole
                // call: a slot can destroy the object around it, not the
                // signal the caller borrows.
                list.emit(args);
            }
        }
    }

    /// Connects `slot` directly: it runs inside [`emit`](Self::emit).
    ///
    /// The returned [`Connection`] disconnects it; dropping the handle does
    /// not. Use [`Connection::scoped`] for a guard that does.
    ///
    /// Qt: `QObject::connect(sender, &Sender::signal, functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<i32>::new();
    /// let conn = signal.connect(|v| assert_eq!(*v, 7));
    /// signal.emit(&7);
    /// assert!(conn.is_connected());
    /// ```
    pub fn connect<F>(&self, mut slot: F) -> Connection
    where
        F: FnMut(&T) + 'static,
    {
        let key = key_of::<F>(0);
        let wrapped: SlotFn<T> = slot_fn(move |args: &T| {
            slot(args);
            true
        });
        match self.push(key, ConnectOptions::default(), wrapped) {
            Ok(conn) => conn,
            Err(_) => unreachable!("a connection that is not unique is always made"),
        }
    }

    /// Connects `slot` with a connection type and flags.
    ///
    /// - `Auto` and `Direct`: the slot runs inside `emit` (a closure with no
    ///   context object lives on the emitting thread, as in Qt).
    /// - `Queued`: `emit` clones the arguments and posts the call to the
    ///   current thread's event loop; it runs on a later pass.
    /// - `BlockingQueued`: refused with [`ConnectError::WouldDeadlock`], since
    ///   the target loop is the emitting thread's own. Use
    ///   [`connect_to_loop`](Self::connect_to_loop) for another thread.
    ///
    /// Qt: `QObject::connect(sender, &Sender::signal, functor, type)`.
    ///
    /// # Errors
    ///
    /// [`ConnectError::AlreadyConnected`] for a unique connection whose
    /// closure type is already connected; [`ConnectError::WouldDeadlock`]
    /// for `BlockingQueued`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_signals::{ConnectionType, Signal};
    ///
    /// let signal = Signal::<u8>::new();
    /// let once = signal
    ///     .connect_with(ConnectionType::Direct.single_shot(), |v| println!("{v}"))
    ///     .unwrap();
    /// signal.emit(&1);
    /// assert!(!once.is_connected());
    /// ```
    pub fn connect_with<F>(
        &self,
        options: impl Into<ConnectOptions>,
        slot: F,
    ) -> Result<Connection, ConnectError>
    where
        F: FnMut(&T) + 'static,
        T: Clone,
    {
        let options = options.into();
        let key = key_of::<F>(0);
        let wrapped = local_slot(options.kind, slot)?;
        self.push(key, options, wrapped)
    }

    /// Connects a slot bound to `receiver`, which the connection holds
    /// weakly. The slot gets the receiver as its first argument; once the
    /// receiver is gone the connection disconnects itself (Qt's context
    /// object rule). Direct.
    ///
    /// Pass the emitting object itself to give a slot its sender without a
    /// strong capture (a closure capturing an `Rc` of its own sender would
    /// keep it alive forever).
    ///
    /// Qt: `QObject::connect(sender, &Sender::signal, context, functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use sigloop_signals::Signal;
    ///
    /// struct Button {
    ///     label: RefCell<String>,
    ///     clicked: Signal<()>,
    /// }
    ///
    /// let button = Rc::new(Button { label: RefCell::new("off".into()), clicked: Signal::new() });
    /// let _c = button.clicked.connect_to(&button, |button, _| {
    ///     *button.label.borrow_mut() = "on".into();
    /// });
    /// button.clicked.emit(&());
    /// assert_eq!(*button.label.borrow(), "on");
    /// ```
    pub fn connect_to<C, F>(&self, receiver: &C, slot: F) -> Connection
    where
        C: Receiver,
        F: FnMut(&C, &T) + 'static,
    {
        let key = key_of::<F>(receiver.identity());
        let wrapped = bind_receiver(receiver, slot);
        match self.push(key, ConnectOptions::default(), wrapped) {
            Ok(conn) => conn,
            Err(_) => unreachable!("a connection that is not unique is always made"),
        }
    }

    /// [`connect_to`](Self::connect_to) with a connection type and flags.
    ///
    /// The receiver lives on this thread (it is not `Send`), so `Auto` is
    /// direct and `BlockingQueued` is refused. A queued call whose receiver
    /// is gone by the time it is delivered is dropped unrun, as Qt does.
    ///
    /// # Errors
    ///
    /// [`ConnectError::AlreadyConnected`] for a unique connection of the same
    /// closure type to the same receiver; [`ConnectError::WouldDeadlock`] for
    /// `BlockingQueued`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_signals::{ConnectError, ConnectionType, Signal};
    ///
    /// let count = Rc::new(Cell::new(0));
    /// let signal = Signal::<()>::new();
    /// for _ in 0..3 {
    ///     let _ = signal.connect_to_with(&count, ConnectionType::Direct.unique(), |c, _| {
    ///         c.set(c.get() + 1)
    ///     });
    /// }
    /// signal.emit(&());
    /// assert_eq!(count.get(), 1);
    /// ```
    pub fn connect_to_with<C, F>(
        &self,
        receiver: &C,
        options: impl Into<ConnectOptions>,
        slot: F,
    ) -> Result<Connection, ConnectError>
    where
        C: Receiver,
        F: FnMut(&C, &T) + 'static,
        T: Clone,
    {
        let options = options.into();
        let key = key_of::<F>(receiver.identity());
        let wrapped = match options.kind {
            ConnectionType::Auto | ConnectionType::Direct => bind_receiver(receiver, slot),
            ConnectionType::Queued => {
                let weak = receiver.downgrade();
                let mut slot = slot;
                let mut inner = local_queued(Some(receiver.identity()), move |args: &T| {
                    if let Some(receiver) = C::upgrade(&weak) {
                        slot(&receiver, args);
                    }
                });
                Box::new(Bound::<C, _>::new(receiver, move |_: &C, args: &T| {
                    inner(args)
                }))
            }
            ConnectionType::BlockingQueued => return Err(ConnectError::WouldDeadlock),
        };
        self.push(key, options, wrapped)
    }

    /// Connects a `Send` slot that runs on the loop behind `target`, which
    /// may be another thread's (Qt: a receiver living in another thread).
    ///
    /// - `Auto`: direct when `emit` runs on the target loop's thread,
    ///   queued otherwise — decided at each emission, as Qt does.
    /// - `Direct`: runs inside `emit`, on the emitting thread.
    /// - `Queued`: the arguments are cloned and sent to the target loop.
    /// - `BlockingQueued`: as `Queued`, and `emit` waits until the slot has
    ///   run (or the target loop is gone). Refused when the target loop runs
    ///   on the connecting thread.
    ///
    /// The connection breaks itself when the target loop is gone.
    ///
    /// # Errors
    ///
    /// [`ConnectError::WouldDeadlock`] for `BlockingQueued` to the current
    /// thread's loop; [`ConnectError::AlreadyConnected`] for a duplicate
    /// unique connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use sigloop_signals::queue::{QueueClosed, SendCall, ThreadQueue};
    /// use sigloop_signals::{ConnectionType, Signal};
    ///
    /// // A stand-in for sigloop-core's LoopHandle: a channel to a worker.
    /// #[derive(Clone)]
    /// struct Worker(mpsc::Sender<SendCall>);
    /// impl ThreadQueue for Worker {
    ///     fn is_current_thread(&self) -> bool { false }
    ///     fn post(&self, call: SendCall) -> Result<(), QueueClosed> {
    ///         self.0.send(call).map_err(|_| QueueClosed)
    ///     }
    /// }
    ///
    /// let (tx, rx) = mpsc::channel::<SendCall>();
    /// let worker = std::thread::spawn(move || rx.into_iter().for_each(|call| call()));
    /// let (done_tx, done_rx) = mpsc::channel();
    /// let signal = Signal::<u64>::new();
    /// let _c = signal
    ///     .connect_to_loop(&Worker(tx), ConnectionType::BlockingQueued, move |n| {
    ///         done_tx.send(n * 2).unwrap();
    ///     })
    ///     .unwrap();
    /// signal.emit(&21); // returns after the worker ran the slot
    /// assert_eq!(done_rx.try_recv(), Ok(42));
    /// drop(signal);
    /// worker.join().unwrap();
    /// ```
    pub fn connect_to_loop<Q, F>(
        &self,
        target: &Q,
        options: impl Into<ConnectOptions>,
        slot: F,
    ) -> Result<Connection, ConnectError>
    where
        Q: ThreadQueue + Clone,
        F: FnMut(&T) + Send + 'static,
        T: Clone + Send,
    {
        let options = options.into();
        if options.kind == ConnectionType::BlockingQueued && target.is_current_thread() {
            return Err(ConnectError::WouldDeadlock);
        }
        let key = key_of::<F>(target.identity());
        let wrapped = loop_slot(target.clone(), options.kind, slot);
        self.push(key, options, wrapped)
    }

    /// Stops (`true`) or resumes (`false`) emission; returns the previous
    /// setting. While blocked, `emit` calls nothing and nothing is queued.
    ///
    /// Qt: `QObject::blockSignals()` (per object there, per signal here;
    /// sigloop objects offer a `block_signals` that covers all of theirs).
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let _c = signal.connect(|_| panic!("blocked"));
    /// assert!(!signal.block_signals(true));
    /// signal.emit(&());
    /// assert!(signal.signals_blocked());
    /// ```
    pub fn block_signals(&self, block: bool) -> bool {
        match self.list.get() {
            Some(list) => list.blocked.replace(block),
            // Unblocking a signal that never had a list: nothing to record,
            // and no list to allocate (an object's deletion does this).
            None if !block => false,
            None => self.list().blocked.replace(true),
        }
    }

    /// Whether emission is blocked.
    ///
    /// Qt: `QObject::signalsBlocked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// assert!(!signal.signals_blocked());
    /// ```
    pub fn signals_blocked(&self) -> bool {
        self.list.get().is_some_and(|list| list.blocked.get())
    }

    /// The number of connected slots.
    ///
    /// Qt: `QObject::receivers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let _a = signal.connect(|_| {});
    /// let _b = signal.connect(|_| {});
    /// assert_eq!(signal.receivers(), 2);
    /// ```
    pub fn receivers(&self) -> usize {
        self.list.get().map_or(0, |list| list.receivers())
    }

    /// Whether any slot is connected. Cheaper than building the arguments
    /// of an emission nobody hears.
    ///
    /// Qt: `QObject::isSignalConnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// assert!(!signal.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.list.get().is_some_and(|list| list.has_receivers())
    }

    /// Disconnects every slot; returns how many were connected.
    ///
    /// Qt: `QObject::disconnect(sender, &Sender::signal, nullptr, nullptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let signal = sigloop_signals::Signal::<()>::new();
    /// let conn = signal.connect(|_| {});
    /// assert_eq!(signal.disconnect_all(), 1);
    /// assert!(!conn.is_connected());
    /// ```
    pub fn disconnect_all(&self) -> usize {
        self.list.get().map_or(0, |list| list.disconnect_all())
    }

    /// Disconnects every slot bound to `receiver` (made with
    /// [`connect_to`](Self::connect_to) or
    /// [`connect_to_with`](Self::connect_to_with) and that receiver, or one
    /// with the same identity); returns how many. Other connections stay.
    ///
    /// Called from a slot of `receiver` on this signal (or from what that
    /// slot calls), the running slot is disconnected too, when the
    /// emission that runs it ends: later emissions don't call it (an
    /// emission nested in that one, after the slot returned, still may).
    /// It is not in the count.
    ///
    /// Qt: `QObject::disconnect(sender, &Sender::signal, receiver, nullptr)`;
    /// objects offer `disconnect_receiver` for all their signals (Qt's
    /// `disconnect(sender, nullptr, receiver, nullptr)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_signals::Signal;
    ///
    /// let (a, b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    /// let signal = Signal::<i32>::new();
    /// let _c1 = signal.connect_to(&a, |a, n| a.set(a.get() + n));
    /// let _c2 = signal.connect_to(&a, |a, n| a.set(a.get() + 10 * n));
    /// let _c3 = signal.connect_to(&b, |b, n| b.set(b.get() + n));
    /// assert_eq!(signal.disconnect_receiver(&a), 2);
    /// signal.emit(&1);
    /// assert_eq!((a.get(), b.get()), (0, 1));
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        let identity = receiver.identity();
        self.list
            .get()
            .map_or(0, |list| list.disconnect_receiver(identity))
    }

    /// The connection list, once a connection was made (tests inspect it).
    #[cfg(test)]
    pub(crate) fn slot_list(&self) -> Option<&SlotList<T>> {
        self.list.get().map(|list| &**list)
    }

    fn list(&self) -> &Rc<SlotList<T>> {
        self.list.get_or_init(|| Rc::new(SlotList::new()))
    }

    fn push(
        &self,
        key: SlotKey,
        options: ConnectOptions,
        slot: SlotFn<T>,
    ) -> Result<Connection, ConnectError> {
        let list = self.list();
        let id = list
            .push(key, options.unique, options.single_shot, slot)
            .ok_or(ConnectError::AlreadyConnected)?;
        let weak = Rc::downgrade(list);
        Ok(Connection::new(weak, id))
    }
}

fn key_of<F: 'static>(receiver: usize) -> SlotKey {
    SlotKey {
        receiver,
        slot: TypeId::of::<F>(),
    }
}

/// Wraps a receiver-bound slot: it runs while the receiver lives.
fn bind_receiver<C, T, F>(receiver: &C, mut slot: F) -> SlotFn<T>
where
    C: Receiver,
    T: 'static,
    F: FnMut(&C, &T) + 'static,
{
    Box::new(Bound::new(receiver, move |receiver: &C, args: &T| {
        slot(receiver, args);
        true
    }))
}

/// A slot bound to a receiver, held weakly: it runs while the receiver
/// lives, and says who the receiver is (for `disconnect_receiver`).
struct Bound<C: Receiver, F> {
    receiver: C::Weak,
    slot: F,
}

impl<C: Receiver, F> Bound<C, F> {
    fn new(receiver: &C, slot: F) -> Self {
        Bound {
            receiver: receiver.downgrade(),
            slot,
        }
    }
}

impl<C: Receiver, T, F: FnMut(&C, &T) -> bool> Slot<T> for Bound<C, F> {
    fn call(&mut self, args: &T) -> bool {
        match C::upgrade(&self.receiver) {
            Some(receiver) => (self.slot)(&receiver, args),
            None => false,
        }
    }

    fn receiver(&self) -> Option<usize> {
        C::upgrade(&self.receiver).map(|r| r.identity())
    }
}

/// A slot without receiver, for the current thread.
fn local_slot<T, F>(kind: ConnectionType, mut slot: F) -> Result<SlotFn<T>, ConnectError>
where
    T: Clone + 'static,
    F: FnMut(&T) + 'static,
{
    Ok(match kind {
        ConnectionType::Auto | ConnectionType::Direct => slot_fn(move |args: &T| {
            slot(args);
            true
        }),
        ConnectionType::Queued => slot_fn(local_queued(None, slot)),
        ConnectionType::BlockingQueued => return Err(ConnectError::WouldDeadlock),
    })
}

/// Returns an emission handler that posts each call to this thread's loop,
/// on behalf of `receiver` (its identity) if the slot has one.
fn local_queued<T, F>(receiver: Option<usize>, slot: F) -> impl FnMut(&T) -> bool
where
    T: Clone + 'static,
    F: FnMut(&T) + 'static,
{
    let shared = Rc::new(LocalSerial::new(slot));
    move |args: &T| {
        let shared = Rc::clone(&shared);
        let args = args.clone();
        let call: local_queue::LocalCall = Box::new(move || shared.call(args));
        match receiver {
            Some(receiver) => local_queue::post_local_for(receiver, call),
            None => local_queue::post_local(call),
        }
        true
    }
}

/// A `Send` slot delivered to `target`'s loop according to `kind`.
fn loop_slot<Q, T, F>(target: Q, kind: ConnectionType, slot: F) -> SlotFn<T>
where
    Q: ThreadQueue,
    T: Clone + Send + 'static,
    F: FnMut(&T) + Send + 'static,
{
    let shared = Arc::new(SendSerial::new(slot));
    slot_fn(move |args: &T| {
        let queued = match kind {
            ConnectionType::Direct => false,
            ConnectionType::Auto => !target.is_current_thread(),
            ConnectionType::Queued | ConnectionType::BlockingQueued => true,
        };
        if !queued {
            shared.call(args.clone());
            return true;
        }
        let shared = Arc::clone(&shared);
        let args = args.clone();
        if kind != ConnectionType::BlockingQueued {
            return target.post(Box::new(move || shared.call(args))).is_ok();
        }
        if target.is_current_thread() {
            log::warn!("blocking-queued emission on the target loop's own thread: not delivered");
            return true;
        }
        // The sender half is dropped when the call runs or is dropped unrun
        // (loop gone), so `recv` never waits forever.
        let (done, wait) = mpsc::sync_channel::<()>(1);
        let posted = target.post(Box::new(move || {
            shared.call(args);
            let _ = done.send(());
        }));
        let _ = wait.recv();
        posted.is_ok()
    })
}

impl<T: 'static> Default for Signal<T> {
    fn default() -> Self {
        Signal::new()
    }
}

impl<T: 'static> Drop for Signal<T> {
    fn drop(&mut self) {
        if let Some(list) = self.list.get() {
            list.disconnect_all();
        }
    }
}

impl<T: 'static> fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("receivers", &self.receivers())
            .field("blocked", &self.signals_blocked())
            .finish()
    }
}
