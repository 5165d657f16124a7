//! `UdpSocket` (Qt: `QUdpSocket` with its `QAbstractSocket` base).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::Duration;

use sigloop_core::{DeviceError, OpenMode};
use sigloop_signals::{Receiver, Signal};
use socket2::{InterfaceIndexOrAddress, SockRef};

use crate::host_address::{HostAddress, NetworkLayerProtocol, SpecialAddress};
use crate::network_datagram::NetworkDatagram;
use crate::network_interface::NetworkInterface;
use crate::socket::engine::SocketCore;
use crate::socket::{BindMode, SocketError, SocketOption, SocketState, SocketType};

/// A UDP socket driven by the thread's event loop, with Qt's states,
/// signals and datagram rules.
///
/// Bind it ([`bind`](Self::bind), [`bind_port`](Self::bind_port)) to
/// receive; [`write_datagram`](Self::write_datagram) sends (binding an
/// unbound socket to the dual-stack Any address first, as Qt does).
/// `ready_read` is emitted once per batch: no new `ready_read` comes until
/// a datagram is read, and after any read a new one comes from the loop if
/// more datagrams wait. A socket connected with
/// [`connect_to_host`](Self::connect_to_host) also reads and writes one
/// datagram per [`IoDevice`](sigloop_core::IoDevice) `read`/`write`.
///
/// `UdpSocket` is a cheap `Clone` handle bound to the thread that made it;
/// dropping the last handle closes it as Qt's destructor does.
///
/// Qt: `QUdpSocket`.
///
/// # Examples
///
/// ```
/// use sigloop_core::EventDispatcher;
/// use sigloop_net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
///
/// let receiver = UdpSocket::new();
/// receiver.bind(&HostAddress::from(SpecialAddress::LocalHost), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
/// let _c = receiver.ready_read().connect_to(&receiver, |receiver, _| {
///     while receiver.has_pending_datagrams() {
///         let dgram = receiver.receive_datagram(None);
///         assert_eq!(dgram.data(), b"hello");
///         EventDispatcher::exit(0);
///     }
/// });
///
/// let sender = UdpSocket::new();
/// sender.write_datagram(b"hello", &HostAddress::from(SpecialAddress::LocalHost), receiver.local_port()).unwrap();
/// assert_eq!(EventDispatcher::exec(), 0);
/// ```
pub struct UdpSocket {
    core: Rc<SocketCore>,
}

/// A weak handle to a [`UdpSocket`].
///
/// # Examples
///
/// ```
/// let socket = sigloop_net::UdpSocket::new();
/// let weak = socket.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(socket);
/// assert!(weak.upgrade().is_none());
/// ```
#[derive(Clone)]
pub struct WeakUdpSocket {
    core: Weak<SocketCore>,
}

