//! The header of a datagram sent through a SOCKS5 UDP relay (RFC 1928 §7):
//! `RSV RSV FRAG ATYP DST.ADDR DST.PORT DATA`.

use super::super::{ProxyAddress, ProxyError};
use super::address::{decode, encode, Decoded};
use super::text;
use crate::SocketError;

/// The datagram to send to the relay so that it forwards `payload` to
/// `target`: a 2-byte reserved field, fragment 0, the target, the payload.
///
/// # Errors
///
/// `HostNotFoundError` "Host not found" if `target` is a name that is
/// empty or longer than 255 bytes.
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::{socks5::wrap_datagram, ProxyAddress};
///
/// let wire = wrap_datagram(&ProxyAddress::from(([10, 0, 0, 2], 53)), b"hi").unwrap();
/// assert_eq!(wire, [0, 0, 0, 1, 10, 0, 0, 2, 0, 53, b'h', b'i']);
/// ```
pub fn wrap_datagram(target: &ProxyAddress, payload: &[u8]) -> Result<Vec<u8>, ProxyError> {
    let mut out = Vec::with_capacity(3 + 1 + 16 + 2 + payload.len());
    out.extend_from_slice(&[0, 0, 0]);
    encode(target, &mut out)
        .ok_or_else(|| ProxyError::new(SocketError::HostNotFound, text::HOST_NOT_FOUND))?;
    out.extend_from_slice(payload);
    Ok(out)
}

/// The sender and payload of a datagram that came from the relay, or
/// `None` for one to discard: shorter than a header, a reserved byte not
/// zero, a fragment (Qt supports none), an unknown address type, or an
/// empty sender name (which [`wrap_datagram`] could not answer). A
/// sender given as a name comes back as [`ProxyAddress::Domain`] (Qt
/// discards such datagrams; the caller decides).
///
/// # Examples
///
/// ```
/// use sigloop_net::proxy::{socks5::unwrap_datagram, ProxyAddress};
///
/// let wire = [0, 0, 0, 1, 10, 0, 0, 2, 0, 53, b'o', b'k'];
/// let (from, payload) = unwrap_datagram(&wire).unwrap();
/// assert_eq!(from, ProxyAddress::from(([10, 0, 0, 2], 53)));
/// assert_eq!(payload, b"ok");
/// assert_eq!(unwrap_datagram(&[0, 0, 1, 1, 10, 0, 0, 2, 0, 53]), None, "fragment");
/// ```
pub fn unwrap_datagram(datagram: &[u8]) -> Option<(ProxyAddress, &[u8])> {
    let (header, rest) = datagram.split_at_checked(3)?;
    if header != [0, 0, 0] {
        return None;
    }
    match decode(rest) {
        // An empty name is no sender: nothing could answer it.
        Decoded::Done(ProxyAddress::Domain(name, _), _) if name.is_empty() => None,
        Decoded::Done(from, len) => Some((from, &rest[len..])),
        Decoded::Incomplete | Decoded::BadType => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `proxy_handshake` fuzz target: a relay datagram whose
    /// sender is a zero-length name was accepted, and a reply to that
    /// sender could not be wrapped.
    #[test]
    fn an_empty_sender_name_is_discarded() {
        assert_eq!(unwrap_datagram(&[0, 0, 0, 3, 0, 0, 2, b'x']), None);
        let one = [0, 0, 0, 3, 1, b'a', 0, 2, b'x'];
        let (from, payload) = unwrap_datagram(&one).unwrap();
        assert_eq!(from, ProxyAddress::Domain("a".into(), 2));
        assert!(wrap_datagram(&from, payload).is_ok());
    }

    #[test]
    fn wrap_and_unwrap_are_inverse_for_every_address_type() {
        let targets = [
            ProxyAddress::from(([127, 0, 0, 1], 9)),
            ProxyAddress::from((std::net::Ipv6Addr::LOCALHOST, 9)),
            ProxyAddress::Domain("relay.test".into(), 9),
        ];
        for target in targets {
            for payload in [&b""[..], b"x", &[0u8; 1500]] {
                let wire = wrap_datagram(&target, payload).unwrap();
                assert_eq!(unwrap_datagram(&wire), Some((target.clone(), payload)));
                for cut in 0..wire.len() - payload.len() {
                    assert_eq!(unwrap_datagram(&wire[..cut]), None, "header cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn bad_headers_are_discarded() {
        let good = wrap_datagram(&ProxyAddress::from(([1, 2, 3, 4], 5)), b"p").unwrap();
        for (i, bad) in [(0, 1u8), (1, 1), (2, 1), (3, 9)] {
            let mut wire = good.clone();
            wire[i] = bad;
            assert_eq!(unwrap_datagram(&wire), None, "byte {i} = {bad}");
        }
        let long = ProxyAddress::Domain("x".repeat(300), 1);
        assert_eq!(
            wrap_datagram(&long, b"").unwrap_err().error(),
            SocketError::HostNotFound
        );
    }
}
