//! The tokio peer: a single-threaded (`current_thread`) tokio echo server,
//! one task per connection.
//!
//! Written the way one tunes a tokio echo for memory and speed, not the
//! textbook `vec![0; 1024]` per task: each task waits for readiness
//! (`readable()`), reads with `try_read` into one 64 KiB buffer shared by
//! all tasks of the thread, and writes straight back with `try_write`;
//! only bytes the kernel does not take are copied into the task and sent
//! with `write_all`. An idle connection costs its task and its
//! `TcpStream`, as the raw mio server costs its slab entry.
//!
//! `tokio_echo --port N [--host H]`; prints `listening on <port>` first.

use std::cell::RefCell;
use std::io;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 64 * 1024]);
}

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    loop {
        stream.readable().await?;
        // Read and echo in one borrow of the shared buffer; keep only the
        // part the kernel did not take.
        let step = BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            let n = match stream.try_read(&mut buf) {
                Ok(0) => return Ok(None),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Some(Vec::new())),
                Err(e) => return Err(e),
            };
            let written = match stream.try_write(&buf[..n]) {
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            };
            Ok(Some(buf[written..n].to_vec()))
        })?;
        match step {
            None => return Ok(()),
            Some(rest) if rest.is_empty() => {}
            Some(rest) => stream.write_all(&rest).await?,
        }
    }
}

fn main() -> io::Result<()> {
    let addr = echo_peers::server_addr("tokio_echo");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(addr).await?;
        echo_peers::announce(listener.local_addr()?.port());
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::task::spawn_local(async move {
                        let _ = serve(stream).await;
                    });
                }
                Err(e) => eprintln!("tokio_echo: accept: {e}"),
            }
        }
    })
}
