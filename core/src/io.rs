//! Readiness dispatch for anything registered with the loop's `mio::Poll`.
//!
//! Sockets and socket notifiers register a mio source together with a weak
//! [`IoHandler`]; the loop calls the handler with the [`Readiness`] mio
//! reported. Tokens carry a slab index and a generation, so an event that
//! arrives for a slot freed and reused in the same poll is dropped.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::ops::BitOr;
use std::rc::{Rc, Weak};

use mio::event::Source;
use mio::{Interest, Token};

use crate::dispatcher::{self, Inner};

/// Receives readiness for a registered source.
///
/// Implemented by socket objects (in `sigloop-net`) and
/// [`SocketNotifier`](crate::SocketNotifier). The loop holds it weakly: a
/// dropped object is simply not called.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use sigloop_core::__private::{IoHandler, Readiness};
///
/// struct Log;
/// impl IoHandler for Log {
///     fn ready(&self, readiness: Readiness) {
///         println!("readable: {}", readiness.is_readable());
///     }
/// }
/// let handler: Rc<dyn IoHandler> = Rc::new(Log);
/// handler.ready(Readiness::READABLE);
/// ```
pub trait IoHandler {
    /// Called from the loop when the source became ready. mio is
    /// edge-triggered: the handler must consume until `WouldBlock`, or
    /// re-register, or it will not hear of the same readiness again.
    fn ready(&self, readiness: Readiness);
}

/// What a source is ready for, as reported by mio.
///
/// # Examples
///
/// ```
/// use sigloop_core::__private::Readiness;
/// let r = Readiness::READABLE | Readiness::READ_CLOSED;
/// assert!(r.is_readable() && r.is_read_closed() && !r.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness(u8);

impl Readiness {
    /// Data (or a connection) can be read.
    pub const READABLE: Self = Readiness(1);
    /// Data can be written.
    pub const WRITABLE: Self = Readiness(2);
    /// The peer closed its writing side (EOF follows the buffered data).
    pub const READ_CLOSED: Self = Readiness(4);
    /// The writing side is closed.
    pub const WRITE_CLOSED: Self = Readiness(8);
    /// The source has an error pending.
    pub const ERROR: Self = Readiness(16);
    /// Out-of-band or priority data (`EPOLLPRI`).
    pub const PRIORITY: Self = Readiness(32);

    pub(crate) fn from_event(event: &mio::event::Event) -> Self {
        let flags = [
            (event.is_readable(), Self::READABLE),
            (event.is_writable(), Self::WRITABLE),
            (event.is_read_closed(), Self::READ_CLOSED),
            (event.is_write_closed(), Self::WRITE_CLOSED),
            (event.is_error(), Self::ERROR),
            (event.is_priority(), Self::PRIORITY),
        ];
        flags
            .iter()
            .filter(|(set, _)| *set)
            .fold(Readiness(0), |acc, (_, flag)| acc | *flag)
    }

    fn has(self, flag: Self) -> bool {
        self.0 & flag.0 != 0
    }

    /// Readable. See [`READABLE`](Self::READABLE).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::__private::Readiness::READABLE.is_readable());
    /// ```
    pub fn is_readable(self) -> bool {
        self.has(Self::READABLE)
    }

    /// Writable. See [`WRITABLE`](Self::WRITABLE).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::__private::Readiness::WRITABLE.is_writable());
    /// ```
    pub fn is_writable(self) -> bool {
        self.has(Self::WRITABLE)
    }

    /// Read side closed. See [`READ_CLOSED`](Self::READ_CLOSED).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::__private::Readiness::READ_CLOSED.is_read_closed());
    /// ```
    pub fn is_read_closed(self) -> bool {
        self.has(Self::READ_CLOSED)
    }

    /// Write side closed. See [`WRITE_CLOSED`](Self::WRITE_CLOSED).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::__private::Readiness::WRITE_CLOSED.is_write_closed());
    /// ```
    pub fn is_write_closed(self) -> bool {
        self.has(Self::WRITE_CLOSED)
    }

    /// Error pending. See [`ERROR`](Self::ERROR).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::__private::Readiness::ERROR.is_error());
    /// ```
    pub fn is_error(self) -> bool {
        self.has(Self::ERROR)
    }

    /// Priority data. See [`PRIORITY`](Self::PRIORITY).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::__private::Readiness::PRIORITY.is_priority());
    /// ```
    pub fn is_priority(self) -> bool {
        self.has(Self::PRIORITY)
    }
}

