//! The HTTP CONNECT handshake against the replies real proxies (squid,
//! tinyproxy) and the oracle's fake proxy send: every reply split at every
//! byte boundary, Qt's error codes and texts, the 407 loop, and random
//! input that must never panic.

use super::HttpConnectHandshake;
use crate::proxy::testing::{cuts, feed_in_pieces, Rng};
use crate::proxy::{
    Authenticator, HandshakeEvent, NetworkProxy, ProxyAddress, ProxyError, ProxyType,
};
use crate::SocketError::{self, *};

const QT_REQUEST: &[u8] = b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nProxy-Connection: keep-alive\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0\r\n\r\n";

fn proxy() -> NetworkProxy {
    NetworkProxy::new(ProxyType::Http, "127.0.0.1", 3128)
}

fn start_with(proxy: &NetworkProxy) -> HttpConnectHandshake {
    let mut tunnel = HttpConnectHandshake::new(ProxyAddress::from(([127, 0, 0, 1], 9)), proxy);
    tunnel.proxy_connected();
    tunnel
}

fn failed(error: SocketError, text: &str) -> HandshakeEvent {
    HandshakeEvent::Failed(ProxyError::new(error, text.to_owned()))
}

/// Feeds `reply` cut in every way; every cut must give the same events,
/// output (after the first request) and tunnel data, which are returned.
fn run_every_cut(
    make: &dyn Fn() -> HttpConnectHandshake,
    reply: &[u8],
) -> (Vec<HandshakeEvent>, Vec<u8>, Vec<u8>) {
    let mut first = None;
    for pieces in cuts(reply.len()) {
        let mut tunnel = make();
        let _request = tunnel.take_output();
        let mut output = Vec::new();
        let events = feed_in_pieces(reply, &pieces, &mut |bytes| {
            let event = tunnel.feed(bytes);
            output.extend(tunnel.take_output());
            event
        });
        let outcome = (events, output, tunnel.take_remaining());
        match &first {
            None => first = Some(outcome),
            Some(f) => assert_eq!(&outcome, f, "cut {pieces:?}"),
        }
    }
    first.unwrap()
}

#[test]
fn the_request_is_qts_byte_for_byte() {
    let mut tunnel = start_with(&proxy());
    assert_eq!(tunnel.take_output(), QT_REQUEST);

    let mut named = HttpConnectHandshake::new(
        ProxyAddress::Domain("WWW.Example.com".into(), 443),
        &proxy(),
    );
    named.proxy_connected();
    assert_eq!(
        named.take_output(),
        b"CONNECT www.example.com:443 HTTP/1.1\r\nProxy-Connection: keep-alive\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n"
    );

    let mut with_headers = proxy();
    with_headers.set_raw_header("X-One", "1");
    with_headers.set_raw_header("User-Agent", "sigloop");
    with_headers.set_raw_header("X-Two", "2");
    let mut tunnel = start_with(&with_headers);
    assert_eq!(
        tunnel.take_output(),
        b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nProxy-Connection: keep-alive\r\nHost: 127.0.0.1\r\nx-one: 1\r\nuser-agent: sigloop\r\nx-two: 2\r\n\r\n"
    );
}

/// Credentials are sent only once a 407 named the scheme, as Qt does.
#[test]
fn credentials_are_not_sent_before_a_challenge() {
    let mut with_creds = proxy();
    with_creds.set_user("u");
    with_creds.set_password("p");
    let mut tunnel = start_with(&with_creds);
    assert_eq!(tunnel.take_output(), QT_REQUEST);
}

/// The oracle's `http_*` replies: Qt's error and text for each, at every
/// cut.
#[test]
fn oracle_replies_map_to_qts_errors_and_texts() {
    let cases: [(&[u8], HandshakeEvent); 10] = [
        (
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
            failed(SocketAccess, "Proxy denied connection"),
        ),
        (
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            failed(HostNotFound, "Host not found"),
        ),
        (
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n",
            failed(SocketAccess, "Proxy denied connection"),
        ),
        (
            b"HTTP/1.1 500 Unable to connect\r\nConnection: close\r\n\r\n",
            failed(ProxyProtocol, "Error communicating with HTTP proxy"),
        ),
        (
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
            failed(ProxyProtocol, "Error communicating with HTTP proxy"),
        ),
        (
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
            failed(ConnectionRefused, "Connection refused"),
        ),
        (
            b"HTTP/1.0 401 Unauthorized\r\nConnection: close\r\n\r\n",
            failed(ProxyProtocol, "Error communicating with HTTP proxy"),
        ),
        (
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            failed(
                ProxyProtocol,
                "Error parsing authentication request from proxy",
            ),
        ),
        (
            b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
            failed(ProxyProtocol, "Did not receive HTTP response from proxy"),
        ),
        (
            b"HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\n\r\n",
            failed(
                ProxyProtocol,
                "Error parsing authentication request from proxy",
            ),
        ),
    ];
    for (reply, want) in cases {
        let (events, output, _) = run_every_cut(&|| start_with(&proxy()), reply);
        assert_eq!(events, [want], "{}", String::from_utf8_lossy(reply));
        assert!(output.is_empty());
    }
}

