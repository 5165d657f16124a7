//! Host lookup and connect attempts, as `QAbstractSocket::connectToHost()`
//! makes them (every resolved address in turn: Qt's
//! `QAbstractSocketPrivate::_q_connectToNextAddress()`).
//!
//! The resolved list is filtered by the requested protocol and doubled, so
//! every address is tried twice in resolver order. Each attempt uses a
//! fresh non-blocking socket; one that fails at once moves on without
//! waiting, one that is pending gets the connect timeout (30 s by default).
//! Moving to the next address emits nothing; the state stays `Connecting`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use sigloop_core::__private::IoRegistration;
use sigloop_core::{OpenMode, Timer, TimerType};
use socket2::{Domain, Socket};

use super::engine::{CloseIntent, ConnectPlan, ReadSide, SocketCore, WORK_FLUSH};
use super::transport::Transport;
use super::{from_io, text, Op, SocketError, SocketState, SocketType};
use crate::host_address::{HostAddress, NetworkLayerProtocol};
use crate::host_info::HostInfo;

/// Whether a timer can be armed `timeout` from now: a timeout so long that
/// its deadline does not fit an `Instant` (`Duration::MAX`) means "never".
/// The hour of margin covers the time between this check and the timer's
/// own arithmetic.
pub(super) fn has_deadline(timeout: Duration) -> bool {
    Instant::now()
        .checked_add(timeout.saturating_add(Duration::from_secs(3600)))
        .is_some()
}

impl SocketCore {
    /// Qt: `QAbstractSocket::connectToHost(hostName, port, mode, protocol)`.
    pub(crate) fn connect_to_host(
        &self,
        host: &str,
        port: u16,
        mode: OpenMode,
        protocol: NetworkLayerProtocol,
    ) {
        let state = self.state();
        if matches!(
            state,
            SocketState::HostLookup
                | SocketState::Connecting
                | SocketState::Connected
                | SocketState::Closing
        ) {
            log::warn!("connect_to_host() called when already looking up or connecting/connected to {host:?}");
            self.raise(SocketError::Operation, text::BUSY);
            return;
        }
        // A new attempt starts with no error: Qt resets it here, so a
        // reconnect after a remote close or a refusal no longer reports
        // the old one.
        self.set_error(SocketError::Unknown, text::UNKNOWN);
        // An `SslSocket` starts a new connection with no TLS state.
        self.tls_reset_for_connect();
        // Qt: `resolveProxy`, before anything changes.
        if !self.resolve_proxy(host, port) {
            self.raise(SocketError::UnsupportedSocketOperation, text::UNSUPPORTED);
            return;
        }
        {
            let mut d = self.d.borrow_mut();
            d.open_mode = mode;
            d.read_buf.clear();
            d.clear_write_buf();
            d.close = CloseIntent::None;
            d.close_called = false;
            d.peer.set_port(port);
            let rare = d.rare_mut();
            rare.peer_name = host.to_owned();
            rare.connect = Some(ConnectPlan {
                port,
                protocol,
                addresses: Default::default(),
                lookup: None,
                timer: None,
                last_error: None,
                race: None,
                stalled: false,
            });
        }
        self.change_state(SocketState::HostLookup);
        if self.state() != SocketState::HostLookup {
            return;
        }
        // An IP literal needs no lookup: Qt goes on synchronously.
        if self.connect_by_name_through_proxy(host, port) {
            return;
        }
        if let Ok(address) = host.trim().parse::<HostAddress>() {
            if let Some(ip) = address.ip() {
                self.lookup_finished(Ok(vec![ip]));
                return;
            }
        }
        let this = self.this.clone();
        let id = HostInfo::lookup_host(host, move |info: &HostInfo| {
            if let Some(socket) = this.upgrade() {
                socket.lookup_result(info);
            }
        });
        if let Some(plan) = self.d.borrow_mut().connect_plan() {
            plan.lookup = Some(id);
        }
    }

