//! Connecting through a proxy (Qt: `QSocks5SocketEngine` and
//! `QHttpSocketEngine` under `QAbstractSocket`).
//!
//! Which proxy a socket takes is decided in `connect_to_host`
//! ([`SocketCore::resolve_proxy`], Qt's `resolveProxy`). With a SOCKS5 or
//! HTTP proxy, every connect attempt of `connect.rs` becomes: connect the
//! socket's own OS stream to the proxy (the control connection), drive the
//! sans-I/O handshake of [`crate::proxy`] over it while the socket stays
//! `Connecting`, and once the proxy reports the tunnel open, go on exactly
//! as a direct connection does (`connection_made`). After that, bytes move
//! through `transfer.rs` untouched: the tunnel *is* the stream.
//!
//! Qt's retry rule falls out of the shared address plan: an IP target is
//! tried twice (the plan doubles every address), a failed attempt moves to
//! the next one, and a proxy error (refused, closed, protocol,
//! authentication, timeout, not found) empties the plan instead. A name
//! the proxy resolves is one attempt: it stands in the plan as the
//! unspecified address, the name itself waits in [`Run::by_name`].
//!
//! A socket without a proxy pays one pointer in the boxed `Rare` part and
//! the choice in `connect_to_host`; no other path looks here except at a
//! connect readiness and at a remote close.

use std::borrow::Cow;
use std::cell::Cell;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::engine::SocketCore;
use super::{from_io, text, Failure, Op, SocketError, SocketState, SocketType};
use crate::host_address::HostAddress;
use crate::host_info::HostInfo;
use crate::proxy::http::HttpConnectHandshake;
use crate::proxy::socks5::{Socks5Command, Socks5Handshake};
use crate::proxy::{
    self, Authenticator, HandshakeEvent, NetworkProxy, NetworkProxyQuery,
    ProxyAuthenticationRequest, ProxyCapabilities, ProxyType, QueryType,
};

/// Bytes read from the control connection per system call while the
/// handshake runs (replies are a few bytes; squid's 407 page is ~3 KiB).
const CONTROL_CHUNK: usize = 4096;

/// Text of the error when a proxy replies to `CONNECT` with something only
/// `BIND` or `UDP ASSOCIATE` may send.
const UNEXPECTED_REPLY: &str = "SOCKS version 5 protocol error";

thread_local! {
    /// Numbers the attempts of this thread, so a callback (a proxy host
    /// lookup, a slot that reconnected) can tell it is stale.
    static NEXT_ATTEMPT: Cell<u64> = const { Cell::new(1) };
}

fn next_attempt() -> u64 {
    NEXT_ATTEMPT.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    })
}

/// The peer a `BIND` reported, as an address (a name the proxy gives
/// leaves the peer unknown).
fn peer_address(peer: &proxy::ProxyAddress) -> Option<SocketAddr> {
    match peer {
        proxy::ProxyAddress::Ip(address) => Some(*address),
        proxy::ProxyAddress::Domain(..) => None,
    }
}

/// Qt's `isProxyError`: after one of these no other address is tried.
fn is_proxy_error(error: SocketError) -> bool {
    matches!(
        error,
        SocketError::ProxyAuthenticationRequired
            | SocketError::ProxyConnectionRefused
            | SocketError::ProxyConnectionClosed
            | SocketError::ProxyConnectionTimeout
            | SocketError::ProxyNotFound
            | SocketError::ProxyProtocol
    )
}

/// The proxy state of a socket, boxed in `Rare`.
#[derive(Default)]
pub(crate) struct ProxyRare {
    /// What `set_proxy` set (`Default`: ask the application settings).
    pub(crate) configured: NetworkProxy,
    /// The current connection through a proxy, if it uses one.
    run: Option<Run>,
    /// The socket is a server's control connection: the proxy accepts one
    /// connection for it (SOCKS5 `BIND`) instead of connecting it.
    listening: bool,
    /// A UDP socket's association with a SOCKS5 relay, once bound.
    pub(crate) relay: Option<super::proxied_udp::UdpRelay>,
}

/// One of the two handshakes a TCP connection may drive.
enum Handshake {
    Socks5(Socks5Handshake),
    Http(HttpConnectHandshake),
}

