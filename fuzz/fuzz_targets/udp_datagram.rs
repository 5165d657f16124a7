//! The UDP receive path and `NetworkDatagram`.
//!
//! sigloop has no pure parser for received datagrams: the kernel fills
//! the payload and the control messages (`IP_PKTINFO`, `IP_TTL`,
//! `IPV6_PKTINFO`, `IPV6_HOPLIMIT`) and nix decodes them. So this target
//! drives the real path on loopback with what a user controls: payloads
//! of any size up to past the 65 507-byte limit, hop limits, interface
//! indexes, source addresses (a `sendmsg` with `IP_PKTINFO`), receive
//! sizes that truncate, and both IPv4 and IPv6 sockets. Every datagram
//! goes to a socket of this process on 127.0.0.1 or ::1, nowhere else.
//! What this cannot reach: control messages the kernel would never send
//! (malformed lengths, unknown types); nix parses those, not sigloop.
//!
//! Checked: a datagram the sender accepted arrives whole (or truncated to
//! the size asked for), from the sender's port, to the receiver's address
//! and port, with the hop limit sent; nothing is left pending afterwards;
//! errors leave both sockets usable. And, without sockets, the
//! `NetworkDatagram` setters, `make_reply` and `clear` on addresses built
//! from the input.
//!
//! Input: one selector byte, then the choices.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sigloop::{BindMode, HostAddress, NetworkDatagram, SpecialAddress, UdpSocket};
use sigloop_fuzz::{CappedAlloc, Input};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// IPv4's largest payload; one byte more must fail cleanly.
const MAX_V4: usize = 65_507;
/// The loopback interface's index on Linux.
const LOOPBACK_INDEX: u32 = 1;
/// IPv6's largest payload (no jumbograms).
const MAX_V6: usize = 65_527;

struct Pair {
    sender: UdpSocket,
    receiver: UdpSocket,
    address: HostAddress,
    max_payload: usize,
}

impl Pair {
    fn bind(address: SpecialAddress) -> Pair {
        let address = HostAddress::from(address);
        let sender = UdpSocket::new();
        let receiver = UdpSocket::new();
        sender
            .bind(&address, 0, BindMode::DEFAULT_FOR_PLATFORM)
            .expect("bind the sender");
        receiver
            .bind(&address, 0, BindMode::DEFAULT_FOR_PLATFORM)
            .expect("bind the receiver");
        let max_payload = match address.to_ipv4() {
            Some(_) => MAX_V4,
            None => MAX_V6,
        };
        Pair {
            sender,
            receiver,
            address,
            max_payload,
        }
    }

    /// Drops whatever is pending, so one run cannot leak into the next.
    fn drain(&self) {
        for socket in [&self.sender, &self.receiver] {
            for _ in 0..64 {
                if !socket.has_pending_datagrams() {
                    break;
                }
                let _ = socket.receive_datagram(Some(0));
            }
        }
    }
}

thread_local! {
    static V4: Pair = Pair::bind(SpecialAddress::LocalHost);
    static V6: Option<Pair> = std::panic::catch_unwind(|| Pair::bind(SpecialAddress::LocalHostIPv6)).ok();
}

fn payload(input: &mut Input<'_>) -> Vec<u8> {
    let n = match input.byte() {
        0xff => MAX_V4 + usize::from(input.byte() % 24),
        0xfe => usize::from(input.u16()),
        b => usize::from(b),
    };
    let seed = input.byte();
    (0..n).map(|i| (i as u8).wrapping_add(seed)).collect()
}

/// A source address for `sendmsg`: none, a loopback one, or any.
fn source(input: &mut Input<'_>) -> HostAddress {
    match input.byte() % 4 {
        0 | 1 => HostAddress::new(),
        2 => HostAddress::from(Ipv4Addr::new(127, input.byte(), input.byte(), input.byte())),
        _ => {
            let octets: [u8; 16] = std::array::from_fn(|_| input.byte());
            HostAddress::from(Ipv6Addr::from(octets))
        }
    }
}

