//! The state and signals of one socket.
//!
//! Every public operation follows the same discipline: borrow the data,
//! mutate, release the borrow, then emit. Slots may call anything on the
//! socket, so after each emission the code re-reads the state instead of
//! trusting what it saw before.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::Duration;

use sigloop_core::__private::{IoHandler, IoRegistration, Lifecycle, Object, Readiness};
use sigloop_core::{EventDispatcher, OpenMode, Timer};
use sigloop_signals::{Receiver, Signal};

use super::lazy_queue::LazyQueue;
use super::transport::Transport;
use super::{SocketError, SocketState, SocketType};
use crate::host_address::{HostAddress, NetworkLayerProtocol, PackedEndpoint};
use crate::host_info::LookupId;
use crate::tcp_server::ServerCore;

/// Qt's `DefaultConnectTimeout`: 30 s per connect attempt.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read per readiness before other sockets get a turn.
pub(crate) const READ_BUDGET: usize = 256 * 1024;

/// Largest single read into the buffer: the whole budget, so that a bulk
/// stream's pass is one read into one chunk, which `read_all` hands over
/// whole (Qt likewise reads what the OS holds into one block).
pub(crate) const READ_CHUNK: usize = READ_BUDGET;

/// The signals of `QAbstractSocket` and its `QIODevice` base.
///
/// Those few applications connect (`host_found`, `about_to_close`,
/// `read_channel_finished` and the channel signals) are made on first
/// use: an idle connection then spends 56 bytes on signals, not 96.
/// Emitting one that was never made reaches nobody, so it is skipped.
#[derive(Default)]
pub(crate) struct SocketSignals {
    pub(crate) connected: Signal<()>,
    pub(crate) disconnected: Signal<()>,
    pub(crate) state_changed: Signal<SocketState>,
    pub(crate) error_occurred: Signal<SocketError>,
    pub(crate) ready_read: Signal<()>,
    pub(crate) bytes_written: Signal<u64>,
    rare: OnceCell<Box<RareSignals>>,
}

/// The signals [`SocketSignals`] makes on first use.
#[derive(Default)]
struct RareSignals {
    host_found: Signal<()>,
    about_to_close: Signal<()>,
    read_channel_finished: Signal<()>,
    channel_ready_read: Signal<i32>,
    channel_bytes_written: Signal<(i32, u64)>,
    proxy_authentication_required: Signal<crate::proxy::ProxyAuthenticationRequest>,
    high_water_reached: Signal<u64>,
    low_water_reached: Signal<u64>,
    /// `SslSocket`'s own signals, made on first use (see `tls.rs`).
    ssl: OnceCell<Box<crate::ssl::SslSignals>>,
}

impl RareSignals {
    fn each(&self) -> [&Signal<()>; 3] {
        [
            &self.host_found,
            &self.about_to_close,
            &self.read_channel_finished,
        ]
    }

    fn block(&self, block: bool) {
        for signal in self.each() {
            signal.block_signals(block);
        }
        self.channel_ready_read.block_signals(block);
        self.channel_bytes_written.block_signals(block);
        self.proxy_authentication_required.block_signals(block);
        self.high_water_reached.block_signals(block);
        self.low_water_reached.block_signals(block);
        if let Some(ssl) = self.ssl.get() {
            ssl.block(block);
        }
    }

    fn disconnect_all(&self) {
        for signal in self.each() {
            signal.disconnect_all();
        }
        self.channel_ready_read.disconnect_all();
        self.channel_bytes_written.disconnect_all();
        self.proxy_authentication_required.disconnect_all();
        self.high_water_reached.disconnect_all();
        self.low_water_reached.disconnect_all();
        if let Some(ssl) = self.ssl.get() {
            ssl.disconnect_all();
        }
    }

    fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        let units: usize = self
            .each()
            .into_iter()
            .map(|signal| signal.disconnect_receiver(receiver))
            .sum();
        units
            + self.channel_ready_read.disconnect_receiver(receiver)
            + self.channel_bytes_written.disconnect_receiver(receiver)
            + self
                .proxy_authentication_required
                .disconnect_receiver(receiver)
            + self.high_water_reached.disconnect_receiver(receiver)
            + self.low_water_reached.disconnect_receiver(receiver)
            + self
                .ssl
                .get()
                .map_or(0, |ssl| ssl.disconnect_receiver(receiver))
    }
}

impl SocketSignals {
    pub(crate) fn host_found(&self) -> &Signal<()> {
        &self.rare().host_found
    }

