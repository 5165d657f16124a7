//! Sockets under async/await: `connect(..).await`, `read_async`,
//! `write_all_async`, and `futures_io::AsyncRead`/`AsyncWrite`.
//!
//! # How a task learns of socket events
//!
//! The first async call on a socket attaches a small hub to it: direct
//! connections to `ready_read`, `read_channel_finished`, `bytes_written`,
//! `state_changed` and `error_occurred` whose slots only wake the task
//! waiting to read or to write. A socket that is never awaited has no hub
//! and pays nothing; one that is pays one cheap slot call per emission.
//! The engine only holds the hub: the futures read and write through the
//! socket's own `IoDevice` calls, so the read buffer limit
//! (`set_read_buffer_size`) and the write buffer behave exactly as for
//! slot code.
//!
//! # Back-pressure on writes
//!
//! `write` never returns short and the write buffer has no limit (as in
//! Qt), so a writer that outpaces the peer would grow it without bound.
//! The async writes wait instead while more than [`WRITE_HIGH_WATER`]
//! bytes wait in the write buffer, and `poll_flush` waits until it is
//! empty.
//!
//! # Reuse by other socket types
//!
//! The code is generic over [`AsyncDevice`]: an `IoDevice` plus the
//! `AbstractSocket` whose signals announce its data. A socket type whose
//! device reads something else than the TCP stream (TLS) implements it and
//! invokes the crate-internal `async_device!` macro for its own inherent
//! `read_async`/`write_all_async` and `AsyncRead`/`AsyncWrite` impls.
//!
//! # Examples
//!
//! ```
//! use sigloop_core::block_on;
//! use sigloop_net::{SocketError, TcpSocket};
//!
//! // Nothing listens on this port any more: the awaited connect fails
//! // with the error (and text) the signals report.
//! let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
//! let outcome = block_on(async move {
//!     let socket = TcpSocket::new();
//!     let result = socket.connect("127.0.0.1", port).await;
//!     (result, socket.error_string())
//! });
//! assert_eq!(
//!     outcome,
//!     Some((Err(SocketError::ConnectionRefused), "Connection refused".to_string()))
//! );
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use sigloop_core::{DeviceError, EventDispatcher, IoDevice};
use sigloop_signals::Connection;

use crate::abstract_socket::{AbstractSocket, WeakAbstractSocket};
use crate::socket::{SocketError, SocketState};

/// The async writes wait while the write buffer holds more than this
/// many bytes (64 KiB): enough to keep a connection busy, little enough
/// that a writer faster than its peer waits instead of queueing
/// everything.
///
/// # Examples
///
/// ```
/// use sigloop_net::async_io::WRITE_HIGH_WATER;
/// assert_eq!(WRITE_HIGH_WATER, 64 * 1024);
/// ```
pub const WRITE_HIGH_WATER: usize = 64 * 1024;

/// Wakers of the task waiting to read and the one waiting to write, woken
/// by the socket's signals.
#[derive(Default)]
pub(crate) struct Hub {
    read: RefCell<Option<Waker>>,
    write: RefCell<Option<Waker>>,
    /// `read_channel_finished` was seen: no more data will come.
    read_finished: Cell<bool>,
}

impl Hub {
    fn wake(slot: &RefCell<Option<Waker>>) {
        // Taken first: the waker runs with no borrow of ours held.
        let waker = slot.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn wake_reader(&self) {
        Hub::wake(&self.read);
    }

    fn wake_writer(&self) {
        Hub::wake(&self.write);
    }

    fn wake_both(&self) {
        self.wake_reader();
        self.wake_writer();
    }

    fn park(slot: &RefCell<Option<Waker>>, cx: &Context<'_>) {
        if slot
            .borrow()
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return;
        }
        // The executor's clone runs before the borrow, the old waker's
        // drop after it.
        let waker = cx.waker().clone();
        let previous = slot.borrow_mut().replace(waker);
        drop(previous);
    }
}

