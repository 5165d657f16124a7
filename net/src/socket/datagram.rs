//! The datagram side of the abstract socket: what `QUdpSocket` adds to
//! `QAbstractSocket` (Qt's QUdpSocket documentation).
//!
//! The state machine, close paths and connect attempts are the shared ones;
//! a UDP socket lives in `Data::stream` as [`Transport::Udp`] while it is
//! `Bound` or `Connected`, registered for readability only.
//!
//! # `ready_read` gating over edge-triggered readiness
//!
//! Qt keeps the read notifier of an unbuffered socket level-triggered and
//! gates it with `hasPendingData`: on a notification it peeks; a pending
//! datagram closes the gate ([`DatagramRead::Announced`]) and `ready_read`
//! is emitted; no further `ready_read` comes until the application reads a
//! datagram, which opens the gate and re-enables the notifier, so a queued
//! datagram is announced again from the loop. A pending error (ICMP port
//! unreachable on a connected socket) is consumed by that peek and still
//! gets a `ready_read`, without closing the gate.
//!
//! mio is edge-triggered, so "re-enable the notifier" becomes: after every
//! read, schedule a look from the loop ([`WORK_DATAGRAM`]); the look peeks
//! and runs the same notification as an edge would. A peek that finds
//! nothing does nothing, exactly where Qt's level-triggered poll would not
//! have fired.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;
use nix::sys::socket::{
    recv, recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6,
    SockaddrStorage,
};
use sigloop_core::__private::Readiness;
use sigloop_core::{DeviceError, OpenMode};

use super::engine::{DatagramRead, SocketCore, WORK_DATAGRAM};
use super::transport::Transport;
use super::{from_io, text, BindMode, Op, SocketError, SocketState};
use crate::host_address::{HostAddress, NetworkLayerProtocol, SpecialAddress};
use crate::network_datagram::NetworkDatagram;
use crate::proxy::ProxyType;

/// What a peek at the receive queue saw.
enum Peek {
    /// A datagram of this many bytes waits.
    Datagram(usize),
    /// Nothing waits.
    Empty,
    /// A pending socket error, which the peek consumed.
    Error,
}

/// `errno` values the code checks.
const EMSGSIZE: i32 = Errno::EMSGSIZE as i32;
const ECONNRESET: i32 = Errno::ECONNRESET as i32;
const EPIPE: i32 = Errno::EPIPE as i32;

/// The largest UDP payload (65535 bytes less the UDP header).
const MAX_DATAGRAM: usize = 65_535 - 8;

fn errno_of(err: &io::Error) -> i32 {
    err.raw_os_error().unwrap_or(0)
}

impl SocketCore {
    /// Runs `f` on the UDP socket, if there is one.
    pub(crate) fn with_udp<T>(&self, f: impl FnOnce(&mio::net::UdpSocket) -> T) -> Option<T> {
        let d = self.d.borrow();
        match d.stream.as_ref() {
            Some(Transport::Udp(socket)) => Some(f(socket)),
            _ => None,
        }
    }

    /// Whether there is an OS socket to read from or write to (Qt's
    /// `QT_CHECK_BOUND`, which tests `isValid()`).
    pub(crate) fn has_datagram_socket(&self) -> bool {
        self.with_udp(|_| ()).is_some()
    }

    // ----- bind --------------------------------------------------------

    /// Qt: `QAbstractSocket::bind()` for a UDP socket.
    pub(crate) fn bind_datagram(
        &self,
        address: &HostAddress,
        port: u16,
        mode: BindMode,
    ) -> Result<(), SocketError> {
        if self.state() != SocketState::Unconnected {
            return Err(self.refuse_bind());
        }
        // Qt binds a proxied socket at the proxy (SOCKS5 `UDP ASSOCIATE`,
        // see `proxied_udp.rs`); a proxy that cannot relay is refused
        // rather than bypassed.
        match self.choose_proxy("", port) {
            Some(proxy) if proxy.proxy_type() == ProxyType::NoProxy => {}
            Some(proxy) if proxy.proxy_type() == ProxyType::Socks5 => {
                return self.bind_through_socks5(&proxy, address, port, mode);
            }
            _ => {
                self.raise(SocketError::UnsupportedSocketOperation, text::UNSUPPORTED);
                return Err(SocketError::UnsupportedSocketOperation);
            }
        }
        self.bind_local_datagram(address, port, mode)?;
        self.change_state(SocketState::Bound);
        Ok(())
    }