impl UdpSocket {
    /// An unbound socket: `Unconnected`, not open, no descriptor, error
    /// `Unknown` ("Unknown error").
    ///
    /// Qt: `QUdpSocket::QUdpSocket()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{SocketError, SocketState, SocketType, UdpSocket};
    /// let socket = UdpSocket::new();
    /// assert_eq!(socket.state(), SocketState::Unconnected);
    /// assert_eq!(socket.socket_type(), SocketType::Udp);
    /// assert_eq!(socket.error(), SocketError::Unknown);
    /// assert_eq!(socket.socket_descriptor(), None);
    /// ```
    pub fn new() -> Self {
        let core = SocketCore::new(SocketType::Udp);
        UdpSocket {
            core: core.acquire(),
        }
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakUdpSocket`].
    pub fn downgrade(&self) -> WeakUdpSocket {
        WeakUdpSocket {
            core: Rc::downgrade(&self.core),
        }
    }

    // ----- signals -----------------------------------------------------

    /// The host name was resolved (synchronously for an IP literal).
    /// Qt: `QAbstractSocket::hostFound()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.host_found().connect(|_| println!("resolved"));
    /// ```
    pub fn host_found(&self) -> &Signal<()> {
        self.core.sig.host_found()
    }

    /// `connect_to_host` finished (synchronously for an IP literal: a UDP
    /// connect only records the peer). Qt: `QAbstractSocket::connected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.connected().connect(|_| println!("connected"));
    /// ```
    pub fn connected(&self) -> &Signal<()> {
        &self.core.sig.connected
    }

    /// Last in a close that went through `Closing` (`close` or
    /// `disconnect_from_host` on a bound or connected socket).
    /// Qt: `QAbstractSocket::disconnected()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.disconnected().connect_to(&socket, |s, _| s.delete_later());
    /// ```
    pub fn disconnected(&self) -> &Signal<()> {
        &self.core.sig.disconnected
    }

    /// Every state change (`Bound` once per successful bind or auto-bind).
    /// Qt: `QAbstractSocket::stateChanged(SocketState)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.state_changed().connect(|s| println!("{}", s.qt_name()));
    /// ```
    pub fn state_changed(&self) -> &Signal<SocketState> {
        &self.core.sig.state_changed
    }

    /// An error; [`error_string`](Self::error_string) has Qt's text.
    /// Qt: `QAbstractSocket::errorOccurred(SocketError)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.error_occurred().connect_to(&socket, |s, e| eprintln!("{e}: {}", s.error_string()));
    /// ```
    pub fn error_occurred(&self) -> &Signal<SocketError> {
        &self.core.sig.error_occurred
    }

    /// A datagram (or a pending error) arrived. Not emitted again until a
    /// datagram is read; after a read it comes again from the loop if more
    /// wait. Never emitted recursively. Qt: `QIODevice::readyRead()`.
    ///
    /// # Examples
    ///
    /// See [`UdpSocket`].
    pub fn ready_read(&self) -> &Signal<()> {
        &self.core.sig.ready_read
    }

    /// A datagram of this many bytes was sent, emitted synchronously from
    /// inside `write_datagram` (and a connected `write`).
    /// Qt: `QIODevice::bytesWritten(qint64)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.bytes_written().connect(|n| println!("{n} bytes sent"));
    /// ```
    pub fn bytes_written(&self) -> &Signal<u64> {
        &self.core.sig.bytes_written
    }

    /// `close` or `abort` is about to close an open (connected) socket.
    /// Qt: `QIODevice::aboutToClose()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.about_to_close().connect(|_| println!("closing"));
    /// ```
    pub fn about_to_close(&self) -> &Signal<()> {
        self.core.sig.about_to_close()
    }

    /// Emitted in every close, right after `state_changed(Unconnected)`.
    /// Qt: `QIODevice::readChannelFinished()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.read_channel_finished().connect(|_| println!("done"));
    /// ```
    pub fn read_channel_finished(&self) -> &Signal<()> {
        self.core.sig.read_channel_finished()
    }

    /// After each `ready_read`, with the channel (always 0: a socket has
    /// one), also when `ready_read` itself is held back as recursive.
    /// Made on first use: costs a socket nothing until connected.
    /// Qt: `channelReadyRead(int)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.channel_ready_read().connect(|channel| assert_eq!(*channel, 0));
    /// ```
    pub fn channel_ready_read(&self) -> &Signal<i32> {
        self.core.sig.channel_ready_read()
    }

    /// Emitted when deleted with [`delete_later`](Self::delete_later).
    /// Qt: `QObject::destroyed()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// let _c = socket.destroyed().connect(|_| println!("gone"));
    /// ```
    pub fn destroyed(&self) -> &Signal<()> {
        self.core.life.destroyed()
    }

    // ----- binding --------------------------------------------------------

    /// Binds to `address` and `port` (0: any free port) with Qt's Unix
    /// [`BindMode`] rules: `SHARE_ADDRESS` or `REUSE_ADDRESS_HINT` set
    /// `SO_REUSEADDR`, another non-default mode clears it, the default
    /// leaves it. [`SpecialAddress::Any`] binds dual stack (IPv4 and IPv6),
    /// `AnyIPv4`/`AnyIPv6` one family. On success the state becomes `Bound`
    /// (`state_changed(Bound)` once) and datagrams are announced with
    /// `ready_read`. The socket is not opened as a device.
    ///
    /// Qt: `QAbstractSocket::bind(address, port, mode)`.
    ///
    /// # Errors
    ///
    /// The OS refused: `AddressInUse` ("The bound address is already in
    /// use"), `SocketAddressNotAvailable`, `SocketAccess`, …, after
    /// `error_occurred`. Already bound or connected: a warning,
    /// `error_occurred(Unknown)` and `Err(Unknown)`, as Qt does.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, SocketError, SocketState, SpecialAddress, UdpSocket};
    /// let a = UdpSocket::new();
    /// a.bind(&HostAddress::from(SpecialAddress::LocalHost), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert_eq!(a.state(), SocketState::Bound);
    /// let b = UdpSocket::new();
    /// let taken = b.bind(&HostAddress::from(SpecialAddress::LocalHost), a.local_port(), BindMode::DEFAULT_FOR_PLATFORM);
    /// assert_eq!(taken, Err(SocketError::AddressInUse));
    /// assert_eq!(b.error_string(), "The bound address is already in use");
    /// ```
    pub fn bind(
        &self,
        address: &HostAddress,
        port: u16,
        mode: BindMode,
    ) -> Result<(), SocketError> {
        self.core.bind_datagram(address, port, mode)
    }

    /// Binds to the dual-stack Any address and `port`.
    ///
    /// Qt: `QAbstractSocket::bind(port, mode)`.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::SHARE_ADDRESS).unwrap();
    /// assert_eq!(socket.local_address().to_string(), "0.0.0.0");
    /// assert_ne!(socket.local_port(), 0);
    /// ```
    pub fn bind_port(&self, port: u16, mode: BindMode) -> Result<(), SocketError> {
        self.bind(&HostAddress::from(SpecialAddress::Any), port, mode)
    }

    // ----- datagrams ------------------------------------------------------

    /// Sends `data` as one datagram to `address`:`port`. An unbound socket
    /// is first bound to the dual-stack Any address (`state_changed(Bound)`).
    /// On success `bytes_written(len)` is emitted before this returns.
    /// Zero-length datagrams are sent as such.
    ///
    /// Qt: `QUdpSocket::writeDatagram(data, host, port)`.
    ///
    /// # Errors
    ///
    /// After `error_occurred`, with no `bytes_written`:
    /// `DatagramTooLarge` ("Datagram was too large to send"; 65,508 bytes
    /// over IPv4 loopback), `Temporary` ("Unable to send a datagram") when
    /// the OS buffer is full, `Network` ("Unable to send a message") for
    /// other failures; or the auto-bind's error. `Operation` (no signal)
    /// while a lookup is in progress.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SocketError, SocketState, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// let local = HostAddress::from(SpecialAddress::LocalHost);
    /// assert_eq!(socket.write_datagram(b"", &local, 9), Ok(0));
    /// assert_eq!(socket.state(), SocketState::Bound);
    /// let big = vec![0u8; 70_000];
    /// assert_eq!(socket.write_datagram(&big, &local, 9), Err(SocketError::DatagramTooLarge));
    /// ```
    pub fn write_datagram(
        &self,
        data: &[u8],
        address: &HostAddress,
        port: u16,
    ) -> Result<usize, SocketError> {
        let dgram = NetworkDatagram::with_destination(data.to_vec(), address.clone(), port);
        self.core.write_datagram(&dgram)
    }

    /// Sends a [`NetworkDatagram`]: its destination (none: the connected
    /// peer), and when set its hop limit, interface and source address
    /// (as `IP_TTL`/`IPV6_HOPLIMIT` and `IP_PKTINFO`/`IPV6_PKTINFO`).
    ///
    /// Qt: `QUdpSocket::writeDatagram(const QNetworkDatagram &)`.
    ///
    /// # Errors
    ///
    /// As [`write_datagram`](Self::write_datagram).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{NetworkDatagram, UdpSocket};
    /// let mut dgram = NetworkDatagram::with_destination(b"hi".to_vec(), "127.0.0.1".parse().unwrap(), 9);
    /// dgram.set_hop_limit(Some(1));
    /// assert_eq!(UdpSocket::new().write_network_datagram(&dgram), Ok(2));
    /// ```
    pub fn write_network_datagram(&self, dgram: &NetworkDatagram) -> Result<usize, SocketError> {
        self.core.write_datagram(dgram)
    }

    /// Reads the next datagram into `buf` and returns its length with the
    /// sender's address and port. A datagram longer than `buf` is
    /// truncated, the rest lost; an empty `buf` discards a datagram. Any
    /// read lets `ready_read` come again for datagrams still waiting.
    ///
    /// Qt: `QUdpSocket::readDatagram(data, maxSize, address, port)`.
    ///
    /// # Errors
    ///
    /// After `error_occurred`: `Temporary` ("No datagram available for
    /// reading") if none waits; `ConnectionRefused` ("Connection refused")
    /// for an ICMP port unreachable on a connected socket; `Network` ("Unable
    /// to receive a message") otherwise. `Operation`, with a warning and no
    /// signal, on a socket that is neither bound nor connected.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, SocketError, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// let local = HostAddress::from(SpecialAddress::LocalHost);
    /// socket.bind(&local, 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// let mut buf = [0u8; 16];
    /// assert_eq!(socket.read_datagram(&mut buf), Err(SocketError::Temporary));
    /// assert_eq!(socket.error_string(), "No datagram available for reading");
    ///
    /// socket.write_datagram(b"to myself", &local, socket.local_port()).unwrap();
    /// assert!(socket.wait_for_ready_read(Some(std::time::Duration::from_secs(10))));
    /// let (n, from, port) = socket.read_datagram(&mut buf[..2]).unwrap();
    /// assert_eq!((&buf[..n], port), (&b"to"[..], socket.local_port()));
    /// assert!(from.is_loopback());
    /// ```
    pub fn read_datagram(&self, buf: &mut [u8]) -> Result<(usize, HostAddress, u16), SocketError> {
        self.core.read_datagram(buf)
    }

    /// Reads the next datagram with its whole header: sender, destination,
    /// hop limit and interface. `max` limits the payload (the rest is
    /// lost); `None` reads it whole. An invalid (null) datagram means none
    /// was read: with `None` and nothing pending it returns one quietly,
    /// otherwise after `error_occurred` as [`read_datagram`](Self::read_datagram).
    ///
    /// Qt: `QUdpSocket::receiveDatagram(maxSize)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// let local = HostAddress::from(SpecialAddress::LocalHost);
    /// socket.bind(&local, 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert!(!socket.receive_datagram(None).is_valid());
    /// socket.write_datagram(b"abc", &local, socket.local_port()).unwrap();
    /// assert!(socket.wait_for_ready_read(Some(std::time::Duration::from_secs(10))));
    /// let dgram = socket.receive_datagram(None);
    /// assert_eq!(dgram.data(), b"abc");
    /// assert_eq!(dgram.destination_address(), &local);
    /// assert_eq!(dgram.destination_port(), Some(socket.local_port()));
    /// assert_eq!(dgram.hop_limit(), Some(64));
    /// ```
    pub fn receive_datagram(&self, max: Option<usize>) -> NetworkDatagram {
        self.core.receive_datagram(max)
    }

    /// Whether a datagram waits (also true for an empty one). Consumes a
    /// pending ICMP error silently, as Qt's 1-byte `MSG_PEEK` does.
    /// Without a bound or connected socket: a warning and `false`.
    ///
    /// Qt: `QUdpSocket::hasPendingDatagrams()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert!(!socket.has_pending_datagrams());
    /// ```
    pub fn has_pending_datagrams(&self) -> bool {
        self.core.has_pending_datagrams()
    }

    /// The size of the next datagram (`Some(0)` for an empty one), or
    /// `None` (Qt's -1) when none waits.
    ///
    /// Qt: `QUdpSocket::pendingDatagramSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert_eq!(socket.pending_datagram_size(), None);
    /// ```
    pub fn pending_datagram_size(&self) -> Option<usize> {
        self.core.pending_datagram_size()
    }

    // ----- multicast ------------------------------------------------------

    fn check_bound(&self, what: &str) -> bool {
        if self.state() == SocketState::Bound && self.core.has_datagram_socket() {
            return true;
        }
        log::warn!("UdpSocket::{what}() called on a UdpSocket when not in BoundState");
        false
    }

    fn protocol(&self) -> NetworkLayerProtocol {
        self.core.d.borrow().datagram_protocol
    }

    /// Joins the multicast `group` on `interface` (`None`: the OS picks).
    /// Needs a bound socket; an IPv4 group needs an IPv4 socket (bind to
    /// `AnyIPv4`, not the dual-stack `Any`). Call
    /// [`leave_multicast_group`](Self::leave_multicast_group) with the same
    /// arguments to leave.
    ///
    /// Qt: `QUdpSocket::joinMulticastGroup(groupAddress, iface)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::UdpSocket;
    /// let socket = UdpSocket::new();
    /// // Not bound: a warning and false.
    /// assert!(!socket.join_multicast_group(&"239.255.43.21".parse().unwrap(), None));
    /// ```
    pub fn join_multicast_group(
        &self,
        group: &HostAddress,
        interface: Option<&NetworkInterface>,
    ) -> bool {
        self.multicast_membership("join_multicast_group", group, interface, true)
    }

    /// Leaves a group joined with [`join_multicast_group`](Self::join_multicast_group).
    ///
    /// Qt: `QUdpSocket::leaveMulticastGroup(groupAddress, iface)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// assert!(!socket.leave_multicast_group(&"ff12::1".parse().unwrap(), None));
    /// ```
    pub fn leave_multicast_group(
        &self,
        group: &HostAddress,
        interface: Option<&NetworkInterface>,
    ) -> bool {
        self.multicast_membership("leave_multicast_group", group, interface, false)
    }

    fn multicast_membership(
        &self,
        what: &str,
        group: &HostAddress,
        interface: Option<&NetworkInterface>,
        join: bool,
    ) -> bool {
        if !self.check_bound(what) {
            return false;
        }
        let protocol = self.protocol();
        let result = match group.ip() {
            Some(IpAddr::V4(group4)) => {
                if protocol != NetworkLayerProtocol::IPv4 {
                    log::warn!(
                        "UdpSocket: cannot bind to Any (or an IPv6 address) and join an IPv4 \
                         multicast group; bind to AnyIPv4 instead if you want to do this"
                    );
                    return false;
                }
                let on = match interface {
                    Some(iface) => InterfaceIndexOrAddress::Index(iface.index()),
                    None => InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED),
                };
                self.core.with_datagram_sockref(|s| match join {
                    true => s.join_multicast_v4_n(&group4, &on),
                    false => s.leave_multicast_v4_n(&group4, &on),
                })
            }
            Some(IpAddr::V6(group6)) if protocol != NetworkLayerProtocol::IPv4 => {
                let index = interface.map_or_else(
                    || match group.to_socket_addr(0) {
                        Some(std::net::SocketAddr::V6(a)) => a.scope_id(),
                        _ => 0,
                    },
                    NetworkInterface::index,
                );
                self.core.with_datagram_sockref(|s| match join {
                    true => s.join_multicast_v6(&group6, index),
                    false => s.leave_multicast_v6(&group6, index),
                })
            }
            _ => return false,
        };
        match result {
            Some(Ok(())) => true,
            Some(Err(err)) => {
                log::debug!("UdpSocket::{what}({group}): {err}");
                false
            }
            None => false,
        }
    }

