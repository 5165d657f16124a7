//! The SOCKS5 handshake against the bytes real proxies and Qt exchange:
//! every reply split at every byte boundary, every failure's error code
//! and Qt's text, and random input that must never panic.

use std::net::Ipv6Addr;

use super::{reply_error, Socks5Command, Socks5Handshake};
use crate::proxy::testing::{cuts, feed_in_pieces, Rng};
use crate::proxy::{Authenticator, HandshakeEvent, ProxyAddress, ProxyError};
use crate::SocketError::{self, *};

fn ipv4_target() -> ProxyAddress {
    ProxyAddress::from(([127, 0, 0, 1], 9))
}

fn start(
    command: Socks5Command,
    target: ProxyAddress,
    user: &str,
    password: &str,
) -> Socks5Handshake {
    let mut socks = Socks5Handshake::new(command, target, user, password).unwrap();
    socks.proxy_connected();
    socks
}

/// A success reply with an IPv4 `BND` address, as the oracle's fake proxy
/// sends it (127.0.0.1:8080).
const REPLY_OK_V4: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];

/// The oracle's success reply with a domain-typed `BND` address.
fn reply_ok_domain() -> Vec<u8> {
    let mut reply = vec![5, 0, 0, 3, 12];
    reply.extend_from_slice(b"example.test");
    reply.extend_from_slice(&[0x00, 0x50]);
    reply
}

struct Outcome {
    events: Vec<HandshakeEvent>,
    output: Vec<u8>,
    remaining: Vec<u8>,
    bound: Option<ProxyAddress>,
}

/// Runs one handshake over the proxy's whole byte stream, cut in every
/// way, and checks that every cut gives the same outcome; returns it.
fn run_every_cut(make: &dyn Fn() -> Socks5Handshake, stream: &[u8]) -> Outcome {
    let mut first: Option<Outcome> = None;
    for pieces in cuts(stream.len()) {
        let mut socks = make();
        let mut output = socks.take_output();
        let events = feed_in_pieces(stream, &pieces, &mut |bytes| {
            let event = socks.feed(bytes);
            output.extend(socks.take_output());
            event
        });
        let outcome = Outcome {
            events,
            output,
            remaining: socks.take_remaining(),
            bound: socks.bound_address().cloned(),
        };
        match &first {
            None => first = Some(outcome),
            Some(f) => {
                assert_eq!(outcome.events, f.events, "cut {pieces:?}");
                assert_eq!(outcome.output, f.output, "cut {pieces:?}");
                assert_eq!(outcome.remaining, f.remaining, "cut {pieces:?}");
                assert_eq!(outcome.bound, f.bound, "cut {pieces:?}");
            }
        }
    }
    first.unwrap()
}

fn failed(error: SocketError, text: &str) -> HandshakeEvent {
    HandshakeEvent::Failed(ProxyError::new(error, text.to_owned()))
}

#[test]
fn connect_ipv4_without_auth_keeps_early_data_at_every_cut() {
    let make = || start(Socks5Command::Connect, ipv4_target(), "", "");
    let mut stream = vec![5, 0];
    stream.extend_from_slice(&REPLY_OK_V4);
    stream.extend_from_slice(b"X");
    let out = run_every_cut(&make, &stream);
    assert_eq!(out.events, [HandshakeEvent::Connected]);
    // Qt's bytes: greeting offering only "no authentication", then CONNECT
    // with ATYP 1 and the port in network order.
    assert_eq!(out.output, [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 9]);
    assert_eq!(out.remaining, b"X");
    assert_eq!(out.bound, Some(ProxyAddress::from(([127, 0, 0, 1], 8080))));
}

#[test]
fn connect_by_name_with_a_domain_bnd_address_and_early_data() {
    let target = ProxyAddress::Domain("Some.Name.Test".into(), 80);
    let make = || start(Socks5Command::Connect, target.clone(), "", "");
    let mut stream = vec![5, 0];
    stream.extend(reply_ok_domain());
    stream.extend_from_slice(b"EARLY-DATA");
    let out = run_every_cut(&make, &stream);
    assert_eq!(out.events, [HandshakeEvent::Connected]);
    let mut request = vec![5, 1, 0, 5, 1, 0, 3, 14];
    request.extend_from_slice(b"some.name.test");
    request.extend_from_slice(&[0, 80]);
    assert_eq!(out.output, request);
    assert_eq!(out.remaining, b"EARLY-DATA");
    assert_eq!(
        out.bound,
        Some(ProxyAddress::Domain("example.test".into(), 80))
    );
}

