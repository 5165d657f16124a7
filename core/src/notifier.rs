//! `SocketNotifier` (Qt: `QSocketNotifier`): readiness of a raw fd.
//!
//! mio is edge-triggered; Qt's notifiers are level-triggered. After each
//! activation the fd is re-registered, which makes epoll re-check it: if
//! data is still unread the notifier fires again on the next pass, exactly
//! as Qt's does, and once it is read the notifier goes quiet.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::rc::{Rc, Weak};

use mio::unix::SourceFd;
use mio::Interest;
use sigloop_signals::{Receiver, Signal};

use crate::io::{IoHandler, IoRegistration, Readiness};
use crate::object::{Handle, Lifecycle, Object};

/// What a [`SocketNotifier`] watches for.
///
/// Qt: `QSocketNotifier::Type`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_core::NotifierKind;
/// assert_eq!(NotifierKind::Write as u8, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifierKind {
    /// Data to read, end of file, or an error. Qt: `QSocketNotifier::Read`.
    Read = 0,
    /// Room to write, or an error. Qt: `QSocketNotifier::Write`.
    Write = 1,
    /// Out-of-band (priority) data. Qt: `QSocketNotifier::Exception`.
    Exception = 2,
}

impl NotifierKind {
    fn index(self) -> usize {
        self as usize
    }

    fn fires_on(self, readiness: Readiness) -> bool {
        match self {
            NotifierKind::Read => {
                readiness.is_readable() || readiness.is_read_closed() || readiness.is_error()
            }
            NotifierKind::Write => {
                readiness.is_writable() || readiness.is_write_closed() || readiness.is_error()
            }
            NotifierKind::Exception => readiness.is_priority(),
        }
    }

    fn interest(self) -> Interest {
        match self {
            NotifierKind::Read => Interest::READABLE,
            NotifierKind::Write => Interest::WRITABLE,
            NotifierKind::Exception => Interest::PRIORITY,
        }
    }
}

/// Watches a file descriptor the application owns and emits
/// [`activated`](Self::activated) while it is ready.
///
/// The notifier is level-triggered, like Qt's: a read notifier fires on
/// every pass while unread data remains. Disable it while you cannot
/// consume, as `QAbstractSocket` does. One fd may have one notifier of each
/// kind. The notifier does not own or close the fd; drop or disable the
/// notifier before closing it.
///
/// Qt: `QSocketNotifier`.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use sigloop_core::{EventDispatcher, NotifierKind, SocketNotifier};
///
/// let (mut a, b) = UnixStream::pair()?;
/// b.set_nonblocking(true)?;
/// let notifier = SocketNotifier::new(b.as_raw_fd(), NotifierKind::Read)?;
/// let _c = notifier.activated().connect(move |_| {
///     let mut buf = [0u8; 16];
///     let n = (&b).read(&mut buf).unwrap();
///     EventDispatcher::exit(n as i32);
/// });
/// a.write_all(b"hello")?;
/// assert_eq!(EventDispatcher::exec(), 5);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SocketNotifier {
    inner: Handle<NotifierInner>,
}

/// A weak handle to a [`SocketNotifier`].
///
/// # Examples
///
/// ```
/// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
/// use std::os::fd::AsRawFd;
/// use sigloop_core::{NotifierKind, SocketNotifier};
/// let notifier = SocketNotifier::new(b.as_raw_fd(), NotifierKind::Read)?;
/// assert!(notifier.downgrade().upgrade().is_some());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct WeakSocketNotifier(Weak<NotifierInner>);

struct NotifierInner {
    fd: RawFd,
    kind: NotifierKind,
    enabled: Cell<bool>,
    watch: Rc<FdWatch>,
    activated: Signal<(RawFd, NotifierKind)>,
    /// Deletion state; also counts the application handles, the last one
    /// going is Qt's `delete`.
    life: Lifecycle,
}

/// The registration of one fd, shared by its notifiers of each kind.
struct FdWatch {
    fd: RawFd,
    registration: RefCell<Option<IoRegistration>>,
    notifiers: [RefCell<Weak<NotifierInner>>; 3],
}

thread_local! {
    static WATCHES: RefCell<HashMap<RawFd, Weak<FdWatch>>> = RefCell::new(HashMap::new());
}

