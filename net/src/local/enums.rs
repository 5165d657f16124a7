//! The enums and flags of `QLocalSocket` and `QLocalServer`, with Qt's
//! numeric values.

use std::fmt;

use crate::socket::{SocketError, SocketState};

/// The state of a [`LocalSocket`](crate::LocalSocket).
///
/// Qt: `QLocalSocket::LocalSocketState`; the values are Qt's (they match
/// [`SocketState`]'s).
///
/// # Examples
///
/// ```
/// use sigloop_net::LocalSocketState;
/// assert_eq!(LocalSocketState::Connected as i32, 3);
/// assert_eq!(LocalSocketState::Closing.qt_name(), "ClosingState");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LocalSocketState {
    /// Not connected. Qt: `UnconnectedState`.
    #[default]
    Unconnected = 0,
    /// A connect is in progress. Qt: `ConnectingState`.
    Connecting = 2,
    /// Connected. Qt: `ConnectedState`.
    Connected = 3,
    /// Closing: pending data is being written first. Qt: `ClosingState`.
    Closing = 6,
}

impl LocalSocketState {
    /// Qt's enumerator name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocketState::Unconnected.qt_name(), "UnconnectedState");
    /// ```
    pub fn qt_name(self) -> &'static str {
        match self {
            LocalSocketState::Unconnected => "UnconnectedState",
            LocalSocketState::Connecting => "ConnectingState",
            LocalSocketState::Connected => "ConnectedState",
            LocalSocketState::Closing => "ClosingState",
        }
    }

    /// The local state of an engine state, as Qt's
    /// `QLocalSocketPrivate::_q_stateChanged` maps it; `None` for the
    /// states a stream never takes (`Bound`, `Listening`).
    pub(crate) fn from_engine(state: SocketState) -> Option<LocalSocketState> {
        match state {
            SocketState::Unconnected => Some(LocalSocketState::Unconnected),
            SocketState::HostLookup | SocketState::Connecting => Some(LocalSocketState::Connecting),
            SocketState::Connected => Some(LocalSocketState::Connected),
            SocketState::Closing => Some(LocalSocketState::Closing),
            SocketState::Bound | SocketState::Listening => None,
        }
    }
}

/// What went wrong on a [`LocalSocket`](crate::LocalSocket).
///
/// The values are Qt's, the same numbers as the matching [`SocketError`]s
/// (`PeerClosed` is `RemoteHostClosed`, `ServerNotFound` is `HostNotFound`,
/// `Connection` is `Network`). A socket's `error_string()` has Qt's text,
/// such as "QLocalSocket::connectToServer: Connection refused".
///
/// Qt: `QLocalSocket::LocalSocketError`.
///
/// # Examples
///
/// ```
/// use sigloop_net::LocalSocketError;
/// assert_eq!(LocalSocketError::ServerNotFound as i32, 2);
/// assert_eq!(LocalSocketError::PeerClosed.qt_name(), "PeerClosedError");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LocalSocketError {
    /// The server refused the connection, or the name is a socket file no
    /// server listens on. Qt: `ConnectionRefusedError`.
    ConnectionRefused = 0,
    /// The peer closed the connection. Qt: `PeerClosedError`.
    PeerClosed = 1,
    /// No server by that name (or the name is empty or too long).
    /// Qt: `ServerNotFoundError`.
    ServerNotFound = 2,
    /// Permission denied. Qt: `SocketAccessError`.
    SocketAccess = 3,
    /// Out of descriptors or memory. Qt: `SocketResourceError`.
    SocketResource = 4,
    /// An operation timed out. Qt: `SocketTimeoutError`.
    SocketTimeout = 5,
    /// Qt: `DatagramTooLargeError`.
    DatagramTooLarge = 6,
    /// Another connection error. Qt: `ConnectionError`.
    Connection = 7,
    /// Qt: `UnsupportedSocketOperationError`.
    UnsupportedSocketOperation = 10,
    /// Not allowed in the socket's state (connecting twice).
    /// Qt: `OperationError`.
    Operation = 19,
    /// No error yet, or one without a better code.
    /// Qt: `UnknownSocketError` (the initial value).
    #[default]
    Unknown = -1,
}