impl Handshake {
    fn proxy_connected(&mut self) {
        match self {
            Handshake::Socks5(h) => h.proxy_connected(),
            Handshake::Http(h) => h.proxy_connected(),
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        match self {
            Handshake::Socks5(h) => h.take_output(),
            Handshake::Http(h) => h.take_output(),
        }
    }

    fn take_remaining(&mut self) -> Vec<u8> {
        match self {
            Handshake::Socks5(h) => h.take_remaining(),
            Handshake::Http(h) => h.take_remaining(),
        }
    }

    fn authenticator(&self) -> Authenticator {
        match self {
            Handshake::Socks5(h) => h.authenticator(),
            Handshake::Http(h) => h.authenticator(),
        }
    }

    fn feed(&mut self, data: &[u8]) -> HandshakeEvent {
        match self {
            Handshake::Socks5(h) => h.feed(data),
            Handshake::Http(h) => h.feed(data),
        }
    }

    fn authenticate(&mut self, auth: &Authenticator) -> HandshakeEvent {
        match self {
            Handshake::Socks5(h) => h.authenticate(auth),
            Handshake::Http(h) => h.authenticate(auth),
        }
    }

    fn proxy_closed(&mut self) -> HandshakeEvent {
        match self {
            Handshake::Socks5(h) => h.proxy_closed(),
            Handshake::Http(h) => h.proxy_closed(),
        }
    }

    fn control_socket_error(&mut self, error: SocketError, text: &str) -> HandshakeEvent {
        match self {
            Handshake::Socks5(h) => h.control_socket_error(error, text),
            Handshake::Http(h) => h.control_socket_error(error, text),
        }
    }

    /// Qt's text when the proxy closes an established tunnel.
    fn closed_text(&self) -> &'static str {
        match self {
            Handshake::Socks5(_) => proxy::socks5::REMOTE_HOST_CLOSED_TEXT,
            Handshake::Http(_) => proxy::http::REMOTE_HOST_CLOSED_TEXT,
        }
    }
}

/// Where the current attempt stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// No attempt running.
    Idle,
    /// Looking up the proxy's host name.
    Resolving,
    /// The control connection to the proxy is being made.
    Connecting,
    /// Connected to the proxy; the handshake runs.
    Handshaking,
    /// The tunnel is open: the stream is the connection to the target.
    Established,
}

/// A connection through a proxy.
struct Run {
    /// The proxy in use (Qt's `proxyInUse`); credentials a slot gave are
    /// kept here for the later attempts.
    proxy: NetworkProxy,
    /// The target name, when the proxy resolves it.
    by_name: Option<String>,
    /// The proxy's address, once known.
    proxy_address: Option<SocketAddr>,
    handshake: Option<Handshake>,
    phase: Phase,
    /// Handshake bytes the OS did not take yet.
    out: Vec<u8>,
    /// The IP target of the current attempt (`None` for a name).
    target: Option<SocketAddr>,
    /// Numbers the attempt (see [`next_attempt`]).
    attempt: u64,
    /// The error text when the proxy closes the open tunnel.
    closed_text: &'static str,
    /// Where the proxy listens for us (SOCKS5 `BIND`'s first reply).
    bound: Option<proxy::ProxyAddress>,
    /// The request to make: `BIND` for a server, else `CONNECT`.
    command: Socks5Command,
}

impl Run {
    fn new(proxy: NetworkProxy) -> Run {
        let proxy_address = proxy
            .host_name()
            .parse::<HostAddress>()
            .ok()
            .and_then(|a| a.ip())
            .map(|ip| SocketAddr::new(ip, proxy.port()));
        Run {
            proxy,
            by_name: None,
            proxy_address,
            handshake: None,
            phase: Phase::Idle,
            out: Vec::new(),
            target: None,
            attempt: 0,
            closed_text: text::REMOTE_CLOSED,
            bound: None,
            command: Socks5Command::Connect,
        }
    }
}

/// What the read loop does after an event.
#[derive(PartialEq, Eq)]
enum Next {
    /// Read more from the control connection.
    Read,
    /// Stop: the attempt moved on (tunnel open, new connection, failure).
    Stop,
}

impl SocketCore {
    // ----- the socket's proxy setting ----------------------------------

