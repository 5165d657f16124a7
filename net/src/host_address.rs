//! `HostAddress` (Qt: `QHostAddress`): an IPv4 or IPv6 address, the null
//! address, or the dual-stack "any" address.
//!
//! The behaviour follows Qt 6's `qhostaddress.cpp`:
//!
//! - parsing is `QHostAddress::setAddress(QString)`: the text is
//!   simplified (outer whitespace trimmed), IPv6 may carry a `%scope`
//!   suffix, and IPv4 accepts the `inet_aton` forms Qt accepts (`"127.1"`,
//!   `"1.2.3"` = `1.2.0.3`, `"0x7f.1"`, a single 32-bit number);
//! - printing is `QHostAddress::toString()`: dotted IPv4; IPv6 compressed
//!   per RFC 5952 in lower case, with `::ffff:a.b.c.d` and `::a.b.c.d`
//!   kept dotted, plus `%scope`; the dual-stack [`SpecialAddress::Any`]
//!   prints `"0.0.0.0"` (Qt documents "For QHostAddress::Any, its IPv4
//!   address will be returned");
//! - `==` is Qt's `operator==`, which is `isEqual(other, StrictConversion)`:
//!   addresses of different protocols never compare equal, and the IPv6
//!   scope id is not compared. [`HostAddress::is_equal`] takes the other
//!   [`ConversionMode`]s.

use std::error::Error;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ops::{BitOr, BitOrAssign};
use std::str::FromStr;

/// The network layer protocol of an address or socket.
///
/// Qt: `QAbstractSocket::NetworkLayerProtocol`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostAddress, NetworkLayerProtocol, SpecialAddress};
///
/// assert_eq!(HostAddress::new().protocol(), NetworkLayerProtocol::Unknown);
/// assert_eq!(
///     HostAddress::from(SpecialAddress::Any).protocol(),
///     NetworkLayerProtocol::AnyIP
/// );
/// assert_eq!(NetworkLayerProtocol::Unknown as i32, -1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NetworkLayerProtocol {
    /// IPv4. Qt: `QAbstractSocket::IPv4Protocol`.
    IPv4 = 0,
    /// IPv6. Qt: `QAbstractSocket::IPv6Protocol`.
    IPv6 = 1,
    /// Either IPv4 or IPv6 (dual stack). Qt: `QAbstractSocket::AnyIPProtocol`.
    AnyIP = 2,
    /// No protocol: the null address. Qt:
    /// `QAbstractSocket::UnknownNetworkLayerProtocol`.
    #[default]
    Unknown = -1,
}

/// The well-known addresses.
///
/// Qt: `QHostAddress::SpecialAddress`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostAddress, SpecialAddress};
///
/// assert_eq!(HostAddress::from(SpecialAddress::LocalHost).to_string(), "127.0.0.1");
/// assert_eq!(HostAddress::from(SpecialAddress::AnyIPv6).to_string(), "::");
/// assert_eq!(SpecialAddress::AnyIPv4 as i32, 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialAddress {
    /// The null address, same as [`HostAddress::new`]. Qt: `QHostAddress::Null`.
    Null = 0,
    /// `255.255.255.255`. Qt: `QHostAddress::Broadcast`.
    Broadcast = 1,
    /// `127.0.0.1`. Qt: `QHostAddress::LocalHost`.
    LocalHost = 2,
    /// `::1`. Qt: `QHostAddress::LocalHostIPv6`.
    LocalHostIPv6 = 3,
    /// The dual-stack any-address: a socket bound to it listens on IPv4
    /// and IPv6. Its protocol is [`NetworkLayerProtocol::AnyIP`] and it
    /// prints as `"0.0.0.0"`. Qt: `QHostAddress::Any`.
    Any = 4,
    /// `::`, IPv6 only. Qt: `QHostAddress::AnyIPv6`.
    AnyIPv6 = 5,
    /// `0.0.0.0`, IPv4 only. Qt: `QHostAddress::AnyIPv4`.
    AnyIPv4 = 6,
}

/// Which conversions between IPv4 and IPv6 forms
/// [`HostAddress::is_equal`] performs. Combine with `|`; the bit values
/// are Qt's.
///
/// The [`Default`] is [`TOLERANT_CONVERSION`](Self::TOLERANT_CONVERSION),
/// the default argument of Qt's `isEqual`. `==` on [`HostAddress`] is
/// always [`STRICT_CONVERSION`](Self::STRICT_CONVERSION).
///
/// Qt: `QHostAddress::ConversionMode` / `ConversionModeFlag`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{ConversionMode, HostAddress};
///
/// let v4: HostAddress = "192.168.1.1".parse().unwrap();
/// let mapped: HostAddress = "::ffff:192.168.1.1".parse().unwrap();
/// assert_ne!(v4, mapped);
/// assert!(v4.is_equal(&mapped, ConversionMode::CONVERT_V4_MAPPED_TO_IPV4));
/// assert_eq!(ConversionMode::default(), ConversionMode::TOLERANT_CONVERSION);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversionMode(u32);

impl ConversionMode {
    /// No conversion: addresses of different protocols always differ.
    /// Qt: `QHostAddress::StrictConversion` (0).
    pub const STRICT_CONVERSION: Self = ConversionMode(0);
    /// `::ffff:a.b.c.d` equals `a.b.c.d` (RFC 4291 §2.5.5.2).
    /// Qt: `QHostAddress::ConvertV4MappedToIPv4` (1).
    pub const CONVERT_V4_MAPPED_TO_IPV4: Self = ConversionMode(1);
    /// `::a.b.c.d` equals `a.b.c.d` (RFC 4291 §2.5.5.1).
    /// Qt: `QHostAddress::ConvertV4CompatToIPv4` (2).
    pub const CONVERT_V4_COMPAT_TO_IPV4: Self = ConversionMode(2);
    /// `0.0.0.0`, `::` and [`SpecialAddress::Any`] are all equal.
    /// Qt: `QHostAddress::ConvertUnspecifiedAddress` (4).
    pub const CONVERT_UNSPECIFIED_ADDRESS: Self = ConversionMode(4);
    /// `::1` equals `127.0.0.1`. Qt: `QHostAddress::ConvertLocalHost` (8).
    pub const CONVERT_LOCAL_HOST: Self = ConversionMode(8);
    /// Every conversion. Qt: `QHostAddress::TolerantConversion` (0xff).
    pub const TOLERANT_CONVERSION: Self = ConversionMode(0xff);

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ConversionMode;
    /// assert_eq!(ConversionMode::CONVERT_LOCAL_HOST.bits(), 8);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The mode with exactly these bits (unknown bits are kept and
    /// ignored, as in Qt).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ConversionMode;
    /// assert_eq!(ConversionMode::from_bits(0xff), ConversionMode::TOLERANT_CONVERSION);
    /// ```
    pub const fn from_bits(bits: u32) -> Self {
        ConversionMode(bits)
    }

    /// Whether every bit of `other` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ConversionMode as M;
    /// assert!(M::TOLERANT_CONVERSION.contains(M::CONVERT_LOCAL_HOST));
    /// assert!(!M::STRICT_CONVERSION.contains(M::CONVERT_LOCAL_HOST));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for ConversionMode {
    fn default() -> Self {
        ConversionMode::TOLERANT_CONVERSION
    }
}

impl BitOr for ConversionMode {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        ConversionMode(self.0 | rhs.0)
    }
}

impl BitOrAssign for ConversionMode {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// The error of parsing a [`HostAddress`] or a subnet from text.
///
/// Qt reports these as `setAddress()` returning `false` and
/// `parseSubnet()` returning `(QHostAddress(), -1)`.
///
/// # Examples
///
/// ```
/// use sigloop_net::HostAddress;
///
/// let err = "256.1.1.1".parse::<HostAddress>().unwrap_err();
/// assert_eq!(err.input(), "256.1.1.1");
/// assert_eq!(err.to_string(), "invalid IP address: \"256.1.1.1\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressParseError {
    input: String,
    subnet: bool,
}

impl AddressParseError {
    fn address(input: &str) -> Self {
        AddressParseError {
            input: input.to_owned(),
            subnet: false,
        }
    }

    fn subnet(input: &str) -> Self {
        AddressParseError {
            input: input.to_owned(),
            subnet: true,
        }
    }

    /// The text that failed to parse.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = sigloop_net::HostAddress::parse_subnet("10.0.0.0/33").unwrap_err();
    /// assert_eq!(err.input(), "10.0.0.0/33");
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for AddressParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.subnet { "subnet" } else { "IP address" };
        write!(f, "invalid {what}: {:?}", self.input)
    }
}

impl Error for AddressParseError {}

/// The address proper; the scope id lives beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Repr {
    #[default]
    Null,
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    /// Qt's `AnyIPProtocol` address: no bytes, both families.
    Any,
}