impl SocketNotifier {
    /// Watches `fd` for `kind`, enabled.
    ///
    /// Qt: `QSocketNotifier::QSocketNotifier(socket, type)`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative fd; `AlreadyExists` if this thread has
    /// a notifier of the same kind on `fd` (Qt warns "Multiple socket
    /// notifiers for same socket"); what epoll says otherwise (`EPERM` for
    /// a regular file, `EBADF` for a closed fd).
    pub fn new(fd: RawFd, kind: NotifierKind) -> io::Result<Self> {
        if fd < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("SocketNotifier: invalid socket descriptor {fd}"),
            ));
        }
        let watch = FdWatch::for_fd(fd);
        if watch.notifiers[kind.index()].borrow().upgrade().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("SocketNotifier: multiple socket notifiers for fd {fd} and {kind:?}"),
            ));
        }
        let inner = Rc::new(NotifierInner {
            fd,
            kind,
            enabled: Cell::new(true),
            watch: watch.clone(),
            activated: Signal::new(),
            life: Lifecycle::new(),
        });
        *watch.notifiers[kind.index()].borrow_mut() = Rc::downgrade(&inner);
        if let Err(err) = watch.update() {
            *watch.notifiers[kind.index()].borrow_mut() = Weak::new();
            return Err(err);
        }
        Ok(SocketNotifier::from_inner(inner))
    }

    /// Emitted with the fd and kind when the fd is ready.
    /// Qt: `QSocketNotifier::activated(QSocketDescriptor, Type)`.
    ///
    /// # Examples
    ///
    /// See [`SocketNotifier`].
    pub fn activated(&self) -> &Signal<(RawFd, NotifierKind)> {
        &self.inner.activated
    }

    /// Emitted when deleted with [`delete_later`](Self::delete_later).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// # let n = sigloop_core::SocketNotifier::new(b.as_raw_fd(), sigloop_core::NotifierKind::Read)?;
    /// let _c = n.destroyed().connect(|_| println!("gone"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.inner.life.destroyed()
    }

    /// The watched fd. Qt: `QSocketNotifier::socket()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// let n = sigloop_core::SocketNotifier::new(b.as_raw_fd(), sigloop_core::NotifierKind::Write)?;
    /// assert_eq!(n.socket(), b.as_raw_fd());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn socket(&self) -> RawFd {
        self.inner.fd
    }

    /// The kind. Qt: `QSocketNotifier::type()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// use sigloop_core::{NotifierKind, SocketNotifier};
    /// let n = SocketNotifier::new(b.as_raw_fd(), NotifierKind::Write)?;
    /// assert_eq!(n.kind(), NotifierKind::Write);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> NotifierKind {
        self.inner.kind
    }

    /// Whether it fires. Qt: `QSocketNotifier::isEnabled()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// let n = sigloop_core::SocketNotifier::new(b.as_raw_fd(), sigloop_core::NotifierKind::Read)?;
    /// assert!(n.is_enabled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.get()
    }

    /// Enables or disables it. Enabling re-checks the fd, so a notifier
    /// enabled on an fd that is ready fires on the next pass.
    /// Qt: `QSocketNotifier::setEnabled()`.
    ///
    /// # Errors
    ///
    /// What epoll returns when (de)registering, for instance `EBADF` once
    /// the fd was closed. A deleted notifier stays disabled.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// let n = sigloop_core::SocketNotifier::new(b.as_raw_fd(), sigloop_core::NotifierKind::Read)?;
    /// n.set_enabled(false)?;
    /// assert!(!n.is_enabled());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_enabled(&self, enabled: bool) -> io::Result<()> {
        let enabled = enabled && !self.inner.life.is_deleted();
        if self.inner.enabled.replace(enabled) == enabled {
            return Ok(());
        }
        self.inner.watch.update()
    }

    /// Deletes it at the loop level this is called from: it stops
    /// watching, emits [`destroyed`](Self::destroyed) and drops its
    /// connections. Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// use sigloop_core::{EventDispatcher, NotifierKind, SocketNotifier};
    /// let n = SocketNotifier::new(b.as_raw_fd(), NotifierKind::Read)?;
    /// n.delete_later();
    /// EventDispatcher::post(EventDispatcher::quit);
    /// EventDispatcher::exec();
    /// assert!(n.is_deleted());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn delete_later(&self) {
        let notifier = self.clone();
        self.inner.life.delete_later(move || notifier.delete_now());
    }

    /// Whether it was deleted with [`delete_later`](Self::delete_later).
    ///
    /// # Examples
    ///
    /// ```
    /// # let (_a, b) = std::os::unix::net::UnixStream::pair()?;
    /// # use std::os::fd::AsRawFd;
    /// let n = sigloop_core::SocketNotifier::new(b.as_raw_fd(), sigloop_core::NotifierKind::Read)?;
    /// assert!(!n.is_deleted());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.inner.life.is_deleted()
    }

    fn delete_now(&self) {
        self.inner.delete_now();
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakSocketNotifier`].
    pub fn downgrade(&self) -> WeakSocketNotifier {
        WeakSocketNotifier(self.inner.downgrade())
    }
}

impl SocketNotifier {
    fn from_inner(inner: Rc<NotifierInner>) -> Self {
        SocketNotifier {
            inner: Handle::new(inner),
        }
    }
}

/// Cloning counts one more handle; dropping the last one destroys the
/// notifier as Qt's `delete` does : it stops watching,
/// emits `destroyed` and drops its connections.
impl Clone for SocketNotifier {
    fn clone(&self) -> Self {
        SocketNotifier {
            inner: self.inner.clone(),
        }
    }
}

impl Object for NotifierInner {
    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    fn delete_now(&self) {
        if self.life.begin_delete() {
            // As `set_enabled(false)`: stop watching.
            if self.enabled.replace(false) {
                let _ = self.watch.update();
            }
            self.life.finish();
            self.activated.disconnect_all();
        }
    }
}

impl WeakSocketNotifier {
    /// The notifier, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakSocketNotifier`].
    pub fn upgrade(&self) -> Option<SocketNotifier> {
        Handle::upgrade(&self.0).map(|inner| SocketNotifier { inner })
    }
}