    pub(crate) fn about_to_close(&self) -> &Signal<()> {
        &self.rare().about_to_close
    }

    pub(crate) fn read_channel_finished(&self) -> &Signal<()> {
        &self.rare().read_channel_finished
    }

    pub(crate) fn channel_ready_read(&self) -> &Signal<i32> {
        &self.rare().channel_ready_read
    }

    pub(crate) fn channel_bytes_written(&self) -> &Signal<(i32, u64)> {
        &self.rare().channel_bytes_written
    }

    /// Qt's `channelReadyRead(0)`: after every `ready_read`, even one
    /// suppressed as recursive.
    pub(crate) fn emit_channel_ready_read(&self) {
        if let Some(rare) = self.rare.get() {
            rare.channel_ready_read.emit(&0);
        }
    }

    /// Qt's `channelBytesWritten(0, n)`: after every `bytes_written` of a
    /// stream socket, even one suppressed as recursive.
    pub(crate) fn emit_channel_bytes_written(&self, n: u64) {
        if let Some(rare) = self.rare.get() {
            rare.channel_bytes_written.emit(&(0, n));
        }
    }

    pub(crate) fn proxy_authentication_required(
        &self,
    ) -> &Signal<crate::proxy::ProxyAuthenticationRequest> {
        &self.rare().proxy_authentication_required
    }

    pub(crate) fn emit_proxy_authentication_required(
        &self,
        request: &crate::proxy::ProxyAuthenticationRequest,
    ) {
        if let Some(rare) = self.rare.get() {
            rare.proxy_authentication_required.emit(request);
        }
    }

    pub(crate) fn high_water_reached(&self) -> &Signal<u64> {
        &self.rare().high_water_reached
    }

    pub(crate) fn low_water_reached(&self) -> &Signal<u64> {
        &self.rare().low_water_reached
    }

    pub(crate) fn emit_high_water_reached(&self, bytes_to_write: u64) {
        if let Some(rare) = self.rare.get() {
            rare.high_water_reached.emit(&bytes_to_write);
        }
    }

    pub(crate) fn emit_low_water_reached(&self, bytes_to_write: u64) {
        if let Some(rare) = self.rare.get() {
            rare.low_water_reached.emit(&bytes_to_write);
        }
    }

    /// `SslSocket`'s signals, made on first use (blocked if the socket's
    /// signals are).
    pub(crate) fn ssl(&self) -> &crate::ssl::SslSignals {
        let rare = self.rare();
        rare.ssl.get_or_init(|| {
            let ssl = Box::<crate::ssl::SslSignals>::default();
            ssl.block(self.state_changed.signals_blocked());
            ssl
        })
    }

    /// `SslSocket`'s signals if anything connected to one: emitting one
    /// that was never made reaches nobody.
    pub(crate) fn ssl_if_made(&self) -> Option<&crate::ssl::SslSignals> {
        self.rare.get()?.ssl.get().map(|ssl| &**ssl)
    }

    pub(crate) fn emit_host_found(&self) {
        if let Some(rare) = self.rare.get() {
            rare.host_found.emit(&());
        }
    }

    pub(crate) fn emit_about_to_close(&self) {
        if let Some(rare) = self.rare.get() {
            rare.about_to_close.emit(&());
        }
    }

    pub(crate) fn emit_read_channel_finished(&self) {
        if let Some(rare) = self.rare.get() {
            rare.read_channel_finished.emit(&());
        }
    }

    fn rare(&self) -> &RareSignals {
        self.rare.get_or_init(|| {
            let rare = Box::<RareSignals>::default();
            // Made while the socket's signals are blocked: blocked too.
            rare.block(self.state_changed.signals_blocked());
            rare
        })
    }

    fn common(&self) -> [&Signal<()>; 3] {
        [&self.connected, &self.disconnected, &self.ready_read]
    }

    fn block(&self, block: bool) -> bool {
        let was = self.state_changed.block_signals(block);
        if let Some(rare) = self.rare.get() {
            rare.block(block);
        }
        for signal in self.common() {
            signal.block_signals(block);
        }
        self.error_occurred.block_signals(block);
        self.bytes_written.block_signals(block);
        was
    }

