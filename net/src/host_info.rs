//! `HostInfo` (Qt: `QHostInfo`): host name lookups, blocking or delivered
//! through the calling thread's event loop.
//!
//! Asynchronous lookups run on a small resolver pool shared by the
//! process: a few threads (`RESOLVER_THREADS`), started on the first lookup and
//! fed through a channel. Each runs the system resolver (`getaddrinfo`,
//! through [`std::net::ToSocketAddrs`]) and posts the result, which is
//! `Send`, to the loop of the thread that asked; there the callback, which
//! need not be `Send`, is taken from a thread-local table by lookup id and
//! called. Aborting removes the callback, so a late result is dropped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use crossbeam_channel::{Receiver, Sender};
use sigloop_core::{EventDispatcher, LoopHandle};

use crate::host_address::HostAddress;

/// How many threads the shared resolver pool runs (Qt uses a thread pool
/// of up to 20).
pub(crate) const RESOLVER_THREADS: usize = 4;

/// Qt's error texts.
const UNKNOWN_ERROR: &str = "Unknown error";
const HOST_NOT_FOUND: &str = "Host not found";
const NO_HOST_NAME: &str = "No host name given";
const INVALID_HOST_NAME: &str = "Invalid hostname";

/// What went wrong in a lookup.
///
/// Qt: `QHostInfo::HostInfoError`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostInfo, HostInfoError};
///
/// assert_eq!(HostInfo::new().error(), HostInfoError::NoError);
/// assert_eq!(HostInfoError::HostNotFound as i32, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HostInfoError {
    /// The lookup succeeded. Qt: `QHostInfo::NoError`.
    #[default]
    NoError = 0,
    /// No addresses were found for the host (or no name was given).
    /// Qt: `QHostInfo::HostNotFound`.
    HostNotFound = 1,
    /// Any other failure; [`HostInfo::error_string`] has the resolver's
    /// text. Qt: `QHostInfo::UnknownError`.
    UnknownError = 2,
}

/// The id of an asynchronous lookup, for
/// [`HostInfo::abort_host_lookup`] and [`HostInfo::lookup_id`].
///
/// Ids start at 1 and increase; `-1` means "no lookup" (a [`HostInfo`]
/// made by hand or by [`HostInfo::from_name`]).
///
/// Qt: the `int` returned by `QHostInfo::lookupHost()`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostInfo, LookupId};
///
/// assert_eq!(HostInfo::new().lookup_id(), LookupId::NONE);
/// assert_eq!(LookupId::NONE.as_i32(), -1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(i32);

impl LookupId {
    /// No lookup: Qt's `-1`.
    pub const NONE: LookupId = LookupId(-1);

    /// The id as Qt's `int`.
    ///
    /// # Examples
    ///
    /// ```
    /// let id = sigloop_net::HostInfo::lookup_host("127.0.0.1", |_| {});
    /// assert!(id.as_i32() > 0);
    /// ```
    pub const fn as_i32(self) -> i32 {
        self.0
    }

    /// The id with Qt's `int` value `id`. Tests only: an id is meaningful
    /// only as a lookup returned it, and a made-up one could abort a
    /// stranger's lookup.
    #[cfg(test)]
    pub(crate) const fn from_i32(id: i32) -> Self {
        LookupId(id)
    }
}

impl fmt::Display for LookupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The result of a host name lookup: the name, its addresses, and the
/// error, if any.
///
/// Look names up with [`lookup_host`](Self::lookup_host) (asynchronous,
/// the result arrives through the calling thread's event loop) or
/// [`from_name`](Self::from_name) (blocking). Addresses keep the
/// resolver's order, without duplicates.
///
/// Differences from Qt: an IP literal is not reverse-looked-up (Qt calls
/// `getnameinfo`); [`host_name`](Self::host_name) is then the address as
/// [`HostAddress`] prints it, which is what Qt reports when the reverse
/// lookup finds no name. There is no result cache and no IDNA conversion.
/// Names in the special-use `.invalid` domain are answered
/// [`HostNotFound`](HostInfoError::HostNotFound) without asking DNS, as
/// RFC 6761 §6.4 recommends.
///
/// Qt: `QHostInfo`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostInfo, HostInfoError};
///
/// let info = HostInfo::from_name("localhost");
/// assert_eq!(info.error(), HostInfoError::NoError);
/// assert!(info.addresses().iter().all(|a| a.is_loopback()));
///
/// let info = HostInfo::from_name("nonexistent.invalid");
/// assert_eq!(info.error(), HostInfoError::HostNotFound);
/// assert_eq!(info.error_string(), "Host not found");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    host_name: String,
    addresses: Vec<HostAddress>,
    error: HostInfoError,
    error_string: String,
    lookup_id: LookupId,
}