impl LocalSocketError {
    /// Qt's enumerator name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocketError::Connection.qt_name(), "ConnectionError");
    /// ```
    pub fn qt_name(self) -> &'static str {
        use LocalSocketError::*;
        match self {
            ConnectionRefused => "ConnectionRefusedError",
            PeerClosed => "PeerClosedError",
            ServerNotFound => "ServerNotFoundError",
            SocketAccess => "SocketAccessError",
            SocketResource => "SocketResourceError",
            SocketTimeout => "SocketTimeoutError",
            DatagramTooLarge => "DatagramTooLargeError",
            Connection => "ConnectionError",
            UnsupportedSocketOperation => "UnsupportedSocketOperationError",
            Operation => "OperationError",
            Unknown => "UnknownSocketError",
        }
    }

    /// The local error of an engine error (Qt: `QLocalSocket::error()`'s
    /// mapping; codes a local socket cannot meet are `Unknown`).
    pub(crate) fn from_engine(error: SocketError) -> LocalSocketError {
        use LocalSocketError as L;
        match error {
            SocketError::ConnectionRefused => L::ConnectionRefused,
            SocketError::RemoteHostClosed => L::PeerClosed,
            SocketError::HostNotFound => L::ServerNotFound,
            SocketError::SocketAccess => L::SocketAccess,
            SocketError::SocketResource => L::SocketResource,
            SocketError::SocketTimeout => L::SocketTimeout,
            SocketError::DatagramTooLarge => L::DatagramTooLarge,
            SocketError::Network => L::Connection,
            SocketError::UnsupportedSocketOperation => L::UnsupportedSocketOperation,
            SocketError::Operation => L::Operation,
            _ => L::Unknown,
        }
    }

    /// The engine error recorded for a local error (Qt's
    /// `QLocalSocketPrivate::setErrorAndEmit`).
    pub(crate) fn to_engine(self) -> SocketError {
        use LocalSocketError as L;
        match self {
            L::ConnectionRefused => SocketError::ConnectionRefused,
            L::PeerClosed => SocketError::RemoteHostClosed,
            L::ServerNotFound => SocketError::HostNotFound,
            L::SocketAccess => SocketError::SocketAccess,
            L::SocketResource => SocketError::SocketResource,
            L::SocketTimeout => SocketError::SocketTimeout,
            L::DatagramTooLarge => SocketError::DatagramTooLarge,
            L::Connection => SocketError::Network,
            L::UnsupportedSocketOperation => SocketError::UnsupportedSocketOperation,
            L::Operation => SocketError::Operation,
            L::Unknown => SocketError::Unknown,
        }
    }
}

impl fmt::Display for LocalSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qt_name())
    }
}

/// Options of a [`LocalSocket`](crate::LocalSocket) (flags).
///
/// Qt: `QLocalSocket::SocketOptions`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::LocalSocketOptions;
/// assert_eq!(LocalSocketOptions::ABSTRACT_NAMESPACE.bits(), 1);
/// assert!(LocalSocketOptions::default().is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LocalSocketOptions(u32);

impl LocalSocketOptions {
    /// No options: the name is a file. Qt: `NoOptions`.
    pub const NO_OPTIONS: Self = LocalSocketOptions(0);
    /// The name is in Linux's abstract namespace (no file); ignored where
    /// the platform has none. Qt: `AbstractNamespaceOption`.
    pub const ABSTRACT_NAMESPACE: Self = LocalSocketOptions(0x1);

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalSocketOptions::NO_OPTIONS.bits(), 0);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set (and `other` is not empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::LocalSocketOptions as O;
    /// assert!(O::ABSTRACT_NAMESPACE.contains(O::ABSTRACT_NAMESPACE));
    /// assert!(!O::NO_OPTIONS.contains(O::ABSTRACT_NAMESPACE));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether no option is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::LocalSocketOptions::NO_OPTIONS.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for LocalSocketOptions {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        LocalSocketOptions(self.0 | rhs.0)
    }
}

/// Options of a [`LocalServer`](crate::LocalServer) (flags): who may
/// connect (the socket file's mode) or the abstract namespace.
///
/// Without an access option the file's mode is what the process's umask
/// gives. With one, the file is made with exactly the chosen `rwx` bits
/// (`USER_ACCESS` alone: `0700`).
///
/// Qt: `QLocalServer::SocketOptions`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::LocalServerOptions as O;
/// assert_eq!((O::USER_ACCESS | O::GROUP_ACCESS).bits(), 3);
/// assert_eq!(O::WORLD_ACCESS.bits(), 7);
/// assert_eq!(O::ABSTRACT_NAMESPACE.bits(), 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LocalServerOptions(u32);

impl LocalServerOptions {
    /// No options. Qt: `NoOptions`.
    pub const NO_OPTIONS: Self = LocalServerOptions(0);
    /// The owner may connect (`rwx------`). Qt: `UserAccessOption`.
    pub const USER_ACCESS: Self = LocalServerOptions(0x1);
    /// The group may connect (`---rwx---`). Qt: `GroupAccessOption`.
    pub const GROUP_ACCESS: Self = LocalServerOptions(0x2);
    /// Everyone else may connect (`------rwx`). Qt: `OtherAccessOption`.
    pub const OTHER_ACCESS: Self = LocalServerOptions(0x4);
    /// All three. Qt: `WorldAccessOption`.
    pub const WORLD_ACCESS: Self = LocalServerOptions(0x7);
    /// Listen in Linux's abstract namespace: no file, the access options do
    /// not apply. Where the platform has no abstract namespace it means
    /// `WORLD_ACCESS`, as in Qt. Qt: `AbstractNamespaceOption`.
    pub const ABSTRACT_NAMESPACE: Self = LocalServerOptions(0x8);

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::LocalServerOptions::OTHER_ACCESS.bits(), 4);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set (and `other` is not empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::LocalServerOptions as O;
    /// assert!(O::WORLD_ACCESS.contains(O::GROUP_ACCESS));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether no option is set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::LocalServerOptions::default().is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The socket file's mode for the access bits, `None` without any.
    pub(crate) fn file_mode(self) -> Option<u32> {
        if self.0 & Self::WORLD_ACCESS.0 == 0 {
            return None;
        }
        let mut mode = 0;
        if self.contains(Self::USER_ACCESS) {
            mode |= 0o700;
        }
        if self.contains(Self::GROUP_ACCESS) {
            mode |= 0o070;
        }
        if self.contains(Self::OTHER_ACCESS) {
            mode |= 0o007;
        }
        Some(mode)
    }
}

impl std::ops::BitOr for LocalServerOptions {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        LocalServerOptions(self.0 | rhs.0)
    }
}
