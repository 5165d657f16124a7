//! `ConnectPolicy::HappyEyeballs` (RFC 8305) against Qt's sequential
//! connect, with a name whose IPv6 address is black-holed.
//!
//! Each namespace test runs in a child process in new network and mount
//! namespaces ([`Isolation::NetMountNs`]): a veth pair carries
//! `fd00:e7e::1/64`, and a permanent neighbour entry sends
//! `fd00:e7e::2` to a MAC nobody has, so a SYN to it vanishes (the
//! connect stays pending, no error ever comes back). `/etc/hosts` is
//! replaced, inside the mount namespace only, by one that gives
//! `dual.test` that IPv6 address and 127.0.0.1, where the test listens.
//! Nothing leaves the namespace: it has no route but the veth's prefix.

mod support;

use std::cell::RefCell;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sigloop::{
    BindMode, ConnectPolicy, HostAddress, HostInfo, NetworkProxy, SocketError, SocketState,
    SpecialAddress, TcpSocket, UdpSocket,
};
use support::isolate::{self, is_child_for, run_test_in_child, Isolation};
use support::waits::{run_until, settle};

/// The black hole for `fd00:e7e::2` and the hosts file naming it.
const SETUP: &str = "ip link add veth0 type veth peer name veth1 \
     && ip link set veth0 up && ip link set veth1 up \
     && ip -6 addr add fd00:e7e::1/64 dev veth0 nodad \
     && ip -6 neigh add fd00:e7e::2 lladdr 02:00:00:00:00:02 dev veth0 nud permanent \
     && hosts=$(mktemp) \
     && printf '127.0.0.1 localhost\\nfd00:e7e::2 dual.test\\n127.0.0.1 dual.test\\n' > \"$hosts\" \
     && mount --bind \"$hosts\" /etc/hosts && rm \"$hosts\"";

const NAME: &str = "dual.test";
const BLACK_HOLE: &str = "fd00:e7e::2";

/// Inside the child: the namespace is private and `dual.test` resolves
/// to the black hole first, then to loopback (the order Qt would try).
fn check_setup() {
    isolate::assert_private_netns_with(&["lo", "veth0", "veth1"]);
    let info = HostInfo::from_name(NAME);
    let found: Vec<String> = info.addresses().iter().map(|a| a.to_string()).collect();
    assert_eq!(found, [BLACK_HOLE, "127.0.0.1"], "{}", info.error_string());
}

/// The signals a socket emits, in Qt's names.
fn trace(socket: &TcpSocket) -> Rc<RefCell<Vec<String>>> {
    let lines = Rc::new(RefCell::new(Vec::new()));
    let l = lines.clone();
    let _ = socket
        .state_changed()
        .connect(move |s| l.borrow_mut().push(format!("stateChanged {}", s.qt_name())));
    let l = lines.clone();
    let _ = socket
        .host_found()
        .connect(move |_| l.borrow_mut().push("hostFound".into()));
    let l = lines.clone();
    let _ = socket
        .connected()
        .connect(move |_| l.borrow_mut().push("connected".into()));
    let l = lines.clone();
    let _ = socket
        .error_occurred()
        .connect(move |e| l.borrow_mut().push(format!("errorOccurred {e:?}")));
    lines
}

const CONNECTED: [&str; 5] = [
    "stateChanged HostLookupState",
    "stateChanged ConnectingState",
    "hostFound",
    "stateChanged ConnectedState",
    "connected",
];

/// This process's open descriptors, by what they are.
fn open_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .filter(|p| !p.starts_with("/proc/"))
        .collect()
}

/// Asserts that `extra` descriptors more than `before` are open.
#[track_caller]
fn assert_fds(before: &[String], extra: usize) {
    let now = open_fds();
    assert_eq!(
        now.len(),
        before.len() + extra,
        "before {before:?}, now {now:?}"
    );
}

