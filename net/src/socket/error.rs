//! `SocketError`: Qt's socket error codes, texts and OS mapping.

use std::borrow::Cow;
use std::fmt;
use std::io;

use nix::errno::Errno;

/// What went wrong on a socket.
///
/// The numeric values are Qt's. [`qt_name`](Self::qt_name) gives Qt's
/// enumerator name; a socket's `error_string()` gives Qt's English text.
///
/// Qt: `QAbstractSocket::SocketError`.
///
/// # Examples
///
/// ```
/// use sigloop_net::SocketError;
/// assert_eq!(SocketError::RemoteHostClosed as i32, 1);
/// assert_eq!(SocketError::Unknown as i32, -1);
/// assert_eq!(SocketError::ConnectionRefused.qt_name(), "ConnectionRefusedError");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SocketError {
    /// Qt: `ConnectionRefusedError`.
    ConnectionRefused = 0,
    /// Qt: `RemoteHostClosedError`.
    RemoteHostClosed = 1,
    /// Qt: `HostNotFoundError`.
    HostNotFound = 2,
    /// Qt: `SocketAccessError`.
    SocketAccess = 3,
    /// Qt: `SocketResourceError`.
    SocketResource = 4,
    /// Qt: `SocketTimeoutError`.
    SocketTimeout = 5,
    /// Qt: `DatagramTooLargeError`.
    DatagramTooLarge = 6,
    /// Qt: `NetworkError`.
    Network = 7,
    /// Qt: `AddressInUseError`.
    AddressInUse = 8,
    /// Qt: `SocketAddressNotAvailableError`.
    SocketAddressNotAvailable = 9,
    /// Qt: `UnsupportedSocketOperationError`.
    UnsupportedSocketOperation = 10,
    /// Qt: `UnfinishedSocketOperationError`.
    UnfinishedSocketOperation = 11,
    /// Qt: `ProxyAuthenticationRequiredError`.
    ProxyAuthenticationRequired = 12,
    /// Qt: `SslHandshakeFailedError`.
    SslHandshakeFailed = 13,
    /// Qt: `ProxyConnectionRefusedError`.
    ProxyConnectionRefused = 14,
    /// Qt: `ProxyConnectionClosedError`.
    ProxyConnectionClosed = 15,
    /// Qt: `ProxyConnectionTimeoutError`.
    ProxyConnectionTimeout = 16,
    /// Qt: `ProxyNotFoundError`.
    ProxyNotFound = 17,
    /// Qt: `ProxyProtocolError`.
    ProxyProtocol = 18,
    /// Qt: `OperationError`.
    Operation = 19,
    /// Qt: `SslInternalError`.
    SslInternal = 20,
    /// Qt: `SslInvalidUserDataError`.
    SslInvalidUserData = 21,
    /// Qt: `TemporaryError`.
    Temporary = 22,
    /// No error yet, or one without a better code.
    /// Qt: `UnknownSocketError` (the initial value).
    #[default]
    Unknown = -1,
}

impl SocketError {
    /// Qt's enumerator name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::SocketError::Unknown.qt_name(), "UnknownSocketError");
    /// ```
    pub fn qt_name(self) -> &'static str {
        use SocketError::*;
        match self {
            ConnectionRefused => "ConnectionRefusedError",
            RemoteHostClosed => "RemoteHostClosedError",
            HostNotFound => "HostNotFoundError",
            SocketAccess => "SocketAccessError",
            SocketResource => "SocketResourceError",
            SocketTimeout => "SocketTimeoutError",
            DatagramTooLarge => "DatagramTooLargeError",
            Network => "NetworkError",
            AddressInUse => "AddressInUseError",
            SocketAddressNotAvailable => "SocketAddressNotAvailableError",
            UnsupportedSocketOperation => "UnsupportedSocketOperationError",
            UnfinishedSocketOperation => "UnfinishedSocketOperationError",
            ProxyAuthenticationRequired => "ProxyAuthenticationRequiredError",
            SslHandshakeFailed => "SslHandshakeFailedError",
            ProxyConnectionRefused => "ProxyConnectionRefusedError",
            ProxyConnectionClosed => "ProxyConnectionClosedError",
            ProxyConnectionTimeout => "ProxyConnectionTimeoutError",
            ProxyNotFound => "ProxyNotFoundError",
            ProxyProtocol => "ProxyProtocolError",
            Operation => "OperationError",
            SslInternal => "SslInternalError",
            SslInvalidUserData => "SslInvalidUserDataError",
            Temporary => "TemporaryError",
            Unknown => "UnknownSocketError",
        }
    }
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qt_name())
    }
}

