//! A UDP socket bound through a SOCKS5 proxy (Qt: `QSocks5SocketEngine` in
//! its UDP ASSOCIATE mode).
//!
//! Qt's `bind` through a SOCKS5 proxy binds the local UDP socket, then
//! blocks (up to five seconds) while a TCP control connection to the proxy
//! runs the `UDP ASSOCIATE` handshake; the socket becomes `Bound` only once
//! the proxy named its relay. From then on every datagram sent goes to the
//! relay with the RFC 1928 header naming the real target, and every
//! datagram received is unwrapped: the sender is the peer the relay names.
//! Datagrams that do not come from the relay, or carry a bad header, are
//! dropped, as Qt drops them.
//!
//! The association lives as long as the control connection: it stays
//! registered with the loop (same handler as the UDP socket, its own
//! token), and when the proxy closes it the socket reports the control
//! connection's error, as Qt's engine does, and relays nothing more.
//!
//! All of it sits in the boxed proxy state: a socket without a proxy pays
//! nothing here beyond the `None` it already had.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use sigloop_core::__private::IoRegistration;

use super::engine::SocketCore;
use super::{from_io, text, BindMode, Failure, Op, SocketError, SocketState};
use crate::host_address::{HostAddress, SpecialAddress};
use crate::network_datagram::NetworkDatagram;
use crate::proxy::socks5::{unwrap_datagram, wrap_datagram, Socks5Command, Socks5Handshake};
use crate::proxy::{HandshakeEvent, NetworkProxy, ProxyAddress, ProxyAuthenticationRequest};

/// How long `bind` waits for the association (Qt's
/// `Socks5BlockingBindTimeout`).
const ASSOCIATE_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest datagram the relay can send us.
const MAX_RELAYED: usize = 65_535 - 8;

/// Text when the proxy answers `UDP ASSOCIATE` with a reply meant for
/// another command.
const UNEXPECTED_REPLY: &str = "SOCKS version 5 protocol error";

/// A live association with a SOCKS5 UDP relay.
pub(crate) struct UdpRelay {
    /// The control connection; `None` once the proxy closed it.
    control: Option<(mio::net::TcpStream, IoRegistration)>,
    /// Where datagrams go and come from.
    relay: SocketAddr,
    /// Datagrams unwrapped and not read yet: (sender, payload).
    pending: VecDeque<(SocketAddr, Vec<u8>)>,
}

impl SocketCore {
    /// Runs `f` on the relay state, if the socket is bound through one.
    fn with_relay<R>(&self, f: impl FnOnce(&mut UdpRelay) -> R) -> Option<R> {
        let mut d = self.d.borrow_mut();
        let relay = d.rare_if_any()?.proxy.as_mut()?.relay.as_mut()?;
        Some(f(relay))
    }

    /// Whether datagrams go through a SOCKS5 relay.
    pub(crate) fn relayed(&self) -> bool {
        self.d
            .borrow()
            .rare()
            .and_then(|r| r.proxy.as_ref())
            .is_some_and(|p| p.relay.is_some())
    }

    /// Forgets the association (close, abort): the control connection
    /// closes, which ends it at the proxy.
    pub(crate) fn drop_relay(&self) {
        let relay = {
            let mut d = self.d.borrow_mut();
            d.rare_if_any()
                .and_then(|r| r.proxy.as_mut())
                .and_then(|p| p.relay.take())
        };
        drop(relay);
    }

    /// Qt: `QSocks5SocketEngine::bind` for a UDP socket: the local bind
    /// (the dual-stack Any becomes AnyIPv4: SOCKS5 relays one family),
    /// then the association, blocking; `Bound` only once it is up.
    pub(crate) fn bind_through_socks5(
        &self,
        proxy: &NetworkProxy,
        address: &HostAddress,
        port: u16,
        mode: BindMode,
    ) -> Result<(), SocketError> {
        let address = match *address == SpecialAddress::Any {
            true => HostAddress::from(SpecialAddress::AnyIPv4),
            false => address.clone(),
        };
        self.bind_local_datagram(&address, port, mode)?;
        let local = self.with_datagram_sockref(|s| s.local_addr().ok().and_then(|a| a.as_socket()));
        let local = local
            .flatten()
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
        match self.associate(proxy, local) {
            Ok((control, relay)) => self.relay_up(control, relay),
            Err((error, text)) => {
                {
                    let mut d = self.d.borrow_mut();
                    d.stream = None;
                    d.registration = None;
                    d.datagram_read = super::engine::DatagramRead::Off;
                    d.clear_endpoints();
                }
                self.raise(error, text);
                Err(error)
            }
        }
    }