impl Default for HostInfo {
    fn default() -> Self {
        HostInfo::new()
    }
}

impl HostInfo {
    /// An empty result: no name, no addresses, [`HostInfoError::NoError`],
    /// error string `"Unknown error"`, lookup id [`LookupId::NONE`].
    ///
    /// Qt: `QHostInfo::QHostInfo(int id = -1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let info = sigloop_net::HostInfo::new();
    /// assert_eq!(info.host_name(), "");
    /// assert!(info.addresses().is_empty());
    /// assert_eq!(info.error_string(), "Unknown error");
    /// ```
    pub fn new() -> Self {
        HostInfo {
            host_name: String::new(),
            addresses: Vec::new(),
            error: HostInfoError::NoError,
            error_string: UNKNOWN_ERROR.to_owned(),
            lookup_id: LookupId::NONE,
        }
    }

    fn failed(mut self, error: HostInfoError, text: &str) -> Self {
        self.error = error;
        self.error_string = text.to_owned();
        self
    }

    /// The name that was looked up.
    ///
    /// Qt: `QHostInfo::hostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let info = sigloop_net::HostInfo::from_name("localhost");
    /// assert_eq!(info.host_name(), "localhost");
    /// ```
    pub fn host_name(&self) -> &str {
        &self.host_name
    }

    /// Sets the host name.
    ///
    /// Qt: `QHostInfo::setHostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut info = sigloop_net::HostInfo::new();
    /// info.set_host_name("example");
    /// assert_eq!(info.host_name(), "example");
    /// ```
    pub fn set_host_name(&mut self, name: impl Into<String>) {
        self.host_name = name.into();
    }

    /// The addresses found, in the resolver's order; empty on failure.
    ///
    /// Qt: `QHostInfo::addresses()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let info = sigloop_net::HostInfo::from_name("127.0.0.1");
    /// assert_eq!(info.addresses()[0].to_string(), "127.0.0.1");
    /// ```
    pub fn addresses(&self) -> &[HostAddress] {
        &self.addresses
    }

    /// Sets the addresses.
    ///
    /// Qt: `QHostInfo::setAddresses()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, HostInfo, SpecialAddress};
    ///
    /// let mut info = HostInfo::new();
    /// info.set_addresses(vec![HostAddress::from(SpecialAddress::LocalHost)]);
    /// assert_eq!(info.addresses().len(), 1);
    /// ```
    pub fn set_addresses(&mut self, addresses: Vec<HostAddress>) {
        self.addresses = addresses;
    }

    /// The error of the lookup, [`HostInfoError::NoError`] on success.
    ///
    /// Qt: `QHostInfo::error()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostInfo, HostInfoError};
    /// assert_eq!(HostInfo::from_name("").error(), HostInfoError::HostNotFound);
    /// ```
    pub fn error(&self) -> HostInfoError {
        self.error
    }

    /// Sets the error.
    ///
    /// Qt: `QHostInfo::setError()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostInfo, HostInfoError};
    /// let mut info = HostInfo::new();
    /// info.set_error(HostInfoError::UnknownError);
    /// assert_eq!(info.error(), HostInfoError::UnknownError);
    /// ```
    pub fn set_error(&mut self, error: HostInfoError) {
        self.error = error;
    }

    /// A human-readable description of the error: `"Host not found"`,
    /// `"No host name given"`, `"Invalid hostname"`, or the resolver's own
    /// text for [`HostInfoError::UnknownError`]. After a successful lookup
    /// it is `"Unknown error"`, as in Qt.
    ///
    /// Qt: `QHostInfo::errorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let info = sigloop_net::HostInfo::from_name("");
    /// assert_eq!(info.error_string(), "No host name given");
    /// ```
    pub fn error_string(&self) -> &str {
        &self.error_string
    }

