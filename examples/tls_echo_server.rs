//! A TLS echo server: every byte received on every encrypted connection is
//! written back, until the process is killed.
//!
//! ```text
//! tls_echo_server --port N --cert FILE --key FILE [--host H]
//! ```
//!
//! `--cert` is a PEM file with the certificate chain to present (the
//! server's own certificate first), `--key` the PEM private key of that
//! certificate. `--port 0` lets the OS pick a free port; `--host` is an IP
//! address (default `127.0.0.1`; `localhost` is accepted too). The first
//! line on stdout is `listening on <port>` with the real port, flushed at
//! once. A connection whose handshake fails is reported on stderr and
//! closed; the others are served.
//!
//! Every connection gets `TCP_NODELAY` (Qt's `LowDelayOption`) when its
//! handshake starts: an echo is request and response, and a TLS server
//! writes its session tickets and the first echo separately, which Nagle's
//! algorithm would hold back for the client's delayed acknowledgement.
//!
//! Qt equivalent:
//!
//! ```cpp
//! QCoreApplication app(argc, argv);
//! QSslConfiguration config = QSslConfiguration::defaultConfiguration();
//! config.setLocalCertificateChain(QSslCertificate::fromPath(certFile));
//! config.setPrivateKey(QSslKey(keyPem, QSsl::Ec));
//! QSslServer server;
//! server.setSslConfiguration(config);
//! QObject::connect(&server, &QSslServer::startedEncryptionHandshake, [](QSslSocket *socket) {
//!     socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
//! });
//! QObject::connect(&server, &QSslServer::errorOccurred, [](QSslSocket *s, auto) {
//!     std::fprintf(stderr, "%s\n", qPrintable(s->errorString()));
//! });
//! server.listen(QHostAddress(host), port);
//! std::printf("listening on %d\n", server.serverPort());
//! std::fflush(stdout);
//! QObject::connect(&server, &QSslServer::pendingConnectionAvailable, [&] {
//!     while (QTcpSocket *socket = server.nextPendingConnection()) {
//!         QObject::connect(socket, &QTcpSocket::readyRead, socket,
//!                          [socket] { socket->write(socket->readAll()); });
//!         QObject::connect(socket, &QTcpSocket::disconnected,
//!                          socket, &QObject::deleteLater);
//!     }
//! });
//! return app.exec();
//! ```
//!
//! Run with `cargo run --example tls_echo_server -- --port 0 --cert
//! server.pem --key server.key`, then `cargo run --example echo_client --
//! --port <port> --host 127.0.0.1 --message hi --tls --ca ca.pem`.

use std::io::Write;
use std::process::ExitCode;

use sigloop::net::{HostAddress, SocketOption, SpecialAddress};
use sigloop::ssl::{SslCertificate, SslConfiguration, SslKey, SslServer};
use sigloop::{EventDispatcher, IoDevice};

/// What the command line asked for.
struct Args {
    host: String,
    port: u16,
    cert: String,
    key: String,
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("tls_echo_server: {problem}");
    eprintln!("usage: tls_echo_server --port N --cert FILE --key FILE [--host H]");
    ExitCode::from(2)
}

fn parse_args() -> Result<Args, String> {
    let mut host = "127.0.0.1".to_owned();
    let (mut port, mut cert, mut key) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--host" => host = value("--host")?,
            "--cert" => cert = Some(value("--cert")?),
            "--key" => key = Some(value("--key")?),
            "--port" => {
                let text = value("--port")?;
                port = Some(
                    text.parse::<u16>()
                        .map_err(|_| format!("bad port {text:?}"))?,
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        host,
        port: port.ok_or("--port is required")?,
        cert: cert.ok_or("--cert is required")?,
        key: key.ok_or("--key is required")?,
    })
}

fn parse_host(host: &str) -> Result<HostAddress, String> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(HostAddress::from(SpecialAddress::LocalHost));
    }
    host.parse::<HostAddress>()
        .map_err(|err| format!("bad host {host:?}: {err}"))
}

/// The default configuration with the chain in `cert` and the key in `key`.
fn configuration(cert: &str, key: &str) -> Result<SslConfiguration, String> {
    let chain = SslCertificate::from_path(cert).map_err(|err| format!("{cert}: {err}"))?;
    if chain.is_empty() {
        return Err(format!("{cert}: no certificate"));
    }
    let pem = std::fs::read(key).map_err(|err| format!("{key}: {err}"))?;
    let key = SslKey::from_pem(&pem).map_err(|err| format!("{key}: {err}"))?;
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate_chain(chain);
    config.set_private_key(key);
    Ok(config)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(problem) => return usage(&problem),
    };
    let address = match parse_host(&args.host) {
        Ok(address) => address,
        Err(problem) => return usage(&problem),
    };
    let config = match configuration(&args.cert, &args.key) {
        Ok(config) => config,
        Err(problem) => {
            eprintln!("tls_echo_server: {problem}");
            return ExitCode::FAILURE;
        }
    };

    let server = SslServer::new();
    server.set_ssl_configuration(config);
    if let Err(err) = server.listen(&address, args.port) {
        eprintln!("error: {err}: {}", server.error_string());
        return ExitCode::FAILURE;
    }
    println!("listening on {}", server.server_port());
    if std::io::stdout().flush().is_err() {
        return ExitCode::FAILURE;
    }

    let _low_delay = server.started_encryption_handshake().connect(|socket| {
        socket.set_socket_option(SocketOption::LowDelay, 1);
    });
    let _failed = server.error_occurred().connect(|(socket, error)| {
        eprintln!(
            "tls_echo_server: connection failed: {error}: {}",
            socket.error_string()
        );
    });
    // As in Qt, the server owns every socket it hands out until the socket
    // is deleted, so the slot keeps no handle of its own.
    let _accept = server
        .pending_connection_available()
        .connect_to(&server, |server, _| {
            while let Some(socket) = server.next_pending_connection() {
                let _ = socket.ready_read().connect_to(&*socket, |socket, _| {
                    if let Ok(data) = socket.read_all() {
                        if !data.is_empty() {
                            let _ = socket.write_vec(data);
                        }
                    }
                });
                let _ = socket
                    .disconnected()
                    .connect_to(&*socket, |socket, _| socket.delete_later());
            }
        });

    EventDispatcher::exec();
    ExitCode::SUCCESS
}
