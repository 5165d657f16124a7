//! `UdpSocket` (Qt: `QUdpSocket` with its `QAbstractSocket` base).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Weak;

use sigloop_core::{DeviceError, OpenMode};
use sigloop_signals::Receiver;
use socket2::InterfaceIndexOrAddress;

use crate::abstract_socket::AbstractSocket;
use crate::host_address::{HostAddress, NetworkLayerProtocol};
use crate::network_datagram::NetworkDatagram;
use crate::network_interface::NetworkInterface;
use crate::socket::engine::SocketCore;
use crate::socket::{SocketError, SocketState, SocketType};

/// A UDP socket driven by the thread's event loop, with Qt's states,
/// signals and datagram rules.
///
/// Bind it ([`bind`](AbstractSocket::bind), [`bind_port`](AbstractSocket::bind_port)) to
/// receive; [`write_datagram`](Self::write_datagram) sends (binding an
/// unbound socket to the dual-stack Any address first, as Qt does).
/// `ready_read` is emitted once per batch: no new `ready_read` comes until
/// a datagram is read, and after any read a new one comes from the loop if
/// more datagrams wait. A socket connected with
/// [`connect_to_host`](AbstractSocket::connect_to_host) also reads and writes one
/// datagram per [`IoDevice`](sigloop_core::IoDevice) `read`/`write`.
///
/// The `QAbstractSocket` part (signals, state and errors, `bind`,
/// `connect_to_host`, closing, addresses, options, blocking waits) is
/// [`AbstractSocket`]'s, which `UdpSocket` dereferences to: call those
/// methods directly.
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
#[derive(Clone)]
pub struct UdpSocket {
    socket: AbstractSocket,
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
        UdpSocket {
            socket: AbstractSocket::new(SocketType::Udp),
        }
    }

    /// A weak handle.
    ///
    /// # Examples
    ///
    /// See [`WeakUdpSocket`].
    pub fn downgrade(&self) -> WeakUdpSocket {
        WeakUdpSocket {
            core: self.core.downgrade(),
        }
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
    /// lost; a `max` above the largest datagram, up to `usize::MAX`, reads
    /// it whole without allocating more); `None` reads it whole. An invalid (null) datagram means none
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
}

/// The `QAbstractSocket` surface, shared by every socket type: see
/// [`AbstractSocket`].
impl std::ops::Deref for UdpSocket {
    type Target = AbstractSocket;

    fn deref(&self) -> &AbstractSocket {
        &self.socket
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
        AbstractSocket::upgrade_core(&self.core).map(|socket| UdpSocket { socket })
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
        self.core.as_ptr() as usize
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