/// Qt's `AddressClassification` (qhostaddress_p.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Unknown,
    Loopback,
    LocalNet,
    Multicast,
    LinkLocal,
    Broadcast,
    Global,
    PrivateNetwork,
    UniqueLocal,
    SiteLocal,
}

impl Class {
    /// Qt: the `GlobalAddress` bit.
    fn is_global(self) -> bool {
        matches!(
            self,
            Class::Global | Class::PrivateNetwork | Class::UniqueLocal | Class::SiteLocal
        )
    }
}

/// An IP address: IPv4, IPv6 (with an optional scope id), the dual-stack
/// any-address, or null.
///
/// A `HostAddress` is a plain value: it never does DNS (see
/// [`HostInfo`](crate::HostInfo) for that). The default is the null
/// address.
///
/// `==` follows Qt's `operator==` (strict): an IPv4 address never equals
/// an IPv6 one, not even its v4-mapped form, and the scope id is ignored,
/// so `fe80::1%eth0 == fe80::1`. [`Hash`] agrees with `==`. Use
/// [`is_equal`](Self::is_equal) for Qt's tolerant comparisons.
///
/// Qt: `QHostAddress`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostAddress, NetworkLayerProtocol, SpecialAddress};
///
/// let addr: HostAddress = "::FFFF:1.2.3.4".parse().unwrap();
/// assert_eq!(addr.protocol(), NetworkLayerProtocol::IPv6);
/// assert_eq!(addr.to_string(), "::ffff:1.2.3.4");
/// assert_eq!(addr.to_ipv4(), Some("1.2.3.4".parse().unwrap()));
///
/// let local = HostAddress::from(SpecialAddress::LocalHost);
/// assert!(local.is_loopback());
/// assert!(local == SpecialAddress::LocalHost);
/// ```
#[derive(Clone, Default)]
pub struct HostAddress {
    repr: Repr,
    /// Only ever non-empty for IPv6 addresses.
    scope_id: String,
}

impl HostAddress {
    /// The null address: protocol [`NetworkLayerProtocol::Unknown`],
    /// printed as `""`.
    ///
    /// Qt: `QHostAddress::QHostAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr = sigloop_net::HostAddress::new();
    /// assert!(addr.is_null());
    /// assert_eq!(addr.to_string(), "");
    /// ```
    pub fn new() -> Self {
        HostAddress::default()
    }

    fn from_repr(repr: Repr) -> Self {
        HostAddress {
            repr,
            scope_id: String::new(),
        }
    }

    /// Parses `text` as Qt's `setAddress` does and stores it; on failure
    /// the address becomes null.
    ///
    /// Qt: `QHostAddress::setAddress(const QString &)`.
    ///
    /// # Errors
    ///
    /// [`AddressParseError`] if `text` is not an IPv4 or IPv6 literal.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut addr = sigloop_net::HostAddress::new();
    /// addr.set_address(" 10.0.0.1 ").unwrap();
    /// assert_eq!(addr.to_string(), "10.0.0.1");
    /// assert!(addr.set_address("example.com").is_err());
    /// assert!(addr.is_null());
    /// ```
    pub fn set_address(&mut self, text: &str) -> Result<(), AddressParseError> {
        match text.parse() {
            Ok(addr) => {
                *self = addr;
                Ok(())
            }
            Err(err) => {
                self.clear();
                Err(err)
            }
        }
    }

    /// Makes this the null address.
    ///
    /// Qt: `QHostAddress::clear()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut addr = sigloop_net::HostAddress::from(std::net::Ipv4Addr::LOCALHOST);
    /// addr.clear();
    /// assert!(addr.is_null());
    /// ```
    pub fn clear(&mut self) {
        *self = HostAddress::new();
    }

    /// The address family.
    ///
    /// Qt: `QHostAddress::protocol()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, NetworkLayerProtocol};
    /// let addr: HostAddress = "::1".parse().unwrap();
    /// assert_eq!(addr.protocol(), NetworkLayerProtocol::IPv6);
    /// ```
    pub fn protocol(&self) -> NetworkLayerProtocol {
        match self.repr {
            Repr::Null => NetworkLayerProtocol::Unknown,
            Repr::V4(_) => NetworkLayerProtocol::IPv4,
            Repr::V6(_) => NetworkLayerProtocol::IPv6,
            Repr::Any => NetworkLayerProtocol::AnyIP,
        }
    }