/// Qt's `QAbstractSocket::errorString()` texts, shared by every socket kind.
pub(crate) mod text {
    pub(crate) const UNKNOWN: &str = "Unknown error";
    pub(crate) const REFUSED: &str = "Connection refused";
    pub(crate) const HOST_NOT_FOUND: &str = "Host not found";
    pub(crate) const CONNECT_TIMED_OUT: &str = "Connection timed out";
    pub(crate) const WAIT_CONNECT_TIMED_OUT: &str = "Socket operation timed out";
    pub(crate) const WAIT_TIMED_OUT: &str = "Network operation timed out";
    pub(crate) const REMOTE_CLOSED: &str = "The remote host closed the connection";
    pub(crate) const BUSY: &str = "Trying to connect while connection is in progress";
    pub(crate) const NOT_CONNECTED: &str = "Socket is not connected";
    pub(crate) const ADDRESS_IN_USE: &str = "The bound address is already in use";
    pub(crate) const ADDRESS_NOT_AVAILABLE: &str = "The address is not available";
    pub(crate) const ADDRESS_PROTECTED: &str = "The address is protected";
    pub(crate) const NETWORK_UNREACHABLE: &str = "Network unreachable";
    pub(crate) const HOST_UNREACHABLE: &str = "Host unreachable";
    pub(crate) const PERMISSION_DENIED: &str = "Permission denied";
    pub(crate) const OUT_OF_RESOURCES: &str = "Out of resources";
    pub(crate) const UNSUPPORTED: &str = "Operation on socket is not supported";
    pub(crate) const DATAGRAM_TOO_LARGE: &str = "Datagram was too large to send";
    pub(crate) const NO_DATAGRAM: &str = "No datagram available for reading";
    pub(crate) const SEND_DATAGRAM: &str = "Unable to send a datagram";
    pub(crate) const SEND_MESSAGE: &str = "Unable to send a message";
    pub(crate) const RECEIVE_DATAGRAM: &str = "Unable to receive a message";

    /// Every text above; a socket stores an index into this table instead
    /// of the text (one byte instead of a boxed `Cow`).
    const ALL: [&str; 22] = [
        UNKNOWN,
        REFUSED,
        HOST_NOT_FOUND,
        CONNECT_TIMED_OUT,
        WAIT_CONNECT_TIMED_OUT,
        WAIT_TIMED_OUT,
        REMOTE_CLOSED,
        BUSY,
        NOT_CONNECTED,
        ADDRESS_IN_USE,
        ADDRESS_NOT_AVAILABLE,
        ADDRESS_PROTECTED,
        NETWORK_UNREACHABLE,
        HOST_UNREACHABLE,
        PERMISSION_DENIED,
        OUT_OF_RESOURCES,
        UNSUPPORTED,
        DATAGRAM_TOO_LARGE,
        NO_DATAGRAM,
        SEND_DATAGRAM,
        SEND_MESSAGE,
        RECEIVE_DATAGRAM,
    ];

    /// The index of `text` in the table, if it is one of Qt's texts.
    pub(crate) fn index_of(text: &str) -> Option<u8> {
        // The texts come from these constants: the address usually says.
        let same_str = |t: &&str| std::ptr::eq(*t, text);
        ALL.iter()
            .position(same_str)
            .or_else(|| ALL.iter().position(|t| *t == text))
            .map(|i| i as u8)
    }

    /// The text at `index` (from [`index_of`]).
    pub(crate) fn at(index: u8) -> &'static str {
        ALL.get(usize::from(index)).copied().unwrap_or(UNKNOWN)
    }

    #[cfg(test)]
    #[test]
    fn every_text_round_trips_through_its_index() {
        for text in ALL {
            assert_eq!(at(index_of(text).unwrap()), text);
        }
        assert_eq!(index_of(UNKNOWN), Some(0), "a new socket's text");
        assert_eq!(
            index_of("Broken pipe"),
            None,
            "the OS's texts are kept apart"
        );
    }
}