    /// Breaks every connection of these signals to `receiver`.
    fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        let rare = self
            .rare
            .get()
            .map_or(0, |r| r.disconnect_receiver(receiver));
        let units: usize = self
            .common()
            .into_iter()
            .map(|signal| signal.disconnect_receiver(receiver))
            .sum();
        rare + units
            + self.state_changed.disconnect_receiver(receiver)
            + self.error_occurred.disconnect_receiver(receiver)
            + self.bytes_written.disconnect_receiver(receiver)
    }

    fn disconnect_all(&self) {
        if let Some(rare) = self.rare.get() {
            rare.disconnect_all();
        }
        for signal in self.common() {
            signal.disconnect_all();
        }
        self.state_changed.disconnect_all();
        self.error_occurred.disconnect_all();
        self.bytes_written.disconnect_all();
    }
}

/// How the socket is being closed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum CloseIntent {
    /// Not closing.
    #[default]
    None,
    /// `disconnect_from_host` during lookup or connect: close once connected.
    Pending,
    /// `abort`: close at once, skipping `Closing`.
    Abort,
}

/// Where the read side stands, over edge-triggered readiness.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum ReadSide {
    /// Nothing known to be waiting in the OS.
    #[default]
    Drained,
    /// The OS may hold data or an EOF: read it.
    Ready,
    /// The read buffer is full; the OS may hold more. Resumes when the
    /// application drains the buffer or raises the limit (Qt:
    /// `QAbstractSocket::setReadBufferSize()`).
    Paused,
    /// Reading is off (closing, or not connected).
    Off,
}

/// A connect in progress: the addresses left and the running attempt.
pub(crate) struct ConnectPlan {
    pub(crate) port: u16,
    pub(crate) protocol: NetworkLayerProtocol,
    pub(crate) addresses: VecDeque<SocketAddr>,
    pub(crate) lookup: Option<LookupId>,
    pub(crate) timer: Option<Timer>,
    /// The error of the last failed attempt, reported once none remain.
    pub(crate) last_error: Option<crate::socket::Failure>,
    /// The attempts racing under `ConnectPolicy::HappyEyeballs` (see
    /// `eyeballs.rs`); `None` for Qt's sequential connect.
    pub(crate) race: Option<Box<super::eyeballs::Race>>,
    /// A `state_changed(Connecting)` or `host_found` slot panicked before
    /// the first attempt started; `WORK_CONNECT` starts it on the next pass.
    pub(crate) stalled: bool,
}

/// The mutable state of a socket.
///
/// Laid out for the idle connection, which a server may hold by the ten
/// thousand: what every connected socket needs is inline and packed; what
/// few use (a connect in progress, an error text, a peer name, a bound
/// socket, a read-buffer limit, scope ids) waits in [`Rare`], boxed on
/// first use.
pub(crate) struct Data {
    pub(crate) state: SocketState,
    pub(crate) error: SocketError,
    /// The error text: one of Qt's (an index into `text`'s table), or
    /// [`OWN_TEXT`]: an OS message kept in [`Rare`].
    error_text: u8,
    pub(crate) open_mode: OpenMode,
    pub(crate) stream: Option<Transport>,
    pub(crate) registration: Option<IoRegistration>,
    pub(crate) read_buf: LazyQueue,
    /// The read reservation `read_buf` had learned when it was released,
    /// as a power of two (0: none). Reservations are 4 KiB times a power
    /// of two; a byte holds them.
    read_hint: u8,
    pub(crate) write_buf: LazyQueue,
    pub(crate) close: CloseIntent,
    pub(crate) close_called: bool,
    pub(crate) read_side: ReadSide,
    /// The OS took the last write; cleared on `WouldBlock`.
    pub(crate) writable: bool,
    pub(crate) peer: PackedEndpoint,
    pub(crate) local: PackedEndpoint,
    /// The server that accepted this socket and keeps it alive until it is
    /// deleted (Qt: the socket is parented to the server), and the key it
    /// is filed under there.
    pub(crate) parent: Option<Weak<ServerCore>>,
    pub(crate) parent_key: u32,
    /// UDP only: the `ready_read` gate (see `datagram.rs`).
    pub(crate) datagram_read: DatagramRead,
    /// UDP only: the family of the OS socket (`AnyIP` for dual stack).
    pub(crate) datagram_protocol: NetworkLayerProtocol,
    rare: Option<Box<Rare>>,
}

/// [`Data::error_text`] when the text is the OS's, kept in [`Rare`].
const OWN_TEXT: u8 = u8::MAX;
/// [`Data::error_text`] of a socket that never failed: "Unknown error",
/// first in the table.
const UNKNOWN_TEXT: u8 = 0;

