//! A slot that panics unwinds out of `exec` (or `process_events`) to the
//! application, which may catch it and enter the loop again. The loop must
//! then be whole: what the interrupted pass had not reached yet (readiness
//! of other sources, other due timers, other deferred deletes) is still
//! there for the next pass, and objects are neither stranded in a state
//! nor left undestroyed.
//!
//! Every test here panics on purpose; the panic messages on stderr are
//! expected.

mod support;

use support::waits::run_until;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use sigloop::net::{
    BindMode, HostAddress, SocketState, SpecialAddress, TcpServer, TcpSocket, UdpSocket,
};
use sigloop::{
    ElapsedTimer, EventDispatcher, IoDevice, NotifierKind, ProcessEventsFlags, SocketNotifier,
    Timer, TimerType,
};

/// A connected socket whose far end is a plain blocking std stream.
fn std_pair() -> (TcpSocket, StdStream) {
    let listener = StdListener::bind("127.0.0.1:0").expect("std listener");
    let port = listener.local_addr().unwrap().port();
    let client = TcpSocket::new();
    client.connect_to_host("127.0.0.1", port);
    let (peer, _) = listener.accept().expect("accept");
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert!(client.wait_for_connected(Some(Duration::from_secs(10))));
    (client, peer)
}

/// Runs passes until one panics (a slot was reached); fails after 30 s.
fn run_until_a_panic() {
    let clock = ElapsedTimer::started();
    while !pass_panics() {
        assert!(
            !clock.has_expired(Duration::from_secs(30)),
            "no slot panicked"
        );
    }
}

/// Runs one pass; returns whether a slot panicked out of it.
fn pass_panics() -> bool {
    panic::catch_unwind(AssertUnwindSafe(|| {
        EventDispatcher::process_events(ProcessEventsFlags::ALL_EVENTS)
    }))
    .is_err()
}

/// A slot body that panics the first time any of the slots sharing `armed`
/// runs, and counts the others.
fn first_one_panics(armed: &Rc<Cell<bool>>, count: &Rc<Cell<usize>>) -> impl Fn() {
    let (armed, count) = (armed.clone(), count.clone());
    move || {
        if armed.replace(false) {
            panic!("the first slot fails");
        }
        count.set(count.get() + 1);
    }
}

/// Readiness for several sources arrives in one poll; the first handler's
/// slot panics. The other sources must still hear of their readiness (mio
/// is edge-triggered: no new event comes for data already there), and the
/// panicking notifier stays level-triggered.
#[test]
fn a_panicking_notifier_slot_keeps_the_rest_of_the_readiness_batch() {
    const SOURCES: usize = 6;
    let armed = Rc::new(Cell::new(true));
    let fired = Rc::new(Cell::new(0));
    let mut keep = Vec::new();
    for _ in 0..SOURCES {
        let (mut writer, reader) = UnixStream::pair().unwrap();
        reader.set_nonblocking(true).unwrap();
        let notifier = SocketNotifier::new(reader.as_raw_fd(), NotifierKind::Read).unwrap();
        let slot = first_one_panics(&armed, &fired);
        let _c = notifier.activated().connect(move |_| slot());
        writer.write_all(b"x").unwrap();
        keep.push((writer, reader, notifier));
    }
    // Nothing is read, so every notifier fires on every pass from now on;
    // one pass's poll reports all of them at once.
    let clock = ElapsedTimer::started();
    while !pass_panics() {
        assert!(
            !clock.has_expired(Duration::from_secs(30)),
            "no pass ran the slots"
        );
    }
    assert!(!armed.get());
    run_until("every other notifier's slot", || fired.get() >= SOURCES - 1);
    // The one whose slot panicked was re-armed too: it fires again.
    let before = fired.get();
    run_until("the notifiers firing again", || {
        fired.get() >= before + SOURCES
    });
}