    /// Sets the error description.
    ///
    /// Qt: `QHostInfo::setErrorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut info = sigloop_net::HostInfo::new();
    /// info.set_error_string("custom");
    /// assert_eq!(info.error_string(), "custom");
    /// ```
    pub fn set_error_string(&mut self, text: impl Into<String>) {
        self.error_string = text.into();
    }

    /// The id of the lookup that produced this result
    /// ([`LookupId::NONE`] for [`from_name`](Self::from_name)).
    ///
    /// Qt: `QHostInfo::lookupId()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sigloop_core::EventDispatcher;
    /// use sigloop_net::HostInfo;
    ///
    /// let seen = Rc::new(Cell::new(None));
    /// let s = seen.clone();
    /// let id = HostInfo::lookup_host("::1", move |info| {
    ///     s.set(Some(info.lookup_id()));
    ///     EventDispatcher::quit();
    /// });
    /// EventDispatcher::exec();
    /// assert_eq!(seen.get(), Some(id));
    /// ```
    pub fn lookup_id(&self) -> LookupId {
        self.lookup_id
    }

    /// Sets the lookup id.
    ///
    /// Qt: `QHostInfo::setLookupId()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostInfo, LookupId};
    /// let id = HostInfo::lookup_host("127.0.0.1", |_| {});
    /// let mut info = HostInfo::new();
    /// info.set_lookup_id(id);
    /// assert_eq!(info.lookup_id(), id);
    /// info.set_lookup_id(LookupId::NONE);
    /// assert_eq!(info.lookup_id().as_i32(), -1);
    /// ```
    pub fn set_lookup_id(&mut self, id: LookupId) {
        self.lookup_id = id;
    }

    /// Looks `name` up asynchronously and returns the lookup's id.
    ///
    /// `on_result` runs later on the calling thread, from its event loop
    /// (which must be run, e.g. with [`EventDispatcher::exec`]), with the
    /// result — never from inside this call, even for an IP literal or an
    /// empty name, which are answered without asking the resolver. Names
    /// go to the shared resolver pool.
    /// [`abort_host_lookup`](Self::abort_host_lookup) cancels the
    /// callback.
    ///
    /// Qt: `QHostInfo::lookupHost(const QString &name, Functor functor)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// use sigloop_net::{HostInfo, HostInfoError};
    ///
    /// HostInfo::lookup_host("localhost", |info| {
    ///     assert_eq!(info.error(), HostInfoError::NoError);
    ///     assert!(info.addresses().iter().all(|a| a.is_loopback()));
    ///     EventDispatcher::quit();
    /// });
    /// EventDispatcher::exec();
    /// ```
    pub fn lookup_host(name: &str, on_result: impl FnOnce(&HostInfo) + 'static) -> LookupId {
        let id = next_id();
        let stale =
            CALLBACKS.with(|callbacks| callbacks.borrow_mut().insert(id, Box::new(on_result)));
        // An id reused after wrapping replaces a callback that was never
        // delivered: dropped here, outside the table's borrow.
        drop(stale);
        lock(in_flight()).insert(id, false);

        if let Some(info) = answer_locally(name) {
            EventDispatcher::post(move || deliver(id, Some(info)));
        } else {
            submit(Job {
                id,
                name: name.to_owned(),
                reply: EventDispatcher::handle(),
            });
        }
        LookupId(id)
    }

