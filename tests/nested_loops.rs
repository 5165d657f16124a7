//! Qt's request-and-wait pattern: a slot starts a nested `EventLoop` and
//! waits for another object's signal. Whatever the order in which the
//! loop happens to process the objects, the nested loop must be able to
//! process the ones the outer pass had not reached yet.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use sigloop::net::{HostAddress, SpecialAddress, TcpServer, TcpSocket};
use sigloop::{EventLoop, IoDevice, Timer, TimerType};

use support::waits::{run_until, settle};

/// The exit code of a nested loop stopped by its watchdog.
const WATCHDOG: i32 = -7_777;

/// A server on this thread that echoes whatever its connections read.
fn echo_server() -> TcpServer {
    let server = TcpServer::new();
    server
        .listen(&HostAddress::from(SpecialAddress::LocalHost), 0)
        .expect("listen");
    let accepted = Rc::new(RefCell::new(Vec::new()));
    let _c = server
        .new_connection()
        .connect_to(&server, move |server, _| {
            while let Some(socket) = server.next_pending_connection() {
                let _echo = socket.ready_read().connect_to(&socket, |socket, _| {
                    let data = socket.read_all().unwrap();
                    socket.write(&data).unwrap();
                });
                accepted.borrow_mut().push(socket);
            }
        });
    server
}

fn connected_client(server: &TcpServer) -> TcpSocket {
    let socket = TcpSocket::new();
    socket.connect_to_host("127.0.0.1", server.server_port());
    run_until("connected", || {
        socket.state() == sigloop::net::SocketState::Connected
    });
    socket
}

/// Runs `wait` nested, with a watchdog; returns its exit code.
fn exec_bounded(wait: &EventLoop) -> i32 {
    let watchdog = Timer::new();
    watchdog.set_single_shot(true);
    watchdog.set_timer_type(TimerType::Precise);
    let w = wait.clone();
    let _c = watchdog.on_timeout(move |_| w.exit(WATCHDOG));
    watchdog.start_with(Duration::from_secs(10));
    wait.exec()
}

/// Two sockets' writes wait in the same batch of scheduled work; the first
/// one's `bytes_written` slot waits in a nested loop for the second one's
/// echo. The nested loop must run the rest of the batch, or the second
/// socket's write never leaves.
#[test]
fn a_nested_loop_in_bytes_written_runs_the_rest_of_the_write_batch() {
    let server = echo_server();
    let first = connected_client(&server);
    let second = connected_client(&server);
    // Take the connections' first writable edges now, so that only the
    // scheduled flushes write.
    settle(Duration::from_millis(20));

    let wait = EventLoop::new();
    let w = wait.clone();
    let echoed = Rc::new(Cell::new(false));
    let e = echoed.clone();
    let _reply = second.ready_read().connect_to(&second, move |socket, _| {
        assert_eq!(socket.read_all().unwrap(), b"second");
        e.set(true);
        w.quit();
    });
    let code = Rc::new(Cell::new(None));
    let (c, w) = (code.clone(), wait.clone());
    let _request = first.bytes_written().connect(move |_| {
        if c.get().is_none() {
            c.set(Some(exec_bounded(&w)));
        }
    });
    // In this order: the first socket's flush runs first.
    first.write(b"first").unwrap();
    second.write(b"second").unwrap();
    run_until("the nested loop to return", || code.get().is_some());
    assert_eq!(code.get(), Some(0), "the nested loop saw the echo");
    assert!(echoed.get());
}

/// Two sockets become readable in the same poll; whichever one's
/// `ready_read` runs first waits in a nested loop for the other's. The
/// nested loop must dispatch the rest of the readiness batch.
#[test]
fn a_nested_loop_in_ready_read_dispatches_the_rest_of_the_readiness_batch() {
    let server = echo_server();
    let sockets = [connected_client(&server), connected_client(&server)];
    settle(Duration::from_millis(20));

    let wait = EventLoop::new();
    let heard = Rc::new(Cell::new(0));
    let code = Rc::new(Cell::new(None));
    let mut connections = Vec::new();
    for socket in &sockets {
        let (w, heard, code) = (wait.clone(), heard.clone(), code.clone());
        connections.push(socket.ready_read().connect_to(socket, move |socket, _| {
            socket.read_all().unwrap();
            heard.set(heard.get() + 1);
            if heard.get() == 1 {
                code.set(Some(exec_bounded(&w)));
            } else {
                w.quit();
            }
        }));
    }
    // Both echoes come back while the loop runs the server side; to make
    // them arrive in one poll, write from the server's peers directly.
    for socket in &sockets {
        socket.write(b"ping").unwrap();
    }
    run_until("the nested loop to return", || code.get().is_some());
    assert_eq!(
        code.get(),
        Some(0),
        "the nested loop heard the other socket"
    );
    assert_eq!(heard.get(), 2);
}