    /// The interface outgoing multicast uses, `None` if none was set (or
    /// not bound, with a warning).
    ///
    /// Qt: `QUdpSocket::multicastInterface()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, NetworkInterface, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind(&HostAddress::from(SpecialAddress::AnyIPv6), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert!(socket.multicast_interface().is_none());
    /// let lo = NetworkInterface::interface_from_name("lo").unwrap();
    /// socket.set_multicast_interface(&lo);
    /// assert_eq!(socket.multicast_interface().unwrap().name(), "lo");
    /// ```
    pub fn multicast_interface(&self) -> Option<NetworkInterface> {
        if !self.check_bound("multicast_interface") {
            return None;
        }
        match self.protocol() {
            NetworkLayerProtocol::IPv4 => {
                let address = self
                    .core
                    .with_datagram_sockref(|s| s.multicast_if_v4())?
                    .ok()
                    .filter(|a| !a.is_unspecified())?;
                let address = HostAddress::from(address);
                NetworkInterface::all_interfaces()
                    .into_iter()
                    .find(|iface| iface.address_entries().iter().any(|e| *e.ip() == address))
            }
            _ => {
                let index = self
                    .core
                    .with_datagram_sockref(|s| s.multicast_if_v6())?
                    .ok()?;
                NetworkInterface::interface_from_index(index)
            }
        }
    }