    /// Whether this is the null address (not valid for any host or
    /// interface).
    ///
    /// Qt: `QHostAddress::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress};
    /// assert!(HostAddress::new().is_null());
    /// assert!(!HostAddress::from(SpecialAddress::AnyIPv4).is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        self.repr == Repr::Null
    }

    /// The IPv4 address, if there is one: an IPv4 address, a v4-mapped
    /// IPv6 address (`::ffff:a.b.c.d`), or an unspecified address (`::`
    /// and [`SpecialAddress::Any`] give `0.0.0.0`). `None` for other IPv6
    /// addresses, `::1` included, and for null.
    ///
    /// Qt: `QHostAddress::toIPv4Address(bool *ok)`; `None` is `ok == false`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use sigloop_net::HostAddress;
    ///
    /// let mapped: HostAddress = "::ffff:127.0.0.1".parse().unwrap();
    /// assert_eq!(mapped.to_ipv4(), Some(Ipv4Addr::LOCALHOST));
    /// let v6: HostAddress = "::1".parse().unwrap();
    /// assert_eq!(v6.to_ipv4(), None);
    /// ```
    pub fn to_ipv4(&self) -> Option<Ipv4Addr> {
        match self.repr {
            Repr::Null => None,
            Repr::V4(ip) => Some(ip),
            Repr::Any => Some(Ipv4Addr::UNSPECIFIED),
            Repr::V6(ip) => convert_to_ipv4(
                &ip,
                ConversionMode::CONVERT_V4_MAPPED_TO_IPV4
                    | ConversionMode::CONVERT_UNSPECIFIED_ADDRESS,
            )
            .map(Ipv4Addr::from),
        }
    }

    /// The address as 16 IPv6 bytes: IPv6 addresses as they are, IPv4
    /// addresses v4-mapped (`::ffff:a.b.c.d`) — except `0.0.0.0`, which
    /// becomes `::` as in Qt — and `::` for null and
    /// [`SpecialAddress::Any`].
    ///
    /// Qt: `QHostAddress::toIPv6Address()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// use sigloop_net::HostAddress;
    ///
    /// let v4: HostAddress = "192.0.2.1".parse().unwrap();
    /// assert_eq!(v4.to_ipv6(), "::ffff:192.0.2.1".parse::<Ipv6Addr>().unwrap());
    /// ```
    pub fn to_ipv6(&self) -> Ipv6Addr {
        match self.repr {
            Repr::V4(ip) if !ip.is_unspecified() => ip.to_ipv6_mapped(),
            Repr::V6(ip) => ip,
            _ => Ipv6Addr::UNSPECIFIED,
        }
    }

    /// The address as a standard library [`IpAddr`]: `None` for null, and
    /// `::` for the dual-stack [`SpecialAddress::Any`] (an IPv6 socket
    /// without `IPV6_V6ONLY` is how dual stack is done). The scope id is
    /// dropped; see [`to_socket_addr`](Self::to_socket_addr).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv6Addr};
    /// use sigloop_net::{HostAddress, SpecialAddress};
    ///
    /// assert_eq!(HostAddress::new().ip(), None);
    /// assert_eq!(
    ///     HostAddress::from(SpecialAddress::Any).ip(),
    ///     Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
    /// );
    /// ```
    pub fn ip(&self) -> Option<IpAddr> {
        match self.repr {
            Repr::Null => None,
            Repr::V4(ip) => Some(IpAddr::V4(ip)),
            Repr::V6(ip) => Some(IpAddr::V6(ip)),
            Repr::Any => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        }
    }

    /// The socket address for `port`, as [`ip`](Self::ip) maps the address
    /// (`None` for null). An IPv6 scope id is turned into an interface
    /// index: a number is used as is, an interface name is looked up in
    /// `/sys/class/net/<name>/ifindex`; an unknown name gives index 0.
    ///
    /// Qt: what the socket engines do with `QHostAddress` and
    /// `QNetworkInterface::interfaceIndexFromName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    ///
    /// let addr: HostAddress = "127.0.0.1".parse().unwrap();
    /// assert_eq!(addr.to_socket_addr(80), Some("127.0.0.1:80".parse().unwrap()));
    /// let scoped: HostAddress = "fe80::1%7".parse().unwrap();
    /// assert_eq!(scoped.to_socket_addr(1).unwrap().to_string(), "[fe80::1%7]:1");
    /// ```
    pub fn to_socket_addr(&self, port: u16) -> Option<SocketAddr> {
        match self.repr {
            Repr::Null => None,
            Repr::V4(ip) => Some(SocketAddr::V4(SocketAddrV4::new(ip, port))),
            Repr::V6(ip) => Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                port,
                0,
                scope_index(&self.scope_id),
            ))),
            Repr::Any => Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::UNSPECIFIED,
                port,
                0,
                0,
            ))),
        }
    }

    /// The IPv6 scope id (an interface name such as `"eth0"` or an index
    /// such as `"2"`); empty for other protocols or when none is set.
    ///
    /// Qt: `QHostAddress::scopeId()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let addr: sigloop_net::HostAddress = "fe80::1%lo".parse().unwrap();
    /// assert_eq!(addr.scope_id(), "lo");
    /// ```
    pub fn scope_id(&self) -> &str {
        &self.scope_id
    }

    /// Sets the IPv6 scope id; does nothing unless the address is IPv6.
    ///
    /// Qt: `QHostAddress::setScopeId()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut addr: sigloop_net::HostAddress = "fe80::2e0:4cff:fefb:662a".parse().unwrap();
    /// addr.set_scope_id("en0");
    /// assert_eq!(addr.to_string(), "fe80::2e0:4cff:fefb:662a%en0");
    ///
    /// let mut v4: sigloop_net::HostAddress = "10.0.0.1".parse().unwrap();
    /// v4.set_scope_id("eth0");
    /// assert_eq!(v4.scope_id(), "");
    /// ```
    pub fn set_scope_id(&mut self, id: impl Into<String>) {
        if let Repr::V6(_) = self.repr {
            self.scope_id = id.into();
        }
    }

    /// Compares with `other`, converting between IPv4 and IPv6 forms as
    /// `mode` allows. `==` is `is_equal(other, STRICT_CONVERSION)`. The
    /// scope id is never compared.
    ///
    /// Qt: `QHostAddress::isEqual()` (whose default mode is
    /// `TolerantConversion`, here [`ConversionMode::default`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{ConversionMode as M, HostAddress, SpecialAddress};
    ///
    /// let v4 = HostAddress::from(SpecialAddress::LocalHost);
    /// let v6 = HostAddress::from(SpecialAddress::LocalHostIPv6);
    /// assert!(!v4.is_equal(&v6, M::STRICT_CONVERSION));
    /// assert!(v4.is_equal(&v6, M::CONVERT_LOCAL_HOST));
    /// let any = HostAddress::from(SpecialAddress::Any);
    /// assert!(any.is_equal(&HostAddress::from(SpecialAddress::AnyIPv4), M::default()));
    /// ```
    pub fn is_equal(&self, other: &HostAddress, mode: ConversionMode) -> bool {
        repr_equal(self.repr, other.repr, mode)
    }

    /// Qt's `d->a`: the IPv4 value, or the v4-mapped one of an IPv6
    /// address; 0 otherwise.
    fn ipv4_bits(&self) -> u32 {
        match self.repr {
            Repr::V4(ip) => u32::from(ip),
            Repr::V6(ip) => ip.to_ipv4_mapped().map(u32::from).unwrap_or(0),
            Repr::Null | Repr::Any => 0,
        }
    }

    /// Qt: `QHostAddressPrivate::classify()`.
    fn classify(&self) -> Class {
        let a = self.ipv4_bits();
        if a != 0 {
            // IPv4, or IPv6 v4-mapped (RFC 5735).
            return if a & 0xff00_0000 == 0x7f00_0000 {
                Class::Loopback
            } else if a & 0xf000_0000 == 0xe000_0000 {
                Class::Multicast
            } else if a & 0xffff_0000 == 0xa9fe_0000 {
                Class::LinkLocal
            } else if a & 0xff00_0000 == 0 {
                Class::LocalNet
            } else if a & 0xf000_0000 == 0xf000_0000 {
                if a == 0xffff_ffff {
                    Class::Broadcast
                } else {
                    Class::Unknown
                }
            } else if a & 0xff00_0000 == 0x0a00_0000
                || a & 0xfff0_0000 == 0xac10_0000
                || a & 0xffff_0000 == 0xc0a8_0000
            {
                Class::PrivateNetwork
            } else {
                Class::Global
            };
        }
        // `a` is zero: ::ffff:0.0.0.0 or a non-v4-mapped IPv6 address (IANA
        // IPv6 address space), or 0.0.0.0, Any, null.
        let bits = u128::from(self.to_ipv6());
        let high = (bits >> 64) as u64;
        if high != 0 {
            let high16 = (high >> 48) as u16;
            return match high16 >> 8 {
                0xff => Class::Multicast,
                0xfe => match high16 & 0xffc0 {
                    0xfec0 => Class::SiteLocal,
                    0xfe80 => Class::LinkLocal,
                    _ => Class::Unknown,
                },
                0xfc | 0xfd => Class::UniqueLocal,
                _ => Class::Global,
            };
        }
        let low = bits as u64;
        if low == 1 {
            Class::Loopback
        } else if low >> 32 == 0xffff {
            Class::LocalNet
        } else if low != 0 {
            Class::Global
        } else if self.is_null() {
            Class::Unknown
        } else {
            // Only :: and 0.0.0.0 (and Any) remain.
            Class::LocalNet
        }
    }

    /// Whether this is a loopback address: `127.0.0.0/8`, `::1`, or a
    /// v4-mapped `::ffff:127.x.y.z`.
    ///
    /// Qt: `QHostAddress::isLoopback()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// for text in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"] {
    ///     assert!(text.parse::<HostAddress>().unwrap().is_loopback(), "{text}");
    /// }
    /// assert!(!"::2".parse::<HostAddress>().unwrap().is_loopback());
    /// ```
    pub fn is_loopback(&self) -> bool {
        self.classify() == Class::Loopback
    }

    /// Whether this is a global address: not reserved for a special
    /// purpose (loopback, multicast, link-local, broadcast, unspecified)
    /// or the future. RFC 1918 private IPv4 networks, IPv6 unique-local
    /// (`fc00::/7`) and deprecated site-local (`fec0::/10`) addresses count
    /// as global, as in Qt.
    ///
    /// Qt: `QHostAddress::isGlobal()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// assert!("1.2.3.4".parse::<HostAddress>().unwrap().is_global());
    /// assert!("10.0.0.4".parse::<HostAddress>().unwrap().is_global());
    /// assert!(!"127.0.0.1".parse::<HostAddress>().unwrap().is_global());
    /// assert!(!"fe80::1".parse::<HostAddress>().unwrap().is_global());
    /// ```
    pub fn is_global(&self) -> bool {
        self.classify().is_global()
    }

    /// Whether this is a link-local address: `169.254.0.0/16` or
    /// `fe80::/10`.
    ///
    /// Qt: `QHostAddress::isLinkLocal()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// assert!("169.254.1.2".parse::<HostAddress>().unwrap().is_link_local());
    /// assert!("fe80::1%eth0".parse::<HostAddress>().unwrap().is_link_local());
    /// ```
    pub fn is_link_local(&self) -> bool {
        self.classify() == Class::LinkLocal
    }

    /// Whether this is a (deprecated) IPv6 site-local address,
    /// `fec0::/10`.
    ///
    /// Qt: `QHostAddress::isSiteLocal()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// assert!("fec0::1".parse::<HostAddress>().unwrap().is_site_local());
    /// ```
    pub fn is_site_local(&self) -> bool {
        self.classify() == Class::SiteLocal
    }

    /// Whether this is an IPv6 unique local unicast address, `fc00::/7`.
    ///
    /// Qt: `QHostAddress::isUniqueLocalUnicast()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// assert!("fd12::1".parse::<HostAddress>().unwrap().is_unique_local_unicast());
    /// ```
    pub fn is_unique_local_unicast(&self) -> bool {
        self.classify() == Class::UniqueLocal
    }

    /// Whether this is a multicast address: `224.0.0.0/4` (also
    /// v4-mapped) or `ff00::/8`.
    ///
    /// Qt: `QHostAddress::isMulticast()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// assert!("239.255.255.250".parse::<HostAddress>().unwrap().is_multicast());
    /// assert!("ff02::1".parse::<HostAddress>().unwrap().is_multicast());
    /// ```
    pub fn is_multicast(&self) -> bool {
        self.classify() == Class::Multicast
    }

    /// Whether this is the IPv4 broadcast address `255.255.255.255` (not a
    /// network's directed broadcast address).
    ///
    /// Qt: `QHostAddress::isBroadcast()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, SpecialAddress};
    /// assert!(HostAddress::from(SpecialAddress::Broadcast).is_broadcast());
    /// assert!(!"192.168.1.255".parse::<HostAddress>().unwrap().is_broadcast());
    /// ```
    pub fn is_broadcast(&self) -> bool {
        self.classify() == Class::Broadcast
    }

    /// Whether this is a private-use address: RFC 1918 IPv4
    /// (`10/8`, `172.16/12`, `192.168/16`) or IPv6 unique local
    /// (`fc00::/7`).
    ///
    /// Qt: `QHostAddress::isPrivateUse()` (Qt 6.6).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    /// assert!("192.168.3.4".parse::<HostAddress>().unwrap().is_private_use());
    /// assert!("fc00::1".parse::<HostAddress>().unwrap().is_private_use());
    /// assert!(!"8.8.8.8".parse::<HostAddress>().unwrap().is_private_use());
    /// ```
    pub fn is_private_use(&self) -> bool {
        matches!(self.classify(), Class::PrivateNetwork | Class::UniqueLocal)
    }

    /// Whether this address lies in the network `subnet/prefix_len`.
    /// `subnet` may be any address of that network. Both must have the
    /// same protocol (IPv4 or IPv6; an IPv4 address is not in a v4-mapped
    /// IPv6 network); a `prefix_len` above 32 (IPv4) or 128 (IPv6) counts
    /// as the maximum.
    ///
    /// Qt: `QHostAddress::isInSubnet()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    ///
    /// let addr: HostAddress = "10.0.1.255".parse().unwrap();
    /// assert!(addr.is_in_subnet(&"10.0.0.0".parse().unwrap(), 15));
    /// assert!(!addr.is_in_subnet(&"10.0.0.0".parse().unwrap(), 24));
    ///
    /// let (net, len) = HostAddress::parse_subnet("2001:db8::/32").unwrap();
    /// assert!("2001:db8::1".parse::<HostAddress>().unwrap().is_in_subnet(&net, len));
    /// ```
    pub fn is_in_subnet(&self, subnet: &HostAddress, prefix_len: u8) -> bool {
        match (self.repr, subnet.repr) {
            (Repr::V4(ip), Repr::V4(net)) => {
                let len = u32::from(prefix_len.min(32));
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net) & mask
            }
            (Repr::V6(ip), Repr::V6(net)) => {
                let len = u32::from(prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        }
    }

    /// Parses a network written as `address/prefix` and returns its
    /// network address (host bits cleared) and prefix length.
    ///
    /// Accepted forms, as in Qt:
    ///
    /// - `a.b.c.d/n` with `n` in 0..=32, or `a.b.c.d/255.255.255.0`
    ///   (a contiguous netmask);
    /// - IPv4 with missing trailing parts, with or without a trailing dot
    ///   and prefix: `"10"`, `"172.16."`, `"192.168.0"` (the prefix is then
    ///   8 bits per part given);
    /// - `ipv6/n` with `n` in 0..=128; without `/n` the prefix is 128.
    ///
    /// Qt: `QHostAddress::parseSubnet()`.
    ///
    /// # Errors
    ///
    /// [`AddressParseError`] for anything else (Qt returns
    /// `(QHostAddress(), -1)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::HostAddress;
    ///
    /// let (net, len) = HostAddress::parse_subnet("192.168.7.9/255.255.0.0").unwrap();
    /// assert_eq!((net.to_string().as_str(), len), ("192.168.0.0", 16));
    /// let (net, len) = HostAddress::parse_subnet("172.16").unwrap();
    /// assert_eq!((net.to_string().as_str(), len), ("172.16.0.0", 16));
    /// assert!(HostAddress::parse_subnet("1.2.3.4/33").is_err());
    /// ```
    pub fn parse_subnet(subnet: &str) -> Result<(HostAddress, u8), AddressParseError> {
        let invalid = || AddressParseError::subnet(subnet);
        if subnet.is_empty() {
            return Err(invalid());
        }
        let (net_str, mask_str) = match subnet.split_once('/') {
            Some((net, mask)) => (net, Some(mask)),
            None => (subnet, None),
        };
        let is_ipv6 = net_str.contains(':');

        let mut netmask: Option<u32> = None;
        if let Some(mask_str) = mask_str {
            if !is_ipv6 && mask_str.contains('.') {
                // An IP-style netmask: convert it to a bit count.
                let mask: HostAddress = mask_str.parse().map_err(|_| invalid())?;
                netmask = Some(netmask_prefix(&mask).ok_or_else(invalid)?);
            } else {
                netmask = Some(parse_decimal(mask_str).ok_or_else(invalid)?);
            }
        }

        if is_ipv6 {
            let len = netmask.unwrap_or(128);
            if len > 128 {
                return Err(invalid());
            }
            let mut net: HostAddress = net_str.parse().map_err(|_| invalid())?;
            let Repr::V6(ip) = net.repr else {
                return Err(invalid());
            };
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            net.repr = Repr::V6(Ipv6Addr::from(u128::from(ip) & mask));
            return Ok((net, len as u8));
        }

        if netmask.is_some_and(|len| len > 32) {
            return Err(invalid());
        }
        // Parse the IPv4 address by hand: trailing parts may be missing.
        let mut parts: Vec<&str> = net_str.split('.').collect();
        if parts.len() > 4 {
            return Err(invalid());
        }
        if parts.len() > 1 && parts.last().is_some_and(|last| last.is_empty()) {
            parts.pop();
        }
        let mut addr: u32 = 0;
        for part in &parts {
            let byte = parse_decimal(part)
                .filter(|&byte| byte <= 255)
                .ok_or_else(invalid)?;
            addr = (addr << 8) | byte;
        }
        let given = parts.len() as u32;
        addr = addr.checked_shl(8 * (4 - given)).unwrap_or(0);
        let len = netmask.unwrap_or(8 * given);
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        Ok((HostAddress::from(Ipv4Addr::from(addr & mask)), len as u8))
    }
}

