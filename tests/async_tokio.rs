//! sigloop inside a tokio application (the `tokio` feature, which the
//! crate's dev-dependencies turn on): `sigloop::tokio::run` drives the
//! thread's loop from a `current_thread` runtime and a `LocalSet`, beside
//! tokio tasks, with no extra thread and no polling while idle.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use sigloop::{
    spawn_local, EventDispatcher, HostAddress, IoDevice, LoopThread, SpecialAddress, TcpServer,
    TcpSocket, Timer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::LocalSet;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current_thread runtime")
}

/// A deadline for every test: tokio's own timer fails the test instead of
/// letting it hang.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `body` beside the sigloop driver on one LocalSet and returns the
/// driver's exit code (the body ends it with `EventDispatcher::exit`).
fn with_driver<F: std::future::Future<Output = ()> + 'static>(body: F) -> i32 {
    let local = LocalSet::new();
    local.block_on(&runtime(), async move {
        let driver = tokio::task::spawn_local(sigloop::tokio::run());
        tokio::task::spawn_local(body);
        tokio::time::timeout(DEADLINE, driver)
            .await
            .expect("the test timed out")
            .expect("the driver panicked")
    })
}

/// A sigloop TcpServer (slots) echoes for a tokio client, and a sigloop
/// client task talks to a tokio listener: one thread.
#[test]
fn sigloop_and_tokio_sockets_talk_on_one_thread() {
    let home = std::thread::current().id();
    let code = with_driver(async move {
        // sigloop's echo server, written with slots.
        let server = TcpServer::new();
        server
            .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
            .unwrap();
        let _c = server.new_connection().connect_to(&server, |server, _| {
            while let Some(socket) = server.next_pending_connection() {
                let _ = socket.ready_read().connect_to(&socket, |s, _| {
                    let data = s.read_all().unwrap();
                    s.write(&data).unwrap();
                });
            }
        });
        let port = server.server_port();
        let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        client.write_all(b"to sigloop").await.unwrap();
        let mut back = [0u8; 10];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"to sigloop");

        // tokio's listener, a sigloop client task.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tport = listener.local_addr().unwrap().port();
        let sigloop_client = spawn_local(async move {
            let socket = TcpSocket::new();
            socket.connect("127.0.0.1", tport).await.unwrap();
            socket.write_all_async(b"to tokio").await.unwrap();
            let mut buf = [0u8; 8];
            let mut got = 0;
            while got < 8 {
                got += socket.read_async(&mut buf[got..]).await.unwrap();
            }
            assert_eq!(std::thread::current().id(), home);
            buf
        });
        let (mut peer, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 8];
        peer.read_exact(&mut buf).await.unwrap();
        peer.write_all(&buf).await.unwrap();
        assert_eq!(&sigloop_client.await.unwrap(), b"to tokio");
        drop(server);
        EventDispatcher::exit(5);
    });
    assert_eq!(code, 5);
}

/// Work a tokio task gives the sleeping loop (a posted call, a timer
/// started, a quit) is served at once: the descriptor is woken.
#[test]
fn work_from_tokio_tasks_wakes_the_sleeping_loop() {
    let code = with_driver(async {
        // The loop sleeps with nothing to do: no timer, no I/O.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        EventDispatcher::post(move || r.set(true));
        let start = Instant::now();
        while !ran.get() {
            assert!(start.elapsed() < DEADLINE, "the posted call never ran");
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let fired = Rc::new(Cell::new(false));
        let f = fired.clone();
        Timer::single_shot(Duration::from_millis(5), move || f.set(true));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(fired.get(), "the sigloop timer did not fire in 200 ms");
        tokio::time::sleep(Duration::from_millis(20)).await;
        EventDispatcher::quit();
    });
    assert_eq!(code, 0);
}

/// A call posted from another thread (through a LoopHandle) wakes the
/// driver through the loop's descriptor.
#[test]
fn a_post_from_another_thread_wakes_the_driver() {
    let code = with_driver(async {
        let handle = EventDispatcher::handle();
        let worker = LoopThread::start("poster").unwrap();
        worker
            .handle()
            .post(move || {
                handle.post(|| EventDispatcher::exit(9)).unwrap();
            })
            .unwrap();
        // The worker is stopped when dropped, after its post ran.
        std::future::pending::<()>().await;
        drop(worker);
    });
    assert_eq!(code, 9);
}

/// The thread's CPU time so far, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat");
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// No busy polling: with a sigloop task reading an idle socket, a long
/// sigloop timer and a tokio task asleep, a quiet second costs next to no
/// CPU on the runtime's thread.
#[test]
fn the_driver_does_not_poll_while_idle() {
    let used = Rc::new(Cell::new(u64::MAX));
    let u = used.clone();
    let code = with_driver(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let socket = TcpSocket::new();
        let reader = spawn_local(async move {
            socket.connect("127.0.0.1", port).await.unwrap();
            let mut buf = [0u8; 4];
            socket.read_async(&mut buf).await
        });
        let (_peer, _) = listener.accept().await.unwrap();
        let long = Timer::new();
        long.start_with(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let before = thread_cpu_ns();
        tokio::time::sleep(Duration::from_secs(1)).await;
        u.set(thread_cpu_ns() - before);
        assert!(!reader.is_finished());
        reader.abort();
        EventDispatcher::exit(1);
    });
    assert_eq!(code, 1);
    assert!(
        used.get() < 100_000_000,
        "the idle second used {} ms of CPU",
        used.get() / 1_000_000
    );
}

/// A second driver on a thread whose loop runs already returns -1.
#[test]
fn a_second_driver_is_refused() {
    let code = with_driver(async {
        let second = sigloop::tokio::run().await;
        assert_eq!(second, -1);
        assert_eq!(EventDispatcher::exec(), -1, "exec is refused too");
        EventDispatcher::exit(2);
    });
    assert_eq!(code, 2);
}

/// `delete_later` called from a tokio task is carried out by the next
/// pass, as from a slot under `exec` (Qt's event handlers run one scope
/// deep); before, it waited for a pass that never came.
#[test]
fn delete_later_from_a_tokio_task_is_carried_out() {
    let code = with_driver(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let timer = Timer::new();
        let destroyed = support::waits::counter(timer.destroyed());
        timer.delete_later();
        let start = Instant::now();
        while destroyed.get() == 0 {
            assert!(start.elapsed() < DEADLINE, "the delete never ran");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(timer.is_deleted());
        EventDispatcher::exit(4);
    });
    assert_eq!(code, 4);
}
