//! `NetworkInterface` (Qt: `QNetworkInterface`) and `NetworkAddressEntry`
//! (Qt: `QNetworkAddressEntry`): the host's interfaces, their flags and
//! addresses, as multicast needs them.
//!
//! The list comes from `getifaddrs(3)` through nix's safe wrapper (every
//! interface appears there, with or without an address: Linux adds an
//! `AF_PACKET` entry for each), the index from `if_nametoindex(3)`, and the
//! MTU and hardware address from `/sys/class/net/<name>/`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use nix::net::if_::InterfaceFlags as OsFlags;
use nix::sys::socket::{SockaddrLike, SockaddrStorage};

use crate::host_address::HostAddress;

/// What an interface can do and how it stands.
///
/// Qt: `QNetworkInterface::InterfaceFlags`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_net::InterfaceFlags;
/// let flags = InterfaceFlags::IS_UP | InterfaceFlags::CAN_MULTICAST;
/// assert!(flags.contains(InterfaceFlags::IS_UP));
/// assert!(!flags.contains(InterfaceFlags::IS_LOOP_BACK));
/// assert_eq!(flags.bits(), 0x21);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InterfaceFlags(u32);

impl InterfaceFlags {
    /// Administratively up. Qt: `IsUp`.
    pub const IS_UP: Self = InterfaceFlags(0x1);
    /// Operationally running. Qt: `IsRunning`.
    pub const IS_RUNNING: Self = InterfaceFlags(0x2);
    /// Supports broadcast. Qt: `CanBroadcast`.
    pub const CAN_BROADCAST: Self = InterfaceFlags(0x4);
    /// The loopback interface. Qt: `IsLoopBack`.
    pub const IS_LOOP_BACK: Self = InterfaceFlags(0x8);
    /// A point-to-point link. Qt: `IsPointToPoint`.
    pub const IS_POINT_TO_POINT: Self = InterfaceFlags(0x10);
    /// Supports multicast. Qt: `CanMulticast`.
    pub const CAN_MULTICAST: Self = InterfaceFlags(0x20);

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::InterfaceFlags::IS_RUNNING.bits(), 2);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set (and `other` is not empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::InterfaceFlags;
    /// assert!((InterfaceFlags::IS_UP | InterfaceFlags::IS_RUNNING).contains(InterfaceFlags::IS_RUNNING));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    fn from_os(os: OsFlags) -> Self {
        let pairs = [
            (OsFlags::IFF_UP, Self::IS_UP),
            (OsFlags::IFF_RUNNING, Self::IS_RUNNING),
            (OsFlags::IFF_BROADCAST, Self::CAN_BROADCAST),
            (OsFlags::IFF_LOOPBACK, Self::IS_LOOP_BACK),
            (OsFlags::IFF_POINTOPOINT, Self::IS_POINT_TO_POINT),
            (OsFlags::IFF_MULTICAST, Self::CAN_MULTICAST),
        ];
        pairs
            .iter()
            .filter(|(os_flag, _)| os.contains(*os_flag))
            .fold(InterfaceFlags(0), |acc, (_, flag)| acc | *flag)
    }
}

impl std::ops::BitOr for InterfaceFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        InterfaceFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for InterfaceFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::IS_UP, "IsUp"),
            (Self::IS_RUNNING, "IsRunning"),
            (Self::CAN_BROADCAST, "CanBroadcast"),
            (Self::IS_LOOP_BACK, "IsLoopBack"),
            (Self::IS_POINT_TO_POINT, "IsPointToPoint"),
            (Self::CAN_MULTICAST, "CanMulticast"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        write!(f, "InterfaceFlags({})", set.join(" | "))
    }
}

/// One address of an interface, with its netmask and broadcast address.
///
/// Qt: `QNetworkAddressEntry`.
///
/// # Examples
///
/// ```
/// use sigloop_net::NetworkInterface;
/// for iface in NetworkInterface::all_interfaces() {
///     for entry in iface.address_entries() {
///         println!("{} {}/{:?}", iface.name(), entry.ip(), entry.prefix_length());
///     }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NetworkAddressEntry {
    ip: HostAddress,
    netmask: HostAddress,
    broadcast: HostAddress,
}

impl NetworkAddressEntry {
    /// The address (link-local IPv6 ones carry the interface name as scope
    /// id, as in Qt). Qt: `QNetworkAddressEntry::ip()`.
    ///
    /// # Examples
    ///
    /// See [`NetworkAddressEntry`].
    pub fn ip(&self) -> &HostAddress {
        &self.ip
    }

    /// The netmask, null if unknown. Qt: `QNetworkAddressEntry::netmask()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkInterface;
    /// if let Some(lo) = NetworkInterface::interface_from_name("lo") {
    ///     for entry in lo.address_entries() {
    ///         if entry.ip().to_string() == "127.0.0.1" {
    ///             assert_eq!(entry.netmask().to_string(), "255.0.0.0");
    ///         }
    ///     }
    /// }
    /// ```
    pub fn netmask(&self) -> &HostAddress {
        &self.netmask
    }