/// The oracle's `http_200_http10_with_early_data`.
#[test]
fn bytes_after_the_200_head_are_tunnel_data_at_every_cut() {
    let reply = b"HTTP/1.0 200 Connection established\r\n\r\nEARLY-DATA";
    let (events, _, remaining) = run_every_cut(&|| start_with(&proxy()), reply);
    assert_eq!(events, [HandshakeEvent::Connected]);
    assert_eq!(remaining, b"EARLY-DATA");
    // Qt also reads a 200's Content-Length body as part of the response.
    let with_body = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcTUNNEL";
    let (events, _, remaining) = run_every_cut(&|| start_with(&proxy()), with_body);
    assert_eq!(events, [HandshakeEvent::Connected]);
    assert_eq!(remaining, b"TUNNEL");
}

/// The oracle's `http_407_basic_no_creds`: asked, then "Authentication
/// required".
#[test]
fn a_challenge_without_credentials_asks_then_fails() {
    let reply = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nProxy-Connection: close\r\n\r\n";
    let (events, _, _) = run_every_cut(&|| start_with(&proxy()), reply);
    assert_eq!(events, [HandshakeEvent::AuthenticationRequired]);
    let mut tunnel = start_with(&proxy());
    let _ = tunnel.feed(reply);
    assert_eq!(tunnel.authenticator().realm(), "x");
    assert_eq!(
        tunnel.proxy_closed(),
        HandshakeEvent::Pending,
        "the proxy said it closes"
    );
    assert_eq!(
        tunnel.authenticate(&tunnel.authenticator()),
        failed(ProxyAuthenticationRequired, "Authentication required")
    );
}