/// Several timers are due in one pass; the first one's slot panics. The
/// others must still fire, and a repeating one among them keeps ticking
/// (it was lost from the heap while `is_active` said true).
#[test]
fn a_panicking_timer_slot_keeps_the_other_due_timers() {
    const TIMERS: usize = 6;
    let armed = Rc::new(Cell::new(true));
    let fired = Rc::new(Cell::new(0));
    let mut timers = Vec::new();
    for i in 0..TIMERS {
        let timer = Timer::new();
        timer.set_timer_type(TimerType::Precise);
        // The last one repeats; the rest fire once.
        timer.set_single_shot(i + 1 < TIMERS);
        let slot = first_one_panics(&armed, &fired);
        let _c = timer.on_timeout(move |_| slot());
        timers.push(timer);
    }
    for timer in &timers {
        timer.start_with(Duration::from_millis(1));
    }
    // All are due before the loop looks at them.
    let clock = ElapsedTimer::started();
    while !clock.has_expired(Duration::from_millis(5)) {
        std::hint::spin_loop();
    }
    assert!(pass_panics(), "the first timer's slot panicked");
    run_until("the other due timers", || fired.get() >= TIMERS - 1);
    let repeating = timers.last().unwrap();
    assert!(repeating.is_active());
    let before = fired.get();
    run_until("the repeating timer's next ticks", || {
        fired.get() >= before + 3
    });
}

/// Two objects are deleted in one pass; the first one's `destroyed` slot
/// panics. The second must still be deleted (and emit `destroyed`).
#[test]
fn a_panicking_destroyed_slot_keeps_the_other_deferred_deletes() {
    let armed = Rc::new(Cell::new(true));
    let destroyed = Rc::new(Cell::new(0));
    let timers: Vec<Timer> = (0..3).map(|_| Timer::new()).collect();
    for timer in &timers {
        let slot = first_one_panics(&armed, &destroyed);
        let _c = timer.destroyed().connect(move |_| slot());
        timer.delete_later();
    }
    let outcome = panic::catch_unwind(AssertUnwindSafe(EventDispatcher::send_posted_deletes));
    assert!(outcome.is_err(), "the first destroyed slot panicked");
    EventDispatcher::send_posted_deletes();
    assert_eq!(destroyed.get(), 2, "the other two were deleted");
    assert!(timers.iter().all(Timer::is_deleted));
}

/// The same from the loop: the deletes run on the next pass after the
/// panic, not only when forced.
#[test]
fn deferred_deletes_left_by_a_panic_run_on_the_next_pass() {
    let armed = Rc::new(Cell::new(true));
    let destroyed = Rc::new(Cell::new(0));
    let timers: Vec<Timer> = (0..3).map(|_| Timer::new()).collect();
    let order = Rc::new(RefCell::new(Vec::new()));
    for (i, timer) in timers.iter().enumerate() {
        let slot = first_one_panics(&armed, &destroyed);
        let order = order.clone();
        let _c = timer.destroyed().connect(move |_| {
            order.borrow_mut().push(i);
            slot();
        });
    }
    // Deleted from a posted call, so the deletes are due at the next pass
    // of the loop level below.
    let t = timers.clone();
    EventDispatcher::post(move || t.iter().for_each(Timer::delete_later));
    run_until_a_panic();
    run_until("the other deletes", || destroyed.get() == 2);
    assert_eq!(*order.borrow(), [0, 1, 2], "the rest kept their order");
}

// ----- sockets -------------------------------------------------------------

/// Data for many sockets arrives in one poll; the first `ready_read` slot
/// panics. Every other socket must still read its data (edge-triggered:
/// no new event comes for it), and echo it.
#[test]
fn a_panicking_ready_read_slot_keeps_the_other_sockets_of_the_batch() {
    const SOCKETS: usize = 8;
    let armed = Rc::new(Cell::new(true));
    let echoed = Rc::new(Cell::new(0));
    let mut pairs = Vec::new();
    for _ in 0..SOCKETS {
        let (socket, peer) = std_pair();
        let (armed, echoed) = (armed.clone(), echoed.clone());
        let _c = socket.ready_read().connect_to(&socket, move |socket, _| {
            if armed.replace(false) {
                panic!("the first slot fails");
            }
            let data = socket.read_all().unwrap();
            socket.write(&data).unwrap();
            echoed.set(echoed.get() + 1);
        });
        pairs.push((socket, peer));
    }
    // Take the connections' first edges and scheduled reads now, so that
    // only the readiness events below read.
    support::waits::settle(Duration::from_millis(20));
    for (_, peer) in &mut pairs {
        peer.write_all(b"ping").unwrap();
    }
    run_until_a_panic();
    run_until("the other sockets' echoes", || echoed.get() == SOCKETS - 1);
    let mut replies = 0;
    for (_, peer) in &mut pairs {
        peer.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut got = [0u8; 4];
        if peer.read_exact(&mut got).is_ok() {
            assert_eq!(&got, b"ping");
            replies += 1;
        }
    }
    assert_eq!(replies, SOCKETS - 1);
}

