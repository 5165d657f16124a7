//! What the TLS benchmark's Rust programs share: the servers' command line
//! (`--port N [--host H] --cert FILE --key FILE`, as sigloop's
//! `tls_echo_server` example takes it), the rustls configurations on the
//! ring provider, and the `listening on <port>` line the script waits for.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use echo_peers::announce;

/// A TLS echo server's command line.
pub struct ServerArgs {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The PEM certificate chain to serve (leaf first).
    pub cert: PathBuf,
    /// The PEM private key of the leaf.
    pub key: PathBuf,
}

/// Parses `--port N [--host H] --cert FILE --key FILE`.
///
/// Exits with status 2 and a usage line on a bad command line.
pub fn server_args(name: &str) -> ServerArgs {
    let usage = |problem: String| -> ! {
        eprintln!("{name}: {problem}");
        eprintln!("usage: {name} --port N [--host H] --cert FILE --key FILE");
        std::process::exit(2)
    };
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let (mut port, mut cert, mut key) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(format!("{arg} needs a value")));
        match arg.as_str() {
            "--host" => {
                host = value
                    .parse()
                    .unwrap_or_else(|_| usage(format!("bad host {value:?}")))
            }
            "--port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .unwrap_or_else(|_| usage(format!("bad port {value:?}"))),
                )
            }
            "--cert" => cert = Some(PathBuf::from(value)),
            "--key" => key = Some(PathBuf::from(value)),
            _ => usage(format!("unknown argument {arg:?}")),
        }
    }
    ServerArgs {
        addr: SocketAddr::new(
            host,
            port.unwrap_or_else(|| usage("--port is required".into())),
        ),
        cert: cert.unwrap_or_else(|| usage("--cert is required".into())),
        key: key.unwrap_or_else(|| usage("--key is required".into())),
    }
}

/// The ring provider, the one crypto provider every Rust peer uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    // rustls 0.23.48 deprecates the ring provider (it has no post-quantum
    // key exchange); ring is still the provider sigloop builds on (no
    // cmake), and the comparison only means something on the same one.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration as rustls gives it by default (TLS 1.2 and 1.3,
/// its in-memory session cache for resumption, two TLS 1.3 tickets per
/// connection) serving the chain in `cert` with the key in `key`.
pub fn server_config(args: &ServerArgs) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(&args.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", args.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&args.key)
        .map_err(|e| format!("{}: {e}", args.key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}