fn round_trip(pair: &Pair, input: &mut Input<'_>) {
    let data = payload(input);
    let port = pair.receiver.local_port();
    let mut dgram = NetworkDatagram::with_destination(data.clone(), pair.address.clone(), port);
    let flags = input.byte();
    if flags & 1 != 0 {
        dgram.set_hop_limit(Some(input.byte()));
    }
    if flags & 2 != 0 {
        // Only lo, "none", or an index no interface has: a datagram for
        // 127.0.0.1 forced out of a real interface would leave loopback.
        dgram.set_interface_index(match input.byte() % 3 {
            0 => LOOPBACK_INDEX,
            1 => 0,
            _ => u32::MAX - u32::from(input.byte()),
        });
    }
    if flags & 4 != 0 {
        dgram.set_sender(source(input), input.u16());
    }
    let sent = pair.sender.write_network_datagram(&dgram);
    if data.len() > pair.max_payload {
        assert!(sent.is_err(), "{} bytes were sent", data.len());
    }
    if let Ok(n) = sent {
        assert_eq!(n, data.len());
        let ready = pair.receiver.has_pending_datagrams()
            || pair
                .receiver
                .wait_for_ready_read(Some(Duration::from_secs(5)));
        assert!(ready, "a sent datagram did not arrive on loopback");
        let expected = pair.receiver.pending_datagram_size();
        assert_eq!(expected, Some(data.len()));
        let max = match input.byte() {
            0 => None,
            b => Some(usize::from(b) * 7),
        };
        if flags & 8 != 0 {
            let mut buf = vec![0; max.unwrap_or(data.len())];
            let (got, from, from_port) = pair
                .receiver
                .read_datagram(&mut buf)
                .expect("read a pending datagram");
            assert_eq!(got, data.len().min(buf.len()));
            assert_eq!(&buf[..got], &data[..got]);
            assert_eq!(from_port, pair.sender.local_port());
            assert!(from.is_loopback(), "from {from:?}");
        } else {
            let received = pair.receiver.receive_datagram(max);
            let got = received.data().len();
            assert_eq!(got, data.len().min(max.unwrap_or(usize::MAX)));
            assert_eq!(received.data(), &data[..got]);
            assert_eq!(received.sender_port(), Some(pair.sender.local_port()));
            assert!(received.sender_address().is_loopback());
            assert_eq!(received.destination_port(), Some(port));
            assert!(received.destination_address().is_loopback());
            if let Some(hops) = dgram.hop_limit() {
                assert_eq!(received.hop_limit(), Some(hops));
            }
            let reply = received.make_reply(vec![1]);
            assert_eq!(reply.destination_address(), received.sender_address());
            assert_eq!(reply.destination_port(), received.sender_port());
        }
        // A truncated read drops the rest of the datagram.
        assert!(!pair.receiver.has_pending_datagrams());
    }
    pair.drain();
}

/// `NetworkDatagram` on its own: what is set is what is read.
fn datagram_fields(input: &mut Input<'_>) {
    let mut d = NetworkDatagram::new();
    assert!(d.is_null());
    let sender = source(input);
    let sender_port = input.u16();
    let destination = source(input);
    let destination_port = input.u16();
    d.set_data(payload(input));
    d.set_sender(sender.clone(), sender_port);
    d.set_destination(destination.clone(), destination_port);
    let hops = input.byte();
    d.set_hop_limit((hops != 0).then_some(hops));
    d.set_interface_index(input.u32());
    assert_eq!(d.sender_address(), &sender);
    assert_eq!(d.destination_address(), &destination);
    assert_eq!(d.is_valid(), !sender.is_null() || !destination.is_null());
    let reply = d.make_reply(b"reply".to_vec());
    assert_eq!(reply.destination_address(), &sender);
    assert_eq!(reply.interface_index(), d.interface_index());
    assert_eq!(reply.hop_limit(), None);
    if destination.is_broadcast() || destination.is_multicast() {
        assert!(reply.sender_address().is_null());
    } else {
        assert_eq!(reply.sender_address(), &destination);
    }
    let data = d.take_data();
    assert!(d.data().is_empty());
    d.set_data(data);
    d.clear();
    assert_eq!(d, NetworkDatagram::new());
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    match input.byte() % 4 {
        0 => datagram_fields(&mut input),
        1 => V6.with(|pair| match pair {
            Some(pair) => round_trip(pair, &mut input),
            None => V4.with(|pair| round_trip(pair, &mut input)),
        }),
        _ => V4.with(|pair| round_trip(pair, &mut input)),
    }
});
