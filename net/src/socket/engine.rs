//! The state and signals of one socket.
//!
//! Every public operation follows the same discipline: borrow the data,
//! mutate, release the borrow, then emit. Slots may call anything on the
//! socket, so after each emission the code re-reads the state instead of
//! trusting what it saw before.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::Duration;

use sigloop_core::{
    EventDispatcher, IoHandler, IoRegistration, Lifecycle, OpenMode, Readiness, Timer,
};
use sigloop_signals::Signal;

use super::lazy_queue::LazyQueue;
use super::transport::Transport;
use super::{SocketError, SocketState, SocketType};
use crate::host_address::{HostAddress, NetworkLayerProtocol};
use crate::host_info::LookupId;

/// Qt's `DefaultConnectTimeout`: 30 s per connect attempt.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read per readiness before other sockets get a turn.
pub(crate) const READ_BUDGET: usize = 256 * 1024;

/// Largest single read into the buffer.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The signals of `QAbstractSocket` and its `QIODevice` base.
#[derive(Default)]
pub(crate) struct SocketSignals {
    pub(crate) host_found: Signal<()>,
    pub(crate) connected: Signal<()>,
    pub(crate) disconnected: Signal<()>,
    pub(crate) state_changed: Signal<SocketState>,
    pub(crate) error_occurred: Signal<SocketError>,
    pub(crate) ready_read: Signal<()>,
    pub(crate) bytes_written: Signal<u64>,
    pub(crate) about_to_close: Signal<()>,
    pub(crate) read_channel_finished: Signal<()>,
}

impl SocketSignals {
    fn block(&self, block: bool) -> bool {
        let was = self.state_changed.block_signals(block);
        for signal in [
            &self.host_found,
            &self.connected,
            &self.disconnected,
            &self.ready_read,
            &self.about_to_close,
            &self.read_channel_finished,
        ] {
            signal.block_signals(block);
        }
        self.error_occurred.block_signals(block);
        self.bytes_written.block_signals(block);
        was
    }