    /// Sends outgoing multicast through `interface` (`IP_MULTICAST_IF` with
    /// its first IPv4 address, or `IPV6_MULTICAST_IF` with its index).
    /// Needs a bound socket (else a warning).
    ///
    /// Qt: `QUdpSocket::setMulticastInterface(iface)`.
    ///
    /// # Examples
    ///
    /// See [`multicast_interface`](Self::multicast_interface).
    pub fn set_multicast_interface(&self, interface: &NetworkInterface) {
        if !self.check_bound("set_multicast_interface") {
            return;
        }
        let result = match self.protocol() {
            NetworkLayerProtocol::IPv4 => match interface.first_ipv4() {
                Some(address) => self
                    .core
                    .with_datagram_sockref(|s| s.set_multicast_if_v4(&address)),
                None => return,
            },
            _ => self
                .core
                .with_datagram_sockref(|s| s.set_multicast_if_v6(interface.index())),
        };
        if let Some(Err(err)) = result {
            log::debug!(
                "UdpSocket::set_multicast_interface({}): {err}",
                interface.name()
            );
        }
    }

    // ----- connecting and closing -------------------------------------

    /// Connects to `host` (a name or an IP literal) and `port`: the socket
    /// then only talks to that peer, and `read`/`write` move one datagram
    /// each. For a literal the whole sequence is synchronous:
    /// `state_changed(HostLookup)`, `state_changed(Connecting)`,
    /// `host_found`, `state_changed(Connected)`, `connected`. A bound socket
    /// keeps its descriptor and local port.
    ///
    /// Qt: `QAbstractSocket::connectToHost(hostName, port)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{SocketState, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.connect_to_host("127.0.0.1", 9);
    /// assert_eq!(socket.state(), SocketState::Connected);
    /// ```
    pub fn connect_to_host(&self, host: &str, port: u16) {
        self.connect_to_host_with(
            host,
            port,
            OpenMode::READ_WRITE,
            NetworkLayerProtocol::AnyIP,
        );
    }

