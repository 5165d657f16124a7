//! `NetworkDatagram` (Qt: `QNetworkDatagram`): one UDP datagram with its
//! addresses, hop limit and interface.

use crate::host_address::HostAddress;

/// One UDP datagram: the payload plus what the IP header said about it.
///
/// A received datagram carries the sender, the destination it was sent to
/// (the local address, or the multicast/broadcast group), the hop limit
/// (TTL) it arrived with and the index of the interface it came in on. For
/// sending, the destination says where it goes and the optional hop limit,
/// interface and sender address are passed to the OS as control messages.
///
/// Unknown ports are `None` (Qt's -1), an unknown hop limit is `None`
/// (Qt's -1), an unknown interface is 0 (as in Qt).
///
/// Qt: `QNetworkDatagram`.
///
/// # Examples
///
/// ```
/// use sigloop_net::{HostAddress, NetworkDatagram, SpecialAddress};
///
/// let dgram = NetworkDatagram::with_destination(b"ping".to_vec(), HostAddress::from(SpecialAddress::LocalHost), 7755);
/// assert!(dgram.is_valid());
/// assert_eq!(dgram.destination_port(), Some(7755));
/// assert_eq!(dgram.sender_port(), None);
/// assert_eq!(dgram.hop_limit(), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkDatagram {
    data: Vec<u8>,
    sender: HostAddress,
    sender_port: u16,
    destination: HostAddress,
    destination_port: u16,
    hop_limit: Option<u8>,
    interface_index: u32,
}

impl NetworkDatagram {
    /// A null datagram: no data, no addresses ([`is_null`](Self::is_null)).
    ///
    /// Qt: `QNetworkDatagram::QNetworkDatagram()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::NetworkDatagram::new().is_null());
    /// ```
    pub fn new() -> Self {
        NetworkDatagram::default()
    }

    /// A datagram with `data` for `destination`:`port`, ready to send with
    /// [`UdpSocket::write_network_datagram`](crate::UdpSocket::write_network_datagram).
    ///
    /// Qt: `QNetworkDatagram::QNetworkDatagram(data, destinationAddress, port)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::{HostAddress, NetworkDatagram};
    /// let dgram = NetworkDatagram::with_destination(b"x".to_vec(), "127.0.0.1".parse().unwrap(), 9);
    /// assert_eq!(dgram.data(), b"x");
    /// assert_eq!(dgram.destination_address().to_string(), "127.0.0.1");
    /// ```
    pub fn with_destination(data: Vec<u8>, destination: HostAddress, port: u16) -> Self {
        NetworkDatagram {
            data,
            destination,
            destination_port: port,
            ..NetworkDatagram::default()
        }
    }