    fn disconnect_all(&self) {
        for signal in [
            &self.host_found,
            &self.connected,
            &self.disconnected,
            &self.ready_read,
            &self.about_to_close,
            &self.read_channel_finished,
        ] {
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
    /// application drains the buffer or raises the limit (Qt §1.6).
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
}

/// The mutable state of a socket.
pub(crate) struct Data {
    pub(crate) state: SocketState,
    pub(crate) error: SocketError,
    /// Qt's texts are static; only OS messages allocate.
    pub(crate) error_string: Cow<'static, str>,
    pub(crate) open_mode: OpenMode,
    pub(crate) stream: Option<Transport>,
    pub(crate) registration: Option<IoRegistration>,
    pub(crate) read_buf: LazyQueue,
    pub(crate) write_buf: LazyQueue,
    pub(crate) read_buffer_size: i64,
    pub(crate) close: CloseIntent,
    pub(crate) close_called: bool,
    pub(crate) read_side: ReadSide,
    /// The OS took the last write; cleared on `WouldBlock`.
    pub(crate) writable: bool,
    pub(crate) in_ready_read: bool,
    pub(crate) in_bytes_written: bool,
    pub(crate) peer_name: String,
    pub(crate) peer: (HostAddress, u16),
    pub(crate) local: (HostAddress, u16),
    pub(crate) connect: Option<Box<ConnectPlan>>,
    pub(crate) connect_timeout: Duration,
    /// A socket made by `bind` and kept for the next connect.
    pub(crate) bound: Option<socket2::Socket>,
    /// The server that accepted this socket and keeps it alive until it is
    /// deleted (Qt: the socket is parented to the server).
    pub(crate) parent: Option<(Weak<dyn SocketParent>, usize)>,
    /// UDP only: the `ready_read` gate (see `datagram.rs`).
    pub(crate) datagram_read: DatagramRead,
    /// UDP only: the family of the OS socket (`AnyIP` for dual stack).
    pub(crate) datagram_protocol: NetworkLayerProtocol,
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

/// An owner of sockets (a server) told when one of them is deleted.
pub(crate) trait SocketParent {
    fn child_deleted(&self, key: usize);
}

/// Deferred work bits; see [`SocketCore::schedule`].
pub(crate) const WORK_READ: u8 = 1;
pub(crate) const WORK_FLUSH: u8 = 2;
/// UDP: look for a pending datagram after a read re-armed the gate.
pub(crate) const WORK_DATAGRAM: u8 = 4;

/// One socket: its data, its signals and its deletion state.
pub(crate) struct SocketCore {
    pub(crate) this: Weak<SocketCore>,
    pub(crate) kind: SocketType,
    pub(crate) d: RefCell<Data>,
    pub(crate) sig: SocketSignals,
    pub(crate) life: Lifecycle,
    work: Cell<u8>,
    /// Application handles alive; the last one going is Qt's `delete`.
    /// The loop and internal callbacks hold the core without counting.
    handles: Cell<usize>,
}

impl SocketCore {
    pub(crate) fn new(kind: SocketType) -> Rc<SocketCore> {
        Rc::new_cyclic(|this| SocketCore {
            this: this.clone(),
            kind,
            d: RefCell::new(Data {
                state: SocketState::Unconnected,
                error: SocketError::Unknown,
                error_string: Cow::Borrowed(super::text::UNKNOWN),
                open_mode: OpenMode::NOT_OPEN,
                stream: None,
                registration: None,
                read_buf: LazyQueue::default(),
                write_buf: LazyQueue::default(),
                read_buffer_size: 0,
                close: CloseIntent::None,
                close_called: false,
                read_side: ReadSide::Off,
                writable: false,
                in_ready_read: false,
                in_bytes_written: false,
                peer_name: String::new(),
                peer: (HostAddress::default(), 0),
                local: (HostAddress::default(), 0),
                connect: None,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                bound: None,
                parent: None,
                datagram_read: DatagramRead::Off,
                datagram_protocol: NetworkLayerProtocol::Unknown,
            }),
            sig: SocketSignals::default(),
            life: Lifecycle::new(),
            work: Cell::new(0),
            handles: Cell::new(0),
        })
    }

    /// Counts a new application handle.
    pub(crate) fn acquire(self: &Rc<Self>) -> Rc<Self> {
        self.handles.set(self.handles.get() + 1);
        Rc::clone(self)
    }

    /// Drops an application handle; the last one destroys the socket as
    /// Qt's destructor does (abort with its signals, `destroyed`, every
    /// connection dropped).
    pub(crate) fn release(&self) {
        let left = self.handles.get() - 1;
        self.handles.set(left);
        if left == 0 {
            self.delete_now();
        }
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
        d.error_string = text.into();
    }

    /// Records an error and emits `error_occurred` (Qt's `setErrorAndEmit`).
    pub(crate) fn raise(&self, error: SocketError, text: impl Into<Cow<'static, str>>) {
        self.set_error(error, text);
        self.sig.error_occurred.emit(&error);
    }

    /// Registers `stream` with the loop for reads and writes, once: edge
    /// triggered, never re-registered, readiness tracked in `Data`.
    pub(crate) fn register(&self, stream: &mut Transport) -> std::io::Result<IoRegistration> {
        let handler: Weak<dyn IoHandler> = self.this.clone();
        // A datagram socket never waits to write (Qt has no write notifier
        // for unbuffered UDP): readability only, which also spares an
        // event per datagram sent.
        let interest = match self.kind {
            SocketType::Udp => mio::Interest::READABLE,
            _ => mio::Interest::READABLE | mio::Interest::WRITABLE,
        };
        IoRegistration::register(stream, interest, handler)
    }

    /// Queues work to run from the loop on its next pass. Writes are
    /// flushed this way so that `bytes_written` is never emitted from
    /// inside `write` (Qt's rule), and a read that used up its fairness
    /// budget continues this way.
    pub(crate) fn schedule(&self, work: u8) {
        let before = self.work.get();
        self.work.set(before | work);
        if before == 0 {
            let this = self.this.clone();
            EventDispatcher::post(move || {
                if let Some(socket) = this.upgrade() {
                    socket.run_scheduled();
                }
            });
        }
    }

    fn run_scheduled(&self) {
        let work = self.work.replace(0);
        if work & WORK_FLUSH != 0 {
            self.flush_now();
        }
        if work & WORK_READ != 0 {
            self.read_now();
        }
        if work & WORK_DATAGRAM != 0 {
            self.datagram_notification();
        }
    }

    pub(crate) fn block_signals(&self, block: bool) -> bool {
        self.sig.block(block)
    }

    pub(crate) fn signals_blocked(&self) -> bool {
        self.sig.state_changed.signals_blocked()
    }

    /// `delete_later`'s second half: abort, emit `destroyed`, drop every
    /// connection.
    pub(crate) fn delete_now(&self) {
        if self.life.begin_delete() {
            self.abort();
            self.life.finish();
            self.sig.disconnect_all();
            let parent = self.d.borrow_mut().parent.take();
            if let Some(parent) = parent.and_then(|(p, key)| Some((p.upgrade()?, key))) {
                parent.0.child_deleted(parent.1);
            }
        }
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
                let read_side =
                    readiness.is_readable() || readiness.is_read_closed() || readiness.is_error();
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
                    self.read_now();
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
