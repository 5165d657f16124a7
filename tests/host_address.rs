//! `HostAddress` (Qt's `QHostAddress`) through the `sigloop` facade:
//! parsing and printing, special addresses, classification, subnets,
//! IPv4/IPv6 conversions and Qt's equality rules.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use sigloop::{ConversionMode, HostAddress, NetworkLayerProtocol, SpecialAddress};

fn addr(text: &str) -> HostAddress {
    text.parse()
        .unwrap_or_else(|err| panic!("{text:?} should parse: {err}"))
}

#[test]
fn literals_round_trip() {
    // (input, Qt's toString(), protocol)
    let cases = [
        ("127.0.0.1", "127.0.0.1", NetworkLayerProtocol::IPv4),
        ("0.0.0.0", "0.0.0.0", NetworkLayerProtocol::IPv4),
        (
            "255.255.255.255",
            "255.255.255.255",
            NetworkLayerProtocol::IPv4,
        ),
        ("  10.1.2.3\t", "10.1.2.3", NetworkLayerProtocol::IPv4),
        ("::", "::", NetworkLayerProtocol::IPv6),
        ("::1", "::1", NetworkLayerProtocol::IPv6),
        (
            "::ffff:1.2.3.4",
            "::ffff:1.2.3.4",
            NetworkLayerProtocol::IPv6,
        ),
        (
            "::FFFF:1.2.3.4",
            "::ffff:1.2.3.4",
            NetworkLayerProtocol::IPv6,
        ),
        (
            "0:0:0:0:0:ffff:102:304",
            "::ffff:1.2.3.4",
            NetworkLayerProtocol::IPv6,
        ),
        ("::13.1.68.3", "::13.1.68.3", NetworkLayerProtocol::IPv6),
        ("fe80::1%lo", "fe80::1%lo", NetworkLayerProtocol::IPv6),
        ("FE80::1%eth0", "fe80::1%eth0", NetworkLayerProtocol::IPv6),
        (
            "2001:DB8:0:0:0:0:0:1",
            "2001:db8::1",
            NetworkLayerProtocol::IPv6,
        ),
        (
            "2001:db8:0:1:0:0:0:1",
            "2001:db8:0:1::1",
            NetworkLayerProtocol::IPv6,
        ),
        (
            "2001:0:0:1:0:0:0:1",
            "2001:0:0:1::1",
            NetworkLayerProtocol::IPv6,
        ),
        (
            "1080:0:1:0:8:800:200C:417A",
            "1080:0:1:0:8:800:200c:417a",
            NetworkLayerProtocol::IPv6,
        ),
        ("ff02::1", "ff02::1", NetworkLayerProtocol::IPv6),
    ];
    for (input, printed, protocol) in cases {
        let a = addr(input);
        assert_eq!(a.to_string(), printed, "{input:?}");
        assert_eq!(a.protocol(), protocol, "{input:?}");
        assert!(!a.is_null());
        // What Qt prints parses back to the same address and scope.
        let again = addr(printed);
        assert_eq!(again, a, "{input:?}");
        assert_eq!(again.scope_id(), a.scope_id(), "{input:?}");
        assert_eq!(again.to_string(), printed);
    }
}

#[test]
fn qt_accepts_inet_aton_forms() {
    // Qt's parser (QIPAddressUtils::parseIp4) takes fewer than four parts,
    // the last filling the remaining bytes, and hex/octal parts.
    assert_eq!(addr("1.2.3").to_string(), "1.2.0.3");
    assert_eq!(addr("123.0.0").to_string(), "123.0.0.0");
    assert_eq!(addr("127.1").to_string(), "127.0.0.1");
    assert_eq!(addr("2130706433").to_string(), "127.0.0.1");
    assert_eq!(addr("0x7f.0.0.1").to_string(), "127.0.0.1");
}

#[test]
fn invalid_literals_are_errors() {
    for input in [
        "",
        "   ",
        "256.1.1.1",
        "1.2.3.256",
        "1.2.3.4.5",
        "123.0.0.",
        "-1.2.3.4",
        ":::",
        ":",
        "1::2::3",
        "::ffff:1.2.3",
        "12345::",
        "::EFGH",
        "localhost",
        "example.com",
        "1.2.3.4:80",
        "[::1]",
        "1.2.3.4%eth0",
    ] {
        let err = input.parse::<HostAddress>().unwrap_err();
        assert_eq!(err.input(), input);
        assert!(err.to_string().contains("invalid IP address"), "{err}");

        let mut a = HostAddress::from(SpecialAddress::LocalHost);
        assert!(a.set_address(input).is_err());
        assert!(a.is_null(), "a failed set_address leaves the address null");
    }
}