    /// Cancels the lookup `id`: its callback is dropped without being
    /// called, and a result still to come is ignored (a lookup not yet
    /// started is skipped). Unknown or finished ids are ignored. Works
    /// from any thread; called on the thread that started the lookup it
    /// drops the callback at once, elsewhere when the result would have
    /// been delivered.
    ///
    /// Qt: `QHostInfo::abortHostLookup()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_core::{EventDispatcher, Timer};
    /// use sigloop_net::HostInfo;
    ///
    /// let id = HostInfo::lookup_host("localhost", |_| panic!("aborted"));
    /// HostInfo::abort_host_lookup(id);
    /// Timer::single_shot(Duration::from_millis(50), EventDispatcher::quit);
    /// EventDispatcher::exec();
    /// ```
    pub fn abort_host_lookup(id: LookupId) {
        if let Some(aborted) = lock(in_flight()).get_mut(&id.0) {
            *aborted = true;
        }
        let callback = CALLBACKS
            .try_with(|callbacks| callbacks.borrow_mut().remove(&id.0))
            .ok()
            .flatten();
        // Dropped here, outside the table's borrow.
        drop(callback);
    }

    /// Looks `name` up and waits for the result. IP literals are answered
    /// without the resolver. The lookup id of the result is
    /// [`LookupId::NONE`].
    ///
    /// Qt: `QHostInfo::fromName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostInfo;
    ///
    /// let info = HostInfo::from_name("::ffff:10.0.0.1");
    /// assert_eq!(info.host_name(), "::ffff:10.0.0.1");
    /// assert_eq!(info.addresses().len(), 1);
    /// ```
    pub fn from_name(name: &str) -> HostInfo {
        answer_locally(name).unwrap_or_else(|| resolve(name))
    }

    /// This machine's host name (`/proc/sys/kernel/hostname`, else
    /// `/etc/hostname`), or `""` if neither can be read. It is not
    /// necessarily fully qualified.
    ///
    /// Qt: `QHostInfo::localHostName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = sigloop_net::HostInfo::local_host_name();
    /// assert_eq!(name, name.trim());
    /// ```
    pub fn local_host_name() -> String {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|text| text.trim().to_owned())
            .find(|name| !name.is_empty())
            .unwrap_or_default()
    }
}

/// The result for names that need no resolver: empty names, IP literals,
/// malformed names and the `.invalid` domain.
fn answer_locally(name: &str) -> Option<HostInfo> {
    let mut info = HostInfo::new();
    info.host_name = name.to_owned();
    if name.is_empty() {
        return Some(info.failed(HostInfoError::HostNotFound, NO_HOST_NAME));
    }
    if let Ok(address) = name.parse::<HostAddress>() {
        info.host_name = address.to_string();
        info.addresses = vec![address];
        return Some(info);
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(info.failed(HostInfoError::HostNotFound, INVALID_HOST_NAME));
    }
    // RFC 6761 §6.4: resolvers should answer "invalid" names negatively
    // at once.
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    if lower == "invalid" || lower.ends_with(".invalid") {
        return Some(info.failed(HostInfoError::HostNotFound, HOST_NOT_FOUND));
    }
    None
}

/// Runs the system resolver (`getaddrinfo`) for `name`.
fn resolve(name: &str) -> HostInfo {
    let mut info = HostInfo::new();
    info.host_name = name.to_owned();
    match (name, 0).to_socket_addrs() {
        Ok(found) => {
            for socket_addr in found {
                let address = HostAddress::from(socket_addr);
                if !info.addresses.contains(&address) {
                    info.addresses.push(address);
                }
            }
            if info.addresses.is_empty() {
                info = info.failed(HostInfoError::HostNotFound, HOST_NOT_FOUND);
            }
            info
        }
        Err(err) => {
            let (error, text) = lookup_error(&err);
            info.failed(error, &text)
        }
    }
}

/// Maps a resolver failure to Qt's error and text: "name unknown" and
/// "no data" answers are `HostNotFound`; anything else (a temporary
/// failure, a system error) is `UnknownError` with the resolver's text,
/// as Qt does with `gai_strerror`.
fn lookup_error(err: &io::Error) -> (HostInfoError, String) {
    const NOT_FOUND: &[&str] = &[
        // glibc: EAI_NONAME, EAI_NODATA, EAI_FAIL.
        "Name or service not known",
        "No address associated with hostname",
        "Non-recoverable failure in name resolution",
        // musl: EAI_NONAME, EAI_NODATA.
        "Name does not resolve",
        "Name has no usable address",
        // BSD / macOS: EAI_NONAME.
        "nodename nor servname provided, or not known",
    ];
    let text = err.to_string();
    let detail = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text);
    if NOT_FOUND.contains(&detail) {
        (HostInfoError::HostNotFound, HOST_NOT_FOUND.to_owned())
    } else {
        (HostInfoError::UnknownError, detail.to_owned())
    }
}