    /// Qt: `QAbstractSocket::setProxy()`.
    pub(crate) fn set_proxy(&self, proxy: NetworkProxy) {
        let mut d = self.d.borrow_mut();
        let has_state = d.rare().is_some_and(|r| r.proxy.is_some());
        if proxy.proxy_type() == ProxyType::Default && !has_state {
            return;
        }
        d.rare_mut()
            .proxy
            .get_or_insert_with(Box::default)
            .configured = proxy;
    }

    /// Qt: `QAbstractSocket::proxy()`.
    pub(crate) fn proxy(&self) -> NetworkProxy {
        self.d
            .borrow()
            .rare()
            .and_then(|r| r.proxy.as_ref())
            .map(|p| p.configured.clone())
            .unwrap_or_default()
    }

    /// Whether the socket is a server's control connection (SOCKS5 `BIND`).
    fn proxy_listening(&self) -> bool {
        self.d
            .borrow()
            .rare()
            .and_then(|r| r.proxy.as_ref())
            .is_some_and(|p| p.listening)
    }

    /// The proxy a connection to `host` takes: the socket's own, else the
    /// application's for the query, the first whose capabilities fit
    /// (`None`: none fits).
    pub(crate) fn choose_proxy(&self, host: &str, port: u16) -> Option<NetworkProxy> {
        let configured = self
            .d
            .borrow()
            .rare()
            .and_then(|r| r.proxy.as_ref())
            .map(|p| p.configured.clone())
            .filter(|p| p.proxy_type() != ProxyType::Default);
        let listening = self.proxy_listening();
        let candidates = match configured {
            Some(proxy) => vec![proxy],
            None => {
                let query_type = match self.kind {
                    SocketType::Udp => QueryType::UdpSocket,
                    _ => QueryType::TcpSocket,
                };
                proxy::proxy_for_query(&NetworkProxyQuery::for_peer(host, port, "", query_type))
            }
        };
        let needed = match self.kind {
            SocketType::Udp => ProxyCapabilities::UDP_TUNNELING,
            _ if listening => ProxyCapabilities::LISTENING,
            _ => ProxyCapabilities::TUNNELING,
        };
        candidates
            .into_iter()
            .find(|p| p.capabilities().contains(needed))
    }

    /// Qt: `resolveProxy`: picks the proxy for a connection to `host`,
    /// remembering it for the attempts. `false` when none fits (Qt then
    /// reports `UnsupportedSocketOperationError` and stays unconnected).
    pub(crate) fn resolve_proxy(&self, host: &str, port: u16) -> bool {
        let chosen = self.choose_proxy(host, port);
        let listening = self.proxy_listening();
        let run = match chosen.as_ref().map(NetworkProxy::proxy_type) {
            // A server's BIND is SOCKS5 only (Qt has no HTTP listening).
            Some(ProxyType::Socks5) if listening => chosen.map(|proxy| Run {
                command: Socks5Command::Bind,
                ..Run::new(proxy)
            }),
            Some(_) if listening => return false,
            Some(ProxyType::NoProxy) => None,
            Some(ProxyType::Socks5 | ProxyType::Http) if self.kind != SocketType::Udp => {
                chosen.map(Run::new)
            }
            Some(ProxyType::Socks5) => {
                // A UDP socket reaches a SOCKS5 proxy only through `bind`
                // (see `proxied_udp.rs`); a connected one is not relayed.
                log::warn!("UdpSocket: connect_to_host through a SOCKS5 proxy is not supported");
                return false;
            }
            _ => return false,
        };
        let mut d = self.d.borrow_mut();
        match run {
            Some(run) => d.rare_mut().proxy.get_or_insert_with(Box::default).run = Some(run),
            None => {
                if let Some(state) = d.rare_if_any().and_then(|r| r.proxy.as_mut()) {
                    state.run = None;
                }
            }
        }
        true
    }

    /// Whether this connection goes through a proxy.
    pub(crate) fn proxied(&self) -> bool {
        self.d
            .borrow()
            .rare()
            .and_then(|r| r.proxy.as_ref())
            .is_some_and(|p| p.run.is_some())
    }

    /// Runs `f` on the connection's proxy state, if any.
    fn with_run<R>(&self, f: impl FnOnce(&mut Run) -> R) -> Option<R> {
        let mut d = self.d.borrow_mut();
        let run = d.rare_if_any()?.proxy.as_mut()?.run.as_mut()?;
        Some(f(run))
    }