/// The state few sockets use; see [`Data`].
pub(crate) struct Rare {
    /// An error text that is not one of Qt's (the OS's message).
    pub(crate) error_string: Cow<'static, str>,
    pub(crate) peer_name: String,
    pub(crate) connect: Option<ConnectPlan>,
    pub(crate) connect_timeout: Duration,
    /// How long the socket may go on sending after it is deleted (see
    /// `linger.rs`).
    pub(crate) linger_timeout: Duration,
    /// A socket made by `bind` and kept for the next connect.
    pub(crate) bound: Option<socket2::Socket>,
    pub(crate) read_buffer_size: i64,
    pub(crate) peer_scope: String,
    pub(crate) local_scope: String,
    /// The proxy set with `set_proxy` and a proxied connection's state
    /// (see `proxied.rs`); boxed again, so a socket without a proxy pays
    /// one pointer here.
    pub(crate) proxy: Option<Box<super::proxied::ProxyRare>>,
    /// How `connect_to_host` tries a name's addresses.
    pub(crate) connect_policy: super::ConnectPolicy,
    /// The write buffer's water marks, if set (see `water_marks.rs`).
    pub(crate) write_marks: Option<super::water_marks::WaterMarks>,
    /// An `SslSocket`'s TLS layer (see `tls.rs`); boxed again, so a plain
    /// socket pays one pointer here.
    pub(crate) tls: Option<Box<super::tls::TlsState>>,
    /// The wakers of tasks awaiting this socket, made by the first async
    /// call (see `crate::async_io`); never made for slot-only sockets.
    pub(crate) async_hub: Option<Rc<crate::async_io::Hub>>,
}

impl Default for Rare {
    fn default() -> Rare {
        Rare {
            error_string: Cow::Borrowed(super::text::UNKNOWN),
            peer_name: String::new(),
            connect: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            linger_timeout: super::linger::DEFAULT_LINGER,
            bound: None,
            read_buffer_size: 0,
            peer_scope: String::new(),
            local_scope: String::new(),
            proxy: None,
            connect_policy: super::ConnectPolicy::Sequential,
            write_marks: None,
            tls: None,
            async_hub: None,
        }
    }
}

impl Data {
    fn new() -> Data {
        Data {
            state: SocketState::Unconnected,
            error: SocketError::Unknown,
            error_text: UNKNOWN_TEXT,
            open_mode: OpenMode::NOT_OPEN,
            stream: None,
            registration: None,
            read_buf: LazyQueue::default(),
            read_hint: 0,
            write_buf: LazyQueue::default(),
            close: CloseIntent::None,
            close_called: false,
            read_side: ReadSide::Off,
            writable: false,
            peer: PackedEndpoint::default(),
            local: PackedEndpoint::default(),
            parent: None,
            parent_key: 0,
            datagram_read: DatagramRead::Off,
            datagram_protocol: NetworkLayerProtocol::Unknown,
            rare: None,
        }
    }

    /// Gives the read buffer's memory back once it is drained, keeping
    /// the read size it had learned.
    pub(crate) fn release_read_buf(&mut self) {
        if let Some(hint) = self.read_buf.release_if_empty() {
            self.read_hint = hint.checked_ilog2().map_or(0, |log| log as u8);
        }
    }

    /// The read reservation to give a fresh read buffer (0: the default).
    pub(crate) fn read_hint(&self) -> usize {
        match self.read_hint {
            0 => 0,
            log => 1usize << log.min(30),
        }
    }

    /// The rarely used state, if the socket ever needed it.
    pub(crate) fn rare(&self) -> Option<&Rare> {
        self.rare.as_deref()
    }

    /// The rarely used state, boxed now if it was not yet.
    pub(crate) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The rarely used state if the socket has one (no allocation).
    pub(crate) fn rare_if_any(&mut self) -> Option<&mut Rare> {
        self.rare.as_deref_mut()
    }

    pub(crate) fn error_string(&self) -> &str {
        match self.error_text {
            OWN_TEXT => self
                .rare()
                .map_or(super::text::UNKNOWN, |r| &r.error_string),
            index => super::text::at(index),
        }
    }

    /// Records the error text: Qt's own texts take no allocation (a
    /// connection closed by its peer would otherwise box a `Rare`).
    fn set_error_string(&mut self, text: Cow<'static, str>) {
        match super::text::index_of(&text) {
            Some(index) => self.error_text = index,
            None => {
                self.error_text = OWN_TEXT;
                self.rare_mut().error_string = text;
            }
        }
    }