type Callback = Box<dyn FnOnce(&HostInfo)>;

thread_local! {
    /// Callbacks of this thread's lookups, by id.
    static CALLBACKS: RefCell<HashMap<i32, Callback>> = RefCell::new(HashMap::new());
}

/// Lookups not yet delivered, by id: `true` once aborted.
fn in_flight() -> &'static Mutex<HashMap<i32, bool>> {
    static IN_FLIGHT: OnceLock<Mutex<HashMap<i32, bool>>> = OnceLock::new();
    IN_FLIGHT.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn is_aborted(id: i32) -> bool {
    lock(in_flight()).get(&id).copied().unwrap_or(true)
}

/// Qt's `nextId()`: 1, 2, 3, ... (wrapping back to 1, never -1).
fn next_id() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(1);
    let previous = NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| {
        Some(if id == i32::MAX { 1 } else { id + 1 })
    });
    previous.unwrap_or(1)
}

/// On the asking thread's loop: hands `info` to the lookup's callback
/// unless the lookup was aborted. `None` means it was skipped.
fn deliver(id: i32, info: Option<HostInfo>) {
    let aborted = lock(in_flight()).remove(&id).unwrap_or(true);
    let callback = CALLBACKS
        .try_with(|callbacks| callbacks.borrow_mut().remove(&id))
        .ok()
        .flatten();
    if let (false, Some(callback), Some(mut info)) = (aborted, callback, info) {
        info.lookup_id = LookupId(id);
        callback(&info);
    }
}

/// A name for the resolver pool.
struct Job {
    id: i32,
    name: String,
    reply: LoopHandle,
}

impl Job {
    /// Resolves (unless aborted) and posts the result back.
    fn run(self) {
        let info = (!is_aborted(self.id)).then(|| resolve(&self.name));
        let id = self.id;
        if self.reply.post(move || deliver(id, info)).is_err() {
            // The asking thread's loop is gone; so are its callbacks.
            lock(in_flight()).remove(&id);
        }
    }
}

fn submit(job: Job) {
    static POOL: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    match POOL.get_or_init(start_pool) {
        Some(sender) => {
            if let Err(unsent) = sender.send(job) {
                unsent.into_inner().run();
            }
        }
        // No resolver thread could be started: resolve here, still
        // delivering through the loop.
        None => job.run(),
    }
}