/// The socket's hub, attached on first use (kept with the socket's rarely
/// used state, so an idle socket that is never awaited stays as small).
fn hub(socket: &AbstractSocket) -> Rc<Hub> {
    let existing = socket
        .core
        .d
        .borrow()
        .rare()
        .and_then(|rare| rare.async_hub.clone());
    if let Some(hub) = existing {
        return hub;
    }
    let hub = Rc::new(Hub::default());
    // The connections live as long as the socket's signals: never broken.
    let h = hub.clone();
    let _: Connection = socket.ready_read().connect(move |_| h.wake_reader());
    let h = hub.clone();
    let _: Connection = socket.read_channel_finished().connect(move |_| {
        h.read_finished.set(true);
        h.wake_reader();
    });
    let h = hub.clone();
    let _: Connection = socket.bytes_written().connect(move |_| h.wake_writer());
    let h = hub.clone();
    let _: Connection = socket.state_changed().connect(move |_| h.wake_both());
    let h = hub.clone();
    let _: Connection = socket.error_occurred().connect(move |_| h.wake_both());
    socket.core.d.borrow_mut().rare_mut().async_hub = Some(hub.clone());
    hub
}

/// A readable and writable device whose socket's signals announce its
/// data: what the async reads and writes need.
///
/// `TcpSocket` implements it; a socket type that dereferences to
/// `TcpSocket` but reads other bytes (TLS) implements it for itself.
///
/// # Examples
///
/// ```
/// use sigloop_net::async_io::AsyncDevice;
/// use sigloop_net::TcpSocket;
///
/// fn state_of(device: &impl AsyncDevice) -> sigloop_net::SocketState {
///     device.async_socket().state()
/// }
/// assert_eq!(state_of(&TcpSocket::new()), sigloop_net::SocketState::Unconnected);
/// ```
pub trait AsyncDevice: IoDevice {
    /// The socket whose signals (`ready_read`, `bytes_written`,
    /// `state_changed`, …) tell when the device can go on.
    ///
    /// # Examples
    ///
    /// See [`AsyncDevice`].
    fn async_socket(&self) -> &AbstractSocket;
}

/// An `io::Error` carrying the socket's error and Qt's text for it.
fn socket_io_error(socket: &AbstractSocket) -> io::Error {
    let kind = match socket.error() {
        SocketError::ConnectionRefused => io::ErrorKind::ConnectionRefused,
        SocketError::RemoteHostClosed => io::ErrorKind::ConnectionReset,
        SocketError::SocketTimeout | SocketError::ProxyConnectionTimeout => io::ErrorKind::TimedOut,
        SocketError::AddressInUse => io::ErrorKind::AddrInUse,
        SocketError::SocketAddressNotAvailable => io::ErrorKind::AddrNotAvailable,
        SocketError::SocketAccess => io::ErrorKind::PermissionDenied,
        SocketError::UnsupportedSocketOperation => io::ErrorKind::Unsupported,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, socket.error_string())
}

fn device_io_error(socket: &AbstractSocket, err: DeviceError) -> io::Error {
    match err {
        DeviceError::NotOpen => io::Error::new(io::ErrorKind::NotConnected, err.to_string()),
        DeviceError::Io { .. } => socket_io_error(socket),
        other => io::Error::other(other.to_string()),
    }
}

/// Whether no more bytes will come: the read channel finished, or the
/// socket is neither connected nor on its way.
fn at_eof(socket: &AbstractSocket, hub: &Hub) -> bool {
    hub.read_finished.get()
        || !matches!(
            socket.state(),
            SocketState::HostLookup | SocketState::Connecting | SocketState::Connected
        )
}

/// `AsyncRead::poll_read` for any [`AsyncDevice`]: buffered bytes at once,
/// `Ok(0)` at the end of the stream (the peer closed; a close by the peer
/// is not an error), the socket's error otherwise, else waits for
/// `ready_read`.
pub(crate) fn poll_read<D: AsyncDevice + ?Sized>(
    device: &D,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let socket = device.async_socket();
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let hub = hub(socket);
    match device.read_into(buf) {
        Ok(n) if n > 0 => return Poll::Ready(Ok(n)),
        Ok(_) | Err(DeviceError::NotOpen) => {}
        Err(err) => return Poll::Ready(Err(device_io_error(socket, err))),
    }
    if at_eof(socket, &hub) {
        return Poll::Ready(match socket.error() {
            SocketError::RemoteHostClosed | SocketError::Unknown => Ok(0),
            _ => Err(socket_io_error(socket)),
        });
    }
    Hub::park(&hub.read, cx);
    Poll::Pending
}