#[test]
fn happy_eyeballs_connects_over_ipv4_while_ipv6_is_black_holed() {
    const TEST: &str = "happy_eyeballs_connects_over_ipv4_while_ipv6_is_black_holed";
    if !is_child_for(TEST) {
        return run_test_in_child(Isolation::NetMountNs(SETUP), TEST);
    }
    check_setup();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    let lines = trace(&socket);
    // The loop's own descriptors exist before the count starts.
    settle(Duration::from_millis(1));
    let fds = open_fds();
    let started = Instant::now();
    socket.connect_to_host(NAME, port);
    run_until("connected", || socket.state() == SocketState::Connected);
    let took = started.elapsed();
    eprintln!("happy eyeballs: connected over IPv4 after {took:?}");
    assert_eq!(*lines.borrow(), CONNECTED);
    assert_eq!(
        socket.peer_address(),
        HostAddress::from(SpecialAddress::LocalHost)
    );
    assert_eq!(socket.peer_name(), NAME);
    // IPv6 went first: the IPv4 attempt waited for the attempt delay.
    assert!(
        took >= ConnectPolicy::ATTEMPT_DELAY - Duration::from_millis(20),
        "connected after {took:?}: the IPv6 attempt did not go first"
    );
    // Qt's sequential connect would still wait for 30 s here.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // The loser is closed: one descriptor more than before, the winner's.
    assert_fds(&fds, 1);
    // Nothing more comes from the race.
    settle(Duration::from_millis(400));
    assert_eq!(lines.borrow().len(), CONNECTED.len());
    socket.abort();

    // The same through the blocking wait, with no loop running.
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    let lines = trace(&socket);
    let started = Instant::now();
    socket.connect_to_host(NAME, port);
    assert!(socket.wait_for_connected(Some(Duration::from_secs(10))));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(*lines.borrow(), CONNECTED);
    assert_fds(&fds, 1);
    socket.abort();

    // An abort in the middle of the race closes every attempt, silently.
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    socket.connect_to_host(NAME, port);
    run_until("connecting", || socket.state() == SocketState::Connecting);
    let lines = trace(&socket);
    socket.abort();
    assert_eq!(*lines.borrow(), ["stateChanged UnconnectedState"]);
    assert_fds(&fds, 0);
    settle(Duration::from_millis(400));
    assert_eq!(lines.borrow().len(), 1);
}

#[test]
fn sequential_default_waits_on_the_black_holed_ipv6_first() {
    const TEST: &str = "sequential_default_waits_on_the_black_holed_ipv6_first";
    if !is_child_for(TEST) {
        return run_test_in_child(Isolation::NetMountNs(SETUP), TEST);
    }
    check_setup();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    // Qt's 30 s per attempt: after a second, still on the IPv6 address.
    let socket = TcpSocket::new();
    assert_eq!(socket.connect_policy(), ConnectPolicy::Sequential);
    socket.connect_to_host(NAME, port);
    settle(Duration::from_secs(1));
    assert_eq!(socket.state(), SocketState::Connecting);
    socket.abort();

    // With a short timeout the IPv6 attempt times out, then IPv4 connects:
    // the same signals, only later.
    const TIMEOUT: Duration = Duration::from_millis(600);
    let socket = TcpSocket::new();
    socket.set_connect_timeout(TIMEOUT);
    let lines = trace(&socket);
    let started = Instant::now();
    socket.connect_to_host(NAME, port);
    run_until("connected", || socket.state() == SocketState::Connected);
    let took = started.elapsed();
    assert!(took >= TIMEOUT, "connected after {took:?}");
    assert_eq!(*lines.borrow(), CONNECTED);
    assert_eq!(
        socket.peer_address(),
        HostAddress::from(SpecialAddress::LocalHost)
    );
    socket.abort();
}