    pub(crate) fn peer_name(&self) -> &str {
        self.rare().map_or("", |r| &r.peer_name)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.rare()
            .map_or(DEFAULT_CONNECT_TIMEOUT, |r| r.connect_timeout)
    }

    pub(crate) fn connect_policy(&self) -> super::ConnectPolicy {
        self.rare()
            .map_or(super::ConnectPolicy::Sequential, |r| r.connect_policy)
    }

    pub(crate) fn linger_timeout(&self) -> Duration {
        self.rare()
            .map_or(super::linger::DEFAULT_LINGER, |r| r.linger_timeout)
    }

    /// Qt's read buffer limit (0: unlimited).
    pub(crate) fn read_buffer_size(&self) -> i64 {
        self.rare().map_or(0, |r| r.read_buffer_size)
    }

    /// The socket `bind` made and kept for the next connect.
    pub(crate) fn bound(&self) -> Option<&socket2::Socket> {
        self.rare()?.bound.as_ref()
    }

    /// The TLS layer of an `SslSocket`.
    pub(crate) fn tls(&self) -> Option<&super::tls::TlsState> {
        self.rare()?.tls.as_deref()
    }

    /// The TLS layer of an `SslSocket`, to change.
    pub(crate) fn tls_mut(&mut self) -> Option<&mut super::tls::TlsState> {
        self.rare_if_any()?.tls.as_deref_mut()
    }

    /// The parts a read moves bytes between: the OS stream, the TLS layer
    /// (when it carries the connection) and the read buffer.
    pub(crate) fn read_parts(
        &mut self,
    ) -> (
        Option<&mut Transport>,
        Option<&mut super::tls::TlsState>,
        &mut LazyQueue,
    ) {
        let tls = self
            .rare
            .as_deref_mut()
            .and_then(|r| r.tls.as_deref_mut())
            .filter(|t| t.carries_stream());
        (self.stream.as_mut(), tls, &mut self.read_buf)
    }

    /// The TLS layer (when it carries the connection) and the write
    /// buffer, for a flush.
    pub(crate) fn write_parts(&mut self) -> (Option<&mut super::tls::TlsState>, &mut LazyQueue) {
        let tls = self
            .rare
            .as_deref_mut()
            .and_then(|r| r.tls.as_deref_mut())
            .filter(|t| t.carries_stream());
        (tls, &mut self.write_buf)
    }

    /// A connect in progress.
    pub(crate) fn connect_plan(&mut self) -> Option<&mut ConnectPlan> {
        self.rare_if_any()?.connect.as_mut()
    }

    pub(crate) fn take_connect_plan(&mut self) -> Option<ConnectPlan> {
        self.rare_if_any()?.connect.take()
    }

    pub(crate) fn peer_address(&self) -> HostAddress {
        self.peer.address(self.rare().map_or("", |r| &r.peer_scope))
    }

    pub(crate) fn local_address(&self) -> HostAddress {
        self.local
            .address(self.rare().map_or("", |r| &r.local_scope))
    }

    pub(crate) fn set_peer(&mut self, address: &HostAddress, port: u16) {
        self.peer = PackedEndpoint::pack(address, port);
        if !address.scope_id().is_empty() || self.rare().is_some_and(|r| !r.peer_scope.is_empty()) {
            self.rare_mut().peer_scope = address.scope_id().to_owned();
        }
    }

    pub(crate) fn set_local(&mut self, address: &HostAddress, port: u16) {
        self.local = PackedEndpoint::pack(address, port);
        if !address.scope_id().is_empty() || self.rare().is_some_and(|r| !r.local_scope.is_empty())
        {
            self.rare_mut().local_scope = address.scope_id().to_owned();
        }
    }

    /// Forgets both endpoints once the socket is unconnected, as Qt does.
    /// The peer name stays: Qt 6.11 keeps it after every close path and a
    /// failed connect, until the next `connect_to_host` replaces it.
    pub(crate) fn clear_endpoints(&mut self) {
        self.peer = PackedEndpoint::default();
        self.local = PackedEndpoint::default();
        if let Some(rare) = self.rare_if_any() {
            rare.peer_scope.clear();
            rare.local_scope.clear();
        }
    }
}

/// The `ready_read` gate of a datagram socket (Qt's `hasPendingData` and
/// `hasPendingDatagram` with the read notifier).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum DatagramRead {
    /// No OS socket, or not bound or connected.
    #[default]
    Off,
    /// Waiting: the next datagram (or pending error) gets a `ready_read`.
    Armed,
    /// `ready_read` was emitted for a datagram nobody has read yet: no new
    /// `ready_read` until the application reads one.
    Announced,
}