/// Qt's `QHostAddress::isEqual` on the address proper (scope ids are
/// never compared).
fn repr_equal(a: Repr, b: Repr, mode: ConversionMode) -> bool {
    let unspecified = mode.contains(ConversionMode::CONVERT_UNSPECIFIED_ADDRESS);
    match (a, b) {
        (Repr::V4(a), Repr::V4(b)) => a == b,
        (Repr::V6(a), Repr::V6(b)) => a == b,
        (Repr::V4(a), Repr::V6(b)) | (Repr::V6(b), Repr::V4(a)) => {
            convert_to_ipv4(&b, mode) == Some(u32::from(a))
        }
        (Repr::V4(a), Repr::Any) | (Repr::Any, Repr::V4(a)) => unspecified && a.is_unspecified(),
        (Repr::V6(a), Repr::Any) | (Repr::Any, Repr::V6(a)) => unspecified && a.is_unspecified(),
        (Repr::Any, Repr::Any) | (Repr::Null, Repr::Null) => true,
        _ => false,
    }
}

/// Qt's static `convertToIpv4`: the IPv4 value an IPv6 address stands for
/// under `mode`.
fn convert_to_ipv4(ip: &Ipv6Addr, mode: ConversionMode) -> Option<u32> {
    if mode == ConversionMode::STRICT_CONVERSION {
        return None;
    }
    let bits = u128::from(*ip);
    if bits >> 64 != 0 {
        return None;
    }
    let mid = (bits >> 32) as u32;
    let low = bits as u32;
    if mid == 0xffff && mode.contains(ConversionMode::CONVERT_V4_MAPPED_TO_IPV4) {
        return Some(low);
    }
    if mid != 0 {
        return None;
    }
    if low == 0 && mode.contains(ConversionMode::CONVERT_UNSPECIFIED_ADDRESS) {
        return Some(0);
    }
    if low == 1 && mode.contains(ConversionMode::CONVERT_LOCAL_HOST) {
        return Some(u32::from(Ipv4Addr::LOCALHOST));
    }
    if low != 1 && mode.contains(ConversionMode::CONVERT_V4_COMPAT_TO_IPV4) {
        return Some(low);
    }
    None
}

/// Qt's `QNetmask::setAddress`: the prefix length of a contiguous netmask.
fn netmask_prefix(mask: &HostAddress) -> Option<u32> {
    match mask.repr {
        Repr::V4(ip) => {
            let bits = u32::from(ip);
            let ones = bits.leading_ones();
            (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
        }
        Repr::V6(ip) => {
            let bits = u128::from(ip);
            let ones = bits.leading_ones();
            (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones)
        }
        Repr::Null | Repr::Any => None,
    }
}

/// A non-empty run of ASCII digits that fits in a `u32`.
fn parse_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// One part of an `inet_aton`-style IPv4 address: decimal, `0x` hex or
/// `0` octal (Qt's `qstrntoull(..., base 0)`).
fn parse_ipv4_part(part: &str) -> Option<u64> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Qt's `QIPAddressUtils::parseIp4` (leading zeros accepted, as octal):
/// one to four parts, the last one filling the remaining bytes.
fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let (last, head) = parts.split_last()?;
    let mut addr: u32 = 0;
    for part in head {
        let value = parse_ipv4_part(part).filter(|&v| v <= 0xff)?;
        addr = (addr << 8) | value as u32;
    }
    let last_bits = 32 - 8 * head.len() as u32;
    let value = parse_ipv4_part(last).filter(|&v| v < 1u64 << last_bits)?;
    addr = addr.checked_shl(last_bits).unwrap_or(0) | value as u32;
    Some(Ipv4Addr::from(addr))
}

