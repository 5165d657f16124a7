//! `HostAddress` parsing (Qt: `QHostAddress::setAddress`,
//! `QHostAddress::parseSubnet`) on text the input chooses, and the
//! round trips that hold:
//! - text that parses prints as text that parses to the same address
//!   (`parse(a.to_string()) == a`, scope id included);
//! - every IPv4 and IPv6 address built from raw octets (with a scope id
//!   free of `%` and whitespace, which Qt's text form can't carry either)
//!   prints as text that parses back to it;
//! - a parsed subnet prints as `net/len` that parses back to it, and
//!   contains its own network address;
//! - `is_equal` is symmetric in every conversion mode, and equal addresses
//!   hash alike.
//!
//! Input: one selector byte, then raw octets / text.

#![no_main]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use sigloop::{ConversionMode, HostAddress};
use sigloop_fuzz::{CappedAlloc, Input};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fn hash_of(a: &HostAddress) -> u64 {
    let mut h = DefaultHasher::new();
    a.hash(&mut h);
    h.finish()
}

const MODES: [ConversionMode; 6] = [
    ConversionMode::STRICT_CONVERSION,
    ConversionMode::CONVERT_V4_MAPPED_TO_IPV4,
    ConversionMode::CONVERT_V4_COMPAT_TO_IPV4,
    ConversionMode::CONVERT_LOCAL_HOST,
    ConversionMode::CONVERT_UNSPECIFIED_ADDRESS,
    ConversionMode::TOLERANT_CONVERSION,
];

/// Every query on `a` answers without panicking, and printing round-trips.
fn exercise(a: &HostAddress) {
    let text = a.to_string();
    if !a.is_null() {
        let back: HostAddress = text
            .parse()
            .unwrap_or_else(|e| panic!("{a:?} printed as {text:?}, which fails to parse: {e}"));
        assert_eq!(&back, a, "{text:?} parsed as another address");
        assert_eq!(back.scope_id(), a.scope_id());
        assert_eq!(hash_of(&back), hash_of(a));
    }
    let _ = format!("{a:?}");
    let _ = (a.protocol(), a.to_ipv4(), a.to_ipv6(), a.ip());
    let _ = (a.is_loopback(), a.is_global(), a.is_link_local());
    let _ = (
        a.is_site_local(),
        a.is_unique_local_unicast(),
        a.is_multicast(),
    );
    let _ = (a.is_broadcast(), a.is_private_use());
    if a.scope_id().chars().all(|c| c.is_ascii_digit()) {
        // A named scope is looked up in /sys: keep the fuzzer off the disk.
        let _ = a.to_socket_addr(7);
    }
}

fn compare(a: &HostAddress, b: &HostAddress, prefix: u8) {
    for mode in MODES {
        assert_eq!(
            a.is_equal(b, mode),
            b.is_equal(a, mode),
            "is_equal({a:?}, {b:?}, {mode:?}) is not symmetric"
        );
    }
    if a == b {
        assert_eq!(hash_of(a), hash_of(b));
    }
    let _ = a.is_in_subnet(b, prefix);
}

/// A scope id Qt's text form can carry: no `%`, no whitespace.
fn printable_scope(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| *c != '%' && !c.is_whitespace())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let selector = input.byte();
    match selector % 4 {
        0 => {
            let ip = Ipv4Addr::from(input.u32());
            exercise(&HostAddress::from(ip));
        }
        1 => {
            let octets: [u8; 16] = std::array::from_fn(|_| input.byte());
            let mut a = HostAddress::from(Ipv6Addr::from(octets));
            let scope_len = usize::from(input.byte() % 16);
            a.set_scope_id(printable_scope(input.take(scope_len)));
            exercise(&a);
        }
        2 => {
            let text = String::from_utf8_lossy(input.rest()).into_owned();
            if let Ok((net, len)) = HostAddress::parse_subnet(&text) {
                assert!(net.is_in_subnet(&net, len), "{text:?}: {net:?}/{len}");
                let printed = format!("{net}/{len}");
                let back = HostAddress::parse_subnet(&printed)
                    .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
                assert_eq!(back, (net.clone(), len), "{text:?} printed as {printed:?}");
                exercise(&net);
            }
        }
        _ => {
            let rest = input.rest();
            // Two addresses, split where the selector says.
            let cut = usize::from(selector >> 2).min(rest.len());
            let (first, second) = rest.split_at(cut);
            let first = String::from_utf8_lossy(first);
            let second = String::from_utf8_lossy(second);
            let mut a = HostAddress::new();
            let parsed = a.set_address(&first);
            assert_eq!(parsed.is_err(), a.is_null());
            let b: HostAddress = second.parse().unwrap_or_default();
            exercise(&a);
            exercise(&b);
            compare(&a, &b, selector);
        }
    }
});