/// Squid's keep-alive 407 with a body, credentials already on the proxy:
/// the body is skipped and the request goes again on the same connection,
/// with Basic credentials; a second 407 asks the application with cleared
/// credentials; its answer is used on a new connection when the proxy
/// closes.
#[test]
fn the_407_loop_retries_with_basic_credentials() {
    let mut with_creds = proxy();
    with_creds.set_user("Aladdin");
    with_creds.set_password("open sesame");
    let body = "<html>denied</html>";
    let challenge = format!(
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"Squid\"\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let make = || {
        let mut tunnel = start_with(&with_creds);
        let _ = tunnel.take_output();
        tunnel
    };
    let (events, output, _) = run_every_cut(&make, challenge.as_bytes());
    assert!(events.is_empty(), "retried without asking: {events:?}");
    let mut retry = QT_REQUEST[..QT_REQUEST.len() - 2].to_vec();
    retry.extend_from_slice(b"Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
    assert_eq!(output, retry);

    // The proxy refuses them: ask, with the realm and no credentials.
    let mut tunnel = make();
    let _ = tunnel.feed(challenge.as_bytes());
    let _ = tunnel.take_output();
    let refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"Squid\"\r\nConnection: close\r\n\r\n";
    assert_eq!(tunnel.feed(refusal), HandshakeEvent::AuthenticationRequired);
    let mut auth = tunnel.authenticator();
    assert_eq!(
        (auth.user(), auth.password(), auth.realm()),
        ("", "", "Squid")
    );
    auth.set_user("Aladdin");
    auth.set_password("right");
    assert_eq!(tunnel.authenticate(&auth), HandshakeEvent::Reconnect);
    assert!(tunnel.take_output().is_empty());
    tunnel.proxy_connected();
    let request = String::from_utf8(tunnel.take_output()).unwrap();
    assert!(
        request.ends_with("Proxy-Authorization: Basic QWxhZGRpbjpyaWdodA==\r\n\r\n"),
        "{request}"
    );
    assert_eq!(
        tunnel.feed(b"HTTP/1.1 200 Connection established\r\n\r\n"),
        HandshakeEvent::Connected
    );
}

/// Digest (MD5, qop=auth): the response is RFC 7616's formula over
/// `CONNECT` and the authority.
#[test]
fn digest_challenges_get_a_digest_response() {
    use md5::{Digest, Md5};
    let hex = |data: &str| {
        Md5::digest(data.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let mut with_creds = proxy();
    with_creds.set_user("u");
    with_creds.set_password("pw");
    let mut tunnel = start_with(&with_creds);
    let _ = tunnel.take_output();
    let challenge = b"HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"b\"\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"abc\", qop=\"auth\", algorithm=MD5\r\n\r\n";
    assert_eq!(tunnel.feed(challenge), HandshakeEvent::Pending);
    let request = String::from_utf8(tunnel.take_output()).unwrap();
    let line = request
        .lines()
        .find(|l| l.starts_with("Proxy-Authorization: Digest "))
        .unwrap();
    let cnonce = line
        .split("cnonce=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let ha1 = hex("u:r:pw");
    let ha2 = hex("CONNECT:127.0.0.1:9");
    let response = hex(&format!("{ha1}:abc:00000001:{cnonce}:auth:{ha2}"));
    assert_eq!(
        line,
        format!(
            "Proxy-Authorization: Digest username=\"u\", realm=\"r\", nonce=\"abc\", uri=\"127.0.0.1:9\", \
             response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{cnonce}\""
        )
    );
}

/// Reaching the proxy fails: Qt's HTTP-engine names and texts.
#[test]
fn control_socket_errors_and_closes() {
    let fresh = || HttpConnectHandshake::new(ProxyAddress::from(([127, 0, 0, 1], 9)), &proxy());
    let renamed = [
        (
            ConnectionRefused,
            ProxyConnectionRefused,
            "Proxy connection refused",
        ),
        (HostNotFound, ProxyNotFound, "Proxy server not found"),
        (
            SocketTimeout,
            ProxyConnectionTimeout,
            "Proxy server connection timed out",
        ),
        (
            RemoteHostClosed,
            ProxyConnectionClosed,
            "Proxy connection closed prematurely",
        ),
    ];
    for (error, want, text) in renamed {
        assert_eq!(
            fresh().control_socket_error(error, "os text"),
            failed(want, text)
        );
    }
    assert_eq!(
        fresh().control_socket_error(Network, "Host unreachable"),
        failed(Network, "Host unreachable")
    );
    // The oracle's `http_close_before_reply`, also after part of a head.
    let mut tunnel = start_with(&proxy());
    let _ = tunnel.feed(b"HTTP/1.1 20");
    assert_eq!(
        tunnel.proxy_closed(),
        failed(ProxyConnectionClosed, "Proxy connection closed prematurely")
    );
    // Up: EOF is the remote host closing; timeouts are ignored.
    let mut up = start_with(&proxy());
    assert_eq!(
        up.feed(b"HTTP/1.1 200 OK\r\n\r\n"),
        HandshakeEvent::Connected
    );
    assert_eq!(
        up.control_socket_error(SocketTimeout, "t"),
        HandshakeEvent::Pending
    );
    assert_eq!(up.feed(b"data"), HandshakeEvent::Pending);
    assert_eq!(up.take_remaining(), b"data");
    assert_eq!(
        up.proxy_closed(),
        failed(RemoteHostClosed, "Remote host closed")
    );
}

/// Random bytes after random HTTP-looking prefixes, cut at random: no
/// panic, a failure stays final. Bounded: 3000 runs of at most 32 pieces.
#[test]
fn random_input_never_panics() {
    let prefixes: [&[u8]; 5] = [
        b"HTTP/1.1 407 x\r\nProxy-Authenticate: ",
        b"HTTP/1.0 200 ",
        b"HTTP/1.1 407 x\r\nContent-Length: ",
        b"HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"",
        b"",
    ];
    let mut rng = Rng::new(0x4077_c0de);
    for _ in 0..3000 {
        let mut with_creds = proxy();
        if rng.below(2) == 0 {
            with_creds.set_user("u");
        }
        let mut tunnel = start_with(&with_creds);
        let mut final_error = None;
        let mut stream = prefixes[rng.below(prefixes.len())].to_vec();
        for _ in 0..rng.below(32) {
            stream.extend(rng.bytes(16));
            if rng.below(4) == 0 {
                stream.extend_from_slice(b"\r\n\r\n");
            }
        }
        let mut at = 0;
        while at < stream.len() {
            let end = (at + 1 + rng.below(24)).min(stream.len());
            let event = match rng.below(30) {
                0 => tunnel.proxy_closed(),
                1 => {
                    let mut auth = Authenticator::new();
                    auth.set_user("x");
                    tunnel.authenticate(&auth)
                }
                _ => tunnel.feed(&stream[at..end]),
            };
            at = end;
            let _ = tunnel.take_output();
            match event {
                HandshakeEvent::Failed(e) => {
                    assert!(final_error.is_none() || final_error.as_ref() == Some(&e));
                    final_error = Some(e);
                }
                HandshakeEvent::Reconnect => tunnel.proxy_connected(),
                _ => {}
            }
        }
    }
}
