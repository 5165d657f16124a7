//! TLS test helpers: configurations made from the test PKI
//! ([`super::certs`]) and an `SslServer` on loopback.

use std::cell::RefCell;
use std::rc::Rc;

use sigloop::net::HostAddress;
use sigloop::ssl::{SslConfiguration, SslServer, SslSocket};

use super::certs::{Issued, Pki};

/// A configuration that presents `issued` (certificate and key) and
/// trusts only `pki.ca`.
pub fn server_config(pki: &Pki, issued: &Issued) -> SslConfiguration {
    let mut config = SslConfiguration::new();
    config.set_local_certificate(issued.certificate());
    config.set_private_key(issued.ssl_key());
    config.set_ca_certificates(vec![pki.ca.certificate()]);
    config
}

/// A configuration that presents `issued` with the chain in PEM
/// `chain_pem` (own certificate first).
pub fn chain_config(pki: &Pki, chain_pem: &str, issued: &Issued) -> SslConfiguration {
    let mut config = server_config(pki, issued);
    config.set_local_certificate_chain(
        sigloop::ssl::SslCertificate::list_from_pem(chain_pem.as_bytes()).expect("a PEM chain"),
    );
    config
}

/// A client configuration trusting only `pki.ca`.
pub fn client_config(pki: &Pki) -> SslConfiguration {
    let mut config = SslConfiguration::new();
    config.set_ca_certificates(vec![pki.ca.certificate()]);
    config
}

/// An `SslServer` listening on 127.0.0.1 with `config`, collecting the
/// encrypted connections it hands out.
pub struct TestServer {
    pub server: SslServer,
    pub accepted: Rc<RefCell<Vec<SslSocket>>>,
}

impl TestServer {
    pub fn start(config: SslConfiguration) -> TestServer {
        let server = SslServer::new();
        server.set_ssl_configuration(config);
        server
            .listen(&"127.0.0.1".parse::<HostAddress>().unwrap(), 0)
            .expect("listen on loopback");
        let accepted = Rc::new(RefCell::new(Vec::new()));
        let list = accepted.clone();
        let _ = server
            .pending_connection_available()
            .connect_to(&server, move |server, _| {
                while let Some(socket) = server.next_pending_connection() {
                    list.borrow_mut().push(socket);
                }
            });
        TestServer { server, accepted }
    }

    pub fn port(&self) -> u16 {
        self.server.server_port()
    }

    /// The first encrypted connection, once there is one.
    pub fn first(&self) -> Option<SslSocket> {
        self.accepted.borrow().first().cloned()
    }
}