impl BitOr for Readiness {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Readiness(self.0 | rhs.0)
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::READABLE, "READABLE"),
            (Self::WRITABLE, "WRITABLE"),
            (Self::READ_CLOSED, "READ_CLOSED"),
            (Self::WRITE_CLOSED, "WRITE_CLOSED"),
            (Self::ERROR, "ERROR"),
            (Self::PRIORITY, "PRIORITY"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(flag, _)| self.has(*flag))
            .map(|(_, name)| *name)
            .collect();
        write!(f, "Readiness({})", set.join(" | "))
    }
}

/// A source registered with the current thread's loop.
///
/// Dropping it forgets the handler; the source itself must be deregistered
/// (or closed, which removes it from epoll) by its owner.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use sigloop_core::__private::{IoHandler, IoRegistration, Readiness};
///
/// struct Quiet;
/// impl IoHandler for Quiet {
///     fn ready(&self, _: Readiness) {}
/// }
/// let handler: Rc<dyn IoHandler> = Rc::new(Quiet);
/// let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let reg = IoRegistration::register(&mut listener, mio::Interest::READABLE, Rc::downgrade(&handler))?;
/// reg.deregister(&mut listener)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct IoRegistration {
    /// The loop's token plus one: `Option<IoRegistration>` is then eight
    /// bytes, not sixteen, in every socket.
    token: NonZeroUsize,
    /// Tokens are per loop and repeat across threads: dropped on another
    /// thread, a registration would forget a stranger's source there.
    _thread_bound: PhantomData<Rc<()>>,
}

impl IoRegistration {
    /// Registers `source` with the current thread's loop; readiness goes to
    /// `handler` from the loop.
    ///
    /// # Errors
    ///
    /// What `mio::Registry::register` returns (for instance `EEXIST` if the
    /// fd is already registered).
    pub fn register(
        source: &mut impl Source,
        interest: Interest,
        handler: Weak<dyn IoHandler>,
    ) -> io::Result<Self> {
        dispatcher::with_current(|inner| {
            let Some(token) = inner.io_insert(handler) else {
                return Err(io::Error::other("IoRegistration: out of tokens"));
            };
            let Some(stored) = token.0.checked_add(1).and_then(NonZeroUsize::new) else {
                inner.io_remove(token);
                return Err(io::Error::other("IoRegistration: out of tokens"));
            };
            match inner.registry().register(source, token, interest) {
                Ok(()) => Ok(IoRegistration {
                    token: stored,
                    _thread_bound: PhantomData,
                }),
                Err(err) => {
                    inner.io_remove(token);
                    Err(err)
                }
            }
        })
    }

    /// Changes the interest. Re-registering also re-arms mio's edge: if the
    /// source is ready now, the loop reports it again.
    ///
    /// # Errors
    ///
    /// What `mio::Registry::reregister` returns; `NotConnected` once the
    /// thread's loop is gone (while the thread exits).
    ///
    /// # Examples
    ///
    /// See [`IoRegistration`]; call it with the same source.
    pub fn reregister(&self, source: &mut impl Source, interest: Interest) -> io::Result<()> {
        // Not `with_current`: this also runs from destructors while the
        // thread's loop is being torn down (objects owned by calls that
        // never ran), where touching the loop's thread-local would panic
        // inside a TLS destructor and abort the process.
        dispatcher::try_with_current(|inner| {
            inner.registry().reregister(source, self.token(), interest)
        })
        .unwrap_or_else(|| {
            Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "IoRegistration: the event loop is gone",
            ))
        })
    }

    /// Removes `source` from the loop and forgets the handler.
    ///
    /// Once the thread's loop is gone (while the thread exits) there is
    /// nothing to remove it from, and this succeeds.
    ///
    /// # Errors
    ///
    /// What `mio::Registry::deregister` returns; the handler is forgotten
    /// either way.
    ///
    /// # Examples
    ///
    /// See [`IoRegistration`].
    pub fn deregister(self, source: &mut impl Source) -> io::Result<()> {
        dispatcher::try_with_current(|inner| inner.registry().deregister(source)).unwrap_or(Ok(()))
    }
}

impl IoRegistration {
    fn token(&self) -> Token {
        Token(self.token.get() - 1)
    }
}

impl Drop for IoRegistration {
    fn drop(&mut self) {
        let token = self.token();
        dispatcher::try_with_current(|inner: &Inner| inner.io_remove(token));
    }
}

impl fmt::Debug for IoRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoRegistration")
            .field("token", &self.token().0)
            .finish()
    }
}