#[test]
fn happy_eyeballs_that_all_fail_report_the_last_failure() {
    const TEST: &str = "happy_eyeballs_that_all_fail_report_the_last_failure";
    if !is_child_for(TEST) {
        return run_test_in_child(Isolation::NetMountNs(SETUP), TEST);
    }
    check_setup();
    // A port nobody listens on: IPv4 is refused, IPv6 never answers.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    const TIMEOUT: Duration = Duration::from_millis(800);
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    socket.set_connect_timeout(TIMEOUT);
    let lines = trace(&socket);
    let started = Instant::now();
    socket.connect_to_host(NAME, port);
    run_until("unconnected", || socket.state() == SocketState::Unconnected);
    let took = started.elapsed();
    // The IPv4 refusal came first; the IPv6 attempt's timeout last.
    assert!(took >= TIMEOUT, "failed after {took:?}");
    assert_eq!(
        *lines.borrow(),
        [
            "stateChanged HostLookupState",
            "stateChanged ConnectingState",
            "hostFound",
            "stateChanged UnconnectedState",
            "errorOccurred SocketTimeout",
        ]
    );
    assert_eq!(socket.error(), SocketError::SocketTimeout);
    assert_eq!(socket.error_string(), "Connection timed out");

    // A blocking wait that gives up first closes every attempt, with Qt's
    // wait timeout (no `error_occurred`).
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    let fds = open_fds();
    let lines = trace(&socket);
    socket.connect_to_host(NAME, port);
    assert!(!socket.wait_for_connected(Some(Duration::from_millis(400))));
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert_eq!(socket.error(), SocketError::SocketTimeout);
    assert_eq!(socket.error_string(), "Socket operation timed out");
    assert_eq!(
        *lines.borrow(),
        [
            "stateChanged HostLookupState",
            "stateChanged ConnectingState",
            "hostFound",
            "stateChanged UnconnectedState",
        ]
    );
    assert_fds(&fds, 0);
}

/// Outside any namespace: loopback only. A refused race reports Qt's
/// refusal, once, with Qt's sequence.
#[test]
fn happy_eyeballs_refused_on_loopback() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    let lines = trace(&socket);
    socket.connect_to_host("127.0.0.1", port);
    run_until("unconnected", || socket.state() == SocketState::Unconnected);
    assert_eq!(
        *lines.borrow(),
        [
            "stateChanged HostLookupState",
            "stateChanged ConnectingState",
            "hostFound",
            "stateChanged UnconnectedState",
            "errorOccurred ConnectionRefused",
        ]
    );
    assert_eq!(socket.error_string(), "Connection refused");
}

/// A connect timeout of `Duration::MAX` is "never", a century is only
/// long: the race still connects, and nothing panics on the deadline
/// arithmetic.
#[test]
fn happy_eyeballs_with_endless_connect_timeouts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for timeout in [Duration::MAX, Duration::from_secs(100 * 365 * 24 * 3600)] {
        let socket = TcpSocket::new();
        socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
        socket.set_connect_timeout(timeout);
        socket.connect_to_host("localhost", port);
        run_until("connected", || socket.state() == SocketState::Connected);
        assert_eq!(socket.peer_port(), port);
    }
}

/// Through a proxy the policy changes nothing: the proxy connects to the
/// target, and the socket sees Qt's sequence for a refused proxy.
#[test]
fn happy_eyeballs_through_a_proxy_is_qt_sequential() {
    let proxy_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut traces = Vec::new();
    for policy in [ConnectPolicy::Sequential, ConnectPolicy::HappyEyeballs] {
        let socket = TcpSocket::new();
        socket.set_connect_policy(policy);
        socket.set_proxy(
            NetworkProxy::from_url(&format!("socks5://127.0.0.1:{proxy_port}")).unwrap(),
        );
        let lines = trace(&socket);
        socket.connect_to_host("localhost", 7);
        run_until("unconnected", || socket.state() == SocketState::Unconnected);
        assert_eq!(socket.error(), SocketError::ProxyConnectionRefused);
        traces.push(lines.borrow().clone());
    }
    assert_eq!(traces[0], traces[1]);
}

/// A socket bound before it connects has one OS socket: the connect uses
/// it (sequentially), so the local port stays the bound one.
#[test]
fn happy_eyeballs_on_a_bound_socket_connects_from_the_bound_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    socket
        .bind(
            &HostAddress::from(SpecialAddress::LocalHost),
            0,
            BindMode::DEFAULT_FOR_PLATFORM,
        )
        .unwrap();
    let bound = socket.local_port();
    socket.connect_to_host("localhost", listener.local_addr().unwrap().port());
    run_until("connected", || socket.state() == SocketState::Connected);
    assert_eq!(socket.local_port(), bound);
}