/// An error code with Qt's text (static unless it is the OS's message).
pub(crate) type Failure = (SocketError, Cow<'static, str>);

/// The OS operation an error came from; Qt maps errno per operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Create,
    Bind,
    Connect,
    Read,
    Write,
    Accept,
    /// `sendto`/`sendmsg` of a datagram (Qt's `nativeSendDatagram`).
    SendDatagram,
    /// `recvfrom`/`recvmsg` of a datagram (Qt's `nativeReceiveDatagram`).
    ReceiveDatagram,
}

/// Maps an OS error to Qt's code and text for `op`.
///
/// The errno values are the target's own (`nix::errno::Errno`), so the
/// mapping holds on every Unix, not only where Linux numbers them.
pub(crate) fn from_io(op: Op, err: &io::Error) -> Failure {
    use Errno::*;
    use SocketError::*;
    // No OS error (an error made in Rust): matches none of the codes.
    let errno = err.raw_os_error().map_or(UnknownErrno, Errno::from_raw);
    // EAGAIN, and EWOULDBLOCK where it is a different number.
    let would_block = err.kind() == io::ErrorKind::WouldBlock && errno != UnknownErrno;
    let pick = |e: SocketError, t: &'static str| (e, Cow::Borrowed(t));
    match (op, errno) {
        (Op::SendDatagram, EMSGSIZE) => pick(DatagramTooLarge, text::DATAGRAM_TOO_LARGE),
        (Op::SendDatagram, ECONNRESET) => pick(RemoteHostClosed, text::REMOTE_CLOSED),
        (Op::SendDatagram, _) if would_block => pick(Temporary, text::SEND_DATAGRAM),
        (Op::SendDatagram, _) => pick(Network, text::SEND_MESSAGE),
        (Op::ReceiveDatagram, ECONNREFUSED) => pick(ConnectionRefused, text::REFUSED),
        (Op::ReceiveDatagram, _) if would_block => pick(Temporary, text::NO_DATAGRAM),
        (Op::ReceiveDatagram, _) => pick(Network, text::RECEIVE_DATAGRAM),
        (Op::Write, EMSGSIZE) => pick(DatagramTooLarge, text::DATAGRAM_TOO_LARGE), // connected UDP
        (_, EMFILE | ENFILE | ENOBUFS | ENOMEM) => pick(SocketResource, text::OUT_OF_RESOURCES),
        (Op::Bind, EADDRINUSE) => pick(AddressInUse, text::ADDRESS_IN_USE),
        (Op::Bind, EADDRNOTAVAIL) => pick(SocketAddressNotAvailable, text::ADDRESS_NOT_AVAILABLE),
        (Op::Bind, EACCES) => pick(SocketAccess, text::ADDRESS_PROTECTED),
        (Op::Connect, ECONNREFUSED) => pick(ConnectionRefused, text::REFUSED),
        (Op::Connect, ENETUNREACH) => pick(Network, text::NETWORK_UNREACHABLE),
        (Op::Connect, EHOSTUNREACH) => pick(Network, text::HOST_UNREACHABLE),
        (Op::Connect, ETIMEDOUT) => pick(Network, text::CONNECT_TIMED_OUT),
        (Op::Connect, EACCES | EPERM) => pick(SocketAccess, text::PERMISSION_DENIED),
        (Op::Connect, EADDRNOTAVAIL) => {
            pick(SocketAddressNotAvailable, text::ADDRESS_NOT_AVAILABLE)
        }
        (Op::Connect, EADDRINUSE) => pick(AddressInUse, text::ADDRESS_IN_USE),
        (Op::Read | Op::Write, ECONNRESET | EPIPE) => pick(RemoteHostClosed, text::REMOTE_CLOSED),
        (Op::Create, EAFNOSUPPORT | EPROTONOSUPPORT) => {
            pick(UnsupportedSocketOperation, text::UNSUPPORTED)
        }
        _ => (Network, Cow::Owned(strerror(err))),
    }
}

/// The OS's message without Rust's " (os error N)" suffix, as Qt's
/// `qt_error_string` prints it.
fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}