/// The steps of [`SocketCore::delete_now`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DeleteStep {
    /// Abort the connection (emits the close signals).
    Abort,
    /// Emit `destroyed`.
    Announce,
    /// Drop the connections and leave the parent.
    Release,
    Done,
}

/// Deferred work bits; see [`SocketCore::schedule`].
pub(crate) const WORK_READ: u8 = 1;
pub(crate) const WORK_FLUSH: u8 = 2;
/// UDP: look for a pending datagram after a read re-armed the gate.
pub(crate) const WORK_DATAGRAM: u8 = 4;
/// Start the connect attempts a panicking slot kept from starting.
pub(crate) const WORK_CONNECT: u8 = 8;

thread_local! {
    /// The sockets of this thread with scheduled work, in scheduling order.
    static SCHEDULED: RefCell<VecDeque<Weak<SocketCore>>> = const { RefCell::new(VecDeque::new()) };
    /// A call to [`run_scheduled_batch`] is posted and has not begun.
    static BATCH_POSTED: Cell<bool> = const { Cell::new(false) };
    /// Counts the batch runs begun, so a run can tell that a nested one
    /// took over its rest.
    static BATCH_RUNS: Cell<u64> = const { Cell::new(0) };
}

/// Posts a batch run unless one is already waiting.
fn post_batch() {
    if !BATCH_POSTED.replace(true) {
        EventDispatcher::post(run_scheduled_batch);
    }
}

/// Runs the sockets that had scheduled work when it began, in order. Work
/// scheduled while it runs waits for the next batch.
///
/// The sockets are taken one at a time from this thread's batch, and while
/// any are left a continuation is posted before a socket's slots run. So a
/// slot that starts a nested loop (Qt's request-and-wait pattern) has the
/// rest of the batch run by that loop, and a slot that panics leaves the
/// rest for the next pass: no socket keeps work marked but never run.
fn run_scheduled_batch() {
    BATCH_POSTED.set(false);
    let run = BATCH_RUNS.get().wrapping_add(1);
    BATCH_RUNS.set(run);
    let mut left = SCHEDULED.with(|batch| batch.borrow().len());
    // A nested run began (from a slot): it took the rest of this batch.
    while left > 0 && BATCH_RUNS.get() == run {
        let Some(socket) = SCHEDULED.with(|batch| batch.borrow_mut().pop_front()) else {
            break;
        };
        left -= 1;
        if left > 0 {
            post_batch();
        }
        if let Some(socket) = socket.upgrade() {
            socket.run_scheduled();
        }
    }
}

/// One socket: its data, its signals and its deletion state.
pub(crate) struct SocketCore {
    pub(crate) this: Weak<SocketCore>,
    pub(crate) kind: SocketType,
    pub(crate) d: RefCell<Data>,
    pub(crate) sig: SocketSignals,
    pub(crate) life: Lifecycle,
    work: Cell<u8>,
    /// A `ready_read` slot is running: Qt never emits it recursively.
    pub(crate) in_ready_read: Cell<bool>,
    /// A `bytes_written` slot is running: the same rule.
    pub(crate) in_bytes_written: Cell<bool>,
}

impl SocketCore {
    pub(crate) fn new(kind: SocketType) -> Rc<SocketCore> {
        Rc::new_cyclic(|this| SocketCore {
            this: this.clone(),
            kind,
            d: RefCell::new(Data::new()),
            sig: SocketSignals::default(),
            life: Lifecycle::new(),
            work: Cell::new(0),
            in_ready_read: Cell::new(false),
            in_bytes_written: Cell::new(false),
        })
    }

    pub(crate) fn state(&self) -> SocketState {
        self.d.borrow().state
    }

    /// Sets the state and emits `state_changed`.
    pub(crate) fn change_state(&self, state: SocketState) {
        self.d.borrow_mut().state = state;
        self.sig.state_changed.emit(&state);
    }

    /// Records an error without emitting (Qt's `setSocketError`).
    pub(crate) fn set_error(&self, error: SocketError, text: impl Into<Cow<'static, str>>) {
        let mut d = self.d.borrow_mut();
        d.error = error;
        d.set_error_string(text.into());
    }

    /// Records an error and emits `error_occurred` (Qt's `setErrorAndEmit`).
    pub(crate) fn raise(&self, error: SocketError, text: impl Into<Cow<'static, str>>) {
        self.set_error(error, text);
        self.sig.error_occurred.emit(&error);
    }