    pub(crate) fn lookup_result(&self, info: &HostInfo) {
        let addresses: Vec<IpAddr> = info
            .addresses()
            .iter()
            .filter_map(HostAddress::ip)
            .collect();
        if addresses.is_empty() {
            self.lookup_finished(Err(()));
        } else {
            self.lookup_finished(Ok(addresses));
        }
    }

    /// Qt: `_q_startConnecting`.
    fn lookup_finished(&self, result: Result<Vec<IpAddr>, ()>) {
        if self.state() != SocketState::HostLookup {
            return;
        }
        let race = self.wants_race();
        let addresses = {
            let mut d = self.d.borrow_mut();
            let Some(plan) = d.connect_plan() else {
                return;
            };
            plan.lookup = None;
            let protocol = plan.protocol;
            let port = plan.port;
            let mut list: Vec<SocketAddr> = result
                .unwrap_or_default()
                .into_iter()
                .filter(|ip| match protocol {
                    NetworkLayerProtocol::IPv4 => ip.is_ipv4(),
                    NetworkLayerProtocol::IPv6 => ip.is_ipv6(),
                    _ => true,
                })
                .map(|ip| SocketAddr::new(ip, port))
                .collect();
            if race {
                list = super::eyeballs::interleave(list);
                plan.race = Some(Box::new(super::eyeballs::Race::new()));
            } else {
                // Qt tries every address twice.
                list.extend_from_within(..);
            }
            plan.addresses = list.into_iter().collect();
            plan.addresses.len()
        };
        if addresses == 0 {
            let plan = self.d.borrow_mut().take_connect_plan();
            drop(plan);
            self.change_state(SocketState::Unconnected);
            self.raise(SocketError::HostNotFound, text::HOST_NOT_FOUND);
            return;
        }
        {
            // Should one of these slots panic, the first attempt starts on
            // the next pass instead of never (the socket would stay in
            // Connecting with nothing left to move it).
            let _unwind = ConnectAgainOnUnwind(self);
            self.change_state(SocketState::Connecting);
            if self.state() != SocketState::Connecting {
                return;
            }
            self.sig.emit_host_found();
        }
        if self.state() != SocketState::Connecting {
            return;
        }
        self.connect_to_next_address();
    }

    /// Runs the connect a panicking slot interrupted in
    /// [`lookup_finished`](Self::lookup_finished), unless the application
    /// has since aborted it or started another.
    pub(crate) fn resume_stalled_connect(&self) {
        let stalled = {
            let mut d = self.d.borrow_mut();
            d.connect_plan()
                .is_some_and(|plan| std::mem::take(&mut plan.stalled))
        };
        if stalled && self.state() == SocketState::Connecting {
            self.connect_to_next_address();
        }
    }

    /// Qt: `_q_connectToNextAddress`.
    pub(crate) fn connect_to_next_address(&self) {
        if self.racing() {
            self.race_step();
            return;
        }
        loop {
            let (next, timer) = {
                let mut d = self.d.borrow_mut();
                d.stream = None;
                d.registration = None;
                match d.connect_plan() {
                    Some(plan) => (plan.addresses.pop_front(), plan.timer.take()),
                    None => return,
                }
            };
            // A timer is dropped outside the borrow (it emits `destroyed`).
            drop(timer);
            let Some(address) = next else {
                self.connect_failed();
                return;
            };
            let started = if self.proxied() {
                self.start_proxy_attempt(address)
            } else {
                self.start_attempt(address)
            };
            match started {
                Ok(()) if self.kind == SocketType::Udp => {
                    // A datagram connect only sets the peer: it is done, and
                    // Qt reports it synchronously.
                    self.on_connect_ready();
                    return;
                }
                Ok(()) => {
                    self.arm_connect_timer();
                    return;
                }
                Err(failure) => {
                    if let Some(plan) = self.d.borrow_mut().connect_plan() {
                        plan.last_error = Some(failure);
                    }
                }
            }
        }
    }

