//! The OS socket under an abstract socket: a TCP stream, a UDP socket, or
//! a Unix-domain stream (a `LocalSocket`'s connection).
//!
//! The state machine (lookup, connect attempts, close paths, signals) is
//! the same for all, as in Qt's `QAbstractSocket` (Qt's Unix `QLocalSocket`
//! drives one too); only the byte moves differ, and they go through this
//! enum.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use mio::event::Source;
use mio::net::{TcpStream, UdpSocket, UnixStream};
use mio::{Interest, Registry, Token};
use socket2::Socket;

use super::SocketType;

/// A registered OS socket.
#[derive(Debug)]
pub(crate) enum Transport {
    Tcp(TcpStream),
    Udp(UdpSocket),
    /// A Unix-domain stream: it has no IP addresses, so `peer_addr` and
    /// `local_addr` fail and the socket's addresses stay null.
    Unix(UnixStream),
}

impl Transport {
    /// Wraps a non-blocking socket2 socket of `kind`.
    pub(crate) fn from_socket(kind: SocketType, socket: Socket) -> Transport {
        match kind {
            SocketType::Udp => Transport::Udp(UdpSocket::from_std(socket.into())),
            _ => Transport::Tcp(TcpStream::from_std(socket.into())),
        }
    }

    /// One read: bytes of the stream, or one datagram (connected UDP).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(buf),
            Transport::Udp(s) => s.recv(buf),
            Transport::Unix(s) => s.read(buf),
        }
    }

    /// One write: stream bytes, or one datagram to the connected peer.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write(buf),
            Transport::Udp(s) => s.send(buf),
            Transport::Unix(s) => s.write(buf),
        }
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Transport::Tcp(s) => s.take_error(),
            Transport::Udp(s) => s.take_error(),
            Transport::Unix(s) => s.take_error(),
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Transport::Tcp(s) => s.peer_addr(),
            Transport::Udp(s) => s.peer_addr(),
            Transport::Unix(_) => Err(no_ip_address()),
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Transport::Tcp(s) => s.local_addr(),
            Transport::Udp(s) => s.local_addr(),
            Transport::Unix(_) => Err(no_ip_address()),
        }
    }
}

/// What `peer_addr`/`local_addr` say for a Unix-domain stream.
fn no_ip_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a Unix-domain socket has no IP address",
    )
}

impl AsRawFd for Transport {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Transport::Tcp(s) => s.as_raw_fd(),
            Transport::Udp(s) => s.as_raw_fd(),
            Transport::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl AsFd for Transport {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Transport::Tcp(s) => s.as_fd(),
            Transport::Udp(s) => s.as_fd(),
            Transport::Unix(s) => s.as_fd(),
        }
    }
}

impl Source for Transport {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.register(registry, token, interests),
            Transport::Udp(s) => s.register(registry, token, interests),
            Transport::Unix(s) => s.register(registry, token, interests),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.reregister(registry, token, interests),
            Transport::Udp(s) => s.reregister(registry, token, interests),
            Transport::Unix(s) => s.reregister(registry, token, interests),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.deregister(registry),
            Transport::Udp(s) => s.deregister(registry),
            Transport::Unix(s) => s.deregister(registry),
        }
    }
}

impl From<Transport> for std::os::fd::OwnedFd {
    fn from(transport: Transport) -> Self {
        match transport {
            Transport::Tcp(s) => s.into(),
            Transport::Udp(s) => s.into(),
            Transport::Unix(s) => s.into(),
        }
    }
}