    /// [`connect_to_host`](Self::connect_to_host) with an open mode and a
    /// protocol filter. Qt: `connectToHost(hostName, port, openMode, protocol)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// use sigloop_net::{NetworkLayerProtocol, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.connect_to_host_with("::1", 9, OpenMode::WRITE_ONLY, NetworkLayerProtocol::IPv6);
    /// assert_eq!(socket.peer_port(), 9);
    /// ```
    pub fn connect_to_host_with(
        &self,
        host: &str,
        port: u16,
        mode: OpenMode,
        protocol: NetworkLayerProtocol,
    ) {
        self.core.datagram_prepare_connect();
        self.core.connect_to_host(host, port, mode, protocol);
    }

    /// Connects to an address. Qt: `connectToHost(QHostAddress, port)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.connect_to_address(&HostAddress::from(SpecialAddress::LocalHost), 9);
    /// assert!(socket.peer_address().is_loopback());
    /// ```
    pub fn connect_to_address(&self, address: &HostAddress, port: u16) {
        self.connect_to_host(&address.to_string(), port);
    }

    /// Closes a bound or connected socket: `state_changed(Closing)`,
    /// `state_changed(Unconnected)`, `read_channel_finished`,
    /// `disconnected`. Qt: `QAbstractSocket::disconnectFromHost()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, SocketState, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// socket.disconnect_from_host();
    /// assert_eq!(socket.state(), SocketState::Unconnected);
    /// ```
    pub fn disconnect_from_host(&self) {
        self.core.disconnect_from_host();
    }

