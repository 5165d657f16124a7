//! OS socket helpers on top of socket2: binding with Qt's `BindMode`, and
//! the socket options of `QAbstractSocket::SocketOption`.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::socket::{BindMode, SocketOption, SocketType};

/// A non-blocking, close-on-exec socket of `kind` for `address`'s family,
/// configured as Qt's engine configures a new socket of that kind.
pub(crate) fn new_socket(kind: SocketType, address: SocketAddr) -> io::Result<Socket> {
    let (ty, protocol) = match kind {
        SocketType::Udp => (Type::DGRAM, Protocol::UDP),
        _ => (Type::STREAM, Protocol::TCP),
    };
    let socket = Socket::new(
        Domain::for_address(address),
        ty.nonblocking().cloexec(),
        Some(protocol),
    )?;
    if kind == SocketType::Udp {
        configure_datagram(&socket);
    }
    Ok(socket)
}

/// A new socket of `kind` bound to `address` (not listening) with Qt's
/// Unix `BindMode` rules: `SHARE_ADDRESS` or `REUSE_ADDRESS_HINT` set
/// `SO_REUSEADDR`, another non-default mode clears it, the default leaves
/// it; `SO_REUSEPORT` is never touched. `dual_stack` binds `::` with
/// `IPV6_V6ONLY` off, Qt's `Any`.
pub(crate) fn bind_socket(
    kind: SocketType,
    address: SocketAddr,
    mode: BindMode,
    dual_stack: bool,
) -> io::Result<Socket> {
    let socket = new_socket(kind, address)?;
    if address.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
    }
    if let Some(reuse) = mode.reuse_address() {
        socket.set_reuse_address(reuse)?;
    }
    socket.bind(&address.into())?;
    Ok(socket)
}

/// What Qt's native engine sets on every UDP socket it creates:
/// `SO_BROADCAST`, and the receive options that fill in a received
/// datagram's destination, interface and hop limit (`IP_PKTINFO` and
/// `IP_RECVTTL`, or `IPV6_RECVPKTINFO` and `IPV6_RECVHOPLIMIT`). As in Qt,
/// a failure only loses that information.
pub(crate) fn configure_datagram(socket: &Socket) {
    use nix::sys::socket::{setsockopt, sockopt};
    if let Err(err) = socket.set_broadcast(true) {
        log::debug!("UDP socket: SO_BROADCAST: {err}");
    }
    let result = match socket.domain() {
        Ok(Domain::IPV6) => setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &true)
            .and_then(|()| setsockopt(socket, sockopt::Ipv6RecvHopLimit, &true)),
        _ => setsockopt(socket, sockopt::Ipv4PacketInfo, &true)
            .and_then(|()| setsockopt(socket, sockopt::Ipv4RecvTtl, &true)),
    };
    if let Err(err) = result {
        log::debug!("UDP socket: packet-information options: {err}");
    }
}

/// Sets `option` the way Qt's native engine does on Unix.
pub(crate) fn set_option(socket: SockRef<'_>, option: SocketOption, value: i32) -> io::Result<()> {
    let on = value != 0;
    match option {
        SocketOption::LowDelay => socket.set_tcp_nodelay(on),
        SocketOption::KeepAlive => socket.set_keepalive(on),
        SocketOption::MulticastTtl => match is_v6(&socket)? {
            true => socket.set_multicast_hops_v6(value as u32),
            false => socket.set_multicast_ttl_v4(value as u32),
        },
        SocketOption::MulticastLoopback => match is_v6(&socket)? {
            true => socket.set_multicast_loop_v6(on),
            false => socket.set_multicast_loop_v4(on),
        },
        SocketOption::TypeOfService => socket.set_tos_v4(value as u32),
        SocketOption::SendBufferSize => socket.set_send_buffer_size(value.max(0) as usize),
        SocketOption::ReceiveBufferSize => socket.set_recv_buffer_size(value.max(0) as usize),
        SocketOption::PathMtu => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the path MTU is read only",
        )),
    }
}

/// Reads `option` as an integer, as Qt's `socketOption` does.
pub(crate) fn get_option(socket: SockRef<'_>, option: SocketOption) -> io::Result<i32> {
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let size = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    Ok(match option {
        SocketOption::LowDelay => socket.tcp_nodelay()? as i32,
        SocketOption::KeepAlive => socket.keepalive()? as i32,
        SocketOption::MulticastTtl => match is_v6(&socket)? {
            true => int(socket.multicast_hops_v6()?),
            false => int(socket.multicast_ttl_v4()?),
        },
        SocketOption::MulticastLoopback => match is_v6(&socket)? {
            true => socket.multicast_loop_v6()? as i32,
            false => socket.multicast_loop_v4()? as i32,
        },
        SocketOption::TypeOfService => int(socket.tos_v4()?),
        SocketOption::SendBufferSize => size(socket.send_buffer_size()?),
        SocketOption::ReceiveBufferSize => size(socket.recv_buffer_size()?),
        // socket2 has no IP_MTU getter and the crate forbids unsafe code,
        // so the path MTU is reported as unavailable (Qt's invalid QVariant).
        SocketOption::PathMtu => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "IP_MTU is not available",
            ))
        }
    })
}

fn is_v6(socket: &SockRef<'_>) -> io::Result<bool> {
    Ok(socket.domain()? == Domain::IPV6)
}