/// The peer's data and its FIN arrive together; the `ready_read` slot for
/// that data panics. The socket must still see the end of the stream and
/// close (it stayed Connected, with a CLOSE_WAIT behind it).
#[test]
fn a_panicking_ready_read_slot_does_not_lose_the_fin_that_came_with_the_data() {
    let (socket, mut peer) = std_pair();
    let armed = Rc::new(Cell::new(true));
    let a = armed.clone();
    let _c = socket.ready_read().connect(move |_| {
        if a.replace(false) {
            panic!("the ready_read slot fails");
        }
    });
    let disconnected = support::waits::counter(socket.disconnected());
    // Take the connection's first edges and scheduled read now, so that
    // only the readiness event below reads.
    support::waits::settle(Duration::from_millis(20));
    peer.write_all(b"last words").unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    // Both are in the socket's receive queue before the loop looks.
    let clock = ElapsedTimer::started();
    while !pass_panics() {
        assert!(!clock.has_expired(Duration::from_secs(30)), "no ready_read");
    }
    run_until("the remote close", || {
        socket.state() == SocketState::Unconnected
    });
    assert_eq!(disconnected.get(), 1);
    assert_eq!(socket.read_all().unwrap(), b"last words");
    // The peer sees our side close too: no CLOSE_WAIT is left behind.
    let mut rest = Vec::new();
    assert_eq!(peer.read_to_end(&mut rest).unwrap(), 0);
}

/// A `disconnected` slot panics while `delete_later` tears the socket
/// down. The deletion must still complete: `destroyed` once, every
/// connection dropped (here: the Rc a slot holds is released).
#[test]
fn a_panicking_close_signal_does_not_leave_the_socket_undestroyed() {
    let (socket, _peer) = std_pair();
    let _boom = socket
        .disconnected()
        .connect(|_| panic!("disconnected fails"));
    let held = Rc::new(());
    let h = held.clone();
    let _holder = socket.ready_read().connect(move |_| {
        let _ = &h;
    });
    let destroyed = support::waits::counter(socket.destroyed());
    // From a posted call, so the delete is due on the loop's next pass.
    let s = socket.clone();
    EventDispatcher::post(move || s.delete_later());
    run_until_a_panic();
    run_until("destroyed", || destroyed.get() == 1);
    assert!(socket.is_deleted());
    assert_eq!(socket.state(), SocketState::Unconnected);
    assert_eq!(
        Rc::strong_count(&held),
        1,
        "the socket's slots were dropped"
    );
    support::waits::settle(Duration::from_millis(20));
    assert_eq!(destroyed.get(), 1, "destroyed is emitted once");
}

/// The same when the `destroyed` slot itself panics: the other
/// connections are still dropped.
#[test]
fn a_panicking_destroyed_slot_still_drops_the_sockets_connections() {
    let (socket, _peer) = std_pair();
    let _boom = socket.destroyed().connect(|_| panic!("destroyed fails"));
    let held = Rc::new(());
    let h = held.clone();
    let _holder = socket.ready_read().connect(move |_| {
        let _ = &h;
    });
    // From a posted call, so the delete is due on the loop's next pass.
    let s = socket.clone();
    EventDispatcher::post(move || s.delete_later());
    run_until_a_panic();
    run_until("the connections dropped", || Rc::strong_count(&held) == 1);
    assert!(socket.is_deleted());
}

// ----- servers and datagrams -----------------------------------------------

/// Several clients are in the listen backlog before the loop looks; the
/// first `new_connection` slot panics. The rest must still be accepted
/// after the panic, with no new client arriving (the listener is
/// edge-triggered: no new event comes for connections already queued).
#[test]
fn a_panicking_new_connection_slot_keeps_the_rest_of_the_backlog() {
    const CLIENTS: usize = 5;
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .expect("listen");
    let armed = Rc::new(Cell::new(true));
    let announced = Rc::new(Cell::new(0));
    let slot = first_one_panics(&armed, &announced);
    let _c = server.new_connection().connect(move |_| slot());
    // Each connect returns once the kernel queued the connection.
    let clients: Vec<StdStream> = (0..CLIENTS)
        .map(|_| StdStream::connect(("127.0.0.1", server.server_port())).expect("connect"))
        .collect();
    run_until_a_panic();
    run_until("the rest of the backlog", || announced.get() == CLIENTS - 1);
    let mut accepted = 0;
    while server.next_pending_connection().is_some() {
        accepted += 1;
    }
    assert_eq!(accepted, CLIENTS, "every queued client was accepted");
    drop(clients);
}