#[test]
fn connect_ipv6_with_username_and_password() {
    let target = ProxyAddress::from((Ipv6Addr::LOCALHOST, 443));
    let make = || start(Socks5Command::Connect, target.clone(), "user", "pässword");
    let mut stream = vec![5, 2, 1, 0];
    stream.extend_from_slice(&[5, 0, 0, 4]);
    stream.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    stream.extend_from_slice(&[0x01, 0xbb]);
    let out = run_every_cut(&make, &stream);
    assert_eq!(out.events, [HandshakeEvent::Connected]);
    let mut expected = vec![5, 1, 2]; // only username/password offered
    expected.extend_from_slice(&[1, 4, b'u', b's', b'e', b'r', 8]);
    expected.extend_from_slice(b"p\xe4ssword"); // Latin-1, as Qt sends it
    expected.extend_from_slice(&[5, 1, 0, 4]);
    expected.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    expected.extend_from_slice(&[0x01, 0xbb]);
    assert_eq!(out.output, expected);
    assert_eq!(out.bound, Some(target));
}

#[test]
fn bind_reports_both_replies_at_every_cut() {
    let make = || {
        start(
            Socks5Command::Bind,
            ProxyAddress::from(([0, 0, 0, 0], 0)),
            "",
            "",
        )
    };
    let mut stream = vec![5, 0];
    stream.extend_from_slice(&[5, 0, 0, 1, 10, 0, 0, 1, 0x9c, 0x40]);
    stream.extend(reply_ok_domain());
    stream.extend_from_slice(b"hello");
    let out = run_every_cut(&make, &stream);
    assert_eq!(
        out.events,
        [
            HandshakeEvent::Bound(ProxyAddress::from(([10, 0, 0, 1], 40000))),
            HandshakeEvent::PeerConnected(ProxyAddress::Domain("example.test".into(), 80)),
        ]
    );
    assert_eq!(out.output, [5, 1, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(out.remaining, b"hello");
}

#[test]
fn udp_associate_reports_the_relay() {
    let make = || {
        start(
            Socks5Command::UdpAssociate,
            ProxyAddress::from(([0, 0, 0, 0], 5353)),
            "",
            "",
        )
    };
    let mut stream = vec![5, 0];
    stream.extend_from_slice(&REPLY_OK_V4);
    let out = run_every_cut(&make, &stream);
    assert_eq!(
        out.events,
        [HandshakeEvent::UdpAssociated(ProxyAddress::from((
            [127, 0, 0, 1],
            8080
        )))]
    );
    assert_eq!(out.output, [5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0x14, 0xe9]);
}

/// The oracle's `socks5_rep_N_ip_target_then_close` scenarios: Qt's error
/// and text for each reply code, at every cut.
#[test]
fn failure_replies_map_to_qts_errors_and_texts() {
    let cases: [(u8, SocketError, &str); 9] = [
        (1, Network, "General SOCKSv5 server failure"),
        (2, SocketAccess, "Connection not allowed by SOCKSv5 server"),
        (3, Network, "Network unreachable"),
        (4, HostNotFound, "Host not found"),
        (5, ConnectionRefused, "Connection refused"),
        (6, Network, "TTL expired"),
        (
            7,
            UnsupportedSocketOperation,
            "SOCKSv5 command not supported",
        ),
        (8, UnsupportedSocketOperation, "Address type not supported"),
        (
            9,
            Unknown,
            "Unknown SOCKSv5 proxy error code 0x               9",
        ),
    ];
    for (code, error, text) in cases {
        let make = || start(Socks5Command::Connect, ipv4_target(), "", "");
        let mut stream = vec![5, 0];
        let mut reply = REPLY_OK_V4;
        reply[1] = code;
        stream.extend_from_slice(&reply);
        let out = run_every_cut(&make, &stream);
        assert_eq!(out.events, [failed(error, text)], "REP {code}");
    }
}

/// The oracle's `socks5_rep_1_hostname_target`: Dante's "general failure"
/// for a name it cannot resolve is Qt's HostNotFoundError.
#[test]
fn general_failure_for_a_name_is_host_not_found() {
    for code in [1, 2] {
        let make = || {
            start(
                Socks5Command::Connect,
                ProxyAddress::Domain("some.name.test".into(), 80),
                "",
                "",
            )
        };
        let mut stream = vec![5, 0];
        stream.extend_from_slice(&[5, code, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]);
        let out = run_every_cut(&make, &stream);
        assert_eq!(out.events, [failed(HostNotFound, "Host not found")]);
    }
}

/// The oracle's garbage scenarios: all `ProxyProtocolError` "SOCKS version
/// 5 protocol error".
#[test]
fn protocol_violations_are_proxy_protocol_errors() {
    let streams: [&[u8]; 5] = [
        b"\x04\x00",                                         // socks5_garbage_version
        b"HTTP/1.1 400 Bad Request\r\n\r\n",                 // socks5_http_instead
        b"\x05\x00\x05\x00\x01\x01\x7f\x00\x00\x01\x00\x50", // socks5_bad_rsv_in_reply
        b"\x05\x00\x05\x00\x00\x07\x7f\x00\x00\x01\x00\x50", // socks5_bad_atyp_in_reply
        b"\x05\x00\x06\x00\x00\x01\x7f\x00\x00\x01\x00\x50", // wrong version in the reply
    ];
    for stream in streams {
        let make = || start(Socks5Command::Connect, ipv4_target(), "", "");
        let out = run_every_cut(&make, stream);
        assert_eq!(
            out.events,
            [failed(ProxyProtocol, "SOCKS version 5 protocol error")],
            "{stream:?}"
        );
    }
}

/// The oracle's `socks5_server_picks_gssapi`, and a proxy that picks
/// username/password when none was offered.
#[test]
fn a_method_not_offered_is_socket_access_error() {
    let text = "Proxy authentication failed: Socks5 host did not support authentication method.";
    for (user, password, method) in [("", "", 1u8), ("", "", 2), ("u", "p", 1)] {
        let mut socks = start(Socks5Command::Connect, ipv4_target(), user, password);
        assert_eq!(socks.feed(&[5, method]), failed(SocketAccess, text));
        assert_eq!(
            socks.feed(&[5, 0]),
            failed(SocketAccess, text),
            "a failure is final"
        );
    }
}

/// The oracle's `socks5_no_acceptable_method_no_creds` and
/// `socks5_auth_rejected`: the application is asked; without credentials
/// the error is ProxyAuthenticationRequiredError "Proxy authentication
/// failed".
#[test]
fn refused_authentication_asks_then_fails_without_credentials() {
    let mut no_creds = start(Socks5Command::Connect, ipv4_target(), "", "");
    assert_eq!(
        no_creds.feed(&[5, 0xFF]),
        HandshakeEvent::AuthenticationRequired
    );
    assert_eq!(
        no_creds.proxy_closed(),
        HandshakeEvent::Pending,
        "proxies close after FF"
    );
    let auth = no_creds.authenticator();
    assert_eq!(
        no_creds.authenticate(&auth),
        failed(ProxyAuthenticationRequired, "Proxy authentication failed")
    );

    let mut rejected = start(Socks5Command::Connect, ipv4_target(), "u", "wrong");
    assert_eq!(rejected.feed(&[5, 2]), HandshakeEvent::Pending);
    assert_eq!(
        rejected.take_output(),
        [5, 1, 2, 1, 1, b'u', 5, b'w', b'r', b'o', b'n', b'g']
    );
    assert_eq!(
        rejected.feed(&[1, 1]),
        HandshakeEvent::AuthenticationRequired
    );
    assert_eq!(
        rejected.authenticate(&Authenticator::new()),
        failed(ProxyAuthenticationRequired, "Proxy authentication failed")
    );
}

/// Credentials from the slot: Qt reconnects and offers username/password.
#[test]
fn credentials_from_the_application_reconnect_and_authenticate() {
    let mut socks = start(Socks5Command::Connect, ipv4_target(), "", "");
    let _ = socks.take_output();
    assert_eq!(
        socks.feed(&[5, 0xFF]),
        HandshakeEvent::AuthenticationRequired
    );
    let mut auth = socks.authenticator();
    auth.set_user("alice");
    auth.set_password("pw");
    assert_eq!(socks.authenticate(&auth), HandshakeEvent::Reconnect);
    assert_eq!(
        socks.feed(b"stale"),
        HandshakeEvent::Pending,
        "bytes before the new connection"
    );
    socks.proxy_connected();
    assert_eq!(socks.take_output(), [5, 1, 2]);
    assert_eq!(socks.feed(&[5, 2]), HandshakeEvent::Pending);
    assert_eq!(
        socks.take_output(),
        [1, 5, b'a', b'l', b'i', b'c', b'e', 2, b'p', b'w']
    );
    assert_eq!(socks.feed(&[1, 0]), HandshakeEvent::Pending);
    assert_eq!(socks.take_output(), [5, 1, 0, 1, 127, 0, 0, 1, 0, 9]);
    assert_eq!(socks.feed(&REPLY_OK_V4), HandshakeEvent::Connected);
}

#[test]
fn credentials_longer_than_rfc_1929_allows_fail_authentication() {
    let long = "x".repeat(256);
    let mut socks = start(Socks5Command::Connect, ipv4_target(), &long, "");
    assert_eq!(
        socks.feed(&[5, 2]),
        failed(ProxyAuthenticationRequired, "Proxy authentication failed")
    );
}

/// EOF and control-socket errors at each stage, as Qt names them.
#[test]
fn closes_and_control_socket_errors() {
    // socks5_close_after_greeting
    let mut socks = start(Socks5Command::Connect, ipv4_target(), "", "");
    assert_eq!(
        socks.proxy_closed(),
        failed(
            ProxyConnectionClosed,
            "Connection to proxy closed prematurely"
        )
    );

    let fresh = || Socks5Handshake::new(Socks5Command::Connect, ipv4_target(), "", "").unwrap();
    let renamed = [
        (
            ConnectionRefused,
            ProxyConnectionRefused,
            "Connection to proxy refused",
        ),
        (HostNotFound, ProxyNotFound, "Proxy host not found"),
        (
            SocketTimeout,
            ProxyConnectionTimeout,
            "Connection to proxy timed out",
        ),
        (
            RemoteHostClosed,
            ProxyConnectionClosed,
            "Connection to proxy closed prematurely",
        ),
    ];
    for (error, want, text) in renamed {
        assert_eq!(
            fresh().control_socket_error(error, "os text"),
            failed(want, text)
        );
    }
    assert_eq!(
        fresh().control_socket_error(Network, "Network unreachable"),
        failed(Network, "Network unreachable")
    );

    // An established tunnel: the proxy's EOF is the remote host closing.
    let mut up = start(Socks5Command::Connect, ipv4_target(), "", "");
    let _ = up.feed(&[5, 0]);
    assert_eq!(up.feed(&REPLY_OK_V4), HandshakeEvent::Connected);
    assert_eq!(up.feed(b"more"), HandshakeEvent::Pending);
    assert_eq!(up.take_remaining(), b"more");
    assert_eq!(
        up.proxy_closed(),
        failed(RemoteHostClosed, "Remote host closed connection")
    );

    let mut up = start(Socks5Command::Connect, ipv4_target(), "", "");
    let _ = up.feed(&[5, 0]);
    let _ = up.feed(&REPLY_OK_V4);
    assert_eq!(
        up.control_socket_error(SocketTimeout, "t"),
        failed(SocketTimeout, "t"),
        "no renaming once up"
    );
}

#[test]
fn unencodable_targets_are_refused_up_front() {
    for name in [String::new(), "n".repeat(256)] {
        let err = Socks5Handshake::new(
            Socks5Command::Connect,
            ProxyAddress::Domain(name, 1),
            "",
            "",
        )
        .unwrap_err();
        assert_eq!((err.error(), err.text()), (HostNotFound, "Host not found"));
    }
}

/// Random bytes, cut at random, for random commands and credentials: no
/// panic, a failure stays final, and nothing is buffered without bound
/// before the tunnel is up. Bounded: 3000 runs of at most 64 pieces.
#[test]
fn random_input_never_panics() {
    let mut rng = Rng::new(0x5eed_50c5);
    let commands = [
        Socks5Command::Connect,
        Socks5Command::Bind,
        Socks5Command::UdpAssociate,
    ];
    for _ in 0..3000 {
        let target = match rng.below(3) {
            0 => ipv4_target(),
            1 => ProxyAddress::from((Ipv6Addr::LOCALHOST, 1)),
            _ => ProxyAddress::Domain("n.test".into(), 2),
        };
        let creds = if rng.below(2) == 0 {
            ("", "")
        } else {
            ("u", "p")
        };
        let mut socks = start(commands[rng.below(3)], target, creds.0, creds.1);
        let mut final_error = None;
        for _ in 0..rng.below(64) {
            // Bias towards plausible prefixes so deeper states are reached.
            let mut piece = match rng.below(4) {
                0 => vec![5, rng.below(3) as u8],
                1 => vec![5, 0, 0, [1, 3, 4][rng.below(3)]],
                _ => Vec::new(),
            };
            piece.extend(rng.bytes(24));
            let event = match rng.below(20) {
                0 => socks.proxy_closed(),
                1 => socks.authenticate(&Authenticator::new()),
                _ => socks.feed(&piece),
            };
            let _ = socks.take_output();
            if let HandshakeEvent::Failed(e) = &event {
                assert!(final_error.is_none() || final_error.as_ref() == Some(e));
                final_error = Some(e.clone());
            } else if event == HandshakeEvent::Reconnect {
                socks.proxy_connected();
            }
            let _ = socks.take_remaining();
            assert!(
                socks.buffered() <= 300,
                "at most one partial reply is buffered"
            );
        }
    }
}

#[test]
fn unknown_codes_print_as_qt_prints_them() {
    // QString::arg(int, 16): decimal, right-aligned in 16 columns, from a
    // signed char.
    assert_eq!(
        reply_error(9, false).text(),
        "Unknown SOCKSv5 proxy error code 0x               9"
    );
    assert_eq!(
        reply_error(0xff, false).text(),
        "Unknown SOCKSv5 proxy error code 0x              -1"
    );
    assert_eq!(
        reply_error(0x80, false).text(),
        "Unknown SOCKSv5 proxy error code 0x            -128"
    );
    assert_eq!(reply_error(9, false).error(), Unknown);
}