    /// Keeps the control connection on the loop and enters `Bound`.
    fn relay_up(&self, control: TcpStream, relay: SocketAddr) -> Result<(), SocketError> {
        let registered = control.set_nonblocking(true).and_then(|()| {
            let mut control = mio::net::TcpStream::from_std(control);
            let handler: std::rc::Weak<dyn sigloop_core::__private::IoHandler> = self.this.clone();
            IoRegistration::register(&mut control, mio::Interest::READABLE, handler)
                .map(|registration| (control, registration))
        });
        let control = match registered {
            Ok(control) => control,
            Err(err) => {
                let (error, text) = from_io(Op::Create, &err);
                self.raise(error, text);
                return Err(error);
            }
        };
        {
            let mut d = self.d.borrow_mut();
            d.rare_mut().proxy.get_or_insert_with(Box::default).relay = Some(UdpRelay {
                control: Some(control),
                relay,
                pending: VecDeque::new(),
            });
        }
        self.change_state(SocketState::Bound);
        Ok(())
    }

    /// Runs the `UDP ASSOCIATE` handshake over a new control connection,
    /// blocking up to [`ASSOCIATE_TIMEOUT`]. Returns the connection and the
    /// relay's address.
    fn associate(
        &self,
        proxy: &NetworkProxy,
        local: SocketAddr,
    ) -> Result<(TcpStream, SocketAddr), Failure> {
        let deadline = Instant::now() + ASSOCIATE_TIMEOUT;
        let mut handshake = Socks5Handshake::new(
            Socks5Command::UdpAssociate,
            ProxyAddress::Ip(local),
            proxy.user(),
            proxy.password(),
        )
        .map_err(|e| (e.error(), Cow::Owned(e.text().to_owned())))?;
        let fail = |h: &mut Socks5Handshake, (error, text): Failure| match h
            .control_socket_error(error, &text)
        {
            HandshakeEvent::Failed(e) => (e.error(), Cow::Owned(e.text().to_owned())),
            _ => (error, text),
        };
        let proxy_ip = match resolve(proxy) {
            Ok(ip) => ip,
            Err(failure) => return Err(fail(&mut handshake, failure)),
        };
        let mut proxy = proxy.clone();
        'connect: loop {
            let mut control = match connect_control(proxy_ip, deadline) {
                Ok(control) => control,
                Err(failure) => return Err(fail(&mut handshake, failure)),
            };
            handshake.proxy_connected();
            let mut event = HandshakeEvent::Pending;
            loop {
                match event {
                    HandshakeEvent::Pending => {}
                    HandshakeEvent::UdpAssociated(bound) => {
                        return Ok((control, relay_address(&bound, proxy_ip)));
                    }
                    HandshakeEvent::Reconnect => continue 'connect,
                    HandshakeEvent::AuthenticationRequired => {
                        let request = ProxyAuthenticationRequest::new(
                            proxy.clone(),
                            handshake.authenticator(),
                        );
                        self.sig.emit_proxy_authentication_required(&request);
                        let auth = request.into_authenticator();
                        if auth.has_credentials() {
                            proxy.set_user(auth.user());
                            proxy.set_password(auth.password());
                        }
                        event = handshake.authenticate(&auth);
                        continue;
                    }
                    HandshakeEvent::Failed(e) => {
                        return Err((e.error(), Cow::Owned(e.text().to_owned())))
                    }
                    HandshakeEvent::Connected
                    | HandshakeEvent::Bound(_)
                    | HandshakeEvent::PeerConnected(_) => {
                        return Err((SocketError::ProxyProtocol, Cow::Borrowed(UNEXPECTED_REPLY)))
                    }
                }
                event = match exchange(&mut control, &mut handshake, deadline) {
                    Ok(event) => event,
                    Err(failure) => return Err(fail(&mut handshake, failure)),
                };
            }
        }
    }

    /// Readiness on the control connection or the UDP socket: a closed
    /// control connection ends the association with Qt's error (the
    /// control socket's own, `RemoteHostClosedError`).
    pub(crate) fn relay_check_control(&self) {
        let closed = self
            .with_relay(|relay| {
                let (control, _) = relay.control.as_mut()?;
                let mut buf = [0u8; 512];
                loop {
                    match control.read(&mut buf) {
                        // The proxy sends nothing after the reply.
                        Ok(n) if n > 0 => {}
                        Ok(_) => {
                            return Some((
                                SocketError::RemoteHostClosed,
                                Cow::Borrowed(text::REMOTE_CLOSED),
                            ))
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Some(from_io(Op::Read, &e)),
                    }
                }
            })
            .flatten();
        let Some((error, text)) = closed else {
            return;
        };
        let control = self
            .with_relay(|relay| {
                relay.pending.clear();
                relay.control.take()
            })
            .flatten();
        drop(control);
        self.raise(error, text);
    }

    /// Whether the association is over (Qt's engine is then not valid:
    /// reads and writes are refused as on an unbound socket).
    fn relay_closed(&self) -> bool {
        self.with_relay(|relay| relay.control.is_none()) == Some(true)
    }

    /// Reads what the OS holds into the queue, unwrapping each datagram;
    /// strangers and bad headers are dropped.
    fn relay_pump(&self) {
        let Some(Some(relay)) = self.with_relay(|r| r.control.as_ref().map(|_| r.relay)) else {
            return;
        };
        let mut buf = vec![0u8; MAX_RELAYED];
        loop {
            let received = self.with_udp(|socket| loop {
                match socket.recv_from(&mut buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            });
            let (n, from) = match received {
                Some(Ok(got)) => got,
                // WouldBlock, or an ICMP error from the relay: nothing to queue.
                Some(Err(e)) if e.kind() != io::ErrorKind::WouldBlock => continue,
                _ => return,
            };
            if !same_endpoint(from, relay) {
                log::debug!("UdpSocket: dropped a datagram from {from}, not the SOCKS5 relay");
                continue;
            }
            match unwrap_datagram(&buf[..n]) {
                Some((ProxyAddress::Ip(sender), payload)) => {
                    let payload = payload.to_vec();
                    self.with_relay(|r| r.pending.push_back((sender, payload)));
                }
                _ => log::debug!("UdpSocket: dropped a malformed datagram from the SOCKS5 relay"),
            }
        }
    }

    /// The size of the next relayed datagram's payload; `None` when the
    /// socket is not relayed, `Some(None)` when nothing waits.
    pub(crate) fn relay_peek(&self) -> Option<Option<usize>> {
        if !self.relayed() {
            return None;
        }
        self.relay_pump();
        self.with_relay(|r| r.pending.front().map(|(_, data)| data.len()))
    }

    /// The next relayed datagram, truncated to `max` bytes.
    pub(crate) fn relay_take(&self, max: usize) -> Option<NetworkDatagram> {
        self.relay_pump();
        let (from, mut data) = self.with_relay(|r| r.pending.pop_front()).flatten()?;
        data.truncate(max);
        let local = {
            let d = self.d.borrow();
            (d.local_address(), d.local.port())
        };
        Some(NetworkDatagram::received(
            data,
            (HostAddress::from(from.ip()), from.port()),
            local,
            None,
            0,
        ))
    }

    /// Qt: `QSocks5SocketEngine::writeDatagram`: the datagram goes to the
    /// relay, wrapped with its real destination.
    pub(crate) fn relay_send(&self, dgram: &NetworkDatagram) -> Result<usize, SocketError> {
        if self.relay_closed() {
            log::warn!("UdpSocket::write_datagram() called on a UdpSocket when not in BoundState");
            return Err(SocketError::Operation);
        }
        let target = dgram
            .destination_port()
            .and_then(|port| dgram.destination_address().to_socket_addr(port));
        let Some(target) = target else {
            self.raise(SocketError::Network, text::SEND_MESSAGE);
            return Err(SocketError::Network);
        };
        let wire = match wrap_datagram(&ProxyAddress::Ip(target), dgram.data()) {
            Ok(wire) => wire,
            Err(e) => {
                self.raise(e.error(), e.text().to_owned());
                return Err(e.error());
            }
        };
        let relay = self.with_relay(|r| r.relay);
        let sent = relay.and_then(|relay| {
            self.with_udp(|socket| loop {
                match socket.send_to(&wire, relay) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other,
                }
            })
        });
        match sent.unwrap_or_else(|| Err(io::Error::from(io::ErrorKind::NotConnected))) {
            Ok(_) => {
                let n = dgram.data().len();
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
}

/// The proxy's address: a literal, or the first address its name has.
fn resolve(proxy: &NetworkProxy) -> Result<SocketAddr, Failure> {
    let not_found = || {
        (
            SocketError::HostNotFound,
            Cow::Borrowed(text::HOST_NOT_FOUND),
        )
    };
    (proxy.host_name(), proxy.port())
        .to_socket_addrs()
        .map_err(|_| not_found())?
        .next()
        .ok_or_else(not_found)
}

/// Connects to the proxy before `deadline`.
fn connect_control(proxy: SocketAddr, deadline: Instant) -> Result<TcpStream, Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out());
    }
    match TcpStream::connect_timeout(&proxy, left) {
        Ok(stream) => Ok(stream),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timed_out()),
        Err(e) => Err(from_io(Op::Connect, &e)),
    }
}