/// Datagrams wait on a bound socket; the `ready_read` slot panics
/// without reading. The read gate must not stay closed: the datagrams
/// still there are announced again on a later pass, with no new one
/// arriving, and all of them can be read.
#[test]
fn a_panicking_ready_read_slot_does_not_close_the_datagram_gate() {
    const DATAGRAMS: usize = 3;
    let socket = UdpSocket::new();
    socket
        .bind(
            &HostAddress::from(SpecialAddress::LocalHost),
            0,
            BindMode::DEFAULT_FOR_PLATFORM,
        )
        .expect("bind");
    let armed = Rc::new(Cell::new(true));
    let received = Rc::new(Cell::new(0));
    let (a, r) = (armed.clone(), received.clone());
    let _c = socket.ready_read().connect_to(&socket, move |socket, _| {
        if a.replace(false) {
            panic!("the ready_read slot fails");
        }
        while socket.has_pending_datagrams() {
            let datagram = socket.receive_datagram(None);
            assert_eq!(datagram.data(), b"ping");
            r.set(r.get() + 1);
        }
    });
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("sender");
    for _ in 0..DATAGRAMS {
        sender
            .send_to(b"ping", ("127.0.0.1", socket.local_port()))
            .unwrap();
    }
    run_until_a_panic();
    run_until("the waiting datagrams announced again", || {
        received.get() == DATAGRAMS
    });
    // And the gate works as before for a datagram arriving later.
    sender
        .send_to(b"ping", ("127.0.0.1", socket.local_port()))
        .unwrap();
    run_until("a later datagram", || received.get() == DATAGRAMS + 1);
}

/// The incoming-connection handler (Qt: an `incomingConnection` override)
/// panics on the first connection. It must stay installed: the rest of
/// the backlog, and later clients, still go to it, not to the pending
/// queue as plain sockets.
#[test]
fn a_panicking_incoming_connection_handler_stays_installed() {
    const CLIENTS: usize = 3;
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .expect("listen");
    let armed = Rc::new(Cell::new(true));
    let handled = Rc::new(Cell::new(0));
    let (a, h) = (armed.clone(), handled.clone());
    server.set_incoming_connection_handler(move |fd| {
        drop(fd);
        if a.replace(false) {
            panic!("the handler fails");
        }
        h.set(h.get() + 1);
    });
    let port = server.server_port();
    let mut clients: Vec<StdStream> = (0..CLIENTS)
        .map(|_| StdStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    run_until_a_panic();
    run_until("the rest of the backlog handled", || {
        handled.get() == CLIENTS - 1
    });
    clients.push(StdStream::connect(("127.0.0.1", port)).expect("connect"));
    run_until("a later client handled", || handled.get() == CLIENTS);
    assert!(
        !server.has_pending_connections(),
        "no connection bypassed the handler"
    );
}

/// Connects to `host` on a fresh listener with a `host_found` slot that
/// panics once, and checks the connect goes on after the panic.
fn connect_survives_a_panicking_host_found_slot(host: &str) {
    let listener = StdListener::bind("127.0.0.1:0").expect("std listener");
    let port = listener.local_addr().unwrap().port();
    let socket = TcpSocket::new();
    let armed = Rc::new(Cell::new(true));
    let a = armed.clone();
    let _ = socket.host_found().connect(move |_| {
        if a.replace(false) {
            panic!("the host_found slot fails");
        }
    });
    // A literal address is "found" inside connect_to_host, so the panic
    // may come out of that call rather than out of a pass.
    let direct = panic::catch_unwind(AssertUnwindSafe(|| socket.connect_to_host(host, port)));
    if direct.is_ok() {
        run_until_a_panic();
    }
    assert!(!armed.get(), "the host_found slot ran");
    run_until("connected after the panicking host_found slot", || {
        socket.state() == SocketState::Connected
    });
    listener
        .accept()
        .expect("the connection reached the listener");
}

#[test]
fn a_panicking_host_found_slot_does_not_strand_a_literal_connect() {
    connect_survives_a_panicking_host_found_slot("127.0.0.1");
}

#[test]
fn a_panicking_host_found_slot_does_not_strand_a_looked_up_connect() {
    connect_survives_a_panicking_host_found_slot("localhost");
}