    /// The netmask as a prefix length (`None` without a netmask).
    /// Qt: `QNetworkAddressEntry::prefixLength()` (-1 there).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkInterface;
    /// if let Some(lo) = NetworkInterface::interface_from_name("lo") {
    ///     for entry in lo.address_entries() {
    ///         if entry.ip().to_string() == "::1" {
    ///             assert_eq!(entry.prefix_length(), Some(128));
    ///         }
    ///     }
    /// }
    /// ```
    pub fn prefix_length(&self) -> Option<u8> {
        let bits: u32 = match self.netmask.ip()? {
            IpAddr::V4(mask) => mask.octets().iter().map(|b| b.count_ones()).sum(),
            IpAddr::V6(mask) => mask.octets().iter().map(|b| b.count_ones()).sum(),
        };
        u8::try_from(bits).ok()
    }

    /// The IPv4 broadcast address of the subnet, null if none.
    /// Qt: `QNetworkAddressEntry::broadcast()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{InterfaceFlags, NetworkInterface};
    /// for iface in NetworkInterface::all_interfaces() {
    ///     if iface.flags().contains(InterfaceFlags::CAN_BROADCAST) {
    ///         for entry in iface.address_entries() {
    ///             println!("broadcast {}", entry.broadcast());
    ///         }
    ///     }
    /// }
    /// ```
    pub fn broadcast(&self) -> &HostAddress {
        &self.broadcast
    }
}

/// A network interface of this host: name, index, flags and addresses.
///
/// Interfaces are snapshots: [`all_interfaces`](Self::all_interfaces)
/// reads the current list each time. Where Qt returns an invalid
/// `QNetworkInterface` for "none", sigloop returns `Option::None`.
///
/// Qt: `QNetworkInterface`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{InterfaceFlags, NetworkInterface};
/// let lo = NetworkInterface::interface_from_name("lo").expect("Linux has lo");
/// assert!(lo.flags().contains(InterfaceFlags::IS_LOOP_BACK));
/// assert!(lo.index() > 0);
/// assert_eq!(NetworkInterface::interface_from_index(lo.index()).unwrap().name(), "lo");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct NetworkInterface {
    index: u32,
    name: String,
    flags: InterfaceFlags,
    mtu: u32,
    hardware_address: String,
    entries: Vec<NetworkAddressEntry>,
}

impl NetworkInterface {
    /// Every interface of the host, by index.
    ///
    /// Qt: `QNetworkInterface::allInterfaces()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let names: Vec<String> = sigloop_net::NetworkInterface::all_interfaces()
    ///     .iter()
    ///     .map(|i| i.name().to_owned())
    ///     .collect();
    /// assert!(names.iter().any(|n| n == "lo"));
    /// ```
    pub fn all_interfaces() -> Vec<NetworkInterface> {
        let list = match nix::ifaddrs::getifaddrs() {
            Ok(list) => list,
            Err(err) => {
                log::warn!("NetworkInterface::all_interfaces: getifaddrs failed: {err}");
                return Vec::new();
            }
        };
        let mut by_name: BTreeMap<String, NetworkInterface> = BTreeMap::new();
        for entry in list {
            let iface = by_name
                .entry(entry.interface_name.clone())
                .or_insert_with(|| NetworkInterface::named(&entry.interface_name));
            iface.flags = InterfaceFlags::from_os(entry.flags);
            let Some(ip) = entry.address.as_ref().and_then(ip_of) else {
                continue;
            };
            let mut ip = HostAddress::from(ip);
            if scope_of(entry.address.as_ref()) != 0 {
                ip.set_scope_id(entry.interface_name.clone());
            }
            iface.entries.push(NetworkAddressEntry {
                ip,
                netmask: entry
                    .netmask
                    .as_ref()
                    .and_then(ip_of)
                    .map(HostAddress::from)
                    .unwrap_or_default(),
                broadcast: if entry.flags.contains(OsFlags::IFF_BROADCAST) {
                    entry
                        .broadcast
                        .as_ref()
                        .and_then(ip_of)
                        .filter(IpAddr::is_ipv4)
                        .map(HostAddress::from)
                        .unwrap_or_default()
                } else {
                    HostAddress::default()
                },
            });
        }
        let mut out: Vec<NetworkInterface> = by_name.into_values().collect();
        out.sort_by_key(|iface| iface.index);
        out
    }