/// `AsyncWrite::poll_write` for any [`AsyncDevice`]: waits while the write
/// buffer holds more than [`WRITE_HIGH_WATER`] bytes, then queues all of
/// `buf` (a socket write never returns short).
pub(crate) fn poll_write<D: AsyncDevice + ?Sized>(
    device: &D,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    let socket = device.async_socket();
    let hub = hub(socket);
    match socket.state() {
        SocketState::HostLookup | SocketState::Connecting => {
            Hub::park(&hub.write, cx);
            return Poll::Pending;
        }
        SocketState::Connected => {}
        _ => {
            return Poll::Ready(Err(match socket.error() {
                SocketError::Unknown => {
                    io::Error::new(io::ErrorKind::NotConnected, "the socket is not connected")
                }
                _ => socket_io_error(socket),
            }))
        }
    }
    if device.bytes_to_write() > WRITE_HIGH_WATER {
        Hub::park(&hub.write, cx);
        return Poll::Pending;
    }
    Poll::Ready(
        device
            .write(buf)
            .map_err(|err| device_io_error(socket, err)),
    )
}

/// `AsyncWrite::poll_flush` for any [`AsyncDevice`]: waits until the
/// write buffer is empty (or the socket closed).
pub(crate) fn poll_flush<D: AsyncDevice + ?Sized>(
    device: &D,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let socket = device.async_socket();
    if device.bytes_to_write() == 0 {
        return Poll::Ready(Ok(()));
    }
    if !matches!(
        socket.state(),
        SocketState::HostLookup
            | SocketState::Connecting
            | SocketState::Connected
            | SocketState::Closing
    ) {
        return Poll::Ready(Err(socket_io_error(socket)));
    }
    let hub = hub(socket);
    Hub::park(&hub.write, cx);
    Poll::Pending
}

/// `AsyncWrite::poll_close` for any [`AsyncDevice`]: a graceful
/// `disconnect_from_host` (queued bytes are sent first), done once the
/// socket is `Unconnected`. TCP has no half-close here, as in Qt: reading
/// ends too.
pub(crate) fn poll_close<D: AsyncDevice + ?Sized>(
    device: &D,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let socket = device.async_socket();
    let hub = hub(socket);
    match socket.state() {
        SocketState::Unconnected => return Poll::Ready(Ok(())),
        SocketState::Closing => {}
        _ => socket.disconnect_from_host(),
    }
    if socket.state() == SocketState::Unconnected {
        return Poll::Ready(Ok(()));
    }
    Hub::park(&hub.write, cx);
    Poll::Pending
}

/// The future of [`read_async`](crate::TcpSocket::read_async).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use sigloop_core::block_on;
/// use sigloop_net::TcpSocket;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// let peer = std::thread::spawn(move || {
///     let (mut peer, _) = listener.accept().unwrap();
///     peer.write_all(b"hi").unwrap();
///     let mut bye = [0u8; 3];
///     peer.read_exact(&mut bye).unwrap();
/// });
/// let socket = TcpSocket::new();
/// let greeting = block_on(async move {
///     socket.connect("127.0.0.1", port).await.unwrap();
///     let mut buf = [0u8; 2];
///     let mut got = 0;
///     while got < 2 {
///         got += socket.read_async(&mut buf[got..]).await.unwrap();
///     }
///     socket.write_all_async(b"bye").await.unwrap();
///     buf
/// });
/// assert_eq!(greeting, Some(*b"hi"));
/// peer.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ReadAsync<'a, D: ?Sized> {
    device: &'a D,
    buf: &'a mut [u8],
}

impl<'a, D: ?Sized> ReadAsync<'a, D> {
    pub(crate) fn new(device: &'a D, buf: &'a mut [u8]) -> Self {
        ReadAsync { device, buf }
    }
}