    /// `bind` on a socket that is not `Unconnected`: Qt's engine warns and
    /// the socket emits `errorOccurred(UnknownSocketError)`, the engine's
    /// unset error; the call fails with that code.
    pub(crate) fn refuse_bind(&self) -> SocketError {
        log::warn!("bind() was not called in UnconnectedState");
        self.raise(SocketError::Unknown, super::text::UNKNOWN);
        SocketError::Unknown
    }

    /// Registers `stream` with the loop for reads and writes, once: edge
    /// triggered, never re-registered, readiness tracked in `Data`.
    pub(crate) fn register(&self, stream: &mut Transport) -> std::io::Result<IoRegistration> {
        let handler: Weak<dyn IoHandler> = self.this.clone();
        // A datagram socket never waits to write (Qt has no write notifier
        // for unbuffered UDP): readability only, which also spares an
        // event per datagram sent.
        // Priority (urgent data) only so that an event says when a read may
        // stop short at the urgent mark (see `ShortRead` in transfer.rs).
        let interest = match self.kind {
            SocketType::Udp => mio::Interest::READABLE,
            _ => mio::Interest::READABLE | mio::Interest::WRITABLE | mio::Interest::PRIORITY,
        };
        IoRegistration::register(stream, interest, handler)
    }

    /// Queues work to run from the loop on its next pass. Writes are
    /// flushed this way so that `bytes_written` is never emitted from
    /// inside `write` (Qt's rule), and a read that used up its fairness
    /// budget continues this way.
    ///
    /// Sockets with work wait in this thread's batch, which one posted
    /// call runs: a flush per message then costs no allocation (a posted
    /// closure each was one box per flush).
    pub(crate) fn schedule(&self, work: u8) {
        let before = self.work.get();
        self.work.set(before | work);
        if before == 0 {
            SCHEDULED.with(|batch| batch.borrow_mut().push_back(self.this.clone()));
            post_batch();
        }
    }

    /// Sends now what the slots of this readiness event wrote (a reply
    /// written from `ready_read`) instead of from the batch on the next
    /// pass. The slots have returned, so `bytes_written` still never comes
    /// from inside `write`; the reply leaves sooner, and a read buffer
    /// handed to the write queue (`write_vec`) goes back to its pool before
    /// the next socket reads.
    fn flush_written_by_slots(&self) {
        let work = self.work.get();
        if work & WORK_FLUSH != 0 {
            // The socket stays in the batch; it finds no flush to do.
            self.work.set(work & !WORK_FLUSH);
            self.flush_now();
        }
    }

    fn run_scheduled(&self) {
        /// The work not started yet; scheduled again if a slot panics.
        struct Rest<'a>(&'a SocketCore, Cell<u8>);
        impl Drop for Rest<'_> {
            fn drop(&mut self) {
                let rest = self.1.get();
                if rest != 0 {
                    self.0.schedule(rest);
                }
            }
        }
        let rest = Rest(self, Cell::new(self.work.replace(0)));
        for step in [WORK_FLUSH, WORK_READ, WORK_DATAGRAM, WORK_CONNECT] {
            let work = rest.1.get();
            if work & step == 0 {
                continue;
            }
            rest.1.set(work & !step);
            match step {
                WORK_FLUSH => {
                    self.flush_now();
                }
                WORK_READ => {
                    self.read_now();
                }
                WORK_CONNECT => self.resume_stalled_connect(),
                _ => self.datagram_notification(),
            }
        }
    }

    pub(crate) fn block_signals(&self, block: bool) -> bool {
        self.sig.block(block)
    }

    /// Qt's `disconnect(socket, nullptr, receiver, nullptr)`: every signal,
    /// `destroyed` too.
    pub(crate) fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.sig.disconnect_receiver(receiver) + self.life.destroyed().disconnect_receiver(receiver)
    }

    pub(crate) fn signals_blocked(&self) -> bool {
        self.sig.state_changed.signals_blocked()
    }

    /// `delete_later`'s second half: abort, emit `destroyed`, drop every
    /// connection. Bytes still queued go on being sent (`linger.rs`).
    ///
    /// A slot that panics on the way (in `disconnected`, `destroyed`...)
    /// does not leave the socket half destroyed: the rest of the deletion
    /// runs from the loop's next pass.
    pub(crate) fn delete_now(&self) {
        if !self.life.begin_delete() {
            return;
        }
        /// How far the deletion got; finishes it later if a slot panics.
        struct Unfinished<'a>(&'a SocketCore, Cell<DeleteStep>);
        impl Drop for Unfinished<'_> {
            fn drop(&mut self) {
                let step = self.1.get();
                if step == DeleteStep::Done {
                    return;
                }
                if let Some(core) = self.0.this.upgrade() {
                    EventDispatcher::post(move || core.finish_delete(step));
                }
            }
        }
        let progress = Unfinished(self, Cell::new(DeleteStep::Abort));
        self.linger_unsent();
        self.abort();
        progress.1.set(DeleteStep::Announce);
        self.life.finish();
        progress.1.set(DeleteStep::Release);
        self.release_ties();
        progress.1.set(DeleteStep::Done);
    }

    /// The rest of a deletion a panicking slot interrupted, from `step` on.
    fn finish_delete(&self, step: DeleteStep) {
        match step {
            DeleteStep::Abort => {
                self.abort();
                self.life.finish();
            }
            // `destroyed` was emitted (or its slot panicked): not again.
            DeleteStep::Announce => {
                self.life.destroyed().disconnect_all();
            }
            DeleteStep::Release | DeleteStep::Done => {}
        }
        if step != DeleteStep::Done {
            self.release_ties();
        }
    }

    /// Drops every connection and leaves the parent server.
    fn release_ties(&self) {
        self.sig.disconnect_all();
        let (parent, key) = {
            let mut d = self.d.borrow_mut();
            (d.parent.take(), d.parent_key)
        };
        if let Some(parent) = parent.and_then(|p| p.upgrade()) {
            parent.child_deleted(key as usize);
        }
    }
}