    /// `about_to_close` if open, then [`disconnect_from_host`](Self::disconnect_from_host).
    /// Qt: `QAbstractSocket::close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// socket.connect_to_host("127.0.0.1", 9);
    /// socket.close();
    /// assert!(!socket.is_open());
    /// ```
    pub fn close(&self) {
        self.core.close();
    }

    /// Closes at once without `Closing`: `about_to_close` (if open),
    /// `state_changed(Unconnected)`, `read_channel_finished`, and
    /// `disconnected` only if it was connected. Qt: `QAbstractSocket::abort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, SocketState, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// socket.abort();
    /// assert_eq!(socket.state(), SocketState::Unconnected);
    /// ```
    pub fn abort(&self) {
        self.core.abort();
    }

    // ----- state and errors -------------------------------------------

    /// The state. Qt: `QAbstractSocket::state()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::UdpSocket::new().state(), sigloop_net::SocketState::Unconnected);
    /// ```
    pub fn state(&self) -> SocketState {
        self.core.state()
    }

    /// The last error. Qt: `QAbstractSocket::error()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::UdpSocket::new().error(), sigloop_net::SocketError::Unknown);
    /// ```
    pub fn error(&self) -> SocketError {
        self.core.d.borrow().error
    }

    /// Qt's text for the last error. Qt: `QIODevice::errorString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::UdpSocket::new().error_string(), "Unknown error");
    /// ```
    pub fn error_string(&self) -> String {
        self.core.d.borrow().error_string().to_owned()
    }

    /// Always [`SocketType::Udp`]. Qt: `QAbstractSocket::socketType()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::UdpSocket::new().socket_type(), sigloop_net::SocketType::Udp);
    /// ```
    pub fn socket_type(&self) -> SocketType {
        self.core.kind
    }