fn timed_out() -> Failure {
    (
        SocketError::SocketTimeout,
        Cow::Borrowed(text::CONNECT_TIMED_OUT),
    )
}

/// Writes the handshake's output, then reads one reply chunk and feeds it.
fn exchange(
    control: &mut TcpStream,
    handshake: &mut Socks5Handshake,
    deadline: Instant,
) -> Result<HandshakeEvent, Failure> {
    let out = handshake.take_output();
    if !out.is_empty() {
        control
            .write_all(&out)
            .map_err(|e| from_io(Op::Write, &e))?;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err((
            SocketError::SocketTimeout,
            Cow::Borrowed(text::WAIT_CONNECT_TIMED_OUT),
        ));
    }
    control
        .set_read_timeout(Some(left))
        .map_err(|e| from_io(Op::Read, &e))?;
    let mut buf = [0u8; 512];
    loop {
        match control.read(&mut buf) {
            Ok(0) => return Ok(handshake.proxy_closed()),
            Ok(n) => return Ok(handshake.feed(&buf[..n])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Qt's engine waits with the control socket's
            // `waitForReadyRead`, whose timeout is its own error.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err((
                    SocketError::SocketTimeout,
                    Cow::Borrowed(text::WAIT_CONNECT_TIMED_OUT),
                ))
            }
            Err(e) => return Err(from_io(Op::Read, &e)),
        }
    }
}