    /// Runs `f` on the current attempt's handshake.
    fn with_handshake<R>(&self, f: impl FnOnce(&mut Handshake) -> R) -> Option<R> {
        self.with_run(|run| run.handshake.as_mut().map(f)).flatten()
    }

    /// Qt's text for a remote close: a proxied tunnel has its own.
    pub(crate) fn remote_closed_text(&self) -> &'static str {
        self.with_run(|run| run.closed_text)
            .unwrap_or(text::REMOTE_CLOSED)
    }

    // ----- starting attempts -------------------------------------------

    /// Qt: `startConnectingByName`: a name the proxy resolves skips the
    /// lookup: `Connecting` at once, no `host_found`, one attempt. `false`
    /// when the connection does not go that way.
    pub(crate) fn connect_by_name_through_proxy(&self, host: &str, port: u16) -> bool {
        let is_literal = host
            .trim()
            .parse::<HostAddress>()
            .is_ok_and(|a| a.ip().is_some());
        let by_name = !is_literal
            && self
                .with_run(|run| {
                    let resolves = run
                        .proxy
                        .capabilities()
                        .contains(ProxyCapabilities::HOST_NAME_LOOKUP);
                    if resolves {
                        run.by_name = Some(host.to_owned());
                    }
                    resolves
                })
                .unwrap_or(false);
        if !by_name {
            return false;
        }
        if let Some(plan) = self.d.borrow_mut().connect_plan() {
            // The name stands in the plan as the unspecified address.
            plan.addresses = [SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)].into();
        }
        self.change_state(SocketState::Connecting);
        if self.state() == SocketState::Connecting {
            self.connect_to_next_address();
        }
        true
    }

    /// One attempt through the proxy to `address` (or to the name the
    /// proxy resolves). `Err` when it fails at once; a proxy error then
    /// also ends the plan.
    pub(crate) fn start_proxy_attempt(&self, address: SocketAddr) -> Result<(), Failure> {
        let started = self.begin_attempt(address);
        let result = started.and_then(|()| self.connect_control());
        if let Err((error, _)) = &result {
            self.end_plan_on_proxy_error(*error);
        }
        result
    }

    fn begin_attempt(&self, address: SocketAddr) -> Result<(), Failure> {
        self.with_run(|run| {
            let target = match &run.by_name {
                Some(name) => proxy::ProxyAddress::Domain(name.clone(), address.port()),
                None => proxy::ProxyAddress::Ip(address),
            };
            let handshake = match run.proxy.proxy_type() {
                ProxyType::Http => Handshake::Http(HttpConnectHandshake::new(target, &run.proxy)),
                _ => Handshake::Socks5(
                    Socks5Handshake::new(
                        run.command,
                        target,
                        run.proxy.user(),
                        run.proxy.password(),
                    )
                    .map_err(|e| (e.error(), Cow::Owned(e.text().to_owned())))?,
                ),
            };
            run.handshake = Some(handshake);
            run.bound = None;
            run.target = run.by_name.is_none().then_some(address);
            run.out.clear();
            run.attempt = next_attempt();
            Ok(())
        })
        .unwrap_or(Err((SocketError::Unknown, Cow::Borrowed(text::UNKNOWN))))
    }

    /// Opens the control connection (after a lookup of the proxy's name
    /// if needed). `Err` when that fails at once, in the handshake's terms.
    fn connect_control(&self) -> Result<(), Failure> {
        let address = self.with_run(|run| run.proxy_address).flatten();
        let Some(address) = address else {
            self.lookup_proxy_host();
            return Ok(());
        };
        self.with_run(|run| run.phase = Phase::Connecting);
        match self.start_attempt(address) {
            Ok(()) => Ok(()),
            Err((error, text)) => {
                match self.with_handshake(|h| h.control_socket_error(error, &text)) {
                    Some(HandshakeEvent::Failed(e)) => {
                        Err((e.error(), Cow::Owned(e.text().to_owned())))
                    }
                    _ => Err((error, text)),
                }
            }
        }
    }

    fn lookup_proxy_host(&self) {
        let Some((host, attempt)) = self.with_run(|run| {
            run.phase = Phase::Resolving;
            (run.proxy.host_name().to_owned(), run.attempt)
        }) else {
            return;
        };
        let this = self.this.clone();
        let id = HostInfo::lookup_host(&host, move |info: &HostInfo| {
            if let Some(socket) = this.upgrade() {
                socket.proxy_host_found(info, attempt);
            }
        });
        if let Some(plan) = self.d.borrow_mut().connect_plan() {
            plan.lookup = Some(id);
        }
    }

    /// A blocking wait cannot wait for the loop's lookup of the proxy's
    /// name: it looks it up now. `false` when no lookup was pending.
    pub(crate) fn resolve_proxy_host_now(&self) -> bool {
        let Some((host, attempt)) = self
            .with_run(|run| {
                (run.phase == Phase::Resolving)
                    .then(|| (run.proxy.host_name().to_owned(), run.attempt))
            })
            .flatten()
        else {
            return false;
        };
        let lookup = self
            .d
            .borrow_mut()
            .connect_plan()
            .and_then(|plan| plan.lookup.take());
        if let Some(id) = lookup {
            HostInfo::abort_host_lookup(id);
        }
        self.proxy_host_found(&HostInfo::from_name(&host), attempt);
        true
    }

    fn proxy_host_found(&self, info: &HostInfo, attempt: u64) {
        let current = self.with_run(|run| run.phase == Phase::Resolving && run.attempt == attempt);
        if self.state() != SocketState::Connecting || current != Some(true) {
            return;
        }
        if let Some(plan) = self.d.borrow_mut().connect_plan() {
            plan.lookup = None;
        }
        let address = info.addresses().iter().find_map(HostAddress::ip);
        let Some(ip) = address else {
            let event = self.with_handshake(|h| {
                h.control_socket_error(SocketError::HostNotFound, text::HOST_NOT_FOUND)
            });
            if let Some(event) = event {
                self.on_event(event);
            }
            return;
        };
        self.with_run(|run| run.proxy_address = Some(SocketAddr::new(ip, run.proxy.port())));
        if let Err(failure) = self.connect_control() {
            self.attempt_failed(failure);
        }
    }

    // ----- driving the handshake ---------------------------------------

    /// Readiness while connecting through the proxy.
    pub(crate) fn proxy_ready(&self) {
        match self.with_run(|run| run.phase) {
            Some(Phase::Connecting) => {
                if !self.control_connected() {
                    return;
                }
            }
            Some(Phase::Handshaking) => {}
            _ => return,
        }
        if self.write_control() == Next::Read {
            self.read_control();
        }
    }

    /// Checks the control connection; on success starts the handshake.
    /// `false` when it is not (yet) connected.
    fn control_connected(&self) -> bool {
        match self.connect_outcome() {
            None | Some(Ok(None)) => false,
            Some(Ok(Some(_))) => {
                self.with_run(|run| run.phase = Phase::Handshaking);
                self.with_handshake(Handshake::proxy_connected);
                true
            }
            Some(Err(err)) => {
                let (error, text) = from_io(Op::Connect, &err);
                if let Some(event) = self.with_handshake(|h| h.control_socket_error(error, &text)) {
                    self.on_event(event);
                }
                false
            }
        }
    }

    /// Writes the handshake's output; `Stop` if the write failed (the
    /// failure was handled).
    fn write_control(&self) -> Next {
        let Some((mut out, handshaking)) = self.with_run(|run| {
            if let Some(handshake) = run.handshake.as_mut() {
                let more = handshake.take_output();
                run.out.extend_from_slice(&more);
            }
            (
                std::mem::take(&mut run.out),
                run.phase == Phase::Handshaking,
            )
        }) else {
            return Next::Stop;
        };
        let mut result = Ok(());
        if handshaking {
            let mut d = self.d.borrow_mut();
            if let Some(stream) = d.stream.as_mut() {
                while !out.is_empty() {
                    match stream.write(&out) {
                        Ok(n) => {
                            out.drain(..n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
        }
        // What the OS did not take waits for the next writable edge.
        self.with_run(|run| {
            out.extend_from_slice(&run.out);
            run.out = out;
        });
        match result {
            Ok(()) => Next::Read,
            Err(err) => {
                let (error, text) = from_io(Op::Write, &err);
                if let Some(event) = self.with_handshake(|h| h.control_socket_error(error, &text)) {
                    self.on_event(event);
                }
                Next::Stop
            }
        }
    }

    /// Reads the proxy's replies until the OS has no more or the attempt
    /// moves on.
    fn read_control(&self) {
        let mut buf = [0u8; CONTROL_CHUNK];
        loop {
            let result = {
                let mut d = self.d.borrow_mut();
                match d.stream.as_mut() {
                    Some(stream) => stream.read(&mut buf),
                    None => return,
                }
            };
            let (event, eof) = match result {
                Ok(0) => (self.with_handshake(Handshake::proxy_closed), true),
                Ok(n) => (self.with_handshake(|h| h.feed(&buf[..n])), false),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let (error, text) = from_io(Op::Read, &e);
                    (
                        self.with_handshake(|h| h.control_socket_error(error, &text)),
                        true,
                    )
                }
            };
            let Some(event) = event else {
                return;
            };
            if self.on_event(event) == Next::Stop || eof {
                return;
            }
        }
    }

    /// Acts on what the handshake reported.
    fn on_event(&self, event: HandshakeEvent) -> Next {
        match event {
            HandshakeEvent::Pending => self.write_control(),
            HandshakeEvent::AuthenticationRequired => self.ask_credentials(),
            HandshakeEvent::Reconnect => {
                self.reconnect_control();
                Next::Stop
            }
            HandshakeEvent::Connected => {
                self.tunnel_open();
                Next::Stop
            }
            HandshakeEvent::Failed(e) => {
                self.attempt_failed((e.error(), Cow::Owned(e.text().to_owned())));
                Next::Stop
            }
            HandshakeEvent::Bound(address) if self.bind_requested() => self.bound(address),
            HandshakeEvent::PeerConnected(peer) if self.bind_requested() => {
                self.with_run(|run| run.target = peer_address(&peer));
                self.tunnel_open();
                Next::Stop
            }
            HandshakeEvent::Bound(_)
            | HandshakeEvent::PeerConnected(_)
            | HandshakeEvent::UdpAssociated(_) => {
                self.attempt_failed((SocketError::ProxyProtocol, Cow::Borrowed(UNEXPECTED_REPLY)));
                Next::Stop
            }
        }
    }

    /// Whether this attempt is a server's `BIND` that got its first reply
    /// or waits for it.
    fn bind_requested(&self) -> bool {
        self.with_run(|run| run.command == Socks5Command::Bind) == Some(true)
    }

    /// The proxy listens for us (the first `BIND` reply): the server
    /// reports that address. Waiting for the peer has no deadline, so the
    /// connect timer goes; the second reply may have come with the first.
    fn bound(&self, address: proxy::ProxyAddress) -> Next {
        self.with_run(|run| run.bound = Some(address));
        // Bound, the attempt is the one: a failure now ends the plan.
        let timer = self.d.borrow_mut().connect_plan().and_then(|plan| {
            plan.addresses.clear();
            plan.timer.take()
        });
        // Dropped outside the borrow (a timer emits `destroyed`).
        drop(timer);
        match self.with_handshake(|h| h.feed(&[])) {
            Some(HandshakeEvent::Pending) => Next::Read,
            Some(event) => self.on_event(event),
            None => Next::Stop,
        }
    }

    // ----- a server listening through the proxy ------------------------

    /// Qt: `QSocks5SocketEngine::bind()` for a `QTcpServer`: makes this
    /// socket the control connection of a SOCKS5 `BIND` through `proxy`
    /// asking for `host`:`port`. The proxy's replies come through
    /// [`proxy_bound_address`](Self::proxy_bound_address) and then
    /// `connected`, when the peer has connected.
    pub(crate) fn listen_through_proxy(&self, proxy: NetworkProxy, host: &str, port: u16) {
        {
            let mut d = self.d.borrow_mut();
            let state = d.rare_mut().proxy.get_or_insert_with(Box::default);
            state.configured = proxy;
            state.listening = true;
        }
        self.connect_to_host(
            host,
            port,
            sigloop_core::OpenMode::READ_WRITE,
            crate::host_address::NetworkLayerProtocol::AnyIP,
        );
    }

    /// Where the proxy listens for this server's `BIND`, once it said.
    pub(crate) fn proxy_bound_address(&self) -> Option<proxy::ProxyAddress> {
        self.with_run(|run| run.bound.clone()).flatten()
    }

    /// Qt: `proxyAuthenticationRequired(proxy, authenticator)`; the
    /// credentials a slot sets go to the handshake (and stay with the
    /// proxy in use for later attempts).
    fn ask_credentials(&self) -> Next {
        let Some((proxy, auth, attempt)) = self.with_run(|run| {
            let auth = run
                .handshake
                .as_ref()
                .map(Handshake::authenticator)
                .unwrap_or_default();
            (run.proxy.clone(), auth, run.attempt)
        }) else {
            return Next::Stop;
        };
        let request = ProxyAuthenticationRequest::new(proxy, auth);
        self.sig.emit_proxy_authentication_required(&request);
        // A slot may have aborted the socket or started over.
        let same = self.with_run(|run| run.attempt == attempt) == Some(true);
        if self.state() != SocketState::Connecting || !same {
            return Next::Stop;
        }
        let auth = request.into_authenticator();
        let event = self.with_run(|run| {
            if auth.has_credentials() {
                run.proxy.set_user(auth.user());
                run.proxy.set_password(auth.password());
            }
            run.handshake.as_mut().map(|h| h.authenticate(&auth))
        });
        match event.flatten() {
            Some(event) => self.on_event(event),
            None => Next::Stop,
        }
    }

    /// Drops the control connection quietly and makes a new one, for the
    /// same handshake (SOCKS5 credentials, HTTP without keep-alive).
    fn reconnect_control(&self) {
        {
            let mut d = self.d.borrow_mut();
            d.stream = None;
            d.registration = None;
        }
        self.with_run(|run| run.out.clear());
        if let Err(failure) = self.connect_control() {
            self.attempt_failed(failure);
        }
    }

    /// The proxy opened the tunnel: the rest is an ordinary connection.
    fn tunnel_open(&self) {
        let Some((remaining, peer)) = self.with_run(|run| {
            run.phase = Phase::Established;
            run.out = Vec::new();
            let mut handshake = run.handshake.take();
            let remaining = handshake
                .as_mut()
                .map(Handshake::take_remaining)
                .unwrap_or_default();
            if let Some(handshake) = &handshake {
                run.closed_text = handshake.closed_text();
            }
            (remaining, run.target)
        }) else {
            return;
        };
        if !remaining.is_empty() {
            self.d.borrow_mut().read_buf.append(&remaining);
        }
        self.connection_made(peer);
        // Bytes that came with the proxy's reply are announced like any.
        let announce = {
            let d = self.d.borrow();
            d.state == SocketState::Connected && !d.read_buf.is_empty()
        };
        if announce {
            self.emit_ready_read();
        }
    }

    /// The attempt failed: record it (a proxy error ends the plan), then
    /// try the next address.
    fn attempt_failed(&self, failure: Failure) {
        self.end_plan_on_proxy_error(failure.0);
        {
            let mut d = self.d.borrow_mut();
            d.stream = None;
            d.registration = None;
            if let Some(plan) = d.connect_plan() {
                plan.last_error = Some(failure);
            }
        }
        self.with_run(|run| {
            run.phase = Phase::Idle;
            run.handshake = None;
        });
        self.connect_to_next_address();
    }

    fn end_plan_on_proxy_error(&self, error: SocketError) {
        if is_proxy_error(error) {
            if let Some(plan) = self.d.borrow_mut().connect_plan() {
                plan.addresses.clear();
            }
        }
    }

    /// The connect timeout struck during an attempt through the proxy.
    pub(crate) fn proxy_attempt_timed_out(&self) {
        let event = self.with_handshake(|h| {
            h.control_socket_error(SocketError::SocketTimeout, text::CONNECT_TIMED_OUT)
        });
        match event {
            Some(event) => {
                self.on_event(event);
            }
            None => self.attempt_failed((
                SocketError::SocketTimeout,
                Cow::Borrowed(text::CONNECT_TIMED_OUT),
            )),
        }
    }

    /// What a blocking `wait_for_connected` waits for: the handshake needs
    /// the proxy's replies once the control connection is up.
    pub(crate) fn proxy_wants_read(&self) -> bool {
        self.with_run(|run| run.phase == Phase::Handshaking) == Some(true)
    }
}