/// The interface index a scope id names: a number, or an interface name
/// looked up in sysfs; 0 when unknown.
fn scope_index(scope: &str) -> u32 {
    if scope.is_empty() {
        return 0;
    }
    if let Ok(index) = scope.parse::<u32>() {
        return index;
    }
    if scope.contains('/') || scope == "." || scope == ".." || scope.contains('\0') {
        return 0;
    }
    std::fs::read_to_string(format!("/sys/class/net/{scope}/ifindex"))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

impl FromStr for HostAddress {
    type Err = AddressParseError;

    /// Parses an IPv4 or IPv6 literal as Qt's `setAddress` does:
    /// surrounding whitespace is ignored; IPv6 may end in `%scope`; IPv4
    /// accepts the `inet_aton` forms (`"127.1"` is `127.0.0.1`).
    ///
    /// Qt: `QHostAddress::QHostAddress(const QString &)`,
    /// `QHostAddress::setAddress(const QString &)`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // QString::simplified(): trim, and fold inner whitespace runs.
        let simplified = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let invalid = || AddressParseError::address(text);
        if simplified.is_empty() {
            return Err(invalid());
        }
        // All IPv6 addresses contain a ':'.
        if simplified.contains(':') {
            let (addr, scope) = match simplified.rsplit_once('%') {
                Some((addr, scope)) => (addr, scope),
                None => (simplified.as_str(), ""),
            };
            if let Ok(ip) = addr.parse::<Ipv6Addr>() {
                let mut out = HostAddress::from(ip);
                out.scope_id = scope.to_owned();
                return Ok(out);
            }
            return Err(invalid());
        }
        parse_ipv4(&simplified)
            .map(HostAddress::from)
            .ok_or_else(invalid)
    }
}

impl SpecialAddress {
    fn repr(self) -> Repr {
        match self {
            SpecialAddress::Null => Repr::Null,
            SpecialAddress::Broadcast => Repr::V4(Ipv4Addr::BROADCAST),
            SpecialAddress::LocalHost => Repr::V4(Ipv4Addr::LOCALHOST),
            SpecialAddress::LocalHostIPv6 => Repr::V6(Ipv6Addr::LOCALHOST),
            SpecialAddress::Any => Repr::Any,
            SpecialAddress::AnyIPv6 => Repr::V6(Ipv6Addr::UNSPECIFIED),
            SpecialAddress::AnyIPv4 => Repr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }
}

impl From<SpecialAddress> for HostAddress {
    /// Qt: `QHostAddress::QHostAddress(SpecialAddress)`.
    fn from(special: SpecialAddress) -> Self {
        HostAddress::from_repr(special.repr())
    }
}

impl From<Ipv4Addr> for HostAddress {
    /// Qt: `QHostAddress::QHostAddress(quint32)`.
    fn from(ip: Ipv4Addr) -> Self {
        HostAddress::from_repr(Repr::V4(ip))
    }
}

impl From<Ipv6Addr> for HostAddress {
    /// Qt: `QHostAddress::QHostAddress(const Q_IPV6ADDR &)`. The address
    /// stays IPv6, v4-mapped ones included.
    fn from(ip: Ipv6Addr) -> Self {
        HostAddress::from_repr(Repr::V6(ip))
    }
}

impl From<IpAddr> for HostAddress {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(ip) => ip.into(),
            IpAddr::V6(ip) => ip.into(),
        }
    }
}

impl From<SocketAddr> for HostAddress {
    /// The address part of a socket address; a non-zero IPv6 scope id
    /// becomes the decimal scope id, as Qt's socket engines do.
    ///
    /// Qt: `QHostAddress::QHostAddress(const sockaddr *)` plus
    /// `setScopeId()`.
    fn from(addr: SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(addr) => HostAddress::from(*addr.ip()),
            SocketAddr::V6(addr) => {
                let mut out = HostAddress::from(*addr.ip());
                if addr.scope_id() != 0 {
                    out.scope_id = addr.scope_id().to_string();
                }
                out
            }
        }
    }
}

impl PartialEq for HostAddress {
    /// Qt: `QHostAddress::operator==`, i.e. `isEqual(other,
    /// StrictConversion)`.
    fn eq(&self, other: &Self) -> bool {
        self.is_equal(other, ConversionMode::STRICT_CONVERSION)
    }
}

impl Eq for HostAddress {}

impl Hash for HostAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self.repr {
            Repr::Null => state.write_u8(0),
            Repr::V4(ip) => {
                state.write_u8(4);
                state.write(&ip.octets());
            }
            Repr::V6(ip) => {
                state.write_u8(6);
                state.write(&ip.octets());
            }
            Repr::Any => state.write_u8(2),
        }
    }
}

impl PartialEq<SpecialAddress> for HostAddress {
    /// Qt: `QHostAddress::operator==(SpecialAddress)`.
    fn eq(&self, other: &SpecialAddress) -> bool {
        repr_equal(self.repr, other.repr(), ConversionMode::STRICT_CONVERSION)
    }
}

impl PartialEq<HostAddress> for SpecialAddress {
    /// Qt: `operator==(QHostAddress::SpecialAddress, const QHostAddress &)`.
    fn eq(&self, other: &HostAddress) -> bool {
        other == self
    }
}

/// Qt's `QIPAddressUtils::toString` for IPv6: RFC 5952, and dotted for
/// `::ffff:a.b.c.d` and `::a.b.c.d` (except `::`, `::1`-like `::0.0.0.x`).
fn fmt_ipv6(ip: &Ipv6Addr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let b = ip.octets();
    if b[..10].iter().all(|&x| x == 0) {
        let v4 = || Ipv4Addr::new(b[12], b[13], b[14], b[15]);
        if b[10] == 0xff && b[11] == 0xff {
            return write!(f, "::ffff:{}", v4());
        }
        if b[10] == 0 && b[11] == 0 {
            if b[12] != 0 || b[13] != 0 || b[14] != 0 {
                return write!(f, "::{}", v4());
            }
            if b[15] == 0 {
                return f.write_str("::");
            }
        }
    }
    let words = ip.segments();
    // The first longest run of two or more zero words.
    let (mut best_at, mut best_len) = (0, 0);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_at = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_len = 0;
    }
    let mut i = 0;
    while i < 8 {
        if best_len > 0 && i == best_at {
            f.write_str(if i == 0 { "::" } else { ":" })?;
            i += best_len;
            continue;
        }
        write!(f, "{:x}", words[i])?;
        if i < 7 {
            f.write_str(":")?;
        }
        i += 1;
    }
    Ok(())
}

impl fmt::Display for HostAddress {
    /// Qt: `QHostAddress::toString()`: `""` for null, `"0.0.0.0"` for
    /// [`SpecialAddress::Any`], dotted IPv4, RFC 5952 IPv6 plus `%scope`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr {
            Repr::Null => Ok(()),
            Repr::V4(ip) => write!(f, "{ip}"),
            Repr::Any => f.write_str("0.0.0.0"),
            Repr::V6(ip) => {
                fmt_ipv6(&ip, f)?;
                if !self.scope_id.is_empty() {
                    write!(f, "%{}", self.scope_id)?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for HostAddress {
    /// Qt's `QDebug` form: `HostAddress(127.0.0.1)`, `HostAddress(Any)`,
    /// `HostAddress()` for null.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr {
            Repr::Any => f.write_str("HostAddress(Any)"),
            _ => write!(f, "HostAddress({self})"),
        }
    }
}

/// An address and a port packed into 19 bytes, for the two endpoints
/// every socket stores. A [`HostAddress`] is 48 bytes (its scope id is a
/// `String`); a socket keeps two, so an idle connection would spend 112
/// bytes on them. Packed, the pair costs 40 and the scope id, which only
/// link-local IPv6 addresses have, is kept apart by the owner.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct PackedEndpoint {
    bytes: [u8; 16],
    /// Bytes, not `u16`: alignment 1 lets two endpoints take 38 bytes.
    port: [u8; 2],
    kind: PackedKind,
}

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum PackedKind {
    #[default]
    Null,
    V4,
    V6,
    Any,
}

impl PackedEndpoint {
    /// Packs `address` and `port`; the scope id is not kept.
    pub(crate) fn pack(address: &HostAddress, port: u16) -> PackedEndpoint {
        let (kind, bytes) = match address.repr {
            Repr::Null => (PackedKind::Null, [0; 16]),
            Repr::Any => (PackedKind::Any, [0; 16]),
            Repr::V6(ip) => (PackedKind::V6, ip.octets()),
            Repr::V4(ip) => {
                let mut bytes = [0; 16];
                bytes[..4].copy_from_slice(&ip.octets());
                (PackedKind::V4, bytes)
            }
        };
        PackedEndpoint {
            bytes,
            port: port.to_ne_bytes(),
            kind,
        }
    }