    /// All addresses failed: `Unconnected`, then the last attempt's error.
    pub(super) fn connect_failed(&self) {
        let plan = self.d.borrow_mut().take_connect_plan();
        let failure = plan.and_then(|plan| plan.last_error);
        let (error, text) = failure.unwrap_or((
            SocketError::ConnectionRefused,
            std::borrow::Cow::Borrowed(text::REFUSED),
        ));
        self.change_state(SocketState::Unconnected);
        self.raise(error, text);
    }

    /// Starts one non-blocking connect; `Err` when it fails at once.
    pub(super) fn start_attempt(&self, address: SocketAddr) -> Result<(), crate::socket::Failure> {
        let (stream, registration) = self.open_attempt(address)?;
        let mut d = self.d.borrow_mut();
        d.stream = Some(stream);
        d.registration = Some(registration);
        Ok(())
    }

    /// Opens a socket and starts a non-blocking connect to `address`,
    /// registered with the loop; `Err` when it fails at once.
    pub(super) fn open_attempt(
        &self,
        address: SocketAddr,
    ) -> Result<(Transport, IoRegistration), crate::socket::Failure> {
        let socket = match self.take_bound(address) {
            Some(socket) => socket,
            None => crate::socket_util::new_socket(self.kind, address)
                .map_err(|e| from_io(Op::Create, &e))?,
        };
        // A socket bound to the dual-stack Any address is IPv6: it reaches
        // an IPv4 peer through the v4-mapped address, as Qt's engine does.
        let target = match address {
            SocketAddr::V4(v4) if socket.domain().is_ok_and(|d| d == Domain::IPV6) => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            _ => address,
        };
        match socket.connect(&target.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(Errno::EINPROGRESS as i32) => {}
            Err(e) => return Err(from_io(Op::Connect, &e)),
        }
        let mut stream = Transport::from_socket(self.kind, socket);
        let registration = self
            .register(&mut stream)
            .map_err(|e| from_io(Op::Create, &e))?;
        Ok((stream, registration))
    }

    /// The socket `bind` made, if it suits `address`'s family.
    fn take_bound(&self, address: SocketAddr) -> Option<Socket> {
        let mut d = self.d.borrow_mut();
        let family_matches = d
            .bound()
            .and_then(|s| s.local_addr().ok())
            .and_then(|a| a.as_socket())
            .is_some_and(|local| local.is_ipv4() == address.is_ipv4() || local.is_ipv6());
        if family_matches {
            d.rare_mut().bound.take()
        } else {
            None
        }
    }

    fn arm_connect_timer(&self) {
        let timeout = self.d.borrow().connect_timeout();
        if !has_deadline(timeout) {
            // `Duration::MAX` and the like: the attempt never times out.
            return;
        }
        let timer = Timer::new();
        timer.set_single_shot(true);
        timer.set_timer_type(TimerType::Precise);
        let this = self.this.clone();
        let _ = timer.timeout().connect(move |_| {
            if let Some(socket) = this.upgrade() {
                socket.attempt_timed_out();
            }
        });
        timer.start_with(timeout);
        // Whatever timer is not kept (the one replaced, or this one if the
        // plan is gone) is dropped after the borrow: a timer emits
        // `destroyed`.
        let unkept = match self.d.borrow_mut().connect_plan() {
            Some(plan) => plan.timer.replace(timer),
            None => Some(timer),
        };
        drop(unkept);
    }

    /// Qt: `_q_abortConnectionAttempt`.
    pub(crate) fn attempt_timed_out(&self) {
        if self.state() != SocketState::Connecting {
            return;
        }
        if self.proxied() {
            self.proxy_attempt_timed_out();
            return;
        }
        if let Some(plan) = self.d.borrow_mut().connect_plan() {
            plan.last_error = Some((
                SocketError::SocketTimeout,
                std::borrow::Cow::Borrowed(text::CONNECT_TIMED_OUT),
            ));
        }
        self.connect_to_next_address();
    }