#[test]
fn special_addresses() {
    let table = [
        (
            SpecialAddress::Null,
            NetworkLayerProtocol::Unknown,
            "",
            None,
        ),
        (
            SpecialAddress::Broadcast,
            NetworkLayerProtocol::IPv4,
            "255.255.255.255",
            Some(IpAddr::V4(Ipv4Addr::BROADCAST)),
        ),
        (
            SpecialAddress::LocalHost,
            NetworkLayerProtocol::IPv4,
            "127.0.0.1",
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ),
        (
            SpecialAddress::LocalHostIPv6,
            NetworkLayerProtocol::IPv6,
            "::1",
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ),
        // Qt: "For QHostAddress::Any, its IPv4 address will be returned".
        (
            SpecialAddress::Any,
            NetworkLayerProtocol::AnyIP,
            "0.0.0.0",
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ),
        (
            SpecialAddress::AnyIPv6,
            NetworkLayerProtocol::IPv6,
            "::",
            Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ),
        (
            SpecialAddress::AnyIPv4,
            NetworkLayerProtocol::IPv4,
            "0.0.0.0",
            Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ),
    ];
    for (special, protocol, text, ip) in table {
        let a = HostAddress::from(special);
        assert_eq!(a.protocol(), protocol, "{special:?}");
        assert_eq!(a.to_string(), text, "{special:?}");
        assert_eq!(a.ip(), ip, "{special:?}");
        assert!(a == special, "{special:?}");
        assert!(special == a, "{special:?}");
        assert_eq!(a.is_null(), special == SpecialAddress::Null);
    }
    assert_eq!(SpecialAddress::Any as i32, 4);
    assert_eq!(NetworkLayerProtocol::AnyIP as i32, 2);
    assert_eq!(HostAddress::new(), HostAddress::default());

    // The dual-stack Any is its own thing under strict equality...
    let any = HostAddress::from(SpecialAddress::Any);
    assert_ne!(any, addr("0.0.0.0"));
    assert_ne!(any, addr("::"));
    assert!(addr("0.0.0.0") != SpecialAddress::Any);
    // ...and the same once unspecified addresses convert.
    assert!(any.is_equal(
        &addr("0.0.0.0"),
        ConversionMode::CONVERT_UNSPECIFIED_ADDRESS
    ));
    assert!(any.is_equal(&addr("::"), ConversionMode::default()));
    assert_eq!(any.to_socket_addr(8080), Some("[::]:8080".parse().unwrap()));
}

#[test]
fn loopback_multicast_broadcast() {
    for text in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
        let a = addr(text);
        assert!(a.is_loopback(), "{text}");
        assert!(
            !a.is_multicast() && !a.is_broadcast() && !a.is_global(),
            "{text}"
        );
    }
    for text in [
        "224.0.0.1",
        "239.255.255.250",
        "ff02::1",
        "ff05::1:3",
        "::ffff:224.0.0.251",
    ] {
        let a = addr(text);
        assert!(a.is_multicast(), "{text}");
        assert!(!a.is_loopback() && !a.is_broadcast(), "{text}");
    }
    assert!(addr("255.255.255.255").is_broadcast());
    assert!(addr("::ffff:255.255.255.255").is_broadcast());
    assert!(!addr("10.0.0.255").is_broadcast());
    for text in ["0.0.0.0", "::", "128.0.0.1", "::2", "fe80::1"] {
        assert!(!addr(text).is_loopback(), "{text}");
    }
    for a in [HostAddress::new(), HostAddress::from(SpecialAddress::Any)] {
        assert!(!a.is_loopback() && !a.is_multicast() && !a.is_broadcast() && !a.is_global());
    }
    assert!(addr("169.254.10.1").is_link_local());
    assert!(addr("fe80::abcd%eth0").is_link_local());
    assert!(addr("fec0::1").is_site_local() && addr("fec0::1").is_global());
    assert!(addr("fd00::1").is_unique_local_unicast() && addr("fd00::1").is_private_use());
    assert!(addr("172.20.0.1").is_private_use() && addr("172.20.0.1").is_global());
    assert!(addr("8.8.8.8").is_global() && !addr("8.8.8.8").is_private_use());
    assert!(!addr("240.0.0.1").is_global());
}

#[test]
fn subnets() {
    let (net, len) = HostAddress::parse_subnet("192.168.1.77/24").unwrap();
    assert_eq!((net.to_string(), len), ("192.168.1.0".to_owned(), 24));
    assert!(addr("192.168.1.200").is_in_subnet(&net, len));
    assert!(!addr("192.168.2.1").is_in_subnet(&net, len));
    // Any address of the network will do, and the length is clamped.
    assert!(addr("192.168.1.200").is_in_subnet(&addr("192.168.1.1"), 24));
    assert!(addr("10.0.0.1").is_in_subnet(&addr("10.0.0.1"), 200));
    // An IPv4 address is never in an IPv6 network, v4-mapped or not.
    assert!(!addr("192.168.1.1").is_in_subnet(&addr("::ffff:192.168.1.0"), 120));
    assert!(!HostAddress::new().is_in_subnet(&HostAddress::new(), 0));

    let (net, len) = HostAddress::parse_subnet("192.168.7.9/255.255.254.0").unwrap();
    assert_eq!((net.to_string(), len), ("192.168.6.0".to_owned(), 23));
    let (net, len) = HostAddress::parse_subnet("10.").unwrap();
    assert_eq!((net.to_string(), len), ("10.0.0.0".to_owned(), 8));
    let (net, len) = HostAddress::parse_subnet("2001:db8:abcd:12::1/48").unwrap();
    assert_eq!((net.to_string(), len), ("2001:db8:abcd::".to_owned(), 48));
    assert!(addr("2001:db8:abcd:ffff::9").is_in_subnet(&net, len));
    assert!(!addr("2001:db8:abce::1").is_in_subnet(&net, len));

    for bad in [
        "",
        "10.0.0.0/33",
        "10.0.0.0/-1",
        "10.0.0.0/255.0.255.0",
        "::/129",
        "::/255.0.0.0",
        "a.b.c.d/8",
        "1.2.3.4.5",
    ] {
        let err = HostAddress::parse_subnet(bad).unwrap_err();
        assert_eq!(err.input(), bad);
    }
}