/// A UDP connect only records the peer: with the policy it is still
/// synchronous for a literal, as in Qt.
#[test]
fn happy_eyeballs_leaves_a_udp_connect_as_qt_makes_it() {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let socket = UdpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    socket.connect_to_host("127.0.0.1", peer.local_addr().unwrap().port());
    assert_eq!(socket.state(), SocketState::Connected);
}

/// IPv6 fails inside `connect` for `unroutable.test` (an `unreachable`
/// route), and from the loop for `refused.test` (`::1`, where nothing
/// listens: the refusal is reported by readiness); both names' IPv4
/// address is black-holed (routed into `lo`, where nobody owns it), so its
/// attempt stays pending, visible in `/proc/net/tcp` as `SYN_SENT`.
const FAIL_SETUP: &str = "ip route add 198.51.100.0/24 dev lo \
     && ip -6 route add unreachable fd00:bad::/64 \
     && hosts=$(mktemp) \
     && printf '127.0.0.1 localhost\\nfd00:bad::2 unroutable.test\\n198.51.100.1 unroutable.test\\n::1 refused.test\\n198.51.100.1 refused.test\\n' > \"$hosts\" \
     && mount --bind \"$hosts\" /etc/hosts && rm \"$hosts\"";

/// Whether this namespace has a TCP socket in `SYN_SENT` (state 02) to
/// `peer`, from `/proc/self/net/tcp` or `tcp6` (addresses as the kernel
/// prints them: each 32-bit word in host order, in hex).
fn syn_sent_to(peer: std::net::SocketAddr) -> bool {
    let (table, words) = match peer.ip() {
        std::net::IpAddr::V4(ip) => ("/proc/self/net/tcp", ip.octets().to_vec()),
        std::net::IpAddr::V6(ip) => ("/proc/self/net/tcp6", ip.octets().to_vec()),
    };
    let address: String = words
        .chunks(4)
        .map(|w| format!("{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .collect();
    let remote = format!("{address}:{:04X}", peer.port());
    std::fs::read_to_string(table)
        .unwrap()
        .lines()
        .skip(1)
        .any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(2) == Some(&remote.as_str()) && fields.get(3) == Some(&"02")
        })
}

#[test]
fn happy_eyeballs_starts_the_next_attempt_at_once_after_a_failure() {
    const TEST: &str = "happy_eyeballs_starts_the_next_attempt_at_once_after_a_failure";
    if !is_child_for(TEST) {
        return run_test_in_child(Isolation::NetMountNs(FAIL_SETUP), TEST);
    }
    isolate::assert_private_netns();
    let v4: std::net::SocketAddr = "198.51.100.1:80".parse().unwrap();

    // Failed inside `connect`: the IPv4 attempt is under way by the time
    // the call that started the race returns.
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    socket.connect_to_host("unroutable.test", 80);
    run_until("connecting", || socket.state() == SocketState::Connecting);
    assert!(syn_sent_to(v4), "no IPv4 attempt after the IPv6 one failed");
    socket.abort();
    run_until("the attempt closed", || !syn_sent_to(v4));

    // Failed from the loop: the socket of the refused attempt is closed
    // and the next one opened in the same step, so at no moment is the
    // race left without a socket (waiting out the attempt delay would
    // leave 250 ms without one).
    let sockets = || {
        open_fds()
            .iter()
            .filter(|fd| fd.starts_with("socket:"))
            .count()
    };
    let socket = TcpSocket::new();
    socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
    socket.connect_to_host("refused.test", 80);
    run_until("the IPv4 attempt", || {
        if socket.state() == SocketState::Connecting {
            assert!(sockets() >= 1, "no attempt in flight while connecting");
        }
        syn_sent_to(v4)
    });
    assert_eq!(sockets(), 1, "the refused IPv6 attempt is closed");
    assert_eq!(socket.state(), SocketState::Connecting);
    socket.abort();
}