    /// Binds and registers the OS socket, without a state change.
    pub(crate) fn bind_local_datagram(
        &self,
        address: &HostAddress,
        port: u16,
        mode: BindMode,
    ) -> Result<(), SocketError> {
        let dual = *address == SpecialAddress::Any;
        let target = address
            .to_socket_addr(port)
            .unwrap_or_else(|| SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
        let mut result =
            crate::socket_util::bind_socket(super::SocketType::Udp, target, mode, dual);
        if dual && matches!(&result, Err(e) if e.raw_os_error() == Some(Errno::EAFNOSUPPORT as i32))
        {
            // No IPv6 (EAFNOSUPPORT): Any falls back to AnyIPv4, as Qt's
            // engine does.
            let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
            result = crate::socket_util::bind_socket(super::SocketType::Udp, v4, mode, false);
        }
        let socket = match result {
            Ok(socket) => socket,
            Err(err) => {
                let (error, text) = from_io(Op::Bind, &err);
                self.raise(error, text);
                return Err(error);
            }
        };
        let protocol = match (dual, target) {
            (true, _) if socket.domain().is_ok_and(|d| d == socket2::Domain::IPV6) => {
                NetworkLayerProtocol::AnyIP
            }
            (_, SocketAddr::V6(_)) if !dual => NetworkLayerProtocol::IPv6,
            _ => NetworkLayerProtocol::IPv4,
        };
        let mut stream = Transport::Udp(mio::net::UdpSocket::from_std(socket.into()));
        let registration = match self.register(&mut stream) {
            Ok(registration) => registration,
            Err(err) => {
                let (error, text) = from_io(Op::Create, &err);
                self.raise(error, text);
                return Err(error);
            }
        };
        {
            let mut d = self.d.borrow_mut();
            let local = stream.local_addr().ok();
            let (address, port) = match local {
                // Qt reports the dual-stack Any address as Any ("0.0.0.0").
                Some(a) if protocol == NetworkLayerProtocol::AnyIP => {
                    (HostAddress::from(SpecialAddress::Any), a.port())
                }
                Some(a) => (HostAddress::from(a.ip()), a.port()),
                None => (HostAddress::default(), 0),
            };
            d.set_local(&address, port);
            d.stream = Some(stream);
            d.registration = Some(registration);
            d.datagram_read = DatagramRead::Armed;
            d.datagram_protocol = protocol;
        }
        Ok(())
    }

    /// Before `connect_to_host` on a bound socket: the bound OS socket is
    /// taken off the loop and kept for the connect, so the connected socket
    /// keeps its descriptor and local port (Qt's `bindAndConnectToHost`).
    pub(crate) fn datagram_prepare_connect(&self) {
        if self.state() != SocketState::Bound {
            return;
        }
        let mut d = self.d.borrow_mut();
        let (Some(mut stream), registration) = (d.stream.take(), d.registration.take()) else {
            return;
        };
        if let Some(registration) = registration {
            if let Err(err) = registration.deregister(&mut stream) {
                log::debug!("UdpSocket: deregister before connect: {err}");
            }
        }
        if let Transport::Udp(udp) = stream {
            d.rare_mut().bound = Some(socket2::Socket::from(OwnedFd::from(udp)));
        }
        d.datagram_read = DatagramRead::Off;
    }

    // ----- ready_read gating --------------------------------------------

    /// Readiness from the loop.
    pub(crate) fn datagram_ready(&self, readiness: Readiness) {
        if self.relayed() {
            self.relay_check_control();
        }
        if readiness.is_readable() || readiness.is_read_closed() || readiness.is_error() {
            self.datagram_notification();
        }
    }

    /// Qt's `canReadNotification` for an unbuffered UDP socket.
    pub(crate) fn datagram_notification(&self) {
        {
            let d = self.d.borrow();
            if !matches!(d.state, SocketState::Bound | SocketState::Connected)
                || d.datagram_read != DatagramRead::Armed
            {
                return;
            }
        }
        match self.peek() {
            Peek::Empty => return,
            Peek::Datagram(_) => self.d.borrow_mut().datagram_read = DatagramRead::Announced,
            // Qt emits readyRead for it too; the peek consumed the error.
            Peek::Error => {}
        }
        /// Dropped only when a `ready_read` slot unwinds: the datagram it
        /// was told of may still be unread, and a closed gate would
        /// announce nothing more until the application reads.
        struct Unfinished<'a>(&'a SocketCore);
        impl Drop for Unfinished<'_> {
            fn drop(&mut self) {
                self.0.datagram_rearm();
            }
        }
        let unfinished = Unfinished(self);
        self.emit_ready_read();
        std::mem::forget(unfinished);
    }

    /// After any read: the gate opens and the loop looks again.
    fn datagram_rearm(&self) {
        {
            let mut d = self.d.borrow_mut();
            if d.datagram_read == DatagramRead::Off {
                return;
            }
            d.datagram_read = DatagramRead::Armed;
        }
        self.schedule(WORK_DATAGRAM);
    }

    /// Peeks at the next datagram's size (`MSG_PEEK | MSG_TRUNC`).
    fn peek(&self) -> Peek {
        if let Some(relayed) = self.relay_peek() {
            return relayed.map_or(Peek::Empty, Peek::Datagram);
        }
        let result = self.with_udp(|socket| {
            recv(
                socket.as_raw_fd(),
                &mut [],
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
            )
        });
        match result {
            Some(Ok(n)) => Peek::Datagram(n),
            Some(Err(Errno::EAGAIN)) | None => Peek::Empty,
            Some(Err(Errno::EINTR)) => self.peek(),
            Some(Err(_)) => Peek::Error,
        }
    }

    // ----- reading --------------------------------------------------------

    /// Qt: `QUdpSocket::hasPendingDatagrams()`.
    pub(crate) fn has_pending_datagrams(&self) -> bool {
        if let Some(relayed) = self.relay_peek() {
            return relayed.is_some();
        }
        let result = self.with_udp(|socket| {
            let mut byte = [0u8; 1];
            recv(
                socket.as_raw_fd(),
                &mut byte,
                MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
            )
        });
        match result {
            None => {
                log::warn!("UdpSocket::has_pending_datagrams() called on a UdpSocket when not in BoundState");
                false
            }
            Some(Ok(_)) | Some(Err(Errno::EMSGSIZE)) => true,
            Some(Err(_)) => false,
        }
    }

    /// Qt: `QUdpSocket::pendingDatagramSize()` (`None` for Qt's -1).
    pub(crate) fn pending_datagram_size(&self) -> Option<usize> {
        if !self.has_datagram_socket() {
            log::warn!(
                "UdpSocket::pending_datagram_size() called on a UdpSocket when not in BoundState"
            );
            return None;
        }
        match self.peek() {
            Peek::Datagram(n) => Some(n),
            Peek::Empty | Peek::Error => None,
        }
    }

    /// The size of the next datagram, or 0 (Qt's `bytesAvailable` on an
    /// unbuffered UDP socket, `FIONREAD`).
    pub(crate) fn datagram_bytes_available(&self) -> usize {
        match self.peek() {
            Peek::Datagram(n) => n,
            Peek::Empty | Peek::Error => 0,
        }
    }

    /// Qt: `QUdpSocket::readDatagram(data, maxSize, address, port)`.
    pub(crate) fn read_datagram(
        &self,
        buf: &mut [u8],
    ) -> Result<(usize, HostAddress, u16), SocketError> {
        if self.relayed() {
            let datagram = self.relay_take(buf.len());
            self.datagram_rearm();
            let Some(datagram) = datagram else {
                return Ok((0, HostAddress::default(), 0));
            };
            let n = datagram.data().len();
            buf[..n].copy_from_slice(datagram.data());
            return Ok((
                n,
                datagram.sender_address().clone(),
                datagram.sender_port().unwrap_or(0),
            ));
        }
        let Some(result) = self.with_udp(|socket| loop {
            match socket.recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        }) else {
            log::warn!("UdpSocket::read_datagram() called on a UdpSocket when not in BoundState");
            return Err(SocketError::Operation);
        };
        self.datagram_rearm();
        match result {
            Ok((n, from)) => Ok((n, HostAddress::from(from), from.port())),
            Err(err) => {
                let (error, text) = from_io(Op::ReceiveDatagram, &err);
                self.raise(error, text);
                Err(error)
            }
        }
    }

    /// Qt: `QUdpSocket::receiveDatagram(maxSize)`.
    pub(crate) fn receive_datagram(&self, max: Option<usize>) -> NetworkDatagram {
        if !self.has_datagram_socket() {
            log::warn!(
                "UdpSocket::receive_datagram() called on a UdpSocket when not in BoundState"
            );
            return NetworkDatagram::new();
        }
        if self.relayed() {
            let datagram = self.relay_take(max.unwrap_or(MAX_DATAGRAM));
            self.datagram_rearm();
            return datagram.unwrap_or_default();
        }
        let size = match max {
            // No more room than a datagram can take: a huge `max` is an
            // ordinary argument, not an allocation. (No peek here: it would
            // consume a pending error that the read must report.)
            Some(max) => max.min(MAX_DATAGRAM),
            None => match self.peek() {
                Peek::Datagram(n) => n,
                // Qt returns before re-enabling the notifier here.
                Peek::Empty | Peek::Error => return NetworkDatagram::new(),
            },
        };
        let mut data = vec![0u8; size];
        let result = self
            .with_udp(|socket| receive_with_header(socket, &mut data))
            .unwrap_or_else(|| Err(io::Error::from(io::ErrorKind::NotConnected)));
        self.datagram_rearm();
        match result {
            Ok((n, sender, destination, hop_limit, interface)) => {
                data.truncate(n);
                if data.capacity() > 2 * n.max(1024) {
                    // A generous `max` should not leave the room in every
                    // datagram it received.
                    data.shrink_to_fit();
                }
                NetworkDatagram::received(data, sender, destination, hop_limit, interface)
            }
            Err(err) => {
                let (error, text) = from_io(Op::ReceiveDatagram, &err);
                self.raise(error, text);
                NetworkDatagram::new()
            }
        }
    }

    // ----- writing --------------------------------------------------------

    /// Qt: `QUdpSocket::writeDatagram()`: auto-binds an unconnected socket
    /// (`state_changed(Bound)`), sends, and emits `bytes_written`
    /// synchronously on success.
    pub(crate) fn write_datagram(&self, dgram: &NetworkDatagram) -> Result<usize, SocketError> {
        match self.state() {
            SocketState::Unconnected => {
                self.bind_datagram(
                    &HostAddress::from(SpecialAddress::Any),
                    0,
                    BindMode::DEFAULT_FOR_PLATFORM,
                )?;
            }
            SocketState::Bound | SocketState::Connected => {}
            state => {
                log::warn!(
                    "UdpSocket::write_datagram() called in {}: not bound or connected",
                    state.qt_name()
                );
                return Err(SocketError::Operation);
            }
        }
        if self.relayed() {
            return self.relay_send(dgram);
        }
        let protocol = self.d.borrow().datagram_protocol;
        let target = match dgram.destination_port() {
            Some(port) if !dgram.destination_address().is_null() => {
                match destination_for(protocol, dgram.destination_address(), port) {
                    Some(target) => Some(target),
                    None => {
                        self.raise(SocketError::Network, text::SEND_MESSAGE);
                        return Err(SocketError::Network);
                    }
                }
            }
            // No destination: the connected peer.
            _ => None,
        };
        let result = self
            .with_udp(|socket| send_with_header(socket, dgram, target))
            .unwrap_or_else(|| Err(io::Error::from(io::ErrorKind::NotConnected)));
        match result {
            Ok(n) => {
                self.sig.bytes_written.emit(&(n as u64));
                Ok(n)
            }
            Err(err) => {
                let (error, text) = from_io(Op::SendDatagram, &err);
                self.raise(error, text);
                Err(error)
            }
        }
    }

    // ----- connected read()/write() ------------------------------------

    /// Qt: `QAbstractSocket::readData` on a connected UDP socket: one
    /// datagram, truncated to `buf`. An error (a pending ICMP "port
    /// unreachable") resets the socket to `Unconnected` without a signal,
    /// with `Network` and the OS text, as in Qt.
    pub(crate) fn datagram_read_connected(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        check_mode(self.d.borrow().open_mode, OpenMode::READ_ONLY)?;
        if self.state() != SocketState::Connected || !self.has_datagram_socket() {
            return if buf.is_empty() {
                Ok(0)
            } else {
                Err(DeviceError::NotConnected)
            };
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let result = self
            .with_udp(|socket| loop {
                match socket.recv(buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            })
            .unwrap_or(Ok(0));
        match result {
            Ok(n) => {
                self.datagram_rearm();
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || errno_of(&e) == ECONNRESET => {
                self.datagram_rearm();
                Ok(0)
            }
            Err(err) => {
                let message = strerror(&err);
                self.set_error(SocketError::Network, message.clone());
                {
                    let mut d = self.d.borrow_mut();
                    d.stream = None;
                    d.registration = None;
                    d.datagram_read = DatagramRead::Off;
                    d.state = SocketState::Unconnected;
                }
                Err(DeviceError::Io {
                    kind: err.kind(),
                    message,
                })
            }
        }
    }

    /// Peeks one datagram into `buf` (connected `peek`).
    pub(crate) fn datagram_peek_connected(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        check_mode(self.d.borrow().open_mode, OpenMode::READ_ONLY)?;
        match self.with_udp(|socket| socket.peek(buf)) {
            Some(Ok(n)) => Ok(n),
            _ => Ok(0),
        }
    }

    /// Qt: `QAbstractSocket::writeData` on a connected UDP socket: one
    /// datagram, sent at once; `bytes_written` is emitted synchronously.
    /// Errors are recorded without a signal; a refused send (a pending ICMP
    /// error) leaves the error unchanged, as in Qt.
    pub(crate) fn datagram_write_connected(&self, data: &[u8]) -> Result<usize, DeviceError> {
        let (state, mode) = {
            let d = self.d.borrow();
            (d.state, d.open_mode)
        };
        if mode == OpenMode::NOT_OPEN {
            log::warn!("UdpSocket::write: device not open");
            return Err(DeviceError::NotOpen);
        }
        check_mode(mode, OpenMode::WRITE_ONLY)?;
        if state != SocketState::Connected || !self.has_datagram_socket() {
            self.set_error(SocketError::Unknown, text::NOT_CONNECTED);
            return Err(DeviceError::NotConnected);
        }
        let result = self
            .with_udp(|socket| loop {
                match socket.send(data) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            })
            .unwrap_or(Ok(0));
        match result {
            Ok(n) => {
                self.sig.bytes_written.emit(&(n as u64));
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(err) => {
                if matches!(errno_of(&err), EMSGSIZE | ECONNRESET | EPIPE) {
                    let (error, text) = from_io(Op::Write, &err);
                    self.set_error(error, text);
                }
                Err(DeviceError::from(err))
            }
        }
    }

    // ----- waiting --------------------------------------------------------

    /// Qt: `waitForReadyRead` on a bound or connected UDP socket: true once
    /// the socket is readable (a `ready_read` is emitted unless one is
    /// already announced and unread); on timeout `error_occurred(SocketTimeout)`.
    pub(crate) fn wait_for_datagram(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        loop {
            if !matches!(self.state(), SocketState::Bound | SocketState::Connected) {
                return false;
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if left == Some(Duration::ZERO) {
                self.wait_timed_out();
                return false;
            }
            match self.wait_fd(super::wait::Want::READ, left) {
                Ok(ready) if ready.readable => {
                    self.datagram_notification();
                    return true;
                }
                Ok(_) => {}
                Err(err) => {
                    log::warn!("wait_for_ready_read: poll failed: {err}");
                    return false;
                }
            }
        }
    }

    // ----- multicast ------------------------------------------------------

    /// The OS socket, for options and multicast.
    pub(crate) fn with_datagram_sockref<T>(
        &self,
        f: impl FnOnce(socket2::SockRef<'_>) -> T,
    ) -> Option<T> {
        self.with_udp(|socket| f(socket2::SockRef::from(socket)))
    }
}

fn check_mode(mode: OpenMode, needed: OpenMode) -> Result<(), DeviceError> {
    if mode == OpenMode::NOT_OPEN {
        return Err(DeviceError::NotOpen);
    }
    if !mode.contains(needed) {
        return Err(if needed == OpenMode::READ_ONLY {
            DeviceError::NotReadable
        } else {
            DeviceError::NotWritable
        });
    }
    Ok(())
}

/// The OS's text without Rust's " (os error N)".
fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Where to send: an IPv6 (or dual-stack) socket reaches IPv4 through the
/// v4-mapped address; an IPv4 socket takes v4-mapped IPv6 addresses as
/// IPv4. `None` if the family cannot be reached.
fn destination_for(
    protocol: NetworkLayerProtocol,
    address: &HostAddress,
    port: u16,
) -> Option<SocketAddr> {
    let target = address.to_socket_addr(port)?;
    match (protocol, target) {
        (NetworkLayerProtocol::IPv4, SocketAddr::V4(_)) => Some(target),
        (NetworkLayerProtocol::IPv4, SocketAddr::V6(v6)) => v6
            .ip()
            .to_ipv4_mapped()
            .map(|ip| SocketAddr::V4(SocketAddrV4::new(ip, port))),
        (_, SocketAddr::V4(v4)) => Some(SocketAddr::V6(SocketAddrV6::new(
            v4.ip().to_ipv6_mapped(),
            port,
            0,
            0,
        ))),
        (_, SocketAddr::V6(_)) => Some(target),
    }
}

/// One received datagram with its header: (bytes, sender, destination,
/// hop limit, interface index).
type Received = (
    usize,
    (HostAddress, u16),
    (HostAddress, u16),
    Option<u8>,
    u32,
);

/// `recvmsg` with the control messages the socket asked for
/// (`IP_PKTINFO`/`IP_TTL` or `IPV6_PKTINFO`/`IPV6_HOPLIMIT`).
fn receive_with_header(socket: &mio::net::UdpSocket, data: &mut [u8]) -> io::Result<Received> {
    let local_port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut control = [0u8; 128];
    loop {
        let mut iov = [IoSliceMut::new(data)];
        let msg = match recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut control),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(msg) => msg,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(io::Error::from(errno)),
        };
        let sender = match msg.address.as_ref().and_then(socket_addr_of) {
            Some(from) => (HostAddress::from(from), from.port()),
            None => (HostAddress::default(), 0),
        };
        let mut destination = (HostAddress::default(), 0);
        let mut hop_limit = None;
        let mut interface = 0;
        if let Ok(cmsgs) = msg.cmsgs() {
            for cmsg in cmsgs {
                match cmsg {
                    ControlMessageOwned::Ipv4PacketInfo(info) => {
                        let ip = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                        destination = (HostAddress::from(ip), local_port);
                        interface = u32::try_from(info.ipi_ifindex).unwrap_or(0);
                    }
                    ControlMessageOwned::Ipv6PacketInfo(info) => {
                        let mut ip = HostAddress::from(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                        if info.ipi6_ifindex != 0 {
                            // Qt gives the destination the interface as
                            // scope id ("::1%1").
                            ip.set_scope_id(info.ipi6_ifindex.to_string());
                        }
                        destination = (ip, local_port);
                        interface = info.ipi6_ifindex;
                    }
                    ControlMessageOwned::Ipv4Ttl(ttl) | ControlMessageOwned::Ipv6HopLimit(ttl) => {
                        hop_limit = u8::try_from(ttl).ok();
                    }
                    _ => {}
                }
            }
        }
        return Ok((msg.bytes, sender, destination, hop_limit, interface));
    }
}

fn socket_addr_of(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// `sendto`, or `sendmsg` with Qt's control messages when the datagram
/// names a hop limit, an interface or a source address.
fn send_with_header(
    socket: &mio::net::UdpSocket,
    dgram: &NetworkDatagram,
    target: Option<SocketAddr>,
) -> io::Result<usize> {
    let plain = dgram.hop_limit().is_none()
        && dgram.interface_index() == 0
        && dgram.sender_address().is_null();
    loop {
        let result = match (plain, target) {
            (true, Some(target)) => socket.send_to(dgram.data(), target),
            (true, None) => socket.send(dgram.data()),
            (false, _) => send_with_control(socket, dgram, target),
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn send_with_control(
    socket: &mio::net::UdpSocket,
    dgram: &NetworkDatagram,
    target: Option<SocketAddr>,
) -> io::Result<usize> {
    let v6 = match target {
        Some(target) => target.is_ipv6(),
        None => socket.local_addr()?.is_ipv6(),
    };
    // An IPv4 destination reached through a dual-stack socket takes the
    // IPv4 path in the kernel: it reads the hop limit from IP_TTL and the
    // interface from an IPV6_PKTINFO whose source is v4-mapped.
    let mapped = matches!(target, Some(SocketAddr::V6(a)) if a.ip().to_ipv4_mapped().is_some());
    let hops = dgram.hop_limit().map(libc::c_int::from);
    let source = dgram.sender_address().ip();
    let v4_info = libc::in_pktinfo {
        ipi_ifindex: libc::c_int::try_from(dgram.interface_index()).unwrap_or(0),
        ipi_spec_dst: libc::in_addr {
            s_addr: match source {
                Some(IpAddr::V4(ip)) => u32::from(ip).to_be(),
                _ => 0,
            },
        },
        ipi_addr: libc::in_addr { s_addr: 0 },
    };
    let v6_info = libc::in6_pktinfo {
        ipi6_addr: libc::in6_addr {
            s6_addr: match source {
                Some(IpAddr::V6(ip)) => ip.octets(),
                Some(IpAddr::V4(ip)) => ip.to_ipv6_mapped().octets(),
                None if mapped => Ipv4Addr::UNSPECIFIED.to_ipv6_mapped().octets(),
                None => [0; 16],
            },
        },
        ipi6_ifindex: dgram.interface_index(),
    };
    let mut cmsgs = Vec::with_capacity(2);
    let with_info = dgram.interface_index() != 0 || source.is_some();
    if let Some(hops) = hops.as_ref() {
        cmsgs.push(match v6 && !mapped {
            true => ControlMessage::Ipv6HopLimit(hops),
            false => ControlMessage::Ipv4Ttl(hops),
        });
    }
    if with_info {
        cmsgs.push(match v6 {
            true => ControlMessage::Ipv6PacketInfo(&v6_info),
            false => ControlMessage::Ipv4PacketInfo(&v4_info),
        });
    }
    let iov = [IoSlice::new(dgram.data())];
    let fd = socket.as_raw_fd();
    let result = match target {
        Some(SocketAddr::V4(a)) => sendmsg(
            fd,
            &iov,
            &cmsgs,
            MsgFlags::empty(),
            Some(&SockaddrIn::from(a)),
        ),
        Some(SocketAddr::V6(a)) => sendmsg(
            fd,
            &iov,
            &cmsgs,
            MsgFlags::empty(),
            Some(&SockaddrIn6::from(a)),
        ),
        None => sendmsg::<SockaddrIn6>(fd, &iov, &cmsgs, MsgFlags::empty(), None),
    };
    result.map_err(io::Error::from)
}