    /// Whether the socket has an OS socket (bound or connected).
    /// Qt: `QAbstractSocket::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::UdpSocket::new().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.core.has_datagram_socket()
    }

    /// Whether the device is open (after `connect_to_host`; `bind` does
    /// not open it). Qt: `QIODevice::isOpen()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert!(!socket.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        self.core.d.borrow().open_mode != OpenMode::NOT_OPEN
    }

    // ----- addresses ----------------------------------------------------

    /// The local address while bound or connected (`0.0.0.0` for the
    /// dual-stack Any), else null. Qt: `QAbstractSocket::localAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::UdpSocket::new().local_address().is_null());
    /// ```
    pub fn local_address(&self) -> HostAddress {
        self.core.d.borrow().local_address()
    }

    /// The local port, or 0. Qt: `QAbstractSocket::localPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::UdpSocket::new().local_port(), 0);
    /// ```
    pub fn local_port(&self) -> u16 {
        self.core.d.borrow().local.port()
    }

    /// The connected peer's address, else null.
    /// Qt: `QAbstractSocket::peerAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::UdpSocket::new().peer_address().is_null());
    /// ```
    pub fn peer_address(&self) -> HostAddress {
        self.core.d.borrow().peer_address()
    }

    /// The connected peer's port, or 0. Qt: `QAbstractSocket::peerPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::UdpSocket::new().peer_port(), 0);
    /// ```
    pub fn peer_port(&self) -> u16 {
        self.core.d.borrow().peer.port()
    }

    /// The host given to `connect_to_host`. Qt: `QAbstractSocket::peerName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// socket.connect_to_host("127.0.0.1", 9);
    /// assert_eq!(socket.peer_name(), "127.0.0.1");
    /// ```
    pub fn peer_name(&self) -> String {
        self.core.d.borrow().peer_name().to_owned()
    }

    // ----- descriptors and options -------------------------------------

    /// The OS descriptor, `None` without one (Qt returns -1).
    /// Qt: `QAbstractSocket::socketDescriptor()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, UdpSocket};
    /// let socket = UdpSocket::new();
    /// assert_eq!(socket.socket_descriptor(), None);
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert!(socket.socket_descriptor().is_some());
    /// ```
    pub fn socket_descriptor(&self) -> Option<RawFd> {
        let d = self.core.d.borrow();
        d.stream
            .as_ref()
            .map(|s| s.as_raw_fd())
            .or_else(|| d.bound().map(|s| s.as_raw_fd()))
    }

    /// Sets a socket option; does nothing without an OS socket (before
    /// bind or connect), as in Qt. On a dual-stack or IPv6 socket the
    /// multicast options are the IPv6 ones.
    /// Qt: `QAbstractSocket::setSocketOption()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{BindMode, HostAddress, SocketOption, SpecialAddress, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind(&HostAddress::from(SpecialAddress::AnyIPv4), 0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// socket.set_socket_option(SocketOption::MulticastTtl, 4);
    /// assert_eq!(socket.socket_option(SocketOption::MulticastTtl), Some(4));
    /// socket.set_socket_option(SocketOption::MulticastLoopback, 0);
    /// assert_eq!(socket.socket_option(SocketOption::MulticastLoopback), Some(0));
    /// ```
    pub fn set_socket_option(&self, option: SocketOption, value: i32) {
        let d = self.core.d.borrow();
        let socket = match (&d.stream, d.bound()) {
            (Some(stream), _) => SockRef::from(stream),
            (None, Some(bound)) => SockRef::from(bound),
            (None, None) => return,
        };
        if let Err(err) = crate::socket_util::set_option(socket, option, value) {
            log::debug!("set_socket_option({option:?}, {value}) failed: {err}");
        }
    }

    /// Reads a socket option; `None` without an OS socket or if the OS
    /// refuses. Qt: `QAbstractSocket::socketOption()`.
    ///
    /// # Examples
    ///
    /// See [`set_socket_option`](Self::set_socket_option).
    pub fn socket_option(&self, option: SocketOption) -> Option<i32> {
        let d = self.core.d.borrow();
        let socket = match (&d.stream, d.bound()) {
            (Some(stream), _) => SockRef::from(stream),
            (None, Some(bound)) => SockRef::from(bound),
            (None, None) => return None,
        };
        crate::socket_util::get_option(socket, option).ok()
    }

    // ----- blocking waits ------------------------------------------------

    /// Finishes a `connect_to_host` to a name without a loop (a literal is
    /// connected at once). Qt: `QAbstractSocket::waitForConnected(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// socket.connect_to_host("127.0.0.1", 9);
    /// assert!(socket.wait_for_connected(Some(std::time::Duration::from_secs(5))));
    /// ```
    pub fn wait_for_connected(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_connected(timeout)
    }

    /// Blocks until a datagram (or error) can be read, without a loop; a
    /// `ready_read` is emitted unless one is already pending. On timeout
    /// `error_occurred(SocketTimeout)` ("Network operation timed out") and
    /// `false`. Qt: `QAbstractSocket::waitForReadyRead(msecs)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigloop_net::{BindMode, SocketError, UdpSocket};
    /// let socket = UdpSocket::new();
    /// socket.bind_port(0, BindMode::DEFAULT_FOR_PLATFORM).unwrap();
    /// assert!(!socket.wait_for_ready_read(Some(Duration::from_millis(10))));
    /// assert_eq!(socket.error(), SocketError::SocketTimeout);
    /// ```
    pub fn wait_for_ready_read(&self, timeout: Option<Duration>) -> bool {
        self.core.wait_for_ready_read(timeout)
    }

    // ----- object -------------------------------------------------------

    /// Blocks (`true`) or unblocks every signal but `destroyed`; returns
    /// the previous setting. Qt: `QObject::blockSignals()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = sigloop_net::UdpSocket::new();
    /// assert!(!socket.block_signals(true));
    /// assert!(socket.signals_blocked());
    /// ```
    pub fn block_signals(&self, block: bool) -> bool {
        self.core.block_signals(block)
    }

    /// Whether signals are blocked. Qt: `QObject::signalsBlocked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::UdpSocket::new().signals_blocked());
    /// ```
    pub fn signals_blocked(&self) -> bool {
        self.core.signals_blocked()
    }

    /// Disconnects every signal of this socket from `receiver` (the
    /// connections made with `connect_to` and that receiver); returns how
    /// many. Qt: `QObject::disconnect(socket, nullptr, receiver, nullptr)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// let socket = sigloop_net::UdpSocket::new();
    /// let owner = Rc::new(());
    /// let _c = socket.connected().connect_to(&owner, |_, _| {});
    /// let _d = socket.disconnected().connect_to(&owner, |_, _| {});
    /// assert_eq!(socket.disconnect_receiver(&owner), 2);
    /// ```
    pub fn disconnect_receiver<C: Receiver>(&self, receiver: &C) -> usize {
        self.core.disconnect_receiver(receiver)
    }

    /// Aborts, emits `destroyed` and drops all connections once control
    /// returns to the loop level this is called from.
    /// Qt: `QObject::deleteLater()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::EventDispatcher;
    /// let socket = sigloop_net::UdpSocket::new();
    /// socket.delete_later();
    /// EventDispatcher::send_posted_deletes();
    /// assert!(socket.is_deleted());
    /// ```
    pub fn delete_later(&self) {
        let core = self.core.clone();
        self.core.life.delete_later(move || core.delete_now());
    }

    /// Whether [`delete_later`](Self::delete_later) has taken effect.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::UdpSocket::new().is_deleted());
    /// ```
    pub fn is_deleted(&self) -> bool {
        self.core.life.is_deleted()
    }
}

