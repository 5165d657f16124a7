//! The tokio-rustls peer: a single-threaded (`current_thread`) TLS echo
//! server, one task per connection, rustls on the ring provider with its
//! default server configuration.
//!
//! Tuned as the TCP benchmark's tokio peer is, not the textbook
//! `vec![0; 4096]` per task: each task reads decrypted bytes into one
//! 64 KiB buffer shared by all tasks of the thread (a synchronous
//! `poll_read` inside `poll_fn`, so no borrow of it is held across an
//! await), hands them straight back to the TLS stream with `poll_write`
//! and flushes; only what the stream does not take is copied into the
//! task. An idle connection costs its task and its `TlsStream`.
//! `TCP_NODELAY` is set on every accepted connection, as in every server
//! of the benchmark.
//!
//! `tokio_rustls_echo --port N [--host H] --cert FILE --key FILE`; prints
//! `listening on <port>` first.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 64 * 1024]);
}

/// What one read-and-echo step did.
enum Step {
    /// The peer closed.
    Closed,
    /// Everything read went back into the stream.
    Echoed,
    /// The stream took only part; the rest waits here.
    Rest(Vec<u8>),
}

/// Reads what is there into the shared buffer and writes it straight back.
fn step(
    stream: &mut TlsStream<TcpStream>,
    cx: &mut std::task::Context<'_>,
) -> Poll<io::Result<Step>> {
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut *stream).poll_read(cx, &mut read) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        let n = read.filled().len();
        if n == 0 {
            return Poll::Ready(Ok(Step::Closed));
        }
        let mut written = 0;
        while written < n {
            match Pin::new(&mut *stream).poll_write(cx, &buf[written..n]) {
                Poll::Ready(Ok(0)) | Poll::Pending => break,
                Poll::Ready(Ok(w)) => written += w,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(if written == n {
            Step::Echoed
        } else {
            Step::Rest(buf[written..n].to_vec())
        }))
    })
}

async fn serve(acceptor: TlsAcceptor, tcp: TcpStream) -> io::Result<()> {
    // Every server of the benchmark turns Nagle off: a TLS server writes
    // its session tickets and the first echo separately, and Nagle would
    // hold the echo until the client's delayed ACK (40 ms).
    tcp.set_nodelay(true)?;
    let mut stream = acceptor.accept(tcp).await?;
    loop {
        match poll_fn(|cx| step(&mut stream, cx)).await? {
            Step::Closed => return Ok(()),
            Step::Echoed => {}
            Step::Rest(rest) => stream.write_all(&rest).await?,
        }
        // What the stream took may still sit in rustls, encrypted.
        stream.flush().await?;
    }
}

fn main() -> io::Result<()> {
    let args = tls_peers::server_args("tokio_rustls_echo");
    let config = tls_peers::server_config(&args).unwrap_or_else(|e| {
        eprintln!("tokio_rustls_echo: {e}");
        std::process::exit(1)
    });
    let acceptor = TlsAcceptor::from(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(args.addr).await?;
        tls_peers::announce(listener.local_addr()?.port());
        loop {
            match listener.accept().await {
                Ok((tcp, _)) => {
                    let acceptor = acceptor.clone();
                    tokio::task::spawn_local(async move {
                        let _ = serve(acceptor, tcp).await;
                    });
                }
                Err(e) => eprintln!("tokio_rustls_echo: accept: {e}"),
            }
        }
    })
}
