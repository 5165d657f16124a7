//! The enums of `QAbstractSocket`, with Qt's numeric values.

/// The state of a socket.
///
/// Qt: `QAbstractSocket::SocketState`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::SocketState;
/// assert_eq!(SocketState::Connected as i32, 3);
/// assert_eq!(SocketState::default(), SocketState::Unconnected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SocketState {
    /// Not connected. Qt: `UnconnectedState`.
    #[default]
    Unconnected = 0,
    /// Resolving the host name. Qt: `HostLookupState`.
    HostLookup = 1,
    /// A connect is in progress. Qt: `ConnectingState`.
    Connecting = 2,
    /// Connected. Qt: `ConnectedState`.
    Connected = 3,
    /// Bound to an address and port. Qt: `BoundState`.
    Bound = 4,
    /// Listening (servers). Qt: `ListeningState`.
    Listening = 5,
    /// Closing: pending data is being written before the close.
    /// Qt: `ClosingState`.
    Closing = 6,
}

impl SocketState {
    /// Qt's enumerator name, as Qt's logs and the oracle traces print it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::SocketState::Closing.qt_name(), "ClosingState");
    /// ```
    pub fn qt_name(self) -> &'static str {
        match self {
            SocketState::Unconnected => "UnconnectedState",
            SocketState::HostLookup => "HostLookupState",
            SocketState::Connecting => "ConnectingState",
            SocketState::Connected => "ConnectedState",
            SocketState::Bound => "BoundState",
            SocketState::Listening => "ListeningState",
            SocketState::Closing => "ClosingState",
        }
    }
}

/// The transport of a socket.
///
/// Qt: `QAbstractSocket::SocketType`.
///
/// # Examples
///
/// ```
/// assert_eq!(sigloop_net::SocketType::Udp as i32, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// TCP. Qt: `TcpSocket`.
    Tcp = 0,
    /// UDP. Qt: `UdpSocket`.
    Udp = 1,
    /// SCTP (not implemented). Qt: `SctpSocket`.
    Sctp = 2,
    /// Unknown. Qt: `UnknownSocketType`.
    Unknown = -1,
}

/// A socket option.
///
/// Qt: `QAbstractSocket::SocketOption`; the values are Qt's.
///
/// # Examples
///
/// ```
/// assert_eq!(sigloop_net::SocketOption::KeepAlive as i32, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketOption {
    /// `TCP_NODELAY`: 1 disables Nagle's algorithm. Qt: `LowDelayOption`.
    LowDelay = 0,
    /// `SO_KEEPALIVE`. Qt: `KeepAliveOption`.
    KeepAlive = 1,
    /// `IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS`. Qt: `MulticastTtlOption`.
    MulticastTtl = 2,
    /// `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`. Qt: `MulticastLoopbackOption`.
    MulticastLoopback = 3,
    /// `IP_TOS`. Qt: `TypeOfServiceOption`.
    TypeOfService = 4,
    /// `SO_SNDBUF`. Qt: `SendBufferSizeSocketOption`.
    SendBufferSize = 5,
    /// `SO_RCVBUF`. Qt: `ReceiveBufferSizeSocketOption`.
    ReceiveBufferSize = 6,
    /// `IP_MTU` (read only here). Qt: `PathMtuSocketOption`.
    PathMtu = 7,
}

/// How `bind` treats an address other sockets use.
///
/// Qt: `QAbstractSocket::BindMode` (flags); the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::BindMode;
/// let mode = BindMode::SHARE_ADDRESS | BindMode::REUSE_ADDRESS_HINT;
/// assert_eq!(mode.bits(), 0x5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BindMode(u32);

impl BindMode {
    /// Leave `SO_REUSEADDR` as the OS has it. Qt: `DefaultForPlatform`.
    pub const DEFAULT_FOR_PLATFORM: Self = BindMode(0x0);
    /// Let other sockets bind the same address (`SO_REUSEADDR`).
    /// Qt: `ShareAddress`.
    pub const SHARE_ADDRESS: Self = BindMode(0x1);
    /// Refuse sharing (`SO_REUSEADDR` off). Qt: `DontShareAddress`.
    pub const DONT_SHARE_ADDRESS: Self = BindMode(0x2);
    /// Rebind even if the address is in use (`SO_REUSEADDR`).
    /// Qt: `ReuseAddressHint`.
    pub const REUSE_ADDRESS_HINT: Self = BindMode(0x4);

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::BindMode::DONT_SHARE_ADDRESS.bits(), 2);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether all bits of `other` are set.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::BindMode;
    /// assert!(BindMode::SHARE_ADDRESS.contains(BindMode::SHARE_ADDRESS));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// What Qt does on Unix: `Some(true)` sets `SO_REUSEADDR`, `Some(false)`
    /// clears it, `None` leaves it.
    pub(crate) fn reuse_address(self) -> Option<bool> {
        if self.contains(Self::SHARE_ADDRESS) || self.contains(Self::REUSE_ADDRESS_HINT) {
            Some(true)
        } else if self.0 != 0 {
            Some(false)
        } else {
            None
        }
    }
}

impl std::ops::BitOr for BindMode {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        BindMode(self.0 | rhs.0)
    }
}