impl Clone for UdpSocket {
    fn clone(&self) -> Self {
        UdpSocket {
            core: self.core.acquire(),
        }
    }
}

/// Dropping the last application handle destroys the socket as Qt's
/// `delete` does: it aborts (emitting what Qt's destructor emits), emits
/// `destroyed` and drops every connection.
impl Drop for UdpSocket {
    fn drop(&mut self) {
        self.core.release();
    }
}

impl Default for UdpSocket {
    fn default() -> Self {
        UdpSocket::new()
    }
}

impl WeakUdpSocket {
    /// The socket, if it exists and was not deleted.
    ///
    /// # Examples
    ///
    /// See [`WeakUdpSocket`].
    pub fn upgrade(&self) -> Option<UdpSocket> {
        let core = self.core.upgrade()?;
        (!core.life.is_deleted()).then(|| UdpSocket {
            core: core.acquire(),
        })
    }
}

impl Receiver for UdpSocket {
    type Weak = WeakUdpSocket;

    fn downgrade(&self) -> WeakUdpSocket {
        UdpSocket::downgrade(self)
    }

    fn upgrade(weak: &WeakUdpSocket) -> Option<Self> {
        weak.upgrade()
    }

    fn identity(&self) -> usize {
        Rc::as_ptr(&self.core) as usize
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("state", &self.state())
            .field("local_port", &self.local_port())
            .field("peer_port", &self.peer_port())
            .finish()
    }
}

impl fmt::Debug for WeakUdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakUdpSocket")
    }
}

/// The `QIODevice` side, for a connected socket: each `read` takes one
/// datagram (truncated to the size asked for, the rest lost), each `write`
/// sends one (emitting `bytes_written` synchronously). `bytes_available`
/// is the size of the next datagram, whatever the state, as Qt's
/// `FIONREAD`. UDP is unbuffered: `unget_char` and transactions do nothing.
impl sigloop_core::IoDevice for UdpSocket {
    fn open_mode(&self) -> OpenMode {
        self.core.d.borrow().open_mode
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.core.datagram_read_connected(buf)
    }

    /// One datagram, at most `max` bytes of it (Qt: `QIODevice::read` on a
    /// connected `QUdpSocket`). An empty datagram is consumed too.
    fn read_raw(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        let mut out = vec![0; max.min(65_536)];
        if out.is_empty() {
            return Ok(out);
        }
        let n = self.core.datagram_read_connected(&mut out)?;
        out.truncate(n);
        Ok(out)
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.core.datagram_peek_connected(buf)
    }

    fn write(&self, data: &[u8]) -> Result<usize, DeviceError> {
        self.core.datagram_write_connected(data)
    }

    fn bytes_available(&self) -> usize {
        if self.core.has_datagram_socket() {
            self.core.datagram_bytes_available()
        } else {
            0
        }
    }

    fn unget_char(&self, _c: u8) {}

    fn start_transaction(&self) {}

    fn commit_transaction(&self) {}

    fn rollback_transaction(&self) {}

    fn is_transaction_started(&self) -> bool {
        false
    }

    fn is_sequential(&self) -> bool {
        true
    }
}