    fn named(name: &str) -> NetworkInterface {
        let sys = |file: &str| {
            std::fs::read_to_string(format!("/sys/class/net/{name}/{file}"))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        NetworkInterface {
            index: nix::net::if_::if_nametoindex(name).unwrap_or(0),
            name: name.to_owned(),
            flags: InterfaceFlags::default(),
            mtu: sys("mtu").parse().unwrap_or(0),
            hardware_address: sys("address").to_ascii_uppercase(),
            entries: Vec::new(),
        }
    }

    /// Every address of every interface.
    ///
    /// Qt: `QNetworkInterface::allAddresses()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let all = sigloop_net::NetworkInterface::all_addresses();
    /// assert!(all.iter().any(|a| a.is_loopback()));
    /// ```
    pub fn all_addresses() -> Vec<HostAddress> {
        NetworkInterface::all_interfaces()
            .into_iter()
            .flat_map(|iface| iface.entries.into_iter().map(|e| e.ip))
            .collect()
    }

    /// The interface called `name`, if there is one.
    ///
    /// Qt: `QNetworkInterface::interfaceFromName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::NetworkInterface::interface_from_name("no-such-if0").is_none());
    /// ```
    pub fn interface_from_name(name: &str) -> Option<NetworkInterface> {
        NetworkInterface::all_interfaces()
            .into_iter()
            .find(|iface| iface.name == name)
    }

    /// The interface with `index`, if there is one.
    ///
    /// Qt: `QNetworkInterface::interfaceFromIndex()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::NetworkInterface::interface_from_index(0).is_none());
    /// ```
    pub fn interface_from_index(index: u32) -> Option<NetworkInterface> {
        if index == 0 {
            return None;
        }
        NetworkInterface::all_interfaces()
            .into_iter()
            .find(|iface| iface.index == index)
    }

    /// The index of the interface called `name`; 0 if there is none.
    ///
    /// Qt: `QNetworkInterface::interfaceIndexFromName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::NetworkInterface::interface_index_from_name("lo") > 0);
    /// ```
    pub fn interface_index_from_name(name: &str) -> u32 {
        nix::net::if_::if_nametoindex(name).unwrap_or(0)
    }

    /// The name of interface `index`; empty if there is none.
    ///
    /// Qt: `QNetworkInterface::interfaceNameFromIndex()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkInterface;
    /// let index = NetworkInterface::interface_index_from_name("lo");
    /// assert_eq!(NetworkInterface::interface_name_from_index(index), "lo");
    /// ```
    pub fn interface_name_from_index(index: u32) -> String {
        nix::net::if_::if_indextoname(index)
            .ok()
            .and_then(|name| name.into_string().ok())
            .unwrap_or_default()
    }

    /// The OS index (never 0). Qt: `QNetworkInterface::index()`.
    ///
    /// # Examples
    ///
    /// See [`NetworkInterface`].
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The OS name, such as `"lo"` or `"eth0"`. Qt: `QNetworkInterface::name()`.
    ///
    /// # Examples
    ///
    /// See [`NetworkInterface`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// On Linux the same as [`name`](Self::name).
    /// Qt: `QNetworkInterface::humanReadableName()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lo = sigloop_net::NetworkInterface::interface_from_name("lo").unwrap();
    /// assert_eq!(lo.human_readable_name(), "lo");
    /// ```
    pub fn human_readable_name(&self) -> &str {
        &self.name
    }

    /// The flags. Qt: `QNetworkInterface::flags()`.
    ///
    /// # Examples
    ///
    /// See [`NetworkInterface`].
    pub fn flags(&self) -> InterfaceFlags {
        self.flags
    }

    /// The MTU; 0 if unknown. Qt: `QNetworkInterface::maximumTransmissionUnit()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lo = sigloop_net::NetworkInterface::interface_from_name("lo").unwrap();
    /// assert!(lo.maximum_transmission_unit() > 0);
    /// ```
    pub fn maximum_transmission_unit(&self) -> u32 {
        self.mtu
    }

    /// The hardware address as `"AA:BB:…"` (empty if none).
    /// Qt: `QNetworkInterface::hardwareAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lo = sigloop_net::NetworkInterface::interface_from_name("lo").unwrap();
    /// assert_eq!(lo.hardware_address(), "00:00:00:00:00:00");
    /// ```
    pub fn hardware_address(&self) -> &str {
        &self.hardware_address
    }

    /// The addresses of the interface. Qt: `QNetworkInterface::addressEntries()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let lo = sigloop_net::NetworkInterface::interface_from_name("lo").unwrap();
    /// assert!(lo.address_entries().iter().any(|e| e.ip().is_loopback()));
    /// ```
    pub fn address_entries(&self) -> &[NetworkAddressEntry] {
        &self.entries
    }

    /// The first IPv4 address, which Qt uses to pick the interface for
    /// IPv4 multicast.
    pub(crate) fn first_ipv4(&self) -> Option<std::net::Ipv4Addr> {
        self.entries.iter().find_map(|e| match e.ip.ip() {
            Some(IpAddr::V4(v4)) => Some(v4),
            _ => None,
        })
    }
}

impl fmt::Debug for NetworkInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkInterface")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("flags", &self.flags)
            .field(
                "addresses",
                &self
                    .entries
                    .iter()
                    .map(|e| e.ip.to_string())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn ip_of(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

fn scope_of(addr: Option<&SockaddrStorage>) -> u32 {
    addr.filter(|a| a.family().is_some())
        .and_then(|a| a.as_sockaddr_in6())
        .map_or(0, |v6| v6.scope_id())
}