    /// Readiness while connecting: success, failure, or nothing yet.
    pub(crate) fn on_connect_ready(&self) {
        if self.proxied() {
            self.proxy_ready();
            return;
        }
        if self.racing() {
            self.race_ready();
            return;
        }
        let Some(outcome) = self.connect_outcome() else {
            return;
        };
        match outcome {
            Ok(Some(peer)) => self.connection_made(Some(peer)),
            Ok(None) => {}
            Err(err) => {
                if let Some(plan) = self.d.borrow_mut().connect_plan() {
                    plan.last_error = Some(from_io(Op::Connect, &err));
                }
                self.connect_to_next_address();
            }
        }
    }

    /// Where the stream's connect stands: the peer once connected,
    /// `Ok(None)` while pending, the error if it failed; `None` without a
    /// stream.
    pub(super) fn connect_outcome(&self) -> Option<io::Result<Option<SocketAddr>>> {
        let d = self.d.borrow();
        Some(super::eyeballs::outcome(d.stream.as_ref()?))
    }

    /// Qt: `fetchConnectionParameters`: `Connected`, then `connected`.
    /// Through a proxy, `peer` is the target (`None` for a name the proxy
    /// resolved: Qt then knows no peer address).
    pub(super) fn connection_made(&self, peer: Option<SocketAddr>) {
        let plan = self.d.borrow_mut().take_connect_plan();
        drop(plan);
        let (pending_close, has_data) = {
            let mut d = self.d.borrow_mut();
            let local = d.stream.as_ref().and_then(|s| s.local_addr().ok());
            if let Some(peer) = peer {
                d.set_peer(&HostAddress::from(peer.ip()), peer.port());
            }
            if let Some(local) = local {
                d.set_local(&HostAddress::from(local.ip()), local.port());
            }
            d.writable = true;
            if self.kind == SocketType::Udp {
                // Datagrams have their own read path and gate.
                d.read_side = ReadSide::Off;
                d.datagram_read = super::engine::DatagramRead::Armed;
                d.datagram_protocol = match peer {
                    Some(SocketAddr::V6(_)) => NetworkLayerProtocol::IPv6,
                    _ => NetworkLayerProtocol::IPv4,
                };
            } else {
                d.read_side = ReadSide::Ready;
            }
            (d.close == CloseIntent::Pending, !d.write_buf.is_empty())
        };
        self.change_state(SocketState::Connected);
        if self.state() != SocketState::Connected {
            return;
        }
        // `connect_to_host_encrypted`: the handshake starts before
        // `connected` (Qt: `modeChanged` comes first).
        self.tls_connected();
        if self.state() != SocketState::Connected {
            return;
        }
        self.sig.connected.emit(&());
        if self.state() != SocketState::Connected {
            return;
        }
        if has_data {
            self.schedule(WORK_FLUSH);
        }
        if pending_close {
            self.d.borrow_mut().close = CloseIntent::None;
            self.disconnect_from_host();
        } else if self.kind == SocketType::Udp {
            self.schedule(super::engine::WORK_DATAGRAM);
        } else {
            // Data may have arrived with the handshake.
            self.schedule(super::engine::WORK_READ);
        }
    }

    /// Aborts a lookup or connect in progress, silently.
    pub(crate) fn stop_connecting(&self) {
        let plan = self.d.borrow_mut().take_connect_plan();
        if let Some(plan) = plan {
            if let Some(id) = plan.lookup {
                HostInfo::abort_host_lookup(id);
            }
            drop(plan.timer);
        }
    }
}

/// See [`SocketCore::lookup_finished`]: marks the connect stalled and
/// schedules its resumption if a slot unwinds before the first attempt.
struct ConnectAgainOnUnwind<'a>(&'a SocketCore);

impl Drop for ConnectAgainOnUnwind<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let Ok(mut d) = self.0.d.try_borrow_mut() else {
            return;
        };
        if let Some(plan) = d.connect_plan() {
            plan.stalled = true;
            drop(d);
            self.0.schedule(super::engine::WORK_CONNECT);
        }
    }
}