    /// The address again, with `scope` as its scope id.
    pub(crate) fn address(&self, scope: &str) -> HostAddress {
        let repr = match self.kind {
            PackedKind::Null => Repr::Null,
            PackedKind::Any => Repr::Any,
            PackedKind::V6 => Repr::V6(Ipv6Addr::from(self.bytes)),
            PackedKind::V4 => {
                let [a, b, c, d, ..] = self.bytes;
                Repr::V4(Ipv4Addr::new(a, b, c, d))
            }
        };
        let mut address = HostAddress::from_repr(repr);
        if !scope.is_empty() {
            address.set_scope_id(scope);
        }
        address
    }

    pub(crate) fn port(&self) -> u16 {
        u16::from_ne_bytes(self.port)
    }

    pub(crate) fn set_port(&mut self, port: u16) {
        self.port = port.to_ne_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn addr(text: &str) -> HostAddress {
        text.parse()
            .unwrap_or_else(|err| panic!("{text:?} should parse: {err}"))
    }

    #[test]
    fn qt_set_address_table() {
        // (input, toString) pairs from Qt's tst_qhostaddress setAddress data.
        let good = [
            ("127.0.0.1", "127.0.0.1"),
            ("255.3.2.1", "255.3.2.1"),
            (" 255.3.2.1", "255.3.2.1"),
            ("255.3.2.1\r ", "255.3.2.1"),
            ("0.0.0.0", "0.0.0.0"),
            ("123.0.0", "123.0.0.0"),
            (
                "FEDC:BA98:7654:3210:FEDC:BA98:7654:3210",
                "fedc:ba98:7654:3210:fedc:ba98:7654:3210",
            ),
            (
                "1080:0000:0000:0000:0008:0800:200C:417A",
                "1080::8:800:200c:417a",
            ),
            ("1080:0:0:0:8:800:200C:417A", "1080::8:800:200c:417a"),
            ("1080::8:800:200C:417A", "1080::8:800:200c:417a"),
            ("FF01::43", "ff01::43"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("::", "::"),
            ("0:0:0:0:0:0:13.1.68.3", "::13.1.68.3"),
            ("::13.1.68.3", "::13.1.68.3"),
            ("0:0:0:0:0:FFFF:129.144.52.38", "::ffff:129.144.52.38"),
            ("::FFFF:129.144.52.38", "::ffff:129.144.52.38"),
            ("1::FFFF:129.144.52.38", "1::ffff:8190:3426"),
            ("A:B::D:E", "a:b::d:e"),
            ("1080:0:1:0:8:800:200C:417A", "1080:0:1:0:8:800:200c:417a"),
            ("1080:0:1:0:8:800:200C:0", "1080:0:1:0:8:800:200c:0"),
            ("1080:0:1:0:8:800:0:0", "1080:0:1:0:8:800::"),
            ("1080:0:0:8:800:0:0:0", "1080:0:0:8:800::"),
            ("1080:0:0:0:8:0:0:0", "1080::8:0:0:0"),
            ("0:1:1:1:8:800:0:0", "0:1:1:1:8:800::"),
            ("0:1:1:1:8:800:0:1", "0:1:1:1:8:800:0:1"),
        ];
        for (input, printed) in good {
            assert_eq!(addr(input).to_string(), printed, "{input:?}");
        }
        let bad = [
            "foobarcom",
            "foo.bar.com",
            "",
            " \t\r",
            "256.9.9.9",
            "-1.9.9.9",
            "123.0.0.",
            "123.0.0.0.0",
            "255.2 3.2.1",
            ":",
            ":::",
            "::AAAA:",
            ":AAAA::",
            "FFFF:::129.144.52.38",
            "FEDC:BA98:7654:3210:FEDC:BA98:7654:3210:1234",
            "129.144.52.38::",
            "::129.144.52.38:129.144.52.38",
            ":::129.144.52.38",
            "1FEDC:BA98:7654:3210:FEDC:BA98:7654:3210",
            "::FFFFFFFF",
            "::EFGH",
            "ABCD:ABCD:ABCD",
            "::ABCD:ABCD::",
            "1::2::3",
            "1:2:::",
            ":::1:2",
            "1:::2",
            "FEDC::7654:3210:FEDC:BA98::3210",
            "ABCD:ABCD:ABCD:1.2.3.4",
            "ABCD::ABCD::ABCD:1.2.3.4",
            "1.2.3.4:80",
        ];
        for input in bad {
            let err = input.parse::<HostAddress>().unwrap_err();
            assert_eq!(err.input(), input);
        }
    }

    #[test]
    fn inet_aton_forms() {
        assert_eq!(addr("127.1").to_string(), "127.0.0.1");
        assert_eq!(addr("1.2.3").to_string(), "1.2.0.3");
        assert_eq!(addr("2130706433").to_string(), "127.0.0.1");
        assert_eq!(addr("0x7f.1").to_string(), "127.0.0.1");
        assert_eq!(addr("010.0.0.1").to_string(), "8.0.0.1");
        assert_eq!(addr("1.65535").to_string(), "1.0.255.255");
        assert!("1.65536.1".parse::<HostAddress>().is_err());
        assert!("4294967296".parse::<HostAddress>().is_err());
        assert!("08.1.1.1".parse::<HostAddress>().is_err());
        assert!("0x.1.1.1".parse::<HostAddress>().is_err());
        assert!("+1.1.1.1".parse::<HostAddress>().is_err());
        assert!("1..1.1".parse::<HostAddress>().is_err());
        // Embedded IPv4 in IPv6 is strict: four parts, no leading zeros.
        assert!("::ffff:1.2.3".parse::<HostAddress>().is_err());
        assert!("::ffff:01.2.3.4".parse::<HostAddress>().is_err());
    }

    #[test]
    fn scope_ids() {
        let a = addr("fe80::2e0:4cff:fefb:662a%eth0");
        assert_eq!(a.scope_id(), "eth0");
        assert_eq!(a.to_string(), "fe80::2e0:4cff:fefb:662a%eth0");
        let mut b = addr("fe80::2e0:4cff:fefb:662a");
        assert_eq!(b.scope_id(), "");
        b.set_scope_id("en0");
        assert_eq!(b.to_string(), "fe80::2e0:4cff:fefb:662a%en0");
        // Scope ids are not compared, as in Qt.
        assert_eq!(a, b);
        let set: HashSet<HostAddress> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        // An empty scope prints nothing.
        assert_eq!(addr("fe80::1%").to_string(), "fe80::1");
        // A '%' on an IPv4 literal is not a scope.
        assert!("1.2.3.4%eth0".parse::<HostAddress>().is_err());
        // Numeric scopes map to the index.
        assert_eq!(
            addr("fe80::1%3").to_socket_addr(9),
            Some(SocketAddr::V6(SocketAddrV6::new(
                addr("fe80::1").to_ipv6(),
                9,
                0,
                3
            )))
        );
        assert_eq!(scope_index("../../etc"), 0);
        assert_eq!(scope_index("no-such-interface-xyz"), 0);
    }

    #[test]
    fn specials() {
        let cases = [
            (SpecialAddress::Null, NetworkLayerProtocol::Unknown, ""),
            (
                SpecialAddress::Broadcast,
                NetworkLayerProtocol::IPv4,
                "255.255.255.255",
            ),
            (
                SpecialAddress::LocalHost,
                NetworkLayerProtocol::IPv4,
                "127.0.0.1",
            ),
            (
                SpecialAddress::LocalHostIPv6,
                NetworkLayerProtocol::IPv6,
                "::1",
            ),
            (SpecialAddress::Any, NetworkLayerProtocol::AnyIP, "0.0.0.0"),
            (SpecialAddress::AnyIPv6, NetworkLayerProtocol::IPv6, "::"),
            (
                SpecialAddress::AnyIPv4,
                NetworkLayerProtocol::IPv4,
                "0.0.0.0",
            ),
        ];
        for (special, protocol, text) in cases {
            let a = HostAddress::from(special);
            assert_eq!(a.protocol(), protocol, "{special:?}");
            assert_eq!(a.to_string(), text, "{special:?}");
            assert!(a == special, "{special:?}");
            assert!(special == a, "{special:?}");
        }
        assert!(addr("::") != SpecialAddress::Any);
        assert!(addr("0.0.0.0") != SpecialAddress::Any);
        assert!(addr("::1") != SpecialAddress::LocalHost);
        assert!(addr("127.0.0.2") != SpecialAddress::LocalHost);
        assert!(addr("::") == SpecialAddress::AnyIPv6);
        assert_eq!(
            format!("{:?}", HostAddress::from(SpecialAddress::Any)),
            "HostAddress(Any)"
        );
        assert_eq!(format!("{:?}", HostAddress::new()), "HostAddress()");
        assert_eq!(format!("{:?}", addr("::1")), "HostAddress(::1)");
    }

    #[test]
    fn strict_equality_and_hash() {
        let any = HostAddress::from(SpecialAddress::Any);
        assert_eq!(any, any.clone());
        assert_eq!(HostAddress::new(), HostAddress::new());
        assert_ne!(
            HostAddress::from(SpecialAddress::AnyIPv4),
            HostAddress::from(SpecialAddress::AnyIPv6)
        );
        assert_ne!(
            HostAddress::from(SpecialAddress::LocalHost),
            addr("::ffff:127.0.0.1")
        );
        assert_ne!(
            HostAddress::from(SpecialAddress::LocalHost),
            HostAddress::from(SpecialAddress::LocalHostIPv6)
        );
        assert_ne!(
            HostAddress::new(),
            HostAddress::from(SpecialAddress::LocalHostIPv6)
        );
        assert_ne!(any, HostAddress::new());
        let set: HashSet<HostAddress> = ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.1"]
            .iter()
            .map(|t| addr(t))
            .collect();
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn qt_is_equal_table() {
        use ConversionMode as M;
        let lh = HostAddress::from(SpecialAddress::LocalHost);
        let lh6 = HostAddress::from(SpecialAddress::LocalHostIPv6);
        let any = HostAddress::from(SpecialAddress::Any);
        let any4 = HostAddress::from(SpecialAddress::AnyIPv4);
        let any6 = HostAddress::from(SpecialAddress::AnyIPv6);
        let rows: Vec<(HostAddress, HostAddress, M, bool)> = vec![
            (lh.clone(), lh6.clone(), M::CONVERT_LOCAL_HOST, true),
            (lh.clone(), lh6.clone(), M::CONVERT_V4_COMPAT_TO_IPV4, false),
            (lh.clone(), lh6.clone(), M::CONVERT_V4_MAPPED_TO_IPV4, false),
            (
                lh.clone(),
                lh6.clone(),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                false,
            ),
            (addr("0.0.0.1"), lh6.clone(), M::CONVERT_LOCAL_HOST, false),
            (
                addr("192.168.1.1"),
                addr("::192.168.1.1"),
                M::CONVERT_LOCAL_HOST,
                false,
            ),
            (
                addr("192.168.1.1"),
                addr("::ffff:192.168.1.1"),
                M::CONVERT_LOCAL_HOST,
                false,
            ),
            (
                addr("0.0.0.1"),
                lh6.clone(),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                false,
            ),
            (
                addr("192.168.1.1"),
                addr("::192.168.1.1"),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                false,
            ),
            (
                addr("192.168.1.1"),
                addr("::ffff:192.168.1.1"),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                false,
            ),
            (
                addr("0.0.0.1"),
                lh6.clone(),
                M::CONVERT_V4_COMPAT_TO_IPV4,
                false,
            ),
            (
                addr("192.168.1.1"),
                addr("::192.168.1.1"),
                M::CONVERT_V4_COMPAT_TO_IPV4,
                true,
            ),
            (
                addr("192.168.1.1"),
                addr("::ffff:192.168.1.1"),
                M::CONVERT_V4_COMPAT_TO_IPV4,
                false,
            ),
            (
                addr("0.0.0.1"),
                lh6.clone(),
                M::CONVERT_V4_MAPPED_TO_IPV4,
                false,
            ),
            (
                addr("192.168.1.1"),
                addr("::192.168.1.1"),
                M::CONVERT_V4_MAPPED_TO_IPV4,
                false,
            ),
            (
                addr("192.168.1.1"),
                addr("::FFFF:192.168.1.1"),
                M::CONVERT_V4_MAPPED_TO_IPV4,
                true,
            ),
            (
                HostAddress::new(),
                any.clone(),
                M::CONVERT_LOCAL_HOST,
                false,
            ),
            (
                HostAddress::new(),
                any.clone(),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                false,
            ),
            (
                any6.clone(),
                any4.clone(),
                M::CONVERT_V4_COMPAT_TO_IPV4,
                true,
            ),
            (
                any6.clone(),
                any4.clone(),
                M::CONVERT_V4_MAPPED_TO_IPV4,
                false,
            ),
            (
                any6.clone(),
                any4.clone(),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                true,
            ),
            (
                any.clone(),
                any4.clone(),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                true,
            ),
            (
                any.clone(),
                any6.clone(),
                M::CONVERT_UNSPECIFIED_ADDRESS,
                true,
            ),
            (any6.clone(), any4.clone(), M::CONVERT_LOCAL_HOST, false),
            (any.clone(), any4.clone(), M::CONVERT_LOCAL_HOST, false),
            (any.clone(), any6.clone(), M::CONVERT_LOCAL_HOST, false),
            (lh6.clone(), any.clone(), M::TOLERANT_CONVERSION, false),
            (lh.clone(), any.clone(), M::TOLERANT_CONVERSION, false),
            (lh6.clone(), any6.clone(), M::TOLERANT_CONVERSION, false),
            (lh.clone(), any6.clone(), M::TOLERANT_CONVERSION, false),
            (lh6.clone(), any4.clone(), M::TOLERANT_CONVERSION, false),
            (lh.clone(), any4.clone(), M::TOLERANT_CONVERSION, false),
        ];
        for (a, b, mode, expected) in rows {
            assert_eq!(a.is_equal(&b, mode), expected, "{a:?} {b:?} {mode:?}");
            assert_eq!(b.is_equal(&a, mode), expected, "{b:?} {a:?} {mode:?}");
        }
    }

    #[test]
    fn qt_classification_table() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum C {
            Unknown,
            Loop,
            LocalNet,
            Multi,
            LinkLocal,
            Bcast,
            Global,
            Private,
            Ula,
            SiteLocal,
        }
        let check = |a: &HostAddress, c: C| {
            assert_eq!(a.is_loopback(), c == C::Loop, "{a:?}");
            assert_eq!(
                a.is_global(),
                matches!(c, C::Global | C::Private | C::Ula | C::SiteLocal),
                "{a:?}"
            );
            assert_eq!(a.is_link_local(), c == C::LinkLocal, "{a:?}");
            assert_eq!(a.is_site_local(), c == C::SiteLocal, "{a:?}");
            assert_eq!(a.is_unique_local_unicast(), c == C::Ula, "{a:?}");
            assert_eq!(a.is_multicast(), c == C::Multi, "{a:?}");
            assert_eq!(a.is_broadcast(), c == C::Bcast, "{a:?}");
            assert_eq!(
                a.is_private_use(),
                matches!(c, C::Private | C::Ula),
                "{a:?}"
            );
            let _ = (C::Unknown, C::LocalNet);
        };
        check(&HostAddress::new(), C::Unknown);
        check(&HostAddress::from(SpecialAddress::Any), C::LocalNet);
        check(&HostAddress::from(SpecialAddress::AnyIPv6), C::LocalNet);
        check(&HostAddress::from(SpecialAddress::AnyIPv4), C::LocalNet);
        let v6 = [
            ("::", C::LocalNet),
            ("::1", C::Loop),
            ("::2", C::Global),
            ("2000::", C::Global),
            ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::Global),
            ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::Global),
            ("fc00::", C::Ula),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::Ula),
            ("fe00::", C::Unknown),
            ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::Unknown),
            ("fe80::", C::LinkLocal),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::LinkLocal),
            ("fec0::", C::SiteLocal),
            ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::SiteLocal),
            ("ff00::", C::Multi),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::Multi),
        ];
        for (text, c) in v6 {
            check(&addr(text), c);
        }
        let v4 = [
            ("0.0.0.0", C::LocalNet),
            ("0.0.0.1", C::LocalNet),
            ("0.255.255.255", C::LocalNet),
            ("1.0.0.0", C::Global),
            ("1.2.3.4", C::Global),
            ("10.0.0.4", C::Private),
            ("127.0.0.1", C::Loop),
            ("127.0.0.2", C::Loop),
            ("127.255.255.255", C::Loop),
            ("169.254.0.1", C::LinkLocal),
            ("172.16.0.1", C::Private),
            ("172.32.0.1", C::Global),
            ("192.168.3.4", C::Private),
            ("223.255.255.255", C::Global),
            ("224.0.0.0", C::Multi),
            ("239.255.255.255", C::Multi),
            ("240.0.0.0", C::Unknown),
            ("255.255.255.254", C::Unknown),
            ("255.255.255.255", C::Bcast),
        ];
        for (text, c) in v4 {
            check(&addr(text), c);
            check(&addr(&format!("::ffff:{text}")), c);
        }
    }

    #[test]
    fn qt_convert_v4_v6_table() {
        let any = HostAddress::from(SpecialAddress::Any);
        assert_eq!(any.to_ipv4(), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(any.to_ipv6(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            HostAddress::from(SpecialAddress::AnyIPv4).to_ipv6(),
            Ipv6Addr::UNSPECIFIED
        );
        assert_eq!(
            HostAddress::from(SpecialAddress::AnyIPv6).to_ipv4(),
            Some(Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(
            addr("::ffff:192.0.2.1").to_ipv4(),
            Some(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(
            addr("192.0.2.1").to_ipv6(),
            addr("::ffff:192.0.2.1").to_ipv6()
        );
        assert_eq!(
            HostAddress::from(SpecialAddress::LocalHost).to_ipv6(),
            "::ffff:127.0.0.1".parse::<Ipv6Addr>().unwrap()
        );
        for text in [
            "::1",
            "::192.0.2.1",
            "::127.0.0.1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert_eq!(addr(text).to_ipv4(), None, "{text}");
        }
        assert_eq!(HostAddress::new().to_ipv4(), None);
        assert_eq!(HostAddress::new().to_ipv6(), Ipv6Addr::UNSPECIFIED);
    }

    #[test]
    fn qt_parse_subnet_table() {
        for bad in [
            "",
            "foobar",
            "   ",
            "1.2.3.a",
            "1.2.3.4.5",
            "1.2.3.4:80",
            "1.2.3.4/33",
            "1.2.3.4/-1",
            "1.2.3.4/256.0.0.0",
            "1.2.3.4/255.253.0.0",
            "1.2.3.4/255.0.0.255",
            "1.2.3.4.",
            "ffff::/-1",
            "ffff::/129",
            "ffff::/255.255.0.0",
            "ffff::/ff00::",
            "1.2.3.4/",
            ".",
        ] {
            let err = HostAddress::parse_subnet(bad).unwrap_err();
            assert_eq!(err.input(), bad);
            assert!(err.to_string().starts_with("invalid subnet"));
        }
        let good = [
            ("0.0.0.0/0.0.0.0", "0.0.0.0", 0),
            ("0.0.0.0/255.128.0.0", "0.0.0.0", 9),
            ("0.0.0.0/255.254.0.0", "0.0.0.0", 15),
            ("0.0.0.0/255.255.255.0", "0.0.0.0", 24),
            ("0.0.0.0/255.255.255.254", "0.0.0.0", 31),
            ("0.0.0.0/255.255.255.255", "0.0.0.0", 32),
            ("0.0.0.0/0", "0.0.0.0", 0),
            ("0.0.0.0/9", "0.0.0.0", 9),
            ("10", "10.0.0.0", 8),
            ("10.", "10.0.0.0", 8),
            ("172.16", "172.16.0.0", 16),
            ("172.16.", "172.16.0.0", 16),
            ("192.168.0", "192.168.0.0", 24),
            ("192.168.0.1", "192.168.0.1", 32),
            ("::/0", "::", 0),
            ("::/48", "::", 48),
            ("::/128", "::", 128),
            ("255.255.255.255/31", "255.255.255.254", 31),
            ("255.255.255.255/23", "255.255.254.0", 23),
            ("255.255.255.255/1", "128.0.0.0", 1),
            ("255.255.255.255/0", "0.0.0.0", 0),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
                127,
            ),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/121",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff80",
                121,
            ),
            (
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/47",
                "ffff:ffff:fffe::",
                47,
            ),
            ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/3", "2000::", 3),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/0", "::", 0),
            ("fe80::1", "fe80::1", 128),
        ];
        for (input, net, len) in good {
            let (got, got_len) = HostAddress::parse_subnet(input).unwrap();
            assert_eq!((got.to_string().as_str(), got_len), (net, len), "{input}");
        }
        // The v4 forms give IPv4 networks, the v6 forms IPv6 ones.
        assert_eq!(
            HostAddress::parse_subnet("0.0.0.0/0").unwrap().0,
            HostAddress::from(SpecialAddress::AnyIPv4)
        );
        assert_eq!(
            HostAddress::parse_subnet("::/0").unwrap().0,
            HostAddress::from(SpecialAddress::AnyIPv6)
        );
    }

    #[test]
    fn qt_is_in_subnet_table() {
        let null = HostAddress::new();
        let any = HostAddress::from(SpecialAddress::Any);
        let any4 = HostAddress::from(SpecialAddress::AnyIPv4);
        let any6 = HostAddress::from(SpecialAddress::AnyIPv6);
        let lh = HostAddress::from(SpecialAddress::LocalHost);
        let lh6 = HostAddress::from(SpecialAddress::LocalHostIPv6);
        let rows: Vec<(&HostAddress, HostAddress, u8, bool)> = vec![
            (&null, null.clone(), 32, false),
            (&null, any4.clone(), 0, false),
            (&null, any6.clone(), 128, false),
            (&any4, null.clone(), 16, false),
            (&lh6, null.clone(), 16, false),
            (&lh, any6.clone(), 0, false),
            (&lh6, any.clone(), 0, false),
            (&any, any.clone(), 0, false),
            (
                &lh,
                addr("ffff:ffff:ffff:ffff:ffff:ffff:255.0.0.0"),
                113,
                false,
            ),
            (&lh, addr("::ffff:255.0.0.0"), 113, false),
            (&lh, any4.clone(), 0, true),
            (&lh, addr("255.255.0.0"), 0, true),
            (&lh, any4.clone(), 1, true),
            (&lh, addr("128.0.0.0"), 1, false),
            (&lh, addr("127.0.0.0"), 8, true),
            (&lh, addr("126.0.0.0"), 8, false),
            (&lh, lh.clone(), 32, true),
            (&lh, lh.clone(), 200, true),
            (&lh6, any6.clone(), 0, true),
            (&lh6, addr("8000::"), 1, false),
            (&lh6, lh6.clone(), 255, true),
        ];
        for (a, net, len, expected) in rows {
            assert_eq!(
                a.is_in_subnet(&net, len),
                expected,
                "{a:?} in {net:?}/{len}"
            );
        }
        assert!(addr("224.0.0.1").is_in_subnet(&addr("128.0.0.0"), 1));
        assert!(addr("10.0.1.255").is_in_subnet(&addr("10.0.0.0"), 15));
        assert!(addr("2:3:5::1").is_in_subnet(&addr("2:3:4::"), 47));
        assert!(!addr("2:3:5::1").is_in_subnet(&addr("2:3:4::"), 48));
        assert!(addr("2:3:4:5::1").is_in_subnet(&addr("2:3:4:5::"), 127));
        assert!(!addr("2:3:4:5::1").is_in_subnet(&addr("2:3:4:5::0"), 128));
        assert!(addr("fec0::1").is_in_subnet(&addr("8000::"), 1));
    }

    #[test]
    fn std_conversions() {
        let v4 = HostAddress::from(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(v4.ip(), Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
        assert_eq!(v4.to_socket_addr(7), Some("10.1.2.3:7".parse().unwrap()));
        let any = HostAddress::from(SpecialAddress::Any);
        assert_eq!(any.to_socket_addr(80), Some("[::]:80".parse().unwrap()));
        assert_eq!(HostAddress::new().to_socket_addr(80), None);
        let sock: SocketAddr = "[fe80::1%4]:99".parse().unwrap();
        let from_sock = HostAddress::from(sock);
        assert_eq!(from_sock.scope_id(), "4");
        assert_eq!(from_sock.to_socket_addr(99), Some(sock));
        let plain = HostAddress::from("[::1]:5".parse::<SocketAddr>().unwrap());
        assert_eq!(plain.scope_id(), "");
        let mut cleared = plain.clone();
        cleared.clear();
        assert!(cleared.is_null());
    }

    #[test]
    fn ipv6_printing_matches_qt() {
        for (input, printed) in [
            ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
            ("::0.0.1.0", "::0.0.1.0"),
            ("::100", "::0.0.1.0"),
            ("::2", "::2"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:0:0:1:0:0:1", "1::1:0:0:1"),
            ("0:0:1:0:0:0:0:0", "0:0:1::"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ] {
            assert_eq!(addr(input).to_string(), printed, "{input}");
        }
    }

    #[test]
    fn packed_endpoints_give_back_what_was_packed() {
        use super::PackedEndpoint;
        for text in ["", "1.2.3.4", "::1", "fe80::1%eth0", "::ffff:1.2.3.4"] {
            let address: HostAddress = if text.is_empty() {
                HostAddress::new()
            } else {
                text.parse().unwrap()
            };
            let packed = PackedEndpoint::pack(&address, 4242);
            let back = packed.address(address.scope_id());
            assert_eq!(back.to_string(), address.to_string(), "{text}");
            assert_eq!(back.protocol(), address.protocol(), "{text}");
            assert_eq!(packed.port(), 4242);
        }
        let any = HostAddress::from(SpecialAddress::Any);
        let back = PackedEndpoint::pack(&any, 0).address("");
        assert!(back == SpecialAddress::Any);
        assert_eq!(back.protocol(), any.protocol());
        assert_eq!(std::mem::size_of::<[PackedEndpoint; 2]>(), 38);
    }
}