/// Application handles (`Handle`s, counted in
/// `life`) make the socket's public types; the last one going destroys
/// the socket as Qt's destructor does (abort with its signals,
/// `destroyed`, every connection dropped). The loop and internal callbacks
/// hold the core without counting.
impl Object for SocketCore {
    fn lifecycle(&self) -> &Lifecycle {
        &self.life
    }

    fn delete_now(&self) {
        SocketCore::delete_now(self);
    }
}

impl IoHandler for SocketCore {
    fn ready(&self, readiness: Readiness) {
        if self.kind == SocketType::Udp {
            self.datagram_ready(readiness);
            return;
        }
        match self.state() {
            SocketState::Connecting => self.on_connect_ready(),
            SocketState::Connected | SocketState::Closing => {
                let write_side =
                    readiness.is_writable() || readiness.is_write_closed() || readiness.is_error();
                let read_side = readiness.is_readable()
                    || readiness.is_read_closed()
                    || readiness.is_error()
                    || readiness.is_priority();
                if write_side {
                    self.d.borrow_mut().writable = true;
                    self.flush_now();
                }
                if read_side {
                    {
                        let mut d = self.d.borrow_mut();
                        if d.read_side == ReadSide::Drained {
                            d.read_side = ReadSide::Ready;
                        }
                    }
                    if readiness.is_read_closed() || readiness.is_error() || readiness.is_priority()
                    {
                        self.read_now();
                    } else {
                        self.read_on_event();
                    }
                    self.flush_written_by_slots();
                }
            }
            _ => {}
        }
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        // Qt's destructor aborts; by now no handle exists to hear the
        // signals except slots bound elsewhere, which still run.
        if self.d.borrow().state != SocketState::Unconnected {
            self.abort();
        }
    }
}
#[cfg(test)]
mod tests {
    /// An idle connection is one `SocketCore` plus its connected slots; a
    /// server holds them by the ten thousand, and the budget is
    /// 512 bytes each. With the 16 bytes of `Rc`'s counts, 200 bytes here
    /// is a 224-byte allocation. Debug builds carry mio's selector id in
    /// each stream, so the stream is counted apart (8 bytes in release).
    #[test]
    fn an_idle_socket_fits_its_budget() {
        use std::mem::size_of;
        let stream = size_of::<Option<super::Transport>>();
        assert!(size_of::<super::SocketCore>() - stream <= 200 - 8);
        assert!(size_of::<super::Data>() - stream <= 104 - 8);
    }

    /// The signals few connect, the channel ones included, are boxed on
    /// first use: a socket's signals stay seven words.
    #[test]
    fn rare_signals_cost_an_idle_socket_nothing() {
        assert_eq!(std::mem::size_of::<super::SocketSignals>(), 56);
        let signals = super::SocketSignals::default();
        signals.emit_channel_ready_read();
        signals.emit_channel_bytes_written(1);
        assert!(signals.rare.get().is_none(), "emitting makes nothing");
    }
}
