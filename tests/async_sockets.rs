//! Sockets under async/await: `connect(..).await` with the signal path's
//! errors and texts, `read_async`/`write_all_async` and
//! `futures_io::AsyncRead`/`AsyncWrite` (through `futures::io::copy`), the
//! read buffer limit and write back-pressure, tasks that outlive their
//! socket, re-entrancy, and no wake-ups while idle. Loopback only.

mod support;

use support::waits::run_until;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::rc::Rc;
use std::time::Duration;

use futures_util::io::{copy, AsyncReadExt, AsyncWriteExt};
use sigloop::net::async_io::WRITE_HIGH_WATER;
use sigloop::{
    block_on, sleep, spawn_local, HostAddress, IoDevice, Signal, SocketError, SocketState,
    SpecialAddress, TcpServer, TcpSocket,
};

fn std_listener() -> (StdListener, u16) {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let (listener, port) = std_listener();
    drop(listener);
    port
}

/// A connected socket and its std peer.
fn connected_pair() -> (TcpSocket, StdStream) {
    let (listener, port) = std_listener();
    let socket = TcpSocket::new();
    assert_eq!(block_on(socket.connect("127.0.0.1", port)), Some(Ok(())));
    let (peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    (socket, peer)
}

/// The awaited connect gives the error the signal path reports, and the
/// socket keeps Qt's text for it; every signal is still emitted.
#[test]
fn connect_await_gives_the_signal_paths_errors_and_texts() {
    let port = closed_port();

    let by_signal = TcpSocket::new();
    let seen = Rc::new(Cell::new(None));
    let s = seen.clone();
    let _c = by_signal.error_occurred().connect(move |e| s.set(Some(*e)));
    by_signal.connect_to_host("127.0.0.1", port);
    run_until("the refusal", || seen.get().is_some());

    let awaited = TcpSocket::new();
    let errors = support::waits::counter(awaited.error_occurred());
    let result = block_on(awaited.connect("127.0.0.1", port)).unwrap();
    assert_eq!(result, Err(SocketError::ConnectionRefused));
    assert_eq!(Some(SocketError::ConnectionRefused), seen.get());
    assert_eq!(awaited.error_string(), by_signal.error_string());
    assert_eq!(awaited.error_string(), "Connection refused");
    assert_eq!(errors.get(), 1, "error_occurred was still emitted");
    assert_eq!(awaited.state(), SocketState::Unconnected);

    // A busy socket: Qt's OperationError and its text.
    let (_listener, open) = std_listener();
    let busy = TcpSocket::new();
    busy.connect_to_host("127.0.0.1", open);
    let result = block_on(busy.connect("127.0.0.1", open)).unwrap();
    assert_eq!(result, Err(SocketError::Operation));
    assert_eq!(
        busy.error_string(),
        "Trying to connect while connection is in progress"
    );

    // Dropping the future disconnects its slots.
    let socket = TcpSocket::new();
    let before = socket.connected().receivers();
    drop(socket.connect("127.0.0.1", open));
    assert_eq!(socket.connected().receivers(), before);
    socket.abort();
}

/// An abort while a connect is awaited ends the wait (no error signal
/// comes; the socket's error is still Unknown).
#[test]
fn an_abort_ends_an_awaited_connect() {
    let (_listener, port) = std_listener();
    let socket = TcpSocket::new();
    let s = socket.clone();
    sigloop::EventDispatcher::post(move || s.abort());
    // The loopback connect may complete before the abort runs.
    let result = block_on(socket.connect("127.0.0.1", port)).unwrap();
    assert!(
        matches!(result, Ok(()) | Err(SocketError::Unknown)),
        "{result:?}"
    );
}

/// `read_async` and `write_all_async` move bytes both ways; the end of the
/// stream reads as `Ok(0)`.
#[test]
fn read_and_write_futures_talk_to_a_plain_peer() {
    let (socket, mut peer) = connected_pair();
    let peer_thread = std::thread::spawn(move || {
        let mut line = [0u8; 5];
        peer.read_exact(&mut line).unwrap();
        assert_eq!(&line, b"ping\n");
        peer.write_all(b"pong\n").unwrap();
    });
    let got = block_on(async move {
        socket.write_all_async(b"ping\n").await.unwrap();
        let mut all = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            let n = socket.read_async(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    })
    .unwrap();
    peer_thread.join().unwrap();
    assert_eq!(got, b"pong\n");
}

/// `futures::io::copy` over `AsyncRead`/`AsyncWrite`: an echo server task
/// per connection on a sigloop `TcpServer`; a client task sends 1 MiB and
/// reads it back intact.
#[test]
fn futures_io_copy_echoes_a_mebibyte() {
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .unwrap();
    let port = server.server_port();
    let _c = server.new_connection().connect_to(&server, |server, _| {
        while let Some(socket) = server.next_pending_connection() {
            drop(spawn_local(async move {
                let (mut reader, mut writer) = (&socket, &socket);
                copy(&mut reader, &mut writer).await.unwrap();
                writer.close().await.unwrap();
            }));
        }
    });
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let expected = data.clone();
    let echoed = block_on(async move {
        let client = TcpSocket::new();
        client.connect("127.0.0.1", port).await.unwrap();
        let writer = client.clone();
        let sending = spawn_local(async move {
            let mut w = &writer;
            w.write_all(&data).await.unwrap();
            AsyncWriteExt::flush(&mut w).await.unwrap();
        });
        let mut back = vec![0u8; 1 << 20];
        (&client).read_exact(&mut back).await.unwrap();
        sending.await.unwrap();
        back
    })
    .unwrap();
    assert!(echoed == expected, "the echo differs");
}

/// With a read buffer limit the async reads never see more buffered than
/// the limit, and every byte arrives in order.
#[test]
fn async_reads_respect_the_read_buffer_limit() {
    const LIMIT: usize = 4096;
    const TOTAL: usize = 512 * 1024;
    let (socket, mut peer) = connected_pair();
    socket.set_read_buffer_size(LIMIT as i64);
    let writer = std::thread::spawn(move || {
        let data: Vec<u8> = (0..TOTAL).map(|i| (i % 253) as u8).collect();
        peer.write_all(&data).unwrap();
    });
    let (most, data) = block_on(async move {
        let mut most = 0;
        let mut data = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            most = most.max(socket.bytes_available());
            let n = socket.read_async(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
        }
        (most, data)
    })
    .unwrap();
    writer.join().unwrap();
    assert!(most <= LIMIT, "{most} bytes buffered over a {LIMIT} limit");
    assert_eq!(data.len(), TOTAL);
    assert!(data.iter().enumerate().all(|(i, b)| *b == (i % 253) as u8));
}

/// A writer faster than its peer waits while the write buffer is over the
/// high-water mark instead of growing it, and completes once the peer
/// reads.
#[test]
fn async_writes_wait_on_a_full_write_buffer() {
    const CHUNK: usize = 16 * 1024;
    const TOTAL: usize = 32 << 20;
    let (socket, mut peer) = connected_pair();
    let most = Rc::new(Cell::new(0usize));
    let m = most.clone();
    let s = socket.clone();
    let writing = spawn_local(async move {
        let chunk = vec![0x5a; CHUNK];
        for _ in 0..TOTAL / CHUNK {
            s.write_all_async(&chunk).await.unwrap();
            m.set(m.get().max(s.bytes_to_write()));
        }
    });
    // Let the buffers fill while nobody reads.
    block_on(sleep(Duration::from_millis(200)));
    assert!(!writing.is_finished(), "32 MiB cannot fit in the buffers");
    let reader = std::thread::spawn(move || {
        let mut left = TOTAL;
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let n = peer.read(&mut buf).unwrap();
            assert!(n > 0, "the stream ended early");
            left -= n;
        }
    });
    assert_eq!(block_on(writing), Some(Ok(())));
    // The last chunks were queued, not yet sent: the loop sends them.
    run_until("the peer to read everything", || reader.is_finished());
    reader.join().unwrap();
    assert!(
        most.get() <= WRITE_HIGH_WATER + CHUNK,
        "the write buffer reached {} bytes",
        most.get()
    );
    drop(socket);
}

/// A task that outlives its socket: the socket is deleted (delete_later,
/// other handles dropped) while the task awaits a read; the read ends and
/// the task finishes without touching a dead socket.
#[test]
fn a_task_outlives_its_socket() {
    let (socket, _peer) = connected_pair();
    let weak = socket.downgrade();
    let result = Rc::new(RefCell::new(None));
    let r = result.clone();
    let s = socket.clone();
    let task = spawn_local(async move {
        let mut buf = [0u8; 16];
        let read = s.read_async(&mut buf).await;
        drop(s);
        *r.borrow_mut() = Some(read.map_err(|e| e.kind()));
        sleep(Duration::from_millis(5)).await;
        "done"
    });
    sigloop::EventDispatcher::process_events(sigloop::ProcessEventsFlags::ALL_EVENTS);
    socket.abort();
    socket.delete_later();
    drop(socket);
    run_until("the task to end", || task.is_finished());
    assert_eq!(
        *result.borrow(),
        Some(Ok(0)),
        "an aborted socket reads as the end"
    );
    assert!(weak.upgrade().is_none(), "the socket was deleted");
    assert_eq!(block_on(task), Some(Ok("done")));
}

/// Re-entrancy: a task emits a signal whose slot drops the task's socket
/// (the last handle: Qt's delete, with its signals, which wake the very
/// task that is running). The task goes on and the socket is destroyed.
#[test]
fn a_task_emits_a_signal_whose_slot_drops_its_socket() {
    let (socket, _peer) = connected_pair();
    let destroyed = support::waits::counter(socket.destroyed());
    let holder = Rc::new(RefCell::new(Some(socket)));
    let done = Rc::new(Signal::<()>::new());
    let h = holder.clone();
    let _c = done.connect(move |_| drop(h.borrow_mut().take()));
    let (h, d) = (holder.clone(), done.clone());
    let task = spawn_local(async move {
        let socket = h.borrow().clone().unwrap();
        socket.write_all_async(b"bye").await.unwrap();
        drop(socket);
        d.emit(&()); // the slot drops the last handle: destroyed now
        let gone = h.borrow().is_none();
        sleep(Duration::from_millis(1)).await;
        gone
    });
    assert_eq!(block_on(task), Some(Ok(true)));
    assert_eq!(destroyed.get(), 1);
}

/// The thread's CPU time so far, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat");
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// No wake-ups while idle: with tasks awaiting a read, a signal and a long
/// sleep, a quiet second on the loop costs next to no CPU (the loop sleeps
/// in epoll_wait). A busy-polling loop would use the whole second.
#[test]
fn an_idle_loop_with_waiting_tasks_uses_no_cpu() {
    let (socket, _peer) = connected_pair();
    let signal = Rc::new(Signal::<u8>::new());
    let reading = spawn_local(async move {
        let mut buf = [0u8; 8];
        socket.read_async(&mut buf).await
    });
    let waiting = spawn_local(signal.next());
    let sleeping = spawn_local(sleep(Duration::from_secs(3600)));
    sigloop::EventDispatcher::process_events(sigloop::ProcessEventsFlags::ALL_EVENTS);
    let before = thread_cpu_ns();
    block_on(sleep(Duration::from_secs(1)));
    let used = thread_cpu_ns() - before;
    assert!(
        used < 100_000_000,
        "the idle second used {} ms of CPU",
        used / 1_000_000
    );
    assert!(!reading.is_finished() && !waiting.is_finished() && !sleeping.is_finished());
    reading.abort();
    waiting.abort();
    sleeping.abort();
}

/// A worker thread whose loop ends while its task still awaits a read on
/// a connected socket: the thread's teardown drops the task, the socket
/// with it (its abort signals wake the dying task), and nothing panics.
#[test]
fn a_thread_that_exits_with_a_task_awaiting_its_socket_tears_down_cleanly() {
    let (listener, port) = std_listener();
    let worker = sigloop::LoopThread::start_with("async-worker", move || {
        drop(spawn_local(async move {
            let socket = TcpSocket::new();
            socket.connect("127.0.0.1", port).await.unwrap();
            let mut buf = [0u8; 8];
            let _ = socket.read_async(&mut buf).await;
            unreachable!("the peer never writes nor closes while the thread runs");
        }));
    })
    .unwrap();
    let (peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    worker.quit();
    assert!(
        matches!(worker.join(), Ok(0)),
        "the worker's thread ended normally"
    );
    // The socket went with the thread: the peer sees the end of the stream.
    let mut rest = Vec::new();
    (&peer).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}

/// An `SslSocket` is an `AsyncRead`/`AsyncWrite` of plaintext: a task on
/// an `SslServer`'s encrypted connection echoes with `futures::io::copy`,
/// and a client task writes and reads back through TLS.
#[test]
fn futures_io_copy_echoes_through_tls() {
    use support::certs::Pki;
    use support::tls::{client_config, server_config, TestServer};

    const TOTAL: usize = 256 * 1024;
    let pki = Pki::new();
    let server = TestServer::start(server_config(&pki, &pki.server));
    let port = server.port();
    let served = Rc::new(Cell::new(0usize));
    let echoing = {
        let (accepted, served) = (server.accepted.clone(), served.clone());
        let ssl_server = server.server.clone();
        spawn_local(async move {
            // The test server's own slot collects encrypted connections
            // before this task hears of one; echo the first.
            while accepted.borrow().is_empty() {
                ssl_server.pending_connection_available().next().await;
            }
            let socket = accepted.borrow()[0].clone();
            let (mut reader, mut writer) = (&socket, &socket);
            let n = copy(&mut reader, &mut writer).await.unwrap();
            served.set(n as usize);
        })
    };
    let data: Vec<u8> = (0..TOTAL as u32).map(|i| (i * 13 % 251) as u8).collect();
    let expected = data.clone();
    let echoed = block_on(async move {
        let client = sigloop::ssl::SslSocket::new();
        client.set_ssl_configuration(client_config(&pki));
        client.connect_to_host_encrypted("localhost", port);
        let mut w = &client;
        w.write_all(&data).await.unwrap();
        let mut back = vec![0u8; TOTAL];
        (&client).read_exact(&mut back).await.unwrap();
        assert!(client.is_encrypted());
        client.disconnect_from_host();
        back
    })
    .unwrap();
    assert!(echoed == expected, "the echo through TLS differs");
    run_until("the server's copy ended", || echoing.is_finished());
    assert_eq!(served.get(), TOTAL);
}