    /// Whether the datagram has a sender or a destination address (its
    /// payload may be empty). A failed receive gives an invalid one.
    ///
    /// Qt: `QNetworkDatagram::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkDatagram;
    /// assert!(!NetworkDatagram::new().is_valid());
    /// let mut dgram = NetworkDatagram::new();
    /// dgram.set_sender("::1".parse().unwrap(), 5);
    /// assert!(dgram.is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        !self.sender.is_null() || !self.destination.is_null()
    }

    /// The opposite of [`is_valid`](Self::is_valid).
    ///
    /// Qt: `QNetworkDatagram::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::NetworkDatagram::default().is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        !self.is_valid()
    }

    /// Makes the datagram null again: no data, addresses, hop limit or
    /// interface.
    ///
    /// Qt: `QNetworkDatagram::clear()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::with_destination(b"x".to_vec(), "10.0.0.1".parse().unwrap(), 1);
    /// dgram.clear();
    /// assert!(dgram.is_null() && dgram.data().is_empty());
    /// ```
    pub fn clear(&mut self) {
        *self = NetworkDatagram::default();
    }

    /// The payload.
    ///
    /// Qt: `QNetworkDatagram::data()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let dgram = sigloop_net::NetworkDatagram::with_destination(b"abc".to_vec(), "::1".parse().unwrap(), 1);
    /// assert_eq!(dgram.data(), b"abc");
    /// ```
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the payload out, leaving it empty.
    ///
    /// Qt: none (a `QByteArray` copy is cheap in Qt; here this avoids one).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::with_destination(b"abc".to_vec(), "::1".parse().unwrap(), 1);
    /// assert_eq!(dgram.take_data(), b"abc");
    /// assert!(dgram.data().is_empty());
    /// ```
    pub fn take_data(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }

    /// Replaces the payload.
    ///
    /// Qt: `QNetworkDatagram::setData()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::new();
    /// dgram.set_data(b"hi".to_vec());
    /// assert_eq!(dgram.data(), b"hi");
    /// ```
    pub fn set_data(&mut self, data: Vec<u8>) {
        self.data = data;
    }

    /// Who sent the datagram; null if unknown.
    ///
    /// Qt: `QNetworkDatagram::senderAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::NetworkDatagram::new().sender_address().is_null());
    /// ```
    pub fn sender_address(&self) -> &HostAddress {
        &self.sender
    }

    /// The sender's port; `None` (Qt's -1) while the sender is unknown.
    ///
    /// Qt: `QNetworkDatagram::senderPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::new();
    /// assert_eq!(dgram.sender_port(), None);
    /// dgram.set_sender("127.0.0.1".parse().unwrap(), 4000);
    /// assert_eq!(dgram.sender_port(), Some(4000));
    /// ```
    pub fn sender_port(&self) -> Option<u16> {
        (!self.sender.is_null()).then_some(self.sender_port)
    }

    /// Sets the sender. When sending, a non-null sender address selects the
    /// source address (`IP_PKTINFO` / `IPV6_PKTINFO`); the port is ignored.
    ///
    /// Qt: `QNetworkDatagram::setSender()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::new();
    /// dgram.set_sender("10.1.2.3".parse().unwrap(), 0);
    /// assert_eq!(dgram.sender_address().to_string(), "10.1.2.3");
    /// ```
    pub fn set_sender(&mut self, address: HostAddress, port: u16) {
        self.sender = address;
        self.sender_port = port;
    }

    /// Where the datagram went (received: the local address or the group it
    /// was sent to) or goes (to send); null if unknown.
    ///
    /// Qt: `QNetworkDatagram::destinationAddress()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let dgram = sigloop_net::NetworkDatagram::with_destination(vec![], "::1".parse().unwrap(), 9);
    /// assert!(dgram.destination_address().is_loopback());
    /// ```
    pub fn destination_address(&self) -> &HostAddress {
        &self.destination
    }

    /// The destination port; `None` (Qt's -1) while the destination is
    /// unknown.
    ///
    /// Qt: `QNetworkDatagram::destinationPort()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::NetworkDatagram::new().destination_port(), None);
    /// ```
    pub fn destination_port(&self) -> Option<u16> {
        (!self.destination.is_null()).then_some(self.destination_port)
    }

    /// Sets the destination.
    ///
    /// Qt: `QNetworkDatagram::setDestination()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::new();
    /// dgram.set_destination("127.0.0.1".parse().unwrap(), 53);
    /// assert_eq!(dgram.destination_port(), Some(53));
    /// ```
    pub fn set_destination(&mut self, address: HostAddress, port: u16) {
        self.destination = address;
        self.destination_port = port;
    }

    /// The hop limit (IPv4 TTL): received, what the packet arrived with;
    /// to send, what to use instead of the socket's default. `None` (Qt's
    /// -1) when unknown or unset. Received IPv4 datagrams on a dual-stack
    /// socket report `None`, as in Qt (Linux gives no TTL for them there).
    ///
    /// Qt: `QNetworkDatagram::hopLimit()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::new();
    /// dgram.set_hop_limit(Some(1));
    /// assert_eq!(dgram.hop_limit(), Some(1));
    /// ```
    pub fn hop_limit(&self) -> Option<u8> {
        self.hop_limit
    }

    /// Sets the hop limit to send with; `None` uses the socket's default.
    ///
    /// Qt: `QNetworkDatagram::setHopLimit()`.
    ///
    /// # Examples
    ///
    /// See [`hop_limit`](Self::hop_limit).
    pub fn set_hop_limit(&mut self, hop_limit: Option<u8>) {
        self.hop_limit = hop_limit;
    }

    /// The index of the interface the datagram arrived on, or to send it
    /// through; 0 when unknown or unset.
    ///
    /// Qt: `QNetworkDatagram::interfaceIndex()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut dgram = sigloop_net::NetworkDatagram::new();
    /// assert_eq!(dgram.interface_index(), 0);
    /// dgram.set_interface_index(1);
    /// assert_eq!(dgram.interface_index(), 1);
    /// ```
    pub fn interface_index(&self) -> u32 {
        self.interface_index
    }

    /// Sets the interface to send through (0: let the OS route it).
    ///
    /// Qt: `QNetworkDatagram::setInterfaceIndex()`.
    ///
    /// # Examples
    ///
    /// See [`interface_index`](Self::interface_index).
    pub fn set_interface_index(&mut self, index: u32) {
        self.interface_index = index;
    }

    /// A reply to this datagram carrying `payload`: its destination is this
    /// datagram's sender, its sender this datagram's destination (so the
    /// reply leaves from the address the request was sent to), the same
    /// interface, and no hop limit. If this datagram went to a multicast or
    /// broadcast address, the reply's sender is left unset and the OS picks
    /// the source.
    ///
    /// Qt: `QNetworkDatagram::makeReply()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::NetworkDatagram;
    /// let mut request = NetworkDatagram::new();
    /// request.set_sender("127.0.0.1".parse().unwrap(), 4000);
    /// request.set_destination("127.0.0.2".parse().unwrap(), 53);
    /// request.set_hop_limit(Some(64));
    /// let reply = request.make_reply(b"answer".to_vec());
    /// assert_eq!(reply.destination_address().to_string(), "127.0.0.1");
    /// assert_eq!(reply.destination_port(), Some(4000));
    /// assert_eq!(reply.sender_address().to_string(), "127.0.0.2");
    /// assert_eq!(reply.sender_port(), Some(53));
    /// assert_eq!(reply.hop_limit(), None);
    ///
    /// let mut broadcast = NetworkDatagram::new();
    /// broadcast.set_sender("127.0.0.1".parse().unwrap(), 4000);
    /// broadcast.set_destination("255.255.255.255".parse().unwrap(), 53);
    /// assert!(broadcast.make_reply(vec![]).sender_address().is_null());
    /// ```
    pub fn make_reply(&self, payload: Vec<u8>) -> NetworkDatagram {
        let mut reply =
            NetworkDatagram::with_destination(payload, self.sender.clone(), self.sender_port);
        reply.interface_index = self.interface_index;
        if !self.destination.is_broadcast() && !self.destination.is_multicast() {
            reply.sender = self.destination.clone();
            reply.sender_port = self.destination_port;
        }
        reply
    }

    /// Received-datagram constructor used by the socket.
    pub(crate) fn received(
        data: Vec<u8>,
        sender: (HostAddress, u16),
        destination: (HostAddress, u16),
        hop_limit: Option<u8>,
        interface_index: u32,
    ) -> NetworkDatagram {
        NetworkDatagram {
            data,
            sender: sender.0,
            sender_port: sender.1,
            destination: destination.0,
            destination_port: destination.1,
            hop_limit,
            interface_index,
        }
    }
}