fn start_pool() -> Option<Sender<Job>> {
    let (sender, receiver) = crossbeam_channel::unbounded::<Job>();
    let mut started = 0;
    for index in 0..RESOLVER_THREADS {
        let receiver: Receiver<Job> = receiver.clone();
        let spawned = thread::Builder::new()
            .name(format!("sigloop-resolver-{index}"))
            .spawn(move || {
                for job in receiver {
                    job.run();
                }
            });
        match spawned {
            Ok(_) => started += 1,
            Err(err) => log::error!("sigloop: cannot start a resolver thread: {err}"),
        }
    }
    if started == 0 {
        log::error!("sigloop: no resolver thread; host lookups will block");
        return None;
    }
    Some(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use sigloop_core::Timer;

    /// Runs the loop until `done` is set or 10 s pass; panics on timeout.
    fn run_until(done: &Rc<Cell<bool>>) {
        let timed_out = Rc::new(Cell::new(false));
        let t = timed_out.clone();
        Timer::single_shot(Duration::from_secs(10), move || {
            t.set(true);
            EventDispatcher::quit();
        });
        while !done.get() && !timed_out.get() {
            EventDispatcher::process_events(sigloop_core::ProcessEventsFlags::WAIT_FOR_MORE_EVENTS);
        }
        assert!(!timed_out.get(), "lookup not delivered within 10 s");
    }

    #[test]
    fn error_mapping() {
        let gai =
            |text: &str| io::Error::other(format!("failed to lookup address information: {text}"));
        assert_eq!(
            lookup_error(&gai("Name or service not known")),
            (HostInfoError::HostNotFound, "Host not found".to_owned())
        );
        assert_eq!(
            lookup_error(&gai("No address associated with hostname")).0,
            HostInfoError::HostNotFound
        );
        assert_eq!(
            lookup_error(&gai("Temporary failure in name resolution")),
            (
                HostInfoError::UnknownError,
                "Temporary failure in name resolution".to_owned()
            )
        );
        assert_eq!(
            lookup_error(&io::Error::other("boom")),
            (HostInfoError::UnknownError, "boom".to_owned())
        );
    }

    #[test]
    fn local_answers() {
        let info = answer_locally("").unwrap();
        assert_eq!(info.error(), HostInfoError::HostNotFound);
        assert_eq!(info.error_string(), "No host name given");
        let info = answer_locally(" 127.0.0.1 ").unwrap();
        assert_eq!(info.host_name(), "127.0.0.1");
        assert_eq!(info.error(), HostInfoError::NoError);
        assert_eq!(info.error_string(), "Unknown error");
        let info = answer_locally("fe80::1%lo").unwrap();
        assert_eq!(info.addresses()[0].scope_id(), "lo");
        for bad in ["foo bar", "a\0b", "tab\there"] {
            let info = answer_locally(bad).unwrap();
            assert_eq!(info.error(), HostInfoError::HostNotFound, "{bad:?}");
            assert_eq!(info.error_string(), "Invalid hostname");
        }
        for invalid in ["invalid", "x.invalid", "X.INVALID.", "a.b.Invalid"] {
            let info = answer_locally(invalid).unwrap();
            assert_eq!(info.error_string(), "Host not found", "{invalid}");
            assert_eq!(info.host_name(), invalid);
        }
        assert!(answer_locally("localhost").is_none());
        assert!(answer_locally("invalid.example").is_none());
    }

    #[test]
    fn resolver_dedupes_and_keeps_name() {
        let info = resolve("localhost");
        assert_eq!(info.error(), HostInfoError::NoError);
        assert_eq!(info.host_name(), "localhost");
        assert!(!info.addresses().is_empty());
        for (i, a) in info.addresses().iter().enumerate() {
            assert!(a.is_loopback(), "{a:?}");
            assert!(!info.addresses()[..i].contains(a), "duplicate {a:?}");
        }
    }

    #[test]
    fn ids_increase() {
        let a = next_id();
        let b = next_id();
        assert!(b > a && a > 0);
    }

    #[test]
    fn delivery_is_asynchronous_and_on_this_thread() {
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        let me = thread::current().id();
        let id = HostInfo::lookup_host("127.0.0.1", move |info| {
            assert_eq!(thread::current().id(), me);
            assert_eq!(info.addresses().len(), 1);
            d.set(true);
        });
        assert!(!done.get(), "called synchronously");
        run_until(&done);
        assert!(!lock(in_flight()).contains_key(&id.as_i32()));
        assert!(CALLBACKS.with(|c| !c.borrow().contains_key(&id.as_i32())));
    }

    #[test]
    fn abort_from_another_thread_drops_the_callback() {
        struct Flag(Rc<Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Rc::new(Cell::new(false));
        let flag = Flag(dropped.clone());
        let id = HostInfo::lookup_host("localhost", move |_| {
            let _keep = &flag;
            panic!("aborted lookup delivered");
        });
        thread::spawn(move || HostInfo::abort_host_lookup(id))
            .join()
            .unwrap();
        // The callback goes when the (ignored) result would have arrived.
        run_until(&dropped);
        assert!(!lock(in_flight()).contains_key(&id.as_i32()));
    }

    #[test]
    fn abort_on_this_thread_drops_at_once() {
        let called = Rc::new(Cell::new(false));
        let c = called.clone();
        let id = HostInfo::lookup_host("localhost", move |_| c.set(true));
        assert_eq!(Rc::strong_count(&called), 2);
        HostInfo::abort_host_lookup(id);
        assert_eq!(Rc::strong_count(&called), 1);
        // Aborting again, or an unknown id, is harmless.
        HostInfo::abort_host_lookup(id);
        HostInfo::abort_host_lookup(LookupId::from_i32(i32::MAX));
    }
}