#[test]
fn v4_mapped_conversions() {
    let mapped = addr("::ffff:192.0.2.1");
    let v4 = addr("192.0.2.1");
    assert_eq!(mapped.protocol(), NetworkLayerProtocol::IPv6);
    assert_eq!(mapped.to_ipv4(), Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(v4.to_ipv4(), Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(
        v4.to_ipv6(),
        "::ffff:192.0.2.1".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(mapped.to_ipv6(), v4.to_ipv6());
    assert_eq!(HostAddress::from(mapped.to_ipv6()), mapped);
    assert_eq!(HostAddress::from(mapped.to_ipv4().unwrap()), v4);

    // Strict == keeps the protocols apart; is_equal converts on request.
    assert_ne!(mapped, v4);
    assert!(mapped.is_equal(&v4, ConversionMode::CONVERT_V4_MAPPED_TO_IPV4));
    assert!(v4.is_equal(&mapped, ConversionMode::TOLERANT_CONVERSION));
    assert!(!v4.is_equal(&mapped, ConversionMode::CONVERT_V4_COMPAT_TO_IPV4));
    assert!(v4.is_equal(
        &addr("::192.0.2.1"),
        ConversionMode::CONVERT_V4_COMPAT_TO_IPV4
    ));
    let loop4 = HostAddress::from(SpecialAddress::LocalHost);
    let loop6 = HostAddress::from(SpecialAddress::LocalHostIPv6);
    assert!(loop4.is_equal(&loop6, ConversionMode::CONVERT_LOCAL_HOST));
    assert!(!loop4.is_equal(&loop6, ConversionMode::STRICT_CONVERSION));
    assert_eq!(
        ConversionMode::CONVERT_V4_MAPPED_TO_IPV4 | ConversionMode::CONVERT_LOCAL_HOST,
        ConversionMode::from_bits(9)
    );

    // ::1 and other plain IPv6 addresses have no IPv4 form.
    for text in ["::1", "::192.0.2.1", "2001:db8::1", "ff02::1"] {
        assert_eq!(addr(text).to_ipv4(), None, "{text}");
    }
    assert_eq!(HostAddress::new().to_ipv4(), None);
    assert_eq!(HostAddress::new().ip(), None);
}

#[test]
fn scope_ids_and_socket_addresses() {
    let mut a = addr("fe80::1%7");
    assert_eq!(a.scope_id(), "7");
    let sock = a.to_socket_addr(443).unwrap();
    assert_eq!(sock, "[fe80::1%7]:443".parse::<SocketAddr>().unwrap());
    assert_eq!(HostAddress::from(sock), a);
    assert_eq!(HostAddress::from(sock).scope_id(), "7");

    // The loopback interface is "lo" on Linux; its index comes from sysfs.
    if let Ok(index) = std::fs::read_to_string("/sys/class/net/lo/ifindex") {
        let lo = addr("fe80::1%lo").to_socket_addr(1).unwrap();
        let SocketAddr::V6(v6) = lo else {
            panic!("not IPv6: {lo}")
        };
        assert_eq!(v6.scope_id(), index.trim().parse::<u32>().unwrap());
    }

    a.set_scope_id("eth1");
    assert_eq!(a.to_string(), "fe80::1%eth1");
    // The scope is not part of equality (Qt compares the 16 bytes only).
    assert_eq!(a, addr("fe80::1%eth9"));
    assert_eq!(a, addr("fe80::1"));
    let mut v4 = addr("10.0.0.1");
    v4.set_scope_id("eth0");
    assert_eq!(v4.scope_id(), "");
    assert_eq!(v4.to_string(), "10.0.0.1");
}

#[test]
fn hashing_agrees_with_equality() {
    let set: HashSet<HostAddress> = [
        "127.0.0.1",
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "::1",
        "fe80::1%a",
        "fe80::1%b",
    ]
    .iter()
    .map(|text| addr(text))
    .chain([
        HostAddress::new(),
        HostAddress::new(),
        HostAddress::from(SpecialAddress::Any),
        HostAddress::from(SpecialAddress::AnyIPv4),
        HostAddress::from(SpecialAddress::AnyIPv6),
    ])
    .collect();
    // 127.0.0.1, ::ffff:127.0.0.1, ::1, fe80::1, null, Any, 0.0.0.0, ::
    assert_eq!(set.len(), 8);
}