impl Receiver for SocketNotifier {
    type Weak = WeakSocketNotifier;

    fn downgrade(&self) -> WeakSocketNotifier {
        SocketNotifier::downgrade(self)
    }

    fn upgrade(weak: &WeakSocketNotifier) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        self.inner.as_ptr() as usize
    }
}

impl FdWatch {
    fn for_fd(fd: RawFd) -> Rc<FdWatch> {
        WATCHES.with(|watches| {
            let mut watches = watches.borrow_mut();
            if let Some(watch) = watches.get(&fd).and_then(Weak::upgrade) {
                return watch;
            }
            let watch = Rc::new(FdWatch {
                fd,
                registration: RefCell::new(None),
                notifiers: Default::default(),
            });
            watches.insert(fd, Rc::downgrade(&watch));
            watch
        })
    }

    fn enabled(&self) -> Vec<Rc<NotifierInner>> {
        self.notifiers
            .iter()
            .filter_map(|n| n.borrow().upgrade())
            .filter(|n| n.enabled.get())
            .collect()
    }

    /// Registers, re-registers (re-arming the edge) or deregisters the fd
    /// for the union of the enabled notifiers' interests.
    fn update(self: &Rc<Self>) -> io::Result<()> {
        let interest = self
            .enabled()
            .iter()
            .map(|n| n.kind.interest())
            .reduce(|a, b| a | b);
        let mut registration = self.registration.borrow_mut();
        let mut source = SourceFd(&self.fd);
        match (interest, registration.as_ref()) {
            (Some(interest), Some(reg)) => reg.reregister(&mut source, interest),
            (Some(interest), None) => {
                let handler: Weak<dyn IoHandler> = Rc::downgrade(self) as Weak<dyn IoHandler>;
                *registration = Some(IoRegistration::register(&mut source, interest, handler)?);
                Ok(())
            }
            (None, Some(_)) => match registration.take() {
                Some(reg) => reg.deregister(&mut source),
                None => Ok(()),
            },
            (None, None) => Ok(()),
        }
    }
}

impl IoHandler for FdWatch {
    fn ready(&self, readiness: Readiness) {
        /// Level-triggered: re-arms so a still-ready fd is reported again,
        /// also when a slot panics (the fd would otherwise go quiet).
        struct Rearm<'a>(&'a FdWatch);
        impl Drop for Rearm<'_> {
            fn drop(&mut self) {
                if let Some(watch) = self.0.self_rc() {
                    if let Err(err) = watch.update() {
                        log::debug!("SocketNotifier: re-arming fd {} failed: {err}", self.0.fd);
                    }
                }
            }
        }
        let _rearm = Rearm(self);
        for notifier in self.enabled() {
            // Each notifier is re-checked: an earlier slot may have
            // disabled or deleted it.
            if notifier.enabled.get() && notifier.kind.fires_on(readiness) {
                notifier.activated.emit(&(notifier.fd, notifier.kind));
            }
        }
    }
}

impl FdWatch {
    fn self_rc(&self) -> Option<Rc<FdWatch>> {
        WATCHES.with(|watches| watches.borrow().get(&self.fd).and_then(Weak::upgrade))
    }
}

impl Drop for NotifierInner {
    fn drop(&mut self) {
        self.enabled.set(false);
        let kind = self.kind.index();
        *self.watch.notifiers[kind].borrow_mut() = Weak::new();
        if let Err(err) = self.watch.update() {
            log::debug!("SocketNotifier: deregistering fd {} failed: {err}", self.fd);
        }
    }
}

impl Drop for FdWatch {
    fn drop(&mut self) {
        let fd = self.fd;
        let _ = WATCHES.try_with(|watches| {
            if let Ok(mut watches) = watches.try_borrow_mut() {
                if watches.get(&fd).is_some_and(|w| w.strong_count() == 0) {
                    watches.remove(&fd);
                }
            }
        });
    }
}

impl fmt::Debug for SocketNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketNotifier")
            .field("fd", &self.inner.fd)
            .field("kind", &self.inner.kind)
            .field("enabled", &self.inner.enabled.get())
            .finish()
    }
}

impl fmt::Debug for WeakSocketNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSocketNotifier")
    }
}