/// The relay's address: the reply's, with an unspecified address meaning
/// "the proxy's own" (RFC 1928 servers answer so when they relay on the
/// address the client reached them at).
fn relay_address(bound: &ProxyAddress, proxy: SocketAddr) -> SocketAddr {
    match bound {
        ProxyAddress::Ip(addr) if addr.ip().is_unspecified() => {
            SocketAddr::new(proxy.ip(), addr.port())
        }
        ProxyAddress::Ip(addr) => *addr,
        // A name the proxy did not resolve for us: its own address.
        ProxyAddress::Domain(_, port) => SocketAddr::new(proxy.ip(), *port),
    }
}

/// Whether `a` and `b` are one endpoint, a v4-mapped IPv6 address equal
/// to its IPv4 form.
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    fn canonical(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        }
    }
    a.port() == b.port() && canonical(a.ip()) == canonical(b.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_relay_address_means_the_proxy() {
        let proxy = SocketAddr::from(([127, 0, 0, 1], 1080));
        let bound = ProxyAddress::from(([0, 0, 0, 0], 4000));
        assert_eq!(
            relay_address(&bound, proxy),
            SocketAddr::from(([127, 0, 0, 1], 4000))
        );
        let bound = ProxyAddress::from(([127, 0, 0, 2], 4000));
        assert_eq!(
            relay_address(&bound, proxy),
            SocketAddr::from(([127, 0, 0, 2], 4000))
        );
    }

    #[test]
    fn a_mapped_address_is_the_same_endpoint() {
        let v4 = SocketAddr::from(([127, 0, 0, 1], 9));
        let mapped = SocketAddr::from((Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 9));
        assert!(same_endpoint(v4, mapped));
        assert!(!same_endpoint(v4, SocketAddr::from(([127, 0, 0, 1], 10))));
    }
}
