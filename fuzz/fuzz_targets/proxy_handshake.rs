//! The proxy handshakes (Qt: `QSocks5SocketEngine`, `QHttpSocketEngine`)
//! driven by a hostile proxy: whatever bytes it answers with, split
//! however, with credentials supplied, the proxy closing or the control
//! socket failing at any point, the state machines never panic, never
//! allocate without bound (the capped allocator aborts above 64 MiB).
//! Also the SOCKS5
//! UDP relay header: whatever `unwrap_datagram` accepts, `wrap_datagram`
//! writes back in a form that unwraps to the same host, port and payload.
//!
//! Input: a selector byte (protocol, command, target kind, credentials),
//! then steps, each an opcode byte and its operands.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigloop::net::proxy::http::HttpConnectHandshake;
use sigloop::net::proxy::socks5::{unwrap_datagram, wrap_datagram, Socks5Command, Socks5Handshake};
use sigloop::net::proxy::{HandshakeEvent, ProxyAddress};
use sigloop::{Authenticator, NetworkProxy, ProxyType, SocketError};
use sigloop_fuzz::{CappedAlloc, Input};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// Either handshake behind one interface.
enum Handshake {
    Socks(Socks5Handshake),
    Http(HttpConnectHandshake),
}

impl Handshake {
    fn proxy_connected(&mut self) {
        match self {
            Handshake::Socks(h) => h.proxy_connected(),
            Handshake::Http(h) => h.proxy_connected(),
        }
    }
    fn feed(&mut self, data: &[u8]) -> HandshakeEvent {
        match self {
            Handshake::Socks(h) => h.feed(data),
            Handshake::Http(h) => h.feed(data),
        }
    }
    fn authenticate(&mut self, auth: &Authenticator) -> HandshakeEvent {
        match self {
            Handshake::Socks(h) => h.authenticate(auth),
            Handshake::Http(h) => h.authenticate(auth),
        }
    }
    fn proxy_closed(&mut self) -> HandshakeEvent {
        match self {
            Handshake::Socks(h) => h.proxy_closed(),
            Handshake::Http(h) => h.proxy_closed(),
        }
    }
    fn control_socket_error(&mut self) -> HandshakeEvent {
        let (error, text) = (SocketError::RemoteHostClosed, "Remote host closed");
        match self {
            Handshake::Socks(h) => h.control_socket_error(error, text),
            Handshake::Http(h) => h.control_socket_error(error, text),
        }
    }
    fn take_output(&mut self) -> Vec<u8> {
        match self {
            Handshake::Socks(h) => h.take_output(),
            Handshake::Http(h) => h.take_output(),
        }
    }
    fn take_remaining(&mut self) -> Vec<u8> {
        match self {
            Handshake::Socks(h) => h.take_remaining(),
            Handshake::Http(h) => h.take_remaining(),
        }
    }
    fn authenticator(&self) -> Authenticator {
        match self {
            Handshake::Socks(h) => h.authenticator(),
            Handshake::Http(h) => h.authenticator(),
        }
    }
}

fn text(input: &mut Input<'_>) -> String {
    let n = input.size(300);
    String::from_utf8_lossy(input.take(n)).into_owned()
}

fn target(input: &mut Input<'_>, kind: u8) -> ProxyAddress {
    let port = input.u16();
    match kind % 3 {
        0 => ProxyAddress::from((input.u32().to_be_bytes(), port)),
        1 => {
            let mut octets = [0u8; 16];
            octets.iter_mut().for_each(|o| *o = input.byte());
            ProxyAddress::from((octets, port))
        }
        _ => ProxyAddress::Domain(text(input), port),
    }
}

fn handshake(input: &mut Input<'_>) -> Option<Handshake> {
    let selector = input.byte();
    let target = target(input, selector >> 2);
    let (user, password) = if selector & 0x40 != 0 {
        (text(input), text(input))
    } else {
        (String::new(), String::new())
    };
    Some(match selector & 3 {
        3 => {
            let mut proxy = NetworkProxy::new(ProxyType::Http, "proxy.test", 3128);
            proxy.set_user(user);
            proxy.set_password(password);
            Handshake::Http(HttpConnectHandshake::new(target, &proxy))
        }
        command => {
            let command = [
                Socks5Command::Connect,
                Socks5Command::Bind,
                Socks5Command::UdpAssociate,
            ][usize::from(command)];
            Handshake::Socks(Socks5Handshake::new(command, target, &user, &password).ok()?)
        }
    })
}

/// Whether `event` ends the handshake for good.
fn is_final(event: &HandshakeEvent) -> bool {
    matches!(
        event,
        HandshakeEvent::Connected
            | HandshakeEvent::Failed(_)
            | HandshakeEvent::PeerConnected(_)
            | HandshakeEvent::UdpAssociated(_)
    )
}

fn drive(input: &mut Input<'_>) {
    let Some(mut h) = handshake(input) else {
        return;
    };
    h.proxy_connected();
    for _ in 0..64 {
        if input.is_empty() {
            break;
        }
        let event = match input.byte() % 8 {
            0..=3 => {
                let n = input.size(4096);
                h.feed(input.take(n))
            }
            4 => {
                let mut auth = h.authenticator();
                auth.set_user(text(input));
                auth.set_password(text(input));
                h.authenticate(&auth)
            }
            5 => h.proxy_closed(),
            6 => h.control_socket_error(),
            _ => {
                h.proxy_connected();
                HandshakeEvent::Pending
            }
        };
        let _ = h.take_output();
        let _ = h.take_remaining();
        // A socket stops driving the handshake once it has ended.
        if is_final(&event) {
            break;
        }
    }
}

fn relay_header(bytes: &[u8]) {
    let Some((address, payload)) = unwrap_datagram(bytes) else {
        return;
    };
    // A sender we accept can be answered: its address wraps again and
    // unwraps to the same host (as a request writes it) and port. Only a
    // name that was not UTF-8 may grow past 255 bytes once made printable.
    match wrap_datagram(&address, payload) {
        Ok(wrapped) => {
            let (again, again_payload) =
                unwrap_datagram(&wrapped).expect("a wrapped datagram unwraps");
            assert_eq!((again.host(), again.port()), (address.host(), address.port()));
            assert_eq!(again_payload, payload);
        }
        Err(e) => assert!(
            matches!(&address, ProxyAddress::Domain(name, _) if name.len() > 255),
            "{address:?} unwrapped but does not wrap: {e:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if input.byte() & 1 == 0 {
        drive(&mut input);
    } else {
        relay_header(input.rest());
    }
});