impl<D: AsyncDevice + ?Sized> Future for ReadAsync<'_, D> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_read(this.device, cx, this.buf)
    }
}

impl<D: ?Sized> fmt::Debug for ReadAsync<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadAsync")
            .field("len", &self.buf.len())
            .finish()
    }
}

/// The future of [`write_all_async`](crate::TcpSocket::write_all_async).
///
/// # Examples
///
/// See [`ReadAsync`].
#[must_use = "futures do nothing unless awaited"]
pub struct WriteAllAsync<'a, D: ?Sized> {
    device: &'a D,
    data: &'a [u8],
}

impl<'a, D: ?Sized> WriteAllAsync<'a, D> {
    pub(crate) fn new(device: &'a D, data: &'a [u8]) -> Self {
        WriteAllAsync { device, data }
    }
}

impl<D: AsyncDevice + ?Sized> Future for WriteAllAsync<'_, D> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while !this.data.is_empty() {
            match poll_write(this.device, cx, this.data) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => this.data = &this.data[n..],
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<D: ?Sized> fmt::Debug for WriteAllAsync<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteAllAsync")
            .field("left", &self.data.len())
            .finish()
    }
}

/// Implements the inherent `read_async`/`write_all_async` and
/// `futures_io::AsyncRead`/`AsyncWrite` (for the type and for a shared
/// reference to it) of a type that implements [`AsyncDevice`].
macro_rules! async_device {
    ($ty:ty) => {
        impl $ty {
            /// Reads what the read buffer holds into `buf`, waiting for
            /// `ready_read` if it is empty: the count, `Ok(0)` once the
            /// peer closed and everything was read, or the socket's error
            /// (its `error_string` as the message). Reading frees room
            /// under the read buffer limit, as `read` does.
            ///
            /// Named `_async` so that it does not hide `IoDevice::read`.
            ///
            /// Qt: `waitForReadyRead` + `read`, without blocking.
            ///
            /// # Errors
            ///
            /// The socket's error other than a close by the peer, as an
            /// `io::Error` with Qt's text.
            ///
            /// # Examples
            ///
            /// ```no_run
            /// # async fn f(socket: sigloop_net::TcpSocket) -> std::io::Result<()> {
            /// let mut buf = [0u8; 1024];
            /// let n = socket.read_async(&mut buf).await?;
            /// println!("{:?}", &buf[..n]);
            /// # Ok(()) }
            /// ```
            pub fn read_async<'a>(
                &'a self,
                buf: &'a mut [u8],
            ) -> crate::async_io::ReadAsync<'a, Self> {
                crate::async_io::ReadAsync::new(self, buf)
            }

            /// Queues all of `data` in the write buffer, first waiting
            /// while it holds more than
            /// [`WRITE_HIGH_WATER`](crate::async_io::WRITE_HIGH_WATER)
            /// bytes; the loop sends it. Waits for the connection while
            /// connecting.
            ///
            /// Qt: `write`, with back-pressure.
            ///
            /// # Errors
            ///
            /// `NotConnected` on a socket that is not connected, or the
            /// socket's error with Qt's text.
            ///
            /// # Examples
            ///
            /// ```no_run
            /// # async fn f(socket: sigloop_net::TcpSocket) -> std::io::Result<()> {
            /// socket.write_all_async(b"hello\n").await?;
            /// # Ok(()) }
            /// ```
            pub fn write_all_async<'a>(
                &'a self,
                data: &'a [u8],
            ) -> crate::async_io::WriteAllAsync<'a, Self> {
                crate::async_io::WriteAllAsync::new(self, data)
            }
        }

        impl ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                crate::async_io::poll_read(&*self, cx, buf)
            }
        }

        impl ::futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                crate::async_io::poll_read(*self, cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                crate::async_io::poll_write(&*self, cx, buf)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                crate::async_io::poll_flush(&*self, cx)
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                crate::async_io::poll_close(&*self, cx)
            }
        }

        impl ::futures_io::AsyncWrite for &$ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                crate::async_io::poll_write(*self, cx, buf)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                crate::async_io::poll_flush(*self, cx)
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                crate::async_io::poll_close(*self, cx)
            }
        }
    };
}

