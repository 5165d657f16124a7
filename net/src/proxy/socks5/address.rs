//! SOCKS5 addresses on the wire (RFC 1928 §5): `ATYP` then the address
//! (4 bytes IPv4, 16 bytes IPv6, or a length byte and a name) and the port
//! in network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::super::ProxyAddress;

pub(super) const ATYP_IPV4: u8 = 0x01;
pub(super) const ATYP_DOMAIN: u8 = 0x03;
pub(super) const ATYP_IPV6: u8 = 0x04;

/// The result of reading an address from the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decoded {
    /// Not all bytes are there yet.
    Incomplete,
    /// An `ATYP` RFC 1928 does not define.
    BadType,
    /// The address and how many bytes it took.
    Done(ProxyAddress, usize),
}

/// Appends `address` in wire form; `None` if a name is empty or longer
/// than the 255 bytes a SOCKS5 name can hold.
pub(super) fn encode(address: &ProxyAddress, out: &mut Vec<u8>) -> Option<()> {
    match address {
        ProxyAddress::Ip(SocketAddr::V4(a)) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(&a.ip().octets());
        }
        ProxyAddress::Ip(SocketAddr::V6(a)) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(&a.ip().octets());
        }
        ProxyAddress::Domain(..) => {
            let name = address.host();
            let len = u8::try_from(name.len()).ok().filter(|&n| n > 0)?;
            out.push(ATYP_DOMAIN);
            out.push(len);
            out.extend_from_slice(name.as_bytes());
        }
    }
    out.extend_from_slice(&address.port().to_be_bytes());
    Some(())
}

/// Reads an address from the start of `buf`.
pub(super) fn decode(buf: &[u8]) -> Decoded {
    let Some(&atyp) = buf.first() else {
        return Decoded::Incomplete;
    };
    let (host_len, name_offset) = match atyp {
        ATYP_IPV4 => (4, 1),
        ATYP_IPV6 => (16, 1),
        ATYP_DOMAIN => match buf.get(1) {
            Some(&n) => (usize::from(n), 2),
            None => return Decoded::Incomplete,
        },
        _ => return Decoded::BadType,
    };
    let total = name_offset + host_len + 2;
    let Some(bytes) = buf.get(..total) else {
        return Decoded::Incomplete;
    };
    let host = &bytes[name_offset..name_offset + host_len];
    let port = u16::from_be_bytes([bytes[total - 2], bytes[total - 1]]);
    let address = match atyp {
        ATYP_IPV4 => {
            let octets: [u8; 4] = host.try_into().unwrap_or_default();
            ProxyAddress::Ip(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(octets)), port))
        }
        ATYP_IPV6 => {
            let octets: [u8; 16] = host.try_into().unwrap_or_default();
            ProxyAddress::Ip(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        // A name need not be UTF-8 on the wire; keep what can be shown.
        _ => ProxyAddress::Domain(String::from_utf8_lossy(host).into_owned(), port),
    };
    Decoded::Done(address, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_type_round_trips_and_every_prefix_is_incomplete() {
        let addresses = [
            ProxyAddress::from(([192, 0, 2, 7], 0x1f90)),
            ProxyAddress::from((Ipv6Addr::LOCALHOST, 80)),
            ProxyAddress::Domain("example.test".into(), 65535),
        ];
        for address in addresses {
            let mut wire = Vec::new();
            encode(&address, &mut wire).unwrap();
            for cut in 0..wire.len() {
                assert_eq!(
                    decode(&wire[..cut]),
                    Decoded::Incomplete,
                    "{address} cut at {cut}"
                );
            }
            wire.push(0xAA);
            assert_eq!(
                decode(&wire),
                Decoded::Done(address.clone(), wire.len() - 1)
            );
        }
    }

    #[test]
    fn names_must_fit_a_length_byte() {
        let mut out = Vec::new();
        assert!(encode(&ProxyAddress::Domain(String::new(), 1), &mut out).is_none());
        assert!(encode(&ProxyAddress::Domain("a".repeat(256), 1), &mut out).is_none());
        assert!(encode(&ProxyAddress::Domain("a".repeat(255), 1), &mut out).is_some());
        assert_eq!(out.len(), 1 + 1 + 255 + 2);
        assert_eq!(decode(&[0x02, 1, 2, 3]), Decoded::BadType);
    }
}