pub(crate) use async_device;

/// What the connect future and its slots share.
#[derive(Default)]
struct ConnectWait {
    result: Cell<Option<Result<(), SocketError>>>,
    waker: RefCell<Option<Waker>>,
}

impl ConnectWait {
    fn settle(&self, result: Result<(), SocketError>) {
        if self.result.get().is_some() {
            return;
        }
        self.result.set(Some(result));
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The future of [`AbstractSocket::connect`]: `Ok(())` at `connected`,
/// `Err` with the error `error_occurred` carried (the socket's
/// `error_string` has Qt's text). Dropping it disconnects its slots; the
/// connection attempt itself goes on (call `abort` to stop it).
///
/// # Examples
///
/// See [`AbstractSocket::connect`].
#[must_use = "the connection attempt has started; await the future for its outcome"]
pub struct Connecting {
    wait: Rc<ConnectWait>,
    connections: [Connection; 3],
}

impl Future for Connecting {
    type Output = Result<(), SocketError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.wait.result.get() {
            return Poll::Ready(result);
        }
        // The executor's clone runs before the borrow.
        let waker = cx.waker().clone();
        let previous = self.wait.waker.borrow_mut().replace(waker);
        drop(previous);
        Poll::Pending
    }
}

impl Drop for Connecting {
    fn drop(&mut self) {
        for connection in &self.connections {
            connection.disconnect();
        }
    }
}

impl fmt::Debug for Connecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connecting")
            .field("result", &self.wait.result.get())
            .finish()
    }
}

impl AbstractSocket {
    /// Starts [`connect_to_host`](Self::connect_to_host) and returns a
    /// future of its outcome: `Ok(())` once `connected` is emitted, or
    /// the error `error_occurred` carried, the same errors (and
    /// [`error_string`](Self::error_string) texts) as the signals give.
    /// The attempt starts now, not at the first poll, and every signal is
    /// still emitted. A socket aborted meanwhile gives its current error
    /// (`Unknown` if none).
    ///
    /// Qt: `connectToHost` followed by waiting for `connected` or
    /// `errorOccurred`, without blocking.
    ///
    /// # Errors
    ///
    /// The [`SocketError`] of the failed attempt, for instance
    /// `ConnectionRefused`, `HostNotFound`, `SocketTimeout`, or
    /// `Operation` if the socket was busy.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::block_on;
    /// use sigloop_net::{SocketError, TcpSocket};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let port = listener.local_addr()?.port();
    /// let socket = TcpSocket::new();
    /// assert_eq!(block_on(socket.connect("127.0.0.1", port)), Some(Ok(())));
    ///
    /// drop(listener); // nothing listens there any more
    /// let refused = TcpSocket::new();
    /// let outcome = block_on(refused.connect("127.0.0.1", port));
    /// assert_eq!(outcome, Some(Err(SocketError::ConnectionRefused)));
    /// assert_eq!(refused.error_string(), "Connection refused");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, host: &str, port: u16) -> Connecting {
        let wait = Rc::new(ConnectWait::default());
        let w = wait.clone();
        let on_connected = self.connected().connect(move |_| w.settle(Ok(())));
        let w = wait.clone();
        let on_error = self
            .error_occurred()
            .connect(move |error| w.settle(Err(*error)));
        let w = wait.clone();
        let weak: WeakAbstractSocket = self.downgrade();
        let on_state = self.state_changed().connect(move |state| {
            if *state != SocketState::Unconnected {
                return;
            }
            // An `error_occurred` that follows the state change carries
            // the error: it wins if it comes in this emission sequence.
            // Otherwise (an abort) the socket's error settles it later.
            let (w, weak) = (w.clone(), weak.clone());
            EventDispatcher::post(move || {
                let error = weak.upgrade().map_or(SocketError::Unknown, |s| s.error());
                w.settle(Err(error));
            });
        });
        self.connect_to_host(host, port);
        Connecting {
            wait,
            connections: [on_connected, on_error, on_state],
        }
    }
}
